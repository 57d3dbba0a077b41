//! Lookups (`lookup('env', 'HOME')`, `query('file', ...)`, `with_<lookup>` loops): read
//! data on the control node while templating, as Ansible's lookup plugins do.
//!
//! This file is the frame every lookup shares, as Ansible's `_invoke_lookup` is: the
//! names Ansible knows, `wantlist=` and `errors=`, and the shape of the result. Each
//! family of lookups has its own file.

mod files;
mod first_found;
mod lists;
mod password;
mod search;

pub use search::find_needle;
mod sequence;
mod tables;
mod variables;

pub use search::search_path;

use std::sync::Arc;

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use serde_json::Value as Json;

use super::engine::{TemplateError, to_json};
use super::pyfmt::py_str;
use super::vars::Vars;

/// The lookup plugins of ansible.builtin, which `lookup()` and `with_<name>` accept.
pub const ANSIBLE_LOOKUPS: &[&str] = &[
    "config",
    "csvfile",
    "dict",
    "env",
    "file",
    "fileglob",
    "first_found",
    "indexed_items",
    "ini",
    "inventory_hostnames",
    "items",
    "lines",
    "list",
    "nested",
    "password",
    "pipe",
    "random_choice",
    "sequence",
    "subelements",
    "template",
    "together",
    "unvault",
    "url",
    "varnames",
    "vars",
];

/// Lookups of community.general that content commonly loops with (`with_flattened`).
const COMMUNITY_LOOKUPS: &[&str] = &["flattened"];

/// The lookup `name` (short or fully qualified) stands for, if Ansible knows it.
pub fn lookup_name(name: &str) -> Option<&'static str> {
    let short = crate::fqcn::short_name(name);
    let short = short.strip_prefix("community.general.").unwrap_or(short);
    ANSIBLE_LOOKUPS
        .iter()
        .chain(COMMUNITY_LOOKUPS)
        .find(|known| **known == short)
        .copied()
}

/// Adds `lookup`, `query` and `q` to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |s: &State, n: String, t: Rest<Value>, k: Kwargs| call(s, &n, t.0, k, false),
    );
    env.add_function(
        "query",
        |s: &State, n: String, t: Rest<Value>, k: Kwargs| call(s, &n, t.0, k, true),
    );
    env.add_function("q", |s: &State, n: String, t: Rest<Value>, k: Kwargs| {
        call(s, &n, t.0, k, true)
    });
    env.add_function("undef", undef);
}

/// `undef(hint)`: an undefined value whose use fails with `hint`.
fn undef(hint: Option<String>) -> Value {
    if let Some(hint) = hint {
        super::engine::set_undefined_hint(hint);
    }
    Value::UNDEFINED
}

/// Runs lookup `name` for a `with_<name>` loop of a task whose action is `action`, as
/// Ansible's task executor does: `lookup(name, *terms, wantlist=True)`, the terms being
/// the loop's templated value (a list as is, anything else as the only term).
pub fn loop_items(
    name: &str,
    terms: &Json,
    vars: &Arc<Vars>,
    action: &str,
) -> Result<Vec<Json>, TemplateError> {
    let terms: Vec<Value> = match terms {
        Json::Array(items) => items.iter().map(Value::from_serialize).collect(),
        other => vec![Value::from_serialize(other)],
    };
    let ctx = Ctx {
        vars: Some(vars.clone()),
        with_action: Some(action.to_string()),
    };
    match run(&ctx, name, &terms, &Options::default()) {
        Ok(values) => Ok(values.iter().map(to_json).collect()),
        Err(Failure::Undefined) => Err(TemplateError::new(format!(
            "an undefined variable is used in the terms of with_{name}"
        ))),
        Err(Failure::NotFound) => Err(TemplateError::new(not_found(name))),
        Err(Failure::Failed(message)) => Err(TemplateError::new(failed(name, &message))),
    }
}

/// What a lookup can see: the task's variables and, when it runs as a `with_<name>`
/// loop, the task's action.
pub(super) struct Ctx {
    vars: Option<Arc<Vars>>,
    with_action: Option<String>,
}

impl Ctx {
    fn from_state(state: &State) -> Ctx {
        Ctx {
            vars: state
                .lookup("vars")
                .and_then(|v| v.downcast_object::<Vars>()),
            with_action: None,
        }
    }

