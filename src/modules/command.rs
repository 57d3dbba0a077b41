//! `command`, `shell` and `raw`: run a command line on the target.
//!
//! These do not fit the query -> decide -> apply contract: running the command is the
//! action, and `creates`/`removes` are checked by the same shell script that runs it,
//! so the check and the command stay one round trip. They read check mode themselves:
//! in check mode only the `creates`/`removes` guard runs.

use std::time::Instant;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{Rules, TypedArgs, module_args};
use super::{Args, FreeForm, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Printed by the guard script when `creates`/`removes` says the command must not run.
const SKIP_MARKER: &str = "\u{1}bosun-skip\u{1}";

module_args! {
    /// The arguments of `command` and `shell`, as Ansible's command module takes them.
    pub struct CommandArgs {
        /// The command line given free form.
        raw as "_raw_params": Option<String>,
        /// The command line given as `cmd:`.
        cmd: Option<String>,
        /// The command as a list of words (`command` only).
        argv: Option<Vec<String>>,
        /// The directory to run in.
        chdir: Option<String>,
        /// The shell for `shell`; `command` warns and ignores it, as Ansible does.
        executable: Option<String>,
        /// Whether `command` expands `$VAR`, `${VAR}` and `~` in its words.
        expand_argument_vars: bool => .default_bool(true),
        /// A glob: when something matches, the command does not run.
        creates: Option<String>,
        /// A glob: when nothing matches, the command does not run.
        removes: Option<String>,
        /// Text given to the command's standard input.
        stdin: Option<String>,
        /// Whether a newline follows `stdin`.
        stdin_add_newline: bool => .default_bool(true),
        /// Whether trailing newlines of stdout and stderr are removed.
        strip_empty_ends: bool => .default_bool(true),
    }
    rules: Rules {
        required_one_of: &[&["_raw_params", "cmd", "argv"]],
        mutually_exclusive: &[&["_raw_params", "cmd", "argv"]],
        ..Rules::NONE
    };
}

module_args! {
    /// The arguments of `raw`.
    pub struct RawArgs {
        /// The command line, run as it is.
        raw as "_raw_params": String => .required(),
        /// The shell to run it with.
        executable: Option<String>,
    }
}

/// Finds the program `"$1"` names as `execvp` would (a path, else the first file
/// in `$PATH`, preferring an executable one) and, when it cannot run, prints the
/// skip marker with `exec` and the errno Python's `subprocess` would fail with
/// (`ENOENT` 2, `EACCES` 13).
fn exec_check() -> String {
    let marker = |errno: u8| quote(&format!("{SKIP_MARKER}exec{errno}"));
    format!(
        "bosun_p=; case $1 in */*) bosun_p=$1 ;; \
         *) bosun_ifs=$IFS; IFS=:; for bosun_d in $PATH; do \
         if [ -f \"${{bosun_d:-.}}/$1\" ]; then bosun_p=${{bosun_d:-.}}/$1; [ -x \"$bosun_p\" ] && break; fi; \
         done; IFS=$bosun_ifs ;; esac; \
         if [ -z \"$bosun_p\" ] || [ ! -e \"$bosun_p\" ]; then printf %s {}; exit 0; \
         elif [ -d \"$bosun_p\" ] || [ ! -x \"$bosun_p\" ]; then printf %s {}; exit 0; fi",
        marker(2),
        marker(13)
    )
}

/// `command`: runs a program with arguments, without shell expansion.
pub struct CommandModule;

/// `shell`: runs a command line through the shell.
pub struct Shell;

/// `raw`: runs a command line as is; no options, no check mode.
pub struct Raw;

#[async_trait]
impl Module for CommandModule {
    fn name(&self) -> &'static str {
        "command"
    }
    fn params(&self) -> &'static [Param] {
        CommandArgs::PARAMS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = CommandArgs::from_args(args).map_err(ModuleError::Failed)?;
        let argv: Vec<String> = match (&args.argv, args.raw.as_ref().or(args.cmd.as_ref())) {
            (Some(argv), _) => argv.clone(),
            (None, Some(line)) => match shell_words::split(line) {
                Ok(words) => words,
                Err(err) => {
                    return Ok(super::failed(format!(
                        "cannot split the command line: {err}"
                    )));
                }
            },
            (None, None) => Vec::new(),
        };
        if argv.is_empty() {
            return Ok(super::failed("no command given"));
        }
        let word = |w: &String| match args.expand_argument_vars {
            true => expanding_word(w),
            false => quote(w),
        };
        let words = argv.iter().map(word).collect::<Vec<_>>().join(" ");
        let script = format!("set -- {words}; {}; \"$@\"", exec_check());
        let cmd = Json::Array(argv.into_iter().map(Json::String).collect());
        let mut outcome = run_guarded(ctx, &args, script, cmd).await?;
        if let Some(executable) = &args.executable {
            outcome.insert(
                "warnings".into(),
                Json::from(vec![format!(
                    "As of Ansible 2.4, the parameter 'executable' is no longer supported with the 'command' module. Not using '{executable}'."
                )]),
            );
        }
        Ok(outcome)
    }
}

