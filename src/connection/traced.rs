//! `-vvv`: a task's connection shown as it is made, and every command, upload and
//! download shown before it runs, as Ansible's connection plugins show theirs
//! (`<host> ESTABLISH SSH CONNECTION FOR USER: root`, `<host> EXEC /bin/sh -c '...'`).
//! It wraps the connection a module sees, outside `become`, so a become password
//! piped to sudo never reaches the log; the executor leaves it out for `no_log` tasks.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Command, CommandOutput, Connection, ConnectionError, Endpoint, quote};

/// Where the lines go (the reporter's verbose output).
pub type TraceLog = Arc<dyn Fn(&str) + Send + Sync>;

/// A connection that logs what it does before doing it.
pub struct Traced {
    inner: Arc<dyn Connection>,
    /// The address in `<...>`.
    label: String,
    log: TraceLog,
}

impl Traced {
    /// `inner`, whose ESTABLISH lines are logged now and every operation as it
    /// starts; `host` labels the lines when the connection has no address of its own.
    pub fn wrap(inner: Arc<dyn Connection>, host: &str, log: TraceLog) -> Arc<dyn Connection> {
        let endpoint = inner.endpoint();
        let label = endpoint.address.clone().unwrap_or_else(|| host.to_string());
        for line in establish_lines(&label, &endpoint) {
            log(&line);
        }
        Arc::new(Traced { inner, label, log })
    }
}

/// Ansible's ESTABLISH line, and one with how the connection logs in when it says.
fn establish_lines(label: &str, endpoint: &Endpoint) -> Vec<String> {
    let mut lines = vec![format!(
        "<{label}> ESTABLISH {} CONNECTION FOR USER: {}",
        endpoint.kind, endpoint.user
    )];
    if !endpoint.details.is_empty() {
        lines.push(format!(
            "<{label}> {}: {}",
            endpoint.kind,
            endpoint.details.join(", ")
        ));
    }
    lines
}

#[async_trait]
impl Connection for Traced {
    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError> {
        let stdin = match &command.stdin {
            Some(bytes) => format!(" (with {} bytes on stdin)", bytes.len()),
            None => String::new(),
        };
        (self.log)(&format!(
            "<{}> EXEC /bin/sh -c {}{stdin}",
            self.label,
            quote(&command.full_script())
        ));
        self.inner.exec(command).await
    }

    async fn put(&self, data: &[u8], dest: &str, mode: Option<u32>) -> Result<(), ConnectionError> {
        let shown_mode = mode.map(|m| format!(" MODE {m:04o}")).unwrap_or_default();
        (self.log)(&format!(
            "<{}> PUT {} bytes TO {dest}{shown_mode}",
            self.label,
            data.len()
        ));
        self.inner.put(data, dest, mode).await
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ConnectionError> {
        (self.log)(&format!("<{}> FETCH {path}", self.label));
        self.inner.get(path).await
    }

    fn takes_stdin(&self) -> bool {
        self.inner.takes_stdin()
    }

    fn endpoint(&self) -> Endpoint {
        self.inner.endpoint()
    }

    fn ssh_target(&self) -> Option<&super::SshTarget> {
        self.inner.ssh_target()
    }

    fn become_spec(&self) -> Option<&super::BecomeSpec> {
        self.inner.become_spec()
    }

    async fn interrupt(&self) {
        self.inner.interrupt().await;
    }

    async fn close(&self) {
        self.inner.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_establish_lines_name_the_user_and_how_it_logs_in() {
        let endpoint = Endpoint {
            address: Some("198.51.100.7".into()),
            kind: "SSH",
            user: "deploy".into(),
            details: vec!["port 2222".into(), "key /k".into()],
        };
        assert_eq!(
            establish_lines("198.51.100.7", &endpoint),
            [
                "<198.51.100.7> ESTABLISH SSH CONNECTION FOR USER: deploy",
                "<198.51.100.7> SSH: port 2222, key /k",
            ]
        );
    }
}
