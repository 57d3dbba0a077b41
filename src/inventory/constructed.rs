//! Ansible's `constructed` inventory plugin: variables (`compose`) and groups
//! (`groups` conditions, `keyed_groups` from variable values) computed with Jinja
//! from the hosts the sources before it loaded, in source order, as
//! `lib/ansible/plugins/inventory/constructed.py` and the `Constructable` mixin do.

use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use regex::Regex;

use serde_json::{Map, Value as Json};

use crate::template::{Templar, Vars, is_template};
use crate::yaml::Node;

use super::safe_name::safe_group_name;
use super::script::python_type;
use super::vars_dir::VarsDir;
use super::{Inventory, InventoryError, merge};

/// The plugin's options, read from its configuration file.
struct Options {
    strict: bool,
    compose: Map<String, Json>,
    groups: Map<String, Json>,
    keyed_groups: Vec<Json>,
    leading_separator: bool,
    use_vars_plugins: bool,
}

/// Runs the `constructed` configuration `root` (from `path`) over every host loaded
/// so far; `vars_dirs` are the directories whose `group_vars/`/`host_vars/` the
/// hosts see under `use_vars_plugins`.
pub fn load(
    inventory: &mut Inventory,
    root: &Node,
    path: &Path,
    vars_dirs: &[PathBuf],
) -> Result<(), InventoryError> {
    let fail = |message: String| InventoryError::Plugin {
        path: path.to_path_buf(),
        message,
    };
    let options = Options::read(&root.to_json()).map_err(fail)?;
    let dirs = if options.use_vars_plugins {
        plugin_vars_dirs(inventory, path, vars_dirs)?
    } else {
        Vec::new()
    };
    inventory.compute_depths();
    let construct = Constructor {
        templar: Templar::new(),
        options: &options,
        dirs: &dirs,
    };
    for host in inventory.host_names() {
        construct
            .host(inventory, &host)
            .map_err(|why| fail(format!("Failed to parse {}: {why}", path.display())))?;
    }
    Ok(())
}

/// The `group_vars/`/`host_vars/` of the sources loaded so far and of the directory
/// of the configuration file, for the hosts and groups known now.
fn plugin_vars_dirs(
    inventory: &Inventory,
    path: &Path,
    vars_dirs: &[PathBuf],
) -> Result<Vec<VarsDir>, InventoryError> {
    let own = path
        .parent()
        .map(|dir| {
            if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir.to_path_buf()
            }
        })
        .into_iter();
    let mut dirs: Vec<PathBuf> = vars_dirs.to_vec();
    for dir in own {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs.iter()
        .map(|dir| {
            VarsDir::load(
                dir,
                inventory.groups.keys().map(String::as_str),
                inventory.hosts.keys().map(String::as_str),
            )
        })
        .collect()
}

impl Options {
    /// The options of the configuration (keys the plugin does not know are ignored,
    /// as Ansible ignores them); a wrong type is an error in Ansible's words.
    fn read(config: &Json) -> Result<Options, String> {
        let get = |key: &str| config.get(key).filter(|v| !v.is_null());
        let invalid = |key: &str, kind: &str, value: &Json| {
            format!(
                "Config '{key}' for 'constructed' inventory plugin from 'Direct' has an invalid value: Invalid value provided for '{kind}': {value}"
            )
        };
        let map = |key: &str| match get(key) {
            None => Ok(Map::new()),
            Some(Json::Object(map)) => Ok(map.clone()),
            Some(other) => Err(invalid(key, "dict", other)),
        };
        let flag = |key: &str, default: bool| get(key).map_or(default, python_bool);
        let keyed_groups = match get("keyed_groups") {
            None => Vec::new(),
            Some(Json::Array(items)) => items.clone(),
            Some(other) => return Err(invalid("keyed_groups", "list", other)),
        };
        Ok(Options {
            strict: flag("strict", false),
            compose: map("compose")?,
            groups: map("groups")?,
            keyed_groups,
            leading_separator: flag("leading_separator", true),
            use_vars_plugins: flag("use_vars_plugins", false),
        })
    }
}

