//! `docker_network`: a network present with the driver, options, IPAM configuration
//! and labels the task gives (removed and created again when they differ, after
//! disconnecting its containers), or absent; `connected` containers attached.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::{
    Inspect, Steps, diff_of, field, inspect, object_map, pair_flags, run_steps, string_map,
    sub_options,
};
use crate::connection::quote;
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a Docker network on the target.
pub struct DockerNetwork;

arg_enum! {
    /// Whether the network should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// The sub-options of an `ipam_config` entry.
    pub struct IpamArgs {
        subnet: Option<String>,
        gateway: Option<String>,
        iprange: Option<String>,
        /// Addresses the driver must not hand out, by host name.
        aux_addresses: Option<Map<String, Json>>,
    }
}

module_args! {
    /// `docker_network`'s arguments.
    pub struct NetworkArgs {
        /// The network's name.
        name: String => .required().aliases(&["network_name"]),
        driver: String => .default_str("bridge"),
        driver_options: Option<Map<String, Json>>,
        ipam_config: Option<Vec<Json>> => .options(IpamArgs::PARAMS),
        internal: Option<bool>,
        attachable: Option<bool>,
        enable_ipv6: Option<bool>,
        labels: Option<Map<String, Json>>,
        /// The containers to connect; others are disconnected unless `appends`.
        connected: Option<Vec<String>> => .aliases(&["containers"]),
        /// Whether `connected` only adds containers.
        appends: bool => .default_bool(false) .aliases(&["incremental"]),
        /// Whether to remove and create the network again although it matches.
        force: bool => .default_bool(false),
        state: State => .default_str("present"),
    }
}

impl NetworkArgs {
    /// The `ipam_config` entries, checked.
    fn ipam(&self) -> Result<Vec<IpamArgs>, String> {
        self.ipam_config
            .iter()
            .flatten()
            .map(|entry| sub_options("ipam_config", entry))
            .collect()
    }

    /// The boolean options, with the key `docker inspect` shows each under and the
    /// `docker network create` flag that sets it.
    fn switches(&self) -> [(&'static str, Option<bool>, &'static str, &'static str); 3] {
        [
            ("internal", self.internal, "Internal", " --internal"),
            ("attachable", self.attachable, "Attachable", " --attachable"),
            ("enable_ipv6", self.enable_ipv6, "EnableIPv6", " --ipv6"),
        ]
    }
}

impl IpamArgs {
    /// The string sub-options, the key `docker inspect` shows each under and the
    /// `docker network create` flag that sets it.
    fn strings(&self) -> [(&Option<String>, &'static str, &'static str); 3] {
        [
            (&self.subnet, "Subnet", "--subnet"),
            (&self.gateway, "Gateway", "--gateway"),
            (&self.iprange, "IPRange", "--ip-range"),
        ]
    }

