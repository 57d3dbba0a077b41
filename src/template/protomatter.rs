//! The `ansible._protomatter` filters and tests Ansible's own tests use to look at
//! data tags (see `tags.rs`), and the vault tests `vault_encrypted` and
//! `vaulted_file`.

use minijinja::{Environment, Error, ErrorKind, State, Value};

use super::args::ensure_defined;
use super::tags::{KNOWN_TAGS, Tags, tagged, tags_of};

/// Adds the filters and tests of this module to `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("ansible._protomatter.tagged_with", tagged_with);
    env.add_test("ansible._protomatter.tagged", |value: &Value| {
        !tags_of(value).names().is_empty()
    });
    env.add_filter("ansible._protomatter.tag_names", |value: &Value| {
        tags_of(value)
            .names()
            .into_iter()
            .map(Value::from)
            .collect::<Vec<_>>()
    });
    env.add_filter("ansible._protomatter.origin", |value: &Value| {
        tags_of(value).origin.map_or(Value::from(()), Value::from)
    });
    env.add_filter("ansible._protomatter.finalize", finalize);
    env.add_filter(
        "ansible._protomatter.apply_trust",
        |value: Value| match value.as_str() {
            Some(text) => {
                let tags = Tags {
                    trusted: true,
                    ..tags_of(&value)
                };
                tagged(text, tags)
            }
            None => value,
        },
    );
    env.add_test("vault_encrypted", vault_encrypted);
    env.add_test("vaulted_file", vaulted_file);
}

/// `tagged_with(name)`: whether `value` carries the tag type `name`.
fn tagged_with(value: &Value, name: &str) -> Result<bool, Error> {
    if !KNOWN_TAGS.contains(&name) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("Unknown tag name '{name}'."),
        ));
    }
    Ok(tags_of(value).names().contains(&name))
}

/// `finalize`: a value as a template's result is finalized; bosun's values are
/// always final but for undefined, which fails.
fn finalize(state: &State, value: Value) -> Result<Value, Error> {
    ensure_defined(state, &value, "finalize")?;
    Ok(value)
}

/// `vault_encrypted`: whether `value` is one vault-encrypted value (decrypted, it
/// still knows its vault text).
fn vault_encrypted(state: &State, value: &Value) -> Result<bool, Error> {
    ensure_defined(state, value, "vault_encrypted")?;
    Ok(tags_of(value)
        .vaulted
        .is_some_and(|vault| crate::vault::is_encrypted(vault.as_bytes())))
}

/// `vaulted_file`: whether the file at the path `value` is a vault.
fn vaulted_file(value: &Value) -> Result<bool, Error> {
    let path = super::pyfmt::py_str(value);
    let cannot = || {
        Error::new(
            ErrorKind::InvalidOperation,
            format!(
                "Cannot test if the file {} is a vault.",
                super::pyfmt::py_repr(value)
            ),
        )
    };
    let mut header = [0u8; crate::vault::envelope::HEADER.len()];
    let mut file = std::fs::File::open(&path).map_err(|_| cannot())?;
    let read = std::io::Read::read(&mut file, &mut header).map_err(|_| cannot())?;
    Ok(crate::vault::is_encrypted(&header[..read]))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn untagged_values_have_no_tags() {
        assert_eq!(
            eval(
                "'x' is ansible._protomatter.tagged_with('TrustedAsTemplate')",
                json!({})
            ),
            "False"
        );
        assert_eq!(
            eval(
                "'x' | ansible._protomatter.apply_trust is ansible._protomatter.tagged_with('TrustedAsTemplate')",
                json!({})
            ),
            "True"
        );
        assert_eq!(
            eval("'x' | ansible._protomatter.tag_names", json!({})),
            "[]"
        );
        assert_eq!(
            eval("[1] | ansible._protomatter.finalize", json!({})),
            "[1]"
        );
        assert!(
            eval_err("1 is ansible._protomatter.tagged_with('Nope')", json!({}))
                .contains("Unknown tag name 'Nope'.")
        );
        assert_eq!(eval("'x' is vault_encrypted", json!({})), "False");
    }

    #[test]
    fn vaulted_files_are_told_by_their_header() {
        let dir = tempfile::tempdir().expect("tempdir");
        let vault = dir.path().join("v");
        std::fs::write(&vault, "$ANSIBLE_VAULT;1.1;AES256\n00\n").expect("write");
        let plain = dir.path().join("p");
        std::fs::write(&plain, "x").expect("write");
        let ctx = json!({"v": vault, "p": plain, "m": dir.path().join("missing")});
        assert_eq!(eval("v is vaulted_file", ctx.clone()), "True");
        assert_eq!(eval("p is vaulted_file", ctx.clone()), "False");
        assert!(eval_err("m is vaulted_file", ctx).contains("Cannot test if the file"));
    }
}
