//! `unarchive`: unpacks a tar (plain, gz, bz2, xz; GNU tar finds the compression
//! itself) or zip archive into a directory. The archive is uploaded from the control
//! node unless `remote_src`; whether it is already unpacked is decided as Ansible does:
//! `tar --diff` against the destination for tar, and every zip entry's size and mtime
//! against the file in the destination for zip.

use async_trait::async_trait;
use serde_json::json;

use super::fileops::{self, Attributes};
use super::typed::{Rules, TypedArgs, WithAttributes, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, CommandOutput, quote};

/// Unpacks archives. It stays a plain [`Module`], off the query/decide/apply
/// contract: a control-node archive is uploaded to a temporary directory before the
/// target can say whether it is unpacked already, and that directory must be removed
/// whatever is decided, in check mode and when nothing changes too, where the
/// contract's `apply` never runs.
pub struct Unarchive;

module_args! {
    /// `unarchive`'s arguments.
    pub struct UnarchiveArgs {
        /// The archive: on the control node, or on the target with `remote_src`.
        src: String => .required(),
        /// The directory to unpack into.
        dest: String => .required(),
        remote_src: Option<bool>,
        /// The old spelling of `remote_src: false`.
        copy: bool => .default_bool(true),
        /// A path whose existence means the archive is unpacked already.
        creates: Option<String>,
        list_files: bool => .default_bool(false),
        extra_opts: Vec<String>,
        include: Vec<String>,
        exclude: Vec<String>,
        keep_newer: bool => .default_bool(false),
        /// Decrypt a vault-encrypted control-node archive.
        decrypt: bool => .default_bool(true),
    }
    rules: Rules {
        mutually_exclusive: &[&["include", "exclude"], &["copy", "remote_src"]],
        ..Rules::NONE
    };
}

/// The tools an archive is read with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Handler {
    Tar,
    Zip,
}

impl Handler {
    /// The handler's name in Ansible's results.
    fn name(self) -> &'static str {
        match self {
            Handler::Tar => "TgzArchive",
            Handler::Zip => "ZipArchive",
        }
    }
}

/// One zip entry as `zipinfo -T` lists it.
#[derive(Debug, PartialEq, Eq)]
struct ZipEntry {
    name: String,
    dir: bool,
    size: u64,
    /// `YYYY-MM-DD HH:MM:SS`, local time.
    mtime: String,
}

/// Parses `unzip -Z -T` lines (`-rw-r--r--  3.0 unx  12 tx stor 20240101.120000 a/b`).
fn parse_zipinfo(output: &str) -> Vec<ZipEntry> {
    output
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let perms = fields.next()?;
            if !perms.starts_with(['-', 'd', 'l']) || perms.len() < 10 {
                return None;
            }
            let size = fields.nth(2)?.parse().ok()?;
            let stamp = fields.nth(2)?;
            let (date, time) = stamp.split_once('.')?;
            let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
            if !digits(date, 8) || !digits(time, 6) {
                return None;
            }
            let mtime = format!(
                "{}-{}-{} {}:{}:{}",
                &date[..4],
                &date[4..6],
                &date[6..],
                &time[..2],
                &time[2..4],
                &time[4..]
            );
            let name_at = line.find(stamp)? + stamp.len();
            let name = line[name_at..].trim_start().to_string();
            Some(ZipEntry {
                dir: perms.starts_with('d') || name.ends_with('/'),
                name,
                size,
                mtime,
            })
        })
        .collect()
}

/// Whether `tar --diff` output shows only differences in what the file attribute
/// parameters set anyway (`to_be_set`: `Mode`, `Uid`, `Gid`), as Ansible judges it.
fn tar_unchanged(rc: i32, diff: &str, to_be_set: &[&str]) -> bool {
    let mut changes = Vec::new();
    for line in diff.lines().filter(|l| !l.trim().is_empty()) {
        let Some(what) = line
            .rsplit_once(": ")
            .and_then(|(_, what)| what.strip_suffix(" differs"))
        else {
            return false;
        };
        changes.push(what.to_string());
    }
    if changes.is_empty() {
        return rc == 0;
    }
    changes.iter().all(|c| to_be_set.contains(&c.as_str()))
}

