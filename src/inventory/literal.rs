//! Reads inline INI host variable values the way Ansible does, with Python's
//! `ast.literal_eval`: numbers, quoted strings, `True`/`False`/`None`, lists, tuples,
//! dicts and sets. Anything else is not a literal and stays the plain string.

use serde_json::{Map, Number, Value as Json};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 64;

/// The value of `text` as a Python literal, or `None` when it is not one.
pub fn parse(text: &str) -> Option<Json> {
    let mut parser = Parser {
        chars: text.chars().collect(),
        at: 0,
        depth: 0,
    };
    let value = parser.expression()?;
    parser.skip_space();
    (parser.at == parser.chars.len()).then_some(value)
}

/// The value of an INI host variable: its literal value, or the text itself.
pub fn value_of(text: &str) -> Json {
    parse(text).unwrap_or_else(|| Json::String(text.to_string()))
}

struct Parser {
    chars: Vec<char>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.at + offset).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    /// Skips blanks, comments and line continuations, as Python's tokenizer does.
    fn skip_space(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                ' ' | '\t' | '\n' | '\r' | '\x0c' => self.at += 1,
                '\\' if self.peek_at(1) == Some('\n') => self.at += 2,
                '#' => {
                    while self.peek().is_some_and(|c| c != '\n') {
                        self.at += 1;
                    }
                }
                _ => break,
            }
        }
    }

    fn expression(&mut self) -> Option<Json> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.skip_space();
        let value = match self.peek()? {
            '[' => {
                self.at += 1;
                self.sequence(']').map(|(items, _)| Json::Array(items))
            }
            '(' => {
                self.at += 1;
                match self.sequence(')')? {
                    (mut items, false) if items.len() == 1 => items.pop(),
                    (items, _) => Some(Json::Array(items)),
                }
            }
            '{' => {
                self.at += 1;
                self.braces()
            }
            '+' | '-' => self.signed_number(),
            '.' if self.peek_at(1) == Some('.') && self.peek_at(2) == Some('.') => {
                self.at += 3;
                Some(Json::String("...".into()))
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            _ => self.strings_or_name(),
        };
        self.depth -= 1;
        value
    }

    /// Items up to `close`; also tells whether a comma was seen (`(1,)` is a tuple).
    fn sequence(&mut self, close: char) -> Option<(Vec<Json>, bool)> {
        let mut items = Vec::new();
        let mut comma = false;
        loop {
            if self.eat(close) {
                return Some((items, comma));
            }
            items.push(self.expression()?);
            if self.eat(',') {
                comma = true;
            } else if self.eat(close) {
                return Some((items, comma));
            } else {
                return None;
            }
        }
    }

    /// A dict `{k: v}` or a set `{a, b}` (kept as a list, as Ansible does).
    fn braces(&mut self) -> Option<Json> {
        if self.eat('}') {
            return Some(Json::Object(Map::new()));
        }
        let first = self.expression()?;
        if !self.eat(':') {
            let mut items = vec![first];
            if self.eat(',') {
                items.extend(self.sequence('}')?.0);
            } else if !self.eat('}') {
                return None;
            }
            return Some(Json::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            let value = self.expression()?;
            map.insert(key_text(&key), value);
            if self.eat('}') || (self.eat(',') && self.eat('}')) {
                return Some(Json::Object(map));
            }
            key = self.expression()?;
            if !self.eat(':') {
                return None;
            }
        }
    }

    fn signed_number(&mut self) -> Option<Json> {
        let negative = self.peek()? == '-';
        self.at += 1;
        self.skip_space();
        match self.number()? {
            Json::Number(n) if negative => {
                if let Some(i) = n.as_i64() {
                    Some(Json::from(i.checked_neg()?))
                } else {
                    Number::from_f64(-n.as_f64()?).map(Json::Number)
                }
            }
            other => Some(other),
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.at;
        while let Some(c) = self.peek() {
            let exponent_sign = matches!(c, '+' | '-')
                && self.at > start
                && matches!(self.chars[self.at - 1], 'e' | 'E')
                && !self.chars[start..self.at]
                    .iter()
                    .any(|c| matches!(c, 'x' | 'X'));
            if !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || exponent_sign) {
                break;
            }
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        number_value(&text)
    }

    /// Adjacent string literals (concatenated) or one of `True`, `False`, `None`.
    fn strings_or_name(&mut self) -> Option<Json> {
        let start = self.at;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
            self.at += 1;
        }
        let word: String = self.chars[start..self.at].iter().collect();
        if !matches!(self.peek(), Some('\'' | '"')) {
            return match word.as_str() {
                "True" => Some(Json::Bool(true)),
                "False" => Some(Json::Bool(false)),
                "None" => Some(Json::Null),
                // The empty set, kept as a list as Ansible keeps sets.
                "set" if self.eat('(') && self.eat(')') => Some(Json::Array(Vec::new())),
                _ => None,
            };
        }
        self.at = start;
        let mut text = self.string()?;
        loop {
            let before = self.at;
            self.skip_space();
            let prefix_len = self.chars[self.at..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            if prefix_len <= 2 && matches!(self.peek_at(prefix_len), Some('\'' | '"')) {
                text.push_str(&self.string()?);
            } else {
                self.at = before;
                return Some(Json::String(text));
            }
        }
    }

    /// One string literal with its optional `r`/`b`/`u` prefix.
    fn string(&mut self) -> Option<String> {
        let mut raw = false;
        while let Some(c) = self.peek().filter(|c| c.is_ascii_alphabetic()) {
            match c.to_ascii_lowercase() {
                'r' => raw = true,
                'b' | 'u' => {}
                _ => return None,
            }
            self.at += 1;
        }
        let quote = self.peek()?;
        let triple = self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote);
        self.at += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == quote
                && (!triple || (self.peek_at(1) == Some(quote) && self.peek_at(2) == Some(quote)))
            {
                self.at += if triple { 3 } else { 1 };
                return Some(out);
            }
            if c == '\n' && !triple {
                return None;
            }
            self.at += 1;
            if c != '\\' {
                out.push(c);
            } else if raw {
                out.push('\\');
                out.push(self.peek()?);
                self.at += 1;
            } else {
                self.escape(&mut out)?;
            }
        }
    }

    /// Reads the escape after a backslash into `out`.
    fn escape(&mut self, out: &mut String) -> Option<()> {
        let c = self.peek()?;
        self.at += 1;
        let simple = match c {
            '\n' => return Some(()),
            '\\' | '\'' | '"' => Some(c),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(simple) = simple {
            out.push(simple);
            return Some(());
        }
        let (radix, len) = match c {
            '0'..='7' => (8, 3),
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            _ => {
                out.push('\\');
                out.push(c);
                return Some(());
            }
        };
        let digits_start = if radix == 8 { self.at - 1 } else { self.at };
        let mut end = digits_start;
        while end < self.chars.len() && end - digits_start < len && self.chars[end].is_digit(radix)
        {
            end += 1;
        }
        if radix == 16 && end - digits_start != len {
            return None;
        }
        let digits: String = self.chars[digits_start..end].iter().collect();
        out.push(char::from_u32(u32::from_str_radix(&digits, radix).ok()?)?);
        self.at = end;
        Some(())
    }
}

