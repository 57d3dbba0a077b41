//! What can go wrong reading or writing vault data. Messages follow Ansible's and never
//! contain a password or decrypted text.

/// A vault failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Vaulted data met with no password given at all.
    #[error(
        "Attempting to decrypt but no vault secrets found; give one with --vault-password-file, --vault-id or --ask-vault-pass"
    )]
    NoPassword,
    /// No known password decrypts the data (a wrong password, or data altered since).
    #[error("Decryption failed (no vault secrets were found that could decrypt).")]
    WrongPassword,
    /// One password's HMAC did not match the data's.
    #[error("HMAC verification failed")]
    HmacMismatch,
    /// The `$ANSIBLE_VAULT;...` header or the hex body is malformed.
    #[error("Vault envelope format error: {0}")]
    Corrupt(String),
    /// The header names a cipher other than AES256.
    #[error("Cipher '{0}' could not be found.")]
    UnknownCipher(String),
    /// The data to decrypt does not start with `$ANSIBLE_VAULT`.
    #[error("Input is not vault encrypted data.")]
    NotEncrypted,
    /// The data to encrypt is already vault data.
    #[error("input is already encrypted")]
    AlreadyEncrypted,
    /// `--encrypt-vault-id` names an id no password was given for.
    #[error(
        "Did not find a match for --encrypt-vault-id={wanted} in the known vault-ids {known:?}"
    )]
    NoEncryptId {
        /// The id asked for.
        wanted: String,
        /// The ids known.
        known: Vec<String>,
    },
    /// A password source could not be read, or gave an empty password.
    #[error("{0}")]
    Source(String),
}
