//! What `docker compose --progress plain` says it did, read as community.docker's
//! `parse_events` reads it: one event per line (`Container web-1  Started`), the
//! statuses that mean work (`Creating`, `Recreate`, `Starting` ...) making a change,
//! warnings and errors kept apart.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::{Value as Json, json};

/// Statuses of finished work.
const DONE: &[&str] = &[
    "Started",
    "Healthy",
    "Exited",
    "Restarted",
    "Running",
    "Created",
    "Stopped",
    "Killed",
    "Removed",
    "Recreated",
    "Pulled",
    "Built",
];

/// Statuses of work under way: each is a change.
const WORKING: &[&str] = &[
    "Creating",
    "Starting",
    "Restarting",
    "Stopping",
    "Killing",
    "Removing",
    "Recreate",
    "Pulling",
    "Building",
];

/// Pull statuses of a service.
const PULL: &[&str] = &["Pulled", "Pulling"];

/// Build statuses of a service.
const BUILD: &[&str] = &["Built", "Building"];

/// Layer statuses of a pull that are done.
const LAYER_DONE: &[&str] = &["Already exists", "Download complete", "Pull complete"];

/// Layer statuses of a pull under way: each is a change.
const LAYER_WORKING: &[&str] = &[
    "Pulling fs layer",
    "Waiting",
    "Downloading",
    "Verifying Checksum",
    "Extracting",
    "Working",
];

/// What the printed lines of a dry run start with.
const DRY_RUN_MARKER: &str = "DRY-RUN MODE -";

/// What one event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// Something the line does not say.
    Unknown,
    /// A network.
    Network,
    /// An image.
    Image,
    /// A layer of an image being pulled.
    ImageLayer,
    /// A volume.
    Volume,
    /// A container.
    Container,
    /// A service (pulled or built).
    Service,
}

impl Resource {
    /// The word the collection's `actions` use.
    pub fn word(self) -> &'static str {
        match self {
            Resource::Unknown => "unknown",
            Resource::Network => "network",
            Resource::Image => "image",
            Resource::ImageLayer => "image-layer",
            Resource::Volume => "volume",
            Resource::Container => "container",
            Resource::Service => "service",
        }
    }
}

/// One event: what, which, its status (when it has a known one) and a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// What it is about.
    pub resource: Resource,
    /// Which one.
    pub id: String,
    /// Its status.
    pub status: Option<String>,
    /// A message.
    pub msg: Option<String>,
}

impl Event {
    fn new(resource: Resource, id: &str, status: Option<&str>, msg: Option<&str>) -> Event {
        Event {
            resource,
            id: id.to_string(),
            status: status.map(str::to_string),
            msg: msg.map(str::to_string),
        }
    }

    fn status_in(&self, set: &[&str]) -> bool {
        self.status.as_deref().is_some_and(|s| set.contains(&s))
    }

    /// Whether the event is an error.
    pub fn is_error(&self) -> bool {
        self.status.as_deref() == Some("Error")
    }
}

/// Alternatives of a regular expression, escaped.
fn any_of(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| regex::escape(w))
        .collect::<Vec<_>>()
        .join("|")
}

/// Compiles one of the fixed patterns below.
fn pattern(text: &str) -> Regex {
    Regex::new(text).unwrap_or_else(|e| panic!("a fixed pattern compiles: {e}"))
}

static RESOURCE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*(Network|Image|Volume|Container)\s+(\S+)\s+(\S(?:|.*\S))\s*$"));
static PULL_EVENT: LazyLock<Regex> =
    LazyLock::new(|| pattern(&format!(r"^\s*(\S+)\s+({})\s*$", any_of(PULL))));
