//! `docker_image_tag`: gives an image more names. A name that already points at the
//! image is left alone; one that points at another image is moved, unless
//! `existing_images: keep`, as community.docker decides.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::reference::{is_image_id, is_valid_tag, join, split_tag};
use super::{Inspect, docker, probe, read_inspection};
use crate::connection::quote;
use crate::modules::contract::{Decision, StateModule};
use crate::modules::typed::{arg_enum, module_args};
use crate::modules::{ModuleError, Outcome, Target};

/// Tags a Docker image.
pub struct DockerImageTag;

arg_enum! {
    /// What to do with a name that points at another image.
    pub enum Existing {
        Keep = "keep",
        Overwrite = "overwrite",
    }
}

module_args! {
    /// `docker_image_tag`'s arguments.
    pub struct ImageTagArgs {
        /// The image to tag: a repository with or without a tag, or an ID.
        name: String => .required(),
        /// The tag when `name` has none, and of `repository` entries without one.
        tag: String => .default_str("latest"),
        /// The new names (`repository[:tag]`).
        repository: Vec<String> => .required(),
        existing_images: Existing => .default_str("overwrite"),
    }
}

/// A repository and tag.
type Name = (String, String);

impl ImageTagArgs {
    /// What docker is given to find the image, and the new names, after the
    /// collection's checks.
    fn names(&self) -> Result<(String, Vec<Name>), String> {
        if !is_valid_tag(&self.tag, true) {
            return Err(format!("\"{}\" is not a valid docker tag", self.tag));
        }
        let image = match split_tag(&self.name) {
            _ if is_image_id(&self.name) => self.name.clone(),
            (repo, Some(tag)) => join(repo, tag),
            (repo, None) => join(repo, &self.tag),
        };
        let mut names = Vec::new();
        for (i, repository) in self.repository.iter().enumerate() {
            if is_image_id(repository) {
                return Err(format!(
                    "repository[{}] must not be an image ID; got: {repository}",
                    i + 1
                ));
            }
            let (repo, tag) = match split_tag(repository) {
                (repo, None) => (repo, self.tag.as_str()),
                (_, Some(tag)) if !is_valid_tag(tag, false) => {
                    return Err(format!(
                        "repository[{}] must not have a digest; got: {repository}",
                        i + 1
                    ));
                }
                (repo, Some(tag)) => (repo, tag),
            };
            names.push((repo.to_string(), tag.to_string()));
        }
        Ok((image, names))
    }
}

/// The image and what each new name points at now.
#[derive(Debug, Default)]
pub struct Found {
    /// The image to tag.
    image: Option<Json>,
    /// Each new name's image, in `repository`'s order.
    tagged: Vec<Option<Json>>,
}

/// The `diff` entry of one name.
fn image_info((repo, tag): &Name, image: Option<&Json>) -> Json {
    match image.and_then(|i| i.get("Id")) {
        Some(id) => json!({"name": repo, "tag": tag, "id": id}),
        None => json!({"name": repo, "tag": tag, "exists": false}),
    }
}

/// The image's ID.
fn id_of(image: &Json) -> &str {
    image.get("Id").and_then(Json::as_str).unwrap_or_default()
}

#[async_trait]
impl StateModule for DockerImageTag {
    const NAME: &'static str = "docker_image_tag";
    type Args = ImageTagArgs;
    type State = Found;
    /// The image's ID and the names to give it.
    type Plan = (String, Vec<Name>);

    async fn query(&self, on: &Target<'_>, args: &ImageTagArgs) -> Result<Found, ModuleError> {
        let (image, names) = args.names().map_err(ModuleError::Failed)?;
        let mut parts = vec![Inspect("image", &image).script()];
        parts.extend(
            names
                .iter()
                .map(|(repo, tag)| Inspect("image", &join(repo, tag)).script()),
        );
        let mut found = probe(on, &parts)
            .await?
            .iter()
            .map(|part| read_inspection(part))
            .collect::<Result<Vec<_>, _>>()
            .map_err(ModuleError::Failed)?;
        let image = found.remove(0);
        Ok(Found {
            image,
            tagged: found,
        })
    }

