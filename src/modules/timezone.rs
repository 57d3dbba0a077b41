//! `timezone` (community.general) on Linux: with a working `timedatectl` it reads
//! `timedatectl status` and runs `set-timezone`/`set-local-rtc`, as Ansible's
//! `SystemdTimezone`; without one, on Debian (`dpkg-reconfigure` present), it edits
//! `/etc/timezone` and `/etc/default/rcS`, links `/etc/localtime` and runs
//! `dpkg-reconfigure tzdata` and `hwclock --systohc`, as its `NosystemdTimezone`. After
//! a change the state is read again and must be the planned one.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// `timezone`: sets the system time zone and the hardware clock's zone.
pub struct Timezone;

arg_enum! {
    /// The zone the hardware clock keeps.
    pub enum Hwclock {
        Local = "local",
        Utc = "UTC",
    }
}

module_args! {
    /// `timezone`'s arguments.
    pub struct TimezoneArgs {
        /// Whether the hardware clock keeps UTC or local time.
        hwclock: Option<Hwclock> => .aliases(&["rtc"]),
        /// The time zone (`Asia/Tokyo`).
        name: Option<String>,
    }
    rules: Rules {
        required_one_of: &[&["hwclock", "name"]],
        ..Rules::NONE
    };
}

impl TimezoneArgs {
    /// The planned values, in Ansible's order (`hwclock`, then `name`).
    fn planned(&self) -> Vec<(Key, String)> {
        let mut planned = Vec::new();
        if let Some(hwclock) = self.hwclock {
            planned.push((Key::Hwclock, hwclock.as_str().to_string()));
        }
        if let Some(name) = &self.name {
            planned.push((Key::Name, name.clone()));
        }
        planned
    }
}

/// What the module manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Key {
    Hwclock,
    Name,
}

impl Key {
    /// Its name in the diff.
    fn as_str(self) -> &'static str {
        match self {
            Key::Hwclock => "hwclock",
            Key::Name => "name",
        }
    }
}

/// The Debian files a system without systemd keeps the settings in.
const TIMEZONE_FILE: &str = "/etc/timezone";
const RCS_FILE: &str = "/etc/default/rcS";
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The target as the query finds it.
#[derive(Debug)]
pub enum Found {
    /// `timedatectl` works: its path and its `status`.
    Systemd {
        timedatectl: String,
        status: String,
        zone_exists: bool,
    },
    /// No working `timedatectl`: the Debian files.
    Classic(Box<Classic>),
}

/// The files and tools of a system without systemd.
#[derive(Debug, Default)]
pub struct Classic {
    zone_exists: bool,
    debian: bool,
    hwclock: Option<String>,
    timezone: Option<String>,
    rcs: Option<String>,
    adjtime: Option<String>,
    /// `/etc/localtime`'s link target, when it is a link to something that exists.
    localtime_link: Option<String>,
    /// Whether `/etc/localtime` is a link (broken or not).
    localtime_is_link: bool,
    /// Whether `/etc/localtime` has the planned zone's bytes.
    localtime_same: bool,
}

/// The changes: the commands in order, with what Ansible notes about them.
#[derive(Debug, PartialEq)]
pub struct Plan {
    steps: Vec<Step>,
    planned: Vec<(Key, String)>,
}

/// One change.
#[derive(Debug, PartialEq)]
enum Step {
    /// A command; `log` is the message Ansible keeps about it.
    Run { argv: Vec<String>, log: bool },
    /// A file rewritten, with the message of its edit.
    Write {
        path: &'static str,
        text: String,
        msg: String,
    },
}

