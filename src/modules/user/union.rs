//! One question for the accounts of a loop, as `systemd_service` asks one for its
//! units: the items whose questions have the same shape ask one `getent passwd` (and
//! one `getent shadow`) for all their accounts rather than a `getent` and a subshell
//! each. Each item reads its own account's lines out of the answer, in the form its
//! own question prints them ([`super::account::script`]), so what it decides is what
//! it would decide alone.

use crate::connection::quote;
use crate::modules::args::Args;
use crate::modules::siblings::same_shape_names;
use crate::modules::typed::TypedArgs;

use super::UserArgs;
use super::account::{Asked, HomeCheck};

/// Opens each line of the answer.
const MARK: &str = "@@bosun-user";

/// The shape of an item's question: what it asks besides the passwd line. `None`
/// for one that asks alone: a home of its own to look for, an SSH key, or a name
/// `getent` would take for a user ID.
fn shape(args: &UserArgs) -> Option<(bool, bool, bool)> {
    let asked = args.asked();
    let own_home = matches!(asked.home, HomeCheck::At(_));
    let numeric = args.name.bytes().all(|b| b.is_ascii_digit());
    (!own_home && !numeric && !args.wants_key()).then_some((
        asked.groups,
        asked.shadow,
        asked.home == HomeCheck::Current,
    ))
}

/// The accounts the question of `args` asks about: its own and those of every loop
/// item (`siblings`) asking the same way, sorted; `None` when it asks alone.
pub fn names_asked(args: &UserArgs, siblings: Option<&[Args]>) -> Option<Vec<String>> {
    let mine = shape(args)?;
    let own = [args.name.clone()];
    let names = same_shape_names(siblings, &mine, &own, |args| {
        let other = UserArgs::from_args(args).ok()?;
        Some((shape(&other)?, vec![other.name]))
    })?;
    (names.len() > 1).then_some(names)
}

/// The question about `names`: each passwd line (`P`), whether its home is missing
/// (`H`, when asked), its groups (`L`) and its shadow line (`S`), each line marked
/// and named.
pub fn script(names: &[String], asked: &Asked) -> String {
    let quoted: Vec<String> = names.iter().map(|n| quote(n)).collect();
    let quoted = quoted.join(" ");
    let mut script = format!(
        "p=$(getent passwd {quoted})\n\
         while IFS= read -r l; do [ -n \"$l\" ] || continue; n=${{l%%:*}}; printf '{MARK} P %s %s\\n' \"$n\" \"$l\""
    );
    if asked.home == HomeCheck::Current {
        script.push_str(&format!(
            "; h=${{l#*:*:*:*:*:}}; [ -e \"${{h%%:*}}\" ] || printf '{MARK} H %s\\n' \"$n\""
        ));
    }
    if asked.groups {
        script.push_str(&format!(
            "; printf '{MARK} L %s %s\\n' \"$n\" \"$(id -Gn \"$n\")\""
        ));
    }
    script.push_str("\ndone <<EOF\n$p\nEOF\n");
    if asked.shadow {
        script.push_str(&format!(
            "getent shadow {quoted} 2>/dev/null | while IFS= read -r l; do printf '{MARK} S %s %s\\n' \"${{l%%:*}}\" \"$l\"; done\n"
        ));
    }
    script.push_str("exit 0");
    script
}

/// What the item's own question would have printed about `name`, read out of the
/// answer about all the accounts.
pub fn own_output(answer: &str, name: &str, asked: &Asked) -> String {
    let mut passwd = None;
    let (mut home_missing, mut groups, mut shadow) = (false, None, None);
    for line in answer.lines() {
        let Some(rest) = line.strip_prefix(MARK).and_then(|r| r.strip_prefix(' ')) else {
            continue;
        };
        let Some((kind, rest)) = rest.split_once(' ') else {
            continue;
        };
        let (who, value) = rest.split_once(' ').unwrap_or((rest, ""));
        if who != name {
            continue;
        }
        match kind {
            "P" => passwd = passwd.or(Some(value)),
            "H" => home_missing = true,
            "L" => groups = groups.or(Some(value)),
            "S" => shadow = shadow.or(Some(value)),
            _ => {}
        }
    }
    let Some(passwd) = passwd else {
        return String::new();
    };
    let mut own = format!("{passwd}\n");
    if home_missing {
        own.push_str(&format!("{}\n", super::account::HOME_MISSING));
    }
    if asked.groups {
        own.push_str(&format!("L:{}\n", groups.unwrap_or_default()));
    }
    if asked.shadow {
        own.push_str(&format!("S:{}\n", shadow.unwrap_or_default()));
    }
    own
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::account;
    use super::*;
    use crate::modules::typed::{args_from_json, from_json};

    /// A fake `getent` and `id` knowing two accounts: `app`, whose home is missing,
    /// and `web`, whose home is `/`.
    const FAKE: &str = "getent() { db=$1; shift; r=2; for k in \"$@\"; do case $db:$k in \
        passwd:app) echo 'app:x:1000:1000:App:/nonexistent/app:/bin/sh'; r=0 ;; \
        passwd:web) echo 'web:x:1001:33::/:/bin/bash'; r=0 ;; \
        shadow:web) echo 'web:!:19000:0:99999:7:::'; r=0 ;; esac; done; return $r; }\n\
        id() { case $2 in app) echo 'app adm' ;; web) echo www-data ;; esac; }\n";

    fn sh(script: &str) -> String {
        crate::modules::sh_stdout(&format!("{FAKE}{script}"))
    }

    fn user(value: serde_json::Value) -> UserArgs {
        from_json(value).expect("arguments")
    }

    #[test]
    fn each_account_reads_what_its_own_question_prints() {
        let names: Vec<String> = ["app", "ghost", "web"].map(String::from).to_vec();
        for asked in [
            Asked::PASSWD,
            Asked {
                groups: true,
                shadow: true,
                home: HomeCheck::Current,
            },
        ] {
            let answer = sh(&script(&names, &asked));
            for name in &names {
                let alone = sh(&format!(
                    "{}; exit 0",
                    account::script(&quote(name), &asked)
                ));
                let shared = own_output(&answer, name, &asked);
                assert_eq!(shared, alone, "{name} {asked:?}");
                assert_eq!(account::parse(&shared), account::parse(&alone));
            }
        }
    }

    #[test]
    fn only_items_asking_the_same_way_ask_together() {
        let siblings: Vec<Args> = [
            json!({"name": "app", "shell": "/bin/sh"}),
            json!({"name": "web"}),
            json!({"name": "1001"}),
            json!({"name": "keyed", "generate_ssh_key": true}),
            json!({"name": "grouped", "groups": ["adm"]}),
        ]
        .into_iter()
        .map(|value| args_from_json::<UserArgs>(value).expect("arguments"))
        .collect();
        let own = user(json!({"name": "app", "shell": "/bin/sh"}));
        assert_eq!(
            names_asked(&own, Some(&siblings)),
            Some(vec!["app".to_string(), "web".to_string()])
        );
        assert_eq!(
            names_asked(&user(json!({"name": "1001"})), Some(&siblings)),
            None
        );
        assert_eq!(names_asked(&own, None), None);
    }
}
