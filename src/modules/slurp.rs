//! `slurp`: a file's content from the target, base64-encoded.

use async_trait::async_trait;
use base64::Engine;
use std::convert::Infallible;

use super::contract::{Decision, StateModule};
use super::typed::module_args;
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Exit codes of the read script that name a reason, as Python's errno would.
const NOT_FOUND: i32 = 2;
const NOT_READABLE: i32 = 13;
const IS_DIRECTORY: i32 = 21;

/// `slurp`: returns the content of a remote file, base64-encoded; never changes anything.
pub struct Slurp;

module_args! {
    /// `slurp`'s arguments.
    pub struct SlurpArgs {
        /// The file to read (`~` expanded on the target).
        src: String => .required().aliases(&["path"]),
    }
}

/// What reading the file gave.
#[derive(Debug)]
pub struct Found {
    /// The path, `~` expanded.
    source: String,
    /// The read script's exit code: 0, or the reason it could not read.
    rc: i32,
    /// The file's bytes.
    content: Vec<u8>,
}

#[async_trait]
impl StateModule for Slurp {
    const NAME: &'static str = "slurp";
    type Args = SlurpArgs;
    type State = Found;
    type Plan = Infallible;

    async fn query(&self, on: &Target<'_>, args: &SlurpArgs) -> Result<Found, ModuleError> {
        let source = super::pathexpand::expand_path(on, &args.src).await?;
        let out = on.conn.exec(&Command::new(read_script(&source))).await?;
        Ok(Found {
            source,
            rc: out.rc,
            content: out.stdout,
        })
    }

    fn decide(&self, _args: &SlurpArgs, found: Found) -> Result<Decision<Infallible>, String> {
        if found.rc != 0 {
            return Err(failure_message(found.rc, &found.source));
        }
        let content = base64::engine::general_purpose::STANDARD.encode(&found.content);
        Ok(Decision::unchanged()
            .with("content", content)
            .with("source", found.source)
            .with("encoding", "base64"))
    }

    async fn apply(
        &self,
        _on: &Target<'_>,
        _args: &SlurpArgs,
        plan: Infallible,
    ) -> Result<Outcome, ModuleError> {
        match plan {}
    }
}

/// Prints the file at `path`, or exits with the code naming why it cannot. For a
/// path that cannot be seen, its deepest visible ancestor tells why, as `open`'s
/// errno would: not a directory (`ENOTDIR`, 20), a directory that may not be
/// searched (`EACCES`), else missing.
fn read_script(path: &str) -> String {
    let p = quote(path);
    format!(
        "if [ ! -e {p} ]; then d=$(dirname -- {p}); while [ ! -e \"$d\" ]; do d=$(dirname -- \"$d\"); done; \
         [ -d \"$d\" ] || exit 20; [ -x \"$d\" ] || exit {NOT_READABLE}; exit {NOT_FOUND}; \
         elif [ -d {p} ]; then exit {IS_DIRECTORY}; \
         elif [ ! -r {p} ]; then exit {NOT_READABLE}; fi; cat -- {p}"
    )
}

/// Ansible's message for a file that could not be read. Ansible's last case
/// prints a literal `{source}` (its f-string lacks the `f`); bosun names the file.
fn failure_message(rc: i32, source: &str) -> String {
    match rc {
        NOT_FOUND => format!("File not found: {source}"),
        NOT_READABLE => format!("File is not readable: {source}"),
        IS_DIRECTORY => format!("Source is a directory and must be a file: {source}"),
        _ => format!("Unable to slurp file: {source}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_is_base64_and_failures_fail() {
        let args: SlurpArgs =
            crate::modules::typed::from_json(serde_json::json!({"path": "/x"})).expect("valid");
        let read = Found {
            source: "/x".into(),
            rc: 0,
            content: b"hi\n".to_vec(),
        };
        let decision = Slurp.decide(&args, read).expect("decides");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["content"], "aGkK");
        assert_eq!(decision.result["source"], "/x");
        assert_eq!(decision.result["encoding"], "base64");
        let missing = Found {
            source: "/x".into(),
            rc: NOT_FOUND,
            content: Vec::new(),
        };
        assert_eq!(
            Slurp.decide(&args, missing).expect_err("fails"),
            "File not found: /x"
        );
    }

    #[test]
    fn failures_are_named_as_ansible_names_them() {
        for (rc, expected) in [
            (NOT_FOUND, "File not found: /x/it"),
            (NOT_READABLE, "File is not readable: /x/it"),
            (
                IS_DIRECTORY,
                "Source is a directory and must be a file: /x/it",
            ),
            (20, "Unable to slurp file: /x/it"),
        ] {
            assert_eq!(failure_message(rc, "/x/it"), expected, "rc {rc}");
        }
    }
}
