//! Putting given bytes at a path on the target, as `copy` and `template` do, in the
//! contract's three steps: [`query`] stats the destination (SHA-1 computed on the
//! target, the old bytes sent back only when they are about to be replaced), [`decide`]
//! compares and plans, [`apply`] writes atomically or brings mode/owner/group in line.
//! A destination that is a symbolic link is written through with `follow`, and
//! otherwise replaced by a file, as Ansible's `copy` module does.

use base64::Engine as _;
use md5::Digest as _;
use serde_json::{Value as Json, json};

use super::contract::Decision;
use super::fileops::{self, Attributes, FileKind, FileStat, WriteError, sha1_hex};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Content larger than this is not shown in diffs.
const DIFF_LIMIT: u64 = 1024 * 1024;

/// What a diff shows in place of content that came from a vault file.
const VAULTED: &str = "[content decrypted from a vault file is not shown]\n";

/// What a diff shows in place of content larger than [`DIFF_LIMIT`].
const TOO_LARGE: &str = "[file too large to show]\n";

/// The bytes to install and where they came from.
#[derive(Debug)]
pub struct Source {
    /// The bytes the destination must hold.
    pub data: Vec<u8>,
    /// Where the bytes came from (`src`), for the result and for directory dests.
    pub src: Option<String>,
    /// The bytes were decrypted from a vault file: diffs show a placeholder instead.
    pub vaulted: bool,
    /// The source's own permission bits, where known: what `mode: preserve` gives
    /// the destination.
    pub mode: Option<u32>,
}

/// How the file is installed: the arguments `copy` and `template` share.
pub struct Settings<'a> {
    /// Replace an existing file whose content differs.
    pub force: bool,
    /// Keep the old file beside the new one.
    pub backup: bool,
    /// A command with `%s` that must accept the new file before it replaces anything.
    pub validate: Option<&'a str>,
    /// Wanted mode, owner and group.
    pub attributes: &'a Attributes,
}

/// The destination as the target holds it, with the bytes meant for it.
#[derive(Debug)]
pub struct Found {
    /// What to install.
    pub source: Source,
    /// The destination: a file name added when it is a directory, a link followed
    /// with `follow`.
    dest: String,
    /// The destination's state (links followed, with SHA-1), `None` when missing.
    current: Option<FileStat>,
    /// Whether the destination's directory exists.
    parent_exists: bool,
    /// The destination is a symbolic link that a write replaces (no `follow`).
    replaces_link: bool,
    /// The old bytes, sent back when they differ from the new ones and are small.
    before: Option<Vec<u8>>,
}

impl Found {
    /// A destination known without asking: missing, in a directory the same task
    /// creates first.
    pub fn missing(dest: String, source: Source) -> Found {
        Found {
            source,
            dest,
            current: None,
            parent_exists: true,
            replaces_link: false,
            before: None,
        }
    }
}

/// What [`apply`] does.
#[derive(Debug)]
pub enum Plan {
    /// Write `data` to `dest` atomically (`current` is what it replaces).
    Write {
        /// The path written.
        dest: String,
        /// The bytes written.
        data: Vec<u8>,
        /// The file replaced, for its owner and mode.
        current: Option<Box<FileStat>>,
        /// The source's mode, for `mode: preserve`.
        source_mode: Option<u32>,
    },
    /// Run these commands to fix mode, owner or group of `dest`.
    Attributes {
        /// The path changed.
        dest: String,
        /// `chmod`/`chown`/`chgrp` lines.
        commands: Vec<String>,
    },
    /// The destination's directory is missing: a real run fails, check mode reports
    /// the file as one an earlier task's directory would receive (Ansible fails there).
    NoParent(String),
}

/// The decision as Ansible's copy action reports it: a content change's diff in a
/// list (one entry per file copied), an attribute change's as the file module's mapping.
pub fn as_copied(mut decision: Decision<Plan>) -> Decision<Plan> {
    if matches!(decision.plan, Some(Plan::Write { .. } | Plan::NoParent(_))) {
        decision.diff = decision.diff.map(|diff| Json::Array(vec![diff]));
    }
    decision
}

