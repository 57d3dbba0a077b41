//! `alternatives` (community.general) with Debian's `update-alternatives`: the
//! group is read from `--display` (as Ansible's module reads it, regular expression by
//! regular expression), then `--install`, `--set`, `--auto` or `--remove` run as it
//! decides.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// `alternatives`: manages alternative programs for common commands.
pub struct Alternatives;

arg_enum! {
    /// What should become of the alternative.
    pub enum State {
        Present = "present",
        Selected = "selected",
        Auto = "auto",
        Absent = "absent",
    }
}

module_args! {
    /// `alternatives`' arguments.
    pub struct AlternativesArgs {
        /// The generic name (`editor`).
        name: String => .required(),
        /// The real program the link should point to.
        path: Option<String>,
        /// The family (RHEL's alternatives only).
        family: Option<String>,
        /// The generic link (`/usr/bin/editor`).
        link: Option<String>,
        /// The alternative's priority (50 for a new one).
        priority: Option<i64>,
        state: State => .default_str("selected"),
        /// Followers: each a `name`, `path` and `link`.
        subcommands: Option<Vec<Json>> => .aliases(&["slaves"]),
    }
    rules: Rules {
        required_one_of: &[&["path", "family"]],
        ..Rules::NONE
    };
}

/// A follower link of an alternative.
#[derive(Clone, Debug, PartialEq)]
struct Subcommand {
    name: String,
    path: String,
    link: Option<String>,
}

impl Subcommand {
    /// As the diff shows it.
    fn to_json(&self) -> Json {
        json!({"name": self.name, "path": self.path, "link": self.link})
    }
}

/// One alternative of the group.
#[derive(Debug, Default)]
struct Alternative {
    priority: i64,
    family: String,
    subcommands: Vec<Subcommand>,
}

/// The group as `--display` shows it.
#[derive(Debug, Default)]
struct Group {
    mode: Option<String>,
    path: Option<String>,
    link: Option<String>,
    alternatives: Vec<(String, Alternative)>,
}

impl Group {
    fn get(&self, path: &str) -> Option<&Alternative> {
        self.alternatives
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, a)| a)
    }
}

/// What the query found.
#[derive(Debug)]
pub struct Found {
    /// `update-alternatives`' path, when it is installed.
    program: Option<String>,
    /// `--display`'s output, when it succeeded.
    display: Option<String>,
    /// Whether `path` exists.
    path_exists: bool,
}

/// The `update-alternatives` command lines to run, in order.
#[derive(Debug, PartialEq)]
pub struct Plan(Vec<Vec<String>>);

