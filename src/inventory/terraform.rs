//! Terraform state as an inventory source (bosun's own, for those who provision with
//! Terraform and configure with Ansible): a `terraform.tfstate` (state format
//! version 4: `resources[].instances[].attributes`) or `terraform show -json`
//! output (`values.root_module.resources`, `child_modules`), recognised by content.
//!
//! Each managed instance of a server resource ([`SERVERS`]) becomes a host named by
//! its `Name` tag, else its `name` attribute, else `<type>_<name>[_<index>]` (as
//! cloud.terraform's `terraform_state` plugin names hosts), with `ansible_host` its
//! public address, else its private one, `terraform_address` (`module.app.
//! aws_instance.web[0]`), `terraform_type` and `terraform_attributes` (the
//! attributes Terraform does not mark sensitive). Groups, as terraform-inventory
//! names them: the resource name (`web`), `type_<type>` (`type_aws_instance`),
//! `tag_<key>_<value>` for each tag or label (`tag_Role_web`; `tag_<key>` when the
//! value is empty) and `tag_<value>` for list tags (DigitalOcean, GCE network tags).

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::safe_name::safe_group_name;
use super::{Inventory, InventoryError};

/// A server resource type, and where its public and private addresses are, first
/// found first (dotted paths; numbers index lists).
struct Server {
    kind: &'static str,
    public: &'static [&'static str],
    private: &'static [&'static str],
}

/// The resource types that become hosts.
const SERVERS: &[Server] = &[
    Server {
        kind: "aws_instance",
        public: &["public_ip"],
        private: &["private_ip"],
    },
    Server {
        kind: "azurerm_linux_virtual_machine",
        public: &["public_ip_address"],
        private: &["private_ip_address"],
    },
    Server {
        kind: "azurerm_windows_virtual_machine",
        public: &["public_ip_address"],
        private: &["private_ip_address"],
    },
    Server {
        kind: "digitalocean_droplet",
        public: &["ipv4_address"],
        private: &["ipv4_address_private"],
    },
    Server {
        kind: "google_compute_instance",
        public: &["network_interface.0.access_config.0.nat_ip"],
        private: &["network_interface.0.network_ip"],
    },
    Server {
        kind: "hcloud_server",
        public: &["ipv4_address", "ipv6_address"],
        private: &["network.0.ip"],
    },
    Server {
        kind: "libvirt_domain",
        public: &[],
        private: &["network_interface.0.addresses.0"],
    },
    Server {
        kind: "linode_instance",
        public: &["ip_address"],
        private: &["private_ip_address"],
    },
    Server {
        kind: "openstack_compute_instance_v2",
        public: &["access_ip_v4", "access_ip_v6"],
        private: &["network.0.fixed_ip_v4"],
    },
    Server {
        kind: "vsphere_virtual_machine",
        public: &["default_ip_address"],
        private: &[],
    },
    Server {
        kind: "vultr_instance",
        public: &["main_ip"],
        private: &["internal_ip"],
    },
];

/// The state document when `text` is Terraform state or `terraform show -json`
/// output: a JSON object with `terraform_version` and `resources` or `values`.
pub fn recognise(text: &str) -> Option<Json> {
    if !text.trim_start().starts_with('{') || !text.contains("\"terraform_version\"") {
        return None;
    }
    let document: Json = serde_json::from_str(text).ok()?;
    let object = document.as_object()?;
    let shaped = object.contains_key("terraform_version")
        && (object.contains_key("resources")
            || object.contains_key("values")
            || object.contains_key("format_version"));
    shaped.then_some(document)
}

/// One resource instance found in the state.
struct Instance<'a> {
    address: String,
    kind: &'a str,
    name: &'a str,
    index: Option<&'a Json>,
    attributes: Map<String, Json>,
}

/// Adds a host (and its groups) for every server instance in `state`, read from `path`.
pub fn load(inventory: &mut Inventory, state: &Json, path: &Path) -> Result<(), InventoryError> {
    let instances = if state.get("values").is_some() || state.get("format_version").is_some() {
        let mut found = Vec::new();
        if let Some(module) = state.pointer("/values/root_module") {
            shown_module(module, &mut found);
        }
        found
    } else {
        match state.get("version").and_then(Json::as_u64) {
            Some(4) => state_instances(state),
            version => {
                return Err(InventoryError::Plugin {
                    path: path.to_path_buf(),
                    message: format!(
                        "Terraform state format version {} is not supported: bosun reads version 4 (Terraform 0.12 and later); upgrade the state with a current Terraform, or pass `terraform show -json` output",
                        version.map_or_else(|| "(none)".to_string(), |v| v.to_string())
                    ),
                });
            }
        }
    };
    for instance in instances {
        let Some(server) = SERVERS.iter().find(|s| s.kind == instance.kind) else {
            continue;
        };
        add_instance(inventory, server, &instance, path);
    }
    Ok(())
}

