//! Built-in modules: Rust code on the control node that drives a target through its
//! [`Connection`]. Each one queries the current state, decides what must change, stops
//! there in check mode, and otherwise applies only what must change.

mod acl;
mod alternatives;
mod apt;
mod apt_key;
mod apt_repository;
mod archive;
pub mod args;
mod argspec;
mod assemble;
mod assert;
mod authorized_key;
mod blockinfile;
mod capabilities;
mod command;
mod contract;
mod copy;
mod cron;
mod crypto;
mod deb822_repository;
mod debconf;
mod debug;
mod docker;
mod download;
mod dpkg_selections;
pub mod dropin;
mod expect;
mod fail;
mod fetch;
mod file;
pub mod fileops;
mod filesystem;
mod find;
mod firewalld;
mod get_url;
mod getent;
mod git;
mod hostname;
mod http;
mod ini_file;
mod install;
mod iptables;
mod known_hosts;
mod lineinfile;
mod locale_gen;
mod make;
mod modprobe;
mod mount;
mod mount_facts;
mod mysql;
mod npm;
mod openpgp;
mod package;
mod package_facts;
mod pam_limits;
mod patch;
pub(crate) mod pathexpand;
mod pause;
mod ping;
mod pip;
mod postgresql;
pub mod prefetch;
mod private_input;
mod protomatter_debug;
pub mod reboot;
mod replace;
mod run;
mod script;
mod service;
mod service_facts;
mod set_stats;
mod setup;
mod siblings;
mod slurp;
mod stat;
mod synchronize;
mod sysctl;
mod systemd_service;
mod sysvinit;
mod tempfile;
mod template;
mod textfile;
mod timezone;
pub mod typed;
mod ufw;
mod unarchive;
mod uri;
mod user;
mod validate_argument_spec;
mod wait_for;

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use crate::connection::{Connection, ConnectionError};
pub use args::{Args, Kind, Param, invocation};
pub(crate) use command::lines;

/// A module's result, as Ansible returns it: `changed`, `failed`, `msg` and the rest.
pub type Outcome = Map<String, Json>;

/// The host a module works on and what it may use there: everything but the modes,
/// which the [`contract`] driver owns.
pub struct Target<'a> {
    /// The way to the target.
    pub conn: &'a dyn Connection,
    /// The inventory name of the host the task runs for (`inventory_hostname`).
    pub host: &'a str,
    /// How many `-v` were given.
    pub verbosity: u8,
    /// The task's variables, for modules that need them (`debug: var=`).
    pub vars: &'a dyn VarLookup,
    /// Destinations a loop asked for ahead of its items ([`prefetch`]).
    pub prefetched: Option<&'a prefetch::Prefetched>,
    /// The arguments of every item of the loop this call is an item of, when the loop
    /// asks its questions ahead: a module may then ask one question that answers every
    /// item (apt: one `dpkg-query` for all their packages), which is asked once.
    pub siblings: Option<&'a [Args]>,
}

/// Everything a module may use while it runs on one host: the [`Target`] and the
/// modes the task runs in.
pub struct ModuleContext<'a> {
    /// The host and what the module may use there.
    pub target: Target<'a>,
    /// `-C` or `check_mode: true`: report, never change.
    pub check_mode: bool,
    /// `-D` or `diff: true`: include before/after in the result.
    pub diff_mode: bool,
}

impl<'a> std::ops::Deref for ModuleContext<'a> {
    type Target = Target<'a>;

    fn deref(&self) -> &Target<'a> {
        &self.target
    }
}

/// Read access to the task's variables, templating and control-node files, for the
/// modules that need them.
pub trait VarLookup: Send + Sync {
    /// Evaluates a bare Jinja expression (`debug: var=x.y`); `None` when undefined.
    fn eval(&self, expression: &str) -> Result<Option<Json>, String>;

    /// Evaluates `debug`'s `var` as Ansible does: undefined values replaced by
    /// `<< error N - message >>` placeholders, given back with their warnings.
    fn eval_replacing_undefined(&self, expression: &str) -> Result<(Json, Vec<String>), String> {
        let (mut values, warnings) = self.eval_all_replacing_undefined(&[expression])?;
        Ok((values.pop().unwrap_or(Json::Null), warnings))
    }

    /// Evaluates each of `expressions` as [`VarLookup::eval_replacing_undefined`]
    /// does, the placeholders numbered across them all.
    fn eval_all_replacing_undefined(
        &self,
        expressions: &[&str],
    ) -> Result<(Vec<Json>, Vec<String>), String> {
        let values = expressions
            .iter()
            .map(|expression| Ok(self.eval(expression)?.unwrap_or(Json::Null)))
            .collect::<Result<_, String>>()?;
        Ok((values, Vec::new()))
    }