    /// The task's variables.
    pub(super) fn vars(&self) -> Result<&Arc<Vars>, Failure> {
        self.vars
            .as_ref()
            .ok_or_else(|| Failure::from("No variables available to search".to_string()))
    }

    /// The rendered value of variable `name`.
    pub(super) fn var(&self, name: &str) -> Option<Json> {
        self.vars.as_ref()?.resolved(name).ok().flatten()
    }

    /// Ansible's `loader.get_basedir()`: the playbook's directory.
    pub(super) fn basedir(&self) -> std::path::PathBuf {
        match self.var("playbook_dir") {
            Some(Json::String(dir)) => dir.into(),
            _ => std::env::current_dir().unwrap_or_default(),
        }
    }
}

/// Why a lookup gave no result.
#[derive(Debug)]
pub(super) enum Failure {
    /// The plugin failed with this message (what `errors=` decides about).
    Failed(String),
    /// A term was undefined.
    Undefined,
    /// No plugin has this name.
    NotFound,
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::Failed(message)
    }
}

/// A lookup's values, or why there are none.
pub(super) type Outcome = Result<Vec<Value>, Failure>;

/// Shorthand for a failure with `message`.
pub(super) fn fail<T>(message: impl Into<String>) -> Result<T, Failure> {
    Err(Failure::Failed(message.into()))
}

/// The keyword options of one call, besides `wantlist` and `errors`.
#[derive(Default)]
pub(super) struct Options(IndexMap<String, Value>);

impl Options {
    /// The option as given; `None` when absent or none.
    pub(super) fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_none())
    }

    /// The option as a string.
    pub(super) fn string(&self, key: &str) -> Option<String> {
        self.get(key).map(py_str)
    }

    /// The option as Ansible's boolean type converts it.
    pub(super) fn flag(&self, key: &str, default: bool) -> Result<bool, Failure> {
        match self.get(key) {
            None => Ok(default),
            Some(value) => boolean(value)
                .ok_or_else(|| Failure::from(format!("Invalid value for '{key}': {value}"))),
        }
    }

    /// The names given.
    pub(super) fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

/// Ansible's loose boolean: `yes`/`no`, `on`/`off`, `1`/`0`, `true`/`false`, `y`/`n`.
pub(super) fn boolean(value: &Value) -> Option<bool> {
    match value.kind() {
        ValueKind::Bool => Some(value.is_true()),
        ValueKind::Number => value.as_i64().and_then(|n| match n {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }),
        _ => match value.as_str()?.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" | "on" | "1" | "true" | "t" => Some(true),
            "n" | "no" | "off" | "0" | "false" | "f" | "" => Some(false),
            _ => None,
        },
    }
}

/// The terms as strings; a list term gives its items (lookups taking file names).
pub(super) fn strings(terms: &[Value]) -> Vec<String> {
    terms
        .iter()
        .flat_map(|t| match t.kind() {
            ValueKind::Seq => t
                .try_iter()
                .map(|items| items.map(|i| py_str(&i)).collect())
                .unwrap_or_default(),
            _ => vec![py_str(t)],
        })
        .collect()
}

/// `lookup()` and `query()`: the frame of Ansible's `_invoke_lookup`.
fn call(
    state: &State,
    name: &str,
    terms: Vec<Value>,
    kwargs: Kwargs,
    query: bool,
) -> Result<Value, Error> {
    let mut options = IndexMap::new();
    for key in kwargs.args() {
        options.insert(key.to_string(), kwargs.get::<Value>(key)?);
    }
    let wantlist = query
        || options
            .shift_remove("wantlist")
            .is_some_and(|v| v.is_true());
    let errors = options
        .shift_remove("errors")
        .map_or_else(|| "strict".to_string(), |v| py_str(&v));
    let ctx = Ctx::from_state(state);
    let empty = || {
        if wantlist {
            Value::from(Vec::<Value>::new())
        } else {
            Value::from(())
        }
    };
    match run(&ctx, name, &terms, &Options(options)) {
        Ok(values) => Ok(shape(values, wantlist)),
        Err(Failure::Undefined) => Err(Error::from(ErrorKind::UndefinedError)),
        Err(Failure::NotFound) => Err(Error::new(ErrorKind::InvalidOperation, not_found(name))),
        Err(Failure::Failed(message)) => match errors.as_str() {
            "warn" => {
                eprintln!(
                    "[WARNING]: An error occurred while running the lookup plugin '{name}': {message}"
                );
                Ok(empty())
            }
            "ignore" => Ok(empty()),
            _ => Err(Error::new(
                ErrorKind::InvalidOperation,
                failed(name, &message),
            )),
        },
    }
}

