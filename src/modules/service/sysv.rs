//! `service` where systemd is not the init: the init script (`/etc/init.d/NAME`) or the
//! `service` command for the running state, `update-rc.d` and the `/etc/rc?.d` links
//! for starting at boot. One query round trip, one apply.

use serde_json::json;

use super::super::Outcome;
use crate::connection::quote;

/// Opens each line of the query's answer and of the apply script's failures.
const MARK: &str = "@@bosun-sysv";

/// A checked `service` task for an init script.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysvRequest {
    /// The service's name.
    pub name: String,
    /// `started`, `stopped`, `restarted` or `reloaded`.
    pub state: Option<String>,
    /// Start at boot.
    pub enabled: Option<bool>,
    /// A string in the process list that means the service runs (instead of `status`).
    pub pattern: Option<String>,
    /// Seconds between stop and start when restarting.
    pub sleep: Option<i64>,
    /// Extra arguments for the init script.
    pub arguments: Option<String>,
}

/// What the query found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysvFacts {
    /// `/etc/init.d/NAME`, `service`, or empty when there is neither.
    pub control: String,
    /// The service runs.
    pub running: bool,
    /// `/etc/rc?.d/S??NAME` exists.
    pub enabled: bool,
    /// `update-rc.d` exists.
    pub update_rc_d: bool,
}

/// The decision: shell commands to run in order, and the reported state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SysvDecision {
    /// `(verb, command)` pairs; empty: nothing changes.
    pub steps: Vec<(String, String)>,
}

impl SysvRequest {
    /// The query script.
    pub fn query_script(&self) -> String {
        let name = quote(&self.name);
        let init = quote(&format!("/etc/init.d/{}", self.name));
        let mut script = format!(
            "if [ -x {init} ]; then c={init}; elif command -v service >/dev/null 2>&1; then c=service; else c=; fi\n\
             echo \"{MARK} control $c\"\n\
             ! ls /etc/rc?.d/S??{name} >/dev/null 2>&1 || echo '{MARK} enabled'\n\
             ! command -v update-rc.d >/dev/null 2>&1 || echo '{MARK} update-rc.d'\n"
        );
        match &self.pattern {
            // Our own shell and its children are left out: their command lines may
            // hold the pattern.
            Some(pattern) => {
                script.push_str(&format!("{} && echo '{MARK} running'\n", ps_finds(pattern)))
            }
            None => script.push_str(&format!(
                "case \"$c\" in\n  service) service {name} status >/dev/null 2>&1 && echo '{MARK} running' ;;\n  \
                 ?*) \"$c\" status >/dev/null 2>&1 && echo '{MARK} running' ;;\nesac\n"
            )),
        }
        script
    }

    /// The result's keys: `name`, and `state` and `enabled` when asked.
    pub fn result(&self) -> Outcome {
        let mut result = Outcome::new();
        result.insert("name".into(), json!(self.name));
        if let Some(state) = &self.state {
            result.insert("state".into(), json!(state));
        }
        if let Some(enabled) = self.enabled {
            result.insert("enabled".into(), json!(enabled));
        }
        result
    }

    /// Decides the commands, or fails in Ansible's words.
    pub fn decide(&self, facts: &SysvFacts) -> Result<SysvDecision, String> {
        if facts.control.is_empty() {
            return Err(
                "cannot find 'service' binary or init script for service,  possible typo in service name?, aborting"
                    .into(),
            );
        }
        let name = quote(&self.name);
        let control = if facts.control == "service" {
            format!("service {name}")
        } else {
            quote(&facts.control)
        };
        let args = self
            .arguments
            .as_deref()
            .map(|a| format!(" {a}"))
            .unwrap_or_default();
        let run = |verb: &str| format!("{control} {verb}{args}");
        let mut steps: Vec<(String, String)> = Vec::new();
        if let Some(enabled) = self.enabled
            && enabled != facts.enabled
        {
            if !facts.update_rc_d {
                return Err(format!(
                    "cannot change whether {} starts at boot: update-rc.d not found",
                    self.name
                ));
            }
            let command = if enabled {
                format!("update-rc.d {name} defaults >/dev/null 2>&1; update-rc.d {name} enable")
            } else {
                format!("update-rc.d {name} disable")
            };
            let verb = if enabled { "enable" } else { "disable" };
            steps.push((verb.into(), command));
        }
        let running = facts.running;
        match self.state.as_deref() {
            Some("started") if !running => steps.push(("start".into(), run("start"))),
            Some("stopped") if running => steps.push(("stop".into(), run("stop"))),
            Some("reloaded") if !running => steps.push(("start".into(), run("start"))),
            Some("reloaded") => steps.push(("reload".into(), run("reload"))),
            Some("restarted") => match self.sleep {
                Some(seconds) if seconds > 0 => steps.push((
                    "restart".into(),
                    format!("{}; sleep {seconds}; {}", run("stop"), run("start")),
                )),
                _ => steps.push(("restart".into(), run("restart"))),
            },
            _ => {}
        }
        Ok(SysvDecision { steps })
    }
}

