//! `capabilities` (community.general): one file capability set or removed with
//! libcap's `getcap -v` and `setcap`, compared as Ansible's module compares them
//! (operator and flags included, so `+ep` never equals what `getcap` prints, `=ep`).

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// `capabilities`: manages Linux capabilities of files.
pub struct Capabilities;

arg_enum! {
    /// Whether the capability should be set.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `capabilities`' arguments.
    pub struct CapabilitiesArgs {
        /// The file.
        path: String => .required().aliases(&["key"]),
        /// The capability, with operator and flags when present (`cap_net_raw+ep`).
        capability: String => .required().aliases(&["cap"]),
        state: State => .default_str("present"),
    }
}

/// The operators, in the order Ansible's module looks for them.
const OPS: [char; 3] = ['=', '-', '+'];

/// A capability: name, operator and flags (the last two absent for a bare name).
type Cap = (String, Option<char>, String);

/// What the query found.
#[derive(Debug, Default)]
pub struct Found {
    getcap: Option<String>,
    setcap: Option<String>,
    rc: i32,
    stdout: String,
    stderr: String,
}

/// The `setcap` call: the whole new set, and the tool's path.
#[derive(Debug, PartialEq)]
pub struct Plan {
    setcap: String,
    caps: String,
}

/// Ansible's `_parse_cap`: the first operator found in the order `=`, `-`, `+`.
fn parse_cap(cap: &str, op_required: bool) -> Result<Cap, String> {
    let Some((at, op)) = OPS.iter().find_map(|op| cap.find(*op).map(|at| (at, *op))) else {
        return match op_required {
            true => Err("Couldn't find operator (one of: ('=', '-', '+'))".into()),
            false => Ok((cap.to_string(), None, String::new())),
        };
    };
    let flags = &cap[at + op.len_utf8()..];
    if flags.contains(op) {
        return Err(format!(
            "ValueError: too many values to unpack (expected 2) in capability '{cap}'"
        ));
    }
    Ok((cap[..at].to_string(), Some(op), flags.to_string()))
}

/// The capability as `setcap` reads it.
fn text(cap: &Cap) -> String {
    let op = cap.1.map(String::from).unwrap_or_default();
    format!("{}{op}{}", cap.0, cap.2)
}

/// Ansible's `getcap`: the capabilities `getcap -v` lists, each group split.
fn current(found: &Found, path: &str) -> Result<Vec<Cap>, String> {
    let unable = || format!("Unable to get capabilities of {path}");
    let stdout = found.stdout.trim();
    if found.rc != 0 || !found.stderr.is_empty() {
        return Err(unable());
    }
    if stdout == path {
        return Ok(Vec::new());
    }
    let words: Vec<String> = if found.stdout.contains(" =") {
        let after = found.stdout.split(" =").nth(1).unwrap_or_default();
        after.split_whitespace().map(str::to_string).collect()
    } else if stdout.ends_with(')') {
        return Err(unable());
    } else {
        found
            .stdout
            .split_whitespace()
            .nth(1)
            .into_iter()
            .map(str::to_string)
            .collect()
    };
    let mut caps = Vec::new();
    for word in words {
        let word = word.to_lowercase();
        match word.rsplit_once(',') {
            Some(_) => {
                let mut group: Vec<&str> = word.split(',').collect();
                let last = group.pop().unwrap_or_default();
                let (name, op, flags) = parse_cap(last, true)?;
                group.push(&name);
                caps.extend(group.iter().map(|n| (n.to_string(), op, flags.clone())));
            }
            None => caps.push(parse_cap(&word, true)?),
        }
    }
    Ok(caps)
}

