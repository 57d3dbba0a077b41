//! A JSON writer reproducing Python's `json.dumps` text exactly.

use minijinja::value::ValueKind;
use minijinja::{Error, Value};

use super::args::fail;
use super::pyfmt::{map_pairs, py_float, type_name};

/// Options mirroring the `json.dumps` keyword arguments Ansible exposes.
#[derive(Clone, Debug)]
pub struct JsonOptions {
    /// Pretty-print with this many spaces per level (`indent=`).
    pub indent: Option<usize>,
    /// Sort dict keys (`sort_keys=`).
    pub sort_keys: bool,
    /// Escape every non-ASCII character as `\uXXXX` (`ensure_ascii=`).
    pub ensure_ascii: bool,
    /// Item and key separators; Python's defaults depend on `indent`.
    pub separators: Option<(String, String)>,
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            indent: None,
            sort_keys: false,
            ensure_ascii: true,
            separators: None,
        }
    }
}

/// Serializes `value` like Python's `json.dumps` with the given options.
pub fn dumps(value: &Value, opts: &JsonOptions) -> Result<String, Error> {
    let (item_sep, key_sep) = match &opts.separators {
        Some((i, k)) => (i.clone(), k.clone()),
        None if opts.indent.is_some() => (",".into(), ": ".into()),
        None => (", ".into(), ": ".into()),
    };
    let writer = Writer {
        opts,
        item_sep,
        key_sep,
    };
    let mut out = String::new();
    writer.write(&mut out, value, 0)?;
    Ok(out)
}

struct Writer<'a> {
    opts: &'a JsonOptions,
    item_sep: String,
    key_sep: String,
}

impl Writer<'_> {
    fn write(&self, out: &mut String, value: &Value, level: usize) -> Result<(), Error> {
        match value.kind() {
            ValueKind::None => out.push_str("null"),
            ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
            ValueKind::Number => out.push_str(&json_number(value)),
            ValueKind::String | ValueKind::Bytes => self.write_str(
                out,
                &value.to_str().map(|s| s.to_string()).unwrap_or_default(),
            ),
            ValueKind::Seq | ValueKind::Iterable => {
                let items: Vec<Value> = value.try_iter()?.collect();
                self.write_container(out, level, '[', ']', &items, |out, item, lvl| {
                    self.write(out, item, lvl)
                })?;
            }
            ValueKind::Map => {
                let mut pairs = map_pairs(value);
                if self.opts.sort_keys {
                    pairs.sort_by(|a, b| a.0.cmp(&b.0));
                }
                self.write_container(out, level, '{', '}', &pairs, |out, (k, v), lvl| {
                    self.write_str(out, &key_text(k)?);
                    out.push_str(&self.key_sep);
                    self.write(out, v, lvl)
                })?;
            }
            _ => {
                return Err(fail(
                    "to_json",
                    format!(
                        "Object of type {} is not JSON serializable",
                        type_name(value)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn write_container<T>(
        &self,
        out: &mut String,
        level: usize,
        open: char,
        close: char,
        items: &[T],
        mut write_item: impl FnMut(&mut String, &T, usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        out.push(open);
        if items.is_empty() {
            out.push(close);
            return Ok(());
        }
        let newline = |out: &mut String, lvl: usize| {
            if let Some(indent) = self.opts.indent {
                out.push('\n');
                out.push_str(&" ".repeat(indent * lvl));
            }
        };
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.item_sep);
            }
            newline(out, level + 1);
            write_item(out, item, level + 1)?;
        }
        newline(out, level);
        out.push(close);
        Ok(())
    }

    fn write_str(&self, out: &mut String, s: &str) {
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c if self.opts.ensure_ascii && !c.is_ascii() => {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Formats a number as Python's json module does (floats via `repr`).
fn json_number(value: &Value) -> String {
    if value.is_integer() {
        return value.to_string();
    }
    match f64::try_from(value.clone()) {
        Ok(f) if f.is_nan() => "NaN".into(),
        Ok(f) if f.is_infinite() => if f > 0.0 { "Infinity" } else { "-Infinity" }.into(),
        Ok(f) => py_float(f),
        Err(_) => value.to_string(),
    }
}

/// Converts a dict key to the string Python's json module would write.
fn key_text(key: &Value) -> Result<String, Error> {
    match key.kind() {
        ValueKind::String => Ok(key.as_str().unwrap_or_default().to_string()),
        ValueKind::None => Ok("null".into()),
        ValueKind::Bool => Ok(if key.is_true() { "true" } else { "false" }.into()),
        ValueKind::Number => Ok(json_number(key)),
        _ => Err(fail(
            "to_json",
            format!(
                "keys must be str, int, float, bool or None, not {}",
                type_name(key)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dump(v: serde_json::Value, opts: JsonOptions) -> String {
        dumps(&Value::from_serialize(v), &opts).unwrap()
    }

    #[test]
    fn compact_uses_python_separators() {
        // json.dumps defaults to ', ' and ': ' and escapes non-ASCII.
        let text = dump(
            json!({"b": [1, 2.5, null], "a": "é"}),
            JsonOptions::default(),
        );
        assert_eq!(text, r#"{"b": [1, 2.5, null], "a": "\u00e9"}"#);
    }

    #[test]
    fn indented_output_matches_python() {
        let opts = JsonOptions {
            indent: Some(2),
            sort_keys: true,
            ..JsonOptions::default()
        };
        let text = dump(json!({"b": {}, "a": [1, []]}), opts);
        assert_eq!(text, "{\n  \"a\": [\n    1,\n    []\n  ],\n  \"b\": {}\n}");
    }

    #[test]
    fn astral_chars_become_surrogate_pairs() {
        assert_eq!(
            dump(json!("😀"), JsonOptions::default()),
            r#""\ud83d\ude00""#
        );
    }
}
