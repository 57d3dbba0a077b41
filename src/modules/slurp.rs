//! `slurp`: a file's content from the target, base64-encoded.

use async_trait::async_trait;
use base64::Engine;
use serde_json::Value as Json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param, fileops};
use crate::connection::{Command, quote};
use crate::template::pyfmt::py_repr;

/// Exit codes of the read script that name a reason, as Python's errno would.
const NOT_FOUND: i32 = 2;
const NOT_READABLE: i32 = 13;
const IS_DIRECTORY: i32 = 21;

/// `slurp`: returns the content of a remote file, base64-encoded; never changes anything.
pub struct Slurp;

#[async_trait]
impl Module for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[Param::new("src", Kind::Str).required().aliases(&["path"])];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let source = fileops::expand_user(ctx, args.str("src").unwrap_or_default()).await?;
        let out = ctx.conn.exec(&Command::new(read_script(&source))).await?;
        if out.rc != 0 {
            return Ok(super::failed(failure_message(out.rc, &source)));
        }
        let mut outcome = super::ok(false);
        outcome.insert(
            "content".into(),
            Json::String(base64::engine::general_purpose::STANDARD.encode(&out.stdout)),
        );
        outcome.insert("source".into(), Json::String(source));
        outcome.insert("encoding".into(), Json::String("base64".into()));
        Ok(outcome)
    }
}

/// Prints the file at `path`, or exits with the code naming why it cannot.
fn read_script(path: &str) -> String {
    let p = quote(path);
    format!(
        "if [ ! -e {p} ]; then exit {NOT_FOUND}; elif [ -d {p} ]; then exit {IS_DIRECTORY}; \
         elif [ ! -r {p} ]; then exit {NOT_READABLE}; fi; cat -- {p}"
    )
}

/// Ansible's message for a file that could not be read.
fn failure_message(rc: i32, source: &str) -> String {
    let quoted = py_repr(&source.into());
    match rc {
        NOT_FOUND => format!("file not found: {quoted}"),
        NOT_READABLE => format!("file is not readable: {quoted}"),
        IS_DIRECTORY => format!("source is a directory and must be a file: {quoted}"),
        _ => "unable to slurp file".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_named_as_ansible_names_them() {
        for (rc, expected) in [
            (NOT_FOUND, "file not found: '/x/it'"),
            (NOT_READABLE, "file is not readable: '/x/it'"),
            (
                IS_DIRECTORY,
                "source is a directory and must be a file: '/x/it'",
            ),
            (1, "unable to slurp file"),
        ] {
            assert_eq!(failure_message(rc, "/x/it"), expected, "rc {rc}");
        }
        assert_eq!(
            failure_message(NOT_FOUND, "it's"),
            "file not found: \"it's\"",
            "quoted as Python's repr"
        );
    }
}
