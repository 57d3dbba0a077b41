//! `hostname`: the host's name, now and after a reboot. With systemd running,
//! through `hostnamectl`; otherwise `/etc/hostname` plus the `hostname` command.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param, fileops};
use crate::connection::{Command, quote};

/// Sets the hostname.
pub struct Hostname;

/// How the name is read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Strategy {
    /// `hostnamectl` (static and transient names).
    Systemd,
    /// `/etc/hostname` and the `hostname` command.
    File,
    /// The `hostname` command only: the name is not kept across reboots.
    Generic,
}

/// The strategy a `use:` value names; `None` for those bosun does not implement.
fn strategy_named(name: &str) -> Option<Strategy> {
    match name {
        "systemd" => Some(Strategy::Systemd),
        "debian" | "alpine" | "openrc" => Some(Strategy::File),
        "generic" => Some(Strategy::Generic),
        _ => None,
    }
}

/// Prints the detected strategy, the current (transient) name, the static name
/// `hostnamectl` knows and the first line of `/etc/hostname`, a line each.
const QUERY: &str = "if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; \
     then echo systemd; hostname; hostnamectl --static 2>/dev/null || echo; \
     else echo file; hostname; echo; fi; head -n1 /etc/hostname 2>/dev/null || echo";

#[async_trait]
impl Module for Hostname {
    fn name(&self) -> &'static str {
        "hostname"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str).required(),
            Param::new("use", Kind::Str).choices(&[
                "alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd",
                "openrc", "redhat", "sles", "solaris", "systemd",
            ]),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let name = args.str("name").unwrap_or_default().trim().to_string();
        let out = ctx.conn.exec(&Command::new(QUERY)).await?;
        let text = out.stdout_text();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let line = |i: usize| lines.get(i).copied().unwrap_or_default().to_string();
        let current = line(1);
        let strategy = match args.str("use") {
            Some(named) => match strategy_named(named) {
                Some(strategy) => strategy,
                None => {
                    return Ok(super::failed(format!(
                        "hostname strategy '{named}' is not supported by bosun; use systemd, debian or generic"
                    )));
                }
            },
            None if line(0) == "systemd" => Strategy::Systemd,
            None => Strategy::File,
        };
        let permanent = match strategy {
            Strategy::Systemd => line(2),
            Strategy::File => line(3),
            Strategy::Generic => name.clone(),
        };
        let changed = current != name || permanent != name;
        let mut outcome = super::ok(changed);
        outcome.insert("name".into(), json!(name));
        outcome.insert("ansible_facts".into(), Json::Object(facts(&name)));
        if changed {
            outcome.insert(
                "diff".into(),
                json!({
                    "before": format!("hostname = {current}\n"),
                    "after": format!("hostname = {name}\n"),
                }),
            );
        }
        if !changed || ctx.check_mode {
            return Ok(outcome);
        }
        let n = quote(&name);
        let script = match strategy {
            Strategy::Systemd => format!(
                "hostnamectl --static set-hostname {n} && hostnamectl --transient set-hostname {n}"
            ),
            Strategy::File | Strategy::Generic => format!("hostname {n}"),
        };
        if strategy == Strategy::File && permanent != name {
            let current_file = fileops::stat(ctx, "/etc/hostname", true, false).await?;
            fileops::write_atomic(
                ctx,
                "/etc/hostname",
                format!("{name}\n").as_bytes(),
                current_file.as_ref(),
                &fileops::Attributes::default(),
                None,
                false,
            )
            .await
            .map_err(|err| ModuleError::Failed(err.to_string()))?;
        }
        let done = ctx.conn.exec(&Command::new(script)).await?;
        if done.rc != 0 {
            return Ok(super::failed(format!(
                "Failed to set hostname to {name}: {}",
                done.stderr_text().trim()
            )));
        }
        Ok(outcome)
    }
}

/// The facts Ansible's module returns for the new name.
fn facts(name: &str) -> Map<String, Json> {
    let (short, domain) = name.split_once('.').unwrap_or((name, ""));
    let mut facts = Map::new();
    facts.insert("ansible_hostname".into(), json!(short));
    facts.insert("ansible_nodename".into(), json!(name));
    facts.insert("ansible_fqdn".into(), json!(name));
    facts.insert("ansible_domain".into(), json!(domain));
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_split_the_domain() {
        let facts = facts("web1.example.org");
        assert_eq!(facts["ansible_hostname"], json!("web1"));
        assert_eq!(facts["ansible_domain"], json!("example.org"));
        assert_eq!(super::facts("solo")["ansible_domain"], json!(""));
    }

    #[test]
    fn strategies_by_name() {
        assert_eq!(strategy_named("systemd"), Some(Strategy::Systemd));
        assert_eq!(strategy_named("debian"), Some(Strategy::File));
        assert_eq!(strategy_named("solaris"), None);
    }
}
