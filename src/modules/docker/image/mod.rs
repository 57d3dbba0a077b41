//! `docker_image`: an image present (built from a context on the target, loaded from an
//! image archive, pulled from a registry, or found locally), optionally saved as an
//! archive, tagged as another `repository` and pushed; or absent. As in
//! community.docker, there is no `import` source (a root filesystem becomes an image
//! by a build `FROM scratch`), nothing is made again while the image exists unless
//! `force_source`, and a forced build, load or pull is a change only when the image's
//! ID changed. Each step's `changed` replaces the one before, as in the collection (a
//! push that uploaded nothing reports no change).

mod archive;
mod args;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use self::args::{ImageArgs, Named, Source, State};
use super::reference::registry_of;
use super::{Inspect, docker, inspect, probe, read_inspection, transfer};
use crate::connection::quote;
use crate::modules::contract::{Decision, StateModule};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a Docker image on the target.
pub struct DockerImage;

/// What the query finds.
#[derive(Debug, Default)]
pub struct Found {
    /// The image the task names, inspected.
    image: Option<Json>,
    /// The image `repository` names, inspected.
    target: Option<Json>,
    /// Whether the build context or archive to load exists.
    source_there: bool,
    /// The archive at `archive_path`.
    archive: Option<archive::Found>,
}

/// How a missing image is made.
#[derive(Debug, PartialEq, Eq)]
pub struct Make {
    /// The docker command line.
    command: String,
    /// What `actions` says of it.
    action: String,
    /// Whether the command is `docker load` (whose output names what it loaded).
    load: bool,
}

/// The steps to take, in community.docker's order.
#[derive(Debug, Default)]
pub struct ImagePlan {
    /// Build, load or pull.
    make: Option<Make>,
    /// The archive as found, when `archive_path` is given.
    archive: Option<(String, archive::Found)>,
    /// Tag the image as `repository` (`image` as docker names it, and the new name).
    tag: Option<(String, Named)>,
    /// Push this repository and tag.
    push: Option<Named>,
    /// Remove the image (the `docker rmi` command line).
    remove: Option<String>,
    /// The image as the query found it.
    image: Option<Json>,
    /// The image `repository` named, as the query found it.
    target: Option<Json>,
}

/// The image's ID, if it exists.
fn id_of(image: Option<&Json>) -> Option<&str> {
    image.and_then(|i| i.get("Id")).and_then(Json::as_str)
}

/// The image's `diff`: its ID before and after.
fn image_diff(image: &str, before: Option<&str>, after: Option<&str>) -> Json {
    json!({
        "before": {"image": image, "id": before},
        "after": {"image": image, "id": after},
    })
}

/// How the task's image is made when it is missing (or forced), with the
/// collection's refusals.
fn make(args: &ImageArgs, named: &Named, found: &Found) -> Result<Option<Make>, String> {
    match args.source() {
        Source::Build => {
            if named.is_id() {
                return Err(format!(
                    "Image name must not be an image ID for source=build; got: {}",
                    named.name
                ));
            }
            let Some(build) = args.build()? else {
                return Err("If \"source\" is set to \"build\", the \"build.path\" option must be specified.".into());
            };
            if !found.source_there {
                return Err(format!(
                    "Requested build path {} could not be found or you do not have access.",
                    build.path()
                ));
            }
            Ok(Some(Make {
                command: build.command(&named.reference())?,
                action: format!("Built image {} from {}", named.shown(), build.path()),
                load: false,
            }))
        }
        Source::Load => {
            let path = args.load_path().unwrap_or_default();
            if !found.source_there {
                return Err(format!(
                    "Error loading image {}. Specified path {path} does not exist.",
                    named.name
                ));
            }
            Ok(Some(Make {
                command: format!("docker load -i {}", quote(path)),
                action: format!("Loaded image {} from {path}", named.shown()),
                load: true,
            }))
        }
        Source::Pull => {
            if named.is_id() {
                return Err(format!(
                    "Image name must not be an image ID for source=pull; got: {}",
                    named.name
                ));
            }
            let platform = args.pull_platform()?;
            Ok(Some(Make {
                command: transfer::pull_command(&named.reference(), platform.as_deref()),
                action: format!("Pulled image {}:{}", named.name, named.tag),
                load: false,
            }))
        }
        Source::Local if found.image.is_none() => {
            Err(format!("Cannot find the image {} locally.", named.shown()))
        }
        Source::Local => Ok(None),
    }
}