/// The `resources` of a state file or a shown module that Terraform manages (data
/// sources left out), each with its type and name.
fn managed_resources(doc: &Json) -> impl Iterator<Item = (&Json, &str, &str)> {
    doc.get("resources")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter(|resource| resource.get("mode").and_then(Json::as_str) == Some("managed"))
        .filter_map(|resource| {
            let kind = resource.get("type").and_then(Json::as_str)?;
            let name = resource.get("name").and_then(Json::as_str)?;
            Some((resource, kind, name))
        })
}

/// The managed instances of a version 4 state file.
fn state_instances(state: &Json) -> Vec<Instance<'_>> {
    let mut found = Vec::new();
    for (resource, kind, name) in managed_resources(state) {
        let module = resource.get("module").and_then(Json::as_str);
        for instance in resource
            .get("instances")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
        {
            let index = instance.get("index_key");
            let mut address = module.map(|m| format!("{m}.")).unwrap_or_default();
            address.push_str(&format!("{kind}.{name}{}", index_suffix(index)));
            let mut attributes = instance
                .get("attributes")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            for sensitive in instance
                .get("sensitive_attributes")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(top) = first_attribute(sensitive) {
                    attributes.remove(top);
                }
            }
            found.push(Instance {
                address,
                kind,
                name,
                index,
                attributes,
            });
        }
    }
    found
}

/// The attribute a `sensitive_attributes` path starts at: a list of steps
/// `[{"type": "get_attr", "value": "root_pass"}, ...]`.
fn first_attribute(path: &Json) -> Option<&str> {
    let step = path.as_array()?.first()?;
    (step.get("type")?.as_str()? == "get_attr")
        .then(|| step.get("value")?.as_str())
        .flatten()
}

