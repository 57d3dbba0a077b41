//! `script`: uploads a control-node script (found in the role's or playbook's `files/`)
//! and runs it on the target with its arguments.
//!
//! Like `command`, this does not fit the query -> decide -> apply contract: running
//! the script is the action, and Ansible always reports it as a change. The
//! `creates`/`removes` guard, the upload, the run and the cleanup happen in one round
//! trip (the script travels as the command's standard input); only a `become` that
//! needs standard input for its password uploads first. It reads check mode itself: in
//! check mode the guard alone runs, and without a guard the task is skipped, as
//! Ansible's action plugin does.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{Rules, TypedArgs, module_args};
use super::{Args, FreeForm, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote, receive};

/// Printed by the guard when `creates`/`removes` says the script must not run.
const SKIP_MARKER: &str = "\u{1}bosun-skip\u{1}";
/// Printed just before the script starts: what follows is the script's output, and
/// its absence means the upload failed.
const RAN_MARKER: &str = "\u{1}bosun-ran\u{1}";

module_args! {
    /// The arguments of `script`, as Ansible's action plugin validates them.
    pub struct ScriptArgs {
        /// The script and its arguments, given free form.
        raw as "_raw_params": Option<String>,
        /// The script and its arguments, given as `cmd:`.
        cmd: Option<String>,
        /// A path on the target: when it exists, the script does not run.
        creates: Option<String>,
        /// A path on the target: when it does not exist, the script does not run.
        removes: Option<String>,
        /// The directory on the target to run the script in (absolute).
        chdir: Option<String>,
        /// The program to run the script with (`python3`, `/bin/bash`).
        executable: Option<String>,
        /// Whether a vault-encrypted script is decrypted before it is sent.
        decrypt: bool => .default_bool(true),
    }
    rules: Rules {
        required_one_of: &[&["_raw_params", "cmd"]],
        mutually_exclusive: &[&["_raw_params", "cmd"]],
        ..Rules::NONE
    };
}

/// `script`: runs a local script on the target after uploading it.
pub struct Script;

#[async_trait]
impl Module for Script {
    fn name(&self) -> &'static str {
        "script"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        ScriptArgs::PARAMS
    }

    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = ScriptArgs::from_args(args).map_err(ModuleError::Failed)?;
        let guard = Guard {
            creates: args.creates.as_deref().filter(|p| !p.is_empty()),
            removes: args.removes.as_deref().filter(|p| !p.is_empty()),
        };
        // Ansible looks at the guard first, then at chdir and the script itself.
        if guard.any() && (ctx.check_mode || !ctx.conn.takes_stdin()) {
            let out = ctx.conn.exec(&Command::new(guard.script())).await?;
            if let Some(skip) = guard.skip_result(&out.stdout_text()) {
                return Ok(skip);
            }
        }
        if let Some(dir) = args.chdir.as_deref().filter(|d| !d.is_empty())
            && !dir.starts_with('/')
        {
            return Err(ModuleError::Failed(format!(
                "chdir {dir} must be an absolute path for a Unix-aware remote node"
            )));
        }
        let line = args
            .raw
            .as_deref()
            .or(args.cmd.as_deref())
            .unwrap_or_default()
            .trim();
        let parts = shell_words::split(line)
            .map_err(|err| ModuleError::Failed(format!("cannot split the command line: {err}")))?;
        let Some(source) = parts.first().filter(|s| !s.is_empty()) else {
            return Err(ModuleError::Failed("no script given".into()));
        };
        let Some(local) = ctx.vars.find_file("files", source) else {
            return Err(ModuleError::Failed(format!(
                "Could not find or access '{source}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
            )));
        };
        let data = read_script(&local, args.decrypt)?;
        if ctx.check_mode {
            if guard.any() {
                return Ok(super::ok(true));
            }
            let mut skipped = super::ok(false);
            skipped.insert("skipped".into(), Json::Bool(true));
            skipped.insert(
                "msg".into(),
                Json::from("Check mode is not supported for this task."),
            );
            return Ok(skipped);
        }
        let name = local
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "script".into());
        let run = RunLine {
            line,
            source,
            name: &name,
            executable: args.executable.as_deref(),
            chdir: args.chdir.as_deref().filter(|d| !d.is_empty()),
        };
        let out = if ctx.conn.takes_stdin() {
            let mut command = Command::new(format!(
                "{}{}",
                guard.script(),
                run.script(Upload::Stdin(&data))
            ));
            command.stdin = Some(data);
            ctx.conn.exec(&command).await?
        } else {
            let made = ctx.conn.exec(&Command::new(MAKE_TEMP)).await?;
            let dir = made.stdout_text().trim().to_string();
            if made.rc != 0 || dir.is_empty() {
                return Err(ModuleError::Failed(format!(
                    "could not make a temporary directory on the target: {}",
                    made.stderr_text().trim()
                )));
            }
            let path = format!("{dir}/{name}");
            if let Err(err) = ctx.conn.put(&data, &path, Some(0o700)).await {
                let _ = ctx
                    .conn
                    .exec(&Command::new(format!("rm -rf -- {}", quote(&dir))))
                    .await;
                return Err(err.into());
            }
            let command = Command::new(run.script(Upload::Done(&dir)));
            ctx.conn.exec(&command).await?
        };
        let stdout = out.stdout_text();
        if let Some(skip) = guard.skip_result(&stdout) {
            return Ok(skip);
        }
        let Some(stdout) = stdout.strip_prefix(RAN_MARKER) else {
            let mut failed = super::failed(format!(
                "could not upload the script to the target: {}",
                out.stderr_text().trim()
            ));
            failed.insert("rc".into(), Json::from(out.rc));
            return Err(ModuleError::FailedWith(failed));
        };
        Ok(result(out.rc, stdout, &out.stderr_text()))
    }
}