#[async_trait]
impl Module for Unarchive {
    fn name(&self) -> &'static str {
        "unarchive"
    }

    fn takes_file_attributes(&self) -> bool {
        true
    }

    fn params(&self) -> &'static [Param] {
        UnarchiveArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let typed =
            WithAttributes::<UnarchiveArgs>::from_args(args).map_err(ModuleError::Failed)?;
        let args = &typed.args;
        let src = args.src.as_str();
        let dest = args.dest.as_str();
        let remote_src = args.remote_src.unwrap_or(!args.copy);
        if let Some(creates) = &args.creates {
            let out = exec(ctx, format!("[ -e {} ] && echo yes", quote(creates))).await?;
            if out.stdout_text().trim() == "yes" {
                let mut outcome = super::ok(false);
                outcome.insert("skipped".into(), json!(true));
                outcome.insert(
                    "msg".into(),
                    json!(format!("skipped, since {creates} exists")),
                );
                return Ok(outcome);
            }
        }
        let (archive, temp_dir) = if remote_src {
            (src.to_string(), None)
        } else {
            let Some(local) = ctx.vars.find_file("files", src) else {
                return Ok(super::failed(format!(
                    "Could not find or access '{src}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
                )));
            };
            let data = std::fs::read(&local).map_err(|err| {
                ModuleError::Failed(format!("could not read {}: {err}", local.display()))
            })?;
            let data = match args.decrypt {
                true => {
                    crate::vault::files::open(data)
                        .map_err(|err| ModuleError::Failed(format!("{err} ({})", local.display())))?
                        .0
                }
                false => data,
            };
            let made = exec(ctx, "mktemp -d".to_string()).await?;
            let dir = made.stdout_text().trim().to_string();
            if made.rc != 0 || dir.is_empty() {
                return Ok(super::failed(format!(
                    "could not make a temporary directory: {}",
                    made.stderr_text().trim()
                )));
            }
            let name = local
                .file_name()
                .map_or("archive".into(), |n| n.to_string_lossy().into_owned());
            let path = format!("{dir}/{name}");
            ctx.conn.put(&data, &path, Some(0o600)).await?;
            (path, Some(dir))
        };
        let result = unpack(ctx, &typed, &archive, dest).await;
        if let Some(dir) = temp_dir {
            exec(ctx, format!("rm -rf -- {}", quote(&dir))).await?;
        }
        let mut outcome = result?;
        outcome.insert("src".into(), json!(src));
        Ok(outcome)
    }
}

/// Runs `script` on the target, C locale.
async fn exec(ctx: &ModuleContext<'_>, script: String) -> Result<CommandOutput, ModuleError> {
    let mut command = Command::new(script);
    command.env.push(("LC_ALL".into(), "C".into()));
    Ok(ctx.conn.exec(&command).await?)
}

