//! Python `re` compatibility on top of `fancy-regex` (which brings backreferences
//! and look-around): pattern translation, flags, `re.sub` replacement templates and
//! Python's rules for iterating over matches. Shared by the Jinja filters and tests
//! and by the file-editing modules.

use fancy_regex::{Regex, RegexBuilder};

/// The groups of one match.
pub type Captures<'t> = fancy_regex::Captures<'t, str>;

/// How a pattern must match, like Python's `re.search`, `re.match` and `re.fullmatch`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Anywhere in the text.
    Search,
    /// At the start of the text.
    Start,
    /// The whole text.
    Full,
}

/// Python's compile flags.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    /// `re.IGNORECASE`.
    pub ignorecase: bool,
    /// `re.MULTILINE`: `^` and `$` match at every line.
    pub multiline: bool,
    /// `re.DOTALL`: `.` matches newlines too.
    pub dotall: bool,
}

/// A compiled Python regular expression.
#[derive(Debug)]
pub struct Pattern(Regex);

/// Compiles a Python regular expression.
pub fn compile(pattern: &str, flags: Flags, anchor: Anchor) -> Result<Pattern, String> {
    let multiline = flags.multiline || has_multiline_flag(pattern);
    let translated = translate(pattern, multiline);
    let wrapped = match anchor {
        Anchor::Search => translated,
        Anchor::Start => format!(r"\A(?:{translated})"),
        Anchor::Full => format!(r"\A(?:{translated})\z"),
    };
    RegexBuilder::new(&wrapped)
        .case_insensitive(flags.ignorecase)
        .multi_line(flags.multiline)
        .dot_matches_new_line(flags.dotall)
        .build()
        .map(Pattern)
        .map_err(|e| format!("invalid regular expression '{pattern}': {e}"))
}

impl Pattern {
    /// The first match in `text`, like Python's `pattern.search`.
    pub fn search<'t>(&self, text: &'t str) -> Result<Option<Captures<'t>>, String> {
        self.search_from(text, 0)
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> Result<bool, String> {
        self.0.is_match(text).map_err(|e| e.to_string())
    }

    /// Every match in `text`, as Python's `finditer` finds them: like Python 3.7+, an
    /// empty match right after a previous match counts too.
    pub fn matches<'t>(&self, text: &'t str) -> Result<Vec<Captures<'t>>, String> {
        let mut found = Vec::new();
        let mut at = 0;
        let mut after_empty = false;
        while at <= text.len() {
            let Some(caps) = self.search_from(text, at)? else {
                break;
            };
            let Some((start, end)) = caps.get(0).map(|m| (m.start(), m.end())) else {
                break;
            };
            if after_empty && start == end && start == at {
                match text[at..].chars().next() {
                    Some(c) => {
                        at += c.len_utf8();
                        after_empty = false;
                        continue;
                    }
                    None => break,
                }
            }
            after_empty = start == end;
            at = end;
            found.push(caps);
        }
        Ok(found)
    }

    /// The names of the named groups, in order.
    pub fn group_names(&self) -> Vec<String> {
        self.0
            .capture_names()
            .flatten()
            .map(str::to_string)
            .collect()
    }

    /// How many groups the pattern has, plus one for the whole match.
    pub fn captures_len(&self) -> usize {
        self.0.captures_len()
    }

    /// The first match at or after byte `at`, seeing the text before it as context.
    fn search_from<'t>(&self, text: &'t str, at: usize) -> Result<Option<Captures<'t>>, String> {
        self.0
            .captures_from_pos(text, at)
            .map_err(|e| e.to_string())
    }
}

/// Whether the pattern starts with global inline flags that include `m` (`(?m)`,
/// `(?im)`), which is how Python code asks `pattern.flags & re.MULTILINE`.
pub fn has_multiline_flag(pattern: &str) -> bool {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .is_some_and(|(flags, _)| {
            flags.contains('m') && flags.chars().all(|c| "aiLmsux".contains(c))
        })
}

