//! `wait_for`: waits on the target for a port, a file, a string in a file or on a
//! socket, or for connections to drain. The control node keeps the clock and polls
//! the target with one small `/bin/sh` probe per attempt: listening sockets and
//! connections are read from `/proc/net/tcp*`, and a connection to another host (or
//! one whose banner must match `search_regex`) needs bash's `/dev/tcp` or `nc`.
//!
//! It implements [`Module`] and not the contract's `StateModule`: it changes nothing
//! and has no state to decide on; it waits, probing the target again and again until
//! the condition holds or the time runs out, which is not one query and one decision.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::typed::{TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};
use crate::pyre::{self, Anchor, Flags};

/// Waits for a condition.
pub struct WaitFor;

arg_enum! {
    /// What to wait for.
    pub enum State {
        /// The file is gone, or the port closed.
        Absent = "absent",
        /// No active connections to the port are left.
        Drained = "drained",
        /// The file exists, or the port is open.
        Present = "present",
        /// The same as `present`.
        Started = "started",
        /// The port is closed.
        Stopped = "stopped",
    }
}

module_args! {
    /// `wait_for`'s arguments.
    pub struct WaitForArgs {
        /// The host whose port to wait for.
        host: String => .default_str("127.0.0.1"),
        port: Option<i64>,
        /// The file to wait for.
        path: Option<String>,
        state: State => .default_str("started"),
        /// A regular expression the file or the port's banner must match.
        search_regex: Option<String>,
        /// Seconds to wait in all.
        timeout: i64 => .default_int(300),
        /// Seconds to wait before the first probe.
        delay: i64 => .default_int(0),
        /// Seconds between probes.
        sleep: i64 => .default_int(1),
        /// Seconds a connection may take.
        connect_timeout: i64 => .default_int(5),
        /// The message when time runs out.
        msg: Option<String>,
        /// The TCP states that count as active for `drained`.
        active_connection_states: Vec<String>,
        /// Remote hosts whose connections do not count for `drained`.
        exclude_hosts: Option<Vec<String>>,
    }
}

/// Exit status of a connect probe when no tool can connect.
const NO_TOOL: i32 = 127;

/// The TCP states `/proc/net/tcp` writes in hex, by name.
const TCP_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
    ("CLOSE", "07"),
    ("CLOSE_WAIT", "08"),
    ("LAST_ACK", "09"),
    ("LISTEN", "0A"),
    ("CLOSING", "0B"),
];

/// One socket line of `/proc/net/tcp` or `tcp6`.
#[derive(Debug, PartialEq, Eq)]
struct Socket {
    local_port: u16,
    remote: String,
    state: String,
}

/// Parses `/proc/net/tcp` and `/proc/net/tcp6` (headers are skipped).
fn parse_sockets(text: &str) -> Vec<Socket> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, remote, state) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
            let port = u16::from_str_radix(local.rsplit_once(':')?.1, 16).ok()?;
            Some(Socket {
                local_port: port,
                remote: remote.rsplit_once(':')?.0.to_string(),
                state: state.to_string(),
            })
        })
        .collect()
}

/// An IPv4 address as `/proc/net/tcp` writes it (little-endian hex), for
/// `exclude_hosts`; other names are compared as given.
fn proc_address(host: &str) -> String {
    match host.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => ip
            .octets()
            .iter()
            .rev()
            .map(|b| format!("{b:02X}"))
            .collect(),
        Err(_) => host.to_string(),
    }
}

/// Whether `host` names the target itself, where `/proc/net/tcp` tells the truth.
fn is_local(host: &str) -> bool {
    matches!(
        host,
        "127.0.0.1" | "localhost" | "0.0.0.0" | "::1" | "::" | ""
    )
}

/// What to wait for.
enum Target {
    /// Only time.
    Nothing,
    /// A file (and maybe a string in it).
    Path(String),
    /// A TCP port on a host.
    Port(String, u16),
}

/// What one probe saw.
enum Seen {
    /// The file or port is there; with the text to search, when asked for.
    Up(Option<String>),
    /// It is not.
    Down,
    /// Connections to the port that count as active.
    Active(usize),
}

