//! Fact caching (`fact_caching`): the `memory` plugin keeps facts for the run only;
//! `jsonfile` keeps each host's facts in `<fact_caching_connection>/<prefix>s1_<host>`
//! in ansible-core 2.19's layout (`{"__payload__": "<the facts as JSON text>"}`, the
//! `s1_` being its schema's key prefix), so bosun and ansible-playbook read each
//! other's caches. The file is read when the run starts unless older than
//! `fact_caching_timeout` seconds (0: never too old) and rewritten whenever a task
//! sets facts for the host.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde_json::{Map, Value as Json};

/// The key ansible-core 2.19 puts the facts' JSON text under.
const PAYLOAD_KEY: &str = "__payload__";
/// What ansible-core 2.19 puts before a host's name (its cache schema, `s1`).
const SCHEMA_PREFIX: &str = "s1_";

/// Where facts are kept between runs.
#[derive(Clone, Debug, Default)]
pub enum FactCache {
    /// Facts live as long as the run (Ansible's default `memory` plugin).
    #[default]
    Memory,
    /// One JSON file per host.
    JsonFile {
        /// `fact_caching_connection`, `~` expanded.
        dir: PathBuf,
        /// `fact_caching_prefix`.
        prefix: String,
        /// `fact_caching_timeout` (zero: facts never expire).
        timeout: Duration,
    },
}

impl FactCache {
    /// The cache the settings name; a plugin bosun does not have, or `jsonfile`
    /// without a directory, is refused with Ansible's message.
    pub fn configured(
        plugin: &str,
        connection: Option<&str>,
        prefix: &str,
        timeout: u64,
    ) -> Result<FactCache, String> {
        match plugin.strip_prefix("ansible.builtin.").unwrap_or(plugin) {
            "memory" => Ok(FactCache::Memory),
            "jsonfile" => {
                let dir = connection.filter(|dir| !dir.is_empty()).ok_or(
                    "error, 'jsonfile' cache plugin requires the 'fact_caching_connection' config option to be set (to a writeable directory path)",
                )?;
                Ok(FactCache::JsonFile {
                    dir: PathBuf::from(crate::pypath::expanduser(dir)),
                    prefix: prefix.to_string(),
                    timeout: Duration::from_secs(timeout),
                })
            }
            _ => Err(format!("Unable to load the facts cache plugin ({plugin}).")),
        }
    }

    /// The facts cached for `host`, if there are any that have not expired.
    pub fn load(&self, host: &str) -> Option<Map<String, Json>> {
        let path = self.path(host)?;
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok()?;
        if let FactCache::JsonFile { timeout, .. } = self
            && !timeout.is_zero()
            && SystemTime::now()
                .duration_since(modified)
                .unwrap_or_default()
                > *timeout
        {
            return None;
        }
        let wrapper: Json = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
        let payload = wrapper.get(PAYLOAD_KEY)?.as_str()?;
        match untagged(serde_json::from_str(payload).ok()?) {
            Json::Object(facts) => Some(facts),
            _ => None,
        }
    }

