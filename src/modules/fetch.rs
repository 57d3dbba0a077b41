//! `fetch`: copies a file from the target to the control node, into
//! `dest/<inventory_hostname>/<src>` (or exactly `dest` with `flat`). The copy is
//! skipped when the SHA-1 checksums on both sides already agree.

use std::path::Path;

use async_trait::async_trait;
use md5::Md5;
use serde_json::{Value as Json, json};
use sha1::Digest;

use super::fileops::{self, FileKind, sha1_hex};
use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::template::pyfmt::py_repr;

/// `fetch`: fetches a file from the target and stores it on the control node. It
/// stays a plain [`Module`], off the query/decide/apply contract: what it changes is a
/// file on the control node, not the target's state, and Ansible's results for a
/// missing, unreadable or directory source are neither a change nor a failure.
pub struct Fetch;

module_args! {
    /// `fetch`'s arguments.
    pub struct FetchArgs {
        /// The file on the target (`~` expanded there).
        src: String => .required(),
        /// The control-node directory (or file, with `flat`).
        dest: String => .required(),
        /// Store at `dest` itself, not under `dest/<host>/<src>`.
        flat: bool => .default_bool(false),
        fail_on_missing: bool => .default_bool(true),
        validate_checksum: bool => .default_bool(true),
    }
}

#[async_trait]
impl Module for Fetch {
    fn name(&self) -> &'static str {
        "fetch"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        FetchArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = FetchArgs::from_args(args).map_err(ModuleError::Failed)?;
        let source = super::pathexpand::expand_path(ctx, &args.src).await?;
        let fail_on_missing = args.fail_on_missing;
        let remote = fileops::stat(ctx, &source, true, true).await?;
        let remote_checksum = match &remote {
            None => {
                let msg = "the remote file does not exist, not transferring, ignored";
                return Ok(missing(&source, fail_on_missing, Some(msg)));
            }
            Some(stat) if stat.kind == FileKind::Directory => {
                return Ok(directory(fail_on_missing));
            }
            Some(stat) if !stat.details.access.is_some_and(|a| a.readable) => {
                let msg = format!("file is not readable: {}", py_repr(&source.as_str().into()));
                return Ok(missing(
                    &source,
                    fail_on_missing,
                    fail_on_missing.then_some(msg.as_str()),
                ));
            }
            Some(stat) => stat.checksum.clone(),
        };

        let dest = match destination(ctx, &args, &source) {
            Ok(dest) => dest,
            Err(msg) => return Ok(super::failed(msg)),
        };
        let local = tokio::fs::read(&dest).await.ok();
        let local_checksum = local.as_deref().map(sha1_hex);
        if remote_checksum.is_some() && local_checksum == remote_checksum {
            let mut outcome = super::ok(false);
            outcome.insert("md5sum".into(), json!(local.as_deref().map(md5_hex)));
            outcome.insert("file".into(), json!(source));
            outcome.insert("dest".into(), json!(dest));
            outcome.insert("checksum".into(), json!(local_checksum));
            return Ok(outcome);
        }
        if ctx.check_mode {
            let mut outcome = super::ok(true);
            outcome.insert("file".into(), json!(source));
            outcome.insert("dest".into(), json!(dest));
            outcome.insert("remote_checksum".into(), json!(remote_checksum));
            return Ok(outcome);
        }

        let data = ctx.conn.get(&source).await?;
        let checksum = sha1_hex(&data);
        let mismatch = args.validate_checksum
            && remote_checksum
                .as_deref()
                .is_some_and(|remote| remote != checksum);
        // Bytes that do not match the remote file's checksum (it changed, or the read
        // was cut short) never replace the local copy; Ansible writes them first.
        if !mismatch && let Err(err) = write_local(&dest, &data).await {
            return Ok(super::failed(format!("Failed to fetch the file: {err}")));
        }
        let mut outcome = Outcome::new();
        if mismatch {
            outcome.insert("failed".into(), Json::Bool(true));
            outcome.insert("md5sum".into(), json!(md5_hex(&data)));
            outcome.insert("msg".into(), json!("checksum mismatch"));
            outcome.insert("file".into(), json!(source));
        } else {
            outcome.insert("changed".into(), Json::Bool(true));
            outcome.insert("md5sum".into(), json!(md5_hex(&data)));
        }
        outcome.insert("dest".into(), json!(dest));
        outcome.insert("remote_md5sum".into(), Json::Null);
        outcome.insert("checksum".into(), json!(checksum));
        outcome.insert(
            "remote_checksum".into(),
            json!(remote_checksum.unwrap_or(checksum)),
        );
        Ok(outcome)
    }
}

/// The result for a source that is missing or unreadable: a failure, or with
/// `fail_on_missing: false` a note that nothing was transferred.
fn missing(source: &str, fail_on_missing: bool, msg: Option<&str>) -> Outcome {
    let mut outcome = Outcome::new();
    if fail_on_missing {
        outcome.insert("changed".into(), Json::Bool(false));
        outcome.insert("failed".into(), Json::Bool(true));
    } else {
        outcome.insert("file".into(), json!(source));
        outcome.insert("changed".into(), Json::Bool(false));
    }
    if let Some(msg) = msg {
        outcome.insert("msg".into(), json!(msg));
    }
    outcome
}

