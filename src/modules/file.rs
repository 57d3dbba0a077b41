//! `file`: makes a path a file, directory, symlink or hard link with given attributes,
//! touches it, or removes it.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::fileops::{self, Attributes, FileKind, FileStat};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Manages the state and attributes of a path.
pub struct File;

#[async_trait]
impl Module for File {
    fn name(&self) -> &'static str {
        "file"
    }

    fn takes_file_attributes(&self) -> bool {
        true
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("path", Kind::Str)
                .required()
                .aliases(&["dest", "name"]),
            Param::new("state", Kind::Str).choices(&[
                "absent",
                "directory",
                "file",
                "hard",
                "link",
                "touch",
            ]),
            Param::new("src", Kind::Str),
            Param::new("recurse", Kind::Bool),
            Param::new("force", Kind::Bool),
            Param::new("follow", Kind::Bool),
            Param::new("modification_time", Kind::Str),
            Param::new("modification_time_format", Kind::Str),
            Param::new("access_time", Kind::Str),
            Param::new("access_time_format", Kind::Str),
            Param::new("_original_basename", Kind::Str),
            Param::new("_diff_peek", Kind::Str),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let path = args
            .str("path")
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_string();
        let path = if path.is_empty() {
            "/".to_string()
        } else {
            path
        };
        let follow = args.bool_or("follow", true);
        let current = fileops::stat(ctx, &path, false, false).await?;
        let followed = match &current {
            Some(stat) if stat.kind == FileKind::Link && follow => {
                fileops::stat(ctx, &path, true, false).await?
            }
            other => other.clone(),
        };
        let prev_state = current.as_ref().map_or("absent", |s| s.kind.state());
        let state = match args.str("state") {
            Some(state) => state.to_string(),
            None if args.bool_or("recurse", false) => "directory".into(),
            None if args.get("src").is_some() => "link".into(),
            None => match &followed {
                Some(stat) => stat.kind.state().to_string(),
                None => "file".into(),
            },
        };
        let mut plan = Plan::default();
        match state.as_str() {
            "absent" => {
                if path == "/" {
                    return Ok(super::failed("refusing to remove /"));
                }
                if current.is_some() {
                    plan.push(format!("rm -rf -- {}", quote(&path)));
                }
            }
            "file" => match &followed {
                None => {
                    return Ok(fail_state(
                        &path,
                        &format!("file ({path}) is absent, cannot continue"),
                    ));
                }
                Some(stat) if stat.kind == FileKind::Directory => {
                    return Ok(fail_state(
                        &path,
                        &format!("{path} already exists as a directory"),
                    ));
                }
                Some(_) => {}
            },
            "directory" => match &followed {
                None => plan.push(format!("mkdir -p -- {}", quote(&path))),
                Some(stat) if stat.kind != FileKind::Directory => {
                    return Ok(fail_state(
                        &path,
                        &format!("{path} already exists as a {}", stat.kind.state()),
                    ));
                }
                Some(_) => {}
            },
            "touch" => {
                if followed
                    .as_ref()
                    .is_some_and(|s| s.kind == FileKind::Directory)
                    && current.is_none()
                {
                    return Ok(fail_state(
                        &path,
                        &format!("{path} already exists as a directory"),
                    ));
                }
                if let Some(command) = touch_command(&path, args, current.is_none())? {
                    plan.push(command);
                }
                plan.touched = true;
            }
            "link" | "hard" => {
                let Some(src) = args.str("src") else {
                    return Ok(super::failed(format!(
                        "src is required for creating a {state} link"
                    )));
                };
                match link_plan(
                    ctx,
                    &path,
                    src,
                    &state,
                    current.as_ref(),
                    args.bool_or("force", false),
                )
                .await?
                {
                    Ok(Some(command)) => plan.push(command),
                    Ok(None) => {}
                    Err(message) => return Ok(fail_state(&path, &message)),
                }
            }
            _ => {}
        }

        let mut diff_before = Map::new();
        let mut diff_after = Map::new();
        diff_before.insert("path".into(), json!(path));
        diff_after.insert("path".into(), json!(path));
        if prev_state != state || state == "touch" {
            diff_before.insert("state".into(), json!(prev_state));
            diff_after.insert("state".into(), json!(state));
        }
        if state != "absent" {
            let attributes = Attributes::from_args(args);
            let target = match state.as_str() {
                "link" => current
                    .clone()
                    .filter(|c| c.kind == FileKind::Link && plan.commands.is_empty()),
                _ => followed.clone(),
            };
            match &target {
                Some(existing) if plan.commands.is_empty() || plan.touched => {
                    let changes = attributes
                        .changes(&path, existing)
                        .map_err(super::failed_error)?;
                    diff_before.extend(changes.before);
                    diff_after.extend(changes.after);
                    plan.commands.extend(changes.commands);
                }
                _ => {
                    plan.commands
                        .extend(new_path_attributes(&attributes, &path, &state)?);
                }
            }
            if args.bool_or("recurse", false)
                && state == "directory"
                && let Some(command) = recurse_command(ctx, &path, &attributes).await?
            {
                plan.commands.push(command);
            }
        }

        let changed = !plan.commands.is_empty();
        let mut outcome = super::ok(changed);
        if ctx.diff_mode && changed {
            outcome.insert(
                "diff".into(),
                json!({"before": diff_before, "after": diff_after, "before_header": path, "after_header": path}),
            );
        }
        let mut final_stat = followed.clone();
        if changed && !ctx.check_mode {
            let script = plan.commands.join(" && ")
                + "; rc=$?; "
                + &fileops::stat_script(&path, follow && state != "link", false)
                + "; exit $rc";
            let out = ctx.conn.exec(&Command::new(script)).await?;
            if out.rc != 0 {
                return Ok(fail_state(&path, out.stderr_text().trim()));
            }
            final_stat = fileops::parse_stat(&out.stdout_text());
        }
        outcome.insert("path".into(), json!(path));
        if state == "absent" {
            outcome.insert("state".into(), json!("absent"));
        } else if let Some(stat) = final_stat.filter(|_| !ctx.check_mode) {
            outcome.extend(fileops::describe(&path, &stat));
            outcome.insert(
                "state".into(),
                json!(if state == "touch" {
                    stat.kind.state()
                } else {
                    state.as_str()
                }),
            );
        } else {
            outcome.insert("state".into(), json!(state));
        }
        if let Some(src) = args.str("src") {
            outcome.insert("src".into(), json!(src));
        }
        Ok(outcome)
    }
}

