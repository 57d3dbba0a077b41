//! One `docker compose` command run on the target in the project directory, in one
//! round trip with the project's containers and images listed after it, and its
//! output read: the events on its error output, `ps` and `images` as JSON.

use serde_json::{Map, Value as Json, json};

use super::args::{ComposeArgs, PROJECT_DIR};
use super::events::{self, Event};
use super::version::Version;
use crate::connection::{Command, quote};
use crate::modules::docker::{REQUIRE_DOCKER, SEPARATOR, split_parts};
use crate::modules::{ModuleError, Outcome, Target};

/// What one command did, and the project as it stands after it.
#[derive(Debug, Default)]
pub struct Ran {
    /// The command line, as the failure shows it.
    pub cmd: String,
    /// Its exit code.
    pub rc: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its error output (where compose prints its events).
    pub stderr: String,
    /// The events read from it.
    pub events: Vec<Event>,
    /// Warnings to show.
    pub warnings: Vec<String>,
    /// The project's containers (`ps`), as the collection returns them.
    pub containers: Vec<Json>,
    /// The project's images.
    pub images: Vec<Json>,
}

/// The script lines that set `$project` (a temporary directory holding the
/// `definition`, read from standard input, when there is one) and go there.
fn enter(args: &ComposeArgs) -> String {
    match args.project_src() {
        Some(src) => format!("project={}; cd \"$project\" 2>/dev/null; ", quote(src)),
        None => "project=$(mktemp -d) || exit 1; cat >\"$project/compose.yaml\" || exit 1; \
                 cd \"$project\"; "
            .to_string(),
    }
}

/// Runs `command` (a line of [`ComposeArgs`]) and lists the project after it.
pub async fn run(
    on: &Target<'_>,
    args: &ComposeArgs,
    version: &Version,
    command: &str,
    dry_run: bool,
) -> Result<Ran, ModuleError> {
    let cleanup = match args.definition() {
        Some(_) => "rm -rf \"$t\" \"$project\"",
        None => "rm -rf \"$t\"",
    };
    let script = format!(
        "{REQUIRE_DOCKER}; {enter}t=$(mktemp -d) || exit 1; \
         {command} >\"$t/o\" 2>\"$t/e\"; rc=$?; \
         cat \"$t/o\"; echo; echo {SEPARATOR}; cat \"$t/e\"; echo; echo {SEPARATOR}; echo $rc; echo {SEPARATOR}; \
         {ps} 2>\"$t/e\" || {{ cat \"$t/e\" >&2; {cleanup}; exit 1; }}; echo; echo {SEPARATOR}; \
         {images} 2>\"$t/e\" || {{ cat \"$t/e\" >&2; {cleanup}; exit 1; }}; echo; echo {SEPARATOR}; \
         {cleanup}",
        enter = enter(args),
        ps = args.ps(version),
        images = args.images(version),
    );
    let mut exec = Command::new(script);
    if let Some(definition) = args.definition() {
        // JSON is YAML: compose reads it as the Compose file.
        exec.stdin = Some(Json::Object(definition.clone()).to_string().into_bytes());
    }
    let out = on.conn.exec(&exec).await?;
    if out.rc != 0 {
        return Err(ModuleError::Failed(out.stderr_text().trim().to_string()));
    }
    let parts = split_parts(&out.stdout_text(), 5).map_err(ModuleError::Failed)?;
    let rc: i32 = parts[2].trim().parse().unwrap_or(-1);
    // Each output is followed by the newline the script adds.
    let own = |part: &str| part.strip_suffix('\n').unwrap_or(part).to_string();
    let stderr = own(&parts[1]);
    let (events, mut warnings) = events::parse(&stderr, dry_run, rc != 0);
    warnings.extend(events::event_warnings(&events));
    let shown_dir = args.project_src().map(quote);
    Ok(Ran {
        cmd: match shown_dir {
            Some(dir) => command.replace(PROJECT_DIR, &dir),
            None => command.to_string(),
        },
        rc,
        stdout: own(&parts[0]),
        stderr,
        events,
        warnings,
        containers: containers(&parts[3]).map_err(ModuleError::Failed)?,
        images: images(&parts[4]).map_err(ModuleError::Failed)?,
    })
}

/// JSON values printed as one list, or one per line (compose 2.21 and later).
fn json_values(output: &str) -> Result<Vec<Json>, String> {
    let text = output.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if text.starts_with('[') {
        return serde_json::from_str(text).map_err(|e| format!("cannot read compose's JSON: {e}"));
    }
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).map_err(|e| format!("cannot read compose's JSON: {e}"))
        })
        .collect()
}

/// `ps`'s containers as the collection returns them (`list_containers`): `Labels` as
/// a mapping, `Names` and `Networks` as lists, `Publishers` a list.
pub fn containers(output: &str) -> Result<Vec<Json>, String> {
    let mut containers = json_values(output)?;
    for container in &mut containers {
        let Some(map) = container.as_object_mut() else {
            continue;
        };
        let text = |map: &Map<String, Json>, key: &str| {
            map.get(key).and_then(Json::as_str).map(str::to_string)
        };
        let labels: Map<String, Json> = text(map, "Labels")
            .unwrap_or_default()
            .split(',')
            .filter(|part| !part.is_empty())
            .map(|part| match part.split_once('=') {
                Some((key, value)) => (key.to_string(), json!(value)),
                None => (part.to_string(), json!("")),
            })
            .collect();
        map.insert("Labels".into(), Json::Object(labels));
        let names = text(map, "Names")
            .or_else(|| text(map, "Name"))
            .unwrap_or_default();
        map.insert("Names".into(), json!(names.split(',').collect::<Vec<_>>()));
        let networks = text(map, "Networks").unwrap_or_default();
        map.insert(
            "Networks".into(),
            json!(networks.split(',').collect::<Vec<_>>()),
        );
        if map.get("Publishers").is_none_or(Json::is_null) {
            map.insert("Publishers".into(), json!([]));
        }
    }
    Ok(containers)
}

