//! What `lineinfile`, `blockinfile` and `replace` share: read a text file and its
//! state in one round trip, then save the edited text (atomically, validated, backed
//! up) only when it changed, and bring mode/owner/group in line, reporting it in
//! Ansible's words.

use serde_json::{Value as Json, json};

use super::fileops::{self, Attributes, FileKind, FileStat, WriteError};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, ConnectionError, quote};

/// Separates the state lines of the query from the file's bytes.
const CONTENT_MARKER: &[u8] = b"\x01\n";

/// Separates what a probe run before the query printed from the query's output.
const PROBE_MARKER: &[u8] = b"\x02\n";

/// Exit status of the query when the file exists but cannot be read.
const UNREADABLE: i32 = 90;

/// A failed result with `msg`; like every failed module, it changed nothing.
fn failure(msg: impl Into<String>) -> Outcome {
    let mut outcome = super::failed(msg);
    outcome.insert("changed".into(), json!(false));
    outcome
}

/// A failed edit with `msg`.
pub fn fail(msg: impl Into<String>) -> ModuleError {
    ModuleError::FailedWith(failure(msg))
}

/// A failed edit with `msg` and Ansible's `rc` for it.
pub fn fail_rc(msg: impl Into<String>, rc: i32) -> ModuleError {
    let mut outcome = failure(msg);
    outcome.insert("rc".into(), json!(rc));
    ModuleError::FailedWith(outcome)
}

/// A character encoding for reading and writing (`encoding:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// UTF-8, the default.
    Utf8,
    /// ISO-8859-1: every byte is one character.
    Latin1,
}

impl Codec {
    /// The codec of an `encoding:` value (Python's codec names; `None` is UTF-8).
    pub fn named(name: Option<&str>) -> Result<Codec, String> {
        let Some(name) = name else {
            return Ok(Codec::Utf8);
        };
        match name.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "utf-8" | "utf8" | "u8" | "utf" | "cp65001" => Ok(Codec::Utf8),
            "latin-1" | "latin1" | "l1" | "iso-8859-1" | "iso8859-1" | "8859" | "cp819" => {
                Ok(Codec::Latin1)
            }
            _ => Err(format!(
                "unsupported encoding '{name}': bosun reads and writes utf-8 and latin-1"
            )),
        }
    }

    /// Decodes file bytes, failing as Python's codecs do.
    pub fn decode(self, bytes: &[u8]) -> Result<String, String> {
        match self {
            Codec::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
            Codec::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|err| {
                let error = err.utf8_error();
                let at = error.valid_up_to();
                let byte = bytes.get(at).copied().unwrap_or(0);
                let reason = match (error.error_len(), byte) {
                    (None, _) => "unexpected end of data",
                    (_, 0x80..=0xc1 | 0xf5..) => "invalid start byte",
                    _ => "invalid continuation byte",
                };
                format!("'utf-8' codec can't decode byte 0x{byte:02x} in position {at}: {reason}")
            }),
        }
    }

    /// Encodes text for the file, failing as Python's codecs do.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            Codec::Utf8 => Ok(text.as_bytes().to_vec()),
            Codec::Latin1 => text
                .chars()
                .enumerate()
                .map(|(at, c)| {
                    u8::try_from(u32::from(c)).map_err(|_| {
                        format!(
                            "'latin-1' codec can't encode character '{}' in position {at}: ordinal not in range(256)",
                            c.escape_unicode()
                        )
                    })
                })
                .collect(),
        }
    }
}

/// A text file on the target as an edit found it.
#[derive(Debug)]
pub struct TextFile {
    /// The path as the task names it (`~` expanded), for messages.
    pub path: String,
    /// Where writes go: the path with symbolic links resolved.
    real_path: String,
    /// Its state, when it exists.
    pub stat: Option<FileStat>,
    /// Its text, when it exists.
    pub text: Option<String>,
    /// What a file created now would look like (umask, user, group).
    fresh: Option<FileStat>,
    /// How the text is stored.
    codec: Codec,
}

impl TextFile {
    /// Where writes go: the path with symbolic links resolved.
    pub fn real_path(&self) -> &str {
        &self.real_path
    }

    /// The same file, saved at its own path rather than through a symbolic link: the
    /// write replaces the link with a file, as Ansible's `atomic_move` onto a link does.
    pub fn replacing_link(self) -> TextFile {
        TextFile {
            real_path: self.path.clone(),
            ..self
        }
    }

