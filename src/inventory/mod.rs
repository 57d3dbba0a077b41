//! The inventory: hosts, groups and their variables, loaded from INI and YAML files,
//! directories of them and comma lists, with `group_vars/` and `host_vars/` beside
//! them, following Ansible's rules for membership, precedence and host patterns.

mod address;
mod build;
mod constructed;
mod graph;
mod ini;
mod list;
mod literal;
mod pattern;
mod plugin;
mod range;
mod runtime;
mod safe_name;
mod script;
mod sources;
mod terraform;
mod vars_dir;
mod yaml;
mod yaml_list;

pub use address::parse_address;

use std::path::{Path, PathBuf};

use indexmap::{IndexMap, IndexSet};
use serde_json::{Map, Value as Json};

use crate::source::SourceError;
use vars_dir::VarsDir;

/// Names that mean the control machine; one of them works even when not in the inventory.
const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The control node's Python: the implicit localhost's interpreter and
/// `ansible_playbook_python`. Ansible names its own (`sys.executable`); bosun has
/// none, so it names the `python3` the control node's `PATH` finds, as running
/// `ansible-playbook` from there would.
pub static CONTROLLER_PYTHON: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("python3"))
        .find(|path| path.is_file())
        .map_or_else(
            || "/usr/bin/python3".to_string(),
            |path| path.display().to_string(),
        )
});

/// Variables of one host or group, in the order they were set.
type Vars = Map<String, Json>;

/// Why an inventory could not be loaded or queried.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A problem at a known place in an inventory or vars file.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A file or directory that exists but cannot be read.
    #[error("cannot read {path}: {error}; check that it exists and is readable")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// What the system said.
        error: std::io::Error,
    },
    /// A vault file that cannot be decrypted with the passwords given.
    #[error("{path}: {message}")]
    Vault {
        /// The file.
        path: PathBuf,
        /// Why, without any of its content.
        message: String,
    },
    /// A host pattern that cannot be evaluated.
    #[error("{0}")]
    Pattern(String),
    /// An inventory script that could not be run, failed, or printed something that
    /// is not Ansible's inventory JSON.
    #[error("failed to parse inventory script {path}: {message}{}", stderr_note(.stderr))]
    Script {
        /// The script.
        path: PathBuf,
        /// What went wrong, in Ansible's words.
        message: String,
        /// What the script wrote to standard error (may be empty).
        stderr: String,
    },
    /// An inventory plugin configuration file that names a plugin bosun lacks, or whose
    /// options or expressions are wrong.
    #[error("{path}: {message}")]
    Plugin {
        /// The configuration file.
        path: PathBuf,
        /// What went wrong and what to do.
        message: String,
    },
    /// A source that cannot be parsed, under `any_unparsed_is_failed`.
    #[error("Completely failed to parse inventory source {}: {error}", path.display())]
    Unparsed {
        /// The source.
        path: PathBuf,
        /// Why it cannot be parsed.
        error: Box<InventoryError>,
    },
    /// No source could be parsed, under `unparsed_is_failed`.
    #[error("No inventory was parsed, please check your configuration and options.")]
    NoneParsed,
    /// `graph` was asked for a group the inventory does not have.
    #[error("there is no group named '{0}' in the inventory; pass a group name to graph it")]
    UnknownGroup(String),
}

/// The part of a script error showing the script's standard error, if it wrote any.
fn stderr_note(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("\nStandard error from inventory script:\n{stderr}")
    }
}

impl InventoryError {
    /// The error for a file `SourceFile::read` could not read or decrypt.
    fn reading(path: &std::path::Path, error: std::io::Error) -> InventoryError {
        match error
            .get_ref()
            .and_then(|e| e.downcast_ref::<crate::vault::files::Undecryptable>())
        {
            Some(vault) => InventoryError::Vault {
                path: path.to_path_buf(),
                message: vault.0.clone(),
            },
            None => InventoryError::Io {
                path: path.to_path_buf(),
                error,
            },
        }
    }
}

/// One host: its own variables, the groups it was put in directly, and the file
/// that first defined it.
#[derive(Clone, Debug, Default)]
struct Host {
    vars: Vars,
    groups: Vec<String>,
    source: Option<PathBuf>,
    /// Variables whose values a template computed (`compose`), which Ansible does
    /// not trust as templates and `--list` shows as `{"__ansible_unsafe": ...}`.
    untrusted: std::collections::BTreeSet<String>,
}