#[async_trait]
impl StateModule for Capabilities {
    const NAME: &'static str = "capabilities";
    type Args = CapabilitiesArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &CapabilitiesArgs) -> Result<Found, ModuleError> {
        let script = format!(
            "g=$(command -v getcap) || exit 0; printf 'getcap %s\\n' \"$g\"; \
             s=$(command -v setcap) && printf 'setcap %s\\n' \"$s\"; \
             {{ e=$( {{ \"$g\" -v {}; printf '\\001rc %s\\n' $?; }} 2>&1 1>&3 ); }} 3>&1; printf '%s' \"$e\"",
            quote(args.path.trim())
        );
        let out = on.conn.exec(&Command::new(script)).await?.stdout_text();
        let mut found = Found::default();
        let (head, tail) = out.split_once('\u{1}').unwrap_or((&out, ""));
        let mut stdout = String::new();
        for line in head.split_inclusive('\n') {
            if found.getcap.is_none() {
                found.getcap = line.trim_end().strip_prefix("getcap ").map(str::to_string);
            } else if let (None, Some(path)) =
                (&found.setcap, line.trim_end().strip_prefix("setcap "))
            {
                found.setcap = Some(path.to_string());
            } else {
                stdout.push_str(line);
            }
        }
        found.stdout = stdout;
        if let Some(rest) = tail.strip_prefix("rc ") {
            let (rc, stderr) = rest.split_once('\n').unwrap_or((rest, ""));
            found.rc = rc.trim().parse().unwrap_or(-1);
            found.stderr = stderr.to_string();
        }
        // A file getcap cannot read fails here, with getcap's output as Ansible has it.
        if found.getcap.is_some()
            && let Err(msg) = current(&found, args.path.trim())
        {
            let mut failed = super::failed(msg);
            super::run::with_output(&mut failed, found.stdout.trim(), &found.stderr);
            return Err(ModuleError::FailedWith(failed));
        }
        Ok(found)
    }

    fn decide(&self, args: &CapabilitiesArgs, found: Found) -> Result<Decision<Plan>, String> {
        let missing = |tool: &str| {
            format!(
                "Failed to find required executable \"{tool}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            )
        };
        found.getcap.as_ref().ok_or_else(|| missing("getcap"))?;
        let setcap = found.setcap.clone().ok_or_else(|| missing("setcap"))?;
        let path = args.path.trim();
        let wanted = parse_cap(
            &args.capability.trim().to_lowercase(),
            args.state == State::Present,
        )?;
        let mut caps = current(&found, path)?;
        let change = match args.state {
            State::Present if !caps.contains(&wanted) => {
                caps.retain(|c| c.0 != wanted.0);
                caps.push(wanted);
                true
            }
            State::Absent if caps.iter().any(|c| c.0 == wanted.0) => {
                caps.retain(|c| c.0 != wanted.0);
                true
            }
            _ => false,
        };
        if !change {
            return Ok(Decision::unchanged().with("state", args.state.as_str()));
        }
        let caps = caps.iter().map(text).collect::<Vec<_>>().join(" ");
        Ok(Decision::change(Plan { setcap, caps }).with("msg", "capabilities changed"))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &CapabilitiesArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let path = args.path.trim();
        let line = format!(
            "{} {} {}",
            quote(&plan.setcap),
            quote(&plan.caps),
            quote(path)
        );
        let out = on.conn.exec(&Command::new(line)).await?;
        if out.rc != 0 {
            let mut failed = super::failed(format!("Unable to set capabilities of {path}"));
            super::run::with_output(&mut failed, &out.stdout_text(), &out.stderr_text());
            return Err(ModuleError::FailedWith(failed));
        }
        let mut outcome = Outcome::new();
        outcome.insert("state".into(), json!(args.state.as_str()));
        outcome.insert("stdout".into(), json!(out.stdout_text()));
        outcome.insert(
            "stdout_lines".into(),
            super::command::lines(&out.stdout_text()),
        );
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn found(stdout: &str) -> Found {
        Found {
            getcap: Some("/usr/sbin/getcap".into()),
            setcap: Some("/usr/sbin/setcap".into()),
            rc: 0,
            stdout: stdout.into(),
            stderr: String::new(),
        }
    }

    fn decide(args: Json, stdout: &str) -> Result<Decision<Plan>, String> {
        let args: CapabilitiesArgs = crate::modules::typed::from_json(args)?;
        Capabilities.decide(&args, found(stdout))
    }

    #[test]
    fn getcap_output_is_read_in_both_libcap_forms() {
        let caps = current(&found("/x cap_net_admin,cap_net_raw=ep\n"), "/x").expect("caps");
        assert_eq!(
            caps,
            [
                ("cap_net_admin".to_string(), Some('='), "ep".to_string()),
                ("cap_net_raw".into(), Some('='), "ep".into())
            ]
        );
        assert_eq!(current(&found("/x =\n"), "/x").expect("none"), []);
        assert_eq!(current(&found("/x\n"), "/x").expect("none"), []);
        let mut missing = found("");
        missing.stderr = "/x (No such file or directory)\n".into();
        assert_eq!(
            current(&missing, "/x").err().as_deref(),
            Some("Unable to get capabilities of /x")
        );
    }

    #[test]
    fn a_capability_is_added_replaced_or_kept() {
        let plan = decide(json!({"path": "/x", "cap": "CAP_NET_RAW=ep"}), "/x\n")
            .expect("a decision")
            .plan;
        assert_eq!(plan.map(|p| p.caps).as_deref(), Some("cap_net_raw=ep"));
        assert!(
            decide(
                json!({"path": "/x", "cap": "cap_net_raw=ep"}),
                "/x cap_net_raw=ep\n"
            )
            .expect("a decision")
            .plan
            .is_none()
        );
        let plan = decide(
            json!({"path": "/x", "cap": "cap_net_raw+ep"}),
            "/x cap_net_admin,cap_net_raw=ep\n",
        )
        .expect("a decision")
        .plan;
        assert_eq!(
            plan.map(|p| p.caps).as_deref(),
            Some("cap_net_admin=ep cap_net_raw+ep"),
            "Ansible never finds +ep in getcap's =ep"
        );
    }

    #[test]
    fn absent_removes_by_name_and_present_needs_an_operator() {
        let decision = decide(
            json!({"path": "/x", "cap": "cap_net_raw", "state": "absent"}),
            "/x cap_net_raw=ep\n",
        )
        .expect("a decision");
        assert_eq!(decision.plan.map(|p| p.caps).as_deref(), Some(""));
        let decision = decide(
            json!({"path": "/x", "cap": "cap_sys_admin", "state": "absent"}),
            "/x cap_net_raw=ep\n",
        )
        .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["state"], "absent");
        assert_eq!(
            decide(json!({"path": "/x", "cap": "cap_net_raw"}), "/x\n")
                .err()
                .as_deref(),
            Some("Couldn't find operator (one of: ('=', '-', '+'))")
        );
    }
}