/// Asks the target about `dest` for `source` (from the loop's prefetched answers
/// when there are some), with the `chattr` flags and SELinux state when `attributes`
/// want them: one round trip, two when `dest` is a directory and the file goes in it
/// under the source's name.
pub async fn query(
    on: &Target<'_>,
    dest: &str,
    source: Source,
    follow: bool,
    attributes: &Attributes,
) -> Result<Found, ModuleError> {
    let wanted = sha1_hex(&source.data);
    let mut dest = super::pathexpand::expand_path(on, dest).await?;
    let mut probe = ask(on, &dest, &wanted, follow, attributes).await?;
    if probe
        .current
        .as_ref()
        .is_some_and(|c| c.kind == FileKind::Directory)
    {
        let Some(name) = source
            .src
            .as_deref()
            .and_then(|s| s.trim_end_matches('/').rsplit('/').next())
        else {
            return Err(ModuleError::Failed(format!(
                "can not use content with a dir as dest: {dest}"
            )));
        };
        dest = format!("{}/{name}", dest.trim_end_matches('/'));
        probe = ask(on, &dest, &wanted, follow, attributes).await?;
    }
    let link = probe
        .current
        .as_ref()
        .and_then(|c| c.link_target.as_ref().map(|_| c.details.real_path.clone()));
    let replaces_link = link.is_some() && !follow;
    if let (true, Some(Some(real))) = (follow, link) {
        dest = real;
    }
    Ok(Found {
        source,
        dest,
        current: probe.current,
        parent_exists: probe.parent_exists,
        replaces_link,
        before: probe.before,
    })
}

/// What one look at a destination found.
struct Probe {
    current: Option<FileStat>,
    parent_exists: bool,
    before: Option<Vec<u8>>,
}

/// Whether the old bytes of `current` are wanted for a diff: a readable regular file
/// about to be replaced, small enough to show.
fn needs_before(current: Option<&FileStat>, wanted: &str, follow: bool) -> bool {
    current.is_some_and(|c| {
        c.kind == FileKind::File
            && c.size <= DIFF_LIMIT
            && (c.checksum.as_deref() != Some(wanted) || (!follow && c.link_target.is_some()))
    })
}

/// The state of `dest` (with checksum, and what [`Attributes::probe`] asks),
/// whether its parent directory exists, and its bytes when they are about to be
/// replaced. A loop's prefetched answer serves when it is enough: no old bytes and no
/// attribute probe wanted.
async fn ask(
    on: &Target<'_>,
    dest: &str,
    wanted: &str,
    follow: bool,
    attributes: &Attributes,
) -> Result<Probe, ModuleError> {
    let attribute_probe = attributes.probe(dest);
    if let Some((current, parent_exists)) = on.prefetched.and_then(|p| p.get(dest))
        && !needs_before(current.as_ref(), wanted, follow)
        && attribute_probe.is_empty()
    {
        return Ok(Probe {
            current,
            parent_exists,
            before: None,
        });
    }
    let p = quote(dest);
    let link_test = if follow {
        String::new()
    } else {
        format!(" || [ -L {p} ]")
    };
    // The old bytes only when the checksum the stat printed is not the wanted one (or
    // the link must go): a converged file costs no second `stat` and `sha1sum`.
    let script = format!(
        "s=$({}); printf '%s\\n' \"$s\"; {attribute_probe}[ -d {} ] && echo 'D:yes'; \
         case $s in *\"\nC:{wanted}  -\"*) same=1 ;; *) same= ;; esac; \
         if [ -f {p} ] && [ -r {p} ] && {{ [ -z \"$same\" ]{link_test}; }} \
         && [ \"$(stat -L -c %s -- {p})\" -le {DIFF_LIMIT} ]; \
         then printf 'B:'; base64 -w0 < {p}; echo; fi; :",
        fileops::stat_script(dest, true, true),
        quote(fileops::parent_dir(dest))
    );
    let out = on.conn.exec(&Command::new(script)).await?;
    if out.rc != 0 {
        // The question itself did not run (become refused, say): saying the file or
        // its directory is missing would hide why.
        let why = out.stderr_text();
        return Err(ModuleError::Failed(format!(
            "cannot look at {dest}: {}",
            if why.trim().is_empty() {
                format!("rc={}", out.rc)
            } else {
                why.trim().to_string()
            }
        )));
    }
    let text = out.stdout_text();
    let before = text
        .lines()
        .find_map(|l| l.strip_prefix("B:"))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
    Ok(Probe {
        current: fileops::parse_stat(&text),
        parent_exists: text.lines().any(|l| l == "D:yes"),
        before,
    })
}

