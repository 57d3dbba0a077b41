//! `reboot`: the arguments and the steps of Ansible's reboot action that need no
//! connection (the shutdown command line, where its binary is found, whether the boot
//! changed, how long to wait between tries). The action itself reconnects to the
//! host, which only the executor can do: `executor/reboot.rs` drives these steps.

use std::time::Duration;

use serde_json::Value as Json;

use super::args::Args;
use super::typed::{TypedArgs, module_args};
use crate::connection::quote;

module_args! {
    /// `reboot`'s arguments.
    pub struct RebootArgs {
        /// Seconds to wait for the new boot and then for the test command.
        reboot_timeout: i64 => .default_int(600).aliases(&["reboot_timeout_sec"]),
        /// Seconds each connection attempt may take.
        connect_timeout: Option<i64> => .aliases(&["connect_timeout_sec"]),
        /// The command that must succeed once the host is back.
        test_command: String => .default_str("whoami"),
        /// Seconds before the reboot (given to `shutdown` in whole minutes).
        pre_reboot_delay: i64 => .default_int(0).aliases(&["pre_reboot_delay_sec"]),
        /// Seconds to wait after the reboot command before checking.
        post_reboot_delay: i64 => .default_int(0).aliases(&["post_reboot_delay_sec"]),
        /// The message `shutdown` broadcasts.
        msg: String => .default_str("Reboot initiated by Ansible"),
        /// Where `shutdown` (or the binary of `reboot_command`) is looked for.
        search_paths: Vec<String> => .default_str("/sbin,/bin,/usr/sbin,/usr/bin,/usr/local/sbin"),
        /// The command whose output changes with each boot.
        boot_time_command: String => .default_str("cat /proc/sys/kernel/random/boot_id"),
        /// The command that reboots, instead of `shutdown -r`.
        reboot_command: Option<String>,
    }
}

impl RebootArgs {
    /// Typed arguments from the task's rendered arguments.
    pub fn read(raw: &indexmap::IndexMap<String, Json>) -> Result<RebootArgs, String> {
        RebootArgs::from_args(&Args::parse(RebootArgs::PARAMS, raw)?)
    }

    /// How long to wait for the new boot and for the test command.
    pub fn reboot_timeout(&self) -> Duration {
        Duration::from_secs(self.reboot_timeout.max(0).unsigned_abs())
    }

    /// How long one connection attempt may take, if limited.
    pub fn connect_timeout(&self) -> Option<Duration> {
        self.connect_timeout
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(s.unsigned_abs()))
    }

    /// How long to wait after the reboot command.
    pub fn post_reboot_delay(&self) -> Duration {
        Duration::from_secs(self.post_reboot_delay.max(0).unsigned_abs())
    }

    /// The command printing the boot's identity.
    pub fn boot_time_command(&self) -> &str {
        &self.boot_time_command
    }

    /// The post-reboot test command.
    pub fn test_command(&self) -> &str {
        &self.test_command
    }

    /// The shell script that finds the reboot binary (an absolute one as it is, else the
    /// first of `search_paths` holding it) and runs it with its arguments; it prints
    /// `@@notfound` when there is none.
    pub fn reboot_script(&self) -> String {
        let (binary, arguments) = match &self.reboot_command {
            Some(command) => match command.split_once(' ') {
                Some((binary, rest)) => (binary.to_string(), rest.to_string()),
                None => (command.clone(), String::new()),
            },
            None => {
                let delay = self.pre_reboot_delay.max(0);
                (
                    "shutdown".to_string(),
                    format!("-r {} \"{}\"", delay / 60, self.msg),
                )
            }
        };
        if binary.starts_with('/') {
            return format!("{binary} {arguments}");
        }
        let candidates: Vec<String> = self
            .search_paths
            .iter()
            .map(|dir| quote(&format!("{}/{binary}", dir.trim_end_matches('/'))))
            .collect();
        format!(
            "for b in {}; do if [ -e \"$b\" ]; then exec \"$b\" {arguments}; fi; done; echo @@notfound",
            candidates.join(" ")
        )
    }

    /// The error when no directory of `search_paths` holds the binary.
    pub fn not_found(&self) -> String {
        let binary = match &self.reboot_command {
            Some(command) => command.split(' ').next().unwrap_or_default().to_string(),
            None => "shutdown".into(),
        };
        let paths: Vec<String> = self.search_paths.iter().map(|p| format!("'{p}'")).collect();
        format!(
            "Unable to find command \"{binary}\" in search paths: [{}]",
            paths.join(", ")
        )
    }
}

/// Whether the boot identity read now shows a new boot (Ansible's `check_boot_time`).
pub fn boot_changed(previous: &str, current: &str) -> bool {
    let current = current.trim();
    !current.is_empty() && current != previous.trim()
}

/// The pause after the `fails`-th failed try: 2^fails seconds plus up to one, at most
/// about 12, as Ansible's `do_until_success_or_timeout` waits.
pub fn backoff(fails: u32, jitter_ms: u64) -> Duration {
    let jitter = Duration::from_millis(jitter_ms % 1000);
    let base = Duration::from_secs(2u64.saturating_pow(fails).min(12));
    base + jitter
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(value: Json) -> RebootArgs {
        let raw: indexmap::IndexMap<String, Json> = serde_json::from_value(value).expect("a map");
        RebootArgs::read(&raw).expect("valid")
    }

    #[test]
    fn shutdown_is_looked_up_and_given_minutes_and_the_message() {
        let script = args(json!({"pre_reboot_delay": 130, "msg": "bye"})).reboot_script();
        assert_eq!(
            script,
            "for b in /sbin/shutdown /bin/shutdown /usr/sbin/shutdown /usr/bin/shutdown /usr/local/sbin/shutdown; do if [ -e \"$b\" ]; then exec \"$b\" -r 2 \"bye\"; fi; done; echo @@notfound"
        );
        let absolute = args(json!({"reboot_command": "/usr/bin/systemctl reboot"}));
        assert_eq!(absolute.reboot_script(), "/usr/bin/systemctl reboot");
        let custom = args(json!({"reboot_command": "reboot", "search_paths": ["/x"]}));
        assert!(custom.reboot_script().starts_with("for b in /x/reboot; do"));
        assert_eq!(
            custom.not_found(),
            "Unable to find command \"reboot\" in search paths: ['/x']"
        );
    }

    #[test]
    fn only_a_new_non_empty_boot_id_counts() {
        assert!(boot_changed("a\n", "b"));
        assert!(!boot_changed("a", " a\n"));
        assert!(!boot_changed("a", ""));
    }

    #[test]
    fn the_wait_between_tries_doubles_up_to_twelve_seconds() {
        assert_eq!(backoff(0, 250), Duration::from_millis(1250));
        assert_eq!(backoff(3, 0), Duration::from_secs(8));
        assert_eq!(backoff(10, 999), Duration::from_millis(12999));
    }
}
