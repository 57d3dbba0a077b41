//! The container a `docker_container` task describes, read from its arguments (only
//! the options it gives), and the `docker create` command that makes it.

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::super::{pair_flags, string_map, sub_options};
use super::{ContainerArgs, RestartPolicy};
use crate::connection::quote;
use crate::modules::typed::module_args;

module_args! {
    /// The sub-options of a `networks` entry.
    pub struct NetworkArgs {
        /// The network's name.
        name: String => .required(),
        /// The container's other names on the network.
        aliases: Vec<String>,
        ipv4_address: Option<String>,
    }
}

/// One network the container should be connected to.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkWanted {
    /// The network's name.
    pub name: String,
    /// The container's other names on it.
    aliases: Vec<String>,
    /// The container's fixed address on it.
    ipv4_address: Option<String>,
}

impl NetworkWanted {
    /// Reads one `networks` entry: a name, or a mapping of [`NetworkArgs`].
    fn from_entry(entry: &Json) -> Result<NetworkWanted, String> {
        let entry = match entry {
            Json::String(name) => json!({ "name": name }),
            other => other.clone(),
        };
        let network: NetworkArgs = sub_options("networks", &entry)?;
        Ok(NetworkWanted {
            name: network.name,
            aliases: network.aliases,
            ipv4_address: network.ipv4_address,
        })
    }

    /// The options of `docker create` or `docker network connect` for this network.
    pub fn flags(&self, alias_flag: &str) -> String {
        let mut flags: String = self
            .aliases
            .iter()
            .map(|alias| format!(" {alias_flag} {}", quote(alias)))
            .collect();
        if let Some(ip) = &self.ipv4_address {
            flags.push_str(&format!(" --ip {}", quote(ip)));
        }
        flags
    }
}

/// A published port: the container's port with its protocol (`8080/tcp`), and the
/// host's address (empty for all) and port (empty for any).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct PortBinding {
    /// The container's port and protocol.
    pub container: String,
    /// The host's address; empty for all.
    pub host_ip: String,
    /// The host's port; empty for any.
    pub host_port: String,
}

/// Reads `published_ports` entries: `8080`, `80:8080`, `127.0.0.1:80:8080`,
/// `127.0.0.1::8080`, each with an optional `/udp` or `/tcp`.
pub fn parse_port(spec: &str) -> Result<PortBinding, String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (host_ip, host_port, container) = match parts.as_slice() {
        [container] => ("", "", *container),
        [host, container] => ("", *host, *container),
        [ip, host, container] => (*ip, *host, *container),
        _ => {
            return Err(format!(
                "cannot read published port '{spec}' (IPv6 addresses are not supported)"
            ));
        }
    };
    let (port, protocol) = container.split_once('/').unwrap_or((container, "tcp"));
    let numeric = |text: &str| text.is_empty() || text.chars().all(|c| c.is_ascii_digit());
    if port.is_empty() || !numeric(port) || !numeric(host_port) {
        return Err(format!(
            "cannot read published port '{spec}' (port ranges are not supported)"
        ));
    }
    Ok(PortBinding {
        container: format!("{port}/{protocol}"),
        host_ip: normalise_ip(host_ip),
        host_port: host_port.to_string(),
    })
}

/// Docker writes an unspecified host address as empty or as `0.0.0.0`.
pub fn normalise_ip(ip: &str) -> String {
    if ip == "0.0.0.0" {
        String::new()
    } else {
        ip.to_string()
    }
}

