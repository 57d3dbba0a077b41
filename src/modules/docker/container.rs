//! `docker_container`: a container created, started, stopped or removed. The existing
//! container's configuration (from `docker inspect`) is compared with the task's, option
//! by option, and the container is recreated only on a real difference; options the
//! task does not give are not compared. Networks are connected (and, with
//! `purge_networks`, disconnected) without recreating.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::{
    Inspect, diff_of, docker, env_map, field, inspect, object_map, pair_flags, string_map,
    sub_options,
};
use crate::connection::quote;
use crate::modules::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};

/// Manages a Docker container on the target.
pub struct DockerContainer;

/// The sub-options of a `networks` entry.
const NETWORK: &[Param] = &[
    Param::new("name", Kind::Str).required(),
    Param::new("aliases", Kind::List),
    Param::new("ipv4_address", Kind::Str),
];

/// One network the container should be connected to.
#[derive(Clone, Debug, PartialEq)]
struct NetworkWanted {
    name: String,
    aliases: Vec<String>,
    ipv4_address: Option<String>,
}

impl NetworkWanted {
    /// The options of `docker create` or `docker network connect` for this network.
    fn flags(&self, alias_flag: &str) -> String {
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
struct PortBinding {
    container: String,
    host_ip: String,
    host_port: String,
}

/// Reads `published_ports` entries: `8080`, `80:8080`, `127.0.0.1:80:8080`,
/// `127.0.0.1::8080`, each with an optional `/udp` or `/tcp`.
fn parse_port(spec: &str) -> Result<PortBinding, String> {
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
fn normalise_ip(ip: &str) -> String {
    if ip == "0.0.0.0" {
        String::new()
    } else {
        ip.to_string()
    }
}

/// The published ports of an inspected container, sorted.
fn current_ports(container: &Json) -> Vec<PortBinding> {
    let mut ports: Vec<PortBinding> = field(container, "HostConfig.PortBindings")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .flat_map(|(port, bindings)| {
            bindings
                .as_array()
                .into_iter()
                .flatten()
                .map(move |binding| PortBinding {
                    container: port.clone(),
                    host_ip: normalise_ip(binding["HostIp"].as_str().unwrap_or_default()),
                    host_port: binding["HostPort"].as_str().unwrap_or_default().to_string(),
                })
        })
        .collect();
    ports.sort();
    ports
}

/// A bind or named volume (`/src:/dst:ro`) with a default `rw` mode dropped, for
/// comparing.
fn normalise_bind(spec: &str) -> String {
    spec.strip_suffix(":rw").unwrap_or(spec).to_string()
}

/// The container the task describes: only the options it gives.
#[derive(Clone, Debug, Default)]
struct Wanted {
    image: Option<String>,
    command: Option<Vec<String>>,
    entrypoint: Option<Vec<String>>,
    env: Option<IndexMap<String, String>>,
    labels: Option<IndexMap<String, String>>,
    ports: Option<Vec<PortBinding>>,
    port_specs: Vec<String>,
    volumes: Option<Vec<String>>,
    restart_policy: Option<String>,
    restart_retries: Option<i64>,
    networks: Option<Vec<NetworkWanted>>,
    network_mode: Option<String>,
    hostname: Option<String>,
    working_dir: Option<String>,
    user: Option<String>,
}

impl Wanted {
    /// Reads and checks the task's options.
    fn from_args(args: &Args) -> Result<Wanted, String> {
        let command = match args.get("command") {
            None => None,
            Some(Json::String(text)) => {
                Some(shell_words::split(text).map_err(|e| format!("cannot split command: {e}"))?)
            }
            Some(Json::Array(items)) => Some(items.iter().map(scalar).collect()),
            Some(other) => Some(vec![scalar(other)]),
        };
        let port_specs = args.strings("published_ports");
        let ports = match args.get("published_ports") {
            None => None,
            Some(_) => {
                let mut ports = port_specs
                    .iter()
                    .map(|spec| parse_port(spec))
                    .collect::<Result<Vec<_>, _>>()?;
                ports.sort();
                Some(ports)
            }
        };
        let networks = match args.get("networks") {
            None => None,
            Some(_) => Some(
                args.list("networks")
                    .iter()
                    .map(|entry| {
                        let entry = match entry {
                            Json::String(name) => json!({ "name": name }),
                            other => other.clone(),
                        };
                        let network = sub_options("networks", &entry, NETWORK)?;
                        Ok(NetworkWanted {
                            name: network.str("name").unwrap_or_default().to_string(),
                            aliases: network.strings("aliases"),
                            ipv4_address: network.str("ipv4_address").map(str::to_string),
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?,
            ),
        };
        let text = |name: &str| args.str(name).map(str::to_string);
        Ok(Wanted {
            image: text("image"),
            command,
            entrypoint: args.get("entrypoint").map(|_| args.strings("entrypoint")),
            env: string_map(args, "env")?,
            labels: string_map(args, "labels")?,
            ports,
            port_specs,
            volumes: args.get("volumes").map(|_| args.strings("volumes")),
            restart_policy: text("restart_policy"),
            restart_retries: args.int("restart_retries"),
            networks,
            network_mode: text("network_mode"),
            hostname: text("hostname"),
            working_dir: text("working_dir"),
            user: text("user"),
        })
    }

    /// How the existing `container` differs from this, given the wanted image as
    /// inspected (`image`): `(option, current, wanted)` for each option that differs.
    /// Environment and labels are compared with the image's own merged in, as docker
    /// merges them into the container.
    fn differences(&self, container: &Json, image: Option<&Json>) -> Vec<(String, Json, Json)> {
        let mut found = Vec::new();
        let mut differ = |name: &str, current: Json, wanted: Json| {
            if current != wanted {
                found.push((name.to_string(), current, wanted));
            }
        };
        if let (Some(name), Some(image)) = (&self.image, image) {
            let current = container["Image"].as_str().unwrap_or_default();
            let wanted = image["Id"].as_str().unwrap_or_default();
            if current != wanted {
                differ("image", json!(current), json!(format!("{name} ({wanted})")));
            }
        }
        let strings = |path: &str| -> Vec<String> {
            field(container, path)
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(scalar)
                .collect()
        };
        match (&self.entrypoint, &self.command) {
            (Some(entrypoint), command) => {
                let mut current = strings("Config.Entrypoint");
                current.extend(strings("Config.Cmd"));
                let mut wanted = entrypoint.clone();
                wanted.extend(command.iter().flatten().cloned());
                differ("entrypoint", json!(current), json!(wanted));
            }
            (None, Some(command)) => {
                differ("command", json!(strings("Config.Cmd")), json!(command))
            }
            (None, None) => {}
        }
        let image_config = |path: &str| image.and_then(|i| field(i, path));
        if let Some(env) = &self.env {
            let mut wanted = env_map(image_config("Config.Env"));
            wanted.extend(env.clone());
            let current = env_map(field(container, "Config.Env"));
            if !same_map(&current, &wanted) {
                differ("env", json!(current), json!(wanted));
            }
        }
        if let Some(labels) = &self.labels {
            let mut wanted = object_map(image_config("Config.Labels"));
            wanted.extend(labels.clone());
            let current = object_map(field(container, "Config.Labels"));
            if !same_map(&current, &wanted) {
                differ("labels", json!(current), json!(wanted));
            }
        }
        if let Some(ports) = &self.ports {
            let current = current_ports(container);
            if &current != ports {
                let show = |ports: &[PortBinding]| -> Json {
                    ports
                        .iter()
                        .map(|p| format!("{}:{}:{}", p.host_ip, p.host_port, p.container))
                        .collect()
                };
                differ("published_ports", show(&current), show(ports));
            }
        }
        if let Some(volumes) = &self.volumes {
            let (binds, anonymous): (Vec<&String>, Vec<&String>) =
                volumes.iter().partition(|v| v.contains(':'));
            let mut wanted: Vec<String> = binds.iter().map(|b| normalise_bind(b)).collect();
            wanted.sort();
            let mut current: Vec<String> = strings("HostConfig.Binds")
                .iter()
                .map(|b| normalise_bind(b))
                .collect();
            current.sort();
            let mounted = field(container, "Config.Volumes").and_then(Json::as_object);
            let missing = anonymous
                .iter()
                .any(|path| !mounted.is_some_and(|m| m.contains_key(path.as_str())));
            if current != wanted || missing {
                differ("volumes", json!(current), json!(volumes));
            }
        }
        if let Some(policy) = &self.restart_policy {
            let current = field(container, "HostConfig.RestartPolicy.Name")
                .and_then(Json::as_str)
                .filter(|name| !name.is_empty())
                .unwrap_or("no");
            differ("restart_policy", json!(current), json!(policy));
        }
        if let Some(retries) = self.restart_retries {
            let current = field(container, "HostConfig.RestartPolicy.MaximumRetryCount")
                .and_then(Json::as_i64)
                .unwrap_or(0);
            differ("restart_retries", json!(current), json!(retries));
        }
        if let Some(mode) = &self.network_mode {
            let current = field(container, "HostConfig.NetworkMode")
                .and_then(Json::as_str)
                .unwrap_or_default();
            let normal = |mode: &str| {
                if mode == "default" {
                    "bridge".to_string()
                } else {
                    mode.to_string()
                }
            };
            differ("network_mode", json!(normal(current)), json!(normal(mode)));
        }
        for (option, path) in [
            ("hostname", "Config.Hostname"),
            ("working_dir", "Config.WorkingDir"),
            ("user", "Config.User"),
        ] {
            let wanted = match option {
                "hostname" => &self.hostname,
                "working_dir" => &self.working_dir,
                _ => &self.user,
            };
            if let Some(wanted) = wanted {
                let current = field(container, path)
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                differ(option, json!(current), json!(wanted));
            }
        }
        found
    }

    /// The `docker create` command for this container.
    fn create_command(&self, name: &str, image: &str) -> String {
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
        if let Some(policy) = &self.restart_policy {
            let retries = match self.restart_retries {
                Some(n) if policy == "on-failure" => format!(":{n}"),
                _ => String::new(),
            };
            cmd.push_str(&format!(
                " --restart {}",
                quote(&format!("{policy}{retries}"))
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

/// Two maps with the same pairs, in any order.
fn same_map(a: &IndexMap<String, String>, b: &IndexMap<String, String>) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
}

/// A scalar as the string docker sees.
fn scalar(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The networks an inspected container is connected to.
fn connected_networks(container: &Json) -> Vec<String> {
    field(container, "NetworkSettings.Networks")
        .and_then(Json::as_object)
        .map(|networks| networks.keys().cloned().collect())
        .unwrap_or_default()
}

#[async_trait]
impl Module for DockerContainer {
    fn name(&self) -> &'static str {
        "docker_container"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str).required(),
            Param::new("image", Kind::Str),
            Param::new("state", Kind::Str).choices(&["absent", "present", "started", "stopped"]),
            Param::new("command", Kind::Raw),
            Param::new("entrypoint", Kind::List),
            Param::new("env", Kind::Dict),
            Param::new("labels", Kind::Dict),
            Param::new("published_ports", Kind::List).aliases(&["ports"]),
            Param::new("volumes", Kind::List),
            Param::new("restart_policy", Kind::Str).choices(&[
                "no",
                "on-failure",
                "always",
                "unless-stopped",
            ]),
            Param::new("restart_retries", Kind::Int),
            Param::new("networks", Kind::List).options(NETWORK),
            Param::new("purge_networks", Kind::Bool),
            Param::new("network_mode", Kind::Str),
            Param::new("hostname", Kind::Str),
            Param::new("working_dir", Kind::Str),
            Param::new("user", Kind::Str),
            Param::new("recreate", Kind::Bool),
            Param::new("restart", Kind::Bool).aliases(&["restarted"]),
            Param::new("keep_volumes", Kind::Bool),
            Param::new("stop_timeout", Kind::Int),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let name = args.str("name").unwrap_or_default().to_string();
        let state = args.str("state").unwrap_or("started");
        let wanted = Wanted::from_args(args).map_err(ModuleError::Failed)?;
        let mut objects = vec![Inspect("container", name.as_str())];
        if let Some(image) = &wanted.image {
            objects.push(Inspect("image", image));
        }
        let mut found = inspect(ctx, &objects).await?.into_iter();
        let current = found.next().flatten();
        let image = found.next().flatten();
        let n = quote(&name);
        let running = current
            .as_ref()
            .and_then(|c| field(c, "State.Running"))
            .and_then(Json::as_bool)
            .unwrap_or(false);
        let stop_timeout = args
            .int("stop_timeout")
            .map(|t| format!(" -t {t}"))
            .unwrap_or_default();

        let mut steps: Vec<(String, String)> = Vec::new();
        let mut differences = Vec::new();
        if state == "absent" {
            if current.is_some() {
                let volumes = if args.bool_or("keep_volumes", true) {
                    ""
                } else {
                    " -v"
                };
                steps.push((format!("docker rm -f{volumes} {n}"), "removed".into()));
                differences.push(("exists".into(), json!(true), json!(false)));
            }
        } else {
            if let Some(container) = &current {
                differences = wanted.differences(container, image.as_ref());
            }
            let recreate =
                current.is_some() && (args.bool_or("recreate", false) || !differences.is_empty());
            let create = current.is_none() || recreate;
            if create {
                let Some(image_name) = &wanted.image else {
                    return Err(ModuleError::Failed(format!(
                        "Cannot create container {name} when image is not specified!"
                    )));
                };
                if image.is_none() {
                    return Err(ModuleError::Failed(format!(
                        "Cannot find image {image_name} on the target (no registry is consulted: build, load or import it with docker_image first)"
                    )));
                }
                if recreate {
                    steps.push((format!("docker rm -f {n}"), "removed".into()));
                } else {
                    differences.push(("exists".into(), json!(false), json!(true)));
                }
                steps.push((wanted.create_command(&name, image_name), "created".into()));
            }
            let connected = match (&current, create) {
                (Some(container), false) => connected_networks(container),
                _ => wanted
                    .networks
                    .iter()
                    .flatten()
                    .take(1)
                    .map(|n| n.name.clone())
                    .collect(),
            };
            for network in wanted.networks.iter().flatten() {
                if !connected.contains(&network.name) && wanted.network_mode.is_none() {
                    steps.push((
                        format!(
                            "docker network connect{} {} {n}",
                            network.flags("--alias"),
                            quote(&network.name)
                        ),
                        format!("connected to {}", network.name),
                    ));
                    differences.push((
                        format!("networks.{}", network.name),
                        json!(false),
                        json!(true),
                    ));
                }
            }
            if args.bool_or("purge_networks", false)
                && let Some(networks) = &wanted.networks
            {
                for extra in connected
                    .iter()
                    .filter(|c| !networks.iter().any(|n| &n.name == *c))
                {
                    steps.push((
                        format!("docker network disconnect {} {n}", quote(extra)),
                        format!("disconnected from {extra}"),
                    ));
                    differences.push((format!("networks.{extra}"), json!(true), json!(false)));
                }
            }
            let start = match state {
                "started" => create || !running,
                "present" => recreate && running,
                _ => false,
            };
            if start {
                steps.push((format!("docker start {n}"), "started".into()));
                if !create {
                    differences.push(("running".into(), json!(false), json!(true)));
                }
            } else if state == "stopped" && running && !create {
                steps.push((format!("docker stop{stop_timeout} {n}"), "stopped".into()));
                differences.push(("running".into(), json!(true), json!(false)));
            } else if state == "started" && running && args.bool_or("restart", false) {
                steps.push((
                    format!("docker restart{stop_timeout} {n}"),
                    "restarted".into(),
                ));
            }
        }

        let mut outcome = crate::modules::ok(!steps.is_empty());
        outcome.insert(
            "actions".into(),
            json!(steps.iter().map(|(_, action)| action).collect::<Vec<_>>()),
        );
        outcome.insert("diff".into(), diff_of(&differences, &name));
        let container = if steps.is_empty() || ctx.check_mode {
            current
        } else {
            let script: Vec<&str> = steps.iter().map(|(cmd, _)| cmd.as_str()).collect();
            docker(ctx, &script.join(" >/dev/null && ")).await?;
            inspect(ctx, &[Inspect("container", &name)])
                .await?
                .remove(0)
        };
        outcome.insert("container".into(), container.unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(value: Json) -> Wanted {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        let args = Args::parse(DockerContainer.params(), &raw).expect("valid");
        Wanted::from_args(&args).expect("wanted")
    }

    /// A container as `docker inspect` shows one made by `docker create --name web
    /// -p 80:8080 -e A=1 --restart unless-stopped -v /srv:/www:ro bb:1 httpd -f`.
    fn inspected() -> Json {
        json!({
            "Image": "sha256:abc",
            "State": {"Running": true},
            "Config": {
                "Env": ["PATH=/bin", "A=1"],
                "Cmd": ["httpd", "-f"],
                "Entrypoint": null,
                "Labels": {"from": "image"},
                "Hostname": "ba281b419e3c",
                "User": "",
                "WorkingDir": ""
            },
            "HostConfig": {
                "Binds": ["/srv:/www:ro"],
                "PortBindings": {"8080/tcp": [{"HostIp": "", "HostPort": "80"}]},
                "RestartPolicy": {"Name": "unless-stopped", "MaximumRetryCount": 0},
                "NetworkMode": "default"
            },
            "NetworkSettings": {"Networks": {"bridge": {}}}
        })
    }

    fn image() -> Json {
        json!({"Id": "sha256:abc", "Config": {"Env": ["PATH=/bin"], "Labels": {"from": "image"}}})
    }

    #[test]
    fn the_same_configuration_shows_no_difference() {
        let same = wanted(json!({
            "name": "web", "image": "bb:1", "command": "httpd -f",
            "published_ports": ["0.0.0.0:80:8080"], "env": {"A": 1},
            "restart_policy": "unless-stopped", "volumes": ["/srv:/www:ro"],
            "labels": {}, "network_mode": "bridge", "user": ""
        }));
        assert_eq!(same.differences(&inspected(), Some(&image())), vec![]);
    }

    #[test]
    fn each_real_difference_is_named() {
        let other = wanted(json!({
            "name": "web", "image": "bb:1", "command": ["httpd", "-v"],
            "published_ports": ["81:8080"], "env": {"A": "2"},
            "restart_policy": "always", "volumes": ["/srv:/www", "/data"],
            "labels": {"x": "y"}
        }));
        let mut newer = image();
        newer["Id"] = json!("sha256:def");
        let names: Vec<String> = other
            .differences(&inspected(), Some(&newer))
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        assert_eq!(
            names,
            [
                "image",
                "command",
                "env",
                "labels",
                "published_ports",
                "volumes",
                "restart_policy"
            ]
        );
    }

    #[test]
    fn an_entrypoint_is_compared_with_the_command_after_it() {
        let same =
            wanted(json!({"name": "w", "entrypoint": ["/bin/sh", "-c"], "command": ["echo hi"]}));
        let mut container = inspected();
        container["Config"]["Entrypoint"] = json!(["/bin/sh"]);
        container["Config"]["Cmd"] = json!(["-c", "echo hi"]);
        assert_eq!(same.differences(&container, None), vec![]);
        assert_eq!(
            same.create_command("w", "i:1"),
            "docker create --name w --entrypoint /bin/sh i:1 -c 'echo hi'"
        );
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
}
