//! `docker_network`: a network present with the driver, options, IPAM configuration
//! and labels the task gives (removed and created again when they differ, after
//! disconnecting its containers), or absent; `connected` containers attached.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{
    Inspect, diff_of, docker, field, inspect, object_map, pair_flags, string_map, sub_options,
};
use crate::connection::quote;
use crate::modules::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};

/// Manages a Docker network on the target.
pub struct DockerNetwork;

/// The sub-options of an `ipam_config` entry.
const IPAM_OPTIONS: &[Param] = &[
    Param::new("subnet", Kind::Str),
    Param::new("gateway", Kind::Str),
    Param::new("iprange", Kind::Str),
    Param::new("aux_addresses", Kind::Dict),
];

/// Each IPAM sub-option, the key `docker inspect` shows it under and the
/// `docker network create` flag that sets it.
const IPAM_FIELDS: &[(&str, &str, &str)] = &[
    ("subnet", "Subnet", "--subnet"),
    ("gateway", "Gateway", "--gateway"),
    ("iprange", "IPRange", "--ip-range"),
    ("aux_addresses", "AuxiliaryAddresses", "--aux-address"),
];

/// The `ipam_config` entries, checked.
fn ipam_entries(args: &Args) -> Result<Vec<Args>, String> {
    args.list("ipam_config")
        .iter()
        .map(|entry| sub_options("ipam_config", entry, IPAM_OPTIONS))
        .collect()
}

/// Whether the inspected IPAM entries match the wanted ones: as many, and each wanted
/// entry found with the values it gives.
fn same_ipam(current: &[Json], wanted: &[Args]) -> bool {
    current.len() == wanted.len()
        && wanted.iter().all(|entry| {
            current.iter().any(|existing| {
                IPAM_FIELDS
                    .iter()
                    .all(|(name, key, _)| match entry.get(name) {
                        None => true,
                        Some(Json::Object(map)) => {
                            let have = object_map(existing.get(*key));
                            map.len() == have.len()
                                && map
                                    .iter()
                                    .all(|(k, v)| have.get(k).map(String::as_str) == v.as_str())
                        }
                        Some(value) => existing.get(*key) == Some(value),
                    })
            })
        })
}

/// The options of `docker network create` for the wanted network.
fn create_flags(args: &Args, ipam: &[Args]) -> Result<String, String> {
    let mut flags = format!(
        " --driver {}",
        quote(args.str("driver").unwrap_or("bridge"))
    );
    if let Some(options) = string_map(args, "driver_options")? {
        flags.push_str(&pair_flags("--opt", &options));
    }
    for entry in ipam {
        for (name, _, flag) in IPAM_FIELDS {
            match entry.get(name) {
                Some(Json::String(value)) => flags.push_str(&format!(" {flag} {}", quote(value))),
                Some(Json::Object(_)) => {
                    let pairs = string_map(entry, name)?.unwrap_or_default();
                    flags.push_str(&pair_flags(flag, &pairs));
                }
                _ => {}
            }
        }
    }
    if let Some(labels) = string_map(args, "labels")? {
        flags.push_str(&pair_flags("--label", &labels));
    }
    for (option, flag) in [
        ("internal", " --internal"),
        ("attachable", " --attachable"),
        ("enable_ipv6", " --ipv6"),
    ] {
        if args.bool_or(option, false) {
            flags.push_str(flag);
        }
    }
    Ok(flags)
}

/// How the inspected network differs from the task: `(option, current, wanted)`.
fn compare(
    args: &Args,
    ipam: &[Args],
    network: &Json,
) -> Result<Vec<(String, Json, Json)>, String> {
    let mut found = Vec::new();
    let mut differ = |name: &str, current: Json, wanted: Json| {
        if current != wanted {
            found.push((name.to_string(), current, wanted));
        }
    };
    let driver = field(network, "Driver").cloned().unwrap_or(Json::Null);
    differ(
        "driver",
        driver,
        json!(args.str("driver").unwrap_or("bridge")),
    );
    for (option, key) in [
        ("internal", "Internal"),
        ("attachable", "Attachable"),
        ("enable_ipv6", "EnableIPv6"),
    ] {
        if let Some(wanted) = args.get(option) {
            let current = field(network, key).cloned().unwrap_or(json!(false));
            differ(option, current, wanted.clone());
        }
    }
    for (option, key) in [("driver_options", "Options"), ("labels", "Labels")] {
        if let Some(wanted) = string_map(args, option)? {
            let current = object_map(field(network, key));
            if wanted.iter().any(|(k, v)| current.get(k) != Some(v)) {
                differ(option, json!(current), json!(wanted));
            }
        }
    }
    if args.get("ipam_config").is_some() {
        let current: Vec<Json> = field(network, "IPAM.Config")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        if !same_ipam(&current, ipam) {
            differ(
                "ipam_config",
                json!(current),
                args.get("ipam_config").cloned().unwrap_or_default(),
            );
        }
    }
    Ok(found)
}

/// The names of the containers connected to an inspected network.
fn attached(network: &Json) -> Vec<String> {
    field(network, "Containers")
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, container)| container["Name"].as_str().map(str::to_string))
        .collect()
}

