//! A guard in front of minijinja's parser. It recurses once per level of an
//! expression (`1 - - - 1`, `not not x`, `a if b else c if d else ...`) and its
//! compiler once per operator of a chain (`1 + 1 + ...`), so a long enough expression
//! overflows the stack and aborts the process. Texts are measured first, with a small
//! lexer of their own, and refused past [`MAX_NESTING`].

use super::engine::{Delimiters, TemplateError};

/// How deeply an expression may nest: open brackets plus the operators since the last
/// comma at each of them. Ansible's Jinja fails near 200 ("too many nested parentheses").
pub const MAX_NESTING: usize = 256;

/// Keywords that build a level of an expression as operators do.
const KEYWORD_OPERATORS: [&str; 7] = ["and", "or", "not", "if", "else", "is", "in"];

/// Two-character operators, counted once.
const PAIRED_OPERATORS: [&str; 6] = ["==", "!=", "<=", ">=", "**", "//"];

/// Checks every `{{ ... }}` and `{% ... %}` of a template text.
pub fn check_template(text: &str) -> Result<(), TemplateError> {
    check_template_with(text, &Delimiters::default())
}

/// Checks every variable and block tag of a template text written with `delimiters`
/// (a template's `variable_start_string` ...).
pub fn check_template_with(text: &str, delimiters: &Delimiters) -> Result<(), TemplateError> {
    let (block, variable, comment) = (&delimiters.block, &delimiters.variable, &delimiters.comment);
    let opens = [&comment.0, &variable.0, &block.0];
    // Where each opening delimiter next occurs (absolute), searched again only once
    // passed: a delimiter the text lacks is searched for once, not once per tag.
    let search = |from: usize, open: &str| match open.is_empty() {
        true => None,
        false => text[from..].find(open).map(|at| from + at),
    };
    let mut found = opens.map(|open| search(0, open));
    let mut rest = text;
    loop {
        let pos = text.len() - rest.len();
        for (kind, open) in opens.iter().enumerate() {
            if found[kind].is_some_and(|at| at < pos) {
                found[kind] = search(pos, open);
            }
        }
        let next = opens
            .into_iter()
            .enumerate()
            .filter_map(|(kind, open)| found[kind].map(|at| (at - pos, kind, open)))
            .min_by_key(|(at, kind, open)| (*at, usize::MAX - open.len(), *kind));
        let Some((at, kind, open)) = next else {
            return Ok(());
        };
        let inside = &rest[at + open.len()..];
        rest = match kind {
            0 => inside
                .find(comment.1.as_str())
                .map_or("", |end| &inside[end + comment.1.len()..]),
            1 => after_code(text, inside, &variable.1)?,
            _ => {
                let after = after_code(text, inside, &block.1)?;
                let code = &inside[..inside.len() - after.len()];
                if is_raw_tag(code.strip_suffix(block.1.as_str()).unwrap_or(code)) {
                    skip_raw(after, &block.1)
                } else {
                    after
                }
            }
        };
    }
}

/// Checks a bare expression (`when:`, `changed_when:`, `var=`).
pub fn check_expression(expression: &str) -> Result<(), TemplateError> {
    after_code(expression, expression, "").map(|_| ())
}

/// Measures the code at the start of `code` up to `end` (outside brackets and strings)
/// and returns the text after `end`; `end` empty means the whole text is code.
fn after_code<'t>(source: &str, code: &'t str, end: &str) -> Result<&'t str, TemplateError> {
    let mut depth = Depth::default();
    let mut at = 0;
    while at < code.len() {
        let rest = &code[at..];
        if depth.open.is_empty() {
            if end.is_empty() && closes_variable(rest) {
                return Err(stray_variable_end(source));
            }
            if !end.is_empty() && rest.starts_with(end) {
                return Ok(&rest[end.len()..]);
            }
        }
        let Some(c) = rest.chars().next() else { break };
        let mut step = c.len_utf8();
        match c {
            '\'' | '"' => step = string_len(rest, c),
            '(' | '[' | '{' => depth.open_bracket(source)?,
            ')' | ']' | '}' => depth.close_bracket(),
            ',' | ':' => depth.next_item(),
            c if c.is_alphanumeric() || c == '_' => {
                step = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                if KEYWORD_OPERATORS.contains(&&rest[..step]) {
                    depth.operator(source)?;
                }
            }
            c if "+-*/%~|.<>=!".contains(c) => {
                if PAIRED_OPERATORS.iter().any(|pair| rest.starts_with(pair)) {
                    step = 2;
                }
                depth.operator(source)?;
            }
            _ => {}
        }
        at += step;
    }
    Ok("")
}

