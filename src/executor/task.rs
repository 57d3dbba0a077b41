//! One task on one host: conditions, loop, templated arguments, the module, and what
//! follows (`until`, `changed_when`, `failed_when`, `register`, `notify`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value as Json};

use super::vars::{OMIT, TaskScope, task_vars};
use super::{HostState, Runner, censor};
use crate::connection::{Become, BecomeSpec, Connection, ConnectionError, LocalConnection};
use crate::modules::prefetch::Prefetched;
use crate::modules::{self, Args, ModuleContext, ModuleError, Outcome, Target, VarLookup};
use crate::output::{HostResult, Status};
use crate::playbook::keyword::{self, Kind};
use crate::playbook::{Action, LoopControl, LoopKind, Task};
use crate::template::{TemplateError, Vars, truthy};

/// How a task ended on a host, after `ignore_errors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskEnd {
    /// Ran (or was skipped) without failing the host.
    Passed,
    /// Failed the host.
    Failed,
    /// The host could not be reached.
    Unreachable,
}

/// The `VarLookup` modules use: the task's variables through the engine.
struct LookupVars(Arc<Vars>);

impl VarLookup for LookupVars {
    fn eval(&self, expression: &str) -> Result<Option<Json>, String> {
        let value = self
            .0
            .templar()
            .eval_value(expression, &self.0)
            .map_err(|e| e.message)?;
        if value.is_undefined() {
            return Ok(None);
        }
        Ok(Some(crate::template::to_json(&value)))
    }

    fn find_file(&self, kind: &str, name: &str) -> Option<std::path::PathBuf> {
        let path = std::path::Path::new(name);
        if path.is_absolute() {
            return Some(path.to_path_buf());
        }
        let dir = |var: &str| {
            self.0
                .resolved(var)
                .ok()
                .flatten()
                .and_then(|v| v.as_str().map(std::path::PathBuf::from))
        };
        let mut candidates = Vec::new();
        if let Some(role) = dir("role_path") {
            candidates.push(role.join(kind).join(name));
            candidates.push(role.join(name));
        }
        if let Some(playbook) = dir("playbook_dir") {
            candidates.push(playbook.join(kind).join(name));
            candidates.push(playbook.join(name));
        }
        candidates.into_iter().find(|c| c.exists())
    }

    fn render(
        &self,
        text: &str,
        extra: Map<String, Json>,
        options: &crate::template::RenderOptions,
    ) -> Result<String, String> {
        let mut map = self.0.raw().clone();
        map.extend(extra);
        let scope = Vars::with_objects(self.0.templar().clone(), map, hostvars_object(&self.0));
        self.0
            .templar()
            .render_with(text, &scope, options)
            .map_err(|e| e.message)
    }
}

impl Runner {
    /// Runs `task` (a module, `set_fact` or `include_vars`) on `host`, reports the
    /// result and returns how it ended.
    pub(super) async fn run_task_on_host(
        &self,
        scope: &TaskScope<'_>,
        task: &Task,
        host: &mut HostState,
    ) -> TaskEnd {
        let vars = task_vars(self, scope, host, Some(task), &[]);
        let (delegated, evaluated) = match self.delegate_target(task, &vars) {
            Ok(delegated) => {
                let evaluated = self.evaluate(task, host, &vars, delegated.as_deref()).await;
                (delegated, evaluated)
            }
            Err(message) => (None, Err(message)),
        };
        // A loop's answers never outlive it, however it ended.
        host.prefetched = None;
        let (status, mut result) = match evaluated {
            Ok(pair) => pair,
            Err(message) => (Status::Failed, modules::failed(message)),
        };
        let notified = take_notifications(&mut result);
        let hidden =
            self.no_log(task, &vars) || result.get(censor::NO_LOG_KEY) == Some(&Json::Bool(true));
        let shown = censor::for_display(&result, hidden);
        let ignored = status == Status::Failed
            && task
                .options
                .ignore_errors
                .as_ref()
                .is_some_and(|v| self.flag(v, &vars));
        let unreachable_ignored =
            status == Status::Unreachable && task.options.ignore_unreachable.unwrap_or(false);
        if let Some(name) = &task.register {
            host.host_vars
                .insert(name.clone(), Json::Object(result.clone()));
        }
        let action = action_name(task);
        self.reporter.result(&HostResult {
            host: &host.name,
            action: &action,
            delegated_to: delegated.as_deref(),
            status,
            ignored,
            item: None,
            result: &shown,
            is_loop_summary: result.contains_key("results") && task.loop_.is_some(),
        });
        self.count(&host.name, |s| match status {
            Status::Ok => s.ok += 1,
            Status::Changed => {
                s.ok += 1;
                s.changed += 1;
            }
            Status::Skipped => s.skipped += 1,
            // An ignored failure counts as ok too (and as changed when it changed), as
            // Ansible's strategy counts it.
            Status::Failed if ignored => {
                s.ok += 1;
                s.ignored += 1;
                if result.get("changed").and_then(Json::as_bool) == Some(true) {
                    s.changed += 1;
                }
            }
            Status::Failed => s.failures += 1,
            Status::Unreachable if unreachable_ignored => {
                s.ok += 1;
                s.ignored += 1;
            }
            Status::Unreachable => s.unreachable += 1,
        });
        if status == Status::Changed {
            for name in notified {
                if !host.notified.contains(&name) {
                    host.notified.push(name);
                }
            }
        }
        match status {
            Status::Failed if !ignored => {
                host.host_vars
                    .insert("ansible_failed_result".into(), Json::Object(result));
                host.host_vars.insert(
                    "ansible_failed_task".into(),
                    serde_json::json!({"name": task.display_name(), "action": action_name(task)}),
                );
                TaskEnd::Failed
            }
            Status::Unreachable if !unreachable_ignored => {
                host.unreachable = true;
                TaskEnd::Unreachable
            }
            _ => TaskEnd::Passed,
        }
    }

