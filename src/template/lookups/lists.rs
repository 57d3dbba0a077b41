//! Lookups shaping lists (mostly met as `with_<name>` loops): `items`, `indexed_items`,
//! `flattened`, `nested`, `together`, `subelements`, `dict` and `random_choice`.

use minijinja::value::{Value, ValueKind};
use serde_json::Value as Json;

use super::{Outcome, fail};
use crate::template::pyfmt::py_str;
use crate::template::to_json;

/// Ansible's `LookupBase._flatten`: list items spliced in, anything else kept.
pub(super) fn flatten_once(terms: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for term in terms {
        if term.kind() == ValueKind::Seq {
            out.extend(term.try_iter().into_iter().flatten());
        } else {
            out.push(term.clone());
        }
    }
    out
}

/// community.general's `flattened`: lists flattened at every depth, nulls dropped.
pub(super) fn flattened(terms: &[Value]) -> Outcome {
    fn walk(value: &Value, out: &mut Vec<Value>) {
        match value.kind() {
            ValueKind::Seq => {
                for item in value.try_iter().into_iter().flatten() {
                    walk(&item, out);
                }
            }
            ValueKind::None | ValueKind::Undefined => {}
            _ => out.push(value.clone()),
        }
    }
    let mut out = Vec::new();
    for term in terms {
        walk(term, &mut out);
    }
    Ok(out)
}

/// `indexed_items`: `[index, item]` over the terms flattened once.
pub(super) fn indexed_items(terms: &[Value]) -> Vec<Value> {
    flatten_once(terms)
        .into_iter()
        .enumerate()
        .map(|(i, item)| Value::from(vec![Value::from(i), item]))
        .collect()
}

/// Python's iteration over a value: a list's items, a string's characters, a
/// mapping's keys.
fn iterate(value: &Value) -> Result<Vec<Value>, String> {
    match value.kind() {
        ValueKind::String => Ok(py_str(value)
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect()),
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable => {
            Ok(value.try_iter().into_iter().flatten().collect())
        }
        _ => Err(format!(
            "'{}' object is not iterable",
            crate::template::pyfmt::type_name(value)
        )),
    }
}

/// `nested`: the product of the lists, each combination flattened once.
pub(super) fn nested(terms: &[Value]) -> Outcome {
    let Some((first, rest)) = terms.split_first() else {
        return fail("with_nested requires at least one element in the nested list");
    };
    let mut result = iterate(first)?;
    for list in rest {
        let list = iterate(list)?;
        let mut combined = Vec::new();
        for x in &result {
            for y in &list {
                combined.push(Value::from(flatten_once(&[x.clone(), y.clone()])));
            }
        }
        result = combined;
    }
    result
        .iter()
        .map(|x| iterate(x).map(|items| Value::from(flatten_once(&items))))
        .collect::<Result<_, _>>()
        .map_err(Into::into)
}

/// `together`: the lists zipped, the shorter ones padded with none.
pub(super) fn together(terms: &[Value]) -> Outcome {
    if terms.is_empty() {
        return fail("with_together requires at least one element in each list");
    }
    let lists: Vec<Vec<Value>> = terms.iter().map(iterate).collect::<Result<_, _>>()?;
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..longest)
        .map(|i| {
            let row: Vec<Value> = lists
                .iter()
                .map(|list| list.get(i).cloned().unwrap_or(Value::from(())))
                .collect();
            Value::from(flatten_once(&row))
        })
        .collect())
}

/// `dict`: a mapping's `{key, value}` pairs.
pub(super) fn dict(terms: &[Value]) -> Outcome {
    let mut out = Vec::new();
    for term in terms {
        if term.kind() != ValueKind::Map {
            return fail(format!(
                "the 'dict' lookup plugin expects a dictionary, got '{}' of type <class '{}'>)",
                py_str(term),
                crate::template::pyfmt::type_name(term)
            ));
        }
        for key in term.try_iter().into_iter().flatten() {
            let value = term.get_item(&key).unwrap_or_default();
            out.push(Value::from_serialize(serde_json::json!({
                "key": to_json(&key),
                "value": to_json(&value),
            })));
        }
    }
    Ok(out)
}

