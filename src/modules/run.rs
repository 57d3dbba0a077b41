//! A command line run as Ansible's `module.run_command(args, check_rc=True)` runs it:
//! the words quoted for the target's shell, and a failure reported with `cmd`, `rc`,
//! `stdout`, `stderr` (and their `_lines`), the message being the error output.

use serde_json::{Value as Json, json};

use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Runs `argv` (under `LC_ALL=C` when `c_locale`), failing as `check_rc` does; the
/// standard output when it succeeds.
pub async fn checked(
    on: &Target<'_>,
    argv: &[String],
    c_locale: bool,
) -> Result<String, ModuleError> {
    let locale = if c_locale { "LC_ALL=C " } else { "" };
    run(on, argv, locale).await
}

/// Runs `argv` in the directory `cwd` (`run_command(cwd=...)`, which stays where it
/// is when `cwd` is no directory), failing as [`checked`] does; the standard output
/// when it succeeds.
pub async fn checked_in(
    on: &Target<'_>,
    cwd: &str,
    argv: &[String],
) -> Result<String, ModuleError> {
    run(on, argv, &format!("cd {} 2>/dev/null; ", quote(cwd))).await
}

/// Runs `argv` after the shell text `before`.
async fn run(on: &Target<'_>, argv: &[String], before: &str) -> Result<String, ModuleError> {
    let words: Vec<String> = argv.iter().map(|a| quote(a)).collect();
    let out = on
        .conn
        .exec(&Command::new(format!("{before}{}", words.join(" "))))
        .await?;
    if out.rc == 0 {
        return Ok(out.stdout_text());
    }
    let mut failed = super::failed(out.stderr_text().trim_end());
    failed.insert("cmd".into(), json!(argv.join(" ")));
    failed.insert("rc".into(), json!(out.rc));
    with_output(&mut failed, &out.stdout_text(), &out.stderr_text());
    Err(ModuleError::FailedWith(failed))
}

/// `stdout` and `stderr` in a result, with the `_lines` Ansible adds beside them.
pub fn with_output(outcome: &mut Outcome, stdout: &str, stderr: &str) {
    for (key, text) in [("stdout", stdout), ("stderr", stderr)] {
        outcome.insert(format!("{key}_lines"), lines(text));
        outcome.insert(key.into(), json!(text));
    }
}

/// An output's `_lines` list.
pub fn lines(text: &str) -> Json {
    json!(text.lines().collect::<Vec<_>>())
}
