//! Ansible's `hash_behaviour` (`DEFAULT_HASH_BEHAVIOUR`): whether a dictionary
//! variable defined again replaces the earlier one (`replace`, the default) or is merged
//! into it key by key, recursively (`merge`), wherever variables are layered: inventory
//! sources, groups and hosts, and every level of variable precedence.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value as Json};

/// Whether `merge` is in force for this process (set once from the config).
static MERGE: AtomicBool = AtomicBool::new(false);

/// Makes `hash_behaviour` `merge` (true) or `replace` (false) for the rest of the run.
pub fn set_merge(merge: bool) {
    MERGE.store(merge, Ordering::Relaxed);
}

/// Sets `key` to `value` in `vars` as Ansible's `combine_vars` does.
pub fn set(vars: &mut Map<String, Json>, key: String, value: Json) {
    if !merging() {
        vars.insert(key, value);
        return;
    }
    combine(vars, Map::from_iter([(key, value)]), true);
}

/// Lays `layer` over `vars`, every key as [`set`] does.
pub fn layer(vars: &mut Map<String, Json>, layer: Map<String, Json>) {
    if !merging() {
        vars.extend(layer);
        return;
    }
    combine(vars, layer, true);
}

/// Whether `merge` is in force.
pub fn merging() -> bool {
    MERGE.load(Ordering::Relaxed)
}

/// Lays `layer` over `vars`, merging dictionaries when `merge` (whatever the
/// configured behaviour), as `combine_vars(a, b, merge=...)` does.
pub fn combine(vars: &mut Map<String, Json>, layer: Map<String, Json>, merge: bool) {
    for (key, value) in layer {
        match (vars.get_mut(&key), value) {
            (Some(Json::Object(earlier)), Json::Object(later)) if merge => {
                merge_into(earlier, later)
            }
            (_, value) => {
                vars.insert(key, value);
            }
        }
    }
}

/// Ansible's `merge_hash` with `list_merge='replace'`: `later`'s keys win, and
/// dictionaries on both sides are merged recursively.
fn merge_into(earlier: &mut Map<String, Json>, later: Map<String, Json>) {
    for (key, value) in later {
        match (earlier.get_mut(&key), value) {
            (Some(Json::Object(inner)), Json::Object(value)) => merge_into(inner, value),
            (_, value) => {
                earlier.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Json) -> Map<String, Json> {
        match value {
            Json::Object(map) => map,
            _ => unreachable!("a test map"),
        }
    }

    #[test]
    fn merge_is_recursive_and_lists_are_replaced() {
        let mut earlier = map(json!({"a": {"x": 1, "deep": {"p": 1}}, "l": [1, 2]}));
        merge_into(
            &mut earlier,
            map(json!({"a": {"y": 2, "deep": {"q": 2}}, "l": [3]})),
        );
        assert_eq!(
            Json::Object(earlier),
            json!({"a": {"x": 1, "y": 2, "deep": {"p": 1, "q": 2}}, "l": [3]})
        );
    }

    #[test]
    fn a_scalar_replaces_a_dictionary_and_the_other_way_round() {
        let mut earlier = map(json!({"a": {"x": 1}, "b": 1}));
        merge_into(&mut earlier, map(json!({"a": "text", "b": {"y": 2}})));
        assert_eq!(Json::Object(earlier), json!({"a": "text", "b": {"y": 2}}));
    }
}
