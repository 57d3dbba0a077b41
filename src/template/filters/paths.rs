//! Path filters with Python `os.path` semantics: `basename`, `dirname`,
//! `expanduser`, `expandvars`, `realpath`, `normpath`, `splitext` and
//! `path_join`.

use minijinja::value::ValueKind;
use minijinja::{Environment, Error, State, Value};

use crate::pypath;
use crate::template::args::{ensure_defined, fail};
use crate::template::pyfmt::{is_sequence, type_name};

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("basename", |s: &State, v: &Value| {
        string_op(s, v, "basename", |p| pypath::basename(p).to_string())
    });
    env.add_filter("dirname", |s: &State, v: &Value| {
        string_op(s, v, "dirname", |p| pypath::dirname(p).to_string())
    });
    env.add_filter("expanduser", |s: &State, v: &Value| {
        string_op(s, v, "expanduser", pypath::expanduser)
    });
    env.add_filter("expandvars", |s: &State, v: &Value| {
        string_op(s, v, "expandvars", pypath::expandvars)
    });
    env.add_filter("realpath", |s: &State, v: &Value| {
        string_op(s, v, "realpath", pypath::realpath)
    });
    env.add_filter("normpath", |s: &State, v: &Value| {
        string_op(s, v, "normpath", pypath::normpath)
    });
    env.add_filter("splitext", splitext);
    env.add_filter("path_join", path_join);
    env.add_filter("fileglob", fileglob);
}

/// `fileglob`: the regular files a pattern names on the control node, as Ansible's
/// filter (`glob.glob`, files only).
fn fileglob(state: &State, value: &Value) -> Result<Value, Error> {
    let pattern = path_str(state, value, "fileglob")?;
    let files = crate::glob::paths(pattern)
        .into_iter()
        .filter(|path| std::path::Path::new(path).is_file())
        .map(Value::from);
    Ok(Value::from(files.collect::<Vec<_>>()))
}

/// Requires a string value and returns it.
fn path_str<'a>(state: &State, value: &'a Value, name: &str) -> Result<&'a str, Error> {
    ensure_defined(state, value, name)?;
    value.as_str().ok_or_else(|| {
        fail(
            name,
            format!("expected a path string, got {}", type_name(value)),
        )
    })
}

/// Applies a string-to-string path operation.
fn string_op(
    state: &State,
    value: &Value,
    name: &str,
    op: impl Fn(&str) -> String,
) -> Result<Value, Error> {
    Ok(Value::from(op(path_str(state, value, name)?)))
}

/// `splitext`: `[root, ext]`, like Python's `os.path.splitext`.
fn splitext(state: &State, value: &Value) -> Result<Value, Error> {
    let (root, ext) = pypath::splitext(path_str(state, value, "splitext")?);
    Ok(Value::from(vec![Value::from(root), Value::from(ext)]))
}

/// `path_join`: Python's `os.path.join` over a list (or a single string).
fn path_join(state: &State, value: &Value) -> Result<Value, Error> {
    ensure_defined(state, value, "path_join")?;
    if value.kind() == ValueKind::String {
        return Ok(value.clone());
    }
    if !is_sequence(value) {
        return Err(fail(
            "path_join",
            format!(
                "expects string or sequence, got {} instead.",
                type_name(value)
            ),
        ));
    }
    let parts: Vec<Value> = value.try_iter()?.collect();
    if parts.is_empty() {
        return Err(fail("path_join", "expects at least one path component"));
    }
    let strs = parts
        .iter()
        .map(|p| path_str(state, p, "path_join"))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::from(pypath::join(strs)))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    /// The files a pattern names, directories left out, sorted.
    #[test]
    fn fileglob_gives_the_files_a_pattern_names() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        for name in ["b.txt", "a.txt", "sub.txt/inner"] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
            std::fs::write(path, "").expect("a file");
        }
        let root = dir.path().display().to_string();
        let found = eval(
            "(root ~ '/*.txt') | fileglob | map('basename') | join(',')",
            json!({"root": root}),
        );
        assert_eq!(found, "a.txt,b.txt");
    }

    #[test]
    fn basename_dirname() {
        assert_eq!(eval("'/etc/asdf/foo.txt'|basename", json!({})), "foo.txt");
        assert_eq!(eval("'/etc/asdf/foo.txt'|dirname", json!({})), "/etc/asdf");
        assert!(eval_err("1|basename", json!({})).contains("expected a path string"));
    }

    #[test]
    fn splitext_returns_root_and_ext() {
        assert_eq!(
            eval("'nginx.conf.j2'|splitext|tojson", json!({})),
            r#"["nginx.conf",".j2"]"#
        );
        assert_eq!(eval("'.profile'|splitext|last", json!({})), "");
    }

    #[test]
    fn path_join_uses_python_rules() {
        // os.path.join: an absolute component restarts the path.
        assert_eq!(
            eval("['/etc', 'apt', 'sources.list']|path_join", json!({})),
            "/etc/apt/sources.list"
        );
        assert_eq!(eval("['a', '/b', 'c']|path_join", json!({})), "/b/c");
        assert_eq!(eval("'x'|path_join", json!({})), "x");
    }

    #[test]
    fn expanduser_uses_home() {
        let home = std::env::var("HOME").unwrap_or_default();
        if !home.is_empty() && home != "/" {
            assert_eq!(
                eval("'~/x'|expanduser", json!({})),
                format!("{}/x", home.trim_end_matches('/'))
            );
        }
        assert_eq!(eval("'/a/./b/../c'|normpath", json!({})), "/a/c");
        assert_eq!(eval("'/'|realpath", json!({})), "/");
    }
}
