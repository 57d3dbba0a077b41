//! The checks between an argument spec's options (`mutually_exclusive`,
//! `required_together`, `required_one_of`, `required_if`, `required_by`), as
//! `ansible.module_utils.common.validation` words them. Unlike the static
//! [`crate::modules::typed::Rules`] of bosun's own modules, these come from data (a
//! role's `meta/argument_specs.yml`), so they are read from JSON, malformed parts
//! ignored, and a nested option's failure names where it was found.

use serde_json::{Map, Value as Json};

use super::types::python_str;

/// The words of a term: a list's items, or (as Python iterates a string) a string's
/// characters.
fn words(term: &Json) -> Vec<String> {
    match term {
        Json::Array(items) => items.iter().map(python_str).collect(),
        Json::String(text) => text.chars().map(String::from).collect(),
        other => vec![python_str(other)],
    }
}

/// `count_terms`: how many of the names in `term` (one name when it is a string) are
/// keys of `params`, each counted once.
fn count_terms(term: &Json, params: &Map<String, Json>) -> usize {
    let mut names: Vec<String> = match term {
        Json::Array(items) => items.iter().map(python_str).collect(),
        other => vec![python_str(other)],
    };
    names.sort();
    names.dedup();
    names
        .iter()
        .filter(|name| params.contains_key(*name))
        .count()
}

/// A message with where a nested option was found (`... found in a -> b`).
fn located(message: String, context: &[String]) -> String {
    if context.is_empty() {
        message
    } else {
        format!("{message} found in {}", context.join(" -> "))
    }
}

/// The list of groups a rule holds, or nothing when it is absent or malformed.
fn groups(rule: Option<&Json>) -> &[Json] {
    rule.and_then(Json::as_array).map_or(&[], Vec::as_slice)
}

/// `check_mutually_exclusive`: every group of which more than one is given.
pub fn mutually_exclusive(
    rule: Option<&Json>,
    params: &Map<String, Json>,
    context: &[String],
) -> Result<(), String> {
    let clashing: Vec<String> = groups(rule)
        .iter()
        .filter(|group| count_terms(group, params) > 1)
        .map(|group| words(group).join("|"))
        .collect();
    if clashing.is_empty() {
        return Ok(());
    }
    Err(located(
        format!("parameters are mutually exclusive: {}", clashing.join(", ")),
        context,
    ))
}

/// `required_together`, `required_one_of`, `required_if` and `required_by` of a spec
/// entry, in Ansible's order; each gives at most one message.
pub fn additional(
    entry: Option<&Map<String, Json>>,
    params: &Map<String, Json>,
    context: &[String],
) -> Vec<String> {
    let rule = |name: &str| entry.and_then(|e| e.get(name));
    [
        required_together(rule("required_together"), params, context),
        required_one_of(rule("required_one_of"), params, context),
        required_if(rule("required_if"), params, context),
        required_by(rule("required_by"), params, context),
    ]
    .into_iter()
    .filter_map(Result::err)
    .collect()
}

/// `check_required_together`: a group partly given.
fn required_together(
    rule: Option<&Json>,
    params: &Map<String, Json>,
    context: &[String],
) -> Result<(), String> {
    for group in groups(rule) {
        let counts: Vec<usize> = words(group)
            .into_iter()
            .map(|name| usize::from(params.contains_key(&name)))
            .collect();
        if counts.contains(&1) && counts.contains(&0) {
            return Err(located(
                format!(
                    "parameters are required together: {}",
                    words(group).join(", ")
                ),
                context,
            ));
        }
    }
    Ok(())
}

/// `check_required_one_of`: a group none of which is given.
fn required_one_of(
    rule: Option<&Json>,
    params: &Map<String, Json>,
    context: &[String],
) -> Result<(), String> {
    match groups(rule)
        .iter()
        .find(|group| count_terms(group, params) == 0)
    {
        Some(group) => Err(located(
            format!(
                "one of the following is required: {}",
                words(group).join(", ")
            ),
            context,
        )),
        None => Ok(()),
    }
}