/// The `creates`/`removes` guard, checked with `test -e` as Ansible's
/// `_remote_file_exists` does (no globbing).
struct Guard<'a> {
    creates: Option<&'a str>,
    removes: Option<&'a str>,
}

impl Guard<'_> {
    fn any(&self) -> bool {
        self.creates.is_some() || self.removes.is_some()
    }

    /// Shell lines that print [`SKIP_MARKER`] and a reason and stop the script when the
    /// guard says so.
    fn script(&self) -> String {
        let mut script = String::new();
        if let Some(path) = self.creates {
            script.push_str(&format!(
                "if test -e {}; then printf %s {}; exit 0; fi\n",
                quote(path),
                quote(&format!("{SKIP_MARKER}creates"))
            ));
        }
        if let Some(path) = self.removes {
            script.push_str(&format!(
                "if ! test -e {}; then printf %s {}; exit 0; fi\n",
                quote(path),
                quote(&format!("{SKIP_MARKER}removes"))
            ));
        }
        script
    }

    /// Ansible's skipped result when `stdout` says the guard stopped the script.
    fn skip_result(&self, stdout: &str) -> Option<Outcome> {
        let which = stdout.strip_prefix(SKIP_MARKER)?;
        let msg = match which {
            "creates" => format!(
                "{} exists, matching creates option",
                self.creates.unwrap_or_default()
            ),
            _ => format!(
                "{} does not exist, matching removes option",
                self.removes.unwrap_or_default()
            ),
        };
        let mut skipped = super::ok(false);
        skipped.insert("skipped".into(), Json::Bool(true));
        skipped.insert("msg".into(), Json::String(msg));
        Some(skipped)
    }
}

/// Makes a private temporary directory `$d` where Ansible makes its own
/// (`~/.ansible/tmp`), or in the system's when the home directory cannot take one.
macro_rules! make_temp_dir {
    () => {
        "d=$( (umask 077; mkdir -p \"$HOME/.ansible/tmp\") 2>/dev/null && \
         mktemp -d \"$HOME/.ansible/tmp/ansible-tmp-XXXXXXXXXX\" 2>/dev/null || mktemp -d) || exit 1\n"
    };
}