    /// The become settings for `task`: the task's and play's keywords, then the host's
    /// `ansible_become*` variables, then `-b`/`--become-user`.
    /// A `become_user`/`become_method` that cannot be rendered fails the task.
    fn become_spec(&self, task: &Task, vars: &Arc<Vars>) -> Result<Option<BecomeSpec>, String> {
        let var = |names: &[&str]| -> Option<Json> {
            names.iter().find_map(|n| vars.resolved(n).ok().flatten())
        };
        let text = |value: Json| match value {
            Json::String(s) => s,
            other => other.to_string(),
        };
        let enabled = task
            .options
            .become_
            .or_else(|| var(&["ansible_become"]).and_then(|v| modules::args::parse_bool(&v)))
            .unwrap_or(self.options.become_);
        if !enabled {
            return Ok(None);
        }
        let render = |keyword: &str, value: &String| {
            self.templar
                .render_str(value, vars)
                .map_err(|err| located(&err, &task.span, &format!("keyword '{keyword}'")))
        };
        let user = task
            .options
            .become_user
            .as_ref()
            .map(|user| render("become_user", user))
            .transpose()?
            .or_else(|| var(&["ansible_become_user"]).map(text))
            .or_else(|| self.options.become_user.clone())
            .unwrap_or_else(|| "root".into());
        let method = task
            .options
            .become_method
            .as_ref()
            .map(|method| render("become_method", method))
            .transpose()?
            .or_else(|| var(&["ansible_become_method"]).map(text))
            .unwrap_or_else(|| "sudo".into());
        let password = var(&[
            "ansible_become_password",
            "ansible_become_pass",
            "ansible_sudo_pass",
        ])
        .map(text)
        .or_else(|| self.options.become_password.clone());
        Ok(Some(BecomeSpec {
            user,
            method,
            password,
        }))
    }

    /// `delegate_to:` rendered, if set; a value that cannot be rendered fails the task.
    fn delegate_target(&self, task: &Task, vars: &Arc<Vars>) -> Result<Option<String>, String> {
        let Some(target) = task.options.delegate_to.as_ref() else {
            return Ok(None);
        };
        self.templar
            .render_str(target, vars)
            .map(Some)
            .map_err(|err| located(&err, &task.span, "keyword 'delegate_to'"))
    }

    /// The handler names `task` notifies, rendered; a name that cannot be rendered
    /// fails the task.
    fn notified(&self, task: &Task, vars: &Arc<Vars>) -> Result<Vec<String>, String> {
        task.notify
            .iter()
            .map(|name| {
                self.templar
                    .render_str(name, vars)
                    .map_err(|err| located(&err, &task.span, "keyword 'notify'"))
            })
            .collect()
    }

    /// Whether `no_log` holds for `task` with `vars` (a loop item's, for its result). A
    /// value that cannot be rendered (`{{ item.secret }}` outside the loop) censors:
    /// a secret must not show because its guard failed.
    fn no_log(&self, task: &Task, vars: &Arc<Vars>) -> bool {
        task.options
            .no_log
            .as_ref()
            .is_some_and(|value| self.truth(value, vars).unwrap_or(true))
    }

