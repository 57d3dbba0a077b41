//! The SSH connection (russh): one connection per host, opened on first use and kept
//! for the run. Commands go through one persistent `/bin/sh` on it (about 1 ms each,
//! whatever the account's rc files cost), their standard input and file uploads too
//! (base64 in the script); only inputs above [`SHELL_STDIN_MAX`] use short-lived exec
//! channels, capped below sshd's `MaxSessions`.

use std::net::Ipv6Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use async_trait::async_trait;
use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use tokio::sync::{Mutex, Semaphore};

use super::quickack::{QuickAckStream, QuickAcks};
use super::{Command, CommandOutput, Connection, ConnectionError, put_in_place, quote, receive};

/// Channels opened at once on one connection (the shell included); sshd's default
/// `MaxSessions` is 10.
const MAX_CHANNELS: usize = 8;

/// The largest standard input (file uploads included) sent through the persistent
/// shell, base64-encoded in the script; larger inputs stream on an exec channel.
/// Measured on a namespace host with an empty rc: the two ways cost the same at
/// 64 KiB, the shell 1.5x more at 512 KiB (dash parses the here-document); an exec
/// channel costs ~100 ms more wherever the account's rc files are slow.
const SHELL_STDIN_MAX: usize = 256 << 10;

/// How host keys are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Unknown keys are refused (the default).
    Strict,
    /// Unknown keys are added to known_hosts; changed keys are refused.
    AcceptNew,
    /// No checking (`host_key_checking = false`).
    Off,
}

/// Keepalives, as OpenSSH's `ServerAliveInterval` and `ServerAliveCountMax`: after
/// `interval` without a word from the server bosun asks for one, and gives the host up
/// as unreachable when `count` questions in a row go unanswered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Keepalive {
    /// Silence before asking; zero turns keepalives off.
    pub interval: Duration,
    /// Unanswered questions before the host counts as gone.
    pub count: usize,
}

impl Default for Keepalive {
    /// A dropped link is noticed in 10 to 15 seconds, whatever the command does: sshd
    /// answers keepalives while it runs.
    fn default() -> Keepalive {
        Keepalive {
            interval: Duration::from_secs(5),
            count: 2,
        }
    }
}

/// Everything needed to reach one host.
#[derive(Clone, Debug)]
pub struct SshTarget {
    /// Address to connect to.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Private keys to try, in order (explicit ones first, then the defaults).
    pub key_files: Vec<PathBuf>,
    /// Whether the keys were named explicitly (then a missing one is an error).
    pub explicit_key: bool,
    /// Password, tried last.
    pub password: Option<String>,
    /// Host key checking.
    pub policy: HostKeyPolicy,
    /// known_hosts files: the first is where new keys are learned.
    pub known_hosts: Vec<PathBuf>,
    /// Connect (and authenticate) timeout.
    pub timeout: Duration,
    /// How a link that silently dropped is noticed.
    pub keepalive: Keepalive,
    /// `ProxyJump`: the host to tunnel through, if any.
    pub jump: Option<Box<SshTarget>>,
}

/// A connection to one host over SSH.
pub struct SshConnection {
    target: SshTarget,
    session: Mutex<Option<Arc<Session>>>,
}

/// An open, authenticated connection.
struct Session {
    handle: Handle<HostKeyCheck>,
    shell: Mutex<Option<Shell>>,
    /// The persistent shell's PID while a command runs in it (0 when idle): the
    /// children of that shell are what [`Connection::interrupt`] stops.
    running: AtomicU32,
    channels: Semaphore,
    /// The jump host's session the connection is tunnelled through, kept open.
    _jump: Option<Box<Session>>,
    /// The stream's `TCP_QUICKACK` renewals, stopped once a command was sent (none
    /// through a jump host).
    quick_acks: Option<QuickAcks>,
}

impl Session {
    /// A command request went out: sshd has turned `TCP_NODELAY` on, so acknowledging
    /// at once no longer saves anything.
    fn commands_sent(&self) {
        if let Some(quick_acks) = &self.quick_acks {
            quick_acks.stop();
        }
    }
}