#[async_trait]
impl Module for DockerNetwork {
    fn name(&self) -> &'static str {
        "docker_network"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str)
                .required()
                .aliases(&["network_name"]),
            Param::new("driver", Kind::Str),
            Param::new("driver_options", Kind::Dict),
            Param::new("ipam_config", Kind::List).options(IPAM_OPTIONS),
            Param::new("internal", Kind::Bool),
            Param::new("attachable", Kind::Bool),
            Param::new("enable_ipv6", Kind::Bool),
            Param::new("labels", Kind::Dict),
            Param::new("connected", Kind::List).aliases(&["containers"]),
            Param::new("appends", Kind::Bool).aliases(&["incremental"]),
            Param::new("force", Kind::Bool),
            Param::new("state", Kind::Str).choices(&["present", "absent"]),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let name = args.str("name").unwrap_or_default().to_string();
        let n = quote(&name);
        let state = args.str("state").unwrap_or("present");
        let ipam = ipam_entries(args).map_err(ModuleError::Failed)?;
        let current = inspect(ctx, &[Inspect("network", &name)]).await?.remove(0);
        let mut differences = Vec::new();
        let mut steps: Vec<(String, String)> = Vec::new();
        let remove = |network: &Json, steps: &mut Vec<(String, String)>| {
            for container in attached(network) {
                steps.push((
                    format!("docker network disconnect -f {n} {}", quote(&container)),
                    format!("Disconnected container {container}"),
                ));
            }
            steps.push((
                format!("docker network rm {n}"),
                format!("Removed network {name}"),
            ));
        };
        let mut members = Vec::new();
        match (state, &current) {
            ("absent", Some(network)) => {
                remove(network, &mut steps);
                differences.push(("exists".into(), json!(true), json!(false)));
            }
            ("absent", None) => {}
            (_, existing) => {
                let mut create = existing.is_none();
                if let Some(network) = existing {
                    differences = compare(args, &ipam, network).map_err(ModuleError::Failed)?;
                    if args.bool_or("force", false) || !differences.is_empty() {
                        remove(network, &mut steps);
                        create = true;
                    } else {
                        members = attached(network);
                    }
                } else {
                    differences.push(("exists".into(), json!(false), json!(true)));
                }
                if create {
                    let flags = create_flags(args, &ipam).map_err(ModuleError::Failed)?;
                    steps.push((
                        format!("docker network create{flags} {n}"),
                        format!("Created network {name}"),
                    ));
                }
                let wanted = args.strings("connected");
                for container in wanted.iter().filter(|c| !members.contains(c)) {
                    steps.push((
                        format!("docker network connect {n} {}", quote(container)),
                        format!("Connected container {container}"),
                    ));
                }
                if !args.bool_or("appends", false) && args.get("connected").is_some() {
                    for extra in members.iter().filter(|m| !wanted.contains(m)) {
                        steps.push((
                            format!("docker network disconnect {n} {}", quote(extra)),
                            format!("Disconnected container {extra}"),
                        ));
                    }
                }
            }
        }
        let mut outcome = crate::modules::ok(!steps.is_empty());
        outcome.insert(
            "actions".into(),
            json!(steps.iter().map(|(_, action)| action).collect::<Vec<_>>()),
        );
        outcome.insert("diff".into(), diff_of(&differences, &name));
        let network = if steps.is_empty() || ctx.check_mode {
            current
        } else {
            let script: Vec<&str> = steps.iter().map(|(cmd, _)| cmd.as_str()).collect();
            docker(ctx, &script.join(" >/dev/null && ")).await?;
            inspect(ctx, &[Inspect("network", &name)]).await?.remove(0)
        };
        outcome.insert("network".into(), network.unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn args(value: Json) -> Args {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        Args::parse(DockerNetwork.params(), &raw).expect("valid")
    }

    fn inspected() -> Json {
        json!({
            "Name": "front", "Driver": "bridge", "Internal": false, "Attachable": false,
            "EnableIPv6": false, "Options": {}, "Labels": {"app": "web"},
            "IPAM": {"Config": [{"Subnet": "172.30.0.0/24", "Gateway": "172.30.0.1"}]},
            "Containers": {"abc": {"Name": "web"}}
        })
    }

    #[test]
    fn a_matching_network_has_no_differences() {
        let task = args(json!({
            "name": "front", "ipam_config": [{"subnet": "172.30.0.0/24"}],
            "labels": {"app": "web"}, "internal": false
        }));
        let ipam = ipam_entries(&task).expect("ipam");
        assert_eq!(compare(&task, &ipam, &inspected()), Ok(vec![]));
        assert_eq!(attached(&inspected()), vec!["web".to_string()]);
    }

    #[test]
    fn subnet_driver_and_labels_differences_are_found() {
        let task = args(json!({
            "name": "front", "driver": "macvlan",
            "ipam_config": [{"subnet": "172.31.0.0/24"}], "labels": {"app": "db"}
        }));
        let ipam = ipam_entries(&task).expect("ipam");
        let names: Vec<String> = compare(&task, &ipam, &inspected())
            .expect("compared")
            .into_iter()
            .map(|(name, _, _)| name)
            .collect();
        assert_eq!(names, ["driver", "labels", "ipam_config"]);
    }

    #[test]
    fn create_flags_follow_the_options() {
        let task = args(json!({
            "name": "front", "ipam_config": [{"subnet": "172.30.0.0/24", "gateway": "172.30.0.1",
            "aux_addresses": {"host": "172.30.0.5"}}], "internal": true, "driver_options":
            {"com.docker.network.bridge.name": "br front"}
        }));
        let ipam = ipam_entries(&task).expect("ipam");
        assert_eq!(
            create_flags(&task, &ipam).expect("flags"),
            " --driver bridge --opt 'com.docker.network.bridge.name=br front' --subnet 172.30.0.0/24 \
             --gateway 172.30.0.1 --aux-address host=172.30.0.5 --internal"
        );
        let bad: IndexMap<String, Json> = serde_json::from_value(
            json!({"name": "x", "ipam_config": [{"subnet": "a", "mask": 1}]}),
        )
        .expect("a mapping");
        assert!(
            Args::parse(&DockerNetwork.all_params(), &bad)
                .expect_err("bad")
                .starts_with("ipam_config: Unsupported parameters: mask.")
        );
    }
}
