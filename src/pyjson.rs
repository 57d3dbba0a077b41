//! JSON as Python's `json.dumps(sort_keys=True)` writes it, which is what Ansible
//! prints after `=>`: `{"a": 1, "b": [1, 2]}` or indented by 4.

use serde_json::Value as Json;

/// The Python type name of a JSON value, as Ansible's messages name it.
pub fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// `json.dumps(value, sort_keys=True, indent=indent)`.
pub fn dumps(value: &Json, indent: Option<usize>) -> String {
    let mut out = String::new();
    write(value, indent, 0, &mut out);
    out
}

fn write(value: &Json, indent: Option<usize>, level: usize, out: &mut String) {
    let newline = |out: &mut String, level: usize| {
        if let Some(width) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(width * level));
        }
    };
    let separator = if indent.is_some() { "," } else { ", " };
    match value {
        Json::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, level + 1);
                write(item, indent, level + 1, out);
            }
            newline(out, level);
            out.push(']');
        }
        Json::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(separator);
                }
                newline(out, level + 1);
                out.push_str(&Json::String(key.clone()).to_string());
                out.push_str(": ");
                write(&map[key], indent, level + 1, out);
            }
            newline(out, level);
            out.push('}');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_matches_python() {
        let value = json!({"b": [1, "x"], "a": {}, "c": null, "d": []});
        assert_eq!(
            dumps(&value, None),
            r#"{"a": {}, "b": [1, "x"], "c": null, "d": []}"#
        );
    }

    #[test]
    fn indented_matches_python() {
        let value = json!({"msg": "hi", "list": [1]});
        assert_eq!(
            dumps(&value, Some(4)),
            "{\n    \"list\": [\n        1\n    ],\n    \"msg\": \"hi\"\n}"
        );
    }
}
