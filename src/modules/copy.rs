//! `copy`: puts a control-node file, a directory tree or given `content` on the target.

mod tree;

use std::path::Path;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::contract::{Decision, StateModule};
use super::install::{self, Settings, Source};
use super::typed::{Rules, WithAttributes, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Copies files to the target, comparing checksums first.
pub struct Copy;

module_args! {
    /// `copy`'s arguments.
    pub struct CopyArgs {
        /// The control-node file or directory (a target path with `remote_src`).
        src: Option<String>,
        /// The bytes to write instead of a file; anything but a string is written as
        /// JSON.
        content: Json,
        /// Where the file goes; a directory when it ends in `/`. Required, checked when
        /// the task runs after `src`, as Ansible's action checks it.
        dest: String => .default_str(""),
        backup: bool => .default_bool(false),
        /// Replace a file whose content differs (otherwise only missing files are
        /// written).
        force: bool => .default_bool(true).aliases(&["thirsty"]),
        /// A command with `%s` the new file must pass before it replaces anything.
        validate: Option<String>,
        /// The mode of directories a tree copy creates.
        directory_mode: Json,
        /// `src` is on the target.
        remote_src: bool => .default_bool(false),
        /// Follow symbolic links inside a control-node tree instead of recreating them.
        local_follow: bool => .default_bool(true),
        /// The SHA-1 new content must have.
        checksum: Option<String>,
        /// Write through a `dest` that is a symbolic link instead of replacing it.
        follow: bool => .default_bool(false),
        /// Decrypt vault-encrypted source files.
        decrypt: bool => .default_bool(true),
    }
    rules: Rules { mutually_exclusive: &[&["content", "src"]], ..Rules::NONE };
}

/// What `copy` finds: one destination, or a whole tree's.
#[derive(Debug)]
pub enum Found {
    /// One file.
    One(Box<install::Found>),
    /// A directory tree.
    Tree(tree::Found),
}

/// What `copy` changes.
#[derive(Debug)]
pub enum Changes {
    /// One file.
    One(Box<install::Plan>),
    /// A directory tree.
    Tree(tree::Plan),
}

impl CopyArgs {
    /// What `install` needs from the arguments.
    fn settings<'a>(&'a self, attributes: &'a super::fileops::Attributes) -> Settings<'a> {
        Settings {
            force: self.force,
            backup: self.backup,
            validate: self.validate.as_deref(),
            attributes,
        }
    }
}

/// Ansible's failure for a task with neither `src` nor `content`.
const SRC_REQUIRED: &str = "src (or content) is required";

#[async_trait]
impl StateModule for Copy {
    const NAME: &'static str = "copy";
    type Args = WithAttributes<CopyArgs>;
    type State = Found;
    type Plan = Changes;
    const INSTALLS_AT_DEST: bool = true;

    async fn query(&self, on: &Target<'_>, typed: &Self::Args) -> Result<Found, ModuleError> {
        let args = &typed.args;
        // Ansible's action plugin checks these first, in this order; `src: ''` is none.
        let src = args.src.as_deref().filter(|src| !src.is_empty());
        if args.content.is_null() && src.is_none() {
            return Err(ModuleError::Failed(SRC_REQUIRED.into()));
        }
        if args.dest.is_empty() {
            return Err(ModuleError::Failed("dest is required".into()));
        }
        let dest = args.dest.clone();
        let preserve = typed.attributes.wants_preserve();
        let one = |source: Source, dest: String| async move {
            install::query(on, &dest, source, args.follow, &typed.attributes)
                .await
                .map(|found| Found::One(Box::new(found)))
        };
        if !args.content.is_null() {
            if dest.ends_with('/') {
                return Err(ModuleError::Failed(format!(
                    "can not use content with a dir as dest: {dest}"
                )));
            }
            let text = content_text(&args.content);
            let source = Source {
                data: text.into_bytes(),
                src: None,
                vaulted: false,
                // Ansible's action writes content to a temporary file first: 0600.
                mode: Some(0o600),
            };
            return one(source, dest).await;
        }
        let Some(src) = src else {
            return Err(ModuleError::Failed(SRC_REQUIRED.into()));
        };
        if args.remote_src {
            let src = &super::pathexpand::expand_path(on, src).await?;
            let quoted = quote(src);
            // With `preserve`, the mode's line comes first.
            let script = if preserve {
                format!("stat -c %a -- {quoted} && cat -- {quoted}")
            } else {
                format!("cat -- {quoted}")
            };
            let out = on.conn.exec(&Command::new(script)).await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(format!("Source {src} not found")));
            }
            let (mode, data) = if preserve {
                split_mode_line(out.stdout)
            } else {
                (None, out.stdout)
            };
            let source = Source {
                data,
                src: Some(src.to_string()),
                vaulted: false,
                mode,
            };
            return one(source, dest).await;
        }
        let Some(local) = on.vars.find_file("files", src) else {
            return Err(ModuleError::Failed(format!(
                "Could not find or access '{src}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
            )));
        };
        if local.is_dir() {
            let source = tree::Source {
                local: &local,
                contents_only: src.ends_with('/'),
                local_follow: args.local_follow,
                decrypt: args.decrypt,
                follow: args.follow,
                attributes: &typed.attributes,
            };
            return tree::query(on, source, &dest).await.map(Found::Tree);
        }
        let (data, vaulted) = read_source(&local, args.decrypt)?;
        let dest = if dest.ends_with('/') {
            format!("{dest}{}", file_name(&local))
        } else {
            dest
        };
        let source = Source {
            data,
            src: Some(local.display().to_string()),
            vaulted,
            mode: Some(local_mode(&local)?),
        };
        one(source, dest).await
    }

    fn decide(&self, typed: &Self::Args, found: Found) -> Result<Decision<Changes>, String> {
        let args = &typed.args;
        let settings = args.settings(&typed.attributes);
        Ok(match found {
            Found::One(found) => {
                let decision = install::decide(*found, &settings, args.checksum.as_deref())?;
                let decision = install::as_copied(decision);
                Decision {
                    plan: decision.plan.map(|plan| Changes::One(Box::new(plan))),
                    diff: decision.diff,
                    result: decision.result,
                }
            }
            Found::Tree(found) => {
                let decision = tree::decide(found, &settings, &args.directory_mode)?;
                Decision {
                    plan: decision.plan.map(Changes::Tree),
                    diff: decision.diff,
                    result: decision.result,
                }
            }
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        typed: &Self::Args,
        changes: Changes,
    ) -> Result<Outcome, ModuleError> {
        let settings = typed.args.settings(&typed.attributes);
        match changes {
            Changes::One(plan) => install::apply(on, *plan, &settings).await,
            Changes::Tree(plan) => tree::apply(on, plan, &settings).await,
        }
    }
}

/// Reads a local `src` file, decrypting a vault file when `decrypt` is set; the flag
/// says whether it was decrypted.
fn read_source(path: &Path, decrypt: bool) -> Result<(Vec<u8>, bool), ModuleError> {
    let data = std::fs::read(path)
        .map_err(|err| ModuleError::Failed(format!("could not read {}: {err}", path.display())))?;
    if !decrypt {
        return Ok((data, false));
    }
    crate::vault::files::open(data)
        .map_err(|err| ModuleError::Failed(format!("{err} ({})", path.display())))
}

/// The permission bits of a control-node file, for `mode: preserve`.
pub(super) fn local_mode(path: &Path) -> Result<u32, ModuleError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path)
        .map_err(|err| ModuleError::Failed(format!("could not stat {}: {err}", path.display())))?;
    Ok(meta.permissions().mode() & 0o7777)
}

