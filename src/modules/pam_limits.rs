//! `pam_limits` (community.general): one `domain type item value` line of
//! `/etc/security/limits.conf` (or `dest`), rewritten as Ansible's module rewrites it,
//! comment handling and all, and saved atomically.

use crate::template::pyfmt::str_repr;
use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::fileops::{self, Attributes};
use super::textfile::{self, Codec, SavePlan, TextFile};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::quote;

/// `pam_limits`: manages Linux PAM limits.
pub struct PamLimits;

arg_enum! {
    /// Which limit: soft, hard or both (`-`).
    pub enum LimitType {
        Soft = "soft",
        Hard = "hard",
        Both = "-",
    }
}

arg_enum! {
    /// The limited resource.
    pub enum LimitItem {
        Core = "core",
        Data = "data",
        Fsize = "fsize",
        Memlock = "memlock",
        Nofile = "nofile",
        Rss = "rss",
        Stack = "stack",
        Cpu = "cpu",
        Nproc = "nproc",
        As = "as",
        Maxlogins = "maxlogins",
        Maxsyslogins = "maxsyslogins",
        Priority = "priority",
        Locks = "locks",
        Sigpending = "sigpending",
        Msgqueue = "msgqueue",
        Nice = "nice",
        Rtprio = "rtprio",
        Chroot = "chroot",
    }
}

module_args! {
    /// `pam_limits`' arguments.
    pub struct PamLimitsArgs {
        /// A user, `@group`, `*` or a uid/gid range.
        domain: String => .required(),
        limit_type: LimitType => .required(),
        limit_item: LimitItem => .required(),
        /// The limit (`unlimited`, `infinity` or `-1` for none).
        value: String => .required(),
        /// Whether the larger of the old and new value is kept.
        use_max: bool => .default_bool(false),
        /// Whether the smaller of the old and new value is kept.
        use_min: bool => .default_bool(false),
        /// Whether the old file is kept beside the new one.
        backup: bool => .default_bool(false),
        /// The limits file.
        dest: String => .default_str("/etc/security/limits.conf"),
        /// A comment for the line.
        comment: String => .default_str(""),
    }
}

/// The limits file and what may be done with it.
pub struct Found {
    file: TextFile,
    /// Whether the file exists and may be written.
    writable: bool,
    /// Whether its directory exists and may be written.
    dir_writable: bool,
}

/// The save of the file.
#[derive(Debug)]
pub struct Save(SavePlan);

/// The words meaning no limit.
const UNLIMITED: [&str; 3] = ["unlimited", "infinity", "-1"];

/// Ansible's `_assert_is_valid_value`.
fn check_value(item: &str, value: &str, prefix: &str) -> Result<(), String> {
    if item == "nice" || item == "priority" {
        let valid = value
            .trim()
            .parse::<i64>()
            .is_ok_and(|v| (-20..=19).contains(&v));
        if !valid {
            return Err(format!(
                "{prefix} Value of {} for item {} is invalid. Value must be a number in the range -20 to 19 inclusive. Refer to the limits.conf(5) manual pages for more details.",
                str_repr(value),
                str_repr(item)
            ));
        }
    } else if !(UNLIMITED.contains(&value)
        || (!value.is_empty() && value.chars().all(|c| c.is_ascii_digit())))
    {
        return Err(format!(
            "{prefix} Value of {} for item {} is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details.",
            str_repr(value),
            str_repr(item)
        ));
    }
    Ok(())
}

