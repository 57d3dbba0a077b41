//! `file`: makes a path a file, directory, symlink or hard link with given attributes,
//! touches it or sets its times, or removes it.

use async_trait::async_trait;
use serde_json::{Map, json};

use super::contract::{Decision, StateModule};
use super::fileops::{self, Attributes, FileKind, FileStat};
use super::typed::{WithAttributes, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

mod recurse;
mod times;

use recurse::Recurse;
use times::{When, time_commands};

/// Manages the state and attributes of a path.
pub struct File;

arg_enum! {
    /// What the path should be.
    pub enum FileState {
        Absent = "absent",
        Directory = "directory",
        File = "file",
        Hard = "hard",
        Link = "link",
        Touch = "touch",
    }
}

module_args! {
    /// `file`'s own arguments.
    pub struct FileArgs {
        /// The path to manage.
        path: String => .required().aliases(&["dest", "name"]),
        /// What it should be; by default what it is (a file when missing).
        state: Option<FileState>,
        /// What a link points to.
        src: Option<String>,
        /// Whether the attributes go to everything below a directory.
        recurse: bool => .default_bool(false),
        /// Whether a link replaces what is at the path.
        force: bool => .default_bool(false),
        /// Whether a link at the path is described (and its attributes set) by what it
        /// points to.
        follow: bool => .default_bool(true),
        /// `now`, `preserve` or a time in `modification_time_format`.
        modification_time: Option<String>,
        /// The format of `modification_time` (Python's strptime directives).
        modification_time_format: String => .default_str("%Y%m%d%H%M.%S"),
        /// `now`, `preserve` or a time in `access_time_format`.
        access_time: Option<String>,
        /// The format of `access_time` (Python's strptime directives).
        access_time_format: String => .default_str("%Y%m%d%H%M.%S"),
    }
}

/// The arguments with the file attributes.
type Args = WithAttributes<FileArgs>;

impl FileArgs {
    /// The path without trailing slashes (`/` stays).
    fn path(&self) -> String {
        match self.path.trim_end_matches('/') {
            "" => "/".to_string(),
            path => path.to_string(),
        }
    }

    /// The wanted state: as given, or `directory` with `recurse`, `link` with `src`,
    /// else what the path is (`file` when missing).
    fn state(&self, followed: Option<&FileStat>) -> FileState {
        match (self.state, followed) {
            (Some(state), _) => state,
            (None, _) if self.recurse => FileState::Directory,
            (None, _) if self.src.is_some() => FileState::Link,
            (None, Some(stat)) if stat.kind == FileKind::Directory => FileState::Directory,
            (None, Some(stat)) if stat.kind == FileKind::Link => FileState::Link,
            (None, _) => FileState::File,
        }
    }

    /// The wanted modification and access times; `touch` takes `now` by default,
    /// the other states keep the times.
    fn times(&self, touch: bool) -> Result<(When, When), String> {
        let default = if touch { When::Now } else { When::Preserve };
        Ok((
            When::parse(
                self.modification_time.as_deref(),
                &self.modification_time_format,
                default.clone(),
            )?,
            When::parse(
                self.access_time.as_deref(),
                &self.access_time_format,
                default,
            )?,
        ))
    }
}

/// Separates the sections of the query's output.
const SECTION: &str = "\x03";

/// The path as found, and what else the task needs to know.
#[derive(Debug, Default)]
pub struct Found {
    /// The path itself (a link not followed).
    current: Option<FileStat>,
    /// What it leads to, when it is a link.
    target: Option<FileStat>,
    /// For `hard`: whether `src` exists and is the path already.
    src_missing: bool,
    src_same: bool,
    /// The wanted modification and access times as seconds since the epoch.
    mtime: Option<i64>,
    atime: Option<i64>,
    /// For `recurse`: the modes and types below the directory (`644 f`), when the mode
    /// is symbolic, and whether anything below differs in numeric mode or ownership.
    below: Vec<String>,
    below_differs: bool,
}

/// The commands that bring the path to the wanted state, and how to read it after.
#[derive(Debug)]
pub struct Plan {
    commands: Vec<String>,
    /// Whether the final state is read through a link.
    follow: bool,
}

#[async_trait]
impl StateModule for File {
    const NAME: &'static str = "file";
    type Args = Args;
    type State = Found;
    type Plan = Plan;

    /// One round trip: the path, and what it points to when it is a link, `src` for a hard
    /// link, the wanted times as the target's clock reads them, and what `recurse`
    /// would change below a directory.
    async fn query(&self, on: &Target<'_>, args: &Args) -> Result<Found, ModuleError> {
        let own = &args.args;
        let path = own.path();
        let p = quote(&path);
        let (mtime, atime) = own
            .times(own.state == Some(FileState::Touch))
            .map_err(ModuleError::Failed)?;
        let probe = args.attributes.probe(&path);
        let mut sections = vec![
            format!("{}; {probe}:", fileops::stat_script(&path, false, false)),
            format!(
                "if [ -L {p} ]; then {}; {probe}:; fi",
                fileops::stat_script(&path, true, false)
            ),
        ];
        sections.push(match (own.state, &own.src) {
            (Some(FileState::Hard), Some(src)) => {
                let s = quote(src);
                format!("[ -e {s} ] || echo missing; [ {p} -ef {s} ] && echo same; :")
            }
            _ => ":".to_string(),
        });
        for when in [&mtime, &atime] {
            sections.push(match when {
                When::At { date, .. } => format!("date -d {} +%s", quote(date)),
                _ => ":".to_string(),
            });
        }
        let recurse = match own.recurse {
            true => Recurse::plan(&path, &args.attributes).map_err(ModuleError::Failed)?,
            false => Recurse::default(),
        };
        for probe in [&recurse.listing, &recurse.probe] {
            sections.push(probe.clone().unwrap_or_else(|| ":".to_string()));
        }
        let script = sections.join("; printf '\\003\\n'; ");
        let out = on.conn.exec(&Command::new(script)).await?;
        let text = out.stdout_text();
        let parts: Vec<&str> = text.split(&format!("{SECTION}\n")).collect();
        let part = |i: usize| parts.get(i).copied().unwrap_or_default();
        Ok(Found {
            current: fileops::parse_stat(part(0)),
            target: fileops::parse_stat(part(1)),
            src_missing: part(2).contains("missing"),
            src_same: part(2).contains("same"),
            mtime: part(3).trim().parse().ok(),
            atime: part(4).trim().parse().ok(),
            below: part(5).lines().map(str::to_string).collect(),
            below_differs: !part(6).trim().is_empty(),
        })
    }

    fn decide(&self, args: &Args, found: Found) -> Result<Decision<Plan>, String> {
        let own = &args.args;
        let path = own.path();
        let current = found.current.as_ref();
        let followed = match current {
            Some(stat) if stat.kind == FileKind::Link && own.follow => found.target.as_ref(),
            other => other,
        };
        let prev_state = current.map_or("absent", |s| s.kind.state());
        let state = own.state(followed);
        let mut commands = state_commands(own, &found, &path, state, followed)?;
        let mut diff_before = Map::new();
        let mut diff_after = Map::new();
        diff_before.insert("path".into(), json!(path));
        diff_after.insert("path".into(), json!(path));
        if prev_state != state.as_str() || state == FileState::Touch {
            diff_before.insert("state".into(), json!(prev_state));
            diff_after.insert("state".into(), json!(state.as_str()));
        }
        if state != FileState::Absent {
            let attributes = &args.attributes;
            let target = match state {
                FileState::Link => {
                    current.filter(|c| c.kind == FileKind::Link && commands.is_empty())
                }
                _ => followed,
            };
            let created = !commands.is_empty() && state != FileState::Touch;
            match target {
                Some(existing) if !created => {
                    let changes = attributes.changes(&path, existing)?;
                    diff_before.extend(changes.before);
                    diff_after.extend(changes.after);
                    commands.extend(changes.commands);
                }
                _ => commands.extend(new_path_attributes(attributes, &path, state)?),
            }
            let (mtime, atime) = own.times(state == FileState::Touch)?;
            let basis = followed.filter(|_| !created && current.is_some());
            commands.extend(time_commands(
                &path,
                basis,
                (&mtime, found.mtime),
                (&atime, found.atime),
            ));
            if own.recurse && state == FileState::Directory {
                let recurse = Recurse::plan(&path, attributes)?;
                if recurse.differs(&found)? {
                    commands.push(recurse.apply.join(" && "));
                }
            }
        }
        let mut result = Outcome::new();
        result.insert("path".into(), json!(path));
        match followed.filter(|_| state != FileState::Absent) {
            Some(stat) => {
                result.extend(fileops::describe(&path, stat));
                result.insert("state".into(), json!(shown_state(state, stat)));
            }
            None => {
                result.insert("state".into(), json!(state.as_str()));
            }
        }
        if let Some(src) = &own.src {
            result.insert("src".into(), json!(src));
        }
        let changed = !commands.is_empty();
        let plan = Plan {
            commands,
            follow: own.follow && state != FileState::Link,
        };
        let mut decision = Decision::maybe(changed.then_some(plan));
        decision.result = result;
        Ok(match changed {
            true => decision.with_diff(json!({
                "before": diff_before,
                "after": diff_after,
                "before_header": path,
                "after_header": path,
            })),
            false => decision,
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Args,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let own = &args.args;
        let path = own.path();
        let script = plan.commands.join(" && ")
            + "; rc=$?; "
            + &fileops::stat_script(&path, plan.follow, false)
            + "; exit $rc";
        let out = on.conn.exec(&Command::new(script)).await?;
        if out.rc != 0 {
            let mut failed = super::failed(out.stderr_text().trim());
            failed.insert("path".into(), json!(path));
            return Err(ModuleError::FailedWith(failed));
        }
        let mut outcome = Outcome::new();
        let stat = fileops::parse_stat(&out.stdout_text());
        if let Some(stat) = stat.filter(|_| own.state != Some(FileState::Absent)) {
            outcome.extend(fileops::describe(&path, &stat));
            let wanted = own.state(Some(&stat));
            outcome.insert("state".into(), json!(shown_state(wanted, &stat)));
        }
        Ok(outcome)
    }
}

/// The `state` a result shows: the wanted one, or for `touch` what the path is.
fn shown_state(state: FileState, stat: &FileStat) -> &'static str {
    match state {
        FileState::Touch => stat.kind.state(),
        other => other.as_str(),
    }
}

/// The commands that give the path its wanted kind (before attributes and times);
/// an error when Ansible's module refuses.
fn state_commands(
    own: &FileArgs,
    found: &Found,
    path: &str,
    state: FileState,
    followed: Option<&FileStat>,
) -> Result<Vec<String>, String> {
    let current = found.current.as_ref();
    let p = quote(path);
    let is_dir = |stat: Option<&FileStat>| stat.is_some_and(|s| s.kind == FileKind::Directory);
    Ok(match state {
        FileState::Absent if path == "/" => return Err("refusing to remove /".into()),
        FileState::Absent => current
            .map(|_| format!("rm -rf -- {p}"))
            .into_iter()
            .collect(),
        FileState::File => match followed {
            None => return Err(format!("file ({path}) is absent, cannot continue")),
            Some(stat) if stat.kind == FileKind::Directory => {
                return Err(format!("{path} already exists as a directory"));
            }
            Some(_) => Vec::new(),
        },
        FileState::Directory => match followed {
            None => vec![format!("mkdir -p -- {p}")],
            Some(stat) if stat.kind != FileKind::Directory => {
                return Err(format!("{path} already exists as a {}", stat.kind.state()));
            }
            Some(_) => Vec::new(),
        },
        FileState::Touch if is_dir(followed) && current.is_none() => {
            return Err(format!("{path} already exists as a directory"));
        }
        FileState::Touch => current
            .is_none()
            .then(|| format!("touch -- {p}"))
            .into_iter()
            .collect(),
        FileState::Link | FileState::Hard => {
            let src = own
                .src
                .as_deref()
                .ok_or_else(|| format!("src is required for creating a {} link", state.as_str()))?;
            link_command(path, src, state, found, own.force)?
                .into_iter()
                .collect()
        }
    })
}

/// The command creating a symlink or hard link, `None` when it is already right, or
/// an error when an existing path must not be replaced.
fn link_command(
    path: &str,
    src: &str,
    state: FileState,
    found: &Found,
    force: bool,
) -> Result<Option<String>, String> {
    let current = found.current.as_ref();
    let (p, s) = (quote(path), quote(src));
    if state == FileState::Link {
        let temp = quote(&format!("{path}.bosun-link.{}", std::process::id()));
        if current
            .is_some_and(|c| c.kind == FileKind::Link && c.link_target.as_deref() == Some(src))
        {
            return Ok(None);
        }
        if let Some(existing) = current.filter(|c| c.kind != FileKind::Link)
            && (!force || existing.kind == FileKind::Directory)
        {
            return Err(format!(
                "refusing to convert from {} to symlink for {path}",
                existing.kind.state()
            ));
        }
        return Ok(Some(format!("ln -s -- {s} {temp} && mv -fT -- {temp} {p}")));
    }
    if found.src_missing {
        return Err(format!("src does not exist: {src}"));
    }
    if found.src_same {
        return Ok(None);
    }
    if let Some(existing) = current
        && !force
    {
        return Err(format!(
            "refusing to convert from {} to hard link for {path}",
            existing.kind.state()
        ));
    }
    Ok(Some(format!("ln -f -- {s} {p}")))
}

/// Attribute commands for a path this run creates.
fn new_path_attributes(
    attributes: &Attributes,
    path: &str,
    state: FileState,
) -> Result<Vec<String>, String> {
    let p = quote(path);
    let mut commands = Vec::new();
    if let Some(mode) = attributes.mode()
        && state != FileState::Link
    {
        let is_dir = state == FileState::Directory;
        let mode = fileops::parse_mode(mode, Some(if is_dir { 0o755 } else { 0o644 }), is_dir)?;
        commands.push(format!("chmod {mode:04o} -- {p}"));
    }
    if let Some(owner) = attributes.owner() {
        commands.push(format!("chown -h {} -- {p}", quote(owner)));
    }
    if let Some(group) = attributes.group() {
        commands.push(format!("chgrp -h {} -- {p}", quote(group)));
    }
    Ok(commands)
}

#[cfg(test)]
mod tests {
    use super::times::strptime;
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::Value as Json;

    fn stat(kind: FileKind, mode: u32) -> FileStat {
        let mut stat =
            fileops::parse_stat_line("regular file|644|0|0|root|root|0|5|5").expect("a stat line");
        stat.kind = kind;
        stat.mode = mode;
        stat
    }

    fn decide(args: Json, found: Found) -> Result<Decision<Plan>, String> {
        let args: Args = from_json(args).expect("valid arguments");
        File.decide(&args, found)
    }

    fn found(current: Option<FileStat>) -> Found {
        Found {
            current,
            ..Found::default()
        }
    }

    #[test]
    fn a_missing_directory_is_made_with_its_mode() {
        let decision = decide(
            json!({"path": "/d/", "state": "directory", "mode": "0750"}),
            found(None),
        )
        .expect("decides");
        let plan = decision.plan.expect("a plan");
        assert_eq!(plan.commands, ["mkdir -p -- /d", "chmod 0750 -- /d"]);
        assert_eq!(decision.result["state"], json!("directory"));
        let same = decide(
            json!({"path": "/d", "state": "directory", "mode": "0750"}),
            found(Some(stat(FileKind::Directory, 0o750))),
        )
        .expect("decides");
        assert!(same.plan.is_none());
        assert_eq!(same.result["mode"], json!("0750"));
    }

    #[test]
    fn states_are_refused_as_in_ansible() {
        let err = decide(json!({"path": "/f", "state": "file"}), found(None)).err();
        assert_eq!(err.as_deref(), Some("file (/f) is absent, cannot continue"));
        let file = Some(stat(FileKind::File, 0o644));
        let err = decide(
            json!({"path": "/f", "state": "link", "src": "/x"}),
            found(file),
        )
        .err();
        assert_eq!(
            err.as_deref(),
            Some("refusing to convert from file to symlink for /f")
        );
        let err = decide(json!({"path": "/", "state": "absent"}), found(None)).err();
        assert_eq!(err.as_deref(), Some("refusing to remove /"));
        let missing = Found {
            src_missing: true,
            ..Found::default()
        };
        let err = decide(json!({"path": "/h", "state": "hard", "src": "/x"}), missing).err();
        assert_eq!(err.as_deref(), Some("src does not exist: /x"));
    }

    #[test]
    fn times_change_only_when_they_differ() {
        let at = json!({"path": "/f", "modification_time": "197001010000.05", "state": "file"});
        let mut same = found(Some(stat(FileKind::File, 0o644)));
        same.mtime = Some(5);
        assert!(decide(at.clone(), same).expect("decides").plan.is_none());
        let mut other = found(Some(stat(FileKind::File, 0o644)));
        other.mtime = Some(6);
        let plan = decide(at, other).expect("decides").plan.expect("a plan");
        assert_eq!(plan.commands, ["touch -c -m -t 197001010000.05 -- /f"]);
        let touch = decide(
            json!({"path": "/f", "state": "touch"}),
            found(Some(stat(FileKind::File, 0o644))),
        );
        let plan = touch.expect("decides").plan.expect("a plan");
        assert_eq!(plan.commands, ["touch -c -- /f"]);
        let create = decide(json!({"path": "/f", "state": "touch"}), found(None));
        let plan = create.expect("decides").plan.expect("a plan");
        assert_eq!(plan.commands, ["touch -- /f"]);
    }

    #[test]
    fn times_are_read_in_their_format() {
        assert_eq!(
            strptime("202401021304.05", "%Y%m%d%H%M.%S"),
            Ok([2024, 1, 2, 13, 4, 5])
        );
        assert_eq!(
            strptime("24-1-2 3:04", "%y-%m-%d %H:%M"),
            Ok([2024, 1, 2, 3, 4, 0])
        );
        assert!(times::strptime("2024", "%Y%m").is_err());
        assert!(times::strptime("2024-13", "%Y-%m").is_err());
        assert!(times::strptime("Jan", "%b").is_err_and(|e| e.contains("%b is not supported")));
    }

    #[test]
    fn recurse_finds_symbolic_mode_differences() {
        let attributes: Args =
            from_json(json!({"path": "/d", "recurse": true, "mode": "u=rwX,go=rX"}))
                .expect("valid");
        let recurse = Recurse::plan("/d", &attributes.attributes).expect("plans");
        let below = |lines: &[&str]| Found {
            below: lines.iter().map(|l| l.to_string()).collect(),
            ..Found::default()
        };
        assert!(!recurse.differs(&below(&["644 f", "755 d"])).expect("modes"));
        assert!(recurse.differs(&below(&["600 f"])).expect("modes"));
    }
}
