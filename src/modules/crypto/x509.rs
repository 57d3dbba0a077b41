//! The parts of keys, certificate signing requests and certificates the crypto modules
//! compare, read from their DER: the public key's algorithm and size, names,
//! extensions, validity. The target's `openssl` converts PEM to DER; everything here
//! runs on the control node.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::der::{self, Reader, Tlv};
use super::oids;

/// The kind of a public key, as community.crypto names it (`RSA`, `ECC` ...), with
/// the size or curve it is checked against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with its modulus size in bits.
    Rsa(u32),
    /// DSA with its prime size in bits.
    Dsa(u32),
    /// An elliptic curve key on the named curve (cryptography's names: `secp256r1`),
    /// or its OID when the curve is not one community.crypto names.
    Ecc(String),
    /// Ed25519.
    Ed25519,
    /// Ed448.
    Ed448,
    /// X25519.
    X25519,
    /// X448.
    X448,
    /// Anything else, by algorithm OID.
    Other(String),
}

impl KeyKind {
    /// community.crypto's name of the key's type.
    pub fn type_name(&self) -> &str {
        match self {
            KeyKind::Rsa(_) => "RSA",
            KeyKind::Dsa(_) => "DSA",
            KeyKind::Ecc(_) => "ECC",
            KeyKind::Ed25519 => "Ed25519",
            KeyKind::Ed448 => "Ed448",
            KeyKind::X25519 => "X25519",
            KeyKind::X448 => "X448",
            KeyKind::Other(oid) => oid,
        }
    }
}

/// The elliptic curves community.crypto offers: its name, OpenSSL's name for
/// generating it, the curve's OID and its size in bits.
pub const CURVES: &[(&str, &str, &str, u32)] = &[
    ("secp224r1", "secp224r1", "1.3.132.0.33", 224),
    ("secp256k1", "secp256k1", "1.3.132.0.10", 256),
    ("secp256r1", "prime256v1", "1.2.840.10045.3.1.7", 256),
    ("secp384r1", "secp384r1", "1.3.132.0.34", 384),
    ("secp521r1", "secp521r1", "1.3.132.0.35", 521),
    ("secp192r1", "prime192v1", "1.2.840.10045.3.1.1", 192),
    (
        "brainpoolP256r1",
        "brainpoolP256r1",
        "1.3.36.3.3.2.8.1.1.7",
        256,
    ),
    (
        "brainpoolP384r1",
        "brainpoolP384r1",
        "1.3.36.3.3.2.8.1.1.11",
        384,
    ),
    (
        "brainpoolP512r1",
        "brainpoolP512r1",
        "1.3.36.3.3.2.8.1.1.13",
        512,
    ),
    ("sect163k1", "sect163k1", "1.3.132.0.1", 163),
    ("sect163r2", "sect163r2", "1.3.132.0.15", 163),
    ("sect233k1", "sect233k1", "1.3.132.0.26", 233),
    ("sect233r1", "sect233r1", "1.3.132.0.27", 233),
    ("sect283k1", "sect283k1", "1.3.132.0.16", 283),
    ("sect283r1", "sect283r1", "1.3.132.0.17", 283),
    ("sect409k1", "sect409k1", "1.3.132.0.36", 409),
    ("sect409r1", "sect409r1", "1.3.132.0.37", 409),
    ("sect571k1", "sect571k1", "1.3.132.0.38", 571),
    ("sect571r1", "sect571r1", "1.3.132.0.39", 571),
];

/// A public key: its `SubjectPublicKeyInfo` DER (what fingerprints hash and keys are
/// compared by) and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    /// The whole `SubjectPublicKeyInfo`.
    pub der: Vec<u8>,
    /// Algorithm and size or curve.
    pub kind: KeyKind,
    /// The RSA public exponent, when it fits in 64 bits.
    pub exponent: Option<u64>,
}

