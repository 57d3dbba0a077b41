//! What `systemd_service` asks the target in one round trip (daemon-reexec and
//! daemon-reload first when asked, then `systemctl show` and `systemctl is-enabled`
//! of the unit, and whether an init script exists), and how the answer reads.

use serde_json::{Map, Value as Json};

use crate::connection::quote;

/// Opens each section of the query's output.
pub const MARK: &str = "@@bosun-systemd";

/// The unit states `systemctl is-enabled` may print (systemd 244's list), which prove
/// the unit is systemd's even when `show` fails.
const ENABLED_STATES: &[&str] = &[
    "enabled",
    "enabled-runtime",
    "linked",
    "linked-runtime",
    "masked",
    "masked-runtime",
    "static",
    "indirect",
    "disabled",
    "generated",
    "transient",
];

/// `is_enabled UNIT SYSTEMCTL...`: what `systemctl is-enabled` prints and its exit
/// status. When `show` (`$rc`, `$out`) found the unit under its own name (not an
/// alias, whose `UnitFileState` is its target's) with a unit file enabled, static,
/// disabled or masked, that answer without a second `systemctl` (a third of a
/// converged service task's time); anything else (aliases, generated units, init
/// scripts, indirect, linked...) asks `is-enabled` itself. Only `case` patterns read
/// `show`'s 10 KB: dash's `${out#*...}` takes time quadratic in the length.
const IS_ENABLED: &str = "is_enabled() { u=$1; shift; o=\"\n$out\n\"\n\
  case $rc$o in 0*\"\nId=$u\n\"* | 0*\"\nId=$u.service\n\"*)\n\
    for st in enabled static disabled masked; do\n\
      case $o in *\"\nUnitFileState=$st\n\"*) echo \"$st\"; [ $st = enabled ] || [ $st = static ]; return ;; esac\n\
    done ;;\n\
  esac\n\
  \"$@\" is-enabled -- \"$u\" 2>/dev/null; }";

/// The query: which manager commands to run first and which unit to look at.
#[derive(Clone, Debug, Default)]
pub struct UnitQuery<'a> {
    /// `systemctl` with the scope and mode switches (`systemctl --user --no-block`).
    pub systemctl: &'a str,
    /// Switch to the user's manager (`XDG_RUNTIME_DIR` set when missing).
    pub user_scope: bool,
    /// Run `daemon-reexec` first.
    pub reexec: bool,
    /// Run `daemon-reload` first.
    pub reload: bool,
    /// The unit, if any.
    pub unit: Option<&'a str>,
}

impl UnitQuery<'_> {
    /// The shell script that answers the query. Each command's output comes between
    /// `MARK open NAME` and `MARK close NAME RC`.
    pub fn script(&self) -> String {
        let sc = self.systemctl;
        let mut script = String::new();
        if self.user_scope {
            script.push_str("export XDG_RUNTIME_DIR=\"${XDG_RUNTIME_DIR:-/run/user/$(id -u)}\"\n");
        }
        script.push_str(&format!(
            "echo \"{MARK} booted $([ -d /run/systemd/system ] && echo yes || echo no)\"\n"
        ));
        let run = |name: &str, command: String| {
            format!("echo '{MARK} open {name}'; {command}; echo \"{MARK} close {name} $?\"\n")
        };
        if self.reexec {
            script.push_str(&run("daemon-reexec", format!("{sc} daemon-reexec 2>&1")));
        }
        if self.reload {
            script.push_str(&run("daemon-reload", format!("{sc} daemon-reload 2>&1")));
        }
        if let Some(unit) = self.unit {
            let q = quote(unit);
            script.push_str(&format!(
                "echo '{MARK} open show'; out=$({sc} show -- {q} 2>&1); rc=$?\n\
                 printf '%s\\n' \"$out\"; echo \"{MARK} close show $rc\"\n\
                 {IS_ENABLED}\n\
                 w=$(is_enabled {q} {sc}); e=$?\n\
                 echo '{MARK} open is-enabled'; [ -z \"$w\" ] || printf '%s\\n' \"$w\"\n\
                 echo \"{MARK} close is-enabled $e\"\n\
                 [ ! -e {} ] || echo '{MARK} sysv'\n\
                 for f in /etc/rc?.d/S??{q}; do [ ! -e \"$f\" ] || {{ echo '{MARK} sysv-enabled'; break; }}; done\n",
                quote(&format!("/etc/init.d/{unit}"))
            ));
        }
        script
    }
}

/// A manager command (`daemon-reload`) and how it went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ran {
    /// Its exit status.
    pub rc: i32,
    /// What it printed.
    pub output: String,
}

