//! `openssl_privatekey` (community.crypto): a private key file, generated on the
//! target by `openssl genpkey` and written by `openssl pkey` in the wanted format and
//! encryption. The key never leaves the target (only with `return_content`); the query
//! reads the file's PEM label, whether it is encrypted, and its public key in DER, from
//! which the control node learns type, size, curve and fingerprints.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::fingerprint;
use super::openssl::{self, Install};
use super::x509::{CURVES, KeyKind, PublicKey};
use crate::connection::{Command, quote};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::fileops::{self, FileStat};
use crate::modules::typed::{Rules, WithAttributes, arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a private key file.
pub struct OpensslPrivatekey;

arg_enum! {
    /// Whether the key should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

arg_enum! {
    /// The key's algorithm.
    pub enum KeyType {
        Dsa = "DSA",
        Ecc = "ECC",
        Ed25519 = "Ed25519",
        Ed448 = "Ed448",
        Rsa = "RSA",
        X25519 = "X25519",
        X448 = "X448",
    }
}

arg_enum! {
    /// The file's format; `auto` picks PKCS#1 (OpenSSL's traditional format) where it
    /// exists and PKCS#8 for the Edwards and Montgomery keys; `auto_ignore` never
    /// looks at an existing key's format.
    pub enum Format {
        Pkcs1 = "pkcs1",
        Pkcs8 = "pkcs8",
        Raw = "raw",
        Auto = "auto",
        AutoIgnore = "auto_ignore",
    }
}

arg_enum! {
    /// What a key in another format gets.
    pub enum FormatMismatch {
        Regenerate = "regenerate",
        Convert = "convert",
    }
}

arg_enum! {
    /// When an existing key is replaced by a new one.
    pub enum Regenerate {
        Never = "never",
        Fail = "fail",
        PartialIdempotence = "partial_idempotence",
        FullIdempotence = "full_idempotence",
        Always = "always",
    }
}

/// community.crypto's curve names, for the spec's choices.
const CURVE_NAMES: &[&str] = &[
    "secp224r1",
    "secp256k1",
    "secp256r1",
    "secp384r1",
    "secp521r1",
    "secp192r1",
    "brainpoolP256r1",
    "brainpoolP384r1",
    "brainpoolP512r1",
    "sect163k1",
    "sect163r2",
    "sect233k1",
    "sect233r1",
    "sect283k1",
    "sect283r1",
    "sect409k1",
    "sect409r1",
    "sect571k1",
    "sect571r1",
];

module_args! {
    /// `openssl_privatekey`'s arguments.
    pub struct PrivatekeyArgs {
        path: String => .required(),
        state: State => .default_str("present"),
        /// Bits of an RSA or DSA key.
        size: i64 => .default_int(4096),
        r#type: KeyType => .default_str("RSA"),
        curve: Option<String> => .choices(CURVE_NAMES),
        passphrase: Option<String> => .no_log(),
        /// Only `auto` (AES-256-CBC, as cryptography's best available encryption).
        cipher: String => .default_str("auto"),
        format: Format => .default_str("auto_ignore"),
        format_mismatch: FormatMismatch => .default_str("regenerate"),
        regenerate: Regenerate => .default_str("full_idempotence"),
        /// Always generate a new key (`regenerate: always`).
        force: bool => .default_bool(false),
        backup: bool => .default_bool(false),
        return_content: bool => .default_bool(false),
    }
    rules: Rules { required_if: &[("type", "ECC", &["curve"])], ..Rules::NONE };
}

impl PrivatekeyArgs {
    /// The policy, `always` when `force` is set.
    fn regenerate(&self) -> Regenerate {
        if self.force {
            Regenerate::Always
        } else {
            self.regenerate
        }
    }

    /// The format a new key is written in.
    fn wanted_format(&self) -> Format {
        match self.format {
            Format::Auto | Format::AutoIgnore => match self.r#type {
                KeyType::X25519 | KeyType::X448 | KeyType::Ed25519 | KeyType::Ed448 => {
                    Format::Pkcs8
                }
                _ => Format::Pkcs1,
            },
            other => other,
        }
    }

    /// The passphrase, when the key is to be encrypted.
    fn passphrase(&self) -> Option<&str> {
        self.passphrase.as_deref()
    }

    /// Whether `kind` is the wanted type with the wanted size or curve.
    fn matches(&self, kind: &KeyKind) -> bool {
        match (self.r#type, kind) {
            (KeyType::Rsa, KeyKind::Rsa(bits)) | (KeyType::Dsa, KeyKind::Dsa(bits)) => {
                i64::from(*bits) == self.size
            }
            (KeyType::Ecc, KeyKind::Ecc(curve)) => self.curve.as_deref() == Some(curve.as_str()),
            (KeyType::Ed25519, KeyKind::Ed25519)
            | (KeyType::Ed448, KeyKind::Ed448)
            | (KeyType::X25519, KeyKind::X25519)
            | (KeyType::X448, KeyKind::X448) => true,
            _ => false,
        }
    }

    /// `openssl genpkey`'s options for a new key of the wanted type.
    fn genpkey(&self) -> String {
        match self.r#type {
            KeyType::Rsa => format!(
                "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:{}",
                self.size
            ),
            KeyType::Dsa => format!(
                "openssl genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:{} | openssl genpkey -paramfile /dev/stdin",
                self.size
            ),
            KeyType::Ecc => {
                let curve = self.curve.as_deref().unwrap_or_default();
                let openssl_name = CURVES
                    .iter()
                    .find(|(name, ..)| *name == curve)
                    .map_or(curve, |(_, openssl_name, ..)| openssl_name);
                format!(
                    "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:{} -pkeyopt ec_param_enc:named_curve",
                    quote(openssl_name)
                )
            }
            KeyType::Ed25519 => "openssl genpkey -algorithm ED25519".to_string(),
            KeyType::Ed448 => "openssl genpkey -algorithm ED448".to_string(),
            KeyType::X25519 => "openssl genpkey -algorithm X25519".to_string(),
            KeyType::X448 => "openssl genpkey -algorithm X448".to_string(),
        }
    }

    /// `openssl pkey` writing the plain key read on stdin to `"$t"` in the wanted
    /// format and encryption.
    fn write_key(&self) -> String {
        let traditional = match self.wanted_format() {
            Format::Pkcs1 => " -traditional",
            _ => "",
        };
        let (env, encrypt) = match self.passphrase() {
            Some(pass) => {
                let (env, option) = openssl::pass_option("-passout", Some(pass));
                (env, format!(" -aes256 {option}"))
            }
            None => (String::new(), String::new()),
        };
        format!("{env}openssl pkey -passin pass:{traditional}{encrypt} -out \"$t\"")
    }
}

