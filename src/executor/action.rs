//! Running a task's action once on a host: the module with its rendered arguments,
//! the connection (delegated, with become), the environment and the timeout, then
//! `until`/`retries` and `changed_when`/`failed_when`.

use std::sync::Arc;

use super::looping::forget_what_changed;
use super::task::{
    NOTIFY_KEY, action_name, located, skipped_result, task_failed, unreachable_result,
};
use super::vars::OMIT;
use super::{HostState, Runner};
use crate::connection::{Become, BecomeSpec, Connection, ConnectionError, LocalConnection};
use crate::modules::{
    self, Args, FreeForm, ModuleContext, ModuleError, Outcome, Target, VarLookup,
};
use crate::playbook::args::VARIABLE_PARAMS;
use crate::playbook::keyword::Kind;
use crate::playbook::{Action, Task};
use crate::template::Vars;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json};
use std::time::Duration;

/// The longest task `timeout` Ansible accepts, in seconds.
const MAX_TIMEOUT: f64 = 100_000_000.0;

impl Runner {
    /// Runs the action (with `until` retries, `changed_when` and `failed_when`), its
    /// `notify` rendered first with the same variables: a name that cannot be rendered
    /// fails the task before it runs, as in Ansible.
    pub(super) async fn execute(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Outcome {
        let notify = match self.notified(task, vars) {
            Ok(notify) => notify,
            Err(message) => return task_failed(message),
        };
        let mut result = self.execute_until(task, host, vars, delegated).await;
        if !notify.is_empty() {
            result.insert(NOTIFY_KEY.into(), Json::from(notify));
        }
        result
    }

    /// Runs the action, retried as `until`/`retries`/`delay` say, with
    /// `changed_when`/`failed_when` applied.
    pub(super) async fn execute_until(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Outcome {
        let keywords = match self.typed_keywords(task, vars) {
            Ok(keywords) => keywords,
            Err(message) => return task_failed(message),
        };
        let retries = keywords.retries.unwrap_or(3).max(0);
        let delay = keywords.delay.unwrap_or(5.0);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut result = match self.execute_once(task, host, vars, delegated).await {
                Ok(result) => result,
                Err(message) => task_failed(message),
            };
            if result.get("unreachable").and_then(Json::as_bool) == Some(true) {
                return result;
            }
            if result.get("failed").and_then(Json::as_bool) == Some(true) {
                result
                    .entry("exception")
                    .or_insert_with(|| Json::from(crate::output::TRACEBACK_UNAVAILABLE));
            }
            // `attempts` is there for changed_when/failed_when too, as in Ansible.
            if task.until.is_some() {
                result.insert("attempts".into(), Json::from(attempt));
            }
            self.apply_result_conditions(task, &mut result, vars);
            let Some(until) = &task.until else {
                return result;
            };
            let done = match self.check_with_result(until, task, &result, vars) {
                Ok(done) => done,
                Err(message) => return task_failed(message),
            };
            if done {
                return result;
            }
            if attempt > retries {
                // Out of attempts: failed, unless failed_when decided otherwise.
                result.insert("attempts".into(), Json::from(retries));
                if task.failed_when.is_none() {
                    result.insert("failed".into(), Json::Bool(true));
                }
                return result;
            }
            // A retry asks the target again, never what a loop asked before it.
            if let Some(answers) = &host.answers {
                answers.forget_all();
            }
            tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0))).await;
        }
    }

    /// `changed_when` and `failed_when`, evaluated with the result registered. One
    /// that cannot be evaluated fails the task and keeps the module's result, its
    /// error under `changed_when_result`/`failed_when_result`, as in Ansible.
    pub(super) fn apply_result_conditions(
        &self,
        task: &Task,
        result: &mut Outcome,
        vars: &Arc<Vars>,
    ) {
        if result.get("skipped").and_then(Json::as_bool) == Some(true) {
            return;
        }
        if let Some(conditions) = &task.changed_when {
            match self.check_with_result(conditions, task, result, vars) {
                Ok(changed) => {
                    result.insert("changed".into(), Json::Bool(changed));
                }
                Err(message) => return condition_failed(result, "changed_when_result", message),
            }
        }
        if let Some(conditions) = &task.failed_when {
            match self.check_with_result(conditions, task, result, vars) {
                Ok(failed) => {
                    result.insert("failed_when_result".into(), Json::Bool(failed));
                    result.insert("failed".into(), Json::Bool(failed));
                    if !failed && let Some(exception) = result.remove("exception") {
                        result.insert("failed_when_suppressed_exception".into(), exception);
                    }
                }
                Err(message) => condition_failed(result, "failed_when_result", message),
            }
        }
    }

    /// Evaluates conditions that may refer to this task's result by its `register`
    /// name.
    pub(super) fn check_with_result(
        &self,
        conditions: &[crate::playbook::Expr],
        task: &Task,
        result: &Outcome,
        vars: &Arc<Vars>,
    ) -> Result<bool, String> {
        let mut map = Map::new();
        if let Some(name) = &task.register {
            map.insert(name.clone(), super::task::registered(result));
        }
        let scope = vars.with_extra(map);
        for condition in conditions {
            if !self.holds(condition, &scope)? {
                return Ok(false);
            }
        }
        Ok(!conditions.is_empty())
    }

    /// Runs the task's action once.
    pub(super) async fn execute_once(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Outcome, String> {
        match &task.action {
            Action::Module { args, .. } | Action::DropIn { args, .. } => {
                self.run_module(task, args, host, vars, delegated).await
            }
            Action::Templated { name, args } => {
                let rendered = self
                    .templar
                    .render_str(name, vars)
                    .map_err(|err| located(&err, &task.span, "action"))?;
                let mut resolved = task.clone();
                resolved.action = self.loader.resolve_templated(&rendered, args.clone())?;
                let mut result =
                    Box::pin(self.execute_once(&resolved, host, vars, delegated)).await?;
                result.insert(
                    RESOLVED_ACTION_KEY.into(),
                    Json::String(action_name(&resolved)),
                );
                Ok(result)
            }
            Action::Unsupported { name } => Err(format!(
                "module {name} is not supported by bosun (it is an ansible.builtin module bosun does not implement yet)"
            )),
            Action::SetFact { facts, cacheable } => {
                let cacheable = match cacheable {
                    Some(value) => self
                        .truth(value, vars)
                        .map_err(|err| located(&err, &task.span, "argument 'cacheable'"))?,
                    None => false,
                };
                self.set_fact(task, facts, cacheable, host, vars)
            }
            Action::Control { action, args } => {
                self.run_control(task, *action, args, host, vars, delegated)
                    .await
            }
            Action::IncludeVars { args } => self.include_vars(task, args, host, vars),
            Action::Block { .. }
            | Action::IncludeTasks { .. }
            | Action::IncludeRole { .. }
            | Action::Meta(_) => Err("internal: this action is run by the play loop".into()),
        }
    }

    /// Runs a module (built in or drop-in) with its arguments rendered, in the
    /// task's check and diff modes, within its `timeout`.
    async fn run_module(
        &self,
        task: &Task,
        args: &IndexMap<String, Json>,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Outcome, String> {
        let ReadyCall {
            mut call,
            limit,
            asynchronous,
            ..
        } = match self.ready_module(task, args, host, vars, delegated).await? {
            Ok(ready) => ready,
            Err(result) => return Ok(result),
        };
        let traced = self.traced(task, &host.name, vars, call.conn);
        call.conn = crate::connection::Answering::wrap(traced, host.answers.clone());
        let prefetched = call.prefetched.clone();
        let diff_mode = call.diff_mode;
        let name = call.name.clone();
        let (limit, poll) = match asynchronous {
            Some((seconds, 0)) => return Ok(self.jobs.start(seconds, call.run())),
            Some((seconds, poll)) => (Some(seconds as f64), Some(poll)),
            None => (limit, None),
        };
        let outcome = match limit {
            Some(seconds) => tokio::time::timeout(Duration::from_secs_f64(seconds), call.run())
                .await
                .ok(),
            None => Some(call.run().await),
        };
        let Some(outcome) = outcome else {
            self.abandon_connection(host).await;
            if poll.is_some() {
                let mut timed_out = modules::failed("Timeout exceeded");
                timed_out.extend(super::jobs::job_keys(&super::jobs::new_jid(), true));
                return Ok(timed_out);
            }
            // Ansible 2.19's task timeout: its message and `timedout` key.
            let period = limit.unwrap_or_default();
            let mut timed_out = task_failed(format!("Timed out after {period} second(s)."));
            timed_out.insert(
                "timedout".into(),
                serde_json::json!({
                    "frame": "Configure `DISPLAY_TRACEBACK` to see a traceback on timeout errors.",
                    "period": if period.fract() == 0.0 { Json::from(period as i64) } else { Json::from(period) },
                }),
            );
            return Ok(timed_out);
        };
        if let Some(prefetched) = &prefetched {
            forget_what_changed(prefetched, &outcome);
        }
        // `debug var=ansible_facts` shows facts; it never sets them, as in Ansible.
        let sets_facts = delegated.is_none() && name != "debug";
        let mut result = self.module_result(outcome, host, sets_facts, diff_mode);
        if poll.is_some() {
            result.extend(super::jobs::job_keys(&super::jobs::new_jid(), true));
        }
        Ok(result)
    }

    /// A module task made ready to run on `host`: its arguments rendered and checked,
    /// its modes, timeout and connection (with become and environment, not yet traced);
    /// `Err` holds the result that stands for a call that cannot be made.
    pub(super) async fn ready_module(
        &self,
        task: &Task,
        args: &IndexMap<String, Json>,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Result<ReadyCall, Outcome>, String> {
        let name = action_name(task);
        let module = match &task.action {
            Action::Module { module, .. } => Some(module.0),
            _ => None,
        };
        let takes_raw = module.is_some_and(|m| m.free_form() == FreeForm::Raw);
        let rendered = self.render_args(task, args, takes_raw, vars)?;
        let args = match module {
            Some(module) => {
                let params = module.all_params();
                match Args::parse(&params, &rendered) {
                    Ok(args) => args,
                    Err(message) => {
                        // Unknown names come first, all of them, as Ansible reports them.
                        let unknown = modules::args::unknown_names(&params, &rendered);
                        let message = if unknown.is_empty() {
                            message
                        } else {
                            modules::args::unsupported_by(&name, &params, &unknown)
                        };
                        return Ok(Err(modules::failed(message)));
                    }
                }
            }
            None => Args::default(),
        };
        let check_mode = self.check_mode(task, vars)?;
        let diff = task.options.diff.as_ref();
        let diff_mode = self.mode_flag(task, "diff", diff, self.options.diff, vars)?;
        if check_mode && module.is_some_and(|m| !m.supports_check_mode()) {
            let mut result = skipped_result(&format!(
                "remote module ({name}) does not support check mode"
            ));
            result.insert("changed".into(), Json::Bool(false));
            return Ok(Err(result));
        }
        let limit = self
            .keyword(
                task,
                "timeout",
                Kind::Int,
                task.options.timeout.as_ref(),
                vars,
            )?
            .and_then(|t| t.as_f64());
        // Ansible's alarm takes 0 (none) to 100000000 seconds.
        if let Some(seconds) = limit.filter(|s| !(0.0..=MAX_TIMEOUT).contains(s)) {
            return Ok(Err(task_failed(format!(
                "Timeout {seconds} is invalid, it must be between 0 and {MAX_TIMEOUT}."
            ))));
        }
        let limit = limit.filter(|seconds| *seconds > 0.0);
        let asynchronous = self.async_keywords(task, vars)?;
        if asynchronous.is_some() && NO_ASYNC.contains(&name.as_str()) {
            return Ok(Err(modules::failed(format!(
                "This action ({name}) does not support async."
            ))));
        }
        let env = self.environment(task, vars)?;
        let conn = match self.task_connection(task, host, vars, delegated).await? {
            Ok(conn) => conn,
            Err(failed) => return Ok(Err(failed)),
        };
        let call = ModuleCall {
            module,
            dropin: match &task.action {
                Action::DropIn { path, .. } => Some(path.clone()),
                _ => None,
            },
            name: name.clone(),
            args,
            plain: rendered.into_iter().collect(),
            conn: crate::connection::WithEnvironment::wrap(conn, env.clone()),
            host: host.name.clone(),
            verbosity: self.options.verbosity,
            vars: LookupVars(vars.clone()),
            prefetched: host.prefetched.clone(),
            siblings: host.siblings.clone(),
            check_mode,
            diff_mode,
        };
        Ok(Ok(ReadyCall {
            call,
            limit,
            asynchronous,
            env,
        }))
    }

    /// `async` and `poll` (default 15) rendered: `None` for a task that is not
    /// asynchronous (`async` absent or 0).
    fn async_keywords(&self, task: &Task, vars: &Arc<Vars>) -> Result<Option<(u64, u64)>, String> {
        let seconds = self
            .keyword(task, "async", Kind::Int, task.async_.as_ref(), vars)?
            .and_then(|value| value.as_u64())
            .filter(|seconds| *seconds > 0);
        let poll = self
            .keyword(task, "poll", Kind::Int, task.poll.as_ref(), vars)?
            .and_then(|value| value.as_u64())
            .unwrap_or(15);
        Ok(seconds.map(|seconds| (seconds, poll)))
    }

    /// Whether the task runs in check mode: its `check_mode` keyword, else `--check`.
    pub(super) fn check_mode(&self, task: &Task, vars: &Arc<Vars>) -> Result<bool, String> {
        let value = task.options.check_mode.as_ref();
        self.mode_flag(task, "check_mode", value, self.options.check, vars)
    }

    /// A mode keyword (`check_mode`, `diff`) rendered, else the command line's `default`.
    fn mode_flag(
        &self,
        task: &Task,
        name: &str,
        value: Option<&Json>,
        default: bool,
        vars: &Arc<Vars>,
    ) -> Result<bool, String> {
        let flag = self.keyword(task, name, Kind::Bool, value, vars)?;
        Ok(flag.and_then(|f| f.as_bool()).unwrap_or(default))
    }

    /// The task's arguments rendered, layered as Ansible's `TaskArgsFinalizer` does: a
    /// template given for the whole arguments (`args: "{{ d }}"`, or `debug: "{{ d }}"`
    /// for a module without a command line) renders to a mapping under the arguments
    /// written out. Arguments that render to `omit` are left out.
    pub(super) fn render_args(
        &self,
        task: &Task,
        args: &IndexMap<String, Json>,
        takes_raw: bool,
        vars: &Arc<Vars>,
    ) -> Result<IndexMap<String, Json>, String> {
        let is_layer = |key: &str| key == VARIABLE_PARAMS || (key == "_raw_params" && !takes_raw);
        let mut rendered = IndexMap::new();
        for key in [VARIABLE_PARAMS, "_raw_params"] {
            if let Some(layer) = args.get(key).filter(|_| is_layer(key)) {
                rendered.extend(self.args_layer(task, layer, vars)?);
            }
        }
        let action = action_name(task);
        for (key, value) in args.iter().filter(|(key, _)| !is_layer(key)) {
            let value = self
                .templar
                .finalize_expression_arg(&action, key, value, vars)
                .unwrap_or_else(|| self.templar.render_value(value, vars))
                .map_err(|err| located(&err, &task.span, &format!("argument '{key}'")))?;
            rendered.insert(key.clone(), value);
        }
        rendered.retain(|_, value| value.as_str() != Some(OMIT));
        Ok(rendered)
    }

    /// One template standing for a task's whole arguments, rendered to its mapping
    /// (none when it is omitted).
    fn args_layer(
        &self,
        task: &Task,
        layer: &Json,
        vars: &Arc<Vars>,
    ) -> Result<Map<String, Json>, String> {
        let action = crate::fqcn::qualified(&action_name(task));
        if !layer.as_str().is_some_and(crate::template::is_template) {
            return Err(format!("Action '{action}' does not support raw params."));
        }
        self.reporter.warning(&format!(
            "Using a template for task args is unsafe in some situations (see https://docs.ansible.com/ansible/devel/reference_appendices/faq.html#argsplat-unsafe).\nOrigin: {}",
            task.span
        ));
        let value = self
            .templar
            .render_value(layer, vars)
            .map_err(|err| located(&err, &task.span, "args"))?;
        match value {
            Json::Object(map) => Ok(map),
            Json::String(text) if text == OMIT => Ok(Map::new()),
            other => Err(format!(
                "Finalization of task args for '{action}' failed: Task args must resolve to a 'dict' not '{}'.",
                crate::pyjson::type_name(&other)
            )),
        }
    }

    /// The connection a task runs over (delegated, with become); the inner `Err` is the
    /// task's failed result. Opening only reads the host's variables (nothing is
    /// contacted yet), so its errors are the task's, not an unreachable host.
    async fn task_connection(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Result<Arc<dyn Connection>, Outcome>, String> {
        let conn = match self.connection_for(task, host, vars, delegated).await {
            Ok(conn) => conn,
            Err(message) => return Ok(Err(modules::failed(format!("{}: {message}", task.span)))),
        };
        Ok(with_become(conn, self.become_spec(task, vars)?)
            .map_err(|err| modules::failed(err.to_string())))
    }

    /// Stops what a timed-out task started on the host and forgets its connection.
    pub(super) async fn abandon_connection(&self, host: &mut HostState) {
        if let Some((_, conn)) = host.connection.take() {
            conn.interrupt().await;
            conn.close().await;
        }
        self.connections.forget(&host.name).await;
    }

    /// A module's outcome as the task's result: facts kept for the host (when
    /// `sets_facts`), the diff dropped unless asked for, errors turned into failed or
    /// unreachable results.
    fn module_result(
        &self,
        outcome: Result<Outcome, ModuleError>,
        host: &mut HostState,
        sets_facts: bool,
        diff_mode: bool,
    ) -> Outcome {
        if let Ok(result) = &outcome
            && let Some(Json::Object(facts)) = result.get("ansible_facts")
            && sets_facts
        {
            host.add_facts(facts);
            self.cache_facts(host);
        }
        let mut result = match outcome {
            Err(ModuleError::Connection(err)) if !matches!(err, ConnectionError::Failed(_)) => {
                unreachable_result(err.to_string())
            }
            outcome => super::jobs::outcome_of(outcome),
        };
        if !diff_mode {
            result.remove("diff");
        }
        add_output_lines(&mut result);
        result
    }

    /// `set_fact`: the variables rendered and set for the host; `cacheable` ones are
    /// facts too, kept in the fact cache (as Ansible, both: the set variable keeps its
    /// precedence in this run).
    fn set_fact(
        &self,
        task: &Task,
        facts: &IndexMap<String, Json>,
        cacheable: bool,
        host: &mut HostState,
        vars: &Arc<Vars>,
    ) -> Result<Outcome, String> {
        let mut args = self.render_args(task, facts, true, vars)?;
        // A `!vault` value is set as it is, decrypted when used, as Ansible keeps it.
        for (key, value) in facts {
            if crate::vault::files::inline_text(value).is_some() {
                args.insert(key.clone(), value.clone());
            }
        }
        if args.is_empty() {
            return Err(
                "No key/value pairs provided, at least one is required for this action to succeed"
                    .into(),
            );
        }
        let mut set = Map::new();
        for (key, value) in args {
            let name = self
                .templar
                .render_value(&Json::String(key.clone()), vars)
                .map_err(|err| located(&err, &task.span, &format!("set_fact '{key}'")))?;
            set.insert(valid_variable_name(name)?, value);
        }
        for (key, value) in &set {
            Arc::make_mut(&mut host.host_vars).insert(key.clone(), value.clone());
        }
        if cacheable {
            host.add_facts(&set);
            self.cache_facts(host);
        }
        let mut result = modules::ok(false);
        result.insert("ansible_facts".into(), Json::Object(set));
        Ok(result)
    }

    /// `environment:` of the task and its parents, rendered as Ansible's
    /// `_post_validate_environment` does: a list holds mappings or templates of
    /// them, each value is rendered on its own, an omitted item or value is left
    /// out, and a value needing the not yet gathered `ansible_env` is skipped.
    pub(super) fn environment(
        &self,
        task: &Task,
        vars: &Arc<Vars>,
    ) -> Result<Vec<(String, String)>, String> {
        let mut env: Vec<(String, String)> = Vec::new();
        let mut set = |key: String, value: Json| {
            let text = match value {
                Json::String(s) if s == super::vars::OMIT => return,
                Json::String(s) => s,
                Json::Bool(b) => if b { "True" } else { "False" }.into(),
                other => other.to_string(),
            };
            env.retain(|(k, _)| *k != key);
            env.push((key, text));
        };
        let render = |value: &Json| {
            self.templar
                .render_value(value, vars)
                .map_err(|err| (err.message.contains("ansible_env"), err))
        };
        for layer in &task.options.environment {
            let items = match layer {
                Json::Array(items) => items.as_slice(),
                other => std::slice::from_ref(other),
            };
            for item in items {
                if let Json::Object(map) = item {
                    for (key, value) in map {
                        match render(value) {
                            Ok(rendered) => set(key.clone(), rendered),
                            Err((true, _)) => {}
                            Err((false, err)) => {
                                return Err(located(&err, &task.span, "environment"));
                            }
                        }
                    }
                    continue;
                }
                match render(item).map_err(|(_, err)| located(&err, &task.span, "environment"))? {
                    Json::Object(map) => map.into_iter().for_each(|(k, v)| set(k, v)),
                    Json::Null => {}
                    Json::String(text) if text == super::vars::OMIT => {}
                    _ => {
                        // As Ansible's task validation: the whole environment is dropped.
                        let layers = Json::Array(task.options.environment.clone());
                        self.reporter.warning(&format!(
                            "could not parse environment value, skipping: {}",
                            crate::pyjson::dumps(&layers, None)
                        ));
                        return Ok(Vec::new());
                    }
                }
            }
        }
        Ok(env)
    }

    /// `conn` showing what it does under `-vvv`, unless the task is `no_log`.
    pub(super) fn traced(
        &self,
        task: &Task,
        host: &str,
        vars: &Arc<Vars>,
        conn: Arc<dyn Connection>,
    ) -> Arc<dyn Connection> {
        if self.options.verbosity < 3 || self.no_log(task, vars) {
            return conn;
        }
        let reporter = self.reporter.clone();
        let log: crate::connection::TraceLog = Arc::new(move |line| reporter.verbose_line(line));
        crate::connection::Traced::wrap(conn, host, log)
    }

    /// The connection `task` runs over on `host` (or on the host `delegated` names),
    /// with the task's connection keywords: made on first use and kept for the run.
    pub(super) async fn connection_for(
        &self,
        task: &Task,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Arc<dyn Connection>, String> {
        let keywords = self.connect_keywords(task, vars)?;
        if let Some(target) = delegated {
            let in_inventory = self.inventory().host_names().iter().any(|h| h == target);
            if !in_inventory && (target == "localhost" || target == "127.0.0.1") {
                return Ok(Arc::new(LocalConnection));
            }
            return self
                .connections
                .get_or_open(target, &keywords, || {
                    let mut map = self.inventory().host_vars(target);
                    if !in_inventory {
                        map.insert("ansible_host".into(), Json::String(target.to_string()));
                    }
                    let target_vars = Vars::new(self.templar.clone(), map);
                    super::connect::open(target, &target_vars, &self.options, &keywords)
                })
                .await;
        }
        if let Some((made_with, conn)) = &host.connection
            && *made_with == keywords
        {
            return Ok(conn.clone());
        }
        let conn = self
            .connections
            .get_or_open(&host.name, &keywords, || {
                super::connect::open(&host.name, vars, &self.options, &keywords)
            })
            .await?;
        host.connection = Some((keywords, conn.clone()));
        Ok(conn)
    }
}

/// The `VarLookup` modules use: the task's variables through the engine.
pub(super) struct LookupVars(Arc<Vars>);

impl VarLookup for LookupVars {
    fn eval(&self, expression: &str) -> Result<Option<Json>, String> {
        Vars::take_nested_error();
        let value = self
            .0
            .templar()
            .eval_value(expression, &self.0)
            .map_err(|e| e.message)?;
        if value.is_undefined() {
            // Undefined because the variable's own value failed (a vaulted value
            // without its secret, a broken template): that failure is the answer.
            return match Vars::take_nested_error() {
                Some(err) => Err(err.message),
                None => Ok(None),
            };
        }
        Ok(Some(crate::template::to_json(&value)))
    }

    fn eval_all_replacing_undefined(
        &self,
        expressions: &[&str],
    ) -> Result<(Vec<Json>, Vec<String>), String> {
        self.0
            .templar()
            .eval_all_replacing_undefined(expressions, &self.0)
            .map_err(|e| e.message)
    }

    fn condition(&self, conditional: &Json) -> Result<bool, String> {
        self.0
            .templar()
            .evaluate_conditional(conditional, &self.0, "<unknown>")
            .map_err(|e| e.message)
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
        let scope = self.0.with_extra(extra);
        self.0
            .templar()
            .render_with(text, &scope, options)
            .map_err(|e| e.message)
    }
}

/// Marks a result failed by a `changed_when`/`failed_when` that could not be
/// evaluated, keeping why under `key`.
fn condition_failed(result: &mut Outcome, key: &str, message: String) {
    result.insert("failed".into(), Json::Bool(true));
    result.insert(key.into(), Json::String(message));
}

/// Where a task whose module name is a template keeps the module it ran, so its
/// result is shown as that module's (an internal key, never displayed).
pub(super) const RESOLVED_ACTION_KEY: &str = "_ansible_resolved_action";

/// The action a result came from: the module a templated name resolved to, else the
/// task's own.
pub(super) fn result_action(task: &Task, result: &Outcome) -> String {
    match result.get(RESOLVED_ACTION_KEY).and_then(Json::as_str) {
        Some(name) => name.to_string(),
        None => action_name(task),
    }
}

/// The actions that refuse `async`, as Ansible's action plugins without async support.
const NO_ASYNC: &[&str] = &[
    "assemble",
    "assert",
    "copy",
    "debug",
    "fail",
    "fetch",
    "pause",
    "raw",
    "script",
    "set_stats",
    "template",
    "unarchive",
];

/// A module call ready to run, with the keywords that say how it runs.
pub(super) struct ReadyCall {
    /// The call, its connection not yet traced.
    pub(super) call: ModuleCall,
    /// The task's `timeout` in seconds, when it has one.
    pub(super) limit: Option<f64>,
    /// `async` seconds and `poll`, for an asynchronous task.
    pub(super) asynchronous: Option<(u64, u64)>,
    /// The task's `environment:`, which its connection adds to every command.
    pub(super) env: Vec<(String, String)>,
}

/// One module call with everything it needs owned, so it can run inline or as a
/// background job.
pub(super) struct ModuleCall {
    module: Option<&'static dyn modules::Module>,
    dropin: Option<std::path::PathBuf>,
    name: String,
    pub(super) args: Args,
    plain: Map<String, Json>,
    conn: Arc<dyn Connection>,
    host: String,
    verbosity: u8,
    vars: LookupVars,
    prefetched: Option<Arc<modules::prefetch::Prefetched>>,
    /// The loop's items' arguments, when it asks ahead ([`modules::Target::siblings`]).
    pub(super) siblings: Option<Arc<Vec<Args>>>,
    check_mode: bool,
    diff_mode: bool,
}

impl ModuleCall {
    /// What the module gets to work with.
    fn context(&self) -> ModuleContext<'_> {
        ModuleContext {
            target: Target {
                conn: self.conn.as_ref(),
                host: &self.host,
                verbosity: self.verbosity,
                vars: &self.vars,
                prefetched: self.prefetched.as_deref(),
                siblings: self.siblings.as_deref().map(Vec::as_slice),
            },
            check_mode: self.check_mode,
            diff_mode: self.diff_mode,
        }
    }

    /// The question the built-in module would ask the target first, when a loop may
    /// ask it ahead.
    pub(super) async fn first_question(&self) -> Option<crate::connection::Command> {
        self.module?
            .first_question(&self.context(), &self.args)
            .await
    }

    /// The connection the call runs on.
    pub(super) fn conn(&self) -> &Arc<dyn Connection> {
        &self.conn
    }

    /// Runs the built-in module, or the drop-in one.
    async fn run(self) -> Result<Outcome, ModuleError> {
        let ctx = self.context();
        match (self.module, &self.dropin) {
            (Some(module), _) => {
                let outcome = module.run(&ctx, &self.args).await;
                match module.reports_invocation() {
                    true => with_invocation(
                        outcome,
                        modules::invocation(&module.all_params(), &self.args),
                    ),
                    false => outcome,
                }
            }
            (None, Some(path)) => modules::dropin::run(&ctx, &self.name, path, &self.plain).await,
            (None, None) => Err(ModuleError::Failed(format!(
                "couldn't resolve module/action '{}'",
                self.name
            ))),
        }
    }
}

/// A module's outcome with its `invocation`, failures included (a failure given as a
/// message becomes Ansible's failed result with it).
fn with_invocation(
    outcome: Result<Outcome, ModuleError>,
    invocation: Json,
) -> Result<Outcome, ModuleError> {
    let add = |mut result: Outcome| {
        result.entry("invocation").or_insert(invocation);
        result
    };
    match outcome {
        Ok(result) => Ok(add(result)),
        Err(ModuleError::FailedWith(result)) => Err(ModuleError::FailedWith(add(result))),
        Err(ModuleError::Failed(message)) => {
            Err(ModuleError::FailedWith(add(modules::failed(message))))
        }
        Err(other) => Err(other),
    }
}

/// Sets `failed` and `changed` when a module left them out, as Ansible's task executor
/// does: `failed` from a non-zero `rc`, `changed` false.
pub(super) fn settle_flags(result: &mut Outcome) {
    if !result.contains_key("failed") {
        let rc_failed = result
            .get("rc")
            .is_some_and(|rc| !matches!(rc, Json::Number(n) if n.as_i64() == Some(0)) && rc != "0");
        result.insert("failed".into(), Json::Bool(rc_failed));
    }
    result.entry("changed").or_insert(Json::Bool(false));
}

/// `conn`, wrapped to become another user when `spec` says so.
pub(super) fn with_become(
    conn: Arc<dyn Connection>,
    spec: Option<BecomeSpec>,
) -> Result<Arc<dyn Connection>, ConnectionError> {
    Ok(match spec {
        Some(spec) => Arc::new(Become::new(conn, spec)?),
        None => conn,
    })
}

/// A variable name as Ansible's `validate_variable_name` accepts it: an ASCII
/// identifier that Jinja does not reserve.
fn valid_variable_name(name: Json) -> Result<String, String> {
    if let Json::String(text) = &name
        && crate::template::is_variable_name(text)
    {
        return Ok(text.clone());
    }
    let shown = match &name {
        Json::String(text) => text.clone(),
        Json::Array(_) | Json::Object(_) => String::new(),
        other => crate::template::pyfmt::py_str(&minijinja::Value::from_serialize(other)),
    };
    let mut description = if shown.is_empty() && !name.is_string() {
        "name".to_string()
    } else {
        format!("name '{shown}'")
    };
    if !name.is_string() {
        description.push_str(&format!(" of type '{}'", crate::pyjson::type_name(&name)));
    }
    Err(format!(
        "Invalid variable {description}. Variable names must be strings starting with a letter or underscore character, and contain only letters, numbers and underscores."
    ))
}

/// `stdout_lines` and `stderr_lines` beside a module's `stdout` and `stderr`, where
/// the module did not set them, as Ansible's `_execute_module` adds them to every result.
fn add_output_lines(result: &mut Outcome) {
    for (stream, key) in [("stdout", "stdout_lines"), ("stderr", "stderr_lines")] {
        if result.contains_key(key) {
            continue;
        }
        if let Some(text) = result.get(stream) {
            let lines = modules::lines(text.as_str().unwrap_or_default());
            result.insert(key.into(), lines);
        }
    }
}
