//! How bosun reaches a target: the `Connection` trait every module goes through,
//! and its implementations (local now; SSH slots in beside it).

mod ahead;
mod drain;
mod environment;
mod escalate;
pub mod fd_limit;
mod local;
pub mod prompt;
mod quickack;
mod received;
pub mod round_trips;
mod ssh;
pub mod ssh_config;
mod traced;

pub use ahead::{Answering, Answers, Recorder};
pub use environment::WithEnvironment;
pub use escalate::{Become, BecomeSpec};
pub use local::LocalConnection;
pub use received::{INCOMPLETE, check_received, put_in_place, receive};
pub use ssh::{HostKeyPolicy, Keepalive, SshConnection, SshTarget};
pub use traced::{TraceLog, Traced};

use async_trait::async_trait;

/// A command to run on a target through `/bin/sh -c`.
#[derive(Clone, Debug, Default)]
pub struct Command {
    /// The shell script; every value in it must already be quoted (see [`quote`]).
    pub script: String,
    /// Bytes fed to the command's standard input.
    pub stdin: Option<Vec<u8>>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Directory to run in.
    pub cwd: Option<String>,
    /// The command only looks (a module's question, changing nothing): running it
    /// leaves the answers asked ahead of a loop good (`Answering`).
    pub looks_only: bool,
}

impl Command {
    /// A command running `script` with nothing else set.
    pub fn new(script: impl Into<String>) -> Command {
        Command {
            script: script.into(),
            ..Command::default()
        }
    }

    /// The full script: environment exports and `cd` folded in front, so any transport
    /// can run it with a plain `/bin/sh -c`.
    pub fn full_script(&self) -> String {
        let mut script = String::new();
        for (key, value) in &self.env {
            script.push_str(&format!("export {}={}; ", key, quote(value)));
        }
        if let Some(cwd) = &self.cwd {
            script.push_str(&format!("cd {} || exit 1; ", quote(cwd)));
        }
        script.push_str(&self.script);
        script
    }
}

/// What a command printed and how it exited.
#[derive(Clone, Debug, Default)]
pub struct CommandOutput {
    /// Exit status (`-1` when killed by a signal).
    pub rc: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: Vec<u8>,
}

impl CommandOutput {
    /// Standard output as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (lossy).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// A failure of the transport itself (not of a command): the host is unreachable.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The target could not be reached or the session broke.
    #[error("{0}")]
    Unreachable(String),
    /// An operation failed on the target (a file could not be read or written); the
    /// host itself is fine.
    #[error("{0}")]
    Failed(String),
    /// A local I/O error while talking to the target.
    #[error("{context}: {source}")]
    Io {
        /// What bosun was doing.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// Where a connection goes and as whom, as `-vvv` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// The address Ansible shows in `<...>` (`ansible_host`); `None` for this machine.
    pub address: Option<String>,
    /// `LOCAL` or `SSH`.
    pub kind: &'static str,
    /// The user commands run as on login.
    pub user: String,
    /// How it logs in (port, keys, become ...), each a few words.
    pub details: Vec<String>,
}

/// A way to run commands and move files on one target host.
#[async_trait]
pub trait Connection: Send + Sync {
    /// Runs `command` through `/bin/sh -c` on the target and waits for it.
    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError>;

    /// Writes `data` to `dest` atomically: a temporary file in the same directory, its
    /// mode set, then renamed over `dest`, so a failure never leaves a half-written file.
    async fn put(&self, data: &[u8], dest: &str, mode: Option<u32>) -> Result<(), ConnectionError>;

    /// Reads the whole file at `path`.
    async fn get(&self, path: &str) -> Result<Vec<u8>, ConnectionError>;

    /// Whether [`Connection::exec`] can feed a command's stdin (a `become` that sends
    /// its password on stdin cannot); callers then upload with [`Connection::put`].
    fn takes_stdin(&self) -> bool {
        true
    }

    /// Where this connection goes and as whom.
    fn endpoint(&self) -> Endpoint;

    /// How an SSH connection reaches the target, for actions that open their own
    /// transport from the control node (`synchronize`'s rsync over `ssh`); `None`
    /// for a local connection. Wrappers pass it on (no default, so none forgets).
    fn ssh_target(&self) -> Option<&SshTarget>;

    /// The escalation commands run under (`become`), when they do.
    fn become_spec(&self) -> Option<&BecomeSpec>;

    /// Stops the command running on the target, with what it started (a task's
    /// `timeout`, Ctrl-C, SIGTERM); close the connection afterwards.
    async fn interrupt(&self) {}

    /// Closes the connection; later calls reconnect or fail.
    async fn close(&self) {}
}

/// Stops the commands running on every host (bosun was interrupted); local commands
/// stop when their futures are dropped.
pub async fn interrupt_all() {
    ssh::interrupt_all().await;
}

/// Quotes `value` for a POSIX shell, as Python's `shlex.quote` does.
pub fn quote(value: &str) -> String {
    let safe = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b));
    if safe {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', r#"'"'"'"#))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_matches_shlex() {
        assert_eq!(quote("abc"), "abc");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(quote("/etc/x.conf"), "/etc/x.conf");
    }

    #[test]
    fn full_script_folds_env_and_cwd() {
        let command = Command {
            script: "pwd".into(),
            env: vec![("A".into(), "x y".into())],
            cwd: Some("/tmp".into()),
            stdin: None,
            looks_only: false,
        };
        assert_eq!(
            command.full_script(),
            "export A='x y'; cd /tmp || exit 1; pwd"
        );
    }
}
