//! `sysctl` (ansible.posix): a kernel parameter in a sysctl file and, optionally, in the
//! running kernel, through the `sysctl` command of procps.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::contract::{Decision, StateModule};
use super::fileops::Attributes;
use super::textfile::{self, SavePlan, TextFile};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Manages one entry of a sysctl file and the live value.
pub struct Sysctl;

arg_enum! {
    /// Whether the entry should be in the file.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// `sysctl`'s arguments.
    pub struct SysctlArgs {
        /// The kernel parameter (`net.core.somaxconn`).
        name: String => .required().aliases(&["key"]),
        /// The wanted value; booleans become `1`/`0`.
        value: Json => .aliases(&["val"]),
        state: State => .default_str("present"),
        /// Whether to run `sysctl -p` on the file after a change.
        reload: bool => .default_bool(true),
        sysctl_file: String => .default_str("/etc/sysctl.conf"),
        /// Whether to set the live value with `sysctl -w` as well.
        sysctl_set: bool => .default_bool(false),
        /// Whether `sysctl` ignores unknown keys (`-e`).
        ignoreerrors: bool => .default_bool(false),
    }
}

impl SysctlArgs {
    /// The parameter name as sysctl reads it.
    fn key(&self) -> &str {
        self.name.trim()
    }

    /// `-e` when unknown keys are to be ignored.
    fn ignore_flag(&self) -> &'static str {
        if self.ignoreerrors { " -e" } else { "" }
    }
}

/// The sysctl file as read, and the live value.
pub struct Found {
    file: TextFile,
    live: Option<String>,
}

/// What must change: the file (with the save it takes) and the live value; the
/// file is reloaded after any change when `reload` is set.
#[derive(Debug)]
pub struct Changes {
    file: Option<SavePlan>,
    set_live: Option<String>,
}

#[async_trait]
impl StateModule for Sysctl {
    const NAME: &'static str = "sysctl";
    type Args = SysctlArgs;
    type State = Found;
    type Plan = Changes;

    async fn query(&self, on: &Target<'_>, args: &SysctlArgs) -> Result<Found, ModuleError> {
        let probe = format!(
            "sysctl -e -n {} 2>/dev/null | tr '\\n' ' '",
            quote(args.key())
        );
        let (file, live) =
            textfile::read_with(on, &args.sysctl_file, textfile::Codec::Utf8, Some(&probe)).await?;
        let live = Some(squash(&live)).filter(|v| !v.is_empty());
        Ok(Found { file, live })
    }

