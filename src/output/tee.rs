//! Two reporters hearing the same run: what is printed and a report written beside it
//! (`--report`).

use std::path::Path;
use std::sync::Arc;

use super::{HostResult, PlayStart, Reporter, Stats, TaskStart};

/// Tells `first` everything, then `second`; only `first` prints warnings.
pub struct Tee {
    first: Arc<dyn Reporter>,
    second: Arc<dyn Reporter>,
}

impl Tee {
    /// `first` and `second`, heard in that order.
    pub fn new(first: Arc<dyn Reporter>, second: Arc<dyn Reporter>) -> Tee {
        Tee { first, second }
    }
}

impl Reporter for Tee {
    fn playbook_start(&self, path: &Path, plays: usize) {
        self.first.playbook_start(path, plays);
        self.second.playbook_start(path, plays);
    }

    fn play_start(&self, play: &PlayStart<'_>) {
        self.first.play_start(play);
        self.second.play_start(play);
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        self.first.task_start(task);
        self.second.task_start(task);
    }

    fn task_hosts(&self, name: &str, hosts: usize) {
        self.first.task_hosts(name, hosts);
        self.second.task_hosts(name, hosts);
    }

    fn result(&self, result: &HostResult<'_>) {
        self.first.result(result);
        self.second.result(result);
    }

    fn included(&self, file: &str, hosts: &[String], item: Option<&str>) {
        self.first.included(file, hosts, item);
        self.second.included(file, hosts, item);
    }

    fn warning(&self, message: &str) {
        self.first.warning(message);
    }

    fn verbose_line(&self, line: &str) {
        self.first.verbose_line(line);
    }

    fn no_hosts(&self, message: &str) {
        self.first.no_hosts(message);
        self.second.no_hosts(message);
    }

    fn custom_stats(&self, custom: &serde_json::Map<String, serde_json::Value>) {
        self.first.custom_stats(custom);
        self.second.custom_stats(custom);
    }

    fn recap(&self, stats: &Stats) {
        self.first.recap(stats);
        self.second.recap(stats);
    }
}
