//! Ansible's Jinja filters for minijinja.
//!
//! Each submodule groups related filters and registers them; names that
//! minijinja already defines (`default`, `int`, `bool`, `unique`, `zip`, ...)
//! are replaced by versions that follow Ansible's behaviour.

mod collections;
pub(crate) mod crypt;
mod datetime;
mod encoding;
mod math;
mod paths;
mod pattern;
mod random;
mod rekey;
mod sequences;
mod sets;
mod sizes;
mod types;
mod urls;
mod vault;

use minijinja::Environment;

pub(crate) use urls::split as split_url;

/// Adds every Ansible filter to `env`, replacing minijinja's variants.
pub(crate) fn register(env: &mut Environment<'static>) {
    types::register(env);
    collections::register(env);
    sets::register(env);
    sequences::register(env);
    sizes::register(env);
    rekey::register(env);
    pattern::register(env);
    encoding::register(env);
    paths::register(env);
    math::register(env);
    vault::register(env);
    random::register(env);
    crypt::register(env);
    urls::register(env);
    datetime::register(env);
}