/// Ansible's non-strict `boolean()`: true for `true`, `yes`, `on`, `1`, `y`, `t`.
fn python_bool(value: &Json) -> bool {
    match value {
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() == Some(1.0),
        Json::String(s) => matches!(
            s.trim().to_ascii_lowercase().as_str(),
            "y" | "yes" | "on" | "1" | "true" | "t"
        ),
        _ => false,
    }
}

/// What one configuration does to each host.
struct Constructor<'a> {
    templar: Arc<Templar>,
    options: &'a Options,
    dirs: &'a [VarsDir],
}

impl Constructor<'_> {
    /// `compose`, then `groups`, then `keyed_groups` for one host, each seeing the
    /// host's variables as they stand before it (composed ones included after
    /// `compose`). Without `strict`, an expression that fails is skipped.
    fn host(&self, inventory: &mut Inventory, host: &str) -> Result<(), String> {
        let strict = self.options.strict;
        let vars = self.host_vars(inventory, host);
        for (name, expression) in &self.options.compose {
            match self.evaluate(expression, &vars) {
                Ok(value) if self.keeps_trust(inventory, host, expression) => {
                    inventory.set_host_var(host, name, value);
                }
                Ok(value) => inventory.set_untrusted_host_var(host, name, value),
                Err(why) if strict => {
                    return Err(format!("Could not set {name} for host {host}: {why}"));
                }
                Err(_) => {}
            }
        }
        let vars = self.host_vars(inventory, host);
        for (name, condition) in &self.options.groups {
            let group = safe_group_name(name);
            match self.condition(condition, &vars) {
                Ok(true) => {
                    inventory.add_group(&group);
                    inventory.add_host(host, &group, None, None);
                }
                Ok(false) => {}
                Err(why) if strict => {
                    return Err(format!(
                        "Could not add host {host} to group {group}: Error while evaluating conditional: {why}"
                    ));
                }
                Err(_) => {}
            }
        }
        for keyed in &self.options.keyed_groups {
            self.keyed_group(inventory, host, keyed, &vars)?;
        }
        Ok(())
    }

    /// The variables the plugin's templates see for `host`: its groups' variables
    /// (by depth, priority and name), its own, the `group_vars/`/`host_vars/` under
    /// `use_vars_plugins`, and `inventory_hostname`, `inventory_hostname_short`,
    /// `group_names`, `inventory_file` and `inventory_dir`.
    fn host_vars(&self, inventory: &Inventory, host: &str) -> Arc<Vars> {
        let mut groups: Vec<&str> = inventory.host_groups(host);
        groups.sort_by_key(|name| {
            let group = &inventory.groups[*name];
            (group.depth, group.priority, *name)
        });
        let mut vars = Map::new();
        for group in &groups {
            merge(&mut vars, inventory.groups.get(*group).map(|g| &g.vars));
        }
        for dir in self.dirs {
            for group in &groups {
                merge(&mut vars, dir.group(group));
            }
        }
        let entry = inventory.hosts.get(host);
        if let Some(source) = entry.and_then(|h| h.source.as_deref()) {
            let file = std::path::absolute(source).unwrap_or_else(|_| source.to_path_buf());
            let dir = file.parent().map(|d| d.display().to_string());
            vars.insert(
                "inventory_file".into(),
                Json::from(file.display().to_string()),
            );
            vars.insert("inventory_dir".into(), Json::from(dir));
        }
        merge(&mut vars, entry.map(|h| &h.vars));
        for dir in self.dirs {
            merge(&mut vars, dir.host(host));
        }
        let mut names: Vec<&str> = groups.into_iter().filter(|g| *g != "all").collect();
        names.sort_unstable();
        vars.insert("inventory_hostname".into(), Json::from(host));
        vars.insert(
            "inventory_hostname_short".into(),
            Json::from(short_name(host)),
        );
        vars.insert("group_names".into(), Json::from(names));
        Vars::new(self.templar.clone(), vars)
    }

    /// An expression's value (`compose` entries, `keyed_groups` keys); an undefined
    /// variable anywhere in it (`{'k': missing}`) is an error, as in Ansible.
    fn evaluate(&self, expression: &Json, vars: &Arc<Vars>) -> Result<Json, String> {
        let Json::String(text) = expression else {
            return Ok(expression.clone());
        };
        let value = self
            .templar
            .eval_value(text, vars)
            .map_err(|e| e.to_string())?;
        if value.is_undefined() {
            return Err(self
                .templar
                .eval(text, vars)
                .err()
                .map_or_else(|| format!("'{text}' is undefined"), |e| e.to_string()));
        }
        if holds_undefined(&value) {
            return Err(format!("an undefined variable is part of '{text}'"));
        }
        Ok(crate::template::to_json(&value))
    }

    /// Whether a `compose` expression's value keeps the trust of the variables it
    /// came from, so `--list` shows it unmarked: Ansible marks the strings a
    /// template makes, not those it passes on. bosun tells them apart for the
    /// common case only: a bare reference (`public_ip`, `tags.Name`) to a variable
    /// the inventory set keeps its trust; anything computed does not.
    fn keeps_trust(&self, inventory: &Inventory, host: &str, expression: &Json) -> bool {
        let Json::String(text) = expression else {
            return false;
        };
        let Some(root) = REFERENCE.captures(text).and_then(|c| c.get(1)) else {
            return false;
        };
        let root = root.as_str();
        !MAGIC.contains(&root)
            && !inventory
                .hosts
                .get(host)
                .is_some_and(|h| h.untrusted.contains(root))
    }

    /// A `groups` condition, which must give a boolean, as Ansible 2.19's
    /// conditionals must.
    fn condition(&self, condition: &Json, vars: &Arc<Vars>) -> Result<bool, String> {
        let text = match condition {
            Json::Bool(b) => return Ok(*b),
            Json::String(text) => text,
            _ => return Err("Conditional expressions must be strings.".into()),
        };
        match self.templar.eval(text, vars).map_err(|e| e.to_string())? {
            Json::Bool(b) => Ok(b),
            other => Err(format!(
                "Conditional result ({}) was derived from value of type {}. Conditionals must have a boolean result.",
                if crate::template::truthy(&other) {
                    "True"
                } else {
                    "False"
                },
                python_type(&other)
            )),
        }
    }

    /// One `keyed_groups` entry for one host, as `_add_host_to_keyed_groups`.
    fn keyed_group(
        &self,
        inventory: &mut Inventory,
        host: &str,
        keyed: &Json,
        vars: &Arc<Vars>,
    ) -> Result<(), String> {
        let entry = match keyed {
            Json::Object(entry) if !entry.is_empty() => entry,
            _ => {
                return Err(format!(
                    "Invalid keyed group entry, it must be a dictionary: {keyed}"
                ));
            }
        };
        let key_expression = entry.get("key").unwrap_or(&Json::Null);
        let key = match key_expression {
            Json::Null => Err("no key given".to_string()),
            expression => self.evaluate(expression, vars),
        };
        let key = match key {
            Ok(key) => key,
            Err(why) if self.options.strict => {
                return Err(format!(
                    "Could not generate group for host {host} from {} entry: {why}",
                    python_str(key_expression)
                ));
            }
            Err(_) => return Ok(()),
        };
        let default_value = entry.get("default_value").filter(|v| !v.is_null());
        let trailing_separator = entry.get("trailing_separator").filter(|v| !v.is_null());
        if default_value.is_some() && trailing_separator.is_some() {
            return Err(
                "parameters are mutually exclusive for keyed groups: default_value|trailing_separator"
                    .into(),
            );
        }
        let is_blank = |value: &Json| matches!(value, Json::Null) || value.as_str() == Some("");
        let use_default = is_blank(&key) && default_value.is_some();
        if !(crate::template::truthy(&key) || use_default) {
            if self.options.strict
                && !matches!(&key, Json::Array(a) if a.is_empty())
                && !matches!(&key, Json::Object(m) if m.is_empty())
            {
                return Err(format!(
                    "No key or key resulted empty for {} in host {host}, invalid entry",
                    python_str(key_expression)
                ));
            }
            return Ok(());
        }
        let text = |key: &str| entry.get(key).map(python_str);
        let prefix = text("prefix").unwrap_or_default();
        let mut separator = text("separator").unwrap_or_else(|| "_".into());
        let parent = match entry.get("parent_group").filter(|v| !v.is_null()) {
            None => None,
            Some(Json::String(raw)) if is_template(raw) => {
                match self.templar.render_str(raw, vars) {
                    Ok(name) => Some(name),
                    Err(why) if self.options.strict => {
                        return Err(format!(
                            "Could not generate parent group '{raw}' for group {}: {why}",
                            python_str(&key)
                        ));
                    }
                    Err(_) => return Ok(()),
                }
            }
            Some(other) => Some(python_str(other)),
        };
        let default = default_value.map(python_str);
        let names: Vec<String> = if use_default {
            default.into_iter().collect()
        } else {
            match &key {
                Json::String(name) => vec![name.clone()],
                Json::Array(items) => items
                    .iter()
                    .map(|item| match &default {
                        Some(default) if is_blank(item) => default.clone(),
                        _ => python_str(item),
                    })
                    .collect(),
                Json::Object(map) => map
                    .iter()
                    .map(|(name, value)| match &default {
                        Some(default) if is_blank(value) => format!("{name}{separator}{default}"),
                        None if is_blank(value)
                            && trailing_separator == Some(&Json::Bool(false)) =>
                        {
                            name.clone()
                        }
                        _ => format!("{name}{separator}{}", python_str(value)),
                    })
                    .collect(),
                other => {
                    return Err(format!(
                        "Invalid group name format, expected a string or a list of them or dictionary, got: <class '{}'>",
                        crate::template::pyfmt::type_name(&minijinja::Value::from_serialize(other))
                    ));
                }
            }
        };
        for bare in names {
            if prefix.is_empty() && !self.options.leading_separator {
                separator.clear();
            }
            let group = safe_group_name(&format!("{prefix}{separator}{bare}"));
            inventory.add_group(&group);
            inventory.add_host(host, &group, None, None);
            if let Some(parent) = parent.as_deref().filter(|p| !p.is_empty()) {
                let parent = safe_group_name(parent);
                inventory.add_group(&parent);
                inventory.add_child(&parent, &group)?;
            }
        }
        Ok(())
    }
}

