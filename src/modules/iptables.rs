//! `iptables` (ansible.builtin): one rule, a chain's policy, a flush or a chain, through
//! the target's `iptables`/`ip6tables`. As Ansible's module, it builds the rule's
//! words in the module's order, asks `iptables -C` whether the rule is there (`-L` for
//! a policy or a chain) and appends, inserts or deletes only when needed.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::run::{Ran, run_tools};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::quote;

/// Manages iptables rules.
pub struct Iptables;

arg_enum! {
    /// The table.
    pub enum Table {
        Filter = "filter",
        Nat = "nat",
        Mangle = "mangle",
        Raw = "raw",
        Security = "security",
    }
}

arg_enum! {
    /// Whether the rule (or chain) should be there.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

arg_enum! {
    /// Where a new rule goes.
    pub enum Where {
        Append = "append",
        Insert = "insert",
    }
}

arg_enum! {
    /// Which of iptables and ip6tables.
    pub enum IpVersion {
        Ipv4 = "ipv4",
        Ipv6 = "ipv6",
        Both = "both",
    }
}

arg_enum! {
    /// How `--syn` is matched.
    pub enum Syn {
        Ignore = "ignore",
        Match = "match",
        Negate = "negate",
    }
}

arg_enum! {
    /// A chain's policy.
    pub enum Policy {
        Accept = "ACCEPT",
        Drop = "DROP",
        Queue = "QUEUE",
        Return = "RETURN",
    }
}

module_args! {
    /// `iptables`' arguments.
    pub struct IptablesArgs {
        table: Table => .default_str("filter"),
        state: State => .default_str("present"),
        action: Where => .default_str("append"),
        ip_version: IpVersion => .default_str("ipv4"),
        /// The chain.
        chain: Option<String>,
        /// The position of an inserted rule.
        rule_num: Option<String>,
        /// `-p`.
        protocol: Option<String>,
        /// `-w`: how long to wait for the xtables lock.
        wait: Option<String>,
        /// `-s`.
        source: Option<String>,
        /// `--to-source`.
        to_source: Option<String>,
        /// `-d`.
        destination: Option<String>,
        /// `--to-destination`.
        to_destination: Option<String>,
        /// `-m` extensions.
        r#match: Vec<String>,
        /// `--tcp-flags` (`flags`, `flags_set`).
        tcp_flags: Option<Map<String, Json>>,
        /// `-j`.
        jump: Option<String>,
        /// `--gateway` of a TEE jump.
        gateway: Option<String>,
        /// `--log-prefix`.
        log_prefix: Option<String>,
        /// `--log-level`.
        log_level: Option<String> => .choices(&["0", "1", "2", "3", "4", "5", "6", "7", "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"]),
        /// `-g`.
        goto: Option<String>,
        /// `-i`.
        in_interface: Option<String>,
        /// `-o`.
        out_interface: Option<String>,
        /// `-f`.
        fragment: Option<String>,
        /// `-c`.
        set_counters: Option<String>,
        /// `--source-port`.
        source_port: Option<String>,
        /// `--destination-port`.
        destination_port: Option<String>,
        /// `-m multiport --dports`.
        destination_ports: Vec<String>,
        /// `--to-ports`.
        to_ports: Option<String>,
        /// `--set-dscp`.
        set_dscp_mark: Option<String>,
        /// `--set-dscp-class`.
        set_dscp_mark_class: Option<String>,
        /// `-m comment --comment`.
        comment: Option<String>,
        /// `--ctstate` (`-m conntrack`).
        ctstate: Vec<String>,
        /// `--src-range` (`-m iprange`).
        src_range: Option<String>,
        /// `--dst-range` (`-m iprange`).
        dst_range: Option<String>,
        /// `--match-set` (`-m set`).
        match_set: Option<String>,
        /// The set's flags.
        match_set_flags: Option<String> => .choices(&["src", "dst", "src,dst", "dst,src", "src,src", "dst,dst"]),
        /// `--limit` (`-m limit`).
        limit: Option<String>,
        /// `--limit-burst`.
        limit_burst: Option<String>,
        /// `--uid-owner` (`-m owner`).
        uid_owner: Option<String>,
        /// `--gid-owner` (`-m owner`).
        gid_owner: Option<String>,
        /// `--reject-with`.
        reject_with: Option<String>,
        /// `--icmp-type` / `--icmpv6-type`.
        icmp_type: Option<String>,
        syn: Syn => .default_str("ignore"),
        /// Whether the chain (or table) is flushed.
        flush: bool => .default_bool(false),
        policy: Option<Policy>,
        /// Whether a chain without a rule is created or deleted.
        chain_management: bool => .default_bool(false),
        /// Whether `-L` lists numerically.
        numeric: bool => .default_bool(false),
    }
    rules: Rules {
        mutually_exclusive: &[&["set_dscp_mark", "set_dscp_mark_class"], &["flush", "policy"]],
        required_if: &[("jump", "TEE", &["gateway"]), ("jump", "tee", &["gateway"])],
        ..Rules::NONE
    };
}

/// `param` with its flag: `! flag rest` when it starts with `!`.
fn push_param(rule: &mut Vec<String>, param: Option<&str>, flag: &str) {
    let Some(param) = param else {
        return;
    };
    match param.strip_prefix('!') {
        Some(rest) => rule.extend(["!".to_string(), flag.to_string(), rest.to_string()]),
        None => rule.extend([flag.to_string(), param.to_string()]),
    }
}

/// `-m match` when `given`.
fn push_match(rule: &mut Vec<String>, given: bool, name: &str) {
    if given {
        rule.extend(["-m".to_string(), name.to_string()]);
    }
}

/// `flag a,b` when the list is not empty.
fn push_csv(rule: &mut Vec<String>, values: &[String], flag: &str) {
    if !values.is_empty() {
        rule.extend([flag.to_string(), values.join(",")]);
    }
}

/// Ansible's `append_match_flag`: `flag` for `match`, `! flag` for `negate`.
fn push_match_flag(rule: &mut Vec<String>, param: Option<&str>, flag: &str) {
    match param {
        Some("match") => rule.push(flag.to_string()),
        Some("negate") => rule.extend(["!".to_string(), flag.to_string()]),
        _ => {}
    }
}

/// The words of a list in a `tcp_flags` entry.
fn flag_list(map: &Map<String, Json>, key: &str) -> Option<String> {
    let items = map.get(key)?.as_array()?;
    Some(
        items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(","),
    )
}

impl IptablesArgs {
    /// Ansible's `construct_rule`: the rule's words, with `jump` as given.
    fn rule(&self, jump: Option<&str>) -> Vec<String> {
        let mut rule = Vec::new();
        let matches = |name: &str| self.r#match.iter().any(|m| m == name);
        push_param(&mut rule, self.protocol.as_deref(), "-p");
        push_param(&mut rule, self.source.as_deref(), "-s");
        push_param(&mut rule, self.destination.as_deref(), "-d");
        for m in &self.r#match {
            push_param(&mut rule, Some(m), "-m");
        }
        if let Some(flags) = &self.tcp_flags
            && let (Some(all), Some(set)) =
                (flag_list(flags, "flags"), flag_list(flags, "flags_set"))
        {
            rule.extend(["--tcp-flags".to_string(), all, set]);
        }
        push_param(&mut rule, jump, "-j");
        if jump.is_some_and(|j| j.eq_ignore_ascii_case("tee")) {
            push_param(&mut rule, self.gateway.as_deref(), "--gateway");
        }
        push_param(&mut rule, self.log_prefix.as_deref(), "--log-prefix");
        push_param(&mut rule, self.log_level.as_deref(), "--log-level");
        push_param(
            &mut rule,
            self.to_destination.as_deref(),
            "--to-destination",
        );
        push_match(&mut rule, !self.destination_ports.is_empty(), "multiport");
        push_csv(&mut rule, &self.destination_ports, "--dports");
        push_param(&mut rule, self.to_source.as_deref(), "--to-source");
        push_param(&mut rule, self.goto.as_deref(), "-g");
        push_param(&mut rule, self.in_interface.as_deref(), "-i");
        push_param(&mut rule, self.out_interface.as_deref(), "-o");
        push_param(&mut rule, self.fragment.as_deref(), "-f");
        push_param(&mut rule, self.set_counters.as_deref(), "-c");
        push_param(&mut rule, self.source_port.as_deref(), "--source-port");
        push_param(
            &mut rule,
            self.destination_port.as_deref(),
            "--destination-port",
        );
        push_param(&mut rule, self.to_ports.as_deref(), "--to-ports");
        let not_dscp = !jump.is_some_and(|j| j.eq_ignore_ascii_case("dscp"));
        push_param(&mut rule, self.set_dscp_mark.as_deref(), "--set-dscp");
        if self.set_dscp_mark.is_some() && not_dscp {
            rule.extend(["-j".to_string(), "DSCP".to_string()]);
        }
        push_param(
            &mut rule,
            self.set_dscp_mark_class.as_deref(),
            "--set-dscp-class",
        );
        if self.set_dscp_mark_class.is_some() && not_dscp {
            rule.extend(["-j".to_string(), "DSCP".to_string()]);
        }
        push_match_flag(&mut rule, Some(self.syn.as_str()), "--syn");
        if matches("conntrack") {
            push_csv(&mut rule, &self.ctstate, "--ctstate");
        } else if matches("state") {
            push_csv(&mut rule, &self.ctstate, "--state");
        } else if !self.ctstate.is_empty() {
            push_match(&mut rule, true, "conntrack");
            push_csv(&mut rule, &self.ctstate, "--ctstate");
        }
        let ranges = self.src_range.is_some() || self.dst_range.is_some();
        if matches("iprange") || ranges {
            push_match(&mut rule, !matches("iprange"), "iprange");
            push_param(&mut rule, self.src_range.as_deref(), "--src-range");
            push_param(&mut rule, self.dst_range.as_deref(), "--dst-range");
        }
        if matches("set") || self.match_set.is_some() {
            push_match(&mut rule, !matches("set"), "set");
            push_param(&mut rule, self.match_set.as_deref(), "--match-set");
            rule.extend(self.match_set_flags.clone());
        }
        push_match(
            &mut rule,
            self.limit.is_some() || self.limit_burst.is_some(),
            "limit",
        );
        push_param(&mut rule, self.limit.as_deref(), "--limit");
        push_param(&mut rule, self.limit_burst.as_deref(), "--limit-burst");
        for (owner, flag) in [
            (&self.uid_owner, "--uid-owner"),
            (&self.gid_owner, "--gid-owner"),
        ] {
            push_match(&mut rule, owner.is_some(), "owner");
            push_match_flag(&mut rule, owner.as_deref(), flag);
            push_param(&mut rule, owner.as_deref(), flag);
        }
        if jump.is_none() {
            if self.reject_with.is_some() {
                rule.extend(["-j".to_string(), "REJECT".to_string()]);
            }
            for dscp in [&self.set_dscp_mark_class, &self.set_dscp_mark] {
                if dscp.is_some() {
                    rule.extend(["-j".to_string(), "DSCP".to_string()]);
                }
            }
        }
        push_param(&mut rule, self.reject_with.as_deref(), "--reject-with");
        let icmp_flag = match self.ip_version {
            IpVersion::Ipv4 => "--icmp-type",
            IpVersion::Ipv6 => "--icmpv6-type",
            IpVersion::Both => "--icmp-type --icmpv6-type",
        };
        push_param(&mut rule, self.icmp_type.as_deref(), icmp_flag);
        push_match(&mut rule, self.comment.is_some(), "comment");
        push_param(&mut rule, self.comment.as_deref(), "--comment");
        rule
    }

    /// The jump the commands use: `LOG` when logging options are given without one.
    fn jump(&self) -> Result<Option<&str>, String> {
        if self.log_prefix.is_none() && self.log_level.is_none() {
            return Ok(self.jump.as_deref());
        }
        match self.jump.as_deref() {
            None => Ok(Some("LOG")),
            Some("LOG") => Ok(Some("LOG")),
            Some(_) => Err("Logging options can only be used with the LOG jump target.".into()),
        }
    }

    /// `-t table ACTION chain [rule_num] [-w wait]`, then the rule when `rule` is given.
    fn command(&self, action: &str, rule: Option<&[String]>) -> Vec<String> {
        let mut words = vec![
            "-t".to_string(),
            self.table.as_str().to_string(),
            action.to_string(),
            self.chain.clone().unwrap_or_default(),
        ];
        if let Some(num) = self
            .rule_num
            .as_ref()
            .filter(|n| action == "-I" && !n.is_empty())
        {
            words.push(num.clone());
        }
        if let Some(wait) = self.wait.as_ref().filter(|w| !w.is_empty()) {
            words.extend(["-w".to_string(), wait.clone()]);
        }
        words.extend(rule.unwrap_or_default().iter().cloned());
        words
    }

    /// `-L chain`, numeric when asked.
    fn list(&self) -> Vec<String> {
        let mut words = self.command("-L", None);
        if self.numeric {
            words.push("--numeric".into());
        }
        words
    }

    /// The binaries, in Ansible's order.
    fn programs(&self) -> &'static [(&'static str, &'static str)] {
        match self.ip_version {
            IpVersion::Ipv4 => &[("B0", "iptables")],
            IpVersion::Ipv6 => &[("B0", "ip6tables")],
            IpVersion::Both => &[("B0", "iptables"), ("B1", "ip6tables")],
        }
    }

    /// What the module does, by Ansible's precedence.
    fn mode(&self) -> Mode {
        let has_rule = !self.rule(self.jump.as_deref()).is_empty();
        match (self.flush, self.policy, self.state, has_rule) {
            (true, _, _, _) => Mode::Flush,
            (_, Some(policy), _, _) => Mode::Policy(policy),
            (_, _, State::Absent, false) => Mode::Chain(false),
            (_, _, State::Present, false) => Mode::Chain(true),
            (_, _, state, true) => Mode::Rule(state == State::Present),
        }
    }
}

