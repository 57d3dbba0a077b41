//! The type checkers of an argument spec (`type: int`, `elements: dict` ...), as
//! `ansible.module_utils.common.validation` writes them: each converts a value or says,
//! in Ansible's words, why it cannot.

use serde_json::{Map, Value as Json};

use crate::template::pyfmt::{py_repr, py_str};

/// A type an argument spec names, or the name it gave that no checker has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpecType<'a> {
    /// `str` (the default when the spec names none).
    Str,
    /// `list`: a comma-separated string is split.
    List,
    /// `dict`: JSON or `k=v` text is read.
    Dict,
    /// `bool`, in Ansible's strict sense.
    Bool,
    /// `int`.
    Int,
    /// `float`.
    Float,
    /// `path`: a string with `~` and `$VAR` expanded.
    Path,
    /// `raw`: anything.
    Raw,
    /// `json` or `jsonarg`: a string, or a structure serialized.
    Json,
    /// `bytes`: a human size (`10M`).
    Bytes,
    /// `bits`: a human size in bits (`1Mb`).
    Bits,
    /// A name Ansible has no checker for: every value fails, as calling `None` does.
    Unknown(&'a str),
}

impl<'a> SpecType<'a> {
    /// The type named by a spec's `type:` (or `elements:`), `str` when absent.
    pub fn named(name: Option<&'a str>) -> SpecType<'a> {
        match name.unwrap_or("str") {
            "str" => SpecType::Str,
            "list" => SpecType::List,
            "dict" => SpecType::Dict,
            "bool" => SpecType::Bool,
            "int" => SpecType::Int,
            "float" => SpecType::Float,
            "path" => SpecType::Path,
            "raw" => SpecType::Raw,
            "json" | "jsonarg" => SpecType::Json,
            "bytes" => SpecType::Bytes,
            "bits" => SpecType::Bits,
            other => SpecType::Unknown(other),
        }
    }

    /// The name messages give the type.
    pub fn name(self) -> &'a str {
        match self {
            SpecType::Str => "str",
            SpecType::List => "list",
            SpecType::Dict => "dict",
            SpecType::Bool => "bool",
            SpecType::Int => "int",
            SpecType::Float => "float",
            SpecType::Path => "path",
            SpecType::Raw => "raw",
            SpecType::Json => "jsonarg",
            SpecType::Bytes => "bytes",
            SpecType::Bits => "bits",
            SpecType::Unknown(name) => name,
        }
    }

    /// Converts `value` to this type, or gives the checker's message.
    pub fn check(self, value: &Json) -> Result<Json, String> {
        match self {
            SpecType::Str => Ok(Json::String(to_str(value))),
            SpecType::List => check_list(value),
            SpecType::Dict => check_dict(value),
            SpecType::Bool => check_bool(value),
            SpecType::Int => check_int(value),
            SpecType::Float => check_float(value),
            SpecType::Path => Ok(Json::String(expand_path(&to_str(value)))),
            SpecType::Raw => Ok(value.clone()),
            SpecType::Json => match value {
                Json::String(s) => Ok(Json::String(s.trim().to_string())),
                Json::Array(_) | Json::Object(_) => Ok(Json::String(python_dumps(value))),
                _ => Err(format!(
                    "{} cannot be converted to a json string",
                    py_class(value)
                )),
            },
            SpecType::Bytes => human_to_bytes(value, false)
                .ok_or_else(|| format!("{} cannot be converted to a Byte value", py_class(value))),
            SpecType::Bits => human_to_bytes(value, true)
                .ok_or_else(|| format!("{} cannot be converted to a Bit value", py_class(value))),
            SpecType::Unknown(_) => Err("'NoneType' object is not callable".to_string()),
        }
    }
}

/// `check_type_str`: Python's `str()` of the value, `None` as the empty string.
fn to_str(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        other => python_str(other),
    }
}

/// `check_type_list`: a list as it is, a string split at every comma, a number as
/// its one-item list.
fn check_list(value: &Json) -> Result<Json, String> {
    match value {
        Json::Array(_) => Ok(value.clone()),
        Json::String(s) => Ok(Json::Array(
            s.split(',').map(|part| Json::String(part.into())).collect(),
        )),
        Json::Number(_) | Json::Bool(_) => Ok(Json::Array(vec![Json::String(python_str(value))])),
        _ => Err(format!("{} cannot be converted to a list", py_class(value))),
    }
}

