//! `debug`: prints a message or a variable.

use async_trait::async_trait;
use serde_json::Value as Json;

use super::typed::{Rules, TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

module_args! {
    /// `debug`'s arguments.
    pub struct DebugArgs {
        /// The message to show.
        msg: Json => .default_str("Hello world!"),
        /// A variable (or expression) whose value to show instead: a string, never
        /// converted from another type.
        var: Option<Json>,
        /// The `-v` count from which the message shows.
        verbosity: i64 => .default_int(0),
    }
    rules: Rules { mutually_exclusive: &[&["msg", "var"]], ..Rules::NONE };
}

/// Shows `msg` or the value of `var`, only at or above `verbosity`. An action on the
/// control node, not a state on the target: it implements [`Module`] directly.
pub struct Debug;

#[async_trait]
impl Module for Debug {
    fn name(&self) -> &'static str {
        "debug"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        DebugArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        // `msg: null` shows null: Ansible's action asks whether `msg` is in its arguments.
        let null_msg = args.given_null("msg");
        let args = DebugArgs::from_args(args).map_err(ModuleError::Failed)?;
        if i64::from(ctx.verbosity) < args.verbosity {
            let mut outcome = super::ok(false);
            outcome.insert("skipped".into(), Json::Bool(true));
            outcome.insert(
                "skipped_reason".into(),
                Json::String("Verbosity threshold not met.".into()),
            );
            return Ok(outcome);
        }
        let mut outcome = super::ok(false);
        if let Some(var) = &args.var {
            let var = match expression(var) {
                Ok(var) => var,
                Err(message) => return Ok(super::failed(message)),
            };
            let (value, mut warnings) = match ctx.vars.eval_replacing_undefined(var) {
                Ok(replaced) => replaced,
                Err(err) => return Ok(super::failed(err)),
            };
            let value = placeholder_for_omit(value, &mut warnings);
            outcome.insert(var.to_string(), value);
            if !warnings.is_empty() {
                outcome.insert("warnings".into(), Json::from(warnings));
            }
        } else {
            let msg = if null_msg { Json::Null } else { args.msg };
            outcome.insert("msg".into(), msg);
        }
        outcome.insert("_ansible_verbose_always".into(), Json::Bool(true));
        Ok(outcome)
    }
}

/// `var`'s value, with `omit` (which cannot leave out a value here) shown as
/// Ansible's placeholder and warned about.
fn placeholder_for_omit(value: Json, warnings: &mut Vec<String>) -> Json {
    if value.as_str() != Some(crate::template::OMIT) {
        return value;
    }
    warnings.push(
        "The result of the `var` expression could not be omitted; a placeholder was used instead."
            .into(),
    );
    Json::String("<<Omit>>".into())
}

/// `var` as an expression: a string; an unsafe one is refused, and no other type is
/// converted (Ansible's `_check_type_str_no_conversion`).
fn expression(var: &Json) -> Result<&str, String> {
    if crate::template::trust::unsafe_text(var).is_some() {
        return Err(format!(
            "Task failed: Error while resolving `var` expression: {}",
            crate::template::trust::UNTRUSTED
        ));
    }
    var.as_str().ok_or_else(|| {
        format!(
            "argument 'var' is of type {} and we were unable to convert to _check_type_str_no_conversion: '{}' is not a string and conversion is not allowed",
            crate::pyjson::type_name(var),
            crate::template::pyfmt::py_repr(&minijinja::Value::from_serialize(var))
        )
    })
}
