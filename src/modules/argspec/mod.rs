//! Argument specs given as data: Ansible's `ArgumentSpecValidator`, for
//! `validate_argument_spec` and roles' `meta/argument_specs.yml`. bosun's own modules
//! declare their parameters statically ([`crate::modules::typed`]); a spec written in a
//! role is only known when the task runs, with types, choices, nested `options` and
//! rules of its own, so it is validated here, step by step in Ansible's order, and
//! every error comes out as Ansible 2.19 writes it.

mod rules;
mod types;

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::args::json_type;
use rules::{additional, mutually_exclusive, py_eq};
pub use types::py_class;
use types::{SpecType, boolean_word, class_name, python_str};

/// The error messages from validating `params` against `spec` (a mapping of option
/// names to their specs), in the order Ansible reports them; empty when valid.
pub fn validate(spec: &Map<String, Json>, mut params: Map<String, Json>) -> Vec<String> {
    let mut run = Validation::default();
    let aliases = match handle_aliases(spec, &mut params) {
        Ok(aliases) => Some(aliases),
        Err(message) => {
            run.errors.push(message);
            None
        }
    };
    if let Err(message) = no_log_shapes(spec, &params) {
        run.errors.push(message);
    }
    run.unsupported(spec, &params, aliases.as_ref(), &[]);
    set_defaults(spec, &mut params, false);
    if let Err(message) = required(spec, &params, &[]) {
        run.errors.push(message);
    }
    run.types(spec, &mut params, &[]);
    run.values(spec, &mut params, &[]);
    set_defaults(spec, &mut params, true);
    run.sub_specs(spec, &mut params, &mut Vec::new());
    run.finish()
}

/// Errors found so far, and the options nobody declared with what was supported
/// where each was found.
#[derive(Default)]
struct Validation {
    errors: Vec<String>,
    /// Each unsupported option's dotted path, with the supported names and aliases.
    unsupported: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

impl Validation {
    /// Records the options of `params` that neither `spec` nor an alias names. An
    /// alias error found again here stands instead, as `_get_unsupported_parameters`
    /// raises it.
    fn unsupported(
        &mut self,
        spec: &Map<String, Json>,
        params: &Map<String, Json>,
        aliases: Option<&BTreeMap<String, String>>,
        context: &[String],
    ) {
        let legal = |name: &String| {
            spec.contains_key(name) || aliases.is_some_and(|a| a.contains_key(name))
        };
        if params.keys().all(legal) {
            return;
        }
        let Some(aliases) = aliases else {
            if context.is_empty()
                && let Err(message) = handle_aliases(spec, &mut params.clone())
            {
                self.errors.push(message);
            }
            return;
        };
        let supported: Vec<String> = spec
            .keys()
            .filter(|name| !aliases.contains_key(*name))
            .cloned()
            .collect();
        let alias_names: Vec<String> = aliases.keys().cloned().collect();
        for name in params.keys().filter(|name| !legal(name)) {
            let mut path = context.to_vec();
            path.push(name.clone());
            self.unsupported
                .insert(path.join("."), (supported.clone(), alias_names.clone()));
        }
    }

    /// `_validate_argument_types`: converts each given option to its type (and its
    /// elements), or records why not.
    fn types(&mut self, spec: &Map<String, Json>, params: &mut Map<String, Json>, ctx: &[String]) {
        for (name, entry) in spec {
            let entry = as_entry(entry);
            let Some(value) = params.get(name).cloned() else {
                continue;
            };
            if value.is_null() && !truthy_key(entry, "required") && is_null_key(entry, "default") {
                continue;
            }
            let type_name = entry.get("type").map(python_str);
            let wanted = SpecType::named(type_name.as_deref());
            match wanted.check(&value) {
                Ok(converted) => {
                    let elements = entry.get("elements").filter(|e| truthy(e));
                    let converted = match elements {
                        Some(elements) => self.elements(wanted, elements, name, &converted, ctx),
                        None => converted,
                    };
                    params.insert(name.clone(), converted);
                }
                Err(reason) => {
                    let mut message = format!("argument '{name}' is of type {}", json_type(&value));
                    if !ctx.is_empty() {
                        message.push_str(&format!(" found in '{}'.", ctx.join(" -> ")));
                    }
                    message.push_str(&format!(
                        " and we were unable to convert to {}: {reason}",
                        wanted.name()
                    ));
                    self.errors.push(message);
                }
            }
        }
    }

