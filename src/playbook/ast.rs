//! The playbook as bosun runs it: plays, tasks, blocks and roles, each with the place
//! in its file where it was written.

use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use crate::source::Span;

/// Variables as written (values may hold templates).
pub type VarMap = Map<String, Json>;

/// A loaded playbook: its plays in order, `import_playbook` already expanded.
#[derive(Debug)]
pub struct Playbook {
    /// The playbook file.
    pub path: PathBuf,
    /// The plays, in order.
    pub plays: Vec<Play>,
}

/// One play.
#[derive(Clone, Debug)]
pub struct Play {
    /// `name:` (defaults to the host pattern in banners).
    pub name: Option<String>,
    /// `hosts:` pattern (may hold a template).
    pub hosts: String,
    /// Where the play starts.
    pub span: Span,
    /// Directory of the playbook file the play came from (`playbook_dir`).
    pub dir: PathBuf,
    /// `vars:`.
    pub vars: VarMap,
    /// `vars_files:` entries, each a list of candidate paths (templates allowed) of
    /// which the first that exists is read, as Ansible reads a list entry.
    pub vars_files: Vec<(Vec<String>, Span)>,
    /// `vars_prompt:` entries as written (mappings with a `name`), asked before the
    /// play starts.
    pub vars_prompt: Vec<Json>,
    /// `gather_facts:`, when the play says (the `gathering` setting decides otherwise).
    pub gather_facts: Option<bool>,
    /// `pre_tasks:`.
    pub pre_tasks: Vec<Task>,
    /// `roles:` as blocks running the roles' tasks.
    pub roles: Vec<Task>,
    /// `tasks:`.
    pub tasks: Vec<Task>,
    /// `post_tasks:`.
    pub post_tasks: Vec<Task>,
    /// `handlers:` including those of the play's roles.
    pub handlers: Vec<Task>,
    /// Settings every task inherits (become, environment, tags, ...).
    pub options: TaskOptions,
    /// `serial:` (number, percentage or list).
    pub serial: Option<Json>,
    /// `strategy:` as written (a name or a template), chosen when the play runs.
    pub strategy: String,
    /// `max_fail_percentage:`.
    pub max_fail_percentage: Option<f64>,
    /// `force_handlers:`, when the play says (`--force-handlers` decides otherwise).
    pub force_handlers: Option<bool>,
}

impl Play {
    /// The variables the play's own keywords (`name`, `hosts`, `strategy`) are
    /// rendered with, before any host is chosen: its `vars`, then `extra_vars`.
    pub fn keyword_vars(&self, extra_vars: &VarMap) -> VarMap {
        let mut known = self.vars.clone();
        known.extend(extra_vars.clone());
        known
    }

    /// The play's name as Ansible shows it: `name` rendered with
    /// [`Play::keyword_vars`], or the hosts pattern as written when it has none.
    pub fn title(
        &self,
        templar: &Arc<crate::template::Templar>,
        extra_vars: &VarMap,
    ) -> Result<String, crate::template::TemplateError> {
        let Some(name) = &self.name else {
            return Ok(self.hosts.clone());
        };
        let vars = crate::template::Vars::new(templar.clone(), self.keyword_vars(extra_vars));
        templar.render_str(name, &vars)
    }
}

/// Keywords a task shares with its play, block or role and inherits from them.
#[derive(Clone, Debug, Default)]
pub struct TaskOptions {
    /// `become:`.
    pub become_: Option<bool>,
    /// `become_user:`.
    pub become_user: Option<String>,
    /// `become_method:`.
    pub become_method: Option<String>,
    /// `environment:` (a mapping or a template).
    pub environment: Vec<Json>,
    /// `ignore_errors:` (bool or template).
    pub ignore_errors: Option<Json>,
    /// `ignore_unreachable:`.
    pub ignore_unreachable: Option<bool>,
    /// `any_errors_fatal:`.
    pub any_errors_fatal: Option<bool>,
    /// `no_log:`.
    pub no_log: Option<Json>,
    /// `check_mode:`.
    pub check_mode: Option<Json>,
    /// `diff:`.
    pub diff: Option<Json>,
    /// `run_once:`.
    pub run_once: Option<Json>,
    /// `delegate_to:`.
    pub delegate_to: Option<String>,
    /// `timeout:` seconds a task may run before it fails.
    pub timeout: Option<Json>,
    /// `connection:`, `remote_user:` and `port:` (a play's `user:` is its `remote_user`).
    pub connect: ConnectKeywords<String, Json>,
    /// `throttle:` how many hosts run the task at once (0 or unset: `forks`).
    pub throttle: Option<Json>,
}