/// One group: direct member hosts, child and parent groups, its own variables.
#[derive(Clone, Debug)]
struct Group {
    hosts: Vec<String>,
    children: Vec<String>,
    parents: Vec<String>,
    vars: Vars,
    priority: i64,
    depth: usize,
}

impl Group {
    fn new() -> Group {
        Group {
            hosts: Vec::new(),
            children: Vec::new(),
            parents: Vec::new(),
            vars: Vars::new(),
            priority: 1,
            depth: 0,
        }
    }
}

/// A loaded inventory; see the module documentation.
#[derive(Clone, Debug)]
pub struct Inventory {
    hosts: IndexMap<String, Host>,
    groups: IndexMap<String, Group>,
    /// The first localhost-like host listed in the inventory, if any.
    localhost: Option<String>,
    /// `group_vars/`/`host_vars/` beside the inventory sources, in source order.
    inventory_vars: Vec<VarsDir>,
    /// `group_vars/`/`host_vars/` beside the playbook.
    playbook_vars: Option<VarsDir>,
    warnings: Vec<String>,
    /// The sources it was loaded from and the playbook directory whose vars it read,
    /// for `meta: refresh_inventory`.
    origin: (Vec<String>, Option<PathBuf>),
    /// What a source that cannot be parsed does, for a refresh too.
    unparsed: Unparsed,
    /// The changes the run made (`add_host`, `group_by`), which a refresh keeps.
    changes: Vec<runtime::Change>,
}

/// What a source that cannot be parsed does: Ansible's `[inventory]` settings.
#[derive(Clone, Copy, Debug)]
pub struct Unparsed {
    /// `any_unparsed_is_failed`: such a source stops bosun.
    pub any_is_failed: bool,
    /// `unparsed_is_failed`: bosun stops when no source could be parsed.
    pub none_is_failed: bool,
    /// `inventory_unparsed_warning`: warn when no source could be parsed.
    pub warn_when_none: bool,
}

impl Default for Unparsed {
    fn default() -> Unparsed {
        Unparsed {
            any_is_failed: false,
            none_is_failed: false,
            warn_when_none: true,
        }
    }
}

/// How a host name resolves: a host of the inventory, or the implicit localhost.
enum Resolved<'a> {
    Listed(&'a str, &'a Host),
    ImplicitLocalhost(&'a str),
}