#[async_trait]
impl Module for WaitFor {
    fn name(&self) -> &'static str {
        "wait_for"
    }

    fn params(&self) -> &'static [Param] {
        WaitForArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = WaitForArgs::from_args(args).map_err(ModuleError::Failed)?;
        let state = args.state;
        let host = args.host.clone();
        let path = args.path.as_deref();
        let port = args.port;
        let regex = args.search_regex.as_deref();
        check_arguments(&args).map_err(ModuleError::Failed)?;
        let target = match (path, port) {
            (Some(path), _) => Target::Path(path.to_string()),
            (None, Some(port)) => Target::Port(
                host.clone(),
                u16::try_from(port)
                    .map_err(|_| ModuleError::Failed(format!("port {port} is out of range")))?,
            ),
            (None, None) => Target::Nothing,
        };
        let pattern = regex
            .map(|r| {
                pyre::compile(
                    r,
                    Flags {
                        multiline: true,
                        ..Flags::default()
                    },
                    Anchor::Search,
                )
            })
            .transpose()
            .map_err(ModuleError::Failed)?;
        let timeout = Duration::from_secs(args.timeout.max(0) as u64);
        let pause = Duration::from_secs(args.sleep.max(0) as u64);
        let connect_timeout = args.connect_timeout.max(1);
        let active_states = active_states(&args.active_connection_states);
        let excluded: Vec<String> = args
            .exclude_hosts
            .iter()
            .flatten()
            .map(|h| proc_address(h))
            .collect();

        let look = Look {
            state,
            read: pattern.is_some(),
            connect_timeout,
            active_states: &active_states,
            excluded: &excluded,
        };
        let start = Instant::now();
        tokio::time::sleep(Duration::from_secs(args.delay.max(0) as u64)).await;
        let end = start + timeout;
        let wants_up = matches!(state, State::Started | State::Present);
        let mut outcome = super::ok(false);
        if let Target::Nothing = target {
            // Nothing to wait for: Ansible sleeps the whole timeout after the delay.
            tokio::time::sleep(timeout).await;
            outcome.insert("elapsed".into(), json!(start.elapsed().as_secs()));
            return Ok(outcome);
        }
        loop {
            let seen = probe(ctx, &target, &look).await?;
            let seen = match seen {
                Ok(seen) => seen,
                Err(msg) => return Ok(super::failed(msg)),
            };
            let done = match seen {
                Seen::Up(text) if wants_up => match (&pattern, text) {
                    (Some(pattern), Some(text)) => {
                        match pattern.search(&text).map_err(ModuleError::Failed)? {
                            Some(caps) => {
                                insert_groups(&mut outcome, &caps, pattern);
                                true
                            }
                            None => false,
                        }
                    }
                    (Some(_), None) => false,
                    (None, _) => true,
                },
                Seen::Down => !wants_up,
                Seen::Active(n) => n == 0,
                Seen::Up(_) => false,
            };
            if done {
                break;
            }
            let now = Instant::now();
            if now >= end {
                let mut failed = super::failed(
                    args.msg
                        .clone()
                        .unwrap_or_else(|| timeout_message(&target, state, regex)),
                );
                failed.insert("elapsed".into(), json!(start.elapsed().as_secs()));
                return Ok(failed);
            }
            tokio::time::sleep(pause.min(end - now)).await;
        }
        outcome.insert("elapsed".into(), json!(start.elapsed().as_secs()));
        outcome.insert("state".into(), json!(state.as_str()));
        outcome.insert("search_regex".into(), json!(regex));
        outcome.insert("path".into(), json!(path));
        outcome.insert("port".into(), json!(port));
        Ok(outcome)
    }
}

/// Refuses combinations Ansible's module refuses, in its words.
fn check_arguments(args: &WaitForArgs) -> Result<(), String> {
    let path = args.path.is_some();
    let port = args.port.is_some();
    if path && port {
        return Err("port and path parameter can not both be passed to wait_for".into());
    }
    if path && args.state == State::Stopped {
        return Err(
            "state=stopped should only be used for checking a port in the wait_for module".into(),
        );
    }
    if path && args.state == State::Drained {
        return Err(
            "state=drained should only be used for checking a port in the wait_for module".into(),
        );
    }
    if args.exclude_hosts.is_some() && args.state != State::Drained {
        return Err("exclude_hosts should only be with state=drained".into());
    }
    if args.state == State::Drained && !port {
        return Err("state=drained needs a port".into());
    }
    Ok(())
}