/// The keywords that choose how a host is reached, as written (`ConnectKeywords<String,
/// Json>`) or rendered for one host (`ConnectKeywords`). A host's `ansible_connection`,
/// `ansible_user` and `ansible_port` variables win over them, as in Ansible.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectKeywords<T = String, P = u16> {
    /// `connection:` (`local`, `ssh` ...).
    pub connection: Option<T>,
    /// `remote_user:`.
    pub remote_user: Option<T>,
    /// `port:`.
    pub port: Option<P>,
}

impl<T: Clone, P: Clone> ConnectKeywords<T, P> {
    /// These keywords with `inner`'s set values taking precedence.
    pub fn overlay(&self, inner: &Self) -> Self {
        ConnectKeywords {
            connection: inner.connection.clone().or_else(|| self.connection.clone()),
            remote_user: inner
                .remote_user
                .clone()
                .or_else(|| self.remote_user.clone()),
            port: inner.port.clone().or_else(|| self.port.clone()),
        }
    }
}

impl TaskOptions {
    /// These options with `inner`'s set values taking precedence.
    pub fn overlay(&self, inner: &TaskOptions) -> TaskOptions {
        let mut environment = self.environment.clone();
        environment.extend(inner.environment.iter().cloned());
        TaskOptions {
            become_: inner.become_.or(self.become_),
            become_user: inner
                .become_user
                .clone()
                .or_else(|| self.become_user.clone()),
            become_method: inner
                .become_method
                .clone()
                .or_else(|| self.become_method.clone()),
            environment,
            ignore_errors: inner
                .ignore_errors
                .clone()
                .or_else(|| self.ignore_errors.clone()),
            ignore_unreachable: inner.ignore_unreachable.or(self.ignore_unreachable),
            any_errors_fatal: inner.any_errors_fatal.or(self.any_errors_fatal),
            no_log: inner.no_log.clone().or_else(|| self.no_log.clone()),
            check_mode: inner.check_mode.clone().or_else(|| self.check_mode.clone()),
            diff: inner.diff.clone().or_else(|| self.diff.clone()),
            run_once: inner.run_once.clone().or_else(|| self.run_once.clone()),
            delegate_to: inner
                .delegate_to
                .clone()
                .or_else(|| self.delegate_to.clone()),
            timeout: inner.timeout.clone().or_else(|| self.timeout.clone()),
            connect: self.connect.overlay(&inner.connect),
            throttle: inner.throttle.clone().or_else(|| self.throttle.clone()),
        }
    }
}

/// A Jinja expression (`when:`, `changed_when:` ...) and where it was written.
#[derive(Clone, Debug)]
pub struct Expr {
    /// The expression text.
    pub text: String,
    /// The value as written (a string, or a boolean for `when: false`): what
    /// Ansible reports as `false_condition`.
    pub written: serde_json::Value,
    /// Its position.
    pub span: Span,
}

/// A task, a block, or an include.
#[derive(Clone, Debug)]
pub struct Task {
    /// `name:`.
    pub name: Option<String>,
    /// What the task does.
    pub action: Action,
    /// The action's name as the task wrote it (`ansible.builtin.command`), which
    /// Ansible shows for a task without a name; `None` for tasks bosun makes.
    pub action_written: Option<String>,
    /// Where the task starts.
    pub span: Span,
    /// `when:` conditions, all of which must hold.
    pub when: Vec<Expr>,
    /// `loop:`, `with_items:` ...
    pub loop_: Option<Loop>,
    /// `loop_control:`.
    pub loop_control: LoopControl,
    /// `register:`.
    pub register: Option<String>,
    /// `notify:` handler names or topics.
    pub notify: Vec<String>,
    /// `listen:` topics (handlers only).
    pub listen: Vec<String>,
    /// `changed_when:`.
    pub changed_when: Option<Vec<Expr>>,
    /// `failed_when:`.
    pub failed_when: Option<Vec<Expr>>,
    /// `until:`.
    pub until: Option<Vec<Expr>>,
    /// `retries:` (default 3 with `until`).
    pub retries: Option<Json>,
    /// `delay:` seconds between retries (default 5).
    pub delay: Option<Json>,
    /// `async:` seconds the action may run in the background.
    pub async_: Option<Json>,
    /// `poll:` seconds between checks of an `async` action; 0 leaves it running.
    pub poll: Option<Json>,
    /// Tags, including those inherited from the play, roles, blocks and imports.
    pub tags: Vec<String>,
    /// How many of `tags`, from the front, are inherited: the rest are the task's own,
    /// which an `include_tasks` or `include_role` keeps to itself (Ansible does not
    /// pass a dynamic include's own tags to the tasks it includes).
    pub inherited_tags: usize,
    /// `vars:` of the task (for blocks: of the block).
    pub vars: VarMap,
    /// Inheritable options set on this task.
    pub options: TaskOptions,
    /// The role the task belongs to.
    pub role: Option<Arc<RoleScope>>,
}

