//! `include_vars`, as Ansible's action plugin: one file found in the task's search path
//! (`vars/` first), or a directory walked in sorted order to a `depth`, its files
//! filtered by `files_matching`, `ignore_files` and `extensions`. The result lists the
//! files read (`ansible_included_var_files`) and holds their variables as facts; a
//! failure (no such file, a file that is not a mapping) is reported under `message`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use super::{HostState, Runner, censor};
use crate::modules::{self, Outcome};
use crate::playbook::Task;
use crate::playbook::loader::parse_vars;
use crate::template::Vars;
use crate::yaml::{self, Value};

/// The extensions a directory's files may have when `extensions` is not given.
const DEFAULT_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];
/// The arguments that make it a directory include.
const DIR_ARGS: [&str; 6] = [
    "dir",
    "depth",
    "files_matching",
    "ignore_files",
    "extensions",
    "ignore_unknown_extensions",
];
/// The arguments that make it a file include.
const FILE_ARGS: [&str; 2] = ["file", "_raw_params"];
/// The arguments of both kinds.
const COMMON_ARGS: [&str; 2] = ["name", "hash_behaviour"];

impl Runner {
    /// `include_vars`: the file or directory the task's arguments name read, and
    /// its variables set for the host (unless it failed).
    pub(super) fn include_vars(
        &self,
        task: &Task,
        args: &IndexMap<String, Json>,
        host: &mut HostState,
        vars: &Arc<Vars>,
    ) -> Result<Outcome, String> {
        let args = self.render_args(task, args, true, vars)?;
        let request = Request::read(&args)?;
        let role_path = task.role.as_ref().map(|role| role.path.as_path());
        let mut read = Included::default();
        match &request.source {
            Source::File(None) => read.refuse(not_found(None, &[])),
            Source::File(Some(file)) => {
                let var = |name: &str| vars.resolved(name).ok().flatten();
                match crate::template::find_needle(var, Some("vars"), file) {
                    Ok(found) => read.file(Path::new(&found), None),
                    Err(tried) => read.refuse(not_found(Some(file), &tried)),
                }
            }
            Source::Dir(walk) => {
                let root = walk.root(role_path, &absolute(&task.span.dir()));
                if !root.exists() {
                    read.refuse(format!("{} directory does not exist", root.display()));
                } else if !root.is_dir() {
                    read.refuse(format!("{} is not a directory", root.display()));
                } else {
                    for file in walk.files(&root, role_path)? {
                        read.file(&file, Some(walk));
                        if read.message.is_some() {
                            break;
                        }
                    }
                }
            }
        }
        let mut facts = read.vars;
        if let Some(name) = &request.name {
            facts = Map::from_iter([(name.clone(), Json::Object(facts))]);
        }
        let mut result = modules::ok(false);
        if let Some(message) = read.message {
            result.insert("failed".into(), Json::Bool(true));
            result.insert("message".into(), Json::String(message));
            result.insert(
                "msg".into(),
                "Task failed: Action failed: Unknown error.".into(),
            );
        } else {
            if let Some(merge) = request.merges() {
                facts = combined_with_existing(facts, vars, merge);
            }
            std::sync::Arc::make_mut(&mut host.included_vars).extend(facts.clone());
        }
        if read.encrypted {
            result.insert(censor::NO_LOG_KEY.into(), Json::Bool(true));
        }
        let files = read.files.iter().map(|f| Json::from(f.to_string_lossy()));
        result.insert(
            "ansible_included_var_files".into(),
            Json::Array(files.collect()),
        );
        result.insert("ansible_facts".into(), Json::Object(facts));
        Ok(result)
    }
}

/// What an `include_vars` read so far: the files, their variables, and why it stopped.
#[derive(Default)]
struct Included {
    files: Vec<PathBuf>,
    vars: Map<String, Json>,
    encrypted: bool,
    message: Option<String>,
}

impl Included {
    /// Reads `path` (a file of a directory walk checked against `walk`'s extensions);
    /// a file that cannot be included ends the include with its message.
    fn file(&mut self, path: &Path, walk: Option<&DirWalk>) {
        if let Some(walk) = walk
            && !walk.valid_extension(&path.to_string_lossy())
        {
            let allowed = walk.extensions.join(", ");
            return self.refuse(format!(
                "{} does not have a valid extension: {allowed}",
                path.display()
            ));
        }
        match read_file(path) {
            Ok(FileVars::Vars(vars, encrypted)) => {
                self.encrypted |= encrypted;
                self.files.push(path.to_path_buf());
                self.vars.extend(vars);
            }
            Ok(FileVars::Refused(message)) | Err(message) => self.refuse(message),
        }
    }

