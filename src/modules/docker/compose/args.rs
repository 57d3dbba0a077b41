//! `docker_compose_v2`'s arguments (the collection's common compose options and the
//! module's own), their checks, and the `docker compose` command lines they make, as
//! `BaseComposeManager` and `ServicesManager` build them.

use serde_json::{Map, Value as Json};

use super::version::Version;
use crate::connection::quote;
use crate::modules::typed::{Rules, arg_enum, module_args};

arg_enum! {
    /// The state of the project.
    pub enum State {
        Present = "present",
        Absent = "absent",
        Stopped = "stopped",
        Restarted = "restarted",
    }
}

arg_enum! {
    /// When `up` pulls images.
    pub enum Pull {
        Always = "always",
        Missing = "missing",
        Never = "never",
        Policy = "policy",
    }
}

arg_enum! {
    /// When `up` builds images.
    pub enum Build {
        Always = "always",
        Never = "never",
        Policy = "policy",
    }
}

arg_enum! {
    /// When `up` recreates containers.
    pub enum Recreate {
        Always = "always",
        Never = "never",
        Auto = "auto",
    }
}

arg_enum! {
    /// Which images `down` removes.
    pub enum RemoveImages {
        All = "all",
        Local = "local",
    }
}

module_args! {
    /// `docker_compose_v2`'s arguments.
    pub struct ComposeArgs {
        /// The project directory on the target.
        project_src: Option<String>,
        project_name: Option<String>,
        /// Compose files relative to `project_src`, instead of the default one.
        files: Option<Vec<String>>,
        /// The Compose file's content, written to a temporary project directory.
        definition: Option<Map<String, Json>>,
        env_files: Option<Vec<String>>,
        profiles: Option<Vec<String>>,
        /// Whether to check that `project_src` has a Compose file.
        check_files_existing: bool => .default_bool(true),
        state: State => .default_str("present"),
        /// Whether `up` and `restart` include the services' dependencies.
        dependencies: bool => .default_bool(true),
        pull: Pull => .default_str("policy"),
        build: Build => .default_str("policy"),
        /// Whether build events count as changes.
        ignore_build_events: bool => .default_bool(true),
        recreate: Recreate => .default_str("auto"),
        renew_anon_volumes: bool => .default_bool(false),
        remove_images: Option<RemoveImages>,
        remove_volumes: bool => .default_bool(false),
        remove_orphans: bool => .default_bool(false),
        /// Seconds containers get to stop.
        timeout: Option<i64>,
        /// The services to act on (all when not given).
        services: Option<Vec<String>>,
        /// How many containers each service has.
        scale: Option<Map<String, Json>>,
        /// Whether `up` waits for the services to be running or healthy.
        wait: bool => .default_bool(false),
        wait_timeout: Option<i64>,
        /// Whether to answer yes to compose's prompts.
        assume_yes: bool => .default_bool(false),
    }
    rules: Rules {
        mutually_exclusive: &[&["definition", "project_src"], &["definition", "files"]],
        required_one_of: &[&["definition", "project_src"]],
        ..Rules::NONE
    };
}

/// The Compose files `project_src` may hold, in compose's order.
pub const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The oldest compose plugin the collection drives.
pub const MINIMUM: &str = "2.18.0";

/// The shell variable the scripts keep the project directory in.
pub const PROJECT_DIR: &str = "\"$project\"";

impl ComposeArgs {
    /// Checks what the collection checks before it runs anything: `project_name` with
    /// `definition` (its `required_by`) and the `scale` values.
    pub fn check(&self) -> Result<(), String> {
        if self.definition.is_some() && self.project_name.is_none() {
            return Err("missing parameter(s) required by 'definition': project_name".into());
        }
        self.scale().map(|_| ())
    }