/// `images`' list (a mapping by image since compose 2.37: its values).
pub fn images(output: &str) -> Result<Vec<Json>, String> {
    let values = json_values(output)?;
    Ok(match values.as_slice() {
        [Json::Object(map)] if !map.contains_key("ID") => map.values().cloned().collect(),
        _ => values,
    })
}

/// Whether every container is stopped (`_are_containers_stopped`).
pub fn all_stopped(containers: &[Json]) -> bool {
    containers.iter().all(|c| {
        matches!(
            c.get("State").and_then(Json::as_str),
            Some("created" | "exited" | "stopped" | "killed")
        )
    })
}

/// The result of one or more commands, built as `update_result` builds it.
#[derive(Debug, Default)]
pub struct Summary {
    changed: bool,
    actions: Vec<Json>,
    stdout: Vec<String>,
    stderr: Vec<String>,
    warnings: Vec<String>,
}

impl Summary {
    /// Adds what `ran` did (pull or build events ignored as asked).
    pub fn add(&mut self, ran: &Ran, ignore_pulls: bool, ignore_builds: bool) {
        self.changed |= events::has_changes(&ran.events, ignore_pulls, ignore_builds);
        self.actions.extend(events::actions(&ran.events));
        for (all, text) in [
            (&mut self.stdout, &ran.stdout),
            (&mut self.stderr, &ran.stderr),
        ] {
            if !text.is_empty() {
                all.push(text.clone());
            }
        }
        self.warnings.extend(ran.warnings.iter().cloned());
    }

    /// The module's result, with the project as `last` left it.
    pub fn outcome(self, last: &Ran) -> Outcome {
        let mut outcome = Outcome::new();
        outcome.insert("changed".into(), json!(self.changed));
        outcome.insert("actions".into(), json!(self.actions));
        outcome.insert("containers".into(), json!(last.containers));
        outcome.insert("images".into(), json!(last.images));
        for (key, texts) in [("stdout", self.stdout), ("stderr", self.stderr)] {
            if !texts.is_empty() {
                outcome.insert(key.into(), json!(texts.join("\n")));
            }
        }
        if !self.warnings.is_empty() {
            outcome.insert("warnings".into(), json!(self.warnings));
        }
        outcome
    }

    /// Fails as `update_failed` does when `ran` exited non-zero: the errors its
    /// events name, the command, its output and exit code, and what was done so far.
    pub fn check(self, ran: &Ran) -> Result<Summary, ModuleError> {
        if ran.rc == 0 {
            return Ok(self);
        }
        let mut result = self.outcome(ran);
        result.insert("failed".into(), json!(true));
        result.insert("msg".into(), json!(events::failure(&ran.events, ran.rc)));
        result.insert("cmd".into(), json!(ran.cmd));
        result.insert("stdout".into(), json!(ran.stdout));
        result.insert("stderr".into(), json!(ran.stderr));
        result.insert("rc".into(), json!(ran.rc));
        Err(ModuleError::FailedWith(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_output_becomes_the_collections_containers() {
        let line = r#"{"ID":"81a0","Labels":"com.docker.compose.project=web,com.docker.compose.service=web","Name":"web-web-1","Names":"web-web-1","Networks":"web_default","Publishers":null,"State":"running","Service":"web"}"#;
        let parsed = containers(&format!("{line}\n{line}\n")).expect("read");
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0]["Labels"]["com.docker.compose.service"], "web");
        assert_eq!(parsed[0]["Names"], json!(["web-web-1"]));
        assert_eq!(parsed[0]["Networks"], json!(["web_default"]));
        assert_eq!(parsed[0]["Publishers"], json!([]));
        assert!(!all_stopped(&parsed));
        assert!(all_stopped(&[json!({"State": "exited"})]));
        assert_eq!(containers("[]").expect("an empty list"), Vec::<Json>::new());
    }

    #[test]
    fn images_come_as_a_list_or_a_mapping() {
        let list = r#"[{"ID":"sha256:a","ContainerName":"web-web-1","Repository":"fixture/busybox","Tag":"1","Size":1}]"#;
        assert_eq!(images(list).expect("a list").len(), 1);
        let map = r#"{"web-web-1":{"ID":"sha256:a"}}"#;
        assert_eq!(
            images(map).expect("a mapping"),
            vec![json!({"ID": "sha256:a"})]
        );
    }

    #[test]
    fn a_failed_command_fails_with_what_it_said() {
        let (events, _) = events::parse("no such service: db\n", false, true);
        let ran = Ran {
            cmd: "docker compose up".into(),
            rc: 1,
            stderr: "no such service: db".into(),
            events,
            ..Ran::default()
        };
        let Err(ModuleError::FailedWith(result)) = Summary::default().check(&ran) else {
            panic!("a failure");
        };
        assert_eq!(result["msg"], "General error: no such service: db");
        assert_eq!(result["rc"], 1);
        assert_eq!(result["cmd"], "docker compose up");
    }
}
