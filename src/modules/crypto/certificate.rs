//! `x509_certificate` (community.crypto) with the `selfsigned` and `ownca` providers: a
//! certificate signed on the target by `openssl ca` (which takes exact validity
//! times) from a request and a key there. The query reads the certificate, the
//! request, the keys and the CA certificate as DER and asks `openssl verify` whether
//! the certificate's signature holds; a certificate is kept when it belongs to the
//! key, says what the request says and was signed by the right key, as the
//! collection's `needs_regeneration` decides.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::info;
use super::openssl::{self, Install};
use super::request::key_identifier;
use super::timespec;
use super::x509::{self, Certificate, Csr, Extension, KeyKind, PublicKey};
use crate::connection::{Command, quote};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::fileops::{self, FileStat};
use crate::modules::typed::{Rules, WithAttributes, arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a certificate file.
pub struct X509Certificate;

arg_enum! {
    /// Whether the certificate should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

arg_enum! {
    /// Who signs the certificate (`acme` is not supported by bosun).
    pub enum Provider {
        Ownca = "ownca",
        Selfsigned = "selfsigned",
    }
}

arg_enum! {
    /// When the certificate gets a subject key identifier of its own.
    pub enum KeyIdentifier {
        CreateIfNotProvided = "create_if_not_provided",
        AlwaysCreate = "always_create",
        NeverCreate = "never_create",
    }
}

module_args! {
    /// `x509_certificate`'s arguments.
    pub struct CertificateArgs {
        path: String => .required(),
        state: State => .default_str("present"),
        provider: Option<Provider>,
        force: bool => .default_bool(false),
        backup: bool => .default_bool(false),
        return_content: bool => .default_bool(false),
        csr_path: Option<String>,
        csr_content: Option<String>,
        privatekey_path: Option<String>,
        privatekey_content: Option<String> => .no_log(),
        privatekey_passphrase: Option<String> => .no_log(),
        /// Whether the validity times are left out of the comparison.
        ignore_timestamps: bool => .default_bool(true),
        selfsigned_version: i64 => .default_int(3),
        selfsigned_digest: String => .default_str("sha256"),
        selfsigned_not_before: String => .default_str("+0s").aliases(&["selfsigned_notBefore"]),
        selfsigned_not_after: String => .default_str("+3650d").aliases(&["selfsigned_notAfter"]),
        selfsigned_create_subject_key_identifier: KeyIdentifier => .default_str("create_if_not_provided"),
        ownca_path: Option<String>,
        ownca_content: Option<String>,
        ownca_privatekey_path: Option<String>,
        ownca_privatekey_content: Option<String> => .no_log(),
        ownca_privatekey_passphrase: Option<String> => .no_log(),
        ownca_digest: String => .default_str("sha256"),
        ownca_version: i64 => .default_int(3),
        ownca_not_before: String => .default_str("+0s"),
        ownca_not_after: String => .default_str("+3650d"),
        ownca_create_subject_key_identifier: KeyIdentifier => .default_str("create_if_not_provided"),
        ownca_create_authority_key_identifier: bool => .default_bool(true),
    }
    rules: Rules {
        mutually_exclusive: &[
            &["csr_path", "csr_content"],
            &["privatekey_path", "privatekey_content"],
            &["ownca_path", "ownca_content"],
            &["ownca_privatekey_path", "ownca_privatekey_content"],
        ],
        ..Rules::NONE
    };
}

/// A file the task names by path or gives as content: how the target's shell refers
/// to it, and the line that writes the content to the query's private directory.
struct Material {
    /// The file for `openssl` (quoted, or `"$d/name"`).
    file: String,
    /// Writes the content into `"$d"`, when given as content.
    setup: String,
}

impl Material {
    /// `path` or `content` as a file on the target; `None` when neither is given.
    fn of(name: &str, path: &Option<String>, content: &Option<String>) -> Option<Material> {
        match (path, content) {
            (Some(path), _) => Some(Material {
                file: quote(path),
                setup: String::new(),
            }),
            (None, Some(content)) => Some(Material {
                file: format!("\"$d/{name}\""),
                setup: format!("printf '%s' {} > \"$d/{name}\"; ", quote(content)),
            }),
            (None, None) => None,
        }
    }
}

/// The files the task names, as the target's shell refers to them.
struct Materials {
    csr: Option<Material>,
    key: Option<Material>,
    ca: Option<Material>,
    ca_key: Option<Material>,
}

impl CertificateArgs {
    /// The provider's settings: whether it is self-signed, its digest, times, key
    /// identifier policy.
    fn provider(&self) -> Provider {
        self.provider.unwrap_or(Provider::Selfsigned)
    }

    fn selfsigned(&self) -> bool {
        self.provider() == Provider::Selfsigned
    }

    fn digest(&self) -> &str {
        if self.selfsigned() {
            &self.selfsigned_digest
        } else {
            &self.ownca_digest
        }
    }

    fn ski_policy(&self) -> KeyIdentifier {
        if self.selfsigned() {
            self.selfsigned_create_subject_key_identifier
        } else {
            self.ownca_create_subject_key_identifier
        }
    }

    /// Whether an authority key identifier is made (ownca only).
    fn creates_aki(&self) -> bool {
        !self.selfsigned() && self.ownca_create_authority_key_identifier
    }

    /// The validity times, resolved now.
    fn times(&self) -> Result<(String, String), String> {
        let now = time::OffsetDateTime::now_utc();
        let (before, after, prefix) = if self.selfsigned() {
            (
                &self.selfsigned_not_before,
                &self.selfsigned_not_after,
                "selfsigned",
            )
        } else {
            (&self.ownca_not_before, &self.ownca_not_after, "ownca")
        };
        for (name, version) in [
            ("selfsigned_version", self.selfsigned_version),
            ("ownca_version", self.ownca_version),
        ] {
            if version != 3 {
                return Err(format!("value of {name} must be one of: 3, got: {version}"));
            }
        }
        Ok((
            timespec::resolve(before, &format!("{prefix}_not_before"), now)?,
            timespec::resolve(after, &format!("{prefix}_not_after"), now)?,
        ))
    }

    fn materials(&self) -> Materials {
        Materials {
            csr: Material::of("csr.pem", &self.csr_path, &self.csr_content),
            key: Material::of("key.pem", &self.privatekey_path, &self.privatekey_content),
            ca: Material::of("ca.pem", &self.ownca_path, &self.ownca_content),
            ca_key: Material::of(
                "cakey.pem",
                &self.ownca_privatekey_path,
                &self.ownca_privatekey_content,
            ),
        }
    }
}

impl Materials {
    fn all(&self) -> impl Iterator<Item = &Material> {
        [&self.csr, &self.key, &self.ca, &self.ca_key]
            .into_iter()
            .flatten()
    }

    /// Makes the private directory `"$d"` and writes the contents there, when any.
    fn setup(&self) -> String {
        let setup: String = self.all().map(|m| m.setup.as_str()).collect();
        if setup.is_empty() {
            String::new()
        } else {
            format!("d=$(mktemp -d) || exit 1; {setup}")
        }
    }

    /// Removes `"$d"` again.
    fn cleanup(&self) -> &'static str {
        if self.all().any(|m| !m.setup.is_empty()) {
            "rm -rf -- \"$d\"; "
        } else {
            ""
        }
    }
}

/// A key as the query found it.
#[derive(Debug, Default)]
struct KeyFound {
    missing: bool,
    encrypted: bool,
    key: Option<PublicKey>,
}

/// The certificate file and what it is made from, as the query found them.
#[derive(Debug, Default)]
pub struct Found {
    no_directory: bool,
    stat: Option<FileStat>,
    cert: Option<Certificate>,
    /// `openssl verify` accepted the certificate's signature (by its own key, or the CA's).
    cert_signature_valid: bool,
    csr_missing: bool,
    csr: Option<Csr>,
    csr_signature_valid: bool,
    key: Option<KeyFound>,
    ca_missing: bool,
    ca: Option<Certificate>,
    ca_key: Option<KeyFound>,
    /// The file's content, when `return_content` asks for it.
    content: Option<String>,
}

/// What must change.
pub type Plan = openssl::FilePlan<Signing>;

/// A certificate to sign.
#[derive(Debug)]
pub struct Signing {
    current: Option<FileStat>,
    before: Json,
    not_before: String,
    not_after: String,
    /// Whether the signing key needs a digest (RSA, DSA, ECC).
    digest: bool,
    /// Whether the request carries a subject key identifier.
    csr_has_ski: bool,
}

/// A key loaded as the collection loads it, or its error.
fn load(
    found: &Option<KeyFound>,
    path: Option<&str>,
    passphrase: bool,
    missing_message: &str,
) -> Result<Option<PublicKey>, String> {
    let Some(found) = found else { return Ok(None) };
    if found.missing {
        return Err(format!(
            "{missing_message} {} does not exist",
            path.unwrap_or_default()
        ));
    }
    if found.encrypted != passphrase {
        return Err("Wrong or empty passphrase provided for private key".to_string());
    }
    found.key.clone().map(Some).ok_or_else(|| {
        "Wrong passphrase provided for private key, or private key cannot be parsed".to_string()
    })
}

/// Extensions without the kinds the provider makes itself.
fn comparable<'a>(extensions: &'a [Extension], args: &CertificateArgs) -> Vec<&'a Extension> {
    extensions
        .iter()
        .filter(|e| {
            !(args.ski_policy() != KeyIdentifier::NeverCreate
                && e.oid == x509::SUBJECT_KEY_IDENTIFIER)
        })
        .filter(|e| !(args.creates_aki() && e.oid == x509::AUTHORITY_KEY_IDENTIFIER))
        .collect()
}

