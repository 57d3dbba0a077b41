//! What a run reports: events from the executor, rendered for people (Ansible's
//! default, minimal and oneline callbacks) or as one JSON document, with the timing
//! callbacks and `--step`'s prompt.

mod html;
mod human;
mod json;
mod minimal;
mod oneline;
mod palette;
mod progress;
mod record;
mod retry;
mod step;
mod tee;
mod timing;

pub use html::HtmlReport;
pub use human::Human;
pub use json::JsonReport;
pub use minimal::Minimal;
pub use oneline::Oneline;
pub use palette::Palette;
pub use retry::Retry;
pub use step::Step;
pub use tee::Tee;
pub use timing::{ProfileOptions, Timed};

use indexmap::IndexMap;

use std::path::Path;

use crate::source::Span;
use serde_json::{Map, Value as Json};

/// How one task ended on one host (or for one loop item).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Ran, nothing changed.
    Ok,
    /// Ran and changed something.
    Changed,
    /// Failed.
    Failed,
    /// Skipped (`when:` false, check mode ...).
    Skipped,
    /// The host could not be reached.
    Unreachable,
}

/// One result to report.
#[derive(Clone, Debug)]
pub struct HostResult<'a> {
    /// The host's inventory name.
    pub host: &'a str,
    /// The module or action that produced the result (`debug` output is trimmed).
    pub action: &'a str,
    /// Where the task was delegated, if elsewhere.
    pub delegated_to: Option<&'a str>,
    /// The outcome.
    pub status: Status,
    /// A failure that `ignore_errors` let pass.
    pub ignored: bool,
    /// The loop item label when this is one item's result.
    pub item: Option<String>,
    /// The result data as the module returned it.
    pub result: &'a Map<String, Json>,
    /// Whether the result contains loop `results` (then only items are printed).
    pub is_loop_summary: bool,
}

/// Per-host counters for PLAY RECAP.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct HostStats {
    /// Tasks that ran fine (changed ones included).
    pub ok: u32,
    /// Tasks that changed something.
    pub changed: u32,
    /// Times the host was unreachable.
    pub unreachable: u32,
    /// Failed tasks.
    pub failures: u32,
    /// Skipped tasks.
    pub skipped: u32,
    /// Failures handled by `rescue:`.
    pub rescued: u32,
    /// Failures let pass by `ignore_errors`.
    pub ignored: u32,
}

/// Counters for every host, in the order hosts were first seen.
pub type Stats = IndexMap<String, HostStats>;

/// A play as reporters hear of it when it begins.
pub struct PlayStart<'a> {
    /// The name its banner shows.
    pub name: &'a str,
    /// Where it was written.
    pub span: &'a Span,
}

/// A task or handler as reporters hear of it when it begins.
pub struct TaskStart<'a> {
    /// The name its banner shows.
    pub name: &'a str,
    /// Whether it is a handler.
    pub handler: bool,
    /// Where it was written.
    pub span: &'a Span,
    /// Its action as the task wrote it (Ansible's `task.action`).
    pub action: &'a str,
}

/// Receives what happens during a run.
pub trait Reporter: Send + Sync {
    /// A playbook of `plays` plays begins.
    fn playbook_start(&self, _path: &Path, _plays: usize) {}
    /// A play begins.
    fn play_start(&self, play: &PlayStart<'_>);
    /// A task (or handler) begins.
    fn task_start(&self, task: &TaskStart<'_>);
    /// The current task starts on `hosts` hosts (drives the progress line).
    fn task_hosts(&self, _name: &str, _hosts: usize) {}
    /// A host finished the current task (or one loop item of it).
    fn result(&self, result: &HostResult<'_>);
    /// `include_tasks` loaded `file` (or `include_role` a role) for `hosts`, for one
    /// loop item when `item` is its label.
    fn included(&self, file: &str, hosts: &[String], item: Option<&str>);
    /// A warning for the user.
    fn warning(&self, message: &str);
    /// A line of `-vvv` detail (a connection made, a command run).
    fn verbose_line(&self, _line: &str) {}
    /// A pattern matched no host, or a play had nothing to do.
    fn no_hosts(&self, message: &str);
    /// What `set_stats` gathered (by host, `_run` for the whole run), just before
    /// the recap.
    fn custom_stats(&self, _custom: &Map<String, Json>) {}
    /// The run ended.
    fn recap(&self, stats: &Stats);
}

/// Where a play or task was written, as Ansible's `get_path` gives it:
/// `/abs/file.yml:LINE`.
pub fn task_path(span: &Span) -> String {
    let file = std::path::absolute(&span.file.path).unwrap_or_else(|_| span.file.path.clone());
    format!("{}:{}", file.display(), span.line)
}

/// The key that marks a result as run under `no_log` (as in Ansible).
pub const NO_LOG_KEY: &str = "_ansible_no_log";

/// The `exception` a failed result carries when there is no traceback to show, as
/// Ansible 2.19 renders its error summary without `DISPLAY_TRACEBACK`; callbacks
/// leave it out.
pub const TRACEBACK_UNAVAILABLE: &str = "(traceback unavailable)";

/// The result as the default callback shows it for `action` at `verbosity`: without
/// Ansible's internal keys (`_ansible_*`), `invocation` and `diff` below `-vvv`, and
/// `failed`/`skipped`, which the event already says; `debug` keeps only its message
/// (or variable), as Ansible's `_clean_results` does.
pub fn clean_for(action: &str, result: &Map<String, Json>, verbosity: u8) -> Json {
    let debug = action == "debug";
    let hidden_below_vvv = |key: &str| verbosity < 3 && matches!(key, "invocation" | "diff");
    let has_msg = result.contains_key("msg");
    let mut cleaned = Map::new();
    for (key, value) in result {
        if key.starts_with("_ansible")
            || hidden_below_vvv(key)
            || matches!(key.as_str(), "failed" | "skipped")
            || (key == "exception" && value == TRACEBACK_UNAVAILABLE)
        {
            continue;
        }
        if debug
            && has_msg
            && !matches!(
                key.as_str(),
                "msg" | "exception" | "warnings" | "deprecations"
            )
        {
            continue;
        }
        if debug
            && !has_msg
            && matches!(
                key.as_str(),
                "changed"
                    | "failed"
                    | "skipped"
                    | "skip_reason"
                    | "ansible_loop_var"
                    | "ansible_index_var"
                    | "ansible_loop"
            )
        {
            continue;
        }
        cleaned.insert(key.clone(), value.clone());
    }
    Json::Object(cleaned)
}
