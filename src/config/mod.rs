//! Configuration as Ansible resolves it: every setting Ansible knows (`table.rs`) read
//! from its `ANSIBLE_*` variables, bosun's own `bosun.toml`, the ansible.cfg Ansible
//! would use (`sources.rs`), or its default, typed as `base.yml` types it
//! (`value.rs`). The command line and playbook keywords win over all of these; they
//! are applied where the values are used.

mod accessors;
pub mod dump;
mod setting;
mod sources;
mod table;
mod toml_file;
mod value;

use std::path::{Path, PathBuf};

pub use accessors::{Gathering, StdoutCallback};
pub use setting::{Kind, Setting, Use};
pub use sources::Sources;
pub use value::{Value, loose_bool};

use crate::pyconfig::Ini;

/// Where a setting's value came from (`ansible-config dump`'s origin).
#[derive(Clone, Debug, PartialEq)]
pub enum Origin {
    /// Nothing set it.
    Default,
    /// A config file (an ansible.cfg or bosun.toml).
    File(PathBuf),
    /// An environment variable.
    Env(&'static str),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::File(path) => write!(f, "{}", path.display()),
            Origin::Env(name) => write!(f, "env: {name}"),
        }
    }
}

/// One setting's value and where it came from.
#[derive(Clone, Debug)]
pub struct Resolved {
    /// The typed value.
    pub value: Value,
    /// Its origin.
    pub origin: Origin,
}

/// Every setting, resolved.
#[derive(Clone, Debug)]
pub struct Config {
    /// The files read.
    pub sources: Sources,
    /// One entry per setting of the table, in its order.
    values: Vec<Resolved>,
}

/// A config file or variable that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The file or variable.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl Config {
    /// Finds the config files and reads every setting from them and the environment.
    pub fn discover() -> Result<Config, ConfigError> {
        let sources = Sources::find();
        Config::load(sources, &|name| std::env::var(name).ok())
    }

    /// Every setting at its default (no file, no environment).
    pub fn defaults() -> Config {
        let cwd = std::env::current_dir().unwrap_or_default();
        Config {
            sources: Sources::default(),
            values: table::SETTINGS
                .iter()
                .map(|setting| default_of(setting, &cwd))
                .collect(),
        }
    }

    /// Reads the settings from `sources` and the variables `env` gives.
    pub fn load(
        sources: Sources,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let ini = match &sources.ansible_cfg {
            Some(path) => Some((path.clone(), read_ini(path)?)),
            None => None,
        };
        let toml = match &sources.bosun_toml {
            Some(path) => Some((path.clone(), toml_file::read(path)?)),
            None => None,
        };
        let mut values = Vec::with_capacity(table::SETTINGS.len());
        for setting in table::SETTINGS {
            let from_env = setting
                .env
                .iter()
                .filter_map(|name| env(name).map(|value| (*name, value)))
                .next_back();
            let resolved = match from_env {
                Some((name, text)) => match Value::parse(setting.kind, &text, &cwd, false) {
                    Ok(value) => Resolved {
                        value,
                        origin: Origin::Env(name),
                    },
                    Err(_) if text.is_empty() => default_of(setting, &cwd),
                    Err(message) => {
                        return Err(invalid(setting, &format!("env: {name}"), &message));
                    }
                },
                None => match file_value(setting, toml.as_ref(), ini.as_ref())? {
                    Some((path, text, from_ini)) => {
                        let base = path.parent().unwrap_or(&cwd);
                        let value = Value::parse(setting.kind, &text, base, from_ini).map_err(
                            |message| invalid(setting, &path.display().to_string(), &message),
                        )?;
                        Resolved {
                            value,
                            origin: Origin::File(path),
                        }
                    }
                    None => default_of(setting, &cwd),
                },
            };
            values.push(resolved);
        }
        let mut config = Config { sources, values };
        if let (Some(cfg), Some(toml)) = (&config.sources.ansible_cfg, &config.sources.bosun_toml) {
            let warning = format!(
                "both {} and {} are read; bosun.toml's settings win over the same settings in the ansible.cfg",
                toml.display(),
                cfg.display()
            );
            config.sources.warnings.push(warning);
        }
        Ok(config)
    }

    /// Each setting with its value.
    pub fn settings(&self) -> impl Iterator<Item = (&'static Setting, &Resolved)> {
        table::SETTINGS.iter().zip(&self.values)
    }

    /// The resolved setting `name` (`DEFAULT_FORKS`, `ssh.ssh_args`).
    pub fn resolved(&self, name: &str) -> Option<&Resolved> {
        self.settings()
            .find(|(setting, _)| setting.name == name)
            .map(|(_, resolved)| resolved)
    }

    /// Whether `name` was set by a file or a variable rather than left at its default.
    pub fn is_set(&self, name: &str) -> bool {
        self.resolved(name)
            .is_some_and(|r| r.origin != Origin::Default)
    }

    fn value(&self, name: &str) -> &Value {
        self.resolved(name).map_or(&Value::None, |r| &r.value)
    }
}

/// A setting's default, typed.
fn default_of(setting: &Setting, cwd: &Path) -> Resolved {
    let value = setting
        .default
        .and_then(|text| Value::parse(setting.kind, text, cwd, false).ok())
        .unwrap_or(Value::None);
    Resolved {
        value,
        origin: Origin::Default,
    }
}

/// The text a file gives `setting`: bosun.toml's wins over the ansible.cfg's; in an
/// ansible.cfg the last of its keys that is set wins, as in Ansible.
fn file_value(
    setting: &Setting,
    toml: Option<&(PathBuf, toml_file::TomlSettings)>,
    ini: Option<&(PathBuf, Ini)>,
) -> Result<Option<(PathBuf, String, bool)>, ConfigError> {
    if let Some((path, settings)) = toml
        && let Some(text) = settings.get(setting.name)
    {
        return Ok(Some((path.clone(), text.clone(), false)));
    }
    let Some((path, ini)) = ini else {
        return Ok(None);
    };
    let mut found = None;
    for (section, key) in setting.ini {
        if let Some(text) = ini.get(section, key) {
            let text = text.map_err(|message| ConfigError {
                origin: path.display().to_string(),
                message: format!("Error reading config file ({}): {message}", path.display()),
            })?;
            found = Some((path.clone(), text, true));
        }
    }
    Ok(found)
}

fn read_ini(path: &Path) -> Result<Ini, ConfigError> {
    let error = |message: String| ConfigError {
        origin: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        error(format!(
            "Error reading config file ({}): {e}",
            path.display()
        ))
    })?;
    Ini::parse(&text, true).map_err(|e| {
        error(format!(
            "Error reading config file ({}): {e}",
            path.display()
        ))
    })
}

/// Ansible's error for a value its type refuses.
fn invalid(setting: &Setting, origin: &str, message: &str) -> ConfigError {
    ConfigError {
        origin: origin.to_string(),
        message: format!(
            "Config '{}' from '{origin}' has an invalid value: {message}",
            setting.name
        ),
    }
}

#[cfg(test)]
mod tests;