/// The key identifier inside a subject key identifier extension.
fn ski_value(extensions: &[Extension]) -> Option<Vec<u8>> {
    let ext = x509::find(extensions, x509::SUBJECT_KEY_IDENTIFIER)?;
    let mut reader = super::der::Reader::new(&ext.value);
    reader
        .expect(super::der::OCTET_STRING)
        .ok()
        .map(|v| v.body.to_vec())
}

/// The key identifier of an authority key identifier extension (`[0]`).
fn aki_value(extensions: &[Extension]) -> Option<Vec<u8>> {
    let ext = x509::find(extensions, x509::AUTHORITY_KEY_IDENTIFIER)?;
    let mut outer = super::der::Reader::new(&ext.value);
    let seq = outer.expect(super::der::SEQUENCE).ok()?;
    super::der::inside(&seq)
        .optional(0x80)
        .ok()
        .flatten()
        .map(|id| id.body.to_vec())
}

impl CertificateArgs {
    /// Whether the existing certificate must be signed again, as the collection's
    /// `needs_regeneration` of the provider decides.
    fn needs_regeneration(
        &self,
        found: &Found,
        key: Option<&PublicKey>,
        times: &(String, String),
    ) -> bool {
        let Some(cert) = found.cert.as_ref().filter(|_| !self.force) else {
            return true;
        };
        if key.is_some_and(|k| k.der != cert.public_key.der) {
            return true;
        }
        let empty = Csr {
            subject: Vec::new(),
            public_key: cert.public_key.clone(),
            extensions: Vec::new(),
        };
        let (csr, csr_valid) = match &found.csr {
            Some(csr) => (csr, found.csr_signature_valid),
            None => (&empty, true),
        };
        if !csr_valid || csr.public_key.der != cert.public_key.der || csr.subject != cert.subject {
            return true;
        }
        let (cert_exts, csr_exts) = (
            comparable(&cert.extensions, self),
            comparable(&csr.extensions, self),
        );
        if cert_exts.len() != csr_exts.len() || cert_exts.iter().any(|e| !csr_exts.contains(e)) {
            return true;
        }
        if self.ski_policy() != KeyIdentifier::NeverCreate {
            let wanted = match (self.ski_policy(), ski_value(&csr.extensions)) {
                (KeyIdentifier::CreateIfNotProvided, Some(given)) => given,
                _ => key_identifier(&cert.public_key),
            };
            if ski_value(&cert.extensions) != Some(wanted) {
                return true;
            }
        }
        if !self.ignore_timestamps && (cert.not_before != times.0 || cert.not_after != times.1) {
            return true;
        }
        if !found.cert_signature_valid {
            return true;
        }
        if let Some(ca) = found.ca.as_ref().filter(|_| !self.selfsigned()) {
            if ca.subject != cert.issuer {
                return true;
            }
            if self.creates_aki() {
                let expected =
                    ski_value(&ca.extensions).unwrap_or_else(|| key_identifier(&ca.public_key));
                if aki_value(&cert.extensions) != Some(expected) {
                    return true;
                }
            }
        }
        false
    }

