//! `validate_argument_spec`: checks arguments against a spec given as data, as roles'
//! `meta/argument_specs.yml` are checked on entry.

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param, argspec};

module_args! {
    /// `validate_argument_spec`'s arguments.
    pub struct ValidateArgumentSpecArgs {
        /// The options and their specs (a role entry point's `options`).
        argument_spec: Json,
        /// The values to check; variables named like an option are checked too, these
        /// over them.
        provided_arguments: Json,
        /// What is validated (a role's name, entry point and path), returned as it is.
        validate_args_context: Json,
    }
}

/// Validates the task's variables named in `argument_spec`, overridden by
/// `provided_arguments`, with Ansible's `ArgumentSpecValidator` ([`argspec`]). An
/// action on the control node, not a state on the target: it implements [`Module`]
/// directly and never touches the connection.
pub struct ValidateArgumentSpec;

#[async_trait]
impl Module for ValidateArgumentSpec {
    fn name(&self) -> &'static str {
        "validate_argument_spec"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        ValidateArgumentSpecArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = ValidateArgumentSpecArgs::from_args(args).map_err(ModuleError::Failed)?;
        let spec = match &args.argument_spec {
            Json::Object(spec) => spec,
            Json::Null => {
                return Err(ModuleError::Failed(
                    "\"argument_spec\" arg is required in args".into(),
                ));
            }
            other => {
                return Err(ModuleError::Failed(format!(
                    "Incorrect type for argument_spec, expected dict and got {}",
                    argspec::py_class(other)
                )));
            }
        };
        let provided = match &args.provided_arguments {
            Json::Object(provided) => provided.clone(),
            Json::Null => Map::new(),
            other => {
                return Err(ModuleError::Failed(format!(
                    "Incorrect type for provided_arguments, expected dict and got {}",
                    argspec::py_class(other)
                )));
            }
        };
        let mut params = Map::new();
        for name in spec.keys() {
            if !crate::template::is_variable_name(name) {
                continue;
            }
            if let Some(value) = ctx.vars.eval(name).map_err(ModuleError::Failed)? {
                params.insert(name.clone(), value);
            }
        }
        params.extend(provided);
        let context = match args.validate_args_context {
            Json::Null => Json::Object(Map::new()),
            other => other,
        };
        Ok(outcome(spec, argspec::validate(spec, params), context))
    }
}

/// The result Ansible's action returns: the errors, one per line after `Validation of
/// arguments failed:`, with the spec itself; or that the validation passed.
fn outcome(spec: &Map<String, Json>, errors: Vec<String>, context: Json) -> Outcome {
    let mut outcome = super::ok(false);
    outcome.insert("validate_args_context".into(), context);
    if errors.is_empty() {
        outcome.insert("msg".into(), "The arg spec validation passed".into());
        return outcome;
    }
    outcome.insert("failed".into(), Json::Bool(true));
    outcome.insert(
        "msg".into(),
        format!("Validation of arguments failed:\n{}", errors.join("\n")).into(),
    );
    outcome.insert("argument_spec_data".into(), Json::Object(spec.clone()));
    outcome.insert("argument_errors".into(), errors.into());
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_failure_carries_the_errors_the_spec_and_the_context() {
        let spec = json!({"a": {"required": true}});
        let spec = spec.as_object().cloned().unwrap_or_default();
        let result = outcome(
            &spec,
            vec!["missing required arguments: a".into()],
            json!({"type": "role"}),
        );
        assert_eq!(
            Json::Object(result),
            json!({
                "changed": false,
                "failed": true,
                "msg": "Validation of arguments failed:\nmissing required arguments: a",
                "argument_spec_data": {"a": {"required": true}},
                "argument_errors": ["missing required arguments: a"],
                "validate_args_context": {"type": "role"},
            })
        );
        let passed = outcome(&spec, Vec::new(), json!({}));
        assert_eq!(
            passed.get("msg"),
            Some(&json!("The arg spec validation passed"))
        );
        assert_eq!(passed.get("failed"), None);
    }
}
