//! `random` and `shuffle`: as Ansible's, the system's randomness by default and
//! Python's `random.Random(seed)` (same results as Ansible) with a seed.

use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, State, Value};

use crate::template::args::{Params, ensure_defined, fail};
use crate::template::pyfmt::{iter_items, py_str};
use crate::template::pyrandom::{PyRandom, Seed, randrange, system_below};

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
}

/// A draw in `0..n`: seeded as Python, or from the system.
fn drawer(seed: Option<&Value>) -> Box<dyn FnMut(u128) -> u128> {
    match seed.filter(|s| !s.is_none() && !s.is_undefined()) {
        Some(seed) => {
            let mut random = match seed.as_i64() {
                Some(n) => PyRandom::new(Seed::Int(i128::from(n))),
                None => PyRandom::new(Seed::Str(&py_str(seed))),
            };
            Box::new(move |n| random.below(n))
        }
        None => Box::new(|n| u128::from(system_below(u64::try_from(n).unwrap_or(u64::MAX)))),
    }
}

fn random(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    ensure_defined(state, value, "random")?;
    let params = Params::bind("random", &["start", "step", "seed"], args, kwargs)?;
    let start = params.int("start")?.unwrap_or(0);
    let step = params.int("step")?.unwrap_or(0);
    let mut draw = drawer(params.get("seed"));
    match value.kind() {
        ValueKind::Number if value.as_i64().is_some() => {
            let end = value.as_i64().unwrap_or(0);
            let step = if step == 0 { 1 } else { step };
            randrange(start, end, step, &mut draw)
                .map(Value::from)
                .map_err(|e| fail("random", e))
        }
        ValueKind::Seq | ValueKind::String | ValueKind::Map | ValueKind::Iterable => {
            if start != 0 || step != 0 {
                return Err(fail(
                    "random",
                    "start and step can only be used with integer values",
                ));
            }
            let items: Vec<Value> = if value.kind() == ValueKind::String {
                py_str(value)
                    .chars()
                    .map(|c| Value::from(c.to_string()))
                    .collect()
            } else {
                iter_items(value, "random")?
            };
            if items.is_empty() {
                return Err(fail("random", "Cannot choose from an empty sequence"));
            }
            Ok(items[draw(items.len() as u128) as usize].clone())
        }
        _ => Err(fail(
            "random",
            "random can only be used on sequences and integers",
        )),
    }
}

fn shuffle(
    state: &State,
    value: &Value,
    args: Rest<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    ensure_defined(state, value, "shuffle")?;
    let params = Params::bind("shuffle", &["seed"], args, kwargs)?;
    let mut items: Vec<Value> = if value.kind() == ValueKind::String {
        py_str(value)
            .chars()
            .map(|c| Value::from(c.to_string()))
            .collect()
    } else {
        match iter_items(value, "shuffle") {
            Ok(items) => items,
            Err(_) => return Ok(value.clone()),
        }
    };
    let mut draw = drawer(params.get("seed").filter(|s| s.is_true()));
    for i in (1..items.len()).rev() {
        let j = draw(i as u128 + 1) as usize;
        items.swap(i, j);
    }
    Ok(Value::from(items))
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn seeded_results_match_ansible() {
        assert_eq!(eval("2|random(seed=1337)", json!({})), "1");
        assert_eq!(eval("100|random(seed='foo')", json!({})), "58");
        assert_eq!(
            eval("'foo bar'|shuffle(seed='foo')|join", json!({})),
            "ofrboa "
        );
        assert_eq!(eval("'foo bar'|random(seed='foo')", json!({})), " ");
    }

    #[test]
    fn random_ranges_and_choices() {
        for _ in 0..20 {
            let n: i64 = eval("10|random(start=2, step=4)", json!({}))
                .parse()
                .expect("a number");
            assert!([2, 6].contains(&n), "{n}");
        }
        assert!(["a", "b"].contains(&eval("['a', 'b']|random", json!({})).as_str()));
        assert_eq!(eval("[1, 2, 3]|shuffle|sort|join", json!({})), "123");
        assert!(
            eval_err("[1]|random(start=1)", json!({}))
                .contains("start and step can only be used with integer values")
        );
    }
}
