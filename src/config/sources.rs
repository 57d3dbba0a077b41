//! Which config files are read: the ansible.cfg Ansible would use, and bosun's own
//! `bosun.toml`.
//!
//! The ansible.cfg is the first of `ANSIBLE_CONFIG` (a directory means its
//! `ansible.cfg`), `./ansible.cfg` (skipped, with a warning, when the working directory
//! is world-writable), `~/.ansible.cfg`, `/etc/ansible/ansible.cfg` that exists and can
//! be read. `bosun.toml` is `BOSUN_CONFIG` or `./bosun.toml`; a `BOSUN_CONFIG` that
//! does not end in `.toml` names an ansible.cfg instead, tried first (the older
//! meaning of the variable). `bosun.toml` is read on top of the
//! ansible.cfg, so a setting it gives wins over the same setting there, and bosun
//! warns when both files are in use so neither hides the other.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The files a run reads, and what was worth a warning while finding them.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// The ansible.cfg in use.
    pub ansible_cfg: Option<PathBuf>,
    /// bosun's own `bosun.toml`, read on top of it.
    pub bosun_toml: Option<PathBuf>,
    /// Warnings, worded as Ansible words them where Ansible has one.
    pub warnings: Vec<String>,
}

impl Sources {
    /// Finds the files from the environment and the working directory.
    pub fn find() -> Sources {
        let cwd = std::env::current_dir().ok();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        Sources::find_in(
            std::env::var_os("ANSIBLE_CONFIG").map(PathBuf::from),
            std::env::var_os("BOSUN_CONFIG").map(PathBuf::from),
            cwd.as_deref(),
            home.as_deref(),
            Path::new("/etc/ansible/ansible.cfg"),
        )
    }

    /// [`Sources::find`] with every input given.
    pub fn find_in(
        ansible_config: Option<PathBuf>,
        bosun_config: Option<PathBuf>,
        cwd: Option<&Path>,
        home: Option<&Path>,
        system: &Path,
    ) -> Sources {
        let mut sources = Sources::default();
        let mut candidates = Vec::new();
        let (bosun_config, bosun_ini) = match bosun_config {
            Some(path) if path.extension().is_some_and(|e| e == "toml") => (Some(path), None),
            other => (None, other),
        };
        candidates.extend(bosun_ini);
        let from_env = ansible_config.map(|path| {
            let path = expand_home(&path, home);
            let path = match cwd {
                Some(cwd) if path.is_relative() => cwd.join(path),
                _ => path,
            };
            if path.is_dir() {
                path.join("ansible.cfg")
            } else {
                path
            }
        });
        candidates.extend(from_env.clone());
        let mut skipped_public = None;
        if let Some(cwd) = cwd {
            let local = cwd.join("ansible.cfg");
            let public = std::fs::metadata(cwd)
                .map(|m| m.permissions().mode() & 0o002 != 0)
                .unwrap_or(false);
            if public {
                if local.exists() {
                    skipped_public = Some(cwd.to_path_buf());
                }
            } else {
                candidates.push(local);
            }
        }
        if let Some(home) = home {
            candidates.push(home.join(".ansible.cfg"));
        }
        candidates.push(system.to_path_buf());
        sources.ansible_cfg = candidates
            .into_iter()
            .find(|path| std::fs::File::open(path).is_ok_and(|_| path.is_file()));
        if let Some(cwd) = skipped_public
            && (from_env.is_none() || sources.ansible_cfg != from_env)
        {
            sources.warnings.push(format!(
                "Ansible is being run in a world writable directory ({}), ignoring it as an ansible.cfg source. For more information see https://docs.ansible.com/ansible/devel/reference_appendices/config.html#cfg-in-world-writable-dir",
                cwd.display()
            ));
        }
        sources.bosun_toml = match bosun_config {
            Some(path) => Some(path),
            None => cwd
                .map(|cwd| cwd.join("bosun.toml"))
                .filter(|p| p.is_file()),
        };
        sources
    }
}

/// `~/x` from `home`.
fn expand_home(path: &Path, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix("~"), home) {
        (Ok(rest), Some(home)) => home.join(rest),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path) {
        std::fs::write(path, "[defaults]\n").expect("write");
    }

    #[test]
    fn bosun_config_names_an_ansible_cfg_unless_it_is_toml() {
        let dir = tempfile::tempdir().expect("dir");
        let (cfg, toml, env) = (
            dir.path().join("project.cfg"),
            dir.path().join("bosun.toml"),
            dir.path().join("env.cfg"),
        );
        for file in [&cfg, &toml, &env] {
            write(file);
        }
        let found = Sources::find_in(Some(env.clone()), Some(cfg.clone()), None, None, &env);
        assert_eq!(found.ansible_cfg, Some(cfg));
        assert_eq!(found.bosun_toml, None);
        let found = Sources::find_in(Some(env.clone()), Some(toml.clone()), None, None, &env);
        assert_eq!(found.ansible_cfg, Some(env));
        assert_eq!(found.bosun_toml, Some(toml));
    }

    #[test]
    fn ansible_order_first_found_wins() {
        let dir = tempfile::tempdir().expect("dir");
        let (cwd, home, etc) = (
            dir.path().join("cwd"),
            dir.path().join("home"),
            dir.path().join("etc.cfg"),
        );
        for d in [&cwd, &home] {
            std::fs::create_dir(d).expect("mkdir");
        }
        let find = |env: Option<PathBuf>| {
            Sources::find_in(env, None, Some(&cwd), Some(&home), &etc).ansible_cfg
        };
        assert_eq!(find(None), None);
        write(&etc);
        assert_eq!(find(None), Some(etc.clone()));
        write(&home.join(".ansible.cfg"));
        assert_eq!(find(None), Some(home.join(".ansible.cfg")));
        write(&cwd.join("ansible.cfg"));
        assert_eq!(find(None), Some(cwd.join("ansible.cfg")));
        assert_eq!(
            find(Some(home.clone())),
            Some(cwd.join("ansible.cfg")),
            "a directory without ansible.cfg is skipped"
        );
        write(&home.join("ansible.cfg"));
        assert_eq!(find(Some(home.clone())), Some(home.join("ansible.cfg")));
    }

    #[test]
    fn a_world_writable_directory_is_skipped_with_a_warning() {
        let dir = tempfile::tempdir().expect("dir");
        let cwd = dir.path();
        write(&cwd.join("ansible.cfg"));
        std::fs::set_permissions(cwd, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let sources = Sources::find_in(None, None, Some(cwd), None, Path::new("/nonexistent"));
        assert_eq!(sources.ansible_cfg, None);
        assert!(sources.warnings[0].contains("world writable directory"));
    }
}