/// Ansible's result shape: with `wantlist` the list; otherwise one value alone, several
/// strings joined with commas, anything else the list.
fn shape(values: Vec<Value>, wantlist: bool) -> Value {
    if wantlist || values.is_empty() {
        return Value::from(values);
    }
    if values.len() == 1 {
        return values.into_iter().next().unwrap_or_default();
    }
    if values.iter().all(|v| v.kind() == ValueKind::String) {
        let texts: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        return Value::from(texts.join(","));
    }
    Value::from(values)
}

fn not_found(name: &str) -> String {
    format!("The lookup plugin '{name}' was not found.")
}

fn failed(name: &str, message: &str) -> String {
    format!("The lookup plugin '{name}' failed: {message}")
}

/// Runs lookup `name` over its terms.
fn run(ctx: &Ctx, name: &str, terms: &[Value], options: &Options) -> Outcome {
    let Some(name) = lookup_name(name) else {
        return Err(Failure::NotFound);
    };
    // Only first_found run as a loop drops undefined terms; other lookups fail on one
    // (env's default may be undefined: it is returned when the variable is unset).
    let with_first_found = name == "first_found" && ctx.with_action.is_some();
    if !with_first_found && terms.iter().any(Value::is_undefined) {
        return Err(Failure::Undefined);
    }
    if name != "env" && options.0.values().any(Value::is_undefined) {
        return Err(Failure::Undefined);
    }
    match name {
        "env" => variables::env(terms, options),
        "vars" => variables::vars(ctx, terms, options),
        "varnames" => variables::varnames(ctx, terms),
        "config" => variables::config(ctx, terms, options),
        "inventory_hostnames" => variables::inventory_hostnames(ctx, terms),
        "file" | "unvault" => files::file(ctx, name, terms, options),
        "template" => files::template(ctx, terms, options),
        "fileglob" => files::fileglob(ctx, terms),
        "pipe" | "lines" => files::pipe(ctx, name, terms),
        "first_found" => first_found::run(ctx, terms, options),
        "items" => Ok(lists::flatten_once(terms)),
        "flattened" => lists::flattened(terms),
        "list" => Ok(terms.to_vec()),
        "indexed_items" => Ok(lists::indexed_items(terms)),
        "nested" => lists::nested(terms),
        "together" => lists::together(terms),
        "subelements" => lists::subelements(terms),
        "dict" => lists::dict(terms),
        "random_choice" => Ok(lists::random_choice(terms)),
        "sequence" => sequence::run(terms, options),
        "ini" => tables::ini(ctx, terms, options),
        "csvfile" => tables::csvfile(ctx, terms, options),
        "password" => password::run(ctx, terms, options),
        "url" => fail(
            "bosun does not fetch URLs while templating; download the file with get_url or uri first",
        ),
        other => fail(format!("lookup plugin '{other}' is not supported by bosun")),
    }
}

#[cfg(test)]
pub(super) mod test_support {
    use serde_json::{Value as Json, json};

    use crate::template::{Templar, Vars};

    /// Renders `text` with `extra` variables and `playbook_dir` set to `dir`.
    pub(crate) fn render_in(
        text: &str,
        dir: &std::path::Path,
        extra: Json,
    ) -> Result<String, String> {
        let Json::Object(mut map) =
            json!({"playbook_dir": dir.display().to_string(), "who": "bosun"})
        else {
            unreachable!("a mapping")
        };
        if let Json::Object(more) = extra {
            map.extend(more);
        }
        let vars = Vars::new(Templar::new(), map);
        vars.templar()
            .render_str(text, &vars)
            .map_err(|e| e.message)
    }

