//! `--output json`: one JSON document with every task result per host, printed when
//! the run ends, as the `ansible.posix.json` callback writes it: plays and tasks with
//! their `id`, `path` and `duration`, each host's whole result with the task's
//! `action`, keys sorted and indented by four.

use serde_json::{Map, Value as Json, json};

use super::record::{Ending, Entry, HostRecord, Record, Recording};
use super::{NO_LOG_KEY, Stats, Status};

/// The JSON document printed when the run ends ([`Recording`] records the run).
#[derive(Default)]
pub struct JsonReport {
    /// `show_custom_stats`: `set_stats`' statistics in the document.
    show_custom_stats: bool,
}

impl JsonReport {
    /// The document, recorded as the run goes.
    pub fn new(show_custom_stats: bool) -> Recording<JsonReport> {
        Recording::new(JsonReport { show_custom_stats })
    }
}

impl Ending for JsonReport {
    fn end(&self, record: &Record, stats: &Stats, custom: &Map<String, Json>) {
        let plays: Vec<Json> = record.plays.iter().map(play_json).collect();
        let mut custom = match self.show_custom_stats {
            true => custom.clone(),
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

    fn warning(&self, message: &str) {
        eprintln!("[WARNING]: {message}");
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
