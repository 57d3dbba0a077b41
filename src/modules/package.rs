//! `package`: the generic package module. It finds the target's package manager without
//! facts (`command -v` in one round trip) and hands the task to that manager's module:
//! `apt` today; dnf, yum, apk, zypper and pacman are recognised and refused clearly.

use std::sync::LazyLock;

use async_trait::async_trait;

use super::apt::{APT_PARAMS, run_apt};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
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

/// `name`, `state` and `use`, plus the backend's own options, which Ansible passes on.
static PARAMS: LazyLock<Vec<Param>> = LazyLock::new(|| {
    let mut params = vec![Param::new("use", Kind::Str)];
    params.extend_from_slice(APT_PARAMS);
    params
});

/// `package`: installs, upgrades and removes packages with the target's manager.
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
        let manager = match args.str("use").filter(|u| *u != "auto") {
            Some(chosen) => chosen.to_string(),
            None => detect(ctx).await?,
        };
        match manager.as_str() {
            "apt" => run_apt(ctx, &args.without("use")).await,
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
