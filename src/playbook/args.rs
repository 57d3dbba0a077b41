//! The `k=v` short form of module arguments (`copy: src=a dest=/b mode=0644`) and the
//! free form of command modules (`command: ls -l chdir=/tmp`), split as Ansible does.

use indexmap::IndexMap;
use serde_json::Value as Json;

/// The actions Ansible parses in free form (`MODULE_REQUIRE_ARGS`): their `k=v` pairs
/// other than [`COMMAND_OPTIONS`] belong to the command line.
pub const FREE_FORM_ACTIONS: &[&str] = &[
    "command",
    "raw",
    "script",
    "shell",
    "win_command",
    "win_shell",
];

/// The options a free-form action takes as `k=v` beside its command line.
pub const COMMAND_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// The argument holding a template given for a task's whole arguments (`args: "{{ d
/// }}"`), rendered to a mapping when the task runs, as Ansible's `_variable_params`.
pub const VARIABLE_PARAMS: &str = "_variable_params";

/// Splits on spaces outside quotes and Jinja blocks (`{{ }}`, `{% %}`, `{# #}`),
/// keeping each token's quotes, as Ansible's `split_args` does, quirks included:
/// runs of spaces and line breaks stay at the end of the token before them (so a
/// multi-line `shell: |` keeps its lines and indentation), and a lone `\` at the
/// end of a line joins it to the next. Unbalanced quotes or blocks keep what was
/// read; [`check_balanced`] refuses them where Ansible does.
pub fn split_args(text: &str) -> Vec<String> {
    split_keeping_state(text).0
}

/// Ansible's error for task arguments whose quotes or Jinja blocks do not close
/// (`shell: echo 'a   # b`, which YAML cuts at the `#`), which it raises when it
/// loads the task: run, such a line would leave the target's shell waiting.
pub fn check_balanced(text: &str) -> Result<(), String> {
    match split_keeping_state(text).1 {
        true => Ok(()),
        false => Err(format!(
            "failed at splitting arguments, either an unbalanced jinja2 block or quotes: {text}"
        )),
    }
}

