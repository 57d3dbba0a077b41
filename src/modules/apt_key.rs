//! `apt_key`: OpenPGP keys apt trusts, without the `apt-key` program (deprecated in
//! Debian 12) and without `gpg` on the target. The keyrings are read back and parsed
//! here ([`super::openpgp`]); a new key lands in its own keyring file,
//! `/etc/apt/trusted.gpg.d/<long key id>.gpg` (binary, dearmored here), or in
//! `keyring` when given (kept armored when that path ends in `.asc`). Removing a key
//! rewrites each keyring holding it without it, and deletes a keyring left empty.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::fileops;
use super::openpgp::{self, Key};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param, download};
use crate::connection::{Command, quote};

/// Where apt looks for trusted keyrings besides `/etc/apt/trusted.gpg`.
const TRUSTED_DIR: &str = "/etc/apt/trusted.gpg.d";

/// Adds or removes apt keys.
pub struct AptKey;

/// A keyring file on the target.
struct Keyring {
    path: String,
    armored: bool,
    keys: Vec<Key>,
}

#[async_trait]
impl Module for AptKey {
    fn name(&self) -> &'static str {
        "apt_key"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("id", Kind::Str),
            Param::new("data", Kind::Str),
            Param::new("file", Kind::Str),
            Param::new("keyring", Kind::Str),
            Param::new("url", Kind::Str),
            Param::new("keyserver", Kind::Str),
            Param::new("state", Kind::Str).choices(&["absent", "present"]),
            Param::new("validate_certs", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        args.mutually_exclusive(&[&["data", "file", "keyserver", "url"]])
            .map_err(ModuleError::Failed)?;
        let state = args.str("state").unwrap_or("present");
        let id = args.str("id").map(openpgp::normalize_id);
        if let Some(id) = &id
            && !(id.len() >= 8 && id.chars().all(|c| c.is_ascii_hexdigit()))
        {
            return Ok(super::failed(format!("Invalid key_id: {id}")));
        }
        if args.get("keyserver").is_some() {
            return Ok(super::failed(
                "keyserver is not supported: bosun does not query key servers; give the key with url, file or data",
            ));
        }
        let keyring = args.str("keyring");
        let rings = read_keyrings(ctx, keyring).await?;
        let before = all_ids(&rings);
        let mut outcome = super::ok(false);
        outcome.insert("before".into(), json!(before));
        if state == "absent" {
            let Some(id) = id else {
                return Ok(super::failed("id is required when state is absent"));
            };
            return remove(ctx, &rings, &id, outcome).await;
        }

        let present = |wanted: &str| {
            rings
                .iter()
                .flat_map(|r| &r.keys)
                .any(|k| k.matches(wanted))
        };
        if let Some(id) = id.as_deref().filter(|id| present(id)) {
            describe_id(&mut outcome, id);
            outcome.insert("after".into(), json!(before));
            return Ok(outcome);
        }
        let data = match key_data(ctx, args).await? {
            Ok(data) => data,
            Err(msg) => return Ok(super::failed(msg)),
        };
        let new_keys = match openpgp::keys(&data) {
            Ok(keys) => keys,
            Err(err) => return Ok(super::failed(err.to_string())),
        };
        if let Some(id) = &id
            && !new_keys.iter().any(|k| k.matches(id))
        {
            return Ok(super::failed(format!(
                "key_id {id} is not in the given key data (it holds {})",
                new_keys
                    .iter()
                    .map(|k| k.key_id())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let first = &new_keys[0];
        describe_id(&mut outcome, id.as_deref().unwrap_or(&first.fingerprint));
        let missing: Vec<&Key> = new_keys
            .iter()
            .filter(|k| !present(&k.fingerprint))
            .collect();
        if missing.is_empty() {
            outcome.insert("after".into(), json!(before));
            return Ok(outcome);
        }
        let mut after = before.clone();
        after.extend(missing.iter().map(|k| k.key_id().to_string()));
        outcome.insert("changed".into(), json!(true));
        outcome.insert("after".into(), json!(after));
        if ctx.check_mode {
            return Ok(outcome);
        }
        let path = keyring
            .map(str::to_string)
            .unwrap_or_else(|| format!("{TRUSTED_DIR}/{}.gpg", first.key_id()));
        let existing = rings.iter().find(|r| r.path == path);
        let mut binary: Vec<u8> = existing
            .map(|r| r.keys.iter().flat_map(|k| k.bytes.clone()).collect())
            .unwrap_or_default();
        binary.extend(missing.iter().flat_map(|k| k.bytes.iter().copied()));
        let armored = path.ends_with(".asc");
        if let Err(msg) = write_keyring(ctx, &path, &binary, armored).await? {
            return Ok(super::failed(msg));
        }
        Ok(outcome)
    }
}

/// `id`, `key_id`, `short_id` and `fp` as Ansible returns them.
fn describe_id(outcome: &mut Outcome, id: &str) {
    let tail = |n: usize| id[id.len().saturating_sub(n)..].to_string();
    outcome.insert("id".into(), json!(id));
    outcome.insert("fp".into(), json!(id));
    outcome.insert("key_id".into(), json!(tail(16)));
    outcome.insert("short_id".into(), json!(tail(8)));
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
    ctx: &ModuleContext<'_>,
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
    ctx: &ModuleContext<'_>,
    args: &Args,
) -> Result<Result<Vec<u8>, String>, ModuleError> {
    if let Some(data) = args.str("data") {
        return Ok(Ok(data.as_bytes().to_vec()));
    }
    if let Some(file) = args.str("file") {
        let out = ctx
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
    if let Some(url) = args.str("url") {
        let script = download::script(url, args.bool_or("validate_certs", true));
        let out = ctx.conn.exec(&Command::new(script)).await?;
        return Ok(download::parse(&out.stdout_text(), url));
    }
    Ok(Err(
        "one of data, file, url or keyserver is required to add a key".into(),
    ))
}

/// Takes key `id` out of every keyring holding it.
async fn remove(
    ctx: &ModuleContext<'_>,
    rings: &[Keyring],
    id: &str,
    mut outcome: Outcome,
) -> Result<Outcome, ModuleError> {
    describe_id(&mut outcome, id);
    let holding: Vec<&Keyring> = rings
        .iter()
        .filter(|r| r.keys.iter().any(|k| k.matches(id)))
        .collect();
    let after: Vec<String> = rings
        .iter()
        .flat_map(|r| &r.keys)
        .filter(|k| !k.matches(id))
        .map(|k| k.key_id().to_string())
        .collect();
    outcome.insert("after".into(), json!(after));
    outcome.insert("changed".into(), json!(!holding.is_empty()));
    if ctx.check_mode {
        return Ok(outcome);
    }
    for ring in holding {
        let kept: Vec<u8> = ring
            .keys
            .iter()
            .filter(|k| !k.matches(id))
            .flat_map(|k| k.bytes.iter().copied())
            .collect();
        if kept.is_empty() {
            let removed = fileops::run_checked(ctx, format!("rm -f -- {}", quote(&ring.path)));
            if let Err(msg) = removed.await? {
                return Ok(super::failed(msg));
            }
        } else if let Err(msg) = write_keyring(ctx, &ring.path, &kept, ring.armored).await? {
            return Ok(super::failed(msg));
        }
    }
    Ok(outcome)
}

/// Writes a keyring atomically, mode 0644, armored or binary.
async fn write_keyring(
    ctx: &ModuleContext<'_>,
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
        let mut outcome = Outcome::new();
        describe_id(&mut outcome, "0123456789ABCDEF0123456789ABCDEF01234567");
        assert_eq!(outcome["key_id"], json!("89ABCDEF01234567"));
        assert_eq!(outcome["short_id"], json!("01234567"));
    }
}