/// A Python number literal (`2222`, `0x1F`, `0o17`, `1_000`, `1.5`, `1e3`) as JSON.
fn number_value(text: &str) -> Option<Json> {
    if text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    // An imaginary number is no JSON value: Ansible keeps Python's `str()` of it.
    if let Some(imaginary) = text.strip_suffix(['j', 'J']) {
        let value = number_value(imaginary)?.as_f64()?;
        return Some(Json::String(
            match value.fract() == 0.0 && value.abs() < 1e16 {
                true => format!("{}j", value as i64),
                false => format!("{value}j"),
            },
        ));
    }
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits).replace('_', "");
            return i64::from_str_radix(&digits, radix).ok().map(Json::from);
        }
    }
    let plain = lower.replace('_', "");
    if lower.contains("._") || lower.contains("_.") || lower.contains("e_") || lower.contains("_e")
    {
        return None;
    }
    if plain.bytes().all(|b| b.is_ascii_digit()) {
        if plain.len() > 1 && plain.starts_with('0') && plain.bytes().any(|b| b != b'0') {
            return None;
        }
        return plain.parse::<i64>().ok().map(Json::from);
    }
    let valid_float = plain
        .bytes()
        .all(|b| b.is_ascii_digit() || b"+-.e".contains(&b))
        && plain.bytes().any(|b| b.is_ascii_digit())
        && plain.matches('.').count() <= 1
        && !plain.starts_with('e');
    if !valid_float {
        return None;
    }
    let value: f64 = plain.parse().ok()?;
    Number::from_f64(value).map(Json::Number)
}

