//! Runs plays: hosts selected, facts gathered, tasks run on every host at once
//! (bounded by `--forks`), handlers flushed, results reported.

mod action;
mod blocks;
mod censor;
mod connect;
mod connections;
mod control;
mod custom_stats;
mod handlers;
mod host;
mod include_vars;
mod includes;
mod jobs;
mod keywords;
mod looping;
mod meta;
mod play;
mod reboot;
mod role_names;
pub mod tags;
mod task;
mod vars;
mod vars_prompt;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as Json};

use crate::inventory::Inventory;
use crate::output::{Reporter, Stats};
use crate::playbook::{Loader, Playbook, Task};
use crate::template::Templar;
pub use host::HostState;
pub use tags::TagFilter;

/// Settings of one run, from the command line and the config file.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// `-C`.
    pub check: bool,
    /// `-D`.
    pub diff: bool,
    /// `-f` (hosts worked on at once).
    pub forks: usize,
    /// `-v` count.
    pub verbosity: u8,
    /// `-e` variables (highest precedence).
    pub extra_vars: Map<String, Json>,
    /// `--limit`.
    pub limit: Option<String>,
    /// `--tags` / `--skip-tags`.
    pub tags: TagFilter,
    /// `--start-at-task`.
    pub start_at_task: Option<String>,
    /// `-c` (default connection type).
    pub connection: Option<String>,
    /// `-u`.
    pub remote_user: Option<String>,
    /// `-b`.
    pub become_: bool,
    /// `--become-user`.
    pub become_user: Option<String>,
    /// `--private-key` (or `private_key_file` in the config).
    pub private_key_file: Option<String>,
    /// `-T` / `timeout`: SSH connect timeout in seconds.
    pub timeout: Option<u64>,
    /// `host_key_checking` from the config.
    pub host_key_checking: Option<bool>,
    /// `--accept-new-host-keys`: learn unknown host keys.
    pub accept_new_host_keys: bool,
    /// `-k`: the SSH password asked at start.
    pub ssh_password: Option<String>,
    /// `-K`: the become password asked at start.
    pub become_password: Option<String>,
    /// `--become-method` (or `become_method` in the config).
    pub become_method: Option<String>,
    /// `remote_port` from the config: the SSH port of hosts that name none.
    pub remote_port: Option<u16>,
    /// `ssh_args`, `--ssh-common-args`, `--ssh-extra-args` (or the config's).
    pub ssh_args: [Option<String>; 3],
    /// `gathering` from the config.
    pub gathering: crate::config::Gathering,
    /// `--force-handlers`: the default of the play keyword.
    pub force_handlers: bool,
    /// `any_errors_fatal` from the config: the default of the keyword.
    pub any_errors_fatal: bool,
    /// `allow_broken_conditionals` from the config.
    pub allow_broken_conditionals: bool,
    /// `--step`: the prompt asked before each task.
    pub step: Option<Arc<crate::output::Step>>,
    /// `fact_caching`: where facts are kept between runs.
    pub fact_cache: crate::fact_cache::FactCache,
    /// `--flush-cache`: the cached facts of every inventory host are forgotten first.
    pub flush_cache: bool,
    /// `error_on_missing_handler`: notifying a handler the play lacks stops the run.
    pub error_on_missing_handler: bool,
}

/// How a run ended, for the exit code.
#[derive(Clone, Debug, Default)]
pub struct Summary {
    /// Per-host counters.
    pub stats: Stats,
    /// Whether a host is unreachable at the end (and no `clear_host_errors` forgave it).
    pub unreachable: bool,
    /// Whether a host is failed at the end: a rescued failure leaves none.
    pub failed: bool,
}

impl Summary {
    /// Ansible's exit code, from how the hosts stand at the end rather than from the
    /// recap's counters: 0 ok, 2 a host failed, 4 a host was unreachable.
    pub fn exit_code(&self) -> i32 {
        if self.unreachable {
            4
        } else if self.failed {
            2
        } else {
            0
        }
    }
}

