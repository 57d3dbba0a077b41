//! Python-style argument binding for filters and tests.
//!
//! Ansible's filters are Python functions whose parameters may be given
//! positionally or by keyword.  [`Params`] binds minijinja's positional
//! arguments and keyword arguments to a list of parameter names the same way.

use indexmap::IndexMap;
use minijinja::value::{Kwargs, Rest};
use minijinja::{Error, ErrorKind, State, UndefinedBehavior, Value};

/// Builds an `InvalidOperation` error whose message names the filter or test.
pub(crate) fn fail(name: &str, msg: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("{name}: {msg}"))
}

/// Fails with an undefined-value error when `value` is undefined and the
/// environment is strict, mirroring how minijinja treats typed arguments.
pub(crate) fn ensure_defined(state: &State, value: &Value, name: &str) -> Result<(), Error> {
    let strict = matches!(
        state.undefined_behavior(),
        UndefinedBehavior::Strict | UndefinedBehavior::SemiStrict
    );
    if strict && value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("{name}: the value is undefined"),
        ));
    }
    Ok(())
}

/// Arguments of one call bound to parameter names, Python style.
pub(crate) struct Params {
    name: &'static str,
    values: IndexMap<&'static str, Value>,
}

impl Params {
    /// Binds `positional` and `kwargs` to the parameter names in `names`.
    pub(crate) fn bind(
        name: &'static str,
        names: &[&'static str],
        positional: Rest<Value>,
        kwargs: Kwargs,
    ) -> Result<Self, Error> {
        if positional.len() > names.len() {
            return Err(Error::new(
                ErrorKind::TooManyArguments,
                format!(
                    "{name}: takes at most {} argument(s), got {}",
                    names.len(),
                    positional.len()
                ),
            ));
        }
        let mut values: IndexMap<&'static str, Value> = names
            .iter()
            .copied()
            .zip(positional.0)
            .collect::<IndexMap<_, _>>();
        for key in kwargs.args() {
            let Some(param) = names.iter().copied().find(|n| *n == key) else {
                return Err(Error::new(
                    ErrorKind::TooManyArguments,
                    format!("{name}: unexpected keyword argument '{key}'"),
                ));
            };
            if values.contains_key(param) {
                return Err(fail(name, format!("got multiple values for '{param}'")));
            }
            values.insert(param, kwargs.get::<Value>(param)?);
        }
        Ok(Params { name, values })
    }

    /// Binds keyword-only parameters.
    pub(crate) fn keywords(
        name: &'static str,
        names: &[&'static str],
        kwargs: Kwargs,
    ) -> Result<Self, Error> {
        Params::bind(name, names, Rest(Vec::new()), kwargs)
    }

    /// Returns the raw value of a parameter when it was given.
    pub(crate) fn get(&self, param: &str) -> Option<&Value> {
        self.values.get(param)
    }

    /// Returns a parameter as a Python truth value, or `default`.
    pub(crate) fn flag(&self, param: &str, default: bool) -> bool {
        self.get(param).map_or(default, Value::is_true)
    }

    /// Returns a string parameter, or `default` when not given or none.
    pub(crate) fn string(&self, param: &str, default: &str) -> Result<String, Error> {
        match self.get(param) {
            None => Ok(default.to_string()),
            Some(v) if v.is_none() || v.is_undefined() => Ok(default.to_string()),
            Some(v) => match v.as_str() {
                Some(s) => Ok(s.to_string()),
                None => Err(fail(self.name, format!("'{param}' must be a string"))),
            },
        }
    }

    /// Returns an integer parameter, or `None` when not given or none.
    pub(crate) fn int(&self, param: &str) -> Result<Option<i64>, Error> {
        match self.get(param) {
            None => Ok(None),
            Some(v) if v.is_none() || v.is_undefined() => Ok(None),
            Some(v) => match v.as_i64() {
                Some(n) => Ok(Some(n)),
                None => Err(fail(self.name, format!("'{param}' must be an integer"))),
            },
        }
    }
}
