//! Reading inventory sources: files (INI, YAML, inventory plugin configurations,
//! Terraform state), executable inventory scripts, directories of them, and comma
//! separated host lists.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::address::parse_address;
use super::{Inventory, InventoryError, Unparsed, ini, plugin, script, terraform, yaml};
use crate::source::SourceFile;
use crate::yaml as yaml_file;

/// Files in an inventory directory with these endings are not inventories
/// (Ansible's default `inventory_ignore_extensions`).
const IGNORED_ENDINGS: [&str; 12] = [
    "~", ".orig", ".bak", ".cfg", ".retry", ".pyc", ".pyo", ".swp", ".rpm", ".md", ".txt", ".rst",
];
/// Entries of an inventory directory that are never inventories themselves.
const IGNORED_NAMES: [&str; 3] = ["group_vars", "host_vars", "vars_plugins"];

/// What reading one source gave.
pub enum Loaded {
    /// Hosts and groups, with the directory whose `group_vars/` and `host_vars/`
    /// belong to them (none for a host list).
    Parsed(Option<PathBuf>),
    /// Nothing: the source is neither a file, a directory nor a host list (a warning,
    /// as in Ansible).
    Unparsable,
}

/// Loads one source into `inventory`; `vars_dirs` are the directories of the sources
/// loaded before it (for plugins that read their `group_vars/` and `host_vars/`).
pub fn load_source(
    inventory: &mut Inventory,
    source: &str,
    vars_dirs: &[PathBuf],
    unparsed: Unparsed,
) -> Result<Loaded, InventoryError> {
    let path = Path::new(source);
    if source.contains(',') && !path.exists() {
        load_host_list(inventory, source);
        return Ok(Loaded::Parsed(None));
    }
    if path.is_dir() {
        return Ok(match load_dir(inventory, path, vars_dirs, unparsed)? {
            true => Loaded::Parsed(Some(path.to_path_buf())),
            false => Loaded::Unparsable,
        });
    }
    if path.is_file() {
        if !load_file_or_warn(inventory, path, vars_dirs, unparsed)? {
            return Ok(Loaded::Unparsable);
        }
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok(Loaded::Parsed(Some(if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        })));
    }
    inventory.warnings.push(unable_to_parse(path));
    Ok(Loaded::Unparsable)
}

/// Ansible's warning for a source nothing could read.
fn unable_to_parse(path: &Path) -> String {
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    format!("Unable to parse {} as an inventory source", shown.display())
}

/// One inventory file, loaded whole or not at all. One that cannot be parsed adds
/// nothing and is a warning, as in Ansible, unless `unparsed.any_is_failed`; returns
/// whether it was parsed.
fn load_file_or_warn(
    inventory: &mut Inventory,
    path: &Path,
    vars_dirs: &[PathBuf],
    unparsed: Unparsed,
) -> Result<bool, InventoryError> {
    let mut attempt = inventory.clone();
    match load_file(&mut attempt, path, vars_dirs) {
        Ok(()) => {
            *inventory = attempt;
            Ok(true)
        }
        Err(error) if unparsed.any_is_failed => Err(InventoryError::Unparsed {
            path: path.to_path_buf(),
            error: Box::new(error),
        }),
        Err(error) => {
            inventory
                .warnings
                .push(format!("Failed to parse inventory: {error}"));
            inventory.warnings.push(unable_to_parse(path));
            Ok(false)
        }
    }
}

/// `"web1,web2:2222,"`: every non-empty item is an ungrouped host (no ranges).
fn load_host_list(inventory: &mut Inventory, list: &str) {
    for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (host, port) = parse_address(item, false).unwrap_or((item.to_string(), None));
        if !inventory.hosts.contains_key(&host) {
            inventory.add_host(&host, "ungrouped", port, None);
        }
    }
}

/// Every inventory file in `dir` and its subdirectories, in name order; whether any
/// of them was parsed.
fn load_dir(
    inventory: &mut Inventory,
    dir: &Path,
    vars_dirs: &[PathBuf],
    unparsed: Unparsed,
) -> Result<bool, InventoryError> {
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
    let mut parsed = false;
    for entry in entries {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_ignored(&name) {
            continue;
        }
        let parsed_this_one = if entry.is_dir() {
            load_dir(inventory, &entry, vars_dirs, unparsed)?
        } else {
            load_file_or_warn(inventory, &entry, vars_dirs, unparsed)?
        };
        parsed |= parsed_this_one;
    }
    Ok(parsed)
}