/// Decides and, outside check mode, unpacks `archive` (a path on the target).
async fn unpack(
    ctx: &ModuleContext<'_>,
    typed: &WithAttributes<UnarchiveArgs>,
    archive: &str,
    dest: &str,
) -> Result<Outcome, ModuleError> {
    let args = &typed.args;
    let a = quote(archive);
    let d = quote(dest);
    let quoted = |list: &[String]| -> Vec<String> { list.iter().map(|s| quote(s)).collect() };
    let includes = quoted(&args.include).join(" ");
    let extra = quoted(&args.extra_opts).join(" ");
    let tar_excludes: String = args
        .exclude
        .iter()
        .map(|e| format!(" {}", quote(&format!("--exclude={e}"))))
        .collect();
    let zip_excludes = if args.exclude.is_empty() {
        String::new()
    } else {
        format!(" -x {}", quoted(&args.exclude).join(" "))
    };
    let keep_newer = if args.keep_newer {
        " --keep-newer-files"
    } else {
        ""
    };
    let script = format!(
        "[ -e {a} ] || {{ echo S:missing; exit 0; }}; [ -d {d} ] || {{ echo D:missing; exit 0; }}; \
         if command -v unzip >/dev/null 2>&1 && unzip -Z -1 {a} >/dev/null 2>&1; then echo H:zip; \
           unzip -Z -T {a} {includes} | sed 's/^/Z:/'; \
         elif tar -tf {a} >/dev/null 2>&1; then echo H:tar; \
           tar -tf {a}{tar_excludes} {includes} | sed 's/^/L:/'; \
           bosun_diff=$(tar --diff -C {d} {extra}{keep_newer}{tar_excludes} -f {a} {includes} 2>&1); echo \"R:$?\"; \
           printf '%s\\n' \"$bosun_diff\" | sed 's/^/T:/'; \
         else echo H:none; file {a} 2>/dev/null | sed 's/^/I:/'; fi"
    );
    let out = exec(ctx, script).await?;
    let text = out.stdout_text();
    let tagged =
        |tag: &str| -> Vec<&str> { text.lines().filter_map(|l| l.strip_prefix(tag)).collect() };
    if text.lines().any(|l| l == "S:missing") {
        return Ok(super::failed(format!("Source '{archive}' does not exist")));
    }
    if text.lines().any(|l| l == "D:missing") {
        return Ok(super::failed(format!(
            "Destination '{dest}' is not a directory"
        )));
    }
    let handler = match tagged("H:").first().copied() {
        Some("zip") => Handler::Zip,
        Some("tar") => Handler::Tar,
        _ => {
            return Ok(super::failed(format!(
                "Failed to find handler for \"{archive}\". Make sure the required command to extract the file is installed.\n{}",
                tagged("I:").join("\n")
            )));
        }
    };
    let attributes = &typed.attributes;
    let (files, unarchived) = match handler {
        Handler::Tar => {
            let files: Vec<String> = tagged("L:").iter().map(|s| s.to_string()).collect();
            let rc = tagged("R:")
                .first()
                .and_then(|r| r.parse().ok())
                .unwrap_or(1);
            let diff = tagged("T:").join("\n");
            let mut to_be_set = Vec::new();
            for (field, given) in [
                ("Mode", attributes.mode().is_some()),
                ("Uid", attributes.owner().is_some()),
                ("Gid", attributes.group().is_some()),
            ] {
                if given {
                    to_be_set.push(field);
                }
            }
            (files, tar_unchanged(rc, &diff, &to_be_set))
        }
        Handler::Zip => {
            let entries = parse_zipinfo(&tagged("Z:").join("\n"));
            let entries: Vec<ZipEntry> = entries
                .into_iter()
                .filter(|e| {
                    !args
                        .exclude
                        .iter()
                        .any(|x| crate::glob::matches(x, &e.name))
                })
                .collect();
            let same = zip_unchanged(ctx, dest, &entries).await?;
            (entries.into_iter().map(|e| e.name).collect(), same)
        }
    };

    let mut outcome = super::ok(!unarchived);
    outcome.insert("dest".into(), json!(dest));
    outcome.insert("handler".into(), json!(handler.name()));
    if args.list_files {
        outcome.insert("files".into(), json!(files));
    }
    if ctx.check_mode {
        return Ok(outcome);
    }
    if !unarchived {
        let cmd = match handler {
            Handler::Tar => {
                format!("tar --extract -C {d} {extra}{keep_newer}{tar_excludes} -f {a} {includes}")
            }
            Handler::Zip => format!("unzip -o {extra} {a} {includes}{zip_excludes} -d {d}"),
        };
        let done = exec(ctx, cmd.clone()).await?;
        let results = json!({
            "cmd": cmd,
            "rc": done.rc,
            "out": done.stdout_text(),
            "err": done.stderr_text(),
        });
        if done.rc != 0 {
            let mut failed = super::failed(format!(
                "failed to unpack {archive} to {dest}: {}",
                done.stderr_text().trim()
            ));
            failed.insert("extract_results".into(), results);
            return Ok(failed);
        }
        outcome.insert("extract_results".into(), results);
    }
    if attributes.asks_anything() {
        match set_attributes(ctx, dest, &files, attributes).await? {
            Ok(changed) => {
                if changed {
                    outcome.insert("changed".into(), json!(true));
                }
            }
            Err(msg) => return Ok(super::failed(msg)),
        }
    }
    if let Some(stat) = fileops::stat(ctx, dest, true, false).await? {
        for (key, value) in fileops::describe(dest, &stat) {
            if key != "path" {
                outcome.entry(key).or_insert(value);
            }
        }
    }
    Ok(outcome)
}

/// The path of archive entry `name` under `dest`.
fn entry_path(dest: &str, name: &str) -> String {
    format!(
        "{}/{}",
        dest.trim_end_matches('/'),
        name.trim_end_matches('/')
    )
}