    /// The typed keywords of `task` rendered and converted as Ansible does before it
    /// runs a task: a value of the wrong type fails the task, naming it.
    fn typed_keywords(&self, task: &Task, vars: &Arc<Vars>) -> Result<TypedKeywords, String> {
        let ignore_errors = task.options.ignore_errors.as_ref();
        self.keyword(task, "ignore_errors", Kind::Bool, ignore_errors, vars)?;
        self.keyword(
            task,
            "timeout",
            Kind::Int,
            task.options.timeout.as_ref(),
            vars,
        )?;
        let retries = self.keyword(task, "retries", Kind::Int, task.retries.as_ref(), vars)?;
        let delay = self.keyword(task, "delay", Kind::Float, task.delay.as_ref(), vars)?;
        Ok(TypedKeywords {
            retries: retries.as_ref().and_then(Json::as_i64),
            delay: delay.as_ref().and_then(Json::as_f64),
        })
    }

    /// One typed keyword's value rendered and converted, or the task's error.
    fn keyword(
        &self,
        task: &Task,
        name: &str,
        kind: Kind,
        value: Option<&Json>,
        vars: &Arc<Vars>,
    ) -> Result<Option<Json>, String> {
        let Some(value) = value else {
            return Ok(None);
        };
        let rendered = self
            .templar
            .render_value(value, vars)
            .map_err(|err| located(&err, &task.span, &format!("keyword '{name}'")))?;
        keyword::convert(name, kind, &rendered)
            .map(|converted| Some(converted).filter(|c| !c.is_null()))
            .map_err(|message| format!("{}: {message}", task.span))
    }

    /// Evaluates a boolean-ish keyword (`ignore_errors`, `no_log`, `run_once`).
    pub(super) fn flag(&self, value: &Json, vars: &Arc<Vars>) -> bool {
        self.truth(value, vars).unwrap_or(false)
    }

    /// A boolean-ish keyword's value rendered; `None` when it cannot be rendered.
    fn truth(&self, value: &Json, vars: &Arc<Vars>) -> Option<bool> {
        let rendered = self.templar.render_value(value, vars).ok()?;
        Some(modules::args::parse_bool(&rendered).unwrap_or_else(|| truthy(&rendered)))
    }

