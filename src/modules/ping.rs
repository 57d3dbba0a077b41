//! `ping`: proves the host can be reached and run a command.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

/// Runs a trivial command on the target and answers `pong` (or `data`).
pub struct Ping;

#[async_trait]
impl Module for Ping {
    fn name(&self) -> &'static str {
        "ping"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[Param::new("data", Kind::Str)];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let data = args.str("data").unwrap_or("pong");
        if data == "crash" {
            return Ok(super::failed("boom"));
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
        outcome.insert("ping".into(), Json::String(data.to_string()));
        Ok(outcome)
    }
}
