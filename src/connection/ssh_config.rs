//! The parts of `~/.ssh/config` bosun honours: `HostName`, `Port`, `User`,
//! `IdentityFile`, `ProxyJump` and `Include`, matched by `Host` patterns with
//! OpenSSH's first-value-wins rule.

use std::path::{Path, PathBuf};

/// Settings found for one host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostConfig {
    /// `HostName`: the real address.
    pub hostname: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// `User`.
    pub user: Option<String>,
    /// `IdentityFile` entries, in order.
    pub identity_files: Vec<PathBuf>,
    /// `ProxyJump`.
    pub proxy_jump: Option<String>,
}

/// Reads `path` (following `Include`) and returns the settings that apply to `host`.
pub fn lookup(path: &Path, host: &str, home: &Path) -> HostConfig {
    let mut config = HostConfig::default();
    let mut identity_seen = false;
    read(path, host, home, &mut config, &mut identity_seen, 0);
    config
}

fn read(
    path: &Path,
    host: &str,
    home: &Path,
    config: &mut HostConfig,
    identity_seen: &mut bool,
    depth: usize,
) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let mut active = true;
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = match line.split_once(|c: char| c.is_whitespace() || c == '=') {
            Some((k, v)) => (
                k.to_ascii_lowercase(),
                v.trim_start_matches(|c: char| c.is_whitespace() || c == '=')
                    .trim(),
            ),
            None => continue,
        };
        let value = value.trim_matches('"');
        match key.as_str() {
            "host" => active = host_matches(value, host),
            "match" => active = value.eq_ignore_ascii_case("all"),
            "include" if depth < 8 => {
                for pattern in value.split_whitespace() {
                    let expanded = expand(pattern, home);
                    let full = if expanded.is_absolute() {
                        expanded
                    } else {
                        home.join(".ssh").join(expanded)
                    };
                    for file in glob_files(&full) {
                        read(&file, host, home, config, identity_seen, depth + 1);
                    }
                }
            }
            _ if !active => {}
            "hostname" if config.hostname.is_none() => {
                config.hostname = Some(value.replace("%h", host))
            }
            "port" if config.port.is_none() => config.port = value.parse().ok(),
            "user" if config.user.is_none() => config.user = Some(value.to_string()),
            "identityfile" => {
                config.identity_files.push(expand(value, home));
                *identity_seen = true;
            }
            "proxyjump" if config.proxy_jump.is_none() => {
                config.proxy_jump = Some(value.to_string())
            }
            _ => {}
        }
    }
}

/// Whether a `Host` line's patterns (with `*`, `?` and `!negation`) match `host`.
fn host_matches(patterns: &str, host: &str) -> bool {
    let mut matched = false;
    for pattern in patterns.split_whitespace() {
        if let Some(negated) = pattern.strip_prefix('!') {
            if crate::glob::matches(negated, host) {
                return false;
            }
        } else if crate::glob::matches(pattern, host) {
            matched = true;
        }
    }
    matched
}

/// `~` and `%d` to the home directory.
fn expand(path: &str, home: &Path) -> PathBuf {
    if let Some(rest) = path.strip_prefix("~/") {
        return home.join(rest);
    }
    PathBuf::from(path.replace("%d", &home.display().to_string()))
}

/// Files matching a path whose last component may hold wildcards.
fn glob_files(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !name.contains(['*', '?', '[']) {
        return vec![pattern.to_path_buf()];
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| crate::glob::matches(&name, &e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_wins_and_patterns_match() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ssh = dir.path().join(".ssh");
        std::fs::create_dir_all(ssh.join("conf.d")).expect("mkdir");
        std::fs::write(
            ssh.join("config"),
            "Include conf.d/*\nHost web* !web9\n  HostName 10.0.0.5\n  Port 2222\n  IdentityFile ~/.ssh/web_key\nHost *\n  User deploy\n  Port 22\n",
        )
        .expect("write");
        std::fs::write(ssh.join("conf.d/extra"), "Host web1\n  User alice\n").expect("write");
        let config = lookup(&ssh.join("config"), "web1", dir.path());
        assert_eq!(config.hostname.as_deref(), Some("10.0.0.5"));
        assert_eq!(config.port, Some(2222));
        assert_eq!(
            config.user.as_deref(),
            Some("alice"),
            "Include comes first, so it wins"
        );
        assert_eq!(config.identity_files, vec![dir.path().join(".ssh/web_key")]);
        let other = lookup(&ssh.join("config"), "web9", dir.path());
        assert_eq!(other.hostname, None, "negated pattern");
        assert_eq!(other.user.as_deref(), Some("deploy"));
    }
}
