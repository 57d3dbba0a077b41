//! `service_facts`: the target's services as `ansible_facts.services`, read as
//! Ansible's module reads them on Debian (`service --status-all` for init scripts,
//! then `systemctl list-units` and `list-unit-files`), in one round trip.
//!
//! It only reads, so it has nothing to decide or apply: it implements [`Module`]
//! directly, like `setup`.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

module_args! {
    /// `service_facts` takes no arguments.
    pub struct ServiceFactsArgs {}
}

/// Reads every service's state in one shell run; the units that `list-units` does
/// not show get their `ActiveState` in the same run, as Ansible asks for them.
const SCRIPT: &str = r#"export LANG=C LC_ALL=C
if command -v service >/dev/null 2>&1 && ! command -v chkconfig >/dev/null 2>&1 && ! command -v rc-status >/dev/null 2>&1; then
  echo '@@sysv'; service --status-all 2>/dev/null
fi
s=$(command -v systemctl 2>/dev/null || { [ -x /usr/bin/systemctl ] && echo /usr/bin/systemctl; })
if [ -n "$s" ] && { [ -e /run/systemd/system/ ] || [ -e /dev/.run/systemd/ ] || [ -e /dev/.systemd/ ]; }; then
  echo '@@units'; units=$("$s" list-units --no-pager --type service --all --plain 2>/dev/null); printf '%s\n' "$units"
  echo '@@files'; "$s" list-unit-files --no-pager --type service --all 2>/dev/null | while read -r name status rest; do
    case $name in *.service*) ;; *) continue;; esac
    if printf '%s\n' "$units" | awk -v n="$name" '$1 == n { found = 1 } END { exit !found }'; then
      echo "$name $status"
    else
      echo "$name $status $("$s" show "$name" --property=ActiveState 2>/dev/null | sed 's/^ActiveState=//')"
    fi
  done
fi
"#;

/// Gathers service facts.
pub struct ServiceFacts;

#[async_trait]
impl Module for ServiceFacts {
    fn name(&self) -> &'static str {
        "service_facts"
    }

    fn params(&self) -> &'static [Param] {
        ServiceFactsArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        ServiceFactsArgs::from_args(args).map_err(ModuleError::Failed)?;
        let command = Command::new(SCRIPT);
        let out = ctx.conn.exec(&command).await?;
        let services = parse(&out.stdout_text());
        let mut outcome = super::ok(false);
        if services.is_empty() {
            outcome.insert("skipped".into(), Json::Bool(true));
            outcome.insert(
                "msg".into(),
                json!("Failed to find any services. This can be due to privileges or some other configuration issue."),
            );
            return Ok(outcome);
        }
        outcome.insert(
            "ansible_facts".into(),
            json!({ "services": Json::Object(services) }),
        );
        Ok(outcome)
    }
}

/// The services in the script's output, as Ansible's module builds them.
fn parse(stdout: &str) -> Map<String, Json> {
    const BAD_STATES: [&str; 3] = ["not-found", "masked", "failed"];
    let mut services = Map::new();
    let mut section = "";
    for line in stdout.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            section = match name {
                "sysv" => "sysv",
                "units" => "units",
                "files" => "files",
                _ => "",
            };
            continue;
        }
        match section {
            "sysv" => {
                let trimmed = line.trim_start();
                let Some(rest) = trimmed.strip_prefix("[ ") else {
                    continue;
                };
                let (state, name) = match (rest.get(..1), rest.get(1..)) {
                    (Some(s @ ("+" | "-")), Some(tail)) => (s, tail),
                    _ => continue,
                };
                let Some(name) = name.strip_prefix(" ]") else {
                    continue;
                };
                if !name.starts_with(char::is_whitespace) || name.trim().is_empty() {
                    continue;
                }
                let name = name.trim_start();
                let state = if state == "+" { "running" } else { "stopped" };
                services.insert(
                    name.to_string(),
                    json!({"name": name, "state": state, "source": "sysv"}),
                );
            }
            "units" if line.contains(".service") => {
                let fields: Vec<&str> = line.split_whitespace().collect();
                if fields.len() < 4 {
                    continue;
                }
                let head = &fields[..fields.len() - 1];
                let status = BAD_STATES
                    .iter()
                    .find(|bad| head.contains(bad))
                    .copied()
                    .unwrap_or(fields[2]);
                let state = if fields[3] == "running" {
                    "running"
                } else {
                    "stopped"
                };
                services.insert(
                    fields[0].to_string(),
                    json!({"name": fields[0], "state": state, "status": status, "source": "systemd"}),
                );
            }
            "files" => {
                let fields: Vec<&str> = line.split_whitespace().collect();
                let [name, status, ref rest @ ..] = fields[..] else {
                    continue;
                };
                match services.get_mut(name) {
                    None => {
                        let state = rest.first().copied().unwrap_or("unknown");
                        services.insert(
                            name.to_string(),
                            json!({"name": name, "state": state, "status": status, "source": "systemd"}),
                        );
                    }
                    Some(Json::Object(service)) => {
                        let bad = service
                            .get("status")
                            .and_then(Json::as_str)
                            .is_some_and(|s| BAD_STATES.contains(&s));
                        if !bad {
                            service.insert("status".into(), json!(status));
                        }
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }
    services
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_read_as_ansible_reads_them() {
        let out = "@@sysv\n [ + ]  cron\n [ - ]  hwclock.sh\n\
@@units\ncron.service loaded active running Regular background program processing daemon\n\
nothere.service not-found inactive dead nothere.service\n\
ssh.service loaded active running OpenBSD Secure Shell server\n\
@@files\ncron.service enabled\nssh.service enabled\nnothere.service disabled\n\
rescue.service static inactive\n";
        let services = parse(out);
        assert_eq!(
            services["cron"],
            json!({"name": "cron", "state": "running", "source": "sysv"})
        );
        assert_eq!(services["hwclock.sh"]["state"], "stopped");
        assert_eq!(
            services["cron.service"],
            json!({"name": "cron.service", "state": "running", "status": "enabled", "source": "systemd"})
        );
        assert_eq!(services["nothere.service"]["status"], "not-found");
        assert_eq!(services["nothere.service"]["state"], "stopped");
        assert_eq!(
            services["rescue.service"],
            json!({"name": "rescue.service", "state": "inactive", "status": "static", "source": "systemd"})
        );
    }
}