    /// The provider's checks of its inputs, in the collection's words; the key that
    /// signs.
    fn signer(&self, found: &Found) -> Result<PublicKey, String> {
        if self.selfsigned() {
            if self.privatekey_path.is_none() && self.privatekey_content.is_none() {
                return Err("One of privatekey_path and privatekey_content must be specified for the selfsigned provider.".to_string());
            }
            if found.csr_missing {
                return Err(format!(
                    "The certificate signing request file {} does not exist",
                    self.csr_path.as_deref().unwrap_or_default()
                ));
            }
            let key = load(
                &found.key,
                self.privatekey_path.as_deref(),
                self.privatekey_passphrase.is_some(),
                "The private key file",
            )?
            .ok_or("Private key has not been provided")?;
            if matches!(key.kind, KeyKind::X25519 | KeyKind::X448) {
                return Err("Private key cannot be used to sign certificates".to_string());
            }
            return Ok(key);
        }
        if self.ownca_path.is_none() && self.ownca_content.is_none() {
            return Err(
                "One of ownca_path and ownca_content must be specified for the ownca provider."
                    .to_string(),
            );
        }
        if self.ownca_privatekey_path.is_none() && self.ownca_privatekey_content.is_none() {
            return Err("One of ownca_privatekey_path and ownca_privatekey_content must be specified for the ownca provider.".to_string());
        }
        if self.csr_path.is_none() && self.csr_content.is_none() {
            return Err("csr_path or csr_content is required for ownca provider".to_string());
        }
        if found.csr_missing {
            return Err(format!(
                "The certificate signing request file {} does not exist",
                self.csr_path.as_deref().unwrap_or_default()
            ));
        }
        if found.ca_missing {
            return Err(format!(
                "The CA certificate file {} does not exist",
                self.ownca_path.as_deref().unwrap_or_default()
            ));
        }
        let ca = found.ca.as_ref().ok_or("Cannot load the CA certificate")?;
        let ca_key = load(
            &found.ca_key,
            self.ownca_privatekey_path.as_deref(),
            self.ownca_privatekey_passphrase.is_some(),
            "The CA private key file",
        )?
        .ok_or("CA private key has not been provided")?;
        if ca_key.der != ca.public_key.der {
            return Err("The CA private key does not belong to the CA certificate".to_string());
        }
        Ok(ca_key)
    }
}

