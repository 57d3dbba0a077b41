//! `make` (community.general): `make -q` says whether the target is up to date (the
//! query), and only a target that is not is made, as Ansible's module decides.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::run;
use super::typed::{Rules, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// `make`: runs targets of a Makefile.
pub struct Make;

module_args! {
    /// `make`'s arguments.
    pub struct MakeArgs {
        /// The target to make.
        target: Option<String>,
        /// Several targets to make.
        targets: Option<Vec<String>>,
        /// Variables given to make (`NAME=value`).
        params: Option<Map<String, Json>>,
        /// The directory make runs in.
        chdir: String => .required(),
        /// The Makefile, when not the default.
        file: Option<String>,
        /// The make program (`gmake`, then `make`, by default).
        make: Option<String>,
        /// How many jobs make runs at once (`-j`).
        jobs: Option<i64>,
    }
    rules: Rules {
        mutually_exclusive: &[&["target", "targets"]],
        ..Rules::NONE
    };
}

/// What `make -q` said.
#[derive(Debug)]
pub struct Found {
    /// The make program found.
    program: Option<String>,
    rc: i32,
    stdout: String,
    stderr: String,
}

/// The make command line to run.
#[derive(Debug, PartialEq)]
pub struct Plan(Vec<String>);

impl MakeArgs {
    /// The command line Ansible's module builds: options, targets, then variables.
    fn command(&self, program: &str) -> Vec<String> {
        let mut argv = vec![program.to_string()];
        if let Some(jobs) = self.jobs {
            argv.extend(["-j".to_string(), jobs.to_string()]);
        }
        if let Some(file) = &self.file {
            argv.extend(["-f".to_string(), file.clone()]);
        }
        match (&self.target, &self.targets) {
            (Some(target), _) if !target.is_empty() => argv.push(target.clone()),
            (_, Some(targets)) => argv.extend(targets.iter().cloned()),
            _ => {}
        }
        for (name, value) in self.params.iter().flatten() {
            argv.push(match value {
                Json::Null => name.clone(),
                Json::String(s) => format!("{name}={s}"),
                Json::Bool(b) => format!("{name}={}", if *b { "True" } else { "False" }),
                other => format!("{name}={other}"),
            });
        }
        argv
    }
}

/// Output as the module reports it: trailing line ends removed.
fn sanitize(text: &str) -> String {
    text.trim_end_matches(['\r', '\n']).to_string()
}

#[async_trait]
impl StateModule for Make {
    const NAME: &'static str = "make";
    type Args = MakeArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &MakeArgs) -> Result<Found, ModuleError> {
        let find = match &args.make {
            Some(make) => format!("m={}", quote(make)),
            None => "m=$(command -v gmake || command -v make) || exit 0".to_string(),
        };
        let mut argv = args.command("\u{0}");
        argv.push("-q".into());
        let words: Vec<String> = argv[1..].iter().map(|a| quote(a)).collect();
        let script = format!(
            "{find}; printf '%s\\n' \"$m\"; cd {} 2>/dev/null; \
             {{ e=$( {{ \"$m\" {}; printf '\\001%s\\n' $?; }} 2>&1 1>&3 ); }} 3>&1; printf '%s' \"$e\"",
            quote(&args.chdir),
            words.join(" ")
        );
        let out = on.conn.exec(&Command::new(script)).await?;
        let text = out.stdout_text();
        let (program, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let (stdout, tail) = rest.split_once('\u{1}').unwrap_or(("", ""));
        let (rc, stderr) = tail.split_once('\n').unwrap_or((tail, ""));
        Ok(Found {
            program: Some(program.to_string()).filter(|p| !p.is_empty()),
            rc: rc.trim().parse().unwrap_or(-1),
            stdout: sanitize(stdout),
            stderr: sanitize(stderr),
        })
    }

    fn decide(&self, args: &MakeArgs, found: Found) -> Result<Decision<Plan>, String> {
        let program = found.program.ok_or(
            "Failed to find required executable \"make\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )?;
        let argv = args.command(&program);
        let command: Vec<String> = argv.iter().map(|a| quote(a)).collect();
        let decision = Decision::maybe((found.rc != 0).then_some(Plan(argv)));
        Ok(decision
            .with("failed", false)
            .with("stdout_lines", super::command::lines(&found.stdout))
            .with("stderr_lines", super::command::lines(&found.stderr))
            .with("stdout", found.stdout)
            .with("stderr", found.stderr)
            .with("target", json!(args.target))
            .with("targets", json!(args.targets))
            .with("params", json!(args.params))
            .with("chdir", args.chdir.as_str())
            .with("file", json!(args.file))
            .with("jobs", json!(args.jobs))
            .with("command", command.join(" ")))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &MakeArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let stdout = sanitize(&run::checked_in(on, &args.chdir, &plan.0).await?);
        let mut outcome = Outcome::new();
        outcome.insert("stdout_lines".into(), super::command::lines(&stdout));
        outcome.insert("stdout".into(), json!(stdout));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(args: Json, rc: i32) -> Result<Decision<Plan>, String> {
        let args: MakeArgs = crate::modules::typed::from_json(args)?;
        let found = Found {
            program: Some("/usr/bin/make".into()),
            rc,
            stdout: String::new(),
            stderr: String::new(),
        };
        Make.decide(&args, found)
    }

    #[test]
    fn an_up_to_date_target_is_not_made() {
        let decision = decide(json!({"chdir": "/src", "target": "all"}), 0).expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["command"], "/usr/bin/make all");
        assert_eq!(decision.result["targets"], Json::Null);
    }

    #[test]
    fn the_command_has_jobs_file_targets_then_variables() {
        let args = json!({"chdir": "/src", "targets": ["a", "b c"], "jobs": 2, "file": "GNUmakefile",
            "params": {"PREFIX": "/opt x", "V": 1, "NOVALUE": null}});
        let decision = decide(args, 1).expect("a decision");
        assert_eq!(
            decision.plan,
            Some(Plan(
                [
                    "/usr/bin/make",
                    "-j",
                    "2",
                    "-f",
                    "GNUmakefile",
                    "a",
                    "b c",
                    "PREFIX=/opt x",
                    "V=1",
                    "NOVALUE"
                ]
                .map(String::from)
                .to_vec()
            ))
        );
        assert_eq!(
            decision.result["command"],
            "/usr/bin/make -j 2 -f GNUmakefile a 'b c' 'PREFIX=/opt x' V=1 NOVALUE"
        );
        let both = json!({"chdir": "/src", "target": "a", "targets": ["b"]});
        assert_eq!(
            decide(both, 1).err().as_deref(),
            Some("parameters are mutually exclusive: target|targets")
        );
    }
}
