//! `ansible-inventory --graph` text: a group, its child groups and hosts as a tree.

use super::{Inventory, InventoryError};

/// The tree under `start`: `@all:`, then `  |--@child:` and `  |  |--host` lines,
/// child groups before hosts, both in inventory order; `all` lists no hosts itself.
pub fn graph(inventory: &Inventory, start: &str) -> Result<String, InventoryError> {
    if !inventory.groups.contains_key(start) {
        return Err(InventoryError::UnknownGroup(start.to_string()));
    }
    let mut lines = Vec::new();
    walk(inventory, start, 0, &mut lines);
    Ok(lines.join("\n"))
}

fn walk(inventory: &Inventory, name: &str, depth: usize, lines: &mut Vec<String>) {
    lines.push(entry(&format!("@{name}:"), depth));
    let Some(group) = inventory.groups.get(name) else {
        return;
    };
    for child in &group.children {
        walk(inventory, child, depth + 1, lines);
    }
    if name != "all" {
        lines.extend(group.hosts.iter().map(|host| entry(host, depth + 1)));
    }
}

fn entry(text: &str, depth: usize) -> String {
    if depth == 0 {
        text.to_string()
    } else {
        format!("{}--{text}", "  |".repeat(depth))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    fn inventory(text: &str) -> Inventory {
        let mut inventory = Inventory::empty();
        super::super::ini::parse(&mut inventory, &SourceFile::new("hosts", text)).expect("parses");
        inventory.reconcile();
        inventory
    }

    #[test]
    fn draws_the_tree() {
        let inventory = inventory(
            "loose\n[prod:children]\nweb\ndb\n[web]\nw2\nw1\n[db]\nd1\n[staging:children]\ndb\n",
        );
        let cases: &[(&str, &str)] = &[
            (
                "all",
                "@all:\n  |--@ungrouped:\n  |  |--loose\n  |--@prod:\n  |  |--@web:\n  |  |  |--w2\n  |  |  |--w1\n  |  |--@db:\n  |  |  |--d1\n  |--@staging:\n  |  |--@db:\n  |  |  |--d1",
            ),
            ("web", "@web:\n  |--w2\n  |--w1"),
            ("staging", "@staging:\n  |--@db:\n  |  |--d1"),
        ];
        for (start, expected) in cases {
            assert_eq!(graph(&inventory, start).expect(start), *expected, "{start}");
        }
    }

    #[test]
    fn unknown_group_is_an_error() {
        let err = graph(&inventory(""), "nope").expect_err("no such group");
        assert!(err.to_string().contains("no group named 'nope'"), "{err}");
    }
}
