//! `docker_image_pull`: pulls an image from its registry, always or only when it is
//! missing (or has another platform than the one asked for). A pull is a change only
//! when the image's inspection changed (its `Metadata` aside), as in community.docker.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::platform::{Daemon, Platform};
use super::reference::{is_image_id, is_valid_tag, join, split_tag};
use super::{Inspect, inspect, probe, read_inspection, transfer};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Pulls a Docker image.
pub struct DockerImagePull;

arg_enum! {
    /// When to pull.
    pub enum When {
        Always = "always",
        NotPresent = "not_present",
    }
}

module_args! {
    /// `docker_image_pull`'s arguments.
    pub struct ImagePullArgs {
        /// The repository, with or without a tag or digest.
        name: String => .required(),
        /// The tag when `name` has none.
        tag: String => .default_str("latest"),
        /// The platform to ask for.
        platform: Option<String>,
        pull: When => .default_str("always"),
    }
}

impl ImagePullArgs {
    /// The repository and tag to pull, after the collection's checks.
    fn named(&self) -> Result<(String, String), String> {
        if is_image_id(&self.name) {
            return Err("Cannot pull an image by ID".to_string());
        }
        if !is_valid_tag(&self.tag, true) {
            return Err(format!("\"{}\" is not a valid docker tag!", self.tag));
        }
        Ok(match split_tag(&self.name) {
            (repo, Some(tag)) => (repo.to_string(), tag.to_string()),
            (repo, None) => (repo.to_string(), self.tag.clone()),
        })
    }
}

/// The image as found, and the daemon's platform when a platform must be compared.
#[derive(Debug, Default)]
pub struct Found {
    /// The image, inspected.
    image: Option<Json>,
    /// The daemon's `OSType` and `Architecture`.
    daemon: Option<(String, String)>,
}

/// The `diff` side of an image: its ID, or that it does not exist.
fn image_info(image: Option<&Json>) -> Json {
    match image.and_then(|i| i.get("Id")) {
        Some(id) => json!({"id": id}),
        None => json!({"exists": false}),
    }
}

/// An inspection without its `Metadata` (the last tag time), as the collection
/// compares images before and after a pull.
fn without_metadata(image: Option<&Json>) -> Option<Json> {
    image.cloned().map(|mut image| {
        if let Some(map) = image.as_object_mut() {
            map.remove("Metadata");
        }
        image
    })
}

/// Whether the image has the platform asked for.
fn same_platform(wanted: &str, image: &Json, daemon: &(String, String)) -> Result<bool, String> {
    let daemon = Daemon {
        os: Some(&daemon.0),
        arch: Some(&daemon.1),
    };
    let wanted = Platform::parse(wanted, daemon)?.text();
    let text = |key: &str| image.get(key).and_then(Json::as_str);
    let has = Platform::of_image(text("Os"), text("Architecture"), text("Variant"), daemon).text();
    Platform::same(&wanted, &has)
}

#[async_trait]
impl StateModule for DockerImagePull {
    const NAME: &'static str = "docker_image_pull";
    type Args = ImagePullArgs;
    type State = Found;
    /// The image as it was, to tell whether the pull changed it.
    type Plan = Option<Json>;

    async fn query(&self, on: &Target<'_>, args: &ImagePullArgs) -> Result<Found, ModuleError> {
        let (repo, tag) = args.named().map_err(ModuleError::Failed)?;
        let mut parts = vec![Inspect("image", &join(&repo, &tag)).script()];
        let compare = args.platform.is_some() && args.pull == When::NotPresent;
        if compare {
            parts.push("docker info -f '{{.OSType}} {{.Architecture}}'".to_string());
        }
        let outputs = probe(on, &parts).await?;
        let image = read_inspection(&outputs[0]).map_err(ModuleError::Failed)?;
        let daemon = outputs.get(1).filter(|_| compare).map(|line| {
            let (os, arch) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
            (os.to_string(), arch.to_string())
        });
        Ok(Found { image, daemon })
    }

