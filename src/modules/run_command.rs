//! A failed command of a module, reported as Ansible's `run_command(check_rc=True)`
//! reports it: `msg` is its standard error, with `cmd`, `rc`, `stdout` and `stderr`
//! (and their `_lines`).

use serde_json::json;

use super::ModuleError;

/// `cmd` (the command line as Ansible shows it) failed as `ran` says.
pub fn failed(cmd: &str, ran: &Ran) -> ModuleError {
    let mut result = super::failed(ran.stderr.trim_end().to_string());
    result.insert("cmd".into(), json!(cmd));
    result.insert("rc".into(), json!(ran.rc));
    result.insert("stdout".into(), json!(ran.stdout));
    result.insert("stderr".into(), json!(ran.stderr));
    ModuleError::FailedWith(super::command::with_lines(result))
}

/// Exit status of a script whose tool is missing.
const NO_TOOL: i32 = 101;

/// What one command of a [`run_tools`] script did.
#[derive(Debug, Default, Clone)]
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
    script.push_str(
        "o=$(mktemp) && e=$(mktemp) || exit 1; trap 'rm -f \"$o\" \"$e\"' EXIT; \
         run() { LANG=C \"$@\" >\"$o\" 2>\"$e\"; rc=$?; printf '\\003%s\\n' $rc; cat \"$o\"; printf '\\004'; cat \"$e\"; return $rc; }; ",
    );
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
    let ran = lines
        .next()
        .unwrap_or("")
        .split('\u{3}')
        .skip(1)
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
    Ok((paths, ran))
}