/// How deep the expression being read is: each open bracket is a level, and so is
/// each operator since the last comma of its bracket (chains nest in the parse tree).
#[derive(Default)]
struct Depth {
    /// The operators counted inside each open bracket, innermost last.
    open: Vec<usize>,
    /// The operators counted outside any bracket.
    outside: usize,
    /// Open brackets plus every count: the current depth.
    total: usize,
}

impl Depth {
    /// An opening bracket: one level more.
    fn open_bracket(&mut self, source: &str) -> Result<(), TemplateError> {
        self.open.push(0);
        self.grow(source)
    }

    /// A closing bracket: its level and its operators are done.
    fn close_bracket(&mut self) {
        if let Some(count) = self.open.pop() {
            self.total -= count + 1;
        }
    }

    /// A comma or colon: the next item of the bracket starts a new chain.
    fn next_item(&mut self) {
        let count = self.open.last_mut().unwrap_or(&mut self.outside);
        self.total -= *count;
        *count = 0;
    }

    /// One operator in the current chain.
    fn operator(&mut self, source: &str) -> Result<(), TemplateError> {
        *self.open.last_mut().unwrap_or(&mut self.outside) += 1;
        self.grow(source)
    }

    /// One level more; errs past [`MAX_NESTING`].
    fn grow(&mut self, source: &str) -> Result<(), TemplateError> {
        self.total += 1;
        if self.total > MAX_NESTING {
            return Err(too_deep(source));
        }
        Ok(())
    }
}

/// Whether `code` starts with the end of a `{{ ... }}`: minijinja's lexer ends an
/// expression there and then panics ("empty lexer stack") on whatever follows.
fn closes_variable(code: &str) -> bool {
    let sign = usize::from(code.starts_with(['-', '+']));
    code[sign..].starts_with("}}")
}

/// The error for a `}}` in a bare expression (`when: "{{ a }} and {{ b }}"`).
fn stray_variable_end(source: &str) -> TemplateError {
    TemplateError::new(format!(
        "template error while templating '{}': unexpected '}}}}': a condition is one \
         expression, without '{{{{ }}}}' around its parts",
        quoted_start(source)
    ))
}

/// The first 60 characters of `source`, with an ellipsis if there is more.
fn quoted_start(source: &str) -> String {
    let start: String = source.chars().take(60).collect();
    let ellipsis = if start.len() < source.len() {
        "..."
    } else {
        ""
    };
    format!("{start}{ellipsis}")
}

/// The error for an expression nested past [`MAX_NESTING`], quoting its start.
fn too_deep(source: &str) -> TemplateError {
    TemplateError::new(format!(
        "template error while templating '{}': the expression nests more than \
         {MAX_NESTING} levels of operators and brackets",
        quoted_start(source)
    ))
}

/// The length in bytes of the string literal at the start of `text` (quoted by
/// `quote`, backslash escapes allowed), or of the rest of `text` if it is not closed.
pub(super) fn string_len(text: &str, quote: char) -> usize {
    let mut escaped = false;
    for (at, c) in text.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == quote => return at + 1,
            _ => {}
        }
    }
    text.len()
}