/// What a task does.
#[derive(Clone, Debug)]
pub enum Action {
    /// Runs a built-in module with arguments (values may hold templates).
    Module {
        /// The module, resolved once when the playbook loaded.
        module: ModuleRef,
        /// Arguments as written.
        args: IndexMap<String, Json>,
    },
    /// A module named by a template (`action: "{{ module }} msg=hi"`), resolved each
    /// time the task runs.
    Templated {
        /// The name as written.
        name: String,
        /// Arguments as written.
        args: IndexMap<String, Json>,
    },
    /// A module of ansible.builtin that bosun lacks: the task fails if it runs.
    Unsupported {
        /// The module's short name.
        name: String,
    },
    /// Runs a drop-in module (an executable from `modules/` or `library/`).
    DropIn {
        /// The module name as written.
        name: String,
        /// The executable on the control node.
        path: PathBuf,
        /// Arguments as written.
        args: IndexMap<String, Json>,
    },
    /// `block:` with `rescue:` and `always:`; also what imports and roles become.
    Block {
        /// The tasks of the block.
        block: Vec<Task>,
        /// Run on hosts that failed in `block`.
        rescue: Vec<Task>,
        /// Run whatever happened.
        always: Vec<Task>,
    },
    /// `include_tasks:` a file chosen at run time.
    IncludeTasks {
        /// The file (may hold a template).
        file: String,
        /// `apply:`, the keywords every included task gets.
        apply: Option<Box<super::loader::Inherited>>,
    },
    /// `include_role:` a role loaded at run time.
    IncludeRole {
        /// Role name (may hold a template).
        name: String,
        /// `tasks_from:`.
        tasks_from: Option<String>,
        /// `handlers_from:`.
        handlers_from: Option<String>,
        /// `apply:`, the keywords every task of the role gets.
        apply: Option<Box<super::loader::Inherited>>,
        /// `allow_duplicates:` (default true): false runs the role only on hosts that
        /// have not completed an identical use of it in the play.
        allow_duplicates: bool,
    },
    /// `set_fact:` variables for the host.
    SetFact {
        /// The variables (values may hold templates).
        facts: IndexMap<String, Json>,
        /// `cacheable:` (bool or template): the variables are facts kept in the
        /// fact cache too.
        cacheable: Option<Json>,
    },
    /// `include_vars:` a file or directory.
    IncludeVars {
        /// Its arguments as written (the free form under `_raw_params`), read when
        /// the task runs, as Ansible's action plugin reads them.
        args: IndexMap<String, Json>,
    },
    /// `meta:` one of the executor's own actions.
    Meta(Meta),
    /// An action that works on the run itself rather than on a target: the
    /// inventory (`add_host`, `group_by`) or the host's connection.
    Control {
        /// Which one.
        action: ControlAction,
        /// Its arguments (values may hold templates).
        args: IndexMap<String, Json>,
    },
}

/// The actions the executor runs on the run itself; see [`Action::Control`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlAction {
    /// `add_host`: a host (and its groups) added to the inventory; runs once.
    AddHost,
    /// `group_by`: the host put in a group named by a key.
    GroupBy,
    /// `wait_for_connection`: retries the connection until the host answers.
    WaitForConnection,
    /// `async_status`: how a background (`async`) task is doing.
    AsyncStatus,
    /// `reboot`: reboots the host and reconnects until it is back.
    Reboot,
}

