//! `cron`: jobs and variables in a user's crontab (`crontab -l` / `crontab -`) or in a
//! file under `/etc/cron.d`, marked with `#Ansible: <name>` comments exactly as
//! Ansible's module writes them, so either tool manages what the other wrote.

use async_trait::async_trait;
use serde_json::json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param, fileops, textfile};
use crate::connection::{Command, check_received, quote};

/// The comment that names the job on the next line.
const MARKER: &str = "#Ansible: ";

/// Manages a cron job or a cron environment variable.
pub struct Cron;

/// A crontab as lines, edited as Ansible's `CronTab` class edits it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CronTab {
    lines: Vec<String>,
}

impl CronTab {
    /// Parses crontab text.
    fn parse(text: &str) -> CronTab {
        CronTab {
            lines: text.lines().map(str::to_string).collect(),
        }
    }

    /// The text as Ansible renders it: lines joined, one final newline.
    fn render(&self) -> String {
        let text = self.lines.join("\n");
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            String::new()
        } else {
            format!("{text}\n")
        }
    }

    /// Where the job named `name` is: the index of its marker and its line; else a
    /// line equal to `job` (marked on the fly, as Ansible does).
    fn find_job(&mut self, name: &str, job: Option<&str>) -> Option<(usize, String, bool)> {
        for i in 0..self.lines.len().saturating_sub(1) {
            if self.lines[i].strip_prefix(MARKER) == Some(name) {
                return Some((i, self.lines[i + 1].clone(), false));
            }
        }
        let job = job?;
        let at = self.lines.iter().position(|l| l == job)?;
        let marker = format!("{MARKER}{name}");
        if at > 0 && self.lines[at - 1] == format!("{MARKER}None") {
            self.lines[at - 1] = marker;
            return Some((at - 1, job.to_string(), true));
        }
        if at == 0 || !self.lines[at - 1].starts_with(MARKER) {
            self.lines.insert(at, marker);
            return Some((at, job.to_string(), true));
        }
        None
    }

    /// Sets the job named `name` to `job`; whether anything changed.
    fn set_job(&mut self, name: &str, job: &str) -> bool {
        match self.find_job(name, Some(job)) {
            Some((at, current, marked)) => {
                self.lines[at + 1] = job.to_string();
                marked || current != job
            }
            None => {
                self.lines.push(format!("{MARKER}{name}"));
                self.lines.push(job.to_string());
                true
            }
        }
    }

    /// Removes the job named `name`; whether it was there.
    fn remove_job(&mut self, name: &str) -> bool {
        match self.find_job(name, None) {
            Some((at, _, _)) => {
                self.lines.drain(at..at + 2);
                true
            }
            None => false,
        }
    }

    /// The index and line of the variable `name`.
    fn find_env(&self, name: &str) -> Option<(usize, String)> {
        let prefix = format!("{name}=");
        self.lines
            .iter()
            .position(|l| l.starts_with(&prefix))
            .map(|i| (i, self.lines[i].clone()))
    }

    /// Sets the variable `name` to the declaration `decl`, placed after or before
    /// another variable when new.
    fn set_env(
        &mut self,
        name: &str,
        decl: &str,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<bool, String> {
        if let Some((at, current)) = self.find_env(name) {
            self.lines[at] = decl.to_string();
            return Ok(current != decl);
        }
        let at = match (after, before) {
            (Some(other), _) | (None, Some(other)) => {
                let (found, _) = self
                    .find_env(other)
                    .ok_or_else(|| format!("Variable named '{other}' not found."))?;
                if after.is_some() { found + 1 } else { found }
            }
            (None, None) => 0,
        };
        self.lines.insert(at, decl.to_string());
        Ok(true)
    }

    /// Removes the variable `name`; whether it was there.
    fn remove_env(&mut self, name: &str) -> bool {
        match self.find_env(name) {
            Some((at, _)) => {
                self.lines.remove(at);
                true
            }
            None => false,
        }
    }

    /// The names of the jobs (marker comments).
    fn job_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|l| l.strip_prefix(MARKER).map(str::to_string))
            .collect()
    }

    /// The names of the variables.
    fn env_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split_once('=').map(|(n, _)| n.trim().to_string()))
            .filter(|n| !n.is_empty() && !n.contains(' '))
            .collect()
    }
}

/// The job line as Ansible builds it; `user` only for cron files.
fn job_line(args: &Args, user: Option<&str>) -> String {
    let job = args.str("job").unwrap_or_default();
    let disabled = if args.bool_or("disabled", false) {
        "#"
    } else {
        ""
    };
    let user = user.map(|u| format!("{u} ")).unwrap_or_default();
    if let Some(special) = args.str("special_time") {
        return format!("{disabled}@{special} {user}{job}");
    }
    let field = |name: &str| args.str(name).unwrap_or("*").to_string();
    format!(
        "{disabled}{} {} {} {} {} {user}{job}",
        field("minute"),
        field("hour"),
        field("day"),
        field("month"),
        field("weekday")
    )
}

