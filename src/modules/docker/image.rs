//! `docker_image`: an image present (built from a context on the target, loaded from an
//! image archive, or found locally) or absent. As in community.docker, there is no
//! `import` source: a root filesystem becomes an image by a build `FROM scratch`.
//! Nothing is built or loaded again while the image exists, unless `force_source`.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::{Inspect, docker, inspect, pair_flags, string_map, sub_options};
use crate::connection::quote;
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{Rules, arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a Docker image on the target.
pub struct DockerImage;

arg_enum! {
    /// Where a missing image comes from.
    pub enum Source {
        /// `docker build` of a context on the target.
        Build = "build",
        /// `docker load` of an image archive.
        Load = "load",
        /// Nowhere: the image must already exist.
        Local = "local",
    }
}

arg_enum! {
    /// Whether the image should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// The sub-options of `build`.
    pub struct BuildArgs {
        /// The build context on the target.
        path: String => .required(),
        dockerfile: Option<String>,
        /// `--build-arg`s.
        args: Option<Map<String, Json>>,
        nocache: bool => .default_bool(false),
        /// The stage to build.
        target: Option<String>,
        /// Whether intermediate containers are removed.
        rm: bool => .default_bool(true),
    }
}

module_args! {
    /// `docker_image`'s arguments.
    pub struct ImageArgs {
        /// The repository, with or without a tag.
        name: String => .required(),
        /// The tag when `name` has none (`latest` by default).
        tag: Option<String>,
        /// Where a missing image comes from; `local` when not given.
        source: Option<Source>,
        /// The archive `load` and `import` read.
        load_path: Option<String>,
        build: Option<Map<String, Json>> => .options(BuildArgs::PARAMS),
        /// Whether to build or load again although the image exists.
        force_source: bool => .default_bool(false),
        /// Whether `state: absent` removes an image other tags or containers use.
        force_absent: bool => .default_bool(false),
        state: State => .default_str("present"),
    }
    rules: Rules {
        required_if: &[
            ("source", "build", &["build"]),
            ("source", "load", &["load_path"]),
        ],
        ..Rules::NONE
    };
}

impl ImageArgs {
    /// The image reference the task names.
    fn image(&self) -> String {
        reference(&self.name, self.tag.as_deref())
    }

    /// Where a missing image comes from.
    fn source(&self) -> Source {
        self.source.unwrap_or(Source::Local)
    }
}

/// `name` and `tag` as one reference: a tag inside `name` (`busybox:1`) wins over
/// `tag`, which defaults to `latest`. A colon before the last `/` is a registry port.
fn reference(name: &str, tag: Option<&str>) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || name.contains('@') {
        name.to_string()
    } else {
        format!("{name}:{}", tag.unwrap_or("latest"))
    }
}

/// The docker command that makes the image from its source, and the action it reports.
fn make_command(args: &ImageArgs, image: &str) -> Result<(String, String), String> {
    let source = args.source();
    let load_path = || {
        args.load_path.as_deref().ok_or_else(|| {
            format!(
                "source is {} but all of the following are missing: load_path",
                source.as_str()
            )
        })
    };
    match source {
        Source::Build => {
            let build = args
                .build
                .as_ref()
                .ok_or("source is build but all of the following are missing: build")?;
            let build: BuildArgs = sub_options("build", &Json::Object(build.clone()))?;
            let mut cmd = format!("docker build -q -t {}", quote(image));
            if let Some(dockerfile) = &build.dockerfile {
                cmd.push_str(&format!(" -f {}", quote(dockerfile)));
            }
            if let Some(build_args) = string_map("args", build.args.as_ref())? {
                cmd.push_str(&pair_flags("--build-arg", &build_args));
            }
            if build.nocache {
                cmd.push_str(" --no-cache");
            }
            if let Some(target) = &build.target {
                cmd.push_str(&format!(" --target {}", quote(target)));
            }
            if !build.rm {
                cmd.push_str(" --rm=false");
            }
            cmd.push_str(&format!(" {}", quote(&build.path)));
            Ok((cmd, format!("Built image {image} from {}", build.path)))
        }
        Source::Load => {
            let path = load_path()?;
            Ok((
                format!("docker load -q -i {}", quote(path)),
                format!("Loaded image {image} from {path}"),
            ))
        }
        Source::Local => Err(format!("Cannot find the image {image} locally.")),
    }
}

/// The image's ID, if it exists.
fn id_of(image: &Option<Json>) -> Option<&str> {
    image
        .as_ref()
        .and_then(|i| i.get("Id"))
        .and_then(Json::as_str)
}

/// The image's `diff`: its ID before and after.
fn image_diff(image: &str, before: Option<&str>, after: Option<&str>) -> Json {
    json!({
        "before": {"image": image, "id": before},
        "after": {"image": image, "id": after},
    })
}

/// The docker command to run, with the action it reports and the image's ID before.
#[derive(Debug, PartialEq, Eq)]
pub struct ImageChange {
    /// The docker command line.
    command: String,
    /// What the result's `actions` says of it.
    action: String,
    /// The image's ID before, to tell whether the command changed it.
    before: Option<String>,
}

#[async_trait]
impl StateModule for DockerImage {
    const NAME: &'static str = "docker_image";
    type Args = ImageArgs;
    /// The image as inspected, when it exists.
    type State = Option<Json>;
    type Plan = ImageChange;

    async fn query(&self, on: &Target<'_>, args: &ImageArgs) -> Result<Option<Json>, ModuleError> {
        Ok(inspect(on, &[Inspect("image", &args.image())])
            .await?
            .remove(0))
    }

