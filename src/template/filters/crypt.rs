//! `password_hash`: SHA-256 and SHA-512 crypt (`$5$`, `$6$`), as ansible-core 2.19
//! makes them through passlib (which it requires): passlib's default rounds (535000
//! and 656000, written as `rounds=N$`) unless told, a random 16-character salt unless
//! given. The `password` lookup's and `vars_prompt`'s `encrypt` share [`encrypt`].

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, State, Value};
use sha2::{Digest, Sha256, Sha512};

use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::py_str;

const ALPHABET: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("password_hash", password_hash);
}

fn password_hash(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    ensure_defined(state, value, "password_hash")?;
    let params = Params::bind(
        "password_hash",
        &["hashtype", "salt", "salt_size", "rounds", "ident"],
        args,
        kwargs,
    )?;
    let hashtype = params.string("hashtype", "sha512")?;
    let salt = params.get("salt").filter(|s| !s.is_none()).map(py_str);
    let salt_size = params.int("salt_size")?;
    let rounds = params.int("rounds")?;
    encrypt(&py_str(value), &hashtype, salt, salt_size, rounds)
        .map(Value::from)
        .map_err(|message| fail("password_hash", message))
}

/// `secret` hashed with the passlib scheme `scheme` (`sha512_crypt`, or the filter's
/// short `sha512`), as Ansible's `do_encrypt` hashes it.
pub(crate) fn encrypt(
    secret: &str,
    scheme: &str,
    salt: Option<String>,
    salt_size: Option<i64>,
    rounds: Option<i64>,
) -> Result<String, String> {
    let (sha512, default_rounds) = match scheme {
        "sha512" | "sha512_crypt" => (true, 656_000),
        "sha256" | "sha256_crypt" => (false, 535_000),
        other => {
            return Err(format!(
                "bosun cannot make {other} hashes (it makes sha256_crypt and sha512_crypt)"
            ));
        }
    };
    let salt = match salt {
        Some(salt) => salt,
        None => random_salt(salt_size.unwrap_or(16).clamp(1, 16) as usize),
    };
    let rounds = rounds.map_or(default_rounds, |r| r.clamp(1000, 999_999_999) as u32);
    Ok(sha_crypt(secret.as_bytes(), &salt, Some(rounds), sha512))
}

/// A random salt of `size` characters from crypt's alphabet.
pub(crate) fn random_salt(size: usize) -> String {
    (0..size)
        .map(|_| {
            let i = crate::template::pyrandom::system_below(ALPHABET.len() as u64);
            char::from(ALPHABET[i as usize])
        })
        .collect()
}