    /// `scale` as services and counts, sorted, with the collection's refusals.
    pub fn scale(&self) -> Result<Vec<(String, i64)>, String> {
        let mut scale = Vec::new();
        for (service, value) in self.scale.iter().flatten() {
            let count = match value {
                Json::Number(n) => n.as_i64(),
                Json::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                format!(
                    "The value {} for `scale['{service}']` is not an integer",
                    python_repr(value)
                )
            })?;
            if count < 0 {
                return Err(format!(
                    "The value {count} for `scale['{service}']` is negative"
                ));
            }
            scale.push((service.clone(), count));
        }
        scale.sort();
        Ok(scale)
    }

    /// The project directory given (`None` with `definition`).
    pub fn project_src(&self) -> Option<&str> {
        self.project_src.as_deref()
    }

    /// The Compose files given.
    pub fn files(&self) -> &[String] {
        self.files.as_deref().unwrap_or_default()
    }

    /// The inline Compose file.
    pub fn definition(&self) -> Option<&Map<String, Json>> {
        self.definition.as_ref()
    }

    /// Whether the project directory must hold a Compose file.
    pub fn check_files_existing(&self) -> bool {
        self.check_files_existing
    }

    /// The state wanted.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether build events count as changes.
    pub fn ignore_build_events(&self) -> bool {
        self.ignore_build_events
    }

    /// `docker compose` and its global options (`get_base_args`), the project
    /// directory being [`PROJECT_DIR`].
    pub fn base(&self, version: &Version) -> String {
        let mut cmd = "docker compose --ansi never".to_string();
        if version.at_least("2.19.0") {
            cmd.push_str(" --progress plain");
        }
        cmd.push_str(&format!(" --project-directory {PROJECT_DIR}"));
        if let Some(name) = &self.project_name {
            cmd.push_str(&format!(" --project-name {}", quote(name)));
        }
        for (flag, values) in [
            ("--file", &self.files),
            ("--env-file", &self.env_files),
            ("--profile", &self.profiles),
        ] {
            for value in values.iter().flatten() {
                cmd.push_str(&format!(" {flag} {}", quote(value)));
            }
        }
        cmd
    }

    /// `-- service...`.
    fn services(&self) -> String {
        let words: String = self
            .services
            .iter()
            .flatten()
            .map(|s| format!(" {}", quote(s)))
            .collect();
        format!(" --{words}")
    }

    /// ` --timeout N` when `timeout` is given.
    fn timeout(&self) -> String {
        self.timeout
            .map(|t| format!(" --timeout {t}"))
            .unwrap_or_default()
    }

    /// `docker compose up` (`get_up_cmd`).
    pub fn up(&self, version: &Version, dry_run: bool, no_start: bool) -> Result<String, String> {
        if self.assume_yes && !version.at_least("2.32.0") {
            return Err(format!(
                "assume_yes=true needs Docker Compose 2.32.0 or newer, not version {}",
                version.text()
            ));
        }
        let mut cmd = format!("{} up --detach --no-color --quiet-pull", self.base(version));
        if self.pull != Pull::Policy {
            cmd.push_str(&format!(" --pull {}", self.pull.as_str()));
        }
        let flags = [
            (self.remove_orphans, " --remove-orphans"),
            (self.recreate == Recreate::Always, " --force-recreate"),
            (self.recreate == Recreate::Never, " --no-recreate"),
            (self.renew_anon_volumes, " --renew-anon-volumes"),
            (!self.dependencies, " --no-deps"),
        ];
        for (on, flag) in flags {
            if on {
                cmd.push_str(flag);
            }
        }
        cmd.push_str(&self.timeout());
        match self.build {
            Build::Always => cmd.push_str(" --build"),
            Build::Never => cmd.push_str(" --no-build"),
            Build::Policy => {}
        }
        for (service, count) in self.scale()? {
            cmd.push_str(&format!(
                " --scale {}",
                quote(&format!("{service}={count}"))
            ));
        }
        if self.wait {
            cmd.push_str(" --wait");
            if let Some(timeout) = self.wait_timeout {
                cmd.push_str(&format!(" --wait-timeout {timeout}"));
            }
        }
        if no_start {
            cmd.push_str(" --no-start");
        }
        if dry_run {
            cmd.push_str(" --dry-run");
        }
        if self.assume_yes {
            cmd.push_str(if version.at_least("2.34.0") {
                " --yes"
            } else {
                " -y"
            });
        }
        cmd.push_str(&self.services());
        Ok(cmd)
    }

    /// `docker compose stop`.
    pub fn stop(&self, version: &Version, dry_run: bool) -> String {
        let dry = if dry_run { " --dry-run" } else { "" };
        format!(
            "{} stop{}{dry}{}",
            self.base(version),
            self.timeout(),
            self.services()
        )
    }

    /// `docker compose restart`.
    pub fn restart(&self, version: &Version, dry_run: bool) -> String {
        let deps = if self.dependencies { "" } else { " --no-deps" };
        let dry = if dry_run { " --dry-run" } else { "" };
        format!(
            "{} restart{deps}{}{dry}{}",
            self.base(version),
            self.timeout(),
            self.services()
        )
    }

    /// `docker compose down`.
    pub fn down(&self, version: &Version, dry_run: bool) -> String {
        let mut cmd = format!("{} down", self.base(version));
        if self.remove_orphans {
            cmd.push_str(" --remove-orphans");
        }
        if let Some(images) = self.remove_images {
            cmd.push_str(&format!(" --rmi {}", images.as_str()));
        }
        if self.remove_volumes {
            cmd.push_str(" --volumes");
        }
        cmd.push_str(&self.timeout());
        if dry_run {
            cmd.push_str(" --dry-run");
        }
        cmd.push_str(&self.services());
        cmd
    }

    /// `docker compose ps` of every container of the project, as JSON.
    pub fn ps(&self, version: &Version) -> String {
        let trunc = if version.at_least("2.23.0") {
            " --no-trunc"
        } else {
            ""
        };
        format!("{} ps --format json --all{trunc}", self.base(version))
    }

    /// `docker compose images`, as JSON.
    pub fn images(&self, version: &Version) -> String {
        format!("{} images --format json", self.base(version))
    }
}

