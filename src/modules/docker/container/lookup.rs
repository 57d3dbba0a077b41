//! The container and its image in ONE docker call: `docker inspect -- NAME IMAGE`
//! (untyped) prints every object it finds and names each one it does not find, for
//! half the time of a typed `docker container inspect` plus `docker image inspect`.
//! Untyped names can resolve to the other kind (a container named like an image), so
//! the answer is read by what each object is, and when it cannot say which object
//! is which, the query asks again with the typed calls.

use serde_json::Value as Json;

use super::super::REQUIRE_DOCKER;
use super::Found;
use crate::connection::quote;

/// What the untyped inspection printed: the objects found, and the names docker said
/// it has no object for.
#[derive(Debug, Default)]
pub struct Untyped {
    /// Every object in docker's answer, in order.
    pub objects: Vec<Json>,
    /// The names of its "No such object" lines.
    pub missing: Vec<String>,
}

/// The script: the untyped inspection, its objects on standard output and docker's
/// complaints on standard error; exit 1 when one is not "No such object" (the daemon
/// down, ...).
pub fn script(name: &str, image: &str) -> String {
    format!(
        "{REQUIRE_DOCKER}\n\
         {{ err=$(docker inspect -- {} {} 2>&1 >&3); }} 3>&1\n\
         [ -n \"$err\" ] || exit 0\n\
         printf '%s\\n' \"$err\" >&2\n\
         ! printf '%s\\n' \"$err\" | grep -qv 'No such object: '\n",
        quote(name),
        quote(image)
    )
}

impl Untyped {
    /// Reads the script's standard output and error.
    pub fn parse(stdout: &str, stderr: &str) -> Result<Untyped, String> {
        let objects: Vec<Json> = match stdout.trim() {
            "" => Vec::new(),
            text => serde_json::from_str(text)
                .map_err(|e| format!("cannot read docker inspect's output ({e}): {text}"))?,
        };
        let missing = stderr
            .lines()
            .filter_map(|l| {
                l.split_once("No such object: ")
                    .map(|(_, n)| n.trim().to_string())
            })
            .collect();
        Ok(Untyped { objects, missing })
    }

    /// The container `name` and the image `image`, or `None` when the answer does not
    /// say which object is which (then the typed calls must be asked).
    pub fn resolve(self, name: &str, image: &str) -> Option<Found> {
        let (containers, images): (Vec<Json>, Vec<Json>) =
            self.objects.into_iter().partition(is_container);
        let container = containers.into_iter().find(|c| names_container(c, name));
        let name_missing = self.missing.iter().any(|m| m == name);
        let image_missing = self.missing.iter().any(|m| m == image);
        // `name` found as something else than our container: an image or another
        // container's ID prefix; the objects cannot be told apart by position.
        if container.is_none() && !name_missing {
            return None;
        }
        let image = match (image_missing, &images[..]) {
            (true, _) => None,
            (false, [only]) => Some(only.clone()),
            (false, _) => return None,
        };
        Some(Found { container, image })
    }
}

/// Containers carry `State`; images do not.
fn is_container(object: &Json) -> bool {
    object.get("State").is_some()
}

/// Whether container `object` is the one called (or with an ID starting) `name`.
fn names_container(object: &Json, name: &str) -> bool {
    let own = object
        .get("Name")
        .and_then(Json::as_str)
        .unwrap_or_default();
    let id = object.get("Id").and_then(Json::as_str).unwrap_or_default();
    own.strip_prefix('/') == Some(name) || (name.len() >= 12 && id.starts_with(name))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn container(name: &str) -> Json {
        json!({"Id": "c0ffee00c0ffee00", "Name": format!("/{name}"), "State": {"Running": true}})
    }

    fn image(tag: &str) -> Json {
        json!({"Id": "sha256:feed", "RepoTags": [tag]})
    }

    fn untyped(objects: Vec<Json>, missing: &[&str]) -> Untyped {
        Untyped {
            objects,
            missing: missing.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn both_found_are_told_apart_by_kind() {
        let found = untyped(vec![container("web"), image("app:1")], &[])
            .resolve("web", "app:1")
            .expect("resolved");
        assert_eq!(found.container, Some(container("web")));
        assert_eq!(found.image, Some(image("app:1")));
    }

    #[test]
    fn missing_names_are_absent() {
        let found = untyped(vec![image("app:1")], &["web"])
            .resolve("web", "app:1")
            .expect("resolved");
        assert_eq!((found.container, found.image), (None, Some(image("app:1"))));
        let found = untyped(vec![container("web")], &["app:1"])
            .resolve("web", "app:1")
            .expect("resolved");
        assert_eq!(found.image, None);
        assert!(found.container.is_some());
        let found = untyped(vec![], &["web", "app:1"])
            .resolve("web", "app:1")
            .expect("resolved");
        assert_eq!((found.container, found.image), (None, None));
    }

    #[test]
    fn a_name_that_resolves_to_an_image_asks_again() {
        // No container "nginx", but an image of that name: docker returned it.
        let answer = untyped(vec![image("nginx:latest"), image("app:1")], &[]);
        assert!(answer.resolve("nginx", "app:1").is_none());
        let answer = untyped(vec![image("nginx:latest")], &["app:1"]);
        assert!(answer.resolve("nginx", "app:1").is_none());
    }

    #[test]
    fn docker_output_and_errors_parse() {
        let parsed = Untyped::parse(
            "[{\"Id\": \"x\", \"State\": {}}]\n",
            "Error: No such object: bosun/busybox:1\n",
        )
        .expect("parsed");
        assert_eq!(parsed.objects.len(), 1);
        assert_eq!(parsed.missing, vec!["bosun/busybox:1"]);
        assert!(Untyped::parse("not json", "").is_err());
        assert!(script("web", "app:1").contains("docker inspect -- web app:1"));
    }
}
