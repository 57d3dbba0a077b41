//! A connection whose commands all run with a task's `environment:`, as Ansible
//! sets it for every module it runs, not only those that think of it.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Command, CommandOutput, Connection, ConnectionError};

/// Runs every command with `env` exported first; a variable the command sets itself
/// wins.
pub struct WithEnvironment {
    inner: Arc<dyn Connection>,
    env: Vec<(String, String)>,
}

impl WithEnvironment {
    /// `inner` with `env` added to its commands; `inner` itself when `env` is empty.
    pub fn wrap(inner: Arc<dyn Connection>, env: Vec<(String, String)>) -> Arc<dyn Connection> {
        match env.is_empty() {
            true => inner,
            false => Arc::new(WithEnvironment { inner, env }),
        }
    }
}

#[async_trait]
impl Connection for WithEnvironment {
    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError> {
        let mut command = command.clone();
        let own: Vec<(String, String)> = std::mem::take(&mut command.env);
        let inherited = self
            .env
            .iter()
            .filter(|(key, _)| !own.iter().any(|(k, _)| k == key))
            .cloned();
        command.env = inherited.chain(own.iter().cloned()).collect();
        self.inner.exec(&command).await
    }

    async fn put(&self, data: &[u8], dest: &str, mode: Option<u32>) -> Result<(), ConnectionError> {
        self.inner.put(data, dest, mode).await
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ConnectionError> {
        self.inner.get(path).await
    }

    fn ssh_target(&self) -> Option<&super::SshTarget> {
        self.inner.ssh_target()
    }

    fn become_spec(&self) -> Option<&super::BecomeSpec> {
        self.inner.become_spec()
    }

    fn takes_stdin(&self) -> bool {
        self.inner.takes_stdin()
    }

    fn endpoint(&self) -> super::Endpoint {
        self.inner.endpoint()
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
    use crate::connection::LocalConnection;

    #[tokio::test]
    async fn every_command_gets_the_environment_and_its_own_wins() {
        let conn = WithEnvironment::wrap(
            Arc::new(LocalConnection),
            vec![("A".into(), "task".into()), ("B".into(), "task".into())],
        );
        let mut command = Command::new("printf '%s %s' \"$A\" \"$B\"");
        command.env = vec![("B".into(), "own".into())];
        let out = conn.exec(&command).await.expect("runs");
        assert_eq!(out.stdout_text(), "task own");
    }
}
