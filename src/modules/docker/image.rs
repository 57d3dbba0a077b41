//! `docker_image`: an image present (built from a context on the target, loaded from an
//! image archive, imported from a root filesystem tarball, or found locally) or absent.
//! Nothing is built or loaded again while the image exists, unless `force_source`.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::{Inspect, docker, inspect, pair_flags, string_map, sub_options};
use crate::connection::quote;
use crate::modules::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};

/// Manages a Docker image on the target.
pub struct DockerImage;

/// The sub-options of `build`.
const BUILD: &[Param] = &[
    Param::new("path", Kind::Str).required(),
    Param::new("dockerfile", Kind::Str),
    Param::new("args", Kind::Dict),
    Param::new("nocache", Kind::Bool),
    Param::new("target", Kind::Str),
    Param::new("rm", Kind::Bool),
];

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
fn make_command(source: &str, image: &str, args: &Args) -> Result<(String, String), String> {
    let load_path = || {
        args.str("load_path").ok_or_else(|| {
            format!("source is {source} but all of the following are missing: load_path")
        })
    };
    match source {
        "build" => {
            let build = args
                .get("build")
                .ok_or("source is build but all of the following are missing: build")?;
            let build = sub_options("build", build, BUILD)?;
            let path = build.str("path").unwrap_or_default();
            let mut cmd = format!("docker build -q -t {}", quote(image));
            if let Some(dockerfile) = build.str("dockerfile") {
                cmd.push_str(&format!(" -f {}", quote(dockerfile)));
            }
            if let Some(build_args) = string_map(&build, "args")? {
                cmd.push_str(&pair_flags("--build-arg", &build_args));
            }
            if build.bool_or("nocache", false) {
                cmd.push_str(" --no-cache");
            }
            if let Some(target) = build.str("target") {
                cmd.push_str(&format!(" --target {}", quote(target)));
            }
            if !build.bool_or("rm", true) {
                cmd.push_str(" --rm=false");
            }
            cmd.push_str(&format!(" {}", quote(path)));
            Ok((cmd, format!("Built image {image} from {path}")))
        }
        "load" => {
            let path = load_path()?;
            Ok((
                format!("docker load -q -i {}", quote(path)),
                format!("Loaded image {image} from {path}"),
            ))
        }
        "import" => {
            let path = load_path()?;
            Ok((
                format!("docker import {} {}", quote(path), quote(image)),
                format!("Imported image {image} from {path}"),
            ))
        }
        _ => Err(format!("Cannot find the image {image} locally.")),
    }
}

/// The image's ID, if it exists.
fn id_of(image: &Option<Json>) -> Option<&str> {
    image
        .as_ref()
        .and_then(|i| i.get("Id"))
        .and_then(Json::as_str)
}

#[async_trait]
impl Module for DockerImage {
    fn name(&self) -> &'static str {
        "docker_image"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str).required(),
            Param::new("tag", Kind::Str),
            Param::new("source", Kind::Str).choices(&["build", "load", "import", "local"]),
            Param::new("load_path", Kind::Str),
            Param::new("build", Kind::Dict).options(BUILD),
            Param::new("force_source", Kind::Bool),
            Param::new("force_absent", Kind::Bool),
            Param::new("state", Kind::Str).choices(&["present", "absent"]),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let image = reference(args.str("name").unwrap_or_default(), args.str("tag"));
        let state = args.str("state").unwrap_or("present");
        let source = args.str("source").unwrap_or("local");
        let force = args.bool_or("force_source", false);
        let make = if state == "present" {
            Some(make_command(source, &image, args).map_err(ModuleError::Failed))
        } else {
            None
        };
        let current = inspect(ctx, &[Inspect("image", &image)]).await?.remove(0);
        let (command, action) = match (state, make) {
            ("absent", _) if current.is_none() => (None, None),
            ("absent", _) => {
                let flag = if args.bool_or("force_absent", false) {
                    " -f"
                } else {
                    ""
                };
                (
                    Some(format!("docker rmi{flag} {}", quote(&image))),
                    Some(format!("Removed image {image}")),
                )
            }
            (_, Some(made)) if current.is_none() || (force && source != "local") => {
                let (command, action) = made?;
                (Some(command), Some(action))
            }
            _ => (None, None),
        };
        let mut outcome = crate::modules::ok(command.is_some());
        outcome.insert("actions".into(), json!(action.iter().collect::<Vec<_>>()));
        let before = id_of(&current).map(str::to_string);
        let after = match &command {
            Some(command) if !ctx.check_mode => {
                docker(ctx, command).await?;
                let after = inspect(ctx, &[Inspect("image", &image)]).await?.remove(0);
                if state == "present" && after.is_none() {
                    return Err(ModuleError::Failed(format!(
                        "{} did not make the image {image} (the archive holds other names?)",
                        command
                            .split_whitespace()
                            .take(2)
                            .collect::<Vec<_>>()
                            .join(" ")
                    )));
                }
                // A forced build or load that made the same image again changed nothing.
                outcome.insert("changed".into(), json!(id_of(&after) != before.as_deref()));
                after
            }
            _ => current,
        };
        outcome.insert(
            "diff".into(),
            json!({
                "before": {"image": image, "id": before},
                "after": {"image": image, "id": if state == "absent" { None } else { id_of(&after).or(Some("(new)")) }},
            }),
        );
        outcome.insert("image".into(), after.unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn args(value: Json) -> Args {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        Args::parse(DockerImage.params(), &raw).expect("valid")
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
            "build": {"path": "/src dir", "dockerfile": "D", "args": {"V": 1}, "nocache": true}
        }));
        let (cmd, action) = make_command("build", "x:latest", &build).expect("build");
        assert_eq!(
            cmd,
            "docker build -q -t x:latest -f D --build-arg V=1 --no-cache '/src dir'"
        );
        assert_eq!(action, "Built image x:latest from /src dir");
        let import = args(json!({"name": "x", "source": "import", "load_path": "/t.tar"}));
        assert_eq!(
            make_command("import", "x:1", &import).expect("import").0,
            "docker import /t.tar x:1"
        );
        let missing = args(json!({"name": "x", "source": "load"}));
        assert_eq!(
            make_command("load", "x:1", &missing).expect_err("no path"),
            "source is load but all of the following are missing: load_path"
        );
        let bad: IndexMap<String, Json> =
            serde_json::from_value(json!({"name": "x", "source": "build", "build": {"pth": "/"}}))
                .expect("a mapping");
        let err = Args::parse(DockerImage.params(), &bad).expect_err("bad build");
        assert!(
            err.starts_with("build: Unsupported parameters: pth."),
            "{err}"
        );
        assert_eq!(
            make_command("local", "x:1", &missing).expect_err("local"),
            "Cannot find the image x:1 locally."
        );
    }
}
