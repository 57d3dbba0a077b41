//! `--step`: before each task, ask `Perform task: TASK: name (N)o/(y)es/(c)ontinue:`
//! on the terminal as ansible-playbook does; `c` runs it and stops asking.

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// The step prompt of one run.
#[derive(Debug)]
pub struct Step {
    asking: AtomicBool,
    columns: usize,
}

impl Step {
    /// A prompt whose banner fills `columns`.
    pub fn new(columns: usize) -> Step {
        Step {
            asking: AtomicBool::new(true),
            columns: columns.max(80) - 1,
        }
    }

    /// Asks whether to run `task` (`TASK: name` or `HANDLER: name`); without an
    /// answer (end of input) the task is skipped, as Ansible skips it.
    pub fn take(&self, task: &str) -> bool {
        if !self.asking.load(Ordering::Relaxed) {
            return true;
        }
        let prompt = format!("Perform task: {task} (N)o/(y)es/(c)ontinue: ");
        let mut stdout = std::io::stdout().lock();
        let _ = write!(stdout, "{prompt}");
        let _ = stdout.flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        let run = match answer.trim().to_lowercase().as_str() {
            "y" | "yes" => true,
            "c" | "continue" => {
                self.asking.store(false, Ordering::Relaxed);
                true
            }
            _ => false,
        };
        let banner = prompt.trim();
        let stars = self.columns.saturating_sub(banner.chars().count()).max(3);
        let _ = writeln!(stdout, "\n{banner} {}", "*".repeat(stars));
        let _ = stdout.flush();
        run
    }
}
