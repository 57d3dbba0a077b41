//! `sysvinit`: starts, stops and enables a service through its init script, as
//! ansible.builtin's module does whatever the init: the running state from
//! `service NAME status` (or the script's own `status`, or `pattern` in the process
//! list) read with Ansible's heuristics, boot links under `/etc/rc?.d` made with
//! `update-rc.d` (or `chkconfig`). One query round trip, one apply.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::run::{RECORDS, Ran, records};
use super::service::ServiceState;
use super::service::sysv::ps_finds;
use super::typed::{Rules, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

module_args! {
    /// Ansible's `sysvinit` arguments.
    pub struct SysvinitArgs {
        /// The service's name, or the init script's absolute path.
        name: String => .required().aliases(&["service"]),
        state: Option<ServiceState>,
        /// Whether the service starts at boot.
        enabled: Option<bool>,
        /// Seconds slept after each of a restart's stop and start.
        sleep: i64 => .default_int(1),
        /// A string in the process list that means the service runs.
        pattern: Option<String>,
        /// The runlevels to enable or disable the service in, instead of its defaults.
        runlevels: Option<Vec<String>>,
        /// Extra arguments for the init script, split as a shell would.
        arguments: Option<String> => .aliases(&["args"]),
        /// Run the init script in a session of its own, its input from /dev/null.
        daemonize: bool => .default_bool(false),
    }
    rules: Rules { required_one_of: &[&["state", "enabled"]], ..Rules::NONE };
}

impl SysvinitArgs {
    /// The init script: the name itself when it is a path.
    fn script(&self) -> String {
        match self.name.starts_with('/') {
            true => self.name.clone(),
            false => format!("/etc/init.d/{}", self.name),
        }
    }

    /// The runlevels whose boot links are read: `?` (any) when none are given.
    fn levels(&self) -> Vec<String> {
        match &self.runlevels {
            Some(levels) if !levels.is_empty() => levels.clone(),
            _ => vec!["?".to_string()],
        }
    }
}

/// How the query learnt whether the service runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Running {
    /// `pattern` was (or was not) in the process list.
    Pattern(bool),
    /// What the status command did, and whether the name was in the process list
    /// (asked only when the status was none of the usual exit codes).
    Status { ran: Ran, name_in_ps: bool },
}

/// What the query found.
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// There is no init script.
    Missing,
    /// The init script exists.
    Present(Present),
}

/// The init script's service as the query found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Present {
    /// `update-rc.d`, where it is.
    update_rc_d: Option<String>,
    /// `chkconfig`, where it is.
    chkconfig: Option<String>,
    /// `service`, where it is.
    service: Option<String>,
    /// Whether a start link exists, in each runlevel asked about.
    enabled: Vec<bool>,
    running: Running,
}

/// The commands to run, and the result's `status` to fill in with what they did.
#[derive(Debug, PartialEq)]
pub struct Plan {
    /// The boot links change: the command that changes them, if a tool was found
    /// (without one, Ansible reports the status command's output in its place).
    enable: Option<Option<Vec<String>>>,
    /// The init script's verbs to run, in order, each followed by the sleep.
    verbs: Vec<&'static str>,
    /// What the state's verb is called in failure messages.
    action: &'static str,
    /// What the status command did (or nothing, with `pattern`).
    last: Ran,
    /// The result's `status`, each command's `rc`, `stdout` and `stderr` still null.
    status: Map<String, Json>,
}

/// `sysvinit`: manages a service through its init script.
pub struct Sysvinit;