#[async_trait]
impl StateModule for Alternatives {
    const NAME: &'static str = "alternatives";
    type Args = AlternativesArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &AlternativesArgs) -> Result<Found, ModuleError> {
        let path = quote(args.path.as_deref().unwrap_or(""));
        let script = format!(
            "[ -e {path} ] && echo exists; p=$(command -v update-alternatives) || exit 0; \
             printf 'program %s\\n' \"$p\"; out=$(LC_ALL=C update-alternatives --display {} 2>/dev/null) && printf 'display\\n%s\\n' \"$out\"; :",
            quote(&args.name)
        );
        let out = on.conn.exec(&Command::new(script)).await?.stdout_text();
        let mut found = Found {
            program: None,
            display: None,
            path_exists: false,
        };
        let mut lines = out.split_inclusive('\n');
        while let Some(line) = lines.next() {
            match line.trim_end() {
                "exists" => found.path_exists = true,
                "display" => found.display = Some(lines.by_ref().collect()),
                other => found.program = other.strip_prefix("program ").map(str::to_string),
            }
        }
        Ok(found)
    }

    fn decide(&self, args: &AlternativesArgs, found: Found) -> Result<Decision<Plan>, String> {
        let program = found.program.clone().ok_or(
            "Failed to find required executable \"update-alternatives\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )?;
        let wanted = subcommands(&args.subcommands)?;
        let group = found
            .display
            .as_deref()
            .map(|d| parse(d, wanted.as_deref()))
            .unwrap_or_default();
        let mut steps = Vec::new();
        let mut messages = Vec::new();
        let mut before = Map::new();
        let mut after = Map::new();
        let path = args.path.as_deref();
        let current = path.and_then(|p| group.get(p));
        if group.mode.is_some() {
            match (path, current) {
                (Some(path), Some(alternative)) => {
                    before.insert("state".into(), json!("present"));
                    before.insert("path".into(), json!(path));
                    before.insert("priority".into(), json!(alternative.priority));
                    before.insert("link".into(), json!(group.link));
                    if !alternative.subcommands.is_empty() {
                        let subs: Vec<Json> = alternative
                            .subcommands
                            .iter()
                            .map(Subcommand::to_json)
                            .collect();
                        before.insert("subcommands".into(), json!(subs));
                    }
                    if group.mode.as_deref() == Some("manual")
                        && group.path.as_deref() != Some(path)
                    {
                        before.insert("state".into(), json!("selected"));
                    }
                }
                _ => {
                    before.insert("state".into(), json!("absent"));
                }
            }
        }
        let run = |words: &[&str]| -> Vec<String> {
            std::iter::once(program.as_str())
                .chain(words.iter().copied())
                .map(str::to_string)
                .collect()
        };
        if args.state == State::Absent {
            if let (Some(path), Some(_)) = (path, current) {
                steps.push(run(&["--remove", &args.name, path]));
                messages.push(format!("Remove alternative '{path}' from '{}'.", args.name));
                after.insert("state".into(), json!("absent"));
            }
        } else {
            if let Some(path) = path {
                let differs = match current {
                    None => true,
                    Some(alternative) => {
                        args.priority.is_some_and(|p| p != alternative.priority)
                            || wanted.as_ref().is_some_and(|wanted| {
                                !alternative.subcommands.iter().all(|s| wanted.contains(s))
                                    || !wanted.iter().all(|s| alternative.subcommands.contains(s))
                            })
                    }
                };
                if differs {
                    if !found.path_exists {
                        return Err(format!("Specified path {path} does not exist"));
                    }
                    let Some(link) = args.link.as_deref().or(group.link.as_deref()) else {
                        return Err("Needed to install the alternative, but unable to do so as we are missing the link".into());
                    };
                    let priority = args
                        .priority
                        .or(current.map(|a| a.priority))
                        .unwrap_or(50)
                        .to_string();
                    let mut command = run(&["--install", link, &args.name, path, &priority]);
                    if let Some(family) = &args.family {
                        command.extend(["--family".to_string(), family.clone()]);
                    }
                    for sub in wanted.iter().flatten() {
                        let link = sub.link.clone().unwrap_or_default();
                        command.extend([
                            "--slave".into(),
                            link,
                            sub.name.clone(),
                            sub.path.clone(),
                        ]);
                    }
                    steps.push(command);
                    messages.push(format!("Install alternative '{path}' for '{}'.", args.name));
                    after.insert("state".into(), json!("present"));
                    after.insert("path".into(), json!(path));
                    after.insert("family".into(), json!(args.family));
                    after.insert(
                        "priority".into(),
                        json!(priority.parse::<i64>().unwrap_or(50)),
                    );
                    after.insert("link".into(), json!(link));
                    let subs = wanted.clone().or_else(|| {
                        current
                            .map(|a| a.subcommands.clone())
                            .filter(|s| !s.is_empty())
                    });
                    if let Some(subs) = subs.filter(|s| !s.is_empty()) {
                        let subs: Vec<Json> = subs.iter().map(Subcommand::to_json).collect();
                        after.insert("subcommands".into(), json!(subs));
                    }
                }
            }
            let same_path = path.is_some() && group.path.as_deref() == path;
            let same_family = group
                .path
                .as_deref()
                .and_then(|p| group.get(p))
                .is_some_and(|a| Some(a.family.as_str()) == args.family.as_deref());
            if args.state == State::Selected && !(same_path || same_family) {
                let choice = path.or(args.family.as_deref()).unwrap_or_default();
                steps.push(run(&["--set", &args.name, choice]));
                messages.push(format!("Set alternative '{choice}' for '{}'.", args.name));
                after.insert("state".into(), json!("selected"));
            }
            if args.state == State::Auto && group.mode.as_deref() == Some("manual") {
                steps.push(run(&["--auto", &args.name]));
                messages.push(format!("Set alternative to auto for '{}'.", args.name));
                after.insert("state".into(), json!("present"));
            }
        }
        let diff = json!({"before": before, "after": after});
        let plan = (!steps.is_empty()).then_some(Plan(steps));
        Ok(Decision::maybe(plan)
            .with_diff(diff)
            .with("msg", messages.join(" ")))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        _: &AlternativesArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        for command in &plan.0 {
            super::run::checked(on, command, true).await?;
        }
        Ok(Outcome::new())
    }
}

