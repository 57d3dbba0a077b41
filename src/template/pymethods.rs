//! Python methods on strings and lists that minijinja-contrib's `pycompat` lacks
//! (`list.index`, `str.index`, `str.center`, `str.partition`, `str.rsplit`, ...),
//! tried before it. Positions are in characters, as Python's are.

use minijinja::value::{ValueKind, from_args};
use minijinja::{Error, ErrorKind, State, Value};

/// The unknown-method callback: these methods first, then `pycompat`'s.
pub fn unknown_method(
    state: &State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    let handled = match value.kind() {
        ValueKind::Seq => seq_method(value, method, args)?,
        ValueKind::String => value
            .as_str()
            .map(|s| string_method(s, method, args))
            .transpose()?
            .flatten(),
        _ => None,
    };
    match handled {
        Some(result) => Ok(result),
        None => minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args),
    }
}

/// A Python `ValueError`, as the template error Ansible shows for it.
fn value_error(message: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.to_string())
}

fn seq_method(value: &Value, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    match method {
        "index" => {
            let (wanted,): (Value,) = from_args(args)?;
            let found = value.try_iter()?.position(|item| item == wanted);
            found
                .map(|at| Some(Value::from(at)))
                .ok_or_else(|| value_error(&format!("{wanted} is not in list")))
        }
        _ => Ok(None),
    }
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Option<Value>, Error> {
    let chars = || s.chars().count();
    let char_index = |byte: usize| s[..byte].chars().count();
    Ok(Some(match method {
        "find" | "index" | "rfind" | "rindex" => {
            let (what,): (&str,) = from_args(args)?;
            let at = match method {
                "find" | "index" => s.find(what),
                _ => s.rfind(what),
            };
            match (at, method) {
                (Some(byte), _) => Value::from(char_index(byte)),
                (None, "find" | "rfind") => Value::from(-1),
                (None, _) => return Err(value_error("substring not found")),
            }
        }
        "center" | "ljust" | "rjust" => {
            let (width, fill): (usize, Option<&str>) = from_args(args)?;
            let fill = fill.unwrap_or(" ");
            let mut fill_chars = fill.chars();
            let (Some(fill), None) = (fill_chars.next(), fill_chars.next()) else {
                return Err(value_error(
                    "The fill character must be exactly one character long",
                ));
            };
            let pad = width.saturating_sub(chars());
            let left = match method {
                "ljust" => 0,
                "rjust" => pad,
                // Python puts the odd character on the left when the width is odd.
                _ => pad / 2 + (pad & width & 1),
            };
            let repeat = |n: usize| fill.to_string().repeat(n);
            Value::from(format!("{}{s}{}", repeat(left), repeat(pad - left)))
        }
        "zfill" => {
            let (width,): (usize,) = from_args(args)?;
            let pad = "0".repeat(width.saturating_sub(chars()));
            Value::from(match s.strip_prefix(['+', '-']) {
                Some(rest) => format!("{}{pad}{rest}", &s[..1]),
                None => format!("{pad}{s}"),
            })
        }
        "partition" | "rpartition" => {
            let (sep,): (&str,) = from_args(args)?;
            if sep.is_empty() {
                return Err(value_error("empty separator"));
            }
            let found = match method {
                "partition" => s.find(sep),
                _ => s.rfind(sep),
            };
            let parts = match (found, method) {
                (Some(at), _) => [&s[..at], sep, &s[at + sep.len()..]],
                (None, "partition") => [s, "", ""],
                (None, _) => ["", "", s],
            };
            Value::from(parts.iter().map(|p| Value::from(*p)).collect::<Vec<_>>())
        }
        "rsplit" => {
            let (sep, limit): (Option<&str>, Option<i64>) = from_args(args)?;
            let limit = limit.filter(|&n| n >= 0).map(|n| n as usize);
            let mut parts: Vec<&str> = match (sep, limit) {
                (Some(""), _) => return Err(value_error("empty separator")),
                (Some(sep), Some(n)) => s.rsplitn(n + 1, sep).collect(),
                (Some(sep), None) => s.rsplit(sep).collect(),
                (None, limit) => rsplit_whitespace(s, limit),
            };
            parts.reverse();
            Value::from(parts.into_iter().map(Value::from).collect::<Vec<_>>())
        }
        "removeprefix" | "removesuffix" => {
            let (affix,): (&str,) = from_args(args)?;
            let stripped = match method {
                "removeprefix" => s.strip_prefix(affix),
                _ => s.strip_suffix(affix),
            };
            Value::from(stripped.unwrap_or(s))
        }
        "swapcase" => {
            let () = from_args(args)?;
            Value::from(
                s.chars()
                    .flat_map(|c| match c.is_uppercase() {
                        true => c.to_lowercase().collect::<Vec<_>>(),
                        false => c.to_uppercase().collect(),
                    })
                    .collect::<String>(),
            )
        }
        "isnumeric" | "isdecimal" => {
            let () = from_args(args)?;
            Value::from(!s.is_empty() && s.chars().all(char::is_numeric))
        }
        _ => return Ok(None),
    }))
}

/// `str.rsplit()` without a separator: runs of whitespace split, from the right, at
/// most `limit` times; the unsplit rest keeps its leading whitespace, as Python's.
fn rsplit_whitespace(s: &str, limit: Option<usize>) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = s.trim_end();
    while !rest.is_empty() {
        if limit.is_some_and(|n| parts.len() == n) {
            parts.push(rest);
            return parts;
        }
        match rest.rfind(char::is_whitespace) {
            Some(at) => {
                let word_start = at + rest[at..].chars().next().map_or(1, char::len_utf8);
                parts.push(&rest[word_start..]);
                rest = rest[..at].trim_end();
            }
            None => {
                parts.push(rest);
                rest = "";
            }
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn list_index_finds_or_fails_as_python() {
        assert_eq!(eval("['a', 'b'].index('b')", json!({})), "1");
        assert!(eval_err("['a'].index('z')", json!({})).contains("z is not in list"));
    }

    #[test]
    fn string_methods_count_characters() {
        assert_eq!(eval("'héllo'.find('l')", json!({})), "2");
        assert_eq!(eval("'héllo'.rindex('l')", json!({})), "3");
        assert!(eval_err("'abc'.index('z')", json!({})).contains("substring not found"));
        assert_eq!(eval("'ab'.center(7, '*')", json!({})), "***ab**");
        assert_eq!(eval("'abc'.center(6, '*')", json!({})), "*abc**");
        assert_eq!(
            eval("'a'.ljust(3, '.') ~ 'b'.rjust(3)", json!({})),
            "a..  b"
        );
        assert_eq!(eval("'-42'.zfill(5)", json!({})), "-0042");
        assert_eq!(
            eval("'k=v=w'.partition('=')|join('|')", json!({})),
            "k|=|v=w"
        );
        assert_eq!(
            eval("'k=v=w'.rpartition('=')|join('|')", json!({})),
            "k=v|=|w"
        );
        assert_eq!(eval("'a.b.c'.rsplit('.', 1)|join('|')", json!({})), "a.b|c");
        assert_eq!(
            eval("' a  b c '.rsplit(None, 1)|join('|')", json!({})),
            " a  b|c"
        );
        assert_eq!(eval("'v1.2'.removeprefix('v')", json!({})), "1.2");
        assert_eq!(eval("'aB'.swapcase()", json!({})), "Ab");
    }
}
