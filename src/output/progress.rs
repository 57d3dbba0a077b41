//! The progress line shown on a terminal while a task runs on many hosts: hosts done,
//! running and failed, and the time spent. Normal output is printed above it, never
//! through it.

use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A live "hosts done / running / failed" line for the current task.
pub struct Progress {
    bar: Mutex<Option<ProgressBar>>,
    failed: Mutex<u64>,
}

impl Progress {
    /// A progress display drawing to standard error.
    pub fn new() -> Progress {
        Progress {
            bar: Mutex::new(None),
            failed: Mutex::new(0),
        }
    }

    /// Starts the line for a task running on `hosts` hosts.
    pub fn start(&self, task: &str, hosts: usize) {
        self.finish();
        if hosts < 2 {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(hosts as u64), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{spinner} {prefix} {pos}/{len} hosts done, {msg} [{elapsed}]",
        )
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_prefix(task.chars().take(40).collect::<String>());
        bar.set_message(format!("{hosts} running, 0 failed"));
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut failed) = self.failed.lock() {
            *failed = 0;
        }
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    /// Counts one host as done.
    pub fn host_done(&self, failed: bool) {
        let Ok(slot) = self.bar.lock() else { return };
        let Some(bar) = slot.as_ref() else { return };
        let failures = match self.failed.lock() {
            Ok(mut count) => {
                *count += u64::from(failed);
                *count
            }
            Err(_) => 0,
        };
        bar.inc(1);
        let running = bar.length().unwrap_or(0).saturating_sub(bar.position());
        bar.set_message(format!("{running} running, {failures} failed"));
    }

    /// Runs `print` with the line hidden, so output never mixes with it.
    pub fn suspend(&self, print: impl FnOnce()) {
        match self.bar.lock().ok().and_then(|slot| slot.clone()) {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Removes the line.
    pub fn finish(&self) {
        if let Some(bar) = self.bar.lock().ok().and_then(|mut slot| slot.take()) {
            bar.finish_and_clear();
        }
    }
}

impl Default for Progress {
    fn default() -> Progress {
        Progress::new()
    }
}