#[async_trait]
impl StateModule for Sysvinit {
    const NAME: &'static str = "sysvinit";
    type Args = SysvinitArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &SysvinitArgs) -> Result<Found, ModuleError> {
        let out = on.conn.exec(&Command::new(query_script(args))).await?;
        Ok(parse_answer(&out.stdout_text()))
    }

    fn decide(&self, args: &SysvinitArgs, found: Found) -> Result<Decision<Plan>, String> {
        let Found::Present(present) = found else {
            return Err(format!(
                "Could not find the requested service {}: ",
                args.name
            ));
        };
        decide(args, present)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &SysvinitArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let out = on
            .conn
            .exec(&Command::new(apply_script(args, &plan)?))
            .await?;
        let (_, mut ran) = records(&out.stdout_text());
        ran.reverse();
        let mut status = plan.status;
        if let Some(command) = &plan.enable {
            let done = match command {
                Some(_) => ran.pop().unwrap_or_default(),
                None => plan.last.clone(),
            };
            let illegal = done.stderr.contains("illegal runlevel specified");
            fill(&mut status, "enabled", &done);
            if illegal {
                let mut result = super::failed(format!(
                    "Illegal runlevel specified for enable operation on service {}",
                    args.name
                ));
                result.insert("name".into(), json!(args.name));
                result.insert("changed".into(), json!(true));
                result.insert("status".into(), Json::Object(status));
                return Err(ModuleError::FailedWith(result));
            }
        }
        let mut last = None;
        while let Some(done) = ran.pop() {
            if done.rc != 0 {
                let mut result =
                    super::failed(format!("Failed to {} service: {}", plan.action, args.name));
                result.insert("rc".into(), json!(done.rc));
                result.insert("stdout".into(), json!(done.stdout));
                result.insert("stderr".into(), json!(done.stderr));
                return Err(ModuleError::FailedWith(result));
            }
            last = Some(done);
        }
        if let Some(done) = last {
            fill(&mut status, &state_key(args), &done);
        }
        let mut outcome = Outcome::new();
        outcome.insert("status".into(), Json::Object(status));
        Ok(outcome)
    }
}

/// The one query: the script, the tools, the boot links, then whether it runs, the
/// status command's own output last and byte for byte (Ansible reads its line count).
fn query_script(args: &SysvinitArgs) -> String {
    let name = quote(&args.name);
    let links: Vec<String> = args
        .levels()
        .iter()
        .map(|level| {
            let level = if level == "?" {
                "?".to_string()
            } else {
                quote(level)
            };
            format!("ls -d \"$d\"{level}.d/S??{name} >/dev/null 2>&1 && printf '1 ' || printf '0 '")
        })
        .collect();
    let running = match &args.pattern {
        Some(pattern) => format!("{} && echo 'p 1' || echo 'p 0'\n", ps_finds(pattern)),
        None => format!(
            "if [ -n \"$sv\" ]; then set -- \"$sv\" {name} status; else set -- \"$s\" status; fi\n\
             out=$(LANG=C \"$@\" 2>/dev/null </dev/null; r=$?; echo x; exit $r); rc=$?; out=${{out%x}}\n\
             case $rc in 0|1|2|3|4|69) ps=0 ;; *) {} && ps=1 || ps=0 ;; esac\n\
             echo \"s $rc $ps\"; printf '%s' \"$out\"\n",
            ps_finds(&args.name)
        ),
    };
    format!(
        "s={}\n[ -e \"$s\" ] || {{ echo missing; exit 0; }}\necho present\n\
         PATH=\"$PATH:/sbin:/usr/sbin:/bin:/usr/bin\"\n\
         for b in update-rc.d chkconfig service; do printf '%s\\n' \"$(command -v $b)\"; done\n\
         sv=$(command -v service)\n\
         if [ -d /etc/rc0.d/ ]; then d=/etc/rc; else d=/etc/init.d/rc; fi\n\
         {}; echo\n{running}",
        quote(&args.script()),
        links.join("; ")
    )
}

/// Reads the query's answer.
fn parse_answer(output: &str) -> Found {
    let mut lines = output.splitn(7, '\n');
    if lines.next() != Some("present") {
        return Found::Missing;
    }
    let mut tool = || Some(lines.next().unwrap_or("").to_string()).filter(|path| !path.is_empty());
    let (update_rc_d, chkconfig, service) = (tool(), tool(), tool());
    let enabled = lines
        .next()
        .unwrap_or("")
        .split_whitespace()
        .map(|flag| flag == "1")
        .collect();
    let how: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    let running = match how.as_slice() {
        ["p", found] => Running::Pattern(*found == "1"),
        [_, rc, ps] => Running::Status {
            ran: Ran {
                rc: rc.parse().unwrap_or(-1),
                stdout: lines.next().unwrap_or("").to_string(),
                stderr: String::new(),
            },
            name_in_ps: *ps == "1",
        },
        _ => Running::Pattern(false),
    };
    Found::Present(Present {
        update_rc_d,
        chkconfig,
        service,
        enabled,
        running,
    })
}