/// The answer to a [`UnitQuery`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UnitFacts {
    /// systemd runs as the target's init (`/run/systemd/system` exists).
    pub booted: bool,
    /// `daemon-reexec`, when it ran.
    pub reexec: Option<Ran>,
    /// `daemon-reload`, when it ran.
    pub reload: Option<Ran>,
    /// `systemctl show`: its exit status and output.
    pub show: Option<Ran>,
    /// `systemctl is-enabled`: its exit status and first line.
    pub is_enabled: Option<Ran>,
    /// `/etc/init.d/<name>` exists.
    pub sysv: bool,
    /// `/etc/rc?.d/S??<name>` exists.
    pub sysv_enabled: bool,
}

impl UnitFacts {
    /// Parses the query's output.
    pub fn parse(output: &str) -> UnitFacts {
        let mut facts = UnitFacts::default();
        let mut body: Vec<&str> = Vec::new();
        for line in output.lines() {
            let Some(header) = line.strip_prefix(MARK) else {
                body.push(line);
                continue;
            };
            match header.split_whitespace().collect::<Vec<_>>()[..] {
                ["booted", answer] => facts.booted = answer == "yes",
                ["open", _] => body.clear(),
                ["close", name, rc] => {
                    let ran = Some(Ran {
                        rc: rc.parse().unwrap_or(-1),
                        output: body.join("\n"),
                    });
                    match name {
                        "daemon-reexec" => facts.reexec = ran,
                        "daemon-reload" => facts.reload = ran,
                        "show" => facts.show = ran,
                        "is-enabled" => facts.is_enabled = ran,
                        _ => {}
                    }
                    body.clear();
                }
                ["sysv"] => facts.sysv = true,
                ["sysv-enabled"] => facts.sysv_enabled = true,
                _ => {}
            }
        }
        facts
    }

    /// The `systemctl show` properties, when `show` worked.
    pub fn status(&self) -> Option<Map<String, Json>> {
        let show = self.show.as_ref()?;
        if show.rc != 0 || request_was_ignored(&show.output) {
            return None;
        }
        Some(parse_show(&show.output))
    }

    /// What `is-enabled` printed (its first line).
    pub fn enabled_word(&self) -> &str {
        self.is_enabled
            .as_ref()
            .and_then(|r| r.output.lines().next())
            .unwrap_or("")
            .trim()
    }

    /// Whether `is-enabled` names a state only systemd units have.
    pub fn enabled_proves_systemd(&self) -> bool {
        ENABLED_STATES.contains(&self.enabled_word())
    }
}

/// Ansible's test for a manager that ignored the request (chroots, offline systemd).
fn request_was_ignored(output: &str) -> bool {
    !output.contains('=')
        && (output.contains("ignoring request") || output.contains("ignoring command"))
}

