//! `fail`: fails the task with a message.

use async_trait::async_trait;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};

/// Always fails, with `msg`.
pub struct Fail;

#[async_trait]
impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[Param::new("msg", Kind::Raw)];
        PARAMS
    }

    async fn run(&self, _ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let mut outcome = super::failed("Failed as requested from task");
        if let Some(msg) = args.get("msg") {
            outcome.insert("msg".into(), msg.clone());
        }
        outcome.insert("changed".into(), false.into());
        Ok(outcome)
    }
}