    /// Ends the include with `message`.
    fn refuse(&mut self, message: String) {
        self.message = Some(message);
    }
}

/// `dir` made absolute against the working directory (an empty one is that).
fn absolute(dir: &Path) -> PathBuf {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
}

/// Ansible's `AnsibleFileNotFound` message for `file`, with the places searched.
fn not_found(file: Option<&str>, tried: &[String]) -> String {
    let mut message = match file {
        Some(file) => format!("Could not find or access '{file}'"),
        None => "Could not find file".to_string(),
    };
    if !tried.is_empty() {
        message += &format!("\nSearched in:\n\t{}", tried.join("\n\t"));
    }
    message
        + " on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
}

/// `facts` combined over the values the host has for the same names, merged or
/// replaced as the task's `hash_behaviour` says.
fn combined_with_existing(
    facts: Map<String, Json>,
    vars: &Arc<Vars>,
    merge: bool,
) -> Map<String, Json> {
    let mut combined = Map::new();
    for key in facts.keys() {
        if let Ok(Some(value)) = vars.resolved(key) {
            combined.insert(key.clone(), value);
        }
    }
    crate::hash_behaviour::combine(&mut combined, facts, merge);
    combined
}

/// What to read, from the task's (rendered) arguments.
#[derive(Debug)]
pub(super) struct Request {
    /// A file or a directory.
    pub(super) source: Source,
    /// `name:`: the variables go under this one name.
    pub(super) name: Option<String>,
    /// `hash_behaviour:`, when it differs from the configured one.
    pub(super) hash_behaviour: Option<String>,
}

/// A file or a directory to read.
#[derive(Debug)]
pub(super) enum Source {
    /// `file:` or the free form (`None` when neither is given).
    File(Option<String>),
    /// `dir:` and how to walk it.
    Dir(DirWalk),
}

/// How a directory is walked.
#[derive(Debug)]
pub(super) struct DirWalk {
    /// `dir:` as written.
    pub(super) dir: String,
    /// `depth:`, 0 for no limit.
    depth: usize,
    /// `files_matching:` (searched in each file name).
    files_matching: Option<crate::pyre::Pattern>,
    /// `ignore_files:` (each searched at the end of a file name).
    ignore_files: Vec<String>,
    /// `extensions:` without dots.
    extensions: Vec<String>,
    /// `ignore_unknown_extensions:`.
    ignore_unknown: bool,
}

impl Request {
    /// The request `args` make; an unknown option, mixed file and directory options or
    /// a value of the wrong type is an error (the task fails, as Ansible raises it).
    pub(super) fn read(args: &IndexMap<String, Json>) -> Result<Request, String> {
        let (mut dirs, mut files) = (0, 0);
        for key in args.keys() {
            if DIR_ARGS.contains(&key.as_str()) {
                dirs += 1;
            } else if FILE_ARGS.contains(&key.as_str()) {
                files += 1;
            } else if !COMMON_ARGS.contains(&key.as_str()) {
                return Err(format!("{key} is not a valid option in include_vars"));
            }
        }
        if dirs > 0 && files > 0 {
            return Err(
                "You are mixing file only and dir only arguments, these are incompatible".into(),
            );
        }
        let text = |key: &str| args.get(key).filter(|v| !v.is_null()).map(py_str);
        let source = match text("dir").filter(|dir| !dir.is_empty()) {
            Some(dir) => Source::Dir(DirWalk::read(dir, args)?),
            None => {
                let file = text("file")
                    .filter(|file| !file.is_empty())
                    .or_else(|| text("_raw_params").map(|raw| raw.trim_end_matches('\n').into()));
                Source::File(file)
            }
        };
        Ok(Request {
            source,
            name: text("name").filter(|name| !name.is_empty()),
            hash_behaviour: text("hash_behaviour"),
        })
    }
}

impl Request {
    /// Whether a `hash_behaviour:` other than the configured one asks to merge
    /// (`Some(true)`) or replace (`Some(false)`).
    fn merges(&self) -> Option<bool> {
        let configured = crate::hash_behaviour::merging();
        let asked = self.hash_behaviour.as_deref()?;
        let merge = asked == "merge";
        (asked != if configured { "merge" } else { "replace" }).then_some(merge)
    }
}

