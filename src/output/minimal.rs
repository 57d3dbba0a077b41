//! Ad hoc output (and `stdout_callback = minimal`), as Ansible's `minimal` callback prints it:
//! `host | SUCCESS => {...}` and `host | CHANGED | rc=0 >>` followed by the output.

use std::io::Write;

use serde_json::Value as Json;

use super::{HostResult, PlayStart, Reporter, Stats, Status, TaskStart, clean_for};
use crate::pyjson;

/// Modules whose output is shown as command output rather than JSON.
const COMMAND_MODULES: &[&str] = &["command", "shell", "raw", "script"];

/// The ad hoc reporter, also `stdout_callback = minimal` for playbooks.
pub struct Minimal {
    verbosity: u8,
}

impl Minimal {
    /// A reporter for `verbosity` (`-v` count).
    pub fn new(verbosity: u8) -> Minimal {
        Minimal { verbosity }
    }
}

impl Reporter for Minimal {
    fn play_start(&self, _play: &PlayStart<'_>) {}

    fn task_start(&self, _task: &TaskStart<'_>) {}

    fn result(&self, result: &HostResult<'_>) {
        if result.item.is_some() {
            return;
        }
        let data = result.result;
        let text = |key: &str| {
            data.get(key)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let is_command = COMMAND_MODULES.contains(&crate::fqcn::short_name(result.action));
        let line = match result.status {
            Status::Unreachable => format!(
                "{} | UNREACHABLE! => {}",
                result.host,
                pyjson::dumps(&clean_for(result.action, data, self.verbosity), Some(4))
            ),
            Status::Failed if is_command && data.contains_key("rc") => format!(
                "{} | FAILED | rc={} >>\n{}{}{}\n",
                result.host,
                data.get("rc").cloned().unwrap_or(Json::from(-1)),
                text("stdout"),
                text("stderr"),
                text("msg"),
            ),
            Status::Failed => format!(
                "{} | FAILED! => {}",
                result.host,
                pyjson::dumps(&clean_for(result.action, data, self.verbosity), Some(4))
            ),
            Status::Ok | Status::Changed | Status::Skipped
                if is_command && data.contains_key("rc") =>
            {
                format!(
                    "{} | {} | rc={} >>\n{}{}{}\n",
                    result.host,
                    if result.status == Status::Changed {
                        "CHANGED"
                    } else {
                        "SUCCESS"
                    },
                    data.get("rc").cloned().unwrap_or(Json::from(-1)),
                    text("stdout"),
                    text("stderr"),
                    text("msg"),
                )
            }
            Status::Skipped => format!("{} | SKIPPED", result.host),
            Status::Ok | Status::Changed => format!(
                "{} | {} => {}",
                result.host,
                if result.status == Status::Changed {
                    "CHANGED"
                } else {
                    "SUCCESS"
                },
                pyjson::dumps(&clean_for(result.action, data, self.verbosity), Some(4))
            ),
        };
        let mut out = std::io::stdout().lock();
        let newline = if line.ends_with('\n') { "" } else { "\n" };
        let _ = write!(out, "{line}{newline}");
    }

    fn verbose_line(&self, line: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
    }

    fn included(&self, _file: &str, _hosts: &[String], _item: Option<&str>) {}

    fn warning(&self, message: &str) {
        eprintln!("[WARNING]: {message}");
    }

    fn no_hosts(&self, _message: &str) {}

    fn recap(&self, _stats: &Stats) {}
}
