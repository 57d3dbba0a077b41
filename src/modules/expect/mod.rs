//! `expect` (ansible.builtin): runs a command on a pseudo-terminal and answers its
//! prompts, as Ansible's module does with `pexpect.run`.
//!
//! Ansible's module needs pexpect on the target; bosun needs nothing that Debian does
//! not always have. The conversation runs on the target in `perl` (perl-base is
//! Essential on Debian, so it is on every Debian system, minimal images included),
//! with only the modules perl-base ships (`POSIX`, `Fcntl`): `pty.pl` opens
//! `/dev/ptmx`, starts the command on the new terminal and answers each prompt as
//! pexpect does. util-linux's `script` would give a terminal too, but not a way to
//! wait for a prompt before answering, which is the module's point. The job (the
//! words, the patterns and the answers) reaches perl on its standard input, never on
//! a command line, so answers such as passwords are not visible to `ps` on the
//! target nor in `-vvv` traces.
//!
//! It is an action like `command` rather than a [`super::contract::StateModule`]:
//! running the command is the change, always reported (`changed: true`), with
//! `creates`/`removes` checked in the same round trip; like Ansible's module it does
//! not support check mode (the task is skipped there).

mod words;

use std::time::Instant;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param, fileops};
use crate::connection::{Command, quote};

/// The perl program that holds the conversation.
const PTY_PL: &str = include_str!("pty.pl");

/// `expect`: runs a command and answers its prompts.
pub struct Expect;

module_args! {
    /// `expect`'s arguments.
    pub struct ExpectArgs {
        /// The command line (split as pexpect splits it; no shell).
        command: String => .required(),
        /// The directory to run in.
        chdir: Option<String>,
        /// When this path exists, the command does not run.
        creates: Option<String>,
        /// When this path does not exist, the command does not run.
        removes: Option<String>,
        /// Prompt patterns (Python regular expressions) and their answers: one
        /// string, repeated, or a list answered in order.
        responses: Map<String, Json> => .required(),
        /// Seconds to wait for each prompt; null waits for ever.
        timeout: Json => .default_int(30),
        /// Whether the terminal echoes the answers.
        echo: bool => .default_bool(false),
    }
}

/// One prompt and its answers, as the module's `events` has them.
#[derive(Debug, PartialEq)]
struct Event {
    /// The prompt's pattern as written (for messages).
    key: String,
    /// The pattern as perl reads it.
    pattern: String,
    /// Answers taken in order (`true`), or one answer repeated.
    list: bool,
    /// Each answer with its newline (`b'%s\n' % answer.rstrip(b'\n')`).
    answers: Vec<String>,
}

/// `b'%s\n' % to_bytes(value).rstrip(b'\n')`.
fn answer(value: &Json) -> String {
    let text = match value {
        Json::String(s) => s.clone(),
        other => crate::template::pyfmt::py_str(&minijinja::Value::from_serialize(other)),
    };
    format!("{}\n", text.trim_end_matches('\n'))
}

/// The events in the order given, each pattern checked as Python's `re` would
/// compile it, then written for perl.
fn events(responses: &Map<String, Json>) -> Result<Vec<Event>, String> {
    responses
        .iter()
        .map(|(key, value)| {
            crate::pyre::compile(
                key,
                crate::pyre::Flags::default(),
                crate::pyre::Anchor::Search,
            )?;
            let (list, answers) = match value {
                Json::Array(items) => (true, items.iter().map(answer).collect()),
                other => (false, vec![answer(other)]),
            };
            Ok(Event {
                key: key.clone(),
                pattern: words::perl_pattern(key),
                list,
                answers,
            })
        })
        .collect()
}

/// `check_type_int` of the raw `timeout`: `None` for null.
fn timeout(value: &Json) -> Result<Option<i64>, String> {
    let fail = |kind: &str| {
        format!(
            "argument 'timeout' is of type <class '{kind}'> and we were unable to convert to int: <class '{kind}'> cannot be converted to an int"
        )
    };
    match value {
        Json::Null => Ok(None),
        Json::Number(n) => n.as_i64().map(Some).ok_or_else(|| fail("float")),
        Json::String(s) => s.trim().parse().map(Some).map_err(|_| fail("str")),
        Json::Bool(_) => Err(fail("bool")),
        Json::Array(_) => Err(fail("list")),
        Json::Object(_) => Err(fail("dict")),
    }
}

