//! `map`, `select`, `reject`, `selectattr` and `rejectattr` as Ansible 2.19 wraps
//! Jinja's: an undefined input gives an undefined result (`missing | map('upper') is
//! undefined`), and an item `map(attribute=...)` finds no such attribute on stays
//! undefined, remembering why, so that using it fails with Python's words. `join`
//! fails on an undefined item, as Python's `str()` of Ansible's undefined does.

use std::borrow::Cow;

use minijinja::value::{Kwargs, Rest, StringInput, from_args};
use minijinja::{Environment, Error, ErrorKind, State, Value, filters};

use crate::template::engine::set_undefined_hint;
use crate::template::pyfmt::type_name;

/// Replaces minijinja's five filters with Ansible's wrappers of them.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("map", map);
    env.add_filter("select", select);
    env.add_filter("reject", reject);
    env.add_filter("selectattr", selectattr);
    env.add_filter("rejectattr", rejectattr);
    env.add_filter("join", join);
}

/// `map`: undefined for an undefined input; with `attribute=` and no `default=`, an
/// item without the attribute maps to an undefined value whose use fails with
/// "object of type 'dict' has no attribute 'name'".
fn map(state: &State, value: Value, args: Rest<Value>) -> Result<Value, Error> {
    lazily(&value, || {
        let missing_attribute = {
            let (_, kwargs): (&[Value], Kwargs) = from_args(&args)?;
            let attribute = kwargs.get::<Option<Value>>("attribute")?;
            attribute.filter(|_| !kwargs.has("default"))
        };
        let mapped = filters::map(state, value.clone(), args)?;
        if let Some(attribute) = missing_attribute
            && let Some(index) = mapped.iter().position(Value::is_undefined)
            && let Ok(item) = value.get_item(&Value::from(index))
        {
            set_undefined_hint(format!(
                "object of type '{}' has no attribute '{attribute}'",
                type_name(&item)
            ));
        }
        Ok(mapped)
    })
}

/// `select`: undefined for an undefined input.
fn select(
    state: &State,
    value: Value,
    test: Option<Cow<'_, str>>,
    args: Rest<Value>,
) -> Result<Value, Error> {
    lazily(&value, || filters::select(state, value.clone(), test, args))
}

/// `reject`: undefined for an undefined input.
fn reject(
    state: &State,
    value: Value,
    test: Option<Cow<'_, str>>,
    args: Rest<Value>,
) -> Result<Value, Error> {
    lazily(&value, || filters::reject(state, value.clone(), test, args))
}

/// `selectattr`: undefined for an undefined input.
fn selectattr(
    state: &State,
    value: Value,
    attribute: Cow<'_, str>,
    test: Option<Cow<'_, str>>,
    args: Rest<Value>,
) -> Result<Value, Error> {
    lazily(&value, || {
        filters::selectattr(state, value.clone(), attribute, test, args)
    })
}

/// `rejectattr`: undefined for an undefined input.
fn rejectattr(
    state: &State,
    value: Value,
    attribute: Cow<'_, str>,
    test: Option<Cow<'_, str>>,
    args: Rest<Value>,
) -> Result<Value, Error> {
    lazily(&value, || {
        filters::rejectattr(state, value.clone(), attribute, test, args)
    })
}

/// `join`: an error when an item is undefined (an attribute `map` did not find).
fn join(state: &State, value: &Value, joiner: Option<StringInput<'_>>) -> Result<Value, Error> {
    if let Ok(mut items) = value.try_iter()
        && items.any(|item| item.is_undefined())
    {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    filters::join(state, value, joiner)
}

/// Undefined when `value` is, otherwise what `filter` makes of it.
fn lazily(
    value: &Value,
    filter: impl FnOnce() -> Result<Vec<Value>, Error>,
) -> Result<Value, Error> {
    if value.is_undefined() {
        return Ok(Value::UNDEFINED);
    }
    filter().map(Value::from)
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    /// Ansible's filter_core: the wrapped filters keep an undefined input undefined.
    #[test]
    fn an_undefined_input_stays_undefined() {
        for filter in [
            "map('upper')",
            "select('odd')",
            "reject('odd')",
            "selectattr('a')",
            "rejectattr('a')",
        ] {
            let expression = format!("missing | {filter} is undefined");
            assert_eq!(eval(&expression, json!({})), "True", "{filter}");
        }
        assert_eq!(eval("['a'] | map('upper') | join", json!({})), "A");
        assert_eq!(eval("[1, 2] | reject('odd') | join", json!({})), "2");
    }

    /// An item without the attribute maps to undefined, which `default=` replaces,
    /// `select('defined')` drops and `join` refuses.
    #[test]
    fn a_missing_attribute_maps_to_undefined() {
        let things = json!({"things": [{"name": "one"}, {"other": 3}]});
        let mapped = "things | map(attribute='name')";
        assert_eq!(
            eval(
                &format!("{mapped} | select('defined') | join"),
                things.clone()
            ),
            "one"
        );
        assert_eq!(
            eval(
                &format!("({mapped} | list)[1] is undefined"),
                things.clone()
            ),
            "True"
        );
        let defaulted = "things | map(attribute='name', default='-') | join(',')";
        assert_eq!(eval(defaulted, things.clone()), "one,-");
        let err = eval_err(&format!("{mapped} | join(',')"), things);
        assert!(err.contains("undefined"), "{err}");
    }
}