/// The key file as the query found it.
#[derive(Debug, Default)]
pub struct Found {
    /// The destination's directory is missing.
    no_directory: bool,
    /// The file's state, when it exists.
    stat: Option<FileStat>,
    /// The label of its first PEM block (`RSA PRIVATE KEY`), when it has one.
    label: Option<String>,
    /// Whether an OpenSSL traditional PEM says `Proc-Type: 4,ENCRYPTED`.
    encrypted_header: bool,
    /// The public key, when the key could be read with the passphrase given.
    public_key: Option<PublicKey>,
    /// The file's content, when `return_content` asks for it.
    content: Option<String>,
}

impl Found {
    /// The file's format as community.crypto identifies it.
    fn format(&self) -> &'static str {
        match self.label.as_deref() {
            None => "raw",
            Some("PRIVATE KEY" | "ENCRYPTED PRIVATE KEY") => "pkcs8",
            Some(label)
                if label.len() > " PRIVATE KEY".len() && label.ends_with(" PRIVATE KEY") =>
            {
                "pkcs1"
            }
            Some(_) => "unknown-pem",
        }
    }

    /// Whether the key is encrypted.
    fn encrypted(&self) -> bool {
        self.encrypted_header || self.label.as_deref() == Some("ENCRYPTED PRIVATE KEY")
    }

    /// The public key when the key loads with `passphrase` as cryptography loads it:
    /// a passphrase for an encrypted key, none for a plain one.
    fn loaded(&self, passphrase: Option<&str>) -> Option<&PublicKey> {
        self.public_key
            .as_ref()
            .filter(|_| passphrase.is_some() == self.encrypted())
    }
}