/// What the task manages.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Flush,
    Policy(Policy),
    /// A chain that should exist (`true`) or not.
    Chain(bool),
    /// A rule that should be there (`true`) or not.
    Rule(bool),
}

/// `words` after `program`, as `run_command` shows a command.
fn shown(program: &str, words: &[String]) -> String {
    let mut line = quote(program);
    for word in words {
        line.push(' ');
        line.push_str(&quote(word));
    }
    line
}

/// What the query found for one binary: where it is and what its look said.
#[derive(Debug)]
pub struct Look {
    program: String,
    /// The `-C` or `-L` command, as run, and what it did (none for a flush).
    asked: Option<(Vec<String>, Ran)>,
}

/// One binary's command to run: where the binary is and its words.
#[derive(Debug, PartialEq)]
pub struct Change {
    program: String,
    words: Vec<String>,
}

/// Whether iptables (its `--version` after the `v`) takes `-w SECONDS`.
fn version_ok(version: &str) -> bool {
    // `-w SECONDS` came in 1.6.0; Ansible drops `wait` before it, bosun refuses.
    let numbers: Vec<u32> = version
        .split(['.', ' '])
        .take(3)
        .map_while(|n| n.parse().ok())
        .collect();
    numbers.as_slice() >= [1, 6, 0].as_slice()
}