/// The hex codes of the states counted as active connections (`names`, or Ansible's
/// default list when empty).
fn active_states(names: &[String]) -> Vec<&'static str> {
    const DEFAULT: &[&str] = &[
        "ESTABLISHED",
        "FIN_WAIT1",
        "FIN_WAIT2",
        "SYN_RECV",
        "SYN_SENT",
        "TIME_WAIT",
    ];
    let counts = |name: &str| match names.is_empty() {
        true => DEFAULT.contains(&name),
        false => names.iter().any(|n| n.eq_ignore_ascii_case(name)),
    };
    TCP_STATES
        .iter()
        .filter(|(name, _)| counts(name))
        .map(|(_, code)| *code)
        .collect()
}

/// Adds `match_groups` and `match_groupdict` as Python's `groups()`/`groupdict()`.
fn insert_groups(
    outcome: &mut Map<String, Json>,
    caps: &pyre::Captures<'_>,
    pattern: &pyre::Pattern,
) {
    let groups: Vec<Json> = (1..pattern.captures_len())
        .map(|i| caps.get(i).map_or(Json::Null, |m| json!(m.as_str())))
        .collect();
    outcome.insert("match_groups".into(), Json::Array(groups));
    let names = pattern.group_names();
    let mut dict = Map::new();
    for name in names {
        dict.insert(
            name.clone(),
            caps.name(&name).map_or(Json::Null, |m| json!(m.as_str())),
        );
    }
    outcome.insert("match_groupdict".into(), Json::Object(dict));
}

/// Ansible's message when time ran out.
fn timeout_message(target: &Target, state: State, regex: Option<&str>) -> String {
    match (target, state, regex) {
        (Target::Path(path), State::Absent, _) => {
            format!("Timeout when waiting for {path} to be absent.")
        }
        (Target::Path(path), _, Some(regex)) => {
            format!("Timeout when waiting for search string {regex} in {path}")
        }
        (Target::Path(path), _, None) => format!("Timeout when waiting for file {path}"),
        (Target::Port(host, port), State::Stopped | State::Absent, _) => {
            format!("Timeout when waiting for {host}:{port} to stop.")
        }
        (Target::Port(host, port), State::Drained, _) => {
            format!("Timeout when waiting for {host}:{port} to drain")
        }
        (Target::Port(host, port), _, Some(regex)) => {
            format!("Timeout when waiting for search string {regex} in {host}:{port}")
        }
        (Target::Port(host, port), _, None) => format!("Timeout when waiting for {host}:{port}"),
        (Target::Nothing, _, _) => "Timeout".into(),
    }
}

/// How to look.
struct Look<'a> {
    state: State,
    read: bool,
    connect_timeout: i64,
    active_states: &'a [&'static str],
    excluded: &'a [String],
}

/// Looks once. `Err` names a tool the target lacks.
async fn probe(
    ctx: &ModuleContext<'_>,
    target: &Target,
    look: &Look<'_>,
) -> Result<Result<Seen, String>, ModuleError> {
    let read = look.read;
    match target {
        Target::Nothing => Ok(Ok(Seen::Up(None))),
        Target::Path(path) => {
            let p = quote(path);
            let script = if read {
                format!("[ -e {p} ] || exit 1; cat -- {p} 2>/dev/null; exit 0")
            } else {
                format!("[ -e {p} ]")
            };
            let out = ctx.conn.exec(&Command::new(script)).await?;
            Ok(Ok(match out.rc {
                0 => Seen::Up(read.then(|| out.stdout_text())),
                _ => Seen::Down,
            }))
        }
        Target::Port(host, port) if look.state == State::Drained || (is_local(host) && !read) => {
            let out = ctx
                .conn
                .exec(&Command::new(
                    "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null",
                ))
                .await?;
            let sockets = parse_sockets(&out.stdout_text());
            let mine = sockets.iter().filter(|s| s.local_port == *port);
            Ok(Ok(if look.state == State::Drained {
                Seen::Active(
                    mine.filter(|s| look.active_states.contains(&s.state.as_str()))
                        .filter(|s| !look.excluded.contains(&s.remote))
                        .count(),
                )
            } else if mine.into_iter().any(|s| s.state == "0A") {
                Seen::Up(None)
            } else {
                Seen::Down
            }))
        }
        Target::Port(host, port) => {
            let script = connect_script(host, *port, read, look.connect_timeout);
            let out = ctx.conn.exec(&Command::new(script)).await?;
            Ok(match out.rc {
                NO_TOOL => Err(format!(
                    "wait_for needs bash (with /dev/tcp) or nc on the target to connect to {host}:{port}; install bash or netcat-openbsd"
                )),
                0 => Ok(Seen::Up(read.then(|| out.stdout_text()))),
                _ => Ok(Seen::Down),
            })
        }
    }
}

