//! Handlers: run when flushed, in the order they are defined, on the hosts that
//! notified them; a handler may include tasks or a role, or be a block.

use super::play::{ListKind, PlayRun};
use super::{HostState, Runner};
use crate::playbook::{Action, Task};
use futures::future::BoxFuture;

impl Runner {
    /// Runs notified handlers in the order they are defined, on the hosts that
    /// notified them.
    /// Boxed because a handler may include tasks, whose handlers flush in turn.
    pub(super) fn flush_handlers<'a>(
        &'a self,
        run: &'a PlayRun<'a>,
        hosts: &'a mut [HostState],
    ) -> BoxFuture<'a, ()> {
        Box::pin(self.flush_handlers_now(run, hosts))
    }

    async fn flush_handlers_now(&self, run: &PlayRun<'_>, hosts: &mut [HostState]) {
        let all = run.handlers();
        let handlers = handler_tasks(&all);
        let names: Vec<Vec<String>> = handlers.iter().map(|h| handler_names(h)).collect();
        // Notifications (host, name) a handler spent in this pass that later handlers
        // answer too: every handler listening to the same topic sees it.
        let mut pending: Vec<(String, String)> = Vec::new();
        for (index, handler) in handlers.iter().enumerate() {
            let own = &names[index];
            let force = run
                .play
                .force_handlers
                .unwrap_or(self.options.force_handlers);
            let notified: Vec<String> = hosts
                .iter()
                .filter(|h| {
                    (h.active() || (force && !h.unreachable))
                        && (h.notified.iter().any(|n| own.contains(n))
                            || pending
                                .iter()
                                .any(|(host, n)| *host == h.name && own.contains(n)))
                })
                .map(|h| h.name.clone())
                .collect();
            if notified.is_empty() {
                continue;
            }
            let later: Vec<&String> = names_after(&names, index);
            for host in hosts.iter_mut() {
                if notified.contains(&host.name) {
                    for name in host
                        .notified
                        .iter()
                        .filter(|n| own.contains(n) && later.contains(n))
                    {
                        pending.push((host.name.clone(), name.clone()));
                    }
                }
                host.notified.retain(|n| !own.contains(n));
            }
            let mut paused = Vec::new();
            for host in hosts.iter_mut() {
                if host.active() && !notified.contains(&host.name) {
                    host.ended = true;
                    paused.push(host.name.clone());
                }
            }
            // Under force_handlers a failed host runs the handlers it notified, and
            // stays failed.
            let mut forced = Vec::new();
            for host in hosts.iter_mut() {
                if host.failed && notified.contains(&host.name) {
                    host.failed = false;
                    forced.push(host.name.clone());
                }
            }
            match handler.action {
                Action::IncludeTasks { .. }
                | Action::IncludeRole { .. }
                | Action::Block { .. }
                | Action::Meta(_) => {
                    self.run_one(run, handler, hosts, ListKind::Handlers).await;
                }
                _ => {
                    if self.step_allows(handler, true) {
                        self.announce(run, handler, true);
                        self.run_on_hosts(run, handler, hosts).await;
                    }
                }
            }
            for host in hosts.iter_mut() {
                if paused.contains(&host.name) {
                    host.ended = false;
                }
                if forced.contains(&host.name) {
                    host.failed = true;
                }
            }
        }
    }
}

/// Whether some handler of the play (its own, or one an included role registered)
/// answers to `name`.
pub(super) fn is_handled(play: &[Task], included: &[Task], name: &str) -> bool {
    handler_tasks(play)
        .into_iter()
        .chain(handler_tasks(included))
        .any(|handler| handler_names(handler).iter().any(|n| n == name))
}

/// The names a handler answers to: its name (with its role's, as shown) and the
/// topics it listens to.
fn handler_names(handler: &Task) -> Vec<String> {
    let mut names = vec![handler.display_name()];
    if let Some(name) = &handler.name {
        names.push(name.clone());
    }
    names.extend(handler.listen.iter().cloned());
    names
}

/// Every name the handlers after `index` answer to.
fn names_after(names: &[Vec<String>], index: usize) -> Vec<&String> {
    names.iter().skip(index + 1).flatten().collect()
}

/// The handlers of a handler list: a block (or an `import_tasks`) is no handler but
/// holds handlers, as Ansible takes every task of a handler block as one.
fn handler_tasks(list: &[Task]) -> Vec<&Task> {
    let mut handlers = Vec::new();
    for task in list {
        match &task.action {
            Action::Block { block, .. } => handlers.extend(handler_tasks(block)),
            _ => handlers.push(task),
        }
    }
    handlers
}
