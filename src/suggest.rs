//! "Did you mean ...?" suggestions for mistyped names and misread command lines.

/// The candidate closest to `word` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (distance(word, candidate), candidate))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, candidate)| candidate)
}

/// For `bosun rn site.yml`: a first word that is a near miss of a subcommand, given
/// with more words after it (an ad hoc call takes one pattern), as a suggestion.
pub fn mistyped_command(argv: &[String], subcommands: &[String]) -> Option<String> {
    let word = argv.get(1).filter(|w| !w.starts_with('-'))?;
    if subcommands.contains(word) {
        return None;
    }
    let more = argv.iter().skip(2).any(|w| !w.starts_with('-'));
    let name = closest(word, subcommands.iter().map(String::as_str)).filter(|_| more)?;
    let mut fixed = argv.to_vec();
    fixed[1] = name.to_string();
    Some(format!(
        "unknown command '{word}': did you mean `{}`?",
        command_line(&fixed)
    ))
}

/// For `bosun site.yml`: an ad hoc host pattern that names a playbook (`.yml` or
/// `.yaml`), as a suggestion to run it, rather than a run on no host.
pub fn playbook_as_pattern(argv: &[String], pattern: &str) -> Option<String> {
    if !(pattern.ends_with(".yml") || pattern.ends_with(".yaml")) {
        return None;
    }
    let at = argv.iter().skip(1).position(|w| w == pattern)? + 1;
    let mut fixed = argv.to_vec();
    fixed.remove(at);
    fixed.splice(1..1, ["run".to_string(), pattern.to_string()]);
    let what = if std::path::Path::new(pattern).is_file() {
        "a playbook"
    } else {
        "a playbook name"
    };
    Some(format!(
        "'{pattern}' looks like {what}, not a host pattern: did you mean `{}`?",
        command_line(&fixed)
    ))
}

/// `argv` as a shell command line starting with `bosun`.
fn command_line(argv: &[String]) -> String {
    let mut words = vec!["bosun".to_string()];
    words.extend(
        argv.iter()
            .skip(1)
            .map(|w| shell_words::quote(w).into_owned()),
    );
    words.join(" ")
}

/// Levenshtein distance between two strings, in characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_only() {
        let names = ["copy", "command", "template"];
        assert_eq!(closest("comand", names), Some("command"));
        assert_eq!(closest("templte", names), Some("template"));
        assert_eq!(closest("zzz", names), None);
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn misread_command_lines_get_the_command_meant() {
        let subcommands = argv(&["run", "inventory", "vault"]);
        assert_eq!(
            mistyped_command(
                &argv(&["bosun", "rn", "site.yml", "-i", "hosts"]),
                &subcommands
            ),
            Some("unknown command 'rn': did you mean `bosun run site.yml -i hosts`?".into())
        );
        assert_eq!(
            mistyped_command(&argv(&["bosun", "web", "-m", "ping"]), &subcommands),
            None
        );
        assert_eq!(
            playbook_as_pattern(&argv(&["bosun", "-i", "hosts", "site.yml"]), "site.yml"),
            Some("'site.yml' looks like a playbook name, not a host pattern: did you mean `bosun run site.yml -i hosts`?".into())
        );
        assert_eq!(playbook_as_pattern(&argv(&["bosun", "web"]), "web"), None);
    }
}