impl PublicKey {
    /// Reads a `SubjectPublicKeyInfo`.
    pub fn parse(spki: &[u8]) -> Result<PublicKey, String> {
        let mut outer = Reader::new(spki);
        let info = outer.expect(der::SEQUENCE)?;
        let mut fields = der::inside(&info);
        let algorithm = fields.expect(der::SEQUENCE)?;
        let key = fields.expect(der::BIT_STRING)?;
        let key_bytes = key.body.get(1..).unwrap_or_default();
        let mut alg = der::inside(&algorithm);
        let oid = der::oid_text(alg.expect(der::OID)?.body)?;
        let mut exponent = None;
        let kind = match oid.as_str() {
            "1.2.840.113549.1.1.1" => {
                let mut rsa = Reader::new(key_bytes);
                let seq = rsa.expect(der::SEQUENCE)?;
                let mut numbers = der::inside(&seq);
                let modulus = numbers.expect(der::INTEGER)?;
                let e = numbers.expect(der::INTEGER)?;
                exponent = (e.body.len() <= 9).then(|| {
                    e.body
                        .iter()
                        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
                });
                KeyKind::Rsa(der::bit_length(modulus.body))
            }
            "1.2.840.10040.4.1" => {
                let params = alg.expect(der::SEQUENCE)?;
                let p = der::inside(&params).expect(der::INTEGER)?;
                KeyKind::Dsa(der::bit_length(p.body))
            }
            "1.2.840.10045.2.1" => {
                let curve = der::oid_text(alg.expect(der::OID)?.body)?;
                let name = CURVES
                    .iter()
                    .find(|(_, _, oid, _)| *oid == curve)
                    .map_or(curve.clone(), |(name, ..)| name.to_string());
                KeyKind::Ecc(name)
            }
            "1.3.101.110" => KeyKind::X25519,
            "1.3.101.111" => KeyKind::X448,
            "1.3.101.112" => KeyKind::Ed25519,
            "1.3.101.113" => KeyKind::Ed448,
            _ => KeyKind::Other(oid),
        };
        Ok(PublicKey {
            der: info.whole.to_vec(),
            kind,
            exponent,
        })
    }

    /// The key in PEM, as `openssl pkey -pubout` and cryptography write it.
    pub fn pem(&self) -> String {
        pem("PUBLIC KEY", &self.der)
    }
}

/// `der` in PEM under `label`, 64 characters a line.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let mut text = format!("-----BEGIN {label}-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str(&format!("-----END {label}-----\n"));
    text
}

/// The dotted OID of an attribute or usage name (`CN`, `commonName`, `serverAuth`),
/// or the name itself when it is already dotted; `None` for an unknown name.
pub fn name_to_oid(name: &str) -> Option<String> {
    if let Some((oid, _)) = oids::NAMES.iter().find(|(_, names)| names.contains(&name)) {
        return Some(oid.to_string());
    }
    if name == "userID" {
        return name_to_oid("userId");
    }
    let dotted = !name.is_empty()
        && name
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()))
        && name.contains('.');
    dotted.then(|| name.to_string())
}

/// OpenSSL's short name of a dotted OID (what `-subj` is written with), or the OID.
pub fn oid_short_name(oid: &str) -> String {
    oids::NAMES
        .iter()
        .find(|(dotted, _)| *dotted == oid)
        .and_then(|(_, names)| names.last())
        .map_or(oid.to_string(), |name| name.to_string())
}

/// A distinguished name: `(dotted OID, value)` in order.
pub type Name = Vec<(String, String)>;

/// Reads a `Name` (a sequence of sets of attribute type and value).
fn parse_name(value: &Tlv<'_>) -> Result<Name, String> {
    let mut name = Vec::new();
    let mut rdns = der::inside(value);
    while !rdns.is_empty() {
        let rdn = rdns.expect(der::SET)?;
        let mut attributes = der::inside(&rdn);
        while !attributes.is_empty() {
            let pair = attributes.expect(der::SEQUENCE)?;
            let mut fields = der::inside(&pair);
            let oid = der::oid_text(fields.expect(der::OID)?.body)?;
            let text = der::string_text(&fields.any()?)?;
            name.push((oid, text));
        }
    }
    Ok(name)
}

