//! `fail`: fails the task with a message.

use async_trait::async_trait;

use serde_json::Value as Json;

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

module_args! {
    /// `fail`'s arguments.
    pub struct FailArgs {
        /// The failure's message.
        msg: Json => .default_str("Failed as requested from task"),
    }
}

/// Always fails, with `msg`. An action on the control node, not a state on the
/// target: it implements [`Module`] directly.
pub struct Fail;

#[async_trait]
impl Module for Fail {
    fn name(&self) -> &'static str {
        "fail"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        FailArgs::PARAMS
    }

    async fn run(&self, _ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = FailArgs::from_args(args).map_err(ModuleError::Failed)?;
        let mut outcome = super::failed("");
        outcome.insert("msg".into(), args.msg);
        outcome.insert("changed".into(), false.into());
        Ok(outcome)
    }
}
