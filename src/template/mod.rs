//! Templating with Ansible's semantics on top of minijinja: the engine (undefined
//! handling, lazy variables, native types), Ansible's filters, tests and lookups,
//! Python-style value formatting, and PyYAML / Python-json compatible serializers.

mod args;
mod backslashes;
mod conditional;
mod embedded;
mod engine;
pub(crate) mod filters;
mod jinja_tests;
pub mod json_dump;
mod lookups;
mod markers;
pub use lookups::find_needle;
mod nesting;
pub(crate) mod percent;
mod protomatter;
pub mod pyfmt;
mod pymethods;
mod pyrandom;
pub mod tags;
pub mod trust;
mod vars;
pub mod yaml_dump;

use minijinja::Environment;

/// The placeholder `omit` renders to; arguments equal to it are dropped.
pub const OMIT: &str = "__omit_place_holder__bosun";

pub use engine::{
    Delimiters, RenderOptions, Templar, TemplateError, is_template, shielded, to_json, truthy,
};
pub use lookups::{ANSIBLE_LOOKUPS, lookup_name, loop_items as lookup_loop_items, search_path};
pub use nesting::{check_expression, check_template};
pub use vars::{Vars, contains_template, is_variable_name};

/// The parts of a URL as Python's `urlsplit` names them (for the URL tests).
fn filters_urls_split(url: &str) -> serde_json::Map<String, serde_json::Value> {
    filters::split_url(url)
}

/// Adds Ansible's filters and tests to `env`, together with minijinja-contrib's
/// extras and Python-style methods on strings, lists and dicts
/// (`.split()`, `.items()`, `.startswith()`, ...).
pub fn register(env: &mut Environment<'static>) {
    minijinja_contrib::add_to_environment(env);
    env.set_unknown_method_callback(pymethods::unknown_method);
    filters::register(env);
    jinja_tests::register(env);
    protomatter::register(env);
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

#[cfg(test)]
mod tests {
    use super::test_support::{eval, eval_err};
    use serde_json::json;

    #[test]
    fn python_methods_work_through_pycompat() {
        assert_eq!(eval("' a b '.split()|join('|')", json!({})), "a|b");
        assert_eq!(eval("' x '.strip()", json!({})), "x");
        assert_eq!(eval("'abc'.startswith('ab')", json!({})), "True");
        assert_eq!(eval("'a-b'.replace('-', '+')", json!({})), "a+b");
        let ctx = json!({"d": {"k": "v"}});
        assert_eq!(eval("d.keys()|list|join", ctx.clone()), "k");
        assert_eq!(eval("d.items()|map('join', '=')|join", ctx.clone()), "k=v");
        assert_eq!(eval("d.get('missing', 'dflt')", ctx), "dflt");
    }

    #[test]
    fn builtin_and_contrib_filters_remain() {
        // Ansible's split filter is Python's str.split, as minijinja's is.
        assert_eq!(eval("'a,b'|split(',')|last", json!({})), "b");
        assert!(eval("'a long sentence here'|truncate(length=8)", json!({})).ends_with("..."));
        assert_eq!(eval("[3, 1]|max", json!({})), "3");
    }

    #[test]
    fn strict_undefined_still_supports_defined_checks() {
        assert_eq!(eval("missing is defined", json!({})), "False");
        assert_eq!(eval("missing is undefined", json!({})), "True");
        assert!(eval_err("missing|to_json", json!({})).contains("undefined"));
    }
}