/// The managed resources of a `terraform show -json` module and its child modules.
fn shown_module<'a>(module: &'a Json, found: &mut Vec<Instance<'a>>) {
    for (resource, kind, name) in managed_resources(module) {
        let index = resource.get("index");
        let address = resource.get("address").and_then(Json::as_str).map_or_else(
            || format!("{kind}.{name}{}", index_suffix(index)),
            str::to_string,
        );
        let mut attributes = resource
            .get("values")
            .and_then(Json::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(Json::Object(sensitive)) = resource.get("sensitive_values") {
            for (key, marked) in sensitive {
                if marked == &Json::Bool(true) {
                    attributes.remove(key);
                }
            }
        }
        found.push(Instance {
            address,
            kind,
            name,
            index,
            attributes,
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        shown_module(child, found);
    }
}

/// `[0]` or `["key"]` after an address, for `count` and `for_each` instances.
fn index_suffix(index: Option<&Json>) -> String {
    match index {
        Some(Json::Number(n)) => format!("[{n}]"),
        Some(Json::String(key)) => format!("[{}]", Json::from(key.as_str())),
        _ => String::new(),
    }
}

/// Adds one server instance as a host with its variables and groups.
fn add_instance(inventory: &mut Inventory, server: &Server, instance: &Instance, path: &Path) {
    let attributes = &instance.attributes;
    let tags = attributes
        .get("tags_all")
        .filter(|t| t.as_object().is_some_and(|m| !m.is_empty()))
        .or_else(|| attributes.get("tags"));
    let labels = attributes.get("labels");
    let fallback = match instance.index {
        Some(Json::Number(n)) => format!("{}_{}_{n}", instance.kind, instance.name),
        Some(Json::String(key)) => format!("{}_{}_{key}", instance.kind, instance.name),
        _ => format!("{}_{}", instance.kind, instance.name),
    };
    let named = tags
        .and_then(|t| t.get("Name"))
        .or_else(|| labels.and_then(|l| l.get("Name")))
        .or_else(|| attributes.get("name"))
        .and_then(Json::as_str)
        .filter(|n| !n.is_empty());
    let name = match named {
        Some(name) if !inventory.has_host(name) => name.to_string(),
        Some(name) => {
            inventory.warnings.push(format!(
                "{}: {} is named '{name}' like a host already in the inventory; it is the host '{fallback}'",
                path.display(),
                instance.address
            ));
            fallback
        }
        None => fallback,
    };
    let mut groups = vec![
        safe_group_name(instance.name),
        safe_group_name(&format!("type_{}", instance.kind)),
    ];
    for tagged in [tags, labels].into_iter().flatten() {
        match tagged {
            Json::Object(map) => groups.extend(map.iter().map(|(key, value)| {
                let value = text(value);
                if value.is_empty() {
                    safe_group_name(&format!("tag_{key}"))
                } else {
                    safe_group_name(&format!("tag_{key}_{value}"))
                }
            })),
            Json::Array(items) => groups.extend(
                items
                    .iter()
                    .map(|item| safe_group_name(&format!("tag_{}", text(item)))),
            ),
            _ => {}
        }
    }
    for group in &groups {
        inventory.add_group(group);
        inventory.add_host(&name, group, None, Some(path));
    }
    let address = server
        .public
        .iter()
        .chain(server.private)
        .find_map(|at| lookup(attributes, at));
    if let Some(address) = address {
        inventory.set_host_var(&name, "ansible_host", Json::from(address));
    }
    inventory.set_host_var(
        &name,
        "terraform_address",
        Json::from(instance.address.as_str()),
    );
    inventory.set_host_var(&name, "terraform_type", Json::from(instance.kind));
    inventory.set_host_var(
        &name,
        "terraform_attributes",
        Json::Object(attributes.clone()),
    );
}

/// A tag value as text (numbers and booleans as JSON writes them, null as nothing).
fn text(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The non-empty string at a dotted path (`network_interface.0.network_ip`).
fn lookup<'a>(attributes: &'a Map<String, Json>, path: &str) -> Option<&'a str> {
    let mut steps = path.split('.');
    let mut value = attributes.get(steps.next()?)?;
    for step in steps {
        value = match step.parse::<usize>() {
            Ok(index) => value.get(index)?,
            Err(_) => value.get(step)?,
        };
    }
    value.as_str().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load_state(state: &Json) -> Inventory {
        let text = state.to_string();
        let document = recognise(&text).expect("recognised as Terraform");
        let mut inventory = Inventory::empty();
        load(&mut inventory, &document, Path::new("terraform.tfstate")).expect("loads");
        inventory.reconcile();
        inventory
    }

    #[test]
    fn recognised_by_content_only() {
        assert!(
            recognise(r#"{"version": 4, "terraform_version": "1.9.0", "resources": []}"#).is_some()
        );
        assert!(recognise(r#"{"format_version": "1.0", "terraform_version": "1.9.0"}"#).is_some());
        assert!(recognise(r#"{"all": {"hosts": {"terraform_version": null}}}"#).is_none());
        assert!(recognise("[web]\nw1\n").is_none());
    }

    #[test]
    fn names_addresses_and_groups() {
        let inventory = load_state(&json!({
            "version": 4, "terraform_version": "1.9.0",
            "resources": [
                {"mode": "managed", "type": "aws_instance", "name": "app", "instances": [
                    {"index_key": 0, "attributes": {"private_ip": "10.0.0.1", "tags": {"Name": "same"}}},
                    {"index_key": 1, "attributes": {"private_ip": "10.0.0.2", "tags": {"Name": "same", "Role": "app server"}}}
                ]},
                {"mode": "managed", "type": "openstack_compute_instance_v2", "name": "os", "instances": [
                    {"attributes": {"name": "os1", "access_ip_v4": "", "network": [{"fixed_ip_v4": "10.9.0.1"}], "tags": ["blue"]}}
                ]}
            ]
        }));
        assert_eq!(
            inventory.host_names(),
            ["same", "aws_instance_app_1", "os1"]
        );
        assert!(
            inventory
                .warnings()
                .iter()
                .any(|w| w.contains("aws_instance.app[1] is named 'same'"))
        );
        assert_eq!(inventory.host_vars("os1")["ansible_host"], "10.9.0.1");
        assert_eq!(
            inventory.select("tag_Role_app_server").expect("ok"),
            ["aws_instance_app_1"]
        );
        assert_eq!(inventory.select("tag_blue").expect("ok"), ["os1"]);
        assert_eq!(
            inventory.select("app").expect("ok"),
            ["same", "aws_instance_app_1"]
        );
    }

    #[test]
    fn old_state_formats_are_refused() {
        let document = recognise(
            r#"{"version": 3, "terraform_version": "0.11.14", "modules": [], "resources": []}"#,
        )
        .expect("recognised");
        let error =
            load(&mut Inventory::empty(), &document, Path::new("old.tfstate")).expect_err("v3");
        assert!(
            error
                .to_string()
                .contains("format version 3 is not supported"),
            "{error}"
        );
    }
}
