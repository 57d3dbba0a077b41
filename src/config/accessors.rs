//! The settings bosun acts on, typed for the code that uses them. Each reads one row of
//! the table by its Ansible name.

use std::path::{Path, PathBuf};

use super::{Config, Value};

/// How many hosts bosun works on at once when `forks` is not set.
pub const DEFAULT_FORKS: usize = 50;

/// `gathering`: when plays gather facts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Gathering {
    /// Unless the play says `gather_facts: false`.
    #[default]
    Implicit,
    /// Only when the play says `gather_facts: true`.
    Explicit,
    /// As implicit, but only for hosts whose facts no earlier play gathered.
    Smart,
}

/// `stdout_callback`: how results are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StdoutCallback {
    /// Ansible's default callback.
    #[default]
    Default,
    /// `minimal`: `host | STATUS => {json}`.
    Minimal,
    /// `oneline`: one line per result.
    Oneline,
    /// `json` (ansible.posix.json): one JSON document at the end.
    Json,
}

impl StdoutCallback {
    /// The callback named `name` (with or without its collection), or an error
    /// saying which ones bosun has.
    pub fn named(name: &str) -> Result<StdoutCallback, String> {
        let short = name.rsplit('.').next().unwrap_or(name);
        match short {
            "default" => Ok(StdoutCallback::Default),
            "minimal" => Ok(StdoutCallback::Minimal),
            "oneline" => Ok(StdoutCallback::Oneline),
            "json" => Ok(StdoutCallback::Json),
            "yaml" => Err(format!(
                "Could not load '{name}' callback plugin: bosun has no yaml callback (community.general.yaml is gone from recent collections; Ansible's default callback with result_format=yaml replaces it, which bosun does not implement either). Use default, minimal, oneline or json."
            )),
            _ => Err(format!(
                "Could not load '{name}' callback plugin: bosun's outputs are default, minimal, oneline and json."
            )),
        }
    }
}

impl Config {
    fn bool(&self, name: &str) -> bool {
        matches!(self.value(name), Value::Bool(true))
    }

    /// What an inventory source that cannot be parsed does (`[inventory]`
    /// `any_unparsed_is_failed`, `unparsed_is_failed`, `inventory_unparsed_warning`).
    pub fn unparsed_inventory(&self) -> crate::inventory::Unparsed {
        crate::inventory::Unparsed {
            any_is_failed: self.bool("INVENTORY_ANY_UNPARSED_IS_FAILED"),
            none_is_failed: self.bool("INVENTORY_UNPARSED_IS_FAILED"),
            warn_when_none: self.bool("INVENTORY_UNPARSED_WARNING"),
        }
    }

