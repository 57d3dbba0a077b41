//! `docker_image_info`: the inspections of the images named (those that exist), or of
//! every image when none is named, read in one round trip.

use std::convert::Infallible;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::reference::{is_image_id, join, split_tag};
use super::{Inspect, probe, read_inspection};
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::module_args;
use crate::modules::{ModuleError, Outcome, Target};

/// Reports on Docker images.
pub struct DockerImageInfo;

module_args! {
    /// `docker_image_info`'s arguments.
    pub struct ImageInfoArgs {
        /// Image names (`name[:tag]`, `latest` when untagged) or IDs; every image when
        /// not given.
        name: Option<Vec<String>>,
    }
}

/// What docker is given to find `name`: an ID, or the name with its tag.
fn reference(name: &str) -> String {
    if is_image_id(name) {
        return name.to_string();
    }
    let (repo, tag) = split_tag(name);
    join(repo, tag.unwrap_or("latest"))
}

/// Prints the inspections of every image, each once, as one JSON list.
const ALL_IMAGES: &str = "ids=$(docker image ls -q --no-trunc | awk '!seen[$0]++') || exit 1; \
    if [ -n \"$ids\" ]; then docker image inspect $ids || exit 1; else echo '[]'; fi";

#[async_trait]
impl StateModule for DockerImageInfo {
    const NAME: &'static str = "docker_image_info";
    type Args = ImageInfoArgs;
    /// The inspections found.
    type State = Vec<Json>;
    type Plan = Infallible;

    async fn query(&self, on: &Target<'_>, args: &ImageInfoArgs) -> Result<Vec<Json>, ModuleError> {
        let names = args.name.as_deref().filter(|names| !names.is_empty());
        let Some(names) = names else {
            let all = probe(on, &[ALL_IMAGES.to_string()]).await?;
            return serde_json::from_str(all.first().map(String::as_str).unwrap_or("[]")).map_err(
                |e| ModuleError::Failed(format!("cannot read docker inspect's output: {e}")),
            );
        };
        let references: Vec<String> = names.iter().map(|n| reference(n)).collect();
        let parts: Vec<String> = references
            .iter()
            .map(|r| Inspect("image", r).script())
            .collect();
        let mut images = Vec::new();
        for part in probe(on, &parts).await? {
            images.extend(read_inspection(&part).map_err(ModuleError::Failed)?);
        }
        Ok(images)
    }

    fn decide(&self, _: &ImageInfoArgs, images: Vec<Json>) -> Result<Decision<Infallible>, String> {
        Ok(Decision::unchanged().with("images", json!(images)))
    }

    async fn apply(
        &self,
        _: &Target<'_>,
        _: &ImageInfoArgs,
        plan: Infallible,
    ) -> Result<Outcome, ModuleError> {
        match plan {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_default_to_latest_and_ids_stay() {
        assert_eq!(reference("busybox"), "busybox:latest");
        assert_eq!(reference("r:5000/app:2"), "r:5000/app:2");
        let id = format!("sha256:{}", "b".repeat(64));
        assert_eq!(reference(&id), id);
        let decision = DockerImageInfo
            .decide(
                &crate::modules::typed::from_json(json!({})).expect("valid"),
                vec![json!({"Id": "sha256:1"})],
            )
            .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["images"], json!([{"Id": "sha256:1"}]));
    }
}