/// Whether every zip entry is in `dest` already: directories exist, files with the
/// same size and modification time (to the second).
async fn zip_unchanged(
    ctx: &ModuleContext<'_>,
    dest: &str,
    entries: &[ZipEntry],
) -> Result<bool, ModuleError> {
    if entries.is_empty() {
        return Ok(true);
    }
    let script: String = entries
        .iter()
        .map(|e| {
            let p = quote(&entry_path(dest, &e.name));
            format!("stat -c '%F|%s|%y' -- {p} 2>/dev/null || echo missing; ")
        })
        .collect();
    let out = exec(ctx, script).await?;
    let text = out.stdout_text();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != entries.len() {
        return Ok(false);
    }
    Ok(entries.iter().zip(lines).all(|(entry, line)| {
        let mut fields = line.splitn(3, '|');
        let (Some(kind), Some(size), Some(mtime)) = (fields.next(), fields.next(), fields.next())
        else {
            return false;
        };
        if entry.dir {
            kind == "directory"
        } else {
            kind.starts_with("regular")
                && size.parse::<u64>().ok() == Some(entry.size)
                && mtime.starts_with(&entry.mtime)
        }
    }))
}

/// Brings every unpacked entry to the wanted mode, owner, group and `chattr` flags;
/// whether any changed.
async fn set_attributes(
    ctx: &ModuleContext<'_>,
    dest: &str,
    files: &[String],
    attributes: &Attributes,
) -> Result<Result<bool, String>, ModuleError> {
    let script: String = files
        .iter()
        .map(|f| {
            let path = entry_path(dest, f);
            format!(
                "echo '@@bosun-entry'; {}; {}",
                fileops::stat_script(&path, false, false),
                attributes.probe(&path)
            )
        })
        .collect();
    let out = exec(ctx, script).await?;
    let text = out.stdout_text();
    let mut commands = Vec::new();
    for (name, chunk) in files.iter().zip(text.split("@@bosun-entry\n").skip(1)) {
        if let Some(stat) = fileops::parse_stat(chunk) {
            match attributes.changes(&entry_path(dest, name), &stat) {
                Ok(changes) => commands.extend(changes.commands),
                Err(msg) => return Ok(Err(msg)),
            }
        }
    }
    if commands.is_empty() || ctx.check_mode {
        return Ok(Ok(!commands.is_empty()));
    }
    let done = exec(ctx, commands.join(" && ")).await?;
    if done.rc != 0 {
        return Ok(Err(done.stderr_text().trim().to_string()));
    }
    Ok(Ok(true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipinfo_lines_parse() {
        let out = "Archive:  site.zip\nZip file size: 400 bytes, number of entries: 2\n\
                   drwxr-xr-x  3.0 unx        0 bx stor 20240102.030405 site/\n\
                   -rw-r--r--  3.0 unx       12 tx defN 20240102.030405 site/my page.html\n\
                   2 files, 12 bytes uncompressed, 10 bytes compressed:  16.7%\n";
        let entries = parse_zipinfo(out);
        assert_eq!(entries.len(), 2);
        assert!(entries[0].dir);
        assert_eq!(
            entries[1],
            ZipEntry {
                name: "site/my page.html".into(),
                dir: false,
                size: 12,
                mtime: "2024-01-02 03:04:05".into()
            }
        );
    }

    #[test]
    fn tar_diff_is_judged_like_ansible() {
        assert!(tar_unchanged(0, "", &[]));
        assert!(!tar_unchanged(1, "a/b: Mod time differs\n", &[]));
        assert!(!tar_unchanged(
            1,
            "tar: a/c: Warning: Cannot stat: No such file or directory",
            &[]
        ));
        assert!(
            tar_unchanged(1, "a/b: Mode differs\n", &["Mode"]),
            "a mode the task sets anyway is no reason to unpack"
        );
        assert!(!tar_unchanged(
            1,
            "a/b: Mode differs\na/b: Size differs\n",
            &["Mode"]
        ));
    }

    #[test]
    fn entry_paths_join() {
        assert_eq!(entry_path("/srv/", "site/"), "/srv/site");
        assert_eq!(Handler::Zip.name(), "ZipArchive");
    }
}