/// Parses `systemctl show` as Ansible does: `Key=value` lines, and multi-line values
/// only for `Exec*` keys whose value opens a `{` it closes on a later line.
pub fn parse_show(output: &str) -> Map<String, Json> {
    let mut parsed = Map::new();
    let mut key: Option<String> = None;
    let mut multi: Vec<&str> = Vec::new();
    for line in output.lines() {
        match &key {
            None => {
                let Some((k, v)) = line.split_once('=') else {
                    continue;
                };
                if k.starts_with("Exec")
                    && v.trim_start().starts_with('{')
                    && !v.trim_end().ends_with('}')
                {
                    key = Some(k.to_string());
                    multi.push(v);
                    continue;
                }
                parsed.insert(k.to_string(), Json::String(v.trim().to_string()));
            }
            Some(k) => {
                multi.push(line);
                if line.trim_end().ends_with('}') {
                    parsed.insert(k.clone(), Json::String(multi.join("\n").trim().to_string()));
                    multi.clear();
                    key = None;
                }
            }
        }
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the query for `unit` against a `systemctl` shell function that answers
    /// `show` with `show` and `is-enabled` with `is_enabled`, and says whether the
    /// script asked `is-enabled` itself.
    fn query_with(unit: &str, show: &str, is_enabled: &str) -> (UnitFacts, bool) {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let asked = dir.path().join("asked");
        let fake = format!(
            "systemctl() {{ case $1 in show) printf '%s\\n' {show}; return 0 ;; \
             is-enabled) : > {asked}; printf '%s\\n' {word}; return {rc} ;; esac; }}\n",
            show = quote(show),
            asked = quote(&asked.display().to_string()),
            word = is_enabled.split(' ').next().unwrap_or_default(),
            rc = is_enabled.split(' ').nth(1).unwrap_or("0"),
        );
        let query = UnitQuery {
            systemctl: "systemctl",
            unit: Some(unit),
            ..UnitQuery::default()
        };
        let out = std::process::Command::new("sh")
            .args(["-c", &(fake + &query.script())])
            .output()
            .expect("sh runs");
        (
            UnitFacts::parse(&String::from_utf8_lossy(&out.stdout)),
            asked.exists(),
        )
    }

    #[test]
    fn is_enabled_is_read_from_show_only_for_the_units_own_plain_states() {
        let (facts, asked) = query_with(
            "nginx",
            "Id=nginx.service\nUnitFileState=enabled\nActiveState=active",
            "enabled 0",
        );
        assert!(!asked, "enabled under its own name: show said it");
        assert_eq!(facts.enabled_word(), "enabled");
        assert_eq!(facts.is_enabled.as_ref().map(|r| r.rc), Some(0));
        assert_eq!(
            facts.status().expect("show parsed")["ActiveState"],
            "active"
        );

        let (facts, asked) = query_with(
            "e2scrub_reap.service",
            "Id=e2scrub_reap.service\nUnitFileState=disabled",
            "disabled 1",
        );
        assert!(!asked);
        assert_eq!(facts.enabled_word(), "disabled");
        assert_eq!(facts.is_enabled.map(|r| r.rc), Some(1));

        let (facts, asked) = query_with(
            "procps",
            "Id=systemd-sysctl.service\nUnitFileState=static",
            "alias 0",
        );
        assert!(
            asked,
            "an alias reports its target's state: is-enabled is asked"
        );
        assert_eq!(facts.enabled_word(), "alias");

        let (facts, asked) = query_with(
            "legacy",
            "Id=legacy.service\nUnitFileState=generated",
            "generated 0",
        );
        assert!(asked, "any other state is asked");
        assert_eq!(facts.enabled_word(), "generated");
    }

    #[test]
    fn show_parses_as_ansible_parses_it() {
        let output = "Type=simple\nDescription={ not a block\nExecStart={ path=/usr/bin/x ; argv[]=/usr/bin/x\n  -f ; ignore_errors=no }\n\
                      ActiveState=active\nSubState=running\nUnitFileState=enabled\nFragmentPath=/etc/systemd/system/x.service\n\
                      LoadState=loaded\nMainPID=42\nnoise without equals\nEnvironment=A=1 B=2";
        let status = parse_show(output);
        assert_eq!(status["Description"], "{ not a block");
        assert_eq!(
            status["ExecStart"],
            "{ path=/usr/bin/x ; argv[]=/usr/bin/x\n  -f ; ignore_errors=no }"
        );
        assert_eq!(status["ActiveState"], "active");
        assert_eq!(status["MainPID"], "42");
        assert_eq!(status["Environment"], "A=1 B=2");
        assert_eq!(status.len(), 10);
    }

    #[test]
    fn the_answer_parses_into_facts() {
        let output = format!(
            "{MARK} booted yes\n\
             {MARK} open daemon-reload\n{MARK} close daemon-reload 0\n\
             {MARK} open show\nId=x.service\nLoadState=loaded\nActiveState=inactive\n{MARK} close show 0\n\
             {MARK} open is-enabled\ndisabled\n{MARK} close is-enabled 1\n\
             {MARK} sysv\n"
        );
        let facts = UnitFacts::parse(&output);
        assert!(facts.booted);
        assert_eq!(
            facts.reload,
            Some(Ran {
                rc: 0,
                output: String::new()
            })
        );
        assert_eq!(facts.reexec, None);
        let status = facts.status().expect("show worked");
        assert_eq!(status["ActiveState"], "inactive");
        assert_eq!(facts.enabled_word(), "disabled");
        assert_eq!(facts.is_enabled.as_ref().map(|r| r.rc), Some(1));
        assert!(facts.enabled_proves_systemd());
        assert!(facts.sysv && !facts.sysv_enabled);
    }

    #[test]
    fn manager_failures_keep_their_output() {
        let output = format!(
            "{MARK} booted no\n{MARK} open daemon-reload\n\
             System has not been booted with systemd as init system (PID 1). Can't operate.\n\
             Failed to connect to bus: Host is down\n{MARK} close daemon-reload 1\n\
             {MARK} open show\nSystem has not been booted with systemd.\n{MARK} close show 1\n"
        );
        let facts = UnitFacts::parse(&output);
        assert!(!facts.booted);
        let reload = facts.reload.clone().expect("reload ran");
        assert_eq!(reload.rc, 1);
        assert!(reload.output.ends_with("Host is down"), "{}", reload.output);
        assert_eq!(facts.status(), None);
    }

    #[test]
    fn ignored_requests_are_no_status() {
        assert!(request_was_ignored("Running in chroot, ignoring request."));
        assert!(!request_was_ignored("ActiveState=active"));
    }

    #[test]
    fn the_script_runs_reload_before_looking() {
        let query = UnitQuery {
            systemctl: "systemctl",
            reload: true,
            unit: Some("my app.service"),
            ..UnitQuery::default()
        };
        let script = query.script();
        let reload = script.find("daemon-reload").expect("reload");
        let show = script.find("show -- 'my app.service'").expect("show");
        assert!(reload < show, "{script}");
        assert!(script.contains("/etc/init.d/my app.service'"), "{script}");
        assert!(!script.contains("XDG_RUNTIME_DIR"), "{script}");
    }
}
