//! `ping`: proves the host can be reached and run a command.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

module_args! {
    /// `ping`'s arguments.
    pub struct PingArgs {
        /// What to answer; `crash` makes the module fail, as Ansible's does.
        data: String => .default_str("pong"),
    }
}

/// Runs a trivial command on the target and answers `pong` (or `data`). It changes
/// nothing and has nothing to decide, so it implements [`Module`] directly.
pub struct Ping;

#[async_trait]
impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn params(&self) -> &'static [Param] {
        PingArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = PingArgs::from_args(args).map_err(ModuleError::Failed)?;
        if args.data == "crash" {
            return Ok(super::failed("Task failed: Module failed: boom"));
        }
        let out = ctx.conn.exec(&Command::new("echo pong")).await?;
        if out.rc != 0 || out.stdout_text().trim() != "pong" {
            return Ok(super::failed(format!(
                "the target's /bin/sh did not answer: rc={} {}",
                out.rc,
                out.stderr_text().trim()
            )));
        }
        let mut outcome = super::ok(false);
        outcome.insert("ping".into(), Json::String(args.data));
        Ok(outcome)
    }
}
