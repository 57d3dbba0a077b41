//! Type conversion and undefined-handling filters: `bool`, `int`, `float`,
//! `string`, `type_debug`, `default`/`d`, `mandatory` and `ternary`.

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use crate::template::args::{Params, ensure_defined};
use crate::template::pyfmt::{py_str, type_name};

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("float", to_float);
    env.add_filter("string", to_string);
    env.add_filter("type_debug", type_debug);
    env.add_filter("default", default);
    env.add_filter("d", default);
    env.add_filter("mandatory", mandatory);
    env.add_filter("ternary", ternary);
}

/// Ansible's `bool`: true only for True, 1, 1.0 and the strings
/// 'yes', 'on', 'true', '1' in any case.
fn to_bool(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    Params::bind("bool", &[], args, kwargs)?;
    ensure_defined(state, value, "bool")?;
    let truth = match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::String => {
            let lower = value.as_str().unwrap_or_default().to_lowercase();
            matches!(lower.as_str(), "yes" | "on" | "true" | "1")
        }
        ValueKind::Number => f64::try_from(value.clone()).is_ok_and(|f| f == 1.0),
        _ => false,
    };
    Ok(Value::from(truth))
}

/// Jinja's `int(default=0, base=10)`: strings are parsed in `base`, then as
/// floats and truncated; anything unparsable gives `default`.
fn to_int(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::bind("int", &["default", "base"], args, kwargs)?;
    ensure_defined(state, value, "int")?;
    let default = p.get("default").cloned().unwrap_or_else(|| Value::from(0));
    let base = p.int("base")?.unwrap_or(10);
    let parsed = match value.kind() {
        ValueKind::Bool => Some(i128::from(value.is_true())),
        ValueKind::Number if value.is_integer() => return Ok(value.clone()),
        ValueKind::Number => f64::try_from(value.clone()).ok().and_then(truncate),
        ValueKind::String => {
            let s = value.as_str().unwrap_or_default();
            parse_int(s, base).or_else(|| parse_float(s).and_then(truncate))
        }
        _ => None,
    };
    Ok(parsed.map_or(default, Value::from))
}

