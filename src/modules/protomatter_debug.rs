//! `ansible._protomatter.debug`: evaluates expressions as written, never failing on
//! an undefined value (each is replaced by a numbered placeholder and warned about),
//! and returns every result.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

module_args! {
    /// `ansible._protomatter.debug`'s arguments.
    pub struct ProtomatterDebugArgs {
        /// The expressions, as written: a list of strings.
        expression: Json,
    }
}

/// The action; it runs on the control node.
pub struct ProtomatterDebug;

#[async_trait]
impl Module for ProtomatterDebug {
    fn name(&self) -> &'static str {
        "ansible._protomatter.debug"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        ProtomatterDebugArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = ProtomatterDebugArgs::from_args(args).map_err(ModuleError::Failed)?;
        let expressions = expressions(&args.expression).map_err(ModuleError::Failed)?;
        let (results, warnings) = ctx
            .vars
            .eval_all_replacing_undefined(&expressions)
            .map_err(ModuleError::Failed)?;
        let mut outcome = super::ok(false);
        outcome.insert("expression_result".into(), Json::from(results));
        outcome.insert("_ansible_verbose_always".into(), Json::Bool(true));
        if !warnings.is_empty() {
            outcome.insert("warnings".into(), Json::from(warnings));
        }
        Ok(outcome)
    }
}

/// `expression`: a required list of strings, none converted from another type.
fn expressions(value: &Json) -> Result<Vec<&str>, String> {
    if value.is_null() {
        return Err("missing required arguments: expression".into());
    }
    let Json::Array(items) = value else {
        return Err(format!(
            "argument 'expression' is of type {} and we were unable to convert to list",
            crate::pyjson::type_name(value)
        ));
    };
    items
        .iter()
        .map(|item| {
            item.as_str().ok_or_else(|| {
                format!(
                    "Elements value for option 'expression' is of type {} and we were unable to convert to str",
                    crate::pyjson::type_name(item)
                )
            })
        })
        .collect()
}
