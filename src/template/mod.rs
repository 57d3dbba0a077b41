//! Ansible-compatible templating on top of minijinja: Ansible's filters and
//! tests, Python-style value formatting, and PyYAML / Python-json compatible
//! serializers.

mod args;
mod filters;
mod jinja_tests;
pub mod json_dump;
pub mod pyfmt;
mod pypath;
mod pyre;
pub mod yaml_dump;

use minijinja::Environment;

/// Adds Ansible's filters and tests to `env`, together with minijinja-contrib's
/// extras and Python-style methods on strings, lists and dicts
/// (`.split()`, `.items()`, `.startswith()`, ...).
pub fn register(env: &mut Environment<'static>) {
    minijinja_contrib::add_to_environment(env);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    filters::register(env);
    jinja_tests::register(env);
}

#[cfg(test)]
pub(crate) mod test_support {
    use minijinja::{Environment, UndefinedBehavior};

    /// An environment with strict undefined handling and everything registered.
    pub(crate) fn env() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        super::register(&mut env);
        env
    }

    /// Renders `{{ expr }}` with `ctx`, panicking on errors.
    pub(crate) fn eval(expr: &str, ctx: serde_json::Value) -> String {
        env()
            .render_str(&format!("{{{{ {expr} }}}}"), ctx)
            .unwrap_or_else(|e| panic!("{expr}: {e:#}"))
    }

    /// Renders `{{ expr }}` with `ctx` and returns the error message.
    pub(crate) fn eval_err(expr: &str, ctx: serde_json::Value) -> String {
        match env().render_str(&format!("{{{{ {expr} }}}}"), ctx) {
            Ok(out) => panic!("{expr}: expected an error, got {out:?}"),
            Err(e) => format!("{e:#}"),
        }
    }
}
