//! `apt`: Debian packages, as Ansible's module manages them, without Python on the
//! target. The query asks in one round trip for the lists' age (updating them when
//! asked and due), dpkg's and the cache's records of every named package (and, when
//! needed, what provides a virtual name, or a simulation of an upgrade); the decision
//! is made here; one `apt-get` call applies everything that must change.

mod args;
mod cmd;
mod decide;
mod found;
mod plan;
mod query;
mod spec;
mod target;

use async_trait::async_trait;
use serde_json::json;

pub use args::AptArgs;
use cmd::MARK_FAILED;
use decide::Plan;
use found::Found;
use target::{AptOn, add_output, failure};

use super::contract::{Decision, StateModule};
use super::{ModuleError, Outcome, Target};

/// `apt`: installs, upgrades and removes Debian packages; updates the package lists.
pub struct Apt;

#[async_trait]
impl StateModule for Apt {
    const NAME: &'static str = "apt";
    type Args = AptArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &AptArgs) -> Result<Found, ModuleError> {
        let request = args.request().map_err(ModuleError::Failed)?;
        let apt = AptOn {
            on,
            lock_timeout: request.options.lock_timeout,
        };
        found::query(&apt, &request).await
    }

    fn decide(&self, args: &AptArgs, found: Found) -> Result<Decision<Plan>, String> {
        decide::decide(&args.request()?, found)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &AptArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let request = args.request().map_err(ModuleError::Failed)?;
        let waited = request.options.lock_timeout;
        let apt = AptOn {
            on,
            lock_timeout: waited,
        };
        let run = match plan {
            Plan::Done => return Ok(Outcome::new()),
            Plan::MarkManual(names) => {
                let words = ["apt-mark".to_string(), "manual".into(), "--".into()];
                let words: Vec<String> = words.into_iter().chain(names).collect();
                let out = apt.apt(&words, None, &[]).await?;
                if out.rc != 0 {
                    let line = cmd::shell_line(&words);
                    return Err(failure(
                        format!("'{line}' failed: {}", out.stderr_text()),
                        &out,
                    ));
                }
                // Ansible marks without reporting a change.
                return Ok(Outcome::from_iter([("changed".to_string(), json!(false))]));
            }
            Plan::Run(run) => run,
        };
        let out = apt.apt(&run.words, run.policy_rc_d, &run.manual).await?;
        if out.rc != 0 {
            return Err(run.failed(&out, waited));
        }
        let stdout = out.stdout_text();
        if let Some((_, marked)) = stdout.split_once(MARK_FAILED) {
            let msg = format!("'apt-mark manual' failed: {}", marked.trim());
            return Err(failure(msg, &out));
        }
        let mut outcome = Outcome::new();
        add_output(&mut outcome, &out);
        outcome.insert("diff".into(), json!({ "prepared": cmd::prepared(&stdout) }));
        if run.msg {
            outcome.insert("msg".into(), json!(stdout));
        }
        Ok(outcome)
    }
}
