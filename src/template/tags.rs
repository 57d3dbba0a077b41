//! Ansible's data tags on strings, as far as bosun knows them: `TrustedAsTemplate`
//! on a variable's strings as written (bosun trusts every variable that is not
//! `!unsafe`, see `conditional.rs`), `VaultedValue` on a decrypted `!vault` value,
//! `Origin` on what a lookup read from somewhere. As in Ansible, a tag belongs to
//! one string object: passed through a template unchanged the string keeps it, any
//! string a template makes is untagged. A tagged string is a minijinja string of its
//! own allocation, and its tags are kept beside it, by address, for as long as it
//! lives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use minijinja::value::Value;
use serde_json::Value as Json;

/// The tags one string carries.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tags {
    /// `TrustedAsTemplate`.
    pub trusted: bool,
    /// `VaultedValue`: the vault text the string was decrypted from.
    pub vaulted: Option<String>,
    /// `Origin`: where the string came from, as Ansible describes it.
    pub origin: Option<String>,
}

/// The names of the tag types Ansible knows (its `_known_tag_type_map`).
pub const KNOWN_TAGS: &[&str] = &[
    "Deprecated",
    "Origin",
    "SourceWasEncrypted",
    "TrustedAsTemplate",
    "VaultedValue",
    "_JinjaConstTemplate",
];

impl Tags {
    /// The names of the tag types present, sorted (Ansible's `tag_names`).
    pub fn names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.origin.is_some() {
            names.push("Origin");
        }
        if self.trusted {
            names.push("TrustedAsTemplate");
        }
        if self.vaulted.is_some() {
            names.push("VaultedValue");
        }
        names
    }
}

/// Tagged strings by the address of their text, each with a weak reference that
/// keeps the address from being reused while the entry lasts.
struct Table {
    entries: HashMap<usize, (Weak<str>, Tags)>,
    /// The size past which dead entries are dropped.
    limit: usize,
}

static TABLE: Mutex<Option<Table>> = Mutex::new(None);

/// The smallest size at which the table is swept of dead strings.
const SWEEP_FLOOR: usize = 4096;

/// A string value carrying `tags`.
pub fn tagged(text: &str, tags: Tags) -> Value {
    let text: Arc<str> = Arc::from(text);
    if let Ok(mut table) = TABLE.lock() {
        let table = table.get_or_insert_with(|| Table {
            entries: HashMap::new(),
            limit: SWEEP_FLOOR,
        });
        if table.entries.len() >= table.limit {
            table.entries.retain(|_, (weak, _)| weak.strong_count() > 0);
            table.limit = (table.entries.len() * 2).max(SWEEP_FLOOR);
        }
        let address = text.as_ptr() as usize;
        table.entries.insert(address, (Arc::downgrade(&text), tags));
    }
    Value::from(text)
}

/// The tags `value` carries (none for anything but a tagged string).
pub fn tags_of(value: &Value) -> Tags {
    let Some(text) = value.as_str() else {
        return Tags::default();
    };
    let address = text.as_ptr() as usize;
    let Ok(table) = TABLE.lock() else {
        return Tags::default();
    };
    table
        .as_ref()
        .and_then(|table| table.entries.get(&address))
        .filter(|(weak, _)| {
            weak.upgrade()
                .is_some_and(|arc| arc.as_ptr() == text.as_ptr())
        })
        .map(|(_, tags)| tags.clone())
        .unwrap_or_default()
}

/// A variable's value for templates: `rendered` is what its value as written,
/// `raw`, rendered to; strings left as written are trusted, decrypted vault
/// values carry their vault text.
pub fn variable_value(raw: &Json, rendered: &Json) -> Value {
    match (raw, rendered) {
        (Json::String(written), Json::String(text))
            if written == text && !super::is_template(written) =>
        {
            tagged(
                text,
                Tags {
                    trusted: true,
                    ..Tags::default()
                },
            )
        }
        (Json::Object(_), Json::String(text)) => match crate::vault::files::inline_text(raw) {
            Some(vault) => tagged(
                text,
                Tags {
                    vaulted: Some(vault.to_string()),
                    ..Tags::default()
                },
            ),
            None => Value::from(text.as_str()),
        },
        (Json::Array(written), Json::Array(items)) if written.len() == items.len() => written
            .iter()
            .zip(items)
            .map(|(raw, item)| variable_value(raw, item))
            .collect(),
        (Json::Object(written), Json::Object(map)) => map
            .iter()
            .map(|(key, item)| {
                let value = match written.get(key) {
                    Some(raw) => variable_value(raw, item),
                    None => Value::from_serialize(item),
                };
                (Value::from(key.as_str()), value)
            })
            .collect(),
        _ => Value::from_serialize(rendered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tags_belong_to_one_string_object() {
        let value = tagged(
            "x",
            Tags {
                trusted: true,
                ..Tags::default()
            },
        );
        assert!(tags_of(&value).trusted);
        assert!(tags_of(&value.clone()).trusted);
        assert_eq!(tags_of(&Value::from("x")), Tags::default());
        assert_eq!(tags_of(&Value::from(1)), Tags::default());
    }

    #[test]
    fn strings_as_written_are_trusted_rendered_ones_not() {
        let raw = json!({"a": "plain", "b": "{{ x }}", "c": [1, "y"]});
        let rendered = json!({"a": "plain", "b": "made", "c": [1, "y"]});
        let value = variable_value(&raw, &rendered);
        let tags = |path: &[&str]| {
            let mut v = value.clone();
            for step in path {
                v = v
                    .get_item(
                        &step
                            .parse::<usize>()
                            .map_or(Value::from(*step), Value::from),
                    )
                    .expect("present");
            }
            tags_of(&v)
        };
        assert!(tags(&["a"]).trusted);
        assert!(!tags(&["b"]).trusted);
        assert!(tags(&["c", "1"]).trusted);
        assert_eq!(value.get_attr("b").expect("b").as_str(), Some("made"));
    }
}
