//! The facts bosun gathers against those of Ansible's `setup` on the same Debian 12
//! container: the same fact names, and the same values where they must agree.
//!
//! Ansible comes from the venv `common::ansible` finds or makes on the control node
//! (`BOSUN_ANSIBLE_VENV`, `/work/ansible-venv` or `/var/tmp/bosun-vault-venv`) and
//! reaches the container over SSH with the fleet's inventory; the container gets
//! `python3` from apt for it (bosun does not need it, but then reports `python` as
//! Ansible does). Skipped when the containers are missing; without Ansible, skipped
//! loudly, and failed under CI.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::ansible::ansible_or_skip;
use common::nspawn::SystemdFleet;
use common::ssh::or_skip;
use common::{Scratch, stdout};
use serde_json::{Map, Value as Json};

/// Facts Ansible gathers that bosun leaves out, with the reason.
const NOT_GATHERED: &[(&str, &str)] = &[
    ("gather_subset", "bosun names it ansible_gather_subset"),
    ("ansible_system_capabilities", "needs capsh"),
    ("ansible_system_capabilities_enforced", "needs capsh"),
];

/// Facts whose values must be the same.
const SAME: &[&str] = &[
    "ansible_architecture",
    "ansible_kernel",
    "ansible_kernel_version",
    "ansible_system",
    "ansible_hostname",
    "ansible_nodename",
    "ansible_fqdn",
    "ansible_domain",
    "ansible_distribution",
    "ansible_distribution_version",
    "ansible_distribution_major_version",
    "ansible_distribution_minor_version",
    "ansible_distribution_release",
    "ansible_distribution_file_path",
    "ansible_distribution_file_variety",
    "ansible_os_family",
    "ansible_pkg_mgr",
    "ansible_service_mgr",
    "ansible_python_version",
    "ansible_python",
    "ansible_machine_id",
    "ansible_lsb",
    "ansible_dns",
    "ansible_user_id",
    "ansible_user_uid",
    "ansible_user_gid",
    "ansible_user_dir",
    "ansible_user_shell",
    "ansible_user_gecos",
    "ansible_real_user_id",
    "ansible_effective_user_id",
    "ansible_selinux",
    "ansible_apparmor",
    "ansible_fips",
    "ansible_is_chroot",
    "ansible_virtualization_type",
    "ansible_virtualization_role",
    "ansible_default_ipv4",
    "ansible_default_ipv6",
    "ansible_all_ipv4_addresses",
    "ansible_locally_reachable_ips",
    "ansible_processor",
    "ansible_processor_count",
    "ansible_processor_cores",
    "ansible_processor_threads_per_core",
    "ansible_processor_vcpus",
    "ansible_processor_nproc",
    "ansible_memtotal_mb",
    "ansible_swaptotal_mb",
    "ansible_userspace_bits",
    "ansible_cmdline",
    "ansible_device_links",
    "ansible_ssh_host_key_ed25519_public",
    "ansible_lvm",
    "ansible_product_name",
    "ansible_system_vendor",
];

/// The facts in `ad hoc` output (`host | SUCCESS => {...}`).
fn facts_in(output: &str) -> Map<String, Json> {
    let start = output
        .find('{')
        .unwrap_or_else(|| panic!("no result in:\n{output}"));
    let result: Json =
        serde_json::from_str(&output[start..]).unwrap_or_else(|e| panic!("{e} in:\n{output}"));
    result["ansible_facts"]
        .as_object()
        .cloned()
        .unwrap_or_else(|| panic!("no facts in:\n{output}"))
}

fn sorted(value: &Json) -> Json {
    let mut items: Vec<String> = value
        .as_array()
        .map(|a| a.iter().map(|v| v.to_string()).collect())
        .unwrap_or_default();
    items.sort();
    Json::from(items)
}

/// Ansible from the venv and the shared fleet with the packages every test here
/// needs, or `None` (skipped) when either is missing. All tests install the same
/// set so that one test's install cannot change what another compares: Ansible's
/// apt manager needs `python3-apt`, which recommends `lsb-release`, and that
/// changes `ansible_lsb`.
fn ansible_and_fleet(test: &str) -> Option<(PathBuf, &'static SystemdFleet)> {
    let ansible = ansible_or_skip(test)?.join("ansible");
    let fleet = or_skip(SystemdFleet::shared())?;
    fleet.apt_install(&["python3", "python3-apt", "lsb-release"]);
    Some((ansible, fleet))
}

