//! One question for the units of a loop. Each item of a loop over units asks the
//! target about its own unit; asked ahead ([`crate::connection::Answers`]), the items
//! whose questions have the same shape ask one identical question about all their
//! units instead: one `systemctl show` for them all rather than a `systemctl` process,
//! its D-Bus connection and two subshells per unit. An item whose answer is not
//! plain (a failed `show`, an alias, a state only `is-enabled` can tell) asks its own
//! question after it, so the result is always what the item's own question gives.

use crate::connection::quote;
use crate::modules::args::Args;
use crate::modules::siblings::same_shape_names;
use crate::modules::typed::TypedArgs;

use super::unit::{MARK, Ran, UnitFacts};
use super::{SystemdArgs, UnitRequest};

/// The unit file states `show` settles alone for a unit under its own name, as the
/// single question's `is_enabled` reads them, with `is-enabled`'s exit status.
const PLAIN_STATES: [(&str, i32); 4] = [
    ("enabled", 0),
    ("static", 0),
    ("disabled", 1),
    ("masked", 1),
];

/// The units the question of `request` asks about: its own and those of every loop
/// item (`siblings`) asking the same way (same `systemctl` switches, no manager
/// command first), sorted; `None` when it asks alone.
pub fn units_asked(request: &UnitRequest, siblings: Option<&[Args]>) -> Option<Vec<String>> {
    let shape = |r: &UnitRequest| {
        let plain = !r.reload && !r.reexec && r.unit.is_some();
        plain.then(|| (r.systemctl(), r.scope.clone()))
    };
    let mine = shape(request)?;
    let own: Vec<String> = request.unit.iter().cloned().collect();
    let units = same_shape_names(siblings, &mine, &own, |args| {
        let other = UnitRequest::from_typed(&SystemdArgs::from_args(args).ok()?).ok()?;
        Some((shape(&other)?, other.unit.into_iter().collect()))
    })?;
    (units.len() > 1).then_some(units)
}

/// The question about `units`: whether systemd runs, one `systemctl show` of them
/// all (its complaints left out: a unit that has any asks alone), and each one's
/// init script and boot links.
pub fn script(systemctl: &str, user_scope: bool, units: &[String]) -> String {
    let names: Vec<String> = units.iter().map(|u| quote(u)).collect();
    let names = names.join(" ");
    let mut script = String::new();
    if user_scope {
        script.push_str("export XDG_RUNTIME_DIR=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"\n");
    }
    script.push_str(&format!(
        "echo \"{MARK} booted $([ -d /run/systemd/system ] && echo yes || echo no)\"\n\
         echo '{MARK} open show'; {systemctl} show -- {names} 2>/dev/null; echo \"{MARK} close show $?\"\n\
         for u in {names}; do\n\
         [ ! -e \"/etc/init.d/$u\" ] || printf '{MARK} sysv %s\\n' \"$u\"\n\
         for f in /etc/rc?.d/S??\"$u\"; do [ ! -e \"$f\" ] || {{ printf '{MARK} sysv-enabled %s\\n' \"$u\"; break; }}; done\n\
         done\n"
    ));
    script
}

/// The facts of `unit` from the answer about `units`, when the answer settles them
/// as the unit's own question would: `show` worked, the unit's properties are all
/// `Key=value` lines naming it, and its unit file state is one `show` tells.
pub fn facts_of(output: &str, units: &[String], unit: &str) -> Option<UnitFacts> {
    let mut facts = UnitFacts::default();
    let (mut inside, mut lines, mut rc) = (false, Vec::new(), None);
    for line in output.lines() {
        let header = line.strip_prefix(MARK).map(str::trim_start);
        match header.and_then(|h| h.split_once(' ')) {
            Some(("booted", answer)) => facts.booted = answer == "yes",
            Some(("open", _)) => inside = true,
            Some(("close", rest)) => {
                inside = false;
                rc = rest
                    .rsplit(' ')
                    .next()
                    .and_then(|rc| rc.parse::<i32>().ok());
            }
            Some(("sysv", name)) => facts.sysv |= name == unit,
            Some(("sysv-enabled", name)) => facts.sysv_enabled |= name == unit,
            _ if inside => lines.push(line),
            _ => {}
        }
    }
    let blocks = blocks(&lines);
    if rc != Some(0) || blocks.len() != units.len() {
        return None;
    }
    let block = &blocks[units.iter().position(|u| u == unit)?];
    let names = block.iter().find_map(|line| line.strip_prefix("Names="))?;
    let named = names
        .split(' ')
        .any(|name| name == unit || name == format!("{unit}.service"));
    if !named || !block.iter().all(|line| line.contains('=')) {
        return None;
    }
    facts.is_enabled = Some(enabled_from_show(block, unit)?);
    facts.show = Some(Ran {
        rc: 0,
        output: block.join("\n"),
    });
    Some(facts)
}

/// `systemctl show`'s output for several units: one block of lines per unit, blank
/// lines between.
fn blocks<'a>(lines: &[&'a str]) -> Vec<Vec<&'a str>> {
    lines
        .split(|line| line.is_empty())
        .filter(|block| !block.is_empty())
        .map(<[&str]>::to_vec)
        .collect()
}