impl ControlAction {
    /// The action called `name` (short name), if it is one of these.
    pub fn named(name: &str) -> Option<ControlAction> {
        match name {
            "add_host" => Some(ControlAction::AddHost),
            "group_by" => Some(ControlAction::GroupBy),
            "wait_for_connection" => Some(ControlAction::WaitForConnection),
            "async_status" => Some(ControlAction::AsyncStatus),
            "reboot" => Some(ControlAction::Reboot),
            _ => None,
        }
    }

    /// Its short name.
    pub fn name(self) -> &'static str {
        match self {
            ControlAction::AddHost => "add_host",
            ControlAction::GroupBy => "group_by",
            ControlAction::WaitForConnection => "wait_for_connection",
            ControlAction::AsyncStatus => "async_status",
            ControlAction::Reboot => "reboot",
        }
    }
}

/// A built-in module, resolved once when the playbook loads, so the executor never
/// looks a module up by name.
#[derive(Clone, Copy)]
pub struct ModuleRef(pub &'static dyn crate::modules::Module);

impl ModuleRef {
    /// The module's short name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl std::fmt::Debug for ModuleRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ModuleRef({})", self.name())
    }
}

/// What a `meta:` task asks the executor to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Meta {
    /// Runs the notified handlers now.
    FlushHandlers,
    /// Does nothing.
    Noop,
    /// Ends the play for every host.
    EndPlay,
    /// Ends the play for the hosts where `when` holds.
    EndHost,
    /// Ends the current batch (`serial`).
    EndBatch,
    /// Closes the connections so the next task opens new ones.
    ResetConnection,
    /// Forgets the hosts' facts.
    ClearFacts,
    /// Makes failed hosts active again.
    ClearHostErrors,
    /// Reloads the inventory.
    RefreshInventory,
    /// Skips the rest of the role for the hosts where `when` holds.
    EndRole,
    /// Ends every use of a role (never written by users, as Ansible's implicit
    /// `role_complete`): it ends `end_role`'s skipping, and the hosts that ran one of a
    /// deduplicated role's tasks have completed it.
    RoleComplete,
}

impl Meta {
    /// Every meta action with the word that names it.
    pub const ALL: &'static [(Meta, &'static str)] = &[
        (Meta::FlushHandlers, "flush_handlers"),
        (Meta::Noop, "noop"),
        (Meta::EndPlay, "end_play"),
        (Meta::EndHost, "end_host"),
        (Meta::EndBatch, "end_batch"),
        (Meta::ResetConnection, "reset_connection"),
        (Meta::ClearFacts, "clear_facts"),
        (Meta::ClearHostErrors, "clear_host_errors"),
        (Meta::RefreshInventory, "refresh_inventory"),
        (Meta::EndRole, "end_role"),
    ];

    /// The meta action called `word`.
    pub fn named(word: &str) -> Option<Meta> {
        Meta::ALL.iter().find(|(_, w)| *w == word).map(|(m, _)| *m)
    }

    /// The word that names this action.
    pub fn word(self) -> &'static str {
        if self == Meta::RoleComplete {
            return "role_complete";
        }
        Meta::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("noop", |(_, w)| w)
    }
}

/// A loop: the items to iterate over and how they were written.
#[derive(Clone, Debug)]
pub struct Loop {
    /// The item list (a template or a literal list).
    pub items: Json,
    /// Which keyword produced it (`loop`, `with_items` ...): decides flattening.
    pub kind: LoopKind,
}

/// The loop keyword used, which decides how the items are prepared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopKind {
    /// `loop:`: the list as is; anything else is an error.
    List,
    /// `with_list:`: the list as is; anything else is one item.
    WithList,
    /// `with_items:`: flattened one level.
    Items,
    /// `with_dict:`: a mapping turned into `{key, value}` items.
    Dict,
    /// `with_indexed_items:`: `[index, item]` pairs.
    Indexed,
    /// `with_sequence:` (`start=1 end=5`) and `with_fileglob:` style lookups.
    Lookup(&'static str),
}

/// `loop_control:`.
#[derive(Clone, Debug)]
pub struct LoopControl {
    /// `loop_var:` (default `item`).
    pub loop_var: String,
    /// `index_var:`.
    pub index_var: Option<String>,
    /// `label:` template for output.
    pub label: Option<String>,
    /// `pause:` seconds between items.
    pub pause: f64,
    /// `extended:` adds `ansible_loop`.
    pub extended: bool,
    /// `extended_allitems:` (default true): `ansible_loop.allitems` holds every item.
    pub extended_allitems: bool,
    /// `break_when:` conditions checked after each item; the loop ends when they hold.
    pub break_when: Vec<Expr>,
}

