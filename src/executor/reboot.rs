//! `reboot`, as Ansible's action runs it: reads the boot id, runs the reboot command,
//! then reconnects (dropping the broken connection each time, with Ansible's growing
//! pauses) until the boot id has changed and the test command succeeds, or
//! `reboot_timeout` passes. The arguments and the pure steps are in
//! [`crate::modules::reboot`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::action::with_become;
use super::{HostState, Runner};
use crate::connection::Command;
use crate::modules::reboot::{RebootArgs, backoff, boot_changed};
use crate::modules::{self, Outcome};
use crate::playbook::Task;
use crate::template::Vars;

impl Runner {
    /// Reboots the host and waits for it to come back.
    pub(super) async fn reboot(
        &self,
        task: &Task,
        args: IndexMap<String, Json>,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Outcome, String> {
        let args = match RebootArgs::read(&args) {
            Ok(args) => args,
            Err(message) => return Ok(modules::failed(message)),
        };
        let keywords = self.connect_keywords(task, vars)?;
        let local = super::connect::kind(vars, &keywords, &self.options) == "local";
        if local && delegated.is_none() {
            let mut result = modules::failed(
                "Running reboot with local connection would reboot the control node.",
            );
            result.insert("elapsed".into(), Json::from(0));
            result.insert("rebooted".into(), Json::Bool(false));
            return Ok(result);
        }
        if self.check_mode(task, vars)? {
            let mut result = modules::ok(true);
            result.insert("elapsed".into(), Json::from(0));
            result.insert("rebooted".into(), Json::Bool(true));
            return Ok(result);
        }
        // As Ansible, the probes and the reboot itself run with the task's become.
        let become_ = self.become_spec(task, vars)?;
        let conn = with_become(
            self.connection_for(task, host, vars, delegated).await?,
            become_.clone(),
        )
        .map_err(|err| err.to_string())?;
        let boot = conn
            .exec(&Command::new(args.boot_time_command()))
            .await
            .map_err(|err| err.to_string())?;
        if boot.rc != 0 {
            let mut result = modules::failed(format!(
                "reboot: failed to get host boot time info, rc: {}, stdout: {}, stderr: {}",
                boot.rc,
                boot.stdout_text(),
                boot.stderr_text()
            ));
            result.insert("reboot".into(), Json::Bool(false));
            return Ok(result);
        }
        let previous = boot.stdout_text().trim().to_string();
        let ran = conn.exec(&Command::new(args.reboot_script())).await;
        let start = Instant::now();
        if let Ok(out) = &ran {
            let failed = if out.stdout_text().contains("@@notfound") {
                Some(args.not_found())
            } else if out.rc != 0 {
                Some(format!(
                    "Reboot command failed. Error was: '{}, {}'",
                    out.stdout_text().trim(),
                    out.stderr_text().trim()
                ))
            } else {
                None
            };
            if let Some(message) = failed {
                let mut result = modules::failed(message);
                result.insert("rebooted".into(), Json::Bool(false));
                result.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
                return Ok(result);
            }
        }
        tokio::time::sleep(args.post_reboot_delay()).await;
        self.abandon_connection(host).await;
        let mut result = modules::ok(true);
        result.insert("rebooted".into(), Json::Bool(true));
        let steps: [(&str, &str); 2] = [
            ("last boot time check", args.boot_time_command()),
            ("post-reboot test command", args.test_command()),
        ];
        for (desc, command) in steps {
            let deadline = Instant::now() + args.reboot_timeout();
            let mut fails = 0;
            loop {
                let attempt = self
                    .reboot_attempt(task, host, vars, delegated, command, args.connect_timeout())
                    .await;
                let passed = match (desc, attempt) {
                    ("last boot time check", Ok((_, stdout, _))) => {
                        boot_changed(&previous, &stdout)
                    }
                    (_, Ok((rc, _, _))) => rc == 0,
                    (_, Err(())) => false,
                };
                if passed {
                    break;
                }
                self.abandon_connection(host).await;
                let jitter = u64::from(start.elapsed().subsec_millis());
                let pause = backoff(fails, jitter);
                fails += 1;
                if Instant::now() + pause >= deadline {
                    result = modules::failed(format!(
                        "Timed out waiting for {desc} (timeout={})",
                        args.reboot_timeout().as_secs()
                    ));
                    result.insert("rebooted".into(), Json::Bool(true));
                    result.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
                    return Ok(result);
                }
                tokio::time::sleep(pause).await;
            }
        }
        result.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
        Ok(result)
    }

    /// Connects (within `connect_timeout`) and runs `command` with the task's become: its rc, stdout and
    /// stderr, or `Err` when the host does not answer.
    async fn reboot_attempt(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
        command: &str,
        connect_timeout: Option<Duration>,
    ) -> Result<(i32, String, String), ()> {
        let limit = connect_timeout.unwrap_or(Duration::from_secs(30));
        tokio::time::timeout(limit, async {
            let conn = self
                .connection_for(task, host, vars, delegated)
                .await
                .map_err(|_| ())?;
            let become_ = self.become_spec(task, vars).map_err(|_| ())?;
            let conn = with_become(conn, become_).map_err(|_| ())?;
            let out = conn.exec(&Command::new(command)).await.map_err(|_| ())?;
            Ok((out.rc, out.stdout_text(), out.stderr_text()))
        })
        .await
        .unwrap_or(Err(()))
    }
}
