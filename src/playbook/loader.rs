//! Reads playbooks, task files and roles into the typed tree of [`super::ast`],
//! checking every keyword, module and module argument on the way. Anything wrong is a
//! [`SourceError`] naming file, line and column, before any host is touched.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::args::{COMMAND_OPTIONS, FREE_FORM_ACTIONS, VARIABLE_PARAMS, check_balanced, parse_kv};
use super::ast::*;
use crate::modules::args::{check_names, find_param, typo_of, unsupported};
use crate::modules::{self, FreeForm};
use crate::source::{SourceError, Span};
use crate::yaml::{self, Node, Value};

/// Task keywords (everything a task mapping may hold besides its action).
const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "with_indexed_items",
    "with_sequence",
    "with_fileglob",
    "with_together",
    "with_nested",
    "with_subelements",
    "loop_control",
    "register",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "until",
    "retries",
    "delay",
    "async",
    "poll",
    "tags",
    "vars",
    "environment",
    "no_log",
    "check_mode",
    "diff",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "args",
    "action",
    "local_action",
    "any_errors_fatal",
    "throttle",
    "timeout",
    "collections",
    "debugger",
    "connection",
    "remote_user",
    "port",
    "module_defaults",
    "block",
    "rescue",
    "always",
];

/// Play keywords.
const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "pre_tasks",
    "roles",
    "tasks",
    "post_tasks",
    "handlers",
    "tags",
    "environment",
    "serial",
    "ignore_unreachable",
    "ignore_errors",
    "any_errors_fatal",
    "strategy",
    "max_fail_percentage",
    "check_mode",
    "diff",
    "no_log",
    "force_handlers",
    "connection",
    "remote_user",
    "port",
    "order",
    "collections",
    "run_once",
    "throttle",
    "timeout",
    "module_defaults",
    "debugger",
    "vars_prompt",
];

/// The keywords of a play's role entry (Ansible's `RoleDefinition` attributes); every
/// other key of the entry is a role parameter.
const ROLE_ENTRY_KEYWORDS: &[&str] = &[
    "role",
    "name",
    "when",
    "tags",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "become_exe",
    "connection",
    "port",
    "remote_user",
    "environment",
    "no_log",
    "run_once",
    "ignore_errors",
    "ignore_unreachable",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "throttle",
    "timeout",
    "debugger",
    "module_defaults",
    "collections",
    "delegate_to",
    "delegate_facts",
];

/// Actions bosun runs itself rather than through a module.
const EXECUTOR_ACTIONS: &[&str] = &[
    "block",
    "include_tasks",
    "import_tasks",
    "include_role",
    "import_role",
    "set_fact",
    "include_vars",
    "meta",
    "import_playbook",
];

/// Loads playbooks and the files and roles they refer to.
pub struct Loader {
    roles_path: Vec<PathBuf>,
    /// `collections_path`: where `namespace.collection.role` roles are found (after
    /// `collections/` beside the playbook).
    collections_path: Vec<PathBuf>,
    module_path: Vec<PathBuf>,
    /// Roles already added to the current play, by path and parameters, with the
    /// variables each exports to the roles that depend on it (`None` while it loads).
    seen_roles: Mutex<HashMap<String, Option<VarMap>>>,
}

/// Where a task list is being read: decides relative paths, role scope and tags.
#[derive(Clone)]
pub struct LoadContext {
    /// Directory relative paths start from.
    pub dir: PathBuf,
    /// The playbook's directory.
    pub playbook_dir: PathBuf,
    /// The role being read, if any.
    pub role: Option<Arc<RoleScope>>,
    /// Inherited from enclosing plays, roles, blocks and imports.
    pub inherited: Inherited,
    /// Handlers collected from roles on the way.
    pub handlers: Arc<Mutex<Vec<Task>>>,
    /// How deep imports are nested (to stop import loops).
    pub depth: usize,
    /// Whether the role being loaded is another role's `meta` dependency.
    pub loading_dependency: bool,
    /// The `when` and `tags` of the `roles:` entry (or dependency) being loaded, as
    /// written: with the role's path and parameters, what makes two uses of a role
    /// the same one (Ansible's `Role.__eq__`).
    pub role_entry_keywords: String,
    /// Whether handlers are being read (where `meta: end_role` is refused).
    pub loading_handlers: bool,
    /// Whether the tasks of a block of handlers are being read: Ansible flattens such
    /// a block, and refuses another block inside it.
    pub in_handler_block: bool,
}

impl LoadContext {
    /// The context at the top of a playbook (or an ad hoc task) in `dir`.
    pub fn top(dir: &Path) -> LoadContext {
        LoadContext {
            dir: dir.to_path_buf(),
            playbook_dir: dir.to_path_buf(),
            role: None,
            inherited: Inherited::default(),
            handlers: Arc::new(Mutex::new(Vec::new())),
            depth: 0,
            loading_dependency: false,
            role_entry_keywords: String::new(),
            loading_handlers: false,
            in_handler_block: false,
        }
    }
}

/// What enclosing blocks, imports and roles pass down to every task in them.
#[derive(Clone, Debug, Default)]
pub struct Inherited {
    /// Conditions to prepend.
    pub when: Vec<Expr>,
    /// Tags to add.
    pub tags: Vec<String>,
    /// Variables beneath the task's own.
    pub vars: VarMap,
    /// Options beneath the task's own.
    pub options: TaskOptions,
    /// Handlers notified besides the task's own (`notify` on a block or import).
    pub notify: Vec<String>,
}

impl Loader {
    /// A loader that finds roles in `roles/` beside the playbook, then in `roles_path`,
    /// and drop-in modules beside the playbook, in roles, then in `module_path`.
    pub fn new(roles_path: Vec<PathBuf>, module_path: Vec<PathBuf>) -> Loader {
        Loader {
            roles_path,
            collections_path: Vec::new(),
            module_path,
            seen_roles: Mutex::new(HashMap::new()),
        }
    }

    /// This loader, finding collection roles under `paths` too.
    pub fn with_collections(mut self, paths: Vec<PathBuf>) -> Loader {
        self.collections_path = paths;
        self
    }

    /// Loads a playbook file with everything it imports.
    pub fn load_playbook(&self, path: &Path) -> Result<Playbook, SourceError> {
        let mut plays = Vec::new();
        self.load_plays(path, &mut plays, 0)?;
        Ok(Playbook {
            path: path.to_path_buf(),
            plays,
        })
    }

