//! `ufw` (community.general): the target's Uncomplicated Firewall, driven through its
//! `ufw` command as Ansible's module drives it.
//!
//! It stays a plain [`Module`]: Ansible's module has no state it could compare with
//! the arguments. It runs ufw's commands and finds out afterwards whether `ufw status
//! verbose` or the rule files changed; only check mode predicts, from the status and
//! from `ufw --dry-run`'s rules. That is reproduced here in two round trips: the state
//! before (and ufw's version), then every command, the state after and the rules.

use async_trait::async_trait;
use regex::Regex;
use serde_json::json;

use super::run::{Ran, run_tools};
use super::typed::{Rules, TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::quote;

/// Manages ufw.
pub struct Ufw;

arg_enum! {
    /// What to do with the firewall as a whole.
    pub enum State {
        Enabled = "enabled",
        Disabled = "disabled",
        Reloaded = "reloaded",
        Reset = "reset",
    }
}

arg_enum! {
    /// A default policy.
    pub enum Policy {
        Allow = "allow",
        Deny = "deny",
        Reject = "reject",
    }
}

arg_enum! {
    /// ufw's logging level.
    pub enum Logging {
        Full = "full",
        High = "high",
        Low = "low",
        Medium = "medium",
        Off = "off",
        On = "on",
    }
}

arg_enum! {
    /// The traffic a rule or policy is for.
    pub enum Direction {
        In = "in",
        Incoming = "incoming",
        Out = "out",
        Outgoing = "outgoing",
        Routed = "routed",
    }
}

arg_enum! {
    /// Where `insert` counts from.
    pub enum RelativeTo {
        Zero = "zero",
        FirstIpv4 = "first-ipv4",
        LastIpv4 = "last-ipv4",
        FirstIpv6 = "first-ipv6",
        LastIpv6 = "last-ipv6",
    }
}

arg_enum! {
    /// What a rule does.
    pub enum Action {
        Allow = "allow",
        Deny = "deny",
        Limit = "limit",
        Reject = "reject",
    }
}

arg_enum! {
    /// A rule's protocol.
    pub enum Proto {
        Ah = "ah",
        Any = "any",
        Esp = "esp",
        Ipv6 = "ipv6",
        Tcp = "tcp",
        Udp = "udp",
        Gre = "gre",
        Igmp = "igmp",
        Vrrp = "vrrp",
    }
}

module_args! {
    /// `ufw`'s arguments.
    pub struct UfwArgs {
        state: Option<State>,
        default: Option<Policy> => .aliases(&["policy"]),
        logging: Option<Logging>,
        direction: Option<Direction>,
        /// Whether the rule is removed.
        delete: bool => .default_bool(false),
        /// Whether the rule is for routed traffic.
        route: bool => .default_bool(false),
        /// The rule's position (`insert NUM`).
        insert: Option<i64>,
        insert_relative_to: RelativeTo => .default_str("zero"),
        rule: Option<Action>,
        /// The interface (with `direction`).
        interface: Option<String> => .aliases(&["if"]),
        /// The incoming interface.
        interface_in: Option<String> => .aliases(&["if_in"]),
        /// The outgoing interface.
        interface_out: Option<String> => .aliases(&["if_out"]),
        /// Whether matching packets are logged.
        log: bool => .default_bool(false),
        /// The source address.
        from_ip: String => .default_str("any").aliases(&["from", "src"]),
        /// The source port.
        from_port: Option<String>,
        /// The destination address.
        to_ip: String => .default_str("any").aliases(&["dest", "to"]),
        /// The destination port.
        to_port: Option<String> => .aliases(&["port"]),
        proto: Option<Proto> => .aliases(&["protocol"]),
        /// An application profile.
        name: Option<String> => .aliases(&["app"]),
        /// The rule's comment.
        comment: Option<String>,
    }
    rules: Rules {
        mutually_exclusive: &[
            &["name", "proto", "logging"],
            &["direction", "interface_in"],
            &["direction", "interface_out"],
        ],
        required_one_of: &[&["state", "default", "rule", "logging"]],
        ..Rules::NONE
    };
}

/// One part of a ufw command line: as Ansible shows it (`comment 'web app'`) and
/// the words the command gets.
#[derive(Debug, Clone, PartialEq)]
struct Part {
    shown: String,
    words: Vec<String>,
}

impl Part {
    /// A part whose words are split at whitespace (`insert 2`, `on eth0`).
    fn plain(text: impl Into<String>) -> Part {
        let shown = text.into();
        let words = shown.split_whitespace().map(str::to_string).collect();
        Part { shown, words }
    }

    /// A keyword and a value Ansible quotes (`comment 'web app'`).
    fn quoted(keyword: &str, value: &str) -> Part {
        Part {
            shown: format!("{keyword} '{value}'"),
            words: vec![keyword.to_string(), value.to_string()],
        }
    }
}

/// A command the module runs: how Ansible lists it in `commands` and the script.
#[derive(Debug, Clone, PartialEq)]
struct Step {
    shown: String,
    script: String,
    /// Whether a failure is ignored (the rule files' `grep`).
    ignore_error: bool,
}

/// Where `ufw` and `grep` are on the target (as Ansible shows them in `commands`;
/// scripts run them as `$U` and `$G`).
struct Tools {
    ufw: String,
    grep: String,
}

impl Tools {
    /// A step running `program` (shown as `shown`) with `parts`.
    fn step(shown: &str, program: &str, parts: &[Part]) -> Step {
        let mut line = vec![shown.to_string()];
        let mut script = vec![program.to_string()];
        for part in parts {
            line.push(part.shown.clone());
            script.extend(part.words.iter().map(|w| quote(w)));
        }
        Step {
            shown: line.join(" "),
            script: script.join(" "),
            ignore_error: false,
        }
    }

    /// `ufw <parts>`.
    fn ufw(&self, parts: &[Part]) -> Step {
        Tools::step(&self.ufw, "\"$U\"", parts)
    }

    /// `ufw status verbose`.
    fn status(&self) -> Step {
        self.ufw(&[Part::plain("status verbose")])
    }

    /// The `grep` of the `### tuple` lines of every rule file ufw may keep.
    fn rules(&self) -> Step {
        let mut parts = vec![
            Part::plain("-h"),
            Part {
                shown: "'^### tuple'".into(),
                words: vec!["^### tuple".into()],
            },
        ];
        parts.extend(RULE_FILES.iter().map(|f| Part::plain(*f)));
        Step {
            ignore_error: true,
            ..Tools::step(&self.grep, "\"$G\"", &parts)
        }
    }
}

/// The files ufw keeps the user's rules in.
const RULE_FILES: [&str; 6] = [
    "/lib/ufw/user.rules",
    "/lib/ufw/user6.rules",
    "/etc/ufw/user.rules",
    "/etc/ufw/user6.rules",
    "/var/lib/ufw/user.rules",
    "/var/lib/ufw/user6.rules",
];

/// Runs `steps` (the tools found first) until one fails that must not: where the
/// tools are and what each step that ran did.
async fn run_steps(
    ctx: &ModuleContext<'_>,
    steps: &[&Step],
) -> Result<(Tools, Vec<Ran>), ModuleError> {
    let body: String = steps
        .iter()
        .map(|step| {
            let stop = if step.ignore_error { "" } else { " || exit 0" };
            format!("run {}{stop}; ", step.script)
        })
        .collect();
    let (paths, ran) = run_tools(ctx, &[("U", "ufw"), ("G", "grep")], &body).await?;
    let [ufw, grep] = <[String; 2]>::try_from(paths)
        .map_err(|_| ModuleError::Failed("ufw and grep not found".into()))?;
    Ok((Tools { ufw, grep }, ran))
}

/// The module's failure: the command's error (or output), with the commands so far.
fn step_failed(ran: &Ran, commands: &[String]) -> ModuleError {
    let msg = match ran.stderr.is_empty() {
        true => ran.stdout.clone(),
        false => ran.stderr.clone(),
    };
    let mut failed = super::failed(msg);
    failed.insert("commands".into(), json!(commands));
    ModuleError::FailedWith(failed)
}

/// ufw's version from `ufw --version` (`ufw 0.36.2`).
fn version(output: &str) -> Option<(u32, u32)> {
    let first = output.lines().find(|l| !l.trim().is_empty())?;
    let re = Regex::new(r"^ufw.+(\d+)\.(\d+)(?:\.(\d+))?.*$").ok()?;
    let caps = re.captures(first)?;
    Some((caps[1].parse().ok()?, caps[2].parse().ok()?))
}

/// Whether `status` (of `ufw status verbose`) says the firewall is active.
fn is_active(status: &str) -> bool {
    status.contains(" active")
}

/// Whether setting the logging level to `wanted` changes what `status` says.
fn logging_changes(status: &str, wanted: Logging) -> bool {
    let re = Regex::new(r"Logging: (on|off)(?: \(([a-z]+)\))?").ok();
    let Some(caps) = re.as_ref().and_then(|re| re.captures(status)) else {
        return true;
    };
    let on_off = caps.get(1).map_or("", |m| m.as_str());
    let level = caps.get(2).map(|m| m.as_str());
    match wanted {
        Logging::Off => on_off != "off",
        Logging::On => on_off == "off",
        other => on_off == "off" || Some(other.as_str()) != level,
    }
}

/// Whether setting the default policy for `direction` to `policy` changes what
/// `status` says.
fn default_changes(status: &str, policy: Policy, direction: Option<Direction>) -> bool {
    let re = Regex::new(
        r"Default: (deny|allow|reject) \(incoming\), (deny|allow|reject) \(outgoing\), (deny|allow|reject|disabled) \(routed\)",
    )
    .ok();
    let Some(caps) = re.as_ref().and_then(|re| re.captures(status)) else {
        return true;
    };
    let group = match direction {
        Some(Direction::Outgoing) => 2,
        Some(Direction::Routed) => 3,
        _ => 1,
    };
    let current = caps.get(group).map_or("", |m| m.as_str());
    current != policy.as_str() && current != "disabled"
}

/// Python's IPv4 pattern of the module.
const IPV4: &str =
    r"((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])";

/// Python's IPv6 pattern of the module.
const IPV6: &str = concat!(
    r"(([0-9a-fA-F]{1,4}:){7,7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:",
    r"|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}",
    r"(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4})",
    r"{1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]",
    r"{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]",
    r"{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:)|fe80:(:[0-9a-fA-F]{0,4})",
    r"{0,4}%[0-9a-zA-Z]{1,}|::(ffff(:0{1,4}){0,1}:){0,1}((25[0-5]|(2[0-4]",
    r"|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}",
    r"[0-9])|([0-9a-fA-F]{1,4}:){1,4}:((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}",
    r"[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9]))"
);

/// The lines of `text` (with their ends) that `pattern` finds something in.
fn lines_matching(pattern: &str, text: &str) -> String {
    let Ok(re) = Regex::new(pattern) else {
        return String::new();
    };
    text.split_inclusive('\n')
        .filter(|l| re.is_match(l))
        .collect()
}

/// Whether `value` starts with what `pattern` matches (Python's `re.match`).
fn starts_with_match(pattern: &str, value: &str) -> bool {
    Regex::new(&format!("^(?:{pattern})")).is_ok_and(|re| re.is_match(value))
}

/// Check mode's verdict on a rule: whether the rules ufw's dry run would write
/// differ from those in the files (only the IPv4 or IPv6 ones when the rule names
/// such an address). A dry run that only skips changes nothing.
fn rule_changes(args: &UfwArgs, before: &str, dry_run: &str) -> bool {
    let lines = dry_run.split_inclusive('\n').count();
    let skipping = dry_run
        .split_inclusive('\n')
        .filter(|l| l.contains("Skipping"))
        .count();
    if skipping > 0 && skipping == lines {
        return false;
    }
    let after: String = dry_run
        .split_inclusive('\n')
        .filter(|l| l.starts_with("### tuple"))
        .collect();
    let names = |pattern: &str| {
        starts_with_match(pattern, &args.from_ip) || starts_with_match(pattern, &args.to_ip)
    };
    if names(IPV4) {
        lines_matching(IPV4, before) != lines_matching(IPV4, &after)
    } else if names(IPV6) {
        lines_matching(IPV6, before) != lines_matching(IPV6, &after)
    } else {
        before != after
    }
}

/// The rule numbers of `ufw status numbered` and whether each is an IPv6 rule.
fn numbered(status: &str) -> Vec<(i64, bool)> {
    let Ok(re) = Regex::new(r"^\[ *([0-9]+)\] ") else {
        return Vec::new();
    };
    status
        .lines()
        .filter_map(|line| {
            let number = re.captures(line)?[1].parse().ok()?;
            Some((number, line.contains("(v6)")))
        })
        .collect()
}

/// Where `insert` puts the rule, counted as Ansible counts it from
/// `insert_relative_to`; `None` when past the last rule (ufw refuses that).
fn insert_position(insert: i64, relative: RelativeTo, rules: &[(i64, bool)]) -> Option<i64> {
    if relative == RelativeTo::Zero {
        return Some(insert);
    }
    let last = rules.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let last_v4 = rules.iter().filter(|(_, v6)| !v6).map(|(n, _)| *n).max();
    let has_v6 = rules.iter().any(|(_, v6)| *v6);
    let base = match relative {
        RelativeTo::FirstIpv4 | RelativeTo::Zero => 1,
        RelativeTo::LastIpv4 => last_v4.unwrap_or(1),
        RelativeTo::FirstIpv6 => last_v4.map_or(1, |n| n + 1),
        RelativeTo::LastIpv6 => match has_v6 {
            true => last,
            false => last + 1,
        },
    };
    Some(insert + base).filter(|at| *at <= last)
}

/// The rule's parts after `ufw [--dry-run]`, as Ansible builds them.
fn rule_parts(args: &UfwArgs, action: Action, insert_to: Option<i64>, comment: bool) -> Vec<Part> {
    let mut parts = Vec::new();
    if args.route {
        parts.push(Part::plain("route"));
    }
    if args.delete {
        parts.push(Part::plain("delete"));
    }
    if let Some(at) = insert_to.filter(|_| !args.delete) {
        parts.push(Part::plain(format!("insert {at}")));
    }
    parts.push(Part::plain(action.as_str()));
    if let Some(direction) = args.direction {
        parts.push(Part::plain(direction.as_str()));
    }
    let optional = [
        (&args.interface, "on"),
        (&args.interface_in, "in on"),
        (&args.interface_out, "out on"),
    ];
    for (value, keyword) in optional {
        if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
            parts.push(Part::plain(format!("{keyword} {value}")));
        }
    }
    if args.log {
        parts.push(Part::plain("log"));
    }
    let addresses = [
        (Some(&args.from_ip), "from"),
        (args.from_port.as_ref(), "port"),
        (Some(&args.to_ip), "to"),
        (args.to_port.as_ref(), "port"),
    ];
    for (value, keyword) in addresses {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            parts.push(Part::plain(format!("{keyword} {value}")));
        }
    }
    if let Some(proto) = args.proto {
        parts.push(Part::plain(format!("proto {}", proto.as_str())));
    }
    if let Some(name) = args.name.as_deref().filter(|n| !n.is_empty()) {
        parts.push(Part::quoted("app", name));
    }
    if let Some(text) = args.comment.as_deref().filter(|c| comment && !c.is_empty()) {
        parts.push(Part::quoted("comment", text));
    }
    parts
}

