//! What a certificate signing request should say, from `openssl_csr`'s arguments: the
//! subject, the extensions in community.crypto's normal form (to compare with a
//! request read from DER) and in `openssl req`'s configuration syntax (to make one).

use std::net::IpAddr;

use serde_json::{Map, Value as Json};

use super::x509::{self, Csr, PublicKey};

/// The wanted contents of a request.
#[derive(Debug, Default)]
pub struct Wanted {
    /// `(name as given, value)`, as the module returns `subject`.
    pub subject: Vec<(String, String)>,
    /// The subject as `(dotted OID, value)`.
    pub subject_oids: Vec<(String, String)>,
    /// The alternative names as given (or from the common name), if any.
    pub alt_names: Option<Vec<String>>,
    /// The alternative names in the form read back from DER (`IP:` normalised).
    pub alt_names_normal: Vec<String>,
    /// Whether the alternative names are marked critical.
    pub alt_names_critical: bool,
    /// The key usage bits (indexes of [`x509::KEY_USAGE_BITS`]), if any.
    pub key_usage: Option<Vec<bool>>,
    /// Whether the key usage is marked critical.
    pub key_usage_critical: bool,
    /// The extended key usages as dotted OIDs.
    pub extended_key_usage: Vec<String>,
    /// Whether the extended key usage is marked critical.
    pub extended_key_usage_critical: bool,
    /// `(CA, path length)`, and whether basic constraints were given at all.
    pub basic_constraints: (bool, Option<u64>),
    /// Whether basic constraints were given.
    pub basic_constraints_given: bool,
    /// Whether the basic constraints are marked critical.
    pub basic_constraints_critical: bool,
    /// Whether OCSP must staple is asked for, and marked critical.
    pub ocsp_must_staple: (bool, bool),
    /// Whether a subject key identifier is to be made from the public key.
    pub subject_key_identifier: bool,
}

/// Parses the given `subject` mapping as community.crypto's `parse_name_field`: each
/// key with a string or a list of strings.
pub fn name_field(subject: &Map<String, Json>) -> Result<Vec<(String, String)>, String> {
    let mut entries = Vec::new();
    for (key, value) in subject {
        match value {
            Json::Array(items) => {
                for item in items {
                    match item.as_str() {
                        Some("") => {
                            return Err(format!(
                                "Values for {key} in subject must not be empty strings"
                            ));
                        }
                        Some(text) => entries.push((key.clone(), text.to_string())),
                        None => return Err(format!("Values {key} in subject must be strings")),
                    }
                }
            }
            Json::String(text) if text.is_empty() => {
                return Err(format!(
                    "Value for {key} in subject must not be an empty string"
                ));
            }
            Json::String(text) => entries.push((key.clone(), text.clone())),
            _ => {
                return Err(format!(
                    "Value for {key} in subject must be either a string or a list of strings"
                ));
            }
        }
    }
    Ok(entries)
}

/// An alternative name in the form read back from DER, or community.crypto's error.
pub fn normal_alt_name(name: &str) -> Result<String, String> {
    let unsupported = || {
        Err(format!(
            "Cannot parse Subject Alternative Name \"{name}\" (potentially unsupported by cryptography backend)"
        ))
    };
    if let Some(address) = name.strip_prefix("IP:") {
        return match address.parse::<IpAddr>() {
            Ok(ip) => Ok(format!("IP:{ip}")),
            Err(e) => Err(format!(
                "Cannot parse Subject Alternative Name \"{name}\": {e}"
            )),
        };
    }
    if let Some(oid) = name.strip_prefix("RID:") {
        return match x509::name_to_oid(oid).filter(|o| o == oid) {
            Some(_) => Ok(name.to_string()),
            None => Err(format!("Cannot parse Subject Alternative Name \"{name}\"")),
        };
    }
    if ["DNS:", "email:", "URI:"]
        .iter()
        .any(|p| name.starts_with(p))
    {
        return Ok(name.to_string());
    }
    if !name.contains(':') {
        return Err(format!(
            "Cannot parse Subject Alternative Name \"{name}\" (forgot \"DNS:\" prefix?)"
        ));
    }
    unsupported()
}