/// A bare variable reference, its root variable captured: `ip`, `tags.Name`,
/// `disks[0]`, `tags['Name']`.
static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*([A-Za-z_]\w*)(?:\.\w+|\[(?:\d+|'[^']*'|\x22[^\x22]*\x22)\])*\s*$")
        .expect("valid regex")
});

/// The variables the plugin adds itself, whose strings Ansible does not trust.
const MAGIC: [&str; 5] = [
    "inventory_file",
    "inventory_dir",
    "inventory_hostname",
    "inventory_hostname_short",
    "group_names",
];

/// Whether an undefined value is anywhere in `value`.
fn holds_undefined(value: &minijinja::Value) -> bool {
    use minijinja::value::ValueKind;
    match value.kind() {
        ValueKind::Undefined => true,
        ValueKind::Seq | ValueKind::Map => value.try_iter().into_iter().flatten().any(|key| {
            holds_undefined(&key)
                || (value.kind() == ValueKind::Map
                    && value
                        .get_item(&key)
                        .is_ok_and(|item| holds_undefined(&item)))
        }),
        _ => false,
    }
}

/// `inventory_hostname_short`: the name up to its first dot, unless it is an IP.
fn short_name(host: &str) -> &str {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host;
    }
    host.split('.').next().unwrap_or(host)
}

