//! Just enough OpenPGP to manage apt keyrings without `gpg` on the target: armor and
//! dearmor, split a keyring into its keys, and name each key by its fingerprint (v4:
//! SHA-1, v6: SHA-256), so `apt_key` can tell which keys a keyring holds.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest as _, Sha1};
use sha2::Sha256;

const BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";
const END: &str = "-----END PGP PUBLIC KEY BLOCK-----";

/// Why key data could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PgpError {
    /// The armor's base64 is broken.
    #[error("invalid armored key data: {0}")]
    Armor(String),
    /// A packet header or length runs past the data.
    #[error("truncated or malformed OpenPGP packet at byte {0}")]
    Packet(usize),
    /// No public key packet at all.
    #[error("no OpenPGP public key found in the key data")]
    NoKey,
}

/// One public key (a "transferable public key"): its primary key's fingerprint, its
/// subkeys' and the bytes of all its packets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The primary key's fingerprint, upper-case hex.
    pub fingerprint: String,
    /// The subkeys' fingerprints.
    pub subkeys: Vec<String>,
    /// The key's packets, binary.
    pub bytes: Vec<u8>,
}

impl Key {
    /// The long key id: the last 16 hex digits of the fingerprint (v4).
    pub fn key_id(&self) -> &str {
        &self.fingerprint[self.fingerprint.len().saturating_sub(16)..]
    }

    /// Whether `id` (short or long id, or fingerprint; `0x` and spaces allowed, any
    /// case) names this key or one of its subkeys.
    pub fn matches(&self, id: &str) -> bool {
        let id = normalize_id(id);
        !id.is_empty()
            && std::iter::once(&self.fingerprint)
                .chain(&self.subkeys)
                .any(|fp| fp.ends_with(&id))
    }
}

/// A key id as given by a user, upper-case, without `0x` and spaces.
pub fn normalize_id(id: &str) -> String {
    let id: String = id.chars().filter(|c| !c.is_whitespace()).collect();
    let id = id
        .strip_prefix("0x")
        .or_else(|| id.strip_prefix("0X"))
        .unwrap_or(&id);
    id.to_ascii_uppercase()
}

/// Whether `data` is an ASCII-armored public key block.
pub fn is_armored(data: &[u8]) -> bool {
    data.windows(BEGIN.len()).any(|w| w == BEGIN.as_bytes())
}

/// The binary form of key data: armored blocks decoded, binary passed through.
pub fn dearmor(data: &[u8]) -> Result<Vec<u8>, PgpError> {
    if !is_armored(data) {
        return Ok(data.to_vec());
    }
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while lines.by_ref().any(|l| l == BEGIN) {
        // Armor headers (`Version:`, `Comment:`) end at the first empty line; some
        // writers leave the empty line out.
        let mut body = String::new();
        let mut in_headers = true;
        for line in lines.by_ref() {
            if line == END {
                break;
            }
            if in_headers {
                in_headers = false;
                if line.is_empty() || line.contains(": ") {
                    if !line.is_empty() {
                        in_headers = true;
                    }
                    continue;
                }
            }
            if line.starts_with('=') {
                continue;
            }
            body.push_str(line);
        }
        out.extend(
            STANDARD
                .decode(body.as_bytes())
                .map_err(|err| PgpError::Armor(err.to_string()))?,
        );
    }
    Ok(out)
}

/// Binary key data armored, as `gpg --armor --export` writes it.
pub fn armor(data: &[u8]) -> String {
    let encoded = STANDARD.encode(data);
    let mut text = format!("{BEGIN}\n\n");
    for chunk in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(chunk));
        text.push('\n');
    }
    let crc = crc24(data).to_be_bytes();
    text.push_str(&format!("={}\n{END}\n", STANDARD.encode(&crc[1..])));
    text
}

