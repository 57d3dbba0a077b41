//! Choosing and opening a host's connection from its variables (`ansible_connection`,
//! `ansible_host`, `ansible_port`, `ansible_user`, keys ...), `~/.ssh/config` and the
//! command line, with Ansible's precedence: inventory variables win.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use super::RunOptions;
use crate::connection::{
    Connection, HostKeyPolicy, Keepalive, LocalConnection, SshConnection, SshTarget, ssh_config,
};
use crate::playbook::ConnectKeywords;
use crate::template::Vars;

/// `ansible_port` as a port number; anything else is refused as Ansible refuses it,
/// rather than quietly trying port 22.
fn parse_port(text: &str) -> Result<u16, String> {
    text.trim().parse().map_err(|_| {
        format!(
            "Error processing keyword 'port': The value '{text}' could not be converted to 'int'."
        )
    })
}

/// One of a host's variables as text, the first of `keys` that is set and not empty.
fn var_text(vars: &Arc<Vars>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|key| match vars.resolved(key).ok().flatten()? {
            Json::String(s) if !s.is_empty() => Some(s),
            Json::Number(n) => Some(n.to_string()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        })
}

/// The connection type for a host: its `ansible_connection`, then the `connection:`
/// keyword, then `-c`, then `ssh`.
pub fn kind(vars: &Arc<Vars>, keywords: &ConnectKeywords, options: &RunOptions) -> String {
    var_text(vars, &["ansible_connection"])
        .or_else(|| keywords.connection.clone())
        .or_else(|| options.connection.clone())
        .unwrap_or_else(|| "ssh".into())
}

/// The connection `vars` (one host's variables) and the task's connection `keywords`
/// ask for: variables win over keywords, keywords over the command line and config.
pub fn open(
    name: &str,
    vars: &Arc<Vars>,
    options: &RunOptions,
    keywords: &ConnectKeywords,
) -> Result<Arc<dyn Connection>, String> {
    let text = |keys: &[&str]| var_text(vars, keys);
    match kind(vars, keywords, options).as_str() {
        "local" => Ok(Arc::new(LocalConnection)),
        "ssh" | "paramiko" | "smart" | "openssh" => {
            let home = home();
            let alias =
                text(&["ansible_host", "ansible_ssh_host"]).unwrap_or_else(|| name.to_string());
            let config = ssh_config::lookup(&home.join(".ssh/config"), &alias, &home);
            let host = if text(&["ansible_host", "ansible_ssh_host"]).is_some() {
                alias.clone()
            } else {
                config.hostname.clone().unwrap_or(alias.clone())
            };
            let port = match text(&["ansible_port", "ansible_ssh_port"]) {
                Some(port) => parse_port(&port)?,
                None => keywords
                    .port
                    .or(options.remote_port)
                    .or(config.port)
                    .unwrap_or(22),
            };
            let user = text(&["ansible_user", "ansible_ssh_user"])
                .or_else(|| keywords.remote_user.clone())
                .or_else(|| options.remote_user.clone())
                .or(config.user.clone())
                .or_else(|| std::env::var("USER").ok())
                .unwrap_or_else(|| "root".into());
            let explicit = text(&["ansible_ssh_private_key_file", "ansible_private_key_file"])
                .or_else(|| options.private_key_file.clone());
            let (key_files, explicit_key) = match explicit {
                Some(path) => (vec![expand_home(&path, &home)], true),
                None => {
                    let mut keys = config.identity_files.clone();
                    for default in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                        keys.push(home.join(".ssh").join(default));
                    }
                    (keys, false)
                }
            };
            let checking = text(&["ansible_host_key_checking", "ansible_ssh_host_key_checking"])
                .and_then(|v| crate::modules::args::parse_bool(&Json::String(v)))
                .or_else(|| env_bool("BOSUN_HOST_KEY_CHECKING"))
                .or_else(|| env_bool("ANSIBLE_HOST_KEY_CHECKING"))
                .or(options.host_key_checking)
                .unwrap_or(true);
            let policy = match (checking, options.accept_new_host_keys) {
                (false, _) => HostKeyPolicy::Off,
                (true, true) => HostKeyPolicy::AcceptNew,
                (true, false) => HostKeyPolicy::Strict,
            };
            let mut timeout = text(&["ansible_ssh_timeout", "ansible_timeout"])
                .and_then(|t| t.parse().ok())
                .or(options.timeout)
                .unwrap_or(10);
            let mut policy = policy;
            let mut keepalive = Keepalive::default();
            let mut jump_spec = config.proxy_jump.clone();
            let mut known_hosts = vec![
                home.join(".ssh/known_hosts"),
                PathBuf::from("/etc/ssh/ssh_known_hosts"),
            ];
            let [ssh_args, common_args, extra_args] = options.ssh_args.clone();
            let extra = [
                text(&["ansible_ssh_args"]).or(ssh_args),
                text(&["ansible_ssh_common_args"]).or(common_args),
                text(&["ansible_ssh_extra_args"]).or(extra_args),
            ];
            for (key, value) in ssh_options(extra.iter().flatten().map(String::as_str)) {
                match key.as_str() {
                    "userknownhostsfile" => {
                        let files: Vec<PathBuf> = value
                            .split_whitespace()
                            .map(|f| expand_home(f, &home))
                            .collect();
                        known_hosts.splice(0..0, files);
                    }
                    "stricthostkeychecking" => {
                        policy = match value.to_ascii_lowercase().as_str() {
                            "no" | "off" => HostKeyPolicy::Off,
                            "accept-new" => HostKeyPolicy::AcceptNew,
                            _ => HostKeyPolicy::Strict,
                        }
                    }
                    "connecttimeout" => timeout = value.parse().unwrap_or(timeout),
                    "serveraliveinterval" => {
                        keepalive.interval = value
                            .parse()
                            .map(Duration::from_secs)
                            .unwrap_or(keepalive.interval)
                    }
                    "serveralivecountmax" => {
                        keepalive.count = value.parse().unwrap_or(keepalive.count)
                    }
                    "proxyjump" => jump_spec = Some(value),
                    _ => {}
                }
            }
            let mut target = SshTarget {
                host,
                port,
                user,
                key_files,
                explicit_key,
                password: text(&[
                    "ansible_password",
                    "ansible_ssh_pass",
                    "ansible_ssh_password",
                ])
                .or_else(|| options.ssh_password.clone()),
                policy,
                known_hosts,
                timeout: Duration::from_secs(timeout),
                keepalive,
                jump: None,
            };
            if let Some(spec) = jump_spec.filter(|s| !s.eq_ignore_ascii_case("none")) {
                target.jump = jump_chain(&spec, &target, &home);
            }
            Ok(Arc::new(SshConnection::new(target)))
        }
        other => Err(format!(
            "the connection plugin '{other}' is not supported by bosun (use ssh or local)"
        )),
    }
}

