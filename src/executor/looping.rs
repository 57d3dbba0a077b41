//! A task's loop: its items, each item's variables, the destinations asked for
//! ahead, and the summary result Ansible makes of the items' results.

use super::action::with_become;
use super::task::{
    action_name, condition_skipped, located, skipped_result, status_of, unreachable_result,
};
use super::{HostState, Runner, censor};
use crate::connection::{Answers, ConnectionError};
use crate::modules::prefetch::Prefetched;
use crate::modules::{Args, ModuleError, Outcome};
use crate::output::{HostResult, Status};
use crate::playbook::{Action, LoopControl, LoopKind, Task};
use crate::template::Vars;
use serde_json::{Map, Value as Json};
use std::sync::Arc;
use std::time::Duration;

impl Runner {
    /// `when`, loop and execution; returns the status and the result to register.
    pub(super) async fn evaluate(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<(Status, Outcome), String> {
        let Some(spec) = &task.loop_ else {
            if let Some(condition) = self.false_condition(task, vars)? {
                return Ok((Status::Skipped, condition_skipped(condition)));
            }
            let result = self.execute(task, host, vars, delegated).await;
            return Ok((status_of(&result), result));
        };
        let Some(items) = self.loop_items(&spec.items, spec.kind, vars, task)? else {
            return Ok((
                Status::Skipped,
                skipped_result("Conditional result was False"),
            ));
        };
        let control = &self.loop_control(task, vars)?;
        let mut results = Vec::new();
        // A host that cannot be reached for the loop's question is reported so by the
        // first item that runs, without a second attempt to connect.
        let mut unreachable = match self.prefetch(task, host, &items, vars, delegated).await {
            Ok(prefetched) => {
                host.prefetched = prefetched.map(Arc::new);
                None
            }
            Err(message) => Some(message),
        };
        if unreachable.is_none() && host.prefetched.is_none() {
            match self.ask_ahead(task, host, &items, vars, delegated).await {
                Ok(Some((answers, siblings))) => {
                    host.answers = Some(Arc::new(answers));
                    host.siblings = Some(siblings);
                }
                Ok(None) => {}
                Err(message) => unreachable = Some(message),
            }
        }
        let mut vars = vars.clone();
        for index in 0..items.len() {
            if index > 0 && control.pause > 0.0 {
                tokio::time::sleep(Duration::from_secs_f64(control.pause)).await;
            }
            let item_scope = self.item_scope(control, &vars, &items, index);
            let mut result = match self.false_condition(task, &item_scope)? {
                None => match unreachable.take() {
                    Some(message) => unreachable_result(message),
                    None => self.execute(task, host, &item_scope, delegated).await,
                },
                Some(condition) => condition_skipped(condition),
            };
            vars = self.with_facts_of(&vars, &result);
            insert_loop_vars(&mut result, control, &items, index);
            // A label that cannot be rendered fails its item, not the loop, as in
            // Ansible.
            let label = match self.item_label(task, control, &items[index], &item_scope, &result) {
                Ok(label) => label,
                Err(message) => {
                    result.insert("failed".into(), Json::Bool(true));
                    result.insert("msg".into(), Json::String(message));
                    crate::template::pyfmt::py_str(&minijinja::Value::from_serialize(&items[index]))
                }
            };
            let stop = !control.break_when.is_empty()
                && self.check_with_result(&control.break_when, task, &result, &item_scope)?;
            let no_log = self.no_log(task, &item_scope);
            result.insert(censor::NO_LOG_KEY.into(), Json::Bool(no_log));
            let shown_label = match &control.label {
                Some(_) => Json::String(label.clone()),
                None => items[index].clone(),
            };
            result.insert("_ansible_item_label".into(), shown_label);
            let status = status_of(&result);
            let action = super::action::result_action(task, &result);
            result.remove(super::action::RESOLVED_ACTION_KEY);
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
            if unreachable || stop {
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

    /// The loop's variables with the facts an item set (`set_fact`, `include_vars`):
    /// the next items see them, as Ansible's loop shares its variables.
    fn with_facts_of(&self, vars: &Arc<Vars>, result: &Outcome) -> Arc<Vars> {
        let Some(Json::Object(facts)) = result.get("ansible_facts") else {
            return vars.clone();
        };
        vars.with_extra(facts.clone())
    }

    /// The variables of one loop item: the task's, plus the loop variables.
    pub(super) fn item_scope(
        &self,
        control: &LoopControl,
        vars: &Arc<Vars>,
        items: &[Json],
        index: usize,
    ) -> Arc<Vars> {
        let mut item_vars = Map::new();
        insert_loop_vars(&mut item_vars, control, items, index);
        vars.with_extra(item_vars)
    }

    /// The task's `loop_control` with templated names (`loop_var: "{{ name }}"`)
    /// rendered, as Ansible renders it before the loop.
    pub(super) fn loop_control(
        &self,
        task: &Task,
        vars: &Arc<Vars>,
    ) -> Result<LoopControl, String> {
        let render = |name: &str| -> Result<String, String> {
            if !crate::template::is_template(name) {
                return Ok(name.to_string());
            }
            let rendered = self
                .templar
                .render_str(name, vars)
                .map_err(|err| located(&err, &task.span, "loop_control"))?;
            if crate::template::is_variable_name(&rendered) {
                Ok(rendered)
            } else {
                Err(format!("'{rendered}' is not a valid variable name"))
            }
        };
        let mut control = task.loop_control.clone();
        control.loop_var = render(&control.loop_var)?;
        control.index_var = control.index_var.as_deref().map(render).transpose()?;
        Ok(control)
    }

    /// How an item shows in the output: its `label:` rendered with the item's result
    /// registered, else the item itself.
    pub(super) fn item_label(
        &self,
        task: &Task,
        control: &LoopControl,
        item: &Json,
        scope: &Arc<Vars>,
        result: &Outcome,
    ) -> Result<String, String> {
        let Some(label) = &control.label else {
            return Ok(crate::template::pyfmt::py_str(
                &minijinja::Value::from_serialize(item),
            ));
        };
        let mut map = Map::new();
        if let Some(name) = &task.register {
            map.insert(name.clone(), super::task::registered(result));
        }
        let scope = scope.with_extra(map);
        self.templar
            .render_str(label, &scope)
            .map_err(|e| format!("Failed to template loop_control.label: {}", e.message))
    }

    /// For a loop of a module that installs files at `dest` (copy, template): every
    /// item's destination asked for in one round trip, through the connection and
    /// become the items use. `None` when that does not apply or fails short of the
    /// host being unreachable (`Err`); the items then query for themselves.
    pub(super) async fn prefetch(
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
        let Ok(control) = self.loop_control(task, vars) else {
            return Ok(None);
        };
        for index in 0..items.len() {
            let scope = self.item_scope(&control, vars, items, index);
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
        let Ok(conn) = self.connection_for(task, host, vars, delegated).await else {
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

    /// For a loop of a module with a first question ([`crate::connection::Answers`]):
    /// the question of every item that runs, asked in one round trip through the
    /// connection, become and environment the items use (all the same, or nothing is
    /// asked), each item knowing the others' arguments (its `siblings`, kept with the
    /// answers for the items' calls). `None` when that does not apply or fails short
    /// of the host being unreachable (`Err`); the items then ask for themselves.
    pub(super) async fn ask_ahead(
        &self,
        task: &Task,
        host: &mut HostState,
        items: &[Json],
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Option<(Answers, Arc<Vec<Args>>)>, String> {
        let Action::Module { args, .. } = &task.action else {
            return Ok(None);
        };
        let Ok(control) = self.loop_control(task, vars) else {
            return Ok(None);
        };
        // Items spaced out in time would get answers from before the wait.
        if items.len() < 2 || control.pause > 0.0 {
            return Ok(None);
        }
        let mut calls = Vec::new();
        let mut route = None;
        for index in 0..items.len() {
            let scope = self.item_scope(&control, vars, items, index);
            if !matches!(self.false_condition(task, &scope), Ok(None)) {
                continue;
            }
            let Ok(Ok(ready)) = self.ready_module(task, args, host, &scope, delegated).await else {
                break;
            };
            if ready.limit.is_some() || ready.asynchronous.is_some() {
                return Ok(None);
            }
            let way = (ready.call.conn().endpoint(), ready.env.clone());
            match &route {
                None => route = Some((way, ready.call.conn().clone())),
                Some((first, _)) if *first != way => return Ok(None),
                Some(_) => {}
            }
            calls.push(ready.call);
        }
        let siblings: Arc<Vec<Args>> = Arc::new(calls.iter().map(|c| c.args.clone()).collect());
        let mut questions = Vec::new();
        for mut call in calls {
            call.siblings = Some(siblings.clone());
            questions.extend(call.first_question().await);
        }
        let Some((_, conn)) = route.filter(|_| questions.len() > 1) else {
            return Ok(None);
        };
        let conn = self.traced(task, &host.name, vars, conn);
        match Answers::ask(conn.as_ref(), &questions).await {
            Ok(answers) => Ok(Some((answers, siblings))),
            Err(ConnectionError::Unreachable(message)) => Err(message),
            Err(_) => Ok(None),
        }
    }

    /// The items of a loop, prepared as the loop keyword says; `None` when they use
    /// an undefined variable and the task's condition is false: Ansible keeps such
    /// an error until the condition (without `item`) says the task runs.
    pub(super) fn loop_items(
        &self,
        raw: &Json,
        kind: LoopKind,
        vars: &Arc<Vars>,
        task: &Task,
    ) -> Result<Option<Vec<Json>>, String> {
        let rendered = match self.templar.render_value(raw, vars) {
            Ok(rendered) => rendered,
            Err(err) if err.undefined && !self.conditions_hold(task, vars)? => return Ok(None),
            Err(err) => return Err(located(&err, &task.span, "loop")),
        };
        if let LoopKind::Lookup(name) = kind {
            return crate::template::lookup_loop_items(name, &rendered, vars, &action_name(task))
                .map(Some)
                .map_err(|err| located(&err, &task.span, "loop"));
        }
        // `with_*` terms are a list; anything else is one term, as Ansible's
        // `_get_loop_items` makes it.
        let terms = match (kind, rendered) {
            (_, Json::Array(terms)) => terms,
            (LoopKind::List, other) => {
                return Err(format!(
                    "The `loop` value must resolve to a 'list', not '{}'.",
                    crate::pyjson::type_name(&other)
                ));
            }
            (_, other) => vec![other],
        };
        let flattened = || {
            terms.iter().cloned().flat_map(|term| match term {
                Json::Array(inner) => inner,
                other => vec![other],
            })
        };
        let items = match kind {
            LoopKind::Dict => {
                let mut items = Vec::new();
                for term in terms {
                    match term {
                        Json::Object(map) => items.extend(dict_items(map)),
                        other => return Err(not_a_dict(&other)),
                    }
                }
                items
            }
            LoopKind::Items => flattened().collect(),
            LoopKind::Indexed => flattened()
                .enumerate()
                .map(|(i, item)| serde_json::json!([i, item]))
                .collect(),
            LoopKind::List | LoopKind::WithList | LoopKind::Lookup(_) => terms,
        };
        Ok(Some(items))
    }
}

/// `with_dict`'s items of one mapping: `{key, value}` each.
fn dict_items(map: Map<String, Json>) -> Vec<Json> {
    map.into_iter()
        .map(|(key, value)| serde_json::json!({"key": key, "value": value}))
        .collect()
}

/// The `dict` lookup's error for a term that is not a mapping.
fn not_a_dict(term: &Json) -> String {
    let shown = match term {
        Json::String(text) => text.clone(),
        other => crate::pyjson::dumps(other, None),
    };
    format!(
        "the 'dict' lookup plugin expects a dictionary, got '{shown}' of type <class '{}'>)",
        crate::pyjson::type_name(term)
    )
}

/// The loop variable, `ansible_loop_var`, the index variable (when `loop_control`
/// names one) and `ansible_loop` (when `extended`) of item `index`, added to `map`: an
/// item's variables or its result.
pub(super) fn insert_loop_vars(
    map: &mut Map<String, Json>,
    control: &LoopControl,
    items: &[Json],
    index: usize,
) {
    map.insert(control.loop_var.clone(), items[index].clone());
    map.insert(
        "ansible_loop_var".into(),
        Json::String(control.loop_var.clone()),
    );
    if let Some(index_var) = &control.index_var {
        map.insert(index_var.clone(), Json::from(index));
        map.insert("ansible_index_var".into(), Json::String(index_var.clone()));
    }
    if control.extended {
        map.insert(
            "ansible_loop".into(),
            extended_loop_vars(control, items, index),
        );
    }
}

/// `ansible_loop` for item `index`, as Ansible's `loop_control.extended` makes it.
fn extended_loop_vars(control: &LoopControl, items: &[Json], index: usize) -> Json {
    let length = items.len();
    let mut vars = serde_json::json!({
        "index": index + 1,
        "index0": index,
        "first": index == 0,
        "last": index + 1 == length,
        "length": length,
        "revindex": length - index,
        "revindex0": length - index - 1,
    });
    if control.extended_allitems {
        vars["allitems"] = Json::Array(items.to_vec());
    }
    if let Some(next) = items.get(index + 1) {
        vars["nextitem"] = next.clone();
    }
    if let Some(previous) = index.checked_sub(1).and_then(|i| items.get(i)) {
        vars["previtem"] = previous.clone();
    }
    vars
}

/// After a loop item ran with [`Prefetched`] answers: drops those its change made
/// stale. The module's own report counts, before `changed_when` can hide a write; a
/// failure or a change without a `dest` drops everything.
pub(super) fn forget_what_changed(prefetched: &Prefetched, outcome: &Result<Outcome, ModuleError>) {
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