/// Where the crontab lives.
enum Place {
    /// A user's crontab, through the `crontab` command.
    User(Option<String>),
    /// A file (under `/etc/cron.d` unless absolute).
    File(String),
}

#[async_trait]
impl Module for Cron {
    fn name(&self) -> &'static str {
        "cron"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str).required(),
            Param::new("user", Kind::Str),
            Param::new("job", Kind::Str).aliases(&["value"]),
            Param::new("cron_file", Kind::Str),
            Param::new("state", Kind::Str).choices(&["present", "absent"]),
            Param::new("backup", Kind::Bool),
            Param::new("minute", Kind::Str),
            Param::new("hour", Kind::Str),
            Param::new("day", Kind::Str).aliases(&["dom"]),
            Param::new("month", Kind::Str),
            Param::new("weekday", Kind::Str).aliases(&["dow"]),
            Param::new("special_time", Kind::Str).choices(&[
                "annually", "daily", "hourly", "monthly", "reboot", "weekly", "yearly",
            ]),
            Param::new("disabled", Kind::Bool),
            Param::new("env", Kind::Bool),
            Param::new("insertafter", Kind::Str),
            Param::new("insertbefore", Kind::Str),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        args.mutually_exclusive(&[&["insertafter", "insertbefore"]])
            .map_err(ModuleError::Failed)?;
        let name = args.str("name").unwrap_or_default();
        let present = args.str("state").unwrap_or("present") == "present";
        let env = args.bool_or("env", false);
        let user = args.str("user");
        if present && args.str("job").is_none() {
            return Ok(super::failed(
                "You must specify 'job' to install a new cron job or variable",
            ));
        }
        if env && name.contains(' ') {
            return Ok(super::failed("Invalid name for environment variable"));
        }
        let place = match args.str("cron_file") {
            Some(file) if file.starts_with('/') => Place::File(file.to_string()),
            Some(file) => Place::File(format!("/etc/cron.d/{file}")),
            None => Place::User(user.map(str::to_string)),
        };
        let (before, file) = match &place {
            Place::User(user) => (read_crontab(ctx, user.as_deref()).await?, None),
            Place::File(path) => match textfile::read(ctx, path, textfile::Codec::Utf8).await {
                Ok(file) => (Ok(file.text.clone().unwrap_or_default()), Some(file)),
                Err(err) => return Err(err),
            },
        };
        let before = match before {
            Ok(text) => text,
            Err(msg) => return Ok(super::failed(msg)),
        };
        let mut tab = CronTab::parse(&before);
        let changed = if env {
            let decl = format!("{name}=\"{}\"", args.str("job").unwrap_or_default());
            if present {
                match tab.set_env(
                    name,
                    &decl,
                    args.str("insertafter"),
                    args.str("insertbefore"),
                ) {
                    Ok(changed) => changed,
                    Err(msg) => return Ok(super::failed(msg)),
                }
            } else {
                tab.remove_env(name)
            }
        } else if present {
            let line_user = match &place {
                Place::File(_) => Some(user.unwrap_or("root")),
                Place::User(_) => None,
            };
            tab.set_job(name, &job_line(args, line_user))
        } else {
            tab.remove_job(name)
        };
        let after = tab.render();
        let mut outcome = super::ok(changed);
        outcome.insert("jobs".into(), json!(tab.job_names()));
        outcome.insert("envs".into(), json!(tab.env_names()));
        let header = match &place {
            Place::File(path) => path.clone(),
            Place::User(_) => "crontab".to_string(),
        };
        outcome.insert(
            "diff".into(),
            fileops::content_diff(&header, &before, &after),
        );
        if !changed || ctx.check_mode {
            return Ok(outcome);
        }
        let backup_file = match (&place, file) {
            (Place::File(_), Some(file)) => {
                match textfile::save(ctx, args, &file, &after, true, "").await {
                    Ok(saved) => saved.backup_file,
                    Err(err) => return Err(err),
                }
            }
            _ => {
                let backup = args.bool_or("backup", false);
                // The old crontab goes to a temporary file first, as Ansible keeps it.
                let keep = if backup {
                    format!(
                        "b=$(mktemp -t crontab.XXXXXX) && printf %s {} > \"$b\" && echo \"$b\" && ",
                        quote(&before)
                    )
                } else {
                    String::new()
                };
                // Received whole into a file first: an input cut short must not
                // become the user's crontab.
                let mut install = Command::new(format!(
                    "{keep}f=$(mktemp) && cat > \"$f\" || exit 1\n{}crontab{} \"$f\"; rc=$?; rm -f -- \"$f\"; exit $rc",
                    check_received("\"$f\"", after.as_bytes()),
                    user_flag(user)
                ));
                install.stdin = Some(after.into_bytes());
                let done = ctx.conn.exec(&install).await?;
                if done.rc != 0 {
                    return Ok(super::failed(format!(
                        "Unable to write crontab: {}",
                        done.stderr_text().trim()
                    )));
                }
                backup.then(|| done.stdout_text().trim().to_string())
            }
        };
        if let Some(path) = backup_file {
            outcome.insert("backup_file".into(), json!(path));
        }
        Ok(outcome)
    }
}