/// A scalar as the string docker sees.
pub fn scalar(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The container the task describes: only the options it gives.
#[derive(Clone, Debug, Default)]
pub struct Wanted {
    /// The image's name.
    pub image: Option<String>,
    /// The command, split into words.
    pub command: Option<Vec<String>>,
    /// The entrypoint, split into words.
    pub entrypoint: Option<Vec<String>>,
    /// The environment.
    pub env: Option<IndexMap<String, String>>,
    /// The labels.
    pub labels: Option<IndexMap<String, String>>,
    /// The published ports, sorted.
    pub ports: Option<Vec<PortBinding>>,
    /// The published ports as the task writes them.
    pub port_specs: Vec<String>,
    /// The volumes: binds (`/src:/dst:ro`) and anonymous volumes (`/data`).
    pub volumes: Option<Vec<String>>,
    /// The restart policy.
    pub restart_policy: Option<RestartPolicy>,
    /// How many times `on-failure` restarts.
    pub restart_retries: Option<i64>,
    /// The networks to connect to.
    pub networks: Option<Vec<NetworkWanted>>,
    /// `--network` (`host`, `none`, a network's name).
    pub network_mode: Option<String>,
    /// The container's host name.
    pub hostname: Option<String>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// The user the command runs as.
    pub user: Option<String>,
}

impl Wanted {
    /// Reads and checks the task's options.
    pub fn from_args(args: &ContainerArgs) -> Result<Wanted, String> {
        let command = match &args.command {
            Json::Null => None,
            Json::String(text) => {
                Some(shell_words::split(text).map_err(|e| format!("cannot split command: {e}"))?)
            }
            Json::Array(items) => Some(items.iter().map(scalar).collect()),
            other => Some(vec![scalar(other)]),
        };
        let port_specs = args.published_ports.clone().unwrap_or_default();
        let ports = match &args.published_ports {
            None => None,
            Some(specs) => {
                let mut ports = specs
                    .iter()
                    .map(|spec| parse_port(spec))
                    .collect::<Result<Vec<_>, _>>()?;
                ports.sort();
                Some(ports)
            }
        };
        let networks = match &args.networks {
            None => None,
            Some(entries) => Some(
                entries
                    .iter()
                    .map(NetworkWanted::from_entry)
                    .collect::<Result<Vec<_>, String>>()?,
            ),
        };
        Ok(Wanted {
            image: args.image.clone(),
            command,
            entrypoint: args.entrypoint.clone(),
            env: string_map("env", args.env.as_ref())?,
            labels: string_map("labels", args.labels.as_ref())?,
            ports,
            port_specs,
            volumes: args.volumes.clone(),
            restart_policy: args.restart_policy,
            restart_retries: args.restart_retries,
            networks,
            network_mode: args.network_mode.clone(),
            hostname: args.hostname.clone(),
            working_dir: args.working_dir.clone(),
            user: args.user.clone(),
        })
    }

    /// The `docker create` command for this container.
    pub fn create_command(&self, name: &str, image: &str) -> String {
        let mut cmd = format!("docker create --name {}", quote(name));
        if let Some(env) = &self.env {
            cmd.push_str(&pair_flags("--env", env));
        }
        if let Some(labels) = &self.labels {
            cmd.push_str(&pair_flags("--label", labels));
        }
        for spec in &self.port_specs {
            cmd.push_str(&format!(" --publish {}", quote(spec)));
        }
        for volume in self.volumes.iter().flatten() {
            cmd.push_str(&format!(" --volume {}", quote(volume)));
        }
        if let Some(policy) = self.restart_policy {
            let retries = match self.restart_retries {
                Some(n) if policy == RestartPolicy::OnFailure => format!(":{n}"),
                _ => String::new(),
            };
            cmd.push_str(&format!(
                " --restart {}",
                quote(&format!("{}{retries}", policy.as_str()))
            ));
        }
        let first = self.networks.iter().flatten().next();
        match (&self.network_mode, first) {
            (Some(mode), _) => cmd.push_str(&format!(" --network {}", quote(mode))),
            (None, Some(network)) => {
                cmd.push_str(&format!(" --network {}", quote(&network.name)));
                cmd.push_str(&network.flags("--network-alias"));
            }
            (None, None) => {}
        }
        for (flag, value) in [
            ("--hostname", &self.hostname),
            ("--workdir", &self.working_dir),
            ("--user", &self.user),
        ] {
            if let Some(value) = value {
                cmd.push_str(&format!(" {flag} {}", quote(value)));
            }
        }
        let mut rest: Vec<&String> = Vec::new();
        if let Some(entrypoint) = &self.entrypoint {
            let mut parts = entrypoint.iter();
            let first = parts.next().map(String::as_str).unwrap_or_default();
            cmd.push_str(&format!(" --entrypoint {}", quote(first)));
            rest.extend(parts);
        }
        cmd.push_str(&format!(" {}", quote(image)));
        rest.extend(self.command.iter().flatten());
        for word in rest {
            cmd.push_str(&format!(" {}", quote(word)));
        }
        cmd
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    /// The container a task describes, for tests.
    pub fn wanted(value: Json) -> Wanted {
        let args: ContainerArgs = from_json(value).expect("valid");
        Wanted::from_args(&args).expect("wanted")
    }

    #[test]
    fn ports_are_read_as_docker_reads_them() {
        assert_eq!(
            parse_port("127.0.0.1::53/udp").expect("port"),
            PortBinding {
                container: "53/udp".into(),
                host_ip: "127.0.0.1".into(),
                host_port: String::new()
            }
        );
        assert!(parse_port("8000-8010:8000-8010").is_err());
        assert!(parse_port("1:2:3:4").is_err());
    }

    #[test]
    fn create_quotes_every_value() {
        let task = wanted(json!({
            "name": "web", "image": "bb:1", "command": ["httpd", "-h", "/w w"],
            "published_ports": ["80:8080"], "env": {"MSG": "a b"},
            "restart_policy": "on-failure", "restart_retries": 3,
            "networks": [{"name": "front", "aliases": ["site"]}]
        }));
        assert_eq!(
            task.create_command("web", "bb:1"),
            "docker create --name web --env 'MSG=a b' --publish 80:8080 --restart on-failure:3 \
             --network front --network-alias site bb:1 httpd -h '/w w'"
        );
    }

    #[test]
    fn network_entries_are_names_or_checked_mappings() {
        let task = wanted(
            json!({"name": "w", "networks": ["front", {"name": "back", "ipv4_address": "10.0.0.2"}]}),
        );
        let networks = task.networks.expect("networks");
        assert_eq!(networks[0].name, "front");
        assert_eq!(networks[1].flags("--alias"), " --ip 10.0.0.2");
        let err =
            from_json::<ContainerArgs>(json!({"name": "w", "networks": [{"aliases": ["x"]}]}))
                .expect_err("no name");
        assert_eq!(err, "networks: missing required arguments: name");
    }
}
