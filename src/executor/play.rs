//! The play loop: the hosts a play selects, its batches (`serial`), `vars_files`,
//! facts, and its sections (pre_tasks, roles, tasks, post_tasks) with handlers flushed
//! after each. Task lists run in `blocks.rs`.

use std::collections::HashMap;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value as Json};

use super::vars::{HostVars, TaskScope, task_vars};
use super::{HostState, RunError, Runner};
use crate::output::{PlayStart, TaskStart};
use crate::playbook::{Action, ModuleRef, Play, Task, loader};

/// Where in the play the task list runs: decides the banner wording.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum ListKind {
    Tasks,
    Handlers,
}

/// How a play moves its hosts through the tasks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Strategy {
    /// Every host finishes a task before any starts the next (`linear`, `debug`).
    Linear,
    /// Each host runs ahead on its own (`free`, and `host_pinned`, which differs from
    /// `free` only in how Ansible assigns worker processes).
    Free,
}

impl Strategy {
    /// The strategy Ansible calls `name`.
    fn named(name: &str) -> Option<Strategy> {
        match crate::fqcn::short_name(name) {
            "linear" | "debug" => Some(Strategy::Linear),
            "free" | "host_pinned" => Some(Strategy::Free),
            _ => None,
        }
    }
}

/// Per-play state shared by the task lists of one play.
pub(super) struct PlayRun<'a> {
    pub(super) play: &'a Play,
    pub(super) strategy: Strategy,
    pub(super) play_hosts: Vec<String>,
    pub(super) vars_files: HashMap<String, Map<String, Json>>,
    pub(super) started: std::sync::atomic::AtomicBool,
    /// Set by `meta: end_play`: no later batch of the play runs.
    pub(super) ended: std::sync::atomic::AtomicBool,
    /// Banners already printed (by task address), so `strategy: free` prints each once.
    pub(super) announced: std::sync::Mutex<std::collections::HashSet<usize>>,
    /// The play's role names, for the magic variables.
    pub(super) role_names: super::role_names::RoleNames,
    /// Under `strategy: free`, how many hosts may still start each throttled task (by
    /// task address), shared by the hosts that run on their own.
    pub(super) throttles: std::sync::Mutex<HashMap<usize, Arc<tokio::sync::Semaphore>>>,
    /// Handlers of roles `include_role` brought in, after the play's own.
    pub(super) included_handlers: std::sync::Mutex<Vec<crate::playbook::Task>>,
}

impl PlayRun<'_> {
    /// Every handler of the play: its own, then those of included roles.
    pub(super) fn handlers(&self) -> Vec<crate::playbook::Task> {
        let mut handlers = self.play.handlers.clone();
        handlers.extend(
            self.included_handlers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned(),
        );
        handlers
    }

    /// A place among the `limit` hosts running `task` at once under `strategy: free`
    /// (each host runs the task on its own there); `None` under the other strategies,
    /// whose task runs on its hosts together.
    pub(super) async fn throttle_place(
        &self,
        task: &crate::playbook::Task,
        limit: usize,
    ) -> Option<tokio::sync::OwnedSemaphorePermit> {
        if self.strategy != Strategy::Free {
            return None;
        }
        let places = self
            .throttles
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(task as *const crate::playbook::Task as usize)
            .or_insert_with(|| Arc::new(tokio::sync::Semaphore::new(limit)))
            .clone();
        places.acquire_owned().await.ok()
    }

    /// Adds an included role's handlers; one already added (the same role included
    /// again, for other hosts) is not added twice.
    pub(super) fn add_handlers(&self, handlers: Vec<crate::playbook::Task>) {
        let mut known = self
            .included_handlers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for handler in handlers {
            let same = |other: &crate::playbook::Task| {
                other.span.file.path == handler.span.file.path
                    && other.span.offset == handler.span.offset
            };
            if !known.iter().any(same) {
                known.push(handler);
            }
        }
    }
}