/// [`make_temp_dir`], printing the directory's path.
const MAKE_TEMP: &str = concat!(make_temp_dir!(), "printf '%s\\n' \"$d\"\n");

/// How the script reaches the target.
enum Upload<'a> {
    /// On the command's standard input, these bytes.
    Stdin(&'a [u8]),
    /// Already uploaded into this temporary directory.
    Done(&'a str),
}

/// The command line of the task and how to run it.
struct RunLine<'a> {
    /// The free-form line or `cmd`, trimmed.
    line: &'a str,
    /// Its first word: the script as the task names it.
    source: &'a str,
    /// The script's file name on the target.
    name: &'a str,
    executable: Option<&'a str>,
    chdir: Option<&'a str>,
}

impl RunLine<'_> {
    /// The shell script that (for [`Upload::Stdin`]) makes a temporary directory and
    /// receives the script into it, then runs the command line with the script's name
    /// replaced by its path on the target, as Ansible does (so quoting in the line is
    /// kept), prints [`RAN_MARKER`] first, removes the directory and exits with the
    /// script's status.
    fn script(&self, upload: Upload<'_>) -> String {
        let mut script = String::new();
        match upload {
            Upload::Stdin(data) => {
                script.push_str(make_temp_dir!());
                script.push_str(&receive(&format!("\"$d\"/{}", quote(self.name)), data));
                script.push_str(&format!("chmod u+rx \"$d\"/{}\n", quote(self.name)));
            }
            Upload::Done(dir) => script.push_str(&format!("d={}\n", quote(dir))),
        }
        let mut line = String::new();
        if let Some(executable) = self.executable {
            line.push_str(&quote(&format!("{executable} ")));
        }
        let mut pieces = self.line.split(self.source);
        line.push_str(&quote(pieces.next().unwrap_or_default()));
        for piece in pieces {
            line.push_str(&format!("\"$d\"/{}{}", quote(self.name), quote(piece)));
        }
        script.push_str(&format!("bosun_line={line}\n"));
        let cd = match self.chdir {
            Some(dir) => format!("cd {} || exit 1; ", quote(dir)),
            None => String::new(),
        };
        script.push_str(&format!(
            "printf %s {}\n({cd}eval \"$bosun_line\") </dev/null; rc=$?\nrm -rf -- \"$d\"\nexit $rc\n",
            quote(RAN_MARKER)
        ));
        script
    }
}

/// Reads the script, decrypting a vault file unless `decrypt` is off.
fn read_script(path: &std::path::Path, decrypt: bool) -> Result<Vec<u8>, ModuleError> {
    let data = std::fs::read(path)
        .map_err(|err| ModuleError::Failed(format!("could not read {}: {err}", path.display())))?;
    if !decrypt {
        return Ok(data);
    }
    crate::vault::files::open(data)
        .map(|(data, _)| data)
        .map_err(|err| ModuleError::Failed(format!("{err} ({})", path.display())))
}

