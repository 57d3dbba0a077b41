//! Playbooks: the typed tree (`ast`), the `k=v` argument forms (`args`) and the loader
//! that checks everything before a run starts.

pub mod args;
pub mod ast;
pub mod keyword;
pub mod loader;
pub mod role_argspec;

pub use ast::*;
pub use loader::{LoadContext, Loader, RoleUse};
