//! What the `user` query reads of an account: its passwd line and, when the task needs
//! them, its groups (`id -Gn`), its shadow entry and whether its home exists.

use super::shadow::{self, Shadow};

/// An account as `getent passwd` shows it, with what else was asked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// The user ID.
    pub uid: u32,
    /// The primary group's ID.
    pub gid: u32,
    /// The GECOS field.
    pub comment: String,
    /// The home directory.
    pub home: String,
    /// The login shell.
    pub shell: String,
    /// The primary group's name (empty unless the groups were asked).
    pub primary_group: String,
    /// Every group the account is in, the primary one first (empty unless asked).
    pub groups: Vec<String>,
    /// The shadow entry, when it was asked for and is readable.
    pub shadow: Option<Shadow>,
    /// Whether the home was looked for and is missing.
    pub home_missing: bool,
}

/// Which home the query looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HomeCheck {
    /// None: the task would not make a missing home.
    Skip,
    /// The one the passwd line names.
    Current,
    /// The one the task names (quoted for the shell).
    At(String),
}

/// What the query asks besides the passwd line.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The groups (`id -Gn`), to compare `group` and `groups`.
    pub groups: bool,
    /// The shadow entry, to compare the password and its aging.
    pub shadow: bool,
    /// Whether (and where) to look for the home.
    pub home: HomeCheck,
}

impl Asked {
    /// Only the passwd line: what the result reports.
    pub const PASSWD: Asked = Asked {
        groups: false,
        shadow: false,
        home: HomeCheck::Skip,
    };
}

/// The line the query prints when the home it looked for is missing.
pub(super) const HOME_MISSING: &str = "H:missing";

/// The script printing the account `n` (quoted): the passwd line, then the `L:`, `S:`
/// and `H:` lines asked for; nothing when there is no such account. `id -Gn` names the
/// primary group first.
pub fn script(n: &str, asked: &Asked) -> String {
    let mut script = if asked.home == HomeCheck::Current {
        // The home is the sixth field; no field holds a colon.
        format!(
            "if p=$(getent passwd {n}); then printf '%s\\n' \"$p\"; h=${{p#*:*:*:*:*:}}; [ -e \"${{h%%:*}}\" ] || echo {HOME_MISSING}"
        )
    } else {
        format!("if getent passwd {n}; then :")
    };
    if let HomeCheck::At(home) = &asked.home {
        script.push_str(&format!("; [ -e {home} ] || echo {HOME_MISSING}"));
    }
    if asked.groups {
        script.push_str(&format!("; printf 'L:%s\\n' \"$(id -Gn {n})\""));
    }
    if asked.shadow {
        script.push_str(&format!(
            "; printf 'S:%s\\n' \"$(getent shadow {n} 2>/dev/null)\""
        ));
    }
    script.push_str("; fi");
    script
}

/// Parses the query's output: `None` when there is no such account.
pub fn parse(output: &str) -> Option<Account> {
    let mut lines = output.lines();
    let passwd = lines.next().filter(|l| !l.is_empty())?;
    let fields: Vec<&str> = passwd.split(':').collect();
    if fields.len() < 7 {
        return None;
    }
    let mut account = Account {
        uid: fields[2].parse().ok()?,
        gid: fields[3].parse().ok()?,
        comment: fields[4].to_string(),
        home: fields[5].to_string(),
        shell: fields[6].to_string(),
        ..Account::default()
    };
    for line in lines {
        if let Some(groups) = line.strip_prefix("L:") {
            account.groups = groups.split_whitespace().map(str::to_string).collect();
            account.primary_group = account.groups.first().cloned().unwrap_or_default();
        } else if let Some(shadow) = line.strip_prefix("S:") {
            account.shadow = shadow::parse(shadow);
        } else if line == HOME_MISSING {
            account.home_missing = true;
        }
    }
    Some(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_what_is_asked_is_queried() {
        let plain = script("app", &Asked::PASSWD);
        assert_eq!(plain, "if getent passwd app; then :; fi");
        let all = script(
            "app",
            &Asked {
                groups: true,
                shadow: true,
                home: HomeCheck::Current,
            },
        );
        assert!(
            all.contains("id -Gn app") && all.contains("getent shadow app"),
            "{all}"
        );
        assert!(all.starts_with("if p=$(getent passwd app)"), "{all}");
        let at = script(
            "app",
            &Asked {
                home: HomeCheck::At("'/srv/app'".into()),
                ..Asked::PASSWD
            },
        );
        assert!(at.contains("[ -e '/srv/app' ] || echo H:missing"), "{at}");
    }

    #[test]
    fn the_home_check_reads_the_sixth_passwd_field() {
        let script = script(
            "app",
            &Asked {
                home: HomeCheck::Current,
                ..Asked::PASSWD
            },
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script.replace(
                "getent passwd app",
                "echo 'app:x:1:1:A b:/nonexistent/home dir:/bin/sh'",
            ))
            .output()
            .expect("sh runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let account = parse(&text).expect("parses");
        assert!(account.home_missing, "{text}");
        assert_eq!(account.home, "/nonexistent/home dir");
    }

    #[test]
    fn output_parses() {
        let a = parse("app:x:1001:1001:App user:/home/app:/bin/sh\nL:app www-data\nH:missing\n")
            .expect("parses");
        assert_eq!((a.uid, a.gid, a.home.as_str()), (1001, 1001, "/home/app"));
        assert_eq!(a.groups, vec!["app", "www-data"]);
        assert_eq!(
            a.primary_group, "app",
            "id -Gn names the primary group first"
        );
        assert!(a.home_missing);
        assert_eq!(parse(""), None, "no such user");
        assert_eq!(parse("K:exists\n"), None, "no such user, a key");
    }
}
