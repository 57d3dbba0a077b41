//! `set_stats`: custom statistics for the end of the run.

use async_trait::async_trait;
use serde_json::{Map, Value as Json};

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};

module_args! {
    /// `set_stats`'s arguments.
    pub struct SetStatsArgs {
        /// The statistics: a mapping of variable names to values.
        data: Json,
        /// Whether the statistics are kept per host instead of for the whole run.
        per_host: Json,
        /// Whether new values add to those set before instead of replacing them.
        aggregate: Json,
    }
}

/// Returns the statistics as `ansible_stats`, as Ansible's action does; a control-node
/// action with no state on the target, so it implements [`Module`] directly.
pub struct SetStats;

#[async_trait]
impl Module for SetStats {
    fn name(&self) -> &'static str {
        "set_stats"
    }

    fn reports_invocation(&self) -> bool {
        false
    }

    fn params(&self) -> &'static [Param] {
        SetStatsArgs::PARAMS
    }

    async fn run(&self, _ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = SetStatsArgs::from_args(args).map_err(ModuleError::Failed)?;
        let data = stats_data(args.data).map_err(ModuleError::Failed)?;
        let mut outcome = super::ok(false);
        outcome.insert(
            "ansible_stats".into(),
            serde_json::json!({
                "data": data,
                "per_host": loose_bool(&args.per_host, false),
                "aggregate": loose_bool(&args.aggregate, true),
            }),
        );
        Ok(outcome)
    }
}

/// A boolean option as Ansible's `boolean(strict=False)` reads it: what is not a
/// true word is false; absent, `default`.
fn loose_bool(value: &Json, default: bool) -> bool {
    match value {
        Json::Null => default,
        other => super::args::parse_bool(other).unwrap_or(false),
    }
}

/// The `data` argument as statistics: a mapping whose keys are variable names.
fn stats_data(data: Json) -> Result<Map<String, Json>, String> {
    let data = match data {
        Json::Null => Map::new(),
        Json::Object(map) => map,
        _ => return Err("The 'data' option needs to be a dictionary/hash".into()),
    };
    if let Some(bad) = data.keys().find(|k| !crate::template::is_variable_name(k)) {
        return Err(format!(
            "Invalid variable name '{bad}'. Variable names must be strings starting with a letter or underscore character, and contain only letters, numbers and underscores."
        ));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::{loose_bool, stats_data};
    use serde_json::json;

    #[test]
    fn data_must_be_a_mapping_of_variable_names() {
        assert_eq!(stats_data(json!({"my_int": 42})).map(|d| d.len()), Ok(1));
        assert_eq!(stats_data(json!(null)).map(|d| d.len()), Ok(0));
        assert_eq!(
            stats_data(json!([1])),
            Err("The 'data' option needs to be a dictionary/hash".into())
        );
        assert!(stats_data(json!({"1bad": 1})).is_err());
    }

    #[test]
    fn options_are_loose_booleans() {
        assert!(!loose_bool(&json!("x"), true));
        assert!(loose_bool(&json!("yes"), false));
        assert!(loose_bool(&json!(null), true));
    }
}
