//! Values Ansible does not trust as templates: strings tagged `!unsafe` in YAML, kept in
//! Ansible's own JSON form `{"__ansible_unsafe": "text"}` until they are used. Rendering
//! such a value gives its text as it is, never templated; an expression (a condition,
//! debug's `var`) that is one of them is refused.

use serde_json::{Map, Value as Json};

/// The key of an unsafe string's JSON form.
pub const UNSAFE_KEY: &str = "__ansible_unsafe";

/// The message Ansible gives for a template or expression it does not trust.
pub const UNTRUSTED: &str = "Encountered untrusted template or expression.";

/// The text of an unsafe string's JSON form.
pub fn unsafe_text(value: &Json) -> Option<&str> {
    match value {
        Json::Object(map) if map.len() == 1 => map.get(UNSAFE_KEY)?.as_str(),
        _ => None,
    }
}

/// Every string in `value` (not the keys of its mappings) in its unsafe form.
pub fn mark_unsafe(value: Json) -> Json {
    match value {
        Json::String(text) => {
            let mut marked = Map::new();
            marked.insert(UNSAFE_KEY.into(), Json::String(text));
            Json::Object(marked)
        }
        Json::Array(items) => Json::Array(items.into_iter().map(mark_unsafe).collect()),
        Json::Object(map) if unsafe_text(&Json::Object(map.clone())).is_some() => Json::Object(map),
        Json::Object(map) => Json::Object(
            map.into_iter()
                .map(|(key, item)| (key, mark_unsafe(item)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_marked_wherever_they_are_and_only_once() {
        let marked = mark_unsafe(json!({"a": ["x", 1], "b": "y"}));
        assert_eq!(
            marked,
            json!({"a": [{"__ansible_unsafe": "x"}, 1], "b": {"__ansible_unsafe": "y"}})
        );
        assert_eq!(mark_unsafe(marked.clone()), marked);
        assert_eq!(unsafe_text(&marked["b"]), Some("y"));
        assert_eq!(unsafe_text(&json!({"b": "y"})), None);
    }
}
