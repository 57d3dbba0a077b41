//! `tempfile`: creates a temporary file or directory on the target with `mktemp`.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param, fileops};
use crate::connection::{Command, quote};

/// `tempfile`: creates a temporary file or directory, readable by its creator only.
/// It stays a plain [`Module`]: it has no state to query or decide on, it only runs
/// `mktemp`, and like Ansible's it cannot tell what it would create, so check mode
/// skips it.
pub struct Tempfile;

arg_enum! {
    /// What to create.
    pub enum State {
        Directory = "directory",
        File = "file",
    }
}

module_args! {
    /// `tempfile`'s arguments.
    pub struct TempfileArgs {
        state: State => .default_str("file"),
        /// The directory to create it in; the system's temporary directory if not given.
        path: Option<String>,
        /// What the name starts with.
        prefix: String => .default_str("ansible."),
        /// What the name ends with.
        suffix: String => .default_str(""),
    }
}

#[async_trait]
impl Module for Tempfile {
    fn name(&self) -> &'static str {
        "tempfile"
    }

    fn params(&self) -> &'static [Param] {
        TempfileArgs::PARAMS
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = TempfileArgs::from_args(args).map_err(ModuleError::Failed)?;
        for (name, value) in [("prefix", &args.prefix), ("suffix", &args.suffix)] {
            if value.contains('/') {
                return Ok(super::failed(format!(
                    "{name} must be a valid file name component, got {}",
                    crate::template::pyfmt::py_repr(&minijinja::Value::from(value.as_str()))
                )));
            }
        }
        let dir = match &args.path {
            Some(path) => Some(super::pathexpand::expand_path(ctx, path).await?),
            None => None,
        };
        let script = mktemp_script(
            args.state == State::Directory,
            dir.as_deref(),
            &args.prefix,
            &args.suffix,
        );
        let command = Command::new(script);
        let out = ctx.conn.exec(&command).await?;
        let path = out.stdout_text().trim_end_matches('\n').to_string();
        if out.rc != 0 || path.is_empty() {
            let stderr = out.stderr_text();
            return Ok(super::failed(stderr.trim().to_string()));
        }
        // As Ansible's `exit_json` adds it to a result with a `path`: what the
        // path is now (state, mode, owner, size ...).
        let mut outcome = super::ok(true);
        match fileops::stat(ctx, &path, false, false).await? {
            Some(stat) => outcome.extend(fileops::describe(&path, &stat)),
            None => {
                outcome.insert("path".into(), Json::String(path));
            }
        }
        Ok(outcome)
    }
}

/// The `mktemp` call: eight random characters between `prefix` and `suffix`, in `dir`
/// (made absolute) or else the temporary directory Python's `tempfile` would pick.
fn mktemp_script(directory: bool, dir: Option<&str>, prefix: &str, suffix: &str) -> String {
    let base = match dir {
        Some(dir) if dir.starts_with('/') => quote(dir.trim_end_matches('/')),
        Some(dir) => format!("\"$PWD\"/{}", quote(dir.trim_end_matches('/'))),
        None => "\"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\"".to_string(),
    };
    let mut script = String::from("mktemp");
    if directory {
        script.push_str(" -d");
    }
    if !suffix.is_empty() {
        script.push_str(&format!(" --suffix={}", quote(suffix)));
    }
    script.push_str(&format!(
        " -- {base}/{}",
        quote(&format!("{prefix}XXXXXXXX"))
    ));
    script
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_take_ansibles_defaults() {
        let args: TempfileArgs =
            crate::modules::typed::from_json(serde_json::json!({})).expect("valid");
        assert_eq!(args.state, State::File);
        assert_eq!(
            (args.prefix.as_str(), args.suffix.as_str()),
            ("ansible.", "")
        );
        assert_eq!(args.path, None);
    }

    #[test]
    fn mktemp_calls() {
        for (directory, dir, prefix, suffix, expected) in [
            (
                false,
                None,
                "ansible.",
                "",
                "mktemp -- \"${TMPDIR:-${TEMP:-${TMP:-/tmp}}}\"/ansible.XXXXXXXX",
            ),
            (
                true,
                Some("/srv/x/"),
                "build ",
                ".d",
                "mktemp -d --suffix=.d -- /srv/x/'build XXXXXXXX'",
            ),
            (
                false,
                Some("rel"),
                "p",
                "it's",
                "mktemp --suffix='it'\"'\"'s' -- \"$PWD\"/rel/pXXXXXXXX",
            ),
        ] {
            assert_eq!(mktemp_script(directory, dir, prefix, suffix), expected);
        }
    }
}
