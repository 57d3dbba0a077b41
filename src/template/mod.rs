//! Templating with Ansible's semantics on top of minijinja.

mod engine;
mod lookups;
mod repr;
mod vars;

pub use engine::{Templar, TemplateError, is_template, to_json, truthy};
pub use vars::{Vars, contains_template};

/// Adds Ansible's filters and tests to `env`.
pub fn register(env: &mut minijinja::Environment<'static>) {
    minijinja_contrib::add_to_environment(env);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
}