/// Rewrites Python-only syntax into its `fancy-regex` equivalent: `\Z`, braces that
/// are not quantifiers, `\<` and `\>` (literals in Python, word boundaries here),
/// `[` and doubled `&&`, `--`, `~~` inside classes (literals in Python, set
/// operations here), and, outside MULTILINE, `$` (which in Python also matches just
/// before a final newline).
fn translate(pattern: &str, multiline: bool) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            match chars.get(i + 1) {
                Some('Z') if !in_class => out.push_str(r"\z"),
                Some(&escaped @ ('<' | '>')) => out.push(escaped),
                Some(&next) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            }
            i += 2;
            continue;
        }
        if in_class {
            match c {
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                '[' => out.push_str(r"\["),
                '&' | '-' | '~' if chars.get(i + 1) == Some(&c) => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    out.push_str(r"\]");
                    i += 1;
                }
                continue;
            }
            '{' => match quantifier(&chars[i..]) {
                Some((text, used)) => {
                    out.push_str(&text);
                    i += used;
                    continue;
                }
                None => out.push_str(r"\{"),
            },
            '}' => out.push_str(r"\}"),
            '$' if !multiline => out.push_str(r"(?=\n?\z)"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Reads a Python repetition `{m,n}` at the start of `chars` (which begins with `{`):
/// its `regex` spelling and how many characters it took; `None` when Python would
/// read the brace as a literal.
fn quantifier(chars: &[char]) -> Option<(String, usize)> {
    let digits = |from: usize| -> String {
        chars[from..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .collect()
    };
    if chars.get(1) == Some(&'}') {
        return None;
    }
    let low = digits(1);
    let mut at = 1 + low.len();
    let high = if chars.get(at) == Some(&',') {
        let high = digits(at + 1);
        at += 1 + high.len();
        Some(high)
    } else {
        None
    };
    if chars.get(at) != Some(&'}') {
        return None;
    }
    let low = if low.is_empty() { "0".to_string() } else { low };
    let text = match high {
        None => format!("{{{low}}}"),
        Some(high) => format!("{{{low},{high}}}"),
    };
    Some((text, at + 1))
}

/// One piece of a Python replacement template.
enum Piece {
    Text(String),
    Group(GroupRef),
}

/// A reference to a capture group by number or name.
#[derive(Clone)]
pub enum GroupRef {
    /// A numbered group, `\1` or `\g<1>`.
    Index(usize),
    /// A named group, `\g<name>`.
    Name(String),
}

/// A parsed Python `re.sub` replacement template.
pub struct Replacement(Vec<Piece>);

impl Replacement {
    /// Parses backslash escapes and `\N` / `\g<...>` group references, failing with
    /// Python's messages.
    pub fn parse(template: &str, re: &Pattern) -> Result<Self, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let chars: Vec<char> = template.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            let at = i;
            i += 1;
            if c != '\\' {
                text.push(c);
                continue;
            }
            let Some(&next) = chars.get(i) else {
                return Err(format!("bad escape (end of pattern) at position {at}"));
            };
            i += 1;
            let group = match next {
                'g' => {
                    let rest: String = chars[i..].iter().collect();
                    let inner = rest
                        .strip_prefix('<')
                        .ok_or_else(|| format!("missing < at position {i}"))?
                        .split_once('>')
                        .map(|(g, _)| g.to_string())
                        .ok_or_else(|| {
                            format!("missing >, unterminated name at position {}", i + 1)
                        })?;
                    i += inner.chars().count() + 2;
                    Some(parse_group_ref(&inner))
                }
                '1'..='9' => {
                    let mut digits = next.to_string();
                    if let Some(&d) = chars.get(i).filter(|d| d.is_ascii_digit()) {
                        digits.push(d);
                        i += 1;
                    }
                    Some(GroupRef::Index(digits.parse().unwrap_or(0)))
                }
                _ => {
                    match next {
                        'n' => text.push('\n'),
                        't' => text.push('\t'),
                        'r' => text.push('\r'),
                        'f' => text.push('\x0c'),
                        'v' => text.push('\x0b'),
                        'a' => text.push('\x07'),
                        '\\' => text.push('\\'),
                        c if c.is_ascii_alphanumeric() => {
                            return Err(format!("bad escape \\{c} at position {at}"));
                        }
                        c => {
                            text.push('\\');
                            text.push(c);
                        }
                    }
                    None
                }
            };
            if let Some(group) = group {
                check_group(&group, re)?;
                if !text.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                }
                pieces.push(Piece::Group(group));
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Replacement(pieces))
    }

    /// Expands the template for one match; unmatched groups expand to ''.
    pub fn expand(&self, caps: &Captures<'_>) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Group(g) => out.push_str(group_text(caps, g).unwrap_or("")),
            }
        }
        out
    }
}

/// Python's `re.subn`: replaces up to `count` matches (all when 0) and says how many.
pub fn subn(
    re: &Pattern,
    text: &str,
    replacement: &Replacement,
    count: usize,
) -> Result<(String, usize), String> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut done = 0;
    for caps in re.matches(text)? {
        if count > 0 && done == count {
            break;
        }
        let Some(m) = caps.get(0) else { continue };
        out.push_str(&text[last..m.start()]);
        out.push_str(&replacement.expand(&caps));
        last = m.end();
        done += 1;
    }
    out.push_str(&text[last..]);
    Ok((out, done))
}