#[async_trait]
impl StateModule for Timezone {
    const NAME: &'static str = "timezone";
    type Args = TimezoneArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &TimezoneArgs) -> Result<Found, ModuleError> {
        let zone = args.name.as_deref().unwrap_or("");
        let zonefile = quote(&format!("{ZONEINFO}/{zone}"));
        let script = format!(
            "[ -f {zonefile} ] && echo zone; \
             if t=$(command -v timedatectl) && timedatectl >/dev/null 2>&1; then \
               printf 'systemd %s\\n' \"$t\"; timedatectl status; exit 0; fi; \
             printf 'classic\\n'; \
             command -v dpkg-reconfigure >/dev/null && echo debian; \
             printf 'hwclock %s\\n' \"$(command -v hwclock)\"; \
             [ -L /etc/localtime ] && echo link && [ -e /etc/localtime ] && printf 'target %s\\n' \"$(readlink /etc/localtime)\"; \
             [ ! -L /etc/localtime ] && cmp -s /etc/localtime {zonefile} && echo same; \
             for f in {TIMEZONE_FILE} {RCS_FILE} /etc/adjtime; do [ -r \"$f\" ] && {{ printf '@@%s\\n' \"$f\"; cat \"$f\"; }}; done; :"
        );
        let out = on.conn.exec(&Command::new(script)).await?;
        Ok(parse_found(&out.stdout_text()))
    }

    fn decide(&self, args: &TimezoneArgs, found: Found) -> Result<Decision<Plan>, String> {
        let planned = args.planned();
        let zone_exists = match &found {
            Found::Systemd { zone_exists, .. } => *zone_exists,
            Found::Classic(classic) => classic.zone_exists,
        };
        if let (Some(name), false) = (&args.name, zone_exists) {
            return Err(abort(
                &format!("given timezone \"{name}\" is not available"),
                &[],
            ));
        }
        let before = current(&found, &planned)?;
        let mut steps = Vec::new();
        for ((key, want), (_, have)) in planned.iter().zip(&before) {
            if want != have {
                steps.extend(change(&found, *key, want)?);
            }
        }
        let diff = json!({
            "before": as_map(&before),
            "after": as_map(&planned),
        });
        let plan = (!steps.is_empty()).then(|| Plan {
            steps,
            planned: planned.clone(),
        });
        Ok(Decision::maybe(plan).with_diff(diff))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &TimezoneArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let mut notes: Vec<String> = Vec::new();
        for step in &plan.steps {
            match step {
                Step::Write { path, text, msg } => {
                    let written =
                        super::fileops::write_with_mode(on, path, text.as_bytes(), 0o644).await?;
                    if written.is_err() {
                        let key = if *path == TIMEZONE_FILE {
                            "name"
                        } else {
                            "hwclock"
                        };
                        return Err(ModuleError::Failed(abort(
                            &format!(
                                "tried to configure {key} using a file \"{path}\", but could not write to it"
                            ),
                            &notes,
                        )));
                    }
                    notes.push(msg.clone());
                }
                Step::Run { argv, log } => {
                    super::run::checked(on, argv, false).await?;
                    if *log {
                        notes.push(format!("executed `{}`", argv.join(" ")));
                    }
                }
            }
        }
        let after =
            current(&self.query(on, args).await?, &plan.planned).map_err(ModuleError::Failed)?;
        if after != plan.planned {
            return Err(ModuleError::Failed(abort(
                &format!(
                    "still not desired state, though changes have made - planned: {}, after: {}",
                    python_dict(&plan.planned),
                    python_dict(&after)
                ),
                &notes,
            )));
        }
        let mut outcome = Outcome::new();
        if !notes.is_empty() {
            outcome.insert("msg".into(), json!(notes.join("\n")));
        }
        Ok(outcome)
    }
}

/// Ansible's `abort` message: the error, then the notes taken so far.
fn abort(msg: &str, notes: &[String]) -> String {
    let mut lines = vec!["Error message:".to_string(), msg.to_string()];
    if !notes.is_empty() {
        lines.push("Other message(s):".into());
        lines.extend(notes.iter().cloned());
    }
    lines.join("\n")
}

/// Values as the diff shows them.
fn as_map(values: &[(Key, String)]) -> Map<String, Json> {
    values
        .iter()
        .map(|(key, value)| (key.as_str().to_string(), json!(value)))
        .collect()
}

