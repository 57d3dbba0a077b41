//! Ansible's `oneline` callback: one line per result, `host | STATUS => {json}` or,
//! for command modules, `host | CHANGED | rc=0 | (stdout) ...`.

use std::io::Write;

use serde_json::{Map, Value as Json};

use super::{HostResult, PlayStart, Reporter, Stats, Status, TaskStart};
use crate::pyjson;

/// Modules whose results are shown as command output (Ansible's `MODULE_NO_JSON`).
const NO_JSON: &[&str] = &["command", "shell", "raw"];

/// The `oneline` reporter.
pub struct Oneline {
    verbosity: u8,
}

impl Oneline {
    /// A reporter for `verbosity` (`-v` count).
    pub fn new(verbosity: u8) -> Oneline {
        Oneline { verbosity }
    }

    /// Ansible 2.19 records an exception with every failure; oneline shows it first:
    /// the command's output for command modules, else a note about the traceback.
    fn exception_line(&self, host: &str, action: &str, data: &Map<String, Json>) -> String {
        if NO_JSON.contains(&action) && !data.contains_key("module_stderr") {
            command_line(host, data, "FAILED")
        } else if self.verbosity < 3 {
            "An exception occurred during task execution. To see the full traceback, use -vvv. The error was: (traceback unavailable)".into()
        } else {
            "An exception occurred during task execution. The full traceback is:\n(traceback unavailable)".into()
        }
    }

    fn print(&self, line: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }
}

/// `_dump_results(result, indent=0)` with its newlines removed.
fn dump(result: &Map<String, Json>) -> String {
    let shown: Map<String, Json> = result
        .iter()
        .filter(|(key, _)| {
            !key.starts_with("_ansible")
                && !matches!(
                    key.as_str(),
                    "invocation"
                        | "diff"
                        | "exception"
                        | "warnings"
                        | "deprecations"
                        | "failed"
                        | "skipped"
                )
        })
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let indent = if result.contains_key("_ansible_verbose_always") {
        4
    } else {
        0
    };
    pyjson::dumps(&Json::Object(shown), Some(indent)).replace('\n', "")
}

/// `_command_generic_msg`: rc, stdout and stderr on one line.
fn command_line(host: &str, result: &Map<String, Json>, caption: &str) -> String {
    let text = |key: &str| {
        result
            .get(key)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .replace('\n', "\\n")
            .replace('\r', "\\r")
    };
    let rc = result.get("rc").cloned().unwrap_or(Json::from(-1));
    let stderr = text("stderr");
    if stderr.is_empty() {
        format!("{host} | {caption} | rc={rc} | (stdout) {}", text("stdout"))
    } else {
        format!(
            "{host} | {caption} | rc={rc} | (stdout) {} (stderr) {stderr}",
            text("stdout")
        )
    }
}

impl Reporter for Oneline {
    fn play_start(&self, _play: &PlayStart<'_>) {}

    fn task_start(&self, _task: &TaskStart<'_>) {}

    fn verbose_line(&self, line: &str) {
        self.print(line);
    }

    fn result(&self, result: &HostResult<'_>) {
        if result.item.is_some() {
            return;
        }
        let data = result.result;
        let host = result.host;
        let action = crate::fqcn::short_name(result.action);
        let line = match result.status {
            Status::Failed => {
                self.print(&self.exception_line(host, action, data));
                format!("{host} | FAILED! => {}", dump(data))
            }
            Status::Unreachable => format!(
                "{host} | UNREACHABLE!: {}",
                data.get("msg").and_then(Json::as_str).unwrap_or_default()
            ),
            Status::Skipped => format!("{host} | SKIPPED"),
            Status::Ok | Status::Changed => {
                let caption = if result.status == Status::Changed {
                    "CHANGED"
                } else {
                    "SUCCESS"
                };
                if NO_JSON.contains(&action) && !data.contains_key("ansible_job_id") {
                    command_line(host, data, caption)
                } else {
                    format!("{host} | {caption} => {}", dump(data))
                }
            }
        };
        self.print(&line);
    }

    fn included(&self, _file: &str, _hosts: &[String], _item: Option<&str>) {}

    fn warning(&self, message: &str) {
        eprintln!("[WARNING]: {message}");
    }

    fn no_hosts(&self, message: &str) {
        self.print(message);
    }

    fn recap(&self, _stats: &Stats) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Json) -> Map<String, Json> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn lines_as_ansible_prints_them() {
        let debug = map(json!({"msg": "hi", "changed": false, "_ansible_verbose_always": true}));
        assert_eq!(dump(&debug), r#"{    "changed": false,    "msg": "hi"}"#);
        let ping = map(json!({"ping": "pong", "changed": false, "invocation": {}}));
        assert_eq!(dump(&ping), r#"{"changed": false,"ping": "pong"}"#);
        let command = map(json!({"rc": 0, "stdout": "a\nb", "stderr": ""}));
        assert_eq!(
            command_line("web", &command, "CHANGED"),
            "web | CHANGED | rc=0 | (stdout) a\\nb"
        );
    }
}
