//! `vault` and `unvault`: encrypt a string with a password given in the template,
//! and decrypt vault text with one, as Ansible's `encryption` filters.

use minijinja::value::Kwargs;
use minijinja::{Environment, Error, Value};

use crate::template::args::fail;
use crate::vault::{Keyring, Secret, is_encrypted};

/// The vault id the filters use unless told otherwise.
const FILTER_DEFAULT: &str = "filter_default";

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("vault", vault);
    env.add_filter("unvault", unvault);
}

/// `data | vault(secret, salt=None, vault_id='filter_default', wrap_object=False)`;
/// with `wrap_object` the value is Ansible's `EncryptedString`: the plaintext as its
/// decryption gives it, tagged `VaultedValue` with the vault text.
fn vault(data: Value, secret: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (Some(data), Some(secret)) = (data.as_str(), secret.as_str()) else {
        return Err(fail(
            "vault",
            "Can only vault strings, with a string secret.",
        ));
    };
    let salt: Option<String> = kwargs.get("salt")?;
    let id: Option<String> = kwargs.get("vault_id")?;
    let wrap_object: Option<bool> = kwargs.get("wrap_object")?;
    kwargs.assert_all_used()?;
    let secret = Secret::new(id.unwrap_or_else(|| FILTER_DEFAULT.into()), secret);
    let text = match salt {
        Some(salt) => {
            crate::vault::keyring::encrypt_with_salt(data.as_bytes(), &secret, salt.as_bytes())
        }
        None => crate::vault::encrypt(data.as_bytes(), &secret),
    };
    let text = text.map_err(|_| fail("vault", "Unable to encrypt."))?;
    if wrap_object == Some(true) {
        let tags = crate::template::tags::Tags {
            vaulted: Some(text),
            ..Default::default()
        };
        return Ok(crate::template::tags::tagged(data, tags));
    }
    Ok(Value::from(text))
}

/// `vault_text | unvault(secret, vault_id='filter_default')`; text that is not vault
/// text (a value already decrypted) is returned as it is.
fn unvault(text: Value, secret: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (Some(text), Some(secret)) = (text.as_str(), secret.as_str()) else {
        return Err(fail(
            "unvault",
            "Vault should be in the form of a string, with a string secret.",
        ));
    };
    let id: Option<String> = kwargs.get("vault_id")?;
    kwargs.assert_all_used()?;
    if !is_encrypted(text.as_bytes()) {
        return Ok(Value::from(text));
    }
    let ring = Keyring::new(vec![Secret::new(
        id.unwrap_or_else(|| FILTER_DEFAULT.into()),
        secret,
    )]);
    ring.decrypt_str(text)
        .map(Value::from)
        .map_err(|_| fail("unvault", "Unable to decrypt."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(template: &str) -> Result<String, Error> {
        let mut env = Environment::new();
        register(&mut env);
        env.render_str(template, minijinja::context! {})
    }

    #[test]
    fn vault_then_unvault_round_trips() {
        let out = render("{{ 'hush' | vault('pw') | unvault('pw') }}").expect("renders");
        assert_eq!(out, "hush");
        let text = render("{{ 'hush' | vault('pw', salt='s') }}").expect("renders");
        assert!(
            text.starts_with("$ANSIBLE_VAULT;1.2;AES256;filter_default\n"),
            "{text}"
        );
    }

    #[test]
    fn a_wrapped_object_is_the_plaintext_tagged_with_its_vault_text() {
        let mut env = Environment::new();
        register(&mut env);
        let value = env
            .compile_expression("'hush' | vault('pw', wrap_object=True)")
            .and_then(|expr| expr.eval(minijinja::context! {}))
            .expect("evaluates");
        assert_eq!(value.as_str(), Some("hush"));
        let tags = crate::template::tags::tags_of(&value);
        let vaulted = tags.vaulted.expect("tagged VaultedValue");
        assert!(vaulted.starts_with("$ANSIBLE_VAULT;1.2;AES256;filter_default\n"));
    }

    #[test]
    fn a_wrong_secret_does_not_decrypt() {
        let err = render("{{ 'hush' | vault('pw') | unvault('other') }}").expect_err("fails");
        assert!(err.to_string().contains("Unable to decrypt"), "{err}");
        assert_eq!(
            render("{{ 'plain' | unvault('pw') }}").expect("as is"),
            "plain"
        );
    }
}