    fn load_plays(
        &self,
        path: &Path,
        plays: &mut Vec<Play>,
        depth: usize,
    ) -> Result<(), SourceError> {
        let root = yaml::load_file(path)?;
        let dir = absolute_dir(&root.span.dir());
        let items = match &root.value {
            Value::Seq(items) if items.is_empty() && depth == 0 => {
                return Err(SourceError::new(
                    &root.span,
                    format!(
                        "A playbook must contain at least one play: {}",
                        path.display()
                    ),
                ));
            }
            Value::Seq(items) => items,
            Value::Null if depth == 0 => {
                return Err(SourceError::new(
                    &root.span,
                    format!("Empty playbook, nothing to do: {}", path.display()),
                ));
            }
            Value::Null => return Ok(()),
            _ => {
                return Err(
                    SourceError::new(&root.span, "a playbook must be a list of plays")
                        .with_help("start each play with `- hosts: ...`"),
                );
            }
        };
        for item in items {
            if let Some(target) = item
                .get("import_playbook")
                .or_else(|| item.get("ansible.builtin.import_playbook"))
            {
                let name = expect_str(target)?;
                if depth > 20 {
                    return Err(SourceError::new(
                        &target.span,
                        "import_playbook nests too deep (a loop?)",
                    ));
                }
                let file = dir.join(name);
                if !file.exists() {
                    return Err(SourceError::new(
                        &target.span,
                        format!("the playbook {} does not exist", file.display()),
                    ));
                }
                // The import's `vars` become every imported play's, winning over the
                // play's own, as Ansible's PlaybookInclude sets them.
                let import_vars = match item.get("vars") {
                    Some(vars) => parse_vars(vars)?,
                    None => VarMap::new(),
                };
                let first = plays.len();
                self.load_plays(&file, plays, depth + 1)?;
                for play in &mut plays[first..] {
                    play.vars.extend(import_vars.clone());
                }
                continue;
            }
            if let Ok(mut seen) = self.seen_roles.lock() {
                seen.clear();
            }
            plays.push(self.parse_play(item, &dir)?);
        }
        Ok(())
    }

    fn parse_play(&self, node: &Node, dir: &Path) -> Result<Play, SourceError> {
        let entries = node
            .as_map()
            .ok_or_else(|| SourceError::new(&node.span, "a play must be a mapping"))?;
        for (key, _) in entries {
            let name = key.key_string();
            if !PLAY_KEYWORDS.contains(&name.as_str()) && name != "user" {
                let mut err = SourceError::new(
                    &key.span,
                    format!("'{name}' is not a valid attribute for a Play"),
                );
                if let Some(close) = crate::suggest::closest(&name, PLAY_KEYWORDS.iter().copied()) {
                    err = err.with_help(format!("did you mean '{close}'?"));
                }
                if lookup_action(&name) {
                    err = err.with_help("modules belong in a task under `tasks:`");
                }
                return Err(err);
            }
        }
        let hosts = match node.get("hosts") {
            Some(h) => match &h.value {
                Value::Seq(items) if !items.is_empty() => items
                    .iter()
                    .map(Node::key_string)
                    .collect::<Vec<_>>()
                    .join(","),
                Value::Seq(_) | Value::Null => {
                    return Err(SourceError::new(
                        &h.span,
                        "Hosts list cannot be empty. Please check your playbook",
                    ));
                }
                _ => h.key_string(),
            },
            None => {
                return Err(SourceError::new(
                    &node.span,
                    "the field 'hosts' is required but was not set",
                )
                .with_help("add `hosts: all` (or a group or host pattern) to the play"));
            }
        };
        let mut options = parse_options(node)?;
        if let Some(user) = node.get("user") {
            if options.connect.remote_user.is_some() {
                return Err(SourceError::new(
                    &node.span,
                    "both 'user' and 'remote_user' are set for this play. The use of 'user' is deprecated, and should be removed",
                ));
            }
            options.connect.remote_user = Some(user.key_string());
        }
        let tags = parse_tags(node.get("tags"))?;
        let ctx = LoadContext {
            inherited: Inherited {
                tags,
                options: options.clone(),
                ..Inherited::default()
            },
            ..LoadContext::top(dir)
        };
        let task_list = |key: &str| match node.get(key) {
            Some(list) => self.parse_tasks(list, &ctx),
            None => Ok(Vec::new()),
        };
        let pre_tasks = task_list("pre_tasks")?;
        let mut roles = Vec::new();
        if let Some(list) = node.get("roles") {
            for entry in seq_or_err(list, "roles")? {
                roles.extend(self.role_entry(entry, &ctx)?.0);
            }
        }
        let tasks = task_list("tasks")?;
        let post_tasks = task_list("post_tasks")?;
        let handler_ctx = LoadContext {
            inherited: Inherited {
                options: options.clone(),
                ..Inherited::default()
            },
            loading_handlers: true,
            ..ctx.clone()
        };
        let own_handlers = match node.get("handlers") {
            Some(list) => self.parse_tasks(list, &handler_ctx)?,
            None => Vec::new(),
        };
        // The roles' handlers come first, as in Ansible's play (so they run first).
        let mut handlers = match ctx.handlers.lock() {
            Ok(mut role_handlers) => std::mem::take(&mut *role_handlers),
            Err(_) => Vec::new(),
        };
        handlers.extend(own_handlers);
        let mut vars = VarMap::new();
        if let Some(v) = node.get("vars") {
            vars = parse_vars(v)?;
        }
        let vars_files = match node.get("vars_files") {
            Some(list) => match &list.value {
                Value::Seq(items) => items
                    .iter()
                    .map(|item| Ok((vars_file_candidates(item)?, item.span.clone())))
                    .collect::<Result<_, SourceError>>()?,
                Value::Str(s) => vec![(vec![s.clone()], list.span.clone())],
                Value::Null => Vec::new(),
                _ => {
                    return Err(SourceError::new(
                        &list.span,
                        "vars_files must be a list of file names",
                    ));
                }
            },
            None => Vec::new(),
        };
        let vars_prompt = parse_vars_prompt(node.get("vars_prompt"))?;
        let gather_facts = node.get("gather_facts").map(expect_bool).transpose()?;
        let strategy = node
            .get("strategy")
            .map(Node::key_string)
            .unwrap_or_else(|| "linear".into());
        Ok(Play {
            name: node.get("name").map(Node::key_string),
            hosts,
            span: node.span.clone(),
            dir: dir.to_path_buf(),
            vars,
            vars_files,
            vars_prompt,
            gather_facts,
            pre_tasks,
            roles,
            tasks,
            post_tasks,
            handlers,
            options,
            serial: node.get("serial").map(Node::to_json),
            strategy,
            max_fail_percentage: node
                .get("max_fail_percentage")
                .and_then(|n| n.to_json().as_f64()),
            force_handlers: node.get("force_handlers").map(expect_bool).transpose()?,
        })
    }

    /// Reads a list of tasks.
    pub fn parse_tasks(&self, node: &Node, ctx: &LoadContext) -> Result<Vec<Task>, SourceError> {
        match &node.value {
            Value::Null => Ok(Vec::new()),
            Value::Seq(items) => {
                let mut tasks = Vec::new();
                for item in items {
                    tasks.push(self.parse_task(item, ctx)?);
                }
                Ok(tasks)
            }
            _ => Err(SourceError::new(
                &node.span,
                format!("a task list must be a list, not {}", node.type_name()),
            )),
        }
    }

    /// Reads a task file (for `import_tasks`, `include_tasks` and roles).
    pub fn load_tasks_file(
        &self,
        path: &Path,
        ctx: &LoadContext,
    ) -> Result<Vec<Task>, SourceError> {
        let root = yaml::load_file(path)?;
        let inner = LoadContext {
            dir: root.span.dir(),
            ..ctx.clone()
        };
        self.parse_tasks(&root, &inner)
    }

