//! `hostname`: the host's name, now and after a reboot. With systemd running,
//! through `hostnamectl`; otherwise `/etc/hostname` plus the `hostname` command.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::fileops::{self, FileStat};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Sets the hostname.
pub struct Hostname;

arg_enum! {
    /// The strategies Ansible's module knows (`use:`).
    pub enum Use {
        Alpine = "alpine",
        Debian = "debian",
        Freebsd = "freebsd",
        Generic = "generic",
        Macos = "macos",
        Macosx = "macosx",
        Darwin = "darwin",
        Openbsd = "openbsd",
        Openrc = "openrc",
        Redhat = "redhat",
        Sles = "sles",
        Solaris = "solaris",
        Systemd = "systemd",
    }
}

module_args! {
    /// `hostname`'s arguments.
    pub struct HostnameArgs {
        /// The wanted name.
        name: String => .required(),
        /// The strategy; detected when not given.
        r#use: Option<Use>,
    }
}

/// How the name is read and written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// `hostnamectl` (static and transient names).
    Systemd,
    /// `/etc/hostname` and the `hostname` command.
    File,
    /// The `hostname` command only: the name is not kept across reboots.
    Generic,
}

/// The strategy a `use:` value names; `None` for those bosun does not implement.
fn strategy_named(name: Use) -> Option<Strategy> {
    match name {
        Use::Systemd => Some(Strategy::Systemd),
        Use::Debian | Use::Alpine | Use::Openrc => Some(Strategy::File),
        Use::Generic => Some(Strategy::Generic),
        _ => None,
    }
}

/// Prints the detected strategy, the current (transient) name, the static name
/// `hostnamectl` knows and the first line of `/etc/hostname`, a line each; the state
/// of `/etc/hostname` follows.
const QUERY: &str = "if [ -d /run/systemd/system ] && command -v hostnamectl >/dev/null 2>&1; \
     then echo systemd; hostname; hostnamectl --static 2>/dev/null || echo; \
     else echo file; hostname; echo; fi; head -n1 /etc/hostname 2>/dev/null || echo";

/// The names the host has now.
#[derive(Debug, Default)]
pub struct Names {
    /// Whether systemd runs with `hostnamectl` at hand.
    systemd: bool,
    /// The running (transient) name.
    current: String,
    /// The static name `hostnamectl` knows.
    static_name: String,
    /// The first line of `/etc/hostname`.
    file: String,
    /// The state of `/etc/hostname`, kept when it is rewritten.
    file_stat: Option<FileStat>,
}

/// How to set the name, and whether `/etc/hostname` is rewritten first.
#[derive(Debug)]
pub struct Rename {
    strategy: Strategy,
    /// `/etc/hostname` is rewritten; its state before, when it exists.
    write_file: Option<Option<FileStat>>,
}

#[async_trait]
impl StateModule for Hostname {
    const NAME: &'static str = "hostname";
    type Args = HostnameArgs;
    type State = Names;
    type Plan = Rename;

    async fn query(&self, on: &Target<'_>, _args: &HostnameArgs) -> Result<Names, ModuleError> {
        let script = format!(
            "{QUERY}; {}",
            fileops::stat_script("/etc/hostname", true, false)
        );
        let out = on.conn.exec(&Command::new(script)).await?;
        let text = out.stdout_text();
        let lines: Vec<&str> = text.lines().map(str::trim).collect();
        let line = |i: usize| lines.get(i).copied().unwrap_or_default().to_string();
        Ok(Names {
            systemd: line(0) == "systemd",
            current: line(1),
            static_name: line(2),
            file: line(3),
            file_stat: fileops::parse_stat(&text),
        })
    }

    fn decide(&self, args: &HostnameArgs, names: Names) -> Result<Decision<Rename>, String> {
        let name = args.name.trim().to_string();
        let strategy = match args.r#use {
            Some(named) => strategy_named(named).ok_or_else(|| {
                format!(
                    "hostname strategy '{}' is not supported by bosun; use systemd, debian or generic",
                    named.as_str()
                )
            })?,
            None if names.systemd => Strategy::Systemd,
            None => Strategy::File,
        };
        let permanent = match strategy {
            Strategy::Systemd => names.static_name.as_str(),
            Strategy::File => names.file.as_str(),
            Strategy::Generic => name.as_str(),
        };
        let changed = names.current != name || permanent != name;
        let rename = Rename {
            strategy,
            write_file: (strategy == Strategy::File && permanent != name)
                .then_some(names.file_stat),
        };
        let decision = Decision::maybe(changed.then_some(rename))
            .with("name", name.as_str())
            .with("ansible_facts", Json::Object(facts(&name)));
        Ok(match changed {
            true => decision.with_diff(json!({
                "before": format!("hostname = {}\n", names.current),
                "after": format!("hostname = {name}\n"),
            })),
            false => decision,
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &HostnameArgs,
        rename: Rename,
    ) -> Result<Outcome, ModuleError> {
        let name = args.name.trim();
        let n = quote(name);
        if let Some(current_file) = &rename.write_file {
            fileops::write_atomic(
                on,
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
        let script = match rename.strategy {
            Strategy::Systemd => format!(
                "hostnamectl --static set-hostname {n} && hostnamectl --transient set-hostname {n}"
            ),
            Strategy::File | Strategy::Generic => format!("hostname {n}"),
        };
        let done = on.conn.exec(&Command::new(script)).await?;
        if done.rc != 0 {
            return Err(ModuleError::Failed(format!(
                "Failed to set hostname to {name}: {}",
                done.stderr_text().trim()
            )));
        }
        Ok(Outcome::new())
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
        assert_eq!(strategy_named(Use::Systemd), Some(Strategy::Systemd));
        assert_eq!(strategy_named(Use::Debian), Some(Strategy::File));
        assert_eq!(strategy_named(Use::Solaris), None);
    }

    fn decide(args: Json, names: Names) -> Result<Decision<Rename>, String> {
        let args = crate::modules::typed::from_json(args).expect("valid arguments");
        Hostname.decide(&args, names)
    }

    fn names(systemd: bool, current: &str, static_name: &str, file: &str) -> Names {
        Names {
            systemd,
            current: current.into(),
            static_name: static_name.into(),
            file: file.into(),
            file_stat: None,
        }
    }

    #[test]
    fn decide_renames_only_when_a_name_differs() {
        let same = decide(json!({"name": "web1"}), names(true, "web1", "web1", "x"));
        let same = same.expect("decides");
        assert!(same.plan.is_none() && same.diff.is_none());
        assert_eq!(same.result["name"], json!("web1"));
        let systemd = decide(json!({"name": " web2 "}), names(true, "web1", "web1", ""));
        let rename = systemd.expect("decides").plan.expect("a rename");
        assert_eq!(rename.strategy, Strategy::Systemd);
        assert!(rename.write_file.is_none());
        let file = decide(json!({"name": "web1"}), names(false, "web1", "", "old"));
        let rename = file.expect("decides").plan.expect("a rename");
        assert_eq!(rename.strategy, Strategy::File);
        assert!(rename.write_file.is_some());
        let generic = decide(
            json!({"name": "web1", "use": "generic"}),
            names(false, "web1", "", "old"),
        );
        assert!(generic.expect("decides").plan.is_none());
    }

    #[test]
    fn unimplemented_strategies_fail() {
        let err = decide(json!({"name": "a", "use": "redhat"}), Names::default());
        assert_eq!(
            err.err().as_deref(),
            Some(
                "hostname strategy 'redhat' is not supported by bosun; use systemd, debian or generic"
            )
        );
    }
}
