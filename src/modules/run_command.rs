//! A failed command of a module, reported as Ansible's `run_command(check_rc=True)`
//! reports it: `msg` is its standard error, with `cmd`, `rc`, `stdout` and `stderr`
//! (and their `_lines`).

use serde_json::json;

use super::ModuleError;
use crate::connection::CommandOutput;

/// `cmd` (the command line as Ansible shows it) failed with `out`; `stdout` is the
/// part of its standard output that was the command's own.
pub fn failed(cmd: &str, out: &CommandOutput, stdout: &str) -> ModuleError {
    let stderr = out.stderr_text();
    let mut result = super::failed(stderr.trim_end().to_string());
    result.insert("cmd".into(), json!(cmd));
    result.insert("rc".into(), json!(out.rc));
    result.insert("stdout".into(), json!(stdout));
    result.insert("stderr".into(), json!(stderr));
    ModuleError::FailedWith(super::command::with_lines(result))
}