#[async_trait]
impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn params(&self) -> &'static [Param] {
        CommandArgs::PARAMS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        // Ansible's shell action refuses it even where it is the default.
        if args.get("expand_argument_vars").is_some() {
            return Ok(super::failed(
                "Unsupported parameters for (shell) module: expand_argument_vars",
            ));
        }
        let args = CommandArgs::from_args(args).map_err(ModuleError::Failed)?;
        if args.argv.is_some() {
            return Ok(super::failed("argv is not supported by the shell module"));
        }
        let line = args
            .raw
            .as_ref()
            .or(args.cmd.as_ref())
            .cloned()
            .unwrap_or_default();
        if line.trim().is_empty() {
            return Ok(super::failed("no command given"));
        }
        let script = through_shell(args.executable.as_deref(), &line);
        run_guarded(ctx, &args, script, Json::String(line)).await
    }
}

#[async_trait]
impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }

    fn reports_invocation(&self) -> bool {
        false
    }
    fn params(&self) -> &'static [Param] {
        RawArgs::PARAMS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    fn supports_check_mode(&self) -> bool {
        false
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = RawArgs::from_args(args).map_err(ModuleError::Failed)?;
        let command = Command::new(through_shell(args.executable.as_deref(), &args.raw));
        let out = ctx.conn.exec(&command).await?;
        let stdout = out.stdout_text();
        let stderr = out.stderr_text();
        let mut outcome = super::ok(true);
        outcome.insert("rc".into(), Json::from(out.rc));
        outcome.insert("stdout_lines".into(), lines(&stdout));
        outcome.insert("stdout".into(), Json::String(stdout));
        outcome.insert("stderr_lines".into(), lines(&stderr));
        outcome.insert("stderr".into(), Json::String(stderr));
        if out.rc != 0 {
            outcome.insert("failed".into(), Json::Bool(true));
            outcome.insert("msg".into(), Json::String("non-zero return code".into()));
        }
        Ok(outcome)
    }
}

/// `line` as a script: run by `executable -c` when one is given.
fn through_shell(executable: Option<&str>, line: &str) -> String {
    match executable {
        Some(shell) => format!("{} -c {}", quote(shell), quote(line)),
        None => line.to_string(),
    }
}