/// Whether the service runs, as Ansible's module reads the status command's output
/// and exit code (its words, its order), and the warnings that reading gives.
fn is_started(name: &str, running: &Running) -> (bool, Vec<String>) {
    let (mut started, mut worked, mut warnings) = (false, false, Vec::new());
    match running {
        Running::Pattern(found) => (started, worked) = (*found, *found),
        Running::Status { ran, name_in_ps } => {
            let out = &ran.stdout;
            if name == "iptables" && out.contains("ACCEPT") {
                (started, worked) = (true, true);
            }
            if !worked && out.matches('\n').count() <= 1 {
                let clean = out.to_lowercase().replace(&name.to_lowercase(), "");
                let stopped = [
                    "stop",
                    "is dead ",
                    "dead but ",
                    "could not access pid file",
                    "inactive",
                ];
                worked = stopped.iter().any(|word| clean.contains(word));
                if !worked
                    && ["run", "start", "active"]
                        .iter()
                        .any(|word| clean.contains(word))
                    && !clean.contains("not ")
                {
                    (started, worked) = (true, true);
                }
            }
            if !worked && [1, 2, 3, 4, 69].contains(&ran.rc) {
                worked = true;
            }
            if !worked && ran.rc == 0 {
                (started, worked) = (true, true);
            } else if !worked && *name_in_ps {
                (started, worked) = (true, true);
                warnings.push(
                    "Used ps output to match service name and determine it is up, this is very unreliable"
                        .to_string(),
                );
            }
        }
    }
    if !worked {
        warnings.push("Unable to determine if service is up, assuming it is down".to_string());
    }
    (started, warnings)
}

/// The key of the state's entry in `status`: the state as given, `null` without one
/// (Python's JSON writes the `None` key so).
fn state_key(args: &SysvinitArgs) -> String {
    args.state
        .map(|state| state.as_str().to_string())
        .unwrap_or_else(|| "null".to_string())
}

/// An entry of `status` before anything ran.
fn untouched(changed: bool) -> Json {
    json!({"changed": changed, "rc": null, "stdout": null, "stderr": null})
}

/// Records what a command did in the `status` entry `key`.
fn fill(status: &mut Map<String, Json>, key: &str, done: &Ran) {
    if let Some(Json::Object(entry)) = status.get_mut(key) {
        entry.insert("rc".into(), json!(done.rc));
        entry.insert("stdout".into(), json!(done.stdout));
        entry.insert("stderr".into(), json!(done.stderr));
    }
}

/// Decides the boot links' command and the init script's verbs.
fn decide(args: &SysvinitArgs, present: Present) -> Result<Decision<Plan>, String> {
    let (started, warnings) = is_started(&args.name, &present.running);
    let relink = args
        .enabled
        .filter(|&wanted| present.enabled.iter().any(|&is| is != wanted));
    let mut enabled_entry = untouched(relink.is_some());
    if let Some(levels) = &args.runlevels {
        enabled_entry["runlevels"] = json!(levels);
    }
    let (verbs, action): (Vec<&'static str>, &'static str) = match args.state {
        None => (Vec::new(), ""),
        Some(ServiceState::Restarted) => (vec!["stop", "start"], "restart"),
        Some(ServiceState::Reloaded) => (vec!["reload"], "reload"),
        Some(ServiceState::Started) if !started => (vec!["start"], "start"),
        Some(ServiceState::Stopped) if started => (vec!["stop"], "stop"),
        Some(_) => (Vec::new(), ""),
    };
    if !verbs.is_empty() && args.sleep < 0 && args.state == Some(ServiceState::Restarted) {
        return Err("sleep length must be non-negative".into());
    }
    let mut status = Map::new();
    status.insert("enabled".into(), enabled_entry);
    status.insert(state_key(args), untouched(!verbs.is_empty()));
    let last = match &present.running {
        Running::Status { ran, .. } => ran.clone(),
        Running::Pattern(_) => Ran::default(),
    };
    let enable = relink.map(|wanted| link_command(args, &present, wanted));
    let changes = enable.is_some() || !verbs.is_empty();
    let plan = Plan {
        enable,
        verbs,
        action,
        last,
        status: status.clone(),
    };
    let mut decision = Decision::maybe(changes.then_some(plan))
        .with("name", args.name.as_str())
        .with("status", Json::Object(status));
    if !warnings.is_empty() {
        decision = decision.with("warnings", json!(warnings));
    }
    Ok(decision)
}

