//! YAML inventory plugin configuration files: a `.yml`/`.yaml` file whose root has a
//! `plugin:` key, which Ansible's `auto` plugin hands to the plugin it names. bosun
//! has `constructed`; the plugins that read inventory files themselves (`yaml`,
//! `ini`, `script`, `host_list` ...) cannot read a configuration file, in Ansible
//! either, and a plugin bosun lacks is an error naming the ones it has.

use std::path::{Path, PathBuf};

use crate::yaml::{Node, Value};

use super::{Inventory, InventoryError, constructed};

/// The plugins bosun runs from a configuration file, with their short names.
const CONFIGURABLE: [&str; 2] = ["ansible.builtin.constructed", "constructed"];

/// Runs the plugin that the configuration file at `path` (parsed as `root`) names.
pub fn load(
    inventory: &mut Inventory,
    root: &Node,
    name: &Node,
    path: &Path,
    vars_dirs: &[PathBuf],
) -> Result<(), InventoryError> {
    let error = |message: String| InventoryError::Plugin {
        path: path.to_path_buf(),
        message,
    };
    let Value::Str(name) = &name.value else {
        return Err(error(format!(
            "the 'plugin' key must name an inventory plugin, but it is {}",
            name.type_name()
        )));
    };
    let short = name.strip_prefix("ansible.builtin.").unwrap_or(name);
    if CONFIGURABLE.contains(&name.as_str()) {
        return constructed::load(inventory, root, path, vars_dirs);
    }
    let why = match short {
        "yaml" => "Plugin configuration YAML file, not YAML inventory: the 'yaml' plugin reads YAML inventories themselves; remove the `plugin:` key and list the hosts under `all:`".to_string(),
        "ini" => "the 'ini' plugin reads INI inventory files, not plugin configurations; write the hosts in an INI file and pass that file with -i".to_string(),
        "auto" => "the 'auto' plugin runs the plugin a configuration file names, so a configuration cannot name 'auto' itself; name the plugin to run, such as ansible.builtin.constructed".to_string(),
        "host_list" | "advanced_host_list" | "script" | "toml" => format!(
            "inventory source '{}' could not be verified by inventory plugin '{short}': it reads {}, not a plugin configuration file",
            path.display(),
            match short {
                "script" => "an executable inventory script passed with -i",
                "toml" => "TOML inventory files",
                _ => "a comma-separated host list passed with -i ('web1,web2,')",
            }
        ),
        _ => {
            let hint = if name.contains("terraform") {
                "; to build hosts from Terraform, pass the terraform.tfstate file (or `terraform show -json` output) itself with -i"
            } else {
                ""
            };
            format!(
                "inventory config '{}' specifies unknown plugin '{name}'; bosun's inventory plugins are {} (in a configuration file), and it reads INI and YAML inventories, executable inventory scripts, host lists and Terraform state given with -i{hint}",
                path.display(),
                CONFIGURABLE.join(", ")
            )
        }
    };
    Err(error(why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_str;

    #[test]
    fn only_constructed_reads_a_configuration() {
        let cases = [
            (
                "plugin: nosuch\n",
                "specifies unknown plugin 'nosuch'; bosun's inventory plugins are ansible.builtin.constructed, constructed",
            ),
            (
                "plugin: ansible.builtin.auto\n",
                "cannot name 'auto' itself",
            ),
            (
                "plugin: host_list\n",
                "could not be verified by inventory plugin 'host_list'",
            ),
            ("plugin: script\n", "executable inventory script"),
            ("plugin: [constructed]\n", "must name an inventory plugin"),
        ];
        for (text, needle) in cases {
            let root = parse_str("p.yml", text).expect("parses");
            let name = root.get("plugin").expect("a plugin key");
            let message = load(
                &mut Inventory::empty(),
                &root,
                name,
                Path::new("p.yml"),
                &[],
            )
            .expect_err(text)
            .to_string();
            assert!(message.starts_with("p.yml: "), "{message}");
            assert!(message.contains(needle), "{text}: {message}");
        }
    }
}