/// What stops a run before its end, as Ansible's `ERROR!` does.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A play's host pattern (or `--limit`) is not a valid pattern.
    #[error("{0}")]
    Pattern(String),
    /// A `meta:` task's condition cannot be evaluated.
    #[error("{0}")]
    MetaCondition(String),
    /// A play's `name` cannot be rendered (Ansible's post-validation of the play:
    /// exit 4).
    #[error("Error processing keyword 'name': {0}")]
    PlayName(String),
    /// A task's `run_once` cannot be rendered.
    #[error("{0}")]
    Keyword(String),
    /// A task's `throttle` does not render to an integer.
    #[error("Failed to convert the throttle value to an integer: {0}")]
    Throttle(String),
    /// A play's `strategy` names no strategy, or cannot be rendered.
    #[error("Invalid play strategy specified: {0}")]
    Strategy(String),
    /// A task notified a handler the play does not have (`error_on_missing_handler`).
    #[error(
        "The requested handler '{0}' was not found in either the main handlers list nor in the listening handlers list"
    )]
    MissingHandler(String),
    /// A handler is `meta: flush_handlers`, which Ansible stops the run for when the
    /// handler runs.
    #[error("flush_handlers cannot be used as a handler")]
    FlushHandlersAsHandler,
    /// A play's `vars_prompt` entry cannot be rendered or its answer hashed.
    #[error("{0}")]
    Prompt(String),
    /// A file of a play's `vars_files` exists but cannot be read (Ansible's parser
    /// error: exit 4 before the play starts).
    #[error(transparent)]
    VarsFile(#[from] crate::source::SourceError),
}

/// The inventory at one moment of the run, with what tasks read of it often.
pub(crate) struct InventoryNow {
    inventory: Arc<Inventory>,
    /// The `groups` magic variable.
    groups: Arc<Json>,
    /// How many changes made it: hosts reread their variables when it moves.
    changes: u64,
}

impl InventoryNow {
    fn new(inventory: Arc<Inventory>, changes: u64) -> InventoryNow {
        let groups = serde_json::to_value(inventory.groups()).unwrap_or(Json::Null);
        InventoryNow {
            inventory,
            groups: Arc::new(groups),
            changes,
        }
    }
}

impl std::ops::Deref for InventoryNow {
    type Target = Inventory;

    fn deref(&self) -> &Inventory {
        &self.inventory
    }
}

/// What every task of a run shares.
pub struct Runner {
    /// The inventory as it stands: `add_host` and `group_by` replace it.
    inventory: std::sync::RwLock<Arc<InventoryNow>>,
    templar: Arc<Templar>,
    loader: Arc<Loader>,
    options: RunOptions,
    reporter: Arc<dyn Reporter>,
    stats: Mutex<Stats>,
    /// What `set_stats` gathered.
    custom_stats: custom_stats::CustomStats,
    /// What each host keeps from play to play.
    memory: host::Memory,
    /// Tasks running in the background (`async` with `poll: 0`).
    jobs: jobs::Jobs,
    /// The error that stops the run, once one happened: every task loop ends.
    stopped: Mutex<Option<RunError>>,
    /// The connections open to the hosts.
    connections: connections::Connections,
}

impl Runner {
    /// A runner over `inventory` reporting to `reporter`.
    pub fn new(
        inventory: Arc<Inventory>,
        loader: Arc<Loader>,
        options: RunOptions,
        reporter: Arc<dyn Reporter>,
    ) -> Runner {
        let templar = Templar::new();
        templar.set_allow_broken_conditionals(options.allow_broken_conditionals);
        Runner {
            inventory: std::sync::RwLock::new(Arc::new(InventoryNow::new(inventory, 0))),
            templar,
            loader,
            options,
            reporter,
            stats: Mutex::new(Stats::new()),
            custom_stats: custom_stats::CustomStats::default(),
            memory: host::Memory::default(),
            jobs: jobs::Jobs::default(),
            stopped: Mutex::new(None),
            connections: connections::Connections::default(),
        }
    }

    /// Runs every play of `playbook` and prints the recap; an error that stops the
    /// run closes the connections and is returned instead.
    pub async fn run_playbook(&self, playbook: &Playbook) -> Result<Summary, RunError> {
        let limit = self.options.limit.clone();
        self.warn_inventory(limit.as_deref().unwrap_or("all"));
        self.reporter
            .playbook_start(&playbook.path, playbook.plays.len());
        self.recall_cached_facts();
        for play in &playbook.plays {
            match self.run_play(play).await {
                Ok(true) => {}
                Ok(false) => break,
                Err(err) => {
                    self.connections.close_all().await;
                    return Err(err);
                }
            }
        }
        Ok(self.finish().await)
    }

    /// Runs one task on the hosts matching `pattern` (ad hoc mode).
    pub async fn run_adhoc(
        &self,
        pattern: &str,
        task: Task,
        dir: PathBuf,
    ) -> Result<Summary, RunError> {
        self.warn_inventory(pattern);
        self.recall_cached_facts();
        let play = crate::playbook::Play {
            name: Some("Ansible Ad-Hoc".into()),
            hosts: pattern.to_string(),
            span: task.span.clone(),
            dir,
            vars: Map::new(),
            vars_files: Vec::new(),
            vars_prompt: Vec::new(),
            gather_facts: Some(false),
            pre_tasks: Vec::new(),
            roles: Vec::new(),
            tasks: vec![task],
            post_tasks: Vec::new(),
            handlers: Vec::new(),
            options: Default::default(),
            serial: None,
            strategy: "linear".into(),
            max_fail_percentage: None,
            force_handlers: None,
        };
        if let Err(err) = self.run_play(&play).await {
            self.connections.close_all().await;
            return Err(err);
        }
        Ok(self.finish().await)
    }

