//! bosun: an agentless configuration manager in the Ansible style.

pub mod connection;
pub mod source;
pub mod yaml;
