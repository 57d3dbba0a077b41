//! `become`: runs a task's commands as another user (sudo or su) over any connection.
//! The password, when one is needed, travels inside the script (sent on the persistent
//! shell's standard input, or in the local shell's environment) and reaches sudo or su
//! through the shell's builtin `printf`, never on a command line.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Command, CommandOutput, Connection, ConnectionError, put_in_place, quote, receive};

/// How to become another user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BecomeSpec {
    /// The user to become (`become_user`, default root).
    pub user: String,
    /// `sudo` or `su`.
    pub method: String,
    /// `become_password`, when the method asks for one.
    pub password: Option<String>,
}

/// A connection whose commands and writes run as [`BecomeSpec::user`].
pub struct Become {
    inner: Arc<dyn Connection>,
    spec: BecomeSpec,
}

impl Become {
    /// Wraps `inner` so everything runs as `spec.user`.
    pub fn new(inner: Arc<dyn Connection>, spec: BecomeSpec) -> Result<Become, ConnectionError> {
        if spec.method != "sudo" && spec.method != "su" {
            return Err(ConnectionError::Failed(format!(
                "become_method '{}' is not supported (use sudo or su)",
                spec.method
            )));
        }
        Ok(Become { inner, spec })
    }

    /// `script` wrapped to run as the become user; unchanged when already that user.
    fn wrap(&self, script: &str) -> String {
        let user = quote(&self.spec.user);
        let inner = quote(script);
        // The password, quoted like any value, reaches the method's stdin through the
        // shell's builtin printf: no process shows it, and no byte of it can end a
        // here-document or a quote and run as a command.
        let escalate = match (self.spec.method.as_str(), &self.spec.password) {
            ("su", Some(password)) => format!(
                "printf '%s\\n' {} | su -s /bin/sh -c {inner} {user}",
                quote(password)
            ),
            ("su", None) => format!("su -s /bin/sh -c {inner} {user}"),
            (_, Some(password)) => format!(
                "printf '%s\\n' {} | sudo -H -S -p '' -u {user} /bin/sh -c {inner}",
                quote(password)
            ),
            (_, None) => format!("sudo -H -n -u {user} /bin/sh -c {inner}"),
        };
        format!("if [ \"$(id -un)\" = {user} ]; then /bin/sh -c {inner}; else {escalate}\nfi")
    }
}

#[async_trait]
impl Connection for Become {
    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError> {
        if command.stdin.is_some() && self.spec.password.is_some() {
            return Err(ConnectionError::Failed(
                "a command that reads stdin cannot run with a become password; configure passwordless sudo for it".into(),
            ));
        }
        let wrapped = Command {
            script: self.wrap(&command.full_script()),
            stdin: command.stdin.clone(),
            env: Vec::new(),
            cwd: None,
            looks_only: command.looks_only,
        };
        let mut output = self.inner.exec(&wrapped).await?;
        let stderr = output.stderr_text();
        if output.rc != 0
            && (stderr.contains("a password is required") || stderr.contains("incorrect password"))
        {
            return Err(ConnectionError::Failed(format!(
                "become to {} failed: {} (set ansible_become_password or allow passwordless sudo)",
                self.spec.user,
                stderr.trim()
            )));
        }
        if output.rc == 1 && stderr.contains("sudo: not found") {
            output.stderr =
                b"sudo is not installed on the target; install it or use become_method: su"
                    .to_vec();
        }
        Ok(output)
    }

    fn takes_stdin(&self) -> bool {
        self.spec.password.is_none()
    }

    fn endpoint(&self) -> super::Endpoint {
        let mut endpoint = self.inner.endpoint();
        endpoint.details.push(format!(
            "become {} with {}",
            self.spec.user, self.spec.method
        ));
        endpoint
    }

    fn ssh_target(&self) -> Option<&super::SshTarget> {
        self.inner.ssh_target()
    }

    fn become_spec(&self) -> Option<&BecomeSpec> {
        Some(&self.spec)
    }

    async fn interrupt(&self) {
        self.inner.interrupt().await;
    }