#[async_trait]
impl StateModule for Iptables {
    const NAME: &'static str = "iptables";
    type Args = IptablesArgs;
    type State = Vec<Look>;
    type Plan = Vec<Change>;

    async fn query(&self, on: &Target<'_>, args: &IptablesArgs) -> Result<Vec<Look>, ModuleError> {
        if !args.flush && args.chain.is_none() {
            return Err(ModuleError::Failed(
                "flush is False but all of the following are missing: chain".into(),
            ));
        }
        if args.jump.is_none()
            && (args.set_dscp_mark.is_some() || args.set_dscp_mark_class.is_some())
        {
            let name = if args.set_dscp_mark.is_some() {
                "set_dscp_mark"
            } else {
                "set_dscp_mark_class"
            };
            return Err(ModuleError::Failed(format!(
                "missing parameter(s) required by '{name}': jump"
            )));
        }
        let jump = args.jump().map_err(ModuleError::Failed)?;
        let asked = match args.mode() {
            Mode::Flush => None,
            Mode::Policy(_) | Mode::Chain(_) => Some(args.list()),
            Mode::Rule(_) => Some(args.command("-C", Some(&args.rule(jump)))),
        };
        let mut body = String::new();
        for (var, _) in args.programs() {
            body.push_str(&format!("run \"${var}\" --version || exit 0; "));
            if let Some(words) = &asked {
                let words: Vec<String> = words.iter().map(|w| quote(w)).collect();
                body.push_str(&format!("run \"${var}\" {}; ", words.join(" ")));
            }
        }
        let (paths, ran) = run_tools(on, args.programs(), &body).await?;
        let per = if asked.is_some() { 2 } else { 1 };
        let mut looks = Vec::new();
        for (i, program) in paths.into_iter().enumerate() {
            let version = ran.get(i * per).cloned().unwrap_or_default();
            if version.rc != 0 {
                let cmd = shown(&program, &["--version".to_string()]);
                return Err(super::run::failed(&cmd, &version));
            }
            let words = version
                .stdout
                .split_once('v')
                .map_or("", |(_, v)| v.trim_end());
            if args.wait.is_some() && !version_ok(words) {
                return Err(ModuleError::Failed(format!(
                    "bosun needs iptables 1.6.0 or later for wait (found {words})"
                )));
            }
            let look = ran.get(i * per + 1).cloned().filter(|_| per == 2);
            // The policy's listing must succeed (`check_rc=True`).
            if let (Mode::Policy(_), Some(listed), Some(words)) = (args.mode(), &look, &asked)
                && listed.rc != 0
            {
                let cmd = shown(&program, words);
                return Err(super::run::failed(&cmd, listed));
            }
            looks.push(Look {
                program,
                asked: asked.clone().zip(look),
            });
        }
        Ok(looks)
    }