    /// Whether an inspected IPAM entry has every value this entry gives.
    fn matches(&self, existing: &Json) -> bool {
        let strings = self.strings().into_iter().all(|(value, key, _)| {
            value
                .as_ref()
                .is_none_or(|v| existing.get(key).and_then(Json::as_str) == Some(v))
        });
        let aux = self.aux_addresses.as_ref().is_none_or(|map| {
            let have = object_map(existing.get("AuxiliaryAddresses"));
            map.len() == have.len()
                && map
                    .iter()
                    .all(|(k, v)| have.get(k).map(String::as_str) == v.as_str())
        });
        strings && aux
    }
}

/// Whether the inspected IPAM entries match the wanted ones: as many, and each wanted
/// entry found with the values it gives.
fn same_ipam(current: &[Json], wanted: &[IpamArgs]) -> bool {
    current.len() == wanted.len()
        && wanted
            .iter()
            .all(|entry| current.iter().any(|existing| entry.matches(existing)))
}

/// The options of `docker network create` for the wanted network.
fn create_flags(args: &NetworkArgs, ipam: &[IpamArgs]) -> Result<String, String> {
    let mut flags = format!(" --driver {}", quote(&args.driver));
    if let Some(options) = string_map("driver_options", args.driver_options.as_ref())? {
        flags.push_str(&pair_flags("--opt", &options));
    }
    for entry in ipam {
        for (value, _, flag) in entry.strings() {
            if let Some(value) = value {
                flags.push_str(&format!(" {flag} {}", quote(value)));
            }
        }
        if let Some(pairs) = string_map("aux_addresses", entry.aux_addresses.as_ref())? {
            flags.push_str(&pair_flags("--aux-address", &pairs));
        }
    }
    if let Some(labels) = string_map("labels", args.labels.as_ref())? {
        flags.push_str(&pair_flags("--label", &labels));
    }
    for (_, wanted, _, flag) in args.switches() {
        if wanted == Some(true) {
            flags.push_str(flag);
        }
    }
    Ok(flags)
}

/// How the inspected network differs from the task: `(option, current, wanted)`.
fn compare(
    args: &NetworkArgs,
    ipam: &[IpamArgs],
    network: &Json,
) -> Result<Vec<(String, Json, Json)>, String> {
    let mut found = Vec::new();
    let mut differ = |name: &str, current: Json, wanted: Json| {
        if current != wanted {
            found.push((name.to_string(), current, wanted));
        }
    };
    let driver = field(network, "Driver").cloned().unwrap_or(Json::Null);
    differ("driver", driver, json!(args.driver));
    for (option, wanted, key, _) in args.switches() {
        if let Some(wanted) = wanted {
            let current = field(network, key).cloned().unwrap_or(json!(false));
            differ(option, current, json!(wanted));
        }
    }
    for (option, wanted, key) in [
        ("driver_options", &args.driver_options, "Options"),
        ("labels", &args.labels, "Labels"),
    ] {
        if let Some(wanted) = string_map(option, wanted.as_ref())? {
            let current = object_map(field(network, key));
            if wanted.iter().any(|(k, v)| current.get(k) != Some(v)) {
                differ(option, json!(current), json!(wanted));
            }
        }
    }
    if let Some(given) = &args.ipam_config {
        let current: Vec<Json> = field(network, "IPAM.Config")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        if !same_ipam(&current, ipam) {
            differ("ipam_config", json!(current), json!(given));
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

/// The steps that disconnect `network`'s containers and remove it.
fn removal(args: &NetworkArgs, network: &Json, steps: &mut Steps) {
    let n = quote(&args.name);
    for container in attached(network) {
        steps.push((
            format!("docker network disconnect -f {n} {}", quote(&container)),
            format!("Disconnected container {container}"),
        ));
    }
    steps.push((
        format!("docker network rm {n}"),
        format!("Removed network {}", args.name),
    ));
}

#[async_trait]
impl StateModule for DockerNetwork {
    const NAME: &'static str = "docker_network";
    type Args = NetworkArgs;
    /// The network as inspected, when it exists.
    type State = Option<Json>;
    type Plan = Steps;

    async fn query(
        &self,
        on: &Target<'_>,
        args: &NetworkArgs,
    ) -> Result<Option<Json>, ModuleError> {
        Ok(inspect(on, &[Inspect("network", &args.name)])
            .await?
            .remove(0))
    }

    fn decide(&self, args: &NetworkArgs, current: Option<Json>) -> Result<Decision<Steps>, String> {
        let name = &args.name;
        let n = quote(name);
        let ipam = args.ipam()?;
        let mut differences = Vec::new();
        let mut steps: Steps = Vec::new();
        let mut members = Vec::new();
        match (args.state, &current) {
            (State::Absent, Some(network)) => {
                removal(args, network, &mut steps);
                differences.push(("exists".into(), json!(true), json!(false)));
            }
            (State::Absent, None) => {}
            (State::Present, existing) => {
                let mut create = existing.is_none();
                if let Some(network) = existing {
                    differences = compare(args, &ipam, network)?;
                    if args.force || !differences.is_empty() {
                        removal(args, network, &mut steps);
                        create = true;
                    } else {
                        members = attached(network);
                    }
                } else {
                    differences.push(("exists".into(), json!(false), json!(true)));
                }
                if create {
                    let flags = create_flags(args, &ipam)?;
                    steps.push((
                        format!("docker network create{flags} {n}"),
                        format!("Created network {name}"),
                    ));
                }
                let wanted = args.connected.as_deref().unwrap_or_default();
                for container in wanted.iter().filter(|c| !members.contains(c)) {
                    steps.push((
                        format!("docker network connect {n} {}", quote(container)),
                        format!("Connected container {container}"),
                    ));
                }
                if !args.appends && args.connected.is_some() {
                    for extra in members.iter().filter(|m| !wanted.contains(m)) {
                        steps.push((
                            format!("docker network disconnect {n} {}", quote(extra)),
                            format!("Disconnected container {extra}"),
                        ));
                    }
                }
            }
        }
        let actions: Vec<&String> = steps.iter().map(|(_, action)| action).collect();
        let actions = json!(actions);
        Ok(Decision::maybe(Some(steps).filter(|s| !s.is_empty()))
            .with("actions", actions)
            .with_diff(diff_of(&differences, name))
            .with("network", current.unwrap_or_else(|| json!({}))))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &NetworkArgs,
        steps: Steps,
    ) -> Result<Outcome, ModuleError> {
        run_steps(on, &steps).await?;
        let network = inspect(on, &[Inspect("network", &args.name)])
            .await?
            .remove(0);
        let mut outcome = Outcome::new();
        outcome.insert("network".into(), network.unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Args;
    use crate::modules::typed::{TypedArgs, from_json};
    use indexmap::IndexMap;

    fn args(value: Json) -> NetworkArgs {
        from_json(value).expect("valid")
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
        let ipam = task.ipam().expect("ipam");
        assert_eq!(compare(&task, &ipam, &inspected()), Ok(vec![]));
        assert_eq!(attached(&inspected()), vec!["web".to_string()]);
    }

    #[test]
    fn subnet_driver_and_labels_differences_are_found() {
        let task = args(json!({
            "name": "front", "driver": "macvlan",
            "ipam_config": [{"subnet": "172.31.0.0/24"}], "labels": {"app": "db"}
        }));
        let ipam = task.ipam().expect("ipam");
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
        let ipam = task.ipam().expect("ipam");
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
            Args::parse(NetworkArgs::PARAMS, &bad)
                .expect_err("bad")
                .starts_with("ipam_config: Unsupported parameters: mask.")
        );
    }

    #[test]
    fn a_changed_network_is_emptied_removed_and_made_again() {
        let task = args(json!({
            "name": "front", "ipam_config": [{"subnet": "172.31.0.0/24"}], "connected": ["web"]
        }));
        let decision = DockerNetwork
            .decide(&task, Some(inspected()))
            .expect("a decision");
        let actions: Vec<String> = decision
            .plan
            .expect("a change")
            .into_iter()
            .map(|(_, action)| action)
            .collect();
        assert_eq!(
            actions,
            [
                "Disconnected container web",
                "Removed network front",
                "Created network front",
                "Connected container web"
            ]
        );
        let same = args(json!({"name": "front", "connected": ["web"], "appends": true}));
        let decision = DockerNetwork
            .decide(&same, Some(inspected()))
            .expect("a decision");
        assert!(decision.plan.is_none());
        let gone = args(json!({"name": "front", "state": "absent"}));
        assert!(
            DockerNetwork
                .decide(&gone, None)
                .expect("a decision")
                .plan
                .is_none()
        );
    }
}
