//! `file`'s times: `modification_time` and `access_time` read in their formats, and
//! the `touch` commands that set them as Ansible's `update_timestamp_for_file` does.

use crate::connection::quote;
use crate::modules::fileops::{FileStat, Timestamp};

/// A wanted modification or access time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum When {
    /// The time the task runs.
    Now,
    /// As it is.
    Preserve,
    /// A given local time: `touch -t` form and `date -d` form.
    At { touch: String, date: String },
}

impl When {
    /// Reads `now`, `preserve` or a time written in `format`; `default` when not given.
    pub(super) fn parse(value: Option<&str>, format: &str, default: When) -> Result<When, String> {
        match value {
            None => Ok(default),
            Some("now") => Ok(When::Now),
            Some("preserve") => Ok(When::Preserve),
            Some(text) => {
                let [y, mo, d, h, mi, s] = strptime(text, format)?;
                Ok(When::At {
                    touch: format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}.{s:02}"),
                    date: format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
                })
            }
        }
    }
}

/// Reads `text` as Python's `strptime(text, format)` does for the numeric
/// directives (`%Y %y %m %d %H %M %S %%`): year, month, day, hour, minute, second.
pub(super) fn strptime(text: &str, format: &str) -> Result<[u32; 6], String> {
    let bad = || {
        format!(
            "Error while obtaining timestamp for time {text} using format {format}: time data '{text}' does not match format '{format}'"
        )
    };
    let mut fields = [1900, 1, 1, 0, 0, 0];
    let mut rest = text;
    let mut spec = format.chars();
    while let Some(c) = spec.next() {
        if c != '%' {
            rest = rest.strip_prefix(c).ok_or_else(bad)?;
            continue;
        }
        let directive = spec.next().ok_or_else(bad)?;
        let (slot, width) = match directive {
            'Y' => (0, 4),
            'y' => (0, 2),
            'm' => (1, 2),
            'd' => (2, 2),
            'H' => (3, 2),
            'M' => (4, 2),
            'S' => (5, 2),
            '%' => {
                rest = rest.strip_prefix('%').ok_or_else(bad)?;
                continue;
            }
            other => {
                return Err(format!(
                    "the time directive %{other} is not supported by bosun: use %Y %y %m %d %H %M %S"
                ));
            }
        };
        let digits = rest
            .bytes()
            .take(width)
            .take_while(u8::is_ascii_digit)
            .count();
        let value: u32 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        fields[slot] = match directive {
            'y' if value < 69 => 2000 + value,
            'y' => 1900 + value,
            _ => value,
        };
    }
    let [_, month, day, hour, minute, second] = fields;
    let valid = rest.is_empty()
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 62;
    valid.then_some(fields).ok_or_else(bad)
}

/// The commands setting the modification and access times, as Ansible's
/// `update_timestamp_for_file`: `now` always (a path this run creates has it already),
/// a given time when `existing` (the path as it is; `None` when this run creates it)
/// has another, `preserve` never. Each
/// wanted time comes with what the target's clock makes of it.
pub(super) fn time_commands(
    path: &str,
    existing: Option<&FileStat>,
    mtime: (&When, Option<i64>),
    atime: (&When, Option<i64>),
) -> Vec<String> {
    let p = quote(path);
    if (mtime.0, atime.0) == (&When::Now, &When::Now) && existing.is_some() {
        return vec![format!("touch -c -- {p}")];
    }
    let mut commands = Vec::new();
    for ((when, epoch), flag, now) in [
        (mtime, "-m", existing.map(|s| s.details.mtime)),
        (atime, "-a", existing.map(|s| s.details.atime)),
    ] {
        match when {
            When::Preserve => {}
            When::Now if existing.is_some() => {
                commands.push(format!("touch -c {flag} -- {p}"));
            }
            When::Now => {}
            When::At { touch, .. } => {
                let wanted = epoch.map(|secs| Timestamp { secs, nanos: 0 });
                if now.is_none() || wanted.is_none() || now != wanted {
                    commands.push(format!("touch -c {flag} -t {} -- {p}", quote(touch)));
                }
            }
        }
    }
    commands
}