/// One word of a `command` as a shell word that expands only what Python's
/// `expanduser(expandvars(word))` expands: a leading `~` or `~user`, and `$NAME` or
/// `${NAME}`, a variable that is not set staying as written. Nothing else is
/// interpreted (no globs, no splitting, no command substitution).
fn expanding_word(word: &str) -> String {
    let (home, rest) = split_home(word);
    let mut out = home.to_string();
    let mut literal = String::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let reference = (c == '$').then(|| variable_at(&rest[at..])).flatten();
        let Some((name, written)) = reference else {
            literal.push(c);
            continue;
        };
        if !literal.is_empty() {
            out.push_str(&quote(&literal));
            literal.clear();
        }
        let escaped = written.replace('$', "\\$").replace('}', "\\}");
        out.push_str(&format!("\"${{{name}-{escaped}}}\""));
        for _ in 1..written.chars().count() {
            chars.next();
        }
    }
    if !literal.is_empty() || out.is_empty() {
        out.push_str(&quote(&literal));
    }
    out
}

/// A leading `~` or `~user` the shell may expand (left bare), and the rest.
fn split_home(word: &str) -> (&str, &str) {
    if !word.starts_with('~') {
        return ("", word);
    }
    let end = word.find('/').unwrap_or(word.len());
    let user = &word[1..end];
    let plain = user
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    match plain {
        true => word.split_at(end),
        false => ("", word),
    }
}

