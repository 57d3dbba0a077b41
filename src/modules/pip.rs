//! `pip`: Python packages, in a virtualenv (made when missing) or for a given pip. One
//! query (does the virtualenv exist, which pip, `pip list --format=freeze`), the
//! decision made here against the requested specifiers, and one pip call for what must
//! change. Requirements files and `latest` are left to pip, whose
//! `Successfully installed` says whether anything changed.

use std::cmp::Ordering;

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, CommandOutput, quote};

/// Manages Python packages with pip.
pub struct Pip;

arg_enum! {
    /// What to do with the packages.
    pub enum State {
        Present = "present",
        Absent = "absent",
        Latest = "latest",
        ForceReinstall = "forcereinstall",
    }
}

module_args! {
    /// `pip`'s arguments.
    pub struct PipArgs {
        /// Requirement specs (`requests>=2`).
        name: Vec<String>,
        /// The version of the one package named.
        version: Option<String>,
        /// A requirements file on the target.
        requirements: Option<String>,
        /// The virtualenv to install into (made when missing).
        virtualenv: Option<String>,
        virtualenv_site_packages: bool => .default_bool(false),
        /// The command making the virtualenv (`python3 -m venv` when not given).
        virtualenv_command: Option<String>,
        virtualenv_python: Option<String>,
        state: State => .default_str("present"),
        /// More pip arguments, split as a shell does.
        extra_args: Option<String>,
        editable: bool => .default_bool(false),
        /// The directory pip runs in.
        chdir: Option<String>,
        /// The pip to run.
        executable: Option<String>,
        umask: Option<String>,
        break_system_packages: bool => .default_bool(false),
    }
    rules: Rules {
        mutually_exclusive: &[&["name", "requirements"], &["executable", "virtualenv"]],
        required_one_of: &[&["name", "requirements"]],
        ..Rules::NONE
    };
}

impl PipArgs {
    /// The `umask` prefix of the commands.
    fn umask(&self) -> String {
        self.umask
            .as_deref()
            .map(|u| format!("umask {} && ", quote(u)))
            .unwrap_or_default()
    }

    /// Runs `script` on the target in `chdir` with the task's environment.
    async fn exec(&self, on: &Target<'_>, script: String) -> Result<CommandOutput, ModuleError> {
        let mut command = Command::new(script);
        command.cwd = self.chdir.clone();
        Ok(on.conn.exec(&command).await?)
    }
}

/// What must change: the virtualenv to make, then the pip command to run.
#[derive(Debug, PartialEq, Eq)]
pub struct Changes {
    venv: Option<String>,
    pip: Option<PipRun>,
}

/// A pip command and how its output says whether it changed anything.
#[derive(Debug, PartialEq, Eq)]
pub struct PipRun {
    cmd: String,
    /// Whether the run counts as a change whatever pip says (`forcereinstall`, or it
    /// installs what is known missing).
    changes: bool,
}

/// One requested package: its normalized name and version specifiers.
#[derive(Debug, PartialEq, Eq)]
struct Requirement {
    /// The spec as given (`requests>=2`), passed on to pip.
    text: String,
    /// The normalized project name.
    name: String,
    /// `(operator, version)` pairs; `None` when the spec is something this module
    /// does not read (a URL, a marker), left to pip.
    specifiers: Option<Vec<(String, String)>>,
}

/// Normalizes a project name as PEP 503: lower case, runs of `-_.` as one `-`.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if "-_.".contains(c) {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Parses `name[extras] op version, op version` (PEP 508, without markers or URLs).
fn parse_requirement(text: &str) -> Requirement {
    let end = text
        .find(|c: char| "<>=!~;[ @(".contains(c))
        .unwrap_or(text.len());
    let name = normalize(&text[..end]);
    let mut rest = text[end..].trim();
    if rest.starts_with('[') {
        rest = rest.split_once(']').map_or("", |(_, r)| r.trim());
    }
    let rest = rest.trim_start_matches('(').trim_end_matches(')').trim();
    let specifiers = if rest.is_empty() {
        Some(Vec::new())
    } else if rest.contains([';', '@']) {
        None
    } else {
        rest.split(',')
            .map(|spec| {
                let spec = spec.trim();
                let op_end = spec
                    .find(|c: char| !"<>=!~".contains(c))
                    .unwrap_or(spec.len());
                let (op, version) = spec.split_at(op_end);
                let known = ["==", "!=", ">=", "<=", ">", "<", "~=", "==="];
                (known.contains(&op) && !version.trim().is_empty())
                    .then(|| (op.to_string(), version.trim().to_string()))
            })
            .collect()
    };
    Requirement {
        text: text.trim().to_string(),
        name,
        specifiers,
    }
}