/// `check_required_if`: `[name, value, [needed...], any?]`; when `name` is `value`,
/// all of the needed (or, with `any`, one of them) are given.
fn required_if(
    rule: Option<&Json>,
    params: &Map<String, Json>,
    context: &[String],
) -> Result<(), String> {
    for requirement in groups(rule) {
        let Some(parts) = requirement.as_array() else {
            continue;
        };
        let (Some(key), Some(value), Some(needed)) = (parts.first(), parts.get(1), parts.get(2))
        else {
            continue;
        };
        let any = parts.get(3).is_some_and(super::truthy);
        let key = python_str(key);
        if !params.get(&key).is_some_and(|given| py_eq(given, value)) {
            continue;
        }
        let needed = words(needed);
        let missing: Vec<&String> = needed
            .iter()
            .filter(|name| !params.contains_key(*name))
            .collect();
        let enough = if any { needed.len() } else { 0 };
        if !missing.is_empty() && missing.len() >= enough {
            let missing: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            return Err(located(
                format!(
                    "{key} is {} but {} of the following are missing: {}",
                    python_str(value),
                    if any { "any" } else { "all" },
                    missing.join(", ")
                ),
                context,
            ));
        }
    }
    Ok(())
}

/// `check_required_by`: `{name: [needed...]}`; when `name` is given (and not null),
/// each of the needed is given and not null.
fn required_by(
    rule: Option<&Json>,
    params: &Map<String, Json>,
    context: &[String],
) -> Result<(), String> {
    let Some(requirements) = rule.and_then(Json::as_object) else {
        return Ok(());
    };
    let given = |name: &str| params.get(name).is_some_and(|v| !v.is_null());
    for (key, needed) in requirements {
        if !given(key) {
            continue;
        }
        let needed: Vec<String> = match needed {
            Json::Array(items) => items.iter().map(python_str).collect(),
            other => vec![python_str(other)],
        };
        let missing: Vec<&str> = needed
            .iter()
            .map(String::as_str)
            .filter(|name| !given(name))
            .collect();
        if !missing.is_empty() {
            return Err(located(
                format!(
                    "missing parameter(s) required by '{key}': {}",
                    missing.join(", ")
                ),
                context,
            ));
        }
    }
    Ok(())
}

/// Python's `==` between two values: `1 == 1.0 == True`.
pub fn py_eq(a: &Json, b: &Json) -> bool {
    let number = |v: &Json| match v {
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        Json::Number(n) => n.as_f64(),
        _ => None,
    };
    match (a, b) {
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == b,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Json) -> Map<String, Json> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn mutually_exclusive_lists_every_clashing_group_with_its_context() {
        let params = map(json!({"a": 1, "b": 2, "c": 3, "d": 4}));
        let rule = json!([["a", "b"], ["c", "d"], ["e", "a"]]);
        assert_eq!(
            mutually_exclusive(Some(&rule), &params, &["outer".into(), "inner".into()]),
            Err("parameters are mutually exclusive: a|b, c|d found in outer -> inner".into())
        );
        assert_eq!(mutually_exclusive(None, &params, &[]), Ok(()));
    }

    #[test]
    fn the_additional_checks_come_in_ansibles_order() {
        let params = map(json!({"state": "present", "a": 1, "x": null}));
        let entry = map(json!({
            "required_together": [["a", "b"]],
            "required_one_of": [["c", "d"]],
            "required_if": [["state", "present", ["e", "f"], true]],
            "required_by": {"a": ["x"]},
        }));
        assert_eq!(
            additional(Some(&entry), &params, &[]),
            vec![
                "parameters are required together: a, b".to_string(),
                "one of the following is required: c, d".to_string(),
                "state is present but any of the following are missing: e, f".to_string(),
                "missing parameter(s) required by 'a': x".to_string(),
            ]
        );
    }

    #[test]
    fn required_if_compares_as_python_and_needs_all_by_default() {
        let params = map(json!({"n": 1.0, "e": 1}));
        let rule = json!([["n", 1, ["e", "f"]]]);
        assert_eq!(
            required_if(Some(&rule), &params, &[]),
            Err("n is 1 but all of the following are missing: f".into())
        );
        let any = json!([["n", 1, ["e", "f"], true]]);
        assert_eq!(required_if(Some(&any), &params, &[]), Ok(()));
    }
}