impl Inventory {
    /// An inventory with only the `all` and `ungrouped` groups.
    fn empty() -> Inventory {
        let mut inventory = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            localhost: None,
            inventory_vars: Vec::new(),
            playbook_vars: None,
            warnings: Vec::new(),
            origin: (Vec::new(), None),
            unparsed: Unparsed::default(),
            changes: Vec::new(),
        };
        inventory.add_group("all");
        inventory.add_group("ungrouped");
        inventory.link("all", "ungrouped");
        inventory
    }

    /// Loads every source: a file (INI or YAML, detected by content/extension), a
    /// directory (every file in it, recursively, skipping `group_vars/`, `host_vars/`,
    /// dotfiles and backup/ignored extensions), or a comma list (`"web1,web2,"`) when
    /// the string contains a comma and is not an existing path. `group_vars/` and
    /// `host_vars/` beside each inventory file / inside each inventory directory are
    /// loaded too. No sources give an empty inventory (only the implicit localhost).
    pub fn load(sources: &[String]) -> Result<Inventory, InventoryError> {
        Inventory::load_with(sources, Unparsed::default())
    }

    /// [`Inventory::load`], with a source that cannot be parsed treated as
    /// `unparsed` says: a warning and nothing from it (Ansible's default), or an error.
    pub fn load_with(sources: &[String], unparsed: Unparsed) -> Result<Inventory, InventoryError> {
        let mut inventory = Inventory::empty();
        inventory.unparsed = unparsed;
        let mut vars_dirs: Vec<PathBuf> = Vec::new();
        let mut parsed = 0;
        for source in sources.iter().filter(|s| !s.is_empty()) {
            match sources::load_source(&mut inventory, source, &vars_dirs, unparsed)? {
                sources::Loaded::Parsed(dir) => {
                    parsed += 1;
                    if let Some(dir) = dir.filter(|d| !vars_dirs.contains(d)) {
                        vars_dirs.push(dir);
                    }
                }
                sources::Loaded::Unparsable => {}
            }
        }
        if parsed == 0 && sources.iter().any(|s| !s.is_empty()) {
            if unparsed.none_is_failed {
                return Err(InventoryError::NoneParsed);
            }
            if unparsed.warn_when_none {
                inventory
                    .warnings
                    .push("No inventory was parsed, only implicit localhost is available".into());
            }
        }
        inventory.reconcile();
        for dir in vars_dirs {
            let loaded = inventory.load_vars_dir(&dir)?;
            inventory.inventory_vars.push(loaded);
        }
        inventory.origin.0 = sources.to_vec();
        Ok(inventory)
    }

    /// Loads `group_vars/` and `host_vars/` found in `dir` (the playbook's directory),
    /// replacing any loaded before; these rank above the inventory's own
    /// `group_vars/`/`host_vars/` at each level.
    pub fn load_playbook_vars(&mut self, dir: &Path) -> Result<(), InventoryError> {
        self.playbook_vars = Some(self.load_vars_dir(dir)?);
        self.origin.1 = Some(dir.to_path_buf());
        Ok(())
    }

    /// Host names matching an Ansible host pattern, in inventory order, without
    /// duplicates. A pattern matching nothing gives an empty list.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        pattern::select(self, pattern)
    }

    /// The inventory variables of one host merged in Ansible's precedence, lowest
    /// first: inventory-file group vars (`all`, then the host's groups by depth,
    /// priority and name), `group_vars/all` (inventory, then playbook),
    /// `group_vars/<group>` (inventory, then playbook), inventory-file host vars,
    /// `host_vars/<host>` (inventory, then playbook). Later top-level keys replace
    /// earlier ones. Unknown hosts have no variables.
    pub fn host_vars(&self, host: &str) -> Map<String, Json> {
        let (name, own, groups) = match self.resolve(host) {
            None => return Vars::new(),
            Some(Resolved::Listed(name, entry)) => {
                (name, entry.vars.clone(), self.sorted_groups(name))
            }
            Some(Resolved::ImplicitLocalhost(name)) => {
                let mut own = Vars::new();
                own.insert(
                    "ansible_python_interpreter".into(),
                    Json::String(CONTROLLER_PYTHON.clone()),
                );
                own.insert("ansible_connection".into(), Json::String("local".into()));
                (name, own, Vec::new())
            }
        };
        let mut merged = Vars::new();
        let dirs: Vec<&VarsDir> = self
            .inventory_vars
            .iter()
            .chain(&self.playbook_vars)
            .collect();
        let all = &self.groups["all"];
        merge(&mut merged, Some(&all.vars));
        for group in &groups {
            merge(&mut merged, self.groups.get(*group).map(|g| &g.vars));
        }
        for dir in &dirs {
            merge(&mut merged, dir.group("all"));
        }
        for dir in &dirs {
            for group in &groups {
                merge(&mut merged, dir.group(group));
            }
        }
        merge(&mut merged, Some(&own));
        for dir in &dirs {
            merge(&mut merged, dir.host(name));
        }
        merged
    }

    /// The groups a host is in (transitively), sorted, without `all` and
    /// `ungrouped` — Ansible's `group_names`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let Some(Resolved::Listed(name, _)) = self.resolve(host) else {
            return Vec::new();
        };
        let mut names: Vec<String> = self
            .host_groups(name)
            .into_iter()
            .filter(|g| *g != "all" && *g != "ungrouped")
            .map(str::to_string)
            .collect();
        names.sort();
        names
    }

    /// Every group with its hosts (transitively, inventory order), including `all`
    /// and `ungrouped` — Ansible's `groups` magic variable.
    pub fn groups(&self) -> IndexMap<String, Vec<String>> {
        self.groups
            .keys()
            .map(|name| (name.clone(), self.group_hosts(name)))
            .collect()
    }

    /// Whether `name` is a host of the inventory (not the implicit localhost).
    pub fn has_host(&self, name: &str) -> bool {
        self.hosts.contains_key(name)
    }

    /// All hosts in the order they were first listed (not the implicit localhost).
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.keys().cloned().collect()
    }

    /// The inventory file that first listed `host` (for `inventory_file` and
    /// `inventory_dir`); `None` for hosts from a comma list and unknown hosts.
    pub fn inventory_file(&self, host: &str) -> Option<&Path> {
        self.hosts.get(host)?.source.as_deref()
    }

    /// Things that were skipped while loading, worth showing the user.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// JSON like `ansible-inventory --list` (with `_meta.hostvars`), keys sorted.
    pub fn to_list_json(&self) -> Json {
        list::to_list_json(self)
    }

    /// YAML like `ansible-inventory --list --yaml`.
    pub fn to_list_yaml(&self) -> String {
        yaml_list::dump(&yaml_list::to_list_document(self))
    }

    /// One host's variables as YAML, like `ansible-inventory --host HOST --yaml`.
    pub fn host_vars_yaml(&self, host: &str) -> String {
        yaml_list::dump(&Json::Object(self.host_vars(host)))
    }

    /// Text like `ansible-inventory --graph [group]`, starting at `all` by default.
    pub fn graph(&self, group: Option<&str>) -> Result<String, InventoryError> {
        graph::graph(self, group.unwrap_or("all"))
    }

    /// Finds the host `name` refers to, falling back to the implicit localhost.
    fn resolve<'a>(&'a self, name: &'a str) -> Option<Resolved<'a>> {
        if let Some((name, host)) = self.hosts.get_key_value(name) {
            return Some(Resolved::Listed(name, host));
        }
        if !LOCALHOST_NAMES.contains(&name) {
            return None;
        }
        Some(match &self.localhost {
            Some(listed) => Resolved::Listed(listed, &self.hosts[listed]),
            None => Resolved::ImplicitLocalhost(name),
        })
    }

    /// The name a localhost-like pattern stands for when nothing else matched it.
    fn implicit_localhost(&self, name: &str) -> Option<String> {
        LOCALHOST_NAMES
            .contains(&name)
            .then(|| self.localhost.clone().unwrap_or_else(|| name.to_string()))
    }

    /// Every group `host` is in, directly or through child groups, `all` included.
    fn host_groups(&self, host: &str) -> Vec<&str> {
        let mut found: IndexSet<&str> = IndexSet::new();
        let mut pending: Vec<&str> = self
            .hosts
            .get(host)
            .map(|h| h.groups.iter().map(String::as_str).collect())
            .unwrap_or_default();
        while let Some(name) = pending.pop() {
            if let Some((name, group)) = self.groups.get_key_value(name)
                && found.insert(name.as_str())
            {
                pending.extend(group.parents.iter().map(String::as_str));
            }
        }
        found.into_iter().collect()
    }

    /// The host's groups except `all`, in variable precedence order: by depth,
    /// then `ansible_group_priority`, then name.
    fn sorted_groups(&self, host: &str) -> Vec<&str> {
        let mut groups: Vec<&str> = self
            .host_groups(host)
            .into_iter()
            .filter(|g| *g != "all")
            .collect();
        groups.sort_by_key(|name| {
            let group = &self.groups[*name];
            (group.depth, group.priority, *name)
        });
        groups
    }

    /// All hosts of a group, its own first, then those of its descendants level by
    /// level (Ansible's `Group.get_hosts`).
    fn group_hosts(&self, name: &str) -> Vec<String> {
        let mut order: IndexSet<&str> = IndexSet::new();
        order.insert(name);
        let mut next = 0;
        while let Some(current) = order.get_index(next).copied() {
            if let Some(group) = self.groups.get(current) {
                order.extend(group.children.iter().map(String::as_str));
            }
            next += 1;
        }
        let mut hosts: IndexSet<&str> = IndexSet::new();
        for group in order {
            if let Some(group) = self.groups.get(group) {
                hosts.extend(group.hosts.iter().map(String::as_str));
            }
        }
        hosts.into_iter().map(str::to_string).collect()
    }

    /// Loads `group_vars/`/`host_vars/` under `dir` for every known group and host.
    fn load_vars_dir(&self, dir: &Path) -> Result<VarsDir, InventoryError> {
        let hosts = self.hosts.keys().map(String::as_str).chain(
            LOCALHOST_NAMES
                .into_iter()
                .filter(|n| !self.hosts.contains_key(*n)),
        );
        VarsDir::load(dir, self.groups.keys().map(String::as_str), hosts)
    }
}

/// Lays every top-level key of `layer` over `into` (merged under `hash_behaviour=merge`).
fn merge(into: &mut Vars, layer: Option<&Vars>) {
    for (key, value) in layer.into_iter().flatten() {
        crate::hash_behaviour::set(into, key.clone(), value.clone());
    }
}

#[cfg(test)]
mod tests;