/// What must change.
pub type Plan = openssl::FilePlan<Rewrite>;

/// A key file to write.
#[derive(Debug)]
pub struct Rewrite {
    /// The existing key converted rather than a new one generated.
    convert: bool,
    /// The file found, if any.
    current: Option<FileStat>,
    /// What the diff says of the key found.
    before: Json,
}

#[async_trait]
impl StateModule for OpensslPrivatekey {
    const NAME: &'static str = "openssl_privatekey";
    type Args = WithAttributes<PrivatekeyArgs>;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, typed: &Self::Args) -> Result<Found, ModuleError> {
        let args = &typed.args;
        let p = quote(&args.path);
        let (env, passin) = openssl::pass_option("-passin", args.passphrase());
        let script = format!(
            "{}{}{}if [ -f {p} ] && [ -r {p} ]; then printf 'pem:%s\\n' \"$(grep -m1 -e '^-----BEGIN ' -- {p})\"; \
             grep -q '^Proc-Type: 4,ENCRYPTED' -- {p} && echo enc:1; {}{}fi",
            openssl::directory_probe(&args.path),
            fileops::stat_script(&args.path, true, false) + "; ",
            typed.attributes.probe(&args.path),
            openssl::print_base64(
                "pub",
                &format!("{env}openssl pkey -in {p} {passin} -pubout -outform DER")
            ),
            openssl::content_probe(&args.path, args.return_content),
        );
        let out = on.conn.exec(&Command::new(script)).await?.stdout_text();
        let label = openssl::line(&out, "pem")
            .and_then(|l| l.strip_prefix("-----BEGIN "))
            .and_then(|l| l.strip_suffix("-----"))
            .map(str::to_string);
        Ok(Found {
            no_directory: openssl::line(&out, "dir").is_some(),
            stat: fileops::parse_stat(&out),
            label,
            encrypted_header: openssl::line(&out, "enc").is_some(),
            content: openssl::content_of(&out),
            public_key: openssl::base64_line(&out, "pub")
                .and_then(|der| PublicKey::parse(&der).ok()),
        })
    }

    fn decide(&self, typed: &Self::Args, found: Found) -> Result<Decision<Plan>, String> {
        let args = &typed.args;
        if found.no_directory {
            return Err(openssl::missing_directory(&args.path));
        }
        if args.format == Format::Raw {
            return Err("bosun does not write keys in the raw format".to_string());
        }
        let loaded = found.loaded(args.passphrase()).cloned();
        let info = info(&found, args.passphrase());
        let plan = match args.state {
            State::Absent => {
                let decision = Decision::maybe(found.stat.is_some().then_some(Plan::Remove));
                return Ok(with_result(decision, args, None, None)
                    .with_diff(json!({"before": {}, "after": {}})));
            }
            State::Present => match found.stat.as_ref() {
                None => Some(Plan::Write(Box::new(Rewrite {
                    convert: false,
                    current: None,
                    before: json!({}),
                }))),
                Some(stat) => match regeneration(args, &found)? {
                    Some(convert) => Some(Plan::Write(Box::new(Rewrite {
                        convert,
                        current: Some(stat.clone()),
                        before: info.clone(),
                    }))),
                    None => {
                        let mode = typed.attributes.mode().cloned().unwrap_or(json!("0600"));
                        let commands = typed
                            .attributes
                            .replacing_mode(mode)
                            .changes(&args.path, stat)?
                            .commands;
                        (!commands.is_empty()).then_some(Plan::Attributes(commands))
                    }
                },
            },
        };
        // As the collection, a cipher other than `auto` fails only when a key is written.
        if matches!(plan, Some(Plan::Write(_)))
            && args.passphrase.is_some()
            && args.cipher != "auto"
        {
            return Err(
                "Cryptography backend can only use \"auto\" for cipher option.".to_string(),
            );
        }
        let decision = Decision::maybe(plan);
        Ok(
            with_result(decision, args, loaded.as_ref(), found.content.clone())
                .with_diff(json!({"before": info.clone(), "after": info})),
        )
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
        let produce = if rewrite.convert {
            let (env, passin) = openssl::pass_option("-passin", args.passphrase());
            let read = format!("{env}openssl pkey -in {} {passin}", quote(&args.path));
            format!("{read} | {}", args.write_key())
        } else {
            format!("{} | {}", args.genpkey(), args.write_key())
        };
        let mode = typed.attributes.mode().cloned().unwrap_or(json!("0600"));
        let attributes = typed.attributes.replacing_mode(mode);
        let install = Install {
            dest: &args.path,
            produce,
            stdin: None,
            attributes: &attributes,
            current: rewrite.current.as_ref(),
            backup: args.backup,
            content_key: args.return_content.then_some("privatekey"),
        };
        let p = quote(&args.path);
        let (env, passin) = openssl::pass_option("-passin", args.passphrase());
        let after = openssl::print_base64(
            "pub",
            &format!("{env}openssl pkey -in {p} {passin} -pubout -outform DER"),
        );
        let out = install.run(on, &after, &mut result).await?;
        let key = openssl::base64_line(&out, "pub").and_then(|der| PublicKey::parse(&der).ok());
        let after = key.as_ref().map_or(json!({}), super::info::private_key);
        result.insert(
            "diff".into(),
            json!({"before": rewrite.before, "after": after}),
        );
        result.insert(
            "fingerprint".into(),
            key.map_or(Json::Null, |k| Json::Object(fingerprint::all(&k.der))),
        );
        Ok(result)
    }
}