    fn decide(&self, args: &SysctlArgs, found: Found) -> Result<Decision<Changes>, String> {
        let value = normalise_value(&args.value);
        let present = args.state == State::Present;
        if present && value.is_empty() {
            return Err("value cannot be None when state is present".to_string());
        }
        let name = args.key();
        let before = found.file.text.clone().unwrap_or_default();
        let after = fix_lines(&before, name, present.then_some(value.as_str()));
        let write_file = match (present, file_value(&before, name)) {
            (true, None) | (false, Some(_)) => true,
            (true, Some(v)) => !values_equal(&v, &value),
            (false, None) => false,
        };
        let live_differs = present
            && found
                .live
                .as_deref()
                .is_none_or(|l| !values_equal(l, &value));
        let set_live = (args.sysctl_set && live_differs).then(|| format!("{name}={value}"));
        let file = match write_file {
            true => Some(textfile::plan_save(
                &found.file,
                &Attributes::default(),
                &after,
                true,
                "",
            )?),
            false => None,
        };
        let changed = write_file || (args.reload && live_differs) || set_live.is_some();
        let decision = Decision::maybe(changed.then_some(Changes { file, set_live }));
        Ok(match write_file {
            true => decision.with_diff(textfile::content_diff(&found.file, &after)),
            false => decision,
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &SysctlArgs,
        changes: Changes,
    ) -> Result<Outcome, ModuleError> {
        let ignore = args.ignore_flag();
        if let Some(assignment) = &changes.set_live {
            let set = Command::new(format!("sysctl{ignore} -w {}", quote(assignment)));
            let set = on.conn.exec(&set).await?;
            if set.rc != 0 || stderr_failed(&set.stderr_text()) {
                return Err(ModuleError::Failed(format!(
                    "setting {} failed: {}",
                    args.key(),
                    set.stderr_text().trim()
                )));
            }
        }
        if let Some(save) = &changes.file {
            textfile::apply_save(on, save, None, false).await?;
        }
        if args.reload {
            let reload = format!("sysctl{ignore} -p {}", quote(&args.sysctl_file));
            let done = on.conn.exec(&Command::new(reload)).await?;
            if done.rc != 0 || stderr_failed(&done.stderr_text()) {
                return Err(ModuleError::Failed(format!(
                    "Failed to reload sysctl: {}{}",
                    done.stdout_text(),
                    done.stderr_text()
                )));
            }
        }
        Ok(Outcome::new())
    }
}

/// A value as Ansible's module normalises it: booleans become `1`/`0`, strings lose
/// their surrounding whitespace.
fn normalise_value(value: &Json) -> String {
    match value {
        Json::Bool(b) => if *b { "1" } else { "0" }.to_string(),
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "true" => "1".to_string(),
            "no" | "off" | "false" => "0".to_string(),
            _ => s.trim().to_string(),
        },
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// `text` with runs of whitespace folded into single spaces.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether two values are the same apart from whitespace (`4096 16384` vs tabs).
fn values_equal(a: &str, b: &str) -> bool {
    squash(a) == squash(b)
}

/// Whether `sysctl` printed an error even with exit status 0 (procps does that for
/// some keys).
fn stderr_failed(stderr: &str) -> bool {
    stderr
        .lines()
        .any(|l| !l.trim().is_empty() && !l.contains("Ignoring"))
}

/// Whether a line carries no setting (blank, comment, or no `=`).
fn is_setting(line: &str) -> bool {
    let trimmed = line.trim();
    !(trimmed.is_empty() || trimmed.starts_with(['#', ';']) || !trimmed.contains('='))
}

/// The value the file gives `name` (the last one wins, as sysctl reads it).
fn file_value(text: &str, name: &str) -> Option<String> {
    text.lines()
        .filter(|line| is_setting(line))
        .filter_map(|line| line.trim().split_once('='))
        .filter(|(k, _)| k.trim() == name)
        .map(|(_, v)| v.trim().to_string())
        .next_back()
}

/// The file rewritten as Ansible's module rewrites it: settings as `key=value`, only
/// the first of each key kept, `name` set to `value` (or dropped when `None`), and
/// appended when it was missing.
fn fix_lines(text: &str, name: &str, value: Option<&str>) -> String {
    let mut seen: Vec<String> = Vec::new();
    let mut fixed = String::new();
    for line in text.split_inclusive('\n') {
        if !is_setting(line) {
            fixed.push_str(line);
            if !line.ends_with('\n') {
                fixed.push('\n');
            }
            continue;
        }
        let Some((k, v)) = line.trim().split_once('=') else {
            continue;
        };
        let (k, v) = (k.trim(), v.trim());
        if seen.iter().any(|s| s == k) {
            continue;
        }
        seen.push(k.to_string());
        if k != name {
            fixed.push_str(&format!("{k}={v}\n"));
        } else if let Some(value) = value {
            fixed.push_str(&format!("{k}={value}\n"));
        }
    }
    if let (false, Some(value)) = (seen.iter().any(|s| s == name), value) {
        fixed.push_str(&format!("{name}={value}\n"));
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str =
        "# tuning\nnet.core.somaxconn = 1024\n\nvm.swappiness=10\nnet.core.somaxconn=2048\n";

    #[test]
    fn file_values_last_one_wins() {
        assert_eq!(
            file_value(FILE, "net.core.somaxconn").as_deref(),
            Some("2048")
        );
        assert_eq!(file_value(FILE, "vm.swappiness").as_deref(), Some("10"));
        assert_eq!(file_value(FILE, "net.ipv4.ip_forward"), None);
    }

    #[test]
    fn lines_are_fixed_as_ansible_does() {
        assert_eq!(
            fix_lines(FILE, "net.core.somaxconn", Some("4096")),
            "# tuning\nnet.core.somaxconn=4096\n\nvm.swappiness=10\n"
        );
        assert_eq!(
            fix_lines(FILE, "net.ipv4.ip_forward", Some("1")),
            "# tuning\nnet.core.somaxconn=1024\n\nvm.swappiness=10\nnet.ipv4.ip_forward=1\n"
        );
        assert_eq!(
            fix_lines("vm.swappiness=10", "vm.swappiness", None),
            "",
            "absent drops the key"
        );
        assert_eq!(fix_lines("", "a.b", Some("1")), "a.b=1\n");
    }

    fn decide(args: Json, file: Option<&str>, live: Option<&str>) -> Decision<Changes> {
        let args = crate::modules::typed::from_json(args).expect("valid arguments");
        let found = Found {
            file: TextFile::found("/etc/sysctl.conf", file),
            live: live.map(str::to_string),
        };
        Sysctl.decide(&args, found).expect("a decision")
    }

    #[test]
    fn a_value_already_in_file_and_kernel_changes_nothing() {
        let args = json!({"name": "vm.swappiness", "value": 10});
        let decision = decide(args, Some(FILE), Some("10"));
        assert!(decision.plan.is_none());
        assert!(decision.diff.is_none());
    }

    #[test]
    fn a_new_value_plans_the_file_and_shows_its_diff() {
        let args = json!({"name": "vm.swappiness", "value": "20", "reload": false});
        let decision = decide(args, Some(FILE), Some("10"));
        let changes = decision.plan.expect("a change");
        assert!(changes.file.is_some());
        assert_eq!(changes.set_live, None, "sysctl_set is off");
        let diff = decision.diff.expect("a diff").to_string();
        assert!(diff.contains("vm.swappiness=20"), "{diff}");
    }

    #[test]
    fn a_live_value_that_differs_is_set_when_asked() {
        let args = json!({"name": "vm.swappiness", "value": "10", "sysctl_set": true});
        let changes = decide(args, Some(FILE), Some("60")).plan.expect("a change");
        assert!(changes.file.is_none(), "the file already says 10");
        assert_eq!(changes.set_live.as_deref(), Some("vm.swappiness=10"));
    }

    #[test]
    fn present_without_a_value_fails_and_absent_removes() {
        let args = crate::modules::typed::from_json(json!({"name": "a.b"})).expect("valid");
        let found = Found {
            file: TextFile::found("/etc/sysctl.conf", None),
            live: None,
        };
        let err = Sysctl.decide(&args, found).expect_err("no value");
        assert_eq!(err, "value cannot be None when state is present");
        let args = json!({"name": "vm.swappiness", "state": "absent"});
        assert!(decide(args, Some(FILE), Some("10")).plan.is_some());
        let args = json!({"name": "vm.swappiness", "state": "absent"});
        assert!(decide(args, None, Some("10")).plan.is_none());
    }

    #[test]
    fn values_normalise() {
        assert_eq!(normalise_value(&json!(true)), "1");
        assert_eq!(normalise_value(&json!("off")), "0");
        assert_eq!(normalise_value(&json!(" 4096 ")), "4096");
        assert_eq!(normalise_value(&json!(65535)), "65535");
        assert!(values_equal("4096\t16384  4194304", "4096 16384 4194304"));
    }
}