/// The commands a run must execute.
#[derive(Default)]
struct Plan {
    commands: Vec<String>,
    touched: bool,
}

impl Plan {
    fn push(&mut self, command: String) {
        self.commands.push(command);
    }
}

fn fail_state(path: &str, message: &str) -> Outcome {
    let mut outcome = super::failed(message);
    outcome.insert("path".into(), json!(path));
    outcome
}

/// `touch` with Ansible's `modification_time`/`access_time` (`now`, `preserve`, or a
/// time in `%Y%m%d%H%M.%S`).
fn touch_command(path: &str, args: &Args, missing: bool) -> Result<Option<String>, ModuleError> {
    let mut command = String::from("touch");
    let time_flag =
        |key: &str, format_key: &str, flag: &str| -> Result<Option<String>, ModuleError> {
            let format = args.str(format_key).unwrap_or("%Y%m%d%H%M.%S");
            match args.str(key) {
                None | Some("now") => Ok(None),
                Some("preserve") => Ok(Some(String::new())),
                Some(_) if format != "%Y%m%d%H%M.%S" => Err(ModuleError::Failed(format!(
                    "{format_key} other than %Y%m%d%H%M.%S is not supported by bosun yet"
                ))),
                Some(time) => Ok(Some(format!(" -{flag} -t {}", quote(time)))),
            }
        };
    let modification = time_flag("modification_time", "modification_time_format", "m")?;
    let access = time_flag("access_time", "access_time_format", "a")?;
    if !missing && modification.as_deref() == Some("") && access.as_deref() == Some("") {
        return Ok(None);
    }
    for flag in [&modification, &access].into_iter().flatten() {
        command.push_str(flag);
    }
    command.push_str(&format!(" -- {}", quote(path)));
    Ok(Some(command))
}