/// The command that makes (or removes) the boot links: `update-rc.d`, else
/// `chkconfig`, else none.
fn link_command(args: &SysvinitArgs, present: &Present, wanted: bool) -> Option<Vec<String>> {
    let name = args.name.clone();
    let levels = args.runlevels.clone().filter(|l| !l.is_empty());
    if let Some(tool) = &present.update_rc_d {
        let mut argv = vec![tool.clone(), name];
        match (&levels, wanted) {
            (None, true) => argv.push("defaults".into()),
            (None, false) => argv.push("disable".into()),
            (Some(levels), _) => {
                argv.push(if wanted { "enable" } else { "disable" }.into());
                argv.extend(levels.iter().cloned());
            }
        }
        return Some(argv);
    }
    let tool = present.chkconfig.clone()?;
    let switch = if wanted { "on" } else { "off" }.to_string();
    Some(match levels {
        None => vec![tool, name, switch],
        Some(levels) => vec![tool, "--level".into(), levels.concat(), name, switch],
    })
}

/// The apply script: the boot links first, then the init script's verbs, stopping at
/// the first that fails; each command's status and output recorded.
fn apply_script(args: &SysvinitArgs, plan: &Plan) -> Result<String, ModuleError> {
    let mut script = RECORDS.to_string();
    if let Some(Some(argv)) = &plan.enable {
        script.push_str(&format!("run {} </dev/null\n", words(argv)));
    }
    let extra = match &args.arguments {
        Some(text) => shell_words::split(text)
            .map_err(|err| ModuleError::Failed(format!("arguments: {err}")))?,
        None => Vec::new(),
    };
    let detach = if args.daemonize { "setsid -w " } else { "" };
    for verb in &plan.verbs {
        let mut argv = vec![args.script(), verb.to_string()];
        argv.extend(extra.iter().cloned());
        script.push_str(&format!(
            "run {detach}{} </dev/null || exit 0\n",
            words(&argv)
        ));
        if args.state == Some(ServiceState::Restarted) && args.sleep > 0 {
            script.push_str(&format!("sleep {}\n", args.sleep));
        }
    }
    Ok(script)
}

