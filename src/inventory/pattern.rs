//! Ansible host patterns: names, groups, `all`/`*`, unions (`a:b`, `a,b`),
//! intersections (`a:&b`), exclusions (`a:!b`), globs, `~regex` and subscripts
//! (`web[0]`, `web[0:2]`, `web[-1]`).

use std::collections::HashSet;
use std::sync::LazyLock;

use indexmap::IndexSet;
use regex::Regex;

use super::address::parse_address;
use super::{Inventory, InventoryError};

/// A pattern without separators: pieces of a `:`-separated list, keeping `[x:y]` whole.
static PIECE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("valid regex"));
static SUBSCRIPTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)[:-]([0-9]*))\]$").expect("valid regex")
});

/// Which part of a pattern's hosts a `[...]` suffix keeps.
#[derive(Debug, PartialEq)]
enum Subscript {
    /// `[2]` or `[-1]`.
    Index(i64),
    /// `[1:3]` (inclusive) or `[1:]` (to the end, `None`).
    Range(usize, Option<usize>),
}

/// Evaluates `pattern`: unions first, then intersections, then exclusions.
pub fn select(inventory: &Inventory, pattern: &str) -> Result<Vec<String>, InventoryError> {
    let mut hosts: Vec<String> = Vec::new();
    for piece in ordered(split(pattern)) {
        if inventory.hosts.contains_key(&piece) {
            hosts.push(piece);
            continue;
        }
        let matched = match_one(inventory, &piece)?;
        if piece.starts_with('!') {
            let excluded: HashSet<&String> = matched.iter().collect();
            hosts.retain(|h| !excluded.contains(h));
        } else if piece.starts_with('&') {
            let kept: HashSet<&String> = matched.iter().collect();
            hosts.retain(|h| kept.contains(h));
        } else {
            let existing: HashSet<String> = hosts.iter().cloned().collect();
            hosts.extend(matched.into_iter().filter(|h| !existing.contains(h)));
        }
    }
    let unique: IndexSet<String> = hosts.into_iter().collect();
    Ok(unique.into_iter().collect())
}