    /// Keeps `facts` as `host`'s; a cache that cannot be written is the caller's
    /// warning, not a failed task (as in Ansible).
    pub fn store(&self, host: &str, facts: &Map<String, Json>) -> Result<(), String> {
        let Some(path) = self.path(host) else {
            return Ok(());
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|err| format!("error in 'jsonfile' cache, configured path ({}) does not have necessary permissions (rwx), disabling plugin: {err}", dir.display()))?;
        }
        let payload = crate::pyjson::dumps(&Json::Object(facts.clone()), None);
        let text = crate::pyjson::dumps(&serde_json::json!({ PAYLOAD_KEY: payload }), None);
        crate::local_write::write_atomic(&path, text.as_bytes()).map_err(|err| {
            format!(
                "error in 'jsonfile' cache plugin while trying to write to '{}' : {err}",
                path.display()
            )
        })
    }

    /// Forgets `host`'s cached facts (`--flush-cache`).
    pub fn flush(&self, host: &str) {
        if let Some(path) = self.path(host) {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Whether facts outlive the run.
    pub fn persists(&self) -> bool {
        matches!(self, FactCache::JsonFile { .. })
    }

    /// The file of `host`'s facts, for a cache that has files.
    fn path(&self, host: &str) -> Option<PathBuf> {
        match self {
            FactCache::Memory => None,
            FactCache::JsonFile { dir, prefix, .. } => {
                Some(dir.join(format!("{prefix}{SCHEMA_PREFIX}{host}")))
            }
        }
    }
}

/// `value` without the data tags ansible-core writes with it: a tagged value is
/// `{"value": ..., "tags": [...], "__ansible_type": "_AnsibleTagged..."}`.
fn untagged(value: Json) -> Json {
    match value {
        Json::Object(mut map) => {
            let tagged = map
                .get("__ansible_type")
                .and_then(Json::as_str)
                .is_some_and(|kind| kind.starts_with("_AnsibleTagged"));
            if tagged {
                return untagged(map.remove("value").unwrap_or(Json::Null));
            }
            Json::Object(map.into_iter().map(|(k, v)| (k, untagged(v))).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(untagged).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jsonfile(dir: &std::path::Path, timeout: u64) -> FactCache {
        FactCache::configured("ansible.builtin.jsonfile", dir.to_str(), "pre_", timeout)
            .expect("a jsonfile cache")
    }

    #[test]
    fn facts_round_trip_through_ansibles_file_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = jsonfile(dir.path(), 0);
        let Json::Object(facts) = json!({"b": 1, "a": {"y": 2, "x": 1}}) else {
            unreachable!("a map")
        };
        cache.store("web1", &facts).expect("stored");
        let text = std::fs::read_to_string(dir.path().join("pre_s1_web1")).expect("the file");
        assert_eq!(
            text,
            r#"{"__payload__": "{\"a\": {\"x\": 1, \"y\": 2}, \"b\": 1}"}"#
        );
        assert_eq!(cache.load("web1"), Some(facts));
        cache.flush("web1");
        assert_eq!(cache.load("web1"), None);
    }

    #[test]
    fn the_tags_ansible_writes_are_read_past() {
        let dir = tempfile::tempdir().expect("tempdir");
        let payload = r#"{"foo": {"value": 1, "tags": [{"path": "/c.yml", "__ansible_type": "Origin"}], "__ansible_type": "_AnsibleTaggedInt"}, "d": {"value": {"a": {"value": "x", "tags": [], "__ansible_type": "_AnsibleTaggedStr"}}, "tags": [], "__ansible_type": "_AnsibleTaggedDict"}}"#;
        let file = json!({ "__payload__": payload }).to_string();
        std::fs::write(dir.path().join("pre_s1_h"), file).expect("write");
        let loaded = jsonfile(dir.path(), 0).load("h").expect("facts");
        assert_eq!(Json::Object(loaded), json!({"foo": 1, "d": {"a": "x"}}));
    }

    #[test]
    fn facts_older_than_the_timeout_are_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        jsonfile(dir.path(), 0)
            .store("h", &Map::new())
            .expect("stored");
        let file = std::fs::File::options()
            .write(true)
            .open(dir.path().join("pre_s1_h"))
            .expect("open");
        let old = SystemTime::now() - Duration::from_secs(120);
        file.set_modified(old).expect("backdate");
        assert_eq!(jsonfile(dir.path(), 60).load("h"), None);
        assert_eq!(jsonfile(dir.path(), 0).load("h"), Some(Map::new()));
    }

    #[test]
    fn memory_keeps_nothing_and_unknown_plugins_are_refused() {
        let memory = FactCache::configured("memory", None, "x", 0).expect("memory");
        assert!(memory.store("h", &Map::new()).is_ok());
        assert_eq!(memory.load("h"), None);
        let err = FactCache::configured("redis", None, "x", 0).unwrap_err();
        assert_eq!(err, "Unable to load the facts cache plugin (redis).");
        assert!(FactCache::configured("jsonfile", None, "x", 0).is_err());
    }
}