/// The variable `text` starts with (`$NAME` or `${NAME}`), with the text that names
/// it; `None` when `$` does not start a variable a shell can expand.
fn variable_at(text: &str) -> Option<(&str, &str)> {
    let is_name = |name: &str| {
        name.chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let rest = &text[1..];
    if let Some(inner) = rest.strip_prefix('{') {
        let name = &inner[..inner.find('}')?];
        return is_name(name).then(|| (name, &text[..name.len() + 3]));
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let name = &rest[..end];
    is_name(name).then(|| (name, &text[..end + 1]))
}

/// A glob for `[ -e ]` tests in a `for` loop: `*`, `?` and `[...]` left bare for the
/// shell to expand as Python's `glob` would, everything else quoted.
fn glob_word(pattern: &str) -> String {
    let mut out = String::new();
    let mut literal = String::new();
    for c in pattern.chars() {
        if matches!(c, '*' | '?' | '[' | ']') {
            if !literal.is_empty() {
                out.push_str(&quote(&literal));
                literal.clear();
            }
            out.push(c);
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() || out.is_empty() {
        out.push_str(&quote(&literal));
    }
    out
}

/// Runs `script` unless `creates`/`removes` says not to; both checks and the command
/// happen in one round trip. In check mode the command itself never runs.
async fn run_guarded(
    ctx: &ModuleContext<'_>,
    args: &CommandArgs,
    script: String,
    cmd: Json,
) -> Result<Outcome, ModuleError> {
    let creates = args.creates.as_deref();
    let removes = args.removes.as_deref();
    let mut outcome = Outcome::new();
    for key in [
        "changed", "stdout", "stderr", "rc", "cmd", "start", "end", "delta", "msg",
    ] {
        outcome.insert(key.into(), Json::Null);
    }
    outcome.insert("changed".into(), Json::Bool(false));
    outcome.insert("stdout".into(), Json::from(""));
    outcome.insert("stderr".into(), Json::from(""));
    outcome.insert("msg".into(), Json::from(""));
    outcome.insert("cmd".into(), cmd);
    if ctx.check_mode && creates.is_none() && removes.is_none() {
        outcome.insert("rc".into(), Json::from(0));
        outcome.insert("skipped".into(), Json::Bool(true));
        outcome.insert(
            "msg".into(),
            Json::from("Command would have run if not in check mode"),
        );
        return Ok(with_lines(outcome));
    }
    // As Ansible, the module changes directory first (in check mode too), and
    // `creates`/`removes` are relative to it; `$PWD` is the physical path, as a
    // shell started in a directory Python's `os.chdir` entered sees it.
    let mut guard = String::new();
    if let Some(dir) = &args.chdir {
        guard.push_str(&format!(
            "cd -P -- {} 2>/dev/null || {{ printf %s {}; exit 0; }}; ",
            quote(dir),
            quote(&format!("{SKIP_MARKER}chdir"))
        ));
    }
    if let Some(pattern) = creates {
        guard.push_str(&format!(
            "for f in {}; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then printf %s {}; exit 0; fi; done; ",
            glob_word(pattern),
            quote(&format!("{SKIP_MARKER}creates"))
        ));
    }
    if let Some(pattern) = removes {
        guard.push_str(&format!(
            "found=; for f in {}; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then found=1; fi; done; \
             if [ -z \"$found\" ]; then printf %s {}; exit 0; fi; ",
            glob_word(pattern),
            quote(&format!("{SKIP_MARKER}removes"))
        ));
    }
    let body = if ctx.check_mode {
        "exit 0".to_string()
    } else {
        script
    };
    let mut command = Command::new(format!("{guard}{body}"));
    if let (false, Some(stdin)) = (ctx.check_mode, &args.stdin) {
        let mut data = stdin.as_bytes().to_vec();
        if args.stdin_add_newline {
            data.push(b'\n');
        }
        command.stdin = Some(data);
    }
    let start_wall = crate::clock::now_local();
    let started = Instant::now();
    let out = ctx.conn.exec(&command).await?;
    let elapsed = started.elapsed();
    let end_wall = crate::clock::now_local();
    let stdout_raw = out.stdout_text();
    let shoulda = if ctx.check_mode { "Would" } else { "Did" };
    if stdout_raw.strip_prefix(SKIP_MARKER) == Some("chdir") {
        outcome.insert("failed".into(), Json::Bool(true));
        outcome.insert(
            "msg".into(),
            Json::from("Unable to change directory before execution."),
        );
        return Ok(with_lines(outcome));
    }
    if let Some(errno) = stdout_raw
        .strip_prefix(SKIP_MARKER)
        .and_then(|which| which.strip_prefix("exec"))
    {
        // The program could not be started: Python's `OSError`, as Ansible reports
        // it, the command line joined back as `shlex.join` does.
        for key in ["start", "end", "delta"] {
            outcome.remove(key);
        }
        if let Some(Json::Array(words)) = outcome.get("cmd") {
            let line: Vec<String> = words
                .iter()
                .map(|w| quote(w.as_str().unwrap_or_default()))
                .collect();
            outcome.insert("cmd".into(), Json::from(line.join(" ")));
        }
        outcome.insert("failed".into(), Json::Bool(true));
        outcome.insert("rc".into(), Json::from(errno.parse::<i32>().unwrap_or(2)));
        outcome.insert("msg".into(), Json::from("Error executing command."));
        return Ok(with_lines(outcome));
    }
    if let Some(which) = stdout_raw.strip_prefix(SKIP_MARKER) {
        let (path, exists) = match which {
            "creates" => (creates.unwrap_or_default(), "exists"),
            _ => (removes.unwrap_or_default(), "does not exist"),
        };
        outcome.insert("rc".into(), Json::from(0));
        outcome.insert(
            "stdout".into(),
            Json::from(format!("skipped, since {path} {exists}")),
        );
        outcome.insert(
            "msg".into(),
            Json::from(format!("{shoulda} not run command since '{path}' {exists}")),
        );
        return Ok(with_lines(outcome));
    }
    outcome.insert("changed".into(), Json::Bool(true));
    if ctx.check_mode {
        outcome.insert("rc".into(), Json::from(0));
        outcome.insert(
            "msg".into(),
            Json::from("Command would have run if not in check mode"),
        );
        return Ok(with_lines(outcome));
    }
    let strip = |text: String| match args.strip_empty_ends {
        true => trim_ends(&text),
        false => text,
    };
    outcome.insert("rc".into(), Json::from(out.rc));
    outcome.insert("start".into(), Json::String(start_wall));
    outcome.insert("end".into(), Json::String(end_wall));
    outcome.insert("delta".into(), Json::String(crate::clock::delta(elapsed)));
    outcome.insert("stdout".into(), Json::String(strip(stdout_raw)));
    outcome.insert("stderr".into(), Json::String(strip(out.stderr_text())));
    if out.rc != 0 {
        outcome.insert("failed".into(), Json::Bool(true));
        outcome.insert("msg".into(), Json::String("non-zero return code".into()));
    }
    Ok(with_lines(outcome))
}

/// The result with `stdout_lines` and `stderr_lines`, as Ansible adds them.
pub(super) fn with_lines(mut outcome: Outcome) -> Outcome {
    for (key, lines_key) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        let text = outcome.get(key).and_then(Json::as_str).map(lines);
        if let Some(list) = text {
            outcome.insert(lines_key.into(), list);
        }
    }
    outcome
}

/// Removes trailing newlines, as Ansible's `strip_empty_ends` does.
pub(super) fn trim_ends(text: &str) -> String {
    text.trim_end_matches(['\r', '\n']).to_string()
}

/// Splits output into the `*_lines` list at the line ends Python's `splitlines`
/// knows (`\r\n`, a lone `\r`, form feeds and the Unicode separators too).
pub(crate) fn lines(text: &str) -> Json {
    const ENDS: [char; 10] = [
        '\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}',
    ];
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find(ENDS) {
        lines.push(Json::String(rest[..end].to_string()));
        let width = if rest[end..].starts_with("\r\n") {
            2
        } else {
            rest[end..].chars().next().map_or(1, char::len_utf8)
        };
        rest = &rest[end + width..];
    }
    if !rest.is_empty() {
        lines.push(Json::String(rest.to_string()));
    }
    Json::Array(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_where_python_splitlines_does() {
        assert_eq!(
            lines("a\r\nb\rc\n\nd\u{2028}e\n"),
            serde_json::json!(["a", "b", "c", "", "d", "e"])
        );
        assert_eq!(lines(""), serde_json::json!([]));
        assert_eq!(lines("\n"), serde_json::json!([""]));
    }

    /// What `sh` prints for `printf '[%s]' WORD` with `X=val` set and `U` unset.
    fn sh(word: &str) -> String {
        let script = format!("X=val; unset U; printf '[%s]' {word}");
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .env("HOME", "/home/me")
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn words_expand_variables_and_home_like_python_and_nothing_else() {
        for (word, expected) in [
            ("$X", "[val]"),
            ("${X}/a", "[val/a]"),
            ("a$X.b", "[aval.b]"),
            ("$U", "[$U]"),
            ("${U}", "[${U}]"),
            ("~/x", "[/home/me/x]"),
            ("a~", "[a~]"),
            ("*", "[*]"),
            ("$(id)", "[$(id)]"),
            ("`id`", "[`id`]"),
            ("two words", "[two words]"),
            ("$", "[$]"),
            ("$1", "[$1]"),
            ("", "[]"),
            ("it's", "[it's]"),
        ] {
            assert_eq!(sh(&expanding_word(word)), expected, "{word}");
        }
    }

    #[test]
    fn globs_stay_bare_and_the_rest_is_quoted() {
        assert_eq!(glob_word("/tmp/a b/*.log"), "'/tmp/a b/'*.log");
        assert_eq!(glob_word("/x"), "/x");
        assert_eq!(
            sh(&glob_word("/nonexistent-dir-bosun/*")),
            "[/nonexistent-dir-bosun/*]"
        );
    }

    #[test]
    fn the_command_line_is_required_once() {
        let err = crate::modules::typed::from_json::<CommandArgs>(serde_json::json!({}))
            .expect_err("nothing to run");
        assert_eq!(
            err,
            "one of the following is required: _raw_params, cmd, argv"
        );
        let err = crate::modules::typed::from_json::<CommandArgs>(
            serde_json::json!({"cmd": "ls", "argv": ["ls"]}),
        )
        .expect_err("two forms");
        assert_eq!(
            err,
            "parameters are mutually exclusive: _raw_params|cmd|argv"
        );
    }
}
