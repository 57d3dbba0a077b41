//! Math filters from Ansible's mathstuff: `log`, `pow` and `root`.

use minijinja::value::ValueKind;
use minijinja::{Environment, Error, State, Value};

use crate::template::args::{ensure_defined, fail};
use crate::template::pyfmt::type_name;

/// Registers the filters of this module.
pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("log", log);
    env.add_filter("pow", pow);
    env.add_filter("root", root);
}

/// Reads a number argument as a float, failing with the filter's name.
fn number(state: &State, value: &Value, name: &str) -> Result<f64, Error> {
    ensure_defined(state, value, name)?;
    let as_float = match value.kind() {
        ValueKind::Number => f64::try_from(value.clone()).ok(),
        ValueKind::Bool => Some(if value.is_true() { 1.0 } else { 0.0 }),
        _ => None,
    };
    as_float.ok_or_else(|| {
        fail(
            name,
            format!(
                "{name}() can only be used on numbers, got {}",
                type_name(value)
            ),
        )
    })
}

fn finite(f: f64, name: &str) -> Result<Value, Error> {
    if f.is_nan() {
        Err(fail(name, "math domain error"))
    } else {
        Ok(Value::from(f))
    }
}

/// `log(base=e)`: the logarithm of the value.
fn log(state: &State, value: &Value, base: Option<Value>) -> Result<Value, Error> {
    let x = number(state, value, "log")?;
    if x <= 0.0 {
        return Err(fail("log", "math domain error"));
    }
    match base {
        None => finite(x.ln(), "log"),
        Some(b) => {
            let b = number(state, &b, "log")?;
            if b == 10.0 {
                finite(x.log10(), "log")
            } else if b <= 0.0 || b == 1.0 {
                Err(fail("log", "math domain error"))
            } else {
                finite(x.ln() / b.ln(), "log")
            }
        }
    }
}

/// `pow(y)`: the value raised to `y`, as a float.
fn pow(state: &State, value: &Value, y: &Value) -> Result<Value, Error> {
    let x = number(state, value, "pow")?;
    let y = number(state, y, "pow")?;
    finite(x.powf(y), "pow")
}

/// `root(base=2)`: square root, or the `base`-th root.
fn root(state: &State, value: &Value, base: Option<Value>) -> Result<Value, Error> {
    let x = number(state, value, "root")?;
    let base = match base {
        Some(b) => number(state, &b, "root")?,
        None => 2.0,
    };
    if base == 2.0 {
        if x < 0.0 {
            return Err(fail("root", "math domain error"));
        }
        return Ok(Value::from(x.sqrt()));
    }
    finite(x.powf(1.0 / base), "root")
}

#[cfg(test)]
mod tests {
    use crate::template::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn math_filters_return_floats() {
        assert_eq!(eval("100|log(10)", json!({})), "2.0");
        assert_eq!(eval("8|log(2)", json!({})), "3.0");
        assert_eq!(eval("2|pow(3)", json!({})), "8.0");
        assert_eq!(eval("9|root", json!({})), "3.0");
        assert_eq!(eval("8|root(3)", json!({})), "2.0");
        assert!(eval_err("'x'|log", json!({})).contains("only be used on numbers"));
    }
}
