//! The play loop (linear strategy): each task runs on every active host before the
//! next starts; blocks route failed hosts to `rescue:` and everyone to `always:`;
//! handlers run when flushed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use futures::StreamExt;
use futures::future::BoxFuture;
use serde_json::{Map, Value as Json};

use super::task::TaskEnd;
use super::vars::{HostVars, TaskScope, task_vars};
use super::{HostState, RunError, Runner};
use crate::playbook::{Action, LoadContext, Meta, ModuleRef, Play, Task, loader};

/// Where in the play the task list runs: decides the banner wording.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ListKind {
    Tasks,
    Handlers,
}

/// Per-play state shared by the task lists of one play.
struct PlayRun<'a> {
    play: &'a Play,
    play_hosts: Vec<String>,
    groups: Json,
    vars_files: HashMap<String, Map<String, Json>>,
    started: std::sync::atomic::AtomicBool,
    /// Set by `meta: end_play`: no later batch of the play runs.
    ended: std::sync::atomic::AtomicBool,
    /// Banners already printed (by task address), so `strategy: free` prints each once.
    announced: std::sync::Mutex<std::collections::HashSet<usize>>,
}

impl Runner {
    /// Runs one play on the hosts its pattern (and `--limit`) selects. A pattern that
    /// is not one (a bad regex, a subscript past the end) stops the run, as in Ansible.
    pub(super) async fn run_play(&self, play: &Play) -> Result<(), RunError> {
        let pattern = match self.render_plain(&play.hosts) {
            Ok(pattern) => pattern,
            Err(message) => return Err(RunError::Pattern(message)),
        };
        let mut selected = self.select(&pattern)?;
        if let Some(limit) = &self.options.limit {
            let allowed = self.select(limit)?;
            selected.retain(|h| allowed.contains(h));
        }
        let name = play.name.clone().unwrap_or_else(|| play.hosts.clone());
        if selected.is_empty() {
            self.reporter.warning(&format!(
                "Could not match supplied host pattern, ignoring: {pattern}"
            ));
            self.reporter.play_start(&name);
            self.reporter.no_hosts("skipping: no hosts matched");
            return Ok(());
        }
        self.reporter.play_start(&name);
        let batches = serial_batches(play.serial.as_ref(), selected.len());
        let mut start = 0;
        for size in batches {
            let batch = &selected[start..(start + size).min(selected.len())];
            start += size;
            let (failed, ended) = self.run_batch(play, &selected, batch).await;
            if let Some(err) = self.take_stop() {
                return Err(err);
            }
            let limit = play.max_fail_percentage.unwrap_or(100.0);
            let percent = 100.0 * failed as f64 / batch.len().max(1) as f64;
            if failed == batch.len() || (play.max_fail_percentage.is_some() && percent > limit) {
                break;
            }
            if ended || start >= selected.len() {
                break;
            }
        }
        Ok(())
    }

    /// The hosts `pattern` selects, or the error that stops the run.
    fn select(&self, pattern: &str) -> Result<Vec<String>, RunError> {
        self.inventory
            .select(pattern)
            .map_err(|err| RunError::Pattern(err.to_string()))
    }

