//! Placeholder inventory (comma lists and the implicit localhost) until the full parser lands.

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

/// Hosts and groups.
#[derive(Debug, Default)]
pub struct Inventory {
    hosts: Vec<String>,
}

/// An inventory problem.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct InventoryError(String);

impl Inventory {
    /// Loads comma lists.
    pub fn load(sources: &[String]) -> Result<Inventory, InventoryError> {
        let hosts = sources
            .iter()
            .flat_map(|s| {
                s.split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(Inventory { hosts })
    }
    /// Nothing yet.
    pub fn load_playbook_vars(&mut self, _dir: &std::path::Path) -> Result<(), InventoryError> {
        Ok(())
    }
    /// Names and all.
    pub fn select(&self, pattern: &str) -> Result<Vec<String>, InventoryError> {
        if pattern == "all" || pattern == "*" {
            return Ok(self.hosts.clone());
        }
        Ok(pattern
            .split([',', ':'])
            .filter(|p| self.hosts.iter().any(|h| h == p) || *p == "localhost")
            .map(str::to_string)
            .collect())
    }
    /// Host vars.
    pub fn host_vars(&self, host: &str) -> Map<String, Json> {
        let mut vars = Map::new();
        if host == "localhost" {
            vars.insert("ansible_connection".into(), Json::String("local".into()));
        }
        vars
    }
    /// Group names.
    pub fn group_names(&self, _host: &str) -> Vec<String> {
        Vec::new()
    }
    /// Groups.
    pub fn groups(&self) -> IndexMap<String, Vec<String>> {
        let mut groups = IndexMap::new();
        groups.insert("all".to_string(), self.hosts.clone());
        groups.insert("ungrouped".to_string(), self.hosts.clone());
        groups
    }
    /// Host names.
    pub fn host_names(&self) -> Vec<String> {
        self.hosts.clone()
    }
    /// List JSON.
    pub fn to_list_json(&self) -> Json {
        Json::Null
    }
    /// Graph.
    pub fn graph(&self, _group: Option<&str>) -> Result<String, InventoryError> {
        Ok(String::new())
    }
}
