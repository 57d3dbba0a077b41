//! `bosun.toml`: bosun's own config file, with the same settings as an ansible.cfg
//! written as TOML. Tables are ansible.cfg's sections (`[defaults]`,
//! `[privilege_escalation]`, `[ssh_connection]` ...); keys outside a table are
//! `[defaults]`. Lists may be TOML arrays. Unlike an ansible.cfg, a key no setting
//! has is an error, since bosun.toml is bosun's own format.

use std::collections::HashMap;
use std::path::Path;

use super::ConfigError;
use super::setting::{Kind, Setting};

/// Each setting bosun.toml gives, by setting name, as ansible.cfg text.
pub type TomlSettings = HashMap<&'static str, String>;

/// bosun's own names for keys, and the ansible.cfg key each stands for.
const ALIASES: &[(&str, &str)] = &[("module_path", "library")];

/// Reads `path`.
pub fn read(path: &Path) -> Result<TomlSettings, ConfigError> {
    let error = |message: String| ConfigError {
        origin: path.display().to_string(),
        message: format!("{}: {message}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| error(e.to_string()))?;
    let mut settings = TomlSettings::new();
    for (key, value) in &table {
        match value {
            toml::Value::Table(section) => {
                for (inner, value) in section {
                    add(&mut settings, key, inner, value).map_err(&error)?;
                }
            }
            _ => add(&mut settings, "defaults", key, value).map_err(&error)?,
        }
    }
    Ok(settings)
}

/// Records `key = value` of `[section]`.
fn add(
    settings: &mut TomlSettings,
    section: &str,
    key: &str,
    value: &toml::Value,
) -> Result<(), String> {
    let key = ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, name)| name);
    let mut matching = Setting::at(section, key).peekable();
    if matching.peek().is_none() {
        let known = super::table::SETTINGS
            .iter()
            .flat_map(|s| s.ini.iter())
            .filter(|(sec, _)| *sec == section)
            .map(|(_, k)| *k);
        let hint = crate::suggest::closest(key, known)
            .map(|k| format!("; did you mean '{k}'?"))
            .unwrap_or_default();
        return Err(format!("[{section}] {key} is not a setting{hint}"));
    }
    for setting in matching {
        settings.insert(setting.name, text_of(setting.kind, value)?);
    }
    Ok(())
}

/// A TOML value as the ansible.cfg text that means the same.
fn text_of(kind: Kind, value: &toml::Value) -> Result<String, String> {
    Ok(match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Boolean(b) => if *b { "True" } else { "False" }.to_string(),
        toml::Value::Array(items) => {
            let separator = if kind == Kind::PathSpec { ":" } else { "," };
            items
                .iter()
                .map(|item| text_of(Kind::Str, item))
                .collect::<Result<Vec<_>, _>>()?
                .join(separator)
        }
        toml::Value::Table(_) => return Err("a setting cannot be a table".into()),
        other => other.to_string(),
    })
}
