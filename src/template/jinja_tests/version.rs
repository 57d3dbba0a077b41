//! The `version` / `version_compare` test: Python `LooseVersion` and
//! `StrictVersion` comparison.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Error, State, Value};

use super::version_types;
use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::py_str;

const NAME: &str = "version";

/// One component of a `LooseVersion`.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Num(u128),
    Text(String),
}

/// Splits like distutils' `LooseVersion`: runs of digits, runs of lowercase
/// letters and any other text between them; dots only separate.
fn loose_parts(version: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut chars = version.chars().peekable();
    let mut other = String::new();
    let flush = |other: &mut String, parts: &mut Vec<Part>| {
        if !other.is_empty() {
            parts.push(Part::Text(std::mem::take(other)));
        }
    };
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() || c.is_ascii_lowercase() || c == '.' {
            flush(&mut other, &mut parts);
        }
        if c == '.' {
            chars.next();
        } else if c.is_ascii_digit() || c.is_ascii_lowercase() {
            let digit = c.is_ascii_digit();
            let mut run = String::new();
            while let Some(&n) = chars.peek() {
                if (digit && n.is_ascii_digit()) || (!digit && n.is_ascii_lowercase()) {
                    run.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            match run.parse::<u128>() {
                Ok(n) if digit => parts.push(Part::Num(n)),
                _ => parts.push(Part::Text(run)),
            }
        } else {
            other.push(c);
            chars.next();
        }
    }
    flush(&mut other, &mut parts);
    parts
}

/// Compares two loose versions like Python compares their component lists;
/// a number against text is an error, as in Python 3.
fn compare_loose(a: &str, b: &str) -> Result<Ordering, Error> {
    let (pa, pb) = (loose_parts(a), loose_parts(b));
    for (x, y) in pa.iter().zip(&pb) {
        let ord = match (x, y) {
            (Part::Num(m), Part::Num(n)) => m.cmp(n),
            (Part::Text(s), Part::Text(t)) => s.cmp(t),
            (Part::Num(n), Part::Text(t)) | (Part::Text(t), Part::Num(n)) => {
                return Err(fail(
                    NAME,
                    format!(
                        "Version comparison failed: cannot compare '{t}' with {n} ('{a}' vs '{b}')"
                    ),
                ));
            }
        };
        if ord != Ordering::Equal {
            return Ok(ord);
        }
    }
    Ok(pa.len().cmp(&pb.len()))
}

/// A parsed `StrictVersion`: release numbers and optional pre-release tag.
type StrictKey = ([u64; 3], Option<(char, u64)>);

/// Parses a `StrictVersion`: `N.N[.N][(a|b)N]`.
fn strict_key(version: &str) -> Result<StrictKey, Error> {
    let invalid = || {
        fail(
            NAME,
            format!("Version comparison failed: invalid version number '{version}'"),
        )
    };
    let (release, pre) = match version.find(['a', 'b']) {
        Some(i) => (&version[..i], Some(&version[i..])),
        None => (version, None),
    };
    let numbers: Vec<u64> = release
        .split('.')
        .map(|n| {
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) {
                n.parse().map_err(|_| invalid())
            } else {
                Err(invalid())
            }
        })
        .collect::<Result<_, _>>()?;
    let release = match numbers.as_slice() {
        [a, b] => [*a, *b, 0],
        [a, b, c] => [*a, *b, *c],
        _ => return Err(invalid()),
    };
    let pre = match pre {
        None => None,
        Some(p) => {
            let mut chars = p.chars();
            let letter = chars.next().ok_or_else(invalid)?;
            let num = chars.as_str();
            if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid());
            }
            Some((letter, num.parse().map_err(|_| invalid())?))
        }
    };
    Ok((release, pre))
}

fn compare_strict(a: &str, b: &str) -> Result<Ordering, Error> {
    let (ra, pa) = strict_key(a)?;
    let (rb, pb) = strict_key(b)?;
    Ok(ra.cmp(&rb).then_with(|| match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    }))
}

