//! `cron`: jobs and variables in a user's crontab (`crontab -l` / `crontab -`) or in a
//! file under `/etc/cron.d`, marked with `#Ansible: <name>` comments exactly as
//! Ansible's module writes them, so either tool manages what the other wrote.

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::fileops::{self, Attributes};
use super::textfile::{self, SavePlan, TextFile};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
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
fn job_line(args: &CronArgs, user: Option<&str>) -> String {
    let job = args.job.as_deref().unwrap_or_default();
    let disabled = if args.disabled { "#" } else { "" };
    let user = user.map(|u| format!("{u} ")).unwrap_or_default();
    if let Some(special) = args.special_time {
        return format!("{disabled}@{} {user}{job}", special.as_str());
    }
    format!(
        "{disabled}{} {} {} {} {} {user}{job}",
        args.minute, args.hour, args.day, args.month, args.weekday
    )
}

/// Where the crontab lives.
#[derive(Debug)]
enum Place {
    /// A user's crontab, through the `crontab` command.
    User(Option<String>),
    /// A file (under `/etc/cron.d` unless absolute).
    File(String),
}

impl Place {
    /// The place `args` name.
    fn of(args: &CronArgs) -> Place {
        match &args.cron_file {
            Some(file) if file.starts_with('/') => Place::File(file.clone()),
            Some(file) => Place::File(format!("/etc/cron.d/{file}")),
            None => Place::User(args.user.clone()),
        }
    }
}

