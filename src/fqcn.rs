//! Fully qualified collection names: the collection prefixes bosun accepts before a
//! module's or action's short name (`ansible.builtin.copy` is `copy`).

/// The collections whose modules bosun knows by their short names.
const COLLECTIONS: &[&str] = &[
    "ansible.builtin.",
    "ansible.legacy.",
    "ansible.posix.",
    "community.general.",
    "community.docker.",
    "community.crypto.",
    "community.postgresql.",
    "community.mysql.",
];

/// Every module and action of ansible.builtin (ansible-core 2.19), by short name: a
/// task naming one that bosun lacks loads, and fails only if it runs.
const ANSIBLE_BUILTIN: &[&str] = &[
    "add_host",
    "apt",
    "apt_key",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "deb822_repository",
    "debconf",
    "debug",
    "dnf",
    "dnf5",
    "dpkg_selections",
    "expect",
    "fail",
    "fetch",
    "file",
    "find",
    "gather_facts",
    "get_url",
    "getent",
    "git",
    "group",
    "group_by",
    "hostname",
    "import_playbook",
    "import_role",
    "import_tasks",
    "include_role",
    "include_tasks",
    "include_vars",
    "iptables",
    "known_hosts",
    "lineinfile",
    "meta",
    "mount_facts",
    "package",
    "package_facts",
    "pause",
    "ping",
    "pip",
    "raw",
    "reboot",
    "replace",
    "rpm_key",
    "script",
    "service",
    "service_facts",
    "set_fact",
    "set_stats",
    "setup",
    "shell",
    "slurp",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "uri",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    // Not a module of its own: ansible-core's routing redirects it to `dnf`.
    "yum",
    "yum_repository",
];

/// Whether `name` (short or `ansible.builtin.`/`ansible.legacy.`) is a module or
/// action of ansible.builtin.
pub fn is_ansible_builtin(name: &str) -> bool {
    let short = name
        .strip_prefix("ansible.builtin.")
        .or_else(|| name.strip_prefix("ansible.legacy."))
        .unwrap_or(name);
    ANSIBLE_BUILTIN.contains(&short)
}

/// Every ansible.builtin module and action name, for suggestions.
pub fn ansible_builtin_names() -> impl Iterator<Item = &'static str> {
    ANSIBLE_BUILTIN.iter().copied()
}

/// The name Ansible reports for an action: `ansible.builtin.` before a builtin's short
/// name, any other name as written.
pub fn qualified(name: &str) -> String {
    let short = short_name(name);
    if ANSIBLE_BUILTIN.contains(&short) {
        format!("ansible.builtin.{short}")
    } else {
        name.to_string()
    }
}

/// The short name of a module or action: a known collection's prefix removed.
pub fn short_name(name: &str) -> &str {
    COLLECTIONS
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::short_name;

    #[test]
    fn known_collections_lose_their_prefix_and_others_keep_it() {
        assert_eq!(short_name("ansible.builtin.copy"), "copy");
        assert_eq!(
            short_name("community.docker.docker_container"),
            "docker_container"
        );
        assert_eq!(short_name("copy"), "copy");
        assert_eq!(short_name("acme.tools.thing"), "acme.tools.thing");
    }

    #[test]
    fn ansible_builtin_names_are_known_with_or_without_their_prefix() {
        use super::is_ansible_builtin;
        assert!(is_ansible_builtin("add_host"));
        assert!(is_ansible_builtin("ansible.builtin.dnf"));
        assert!(!is_ansible_builtin("coppy"));
        assert!(!is_ansible_builtin("community.general.dnf"));
    }
}