    fn parse_task(&self, node: &Node, ctx: &LoadContext) -> Result<Task, SourceError> {
        let entries = node.as_map().ok_or_else(|| {
            SourceError::new(
                &node.span,
                format!("a task must be a mapping, not {}", node.type_name()),
            )
            .with_help("write tasks as `- name: ...` followed by a module, e.g. `command: ls`")
        })?;
        let mut action_keys: Vec<&Node> = Vec::new();
        for (key, _) in entries {
            let name = key.key_string();
            if TASK_KEYWORDS.contains(&name.as_str()) || with_lookup(&name).is_some() {
                continue;
            }
            if lookup_action(&name) || self.find_dropin(&name, ctx).is_some() {
                action_keys.push(key);
                continue;
            }
            let candidates = TASK_KEYWORDS
                .iter()
                .copied()
                .chain(modules::names())
                .chain(crate::fqcn::ansible_builtin_names())
                .chain(EXECUTOR_ACTIONS.iter().copied());
            let mut err = SourceError::new(
                &key.span,
                format!(
                    "couldn't resolve module/action '{name}'; it is neither a bosun module nor a task keyword"
                ),
            );
            if let Some(close) = crate::suggest::closest(crate::fqcn::short_name(&name), candidates)
            {
                err = err.with_help(format!("did you mean '{close}'?"));
            }
            return Err(err);
        }
        let is_block = node.get("block").is_some();
        if is_block && ctx.in_handler_block {
            return Err(SourceError::new(
                &node.span,
                "Using a block as a handler is not supported.",
            ));
        }
        let action_node = node.get("action").or_else(|| node.get("local_action"));
        if is_block && !action_keys.is_empty() {
            return Err(SourceError::new(
                &action_keys[0].span,
                "a block cannot also run a module",
            ));
        }
        if action_keys.len() > 1 {
            let names: Vec<String> = action_keys.iter().map(|k| k.key_string()).collect();
            return Err(SourceError::new(
                &action_keys[1].span,
                format!("conflicting action statements: {}", names.join(", ")),
            ));
        }
        if !is_block && action_keys.is_empty() && action_node.is_none() {
            return Err(
                SourceError::new(&node.span, "no module/action detected in task")
                    .with_help("a task needs one module, e.g. `command: uptime`, or a `block:`"),
            );
        }

        let name = node.get("name").map(Node::key_string);
        let mut options = parse_options(node)?;
        if node.get("local_action").is_some() {
            options.delegate_to = Some("localhost".into());
        }
        let mut task = Task::new(Action::Meta(Meta::Noop), node.span.clone());
        task.name = name;
        task.role = ctx.role.clone();
        task.when = ctx.inherited.when.clone();
        task.when.extend(parse_conditions(node.get("when"))?);
        task.tags = ctx.inherited.tags.clone();
        task.inherited_tags = task.tags.len();
        for tag in parse_tags(node.get("tags"))? {
            if !task.tags.contains(&tag) {
                task.tags.push(tag);
            }
        }
        task.vars = ctx.inherited.vars.clone();
        if let Some(v) = node.get("vars") {
            task.vars.extend(parse_vars(v)?);
        }
        task.options = ctx.inherited.options.overlay(&options);
        task.register = node.get("register").map(expect_identifier).transpose()?;
        task.notify = ctx.inherited.notify.clone();
        for name in string_list(node.get("notify"))? {
            if !task.notify.contains(&name) {
                task.notify.push(name);
            }
        }
        task.listen = string_list(node.get("listen"))?;
        task.changed_when = node
            .get("changed_when")
            .map(|n| parse_conditions(Some(n)))
            .transpose()?;
        task.failed_when = node
            .get("failed_when")
            .map(|n| parse_conditions(Some(n)))
            .transpose()?;
        task.until = node
            .get("until")
            .map(|n| parse_conditions(Some(n)))
            .transpose()?;
        task.retries = node.get("retries").map(Node::to_json);
        task.delay = node.get("delay").map(Node::to_json);
        task.async_ = node.get("async").map(Node::to_json);
        task.poll = node.get("poll").map(Node::to_json);
        task.loop_ = parse_loop(node)?;
        if let Some(control) = node.get("loop_control") {
            task.loop_control = parse_loop_control(control)?;
        }

        if is_block {
            let inner = LoadContext {
                inherited: Inherited {
                    when: task.when.clone(),
                    tags: task.tags.clone(),
                    vars: task.vars.clone(),
                    options: task.options.clone(),
                    notify: task.notify.clone(),
                },
                in_handler_block: ctx.loading_handlers,
                ..ctx.clone()
            };
            let list = |key: &str| match node.get(key) {
                Some(n) => self.parse_tasks(n, &inner),
                None => Ok(Vec::new()),
            };
            task.action = Action::Block {
                block: list("block")?,
                rescue: list("rescue")?,
                always: list("always")?,
            };
            return Ok(task);
        }

        let (module_name, module_node, name_span) = match (action_keys.first(), action_node) {
            (Some(key), _) => {
                let value = node.get(&key.key_string()).unwrap_or(key);
                (key.key_string(), value.clone(), key.span.clone())
            }
            (None, Some(action)) => split_action(action)?,
            (None, None) => {
                return Err(SourceError::new(
                    &node.span,
                    "no module/action detected in task",
                ));
            }
        };
        let short = crate::fqcn::short_name(&module_name).to_string();
        task.action_written = Some(module_name.clone());
        let extra_args = node.get("args");
        task.action =
            self.parse_action(&short, &module_node, extra_args, &name_span, &mut task, ctx)?;
        Ok(task)
    }