/// The result for a source that is a directory.
fn directory(fail_on_missing: bool) -> Outcome {
    let msg = "remote file is a directory, fetch cannot work on directories";
    if fail_on_missing {
        let mut outcome = super::failed(msg);
        outcome.insert("changed".into(), Json::Bool(false));
        outcome
    } else {
        let mut outcome = Outcome::new();
        outcome.insert(
            "msg".into(),
            json!(format!("{msg}, not transferring, ignored")),
        );
        outcome
    }
}

/// Where the file goes on the control node, as Ansible lays it out.
fn destination(ctx: &ModuleContext<'_>, args: &FetchArgs, source: &str) -> Result<String, String> {
    let dest = args.dest.as_str();
    let base = playbook_dir(ctx);
    let path = if args.flat {
        if !dest.ends_with('/') && Path::new(dest).is_dir() {
            return Err("dest is an existing directory, use a trailing slash if you want to fetch src into that directory".into());
        }
        let dest = if dest.ends_with('/') {
            format!("{dest}{}", source.rsplit('/').next().unwrap_or(source))
        } else {
            dest.to_string()
        };
        if dest.starts_with('/') {
            dest
        } else {
            local_path(&base, &dest)
        }
    } else {
        format!("{}/{}/{source}", local_path(&base, dest), ctx.host)
    };
    Ok(fileops::normpath(&path))
}

/// The directory relative destinations are taken from: the playbook's, made absolute
/// (the current directory for ad hoc runs).
fn playbook_dir(ctx: &ModuleContext<'_>) -> String {
    let cwd = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|_| ".".into());
    match ctx.vars.eval("playbook_dir") {
        Ok(Some(Json::String(dir))) if dir.starts_with('/') => dir,
        Ok(Some(Json::String(dir))) if !dir.is_empty() => format!("{cwd}/{dir}"),
        _ => cwd,
    }
}

/// A control-node path as Ansible's `path_dwim` makes it: `~` expanded, relative paths
/// taken from `base`, normalised.
fn local_path(base: &str, given: &str) -> String {
    let home = || std::env::var("HOME").unwrap_or_default();
    let path = if given == "~" {
        home()
    } else if let Some(rest) = given.strip_prefix("~/") {
        format!("{}/{rest}", home())
    } else if given.starts_with('/') {
        given.to_string()
    } else {
        format!("{base}/{given}")
    };
    fileops::normpath(&path)
}

/// Writes `data` to `dest` through a temporary file beside it, creating the parent
/// directories first.
async fn write_local(dest: &str, data: &[u8]) -> std::io::Result<()> {
    let path = Path::new(dest);
    let dir = path.parent().unwrap_or(Path::new("."));
    tokio::fs::create_dir_all(dir).await?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    remove_abandoned_temps(dir, &name).await;
    let temp = dir.join(format!(".{name}.bosun-fetch.{}.tmp", std::process::id()));
    let written = async {
        tokio::fs::write(&temp, data).await?;
        tokio::fs::rename(&temp, path).await
    }
    .await;
    if written.is_err() {
        let _ = tokio::fs::remove_file(&temp).await;
    }
    written
}

/// Removes the temporary files that a bosun killed while fetching into `dir/name` left
/// behind: those named for a process that no longer runs.
async fn remove_abandoned_temps(dir: &Path, name: &str) {
    let prefix = format!(".{name}.bosun-fetch.");
    let Ok(mut entries) = tokio::fs::read_dir(dir).await else {
        return;
    };
    while let Ok(Some(entry)) = entries.next_entry().await {
        let file = entry.file_name().to_string_lossy().into_owned();
        let pid = file
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = tokio::fs::remove_file(entry.path()).await;
        }
    }
}

fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_resolve_like_path_dwim() {
        for (base, given, expected) in [
            ("/play", "out", "/play/out"),
            ("/play", "out/../x/", "/play/x"),
            ("/play", "/abs//x", "/abs/x"),
            ("/play", "./", "/play"),
        ] {
            assert_eq!(local_path(base, given), expected, "{given}");
        }
    }

    #[test]
    fn missing_and_directory_results() {
        let failed = missing("/x", true, Some("gone"));
        assert_eq!(
            Json::Object(failed),
            json!({"changed": false, "failed": true, "msg": "gone"})
        );
        let ignored = missing("/x", false, None);
        assert_eq!(
            Json::Object(ignored),
            json!({"file": "/x", "changed": false})
        );
        assert_eq!(
            Json::Object(directory(false)),
            json!({"msg": "remote file is a directory, fetch cannot work on directories, not transferring, ignored"})
        );
        assert_eq!(directory(true)["failed"], true);
    }

    #[tokio::test]
    async fn a_fetch_removes_what_a_killed_fetch_left_and_nothing_else() {
        let dir = tempfile::tempdir().expect("dir");
        let abandoned = dir.path().join(".f.bosun-fetch.4294967.tmp");
        let running = dir.path().join(".f.bosun-fetch.1.tmp");
        let other = dir.path().join(".g.bosun-fetch.4294967.tmp");
        for path in [&abandoned, &running, &other] {
            std::fs::write(path, "part").expect("write");
        }
        let dest = dir.path().join("f");
        write_local(&dest.display().to_string(), b"whole")
            .await
            .expect("written");
        assert_eq!(std::fs::read(&dest).expect("dest"), b"whole");
        assert!(!abandoned.exists(), "the dead process's temp file is gone");
        assert!(running.exists(), "a running process's temp file stays");
        assert!(other.exists(), "another file's temp file stays");
    }

    #[test]
    fn digests_are_hex() {
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }
}