impl DirWalk {
    /// The walk of `dir` the directory options in `args` ask for.
    fn read(dir: String, args: &IndexMap<String, Json>) -> Result<DirWalk, String> {
        let depth = match args.get("depth") {
            None | Some(Json::Null) => 0,
            Some(value) => value
                .as_u64()
                .or_else(|| value.as_str().and_then(|text| text.trim().parse().ok()))
                .and_then(|depth| usize::try_from(depth).ok())
                .ok_or_else(|| format!("depth must be a number, not {value}"))?,
        };
        let files_matching = match args.get("files_matching") {
            None | Some(Json::Null) => None,
            Some(pattern) => Some(search_pattern(&py_str(pattern))?),
        };
        let ignore_files = match args.get("ignore_files") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::String(text)) => text.split_whitespace().map(str::to_string).collect(),
            Some(Json::Array(items)) => items.iter().map(py_str).collect(),
            Some(other) => return Err(format!("{} must be a list", py_str(other))),
        };
        let extensions = match args.get("extensions") {
            None => DEFAULT_EXTENSIONS.iter().map(|e| e.to_string()).collect(),
            Some(Json::String(text)) => text.chars().map(String::from).collect(),
            Some(Json::Array(items)) => items.iter().map(py_str).collect(),
            Some(_) => {
                return Err("Invalid type for \"extensions\" option, it must be a list".into());
            }
        };
        let ignore_unknown = args
            .get("ignore_unknown_extensions")
            .is_some_and(|v| crate::modules::args::parse_bool(v).unwrap_or(false));
        Ok(DirWalk {
            dir,
            depth,
            files_matching,
            ignore_files,
            extensions,
            ignore_unknown,
        })
    }

    /// Where the directory is: under the role (`vars/` added unless written), else
    /// beside the file the task is written in.
    pub(super) fn root(&self, role_path: Option<&Path>, task_dir: &Path) -> PathBuf {
        match role_path {
            Some(role) if self.dir.split('/').next() == Some("vars") => {
                let under_role = role.join(&self.dir);
                if under_role.exists() {
                    under_role
                } else {
                    PathBuf::from(&self.dir)
                }
            }
            Some(role) => role.join("vars").join(&self.dir),
            None => task_dir.join(&self.dir),
        }
    }

    /// The files of `root` to read, in Ansible's order (directories sorted by path,
    /// files by name, within `depth`), filtered by name; a bad `ignore_files` pattern
    /// is an error.
    pub(super) fn files(
        &self,
        root: &Path,
        role_path: Option<&Path>,
    ) -> Result<Vec<PathBuf>, String> {
        let mut dirs = Vec::new();
        walk(root, 1, &mut dirs);
        dirs.sort_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
        let mut chosen = Vec::new();
        for (dir, depth, mut names) in dirs {
            if self.depth != 0 && depth > self.depth {
                continue;
            }
            names.sort();
            for name in names {
                let is_role_main = role_path
                    .is_some_and(|role| role.join(&name) == dir.join("vars").join("main.yml"));
                let matches = self
                    .files_matching
                    .as_ref()
                    .is_none_or(|re| re.is_match(&name).unwrap_or(false));
                if is_role_main || !matches || self.ignored(&name)? {
                    continue;
                }
                if self.ignore_unknown && !self.valid_extension(&name) {
                    continue;
                }
                chosen.push(dir.join(name));
            }
        }
        Ok(chosen)
    }

    /// Whether `name` ends with one of the `ignore_files` patterns.
    fn ignored(&self, name: &str) -> Result<bool, String> {
        for pattern in &self.ignore_files {
            if search_pattern(&format!("{pattern}$"))?
                .is_match(name)
                .unwrap_or(false)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `name`'s extension (Python's `splitext`) is one of `extensions`.
    pub(super) fn valid_extension(&self, name: &str) -> bool {
        let (_, ext) = crate::pypath::splitext(name);
        let ext = ext.strip_prefix('.').unwrap_or(ext);
        self.extensions.iter().any(|allowed| allowed == ext)
    }
}

