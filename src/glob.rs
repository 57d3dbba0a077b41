//! Shell-style wildcards (`fnmatch`): `*`, `?`, `[seq]` and `[!seq]`, translated to
//! regular expressions as Python's `fnmatch.translate` does, and the paths a pattern
//! names on the control node ([`paths`], Python's `glob.glob`).

use regex::Regex;

/// Characters with a meaning in a regex character class.
const CLASS_META: &str = r"\.+*?()|[]{}^$#&-~";

/// Python's `glob.glob(pattern)` on the control node: each `/`-separated part with a
/// wildcard is matched against the names in the directories found so far (a name
/// starting with a dot only by a part starting with one), a part without one must
/// exist; sorted within each directory (Python leaves directory order), relative
/// patterns from the current directory.
pub fn paths(pattern: &str) -> Vec<String> {
    let mut found = vec![match pattern.starts_with('/') {
        true => "/".to_string(),
        false => String::new(),
    }];
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return Vec::new();
    }
    for part in parts {
        let mut next = Vec::new();
        for base in &found {
            let join = |name: &str| match base.as_str() {
                "" => name.to_string(),
                "/" => format!("/{name}"),
                _ => format!("{base}/{name}"),
            };
            if !part.contains(['*', '?', '[']) {
                let path = join(part);
                if std::fs::symlink_metadata(&path).is_ok() {
                    next.push(path);
                }
                continue;
            }
            let dir = if base.is_empty() { "." } else { base.as_str() };
            let (Ok(entries), Ok(wanted)) = (std::fs::read_dir(dir), Regex::new(&to_regex(part)))
            else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| !name.starts_with('.') || part.starts_with('.'))
                .filter(|name| wanted.is_match(name))
                .collect();
            names.sort();
            next.extend(names.iter().map(|name| join(name)));
        }
        found = next;
    }
    found
}

/// Whether `name` matches the shell wildcard `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    Regex::new(&to_regex(pattern)).is_ok_and(|re| re.is_match(name))
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`; the rest is literal.
pub fn to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                if !out.ends_with(".*") {
                    out.push_str(".*");
                }
            }
            '?' => out.push('.'),
            '[' => match class_end(&chars, i) {
                None => out.push_str(r"\["),
                Some(end) => {
                    out.push_str(&char_class(&chars[i..end]));
                    i = end + 1;
                }
            },
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    out
}

/// Where the `]` closing a class that opened before `start` is, if anywhere.
fn class_end(chars: &[char], start: usize) -> Option<usize> {
    let mut j = start;
    if chars.get(j) == Some(&'!') {
        j += 1;
    }
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() && chars[j] != ']' {
        j += 1;
    }
    (j < chars.len()).then_some(j)
}

/// A regex class for the inside of a glob `[...]`.
fn char_class(inside: &[char]) -> String {
    let (negated, body) = match inside.split_first() {
        Some(('!', rest)) => (true, rest),
        _ => (false, inside),
    };
    let mut items = String::new();
    let mut k = 0;
    while k < body.len() {
        if k + 2 < body.len() && body[k + 1] == '-' {
            if body[k] <= body[k + 2] {
                items.push_str(&format!(
                    "{}-{}",
                    class_char(body[k]),
                    class_char(body[k + 2])
                ));
            }
            k += 3;
        } else {
            items.push_str(&class_char(body[k]));
            k += 1;
        }
    }
    match (items.is_empty(), negated) {
        (true, true) => ".".into(),
        (true, false) => r"[^\s\S]".into(),
        (false, true) => format!("[^{items}]"),
        (false, false) => format!("[{items}]"),
    }
}

fn class_char(c: char) -> String {
    if CLASS_META.contains(c) {
        format!("\\{c}")
    } else {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::{matches, paths};

    /// Wildcards in any part, a literal part that must exist, hidden names only for
    /// a pattern that starts with a dot, as Python's glob.glob.
    #[test]
    fn paths_expand_every_part_of_a_pattern() {
        let dir = tempfile::tempdir().expect("a scratch directory");
        let root = dir.path().to_string_lossy().into_owned();
        for file in [
            "a1/x.txt",
            "a2/x.txt",
            "a2/y.md",
            "b/x.txt",
            "a1/.hidden.txt",
        ] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("dirs");
            std::fs::write(path, "").expect("a file");
        }
        let rel = |found: Vec<String>| -> Vec<String> {
            found
                .into_iter()
                .map(|p| p.replacen(&root, "", 1))
                .collect()
        };
        assert_eq!(
            rel(paths(&format!("{root}/a*/*.txt"))),
            ["/a1/x.txt", "/a2/x.txt"]
        );
        assert_eq!(rel(paths(&format!("{root}/b/x.txt"))), ["/b/x.txt"]);
        assert!(paths(&format!("{root}/b/missing")).is_empty());
        assert_eq!(rel(paths(&format!("{root}/a1/.*"))), ["/a1/.hidden.txt"]);
    }

    #[test]
    fn fnmatch_rules() {
        assert!(matches("web*", "web01"));
        assert!(matches("db?", "db1"));
        assert!(!matches("db?", "db12"));
        assert!(matches(
            "ansible_distribution*",
            "ansible_distribution_version"
        ));
        assert!(matches("web[0-9]", "web5"));
        assert!(!matches("web[!0-9]", "web5"));
        assert!(matches("*", ""));
    }
}