/// Whether the code of a `{% ... %}` tag (with its closing `%}`) is `raw`.
pub(super) fn is_raw_tag(inner: &str) -> bool {
    inner.trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace()) == "raw"
}

/// The text after the `{% endraw %}` (closed by `block_end`) that closes a raw block.
pub(super) fn skip_raw<'t>(text: &'t str, block_end: &str) -> &'t str {
    let Some(at) = text.find("endraw") else {
        return "";
    };
    let after = &text[at..];
    after
        .find(block_end)
        .map_or("", |end| &after[end + block_end.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom() -> Delimiters {
        let pair = |open: &str, close: &str| (open.to_string(), close.to_string());
        Delimiters {
            block: pair("[%", "%]"),
            variable: pair("[[", "]]"),
            comment: pair("[#", "#]"),
        }
    }

    #[test]
    fn custom_delimiters_are_measured_too() {
        let deep = format!("[[ {}1{} ]]", "(".repeat(300), ")".repeat(300));
        assert!(check_template_with(&deep, &custom()).is_err());
        let deep_block = format!("[% if {}1 %]x[% endif %]", "not ".repeat(300));
        assert!(check_template_with(&deep_block, &custom()).is_err());
        let fine = "[# {{ ((( #] [[ a + b ]] [% raw %][[ ((( [% endraw %] {{ x }}";
        assert!(check_template_with(fine, &custom()).is_ok());
        assert!(check_template_with(&deep.replace("[[", "{{"), &custom()).is_ok());
    }

    #[test]
    fn ordinary_templates_pass() {
        for text in [
            "plain text with ((( and - - - outside tags",
            "{{ a | default('x') }} {% if b and not c %}{{ d.e[0] }}{% endif %}",
            "{{ {'a': {'b': 1}} }} and {{ '}}' }} then {{ x }}",
            "{# {{ 1 - - - - 1 }} #}{% raw %}{{ ((((( }}{% endraw %}",
            "{{ \"it's\" ~ 'a \\' b' }}",
        ] {
            assert!(check_template(text).is_ok(), "{text}");
        }
        let many = vec!["x == 1"; 100].join(" and ");
        assert!(check_expression(&many).is_ok());
        let list = format!("[{}]", vec!["1 + 2"; 5000].join(", "));
        assert!(check_expression(&list).is_ok());
    }

    #[test]
    fn deep_expressions_are_refused() {
        let cases = [
            format!("1 {}1", "- ".repeat(10_000)),
            format!("{}true", "not ".repeat(10_000)),
            vec!["1"; 10_000].join(" + "),
            format!("{}1{}", "(".repeat(300), ")".repeat(300)),
            format!("{}1{}", "[".repeat(300), "]".repeat(300)),
            format!("x{}", " if y else x".repeat(300)),
        ];
        for case in &cases {
            let err = check_expression(case).expect_err("too deep");
            assert!(err.message.contains("more than 256 levels"), "{err}");
            assert!(err.message.len() < 200, "{err}");
            let template = format!("text {{{{ {case} }}}} more");
            assert!(check_template(&template).is_err());
            let statement = format!("{{% if {case} %}}x{{% endif %}}");
            assert!(check_template(&statement).is_err());
        }
    }

    #[test]
    fn a_stray_variable_end_in_an_expression_is_refused() {
        for expression in ["a }} b", "a | d(1) }} {% if b %}", "a -}} b", "a +}}"] {
            let err = check_expression(expression).expect_err(expression);
            assert!(err.message.contains("unexpected '}}'"), "{err}");
        }
        for expression in ["{'a': {'b': 1}}", "'}}'", "x --1", "{{ a }} and {{ b }}"] {
            assert!(check_expression(expression).is_ok(), "{expression}");
        }
    }

    #[test]
    fn unclosed_tags_and_strings_end_the_scan() {
        for text in ["{{ 'abc", "{% raw %}{{", "{#", "{{ (((", "{", "}}}}"] {
            assert!(check_template(text).is_ok(), "{text}");
        }
    }
}