    /// Reads the action of a task: a module call or one of the executor's own actions.
    fn parse_action(
        &self,
        name: &str,
        value: &Node,
        extra_args: Option<&Node>,
        name_span: &Span,
        task: &mut Task,
        ctx: &LoadContext,
    ) -> Result<Action, SourceError> {
        let mut args = match &value.value {
            Value::Map(entries) => {
                let mut args = IndexMap::new();
                for (k, v) in entries {
                    args.insert(k.key_string(), v.to_json());
                }
                args
            }
            Value::Null => IndexMap::new(),
            Value::Str(text) => {
                let raw_keys: Option<Vec<&str>> = match modules::lookup(name) {
                    Some(m) if m.free_form() == FreeForm::Raw => Some(
                        m.all_params()
                            .iter()
                            .map(|p| p.name)
                            .filter(|n| *n != "_raw_params")
                            .collect(),
                    ),
                    None if FREE_FORM_ACTIONS.contains(&name) => Some(COMMAND_OPTIONS.to_vec()),
                    _ => None,
                };
                check_balanced(text).map_err(|message| SourceError::new(&value.span, message))?;
                parse_kv(text, raw_keys.as_deref())
            }
            _ => {
                return Err(SourceError::new(
                    &value.span,
                    format!(
                        "the arguments of '{name}' must be a mapping or a string, not {}",
                        value.type_name()
                    ),
                ));
            }
        };
        if let Some(extra) = extra_args {
            merge_args_keyword(&mut args, extra)?;
        }
        refuse_internal_args(name, &args, &value.span)?;
        let arg_span = |key: &str| -> Span {
            [Some(value), extra_args]
                .into_iter()
                .flatten()
                .filter_map(Node::as_map)
                .flat_map(|entries| entries.iter())
                .find(|(k, _)| k.key_string() == key)
                .map_or_else(|| value.span.clone(), |(k, _)| k.span.clone())
        };
        let raw_or = |key: &str| -> Option<String> {
            args.get("_raw_params")
                .or_else(|| args.get(key))
                .map(|v| match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
        };
        if crate::template::is_template(name) {
            return Ok(Action::Templated {
                name: name.to_string(),
                args,
            });
        }
        if let Some(action) = ControlAction::named(name) {
            return Ok(Action::Control { action, args });
        }
        match name {
            "import_tasks" | "include_tasks" => {
                let file = raw_or("file").ok_or_else(|| {
                    SourceError::new(&value.span, format!("{name} needs a file name"))
                })?;
                let file = match crate::template::is_template(&file) {
                    true if name == "import_tasks" => match load_time_render(&file, ctx) {
                        Some(rendered) => rendered,
                        None => return Ok(Action::IncludeTasks { file, apply: None }),
                    },
                    _ => file,
                };
                if name == "include_tasks" {
                    let apply = parse_apply(value)?;
                    return Ok(Action::IncludeTasks { file, apply });
                }
                let path = resolve_tasks_path(&ctx.dir, &ctx.playbook_dir, &file);
                if !path.exists() {
                    return Err(SourceError::new(
                        &value.span,
                        format!("the task file {} does not exist", path.display()),
                    ));
                }
                if ctx.depth > 30 {
                    return Err(SourceError::new(
                        &value.span,
                        "import_tasks nests too deep (a loop?)",
                    ));
                }
                let inner = self.child_context(task, ctx);
                let block = self.load_tasks_file(&path, &inner)?;
                Ok(Action::Block {
                    block,
                    rescue: Vec::new(),
                    always: Vec::new(),
                })
            }
            "import_role" | "include_role" if ctx.loading_handlers => Err(SourceError::new(
                name_span,
                format!("Using '{name}' as a handler is not supported."),
            )),
            "import_role" | "include_role" => {
                let role = args
                    .get("name")
                    .and_then(Json::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| {
                        SourceError::new(&value.span, format!("{name} needs `name:` (the role)"))
                    })?;
                let file_arg = |key: &str| args.get(key).and_then(Json::as_str).map(str::to_string);
                let (tasks_from, handlers_from) =
                    (file_arg("tasks_from"), file_arg("handlers_from"));
                let allow_duplicates = args
                    .get("allow_duplicates")
                    .is_none_or(|v| crate::modules::args::parse_bool(v) != Some(false));
                if name == "include_role" || crate::template::is_template(&role) {
                    return Ok(Action::IncludeRole {
                        name: role,
                        tasks_from,
                        handlers_from,
                        apply: parse_apply(value)?,
                        allow_duplicates,
                    });
                }
                let params = match args.get("vars") {
                    Some(Json::Object(map)) => map.clone(),
                    _ => VarMap::new(),
                };
                let validate = args
                    .get("rolespec_validate")
                    .is_none_or(|v| crate::modules::args::parse_bool(v) != Some(false));
                let inner = self.child_context(task, ctx);
                let block = self.load_role_validated(
                    &role,
                    params,
                    RoleFrom {
                        tasks: tasks_from.as_deref(),
                        handlers: handlers_from.as_deref(),
                    },
                    &value.span,
                    &inner,
                    RoleUse::Include { allow_duplicates },
                    validate,
                )?;
                Ok(Action::Block {
                    block,
                    rescue: Vec::new(),
                    always: Vec::new(),
                })
            }
            "set_fact" => {
                let cacheable = args.shift_remove("cacheable");
                Ok(Action::SetFact {
                    facts: args,
                    cacheable,
                })
            }
            "include_vars" => Ok(Action::IncludeVars { args }),
            "meta" => {
                let what = raw_or("_raw_params").unwrap_or_default();
                let meta = Meta::named(&what).ok_or_else(|| {
                    let words: Vec<&str> = Meta::ALL.iter().map(|(_, w)| *w).collect();
                    SourceError::new(
                        &value.span,
                        format!(
                            "invalid meta action requested: {what} (one of: {})",
                            words.join(", ")
                        ),
                    )
                })?;
                if meta == Meta::EndRole && ctx.loading_handlers {
                    return Err(SourceError::new(
                        &value.span,
                        "Cannot execute 'end_role' from a handler",
                    ));
                }
                if meta == Meta::EndRole && ctx.role.is_none() {
                    return Err(SourceError::new(
                        &value.span,
                        "Cannot execute 'end_role' from outside of a role",
                    ));
                }
                Ok(Action::Meta(meta))
            }
            "import_playbook" => Err(SourceError::new(
                name_span,
                "import_playbook is only allowed at the top level of a playbook, not as a task",
            )),
            _ if modules::lookup(name).is_none() && self.find_dropin(name, ctx).is_some() => {
                let path = self.find_dropin(name, ctx).unwrap_or_default();
                Ok(Action::DropIn {
                    name: name.to_string(),
                    path,
                    args,
                })
            }
            _ if modules::lookup(name).is_none() && crate::fqcn::is_ansible_builtin(name) => {
                Ok(Action::Unsupported {
                    name: name.to_string(),
                })
            }
            _ => {
                let module = modules::lookup(name).ok_or_else(|| {
                    SourceError::new(
                        name_span,
                        format!("couldn't resolve module/action '{name}'"),
                    )
                })?;
                let takes_raw = module.free_form() == FreeForm::Raw;
                for (key, value) in &args {
                    if key == VARIABLE_PARAMS || (key == "_raw_params" && !takes_raw) {
                        continue;
                    }
                    let params = module.all_params();
                    let Some(param) = find_param(&params, key) else {
                        // A typo is refused now; any other name fails when the task
                        // runs, as in Ansible.
                        if typo_of(&params, key).is_some() {
                            return Err(SourceError::new(
                                &arg_span(key),
                                format!("{}: {}", module.name(), unsupported(&params, key)),
                            ));
                        }
                        continue;
                    };
                    check_names(param, value).map_err(|msg| {
                        SourceError::new(&arg_span(key), format!("{}: {msg}", module.name()))
                    })?;
                }
                Ok(Action::Module {
                    module: ModuleRef(module),
                    args,
                })
            }
        }
    }

    /// The action a templated module name (`action: "{{ module }} msg=hi"`) rendered
    /// to names, with its arguments checked as the loader checks a written one.
    pub fn resolve_templated(
        &self,
        name: &str,
        args: IndexMap<String, Json>,
    ) -> Result<Action, String> {
        let short = crate::fqcn::short_name(name);
        if let Some(action) = ControlAction::named(short) {
            return Ok(Action::Control { action, args });
        }
        if short == "set_fact" {
            let mut facts = args;
            let cacheable = facts.shift_remove("cacheable");
            return Ok(Action::SetFact { facts, cacheable });
        }
        let Some(module) = modules::lookup(short) else {
            return match crate::fqcn::is_ansible_builtin(short) {
                true => Ok(Action::Unsupported {
                    name: short.to_string(),
                }),
                false => Err(format!("couldn't resolve module/action '{name}'")),
            };
        };
        let params = module.all_params();
        let takes_raw = module.free_form() == FreeForm::Raw;
        for (key, value) in &args {
            if key == VARIABLE_PARAMS || (key == "_raw_params" && !takes_raw) {
                continue;
            }
            // An unknown name fails as the task runs, with Ansible's message.
            let Some(param) = find_param(&params, key) else {
                continue;
            };
            check_names(param, value).map_err(|msg| format!("{}: {msg}", module.name()))?;
        }
        Ok(Action::Module {
            module: ModuleRef(module),
            args,
        })
    }

    /// Builds the task of an ad hoc run (`-m module -a 'args'`), checked like a
    /// playbook task.
    pub fn adhoc_task(&self, module: &str, args: &str, dir: &Path) -> Result<Task, SourceError> {
        let file = crate::source::SourceFile::new("<command line -a>", args);
        let span = Span::at(&file, 1, 1, args.len());
        let node = Node {
            value: Value::Str(args.to_string()),
            span: span.clone(),
        };
        let ctx = LoadContext::top(dir);
        let short = crate::fqcn::short_name(module).to_string();
        let mut task = Task::new(Action::Meta(Meta::Noop), span.clone());
        task.name = Some(short.clone());
        task.action = self.parse_action(&short, &node, None, &span, &mut task.clone(), &ctx)?;
        Ok(task)
    }

    /// The drop-in module called `name` visible from `ctx`, if any.
    fn find_dropin(&self, name: &str, ctx: &LoadContext) -> Option<PathBuf> {
        let role = ctx.role.as_ref().map(|r| r.path.as_path());
        modules::dropin::find(name, role, &ctx.playbook_dir, &self.module_path)
    }

    /// The context for what an import pulls in: this task's conditions, tags, vars
    /// and options pass down to every imported task.
    fn child_context(&self, task: &Task, ctx: &LoadContext) -> LoadContext {
        LoadContext {
            inherited: Inherited {
                when: task.when.clone(),
                tags: task.tags.clone(),
                vars: task.vars.clone(),
                options: task.options.clone(),
                notify: task.notify.clone(),
            },
            depth: ctx.depth + 1,
            ..ctx.clone()
        }
    }

    /// One entry of a play's `roles:` (or of a role's `dependencies`): its blocks and
    /// the variables it exports.
    fn role_entry(&self, entry: &Node, ctx: &LoadContext) -> Result<LoadedRole, SourceError> {
        let (name, params, when, tags) = match &entry.value {
            Value::Str(name) if name.contains(',') => {
                return Err(SourceError::new(
                    &entry.span,
                    format!("Invalid old style role requirement: {name}"),
                )
                .general());
            }
            Value::Str(name) => (name.clone(), VarMap::new(), Vec::new(), Vec::new()),
            Value::Map(entries) => {
                let name_node =
                    entry
                        .get("role")
                        .or_else(|| entry.get("name"))
                        .ok_or_else(|| {
                            SourceError::new(&entry.span, "a role entry needs `role:` (or `name:`)")
                        })?;
                let mut params = VarMap::new();
                for (key, value) in entries {
                    match key.key_string().as_str() {
                        "vars" => params.extend(parse_vars(value)?),
                        keyword if ROLE_ENTRY_KEYWORDS.contains(&keyword) => {}
                        other => {
                            params.insert(other.to_string(), value.to_json());
                        }
                    }
                }
                (
                    expect_str(name_node)?.to_string(),
                    params,
                    parse_conditions(entry.get("when"))?,
                    parse_tags(entry.get("tags"))?,
                )
            }
            _ => {
                return Err(SourceError::new(
                    &entry.span,
                    "a role entry must be a name or a mapping",
                ));
            }
        };
        let when_written: Vec<&str> = when.iter().map(|w| w.text.as_str()).collect();
        let role_entry_keywords = match when_written.is_empty() && tags.is_empty() {
            true => String::new(),
            false => format!("{when_written:?}|{tags:?}"),
        };
        let mut inherited = ctx.inherited.clone();
        inherited.when.extend(when);
        for tag in tags {
            if !inherited.tags.contains(&tag) {
                inherited.tags.push(tag);
            }
        }
        inherited.options = inherited.options.overlay(&parse_options(entry)?);
        let inner = LoadContext {
            inherited,
            role_entry_keywords,
            ..ctx.clone()
        };
        self.load_role_exporting(
            &name,
            params,
            RoleFrom::default(),
            &entry.span,
            &inner,
            RoleUse::Entry,
            true,
        )
    }

    /// Loads a role (and its dependencies first) as a list of blocks; its handlers go
    /// to the play's handler list. The role's argument spec for the entry point, if
    /// it has one, is checked by a task before its own ([`super::role_argspec`]).
    pub fn load_role(
        &self,
        name: &str,
        params: VarMap,
        from: RoleFrom<'_>,
        span: &Span,
        ctx: &LoadContext,
        used: RoleUse,
    ) -> Result<Vec<Task>, SourceError> {
        self.load_role_validated(name, params, from, span, ctx, used, true)
    }

    /// [`Loader::load_role`], with its argument spec checked only when `validate`
    /// (`rolespec_validate`).
    #[allow(clippy::too_many_arguments)]
    fn load_role_validated(
        &self,
        name: &str,
        params: VarMap,
        from: RoleFrom<'_>,
        span: &Span,
        ctx: &LoadContext,
        used: RoleUse,
        validate: bool,
    ) -> Result<Vec<Task>, SourceError> {
        self.load_role_exporting(name, params, from, span, ctx, used, validate)
            .map(|(blocks, _)| blocks)
    }

    /// [`Loader::load_role_validated`], also giving the variables the role exports
    /// (its dependencies' and its own `vars/main.yml`). A role used again in the play
    /// with the same parameters is added again with the same identity
    /// ([`RoleScope::dedup`]), which runs it only on hosts that did not complete an
    /// earlier use, unless [`RoleUse`] or `allow_duplicates` in its `meta` says
    /// otherwise; every use ends with a `role_complete` marker.
    #[allow(clippy::too_many_arguments)]
    fn load_role_exporting(
        &self,
        name: &str,
        params: VarMap,
        from: RoleFrom<'_>,
        span: &Span,
        ctx: &LoadContext,
        used: RoleUse,
        validate: bool,
    ) -> Result<LoadedRole, SourceError> {
        let tasks_from = from.tasks;
        let path = self.find_role(name, ctx).ok_or_else(|| {
            let dirs = match name.matches('.').count() {
                2 => self.collection_roots(ctx),
                _ => self.role_dirs(ctx),
            };
            let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            SourceError::new(
                span,
                format!("the role '{name}' was not found in {}", searched.join(":")),
            )
            .with_help("create roles/<name>/tasks/main.yml beside the playbook, or set roles_path")
        })?;
        let meta = find_main(&path.join("meta"), "main")
            .map(|file| yaml::load_file(&file))
            .transpose()?;
        let allow_duplicates = match meta.as_ref().and_then(|m| m.get("allow_duplicates")) {
            Some(flag) => expect_bool(flag)?,
            None => false,
        };
        let key = format!(
            "{}|{}|{}",
            path.display(),
            serde_json::to_string(&params).unwrap_or_default(),
            ctx.role_entry_keywords
        );
        let entry = used == RoleUse::Entry;
        if let (true, Ok(mut seen)) = (entry, self.seen_roles.lock()) {
            match seen.get(&key) {
                // A dependency cycle: the role is still loading.
                Some(None) if !allow_duplicates => return Ok((Vec::new(), VarMap::new())),
                Some(_) => {}
                None => {
                    seen.insert(key.clone(), None);
                }
            }
        }
        let dedup = match used {
            RoleUse::Entry => !allow_duplicates,
            RoleUse::Include { allow_duplicates } => !allow_duplicates,
        }
        .then(|| key.clone());
        let defaults = load_vars_in(&path.join("defaults"))?;
        let vars = load_vars_in(&path.join("vars"))?;
        let mut params = params;
        if let (Some(parent), false) = (&ctx.role, ctx.loading_dependency) {
            add_parent_role(&mut params, parent);
        }
        let provisional = Arc::new(RoleScope {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| name.to_string()),
            path: path.clone(),
            defaults,
            vars,
            dependency_vars: VarMap::new(),
            params,
            parent: ctx.role.clone(),
            dependency: ctx.loading_dependency,
            dedup,
        });
        let mut blocks = Vec::new();
        let mut dependency_vars = VarMap::new();
        if let Some(deps) = meta.as_ref().and_then(|m| m.get("dependencies")) {
            for dep in seq_or_err(deps, "dependencies")? {
                let dep_ctx = LoadContext {
                    role: Some(provisional.clone()),
                    loading_dependency: true,
                    ..ctx.clone()
                };
                let (dep_blocks, exports) = self.role_entry(dep, &dep_ctx)?;
                blocks.extend(dep_blocks);
                dependency_vars.extend(exports);
            }
        }
        let scope = Arc::new(RoleScope {
            dependency_vars,
            ..RoleScope::clone(&provisional)
        });
        let mut exports = scope.dependency_vars.clone();
        exports.extend(scope.vars.clone());
        if let (true, Ok(mut seen)) = (entry, self.seen_roles.lock()) {
            seen.insert(key, Some(exports.clone()));
        }
        let inner = LoadContext {
            dir: path.join("tasks"),
            role: Some(scope.clone()),
            depth: ctx.depth + 1,
            loading_dependency: false,
            ..ctx.clone()
        };
        // Role parameters are what a `roles:` entry (or a dependency) gives beside the
        // role's name; an import or include gives none, its `vars` are variables,
        // which the validation reads as variables.
        let provided = match used {
            RoleUse::Include { .. } => VarMap::new(),
            RoleUse::Entry => scope.params.clone(),
        };
        let validation = match validate {
            true => super::role_argspec::validation(&path, &scope.name, tasks_from, &provided)?,
            false => None,
        };
        let tasks_name = tasks_from.unwrap_or("main");
        let mut tasks = match find_main(&path.join("tasks"), tasks_name) {
            Some(file) => self.load_tasks_file(&file, &inner)?,
            None if tasks_from.is_some() => {
                return Err(SourceError::new(
                    span,
                    format!("the role '{name}' has no tasks/{tasks_name}.yml"),
                ));
            }
            None => Vec::new(),
        };
        if let Some(mut task) = validation.and_then(|v| v.task(span, &inner.inherited.tags)) {
            task.role = inner.role.clone();
            task.when = inner.inherited.when.clone();
            task.vars = inner.inherited.vars.clone();
            task.options = inner.inherited.options.clone();
            tasks.insert(0, task);
        }
        let handlers_name = from.handlers.unwrap_or("main");
        let handlers_file = find_main(&path.join("handlers"), handlers_name);
        if handlers_file.is_none() && from.handlers.is_some() {
            return Err(SourceError::new(
                span,
                format!("the role '{name}' has no handlers/{handlers_name}.yml"),
            ));
        }
        if let Some(file) = handlers_file {
            let handler_ctx = LoadContext {
                inherited: Inherited {
                    options: ctx.inherited.options.clone(),
                    ..Inherited::default()
                },
                loading_handlers: true,
                ..inner.clone()
            };
            let handlers = self.load_tasks_file(&file, &handler_ctx)?;
            if let Ok(mut all) = ctx.handlers.lock() {
                all.extend(handlers);
            }
        }
        let mut complete = Task::new(Action::Meta(Meta::RoleComplete), span.clone());
        complete.role = Some(scope.clone());
        tasks.push(complete);
        let mut block = Task::new(
            Action::Block {
                block: tasks,
                rescue: Vec::new(),
                always: Vec::new(),
            },
            span.clone(),
        );
        block.role = Some(scope);
        blocks.push(block);
        Ok((blocks, exports))
    }