    async fn put(&self, data: &[u8], dest: &str, mode: Option<u32>) -> Result<(), ConnectionError> {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let d = quote(dest);
        let part = quote(&format!("{dest}.bosun-part"));
        let mode = match mode {
            Some(mode) => format!("{mode:o}"),
            None => format!("$( (stat -c %a -- {d} 2>/dev/null) || echo 644 )"),
        };
        let install = put_in_place(&part, &d);
        let out = if self.takes_stdin() {
            // One round trip: the data is the escalated command's stdin.
            let mut command = Command::new(format!("m={mode}; {}{install}", receive(&part, data)));
            command.stdin = Some(data.to_vec());
            self.exec(&command).await?
        } else {
            // The password holds stdin: stage the data as the login user first.
            let staging = format!("/tmp/.bosun-become-{}-{nonce:x}", std::process::id());
            self.inner.put(data, &staging, Some(0o644)).await?;
            let s = quote(&staging);
            let out = self
                .exec(&Command::new(format!(
                    "m={mode}; cat -- {s} > {part} && {install}"
                )))
                .await;
            let _ = self
                .inner
                .exec(&Command::new(format!("rm -f -- {s}")))
                .await;
            out?
        };
        if out.rc != 0 {
            return Err(ConnectionError::Failed(format!(
                "cannot write {dest} as {}: {}",
                self.spec.user,
                out.stderr_text().trim()
            )));
        }
        Ok(())
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ConnectionError> {
        let out = self
            .exec(&Command::new(format!("cat -- {}", quote(path))))
            .await?;
        if out.rc != 0 {
            return Err(ConnectionError::Failed(format!(
                "cannot read {path}: {}",
                out.stderr_text().trim()
            )));
        }
        Ok(out.stdout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::LocalConnection;

    #[tokio::test]
    async fn becoming_the_current_user_runs_directly() {
        let me = String::from_utf8(
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .expect("id")
                .stdout,
        )
        .expect("utf-8")
        .trim()
        .to_string();
        let become_ = Become::new(
            Arc::new(LocalConnection),
            BecomeSpec {
                user: me.clone(),
                method: "sudo".into(),
                password: None,
            },
        )
        .expect("sudo is supported");
        let out = become_.exec(&Command::new("id -un")).await.expect("runs");
        assert_eq!(out.stdout_text().trim(), me);
    }

    /// Runs `become_`'s wrapping of `script` with a stand-in `sudo` first on PATH that
    /// records its standard input; returns what it read.
    fn run_with_recording_sudo(become_: &Become, script: &str, dir: &std::path::Path) -> String {
        let sudo = dir.join("sudo");
        std::fs::write(&sudo, "#!/bin/sh\ncat > \"$(dirname \"$0\")/fed\"\n").expect("write");
        std::fs::set_permissions(&sudo, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let status = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(become_.wrap(script))
            .env("PATH", path)
            .status()
            .expect("sh runs");
        assert!(status.success());
        std::fs::read_to_string(dir.join("fed")).expect("sudo read its stdin")
    }

    #[test]
    fn password_never_reaches_a_command_line_or_runs_as_one() {
        let dir = tempfile::tempdir().expect("dir");
        let pwned = dir.path().join("pwned");
        let password = format!(
            "s3'cret\n__BOSUN_BECOME__\ntouch {}\n'; touch {}; '",
            pwned.display(),
            pwned.display()
        );
        let become_ = Become::new(
            Arc::new(LocalConnection),
            BecomeSpec {
                user: "no-such-user-here".into(),
                method: "sudo".into(),
                password: Some(password.clone()),
            },
        )
        .expect("sudo is supported");
        let script = become_.wrap("touch /x");
        let printf = script.find("printf").expect("printf feeds the password");
        assert!(!script[..printf].contains("s3"), "{script}");
        let fed = run_with_recording_sudo(&become_, "true", dir.path());
        assert_eq!(
            fed,
            format!("{password}\n"),
            "sudo reads the password whole"
        );
        assert!(!pwned.exists(), "no part of the password ran as a command");
    }

    #[test]
    fn unknown_methods_are_refused() {
        let err = Become::new(
            Arc::new(LocalConnection),
            BecomeSpec {
                user: "root".into(),
                method: "pbrun".into(),
                password: None,
            },
        );
        assert!(err.is_err());
    }
}
