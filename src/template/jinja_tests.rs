//! Ansible's Jinja tests: task results, regular expressions, versions,
//! control-node paths, set relations and truthiness.

mod files;
mod version;
mod version_types;

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};

use super::args::{Params, ensure_defined, fail};
use super::pyfmt::{is_sequence, iter_items, py_str};
use crate::pyre::{self, Anchor, Flags};

/// Adds every Ansible test to `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    for name in ["failed", "failure"] {
        env.add_test(name, |v: &Value| result_flag(v, "failed", "failed"));
    }
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |v: &Value| {
            result_flag(v, "failed", "succeeded").map(|f| !f)
        });
    }
    env.add_test("unreachable", |v: &Value| {
        result_flag(v, "unreachable", "unreachable")
    });
    env.add_test("reachable", |v: &Value| {
        result_flag(v, "unreachable", "reachable").map(|f| !f)
    });
    for name in ["skipped", "skip"] {
        env.add_test(name, |v: &Value| result_flag(v, "skipped", "skipped"));
    }
    for name in ["changed", "change"] {
        env.add_test(name, changed);
    }
    env.add_test("timedout", timedout);
    for name in ["nan", "isnan"] {
        env.add_test(name, |v: &Value| {
            v.kind() == ValueKind::Number && f64::try_from(v.clone()).is_ok_and(f64::is_nan)
        });
    }
    env.add_test("uri", |v: &Value, schemes: Option<Value>| {
        is_uri(v, schemes.as_ref())
    });
    env.add_test("url", |v: &Value, schemes: Option<Value>| {
        is_uri(v, schemes.as_ref()) && {
            let parts = super::filters_urls_split(&py_str_of(v));
            parts["netloc"] != "" || parts["scheme"] == "file"
        }
    });
    env.add_test("urn", |v: &Value| {
        is_uri(v, Some(&Value::from(vec![Value::from("urn")])))
    });
    env.add_test("finished", |v: &Value| async_flag(v, "finished"));
    env.add_test("started", |v: &Value| async_flag(v, "started"));
    env.add_test(
        "match",
        |s: &State, v: &Value, a: Rest<Value>, k: Kwargs| {
            regex_test(s, v, a, k, "match", Anchor::Start)
        },
    );
    env.add_test(
        "search",
        |s: &State, v: &Value, a: Rest<Value>, k: Kwargs| {
            regex_test(s, v, a, k, "search", Anchor::Search)
        },
    );
    env.add_test("regex", regex);
    env.add_test("version", version::version);
    env.add_test("version_compare", version::version);
    files::register(env);
    for name in ["subset", "issubset"] {
        env.add_test(name, |s: &State, a: &Value, b: &Value| {
            subset(s, a, b, "subset")
        });
    }
    for name in ["superset", "issuperset"] {
        env.add_test(name, |s: &State, a: &Value, b: &Value| {
            subset(s, b, a, "superset")
        });
    }
    env.add_test("contains", contains);
    env.add_test("any", |s: &State, v: &Value| {
        Ok::<_, Error>(items(s, v, "any")?.iter().any(Value::is_true))
    });
    env.add_test("all", |s: &State, v: &Value| {
        Ok::<_, Error>(items(s, v, "all")?.iter().all(Value::is_true))
    });
    env.add_test(
        "truthy",
        |s: &State, v: &Value, a: Rest<Value>, k: Kwargs| truthy(s, v, a, k, "truthy"),
    );
    env.add_test(
        "falsy",
        |s: &State, v: &Value, a: Rest<Value>, k: Kwargs| truthy(s, v, a, k, "falsy").map(|t| !t),
    );
}

/// Requires a registered task result (a dict) for the named test.
fn task_result<'a>(value: &'a Value, test: &str) -> Result<&'a Value, Error> {
    if value.kind() == ValueKind::Map {
        Ok(value)
    } else {
        Err(fail(
            test,
            format!("The '{test}' test expects a dictionary"),
        ))
    }
}

/// Looks up `key` in a result dict; missing keys are false.
fn key_flag(result: &Value, key: &str) -> bool {
    result.get_attr(key).is_ok_and(|v| v.is_true())
}

fn result_flag(value: &Value, key: &str, test: &str) -> Result<bool, Error> {
    Ok(key_flag(task_result(value, test)?, key))
}

/// `changed`: the 'changed' key, or for loop results without one, whether
/// any item of 'results' changed.
fn changed(value: &Value) -> Result<bool, Error> {
    let result = task_result(value, "changed")?;
    let own = result.get_attr("changed").unwrap_or_default();
    if !own.is_undefined() {
        return Ok(own.is_true());
    }
    let results = result.get_attr("results").unwrap_or_default();
    if !is_sequence(&results) {
        return Ok(false);
    }
    Ok(results
        .try_iter()?
        .any(|item| item.kind() == ValueKind::Map && key_flag(&item, "changed")))
}