    fn decide(
        &self,
        args: &ImageArgs,
        current: Option<Json>,
    ) -> Result<Decision<ImageChange>, String> {
        let image = args.image();
        let before = id_of(&current).map(str::to_string);
        let change = match args.state {
            State::Absent if current.is_none() => None,
            State::Absent => {
                let flag = if args.force_absent { " -f" } else { "" };
                Some(ImageChange {
                    command: format!("docker rmi{flag} {}", quote(&image)),
                    action: format!("Removed image {image}"),
                    before: before.clone(),
                })
            }
            State::Present => {
                let made = make_command(args, &image);
                let force = args.force_source && args.source() != Source::Local;
                if current.is_none() || force {
                    let (command, action) = made?;
                    Some(ImageChange {
                        command,
                        action,
                        before: before.clone(),
                    })
                } else {
                    None
                }
            }
        };
        let before = before.as_deref();
        let after = match args.state {
            State::Absent => None,
            State::Present => before.or(Some("(new)")),
        };
        let actions: Vec<&str> = change.iter().map(|c| c.action.as_str()).collect();
        let actions = json!(actions);
        Ok(Decision::maybe(change)
            .with("actions", actions)
            .with_diff(image_diff(&image, before, after))
            .with("image", current.clone().unwrap_or_else(|| json!({}))))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &ImageArgs,
        change: ImageChange,
    ) -> Result<Outcome, ModuleError> {
        let image = args.image();
        docker(on, &change.command).await?;
        let after = inspect(on, &[Inspect("image", &image)]).await?.remove(0);
        if args.state == State::Present && after.is_none() {
            return Err(ModuleError::Failed(format!(
                "{} did not make the image {image} (the archive holds other names?)",
                change
                    .command
                    .split_whitespace()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" ")
            )));
        }
        // A forced build or load that made the same image again changed nothing; the
        // diff shows the ID the image has now (the driver drops it without `--diff`).
        let mut outcome = Outcome::new();
        let now = id_of(&after);
        outcome.insert("changed".into(), json!(now != change.before.as_deref()));
        outcome.insert(
            "diff".into(),
            image_diff(&image, change.before.as_deref(), now),
        );
        outcome.insert("image".into(), after.clone().unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::Args;
    use crate::modules::typed::{TypedArgs, from_json};
    use indexmap::IndexMap;

    fn args(value: Json) -> ImageArgs {
        from_json(value).expect("valid")
    }

    #[test]
    fn tags_come_from_the_name_or_default_to_latest() {
        assert_eq!(reference("busybox", None), "busybox:latest");
        assert_eq!(reference("busybox", Some("1")), "busybox:1");
        assert_eq!(reference("busybox:2", Some("1")), "busybox:2");
        assert_eq!(reference("reg:5000/app", Some("v1")), "reg:5000/app:v1");
    }

    #[test]
    fn sources_become_quoted_docker_commands() {
        let build = args(json!({
            "name": "x", "source": "build",
            "build": {"path": "/src dir", "dockerfile": "D", "args": {"V": 1}, "nocache": "yes"}
        }));
        let (cmd, action) = make_command(&build, "x:latest").expect("build");
        assert_eq!(
            cmd,
            "docker build -q -t x:latest -f D --build-arg V=1 --no-cache '/src dir'"
        );
        assert_eq!(action, "Built image x:latest from /src dir");
        let import = from_json::<ImageArgs>(json!({"name": "x", "source": "import"}));
        assert!(
            import
                .expect_err("community.docker has no import")
                .contains("import"),
            "refused as community.docker refuses it"
        );
        let err =
            from_json::<ImageArgs>(json!({"name": "x", "source": "load"})).expect_err("no path");
        assert_eq!(
            err,
            "source is load but all of the following are missing: load_path"
        );
        let bad: IndexMap<String, Json> =
            serde_json::from_value(json!({"name": "x", "source": "build", "build": {"pth": "/"}}))
                .expect("a mapping");
        let err = Args::parse(ImageArgs::PARAMS, &bad).expect_err("bad build");
        assert!(
            err.starts_with("build: Unsupported parameters: pth."),
            "{err}"
        );
        assert_eq!(
            make_command(&args(json!({"name": "x"})), "x:1").expect_err("local"),
            "Cannot find the image x:1 locally."
        );
    }

    #[test]
    fn an_existing_image_is_made_again_only_when_forced() {
        let existing = Some(json!({"Id": "sha256:1"}));
        let task = json!({"name": "x", "source": "load", "load_path": "/x.tar"});
        let decision = DockerImage
            .decide(&args(task.clone()), existing.clone())
            .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["actions"], json!([]));
        let mut forced = task;
        forced["force_source"] = json!(true);
        let decision = DockerImage
            .decide(&args(forced), existing.clone())
            .expect("a decision");
        let change = decision.plan.expect("a change");
        assert_eq!(change.command, "docker load -q -i /x.tar");
        assert_eq!(change.before.as_deref(), Some("sha256:1"));
        let missing = DockerImage
            .decide(&args(json!({"name": "x"})), None)
            .expect_err("nowhere to get it from");
        assert_eq!(missing, "Cannot find the image x:latest locally.");
    }

    #[test]
    fn absent_removes_what_exists() {
        let task = json!({"name": "x:1", "state": "absent", "force_absent": true});
        let decision = DockerImage
            .decide(&args(task.clone()), Some(json!({"Id": "sha256:1"})))
            .expect("a decision");
        assert_eq!(
            decision.plan.map(|c| c.command).as_deref(),
            Some("docker rmi -f x:1")
        );
        assert_eq!(
            decision.diff,
            Some(image_diff("x:1", Some("sha256:1"), None))
        );
        let decision = DockerImage.decide(&args(task), None).expect("a decision");
        assert!(decision.plan.is_none());
    }
}
