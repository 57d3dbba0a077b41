//! Regular expression filters with Python `re` semantics:
//! `regex_replace`, `regex_search`, `regex_findall` and `regex_escape`.

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, State, Value};

use crate::pyre::{self, Anchor, Flags, GroupRef, Replacement};
use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::py_str;

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", regex_escape);
}

/// The subject text of a regex filter: Python's `str()` of the value.
fn subject(state: &State, value: &Value, name: &str) -> Result<String, Error> {
    ensure_defined(state, value, name)?;
    Ok(py_str(value))
}

/// `regex_replace(pattern, replacement='', ignorecase=False, multiline=False,
/// count=0, mandatory_count=0)` with Python backreferences (`\1`, `\g<name>`).
fn regex_replace(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    const NAME: &str = "regex_replace";
    let p = Params::bind(
        NAME,
        &[
            "pattern",
            "replacement",
            "ignorecase",
            "multiline",
            "count",
            "mandatory_count",
        ],
        args,
        kwargs,
    )?;
    let text = subject(state, value, NAME)?;
    let pattern = p.string("pattern", "")?;
    let re = pyre::compile(&pattern, flags(&p), Anchor::Search).map_err(|e| fail(NAME, e))?;
    let replacement = Replacement::parse(&p.string("replacement", "")?, &re)
        .map_err(|e| fail(NAME, format!("{e} in replacement")))?;
    let limit = usize::try_from(p.int("count")?.unwrap_or(0)).unwrap_or(0);
    let (out, subs) = pyre::subn(&re, &text, &replacement, limit).map_err(|e| fail(NAME, e))?;
    let mandatory = p.int("mandatory_count")?.unwrap_or(0);
    if mandatory != 0 && usize::try_from(mandatory).ok() != Some(subs) {
        return Err(fail(
            NAME,
            format!(
                "'{pattern}' should match {mandatory} times, but matches {subs} times in '{text}'"
            ),
        ));
    }
    Ok(Value::from(out))
}

/// The `ignorecase` and `multiline` keyword arguments as compile flags.
fn flags(p: &Params) -> Flags {
    Flags {
        ignorecase: p.flag("ignorecase", false),
        multiline: p.flag("multiline", false),
        ..Flags::default()
    }
}

/// Parses a `regex_search` group argument: `'\\1'` or `'\\g<name>'`.
fn group_arg(arg: &Value) -> Result<GroupRef, Error> {
    let s = arg.as_str().unwrap_or_default();
    let parsed = if let Some(rest) = s.strip_prefix("\\g<") {
        rest.split_once('>').map(|(g, _)| pyre::parse_group_ref(g))
    } else if let Some(rest) = s.strip_prefix('\\') {
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok().map(GroupRef::Index)
    } else {
        None
    };
    parsed.ok_or_else(|| fail("regex_search", format!("Unknown argument {s:?}")))
}

/// `regex_search(regex, *groups, ignorecase=False, multiline=False)`: the
/// first match, or the listed groups of it; none when nothing matches.
fn regex_search(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    const NAME: &str = "regex_search";
    let p = Params::keywords(NAME, &["ignorecase", "multiline"], kwargs)?;
    let text = subject(state, value, NAME)?;
    let mut args = args.0.into_iter();
    let pattern = args
        .next()
        .ok_or_else(|| fail(NAME, "missing argument 'regex'"))?;
    let re =
        pyre::compile(&py_str(&pattern), flags(&p), Anchor::Search).map_err(|e| fail(NAME, e))?;
    let groups = args.map(|a| group_arg(&a)).collect::<Result<Vec<_>, _>>()?;
    for g in &groups {
        pyre::check_group(g, &re).map_err(|e| fail(NAME, e))?;
    }
    let Some(caps) = re.search(&text).map_err(|e| fail(NAME, e))? else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    Ok(Value::from_iter(groups.iter().map(|g| {
        pyre::group_text(&caps, g).map_or(Value::from(()), Value::from)
    })))
}

/// `regex_findall(regex, multiline=False, ignorecase=False)`: like Python's
/// `re.findall`, whole matches, the single group, or lists of all groups.
fn regex_findall(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    const NAME: &str = "regex_findall";
    let p = Params::bind(NAME, &["regex", "multiline", "ignorecase"], args, kwargs)?;
    let text = subject(state, value, NAME)?;
    let re = pyre::compile(&p.string("regex", "")?, flags(&p), Anchor::Search)
        .map_err(|e| fail(NAME, e))?;
    let group_count = re.captures_len() - 1;
    let text_of = |m: Option<fancy_regex::Match<'_>>| Value::from(m.map_or("", |m| m.as_str()));
    let matches = re.matches(&text).map_err(|e| fail(NAME, e))?;
    Ok(Value::from_iter(matches.iter().map(
        |caps| match group_count {
            0 => text_of(caps.get(0)),
            1 => text_of(caps.get(1)),
            n => Value::from_iter((1..=n).map(|i| text_of(caps.get(i)))),
        },
    )))
}