/// One extension: its OID, criticality and the DER of its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    /// Dotted OID.
    pub oid: String,
    /// Whether it is marked critical.
    pub critical: bool,
    /// The extension's value (the content of its OCTET STRING).
    pub value: Vec<u8>,
}

/// Subject alternative names.
pub const SUBJECT_ALT_NAME: &str = "2.5.29.17";
/// Key usage.
pub const KEY_USAGE: &str = "2.5.29.15";
/// Extended key usage.
pub const EXTENDED_KEY_USAGE: &str = "2.5.29.37";
/// Basic constraints.
pub const BASIC_CONSTRAINTS: &str = "2.5.29.19";
/// Subject key identifier.
pub const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";
/// Authority key identifier.
pub const AUTHORITY_KEY_IDENTIFIER: &str = "2.5.29.35";
/// TLS feature (OCSP must staple).
pub const TLS_FEATURE: &str = "1.3.6.1.5.5.7.1.24";

/// Reads a sequence of extensions.
fn parse_extensions(value: &Tlv<'_>) -> Result<Vec<Extension>, String> {
    let mut list = Vec::new();
    let mut items = der::inside(value);
    while !items.is_empty() {
        let item = items.expect(der::SEQUENCE)?;
        let mut fields = der::inside(&item);
        let oid = der::oid_text(fields.expect(der::OID)?.body)?;
        let critical = fields
            .optional(der::BOOLEAN)?
            .is_some_and(|b| b.body.first().is_some_and(|&v| v != 0));
        let value = fields.expect(der::OCTET_STRING)?.body.to_vec();
        list.push(Extension {
            oid,
            critical,
            value,
        });
    }
    Ok(list)
}

/// The extension with `oid`, if present.
pub fn find<'a>(extensions: &'a [Extension], oid: &str) -> Option<&'a Extension> {
    extensions.iter().find(|e| e.oid == oid)
}

/// A subject alternative names value as community.crypto writes the names (`DNS:x`,
/// `IP:1.2.3.4`, `email:x`, `URI:x`, `RID:1.2.3`); other kinds by tag and hex, so they
/// compare unequal to anything given.
pub fn general_names(value: &[u8]) -> Result<Vec<String>, String> {
    let mut outer = Reader::new(value);
    let seq = outer.expect(der::SEQUENCE)?;
    let mut names = Vec::new();
    let mut items = der::inside(&seq);
    while !items.is_empty() {
        let item = items.any()?;
        let text = |body: &[u8]| String::from_utf8_lossy(body).into_owned();
        names.push(match item.tag {
            0x81 => format!("email:{}", text(item.body)),
            0x82 => format!("DNS:{}", text(item.body)),
            0x86 => format!("URI:{}", text(item.body)),
            0x87 => format!("IP:{}", ip_text(item.body)),
            0x88 => format!("RID:{}", der::oid_text(item.body)?),
            tag => format!("{tag:#04x}:{}", hex::encode(item.body)),
        });
    }
    Ok(names)
}

/// An address (4 or 16 bytes) or a network (8 or 32: address and mask) as Python's
/// `ipaddress` writes it.
fn ip_text(bytes: &[u8]) -> String {
    let v4 = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
    let v6 = |b: &[u8]| {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(b);
        Ipv6Addr::from(octets)
    };
    let prefix = |mask: &[u8]| mask.iter().map(|b| b.count_ones()).sum::<u32>();
    match bytes.len() {
        4 => v4(bytes).to_string(),
        16 => v6(bytes).to_string(),
        8 => format!("{}/{}", v4(&bytes[..4]), prefix(&bytes[4..])),
        32 => format!("{}/{}", v6(&bytes[..16]), prefix(&bytes[16..])),
        _ => hex::encode(bytes),
    }
}

