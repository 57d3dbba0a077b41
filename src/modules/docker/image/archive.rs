//! `archive_path`: the image saved as a `.tar` archive, again only when the archive
//! holds another image or other names (its `manifest.json` says which), as
//! community.docker's `archived_image_action` decides.

use serde_json::Value as Json;

/// What the query prints for an archive that cannot be read.
pub const UNREADABLE: &str = "bosun-unreadable-archive";

/// The script that prints the archive's `manifest.json`, `null` when there is no
/// archive, or [`UNREADABLE`].
pub fn probe(path: &str) -> String {
    let path = crate::connection::quote(path);
    format!(
        "if [ -f {path} ]; then tar -xOf {path} manifest.json 2>/dev/null || echo {UNREADABLE}; else echo null; fi"
    )
}

/// One image of an archive: its ID (`sha256:...`) and names.
#[derive(Debug, PartialEq, Eq)]
pub struct Archived {
    /// The image's ID as the API writes it.
    pub id: String,
    /// Its `RepoTags`.
    pub tags: Vec<String>,
}

/// The archive as the query found it.
#[derive(Debug, PartialEq, Eq)]
pub enum Found {
    /// No file there.
    Missing,
    /// A file whose manifest cannot be read, and why.
    Unreadable(String),
    /// The first image the manifest lists.
    Holds(Archived),
}

/// Reads what [`probe`] printed.
pub fn read(output: &str) -> Found {
    let text = output.trim();
    if text == "null" {
        return Found::Missing;
    }
    if text == UNREADABLE {
        return Found::Unreadable("cannot read manifest.json".to_string());
    }
    let manifest: Json = match serde_json::from_str(text) {
        Ok(manifest) => manifest,
        Err(e) => {
            return Found::Unreadable(format!(
                "Failed to decode and deserialize manifest.json: {e}"
            ));
        }
    };
    let Some(first) = manifest.as_array().and_then(|entries| entries.first()) else {
        return Found::Unreadable(
            "Expected to have at least one entry in manifest.json but found none".to_string(),
        );
    };
    let Some(config) = first.get("Config").and_then(Json::as_str) else {
        return Found::Unreadable(
            "Failed to get Config entry from 1th manifest in manifest.json".to_string(),
        );
    };
    let hash = config.strip_suffix(".json").unwrap_or(config);
    let hash = hash.strip_prefix("blobs/sha256/").unwrap_or(hash);
    let tags = first
        .get("RepoTags")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(str::to_string)
        .collect();
    Found::Holds(Archived {
        id: format!("sha256:{hash}"),
        tags,
    })
}

/// The action that saves `image` (named `name`) to `path`, or `None` when the archive
/// already holds exactly that image under that name.
pub fn action(found: &Found, path: &str, name: &str, image: &str) -> Option<String> {
    let message = |reason: &str| format!("Archived image {name} to {path}, {reason}");
    match found {
        Found::Missing => Some(message("since none present")),
        Found::Unreadable(_) => Some(message("overwriting an unreadable archive file")),
        Found::Holds(archived) if archived.id == image && archived.tags == [name] => None,
        Found::Holds(archived) => Some(message(&format!(
            "overwriting archive with image {} named {}",
            archived.id.trim_start_matches("sha256:"),
            archived.tags.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_archive_is_written_only_when_it_holds_something_else() {
        let manifest = r#"[{"Config":"abc.json","RepoTags":["t/a:1"],"Layers":[]}]"#;
        let found = read(manifest);
        assert_eq!(
            found,
            Found::Holds(Archived {
                id: "sha256:abc".into(),
                tags: vec!["t/a:1".into()]
            })
        );
        assert_eq!(action(&found, "/a.tar", "t/a:1", "sha256:abc"), None);
        assert_eq!(
            action(&found, "/a.tar", "t/a:1", "sha256:def").as_deref(),
            Some("Archived image t/a:1 to /a.tar, overwriting archive with image abc named t/a:1")
        );
        assert_eq!(
            action(&read("null\n"), "/a.tar", "t/a:1", "sha256:abc").as_deref(),
            Some("Archived image t/a:1 to /a.tar, since none present")
        );
        assert!(matches!(read(UNREADABLE), Found::Unreadable(_)));
        let oci = r#"[{"Config":"blobs/sha256/abc","RepoTags":["t/a:1"]}]"#;
        assert!(matches!(read(oci), Found::Holds(Archived { ref id, .. }) if id == "sha256:abc"));
    }
}
