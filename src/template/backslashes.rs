//! Ansible's `escape_backslashes`: in a template written in YAML (task arguments,
//! variables), the backslashes of a string constant inside `{{ }}` are doubled before
//! Jinja reads it, so `regex_replace('(a)', '\1')` keeps its `\1` instead of Jinja
//! turning it into the character 0x01. Statements (`{% %}`), comments, raw blocks and
//! the text around expressions are left alone, and so are conditionals and template
//! files, which Ansible renders without it.

use std::borrow::Cow;

/// `text` with the backslashes of the string constants in its `{{ }}` expressions
/// doubled (unchanged, and not copied, when it has no backslash).
pub fn escaped(text: &str) -> Cow<'_, str> {
    if !text.contains('\\') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    while let Some(start) = rest.find(['{']) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        if let Some(body) = from.strip_prefix("{{") {
            out.push_str("{{");
            let (expression, after) = split_at_end(body, "}}");
            out.push_str(&in_expression(expression));
            rest = after;
        } else if from.starts_with("{%") && is_raw_start(from) {
            let end = raw_end(from);
            out.push_str(&from[..end]);
            rest = &from[end..];
        } else if from.starts_with("{%") {
            let (inside, after) = split_at_end(&from[2..], "%}");
            out.push_str(&from[..2]);
            out.push_str(inside);
            rest = after;
        } else if from.starts_with("{#") {
            // A comment is text: a quote in it opens no string.
            let end = from.find("#}").map_or(from.len(), |at| at + 2);
            out.push_str(&from[..end]);
            rest = &from[end..];
        } else {
            out.push('{');
            rest = &from[1..];
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A bare expression (the inside of `{{ }}`) with its string constants' backslashes
/// doubled.
pub fn in_expression(expression: &str) -> Cow<'_, str> {
    if !expression.contains('\\') {
        return Cow::Borrowed(expression);
    }
    let mut out = String::with_capacity(expression.len() + 8);
    let mut chars = expression.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c != '\'' && c != '"' {
            continue;
        }
        // A string constant, as Jinja's lexer reads one: a backslash escapes the next
        // character, the same quote ends it.
        while let Some(inner) = chars.next() {
            match inner {
                // Each backslash doubled; an escaped quote stays escaped, so the
                // constant ends where Jinja's lexer ended it.
                '\\' => {
                    out.push_str("\\\\");
                    match chars.next() {
                        Some('\\') => out.push_str("\\\\"),
                        Some(next) if next == c => {
                            out.push('\\');
                            out.push(next);
                        }
                        Some(next) => out.push(next),
                        None => {}
                    }
                }
                quote if quote == c => {
                    out.push(quote);
                    break;
                }
                other => out.push(other),
            }
        }
    }
    Cow::Owned(out)
}

/// The text up to the first `end` outside a string constant, and what follows `end`
/// (all of it, and nothing after, when `end` never comes).
fn split_at_end<'t>(text: &'t str, end: &str) -> (&'t str, &'t str) {
    let bytes = text.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(_), b'\\') => i += 1,
            (Some(q), b) if b == q => quote = None,
            (None, b'\'' | b'"') => quote = Some(bytes[i]),
            (None, _) if bytes[i..].starts_with(end.as_bytes()) => {
                return (&text[..i], &text[i..]);
            }
            _ => {}
        }
        i += 1;
    }
    (text, "")
}

/// Whether `text` starts with `{% raw %}` (whitespace control allowed).
fn is_raw_start(text: &str) -> bool {
    let inner = text[2..].trim_start_matches(['-', '+']).trim_start();
    inner.starts_with("raw")
        && inner[3..]
            .trim_start()
            .trim_start_matches(['-', '+'])
            .starts_with("%}")
}

/// Where the raw block at the start of `text` ends: after its `{% endraw %}`, or the
/// end of the text.
fn raw_end(text: &str) -> usize {
    let mut from = 2;
    while let Some(at) = text[from..].find("{%") {
        let start = from + at;
        let inner = text[start + 2..]
            .trim_start_matches(['-', '+'])
            .trim_start();
        if let Some(after) = inner.strip_prefix("endraw")
            && let Some(close) = after.find("%}")
        {
            return text.len() - after.len() + close + 2;
        }
        from = start + 2;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_constants_in_expressions_keep_their_backslashes() {
        assert_eq!(
            escaped(r"{{ 'goodbye' | regex_search('(good)(bye)', '\2', '\1') }}"),
            r"{{ 'goodbye' | regex_search('(good)(bye)', '\\2', '\\1') }}"
        );
        assert_eq!(
            escaped(r#"a\b {{ "x\ny" }} c\d"#),
            r#"a\b {{ "x\\ny" }} c\d"#
        );
        assert_eq!(escaped(r"{{ 'it\'s' }}"), r"{{ 'it\\\'s' }}");
        assert_eq!(escaped(r"{{ '\\' }}"), r"{{ '\\\\' }}");
        assert_eq!(in_expression(r"x | join('\n')"), r"x | join('\\n')");
    }

    #[test]
    fn statements_comments_and_raw_blocks_are_left_alone() {
        assert_eq!(
            escaped("{{ 'é\\1' }} é {% é %}"),
            "{{ 'é\\\\1' }} é {% é %}"
        );
        for text in [
            r"{% set x = '\1' %}{{ x }}",
            r"{# '\1' #}",
            r"{% raw %}{{ '\1' }}{% endraw %}",
            r"no template \1",
        ] {
            assert_eq!(escaped(text), text);
        }
        assert_eq!(escaped(r"{# don't #}{{ '\1' }}"), r"{# don't #}{{ '\\1' }}");
        assert_eq!(
            escaped(r"{% raw %}'\1'{% endraw %}{{ '\1' }}"),
            r"{% raw %}'\1'{% endraw %}{{ '\\1' }}"
        );
    }
}
