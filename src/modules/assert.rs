//! `assert`: fails unless every condition holds.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

module_args! {
    /// `assert`'s arguments.
    pub struct AssertArgs {
        /// The conditions: one expression or a list of them.
        that: Json => .required(),
        /// The message when a condition is false.
        fail_msg: Option<Json> => .aliases(&["msg"]),
        /// The message when every condition holds.
        success_msg: Json => .default_str("All assertions passed"),
        /// Whether the success is shown without its details.
        quiet: bool => .default_bool(false),
    }
}

/// Evaluates each expression of `that`; the first false one fails the task. An action
/// on the control node, not a state on the target: it implements [`Module`] directly.
pub struct Assert;

#[async_trait]
impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        AssertArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = AssertArgs::from_args(args).map_err(ModuleError::Failed)?;
        let conditions = match &args.that {
            Json::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for condition in conditions {
            let holds = match ctx.vars.condition(&condition) {
                Ok(holds) => holds,
                Err(err) => return Ok(super::failed(err)),
            };
            if !holds {
                let mut outcome = super::failed("Assertion failed");
                if let Some(msg) = &args.fail_msg {
                    outcome.insert("msg".into(), msg.clone());
                }
                outcome.insert("assertion".into(), condition);
                outcome.insert("evaluated_to".into(), Json::Bool(false));
                outcome.insert("changed".into(), Json::Bool(false));
                return Ok(outcome);
            }
        }
        let mut outcome = super::ok(false);
        outcome.insert("msg".into(), args.success_msg);
        if !args.quiet {
            outcome.insert("_ansible_verbose_always".into(), Json::Bool(true));
        }
        Ok(outcome)
    }
}
