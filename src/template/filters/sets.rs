//! Set theory filters on lists: `unique`, `union`, `intersect`,
//! `difference` and `symmetric_difference`.  Results keep first-seen order.

use minijinja::value::ValueKind;
use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, State, Value};

use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::iter_items;

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("unique", unique);
    env.add_filter("union", union);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("symmetric_difference", symmetric_difference);
}

/// Looks up a dotted attribute path (`a.b.0`) inside a value.
fn attribute_path(item: &Value, path: &str) -> Value {
    path.split('.').fold(item.clone(), |current, part| {
        let key = part
            .parse::<i64>()
            .map_or_else(|_| Value::from(part), Value::from);
        current.get_item(&key).unwrap_or_default()
    })
}

/// Jinja's `unique`: first occurrences, comparing strings case-insensitively
/// unless `case_sensitive`, optionally on an attribute of each item.
fn dedupe(items: Vec<Value>, case_sensitive: bool, attribute: Option<&str>) -> Vec<Value> {
    let mut seen: Vec<Value> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let key = attribute.map_or_else(|| item.clone(), |a| attribute_path(&item, a));
        let key = match key.as_str() {
            Some(s) if !case_sensitive => Value::from(s.to_lowercase()),
            _ => key,
        };
        if !seen.contains(&key) {
            seen.push(key);
            out.push(item);
        }
    }
    out
}

/// `unique(case_sensitive=None, attribute=None)`: Jinja's `unique` (case-insensitive
/// unless told otherwise), which fails on unhashable items (mappings, lists); then
/// Ansible falls back to comparing whole items, unless `case_sensitive=False` or an
/// `attribute` was given, which its fallback cannot honour.
fn unique(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::bind("unique", &["case_sensitive", "attribute"], args, kwargs)?;
    ensure_defined(state, value, "unique")?;
    let attribute = p
        .get("attribute")
        .filter(|a| a.is_true())
        .map(|a| a.to_string());
    let case_sensitive = p.get("case_sensitive").filter(|c| !c.is_none());
    let items = iter_items(value, "unique")?;
    let keys_hashable = items.iter().all(|item| {
        let key = attribute
            .as_deref()
            .map_or_else(|| item.clone(), |a| attribute_path(item, a));
        hashable(&key)
    });
    if !keys_hashable && (attribute.is_some() || case_sensitive.is_some_and(|c| !c.is_true())) {
        return Err(fail(
            "unique",
            "Jinja2's unique filter failed and we cannot fall back to Ansible's version as it does not support the parameters supplied.",
        ));
    }
    let case_sensitive = case_sensitive.is_some_and(Value::is_true) || !keys_hashable;
    Ok(Value::from(dedupe(
        items,
        case_sensitive,
        attribute.as_deref(),
    )))
}

/// Whether Python could hash the value (a set member): not a mapping or a list.
fn hashable(value: &Value) -> bool {
    !matches!(value.kind(), ValueKind::Map | ValueKind::Seq)
}

fn two_lists(
    state: &State,
    a: &Value,
    b: &Value,
    name: &str,
) -> Result<(Vec<Value>, Vec<Value>), Error> {
    ensure_defined(state, a, name)?;
    ensure_defined(state, b, name)?;
    Ok((iter_items(a, name)?, iter_items(b, name)?))
}

/// `a|union(b)`: unique items of both lists.
fn union(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (mut xs, ys) = two_lists(state, a, b, "union")?;
    xs.extend(ys);
    Ok(Value::from(dedupe(xs, true, None)))
}

/// `a|intersect(b)`: unique items of `a` that are also in `b`.
fn intersect(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (xs, ys) = two_lists(state, a, b, "intersect")?;
    let common = xs.into_iter().filter(|x| ys.contains(x)).collect();
    Ok(Value::from(dedupe(common, true, None)))
}

/// `a|difference(b)`: unique items of `a` that are not in `b`.
fn difference(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (xs, ys) = two_lists(state, a, b, "difference")?;
    let only_a = xs.into_iter().filter(|x| !ys.contains(x)).collect();
    Ok(Value::from(dedupe(only_a, true, None)))
}

/// `a|symmetric_difference(b)`: items of the union not in the intersection.
fn symmetric_difference(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (xs, ys) = two_lists(state, a, b, "symmetric_difference")?;
    let common: Vec<Value> = xs.iter().filter(|x| ys.contains(x)).cloned().collect();
    let all = dedupe(xs.into_iter().chain(ys).collect(), true, None);
    Ok(Value::from(
        all.into_iter()
            .filter(|x| !common.contains(x))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn unique_is_case_insensitive_by_default() {
        // Ansible delegates to Jinja's unique, which ignores case unless told.
        assert_eq!(eval("[1, 2, 1, 3]|unique|tojson", json!({})), "[1,2,3]");
        assert_eq!(
            eval("['a', 'A', 'b']|unique|tojson", json!({})),
            r#"["a","b"]"#
        );
        assert_eq!(
            eval("['a', 'A']|unique(case_sensitive=true)|tojson", json!({})),
            r#"["a","A"]"#
        );
        assert_eq!(
            eval("[{'a': 1}, {'a': 1}, {'a': 2}]|unique|length", json!({})),
            "2"
        );
        assert_eq!(
            eval(
                "[{'n': 'x', 'i': 1}, {'n': 'x', 'i': 2}]|unique(attribute='n')|map(attribute='i')|join",
                json!({})
            ),
            "1"
        );
    }

    #[test]
    fn unique_falls_back_only_when_no_option_needs_jinja() {
        let cannot = "Jinja2's unique filter failed and we cannot fall back";
        assert!(eval_err("[{'a': 1}]|unique(case_sensitive=False)", json!({})).contains(cannot));
        assert!(eval_err("[{'a': {'b': [1]}}]|unique(attribute='a')", json!({})).contains(cannot));
        assert!(eval_err("True|unique", json!({})).contains("'bool' object is not iterable"));
        assert_eq!(eval("'foo'|unique|sort|join", json!({})), "fo");
        assert_eq!(
            eval("{'foo': 1, 'moo': 2}|unique|join(',')", json!({})),
            "foo,moo"
        );
    }

    #[test]
    fn set_operations_keep_order() {
        let ctx = json!({"a": [1, 2, 3, 2], "b": [2, 4]});
        assert_eq!(eval("a|union(b)|tojson", ctx.clone()), "[1,2,3,4]");
        assert_eq!(eval("a|intersect(b)|tojson", ctx.clone()), "[2]");
        assert_eq!(eval("a|difference(b)|tojson", ctx.clone()), "[1,3]");
        assert_eq!(eval("a|symmetric_difference(b)|tojson", ctx), "[1,3,4]");
        let cased = json!({"a": ["a", "A", "b"], "b": ["b", "A", "a"]});
        assert_eq!(
            eval("a|intersect(b)|tojson", cased.clone()),
            r#"["a","A","b"]"#
        );
        assert_eq!(eval("a|union(b)|tojson", cased), r#"["a","A","b"]"#);
    }
}
