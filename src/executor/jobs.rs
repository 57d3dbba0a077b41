//! Asynchronous tasks (`async:` with `poll: 0`): the module runs in the background
//! while the play goes on, within its `async` seconds, and `async_status` asks how it
//! is doing. The run waits for jobs still going before it ends, so their work is done.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value as Json};

use crate::connection::ConnectionError;
use crate::modules::{self, ModuleError, Outcome};

/// What a job has come to: `None` while it runs.
type Slot = Arc<Mutex<Option<Outcome>>>;

/// The jobs started during a run.
#[derive(Default)]
pub struct Jobs {
    slots: Mutex<HashMap<String, Slot>>,
    running: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Jobs {
    /// Starts `work` in the background, stopped after `seconds`; returns the result
    /// Ansible returns for a started job.
    pub fn start(
        &self,
        seconds: u64,
        work: impl Future<Output = Result<Outcome, ModuleError>> + Send + 'static,
    ) -> Outcome {
        let jid = new_jid();
        let slot: Slot = Arc::default();
        let done = slot.clone();
        let handle = tokio::spawn(async move {
            let outcome = match tokio::time::timeout(Duration::from_secs(seconds), work).await {
                Ok(outcome) => outcome_of(outcome),
                Err(_) => modules::failed("Timeout exceeded"),
            };
            if let Ok(mut slot) = done.lock() {
                *slot = Some(outcome);
            }
        });
        lock(&self.slots).insert(jid.clone(), slot);
        lock(&self.running).push(handle);
        let mut started = modules::ok(true);
        started.extend(job_keys(&jid, false));
        started
    }

    /// `async_status`: the job's result once it finished, else that it runs;
    /// `None` for a job this run did not start.
    pub fn status(&self, jid: &str) -> Option<Outcome> {
        let slot = lock(&self.slots).get(jid).cloned()?;
        let finished = lock(&slot).clone();
        Some(match finished {
            Some(mut outcome) => {
                outcome.extend(job_keys(jid, true));
                outcome
            }
            None => {
                let mut running = modules::ok(false);
                running.extend(job_keys(jid, false));
                running
            }
        })
    }

    /// `async_status mode=cleanup`: forgets the job; whether it was known.
    pub fn forget(&self, jid: &str) -> bool {
        lock(&self.slots).remove(jid).is_some()
    }

    /// Waits for every job still running.
    pub async fn wait_all(&self) {
        let handles = std::mem::take(&mut *lock(&self.running));
        for handle in handles {
            let _ = handle.await;
        }
    }
}

/// A job id in Ansible's form (`j<12 digits>.<pid>`).
pub fn new_jid() -> String {
    format!(
        "j{:012}.{}",
        random() % 1_000_000_000_000,
        std::process::id()
    )
}

/// A module's outcome as a task result: errors as failed results, flags settled.
pub fn outcome_of(outcome: Result<Outcome, ModuleError>) -> Outcome {
    match outcome {
        Ok(mut result) => {
            super::action::settle_flags(&mut result);
            result
        }
        Err(ModuleError::Connection(ConnectionError::Failed(message))) => modules::failed(message),
        Err(ModuleError::Connection(err)) => modules::failed(err.to_string()),
        Err(ModuleError::Failed(message)) => modules::failed(message),
        Err(ModuleError::FailedWith(result)) => result,
    }
}

/// The keys Ansible adds to a job's results.
pub fn job_keys(jid: &str, finished: bool) -> Map<String, Json> {
    let mut keys = Map::new();
    keys.insert("ansible_job_id".into(), Json::String(jid.to_string()));
    keys.insert("started".into(), Json::Bool(true));
    keys.insert("finished".into(), Json::Bool(finished));
    keys.insert(
        "results_file".into(),
        Json::String(format!("~/.ansible_async/{jid}")),
    );
    keys
}

/// A random number, from the standard library's randomly keyed hasher.
fn random() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_runs_in_the_background_and_reports_when_asked() {
        let jobs = Jobs::default();
        let started = jobs.start(5, async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(modules::ok(true))
        });
        let jid = started["ansible_job_id"].as_str().expect("jid").to_string();
        assert_eq!(started["finished"], Json::Bool(false));
        assert_eq!(started["changed"], Json::Bool(true));
        assert_eq!(
            jobs.status(&jid).expect("known")["finished"],
            Json::Bool(false)
        );
        jobs.wait_all().await;
        let done = jobs.status(&jid).expect("known");
        assert_eq!(done["finished"], Json::Bool(true));
        assert_eq!(done["changed"], Json::Bool(true));
        assert!(jobs.forget(&jid));
        assert!(jobs.status(&jid).is_none());
    }

    #[tokio::test]
    async fn a_job_past_its_time_fails() {
        let jobs = Jobs::default();
        let started = jobs.start(0, async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok(modules::ok(true))
        });
        jobs.wait_all().await;
        let jid = started["ansible_job_id"].as_str().expect("jid");
        let done = jobs.status(jid).expect("known");
        assert_eq!(done["failed"], Json::Bool(true));
        assert_eq!(done["msg"], Json::from("Timeout exceeded"));
    }
}
