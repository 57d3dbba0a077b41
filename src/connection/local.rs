//! The local connection: runs commands on the control node itself (`-c local`,
//! `ansible_connection=local`, the implicit `localhost`).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use super::{Command, CommandOutput, Connection, ConnectionError};

/// Runs everything on this machine with `/bin/sh`. The script travels in the
/// environment (readable only by its owner), not on the command line, so secrets in
/// it (a become password) never show in `ps`.
#[derive(Debug, Default)]
pub struct LocalConnection;

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ConnectionError {
    let context = context.into();
    move |source| ConnectionError::Io { context, source }
}

/// The process group a command runs in (its shell's PID), stopped with SIGTERM if the
/// command is abandoned before it ends (a task's `timeout`, Ctrl-C, SIGTERM): the
/// shell's children go with it, not only the shell.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.and_then(|pid| i32::try_from(pid).ok()) {
            // SAFETY: kill(2) with a negative PID signals that process group only.
            unsafe {
                libc::kill(-pgid, libc::SIGTERM);
            }
        }
    }
}

#[async_trait]
impl Connection for LocalConnection {
    async fn exec(&self, command: &Command) -> Result<CommandOutput, ConnectionError> {
        super::round_trips::record();
        let mut shell = tokio::process::Command::new("/bin/sh");
        shell
            .arg("-c")
            .arg(format!(
                "{}eval \"$BOSUN_SCRIPT\"",
                super::fd_limit::restore_command().unwrap_or_default()
            ))
            .env("BOSUN_SCRIPT", command.full_script())
            .stdin(if command.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let mut child = shell.spawn().map_err(io_error("cannot start /bin/sh"))?;
        let mut group = ProcessGroup(child.id());
        if let (Some(data), Some(mut stdin)) = (&command.stdin, child.stdin.take()) {
            let data = data.clone();
            tokio::spawn(async move {
                let _ = stdin.write_all(&data).await;
            });
        }
        let (status, stdout, stderr) = super::drain::output_of(&mut child)
            .await
            .map_err(io_error("waiting for /bin/sh"))?;
        group.0 = None;
        Ok(CommandOutput {
            rc: status.code().unwrap_or(-1),
            stdout,
            stderr,
        })
    }

    async fn put(&self, data: &[u8], dest: &str, mode: Option<u32>) -> Result<(), ConnectionError> {
        super::round_trips::record();
        let dest_path = Path::new(dest);
        let dir = dest_path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = dest_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = dir.join(format!(".{name}.bosun-{}.tmp", std::process::id()));
        let result = async {
            tokio::fs::write(&temp, data)
                .await
                .map_err(io_error(format!("cannot write {}", temp.display())))?;
            let mode = match mode {
                Some(mode) => Some(mode),
                None => tokio::fs::metadata(dest_path)
                    .await
                    .ok()
                    .map(|m| m.permissions().mode() & 0o7777),
            };
            if let Some(mode) = mode {
                tokio::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode))
                    .await
                    .map_err(io_error(format!("cannot set mode on {}", temp.display())))?;
            }
            tokio::fs::rename(&temp, dest_path)
                .await
                .map_err(io_error(format!("cannot rename into {dest}")))
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&temp).await;
        }
        result
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, ConnectionError> {
        super::round_trips::record();
        tokio::fs::read(path)
            .await
            .map_err(io_error(format!("cannot read {path}")))
    }

    fn ssh_target(&self) -> Option<&super::SshTarget> {
        None
    }

    fn become_spec(&self) -> Option<&super::BecomeSpec> {
        None
    }

    fn endpoint(&self) -> super::Endpoint {
        super::Endpoint {
            address: None,
            kind: "LOCAL",
            user: crate::passwd::login_name(),
            details: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn exec_reports_rc_and_streams() {
        let out = LocalConnection
            .exec(&Command::new("echo out; echo err >&2; exit 3"))
            .await
            .expect("runs");
        assert_eq!(out.rc, 3);
        assert_eq!(out.stdout_text(), "out\n");
        assert_eq!(out.stderr_text(), "err\n");
    }

    #[tokio::test]
    async fn a_background_child_does_not_hold_the_command() {
        let started = std::time::Instant::now();
        let out = LocalConnection
            .exec(&Command::new("echo started; sleep 30 & echo $!"))
            .await
            .expect("runs");
        let text = out.stdout_text();
        let pid: i32 = text
            .strip_prefix("started\n")
            .and_then(|pid| pid.trim().parse().ok())
            .unwrap_or_else(|| panic!("no pid in {text:?}"));
        // SAFETY: kill(2) on the sleep this test started.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[tokio::test]
    async fn exec_feeds_stdin() {
        let mut command = Command::new("tr a-z A-Z");
        command.stdin = Some(b"hello".to_vec());
        let out = LocalConnection.exec(&command).await.expect("runs");
        assert_eq!(out.stdout_text(), "HELLO");
    }

    #[tokio::test]
    async fn put_is_atomic_and_sets_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let dest = dir.path().join("f.conf");
        let dest = dest.to_str().expect("utf-8");
        LocalConnection
            .put(b"one\n", dest, Some(0o640))
            .await
            .expect("writes");
        assert_eq!(std::fs::read(dest).expect("reads"), b"one\n");
        let mode = std::fs::metadata(dest).expect("stat").permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[tokio::test]
    async fn put_into_missing_directory_fails_cleanly() {
        let err = LocalConnection
            .put(b"x", "/nonexistent-bosun-dir/f", None)
            .await
            .expect_err("fails");
        assert!(err.to_string().contains("cannot write"), "{err}");
    }
}