/// Ansible's result for a script that ran: always changed, failed on a non-zero status.
fn result(rc: i32, stdout: &str, stderr: &str) -> Outcome {
    let lines = |text: &str| -> Json { text.lines().map(Json::from).collect() };
    let mut outcome = super::ok(true);
    outcome.insert("rc".into(), Json::from(rc));
    outcome.insert("stdout".into(), Json::from(stdout));
    outcome.insert("stdout_lines".into(), lines(stdout));
    outcome.insert("stderr".into(), Json::from(stderr));
    outcome.insert("stderr_lines".into(), lines(stderr));
    if rc != 0 {
        outcome.insert("failed".into(), Json::Bool(true));
        outcome.insert("msg".into(), Json::from("non-zero return code"));
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    /// Runs `script` with `sh`, as the target would, with `data` on its stdin.
    fn sh(script: &str, data: &[u8], cwd: &std::path::Path) -> (i32, String, String) {
        use std::io::Write;
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .current_dir(cwd)
            .env("HOME", cwd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(data)
            .expect("write");
        let out = child.wait_with_output().expect("sh ends");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn line<'a>(line: &'a str, source: &'a str, name: &'a str) -> RunLine<'a> {
        RunLine {
            line,
            source,
            name,
            executable: None,
            chdir: None,
        }
    }

    #[test]
    fn the_script_runs_with_its_arguments_and_quoting_kept_then_goes_away() {
        let home = tempfile::tempdir().expect("dir");
        let data = b"#!/bin/sh\nfor a in \"$@\"; do echo \"[$a]\"; done\necho oops >&2\nexit 3\n";
        let run = line(
            "'my script.sh' a 'b c' -\u{4e6}ther",
            "my script.sh",
            "my script.sh",
        );
        let (rc, stdout, stderr) = sh(&run.script(Upload::Stdin(data)), data, home.path());
        assert_eq!(rc, 3, "{stderr}");
        assert_eq!(stdout, format!("{RAN_MARKER}[a]\n[b c]\n[-\u{4e6}ther]\n"));
        assert_eq!(stderr, "oops\n");
        let left = std::fs::read_dir(home.path().join(".ansible/tmp"))
            .expect("tmp")
            .count();
        assert_eq!(left, 0, "the temporary directory is removed");
    }

    #[test]
    fn executable_and_chdir_are_used() {
        let home = tempfile::tempdir().expect("dir");
        let data = b"pwd; echo \"$0\" | grep -c ansible-tmp\n";
        let mut run = line("t.sh", "t.sh", "t.sh");
        run.executable = Some("/bin/sh");
        run.chdir = Some("/");
        let (rc, stdout, _) = sh(&run.script(Upload::Stdin(data)), data, home.path());
        assert_eq!((rc, stdout.as_str()), (0, &*format!("{RAN_MARKER}/\n1\n")));
    }

    #[test]
    fn the_guard_skips_in_ansibles_words() {
        let dir = tempfile::tempdir().expect("dir");
        let exists = dir.path().display().to_string();
        let guard = Guard {
            creates: Some(&exists),
            removes: None,
        };
        let (_, stdout, _) = sh(&guard.script(), b"", dir.path());
        let skip = guard.skip_result(&stdout).expect("skipped");
        assert_eq!(
            Json::Object(skip),
            json!({"changed": false, "skipped": true,
                   "msg": format!("{exists} exists, matching creates option")})
        );
        let guard = Guard {
            creates: Some("/nonexistent-bosun"),
            removes: Some("/nonexistent-bosun"),
        };
        let (_, stdout, _) = sh(&guard.script(), b"", dir.path());
        let skip = guard.skip_result(&stdout).expect("skipped");
        assert_eq!(
            skip["msg"],
            "/nonexistent-bosun does not exist, matching removes option"
        );
        let guard = Guard {
            creates: None,
            removes: Some(&exists),
        };
        let (_, stdout, _) = sh(&guard.script(), b"", dir.path());
        assert!(guard.skip_result(&stdout).is_none());
    }

    #[test]
    fn results_are_ansibles() {
        let ok = result(0, "out\n", "");
        assert_eq!(
            Json::Object(ok),
            json!({"changed": true, "rc": 0, "stdout": "out\n", "stdout_lines": ["out"],
                   "stderr": "", "stderr_lines": []})
        );
        let failed = result(1, "", "err\n");
        assert_eq!(failed["failed"], true);
        assert_eq!(failed["msg"], "non-zero return code");
    }

    #[test]
    fn one_of_the_command_forms_is_required() {
        let err = from_json::<ScriptArgs>(json!({})).expect_err("nothing to run");
        assert_eq!(err, "one of the following is required: _raw_params, cmd");
        let err =
            from_json::<ScriptArgs>(json!({"cmd": "a.sh", "_raw_params": "b.sh"})).expect_err("2");
        assert_eq!(err, "parameters are mutually exclusive: _raw_params|cmd");
    }
}