    /// Evaluates a conditional as written (`assert`'s `that`), as `when:` is.
    fn condition(&self, conditional: &Json) -> Result<bool, String>;

    /// Finds a control-node file as Ansible does: the role's `kind/` (`files`,
    /// `templates`) and the role itself, then the playbook's `kind/` and the playbook's
    /// directory. Absolute paths are taken as they are.
    fn find_file(&self, kind: &str, name: &str) -> Option<std::path::PathBuf>;

    /// Renders template text with the task's variables plus `extra`.
    fn render(
        &self,
        text: &str,
        extra: Map<String, Json>,
        options: &crate::template::RenderOptions,
    ) -> Result<String, String>;
}

/// Why a module could not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The host could not be reached: reported UNREACHABLE.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The module could not do its work; reported as a failed result with this message.
    #[error("{0}")]
    Failed(String),
    /// The module failed with this whole result (`msg` plus keys such as `rc`).
    #[error("{}", .0.get("msg").and_then(Json::as_str).unwrap_or("module failed"))]
    FailedWith(Outcome),
}

/// A built-in module.
#[async_trait]
pub trait Module: Send + Sync {
    /// The module's short name (`command`, `copy`).
    fn name(&self) -> &'static str;

    /// The parameters the module accepts.
    fn params(&self) -> &'static [Param];

    /// Whether the module also takes the file attribute parameters
    /// ([`fileops::ATTRIBUTE_PARAMS`]: mode, owner, group, SELinux ...).
    fn takes_file_attributes(&self) -> bool {
        false
    }