/// Values as Python prints a dict (`{'name': 'Asia/Tokyo'}`).
fn python_dict(values: &[(Key, String)]) -> String {
    let items: Vec<String> = values
        .iter()
        .map(|(key, value)| format!("'{}': '{value}'", key.as_str()))
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// Reads the query's output.
fn parse_found(out: &str) -> Found {
    let zone_exists = out.lines().next() == Some("zone");
    let mut lines = out.lines().skip_while(|l| *l == "zone");
    if let Some(path) = lines.next().and_then(|l| l.strip_prefix("systemd ")) {
        return Found::Systemd {
            timedatectl: path.to_string(),
            status: lines.collect::<Vec<_>>().join("\n"),
            zone_exists,
        };
    }
    let mut classic = Classic {
        zone_exists,
        ..Classic::default()
    };
    let mut file: Option<(String, String)> = None;
    let mut files: Vec<(String, String)> = Vec::new();
    for line in out.split_inclusive('\n') {
        if let Some(name) = line.strip_prefix("@@") {
            files.extend(file.take());
            file = Some((name.trim_end().to_string(), String::new()));
            continue;
        }
        if let Some((_, text)) = &mut file {
            text.push_str(line);
            continue;
        }
        let line = line.trim_end();
        match line.split_once(' ') {
            Some(("hwclock", path)) if !path.is_empty() => classic.hwclock = Some(path.into()),
            Some(("target", target)) => classic.localtime_link = Some(target.into()),
            _ => match line {
                "debian" => classic.debian = true,
                "link" => classic.localtime_is_link = true,
                "same" => classic.localtime_same = true,
                _ => {}
            },
        }
    }
    files.extend(file);
    for (name, text) in files {
        match name.as_str() {
            TIMEZONE_FILE => classic.timezone = Some(text),
            RCS_FILE => classic.rcs = Some(text),
            _ => classic.adjtime = Some(text),
        }
    }
    Found::Classic(Box::new(classic))
}

/// Python's `module.boolean` on a word from a file.
fn truthy(word: &str) -> Result<bool, String> {
    match word.to_ascii_lowercase().as_str() {
        "yes" | "on" | "1" | "true" | "y" | "t" => Ok(true),
        "no" | "off" | "0" | "false" | "n" | "f" => Ok(false),
        _ => Err(format!(
            "The value '{word}' is not a valid boolean.  Valid booleans include: 0, 1, 'y', 'yes', 'on', 'off', 'f', 'true', 'no', 'false', 'n', 't'"
        )),
    }
}

/// The first word of the first line `prefix` starts (Ansible's `^PREFIX\s*=\s*(\S+)`
/// and `^(\S+)` searched in multiline mode); `prefix` empty: a line starting with a
/// non-space.
fn first_setting<'t>(text: &'t str, prefix: &str) -> Option<(usize, &'t str)> {
    text.lines().enumerate().find_map(|(index, line)| {
        let value = match prefix {
            "" => line,
            _ => line
                .strip_prefix(prefix)?
                .trim_start()
                .strip_prefix('=')?
                .trim_start(),
        };
        let word = value.split(char::is_whitespace).next()?;
        (!word.is_empty()).then_some((index, word))
    })
}

/// The current values of the planned keys.
fn current(found: &Found, planned: &[(Key, String)]) -> Result<Vec<(Key, String)>, String> {
    planned
        .iter()
        .map(|(key, want)| {
            let value = match found {
                Found::Systemd { status, .. } => systemd_value(status, *key)?,
                Found::Classic(classic) => classic_value(classic, *key, want),
            };
            Ok((*key, value))
        })
        .collect()
}

/// A value from `timedatectl status`, as `SystemdTimezone.get` reads it.
fn systemd_value(status: &str, key: Key) -> Result<String, String> {
    let label = |line: &str| -> Option<String> {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        let wanted = match key {
            Key::Name => name == "Time zone" || name == "Timezone",
            Key::Hwclock => name == "RTC in local TZ",
        };
        let word = value.split_whitespace().next()?;
        wanted.then(|| word.to_string())
    };
    let value = status
        .lines()
        .find_map(label)
        .ok_or_else(|| format!("timedatectl status does not say the {}", key.as_str()))?;
    Ok(match key {
        Key::Name => value,
        Key::Hwclock if truthy(&value)? => "local".into(),
        Key::Hwclock => "UTC".into(),
    })
}

