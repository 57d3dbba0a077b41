//! Putting given bytes at a path on the target, as `copy` and `template` do: compare
//! by SHA-1 on the target first, send nothing when equal, otherwise write atomically;
//! then bring mode/owner/group in line. Check and diff mode come from the same steps.

use md5::Digest as _;
use serde_json::{Value as Json, json};

use super::fileops::{self, Attributes, FileKind, FileStat, WriteError, sha1_hex};
use super::{Args, ModuleContext, ModuleError, Outcome};
use crate::connection::{Command, quote};

/// Content larger than this is not shown in diffs.
const DIFF_LIMIT: u64 = 1024 * 1024;

/// How a file is being installed.
pub struct Install<'a> {
    /// The destination path on the target.
    pub dest: String,
    /// The bytes it must hold.
    pub data: &'a [u8],
    /// Where the bytes came from (`src`), for the result and for directory dests.
    pub src: Option<String>,
    /// Replace an existing file whose content differs (`force`).
    pub force: bool,
    /// The bytes were decrypted from a vault file: diffs show a placeholder instead.
    pub vaulted: bool,
}

/// What a diff shows in place of content that came from a vault file.
const VAULTED: &str = "[content decrypted from a vault file is not shown]\n";

/// Installs `install.data` at `install.dest`. In check mode a missing parent directory
/// is taken as one an earlier task would have created (Ansible fails there instead),
/// so check mode on a fresh host reports what a real run would do.
pub async fn install(
    ctx: &ModuleContext<'_>,
    args: &Args,
    install: Install<'_>,
) -> Result<Outcome, ModuleError> {
    let attributes =
        <Attributes as super::typed::TypedArgs>::from_args(args).map_err(ModuleError::Failed)?;
    let mut dest = install.dest.clone();
    let (mut current, mut parent_exists) = query(ctx, &dest).await?;
    if current
        .as_ref()
        .is_some_and(|c| c.kind == FileKind::Directory)
    {
        let Some(name) = install
            .src
            .as_deref()
            .and_then(|s| s.trim_end_matches('/').rsplit('/').next())
        else {
            return Ok(super::failed(format!(
                "can not use content with a dir as dest: {dest}"
            )));
        };
        dest = format!("{}/{name}", dest.trim_end_matches('/'));
        (current, parent_exists) = query(ctx, &dest).await?;
    }
    if current.is_none() && !parent_exists && !ctx.check_mode {
        let parent = dest.rsplit_once('/').map_or(".", |(p, _)| p);
        return Ok(super::failed(format!(
            "Destination directory {parent} does not exist"
        )));
    }
    let checksum = sha1_hex(install.data);
    let content_changes = match &current {
        None => true,
        Some(existing) => install.force && existing.checksum.as_deref() != Some(checksum.as_str()),
    };
    let attribute_changes = match &current {
        Some(existing) if !content_changes => attributes
            .changes(&dest, existing)
            .map_err(super::failed_error)?,
        _ => Default::default(),
    };
    let changed = content_changes || !attribute_changes.commands.is_empty();

    let mut outcome = super::ok(changed);
    if ctx.diff_mode && changed {
        outcome.insert(
            "diff".into(),
            diff(
                ctx,
                &dest,
                current.as_ref(),
                install.data,
                content_changes,
                &attribute_changes,
                install.vaulted,
            )
            .await?,
        );
    }
    let mut final_stat = current.clone();
    if !ctx.check_mode {
        if content_changes {
            let backup = args.bool_or("backup", false);
            match fileops::write_atomic(
                ctx,
                &dest,
                install.data,
                current.as_ref(),
                &attributes,
                args.str("validate"),
                backup,
            )
            .await
            {
                Ok(written) => {
                    if let Some(path) = written.backup_file {
                        outcome.insert("backup_file".into(), json!(path));
                    }
                    final_stat = written.stat;
                }
                Err(WriteError::Connection(err)) => return Err(err.into()),
                Err(WriteError::Failed(message)) => return Ok(super::failed(message)),
            }
        } else if !attribute_changes.commands.is_empty() {
            let script = attribute_changes.commands.join(" && ")
                + "; rc=$?; "
                + &fileops::stat_script(&dest, false, true)
                + "; exit $rc";
            let out = ctx.conn.exec(&Command::new(script)).await?;
            if out.rc != 0 {
                return Ok(super::failed(out.stderr_text().trim().to_string()));
            }
            final_stat = fileops::parse_stat(&out.stdout_text());
        }
    }
    outcome.insert("dest".into(), json!(dest));
    if let Some(src) = &install.src {
        outcome.insert("src".into(), json!(src));
    }
    outcome.insert("checksum".into(), json!(checksum));
    outcome.insert(
        "md5sum".into(),
        json!(hex::encode(md5::Md5::digest(install.data))),
    );
    outcome.insert("size".into(), json!(install.data.len()));
    if let Some(stat) = final_stat.as_ref().filter(|_| !ctx.check_mode) {
        for (key, value) in fileops::describe(&dest, stat) {
            if key != "path" && key != "size" {
                outcome.insert(key, value);
            }
        }
    } else if let Some(mode) = attributes.mode() {
        outcome.insert("mode".into(), mode.clone());
    }
    outcome.entry("state").or_insert(json!("file"));
    Ok(outcome)
}

/// The state of `dest` (with checksum) and whether its parent directory exists.
async fn query(
    ctx: &ModuleContext<'_>,
    dest: &str,
) -> Result<(Option<FileStat>, bool), ModuleError> {
    if let Some(known) = ctx.prefetched.and_then(|p| p.get(dest)) {
        return Ok(known);
    }
    let parent = fileops::parent_dir(dest);
    let script = format!(
        "{}; [ -d {} ] && echo 'D:yes'; :",
        fileops::stat_script(dest, true, true),
        quote(parent)
    );
    let out = ctx.conn.exec(&Command::new(script)).await?;
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
    Ok((
        fileops::parse_stat(&text),
        text.lines().any(|l| l == "D:yes"),
    ))
}

/// The `diff` for a change: content before/after, or attributes before/after; a
/// placeholder for content from a vault file (before and after may hold the secret).
async fn diff(
    ctx: &ModuleContext<'_>,
    dest: &str,
    current: Option<&FileStat>,
    data: &[u8],
    content_changes: bool,
    attributes: &fileops::AttributeChanges,
    vaulted: bool,
) -> Result<Json, ModuleError> {
    if content_changes && vaulted {
        let before = if current.is_some() { VAULTED } else { "" };
        return Ok(fileops::content_diff(dest, before, VAULTED));
    }
    if !content_changes {
        return Ok(json!({
            "before": Json::Object(attributes.before.clone()),
            "after": Json::Object(attributes.after.clone()),
            "before_header": dest,
            "after_header": dest,
        }));
    }
    let before = match current {
        Some(existing) if existing.size <= DIFF_LIMIT => {
            let bytes = ctx.conn.get(dest).await?;
            text_or_binary(&bytes)
        }
        Some(_) => "[file too large to show]\n".to_string(),
        None => String::new(),
    };
    let after = if data.len() as u64 <= DIFF_LIMIT {
        text_or_binary(data)
    } else {
        "[file too large to show]\n".to_string()
    };
    Ok(fileops::content_diff(dest, &before, &after))
}

fn text_or_binary(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => text.to_string(),
        _ => "[binary file]\n".to_string(),
    }
}