    /// `when`, loop and execution; returns the status and the result to register.
    async fn evaluate(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<(Status, Outcome), String> {
        let Some(spec) = &task.loop_ else {
            if !self.conditions_hold(task, vars)? {
                return Ok((
                    Status::Skipped,
                    skipped_result("Conditional result was False"),
                ));
            }
            let result = self.execute(task, host, vars, delegated).await;
            return Ok((status_of(&result), result));
        };
        let items = self.loop_items(&spec.items, spec.kind, vars, task)?;
        let control = &task.loop_control;
        let mut results = Vec::new();
        let action = action_name(task);
        // A host that cannot be reached for the loop's question is reported so by the
        // first item that runs, without a second attempt to connect.
        let mut unreachable = match self.prefetch(task, host, &items, vars, delegated).await {
            Ok(prefetched) => {
                host.prefetched = prefetched.map(Arc::new);
                None
            }
            Err(message) => Some(message),
        };
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 && control.pause > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(control.pause)).await;
            }
            let item_scope = self.item_scope(task, vars, &item, index);
            let label = match &control.label {
                Some(label) => self
                    .templar
                    .render_str(label, &item_scope)
                    .map_err(|e| e.message)?,
                None => crate::output::pyjson::dumps(&item, None)
                    .trim_matches('"')
                    .to_string(),
            };
            let mut result = if self.conditions_hold(task, &item_scope)? {
                match unreachable.take() {
                    Some(message) => unreachable_result(message),
                    None => self.execute(task, host, &item_scope, delegated).await,
                }
            } else {
                skipped_result("Conditional result was False")
            };
            insert_loop_vars(&mut result, control, &item, index);
            let no_log = self.no_log(task, &item_scope);
            result.insert(censor::NO_LOG_KEY.into(), Json::Bool(no_log));
            let status = status_of(&result);
            self.reporter.result(&HostResult {
                host: &host.name,
                action: &action,
                delegated_to: delegated,
                status,
                ignored: false,
                item: Some(if no_log {
                    censor::CENSORED_ITEM.into()
                } else {
                    label
                }),
                result: &censor::for_display(&result, no_log),
                is_loop_summary: false,
            });
            let unreachable = status == Status::Unreachable;
            results.push(Json::Object(result));
            if unreachable {
                break;
            }
        }
        let mut summary = Outcome::new();
        let any = |key: &str| {
            results
                .iter()
                .any(|r| r.get(key).and_then(Json::as_bool) == Some(true))
        };
        let all_skipped = !results.is_empty()
            && results
                .iter()
                .all(|r| r.get("skipped").and_then(Json::as_bool) == Some(true));
        summary.insert("changed".into(), Json::Bool(any("changed")));
        if any("failed") {
            summary.insert("failed".into(), Json::Bool(true));
            summary.insert(
                "msg".into(),
                Json::String("One or more items failed".into()),
            );
        } else {
            summary.insert("msg".into(), Json::String("All items completed".into()));
        }
        if all_skipped || results.is_empty() {
            summary.insert("skipped".into(), Json::Bool(true));
            if results.is_empty() {
                summary.insert(
                    "skipped_reason".into(),
                    Json::String("No items in the list".into()),
                );
            }
        }
        if any("unreachable") {
            summary.insert("unreachable".into(), Json::Bool(true));
        }
        summary.insert("results".into(), Json::Array(results));
        Ok((status_of(&summary), summary))
    }

    /// The variables of one loop item: the task's, plus the loop variables.
    fn item_scope(&self, task: &Task, vars: &Arc<Vars>, item: &Json, index: usize) -> Arc<Vars> {
        let mut item_vars = vars.raw().clone();
        insert_loop_vars(&mut item_vars, &task.loop_control, item, index);
        Vars::with_objects(self.templar.clone(), item_vars, hostvars_object(vars))
    }

    /// For a loop of a module that installs files at `dest` (copy, template): every
    /// item's destination asked for in one round trip, through the connection and
    /// become the items use. `None` when that does not apply or fails short of the
    /// host being unreachable (`Err`); the items then query for themselves.
    async fn prefetch(
        &self,
        task: &Task,
        host: &mut HostState,
        items: &[Json],
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Option<Prefetched>, String> {
        let Action::Module { module, args } = &task.action else {
            return Ok(None);
        };
        let Some(dest) = args.get("dest") else {
            return Ok(None);
        };
        if items.len() < 2 || !module.0.installs_at_dest() {
            return Ok(None);
        }
        // The items' destinations, and how each item would become another user: the
        // question is asked as the items would ask it, or not at all.
        let mut paths = Vec::new();
        let mut become_ = None;
        for (index, item) in items.iter().enumerate() {
            let scope = self.item_scope(task, vars, item, index);
            if let Ok(Json::String(path)) = self.templar.render_value(dest, &scope) {
                paths.push(path);
            }
            let Ok(spec) = self.become_spec(task, &scope) else {
                return Ok(None);
            };
            match &become_ {
                None => become_ = Some(spec),
                Some(first) if *first != spec => return Ok(None),
                Some(_) => {}
            }
        }
        let Ok(conn) = self.connection_for(host, vars, delegated).await else {
            return Ok(None);
        };
        let Ok(conn) = with_become(conn, become_.flatten()) else {
            return Ok(None);
        };
        match Prefetched::query(conn.as_ref(), &paths).await {
            Ok(prefetched) => Ok(Some(prefetched)),
            Err(ConnectionError::Unreachable(message)) => Err(message),
            Err(_) => Ok(None),
        }
    }

    /// Whether every `when:` condition holds.
    pub(super) fn conditions_hold(&self, task: &Task, vars: &Arc<Vars>) -> Result<bool, String> {
        for condition in &task.when {
            let holds = self
                .templar
                .condition(&condition.text, vars)
                .map_err(|err| located(&err, &condition.span, "conditional"))?;
            if !holds {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The items of a loop, prepared as the loop keyword says.
    fn loop_items(
        &self,
        raw: &Json,
        kind: LoopKind,
        vars: &Arc<Vars>,
        task: &Task,
    ) -> Result<Vec<Json>, String> {
        let rendered = self
            .templar
            .render_value(raw, vars)
            .map_err(|err| located(&err, &task.span, "loop"))?;
        let items = match (kind, rendered) {
            (LoopKind::Dict, Json::Object(map)) => map
                .into_iter()
                .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
                .collect(),
            (LoopKind::Items, Json::Array(items)) => items
                .into_iter()
                .flat_map(|item| match item {
                    Json::Array(inner) => inner,
                    other => vec![other],
                })
                .collect(),
            (LoopKind::Indexed, Json::Array(items)) => items
                .into_iter()
                .enumerate()
                .map(|(i, item)| serde_json::json!([i, item]))
                .collect(),
            (LoopKind::Lookup(name), _) => {
                return Err(format!(
                    "with_{name} is not supported by bosun yet; use loop: with a filter"
                ));
            }
            (_, Json::Array(items)) => items,
            (LoopKind::Items, Json::Null) => Vec::new(),
            (_, Json::String(s)) if kind == LoopKind::Items => vec![Json::String(s)],
            (_, other) => {
                return Err(format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup.",
                    crate::output::pyjson::dumps(&other, None)
                ));
            }
        };
        Ok(items)
    }

    /// Runs the action once (with `until` retries), then applies `changed_when` and
    /// `failed_when`.
    async fn execute(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Outcome {
        let notify = match self.notified(task, vars) {
            Ok(notify) => notify,
            Err(message) => return modules::failed(message),
        };
        let mut result = self.execute_until(task, host, vars, delegated).await;
        if !notify.is_empty() {
            result.insert(NOTIFY_KEY.into(), Json::from(notify));
        }
        result
    }

    /// Runs the action, retried as `until`/`retries`/`delay` say, with
    /// `changed_when`/`failed_when` applied.
    async fn execute_until(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Outcome {
        let keywords = match self.typed_keywords(task, vars) {
            Ok(keywords) => keywords,
            Err(message) => return modules::failed(message),
        };
        let retries = keywords.retries.unwrap_or(3).max(0);
        let delay = keywords.delay.unwrap_or(5.0);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut result = match self.execute_once(task, host, vars, delegated).await {
                Ok(result) => result,
                Err(message) => modules::failed(message),
            };
            if result.get("unreachable").and_then(Json::as_bool) == Some(true) {
                return result;
            }
            if let Err(message) = self.apply_result_conditions(task, &mut result, vars) {
                return modules::failed(message);
            }
            let Some(until) = &task.until else {
                return result;
            };
            result.insert("attempts".into(), Json::from(attempt));
            let done = match self.check_with_result(until, task, &result, vars) {
                Ok(done) => done,
                Err(message) => return modules::failed(message),
            };
            if done {
                result.remove("failed");
                return result;
            }
            if attempt > retries {
                result.insert("failed".into(), Json::Bool(true));
                return result;
            }
            tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
        }
    }

    /// `changed_when` and `failed_when`, evaluated with the result registered.
    fn apply_result_conditions(
        &self,
        task: &Task,
        result: &mut Outcome,
        vars: &Arc<Vars>,
    ) -> Result<(), String> {
        if result.get("skipped").and_then(Json::as_bool) == Some(true) {
            return Ok(());
        }
        if let Some(conditions) = &task.changed_when {
            let changed = self.check_with_result(conditions, task, result, vars)?;
            result.insert("changed".into(), Json::Bool(changed));
        }
        if let Some(conditions) = &task.failed_when {
            let failed = self.check_with_result(conditions, task, result, vars)?;
            result.insert("failed_when_result".into(), Json::Bool(failed));
            if failed {
                result.insert("failed".into(), Json::Bool(true));
            } else {
                result.remove("failed");
            }
        }
        Ok(())
    }

    /// Evaluates conditions that may refer to this task's result by its `register`
    /// name.
    fn check_with_result(
        &self,
        conditions: &[crate::playbook::Expr],
        task: &Task,
        result: &Outcome,
        vars: &Arc<Vars>,
    ) -> Result<bool, String> {
        let mut map = vars.raw().clone();
        if let Some(name) = &task.register {
            map.insert(name.clone(), Json::Object(result.clone()));
        }
        let scope = Vars::with_objects(self.templar.clone(), map, hostvars_object(vars));
        for condition in conditions {
            if !self
                .templar
                .condition(&condition.text, &scope)
                .map_err(|err| located(&err, &condition.span, "conditional"))?
            {
                return Ok(false);
            }
        }
        Ok(!conditions.is_empty())
    }

    /// Runs the task's action once.
    async fn execute_once(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Outcome, String> {
        match &task.action {
            Action::Module { args, .. } | Action::DropIn { args, .. } => {
                let name = action_name(task);
                let mut rendered = indexmap::IndexMap::new();
                for (key, value) in args {
                    let value = self
                        .templar
                        .render_value(value, vars)
                        .map_err(|err| located(&err, &task.span, &format!("argument '{key}'")))?;
                    if value.as_str() != Some(OMIT) {
                        rendered.insert(key.clone(), value);
                    }
                }
                let module = match &task.action {
                    Action::Module { module, .. } => Some(module.0),
                    _ => None,
                };
                let args = match module {
                    Some(module) => Args::parse(&module.all_params(), &rendered)?,
                    None => Args::default(),
                };
                let mode = |name: &str, value: Option<&Json>, default: bool| {
                    self.keyword(task, name, Kind::Bool, value, vars)
                        .map(|flag| flag.and_then(|f| f.as_bool()).unwrap_or(default))
                };
                let check_mode = mode(
                    "check_mode",
                    task.options.check_mode.as_ref(),
                    self.options.check,
                )?;
                let diff_mode = mode("diff", task.options.diff.as_ref(), self.options.diff)?;
                if check_mode && module.is_some_and(|m| !m.supports_check_mode()) {
                    let mut result = skipped_result(&format!(
                        "remote module ({name}) does not support check mode"
                    ));
                    result.insert("changed".into(), Json::Bool(false));
                    return Ok(result);
                }
                let env = self.environment(task, vars)?;
                let conn = self.connection_for(host, vars, delegated).await;
                // Opening only reads the host's variables (nothing is contacted
                // yet), so its errors are the task's, not an unreachable host.
                let conn = match conn {
                    Ok(conn) => conn,
                    Err(message) => {
                        return Ok(modules::failed(format!("{}: {message}", task.span)));
                    }
                };
                let conn = match with_become(conn, self.become_spec(task, vars)?) {
                    Ok(conn) => conn,
                    Err(err) => return Ok(modules::failed(err.to_string())),
                };
                let lookup = LookupVars(vars.clone());
                let prefetched = host.prefetched.clone();
                let ctx = ModuleContext {
                    target: Target {
                        conn: conn.as_ref(),
                        host: &host.name,
                        env,
                        verbosity: self.options.verbosity,
                        vars: &lookup,
                        prefetched: prefetched.as_deref(),
                    },
                    check_mode,
                    diff_mode,
                };
                let run = async {
                    match (&task.action, module) {
                        (_, Some(module)) => module.run(&ctx, &args).await,
                        (Action::DropIn { path, .. }, None) => {
                            let plain: Map<String, Json> = rendered.into_iter().collect();
                            modules::dropin::run(&ctx, &name, path, &plain).await
                        }
                        (_, None) => Err(ModuleError::Failed(format!(
                            "couldn't resolve module/action '{name}'"
                        ))),
                    }
                };
                let limit = self
                    .keyword(
                        task,
                        "timeout",
                        Kind::Int,
                        task.options.timeout.as_ref(),
                        vars,
                    )
                    .ok()
                    .flatten()
                    .and_then(|t| t.as_f64())
                    .filter(|seconds| *seconds > 0.0);
                let outcome = match limit {
                    Some(seconds) => {
                        match tokio::time::timeout(Duration::from_secs_f64(seconds), run).await {
                            Ok(outcome) => outcome,
                            Err(_) => {
                                drop(ctx);
                                if let Some(conn) = host.connection.take() {
                                    conn.interrupt().await;
                                    conn.close().await;
                                }
                                self.connections.lock().await.remove(&host.name);
                                return Ok(modules::failed(format!(
                                    "The {name} action failed to execute in the expected time frame ({seconds}) and was terminated"
                                )));
                            }
                        }
                    }
                    None => run.await,
                };
                if let Some(prefetched) = &prefetched {
                    forget_what_changed(prefetched, &outcome);
                }
                match outcome {
                    Ok(mut result) => {
                        settle_flags(&mut result);
                        if let Some(Json::Object(facts)) = result.get("ansible_facts").cloned()
                            && delegated.is_none()
                        {
                            host.add_facts(&facts);
                        }
                        if !diff_mode {
                            result.remove("diff");
                        }
                        Ok(result)
                    }
                    Err(ModuleError::Connection(ConnectionError::Failed(message))) => {
                        Ok(modules::failed(message))
                    }
                    Err(ModuleError::Connection(err)) => Ok(unreachable_result(err.to_string())),
                    Err(ModuleError::Failed(message)) => Ok(modules::failed(message)),
                    Err(ModuleError::FailedWith(result)) => Ok(result),
                }
            }
            Action::SetFact { facts } => {
                let mut set = Map::new();
                for (key, value) in facts {
                    let value = self
                        .templar
                        .render_value(value, vars)
                        .map_err(|err| located(&err, &task.span, &format!("set_fact '{key}'")))?;
                    set.insert(key.clone(), value);
                }
                for (key, value) in &set {
                    host.host_vars.insert(key.clone(), value.clone());
                }
                let mut result = modules::ok(false);
                result.insert("ansible_facts".into(), Json::Object(set));
                Ok(result)
            }
            Action::IncludeVars { path, dir, name } => {
                let rendered = self
                    .templar
                    .render_str(path, vars)
                    .map_err(|err| located(&err, &task.span, "include_vars"))?;
                let (loaded, vaulted) = super::play::load_include_vars(&rendered, *dir, task)?;
                let mut result = modules::ok(false);
                if vaulted {
                    result.insert(censor::NO_LOG_KEY.into(), Json::Bool(true));
                }
                let facts = match name {
                    Some(name) => {
                        let mut nested = Map::new();
                        nested.insert(name.clone(), Json::Object(loaded));
                        nested
                    }
                    None => loaded,
                };
                host.included_vars.extend(facts.clone());
                result.insert("ansible_facts".into(), Json::Object(facts));
                result.insert(
                    "ansible_included_var_files".into(),
                    Json::Array(vec![Json::String(rendered)]),
                );
                Ok(result)
            }
            Action::Block { .. }
            | Action::IncludeTasks { .. }
            | Action::IncludeRole { .. }
            | Action::Meta(_) => Err("internal: this action is run by the play loop".into()),
        }
    }

    /// `environment:` of the task and its parents, rendered.
    fn environment(&self, task: &Task, vars: &Arc<Vars>) -> Result<Vec<(String, String)>, String> {
        let mut env = Vec::new();
        for layer in &task.options.environment {
            let rendered = self
                .templar
                .render_value(layer, vars)
                .map_err(|err| located(&err, &task.span, "environment"))?;
            let Json::Object(map) = rendered else {
                return Err("environment must be a mapping".into());
            };
            for (key, value) in map {
                let text = match value {
                    Json::String(s) => s,
                    Json::Bool(b) => if b { "True" } else { "False" }.into(),
                    other => other.to_string(),
                };
                env.retain(|(k, _): &(String, String)| *k != key);
                env.push((key, text));
            }
        }
        Ok(env)
    }

    /// The connection to use for `host`: made on first use and kept for the run.
    async fn connection_for(
        &self,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Arc<dyn Connection>, String> {
        if let Some(target) = delegated {
            let in_inventory = self.inventory.host_names().iter().any(|h| h == target);
            if !in_inventory && (target == "localhost" || target == "127.0.0.1") {
                return Ok(Arc::new(LocalConnection));
            }
            let mut cache = self.connections.lock().await;
            if let Some(conn) = cache.get(target) {
                return Ok(conn.clone());
            }
            let mut map = self.inventory.host_vars(target);
            if !in_inventory {
                map.insert("ansible_host".into(), Json::String(target.to_string()));
            }
            let target_vars = Vars::new(self.templar.clone(), map);
            let conn = super::connect::open(target, &target_vars, &self.options)?;
            cache.insert(target.to_string(), conn.clone());
            return Ok(conn);
        }
        if let Some(conn) = &host.connection {
            return Ok(conn.clone());
        }
        let conn = {
            let mut cache = self.connections.lock().await;
            match cache.get(&host.name) {
                Some(conn) => conn.clone(),
                None => {
                    let conn = super::connect::open(&host.name, vars, &self.options)?;
                    cache.insert(host.name.clone(), conn.clone());
                    conn
                }
            }
        };
        host.connection = Some(conn.clone());
        Ok(conn)
    }
}

/// The typed keywords a task's retries need, converted.
struct TypedKeywords {
    /// `retries:`, if set.
    retries: Option<i64>,
    /// `delay:` in seconds, if set.
    delay: Option<f64>,
}

/// Sets `failed` and `changed` when a module left them out, as Ansible's task executor
/// does: `failed` from a non-zero `rc`, `changed` false.
fn settle_flags(result: &mut Outcome) {
    if !result.contains_key("failed") {
        let rc_failed = result
            .get("rc")
            .is_some_and(|rc| !matches!(rc, Json::Number(n) if n.as_i64() == Some(0)) && rc != "0");
        result.insert("failed".into(), Json::Bool(rc_failed));
    }
    result.entry("changed").or_insert(Json::Bool(false));
}

/// Where an executed result carries the handler names its task notifies, rendered
/// with its (item's) variables, as Ansible's `_ansible_notify`.
const NOTIFY_KEY: &str = "_ansible_notify";

/// The handler names of a result and of its loop items, taken out of them: they
/// are notified when the task as a whole changed, as Ansible's strategy does.
fn take_notifications(result: &mut Outcome) -> Vec<String> {
    let mut names = Vec::new();
    let mut take = |result: &mut Map<String, Json>| {
        if let Some(Json::Array(list)) = result.remove(NOTIFY_KEY) {
            names.extend(
                list.into_iter()
                    .filter_map(|n| n.as_str().map(str::to_string)),
            );
        }
    };
    take(result);
    if let Some(Json::Array(items)) = result.get_mut("results") {
        items
            .iter_mut()
            .filter_map(Json::as_object_mut)
            .for_each(&mut take);
    }
    names
}

/// The `hostvars` object of `vars`, to carry into derived scopes.
fn hostvars_object(vars: &Arc<Vars>) -> std::collections::HashMap<String, minijinja::Value> {
    let mut objects = std::collections::HashMap::new();
    if let Some(hostvars) = vars.lookup("hostvars") {
        objects.insert("hostvars".to_string(), hostvars);
    }
    objects
}

/// A templating error located at the task.
fn located(err: &TemplateError, span: &crate::source::Span, what: &str) -> String {
    format!("{}: error while evaluating {what}: {}", span, err.message)
}

/// The action name of a task, for `ansible_failed_task`.
fn action_name(task: &Task) -> String {
    match &task.action {
        Action::Module { module, .. } => module.name().to_string(),
        Action::DropIn { name, .. } => name.clone(),
        Action::SetFact { .. } => "set_fact".into(),
        Action::IncludeVars { .. } => "include_vars".into(),
        _ => "block".into(),
    }
}

/// The status a result reports.
pub fn status_of(result: &Outcome) -> Status {
    let flag = |key: &str| result.get(key).and_then(Json::as_bool) == Some(true);
    if flag("unreachable") {
        Status::Unreachable
    } else if flag("failed") {
        Status::Failed
    } else if flag("skipped") {
        Status::Skipped
    } else if flag("changed") {
        Status::Changed
    } else {
        Status::Ok
    }
}

fn skipped_result(reason: &str) -> Outcome {
    let mut result = modules::ok(false);
    result.insert("skipped".into(), Json::Bool(true));
    result.insert("skip_reason".into(), Json::String(reason.into()));
    result
}

fn unreachable_result(message: String) -> Outcome {
    let mut result = Outcome::new();
    result.insert("changed".into(), Json::Bool(false));
    result.insert("msg".into(), Json::String(message));
    result.insert("unreachable".into(), Json::Bool(true));
    result
}

/// The loop variable, `ansible_loop_var` and the index variable (when `loop_control`
/// names one) of item `index`, added to `map`: an item's variables or its result.
fn insert_loop_vars(map: &mut Map<String, Json>, control: &LoopControl, item: &Json, index: usize) {
    map.insert(control.loop_var.clone(), item.clone());
    map.insert(
        "ansible_loop_var".into(),
        Json::String(control.loop_var.clone()),
    );
    if let Some(index_var) = &control.index_var {
        map.insert(index_var.clone(), Json::from(index));
    }
}

/// `conn`, wrapped to become another user when `spec` says so.
fn with_become(
    conn: Arc<dyn Connection>,
    spec: Option<BecomeSpec>,
) -> Result<Arc<dyn Connection>, ConnectionError> {
    Ok(match spec {
        Some(spec) => Arc::new(Become::new(conn, spec)?),
        None => conn,
    })
}

/// After a loop item ran with [`Prefetched`] answers: drops those its change made
/// stale. The module's own report counts, before `changed_when` can hide a write; a
/// failure or a change without a `dest` drops everything.
fn forget_what_changed(prefetched: &Prefetched, outcome: &Result<Outcome, ModuleError>) {
    let Ok(result) = outcome else {
        prefetched.clear();
        return;
    };
    let flag = |key: &str| result.get(key).and_then(Json::as_bool) == Some(true);
    if flag("changed") || flag("failed") {
        match result.get("dest").and_then(Json::as_str) {
            Some(dest) if !flag("failed") => prefetched.forget(dest),
            _ => prefetched.clear(),
        }
    }
}
