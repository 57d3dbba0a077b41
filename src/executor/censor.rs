//! `no_log`: what output shows of a result whose task (or loop item) asked for no log.
//! The registered variable keeps the real result; only what is reported is censored,
//! in Ansible's shape, so no output mode or verbosity can print a secret.

use serde_json::{Map, Value as Json};

/// The label shown for a loop item under `no_log`.
pub const CENSORED_ITEM: &str = "(censored due to no_log)";

pub use crate::output::NO_LOG_KEY;

/// The keys a censored result keeps (Ansible's `_PRESERVE`).
const PRESERVED: [&str; 6] = [
    "attempts",
    "changed",
    "retries",
    "exception",
    "warnings",
    "deprecations",
];

/// `result` as output may show it: all but [`PRESERVED`] hidden when `no_log`; a loop
/// summary's items hidden one by one where they were run under `no_log`.
pub fn for_display(result: &Map<String, Json>, no_log: bool) -> Map<String, Json> {
    let mut shown = if no_log {
        censored(result)
    } else {
        result.clone()
    };
    if let Some(Json::Array(items)) = result.get("results") {
        let items = items.iter().map(|item| match item {
            Json::Object(map) if no_log || is_marked(map) => Json::Object(censored(map)),
            other => other.clone(),
        });
        shown.insert("results".into(), Json::Array(items.collect()));
    }
    shown
}

/// Whether a loop item's result was marked as run under `no_log`.
fn is_marked(result: &Map<String, Json>) -> bool {
    result.get(NO_LOG_KEY).and_then(Json::as_bool) == Some(true)
}

/// Ansible's censored result: the preserved keys and a note.
fn censored(result: &Map<String, Json>) -> Map<String, Json> {
    let mut shown: Map<String, Json> = PRESERVED
        .iter()
        .filter_map(|key| Some((key.to_string(), result.get(*key)?.clone())))
        .collect();
    shown.insert(
        "censored".into(),
        Json::String(
            "the output has been hidden due to the fact that 'no_log: true' was specified for this result"
                .into(),
        ),
    );
    shown
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Json) -> Map<String, Json> {
        value.as_object().cloned().expect("an object")
    }

    #[test]
    fn a_censored_result_keeps_only_what_ansible_keeps() {
        let result =
            map(json!({"changed": true, "failed": true, "cmd": "x s3cret", "attempts": 2}));
        let shown = for_display(&result, true);
        assert_eq!(shown.len(), 3, "{shown:?}");
        assert_eq!(shown["changed"], json!(true));
        assert_eq!(shown["attempts"], json!(2));
        assert!(!Json::Object(shown).to_string().contains("s3cret"));
    }

    #[test]
    fn a_loop_summary_hides_the_marked_items_and_keeps_the_others() {
        let result = map(json!({"changed": true, "results": [
            {"item": "s3cret", "_ansible_no_log": true, "changed": true},
            {"item": "public", "_ansible_no_log": false, "changed": false},
        ]}));
        let shown = Json::Object(for_display(&result, false)).to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("public"), "{shown}");
        let all = Json::Object(for_display(&result, true)).to_string();
        assert!(!all.contains("public") && !all.contains("s3cret"), "{all}");
        assert!(
            all.contains("\"results\""),
            "the loop keeps its shape: {all}"
        );
    }

    #[test]
    fn without_no_log_the_result_is_shown_whole() {
        let result = map(json!({"changed": false, "stdout": "hello"}));
        assert_eq!(for_display(&result, false), result);
    }
}