/// The persistent shell, its framing nonce and its PID (0 until its first command
/// reports it).
struct Shell {
    channel: russh::Channel<client::Msg>,
    nonce: String,
    pid: u32,
}

impl SshConnection {
    /// A connection that will open on first use.
    pub fn new(target: SshTarget) -> SshConnection {
        SshConnection {
            target,
            session: Mutex::new(None),
        }
    }

    /// The open session, connecting (with retries) if needed.
    async fn session(&self) -> Result<Arc<Session>, ConnectionError> {
        let mut slot = self.session.lock().await;
        if let Some(session) = slot.as_ref().filter(|s| !s.handle.is_closed()) {
            return Ok(session.clone());
        }
        let session = Arc::new(connect(&self.target).await?);
        keep_sessions(Some(&session), None);
        *slot = Some(session.clone());
        Ok(session)
    }

    /// Runs a script in the persistent shell, with `stdin` as its standard input.
    async fn run_in_shell(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CommandOutput, ConnectionError> {
        super::round_trips::record();
        let session = self.session().await?;
        let mut shell_slot = session.shell.lock().await;
        if shell_slot.is_none() {
            *shell_slot = Some(open_shell(&session).await?);
        }
        let Some(shell) = shell_slot.as_mut() else {
            return Err(ConnectionError::Unreachable(
                "could not open a shell".into(),
            ));
        };
        let result = shell.run(script, stdin, &session.running).await;
        if result.is_err() {
            *shell_slot = None;
        }
        result
    }

    /// Runs a script with `stdin`: in the persistent shell, or on an exec channel of its
    /// own when the input is too large to travel inside the script.
    async fn run_with_stdin(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<CommandOutput, ConnectionError> {
        match stdin {
            Some(data) if data.len() > SHELL_STDIN_MAX => self.run_on_channel(script, data).await,
            _ => self.run_in_shell(script, stdin).await,
        }
    }

    /// Runs a script on its own exec channel, feeding `stdin`.
    async fn run_on_channel(
        &self,
        script: &str,
        stdin: &[u8],
    ) -> Result<CommandOutput, ConnectionError> {
        super::round_trips::record();
        let session = self.session().await?;
        let _permit = session
            .channels
            .acquire()
            .await
            .map_err(|_| unreachable("the connection is closing"))?;
        let mut channel = session
            .handle
            .channel_open_session()
            .await
            .map_err(|e| unreachable(&format!("cannot open a channel: {e}")))?;
        channel
            .exec(true, format!("/bin/sh -c {}", quote(script)))
            .await
            .map_err(|e| unreachable(&format!("cannot start a command: {e}")))?;
        session.commands_sent();
        if !stdin.is_empty() {
            channel
                .data(stdin)
                .await
                .map_err(|e| unreachable(&format!("cannot send data: {e}")))?;
        }
        channel
            .eof()
            .await
            .map_err(|e| unreachable(&format!("cannot send data: {e}")))?;
        let mut output = CommandOutput {
            rc: -1,
            ..CommandOutput::default()
        };
        let mut status = None;
        while let Some(message) = channel.wait().await {
            match message {
                ChannelMsg::Data { data } => output.stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => output.stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status as i32),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        output.rc = status.unwrap_or(-1);
        Ok(output)
    }
}

fn unreachable(message: &str) -> ConnectionError {
    ConnectionError::Unreachable(message.to_string())
}

#[async_trait]
impl Connection for SshConnection {
    fn ssh_target(&self) -> Option<&SshTarget> {
        Some(&self.target)
    }

    fn become_spec(&self) -> Option<&super::BecomeSpec> {
        None
    }

    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError> {
        let script = command.full_script();
        self.run_with_stdin(&script, command.stdin.as_deref()).await
    }

    async fn put(&self, data: &[u8], dest: &str, mode: Option<u32>) -> Result<(), ConnectionError> {
        let (dir, name) = match dest.rsplit_once('/') {
            Some(("", name)) => ("".to_string(), name.to_string()),
            Some((dir, name)) => (dir.to_string(), name.to_string()),
            None => (".".to_string(), dest.to_string()),
        };
        let temp = format!("{dir}/.{name}.bosun-{}.part", std::process::id());
        let (d, t) = (quote(dest), quote(&temp));
        let mode = match mode {
            Some(mode) => format!("{mode:o}"),
            None => format!(
                "$( (stat -c %a -- {d} 2>/dev/null) || printf '%o' $(( 0666 & ~$(umask) )) )"
            ),
        };
        let script = format!("m={mode}; {}{}", receive(&t, data), put_in_place(&t, &d));
        let out = self.run_with_stdin(&script, Some(data)).await?;
        if out.rc != 0 {
            return Err(ConnectionError::Failed(format!(
                "cannot write {dest}: {}",
                out.stderr_text().trim()
            )));
        }
        Ok(())
    }

    fn endpoint(&self) -> super::Endpoint {
        let target = &self.target;
        let mut details = vec![format!("port {}", target.port)];
        let keys: Vec<String> = target
            .key_files
            .iter()
            .filter(|key| target.explicit_key || key.exists())
            .map(|key| key.display().to_string())
            .collect();
        if !keys.is_empty() {
            details.push(format!("keys {}", keys.join(" ")));
        }
        if target.password.is_some() {
            details.push("a password".into());
        }
        details.push(format!("timeout {}s", target.timeout.as_secs()));
        if let Some(jump) = &target.jump {
            details.push(format!("via {}@{}:{}", jump.user, jump.host, jump.port));
        }
        super::Endpoint {
            address: Some(target.host.clone()),
            kind: "SSH",
            user: target.user.clone(),
            details,
        }
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ConnectionError> {
        let out = self
            .run_in_shell(&format!("cat -- {}", quote(path)), None)
            .await?;
        if out.rc != 0 {
            return Err(ConnectionError::Failed(format!(
                "cannot read {path}: {}",
                out.stderr_text().trim()
            )));
        }
        Ok(out.stdout)
    }

    async fn interrupt(&self) {
        let Some(session) = self.session.lock().await.clone() else {
            return;
        };
        interrupt_session(&session).await;
    }

    async fn close(&self) {
        let session = self.session.lock().await.take();
        if let Some(session) = session {
            keep_sessions(None, Some(&session));
            if let Some(shell) = session.shell.lock().await.take() {
                let _ = shell.channel.eof().await;
            }
            let _ = session
                .handle
                .disconnect(Disconnect::ByApplication, "bosun is done", "en")
                .await;
        }
    }
}

impl Shell {
    /// Runs `script` in a subshell, its standard input `stdin` (or nothing), and reads
    /// until both streams' end markers.
    ///
    /// `stdin` travels in the script as a base64 here-document that a shell function
    /// decodes into a pipe: no exec channel, so no login shell per upload.
    ///
    /// The command runs in the background of the shell, which waits for it: `running`
    /// holds the shell's PID while it runs (the shell prints it on standard error
    /// with its first command only, so a command's replies are its output and the
    /// two end markers, nothing more).
    async fn run(
        &mut self,
        script: &str,
        stdin: Option<&[u8]>,
        running: &AtomicU32,
    ) -> Result<CommandOutput, ConnectionError> {
        let nonce = &self.nonce;
        let mut framed = String::new();
        if self.pid == 0 {
            framed.push_str(&format!("printf '\\n__PID_%d_{nonce}__\\n' $$ >&2\n"));
        }
        running.store(self.pid, Ordering::SeqCst);
        match stdin {
            None => framed.push_str(&format!("( {script}\n) </dev/null &\n")),
            Some(data) => {
                let end = format!("__IN_{nonce}__");
                framed.push_str(&format!("__bosun_in() {{ base64 -d <<'{end}'\n"));
                push_base64_lines(&mut framed, data);
                framed.push_str(&format!("{end}\n}}\n{{ __bosun_in | ( {script}\n); }} &\n"));
            }
        }
        framed.push_str(&format!(
            "wait $!\nprintf '\\n__END_%d_{nonce}__\\n' $?; printf '\\n__EEND_{nonce}__\\n' >&2\n"
        ));
        self.channel
            .data(framed.as_bytes())
            .await
            .map_err(|e| unreachable(&format!("the connection broke: {e}")))?;
        let out_end = format!("_{nonce}__\n");
        let err_end = format!("\n__EEND_{nonce}__\n");
        let pid_marker = (b"\n__PID_".as_slice(), format!("_{nonce}__\n"));
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        loop {
            let done_out = stdout.ends_with(out_end.as_bytes());
            let done_err = stderr.ends_with(err_end.as_bytes());
            if done_out && done_err {
                break;
            }
            match self.channel.wait().await {
                Some(ChannelMsg::Data { data }) => stdout.extend_from_slice(&data),
                Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                    stderr.extend_from_slice(&data);
                    if self.pid == 0
                        && let Some(pid) =
                            take_marker(&mut stderr, pid_marker.0, pid_marker.1.as_bytes())
                    {
                        running.store(pid, Ordering::SeqCst);
                        self.pid = pid;
                    }
                }
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => {
                    return Err(unreachable(
                        "the remote shell ended unexpectedly (host down or killed?)",
                    ));
                }
                Some(_) => {}
            }
        }
        let marker = b"\n__END_";
        let at = find_last(&stdout, marker).ok_or_else(|| unreachable("garbled shell output"))?;
        let rc_text = String::from_utf8_lossy(&stdout[at + marker.len()..]);
        let rc = rc_text
            .split('_')
            .next()
            .and_then(|d| d.parse().ok())
            .unwrap_or(-1);
        stdout.truncate(at);
        stderr.truncate(stderr.len() - err_end.len());
        running.store(0, Ordering::SeqCst);
        Ok(CommandOutput { rc, stdout, stderr })
    }
}

/// Finds `prefix` + a number + `suffix` in `buf`, removes it and returns the number.
fn take_marker(buf: &mut Vec<u8>, prefix: &[u8], suffix: &[u8]) -> Option<u32> {
    let start = find_last(buf, prefix)?;
    let digits = start + prefix.len();
    let len = buf[digits..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if !buf[digits + len..].starts_with(suffix) {
        return None;
    }
    let number = std::str::from_utf8(&buf[digits..digits + len])
        .ok()?
        .parse()
        .ok()?;
    buf.drain(start..digits + len + suffix.len());
    Some(number)
}

/// How long a command may take to end after SIGTERM before it gets SIGKILL.
const TERM_GRACE_TENTHS: u32 = 20;

/// Stops the command running in `session`'s persistent shell, and everything it
/// started that still descends from it: SIGTERM to the shell's children and their
/// descendants at once (sudo and su pass it on to the command they run), SIGKILL to
/// what is left after a grace time. Runs on an exec channel of its own, since the
/// shell is busy; the shell survives.
async fn interrupt_session(session: &Session) {
    let pid = session.running.load(Ordering::SeqCst);
    if pid == 0 {
        return;
    }
    let script = format!(
        "tree() {{ echo \"$1\"; for c in $(cat /proc/\"$1\"/task/*/children 2>/dev/null); do tree \"$c\"; done; }}; \
         alive() {{ for p in $t; do kill -0 \"$p\" 2>/dev/null && return 0; done; return 1; }}; \
         t=$(for c in $(cat /proc/{pid}/task/*/children 2>/dev/null); do tree \"$c\"; done); kill -TERM $t 2>/dev/null; i=0; \
         while [ $i -lt {TERM_GRACE_TENTHS} ] && alive; do sleep 0.1; i=$((i+1)); done; \
         kill -KILL $t 2>/dev/null; true"
    );
    let Ok(mut channel) = session.handle.channel_open_session().await else {
        return;
    };
    if channel.exec(true, script).await.is_err() {
        return;
    }
    while let Some(message) = channel.wait().await {
        if matches!(message, ChannelMsg::Close | ChannelMsg::ExitStatus { .. }) {
            break;
        }
    }
}

/// Every open session, kept open until closed, so that a signal to bosun can stop what
/// runs on every host even after the run that opened them is dropped.
static SESSIONS: std::sync::LazyLock<StdMutex<Vec<Arc<Session>>>> =
    std::sync::LazyLock::new(|| StdMutex::new(Vec::new()));

/// Registers `session`, forgetting those that are closed or `ended`.
fn keep_sessions(added: Option<&Arc<Session>>, ended: Option<&Arc<Session>>) {
    if let Ok(mut sessions) = SESSIONS.lock() {
        sessions.retain(|s| !s.handle.is_closed() && !ended.is_some_and(|e| Arc::ptr_eq(s, e)));
        sessions.extend(added.cloned());
    }
}

/// Stops the commands running on every open SSH session (Ctrl-C, SIGTERM).
pub async fn interrupt_all() {
    let sessions: Vec<Arc<Session>> = match SESSIONS.lock() {
        Ok(sessions) => sessions.clone(),
        Err(_) => Vec::new(),
    };
    futures::future::join_all(sessions.iter().map(|s| interrupt_session(s))).await;
}

/// Appends `data` in base64, in lines of 76 characters.
fn push_base64_lines(out: &mut String, data: &[u8]) {
    use base64::Engine;
    for chunk in data.chunks(57) {
        base64::engine::general_purpose::STANDARD.encode_string(chunk, out);
        out.push('\n');
    }
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

/// Opens the persistent shell on a session channel.
async fn open_shell(session: &Session) -> Result<Shell, ConnectionError> {
    let channel = session
        .handle
        .channel_open_session()
        .await
        .map_err(|e| unreachable(&format!("cannot open a channel: {e}")))?;
    channel
        .exec(true, "exec /bin/sh")
        .await
        .map_err(|e| unreachable(&format!("cannot start /bin/sh: {e}")))?;
    session.commands_sent();
    let nonce = format!("{:016x}", rand_u64());
    Ok(Shell {
        channel,
        nonce,
        pid: 0,
    })
}

/// A random-enough number for framing nonces (not for cryptography).
fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    hasher.finish()
}

/// Checks the server's key against known_hosts as the policy says; remembers why a
/// key was refused so the error can say it.
struct HostKeyCheck {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    known_hosts: Vec<PathBuf>,
    refusal: Arc<StdMutex<Option<String>>>,
    /// With checking off, the warning for a key that differs from the recorded one:
    /// the connection goes on, but no password is sent (as OpenSSH does).
    changed: Arc<StdMutex<Option<String>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let public = offered.public_key();
        let key = &public;
        let name = if self.port == 22 {
            self.host.clone()
        } else {
            format!("[{}]:{}", self.host, self.port)
        };
        let fingerprint = key.fingerprint(HashAlg::Sha256);
        let names = known_hosts_names(&self.host);
        let lookups = self
            .known_hosts
            .iter()
            .flat_map(|f| names.iter().map(move |n| (f, n)));
        for (file, host) in lookups {
            match russh::keys::check_known_hosts_path(host, self.port, key, file) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(russh::keys::Error::KeyChanged { line }) => {
                    let changed = format!(
                        "REMOTE HOST IDENTIFICATION HAS CHANGED for {name}! The {} key is now {fingerprint}, but {}:{line} records another. Someone could be eavesdropping (man-in-the-middle), or the host was reinstalled.",
                        key.algorithm(),
                        file.display()
                    );
                    if self.policy == HostKeyPolicy::Off {
                        if let Ok(mut slot) = self.changed.lock() {
                            *slot = Some(format!(
                                "{changed} Host key checking is off, so bosun connects, but password authentication is disabled to avoid man-in-the-middle attacks; if the change is expected, remove that line (ssh-keygen -R '{name}')."
                            ));
                        }
                        return Ok(true);
                    }
                    self.refuse(format!(
                        "{changed} bosun refuses to connect; if the change is expected, remove that line (ssh-keygen -R '{name}')."
                    ));
                    return Ok(false);
                }
                Err(_) => {}
            }
        }
        if self.policy == HostKeyPolicy::Off {
            return Ok(true);
        }
        if self.policy == HostKeyPolicy::AcceptNew
            && let Some(file) = self.known_hosts.first()
        {
            if let Some(parent) = file.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            if russh::keys::known_hosts::learn_known_hosts_path(&self.host, self.port, key, file)
                .is_ok()
            {
                return Ok(true);
            }
        }
        self.refuse(format!(
            "the host key of {name} is unknown ({} {fingerprint}). Check it, then accept it with --accept-new-host-keys (adds it to {}), or turn checking off with host_key_checking = false in bosun.toml/ansible.cfg or BOSUN_HOST_KEY_CHECKING=false.",
            key.algorithm(),
            self.known_hosts.first().map(|p| p.display().to_string()).unwrap_or_default()
        ));
        Ok(false)
    }
}

impl HostKeyCheck {
    fn refuse(&self, message: String) {
        if let Ok(mut slot) = self.refusal.lock() {
            *slot = Some(message);
        }
    }
}

/// The address to connect to: `host` without the brackets an IPv6 address may come in
/// (`ansible_host=[2001:db8::1]`, a `ProxyJump` hop `[2001:db8::1]:22`).
fn bare_host(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .filter(|h| h.parse::<Ipv6Addr>().is_ok())
        .unwrap_or(host)
}

/// `host:port` as ssh writes it, an IPv6 address in brackets: `[2001:db8::1]:22`.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The names `host` may have in known_hosts: as given and, for an IPv6 address written
/// otherwise (`2001:DB8:0::1`), its canonical form (`2001:db8::1`, RFC 5952), which is
/// how ssh records an address it checks (`CheckHostIP`) and how netns-hosts.sh writes
/// them. russh adds the `[...]:port` form for ports other than 22.
fn known_hosts_names(host: &str) -> Vec<String> {
    let mut names = vec![host.to_string()];
    if let Ok(addr) = host.parse::<Ipv6Addr>()
        && addr.to_string() != host
    {
        names.push(addr.to_string());
    }
    names
}

/// Handshakes in flight to one sshd at most: below OpenSSH's default `MaxStartups`
/// (10), so many inventory names for one server never trip its connection dropping.
const HANDSHAKES_PER_SERVER: usize = 8;

/// One semaphore per `host:port`, limiting concurrent handshakes to that server.
static HANDSHAKES: std::sync::LazyLock<
    StdMutex<std::collections::HashMap<String, Arc<Semaphore>>>,
> = std::sync::LazyLock::new(|| StdMutex::new(std::collections::HashMap::new()));

fn handshake_gate(target: &SshTarget) -> Arc<Semaphore> {
    let key = host_port(bare_host(&target.host), target.port);
    match HANDSHAKES.lock() {
        Ok(mut gates) => gates
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(HANDSHAKES_PER_SERVER)))
            .clone(),
        Err(_) => Arc::new(Semaphore::new(HANDSHAKES_PER_SERVER)),
    }
}