/// The job for `pty.pl`, as netstrings.
fn job(timeout: Option<i64>, echo: bool, argv: &[String], events: &[Event]) -> Vec<u8> {
    let mut fields: Vec<String> = vec![
        timeout.map(|t| t.max(0).to_string()).unwrap_or_default(),
        if echo { "1" } else { "0" }.to_string(),
        argv.len().to_string(),
    ];
    fields.extend(argv.iter().cloned());
    fields.push(events.len().to_string());
    for event in events {
        fields.push(event.pattern.clone());
        fields.push(if event.list { "1" } else { "0" }.to_string());
        fields.push(event.answers.len().to_string());
        fields.extend(event.answers.iter().cloned());
    }
    let mut out = Vec::new();
    for field in fields {
        out.extend_from_slice(format!("{}:", field.len()).as_bytes());
        out.extend_from_slice(field.as_bytes());
        out.push(b',');
    }
    out
}

/// Printed instead of running when `creates`/`removes` says not to.
const SKIP: &str = "\u{1}bosun-expect-skip ";

/// The shell script: the directory, the guards, then perl with the job on stdin
/// (or from `job_file`, read and removed first, where stdin cannot carry it).
fn script(args: &ExpectArgs, job_file: Option<&str>) -> String {
    let mut script = String::new();
    if let Some(dir) = &args.chdir {
        script.push_str(&format!(
            "cd -- {} || {{ printf '{SKIP}chdir'; exit 0; }}; ",
            quote(dir)
        ));
    }
    if let Some(path) = &args.creates {
        script.push_str(&format!(
            "[ -e {} ] && {{ printf '{SKIP}creates'; exit 0; }}; ",
            quote(path)
        ));
    }
    if let Some(path) = &args.removes {
        script.push_str(&format!(
            "[ -e {} ] || {{ printf '{SKIP}removes'; exit 0; }}; ",
            quote(path)
        ));
    }
    script.push_str(
        "command -v perl >/dev/null 2>&1 || { printf '\\nerror the expect module needs perl on the target' >&2; exit 0; }; ",
    );
    match job_file {
        Some(file) => script.push_str(&format!(
            "exec 3< {f} && rm -f -- {f} && exec perl -e {} <&3 3<&-",
            quote(PTY_PL),
            f = quote(file)
        )),
        None => script.push_str(&format!("exec perl -e {}", quote(PTY_PL))),
    }
    script
}

/// How the conversation ended, from `pty.pl`'s last line on stderr.
#[derive(Debug, PartialEq)]
enum Ending {
    /// The command exited with this status.
    Exit(i64),
    /// The command was killed by a signal (pexpect's `exitstatus` is `None`).
    Signal,
    /// A list of answers ran out at this event.
    NoMore(usize),
    /// The program was not found.
    NotFound,
    /// Something else failed.
    Error(String),
}

fn ending(stderr: &str) -> Ending {
    let last = stderr.trim_end().rsplit('\n').next().unwrap_or("").trim();
    let (word, rest) = last.split_once(' ').unwrap_or((last, ""));
    match word {
        "exit" => rest.parse().map_or(Ending::Signal, Ending::Exit),
        "signal" => Ending::Signal,
        "nomore" => rest
            .parse()
            .map_or(Ending::Error(last.into()), Ending::NoMore),
        "notfound" => Ending::NotFound,
        "error" => Ending::Error(rest.to_string()),
        _ => Ending::Error(format!(
            "the expect helper ended unexpectedly: {}",
            stderr.trim()
        )),
    }
}

