//! `docker_compose_v2`: a Compose project brought up, stopped, restarted or taken down
//! by the docker CLI's compose plugin (v2) on the target, as community.docker drives
//! it. Like the collection, it finds out what changed from the events compose prints
//! while it works, so its query differs by mode: in check mode it runs the command with
//! `--dry-run` (compose's own prediction, read only) and decides from that; outside it
//! only checks the plugin and the project (its `prepare_and_query`), the plan is the
//! command itself, and `apply` reports `changed` from the events of the real run. Debian
//! 12's `docker-compose` package is Compose v1, which this module cannot drive (nor can
//! the collection's); trixie's `docker-compose` (2.26) is the v2 plugin.

mod args;
mod events;
mod run;
mod version;

use async_trait::async_trait;
use serde_json::Value as Json;

use self::args::{COMPOSE_FILES, ComposeArgs, MINIMUM, State};
use self::run::{Ran, Summary, all_stopped};
use self::version::Version;
use super::probe;
use crate::connection::quote;
use crate::modules::contract::{Decision, StateModule};
use crate::modules::{ModuleError, Outcome, Target};

/// Manages a Compose project.
pub struct DockerComposeV2;

/// The plugin and the project directory as the first look finds them.
#[derive(Debug, Default)]
pub struct Looked {
    /// `docker compose version --format json`'s version, if the plugin answers.
    version: Option<String>,
    /// Whether `project_src` is a directory.
    is_dir: bool,
    /// The `files` that are not there.
    missing: Vec<String>,
    /// Whether `project_src` has one of the default Compose files.
    has_compose_file: bool,
}

/// What the query finds: the look, and in check mode what the dry run said.
#[derive(Debug, Default)]
pub struct Found {
    looked: Looked,
    /// The dry run's result (check mode only).
    dry_run: Option<Outcome>,
}

/// A file of `files` as a path on the target.
fn in_project(src: &str, file: &str) -> String {
    if file.starts_with('/') {
        file.to_string()
    } else {
        format!("{}/{file}", src.trim_end_matches('/'))
    }
}

/// The script printing the plugin's version (or `none`), then whether the project
/// directory, each of `files` and a default Compose file exist.
fn look_script(args: &ComposeArgs) -> Vec<String> {
    let mut parts =
        vec!["docker compose version --format json 2>/dev/null || echo none".to_string()];
    if let Some(src) = args.project_src() {
        let test = |path: &str, yes: &str, no: &str| {
            format!(
                "if [ -e {} ]; then echo {yes}; else echo {no}; fi",
                quote(path)
            )
        };
        let mut checks = vec![format!(
            "if [ -d {} ]; then echo dir; else echo nodir; fi",
            quote(src)
        )];
        checks.extend(
            args.files()
                .iter()
                .map(|f| test(&in_project(src, f), "yes", "no")),
        );
        let defaults: Vec<String> = COMPOSE_FILES
            .iter()
            .map(|f| format!("[ -e {} ]", quote(&in_project(src, f))))
            .collect();
        checks.push(format!(
            "if {}; then echo found; else echo none; fi",
            defaults.join(" || ")
        ));
        parts.push(checks.join("; "));
    }
    parts
}

/// Reads what [`look_script`] printed.
fn read_look(args: &ComposeArgs, outputs: &[String]) -> Looked {
    let version = outputs.first().and_then(|text| {
        let value: Json = serde_json::from_str(text.trim()).ok()?;
        value
            .get("version")
            .and_then(Json::as_str)
            .filter(|v| *v != "dev")
            .map(str::to_string)
    });
    let mut looked = Looked {
        version,
        is_dir: true,
        has_compose_file: true,
        ..Looked::default()
    };
    if let Some(checks) = outputs.get(1) {
        let lines: Vec<&str> = checks.lines().map(str::trim).collect();
        looked.is_dir = lines.first() == Some(&"dir");
        looked.missing = args
            .files()
            .iter()
            .zip(lines.iter().skip(1))
            .filter(|(_, answer)| **answer == "no")
            .map(|(file, _)| file.clone())
            .collect();
        looked.has_compose_file = lines.last() == Some(&"found");
    }
    looked
}

