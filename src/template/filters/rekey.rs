//! `rekey_on_member`: a list (or the values of a mapping) of mappings turned into
//! a mapping keyed on one of their members, as Ansible's mathstuff does it.

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, State, Value};

use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::{make_map, py_repr};

const NAME: &str = "rekey_on_member";

/// Registers the filter of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter(NAME, rekey_on_member);
}

/// `rekey_on_member(key, duplicates='error')`.
fn rekey_on_member(
    state: &State,
    data: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let p = Params::bind(NAME, &["key", "duplicates"], args, kwargs)?;
    ensure_defined(state, data, NAME)?;
    let key = p
        .get("key")
        .ok_or_else(|| fail(NAME, "missing argument 'key'"))?;
    ensure_defined(state, key, NAME)?;
    let overwrite = match p.string("duplicates", "error")?.as_str() {
        "error" => false,
        "overwrite" => true,
        other => {
            return Err(fail(
                NAME,
                format!(
                    "duplicates parameter to rekey_on_member has unknown value {}",
                    py_repr(&Value::from(other))
                ),
            ));
        }
    };
    let items: Vec<Value> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|k| data.get_item(&k).unwrap_or_default())
            .collect(),
        ValueKind::Seq | ValueKind::Iterable => data.try_iter()?.collect(),
        _ => return Err(fail(NAME, "Type is not a valid list, set, or dict")),
    };
    let mut rekeyed: Vec<(Value, Value)> = Vec::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(fail(NAME, "List item is not a valid dict"));
        }
        let member = item
            .get_item(key)
            .ok()
            .filter(|m| !m.is_undefined())
            .ok_or_else(|| fail(NAME, format!("Key {} was not found.", py_repr(key))))?;
        match rekeyed.iter_mut().find(|(k, _)| *k == member) {
            Some(_) if !overwrite => {
                return Err(fail(
                    NAME,
                    format!(
                        "Key {} is not unique, cannot convert to dict.",
                        py_repr(&member)
                    ),
                ));
            }
            Some((_, existing)) => *existing = item,
            None => rekeyed.push((member, item)),
        }
    }
    Ok(make_map(rekeyed))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn members_become_keys_and_duplicates_fail_unless_overwritten() {
        let ctx = json!({"l": [{"p": "a", "n": 1}, {"p": "b", "n": 2}, {"p": "a", "n": 3}]});
        assert_eq!(
            eval(
                "l|rekey_on_member('p', duplicates='overwrite')|tojson",
                ctx.clone()
            ),
            r#"{"a":{"p":"a","n":3},"b":{"p":"b","n":2}}"#
        );
        assert!(eval_err("l|rekey_on_member('p')", ctx).contains("Key 'a' is not unique"));
        assert!(eval_err("'x'|rekey_on_member('p')", json!({})).contains("not a valid list"));
        assert!(eval_err("[1]|rekey_on_member('p')", json!({})).contains("not a valid dict"));
        assert!(
            eval_err("[{}]|rekey_on_member('p')", json!({})).contains("Key 'p' was not found.")
        );
    }
}
