//! The controller's open-file limit: each host holds a socket for the whole run, and
//! the usual soft limit (1024) would stop a large fleet part way. bosun lifts its own
//! soft limit to the hard one, and gives local commands the limit it started with, so
//! a task sees the same limits as under Ansible.

use std::sync::OnceLock;

/// The soft limit bosun started with, once lifted.
static STARTED_WITH: OnceLock<libc::rlim_t> = OnceLock::new();

/// Lifts this process's soft limit on open files to its hard limit.
pub fn lift() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 || limit.rlim_cur >= limit.rlim_max
        {
            return;
        }
        let soft = limit.rlim_cur;
        limit.rlim_cur = limit.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
            let _ = STARTED_WITH.set(soft);
        }
    }
}

/// Sets the soft limit back to what bosun started with, in a child between fork and
/// exec (only async-signal-safe calls).
pub fn restore_in_child() -> std::io::Result<()> {
    let Some(soft) = STARTED_WITH.get().copied() else {
        return Ok(());
    };
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: as in `lift`; both calls are async-signal-safe.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 {
            limit.rlim_cur = soft;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soft_and_hard() -> (libc::rlim_t, libc::rlim_t) {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit only writes the struct passed to it.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        (limit.rlim_cur, limit.rlim_max)
    }

    #[test]
    fn lifting_reaches_the_hard_limit() {
        lift();
        let (soft, hard) = soft_and_hard();
        assert_eq!(soft, hard);
    }
}