/// The index of a key usage name (`digitalSignature` or `Digital Signature`).
pub fn key_usage_index(usage: &str) -> Result<usize, String> {
    x509::KEY_USAGE_BITS
        .iter()
        .position(|name| *name == usage)
        .or_else(|| x509::KEY_USAGE_WORDS.iter().position(|name| *name == usage))
        .ok_or_else(|| format!("Unknown key usage \"{usage}\""))
}

/// Basic constraints as community.crypto reads them: `(CA, path length)`.
pub fn parse_basic_constraints(constraints: &[String]) -> Result<(bool, Option<u64>), String> {
    let mut ca = false;
    let mut path = None;
    for constraint in constraints {
        if let Some(value) = constraint.strip_prefix("CA:") {
            ca = match value {
                "TRUE" => true,
                "FALSE" => false,
                other => return Err(format!("Unknown basic constraint value \"{other}\" for CA")),
            };
        } else if let Some(value) = constraint.strip_prefix("pathlen:") {
            path =
                Some(value.parse::<u64>().map_err(|e| {
                    format!("Cannot parse path length constraint \"{value}\" ({e})")
                })?);
        } else {
            return Err(format!("Unknown basic constraint \"{constraint}\""));
        }
    }
    Ok((ca, path))
}

/// The subject key identifier cryptography computes from a public key: SHA-1 of the
/// key's bits.
pub fn key_identifier(key: &PublicKey) -> Vec<u8> {
    use sha1::Digest as _;
    let mut outer = super::der::Reader::new(&key.der);
    let bits = outer
        .expect(super::der::SEQUENCE)
        .ok()
        .and_then(|info| {
            let mut fields = super::der::inside(&info);
            fields.any().ok()?;
            fields.expect(super::der::BIT_STRING).ok()
        })
        .map(|b| b.body.get(1..).unwrap_or_default().to_vec())
        .unwrap_or_default();
    sha1::Sha1::digest(&bits).to_vec()
}