/// `version(version, operator='eq', strict=False, version_type=None)`.
pub(super) fn version(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let p = Params::bind(
        NAME,
        &["version", "operator", "strict", "version_type"],
        args,
        kwargs,
    )?;
    ensure_defined(state, value, NAME)?;
    let other = p
        .get("version")
        .ok_or_else(|| fail(NAME, "missing argument 'version'"))?;
    ensure_defined(state, other, NAME)?;
    let operator = p.string("operator", "eq")?;
    let version_type = p.get("version_type").filter(|v| !v.is_none());
    let strict = p.get("strict").filter(|v| !v.is_none());
    if strict.is_some() && version_type.is_some() {
        return Err(fail(
            NAME,
            "Cannot specify both 'strict' and 'version_type'",
        ));
    }
    let (a, b) = (py_str(value), py_str(other));
    if !value.is_true() {
        return Err(fail(NAME, "Input version value cannot be empty"));
    }
    if !other.is_true() {
        return Err(fail(
            NAME,
            "Version parameter to compare against cannot be empty",
        ));
    }
    let kind = match (strict, version_type) {
        (Some(flag), _) if flag.is_true() => "strict".to_string(),
        (_, Some(kind)) => py_str(kind),
        _ => "loose".to_string(),
    };
    let typed = |compare: fn(&str, &str) -> Result<Ordering, String>| {
        compare(&a, &b).map_err(|err| fail(NAME, format!("Version comparison failed: {err}")))
    };
    let ord = match kind.as_str() {
        "loose" => compare_loose(&a, &b)?,
        "strict" => compare_strict(&a, &b)?,
        "semver" | "semantic" => typed(version_types::compare_semantic)?,
        "pep440" => typed(version_types::compare_pep440)?,
        other => {
            return Err(fail(
                NAME,
                format!(
                    "Invalid version type ({other}). Must be one of 'loose', 'strict', 'semver', 'semantic', 'pep440'"
                ),
            ));
        }
    };
    Ok(match operator.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        other => {
            return Err(fail(
                NAME,
                format!(
                    "Invalid operator type ({other}). Must be one of <, <=, >, >=, ==, !=, lt, le, gt, ge, eq, ne"
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn loose_parts_split_like_distutils() {
        assert_eq!(
            loose_parts("1.0-RC1"),
            vec![
                Part::Num(1),
                Part::Num(0),
                Part::Text("-RC".into()),
                Part::Num(1)
            ]
        );
        assert_eq!(
            loose_parts("2.4b1"),
            vec![
                Part::Num(2),
                Part::Num(4),
                Part::Text("b".into()),
                Part::Num(1)
            ]
        );
    }

    #[test]
    fn loose_comparisons() {
        // LooseVersion compares numerically per component: 1.10 > 1.9.
        assert_eq!(eval("'1.10' is version('1.9', '>')", json!({})), "True");
        assert_eq!(eval("'1.10' is version('1.9', 'gt')", json!({})), "True");
        assert_eq!(eval("'1.2.3' is version('1.2.3', '==')", json!({})), "True");
        // [2, 0, 0] != [2]: a longer list with equal prefix is greater.
        assert_eq!(eval("'2.0.0' is version('2', '==')", json!({})), "False");
        assert_eq!(eval("'2.0.0' is version('2', '>')", json!({})), "True");
        assert_eq!(
            eval("'1.0' is version_compare('1.0.1', 'lt')", json!({})),
            "True"
        );
        assert_eq!(eval("v is version('7.2', '>=')", json!({"v": 7.3})), "True");
        assert_eq!(eval("'1.0' is version('1.0')", json!({})), "True");
        assert_eq!(eval("'1.0' is version('1.1', '<>')", json!({})), "True");
    }

    #[test]
    fn loose_mixed_types_fail_like_python3() {
        assert!(
            eval_err("'1.a' is version('1.1', '<')", json!({}))
                .contains("Version comparison failed")
        );
        assert!(eval_err("'1' is version('1', 'bogus')", json!({})).contains("Invalid operator"));
    }

    #[test]
    fn strict_versions() {
        // StrictVersion pads to three numbers and sorts pre-releases first.
        assert_eq!(
            eval("'1.0' is version('1.0.0', '==', strict=true)", json!({})),
            "True"
        );
        assert_eq!(
            eval(
                "'1.0a1' is version('1.0', '<', version_type='strict')",
                json!({})
            ),
            "True"
        );
        assert!(
            eval_err("'1.0.0.1' is version('1.0', strict=true)", json!({}))
                .contains("invalid version number")
        );
    }
}
