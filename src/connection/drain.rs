//! Reading a local command's output as Ansible's `run_command` does: until both
//! pipes end, or, once the command has exited, until a second passes with no
//! output. A background child that keeps the pipes open (`shell: server &`) must not
//! hold the task until it ends.

use std::process::ExitStatus;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;

/// How long output may pause after the command exited before reading stops
/// (`run_command`'s `selector.select(1)`).
const IDLE_AFTER_EXIT: Duration = Duration::from_secs(1);

/// The exit status, stdout and stderr of `child`, whose pipes must not have been
/// taken yet.
pub async fn output_of(child: &mut Child) -> std::io::Result<(ExitStatus, Vec<u8>, Vec<u8>)> {
    let (mut stdout, mut stderr) = (child.stdout.take(), child.stderr.take());
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let (mut out_buf, mut err_buf) = (vec![0u8; 32768], vec![0u8; 32768]);
    let mut status = None;
    loop {
        if stdout.is_none() && stderr.is_none() {
            break;
        }
        tokio::select! {
            read = read_some(&mut stdout, &mut out_buf) => match read? {
                0 => stdout = None,
                n => out.extend_from_slice(&out_buf[..n]),
            },
            read = read_some(&mut stderr, &mut err_buf) => match read? {
                0 => stderr = None,
                n => err.extend_from_slice(&err_buf[..n]),
            },
            exited = child.wait(), if status.is_none() => status = Some(exited?),
            () = tokio::time::sleep(IDLE_AFTER_EXIT), if status.is_some() => break,
        }
    }
    let status = match status {
        Some(status) => status,
        None => child.wait().await?,
    };
    Ok((status, out, err))
}

/// Reads what `pipe` has; never returns once the pipe has ended (`None`).
async fn read_some(
    pipe: &mut Option<impl AsyncRead + Unpin>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(pipe) => pipe.read(buf).await,
        None => std::future::pending().await,
    }
}