/// One release segment: a number, or text (pre-releases and local labels).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Text(String),
    Number(u64),
}

fn parts(version: &str) -> Vec<Part> {
    version
        .trim()
        .trim_start_matches(['v', 'V'])
        .split(['.', '-', '_', '+'])
        .flat_map(|piece| {
            let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
            let text = &piece[digits.len()..];
            let mut out = Vec::new();
            if let Ok(n) = digits.parse() {
                out.push(Part::Number(n));
            }
            if !text.is_empty() {
                out.push(Part::Text(text.to_ascii_lowercase()));
            }
            out
        })
        .collect()
}

/// Compares two versions segment by segment, missing numbers as zero.
fn compare(a: &str, b: &str) -> Ordering {
    let (a, b) = (parts(a), parts(b));
    for i in 0..a.len().max(b.len()) {
        let zero = Part::Number(0);
        let order = a.get(i).unwrap_or(&zero).cmp(b.get(i).unwrap_or(&zero));
        if order != Ordering::Equal {
            return order;
        }
    }
    Ordering::Equal
}

/// Whether `installed` satisfies one specifier.
fn satisfies(installed: &str, op: &str, wanted: &str) -> bool {
    if let Some(prefix) = wanted.strip_suffix(".*") {
        let matches = installed == prefix || installed.starts_with(&format!("{prefix}."));
        return match op {
            "==" => matches,
            "!=" => !matches,
            _ => false,
        };
    }
    let order = compare(installed, wanted);
    match op {
        "==" => order == Ordering::Equal,
        "===" => installed == wanted,
        "!=" => order != Ordering::Equal,
        ">=" => order != Ordering::Less,
        "<=" => order != Ordering::Greater,
        ">" => order == Ordering::Greater,
        "<" => order == Ordering::Less,
        "~=" => {
            let pieces: Vec<&str> = wanted.split('.').collect();
            let prefix = pieces[..pieces.len().saturating_sub(1)].join(".");
            order != Ordering::Less
                && pieces.len() > 1
                && (installed == prefix || installed.starts_with(&format!("{prefix}.")))
        }
        _ => false,
    }
}

/// The installed version of `requirement`'s project, and whether it satisfies it
/// (`None`: the spec is left to pip).
fn is_satisfied(requirement: &Requirement, installed: &[(String, String)]) -> Option<bool> {
    let specifiers = requirement.specifiers.as_ref()?;
    let version = installed
        .iter()
        .find(|(name, _)| *name == requirement.name)
        .map(|(_, v)| v);
    Some(version.is_some_and(|v| specifiers.iter().all(|(op, want)| satisfies(v, op, want))))
}

/// What the query found: the virtualenv is missing, the pip to use, installed packages.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    venv_missing: bool,
    pip: Option<String>,
    installed: Vec<(String, String)>,
}

fn parse_snapshot(output: &str) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for line in output.lines() {
        if line == "V:missing" {
            snapshot.venv_missing = true;
        } else if let Some(pip) = line.strip_prefix("P:").filter(|p| !p.is_empty()) {
            snapshot.pip = Some(pip.to_string());
        } else if let Some((name, version)) =
            line.strip_prefix("L:").and_then(|l| l.split_once("=="))
        {
            snapshot
                .installed
                .push((normalize(name), version.trim().to_string()));
        }
    }
    snapshot
}

#[async_trait]
impl StateModule for Pip {
    const NAME: &'static str = "pip";
    type Args = PipArgs;
    type State = Snapshot;
    type Plan = Changes;