/// The checks Ansible's module makes beyond its argument spec.
fn check_args(args: &UfwArgs) -> Result<(), String> {
    if args.interface.is_some() && args.direction.is_none() {
        return Err("missing parameter(s) required by 'interface': direction".into());
    }
    let direction = args.direction.map(Direction::as_str);
    if args.default.is_some()
        && !matches!(direction, None | Some("outgoing" | "incoming" | "routed"))
    {
        return Err("For default, direction must be one of \"outgoing\", \"incoming\" and \"routed\", or direction must not be specified.".into());
    }
    if args.rule.is_some() {
        if !matches!(direction, None | Some("in" | "out")) {
            return Err("For rules, direction must be one of \"in\" and \"out\", or direction must not be specified.".into());
        }
        if !args.route && args.interface_in.is_some() && args.interface_out.is_some() {
            return Err("Only route rules can combine interface_in and interface_out".into());
        }
    }
    Ok(())
}

#[async_trait]
impl Module for Ufw {
    fn name(&self) -> &'static str {
        "ufw"
    }

    fn params(&self) -> &'static [Param] {
        UfwArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = UfwArgs::from_args(args).map_err(ModuleError::Failed)?;
        check_args(&args).map_err(ModuleError::Failed)?;
        let check = ctx.check_mode;

        // The state before, ufw's version and its numbered rules (for `insert`).
        let placeholder = Tools {
            ufw: "ufw".into(),
            grep: "grep".into(),
        };
        let relative = args.rule.is_some()
            && args.insert.is_some()
            && !args.delete
            && args.insert_relative_to != RelativeTo::Zero;
        let mut first = vec![placeholder.status(), placeholder.rules()];
        let mut version_step = placeholder.ufw(&[Part::plain("--version")]);
        version_step.ignore_error = true;
        if args.rule.is_some() {
            first.push(version_step);
        }
        if relative {
            let mut numbered = placeholder.ufw(&[Part::plain("status numbered")]);
            numbered.ignore_error = true;
            first.push(numbered);
        }
        let firsts: Vec<&Step> = first.iter().collect();
        let (tools, ran) = run_steps(ctx, &firsts).await?;
        let mut commands = vec![tools.status().shown, tools.rules().shown];
        let pre_state = ran.first().cloned().unwrap_or_default();
        if pre_state.rc != 0 {
            return Err(step_failed(&pre_state, &commands[..1]));
        }
        let pre_state = pre_state.stdout;
        let pre_rules = ran.get(1).map(|r| r.stdout.clone()).unwrap_or_default();

        let dry = |mut parts: Vec<Part>| {
            if check {
                parts.insert(0, Part::plain("--dry-run"));
            }
            tools.ufw(&parts)
        };
        // What runs, in Ansible's order, with what check mode predicts.
        let mut changed = false;
        let mut steps: Vec<Step> = Vec::new();
        // The step whose output check mode compares (the rule's dry run).
        let mut rule_step = None;
        if let Some(state) = args.state {
            changed |= matches!(state, State::Reloaded | State::Reset);
            let word = match state {
                State::Enabled => "enable",
                State::Disabled => "disable",
                State::Reloaded => "reload",
                State::Reset => "reset",
            };
            if check {
                let active = is_active(&pre_state);
                changed |=
                    (state == State::Disabled && active) || (state == State::Enabled && !active);
            } else {
                steps.push(dry(vec![Part::plain("-f"), Part::plain(word)]));
            }
        }
        if let Some(policy) = args.default {
            if check {
                changed |= default_changes(&pre_state, policy, args.direction);
            } else {
                let mut parts = vec![Part::plain("default"), Part::plain(policy.as_str())];
                parts.extend(args.direction.map(|d| Part::plain(d.as_str())));
                steps.push(dry(parts));
            }
        }
        if let Some(action) = args.rule {
            let printed = ran.get(2).cloned().unwrap_or_default();
            commands.push(tools.ufw(&[Part::plain("--version")]).shown);
            if printed.rc != 0 {
                return Err(step_failed(&printed, &commands));
            }
            let Some((major, minor)) = version(&printed.stdout) else {
                let mut failed = super::failed("Failed to get ufw version.");
                failed.insert("rc".into(), json!(0));
                failed.insert("out".into(), json!(printed.stdout));
                return Err(ModuleError::FailedWith(failed));
            };
            let insert_to = match (args.insert, relative) {
                (Some(at), true) => {
                    let status = ran.get(3).map(|r| r.stdout.as_str()).unwrap_or("");
                    insert_position(at, args.insert_relative_to, &numbered(status))
                }
                (at, _) => at,
            };
            let comment = major > 0 || minor >= 35;
            rule_step = Some(steps.len());
            steps.push(dry(rule_parts(&args, action, insert_to, comment)));
        }
        if let Some(level) = args.logging {
            changed |= logging_changes(&pre_state, level);
            if !check {
                steps.push(dry(vec![
                    Part::plain("logging"),
                    Part::plain(level.as_str()),
                ]));
            }
        }
        if !check {
            steps.push(tools.status());
            if !changed {
                steps.push(tools.rules());
            }
        }
        let step_refs: Vec<&Step> = steps.iter().collect();
        let (_, ran) = match steps.is_empty() {
            true => (tools, Vec::new()),
            false => run_steps(ctx, &step_refs).await?,
        };
        for (step, result) in steps.iter().zip(&ran) {
            commands.push(step.shown.clone());
            if result.rc != 0 && !step.ignore_error {
                return Err(step_failed(result, &commands));
            }
        }
        let mut outcome = Outcome::new();
        if check {
            if let Some(result) = rule_step.and_then(|at| ran.get(at)) {
                changed |= rule_changes(&args, &pre_rules, &result.stdout);
            }
        } else {
            let status_at = steps.len() - if changed { 1 } else { 2 };
            let post_state = ran
                .get(status_at)
                .map(|r| r.stdout.clone())
                .unwrap_or_default();
            if !changed {
                let post_rules = ran.last().map(|r| r.stdout.clone()).unwrap_or_default();
                changed = pre_state != post_state || pre_rules != post_rules;
            }
            outcome.insert("msg".into(), json!(post_state.trim_end()));
        }
        outcome.insert("changed".into(), json!(changed));
        outcome.insert("commands".into(), json!(commands));
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::Value as Json;

    const STATUS: &str = "Status: active\nLogging: on (low)\nDefault: deny (incoming), allow (outgoing), disabled (routed)\nNew profiles: skip\n";

    fn args(value: Json) -> UfwArgs {
        from_json(value).expect("valid arguments")
    }

    #[test]
    fn the_status_decides_check_mode_for_state_logging_and_policy() {
        assert!(is_active(STATUS));
        assert!(!is_active("Status: inactive\n"));
        assert!(!logging_changes(STATUS, Logging::Low));
        assert!(!logging_changes(STATUS, Logging::On));
        assert!(logging_changes(STATUS, Logging::High));
        assert!(logging_changes(STATUS, Logging::Off));
        assert!(
            logging_changes("Status: inactive\n", Logging::Low),
            "no logging line"
        );
        assert!(!default_changes(STATUS, Policy::Deny, None));
        assert!(default_changes(
            STATUS,
            Policy::Deny,
            Some(Direction::Outgoing)
        ));
        assert!(
            !default_changes(STATUS, Policy::Allow, Some(Direction::Routed)),
            "disabled"
        );
    }

    #[test]
    fn rules_are_built_as_ansible_builds_them() {
        let a = args(
            json!({"rule": "allow", "port": "8080", "proto": "tcp", "from_ip": "10.0.0.0/8", "comment": "web app"}),
        );
        let step = Tools::step(
            "/usr/sbin/ufw",
            "/usr/sbin/ufw",
            &rule_parts(&a, Action::Allow, None, true),
        );
        assert_eq!(
            step.shown,
            "/usr/sbin/ufw allow from 10.0.0.0/8 to any port 8080 proto tcp comment 'web app'"
        );
        assert_eq!(
            step.script,
            "/usr/sbin/ufw allow from 10.0.0.0/8 to any port 8080 proto tcp comment 'web app'"
        );
        let a = args(
            json!({"rule": "deny", "direction": "in", "interface": "lo", "insert": 1, "route": true, "log": true, "name": "OpenSSH"}),
        );
        let shown = Tools::step("ufw", "ufw", &rule_parts(&a, Action::Deny, Some(1), true)).shown;
        assert_eq!(
            shown,
            "ufw route insert 1 deny in on lo log from any to any app 'OpenSSH'"
        );
        let a = args(json!({"rule": "allow", "comment": "x", "delete": true, "insert": 2}));
        let shown = Tools::step("ufw", "ufw", &rule_parts(&a, Action::Allow, Some(2), false)).shown;
        assert_eq!(
            shown, "ufw delete allow from any to any",
            "no comment before 0.35, no insert with delete"
        );
    }

    #[test]
    fn check_mode_compares_the_dry_runs_rules() {
        let before = "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n### tuple ### allow tcp 22 ::/0 any ::/0 in\n";
        let a = args(json!({"rule": "allow", "port": "22", "proto": "tcp"}));
        assert!(!rule_changes(
            &a,
            before,
            &format!("*filter\n{before}COMMIT\n")
        ));
        assert!(rule_changes(
            &a,
            before,
            "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"
        ));
        assert!(!rule_changes(
            &a,
            before,
            "Skipping adding existing rule\nSkipping adding existing rule (v6)\n"
        ));
        let a =
            args(json!({"rule": "allow", "port": "22", "proto": "tcp", "from_ip": "0.0.0.0/0"}));
        assert!(
            !rule_changes(
                &a,
                before,
                "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"
            ),
            "IPv4 lines only"
        );
    }

    #[test]
    fn insert_counts_from_where_it_is_told() {
        let rules = numbered(
            "[ 1] 22/tcp ALLOW IN Anywhere\n[ 2] 80 ALLOW IN Anywhere\n[ 3] 22/tcp (v6) ALLOW IN Anywhere (v6)\n",
        );
        assert_eq!(rules, [(1, false), (2, false), (3, true)]);
        assert_eq!(insert_position(0, RelativeTo::FirstIpv6, &rules), Some(3));
        assert_eq!(insert_position(1, RelativeTo::FirstIpv4, &rules), Some(2));
        assert_eq!(insert_position(5, RelativeTo::LastIpv6, &rules), None);
        assert_eq!(insert_position(7, RelativeTo::Zero, &rules), Some(7));
    }

    #[test]
    fn versions_and_argument_checks() {
        assert_eq!(
            version("ufw 0.36.2\nCopyright 2008-2023 Canonical Ltd.\n"),
            Some((6, 2)),
            "the module's greedy pattern reads 0.36.2 as 6.2, so comments are always sent"
        );
        assert_eq!(version("nonsense"), None);
        let err =
            check_args(&args(json!({"rule": "allow", "interface": "eth0"}))).expect_err("bad");
        assert_eq!(
            err,
            "missing parameter(s) required by 'interface': direction"
        );
        let err =
            check_args(&args(json!({"rule": "allow", "direction": "routed"}))).expect_err("bad");
        assert!(err.starts_with("For rules, direction must be one of"));
        let err = from_json::<UfwArgs>(json!({"direction": "in"})).expect_err("bad");
        assert_eq!(
            err,
            "one of the following is required: state, default, rule, logging"
        );
    }
}