/// Parses the inside of `\g<...>` or a backreference argument.
pub fn parse_group_ref(inner: &str) -> GroupRef {
    match inner.parse::<usize>() {
        Ok(n) => GroupRef::Index(n),
        Err(_) => GroupRef::Name(inner.to_string()),
    }
}

/// Fails when the group does not exist in the pattern.
pub fn check_group(group: &GroupRef, re: &Pattern) -> Result<(), String> {
    match group {
        GroupRef::Index(n) if *n < re.captures_len() => Ok(()),
        GroupRef::Name(g) if re.0.capture_names().flatten().any(|n| n == g) => Ok(()),
        GroupRef::Index(n) => Err(format!("invalid group reference {n}")),
        GroupRef::Name(g) => Err(format!("unknown group name '{g}'")),
    }
}

/// Returns the text of a group in a match, if it participated.
pub fn group_text<'h>(caps: &Captures<'h>, group: &GroupRef) -> Option<&'h str> {
    match group {
        GroupRef::Index(n) => caps.get(*n),
        GroupRef::Name(g) => caps.name(g),
    }
    .map(|m| m.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(pattern: &str, template: &str, text: &str, flags: Flags) -> (String, usize) {
        let re = compile(pattern, flags, Anchor::Search).expect("valid pattern");
        let replacement = Replacement::parse(template, &re).expect("valid template");
        subn(&re, text, &replacement, 0).expect("matches")
    }

    #[test]
    fn python_syntax_means_what_it_means_in_python() {
        // Each row: pattern, subject, whether Python's re.search finds a match.
        for (pattern, text, found) in [
            (r"server {", "server {\n", true),
            (r"a{}", "a{}", true),
            (r"x{,2}y", "xxy", true),
            (r"^x{2}$", "xx", true),
            (r"[[]", "[", true),
            (r"[]a]", "]", true),
            (r"[a&&b]", "&", true),
            (r"\<b\>", "<b>", true),
            (r"a\Z", "a\n", false),
            (r"^line 1$", "line 1\n", true),
            (r"^line 1$", "line 1\r\n", false),
            (r"^a$", "a\nb\n", false),
            (r"[$]", "$", true),
            (r"\$HOME", "$HOME", true),
            (r"^(REF) .* \1$", "REF this is REF\n", true),
            (r"^(?!#)foo", "#foo", false),
            (r"(?m)^b$", "a\nb\nc", true),
        ] {
            let re = compile(pattern, Flags::default(), Anchor::Search).expect(pattern);
            assert_eq!(re.is_match(text), Ok(found), "{pattern} on {text:?}");
        }
    }

    #[test]
    fn multiline_flag_is_seen_at_the_start_only() {
        assert!(has_multiline_flag("(?m)a\nb"));
        assert!(has_multiline_flag("(?im)a"));
        assert!(!has_multiline_flag("(?i)a"));
        assert!(!has_multiline_flag("a(?m)"));
        assert!(!has_multiline_flag("(?m:a)"));
    }

    #[test]
    fn subn_follows_python_on_empty_matches() {
        // Python 3.7+: re.sub('x*', '-', 'abxd') == '-a-b--d-'
        assert_eq!(
            sub("x*", "-", "abxd", Flags::default()),
            ("-a-b--d-".into(), 5)
        );
        let multiline = Flags {
            multiline: true,
            ..Flags::default()
        };
        assert_eq!(
            sub("^", "# ", "a\nb\n", multiline),
            ("# a\n# b\n# ".into(), 3)
        );
        assert_eq!(
            sub(r"^(?P<k>\w+)=(.*)$", r"\2=\g<k>", "a=1\nb=2", multiline),
            ("1=a\n2=b".into(), 2)
        );
    }

    #[test]
    fn replacement_errors_use_python_words() {
        let re = compile("(a)", Flags::default(), Anchor::Search).expect("valid");
        let err = |t: &str| Replacement::parse(t, &re).err().unwrap_or_default();
        assert_eq!(err(r"\D"), r"bad escape \D at position 0");
        assert_eq!(err(r"x\2"), "invalid group reference 2");
        assert_eq!(err(r"\g<k>"), "unknown group name 'k'");
        assert_eq!(err(r"\g<1"), "missing >, unterminated name at position 3");
        assert_eq!(err("x\\"), "bad escape (end of pattern) at position 1");
    }
}
