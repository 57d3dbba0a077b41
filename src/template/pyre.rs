//! Python `re` compatibility on top of the `regex` crate: pattern
//! translation, flags and `re.sub` replacement templates.

use minijinja::Error;
use regex::{Captures, Regex, RegexBuilder};

use super::args::fail;

/// How a pattern must match, like Python's `re.search`, `re.match` and `re.fullmatch`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// Anywhere in the text.
    Search,
    /// At the start of the text.
    Start,
    /// The whole text.
    Full,
}

/// Compiles a Python regular expression with the `re.I` / `re.M` flags.
pub(crate) fn compile(
    name: &str,
    pattern: &str,
    ignorecase: bool,
    multiline: bool,
    anchor: Anchor,
) -> Result<Regex, Error> {
    let translated = translate(pattern);
    let wrapped = match anchor {
        Anchor::Search => translated,
        Anchor::Start => format!(r"\A(?:{translated})"),
        Anchor::Full => format!(r"\A(?:{translated})\z"),
    };
    RegexBuilder::new(&wrapped)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| fail(name, format!("invalid regular expression '{pattern}': {e}")))
}

/// Rewrites Python-only syntax into its `regex` crate equivalent.
fn translate(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Z') => out.push_str(r"\z"),
            Some(next) => {
                out.push('\\');
                out.push(next);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// One piece of a Python replacement template.
enum Piece {
    Text(String),
    Group(GroupRef),
}

/// A reference to a capture group by number or name.
#[derive(Clone)]
pub(crate) enum GroupRef {
    /// A numbered group, `\1` or `\g<1>`.
    Index(usize),
    /// A named group, `\g<name>`.
    Name(String),
}

/// A parsed Python `re.sub` replacement template.
pub(crate) struct Replacement(Vec<Piece>);

impl Replacement {
    /// Parses backslash escapes and `\N` / `\g<...>` group references.
    pub(crate) fn parse(name: &str, template: &str, re: &Regex) -> Result<Self, Error> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let chars: Vec<char> = template.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            if c != '\\' {
                text.push(c);
                continue;
            }
            let Some(&next) = chars.get(i) else {
                return Err(fail(name, "bad escape (end of pattern)"));
            };
            i += 1;
            let group = match next {
                'g' => {
                    let rest: String = chars[i..].iter().collect();
                    let inner = rest
                        .strip_prefix('<')
                        .and_then(|r| r.split_once('>'))
                        .map(|(g, _)| g.to_string())
                        .ok_or_else(|| fail(name, "missing group name in \\g<...>"))?;
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
                'n' => {
                    text.push('\n');
                    None
                }
                't' => {
                    text.push('\t');
                    None
                }
                'r' => {
                    text.push('\r');
                    None
                }
                'f' => {
                    text.push('\x0c');
                    None
                }
                'v' => {
                    text.push('\x0b');
                    None
                }
                'a' => {
                    text.push('\x07');
                    None
                }
                '\\' => {
                    text.push('\\');
                    None
                }
                c if c.is_ascii_alphanumeric() => {
                    return Err(fail(name, format!("bad escape \\{c} in replacement")));
                }
                c => {
                    text.push('\\');
                    text.push(c);
                    None
                }
            };
            if let Some(group) = group {
                check_group(name, &group, re)?;
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
    pub(crate) fn expand(&self, caps: &Captures<'_>) -> String {
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

/// Parses the inside of `\g<...>` or a backreference argument.
pub(crate) fn parse_group_ref(inner: &str) -> GroupRef {
    match inner.parse::<usize>() {
        Ok(n) => GroupRef::Index(n),
        Err(_) => GroupRef::Name(inner.to_string()),
    }
}

/// Fails when the group does not exist in the pattern.
pub(crate) fn check_group(name: &str, group: &GroupRef, re: &Regex) -> Result<(), Error> {
    let ok = match group {
        GroupRef::Index(n) => *n < re.captures_len(),
        GroupRef::Name(g) => re.capture_names().flatten().any(|n| n == g),
    };
    if ok {
        Ok(())
    } else {
        let shown = match group {
            GroupRef::Index(n) => n.to_string(),
            GroupRef::Name(g) => g.clone(),
        };
        Err(fail(name, format!("invalid group reference {shown}")))
    }
}

/// Returns the text of a group in a match, if it participated.
pub(crate) fn group_text<'h>(caps: &Captures<'h>, group: &GroupRef) -> Option<&'h str> {
    match group {
        GroupRef::Index(n) => caps.get(*n),
        GroupRef::Name(g) => caps.name(g),
    }
    .map(|m| m.as_str())
}
