//! `meta:` actions: what each does to the play, its hosts and their state, and which
//! hosts its `when` holds for.

use super::play::PlayRun;
use super::vars::task_vars;
use super::{HostState, RunError, Runner};
use crate::playbook::{Meta, Task};

impl Runner {
    /// Runs a `meta:` action. Its `when` is evaluated per active host (a broken
    /// condition stops the run, as in Ansible); actions on the whole play or batch follow the
    /// first active host's answer, as Ansible's linear strategy runs them once.
    pub(super) async fn run_meta(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        meta: Meta,
        hosts: &mut [HostState],
    ) {
        let conditional = !matches!(
            meta,
            Meta::Noop | Meta::RefreshInventory | Meta::ResetConnection | Meta::RoleComplete
        );
        if !conditional && !task.when.is_empty() {
            self.reporter.warning(&format!(
                "{} task does not support when conditional",
                meta.word()
            ));
        }
        let holds = match conditional {
            true => match self.hosts_where_when_holds(run, task, hosts) {
                Ok(holds) => holds,
                Err(message) => return self.stop(RunError::MetaCondition(message)),
            },
            false => Vec::new(),
        };
        let first_holds = hosts
            .iter()
            .find(|h| h.active())
            .is_some_and(|h| holds.contains(&h.name));
        match meta {
            Meta::Noop => {}
            Meta::RefreshInventory => {
                if let Err(message) = self.refresh_inventory() {
                    for host in hosts.iter_mut().filter(|h| h.active()) {
                        self.report_failure(host, &message);
                    }
                }
                // A host the inventory no longer has takes no further part in the play.
                let now = self.inventory();
                for host in hosts.iter_mut().filter(|h| !now.has_host(&h.name)) {
                    host.ended = true;
                }
            }
            Meta::FlushHandlers if !holds.is_empty() => self.flush_handlers(run, hosts).await,
            Meta::FlushHandlers => {}
            Meta::EndPlay | Meta::EndBatch if first_holds => {
                if meta == Meta::EndPlay {
                    run.ended.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                for host in hosts.iter_mut() {
                    host.ended = true;
                }
            }
            Meta::EndHost => {
                for host in hosts.iter_mut().filter(|h| holds.contains(&h.name)) {
                    host.ended = true;
                }
            }
            Meta::ClearHostErrors if first_holds => self.clear_host_errors(run, hosts),
            Meta::ClearFacts if first_holds => {
                for host in hosts.iter_mut() {
                    host.facts = Default::default();
                }
            }
            Meta::ResetConnection => {
                for host in hosts.iter_mut() {
                    host.connection = None;
                    for conn in self.connections.forget(&host.name).await {
                        conn.close().await;
                    }
                }
            }
            Meta::EndRole => {
                for host in hosts.iter_mut().filter(|h| holds.contains(&h.name)) {
                    host.role_ended = true;
                }
            }
            Meta::RoleComplete => {
                let role = task.dedup_role();
                for host in hosts.iter_mut() {
                    host.role_ended = false;
                }
                for host in hosts.iter_mut().filter(|h| h.active()) {
                    if let Some(role) = role.filter(|r| host.roles_ran.contains(*r)) {
                        host.roles_done.insert(role.clone());
                    }
                }
            }
            Meta::EndPlay | Meta::EndBatch | Meta::ClearHostErrors | Meta::ClearFacts => {}
        }
    }

    /// `meta: clear_host_errors`: every host of the play, in this batch or not, is no
    /// longer failed or unreachable, so later plays take it again; one that fell here
    /// still does nothing more in this play, as Ansible's iterator has it done.
    fn clear_host_errors(&self, run: &PlayRun<'_>, hosts: &mut [HostState]) {
        for host in hosts.iter_mut() {
            host.ended |= host.failed;
            host.errors_cleared += 1;
            host.failed = false;
            host.unreachable = false;
        }
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for name in &run.play_hosts {
            if let Some(remembered) = memory.get_mut(name) {
                remembered.failed = false;
                remembered.unreachable = false;
            }
        }
    }

    /// The active hosts for which every `when` of `task` holds, or the first
    /// condition that cannot be evaluated.
    pub(super) fn hosts_where_when_holds(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        hosts: &[HostState],
    ) -> Result<Vec<String>, String> {
        let scope = self.scope(run, hosts);
        let mut holds = Vec::new();
        for host in hosts.iter().filter(|h| h.active()) {
            let vars = task_vars(self, &scope, host, Some(task), &[]);
            if self.conditions_hold(task, &vars)? {
                holds.push(host.name.clone());
            }
        }
        Ok(holds)
    }
}
