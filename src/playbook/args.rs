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

/// Splits on whitespace outside quotes and Jinja blocks (`{{ ... }}`, `{% ... %}`),
/// keeping each token's quotes as written, as Ansible's `split_args` does: a line
/// break outside them stays at the end of the line's last token, so a multi-line
/// `shell: |` keeps its lines.
pub fn split_args(text: &str) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut jinja_depth = 0usize;
    let chars: Vec<char> = text.trim().chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        i += 1;
        if escaped {
            current.push(c);
            escaped = false;
            continue;
        }
        match (c, next) {
            ('{', Some('{' | '%' | '#')) => {
                jinja_depth += 1;
                current.push(c);
                current.push(chars[i]);
                i += 1;
                continue;
            }
            ('}' | '%' | '#', Some('}')) if jinja_depth > 0 => {
                jinja_depth -= 1;
                current.push(c);
                current.push('}');
                i += 1;
                continue;
            }
            _ => {}
        }
        match (c, quote) {
            ('\\', _) => {
                current.push(c);
                escaped = true;
            }
            ('"' | '\'', None) if jinja_depth == 0 => {
                quote = Some(c);
                current.push(c);
            }
            (c, Some(q)) if c == q => {
                quote = None;
                current.push(c);
            }
            (c, None) if c.is_whitespace() && jinja_depth == 0 => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
                if c == '\n'
                    && let Some(last) = tokens.last_mut()
                {
                    last.push('\n');
                }
            }
            (c, _) => current.push(c),
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    tokens
}

/// Decodes backslash escapes (`\n`, `\t`, `\\`, `\"`, `\xNN`, `\uNNNN`) in a `k=v`
/// token, as Ansible's `parse_kv` does.
fn decode_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some('\'') => out.push('\''),
            Some('"') => out.push('"'),
            Some(kind @ ('x' | 'u')) => {
                let width = if kind == 'x' { 2 } else { 4 };
                let digits: String = (0..width).filter_map(|_| chars.next()).collect();
                match u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                {
                    Some(decoded) => out.push(decoded),
                    None => {
                        out.push('\\');
                        out.push(kind);
                        out.push_str(&digits);
                    }
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
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

    #[test]
    fn free_form_keeps_line_breaks() {
        let args = parse_kv(
            "echo a\n  echo 'b\n c' > /tmp/x\n\nexit 0\n",
            Some(&["chdir"]),
        );
        assert_eq!(
            args["_raw_params"],
            json!("echo a\necho 'b\n c' > /tmp/x\n\nexit 0")
        );
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
    fn non_pairs_become_raw_params_and_template_keys_stay_keys() {
        let args = parse_kv("src=a {{ extra }}", None);
        assert_eq!(args["src"], json!("a"));
        assert_eq!(args["_raw_params"], json!("{{ extra }}"));
        let args = parse_kv("{{ item }}=moo =x a\\=b", None);
        assert_eq!(args["{{ item }}"], json!("moo"));
        assert_eq!(args["_raw_params"], json!("=x a=b"));
    }
}
