//! A TCP stream that acknowledges every segment at once (`TCP_QUICKACK` after each
//! read) until the SSH session's first command is sent.
//!
//! sshd turns `TCP_NODELAY` on only when the first exec or shell request arrives, so
//! until then each of its small replies waits for the client's ACK, which Linux delays
//! by ~40 ms. The kernel clears `TCP_QUICKACK` on its own after a while, so it is set
//! again after every read. Measured on one connection (recipes/SSH-FLOOR.md): connect,
//! authenticate and first exec in 34 ms instead of 80 ms. Once sshd sends without
//! waiting for ACKs, renewing it is a system call per read for nothing (a third of a
//! fleet run's system calls), so [`QuickAcks::stop`] ends it.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A [`TcpStream`] with `TCP_NODELAY` on and `TCP_QUICKACK` renewed after each read
/// until its [`QuickAcks`] is stopped.
pub struct QuickAckStream {
    inner: TcpStream,
    renew: Arc<AtomicBool>,
}

/// Ends a [`QuickAckStream`]'s renewals from outside (the stream itself belongs to the
/// SSH library by then).
#[derive(Clone, Debug)]
pub struct QuickAcks(Arc<AtomicBool>);

impl QuickAcks {
    /// Stops renewing `TCP_QUICKACK`: the server sends without waiting for ACKs now.
    pub fn stop(&self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

impl QuickAckStream {
    /// Connects to `host:port` (resolving `host` if needed).
    pub async fn connect(host: &str, port: u16) -> io::Result<QuickAckStream> {
        let inner = TcpStream::connect((host, port)).await?;
        inner.set_nodelay(true)?;
        let stream = QuickAckStream {
            inner,
            renew: Arc::new(AtomicBool::new(true)),
        };
        stream.quick_ack();
        Ok(stream)
    }

    /// The switch that ends this stream's renewals.
    pub fn renewals(&self) -> QuickAcks {
        QuickAcks(self.renew.clone())
    }

    /// Asks the kernel to acknowledge the next segments at once. Best effort: where
    /// the option is refused, the stream works as a plain one.
    #[cfg(target_os = "linux")]
    fn quick_ack(&self) {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: a valid socket descriptor owned by `inner`, and a pointer to a c_int
        // that outlives the call, with its size.
        unsafe {
            libc::setsockopt(
                self.inner.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn quick_ack(&self) {}
}

impl AsyncRead for QuickAckStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.inner).poll_read(cx, buf);
        if poll.is_ready() && this.renew.load(Ordering::Relaxed) {
            this.quick_ack();
        }
        poll
    }
}

impl AsyncWrite for QuickAckStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
