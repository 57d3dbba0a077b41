//! `modprobe` (community.general): a kernel module loaded or unloaded with the
//! target's `modprobe`, whether it is loaded read from `/proc/modules` and
//! `modules.builtin`, and its persistence in `/etc/modules-load.d` and
//! `/etc/modprobe.d` kept as Ansible's module keeps it.

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// `modprobe`: loads or unloads kernel modules.
pub struct Modprobe;

arg_enum! {
    /// Whether the module should be loaded.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

arg_enum! {
    /// Whether the module is loaded at boot.
    pub enum Persistent {
        Disabled = "disabled",
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `modprobe`'s arguments.
    pub struct ModprobeArgs {
        /// The kernel module.
        name: String => .required(),
        state: State => .default_str("present"),
        /// The module's parameters (`numdummies=2`).
        params: String => .default_str(""),
        persistent: Persistent => .default_str("disabled"),
    }
}

const MODULES_LOAD: &str = "/etc/modules-load.d";
const MODPROBE_D: &str = "/etc/modprobe.d";

/// What the query found.
#[derive(Debug, Default)]
pub struct Found {
    /// `modprobe`'s path, when installed.
    program: Option<String>,
    /// `/proc/modules`, when it can be read.
    proc_modules: Option<String>,
    /// The kernel release (`uname -r`).
    release: String,
    /// `modules.builtin` of the running kernel, when it can be read.
    builtin: Option<String>,
    /// The files of `/etc/modules-load.d` and their text.
    load_files: Vec<(String, String)>,
    /// The files of `/etc/modprobe.d` and their text.
    option_files: Vec<(String, String)>,
}

/// The changes, in Ansible's order.
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// `modprobe` (or `modprobe -r`) command line.
    run: Option<Vec<String>>,
    /// Files written whole, with their text.
    writes: Vec<(String, String)>,
}

/// Ansible's `^ *NAME *(?:[#;].*)?\n?\Z`.
fn names_module(line: &str, name: &str) -> bool {
    let rest = line.trim_start_matches(' ');
    let Some(rest) = rest.strip_prefix(name) else {
        return false;
    };
    let rest = rest.trim_start_matches(' ');
    let rest = rest.strip_suffix('\n').unwrap_or(rest);
    !rest.contains('\n') && (rest.is_empty() || rest.starts_with(['#', ';']))
}

/// Ansible's `^options NAME (\w+=\S+) *(?:[#;].*)?\n?\Z`: the parameter a line sets.
fn option_of<'l>(line: &'l str, name: &str) -> Option<&'l str> {
    let rest = line
        .strip_prefix("options ")?
        .strip_prefix(name)?
        .strip_prefix(' ')?;
    let rest = rest.strip_suffix('\n').unwrap_or(rest);
    if rest.contains('\n') {
        return None;
    }
    let end = rest.find(' ').unwrap_or(rest.len());
    let (param, tail) = rest.split_at(end);
    let (key, value) = param.split_once('=')?;
    let word = !key.is_empty() && key.chars().all(|c| c.is_alphanumeric() || c == '_');
    let tail = tail.trim_start_matches(' ');
    (word && !value.is_empty() && (tail.is_empty() || tail.starts_with(['#', ';'])))
        .then_some(param)
}

/// Ansible's way of commenting lines out: `#` before each matching line, the lines
/// then joined with `\n` (each keeps its own newline too).
fn comment_out(text: &str, matches: impl Fn(&str) -> bool) -> Option<String> {
    let lines: Vec<String> = text
        .split_inclusive('\n')
        .map(|l| {
            if matches(l) {
                format!("#{l}")
            } else {
                l.to_string()
            }
        })
        .collect();
    let changed = text.split_inclusive('\n').any(&matches);
    changed.then(|| lines.join("\n"))
}

impl Found {
    /// Ansible's `module_loaded`.
    fn loaded(&self, name: &str) -> Result<bool, String> {
        let Some(modules) = &self.proc_modules else {
            return Err("[Errno 2] No such file or directory: '/proc/modules'".into());
        };
        let listed = format!("{} ", name.replace('-', "_"));
        if modules.lines().any(|l| l.starts_with(&listed)) {
            return Ok(true);
        }
        let Some(builtin) = &self.builtin else {
            return Err(format!(
                "[Errno 2] No such file or directory: '/lib/modules/{}/modules.builtin'",
                self.release
            ));
        };
        let file = format!("/{name}.ko");
        Ok(builtin.lines().any(|l| l.trim_end().ends_with(&file)))
    }

    fn loaded_persistently(&self, name: &str) -> bool {
        self.load_files
            .iter()
            .any(|(_, text)| text.split_inclusive('\n').any(|l| names_module(l, name)))
    }

    fn permanent_params(&self, name: &str) -> Vec<&str> {
        let mut params: Vec<&str> = Vec::new();
        for (_, text) in &self.option_files {
            for param in text
                .split_inclusive('\n')
                .filter_map(|l| option_of(l, name))
            {
                if !params.contains(&param) {
                    params.push(param);
                }
            }
        }
        params
    }

