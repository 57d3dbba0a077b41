use std::path::Path;

use super::*;

fn sources(cfg: Option<&Path>, toml: Option<&Path>) -> Sources {
    Sources {
        ansible_cfg: cfg.map(Path::to_path_buf),
        bosun_toml: toml.map(Path::to_path_buf),
        warnings: Vec::new(),
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn reads_an_ansible_cfg_as_ansible_types_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ansible.cfg");
    std::fs::write(
        &path,
        "[defaults]\ninventory = hosts.ini\nforks = 7 ; seven\nroles_path = roles:/opt/roles\n\
         vault_identity_list = dev@a, prod@b\nnot_a_setting = whatever\n\
         [ssh_connection]\npipelining = True\nhost_key_checking = no\n[made_up]\nx = 1\n",
    )
    .expect("write");
    let config = Config::load(sources(Some(&path), None), &no_env).expect("reads");
    let here = dir.path().display();
    assert_eq!(config.inventory(), vec![format!("{here}/hosts.ini")]);
    assert_eq!(config.forks(), 7);
    assert_eq!(
        config.roles_path(),
        vec![
            dir.path().join("roles"),
            Path::new("/opt/roles").to_path_buf()
        ]
    );
    assert_eq!(config.vault_identity_list(), vec!["dev@a", "prod@b"]);
    assert!(!config.host_key_checking());
    assert_eq!(
        config.resolved("DEFAULT_FORKS").map(|r| r.origin.clone()),
        Some(Origin::File(path.clone()))
    );
}

#[test]
fn the_environment_wins_over_the_files_and_bosun_toml_over_ansible_cfg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("ansible.cfg");
    let toml = dir.path().join("bosun.toml");
    std::fs::write(
        &cfg,
        "[defaults]\nforks = 7\ntimeout = 3\nremote_user = cfg\n",
    )
    .expect("write");
    std::fs::write(&toml, "forks = 9\n[defaults]\nremote_user = \"toml\"\n").expect("write");
    let env = |name: &str| (name == "ANSIBLE_REMOTE_USER").then(|| "env".to_string());
    let config = Config::load(sources(Some(&cfg), Some(&toml)), &env).expect("reads");
    assert_eq!(config.forks(), 9);
    assert_eq!(config.timeout(), 3);
    assert_eq!(config.remote_user().as_deref(), Some("env"));
    assert!(config.sources.warnings[0].contains("bosun.toml's settings win"));
}

#[test]
fn an_invalid_value_is_ansibles_error_and_an_empty_variable_is_the_default() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("ansible.cfg");
    std::fs::write(&cfg, "[defaults]\nforks = many\n").expect("write");
    let error = Config::load(sources(Some(&cfg), None), &no_env).expect_err("refused");
    assert_eq!(
        error.to_string(),
        format!(
            "Config 'DEFAULT_FORKS' from '{}' has an invalid value: Invalid value provided for 'integer': 'many'",
            cfg.display()
        )
    );
    let env = |name: &str| (name == "ANSIBLE_FORKS").then(String::new);
    let config = Config::load(sources(None, None), &env).expect("reads");
    assert_eq!(config.forks(), 50);
}

#[test]
fn bosun_toml_refuses_unknown_keys_and_reads_arrays() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = dir.path().join("bosun.toml");
    std::fs::write(
        &toml,
        "roles_path = [\"a\", \"b\"]\nmodule_path = \"lib\"\n",
    )
    .expect("write");
    let config = Config::load(sources(None, Some(&toml)), &no_env).expect("reads");
    assert_eq!(
        config.roles_path(),
        vec![dir.path().join("a"), dir.path().join("b")]
    );
    assert_eq!(config.module_path(), vec![dir.path().join("lib")]);
    std::fs::write(&toml, "forkz = 3\n").expect("write");
    let error = Config::load(sources(None, Some(&toml)), &no_env).expect_err("refused");
    assert!(
        error.to_string().contains("did you mean 'forks'?"),
        "{error}"
    );
}

#[test]
fn every_setting_bosun_reads_is_in_the_table() {
    let config = Config::defaults();
    for setting in table::SETTINGS {
        assert!(config.resolved(setting.name).is_some());
    }
    for name in [
        "DEFAULT_HOST_LIST",
        "DEFAULT_ROLES_PATH",
        "DEFAULT_MODULE_PATH",
        "DEFAULT_FORKS",
        "DEFAULT_REMOTE_USER",
        "DEFAULT_PRIVATE_KEY_FILE",
        "ssh.host_key_checking",
        "ssh.timeout",
        "ssh.port",
        "DEFAULT_TRANSPORT",
        "ssh.ssh_args",
        "ssh.ssh_common_args",
        "ssh.ssh_extra_args",
        "DEFAULT_STDOUT_CALLBACK",
        "CALLBACKS_ENABLED",
        "profile_tasks.output_limit",
        "profile_tasks.sort_order",
        "ANSIBLE_NOCOLOR",
        "ANSIBLE_FORCE_COLOR",
        "RETRY_FILES_ENABLED",
        "RETRY_FILES_SAVE_PATH",
        "DEFAULT_GATHERING",
        "DEFAULT_VAULT_PASSWORD_FILE",
        "DEFAULT_VAULT_IDENTITY_LIST",
        "DEFAULT_ASK_VAULT_PASS",
        "DEFAULT_ASK_PASS",
        "ANY_ERRORS_FATAL",
        "DEFAULT_FORCE_HANDLERS",
        "DEFAULT_VERBOSITY",
        "default.display_skipped_hosts",
        "default.display_ok_hosts",
        "DEFAULT_BECOME",
        "DEFAULT_BECOME_METHOD",
        "DEFAULT_BECOME_USER",
        "DEFAULT_BECOME_ASK_PASS",
        "COLOR_OK",
        "COLOR_CHANGED",
        "COLOR_ERROR",
        "COLOR_SKIP",
        "COLOR_WARN",
        "COLOR_UNREACHABLE",
        "COLOR_INCLUDED",
    ] {
        let setting = Setting::named(name).expect(name);
        assert!(
            matches!(setting.bosun, Use::Used(_)),
            "{name} is read, so Used"
        );
    }
}
