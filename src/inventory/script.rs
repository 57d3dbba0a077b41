//! Executable inventory scripts, as Ansible's `script` inventory plugin runs them:
//! `SCRIPT --list` prints JSON groups (`{"web": {"hosts": [..], "vars": {..},
//! "children": [..]}}`, or a plain list of hosts) and `_meta.hostvars`; without
//! `_meta`, `SCRIPT --host HOST` is run for each host's variables.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use indexmap::IndexSet;
use serde_json::{Map, Value as Json};

use super::{Inventory, InventoryError};

/// Whether `path` is a file Ansible would run as an inventory script (executable).
pub fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// Runs the script at `path` with `--list` (and `--host` per host when its output
/// has no `_meta`) and adds what it prints to `inventory`.
pub fn load(inventory: &mut Inventory, path: &Path) -> Result<(), InventoryError> {
    let script = Script::new(path);
    let output = script.run(&["--list"])?;
    let document: Json = serde_json::from_str(&output.stdout).map_err(|err| {
        script.error(
            format!("Inventory script result could not be parsed as JSON: {err}"),
            &output.stderr,
        )
    })?;
    let Json::Object(groups) = document else {
        return Err(script.error(
            format!(
                "Unable to get JSON decoder for inventory script result: Value is {} instead of 'dict'.",
                python_type(&document)
            ),
            &output.stderr,
        ));
    };
    if !output.stderr.trim().is_empty() {
        inventory.warnings.push(format!(
            "inventory script {} wrote to standard error:\n{}",
            script.path.display(),
            output.stderr.trim_end()
        ));
    }
    let mut reader = Reader {
        inventory,
        script: &script,
        hosts: IndexSet::new(),
    };
    let mut meta_hostvars = None;
    for (group, data) in &groups {
        if group == "_meta" {
            meta_hostvars = Some(reader.meta_hostvars(data)?);
        } else {
            reader.group(group, data)?;
        }
    }
    let hosts = std::mem::take(&mut reader.hosts);
    if meta_hostvars.is_none() {
        reader.inventory.warnings.push(format!(
            "{}: Inventory scripts should always provide 'meta.hostvars'. Host variables will be collected by running the inventory script with the '--host' option for each host. This feature will be removed from inventory plugin 'script' in ansible-core version 2.23.",
            script.path.display()
        ));
    }
    for host in &hosts {
        let vars = match meta_hostvars {
            Some(all) => all
                .get(host)
                .cloned()
                .unwrap_or_else(|| Json::Object(Map::new())),
            None => script.host_vars(host)?,
        };
        let Json::Object(vars) = vars else {
            return Err(script.error(
                format!("Invalid data from file, expected dictionary and got:\n\n{vars}"),
                "",
            ));
        };
        for (key, value) in vars {
            reader.inventory.set_host_var(host, &key, value);
        }
    }
    Ok(())
}

/// What one run of the script printed.
struct Output {
    stdout: String,
    stderr: String,
}

/// The script being read, for running it and wording errors.
struct Script {
    path: PathBuf,
}

impl Script {
    /// The script at `path`, made absolute so a bare name is not looked up in `PATH`.
    fn new(path: &Path) -> Script {
        Script {
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        }
    }

    /// Runs the script with `args`; a non-zero exit or output that is not UTF-8 is
    /// an error carrying its standard error.
    fn run(&self, args: &[&str]) -> Result<Output, InventoryError> {
        let output = Command::new(&self.path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|err| {
                let mut command = vec![self.path.display().to_string()];
                command.extend(args.iter().map(|a| a.to_string()));
                self.error(
                    format!(
                        "Failed to execute inventory script command '{}': {err}",
                        command.join(" ")
                    ),
                    "",
                )
            })?;
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        if !output.status.success() {
            let code = output
                .status
                .code()
                .or_else(|| output.status.signal().map(|signal| -signal))
                .unwrap_or(-1);
            return Err(self.error(
                format!("Inventory script returned non-zero exit code {code}."),
                &stderr,
            ));
        }
        let stdout = String::from_utf8(output.stdout).map_err(|_| {
            self.error(
                "Inventory script result contained characters that cannot be interpreted as UTF-8.",
                &stderr,
            )
        })?;
        Ok(Output { stdout, stderr })
    }

