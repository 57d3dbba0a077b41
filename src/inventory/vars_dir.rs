//! `group_vars/` and `host_vars/` directories: for each group or host name, the file
//! `<name>`, `<name>.yml`, `<name>.yaml` or `<name>.json` (the first that exists), or
//! the directory `<name>/` whose files are merged in sorted order.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::{InventoryError, Vars};
use crate::source::{SourceError, SourceFile};
use crate::yaml;

/// The extensions a vars file may have, tried in this order after the bare name.
const EXTENSIONS: [&str; 3] = [".yml", ".yaml", ".json"];

/// The variables found under one directory's `group_vars/` and `host_vars/`.
#[derive(Clone, Debug, Default)]
pub struct VarsDir {
    dir: PathBuf,
    groups: HashMap<String, Vars>,
    hosts: HashMap<String, Vars>,
}

impl VarsDir {
    /// Loads the vars of every named group and host that has a file under `dir`.
    pub fn load<'a>(
        dir: &Path,
        groups: impl Iterator<Item = &'a str>,
        hosts: impl Iterator<Item = &'a str>,
    ) -> Result<VarsDir, InventoryError> {
        Ok(VarsDir {
            dir: dir.to_path_buf(),
            groups: load_entities(&dir.join("group_vars"), groups)?,
            hosts: load_entities(&dir.join("host_vars"), hosts)?,
        })
    }

    /// Loads the variables of a group or host made while the playbook runs
    /// (`add_host`, `group_by`), as Ansible's vars plugin finds them for any name.
    pub fn load_new(
        &mut self,
        group: Option<&str>,
        host: Option<&str>,
    ) -> Result<(), InventoryError> {
        if let Some(group) = group.filter(|g| !self.groups.contains_key(*g)) {
            let dir = self.dir.join("group_vars");
            self.groups
                .extend(load_entities(&dir, std::iter::once(group))?);
        }
        if let Some(host) = host.filter(|h| !self.hosts.contains_key(*h)) {
            let dir = self.dir.join("host_vars");
            self.hosts
                .extend(load_entities(&dir, std::iter::once(host))?);
        }
        Ok(())
    }

    /// The `group_vars/<name>` variables, if there were any.
    pub fn group(&self, name: &str) -> Option<&Vars> {
        self.groups.get(name)
    }

    /// The `host_vars/<name>` variables, if there were any.
    pub fn host(&self, name: &str) -> Option<&Vars> {
        self.hosts.get(name)
    }
}

fn load_entities<'a>(
    dir: &Path,
    names: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, Vars>, InventoryError> {
    let mut loaded = HashMap::new();
    if !dir.is_dir() {
        return Ok(loaded);
    }
    for name in names.filter(|n| is_safe_name(n)) {
        let mut vars = Vars::new();
        for file in find_vars_files(dir, name)? {
            if let Some(more) = load_vars_file(&file)? {
                vars.extend(more);
            }
        }
        if !vars.is_empty() {
            loaded.insert(name.to_string(), vars);
        }
    }
    Ok(loaded)
}

/// Names that cannot point outside the vars directory.
fn is_safe_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\'])
}

/// The files holding `name`'s variables, in merge order.
fn find_vars_files(dir: &Path, name: &str) -> Result<Vec<PathBuf>, InventoryError> {
    let candidates = std::iter::once(dir.join(name)).chain(
        EXTENSIONS
            .iter()
            .map(|ext| dir.join(format!("{name}{ext}"))),
    );
    for candidate in candidates {
        if candidate.is_dir() {
            return files_in(&candidate);
        }
        if candidate.exists() {
            return Ok(vec![candidate]);
        }
    }
    Ok(Vec::new())
}

/// The vars files in a directory, recursively, in sorted order, skipping hidden
/// files, backups and other extensions.
fn files_in(dir: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let io_error = |error| InventoryError::Io {
        path: dir.to_path_buf(),
        error,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_error)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(io_error)?;
    entries.sort();
    let mut found = Vec::new();
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let extension = entry
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()));
        match extension {
            None if entry.is_dir() => found.extend(files_in(&entry)?),
            None => found.push(entry),
            Some(ext) if EXTENSIONS.contains(&ext.as_str()) && entry.is_file() => found.push(entry),
            Some(_) => {}
        }
    }
    Ok(found)
}

/// Reads one vars file: a mapping, or nothing for an empty file.
fn load_vars_file(path: &Path) -> Result<Option<Vars>, InventoryError> {
    let file = SourceFile::read(path).map_err(|error| InventoryError::reading(path, error))?;
    let root = yaml::parse(&file)?;
    match root.to_json() {
        Json::Object(vars) => Ok(Some(vars)),
        value if is_falsy(&value) => Ok(None),
        _ => Err(SourceError::new(
            &root.span,
            format!(
                "a vars file must be a mapping of variable names to values, but this is {}",
                root.type_name()
            ),
        )
        .with_help("write one `name: value` per line at the top level")
        .into()),
    }
}

