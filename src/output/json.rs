//! `--output json`: one JSON document with every task result per host, printed when
//! the run ends, as the `ansible.posix.json` callback writes it: plays and tasks with
//! their `id`, `path` and `duration`, each host's whole result with the task's
//! `action`, keys sorted and indented by four.

use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{HostResult, NO_LOG_KEY, PlayStart, Reporter, Stats, Status, TaskStart, task_path};
use crate::source::Span;

/// Collects everything and prints one document when the run ends.
pub struct JsonReport {
    document: Mutex<Document>,
}

/// The plays so far, and what the current task's results need.
struct Document {
    plays: Vec<Json>,
    /// The current task's action as written.
    action: String,
    /// Where the run's ids start, so that ids of different runs differ.
    id_prefix: String,
    /// How many ids were handed out.
    ids: u64,
}

impl JsonReport {
    /// An empty report.
    pub fn new() -> JsonReport {
        let started = OffsetDateTime::now_utc().unix_timestamp_nanos();
        JsonReport {
            document: Mutex::new(Document {
                plays: Vec::new(),
                action: String::new(),
                id_prefix: format!(
                    "{:08x}-{:04x}-{:04x}",
                    std::process::id(),
                    (started >> 16) & 0xffff,
                    started & 0xffff
                ),
                ids: 0,
            }),
        }
    }
}

impl Default for JsonReport {
    fn default() -> JsonReport {
        JsonReport::new()
    }
}

impl Document {
    /// A fresh id in Ansible's uuid shape (`xxxxxxxx-xxxx-xxxx-xxxx-NNNNNNNNNNNN`).
    fn next_id(&mut self) -> String {
        self.ids += 1;
        format!("{}-0000-{:012}", self.id_prefix, self.ids)
    }

    /// The `play` or `task` entry: name, id, path and when it started.
    fn entry(&mut self, name: &str, span: &Span) -> Json {
        json!({
            "name": name,
            "id": self.next_id(),
            "path": task_path(span),
            "duration": {"start": now()},
        })
    }

    fn current_play(&mut self) -> Option<&mut Map<String, Json>> {
        self.plays.last_mut().and_then(Json::as_object_mut)
    }

    fn current_task(&mut self) -> Option<&mut Map<String, Json>> {
        self.current_play()?
            .get_mut("tasks")?
            .as_array_mut()?
            .last_mut()?
            .as_object_mut()
    }
}

impl Reporter for JsonReport {
    fn play_start(&self, play: &PlayStart<'_>) {
        if let Ok(mut document) = self.document.lock() {
            let entry = document.entry(play.name, play.span);
            document.plays.push(json!({"play": entry, "tasks": []}));
        }
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        if let Ok(mut document) = self.document.lock() {
            let entry = document.entry(task.name, task.span);
            document.action = task.action.to_string();
            if let Some(Json::Array(tasks)) =
                document.current_play().and_then(|p| p.get_mut("tasks"))
            {
                tasks.push(json!({"task": entry, "hosts": {}}));
            }
        }
    }

    fn result(&self, result: &HostResult<'_>) {
        if result.item.is_some() {
            return;
        }
        let Ok(mut document) = self.document.lock() else {
            return;
        };
        let mut data = result.result.clone();
        // Results carry `failed` only when true, as Ansible's task executor leaves them.
        if data.get("failed") == Some(&Json::Bool(false)) {
            data.remove("failed");
        }
        // The event's flag, as ansible.posix.json adds it to the result's copy.
        match result.status {
            Status::Failed => _ = data.insert("failed".into(), Json::Bool(true)),
            Status::Skipped => _ = data.insert("skipped".into(), Json::Bool(true)),
            Status::Unreachable => _ = data.insert("unreachable".into(), Json::Bool(true)),
            Status::Ok | Status::Changed => {}
        }
        if !result.is_loop_summary {
            let censored = data.contains_key("censored");
            data.entry(NO_LOG_KEY).or_insert(Json::Bool(censored));
        }
        // A task whose action is a template reports the module it named.
        let action = match document.action.contains("{{") {
            true => result.action.to_string(),
            false => document.action.clone(),
        };
        data.insert("action".into(), Json::String(action));
        let end = now();
        if let Some(play) = document.current_play() {
            play["play"]["duration"]["end"] = Json::String(end.clone());
        }
        if let Some(task) = document.current_task() {
            task["task"]["duration"]["end"] = Json::String(end);
            if let Some(Json::Object(hosts)) = task.get_mut("hosts") {
                hosts.insert(result.host.to_string(), Json::Object(data));
            }
        }
    }

    fn included(&self, _file: &str, _hosts: &[String], _item: Option<&str>) {}

    fn warning(&self, message: &str) {
        eprintln!("[WARNING]: {message}");
    }

    fn no_hosts(&self, _message: &str) {}

    fn recap(&self, stats: &Stats) {
        let plays = self
            .document
            .lock()
            .map(|document| document.plays.clone())
            .unwrap_or_default();
        let document = json!({
            "plays": plays,
            "stats": serde_json::to_value(stats).unwrap_or(Json::Null),
            "custom_stats": {},
            "global_custom_stats": {},
        });
        println!("{}", crate::pyjson::dumps(&document, Some(4)));
    }
}

/// The current time as the callback writes it: `2024-05-01T12:00:00.123456Z`.
fn now() -> String {
    OffsetDateTime::now_utc()
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_ids_have_the_callbacks_shapes() {
        let stamp = now();
        assert_eq!(stamp.len(), "2024-05-01T12:00:00.123456Z".len(), "{stamp}");
        assert!(
            stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
            "{stamp}"
        );
        let report = JsonReport::new();
        let mut document = report.document.lock().expect("not poisoned");
        let (first, second) = (document.next_id(), document.next_id());
        assert_ne!(first, second);
        let groups: Vec<usize> = first.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{first}");
    }
}
