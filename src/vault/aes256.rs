//! The AES256 vault cipher, byte for byte as Ansible's `VaultAES256`: PBKDF2-HMAC-SHA256
//! (10000 iterations) turns the password and a 32-byte salt into an AES-256 key, an
//! HMAC-SHA256 key and a CTR counter block; the plaintext is PKCS#7 padded and
//! encrypted in CTR mode; the payload is
//! `hex(hex(salt) "\n" hex(hmac) "\n" hex(ciphertext))`.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::VaultError;

type Aes256Ctr = ctr::Ctr128BE<aes::Aes256>;
type HmacSha256 = Hmac<Sha256>;

/// PBKDF2 rounds, fixed by the format.
const ITERATIONS: u32 = 10_000;
/// Length of a fresh salt.
pub const SALT_LEN: usize = 32;
/// AES block size, for the padding.
const BLOCK: usize = 16;

/// The keys derived from a password and a salt.
struct Keys {
    cipher: [u8; 32],
    mac: [u8; 32],
    counter: [u8; 16],
}

impl Keys {
    fn derive(password: &[u8], salt: &[u8]) -> Keys {
        let mut derived = [0u8; 80];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut derived);
        let mut keys = Keys {
            cipher: [0; 32],
            mac: [0; 32],
            counter: [0; 16],
        };
        keys.cipher.copy_from_slice(&derived[..32]);
        keys.mac.copy_from_slice(&derived[32..64]);
        keys.counter.copy_from_slice(&derived[64..]);
        keys
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC takes a key of any length, so this cannot fail.
        <HmacSha256 as Mac>::new_from_slice(&self.mac).expect("HMAC accepts any key length")
    }

    fn apply(&self, data: &mut [u8]) {
        Aes256Ctr::new(&self.cipher.into(), &self.counter.into()).apply_keystream(data);
    }
}

/// Encrypts `plaintext` with `password` and `salt`; returns the hexlified payload
/// (without the envelope's header or line breaks).
pub fn encrypt(plaintext: &[u8], password: &[u8], salt: &[u8]) -> String {
    let keys = Keys::derive(password, salt);
    let pad = BLOCK - plaintext.len() % BLOCK;
    let mut data = Vec::with_capacity(plaintext.len() + pad);
    data.extend_from_slice(plaintext);
    data.extend(std::iter::repeat_n(pad as u8, pad));
    keys.apply(&mut data);
    let mut mac = keys.mac();
    mac.update(&data);
    let tag = mac.finalize().into_bytes();
    let inner = format!(
        "{}\n{}\n{}",
        hex::encode(salt),
        hex::encode(tag),
        hex::encode(&data)
    );
    hex::encode(inner)
}

/// Decrypts a hexlified payload with `password`: `HmacMismatch` when the password
/// is not the one used (or the data was altered), `Corrupt` when the payload is
/// not what ansible-vault writes.
pub fn decrypt(payload: &str, password: &[u8]) -> Result<Vec<u8>, VaultError> {
    let (salt, tag, mut data) = split_payload(payload)?;
    let keys = Keys::derive(password, &salt);
    let mut mac = keys.mac();
    mac.update(&data);
    mac.verify_slice(&tag)
        .map_err(|_| VaultError::HmacMismatch)?;
    keys.apply(&mut data);
    let pad = data.last().copied().unwrap_or(0) as usize;
    let valid = (1..=BLOCK).contains(&pad)
        && pad <= data.len()
        && data[data.len() - pad..].iter().all(|&b| b as usize == pad);
    if !valid {
        return Err(VaultError::Corrupt("invalid padding".into()));
    }
    data.truncate(data.len() - pad);
    Ok(data)
}

/// The salt, HMAC and ciphertext inside a payload.
type Parts = (Vec<u8>, Vec<u8>, Vec<u8>);

/// Splits a payload into its salt, HMAC and ciphertext.
fn split_payload(payload: &str) -> Result<Parts, VaultError> {
    let unhex = |text: &[u8]| {
        hex::decode(text).map_err(|_| VaultError::Corrupt("Vault format unhexlify error.".into()))
    };
    let inner = unhex(payload.as_bytes())?;
    let mut parts = inner.splitn(3, |&b| b == b'\n');
    let (Some(salt), Some(tag), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(VaultError::Corrupt(
            "the payload needs a salt, an HMAC and ciphertext".into(),
        ));
    };
    Ok((unhex(salt)?, unhex(tag)?, unhex(data)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_padding_length() {
        for len in [0, 1, 15, 16, 17, 33] {
            let plain: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let payload = encrypt(&plain, b"pw", &[7; SALT_LEN]);
            assert_eq!(decrypt(&payload, b"pw").expect("decrypts"), plain);
        }
    }

    #[test]
    fn another_password_fails_the_hmac() {
        let payload = encrypt(b"secret", b"pw", &[1; SALT_LEN]);
        assert_eq!(decrypt(&payload, b"other"), Err(VaultError::HmacMismatch));
    }

    #[test]
    fn bad_hex_is_corrupt() {
        assert!(matches!(decrypt("zz", b"pw"), Err(VaultError::Corrupt(_))));
        assert!(matches!(
            decrypt(&hex::encode("00\n11"), b"pw"),
            Err(VaultError::Corrupt(_))
        ));
    }
}
