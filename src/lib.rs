//! bosun: an agentless configuration manager in the Ansible style.

pub mod clock;
pub mod connection;
pub mod glob;
pub mod modules;
pub mod playbook;
pub mod source;
pub mod suggest;
pub mod template;
pub mod yaml;
