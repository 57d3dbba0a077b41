//! Set theory filters on lists: `unique`, `union`, `intersect`,
//! `difference` and `symmetric_difference`.  Results keep first-seen order.

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, State, Value};

use crate::template::args::{Params, ensure_defined};
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

/// `unique(case_sensitive=False, attribute=None)`.
fn unique(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let p = Params::bind("unique", &["case_sensitive", "attribute"], args, kwargs)?;
    ensure_defined(state, value, "unique")?;
    let attribute = p
        .get("attribute")
        .and_then(Value::as_str)
        .map(str::to_string);
    let items = iter_items(value, "unique")?;
    Ok(Value::from(dedupe(
        items,
        p.flag("case_sensitive", false),
        attribute.as_deref(),
    )))
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
    Ok(Value::from(dedupe(xs, false, None)))
}

/// `a|intersect(b)`: unique items of `a` that are also in `b`.
fn intersect(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (xs, ys) = two_lists(state, a, b, "intersect")?;
    let common = xs.into_iter().filter(|x| ys.contains(x)).collect();
    Ok(Value::from(dedupe(common, false, None)))
}

/// `a|difference(b)`: unique items of `a` that are not in `b`.
fn difference(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (xs, ys) = two_lists(state, a, b, "difference")?;
    let only_a = xs.into_iter().filter(|x| !ys.contains(x)).collect();
    Ok(Value::from(dedupe(only_a, false, None)))
}

/// `a|symmetric_difference(b)`: items of the union not in the intersection.
fn symmetric_difference(state: &State, a: &Value, b: &Value) -> Result<Value, Error> {
    let (xs, ys) = two_lists(state, a, b, "symmetric_difference")?;
    let common: Vec<Value> = xs.iter().filter(|x| ys.contains(x)).cloned().collect();
    let all = dedupe(xs.into_iter().chain(ys).collect(), false, None);
    Ok(Value::from(
        all.into_iter()
            .filter(|x| !common.contains(x))
            .collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::eval;
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
    fn set_operations_keep_order() {
        let ctx = json!({"a": [1, 2, 3, 2], "b": [2, 4]});
        assert_eq!(eval("a|union(b)|tojson", ctx.clone()), "[1,2,3,4]");
        assert_eq!(eval("a|intersect(b)|tojson", ctx.clone()), "[2]");
        assert_eq!(eval("a|difference(b)|tojson", ctx.clone()), "[1,3]");
        assert_eq!(eval("a|symmetric_difference(b)|tojson", ctx), "[1,3,4]");
    }
}
