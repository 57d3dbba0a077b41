//! Lookups about variables, settings and the inventory: `env`, `vars`, `varnames`,
//! `config` and `inventory_hostnames`.

use indexmap::IndexMap;
use minijinja::value::{Value, ValueKind};
use serde_json::Value as Json;

use super::{Ctx, Failure, Options, Outcome, fail};
use crate::template::engine::{set_undefined_hint, set_undefined_hint_unless_given};
use crate::template::pyfmt::{py_str, type_name};

/// `env`: environment variables, `default` (empty) for those unset.
pub(super) fn env(terms: &[Value], options: &Options) -> Outcome {
    let default = options.0.get("default").cloned();
    let mut out = Vec::new();
    for term in terms {
        let text = py_str(term);
        let name = text.split_whitespace().next().unwrap_or_default();
        match std::env::var(name) {
            Ok(value) => out.push(crate::template::tags::tagged(
                &value,
                crate::template::tags::Tags {
                    origin: Some(format!("<environment variable '{name}'>")),
                    ..Default::default()
                },
            )),
            Err(_) => match &default {
                Some(value) if value.is_undefined() => {
                    set_undefined_hint_unless_given(format!(
                        "The environment variable '{name}' is not set."
                    ));
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

/// `config`: the value of an Ansible setting (a plugin's with `plugin_type` and
/// `plugin_name`), as the configuration resolved it.
pub(super) fn config(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    let _ = ctx;
    let plugin = match (options.string("plugin_type"), options.string("plugin_name")) {
        (None, None) => None,
        (Some(_), Some(name)) => Some(name),
        _ => {
            return fail(
                "Both plugin_type and plugin_name are required, cannot use one without the other.",
            );
        }
    };
    let on_missing = options
        .string("on_missing")
        .unwrap_or_else(|| "error".into());
    let show_origin = options.flag("show_origin", false)?;
    let config =
        crate::config::Config::discover().unwrap_or_else(|_| crate::config::Config::defaults());
    let mut out = Vec::new();
    for term in terms {
        let Some(name) = term.as_str() else {
            return fail(format!(
                "Invalid setting identifier, {} is not a <class 'str'>, its a <class '{}'>.",
                crate::template::pyfmt::py_repr(term),
                type_name(term)
            ));
        };
        let key = match &plugin {
            Some(plugin) => format!("{plugin}.{name}"),
            None => name.to_string(),
        };
        match config.resolved(&key) {
            Some(resolved) => {
                let value = Value::from_serialize(resolved.value.to_json());
                out.push(if show_origin {
                    Value::from(vec![value, Value::from(resolved.origin.to_string())])
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
        let err = eval("lookup('env', 'BOSUN_SURELY_UNSET', default=undef('custom'))")
            .expect_err("undefined");
        assert!(err.contains("custom"), "{err}");
    }

    #[test]
    fn env_values_tell_their_origin() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            eval_in(
                "lookup('env', 'PATH') | ansible._protomatter.origin",
                dir.path(),
                json!({})
            ),
            Ok(json!("<environment variable 'PATH'>"))
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