/// Compares what was found with what is wanted: the write or the attribute changes,
/// the diff, and the result keys (`dest`, `checksum`, `md5sum`, `size`, and the file's
/// mode and owners when nothing changes). `expected` is `copy`'s `checksum`: new
/// content must have it.
pub fn decide(
    found: Found,
    settings: &Settings<'_>,
    expected: Option<&str>,
) -> Result<Decision<Plan>, String> {
    let Found {
        source,
        dest,
        current,
        parent_exists,
        replaces_link,
        before,
    } = found;
    let attributes = settings.attributes.preserving(source.mode);
    let settings = &Settings {
        attributes: &attributes,
        ..*settings
    };
    let checksum = sha1_hex(&source.data);
    let content_changes = match &current {
        None => true,
        Some(existing) => {
            settings.force
                && (replaces_link || existing.checksum.as_deref() != Some(checksum.as_str()))
        }
    };
    if content_changes && expected.is_some_and(|e| e != checksum) {
        return Err(
            "Copied file does not match the expected checksum. Transfer failed.".to_string(),
        );
    }
    let attribute_changes = match &current {
        Some(existing) if !content_changes => settings.attributes.changes(&dest, existing)?,
        _ => Default::default(),
    };
    let mut result = Outcome::new();
    result.insert("dest".into(), json!(dest));
    if let Some(src) = &source.src {
        result.insert("src".into(), json!(src));
    }
    result.insert("checksum".into(), json!(checksum));
    result.insert(
        "md5sum".into(),
        json!(hex::encode(md5::Md5::digest(&source.data))),
    );
    result.insert("size".into(), json!(source.data.len()));
    let plan = if content_changes {
        let diff = content_diff(&dest, current.as_ref(), before.as_deref(), &source);
        let plan = match (&current, parent_exists) {
            (None, false) => Plan::NoParent(fileops::parent_dir(&dest).to_string()),
            _ => Plan::Write {
                dest: dest.clone(),
                data: source.data,
                current: current.map(Box::new),
                source_mode: source.mode,
            },
        };
        Some((plan, diff))
    } else if !attribute_changes.commands.is_empty() {
        let diff = json!({
            "before": Json::Object(attribute_changes.before),
            "after": Json::Object(attribute_changes.after),
            "before_header": dest,
            "after_header": dest,
        });
        let plan = Plan::Attributes {
            dest: dest.clone(),
            commands: attribute_changes.commands,
        };
        Some((plan, diff))
    } else {
        if let Some(existing) = &current {
            for (key, value) in fileops::describe(&dest, existing) {
                if key != "path" && key != "size" {
                    result.insert(key, value);
                }
            }
        }
        None
    };
    if plan.is_some()
        && let Some(mode) = settings.attributes.mode()
    {
        result.insert("mode".into(), mode.clone());
    }
    result.entry("state").or_insert(json!("file"));
    let mut decision = match plan {
        Some((plan, diff)) => Decision::change(plan).with_diff(diff),
        None => Decision::unchanged(),
    };
    decision.result = result;
    Ok(decision)
}

/// The content `diff`: the old and new text, a placeholder for binary or large
/// content, and for content from a vault file (before and after may hold the secret).
fn content_diff(
    dest: &str,
    current: Option<&FileStat>,
    before: Option<&[u8]>,
    source: &Source,
) -> Json {
    if source.vaulted {
        let before = if current.is_some() { VAULTED } else { "" };
        return fileops::content_diff(dest, before, VAULTED);
    }
    let before = match current {
        Some(existing) if existing.size > DIFF_LIMIT => TOO_LARGE.to_string(),
        Some(_) => text_or_binary(before.unwrap_or_default()),
        None => String::new(),
    };
    let after = if source.data.len() as u64 <= DIFF_LIMIT {
        text_or_binary(&source.data)
    } else {
        TOO_LARGE.to_string()
    };
    fileops::content_diff(dest, &before, &after)
}

/// Bytes as diff text: `[binary file]` when they are not UTF-8 or hold a NUL.
fn text_or_binary(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => text.to_string(),
        _ => "[binary file]\n".to_string(),
    }
}

