//! Ansible Vault: encrypted files and values, read and written byte-compatibly with
//! ansible-vault. [`envelope`] is the text format, [`aes256`] the cipher, [`keyring`]
//! the passwords of a run and how one is chosen, [`sources`] where passwords come
//! from (files, scripts, prompts).

pub mod aes256;
pub mod cli;
mod edit;
pub mod envelope;
mod error;
pub mod files;
pub mod keyring;
pub mod sources;

pub use envelope::is_encrypted;
pub use error::VaultError;
pub use keyring::{Keyring, Secret, encrypt, install, keyring};

#[cfg(test)]
mod tests {
    use super::keyring::encrypt_with_salt;
    use super::*;

    /// `printf 'hello vault\n' | ansible-vault encrypt --vault-password-file pw`
    /// with `bosun-test` in `pw` (ansible-core 2.19.14).
    const ANSIBLE_1_1: &str = "$ANSIBLE_VAULT;1.1;AES256
63313035306264633233643036656330373461393261663135646565663666323566366535616332
6665383062646232303935393365346363646634656664340a643665313035303338643862616232
30646261336430643464643465353233303139386462616533616130353464343132376366373339
3636653937613565320a653233626639333130316536616231326237303432616537393137393432
6433
";

    /// The same with `--vault-id prod@pw` and
    /// `ANSIBLE_VAULT_ENCRYPT_SALT=0123456789abcdef0123456789abcdef`.
    const ANSIBLE_1_2_SALTED: &str = "$ANSIBLE_VAULT;1.2;AES256;prod
33303331333233333334333533363337333833393631363236333634363536363330333133323333
3334333533363337333833393631363236333634363536360a333036646462323436323437623436
37656366623331313635376230323263626664363931326635316566633066323563623333336534
3337376562616630340a326139666231623436373266346131383364656539346663373335626463
3862
";

    #[test]
    fn decrypts_what_ansible_vault_wrote() {
        let ring = Keyring::new(vec![Secret::new("default", "bosun-test")]);
        let (plain, id) = ring.decrypt(ANSIBLE_1_1).expect("decrypts 1.1");
        assert_eq!(plain, b"hello vault\n");
        assert_eq!(id, "default");
        let (plain, _) = ring.decrypt(ANSIBLE_1_2_SALTED).expect("decrypts 1.2");
        assert_eq!(plain, b"hello vault\n");
    }

    #[test]
    fn encrypts_byte_for_byte_as_ansible_vault_with_the_same_salt() {
        let secret = Secret::new("prod", "bosun-test");
        let text = encrypt_with_salt(
            b"hello vault\n",
            &secret,
            b"0123456789abcdef0123456789abcdef",
        )
        .expect("encrypts");
        assert_eq!(text, ANSIBLE_1_2_SALTED);
    }

    #[test]
    fn tries_the_matching_id_first_then_the_others() {
        let ring = Keyring::new(vec![
            Secret::new("dev", "wrong"),
            Secret::new("default", "bosun-test"),
        ]);
        assert_eq!(
            ring.decrypt(ANSIBLE_1_2_SALTED).expect("falls back").1,
            "default"
        );
        let ring = Keyring::new(vec![
            Secret::new("default", "nope"),
            Secret::new("prod", "bosun-test"),
        ]);
        assert_eq!(ring.decrypt(ANSIBLE_1_2_SALTED).expect("prod").1, "prod");
    }

    #[test]
    fn vault_id_match_tries_only_the_named_id() {
        let ring = Keyring::new(vec![
            Secret::new("default", "bosun-test"),
            Secret::new("prod", "wrong"),
        ])
        .matching_ids(true);
        assert_eq!(
            ring.decrypt(ANSIBLE_1_2_SALTED),
            Err(VaultError::WrongPassword),
            "the right password under another id is not tried"
        );
        let ring = Keyring::new(vec![Secret::new("default", "bosun-test")]).matching_ids(true);
        assert!(
            ring.decrypt(ANSIBLE_1_1).is_err(),
            "a 1.1 vault names no id"
        );
        let ring = Keyring::new(vec![Secret::new("prod", "bosun-test")]).matching_ids(true);
        assert_eq!(ring.decrypt(ANSIBLE_1_2_SALTED).expect("prod").1, "prod");
    }

    #[test]
    fn says_which_way_decryption_failed() {
        assert_eq!(
            Keyring::default().decrypt(ANSIBLE_1_1),
            Err(VaultError::NoPassword)
        );
        let ring = Keyring::new(vec![Secret::new("default", "wrong")]);
        assert_eq!(ring.decrypt(ANSIBLE_1_1), Err(VaultError::WrongPassword));
        let ring = Keyring::new(vec![Secret::new("default", "bosun-test")]);
        let broken = ANSIBLE_1_1.replace("6433", "64zz");
        assert!(matches!(ring.decrypt(&broken), Err(VaultError::Corrupt(_))));
        let other = ANSIBLE_1_1.replace("AES256", "AES");
        assert_eq!(
            ring.decrypt(&other),
            Err(VaultError::UnknownCipher("AES".into()))
        );
        assert_eq!(ring.decrypt("plain"), Err(VaultError::NotEncrypted));
    }

    #[test]
    fn encrypting_picks_the_asked_id_or_the_first() {
        let ring = Keyring::new(vec![Secret::new("a", "1"), Secret::new("b", "2")]);
        assert_eq!(ring.encrypting(None).expect("first").id, "a");
        assert_eq!(ring.encrypting(Some("b")).expect("b").id, "b");
        assert!(matches!(
            ring.encrypting(Some("c")),
            Err(VaultError::NoEncryptId { .. })
        ));
        let text = encrypt(b"x", &Secret::new("default", "1")).expect("encrypts");
        assert!(text.starts_with("$ANSIBLE_VAULT;1.1;AES256\n"));
        assert_eq!(
            encrypt(text.as_bytes(), &Secret::new("default", "1")),
            Err(VaultError::AlreadyEncrypted)
        );
    }
}
