//! `pip`: Python packages, in a virtualenv (made when missing) or for a given pip. One
//! query (does the virtualenv exist, which pip, `pip list --format=freeze`), the
//! decision made here against the requested specifiers, and one pip call for what must
//! change. Requirements files and `latest` are left to pip, whose
//! `Successfully installed` says whether anything changed.

use std::cmp::Ordering;

use async_trait::async_trait;
use serde_json::json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Manages Python packages with pip.
pub struct Pip;

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
struct Snapshot {
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
impl Module for Pip {
    fn name(&self) -> &'static str {
        "pip"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::List),
            Param::new("version", Kind::Str),
            Param::new("requirements", Kind::Str),
            Param::new("virtualenv", Kind::Str),
            Param::new("virtualenv_site_packages", Kind::Bool),
            Param::new("virtualenv_command", Kind::Str),
            Param::new("virtualenv_python", Kind::Str),
            Param::new("state", Kind::Str).choices(&[
                "present",
                "absent",
                "latest",
                "forcereinstall",
            ]),
            Param::new("extra_args", Kind::Str),
            Param::new("editable", Kind::Bool),
            Param::new("chdir", Kind::Str),
            Param::new("executable", Kind::Str),
            Param::new("umask", Kind::Str),
            Param::new("break_system_packages", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        args.mutually_exclusive(&[&["name", "requirements"], &["executable", "virtualenv"]])
            .map_err(ModuleError::Failed)?;
        let state = args.str("state").unwrap_or("present");
        let names = args.strings("name");
        let requirements = args.str("requirements");
        if names.is_empty() && requirements.is_none() {
            return Ok(super::failed(
                "one of the following is required: name, requirements",
            ));
        }
        let version = args.str("version");
        if version.is_some() && state == "latest" {
            return Ok(super::failed("version is incompatible with state=latest"));
        }
        if version.is_some() && names.len() > 1 {
            return Ok(super::failed(
                "'version' argument is ambiguous when installing multiple package distributions. Please specify version restrictions next to each package in 'name' argument.",
            ));
        }
        let wanted: Vec<Requirement> = names
            .iter()
            .map(|n| match version {
                Some(v) if !n.contains(['<', '>', '=', '!', '~']) => {
                    parse_requirement(&format!("{n}=={v}"))
                }
                _ => parse_requirement(n),
            })
            .collect();
        let venv = args.str("virtualenv");
        let umask = args
            .str("umask")
            .map(|u| format!("umask {} && ", quote(u)))
            .unwrap_or_default();

        let pip_choice = match (args.str("executable"), venv) {
            (Some(exe), _) => quote(exe),
            (None, Some(v)) => quote(&format!("{}/bin/pip", v.trim_end_matches('/'))),
            (None, None) => "$(command -v pip3 || command -v pip)".to_string(),
        };
        let mut query = String::new();
        if let Some(v) = venv {
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
        let out = self.exec(ctx, args, query).await?;
        let snapshot = parse_snapshot(&out.stdout_text());

        let mut outcome = super::ok(false);
        outcome.insert("name".into(), json!(names));
        outcome.insert("version".into(), json!(version));
        outcome.insert("requirements".into(), json!(requirements));
        outcome.insert("virtualenv".into(), json!(venv));
        outcome.insert("state".into(), json!(state));
        let mut log = String::new();
        if let (Some(v), true) = (venv, snapshot.venv_missing) {
            if ctx.check_mode {
                outcome.insert("changed".into(), json!(true));
                return Ok(outcome);
            }
            let made = self.make_venv(ctx, args, v, &umask).await?;
            if made.rc != 0 {
                let mut failed = super::failed(format!(
                    "Failed to create the virtualenv {v}: {}",
                    made.stderr_text().trim()
                ));
                failed.insert("stdout".into(), json!(made.stdout_text()));
                return Ok(failed);
            }
            log.push_str(&made.stdout_text());
            outcome.insert("changed".into(), json!(true));
        }
        let pip = match (venv, &snapshot.pip) {
            (Some(v), _) => quote(&format!("{}/bin/pip", v.trim_end_matches('/'))),
            (None, Some(p)) => quote(p),
            (None, None) => {
                return Ok(super::failed(
                    "Unable to find any of pip3, pip to use.  pip needs to be installed.",
                ));
            }
        };

        let (subcommand, targets): (&[&str], Vec<&Requirement>) = match state {
            "absent" => (
                &["uninstall", "-y"],
                wanted
                    .iter()
                    .filter(|r| snapshot.installed.iter().any(|(n, _)| *n == r.name))
                    .collect(),
            ),
            "latest" => (&["install", "-U"], wanted.iter().collect()),
            "forcereinstall" => (
                &["install", "-U", "--force-reinstall"],
                wanted.iter().collect(),
            ),
            _ => (
                &["install"],
                wanted
                    .iter()
                    .filter(|r| is_satisfied(r, &snapshot.installed) != Some(true))
                    .collect(),
            ),
        };
        let always = requirements.is_some() || matches!(state, "latest" | "forcereinstall");
        if targets.is_empty() && !always {
            outcome.insert("stdout".into(), json!(log));
            return Ok(outcome);
        }
        let mut cmd = format!("{pip} {}", subcommand.join(" "));
        if args.bool_or("break_system_packages", false) {
            cmd.push_str(" --break-system-packages");
        }
        if let Some(extra) = args.str("extra_args") {
            let words = shell_words::split(extra)
                .map_err(|err| ModuleError::Failed(format!("extra_args: {err}")))?;
            for word in words {
                cmd.push(' ');
                cmd.push_str(&quote(&word));
            }
        }
        if let Some(file) = requirements {
            cmd.push_str(&format!(" -r {}", quote(file)));
        }
        let editable = args.bool_or("editable", false) && state != "absent";
        for target in &targets {
            cmd.push_str(if editable { " -e " } else { " " });
            cmd.push_str(&quote(&target.text));
        }
        outcome.insert("cmd".into(), json!(cmd));
        if ctx.check_mode {
            outcome.insert("changed".into(), json!(true));
            return Ok(outcome);
        }
        let done = self.exec(ctx, args, format!("{umask}{cmd}")).await?;
        let stdout = log + &done.stdout_text();
        let stderr = done.stderr_text();
        if done.rc != 0 {
            let mut failed = super::failed(format!("stdout: {stdout}\n\n:stderr: {stderr}"));
            failed.insert("cmd".into(), json!(cmd));
            return Ok(failed);
        }
        let changed = match state {
            "absent" => stdout.contains("Successfully uninstalled"),
            "forcereinstall" => true,
            _ => stdout.contains("Successfully installed"),
        };
        if changed {
            outcome.insert("changed".into(), json!(true));
        }
        outcome.insert("stdout".into(), json!(stdout));
        outcome.insert("stderr".into(), json!(stderr));
        Ok(outcome)
    }
}

impl Pip {
    /// Runs `script` on the target in `chdir` with the task's environment.
    async fn exec(
        &self,
        ctx: &ModuleContext<'_>,
        args: &Args,
        script: String,
    ) -> Result<crate::connection::CommandOutput, ModuleError> {
        let mut command = Command::new(script);
        command.env = ctx.env.clone();
        command.cwd = args.str("chdir").map(str::to_string);
        Ok(ctx.conn.exec(&command).await?)
    }

    /// Creates the virtualenv `venv` with `virtualenv_command` (default
    /// `python3 -m venv`).
    async fn make_venv(
        &self,
        ctx: &ModuleContext<'_>,
        args: &Args,
        venv: &str,
        umask: &str,
    ) -> Result<crate::connection::CommandOutput, ModuleError> {
        let command = args.str("virtualenv_command").unwrap_or("python3 -m venv");
        let words = shell_words::split(command)
            .map_err(|err| ModuleError::Failed(format!("virtualenv_command: {err}")))?;
        let mut cmd: Vec<String> = words.iter().map(|w| quote(w)).collect();
        if args.bool_or("virtualenv_site_packages", false) {
            cmd.push("--system-site-packages".into());
        }
        if let Some(python) = args.str("virtualenv_python") {
            if command.contains("-m venv") || command.contains("pyvenv") {
                return Err(ModuleError::Failed(
                    "virtualenv_python should not be used when using the venv module or pyvenv as virtualenv_command".into(),
                ));
            }
            cmd.push(quote(&format!("-p{python}")));
        }
        cmd.push(quote(venv));
        self.exec(ctx, args, format!("{umask}{}", cmd.join(" ")))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