/// `random_choice`: one of the terms, picked at random (none: no terms).
pub(super) fn random_choice(terms: &[Value]) -> Vec<Value> {
    if terms.is_empty() {
        return Vec::new();
    }
    let index = crate::template::pyrandom::system_below(terms.len() as u64) as usize;
    vec![terms[index].clone()]
}

const SUBELEMENTS_FLAGS: &[&str] = &["skip_missing"];

/// `subelements`: `[item, subitem]` for each item of a list (or mapping's values) and
/// each element of the list under the item's (dotted) key.
pub(super) fn subelements(terms: &[Value]) -> Outcome {
    let usage =
        |more: &str| format!("subelements lookup expects a list of two or three items, {more}");
    if !(2..=3).contains(&terms.len()) {
        return fail(usage(""));
    }
    let source = to_json(&terms[0]);
    let Some(key) = terms[1]
        .as_str()
        .filter(|_| matches!(source, Json::Array(_) | Json::Object(_)))
    else {
        return fail(usage(
            "first a dict or a list, second a string pointing to the subkey",
        ));
    };
    let keys: Vec<&str> = key.split('.').collect();
    let skipped = |item: &Json| item.get("skipped").is_some_and(|v| v != &Json::Bool(false));
    let items: Vec<Json> = match source {
        Json::Object(map) => {
            if skipped(&Json::Object(map.clone())) {
                return Ok(Vec::new());
            }
            map.into_iter().map(|(_, v)| v).collect()
        }
        Json::Array(items) => items,
        _ => Vec::new(),
    };
    let flags = match terms.get(2).map(to_json) {
        None => serde_json::Map::new(),
        Some(Json::Object(flags))
            if flags
                .keys()
                .all(|k| SUBELEMENTS_FLAGS.contains(&k.as_str())) =>
        {
            flags
        }
        Some(_) => {
            return fail(usage(&format!(
                "the optional third item must be a dict with flags {}",
                crate::template::pyfmt::py_repr(&Value::from_serialize(SUBELEMENTS_FLAGS))
            )));
        }
    };
    let skip_missing = flags
        .get("skip_missing")
        .map(|v| super::boolean(&Value::from_serialize(v)).unwrap_or(false))
        .unwrap_or(false);
    let mut out = Vec::new();
    for mut item in items {
        if !item.is_object() {
            return fail(format!(
                "subelements lookup expects a dictionary, got '{}'",
                py_str(&Value::from_serialize(&item))
            ));
        }
        if skipped(&item) {
            continue;
        }
        let mut sublist = Vec::new();
        let mut path: Vec<&str> = Vec::new();
        let mut popped = false;
        for (i, subkey) in keys.iter().enumerate() {
            let last = i + 1 == keys.len();
            let here = path.iter().try_fold(&item, |v, k| v.get(k));
            let Some(value) = here.and_then(|v| v.get(subkey)) else {
                if skip_missing {
                    continue;
                }
                return fail(format!(
                    "could not find '{subkey}' key in iterated item '{}'",
                    py_str(&Value::from_serialize(here.unwrap_or(&Json::Null)))
                ));
            };
            if !last {
                if !value.is_object() {
                    if skip_missing {
                        continue;
                    }
                    return fail(format!(
                        "the key {subkey} should point to a dictionary, got '{}'",
                        py_str(&Value::from_serialize(value))
                    ));
                }
                path.push(subkey);
            } else if let Json::Array(list) = value {
                sublist = list.clone();
                popped = true;
            } else {
                return fail(format!(
                    "the key {subkey} should point to a list, got '{}'",
                    py_str(&Value::from_serialize(value))
                ));
            }
        }
        // Ansible pops the list from the item it returns.
        if popped {
            let last = keys.last().copied().unwrap_or_default();
            let parent = path.iter().try_fold(&mut item, |v, k| v.get_mut(*k));
            if let Some(Json::Object(map)) = parent {
                map.shift_remove(last);
            }
        }
        for sub in sublist {
            out.push(Value::from_serialize(serde_json::json!([item, sub])));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eval_in;
    use serde_json::json;

    fn eval(expr: &str, extra: serde_json::Value) -> Result<serde_json::Value, String> {
        let dir = tempfile::tempdir().expect("tempdir");
        eval_in(expr, dir.path(), extra)
    }

    #[test]
    fn list_lookups_shape_items_as_ansible() {
        let none = json!({});
        assert_eq!(
            eval("q('indexed_items', ['a', 'b'])", none.clone()),
            Ok(json!([[0, "a"], [1, "b"]]))
        );
        assert_eq!(
            eval("q('nested', [1, 2], ['a', 'b'])", none.clone()),
            Ok(json!([[1, "a"], [1, "b"], [2, "a"], [2, "b"]]))
        );
        assert_eq!(
            eval("q('nested', ['ab'])", none.clone()),
            Ok(json!([["a", "b"]]))
        );
        assert_eq!(
            eval("q('together', [1, 2, 3], ['a'])", none.clone()),
            Ok(json!([[1, "a"], [2, null], [3, null]]))
        );
        assert_eq!(
            eval("q('flattened', [1, [2, [3, none]]])", none.clone()),
            Ok(json!([1, 2, 3]))
        );
        assert_eq!(
            eval("q('dict', {'a': 1, 'b': 2})", none.clone()),
            Ok(json!([{"key": "a", "value": 1}, {"key": "b", "value": 2}]))
        );
        let err = eval("q('dict', [1])", none.clone()).expect_err("not a mapping");
        assert!(
            err.contains("the 'dict' lookup plugin expects a dictionary"),
            "{err}"
        );
        assert!(eval("q('nested')", none.clone()).is_err());
        let one = eval("lookup('random_choice', 'a', 'b', 'c')", none).expect("picks");
        assert!(["a", "b", "c"].contains(&one.as_str().unwrap_or_default()));
    }

    #[test]
    fn subelements_pairs_items_with_their_sublists() {
        let users = json!({"users": [
            {"name": "alice", "groups": ["wheel", "docker"], "auth": {"keys": ["k1"]}},
            {"name": "bob", "groups": [], "auth": {}},
            {"name": "carol", "skipped": true},
        ]});
        assert_eq!(
            eval(
                "q('subelements', users, 'groups', {'skip_missing': True}) | map(attribute=1) | list",
                users.clone()
            ),
            Ok(json!(["wheel", "docker"]))
        );
        assert_eq!(
            eval(
                "q('subelements', users, 'groups', {'skip_missing': True})[0][0]",
                users.clone()
            ),
            Ok(json!({"name": "alice", "auth": {"keys": ["k1"]}}))
        );
        assert_eq!(
            eval(
                "q('subelements', users, 'auth.keys', {'skip_missing': True}) | map(attribute=1) | list",
                users.clone()
            ),
            Ok(json!(["k1"]))
        );
        let err = eval("q('subelements', users, 'auth.keys')", users.clone()).expect_err("missing");
        assert!(
            err.contains("could not find 'keys' key in iterated item"),
            "{err}"
        );
        let err = eval("q('subelements', users)", users.clone()).expect_err("one term");
        assert!(
            err.contains("subelements lookup expects a list of two or three items"),
            "{err}"
        );
        let err = eval("q('subelements', users, 'groups', {'bogus': 1})", users).expect_err("flag");
        assert!(
            err.contains("the optional third item must be a dict with flags"),
            "{err}"
        );
    }
}