#[async_trait]
impl Module for Expect {
    fn name(&self) -> &'static str {
        "expect"
    }

    fn params(&self) -> &'static [Param] {
        ExpectArgs::PARAMS
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = ExpectArgs::from_args(args).map_err(ModuleError::Failed)?;
        let timeout = timeout(&args.timeout).map_err(ModuleError::Failed)?;
        let events = events(&args.responses).map_err(ModuleError::Failed)?;
        if args.command.trim().is_empty() {
            let mut failed = super::failed("no command given");
            failed.insert("rc".into(), json!(256));
            return Err(ModuleError::FailedWith(failed));
        }
        let argv = words::split_command_line(&args.command);
        let data = job(timeout, args.echo, &argv, &events);
        let mut job_file = None;
        let mut command = Command::new(String::new());
        if ctx.conn.takes_stdin() {
            command.stdin = Some(data);
        } else {
            let file = fileops::temp_beside("/tmp/bosun-expect");
            ctx.conn.put(&data, &file, Some(0o600)).await?;
            job_file = Some(file);
        }
        command.script = script(&args, job_file.as_deref());
        let start = crate::clock::now_local();
        let started = Instant::now();
        let out = ctx.conn.exec(&command).await?;
        let delta = crate::clock::delta(started.elapsed());
        let end = crate::clock::now_local();
        let stdout = out.stdout_text();
        let mut result = Outcome::new();
        result.insert("cmd".into(), json!(args.command));
        if let Some(which) = stdout.strip_prefix(SKIP) {
            let (path, message) = match which {
                "creates" => (args.creates.as_deref(), "exists"),
                "removes" => (args.removes.as_deref(), "does not exist"),
                _ => {
                    let dir = args.chdir.as_deref().unwrap_or_default();
                    return Err(ModuleError::Failed(format!(
                        "[Errno 2] No such file or directory: '{dir}'"
                    )));
                }
            };
            let text = format!("skipped, since {} {message}", path.unwrap_or_default());
            result.insert("stdout".into(), json!(text));
            result.insert("stdout_lines".into(), json!([text]));
            result.insert("changed".into(), json!(false));
            result.insert("rc".into(), json!(0));
            return Ok(result);
        }
        let rc = match ending(&out.stderr_text()) {
            Ending::Exit(rc) => Some(rc),
            Ending::Signal => None,
            Ending::NoMore(at) => {
                let key = events.get(at).map_or("", |e| e.key.as_str());
                return Err(ModuleError::Failed(format!(
                    "No remaining responses for '{key}', output was '{}'",
                    words::bytes_repr(&out.stdout)
                )));
            }
            Ending::NotFound => {
                return Err(ModuleError::Failed(format!(
                    "The command was not found or was not executable: {}.",
                    argv.first().map_or("", String::as_str)
                )));
            }
            Ending::Error(msg) => return Err(ModuleError::Failed(msg)),
        };
        let text = stdout.trim_end_matches(['\r', '\n']).to_string();
        result.insert("stdout_lines".into(), super::command::lines(&text));
        result.insert("stdout".into(), json!(text));
        result.insert("rc".into(), json!(rc));
        result.insert("start".into(), json!(start));
        result.insert("end".into(), json!(end));
        result.insert("delta".into(), json!(delta));
        result.insert("changed".into(), json!(true));
        let failure = match rc {
            None => Some("command exceeded timeout"),
            Some(0) => None,
            Some(_) => Some("non-zero return code"),
        };
        if let Some(msg) = failure {
            result.insert("failed".into(), json!(true));
            result.insert("msg".into(), json!(msg));
            return Err(ModuleError::FailedWith(result));
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_end_in_one_newline_and_lists_are_taken_in_order() {
        let responses = json!({"(?i)password:": "secret\n\n", "Again": ["a", 2, true]});
        let Json::Object(map) = responses else {
            panic!("a mapping")
        };
        let events = events(&map).expect("valid patterns");
        assert_eq!(events[0].answers, ["secret\n"]);
        assert!(!events[0].list);
        assert_eq!(events[1].answers, ["a\n", "2\n", "True\n"]);
        assert!(events[1].list);
        let bad = json!({"(unclosed": "x"});
        let Json::Object(bad) = bad else { panic!() };
        assert!(super::events(&bad).is_err());
    }

    #[test]
    fn the_job_is_netstrings_in_the_order_pty_pl_reads() {
        let events = vec![Event {
            key: "p".into(),
            pattern: "p".into(),
            list: false,
            answers: vec!["x\n".into()],
        }];
        let data = job(Some(5), false, &["cat".into(), "-n".into()], &events);
        assert_eq!(
            String::from_utf8(data).expect("text"),
            "1:5,1:0,1:2,3:cat,2:-n,1:1,1:p,1:0,1:1,2:x\n,"
        );
        assert!(job(None, true, &[], &[]).starts_with(b"0:,1:1,"));
    }

    #[test]
    fn timeouts_convert_as_check_type_int() {
        assert_eq!(timeout(&json!(30)), Ok(Some(30)));
        assert_eq!(timeout(&json!("7")), Ok(Some(7)));
        assert_eq!(timeout(&Json::Null), Ok(None));
        assert!(timeout(&json!(1.5)).is_err());
    }

    #[test]
    fn the_helper_s_last_line_says_how_it_ended() {
        assert_eq!(ending("\nexit 0\n"), Ending::Exit(0));
        assert_eq!(ending("noise\n\nsignal 9\n"), Ending::Signal);
        assert_eq!(ending("\nnomore 1\n"), Ending::NoMore(1));
        assert_eq!(ending("\nnotfound\n"), Ending::NotFound);
        assert!(matches!(ending(""), Ending::Error(_)));
    }
}