    /// The option files with this module's parameters commented out.
    fn disable_params(&self, name: &str) -> Vec<(String, String)> {
        self.option_files
            .iter()
            .filter_map(|(path, text)| {
                comment_out(text, |l| option_of(l, name).is_some()).map(|t| (path.clone(), t))
            })
            .collect()
    }
}

#[async_trait]
impl StateModule for Modprobe {
    const NAME: &'static str = "modprobe";
    type Args = ModprobeArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, _: &ModprobeArgs) -> Result<Found, ModuleError> {
        let script = format!(
            "printf 'program %s\\n' \"$(command -v modprobe)\"; r=$(uname -r); printf 'release %s\\n' \"$r\"; \
             [ -r /proc/modules ] && {{ echo @@proc; cat /proc/modules; }}; \
             [ -r /lib/modules/$r/modules.builtin ] && {{ echo @@builtin; cat /lib/modules/$r/modules.builtin; }}; \
             for d in {MODULES_LOAD} {MODPROBE_D}; do for f in \"$d\"/*; do [ -f \"$f\" ] && {{ printf '@@file %s\\n' \"$f\"; cat \"$f\"; echo; }}; done; done; :"
        );
        let out = on.conn.exec(&Command::new(script)).await?.stdout_text();
        Ok(parse(&out))
    }

    fn decide(&self, args: &ModprobeArgs, found: Found) -> Result<Decision<Plan>, String> {
        let program = found.program.clone().ok_or(
            "Failed to find required executable \"modprobe\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )?;
        let name = args.name.as_str();
        let params: Vec<String> = args.params.split_whitespace().map(str::to_string).collect();
        let mut plan = Plan::default();
        let loaded = found.loaded(name)?;
        match (args.state, loaded) {
            (State::Present, false) => {
                let mut argv = vec![program, name.to_string()];
                argv.extend(params.iter().cloned());
                plan.run = Some(argv);
            }
            (State::Absent, true) => plan.run = Some(vec![program, "-r".into(), name.to_string()]),
            _ => {}
        }
        let persistently = found.loaded_persistently(name);
        let permanent = found.permanent_params(name);
        let mut wanted: Vec<&str> = params.iter().map(String::as_str).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let mut have = permanent.clone();
        have.sort_unstable();
        let params_set = wanted == have;
        match args.persistent {
            Persistent::Present if !(persistently && params_set) => {
                if !persistently {
                    plan.writes
                        .push((format!("{MODULES_LOAD}/{name}.conf"), format!("{name}\n")));
                }
                if !params_set {
                    plan.writes.extend(found.disable_params(name));
                    let lines: Vec<String> = params
                        .iter()
                        .map(|p| format!("options {name} {p}"))
                        .collect();
                    plan.writes
                        .push((format!("{MODPROBE_D}/{name}.conf"), lines.join("\n") + "\n"));
                }
            }
            Persistent::Absent if persistently || !permanent.is_empty() => {
                for (path, text) in &found.load_files {
                    if let Some(text) = comment_out(text, |l| names_module(l, name)) {
                        plan.writes.push((path.clone(), text));
                    }
                }
                plan.writes.extend(found.disable_params(name));
            }
            _ => {}
        }
        let persistence = match args.persistent {
            Persistent::Present => !(persistently && params_set),
            Persistent::Absent => persistently || !permanent.is_empty(),
            Persistent::Disabled => false,
        };
        let changed = plan.run.is_some() || persistence;
        Ok(Decision::maybe(changed.then_some(plan))
            .with("name", name)
            .with("params", args.params.as_str())
            .with("state", args.state.as_str()))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &ModprobeArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        if let Some(argv) = &plan.run {
            let line: Vec<String> = argv.iter().map(|a| quote(a)).collect();
            let out = on.conn.exec(&Command::new(line.join(" "))).await?;
            if out.rc != 0 {
                let mut failed = super::failed(out.stderr_text());
                for (key, value) in [
                    ("rc", json!(out.rc)),
                    ("stdout", json!(out.stdout_text())),
                    ("stderr", json!(out.stderr_text())),
                    ("name", json!(args.name)),
                    ("params", json!(args.params)),
                    ("state", json!(args.state.as_str())),
                ] {
                    failed.insert(key.into(), value);
                }
                return Err(ModuleError::FailedWith(failed));
            }
        }
        for (path, text) in &plan.writes {
            if let Err(msg) =
                super::fileops::write_with_mode(on, path, text.as_bytes(), 0o644).await?
            {
                return Err(ModuleError::Failed(msg));
            }
        }
        Ok(Outcome::new())
    }
}