    fn role_dirs(&self, ctx: &LoadContext) -> Vec<PathBuf> {
        let mut dirs = Vec::new();
        if let Some(role) = &ctx.role
            && let Some(parent) = role.path.parent()
        {
            dirs.push(parent.to_path_buf());
        }
        dirs.push(ctx.playbook_dir.join("roles"));
        dirs.extend(self.roles_path.iter().cloned());
        dirs.push(ctx.playbook_dir.clone());
        dirs
    }

    fn find_role(&self, name: &str, ctx: &LoadContext) -> Option<PathBuf> {
        if name.contains('/') {
            let path = ctx.playbook_dir.join(name);
            return path.is_dir().then_some(path);
        }
        if let [namespace, collection, role] = name.split('.').collect::<Vec<_>>()[..] {
            return self
                .collection_roots(ctx)
                .into_iter()
                .map(|root| {
                    root.join("ansible_collections")
                        .join(namespace)
                        .join(collection)
                        .join("roles")
                        .join(role)
                })
                .find(|p| p.is_dir());
        }
        self.role_dirs(ctx)
            .into_iter()
            .map(|d| d.join(name))
            .find(|p| p.is_dir())
    }

    /// Where collections are: `collections/` beside the playbook, then
    /// `collections_path`.
    fn collection_roots(&self, ctx: &LoadContext) -> Vec<PathBuf> {
        let mut roots = vec![ctx.playbook_dir.join("collections")];
        roots.extend(self.collections_path.iter().cloned());
        roots
    }
}