/// Splits `stat -c %a`'s line (octal) off the file's bytes that follow it.
fn split_mode_line(mut out: Vec<u8>) -> (Option<u32>, Vec<u8>) {
    let Some(end) = out.iter().position(|b| *b == b'\n') else {
        return (None, out);
    };
    let mode = std::str::from_utf8(&out[..end])
        .ok()
        .and_then(|m| u32::from_str_radix(m, 8).ok());
    let data = out.split_off(end + 1);
    (mode, data)
}

/// The last component of `path`.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `content` as the bytes written, as Ansible's copy action makes them: lists and
/// dicts as JSON, other values as Python's `str()` (`True`, not `true`).
fn content_text(content: &Json) -> String {
    match content {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        other => crate::pyjson::dumps(other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    #[test]
    fn the_preserved_mode_line_comes_before_the_bytes() {
        assert_eq!(
            split_mode_line(b"547\nfoo\nbar".to_vec()),
            (Some(0o547), b"foo\nbar".to_vec())
        );
        assert_eq!(split_mode_line(b"x".to_vec()), (None, b"x".to_vec()));
    }

    #[test]
    fn arguments_take_ansibles_defaults_and_rules() {
        let typed: WithAttributes<CopyArgs> =
            from_json(json!({"src": "a", "dest": "/b"})).expect("valid");
        let args = &typed.args;
        assert!(args.force && args.decrypt && args.local_follow);
        assert!(!args.follow && !args.remote_src && !args.backup);
        assert!(args.content.is_null());
        let err = from_json::<WithAttributes<CopyArgs>>(
            json!({"src": "a", "content": "x", "dest": "/b"}),
        )
        .expect_err("both");
        assert_eq!(err, "parameters are mutually exclusive: content|src");
    }

    #[test]
    fn content_that_is_not_text_is_written_as_ansible_writes_it() {
        assert_eq!(content_text(&json!(true)), "True");
        assert_eq!(content_text(&json!(1.5)), "1.5");
        assert_eq!(content_text(&json!({"a": [1]})), r#"{"a": [1]}"#);
        assert_eq!(content_text(&json!("x")), "x");
    }
}
