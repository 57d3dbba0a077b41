//! bosun: an agentless configuration manager in the Ansible style.

pub mod app;
pub mod cli;
pub mod clock;
pub mod config;
pub mod connection;
pub mod doc;
pub mod executor;
pub mod fact_cache;
pub mod fqcn;
#[cfg(test)]
mod fuzz;
pub mod glob;
pub mod hash_behaviour;
pub mod inventory;
pub mod listing;
pub mod local_write;
pub mod modules;
pub mod options;
pub mod output;
pub mod passwd;
pub mod playbook;
pub mod preflight;
pub mod pyconfig;
pub mod pyjson;
pub mod pypath;
pub mod pyre;
pub mod source;
pub mod suggest;
pub mod template;
pub mod vault;
pub mod yaml;
