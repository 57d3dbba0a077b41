//! Paths as Ansible's `path` options take them on the target: `$VAR` and `${VAR}`
//! from the target's environment (Python's `os.path.expandvars`), then a leading `~`
//! or `~user` (`os.path.expanduser`, the become user's home under become).

use std::collections::HashMap;

use crate::connection::{Command, ConnectionError};

/// `path` expanded on the target as a `path` option is. Costs a round trip for the
/// variables and one for the home, only when the path holds them.
pub async fn expand_path(ctx: &super::Target<'_>, path: &str) -> Result<String, ConnectionError> {
    let names = var_names(path);
    if names.is_empty() {
        return expand_user(ctx, path).await;
    }
    // `=value` for a set variable, nothing for an unset one; NUL after each.
    let script: Vec<String> = names
        .iter()
        .map(|n| format!("printf '%s\\0' \"${{{n}+=}}${{{n}-}}\""))
        .collect();
    let out = ctx.conn.exec(&Command::new(script.join("; "))).await?;
    let stdout = out.stdout_text();
    let values: HashMap<&str, &str> = names
        .iter()
        .map(String::as_str)
        .zip(stdout.split('\0'))
        .filter_map(|(name, value)| Some((name, value.strip_prefix('=')?)))
        .collect();
    let expanded = expand_vars(path, |name| values.get(name).map(|v| v.to_string()));
    expand_user(ctx, &expanded).await
}

/// `path` with a leading `~` or `~user` expanded on the target.
pub async fn expand_user(ctx: &super::Target<'_>, path: &str) -> Result<String, ConnectionError> {
    let Some(rest) = path.strip_prefix('~') else {
        return Ok(path.to_string());
    };
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    // Ansible's `_remote_expand_user`: a bare `~` under become is the become user's
    // home, whatever `$HOME` the escalation leaves.
    let user = match ctx.conn.become_spec() {
        Some(spec) if user.is_empty() => spec.user.as_str(),
        _ => user,
    };
    let valid_user = user
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !valid_user {
        return Ok(path.to_string());
    }
    let out = ctx
        .conn
        .exec(&Command::new(format!("printf %s ~{user}")))
        .await?;
    let home = out.stdout_text();
    if out.rc != 0 || home.is_empty() {
        return Ok(path.to_string());
    }
    Ok(format!("{home}{tail}"))
}

/// One `$name` or `${name}` in `path` from `from` on: where it starts and ends, and
/// the name (`\w+` in ASCII, or anything up to `}`).
fn next_var(path: &str, from: usize) -> Option<(usize, usize, &str)> {
    let mut at = from;
    while let Some(found) = path[at..].find('$') {
        let start = at + found;
        let rest = &path[start + 1..];
        if let Some(braced) = rest.strip_prefix('{') {
            if let Some(close) = braced.find('}') {
                return Some((start, start + close + 3, &braced[..close]));
            }
        } else {
            let len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if len > 0 {
                return Some((start, start + 1 + len, &rest[..len]));
            }
        }
        at = start + 1;
    }
    None
}

/// The variable names `path` refers to, each once, in order.
fn var_names(path: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut at = 0;
    while let Some((_, end, name)) = next_var(path, at) {
        let usable =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if usable && !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
        at = end;
    }
    names
}

/// Python's `expandvars`: each variable `lookup` knows replaced, the others (and
/// names no shell could hold) left as written.
pub fn expand_vars(path: &str, lookup: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::new();
    let mut at = 0;
    while let Some((start, end, name)) = next_var(path, at) {
        out.push_str(&path[at..start]);
        match lookup(name) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&path[start..end]),
        }
        at = end;
    }
    out.push_str(&path[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_expand_as_python_expandvars_does() {
        let env = |name: &str| match name {
            "HOME" => Some("/root".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        assert_eq!(expand_vars("$HOME/.ssh/k", env), "/root/.ssh/k");
        assert_eq!(expand_vars("${HOME}x/$EMPTY/y", env), "/rootx//y");
        assert_eq!(expand_vars("$NOPE/${NOPE}/$", env), "$NOPE/${NOPE}/$");
        assert_eq!(expand_vars("a$-b${}c${HOME", env), "a$-b${}c${HOME");
        assert_eq!(expand_vars("/plain", env), "/plain");
    }

    #[test]
    fn only_names_a_shell_can_hold_are_asked() {
        assert_eq!(var_names("$HOME/${X_1}/$HOME/${a b}/$"), ["HOME", "X_1"]);
        assert!(var_names("/no/vars").is_empty());
    }
}
