//! bosun: an agentless configuration manager in the Ansible style.

pub mod template;
