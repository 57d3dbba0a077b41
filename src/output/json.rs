//! `--output json`: one JSON document with every task result per host, printed at the end.

use std::sync::Mutex;

use serde_json::{Map, Value as Json, json};

use super::{HostResult, Reporter, Stats, Status, clean};

/// Collects everything and prints one document when the run ends.
#[derive(Default)]
pub struct JsonReport {
    plays: Mutex<Vec<Json>>,
}

impl JsonReport {
    /// An empty report.
    pub fn new() -> JsonReport {
        JsonReport::default()
    }

    fn with_current_task(&self, f: impl FnOnce(&mut Map<String, Json>)) {
        if let Ok(mut plays) = self.plays.lock()
            && let Some(task) = plays
                .last_mut()
                .and_then(|p| p.get_mut("tasks"))
                .and_then(Json::as_array_mut)
                .and_then(|t| t.last_mut())
                .and_then(Json::as_object_mut)
        {
            f(task);
        }
    }
}

impl Reporter for JsonReport {
    fn play_start(&self, name: &str) {
        if let Ok(mut plays) = self.plays.lock() {
            plays.push(json!({"play": {"name": name}, "tasks": []}));
        }
    }

    fn task_start(&self, name: &str, handler: bool) {
        if let Ok(mut plays) = self.plays.lock()
            && let Some(tasks) = plays
                .last_mut()
                .and_then(|p| p.get_mut("tasks"))
                .and_then(Json::as_array_mut)
        {
            tasks.push(json!({"task": {"name": name, "handler": handler}, "hosts": {}}));
        }
    }

    fn result(&self, result: &HostResult<'_>) {
        if result.item.is_some() {
            return;
        }
        let mut data = clean(result.result);
        if let Json::Object(map) = &mut data {
            // The event's flag, as ansible.posix.json adds it back to the clean copy.
            if result.status == Status::Failed {
                map.insert("failed".into(), Json::Bool(true));
            }
            if result.status == Status::Skipped {
                map.insert("skipped".into(), Json::Bool(true));
            }
            if result.status == Status::Unreachable {
                map.insert("unreachable".into(), Json::Bool(true));
            }
            if result.ignored {
                map.insert("ignored".into(), Json::Bool(true));
            }
        }
        self.with_current_task(|task| {
            if let Some(Json::Object(hosts)) = task.get_mut("hosts") {
                hosts.insert(result.host.to_string(), data);
            }
        });
    }

    fn included(&self, _file: &str, _hosts: &[String], _item: Option<&str>) {}

    fn warning(&self, message: &str) {
        eprintln!("[WARNING]: {message}");
    }

    fn no_hosts(&self, _message: &str) {}

    fn recap(&self, stats: &Stats) {
        let plays = self.plays.lock().map(|p| p.clone()).unwrap_or_default();
        let document = json!({
            "plays": plays,
            "stats": serde_json::to_value(stats).unwrap_or(Json::Null),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&document).unwrap_or_default()
        );
    }
}