    /// Runs one batch of a play; returns how many of its hosts failed, and whether
    /// `meta: end_play` ended the play.
    async fn run_batch(&self, play: &Play, selected: &[String], batch: &[String]) -> (usize, bool) {
        let mut hosts: Vec<HostState> = batch
            .iter()
            .map(|name| HostState::new(name, self.inventory.host_vars(name)))
            .collect();
        let groups = serde_json::to_value(self.inventory.groups()).unwrap_or(Json::Null);
        let mut run = PlayRun {
            play,
            play_hosts: selected.to_vec(),
            groups,
            vars_files: HashMap::new(),
            started: std::sync::atomic::AtomicBool::new(self.options.start_at_task.is_none()),
            ended: std::sync::atomic::AtomicBool::new(false),
            announced: std::sync::Mutex::new(std::collections::HashSet::new()),
        };
        if let Err(message) = self.load_vars_files(&mut run, &hosts) {
            for host in &mut hosts {
                self.report_failure(host, &message);
            }
            return (hosts.len(), false);
        }
        if play.gather_facts {
            self.gather_facts(&run, &mut hosts).await;
        }
        if play.strategy == "free" {
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
        let failed = hosts.iter().filter(|h| h.failed || h.unreachable).count();
        (failed, run.ended.load(std::sync::atomic::Ordering::Relaxed))
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
    fn announce(&self, run: &PlayRun<'_>, task: &Task, handler: bool) {
        if run.play.strategy == "free" {
            let first = run
                .announced
                .lock()
                .map(|mut seen| seen.insert(task as *const Task as usize))
                .unwrap_or(true);
            if !first {
                return;
            }
        }
        self.reporter.task_start(&task.display_name(), handler);
    }

    fn render_plain(&self, text: &str) -> Result<String, String> {
        let vars =
            crate::template::Vars::new(self.templar.clone(), self.options.extra_vars.clone());
        self.templar.render_str(text, &vars).map_err(|e| e.message)
    }

    fn report_failure(&self, host: &mut HostState, message: &str) {
        self.report_task_failure(host, message, false);
    }

    /// Reports a failure of a task the play loop runs itself (an include); when the
    /// task's `ignore_errors` holds it counts as ok and ignored, as Ansible counts it.
    fn report_task_failure(&self, host: &mut HostState, message: &str, ignored: bool) {
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
        self.count(&host.name, |s| match ignored {
            true => {
                s.ok += 1;
                s.ignored += 1;
            }
            false => s.failures += 1,
        });
    }

    /// Whether `task`'s `ignore_errors` holds with `vars`.
    fn ignores_errors(&self, task: &Task, vars: &Arc<crate::template::Vars>) -> bool {
        task.options
            .ignore_errors
            .as_ref()
            .is_some_and(|flag| self.flag(flag, vars))
    }

    /// Reads the play's `vars_files` for each host (paths may use host variables).
    fn load_vars_files(&self, run: &mut PlayRun<'_>, hosts: &[HostState]) -> Result<(), String> {
        if run.play.vars_files.is_empty() {
            return Ok(());
        }
        let hostvars = Arc::new(HostVars { hosts: Map::new() });
        for host in hosts {
            let scope = self.scope(run, hostvars.clone());
            let vars = task_vars(self, &scope, host, None, &[]);
            let mut loaded = Map::new();
            for (file, span) in &run.play.vars_files {
                let path = self
                    .templar
                    .render_str(file, &vars)
                    .map_err(|e| format!("{span}: {}", e.message))?;
                let full = run.play.dir.join(&path);
                let vars = loader::load_vars_file(&full).map_err(|e| e.to_string())?;
                loaded.extend(vars);
            }
            run.vars_files.insert(host.name.clone(), loaded);
        }
        Ok(())
    }

    fn scope<'a>(&self, run: &'a PlayRun<'a>, hostvars: Arc<HostVars>) -> TaskScope<'a> {
        TaskScope {
            play: run.play,
            play_hosts: &run.play_hosts,
            groups: &run.groups,
            hostvars,
            vars_files: &run.vars_files,
        }
    }

    fn hostvars(&self, hosts: &[HostState]) -> Arc<HostVars> {
        let mut all = Map::new();
        for host in hosts {
            all.insert(host.name.clone(), Json::Object(host.visible_vars()));
        }
        Arc::new(HostVars { hosts: all })
    }

    async fn gather_facts(&self, run: &PlayRun<'_>, hosts: &mut [HostState]) {
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
        self.reporter.task_start("Gathering Facts", false);
        self.run_on_hosts(run, &task, hosts).await;
    }

    /// Runs a task list on the hosts; boxed because blocks and includes recurse.
    fn run_list<'a>(
        &'a self,
        run: &'a PlayRun<'a>,
        tasks: &'a [Task],
        hosts: &'a mut [HostState],
        kind: ListKind,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            for task in tasks {
                if !hosts.iter().any(HostState::active) || self.is_stopped() {
                    return;
                }
                self.run_one(run, task, hosts, kind).await;
            }
        })
    }

    async fn run_one(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        match &task.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                self.run_block(run, block, rescue, always, hosts, kind)
                    .await;
            }
            Action::IncludeTasks { file } => self.run_include(run, task, file, hosts, kind).await,
            Action::IncludeRole { name, tasks_from } => {
                self.run_include_role(run, task, name, tasks_from.as_deref(), hosts, kind)
                    .await;
            }
            Action::Meta(meta) => self.run_meta(run, task, *meta, hosts).await,
            _ => {
                if !self.options.tags.allows(&task.tags) {
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
                self.announce(run, task, kind == ListKind::Handlers);
                self.run_on_hosts(run, task, hosts).await;
            }
        }
    }

    /// Runs a leaf task on every active host at once, at most `forks` at a time.
    async fn run_on_hosts(&self, run: &PlayRun<'_>, task: &Task, hosts: &mut [HostState]) {
        let hostvars = self.hostvars(hosts);
        let scope = self.scope(run, hostvars);
        let run_once = task.options.run_once.as_ref().is_some_and(|flag| {
            hosts
                .iter()
                .find(|h| h.active())
                .is_some_and(|h| self.flag(flag, &task_vars(self, &scope, h, Some(task), &[])))
        });
        let forks = self.options.forks.max(1);
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
                host.host_vars.insert(name.clone(), value.clone());
            }
        }
        let fatal = task.options.any_errors_fatal.unwrap_or(false)
            && ends.iter().any(|(_, end, _)| *end == TaskEnd::Failed);
        if fatal {
            for host in hosts.iter_mut() {
                host.ended = true;
            }
        }
    }

    async fn run_block(
        &self,
        run: &PlayRun<'_>,
        block: &[Task],
        rescue: &[Task],
        always: &[Task],
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        let entered: Vec<bool> = hosts.iter().map(HostState::active).collect();
        self.run_list(run, block, hosts, kind).await;
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
            for (host, failed) in hosts.iter_mut().zip(&failed_here) {
                if others_paused.contains(&host.name) {
                    host.ended = false;
                }
                if *failed && host.active() {
                    self.count(&host.name, |s| {
                        s.rescued += 1;
                        s.failures = s.failures.saturating_sub(1);
                    });
                }
            }
        }
        if !always.is_empty() {
            let still_failed: Vec<bool> = hosts
                .iter()
                .zip(&entered)
                .map(|(h, was)| *was && h.failed)
                .collect();
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
            for (host, failed) in hosts.iter_mut().zip(&still_failed) {
                if *failed {
                    host.failed = true;
                }
                if skipped.contains(&host.name) {
                    host.ended = false;
                }
            }
        }
    }

    async fn run_include(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        file: &str,
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        if !self.options.tags.allows(&task.tags) {
            return;
        }
        let hostvars = self.hostvars(hosts);
        let scope = self.scope(run, hostvars);
        let mut by_file: Vec<(String, Vec<String>)> = Vec::new();
        for host in hosts.iter_mut().filter(|h| h.active()) {
            let vars = task_vars(self, &scope, host, Some(task), &[]);
            let rendered = self.conditions_hold(task, &vars).and_then(|holds| {
                holds
                    .then(|| self.templar.render_str(file, &vars))
                    .transpose()
                    .map_err(|err| format!("{}: {}", task.span, err.message))
            });
            match rendered {
                Ok(Some(path)) => match by_file.iter_mut().find(|(p, _)| *p == path) {
                    Some((_, names)) => names.push(host.name.clone()),
                    None => by_file.push((path, vec![host.name.clone()])),
                },
                Ok(None) => {}
                Err(message) => {
                    let ignored = self.ignores_errors(task, &vars);
                    self.report_task_failure(host, &message, ignored);
                }
            }
        }
        let base = task.span.dir();
        if !by_file.is_empty() {
            self.announce(run, task, kind == ListKind::Handlers);
        }
        for (file, names) in by_file {
            let path = loader::resolve_tasks_path(&base, &run.play.dir, &file);
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            self.reporter.included(&path.display().to_string(), &names);
            let ctx = self.include_context(run, task);
            let tasks = match self.loader.load_tasks_file(&path, &ctx) {
                Ok(tasks) => tasks,
                Err(err) => {
                    for host in hosts.iter_mut().filter(|h| names.contains(&h.name)) {
                        self.report_failure(host, &err.to_string());
                    }
                    continue;
                }
            };
            self.run_subset(run, &tasks, hosts, &names, kind).await;
        }
    }

    async fn run_include_role(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        name: &str,
        tasks_from: Option<&str>,
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        let hostvars = self.hostvars(hosts);
        let scope = self.scope(run, hostvars);
        let mut names = Vec::new();
        let mut role_name = name.to_string();
        for host in hosts.iter_mut().filter(|h| h.active()) {
            let vars = task_vars(self, &scope, host, Some(task), &[]);
            let rendered = self.conditions_hold(task, &vars).and_then(|holds| {
                holds
                    .then(|| self.templar.render_str(name, &vars))
                    .transpose()
                    .map_err(|err| format!("include_role: {}", err.message))
            });
            match rendered {
                Ok(Some(rendered)) => {
                    role_name = rendered;
                    names.push(host.name.clone());
                }
                Ok(None) => {}
                Err(message) => {
                    let ignored = self.ignores_errors(task, &vars);
                    self.report_task_failure(host, &message, ignored);
                }
            }
        }
        if names.is_empty() {
            return;
        }
        let ctx = self.include_context(run, task);
        match self.loader.load_role(
            &role_name,
            task.vars.clone(),
            tasks_from,
            &task.span,
            &ctx,
            true,
        ) {
            Ok(blocks) => self.run_subset(run, &blocks, hosts, &names, kind).await,
            Err(err) => {
                for host in hosts.iter_mut().filter(|h| names.contains(&h.name)) {
                    self.report_failure(host, &err.to_string());
                }
            }
        }
    }

    fn include_context(&self, run: &PlayRun<'_>, task: &Task) -> LoadContext {
        LoadContext {
            dir: task.span.dir(),
            playbook_dir: run.play.dir.clone(),
            role: task.role.clone(),
            inherited: crate::playbook::loader::Inherited {
                when: Vec::new(),
                tags: task.tags.clone(),
                vars: task.vars.clone(),
                options: task.options.clone(),
            },
            handlers: Arc::new(std::sync::Mutex::new(Vec::new())),
            depth: 0,
        }
    }

    /// Runs `tasks` only on the hosts named in `names`.
    async fn run_subset(
        &self,
        run: &PlayRun<'_>,
        tasks: &[Task],
        hosts: &mut [HostState],
        names: &[String],
        kind: ListKind,
    ) {
        let mut paused = Vec::new();
        for host in hosts.iter_mut() {
            if host.active() && !names.contains(&host.name) {
                host.ended = true;
                paused.push(host.name.clone());
            }
        }
        self.run_list(run, tasks, hosts, kind).await;
        for host in hosts.iter_mut() {
            if paused.contains(&host.name) {
                host.ended = false;
            }
        }
    }

    /// Runs a `meta:` action. Its `when` is evaluated per active host (a broken
    /// condition stops the run, as in Ansible); actions on the whole play or batch follow the
    /// first active host's answer, as Ansible's linear strategy runs them once.
    async fn run_meta(&self, run: &PlayRun<'_>, task: &Task, meta: Meta, hosts: &mut [HostState]) {
        let conditional = !matches!(
            meta,
            Meta::Noop | Meta::RefreshInventory | Meta::ResetConnection
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
            Meta::Noop | Meta::RefreshInventory => {}
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
            Meta::ClearHostErrors if first_holds => {
                for host in hosts.iter_mut() {
                    host.failed = false;
                }
            }
            Meta::ClearFacts if first_holds => {
                for host in hosts.iter_mut() {
                    host.facts.clear();
                }
            }
            Meta::ResetConnection => {
                let mut cache = self.connections.lock().await;
                for host in hosts.iter_mut() {
                    host.connection = None;
                    if let Some(conn) = cache.remove(&host.name) {
                        conn.close().await;
                    }
                }
            }
            Meta::EndPlay | Meta::EndBatch | Meta::ClearHostErrors | Meta::ClearFacts => {}
        }
    }

    /// The active hosts for which every `when` of `task` holds, or the first
    /// condition that cannot be evaluated.
    fn hosts_where_when_holds(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        hosts: &[HostState],
    ) -> Result<Vec<String>, String> {
        let hostvars = self.hostvars(hosts);
        let scope = self.scope(run, hostvars);
        let mut holds = Vec::new();
        for host in hosts.iter().filter(|h| h.active()) {
            let vars = task_vars(self, &scope, host, Some(task), &[]);
            if self.conditions_hold(task, &vars)? {
                holds.push(host.name.clone());
            }
        }
        Ok(holds)
    }

    /// Runs notified handlers in the order they are defined, on the hosts that
    /// notified them.
    async fn flush_handlers(&self, run: &PlayRun<'_>, hosts: &mut [HostState]) {
        for handler in &run.play.handlers {
            let mut names = vec![handler.display_name()];
            if let Some(name) = &handler.name {
                names.push(name.clone());
            }
            names.extend(handler.listen.iter().cloned());
            let notified: Vec<String> = hosts
                .iter()
                .filter(|h| {
                    (h.active() || (run.play.force_handlers && !h.unreachable))
                        && h.notified.iter().any(|n| names.contains(n))
                })
                .map(|h| h.name.clone())
                .collect();
            if notified.is_empty() {
                continue;
            }
            for host in hosts.iter_mut() {
                host.notified.retain(|n| !names.contains(n));
            }
            let mut paused = Vec::new();
            for host in hosts.iter_mut() {
                if host.active() && !notified.contains(&host.name) {
                    host.ended = true;
                    paused.push(host.name.clone());
                }
            }
            self.announce(run, handler, true);
            self.run_on_hosts(run, handler, hosts).await;
            for host in hosts.iter_mut() {
                if paused.contains(&host.name) {
                    host.ended = false;
                }
            }
        }
    }
}