impl Runner {
    /// Runs one play on the hosts its pattern (and `--limit`) selects; `Ok(false)` when
    /// every host of a batch failed (or too many, past `max_fail_percentage`), which
    /// ends the playbook as in Ansible. A pattern that is not one (a bad regex, a
    /// subscript past the end) stops the run.
    pub(super) async fn run_play(&self, play: &Play) -> Result<bool, RunError> {
        let pattern = match self.host_pattern(play) {
            Ok(pattern) => pattern,
            Err(message) => return Err(RunError::Pattern(message)),
        };
        let mut selected = self.select(&pattern)?;
        if let Some(limit) = &self.options.limit {
            let allowed = self.select(limit)?;
            selected.retain(|h| allowed.contains(h));
        }
        let name = play
            .title(&self.templar, &self.options.extra_vars)
            .map_err(|err| RunError::PlayName(err.message))?;
        if selected.is_empty() {
            if pattern != "all" && !self.inventory().groups().contains_key(&pattern) {
                self.reporter.warning(&format!(
                    "Could not match supplied host pattern, ignoring: {pattern}"
                ));
            }
            self.reporter.play_start(&PlayStart {
                name: &name,
                span: &play.span,
            });
            self.reporter.no_hosts("skipping: no hosts matched");
            return Ok(true);
        }
        self.check_vars_files(play)?;
        let prompted = self.with_prompted_vars(play).map_err(RunError::Prompt)?;
        let play = prompted.as_ref().unwrap_or(play);
        self.reporter.play_start(&PlayStart {
            name: &name,
            span: &play.span,
        });
        let strategy = self.strategy(play)?;
        let batches = serial_batches(play.serial.as_ref(), selected.len());
        let mut start = 0;
        for size in batches {
            let batch = &selected[start..(start + size).min(selected.len())];
            start += size;
            let (failed, ended) = self.run_batch(play, strategy, &selected, batch).await;
            if let Some(err) = self.take_stop() {
                return Err(err);
            }
            let limit = play.max_fail_percentage.unwrap_or(100.0);
            let percent = 100.0 * failed as f64 / batch.len().max(1) as f64;
            if failed == batch.len() || (play.max_fail_percentage.is_some() && percent > limit) {
                return Ok(false);
            }
            if ended || start >= selected.len() {
                break;
            }
        }
        Ok(true)
    }

    /// The hosts `pattern` selects, or the error that stops the run.
    fn select(&self, pattern: &str) -> Result<Vec<String>, RunError> {
        self.inventory()
            .select(pattern)
            .map_err(|err| RunError::Pattern(err.to_string()))
    }

