//! The comparison at the heart of `docker_container`: how an existing container's
//! configuration (from `docker inspect`) differs from the task's, option by option.
//! Only the options the task gives are compared.

use indexmap::IndexMap;
use serde_json::{Value as Json, json};

use super::super::{env_map, field, object_map};
use super::wanted::{PortBinding, Wanted, normalise_ip, scalar};

/// One option that differs: its name, the container's value and the task's.
pub type Difference = (String, Json, Json);

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

/// Two maps with the same pairs, in any order.
fn same_map(a: &IndexMap<String, String>, b: &IndexMap<String, String>) -> bool {
    a.len() == b.len() && a.iter().all(|(k, v)| b.get(k) == Some(v))
}

/// The networks an inspected container is connected to.
pub fn connected_networks(container: &Json) -> Vec<String> {
    field(container, "NetworkSettings.Networks")
        .and_then(Json::as_object)
        .map(|networks| networks.keys().cloned().collect())
        .unwrap_or_default()
}

impl Wanted {
    /// How the existing `container` differs from this, given the wanted image as
    /// inspected (`image`): `(option, current, wanted)` for each option that differs.
    /// Environment and labels are compared with the image's own merged in, as docker
    /// merges them into the container.
    pub fn differences(&self, container: &Json, image: Option<&Json>) -> Vec<Difference> {
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
        if let Some(policy) = self.restart_policy {
            let current = field(container, "HostConfig.RestartPolicy.Name")
                .and_then(Json::as_str)
                .filter(|name| !name.is_empty())
                .unwrap_or("no");
            differ("restart_policy", json!(current), json!(policy.as_str()));
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
        for (option, path, wanted) in [
            ("hostname", "Config.Hostname", &self.hostname),
            ("working_dir", "Config.WorkingDir", &self.working_dir),
            ("user", "Config.User", &self.user),
        ] {
            if let Some(wanted) = wanted {
                let current = field(container, path)
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                differ(option, json!(current), json!(wanted));
            }
        }
        found
    }
}

#[cfg(test)]
pub mod tests {
    use super::super::wanted::tests::wanted;
    use super::*;

    /// A container as `docker inspect` shows one made by `docker create --name web
    /// -p 80:8080 -e A=1 --restart unless-stopped -v /srv:/www:ro bb:1 httpd -f`.
    pub fn inspected() -> Json {
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

    /// The image `inspected` was made from.
    pub fn image() -> Json {
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
}