/// The plugin's version, once the collection's checks of the plugin and the
/// project pass.
fn checked(args: &ComposeArgs, looked: &Looked) -> Result<Version, String> {
    args.check()?;
    let Some(text) = &looked.version else {
        return Err("Docker CLI docker does not have the compose plugin installed".to_string());
    };
    let version = Version::parse(text);
    if !version.at_least(MINIMUM) {
        return Err(format!(
            "Docker CLI docker has the compose plugin with version {}; need version {MINIMUM} or later",
            version.text()
        ));
    }
    let Some(src) = args.project_src() else {
        return Ok(version);
    };
    if !looked.is_dir {
        return Err(format!("\"{src}\" is not a directory"));
    }
    if let Some(file) = looked.missing.first() {
        return Err(format!(
            "Cannot find Compose file \"{file}\" relative to project directory \"{src}\""
        ));
    }
    if args.files().is_empty() && args.check_files_existing() && !looked.has_compose_file {
        return Err(format!(
            "\"{src}\" does not contain {}, or {}",
            COMPOSE_FILES[..3].join(", "),
            COMPOSE_FILES[3]
        ));
    }
    Ok(version)
}

/// Brings the project to the state wanted (`ServicesManager.run`), as a dry run or
/// for real: the result, or the failure of the command that failed.
async fn converge(
    on: &Target<'_>,
    args: &ComposeArgs,
    version: &Version,
    dry_run: bool,
) -> Result<Outcome, ModuleError> {
    let ignore_builds = args.ignore_build_events();
    let mut summary = Summary::default();
    let last: Ran = match args.state() {
        State::Present => {
            let up = args
                .up(version, dry_run, false)
                .map_err(ModuleError::Failed)?;
            let ran = run::run(on, args, version, &up, dry_run).await?;
            summary.add(&ran, true, ignore_builds);
            summary = summary.check(&ran)?;
            ran
        }
        State::Stopped => {
            // `stop` always says it stops; it runs only when a container is not stopped.
            let up = args
                .up(version, dry_run, true)
                .map_err(ModuleError::Failed)?;
            let created = run::run(on, args, version, &up, dry_run).await?;
            summary.add(&created, true, ignore_builds);
            summary = summary.check(&created)?;
            if all_stopped(&created.containers) {
                created
            } else {
                let stopped =
                    run::run(on, args, version, &args.stop(version, dry_run), dry_run).await?;
                summary.add(&stopped, false, false);
                summary = summary.check(&stopped)?;
                stopped
            }
        }
        State::Restarted => {
            let ran = run::run(on, args, version, &args.restart(version, dry_run), dry_run).await?;
            summary.add(&ran, false, false);
            summary = summary.check(&ran)?;
            ran
        }
        State::Absent => {
            let ran = run::run(on, args, version, &args.down(version, dry_run), dry_run).await?;
            summary.add(&ran, false, false);
            summary = summary.check(&ran)?;
            ran
        }
    };
    Ok(summary.outcome(&last))
}

/// The plugin and project, looked at in one round trip.
async fn look(on: &Target<'_>, args: &ComposeArgs) -> Result<Looked, ModuleError> {
    let parts = look_script(args);
    let outputs = probe(on, &parts).await?;
    Ok(read_look(args, &outputs))
}

#[async_trait]
impl StateModule for DockerComposeV2 {
    const NAME: &'static str = "docker_compose_v2";
    type Args = ComposeArgs;
    type State = Found;
    /// The plugin's version the commands are written for.
    type Plan = Version;
    /// Outside check mode its first command is compose's own run, which changes things.
    const ASKS_AHEAD: bool = false;

