//! What `user` reads of an account's shadow entry and changes in it, as Ansible's
//! Linux `User` does: the hash (a leading `!` locks it), the expiry date (`-e`) and
//! password aging (`chage -m/-M/-W`).

use time::OffsetDateTime;
use time::macros::format_description;

use crate::connection::quote;

/// The fields of a `getent shadow` line that `user` compares; an empty number is
/// `-1`, as Python's `spwd` gives it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Shadow {
    /// The password hash, `!` first when locked.
    pub hash: String,
    /// Days before the password may change again.
    pub min: i64,
    /// Days the password stays valid.
    pub max: i64,
    /// Days of warning before it expires.
    pub warn: i64,
    /// The account's expiry, in days since the epoch.
    pub expire: i64,
}

/// Reads a `getent shadow` line; `None` when it is not one.
pub fn parse(line: &str) -> Option<Shadow> {
    let fields: Vec<&str> = line.split(':').collect();
    if fields.len() < 8 {
        return None;
    }
    let number = |index: usize| fields[index].trim().parse().unwrap_or(-1);
    Some(Shadow {
        hash: fields[1].to_string(),
        min: number(3),
        max: number(4),
        warn: number(5),
        expire: number(7),
    })
}

/// `useradd`/`usermod`'s `-e` value for `expires` (seconds since the epoch): empty
/// (no expiry) before the epoch, else the UTC date.
pub fn expiry_date(expires: f64) -> String {
    if expires < 0.0 {
        return String::new();
    }
    date_of(expires.floor() as i64)
}

/// Whether the account's expiry (`current` days since the epoch, `-1` for none)
/// must change for `expires`: a negative one removes an expiry that is set, another
/// must fall on the same UTC day.
pub fn expiry_differs(expires: f64, current: i64) -> bool {
    if expires < 0.0 {
        return current >= 0;
    }
    current < 0 || date_of(current.saturating_mul(86_400)) != expiry_date(expires)
}

/// The UTC date of `seconds` since the epoch as `YYYY-MM-DD`.
fn date_of(seconds: i64) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .ok()
        .and_then(|moment| {
            moment
                .format(format_description!("[year]-[month]-[day]"))
                .ok()
        })
        .unwrap_or_default()
}

/// Password aging asked for (`password_expire_min`, `_max`, `_warn`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Aging {
    /// `password_expire_min`.
    pub min: Option<i64>,
    /// `password_expire_max`.
    pub max: Option<i64>,
    /// `password_expire_warn`.
    pub warn: Option<i64>,
}

impl Aging {
    /// The `chage` command setting what differs from `current` (everything asked for
    /// when the account is new), or `None` when nothing does.
    pub fn chage(&self, name: &str, current: Option<&Shadow>) -> Option<String> {
        let differs = |wanted: Option<i64>, have: Option<i64>| wanted.filter(|w| Some(*w) != have);
        let flags: Vec<String> = [
            ("-m", differs(self.min, current.map(|s| s.min))),
            ("-M", differs(self.max, current.map(|s| s.max))),
            ("-W", differs(self.warn, current.map(|s| s.warn))),
        ]
        .iter()
        .filter_map(|(flag, value)| value.map(|v| format!("{flag} {v}")))
        .collect();
        (!flags.is_empty()).then(|| format!("chage {} {}", flags.join(" "), quote(name)))
    }

    /// Whether any of it was asked for.
    pub fn is_asked(&self) -> bool {
        self.min.is_some() || self.max.is_some() || self.warn.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shadow_lines_parse_with_empty_numbers_as_minus_one() {
        let shadow = parse("deploy:!$6$x$y:19000:0:99999:7:::").expect("a shadow line");
        assert_eq!(shadow.hash, "!$6$x$y");
        assert_eq!(
            (shadow.min, shadow.max, shadow.warn, shadow.expire),
            (0, 99999, 7, -1)
        );
        assert_eq!(parse("deploy:x:1").map(|s| s.min), None);
    }

    #[test]
    fn expiry_is_a_day_and_a_negative_time_removes_it() {
        assert_eq!(expiry_date(1_767_225_600.0), "2026-01-01");
        assert_eq!(expiry_date(-1.0), "");
        assert!(!expiry_differs(1_767_225_600.0 + 3600.0, 20_454));
        assert!(expiry_differs(1_767_225_600.0, 20_455));
        assert!(expiry_differs(1_767_225_600.0, -1));
        assert!(expiry_differs(-1.0, 20_454));
        assert!(!expiry_differs(-1.0, -1));
    }

    #[test]
    fn chage_sets_only_what_differs() {
        let aging = Aging {
            min: Some(1),
            max: Some(90),
            warn: None,
        };
        let shadow = parse("u:x:19000:1:99999:7:::").expect("shadow");
        assert_eq!(
            aging.chage("u", Some(&shadow)).as_deref(),
            Some("chage -M 90 u")
        );
        assert_eq!(
            aging.chage("u", None).as_deref(),
            Some("chage -m 1 -M 90 u")
        );
        let done = parse("u:x:19000:1:90:7:::").expect("shadow");
        assert_eq!(aging.chage("u", Some(&done)), None);
    }
}