/// A role's blocks (its dependencies' first) and the variables it exports.
type LoadedRole = (Vec<Task>, VarMap);

/// How a role comes into the play, which decides whether a second identical use of it
/// runs on the hosts that completed the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleUse {
    /// A `roles:` entry or a `meta` dependency: deduplicated unless the role's
    /// `meta` says `allow_duplicates`.
    Entry,
    /// `import_role` or `include_role` (whose `vars` are variables, not parameters):
    /// deduplicated only when the task says `allow_duplicates: false`.
    Include {
        /// The task's `allow_duplicates` (default true).
        allow_duplicates: bool,
    },
}

/// A directory as an absolute path (`playbook_dir` is absolute in Ansible).
fn absolute_dir(dir: &Path) -> PathBuf {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Whether `name` is a module or one of the executor's actions.
fn lookup_action(name: &str) -> bool {
    let short = crate::fqcn::short_name(name);
    modules::lookup(short).is_some()
        || EXECUTOR_ACTIONS.contains(&short)
        || crate::fqcn::is_ansible_builtin(name)
}

/// Where a relative task file is: beside the including file, then beside the playbook.
pub fn resolve_tasks_path(dir: &Path, playbook_dir: &Path, file: &str) -> PathBuf {
    let direct = dir.join(file);
    if direct.exists() {
        return direct;
    }
    let beside_playbook = playbook_dir.join(file);
    if beside_playbook.exists() {
        return beside_playbook;
    }
    direct
}

/// `main.yml`, `main.yaml` or `main` in `dir`.
fn find_main(dir: &Path, stem: &str) -> Option<PathBuf> {
    [
        format!("{stem}.yml"),
        format!("{stem}.yaml"),
        format!("{stem}.json"),
        stem.to_string(),
    ]
    .into_iter()
    .map(|name| dir.join(name))
    .find(|p| p.is_file())
}

/// The variables a role keeps in `dir` (`defaults/`, `vars/`): `main.yml`,
/// `main.yaml`, `main.json` or `main`, the first that exists (empty when none does).
/// A `main` directory gives every file in it, later ones overriding earlier ones, as
/// Ansible's `find_vars_files` reads it.
fn load_vars_in(dir: &Path) -> Result<VarMap, SourceError> {
    if let Some(file) = find_main(dir, "main") {
        return load_vars_file(&file);
    }
    let mut vars = VarMap::new();
    for file in vars_files_in(&dir.join("main")) {
        vars.extend(load_vars_file(&file)?);
    }
    Ok(vars)
}

/// The variable files in `dir`, sorted by name, subdirectories (without an extension)
/// walked in place: files ending in `.yml`, `.yaml`, `.json` or without an extension,
/// neither hidden nor backups (`~`), as Ansible's `_get_dir_vars_files` lists them.
fn vars_files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| !name.starts_with('.') && !name.ends_with('~'))
        .collect();
    names.sort();
    let mut files = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let extension = Path::new(&name).extension().and_then(|e| e.to_str());
        match extension {
            None if path.is_dir() => files.extend(vars_files_in(&path)),
            None | Some("yml" | "yaml" | "json") if path.is_file() => files.push(path),
            _ => {}
        }
    }
    files
}

