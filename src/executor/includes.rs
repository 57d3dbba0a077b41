//! `include_tasks` and `include_role`: the file or role chosen per host at run time,
//! loaded and run on the hosts that chose it.

use super::looping::insert_loop_vars;
use super::play::{ListKind, PlayRun};
use super::task::skipped_result;
use super::vars::task_vars;
use super::{HostState, Runner};
use crate::modules::Outcome;
use crate::output::{HostResult, Status};
use crate::playbook::{Action, LoadContext, RoleFrom, Task, loader};
use crate::template::Vars;
use serde_json::{Map, Value as Json};
use std::path::Path;
use std::sync::Arc;

/// What an include brings in for some hosts: the file (or role) its name rendered to,
/// with the loop variables of the item that chose it. Hosts and items choosing the same
/// with the same loop variables share one, as Ansible's `IncludedFile` groups them.
struct Inclusion {
    target: String,
    loop_vars: Map<String, Json>,
    label: Option<String>,
    hosts: Vec<String>,
}

/// Which of the two includes runs.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum IncludeKind<'a> {
    /// `include_tasks`: a task file.
    Tasks,
    /// `include_role`, with its `tasks_from` and `handlers_from`.
    Role(RoleFrom<'a>),
}

impl Inclusion {
    /// What `host` chose.
    fn of(
        host: &HostState,
        target: String,
        loop_vars: Map<String, Json>,
        label: Option<String>,
    ) -> Inclusion {
        Inclusion {
            target,
            loop_vars,
            label,
            hosts: vec![host.name.clone()],
        }
    }

    /// Whether `other` includes the same thing with the same loop variables.
    fn includes_as(&self, other: &Inclusion) -> bool {
        self.target == other.target && self.loop_vars == other.loop_vars
    }
}

impl Runner {
    /// `include_tasks` and `include_role`: per host (and loop item) `when:` checked and
    /// the name rendered, then each inclusion loaded and run on the hosts that chose it.
    pub(super) async fn run_include(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        name: &str,
        include: IncludeKind<'_>,
        hosts: &mut [HostState],
        kind: ListKind,
    ) {
        if !self.options.tags.allows(&self.task_tags(run, task, hosts))
            || !self.step_allows(task, kind == ListKind::Handlers)
        {
            return;
        }
        self.announce(run, task, kind == ListKind::Handlers);
        let resolve = |target: String| match include {
            IncludeKind::Tasks => {
                // In a role, a name is the role's tasks/ file first (a handler's
                // include too), as Ansible's IncludedFile resolves it.
                let in_role = task
                    .role
                    .as_ref()
                    .map(|r| r.path.join("tasks").join(&target));
                let path = match in_role.filter(|p| p.exists()) {
                    Some(path) => path,
                    None => loader::resolve_tasks_path(&task.span.dir(), &run.play.dir, &target),
                };
                let path = std::fs::canonicalize(&path).unwrap_or(path);
                path.display().to_string()
            }
            IncludeKind::Role(_) => target,
        };
        let inclusions = self.inclusions(run, task, name, &resolve, hosts);
        // Every inclusion is loaded before any runs: one that cannot be loaded fails
        // its hosts instead of being reported included, as Ansible's linear strategy
        // loads the included files first.
        let mut loaded = Vec::new();
        let mut any_failed = false;
        for inclusion in inclusions {
            match self.load_inclusion(run, task, include, &inclusion) {
                Ok(tasks) => {
                    let label = inclusion.label.as_deref();
                    self.reporter
                        .included(&inclusion.target, &inclusion.hosts, label);
                    for host in &inclusion.hosts {
                        self.count(host, |s| s.ok += 1);
                    }
                    // An inclusion is a task of its role that ran (Ansible's role_ran).
                    if let Some(role) = task.dedup_role() {
                        for host in hosts
                            .iter_mut()
                            .filter(|h| inclusion.hosts.contains(&h.name))
                        {
                            host.roles_ran.insert(role.clone());
                        }
                    }
                    loaded.push((inclusion, tasks));
                }
                Err(err) => {
                    any_failed = true;
                    for host in hosts
                        .iter_mut()
                        .filter(|h| inclusion.hosts.contains(&h.name))
                    {
                        self.report_failure(host, &err.to_string());
                    }
                }
            }
        }
        self.fail_all_if_fatal(task, hosts, any_failed);
        for (inclusion, tasks) in loaded {
            self.run_subset(run, &tasks, hosts, &inclusion.hosts, kind)
                .await;
        }
    }

