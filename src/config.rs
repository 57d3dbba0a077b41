//! Settings from `bosun.toml` or the `[defaults]` of an `ansible.cfg` in the working
//! directory (`BOSUN_CONFIG` names another file).

use std::path::{Path, PathBuf};

/// The settings bosun reads from a config file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    /// Default inventory sources.
    pub inventory: Vec<String>,
    /// Default forks.
    pub forks: Option<usize>,
    /// Default remote user.
    pub remote_user: Option<String>,
    /// Default private key.
    pub private_key_file: Option<String>,
    /// Whether host keys are checked.
    pub host_key_checking: Option<bool>,
    /// Extra places to find roles.
    pub roles_path: Vec<PathBuf>,
    /// Connection timeout in seconds.
    pub timeout: Option<u64>,
    /// Extra places to find drop-in modules (`library`/`module_path`).
    pub module_path: Vec<PathBuf>,
    /// `vault_password_file`, the default vault password source.
    pub vault_password_file: Option<String>,
    /// `vault_identity_list`: vault ids tried before the command line's.
    pub vault_identity_list: Vec<String>,
}

/// A config file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// Finds and reads the config file, if any.
    pub fn discover() -> Result<Config, ConfigError> {
        if let Ok(path) = std::env::var("BOSUN_CONFIG") {
            return Config::read(Path::new(&path));
        }
        for name in ["bosun.toml", "ansible.cfg"] {
            let path = Path::new(name);
            if path.is_file() {
                return Config::read(path);
            }
        }
        let mut config = Config::default();
        config.apply_environment().map_err(|message| ConfigError {
            path: PathBuf::from("(environment)"),
            message,
        })?;
        Ok(config)
    }

    /// Reads one config file (TOML for `.toml`, INI otherwise).
    pub fn read(path: &Path) -> Result<Config, ConfigError> {
        let error = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let pairs: Vec<(String, String)> = if path.extension().is_some_and(|e| e == "toml") {
            let table: toml::Table = text
                .parse()
                .map_err(|e: toml::de::Error| error(e.to_string()))?;
            let section = table
                .get("defaults")
                .and_then(|v| v.as_table())
                .unwrap_or(&table);
            section
                .iter()
                .map(|(k, v)| {
                    let value = match v {
                        toml::Value::String(s) => s.clone(),
                        toml::Value::Array(items) => items
                            .iter()
                            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                            .collect::<Vec<_>>()
                            .join(":"),
                        other => other.to_string(),
                    };
                    (k.clone(), value)
                })
                .collect()
        } else {
            ini_defaults(&text)
        };
        let mut config = Config::default();
        for (key, value) in pairs {
            config.set(&key, value).map_err(error)?;
        }
        config.apply_environment().map_err(error)?;
        Ok(config)
    }

    /// Applies the settings given by `ANSIBLE_*` variables, which win over the file
    /// as in Ansible.
    fn apply_environment(&mut self) -> Result<(), String> {
        for (variable, key) in ENVIRONMENT {
            if let Ok(value) = std::env::var(variable) {
                self.set(key, value)?;
            }
        }
        Ok(())
    }

    /// Sets one `[defaults]` setting; unknown ones are left to the caller.
    fn set(&mut self, key: &str, value: String) -> Result<(), String> {
        match key {
            "inventory" | "hostfile" => {
                self.inventory = value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            "forks" => {
                self.forks = Some(
                    value
                        .parse()
                        .map_err(|_| format!("forks must be a number, not '{value}'"))?,
                )
            }
            "remote_user" => self.remote_user = Some(value),
            "private_key_file" => self.private_key_file = Some(value),
            "host_key_checking" => {
                self.host_key_checking =
                    crate::modules::args::parse_bool(&serde_json::Value::String(value.clone()))
            }
            "roles_path" => self.roles_path = value.split(':').map(PathBuf::from).collect(),
            "library" | "module_path" => {
                self.module_path = value.split(':').map(PathBuf::from).collect()
            }
            "timeout" => self.timeout = value.parse().ok(),
            "vault_password_file" => self.vault_password_file = Some(value),
            "vault_identity_list" => {
                self.vault_identity_list = value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }
            _ => {}
        }
        Ok(())
    }
}

/// The `ANSIBLE_*` variables bosun reads, and the `[defaults]` setting each one sets.
const ENVIRONMENT: &[(&str, &str)] = &[
    ("ANSIBLE_INVENTORY", "inventory"),
    ("ANSIBLE_ROLES_PATH", "roles_path"),
    ("ANSIBLE_LIBRARY", "library"),
    ("ANSIBLE_FORKS", "forks"),
    ("ANSIBLE_REMOTE_USER", "remote_user"),
    ("ANSIBLE_PRIVATE_KEY_FILE", "private_key_file"),
    ("ANSIBLE_HOST_KEY_CHECKING", "host_key_checking"),
    ("ANSIBLE_TIMEOUT", "timeout"),
    ("ANSIBLE_VAULT_PASSWORD_FILE", "vault_password_file"),
    ("ANSIBLE_VAULT_IDENTITY_LIST", "vault_identity_list"),
];

/// The `key = value` pairs of the `[defaults]` section of an ansible.cfg.
fn ini_defaults(text: &str) -> Vec<(String, String)> {
    let mut in_defaults = false;
    let mut pairs = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            in_defaults = line == "[defaults]";
            continue;
        }
        if let (true, Some((key, value))) = (in_defaults, line.split_once('=')) {
            pairs.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ansible_cfg_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ansible.cfg");
        std::fs::write(&path, "[defaults]\ninventory = hosts.ini\nforks = 7\nroles_path = a:b\nvault_password_file = ~/.vault\nvault_identity_list = dev@a, prod@b\n[ssh_connection]\npipelining = True\n").expect("write");
        let config = Config::read(&path).expect("reads");
        assert_eq!(config.inventory, vec!["hosts.ini"]);
        assert_eq!(config.forks, Some(7));
        assert_eq!(config.vault_password_file.as_deref(), Some("~/.vault"));
        assert_eq!(config.vault_identity_list, vec!["dev@a", "prod@b"]);
        assert_eq!(
            config.roles_path,
            vec![PathBuf::from("a"), PathBuf::from("b")]
        );
    }

    #[test]
    fn reads_bosun_toml() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bosun.toml");
        std::fs::write(
            &path,
            "inventory = \"inv/\"\nforks = 20\nhost_key_checking = false\n",
        )
        .expect("write");
        let config = Config::read(&path).expect("reads");
        assert_eq!(config.inventory, vec!["inv/"]);
        assert_eq!(config.forks, Some(20));
        assert_eq!(config.host_key_checking, Some(false));
    }

    #[test]
    fn bad_forks_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bosun.toml");
        std::fs::write(&path, "forks = \"many\"\n").expect("write");
        assert!(Config::read(&path).is_err());
    }
}
