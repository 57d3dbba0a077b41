//! The run as it happened, kept for the reports written at its end (`--output json`,
//! `--report`): plays and tasks with their ids, places and times, and every host's
//! result as output may show it (censored under `no_log`).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::{HostResult, PlayStart, Reporter, Stats, Status, TaskStart, task_path};

/// What a report made from the record does when the run ends.
pub trait Ending: Send + Sync {
    /// Prints or writes the report of `record`, with the recap's `stats` and what
    /// `set_stats` gathered (`custom`).
    fn end(&self, record: &Record, stats: &Stats, custom: &Map<String, Json>);

    /// A warning for the user; a report written to a file keeps quiet.
    fn warning(&self, _message: &str) {}
}

/// A reporter that records the run and hands the record to its [`Ending`] at the
/// recap (`--output json`, `--report`).
pub struct Recording<E> {
    record: Mutex<Record>,
    custom: Mutex<Map<String, Json>>,
    ending: E,
}

impl<E: Ending> Recording<E> {
    /// Records for `ending`.
    pub fn new(ending: E) -> Recording<E> {
        Recording {
            record: Mutex::new(Record::new()),
            custom: Mutex::new(Map::new()),
            ending,
        }
    }
}

impl<E: Ending> Reporter for Recording<E> {
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
        self.ending.warning(message);
    }

    fn no_hosts(&self, _message: &str) {}

    fn custom_stats(&self, custom: &Map<String, Json>) {
        if let Ok(mut kept) = self.custom.lock() {
            *kept = custom.clone();
        }
    }

    fn recap(&self, stats: &Stats) {
        let custom = self.custom.lock().map(|c| c.clone()).unwrap_or_default();
        if let Ok(record) = self.record.lock() {
            self.ending.end(&record, stats, &custom);
        }
    }
}

/// Everything recorded so far.
pub struct Record {
    /// The plays, in order.
    pub plays: Vec<PlayRecord>,
    /// Where the run's ids start, so that ids of different runs differ.
    id_prefix: String,
    /// How many ids were handed out.
    ids: u64,
}

/// A play's name, place and time, and its tasks.
pub struct PlayRecord {
    /// Its id, its name, where it was written and when it ran.
    pub entry: Entry,
    /// Its tasks and handlers, in the order they ran.
    pub tasks: Vec<TaskRecord>,
}

/// A task's name, place and time, and each host's result.
pub struct TaskRecord {
    /// Its id, its name, where it was written and when it ran.
    pub entry: Entry,
    /// Its action as the task wrote it.
    pub action: String,
    /// Whether it is a handler.
    pub handler: bool,
    /// Each host's result, in the order they came.
    pub hosts: IndexMap<String, HostRecord>,
}

/// What a play or task is called, where it was written and when it ran.
pub struct Entry {
    /// Unique in the run, in Ansible's uuid shape.
    pub id: String,
    /// Its name as its banner shows it.
    pub name: String,
    /// `/abs/file.yml:LINE`.
    pub path: String,
    /// When it started (`2024-05-01T12:00:00.123456Z`).
    pub start: String,
    /// When its last result came, if one did.
    pub end: Option<String>,
    /// How long from its start to its last result, if one came.
    pub elapsed: Option<Duration>,
    started: Instant,
}

impl Entry {
    fn ended(&mut self, end: &str) {
        self.end = Some(end.to_string());
        self.elapsed = Some(self.started.elapsed());
    }
}

/// One host's result of one task.
pub struct HostRecord {
    /// How it ended.
    pub status: Status,
    /// A failure `ignore_errors` let pass.
    pub ignored: bool,
    /// Whether the result sums up a loop (its items are under `results`).
    pub loop_summary: bool,
    /// The module or action that ran (a templated action's module).
    pub action: String,
    /// The result as output may show it.
    pub result: Map<String, Json>,
}

impl Record {
    /// Nothing recorded yet.
    pub fn new() -> Record {
        let started = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Record {
            plays: Vec::new(),
            id_prefix: format!(
                "{:08x}-{:04x}-{:04x}",
                std::process::id(),
                (started >> 16) & 0xffff,
                started & 0xffff
            ),
            ids: 0,
        }
    }

    /// A play begins.
    pub fn play_start(&mut self, play: &PlayStart<'_>) {
        let entry = self.entry(play.name, play.span);
        self.plays.push(PlayRecord {
            entry,
            tasks: Vec::new(),
        });
    }

    /// A task begins.
    pub fn task_start(&mut self, task: &TaskStart<'_>) {
        let entry = self.entry(task.name, task.span);
        if let Some(play) = self.plays.last_mut() {
            play.tasks.push(TaskRecord {
                entry,
                action: task.action.to_string(),
                handler: task.handler,
                hosts: IndexMap::new(),
            });
        }
    }

    /// A host's result of the current task (loop items are in their summary).
    pub fn result(&mut self, result: &HostResult<'_>) {
        if result.item.is_some() {
            return;
        }
        let end = now();
        let Some(play) = self.plays.last_mut() else {
            return;
        };
        play.entry.ended(&end);
        let Some(task) = play.tasks.last_mut() else {
            return;
        };
        task.entry.ended(&end);
        // A task whose action is a template reports the module it named.
        let action = match task.action.contains("{{") {
            true => result.action.to_string(),
            false => task.action.clone(),
        };
        task.hosts.insert(
            result.host.to_string(),
            HostRecord {
                status: result.status,
                ignored: result.ignored,
                loop_summary: result.is_loop_summary,
                action,
                result: result.result.clone(),
            },
        );
    }

    /// A fresh id in Ansible's uuid shape (`xxxxxxxx-xxxx-xxxx-xxxx-NNNNNNNNNNNN`).
    fn next_id(&mut self) -> String {
        self.ids += 1;
        format!("{}-0000-{:012}", self.id_prefix, self.ids)
    }

    fn entry(&mut self, name: &str, span: &crate::source::Span) -> Entry {
        Entry {
            id: self.next_id(),
            name: name.to_string(),
            path: task_path(span),
            start: now(),
            end: None,
            elapsed: None,
            started: Instant::now(),
        }
    }
}

impl Default for Record {
    fn default() -> Record {
        Record::new()
    }
}

/// The current time as Ansible's callbacks write it: `2024-05-01T12:00:00.123456Z`.
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
        let mut record = Record::new();
        let (first, second) = (record.next_id(), record.next_id());
        assert_ne!(first, second);
        let groups: Vec<usize> = first.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{first}");
    }
}