/// Reads the query's output.
fn parse(out: &str) -> Found {
    let mut found = Found::default();
    let mut section: Option<(String, String)> = None;
    let mut sections = Vec::new();
    for line in out.split_inclusive('\n') {
        if let Some(header) = line.strip_prefix("@@") {
            sections.extend(section.take());
            section = Some((header.trim_end().to_string(), String::new()));
        } else if let Some((_, text)) = &mut section {
            text.push_str(line);
        } else if let Some(path) = line.trim_end().strip_prefix("program ") {
            found.program = Some(path.to_string()).filter(|p| !p.is_empty());
        } else if let Some(release) = line.trim_end().strip_prefix("release ") {
            found.release = release.to_string();
        }
    }
    sections.extend(section);
    for (header, mut text) in sections {
        match header.as_str() {
            "proc" => found.proc_modules = Some(text),
            "builtin" => found.builtin = Some(text),
            _ => {
                let path = header.strip_prefix("file ").unwrap_or_default().to_string();
                // The query ends each file with a newline of its own.
                text.pop();
                match path.starts_with(MODULES_LOAD) {
                    true => found.load_files.push((path, text)),
                    false => found.option_files.push((path, text)),
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn found(proc_modules: &str) -> Found {
        Found {
            program: Some("/usr/sbin/modprobe".into()),
            proc_modules: Some(proc_modules.into()),
            release: "6.1.0".into(),
            builtin: Some("kernel/fs/ext4/ext4.ko\n".into()),
            load_files: vec![(
                "/etc/modules-load.d/modules.conf".into(),
                "# modules\n".into(),
            )],
            option_files: vec![(
                "/etc/modprobe.d/old.conf".into(),
                "options dummy numdummies=1\n".into(),
            )],
        }
    }

    fn decide(args: Json, found: Found) -> Result<Decision<Plan>, String> {
        let args: ModprobeArgs = crate::modules::typed::from_json(args)?;
        Modprobe.decide(&args, found)
    }

    #[test]
    fn lines_are_read_as_ansibles_regular_expressions_read_them() {
        assert!(names_module("  dummy  # test\n", "dummy"));
        assert!(!names_module("dummy2\n", "dummy"));
        assert_eq!(
            option_of("options dummy numdummies=2 # x\n", "dummy"),
            Some("numdummies=2")
        );
        assert_eq!(option_of("options dummy a=1 b=2\n", "dummy"), None);
        assert_eq!(
            comment_out("a\ndummy\n", |l| names_module(l, "dummy")).as_deref(),
            Some("a\n\n#dummy\n")
        );
    }

    #[test]
    fn loading_depends_on_proc_modules_and_builtins() {
        let decision = decide(
            json!({"name": "dummy", "params": "numdummies=2"}),
            found(""),
        )
        .expect("a decision");
        let plan = decision.plan.expect("a change");
        assert_eq!(
            plan.run,
            Some(vec![
                "/usr/sbin/modprobe".to_string(),
                "dummy".into(),
                "numdummies=2".into()
            ])
        );
        assert!(
            decide(json!({"name": "ext4"}), found(""))
                .expect("a decision")
                .plan
                .is_none()
        );
        assert!(
            decide(
                json!({"name": "dummy"}),
                found("dummy 16384 0 - Live 0x0\n")
            )
            .expect("a decision")
            .plan
            .is_none()
        );
        let mut without = found("");
        without.proc_modules = None;
        assert_eq!(
            decide(json!({"name": "dummy"}), without).err().as_deref(),
            Some("[Errno 2] No such file or directory: '/proc/modules'")
        );
    }

    #[test]
    fn persistence_writes_the_files_ansible_writes() {
        let args = json!({"name": "dummy", "params": "numdummies=2", "persistent": "present"});
        let plan = decide(args, found("dummy 1 0\n"))
            .expect("a decision")
            .plan
            .expect("a change");
        assert_eq!(plan.run, None);
        assert_eq!(
            plan.writes,
            [
                (
                    "/etc/modules-load.d/dummy.conf".to_string(),
                    "dummy\n".to_string()
                ),
                (
                    "/etc/modprobe.d/old.conf".into(),
                    "#options dummy numdummies=1\n".into()
                ),
                (
                    "/etc/modprobe.d/dummy.conf".into(),
                    "options dummy numdummies=2\n".into()
                ),
            ]
        );
        let mut done = found("dummy 1 0\n");
        done.load_files
            .push(("/etc/modules-load.d/dummy.conf".into(), "dummy\n".into()));
        done.option_files = vec![(
            "/etc/modprobe.d/dummy.conf".into(),
            "options dummy numdummies=2\n".into(),
        )];
        let args = json!({"name": "dummy", "params": "numdummies=2", "persistent": "present"});
        assert!(decide(args, done).expect("a decision").plan.is_none());
        let args = json!({"name": "dummy", "params": "numdummies=1", "persistent": "absent"});
        let plan = decide(args, found("dummy 1 0\n"))
            .expect("a decision")
            .plan
            .expect("a change");
        assert_eq!(
            plan.writes,
            [(
                "/etc/modprobe.d/old.conf".to_string(),
                "#options dummy numdummies=1\n".to_string()
            )]
        );
    }
}