/// Reads the variables of `include_vars`: one file, or every YAML file of a directory;
/// the flag says whether any file was vault-encrypted (its result is then censored,
/// as Ansible does).
pub fn load_include_vars(
    path: &str,
    dir: bool,
    task: &Task,
) -> Result<(Map<String, Json>, bool), String> {
    let base = task
        .role
        .as_ref()
        .map_or_else(|| task.span.dir(), |r| r.path.join("vars"));
    let mut full = base.join(path);
    if !full.exists() {
        full = task.span.dir().join(path);
    }
    let mut vars = Map::new();
    if dir {
        let mut files: Vec<_> = std::fs::read_dir(&full)
            .map_err(|err| format!("cannot read {}: {err}", full.display()))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yml" | "yaml" | "json")
                )
            })
            .collect();
        files.sort();
        for file in &files {
            vars.extend(loader::load_vars_file(file).map_err(|e| e.to_string())?);
        }
        Ok((vars, files.iter().any(|f| is_vault_file(f))))
    } else {
        if !Path::new(&full).exists() {
            return Err(format!("Could not find or access '{path}'"));
        }
        let vars = loader::load_vars_file(&full).map_err(|e| e.to_string())?;
        Ok((vars, is_vault_file(&full)))
    }
}

/// Whether `path` starts with the vault header.
fn is_vault_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 14];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| crate::vault::is_encrypted(&head))
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