    /// The tasks one inclusion brings in: its file's, or its role's.
    fn load_inclusion(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        include: IncludeKind<'_>,
        inclusion: &Inclusion,
    ) -> Result<Vec<Task>, crate::source::SourceError> {
        let mut ctx = self.include_context(run, task);
        ctx.inherited.vars.extend(inclusion.loop_vars.clone());
        if let Action::IncludeTasks {
            apply: Some(apply), ..
        }
        | Action::IncludeRole {
            apply: Some(apply), ..
        } = &task.action
        {
            let inherited = &mut ctx.inherited;
            inherited.when.extend(apply.when.iter().cloned());
            inherited.tags.extend(apply.tags.iter().cloned());
            inherited.vars.extend(apply.vars.clone());
            inherited.options = inherited.options.overlay(&apply.options);
            inherited.notify.extend(apply.notify.iter().cloned());
        }
        match include {
            IncludeKind::Tasks => self
                .loader
                .load_tasks_file(Path::new(&inclusion.target), &ctx),
            IncludeKind::Role(from) => {
                let mut params = task.vars.clone();
                params.extend(inclusion.loop_vars.clone());
                let allow_duplicates = match &task.action {
                    Action::IncludeRole {
                        allow_duplicates, ..
                    } => *allow_duplicates,
                    _ => true,
                };
                let tasks = self.loader.load_role(
                    &inclusion.target,
                    params,
                    from,
                    &task.span,
                    &ctx,
                    crate::playbook::RoleUse::Include { allow_duplicates },
                )?;
                let handlers = std::mem::take(
                    &mut *ctx
                        .handlers
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner),
                );
                run.add_handlers(handlers);
                Ok(tasks)
            }
        }
    }

    /// The inclusions an include task makes on the active hosts; skips and failures
    /// (a broken `when:`, loop or name) are reported here, per host.
    fn inclusions(
        &self,
        run: &PlayRun<'_>,
        task: &Task,
        name: &str,
        resolve: &dyn Fn(String) -> String,
        hosts: &mut [HostState],
    ) -> Vec<Inclusion> {
        let scope = self.scope(run, hosts);
        let mut inclusions: Vec<Inclusion> = Vec::new();
        for host in hosts.iter_mut().filter(|h| h.active()) {
            let vars = task_vars(self, &scope, host, Some(task), &[]);
            match self.chosen(task, name, host, &vars) {
                Ok(chosen) if chosen.is_empty() => {
                    let result = skipped_result("Conditional result was False");
                    self.report_include_skip(host, &result, None);
                    self.count(&host.name, |s| s.skipped += 1);
                }
                Ok(chosen) => {
                    for mut choice in chosen {
                        choice.target = resolve(choice.target);
                        match inclusions.iter_mut().find(|i| i.includes_as(&choice)) {
                            Some(inclusion) => inclusion.hosts.append(&mut choice.hosts),
                            None => inclusions.push(choice),
                        }
                    }
                }
                Err(message) => {
                    let ignored = self.ignores_errors(task, &vars);
                    self.report_task_failure(host, &format!("{}: {message}", task.span), ignored);
                }
            }
        }
        inclusions
    }

    /// What one host includes: the rendered name with the loop variables and label of
    /// each item whose `when:` holds (one entry without a loop); items skipped are
    /// reported as they go.
    fn chosen(
        &self,
        task: &Task,
        name: &str,
        host: &HostState,
        vars: &Arc<Vars>,
    ) -> Result<Vec<Inclusion>, String> {
        let render = |scope: &Arc<Vars>| {
            self.templar
                .render_str(name, scope)
                .map_err(|err| err.message)
        };
        let Some(spec) = &task.loop_ else {
            if !self.conditions_hold(task, vars)? {
                return Ok(Vec::new());
            }
            return Ok(vec![Inclusion::of(host, render(vars)?, Map::new(), None)]);
        };
        let Some(items) = self.loop_items(&spec.items, spec.kind, vars, task)? else {
            return Ok(Vec::new());
        };
        let control = self.loop_control(task, vars)?;
        let mut chosen = Vec::new();
        for index in 0..items.len() {
            let scope = self.item_scope(&control, vars, &items, index);
            let mut loop_vars = Map::new();
            insert_loop_vars(&mut loop_vars, &control, &items, index);
            let label = self.item_label(task, &control, &items[index], &scope, &Outcome::new())?;
            match self.false_condition(task, &scope)? {
                None => chosen.push(Inclusion::of(host, render(&scope)?, loop_vars, Some(label))),
                Some(condition) => {
                    let mut result = super::task::condition_skipped(condition);
                    result.extend(loop_vars);
                    self.report_include_skip(host, &result, Some(label));
                }
            }
        }
        Ok(chosen)
    }

    /// Prints that an include was skipped on a host (or for one of its items).
    fn report_include_skip(&self, host: &HostState, result: &Outcome, item: Option<String>) {
        self.reporter.result(&HostResult {
            host: &host.name,
            action: "",
            delegated_to: None,
            status: Status::Skipped,
            ignored: false,
            item,
            result,
            is_loop_summary: false,
        });
    }

    pub(super) fn include_context(&self, run: &PlayRun<'_>, task: &Task) -> LoadContext {
        LoadContext {
            dir: task.span.dir(),
            playbook_dir: run.play.dir.clone(),
            role: task.role.clone(),
            inherited: crate::playbook::loader::Inherited {
                when: Vec::new(),
                tags: task.tags[..task.inherited_tags.min(task.tags.len())].to_vec(),
                vars: task.vars.clone(),
                options: task.options.clone(),
                notify: task.notify.clone(),
            },
            handlers: Arc::new(std::sync::Mutex::new(Vec::new())),
            depth: 0,
            loading_dependency: false,
            role_entry_keywords: String::new(),
            loading_handlers: false,
            in_handler_block: false,
        }
    }

    /// Runs `tasks` only on the hosts named in `names`.
    pub(super) async fn run_subset(
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
}
