//! The timing callbacks Ansible users enable with `callbacks_enabled`:
//! `profile_tasks` (a timestamp line after each task banner and the slowest tasks at
//! the end) and `timer` (the run's length at the end), as ansible.posix prints them.
//! They wrap the reporter that prints results and add their lines after its own.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use time::macros::format_description;

use super::{HostResult, PlayStart, Reporter, Stats, TaskStart};

/// How `profile_tasks` lists the tasks at the end.
#[derive(Clone, Copy, Debug)]
pub struct ProfileOptions {
    /// `Some(true)` slowest first, `Some(false)` fastest first, `None` in run order.
    pub descending: Option<bool>,
    /// How many tasks to list (`None`: all).
    pub limit: Option<usize>,
}

/// A reporter with the timing callbacks added.
pub struct Timed {
    inner: Arc<dyn Reporter>,
    profile: Option<ProfileOptions>,
    timer: bool,
    columns: usize,
    state: Mutex<Clock>,
}

/// What the callbacks measured so far.
struct Clock {
    start: Instant,
    last: Instant,
    tasks: Vec<(String, Duration)>,
    current: Option<(String, Instant)>,
}

impl Timed {
    /// Wraps `inner`; `profile` turns on profile_tasks, `timer` the timer.
    pub fn new(
        inner: Arc<dyn Reporter>,
        profile: Option<ProfileOptions>,
        timer: bool,
        columns: usize,
    ) -> Timed {
        let now = Instant::now();
        Timed {
            inner,
            profile,
            timer,
            columns: columns.max(80) - 1,
            state: Mutex::new(Clock {
                start: now,
                last: now,
                tasks: Vec::new(),
                current: None,
            }),
        }
    }

    fn print(&self, line: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    }

    /// profile_tasks' `tasktime()`: now, the time since the last stamp, the total.
    fn stamp(&self, clock: &mut Clock) -> String {
        let now = Instant::now();
        let text = format!(
            "{} ({}){}{}",
            wall_clock(),
            seconds_to_str(now - clock.last),
            " ".repeat(7),
            seconds_to_str(now - clock.start)
        );
        clock.last = now;
        filled(&text, '*')
    }

    /// Ends the current task's measure.
    fn close_task(clock: &mut Clock) {
        if let Some((name, started)) = clock.current.take() {
            clock.tasks.push((name, started.elapsed()));
        }
    }

    fn summary(&self, clock: &mut Clock, options: ProfileOptions) -> Vec<String> {
        let mut lines = vec![self.stamp(clock), filled("", '=')];
        Timed::close_task(clock);
        let mut tasks = clock.tasks.clone();
        match options.descending {
            Some(true) => tasks.sort_by_key(|task| std::cmp::Reverse(task.1)),
            Some(false) => tasks.sort_by_key(|task| task.1),
            None => {}
        }
        let width = self.columns.saturating_sub(9);
        for (name, took) in tasks.iter().take(options.limit.unwrap_or(usize::MAX)) {
            let name = format!("{name} ");
            let took = format!(" {:.2}s", took.as_secs_f64());
            let pad = width.saturating_sub(name.chars().count());
            let fill = 9usize.saturating_sub(took.chars().count());
            lines.push(format!(
                "{name}{}{}{took}",
                "-".repeat(pad),
                "-".repeat(fill)
            ));
        }
        lines
    }
}

/// `%A %d %B %Y  %H:%M:%S %z` in local time.
fn wall_clock() -> String {
    let now = OffsetDateTime::now_utc();
    let now = match time::UtcOffset::current_local_offset() {
        Ok(offset) => now.to_offset(offset),
        Err(_) => now,
    };
    now.format(format_description!(
        "[weekday] [day] [month repr:long] [year]  [hour]:[minute]:[second] [offset_hour sign:mandatory][offset_minute]"
    ))
    .unwrap_or_default()
}

/// profile_tasks' `secondsToStr`: `H:MM:SS.mmm`.
fn seconds_to_str(elapsed: Duration) -> String {
    let millis = elapsed.as_millis();
    format!(
        "{}:{:02}:{:02}.{:03}",
        millis / 3_600_000,
        millis / 60_000 % 60,
        millis / 1000 % 60,
        millis % 1000
    )
}

/// profile_tasks' `filled`: the text, a space, and `fill` up to column 79, then a space.
fn filled(text: &str, fill: char) -> String {
    let text = if text.is_empty() {
        String::new()
    } else {
        format!("{text} ")
    };
    let width = 79usize.saturating_sub(text.chars().count()).max(3);
    format!("{text}{} ", fill.to_string().repeat(width))
}

/// timer's `Playbook run took D days, H hours, M minutes, S seconds`.
fn took(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    format!(
        "Playbook run took {} days, {} hours, {} minutes, {} seconds",
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60
    )
}

impl Reporter for Timed {
    fn playbook_start(&self, path: &std::path::Path, plays: usize) {
        self.inner.playbook_start(path, plays);
    }

    fn play_start(&self, play: &PlayStart<'_>) {
        self.inner.play_start(play);
    }

    fn task_start(&self, task: &TaskStart<'_>) {
        self.inner.task_start(task);
        if self.profile.is_some()
            && let Ok(mut clock) = self.state.lock()
        {
            let line = self.stamp(&mut clock);
            Timed::close_task(&mut clock);
            clock.current = Some((task.name.to_string(), Instant::now()));
            self.print(&line);
        }
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
        self.inner.recap(stats);
        let Ok(mut clock) = self.state.lock() else {
            return;
        };
        if let Some(options) = self.profile {
            for line in self.summary(&mut clock, options) {
                self.print(&line);
            }
        }
        if self.timer {
            self.print(&took(clock.start.elapsed()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_ansible_posix() {
        assert_eq!(
            seconds_to_str(Duration::from_millis(3_723_456)),
            "1:02:03.456"
        );
        assert_eq!(filled("", '=').len(), 80);
        assert!(filled("abc", '*').starts_with("abc ***"));
        assert_eq!(
            took(Duration::from_secs(90_061)),
            "Playbook run took 1 days, 1 hours, 1 minutes, 1 seconds"
        );
    }
}
