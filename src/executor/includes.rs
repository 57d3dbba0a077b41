//! `include_tasks` and `include_role`: the file or role chosen per host at run time,
//! loaded and run on the hosts that chose it; `include_vars` files read.

use super::play::{ListKind, PlayRun};
use super::vars::task_vars;
use super::{HostState, Runner};
use crate::playbook::{LoadContext, Task, loader};
use serde_json::{Map, Value as Json};
use std::path::Path;
use std::sync::Arc;

impl Runner {
    pub(super) async fn run_include(
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

    pub(super) async fn run_include_role(
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

    pub(super) fn include_context(&self, run: &PlayRun<'_>, task: &Task) -> LoadContext {
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
