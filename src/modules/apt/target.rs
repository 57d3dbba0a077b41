//! Running apt's scripts on the target: apt's environment, waiting out another apt's
//! lock, retrying a failed `apt-get update`, and failures in Ansible's shape.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::cmd::{self, APT_ENV};
use super::query::{self, Providers, Query, Snapshot};
use crate::connection::{Command, CommandOutput};
use crate::modules::command::lines;
use crate::modules::{ModuleError, Outcome, Target};

/// apt on one target, waiting up to `lock_timeout` seconds for another apt's lock.
pub struct AptOn<'a, 'b> {
    /// The target.
    pub on: &'a Target<'b>,
    /// `lock_timeout`.
    pub lock_timeout: i64,
}

impl AptOn<'_, '_> {
    /// Runs `script` with apt's environment.
    async fn exec(&self, script: String) -> Result<CommandOutput, ModuleError> {
        let mut command = Command::new(script);
        command
            .env
            .extend(APT_ENV.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Ok(self.on.conn.exec(&command).await?)
    }

    /// The moment waiting for a lock gives up.
    fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(self.lock_timeout.max(0) as u64)
    }

    /// Runs `script`, again while it fails on another apt's lock, for up to
    /// `lock_timeout` seconds.
    pub async fn run(&self, script: String) -> Result<CommandOutput, ModuleError> {
        let deadline = self.deadline();
        loop {
            let out = self.exec(script.clone()).await?;
            let locked = out.rc != 0
                && cmd::is_locked(&format!("{}\n{}", out.stdout_text(), out.stderr_text()));
            if !locked || Instant::now() >= deadline {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    /// Runs an apt command line with `/usr/sbin/policy-rc.d` exiting `policy_rc_d`
    /// meanwhile, then marks `manual` as installed by hand.
    pub async fn apt(
        &self,
        words: &[String],
        policy_rc_d: Option<i64>,
        manual: &[String],
    ) -> Result<CommandOutput, ModuleError> {
        self.run(cmd::apply_script(words, policy_rc_d, manual))
            .await
    }

    /// Runs the query, retrying a failed `apt-get update` as Ansible does: with
    /// exponential backoff up to `retries` times, and for as long as `lock_timeout`
    /// allows when another apt holds the lock.
    pub async fn query(
        &self,
        query: &Query<'_>,
        retries: i64,
        retry_max_delay: i64,
    ) -> Result<Snapshot, ModuleError> {
        let deadline = self.deadline();
        let mut failures = 0;
        loop {
            let out = self.exec(query.script()).await?;
            let snapshot = Snapshot::parse(&out.stdout_text());
            let Some(update) = &snapshot.update else {
                return Ok(snapshot);
            };
            let Some(error) = update.error() else {
                return Ok(snapshot);
            };
            if update.locked() {
                if Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                let msg =
                    cmd::lock_message(&update.output, self.lock_timeout).unwrap_or_else(|| {
                        format!("Failed to lock apt for exclusive operation: {error}")
                    });
                return Err(ModuleError::Failed(msg));
            }
            failures += 1;
            if failures >= retries.max(1) {
                return Err(ModuleError::Failed(format!(
                    "Failed to update apt cache: {error}"
                )));
            }
            tokio::time::sleep(backoff(failures, retry_max_delay)).await;
        }
    }

    /// The second query, for names the cache has no versions of: what provides them.
    pub async fn providers(&self, names: &[String]) -> Result<Providers, ModuleError> {
        if names.is_empty() {
            return Ok(Providers::new());
        }
        let out = self.exec(query::providers_script(names)).await?;
        Ok(query::parse_providers(&out.stdout_text()))
    }
}

/// Adds `stdout`, `stderr` and their `_lines`, as Ansible's action plugins do.
pub fn add_output(outcome: &mut Outcome, out: &CommandOutput) {
    let stdout = out.stdout_text();
    let stderr = out.stderr_text();
    outcome.insert("stdout_lines".into(), lines(&stdout));
    outcome.insert("stdout".into(), json!(stdout));
    outcome.insert("stderr_lines".into(), lines(&stderr));
    outcome.insert("stderr".into(), json!(stderr));
}

/// A failure with `msg`, the command's output and its exit status.
pub fn failure(msg: String, out: &CommandOutput) -> ModuleError {
    let mut outcome = crate::modules::failed(msg);
    add_output(&mut outcome, out);
    outcome.insert("rc".into(), json!(out.rc));
    ModuleError::FailedWith(outcome)
}

/// A failed apt command: the lock message when another apt's lock (held for longer
/// than `waited` seconds) was the reason, `msg` otherwise.
pub fn failed_apt(msg: String, out: &CommandOutput, waited: i64) -> ModuleError {
    let both = format!("{}\n{}", out.stdout_text(), out.stderr_text());
    failure(cmd::lock_message(&both, waited).unwrap_or(msg), out)
}

/// Ansible's backoff between update attempts: 2^n seconds plus up to one second of
/// jitter, at most `max_delay` (plus jitter).
fn backoff(attempt: i64, max_delay: i64) -> Duration {
    let jitter = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| f64::from(d.subsec_millis()) / 1000.0);
    let base = 2f64
        .powi(attempt.clamp(0, 30) as i32)
        .min(max_delay.max(0) as f64);
    Duration::from_secs_f64(base + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let secs = |n| backoff(n, 12).as_secs_f64();
        assert!((2.0..3.0).contains(&secs(1)));
        assert!((8.0..9.0).contains(&secs(3)));
        assert!((12.0..13.0).contains(&secs(5)));
    }
}