/// The action of pushing `push` (the collection names the task's image in it).
fn push_action(named: &Named, push: &Named) -> String {
    let (registry, repo) = registry_of(&push.name);
    format!(
        "Pushed image {} to {registry}/{repo}:{}",
        named.name, push.tag
    )
}

/// Checks what `docker load` printed against the image wanted: community.docker's
/// failures, and its warning when the archive held more.
fn check_loaded(output: &str, named: &Named) -> Result<Option<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for line in output.lines() {
        if let Some(id) = line.strip_prefix("Loaded image ID:") {
            ids.push(id.trim().to_lowercase());
        } else if let Some(name) = line.strip_prefix("Loaded image:") {
            names.push(name.trim().to_string());
        }
    }
    if names.is_empty() && ids.is_empty() {
        return Err("Detected no loaded images. Archive potentially corrupt?".to_string());
    }
    let listed = |names: &[String], ids: &[String]| {
        let mut quoted: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
        quoted.sort();
        quoted.extend(ids.iter().cloned());
        quoted.join(", ")
    };
    let expected = if named.is_id() {
        named.name.to_lowercase()
    } else {
        format!("{}:{}", named.name, named.tag)
    };
    let present = if named.is_id() {
        ids.contains(&expected)
    } else {
        names.contains(&expected)
    };
    if !present {
        return Err(format!(
            "The archive did not contain image '{expected}'. Instead, found {}.",
            listed(&names, &ids)
        ));
    }
    names.retain(|n| *n != expected);
    Ok((!names.is_empty()).then(|| {
        format!(
            "The archive contained more images than specified: {}",
            listed(&names, &ids)
        )
    }))
}

#[async_trait]
impl StateModule for DockerImage {
    const NAME: &'static str = "docker_image";
    type Args = ImageArgs;
    type State = Found;
    type Plan = ImagePlan;

    async fn query(&self, on: &Target<'_>, args: &ImageArgs) -> Result<Found, ModuleError> {
        let named = args.named().map_err(ModuleError::Failed)?;
        let source_path = match args.source() {
            Source::Build => args
                .build()
                .map_err(ModuleError::Failed)?
                .map(|b| format!("[ -d {} ]", quote(b.path()))),
            Source::Load => args.load_path().map(|p| format!("[ -f {} ]", quote(p))),
            Source::Pull | Source::Local => None,
        };
        let mut parts = vec![match &source_path {
            Some(test) => format!("if {test}; then echo yes; else echo no; fi"),
            None => "echo yes".to_string(),
        }];
        parts.push(Inspect("image", &named.reference()).script());
        let target = args.target(&named).map(|t| t.reference());
        if let Some(target) = &target {
            parts.push(Inspect("image", target).script());
        }
        if let Some(path) = args.archive_path() {
            parts.push(archive::probe(path));
        }
        let outputs = probe(on, &parts).await?;
        let mut outputs = outputs.iter();
        let mut next = || outputs.next().map(String::as_str).unwrap_or_default();
        let source_there = next().trim() == "yes";
        let image = read_inspection(next()).map_err(ModuleError::Failed)?;
        let target = match target {
            Some(_) => read_inspection(next()).map_err(ModuleError::Failed)?,
            None => None,
        };
        let archive = args.archive_path().map(|_| archive::read(next()));
        Ok(Found {
            image,
            target,
            source_there,
            archive,
        })
    }