/// The hosts of a `ProxyJump` list (`[user@]host[:port],...`), as a chain: the last
/// hop is reached through the ones before it. Each hop uses `~/.ssh/config` for its
/// alias and the target's keys and host key checking.
fn jump_chain(spec: &str, base: &SshTarget, home: &Path) -> Option<Box<SshTarget>> {
    let mut chain: Option<Box<SshTarget>> = None;
    for hop in spec.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let (user, rest) = match hop.split_once('@') {
            Some((user, rest)) => (Some(user.to_string()), rest),
            None => (None, hop),
        };
        let (alias, port) = match rest.rsplit_once(':') {
            Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => {
                (host, port.parse().ok())
            }
            _ => (rest, None),
        };
        let config = ssh_config::lookup(&home.join(".ssh/config"), alias, home);
        let mut key_files = config.identity_files.clone();
        key_files.extend(base.key_files.iter().cloned());
        for default in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let path = home.join(".ssh").join(default);
            if !key_files.contains(&path) {
                key_files.push(path);
            }
        }
        chain = Some(Box::new(SshTarget {
            host: config.hostname.clone().unwrap_or_else(|| alias.to_string()),
            port: port.or(config.port).unwrap_or(22),
            user: user
                .or(config.user.clone())
                .unwrap_or_else(|| base.user.clone()),
            key_files,
            explicit_key: false,
            password: None,
            policy: base.policy,
            known_hosts: base.known_hosts.clone(),
            timeout: base.timeout,
            keepalive: base.keepalive,
            jump: chain,
        }));
    }
    chain
}

/// The `-o Key=Value` options in `ansible_ssh_common_args`/`ansible_ssh_extra_args`,
/// keys lowercased (OpenSSH's option names are case-insensitive).
fn ssh_options<'a>(args: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    let mut options = Vec::new();
    for line in args {
        let words = shell_words::split(line).unwrap_or_default();
        let mut iter = words.iter();
        while let Some(word) = iter.next() {
            let option = match (word.strip_prefix("-o"), word.strip_prefix("-J")) {
                (Some(""), _) => iter.next().cloned(),
                (Some(rest), _) => Some(rest.to_string()),
                (_, Some("")) => iter.next().map(|hop| format!("ProxyJump={hop}")),
                (_, Some(rest)) => Some(format!("ProxyJump={rest}")),
                _ => None,
            };
            if let Some((key, value)) = option.as_deref().and_then(|o| o.split_once(['=', ' '])) {
                options.push((key.trim().to_ascii_lowercase(), value.trim().to_string()));
            }
        }
    }
    options
}

/// `$HOME`, so tests can point it at a scratch directory.
fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

fn expand_home(path: &str, home: &Path) -> PathBuf {
    match path.strip_prefix("~/") {
        Some(rest) => home.join(rest),
        None => PathBuf::from(path),
    }
}

fn env_bool(name: &str) -> Option<bool> {
    std::env::var(name)
        .ok()
        .and_then(|v| crate::modules::args::parse_bool(&Json::String(v)))
}

#[cfg(test)]
mod tests {
    use super::ssh_options;

    #[test]
    fn ssh_common_args_options() {
        let options = ssh_options(
            ["-o UserKnownHostsFile=/k -oStrictHostKeyChecking=no -o 'ConnectTimeout 5' -C"]
                .into_iter(),
        );
        assert_eq!(
            options,
            vec![
                ("userknownhostsfile".to_string(), "/k".to_string()),
                ("stricthostkeychecking".to_string(), "no".to_string()),
                ("connecttimeout".to_string(), "5".to_string()),
            ]
        );
    }
}