/// `check_type_dict`: a mapping as it is, or JSON text, or `k=v` words.
fn check_dict(value: &Json) -> Result<Json, String> {
    let text = match value {
        Json::Object(_) => return Ok(value.clone()),
        Json::String(text) => text,
        _ => return Err(format!("{} cannot be converted to a dict", py_class(value))),
    };
    if text.starts_with('{') {
        return match serde_json::from_str::<Json>(text) {
            Ok(parsed @ Json::Object(_)) => Ok(parsed),
            _ => Err("unable to evaluate string as dictionary".into()),
        };
    }
    if !text.contains('=') {
        return Err("dictionary requested, could not parse JSON or key=value".into());
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.trim().chars() {
        if escaped {
            field.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if quote.is_none() && (c == '\'' || c == '"') {
            quote = Some(c);
        } else if quote == Some(c) {
            quote = None;
        } else if quote.is_none() && (c == ',' || c == ' ') {
            if !field.is_empty() {
                fields.push(std::mem::take(&mut field));
            }
        } else {
            field.push(c);
        }
    }
    if !field.is_empty() {
        fields.push(field);
    }
    let mut map = Map::new();
    for field in fields {
        let (key, value) = field.split_once('=').ok_or_else(|| {
            "unable to evaluate string in the \"key=value\" format as dictionary".to_string()
        })?;
        map.insert(key.to_string(), Json::String(value.to_string()));
    }
    Ok(Json::Object(map))
}

/// The words Ansible's `boolean()` takes as true.
const TRUE_WORDS: &[&str] = &["y", "yes", "on", "1", "true", "t"];
/// The words Ansible's `boolean()` takes as false.
const FALSE_WORDS: &[&str] = &["n", "no", "off", "0", "false", "f"];

/// Whether `value` is one of `BOOLEANS_TRUE` (`Some(true)`), of `BOOLEANS_FALSE`
/// (`Some(false)`), or neither: Python's set membership, where `1 == 1.0 == True`.
pub fn boolean_word(value: &Json) -> Option<bool> {
    match value {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Json::String(s) if TRUE_WORDS.contains(&s.as_str()) => Some(true),
        Json::String(s) if FALSE_WORDS.contains(&s.as_str()) => Some(false),
        _ => None,
    }
}

/// `check_type_bool`: Ansible's strict `boolean()` of a string or number.
fn check_bool(value: &Json) -> Result<Json, String> {
    let normalized = match value {
        Json::Bool(_) | Json::Number(_) => value.clone(),
        Json::String(s) => Json::String(s.trim().to_lowercase()),
        _ => return Err(format!("{} cannot be converted to a bool", py_class(value))),
    };
    boolean_word(&normalized).map(Json::Bool).ok_or_else(|| {
        // The order Python's set of booleans iterates in is a hash order, different
        // in each Ansible run; this is one of them.
        format!(
            "The value '{}' is not a valid boolean. Valid booleans include: 0, 1, 'n', 'f', \
             't', '0', '1', 'false', 'no', 'true', 'yes', 'y', 'on', 'off'",
            python_str(value)
        )
    })
}

/// `check_type_int`: an integer, or a string or float whose decimal value is whole.
fn check_int(value: &Json) -> Result<Json, String> {
    let wrong = || format!("\"{}\" cannot be converted to an int", python_repr(value));
    match value {
        Json::Bool(_) => Ok(value.clone()),
        Json::Number(n) if n.is_i64() || n.is_u64() => Ok(value.clone()),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.is_finite() => Ok(Json::from(f as i64)),
            _ => Err(wrong()),
        },
        Json::String(s) => {
            let text = s.trim();
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Json::from(i));
            }
            let decimal = text
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
                && text.chars().any(|c| c.is_ascii_digit());
            match text.parse::<f64>() {
                Ok(f) if decimal && f.fract() == 0.0 && f.is_finite() => Ok(Json::from(f as i64)),
                _ => Err(wrong()),
            }
        }
        _ => Err(wrong()),
    }
}

/// `check_type_float`: Python's `float()` of a number or string.
fn check_float(value: &Json) -> Result<Json, String> {
    let wrong = || format!("{} cannot be converted to a float", py_class(value));
    let f = match value {
        Json::Number(n) => n.as_f64().ok_or_else(wrong)?,
        Json::Bool(b) => f64::from(u8::from(*b)),
        Json::String(s) => {
            let text = s.trim().replace('_', "");
            match text.to_ascii_lowercase().trim_start_matches(['+', '-']) {
                "inf" | "infinity" | "nan" => return Err(wrong()),
                _ => text.parse::<f64>().map_err(|_| wrong())?,
            }
        }
        _ => return Err(wrong()),
    };
    serde_json::Number::from_f64(f)
        .map(Json::Number)
        .ok_or_else(wrong)
}

/// `os.path.expanduser(os.path.expandvars(path))` on the control node.
fn expand_path(path: &str) -> String {
    let expanded = crate::modules::pathexpand::expand_vars(path, |name| std::env::var(name).ok());
    match (expanded.strip_prefix('~'), std::env::var("HOME")) {
        (Some(tail), Ok(home)) if tail.is_empty() || tail.starts_with('/') => {
            format!("{home}{tail}")
        }
        _ => expanded,
    }
}