/// A shell command that succeeds when a process's command line holds `pattern`, as
/// Ansible's `get_ps` looks for it. This shell, its parent (`sudo` under become) and
/// its children are left out: their command lines may hold the pattern.
pub fn ps_finds(pattern: &str) -> String {
    format!(
        "ps -eo pid=,ppid=,args= 2>/dev/null | P={} ME=$$ UP=$PPID awk \
         '$1 != ENVIRON[\"ME\"] && $1 != ENVIRON[\"UP\"] && $2 != ENVIRON[\"ME\"] && index($0, ENVIRON[\"P\"]) {{ f = 1 }} \
         END {{ exit !f }}'",
        quote(pattern)
    )
}

impl SysvFacts {
    /// Parses the query's answer.
    pub fn parse(output: &str) -> SysvFacts {
        let mut facts = SysvFacts::default();
        for line in output.lines() {
            let Some(rest) = line.strip_prefix(MARK) else {
                continue;
            };
            let rest = rest.trim();
            match rest.split_once(' ') {
                Some(("control", control)) => facts.control = control.trim().to_string(),
                _ => match rest {
                    "control" => facts.control.clear(),
                    "enabled" => facts.enabled = true,
                    "running" => facts.running = true,
                    "update-rc.d" => facts.update_rc_d = true,
                    _ => {}
                },
            }
        }
        facts
    }
}

/// The script that runs the steps in order, stopping at the first failure, which it
/// reports as `MARK failed VERB` followed by the output.
pub fn apply_script(decision: &SysvDecision) -> String {
    decision
        .steps
        .iter()
        .map(|(verb, command)| {
            format!(
                "out=$( ({command}) 2>&1 ) || {{ echo '{MARK} failed {verb}'; printf '%s\\n' \"$out\"; exit 0; }}\n"
            )
        })
        .collect()
}

/// The failure the apply script reported, as a message.
pub fn apply_failure(name: &str, output: &str) -> Option<String> {
    let (_, rest) = output.split_once(&format!("{MARK} failed "))?;
    let (verb, text) = rest.split_once('\n').unwrap_or((rest, ""));
    Some(format!(
        "Unable to {} service {name}: {}",
        verb.trim(),
        text.trim()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(state: Option<&str>, enabled: Option<bool>) -> SysvRequest {
        SysvRequest {
            name: "cron".into(),
            state: state.map(str::to_string),
            enabled,
            ..SysvRequest::default()
        }
    }

    fn facts(running: bool, enabled: bool) -> SysvFacts {
        SysvFacts {
            control: "/etc/init.d/cron".into(),
            running,
            enabled,
            update_rc_d: true,
        }
    }

    #[test]
    fn the_answer_parses() {
        let output = format!("{MARK} control service\n{MARK} enabled\n{MARK} running\n");
        assert_eq!(
            SysvFacts::parse(&output),
            SysvFacts {
                control: "service".into(),
                running: true,
                enabled: true,
                update_rc_d: false,
            }
        );
        assert_eq!(SysvFacts::parse(&format!("{MARK} control \n")).control, "");
    }

    #[test]
    fn states_and_boot_links_decide_the_commands() {
        let d = request(Some("started"), Some(true))
            .decide(&facts(false, false))
            .expect("a decision");
        let verbs: Vec<&str> = d.steps.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(verbs, vec!["enable", "start"]);
        assert_eq!(d.steps[1].1, "/etc/init.d/cron start");
        let d = request(Some("started"), Some(true))
            .decide(&facts(true, true))
            .expect("a decision");
        assert!(d.steps.is_empty());
        let d = request(Some("stopped"), None)
            .decide(&facts(true, true))
            .expect("a decision");
        assert_eq!(
            d.steps,
            vec![("stop".to_string(), "/etc/init.d/cron stop".to_string())]
        );
        let mut restart = request(Some("restarted"), None);
        restart.sleep = Some(2);
        let d = restart.decide(&facts(true, true)).expect("a decision");
        assert_eq!(
            d.steps[0].1,
            "/etc/init.d/cron stop; sleep 2; /etc/init.d/cron start"
        );
    }

    #[test]
    fn missing_tools_fail_clearly() {
        let err = request(Some("started"), None)
            .decide(&SysvFacts::default())
            .expect_err("no script");
        assert!(
            err.starts_with("cannot find 'service' binary or init script"),
            "{err}"
        );
        let mut no_update = facts(true, false);
        no_update.update_rc_d = false;
        let err = request(None, Some(true))
            .decide(&no_update)
            .expect_err("no update-rc.d");
        assert_eq!(
            err,
            "cannot change whether cron starts at boot: update-rc.d not found"
        );
    }

    #[test]
    fn scripts_quote_and_report() {
        let mut r = request(None, None);
        r.pattern = Some("cron -f".into());
        let script = r.query_script();
        assert!(
            script.contains("P='cron -f' ME=$$ UP=$PPID awk"),
            "{script}"
        );
        let d = request(Some("started"), None)
            .decide(&facts(false, true))
            .expect("a decision");
        assert!(apply_script(&d).contains("/etc/init.d/cron start) 2>&1"));
        let output = format!("{MARK} failed start\nStarting cron: failed!\n");
        assert_eq!(
            apply_failure("cron", &output).as_deref(),
            Some("Unable to start service cron: Starting cron: failed!")
        );
    }
}
