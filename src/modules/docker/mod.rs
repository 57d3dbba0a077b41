//! community.docker's `docker_image` (with `docker_image_info`, `_pull`, `_push` and
//! `_tag`), `docker_login`, `docker_container`, `docker_network`, `docker_volume`,
//! `docker_compose_v2`, `docker_container_exec` and `docker_prune`, driven through the
//! docker CLI on the target. Each but `docker_image_push`, `docker_container_exec` and
//! `docker_prune` (plain modules: running is their action) is a
//! [`StateModule`](super::contract): its query reads the current state (`docker
//! inspect`, the CLI's configuration, compose's dry run) in one round trip, `decide`
//! compares it with the task, and `apply` runs only the docker commands that must run.

mod compose;
mod container;
mod exec;
mod image;
mod image_info;
mod image_pull;
mod image_push;
mod image_tag;
mod login;
mod network;
mod platform;
mod prune;
mod reference;
mod transfer;
mod volume;

pub use compose::DockerComposeV2;
pub use container::DockerContainer;
pub use exec::DockerContainerExec;
pub use image::DockerImage;
pub use image_info::DockerImageInfo;
pub use image_pull::DockerImagePull;
pub use image_push::DockerImagePush;
pub use image_tag::DockerImageTag;
pub use login::DockerLogin;
pub use network::DockerNetwork;
pub use prune::DockerPrune;
pub use volume::DockerVolume;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use super::typed::TypedArgs;
use super::{Args, ModuleError, Target};
use crate::connection::{Command, quote};

/// The line printed between the outputs of the inspections of one query.
const SEPARATOR: &str = "--bosun-docker-inspect--";

/// Fails a query script with exit 127 and a clear message where docker is missing.
const REQUIRE_DOCKER: &str = "command -v docker >/dev/null 2>&1 || \
    { echo 'docker: command not found on the target' >&2; exit 127; }";

/// One object to inspect: its kind (`container`, `image`, `network`) and its name.
#[derive(Clone, Copy, Debug)]
struct Inspect<'a>(&'static str, &'a str);

/// Inspects `objects` in one round trip: for each, what `docker inspect` says of it,
/// or `None` when there is no such object. Fails when docker is missing or its daemon
/// does not answer.
async fn inspect(
    on: &Target<'_>,
    objects: &[Inspect<'_>],
) -> Result<Vec<Option<Json>>, ModuleError> {
    let parts: Vec<String> = objects.iter().map(|o| o.script()).collect();
    probe(on, &parts)
        .await?
        .iter()
        .map(|part| read_inspection(part))
        .collect::<Result<_, _>>()
        .map_err(ModuleError::Failed)
}

impl Inspect<'_> {
    /// The script that prints the object's inspection, `[]` when there is none, and
    /// fails on any other error.
    fn script(&self) -> String {
        let Inspect(kind, name) = self;
        format!(
            "if out=$(docker {kind} inspect -- {} 2>&1); then printf '%s\\n' \"$out\"; \
             else case $out in *'No such '*) echo '[]' ;; *) printf '%s\\n' \"$out\" >&2; exit 1 ;; esac; fi",
            quote(name)
        )
    }
}

/// Runs the shell `parts` in one round trip after checking that docker is there: what
/// each printed. Fails with the error output when one fails.
async fn probe(on: &Target<'_>, parts: &[String]) -> Result<Vec<String>, ModuleError> {
    let mut script = format!("{REQUIRE_DOCKER}; ");
    for part in parts {
        script.push_str(&format!("{part}; echo {SEPARATOR}; "));
    }
    let out = on.conn.exec(&Command::new(script)).await?;
    if out.rc != 0 {
        return Err(ModuleError::Failed(out.stderr_text().trim().to_string()));
    }
    split_parts(&out.stdout_text(), parts.len()).map_err(ModuleError::Failed)
}

/// Splits a probe's output at the separators into `count` parts.
fn split_parts(output: &str, count: usize) -> Result<Vec<String>, String> {
    let parts: Vec<&str> = output.split(&format!("{SEPARATOR}\n")).collect();
    if parts.len() < count + 1 {
        return Err(format!("unexpected output of the docker query: {output}"));
    }
    Ok(parts[..count].iter().map(|p| p.to_string()).collect())
}

/// The first object of one `docker inspect` output, `None` for `[]`.
fn read_inspection(part: &str) -> Result<Option<Json>, String> {
    let list: Vec<Json> = serde_json::from_str(part.trim())
        .map_err(|e| format!("cannot read docker inspect's output ({e}): {part}"))?;
    Ok(list.into_iter().next())
}

/// Runs a docker command line (already quoted) and returns its standard output;
/// fails with docker's message when it exits non-zero.
async fn docker(on: &Target<'_>, script: &str) -> Result<String, ModuleError> {
    let out = on.conn.exec(&Command::new(script)).await?;
    if out.rc != 0 {
        let stderr = out.stderr_text();
        let detail = if stderr.trim().is_empty() {
            out.stdout_text()
        } else {
            stderr
        };
        return Err(ModuleError::Failed(format!(
            "{} failed (rc {}): {}",
            script
                .split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" "),
            out.rc,
            detail.trim()
        )));
    }
    Ok(out.stdout_text())
}

