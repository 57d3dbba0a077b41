//! What one configuration setting is: its Ansible name, where it is read from, its
//! type, its default, and what bosun does with it.

/// One setting Ansible knows, as `lib/ansible/config/base.yml` (or a plugin's options)
/// declares it.
#[derive(Debug)]
pub struct Setting {
    /// Ansible's name (`DEFAULT_FORKS`; plugin options as `ssh.ssh_args`).
    pub name: &'static str,
    /// The `(section, key)` pairs of an ansible.cfg it is read from; the last one set wins.
    pub ini: &'static [(&'static str, &'static str)],
    /// The environment variables it is read from; the last one set wins.
    pub env: &'static [&'static str],
    /// How its text is turned into a value.
    pub kind: Kind,
    /// The default, written as it would be in an ansible.cfg.
    pub default: Option<&'static str>,
    /// What bosun does with it.
    pub bosun: Use,
}

/// The types of `base.yml`, which decide how a setting's text becomes a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Ansible's loose boolean: `y`, `yes`, `on`, `1`, `true`, `t` are true, all else false.
    Bool,
    /// A whole number (`5` or `5.0`).
    Int,
    /// A number.
    Float,
    /// Comma-separated, each item trimmed and unquoted.
    List,
    /// One path, `~` and `$VARS` expanded, relative to the config file's directory.
    Path,
    /// Paths separated by `:`.
    PathSpec,
    /// Paths separated by `,`.
    PathList,
    /// Text as written (unquoted when it comes from an ansible.cfg).
    Str,
}

/// What bosun does with a setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Use {
    /// bosun acts on it as Ansible does; the text says how.
    Used(&'static str),
    /// Accepted and deliberately without effect; the text says why.
    Noted(&'static str),
    /// Known to Ansible, accepted, and ignored by bosun.
    Ignored,
}

impl Setting {
    /// The setting named `name` in the table.
    pub fn named(name: &str) -> Option<&'static Setting> {
        super::table::SETTINGS.iter().find(|s| s.name == name)
    }

    /// The setting an ansible.cfg sets with `key` in `[section]`.
    pub fn at(section: &str, key: &str) -> impl Iterator<Item = &'static Setting> {
        let (section, key) = (section.to_string(), key.to_string());
        super::table::SETTINGS
            .iter()
            .filter(move |s| s.ini.iter().any(|(sec, k)| *sec == section && *k == key))
    }
}