    /// Check mode: the look, then the dry run when the checks pass.
    async fn query(&self, on: &Target<'_>, args: &ComposeArgs) -> Result<Found, ModuleError> {
        let looked = look(on, args).await?;
        let dry_run = match checked(args, &looked) {
            Ok(version) => Some(converge(on, args, &version, true).await?),
            Err(_) => None,
        };
        Ok(Found { looked, dry_run })
    }

    /// Outside check mode: only the look; the real run tells what changed.
    async fn prepare_and_query(
        &self,
        on: &Target<'_>,
        args: &ComposeArgs,
    ) -> Result<Found, ModuleError> {
        Ok(Found {
            looked: look(on, args).await?,
            dry_run: None,
        })
    }

    fn decide(&self, args: &ComposeArgs, found: Found) -> Result<Decision<Version>, String> {
        let version = checked(args, &found.looked)?;
        let Some(mut predicted) = found.dry_run else {
            return Ok(Decision::change(version));
        };
        let changed = predicted.remove("changed") == Some(Json::Bool(true));
        let mut decision = Decision::maybe(Some(version).filter(|_| changed));
        decision.result = predicted;
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &ComposeArgs,
        version: Version,
    ) -> Result<Outcome, ModuleError> {
        converge(on, args, &version, false).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn args(task: Json) -> ComposeArgs {
        from_json(task).expect("valid")
    }

    fn looked(version: &str) -> Looked {
        Looked {
            version: Some(version.into()),
            is_dir: true,
            has_compose_file: true,
            ..Looked::default()
        }
    }

    #[test]
    fn the_plugin_and_project_are_checked_first() {
        let task = args(json!({"project_src": "/srv/web"}));
        assert!(checked(&task, &looked("2.26.1-4")).is_ok());
        assert_eq!(
            checked(&task, &looked("2.17.0")).expect_err("too old"),
            "Docker CLI docker has the compose plugin with version 2.17.0; need version 2.18.0 or later"
        );
        assert_eq!(
            checked(&task, &Looked::default()).expect_err("no plugin"),
            "Docker CLI docker does not have the compose plugin installed"
        );
        let no_file = Looked {
            has_compose_file: false,
            ..looked("2.26.1")
        };
        assert_eq!(
            checked(&task, &no_file).expect_err("no compose file"),
            "\"/srv/web\" does not contain compose.yaml, compose.yml, docker-compose.yaml, or docker-compose.yml"
        );
        let with_files = args(json!({"project_src": "/srv/web", "files": ["a.yml", "b.yml"]}));
        let outputs = vec![
            "{\"version\":\"2.26.1-4\"}\n".to_string(),
            "dir\nyes\nno\nnone\n".to_string(),
        ];
        let read = read_look(&with_files, &outputs);
        assert_eq!(read.version.as_deref(), Some("2.26.1-4"));
        assert_eq!(
            checked(&with_files, &read).expect_err("b.yml is missing"),
            "Cannot find Compose file \"b.yml\" relative to project directory \"/srv/web\""
        );
        let nodir = read_look(&task, &["none".to_string(), "nodir\nnone".to_string()]);
        assert_eq!(nodir.version, None);
        assert!(!nodir.is_dir);
    }

    #[test]
    fn check_mode_decides_from_the_dry_run_and_a_real_run_always_runs() {
        let task = args(json!({"project_src": "/srv/web"}));
        let real = Found {
            looked: looked("2.26.1"),
            dry_run: None,
        };
        assert!(
            DockerComposeV2
                .decide(&task, real)
                .expect("decides")
                .plan
                .is_some()
        );
        let mut predicted = Outcome::new();
        predicted.insert("changed".into(), json!(false));
        predicted.insert("actions".into(), json!([]));
        let check = Found {
            looked: looked("2.26.1"),
            dry_run: Some(predicted),
        };
        let decision = DockerComposeV2.decide(&task, check).expect("decides");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["actions"], json!([]));
        assert!(
            decision.result.get("changed").is_none(),
            "the driver says it"
        );
    }
}