    /// `_validate_elements`: converts each element, keeping those that convert.
    fn elements(
        &mut self,
        wanted: SpecType,
        elements: &Json,
        name: &str,
        value: &Json,
        ctx: &[String],
    ) -> Json {
        let items: Vec<Json> = match value {
            Json::Array(items) => items.clone(),
            other => {
                let mut message = format!(
                    "Invalid type {} for option '{}'",
                    wanted.name(),
                    python_str(other)
                );
                if !ctx.is_empty() {
                    message.push_str(&format!(" found in '{}'.", ctx.join(" -> ")));
                }
                message.push_str(", elements value check is supported only with 'list' type");
                self.errors.push(message);
                match other {
                    Json::String(text) => text.chars().map(|c| Json::String(c.into())).collect(),
                    Json::Object(map) => map.keys().map(|k| Json::String(k.clone())).collect(),
                    _ => Vec::new(),
                }
            }
        };
        let element_type_name = python_str(elements);
        let element_type = SpecType::named(Some(&element_type_name));
        let mut kept = Vec::new();
        for item in items {
            match element_type.check(&item) {
                Ok(converted) => kept.push(converted),
                Err(reason) => {
                    let mut message = format!("Elements value for option '{name}'");
                    if !ctx.is_empty() {
                        message.push_str(&format!(" found in '{}'", ctx.join(" -> ")));
                    }
                    message.push_str(&format!(
                        " is of type {} and we were unable to convert to {}: {reason}",
                        json_type(&item),
                        element_type.name()
                    ));
                    self.errors.push(message);
                }
            }
        }
        Json::Array(kept)
    }