/// One tool's facts and the time it took to gather them.
type Gathered = (Map<String, Json>, Duration);

/// The facts Ansible's and bosun's ad hoc `-m module` return from the fleet's first
/// container, each with the time it took.
fn facts_from_both(ansible: &Path, fleet: &SystemdFleet, module: &str) -> (Gathered, Gathered) {
    let scratch = Scratch::new();
    scratch.write("hosts.ini", &fleet.inventory());
    let host = fleet.hosts()[0].name.clone();
    let started = Instant::now();
    let theirs = std::process::Command::new(ansible)
        .current_dir(scratch.path())
        .env("HOME", fleet.home())
        .env("ANSIBLE_PYTHON_INTERPRETER", "/usr/bin/python3")
        .env("ANSIBLE_NOCOLOR", "1")
        .args([&host, "-i", "hosts.ini", "-m", module])
        .output()
        .expect("ansible runs");
    assert!(theirs.status.success(), "{}", stdout(&theirs));
    let theirs = (facts_in(&stdout(&theirs)), started.elapsed());
    let started = Instant::now();
    let ours = scratch.bosun_with(
        &[&host, "-i", "hosts.ini", "-m", module],
        &[("HOME", fleet.home())],
    );
    assert!(ours.status.success(), "{}", stdout(&ours));
    (theirs, (facts_in(&stdout(&ours)), started.elapsed()))
}

/// The entries of the mapping fact `key` that differ between Ansible and bosun (at
/// most `limit`), after printing how many each has.
fn differing_entries(
    key: &str,
    theirs: &Map<String, Json>,
    ours: &Map<String, Json>,
    limit: usize,
) -> Vec<String> {
    let entries = |facts: &Map<String, Json>| facts[key].as_object().cloned().unwrap_or_default();
    let (theirs, ours) = (entries(theirs), entries(ours));
    eprintln!("{key}: Ansible {}, bosun {}", theirs.len(), ours.len());
    theirs
        .keys()
        .chain(ours.keys())
        .filter(|name| theirs.get(*name) != ours.get(*name))
        .take(limit)
        .map(|name| {
            format!(
                "{name}: Ansible {:?} bosun {:?}",
                theirs.get(name),
                ours.get(name)
            )
        })
        .collect()
}

