//! Built-in modules: Rust code on the control node that drives a target through its
//! [`Connection`]. Each one queries the current state, decides what must change, stops
//! there in check mode, and otherwise applies only what must change.

pub mod args;
mod assert;
mod blockinfile;
mod command;
mod debug;
mod fail;
pub mod fileops;
mod lineinfile;
mod pause;
mod ping;
mod replace;
mod setup;
mod textfile;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use crate::connection::{Connection, ConnectionError};
pub use args::{Args, Kind, Param};

/// A module's result, as Ansible returns it: `changed`, `failed`, `msg` and the rest.
pub type Outcome = Map<String, Json>;

/// Everything a module may use while it runs on one host.
pub struct ModuleContext<'a> {
    /// The way to the target.
    pub conn: &'a dyn Connection,
    /// `-C` or `check_mode: true`: report, never change.
    pub check_mode: bool,
    /// `-D` or `diff: true`: include before/after in the result.
    pub diff_mode: bool,
    /// Environment variables from `environment:`.
    pub env: Vec<(String, String)>,
    /// How many `-v` were given.
    pub verbosity: u8,
    /// The task's variables, for modules that need them (`debug: var=`).
    pub vars: &'a dyn VarLookup,
}

/// Read access to the task's variables and templating, for the few modules that need it.
pub trait VarLookup: Send + Sync {
    /// Evaluates a bare Jinja expression (`debug: var=x.y`); `None` when undefined.
    fn eval(&self, expression: &str) -> Result<Option<Json>, String>;
}

/// Why a module could not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The host could not be reached: reported UNREACHABLE.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
}

/// A built-in module.
#[async_trait]
pub trait Module: Send + Sync {
    /// The module's short name (`command`, `copy`).
    fn name(&self) -> &'static str;

    /// The parameters the module accepts.
    fn params(&self) -> &'static [Param];

    /// How a string given instead of a mapping is read (`command: ls -l`).
    fn free_form(&self) -> FreeForm {
        FreeForm::KeyValue
    }

    /// Whether the module can report what it would do in check mode; those that cannot
    /// are skipped there.
    fn supports_check_mode(&self) -> bool {
        true
    }

    /// Runs the module with rendered, validated arguments.
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError>;
}

/// How a module reads a string argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeForm {
    /// `k=v k2=v2` only.
    KeyValue,
    /// A command line in `_raw_params`, plus the module's own `k=v` options.
    Raw,
}

static MODULES: &[&dyn Module] = &[
    &assert::Assert,
    &blockinfile::BlockInFile,
    &command::CommandModule,
    &command::Shell,
    &command::Raw,
    &debug::Debug,
    &fail::Fail,
    &lineinfile::LineInFile,
    &pause::Pause,
    &ping::Ping,
    &replace::Replace,
    &setup::Setup,
];

/// The module called `name`, given by short name or FQCN (`ansible.builtin.copy`).
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = short_name(name);
    MODULES.iter().copied().find(|m| m.name() == short)
}

/// The short name of a module or action: FQCN prefixes removed.
pub fn short_name(name: &str) -> &str {
    for prefix in [
        "ansible.builtin.",
        "ansible.legacy.",
        "ansible.posix.",
        "community.general.",
        "community.docker.",
    ] {
        if let Some(short) = name.strip_prefix(prefix) {
            return short;
        }
    }
    name
}

/// Every built-in module name, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|m| m.name())
}

/// A failed outcome with `msg`.
pub fn failed(msg: impl Into<String>) -> Outcome {
    let mut outcome = Outcome::new();
    outcome.insert("failed".into(), Json::Bool(true));
    outcome.insert("msg".into(), Json::String(msg.into()));
    outcome
}

/// A successful outcome with its `changed` flag.
pub fn ok(changed: bool) -> Outcome {
    let mut outcome = Outcome::new();
    outcome.insert("changed".into(), Json::Bool(changed));
    outcome
}
