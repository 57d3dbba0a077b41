//! Running a task list on a play's hosts: each task on every active host before the
//! next (at most `forks` at a time), blocks routing failed hosts to `rescue:` and
//! everyone to `always:`, and the failures the play loop reports itself.

use super::includes::IncludeKind;
use super::play::{ListKind, PlayRun};
use super::task::TaskEnd;
use super::vars::task_vars;
use super::{HostState, RunError, Runner};
use crate::playbook::{Action, ControlAction, Meta, RoleFrom, Task};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::Value as Json;

impl Runner {
    /// Runs a task list on the hosts; boxed because blocks and includes recurse.
    pub(super) fn run_list<'a>(
        &'a self,
        run: &'a PlayRun<'a>,
        tasks: &'a [Task],
        hosts: &'a mut [HostState],
        kind: ListKind,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            for task in tasks {
                // A host that ended its role still goes on to the role's end.
                if !hosts.iter().any(|h| h.active() || h.role_ended) || self.is_stopped() {
                    return;
                }
                self.run_one(run, task, hosts, kind).await;
            }
        })
    }

    /// Runs one task (a block with all it holds) on the hosts, less those that
    /// completed its role earlier in the play.
    pub(super) async fn run_one(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        let sitting_out = match kind {
            ListKind::Tasks => sit_out_completed_role(task, hosts),
            ListKind::Handlers => Vec::new(),
        };
        self.run_action(run, task, hosts, kind).await;
        for index in sitting_out {
            hosts[index].role_done_here = false;
        }
    }

    async fn run_action(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        let ends_role = matches!(
            task.action,
            Action::Block { .. } | Action::Meta(Meta::RoleComplete)
        );
        if !ends_role && !hosts.iter().any(HostState::active) {
            return;
        }
        self.reread_inventory_vars(hosts);
        match &task.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                self.run_block(run, block, rescue, always, hosts, kind)
                    .await;
            }
            Action::IncludeTasks { file, .. } => {
                self.run_include(run, task, file, IncludeKind::Tasks, hosts, kind)
                    .await;
            }
            Action::IncludeRole {
                name,
                tasks_from,
                handlers_from,
                ..
            } => {
                let include = IncludeKind::Role(RoleFrom {
                    tasks: tasks_from.as_deref(),
                    handlers: handlers_from.as_deref(),
                });
                self.run_include(run, task, name, include, hosts, kind)
                    .await;
            }
            Action::Meta(Meta::FlushHandlers) if kind == ListKind::Handlers => {
                self.stop(RunError::FlushHandlersAsHandler);
            }
            Action::Meta(meta) => self.run_meta(run, task, *meta, hosts).await,
            _ => {
                if !self.options.tags.allows(&self.task_tags(run, task, hosts)) {
                    return;
                }
                if !run.started.load(std::sync::atomic::Ordering::Relaxed) {
                    let name = task.display_name();
                    let wanted = self.options.start_at_task.as_deref().unwrap_or_default();
                    if name != wanted && task.name.as_deref() != Some(wanted) {
                        return;
                    }
                    run.started
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                if !self.step_allows(task, kind == ListKind::Handlers) {
                    return;
                }
                self.announce(run, task, kind == ListKind::Handlers);
                self.run_on_hosts(run, task, hosts).await;
            }
        }
    }

    /// Gives hosts the inventory variables of the inventory as it stands, once
    /// `add_host` or `group_by` changed it (a new group's `group_vars/` included).
    fn reread_inventory_vars(&self, hosts: &mut [HostState]) {
        let now = self.inventory();
        for host in hosts
            .iter_mut()
            .filter(|h| h.inventory_changes != now.changes)
        {
            host.inventory_vars = std::sync::Arc::new(now.host_vars(&host.name));
            host.inventory_changes = now.changes;
        }
    }

    /// Runs a leaf task on every active host at once, at most `forks` at a time.
    pub(super) async fn run_on_hosts(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        hosts: &mut [HostState],
    ) {
        let scope = self.scope(run, hosts);
        let bypasses_host_loop = matches!(
            task.action,
            Action::Control {
                action: ControlAction::AddHost,
                ..
            }
        );
        // The first active host's variables are built only for a task that says run_once.
        let first_active = hosts.iter().find(|h| h.active());
        let run_once = match first_active {
            _ if bypasses_host_loop => true,
            Some(host) if task.options.run_once.is_some() => {
                match self.runs_once(task, &task_vars(self, &scope, host, Some(task), &[])) {
                    Ok(once) => once,
                    Err(message) => return self.stop(RunError::Keyword(message)),
                }
            }
            _ => false,
        };
        let throttle = match self.task_throttle(task, &scope, hosts) {
            Ok(limit) if limit > 0 && !run_once => Some(limit),
            Ok(_) => None,
            Err(message) => return self.stop(RunError::Throttle(message)),
        };
        let forks = self
            .options
            .forks
            .max(1)
            .min(throttle.unwrap_or(usize::MAX));
        let _place = match throttle {
            Some(limit) => run.throttle_place(task, limit).await,
            None => None,
        };
        let mut active: Vec<&mut HostState> = hosts.iter_mut().filter(|h| h.active()).collect();
        if run_once {
            active.truncate(1);
        }
        self.reporter.task_hosts(&task.display_name(), active.len());
        let scope_ref = &scope;
        let mut jobs: Vec<BoxFuture<'_, (String, TaskEnd, Option<Json>)>> = Vec::new();
        for host in active {
            jobs.push(Box::pin(async move {
                let end = self.run_task_on_host(scope_ref, task, host).await;
                if end == TaskEnd::Failed {
                    host.failed = true;
                }
                let registered = task
                    .register
                    .as_ref()
                    .and_then(|r| host.host_vars.get(r).cloned());
                (host.name.clone(), end, registered)
            }));
        }
        let ends: Vec<(String, TaskEnd, Option<Json>)> = futures::stream::iter(jobs)
            .buffer_unordered(forks)
            .collect()
            .await;
        if run_once && let (Some(name), Some((_, _, Some(value)))) = (&task.register, ends.first())
        {
            for host in hosts.iter_mut().filter(|h| h.active()) {
                std::sync::Arc::make_mut(&mut host.host_vars).insert(name.clone(), value.clone());
            }
        }
        let any_failed = ends.iter().any(|(_, end, _)| *end == TaskEnd::Failed);
        self.fail_all_if_fatal(task, hosts, any_failed);
    }

    /// How many hosts may run `task` at once by its `throttle` (0: no limit), rendered
    /// with the first active host's variables as Ansible's strategy renders it.
    fn task_throttle(
        &self,
        task: &Task,
        scope: &super::vars::TaskScope<'_>,
        hosts: &[HostState],
    ) -> Result<usize, String> {
        let (Some(value), Some(host)) = (&task.options.throttle, hosts.iter().find(|h| h.active()))
        else {
            return Ok(0);
        };
        let vars = task_vars(self, scope, host, Some(task), &[]);
        let limit = self.throttle(value, &vars)?;
        Ok(usize::try_from(limit).unwrap_or(0))
    }

    /// Under `any_errors_fatal`, once `task` failed a host every other host fails too,
    /// uncounted, and goes to its rescue or always sections, as Ansible's linear
    /// strategy marks it failed.
    pub(super) fn fail_all_if_fatal(&self, task: &Task, hosts: &mut [HostState], any_failed: bool) {
        let fatal = task
            .options
            .any_errors_fatal
            .unwrap_or(self.options.any_errors_fatal);
        if fatal && any_failed {
            for host in hosts.iter_mut().filter(|h| h.active()) {
                host.failed = true;
            }
        }
    }

    pub(super) async fn run_block(
        &self,
        run: &PlayRun<'_>,
        block: &[Task],
        rescue: &[Task],
        always: &[Task],
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        let entered: Vec<bool> = hosts.iter().map(HostState::active).collect();
        let rescuable = usize::from(!rescue.is_empty());
        for (host, _) in hosts.iter_mut().zip(&entered).filter(|(_, was)| **was) {
            host.rescuable += rescuable;
        }
        self.run_list(run, block, hosts, kind).await;
        for (host, _) in hosts.iter_mut().zip(&entered).filter(|(_, was)| **was) {
            host.rescuable -= rescuable;
        }
        let failed_here: Vec<bool> = hosts
            .iter()
            .zip(&entered)
            .map(|(h, was)| *was && h.failed)
            .collect();
        if !rescue.is_empty() && failed_here.iter().any(|f| *f) {
            let mut others_paused = Vec::new();
            for (host, failed) in hosts.iter_mut().zip(&failed_here) {
                if *failed {
                    host.failed = false;
                } else if host.active() {
                    host.ended = true;
                    others_paused.push(host.name.clone());
                }
            }
            self.run_list(run, rescue, hosts, kind).await;
            for host in hosts.iter_mut() {
                if others_paused.contains(&host.name) {
                    host.ended = false;
                }
            }
        }
        if !always.is_empty() {
            let still_failed: Vec<bool> = hosts
                .iter()
                .zip(&entered)
                .map(|(h, was)| *was && h.failed)
                .collect();
            let cleared: Vec<usize> = hosts.iter().map(|h| h.errors_cleared).collect();
            let mut skipped = Vec::new();
            for ((host, was), failed) in hosts.iter_mut().zip(&entered).zip(&still_failed) {
                if *failed {
                    host.failed = false;
                } else if !was && host.active() {
                    host.ended = true;
                    skipped.push(host.name.clone());
                }
            }
            self.run_list(run, always, hosts, kind).await;
            for ((host, failed), cleared) in hosts.iter_mut().zip(&still_failed).zip(&cleared) {
                if *failed && host.errors_cleared == *cleared {
                    host.failed = true;
                }
                if skipped.contains(&host.name) {
                    host.ended = false;
                }
            }
        }
    }

    /// Reports a failure that is no task's result (an include that cannot be loaded,
    /// a broken vars file): it counts as failed even in a block with a rescue, as
    /// Ansible's strategy counts it.
    pub(super) fn report_failure(&self, host: &mut HostState, message: &str) {
        self.show_failure(host, message, false);
        self.count(&host.name, |s| s.failures += 1);
    }

    /// Reports a failure of a task the play loop runs itself (an include); when the
    /// task's `ignore_errors` holds it counts as ok and ignored, as Ansible counts it.
    pub(super) fn report_task_failure(&self, host: &mut HostState, message: &str, ignored: bool) {
        self.show_failure(host, message, ignored);
        self.count(&host.name, |s| match ignored {
            true => {
                s.ok += 1;
                s.ignored += 1;
            }
            false => host.count_failure(s),
        });
    }

    /// Marks `host` failed (unless `ignored`) and shows the failure.
    fn show_failure(&self, host: &mut HostState, message: &str, ignored: bool) {
        host.failed |= !ignored;
        let result = crate::modules::failed(message);
        self.reporter.result(&crate::output::HostResult {
            host: &host.name,
            action: "",
            delegated_to: None,
            status: crate::output::Status::Failed,
            ignored,
            item: None,
            result: &result,
            is_loop_summary: false,
        });
    }
}

/// Sets [`HostState::role_done_here`] on the hosts that completed `task`'s role
/// earlier in the play, as Ansible's iterator passes over such a role's tasks (its
/// handlers still run); gives the hosts it set it on.
fn sit_out_completed_role(task: &Task, hosts: &mut [HostState]) -> Vec<usize> {
    let Some(role) = task.dedup_role() else {
        return Vec::new();
    };
    let mut sitting_out = Vec::new();
    for (index, host) in hosts.iter_mut().enumerate() {
        if !host.role_done_here && host.roles_done.contains(role) {
            host.role_done_here = true;
            sitting_out.push(index);
        }
    }
    sitting_out
}
