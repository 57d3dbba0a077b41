//! Control-node path tests: `file`, `directory`, `link`, `exists`,
//! `link_exists`, `abs`, `same_file` and `mount` (with `is_*` aliases).
//! Paths have `$VARS` and `~` expanded first, as Ansible does.

use std::path::Path;

use minijinja::{Environment, Error, State, Value};

use crate::pypath;
use crate::template::args::{ensure_defined, fail};
use crate::template::pyfmt::type_name;

/// A predicate on an expanded path.
type PathCheck = fn(&str) -> bool;

/// Registers the tests of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    let checks: [(&str, &str, PathCheck); 7] = [
        ("file", "is_file", |p| Path::new(p).is_file()),
        ("directory", "is_dir", |p| Path::new(p).is_dir()),
        ("link", "is_link", |p| Path::new(p).is_symlink()),
        ("exists", "exists", |p| Path::new(p).exists()),
        ("link_exists", "link_exists", |p| {
            Path::new(p).symlink_metadata().is_ok()
        }),
        ("abs", "is_abs", |p| p.starts_with('/')),
        ("mount", "is_mount", pypath::ismount),
    ];
    for (name, alias, check) in checks {
        for test in [name, alias] {
            env.add_test(test, move |s: &State, v: &Value| {
                Ok::<_, Error>(check(&expanded(s, v, name)?))
            });
        }
    }
    for test in ["same_file", "is_same_file"] {
        env.add_test(test, |s: &State, a: &Value, b: &Value| {
            Ok::<_, Error>(pypath::samefile(
                &expanded(s, a, "same_file")?,
                &expanded(s, b, "same_file")?,
            ))
        });
    }
}

/// The path string with environment variables and `~` expanded.
fn expanded(state: &State, value: &Value, name: &str) -> Result<String, Error> {
    ensure_defined(state, value, name)?;
    let path = value.as_str().ok_or_else(|| {
        fail(
            name,
            format!("expected a path string, got {}", type_name(value)),
        )
    })?;
    Ok(pypath::expanduser(&pypath::expandvars(path)))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn path_tests_check_the_control_node() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let ctx = json!({"d": dir.path(), "f": file, "l": link, "m": dir.path().join("missing")});
        let t = |expr: &str| eval(expr, ctx.clone());
        assert_eq!(t("d is directory"), "True");
        assert_eq!(t("f is file"), "True");
        assert_eq!(t("f is is_file"), "True");
        assert_eq!(t("d is file"), "False");
        assert_eq!(t("l is link"), "True");
        assert_eq!(t("f is link"), "False");
        assert_eq!(t("m is exists"), "False");
        assert_eq!(t("f is exists"), "True");
        assert_eq!(t("l is link_exists"), "True");
        assert_eq!(t("f is abs"), "True");
        assert_eq!(t("'rel/path' is abs"), "False");
        assert_eq!(t("f is same_file(l)"), "True");
        assert_eq!(t("'/' is mount"), "True");
        assert!(eval_err("1 is file", json!({})).contains("expected a path string"));
    }
}
