//! Shell-style wildcard matching (`fnmatch`): `*`, `?` and `[...]`.

/// Whether `name` matches the shell wildcard `pattern`.
pub fn matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    match_from(&pattern, &name)
}

fn match_from(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| match_from(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && match_from(&pattern[1..], &name[1..]),
        Some('[') => match (name.first(), pattern.iter().position(|c| *c == ']')) {
            (Some(c), Some(end)) if end > 1 => {
                let set = &pattern[1..end];
                let (negate, set) = match set.first() {
                    Some('!') | Some('^') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut found = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == '-' {
                        found |= set[i] <= *c && *c <= set[i + 2];
                        i += 3;
                    } else {
                        found |= set[i] == *c;
                        i += 1;
                    }
                }
                found != negate && match_from(&pattern[end + 1..], &name[1..])
            }
            (Some(c), _) => *c == '[' && match_from(&pattern[1..], &name[1..]),
            (None, _) => false,
        },
        Some(p) => name.first() == Some(p) && match_from(&pattern[1..], &name[1..]),
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
