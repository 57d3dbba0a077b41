//! Role passwords as PostgreSQL keeps them in `pg_authid.rolpassword`: a SCRAM-SHA-256
//! secret (RFC 5802/7677) or an MD5 hash. bosun makes the secret here, from the
//! password and the server's `password_encryption`, exactly as the server would (the
//! password SASLprep-normalized, or taken as it is where SASLprep refuses it, as
//! PostgreSQL's `pg_saslprep` does; a fresh 16-byte salt; the server's iteration
//! count), so the clear password never leaves the control node. It checks a stored
//! secret as community.postgresql's `user_should_we_change_password` does: the
//! server key recomputed from the password and the secret's salt and iterations.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// PostgreSQL's iteration count before `scram_iterations` (PostgreSQL 16) made it a
/// setting.
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// The parts of a SCRAM-SHA-256 secret: iterations, salt, stored key, server key
/// (community.postgresql's `SCRAM_SHA256_REGEX`).
struct Secret {
    iterations: u32,
    salt: Vec<u8>,
    server_key: Vec<u8>,
}

/// Whether `text` is made only of base64's characters (`[A-Za-z0-9+/=]+`).
fn base64_chars(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
}

/// Reads `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`; `None` when
/// `text` does not have that shape.
fn parse(text: &str) -> Option<(u32, &str, &str, &str)> {
    let rest = text.strip_prefix("SCRAM-SHA-256$")?;
    let (iterations, rest) = rest.split_once(':')?;
    let (salt, keys) = rest.split_once('$')?;
    let (stored, server) = keys.split_once(':')?;
    let all = [salt, stored, server];
    let shaped = !iterations.is_empty()
        && iterations.bytes().all(|b| b.is_ascii_digit())
        && all.iter().all(|part| base64_chars(part));
    shaped.then_some((iterations.parse().ok()?, salt, stored, server))
}

/// Whether `text` is a SCRAM-SHA-256 secret already.
pub fn is_scram(text: &str) -> bool {
    parse(text).is_some()
}

/// Whether `text` looks like an MD5 password hash (`md5` and 32 more characters,
/// community.postgresql's `is_pg_passwd_md5`).
pub fn is_md5(text: &str) -> bool {
    text.starts_with("md5") && text.chars().count() == 35
}

/// The MD5 hash PostgreSQL stores for `user`'s `password`.
pub fn md5_secret(password: &str, user: &str) -> String {
    use md5::Digest as _;
    let digest = md5::Md5::digest([password.as_bytes(), user.as_bytes()].concat());
    format!("md5{}", hex::encode(digest))
}

/// The password's bytes as SCRAM uses them: SASLprep-normalized, or as they are where
/// SASLprep refuses it (PostgreSQL's `pg_saslprep`).
fn normalized(password: &str) -> Vec<u8> {
    match stringprep::saslprep(password) {
        Ok(prepared) => prepared.as_bytes().to_vec(),
        Err(_) => password.as_bytes().to_vec(),
    }
}

/// HMAC-SHA-256 of `data` under `key`.
fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length: `new_from_slice` cannot refuse one.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// SaltedPassword := Hi(Normalize(password), salt, i).
fn salted(password: &str, salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(&normalized(password), salt, iterations, &mut out);
    out
}

/// The SCRAM-SHA-256 secret of `password` with `salt` and `iterations`.
pub fn scram_secret(password: &str, salt: &[u8], iterations: u32) -> String {
    let salted = salted(password, salt, iterations);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

/// A fresh SCRAM-SHA-256 secret of `password`: a random 16-byte salt, as the
/// server's `pg_be_scram_build_secret` makes one.
pub fn new_scram_secret(password: &str, iterations: u32) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| format!("no random salt: {e}"))?;
    Ok(scram_secret(password, &salt, iterations))
}

/// Whether the stored SCRAM secret `stored` was made from `password`: the server key
/// recomputed from its salt and iterations is the one it holds.
pub fn scram_matches(password: &str, stored: &str) -> bool {
    let Some((iterations, salt, _, server_key)) = parse(stored) else {
        return false;
    };
    let decoded = (STANDARD.decode(salt), STANDARD.decode(server_key));
    let secret = match decoded {
        (Ok(salt), Ok(server_key)) => Secret {
            iterations,
            salt,
            server_key,
        },
        _ => return false,
    };
    let salted = salted(password, &secret.salt, secret.iterations);
    hmac(&salted, b"Server Key") == secret.server_key
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A secret PostgreSQL 15 made for `ALTER ROLE x PASSWORD 'secret'`.
    const FROM_SERVER: &str = "SCRAM-SHA-256$4096:eFZnEKYEwR+eAAu8hZokKA==$otpYqqfT+kevKolXZ9kXvfwvbr92sLSoWaR+0TQej+I=:xJMQOkYbuYc7sLxf40CWwQkQCRgqTxWOJ51obwmoS94=";

    #[test]
    fn a_secret_the_server_made_matches_its_password_only() {
        assert!(is_scram(FROM_SERVER));
        assert!(scram_matches("secret", FROM_SERVER));
        assert!(!scram_matches("Secret", FROM_SERVER));
        assert!(!scram_matches("secret", "md5abc"));
    }

    #[test]
    fn a_secret_made_here_is_the_one_the_server_makes_from_the_same_salt() {
        let salt = STANDARD.decode("eFZnEKYEwR+eAAu8hZokKA==").expect("base64");
        assert_eq!(scram_secret("secret", &salt, 4096), FROM_SERVER);
        let fresh = new_scram_secret("pässword\u{00A0}", 4096).expect("random");
        assert!(scram_matches("pässword\u{00A0}", &fresh));
        assert!(
            scram_matches("pässword ", &fresh),
            "SASLprep maps no-break space to space"
        );
        assert_ne!(
            fresh,
            new_scram_secret("pässword\u{00A0}", 4096).expect("random")
        );
    }

    #[test]
    fn md5_hashes_are_recognized_and_made_as_postgresql_makes_them() {
        assert_eq!(
            md5_secret("secret", "bob"),
            "md521f3163f8f86fa10bdefbfbd502a8f06"
        );
        assert!(is_md5(&md5_secret("x", "y")));
        assert!(!is_md5("md5short"));
        assert!(!is_scram("SCRAM-SHA-256$x:abc$def:ghi"));
    }
}
