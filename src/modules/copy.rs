//! `copy`: puts a control-node file, a directory tree or given `content` on the target.

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::install::{Install, install};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Copies files to the target, comparing checksums first.
pub struct Copy;

#[async_trait]
impl Module for Copy {
    fn name(&self) -> &'static str {
        "copy"
    }

    fn takes_file_attributes(&self) -> bool {
        true
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("src", Kind::Str),
            Param::new("content", Kind::Raw),
            Param::new("remote_src", Kind::Bool),
            Param::new("directory_mode", Kind::Raw),
            Param::new("local_follow", Kind::Bool),
            Param::new("checksum", Kind::Str),
            Param::new("decrypt", Kind::Bool),
            Param::new("dest", Kind::Str).required(),
            Param::new("backup", Kind::Bool),
            Param::new("force", Kind::Bool).aliases(&["thirsty"]),
            Param::new("validate", Kind::Str),
            Param::new("follow", Kind::Bool),
        ];
        PARAMS
    }

    fn installs_at_dest(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let dest = args.str("dest").unwrap_or_default().to_string();
        let force = args.bool_or("force", true);
        if let Some(content) = args.get("content") {
            if args.get("src").is_some() {
                return Ok(super::failed(
                    "parameters are mutually exclusive: content|src",
                ));
            }
            if dest.ends_with('/') {
                return Ok(super::failed(format!(
                    "can not use content with a dir as dest: {dest}"
                )));
            }
            let text = match content {
                Json::String(s) => s.clone(),
                other => crate::output::pyjson::dumps(other, None),
            };
            return install(
                ctx,
                args,
                Install {
                    dest,
                    data: text.as_bytes(),
                    src: None,
                    force,
                    vaulted: false,
                },
            )
            .await;
        }
        let Some(src) = args.str("src") else {
            return Ok(super::failed("src (or content) is required"));
        };
        if args.bool_or("remote_src", false) {
            let out = ctx
                .conn
                .exec(&Command::new(format!("cat -- {}", quote(src))))
                .await?;
            if out.rc != 0 {
                return Ok(super::failed(format!("Source {src} not found")));
            }
            return install(
                ctx,
                args,
                Install {
                    dest,
                    data: &out.stdout,
                    src: Some(src.to_string()),
                    force,
                    vaulted: false,
                },
            )
            .await;
        }
        let Some(local) = ctx.vars.find_file("files", src) else {
            return Ok(super::failed(format!(
                "Could not find or access '{src}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
            )));
        };
        if local.is_dir() {
            return copy_tree(ctx, args, &local, src.ends_with('/'), &dest, force).await;
        }
        let (data, vaulted) = read_source(&local, args)?;
        let dest = if dest.ends_with('/') {
            format!("{dest}{}", file_name(&local))
        } else {
            dest
        };
        install(
            ctx,
            args,
            Install {
                dest,
                data: &data,
                src: Some(local.display().to_string()),
                force,
                vaulted,
            },
        )
        .await
    }
}

/// Reads a local `src` file, decrypting a vault file unless `decrypt: false`; the
/// flag says whether it was decrypted.
fn read_source(path: &Path, args: &Args) -> Result<(Vec<u8>, bool), ModuleError> {
    let data = std::fs::read(path)
        .map_err(|err| ModuleError::Failed(format!("could not read {}: {err}", path.display())))?;
    if !args.bool_or("decrypt", true) {
        return Ok((data, false));
    }
    crate::vault::files::open(data)
        .map_err(|err| ModuleError::Failed(format!("{err} ({})", path.display())))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Copies a directory recursively: `src/` copies its contents into `dest`, `src`
/// copies the directory itself into `dest/`.
async fn copy_tree(
    ctx: &ModuleContext<'_>,
    args: &Args,
    local: &Path,
    contents_only: bool,
    dest: &str,
    force: bool,
) -> Result<Outcome, ModuleError> {
    let root = if contents_only {
        dest.trim_end_matches('/').to_string()
    } else {
        format!("{}/{}", dest.trim_end_matches('/'), file_name(local))
    };
    let mut dirs = vec![root.clone()];
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    walk(local, &root, &mut dirs, &mut files)
        .map_err(|err| ModuleError::Failed(format!("could not read {}: {err}", local.display())))?;

    let probe: String = dirs
        .iter()
        .map(|d| format!("[ -d {q} ] || echo {q}; ", q = quote(d)))
        .collect();
    let out = ctx.conn.exec(&Command::new(probe)).await?;
    let missing: Vec<String> = out.stdout_text().lines().map(str::to_string).collect();
    let mut changed = !missing.is_empty();
    if !missing.is_empty() && !ctx.check_mode {
        let mode = args
            .get("directory_mode")
            .map(|m| super::fileops::parse_mode(m, None, true))
            .transpose()
            .map_err(ModuleError::Failed)?;
        let mode_flag = mode.map(|m| format!("-m {m:04o} ")).unwrap_or_default();
        let script: String = missing
            .iter()
            .map(|d| format!("mkdir -p {mode_flag}-- {} && ", quote(d)))
            .collect::<String>()
            + "true";
        let made = ctx.conn.exec(&Command::new(script)).await?;
        if made.rc != 0 {
            return Ok(super::failed(made.stderr_text().trim().to_string()));
        }
    }
    for (file, target) in &files {
        let (data, vaulted) = read_source(file, args)?;
        let result =
            if ctx.check_mode && missing.iter().any(|d| target.starts_with(&format!("{d}/"))) {
                super::ok(true)
            } else {
                install(
                    ctx,
                    args,
                    Install {
                        dest: target.clone(),
                        data: &data,
                        src: Some(file.display().to_string()),
                        force,
                        vaulted,
                    },
                )
                .await?
            };
        if result.get("failed").and_then(Json::as_bool) == Some(true) {
            return Ok(result);
        }
        changed |= result.get("changed").and_then(Json::as_bool) == Some(true);
    }
    let mut outcome = super::ok(changed);
    outcome.insert("dest".into(), json!(dest));
    outcome.insert("src".into(), json!(local.display().to_string()));
    Ok(outcome)
}

fn walk(
    local: &Path,
    remote: &str,
    dirs: &mut Vec<String>,
    files: &mut Vec<(PathBuf, String)>,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(local)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let target = format!("{remote}/{}", entry.file_name().to_string_lossy());
        if path.is_dir() {
            dirs.push(target.clone());
            walk(&path, &target, dirs, files)?;
        } else {
            files.push((path, target));
        }
    }
    Ok(())
}
