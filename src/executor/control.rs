//! Actions on the run itself rather than on a target: `add_host` and `group_by` change
//! the inventory (as Ansible's strategy applies their results), `wait_for_connection`
//! reconnects until the host answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use super::{HostState, Runner};
use crate::connection::Command;
use crate::modules::{self, Outcome};
use crate::playbook::{ControlAction, Task};
use crate::template::Vars;

impl Runner {
    /// Runs one of the [`ControlAction`]s with its arguments rendered.
    pub(super) async fn run_control(
        &self,
        task: &Task,
        action: ControlAction,
        args: &IndexMap<String, Json>,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Outcome, String> {
        let args = self.render_args(task, args, false, vars)?;
        match action {
            ControlAction::AddHost => Ok(self.add_host(args).unwrap_or_else(modules::failed)),
            ControlAction::GroupBy => Ok(self
                .group_by(&host.name, args)
                .unwrap_or_else(modules::failed)),
            ControlAction::AsyncStatus => Ok(self.async_status(&args)),
            ControlAction::WaitForConnection => {
                self.wait_for_connection(task, args, host, vars, delegated)
                    .await
            }
            ControlAction::Reboot => self.reboot(task, args, host, vars, delegated).await,
        }
    }

    /// `add_host`: `name` (or `hostname`, `host`) added in `groups` (or `groupname`,
    /// `group`; a list or comma list), every other argument a host variable.
    fn add_host(&self, mut args: IndexMap<String, Json>) -> Result<Outcome, String> {
        let name = ["name", "hostname", "host"]
            .iter()
            .find_map(|key| args.get(*key))
            .map(text)
            .ok_or("name, host or hostname needs to be provided")?;
        let groups = match ["groupname", "groups", "group"]
            .iter()
            .find_map(|key| args.get(*key))
        {
            None => Vec::new(),
            Some(Json::Array(items)) => items.iter().map(text).collect(),
            Some(Json::String(list)) => list.split(',').map(|g| g.trim().to_string()).collect(),
            Some(_) => return Err("Groups must be specified as a list.".into()),
        };
        let mut groups_unique: Vec<String> = Vec::new();
        for group in groups.into_iter().filter(|g| !g.is_empty()) {
            if !groups_unique.contains(&group) {
                groups_unique.push(group);
            }
        }
        for special in ["name", "hostname", "groupname", "groups"] {
            args.shift_remove(special);
        }
        let mut host_vars: Map<String, Json> = args.into_iter().collect();
        // `host:port` names the host and its port, as Ansible's `parse_address`.
        let name = match crate::inventory::parse_address(&name, false) {
            Some((host, port)) => {
                if let Some(port) = port {
                    host_vars.insert("ansible_ssh_port".into(), Json::from(port));
                }
                host
            }
            None => name,
        };
        let changed = self.change_inventory(|inventory| {
            inventory.add_runtime_host(&name, &groups_unique, host_vars.clone())
        })?;
        let mut result = modules::ok(changed);
        result.insert(
            "add_host".into(),
            serde_json::json!({"host_name": name, "groups": groups_unique, "host_vars": host_vars}),
        );
        Ok(result)
    }

    /// `group_by`: the host put in the group `key`, a child of `parents` (`all`).
    fn group_by(&self, host: &str, args: IndexMap<String, Json>) -> Result<Outcome, String> {
        check_valid_args("group_by", &args, &["key", "parents"])?;
        let Some(key) = args.get("key") else {
            return Ok(modules::failed(
                "the 'key' param is required when using group_by",
            ));
        };
        let group = text(key).replace(' ', "-");
        let parents: Vec<String> = match args.get("parents") {
            None => vec!["all".into()],
            Some(Json::Array(items)) => items.iter().map(|p| text(p).replace(' ', "-")).collect(),
            Some(one) => vec![text(one).replace(' ', "-")],
        };
        let changed =
            self.change_inventory(|inventory| inventory.add_runtime_group(host, &group, &parents))?;
        let mut result = modules::ok(changed);
        result.insert("add_group".into(), Json::String(group));
        result.insert("parent_groups".into(), serde_json::json!(parents));
        Ok(result)
    }

    /// `async_status`: the state of job `jid`, or (`mode: cleanup`) the job forgotten.
    fn async_status(&self, args: &IndexMap<String, Json>) -> Outcome {
        if let Err(message) = check_valid_args("async_status", args, &["jid", "mode"]) {
            return modules::failed(message);
        }
        let Some(jid) = args.get("jid").map(text) else {
            return modules::failed("missing required arguments: jid");
        };
        match args.get("mode").map(text).as_deref() {
            None | Some("status") => self.jobs.status(&jid).unwrap_or_else(|| {
                let mut unknown = modules::failed("could not find job");
                unknown.extend(super::jobs::job_keys(&jid, true));
                unknown
            }),
            Some("cleanup") => {
                self.jobs.forget(&jid);
                let mut erased = modules::ok(false);
                erased.insert("ansible_job_id".into(), Json::String(jid.clone()));
                erased.insert(
                    "erased".into(),
                    Json::String(format!("~/.ansible_async/{jid}")),
                );
                erased
            }
            Some(other) => modules::failed(format!(
                "value of mode must be one of: status, cleanup, got: {other}"
            )),
        }
    }

    /// `wait_for_connection`: after `delay`, connects and runs a command every
    /// `sleep` seconds (each attempt within `connect_timeout`) until the host answers
    /// or `timeout` passes; a broken connection is dropped and made again.
    async fn wait_for_connection(
        &self,
        task: &Task,
        args: IndexMap<String, Json>,
        host: &mut HostState,
        vars: &Arc<Vars>,
        delegated: Option<&str>,
    ) -> Result<Outcome, String> {
        const VALID: &[&str] = &["connect_timeout", "delay", "sleep", "timeout"];
        if let Err(message) = check_valid_args("wait_for_connection", &args, VALID) {
            return Ok(modules::failed(message));
        }
        let seconds = |key: &str, default: u64| -> Result<u64, String> {
            match args.get(key) {
                None => Ok(default),
                Some(value) => seconds_of(value)
                    .ok_or_else(|| format!("{key} must be a number of seconds, not {value}")),
            }
        };
        let connect_timeout = Duration::from_secs(seconds("connect_timeout", 5)?);
        let delay = Duration::from_secs(seconds("delay", 0)?);
        let sleep = Duration::from_secs(seconds("sleep", 1)?);
        let timeout = Duration::from_secs(seconds("timeout", 600)?);
        if self.check_mode(task, vars)? {
            let mut result = modules::ok(false);
            result.insert("skipped".into(), Json::Bool(true));
            return Ok(result);
        }
        let start = Instant::now();
        tokio::time::sleep(delay).await;
        let deadline = Instant::now() + timeout;
        let mut result = loop {
            let attempt = tokio::time::timeout(connect_timeout, async {
                let conn = self.connection_for(task, host, vars, delegated).await?;
                let answer = conn
                    .exec(&Command::new("echo pong"))
                    .await
                    .map_err(|err| err.to_string())?;
                match answer.stdout_text().trim() {
                    "pong" => Ok(()),
                    _ => Err("ping test failed".to_string()),
                }
            })
            .await
            .unwrap_or_else(|_| Err("timed out".into()));
            let error = match attempt {
                Ok(()) => break modules::ok(false),
                Err(error) => error,
            };
            self.abandon_connection(host).await;
            if Instant::now() + sleep >= deadline {
                break modules::failed(format!("timed out waiting for ping module test: {error}"));
            }
            tokio::time::sleep(sleep).await;
        };
        result.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
        Ok(result)
    }
}

/// Refuses arguments an action does not take, in Ansible's words.
fn check_valid_args(
    action: &str,
    args: &IndexMap<String, Json>,
    valid: &[&str],
) -> Result<(), String> {
    let mut invalid: Vec<&str> = args
        .keys()
        .map(String::as_str)
        .filter(|key| !valid.contains(key))
        .collect();
    if invalid.is_empty() {
        return Ok(());
    }
    invalid.sort_unstable();
    Err(format!(
        "Invalid options for {action}: {}",
        invalid.join(",")
    ))
}

/// A value as text: strings as they are, anything else as JSON.
fn text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Whole seconds from a number or a numeric string.
fn seconds_of(value: &Json) -> Option<u64> {
    match value {
        Json::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_options_are_named_as_ansible_names_them() {
        let mut args = IndexMap::new();
        args.insert("foo".to_string(), Json::from("bar"));
        assert_eq!(
            check_valid_args("wait_for_connection", &args, &["timeout"]),
            Err("Invalid options for wait_for_connection: foo".to_string())
        );
        args.shift_remove("foo");
        assert_eq!(check_valid_args("group_by", &args, &["key"]), Ok(()));
    }

    #[test]
    fn seconds_come_from_numbers_and_numeric_strings() {
        assert_eq!(seconds_of(&Json::from(3)), Some(3));
        assert_eq!(seconds_of(&Json::from("10")), Some(10));
        assert_eq!(seconds_of(&Json::from("soon")), None);
    }
}