#[async_trait]
impl StateModule for X509Certificate {
    const NAME: &'static str = "x509_certificate";
    type Args = WithAttributes<CertificateArgs>;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, typed: &Self::Args) -> Result<Found, ModuleError> {
        let args = &typed.args;
        let materials = args.materials();
        let p = quote(&args.path);
        let mut script = materials.setup()
            + &openssl::directory_probe(&args.path)
            + &fileops::stat_script(&args.path, true, false)
            + "; "
            + &typed.attributes.probe(&args.path)
            + &openssl::print_base64("cert", &format!("openssl x509 -in {p} -outform DER"))
            + &openssl::content_probe(&args.path, args.return_content);
        let key_probe = |label: &str, material: &Material, passphrase: Option<&str>| {
            let (env, passin) = openssl::pass_option("-passin", passphrase);
            let f = &material.file;
            format!(
                "[ -r {f} ] || echo {label}missing:1; grep -q ENCRYPTED -- {f} 2>/dev/null && echo {label}enc:1; {}",
                openssl::print_base64(
                    label,
                    &format!("{env}openssl pkey -in {f} {passin} -pubout -outform DER")
                )
            )
        };
        if let Some(key) = &materials.key {
            script.push_str(&key_probe(
                "key",
                key,
                args.privatekey_passphrase.as_deref(),
            ));
        }
        if let Some(csr) = &materials.csr {
            let f = &csr.file;
            script.push_str(&format!(
                "[ -r {f} ] || echo csrmissing:1; {}openssl req -in {f} -verify -noout >/dev/null 2>&1 && echo csrsig:ok; ",
                openssl::print_base64("csr", &format!("openssl req -in {f} -outform DER"))
            ));
        }
        match &materials.ca {
            Some(ca) if !args.selfsigned() => {
                let f = &ca.file;
                script.push_str(&format!(
                    "[ -r {f} ] || echo camissing:1; {}[ -f {p} ] && openssl verify -no_check_time -partial_chain -CAfile {f} {p} >/dev/null 2>&1 && echo certsig:ok; ",
                    openssl::print_base64("ca", &format!("openssl x509 -in {f} -outform DER"))
                ));
                if let Some(ca_key) = &materials.ca_key {
                    script.push_str(&key_probe("cakey", ca_key, args.ownca_privatekey_passphrase.as_deref()));
                }
            }
            _ => script.push_str(&format!(
                "[ -f {p} ] && openssl verify -no_check_time -check_ss_sig -partial_chain -CAfile {p} {p} >/dev/null 2>&1 && echo certsig:ok; "
            )),
        }
        script.push_str(materials.cleanup());
        script.push(':');
        let out = on.conn.exec(&Command::new(script)).await?.stdout_text();
        let has = |label: &str| openssl::line(&out, label).is_some();
        let key_found = |label: &str, material: &Option<Material>| {
            material.as_ref().map(|_| KeyFound {
                missing: has(&format!("{label}missing")),
                encrypted: has(&format!("{label}enc")),
                key: openssl::base64_line(&out, label).and_then(|der| PublicKey::parse(&der).ok()),
            })
        };
        let content_encrypted =
            |content: &Option<String>| content.as_deref().is_some_and(|c| c.contains("ENCRYPTED"));
        let mut key = key_found("key", &materials.key);
        if let Some(k) = key.as_mut().filter(|_| args.privatekey_content.is_some()) {
            k.encrypted = content_encrypted(&args.privatekey_content);
        }
        let mut ca_key = key_found("cakey", &materials.ca_key);
        if let Some(k) = ca_key
            .as_mut()
            .filter(|_| args.ownca_privatekey_content.is_some())
        {
            k.encrypted = content_encrypted(&args.ownca_privatekey_content);
        }
        Ok(Found {
            no_directory: has("dir"),
            stat: fileops::parse_stat(&out),
            cert: openssl::base64_line(&out, "cert").and_then(|der| Certificate::parse(&der).ok()),
            content: openssl::content_of(&out),
            cert_signature_valid: has("certsig"),
            csr_missing: has("csrmissing"),
            csr: openssl::base64_line(&out, "csr").and_then(|der| Csr::parse(&der).ok()),
            csr_signature_valid: has("csrsig"),
            key,
            ca_missing: has("camissing"),
            ca: openssl::base64_line(&out, "ca").and_then(|der| Certificate::parse(&der).ok()),
            ca_key,
        })
    }

    fn decide(&self, typed: &Self::Args, found: Found) -> Result<Decision<Plan>, String> {
        let args = &typed.args;
        let before = match (&found.stat, &found.cert) {
            (None, _) => json!({}),
            (Some(_), Some(cert)) => info::certificate(cert),
            (Some(_), None) => json!({"can_parse_certificate": false}),
        };
        if args.state == State::Absent {
            let decision = Decision::maybe(found.stat.is_some().then_some(Plan::Remove))
                .with("filename", args.path.clone())
                .with("privatekey", args.privatekey_path.clone())
                .with("csr", args.csr_path.clone());
            return Ok(match args.return_content {
                true => decision.with("certificate", Json::Null),
                false => decision,
            });
        }
        if args.provider.is_none() {
            return Err(
                "state is present but all of the following are missing: provider".to_string(),
            );
        }
        if args.provider.is_none() {
            return Err(
                "state is present but all of the following are missing: provider".to_string(),
            );
        }
        if found.no_directory {
            return Err(openssl::missing_directory(&args.path));
        }
        let times = args.times()?;
        let signer = args.signer(&found)?;
        let key = if args.selfsigned() {
            Some(signer.clone())
        } else {
            load(
                &found.key,
                args.privatekey_path.as_deref(),
                args.privatekey_passphrase.is_some(),
                "The private key file",
            )?
        };
        let plan = if args.needs_regeneration(&found, key.as_ref(), &times) {
            Some(Plan::Write(Box::new(Signing {
                current: found.stat.clone(),
                before: before.clone(),
                not_before: times.0.clone(),
                not_after: times.1.clone(),
                digest: matches!(
                    signer.kind,
                    KeyKind::Rsa(_) | KeyKind::Dsa(_) | KeyKind::Ecc(_)
                ),
                csr_has_ski: found
                    .csr
                    .as_ref()
                    .is_some_and(|c| ski_value(&c.extensions).is_some()),
            })))
        } else {
            let stat = found.stat.as_ref().ok_or("the certificate vanished")?;
            let commands = typed.attributes.changes(&args.path, stat)?.commands;
            (!commands.is_empty()).then_some(Plan::Attributes(commands))
        };
        // A kept certificate reports its own times and serial; a new one the times it
        // will get (`apply` reports the serial it got).
        let kept = found
            .cert
            .as_ref()
            .filter(|_| !matches!(plan, Some(Plan::Write(_))));
        let (not_before, not_after, serial) = match kept {
            Some(cert) => (
                cert.not_before.clone(),
                cert.not_after.clone(),
                info::serial(cert),
            ),
            None => (times.0.clone(), times.1.clone(), Json::Null),
        };
        let mut decision = Decision::maybe(plan)
            .with_diff(json!({"before": before.clone(), "after": before}))
            .with("filename", args.path.clone())
            .with("privatekey", args.privatekey_path.clone())
            .with("csr", args.csr_path.clone())
            .with("notBefore", not_before)
            .with("notAfter", not_after)
            .with("serial_number", serial);
        if !args.selfsigned() {
            decision = decision
                .with("ca_cert", args.ownca_path.clone())
                .with("ca_privatekey", args.ownca_privatekey_path.clone());
        }
        if args.return_content {
            decision = decision.with("certificate", found.content.clone());
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        typed: &Self::Args,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let args = &typed.args;
        let mut result = Outcome::new();
        let Some(signing) = plan
            .settle(on, &args.path, args.backup, &mut result)
            .await?
        else {
            return Ok(result);
        };
        let materials = args.materials();
        let mut serial = [0u8; 8];
        getrandom::getrandom(&mut serial)
            .map_err(|e| ModuleError::Failed(format!("no randomness: {e}")))?;
        serial[0] = (serial[0] & 0x7f).max(1);
        // A request's own identifier is copied unless a new one must replace it.
        let mut ext = match (args.ski_policy(), signing.csr_has_ski) {
            (KeyIdentifier::AlwaysCreate, _) | (KeyIdentifier::CreateIfNotProvided, false) => {
                vec!["subjectKeyIdentifier = hash"]
            }
            (KeyIdentifier::NeverCreate, false) => vec!["subjectKeyIdentifier = none"],
            (_, true) => Vec::new(),
        };
        ext.push(if args.creates_aki() {
            "authorityKeyIdentifier = keyid:always"
        } else {
            "authorityKeyIdentifier = none"
        });
        let config = format!(
            "[ca]\ndefault_ca = bosun\n[bosun]\ndatabase = $ENV::BOSUN_CA_DIR/index.txt\nnew_certs_dir = $ENV::BOSUN_CA_DIR\n\
             serial = $ENV::BOSUN_CA_DIR/serial\npolicy = anything\ncopy_extensions = copy\nunique_subject = no\n[anything]\n[ext]\n{}\n",
            ext.join("\n")
        );
        let (signer, passphrase) = if args.selfsigned() {
            (
                materials.key.as_ref(),
                args.privatekey_passphrase.as_deref(),
            )
        } else {
            (
                materials.ca_key.as_ref(),
                args.ownca_privatekey_passphrase.as_deref(),
            )
        };
        let signer = signer.ok_or_else(|| ModuleError::Failed("no signing key".to_string()))?;
        let (env, passin) = openssl::pass_option("-passin", passphrase);
        let csr = match &materials.csr {
            Some(csr) => csr.file.clone(),
            None => {
                // The collection signs a request with an empty subject when none is given.
                "\"$w/req.pem\"".to_string()
            }
        };
        let make_csr = match &materials.csr {
            Some(_) => String::new(),
            None => format!(
                "printf '[req]\\ndistinguished_name = dn\\n[dn]\\n' > \"$w/req.cnf\" && {env}openssl req -new -key {} {passin} -subj / -config \"$w/req.cnf\" -out \"$w/req.pem\" && ",
                signer.file
            ),
        };
        let issuer = match (&materials.ca, args.selfsigned()) {
            (Some(ca), false) => format!("-cert {}", ca.file),
            _ => "-selfsign".to_string(),
        };
        let digest = if signing.digest {
            format!(" -md {}", quote(args.digest()))
        } else {
            String::new()
        };
        let produce = format!(
            "{}w=$(mktemp -d) && : > \"$w/index.txt\" && printf '%s\\n' {} > \"$w/serial\" && printf '%s' {} > \"$w/ca.cnf\" && {make_csr}\
             BOSUN_CA_DIR=\"$w\" {env}openssl ca -batch -config \"$w/ca.cnf\" {issuer} -keyfile {} {passin} -in {csr} -out \"$t\" \
             -startdate {} -enddate {} -preserveDN -notext{digest} -extensions ext 2>\"$w/err\" || {{ rc=$?; cat \"$w/err\" >&2; rm -rf -- \"$w\"; {}exit $rc; }}; rm -rf -- \"$w\"; {}:",
            materials.setup(),
            hex::encode_upper(serial),
            quote(&config),
            signer.file,
            signing.not_before,
            signing.not_after,
            materials.cleanup(),
            materials.cleanup(),
        );
        let install = Install {
            dest: &args.path,
            produce,
            stdin: None,
            attributes: &typed.attributes,
            current: signing.current.as_ref(),
            backup: args.backup,
            content_key: args.return_content.then_some("certificate"),
        };
        let p = quote(&args.path);
        let after = openssl::print_base64("cert", &format!("openssl x509 -in {p} -outform DER"));
        let out = install.run(on, &after, &mut result).await?;
        if let Some(cert) =
            openssl::base64_line(&out, "cert").and_then(|der| Certificate::parse(&der).ok())
        {
            result.insert("notBefore".into(), json!(cert.not_before));
            result.insert("notAfter".into(), json!(cert.not_after));
            result.insert("serial_number".into(), info::serial(&cert));
            result.insert(
                "diff".into(),
                json!({"before": signing.before, "after": info::certificate(&cert)}),
            );
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::crypto::x509::tests_support::{CERT, SIGNED_CSR};
    use crate::modules::typed::from_json;
    use base64::Engine;

    fn der(text: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64")
    }

    /// The certificate, its request and key, all as the query reads them.
    fn found() -> Found {
        let cert = Certificate::parse(&der(CERT)).expect("cert");
        let key = cert.public_key.clone();
        Found {
            stat: fileops::parse_stat("S:regular file|644|0|0|root|root|700|1|1\n"),
            cert: Some(cert),
            cert_signature_valid: true,
            csr: Some(Csr::parse(&der(SIGNED_CSR)).expect("csr")),
            csr_signature_valid: true,
            key: Some(KeyFound {
                key: Some(key),
                ..KeyFound::default()
            }),
            ..Found::default()
        }
    }

    fn decide(args: Json, found: Found) -> Result<Decision<Plan>, String> {
        let typed: WithAttributes<CertificateArgs> = from_json(args).expect("valid arguments");
        X509Certificate.decide(&typed, found)
    }

    fn args() -> Json {
        json!({"path": "/c.pem", "provider": "selfsigned", "privatekey_path": "/k.pem", "csr_path": "/r.csr"})
    }

    #[test]
    fn a_certificate_matching_key_and_request_is_kept_with_its_own_times() {
        let decision = decide(args(), found()).expect("decides");
        assert!(decision.plan.is_none(), "{:?}", decision.plan);
        assert_eq!(decision.result["notAfter"], "20361130172037Z");
        assert_eq!(decision.result["serial_number"], 5353210777750496351u64);
        assert_eq!(decision.result["csr"], "/r.csr");
    }

    #[test]
    fn anything_that_differs_signs_again() {
        let mut bad_signature = found();
        bad_signature.cert_signature_valid = false;
        assert!(
            decide(args(), bad_signature)
                .expect("decides")
                .plan
                .is_some()
        );

        let mut other_key = found();
        let ed25519 = der("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDhl4mjeoYM0=");
        other_key.key = Some(KeyFound {
            key: Some(PublicKey::parse(&ed25519).expect("key")),
            ..KeyFound::default()
        });
        assert!(decide(args(), other_key).expect("decides").plan.is_some());

        let mut other_request = found();
        let request =
            Csr::parse(&der(crate::modules::crypto::x509::tests_support::CSR)).expect("csr");
        other_request.csr = Some(request);
        assert!(
            decide(args(), other_request)
                .expect("decides")
                .plan
                .is_some()
        );

        let mut times = args();
        times["ignore_timestamps"] = json!(false);
        assert!(
            decide(times, found()).expect("decides").plan.is_some(),
            "relative times move"
        );

        let mut forced = args();
        forced["force"] = json!(true);
        let decision = decide(forced, found()).expect("decides");
        assert!(matches!(decision.plan, Some(Plan::Write(_))));
        assert_eq!(
            decision.result["serial_number"],
            Json::Null,
            "apply reports the new one"
        );
    }

    #[test]
    fn missing_inputs_fail_in_the_collections_words() {
        let mut no_csr = found();
        no_csr.csr_missing = true;
        assert_eq!(
            decide(args(), no_csr).expect_err("fails"),
            "The certificate signing request file /r.csr does not exist"
        );
        let mut no_key = found();
        no_key.key = Some(KeyFound {
            missing: true,
            ..KeyFound::default()
        });
        assert_eq!(
            decide(args(), no_key).expect_err("fails"),
            "The private key file /k.pem does not exist"
        );
        let ownca = json!({"path": "/c.pem", "provider": "ownca", "csr_path": "/r.csr"});
        assert_eq!(
            decide(ownca, found()).expect_err("fails"),
            "One of ownca_path and ownca_content must be specified for the ownca provider."
        );
        let err = decide(json!({"path": "/c.pem"}), found()).expect_err("no provider");
        assert_eq!(
            err,
            "state is present but all of the following are missing: provider"
        );
        let absent =
            decide(json!({"path": "/c.pem", "state": "absent"}), found()).expect("decides");
        assert!(matches!(absent.plan, Some(Plan::Remove)));
    }
}
