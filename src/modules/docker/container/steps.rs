//! What `docker_container` must do, decided from the task and what the query found:
//! remove, (re)create, connect and disconnect networks, start, stop or restart, as
//! docker commands in order, with the differences they answer for the diff.

use serde_json::{Value as Json, json};

use super::super::field;
use super::compare::{Difference, connected_networks};
use super::wanted::Wanted;
use super::{ContainerArgs, Found, State};
use crate::connection::quote;

/// The docker commands to run, in order, each with the action it reports.
pub type Steps = Vec<(String, String)>;

/// Plans the steps that bring the container found to what the task wants, and the
/// differences they answer.
pub fn plan(
    args: &ContainerArgs,
    wanted: &Wanted,
    found: &Found,
) -> Result<(Steps, Vec<Difference>), String> {
    let name = &args.name;
    let n = quote(name);
    let current = found.container.as_ref();
    let mut steps: Steps = Vec::new();
    let mut differences = Vec::new();
    if args.state == State::Absent {
        if current.is_some() {
            let volumes = if args.keep_volumes { "" } else { " -v" };
            steps.push((format!("docker rm -f{volumes} {n}"), "removed".into()));
            differences.push(("exists".into(), json!(true), json!(false)));
        }
        return Ok((steps, differences));
    }
    if let Some(container) = current {
        differences = wanted.differences(container, found.image.as_ref());
    }
    let recreate = current.is_some() && (args.recreate || !differences.is_empty());
    let create = current.is_none() || recreate;
    if create {
        let Some(image_name) = &wanted.image else {
            return Err(format!(
                "Cannot create container {name} when image is not specified!"
            ));
        };
        if found.image.is_none() {
            return Err(format!(
                "Cannot find image {image_name} on the target (no registry is consulted: build or load it with docker_image first)"
            ));
        }
        if recreate {
            steps.push((format!("docker rm -f {n}"), "removed".into()));
        } else {
            differences.push(("exists".into(), json!(false), json!(true)));
        }
        steps.push((wanted.create_command(name, image_name), "created".into()));
    }
    let connected = match (current, create) {
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
    if args.purge_networks
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
    let running = current
        .and_then(|c| field(c, "State.Running"))
        .and_then(Json::as_bool)
        .unwrap_or(false);
    let stop_timeout = args
        .stop_timeout
        .map(|t| format!(" -t {t}"))
        .unwrap_or_default();
    let start = match args.state {
        State::Started => create || !running,
        State::Present => recreate && running,
        _ => false,
    };
    if start {
        steps.push((format!("docker start {n}"), "started".into()));
        if !create {
            differences.push(("running".into(), json!(false), json!(true)));
        }
    } else if args.state == State::Stopped && running && !create {
        steps.push((format!("docker stop{stop_timeout} {n}"), "stopped".into()));
        differences.push(("running".into(), json!(true), json!(false)));
    } else if args.state == State::Started && running && args.restart {
        steps.push((
            format!("docker restart{stop_timeout} {n}"),
            "restarted".into(),
        ));
    }
    Ok((steps, differences))
}

#[cfg(test)]
mod tests {
    use super::super::DockerContainer;
    use super::super::compare::tests::{image, inspected};
    use super::*;
    use crate::modules::contract::{Decision, StateModule};
    use crate::modules::typed::from_json;

    fn decide(task: Json, container: Option<Json>, image: Option<Json>) -> Decision<Steps> {
        let args = from_json(task).expect("valid");
        DockerContainer
            .decide(&args, Found { container, image })
            .expect("a decision")
    }

    fn actions(decision: &Decision<Steps>) -> Vec<&str> {
        decision
            .plan
            .iter()
            .flatten()
            .map(|(_, action)| action.as_str())
            .collect()
    }

    const WEB: &str = r#"{"name": "web", "image": "bb:1", "command": "httpd -f",
        "published_ports": ["80:8080"], "env": {"A": "1"},
        "restart_policy": "unless-stopped", "volumes": ["/srv:/www:ro"]}"#;

    fn web() -> Json {
        serde_json::from_str(WEB).expect("json")
    }

    #[test]
    fn a_missing_container_is_created_and_started() {
        let decision = decide(web(), None, Some(image()));
        assert_eq!(actions(&decision), ["created", "started"]);
        assert_eq!(decision.result["container"], json!({}));
        let diff = decision.diff.expect("a diff");
        assert_eq!(diff["after"]["exists"], json!(true));
    }

    #[test]
    fn a_matching_container_is_left_alone_and_a_different_one_recreated() {
        let decision = decide(web(), Some(inspected()), Some(image()));
        assert!(decision.plan.is_none(), "{:?}", decision.plan);
        assert_eq!(decision.result["container"], inspected());
        let mut task = web();
        task["env"] = json!({"A": "2"});
        let decision = decide(task, Some(inspected()), Some(image()));
        assert_eq!(actions(&decision), ["removed", "created", "started"]);
        let diff = decision.diff.expect("a diff");
        assert_eq!(diff["after"]["env"]["A"], json!("2"));
    }

    #[test]
    fn states_stop_restart_and_remove() {
        let mut task = web();
        task["state"] = json!("stopped");
        task["stop_timeout"] = json!(3);
        let decision = decide(task, Some(inspected()), Some(image()));
        let plan = decision.plan.expect("a stop");
        assert_eq!(
            plan,
            [("docker stop -t 3 web".to_string(), "stopped".to_string())]
        );
        let mut task = web();
        task["restart"] = json!(true);
        let decision = decide(task, Some(inspected()), Some(image()));
        assert_eq!(actions(&decision), ["restarted"]);
        let gone = json!({"name": "web", "state": "absent", "keep_volumes": false});
        let decision = decide(gone.clone(), Some(inspected()), None);
        assert_eq!(
            decision.plan.expect("a removal")[0].0,
            "docker rm -f -v web"
        );
        assert!(decide(gone, None, None).plan.is_none());
    }

    #[test]
    fn networks_are_connected_and_purged_without_recreating() {
        let mut task = web();
        task["networks"] = json!([{"name": "front", "aliases": ["site"]}]);
        task["purge_networks"] = json!(true);
        let decision = decide(task, Some(inspected()), Some(image()));
        let plan = decision.plan.expect("network changes");
        assert_eq!(
            plan.iter().map(|(cmd, _)| cmd.as_str()).collect::<Vec<_>>(),
            [
                "docker network connect --alias site front web",
                "docker network disconnect bridge web"
            ]
        );
    }

    #[test]
    fn creating_needs_an_image_on_the_target() {
        let args: ContainerArgs = from_json(json!({"name": "web"})).expect("valid");
        let found = Found {
            container: None,
            image: None,
        };
        let err = DockerContainer.decide(&args, found).expect_err("no image");
        assert_eq!(
            err,
            "Cannot create container web when image is not specified!"
        );
        let args: ContainerArgs = from_json(web()).expect("valid");
        let found = Found {
            container: None,
            image: None,
        };
        let err = DockerContainer.decide(&args, found).expect_err("no image");
        assert!(
            err.starts_with("Cannot find image bb:1 on the target"),
            "{err}"
        );
    }
}
