//! `sysctl` (ansible.posix): a kernel parameter in a sysctl file and, optionally, in the
//! running kernel, through the `sysctl` command of procps.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param, textfile};
use crate::connection::{Command, quote};

/// Manages one entry of a sysctl file and the live value.
pub struct Sysctl;

#[async_trait]
impl Module for Sysctl {
    fn name(&self) -> &'static str {
        "sysctl"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("name", Kind::Str).required().aliases(&["key"]),
            Param::new("value", Kind::Raw).aliases(&["val"]),
            Param::new("state", Kind::Str).choices(&["present", "absent"]),
            Param::new("reload", Kind::Bool),
            Param::new("sysctl_file", Kind::Str),
            Param::new("sysctl_set", Kind::Bool),
            Param::new("ignoreerrors", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let name = args.str("name").unwrap_or_default().trim().to_string();
        let state = args.str("state").unwrap_or("present");
        let value = args.get("value").map(normalise_value);
        if state == "present" && value.as_deref().is_none_or(str::is_empty) {
            return Ok(super::failed(
                "value cannot be None when state is present".to_string(),
            ));
        }
        let path = args.str("sysctl_file").unwrap_or("/etc/sysctl.conf");
        let ignore = if args.bool_or("ignoreerrors", false) {
            " -e"
        } else {
            ""
        };
        let reload = args.bool_or("reload", true);
        let probe = format!("sysctl -e -n {} 2>/dev/null | tr '\\n' ' '", quote(&name));
        let read = textfile::read_with(ctx, path, textfile::Codec::Utf8, Some(&probe)).await;
        let (file, live) = match read {
            Ok(read) => read,
            Err(err) => return textfile::settle(Err(err)),
        };
        let live = Some(squash(&live)).filter(|v| !v.is_empty());
        let before = file.text.clone().unwrap_or_default();
        let value = value.unwrap_or_default();
        let wanted = (state == "present").then_some(value.as_str());
        let after = fix_lines(&before, &name, wanted);
        let write_file = match (state, file_value(&before, &name)) {
            ("present", None) | ("absent", Some(_)) => true,
            ("present", Some(v)) => !values_equal(&v, &value),
            _ => false,
        };
        let live_differs =
            state == "present" && live.as_deref().is_none_or(|l| !values_equal(l, &value));
        let set_live = args.bool_or("sysctl_set", false) && live_differs;
        let changed = write_file || (reload && live_differs) || set_live;

        let mut outcome = super::ok(changed);
        if ctx.diff_mode && write_file {
            outcome.insert("diff".into(), textfile::content_diff(&file, &after));
        }
        if !changed || ctx.check_mode {
            return Ok(outcome);
        }
        if set_live {
            let assignment = quote(&format!("{name}={value}"));
            let set = ctx
                .conn
                .exec(&Command::new(format!("sysctl{ignore} -w {assignment}")))
                .await?;
            if set.rc != 0 || stderr_failed(&set.stderr_text()) {
                return Ok(super::failed(format!(
                    "setting {name} failed: {}",
                    set.stderr_text().trim()
                )));
            }
        }
        if write_file {
            let saved = textfile::save(ctx, args, &file, &after, true, "").await;
            if let Err(err) = saved {
                return textfile::settle(Err(err));
            }
        }
        if reload {
            let reload = format!("sysctl{ignore} -p {}", quote(&file.path));
            let done = ctx.conn.exec(&Command::new(reload)).await?;
            if done.rc != 0 || stderr_failed(&done.stderr_text()) {
                return Ok(super::failed(format!(
                    "Failed to reload sysctl: {}{}",
                    done.stdout_text(),
                    done.stderr_text()
                )));
            }
        }
        Ok(outcome)
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

    #[test]
    fn values_normalise() {
        assert_eq!(normalise_value(&json!(true)), "1");
        assert_eq!(normalise_value(&json!("off")), "0");
        assert_eq!(normalise_value(&json!(" 4096 ")), "4096");
        assert_eq!(normalise_value(&json!(65535)), "65535");
        assert!(values_equal("4096\t16384  4194304", "4096 16384 4194304"));
    }
}
