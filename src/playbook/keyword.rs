//! Typed task keywords (`ignore_errors`, `retries`, `delay`, `timeout`): their values
//! convert as Ansible's field attributes convert them, or are refused with Ansible's
//! words. They are checked when the task runs (after `when`), once rendered, as in Ansible.

use minijinja::Value;
use serde_json::Value as Json;

use crate::template::pyfmt::py_repr;

/// The type a keyword's value must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A boolean, strictly: `yes`, `no`, `true`, `1`, `0` ...
    Bool,
    /// An integer, as Python's `int()` reads it.
    Int,
    /// A number, as Python's `float()` reads it.
    Float,
}

impl Kind {
    /// Python's name for the type, as Ansible's messages use it.
    fn name(self) -> &'static str {
        match self {
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Float => "float",
        }
    }
}

/// `value` converted to `kind`; null stays null (the keyword keeps its default).
pub fn convert(keyword: &str, kind: Kind, value: &Json) -> Result<Json, String> {
    let converted = match (kind, value) {
        (_, Json::Null) => Some(Json::Null),
        (Kind::Bool, _) => crate::modules::args::parse_bool(value).map(Json::Bool),
        (Kind::Int, _) => to_int(value).map(Json::from),
        (Kind::Float, _) => to_float(value)
            .and_then(serde_json::Number::from_f64)
            .map(Json::Number),
    };
    converted.ok_or_else(|| {
        format!(
            "Error processing keyword '{keyword}': The value {} could not be converted to '{}'.",
            py_repr(&Value::from_serialize(value)),
            kind.name()
        )
    })
}

/// Python's `int()` of a JSON value: integers, floats (truncated), booleans, and
/// strings of decimal digits with an optional sign and surrounding spaces.
fn to_int(value: &Json) -> Option<i64> {
    match value {
        Json::Bool(b) => Some(i64::from(*b)),
        Json::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
        }),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Python's `float()` of a JSON value: numbers, booleans and numeric strings.
fn to_float(value: &Json) -> Option<f64> {
    match value {
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::Number(n) => n.as_f64(),
        Json::String(s) => s.trim().parse().ok().filter(|f: &f64| f.is_finite()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_convert_as_python_does() {
        let ok = [
            (Kind::Bool, json!("yes"), json!(true)),
            (Kind::Bool, json!(0), json!(false)),
            (Kind::Int, json!(" 12 "), json!(12)),
            (Kind::Int, json!(2.7), json!(2)),
            (Kind::Int, json!(true), json!(1)),
            (Kind::Float, json!("1.5"), json!(1.5)),
            (Kind::Float, json!(3), json!(3.0)),
            (Kind::Int, Json::Null, Json::Null),
        ];
        for (kind, value, expected) in ok {
            assert_eq!(convert("k", kind, &value), Ok(expected), "{value}");
        }
    }

    #[test]
    fn wrong_values_are_refused_in_ansibles_words() {
        let cases = [
            (
                "ignore_errors",
                Kind::Bool,
                json!("maybe"),
                "Error processing keyword 'ignore_errors': The value 'maybe' could not be converted to 'bool'.",
            ),
            (
                "retries",
                Kind::Int,
                json!("abc"),
                "Error processing keyword 'retries': The value 'abc' could not be converted to 'int'.",
            ),
            (
                "delay",
                Kind::Float,
                json!([1]),
                "Error processing keyword 'delay': The value [1] could not be converted to 'float'.",
            ),
            (
                "timeout",
                Kind::Int,
                json!("1.5"),
                "Error processing keyword 'timeout': The value '1.5' could not be converted to 'int'.",
            ),
        ];
        for (keyword, kind, value, message) in cases {
            assert_eq!(convert(keyword, kind, &value), Err(message.to_string()));
        }
    }
}
