//! `apt_key`: OpenPGP keys apt trusts, without the `apt-key` program (deprecated in
//! Debian 12) and without `gpg` on the target. The keyrings are read back and parsed
//! here ([`super::openpgp`]); a new key lands in its own keyring file,
//! `/etc/apt/trusted.gpg.d/<long key id>.gpg` (binary, dearmored here), or in
//! `keyring` when given (kept armored when that path ends in `.asc`). Removing a key
//! rewrites each keyring holding it without it, and deletes a keyring left empty.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::contract::{Decision, StateModule};
use super::openpgp::{self, Key};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target, download, fileops};
use crate::connection::{Command, quote};

/// Where apt looks for trusted keyrings besides `/etc/apt/trusted.gpg`.
const TRUSTED_DIR: &str = "/etc/apt/trusted.gpg.d";

/// Adds or removes apt keys.
pub struct AptKey;

arg_enum! {
    /// Whether the key should be trusted.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `apt_key`'s arguments.
    pub struct AptKeyArgs {
        /// The key's id or fingerprint.
        id: Option<String>,
        /// The key itself, armored.
        data: Option<String>,
        /// A key file on the target.
        file: Option<String>,
        /// The keyring to add to or remove from.
        keyring: Option<String>,
        /// Where the target downloads the key.
        url: Option<String>,
        /// Refused: bosun queries no key server.
        keyserver: Option<String>,
        state: State => .default_str("present"),
        validate_certs: bool => .default_bool(true),
    }
    rules: Rules {
        mutually_exclusive: &[&["data", "file", "keyserver", "url"]],
        ..Rules::NONE
    };
}

/// A keyring file on the target.
#[derive(Debug)]
pub struct Keyring {
    path: String,
    armored: bool,
    keys: Vec<Key>,
}

/// The keyrings apt trusts (or `keyring`), the wanted id, and the key data when the
/// key must be added.
#[derive(Debug)]
pub struct Found {
    rings: Vec<Keyring>,
    id: Option<String>,
    data: Option<Result<Vec<u8>, String>>,
}

/// A keyring to write (or to delete when `binary` is `None`).
#[derive(Debug, PartialEq, Eq)]
pub struct Save {
    path: String,
    binary: Option<Vec<u8>>,
    armored: bool,
}

#[async_trait]
impl StateModule for AptKey {
    const NAME: &'static str = "apt_key";
    type Args = AptKeyArgs;
    type State = Found;
    type Plan = Vec<Save>;

    async fn query(&self, on: &Target<'_>, args: &AptKeyArgs) -> Result<Found, ModuleError> {
        let id = args.id.as_deref().map(openpgp::normalize_id);
        if let Some(id) = &id
            && !(id.len() >= 8 && id.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Err(ModuleError::Failed(format!("Invalid key_id: {id}")));
        }
        if args.keyserver.is_some() {
            return Err(ModuleError::Failed(
                "keyserver is not supported: bosun does not query key servers; give the key with url, file or data".into(),
            ));
        }
        if args.state == State::Absent && id.is_none() {
            return Err(ModuleError::Failed(
                "id is required when state is absent".into(),
            ));
        }
        let rings = read_keyrings(on, args.keyring.as_deref()).await?;
        let present = id.as_deref().is_some_and(|id| holds(&rings, id));
        let data = match args.state == State::Present && !present {
            true => Some(key_data(on, args).await?),
            false => None,
        };
        Ok(Found { rings, id, data })
    }