/// Ulrich Drepper's SHA-crypt.
pub(crate) fn sha_crypt(password: &[u8], salt: &str, rounds: Option<u32>, sha512: bool) -> String {
    let salt: String = salt.chars().take(16).collect();
    let salt_bytes = salt.as_bytes();
    let hash = |parts: &[&[u8]]| -> Vec<u8> {
        if sha512 {
            let mut h = Sha512::new();
            for part in parts {
                h.update(part);
            }
            h.finalize().to_vec()
        } else {
            let mut h = Sha256::new();
            for part in parts {
                h.update(part);
            }
            h.finalize().to_vec()
        }
    };
    let hlen = if sha512 { 64 } else { 32 };
    let b = hash(&[password, salt_bytes, password]);
    let mut a_parts: Vec<u8> = Vec::new();
    a_parts.extend(password);
    a_parts.extend(salt_bytes);
    let mut count = password.len();
    while count > hlen {
        a_parts.extend(&b);
        count -= hlen;
    }
    a_parts.extend(&b[..count]);
    let mut bits = password.len();
    while bits > 0 {
        if bits & 1 == 1 {
            a_parts.extend(&b);
        } else {
            a_parts.extend(password);
        }
        bits >>= 1;
    }
    let a = hash(&[&a_parts]);
    let dp = hash(&[&password.repeat(password.len())]);
    let p_seq: Vec<u8> = dp.iter().cycle().take(password.len()).copied().collect();
    let ds = hash(&[&salt_bytes.repeat(16 + usize::from(a[0]))]);
    let s_seq: Vec<u8> = ds.iter().cycle().take(salt_bytes.len()).copied().collect();
    let rounds = rounds.unwrap_or(5000);
    let c = if sha512 {
        crypt_rounds::<Sha512>(a, &p_seq, &s_seq, rounds)
    } else {
        crypt_rounds::<Sha256>(a, &p_seq, &s_seq, rounds)
    };
    let mut out = String::from(if sha512 { "$6$" } else { "$5$" });
    if rounds != 5000 {
        out.push_str(&format!("rounds={rounds}$"));
    }
    out.push_str(&salt);
    out.push('$');
    let mut encode = |b2: u8, b1: u8, b0: u8, n: usize| {
        let mut w = (u32::from(b2) << 16) | (u32::from(b1) << 8) | u32::from(b0);
        for _ in 0..n {
            out.push(char::from(ALPHABET[(w & 0x3f) as usize]));
            w >>= 6;
        }
    };
    if sha512 {
        let order: [(usize, usize, usize); 21] = [
            (0, 21, 42),
            (22, 43, 1),
            (44, 2, 23),
            (3, 24, 45),
            (25, 46, 4),
            (47, 5, 26),
            (6, 27, 48),
            (28, 49, 7),
            (50, 8, 29),
            (9, 30, 51),
            (31, 52, 10),
            (53, 11, 32),
            (12, 33, 54),
            (34, 55, 13),
            (56, 14, 35),
            (15, 36, 57),
            (37, 58, 16),
            (59, 17, 38),
            (18, 39, 60),
            (40, 61, 19),
            (62, 20, 41),
        ];
        for (x, y, z) in order {
            encode(c[x], c[y], c[z], 4);
        }
        encode(0, 0, c[63], 2);
    } else {
        let order: [(usize, usize, usize); 10] = [
            (0, 10, 20),
            (21, 1, 11),
            (12, 22, 2),
            (3, 13, 23),
            (24, 4, 14),
            (15, 25, 5),
            (6, 16, 26),
            (27, 7, 17),
            (18, 28, 8),
            (9, 19, 29),
        ];
        for (x, y, z) in order {
            encode(c[x], c[y], c[z], 4);
        }
        encode(0, c[31], c[30], 3);
    }
    out
}

/// SHA-crypt's rounds: each digest fed from the last, without allocating.
fn crypt_rounds<D: Digest>(a: Vec<u8>, p: &[u8], s: &[u8], rounds: u32) -> Vec<u8> {
    let mut c = a;
    for i in 0..rounds {
        let mut h = D::new();
        h.update(if i % 2 == 1 { p } else { &c });
        if i % 3 != 0 {
            h.update(s);
        }
        if i % 7 != 0 {
            h.update(p);
        }
        h.update(if i % 2 == 1 { &c } else { p });
        c.copy_from_slice(&h.finalize());
    }
    c
}

#[cfg(test)]
mod tests {
    use super::sha_crypt;
    use crate::template::test_support::eval;
    use serde_json::json;

    #[test]
    fn sha_crypt_matches_the_systems_crypt() {
        assert_eq!(
            sha_crypt(b"Hello world!", "saltstring", None, true),
            "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"
        );
        assert_eq!(
            sha_crypt(b"Hello world!", "saltstringsaltstring", Some(10000), false),
            "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"
        );
    }

    #[test]
    fn password_hash_filter_salts_at_random() {
        let hash = eval("'secret'|password_hash('sha512')", json!({}));
        assert!(
            hash.starts_with("$6$rounds=656000$") && hash.len() == 17 + 16 + 1 + 86,
            "{hash}"
        );
        assert_eq!(
            eval("'pw'|password_hash('sha512', 'abcdefgh')", json!({})),
            "$6$rounds=656000$abcdefgh$pLncf7ljI4rnlGRtlaRLIaBXT8hoDhe5j.p3YfqrEPrlrDTn7qRk9ssGh4MFgYzW30TNcYrpyeSWhww63/Kel0",
            "passlib's default rounds, as ansible-core 2.19 hashes"
        );
        assert_eq!(
            eval(
                "'pw'|password_hash('sha256_crypt', 'abcdefgh', rounds=5000)",
                json!({})
            ),
            "$5$abcdefgh$ijtOJ//yvc/9bq1g0llFn9dB688BwBDRD90DlKKSKE1"
        );
    }
}