/// Connects and authenticates, at most [`HANDSHAKES_PER_SERVER`] at a time per server,
/// retrying with jittered backoff when sshd drops the connection anyway (a lower
/// `MaxStartups`, other clients).
async fn connect(target: &SshTarget) -> Result<Session, ConnectionError> {
    let gate = handshake_gate(target);
    let mut delay = Duration::from_millis(50);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let permit = gate.acquire().await.ok();
        let result = tokio::time::timeout(target.timeout, connect_once(target)).await;
        drop(permit);
        match result {
            Ok(Ok(session)) => return Ok(session),
            Ok(Err(Attempt::Final(message))) => return Err(unreachable(&message)),
            Ok(Err(Attempt::Retry(message))) if attempt >= 10 => return Err(unreachable(&message)),
            Ok(Err(Attempt::Retry(_))) => {}
            Err(_) => {
                return Err(unreachable(&format!(
                    "Failed to connect to the host via ssh: connection to {} timed out after {}s",
                    host_port(bare_host(&target.host), target.port),
                    target.timeout.as_secs()
                )));
            }
        }
        let jitter = Duration::from_millis(rand_u64() % 100);
        tokio::time::sleep(delay + jitter).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

/// Whether a failed attempt is worth repeating.
enum Attempt {
    Retry(String),
    Final(String),
}

/// Bytes one read from the socket may bring ahead of what russh asked for.
const READ_BUFFER: usize = 16 * 1024;

async fn connect_once(target: &SshTarget) -> Result<Session, Attempt> {
    let host = bare_host(&target.host);
    let config = Arc::new(client::Config {
        nodelay: true,
        keepalive_interval: Some(target.keepalive.interval).filter(|i| !i.is_zero()),
        keepalive_max: target.keepalive.count,
        ..client::Config::default()
    });
    let refusal = Arc::new(StdMutex::new(None));
    let changed = Arc::new(StdMutex::new(None));
    let check = HostKeyCheck {
        host: host.to_string(),
        port: target.port,
        policy: target.policy,
        known_hosts: target.known_hosts.clone(),
        refusal: refusal.clone(),
        changed: changed.clone(),
    };
    let mut quick_acks = None;
    let (connected, jump) = match &target.jump {
        None => {
            let stream = QuickAckStream::connect(host, target.port)
                .await
                .map_err(|err| {
                    let message = format!(
                        "Failed to connect to the host via ssh: {}: {err}",
                        host_port(host, target.port)
                    );
                    if err.kind() == std::io::ErrorKind::ConnectionReset {
                        Attempt::Retry(message)
                    } else {
                        Attempt::Final(message)
                    }
                })?;
            quick_acks = Some(stream.renewals());
            // russh reads each packet with two exact reads (length, then body): a
            // buffer lets one system call bring the several packets a command's
            // replies make (PID, output, end markers) instead of two per packet.
            let stream = tokio::io::BufReader::with_capacity(READ_BUFFER, stream);
            (client::connect_stream(config, stream, check).await, None)
        }
        Some(jump_target) => {
            let jump = Box::pin(connect(jump_target)).await.map_err(|err| {
                Attempt::Final(format!(
                    "cannot reach the jump host {}: {err}",
                    jump_target.host
                ))
            })?;
            let channel = jump
                .handle
                .channel_open_direct_tcpip(host, u32::from(target.port), "127.0.0.1", 0)
                .await
                .map_err(|err| {
                    Attempt::Final(format!(
                        "the jump host {} cannot reach {}: {err}",
                        jump_target.host,
                        host_port(host, target.port)
                    ))
                })?;
            (
                client::connect_stream(config, channel.into_stream(), check).await,
                Some(Box::new(jump)),
            )
        }
    };
    let mut handle = match connected {
        Ok(handle) => handle,
        Err(err) => {
            if let Some(message) = refusal.lock().ok().and_then(|mut r| r.take()) {
                return Err(Attempt::Final(message));
            }
            let text = err.to_string();
            let message = format!(
                "Failed to connect to the host via ssh: {}: {text}",
                host_port(host, target.port)
            );
            let transient = matches!(err, russh::Error::Disconnect | russh::Error::HUP)
                || text.contains("reset")
                || text.contains("end of file")
                || text.contains("EOF");
            return Err(if transient {
                Attempt::Retry(message)
            } else {
                Attempt::Final(message)
            });
        }
    };
    let key_changed = changed.lock().ok().and_then(|mut c| c.take());
    if let Some(warning) = &key_changed {
        eprintln!("[WARNING]: {warning}");
    }
    authenticate(&mut handle, target, key_changed.is_none())
        .await
        .map_err(Attempt::Final)?;
    Ok(Session {
        handle,
        shell: Mutex::new(None),
        running: AtomicU32::new(0),
        channels: Semaphore::new(MAX_CHANNELS - 1),
        _jump: jump,
        quick_acks,
    })
}

/// Tries keys, then the agent, then the password (unless `password_allowed` is false:
/// the host's key changed and checking is off).
async fn authenticate(
    handle: &mut Handle<HostKeyCheck>,
    target: &SshTarget,
    password_allowed: bool,
) -> Result<(), String> {
    let user = target.user.clone();
    let rsa_hash = handle
        .best_supported_rsa_hash()
        .await
        .ok()
        .flatten()
        .flatten();
    let mut tried = Vec::new();
    for path in &target.key_files {
        if !path.exists() {
            if target.explicit_key {
                return Err(format!("the private key {} does not exist", path.display()));
            }
            continue;
        }
        let key = match russh::keys::load_secret_key(path, None) {
            Ok(key) => key,
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let prompt = format!("Enter passphrase for key '{}': ", path.display());
                match super::prompt::secret(&prompt).and_then(|passphrase| {
                    russh::keys::load_secret_key(path, Some(&passphrase)).ok()
                }) {
                    Some(key) => key,
                    None => {
                        tried.push(format!(
                            "{} (encrypted: load it into ssh-agent, or run bosun on a terminal to be asked for its passphrase)",
                            path.display()
                        ));
                        continue;
                    }
                }
            }
            Err(err) => {
                tried.push(format!("{} (unreadable: {err})", path.display()));
                continue;
            }
        };
        let key = PrivateKeyWithHashAlg::new(Arc::new(key), rsa_hash);
        match handle.authenticate_publickey(&user, key).await {
            Ok(result) if result.success() => return Ok(()),
            Ok(_) => tried.push(path.display().to_string()),
            Err(err) => return Err(format!("authentication failed: {err}")),
        }
    }
    if std::env::var_os("SSH_AUTH_SOCK").is_some()
        && let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await
        && let Ok(identities) = agent.request_identities().await
    {
        for identity in identities {
            let public = identity.public_key().into_owned();
            if let Ok(result) = handle
                .authenticate_publickey_with(&user, public, rsa_hash, &mut agent)
                .await
                && result.success()
            {
                return Ok(());
            }
        }
        tried.push("ssh-agent".into());
    }
    if target.password.is_some() && !password_allowed {
        tried.push("password (disabled: the host key changed)".into());
    } else if let Some(password) = &target.password {
        match handle.authenticate_password(&user, password).await {
            Ok(result) if result.success() => return Ok(()),
            _ => tried.push("password".into()),
        }
    }
    Err(format!(
        "Failed to authenticate as {user}@{} (tried: {}). Give a key with ansible_ssh_private_key_file or --private-key, load one into ssh-agent, or set ansible_password.",
        host_port(bare_host(&target.host), target.port),
        if tried.is_empty() {
            "no keys found".to_string()
        } else {
            tried.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use client::Handler;

    #[test]
    fn ipv6_addresses_lose_their_brackets_and_gain_them_before_a_port() {
        assert_eq!(bare_host("[2001:db8::b:90]"), "2001:db8::b:90");
        assert_eq!(bare_host("2001:db8::b:90"), "2001:db8::b:90");
        assert_eq!(bare_host("[web1]"), "[web1]");
        assert_eq!(bare_host("198.51.100.11"), "198.51.100.11");
        assert_eq!(host_port("2001:db8::b:90", 22), "[2001:db8::b:90]:22");
        assert_eq!(host_port("198.51.100.11", 2222), "198.51.100.11:2222");
        assert_eq!(host_port("web1", 22), "web1:22");
    }

    /// A key recorded for an IPv6 address is found under the address as written and
    /// in its canonical form, as `addr` on port 22 and as `[addr]:port` elsewhere.
    #[tokio::test]
    async fn known_hosts_match_ipv6_addresses() {
        let line =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAB1SdkTI8EsEeQgywlW89L4tUFceuz36lBUVuAZ6cor";
        let key = russh::keys::parse_public_key_base64(&line[12..]).expect("key");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("known_hosts");
        std::fs::write(
            &file,
            format!("2001:db8::b:90 {line}\n[2001:db8::b:91]:2222 {line}\n"),
        )
        .expect("write");
        let offered = PublicKeyOrCertificate::PublicKey {
            key,
            hash_alg: None,
        };
        let check = |host: &str, port| HostKeyCheck {
            host: host.to_string(),
            port,
            policy: HostKeyPolicy::Strict,
            known_hosts: vec![file.clone()],
            refusal: Arc::new(StdMutex::new(None)),
            changed: Arc::new(StdMutex::new(None)),
        };
        for (host, port, known) in [
            ("2001:db8::b:90", 22, true),
            ("2001:DB8:0:0::B:90", 22, true),
            ("2001:db8::b:90", 2222, false),
            ("2001:db8::b:91", 2222, true),
            ("2001:db8:0::b:91", 2222, true),
            ("2001:db8::b:91", 22, false),
        ] {
            let got = check(host, port)
                .check_server_key(&offered)
                .await
                .expect("check");
            assert_eq!(got, known, "{host} port {port}");
        }
    }
}