/// ` -u <user>` for crontab when a user is named.
fn user_flag(user: Option<&str>) -> String {
    user.map(|u| format!(" -u {}", quote(u)))
        .unwrap_or_default()
}

/// The user's crontab (empty when there is none); `Err` names what is missing.
async fn read_crontab(
    ctx: &ModuleContext<'_>,
    user: Option<&str>,
) -> Result<Result<String, String>, ModuleError> {
    let script = format!(
        "command -v crontab >/dev/null 2>&1 || exit 127; crontab{} -l",
        user_flag(user)
    );
    let out = ctx.conn.exec(&Command::new(script)).await?;
    Ok(match out.rc {
        0 => Ok(strip_header(&out.stdout_text())),
        127 => Err(
            "crontab is not installed on the target: install the 'cron' package (apt: name=cron)"
                .to_string(),
        ),
        _ if out.stderr_text().contains("no crontab for") => Ok(String::new()),
        _ => Err(format!(
            "Unable to read crontab: {}",
            out.stderr_text().trim()
        )),
    })
}

/// Drops the three `DO NOT EDIT THIS FILE` lines some crontab commands print, as
/// Ansible does.
fn strip_header(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines
        .first()
        .is_some_and(|l| l.starts_with("# DO NOT EDIT THIS FILE"))
    {
        lines.get(3..).unwrap_or_default().join("\n") + "\n"
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;
    use serde_json::Value as Json;

    fn args(value: Json) -> Args {
        let raw: IndexMap<String, Json> = serde_json::from_value(value).expect("a mapping");
        Args::parse(Cron.params(), &raw).expect("valid")
    }

    #[test]
    fn job_lines_as_ansible_writes_them() {
        let a = args(json!({"name": "x", "job": "ls", "minute": "0", "hour": "5,2"}));
        assert_eq!(job_line(&a, None), "0 5,2 * * * ls");
        assert_eq!(job_line(&a, Some("root")), "0 5,2 * * * root ls");
        let a = args(json!({"name": "x", "job": "ls", "special_time": "reboot", "disabled": true}));
        assert_eq!(job_line(&a, None), "#@reboot ls");
    }

    #[test]
    fn jobs_are_added_updated_adopted_and_removed() {
        let mut tab = CronTab::parse("MAILTO=root\n#Ansible: check\n0 * * * * old\n");
        assert!(!tab.set_job("check", "0 * * * * old"));
        assert!(tab.set_job("check", "5 * * * * new"));
        assert!(tab.set_job("other", "@daily x"));
        assert_eq!(
            tab.render(),
            "MAILTO=root\n#Ansible: check\n5 * * * * new\n#Ansible: other\n@daily x\n"
        );
        let mut hand = CronTab::parse("1 2 3 4 5 by-hand\n");
        assert!(hand.set_job("adopted", "1 2 3 4 5 by-hand"));
        assert_eq!(hand.render(), "#Ansible: adopted\n1 2 3 4 5 by-hand\n");
        assert!(tab.remove_job("check"));
        assert!(!tab.remove_job("check"));
        assert_eq!(tab.job_names(), vec!["other"]);
    }

    #[test]
    fn variables_go_first_or_beside_another() {
        let mut tab = CronTab::parse("#Ansible: j\n* * * * * x\n");
        assert_eq!(tab.set_env("PATH", "PATH=\"/bin\"", None, None), Ok(true));
        assert_eq!(
            tab.set_env("SHELL", "SHELL=\"/bin/sh\"", Some("PATH"), None),
            Ok(true)
        );
        assert_eq!(tab.set_env("PATH", "PATH=\"/bin\"", None, None), Ok(false));
        assert_eq!(
            tab.set_env("X", "X=\"1\"", None, Some("NOPE")),
            Err("Variable named 'NOPE' not found.".to_string())
        );
        assert_eq!(
            tab.render(),
            "PATH=\"/bin\"\nSHELL=\"/bin/sh\"\n#Ansible: j\n* * * * * x\n"
        );
        assert_eq!(tab.env_names(), vec!["PATH", "SHELL"]);
        assert!(tab.remove_env("SHELL"));
    }

    #[test]
    fn debian_headers_are_dropped() {
        let text =
            "# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (x)\n# (y)\n0 * * * * a\n";
        assert_eq!(strip_header(text), "0 * * * * a\n");
    }
}
