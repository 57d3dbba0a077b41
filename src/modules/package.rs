//! `package`: the generic package module. It finds the target's package manager without
//! facts (`command -v` in one round trip) and hands the task to that manager's module:
//! `apt` today; dnf, yum, apk, zypper and pacman are recognised and refused clearly.

use std::sync::LazyLock;

use async_trait::async_trait;

use super::apt::{Apt, AptArgs};
use super::contract::Driven;
use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

/// The managers looked for, in this order, with the module that drives each.
const MANAGERS: &[(&str, &str)] = &[
    ("apt-get", "apt"),
    ("dnf", "dnf"),
    ("yum", "yum"),
    ("apk", "apk"),
    ("zypper", "zypper"),
    ("pacman", "pacman"),
];

module_args! {
    /// `package`'s own argument; the others are the backend's, which Ansible passes on.
    pub struct PackageArgs {
        /// The backend module, or `auto` to detect it.
        r#use: String => .default_str("auto"),
    }
}

/// `use`, plus the backend's own parameters.
static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    let mut params = PackageArgs::PARAMS.to_vec();
    params.extend_from_slice(AptArgs::PARAMS);
    params
});

/// `package`: installs, upgrades and removes packages with the target's manager. It
/// only dispatches, so it stays a [`Module`]: detecting the manager is a round trip
/// of its own before the backend's query, and the backend (a driven
/// [`super::contract::StateModule`]) owns check and diff mode.
pub struct Package;

#[async_trait]
impl Module for Package {
    fn name(&self) -> &'static str {
        "package"
    }

    fn params(&self) -> &'static [Param] {
        &PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let own = PackageArgs::from_args(args).map_err(ModuleError::Failed)?;
        let manager = match own.r#use.as_str() {
            "auto" => detect(ctx).await?,
            chosen => chosen.to_string(),
        };
        match manager.as_str() {
            "apt" => Driven(Apt).run(ctx, &args.without("use")).await,
            "unknown" => Err(ModuleError::Failed(format!(
                "Could not detect which package manager to use. Try gathering facts or \
                 setting the \"use\" option. (looked for {})",
                MANAGERS
                    .iter()
                    .map(|(cmd, _)| *cmd)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
            other => Err(ModuleError::Failed(format!(
                "package: the target uses {other}, which bosun does not support yet \
                 (only apt so far)"
            ))),
        }
    }
}

/// The module for the first package manager found on the target, or `unknown`.
async fn detect(ctx: &ModuleContext<'_>) -> Result<String, ModuleError> {
    let pairs: Vec<String> = MANAGERS
        .iter()
        .map(|(cmd, module)| format!("'{cmd} {module}'"))
        .collect();
    let script = format!(
        "found=unknown; for pair in {}; do set -- $pair; \
         if command -v \"$1\" >/dev/null 2>&1; then found=$2; break; fi; done; echo \"$found\"",
        pairs.join(" ")
    );
    let out = ctx.conn.exec(&Command::new(script)).await?;
    Ok(out.stdout_text().trim().to_string())
}