    /// `_validate_argument_values`: each given option among its `choices` (a list
    /// option: each of its items).
    fn values(&mut self, spec: &Map<String, Json>, params: &mut Map<String, Json>, ctx: &[String]) {
        let located = |message: String| match ctx.is_empty() {
            true => message,
            false => format!("{message} found in {}", ctx.join(" -> ")),
        };
        for (name, entry) in spec {
            let Some(choices) = as_entry(entry).get("choices").filter(|c| !c.is_null()) else {
                continue;
            };
            let Json::Array(choices) = choices else {
                self.errors.push(located(format!(
                    "internal error: choices for argument {name} are not iterable: {}",
                    python_str(choices)
                )));
                continue;
            };
            let Some(value) = params.get(name).cloned() else {
                continue;
            };
            let listed = |v: &Json| choices.iter().any(|c| py_eq(c, v));
            let choices_text = || {
                choices
                    .iter()
                    .map(python_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if let Json::Array(items) = &value {
                let unmatched: Vec<String> = items
                    .iter()
                    .filter(|i| !listed(i))
                    .map(python_str)
                    .collect();
                if !unmatched.is_empty() {
                    self.errors.push(located(format!(
                        "value of {name} must be one or more of: {}. Got no match for: {}",
                        choices_text(),
                        unmatched.join(", ")
                    )));
                }
                continue;
            }
            if listed(&value) {
                continue;
            }
            let value = match value.as_str() {
                Some(word @ ("True" | "False")) => {
                    let meaning = word == "True";
                    let mut same = choices.iter().filter(|c| boolean_word(c) == Some(meaning));
                    match (same.next(), same.next()) {
                        (Some(choice), None) => choice.clone(),
                        _ => value,
                    }
                }
                _ => value,
            };
            params.insert(name.clone(), value.clone());
            if !listed(&value) {
                self.errors.push(located(format!(
                    "value of {name} must be one of: {}, got: {}",
                    choices_text(),
                    python_str(&value)
                )));
            }
        }
    }

    /// `_validate_sub_spec`: the `options` of each `dict` option (or each mapping of a
    /// `list` with `elements: dict`), checked as the top level is, recursively.
    fn sub_specs(
        &mut self,
        spec: &Map<String, Json>,
        params: &mut Map<String, Json>,
        ctx: &mut Vec<String>,
    ) {
        for (name, entry) in spec {
            let entry = as_entry(entry);
            let wanted = entry.get("type").and_then(Json::as_str);
            let nested = wanted == Some("dict")
                || (wanted == Some("list")
                    && entry.get("elements").and_then(Json::as_str) == Some("dict"));
            if !nested {
                continue;
            }
            let sub_spec = entry.get("options").filter(|o| !o.is_null());
            if truthy_key(entry, "apply_defaults") {
                if sub_spec.is_none() {
                    continue;
                }
                if params.get(name).is_none_or(Json::is_null) {
                    params.insert(name.clone(), Json::Object(Map::new()));
                }
            } else if sub_spec.is_none() || params.get(name).is_none_or(Json::is_null) {
                continue;
            }
            let sub_spec = sub_spec
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default();
            ctx.push(name.clone());
            let elements = match params.get(name) {
                Some(Json::Array(items)) => items.clone(),
                Some(other) => vec![other.clone()],
                None => Vec::new(),
            };
            for element in elements {
                let Json::Object(mut sub) = element else {
                    self.errors.push(format!(
                        "value of '{name}' must be of type dict or list of dicts"
                    ));
                    continue;
                };
                self.sub_spec(entry, &sub_spec, &mut sub, ctx);
            }
            ctx.pop();
        }
    }

    /// One mapping of a nested option, checked against its `options`.
    fn sub_spec(
        &mut self,
        entry: &Map<String, Json>,
        spec: &Map<String, Json>,
        params: &mut Map<String, Json>,
        ctx: &mut Vec<String>,
    ) {
        let aliases = match handle_aliases(spec, params) {
            Ok(aliases) => Some(aliases),
            Err(message) => {
                self.errors.push(message);
                None
            }
        };
        if let Err(message) = no_log_shapes(spec, params) {
            self.errors.push(message);
        }
        self.unsupported(spec, params, aliases.as_ref(), ctx);
        if let Err(message) = mutually_exclusive(entry.get("mutually_exclusive"), params, ctx) {
            self.errors.push(message);
        }
        set_defaults(spec, params, false);
        if let Err(message) = required(spec, params, ctx) {
            self.errors.push(message);
        }
        self.types(spec, params, ctx);
        self.values(spec, params, ctx);
        self.errors.extend(additional(Some(entry), params, ctx));
        set_defaults(spec, params, true);
        self.sub_specs(spec, params, ctx);
    }

    /// The errors, the unsupported options last in one message.
    fn finish(mut self) -> Vec<String> {
        // Ansible lists what was supported where the last unsupported option of a
        // Python set was found, an order that changes between runs: here, the last
        // one in sorted order.
        if let Some((_, (supported, aliases))) = self.unsupported.iter().next_back() {
            let names: Vec<&str> = self.unsupported.keys().map(String::as_str).collect();
            let mut supported = supported.clone();
            supported.sort();
            let mut supported_text = supported.join(", ");
            if !aliases.is_empty() {
                supported_text.push_str(&format!(" ({})", aliases.join(", ")));
            }
            self.errors.push(format!(
                "{}. Supported parameters include: {supported_text}.",
                names.join(", ")
            ));
        }
        self.errors
    }
}

/// `_handle_aliases`: each alias given copies its value to the option's own name; the
/// aliases found, alias to option. A spec that is both required and defaulted, or
/// whose aliases are not a list, is an internal error.
fn handle_aliases(
    spec: &Map<String, Json>,
    params: &mut Map<String, Json>,
) -> Result<BTreeMap<String, String>, String> {
    let mut found = BTreeMap::new();
    for (name, entry) in spec {
        let entry = as_entry(entry);
        if !is_null_key(entry, "default") && truthy_key(entry, "required") {
            return Err(format!(
                "internal error: required and default are mutually exclusive for {name}"
            ));
        }
        let aliases = match entry.get("aliases") {
            None | Some(Json::Null) => continue,
            Some(Json::Array(aliases)) => aliases,
            Some(_) => return Err("internal error: aliases must be a list or tuple".into()),
        };
        for alias in aliases.iter().map(python_str) {
            if let Some(value) = params.get(&alias).cloned() {
                params.insert(name.clone(), value);
            }
            found.insert(alias, name.clone());
        }
    }
    Ok(found)
}

/// What `_list_no_log_values` refuses while it walks nested options: an element of a
/// `dict` (or `elements: dict`) option that is not a mapping, or text that cannot be
/// read as one.
fn no_log_shapes(spec: &Map<String, Json>, params: &Map<String, Json>) -> Result<(), String> {
    for (name, entry) in spec {
        let entry = as_entry(entry);
        let Some(sub_spec) = entry.get("options").filter(|o| !o.is_null()) else {
            continue;
        };
        let wanted = entry.get("type").and_then(Json::as_str);
        let nested = wanted == Some("dict")
            || (wanted == Some("list")
                && entry.get("elements").and_then(Json::as_str) == Some("dict"));
        let Some(value) = params.get(name).filter(|v| !v.is_null()) else {
            continue;
        };
        if !nested {
            continue;
        }
        let elements = match value {
            Json::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for element in elements {
            let element = match element {
                Json::String(_) => SpecType::Dict.check(&element)?,
                other => other,
            };
            let Json::Object(sub) = &element else {
                return Err(format!(
                    "Value '{}' in the sub parameter field '{name}' must be a {}, not '{}'",
                    python_str(&element),
                    wanted.unwrap_or_default(),
                    class_name(&element)
                ));
            };
            no_log_shapes(as_entry(sub_spec), sub)?;
        }
    }
    Ok(())
}

/// `_set_defaults`: options not given take their non-null default; with `all`, the
/// others take null.
fn set_defaults(spec: &Map<String, Json>, params: &mut Map<String, Json>, all: bool) {
    for (name, entry) in spec {
        let default = as_entry(entry)
            .get("default")
            .cloned()
            .unwrap_or(Json::Null);
        if !params.contains_key(name) && (all || !default.is_null()) {
            params.insert(name.clone(), default);
        }
    }
}

/// `check_required_arguments`: the required options not given, sorted.
fn required(
    spec: &Map<String, Json>,
    params: &Map<String, Json>,
    ctx: &[String],
) -> Result<(), String> {
    let mut missing: Vec<&str> = spec
        .iter()
        .filter(|(name, entry)| {
            truthy_key(as_entry(entry), "required") && !params.contains_key(*name)
        })
        .map(|(name, _)| name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    missing.sort_unstable();
    let mut message = format!("missing required arguments: {}", missing.join(", "));
    if !ctx.is_empty() {
        message.push_str(&format!(" found in {}", ctx.join(" -> ")));
    }
    Err(message)
}

/// An option's spec as a mapping (an empty one when it is not).
fn as_entry(entry: &Json) -> &Map<String, Json> {
    static EMPTY: std::sync::OnceLock<Map<String, Json>> = std::sync::OnceLock::new();
    entry
        .as_object()
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// Python's truth of a value.
fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(map) => !map.is_empty(),
    }
}

/// Whether `entry[key]` is present and true in Python's sense.
fn truthy_key(entry: &Map<String, Json>, key: &str) -> bool {
    entry.get(key).is_some_and(truthy)
}

/// Whether `entry[key]` is absent or null (Python's `.get(key) is None`).
fn is_null_key(entry: &Map<String, Json>, key: &str) -> bool {
    entry.get(key).is_none_or(Json::is_null)
}

#[cfg(test)]
mod tests;