/// `argv` quoted for the shell.
fn words(argv: &[String]) -> String {
    argv.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(value: Json) -> SysvinitArgs {
        let mut value = value;
        value["name"] = json!("demo");
        from_json(value).expect("valid arguments")
    }

    fn status(rc: i32, stdout: &str) -> Running {
        Running::Status {
            ran: Ran {
                rc,
                stdout: stdout.into(),
                stderr: String::new(),
            },
            name_in_ps: false,
        }
    }

    fn present(enabled: &[bool], running: Running) -> Present {
        Present {
            update_rc_d: Some("/usr/sbin/update-rc.d".into()),
            chkconfig: None,
            service: Some("/usr/sbin/service".into()),
            enabled: enabled.to_vec(),
            running,
        }
    }

    #[test]
    fn the_status_output_is_read_as_ansible_reads_it() {
        let cases: &[(i32, &str, bool)] = &[
            (0, "demo is running\n", true),
            (3, "demo is not running\n", false),
            (0, "demo stopped\n", false),
            (0, "  Active: inactive (dead)\n", false),
            (0, "line one\nline two\n", true),
            (3, "line one\nline two\n", false),
            (0, "", true),
            (5, "", false),
        ];
        for (rc, out, started) in cases {
            let (found, warnings) = is_started("demo", &status(*rc, out));
            assert_eq!(found, *started, "rc {rc}, {out:?}");
            assert_eq!(warnings.is_empty(), *rc != 5, "rc {rc}, {out:?}");
        }
        let ps = Running::Status {
            ran: Ran {
                rc: 5,
                ..Ran::default()
            },
            name_in_ps: true,
        };
        let (found, warnings) = is_started("demo", &ps);
        assert!(found);
        assert!(warnings[0].starts_with("Used ps output"));
        assert_eq!(
            is_started("demo", &Running::Pattern(false)).1,
            ["Unable to determine if service is up, assuming it is down"]
        );
    }

    #[test]
    fn the_answer_parses_with_the_status_output_intact() {
        let answer = "present\n/usr/sbin/update-rc.d\n\n/usr/sbin/service\n1 0 \ns 3 0\na\nb\n\n";
        let Found::Present(found) = parse_answer(answer) else {
            panic!("present");
        };
        assert_eq!(found.chkconfig, None);
        assert_eq!(found.enabled, [true, false]);
        assert_eq!(found.running, status(3, "a\nb\n\n"));
        assert_eq!(parse_answer("missing\n"), Found::Missing);
    }

    #[test]
    fn states_choose_verbs_and_report_every_entry() {
        let cases: &[(&str, bool, &[&str])] = &[
            ("started", false, &["start"]),
            ("started", true, &[]),
            ("stopped", true, &["stop"]),
            ("stopped", false, &[]),
            ("restarted", false, &["stop", "start"]),
            ("reloaded", false, &["reload"]),
            ("reloaded", true, &["reload"]),
        ];
        for (state, running, verbs) in cases {
            let d = decide(
                &args(json!({"state": state})),
                present(&[true], Running::Pattern(*running)),
            )
            .expect("a decision");
            let planned = d.plan.as_ref().map(|p| p.verbs.clone()).unwrap_or_default();
            assert_eq!(planned, *verbs, "{state}, running {running}");
            assert_eq!(
                d.result["status"][state]["changed"],
                json!(!verbs.is_empty())
            );
            assert_eq!(d.result["status"]["enabled"]["changed"], json!(false));
            assert_eq!(d.result["status"][state]["rc"], Json::Null);
        }
        let d = decide(
            &args(json!({"enabled": true})),
            present(&[false], Running::Pattern(true)),
        )
        .expect("a decision");
        assert_eq!(d.result["status"]["null"], untouched(false));
        let plan = d.plan.expect("links change");
        assert_eq!(
            plan.enable,
            Some(Some(vec![
                "/usr/sbin/update-rc.d".to_string(),
                "demo".into(),
                "defaults".into()
            ]))
        );
    }

    #[test]
    fn runlevels_are_each_checked_and_named() {
        let task = args(json!({"enabled": false, "runlevels": ["3", "5"]}));
        let d = decide(&task, present(&[false, true], status(3, ""))).expect("a decision");
        assert_eq!(
            d.result["status"]["enabled"]["runlevels"],
            json!(["3", "5"])
        );
        let plan = d.plan.expect("rc5 changes");
        assert_eq!(
            plan.enable,
            Some(Some(
                ["/usr/sbin/update-rc.d", "demo", "disable", "3", "5"]
                    .map(String::from)
                    .to_vec()
            ))
        );
        let mut old = present(&[true, true], status(3, ""));
        old.update_rc_d = None;
        old.chkconfig = Some("/sbin/chkconfig".into());
        let plan = decide(&task, old)
            .expect("a decision")
            .plan
            .expect("a change");
        assert_eq!(
            plan.enable,
            Some(Some(
                ["/sbin/chkconfig", "--level", "35", "demo", "off"]
                    .map(String::from)
                    .to_vec()
            ))
        );
        let d = decide(&task, present(&[false, false], status(3, ""))).expect("a decision");
        assert!(d.plan.is_none());
    }

    #[test]
    fn a_missing_script_fails_and_scripts_quote() {
        let err = Sysvinit
            .decide(&args(json!({"state": "started"})), Found::Missing)
            .expect_err("no script");
        assert_eq!(err, "Could not find the requested service demo: ");
        let task = args(json!({"state": "restarted", "args": "--fast 'a b'", "sleep": 2}));
        let plan = decide(&task, present(&[true], Running::Pattern(true)))
            .expect("a decision")
            .plan
            .expect("restart");
        let script = apply_script(&task, &plan).expect("a script");
        assert!(
            script
                .contains("run /etc/init.d/demo stop --fast 'a b' </dev/null || exit 0\nsleep 2\n"),
            "{script}"
        );
        assert!(query_script(&task).contains("s=/etc/init.d/demo\n"));
    }
}
