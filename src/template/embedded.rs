//! Templates embedded in a conditional's string constants
//! (`when: "'{{ dir }}/x' in paths"`): Ansible 2.19 renders such a constant when the
//! conditional reads it (a feature it deprecates, to be off by default in 2.23). bosun
//! renders each one before evaluating and writes its value back into the expression
//! as a literal, so the value is data and never code.

use std::sync::Arc;

use serde_json::Value as Json;

use super::engine::Templar;
use super::vars::Vars;

impl Templar {
    /// `expression` with every string constant that holds a template replaced by its
    /// rendered value. A constant that cannot be rendered is left as written: Ansible
    /// renders it only if the conditional gets to it (`x is defined and '{{ x }}'`).
    pub(super) fn with_embedded_rendered(&self, expression: &str, vars: &Arc<Vars>) -> String {
        let templates: Vec<Constant> = string_constants(expression)
            .into_iter()
            .filter(|c| super::is_template(&c.text))
            .collect();
        if templates.is_empty() {
            return expression.to_string();
        }
        let mut out = String::with_capacity(expression.len());
        let mut at = 0;
        for constant in templates {
            let Ok(value) = self.render_value(&Json::String(constant.text), vars) else {
                continue;
            };
            out.push_str(&expression[at..constant.start]);
            out.push_str(&literal(&value));
            at = constant.end;
        }
        out.push_str(&expression[at..]);
        out
    }
}

/// A string constant of an expression: where it is written (quotes included) and
/// its text.
#[derive(Debug, PartialEq)]
struct Constant {
    start: usize,
    end: usize,
    text: String,
}

/// The string constants of `expression`, as Jinja's lexer finds them. A constant with
/// an escape the engine would not accept is left out.
fn string_constants(expression: &str) -> Vec<Constant> {
    let bytes = expression.as_bytes();
    let mut constants = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let quote = bytes[i];
        if quote != b'\'' && quote != b'"' {
            i += 1;
            continue;
        }
        let start = i;
        i += 1;
        while i < bytes.len() && bytes[i] != quote {
            i += if bytes[i] == b'\\' { 2 } else { 1 };
        }
        if i >= bytes.len() {
            break;
        }
        i += 1;
        if let Some(text) = unescape(&expression[start + 1..i - 1]) {
            constants.push(Constant {
                start,
                end: i,
                text,
            });
        }
    }
    constants
}

/// A constant's text with its escapes read as the template engine reads them.
fn unescape(raw: &str) -> Option<String> {
    let mut text = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        text.push(match chars.next()? {
            c @ ('"' | '\\' | '/' | '\'') => c,
            'b' => '\x08',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let hex: String = chars.by_ref().take(4).collect();
                char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
            }
            _ => return None,
        });
    }
    Some(text)
}

/// `value` written as an expression literal.
fn literal(value: &Json) -> String {
    match value {
        Json::Null => "none".into(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => quoted(s),
        Json::Array(items) => format!(
            "[{}]",
            items.iter().map(literal).collect::<Vec<_>>().join(", ")
        ),
        Json::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", quoted(k), literal(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `text` as a single-quoted constant, every character that needs it escaped.
fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_are_found_with_their_escapes_read() {
        let found = string_constants(r#"'a\'b' == "{{ x }}" and y"#);
        assert_eq!(
            found,
            vec![
                Constant {
                    start: 0,
                    end: 6,
                    text: "a'b".into()
                },
                Constant {
                    start: 10,
                    end: 19,
                    text: "{{ x }}".into()
                },
            ]
        );
        assert!(string_constants("'unterminated").is_empty());
        assert!(
            string_constants(r"'\q'").is_empty(),
            "not an escape Jinja takes"
        );
    }

    #[test]
    fn values_become_literals_that_are_only_data() {
        assert_eq!(literal(&Json::from("it's {{ x }}\n")), r"'it\'s {{ x }}\n'");
        assert_eq!(
            literal(&serde_json::json!({"a": [1, true, null, "b\\"]})),
            r"{'a': [1, true, none, 'b\\']}"
        );
        assert_eq!(literal(&Json::from("\u{1}")), r"'\u0001'");
    }
}