/// The command creating a symlink or hard link, `None` when it is already right, or
/// an error message when an existing path must not be replaced.
async fn link_plan(
    ctx: &ModuleContext<'_>,
    path: &str,
    src: &str,
    state: &str,
    current: Option<&FileStat>,
    force: bool,
) -> Result<Result<Option<String>, String>, ModuleError> {
    let (p, s) = (quote(path), quote(src));
    let temp = quote(&format!("{path}.bosun-link.{}", std::process::id()));
    if state == "link" {
        if current
            .is_some_and(|c| c.kind == FileKind::Link && c.link_target.as_deref() == Some(src))
        {
            return Ok(Ok(None));
        }
        if let Some(existing) = current.filter(|c| c.kind != FileKind::Link)
            && (!force || existing.kind == FileKind::Directory)
        {
            return Ok(Err(format!(
                "refusing to convert from {} to symlink for {path}",
                existing.kind.state()
            )));
        }
        return Ok(Ok(Some(format!(
            "ln -s -- {s} {temp} && mv -fT -- {temp} {p}"
        ))));
    }
    let out = ctx
        .conn
        .exec(&Command::new(format!(
            "[ -e {s} ] || echo missing; [ {p} -ef {s} ] && echo same"
        )))
        .await?;
    let text = out.stdout_text();
    if text.contains("missing") {
        return Ok(Err(format!("src does not exist: {src}")));
    }
    if text.contains("same") {
        return Ok(Ok(None));
    }
    if let Some(existing) = current
        && !force
    {
        return Ok(Err(format!(
            "refusing to convert from {} to hard link for {path}",
            existing.kind.state()
        )));
    }
    Ok(Ok(Some(format!("ln -f -- {s} {p}"))))
}

/// Attribute commands for a path this run creates.
fn new_path_attributes(
    attributes: &Attributes,
    path: &str,
    state: &str,
) -> Result<Vec<String>, ModuleError> {
    let p = quote(path);
    let mut commands = Vec::new();
    if let Some(mode) = &attributes.mode
        && state != "link"
    {
        let mode = fileops::parse_mode(
            mode,
            Some(if state == "directory" { 0o755 } else { 0o644 }),
            state == "directory",
        )
        .map_err(ModuleError::Failed)?;
        commands.push(format!("chmod {mode:04o} -- {p}"));
    }
    if let Some(owner) = &attributes.owner {
        commands.push(format!("chown -h {} -- {p}", quote(owner)));
    }
    if let Some(group) = &attributes.group {
        commands.push(format!("chgrp -h {} -- {p}", quote(group)));
    }
    Ok(commands)
}

/// `recurse: true`: the command setting attributes on everything below `path`, when
/// something there differs.
async fn recurse_command(
    ctx: &ModuleContext<'_>,
    path: &str,
    attributes: &Attributes,
) -> Result<Option<String>, ModuleError> {
    let p = quote(path);
    let mut tests = Vec::new();
    let mut apply = Vec::new();
    if let Some(mode) = &attributes.mode {
        match mode {
            Json::String(s) if !s.chars().all(|c| c.is_ascii_digit()) => {
                let listing = ctx
                    .conn
                    .exec(&Command::new(format!(
                        "find {p} -mindepth 1 ! -type l -printf '%m %y\\n' 2>/dev/null"
                    )))
                    .await?;
                let mut differs = false;
                for line in listing.stdout_text().lines() {
                    let (mode, kind) = line.split_once(' ').unwrap_or((line, "f"));
                    let current = u32::from_str_radix(mode, 8).unwrap_or(0);
                    let wanted =
                        fileops::parse_mode(&Json::String(s.clone()), Some(current), kind == "d")
                            .map_err(ModuleError::Failed)?;
                    differs |= wanted != current;
                }
                apply.push(format!("chmod -R {} -- {p}", quote(s)));
                if differs {
                    tests.push("-true".to_string());
                }
            }
            other => {
                let mode = fileops::parse_mode(other, None, true).map_err(ModuleError::Failed)?;
                tests.push(format!("\\( ! -type l ! -perm {mode:04o} \\)"));
                apply.push(format!("chmod -R {mode:04o} -- {p}"));
            }
        }
    }
    if let Some(owner) = &attributes.owner {
        tests.push(format!("! -user {}", quote(owner)));
        apply.push(format!("chown -hR {} -- {p}", quote(owner)));
    }
    if let Some(group) = &attributes.group {
        tests.push(format!("! -group {}", quote(group)));
        apply.push(format!("chgrp -hR {} -- {p}", quote(group)));
    }
    if tests.is_empty() {
        return Ok(None);
    }
    let probe = format!(
        "find {p} -mindepth 1 \\( {} \\) -print -quit 2>/dev/null",
        tests.join(" -o ")
    );
    let out = ctx.conn.exec(&Command::new(probe)).await?;
    Ok((!out.stdout.is_empty()).then(|| apply.join(" && ")))
}
