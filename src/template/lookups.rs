//! Lookups (`lookup('env', 'HOME')`, `query('file', ...)`): read data on the control
//! node while templating, as Ansible's lookup plugins do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use super::vars::Vars;

/// Adds `lookup`, `query` and `q` to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", lookup);
    env.add_function("query", query);
    env.add_function("q", query);
}

fn lookup(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let wantlist: Option<bool> = kwargs.get("wantlist")?;
    let values = run(state, &name, &terms, &kwargs)?;
    if wantlist == Some(true) {
        return Ok(Value::from(values));
    }
    Ok(match values.len() {
        1 => values.into_iter().next().unwrap_or_default(),
        _ => Value::from(
            values
                .iter()
                .map(super::pyfmt::py_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
    })
}

fn query(state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    run(state, &name, &terms, &kwargs).map(Value::from)
}

/// Runs lookup `name` over its terms, one result per term.
fn run(state: &State, name: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let name = crate::fqcn::short_name(name);
    let strings = || -> Vec<String> {
        terms
            .iter()
            .flat_map(|t| match t.try_iter() {
                Ok(items) if t.as_str().is_none() => {
                    items.map(|i| super::pyfmt::py_str(&i)).collect()
                }
                _ => vec![super::pyfmt::py_str(t)],
            })
            .collect()
    };
    let result = match name {
        "env" => {
            let default: Option<String> = kwargs.get("default")?;
            strings()
                .into_iter()
                .map(|var| {
                    Value::from(
                        std::env::var(&var)
                            .ok()
                            .or_else(|| default.clone())
                            .unwrap_or_default(),
                    )
                })
                .collect()
        }
        "file" | "unvault" => {
            let rstrip: Option<bool> = kwargs.get("rstrip")?;
            let mut out = Vec::new();
            for term in strings() {
                let path = find(state, "files", &term)
                    .ok_or_else(|| failure(format!("could not locate file in lookup: {term}")))?;
                let text = crate::source::SourceFile::read(&path)
                    .map_err(|err| failure(format!("could not read {}: {err}", path.display())))?
                    .text
                    .clone();
                let rstrip = rstrip.or((name == "unvault").then_some(false));
                let text = if rstrip.unwrap_or(true) {
                    text.trim_end().to_string()
                } else {
                    text
                };
                out.push(Value::from(text));
            }
            out
        }
        "template" => {
            let vars = current_vars(state)?;
            let mut out = Vec::new();
            for term in strings() {
                let path = find(state, "templates", &term).ok_or_else(|| {
                    failure(format!(
                        "the template file {term} could not be found for the lookup"
                    ))
                })?;
                let text = std::fs::read_to_string(&path)
                    .map_err(|err| failure(format!("could not read {}: {err}", path.display())))?;
                let rendered = vars
                    .templar()
                    .render_str(&text, &vars)
                    .map_err(|err| failure(err.message))?;
                out.push(Value::from(rendered));
            }
            out
        }
        "first_found" => first_found(state, terms)?,
        "pipe" => strings()
            .into_iter()
            .map(|command| {
                let output = std::process::Command::new("/bin/sh")
                    .arg("-c")
                    .arg(&command)
                    .output()
                    .map_err(|err| {
                        failure(format!("lookup_plugin.pipe({command}) failed: {err}"))
                    })?;
                if !output.status.success() {
                    return Err(failure(format!(
                        "lookup_plugin.pipe({command}) returned {}",
                        output.status.code().unwrap_or(-1)
                    )));
                }
                let text = String::from_utf8_lossy(&output.stdout);
                Ok(Value::from(text.trim_end().to_string()))
            })
            .collect::<Result<_, _>>()?,
        "items" | "list" => terms
            .iter()
            .flat_map(|t| match t.try_iter() {
                Ok(items) if t.as_str().is_none() => items.collect(),
                _ => vec![t.clone()],
            })
            .collect(),
        "vars" => {
            let vars = current_vars(state)?;
            strings()
                .into_iter()
                .map(|name| {
                    vars.lookup(&name)
                        .ok_or_else(|| failure(format!("No variable found with this name: {name}")))
                })
                .collect::<Result<_, _>>()?
        }
        other => {
            return Err(failure(format!(
                "lookup plugin '{other}' is not supported by bosun (supported: env, file, template, first_found, pipe, items, list, vars)"
            )));
        }
    };
    kwargs.assert_all_used().ok();
    Ok(result)
}

/// `first_found`: the first existing file among `files` (in `paths`).
fn first_found(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let mut files = Vec::new();
    let mut paths = Vec::new();
    let mut skip = false;
    for term in terms {
        if let Some(text) = term.as_str() {
            files.push(text.to_string());
        } else if term.kind() == minijinja::value::ValueKind::Map {
            let list = |key: &str| -> Vec<String> {
                term.get_attr(key)
                    .ok()
                    .and_then(|v| {
                        v.try_iter()
                            .ok()
                            .map(|i| i.map(|x| super::pyfmt::py_str(&x)).collect())
                    })
                    .unwrap_or_default()
            };
            files.extend(list("files"));
            paths.extend(list("paths"));
            skip = term.get_attr("skip").is_ok_and(|v| v.is_true());
        } else if let Ok(items) = term.try_iter() {
            files.extend(items.map(|i| super::pyfmt::py_str(&i)));
        }
    }
    for file in &files {
        let candidates: Vec<PathBuf> = if paths.is_empty() {
            find(state, "files", file).into_iter().collect()
        } else {
            paths.iter().map(|p| Path::new(p).join(file)).collect()
        };
        if let Some(found) = candidates.into_iter().find(|p| p.exists()) {
            return Ok(vec![Value::from(found.to_string_lossy().into_owned())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(failure(format!(
        "No file was found when using first_found. Tried: {}",
        files.join(", ")
    )))
}

/// Finds a control-node file as Ansible's lookups do: in the role, then beside the playbook.
fn find(state: &State, subdir: &str, name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    if path.is_absolute() {
        return Some(path.to_path_buf());
    }
    let dir = |var: &str| {
        state
            .lookup(var)
            .and_then(|v| v.as_str().map(PathBuf::from))
    };
    let mut candidates = Vec::new();
    if let Some(role) = dir("role_path") {
        candidates.push(role.join(subdir).join(name));
        candidates.push(role.join(name));
    }
    if let Some(playbook) = dir("playbook_dir") {
        candidates.push(playbook.join(subdir).join(name));
        candidates.push(playbook.join(name));
    }
    candidates.push(path.to_path_buf());
    candidates.into_iter().find(|c| c.exists())
}

fn current_vars(state: &State) -> Result<Arc<Vars>, Error> {
    state
        .lookup("vars")
        .and_then(|v| v.downcast_object::<Vars>())
        .ok_or_else(|| failure("this lookup needs the task's variables".to_string()))
}

fn failure(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value as Json, json};

    use crate::template::{Templar, Vars};

    fn render(text: &str, playbook_dir: &std::path::Path) -> Result<String, String> {
        let Json::Object(map) =
            json!({"playbook_dir": playbook_dir.display().to_string(), "who": "bosun"})
        else {
            unreachable!("a mapping")
        };
        let vars = Vars::new(Templar::new(), map);
        vars.templar()
            .render_str(text, &vars)
            .map_err(|e| e.message)
    }

    #[test]
    fn lookups_read_control_node_data() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("files")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("templates")).expect("mkdir");
        std::fs::write(dir.path().join("files/motd"), "hello\n").expect("write");
        std::fs::write(dir.path().join("templates/t.j2"), "hi {{ who }}").expect("write");
        let p = dir.path();
        // lookup('file') strips the trailing newline, as Ansible's rstrip=True default
        assert_eq!(
            render("{{ lookup('file', 'motd') }}", p),
            Ok("hello".into())
        );
        assert_eq!(
            render("{{ lookup('template', 't.j2') }}", p),
            Ok("hi bosun".into())
        );
        assert_eq!(
            render("{{ lookup('pipe', 'echo piped') }}", p),
            Ok("piped".into())
        );
        assert_eq!(
            render("{{ lookup('env', 'BOSUN_SURELY_UNSET', default='d') }}", p),
            Ok("d".into())
        );
        assert_eq!(
            render(
                "{{ lookup('first_found', ['missing', 'motd']) | basename }}",
                p
            ),
            Ok("motd".into())
        );
        assert_eq!(
            render("{{ query('items', [1, 2]) | length }}", p),
            Ok("2".into())
        );
        let err = render("{{ lookup('file', 'nope') }}", p).expect_err("missing file");
        assert!(
            err.contains("could not locate file in lookup: nope"),
            "{err}"
        );
        let err = render("{{ lookup('redis', 'k') }}", p).expect_err("unsupported");
        assert!(
            err.contains("lookup plugin 'redis' is not supported"),
            "{err}"
        );
    }
}