impl Wanted {
    /// Whether `csr` (whose signature `signature_valid` says is good) already says
    /// what is wanted and belongs to `key`: community.crypto's `_check_csr`.
    pub fn matches(&self, csr: &Csr, signature_valid: bool, key: &PublicKey) -> bool {
        let as_set = |list: &[(String, String)]| {
            let mut sorted = list.to_vec();
            sorted.sort();
            sorted.dedup();
            sorted
        };
        if as_set(&self.subject_oids) != as_set(&csr.subject) {
            return false;
        }
        let ext = |oid: &str| x509::find(&csr.extensions, oid);
        let same_set = |a: &[String], b: &[String]| {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort();
            a.dedup();
            b.sort();
            b.dedup();
            a == b
        };
        let alt_ext = ext(x509::SUBJECT_ALT_NAME);
        let current_alt = alt_ext
            .and_then(|e| x509::general_names(&e.value).ok())
            .unwrap_or_default();
        if !same_set(&self.alt_names_normal, &current_alt)
            || (!self.alt_names_normal.is_empty()
                && alt_ext.is_some_and(|e| e.critical != self.alt_names_critical))
        {
            return false;
        }
        let usage_ext = ext(x509::KEY_USAGE);
        let usage_ok = match (&self.key_usage, usage_ext) {
            (None, current) => current.is_none(),
            (Some(_), None) => false,
            (Some(bits), Some(e)) => {
                x509::key_usage_bits(&e.value).is_ok_and(|current| &current == bits)
                    && e.critical == self.key_usage_critical
            }
        };
        if !usage_ok {
            return false;
        }
        let eku_ext = ext(x509::EXTENDED_KEY_USAGE);
        let current_eku = eku_ext
            .and_then(|e| x509::extended_key_usages(&e.value).ok())
            .unwrap_or_default();
        if !same_set(&self.extended_key_usage, &current_eku)
            || (!self.extended_key_usage.is_empty()
                && eku_ext.is_some_and(|e| e.critical != self.extended_key_usage_critical))
        {
            return false;
        }
        let bc_ext = ext(x509::BASIC_CONSTRAINTS);
        let current_bc = bc_ext
            .and_then(|e| x509::basic_constraints(&e.value).ok())
            .unwrap_or((false, None));
        let bc_ok = current_bc == self.basic_constraints
            && match bc_ext {
                Some(e) => {
                    self.basic_constraints_given && e.critical == self.basic_constraints_critical
                }
                None => !self.basic_constraints_given,
            };
        if !bc_ok {
            return false;
        }
        let tls_ext = ext(x509::TLS_FEATURE);
        let ocsp_ok = match (self.ocsp_must_staple, tls_ext) {
            ((false, _), current) => current.is_none(),
            ((true, _), None) => false,
            ((true, critical), Some(e)) => {
                e.critical == critical && x509::asks_status_request(&e.value).unwrap_or(false)
            }
        };
        if !ocsp_ok {
            return false;
        }
        let ski_ext = ext(x509::SUBJECT_KEY_IDENTIFIER);
        let ski_ok = match (self.subject_key_identifier, ski_ext) {
            (false, current) => current.is_none(),
            (true, None) => false,
            (true, Some(e)) => {
                let mut reader = super::der::Reader::new(&e.value);
                !e.critical
                    && reader
                        .expect(super::der::OCTET_STRING)
                        .is_ok_and(|id| id.body == key_identifier(key).as_slice())
            }
        };
        if !ski_ok {
            return false;
        }
        let unasked = [x509::AUTHORITY_KEY_IDENTIFIER, "2.5.29.30", "2.5.29.31"];
        if unasked.iter().any(|oid| ext(oid).is_some()) {
            return false;
        }
        signature_valid && csr.public_key.der == key.der
    }

    /// The `[ext]` section of `openssl req`'s configuration; empty when no extension
    /// is wanted.
    pub fn config_extensions(&self) -> String {
        let critical = |flag: bool| if flag { "critical," } else { "" };
        let mut lines = Vec::new();
        if let Some(names) = self.alt_names.as_ref().filter(|n| !n.is_empty()) {
            let names: Vec<String> = names.iter().map(|n| config_value(n)).collect();
            lines.push(format!(
                "subjectAltName = {}{}",
                critical(self.alt_names_critical),
                names.join(",")
            ));
        }
        if let Some(bits) = &self.key_usage {
            let set: Vec<&str> = x509::KEY_USAGE_BITS
                .iter()
                .zip(bits)
                .filter(|(_, set)| **set)
                .map(|(name, _)| *name)
                .collect();
            lines.push(format!(
                "keyUsage = {}{}",
                critical(self.key_usage_critical),
                set.join(",")
            ));
        }
        if !self.extended_key_usage.is_empty() {
            lines.push(format!(
                "extendedKeyUsage = {}{}",
                critical(self.extended_key_usage_critical),
                self.extended_key_usage.join(",")
            ));
        }
        if self.basic_constraints_given {
            let (ca, path) = self.basic_constraints;
            let mut value = format!("CA:{}", if ca { "TRUE" } else { "FALSE" });
            if let Some(path) = path {
                value.push_str(&format!(",pathlen:{path}"));
            }
            lines.push(format!(
                "basicConstraints = {}{value}",
                critical(self.basic_constraints_critical)
            ));
        }
        if self.ocsp_must_staple.0 {
            lines.push(format!(
                "tlsfeature = {}status_request",
                critical(self.ocsp_must_staple.1)
            ));
        }
        if self.subject_key_identifier {
            lines.push("subjectKeyIdentifier = hash".to_string());
        }
        lines.join("\n")
    }

