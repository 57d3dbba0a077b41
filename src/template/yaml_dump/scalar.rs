//! The scalar half of the PyYAML emitter port: YAML 1.1 implicit type
//! resolution, scalar analysis, style choice and the plain, single-quoted
//! and double-quoted writers (with PyYAML's line folding).

use std::sync::LazyLock;

use regex::Regex;

use super::emitter::{Context, Emitter};

/// PyYAML's implicit resolvers for bool, int, float, null, timestamp,
/// merge and value tags (YAML 1.1).
static IMPLICIT: LazyLock<Regex> = LazyLock::new(|| {
    let alternatives = [
        // bool
        "yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        // int
        "[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
        "[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        // float
        r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        // null
        "~|null|Null|NULL|",
        // timestamp
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        r"[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9]{2})?))?",
        // merge and value
        "<<|=",
    ];
    let pattern = format!(r"\A(?:{})\z", alternatives.join("|"));
    Regex::new(&pattern).expect("the YAML resolver patterns are valid")
});

/// True when the plain form of `text` reads back as a string.
pub(crate) fn resolves_as_str(text: &str) -> bool {
    !IMPLICIT.is_match(text)
}

/// Line break characters as PyYAML understands them.
pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn is_blank_or_break(c: char) -> bool {
    matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c)
}

/// Which styles a scalar can be written in (PyYAML's `ScalarAnalysis`).
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

fn analyze(text: &[char]) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);

    let starts_with = |p: &str| text.iter().take(3).copied().eq(p.chars());
    if starts_with("---") || starts_with("...") {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = text.len() == 1 || is_blank_or_break(text[1]);
    let last = text.len() - 1;
    for (index, &ch) in text.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_indicators = true;
                block_indicators = true;
            }
            if ch == '?' || ch == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if ch == '-' && followed_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_indicators = true;
            }
            if ch == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if ch == '#' && preceded_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || ('\x20'..='\x7e').contains(&ch)) {
            let printable_unicode = (ch == '\u{85}'
                || ('\u{a0}'..='\u{d7ff}').contains(&ch)
                || ('\u{e000}'..='\u{fffd}').contains(&ch)
                || ('\u{10000}'..'\u{10ffff}').contains(&ch))
                && ch != '\u{feff}';
            if !printable_unicode {
                special_characters = true;
            }
        }
        if ch == ' ' {
            leading_space |= index == 0;
            trailing_space |= index == last;
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            leading_break |= index == 0;
            trailing_break |= index == last;
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blank_or_break(ch);
        followed_by_whitespace = index + 2 >= text.len() || is_blank_or_break(text[index + 2]);
    }

    let mut analysis = Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain: true,
        allow_block_plain: true,
        allow_single_quoted: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
    }
    if break_space {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
        analysis.allow_single_quoted = false;
    }
    if space_break || special_characters {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
        analysis.allow_single_quoted = false;
    }
    if line_breaks {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
    }
    if flow_indicators {
        analysis.allow_flow_plain = false;
    }
    if block_indicators {
        analysis.allow_block_plain = false;
    }
    analysis
}

/// Characters the double-quoted writer passes through unescaped.
fn double_quoted_plain_char(ch: char) -> bool {
    !matches!(
        ch,
        '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
    ) && (('\x20'..='\x7e').contains(&ch)
        || ('\u{a0}'..='\u{d7ff}').contains(&ch)
        || ('\u{e000}'..='\u{fffd}').contains(&ch))
}

fn escape(ch: char) -> String {
    let short = match ch {
        '\0' => Some('0'),
        '\x07' => Some('a'),
        '\x08' => Some('b'),
        '\t' => Some('t'),
        '\n' => Some('n'),
        '\x0b' => Some('v'),
        '\x0c' => Some('f'),
        '\r' => Some('r'),
        '\x1b' => Some('e'),
        '"' => Some('"'),
        '\\' => Some('\\'),
        '\u{85}' => Some('N'),
        '\u{a0}' => Some('_'),
        '\u{2028}' => Some('L'),
        '\u{2029}' => Some('P'),
        _ => None,
    };
    match (short, ch as u32) {
        (Some(c), _) => format!("\\{c}"),
        (None, n) if n <= 0xff => format!("\\x{n:02X}"),
        (None, n) if n <= 0xffff => format!("\\u{n:04X}"),
        (None, n) => format!("\\U{n:08X}"),
    }
}

impl Emitter {
    /// Chooses a style for a scalar and writes it (PyYAML's
    /// `choose_scalar_style` and `process_scalar`).
    pub(super) fn scalar(&mut self, text: &str, plain_ok: bool, ctx: Context) {
        let chars: Vec<char> = text.chars().collect();
        let a = analyze(&chars);
        let split = !ctx.simple_key;
        let plain_allowed = if self.flow_level > 0 {
            a.allow_flow_plain
        } else {
            a.allow_block_plain
        };
        if plain_ok && !(ctx.simple_key && (a.empty || a.multiline)) && plain_allowed {
            self.write_plain(&chars, split, ctx.root);
        } else if a.allow_single_quoted && !(ctx.simple_key && a.multiline) {
            self.write_single_quoted(&chars, split);
        } else {
            self.write_double_quoted(&chars, split);
        }
    }

    fn write_plain(&mut self, text: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write_text(&[' ']);
        }
        self.whitespace = false;
        self.indention = false;
        let mut spaces = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.best_width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_text(&text[start..end]);
                    }
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ') {
                self.write_text(&text[start..end]);
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
            }
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.best_width
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_text(&text[start..end]);
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if text[start] == '\n' {
                        self.write_line_break(None);
                    }
                    for &br in &text[start..end] {
                        self.write_line_break((br != '\n').then_some(br));
                    }
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write_text(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write_text(&['\'', '\'']);
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if ch.is_none_or(|c| !double_quoted_plain_char(c)) {
                if start < end {
                    self.write_text(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    let escaped: Vec<char> = escape(c).chars().collect();
                    self.write_text(&escaped);
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(' ') || start >= end)
                && (self.column + end) as isize - start as isize > self.best_width as isize
                && split
            {
                let mut data: Vec<char> = text[start.min(end)..end].to_vec();
                data.push('\\');
                if start < end {
                    start = end;
                }
                self.write_text(&data);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text.get(start) == Some(&' ') {
                    self.write_text(&['\\']);
                }
            }
        }
        self.write_indicator("\"", false, false, false);
    }
}
