//! bosun: an agentless configuration manager in the Ansible style.

pub mod inventory;
pub mod source;
pub mod yaml;