/// Connects to `host:port` with bash's `/dev/tcp` (or `nc`), printing what the peer
/// sends within `connect_timeout` seconds when `read`; exit 0 when connected.
fn connect_script(host: &str, port: u16, read: bool, connect_timeout: i64) -> String {
    let h = quote(host);
    let reader = if read { "; cat <&3" } else { "" };
    format!(
        "if command -v bash >/dev/null 2>&1 && bash -c '[ -n \"$BASH_VERSION\" ]' 2>/dev/null; then \
           timeout {connect_timeout} bash -c 'exec 3<>/dev/tcp/$0/$1 || exit 1{reader}; exit 0' {h} {port}; \
           rc=$?; [ $rc = 124 ] && [ {read} = 1 ] && rc=0; exit $rc; \
         elif command -v nc >/dev/null 2>&1; then \
           if [ {read} = 1 ]; then timeout {connect_timeout} nc -w {connect_timeout} {h} {port} </dev/null; [ $? != 1 ]; \
           else nc -z -w {connect_timeout} {h} {port}; fi; \
         else exit {NO_TOOL}; fi",
        read = u8::from(read)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROC: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0164A8C0:D431 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
";

    #[test]
    fn proc_net_tcp_parses() {
        let sockets = parse_sockets(PROC);
        assert_eq!(sockets.len(), 2);
        assert_eq!(sockets[0].local_port, 8080);
        assert_eq!(sockets[0].state, "0A");
        assert_eq!(sockets[1].remote, proc_address("192.168.100.1"));
    }

    fn typed(value: Json) -> WaitForArgs {
        crate::modules::typed::from_json(value).expect("valid arguments")
    }

    #[test]
    fn arguments_ansible_refuses_are_refused() {
        let check = |value: Json| check_arguments(&typed(value));
        assert_eq!(
            check(json!({"port": 80, "path": "/x"})),
            Err("port and path parameter can not both be passed to wait_for".into())
        );
        assert_eq!(
            check(json!({"port": 80, "exclude_hosts": ["10.0.0.1"]})),
            Err("exclude_hosts should only be with state=drained".into())
        );
        assert_eq!(
            check(json!({"state": "drained"})),
            Err("state=drained needs a port".into())
        );
        assert_eq!(check(json!({"port": 80, "state": "drained"})), Ok(()));
        let defaults = typed(json!({"port": 80}));
        assert_eq!(
            (defaults.host.as_str(), defaults.timeout, defaults.sleep),
            ("127.0.0.1", 300, 1)
        );
    }

    #[test]
    fn active_states_default_to_ansibles_list() {
        assert_eq!(active_states(&[]), ["01", "02", "03", "04", "05", "06"]);
        assert_eq!(active_states(&["listen".to_string()]), ["0A"]);
    }

    #[test]
    fn timeouts_are_worded_as_ansible_words_them() {
        let port = Target::Port("127.0.0.1".into(), 81);
        assert_eq!(
            timeout_message(&port, State::Started, None),
            "Timeout when waiting for 127.0.0.1:81"
        );
        assert_eq!(
            timeout_message(&port, State::Stopped, None),
            "Timeout when waiting for 127.0.0.1:81 to stop."
        );
        let path = Target::Path("/tmp/x".into());
        assert_eq!(
            timeout_message(&path, State::Present, Some("ready")),
            "Timeout when waiting for search string ready in /tmp/x"
        );
        assert_eq!(
            timeout_message(&path, State::Absent, None),
            "Timeout when waiting for /tmp/x to be absent."
        );
    }
}