    /// Runs one batch of a play; returns how many of its hosts failed in it (hosts
    /// that failed before take no part), and whether `meta: end_play` ended the play.
    async fn run_batch(
        &self,
        play: &Play,
        strategy: Strategy,
        selected: &[String],
        batch: &[String],
    ) -> (usize, bool) {
        let mut hosts: Vec<HostState> = batch.iter().map(|name| self.host_state(name)).collect();
        let fallen_before = hosts.iter().filter(|h| h.fallen()).count();
        let mut run = PlayRun {
            play,
            strategy,
            play_hosts: selected.to_vec(),
            vars_files: HashMap::new(),
            started: std::sync::atomic::AtomicBool::new(self.options.start_at_task.is_none()),
            ended: std::sync::atomic::AtomicBool::new(false),
            announced: std::sync::Mutex::new(std::collections::HashSet::new()),
            role_names: super::role_names::RoleNames::of(play),
            included_handlers: std::sync::Mutex::new(Vec::new()),
            throttles: std::sync::Mutex::new(HashMap::new()),
        };
        if let Err(message) = self.load_vars_files(&mut run, &hosts) {
            for host in &mut hosts {
                self.report_failure(host, &message);
            }
            return (hosts.len(), false);
        }
        if !hosts.iter().any(HostState::active) {
            return (0, false);
        }
        let gathering = self.options.gathering;
        let gather = match (gathering, play.gather_facts) {
            (crate::config::Gathering::Explicit, wanted) => wanted == Some(true),
            (_, wanted) => wanted != Some(false),
        };
        if gather && gathering == crate::config::Gathering::Smart {
            // Only the hosts no earlier play gathered facts for, in their order.
            let order: Vec<String> = hosts.iter().map(|h| h.name.clone()).collect();
            let (known, mut unknown): (Vec<HostState>, Vec<HostState>) = std::mem::take(&mut hosts)
                .into_iter()
                .partition(|h| h.facts.contains_key("module_setup"));
            if !unknown.is_empty() {
                self.gather_facts(&run, &mut unknown).await;
            }
            hosts = known.into_iter().chain(unknown).collect();
            hosts.sort_by_key(|h| order.iter().position(|name| *name == h.name));
        } else if gather {
            self.gather_facts(&run, &mut hosts).await;
        }
        if strategy == Strategy::Free {
            let forks = self.options.forks.max(1);
            let run_ref = &run;
            let jobs: Vec<BoxFuture<'_, ()>> = hosts
                .chunks_mut(1)
                .map(|one| Box::pin(self.run_sections(run_ref, one)) as BoxFuture<'_, ()>)
                .collect();
            futures::stream::iter(jobs)
                .buffer_unordered(forks)
                .collect::<Vec<()>>()
                .await;
        } else {
            self.run_sections(&run, &mut hosts).await;
        }
        let failed = hosts
            .iter()
            .filter(|h| h.fallen())
            .count()
            .saturating_sub(fallen_before);
        self.remember(&hosts);
        (failed, run.ended.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// A host's state as earlier plays left it.
    fn host_state(&self, name: &str) -> HostState {
        let mut host = HostState::new(name, self.inventory().host_vars(name));
        if let Some(remembered) = super::host::recalled(&self.memory, name) {
            host.restore(remembered);
        }
        host
    }

    /// Keeps what the batch's hosts became for the plays after this one.
    fn remember(&self, hosts: &[HostState]) {
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for host in hosts {
            memory.insert(host.name.clone(), host.remember());
        }
    }

    /// pre_tasks, roles, tasks and post_tasks, with handlers flushed after each part.
    async fn run_sections(&self, run: &PlayRun<'_>, hosts: &mut [HostState]) {
        let play = run.play;
        self.run_list(run, &play.pre_tasks, hosts, ListKind::Tasks)
            .await;
        self.flush_handlers(run, hosts).await;
        self.run_list(run, &play.roles, hosts, ListKind::Tasks)
            .await;
        self.run_list(run, &play.tasks, hosts, ListKind::Tasks)
            .await;
        self.flush_handlers(run, hosts).await;
        self.run_list(run, &play.post_tasks, hosts, ListKind::Tasks)
            .await;
        self.flush_handlers(run, hosts).await;
    }

    /// Prints a task's banner, once per task under `strategy: free`.
    pub(super) fn announce(&self, run: &PlayRun<'_>, task: &Task, handler: bool) {
        if run.strategy == Strategy::Free {
            let first = run
                .announced
                .lock()
                .map(|mut seen| seen.insert(task as *const Task as usize))
                .unwrap_or(true);
            if !first {
                return;
            }
        }
        let action = task
            .action_written
            .clone()
            .unwrap_or_else(|| super::task::action_name(task));
        self.reporter.task_start(&TaskStart {
            name: &task.display_name(),
            handler,
            span: &task.span,
            action: &action,
        });
    }

    /// Whether `--step` lets `task` run (always, without `--step`).
    pub(super) fn step_allows(&self, task: &Task, handler: bool) -> bool {
        let kind = if handler { "HANDLER" } else { "TASK" };
        self.options
            .step
            .as_ref()
            .is_none_or(|step| step.take(&format!("{kind}: {}", task.display_name())))
    }

    /// What the play's own keywords are rendered with ([`Play::keyword_vars`]).
    pub(super) fn play_keyword_vars(&self, play: &Play) -> Arc<crate::template::Vars> {
        crate::template::Vars::new(
            self.templar.clone(),
            play.keyword_vars(&self.options.extra_vars),
        )
    }

    /// The play's `hosts`, rendered with the play's and the extra variables as Ansible
    /// renders it; a template giving a list names each of its patterns.
    fn host_pattern(&self, play: &Play) -> Result<String, String> {
        let vars = self.play_keyword_vars(play);
        let rendered = self
            .templar
            .render_value(&Json::String(play.hosts.clone()), &vars)
            .map_err(|e| e.message)?;
        let text = |value: &Json| match value {
            Json::String(text) => text.clone(),
            other => crate::template::pyfmt::py_str(&minijinja::Value::from_serialize(other)),
        };
        Ok(match &rendered {
            Json::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(","),
            other => text(other),
        })
    }

    /// The play's `strategy`, rendered with the play's and the extra variables as
    /// Ansible renders it; a name Ansible has no strategy for stops the run.
    fn strategy(&self, play: &Play) -> Result<Strategy, RunError> {
        let vars = self.play_keyword_vars(play);
        let name = self
            .templar
            .render_str(&play.strategy, &vars)
            .map_err(|err| RunError::Strategy(format!("{} ({})", play.strategy, err.message)))?;
        Strategy::named(&name).ok_or(RunError::Strategy(name))
    }

    /// Reads the `vars_files` whose paths need no host variable before the play
    /// starts, as Ansible does when it names the play: one that exists but does not
    /// parse stops the run.
    fn check_vars_files(&self, play: &Play) -> Result<(), RunError> {
        if play.vars_files.is_empty() {
            return Ok(());
        }
        let vars = self.play_keyword_vars(play);
        for (candidates, _) in &play.vars_files {
            let found = candidates
                .iter()
                .map_while(|file| self.templar.render_str(file, &vars).ok())
                .find_map(|path| loader::find_vars_file(&play.dir, &path));
            if let Some(found) = found {
                loader::load_vars_file(&found)?;
            }
        }
        Ok(())
    }

    /// Reads the play's `vars_files` for each host (paths may use host variables), as
    /// Ansible does: of a list entry the first file that exists, a missing file
    /// skipped, an entry naming an undefined variable skipped with a warning.
    fn load_vars_files(&self, run: &mut PlayRun<'_>, hosts: &[HostState]) -> Result<(), String> {
        if run.play.vars_files.is_empty() {
            return Ok(());
        }
        let mut warned = false;
        for host in hosts {
            let scope = self.scope(run, &[]);
            let vars = task_vars(self, &scope, host, None, &[]);
            let mut loaded = Map::new();
            'entries: for (candidates, span) in &run.play.vars_files {
                for file in candidates {
                    let path = match self.templar.render_str(file, &vars) {
                        Ok(path) => path,
                        Err(err) if err.undefined => {
                            if !std::mem::replace(&mut warned, true) {
                                self.reporter.warning(&format!(
                                    "skipping vars_files item due to an undefined variable\nOrigin: {span}"
                                ));
                            }
                            continue 'entries;
                        }
                        Err(err) => return Err(format!("{span}: {}", err.message)),
                    };
                    if let Some(found) = loader::find_vars_file(&run.play.dir, &path) {
                        loaded.extend(loader::load_vars_file(&found).map_err(|e| e.to_string())?);
                        continue 'entries;
                    }
                }
            }
            run.vars_files.insert(host.name.clone(), loaded);
        }
        Ok(())
    }

    /// What every host of `hosts` (the batch) shares for one task.
    pub(super) fn scope<'a>(&self, run: &'a PlayRun<'a>, hosts: &[HostState]) -> TaskScope<'a> {
        let standing = |host: &HostState| !host.failed && !host.unreachable;
        let batch: Vec<String> = hosts
            .iter()
            .filter(|h| standing(h))
            .map(|h| h.name.clone())
            .collect();
        let fallen = self.fallen_hosts();
        let play_hosts: Vec<&String> = run
            .play_hosts
            .iter()
            .filter(|name| match hosts.iter().find(|h| &h.name == *name) {
                Some(host) => standing(host),
                None => !fallen.contains(*name),
            })
            .collect();
        let batch = minijinja::Value::from_serialize(&batch);
        let host_lists = [
            (
                "groups",
                minijinja::Value::from_serialize(&*self.inventory().groups),
            ),
            ("play_hosts", batch.clone()),
            (
                "ansible_play_hosts",
                minijinja::Value::from_serialize(&play_hosts),
            ),
            (
                "ansible_play_hosts_all",
                minijinja::Value::from_serialize(&run.play_hosts),
            ),
            ("ansible_play_batch", batch),
        ];
        TaskScope {
            play: run.play,
            host_lists: host_lists
                .map(|(name, value)| (name.to_string(), value))
                .into(),
            hostvars: self.hostvars(hosts),
            vars_files: &run.vars_files,
            role_names: &run.role_names,
            included_handlers: &run.included_handlers,
        }
    }

    /// The hosts that failed or were unreachable in an earlier play or batch.
    fn fallen_hosts(&self) -> std::collections::HashSet<String> {
        let memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        memory
            .iter()
            .filter(|(_, r)| r.failed || r.unreachable)
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// `hostvars`: the batch's `hosts` as they stand, every other inventory host as
    /// earlier plays left it.
    pub(super) fn hostvars(&self, hosts: &[HostState]) -> Arc<HostVars> {
        let batch = hosts
            .iter()
            .map(|host| {
                let kept = (host.inventory_vars.clone(), host.remember());
                (host.name.clone(), kept)
            })
            .collect();
        Arc::new(HostVars {
            hosts: batch,
            inventory: self.inventory(),
            memory: self.memory.clone(),
            templar: self.templar.clone(),
        })
    }

    pub(super) async fn gather_facts(&self, run: &PlayRun<'_>, hosts: &mut [HostState]) {
        let span = run.play.span.clone();
        let mut task = Task::new(
            Action::Module {
                module: ModuleRef(crate::modules::setup_module()),
                args: indexmap::IndexMap::new(),
            },
            span,
        );
        task.name = Some("Gathering Facts".into());
        task.options = run.play.options.clone();
        if !self.step_allows(&task, false) {
            return;
        }
        self.reporter.task_start(&TaskStart {
            name: "Gathering Facts",
            handler: false,
            span: &task.span,
            action: "gather_facts",
        });
        self.run_on_hosts(run, &task, hosts).await;
    }
}

/// Batch sizes for `serial:` (a number, a percentage, or a list of them whose last
/// entry repeats), covering `total` hosts.
pub fn serial_batches(serial: Option<&Json>, total: usize) -> Vec<usize> {
    let size_of = |value: &Json| -> usize {
        let size = match value {
            Json::Number(n) => n.as_u64().unwrap_or(0) as usize,
            Json::String(s) => match s.trim().strip_suffix('%') {
                Some(percent) => {
                    let p: f64 = percent.trim().parse().unwrap_or(100.0);
                    (((total as f64) * p / 100.0).floor() as usize).max(1)
                }
                None => s.trim().parse().unwrap_or(0),
            },
            _ => 0,
        };
        if size == 0 { total.max(1) } else { size.max(1) }
    };
    let steps: Vec<usize> = match serial {
        None | Some(Json::Null) => return vec![total.max(1)],
        Some(Json::Array(items)) if !items.is_empty() => items.iter().map(size_of).collect(),
        Some(other) => vec![size_of(other)],
    };
    let mut batches = Vec::new();
    let mut covered = 0;
    let mut index = 0;
    while covered < total {
        let size = steps[index.min(steps.len() - 1)];
        batches.push(size);
        covered += size;
        index += 1;
    }
    if batches.is_empty() {
        batches.push(1);
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::serial_batches;
    use serde_json::json;

    #[test]
    fn serial_forms() {
        assert_eq!(serial_batches(None, 5), vec![5]);
        assert_eq!(serial_batches(Some(&json!(2)), 5), vec![2, 2, 2]);
        assert_eq!(serial_batches(Some(&json!("40%")), 5), vec![2, 2, 2]);
        assert_eq!(serial_batches(Some(&json!([1, "50%"])), 5), vec![1, 2, 2]);
        assert_eq!(
            serial_batches(Some(&json!("10%")), 3),
            vec![1, 1, 1],
            "a percentage is at least one host, as Ansible's pct_to_int"
        );
        assert_eq!(
            serial_batches(Some(&json!(0)), 3),
            vec![3],
            "serial: 0 means all hosts"
        );
    }
}