/// Splits a pattern on commas, or else on colons (unless the whole pattern is one
/// host address such as `fe80::1` or `web[1:3]`).
fn split(pattern: &str) -> Vec<String> {
    let pieces: Vec<&str> = if pattern.contains(',') {
        pattern.split(',').collect()
    } else if parse_address(pattern, true).is_some() {
        vec![pattern]
    } else {
        PIECE.find_iter(pattern).map(|m| m.as_str()).collect()
    };
    pieces
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Unions, then `&` intersections, then `!` exclusions; `all` when there is no union.
fn ordered(pieces: Vec<String>) -> Vec<String> {
    let (mut regular, mut intersections, mut exclusions) = (Vec::new(), Vec::new(), Vec::new());
    for piece in pieces {
        if piece.starts_with('!') {
            exclusions.push(piece);
        } else if piece.starts_with('&') {
            intersections.push(piece);
        } else {
            regular.push(piece);
        }
    }
    if regular.is_empty() {
        regular.push("all".to_string());
    }
    regular.extend(intersections);
    regular.extend(exclusions);
    regular
}

/// The hosts one piece matches, ignoring its `&`/`!` prefix.
fn match_one(inventory: &Inventory, piece: &str) -> Result<Vec<String>, InventoryError> {
    let piece = piece.strip_prefix(['&', '!']).unwrap_or(piece);
    let (expr, subscript) = split_subscript(piece);
    let hosts = enumerate(inventory, expr)?;
    match subscript {
        None => Ok(hosts),
        Some(subscript) => apply_subscript(hosts, &subscript).ok_or_else(|| {
            InventoryError::Pattern(format!(
                "no hosts matched the subscripted pattern '{piece}': the index is past the end of the list"
            ))
        }),
    }
}

/// Separates a trailing `[subscript]`; regexes never have one.
fn split_subscript(piece: &str) -> (&str, Option<Subscript>) {
    if piece.starts_with('~') {
        return (piece, None);
    }
    let Some(caps) = SUBSCRIPTED.captures(piece) else {
        return (piece, None);
    };
    let expr = caps.get(1).map_or(piece, |m| m.as_str());
    let subscript = if let Some(index) = caps.get(2) {
        index.as_str().parse().ok().map(Subscript::Index)
    } else {
        let start = caps.get(3).and_then(|m| m.as_str().parse().ok());
        let end = caps.get(4).map(|m| m.as_str()).filter(|e| !e.is_empty());
        match (start, end.map(str::parse)) {
            (Some(start), None) => Some(Subscript::Range(start, None)),
            (Some(start), Some(Ok(end))) => Some(Subscript::Range(start, Some(end))),
            _ => None,
        }
    };
    match subscript {
        Some(subscript) => (expr, Some(subscript)),
        None => (piece, None),
    }
}

/// Ansible's subscript rules: `[i]` one host (negative from the end), `[a:b]` hosts
/// a to b inclusive, `[a:]` from a to the end, and `[a:0]` just host a. `None` when
/// a single index is out of range.
fn apply_subscript(hosts: Vec<String>, subscript: &Subscript) -> Option<Vec<String>> {
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len();
    let single = |index: i64| {
        let index = if index < 0 { len as i64 + index } else { index };
        usize::try_from(index)
            .ok()
            .and_then(|i| hosts.get(i))
            .cloned()
            .map(|h| vec![h])
    };
    match *subscript {
        Subscript::Index(index) => single(index),
        Subscript::Range(start, Some(0)) => single(start as i64),
        Subscript::Range(start, end) => {
            let end = end.map_or(len, |e| (e + 1).min(len));
            Some(
                hosts
                    .get(start..end.max(start))
                    .map(<[String]>::to_vec)
                    .unwrap_or_default(),
            )
        }
    }
}

/// The hosts of every group whose name matches, plus matching host names when no
/// group matched or the pattern is a glob/regex; the implicit localhost last.
fn enumerate(inventory: &Inventory, expr: &str) -> Result<Vec<String>, InventoryError> {
    let matcher = matcher(expr)?;
    let groups: Vec<&String> = inventory
        .groups
        .keys()
        .filter(|g| matcher.is_match(g))
        .collect();
    let mut results: Vec<String> = groups
        .iter()
        .flat_map(|g| inventory.group_hosts(g))
        .collect();
    if groups.is_empty() || expr.starts_with('~') || expr.contains(['.', '?', '*', '[']) {
        results.extend(
            inventory
                .hosts
                .keys()
                .filter(|h| matcher.is_match(h))
                .cloned(),
        );
    }
    if results.is_empty()
        && let Some(localhost) = inventory.implicit_localhost(expr)
    {
        results.push(localhost);
    }
    Ok(results)
}

/// A regex for `~regex` (anchored at the start, as Python's `re.match`) or a glob.
fn matcher(expr: &str) -> Result<Regex, InventoryError> {
    let source = match expr.strip_prefix('~') {
        Some(regex) => format!("^(?:{regex})"),
        None => crate::glob::to_regex(expr),
    };
    Regex::new(&source).map_err(|err| {
        InventoryError::Pattern(format!(
            "invalid host pattern '{expr}': {}",
            err.to_string()
                .lines()
                .last()
                .unwrap_or("not a valid regular expression")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;

    const HOSTS: &str =
        "[web]\nweb1\nweb2\nweb3\n[db]\ndb1\ndb2\n[staging]\nweb3\ndb2\n[lb]\nlb-a\n";

    fn inventory(text: &str) -> Inventory {
        let mut inventory = Inventory::empty();
        super::super::ini::parse(&mut inventory, &SourceFile::new("hosts", text)).expect("parses");
        inventory.reconcile();
        inventory
    }

    #[test]
    fn selects_like_ansible() {
        let inventory = inventory(HOSTS);
        let everyone = ["web1", "web2", "web3", "db1", "db2", "lb-a"];
        let cases: &[(&str, &[&str])] = &[
            ("all", &everyone),
            ("*", &everyone),
            ("web", &["web1", "web2", "web3"]),
            ("web1", &["web1"]),
            ("web:db", &["web1", "web2", "web3", "db1", "db2"]),
            ("web,db", &["web1", "web2", "web3", "db1", "db2"]),
            (" web , db ", &["web1", "web2", "web3", "db1", "db2"]),
            ("db:web", &["db1", "db2", "web1", "web2", "web3"]),
            ("web1:web1", &["web1"]),
            ("web:&staging", &["web3"]),
            ("web:!staging", &["web1", "web2"]),
            ("!staging:web", &["web1", "web2"]),
            ("&staging:web:db", &["web3", "db2"]),
            ("staging:&web:!web3", &[]),
            ("!db", &["web1", "web2", "web3", "lb-a"]),
            ("web*", &["web1", "web2", "web3"]),
            ("db?", &["db1", "db2"]),
            ("*-a", &["lb-a"]),
            ("[dl]b*", &["db1", "db2", "lb-a"]),
            ("~web[12]", &["web1", "web2"]),
            ("~(db|lb)", &["db1", "db2", "lb-a"]),
            ("~eb", &[]),
            ("web[0]", &["web1"]),
            ("web[-1]", &["web3"]),
            ("web[0:1]", &["web1", "web2"]),
            ("web[1:]", &["web2", "web3"]),
            ("web[1:0]", &["web2"]),
            ("web[5:9]", &[]),
            ("web*[2]", &["web3"]),
            ("web[0]:db[-1]", &["web1", "db2"]),
            ("nothing", &[]),
            ("nothing*", &[]),
            ("localhost", &["localhost"]),
            ("127.0.0.1", &["127.0.0.1"]),
            (
                "all:localhost",
                &["web1", "web2", "web3", "db1", "db2", "lb-a", "localhost"],
            ),
            ("ungrouped", &[]),
        ];
        for (pattern, expected) in cases {
            assert_eq!(
                inventory.select(pattern).expect(pattern),
                *expected,
                "{pattern}"
            );
        }
    }

    #[test]
    fn localhost_only_implicit_when_not_listed() {
        let listed = inventory("[local]\n127.0.0.1\n[web]\nw1\n");
        assert_eq!(listed.select("localhost").expect("ok"), ["127.0.0.1"]);
        assert_eq!(listed.select("all").expect("ok"), ["127.0.0.1", "w1"]);
        let empty = inventory("");
        assert_eq!(empty.select("all").expect("ok"), Vec::<String>::new());
        assert_eq!(empty.select("localhost").expect("ok"), ["localhost"]);
    }

    #[test]
    fn bad_patterns_are_errors() {
        let inventory = inventory(HOSTS);
        for (pattern, needle) in [
            ("web[3]", "subscripted"),
            ("web[-4]", "subscripted"),
            ("~(", "invalid host pattern"),
        ] {
            let message = inventory.select(pattern).expect_err(pattern).to_string();
            assert!(message.contains(needle), "{pattern}: {message}");
        }
    }

    #[test]
    fn splitting() {
        let cases: &[(&str, &[&str])] = &[
            ("a:b", &["a", "b"]),
            ("a:&b:!c", &["a", "&b", "!c"]),
            ("a,b:c", &["a", "b:c"]),
            ("web[1:3]", &["web[1:3]"]),
            ("web[1:3]:db", &["web[1:3]", "db"]),
            ("fe80::1", &["fe80::1"]),
            ("host:22", &["host:22"]),
            ("a, ,b,", &["a", "b"]),
            ("", &[]),
        ];
        for (pattern, expected) in cases {
            assert_eq!(split(pattern), *expected, "{pattern}");
        }
    }

    #[test]
    fn subscripts() {
        let cases: &[(&str, &str, Option<Subscript>)] = &[
            ("web", "web", None),
            ("web[0]", "web", Some(Subscript::Index(0))),
            ("web[-2]", "web", Some(Subscript::Index(-2))),
            ("web[1:3]", "web", Some(Subscript::Range(1, Some(3)))),
            ("web[1-3]", "web", Some(Subscript::Range(1, Some(3)))),
            ("web[2:]", "web", Some(Subscript::Range(2, None))),
            ("~web[0]", "~web[0]", None),
            ("web[a:c]", "web[a:c]", None),
        ];
        for (piece, expr, subscript) in cases {
            let (got_expr, got) = split_subscript(piece);
            assert_eq!((got_expr, &got), (*expr, subscript), "{piece}");
        }
    }

    #[test]
    fn globs_follow_fnmatch() {
        let cases = [
            ("web*", "web12", true),
            ("web*", "xweb", false),
            ("w?b", "web", true),
            ("w?b", "wb", false),
            ("[ab]x", "bx", true),
            ("[!ab]x", "bx", false),
            ("[!ab]x", "cx", true),
            ("[a-c]1", "b1", true),
            ("[a-c]1", "d1", false),
            ("web.example", "webxexample", false),
            ("a[", "a[", true),
            ("[]]", "]", true),
            ("x[&~]", "x~", true),
            ("a+b", "a+b", true),
            ("Web", "web", false),
            ("**", "anything", true),
        ];
        for (glob, name, expected) in cases {
            let regex = Regex::new(&crate::glob::to_regex(glob)).expect(glob);
            assert_eq!(regex.is_match(name), expected, "{glob} vs {name}");
        }
    }
}