    fn int(&self, name: &str) -> Option<i64> {
        match self.value(name) {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.value(name) {
            Value::Str(s) if !s.is_empty() => Some(s.clone()),
            _ => None,
        }
    }

    fn list(&self, name: &str) -> Vec<String> {
        match self.value(name) {
            Value::List(items) => items.iter().filter(|i| !i.is_empty()).cloned().collect(),
            Value::Str(s) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// `inventory`: the sources used when no `-i` is given. The default
    /// (`/etc/ansible/hosts`) only when it exists.
    pub fn inventory(&self) -> Vec<String> {
        let sources = self.list("DEFAULT_HOST_LIST");
        if self.is_set("DEFAULT_HOST_LIST") {
            sources
        } else {
            sources
                .into_iter()
                .filter(|s| Path::new(s).exists())
                .collect()
        }
    }

    /// `roles_path`.
    pub fn roles_path(&self) -> Vec<PathBuf> {
        self.list("DEFAULT_ROLES_PATH")
            .into_iter()
            .map(PathBuf::from)
            .collect()
    }

    /// `collections_path`: where collections (their roles) are found.
    pub fn collections_path(&self) -> Vec<PathBuf> {
        self.list("COLLECTIONS_PATHS")
            .into_iter()
            .map(PathBuf::from)
            .collect()
    }

    /// `library`: where drop-in modules are found.
    pub fn module_path(&self) -> Vec<PathBuf> {
        self.list("DEFAULT_MODULE_PATH")
            .into_iter()
            .map(PathBuf::from)
            .collect()
    }

    /// `forks` when it is set; bosun's own default is [`DEFAULT_FORKS`], where
    /// Ansible's is 5.
    pub fn forks(&self) -> usize {
        self.int("DEFAULT_FORKS")
            .filter(|_| self.is_set("DEFAULT_FORKS"))
            .and_then(|f| usize::try_from(f).ok())
            .unwrap_or(DEFAULT_FORKS)
    }

    /// `remote_user`.
    pub fn remote_user(&self) -> Option<String> {
        self.text("DEFAULT_REMOTE_USER")
    }

    /// `private_key_file`.
    pub fn private_key_file(&self) -> Option<String> {
        self.text("DEFAULT_PRIVATE_KEY_FILE")
    }

    /// `host_key_checking` (`[defaults]` or `[ssh_connection]`).
    pub fn host_key_checking(&self) -> bool {
        self.bool("ssh.host_key_checking")
    }

    /// `timeout` (`[defaults]` or `[ssh_connection]`): the SSH connect timeout.
    pub fn timeout(&self) -> u64 {
        self.int("ssh.timeout")
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(10)
    }

    /// `remote_port`: the SSH port for hosts that name none.
    pub fn remote_port(&self) -> Option<u16> {
        self.int("ssh.port").and_then(|p| u16::try_from(p).ok())
    }

    /// `transport`: the connection type, unless it is Ansible's default `smart`/`ssh`.
    pub fn transport(&self) -> Option<String> {
        self.text("DEFAULT_TRANSPORT")
            .filter(|_| self.is_set("DEFAULT_TRANSPORT"))
    }

    /// `[ssh_connection] ssh_args`, `ssh_common_args`, `ssh_extra_args`.
    pub fn ssh_args(&self) -> [Option<String>; 3] {
        ["ssh.ssh_args", "ssh.ssh_common_args", "ssh.ssh_extra_args"].map(|name| self.text(name))
    }

    /// `stdout_callback`.
    pub fn stdout_callback(&self) -> Result<StdoutCallback, String> {
        StdoutCallback::named(&self.text("DEFAULT_STDOUT_CALLBACK").unwrap_or_default())
    }

    /// `callbacks_enabled`, short names (`ansible.posix.timer` is `timer`).
    pub fn callbacks_enabled(&self) -> Vec<String> {
        self.list("CALLBACKS_ENABLED")
            .into_iter()
            .map(|name| name.rsplit('.').next().unwrap_or(&name).to_string())
            .collect()
    }

    /// `[callback_profile_tasks] task_output_limit`: `None` for `all`.
    pub fn profile_tasks_limit(&self) -> Option<usize> {
        self.text("profile_tasks.output_limit")
            .and_then(|limit| limit.trim().parse().ok())
    }

    /// `[callback_profile_tasks] sort_order`: `Some(true)` descending, `Some(false)`
    /// ascending, `None` in run order.
    pub fn profile_tasks_descending(&self) -> Option<bool> {
        match self.text("profile_tasks.sort_order").as_deref() {
            Some("ascending") => Some(false),
            Some("none") => None,
            _ => Some(true),
        }
    }

    /// `nocolor` (or `NO_COLOR`).
    pub fn nocolor(&self) -> bool {
        self.bool("ANSIBLE_NOCOLOR")
    }

    /// `force_color`.
    pub fn force_color(&self) -> bool {
        self.bool("ANSIBLE_FORCE_COLOR")
    }

    /// `[colors] KEY`: the colour name for `key` (`ok`, `changed`, `error` ...).
    pub fn color(&self, key: &str) -> Option<String> {
        self.text(&format!("COLOR_{}", key.to_ascii_uppercase()))
    }

    /// `retry_files_enabled`.
    pub fn retry_files_enabled(&self) -> bool {
        self.bool("RETRY_FILES_ENABLED")
    }

    /// `retry_files_save_path`.
    pub fn retry_files_save_path(&self) -> Option<PathBuf> {
        self.text("RETRY_FILES_SAVE_PATH").map(PathBuf::from)
    }

    /// `error_on_missing_handler`.
    pub fn error_on_missing_handler(&self) -> bool {
        self.bool("ERROR_ON_MISSING_HANDLER")
    }

    /// `fact_caching` with its connection, prefix and timeout.
    pub fn fact_cache(&self) -> Result<crate::fact_cache::FactCache, String> {
        crate::fact_cache::FactCache::configured(
            &self.text("CACHE_PLUGIN").unwrap_or_else(|| "memory".into()),
            self.text("CACHE_PLUGIN_CONNECTION").as_deref(),
            &self.text("CACHE_PLUGIN_PREFIX").unwrap_or_default(),
            self.int("CACHE_PLUGIN_TIMEOUT")
                .and_then(|t| u64::try_from(t).ok())
                .unwrap_or(0),
        )
    }

    /// Whether `hash_behaviour` is `merge` (else `replace`); any other value is
    /// refused with Ansible's message.
    pub fn hash_merge(&self) -> Result<bool, String> {
        match self.text("DEFAULT_HASH_BEHAVIOUR").as_deref() {
            None | Some("replace") => Ok(false),
            Some("merge") => Ok(true),
            Some(other) => Err(format!(
                "Invalid value '{other}' for config 'DEFAULT_HASH_BEHAVIOUR'. Valid values are: replace, merge"
            )),
        }
    }

    /// `gathering`; anything but `explicit` or `smart` is `implicit`.
    pub fn gathering(&self) -> Gathering {
        match self.text("DEFAULT_GATHERING").as_deref() {
            Some("explicit") => Gathering::Explicit,
            Some("smart") => Gathering::Smart,
            _ => Gathering::Implicit,
        }
    }

    /// `vault_password_file`.
    pub fn vault_password_file(&self) -> Option<String> {
        self.text("DEFAULT_VAULT_PASSWORD_FILE")
    }

    /// `vault_identity_list`.
    pub fn vault_identity_list(&self) -> Vec<String> {
        self.list("DEFAULT_VAULT_IDENTITY_LIST")
    }

    /// `vault_id_match`, read as a boolean. base.yml gives it no type, so Ansible keeps
    /// the text and any non-empty value (`False` too) turns it on: bosun reads the
    /// words as booleans, as the setting's description means.
    pub fn vault_id_match(&self) -> bool {
        self.text("DEFAULT_VAULT_ID_MATCH").is_some_and(|text| {
            crate::modules::args::parse_bool(&serde_json::Value::String(text)) == Some(true)
        })
    }

    /// `ask_vault_pass`.
    pub fn ask_vault_pass(&self) -> bool {
        self.bool("DEFAULT_ASK_VAULT_PASS")
    }

    /// `ask_pass`.
    pub fn ask_pass(&self) -> bool {
        self.bool("DEFAULT_ASK_PASS")
    }

    /// `any_errors_fatal`.
    pub fn any_errors_fatal(&self) -> bool {
        self.bool("ANY_ERRORS_FATAL")
    }

    /// `allow_broken_conditionals`.
    pub fn allow_broken_conditionals(&self) -> bool {
        self.bool("ALLOW_BROKEN_CONDITIONALS")
    }

    /// `force_handlers`.
    pub fn force_handlers(&self) -> bool {
        self.bool("DEFAULT_FORCE_HANDLERS")
    }

    /// `verbosity`.
    pub fn verbosity(&self) -> u8 {
        self.int("DEFAULT_VERBOSITY")
            .and_then(|v| u8::try_from(v).ok())
            .unwrap_or(0)
    }

    /// `display_skipped_hosts`.
    pub fn display_skipped_hosts(&self) -> bool {
        self.bool("default.display_skipped_hosts")
    }

    /// `show_custom_stats`: `set_stats`' statistics after the recap.
    pub fn show_custom_stats(&self) -> bool {
        self.bool("SHOW_CUSTOM_STATS")
    }

    /// `display_ok_hosts`.
    pub fn display_ok_hosts(&self) -> bool {
        self.bool("default.display_ok_hosts")
    }

    /// `[privilege_escalation] become`.
    pub fn become_(&self) -> bool {
        self.bool("DEFAULT_BECOME")
    }

    /// `[privilege_escalation] become_method`.
    pub fn become_method(&self) -> Option<String> {
        self.text("DEFAULT_BECOME_METHOD")
    }

    /// `[privilege_escalation] become_user`.
    pub fn become_user(&self) -> Option<String> {
        self.text("DEFAULT_BECOME_USER")
    }

    /// `[privilege_escalation] become_ask_pass`.
    pub fn become_ask_pass(&self) -> bool {
        self.bool("DEFAULT_BECOME_ASK_PASS")
    }
}
