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
        let answers = |index: usize, notification: &String| {
            answering(&handlers, notification).contains(&index)
        };
        // Notifications (host, name) a handler spent in this pass that later handlers
        // answer too: every handler listening to the same topic sees it.
        let mut pending: Vec<(String, String)> = Vec::new();
        for (index, handler) in handlers.iter().enumerate() {
            let force = run
                .play
                .force_handlers
                .unwrap_or(self.options.force_handlers);
            let notified: Vec<String> = hosts
                .iter()
                .filter(|h| {
                    (h.active() || (force && !h.unreachable))
                        && (h.notified.iter().any(|n| answers(index, n))
                            || pending
                                .iter()
                                .any(|(host, n)| *host == h.name && answers(index, n)))
                })
                .map(|h| h.name.clone())
                .collect();
            if notified.is_empty() {
                continue;
            }
            let answered_later =
                |n: &String| (index + 1..handlers.len()).any(|later| answers(later, n));
            for host in hosts.iter_mut() {
                if notified.contains(&host.name) {
                    for name in host
                        .notified
                        .iter()
                        .filter(|n| answers(index, n) && answered_later(n))
                    {
                        pending.push((host.name.clone(), name.clone()));
                    }
                }
                host.notified.retain(|n| !answers(index, n));
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
        .any(|handler| {
            handler_names(handler).iter().any(|n| n == name) || listens_to(handler, name)
        })
}

/// Whether `handler` listens to `notification`: one of its topics, or, for a role's
/// handler, `role : topic` (Ansible's `_validate_listen` adds those).
fn listens_to(handler: &Task, notification: &str) -> bool {
    let role_names: Vec<String> = match &handler.role {
        Some(role) => std::iter::once(role.name.clone())
            .chain(collection_role_name(&role.path))
            .collect(),
        None => Vec::new(),
    };
    handler.listen.iter().any(|topic| {
        topic == notification
            || role_names
                .iter()
                .any(|role| format!("{role} : {topic}") == notification)
    })
}

/// `namespace.collection.role` for a role kept in a collection
/// (`.../ansible_collections/<namespace>/<collection>/roles/<role>`).
fn collection_role_name(path: &std::path::Path) -> Option<String> {
    let parts: Vec<String> = path
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.iter().rposition(|p| p == "ansible_collections")? {
        at if parts.len() == at + 5 && parts[at + 3] == "roles" => Some(format!(
            "{}.{}.{}",
            parts[at + 1],
            parts[at + 2],
            parts[at + 4]
        )),
        _ => None,
    }
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

/// The handlers (by index) one notification runs, as Ansible's
/// `search_handlers_by_notification` picks them: one handler by name (the first of the
/// play's own that has it, else the first of the last role that has one), then every
/// handler that listens to it, one per name.
fn answering(handlers: &[&Task], notification: &str) -> Vec<usize> {
    let by_name: Vec<usize> = (0..handlers.len())
        .filter(|&i| {
            let handler = handlers[i];
            handler.name.as_deref() == Some(notification) || handler.display_name() == notification
        })
        .collect();
    let role_of = |i: usize| handlers[i].role.as_ref().map(|role| role.path.clone());
    let own = by_name.iter().copied().find(|&i| role_of(i).is_none());
    let chosen = own.or_else(|| {
        let last_role = by_name.iter().rev().find_map(|&i| role_of(i))?;
        by_name
            .iter()
            .copied()
            .find(|&i| role_of(i).as_ref() == Some(&last_role))
    });
    let mut picked: Vec<usize> = chosen.into_iter().collect();
    let mut seen: Vec<&str> = Vec::new();
    for (i, handler) in handlers.iter().enumerate() {
        if !listens_to(handler, notification) {
            continue;
        }
        if let Some(name) = handler.name.as_deref() {
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
        }
        if !picked.contains(&i) {
            picked.push(i);
        }
    }
    picked
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