/// [`split_args`]' tokens, and whether every quote and block was closed.
fn split_keeping_state(text: &str) -> (Vec<String>, bool) {
    let mut params: Vec<String> = Vec::new();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut quote: Option<char> = None;
    let mut depths = [0usize; 3];
    for (line_index, line) in lines.iter().enumerate() {
        let mut continued = false;
        for (index, token) in line.split(' ').enumerate() {
            if token.is_empty() && index != 0 {
                last_param(&mut params).push(' ');
                continue;
            }
            if token == "\\" && quote.is_none() {
                continued = true;
                continue;
            }
            let was_quoted = quote.is_some();
            quote = quote_state(token, quote);
            let in_jinja = depths.iter().any(|&d| d > 0);
            let mut appended = true;
            if quote.is_some() && !was_quoted && !in_jinja {
                params.push(token.to_string());
            } else if in_jinja || quote.is_some() || was_quoted {
                let last = last_param(&mut params);
                if index > 0 {
                    last.push(' ');
                }
                last.push_str(token);
            } else {
                appended = false;
            }
            for (depth, (open, close)) in depths.iter_mut().zip(JINJA_DELIMITERS) {
                let before = *depth;
                let (opened, closed) = (token.matches(open).count(), token.matches(close).count());
                *depth = (*depth + opened).saturating_sub(closed);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            if depths.iter().all(|&d| d == 0) && quote.is_none() && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_index != lines.len() - 1 && !continued {
            last_param(&mut params).push('\n');
        }
    }
    let balanced = quote.is_none() && depths.iter().all(|&d| d == 0);
    (params, balanced)
}

/// The Jinja block delimiters `split_args` keeps whole.
const JINJA_DELIMITERS: [(&str, &str); 3] = [("{{", "}}"), ("{%", "%}"), ("{#", "#}")];

/// The last token, made if there is none yet.
fn last_param(params: &mut Vec<String>) -> &mut String {
    if params.is_empty() {
        params.push(String::new());
    }
    let last = params.len() - 1;
    &mut params[last]
}

/// The quote still open after `token`, given the one open before it: an unescaped
/// quote character opens one, the same character closes it.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut previous = None;
    for c in token.chars() {
        if matches!(c, '"' | '\'') && previous != Some('\\') {
            match quote {
                Some(open) if open == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        previous = Some(c);
    }
    quote
}

/// Decodes backslash escapes in a `k=v` token as Ansible's `parse_kv` does: the
/// single-character ones (`\\ \' \" \a \b \f \n \r \t \v`) and `\xNN`,
/// `\uNNNN`, `\UNNNNNNNN`; anything else (`\N{name}` included) stays as written.
fn decode_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = &rest[at + 1..];
        let (decoded, used) = match escape.chars().next() {
            Some('a') => (Some('\u{7}'), 1),
            Some('b') => (Some('\u{8}'), 1),
            Some('f') => (Some('\u{c}'), 1),
            Some('n') => (Some('\n'), 1),
            Some('r') => (Some('\r'), 1),
            Some('t') => (Some('\t'), 1),
            Some('v') => (Some('\u{b}'), 1),
            Some(c @ ('\\' | '\'' | '"')) => (Some(c), 1),
            Some('x') => (hex_char(&escape[1..], 2), 3),
            Some('u') => (hex_char(&escape[1..], 4), 5),
            Some('U') => (hex_char(&escape[1..], 8), 9),
            _ => (None, 0),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &escape[used..];
            }
            None => {
                out.push('\\');
                rest = escape;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character named by the first `width` hex digits of `text`, if they are all
/// hex digits and name one.
fn hex_char(text: &str, width: usize) -> Option<char> {
    let digits = text.get(..width)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(digits, 16).ok()?)
}

/// Removes one level of matching quotes around a value.
pub fn unquote(text: &str) -> String {
    let bytes = text.as_bytes();
    if bytes.len() >= 2
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 1] == bytes[0]
    {
        text[1..text.len() - 1].to_string()
    } else {
        text.to_string()
    }
}

/// Parses `k=v` pairs as Ansible's `parse_kv` does: the key is everything before the
/// first unescaped `=` (a template such as `{{ item }}=x` included). With `raw_keys`
/// (free-form modules), a pair whose key is not in `raw_keys` is part of the command
/// line. Tokens that are not pairs are joined back (quotes kept) into `_raw_params`,
/// which the module then takes or refuses when it runs.
pub fn parse_kv(text: &str, raw_keys: Option<&[&str]>) -> IndexMap<String, Json> {
    let mut args = IndexMap::new();
    let mut raw = Vec::new();
    for token in split_args(text) {
        let decoded = decode_escapes(&token);
        match split_pair(&decoded) {
            Some((key, value)) if raw_keys.is_none_or(|keys| keys.contains(&key.trim())) => {
                args.insert(key.trim().to_string(), Json::String(unquote(value.trim())));
            }
            None if decoded.contains('=') => raw.push(decoded.replace("\\=", "=")),
            _ => raw.push(token),
        }
    }
    if !raw.is_empty() {
        args.insert("_raw_params".into(), Json::String(join_args(&raw)));
    }
    args
}

/// A token split at its first `=` that is neither its first character nor escaped.
fn split_pair(token: &str) -> Option<(&str, &str)> {
    let bytes = token.as_bytes();
    (1..bytes.len())
        .find(|&i| bytes[i] == b'=' && bytes[i - 1] != b'\\')
        .map(|i| (&token[..i], &token[i + 1..]))
}

/// Joins tokens from [`split_args`] back into a command line: a space between tokens,
/// none after a line break, as Ansible's `join_args` does.
fn join_args(tokens: &[String]) -> String {
    let mut line = String::new();
    for token in tokens {
        if !line.is_empty() && !line.ends_with('\n') {
            line.push(' ');
        }
        line.push_str(token);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Inputs and what Ansible 2.19's `split_args` returns for them.
    const SPLIT_BY_ANSIBLE: &[(&str, &[&str])] = &[
        (
            "echo a\n  echo 'b\n c' > /tmp/x\n\nexit 0\n",
            &[
                "echo",
                "a\n ",
                "echo",
                "'b\n c'",
                ">",
                "/tmp/x\n\n",
                "exit",
                "0\n",
            ],
        ),
        (
            "echo a \\\n\"m e\" \\\n| py -c 'x'\necho \"2nd\"\n",
            &[
                "echo",
                "a",
                "\"m e\"",
                "|",
                "py",
                "-c",
                "'x'\n",
                "echo",
                "\"2nd\"\n",
            ],
        ),
        ("src=a.conf\ndest=/b\n", &["src=a.conf\n", "dest=/b\n"]),
        ("a  b   c", &["a ", "b  ", "c"]),
        (
            "msg={{ a | default('x y') }} b='c d'",
            &["msg={{ a | default('x y') }}", "b='c d'"],
        ),
        ("{% if x %}y{% endif %} z", &["{% if x %}y{% endif %}", "z"]),
        ("  leading", &[" ", "leading"]),
        ("x=\"it's\" y", &["x=\"it's\"", "y"]),
    ];

    #[test]
    fn unbalanced_quotes_and_blocks_are_refused() {
        assert!(check_balanced("echo 'a b' \"c\" {{ x }}").is_ok());
        for text in ["echo 'a", "echo \"a", "echo {{ x", "echo {% if %}{{ x }"] {
            let error = check_balanced(text).expect_err(text);
            assert!(
                error.starts_with("failed at splitting arguments"),
                "{error}"
            );
        }
    }

    #[test]
    fn splits_as_ansible_splits() {
        for (input, expected) in SPLIT_BY_ANSIBLE {
            assert_eq!(split_args(input), *expected, "{input:?}");
        }
    }

    #[test]
    fn free_form_keeps_line_breaks_and_spaces() {
        let text = "echo a\n  echo 'b\n c' > /tmp/x\n\nexit 0\n";
        let args = parse_kv(text, Some(&["chdir"]));
        assert_eq!(args["_raw_params"], json!(text));
        let args = parse_kv("src=a.conf\ndest=/etc/b.conf\n", None);
        assert_eq!(args["src"], json!("a.conf"));
        assert_eq!(args["dest"], json!("/etc/b.conf"));
    }

    #[test]
    fn key_value_form() {
        let args = parse_kv("src=a.conf dest='/etc/my app.conf' mode=0644", None);
        assert_eq!(args["src"], json!("a.conf"));
        assert_eq!(args["dest"], json!("/etc/my app.conf"));
        assert_eq!(args["mode"], json!("0644"));
    }

    #[test]
    fn free_form_keeps_quotes_and_extracts_options() {
        let args = parse_kv(
            r#"echo "a  b" 'c' > /tmp/x chdir=/tmp creates=/tmp/x"#,
            Some(&["chdir", "creates"]),
        );
        assert_eq!(args["_raw_params"], json!(r#"echo "a  b" 'c' > /tmp/x"#));
        assert_eq!(args["chdir"], json!("/tmp"));
        assert_eq!(args["creates"], json!("/tmp/x"));
    }

    #[test]
    fn jinja_blocks_stay_whole_and_escapes_decode() {
        let args = parse_kv(
            r#"dest={{ base }}/x content="a\nb" msg={{ a | default('x y') }}"#,
            None,
        );
        assert_eq!(args["dest"], json!("{{ base }}/x"));
        assert_eq!(args["content"], json!("a\nb"));
        assert_eq!(args["msg"], json!("{{ a | default('x y') }}"));
    }

    #[test]
    fn escapes_decode_as_pythons_unicode_escape() {
        assert_eq!(decode_escapes(r"\b(.+)\b"), "\u{8}(.+)\u{8}");
        assert_eq!(
            decode_escapes(r"\\b \x41\u00e9\U0001F600"),
            "\\b A\u{e9}\u{1F600}"
        );
        assert_eq!(decode_escapes(r"\d \xZZ \N{DASH} \"), r"\d \xZZ \N{DASH} \");
        assert_eq!(decode_escapes("\\a\\f\\v"), "\u{7}\u{c}\u{b}");
    }

    #[test]
    fn non_pairs_become_raw_params_and_template_keys_stay_keys() {
        let args = parse_kv("src=a {{ extra }}", None);
        assert_eq!(args["src"], json!("a"));
        assert_eq!(args["_raw_params"], json!("{{ extra }}"));
        let args = parse_kv("{{ item }}=moo =x a\\=b", None);
        assert_eq!(args["{{ item }}"], json!("moo"));
        assert_eq!(args["_raw_params"], json!("=x a=b"));
    }
}