/// The docker commands to run, in order, each with the action it reports.
type Steps = Vec<(String, String)>;

/// Runs `steps` one after the other, stopping at the first that fails.
async fn run_steps(on: &Target<'_>, steps: &Steps) -> Result<String, ModuleError> {
    let script: Vec<&str> = steps.iter().map(|(cmd, _)| cmd.as_str()).collect();
    docker(on, &script.join(" >/dev/null && ")).await
}

/// A mapping argument (`env`, `labels`, `driver_options`) as strings, in its order.
/// Booleans are refused, as community.docker does: YAML turns `yes` into `true`, and
/// the value meant is ambiguous.
fn string_map(
    name: &str,
    map: Option<&Map<String, Json>>,
) -> Result<Option<IndexMap<String, String>>, String> {
    let Some(map) = map else {
        return Ok(None);
    };
    map.iter()
        .map(|(key, value)| {
            let text = match value {
                Json::String(s) => s.clone(),
                Json::Number(n) => n.to_string(),
                Json::Null => String::new(),
                Json::Bool(_) => {
                    return Err(format!(
                        "Non-string value found for {name} option. Ambiguous {name} options must be wrapped in quotes to avoid them being interpreted. Key: {key}"
                    ));
                }
                other => other.to_string(),
            };
            Ok((key.clone(), text))
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Reads a mapping of sub-options (`build`, an `ipam_config` entry, a `networks`
/// entry) into its typed arguments, naming the option in the message.
fn sub_options<T: TypedArgs>(option: &str, value: &Json) -> Result<T, String> {
    let Json::Object(map) = value else {
        return Err(format!("{option} must be a dictionary, not {value}"));
    };
    let raw: IndexMap<String, Json> = map.clone().into_iter().collect();
    Args::parse(T::PARAMS, &raw)
        .and_then(|args| T::from_args(&args))
        .map_err(|e| format!("{option}: {e}"))
}

/// A string field of an inspected object, following `path` (`Config.User`).
fn field<'a>(object: &'a Json, path: &str) -> Option<&'a Json> {
    path.split('.')
        .try_fold(object, |value, key| value.get(key))
        .filter(|value| !value.is_null())
}

/// `KEY=VALUE` lines of an inspected `Env` list, as a map.
fn env_map(value: Option<&Json>) -> IndexMap<String, String> {
    value
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(Json::as_str)
        .map(|line| match line.split_once('=') {
            Some((key, value)) => (key.to_string(), value.to_string()),
            None => (line.to_string(), String::new()),
        })
        .collect()
}

/// An inspected mapping of strings (`Labels`, `Options`), as a map.
fn object_map(value: Option<&Json>) -> IndexMap<String, String> {
    value
        .and_then(Json::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), value.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// `flag 'key=value'` for every pair: the docker CLI's repeated options.
fn pair_flags(flag: &str, pairs: &IndexMap<String, String>) -> String {
    pairs
        .iter()
        .map(|(key, value)| format!(" {flag} {}", quote(&format!("{key}={value}"))))
        .collect()
}

/// A `diff` of the differences found: `before` and `after` mappings with one key each.
fn diff_of(differences: &[(String, Json, Json)], name: &str) -> Json {
    let mut before = Map::new();
    let mut after = Map::new();
    for (key, was, will) in differences {
        before.insert(key.clone(), was.clone());
        after.insert(key.clone(), will.clone());
    }
    serde_json::json!({
        "before": before,
        "after": after,
        "before_header": name,
        "after_header": name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inspections_split_at_separators_and_absence_is_none() {
        let output = format!("[\n  {{\"Id\": \"sha256:1\"}}\n]\n{SEPARATOR}\n[]\n{SEPARATOR}\n");
        let parts = split_parts(&output, 2).expect("two parts");
        let parsed: Vec<Option<Json>> = parts
            .iter()
            .map(|p| read_inspection(p).expect("parsed"))
            .collect();
        assert_eq!(parsed, vec![Some(json!({"Id": "sha256:1"})), None]);
        assert!(read_inspection("garbage").is_err());
        assert!(split_parts("[]\n", 2).is_err());
        assert!(split_parts(&format!("[]\n{SEPARATOR}\n"), 2).is_err());
    }

    #[test]
    fn maps_read_from_inspect_output() {
        let env = json!(["PATH=/bin", "A=b=c", "EMPTY"]);
        let map = env_map(Some(&env));
        assert_eq!(map.get("A").map(String::as_str), Some("b=c"));
        assert_eq!(map.get("EMPTY").map(String::as_str), Some(""));
        assert_eq!(
            field(&json!({"Config": {"User": "x"}}), "Config.User"),
            Some(&json!("x"))
        );
        assert_eq!(
            field(&json!({"Config": {"User": null}}), "Config.User"),
            None
        );
        let labels = json!({"a": "1"});
        assert_eq!(
            pair_flags("--label", &object_map(Some(&labels))),
            " --label a=1"
        );
    }
}
