//! `--output json`: one JSON document with every task result per host, printed when
//! the run ends, as the `ansible.posix.json` callback writes it: plays and tasks with
//! their `id`, `path` and `duration`, each host's whole result with the task's
//! `action`, keys sorted and indented by four.

use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};

use super::record::{Entry, HostRecord, Record};
use super::{HostResult, NO_LOG_KEY, PlayStart, Reporter, Stats, Status, TaskStart};

/// Collects everything and prints one document when the run ends.
#[derive(Default)]
pub struct JsonReport {
    record: Mutex<Record>,
    /// `show_custom_stats`: `set_stats`' statistics in the document.
    show_custom_stats: bool,
    custom: Mutex<Map<String, Json>>,
}

impl JsonReport {
    /// An empty report.
    pub fn new() -> JsonReport {
        JsonReport::default()
    }

    /// Puts `set_stats`' statistics in the document (`show_custom_stats`).
    pub fn showing_custom_stats(mut self, show: bool) -> JsonReport {
        self.show_custom_stats = show;
        self
    }
}

impl Reporter for JsonReport {
    fn play_start(&self, play: &PlayStart<'_>) {
        if let Ok(mut record) = self.record.lock() {
            record.play_start(play);
        }
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        if let Ok(mut record) = self.record.lock() {
            record.task_start(task);
        }
    }

    fn result(&self, result: &HostResult<'_>) {
        if let Ok(mut record) = self.record.lock() {
            record.result(result);
        }
    }

    fn included(&self, _file: &str, _hosts: &[String], _item: Option<&str>) {}

    fn warning(&self, message: &str) {
        eprintln!("[WARNING]: {message}");
    }

    fn no_hosts(&self, _message: &str) {}

    fn custom_stats(&self, custom: &Map<String, Json>) {
        if let Ok(mut kept) = self.custom.lock() {
            *kept = custom.clone();
        }
    }

    fn recap(&self, stats: &Stats) {
        let plays: Vec<Json> = self
            .record
            .lock()
            .map(|record| record.plays.iter().map(play_json).collect())
            .unwrap_or_default();
        let mut custom = match self.show_custom_stats {
            true => self.custom.lock().map(|c| c.clone()).unwrap_or_default(),
            false => Map::new(),
        };
        let global = custom.remove("_run").unwrap_or_else(|| json!({}));
        let document = json!({
            "plays": plays,
            "stats": serde_json::to_value(stats).unwrap_or(Json::Null),
            "custom_stats": custom,
            "global_custom_stats": global,
        });
        println!("{}", crate::pyjson::dumps(&document, Some(4)));
    }
}

fn play_json(play: &super::record::PlayRecord) -> Json {
    let tasks: Vec<Json> = play
        .tasks
        .iter()
        .map(|task| {
            let hosts: Map<String, Json> = task
                .hosts
                .iter()
                .map(|(host, record)| (host.clone(), host_json(record)))
                .collect();
            json!({"task": entry_json(&task.entry), "hosts": hosts})
        })
        .collect();
    json!({"play": entry_json(&play.entry), "tasks": tasks})
}

fn entry_json(entry: &Entry) -> Json {
    let mut duration = Map::new();
    duration.insert("start".into(), Json::String(entry.start.clone()));
    if let Some(end) = &entry.end {
        duration.insert("end".into(), Json::String(end.clone()));
    }
    json!({"name": entry.name, "id": entry.id, "path": entry.path, "duration": duration})
}

/// A host's result as the callback copies it: `failed` only when true (as Ansible's
/// task executor leaves results), the event's own flag added, `_ansible_no_log` and
/// the `action`.
fn host_json(record: &HostRecord) -> Json {
    let mut data = record.result.clone();
    if data.get("failed") == Some(&Json::Bool(false)) {
        data.remove("failed");
    }
    match record.status {
        Status::Failed => _ = data.insert("failed".into(), Json::Bool(true)),
        Status::Skipped => _ = data.insert("skipped".into(), Json::Bool(true)),
        Status::Unreachable => _ = data.insert("unreachable".into(), Json::Bool(true)),
        Status::Ok | Status::Changed => {}
    }
    if !record.loop_summary {
        let censored = data.contains_key("censored");
        data.entry(NO_LOG_KEY).or_insert(Json::Bool(censored));
    }
    data.insert("action".into(), Json::String(record.action.clone()));
    Json::Object(data)
}
