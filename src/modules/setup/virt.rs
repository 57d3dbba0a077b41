//! The `virtual` facts (`virtualization_type`, `_role`, `_tech_guest`, `_tech_host`)
//! as Ansible's Linux collector decides them: from PID 1's cgroups and environment,
//! systemd's container file, DMI, the CPU model and the loaded modules.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Map, Value as Json, json};

use super::probe::Sections;

/// The lines of `/proc/1/cgroup` that name a container runtime.
static CONTAINER_CGROUP: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        r"/docker(/|-[0-9a-f]+\.scope)|/lxc/",
        r"|/machine.slice/machine-lxc|/system.slice/containerd.service"
    ))
    .ok()
});

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
    if qemu_cpu(s.lines("cpuinfo")) {
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
    let matches = |l: &&String| CONTAINER_CGROUP.as_ref().is_some_and(|re| re.is_match(l));
    for cgroup in s.lines("cgroup").iter().filter(matches) {
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
    // `grep -z` prints the matching variables of PID 1 each ended by a NUL.
    let environ = s.lines("environ").iter().flat_map(|l| l.split('\0'));
    for value in environ.filter_map(|v| v.strip_prefix("container=")) {
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

/// Whether `/proc/cpuinfo` names QEMU's emulated CPU (`^model name.*QEMU Virtual CPU`).
fn qemu_cpu(cpuinfo: &[String]) -> bool {
    cpuinfo.iter().any(|l| {
        l.strip_prefix("model name")
            .is_some_and(|rest| rest.contains("QEMU Virtual CPU"))
    })
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

    /// The probe's sections on a Debian 12 nspawn container (systemd PID 1).
    const NSPAWN: &str = "@@cpuinfo\nprocessor\t: 0\nmodel name\t: AMD EPYC\n\
@@dmi\nproduct_name NA\nsys_vendor NA\n\
@@cgroup\n9:name=systemd:/init.scope\n8:pids:/\n7:blkio:/\n6:freezer:/\n5:devices:/\n\
4:memory:/\n3:cpuset:/\n2:cpuacct:/\n1:cpu:/\n0::/init.scope\n\
@@environ\ncontainer=systemd-nspawn\0\n@@virt\nsystemd_container systemd-nspawn\n";

    #[test]
    fn an_nspawn_container_is_a_container_guest() {
        let facts = virtualization(&Sections::parse(NSPAWN));
        assert_eq!(facts["ansible_virtualization_type"], json!("container"));
        assert_eq!(facts["ansible_virtualization_role"], json!("guest"));
        assert_eq!(
            facts["ansible_virtualization_tech_guest"],
            json!(["container", "systemd-nspawn"])
        );
        assert_eq!(facts["ansible_virtualization_tech_host"], json!([]));
        let kvm_host = format!("{NSPAWN}module virtio\n");
        let facts = virtualization(&Sections::parse(&kvm_host));
        assert_eq!(facts["ansible_virtualization_tech_host"], json!(["kvm"]));
    }

    #[test]
    fn docker_cgroups_and_a_qemu_cpu_are_found() {
        let sections = Sections::parse(
            "@@cgroup\n0::/system.slice/docker-0123abcd.scope\n1:cpu:/dockerless\n\
@@cpuinfo\nmodel name\t: QEMU Virtual CPU version 2.5+\n@@dmi\nproduct_name NA\n",
        );
        let facts = virtualization(&sections);
        assert_eq!(facts["ansible_virtualization_type"], json!("docker"));
        assert_eq!(
            facts["ansible_virtualization_tech_guest"],
            json!(["container", "docker", "kvm"])
        );
        let bare = virtualization(&Sections::parse("@@cgroup\n1:cpu:/dockerless\n"));
        assert_eq!(bare["ansible_virtualization_type"], json!("NA"));
    }
}