    fn decide(&self, args: &ImagePullArgs, found: Found) -> Result<Decision<Option<Json>>, String> {
        let (repo, tag) = args.named()?;
        let before = image_info(found.image.as_ref());
        let keep = match (&found.image, args.pull, &args.platform, &found.daemon) {
            (Some(_), When::NotPresent, None, _) => true,
            (Some(image), When::NotPresent, Some(wanted), Some(daemon)) => {
                same_platform(wanted, image, daemon)?
            }
            _ => false,
        };
        let image = found.image.clone().unwrap_or_else(|| json!({}));
        if keep {
            return Ok(Decision::unchanged()
                .with("actions", json!([]))
                .with("image", image)
                .with_diff(json!({"before": before, "after": before})));
        }
        Ok(Decision::change(found.image)
            .with("actions", json!([format!("Pulled image {repo}:{tag}")]))
            .with("image", image)
            .with_diff(json!({"before": before, "after": {"id": "unknown"}})))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &ImagePullArgs,
        before: Option<Json>,
    ) -> Result<Outcome, ModuleError> {
        let (repo, tag) = args.named().map_err(ModuleError::Failed)?;
        let reference = join(&repo, &tag);
        transfer::pull(on, &reference, (&repo, &tag), args.platform.as_deref()).await?;
        let after = inspect(on, &[Inspect("image", &reference)])
            .await?
            .remove(0);
        let mut outcome = Outcome::new();
        outcome.insert(
            "changed".into(),
            json!(without_metadata(before.as_ref()) != without_metadata(after.as_ref())),
        );
        outcome.insert(
            "diff".into(),
            json!({"before": image_info(before.as_ref()), "after": image_info(after.as_ref())}),
        );
        outcome.insert("image".into(), after.unwrap_or_else(|| json!({})));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn decide(task: Json, found: Found) -> Result<Decision<Option<Json>>, String> {
        DockerImagePull.decide(&from_json(task).expect("valid"), found)
    }

    #[test]
    fn not_present_pulls_only_what_is_missing_or_of_another_platform() {
        let image = json!({"Id": "sha256:1", "Os": "linux", "Architecture": "amd64"});
        let daemon = Some(("linux".to_string(), "x86_64".to_string()));
        let there = |daemon: Option<(String, String)>| Found {
            image: Some(image.clone()),
            daemon,
        };
        let task = json!({"name": "r:5000/a:1", "pull": "not_present"});
        assert!(decide(task, there(None)).expect("decides").plan.is_none());
        let task = json!({"name": "r:5000/a", "pull": "not_present", "platform": "amd64"});
        assert!(
            decide(task, there(daemon.clone()))
                .expect("decides")
                .plan
                .is_none()
        );
        let task = json!({"name": "r:5000/a", "pull": "not_present", "platform": "linux/arm64"});
        let decision = decide(task, there(daemon)).expect("decides");
        assert!(decision.plan.is_some());
        assert_eq!(
            decision.result["actions"],
            json!(["Pulled image r:5000/a:latest"])
        );
        let decision = decide(json!({"name": "r:5000/a"}), there(None)).expect("decides");
        assert!(decision.plan.is_some(), "always pulls by default");
        assert_eq!(
            decision.diff,
            Some(json!({"before": {"id": "sha256:1"}, "after": {"id": "unknown"}}))
        );
    }

    #[test]
    fn refusals_are_the_collections() {
        let id = format!("sha256:{}", "c".repeat(64));
        assert_eq!(
            decide(json!({"name": id}), Found::default()).expect_err("an ID"),
            "Cannot pull an image by ID"
        );
        assert_eq!(
            decide(json!({"name": "a", "tag": "b/c"}), Found::default()).expect_err("a bad tag"),
            "\"b/c\" is not a valid docker tag!"
        );
        assert_eq!(
            without_metadata(Some(&json!({"Id": 1, "Metadata": {"LastTagTime": 2}}))),
            Some(json!({"Id": 1}))
        );
    }
}