/// The names of the key usage bits, in bit order, as community.crypto spells them.
pub const KEY_USAGE_BITS: &[&str] = &[
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
];

/// Cryptography's words for the key usage bits, in bit order (what `*_info` reports,
/// and accepted as usage names too).
pub const KEY_USAGE_WORDS: &[&str] = &[
    "Digital Signature",
    "Non Repudiation",
    "Key Encipherment",
    "Data Encipherment",
    "Key Agreement",
    "Certificate Sign",
    "CRL Sign",
    "Encipher Only",
    "Decipher Only",
];

/// The usage bits set in a key usage value (indexes into [`KEY_USAGE_BITS`]); as
/// cryptography reads them, encipher/decipher only count only with key agreement.
pub fn key_usage_bits(value: &[u8]) -> Result<Vec<bool>, String> {
    let mut reader = Reader::new(value);
    let bits = reader.expect(der::BIT_STRING)?;
    let data = bits.body.get(1..).unwrap_or_default();
    let mut set: Vec<bool> = (0..KEY_USAGE_BITS.len())
        .map(|i| {
            data.get(i / 8)
                .is_some_and(|byte| byte & (0x80 >> (i % 8)) != 0)
        })
        .collect();
    if !set[4] {
        set[7] = false;
        set[8] = false;
    }
    Ok(set)
}

/// The usages (dotted OIDs) of an extended key usage value.
pub fn extended_key_usages(value: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = Reader::new(value);
    let seq = reader.expect(der::SEQUENCE)?;
    let mut items = der::inside(&seq);
    let mut usages = Vec::new();
    while !items.is_empty() {
        usages.push(der::oid_text(items.expect(der::OID)?.body)?);
    }
    Ok(usages)
}

/// A basic constraints value: whether it is a CA and its path length.
pub fn basic_constraints(value: &[u8]) -> Result<(bool, Option<u64>), String> {
    let mut reader = Reader::new(value);
    let seq = reader.expect(der::SEQUENCE)?;
    let mut fields = der::inside(&seq);
    let ca = fields
        .optional(der::BOOLEAN)?
        .is_some_and(|b| b.body.first().is_some_and(|&v| v != 0));
    let path = fields.optional(der::INTEGER)?.map(|n| {
        n.body
            .iter()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
    });
    Ok((ca, path))
}

/// Whether a TLS feature value asks for `status_request` (OCSP must staple).
pub fn asks_status_request(value: &[u8]) -> Result<bool, String> {
    let mut reader = Reader::new(value);
    let seq = reader.expect(der::SEQUENCE)?;
    let mut items = der::inside(&seq);
    while !items.is_empty() {
        if items.expect(der::INTEGER)?.body == [5] {
            return Ok(true);
        }
    }
    Ok(false)
}

/// A certificate signing request.
#[derive(Clone, Debug)]
pub struct Csr {
    /// The subject.
    pub subject: Name,
    /// The public key.
    pub public_key: PublicKey,
    /// The requested extensions.
    pub extensions: Vec<Extension>,
}

impl Csr {
    /// Reads a request's DER.
    pub fn parse(data: &[u8]) -> Result<Csr, String> {
        let mut outer = Reader::new(data);
        let request = outer.expect(der::SEQUENCE)?;
        let info = der::inside(&request).expect(der::SEQUENCE)?;
        let mut fields = der::inside(&info);
        fields.expect(der::INTEGER)?;
        let subject = parse_name(&fields.expect(der::SEQUENCE)?)?;
        let public_key = PublicKey::parse(fields.expect(der::SEQUENCE)?.whole)?;
        let mut extensions = Vec::new();
        if let Some(attributes) = fields.optional(0xa0)? {
            let mut list = der::inside(&attributes);
            while !list.is_empty() {
                let attribute = list.expect(der::SEQUENCE)?;
                let mut parts = der::inside(&attribute);
                let oid = der::oid_text(parts.expect(der::OID)?.body)?;
                let values = parts.expect(der::SET)?;
                if oid == "1.2.840.113549.1.9.14" {
                    extensions = parse_extensions(&der::inside(&values).expect(der::SEQUENCE)?)?;
                }
            }
        }
        Ok(Csr {
            subject,
            public_key,
            extensions,
        })
    }
}