    async fn query(&self, on: &Target<'_>, args: &PipArgs) -> Result<Snapshot, ModuleError> {
        let pip_choice = match (&args.executable, &args.virtualenv) {
            (Some(exe), _) => quote(exe),
            (None, Some(v)) => quote(&format!("{}/bin/pip", v.trim_end_matches('/'))),
            (None, None) => "$(command -v pip3 || command -v pip)".to_string(),
        };
        let mut query = String::new();
        if let Some(v) = &args.virtualenv {
            query.push_str(&format!(
                "[ -x {}/bin/python ] || echo V:missing; ",
                quote(v.trim_end_matches('/'))
            ));
        }
        query.push_str(&format!(
            "bosun_pip={pip_choice}; echo \"P:$bosun_pip\"; \
             [ -n \"$bosun_pip\" ] && [ -x \"$(command -v \"$bosun_pip\")\" ] && \
             \"$bosun_pip\" list --format=freeze --disable-pip-version-check 2>/dev/null | sed 's/^/L:/'; true"
        ));
        let out = args.exec(on, query).await?;
        Ok(parse_snapshot(&out.stdout_text()))
    }

    fn decide(&self, args: &PipArgs, snapshot: Snapshot) -> Result<Decision<Changes>, String> {
        let state = args.state;
        let version = args.version.as_deref();
        if version.is_some() && state == State::Latest {
            return Err("version is incompatible with state=latest".into());
        }
        if version.is_some() && args.name.len() > 1 {
            return Err("'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument.".into());
        }
        let has_specifier = |name: &str| name.contains(['<', '>', '=', '!', '~']);
        if version.is_some() && args.name.iter().any(|n| has_specifier(n)) {
            return Err("The 'version' argument conflicts with any version specifier provided along with a package name. Please keep the version specifier, but remove the 'version' argument.".into());
        }
        // As pip's Package: an empty version pins nothing; one starting with a digit
        // is `==`, any other is a specifier of its own (`>=1.0`).
        let wanted: Vec<Requirement> = args
            .name
            .iter()
            .map(
                |n| match version.map(str::trim_start).filter(|v| !v.is_empty()) {
                    Some(v) if v.starts_with(|c: char| c.is_ascii_digit()) => {
                        parse_requirement(&format!("{n}=={v}"))
                    }
                    Some(v) => parse_requirement(&format!("{n}{v}")),
                    None => parse_requirement(n),
                },
            )
            .collect();
        let decision = Decision::unchanged()
            .with("name", args.name.clone())
            .with("version", version)
            .with("requirements", args.requirements.clone())
            .with("virtualenv", args.virtualenv.clone())
            .with("state", state.as_str());
        let venv = args.virtualenv.clone().filter(|_| snapshot.venv_missing);
        let pip = match (&args.virtualenv, &snapshot.pip) {
            (Some(v), _) => quote(&format!("{}/bin/pip", v.trim_end_matches('/'))),
            (None, Some(p)) => quote(p),
            (None, None) => {
                return Err(
                    "Unable to find any of pip3, pip to use.  pip needs to be installed.".into(),
                );
            }
        };
        let (subcommand, targets): (&[&str], Vec<&Requirement>) = match state {
            State::Absent => (
                &["uninstall", "-y"],
                wanted
                    .iter()
                    .filter(|r| snapshot.installed.iter().any(|(n, _)| *n == r.name))
                    .collect(),
            ),
            State::Latest => (&["install", "-U"], wanted.iter().collect()),
            State::ForceReinstall => (
                &["install", "-U", "--force-reinstall"],
                wanted.iter().collect(),
            ),
            State::Present => (
                &["install"],
                wanted
                    .iter()
                    .filter(|r| is_satisfied(r, &snapshot.installed) != Some(true))
                    .collect(),
            ),
        };
        let always =
            args.requirements.is_some() || matches!(state, State::Latest | State::ForceReinstall);
        if targets.is_empty() && !always {
            let changes = venv.map(|venv| Changes {
                venv: Some(venv),
                pip: None,
            });
            return Ok(Decision {
                plan: changes,
                ..decision.with("stdout", "")
            });
        }
        let mut cmd = format!("{pip} {}", subcommand.join(" "));
        if args.break_system_packages {
            cmd.push_str(" --break-system-packages");
        }
        if let Some(extra) = &args.extra_args {
            let words = shell_words::split(extra).map_err(|err| format!("extra_args: {err}"))?;
            for word in words {
                cmd.push(' ');
                cmd.push_str(&quote(&word));
            }
        }
        if let Some(file) = &args.requirements {
            cmd.push_str(&format!(" -r {}", quote(file)));
        }
        let editable = args.editable && state != State::Absent;
        for target in &targets {
            cmd.push_str(if editable { " -e " } else { " " });
            cmd.push_str(&quote(&target.text));
        }
        let run = PipRun {
            cmd: cmd.clone(),
            changes: state == State::ForceReinstall || venv.is_some(),
        };
        Ok(Decision {
            plan: Some(Changes {
                venv,
                pip: Some(run),
            }),
            ..decision.with("cmd", cmd)
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &PipArgs,
        changes: Changes,
    ) -> Result<Outcome, ModuleError> {
        let umask = args.umask();
        let mut log = String::new();
        if let Some(venv) = &changes.venv {
            let made = make_venv(on, args, venv, &umask).await?;
            if made.rc != 0 {
                let mut failed = super::failed(format!(
                    "Failed to create the virtualenv {venv}: {}",
                    made.stderr_text().trim()
                ));
                failed.insert("stdout".into(), json!(made.stdout_text()));
                return Err(ModuleError::FailedWith(failed));
            }
            log.push_str(&made.stdout_text());
        }
        let mut outcome = Outcome::new();
        let Some(run) = changes.pip else {
            outcome.insert("stdout".into(), json!(log));
            return Ok(outcome);
        };
        let done = args.exec(on, format!("{umask}{}", run.cmd)).await?;
        let stdout = log + &done.stdout_text();
        let stderr = done.stderr_text();
        if done.rc != 0 {
            let mut failed = super::failed(format!("stdout: {stdout}\n\n:stderr: {stderr}"));
            failed.insert("cmd".into(), json!(run.cmd));
            return Err(ModuleError::FailedWith(failed));
        }
        // pip alone can tell whether `latest` or a requirements file changed anything:
        // its word overrides the planned change, as Ansible's module reports it.
        let changed = run.changes
            || match args.state {
                State::Absent => stdout.contains("Successfully uninstalled"),
                _ => stdout.contains("Successfully installed"),
            };
        outcome.insert("changed".into(), json!(changed));
        outcome.insert("stdout".into(), json!(stdout));
        outcome.insert("stderr".into(), json!(stderr));
        Ok(outcome)
    }
}

/// Creates the virtualenv `venv` with `virtualenv_command` (default
/// `python3 -m venv`).
async fn make_venv(
    on: &Target<'_>,
    args: &PipArgs,
    venv: &str,
    umask: &str,
) -> Result<CommandOutput, ModuleError> {
    let command = args
        .virtualenv_command
        .as_deref()
        .unwrap_or("python3 -m venv");
    let words = shell_words::split(command)
        .map_err(|err| ModuleError::Failed(format!("virtualenv_command: {err}")))?;
    let mut cmd: Vec<String> = words.iter().map(|w| quote(w)).collect();
    if args.virtualenv_site_packages {
        cmd.push("--system-site-packages".into());
    }
    if let Some(python) = &args.virtualenv_python {
        if command.contains("-m venv") || command.contains("pyvenv") {
            return Err(ModuleError::Failed(
                "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command".into(),
            ));
        }
        cmd.push(quote(&format!("-p{python}")));
    }
    cmd.push(quote(venv));
    args.exec(on, format!("{umask}{}", cmd.join(" "))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requirements_parse() {
        let r = parse_requirement("Flask_Login[extra] >=1.0, <2");
        assert_eq!(r.name, "flask-login");
        assert_eq!(
            r.specifiers,
            Some(vec![(">=".into(), "1.0".into()), ("<".into(), "2".into())])
        );
        assert_eq!(parse_requirement("six").specifiers, Some(vec![]));
        assert_eq!(
            parse_requirement("pkg @ https://x/pkg.whl").specifiers,
            None,
            "URLs are left to pip"
        );
    }

    #[test]
    fn versions_compare_like_pep_440_for_the_usual_cases() {
        assert!(satisfies("1.10", ">", "1.9"));
        assert!(satisfies("2.0", "==", "2"));
        assert!(satisfies("2.0.1", "==", "2.0.*"));
        assert!(!satisfies("2.1", "==", "2.0.*"));
        assert!(satisfies("1.4.5", "~=", "1.4.2"));
        assert!(!satisfies("1.5", "~=", "1.4.2"));
        assert!(!satisfies("1.0", "!=", "1.0"));
    }

    #[test]
    fn satisfaction_against_the_freeze_list() {
        let snapshot =
            parse_snapshot("P:/opt/v/bin/pip\nL:bosun_hello==1.0\nL:pip==23.0.1\nnoise\n");
        assert_eq!(snapshot.pip.as_deref(), Some("/opt/v/bin/pip"));
        let installed = &snapshot.installed;
        assert_eq!(
            is_satisfied(&parse_requirement("bosun-hello"), installed),
            Some(true)
        );
        assert_eq!(
            is_satisfied(&parse_requirement("Bosun.Hello==2.0"), installed),
            Some(false)
        );
        assert_eq!(
            is_satisfied(&parse_requirement("absent-pkg"), installed),
            Some(false)
        );
        assert!(parse_snapshot("V:missing\nP:\n").venv_missing);
    }

    fn decide(args: serde_json::Value, snapshot: &str) -> Result<Decision<Changes>, String> {
        let args = crate::modules::typed::from_json(args).expect("valid arguments");
        Pip.decide(&args, parse_snapshot(snapshot))
    }

    #[test]
    fn satisfied_packages_change_nothing_and_missing_ones_install() {
        let found = "P:/usr/bin/pip3\nL:bosun_hello==1.0\n";
        let decision = decide(json!({"name": "bosun-hello"}), found).expect("a decision");
        assert!(decision.plan.is_none());
        let decision = decide(json!({"name": ["bosun-hello==2.0", "six"]}), found).expect("ok");
        let run = decision.plan.and_then(|c| c.pip).expect("a pip run");
        assert_eq!(run.cmd, "/usr/bin/pip3 install bosun-hello==2.0 six");
        let err = decide(
            json!({"name": "x", "version": "1", "state": "latest"}),
            found,
        );
        assert_eq!(
            err.err().as_deref(),
            Some("version is incompatible with state=latest")
        );
    }

    #[test]
    fn the_version_argument_pins_as_pips_package_does() {
        let found = "P:/usr/bin/pip3\nL:bosun_hello==1.0\n";
        let cmd = |version: &str| {
            let args = json!({"name": "bosun-hello", "version": version});
            let decision = decide(args, found).expect("a decision");
            decision.plan.and_then(|c| c.pip).map(|run| run.cmd)
        };
        assert_eq!(cmd(""), None, "an empty version pins nothing: 1.0 is there");
        assert_eq!(cmd("1.0"), None);
        assert_eq!(
            cmd("2.0").as_deref(),
            Some("/usr/bin/pip3 install bosun-hello==2.0")
        );
        assert_eq!(cmd(">=1.0"), None);
        assert_eq!(
            cmd(">=1.5").as_deref(),
            Some("/usr/bin/pip3 install 'bosun-hello>=1.5'")
        );
        let conflict = decide(json!({"name": "bosun-hello>=1", "version": "2"}), found).err();
        assert!(conflict.is_some_and(|e| e.starts_with("The 'version' argument conflicts")));
    }

    #[test]
    fn a_missing_virtualenv_is_made_first() {
        let found = "V:missing\nP:/opt/v/bin/pip\n";
        let args = json!({"name": "six", "virtualenv": "/opt/v"});
        let changes = decide(args, found)
            .expect("a decision")
            .plan
            .expect("changes");
        assert_eq!(changes.venv.as_deref(), Some("/opt/v"));
        let run = changes.pip.expect("a pip run");
        assert!(run.changes && run.cmd.starts_with("/opt/v/bin/pip install"));
        let none = decide(json!({"name": "six"}), "P:\n").err();
        assert!(none.is_some_and(|e| e.starts_with("Unable to find any of pip3")));
    }
}