    fn decide(&self, args: &ImageArgs, found: Found) -> Result<Decision<ImagePlan>, String> {
        let named = args.named()?;
        let reference = named.reference();
        let before = id_of(found.image.as_ref()).map(str::to_string);
        let mut plan = ImagePlan::default();
        let mut actions: Vec<String> = Vec::new();
        let mut image = json!({});
        match args.state() {
            State::Absent => {
                if found.image.is_some() {
                    let flag = if args.force_absent() { " -f" } else { "" };
                    plan.remove = Some(format!("docker rmi{flag} {}", quote(&reference)));
                    actions.push(format!("Removed image {}", named.shown()));
                }
            }
            State::Present => {
                if found.image.is_none() || args.force_source() {
                    plan.make = make(args, &named, &found)?;
                } else if let Some(current) = &found.image {
                    image = current.clone();
                }
                actions.extend(plan.make.iter().map(|m| m.action.clone()));
                if let (Some(path), Some(archived)) = (args.archive_path(), found.archive) {
                    let action = before
                        .as_deref()
                        .and_then(|id| archive::action(&archived, path, &named.shown(), id));
                    actions.extend(action);
                    plan.archive = Some((path.to_string(), archived));
                }
                match args.target(&named) {
                    Some(target) => {
                        if found.target.is_none() || args.force_tag() {
                            actions.push(format!(
                                "Tagged image {} to {}:{}",
                                tagged_name(&named),
                                target.name,
                                target.tag
                            ));
                            plan.tag = Some((tagged_name(&named), target.clone()));
                        }
                        if args.push() {
                            actions.push(push_action(&named, &target));
                            plan.push = Some(target);
                        }
                    }
                    None if args.push() => {
                        actions.push(push_action(&named, &named));
                        plan.push = Some(named.clone());
                    }
                    None => {}
                }
            }
        }
        let changes = plan.make.is_some()
            || plan.tag.is_some()
            || plan.push.is_some()
            || plan.remove.is_some()
            || actions.iter().any(|a| a.starts_with("Archived image"));
        let after = match args.state() {
            State::Absent => None,
            State::Present if plan.make.is_some() => Some("(new)"),
            State::Present => before.as_deref(),
        };
        let diff = image_diff(&reference, before.as_deref(), after);
        plan.image = found.image;
        plan.target = found.target;
        Ok(Decision::maybe(Some(plan).filter(|_| changes))
            .with("actions", json!(actions))
            .with("image", image)
            .with_diff(diff))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &ImageArgs,
        plan: ImagePlan,
    ) -> Result<Outcome, ModuleError> {
        let named = args.named().map_err(ModuleError::Failed)?;
        let reference = named.reference();
        let mut outcome = Outcome::new();
        if let Some(command) = plan.remove {
            if let Err(ModuleError::Failed(error)) = docker(on, &command).await
                && !error.contains("No such image")
            {
                return Err(ModuleError::Failed(format!(
                    "Error removing image {} - {error}",
                    named.shown()
                )));
            }
            outcome.insert("changed".into(), json!(true));
            outcome.insert("image".into(), json!({"state": "Deleted"}));
            return Ok(outcome);
        }
        let before = plan.image;
        let mut changed = false;
        let mut image = before.clone();
        if let Some(made) = plan.make {
            let output = match docker(on, &made.command).await {
                Ok(output) => output,
                Err(ModuleError::Failed(error)) if made.command.starts_with("docker pull") => {
                    return Err(ModuleError::Failed(format!(
                        "Error pulling image {}:{} - {error}",
                        named.name, named.tag
                    )));
                }
                Err(other) => return Err(other),
            };
            if made.load
                && let Some(warning) = check_loaded(&output, &named).map_err(ModuleError::Failed)?
            {
                outcome.insert("warnings".into(), json!([warning]));
            }
            if made.command.starts_with("docker build") {
                outcome.insert("stdout".into(), json!(output.trim_end()));
            }
            image = inspect(on, &[Inspect("image", &reference)])
                .await?
                .remove(0);
            changed = !(before.is_some() && id_of(before.as_ref()) == id_of(image.as_ref()));
        }
        if let (Some((path, archived)), Some(id)) = (plan.archive, id_of(image.as_ref())) {
            let action = archive::action(&archived, &path, &named.shown(), id);
            if action.is_some() {
                docker(
                    on,
                    &format!("docker save -o {} {}", quote(&path), quote(&reference)),
                )
                .await
                .map_err(|e| {
                    ModuleError::Failed(format!("Error getting image {} - {e}", named.shown()))
                })?;
            }
            changed = action.is_some();
        }
        if let Some((from, target)) = plan.tag {
            let to = target.reference();
            let had = plan.target;
            docker(on, &format!("docker tag {} {}", quote(&from), quote(&to)))
                .await
                .map_err(|e| {
                    ModuleError::Failed(format!("Error: failed to tag image - {}", message(e)))
                })?;
            image = inspect(on, &[Inspect("image", &to)]).await?.remove(0);
            changed = !(had.is_some() && id_of(had.as_ref()) == id_of(image.as_ref()));
        }
        if let Some(push) = plan.push {
            changed = transfer::push(on, &push.name, &push.tag).await?;
            let pushed = inspect(on, &[Inspect("image", &push.reference())])
                .await?
                .remove(0);
            let mut shown = pushed.unwrap_or_else(|| json!({}));
            shown["push_status"] = Json::Null;
            image = Some(shown);
        }
        outcome.insert("changed".into(), json!(changed));
        outcome.insert(
            "diff".into(),
            image_diff(
                &reference,
                id_of(before.as_ref()),
                id_of(image.as_ref()).or(id_of(before.as_ref())),
            ),
        );
        outcome.insert("image".into(), image.unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}

/// The image as `docker tag` is given it: `name:tag`, unless an ID or already tagged.
fn tagged_name(named: &Named) -> String {
    if named.is_id() || named.name.ends_with(&format!(":{}", named.tag)) {
        named.name.clone()
    } else {
        format!("{}:{}", named.name, named.tag)
    }
}

/// A module error's message.
fn message(error: ModuleError) -> String {
    match error {
        ModuleError::Failed(text) => text,
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(value: Json) -> ImageArgs {
        from_json(value).expect("valid")
    }

    fn found(image: Option<Json>) -> Found {
        Found {
            image,
            source_there: true,
            ..Found::default()
        }
    }

    fn decide(task: Json, state: Found) -> Result<Decision<ImagePlan>, String> {
        DockerImage.decide(&args(task), state)
    }

    #[test]
    fn an_existing_image_is_made_again_only_when_forced() {
        let existing = Some(json!({"Id": "sha256:1"}));
        let task = json!({"name": "x", "source": "load", "load_path": "/x.tar"});
        let decision = decide(task.clone(), found(existing.clone())).expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["actions"], json!([]));
        assert_eq!(decision.result["image"], json!({"Id": "sha256:1"}));
        let mut forced = task;
        forced["force_source"] = json!(true);
        let decision = decide(forced, found(existing)).expect("a decision");
        let made = decision.plan.and_then(|p| p.make).expect("a load");
        assert_eq!(made.command, "docker load -i /x.tar");
        assert_eq!(
            decide(json!({"name": "x", "source": "local"}), found(None)).expect_err("nowhere"),
            "Cannot find the image x:latest locally."
        );
    }

    #[test]
    fn pulls_tags_and_pushes_in_the_collections_order() {
        let task = json!({
            "name": "t/app", "tag": "1", "source": "pull",
            "repository": "127.0.0.1:5000/t/app", "push": true,
            "pull": {"platform": "linux/amd64"}
        });
        let decision = decide(task, found(None)).expect("a decision");
        assert_eq!(
            decision.result["actions"],
            json!([
                "Pulled image t/app:1",
                "Tagged image t/app:1 to 127.0.0.1:5000/t/app:1",
                "Pushed image t/app to 127.0.0.1:5000/t/app:1"
            ])
        );
        let plan = decision.plan.expect("a plan");
        assert_eq!(
            plan.make.map(|m| m.command).as_deref(),
            Some("docker pull -q --platform linux/amd64 t/app:1")
        );
        assert_eq!(
            plan.tag.map(|(from, to)| (from, to.reference())),
            Some(("t/app:1".to_string(), "127.0.0.1:5000/t/app:1".to_string()))
        );

        // The tag exists: no tag again (unless forced), but a push is always tried.
        let tagged = Found {
            target: Some(json!({"Id": "sha256:2"})),
            ..found(Some(json!({"Id": "sha256:1"})))
        };
        let task = json!({"name": "t/app:1", "source": "local", "repository": "r:5000/t/app"});
        let decision = decide(task.clone(), tagged).expect("a decision");
        assert!(decision.plan.is_none(), "the tag exists");
        let mut push = task;
        push["push"] = json!(true);
        let tagged = Found {
            target: Some(json!({"Id": "sha256:2"})),
            ..found(Some(json!({"Id": "sha256:1"})))
        };
        let plan = decide(push, tagged)
            .expect("a decision")
            .plan
            .expect("a push");
        assert!(plan.tag.is_none());
        assert_eq!(
            plan.push.map(|p| p.reference()).as_deref(),
            Some("r:5000/t/app:1")
        );
        let err = decide(
            json!({"name": format!("sha256:{}", "0".repeat(64)), "source": "pull"}),
            found(None),
        )
        .expect_err("an ID");
        assert!(err.starts_with("Image name must not be an image ID for source=pull"));
    }

    #[test]
    fn sources_that_are_not_there_fail_as_the_collection_does() {
        let missing = Found::default();
        assert_eq!(
            decide(
                json!({"name": "x", "source": "build", "build": {"path": "/nope"}}),
                Found::default()
            )
            .expect_err("no context"),
            "Requested build path /nope could not be found or you do not have access."
        );
        assert_eq!(
            decide(
                json!({"name": "x:1", "source": "load", "load_path": "/x.tar"}),
                missing
            )
            .expect_err("no archive"),
            "Error loading image x. Specified path /x.tar does not exist."
        );
    }

    #[test]
    fn absent_removes_what_exists_by_name_or_id() {
        let task = json!({"name": "x:1", "state": "absent", "force_absent": true});
        let decision =
            decide(task.clone(), found(Some(json!({"Id": "sha256:1"})))).expect("a decision");
        assert_eq!(
            decision.plan.and_then(|p| p.remove).as_deref(),
            Some("docker rmi -f x:1")
        );
        assert_eq!(decision.result["actions"], json!(["Removed image x:1"]));
        assert!(
            decide(task, found(None))
                .expect("a decision")
                .plan
                .is_none()
        );
        let id = format!("sha256:{}", "a".repeat(64));
        let decision = decide(
            json!({"name": id, "state": "absent"}),
            found(Some(json!({"Id": id}))),
        )
        .expect("a decision");
        assert_eq!(
            decision.plan.and_then(|p| p.remove),
            Some(format!("docker rmi {id}"))
        );
    }

    #[test]
    fn loads_are_checked_against_the_image_wanted() {
        let named = Named {
            name: "t/a".into(),
            tag: "1".into(),
        };
        assert_eq!(check_loaded("Loaded image: t/a:1\n", &named), Ok(None));
        assert_eq!(
            check_loaded("Loaded image: t/b:1\n", &named),
            Err("The archive did not contain image 't/a:1'. Instead, found 't/b:1'.".to_string())
        );
        assert_eq!(
            check_loaded("Loaded image: t/a:1\nLoaded image: t/c:2\n", &named),
            Ok(Some(
                "The archive contained more images than specified: 't/c:2'".to_string()
            ))
        );
        assert_eq!(
            check_loaded("", &named),
            Err("Detected no loaded images. Archive potentially corrupt?".to_string())
        );
    }
}
