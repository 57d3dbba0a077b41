//! Ansible's Jinja filters for minijinja.
//!
//! Each submodule groups related filters and registers them; names that
//! minijinja already defines (`default`, `int`, `bool`, `unique`, `zip`, ...)
//! are replaced by versions that follow Ansible's behaviour.

mod collections;
mod encoding;
mod math;
mod paths;
mod pattern;
mod sets;
mod types;
mod vault;

use minijinja::Environment;

/// Adds every Ansible filter to `env`, replacing minijinja's variants.
pub(crate) fn register(env: &mut Environment<'static>) {
    types::register(env);
    collections::register(env);
    sets::register(env);
    pattern::register(env);
    encoding::register(env);
    paths::register(env);
    math::register(env);
    vault::register(env);
}