/// Python's `str()` of a JSON value, as `'%s' % value` formats it in group names.
fn python_str(value: &Json) -> String {
    crate::template::pyfmt::py_str(&minijinja::Value::from_serialize(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An inventory of the YAML `hosts` file, then the `constructed` configuration.
    fn construct(hosts: &str, config: &str) -> Result<Inventory, InventoryError> {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hosts.yml"), hosts).expect("write");
        std::fs::write(dir.path().join("c.yml"), config).expect("write");
        let source = |name: &str| dir.path().join(name).display().to_string();
        let strict = crate::inventory::Unparsed {
            any_is_failed: true,
            ..Default::default()
        };
        Inventory::load_with(&[source("hosts.yml"), source("c.yml")], strict)
    }

    const HOSTS: &str =
        "all:\n  hosts:\n    a: {k: x, m: {p: '', q: 1}, l: [one, '']}\n    b: {k: '', n: 2}\n";

    #[test]
    fn keyed_groups_name_groups_as_ansible() {
        let cases: &[(&str, &[&str])] = &[
            ("- key: k\n", &["_x"]),
            ("- key: k\n  prefix: p\n  separator: '-'\n", &["p_x"]),
            ("- key: k\n  default_value: empty\n", &["_x", "_empty"]),
            ("- key: m\n", &["_p_", "_q_1"]),
            ("- key: m\n  trailing_separator: false\n", &["_p", "_q_1"]),
            ("- key: m\n  default_value: d\n", &["_p_d", "_q_1"]),
            (
                "- key: l\n  default_value: d\n  prefix: l\n",
                &["l_one", "l_d"],
            ),
        ];
        for (keyed, groups) in cases {
            let config = format!(
                "plugin: constructed\nleading_separator: true\nkeyed_groups:\n{}",
                indent(keyed)
            );
            let inventory = construct(HOSTS, &config).unwrap_or_else(|e| panic!("{keyed}: {e}"));
            let made: Vec<&String> = inventory.groups.keys().skip(2).collect();
            assert_eq!(made, *groups, "{keyed}");
        }
    }

    #[test]
    fn no_leading_separator_without_a_prefix() {
        let inventory = construct(
            HOSTS,
            "plugin: constructed\nleading_separator: false\nkeyed_groups:\n  - key: k\n  - key: k\n    prefix: p\n",
        )
        .expect("loads");
        assert_eq!(inventory.select("x").expect("ok"), ["a"]);
        assert_eq!(inventory.select("p_x").expect("ok"), ["a"]);
    }

    #[test]
    fn compose_sees_the_variables_from_before_it() {
        let inventory = construct(
            HOSTS,
            "plugin: constructed\ncompose:\n  first: k ~ '!'\n  second: first | default('unset')\n  groups_seen: group_names\n  short: inventory_hostname_short\n",
        )
        .expect("loads");
        let vars = inventory.host_vars("a");
        assert_eq!(vars["first"], "x!");
        assert_eq!(
            vars["second"], "unset",
            "composed together, not in sequence"
        );
        assert_eq!(vars["groups_seen"], json!([]));
        assert_eq!(vars["short"], "a");
    }

    #[test]
    fn options_of_the_wrong_type_and_bad_entries_are_errors() {
        let cases = [
            ("groups: [a]\n", "Invalid value provided for 'dict'"),
            (
                "keyed_groups: {a: 1}\n",
                "Invalid value provided for 'list'",
            ),
            (
                "keyed_groups: [x]\n",
                "Invalid keyed group entry, it must be a dictionary",
            ),
            (
                "keyed_groups:\n  - key: n\n",
                "expected a string or a list of them or dictionary, got: <class 'int'>",
            ),
            (
                "strict: yes\ncompose:\n  v: nope\n",
                "Could not set v for host a",
            ),
            (
                "strict: yes\nkeyed_groups:\n  - key: k\n",
                "No key or key resulted empty for k in host b",
            ),
        ];
        for (options, needle) in cases {
            let message = construct(HOSTS, &format!("plugin: constructed\n{options}"))
                .expect_err(options)
                .to_string();
            assert!(message.contains(needle), "{options}: {message}");
        }
    }

    fn indent(text: &str) -> String {
        text.lines().map(|l| format!("  {l}\n")).collect()
    }
}