/// Whether a directory entry is skipped when loading an inventory directory
/// (Terraform's `*.tfstate.backup`, an older state, too: bosun's own addition).
fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || IGNORED_NAMES.contains(&name)
        || IGNORED_ENDINGS.iter().any(|end| name.ends_with(end))
        || name.ends_with(".tfstate.backup")
}

/// One inventory file. An executable is run as an inventory script first, as
/// Ansible's `script` plugin comes first; when that fails, the file is read as the
/// other plugins would read it, and if that fails too, the error shown is the
/// script's for a file starting with `#!`, the reader's otherwise.
fn load_file(
    inventory: &mut Inventory,
    path: &Path,
    vars_dirs: &[PathBuf],
) -> Result<(), InventoryError> {
    if !script::is_executable(path) {
        return load_data_file(inventory, path, vars_dirs);
    }
    let mut attempt = inventory.clone();
    let script_error = match script::load(&mut attempt, path) {
        Ok(()) => {
            *inventory = attempt;
            return Ok(());
        }
        Err(error) => error,
    };
    let mut attempt = inventory.clone();
    match load_data_file(&mut attempt, path, vars_dirs) {
        Ok(()) => {
            *inventory = attempt;
            Ok(())
        }
        Err(_) if starts_with_shebang(path) => Err(script_error),
        Err(error) => Err(error),
    }
}

/// Whether the file starts with `#!`, the mark of a script.
fn starts_with_shebang(path: &Path) -> bool {
    let mut start = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut file| std::io::Read::read_exact(&mut file, &mut start))
        .is_ok_and(|()| &start == b"#!")
}

/// One inventory data file: Terraform state (recognised by its content), a YAML
/// inventory plugin configuration (`.yml`/`.yaml` with a `plugin:` key), a YAML
/// inventory (`.yml`/`.yaml`/`.json`, or a file without an extension that reads as
/// a YAML mapping), and INI otherwise.
fn load_data_file(
    inventory: &mut Inventory,
    path: &Path,
    vars_dirs: &[PathBuf],
) -> Result<(), InventoryError> {
    let bytes = std::fs::read(path).map_err(|error| InventoryError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let file = if crate::vault::is_encrypted(&bytes) {
        SourceFile::read(path).map_err(|error| InventoryError::reading(path, error))?
    } else {
        let text = String::from_utf8_lossy(&bytes);
        SourceFile::new(path, text.strip_prefix('\u{feff}').unwrap_or(&text))
    };
    if let Some(state) = terraform::recognise(&file.text) {
        return terraform::load(inventory, &state, path);
    }
    let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    match extension.as_deref() {
        Some("yml" | "yaml") => {
            let root = yaml_file::parse(&file)?;
            if let Some(name) = root.get("plugin") {
                return plugin::load(inventory, &root, name, path, vars_dirs);
            }
            Ok(yaml::parse(inventory, &root, path)?)
        }
        Some("json") => {
            let root = yaml_file::parse(&file)?;
            Ok(yaml::parse(inventory, &root, path)?)
        }
        None => match yaml_file::parse(&file) {
            Ok(root) if root.as_map().is_some() => Ok(yaml::parse(inventory, &root, path)?),
            Err(err) if starts_as_yaml(&file) => Err(err.into()),
            _ => Ok(ini::parse(inventory, &file)?),
        },
        Some(_) => Ok(ini::parse(inventory, &file)?),
    }
}

/// Whether a file opens with a YAML document marker, so YAML errors are the ones to show.
fn starts_as_yaml(file: &Arc<SourceFile>) -> bool {
    file.text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .is_some_and(|line| line.starts_with("---"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignored_directory_entries() {
        let cases = [
            ("hosts", false),
            ("hosts.ini", false),
            ("web.yml", false),
            (".hidden", true),
            ("group_vars", true),
            ("host_vars", true),
            ("hosts~", true),
            ("hosts.orig", true),
            ("hosts.bak", true),
            ("ansible.cfg", true),
            ("site.retry", true),
            ("x.pyc", true),
            ("README.md", true),
            ("notes.txt", true),
        ];
        for (name, ignored) in cases {
            assert_eq!(is_ignored(name), ignored, "{name}");
        }
    }
}
