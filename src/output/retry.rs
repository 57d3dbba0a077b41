//! Retry files (`retry_files_enabled`): at the end of each playbook, the hosts that
//! failed or were unreachable are written one per line to `PLAYBOOK.retry` (beside the
//! playbook, or in `retry_files_save_path`), and Ansible's hint to rerun them with
//! `--limit @file` is printed before PLAY RECAP.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{HostResult, PlayStart, Reporter, Stats, TaskStart};

/// A reporter that writes retry files before passing the recap on.
pub struct Retry {
    inner: Arc<dyn Reporter>,
    save_path: Option<PathBuf>,
    /// The playbooks still to end, in run order.
    playbooks: Mutex<VecDeque<PathBuf>>,
}

impl Retry {
    /// Wraps `inner` for a run of `playbooks`.
    pub fn new(
        inner: Arc<dyn Reporter>,
        playbooks: &[PathBuf],
        save_path: Option<PathBuf>,
    ) -> Retry {
        Retry {
            inner,
            save_path,
            playbooks: Mutex::new(playbooks.iter().cloned().collect()),
        }
    }

    /// The retry file of `playbook`.
    fn file_for(&self, playbook: &Path) -> PathBuf {
        let dir = match &self.save_path {
            Some(dir) => dir.clone(),
            None => std::path::absolute(playbook)
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or_default(),
        };
        let stem = playbook
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        dir.join(format!("{stem}.retry"))
    }
}

impl Reporter for Retry {
    fn playbook_start(&self, path: &Path, plays: usize) {
        self.inner.playbook_start(path, plays);
    }

    fn play_start(&self, play: &PlayStart<'_>) {
        self.inner.play_start(play);
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        self.inner.task_start(task);
    }

    fn task_hosts(&self, name: &str, hosts: usize) {
        self.inner.task_hosts(name, hosts);
    }

    fn result(&self, result: &HostResult<'_>) {
        self.inner.result(result);
    }

    fn included(&self, file: &str, hosts: &[String], item: Option<&str>) {
        self.inner.included(file, hosts, item);
    }

    fn verbose_line(&self, line: &str) {
        self.inner.verbose_line(line);
    }

    fn warning(&self, message: &str) {
        self.inner.warning(message);
    }

    fn no_hosts(&self, message: &str) {
        self.inner.no_hosts(message);
    }

    fn custom_stats(&self, custom: &serde_json::Map<String, serde_json::Value>) {
        self.inner.custom_stats(custom);
    }

    fn recap(&self, stats: &Stats) {
        let playbook = self.playbooks.lock().ok().and_then(|mut p| p.pop_front());
        let mut hosts: Vec<&String> = stats
            .iter()
            .filter(|(_, s)| s.failures > 0 || s.unreachable > 0)
            .map(|(name, _)| name)
            .collect();
        hosts.sort();
        if let (Some(playbook), false) = (playbook, hosts.is_empty()) {
            let file = self.file_for(&playbook);
            let text: String = hosts.iter().map(|h| format!("{h}\n")).collect();
            let written = file
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&file, text));
            match written {
                Ok(()) => println!("\tto retry, use: --limit @{}", file.display()),
                Err(e) => self.inner.warning(&format!(
                    "Could not create retry file '{}'.\n\t{e}",
                    file.display()
                )),
            }
        }
        self.inner.recap(stats);
    }
}