impl Default for LoopControl {
    fn default() -> LoopControl {
        LoopControl {
            loop_var: "item".into(),
            index_var: None,
            label: None,
            pause: 0.0,
            extended: false,
            extended_allitems: true,
            break_when: Vec::new(),
        }
    }
}

/// Which files of a role an import or include reads instead of `main.yml`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoleFrom<'a> {
    /// `tasks_from:`, a file of the role's `tasks/`.
    pub tasks: Option<&'a str>,
    /// `handlers_from:`, a file of the role's `handlers/`.
    pub handlers: Option<&'a str>,
}

/// The role a task runs in: its variables and paths.
#[derive(Clone, Debug)]
pub struct RoleScope {
    /// Role name.
    pub name: String,
    /// The role's directory (`role_path`).
    pub path: PathBuf,
    /// `defaults/main.yml`.
    pub defaults: VarMap,
    /// `vars/main.yml`.
    pub vars: VarMap,
    /// The `vars/main.yml` of its `meta` dependencies, theirs first, which rank above
    /// what the role inherits from the roles that pulled it in (Ansible's
    /// `Role.get_vars` exports).
    pub dependency_vars: VarMap,
    /// Parameters given where the role is used.
    pub params: VarMap,
    /// The role that pulled this one in as a dependency, for nested lookups.
    pub parent: Option<Arc<RoleScope>>,
    /// Whether a role's `meta/main.yml` dependencies pulled it in.
    pub dependency: bool,
    /// The role's identity (its directory, parameters, and the `when` and `tags` of
    /// its entry) when a later use of it in the play runs only on hosts that have not
    /// completed it yet, as Ansible deduplicates `roles:` entries and dependencies;
    /// `None` where duplicates are allowed (`import_role`/`include_role` unless they
    /// say `allow_duplicates: false`, a role whose `meta` says `allow_duplicates`).
    pub dedup: Option<String>,
}

impl Task {
    /// The identity of the deduplicated role this task belongs to
    /// ([`RoleScope::dedup`]), if any.
    pub fn dedup_role(&self) -> Option<&String> {
        self.role.as_ref().and_then(|role| role.dedup.as_ref())
    }

    /// A task with `action` and nothing else set.
    pub fn new(action: Action, span: Span) -> Task {
        Task {
            name: None,
            action,
            action_written: None,
            span,
            when: Vec::new(),
            loop_: None,
            loop_control: LoopControl::default(),
            register: None,
            notify: Vec::new(),
            listen: Vec::new(),
            changed_when: None,
            failed_when: None,
            until: None,
            retries: None,
            delay: None,
            async_: None,
            poll: None,
            tags: Vec::new(),
            inherited_tags: 0,
            vars: VarMap::new(),
            options: TaskOptions::default(),
            role: None,
        }
    }

    /// The name shown in banners: `name:`, or the role-prefixed module name; an
    /// `include_role` shows its own name or `include_role : <role>`, as Ansible's
    /// `IncludeRole.get_name` does.
    pub fn display_name(&self) -> String {
        if let Action::IncludeRole { name: role, .. } = &self.action {
            let action = self.action_written.as_deref().unwrap_or("include_role");
            return self
                .name
                .clone()
                .unwrap_or_else(|| format!("{action} : {role}"));
        }
        let base = match (&self.name, &self.action, &self.action_written) {
            (Some(name), _, _) => name.clone(),
            (None, Action::Block { .. }, _) => "block".into(),
            (None, _, Some(written)) => written.clone(),
            (None, Action::Module { module, .. }, None) => module.name().to_string(),
            (None, Action::DropIn { name, .. }, None) => name.clone(),
            (None, Action::Unsupported { name }, None) => name.clone(),
            (None, Action::Templated { name, .. }, None) => name.clone(),
            (None, Action::IncludeTasks { .. }, None) => "include_tasks".into(),
            (None, Action::IncludeRole { .. }, None) => "include_role".into(),
            (None, Action::SetFact { .. }, None) => "set_fact".into(),
            (None, Action::IncludeVars { .. }, None) => "include_vars".into(),
            (None, Action::Meta(_), None) => "meta".into(),
            (None, Action::Control { action, .. }, None) => action.name().into(),
        };
        match &self.role {
            Some(role) => format!("{} : {base}", role.name),
            None => base,
        }
    }
}