    /// A file as a query would find it: `text` when it exists, a fresh file's
    /// defaults (root, umask 022) when it does not. For unit tests of `decide`.
    #[cfg(test)]
    pub fn found(path: &str, text: Option<&str>) -> TextFile {
        let stat = FileStat {
            kind: FileKind::File,
            mode: 0o644,
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
            size: text.map_or(0, |t| t.len() as u64),
            mtime: 0,
            atime: 0,
            link_target: None,
            checksum: None,
            details: Default::default(),
        };
        TextFile {
            path: path.to_string(),
            real_path: path.to_string(),
            stat: text.map(|_| stat.clone()),
            text: text.map(str::to_string),
            fresh: Some(stat),
            codec: Codec::Utf8,
        }
    }
}

/// Reads `path` on the target: state, resolved path and text in one round trip (two
/// when the path starts with `~`). Fails as Ansible does on a directory.
pub async fn read(ctx: &Target<'_>, path: &str, codec: Codec) -> Result<TextFile, ModuleError> {
    Ok(read_probing(ctx, path, codec, None, None).await?.0)
}

/// The file an edit module works on, read with `encoding` and what `attributes` need;
/// a missing file fails with Ansible's "`missing` ... does not exist !" (rc 257) when
/// `missing` names the word Ansible uses (`Path`, `Destination`), and is `None`
/// otherwise (the module may create it).
pub async fn read_edited(
    on: &Target<'_>,
    path: &str,
    encoding: &str,
    attributes: &Attributes,
    missing: Option<&str>,
) -> Result<TextFile, ModuleError> {
    let codec = Codec::named(Some(encoding)).map_err(fail)?;
    let file = read_for(on, path, codec, attributes).await?;
    match (&file.text, missing) {
        (None, Some(word)) => Err(fail_rc(
            format!("{word} {} does not exist !", file.path),
            257,
        )),
        _ => Ok(file),
    }
}

/// [`read`], also reading what `attributes` need to decide (`chattr` flags, whether
/// SELinux is enabled): for edits that take the file attributes.
pub async fn read_for(
    ctx: &Target<'_>,
    path: &str,
    codec: Codec,
    attributes: &Attributes,
) -> Result<TextFile, ModuleError> {
    Ok(read_probing(ctx, path, codec, None, Some(attributes))
        .await?
        .0)
}

/// [`read`], running `probe` (a shell script) first in the same round trip: returns
/// the file and what the probe printed.
pub async fn read_with(
    ctx: &Target<'_>,
    path: &str,
    codec: Codec,
    probe: Option<&str>,
) -> Result<(TextFile, String), ModuleError> {
    read_probing(ctx, path, codec, probe, None).await
}

/// [`read_for`] and [`read_with`] at once: the attributes' lines read, and `probe`
/// run first in the same round trip.
pub async fn read_for_with(
    ctx: &Target<'_>,
    path: &str,
    codec: Codec,
    attributes: &Attributes,
    probe: &str,
) -> Result<(TextFile, String), ModuleError> {
    read_probing(ctx, path, codec, Some(probe), Some(attributes)).await
}

/// [`read_with`], with the lines `attributes` need after the file's state.
async fn read_probing(
    ctx: &Target<'_>,
    path: &str,
    codec: Codec,
    probe: Option<&str>,
    attributes: Option<&Attributes>,
) -> Result<(TextFile, String), ModuleError> {
    let path = expand_home(ctx, path).await?;
    let extra = attributes.map(|a| a.probe(&path)).unwrap_or_default();
    let mut script = query_script(&path, &extra);
    if let Some(probe) = probe {
        script = format!("{{ {probe}\n}}; printf '\\002\\n'; {script}");
    }
    let out = ctx.conn.exec(&Command::new(script)).await?;
    let (probed, stdout) = match probe.and_then(|_| find(&out.stdout, PROBE_MARKER)) {
        Some(at) => (
            String::from_utf8_lossy(&out.stdout[..at]).into_owned(),
            &out.stdout[at + PROBE_MARKER.len()..],
        ),
        None => (String::new(), &out.stdout[..]),
    };
    if out.rc == UNREADABLE {
        return Err(fail(format!(
            "Unable to read the contents of '{path}': {}",
            out.stderr_text().trim()
        )));
    }
    let (head, content) = match find(stdout, CONTENT_MARKER) {
        Some(at) => (&stdout[..at], Some(&stdout[at + CONTENT_MARKER.len()..])),
        None => (stdout, None),
    };
    let head = String::from_utf8_lossy(head);
    let stat = fileops::parse_stat(&head);
    if stat.as_ref().is_some_and(|s| s.kind == FileKind::Directory) {
        return Err(fail_rc(format!("Path {path} is a directory !"), 256));
    }
    let text = match (&stat, content) {
        (Some(_), Some(bytes)) => Some(codec.decode(bytes).map_err(fail)?),
        _ => None,
    };
    let real_path = head
        .lines()
        .find_map(|l| l.strip_prefix("R:"))
        .filter(|r| !r.is_empty())
        .unwrap_or(&path)
        .to_string();
    // A new file starts without `chattr` flags, where the probe found `chattr`.
    let chattr = head.lines().any(|l| l.starts_with("A:"));
    let fresh = head
        .lines()
        .find_map(|l| l.strip_prefix("N:"))
        .and_then(parse_fresh)
        .map(|mut fresh| {
            fresh.details.attr_flags = chattr.then(String::new);
            fresh
        });
    let file = TextFile {
        stat: stat.filter(|_| text.is_some()),
        path,
        real_path,
        text,
        fresh,
        codec,
    };
    Ok((file, probed))
}

