//! The vault passwords of a run, by vault id, and the rules Ansible uses to pick one:
//! to decrypt, the passwords whose id matches the envelope's come first, then the
//! others in the order given; to encrypt, `--encrypt-vault-id` or the first password.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use super::VaultError;
use super::aes256;
use super::envelope::{Envelope, is_encrypted};

/// The id of a password given without a label.
pub const DEFAULT_ID: &str = "default";

/// One password and the vault id it was given for.
#[derive(Clone)]
pub struct Secret {
    /// The vault id (`default` without a label).
    pub id: String,
    /// The password's bytes.
    password: Vec<u8>,
}

impl Secret {
    /// A password for vault id `id`.
    pub fn new(id: impl Into<String>, password: impl Into<Vec<u8>>) -> Secret {
        Secret {
            id: id.into(),
            password: password.into(),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({})", self.id)
    }
}

/// The passwords of a run.
#[derive(Debug, Default)]
pub struct Keyring {
    secrets: Vec<Secret>,
    /// Plaintexts already decrypted, by payload, so a value used on every host costs
    /// one key derivation.
    decrypted: Mutex<HashMap<String, Vec<u8>>>,
    /// `vault_id_match`: only the password whose id the vault names is tried (a 1.1
    /// vault names none, so none is).
    ids_must_match: bool,
}

impl Keyring {
    /// A keyring holding `secrets`, tried in this order.
    pub fn new(secrets: Vec<Secret>) -> Keyring {
        Keyring {
            secrets,
            decrypted: Mutex::new(HashMap::new()),
            ids_must_match: false,
        }
    }

    /// This keyring, trying only the password whose id a vault names when `must`
    /// (Ansible's `vault_id_match`).
    pub fn matching_ids(mut self, must: bool) -> Keyring {
        self.ids_must_match = must;
        self
    }

    /// Whether no password was given.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The vault ids known, in order.
    pub fn ids(&self) -> Vec<String> {
        self.secrets.iter().map(|s| s.id.clone()).collect()
    }

    /// Decrypts vault text; returns the plaintext and the id of the password that
    /// opened it.
    pub fn decrypt(&self, text: &str) -> Result<(Vec<u8>, String), VaultError> {
        if !is_encrypted(text.as_bytes()) {
            return Err(VaultError::NotEncrypted);
        }
        let envelope = Envelope::parse(text)?;
        if envelope.cipher != "AES256" {
            return Err(VaultError::UnknownCipher(envelope.cipher));
        }
        if self.secrets.is_empty() {
            return Err(VaultError::NoPassword);
        }
        let wanted = match (&envelope.vault_id, self.ids_must_match) {
            (Some(id), _) => Some(id.as_str()),
            (None, true) => None,
            (None, false) => Some(DEFAULT_ID),
        };
        let matching = self
            .secrets
            .iter()
            .filter(|s| Some(s.id.as_str()) == wanted);
        let others = self
            .secrets
            .iter()
            .filter(|s| !self.ids_must_match && Some(s.id.as_str()) != wanted);
        for secret in matching.chain(others) {
            let key = format!("{}\0{}", secret.id, envelope.payload);
            if let Some(plain) = self
                .decrypted
                .lock()
                .ok()
                .and_then(|c| c.get(&key).cloned())
            {
                return Ok((plain, secret.id.clone()));
            }
            match aes256::decrypt(&envelope.payload, &secret.password) {
                Ok(plain) => {
                    if let Ok(mut cache) = self.decrypted.lock() {
                        cache.insert(key, plain.clone());
                    }
                    return Ok((plain, secret.id.clone()));
                }
                Err(VaultError::HmacMismatch) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(VaultError::WrongPassword)
    }

    /// Decrypts vault text that must be UTF-8 (a variable's value).
    pub fn decrypt_str(&self, text: &str) -> Result<String, VaultError> {
        let (plain, _) = self.decrypt(text)?;
        String::from_utf8(plain)
            .map_err(|_| VaultError::Corrupt("the decrypted value is not UTF-8 text".into()))
    }

    /// The password to encrypt with: the one for `encrypt_id`, or the first.
    pub fn encrypting(&self, encrypt_id: Option<&str>) -> Result<&Secret, VaultError> {
        match encrypt_id {
            Some(wanted) => self.secrets.iter().find(|s| s.id == wanted).ok_or_else(|| {
                VaultError::NoEncryptId {
                    wanted: wanted.to_string(),
                    known: self.ids(),
                }
            }),
            None => self.secrets.first().ok_or(VaultError::NoPassword),
        }
    }
}

/// Encrypts `plaintext` with `secret` and a fresh random salt, as ansible-vault does;
/// the envelope carries the secret's id (1.2) unless it is `default` (1.1).
pub fn encrypt(plaintext: &[u8], secret: &Secret) -> Result<String, VaultError> {
    let mut salt = [0u8; aes256::SALT_LEN];
    getrandom::getrandom(&mut salt)
        .map_err(|e| VaultError::Source(format!("cannot get random bytes for the salt: {e}")))?;
    encrypt_with_salt(plaintext, secret, &salt)
}

/// Encrypts with a given salt (tests compare with ansible-vault's output).
pub fn encrypt_with_salt(
    plaintext: &[u8],
    secret: &Secret,
    salt: &[u8],
) -> Result<String, VaultError> {
    if is_encrypted(plaintext) {
        return Err(VaultError::AlreadyEncrypted);
    }
    Ok(Envelope {
        version: "1.1".into(),
        cipher: "AES256".into(),
        vault_id: Some(secret.id.clone()),
        payload: aes256::encrypt(plaintext, &secret.password, salt),
    }
    .format())
}

static RUN_KEYRING: OnceLock<Keyring> = OnceLock::new();

/// Sets the run's passwords, once, at startup; later calls are ignored.
pub fn install(keyring: Keyring) {
    let _ = RUN_KEYRING.set(keyring);
}

/// The run's passwords (none until [`install`]).
pub fn keyring() -> &'static Keyring {
    RUN_KEYRING.get_or_init(Keyring::default)
}