/// Whether the existing key must be generated again (`Some(false)`) or converted
/// (`Some(true)`), as the collection's `needs_regeneration` and `needs_conversion` say;
/// their failures in their words.
fn regeneration(args: &PrivatekeyArgs, found: &Found) -> Result<Option<bool>, String> {
    let generate = Ok(Some(false));
    let policy = args.regenerate();
    if policy == Regenerate::Always {
        return generate;
    }
    let Some(key) = found.loaded(args.passphrase()) else {
        if policy == Regenerate::FullIdempotence {
            return generate;
        }
        return Err("Unable to read the key. The key is protected with a another passphrase / no passphrase or broken. Will not proceed. To force regeneration, call the module with `generate` set to `full_idempotence` or `always`, or with `force=true`.".to_string());
    };
    let lenient = matches!(
        policy,
        Regenerate::PartialIdempotence | Regenerate::FullIdempotence
    );
    if policy != Regenerate::Never && !args.matches(&key.kind) {
        if lenient {
            return generate;
        }
        return Err("Key has wrong type and/or size. Will not proceed. To force regeneration, call the module with `generate` set to `partial_idempotence`, `full_idempotence` or `always`, or with `force=true`.".to_string());
    }
    let format_ok =
        args.format == Format::AutoIgnore || found.format() == args.wanted_format().as_str();
    if args.format_mismatch == FormatMismatch::Regenerate
        && policy != Regenerate::Never
        && !format_ok
    {
        if lenient {
            return generate;
        }
        return Err("Key has wrong format. Will not proceed. To force regeneration, call the module with `generate` set to `partial_idempotence`, `full_idempotence` or `always`, or with `force=true`. To convert the key, set `format_mismatch` to `convert`.".to_string());
    }
    let convert = args.format_mismatch == FormatMismatch::Convert && !format_ok;
    Ok(convert.then_some(true))
}