/// A certificate.
#[derive(Clone, Debug)]
pub struct Certificate {
    /// The serial number, as an unsigned big-endian integer.
    pub serial: Vec<u8>,
    /// The issuer.
    pub issuer: Name,
    /// Start of validity, `YYYYMMDDHHMMSSZ`.
    pub not_before: String,
    /// End of validity, `YYYYMMDDHHMMSSZ`.
    pub not_after: String,
    /// The subject.
    pub subject: Name,
    /// The public key.
    pub public_key: PublicKey,
    /// The extensions.
    pub extensions: Vec<Extension>,
}

impl Certificate {
    /// Reads a certificate's DER.
    pub fn parse(data: &[u8]) -> Result<Certificate, String> {
        let mut outer = Reader::new(data);
        let certificate = outer.expect(der::SEQUENCE)?;
        let tbs = der::inside(&certificate).expect(der::SEQUENCE)?;
        let mut fields = der::inside(&tbs);
        fields.optional(0xa0)?;
        let serial = fields.expect(der::INTEGER)?.body;
        let serial = serial
            .strip_prefix(&[0u8])
            .filter(|rest| !rest.is_empty())
            .unwrap_or(serial)
            .to_vec();
        fields.expect(der::SEQUENCE)?;
        let issuer = parse_name(&fields.expect(der::SEQUENCE)?)?;
        let validity = fields.expect(der::SEQUENCE)?;
        let mut times = der::inside(&validity);
        let not_before = time_text(&times.any()?)?;
        let not_after = time_text(&times.any()?)?;
        let subject = parse_name(&fields.expect(der::SEQUENCE)?)?;
        let public_key = PublicKey::parse(fields.expect(der::SEQUENCE)?.whole)?;
        fields.optional(0x81)?;
        fields.optional(0x82)?;
        let extensions = match fields.optional(0xa3)? {
            Some(wrapped) => parse_extensions(&der::inside(&wrapped).expect(der::SEQUENCE)?)?,
            None => Vec::new(),
        };
        Ok(Certificate {
            serial,
            issuer,
            not_before,
            not_after,
            subject,
            public_key,
            extensions,
        })
    }

    /// The serial number in decimal, as Python prints the integer.
    pub fn serial_decimal(&self) -> String {
        decimal(&self.serial)
    }
}

/// A `UTCTime` or `GeneralizedTime` as `YYYYMMDDHHMMSSZ`.
fn time_text(value: &Tlv<'_>) -> Result<String, String> {
    let text = String::from_utf8_lossy(value.body);
    match value.tag {
        der::UTC_TIME if text.len() == 13 => {
            let year: u32 = text[..2].parse().map_err(|_| "DER: bad UTCTime")?;
            let century = if year >= 50 { "19" } else { "20" };
            Ok(format!("{century}{text}"))
        }
        der::GENERALIZED_TIME if text.len() == 15 => Ok(text.into_owned()),
        _ => Err(format!("DER: unsupported time {text}")),
    }
}

/// An unsigned big-endian integer in decimal.
pub fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0];
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            let value = u32::from(*digit) * 256 + carry;
            *digit = (value % 10) as u8;
            carry = value / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