    fn decide(&self, args: &AptKeyArgs, found: Found) -> Result<Decision<Vec<Save>>, String> {
        let Found { rings, id, data } = found;
        let before = all_ids(&rings);
        let base = Decision::unchanged().with("before", before.clone());
        let (id, data) = match (args.state, id, data) {
            (State::Absent, Some(id), _) => return Ok(remove(&rings, &id, base)),
            (State::Absent, None, _) => return Err("id is required when state is absent".into()),
            (State::Present, id, None) => {
                let decision = describe_id(base, id.as_deref().unwrap_or(""));
                return Ok(decision.with("after", before));
            }
            (State::Present, id, Some(data)) => (id, data?),
        };
        let new_keys = openpgp::keys(&data).map_err(|err| err.to_string())?;
        let Some(first) = new_keys.first() else {
            return Err("no key in the given key data".into());
        };
        if let Some(id) = &id
            && !new_keys.iter().any(|k| k.matches(id))
        {
            return Err(format!(
                "key_id {id} is not in the given key data (it holds {})",
                new_keys
                    .iter()
                    .map(|k| k.key_id())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        let decision = describe_id(base, id.as_deref().unwrap_or(&first.fingerprint));
        let missing: Vec<&Key> = new_keys
            .iter()
            .filter(|k| !holds(&rings, &k.fingerprint))
            .collect();
        if missing.is_empty() {
            return Ok(decision.with("after", before));
        }
        let mut after = before.clone();
        after.extend(missing.iter().map(|k| k.key_id().to_string()));
        let path = args
            .keyring
            .clone()
            .unwrap_or_else(|| format!("{TRUSTED_DIR}/{}.gpg", first.key_id()));
        let existing = rings.iter().find(|r| r.path == path);
        let mut binary: Vec<u8> = existing
            .map(|r| r.keys.iter().flat_map(|k| k.bytes.clone()).collect())
            .unwrap_or_default();
        binary.extend(missing.iter().flat_map(|k| k.bytes.iter().copied()));
        let save = Save {
            armored: path.ends_with(".asc"),
            path,
            binary: Some(binary),
        };
        Ok(Decision {
            plan: Some(vec![save]),
            ..decision.with("after", after)
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        _args: &AptKeyArgs,
        saves: Vec<Save>,
    ) -> Result<Outcome, ModuleError> {
        for save in saves {
            let done = match &save.binary {
                None => fileops::run_checked(on, format!("rm -f -- {}", quote(&save.path))).await?,
                Some(binary) => write_keyring(on, &save.path, binary, save.armored).await?,
            };
            done.map_err(ModuleError::Failed)?;
        }
        Ok(Outcome::new())
    }
}

/// Whether a key of `rings` matches `id`.
fn holds(rings: &[Keyring], id: &str) -> bool {
    rings.iter().flat_map(|r| &r.keys).any(|k| k.matches(id))
}

/// `id`, `key_id`, `short_id` and `fp` as Ansible returns them.
fn describe_id(decision: Decision<Vec<Save>>, id: &str) -> Decision<Vec<Save>> {
    let tail = |n: usize| {
        id.get(id.len().saturating_sub(n)..)
            .unwrap_or(id)
            .to_string()
    };
    decision
        .with("id", id)
        .with("fp", id)
        .with("key_id", tail(16))
        .with("short_id", tail(8))
}

/// The long ids of every key in `rings`.
fn all_ids(rings: &[Keyring]) -> Vec<String> {
    rings
        .iter()
        .flat_map(|r| &r.keys)
        .map(|k| k.key_id().to_string())
        .collect()
}

/// Reads `keyring`, or every keyring apt trusts: one round trip, base64 on the wire.
async fn read_keyrings(
    ctx: &Target<'_>,
    keyring: Option<&str>,
) -> Result<Vec<Keyring>, ModuleError> {
    let paths = match keyring {
        Some(path) => quote(path),
        None => format!("/etc/apt/trusted.gpg {TRUSTED_DIR}/*.gpg {TRUSTED_DIR}/*.asc"),
    };
    let script = format!(
        "for f in {paths}; do [ -f \"$f\" ] || continue; printf 'F:%s\\n' \"$f\"; base64 -w0 < \"$f\"; echo; done"
    );
    let out = ctx.conn.exec(&Command::new(script)).await?;
    Ok(parse_keyrings(&out.stdout_text()))
}

/// Parses the output of [`read_keyrings`]; unreadable keyrings count as empty.
fn parse_keyrings(output: &str) -> Vec<Keyring> {
    let mut rings = Vec::new();
    let mut lines = output.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line.strip_prefix("F:") else {
            continue;
        };
        let data = STANDARD
            .decode(lines.next().unwrap_or_default().trim())
            .unwrap_or_default();
        rings.push(Keyring {
            path: path.to_string(),
            armored: openpgp::is_armored(&data),
            keys: openpgp::keys(&data).unwrap_or_default(),
        });
    }
    rings
}

/// The key data from `data`, `file` (on the target) or `url` (fetched by the target).
async fn key_data(
    on: &Target<'_>,
    args: &AptKeyArgs,
) -> Result<Result<Vec<u8>, String>, ModuleError> {
    if let Some(data) = &args.data {
        return Ok(Ok(data.as_bytes().to_vec()));
    }
    if let Some(file) = &args.file {
        let out = on
            .conn
            .exec(&Command::new(format!("base64 -w0 < {}", quote(file))))
            .await?;
        if out.rc != 0 {
            return Ok(Err(format!("Could not read key file {file}")));
        }
        return Ok(STANDARD
            .decode(out.stdout_text().trim())
            .map_err(|err| format!("Could not read key file {file}: {err}")));
    }
    if let Some(url) = &args.url {
        let script = download::script(url, args.validate_certs);
        let out = on.conn.exec(&Command::new(script)).await?;
        return Ok(download::parse(&out.stdout_text(), url));
    }
    Ok(Err(
        "one of data, file, url or keyserver is required to add a key".into(),
    ))
}

/// Takes key `id` out of every keyring holding it.
fn remove(rings: &[Keyring], id: &str, base: Decision<Vec<Save>>) -> Decision<Vec<Save>> {
    let saves: Vec<Save> = rings
        .iter()
        .filter(|r| r.keys.iter().any(|k| k.matches(id)))
        .map(|ring| {
            let kept: Vec<u8> = ring
                .keys
                .iter()
                .filter(|k| !k.matches(id))
                .flat_map(|k| k.bytes.iter().copied())
                .collect();
            Save {
                path: ring.path.clone(),
                binary: Some(kept).filter(|k| !k.is_empty()),
                armored: ring.armored,
            }
        })
        .collect();
    let after: Vec<String> = rings
        .iter()
        .flat_map(|r| &r.keys)
        .filter(|k| !k.matches(id))
        .map(|k| k.key_id().to_string())
        .collect();
    let decision = Decision {
        plan: Some(saves).filter(|s| !s.is_empty()),
        ..base
    };
    describe_id(decision, id).with("after", after)
}

/// Writes a keyring atomically, mode 0644, armored or binary.
async fn write_keyring(
    ctx: &Target<'_>,
    path: &str,
    binary: &[u8],
    armored: bool,
) -> Result<Result<(), String>, ModuleError> {
    let data = if armored {
        openpgp::armor(binary).into_bytes()
    } else {
        binary.to_vec()
    };
    Ok(fileops::write_with_mode(ctx, path, &data, 0o644).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keyring_listing_parses() {
        let binary = [0x98u8, 6, 4, 0, 0, 0, 0, 22];
        let out = format!(
            "F:/etc/apt/trusted.gpg.d/a.gpg\n{}\nF:/etc/apt/trusted.gpg.d/broken.asc\n!!\n",
            STANDARD.encode(binary)
        );
        let rings = parse_keyrings(&out);
        assert_eq!(rings.len(), 2);
        assert_eq!(rings[0].keys.len(), 1);
        assert!(!rings[0].armored);
        assert!(rings[1].keys.is_empty(), "unreadable keyrings hold nothing");
        assert_eq!(all_ids(&rings), vec![rings[0].keys[0].key_id().to_string()]);
    }

    #[test]
    fn ids_are_described_like_ansible() {
        let id = "0123456789ABCDEF0123456789ABCDEF01234567";
        let outcome = describe_id(Decision::unchanged(), id).result;
        assert_eq!(outcome["key_id"], json!("89ABCDEF01234567"));
        assert_eq!(outcome["short_id"], json!("01234567"));
    }

    /// One keyring holding one key.
    fn ring(path: &str) -> Keyring {
        let binary = [0x98u8, 6, 4, 0, 0, 0, 0, 22];
        Keyring {
            path: path.into(),
            armored: false,
            keys: openpgp::keys(&binary).expect("a key"),
        }
    }

    fn args(value: serde_json::Value) -> AptKeyArgs {
        crate::modules::typed::from_json(value).expect("valid arguments")
    }

    #[test]
    fn a_trusted_key_changes_nothing_and_removal_deletes_its_keyring() {
        let rings = vec![ring("/etc/apt/trusted.gpg.d/a.gpg")];
        let fp = rings[0].keys[0].fingerprint.clone();
        let found = Found {
            rings,
            id: Some(fp.clone()),
            data: None,
        };
        let decision = AptKey
            .decide(&args(json!({"id": fp})), found)
            .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["before"], decision.result["after"]);
        let found = Found {
            rings: vec![ring("/etc/apt/trusted.gpg.d/a.gpg")],
            id: Some(fp.clone()),
            data: None,
        };
        let absent = args(json!({"id": fp, "state": "absent"}));
        let saves = AptKey.decide(&absent, found).expect("a decision").plan;
        let expected = Save {
            path: "/etc/apt/trusted.gpg.d/a.gpg".into(),
            binary: None,
            armored: false,
        };
        assert_eq!(saves, Some(vec![expected]));
    }

    #[test]
    fn new_key_data_lands_in_its_own_keyring() {
        let binary = [0x98u8, 6, 4, 0, 0, 0, 0, 22];
        let found = Found {
            rings: Vec::new(),
            id: None,
            data: Some(Ok(binary.to_vec())),
        };
        let decision = AptKey
            .decide(&args(json!({"data": "x"})), found)
            .expect("a decision");
        let saves = decision.plan.expect("a keyring to write");
        assert!(saves[0].path.starts_with("/etc/apt/trusted.gpg.d/"));
        assert_eq!(saves[0].binary.as_deref(), Some(&binary[..]));
        let found = Found {
            rings: Vec::new(),
            id: None,
            data: Some(Err("Could not read key file /k".into())),
        };
        let err = AptKey
            .decide(&args(json!({"file": "/k"})), found)
            .expect_err("no data");
        assert_eq!(err, "Could not read key file /k");
    }
}