/// The keys the module returns whatever happens: `filename`, `type`, `size`,
/// `fingerprint` (of the key found; `apply` replaces it with the new key's) and
/// `curve` for ECC keys.
fn with_result(
    decision: Decision<Plan>,
    args: &PrivatekeyArgs,
    key: Option<&PublicKey>,
    content: Option<String>,
) -> Decision<Plan> {
    let fingerprint = key.map_or(Json::Null, |k| Json::Object(fingerprint::all(&k.der)));
    let decision = decision
        .with("type", args.r#type.as_str())
        .with("size", args.size)
        .with("fingerprint", fingerprint);
    let decision = match args.r#type {
        KeyType::Ecc => decision.with("curve", args.curve.clone()),
        _ => decision,
    };
    let decision = decision.with("filename", args.path.clone());
    match args.return_content {
        true => decision.with("privatekey", content),
        false => decision,
    }
}

/// What the collection's `privatekey_info` says of the key, for the diff: whether it
/// could be read, its public key and fingerprint, type and public numbers (without the
/// modulus and point coordinates, which JSON cannot hold as numbers here).
fn info(found: &Found, passphrase: Option<&str>) -> Json {
    if found.stat.is_none() {
        return json!({});
    }
    match found.loaded(passphrase) {
        Some(key) => super::info::private_key(key),
        None => json!({"can_parse_key": false, "key_is_consistent": null}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use base64::Engine;

    /// `openssl pkey -pubout -outform DER` of an Ed25519 key.
    const ED25519: &str = "MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDhl4mjeoYM0=";

    fn key(der_b64: &str) -> PublicKey {
        let der = base64::engine::general_purpose::STANDARD
            .decode(der_b64)
            .expect("base64");
        PublicKey::parse(&der).expect("a key")
    }

    fn stat() -> Option<FileStat> {
        fileops::parse_stat("S:regular file|600|0|0|root|root|119|1|1\n")
    }

    fn decide(args: Json, found: Found) -> Result<Decision<Plan>, String> {
        let typed: WithAttributes<PrivatekeyArgs> = from_json(args).expect("valid arguments");
        OpensslPrivatekey.decide(&typed, found)
    }

    fn ed25519_file(label: &str) -> Found {
        Found {
            stat: stat(),
            label: Some(label.to_string()),
            public_key: Some(key(ED25519)),
            ..Found::default()
        }
    }

    #[test]
    fn a_missing_key_is_generated() {
        let decision = decide(json!({"path": "/k.pem"}), Found::default()).expect("decides");
        assert!(matches!(
            decision.plan,
            Some(Plan::Write(r)) if !r.convert
        ));
        assert_eq!(decision.result["type"], "RSA");
        assert_eq!(decision.result["size"], 4096);
        assert_eq!(decision.result["fingerprint"], Json::Null);
        assert_eq!(decision.result["filename"], "/k.pem");
    }

    #[test]
    fn a_matching_key_is_kept_and_fingerprinted() {
        let args = json!({"path": "/k.pem", "type": "Ed25519", "format": "auto"});
        let decision = decide(args, ed25519_file("PRIVATE KEY")).expect("decides");
        assert!(decision.plan.is_none());
        let fingerprints = decision.result["fingerprint"]
            .as_object()
            .expect("fingerprints");
        assert_eq!(fingerprints.len(), 14);
        let diff = decision.diff.expect("a diff");
        assert_eq!(diff["before"]["type"], "Ed25519");
        assert_eq!(diff["before"], diff["after"]);
    }

    #[test]
    fn type_size_and_format_follow_the_policy() {
        let wrong_type = json!({"path": "/k.pem", "type": "RSA", "size": 2048});
        let decision = decide(wrong_type.clone(), ed25519_file("PRIVATE KEY")).expect("decides");
        assert!(matches!(
            decision.plan,
            Some(Plan::Write(r)) if !r.convert
        ));
        let mut failing = wrong_type.clone();
        failing["regenerate"] = json!("fail");
        let err = decide(failing, ed25519_file("PRIVATE KEY")).expect_err("fails");
        assert!(err.starts_with("Key has wrong type and/or size."), "{err}");
        let mut never = wrong_type;
        never["regenerate"] = json!("never");
        assert!(
            decide(never, ed25519_file("PRIVATE KEY"))
                .expect("decides")
                .plan
                .is_none()
        );

        let pkcs1 = json!({"path": "/k.pem", "type": "Ed25519", "format": "pkcs1", "format_mismatch": "convert"});
        let decision = decide(pkcs1, ed25519_file("PRIVATE KEY")).expect("decides");
        assert!(matches!(
            decision.plan,
            Some(Plan::Write(r)) if r.convert
        ));
    }

    #[test]
    fn a_passphrase_must_match_the_encryption() {
        let args = json!({"path": "/k.pem", "type": "Ed25519", "passphrase": "s", "regenerate": "partial_idempotence"});
        let err = decide(args.clone(), ed25519_file("PRIVATE KEY")).expect_err("plain key");
        assert!(err.starts_with("Unable to read the key."), "{err}");
        let decision = decide(args, ed25519_file("ENCRYPTED PRIVATE KEY")).expect("decides");
        assert!(decision.plan.is_none());
    }

    #[test]
    fn a_cipher_other_than_auto_fails_only_when_writing() {
        let args =
            json!({"path": "/k.pem", "type": "Ed25519", "passphrase": "s", "cipher": "aes128"});
        let err = decide(args.clone(), Found::default()).expect_err("a new key");
        assert_eq!(
            err,
            "Cryptography backend can only use \"auto\" for cipher option."
        );
        assert!(
            decide(args, ed25519_file("ENCRYPTED PRIVATE KEY"))
                .expect("kept")
                .plan
                .is_none()
        );
    }

    #[test]
    fn the_default_mode_is_0600() {
        let mut found = ed25519_file("PRIVATE KEY");
        found.stat = fileops::parse_stat("S:regular file|644|0|0|root|root|119|1|1\n");
        let decision =
            decide(json!({"path": "/k.pem", "type": "Ed25519"}), found).expect("decides");
        match decision.plan {
            Some(Plan::Attributes(commands)) => assert_eq!(commands, ["chmod 0600 -- /k.pem"]),
            other => panic!("expected a chmod, got {other:?}"),
        }
    }

    #[test]
    fn absent_removes_an_existing_file_and_bad_arguments_fail() {
        let decision = decide(
            json!({"path": "/k.pem", "state": "absent"}),
            ed25519_file("PRIVATE KEY"),
        )
        .expect("decides");
        assert!(matches!(decision.plan, Some(Plan::Remove)));
        assert!(
            decide(
                json!({"path": "/k.pem", "state": "absent"}),
                Found::default()
            )
            .expect("decides")
            .plan
            .is_none()
        );
        let err = decide(
            json!({"path": "/d/k.pem"}),
            Found {
                no_directory: true,
                ..Found::default()
            },
        )
        .expect_err("no dir");
        assert_eq!(
            err,
            "The directory /d does not exist or the file is not a directory"
        );
        let err = from_json::<WithAttributes<PrivatekeyArgs>>(json!({"path": "/k", "type": "ECC"}))
            .expect_err("no curve");
        assert_eq!(
            err,
            "type is ECC but all of the following are missing: curve"
        );
    }

    #[test]
    fn new_keys_are_written_in_the_wanted_format() {
        let typed: WithAttributes<PrivatekeyArgs> = from_json(
            json!({"path": "/k", "type": "ECC", "curve": "secp256r1", "passphrase": "pw"}),
        )
        .expect("valid");
        assert!(
            typed
                .args
                .genpkey()
                .contains("ec_paramgen_curve:prime256v1")
        );
        let write = typed.args.write_key();
        assert!(
            write.contains("-traditional -aes256 -passout env:BOSUN_OPENSSL_PASS"),
            "{write}"
        );
        assert!(
            write.starts_with("BOSUN_OPENSSL_PASS=pw openssl pkey -passin pass: -traditional"),
            "{write}"
        );
    }
}