/// A value from the Debian files, as `NosystemdTimezone.get` reads it.
fn classic_value(found: &Classic, key: Key, planned: &str) -> String {
    match key {
        Key::Hwclock => {
            let value = match found.rcs.as_deref().and_then(|t| first_setting(t, "UTC")) {
                Some((_, word)) => match truthy(word) {
                    Ok(true) => "UTC",
                    Ok(false) => "local",
                    Err(_) => "n/a",
                },
                None => "n/a",
            };
            if value != planned {
                return value.into();
            }
            let adjtime = found.adjtime.as_deref().unwrap_or("");
            match adjtime.lines().find(|l| *l == "UTC" || *l == "LOCAL") {
                Some("LOCAL") => "local".into(),
                _ => "UTC".into(),
            }
        }
        Key::Name => {
            let value = found
                .timezone
                .as_deref()
                .and_then(|t| first_setting(t, ""))
                .map_or("n/a", |(_, word)| word);
            if value != planned {
                return value.into();
            }
            if !found.localtime_is_link {
                return match found.localtime_same {
                    true => value.into(),
                    false => "n/a".into(),
                };
            }
            let Some(target) = &found.localtime_link else {
                return "n/a".into();
            };
            let zone = ["/usr/share/zoneinfo/", "/etc/zoneinfo/"]
                .iter()
                .filter_map(|dir| target.find(dir).map(|at| &target[at + dir.len()..]))
                .next();
            match zone {
                Some(zone) if zone != planned => zone.into(),
                Some(_) => value.into(),
                None => "n/a".into(),
            }
        }
    }
}

/// The steps that set `key` to `want`.
fn change(found: &Found, key: Key, want: &str) -> Result<Vec<Step>, String> {
    let run = |argv: &[&str], log: bool| Step::Run {
        argv: argv.iter().map(|a| a.to_string()).collect(),
        log,
    };
    match found {
        Found::Systemd { timedatectl, .. } => Ok(vec![match key {
            Key::Name => run(&[timedatectl, "set-timezone", want], true),
            Key::Hwclock => {
                let local = if want == "local" { "yes" } else { "no" };
                run(&[timedatectl, "set-local-rtc", local], true)
            }
        }]),
        Found::Classic(classic) => {
            if !classic.debian {
                return Err(abort(
                    "bosun sets the time zone without timedatectl only on Debian (dpkg-reconfigure)",
                    &[],
                ));
            }
            let hwclock = classic
                .hwclock
                .clone()
                .ok_or("Failed to find required executable \"hwclock\" in paths: /usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin")?;
            Ok(match key {
                Key::Name => {
                    let zonefile = format!("{ZONEINFO}/{want}");
                    vec![
                        edit_file(
                            TIMEZONE_FILE,
                            classic.timezone.as_deref(),
                            "",
                            &format!("{want}\n"),
                        ),
                        run(&["ln", "-sf", &zonefile, "/etc/localtime"], false),
                        run(
                            &["dpkg-reconfigure", "--frontend", "noninteractive", "tzdata"],
                            false,
                        ),
                    ]
                }
                Key::Hwclock => {
                    let (option, utc) = match want {
                        "local" => ("--localtime", "no"),
                        _ => ("--utc", "yes"),
                    };
                    vec![
                        edit_file(
                            RCS_FILE,
                            classic.rcs.as_deref(),
                            "UTC",
                            &format!("UTC={utc}\n"),
                        ),
                        run(&[&hwclock, "--systohc", option], true),
                    ]
                }
            })
        }
    }
}

