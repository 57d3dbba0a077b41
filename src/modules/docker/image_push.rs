//! `docker_image_push`: pushes an image to its registry. It stays a plain [`Module`]:
//! whether the registry has the image is known only by pushing, so like
//! community.docker's it has no check mode (it is skipped there), and a push is a
//! change when a layer was uploaded.

use async_trait::async_trait;
use serde_json::json;

use super::reference::{is_image_id, is_valid_tag, join, split_tag};
use super::{Inspect, inspect, transfer};
use crate::modules::typed::{TypedArgs, module_args};
use crate::modules::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

/// Pushes a Docker image.
pub struct DockerImagePush;

module_args! {
    /// `docker_image_push`'s arguments.
    pub struct ImagePushArgs {
        /// The repository, with or without a tag.
        name: String => .required(),
        /// The tag when `name` has none.
        tag: String => .default_str("latest"),
    }
}

impl ImagePushArgs {
    /// The repository and tag to push, after the collection's checks.
    fn named(&self) -> Result<(String, String), String> {
        if is_image_id(&self.name) {
            return Err("Cannot push an image by ID".to_string());
        }
        if !is_valid_tag(&self.tag, true) {
            return Err(format!("\"{}\" is not a valid docker tag!", self.tag));
        }
        let (repo, tag) = match split_tag(&self.name) {
            (repo, Some(tag)) => (repo.to_string(), tag.to_string()),
            (repo, None) => (repo.to_string(), self.tag.clone()),
        };
        if is_image_id(&tag) {
            return Err("Cannot push an image by digest".to_string());
        }
        if !is_valid_tag(&tag, false) {
            return Err(format!("\"{tag}\" is not a valid docker tag!"));
        }
        Ok((repo, tag))
    }
}

#[async_trait]
impl Module for DockerImagePush {
    fn name(&self) -> &'static str {
        "docker_image_push"
    }

    fn params(&self) -> &'static [Param] {
        ImagePushArgs::PARAMS
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = ImagePushArgs::from_args(args).map_err(ModuleError::Failed)?;
        let (repo, tag) = args.named().map_err(ModuleError::Failed)?;
        let reference = join(&repo, &tag);
        let Some(image) = inspect(ctx, &[Inspect("image", &reference)])
            .await?
            .remove(0)
        else {
            return Err(ModuleError::Failed(format!(
                "Cannot find image {repo}:{tag}"
            )));
        };
        let changed = transfer::push(ctx, &repo, &tag).await?;
        let mut result = super::super::ok(changed);
        result.insert(
            "actions".into(),
            json!([format!("Pushed image {repo}:{tag}")]),
        );
        result.insert("image".into(), image);
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::Value as Json;

    fn named(task: Json) -> Result<(String, String), String> {
        from_json::<ImagePushArgs>(task)?.named()
    }

    #[test]
    fn names_digests_and_ids_are_checked() {
        assert_eq!(
            named(json!({"name": "r:5000/a:2"})),
            Ok(("r:5000/a".to_string(), "2".to_string()))
        );
        assert_eq!(
            named(json!({"name": "r:5000/a", "tag": "3"})),
            Ok(("r:5000/a".to_string(), "3".to_string()))
        );
        let digest = format!("a@sha256:{}", "d".repeat(64));
        assert_eq!(
            named(json!({"name": digest})),
            Err("Cannot push an image by digest".to_string())
        );
        assert_eq!(
            named(json!({"name": format!("sha256:{}", "d".repeat(64))})),
            Err("Cannot push an image by ID".to_string())
        );
        assert_eq!(
            named(json!({"name": "a", "tag": ""})),
            Err("\"\" is not a valid docker tag!".to_string())
        );
    }
}
