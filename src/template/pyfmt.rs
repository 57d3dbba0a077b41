//! Python-flavoured views of minijinja values: type names, `str()` and
//! `repr()` formatting, and access to lists and dicts.

use minijinja::value::ValueKind;
use minijinja::{Error, Value};

use super::args::fail;

/// Returns the Python type name Ansible would report for `value`.
pub fn type_name(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// Formats a value like Python's `str()`.
pub fn py_str(value: &Value) -> String {
    match value.kind() {
        ValueKind::String | ValueKind::Bytes => {
            value.to_str().map(|s| s.to_string()).unwrap_or_default()
        }
        ValueKind::Undefined => String::new(),
        _ => py_repr(value),
    }
}

/// Formats a value like Python's `repr()`.
pub fn py_repr(value: &Value) -> String {
    let mut out = String::new();
    write_repr(&mut out, value);
    out
}

fn write_repr(out: &mut String, value: &Value) {
    match value.kind() {
        ValueKind::Undefined => {}
        ValueKind::None => out.push_str("None"),
        ValueKind::Bool => out.push_str(if value.is_true() { "True" } else { "False" }),
        ValueKind::Number => out.push_str(&number_str(value)),
        ValueKind::String => out.push_str(&str_repr(value.as_str().unwrap_or_default())),
        ValueKind::Bytes => {
            out.push('b');
            out.push_str(&str_repr(&value.to_str().unwrap_or_default()));
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let (open, close) = if is_group_tuple(value) {
                ('(', ')')
            } else {
                ('[', ']')
            };
            out.push(open);
            for (i, item) in value.try_iter().into_iter().flatten().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &item);
            }
            out.push(close);
        }
        ValueKind::Map => {
            out.push('{');
            for (i, (k, v)) in map_pairs(value).into_iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_repr(out, &k);
                out.push_str(": ");
                write_repr(out, &v);
            }
            out.push('}');
        }
        _ => out.push_str(&value.to_string()),
    }
}

/// Whether `value` is one of `groupby`'s groups, a sequence with a `grouper`
/// attribute, which Python shows as the tuple it is.
fn is_group_tuple(value: &Value) -> bool {
    value.as_object().is_some()
        && value
            .get_attr("grouper")
            .is_ok_and(|grouper| !grouper.is_undefined())
}

/// Formats a number the way Python prints ints and floats.
pub(crate) fn number_str(value: &Value) -> String {
    if value.is_integer() {
        value.to_string()
    } else {
        f64::try_from(value.clone()).map_or_else(|_| value.to_string(), py_float)
    }
}

/// Formats a float like Python's `repr(float)`: shortest round-trip digits,
/// `.0` on integral values and exponent notation outside `1e-4 .. 1e16`.
pub(crate) fn py_float(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else {
            let point = point as usize;
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point - digits.len()))
            } else {
                format!("{}.{}", &digits[..point], &digits[point..])
            }
        };
        format!("{sign}{body}")
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.unsigned_abs())
    }
}

/// Quotes a string like Python's `repr(str)`.
pub(crate) fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Returns true for values Ansible treats as sequences: lists, not strings or dicts.
pub(crate) fn is_sequence(value: &Value) -> bool {
    matches!(value.kind(), ValueKind::Seq | ValueKind::Iterable)
}

/// Returns the key/value pairs of a map, in iteration order.
pub(crate) fn map_pairs(value: &Value) -> Vec<(Value, Value)> {
    value
        .try_iter()
        .into_iter()
        .flatten()
        .map(|k| {
            let v = value.get_item(&k).unwrap_or_default();
            (k, v)
        })
        .collect()
}

/// Returns the items of a list, or an error naming `name` for other kinds.
pub(crate) fn list_items(value: &Value, name: &str) -> Result<Vec<Value>, Error> {
    if !is_sequence(value) {
        return Err(fail(
            name,
            format!("expected a list, got {}", type_name(value)),
        ));
    }
    Ok(value.try_iter()?.collect())
}

/// Returns the items of any iterable value (strings yield characters,
/// dicts yield keys), or an error naming `name`.
pub(crate) fn iter_items(value: &Value, name: &str) -> Result<Vec<Value>, Error> {
    value.try_iter().map(Iterator::collect).map_err(|_| {
        fail(
            name,
            format!("'{}' object is not iterable", type_name(value)),
        )
    })
}

/// Builds a dict value from ordered pairs.
pub(crate) fn make_map(pairs: impl IntoIterator<Item = (Value, Value)>) -> Value {
    Value::from_iter(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_follow_python_repr() {
        assert_eq!(py_float(1.0), "1.0");
        assert_eq!(py_float(0.1), "0.1");
        assert_eq!(py_float(-2.5), "-2.5");
        assert_eq!(py_float(1e16), "1e+16");
        assert_eq!(py_float(1.5e-5), "1.5e-05");
        assert_eq!(py_float(0.0001), "0.0001");
        assert_eq!(py_float(123456789012345.0), "123456789012345.0");
    }

    #[test]
    fn repr_matches_python() {
        let v = Value::from_serialize(serde_json::json!({"a": [1, 2.0, "x'y", null, true]}));
        assert_eq!(py_repr(&v), "{'a': [1, 2.0, \"x'y\", None, True]}");
        assert_eq!(py_str(&Value::from("plain")), "plain");
        assert_eq!(str_repr("a\nb"), "'a\\nb'");
    }

    #[test]
    fn groupby_groups_are_tuples() {
        assert_eq!(
            crate::template::test_support::eval(
                "([{'a': 1}] | groupby('a'))[0] | string",
                serde_json::json!({})
            ),
            "(1, [{'a': 1}])"
        );
    }

    #[test]
    fn type_names_are_python_names() {
        assert_eq!(type_name(&Value::from(1)), "int");
        assert_eq!(type_name(&Value::from(1.5)), "float");
        assert_eq!(type_name(&Value::from(())), "NoneType");
        assert_eq!(type_name(&Value::from(vec![1])), "list");
    }
}
