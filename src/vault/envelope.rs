//! The text around vault ciphertext: `$ANSIBLE_VAULT;1.1;AES256` (or
//! `;1.2;AES256;<vault id>`), then the hexlified payload in lines of 80 characters.

use super::VaultError;

/// The header every vault text starts with.
pub const HEADER: &str = "$ANSIBLE_VAULT";

/// A parsed vault text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Format version, `1.1` or `1.2`.
    pub version: String,
    /// Cipher name; only `AES256` exists.
    pub cipher: String,
    /// The vault id of a 1.2 envelope.
    pub vault_id: Option<String>,
    /// The hexlified payload with the line breaks removed.
    pub payload: String,
}

/// Whether `data` is vault text (starts with the header, as Ansible checks).
pub fn is_encrypted(data: &[u8]) -> bool {
    data.starts_with(HEADER.as_bytes())
}

impl Envelope {
    /// Parses vault text as Ansible does: the first line is the header, the rest is
    /// the payload.
    pub fn parse(text: &str) -> Result<Envelope, VaultError> {
        if !is_encrypted(text.as_bytes()) {
            return Err(VaultError::NotEncrypted);
        }
        let mut lines = text.lines();
        let header = lines.next().unwrap_or_default().trim();
        let parts: Vec<&str> = header.split(';').map(str::trim).collect();
        if parts.len() < 3 {
            return Err(VaultError::Corrupt(
                "the header needs a version and a cipher".into(),
            ));
        }
        let payload: String = lines.map(str::trim).collect();
        Ok(Envelope {
            version: parts[1].to_string(),
            cipher: parts[2].to_string(),
            vault_id: parts
                .get(3)
                .filter(|id| !id.is_empty())
                .map(|id| id.to_string()),
            payload,
        })
    }

    /// The envelope as ansible-vault writes it: 1.2 with an id other than `default`,
    /// the payload in lines of 80, and a final newline.
    pub fn format(&self) -> String {
        let mut text = String::with_capacity(self.payload.len() + self.payload.len() / 80 + 64);
        text.push_str(HEADER);
        text.push(';');
        match self.vault_id.as_deref() {
            Some(id) if id != "default" => {
                text.push_str("1.2;");
                text.push_str(&self.cipher);
                text.push(';');
                text.push_str(id);
            }
            _ => {
                text.push_str("1.1;");
                text.push_str(&self.cipher);
            }
        }
        text.push('\n');
        let bytes = self.payload.as_bytes();
        for chunk in bytes.chunks(80) {
            text.push_str(&String::from_utf8_lossy(chunk));
            text.push('\n');
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_versions() {
        let old = Envelope::parse("$ANSIBLE_VAULT;1.1;AES256\nab\ncd\n").expect("1.1");
        assert_eq!(old.vault_id, None);
        assert_eq!(old.payload, "abcd");
        let new = Envelope::parse("$ANSIBLE_VAULT;1.2;AES256;prod\r\nab\n").expect("1.2");
        assert_eq!(new.vault_id.as_deref(), Some("prod"));
        assert_eq!(new.payload, "ab");
    }

    #[test]
    fn formats_in_lines_of_80_with_the_id_only_when_not_default() {
        let env = Envelope {
            version: "1.1".into(),
            cipher: "AES256".into(),
            vault_id: Some("default".into()),
            payload: "a".repeat(170),
        };
        let text = env.format();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "$ANSIBLE_VAULT;1.1;AES256");
        assert_eq!(lines[1].len(), 80);
        assert_eq!(lines[3].len(), 10);
        assert!(text.ends_with('\n'));
        let prod = Envelope {
            vault_id: Some("prod".into()),
            ..env
        };
        assert!(
            prod.format()
                .starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n")
        );
    }

    #[test]
    fn a_short_header_is_corrupt() {
        assert!(matches!(
            Envelope::parse("$ANSIBLE_VAULT;1.1\n00\n"),
            Err(VaultError::Corrupt(_))
        ));
        assert_eq!(Envelope::parse("plain"), Err(VaultError::NotEncrypted));
    }
}