#[test]
fn bosun_gathers_the_facts_ansible_gathers_on_debian_12() {
    let Some((ansible, fleet)) =
        ansible_and_fleet("bosun_gathers_the_facts_ansible_gathers_on_debian_12")
    else {
        return;
    };
    let ((theirs, ansible_took), (ours, bosun_took)) = facts_from_both(&ansible, fleet, "setup");
    eprintln!(
        "setup over SSH: Ansible {:.2}s, bosun {:.2}s",
        ansible_took.as_secs_f64(),
        bosun_took.as_secs_f64()
    );

    let missing: Vec<&String> = theirs
        .keys()
        .filter(|name| !ours.contains_key(*name))
        .filter(|name| !NOT_GATHERED.iter().any(|(n, _)| n == name))
        .collect();
    let extra: Vec<&String> = ours.keys().filter(|n| !theirs.contains_key(*n)).collect();
    eprintln!(
        "facts: Ansible {}, bosun {}; bosun's own: {extra:?}",
        theirs.len(),
        ours.len()
    );
    assert!(
        missing.is_empty(),
        "facts bosun does not gather: {missing:?}"
    );

    let mut differ = Vec::new();
    for name in SAME {
        if theirs.get(*name) != ours.get(*name) {
            differ.push(format!(
                "{name}: Ansible {} bosun {}",
                theirs.get(*name).unwrap_or(&Json::Null),
                ours.get(*name).unwrap_or(&Json::Null)
            ));
        }
    }
    for name in [
        "ansible_interfaces",
        "ansible_all_ipv6_addresses",
        "ansible_virtualization_tech_guest",
        "ansible_virtualization_tech_host",
    ] {
        if sorted(&theirs[name]) != sorted(&ours[name]) {
            differ.push(format!(
                "{name}: Ansible {} bosun {}",
                theirs[name], ours[name]
            ));
        }
    }
    for iface in theirs["ansible_interfaces"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = format!(
            "ansible_{}",
            iface.as_str().unwrap_or_default().replace('-', "_")
        );
        if theirs.get(&name) != ours.get(&name) {
            differ.push(format!(
                "{name}: Ansible {} bosun {}",
                theirs[&name], ours[&name]
            ));
        }
    }
    let mounts = |facts: &Map<String, Json>| -> Vec<Json> {
        let mut list: Vec<Json> = facts["ansible_mounts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                let keep = [
                    "mount",
                    "device",
                    "fstype",
                    "options",
                    "uuid",
                    "size_total",
                    "block_size",
                    "inode_total",
                ];
                Json::Object(
                    keep.iter()
                        .map(|k| (k.to_string(), m[*k].clone()))
                        .collect(),
                )
            })
            .collect();
        list.sort_by_key(|m| m.to_string());
        list
    };
    if mounts(&theirs) != mounts(&ours) {
        differ.push(format!(
            "mounts: Ansible {:?} bosun {:?}",
            mounts(&theirs),
            mounts(&ours)
        ));
    }
    let devices = |facts: &Map<String, Json>| -> Json {
        let mut out = facts["ansible_devices"].clone();
        for device in out.as_object_mut().into_iter().flat_map(|d| d.values_mut()) {
            if let Some(device) = device.as_object_mut() {
                device.remove("host");
            }
        }
        out
    };
    if devices(&theirs) != devices(&ours) {
        differ.push(format!(
            "devices: Ansible {} bosun {}",
            devices(&theirs),
            devices(&ours)
        ));
    }
    let mem = |facts: &Map<String, Json>| facts["ansible_memory_mb"]["real"]["total"].clone();
    if mem(&theirs) != mem(&ours) {
        differ.push(format!(
            "memory_mb.real.total: {} {}",
            mem(&theirs),
            mem(&ours)
        ));
    }
    let date = |facts: &Map<String, Json>| -> Vec<String> {
        let mut keys: Vec<String> = facts["ansible_date_time"]
            .as_object()
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    // What the transport sets differs: OpenSSH sends LANG (Debian's SendEnv) and
    // Ansible asks for a terminal (TERM, SSH_TTY), and its Python is exec'd by a shell
    // that sets `_`; bosun's SSH session has none of them.
    let env = |facts: &Map<String, Json>| -> Vec<String> {
        let mut keys: Vec<String> = facts["ansible_env"]
            .as_object()
            .map(|d| d.keys().cloned().collect())
            .unwrap_or_default();
        keys.retain(|k| !["LANG", "TERM", "SSH_TTY", "_"].contains(&k.as_str()));
        keys.sort();
        keys
    };
    if env(&theirs) != env(&ours) {
        differ.push(format!(
            "env names: Ansible {:?} bosun {:?}",
            env(&theirs),
            env(&ours)
        ));
    }
    if date(&theirs) != date(&ours) {
        differ.push(format!(
            "date_time keys: {:?} {:?}",
            date(&theirs),
            date(&ours)
        ));
    }
    assert!(
        differ.is_empty(),
        "facts that differ:\n{}",
        differ.join("\n")
    );
}

#[test]
fn service_facts_match_ansibles_on_debian_12() {
    let Some((ansible, fleet)) = ansible_and_fleet("service_facts_match_ansibles_on_debian_12")
    else {
        return;
    };
    let ((theirs, _), (ours, _)) = facts_from_both(&ansible, fleet, "service_facts");
    let differ = differing_entries("services", &theirs, &ours, usize::MAX);
    assert!(
        differ.is_empty(),
        "services that differ:\n{}",
        differ.join("\n")
    );
}

#[test]
fn package_facts_match_ansibles_on_debian_12() {
    let Some((ansible, fleet)) = ansible_and_fleet("package_facts_match_ansibles_on_debian_12")
    else {
        return;
    };
    let ((theirs, _), (ours, _)) = facts_from_both(&ansible, fleet, "package_facts");
    let differ = differing_entries("packages", &theirs, &ours, 20);
    assert!(
        differ.is_empty(),
        "packages that differ:\n{}",
        differ.join("\n")
    );
}
