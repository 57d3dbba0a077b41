//! `npm` (community.general): installs, updates and removes node.js packages with the
//! target's `npm`, deciding as the module does from `npm list --json --long` (and
//! `npm outdated` for `latest`): a package counts as installed when its name (and,
//! with `version`, `name@version`) is among the listed dependencies, so a `name`
//! that is a path or a tarball is installed again on every run, as with Ansible.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::contract::{Decision, StateModule};
use super::run;
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// `npm`: manages node.js packages.
pub struct Npm;

arg_enum! {
    /// What should become of the package.
    pub enum State {
        Present = "present",
        Absent = "absent",
        Latest = "latest",
    }
}

module_args! {
    /// `npm`'s arguments.
    pub struct NpmArgs {
        /// The package (a name, or anything `npm install` takes).
        name: Option<String>,
        /// The directory to install in (its `node_modules`).
        path: Option<String>,
        /// The version to install.
        version: Option<String>,
        /// Install globally.
        global: bool => .default_bool(false),
        /// Leave out devDependencies (`--production`).
        production: bool => .default_bool(false),
        /// The npm program (split on spaces, as the module splits it).
        executable: Option<String>,
        /// The registry to install from.
        registry: Option<String>,
        state: State => .default_str("present"),
        /// `--ignore-scripts`.
        ignore_scripts: bool => .default_bool(false),
        /// `--unsafe-perm`.
        unsafe_perm: bool => .default_bool(false),
        /// Run `npm ci` (always a change).
        ci: bool => .default_bool(false),
        /// `--no-optional`.
        no_optional: bool => .default_bool(false),
        /// `--no-bin-links`.
        no_bin_links: bool => .default_bool(false),
        /// `--force`.
        force: bool => .default_bool(false),
    }
    rules: Rules {
        required_if: &[("state", "absent", &["name"])],
        ..Rules::NONE
    };
}

impl NpmArgs {
    /// `name@version` when a version is wanted and the state is not absent.
    fn name_version(&self) -> Option<String> {
        match (&self.name, &self.version) {
            (Some(name), Some(version)) if self.state != State::Absent => {
                Some(format!("{name}@{version}"))
            }
            (name, _) => name.clone(),
        }
    }

    /// The words after the program for `verb`, in the module's `CmdRunner` order.
    fn words(&self, verb: &[&str], with_name: bool) -> Vec<String> {
        let mut argv: Vec<String> = verb.iter().map(|w| w.to_string()).collect();
        let production = self.production
            && verb
                .iter()
                .any(|w| matches!(*w, "install" | "update" | "ci"));
        for (on, flag) in [
            (self.global, "--global"),
            (production, "--production"),
            (self.ignore_scripts, "--ignore-scripts"),
            (self.unsafe_perm, "--unsafe-perm"),
        ] {
            if on {
                argv.push(flag.into());
            }
        }
        if with_name {
            argv.extend(self.name_version());
        }
        if let Some(registry) = &self.registry {
            argv.extend(["--registry".to_string(), registry.clone()]);
        }
        for (on, flag) in [
            (self.no_optional, "--no-optional"),
            (self.no_bin_links, "--no-bin-links"),
            (self.force, "--force"),
        ] {
            if on {
                argv.push(flag.into());
            }
        }
        argv
    }
}

/// What the query found.
#[derive(Debug, Default)]
pub struct Found {
    /// The npm program's words, when found.
    program: Option<Vec<String>>,
    /// `path` exists but is no directory.
    not_dir: bool,
    /// `npm list --json --long`'s output.
    list: String,
    /// `npm outdated`'s output (`latest`).
    outdated: String,
}

/// The npm commands to run, in order.
#[derive(Debug, PartialEq)]
pub struct Plan(Vec<Vec<String>>);

/// Runs `words` after the program in `path` (when given), output kept apart.
fn npm_line(program: &str, words: &[String]) -> String {
    let words: Vec<String> = words.iter().map(|w| quote(w)).collect();
    format!("{program} {}", words.join(" "))
}

/// Python's truth of a JSON value.
fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() != Some(0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(map) => !map.is_empty(),
    }
}

