//! Image references as community.docker reads them: a name with its tag or digest
//! (`parse_repository_tag`), image IDs, valid tags, and the registry a repository
//! belongs to (`resolve_repository_name`).

/// The registry of repositories that name none (Docker Hub).
pub const INDEX_NAME: &str = "docker.io";

/// `name` split into the repository and its tag or digest, when it has one: the text
/// after the last `@`, else after the last `:` that is not followed by a `/` (a
/// registry port is no tag).
pub fn split_tag(name: &str) -> (&str, Option<&str>) {
    if let Some((repo, digest)) = name.rsplit_once('@') {
        return (repo, Some(digest));
    }
    match name.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => (repo, Some(tag)),
        _ => (name, None),
    }
}

/// Whether `name` is an image ID (`sha256:` and 64 hex digits).
pub fn is_image_id(name: &str) -> bool {
    name.strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `tag` is a valid docker tag (an empty one is valid only when `allow_empty`).
pub fn is_valid_tag(tag: &str, allow_empty: bool) -> bool {
    let bytes = tag.as_bytes();
    match bytes.split_first() {
        None => allow_empty,
        Some((first, rest)) => {
            let word = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
            word(first) && rest.len() <= 127 && rest.iter().all(|b| word(b) || b"._-".contains(b))
        }
    }
}

/// `repository` joined with `tag`: with `@` when the tag is a digest (`sha256:...`).
pub fn join(repository: &str, tag: &str) -> String {
    if tag.contains(':') {
        format!("{repository}@{tag}")
    } else {
        format!("{repository}:{tag}")
    }
}

/// The registry a repository is pushed to and its name there: the first part when it
/// looks like a host (`localhost`, a `.` or a `:` in it), else Docker Hub.
pub fn registry_of(repository: &str) -> (String, &str) {
    match repository.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            let host = host
                .trim_start_matches("http://")
                .trim_start_matches("https://");
            let host = if host == "index.docker.io" {
                INDEX_NAME
            } else {
                host
            };
            (host.to_string(), rest)
        }
        _ => (INDEX_NAME.to_string(), repository),
    }
}

/// A registry address as the docker CLI keys it in its configuration: the host name
/// (with port), without scheme or path (`ConvertToHostname`).
pub fn hostname(address: &str) -> &str {
    let bare = address
        .strip_prefix("http://")
        .or_else(|| address.strip_prefix("https://"))
        .unwrap_or(address);
    bare.split('/').next().unwrap_or(bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_as_parse_repository_tag_does() {
        assert_eq!(split_tag("busybox"), ("busybox", None));
        assert_eq!(split_tag("busybox:1"), ("busybox", Some("1")));
        assert_eq!(split_tag("reg:5000/app"), ("reg:5000/app", None));
        assert_eq!(split_tag("reg:5000/app:v1"), ("reg:5000/app", Some("v1")));
        assert_eq!(
            split_tag("app@sha256:abc"),
            ("app", Some("sha256:abc")),
            "a digest"
        );
        assert_eq!(join("app", "sha256:abc"), "app@sha256:abc");
        assert_eq!(join("app", "1"), "app:1");
    }

    #[test]
    fn ids_tags_and_registries() {
        let id = format!("sha256:{}", "a".repeat(64));
        assert!(is_image_id(&id));
        assert!(!is_image_id("sha256:abc"));
        assert!(is_valid_tag("v1.2-rc_3", false));
        assert!(!is_valid_tag(".v1", false));
        assert!(!is_valid_tag("", false));
        assert!(is_valid_tag("", true));
        assert!(!is_valid_tag(&"a".repeat(129), false));
        assert_eq!(
            registry_of("127.0.0.1:5000/t/app"),
            ("127.0.0.1:5000".to_string(), "t/app")
        );
        assert_eq!(registry_of("t/app"), ("docker.io".to_string(), "t/app"));
        assert_eq!(
            registry_of("localhost/app"),
            ("localhost".to_string(), "app")
        );
        assert_eq!(hostname("http://127.0.0.1:5000/v2/"), "127.0.0.1:5000");
        assert_eq!(hostname("registry.example"), "registry.example");
    }
}
