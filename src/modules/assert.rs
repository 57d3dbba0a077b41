//! `assert`: fails unless every condition holds.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};

/// Evaluates each expression of `that`; the first false one fails the task.
pub struct Assert;

#[async_trait]
impl Module for Assert {
    fn name(&self) -> &'static str {
        "assert"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("that", Kind::Raw).required(),
            Param::new("fail_msg", Kind::Raw).aliases(&["msg"]),
            Param::new("success_msg", Kind::Raw),
            Param::new("quiet", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let conditions = match args.get("that") {
            Some(Json::Array(items)) => items.clone(),
            Some(other) => vec![other.clone()],
            None => Vec::new(),
        };
        for condition in conditions {
            let text = match &condition {
                Json::String(s) => s.clone(),
                Json::Bool(b) => b.to_string(),
                other => other.to_string(),
            };
            let holds = match ctx.vars.eval(&text) {
                Ok(value) => value.as_ref().is_some_and(crate::template::truthy),
                Err(err) => return Ok(super::failed(err)),
            };
            if !holds {
                let mut outcome = super::failed("Assertion failed");
                if let Some(msg) = args.get("fail_msg") {
                    outcome.insert("msg".into(), msg.clone());
                }
                outcome.insert("assertion".into(), Json::String(text));
                outcome.insert("evaluated_to".into(), Json::Bool(false));
                outcome.insert("changed".into(), Json::Bool(false));
                return Ok(outcome);
            }
        }
        let mut outcome = super::ok(false);
        let msg = args
            .get("success_msg")
            .cloned()
            .unwrap_or_else(|| Json::String("All assertions passed".into()));
        outcome.insert("msg".into(), msg);
        if !args.bool_or("quiet", false) {
            outcome.insert("_ansible_verbose_always".into(), Json::Bool(true));
        }
        Ok(outcome)
    }
}