/// DER the crypto modules' unit tests share.
#[cfg(test)]
pub mod tests_support {
    /// A self-signed certificate made by `x509_certificate` from [`SIGNED_CSR`] and its
    /// P-256 key (SKI copied from the request), on a Debian 12 container.
    pub const CERT: &str = "MIICDDCCAbGgAwIBAgIISkps1v+cZF8wCgYIKoZIzj0EAwIwOzEQMA4GA1UECgwHRXhhbXBsZTEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMQ0wCwYDVQQHDARUb3duMB4XDTI2MTIwMzE3MjAzN1oXDTM2MTEzMDE3MjAzN1owOzEQMA4GA1UECgwHRXhhbXBsZTEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMQ0wCwYDVQQHDARUb3duMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMn9g6okPdpmhog/vL4NbVhwan9ceZ5gHZ3Nra/9CgF/akN5TPegaG5iQ0XhtBlwGc0oYyS3zJSo3rClqnUYX/aOBnjCBmzAtBgNVHREEJjAkgg93d3cuZXhhbXBsZS5jb22CC2V4YW1wbGUuY29thwQKAAABMA4GA1UdDwEB/wQEAwIFoDAdBgNVHSUEFjAUBggrBgEFBQcDAQYIKwYBBQUHAwIwCQYDVR0TBAIwADARBggrBgEFBQcBGAQFMAMCAQUwHQYDVR0OBBYEFI5uKoeC9A6uIWDpeRQJZZsWgGRtMAoGCCqGSM49BAMCA0kAMEYCIQCp7fho3GSbrTnvelowh3xd7STh410S3x9Bkn5jmjgEVAIhANX90w6UuAebdL05G4BuSYSU37YVr4KL+87FLv4V06qI";

    /// The request [`CERT`] was made from: O=Example, CN=www.example.com, L=Town,
    /// three alternative names, key usage, EKU, CA:FALSE, OCSP must staple, an SKI.
    pub const SIGNED_CSR: &str = "MIIBqDCCAU0CAQAwOzEQMA4GA1UECgwHRXhhbXBsZTEYMBYGA1UEAwwPd3d3LmV4YW1wbGUuY29tMQ0wCwYDVQQHDARUb3duMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEMn9g6okPdpmhog/vL4NbVhwan9ceZ5gHZ3Nra/9CgF/akN5TPegaG5iQ0XhtBlwGc0oYyS3zJSo3rClqnUYX/aCBrzCBrAYJKoZIhvcNAQkOMYGeMIGbMC0GA1UdEQQmMCSCD3d3dy5leGFtcGxlLmNvbYILZXhhbXBsZS5jb22HBAoAAAEwDgYDVR0PAQH/BAQDAgWgMB0GA1UdJQQWMBQGCCsGAQUFBwMBBggrBgEFBQcDAjAJBgNVHRMEAjAAMBEGCCsGAQUFBwEYBAUwAwIBBTAdBgNVHQ4EFgQUjm4qh4L0Dq4hYOl5FAllmxaAZG0wCgYIKoZIzj0EAwIDSQAwRgIhAJB8Zpff7MWUEKF2tDrwqL4GwbGtTnQQzmx+gduCFn/1AiEAnK2dyQhjmVh/Ddg8gHbzYa0ZPENsIFUWUoRCNch5M+g=";

    /// `openssl req -new -key ec.pem -subj /CN=www.example.com/O=Example -addext
    /// subjectAltName=DNS:www.example.com,IP:10.0.0.1 -addext keyUsage=critical,digitalSignature
    /// -addext extendedKeyUsage=serverAuth -addext basicConstraints=CA:FALSE -outform DER`,
    /// made on a Debian 12 container (OpenSSL 3.0)
    pub const CSR: &str = "MIIBSTCB8QIBADAsMRgwFgYDVQQDDA93d3cuZXhhbXBsZS5jb20xEDAOBgNVBAoMB0V4YW1wbGUwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQNiU/r6Uoi6MLVM2KvIA6cAzOhJ30sekuEe40QImXM3U6XDUx37s6mxD5KdG1TMCAb9sX9RhEYi/qImmvf74cBoGMwYQYJKoZIhvcNAQkOMVQwUjAgBgNVHREEGTAXgg93d3cuZXhhbXBsZS5jb22HBAoAAAEwDgYDVR0PAQH/BAQDAgeAMBMGA1UdJQQMMAoGCCsGAQUFBwMBMAkGA1UdEwQCMAAwCgYIKoZIzj0EAwIDRwAwRAIgD+KKejvVcIMIeU/sG7hT2yCt91btNSFJ2pkmGYSygN0CIB/GrSenhM6W0O93tT5oZeiDy6MurIaeOPaeVqs58Dt9";
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;

