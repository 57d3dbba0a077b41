//! The connections a run keeps open: one per host and connection keywords, so a task
//! with another `remote_user`, `port` or `connection` gets its own, as in Ansible.

use std::collections::HashMap;
use std::sync::Arc;

use crate::connection::Connection;
use crate::playbook::ConnectKeywords;

/// Open connections by host name and the keywords they were made with.
#[derive(Default)]
pub(super) struct Connections {
    open: tokio::sync::Mutex<HashMap<(String, ConnectKeywords), Arc<dyn Connection>>>,
}

impl Connections {
    /// The connection to `host` with `keywords`, opened by `open` on first use.
    pub(super) async fn get_or_open(
        &self,
        host: &str,
        keywords: &ConnectKeywords,
        open: impl FnOnce() -> Result<Arc<dyn Connection>, String>,
    ) -> Result<Arc<dyn Connection>, String> {
        let mut cache = self.open.lock().await;
        let key = (host.to_string(), keywords.clone());
        if let Some(conn) = cache.get(&key) {
            return Ok(conn.clone());
        }
        let conn = open()?;
        cache.insert(key, conn.clone());
        Ok(conn)
    }

    /// Forgets every connection to `host` and returns them, for the caller to close.
    pub(super) async fn forget(&self, host: &str) -> Vec<Arc<dyn Connection>> {
        let mut cache = self.open.lock().await;
        cache
            .extract_if(|(name, _), _| name == host)
            .map(|(_, conn)| conn)
            .collect()
    }

    /// Closes every connection.
    pub(super) async fn close_all(&self) {
        let connections: Vec<_> = self.open.lock().await.drain().map(|(_, c)| c).collect();
        futures::future::join_all(connections.iter().map(|c| c.close())).await;
    }
}
