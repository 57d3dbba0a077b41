//! What community.crypto's `*_info` helpers say of a key, request or certificate, in
//! their key names: the modules' diffs are these dictionaries before and after. Big
//! integers (RSA modulus, curve points, DSA parameters) are left out: JSON numbers
//! here cannot hold them.

use base64::Engine;
use serde_json::{Map, Value as Json, json};

use super::fingerprint;
use super::oids;
use super::x509::{self, CURVES, Extension, KeyKind, Name, PublicKey};

/// The public numbers community.crypto's `public_data` reports that fit in JSON.
pub fn public_data(key: &PublicKey) -> Json {
    let mut public = Map::new();
    match &key.kind {
        KeyKind::Rsa(bits) | KeyKind::Dsa(bits) => {
            public.insert("size".into(), json!(bits));
            if let Some(exponent) = key.exponent {
                public.insert("exponent".into(), json!(exponent));
            }
        }
        KeyKind::Ecc(curve) => {
            public.insert("curve".into(), json!(curve));
            if let Some((.., bits)) = CURVES.iter().find(|(name, ..)| name == curve) {
                public.insert("exponent_size".into(), json!(bits));
            }
        }
        _ => {}
    }
    Json::Object(public)
}

/// `privatekey_info` of a key that could be read.
pub fn private_key(key: &PublicKey) -> Json {
    json!({
        "can_parse_key": true,
        "key_is_consistent": null,
        "public_data": public_data(key),
        "public_key": key.pem(),
        "public_key_fingerprints": fingerprint::preferred(&key.der),
        "type": key.kind.type_name(),
    })
}

/// The long name of an OID (`commonName`, `TLS Web Server Authentication`), or the
/// OID itself.
fn long_name(oid: &str) -> String {
    oids::NAMES
        .iter()
        .find(|(dotted, _)| *dotted == oid)
        .and_then(|(_, names)| names.first())
        .map_or(oid.to_string(), |name| name.to_string())
}

/// A list sorted as the collection's `*_info` sorts usages and constraints.
fn sorted(mut list: Vec<String>) -> Json {
    list.sort();
    json!(list)
}

/// `subject` (a mapping of long names) and `subject_ordered` of a name, under
/// `prefix` (`subject`, `issuer`).
fn name_fields(fields: &mut Map<String, Json>, prefix: &str, name: &Name) {
    let ordered: Vec<Json> = name
        .iter()
        .map(|(oid, value)| json!([long_name(oid), value]))
        .collect();
    let mapping: Map<String, Json> = name
        .iter()
        .map(|(oid, value)| (long_name(oid), json!(value)))
        .collect();
    fields.insert(prefix.to_string(), Json::Object(mapping));
    fields.insert(format!("{prefix}_ordered"), Json::Array(ordered));
}

