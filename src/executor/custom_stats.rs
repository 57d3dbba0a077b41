//! `set_stats`: the statistics a run gathers from results' `ansible_stats`, per host
//! or for the whole run (`_run`), kept as Ansible's `AggregateStats` keeps them:
//! `aggregate` adds to what is there (numbers and strings and lists with `+`,
//! mappings merged), otherwise the value replaces it.

use std::sync::Mutex;

use serde_json::{Map, Value as Json};

use crate::modules::Outcome;

/// The key of the statistics that belong to the whole run.
const RUN: &str = "_run";

/// Custom statistics by host name (or [`RUN`]).
#[derive(Default)]
pub(super) struct CustomStats(Mutex<Map<String, Json>>);

impl CustomStats {
    /// Takes up the `ansible_stats` of `result` (of each item, for a loop) for `host`.
    pub(super) fn record(&self, host: &str, result: &Outcome) {
        match result.get("results") {
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(Json::as_object)
                .for_each(|item| self.record_one(host, item)),
            _ => self.record_one(host, result),
        }
    }

    fn record_one(&self, host: &str, result: &Outcome) {
        let Some(stats) = result.get("ansible_stats") else {
            return;
        };
        let Some(Json::Object(data)) = stats.get("data").filter(|d| d != &&Json::Null) else {
            return;
        };
        let per_host = stats.get("per_host").is_none_or(|v| v == &Json::Bool(true));
        let aggregate = stats.get("aggregate") == Some(&Json::Bool(true));
        let owner = if per_host { host } else { RUN };
        let Ok(mut all) = self.0.lock() else {
            return;
        };
        let Json::Object(kept) = all
            .entry(owner.to_string())
            .or_insert_with(|| Json::Object(Map::new()))
        else {
            return;
        };
        for (key, value) in data {
            match kept.get_mut(key) {
                Some(earlier) if aggregate => add(earlier, value.clone()),
                _ => {
                    kept.insert(key.clone(), value.clone());
                }
            }
        }
    }

    /// Everything gathered so far.
    pub(super) fn snapshot(&self) -> Map<String, Json> {
        self.0.lock().map(|all| all.clone()).unwrap_or_default()
    }
}

/// `update_custom_stats`: `value` added to `earlier` as Python's `+=` does, mappings
/// merged; a value of another type leaves `earlier` as it is.
fn add(earlier: &mut Json, value: Json) {
    match (earlier, value) {
        (Json::Object(kept), Json::Object(more)) => {
            crate::hash_behaviour::combine(kept, more, true)
        }
        (Json::Array(kept), Json::Array(more)) => kept.extend(more),
        (Json::String(kept), Json::String(more)) => kept.push_str(&more),
        (Json::Number(kept), Json::Number(more)) => {
            let sum = match (kept.as_i64(), more.as_i64()) {
                (Some(a), Some(b)) => a.checked_add(b).map(Json::from),
                _ => None,
            };
            let sum = sum.or_else(|| {
                let total = kept.as_f64()? + more.as_f64()?;
                serde_json::Number::from_f64(total).map(Json::Number)
            });
            if let Some(Json::Number(sum)) = sum {
                *kept = sum;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn stats_result(data: Json, per_host: bool, aggregate: bool) -> Outcome {
        let result =
            json!({"ansible_stats": {"data": data, "per_host": per_host, "aggregate": aggregate}});
        result.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn aggregated_values_add_up_and_others_replace() {
        let stats = CustomStats::default();
        let first = json!({"n": 1, "s": "a", "l": [1], "d": {"x": 1}, "t": 1});
        stats.record("h1", &stats_result(first, false, true));
        let second = json!({"n": 2, "s": "b", "l": [2], "d": {"y": 2}, "t": "mismatch"});
        stats.record("h2", &stats_result(second, false, true));
        stats.record("h1", &stats_result(json!({"mine": 5}), true, false));
        stats.record("h1", &stats_result(json!({"mine": 6}), true, false));
        assert_eq!(
            Json::Object(stats.snapshot()),
            json!({
                "_run": {"n": 3, "s": "ab", "l": [1, 2], "d": {"x": 1, "y": 2}, "t": 1},
                "h1": {"mine": 6},
            })
        );
    }
}
