//! One task on one host: evaluate it, register and report its result, count it in
//! the recap, and collect the handlers it notifies.

use super::vars::{TaskScope, task_vars};
use super::{HostState, Runner, censor};
use crate::modules::{self, Outcome};
use crate::output::{HostResult, Status};
use crate::playbook::{Action, Task};
use crate::template::TemplateError;
use serde_json::{Map, Value as Json};

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
        host.answers = None;
        host.siblings = None;
        let (status, mut result) = match evaluated {
            Ok(pair) => pair,
            Err(message) => (Status::Failed, task_failed(message)),
        };
        let notified = take_notifications(&mut result);
        if matches!(status, Status::Ok | Status::Changed | Status::Failed)
            && let Some(role) = task.dedup_role()
        {
            host.roles_ran.insert(role.clone());
        }
        if matches!(status, Status::Ok | Status::Changed) {
            self.custom_stats.record(&host.name, &result);
        }
        if status == Status::Changed
            && let Some(missing) = self.missing_handler(scope, &notified)
        {
            self.stop(super::RunError::MissingHandler(missing));
            return TaskEnd::Failed;
        }
        let action = super::action::result_action(task, &result);
        result.remove(super::action::RESOLVED_ACTION_KEY);
        let hidden =
            self.no_log(task, &vars) || result.get(censor::NO_LOG_KEY) == Some(&Json::Bool(true));
        let shown = censor::for_display(&result, hidden);
        let ignored = status == Status::Failed && self.ignores_errors(task, &vars);
        let unreachable_ignored =
            status == Status::Unreachable && task.options.ignore_unreachable.unwrap_or(false);
        if let Some(name) = &task.register {
            std::sync::Arc::make_mut(&mut host.host_vars)
                .insert(name.clone(), kept_registered(&result));
        }
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
        let rescuing = host.rescuable > 0;
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
            Status::Failed if rescuing => s.rescued += 1,
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
                let host_vars = std::sync::Arc::make_mut(&mut host.host_vars);
                host_vars.insert("ansible_failed_result".into(), Json::Object(result));
                host_vars.insert(
                    "ansible_failed_task".into(),
                    // The task as written, as Ansible's `Task.serialize()`: no role
                    // prefix, `""` when unnamed.
                    serde_json::json!({
                        "name": task.name.clone().unwrap_or_default(),
                        "action": action_name(task),
                    }),
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
}

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

impl Runner {
    /// The first of `notified` no handler of the play answers to, when
    /// `error_on_missing_handler` makes that an error (else a warning, and `None`).
    fn missing_handler(&self, scope: &TaskScope<'_>, notified: &[String]) -> Option<String> {
        if notified.is_empty() {
            return None;
        }
        let mut all = scope.play.handlers.clone();
        all.extend(
            scope
                .included_handlers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .iter()
                .cloned(),
        );
        let handlers = self.named_handlers(scope.play, &all, true);
        let missing = notified
            .iter()
            .find(|name| !super::handlers::is_handled(&handlers, name))?;
        if self.options.error_on_missing_handler {
            return Some(missing.clone());
        }
        self.reporter.warning(&format!(
            "The requested handler '{missing}' was not found in either the main handlers list nor in the listening handlers list"
        ));
        None
    }
}

/// A result as its registered variable keeps it once the task is done, as Ansible's
/// strategy stores it: without the internal `_ansible_*` keys (a loop item's label and
/// `no_log` flag), and without the task's own `invocation` (a loop item keeps its).
fn kept_registered(result: &Outcome) -> Json {
    let mut kept = registered(result);
    strip_internal_keys(&mut kept);
    if let Json::Object(map) = &mut kept {
        map.remove("invocation");
    }
    kept
}

/// Ansible's `strip_internal_keys`: every `_ansible_*` key of `value`, at any depth,
/// removed.
fn strip_internal_keys(value: &mut Json) {
    match value {
        Json::Object(map) => {
            map.retain(|key, _| !key.starts_with("_ansible_"));
            map.values_mut().for_each(strip_internal_keys);
        }
        Json::Array(items) => items.iter_mut().for_each(strip_internal_keys),
        _ => {}
    }
}

/// A result as a registered variable holds it while its task runs (for
/// `changed_when`, `failed_when`, `until` and a loop label). Its `invocation` (a module's arguments,
/// template's `{{` delimiters among them) is data that reading the variable must not
/// render: its strings are kept in their unsafe form, as Ansible trusts none of a
/// result. Loop items' invocations too.
pub(super) fn registered(result: &Outcome) -> Json {
    let mut kept = result.clone();
    let untrusted = |map: &mut Outcome| {
        if let Some(invocation) = map.remove("invocation") {
            map.insert(
                "invocation".into(),
                crate::template::trust::mark_unsafe(invocation),
            );
        }
    };
    untrusted(&mut kept);
    if let Some(Json::Array(items)) = kept.get_mut("results") {
        items
            .iter_mut()
            .filter_map(Json::as_object_mut)
            .for_each(untrusted);
    }
    Json::Object(kept)
}

/// Where an executed result carries the handler names its task notifies, rendered
/// with its (item's) variables, as Ansible's `_ansible_notify`.
pub(super) const NOTIFY_KEY: &str = "_ansible_notify";

/// The handler names of a result and of its loop items, taken out of them: they
/// are notified when the task as a whole changed, as Ansible's strategy does.
pub(super) fn take_notifications(result: &mut Outcome) -> Vec<String> {
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

/// The result of a task that could not run (a condition, keyword or argument that
/// cannot be evaluated), worded as Ansible 2.19 words such errors.
pub(super) fn task_failed(message: String) -> Outcome {
    modules::failed(format!("Task failed: {message}"))
}

/// A templating error located at the task.
pub(super) fn located(err: &TemplateError, span: &crate::source::Span, what: &str) -> String {
    format!("{}: error while evaluating {what}: {}", span, err.message)
}

/// The action name of a task, for `ansible_failed_task`.
pub(super) fn action_name(task: &Task) -> String {
    match &task.action {
        Action::Module { module, .. } => module.name().to_string(),
        Action::DropIn { name, .. }
        | Action::Unsupported { name }
        | Action::Templated { name, .. } => name.clone(),
        Action::SetFact { .. } => "set_fact".into(),
        Action::IncludeVars { .. } => "include_vars".into(),
        Action::Control { action, .. } => action.name().into(),
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

/// The result of a task (or item) a `when:` condition skipped, naming it.
pub(super) fn condition_skipped(condition: Json) -> Outcome {
    let mut result = skipped_result("Conditional result was False");
    result.insert("false_condition".into(), condition);
    result
}

pub(super) fn skipped_result(reason: &str) -> Outcome {
    let mut result = modules::ok(false);
    result.insert("skipped".into(), Json::Bool(true));
    result.insert("skip_reason".into(), Json::String(reason.into()));
    result
}

pub(super) fn unreachable_result(message: String) -> Outcome {
    let mut result = Outcome::new();
    result.insert("changed".into(), Json::Bool(false));
    result.insert("msg".into(), Json::String(message));
    result.insert("unreachable".into(), Json::Bool(true));
    result
}