/// The extension fields a request and a certificate share, their public key, and
/// `extensions_by_oid`.
fn extension_fields(fields: &mut Map<String, Json>, key: &PublicKey, extensions: &[Extension]) {
    let critical = |oid: &str| x509::find(extensions, oid).is_some_and(|e| e.critical);
    let decoded = |oid: &str, read: &dyn Fn(&[u8]) -> Option<Json>| {
        x509::find(extensions, oid)
            .and_then(|e| read(&e.value))
            .unwrap_or(Json::Null)
    };
    fields.insert(
        "basic_constraints".into(),
        decoded(x509::BASIC_CONSTRAINTS, &|v| {
            let (ca, path) = x509::basic_constraints(v).ok()?;
            let mut list = vec![if ca { "CA:TRUE" } else { "CA:FALSE" }.to_string()];
            list.extend(path.map(|p| format!("pathlen:{p}")));
            Some(sorted(list))
        }),
    );
    fields.insert(
        "basic_constraints_critical".into(),
        json!(critical(x509::BASIC_CONSTRAINTS)),
    );
    fields.insert(
        "extended_key_usage".into(),
        decoded(x509::EXTENDED_KEY_USAGE, &|v| {
            let usages = x509::extended_key_usages(v).ok()?;
            Some(sorted(usages.iter().map(|u| long_name(u)).collect()))
        }),
    );
    fields.insert(
        "extended_key_usage_critical".into(),
        json!(critical(x509::EXTENDED_KEY_USAGE)),
    );
    let by_oid: Map<String, Json> = extensions
        .iter()
        .map(|e| {
            let value = base64::engine::general_purpose::STANDARD.encode(&e.value);
            (
                e.oid.clone(),
                json!({"critical": e.critical, "value": value}),
            )
        })
        .collect();
    fields.insert("extensions_by_oid".into(), Json::Object(by_oid));
    fields.insert(
        "key_usage".into(),
        decoded(x509::KEY_USAGE, &|v| {
            let bits = x509::key_usage_bits(v).ok()?;
            let words = x509::KEY_USAGE_WORDS
                .iter()
                .zip(bits)
                .filter(|(_, set)| *set)
                .map(|(word, _)| word.to_string());
            Some(sorted(words.collect()))
        }),
    );
    fields.insert(
        "key_usage_critical".into(),
        json!(critical(x509::KEY_USAGE)),
    );
    fields.insert("name_constraints_critical".into(), json!(false));
    fields.insert("name_constraints_excluded".into(), Json::Null);
    fields.insert("name_constraints_permitted".into(), Json::Null);
    fields.insert(
        "ocsp_must_staple".into(),
        decoded(x509::TLS_FEATURE, &|v| {
            x509::asks_status_request(v).ok().map(Json::Bool)
        }),
    );
    fields.insert(
        "ocsp_must_staple_critical".into(),
        json!(critical(x509::TLS_FEATURE)),
    );
    fields.insert("public_key".into(), json!(key.pem()));
    fields.insert("public_key_data".into(), public_data(key));
    fields.insert(
        "public_key_fingerprints".into(),
        Json::Object(fingerprint::preferred(&key.der)),
    );
    fields.insert("public_key_type".into(), json!(key.kind.type_name()));
    fields.insert(
        "subject_alt_name".into(),
        decoded(x509::SUBJECT_ALT_NAME, &|v| {
            x509::general_names(v).ok().map(|n| json!(n))
        }),
    );
    fields.insert(
        "subject_alt_name_critical".into(),
        json!(critical(x509::SUBJECT_ALT_NAME)),
    );
    fields.insert(
        "subject_key_identifier".into(),
        decoded(x509::SUBJECT_KEY_IDENTIFIER, &|v| {
            let mut reader = super::der::Reader::new(v);
            let id = reader.expect(super::der::OCTET_STRING).ok()?;
            Some(json!(fingerprint::colons(id.body)))
        }),
    );
    fields.insert("authority_cert_issuer".into(), Json::Null);
    fields.insert("authority_cert_serial_number".into(), Json::Null);
    fields.insert("authority_key_identifier".into(), Json::Null);
}

/// `openssl_csr_info` of a request.
pub fn request(csr: &x509::Csr, signature_valid: bool) -> Json {
    let mut fields = Map::new();
    fields.insert("can_parse_csr".into(), json!(true));
    fields.insert("signature_valid".into(), json!(signature_valid));
    name_fields(&mut fields, "subject", &csr.subject);
    extension_fields(&mut fields, &csr.public_key, &csr.extensions);
    Json::Object(fields)
}

/// `x509_certificate_info` of a certificate.
pub fn certificate(cert: &x509::Certificate) -> Json {
    let mut fields = Map::new();
    fields.insert("can_parse_certificate".into(), json!(true));
    name_fields(&mut fields, "subject", &cert.subject);
    name_fields(&mut fields, "issuer", &cert.issuer);
    fields.insert("not_before".into(), json!(cert.not_before));
    fields.insert("not_after".into(), json!(cert.not_after));
    fields.insert("serial_number".into(), serial(cert));
    fields.insert("version".into(), json!(3));
    extension_fields(&mut fields, &cert.public_key, &cert.extensions);
    Json::Object(fields)
}

/// A serial number as the collection returns it: an integer when it fits in 64 bits,
/// else its decimal digits as a string (JSON numbers here stop at 64 bits).
pub fn serial(cert: &x509::Certificate) -> Json {
    let decimal = cert.serial_decimal();
    decimal
        .parse::<u64>()
        .map_or(Json::String(decimal), Json::from)
}