/// Makes the planned change; the result describes the file as it is afterwards
/// (mode, owner, group ...) and names the backup.
pub async fn apply(
    on: &Target<'_>,
    plan: Plan,
    settings: &Settings<'_>,
) -> Result<Outcome, ModuleError> {
    let mut outcome = Outcome::new();
    let (dest, stat) = match plan {
        Plan::NoParent(parent) => {
            return Err(ModuleError::Failed(format!(
                "Destination directory {parent} does not exist"
            )));
        }
        Plan::Write {
            dest,
            data,
            current,
            source_mode,
        } => {
            let written = fileops::write_atomic(
                on,
                &dest,
                &data,
                current.as_deref(),
                &settings.attributes.preserving(source_mode),
                settings.validate,
                settings.backup,
            )
            .await
            .map_err(|err| match err {
                WriteError::Connection(err) => ModuleError::Connection(err),
                WriteError::Failed(message) => ModuleError::Failed(message),
            })?;
            if let Some(path) = written.backup_file {
                outcome.insert("backup_file".into(), json!(path));
            }
            (dest, written.stat)
        }
        Plan::Attributes { dest, commands } => {
            let script = commands.join(" && ")
                + "; rc=$?; "
                + &fileops::stat_script(&dest, false, true)
                + "; exit $rc";
            let out = on.conn.exec(&Command::new(script)).await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(out.stderr_text().trim().to_string()));
            }
            let stat = fileops::parse_stat(&out.stdout_text());
            (dest, stat)
        }
    };
    if let Some(stat) = &stat {
        for (key, value) in fileops::describe(&dest, stat) {
            if key != "path" && key != "size" {
                outcome.insert(key, value);
            }
        }
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(data: &[u8]) -> FileStat {
        let mut stat =
            fileops::parse_stat_line("regular file|644|0|0|root|root|4|1700000000|1700000000")
                .expect("a stat line");
        stat.size = data.len() as u64;
        stat.checksum = Some(sha1_hex(data));
        stat
    }

    fn found(current: Option<FileStat>, before: Option<&[u8]>) -> Found {
        Found {
            source: Source {
                data: b"new\n".to_vec(),
                src: Some("files/x".into()),
                vaulted: false,
                mode: None,
            },
            dest: "/etc/x".into(),
            current,
            parent_exists: true,
            replaces_link: false,
            before: before.map(<[u8]>::to_vec),
        }
    }

    fn settings(attributes: &Attributes) -> Settings<'_> {
        Settings {
            force: true,
            backup: false,
            validate: None,
            attributes,
        }
    }

    #[test]
    fn same_content_changes_nothing_and_describes_the_file() {
        let plain = Attributes::default();
        let decision =
            decide(found(Some(file(b"new\n")), None), &settings(&plain), None).expect("decides");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["mode"], "0644");
        assert_eq!(decision.result["owner"], "root");
        assert_eq!(decision.result["size"], 4);
        assert_eq!(decision.result["checksum"], sha1_hex(b"new\n"));
    }

    #[test]
    fn new_content_is_written_with_a_diff_of_the_old_bytes() {
        let plain = Attributes::default();
        let decision = decide(
            found(Some(file(b"old\n")), Some(b"old\n")),
            &settings(&plain),
            None,
        )
        .expect("decides");
        assert!(matches!(decision.plan, Some(Plan::Write { ref dest, .. }) if dest == "/etc/x"));
        let diff = decision.diff.expect("a diff");
        assert_eq!(diff["before"], "old\n");
        assert_eq!(diff["after"], "new\n");
    }

    #[test]
    fn a_link_is_replaced_unless_followed_and_force_no_keeps_what_is_there() {
        let plain = Attributes::default();
        let mut link = found(Some(file(b"new\n")), Some(b"new\n"));
        link.replaces_link = true;
        let decision = decide(link, &settings(&plain), None).expect("decides");
        assert!(matches!(decision.plan, Some(Plan::Write { .. })));
        let mut keep = settings(&plain);
        keep.force = false;
        let decision = decide(found(Some(file(b"old\n")), None), &keep, None).expect("decides");
        assert!(decision.plan.is_none());
    }

    #[test]
    fn attributes_alone_are_fixed_in_place() {
        let wanted = Attributes::with_mode(json!("0600"));
        let decision =
            decide(found(Some(file(b"new\n")), None), &settings(&wanted), None).expect("decides");
        let Some(Plan::Attributes { commands, .. }) = decision.plan else {
            panic!("attributes planned");
        };
        assert_eq!(commands, ["chmod 0600 -- /etc/x"]);
        assert_eq!(decision.result["mode"], "0600");
    }

    #[test]
    fn a_missing_directory_fails_only_when_applied_and_checksums_must_match() {
        let plain = Attributes::default();
        let mut orphan = found(None, None);
        orphan.parent_exists = false;
        let decision = decide(orphan, &settings(&plain), None).expect("decides");
        assert!(matches!(decision.plan, Some(Plan::NoParent(ref p)) if p == "/etc"));
        let err = decide(found(None, None), &settings(&plain), Some("0000")).expect_err("bad");
        assert!(err.contains("expected checksum"), "{err}");
    }

    #[test]
    fn vaulted_content_is_never_shown() {
        let plain = Attributes::default();
        let mut secret = found(Some(file(b"old\n")), Some(b"old\n"));
        secret.source.vaulted = true;
        let diff = decide(secret, &settings(&plain), None)
            .expect("decides")
            .diff
            .expect("a diff");
        assert_eq!(diff["before"], VAULTED);
        assert_eq!(diff["after"], VAULTED);
    }
}