/// Python's falsiness: empty files and empty values hold no variables.
fn is_falsy(value: &Json) -> bool {
    match value {
        Json::Null => true,
        Json::Bool(b) => !b,
        Json::Number(n) => n.as_f64() == Some(0.0),
        Json::String(s) => s.is_empty(),
        Json::Array(items) => items.is_empty(),
        Json::Object(map) => map.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fs;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }

    fn load(dir: &Path, groups: &[&str], hosts: &[&str]) -> Result<VarsDir, InventoryError> {
        VarsDir::load(dir, groups.iter().copied(), hosts.iter().copied())
    }

    #[test]
    fn file_forms() {
        let tmp = tempfile::TempDir::new().expect("tempdir");
        let cases: &[(&str, &str, &str, Json)] = &[
            ("bare", "group_vars/bare", "a: 1\n", json!({"a": 1})),
            ("yml", "group_vars/yml.yml", "a: yes\n", json!({"a": true})),
            (
                "yaml",
                "group_vars/yaml.yaml",
                "a: [1]\n",
                json!({"a": [1]}),
            ),
            (
                "json",
                "group_vars/json.json",
                "{\"a\": \"x\"}\n",
                json!({"a": "x"}),
            ),
            ("empty", "group_vars/empty.yml", "", json!(null)),
        ];
        for (_, rel, text, _) in cases {
            write(tmp.path(), rel, text);
        }
        let names: Vec<&str> = cases.iter().map(|c| c.0).collect();
        let vars = load(tmp.path(), &names, &[]).expect("loads");
        for (name, _, _, expected) in cases {
            let got = vars
                .group(name)
                .map_or(Json::Null, |v| Json::Object(v.clone()));
            assert_eq!(&got, expected, "{name}");
        }
    }

    #[test]
    fn bare_name_wins_over_extensions() {
        let tmp = tempfile::TempDir::new().expect("tempdir");
        write(tmp.path(), "host_vars/web1", "from: bare\n");
        write(tmp.path(), "host_vars/web1.yml", "from: yml\n");
        let vars = load(tmp.path(), &[], &["web1"]).expect("loads");
        assert_eq!(vars.host("web1").expect("vars")["from"], json!("bare"));
    }

    #[test]
    fn directory_form_merges_sorted_files() {
        let tmp = tempfile::TempDir::new().expect("tempdir");
        write(tmp.path(), "group_vars/web/b.yml", "x: b\ny: b\n");
        write(tmp.path(), "group_vars/web/a.yml", "x: a\nz: a\n");
        write(tmp.path(), "group_vars/web/c/nested.yaml", "z: nested\n");
        write(tmp.path(), "group_vars/web/skip.txt", "x: txt\n");
        write(tmp.path(), "group_vars/web/.hidden.yml", "x: hidden\n");
        write(tmp.path(), "group_vars/web/d.yml~", "x: backup\n");
        let vars = load(tmp.path(), &["web"], &[]).expect("loads");
        assert_eq!(
            Json::Object(vars.group("web").expect("vars").clone()),
            json!({"x": "b", "z": "nested", "y": "b"})
        );
    }

    #[test]
    fn non_mapping_is_an_error_with_position() {
        let tmp = tempfile::TempDir::new().expect("tempdir");
        write(tmp.path(), "group_vars/all.yml", "# vars\n- a\n- b\n");
        let err = load(tmp.path(), &["all"], &[]).expect_err("a list is not vars");
        let text = err.to_string();
        assert!(text.contains("all.yml:2:1"), "{text}");
        assert!(text.contains("must be a mapping"), "{text}");
    }

    #[test]
    fn a_vault_file_without_a_password_names_the_file() {
        let tmp = tempfile::TempDir::new().expect("tempdir");
        write(
            tmp.path(),
            "host_vars/db.yml",
            "$ANSIBLE_VAULT;1.1;AES256\n3031\n",
        );
        let err = load(tmp.path(), &[], &["db"]).expect_err("vault");
        let text = err.to_string();
        assert!(text.contains("host_vars/db.yml"), "{text}");
        assert!(text.contains("no vault secrets found"), "{text}");
    }

    #[test]
    fn unknown_names_and_missing_dirs_are_ignored() {
        let tmp = tempfile::TempDir::new().expect("tempdir");
        write(tmp.path(), "group_vars/other.yml", "- not: loaded\n");
        let vars = load(tmp.path(), &["web", "../etc"], &["h"]).expect("loads");
        assert!(vars.group("web").is_none());
        assert!(vars.host("h").is_none());
    }
}