/// `subcommands` checked as Ansible checks the suboptions.
fn subcommands(given: &Option<Vec<Json>>) -> Result<Option<Vec<Subcommand>>, String> {
    let Some(items) = given else {
        return Ok(None);
    };
    let text = |item: &Map<String, Json>, key: &str| match item.get(key) {
        Some(Json::String(s)) => Some(s.clone()),
        Some(Json::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let mut subs = Vec::new();
    for item in items {
        let Json::Object(item) = item else {
            return Err("Elements value for option 'subcommands' is of type str and we were unable to convert to dict".into());
        };
        if let Some(unknown) = item
            .keys()
            .find(|k| !["name", "path", "link"].contains(&k.as_str()))
        {
            return Err(format!(
                "Unsupported parameters for (alternatives) module: {unknown} found in subcommands. Supported parameters include: link, name, path."
            ));
        }
        let missing: Vec<&str> = ["link", "name", "path"]
            .into_iter()
            .filter(|k| text(item, k).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "missing required arguments: {} found in subcommands",
                missing.join(", ")
            ));
        }
        subs.push(Subcommand {
            name: text(item, "name").unwrap_or_default(),
            path: text(item, "path").unwrap_or_default(),
            link: text(item, "link"),
        });
    }
    Ok(Some(subs))
}

/// Whether `c` is in Python's `\w`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Ansible's `\s-\s(?:status\sis\s)?(\w*)(?:\smode|.)$` on one line.
fn mode_of(line: &str) -> Option<String> {
    line.match_indices(" - ").find_map(|(at, _)| {
        let rest = &line[at + 3..];
        let tries = [rest.strip_prefix("status is "), Some(rest)];
        tries.into_iter().flatten().find_map(|rest| {
            let word_end = rest.find(|c: char| !is_word(c)).unwrap_or(rest.len());
            (0..=word_end).rev().find_map(|k| {
                let tail = &rest[k..];
                let ends = tail == " mode" || tail.chars().count() == 1;
                ends.then(|| rest[..k].to_string())
            })
        })
    })
}

/// `prefix` then a word then ` is ` then the rest, on an indented line (`link NAME is
/// ...`, `slave NAME is ...`); `word` says which characters the name may have.
fn named_is<'l>(
    line: &'l str,
    prefixes: &[&str],
    word: fn(char) -> bool,
) -> Option<(&'l str, &'l str)> {
    let rest = line.trim_start();
    let rest = prefixes.iter().find_map(|p| rest.strip_prefix(p))?;
    let end = rest.find(|c: char| !word(c)).unwrap_or(rest.len());
    let (name, tail) = rest.split_at(end);
    let value = tail.strip_prefix(" is ")?;
    (!name.is_empty()).then_some((name, value))
}

/// An alternative's line: `/path - [family F ]priority N`, the `.*` before ` - `
/// being greedy.
fn alternative_line(line: &str) -> Option<(String, String, i64)> {
    if !line.starts_with('/') {
        return None;
    }
    line.rmatch_indices(" - ").find_map(|(at, _)| {
        let rest = &line[at + 3..];
        let (family, rest) = match rest.strip_prefix("family ") {
            Some(tail) => match tail.split_once(' ') {
                Some((family, rest)) if rest.starts_with("priority ") => (family, rest),
                _ => ("", rest),
            },
            None => ("", rest),
        };
        let digits = rest.strip_prefix("priority ")?;
        let end = digits
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(digits.len());
        let priority = digits[..end].parse().ok()?;
        Some((line[..at].to_string(), family.to_string(), priority))
    })
}

