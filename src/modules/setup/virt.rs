//! The `virtual` facts (`virtualization_type`, `_role`, `_tech_guest`, `_tech_host`)
//! as Ansible's Linux collector decides them: from PID 1's cgroups and environment,
//! systemd's container file, DMI, the CPU model and the loaded modules.

use serde_json::{Map, Value as Json, json};

use super::probe::Sections;

/// The technologies found so far, and the first one with its role.
#[derive(Default)]
struct Found {
    guest: Vec<String>,
    host: Vec<String>,
    first: Option<(String, &'static str)>,
}

impl Found {
    fn add(&mut self, tech: &str, role: &'static str) {
        let list = match role {
            "host" => &mut self.host,
            _ => &mut self.guest,
        };
        if !list.iter().any(|t| t == tech) {
            list.push(tech.to_string());
        }
        self.first.get_or_insert((tech.to_string(), role));
    }
}

/// The `virtual` facts, each technology tried in the order of Ansible's collector.
pub fn virtualization(s: &Sections) -> Map<String, Json> {
    let lines = s.lines("virt");
    let has = |w: &str| lines.iter().any(|l| l == w);
    let mut found = Found::default();
    containers(s, &mut found);
    let systemd_container = lines
        .iter()
        .find_map(|l| l.strip_prefix("systemd_container "))
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if let Some(tech) = systemd_container {
        found.add(tech, "guest");
    }
    if has("dockerenv") {
        found.add("docker", "guest");
    }
    let containers = ["docker", "lxc", "podman", "openvz", "containerd"];
    if systemd_container.is_some() || found.guest.iter().any(|g| containers.contains(&g.as_str())) {
        found.add("container", "guest");
    }
    if let Some(tech) = dmi_guest(s) {
        found.add(tech, "guest");
    }
    if has("qemu") {
        found.add("kvm", "guest");
    }
    if has("module kvm") || has("module virtio") || has("devkvm") {
        found.add("kvm", "host");
    }
    if has("module vboxdrv") {
        found.add("virtualbox", "host");
    }
    facts(found)
}

/// Container runtimes named by PID 1's cgroups, then by its `container=` variable.
fn containers(s: &Sections, found: &mut Found) {
    for line in s.lines("virt") {
        if let Some(cgroup) = line.strip_prefix("cgroup ") {
            if cgroup.contains("/docker") {
                found.add("docker", "guest");
            }
            if cgroup.contains("/lxc/") || cgroup.contains("machine-lxc") {
                found.add("lxc", "guest");
            }
            if cgroup.contains("containerd.service") {
                found.add("containerd", "guest");
            }
        }
        if let Some(value) = line.strip_prefix("environ container=") {
            if value.contains("lxc") {
                found.add("lxc", "guest");
            }
            if value.contains("podman") {
                found.add("podman", "guest");
            }
            if !value.is_empty() {
                found.add("container", "guest");
            }
        }
    }
}

/// The hypervisor DMI's product name or vendor names.
fn dmi_guest(s: &Sections) -> Option<&'static str> {
    let dmi = |key: &str| {
        s.lines("dmi")
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{key} ")))
            .unwrap_or_default()
    };
    match (dmi("product_name"), dmi("sys_vendor")) {
        ("KVM" | "KVM Server" | "Bochs" | "AHV" | "CloudStack KVM Hypervisor", _) => Some("kvm"),
        (_, "QEMU") => Some("kvm"),
        ("VMware Virtual Platform", _) | (_, "VMware, Inc.") => Some("VMware"),
        ("VirtualBox", _) | (_, "innotek GmbH") => Some("virtualbox"),
        ("HVM domU", _) | (_, "Xen") => Some("xen"),
        (_, "Microsoft Corporation") => Some("VirtualPC"),
        (_, "Amazon EC2") => Some("kvm"),
        (_, "Google") => Some("kvm"),
        _ => None,
    }
}

fn facts(found: Found) -> Map<String, Json> {
    let Found {
        mut guest,
        mut host,
        first,
    } = found;
    let (kind, role) = first.unwrap_or_else(|| ("NA".into(), "NA"));
    guest.sort();
    host.sort();
    let mut facts = Map::new();
    facts.insert("ansible_virtualization_type".into(), json!(kind));
    facts.insert("ansible_virtualization_role".into(), json!(role));
    facts.insert("ansible_virtualization_tech_guest".into(), json!(guest));
    facts.insert("ansible_virtualization_tech_host".into(), json!(host));
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sections on a Debian 12 nspawn container (systemd PID 1) on a KVM guest.
    const NSPAWN: &str = "@@dmi\nproduct_name NA\nsys_vendor NA\n\
@@virt\nenviron container=systemd-nspawn\nsystemd_container systemd-nspawn\nmodule virtio\n";

    #[test]
    fn an_nspawn_container_is_a_container_guest_on_a_kvm_host() {
        let facts = virtualization(&Sections::parse(NSPAWN));
        assert_eq!(facts["ansible_virtualization_type"], json!("container"));
        assert_eq!(facts["ansible_virtualization_role"], json!("guest"));
        assert_eq!(
            facts["ansible_virtualization_tech_guest"],
            json!(["container", "systemd-nspawn"])
        );
        assert_eq!(facts["ansible_virtualization_tech_host"], json!(["kvm"]));
    }

    #[test]
    fn docker_cgroups_and_a_qemu_cpu_are_found() {
        let sections = Sections::parse(
            "@@virt\ncgroup 0::/system.slice/docker-0123abcd.scope\nqemu\n@@dmi\nproduct_name NA\n",
        );
        let facts = virtualization(&sections);
        assert_eq!(facts["ansible_virtualization_type"], json!("docker"));
        assert_eq!(
            facts["ansible_virtualization_tech_guest"],
            json!(["container", "docker", "kvm"])
        );
        let bare = virtualization(&Sections::parse("@@virt\nsystemd_container \n"));
        assert_eq!(bare["ansible_virtualization_type"], json!("NA"));
    }
}