/// A value as Python's `repr` writes it in the collection's messages.
fn python_repr(value: &Json) -> String {
    match value {
        Json::String(s) => format!("'{s}'"),
        Json::Bool(true) => "True".to_string(),
        Json::Bool(false) => "False".to_string(),
        Json::Null => "None".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn args(task: Json) -> Result<ComposeArgs, String> {
        from_json(task)
    }

    #[test]
    fn command_lines_carry_the_options_as_the_collection_passes_them() {
        let version = Version::parse("2.26.1-4");
        let task = args(json!({
            "project_src": "/srv/web", "files": ["a.yml"], "profiles": ["p"],
            "pull": "missing", "recreate": "always", "remove_orphans": true,
            "scale": {"web": "2"}, "wait": true, "wait_timeout": 30, "services": ["web"],
            "timeout": 5
        }))
        .expect("valid");
        assert_eq!(
            task.up(&version, true, false).expect("a command"),
            "docker compose --ansi never --progress plain --project-directory \"$project\" --file a.yml --profile p up --detach --no-color --quiet-pull --pull missing --remove-orphans --force-recreate --timeout 5 --scale web=2 --wait --wait-timeout 30 --dry-run -- web"
        );
        assert_eq!(
            task.down(&version, false),
            "docker compose --ansi never --progress plain --project-directory \"$project\" --file a.yml --profile p down --remove-orphans --timeout 5 -- web"
        );
        assert!(
            task.ps(&version)
                .ends_with("ps --format json --all --no-trunc")
        );
        let old = Version::parse("2.18.1");
        assert!(!task.base(&old).contains("--progress"));
    }

    #[test]
    fn refusals_are_the_collections() {
        assert_eq!(
            args(json!({"definition": {"services": {}}, "project_src": "/x"})).expect_err("both"),
            "parameters are mutually exclusive: definition|project_src"
        );
        assert_eq!(
            args(json!({})).expect_err("neither"),
            "one of the following is required: definition, project_src"
        );
        let task = args(json!({"definition": {"services": {}}})).expect("valid");
        assert_eq!(
            task.check(),
            Err("missing parameter(s) required by 'definition': project_name".to_string())
        );
        let task = args(json!({"project_src": "/x", "scale": {"web": "many"}})).expect("valid");
        assert_eq!(
            task.check(),
            Err("The value 'many' for `scale['web']` is not an integer".to_string())
        );
        let task = args(json!({"project_src": "/x", "scale": {"web": -1}})).expect("valid");
        assert_eq!(
            task.check(),
            Err("The value -1 for `scale['web']` is negative".to_string())
        );
        let task = args(json!({"project_src": "/x", "assume_yes": true})).expect("valid");
        assert_eq!(
            task.up(&Version::parse("2.26.1"), false, false),
            Err(
                "assume_yes=true needs Docker Compose 2.32.0 or newer, not version 2.26.1"
                    .to_string()
            )
        );
    }
}
