//! `docker_volume`: a volume present with the driver, driver options and labels the
//! task gives (removed and created again only as `recreate` says), or absent.

use async_trait::async_trait;
use indexmap::IndexMap;
use serde_json::{Map, Value as Json, json};

use super::{Inspect, Steps, field, inspect, object_map, pair_flags, run_steps};
use crate::connection::quote;
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a Docker volume on the target.
pub struct DockerVolume;

arg_enum! {
    /// Whether the volume should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

arg_enum! {
    /// When an existing volume is removed and created again.
    pub enum Recreate {
        Always = "always",
        Never = "never",
        OptionsChanged = "options-changed",
    }
}

module_args! {
    /// `docker_volume`'s arguments.
    pub struct VolumeArgs {
        volume_name: String => .required().aliases(&["name"]),
        state: State => .default_str("present"),
        driver: String => .default_str("local"),
        driver_options: Option<Map<String, Json>>,
        labels: Option<Map<String, Json>>,
        recreate: Recreate => .default_str("never"),
    }
}

/// A mapping's values as the strings docker stores; floats and booleans refused in
/// community.docker's words (`sanitize_labels`).
fn strings(option: &str, map: &Map<String, Json>) -> Result<IndexMap<String, String>, String> {
    map.iter()
        .map(|(key, value)| match value {
            Json::String(text) => Ok((key.clone(), text.clone())),
            Json::Number(n) if n.is_i64() || n.is_u64() => Ok((key.clone(), n.to_string())),
            Json::Null => Ok((key.clone(), "None".to_string())),
            other => Err(format!(
                "The value {} for '{key}' of {option} is not a string or something than can be safely converted to a string!",
                python_repr(other)
            )),
        })
        .collect()
}

/// A JSON scalar as Python's `repr` shows it (`True`, `1.5`).
fn python_repr(value: &Json) -> String {
    match value {
        Json::Bool(true) => "True".to_string(),
        Json::Bool(false) => "False".to_string(),
        other => other.to_string(),
    }
}

/// How the inspected volume differs from the task: `(name, active, parameter)`, as
/// community.docker's `has_different_config` names them.
fn differences(
    args: &VolumeArgs,
    options: &IndexMap<String, String>,
    labels: Option<&IndexMap<String, String>>,
    volume: &Json,
) -> Vec<(String, Json, Json)> {
    let mut found = Vec::new();
    let driver = field(volume, "Driver").cloned().unwrap_or(Json::Null);
    if !args.driver.is_empty() && driver != json!(args.driver) {
        found.push(("driver".to_string(), driver, json!(args.driver)));
    }
    if !options.is_empty() {
        let current = object_map(field(volume, "Options"));
        if current.is_empty() {
            let active = field(volume, "Options").cloned().unwrap_or(Json::Null);
            found.push(("driver_options".to_string(), active, json!(options)));
        } else {
            for (key, value) in options {
                let have = current.get(key).filter(|v| !v.is_empty());
                if have != Some(value) {
                    found.push((format!("driver_options.{key}"), json!(have), json!(value)));
                }
            }
        }
    }
    if let Some(labels) = labels.filter(|l| !l.is_empty()) {
        let current = object_map(field(volume, "Labels"));
        for (key, value) in labels {
            if current.get(key) != Some(value) {
                found.push((
                    format!("labels.{key}"),
                    json!(current.get(key)),
                    json!(value),
                ));
            }
        }
    }
    found
}

#[async_trait]
impl StateModule for DockerVolume {
    const NAME: &'static str = "docker_volume";
    type Args = VolumeArgs;
    /// The volume as inspected, when it exists.
    type State = Option<Json>;
    type Plan = Steps;

    async fn query(&self, on: &Target<'_>, args: &VolumeArgs) -> Result<Option<Json>, ModuleError> {
        Ok(inspect(on, &[Inspect("volume", &args.volume_name)])
            .await?
            .remove(0))
    }

    fn decide(&self, args: &VolumeArgs, current: Option<Json>) -> Result<Decision<Steps>, String> {
        let name = &args.volume_name;
        let v = quote(name);
        let options = strings(
            "driver_options",
            &args.driver_options.clone().unwrap_or_default(),
        )?;
        let labels = args
            .labels
            .as_ref()
            .map(|l| strings("labels", l))
            .transpose()?;
        let mut tracked = vec![(
            "exists".to_string(),
            json!(current.is_some()),
            json!(args.state == State::Present),
        )];
        let mut steps: Steps = Vec::new();
        let remove = (
            format!("docker volume rm {v}"),
            format!("Removed volume {name}"),
        );
        let mut different = Vec::new();
        let mut report_volume = true;
        match (args.state, &current) {
            (State::Absent, existing) => {
                report_volume = false;
                if existing.is_some() {
                    steps.push(remove);
                }
            }
            (State::Present, existing) => {
                if let Some(volume) = existing {
                    different = differences(args, &options, labels.as_ref(), volume);
                }
                let recreate = match args.recreate {
                    Recreate::Always => true,
                    Recreate::OptionsChanged => !different.is_empty(),
                    Recreate::Never => false,
                };
                if existing.is_some() && recreate {
                    steps.push(remove);
                }
                if existing.is_none() || recreate {
                    let mut flags = format!(" --driver {}", quote(&args.driver));
                    flags.push_str(&pair_flags("--opt", &options));
                    if let Some(labels) = &labels {
                        flags.push_str(&pair_flags("--label", labels));
                    }
                    steps.push((
                        format!("docker volume create{flags} {v}"),
                        format!("Created volume {name} with driver {}", args.driver),
                    ));
                }
            }
        }
        let names: Vec<&String> = different.iter().map(|(name, ..)| name).collect();
        let mut diff = json!({"differences": names});
        tracked.extend(different.iter().cloned());
        let before: Map<String, Json> = tracked
            .iter()
            .map(|(k, was, _)| (k.clone(), was.clone()))
            .collect();
        let after: Map<String, Json> = tracked
            .iter()
            .map(|(k, _, will)| (k.clone(), will.clone()))
            .collect();
        diff["before"] = Json::Object(before);
        diff["after"] = Json::Object(after);
        let actions: Vec<&String> = steps.iter().map(|(_, action)| action).collect();
        let mut decision = Decision::maybe(Some(steps.clone()).filter(|s| !s.is_empty()))
            .with("actions", json!(actions))
            .with_diff(diff);
        if report_volume {
            // Until it is made, a new volume is not there to report (check mode).
            let volume = current.filter(|_| !steps.iter().any(|(_, a)| a.starts_with("Removed")));
            decision = decision.with("volume", volume.unwrap_or(Json::Null));
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &VolumeArgs,
        steps: Steps,
    ) -> Result<Outcome, ModuleError> {
        run_steps(on, &steps).await?;
        let mut result = Outcome::new();
        if args.state == State::Present {
            let volume = inspect(on, &[Inspect("volume", &args.volume_name)])
                .await?
                .remove(0);
            result.insert("volume".into(), volume.unwrap_or(Json::Null));
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn decide(args: Json, current: Option<Json>) -> Result<Decision<Steps>, String> {
        let args: VolumeArgs = from_json(args).expect("valid arguments");
        DockerVolume.decide(&args, current)
    }

    fn volume() -> Json {
        json!({"Name": "data", "Driver": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}, "Labels": {"app": "web"}})
    }

    #[test]
    fn a_missing_volume_is_created_with_its_options() {
        let decision = decide(
            json!({"name": "data", "driver_options": {"type": "tmpfs"}, "labels": {"app": "web"}}),
            None,
        )
        .expect("decides");
        let steps = decision.plan.expect("a change");
        assert_eq!(
            steps[0].0,
            "docker volume create --driver local --opt type=tmpfs --label app=web data"
        );
        assert_eq!(
            decision.result["actions"],
            json!(["Created volume data with driver local"])
        );
        assert_eq!(decision.result["volume"], Json::Null);
        let diff = decision.diff.expect("diff");
        assert_eq!(diff["before"], json!({"exists": false}));
        assert_eq!(diff["after"], json!({"exists": true}));
    }

    #[test]
    fn a_matching_volume_is_kept_and_a_different_one_recreated_only_when_asked() {
        let same =
            json!({"name": "data", "driver_options": {"type": "tmpfs"}, "labels": {"app": "web"}});
        let decision = decide(same, Some(volume())).expect("decides");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["volume"]["Name"], "data");

        let other = json!({"name": "data", "labels": {"app": "db"}});
        let decision = decide(other.clone(), Some(volume())).expect("decides");
        assert!(decision.plan.is_none(), "recreate defaults to never");
        assert_eq!(
            decision.diff.expect("diff")["differences"],
            json!(["labels.app"])
        );
        let mut recreate = other;
        recreate["recreate"] = json!("options-changed");
        let steps = decide(recreate, Some(volume()))
            .expect("decides")
            .plan
            .expect("a change");
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[0].0, "docker volume rm data");
        let always = json!({"name": "data", "recreate": "always"});
        assert_eq!(
            decide(always, Some(volume()))
                .expect("decides")
                .plan
                .expect("a change")
                .len(),
            2
        );
    }

    #[test]
    fn absent_removes_and_bad_labels_fail() {
        let decision =
            decide(json!({"name": "data", "state": "absent"}), Some(volume())).expect("decides");
        assert_eq!(decision.plan.expect("a change")[0].1, "Removed volume data");
        assert!(decision.result.get("volume").is_none());
        assert!(
            decide(json!({"name": "data", "state": "absent"}), None)
                .expect("decides")
                .plan
                .is_none()
        );
        let err =
            decide(json!({"name": "data", "labels": {"on": true}}), None).expect_err("a boolean");
        assert_eq!(
            err,
            "The value True for 'on' of labels is not a string or something than can be safely converted to a string!"
        );
    }
}
