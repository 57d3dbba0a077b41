//! `firewalld` (ansible.posix): accepted with all of Ansible's arguments, so playbooks
//! that use it load and are checked, and refused when it runs on a target without
//! firewalld, naming the missing `firewall-cmd` and what the task asked for.
//!
//! It stays a plain [`Module`]: bosun does not drive firewalld (Ansible's module talks
//! to the daemon through its Python bindings); the module has no state to query, it
//! only looks for `firewall-cmd` and says why it cannot go on.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{Rules, TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

/// Refuses firewalld tasks with a clear message.
pub struct Firewalld;

arg_enum! {
    /// Whether the setting should be on.
    pub enum State {
        Absent = "absent",
        Disabled = "disabled",
        Enabled = "enabled",
        Present = "present",
    }
}

arg_enum! {
    /// A zone's target.
    pub enum Target {
        Default = "default",
        Accept = "ACCEPT",
        Drop = "DROP",
        Reject = "%%REJECT%%",
    }
}

module_args! {
    /// `firewalld`'s arguments.
    pub struct FirewalldArgs {
        /// An ICMP type to block.
        icmp_block: Option<String>,
        /// Whether ICMP blocks are inverted.
        icmp_block_inversion: Option<bool>,
        /// A service.
        service: Option<String>,
        /// A protocol.
        protocol: Option<String>,
        /// A port or range (`8080/tcp`).
        port: Option<String>,
        /// Port forwards (`port`, `proto`, `toport`, `toaddr`).
        port_forward: Option<Vec<Json>>,
        /// A rich rule.
        rich_rule: Option<String>,
        /// The zone.
        zone: Option<String>,
        /// Whether a permanent change is applied now too.
        immediate: bool => .default_bool(false),
        /// A source address or network.
        source: Option<String>,
        /// Whether the change outlives a reload.
        permanent: bool => .default_bool(false),
        state: State => .required(),
        /// Seconds a non-permanent change lasts.
        timeout: i64 => .default_int(0),
        /// An interface.
        interface: Option<String>,
        /// Whether forwarding is on for the zone.
        forward: Option<bool>,
        /// Whether masquerading is on for the zone.
        masquerade: Option<bool>,
        /// Whether to work with firewalld not running.
        offline: bool => .default_bool(false),
        target: Option<Target>,
    }
    rules: Rules {
        mutually_exclusive: &[&[
            "icmp_block", "icmp_block_inversion", "service", "protocol", "port",
            "port_forward", "rich_rule", "interface", "forward", "masquerade", "source",
            "target",
        ]],
        ..Rules::NONE
    };
}

impl FirewalldArgs {
    /// Ansible's `required_by` checks.
    fn check(&self) -> Result<(), String> {
        let given = [
            (
                "interface",
                self.interface.is_some(),
                "zone",
                self.zone.is_some(),
            ),
            ("target", self.target.is_some(), "zone", self.zone.is_some()),
            ("source", self.source.is_some(), "permanent", true),
        ];
        for (name, is_given, needed, has) in given {
            if is_given && !has {
                return Err(format!(
                    "missing parameter(s) required by '{name}': {needed}"
                ));
            }
        }
        Ok(())
    }

    /// What the task asks for, in words (`service http enabled in zone public,
    /// permanent`).
    fn asked(&self) -> String {
        let bool_word = |b: bool| if b { "on" } else { "off" };
        let item = [
            self.icmp_block.as_ref().map(|v| format!("icmp block {v}")),
            self.icmp_block_inversion
                .map(|v| format!("icmp block inversion {}", bool_word(v))),
            self.service.as_ref().map(|v| format!("service {v}")),
            self.protocol.as_ref().map(|v| format!("protocol {v}")),
            self.port.as_ref().map(|v| format!("port {v}")),
            self.port_forward
                .as_ref()
                .map(|v| format!("{} port forward(s)", v.len())),
            self.rich_rule.as_ref().map(|v| format!("rich rule {v}")),
            self.interface.as_ref().map(|v| format!("interface {v}")),
            self.forward.map(|v| format!("forwarding {}", bool_word(v))),
            self.masquerade
                .map(|v| format!("masquerading {}", bool_word(v))),
            self.source.as_ref().map(|v| format!("source {v}")),
            self.target.map(|v| format!("target {}", v.as_str())),
        ]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_else(|| "the zone".to_string());
        let mut words = format!("{item} {}", self.state.as_str());
        if let Some(zone) = &self.zone {
            words.push_str(&format!(" in zone {zone}"));
        }
        let when = [
            (self.permanent, "permanent".to_string()),
            (self.immediate, "immediate".to_string()),
            (self.offline, "offline".to_string()),
            (self.timeout > 0, format!("for {}s", self.timeout)),
        ];
        for (_, word) in when.iter().filter(|(on, _)| *on) {
            words.push_str(&format!(", {word}"));
        }
        words
    }
}

#[async_trait]
impl Module for Firewalld {
    fn name(&self) -> &'static str {
        "firewalld"
    }

    fn params(&self) -> &'static [Param] {
        FirewalldArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = FirewalldArgs::from_args(args).map_err(ModuleError::Failed)?;
        args.check().map_err(ModuleError::Failed)?;
        let found = ctx
            .conn
            .exec(&Command::new("command -v firewall-cmd"))
            .await?;
        let msg = match found.rc {
            0 => format!(
                "firewalld is installed ({}), but bosun does not manage it: cannot make {}",
                found.stdout_text().trim(),
                args.asked()
            ),
            _ => format!(
                "firewalld is not installed on this host: firewall-cmd was not found, so {} cannot be set; install the firewalld package first, or use ufw or iptables",
                args.asked()
            ),
        };
        Err(ModuleError::Failed(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn args(value: Json) -> FirewalldArgs {
        from_json(value).expect("valid arguments")
    }

    #[test]
    fn the_message_says_what_was_asked() {
        let a = args(
            json!({"service": "https", "zone": "public", "permanent": true, "state": "enabled"}),
        );
        assert_eq!(a.asked(), "service https enabled in zone public, permanent");
        let a = args(json!({"masquerade": true, "state": "enabled", "timeout": 30}));
        assert_eq!(a.asked(), "masquerading on enabled, for 30s");
    }

    #[test]
    fn ansibles_argument_rules_hold() {
        let err = from_json::<FirewalldArgs>(
            json!({"service": "a", "port": "1/tcp", "state": "enabled"}),
        )
        .expect_err("exclusive");
        assert!(
            err.starts_with("parameters are mutually exclusive: icmp_block|"),
            "{err}"
        );
        let a = args(json!({"interface": "eth0", "state": "enabled"}));
        assert_eq!(
            a.check(),
            Err("missing parameter(s) required by 'interface': zone".into())
        );
        let a = args(json!({"source": "10.0.0.0/8", "state": "enabled"}));
        assert_eq!(
            a.check(),
            Ok(()),
            "permanent has a default, so it is always given"
        );
    }
}