/// `finished` / `started`: async status flags (1 means yes); results of
/// tasks that were not async count as finished and started.
fn async_flag(value: &Value, key: &str) -> Result<bool, Error> {
    let result = task_result(value, key)?;
    let flag = result.get_attr(key).unwrap_or_default();
    if flag.is_undefined() {
        return Ok(true);
    }
    Ok(flag.as_i64() == Some(1))
}

/// Shared body of `match`, `search` and `regex`.
fn regex_test(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
    name: &'static str,
    anchor: Anchor,
) -> Result<bool, Error> {
    let p = Params::bind(name, &["pattern", "ignorecase", "multiline"], args, kwargs)?;
    ensure_defined(state, value, name)?;
    let flags = Flags {
        ignorecase: p.flag("ignorecase", false),
        multiline: p.flag("multiline", false),
        ..Flags::default()
    };
    let re = pyre::compile(&p.string("pattern", "")?, flags, anchor).map_err(|e| fail(name, e))?;
    re.is_match(&py_str(value)).map_err(|e| fail(name, e))
}

/// `regex(pattern, ignorecase=False, multiline=False, match_type='search')`.
fn regex(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<bool, Error> {
    let p = Params::bind(
        "regex",
        &["pattern", "ignorecase", "multiline", "match_type"],
        args,
        kwargs,
    )?;
    ensure_defined(state, value, "regex")?;
    let anchor = match p.string("match_type", "search")?.as_str() {
        "search" => Anchor::Search,
        "match" => Anchor::Start,
        "fullmatch" => Anchor::Full,
        other => return Err(fail("regex", format!("unsupported match_type '{other}'"))),
    };
    let flags = Flags {
        ignorecase: p.flag("ignorecase", false),
        multiline: p.flag("multiline", false),
        ..Flags::default()
    };
    let re =
        pyre::compile(&p.string("pattern", "")?, flags, anchor).map_err(|e| fail("regex", e))?;
    re.is_match(&py_str(value)).map_err(|e| fail("regex", e))
}

fn items(state: &State, value: &Value, name: &str) -> Result<Vec<Value>, Error> {
    ensure_defined(state, value, name)?;
    iter_items(value, name)
}

/// `a is subset(b)`: every item of `a` is in `b`.
fn subset(state: &State, a: &Value, b: &Value, name: &str) -> Result<bool, Error> {
    let (xs, ys) = (items(state, a, name)?, items(state, b, name)?);
    Ok(xs.iter().all(|x| ys.contains(x)))
}

/// `seq is contains(value)`: membership, like Python's `value in seq`.
fn contains(state: &State, seq: &Value, item: &Value) -> Result<bool, Error> {
    ensure_defined(state, seq, "contains")?;
    if let (Some(hay), Some(needle)) = (seq.as_str(), item.as_str()) {
        return Ok(hay.contains(needle));
    }
    Ok(items(state, seq, "contains")?.contains(item))
}

/// Module_utils' `boolean()` conversion used by `truthy(convert_bool=True)`.
fn boolean_like(value: &Value) -> Option<bool> {
    match value.kind() {
        ValueKind::Bool => Some(value.is_true()),
        ValueKind::String => match value.as_str()?.trim().to_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" => Some(false),
            _ => None,
        },
        ValueKind::Number => match f64::try_from(value.clone()).ok()? {
            1.0 => Some(true),
            0.0 => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `truthy(convert_bool=False)`: Python truthiness, optionally after
/// converting boolean-like strings ('no', 'off', 'false', ...).
fn truthy(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
    name: &'static str,
) -> Result<bool, Error> {
    let p = Params::bind(name, &["convert_bool"], args, kwargs)?;
    ensure_defined(state, value, name)?;
    if p.flag("convert_bool", false)
        && let Some(b) = boolean_like(value)
    {
        return Ok(b);
    }
    Ok(value.is_true())
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn task_result_tests() {
        let ctx = json!({
            "ok": {"changed": false, "failed": false},
            "bad": {"failed": true, "changed": true},
            "loop": {"results": [{"changed": false}, {"changed": true}]},
            "skip": {"skipped": true},
            "down": {"unreachable": true},
        });
        let t = |expr: &str| eval(expr, ctx.clone());
        assert_eq!(t("ok is succeeded"), "True");
        assert_eq!(t("ok is success"), "True");
        assert_eq!(t("ok is failed"), "False");
        assert_eq!(t("bad is failed"), "True");
        assert_eq!(t("bad is changed"), "True");
        // Ansible: without a 'changed' key, any changed loop item counts.
        assert_eq!(t("loop is changed"), "True");
        assert_eq!(t("ok is changed"), "False");
        assert_eq!(t("skip is skipped"), "True");
        assert_eq!(t("ok is skipped"), "False");
        assert_eq!(t("down is unreachable"), "True");
        assert_eq!(t("ok is reachable"), "True");
        assert_eq!(t("ok is finished"), "True");
        assert!(eval_err("'x' is failed", json!({})).contains("expects a dictionary"));
    }

    #[test]
    fn match_is_anchored_search_is_not() {
        // Python re.match anchors at the start only; re.search anywhere.
        assert_eq!(eval("'foobar' is match('foo')", json!({})), "True");
        assert_eq!(eval("'foobar' is match('bar')", json!({})), "False");
        assert_eq!(eval("'foobar' is match('f.*r$')", json!({})), "True");
        assert_eq!(eval("'foobar' is search('bar')", json!({})), "True");
        assert_eq!(
            eval("'FOO' is search('foo', ignorecase=true)", json!({})),
            "True"
        );
        assert_eq!(
            eval("'a\nfoo' is search('^foo', multiline=true)", json!({})),
            "True"
        );
        assert_eq!(eval("'a\nfoo' is search('^foo')", json!({})), "False");
        assert_eq!(eval("'foobar' is regex('o+b')", json!({})), "True");
        assert_eq!(
            eval("'foobar' is regex('oob', match_type='match')", json!({})),
            "False"
        );
        assert_eq!(
            eval("'foo' is regex('fo', match_type='fullmatch')", json!({})),
            "False"
        );
    }

    #[test]
    fn set_relation_tests() {
        assert_eq!(eval("[1, 2] is subset([1, 2, 3])", json!({})), "True");
        assert_eq!(eval("[1, 4] is subset([1, 2, 3])", json!({})), "False");
        assert_eq!(eval("[1, 2, 3] is superset([3, 1])", json!({})), "True");
        assert_eq!(eval("[1, 2] is contains(2)", json!({})), "True");
        assert_eq!(eval("'abc' is contains('bc')", json!({})), "True");
        assert_eq!(eval("[0, 1] is any", json!({})), "True");
        assert_eq!(eval("[0, 1] is all", json!({})), "False");
        assert_eq!(eval("[] is all", json!({})), "True");
    }

    #[test]
    fn truthiness_tests() {
        // truthy uses Python truth; convert_bool maps 'no'/'off'/... first.
        assert_eq!(eval("'no' is truthy", json!({})), "True");
        assert_eq!(
            eval("'no' is truthy(convert_bool=true)", json!({})),
            "False"
        );
        assert_eq!(eval("'' is falsy", json!({})), "True");
        assert_eq!(eval("'off' is falsy(convert_bool=true)", json!({})), "True");
        assert!(eval_err("missing is truthy", json!({})).contains("undefined"));
    }
}

/// `timedout`: the result says the task timed out after a period.
fn timedout(value: &Value) -> Result<bool, Error> {
    if value.kind() != ValueKind::Map {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "The 'timedout' test expects a dictionary",
        ));
    }
    let timedout = value.get_attr("timedout").unwrap_or_default();
    Ok(timedout.is_true()
        && timedout
            .get_attr("period")
            .is_ok_and(|period| period.is_true()))
}

fn py_str_of(value: &Value) -> String {
    py_str(value)
}

/// Ansible's `uri` test: Python's urlparse accepts nearly anything; with `schemes`,
/// the scheme must be one of them.
fn is_uri(value: &Value, schemes: Option<&Value>) -> bool {
    if value.as_str().is_none() {
        return false;
    }
    let parts = super::filters_urls_split(&py_str_of(value));
    match schemes.filter(|s| s.is_true()) {
        None => true,
        Some(schemes) => schemes
            .try_iter()
            .map(|mut items| items.any(|s| s.as_str() == parts["scheme"].as_str()))
            .unwrap_or(false),
    }
}

#[cfg(test)]
mod url_tests {
    use crate::template::test_support::eval;
    use serde_json::json;

    #[test]
    fn timedout_nan_and_uri_tests() {
        let ctx = json!({"r": {"timedout": {"period": 5}}, "s": {"failed": true}, "n": f64::NAN});
        assert_eq!(eval("r is timedout", ctx.clone()), "True");
        assert_eq!(eval("s is timedout", ctx.clone()), "False");
        assert_eq!(eval("(0.0/1) is nan", ctx.clone()), "False");
        assert_eq!(eval("'https://x/y' is url", ctx.clone()), "True");
        assert_eq!(eval("'file:///etc' is url", ctx.clone()), "True");
        assert_eq!(eval("'/just/a/path' is url", ctx.clone()), "False");
        assert_eq!(eval("'/just/a/path' is uri", ctx.clone()), "True");
        assert_eq!(eval("'urn:isbn:0451450523' is urn", ctx.clone()), "True");
        assert_eq!(eval("'https://x' is urn", ctx.clone()), "False");
        assert_eq!(eval("'ftp://x' is uri(['http', 'https'])", ctx), "False");
    }
}