    /// Every parameter the module accepts: its own, plus the file attributes when it
    /// takes them.
    fn all_params(&self) -> std::borrow::Cow<'static, [Param]> {
        if self.takes_file_attributes() {
            let mut all = self.params().to_vec();
            all.extend_from_slice(fileops::ATTRIBUTE_PARAMS);
            std::borrow::Cow::Owned(all)
        } else {
            std::borrow::Cow::Borrowed(self.params())
        }
    }

    /// How a string given instead of a mapping is read (`command: ls -l`).
    fn free_form(&self) -> FreeForm {
        FreeForm::KeyValue
    }

    /// Whether the module can report what it would do in check mode; those that cannot
    /// are skipped there.
    fn supports_check_mode(&self) -> bool {
        true
    }

    /// Whether its results carry `invocation` (the arguments it ran with), as those
    /// of Ansible's modules do; Ansible's control-node actions (`debug`, `fail`,
    /// `raw` ...) report none.
    fn reports_invocation(&self) -> bool {
        true
    }

    /// Whether the module installs one file at its `dest` argument through
    /// [`install`]: a loop then asks for all its items' destinations in one round trip
    /// ([`prefetch`]).
    fn installs_at_dest(&self) -> bool {
        false
    }

    /// The command the module would run first to learn the target's state, when that
    /// question only reads: a loop asks every item's in one round trip
    /// ([`crate::connection::Answers`]). `None` when it has no such question.
    async fn first_question(
        &self,
        _ctx: &ModuleContext<'_>,
        _args: &Args,
    ) -> Option<crate::connection::Command> {
        None
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
    &contract::Driven(alternatives::Alternatives),
    &contract::Driven(apt::Apt),
    &contract::Driven(apt_key::AptKey),
    &contract::Driven(apt_repository::AptRepository),
    &contract::Driven(archive::Archive),
    &contract::Driven(acl::Acl),
    &contract::Driven(assemble::Assemble),
    &assert::Assert,
    &contract::Driven(authorized_key::AuthorizedKey),
    &contract::Driven(blockinfile::BlockInFile),
    &contract::Driven(capabilities::Capabilities),
    &command::CommandModule,
    &contract::Driven(copy::Copy),
    &contract::Driven(cron::Cron),
    &contract::Driven(debconf::Debconf),
    &command::Shell,
    &command::Raw,
    &contract::Driven(deb822_repository::Deb822Repository),
    &debug::Debug,
    &protomatter_debug::ProtomatterDebug,
    &contract::Driven(dpkg_selections::DpkgSelections),
    &contract::Driven(docker::DockerComposeV2),
    &contract::Driven(docker::DockerContainer),
    &docker::DockerContainerExec,
    &contract::Driven(docker::DockerImage),
    &contract::Driven(docker::DockerImageInfo),
    &contract::Driven(docker::DockerImagePull),
    &docker::DockerImagePush,
    &contract::Driven(docker::DockerImageTag),
    &contract::Driven(docker::DockerLogin),
    &contract::Driven(docker::DockerNetwork),
    &docker::DockerPrune,
    &contract::Driven(docker::DockerVolume),
    &expect::Expect,
    &fail::Fail,
    &contract::Driven(crypto::csr::OpensslCsr),
    &contract::Driven(crypto::privatekey::OpensslPrivatekey),
    &fetch::Fetch,
    &contract::Driven(file::File),
    &contract::Driven(filesystem::Filesystem),
    &contract::Driven(find::Find),
    &firewalld::Firewalld,
    &contract::Driven(git::Git),
    &contract::Driven(get_url::GetUrl),
    &contract::Driven(getent::Getent),
    &contract::Driven(hostname::Hostname),
    &contract::Driven(iptables::Iptables),
    &contract::Driven(mount::Mount),
    &contract::Driven(ini_file::IniFile),
    &contract::Driven(known_hosts::KnownHosts),
    &contract::Driven(lineinfile::LineInFile),
    &contract::Driven(locale_gen::LocaleGen),
    &mount_facts::MountFacts,
    &contract::Driven(mysql::MysqlDb),
    &contract::Driven(mysql::MysqlUser),
    &contract::Driven(npm::Npm),
    &package::Package,
    &package_facts::PackageFacts,
    &contract::Driven(patch::Patch),
    &pause::Pause,
    &ping::Ping,
    &contract::Driven(make::Make),
    &contract::Driven(modprobe::Modprobe),
    &contract::Driven(pam_limits::PamLimits),
    &contract::Driven(pip::Pip),
    &contract::Driven(postgresql::PostgresqlDb),
    &contract::Driven(postgresql::PostgresqlPrivs),
    &contract::Driven(postgresql::PostgresqlUser),
    &contract::Driven(replace::Replace),
    &script::Script,
    &contract::Driven(service::Service),
    &service_facts::ServiceFacts,
    &set_stats::SetStats,
    &setup::Setup,
    &contract::Driven(slurp::Slurp),
    &contract::Driven(stat::Stat),
    &synchronize::Synchronize,
    &contract::Driven(sysctl::Sysctl),
    &contract::Alias("systemd", contract::Driven(systemd_service::SystemdService)),
    &contract::Driven(systemd_service::SystemdService),
    &contract::Driven(sysvinit::Sysvinit),
    &tempfile::Tempfile,
    &contract::Driven(template::TemplateModule),
    &ufw::Ufw,
    &contract::Driven(timezone::Timezone),
    &unarchive::Unarchive,
    &uri::Uri,
    &contract::Driven(user::User),
    &contract::Driven(user::Group),
    &contract::Driven(crypto::certificate::X509Certificate),
    &validate_argument_spec::ValidateArgumentSpec,
    &wait_for::WaitFor,
];

/// The module called `name`, given by short name or FQCN (`ansible.builtin.copy`).
pub fn lookup(name: &str) -> Option<&'static dyn Module> {
    let short = crate::fqcn::short_name(name);
    MODULES.iter().copied().find(|m| m.name() == short)
}

/// The `setup` module, which gathers facts for plays.
pub fn setup_module() -> &'static dyn Module {
    &setup::Setup
}

/// Every built-in module name, for suggestions.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES.iter().map(|m| m.name())
}

/// A failed outcome with `msg`; like every failure Ansible reports, it changed nothing.
pub fn failed(msg: impl Into<String>) -> Outcome {
    let mut outcome = Outcome::new();
    outcome.insert("changed".into(), Json::Bool(false));
    outcome.insert("failed".into(), Json::Bool(true));
    outcome.insert("msg".into(), Json::String(msg.into()));
    outcome
}

/// What `/bin/sh -c script` prints on standard output here: for unit tests that run a
/// module's question against fake commands defined in the script itself.
#[cfg(test)]
pub fn sh_stdout(script: &str) -> String {
    let out = std::process::Command::new("sh")
        .args(["-c", script])
        .output()
        .expect("sh runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A module failure from a message, for `map_err` on helpers returning `String`.
pub fn failed_error(msg: String) -> ModuleError {
    ModuleError::Failed(msg)
}

/// A successful outcome with its `changed` flag.
pub fn ok(changed: bool) -> Outcome {
    let mut outcome = Outcome::new();
    outcome.insert("changed".into(), Json::Bool(changed));
    outcome
}