static ERROR: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*(\S+)\s+(Error)\s*(\S.*\S)?$"));
static WARNING: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*(\S+)\s+(Warning)\s*(\S.*\S)?$"));
static LAYER: LazyLock<Regex> = LazyLock::new(|| {
    let mut statuses: Vec<&str> = LAYER_DONE
        .iter()
        .chain(LAYER_WORKING.iter().filter(|s| **s != "Working"))
        .copied()
        .collect();
    statuses.sort_unstable();
    pattern(&format!(
        r"^\s*(\S+)\s+({})\s*(?:|\s\[[^]]+\]\s+\S+\s*|\s+[0-9.kKmMgGbB]+/[0-9.kKmMgGbB]+\s*)$",
        any_of(&statuses)
    ))
});
static SKIPPED: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*(\S+)\s+Skipped(?: -\s*(\S(?:|.*\S))|\s*)$"));
static BUILD_START: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*build service\s+(\S+)$"));
static BUILD_PROGRESS: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*==>\s+(.*)$"));
static CONTINUED: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*(\S+)\s+-\s*(\S(?:|.*\S))$"));
static LOGFMT_WARNING: LazyLock<Regex> =
    LazyLock::new(|| pattern(r#"^time="[^"]*"\s+level=warning\s+msg="((?:[^"\\]|\\.)*)""#));

/// The event a line states, if it states one; `Err` with a warning's text for a
/// warning line.
fn extract(line: &str) -> Option<Result<Event, String>> {
    if let Some(c) = RESOURCE.captures(line) {
        let resource = match &c[1] {
            "Network" => Resource::Network,
            "Image" => Resource::Image,
            "Volume" => Resource::Volume,
            _ => Resource::Container,
        };
        let status = &c[3];
        let known = DONE.contains(&status)
            || WORKING.contains(&status)
            || status == "Error"
            || status == "Waiting";
        let event = match known {
            true => Event::new(resource, &c[2], Some(status), None),
            false => Event::new(resource, &c[2], None, Some(status)),
        };
        return Some(Ok(event));
    }
    if let Some(c) = PULL_EVENT.captures(line) {
        return Some(Ok(Event::new(Resource::Service, &c[1], Some(&c[2]), None)));
    }
    if let Some(c) = ERROR.captures(line) {
        let msg = c.get(3).map(|m| m.as_str());
        return Some(Ok(Event::new(Resource::Unknown, &c[1], Some("Error"), msg)));
    }
    if let Some(c) = WARNING.captures(line) {
        return Some(Err(match c.get(3) {
            Some(msg) => format!("{}: {}", &c[1], msg.as_str()),
            None => format!("Unspecified warning for {}", &c[1]),
        }));
    }
    if let Some(c) = LAYER.captures(line) {
        return Some(Ok(Event::new(
            Resource::ImageLayer,
            &c[1],
            Some(&c[2]),
            None,
        )));
    }
    if let Some(c) = SKIPPED.captures(line) {
        let msg = c.get(2).map(|m| m.as_str());
        return Some(Ok(Event::new(
            Resource::Unknown,
            &c[1],
            Some("Skipped"),
            msg,
        )));
    }
    if let Some(c) = BUILD_START.captures(line) {
        return Some(Ok(Event::new(
            Resource::Service,
            &c[1],
            Some("Building"),
            None,
        )));
    }
    None
}

/// Joins `more` to an event's message.
fn append(event: &mut Event, more: &str) {
    event.msg = Some(match event.msg.take() {
        Some(msg) => format!("{msg}\n{more}"),
        None => more.to_string(),
    });
}

/// The events compose printed on its error output, and the warnings to show (lines it
/// printed as warnings, and lines nothing could read).
pub fn parse(stderr: &str, dry_run: bool, nonzero_rc: bool) -> (Vec<Event>, Vec<String>) {
    let mut events: Vec<Event> = Vec::new();
    let mut warnings = Vec::new();
    let mut error_at: Option<usize> = None;
    let lines: Vec<&str> = stderr.lines().collect();
    for (index, raw) in lines.iter().enumerate() {
        let mut line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if dry_run && let Some(rest) = line.strip_prefix(DRY_RUN_MARKER) {
            line = rest.trim_start();
        }
        match extract(line) {
            Some(Ok(event)) => {
                error_at = event.is_error().then_some(events.len());
                events.push(event);
                continue;
            }
            Some(Err(warning)) => {
                warnings.push(warning);
                continue;
            }
            None => {}
        }
        if BUILD_PROGRESS.is_match(line) {
            continue;
        }
        if let Some(c) = CONTINUED.captures(line)
            && let Some(event) = events.iter_mut().rev().find(|e| e.id == c[1])
        {
            append(event, &c[2]);
        }
        if let Some(c) = LOGFMT_WARNING.captures(line) {
            warnings.push(c[1].replace("\\\"", "\""));
            continue;
        }
        if let Some(at) = error_at {
            append(&mut events[at], line);
            continue;
        }
        if line.starts_with("Error ")
            || lines.len() == 1
            || (nonzero_rc && index == lines.len() - 1)
        {
            error_at = Some(events.len());
            events.push(Event::new(Resource::Unknown, "", Some("Error"), Some(line)));
            continue;
        }
        warnings.push(format!("Cannot parse event from line: {line:?}"));
    }
    (events, warnings)
}

/// Whether the events say something changed (`has_changes`).
pub fn has_changes(events: &[Event], ignore_pulls: bool, ignore_builds: bool) -> bool {
    events.iter().any(|event| {
        if event.status_in(WORKING) {
            return !(ignore_pulls && event.status_in(PULL)
                || ignore_builds && event.status_in(BUILD));
        }
        event.resource == Resource::ImageLayer && event.status_in(LAYER_WORKING)
    })
}

/// The `actions` the events make (`extract_actions`): work done on each resource,
/// and each layer status of a pull once.
pub fn actions(events: &[Event]) -> Vec<Json> {
    let mut actions = Vec::new();
    let mut layers: Vec<(&str, &str)> = Vec::new();
    for event in events {
        let status = event.status.as_deref().unwrap_or_default();
        let entry = || json!({"what": event.resource.word(), "id": event.id, "status": status});
        if event.resource == Resource::ImageLayer {
            if event.status_in(LAYER_WORKING) && !layers.contains(&(&event.id, status)) {
                layers.push((&event.id, status));
                actions.push(entry());
            }
        } else if event.status_in(WORKING) {
            actions.push(entry());
        }
    }
    actions
}

/// Warnings for events that carry a message but no status (`emit_warnings`).
pub fn event_warnings(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.status.is_none() && e.msg.is_some() || e.status.as_deref() == Some("Warning"))
        .map(|e| {
            format!(
                "Docker compose: {} {}: {}",
                e.resource.word(),
                e.id,
                e.msg.as_deref().unwrap_or("None")
            )
        })
        .collect()
}

/// The failure message of a command that exited with `rc` (`update_failed`): its
/// error events, or the exit code.
pub fn failure(events: &[Event], rc: i32) -> String {
    let errors: Vec<String> = events
        .iter()
        .filter(|e| e.is_error())
        .map(|e| {
            let prefix = match (e.resource, e.id.as_str()) {
                (_, "") => "General error: ".to_string(),
                (Resource::Unknown, id) => format!("Error when processing {id}: "),
                (resource, id) => format!("Error when processing {} {id}: ", resource.word()),
            };
            format!("{prefix}{}", e.msg.as_deref().unwrap_or("Error"))
        })
        .collect();
    if errors.is_empty() {
        format!("Return code {rc} is non-zero")
    } else {
        errors.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_up_that_creates_is_a_change_and_a_converged_one_is_not() {
        let created = " Network web_default  Creating\n Network web_default  Created\n Container web-web-1  Creating\n Container web-web-1  Created\n Container web-web-1  Starting\n Container web-web-1  Started\n";
        let (events, warnings) = parse(created, false, false);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(events.len(), 6);
        assert!(has_changes(&events, true, true));
        assert_eq!(
            actions(&events),
            vec![
                json!({"what": "network", "id": "web_default", "status": "Creating"}),
                json!({"what": "container", "id": "web-web-1", "status": "Creating"}),
                json!({"what": "container", "id": "web-web-1", "status": "Starting"}),
            ]
        );
        let running = " DRY-RUN MODE -  Container web-web-1  Running\n DRY-RUN MODE -  Container web-worker-1  Running\n";
        let (events, warnings) = parse(running, true, false);
        assert!(warnings.is_empty());
        assert_eq!(events[1].id, "web-worker-1");
        assert!(!has_changes(&events, true, true));
    }

    #[test]
    fn pulls_count_only_when_asked_and_layers_always() {
        let pulled = " web Pulling \n web Pulled \n";
        let (events, _) = parse(pulled, false, false);
        assert_eq!(events[0].resource, Resource::Service);
        assert!(!has_changes(&events, true, false));
        assert!(has_changes(&events, false, false));
        let layer = " 4f4fb700ef54 Downloading [=====>   ]  1.2MB/3.4MB\n";
        let (events, _) = parse(layer, false, false);
        assert_eq!(events[0].resource, Resource::ImageLayer);
        assert!(has_changes(&events, true, true));
    }

    #[test]
    fn errors_and_warnings_are_told_apart() {
        let failed = " Container web-web-1  Error\nsomething broke\n";
        let (events, _) = parse(failed, false, true);
        assert_eq!(events.len(), 1);
        assert_eq!(
            failure(&events, 1),
            "Error when processing container web-web-1: something broke"
        );
        let (events, _) = parse("no such service: db\n", false, true);
        assert_eq!(failure(&events, 1), "General error: no such service: db");
        assert_eq!(failure(&[], 3), "Return code 3 is non-zero");
        let warned = "time=\"2024-01-01T00:00:00Z\" level=warning msg=\"the attribute `version` is obsolete\"\n Container a  Running\n";
        let (events, warnings) = parse(warned, false, false);
        assert_eq!(warnings, vec!["the attribute `version` is obsolete"]);
        assert_eq!(events.len(), 1);
        let (events, _) = parse(" Container a  Some message\n", false, false);
        assert_eq!(
            event_warnings(&events),
            vec!["Docker compose: container a: Some message"]
        );
    }
}
