//! Fully qualified collection names: the collection prefixes bosun accepts before a
//! module's or action's short name (`ansible.builtin.copy` is `copy`).

/// The collections whose modules bosun knows by their short names.
const COLLECTIONS: &[&str] = &[
    "ansible.builtin.",
    "ansible.legacy.",
    "ansible.posix.",
    "community.general.",
    "community.docker.",
];

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
}