/// Reads `--display` as Ansible's `parse` does; `wanted` names the follower links
/// when the output does not.
fn parse(display: &str, wanted: Option<&[Subcommand]>) -> Group {
    let mut group = Group::default();
    let lines: Vec<&str> = display.lines().collect();
    group.mode = lines.iter().find_map(|l| mode_of(l));
    if group.mode.is_none() {
        return group;
    }
    group.path = lines.iter().find_map(|l| {
        l.trim_start()
            .strip_prefix("link currently points to ")
            .map(str::to_string)
    });
    group.link = lines
        .iter()
        .find_map(|l| named_is(l, &["link "], is_word).map(|(_, v)| v.to_string()));
    let mut links: Vec<(String, String)> = lines
        .iter()
        .filter_map(|l| named_is(l, &["slave ", "follower "], |c| !c.is_whitespace()))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    if links.is_empty() {
        links = wanted
            .unwrap_or_default()
            .iter()
            .map(|s| (s.name.clone(), s.link.clone().unwrap_or_default()))
            .collect();
    }
    let link_of = |name: &str| {
        links
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, l)| l.clone())
    };
    for (index, line) in lines.iter().enumerate() {
        let Some((path, family, priority)) = alternative_line(line) else {
            continue;
        };
        let subcommands = lines[index + 1..]
            .iter()
            .take_while(|l| {
                let t = l.trim_start();
                t.starts_with("slave") || t.starts_with("follower")
            })
            .filter_map(|l| {
                let t = l.trim_start();
                let t = t
                    .strip_prefix("slave ")
                    .or_else(|| t.strip_prefix("follower "))?;
                let (name, path) = t.rsplit_once(": ")?;
                (path != "(null)").then(|| Subcommand {
                    name: name.to_string(),
                    path: path.to_string(),
                    link: link_of(name),
                })
            })
            .collect();
        let alternative = Alternative {
            priority,
            family,
            subcommands,
        };
        match group.alternatives.iter_mut().find(|(p, _)| *p == path) {
            Some((_, slot)) => *slot = alternative,
            None => group.alternatives.push((path, alternative)),
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWK: &str = "awk - auto mode
  link best version is /usr/bin/mawk
  link currently points to /usr/bin/mawk
  link awk is /usr/bin/awk
  slave awk.1.gz is /usr/share/man/man1/awk.1.gz
  slave nawk is /usr/bin/nawk
/usr/bin/mawk - priority 5
  slave awk.1.gz: /usr/share/man/man1/mawk.1.gz
  slave nawk: /usr/bin/mawk
/usr/bin/gawk - priority 10
  slave awk.1.gz: (null)
";

    fn decide(args: Json, display: Option<&str>) -> Result<Decision<Plan>, String> {
        let args: AlternativesArgs = crate::modules::typed::from_json(args)?;
        let found = Found {
            program: Some("/usr/bin/update-alternatives".into()),
            display: display.map(str::to_string),
            path_exists: true,
        };
        Alternatives.decide(&args, found)
    }

    fn commands(decision: &Decision<Plan>) -> Vec<String> {
        decision
            .plan
            .iter()
            .flat_map(|p| p.0.iter().map(|c| c[1..].join(" ")))
            .collect()
    }

    #[test]
    fn display_is_read_as_ansible_reads_it() {
        let group = parse(AWK, None);
        assert_eq!(group.mode.as_deref(), Some("auto"));
        assert_eq!(group.path.as_deref(), Some("/usr/bin/mawk"));
        assert_eq!(group.link.as_deref(), Some("/usr/bin/awk"));
        let mawk = group.get("/usr/bin/mawk").expect("mawk");
        assert_eq!(mawk.priority, 5);
        assert_eq!(
            mawk.subcommands[1],
            Subcommand {
                name: "nawk".into(),
                path: "/usr/bin/mawk".into(),
                link: Some("/usr/bin/nawk".into())
            }
        );
        assert!(
            group
                .get("/usr/bin/gawk")
                .expect("gawk")
                .subcommands
                .is_empty()
        );
        assert_eq!(mode_of("editor - manual mode").as_deref(), Some("manual"));
        assert_eq!(mode_of("/usr/bin/mawk - priority 5"), None);
        assert_eq!(
            named_is("  link x-www-browser is /usr/bin/x", &["link "], is_word),
            None
        );
    }

    #[test]
    fn the_selected_alternative_changes_nothing() {
        let decision =
            decide(json!({"name": "awk", "path": "/usr/bin/mawk"}), Some(AWK)).expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["msg"], "");
    }

    #[test]
    fn another_alternative_is_set_and_a_new_one_installed_first() {
        let decision =
            decide(json!({"name": "awk", "path": "/usr/bin/gawk"}), Some(AWK)).expect("a decision");
        assert_eq!(commands(&decision), ["--set awk /usr/bin/gawk"]);
        let decision = decide(
            json!({"name": "awk", "path": "/opt/awk", "priority": 3}),
            Some(AWK),
        )
        .expect("a decision");
        assert_eq!(
            commands(&decision),
            [
                "--install /usr/bin/awk awk /opt/awk 3",
                "--set awk /opt/awk"
            ]
        );
        assert_eq!(
            decision.result["msg"],
            "Install alternative '/opt/awk' for 'awk'. Set alternative '/opt/awk' for 'awk'."
        );
        let diff = decision.diff.expect("a diff");
        assert_eq!(diff["before"], json!({"state": "absent"}));
        assert_eq!(diff["after"]["state"], "selected");
    }

    #[test]
    fn present_auto_and_absent() {
        let decision = decide(
            json!({"name": "awk", "path": "/usr/bin/mawk", "priority": 7, "state": "present"}),
            Some(AWK),
        )
        .expect("a decision");
        assert_eq!(
            commands(&decision),
            ["--install /usr/bin/awk awk /usr/bin/mawk 7"]
        );
        let manual = AWK.replace("auto mode", "manual mode");
        let decision = decide(
            json!({"name": "awk", "path": "/usr/bin/mawk", "state": "auto"}),
            Some(&manual),
        )
        .expect("a decision");
        assert_eq!(commands(&decision), ["--auto awk"]);
        let decision = decide(
            json!({"name": "awk", "path": "/usr/bin/gawk", "state": "absent"}),
            Some(AWK),
        )
        .expect("a decision");
        assert_eq!(commands(&decision), ["--remove awk /usr/bin/gawk"]);
        let decision = decide(
            json!({"name": "awk", "path": "/opt/none", "state": "absent"}),
            Some(AWK),
        )
        .expect("a decision");
        assert!(decision.plan.is_none());
    }

    #[test]
    fn an_unknown_group_needs_a_link_and_subcommands_are_checked() {
        let err = decide(json!({"name": "bosun", "path": "/bin/true"}), None).expect_err("no link");
        assert_eq!(
            err,
            "Needed to install the alternative, but unable to do so as we are missing the link"
        );
        let args = json!({"name": "bosun", "path": "/bin/true", "link": "/usr/bin/bosun",
            "subcommands": [{"name": "b.1", "path": "/x.1", "link": "/usr/share/b.1"}]});
        let decision = decide(args, None).expect("a decision");
        assert_eq!(
            commands(&decision),
            [
                "--install /usr/bin/bosun bosun /bin/true 50 --slave /usr/share/b.1 b.1 /x.1",
                "--set bosun /bin/true"
            ]
        );
        let args = json!({"name": "b", "path": "/bin/true", "subcommands": [{"name": "x"}]});
        assert_eq!(
            decide(args, None).expect_err("incomplete").as_str(),
            "missing required arguments: link, path found in subcommands"
        );
    }
}
