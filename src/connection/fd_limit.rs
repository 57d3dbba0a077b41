//! The controller's open-file limit: each host holds a socket for the whole run, and
//! the usual soft limit (1024) would stop a large fleet part way. bosun lifts its own
//! soft limit to the hard one, and gives local commands the limit it started with, so
//! a task sees the same limits as under Ansible.

use std::sync::OnceLock;

/// The soft limit bosun started with, once lifted.
static STARTED_WITH: OnceLock<libc::rlim_t> = OnceLock::new();

/// This process's limits on open files, if it can read them.
fn open_files() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed to it; async-signal-safe.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit)
}

/// Sets this process's soft limit on open files; async-signal-safe.
fn set_soft(mut limit: libc::rlimit, soft: libc::rlim_t) -> bool {
    limit.rlim_cur = soft;
    // SAFETY: setrlimit only reads the struct passed to it.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 }
}

/// Lifts this process's soft limit on open files to its hard limit.
pub fn lift() {
    if let Some(limit) = open_files().filter(|l| l.rlim_cur < l.rlim_max)
        && set_soft(limit, limit.rlim_max)
    {
        let _ = STARTED_WITH.set(limit.rlim_cur);
    }
}

/// The shell command that sets the soft limit back to what bosun started with, for
/// the local shell to run first: a local task sees the limit it would see without
/// bosun. (In the shell rather than between fork and exec: a `pre_exec` hook would
/// make every local command a full `fork` instead of a `posix_spawn`, ~1 ms a task.)
pub fn restore_command() -> Option<String> {
    STARTED_WITH
        .get()
        .map(|soft| format!("ulimit -S -n {soft} 2>/dev/null; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifting_reaches_the_hard_limit() {
        lift();
        let limit = open_files().expect("readable");
        assert_eq!(limit.rlim_cur, limit.rlim_max);
    }
}