    fn decide(&self, args: &ImageTagArgs, found: Found) -> Result<Decision<Self::Plan>, String> {
        let (reference, names) = args.names()?;
        let Some(image) = found.image else {
            return Err(if is_image_id(&reference) {
                format!("Error inspecting image ID {reference} - No such image: {reference}")
            } else {
                let (repo, tag) = split_tag(&reference);
                format!("Cannot find image {repo}:{}", tag.unwrap_or_default())
            });
        };
        let id = id_of(&image).to_string();
        let (mut before, mut after, mut actions, mut tagged) = (vec![], vec![], vec![], vec![]);
        let mut to_tag = Vec::new();
        for (name, old) in names.iter().zip(&found.tagged) {
            let (change, message) = match old {
                Some(old) if id_of(old) == id => (
                    false,
                    format!("target image already exists ({id}) and is as expected"),
                ),
                Some(old) if args.existing_images == Existing::Keep => (
                    false,
                    format!(
                        "target image already exists ({}) and is not as expected, but kept",
                        id_of(old)
                    ),
                ),
                Some(old) => (
                    true,
                    format!(
                        "target image existed ({}) and was not as expected",
                        id_of(old)
                    ),
                ),
                None => (true, "target image did not exist".to_string()),
            };
            before.push(image_info(name, old.as_ref()));
            let (repo, tag) = name;
            if change {
                after.push(image_info(name, Some(&image)));
                actions.push(format!("Tagged image {id} as {repo}:{tag}: {message}"));
                tagged.push(format!("{repo}:{tag}"));
                to_tag.push(name.clone());
            } else {
                after.push(image_info(name, old.as_ref()));
                actions.push(format!("Not tagged image {id} as {repo}:{tag}: {message}"));
            }
        }
        let plan = Some((id, to_tag)).filter(|(_, names)| !names.is_empty());
        Ok(Decision::maybe(plan)
            .with("actions", json!(actions))
            .with("image", image)
            .with("tagged_images", json!(tagged))
            .with_diff(json!({"before": {"images": before}, "after": {"images": after}})))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        _: &ImageTagArgs,
        (id, names): Self::Plan,
    ) -> Result<Outcome, ModuleError> {
        let commands: Vec<String> = names
            .iter()
            .map(|(repo, tag)| format!("docker tag {} {}", quote(&id), quote(&join(repo, tag))))
            .collect();
        docker(on, &commands.join(" && "))
            .await
            .map_err(|e| ModuleError::Failed(format!("Error: failed to tag image - {e}")))?;
        Ok(Outcome::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn decide(task: Json, found: Found) -> Result<Decision<(String, Vec<Name>)>, String> {
        DockerImageTag.decide(&from_json(task).expect("valid"), found)
    }

    #[test]
    fn names_pointing_elsewhere_move_unless_kept() {
        let image = json!({"Id": "sha256:1"});
        let found = || Found {
            image: Some(image.clone()),
            tagged: vec![
                None,
                Some(json!({"Id": "sha256:1"})),
                Some(json!({"Id": "sha256:2"})),
            ],
        };
        let task = json!({"name": "t/a:1", "repository": ["t/b", "t/c:2", "t/d:3"]});
        let decision = decide(task.clone(), found()).expect("decides");
        assert_eq!(
            decision.result["tagged_images"],
            json!(["t/b:latest", "t/d:3"])
        );
        assert_eq!(
            decision.result["actions"][1],
            "Not tagged image sha256:1 as t/c:2: target image already exists (sha256:1) and is as expected"
        );
        let (id, names) = decision.plan.expect("a plan");
        assert_eq!(id, "sha256:1");
        assert_eq!(names.len(), 2);
        let mut keep = task;
        keep["existing_images"] = json!("keep");
        let decision = decide(keep, found()).expect("decides");
        assert_eq!(decision.result["tagged_images"], json!(["t/b:latest"]));
    }

    #[test]
    fn refusals_are_the_collections() {
        assert_eq!(
            decide(
                json!({"name": "t/a", "repository": ["t/b"]}),
                Found::default()
            )
            .expect_err("missing"),
            "Cannot find image t/a:latest"
        );
        let digest = format!("t/b@sha256:{}", "e".repeat(64));
        assert_eq!(
            decide(
                json!({"name": "t/a", "repository": [digest.clone()]}),
                Found::default()
            )
            .expect_err("a digest"),
            format!("repository[1] must not have a digest; got: {digest}")
        );
    }
}