/// The file rewritten as Ansible's module rewrites it: the new text, whether it
/// counts as a change, and the message (the line as it ends up).
fn rewrite(text: &str, args: &PamLimitsArgs) -> Result<(String, bool, String), String> {
    let (domain, kind, item, value) = (
        args.domain.as_str(),
        args.limit_type.as_str(),
        args.limit_item.as_str(),
        args.value.as_str(),
    );
    let mut comment = args.comment.clone();
    let mut out = String::new();
    let mut message = String::new();
    let mut found = false;
    let mut changed = false;
    let mut new_value = value.to_string();
    let limit_line = |comment: &mut String, new_value: &str| {
        if !comment.is_empty() {
            *comment = format!("\t#{comment}");
        }
        format!("{domain}\t{kind}\t{item}\t{new_value}{comment}\n")
    };
    for line in text.split_inclusive('\n') {
        if line.starts_with('#') {
            out.push_str(line);
            continue;
        }
        let squeezed = line.split_whitespace().collect::<Vec<_>>().join(" ");
        if squeezed.is_empty() {
            out.push_str(line);
            continue;
        }
        let setting = squeezed.split('#').next().unwrap_or_default().trim_end();
        let old_comment = line.split_once('#').map_or("", |(_, c)| c);
        if comment.is_empty() {
            comment = old_comment.to_string();
        }
        let fields: Vec<&str> = setting.split(' ').collect();
        let [line_domain, line_type, line_item, actual] = fields[..] else {
            out.push_str(line);
            continue;
        };
        let prefix = format!("Invalid configuration found in '{}'.", args.dest);
        check_value(line_item, actual, &prefix)?;
        if (line_domain, line_type, line_item) != (domain, kind, item) {
            out.push_str(line);
            continue;
        }
        found = true;
        if value == actual {
            message = line.to_string();
            out.push_str(line);
            continue;
        }
        // Ansible compares the type, not the item, with nice/priority: never equal.
        let actual_unlimited = UNLIMITED.contains(&actual);
        let value_unlimited = UNLIMITED.contains(&value);
        let number = |v: &str| v.trim().parse::<i64>().map_err(|e| e.to_string());
        if args.use_max {
            new_value = match (actual_unlimited, value_unlimited) {
                (true, _) => actual.to_string(),
                (_, true) => value.to_string(),
                _ => number(value)?.max(number(actual)?).to_string(),
            };
        }
        if args.use_min {
            new_value = match (actual_unlimited, value_unlimited) {
                (true, true) => actual.to_string(),
                (true, false) => value.to_string(),
                (false, true) => actual.to_string(),
                _ => number(value)?.min(number(actual)?).to_string(),
            };
        }
        if new_value != actual {
            changed = true;
            let new_line = limit_line(&mut comment, &new_value);
            message.clone_from(&new_line);
            out.push_str(&new_line);
        } else {
            message = line.to_string();
            out.push_str(line);
        }
    }
    if !found {
        changed = true;
        let new_line = limit_line(&mut comment, &new_value);
        message.clone_from(&new_line);
        out.push_str(&new_line);
    }
    Ok((out, changed, message))
}

#[async_trait]
impl StateModule for PamLimits {
    const NAME: &'static str = "pam_limits";
    type Args = PamLimitsArgs;
    type State = Found;
    type Plan = Save;

    async fn query(&self, on: &Target<'_>, args: &PamLimitsArgs) -> Result<Found, ModuleError> {
        let dest = quote(&args.dest);
        let dir = quote(fileops::parent_dir(&args.dest));
        let probe = format!(
            "[ -f {dest} ] && [ -w {dest} ] && echo writable; [ -d {dir} ] && [ -w {dir} ] && echo dir; :"
        );
        let (file, probed) = textfile::read_with(on, &args.dest, Codec::Utf8, Some(&probe)).await?;
        Ok(Found {
            file,
            writable: probed.lines().any(|l| l == "writable"),
            dir_writable: probed.lines().any(|l| l == "dir"),
        })
    }