    /// The inventory's own warnings, and Ansible's note when it has no host and the
    /// run's `pattern` is not localhost.
    fn warn_inventory(&self, pattern: &str) {
        let inventory = self.inventory();
        for warning in inventory.warnings() {
            self.reporter.warning(warning);
        }
        let local = ["localhost", "127.0.0.1", "::1"].contains(&pattern);
        if inventory.host_names().is_empty() && !local {
            self.reporter.warning(
                "provided hosts list is empty, only localhost is available. Note that the implicit localhost does not match 'all'",
            );
        }
    }

    /// The inventory as it stands now.
    fn inventory(&self) -> Arc<InventoryNow> {
        self.inventory
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Applies a change (`add_host`, `group_by`) to a copy of the inventory, which
    /// replaces it when the change changed something.
    fn change_inventory(
        &self,
        change: impl FnOnce(&mut Inventory) -> Result<bool, crate::inventory::InventoryError>,
    ) -> Result<bool, String> {
        let mut guard = self
            .inventory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut copy = Inventory::clone(&guard.inventory);
        let changed = change(&mut copy).map_err(|err| err.to_string())?;
        if changed {
            *guard = Arc::new(InventoryNow::new(Arc::new(copy), guard.changes + 1));
        }
        Ok(changed)
    }

    /// `meta: refresh_inventory`: the inventory read again from its sources, with the
    /// run's own changes kept.
    fn refresh_inventory(&self) -> Result<(), String> {
        let mut guard = self
            .inventory
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fresh = guard.inventory.refreshed().map_err(|err| err.to_string())?;
        *guard = Arc::new(InventoryNow::new(Arc::new(fresh), guard.changes + 1));
        Ok(())
    }

    /// Stops the run with `err`: no further task starts.
    fn stop(&self, err: RunError) {
        if let Ok(mut stopped) = self.stopped.lock() {
            stopped.get_or_insert(err);
        }
    }

    /// Whether the run was stopped.
    fn is_stopped(&self) -> bool {
        self.stopped.lock().map_or(true, |s| s.is_some())
    }

    /// Takes up the facts the cache kept for the inventory's hosts (after forgetting
    /// them with `--flush-cache`), as their facts from an earlier play.
    fn recall_cached_facts(&self) {
        let cache = &self.options.fact_cache;
        if !cache.persists() {
            return;
        }
        let names = self.inventory().host_names();
        let mut memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for name in names {
            if self.options.flush_cache {
                cache.flush(&name);
                continue;
            }
            if let Some(facts) = cache.load(&name) {
                let mut host = HostState::new(&name, Map::new());
                host.add_facts(&facts);
                memory.insert(name.clone(), host.remember());
            }
        }
    }

    /// Keeps `host`'s facts in the fact cache; a cache that cannot be written is a
    /// warning, as in Ansible.
    pub(super) fn cache_facts(&self, host: &HostState) {
        if !self.options.fact_cache.persists() {
            return;
        }
        let mut facts = (*host.facts).clone();
        facts.remove("ansible_facts");
        if let Err(message) = self.options.fact_cache.store(&host.name, &facts) {
            self.reporter.warning(&message);
        }
    }

    /// The error that stopped the run, taken out.
    fn take_stop(&self) -> Option<RunError> {
        self.stopped.lock().ok().and_then(|mut s| s.take())
    }

    /// Closes every connection and prints the recap.
    async fn finish(&self) -> Summary {
        self.jobs.wait_all().await;
        self.connections.close_all().await;
        let stats = self.stats.lock().map(|s| s.clone()).unwrap_or_default();
        self.reporter.custom_stats(&self.custom_stats.snapshot());
        self.reporter.recap(&stats);
        let memory = self
            .memory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Summary {
            stats,
            unreachable: memory.values().any(|r| r.unreachable),
            failed: memory.values().any(|r| r.failed),
        }
    }

    fn count(&self, host: &str, update: impl FnOnce(&mut crate::output::HostStats)) {
        if let Ok(mut stats) = self.stats.lock() {
            update(stats.entry(host.to_string()).or_default());
        }
    }
}