    /// `openssl req -subj`'s value: `/type=value` for each entry, `/` and `\`
    /// escaped; `/` alone for an empty subject.
    pub fn subj(&self) -> String {
        if self.subject_oids.is_empty() {
            return "/".to_string();
        }
        self.subject_oids
            .iter()
            .map(|(oid, value)| {
                let escaped = value.replace('\\', "\\\\").replace('/', "\\/");
                format!("/{}={escaped}", x509::oid_short_name(oid))
            })
            .collect()
    }
}

/// A value escaped for OpenSSL's configuration syntax (`\`, `$`, `#` and quotes).
fn config_value(value: &str) -> String {
    let mut escaped = String::new();
    for c in value.chars() {
        if matches!(c, '\\' | '$' | '#' | '"' | '\'') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_read_as_the_collection_reads_them() {
        let map = json!({"O": ["A", "B"], "L": "Town"});
        let entries = name_field(map.as_object().expect("map")).expect("valid");
        assert_eq!(entries.len(), 3);
        let err = name_field(json!({"O": ""}).as_object().expect("map")).expect_err("empty");
        assert_eq!(err, "Value for O in subject must not be an empty string");
    }

    #[test]
    fn alternative_names_normalise_or_fail_in_the_collections_words() {
        assert_eq!(
            normal_alt_name("IP:2001:0db8::0001").as_deref(),
            Ok("IP:2001:db8::1")
        );
        assert_eq!(
            normal_alt_name("DNS:a.example").as_deref(),
            Ok("DNS:a.example")
        );
        assert_eq!(
            normal_alt_name("a.example"),
            Err(
                "Cannot parse Subject Alternative Name \"a.example\" (forgot \"DNS:\" prefix?)"
                    .to_string()
            )
        );
        assert!(normal_alt_name("dirName:/CN=x").is_err());
    }

    #[test]
    fn usages_and_constraints_parse() {
        assert_eq!(key_usage_index("keyEncipherment"), Ok(2));
        assert_eq!(key_usage_index("CRL Sign"), Ok(6));
        assert!(key_usage_index("everything").is_err());
        assert_eq!(
            parse_basic_constraints(&["CA:TRUE".into(), "pathlen:1".into()]),
            Ok((true, Some(1)))
        );
        assert_eq!(
            parse_basic_constraints(&["CA:maybe".into()]),
            Err("Unknown basic constraint value \"maybe\" for CA".to_string())
        );
    }

    #[test]
    fn the_configuration_says_what_is_wanted() {
        let wanted = Wanted {
            subject_oids: vec![
                ("2.5.4.3".into(), "a/b".into()),
                ("2.5.4.10".into(), "Ex".into()),
            ],
            alt_names: Some(vec!["DNS:a".into(), "IP:10.0.0.1".into()]),
            key_usage: Some(vec![
                true, false, true, false, false, false, false, false, false,
            ]),
            key_usage_critical: true,
            extended_key_usage: vec!["1.3.6.1.5.5.7.3.1".into()],
            basic_constraints_given: true,
            ..Wanted::default()
        };
        assert_eq!(wanted.subj(), "/CN=a\\/b/O=Ex");
        assert_eq!(
            wanted.config_extensions(),
            "subjectAltName = DNS:a,IP:10.0.0.1\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage = 1.3.6.1.5.5.7.3.1\nbasicConstraints = CA:FALSE"
        );
        assert_eq!(config_value("a$b#c"), "a\\$b\\#c");
    }

    #[test]
    fn key_identifiers_hash_the_key_bits() {
        use base64::Engine;
        let der = base64::engine::general_purpose::STANDARD
            .decode("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDhl4mjeoYM0=")
            .expect("base64");
        let key = PublicKey::parse(&der).expect("key");
        assert_eq!(
            hex::encode(key_identifier(&key)),
            "bc6fc944a36cbb861d0abf113cd1f62ccc0cdb30",
            "hashlib.sha1 of the 32 key bytes"
        );
    }
}
