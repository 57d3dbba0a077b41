//! `docker_container`: a container created, started, stopped or removed. The query
//! inspects the container and the wanted image in one round trip; `decide` compares
//! the existing container's configuration with the task's, option by option
//! ([`compare`]; options the task does not give are not compared) and plans the docker
//! commands ([`steps`]): the container is recreated only on a real difference, and
//! networks are connected (and, with `purge_networks`, disconnected) without
//! recreating. `apply` runs the commands and inspects the result.

mod compare;
mod lookup;
mod steps;
mod wanted;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::{Inspect, diff_of, docker, inspect};
use crate::connection::Command;
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};
use steps::Steps;
use wanted::{NetworkArgs, Wanted};

/// Manages a Docker container on the target.
pub struct DockerContainer;

arg_enum! {
    /// What the container should be.
    pub enum State {
        Absent = "absent",
        /// Created, running or not.
        Present = "present",
        Started = "started",
        Stopped = "stopped",
    }
}

arg_enum! {
    /// When docker restarts the container.
    pub enum RestartPolicy {
        No = "no",
        OnFailure = "on-failure",
        Always = "always",
        UnlessStopped = "unless-stopped",
    }
}

module_args! {
    /// `docker_container`'s arguments.
    pub struct ContainerArgs {
        /// The container's name.
        name: String => .required(),
        /// The image to create it from, as `docker_image` made it.
        image: Option<String>,
        state: State => .default_str("started"),
        /// The command: a string split as a shell would, or a list.
        command: Json,
        entrypoint: Option<Vec<String>>,
        env: Option<Map<String, Json>>,
        labels: Option<Map<String, Json>>,
        published_ports: Option<Vec<String>> => .aliases(&["ports"]),
        volumes: Option<Vec<String>>,
        restart_policy: Option<RestartPolicy>,
        restart_retries: Option<i64>,
        networks: Option<Vec<Json>> => .options(NetworkArgs::PARAMS),
        /// Whether networks the task does not list are disconnected.
        purge_networks: bool => .default_bool(false),
        network_mode: Option<String>,
        hostname: Option<String>,
        working_dir: Option<String>,
        user: Option<String>,
        /// Whether to recreate the container although it matches.
        recreate: bool => .default_bool(false),
        /// Whether to restart a running container that matches.
        restart: bool => .default_bool(false) .aliases(&["restarted"]),
        /// Whether removing the container keeps its anonymous volumes.
        keep_volumes: bool => .default_bool(true),
        /// Seconds `docker stop` and `docker restart` wait before killing.
        stop_timeout: Option<i64>,
    }
}

/// What the query found: the container and the wanted image, as inspected.
pub struct Found {
    /// The container, when it exists.
    container: Option<Json>,
    /// The task's image, when it names one that exists.
    image: Option<Json>,
}

#[async_trait]
impl StateModule for DockerContainer {
    const NAME: &'static str = "docker_container";
    type Args = ContainerArgs;
    type State = Found;
    type Plan = Steps;

    async fn query(&self, on: &Target<'_>, args: &ContainerArgs) -> Result<Found, ModuleError> {
        if let Some(image) = &args.image {
            let out = on
                .conn
                .exec(&Command::new(lookup::script(&args.name, image)))
                .await?;
            if out.rc != 0 {
                return Err(ModuleError::Failed(out.stderr_text().trim().to_string()));
            }
            let untyped = lookup::Untyped::parse(&out.stdout_text(), &out.stderr_text())
                .map_err(ModuleError::Failed)?;
            if let Some(found) = untyped.resolve(&args.name, image) {
                return Ok(found);
            }
        }
        let mut objects = vec![Inspect("container", args.name.as_str())];
        if let Some(image) = &args.image {
            objects.push(Inspect("image", image));
        }
        let mut found = inspect(on, &objects).await?.into_iter();
        Ok(Found {
            container: found.next().flatten(),
            image: found.next().flatten(),
        })
    }

    fn decide(&self, args: &ContainerArgs, found: Found) -> Result<Decision<Steps>, String> {
        let wanted = Wanted::from_args(args)?;
        let (steps, differences) = steps::plan(args, &wanted, &found)?;
        let actions: Vec<&String> = steps.iter().map(|(_, action)| action).collect();
        let actions = json!(actions);
        Ok(Decision::maybe(Some(steps).filter(|s| !s.is_empty()))
            .with("actions", actions)
            .with_diff(diff_of(&differences, &args.name))
            .with("container", found.container.unwrap_or_else(|| json!({}))))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &ContainerArgs,
        steps: Steps,
    ) -> Result<Outcome, ModuleError> {
        let script: Vec<&str> = steps.iter().map(|(cmd, _)| cmd.as_str()).collect();
        docker(on, &script.join(" >/dev/null && ")).await?;
        let container = inspect(on, &[Inspect("container", &args.name)])
            .await?
            .remove(0);
        let mut outcome = Outcome::new();
        outcome.insert("container".into(), container.unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}
