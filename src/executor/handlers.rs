//! Handlers: run when flushed, in the order they are defined, on the hosts that
//! notified them; a handler may include tasks or a role, or be a block.

use super::play::{ListKind, PlayRun};
use super::{HostState, Runner};
use crate::playbook::{Action, Play, Task};
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
        let named = self.named_handlers(run.play, &all, false);
        let handlers: Vec<&Task> = named.iter().collect();
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

impl Runner {
    /// The handlers of `list` (blocks opened), their templated names rendered with the
    /// play's variables, as Ansible renders them when it looks a notification up. A
    /// name that cannot be rendered leaves the handler without one (reachable through
    /// `listen` only, which is never templated), with Ansible's warning when it has no
    /// topic either and `warn` (a notification is being looked up).
    pub(super) fn named_handlers(&self, play: &Play, list: &[Task], warn: bool) -> Vec<Task> {
        let vars = self.play_keyword_vars(play);
        handler_tasks(list)
            .into_iter()
            .map(|handler| {
                let mut named = handler.clone();
                named.name = handler.name.as_ref().and_then(|name| {
                    match self.templar.render_str(name, &vars) {
                        Ok(rendered) => Some(rendered),
                        Err(err) => {
                            if warn && handler.listen.is_empty() {
                                self.reporter.warning(&format!(
                                    "Handler '{name}' is unusable because it has no listen topics and the name could not be templated (host-specific variables are not supported in handler names). The error: {}",
                                    err.message
                                ));
                            }
                            None
                        }
                    }
                });
                named
            })
            .collect()
    }
}

/// Whether some handler of `handlers` (named by [`Runner::named_handlers`]) answers to
/// `name`.
pub(super) fn is_handled(handlers: &[Task], name: &str) -> bool {
    handlers.iter().any(|handler| {
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
    let mut names = Vec::new();
    if let Some(name) = &handler.name {
        names.push(handler.display_name());
        names.push(name.clone());
    }
    names.extend(handler.listen.iter().cloned());
    names
}

/// The handlers (by index) one notification runs, as Ansible's
/// `search_handlers_by_notification` picks them: one handler by name (the first of the
/// last role or play section that has one), then every handler that listens to it, one
/// per name.
fn answering(handlers: &[&Task], notification: &str) -> Vec<usize> {
    let by_name: Vec<usize> = (0..handlers.len())
        .filter(|&i| {
            // A handler without a name answers only its topics, as in Ansible.
            let handler = handlers[i];
            handler.name.as_deref() == Some(notification)
                || (handler.name.is_some() && handler.display_name() == notification)
        })
        .collect();
    // Ansible searches its handler blocks last first (a role's handlers, the play's
    // own, an included role's, in that order here) and each block first to last.
    let block_of = |i: usize| handlers[i].role.as_ref().map(|role| role.path.clone());
    let chosen = by_name.last().and_then(|&last| {
        by_name
            .iter()
            .copied()
            .find(|&i| block_of(i) == block_of(last))
    });
    let mut picked: Vec<usize> = chosen.into_iter().collect();
    let mut seen: Vec<&str> = Vec::new();
    for i in search_order(handlers.len(), block_of) {
        let handler = handlers[i];
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

/// Handler indices in the order Ansible searches them: runs of handlers of the same
/// block (role, or the play's own section) last run first, each run first to last.
fn search_order<B: PartialEq>(len: usize, block_of: impl Fn(usize) -> B) -> Vec<usize> {
    let mut runs: Vec<Vec<usize>> = Vec::new();
    for i in 0..len {
        match runs.last_mut() {
            Some(run) if block_of(run[0]) == block_of(i) => run.push(i),
            _ => runs.push(vec![i]),
        }
    }
    runs.into_iter().rev().flatten().collect()
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