arg_enum! {
    /// Whether the job or variable should be there.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

arg_enum! {
    /// The `@` schedules cron knows.
    pub enum SpecialTime {
        Annually = "annually",
        Daily = "daily",
        Hourly = "hourly",
        Monthly = "monthly",
        Reboot = "reboot",
        Weekly = "weekly",
        Yearly = "yearly",
    }
}

module_args! {
    /// `cron`'s arguments.
    pub struct CronArgs {
        /// The job's name (its `#Ansible:` marker), or the variable's name.
        name: String => .required(),
        /// Whose crontab; in a cron file, who runs the job (root by default).
        user: Option<String>,
        /// The command, or the variable's value.
        job: Option<String> => .aliases(&["value"]),
        /// A file under `/etc/cron.d` (or an absolute path) instead of a user's crontab.
        cron_file: Option<String>,
        state: State => .default_str("present"),
        /// Whether the old crontab is kept (`backup_file`).
        backup: bool => .default_bool(false),
        /// The schedule's fields.
        minute: String => .default_str("*"),
        /// Hour field.
        hour: String => .default_str("*"),
        /// Day of month field.
        day: String => .aliases(&["dom"]).default_str("*"),
        /// Month field.
        month: String => .default_str("*"),
        /// Day of week field.
        weekday: String => .aliases(&["dow"]).default_str("*"),
        /// An `@` schedule instead of the fields.
        special_time: Option<SpecialTime>,
        /// Whether the job is written commented out.
        disabled: bool => .default_bool(false),
        /// Whether this is an environment variable rather than a job.
        env: bool => .default_bool(false),
        /// A new variable goes after this one.
        insertafter: Option<String>,
        /// A new variable goes before this one.
        insertbefore: Option<String>,
    }
    rules: Rules {
        mutually_exclusive: &[&["insertafter", "insertbefore"]],
        ..Rules::NONE
    };
}

/// The crontab as found.
#[derive(Debug)]
pub struct Found {
    /// Its text (empty when there is none).
    before: String,
    /// The cron file as read, for a cron file.
    file: Option<TextFile>,
}

/// The crontab to install.
#[derive(Debug)]
pub enum Install {
    /// A user's crontab: the new text, and the old one for a backup.
    User { before: String, after: String },
    /// A cron file's save.
    File(Box<SavePlan>),
}

#[async_trait]
impl StateModule for Cron {
    const NAME: &'static str = "cron";
    type Args = CronArgs;
    type State = Found;
    type Plan = Install;

    async fn query(&self, on: &Target<'_>, args: &CronArgs) -> Result<Found, ModuleError> {
        match Place::of(args) {
            Place::User(user) => Ok(Found {
                before: read_crontab(on, user.as_deref())
                    .await?
                    .map_err(ModuleError::Failed)?,
                file: None,
            }),
            Place::File(path) => {
                let file = textfile::read(on, &path, textfile::Codec::Utf8).await?;
                Ok(Found {
                    before: file.text.clone().unwrap_or_default(),
                    file: Some(file),
                })
            }
        }
    }

    fn decide(&self, args: &CronArgs, found: Found) -> Result<Decision<Install>, String> {
        let name = args.name.as_str();
        let present = args.state == State::Present;
        let job = args.job.as_deref().unwrap_or_default();
        if present && args.job.is_none() {
            return Err("You must specify 'job' to install a new cron job or variable".into());
        }
        if args.env && name.contains(' ') {
            return Err("Invalid name for environment variable".into());
        }
        let place = Place::of(args);
        let mut tab = CronTab::parse(&found.before);
        let changed = if args.env {
            let decl = format!("{name}=\"{job}\"");
            if present {
                tab.set_env(
                    name,
                    &decl,
                    args.insertafter.as_deref(),
                    args.insertbefore.as_deref(),
                )?
            } else {
                tab.remove_env(name)
            }
        } else if present {
            let line_user = match &place {
                Place::File(_) => Some(args.user.as_deref().unwrap_or("root")),
                Place::User(_) => None,
            };
            tab.set_job(name, &job_line(args, line_user))
        } else {
            tab.remove_job(name)
        };
        let after = tab.render();
        let header = match &place {
            Place::File(path) => path.clone(),
            Place::User(_) => "crontab".to_string(),
        };
        let diff = fileops::content_diff(&header, &found.before, &after);
        let install = match (changed, found.file) {
            (false, _) => None,
            (true, Some(file)) => Some(Install::File(Box::new(textfile::plan_save(
                &file,
                &Attributes::default(),
                &after,
                true,
                "",
            )?))),
            (true, None) => Some(Install::User {
                before: found.before,
                after: after.clone(),
            }),
        };
        Ok(Decision::maybe(install)
            .with_diff(diff)
            .with("jobs", tab.job_names())
            .with("envs", tab.env_names()))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &CronArgs,
        install: Install,
    ) -> Result<Outcome, ModuleError> {
        let backup_file = match install {
            Install::File(save) => textfile::apply_save(on, &save, None, args.backup).await?,
            Install::User { before, after } => {
                install_crontab(on, args.user.as_deref(), &before, after, args.backup).await?
            }
        };
        let mut outcome = Outcome::new();
        if let Some(path) = backup_file {
            outcome.insert("backup_file".into(), json!(path));
        }
        Ok(outcome)
    }
}

/// Installs `after` as the user's crontab, keeping `before` in a temporary file
/// first when `backup` is set; returns that file.
async fn install_crontab(
    on: &Target<'_>,
    user: Option<&str>,
    before: &str,
    after: String,
    backup: bool,
) -> Result<Option<String>, ModuleError> {
    // The old crontab goes to a temporary file first, as Ansible keeps it.
    let keep = if backup {
        format!(
            "b=$(mktemp -t crontab.XXXXXX) && printf %s {} > \"$b\" && echo \"$b\" && ",
            quote(before)
        )
    } else {
        String::new()
    };
    // Received whole into a file first: an input cut short must not become the
    // user's crontab.
    let mut install = Command::new(format!(
        "{keep}f=$(mktemp) && cat > \"$f\" || exit 1\n{}crontab{} \"$f\"; rc=$?; rm -f -- \"$f\"; exit $rc",
        check_received("\"$f\"", after.as_bytes()),
        user_flag(user)
    ));
    install.stdin = Some(after.into_bytes());
    let done = on.conn.exec(&install).await?;
    if done.rc != 0 {
        return Err(ModuleError::Failed(format!(
            "Unable to write crontab: {}",
            done.stderr_text().trim()
        )));
    }
    Ok(backup.then(|| done.stdout_text().trim().to_string()))
}

/// ` -u <user>` for crontab when a user is named.
fn user_flag(user: Option<&str>) -> String {
    user.map(|u| format!(" -u {}", quote(u)))
        .unwrap_or_default()
}

/// The user's crontab (empty when there is none); `Err` names what is missing.
async fn read_crontab(
    ctx: &Target<'_>,
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
    use serde_json::Value as Json;

    fn args(value: Json) -> CronArgs {
        crate::modules::typed::from_json(value).expect("valid")
    }

    fn decide(value: Json, before: &str) -> Result<Decision<Install>, String> {
        let found = Found {
            before: before.to_string(),
            file: None,
        };
        Cron.decide(&args(value), found)
    }

    #[test]
    fn decide_installs_the_user_crontab_only_when_it_changes() {
        let decision =
            decide(json!({"name": "x", "job": "ls", "minute": "5"}), "").expect("decides");
        match decision.plan {
            Some(Install::User { before, after }) => {
                assert_eq!(before, "");
                assert_eq!(after, "#Ansible: x\n5 * * * * ls\n");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(decision.result["jobs"], json!(["x"]));
        let same = decide(
            json!({"name": "x", "job": "ls", "minute": "5"}),
            "#Ansible: x\n5 * * * * ls\n",
        )
        .expect("decides");
        assert!(same.plan.is_none());
        assert!(same.diff.is_some(), "the diff is there even unchanged");
    }

    #[test]
    fn decide_plans_a_cron_file_save_with_the_user() {
        let found = Found {
            before: String::new(),
            file: Some(TextFile::found("/etc/cron.d/x", None)),
        };
        let args = args(json!({"name": "x", "job": "ls", "cron_file": "x"}));
        let decision = Cron.decide(&args, found).expect("decides");
        assert!(matches!(decision.plan, Some(Install::File(_))));
        let diff = decision.diff.expect("a diff").to_string();
        assert!(diff.contains("* * * * * root ls"), "{diff}");
    }

    #[test]
    fn decide_refuses_what_ansible_refuses() {
        let err = decide(json!({"name": "x"}), "").err();
        assert_eq!(
            err.as_deref(),
            Some("You must specify 'job' to install a new cron job or variable")
        );
        let err = decide(json!({"name": "A B", "env": true, "job": "1"}), "").err();
        assert_eq!(
            err.as_deref(),
            Some("Invalid name for environment variable")
        );
        let err = decide(
            json!({"name": "A", "env": true, "job": "1", "insertafter": "B"}),
            "",
        )
        .err();
        assert_eq!(err.as_deref(), Some("Variable named 'B' not found."));
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