/// Jinja's `float(default=0.0)`: Python's `float()` or `default`.
fn to_float(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind("float", &["default"], args, kwargs)?;
    ensure_defined(state, value, "float")?;
    let default = p
        .get("default")
        .cloned()
        .unwrap_or_else(|| Value::from(0.0));
    let parsed = match value.kind() {
        ValueKind::Bool => Some(if value.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        ValueKind::String => parse_float(value.as_str().unwrap_or_default()),
        _ => None,
    };
    Ok(parsed.map_or(default, Value::from))
}

/// Python's `str()` of the value; strings pass through unchanged.
fn to_string(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    Params::bind("string", &[], args, kwargs)?;
    ensure_defined(state, value, "string")?;
    if value.kind() == ValueKind::String {
        return Ok(value.clone());
    }
    Ok(Value::from(py_str(value)))
}

/// The Python type name of the value ('str', 'int', 'dict', 'NoneType', ...).
fn type_debug(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    Params::bind("type_debug", &[], args, kwargs)?;
    Ok(Value::from(type_name(value)))
}

/// `default(default_value='', boolean=False)`: replaces undefined values,
/// and with `boolean` also falsy ones ('', 0, false, none, empty collections).
fn default(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::bind("default", &["default_value", "boolean"], args, kwargs)?;
    let fallback = p
        .get("default_value")
        .cloned()
        .unwrap_or_else(|| Value::from(""));
    if value.is_undefined() || (p.flag("boolean", false) && !value.is_true()) {
        Ok(fallback)
    } else {
        Ok(value.clone())
    }
}

/// `mandatory(msg=None)`: fails on undefined values.
fn mandatory(value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::bind("mandatory", &["msg"], args, kwargs)?;
    if !value.is_undefined() {
        return Ok(value.clone());
    }
    let msg = match p.get("msg").filter(|m| !m.is_none() && !m.is_undefined()) {
        Some(msg) => py_str(msg),
        None => "Mandatory variable not defined.".to_string(),
    };
    Err(Error::new(ErrorKind::UndefinedError, msg))
}

/// `ternary(true_val, false_val, none_val=None)`.
fn ternary(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind(
        "ternary",
        &["true_val", "false_val", "none_val"],
        args,
        kwargs,
    )?;
    ensure_defined(state, value, "ternary")?;
    let arg = |name: &str| {
        p.get(name).cloned().ok_or_else(|| {
            Error::new(
                ErrorKind::MissingArgument,
                format!("ternary: missing argument '{name}'"),
            )
        })
    };
    let (true_val, false_val) = (arg("true_val")?, arg("false_val")?);
    match p.get("none_val") {
        Some(none_val) if value.is_none() && !none_val.is_none() => Ok(none_val.clone()),
        _ if value.is_true() => Ok(true_val),
        _ => Ok(false_val),
    }
}

/// Truncates a finite float toward zero, like Python's `int(float)`.
fn truncate(f: f64) -> Option<i128> {
    (f.is_finite() && f.abs() < 1.7e38).then(|| f.trunc() as i128)
}

/// Removes underscores that sit between two digits, rejecting any other.
fn strip_digit_underscores(s: &str, is_digit: impl Fn(char) -> bool) -> Option<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == '_' {
            let before = i > 0 && is_digit(chars[i - 1]);
            let after = chars.get(i + 1).is_some_and(|&n| is_digit(n));
            if !(before && after) {
                return None;
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Python's `int(s, base)`: optional sign, base prefixes, underscores
/// between digits and surrounding whitespace.
fn parse_int(s: &str, base: i64) -> Option<i128> {
    let s = s.trim();
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let prefixed = |p: &str| lower.starts_with(p);
    let (radix, digits) = match base {
        0 if prefixed("0x") => (16, &body[2..]),
        0 if prefixed("0o") => (8, &body[2..]),
        0 if prefixed("0b") => (2, &body[2..]),
        0 => {
            if body.len() > 1 && body.starts_with('0') && body.chars().any(|c| c != '0' && c != '_')
            {
                return None;
            }
            (10, body)
        }
        16 if prefixed("0x") => (16, &body[2..]),
        8 if prefixed("0o") => (8, &body[2..]),
        2 if prefixed("0b") => (2, &body[2..]),
        b @ 2..=36 => (b as u32, body),
        _ => return None,
    };
    let digits = digits
        .strip_prefix('_')
        .filter(|_| digits.len() < body.len())
        .unwrap_or(digits);
    let cleaned = strip_digit_underscores(digits, |c| c.is_digit(radix))?;
    if cleaned.is_empty() || cleaned.starts_with(['+', '-']) {
        return None;
    }
    let n = i128::from_str_radix(&cleaned, radix).ok()?;
    Some(if negative { -n } else { n })
}

/// Python's `float(s)`: whitespace, underscores between digits, `inf`/`nan`.
pub(crate) fn parse_float(s: &str) -> Option<f64> {
    let cleaned = strip_digit_underscores(s.trim(), |c| c.is_ascii_digit())?;
    let lower = cleaned.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    if unsigned.len() + 1 < lower.len() {
        return None;
    }
    match unsigned {
        "inf" | "infinity" | "nan" => lower.parse().ok(),
        u if u
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-')) =>
        {
            lower.parse().ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn bool_follows_ansible_truth_table() {
        // Ansible: only True, 1 and 'yes'/'on'/'true'/'1' (any case) are true.
        for t in ["'yes'", "'ON'", "'True'", "'1'", "1", "true", "1.0"] {
            assert_eq!(eval(&format!("{t}|bool"), json!({})), "True", "{t}");
        }
        for f in [
            "'no'", "'y'", "'t'", "'2'", "2", "0", "none", "''", "[1]", "' yes'",
        ] {
            assert_eq!(eval(&format!("{f}|bool"), json!({})), "False", "{f}");
        }
    }

    #[test]
    fn bool_on_undefined_fails_in_strict_mode() {
        assert!(eval_err("missing|bool", json!({})).contains("undefined"));
    }

    #[test]
    fn int_parses_like_jinja() {
        // Jinja: bad input gives the default (0), floats and '42.7' truncate.
        assert_eq!(eval("'42'|int", json!({})), "42");
        assert_eq!(eval("' 42 '|int", json!({})), "42");
        assert_eq!(eval("'42.7'|int", json!({})), "42");
        assert_eq!(eval("-3.9|int", json!({})), "-3");
        assert_eq!(eval("'abc'|int", json!({})), "0");
        assert_eq!(eval("'abc'|int(7)", json!({})), "7");
        assert_eq!(eval("none|int", json!({})), "0");
        assert_eq!(eval("true|int", json!({})), "1");
        assert_eq!(eval("'1_000'|int", json!({})), "1000");
        assert_eq!(eval("'0x1F'|int(base=16)", json!({})), "31");
        assert_eq!(eval("'1F'|int(0, 16)", json!({})), "31");
        assert_eq!(eval("'0b101'|int(base=0)", json!({})), "5");
        assert_eq!(eval("'0x1F'|int", json!({})), "0");
    }

    #[test]
    fn float_parses_like_python() {
        assert_eq!(eval("'1.5'|float", json!({})), "1.5");
        assert_eq!(eval("'1e3'|float", json!({})), "1000.0");
        assert_eq!(eval("'x'|float", json!({})), "0.0");
        assert_eq!(eval("'x'|float(2.5)", json!({})), "2.5");
        assert_eq!(eval("3|float", json!({})), "3.0");
    }

    #[test]
    fn string_uses_python_str() {
        assert_eq!(eval("true|string", json!({})), "True");
        assert_eq!(eval("none|string", json!({})), "None");
        assert_eq!(eval("[1, 'a']|string", json!({})), "[1, 'a']");
        assert_eq!(eval("'x'|string", json!({})), "x");
    }

    #[test]
    fn type_debug_reports_python_types() {
        let ctx = json!({"s": "a", "i": 1, "f": 1.5, "b": true, "d": {}, "l": [], "n": null});
        let got = eval("[s, i, f, b, d, l, n]|map('type_debug')|join(',')", ctx);
        assert_eq!(got, "str,int,float,bool,dict,list,NoneType");
    }

    #[test]
    fn default_replaces_undefined_and_optionally_falsy() {
        // Jinja: default only replaces undefined; with boolean=true also ''/0/false/none/[].
        assert_eq!(eval("missing|default('x')", json!({})), "x");
        assert_eq!(eval("missing|d('x')", json!({})), "x");
        assert_eq!(eval("v|default('x')", json!({"v": ""})), "");
        assert_eq!(eval("v|default('x', true)", json!({"v": ""})), "x");
        assert_eq!(eval("v|default('x', boolean=true)", json!({"v": 0})), "x");
        assert_eq!(eval("v|default('x', true)", json!({"v": []})), "x");
        assert_eq!(eval("v|default('x')|string", json!({"v": null})), "None");
        assert_eq!(eval("missing|default", json!({})), "");
    }

    #[test]
    fn mandatory_fails_only_on_undefined() {
        assert_eq!(eval("v|mandatory", json!({"v": 0})), "0");
        assert!(
            eval_err("missing|mandatory", json!({})).contains("Mandatory variable not defined.")
        );
        assert!(eval_err("missing|mandatory('set it')", json!({})).contains("set it"));
    }

    #[test]
    fn ternary_handles_none_val() {
        // Ansible: none_val is used only when the value is None and none_val is given.
        assert_eq!(eval("true|ternary('a', 'b')", json!({})), "a");
        assert_eq!(eval("''|ternary('a', 'b')", json!({})), "b");
        assert_eq!(eval("none|ternary('a', 'b')", json!({})), "b");
        assert_eq!(eval("none|ternary('a', 'b', 'n')", json!({})), "n");
        assert!(eval_err("true|ternary('a')", json!({})).contains("false_val"));
    }
}