/// The module's `list`: names (and `name@version`) installed, and those missing.
fn installed_and_missing(args: &NpmArgs, list: &str) -> Result<(Vec<String>, bool), String> {
    let text = if list.trim().is_empty() { "{}" } else { list };
    let data: Json = serde_json::from_str(text)
        .map_err(|err| format!("Failed to parse NPM output with error {err}"))?;
    let mut installed = Vec::new();
    let mut missing = false;
    match data.get("dependencies").and_then(Json::as_object) {
        Some(deps) => {
            for (dep, props) in deps {
                let flag = |key: &str| props.get(key).is_some_and(truthy);
                if flag("missing") || flag("invalid") {
                    missing = true;
                    continue;
                }
                installed.push(dep.clone());
                if let Some(version) = props.get("version").filter(|v| truthy(v)) {
                    let version = match version {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    installed.push(format!("{dep}@{version}"));
                }
            }
            if let Some(wanted) = args.name_version()
                && !installed.contains(&wanted)
            {
                missing = true;
            }
        }
        None => missing = true,
    }
    Ok((installed, missing))
}

#[async_trait]
impl StateModule for Npm {
    const NAME: &'static str = "npm";
    type Args = NpmArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &NpmArgs) -> Result<Found, ModuleError> {
        query(on, args, false).await
    }

    async fn prepare_and_query(
        &self,
        on: &Target<'_>,
        args: &NpmArgs,
    ) -> Result<Found, ModuleError> {
        query(on, args, true).await
    }

    fn decide(&self, args: &NpmArgs, found: Found) -> Result<Decision<Plan>, String> {
        if args.path.is_none() && !args.global {
            return Err("path must be specified when not using global".into());
        }
        let program = found.program.clone().ok_or(
            "Failed to find required executable \"npm\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )?;
        if found.not_dir {
            return Err(format!(
                "path {} is not a directory",
                args.path.as_deref().unwrap_or_default()
            ));
        }
        let command = |verb: &str| {
            let mut argv = program.clone();
            argv.extend(args.words(&[verb], true));
            argv
        };
        let mut commands = Vec::new();
        if args.ci {
            commands.push(command("ci"));
        } else {
            let (installed, missing) = installed_and_missing(args, &found.list)?;
            match args.state {
                State::Present if missing => commands.push(command("install")),
                State::Latest => {
                    if missing {
                        commands.push(command("install"));
                    }
                    if found.outdated.lines().any(|l| !l.is_empty()) {
                        commands.push(command("update"));
                    }
                }
                State::Absent if args.name.as_ref().is_some_and(|n| installed.contains(n)) => {
                    commands.push(command("uninstall"));
                }
                _ => {}
            }
        }
        Ok(Decision::maybe(
            (!commands.is_empty()).then_some(Plan(commands)),
        ))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &NpmArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        for argv in &plan.0 {
            match &args.path {
                Some(path) => run::checked_in(on, path, argv).await?,
                None => run::checked(on, argv, false).await?,
            };
        }
        Ok(Outcome::new())
    }
}

/// The query: finds npm, then lists the packages (and the outdated ones for
/// `latest`) in `path`; with `create`, makes `path` first, as the module does.
async fn query(on: &Target<'_>, args: &NpmArgs, create: bool) -> Result<Found, ModuleError> {
    let find = match &args.executable {
        Some(executable) => {
            let words: Vec<String> = executable.split(' ').map(quote).collect();
            format!(
                "set -- {}; printf '%s\\0' \"$@\"; printf '\\001'; ",
                words.join(" ")
            )
        }
        None => "n=$(command -v npm) || exit 0; set -- \"$n\"; printf '%s\\0\\001' \"$n\"; ".into(),
    };
    let mut script = find;
    if let Some(path) = &args.path {
        let p = quote(path);
        if create {
            script.push_str(&format!("[ -e {p} ] || mkdir -p -- {p}; "));
        }
        script.push_str(&format!(
            "if [ -e {p} ] && [ ! -d {p} ]; then printf '\\002notdir'; exit 0; fi; [ -d {p} ] || exit 0; cd -- {p} || exit 0; "
        ));
    }
    let list = args.words(&["list", "--json", "--long"], false);
    script.push_str(&format!("{} 2>/dev/null; ", npm_line("\"$@\"", &list)));
    if args.state == State::Latest && !args.ci {
        let outdated = args.words(&["outdated"], true);
        script.push_str(&format!(
            "printf '\\002'; {} 2>/dev/null; ",
            npm_line("\"$@\"", &outdated)
        ));
    }
    script.push_str("exit 0");
    let out = on.conn.exec(&Command::new(script)).await?.stdout_text();
    let Some((program, rest)) = out.split_once('\u{1}') else {
        return Ok(Found::default());
    };
    let mut found = Found {
        program: Some(
            program
                .split('\0')
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        ..Found::default()
    };
    if rest == "\u{2}notdir" {
        found.not_dir = true;
        return Ok(found);
    }
    let (list, outdated) = rest.split_once('\u{2}').unwrap_or((rest, ""));
    found.list = list.to_string();
    found.outdated = outdated.to_string();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decide(args: Json, list: &str) -> Result<Decision<Plan>, String> {
        let args: NpmArgs = crate::modules::typed::from_json(args)?;
        let found = Found {
            program: Some(vec!["/usr/bin/npm".into()]),
            list: list.into(),
            ..Found::default()
        };
        Npm.decide(&args, found)
    }

    fn lines(d: &Decision<Plan>) -> Vec<String> {
        d.plan
            .as_ref()
            .map(|p| p.0.iter().map(|c| c.join(" ")).collect())
            .unwrap_or_default()
    }

    const LISTED: &str = r#"{"name": "app", "dependencies": {"left-pad": {"version": "1.3.0"}, "gone": {"missing": true}}}"#;

    #[test]
    fn a_listed_package_is_present_and_a_missing_one_installed() {
        let present = decide(
            json!({"name": "left-pad", "path": "/app"}),
            r#"{"dependencies": {"left-pad": {"version": "1.3.0"}}}"#,
        )
        .expect("decision");
        assert!(present.plan.is_none());
        let pinned = decide(
            json!({"name": "left-pad", "version": "1.2.0", "path": "/app", "production": true}),
            LISTED,
        )
        .expect("decision");
        assert_eq!(
            lines(&pinned),
            ["/usr/bin/npm install --production left-pad@1.2.0"]
        );
        let dir = decide(json!({"path": "/app"}), LISTED).expect("decision");
        assert_eq!(
            lines(&dir),
            ["/usr/bin/npm install"],
            "a missing dependency"
        );
        let empty = decide(json!({"path": "/app"}), r#"{"name": "app"}"#).expect("decision");
        assert_eq!(
            lines(&empty),
            ["/usr/bin/npm install"],
            "no dependencies listed"
        );
        let tarball =
            decide(json!({"name": "/tmp/x-1.0.0.tgz", "global": true}), LISTED).expect("decision");
        assert_eq!(
            lines(&tarball),
            ["/usr/bin/npm install --global /tmp/x-1.0.0.tgz"]
        );
    }

    #[test]
    fn absent_uninstalls_only_what_is_listed_and_ci_always_runs() {
        let d = decide(
            json!({"name": "left-pad", "path": "/app", "state": "absent", "version": "9"}),
            LISTED,
        )
        .expect("decision");
        assert_eq!(lines(&d), ["/usr/bin/npm uninstall left-pad"]);
        let none = decide(
            json!({"name": "other", "path": "/app", "state": "absent"}),
            LISTED,
        )
        .expect("decision");
        assert!(none.plan.is_none());
        let ci = decide(
            json!({"path": "/app", "ci": true, "registry": "http://r", "no_bin_links": true}),
            LISTED,
        )
        .expect("decision");
        assert_eq!(
            lines(&ci),
            ["/usr/bin/npm ci --registry http://r --no-bin-links"]
        );
    }

    #[test]
    fn latest_installs_what_is_missing_and_updates_what_is_outdated() {
        let args: NpmArgs = crate::modules::typed::from_json(
            json!({"name": "left-pad", "path": "/app", "state": "latest"}),
        )
        .expect("valid");
        let found = |list: &str, outdated: &str| Found {
            program: Some(vec!["npm".into()]),
            list: list.into(),
            outdated: outdated.into(),
            ..Found::default()
        };
        let current = r#"{"dependencies": {"left-pad": {"version": "1.3.0"}}}"#;
        let none = Npm.decide(&args, found(current, "")).expect("decision");
        assert!(none.plan.is_none());
        let old = Npm
            .decide(
                &args,
                found(
                    current,
                    "Package   Current  Wanted  Latest\nleft-pad  1.2.0  1.3.0  1.3.0\n",
                ),
            )
            .expect("decision");
        assert_eq!(lines(&old), ["npm update left-pad"]);
        let both = Npm
            .decide(&args, found("{}", "left-pad 1 2 2\n"))
            .expect("decision");
        assert_eq!(
            lines(&both),
            ["npm install left-pad", "npm update left-pad"]
        );
    }

    #[test]
    fn refusals_are_the_module_s() {
        let no_path = decide(json!({"name": "x"}), "{}").err();
        assert_eq!(
            no_path.as_deref(),
            Some("path must be specified when not using global")
        );
        let absent = decide(json!({"path": "/a", "state": "absent"}), "{}").err();
        assert_eq!(
            absent.as_deref(),
            Some("state is absent but all of the following are missing: name")
        );
        let garbage = decide(json!({"path": "/a"}), "npm ERR!").err();
        assert!(garbage.is_some_and(|e| e.starts_with("Failed to parse NPM output with error")));
    }
}