/// What `is-enabled` would say of `unit` given its `show` block, when the block
/// settles it (the unit under its own name, a plain unit file state).
fn enabled_from_show(block: &[&str], unit: &str) -> Option<Ran> {
    let own = block
        .iter()
        .any(|line| *line == format!("Id={unit}") || *line == format!("Id={unit}.service"));
    if !own {
        return None;
    }
    let state = block
        .iter()
        .find_map(|line| line.strip_prefix("UnitFileState="))?;
    let (word, rc) = PLAIN_STATES.into_iter().find(|(word, _)| *word == state)?;
    Some(Ran {
        rc,
        output: word.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::unit::UnitQuery;
    use super::*;
    use crate::modules::typed::args_from_json;

    /// What a fake `systemctl show` says of each unit: one block per unit named.
    const FAKE: &str = "systemctl() { [ \"$1\" = show ] || return 3; shift 2; first=1; \
        for u in \"$@\"; do [ $first = 1 ] || echo; first=0; case $u in \
        nginx) printf 'Id=nginx.service\\nNames=nginx.service\\nUnitFileState=enabled\\nActiveState=active\\n' ;; \
        cron.service) printf 'Id=cron.service\\nNames=cron.service\\nUnitFileState=disabled\\nActiveState=inactive\\n' ;; \
        sshd) printf 'Id=ssh.service\\nNames=ssh.service sshd.service\\nUnitFileState=enabled\\n' ;; \
        esac; done; }\n";

    fn sh(script: &str) -> String {
        crate::modules::sh_stdout(&format!("{FAKE}{script}"))
    }

    fn args(value: serde_json::Value) -> Args {
        args_from_json::<SystemdArgs>(value).expect("arguments")
    }

    fn request(value: serde_json::Value) -> UnitRequest {
        UnitRequest::from_typed(&SystemdArgs::from_args(&args(value)).expect("typed"))
            .expect("checked")
    }

    fn units(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn items_of_the_same_shape_ask_about_all_their_units() {
        let siblings: Vec<Args> = [
            json!({"name": "nginx", "state": "started"}),
            json!({"name": "cron.service", "enabled": true}),
            json!({"name": "mine", "scope": "user", "state": "started"}),
            json!({"name": "later", "daemon_reload": true, "state": "started"}),
        ]
        .into_iter()
        .map(args)
        .collect();
        let own = request(json!({"name": "nginx", "state": "started"}));
        assert_eq!(
            units_asked(&own, Some(&siblings)),
            Some(units(&["cron.service", "nginx"]))
        );
        assert_eq!(units_asked(&own, None), None, "not in a loop");
        let reloading = request(json!({"name": "later", "daemon_reload": true}));
        assert_eq!(units_asked(&reloading, Some(&siblings)), None);
    }

    #[test]
    fn the_shared_answer_gives_each_unit_what_its_own_question_gives() {
        let asked = units(&["cron.service", "nginx", "sshd"]);
        let answer = sh(&script("systemctl", false, &asked));
        for unit in ["cron.service", "nginx"] {
            let own = UnitQuery {
                systemctl: "systemctl",
                unit: Some(unit),
                ..UnitQuery::default()
            };
            let alone = UnitFacts::parse(&sh(&own.script()));
            assert_eq!(facts_of(&answer, &asked, unit), Some(alone), "{unit}");
        }
        assert_eq!(
            facts_of(&answer, &asked, "sshd"),
            None,
            "an alias asks is-enabled itself"
        );
    }

    #[test]
    fn an_answer_that_does_not_fit_settles_nothing() {
        let asked = units(&["cron.service", "nginx"]);
        let answer = sh(&script("systemctl", false, &asked));
        assert_eq!(facts_of(&answer, &units(&["nginx"]), "nginx"), None);
        let failed = answer.replace("close show 0", "close show 1");
        assert_eq!(facts_of(&failed, &asked, "nginx"), None);
        let noisy = answer.replace("ActiveState=active", "Warning: unit changed on disk");
        assert_eq!(facts_of(&noisy, &asked, "nginx"), None);
    }
}
