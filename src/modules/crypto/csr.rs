//! `openssl_csr` (community.crypto): a certificate signing request made on the target
//! by `openssl req` from a private key there (or given as `privatekey_content`). The
//! query reads the existing request and the key's public key as DER; a request is kept
//! when its subject, extensions and public key are what the task asks for and its
//! signature holds, as the collection's `_check_csr` decides.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::info;
use super::openssl::{self, Install};
use super::request::{self, Wanted};
use super::x509::{self, Csr, KeyKind, PublicKey};
use crate::connection::{Command, quote};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::fileops::{self, FileStat};
use crate::modules::typed::{Rules, WithAttributes, arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a certificate signing request file.
pub struct OpensslCsr;

arg_enum! {
    /// Whether the request should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

/// The digests `openssl req` is given as `-<digest>` (cryptography's names).
const DIGESTS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

module_args! {
    /// `openssl_csr`'s arguments.
    pub struct CsrArgs {
        path: String => .required(),
        state: State => .default_str("present"),
        force: bool => .default_bool(false),
        backup: bool => .default_bool(false),
        return_content: bool => .default_bool(false),
        digest: String => .default_str("sha256"),
        privatekey_path: Option<String>,
        privatekey_content: Option<String> => .no_log(),
        privatekey_passphrase: Option<String> => .no_log(),
        /// Only 1 (the only version of PKCS#10).
        version: i64 => .default_int(1),
        subject: Option<Map<String, Json>>,
        country_name: Option<String> => .aliases(&["C", "countryName"]),
        state_or_province_name: Option<String> => .aliases(&["ST", "stateOrProvinceName"]),
        locality_name: Option<String> => .aliases(&["L", "localityName"]),
        organization_name: Option<String> => .aliases(&["O", "organizationName"]),
        organizational_unit_name: Option<String> => .aliases(&["OU", "organizationalUnitName"]),
        common_name: Option<String> => .aliases(&["CN", "commonName"]),
        email_address: Option<String> => .aliases(&["E", "emailAddress"]),
        subject_alt_name: Option<Vec<String>> => .aliases(&["subjectAltName"]),
        subject_alt_name_critical: bool => .default_bool(false).aliases(&["subjectAltName_critical"]),
        use_common_name_for_san: bool => .default_bool(true).aliases(&["useCommonNameForSAN"]),
        key_usage: Option<Vec<String>> => .aliases(&["keyUsage"]),
        key_usage_critical: bool => .default_bool(false).aliases(&["keyUsage_critical"]),
        extended_key_usage: Option<Vec<String>> => .aliases(&["extKeyUsage", "extendedKeyUsage"]),
        extended_key_usage_critical: bool => .default_bool(false)
            .aliases(&["extKeyUsage_critical", "extendedKeyUsage_critical"]),
        basic_constraints: Option<Vec<String>> => .aliases(&["basicConstraints"]),
        basic_constraints_critical: bool => .default_bool(false).aliases(&["basicConstraints_critical"]),
        ocsp_must_staple: bool => .default_bool(false).aliases(&["ocspMustStaple"]),
        ocsp_must_staple_critical: bool => .default_bool(false).aliases(&["ocspMustStaple_critical"]),
        create_subject_key_identifier: bool => .default_bool(false),
    }
    rules: Rules {
        mutually_exclusive: &[&["privatekey_path", "privatekey_content"]],
        ..Rules::NONE
    };
}

impl CsrArgs {
    /// The wanted request, or the collection's error for a bad subject, name or usage.
    fn wanted(&self) -> Result<Wanted, String> {
        if self.version != 1 {
            return Err(format!(
                "value of version must be one of: 1, got: {}",
                self.version
            ));
        }
        let fields = [
            ("C", &self.country_name),
            ("ST", &self.state_or_province_name),
            ("L", &self.locality_name),
            ("O", &self.organization_name),
            ("OU", &self.organizational_unit_name),
            ("CN", &self.common_name),
            ("emailAddress", &self.email_address),
        ];
        let mut subject: Vec<(String, String)> = fields
            .iter()
            .filter_map(|(name, value)| {
                value
                    .as_ref()
                    .filter(|v| !v.is_empty())
                    .map(|v| (name.to_string(), v.clone()))
            })
            .collect();
        if let Some(more) = &self.subject {
            subject.extend(request::name_field(more)?);
        }
        let subject_oids = subject
            .iter()
            .map(|(name, value)| {
                x509::name_to_oid(name)
                    .map(|oid| (oid, value.clone()))
                    .ok_or_else(|| format!("Cannot find OID for \"{name}\""))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let mut alt_names = self.subject_alt_name.clone();
        let common_name = subject
            .iter()
            .find(|(name, _)| name == "CN" || name == "commonName");
        if let Some((_, cn)) = common_name.filter(|_| {
            alt_names.as_ref().is_none_or(Vec::is_empty) && self.use_common_name_for_san
        }) {
            alt_names = Some(vec![format!("DNS:{cn}")]);
        }
        let alt_names_normal = alt_names
            .iter()
            .flatten()
            .map(|n| request::normal_alt_name(n))
            .collect::<Result<Vec<_>, String>>()?;
        let key_usage = match self.key_usage.as_ref().filter(|u| !u.is_empty()) {
            Some(usages) => {
                let mut bits = vec![false; x509::KEY_USAGE_BITS.len()];
                for usage in usages {
                    bits[request::key_usage_index(usage)?] = true;
                }
                Some(bits)
            }
            None => None,
        };
        let extended_key_usage = self
            .extended_key_usage
            .iter()
            .flatten()
            .map(|usage| {
                x509::name_to_oid(usage).ok_or_else(|| format!("Cannot find OID for \"{usage}\""))
            })
            .collect::<Result<Vec<_>, String>>()?;
        let constraints = self.basic_constraints.clone().unwrap_or_default();
        Ok(Wanted {
            subject,
            subject_oids,
            alt_names,
            alt_names_normal,
            alt_names_critical: self.subject_alt_name_critical,
            key_usage,
            key_usage_critical: self.key_usage_critical,
            extended_key_usage,
            extended_key_usage_critical: self.extended_key_usage_critical,
            basic_constraints: request::parse_basic_constraints(&constraints)?,
            basic_constraints_given: !constraints.is_empty(),
            basic_constraints_critical: self.basic_constraints_critical,
            ocsp_must_staple: (self.ocsp_must_staple, self.ocsp_must_staple_critical),
            subject_key_identifier: self.create_subject_key_identifier,
        })
    }

    /// Where `openssl` reads the key: its path, or standard input for the content.
    fn key_source(&self) -> String {
        match &self.privatekey_path {
            Some(path) => quote(path),
            None => "/dev/stdin".to_string(),
        }
    }

    /// The key's content for the command's standard input, when given inline.
    fn key_stdin(&self) -> Option<Vec<u8>> {
        self.privatekey_content
            .as_ref()
            .map(|c| c.as_bytes().to_vec())
    }
}

/// The request file and the key as the query found them.
#[derive(Debug, Default)]
pub struct Found {
    /// The destination's directory is missing.
    no_directory: bool,
    /// The request file's state, when it exists.
    stat: Option<FileStat>,
    /// The request, when it could be read.
    csr: Option<Csr>,
    /// Whether `openssl req -verify` accepted its signature.
    signature_valid: bool,
    /// The key's public key, or why it could not be read (the collection's words).
    key: Option<Result<PublicKey, String>>,
    /// The file's content, when `return_content` asks for it.
    content: Option<String>,
}

/// What must change.
pub type Plan = openssl::FilePlan<Rewrite>;

/// A request to make.
#[derive(Debug)]
pub struct Rewrite {
    /// The key to sign with, or why it cannot be read.
    key: Result<PublicKey, String>,
    /// The file found, if any.
    current: Option<FileStat>,
    /// What the diff says of the request found.
    before: Json,
    /// The `-subj` value and the configuration's extensions.
    subj: String,
    /// The `[ext]` section, empty when no extension is asked for.
    extensions: String,
}

#[async_trait]
impl StateModule for OpensslCsr {
    const NAME: &'static str = "openssl_csr";
    type Args = WithAttributes<CsrArgs>;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, typed: &Self::Args) -> Result<Found, ModuleError> {
        let args = &typed.args;
        let p = quote(&args.path);
        let (env, passin) = openssl::pass_option("-passin", args.privatekey_passphrase.as_deref());
        let mut script = openssl::directory_probe(&args.path)
            + &fileops::stat_script(&args.path, true, false)
            + "; "
            + &typed.attributes.probe(&args.path);
        if let Some(key) = &args.privatekey_path {
            let k = quote(key);
            script.push_str(&format!(
                "[ -r {k} ] || echo nokey:1; grep -q ENCRYPTED -- {k} 2>/dev/null && echo keyenc:1; "
            ));
        }
        let source = args.key_source();
        script.push_str(&openssl::print_base64(
            "key",
            &format!("{env}openssl pkey -in {source} {passin} -pubout -outform DER"),
        ));
        script.push_str(&format!(
            "if [ -f {p} ]; then {}{}openssl req -in {p} -verify -noout >/dev/null 2>&1 && echo sig:ok; fi",
            openssl::print_base64("csr", &format!("openssl req -in {p} -outform DER")),
            openssl::content_probe(&args.path, args.return_content),
        ));
        let mut command = Command::new(script);
        command.stdin = args.key_stdin();
        if command.stdin.is_some() && !on.conn.takes_stdin() {
            return Err(ModuleError::Failed(
                "privatekey_content cannot be passed to openssl under this become method; use privatekey_path"
                    .to_string(),
            ));
        }
        let out = on.conn.exec(&command).await?.stdout_text();
        let encrypted = match &args.privatekey_content {
            Some(content) => content.contains("ENCRYPTED"),
            None => openssl::line(&out, "keyenc").is_some(),
        };
        let key = openssl::base64_line(&out, "key").and_then(|der| PublicKey::parse(&der).ok());
        let key = match (&args.privatekey_path, &args.privatekey_content) {
            (Some(path), _) if openssl::line(&out, "nokey").is_some() => Some(Err(format!(
                "[Errno 2] No such file or directory: '{path}'"
            ))),
            (None, None) => None,
            _ => Some(key_result(
                key,
                encrypted,
                args.privatekey_passphrase.is_some(),
            )),
        };
        Ok(Found {
            no_directory: openssl::line(&out, "dir").is_some(),
            stat: fileops::parse_stat(&out),
            csr: openssl::base64_line(&out, "csr").and_then(|der| Csr::parse(&der).ok()),
            content: openssl::content_of(&out),
            signature_valid: openssl::line(&out, "sig").is_some(),
            key,
        })
    }

    fn decide(&self, typed: &Self::Args, found: Found) -> Result<Decision<Plan>, String> {
        let args = &typed.args;
        if found.no_directory {
            return Err(openssl::missing_directory(&args.path));
        }
        let wanted = args.wanted()?;
        let before = match (&found.stat, &found.csr) {
            (None, _) => json!({}),
            (Some(_), Some(csr)) => info::request(csr, found.signature_valid),
            (Some(_), None) => json!({"can_parse_csr": false}),
        };
        let plan = match (args.state, &found.stat) {
            (State::Absent, stat) => stat.is_some().then_some(Plan::Remove),
            (State::Present, stat) => {
                let Some(key) = found.key.clone() else {
                    return Err("state is present but any of the following are missing: privatekey_path, privatekey_content".to_string());
                };
                let rewrite = |key| Rewrite {
                    key,
                    current: stat.clone(),
                    before: before.clone(),
                    subj: wanted.subj(),
                    extensions: wanted.config_extensions(),
                };
                match (&found.csr, stat) {
                    (Some(csr), Some(stat)) if !args.force => {
                        let key = key?;
                        if wanted.matches(csr, found.signature_valid, &key) {
                            let commands = typed.attributes.changes(&args.path, stat)?.commands;
                            (!commands.is_empty()).then_some(Plan::Attributes(commands))
                        } else {
                            Some(Plan::Write(Box::new(rewrite(Ok(key)))))
                        }
                    }
                    _ => Some(Plan::Write(Box::new(rewrite(key)))),
                }
            }
        };
        let after = match &plan {
            Some(Plan::Remove) => json!({}),
            _ => before.clone(),
        };
        let decision = Decision::maybe(plan).with_diff(json!({"before": before, "after": after}));
        let decision = with_result(decision, args, &wanted);
        Ok(match (args.return_content, args.state) {
            (true, State::Present) => decision.with("csr", found.content.clone()),
            (true, State::Absent) => decision.with("csr", Json::Null),
            (false, _) => decision,
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        typed: &Self::Args,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let args = &typed.args;
        let mut result = Outcome::new();
        let Some(rewrite) = plan
            .settle(on, &args.path, args.backup, &mut result)
            .await?
        else {
            return Ok(result);
        };
        let key = rewrite.key.map_err(ModuleError::Failed)?;
        let digest = match key.kind {
            KeyKind::Rsa(_) | KeyKind::Dsa(_) | KeyKind::Ecc(_) => {
                if !DIGESTS.contains(&args.digest.as_str()) {
                    return Err(ModuleError::Failed(format!(
                        "Unsupported digest \"{}\"",
                        args.digest
                    )));
                }
                format!(" -{}", args.digest)
            }
            _ => String::new(),
        };
        let mut config =
            "[req]\ndistinguished_name = dn\nprompt = no\nutf8 = yes\nstring_mask = utf8only\n"
                .to_string();
        if !rewrite.extensions.is_empty() {
            config.push_str("req_extensions = ext\n[ext]\n");
            config.push_str(&rewrite.extensions);
            config.push('\n');
        }
        config.push_str("[dn]\n");
        let (env, passin) = openssl::pass_option("-passin", args.privatekey_passphrase.as_deref());
        let produce = format!(
            "c=$(mktemp) && printf '%s' {} > \"$c\" && {env}openssl req -new -key {} {passin}{digest} -subj {} -config \"$c\" -out \"$t\"; rc=$?; rm -f -- \"$c\"; exit $rc",
            quote(&config),
            args.key_source(),
            quote(&rewrite.subj),
        );
        let install = Install {
            dest: &args.path,
            produce,
            stdin: args.key_stdin(),
            attributes: &typed.attributes,
            current: rewrite.current.as_ref(),
            backup: args.backup,
            content_key: args.return_content.then_some("csr"),
        };
        let p = quote(&args.path);
        let after = openssl::print_base64("csr", &format!("openssl req -in {p} -outform DER"));
        let out = install.run(on, &after, &mut result).await?;
        let made = openssl::base64_line(&out, "csr").and_then(|der| Csr::parse(&der).ok());
        let after = made
            .as_ref()
            .map_or(json!({}), |csr| info::request(csr, true));
        result.insert(
            "diff".into(),
            json!({"before": rewrite.before, "after": after}),
        );
        Ok(result)
    }
}

/// The key as the collection loads it: a passphrase for an encrypted key, none for a
/// plain one, else its errors.
fn key_result(
    key: Option<PublicKey>,
    encrypted: bool,
    passphrase: bool,
) -> Result<PublicKey, String> {
    if encrypted != passphrase {
        return Err("Wrong or empty passphrase provided for private key".to_string());
    }
    key.ok_or_else(|| {
        "Wrong passphrase provided for private key, or private key cannot be parsed".to_string()
    })
}

/// The keys the module returns whatever happens.
fn with_result(decision: Decision<Plan>, args: &CsrArgs, wanted: &Wanted) -> Decision<Plan> {
    let subject: Vec<Json> = wanted
        .subject
        .iter()
        .map(|(name, value)| json!([name, value]))
        .collect();
    decision
        .with("privatekey", args.privatekey_path.clone())
        .with("filename", args.path.clone())
        .with("subject", subject)
        .with("subjectAltName", wanted.alt_names.clone())
        .with("keyUsage", args.key_usage.clone())
        .with("extendedKeyUsage", args.extended_key_usage.clone())
        .with("basicConstraints", args.basic_constraints.clone())
        .with("ocspMustStaple", args.ocsp_must_staple)
        .with("name_constraints_permitted", json!([]))
        .with("name_constraints_excluded", json!([]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use base64::Engine;

    /// The request of `x509.rs`'s tests: CN=www.example.com, O=Example; SAN
    /// DNS:www.example.com, IP:10.0.0.1; key usage critical digitalSignature; EKU
    /// serverAuth; basic constraints CA:FALSE.
    fn csr() -> Csr {
        let der = base64::engine::general_purpose::STANDARD
            .decode(super::super::x509::tests_support::CSR)
            .expect("base64");
        Csr::parse(&der).expect("a request")
    }

    const ARGS: &str = r#"{"path": "/r.csr", "privatekey_path": "/k.pem", "common_name": "www.example.com",
        "organization_name": "Example", "subject_alt_name": ["DNS:www.example.com", "IP:10.0.0.1"],
        "key_usage": ["digitalSignature"], "key_usage_critical": true,
        "extended_key_usage": ["serverAuth"], "basic_constraints": ["CA:FALSE"]}"#;

    fn decide(args: Json, found: Found) -> Result<Decision<Plan>, String> {
        let typed: WithAttributes<CsrArgs> = from_json(args).expect("valid arguments");
        OpensslCsr.decide(&typed, found)
    }

    fn existing(signature_valid: bool, key: PublicKey) -> Found {
        Found {
            stat: fileops::parse_stat("S:regular file|644|0|0|root|root|119|1|1\n"),
            csr: Some(csr()),
            signature_valid,
            key: Some(Ok(key)),
            ..Found::default()
        }
    }

    #[test]
    fn a_request_saying_what_is_asked_is_kept() {
        let args: Json = serde_json::from_str(ARGS).expect("json");
        let key = csr().public_key;
        let decision = decide(args.clone(), existing(true, key.clone())).expect("decides");
        assert!(decision.plan.is_none(), "{:?}", decision.plan);
        assert_eq!(
            decision.result["subject"],
            json!([["O", "Example"], ["CN", "www.example.com"]])
        );
        assert_eq!(decision.result["privatekey"], "/k.pem");
        let diff = decision.diff.expect("diff");
        assert_eq!(diff["before"]["key_usage"], json!(["Digital Signature"]));
        assert_eq!(
            diff["before"]["extended_key_usage"],
            json!(["TLS Web Server Authentication"])
        );
        assert_eq!(diff["before"]["subject"]["commonName"], "www.example.com");

        assert!(
            decide(args.clone(), existing(false, key.clone()))
                .expect("decides")
                .plan
                .is_some(),
            "bad signature"
        );
        let mut other = args.clone();
        other["subject_alt_name"] = json!(["DNS:www.example.com"]);
        assert!(
            decide(other, existing(true, key.clone()))
                .expect("decides")
                .plan
                .is_some(),
            "fewer names"
        );
        let mut other = args.clone();
        other["key_usage_critical"] = json!(false);
        assert!(
            decide(other, existing(true, key.clone()))
                .expect("decides")
                .plan
                .is_some(),
            "criticality"
        );
        let mut other = args.clone();
        other["organization_name"] = json!("Other");
        assert!(
            decide(other, existing(true, key.clone()))
                .expect("decides")
                .plan
                .is_some(),
            "subject"
        );
        let mut other = args;
        other["ocsp_must_staple"] = json!(true);
        assert!(
            decide(other, existing(true, key))
                .expect("decides")
                .plan
                .is_some(),
            "OCSP"
        );
    }

    #[test]
    fn another_key_or_none_makes_a_new_request_or_fails() {
        let args: Json = serde_json::from_str(ARGS).expect("json");
        let ed25519 = base64::engine::general_purpose::STANDARD
            .decode("MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDhl4mjeoYM0=")
            .expect("base64");
        let other = PublicKey::parse(&ed25519).expect("key");
        assert!(
            decide(args.clone(), existing(true, other))
                .expect("decides")
                .plan
                .is_some()
        );
        let mut found = existing(true, csr().public_key);
        found.key = Some(Err(
            "Wrong or empty passphrase provided for private key".into()
        ));
        assert_eq!(
            decide(args.clone(), found).expect_err("no key"),
            "Wrong or empty passphrase provided for private key"
        );
        let missing = decide(
            args.clone(),
            Found {
                key: Some(Err("gone".into())),
                ..Found::default()
            },
        )
        .expect("a missing request is planned without reading the key (check mode)");
        assert!(matches!(missing.plan, Some(Plan::Write(_))));
        let err = decide(json!({"path": "/r.csr"}), Found::default()).expect_err("no key given");
        assert_eq!(
            err,
            "state is present but any of the following are missing: privatekey_path, privatekey_content"
        );
    }

    #[test]
    fn the_common_name_becomes_the_alternative_name() {
        let typed: WithAttributes<CsrArgs> =
            from_json(json!({"path": "/r", "privatekey_path": "/k", "CN": "a.example"}))
                .expect("valid");
        let wanted = typed.args.wanted().expect("wanted");
        assert_eq!(wanted.alt_names, Some(vec!["DNS:a.example".to_string()]));
        let typed: WithAttributes<CsrArgs> = from_json(
            json!({"path": "/r", "privatekey_path": "/k", "CN": "a", "useCommonNameForSAN": false}),
        )
        .expect("valid");
        assert_eq!(typed.args.wanted().expect("wanted").alt_names, None);
        let typed: WithAttributes<CsrArgs> =
            from_json(json!({"path": "/r", "privatekey_path": "/k", "subject": {"nonsense": "x"}}))
                .expect("valid");
        assert_eq!(
            typed.args.wanted().expect_err("unknown"),
            "Cannot find OID for \"nonsense\""
        );
    }
}
