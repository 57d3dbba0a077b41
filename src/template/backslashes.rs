//! Ansible's `escape_backslashes`: in a template written in YAML (task arguments,
//! variables), the backslashes of a string constant inside `{{ }}` are doubled before
//! Jinja reads it, so `regex_replace('(a)', '\1')` keeps its `\1` instead of Jinja
//! turning it into the character 0x01. Statements (`{% %}`), comments, raw blocks and
//! the text around expressions are left alone, and so are conditionals and template
//! files, which Ansible renders without it.

use std::borrow::Cow;

use super::nesting::{is_raw_tag, skip_raw, string_len};

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
        } else if let Some(tag) = from.strip_prefix("{%") {
            let (code, after) = split_at_end(tag, "%}");
            let after = after.get(2..).unwrap_or_default();
            let end = match is_raw_tag(code) {
                true => skip_raw(after, "%}"),
                false => after,
            };
            out.push_str(&from[..from.len() - end.len()]);
            rest = end;
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

/// The text up to the first `end` outside a string constant, and what follows from
/// `end` on (all of it, and nothing after, when `end` never comes).
fn split_at_end<'t>(code: &'t str, end: &str) -> (&'t str, &'t str) {
    let mut at = 0;
    while let Some(c) = code[at..].chars().next() {
        if code[at..].starts_with(end) {
            return (&code[..at], &code[at..]);
        }
        at += match c {
            '\'' | '"' => string_len(&code[at..], c),
            _ => c.len_utf8(),
        };
    }
    (code, "")
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