/// `human_to_bytes`: a number of bytes (or bits), or a number with a unit (`10M`,
/// `1.5 KB`, `1Mb` in bits).
fn human_to_bytes(value: &Json, bits: bool) -> Option<Json> {
    let text = match value {
        Json::Number(n) => return n.as_f64().map(|f| Json::from(f as i64)),
        Json::String(s) => s.trim(),
        _ => return None,
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let number: f64 = text[..split].parse().ok()?;
    let unit = text[split..].trim();
    let mut letters = unit.chars();
    let power = match letters.next() {
        None => return Some(Json::from(number as i64)),
        Some(c) => "BKMGTPEZY".find(c.to_ascii_uppercase())?,
    };
    let suffix: String = letters.collect();
    let accepted = match (power, bits) {
        (0, false) => unit == "B",
        (0, true) => unit == "b",
        (_, false) => suffix.is_empty() || suffix == "B",
        (_, true) => suffix == "b",
    };
    accepted.then(|| Json::from((number * 1024f64.powi(power as i32)) as i64))
}

/// Python's `str()` of a JSON value.
pub fn python_str(value: &Json) -> String {
    py_str(&minijinja::Value::from_serialize(value))
}

/// Python's `repr()` of a JSON value.
pub fn python_repr(value: &Json) -> String {
    py_repr(&minijinja::Value::from_serialize(value))
}

/// `json.dumps` with Python's default separators, keys in their order.
fn python_dumps(value: &Json) -> String {
    match value {
        Json::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(python_dumps)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Json::String(k.clone()), python_dumps(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// The class of a value as Python prints `type(value)` inside Ansible 2.19, where
/// values read from YAML or templated carry tags: `<class '..._AnsibleTaggedStr'>`.
pub fn py_class(value: &Json) -> String {
    format!("<class '{}'>", qualified_class(value))
}

/// The class name alone (`__class__.__name__`): `_AnsibleTaggedInt`, `bool`.
pub fn class_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "_AnsibleTaggedFloat",
        Json::Number(_) => "_AnsibleTaggedInt",
        Json::String(_) => "_AnsibleTaggedStr",
        Json::Array(_) => "_AnsibleTaggedList",
        Json::Object(_) => "_AnsibleTaggedDict",
    }
}

/// The module-qualified class of a value, as `type()` names it.
fn qualified_class(value: &Json) -> String {
    match value {
        Json::Null | Json::Bool(_) => class_name(value).to_string(),
        other => format!(
            "ansible.module_utils._internal._datatag.{}",
            class_name(other)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn int_takes_whole_decimals_and_refuses_fractions_in_ansibles_words() {
        let int = SpecType::Int;
        assert_eq!(int.check(&json!("42")), Ok(json!(42)));
        assert_eq!(int.check(&json!(" 4.0 ")), Ok(json!(4)));
        assert_eq!(int.check(&json!("1e3")), Ok(json!(1000)));
        assert_eq!(
            int.check(&json!("4.5")),
            Err("\"'4.5'\" cannot be converted to an int".into())
        );
        assert_eq!(
            int.check(&json!(null)),
            Err("\"None\" cannot be converted to an int".into())
        );
    }

    #[test]
    fn bool_is_strict_and_names_the_class_of_what_it_cannot_read() {
        assert_eq!(SpecType::Bool.check(&json!(" Yes")), Ok(json!(true)));
        assert_eq!(SpecType::Bool.check(&json!(0)), Ok(json!(false)));
        let err = SpecType::Bool.check(&json!("")).expect_err("not a boolean");
        assert!(
            err.starts_with("The value '' is not a valid boolean."),
            "{err}"
        );
        assert_eq!(
            SpecType::Bool.check(&json!([1])),
            Err("<class 'ansible.module_utils._internal._datatag._AnsibleTaggedList'> cannot be converted to a bool".into())
        );
    }

    #[test]
    fn list_splits_strings_without_trimming_and_dict_reads_key_value_words() {
        assert_eq!(SpecType::List.check(&json!("a, b")), Ok(json!(["a", " b"])));
        assert_eq!(SpecType::List.check(&json!(5)), Ok(json!(["5"])));
        assert_eq!(
            SpecType::Dict.check(&json!("a=1 b='x y'")),
            Ok(json!({"a": "1", "b": "x y"}))
        );
        assert_eq!(
            SpecType::Dict.check(&json!("nope")),
            Err("dictionary requested, could not parse JSON or key=value".into())
        );
    }

    #[test]
    fn str_converts_as_python_and_unknown_types_fail() {
        assert_eq!(SpecType::Str.check(&json!(true)), Ok(json!("True")));
        assert_eq!(SpecType::Str.check(&json!([1, "a"])), Ok(json!("[1, 'a']")));
        assert_eq!(SpecType::Str.check(&json!(null)), Ok(json!("")));
        assert_eq!(
            SpecType::named(Some("strr")).check(&json!("x")),
            Err("'NoneType' object is not callable".into())
        );
        assert_eq!(SpecType::Bytes.check(&json!("1K")), Ok(json!(1024)));
        assert_eq!(SpecType::Bits.check(&json!("1Mb")), Ok(json!(1048576)));
    }
}
