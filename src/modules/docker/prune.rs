//! `docker_prune`: removes unused containers, images, networks, volumes and build
//! cache with `docker ... prune`, and reports what went. It stays a plain [`Module`]:
//! pruning is the action, nothing can tell beforehand what docker will find unused,
//! and like community.docker's it has no check mode (it is skipped there).

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::REQUIRE_DOCKER;
use crate::connection::{Command, quote};
use crate::modules::typed::{TypedArgs, module_args};
use crate::modules::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

/// Prunes what docker does not use.
pub struct DockerPrune;

module_args! {
    /// `docker_prune`'s arguments.
    pub struct PruneArgs {
        containers: bool => .default_bool(false),
        containers_filters: Option<Map<String, Json>>,
        images: bool => .default_bool(false),
        images_filters: Option<Map<String, Json>>,
        networks: bool => .default_bool(false),
        networks_filters: Option<Map<String, Json>>,
        volumes: bool => .default_bool(false),
        volumes_filters: Option<Map<String, Json>>,
        builder_cache: bool => .default_bool(false),
        /// Whether all build cache goes, not only the dangling cache.
        builder_cache_all: bool => .default_bool(false),
        builder_cache_filters: Option<Map<String, Json>>,
        /// The cache to keep (`10GB`, `512M`).
        builder_cache_keep_storage: Option<String>,
    }
}

/// One kind of object to prune: the section's name in the script's output, the
/// docker command, and the filters.
struct Prune<'a> {
    kind: &'static str,
    command: &'static str,
    filters: &'a Option<Map<String, Json>>,
    extra: String,
}

/// `--filter key=value` for every filter: lists give one each, booleans `true` or
/// `false` (community.docker's `clean_dict_booleans_for_docker_api`).
fn filter_flags(filters: &Option<Map<String, Json>>) -> String {
    let word = |value: &Json| match value {
        Json::String(text) => text.clone(),
        Json::Bool(b) => b.to_string(),
        other => other.to_string(),
    };
    let mut flags = String::new();
    for (key, value) in filters.iter().flatten() {
        let values: Vec<String> = match value {
            Json::Array(items) => items.iter().map(word).collect(),
            other => vec![word(other)],
        };
        for value in values {
            flags.push_str(&format!(" --filter {}", quote(&format!("{key}={value}"))));
        }
    }
    flags
}

/// Bytes of a size as Ansible's `human_to_bytes` reads it (`10GB`, `512M`, `1024`:
/// binary multiples).
fn human_to_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("human_to_bytes() can't interpret following string: {text}"))?;
    let unit = unit.trim().to_ascii_uppercase();
    let power = match unit.trim_end_matches('B') {
        "" => 0,
        "K" => 1,
        "M" => 2,
        "G" => 3,
        "T" => 4,
        "P" => 5,
        "E" => 6,
        "Z" => 7,
        "Y" => 8,
        _ => {
            return Err(format!(
                "human_to_bytes() failed to convert {text}. Value is not a valid string ({unit})"
            ));
        }
    };
    Ok((number * 1024f64.powi(power)).round() as u64)
}

/// Bytes of a size as the docker CLI prints it (go-units `HumanSize`: `2B`, `1.2kB`,
/// `3.5MB`, decimal multiples, four significant digits).
fn cli_size_to_bytes(text: &str) -> u64 {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().unwrap_or(0.0);
    let power = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
        .iter()
        .position(|u| *u == unit)
        .unwrap_or(0);
    (number * 1000f64.powi(power as i32)).round() as u64
}

/// What one prune printed: the deleted objects and the space reclaimed.
#[derive(Debug, Default, PartialEq)]
struct Pruned {
    deleted: Vec<String>,
    reclaimed: u64,
}

/// Reads a section of the script's output: the lines under a `Deleted ...:` header
/// and the `Total reclaimed space`.
fn read_section(text: &str) -> Pruned {
    let mut pruned = Pruned::default();
    let mut listing = false;
    for line in text.lines() {
        if line.starts_with("Deleted ") && line.ends_with(':') {
            listing = true;
        } else if let Some(size) = line.strip_prefix("Total reclaimed space:") {
            pruned.reclaimed = cli_size_to_bytes(size);
            listing = false;
        } else if line.trim().is_empty() {
            listing = false;
        } else if listing {
            pruned.deleted.push(line.trim().to_string());
        }
    }
    pruned
}

/// An image line (`untagged: x`, `deleted: sha256:...`) as the API's mapping.
fn image_entry(line: &str) -> Json {
    match line.split_once(": ") {
        Some(("untagged", what)) => json!({"Untagged": what}),
        Some(("deleted", what)) => json!({"Deleted": what}),
        _ => json!(line),
    }
}

impl PruneArgs {
    /// The prunes asked for, in community.docker's order.
    fn prunes(&self) -> Result<Vec<Prune<'_>>, String> {
        let mut list = Vec::new();
        if self.containers {
            list.push(Prune {
                kind: "containers",
                command: "docker container prune -f",
                filters: &self.containers_filters,
                extra: String::new(),
            });
        }
        if self.images {
            list.push(Prune {
                kind: "images",
                command: "docker image prune -f",
                filters: &self.images_filters,
                extra: String::new(),
            });
        }
        if self.networks {
            list.push(Prune {
                kind: "networks",
                command: "docker network prune -f",
                filters: &self.networks_filters,
                extra: String::new(),
            });
        }
        if self.volumes {
            list.push(Prune {
                kind: "volumes",
                command: "docker volume prune -f",
                filters: &self.volumes_filters,
                extra: String::new(),
            });
        }
        if self.builder_cache {
            let mut extra = String::new();
            if self.builder_cache_all {
                extra.push_str(" -a");
            }
            if let Some(keep) = &self.builder_cache_keep_storage {
                let bytes = human_to_bytes(keep).map_err(|e| {
                    format!("Error while parsing value of builder_cache_keep_storage: {e}")
                })?;
                extra.push_str(&format!(" --keep-storage {bytes}"));
            }
            list.push(Prune {
                kind: "builder_cache",
                command: "docker builder prune -f",
                filters: &self.builder_cache_filters,
                extra,
            });
        }
        Ok(list)
    }
}