/// `regex_escape(re_type='python')`, also `posix_basic` and `posix_extended`.
fn regex_escape(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    const NAME: &str = "regex_escape";
    let p = Params::bind(NAME, &["re_type"], args, kwargs)?;
    let text = subject(state, value, NAME)?;
    let special: &str = match p.string("re_type", "python")?.as_str() {
        "python" => "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c",
        "posix_basic" => "].[^$*\\",
        "posix_extended" => "^$.*+?[]|(){}\\",
        other => return Err(fail(NAME, format!("Invalid regex type ({other})"))),
    };
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if special.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::from(out))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn regex_replace_translates_python_backrefs() {
        // Python re.sub: \1 and \g<name> refer to groups; '$' is literal.
        assert_eq!(
            eval(
                r#"'ansible.com'|regex_replace('^a.*i(.*)$', 'a\\1')"#,
                json!({})
            ),
            "able.com"
        );
        assert_eq!(
            eval(
                r#"'localhost:80'|regex_replace('^(?P<host>.+):(?P<port>\\d+)$', '\\g<host>, \\g<port>')"#,
                json!({})
            ),
            "localhost, 80"
        );
        assert_eq!(eval(r#"'a-b'|regex_replace('-', '$1')"#, json!({})), "a$1b");
        assert_eq!(
            eval("'aaa'|regex_replace('a', 'b', count=2)", json!({})),
            "bba"
        );
        assert_eq!(
            eval("'ABC'|regex_replace('b', 'x', ignorecase=true)", json!({})),
            "AxC"
        );
        assert_eq!(
            eval("'a\nb'|regex_replace('^', '# ', multiline=true)", json!({})),
            "# a\n# b"
        );
    }

    #[test]
    fn regex_replace_errors_are_clear() {
        assert!(eval_err("'a'|regex_replace('(', 'x')", json!({})).contains("regex_replace"));
        assert!(
            eval_err(r#"'a'|regex_replace('a', '\\2')"#, json!({}))
                .contains("invalid group reference")
        );
        assert!(
            eval_err("'aa'|regex_replace('a', 'b', mandatory_count=1)", json!({}))
                .contains("should match 1 times")
        );
    }

    #[test]
    fn regex_search_returns_match_or_groups() {
        assert_eq!(
            eval(
                "'server1/database42'|regex_search('database[0-9]+')",
                json!({})
            ),
            "database42"
        );
        assert_eq!(eval("'abc'|regex_search('x') is none", json!({})), "True");
        assert_eq!(
            eval(
                r#"'server1/database42'|regex_search('server([0-9]+)/database([0-9]+)', '\\1', '\\2')|tojson"#,
                json!({})
            ),
            r#"["1","42"]"#
        );
        assert_eq!(
            eval(
                r#"'a=1'|regex_search('(?P<k>\\w)=(?P<v>\\d)', '\\g<v>')|tojson"#,
                json!({})
            ),
            r#"["1"]"#
        );
        assert!(eval_err("'a'|regex_search('a', 'x')", json!({})).contains("Unknown argument"));
    }

    #[test]
    fn regex_findall_matches_python_shapes() {
        assert_eq!(
            eval(r#"'a1b22'|regex_findall('\\d+')|tojson"#, json!({})),
            r#"["1","22"]"#
        );
        assert_eq!(
            eval(r#"'k=v x=y'|regex_findall('(\\w)=\\w')|tojson"#, json!({})),
            r#"["k","x"]"#
        );
        assert_eq!(
            eval(
                r#"'k=v x=y'|regex_findall('(\\w)=(\\w)')|tojson"#,
                json!({})
            ),
            r#"[["k","v"],["x","y"]]"#
        );
    }

    #[test]
    fn regex_escape_matches_python() {
        assert_eq!(eval("'a.b*c d'|regex_escape", json!({})), r"a\.b\*c\ d");
        assert_eq!(
            eval("'^f.*o(.*)$'|regex_escape('posix_basic')", json!({})),
            r"\^f\.\*o(\.\*)\$"
        );
    }
}