    fn decide(
        &self,
        args: &IptablesArgs,
        looks: Vec<Look>,
    ) -> Result<Decision<Vec<Change>>, String> {
        let jump = args.jump()?;
        let mode = args.mode();
        let mut changed = false;
        let mut changes = Vec::new();
        for look in looks {
            let (did_change, words) = match (mode, &look.asked) {
                (Mode::Flush, _) => (true, Some(args.command("-F", None))),
                (Mode::Policy(policy), Some((_, ran))) => {
                    let current = ran
                        .stdout
                        .lines()
                        .next()
                        .and_then(|l| l.split("(policy ").nth(1))
                        .and_then(|rest| rest.split(|c: char| !c.is_ascii_uppercase()).next())
                        .filter(|p| !p.is_empty())
                        .ok_or("Can't detect current policy")?;
                    let differs = current != policy.as_str();
                    let mut words = args.command("-P", None);
                    words.push(policy.as_str().to_string());
                    (differs, differs.then_some(words))
                }
                (Mode::Chain(wanted), Some((_, ran))) => {
                    let present = ran.rc == 0;
                    let action = if wanted { "-N" } else { "-X" };
                    let act = present != wanted && args.chain_management;
                    (present != wanted, act.then(|| args.command(action, None)))
                }
                (Mode::Rule(wanted), Some((_, ran))) => {
                    let present = ran.rc == 0;
                    let action = match (wanted, args.action) {
                        (false, _) => "-D",
                        (true, Where::Insert) => "-I",
                        (true, Where::Append) => "-A",
                    };
                    let words = args.command(action, Some(&args.rule(jump)));
                    (present != wanted, (present != wanted).then_some(words))
                }
                (_, None) => (false, None),
            };
            changed |= did_change;
            if let Some(words) = words {
                changes.push(Change {
                    program: look.program,
                    words,
                });
            }
        }
        let decision = match changed {
            true => Decision::change(changes),
            false => Decision::unchanged(),
        };
        Ok(decision
            .with("failed", false)
            .with("ip_version", args.ip_version.as_str())
            .with("table", args.table.as_str())
            .with("chain", json!(args.chain))
            .with("flush", args.flush)
            .with("rule", args.rule(args.jump.as_deref()).join(" "))
            .with("state", args.state.as_str())
            .with("chain_management", args.chain_management)
            .with("wait", json!(args.wait)))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        _: &IptablesArgs,
        changes: Vec<Change>,
    ) -> Result<Outcome, ModuleError> {
        let body: String = changes
            .iter()
            .map(|c| {
                let words: Vec<String> = c.words.iter().map(|w| quote(w)).collect();
                format!("run {} {} || exit 0; ", quote(&c.program), words.join(" "))
            })
            .collect();
        let (_, ran) = run_tools(on, &[], &body).await?;
        for (change, result) in changes.iter().zip(&ran) {
            if result.rc != 0 {
                let cmd = shown(&change.program, &change.words);
                return Err(super::run::failed(&cmd, result));
            }
        }
        Ok(Outcome::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(value: Json) -> IptablesArgs {
        from_json(value).expect("valid arguments")
    }

    fn look(words: &[&str], rc: i32, stdout: &str) -> Look {
        Look {
            program: "/usr/sbin/iptables".into(),
            asked: Some((
                words.iter().map(|w| w.to_string()).collect(),
                Ran {
                    rc,
                    stdout: stdout.into(),
                    stderr: String::new(),
                },
            )),
        }
    }

    #[test]
    fn rules_are_built_in_ansibles_order() {
        let a = args(
            json!({"chain": "INPUT", "protocol": "tcp", "source": "!10.0.0.0/8", "destination_port": "22", "ctstate": ["NEW", "ESTABLISHED"], "jump": "ACCEPT", "comment": "ssh in"}),
        );
        assert_eq!(
            a.rule(a.jump.as_deref()).join(" "),
            "-p tcp ! -s 10.0.0.0/8 -j ACCEPT --destination-port 22 -m conntrack --ctstate NEW,ESTABLISHED -m comment --comment ssh in"
        );
        let a = args(
            json!({"chain": "INPUT", "match": ["state"], "ctstate": ["NEW"], "destination_ports": ["80", "443"], "syn": "negate", "log_prefix": "x "}),
        );
        assert_eq!(a.jump(), Ok(Some("LOG")));
        assert_eq!(
            a.rule(Some("LOG")).join(" "),
            "-m state -j LOG --log-prefix x  -m multiport --dports 80,443 ! --syn --state NEW"
        );
        let a = args(json!({"chain": "INPUT", "reject_with": "tcp-reset", "uid_owner": "0"}));
        assert_eq!(
            a.rule(None).join(" "),
            "-m owner --uid-owner 0 -j REJECT --reject-with tcp-reset"
        );
    }

    #[test]
    fn commands_carry_table_chain_position_and_wait() {
        let a = args(
            json!({"chain": "INPUT", "table": "nat", "rule_num": "3", "wait": "5", "action": "insert", "protocol": "udp"}),
        );
        assert_eq!(
            a.command("-I", Some(&a.rule(None))).join(" "),
            "-t nat -I INPUT 3 -w 5 -p udp"
        );
        assert_eq!(
            a.command("-C", Some(&a.rule(None))).join(" "),
            "-t nat -C INPUT -w 5 -p udp"
        );
    }

    #[test]
    fn check_decides_rules() {
        let a = args(json!({"chain": "INPUT", "protocol": "tcp", "jump": "ACCEPT"}));
        let d = Iptables
            .decide(&a, vec![look(&[], 1, "")])
            .expect("decides");
        let plan = d.plan.expect("missing rule");
        assert_eq!(
            plan[0].words.join(" "),
            "-t filter -A INPUT -p tcp -j ACCEPT"
        );
        assert_eq!(d.result["rule"], "-p tcp -j ACCEPT");
        assert!(
            Iptables
                .decide(&a, vec![look(&[], 0, "")])
                .expect("decides")
                .plan
                .is_none()
        );
        let a =
            args(json!({"chain": "INPUT", "protocol": "tcp", "jump": "ACCEPT", "state": "absent"}));
        let plan = Iptables
            .decide(&a, vec![look(&[], 0, "")])
            .expect("decides")
            .plan
            .expect("present");
        assert_eq!(plan[0].words[2], "-D");
    }

    #[test]
    fn policies_and_chains() {
        let a = args(json!({"chain": "FORWARD", "policy": "DROP"}));
        let listed = "Chain FORWARD (policy ACCEPT)\ntarget prot opt source destination\n";
        let plan = Iptables
            .decide(&a, vec![look(&[], 0, listed)])
            .expect("decides")
            .plan
            .expect("differs");
        assert_eq!(plan[0].words.join(" "), "-t filter -P FORWARD DROP");
        let err = Iptables
            .decide(&a, vec![look(&[], 0, "Chain X (1 references)\n")])
            .expect_err("no policy");
        assert_eq!(err, "Can't detect current policy");
        let a = args(json!({"chain": "BOSUN", "chain_management": true}));
        let plan = Iptables
            .decide(&a, vec![look(&[], 1, "")])
            .expect("decides")
            .plan
            .expect("missing");
        assert_eq!(plan[0].words.join(" "), "-t filter -N BOSUN");
        let a = args(json!({"chain": "BOSUN"}));
        let d = Iptables
            .decide(&a, vec![look(&[], 1, "")])
            .expect("decides");
        assert_eq!(
            d.plan.map(|p| p.len()),
            Some(0),
            "changed without chain_management, as Ansible reports"
        );
    }

    #[test]
    fn versions() {
        assert!(version_ok("1.8.9 (nf_tables)"));
        assert!(!version_ok("1.4.21"));
    }
}
