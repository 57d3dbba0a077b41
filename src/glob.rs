//! Shell-style wildcards (`fnmatch`): `*`, `?`, `[seq]` and `[!seq]`, translated to
//! regular expressions as Python's `fnmatch.translate` does.

use regex::Regex;

/// Characters with a meaning in a regex character class.
const CLASS_META: &str = r"\.+*?()|[]{}^$#&-~";

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
    use super::matches;

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