/// The result keys of one kind, and whether it changed anything.
fn report(kind: &str, pruned: Pruned, result: &mut Outcome) -> bool {
    let changed = !pruned.deleted.is_empty() || pruned.reclaimed > 0;
    match kind {
        "images" => {
            let entries: Vec<Json> = pruned.deleted.iter().map(|l| image_entry(l)).collect();
            result.insert("images".into(), Json::Array(entries));
            result.insert("images_space_reclaimed".into(), json!(pruned.reclaimed));
        }
        "networks" => {
            result.insert("networks".into(), json!(pruned.deleted));
        }
        "builder_cache" => {
            result.insert(
                "builder_cache_space_reclaimed".into(),
                json!(pruned.reclaimed),
            );
            // The API says `null`, not `[]`, when no cache went.
            let caches = Some(json!(pruned.deleted)).filter(|_| !pruned.deleted.is_empty());
            result.insert(
                "builder_cache_caches_deleted".into(),
                caches.unwrap_or(Json::Null),
            );
        }
        _ => {
            result.insert(kind.into(), json!(pruned.deleted));
            result.insert(format!("{kind}_space_reclaimed"), json!(pruned.reclaimed));
        }
    }
    changed
}

/// Marks the start of a kind's section in the script's output.
const SECTION: &str = "@@bosun-prune ";

#[async_trait]
impl Module for DockerPrune {
    fn name(&self) -> &'static str {
        "docker_prune"
    }

    fn params(&self) -> &'static [Param] {
        PruneArgs::PARAMS
    }

    fn supports_check_mode(&self) -> bool {
        false
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = PruneArgs::from_args(args).map_err(ModuleError::Failed)?;
        let prunes = args.prunes().map_err(ModuleError::Failed)?;
        let mut script = format!("{REQUIRE_DOCKER}; ");
        for prune in &prunes {
            script.push_str(&format!(
                "echo '{SECTION}{}'; {}{}{} || exit 1; ",
                prune.kind,
                prune.command,
                prune.extra,
                filter_flags(prune.filters)
            ));
        }
        let out = ctx.conn.exec(&Command::new(script)).await?;
        if out.rc != 0 {
            let stderr = out.stderr_text();
            return Err(ModuleError::Failed(format!(
                "An unexpected Docker error occurred: {}",
                stderr.trim()
            )));
        }
        let stdout = out.stdout_text();
        let mut result = Outcome::new();
        let mut changed = false;
        for part in stdout.split(SECTION).skip(1) {
            let (kind, text) = part.split_once('\n').unwrap_or((part, ""));
            changed |= report(kind.trim(), read_section(text), &mut result);
        }
        result.insert("changed".into(), json!(changed));
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    #[test]
    fn the_clis_output_reads_as_the_apis_answer() {
        let containers = "Deleted Containers:\n54b1\naa01\n\nTotal reclaimed space: 1.5kB\n";
        assert_eq!(
            read_section(containers),
            Pruned {
                deleted: vec!["54b1".into(), "aa01".into()],
                reclaimed: 1500
            }
        );
        assert_eq!(
            read_section("Total reclaimed space: 0B\n"),
            Pruned::default()
        );
        assert_eq!(image_entry("untagged: t/x:1"), json!({"Untagged": "t/x:1"}));
        assert_eq!(
            image_entry("deleted: sha256:ab"),
            json!({"Deleted": "sha256:ab"})
        );
        let mut result = Outcome::new();
        assert!(!report("networks", Pruned::default(), &mut result));
        assert_eq!(result["networks"], json!([]));
        assert!(report(
            "volumes",
            Pruned {
                deleted: vec!["v".into()],
                reclaimed: 0
            },
            &mut result
        ));
        assert_eq!(result["volumes_space_reclaimed"], 0);
    }

    #[test]
    fn filters_and_sizes_convert_as_the_collection_does() {
        let filters = json!({"label": ["a=1", "b"], "dangling": false, "until": "24h"});
        assert_eq!(
            filter_flags(&filters.as_object().cloned()),
            " --filter label=a=1 --filter label=b --filter dangling=false --filter until=24h"
        );
        assert_eq!(human_to_bytes("10GB"), Ok(10 * 1024 * 1024 * 1024));
        assert_eq!(human_to_bytes("512M"), Ok(512 * 1024 * 1024));
        assert_eq!(human_to_bytes("100"), Ok(100));
        assert!(human_to_bytes("lots").is_err());
        assert_eq!(cli_size_to_bytes("3.456MB"), 3_456_000);
        let args: PruneArgs = from_json(json!({"builder_cache": true, "builder_cache_all": true, "builder_cache_keep_storage": "1K", "images": true})).expect("valid");
        let prunes = args.prunes().expect("valid");
        assert_eq!(
            prunes.iter().map(|p| p.kind).collect::<Vec<_>>(),
            ["images", "builder_cache"]
        );
        assert_eq!(prunes[1].extra, " -a --keep-storage 1024");
    }
}
