//! `bosun config dump` and `bosun config view`, shaped as `ansible-config dump -t all`
//! and `ansible-config view`, with what bosun does with each setting.

use std::fmt::Write;

use super::{Config, Origin, Setting, Use};

/// `ansible-config dump`: `CONFIG_FILE()` and every setting as `NAME(origin) = value`,
/// sorted by name, then the plugins' options by plugin type. Settings bosun does not
/// act on are marked; `only_changed` leaves out those at their default.
pub fn dump(config: &Config, only_changed: bool) -> String {
    let mut out = String::new();
    let file = config
        .sources
        .ansible_cfg
        .as_ref()
        .map_or_else(|| "None".to_string(), |p| p.display().to_string());
    let mut lines = vec![("CONFIG_FILE", format!("CONFIG_FILE() = {file}\n"))];
    if let Some(toml) = &config.sources.bosun_toml {
        lines.push((
            "BOSUN_CONFIG_FILE",
            format!("BOSUN_CONFIG_FILE() = {}\n", toml.display()),
        ));
    }
    let shown = |(_, resolved): &(&'static Setting, &super::Resolved)| {
        !only_changed || resolved.origin != Origin::Default
    };
    for (setting, resolved) in config
        .settings()
        .filter(|(s, _)| !s.name.contains('.'))
        .filter(shown)
    {
        lines.push((setting.name, line(setting.name, setting, resolved)));
    }
    lines.sort_by_key(|(name, _)| *name);
    for (_, text) in lines {
        out.push_str(&text);
    }
    for (kind, plugins) in [
        ("CALLBACK", &["default", "profile_tasks"][..]),
        ("CONNECTION", &["ssh"]),
    ] {
        let _ = write!(out, "\n{kind}:\n{}\n", "=".repeat(kind.len()));
        for plugin in plugins {
            let prefix = format!("{plugin}.");
            let mut options: Vec<_> = config
                .settings()
                .filter(|(s, _)| s.name.starts_with(&prefix))
                .filter(shown)
                .collect();
            if options.is_empty() {
                continue;
            }
            options.sort_by_key(|(s, _)| s.name);
            let _ = write!(out, "\n{plugin}:\n{}\n", "_".repeat(plugin.len()));
            for (setting, resolved) in options {
                out.push_str(&line(&setting.name[prefix.len()..], setting, resolved));
            }
        }
    }
    out
}

/// `NAME(origin) = value`, marked when bosun does not act on the setting.
fn line(name: &str, setting: &Setting, resolved: &super::Resolved) -> String {
    let note = match setting.bosun {
        Use::Used(_) => String::new(),
        Use::Noted(why) => format!("  # bosun: {why}"),
        Use::Ignored => "  # ignored by bosun".to_string(),
    };
    format!(
        "{name}({}) = {}{note}\n",
        resolved.origin,
        resolved.value.python_repr()
    )
}

/// `ansible-config view`: the text of the config files in use (the ansible.cfg, then
/// bosun.toml, which is read on top of it); `None` when there is neither.
pub fn view(config: &Config) -> Option<Result<String, String>> {
    let files: Vec<_> = [&config.sources.ansible_cfg, &config.sources.bosun_toml]
        .into_iter()
        .flatten()
        .collect();
    if files.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (index, path) in files.iter().enumerate() {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => return Some(Err(format!("{}: {e}", path.display()))),
        };
        if files.len() > 1 {
            let role = if index == 0 {
                ""
            } else {
                ", read on top of it"
            };
            let _ = writeln!(out, "# {}{role}", path.display());
        }
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Some(Ok(out))
}
