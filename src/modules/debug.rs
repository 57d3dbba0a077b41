//! `debug`: prints a message or a variable.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};

/// Shows `msg` or the value of `var`, only at or above `verbosity`.
pub struct Debug;

#[async_trait]
impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("msg", Kind::Raw),
            Param::new("var", Kind::Str),
            Param::new("verbosity", Kind::Int),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let wanted = args.int("verbosity").unwrap_or(0);
        if i64::from(ctx.verbosity) < wanted {
            let mut outcome = super::ok(false);
            outcome.insert("skipped".into(), Json::Bool(true));
            outcome.insert(
                "skipped_reason".into(),
                Json::String("Verbosity threshold not met.".into()),
            );
            return Ok(outcome);
        }
        if args.get("msg").is_some() && args.get("var").is_some() {
            return Ok(super::failed("parameters are mutually exclusive: msg|var"));
        }
        let mut outcome = super::ok(false);
        if let Some(var) = args.str("var") {
            let value = match ctx.vars.eval(var) {
                Ok(Some(value)) => value,
                Ok(None) => Json::String("VARIABLE IS NOT DEFINED!".into()),
                Err(err) => return Ok(super::failed(err)),
            };
            outcome.insert(var.to_string(), value);
        } else {
            let msg = args
                .get("msg")
                .cloned()
                .unwrap_or_else(|| Json::String("Hello world!".into()));
            outcome.insert("msg".into(), msg);
        }
        outcome.insert("_ansible_verbose_always".into(), Json::Bool(true));
        Ok(outcome)
    }
}