    fn b64(text: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64")
    }

    #[test]
    fn a_request_reads_with_its_subject_key_and_extensions() {
        let csr = Csr::parse(&b64(tests_support::CSR)).expect("a CSR");
        assert_eq!(
            csr.subject,
            [
                ("2.5.4.3".to_string(), "www.example.com".to_string()),
                ("2.5.4.10".to_string(), "Example".to_string())
            ]
        );
        assert_eq!(csr.public_key.kind, KeyKind::Ecc("secp256r1".into()));
        let san = find(&csr.extensions, SUBJECT_ALT_NAME).expect("SAN");
        assert!(!san.critical);
        assert_eq!(
            general_names(&san.value).expect("names"),
            ["DNS:www.example.com", "IP:10.0.0.1"]
        );
        let ku = find(&csr.extensions, KEY_USAGE).expect("key usage");
        assert!(ku.critical);
        let bits = key_usage_bits(&ku.value).expect("bits");
        assert_eq!(bits.iter().filter(|b| **b).count(), 1);
        assert!(bits[0]);
        let eku = find(&csr.extensions, EXTENDED_KEY_USAGE).expect("EKU");
        assert_eq!(
            extended_key_usages(&eku.value).expect("usages"),
            ["1.3.6.1.5.5.7.3.1"]
        );
        let bc = find(&csr.extensions, BASIC_CONSTRAINTS).expect("BC");
        assert_eq!(basic_constraints(&bc.value), Ok((false, None)));
    }

    #[test]
    fn a_certificate_reads_with_its_validity_and_serial() {
        let cert = Certificate::parse(&b64(tests_support::CERT)).expect("a certificate");
        assert_eq!(cert.not_before, "20261203172037Z");
        assert_eq!(cert.not_after, "20361130172037Z");
        assert_eq!(cert.serial_decimal(), "5353210777750496351");
        assert_eq!(cert.subject, cert.issuer);
        assert_eq!(cert.extensions.len(), 6);
        assert_eq!(cert.public_key.kind, KeyKind::Ecc("secp256r1".into()));
    }

    #[test]
    fn names_map_to_oids_and_back() {
        assert_eq!(name_to_oid("CN").as_deref(), Some("2.5.4.3"));
        assert_eq!(name_to_oid("commonName").as_deref(), Some("2.5.4.3"));
        assert_eq!(
            name_to_oid("serverAuth").as_deref(),
            Some("1.3.6.1.5.5.7.3.1")
        );
        assert_eq!(
            name_to_oid("TLS Web Client Authentication").as_deref(),
            Some("1.3.6.1.5.5.7.3.2")
        );
        assert_eq!(name_to_oid("1.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(name_to_oid("nonsense"), None);
        assert_eq!(oid_short_name("2.5.4.8"), "ST");
        assert_eq!(oid_short_name("1.2.840.113549.1.9.1"), "emailAddress");
    }

    #[test]
    fn addresses_and_serials_print_as_python_does() {
        assert_eq!(ip_text(&[10, 0, 0, 1]), "10.0.0.1");
        assert_eq!(ip_text(&[10, 0, 0, 0, 255, 255, 255, 0]), "10.0.0.0/24");
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[2] = 0x0d;
        v6[3] = 0xb8;
        v6[15] = 1;
        assert_eq!(ip_text(&v6), "2001:db8::1");
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert_eq!(decimal(&[0xff; 9]), "4722366482869645213695");
        assert_eq!(decimal(&[]), "0");
    }
}