/// Where a play's vars file `name` is, searched as Ansible's `path_dwim_relative_stack`
/// does from the play's directory: `vars/<name>`, then `<name>`.
pub fn find_vars_file(play_dir: &Path, name: &str) -> Option<PathBuf> {
    [play_dir.join("vars").join(name), play_dir.join(name)]
        .into_iter()
        .find(|path| path.is_file())
}

/// A static import's templated path rendered with what is known while loading (the
/// playbook's directory, the role's path, name, defaults, vars and parameters), as
/// Ansible renders it at parse time; `None` when it needs more, and bosun then
/// includes the file when the task runs.
fn load_time_render(text: &str, ctx: &LoadContext) -> Option<String> {
    let mut vars = VarMap::new();
    vars.insert(
        "playbook_dir".into(),
        Json::String(ctx.playbook_dir.display().to_string()),
    );
    if let Some(role) = &ctx.role {
        vars.extend(role.defaults.clone());
        vars.extend(role.vars.clone());
        vars.extend(role.params.clone());
        vars.insert(
            "role_path".into(),
            Json::String(role.path.display().to_string()),
        );
        vars.insert("role_name".into(), Json::String(role.name.clone()));
    }
    let templar = crate::template::Templar::new();
    let vars = crate::template::Vars::new(templar.clone(), vars);
    templar.render_str(text, &vars).ok()
}

/// `ansible_parent_role_names`/`_paths` of a role a role includes or imports: the
/// including role first, then its own parents, as Ansible's `IncludeRole` adds them
/// to the included role's parameters.
fn add_parent_role(params: &mut VarMap, parent: &RoleScope) {
    for (key, value) in [
        ("ansible_parent_role_names", parent.name.clone()),
        (
            "ansible_parent_role_paths",
            parent.path.display().to_string(),
        ),
    ] {
        let mut list = vec![Json::String(value)];
        if let Some(Json::Array(earlier)) = parent.params.get(key) {
            list.extend(earlier.iter().cloned());
        }
        params.insert(key.into(), Json::Array(list));
    }
}

/// Reads a vars file: a mapping of variables (empty file allowed).
pub fn load_vars_file(path: &Path) -> Result<VarMap, SourceError> {
    let root = yaml::load_file(path)?;
    match root.value {
        Value::Null => Ok(VarMap::new()),
        _ => parse_vars(&root),
    }
}

/// `action: copy src=a dest=b` or `action: {module: copy, src: a}` (or with the
/// arguments under `args:`).
fn split_action(node: &Node) -> Result<(String, Node, Span), SourceError> {
    match &node.value {
        Value::Str(text) => {
            let tokens = super::args::split_args(text);
            let name = tokens.first().cloned().unwrap_or_default();
            let args = Node {
                value: Value::Str(tokens.get(1..).unwrap_or_default().join(" ")),
                span: node.span.clone(),
            };
            Ok((name.trim().to_string(), args, node.span.clone()))
        }
        Value::Map(entries) => {
            let module = node
                .get("module")
                .ok_or_else(|| SourceError::new(&node.span, "action: needs `module:`"))?;
            // As Ansible's old-style arguments, a mapping under `args:` is merged in.
            let mut rest: Vec<(Node, Node)> = Vec::new();
            for (key, value) in entries {
                match (key.key_string().as_str(), &value.value) {
                    ("module", _) => {}
                    ("args", Value::Map(inner)) => {
                        for (inner_key, inner_value) in inner {
                            let name = inner_key.key_string();
                            rest.retain(|(k, _)| k.key_string() != name);
                            rest.push((inner_key.clone(), inner_value.clone()));
                        }
                    }
                    _ => rest.push((key.clone(), value.clone())),
                }
            }
            Ok((
                module.key_string(),
                Node {
                    value: Value::Map(rest),
                    span: node.span.clone(),
                },
                module.span.clone(),
            ))
        }
        _ => Err(SourceError::new(
            &node.span,
            "action: must be a string or a mapping",
        )),
    }
}

fn parse_options(node: &Node) -> Result<TaskOptions, SourceError> {
    let json = |key: &str| node.get(key).map(Node::to_json);
    let string = |key: &str| node.get(key).map(Node::key_string);
    let environment = match node.get("environment") {
        Some(env) => match env.value {
            Value::Seq(ref items) => items.iter().map(Node::to_json).collect(),
            Value::Null => Vec::new(),
            _ => vec![env.to_json()],
        },
        None => Vec::new(),
    };
    Ok(TaskOptions {
        become_: node.get("become").map(expect_bool).transpose()?,
        become_user: string("become_user"),
        become_method: string("become_method"),
        environment,
        ignore_errors: json("ignore_errors"),
        ignore_unreachable: node
            .get("ignore_unreachable")
            .map(expect_bool)
            .transpose()?,
        any_errors_fatal: node.get("any_errors_fatal").map(expect_bool).transpose()?,
        no_log: json("no_log"),
        check_mode: json("check_mode"),
        diff: json("diff"),
        run_once: json("run_once"),
        delegate_to: string("delegate_to"),
        timeout: json("timeout"),
        connect: ConnectKeywords {
            connection: string("connection"),
            remote_user: string("remote_user"),
            port: json("port"),
        },
        throttle: json("throttle"),
    })
}

/// A play's `vars_prompt:` entries (null is none); each must be a mapping with a
/// `name`, as Ansible checks when it loads the play.
fn parse_vars_prompt(node: Option<&Node>) -> Result<Vec<Json>, SourceError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let items = match &node.value {
        Value::Null => return Ok(Vec::new()),
        Value::Seq(items) => items.iter().collect(),
        _ => vec![node],
    };
    items
        .into_iter()
        .map(|item| match item.get("name") {
            Some(_) => Ok(item.to_json()),
            None => Err(SourceError::new(
                &item.span,
                "Invalid vars_prompt data structure, missing 'name' key",
            )),
        })
        .collect()
}

/// Refuses arguments named `_ansible_*` (Ansible keeps the prefix for itself), except
/// in the free-form actions, as Ansible's `ModuleArgsParser` does.
fn refuse_internal_args(
    action: &str,
    args: &IndexMap<String, Json>,
    span: &Span,
) -> Result<(), SourceError> {
    if FREE_FORM_ACTIONS.contains(&crate::fqcn::short_name(action)) {
        return Ok(());
    }
    match args.keys().find(|key| key.starts_with("_ansible_")) {
        Some(key) => Err(SourceError::new(
            span,
            format!(
                "Invalid parameter specified beginning with keyword '_ansible_' for action '{action}': '{key}'. The prefix '_ansible_' is reserved for internal use only."
            ),
        )
        .general()),
        None => Ok(()),
    }
}

