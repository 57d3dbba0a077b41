//! The text rules `expect` takes from Python: pexpect's command line splitting,
//! Python patterns written for perl, and the `repr` of bytes its messages show.

/// pexpect's `split_command_line`: words split on white space, `\` escaping the next
/// character, single and double quotes keeping white space (no escapes inside them).
/// White space at the start gives an empty first word, as pexpect's does.
pub fn split_command_line(line: &str) -> Vec<String> {
    #[derive(PartialEq)]
    enum State {
        Basic,
        Escape,
        Single,
        Double,
        Space,
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut state = State::Basic;
    for c in line.chars() {
        match state {
            State::Basic | State::Space => match c {
                '\\' => state = State::Escape,
                '\'' => state = State::Single,
                '"' => state = State::Double,
                c if c.is_whitespace() => {
                    if state != State::Space {
                        words.push(std::mem::take(&mut word));
                        state = State::Space;
                    }
                }
                c => {
                    word.push(c);
                    state = State::Basic;
                }
            },
            State::Escape => {
                word.push(c);
                state = State::Basic;
            }
            State::Single if c == '\'' => state = State::Basic,
            State::Double if c == '"' => state = State::Basic,
            State::Single | State::Double => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// A Python pattern as perl reads it: the same syntax but for `\Z` (Python's end of
/// text, perl's `\z`); `(?P<name>...)` and `(?P=name)` are perl's too.
pub fn perl_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Z') => out.push_str("\\z"),
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// Python's `repr()` of a bytes value (`b'Password: '`), as `'%s' % bytes` shows it.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b == quote as u8 => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_split_as_pexpect_splits_them() {
        assert_eq!(
            split_command_line(r#"passwd  'my user' "a b"c d\ e"#),
            ["passwd", "my user", "a bc", "d e"]
        );
        assert_eq!(split_command_line(" ls"), ["", "ls"]);
        assert_eq!(split_command_line(r#"echo "a\b""#), ["echo", r"a\b"]);
        assert_eq!(split_command_line("x ''"), ["x"]);
    }

    #[test]
    fn python_patterns_read_the_same_in_perl() {
        assert_eq!(perl_pattern(r"done\Z"), r"done\z");
        assert_eq!(perl_pattern(r"a\\Z"), r"a\\Z");
        assert_eq!(
            perl_pattern(r"(?P<p>pass)(?i)word:\s*$"),
            r"(?P<p>pass)(?i)word:\s*$"
        );
    }

    #[test]
    fn bytes_repr_is_pythons() {
        assert_eq!(bytes_repr(b"Password: "), "b'Password: '");
        assert_eq!(bytes_repr(b"it's\r\n"), "b\"it's\\r\\n\"");
        assert_eq!(bytes_repr(b"\x1b[0m'\""), "b'\\x1b[0m\\'\"'");
    }
}