    /// `SCRIPT --host HOST`: that host's variables (empty output means none).
    fn host_vars(&self, host: &str) -> Result<Json, InventoryError> {
        let output = self.run(&["--host", host])?;
        if output.stdout.trim().is_empty() {
            return Ok(Json::Object(Map::new()));
        }
        serde_json::from_str(&output.stdout).map_err(|err| {
            self.error(
                format!(
                    "Inventory script result for host '{host}' could not be parsed as JSON: {err}"
                ),
                &output.stderr,
            )
        })
    }

    /// An error about this script, with its standard error when it wrote any.
    fn error(&self, message: impl Into<String>, stderr: &str) -> InventoryError {
        InventoryError::Script {
            path: self.path.clone(),
            message: message.into(),
            stderr: stderr.trim_end().to_string(),
        }
    }
}

/// Adds the groups of one `--list` document to the inventory.
struct Reader<'a> {
    inventory: &'a mut Inventory,
    script: &'a Script,
    /// Every host named, in the order first named.
    hosts: IndexSet<String>,
}

impl<'a> Reader<'a> {
    /// `_meta`: must be a mapping whose `hostvars` is a mapping.
    fn meta_hostvars<'j>(&self, meta: &'j Json) -> Result<&'j Map<String, Json>, InventoryError> {
        let Json::Object(meta) = meta else {
            return Err(self.type_error("_meta", meta, "dict"));
        };
        if let Some(profile) = meta.get("profile") {
            match profile.as_str() {
                Some(name) if name.starts_with("inventory_") => {}
                Some(name) => {
                    return Err(self.script.error(
                        format!("Unable to get JSON decoder for inventory script result: Non-inventory profile '{name}' is not allowed."),
                        "",
                    ));
                }
                None => return Err(self.type_error("_meta.profile", profile, "str")),
            }
        }
        let hostvars = meta.get("hostvars").unwrap_or(&Json::Null);
        hostvars
            .as_object()
            .ok_or_else(|| self.type_error("_meta.hostvars", hostvars, "dict"))
    }

    /// One group: a mapping of `hosts`, `vars` and `children`; a list of hosts, or a
    /// mapping without those keys (the group's only host is itself, the mapping its
    /// variables), are accepted with Ansible's deprecation warnings.
    fn group(&mut self, name: &str, data: &Json) -> Result<(), InventoryError> {
        self.inventory.add_group(name);
        let data = match data {
            Json::Object(map)
                if ["hosts", "vars", "children"]
                    .iter()
                    .any(|k| map.contains_key(*k)) =>
            {
                map.clone()
            }
            Json::Object(map) => {
                self.deprecated(format!("Treating malformed group '{name}' as the sole host of that group. Variables provided in this manner cannot be templated."));
                let mut normal = Map::new();
                normal.insert("hosts".into(), Json::from(vec![name]));
                normal.insert("vars".into(), Json::Object(map.clone()));
                normal
            }
            other => {
                self.deprecated(format!(
                    "Group '{name}' was converted to 'dict' from {}.",
                    python_type(other)
                ));
                let mut normal = Map::new();
                normal.insert("hosts".into(), other.clone());
                normal
            }
        };
        if let Some(hosts) = data.get("hosts") {
            let Json::Array(hosts) = hosts else {
                return Err(self.type_error(&format!("{name}.hosts"), hosts, "list"));
            };
            for host in hosts {
                let host = match host {
                    Json::String(host) if !host.is_empty() => host,
                    Json::String(_) => {
                        return Err(self.script.error("Invalid empty host name provided: ", ""));
                    }
                    other => {
                        return Err(self.script.error(
                            format!(
                                "Invalid host name supplied, expected a string but got {} for {other}",
                                python_type(other)
                            ),
                            "",
                        ));
                    }
                };
                self.hosts.insert(host.clone());
                self.inventory
                    .add_host(host, name, None, Some(&self.script.path));
            }
        }
        if let Some(vars) = data.get("vars") {
            let Json::Object(vars) = vars else {
                return Err(self.type_error(&format!("{name}.vars"), vars, "dict"));
            };
            for (key, value) in vars {
                self.inventory
                    .set_group_var(name, key, value.clone())
                    .map_err(|why| self.script.error(why, ""))?;
            }
        }
        if let Some(children) = data.get("children") {
            let names: Vec<&str> = match children {
                Json::Array(items) => items
                    .iter()
                    .map(|item| {
                        item.as_str().ok_or_else(|| {
                            self.type_error(&format!("{name}.children"), item, "str")
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Json::Object(map) => map.keys().map(String::as_str).collect(),
                other => return Err(self.type_error(&format!("{name}.children"), other, "list")),
            };
            for child in names {
                self.inventory.add_group(child);
                self.inventory
                    .add_child(name, child)
                    .map_err(|why| self.script.error(why, ""))?;
            }
        }
        Ok(())
    }

    /// Ansible's error for a value of the wrong type at `at`.
    fn type_error(&self, at: &str, value: &Json, wanted: &str) -> InventoryError {
        self.script.error(
            format!(
                "Value contains '{at}' which is {} instead of '{wanted}'.",
                python_type(value)
            ),
            "",
        )
    }

    /// A deprecation warning about this script's output, in Ansible's words.
    fn deprecated(&mut self, message: String) {
        self.inventory.warnings.push(format!(
            "{}: {message} This feature will be removed from inventory plugin 'script' in ansible-core version 2.23.",
            self.script.path.display()
        ));
    }
}

/// The quoted Python type name of a JSON value, as Ansible's messages show it.
pub(super) fn python_type(value: &Json) -> String {
    format!(
        "'{}'",
        crate::template::pyfmt::type_name(&minijinja::Value::from_serialize(value))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// Loads an inventory from a shell script with `body`.
    fn run(body: &str) -> Result<Inventory, InventoryError> {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("inventory.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(is_executable(&path));
        let mut inventory = Inventory::empty();
        load(&mut inventory, &path)?;
        inventory.reconcile();
        Ok(inventory)
    }

    #[test]
    fn groups_children_vars_and_meta() {
        let inventory = run(r#"echo '{"web": {"hosts": ["w1"], "vars": {"p": 80}, "children": ["edge"]}, "edge": ["e1"], "_meta": {"hostvars": {"w1": {"x": 1}}}}'"#)
            .expect("loads");
        assert_eq!(inventory.select("web").expect("ok"), ["w1", "e1"]);
        assert_eq!(
            Json::Object(inventory.host_vars("w1")),
            serde_json::json!({"p": 80, "x": 1})
        );
        assert_eq!(
            Json::Object(inventory.host_vars("e1")),
            serde_json::json!({"p": 80})
        );
        assert!(
            inventory
                .warnings()
                .iter()
                .any(|w| w.contains("Group 'edge' was converted to 'dict' from 'list'"))
        );
    }

    #[test]
    fn without_meta_each_host_is_asked() {
        let inventory = run(
            r#"if [ "$1" = --list ]; then echo '{"g": {"hosts": ["a", "b"]}}'; elif [ "$2" = a ]; then echo '{"v": "A"}'; fi"#,
        )
        .expect("loads");
        assert_eq!(
            Json::Object(inventory.host_vars("a")),
            serde_json::json!({"v": "A"})
        );
        assert!(
            inventory.host_vars("b").is_empty(),
            "empty output means no variables"
        );
    }

    #[test]
    fn errors_are_ansibles() {
        let cases = [
            (
                "echo oops >&2; exit 2",
                "non-zero exit code 2.\nStandard error from inventory script:\noops",
            ),
            ("echo '[1]'", "Value is 'list' instead of 'dict'."),
            ("echo '{'", "could not be parsed as JSON"),
            (
                r#"echo '{"g": {"vars": []}}'"#,
                "Value contains 'g.vars' which is 'list' instead of 'dict'.",
            ),
            (
                r#"echo '{"g": {"hosts": [1]}}'"#,
                "expected a string but got 'int'",
            ),
            (
                r#"echo '{"_meta": {"hostvars": {}, "profile": "legacy"}}'"#,
                "Non-inventory profile 'legacy' is not allowed.",
            ),
            (
                r#"echo '{"a": {"children": ["b"]}, "b": {"children": ["a"]}}'"#,
                "creates a cycle",
            ),
            (
                r#"if [ "$1" = --list ]; then echo '{"g": ["h"]}'; else echo '[1]'; fi"#,
                "Invalid data from file, expected dictionary",
            ),
        ];
        for (body, needle) in cases {
            let message = run(body).expect_err(body).to_string();
            assert!(message.contains(needle), "{body}: {message}");
        }
    }
}
