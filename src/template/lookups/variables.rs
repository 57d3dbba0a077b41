//! Lookups about variables, settings and the inventory: `env`, `vars`, `varnames`,
//! `config` and `inventory_hostnames`.

use indexmap::IndexMap;
use minijinja::value::{Value, ValueKind};
use serde_json::Value as Json;

use super::{Ctx, Failure, Options, Outcome, fail};
use crate::template::engine::set_undefined_hint;
use crate::template::pyfmt::{py_str, type_name};

/// `env`: environment variables, `default` (empty) for those unset.
pub(super) fn env(terms: &[Value], options: &Options) -> Outcome {
    let default = options.0.get("default").cloned();
    let mut out = Vec::new();
    for term in terms {
        let text = py_str(term);
        let name = text.split_whitespace().next().unwrap_or_default();
        match std::env::var(name) {
            Ok(value) => out.push(Value::from(value)),
            Err(_) => match &default {
                Some(value) if value.is_undefined() => {
                    set_undefined_hint(format!("The environment variable '{name}' is not set."));
                    out.push(Value::UNDEFINED);
                }
                Some(value) => out.push(value.clone()),
                None => out.push(Value::from("")),
            },
        }
    }
    Ok(out)
}

/// `vars`: variables by name; a missing one is `default`, or undefined without it.
pub(super) fn vars(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    let vars = ctx.vars()?;
    let mut out = Vec::new();
    for term in terms {
        let Some(name) = term.as_str() else {
            return fail(format!(
                "Variable name must be 'str' not '{}'.",
                type_name(term)
            ));
        };
        match vars.lookup(name) {
            Some(value) => out.push(value),
            None => {
                if let Some(err) = crate::template::Vars::take_nested_error() {
                    return fail(err.message);
                }
                match options.get("default") {
                    Some(default) => out.push(default.clone()),
                    None => {
                        set_undefined_hint(format!("No variable named '{name}' was found."));
                        out.push(Value::UNDEFINED);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// `varnames`: the names of the variables matching each (Python) regex.
pub(super) fn varnames(ctx: &Ctx, terms: &[Value]) -> Outcome {
    let vars = ctx.vars()?;
    let names: Vec<String> = Value::from_dyn_object(vars.clone())
        .try_iter()
        .map(|keys| keys.map(|k| py_str(&k)).collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for term in terms {
        let Some(pattern) = term.as_str() else {
            return fail(format!(
                "Invalid setting identifier, \"{}\" is not a string, it is a <class '{}'>",
                py_str(term),
                type_name(term)
            ));
        };
        let re = crate::pyre::compile(pattern, Default::default(), crate::pyre::Anchor::Search)
            .map_err(|err| {
                Failure::from(format!(
                    "Unable to use \"{pattern}\" as a search parameter: {}",
                    python_regex_error(&err)
                ))
            })?;
        for name in &names {
            if re.is_match(name).unwrap_or(false) {
                out.push(Value::from(name.as_str()));
            }
        }
    }
    Ok(out)
}

/// Python's words for the commonest regex mistake, a quantifier with nothing before it.
fn python_regex_error(err: &str) -> String {
    if err.contains("repeat") || err.contains("Target of") {
        return "nothing to repeat at position 0".to_string();
    }
    err.to_string()
}

/// `config`: the value of an Ansible setting bosun knows.
pub(super) fn config(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    let _ = ctx;
    if options.get("plugin_type").is_some() || options.get("plugin_name").is_some() {
        return fail("bosun does not read plugin settings (plugin_type/plugin_name)");
    }
    let on_missing = options
        .string("on_missing")
        .unwrap_or_else(|| "error".into());
    let show_origin = options.flag("show_origin", false)?;
    let config = crate::config::Config::discover().unwrap_or_default();
    let settings = settings(&config);
    let mut out = Vec::new();
    for term in terms {
        let Some(name) = term.as_str() else {
            return fail(format!(
                "Invalid setting identifier, {} is not a <class 'str'>, its a <class '{}'>.",
                crate::template::pyfmt::py_repr(term),
                type_name(term)
            ));
        };
        match settings.get(name) {
            Some(value) => {
                let value = Value::from_serialize(value);
                out.push(if show_origin {
                    Value::from(vec![value, Value::from("default")])
                } else {
                    value
                });
            }
            None => {
                let message = format!("No config definition exists for '{name}' in bosun.");
                match on_missing.as_str() {
                    "error" => return fail(message),
                    "skip" => {}
                    "warn" => eprintln!("[WARNING]: Skipping {name}: {message}"),
                    other => {
                        return fail(format!(
                            "Invalid option for error handling, missing must be error, warn or skip, got: {other}."
                        ));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The Ansible settings bosun has, by Ansible's names.
fn settings(config: &crate::config::Config) -> IndexMap<&'static str, Json> {
    let paths = |list: &[std::path::PathBuf]| {
        Json::from(
            list.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>(),
        )
    };
    let home = std::env::var("HOME").unwrap_or_default();
    let roles_path = if config.roles_path.is_empty() {
        Json::from(vec![
            format!("{home}/.ansible/roles"),
            "/usr/share/ansible/roles".to_string(),
            "/etc/ansible/roles".to_string(),
        ])
    } else {
        paths(&config.roles_path)
    };
    IndexMap::from([
        ("DEFAULT_FORKS", Json::from(config.forks.unwrap_or(5))),
        (
            "DEFAULT_REMOTE_USER",
            Json::from(config.remote_user.clone()),
        ),
        (
            "DEFAULT_PRIVATE_KEY_FILE",
            Json::from(config.private_key_file.clone()),
        ),
        (
            "HOST_KEY_CHECKING",
            Json::from(config.host_key_checking.unwrap_or(true)),
        ),
        ("DEFAULT_ROLES_PATH", roles_path),
        ("DEFAULT_TIMEOUT", Json::from(config.timeout.unwrap_or(10))),
        ("DEFAULT_MODULE_PATH", paths(&config.module_path)),
        (
            "DEFAULT_VAULT_PASSWORD_FILE",
            Json::from(config.vault_password_file.clone()),
        ),
        (
            "DEFAULT_VAULT_IDENTITY_LIST",
            Json::from(config.vault_identity_list.clone()),
        ),
        (
            "DEFAULT_HOST_LIST",
            Json::from(if config.inventory.is_empty() {
                vec!["/etc/ansible/hosts".to_string()]
            } else {
                config.inventory.clone()
            }),
        ),
        ("DEFAULT_BECOME_METHOD", Json::from("sudo")),
        ("DEFAULT_BECOME_USER", Json::from("root")),
        ("DEFAULT_BECOME", Json::from(false)),
        ("DEFAULT_GATHERING", Json::from("implicit")),
        ("DEFAULT_HASH_BEHAVIOUR", Json::from("replace")),
        ("DEFAULT_JINJA2_NATIVE", Json::from(false)),
        ("DEFAULT_KEEP_REMOTE_FILES", Json::from(false)),
        (
            "DEFAULT_LOCAL_TMP",
            Json::from(format!("{home}/.ansible/tmp")),
        ),
        ("DEFAULT_REMOTE_TMP", Json::from("~/.ansible/tmp")),
        ("DEFAULT_TRANSPORT", Json::from("ssh")),
        ("DEFAULT_UNDEFINED_VAR_BEHAVIOR", Json::from(true)),
        ("ANY_ERRORS_FATAL", Json::from(false)),
        ("RETRY_FILES_ENABLED", Json::from(false)),
    ])
}

/// `inventory_hostnames`: the hosts matching a pattern, over the `groups` variable.
pub(super) fn inventory_hostnames(ctx: &Ctx, terms: &[Value]) -> Outcome {
    let mut groups: IndexMap<String, Vec<String>> = IndexMap::new();
    if let Some(Json::Object(map)) = ctx.var("groups") {
        for (group, hosts) in map {
            let hosts = match hosts {
                Json::Array(items) => items
                    .iter()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            groups.insert(group, hosts);
        }
    }
    let inventory = crate::inventory::Inventory::from_groups(&groups);
    let patterns: Vec<String> = terms
        .iter()
        .flat_map(|t| match t.kind() {
            ValueKind::Seq => t
                .try_iter()
                .map(|items| items.map(|i| py_str(&i)).collect())
                .unwrap_or_default(),
            _ => vec![py_str(t)],
        })
        .collect();
    let pattern = patterns.join(":");
    Ok(inventory
        .select(&pattern)
        .unwrap_or_default()
        .into_iter()
        .map(Value::from)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eval_in;
    use serde_json::json;

    #[test]
    fn varnames_and_vars() {
        let dir = tempfile::tempdir().expect("tempdir");
        let extra = json!({"qz_1": "hello", "qz_2": "world", "qa_1": "x", "qz_": "y"});
        let eval = |e: &str| eval_in(e, dir.path(), extra.clone());
        assert_eq!(
            eval("lookup('varnames', '^qz_.+', wantlist=True) | sort"),
            Ok(json!(["qz_1", "qz_2"]))
        );
        assert_eq!(
            eval("lookup('varnames', '^q.*_\\\\d', wantlist=True) | sort"),
            Ok(json!(["qa_1", "qz_1", "qz_2"]))
        );
        let err = eval("lookup('varnames', '*')").expect_err("bad regex");
        assert!(
            err.contains("Unable to use") && err.contains("nothing to repeat"),
            "{err}"
        );
        let err = eval("lookup('varnames', True)").expect_err("not a string");
        assert!(err.contains("Invalid setting identifier"), "{err}");
        assert_eq!(
            eval("query('vars', 'qz_1', 'qz_2')"),
            Ok(json!(["hello", "world"]))
        );
        assert_eq!(eval("lookup('vars', 'nope', default='d')"), Ok(json!("d")));
        assert_eq!(
            eval("lookup('vars', 'nope') | default('d')"),
            Ok(json!("d"))
        );
        let err = eval("lookup('vars', 'nope')").expect_err("missing");
        assert!(err.contains("No variable named 'nope' was found"), "{err}");
        let err = eval("lookup('vars', 42)").expect_err("not a name");
        assert!(
            err.contains("Variable name must be 'str' not 'int'"),
            "{err}"
        );
    }

    #[test]
    fn env_default_may_be_undefined() {
        let dir = tempfile::tempdir().expect("tempdir");
        let eval = |e: &str| eval_in(e, dir.path(), json!({}));
        assert_eq!(eval("lookup('env', 'BOSUN_SURELY_UNSET')"), Ok(json!("")));
        assert_eq!(
            eval("lookup('env', 'BOSUN_SURELY_UNSET', default=undef()) is undefined"),
            Ok(json!(true))
        );
        let err =
            eval("lookup('env', 'BOSUN_SURELY_UNSET', default=undef())").expect_err("undefined");
        assert!(
            err.contains("The environment variable 'BOSUN_SURELY_UNSET' is not set."),
            "{err}"
        );
    }

    #[test]
    fn inventory_hostnames_select_over_groups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let groups = json!({"groups": {
            "all": ["n1", "t1", "t2", "t3"], "ungrouped": ["n1"],
            "g1": ["t1", "t2", "t3"], "g2": ["t3"],
        }});
        let eval = |e: &str| eval_in(e, dir.path(), groups.clone());
        assert_eq!(
            eval("q('inventory_hostnames', 'g1:!t2')"),
            Ok(json!(["t1", "t3"]))
        );
        assert_eq!(
            eval("q('inventory_hostnames', 'g1:&g2')"),
            Ok(json!(["t3"]))
        );
        assert_eq!(eval("q('inventory_hostnames', 'n1')"), Ok(json!(["n1"])));
        assert_eq!(eval("q('inventory_hostnames', 'nope')"), Ok(json!([])));
        assert_eq!(eval("q('inventory_hostnames', 't?')|length"), Ok(json!(3)));
        assert_eq!(eval("q('inventory_hostnames', 'all')|length"), Ok(json!(4)));
    }

    #[test]
    fn config_knows_bosuns_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let eval = |e: &str| eval_in(e, dir.path(), json!({}));
        assert_eq!(
            eval("lookup('config', 'DEFAULT_BECOME_USER')"),
            Ok(json!("root"))
        );
        let err = eval("lookup('config', 'NO_SUCH_SETTING')").expect_err("unknown");
        assert!(
            err.contains("No config definition exists for 'NO_SUCH_SETTING'"),
            "{err}"
        );
        assert_eq!(
            eval("q('config', 'NO_SUCH_SETTING', on_missing='skip')"),
            Ok(json!([]))
        );
    }
}