/// The files of one `vars_files` entry: a path, or a list of paths tried in order.
fn vars_file_candidates(item: &Node) -> Result<Vec<String>, SourceError> {
    match &item.value {
        Value::Seq(paths) => paths
            .iter()
            .map(|path| expect_str(path).map(str::to_string))
            .collect(),
        _ => Ok(vec![expect_str(item)?.to_string()]),
    }
}

/// Adds a task's `args:` keyword under the arguments written with the module: a
/// mapping's entries, or a template for a whole mapping, rendered when the task runs.
fn merge_args_keyword(args: &mut IndexMap<String, Json>, extra: &Node) -> Result<(), SourceError> {
    match &extra.value {
        Value::Map(entries) => {
            for (key, value) in entries {
                args.entry(key.key_string())
                    .or_insert_with(|| value.to_json());
            }
        }
        Value::Str(text) if crate::template::is_template(text) => {
            args.insert(VARIABLE_PARAMS.into(), Json::String(text.clone()));
        }
        Value::Null => {}
        _ => {
            return Err(SourceError::new(
                &extra.span,
                "The value of the task `args` keyword is invalid.",
            )
            .with_help("A mapping or template which resolves to a mapping is required."));
        }
    }
    Ok(())
}

fn parse_loop(node: &Node) -> Result<Option<Loop>, SourceError> {
    let mut found = None;
    for (key, items) in node.as_map().into_iter().flatten() {
        let kind = match key.key_string().as_str() {
            "loop" => LoopKind::List,
            "with_list" => LoopKind::WithList,
            "with_items" => LoopKind::Items,
            "with_dict" => LoopKind::Dict,
            "with_indexed_items" => LoopKind::Indexed,
            other => match with_lookup(other) {
                Some(lookup) => LoopKind::Lookup(lookup),
                None => continue,
            },
        };
        if found.is_some() {
            return Err(SourceError::new(
                &items.span,
                "a task can only have one loop",
            ));
        }
        found = Some(Loop {
            items: items.to_json(),
            kind,
        });
    }
    Ok(found)
}

/// The lookup a `with_<lookup>` key loops with, when Ansible has that lookup.
fn with_lookup(key: &str) -> Option<&'static str> {
    key.strip_prefix("with_")
        .and_then(crate::template::lookup_name)
}

fn parse_loop_control(node: &Node) -> Result<LoopControl, SourceError> {
    let entries = node
        .as_map()
        .ok_or_else(|| SourceError::new(&node.span, "loop_control must be a mapping"))?;
    let mut control = LoopControl::default();
    for (key, value) in entries {
        match key.key_string().as_str() {
            "loop_var" => control.loop_var = expect_identifier(value)?,
            "index_var" => control.index_var = Some(expect_identifier(value)?),
            "label" => control.label = Some(value.key_string()),
            "pause" => control.pause = value.to_json().as_f64().unwrap_or(0.0),
            "extended" => control.extended = expect_bool(value)?,
            "extended_allitems" => control.extended_allitems = expect_bool(value)?,
            "break_when" => control.break_when = parse_conditions(Some(value))?,
            other => {
                return Err(SourceError::new(
                    &key.span,
                    format!("'{other}' is not a valid loop_control option"),
                )
                .with_help(
                    "loop_control takes loop_var, index_var, label, pause, extended, extended_allitems, break_when",
                ));
            }
        }
    }
    Ok(control)
}

fn parse_conditions(node: Option<&Node>) -> Result<Vec<Expr>, SourceError> {
    let Some(node) = node.filter(|n| !matches!(n.value, Value::Null)) else {
        return Ok(Vec::new());
    };
    let one = |n: &Node| -> Result<Expr, SourceError> {
        let text = match &n.value {
            Value::Str(s) => s.clone(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            _ => n.to_json().to_string(),
        };
        Ok(Expr {
            text,
            written: n.to_json(),
            span: n.span.clone(),
        })
    };
    match &node.value {
        Value::Seq(items) => items
            .iter()
            .filter(|item| !matches!(item.value, Value::Null))
            .map(one)
            .collect(),
        _ => Ok(vec![one(node)?]),
    }
}

fn parse_tags(node: Option<&Node>) -> Result<Vec<String>, SourceError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    };
    Ok(match &node.value {
        Value::Seq(items) => items.iter().flat_map(|i| split(&i.key_string())).collect(),
        Value::Null => Vec::new(),
        _ => split(&node.key_string()),
    })
}

fn string_list(node: Option<&Node>) -> Result<Vec<String>, SourceError> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    Ok(match &node.value {
        Value::Seq(items) => items.iter().map(Node::key_string).collect(),
        Value::Null => Vec::new(),
        _ => vec![node.key_string()],
    })
}

/// An include's `apply:`: the keywords its tasks get, as from an enclosing block.
fn parse_apply(module: &Node) -> Result<Option<Box<Inherited>>, SourceError> {
    let Some(apply) = module.get("apply") else {
        return Ok(None);
    };
    Ok(Some(Box::new(Inherited {
        when: parse_conditions(apply.get("when"))?,
        tags: parse_tags(apply.get("tags"))?,
        vars: apply
            .get("vars")
            .map(parse_vars)
            .transpose()?
            .unwrap_or_default(),
        options: parse_options(apply)?,
        notify: string_list(apply.get("notify"))?,
    })))
}

/// A `vars:` mapping (or a list of mappings, which Ansible also accepts).
pub fn parse_vars(node: &Node) -> Result<VarMap, SourceError> {
    let mut vars = VarMap::new();
    match &node.value {
        Value::Map(entries) => {
            for (key, value) in entries {
                vars.insert(key.key_string(), value.to_json());
            }
        }
        Value::Seq(items) => {
            for item in items {
                vars.extend(parse_vars(item)?);
            }
        }
        Value::Null => {}
        _ => {
            return Err(SourceError::new(
                &node.span,
                format!("vars must be a mapping, not {}", node.type_name()),
            ));
        }
    }
    Ok(vars)
}

fn seq_or_err<'a>(node: &'a Node, what: &str) -> Result<&'a [Node], SourceError> {
    match &node.value {
        Value::Seq(items) => Ok(items),
        Value::Null => Ok(&[]),
        _ => Err(SourceError::new(
            &node.span,
            format!("{what} must be a list"),
        )),
    }
}

fn expect_str(node: &Node) -> Result<&str, SourceError> {
    node.as_str().ok_or_else(|| {
        SourceError::new(
            &node.span,
            format!("expected a string, found {}", node.type_name()),
        )
    })
}

fn expect_bool(node: &Node) -> Result<bool, SourceError> {
    crate::modules::args::parse_bool(&node.to_json()).ok_or_else(|| {
        SourceError::new(
            &node.span,
            format!("expected a boolean, found {}", node.type_name()),
        )
    })
}

fn expect_identifier(node: &Node) -> Result<String, SourceError> {
    let name = node.key_string();
    if crate::template::is_variable_name(&name) || crate::template::is_template(&name) {
        Ok(name)
    } else {
        Err(SourceError::new(
            &node.span,
            format!("'{name}' is not a valid variable name"),
        ))
    }
}

#[cfg(test)]
mod tests;
