//! `command`, `shell` and `raw`: run a command line on the target.

use std::time::Instant;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{Args, FreeForm, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Printed by the guard script when `creates`/`removes` says the command must not run.
const SKIP_MARKER: &str = "\u{1}bosun-skip\u{1}";

const COMMAND_PARAMS: &[Param] = &[
    Param::new("_raw_params", Kind::Str),
    Param::new("cmd", Kind::Str),
    Param::new("argv", Kind::List),
    Param::new("chdir", Kind::Str),
    Param::new("creates", Kind::Str),
    Param::new("removes", Kind::Str),
    Param::new("stdin", Kind::Str),
    Param::new("stdin_add_newline", Kind::Bool),
    Param::new("strip_empty_ends", Kind::Bool),
    Param::new("executable", Kind::Str),
    Param::new("expand_argument_vars", Kind::Bool),
];

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
        COMMAND_PARAMS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let argv: Vec<String> = if let Some(Json::Array(items)) = args.get("argv") {
            items.iter().map(json_text).collect()
        } else {
            let line = args.str("cmd").or(args.str("_raw_params")).unwrap_or("");
            match shell_words::split(line) {
                Ok(words) => words,
                Err(err) => {
                    return Ok(super::failed(format!(
                        "cannot split the command line: {err}"
                    )));
                }
            }
        };
        if argv.is_empty() {
            return Ok(super::failed("no command given"));
        }
        let script = argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ");
        let cmd = Json::Array(argv.into_iter().map(Json::String).collect());
        run_guarded(ctx, args, script, cmd).await
    }
}

#[async_trait]
impl Module for Shell {
    fn name(&self) -> &'static str {
        "shell"
    }
    fn params(&self) -> &'static [Param] {
        COMMAND_PARAMS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let line = args.str("cmd").or(args.str("_raw_params")).unwrap_or("");
        if line.trim().is_empty() {
            return Ok(super::failed("no command given"));
        }
        let script = match args.str("executable") {
            Some(shell) => format!("{} -c {}", quote(shell), quote(line)),
            None => line.to_string(),
        };
        run_guarded(ctx, args, script, Json::String(line.to_string())).await
    }
}

#[async_trait]
impl Module for Raw {
    fn name(&self) -> &'static str {
        "raw"
    }
    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("_raw_params", Kind::Str).required(),
            Param::new("executable", Kind::Str),
        ];
        PARAMS
    }
    fn free_form(&self) -> FreeForm {
        FreeForm::Raw
    }
    fn supports_check_mode(&self) -> bool {
        false
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let line = args.str("_raw_params").unwrap_or("");
        let script = match args.str("executable") {
            Some(shell) => format!("{} -c {}", quote(shell), quote(line)),
            None => line.to_string(),
        };
        let mut command = Command::new(script);
        command.env = ctx.env.clone();
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

/// Runs `script` unless `creates`/`removes` says not to; both checks and the command
/// happen in one round trip. In check mode the command itself never runs.
async fn run_guarded(
    ctx: &ModuleContext<'_>,
    args: &Args,
    script: String,
    cmd: Json,
) -> Result<Outcome, ModuleError> {
    let creates = args.str("creates");
    let removes = args.str("removes");
    if ctx.check_mode && creates.is_none() && removes.is_none() {
        let mut outcome = super::ok(false);
        outcome.insert("skipped".into(), Json::Bool(true));
        outcome.insert(
            "msg".into(),
            Json::String("Command would have run if not in check mode".into()),
        );
        return Ok(outcome);
    }
    let mut guard = String::new();
    if let Some(path) = creates {
        guard.push_str(&format!(
            "if [ -e {} ]; then printf %s {}; exit 0; fi; ",
            quote(path),
            quote(&format!("{SKIP_MARKER}creates"))
        ));
    }
    if let Some(path) = removes {
        guard.push_str(&format!(
            "if [ ! -e {} ]; then printf %s {}; exit 0; fi; ",
            quote(path),
            quote(&format!("{SKIP_MARKER}removes"))
        ));
    }
    let body = if ctx.check_mode {
        "exit 0".to_string()
    } else {
        script
    };
    let mut command = Command::new(format!("{guard}{body}"));
    command.env = ctx.env.clone();
    command.cwd = args.str("chdir").map(str::to_string);
    if !ctx.check_mode
        && let Some(stdin) = args.str("stdin")
    {
        let mut data = stdin.as_bytes().to_vec();
        if args.bool_or("stdin_add_newline", true) {
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

    let mut outcome = Outcome::new();
    outcome.insert("cmd".into(), cmd);
    if let Some(which) = stdout_raw.strip_prefix(SKIP_MARKER) {
        let path = if which == "creates" { creates } else { removes }.unwrap_or_default();
        let (stdout, msg) = if which == "creates" {
            (
                format!("skipped, since {path} exists"),
                format!("Did not run command since '{path}' exists"),
            )
        } else {
            (
                format!("skipped, since {path} does not exist"),
                format!("Did not run command since '{path}' does not exist"),
            )
        };
        outcome.insert("changed".into(), Json::Bool(false));
        outcome.insert("rc".into(), Json::from(0));
        outcome.insert("stdout".into(), Json::String(stdout.clone()));
        outcome.insert("stdout_lines".into(), lines(&stdout));
        outcome.insert("stderr".into(), Json::String(String::new()));
        outcome.insert("stderr_lines".into(), Json::Array(Vec::new()));
        outcome.insert("msg".into(), Json::String(msg));
        return Ok(outcome);
    }
    if ctx.check_mode {
        outcome.insert("changed".into(), Json::Bool(true));
        outcome.insert("rc".into(), Json::from(0));
        outcome.insert(
            "msg".into(),
            Json::String("Command would have run if not in check mode".into()),
        );
        return Ok(outcome);
    }
    let strip = args.bool_or("strip_empty_ends", true);
    let stdout = if strip {
        trim_ends(&stdout_raw)
    } else {
        stdout_raw
    };
    let stderr_raw = out.stderr_text();
    let stderr = if strip {
        trim_ends(&stderr_raw)
    } else {
        stderr_raw
    };
    outcome.insert("changed".into(), Json::Bool(true));
    outcome.insert("rc".into(), Json::from(out.rc));
    outcome.insert("start".into(), Json::String(start_wall));
    outcome.insert("end".into(), Json::String(end_wall));
    outcome.insert("delta".into(), Json::String(crate::clock::delta(elapsed)));
    outcome.insert("msg".into(), Json::String(String::new()));
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

/// Removes trailing newlines, as Ansible's `strip_empty_ends` does.
fn trim_ends(text: &str) -> String {
    text.trim_end_matches(['\r', '\n']).to_string()
}

/// Splits output into the `*_lines` list.
fn lines(text: &str) -> Json {
    Json::Array(text.lines().map(|l| Json::String(l.to_string())).collect())
}

fn json_text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}