/// The CRC-24 of RFC 4880, section 6.1.
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for byte in data {
        crc ^= u32::from(*byte) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// The keys in key data (armored or binary, one key or a keyring).
pub fn keys(data: &[u8]) -> Result<Vec<Key>, PgpError> {
    let binary = dearmor(data)?;
    let mut keys: Vec<Key> = Vec::new();
    let mut at = 0;
    while at < binary.len() {
        let (tag, body, end) = packet(&binary, at)?;
        match tag {
            6 => keys.push(Key {
                fingerprint: fingerprint(body).ok_or(PgpError::Packet(at))?,
                subkeys: Vec::new(),
                bytes: Vec::new(),
            }),
            14 => {
                if let (Some(key), Some(fp)) = (keys.last_mut(), fingerprint(body)) {
                    key.subkeys.push(fp);
                }
            }
            _ => {}
        }
        if let Some(key) = keys.last_mut() {
            key.bytes.extend_from_slice(&binary[at..end]);
        }
        at = end;
    }
    if keys.is_empty() {
        return Err(PgpError::NoKey);
    }
    Ok(keys)
}

/// The packet starting at `at`: its tag, its body and where the next one starts.
fn packet(data: &[u8], at: usize) -> Result<(u8, &[u8], usize), PgpError> {
    let bad = || PgpError::Packet(at);
    let header = *data.get(at).ok_or_else(bad)?;
    if header & 0x80 == 0 {
        return Err(bad());
    }
    let byte = |i: usize| data.get(at + i).copied().map(usize::from).ok_or_else(bad);
    let (tag, len, start) = if header & 0x40 != 0 {
        let tag = header & 0x3F;
        match byte(1)? {
            first @ 0..=191 => (tag, first, at + 2),
            first @ 192..=223 => (tag, ((first - 192) << 8) + byte(2)? + 192, at + 3),
            255 => (
                tag,
                (byte(2)? << 24) | (byte(3)? << 16) | (byte(4)? << 8) | byte(5)?,
                at + 6,
            ),
            _ => return Err(bad()),
        }
    } else {
        let tag = (header >> 2) & 0x0F;
        match header & 3 {
            0 => (tag, byte(1)?, at + 2),
            1 => (tag, (byte(1)? << 8) | byte(2)?, at + 3),
            2 => (
                tag,
                (byte(1)? << 24) | (byte(2)? << 16) | (byte(3)? << 8) | byte(4)?,
                at + 5,
            ),
            _ => (tag, data.len().saturating_sub(at + 1), at + 1),
        }
    };
    let end = start.checked_add(len).ok_or_else(bad)?;
    let body = data.get(start..end).ok_or_else(bad)?;
    Ok((tag, body, end))
}

/// The fingerprint of a public key or subkey packet body (v4 and v6 keys).
fn fingerprint(body: &[u8]) -> Option<String> {
    let len = body.len();
    match body.first()? {
        4 => {
            let mut hash = Sha1::new();
            hash.update([0x99, (len >> 8) as u8, len as u8]);
            hash.update(body);
            Some(hex::encode_upper(hash.finalize()))
        }
        6 => {
            let mut hash = Sha256::new();
            hash.update([0x9B]);
            hash.update((len as u32).to_be_bytes());
            hash.update(body);
            Some(hex::encode_upper(hash.finalize()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armor_round_trips_and_crc_matches_rfc() {
        let data = b"\x98\x33\x04hello keyring bytes";
        let text = armor(data);
        assert!(is_armored(text.as_bytes()));
        assert_eq!(dearmor(text.as_bytes()).expect("dearmors"), data);
        assert_eq!(crc24(b""), 0x00B7_04CE);
        assert_eq!(dearmor(data).expect("binary passes"), data);
    }

    #[test]
    fn headers_are_skipped_when_dearmoring() {
        let body = STANDARD.encode(b"\x01\x02\x03");
        let text = format!("{BEGIN}\nVersion: GnuPG\nComment: x\n\n{body}\n=AAAA\n{END}\n");
        assert_eq!(dearmor(text.as_bytes()).expect("ok"), b"\x01\x02\x03");
        assert!(matches!(
            dearmor(format!("{BEGIN}\n\n!!!\n{END}\n").as_bytes()),
            Err(PgpError::Armor(_))
        ));
    }

    /// A v4 public key packet body: version, time, algorithm 22 (EdDSA), some key.
    fn key_body(seed: u8) -> Vec<u8> {
        let mut body = vec![4, 0x67, 0x10, 0, 0, 22];
        body.extend(std::iter::repeat_n(seed, 20));
        body
    }

    fn packet_bytes(tag: u8, body: &[u8], new_format: bool) -> Vec<u8> {
        let mut out = if new_format {
            vec![0xC0 | tag, body.len() as u8]
        } else {
            vec![0x80 | (tag << 2), body.len() as u8]
        };
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn keyrings_split_into_keys_with_v4_fingerprints() {
        let mut ring = packet_bytes(6, &key_body(1), false);
        ring.extend(packet_bytes(13, b"user id", true));
        ring.extend(packet_bytes(14, &key_body(2), true));
        let second = packet_bytes(6, &key_body(3), true);
        ring.extend(&second);
        let found = keys(&ring).expect("parses");
        assert_eq!(found.len(), 2);
        let mut hash = Sha1::new();
        hash.update([0x99, 0, 26]);
        hash.update(key_body(1));
        let expected = hex::encode_upper(hash.finalize());
        assert_eq!(found[0].fingerprint, expected);
        assert_eq!(found[0].subkeys.len(), 1);
        assert_eq!(found[1].bytes, second);
        assert_eq!(found[0].key_id(), &expected[24..]);
        assert!(found[0].matches(&format!("0x{}", &found[0].fingerprint[32..].to_lowercase())));
        assert!(found[0].matches(&found[0].subkeys[0]));
        assert!(!found[1].matches(found[0].key_id()));
        assert!(keys(&armor(&ring).into_bytes()).is_ok_and(|k| k == found));
    }

    #[test]
    fn broken_data_is_an_error() {
        assert_eq!(keys(b""), Err(PgpError::NoKey));
        assert_eq!(keys(b"\x99\x00\x10abc"), Err(PgpError::Packet(0)));
        assert_eq!(keys(b"plain text"), Err(PgpError::Packet(0)));
        assert_eq!(normalize_id(" 0xab cd "), "ABCD");
    }
}