    /// Evaluates `{{ expr }}` to JSON with `extra` variables.
    pub(crate) fn eval_in(expr: &str, dir: &std::path::Path, extra: Json) -> Result<Json, String> {
        let Json::Object(mut map) = json!({"playbook_dir": dir.display().to_string()}) else {
            unreachable!("a mapping")
        };
        if let Json::Object(more) = extra {
            map.extend(more);
        }
        let vars = Vars::new(Templar::new(), map);
        vars.templar().eval(expr, &vars).map_err(|e| e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::{eval_in, render_in};
    use serde_json::json;

    #[test]
    fn lookups_read_control_node_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("files")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
        std::fs::write(dir.path().join("files/motd"), "hello\n").expect("write");
        std::fs::write(dir.path().join("templates/t.j2"), "hi {{ who }}").expect("write");
        let p = dir.path();
        let render = |t: &str| render_in(t, p, json!({}));
        // lookup('file') strips the trailing newline, as Ansible's rstrip=True default
        assert_eq!(render("{{ lookup('file', 'motd') }}"), Ok("hello".into()));
        assert_eq!(
            render("{{ lookup('template', 't.j2') }}"),
            Ok("hi bosun".into())
        );
        assert_eq!(
            render("{{ lookup('pipe', 'echo piped') }}"),
            Ok("piped".into())
        );
        assert_eq!(
            render("{{ lookup('env', 'BOSUN_SURELY_UNSET', default='d') }}"),
            Ok("d".into())
        );
        assert_eq!(
            render("{{ query('items', [1, 2]) | length }}"),
            Ok("2".into())
        );
        let err = render("{{ lookup('file', 'nope') }}").expect_err("missing file");
        assert!(err.contains("The lookup plugin 'file' failed"), "{err}");
        let err = render("{{ lookup('redis', 'k') }}").expect_err("unknown");
        assert!(
            err.contains("The lookup plugin 'redis' was not found."),
            "{err}"
        );
        let err = render("{{ lookup('url', 'https://example.com') }}").expect_err("offline");
        assert!(err.contains("does not fetch URLs"), "{err}");
    }

    #[test]
    fn results_take_ansibles_shape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let eval = |e: &str| eval_in(e, dir.path(), json!({}));
        assert_eq!(eval("lookup('items', [])"), Ok(json!([])));
        assert_eq!(eval("lookup('items', [1, 2])"), Ok(json!([1, 2])));
        assert_eq!(eval("lookup('items', ['a', 'b'])"), Ok(json!("a,b")));
        assert_eq!(eval("lookup('items', ['a'])"), Ok(json!("a")));
        assert_eq!(
            eval("lookup('items', 'a', ['b', ['c']])"),
            Ok(json!(["a", "b", ["c"]]))
        );
        assert_eq!(
            eval("lookup('list', 'a', ['b', ['c']])"),
            Ok(json!(["a", ["b", ["c"]]]))
        );
        assert_eq!(
            eval("lookup('items', ['a'], wantlist=True)"),
            Ok(json!(["a"]))
        );
    }

    #[test]
    fn errors_option_decides_what_a_failure_gives() {
        let dir = tempfile::tempdir().expect("tempdir");
        let eval = |e: &str| eval_in(e, dir.path(), json!({}));
        assert_eq!(
            eval("lookup('file', 'nope', errors='ignore')"),
            Ok(json!(null))
        );
        assert_eq!(
            eval("lookup('file', 'nope', errors='warn', wantlist=True)"),
            Ok(json!([]))
        );
        assert!(eval("lookup('file', 'nope', errors='strict')").is_err());
        // an unknown plugin is not a failure of the plugin: errors= does not hide it
        assert!(eval("lookup('nosuch', 'x', errors='ignore')").is_err());
    }

    #[test]
    fn undefined_terms_name_the_variable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = render_in("{{ lookup('file', missing) }}", dir.path(), json!({}))
            .expect_err("undefined");
        assert_eq!(err, "'missing' is undefined");
    }

    #[test]
    fn loop_items_run_the_lookup_with_wantlist() {
        let dir = tempfile::tempdir().expect("tempdir");
        let Json::Object(map) = json!({"playbook_dir": dir.path().display().to_string()}) else {
            unreachable!()
        };
        let vars = crate::template::Vars::new(crate::template::Templar::new(), map);
        let items =
            super::loop_items("sequence", &json!("start=1 end=3"), &vars, "debug").expect("runs");
        assert_eq!(items, vec![json!("1"), json!("2"), json!("3")]);
        let items =
            super::loop_items("together", &json!([[1, 2], ["a"]]), &vars, "debug").expect("runs");
        assert_eq!(items, vec![json!([1, "a"]), json!([2, null])]);
        let err =
            super::loop_items("first_found", &json!(["nope"]), &vars, "debug").expect_err("fails");
        assert!(err.message.contains("No file was found"), "{}", err.message);
    }

    use serde_json::Value as Json;
}
