//! Fingerprints of a public key as community.crypto reports them: the DER of its
//! `SubjectPublicKeyInfo` hashed with every algorithm of Python's
//! `hashlib.algorithms_guaranteed`, each as colon-separated hex.

use serde_json::{Map, Value as Json};

/// Every fingerprint: `md5`, `sha1`, `sha224` ... `shake_256` (the SHAKEs 32 bytes
/// long, as `hexdigest(32)`).
pub fn all(der: &[u8]) -> Map<String, Json> {
    use blake2::Digest as _;
    use sha2::Digest as _;
    let digests: [(&str, Vec<u8>); 14] = [
        ("blake2b", blake2::Blake2b512::digest(der).to_vec()),
        ("blake2s", blake2::Blake2s256::digest(der).to_vec()),
        ("md5", md5_digest(der)),
        ("sha1", sha1::Sha1::digest(der).to_vec()),
        ("sha224", sha2::Sha224::digest(der).to_vec()),
        ("sha256", sha2::Sha256::digest(der).to_vec()),
        ("sha384", sha2::Sha384::digest(der).to_vec()),
        ("sha3_224", sha3::Sha3_224::digest(der).to_vec()),
        ("sha3_256", sha3::Sha3_256::digest(der).to_vec()),
        ("sha3_384", sha3::Sha3_384::digest(der).to_vec()),
        ("sha3_512", sha3::Sha3_512::digest(der).to_vec()),
        ("sha512", sha2::Sha512::digest(der).to_vec()),
        ("shake_128", shake::<168>(der)),
        ("shake_256", shake::<136>(der)),
    ];
    digests
        .into_iter()
        .map(|(name, bytes)| (name.to_string(), Json::String(colons(&bytes))))
        .collect()
}

/// The one fingerprint community.crypto's info helpers prefer (`sha256`).
pub fn preferred(der: &[u8]) -> Map<String, Json> {
    use sha2::Digest as _;
    let mut map = Map::new();
    map.insert(
        "sha256".into(),
        Json::String(colons(&sha2::Sha256::digest(der))),
    );
    map
}

/// MD5 of `data`.
fn md5_digest(data: &[u8]) -> Vec<u8> {
    use md5::Digest as _;
    md5::Md5::digest(data).to_vec()
}

/// 32 bytes of SHAKE with the given rate in bytes (168: SHAKE128, 136: SHAKE256).
fn shake<const RATE: usize>(data: &[u8]) -> Vec<u8> {
    let mut state = [0u64; 25];
    let permute = |state: &mut [u64; 25]| keccak::Keccak::new().with_f1600(|f| f(state));
    let xor_byte = |state: &mut [u64; 25], at: usize, byte: u8| {
        state[at / 8] ^= u64::from(byte) << (8 * (at % 8));
    };
    let mut blocks = data.chunks_exact(RATE);
    for block in blocks.by_ref() {
        for (at, &byte) in block.iter().enumerate() {
            xor_byte(&mut state, at, byte);
        }
        permute(&mut state);
    }
    let rest = blocks.remainder();
    for (at, &byte) in rest.iter().enumerate() {
        xor_byte(&mut state, at, byte);
    }
    xor_byte(&mut state, rest.len(), 0x1f);
    xor_byte(&mut state, RATE - 1, 0x80);
    permute(&mut state);
    state
        .iter()
        .flat_map(|lane| lane.to_le_bytes())
        .take(32)
        .collect()
}

/// Bytes as lowercase hex pairs joined by colons.
pub fn colons(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hashlib_algorithm_is_there_with_pythons_values() {
        let all = all(b"abc");
        assert_eq!(all.len(), 14);
        // hashlib.shake_128(b"abc").hexdigest(32) and friends.
        assert_eq!(
            all["shake_128"],
            "58:81:09:2d:d8:18:bf:5c:f8:a3:dd:b7:93:fb:cb:a7:40:97:d5:c5:26:a6:d3:5f:97:b8:33:51:94:0f:2c:c8"
        );
        assert_eq!(
            all["shake_256"],
            "48:33:66:60:13:60:a8:77:1c:68:63:08:0c:c4:11:4d:8d:b4:45:30:f8:f1:e1:ee:4f:94:ea:37:e7:8b:57:39"
        );
        assert_eq!(
            all["md5"],
            "90:01:50:98:3c:d2:4f:b0:d6:96:3f:7d:28:e1:7f:72"
        );
        assert_eq!(
            all["blake2s"],
            "50:8c:5e:8c:32:7c:14:e2:e1:a7:2b:a3:4e:eb:45:2f:37:45:8b:20:9e:d6:3a:29:4d:99:9b:4c:86:67:59:82"
        );
        assert_eq!(
            all["sha3_256"],
            "3a:98:5d:a7:4f:e2:25:b2:04:5c:17:2d:6b:d3:90:bd:85:5f:08:6e:3e:9d:52:5b:46:bf:e2:45:11:43:15:32"
        );
        assert_eq!(preferred(b"abc")["sha256"], all["sha256"]);
    }

    #[test]
    fn a_long_input_crosses_the_sponge_rate() {
        // hashlib.shake_128(b"a" * 200).hexdigest(32)
        assert_eq!(
            colons(&shake::<168>(&[b'a'; 200])),
            "70:ac:9b:97:e8:91:be:58:3e:08:92:9c:e4:cc:e5:0d:34:6b:05:f9:59:73:56:d6:af:94:d4:64:3d:2a:f3:b6"
        );
    }
}