    fn decide(&self, args: &PamLimitsArgs, found: Found) -> Result<Decision<Save>, String> {
        let exists = found.file.text.is_some();
        if exists && !found.writable {
            return Err(format!("{} is not writable. Use sudo", args.dest));
        }
        if !exists && !found.dir_writable {
            return Err(format!(
                "directory {} is not writable (check presence, access rights, use sudo)",
                fileops::parent_dir(&args.dest)
            ));
        }
        if args.use_max && args.use_min {
            return Err("Cannot use use_min and use_max at the same time.".into());
        }
        check_value(args.limit_item.as_str(), &args.value, "")?;
        let before = found.file.text.clone().unwrap_or_default();
        let (after, changed, message) = rewrite(&before, args)?;
        let changed = changed || !exists;
        let save = textfile::plan_save(&found.file, &Attributes::default(), &after, changed, "")?;
        let diff = json!({"before": before, "after": after});
        Ok(Decision::maybe(changed.then_some(Save(save)))
            .with_diff(diff)
            .with("msg", message))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &PamLimitsArgs,
        save: Save,
    ) -> Result<Outcome, ModuleError> {
        let backup = textfile::apply_save(on, &save.0, None, args.backup).await?;
        let mut outcome = Outcome::new();
        if args.backup {
            outcome.insert("backup_file".into(), json!(backup.unwrap_or_default()));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    const LIMITS: &str = "# /etc/security/limits.conf\n*\tsoft\tnofile\t1024\n@dev   hard   nproc   200   # developers\n\n";

    fn args(value: Json) -> PamLimitsArgs {
        crate::modules::typed::from_json(value).expect("valid arguments")
    }

    fn decide(value: Json, text: Option<&str>) -> Result<Decision<Save>, String> {
        let found = Found {
            file: TextFile::found("/etc/security/limits.conf", text),
            writable: true,
            dir_writable: true,
        };
        PamLimits.decide(&args(value), found)
    }

    #[test]
    fn an_existing_limit_is_kept_or_replaced() {
        let same =
            json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "1024"});
        let decision = decide(same, Some(LIMITS)).expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["msg"], "*\tsoft\tnofile\t1024\n");
        let more =
            json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "4096"});
        let decision = decide(more, Some(LIMITS)).expect("a decision");
        assert!(decision.plan.is_some());
        assert_eq!(
            decision.diff.expect("a diff")["after"],
            "# /etc/security/limits.conf\n*\tsoft\tnofile\t4096\n@dev   hard   nproc   200   # developers\n\n"
        );
    }

    #[test]
    fn a_new_limit_is_appended_with_the_comment_ansible_picks() {
        // Ansible takes the comment of the last line it read when none is given.
        let (after, changed, message) = rewrite(
            LIMITS,
            &args(json!({"domain": "bob", "limit_type": "-", "limit_item": "core", "value": "0"})),
        )
        .expect("a rewrite");
        assert!(changed);
        assert_eq!(message, "bob\t-\tcore\t0\t# developers\n\n");
        assert!(
            after.ends_with("\n\nbob\t-\tcore\t0\t# developers\n\n"),
            "{after:?}"
        );
        let (_, _, message) = rewrite(
            "",
            &args(json!({"domain": "bob", "limit_type": "hard", "limit_item": "nice", "value": "-5", "comment": "x"})),
        )
        .expect("a rewrite");
        assert_eq!(message, "bob\thard\tnice\t-5\t#x\n");
    }

    #[test]
    fn use_max_and_use_min_keep_the_larger_or_smaller() {
        let base = |extra: Json| {
            let mut value = json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "512"});
            value
                .as_object_mut()
                .expect("an object")
                .extend(extra.as_object().expect("an object").clone());
            value
        };
        assert!(
            decide(base(json!({"use_max": true})), Some(LIMITS))
                .expect("a decision")
                .plan
                .is_none()
        );
        assert!(
            decide(base(json!({"use_min": true})), Some(LIMITS))
                .expect("a decision")
                .plan
                .is_some()
        );
        let err = decide(
            base(json!({"use_min": true, "use_max": true})),
            Some(LIMITS),
        )
        .err();
        assert_eq!(
            err.as_deref(),
            Some("Cannot use use_min and use_max at the same time.")
        );
    }

    #[test]
    fn values_are_checked_in_the_task_and_in_the_file() {
        let bad =
            json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "lots"});
        assert_eq!(
            decide(bad, None).err().as_deref(),
            Some(
                " Value of 'lots' for item 'nofile' is invalid. Value must either be 'unlimited', 'infinity' or -1, all of which indicate no limit, or a limit of 0 or larger. Refer to the limits.conf(5) manual pages for more details."
            )
        );
        let ok = json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "1"});
        let err = decide(ok, Some("* hard nice 40\n"))
            .err()
            .unwrap_or_default();
        assert!(err.starts_with("Invalid configuration found in '/etc/security/limits.conf'. Value of '40' for item 'nice'"), "{err}");
    }

    #[test]
    fn a_missing_file_is_a_change_and_needs_its_directory() {
        let new =
            json!({"domain": "*", "limit_type": "soft", "limit_item": "nofile", "value": "1"});
        assert!(
            decide(new.clone(), None)
                .expect("a decision")
                .plan
                .is_some()
        );
        let found = Found {
            file: TextFile::found("/etc/security/limits.conf", None),
            writable: false,
            dir_writable: false,
        };
        assert_eq!(
            PamLimits.decide(&args(new), found).err().as_deref(),
            Some(
                "directory /etc/security is not writable (check presence, access rights, use sudo)"
            )
        );
    }
}