/// A dict key as text: strings as they are, other scalars as JSON writes them.
fn key_text(key: &Json) -> String {
    match key {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_literals() {
        let cases: &[(&str, Json)] = &[
            ("2222", json!(2222)),
            (
                "[..., 1j, set(), {1, 2}, b'x', 2.5J]",
                json!(["...", "1j", [], [1, 2], "x", "2.5j"]),
            ),
            ("-5", json!(-5)),
            ("+5", json!(5)),
            ("0", json!(0)),
            ("00", json!(0)),
            ("0x1F", json!(31)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("1_000", json!(1000)),
            ("1.5", json!(1.5)),
            ("1.", json!(1.0)),
            (".5", json!(0.5)),
            ("1e3", json!(1000.0)),
            ("2.5E-1", json!(0.25)),
            ("-1.5", json!(-1.5)),
            ("True", json!(true)),
            ("False", json!(false)),
            ("None", json!(null)),
            ("'quoted'", json!("quoted")),
            ("\"dq\"", json!("dq")),
            ("'a' 'b'", json!("ab")),
            ("'tab\\there'", json!("tab\there")),
            ("r'raw\\n'", json!("raw\\n")),
            ("'\\x41\\u00e9\\101'", json!("Aé\u{41}")),
            ("'''tri'ple'''", json!("tri'ple")),
            ("'unknown\\q'", json!("unknown\\q")),
            ("[1,2]", json!([1, 2])),
            ("[1, 'a', [True]]", json!([1, "a", [true]])),
            ("[]", json!([])),
            ("(1,)", json!([1])),
            ("(1)", json!(1)),
            ("()", json!([])),
            ("{'a':1}", json!({"a": 1})),
            (
                "{'a': {'b': [1]}, 'c': None,}",
                json!({"a": {"b": [1]}, "c": null}),
            ),
            ("{1: 'x'}", json!({"1": "x"})),
            ("{}", json!({})),
            ("{1, 2}", json!([1, 2])),
            ("2222 # comment", json!(2222)),
            ("...", json!("...")),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input).as_ref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn non_literals_stay_strings() {
        for input in [
            "yes",
            "no",
            "true",
            "bar",
            "0644",
            "10-5",
            "1.2.3",
            "10.0.0.1",
            "1abc",
            "1__0",
            "_1",
            "1_",
            "'unclosed",
            "[1, 2",
            "{'a' 1}",
            "--1",
            "-True",
            "f'x'",
            "",
            "a b",
            "1e",
            "e5",
            "0x",
            "[1,,2]",
            "{'a':1,,}",
            "inf",
            "nan",
            "/usr/bin/python3",
            "{{ var }}",
        ] {
            assert_eq!(parse(input), None, "{input}");
            assert_eq!(value_of(input), Json::String(input.into()), "{input}");
        }
    }
}