/// Ansible's `_edit_file`: every line matching goes, `line` takes the place of the
/// first (or the top).
fn edit_file(path: &'static str, text: Option<&str>, prefix: &str, line: &str) -> Step {
    let mut lines: Vec<String> = text
        .unwrap_or("")
        .split_inclusive('\n')
        .map(str::to_string)
        .collect();
    let matched: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| first_setting(l, prefix).is_some())
        .map(|(index, _)| index)
        .collect();
    let at = matched.first().copied().unwrap_or(0);
    for index in matched.iter().rev() {
        lines.remove(*index);
    }
    lines.insert(at, line.to_string());
    Step::Write {
        path,
        text: lines.concat(),
        msg: format!(
            "Added 1 line and deleted {} line(s) on {path}",
            matched.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "               Local time: Thu 2026-12-03 17:01:50 UTC\n                Time zone: Etc/UTC (UTC, +0000)\n          RTC in local TZ: no\n";

    fn systemd() -> Found {
        Found::Systemd {
            timedatectl: "/usr/bin/timedatectl".into(),
            status: STATUS.into(),
            zone_exists: true,
        }
    }

    fn args(value: Json) -> TimezoneArgs {
        crate::modules::typed::from_json(value).expect("valid arguments")
    }

    #[test]
    fn the_zone_already_set_changes_nothing() {
        let decision = Timezone
            .decide(
                &args(json!({"name": "Etc/UTC", "hwclock": "UTC"})),
                systemd(),
            )
            .expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(
            decision.diff,
            Some(
                json!({"before": {"hwclock": "UTC", "name": "Etc/UTC"}, "after": {"hwclock": "UTC", "name": "Etc/UTC"}})
            )
        );
    }

    #[test]
    fn systemd_sets_the_zone_and_the_rtc_with_timedatectl() {
        let decision = Timezone
            .decide(
                &args(json!({"name": "Asia/Tokyo", "rtc": "local"})),
                systemd(),
            )
            .expect("a decision");
        let plan = decision.plan.expect("a change");
        assert_eq!(
            plan.steps,
            [
                Step::Run {
                    argv: vec![
                        "/usr/bin/timedatectl".into(),
                        "set-local-rtc".into(),
                        "yes".into()
                    ],
                    log: true
                },
                Step::Run {
                    argv: vec![
                        "/usr/bin/timedatectl".into(),
                        "set-timezone".into(),
                        "Asia/Tokyo".into()
                    ],
                    log: true
                },
            ]
        );
        assert_eq!(
            decision.diff.expect("a diff")["after"]["name"],
            "Asia/Tokyo"
        );
    }

    #[test]
    fn an_unknown_zone_fails_as_ansible_says() {
        let found = Found::Systemd {
            timedatectl: "/usr/bin/timedatectl".into(),
            status: STATUS.into(),
            zone_exists: false,
        };
        let err = Timezone
            .decide(&args(json!({"name": "Mars/Olympus"})), found)
            .expect_err("no such zone");
        assert_eq!(
            err,
            "Error message:\ngiven timezone \"Mars/Olympus\" is not available"
        );
    }

    #[test]
    fn debian_without_systemd_edits_its_files() {
        let out = "zone\nclassic\ndebian\nhwclock /usr/sbin/hwclock\nlink\ntarget /usr/share/zoneinfo/Etc/UTC\n@@/etc/timezone\nEtc/UTC\n@@/etc/default/rcS\n# rcS\nUTC=yes\n";
        let found = parse_found(out);
        let planned = [
            (Key::Name, "Etc/UTC".to_string()),
            (Key::Hwclock, "UTC".to_string()),
        ];
        assert_eq!(current(&found, &planned).expect("values"), planned);
        let decision = Timezone
            .decide(
                &args(json!({"name": "Europe/Paris", "hwclock": "local"})),
                found,
            )
            .expect("a decision");
        let steps = decision.plan.expect("a change").steps;
        assert_eq!(
            steps[0],
            Step::Write {
                path: RCS_FILE,
                text: "# rcS\nUTC=no\n".into(),
                msg: "Added 1 line and deleted 1 line(s) on /etc/default/rcS".into()
            }
        );
        assert_eq!(
            steps[2],
            Step::Write {
                path: TIMEZONE_FILE,
                text: "Europe/Paris\n".into(),
                msg: "Added 1 line and deleted 1 line(s) on /etc/timezone".into()
            }
        );
    }

    #[test]
    fn a_localtime_link_elsewhere_is_the_zone_that_counts() {
        let classic = Classic {
            timezone: Some("Asia/Tokyo\n".into()),
            localtime_is_link: true,
            localtime_link: Some("../usr/share/zoneinfo/Europe/Paris".into()),
            ..Classic::default()
        };
        assert_eq!(
            classic_value(&classic, Key::Name, "Asia/Tokyo"),
            "Europe/Paris"
        );
        assert_eq!(classic_value(&classic, Key::Name, "UTC"), "Asia/Tokyo");
    }
}