/// `~` and `~/...` become the remote user's home, as Ansible's `path` type does.
async fn expand_home(ctx: &Target<'_>, path: &str) -> Result<String, ConnectionError> {
    let rest = match path.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => return Ok(path.to_string()),
    };
    let out = ctx
        .conn
        .exec(&Command::new("printf '%s' \"$HOME\""))
        .await?;
    Ok(format!("{}{rest}", out.stdout_text()))
}

/// The query: the state of the path (following links) and the `extra` lines about
/// it, its resolved path, then either its bytes after [`CONTENT_MARKER`] or what a
/// new file would look like.
fn query_script(path: &str, extra: &str) -> String {
    let p = quote(path);
    format!(
        "{}; {extra}printf 'R:%s\\n' \"$(readlink -f -- {p} 2>/dev/null)\"; \
         if [ -e {p} ]; then if [ ! -d {p} ]; then printf '\\001\\n'; cat -- {p} || exit {UNREADABLE}; fi; \
         else printf 'N:%s|%s|%s|%s|%s\\n' \"$(umask)\" \"$(id -u)\" \"$(id -g)\" \"$(id -un)\" \"$(id -gn)\"; fi",
        fileops::stat_script(path, true, false)
    )
}

/// Parses the `N:` line: umask, uid, gid, user and group of a file created now.
fn parse_fresh(line: &str) -> Option<FileStat> {
    let fields: Vec<&str> = line.split('|').collect();
    let [umask, uid, gid, owner, group] = fields.as_slice() else {
        return None;
    };
    let umask = u32::from_str_radix(umask.trim(), 8).ok()?;
    Some(FileStat {
        kind: FileKind::File,
        mode: 0o666 & !umask,
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        owner: owner.to_string(),
        group: group.to_string(),
        size: 0,
        mtime: 0,
        atime: 0,
        link_target: None,
        checksum: None,
        details: Default::default(),
    })
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What saving an edit will do, decided from the file as read, without the target.
#[derive(Debug)]
pub struct SavePlan {
    /// Whether content or attributes change.
    pub changed: bool,
    /// The edit's message, with Ansible's note about attributes appended.
    pub msg: String,
    /// The attribute part of the diff, in Ansible's shape.
    pub attr_diff: Json,
    /// The new bytes, when the content changes.
    content: Option<Vec<u8>>,
    /// The attributes a write gives the file (a new file's mode resolved).
    attributes: Attributes,
    /// The commands that bring attributes in line when only they change.
    commands: Vec<String>,
    /// Where the write goes: the path with symbolic links resolved.
    real_path: String,
    /// The file's state before, when it exists.
    stat: Option<FileStat>,
}

/// Decides saving `after` over `file` (when `content_changed`) and bringing
/// mode/owner/group in line; `msg` says what the edit did. A missing file that stays
/// missing has no attributes to change.
pub fn plan_save(
    file: &TextFile,
    attributes: &Attributes,
    after: &str,
    content_changed: bool,
    msg: &str,
) -> Result<SavePlan, String> {
    let header = format!("{} (file attributes)", file.path);
    let mut plan = SavePlan {
        changed: content_changed,
        msg: msg.to_string(),
        attr_diff: json!({"before_header": header, "after_header": header}),
        content: None,
        attributes: attributes.clone(),
        commands: Vec::new(),
        real_path: file.real_path.clone(),
        stat: file.stat.clone(),
    };
    let current = match (&file.stat, &file.fresh) {
        (Some(stat), _) => stat,
        (None, Some(fresh)) if content_changed => fresh,
        _ => return Ok(plan),
    };
    let changes = attributes.changes(&file.real_path, current)?;
    if content_changed {
        plan.content = Some(file.codec.encode(after)?);
        if let (None, Some(mode)) = (&file.stat, attributes.mode()) {
            let resolved = fileops::parse_mode(mode, Some(current.mode), false)?;
            plan.attributes = attributes.replacing_mode(json!(resolved));
        }
    } else {
        plan.commands.clone_from(&changes.commands);
    }
    if !changes.commands.is_empty() {
        if plan.changed {
            plan.msg.push_str(" and ");
        }
        plan.changed = true;
        plan.msg
            .push_str("ownership, perms or SE linux context changed");
        if let Json::Object(diff) = &mut plan.attr_diff {
            diff.insert("before".into(), Json::Object(changes.before));
            diff.insert("after".into(), Json::Object(changes.after));
        }
    }
    Ok(plan)
}

/// Makes a [`SavePlan`]'s changes: the new content written atomically (validated with
/// `validate`, the old file kept when `backup`), or the attribute commands run.
/// Returns the backup's path.
pub async fn apply_save(
    on: &Target<'_>,
    plan: &SavePlan,
    validate: Option<&str>,
    backup: bool,
) -> Result<Option<String>, ModuleError> {
    if let Some(data) = &plan.content {
        if plan.stat.is_none() {
            make_parent(on, &plan.real_path).await?;
        }
        let written = fileops::write_atomic(
            on,
            &plan.real_path,
            data,
            plan.stat.as_ref(),
            &plan.attributes,
            validate,
            backup,
        )
        .await;
        return match written {
            Ok(written) => Ok(written.backup_file),
            Err(WriteError::Connection(err)) => Err(err.into()),
            Err(WriteError::Failed(message)) => Err(fail(message)),
        };
    }
    if !plan.commands.is_empty() {
        let out = on
            .conn
            .exec(&Command::new(plan.commands.join(" && ")))
            .await?;
        if out.rc != 0 {
            return Err(fail(out.stderr_text().trim().to_string()));
        }
    }
    Ok(None)
}

/// [`apply_save`] reporting its backup as `backup_file`, as `blockinfile` and
/// `replace` do.
pub async fn apply_save_with_backup_file(
    on: &Target<'_>,
    plan: &SavePlan,
    validate: Option<&str>,
    backup: bool,
) -> Result<Outcome, ModuleError> {
    let mut outcome = Outcome::new();
    if let Some(path) = apply_save(on, plan, validate, backup).await? {
        outcome.insert("backup_file".into(), json!(path));
    }
    Ok(outcome)
}

/// Creates the parent directories of `path` when they are missing.
async fn make_parent(on: &Target<'_>, path: &str) -> Result<(), ModuleError> {
    let Some((dir, _)) = path.rsplit_once('/').filter(|(dir, _)| !dir.is_empty()) else {
        return Ok(());
    };
    let d = quote(dir);
    let out = on
        .conn
        .exec(&Command::new(format!("[ -d {d} ] || mkdir -p -- {d}")))
        .await?;
    if out.rc != 0 {
        return Err(fail(format!(
            "Error creating {dir} ({})",
            out.stderr_text().trim()
        )));
    }
    Ok(())
}

/// The content part of a diff as `lineinfile` and `blockinfile` report it.
pub fn content_diff(file: &TextFile, after: &str) -> Json {
    fileops::content_diff(
        &format!("{} (content)", file.path),
        file.text.as_deref().unwrap_or(""),
        after,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_round_trip_and_fail_like_python() {
        assert_eq!(Codec::named(None), Ok(Codec::Utf8));
        assert_eq!(Codec::named(Some("UTF_8")), Ok(Codec::Utf8));
        assert_eq!(Codec::named(Some("ISO-8859-1")), Ok(Codec::Latin1));
        assert!(Codec::named(Some("cp273")).is_err());
        let latin = Codec::Latin1.decode(b"caf\xe9\n").expect("any bytes");
        assert_eq!(latin, "café\n");
        assert_eq!(Codec::Latin1.encode(&latin), Ok(b"caf\xe9\n".to_vec()));
        assert_eq!(
            Codec::Utf8.decode(b"ab\xff"),
            Err("'utf-8' codec can't decode byte 0xff in position 2: invalid start byte".into())
        );
        assert_eq!(
            Codec::Utf8.decode(b"a\xc3"),
            Err(
                "'utf-8' codec can't decode byte 0xc3 in position 1: unexpected end of data".into()
            )
        );
        assert!(Codec::Latin1.encode("€").is_err());
    }

    #[test]
    fn a_new_file_takes_the_umask_and_the_user() {
        let fresh = parse_fresh("0022|1000|1000|deploy|staff").expect("parses");
        assert_eq!(fresh.mode, 0o644);
        assert_eq!((fresh.owner.as_str(), fresh.gid), ("deploy", 1000));
        assert!(parse_fresh("0022|x").is_none());
    }

    #[test]
    fn query_output_splits_at_the_marker() {
        let out = b"S:regular file|644|0|0|root|root|3|1|1\nR:/etc/x\n\x01\nab\x01\n";
        let at = find(out, CONTENT_MARKER).expect("marker");
        assert_eq!(&out[at + CONTENT_MARKER.len()..], b"ab\x01\n");
    }
}
