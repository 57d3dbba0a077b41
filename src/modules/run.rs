//! Commands of a module run as Ansible's `module.run_command(args, check_rc=True)`
//! runs them: the words quoted for the target's shell, several in one round trip with
//! their tools found first ([`run_tools`]), and a failure reported with `cmd`, `rc`,
//! `stdout`, `stderr` (and their `_lines`), the message being the error output.

use serde_json::json;

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
    let ran = Ran {
        rc: out.rc,
        stdout: out.stdout_text(),
        stderr: out.stderr_text(),
    };
    Err(failed(&argv.join(" "), &ran))
}

/// `cmd` (the command line as Ansible shows it) failed as `ran` says.
pub fn failed(cmd: &str, ran: &Ran) -> ModuleError {
    let mut result = super::failed(ran.stderr.trim_end().to_string());
    result.insert("cmd".into(), json!(cmd));
    result.insert("rc".into(), json!(ran.rc));
    with_output(&mut result, &ran.stdout, &ran.stderr);
    ModuleError::FailedWith(result)
}

/// `stdout` and `stderr` in a result, with the `_lines` Ansible adds beside them.
pub fn with_output(outcome: &mut Outcome, stdout: &str, stderr: &str) {
    for (key, text) in [("stdout", stdout), ("stderr", stderr)] {
        outcome.insert(format!("{key}_lines"), super::command::lines(text));
        outcome.insert(key.into(), json!(text));
    }
}

/// Exit status of a script whose tool is missing.
const NO_TOOL: i32 = 101;

/// What one command of a [`run_tools`] script did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Ran {
    /// Its exit status.
    pub rc: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Runs `body` on the target after finding each `(variable, program)` of `tools` as
/// `get_bin_path(..., required=True)` does (failing with its message when one is
/// missing) into that shell variable. `body` runs commands as `run <words>`: each one
/// in the C locale, its exit status, output and error recorded apart, `run` returning
/// its status. Returns where the tools are and what each `run` did, in order.
pub async fn run_tools(
    on: &super::Target<'_>,
    tools: &[(&str, &str)],
    body: &str,
) -> Result<(Vec<String>, Vec<Ran>), ModuleError> {
    let mut script = String::new();
    for (var, program) in tools {
        script.push_str(&format!(
            "{var}=$(command -v {program}) || {{ printf 'Failed to find required executable \"%s\" in paths: %s' {program} \"$PATH\" >&2; exit {NO_TOOL}; }}; printf '%s\\n' \"${var}\"; "
        ));
    }
    script.push_str(RECORDS);
    script.push_str(body);
    let out = on
        .conn
        .exec(&crate::connection::Command::new(script))
        .await?;
    if out.rc == NO_TOOL {
        return Err(ModuleError::Failed(out.stderr_text()));
    }
    let stdout = out.stdout_text();
    let mut lines = stdout.splitn(tools.len() + 1, '\n');
    let paths = tools
        .iter()
        .map(|(_, program)| lines.next().unwrap_or(program).to_string())
        .collect();
    let (_, ran) = records(lines.next().unwrap_or(""));
    Ok((paths, ran))
}

/// Shell text that defines `run <words>` for a script's body: each command runs in the
/// C locale with its exit status, output and error recorded apart (read back with
/// [`records`]), `run` returning its status.
pub const RECORDS: &str = "o=$(mktemp) && e=$(mktemp) || exit 1; trap 'rm -f \"$o\" \"$e\"' EXIT; \
     run() { LANG=C \"$@\" >\"$o\" 2>\"$e\"; rc=$?; printf '\\003%s\\n' $rc; cat \"$o\"; printf '\\004'; cat \"$e\"; return $rc; }; ";

/// The output of a script using [`RECORDS`]: what it printed before its first `run`,
/// and what each `run` did, in order.
pub fn records(output: &str) -> (&str, Vec<Ran>) {
    let mut parts = output.split('\u{3}');
    let before = parts.next().unwrap_or("");
    let ran = parts
        .map(|record| {
            let (rc, rest) = record.split_once('\n').unwrap_or((record, ""));
            let (stdout, stderr) = rest.split_once('\u{4}').unwrap_or((rest, ""));
            Ran {
                rc: rc.trim().parse().unwrap_or(-1),
                stdout: stdout.to_string(),
                stderr: stderr.to_string(),
            }
        })
        .collect();
    (before, ran)
}
