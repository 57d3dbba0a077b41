//! Images to and from registries through the docker CLI: `docker pull` and `docker
//! push`, what their output says happened, and their failures in community.docker's
//! words. The CLI reads the registry credentials `docker login` stored, as the
//! collection's API client does.

use super::reference::registry_of;
use crate::connection::{Command, quote};
use crate::modules::{ModuleError, Target};

/// The `docker pull` command line for `reference` (`platform` as `--platform`).
pub fn pull_command(reference: &str, platform: Option<&str>) -> String {
    let platform = platform
        .map(|p| format!(" --platform {}", quote(p)))
        .unwrap_or_default();
    format!("docker pull -q{platform} {}", quote(reference))
}

/// Pulls `reference` (`name` and `tag` as the messages name them).
pub async fn pull(
    on: &Target<'_>,
    reference: &str,
    (name, tag): (&str, &str),
    platform: Option<&str>,
) -> Result<(), ModuleError> {
    let out = on
        .conn
        .exec(&Command::new(pull_command(reference, platform)))
        .await?;
    if out.rc != 0 {
        return Err(ModuleError::Failed(format!(
            "Error pulling image {name}:{tag} - {}",
            out.stderr_text().trim()
        )));
    }
    Ok(())
}

/// Pushes `repository:tag`; whether a layer was uploaded (the API's `Pushing` or
/// `Pushed` status, which is what community.docker calls a change).
pub async fn push(on: &Target<'_>, repository: &str, tag: &str) -> Result<bool, ModuleError> {
    let reference = super::reference::join(repository, tag);
    let out = on
        .conn
        .exec(&Command::new(format!("docker push {}", quote(&reference))))
        .await?;
    if out.rc != 0 {
        return Err(ModuleError::Failed(push_failure(
            repository,
            tag,
            out.stderr_text().trim(),
        )));
    }
    Ok(pushed_layers(&out.stdout_text()))
}

/// Whether `docker push`'s output says a layer was uploaded (`<layer>: Pushed`; a layer
/// the registry had, or mounted from another repository, is no change).
pub fn pushed_layers(output: &str) -> bool {
    output.lines().any(|line| {
        let status = line.split_once(": ").map(|(_, s)| s.trim());
        matches!(status, Some("Pushed" | "Pushing"))
    })
}

/// community.docker's message for a push that failed with `error`.
pub fn push_failure(repository: &str, tag: &str, error: &str) -> String {
    let (registry, name) = registry_of(repository);
    if error.contains("unauthorized") {
        if error.contains("authentication required") {
            return format!(
                "Error pushing image {registry}/{name}:{tag} - {error}. Try logging into {registry} first."
            );
        }
        return format!(
            "Error pushing image {registry}/{name}:{tag} - {error}. Does the repository exist?"
        );
    }
    format!("Error pushing image {repository}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_push_changes_when_a_layer_is_uploaded() {
        let pushed = "The push refers to repository [127.0.0.1:5000/t/app]\n0c2ccae200df: Preparing\n0c2ccae200df: Pushed\n1: digest: sha256:6e12 size: 527\n";
        assert!(pushed_layers(pushed));
        let again = "0c2ccae200df: Preparing\n0c2ccae200df: Layer already exists\n1: digest: sha256:6e12 size: 527\n";
        assert!(!pushed_layers(again));
        assert!(!pushed_layers("0c2ccae200df: Mounted from t/other\n"));
    }

    #[test]
    fn failures_say_what_to_do() {
        assert_eq!(
            push_failure(
                "127.0.0.1:5000/t/app",
                "1",
                "unauthorized: authentication required"
            ),
            "Error pushing image 127.0.0.1:5000/t/app:1 - unauthorized: authentication required. Try logging into 127.0.0.1:5000 first."
        );
        assert_eq!(
            push_failure("t/app", "1", "connection refused"),
            "Error pushing image t/app: connection refused"
        );
        assert_eq!(
            pull_command("r:5000/a:1", Some("linux/amd64")),
            "docker pull -q --platform linux/amd64 r:5000/a:1"
        );
    }
}