/// Every directory under `dir` (symlinks followed), with its depth and file names.
fn walk(dir: &Path, depth: usize, out: &mut Vec<(PathBuf, usize, Vec<String>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            subdirs.push(path);
        } else {
            files.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    out.push((dir.to_path_buf(), depth, files));
    for sub in subdirs {
        walk(&sub, depth + 1, out);
    }
}

/// What reading one file gave: its variables, or why it cannot be included.
pub(super) enum FileVars {
    /// The file's variables and whether it was vault-encrypted.
    Vars(Map<String, Json>, bool),
    /// Why it is not included (Ansible's `message`).
    Refused(String),
}

/// Reads one vars file as Ansible's `_load_files`: empty is `{}`, anything but a
/// mapping is refused; a file that does not parse is an error.
pub(super) fn read_file(path: &Path) -> Result<FileVars, String> {
    let root = yaml::load_file(path).map_err(|err| err.to_string())?;
    let encrypted = is_vault_file(path);
    match root.value {
        Value::Null => Ok(FileVars::Vars(Map::new(), encrypted)),
        Value::Map(_) => {
            let vars = parse_vars(&root).map_err(|err| err.to_string())?;
            Ok(FileVars::Vars(vars, encrypted))
        }
        _ => Ok(FileVars::Refused(format!(
            "{} must be stored as a dictionary/hash",
            path.display()
        ))),
    }
}

/// Whether `path` starts with the vault header.
fn is_vault_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 14];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| crate::vault::is_encrypted(&head))
}

/// A Python regular expression searched anywhere in a name.
fn search_pattern(pattern: &str) -> Result<crate::pyre::Pattern, String> {
    let flags = crate::pyre::Flags::default();
    crate::pyre::compile(pattern, flags, crate::pyre::Anchor::Search)
        .map_err(|_| format!("Invalid regular expression: {pattern}"))
}

/// A value as Python's `str()` shows it.
fn py_str(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        other => crate::pyjson::dumps(other, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(value: Json) -> IndexMap<String, Json> {
        serde_json::from_value(value).expect("a map")
    }

    fn walk_of(value: Json) -> DirWalk {
        match Request::read(&args(value)).expect("reads").source {
            Source::Dir(walk) => walk,
            Source::File(file) => unreachable!("a directory, not {file:?}"),
        }
    }

    #[test]
    fn unknown_and_mixed_options_are_refused_with_ansibles_words() {
        let err = Request::read(&args(json!({"file": "a.yml", "bogus": 1}))).unwrap_err();
        assert_eq!(err, "bogus is not a valid option in include_vars");
        let err = Request::read(&args(json!({"file": "a.yml", "depth": 1}))).unwrap_err();
        assert_eq!(
            err,
            "You are mixing file only and dir only arguments, these are incompatible"
        );
    }

    #[test]
    fn the_free_form_is_the_file_and_dir_wins_when_given() {
        let request = Request::read(&args(json!({"_raw_params": "x.yml\n", "name": "n"})));
        let request = request.expect("reads");
        assert!(matches!(request.source, Source::File(Some(ref f)) if f == "x.yml"));
        let none = Request::read(&args(json!({"file": null}))).expect("reads");
        assert!(matches!(none.source, Source::File(None)));
        assert_eq!(request.name.as_deref(), Some("n"));
        assert_eq!(walk_of(json!({"dir": "d"})).dir, "d");
    }

    #[test]
    fn extensions_follow_splitext_and_a_string_is_its_characters() {
        let walk = walk_of(json!({"dir": "d", "extensions": ["", "yml"]}));
        assert!(walk.valid_extension("noext"));
        assert!(walk.valid_extension("a.yml"));
        assert!(!walk.valid_extension("a.json"));
        assert!(
            walk.valid_extension(".hidden"),
            "a leading dot is no extension"
        );
        let walk = walk_of(json!({"dir": "d", "extensions": "ab"}));
        assert_eq!(walk.extensions, ["a", "b"]);
    }

    #[test]
    fn the_directory_is_under_the_roles_vars_or_beside_the_task_file() {
        let walk = walk_of(json!({"dir": "all"}));
        let role = Path::new("/r/roles/x");
        assert_eq!(
            walk.root(Some(role), Path::new("/t")),
            Path::new("/r/roles/x/vars/all")
        );
        assert_eq!(walk.root(None, Path::new("/t")), Path::new("/t/all"));
    }

    #[test]
    fn files_are_walked_sorted_within_depth_and_filtered() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in [
            ("b.yml", "b: 1\n"),
            ("a.yml", "a: 1\n"),
            ("skip.bak", "x\n"),
            ("sub/c.yml", "c: 1\n"),
            ("sub/deeper/d.yml", "d: 1\n"),
        ] {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let walk = walk_of(json!({"dir": "d", "depth": 2, "ignore_files": ["bak"]}));
        let files = walk.files(dir.path(), None).expect("walks");
        let names: Vec<_> = files
            .iter()
            .map(|f| {
                f.strip_prefix(dir.path())
                    .expect("under")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.yml", "b.yml", "sub/c.yml"]);
        let walk = walk_of(json!({"dir": "d", "files_matching": "^c"}));
        assert_eq!(walk.files(dir.path(), None).expect("walks").len(), 1);
    }
}
