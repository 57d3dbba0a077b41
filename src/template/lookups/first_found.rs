//! `first_found`: the first of several files that exists, searched as Ansible does.

use minijinja::value::{Value, ValueKind};

use super::search::{find_file, unfrack};
use super::{Ctx, Failure, Options, Outcome, boolean, fail};
use crate::template::pyfmt::{py_str, type_name};

/// The options in force while the terms are read: a mapping term replaces them all.
struct Settings {
    paths: Vec<String>,
    skip: bool,
}

pub(super) fn run(ctx: &Ctx, terms: &[Value], options: &Options) -> Outcome {
    // As a `with_first_found` loop, the task's action picks the subdirectory searched
    // first (Ansible's historical rule); as lookup() or query(), there is none.
    let subdir = ctx.with_action.as_deref().map(|action| {
        let word = ["template", "var", "file"]
            .into_iter()
            .find(|word| action.contains(word))
            .unwrap_or("file");
        format!("{word}s")
    });
    let terms: Vec<Value> = if ctx.with_action.is_some() {
        terms
            .iter()
            .filter(|t| !t.is_undefined())
            .cloned()
            .collect()
    } else {
        terms.to_vec()
    };
    let mut settings = Settings {
        paths: options.get("paths").map(list_option).unwrap_or_default(),
        skip: options.flag("skip", false)?,
    };
    let terms = if terms.is_empty() {
        options
            .get("files")
            .map(|files| vec![files.clone()])
            .unwrap_or_default()
    } else {
        terms
    };
    let mut search = Vec::new();
    process(&terms, &mut settings, &mut search)?;
    for name in &search {
        if let Some(path) = find_file(ctx, subdir.as_deref(), name) {
            return Ok(vec![Value::from(unfrack(&path))]);
        }
    }
    if settings.skip {
        return Ok(Vec::new());
    }
    fail("No file was found when using first_found.")
}

/// Ansible's `_process_terms`: the file names to try, in order.
fn process(
    terms: &[Value],
    settings: &mut Settings,
    search: &mut Vec<String>,
) -> Result<(), Failure> {
    for term in terms {
        let files = match term.kind() {
            ValueKind::Map => {
                let option = |key: &str| {
                    term.get_attr(key)
                        .ok()
                        .filter(|v| !v.is_undefined() && !v.is_none())
                };
                settings.paths = option("paths").map(|v| list_option(&v)).unwrap_or_default();
                settings.skip = match option("skip") {
                    Some(v) => boolean(&v)
                        .ok_or_else(|| Failure::from(format!("Invalid value for 'skip': {v}")))?,
                    None => false,
                };
                option("files").map(|v| list_option(&v)).unwrap_or_default()
            }
            ValueKind::String => vec![py_str(term)],
            ValueKind::Seq => {
                let items: Vec<Value> = term.try_iter().map(Iterator::collect).unwrap_or_default();
                process(&items, settings, search)?;
                continue;
            }
            _ => {
                return fail(format!(
                    "Invalid term supplied. A string, dict or list is required, not '{}').",
                    type_name(term)
                ));
            }
        };
        let files = split_on(&files, &[',', ';']);
        let paths = split_on(&settings.paths, &[',', ':', ';']);
        if paths.is_empty() {
            search.extend(files);
        } else {
            for path in &paths {
                for file in &files {
                    search.push(crate::pypath::join([path.as_str(), file.as_str()]));
                }
            }
        }
    }
    Ok(())
}

/// A list option: a list's items, or a string's comma-separated parts.
fn list_option(value: &Value) -> Vec<String> {
    match value.kind() {
        ValueKind::Seq => value
            .try_iter()
            .map(|items| items.map(|i| py_str(&i)).collect())
            .unwrap_or_default(),
        _ => py_str(value)
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    }
}

/// Ansible's (deprecated) splitting of each name on `splitters`.
fn split_on(names: &[String], splitters: &[char]) -> Vec<String> {
    names
        .iter()
        .flat_map(|name| name.split(splitters).map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::test_support::eval_in;
    use serde_json::json;

    #[test]
    fn first_found_searches_role_task_dir_and_play_as_ansible() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        let role = p.join("roles/r1");
        for sub in ["files", "vars", "tasks/sub"] {
            std::fs::create_dir_all(role.join(sub)).expect("mkdir");
        }
        for file in [
            "files/infiles.txt",
            "vars/invars.yml",
            "tasks/intasks.yml",
            "tasks/sub/insub.yml",
            "inrole.txt",
        ] {
            std::fs::write(role.join(file), "x").expect("write");
        }
        std::fs::write(p.join("inplay.txt"), "x").expect("write");
        let vars = json!({
            "role_path": role.display().to_string(),
            "ansible_search_path": [role.display().to_string(), role.join("tasks").display().to_string(), p.display().to_string()],
        });
        let found = |expr: &str| eval_in(expr, p, vars.clone());
        let r = role.display().to_string();
        assert_eq!(
            found("lookup('first_found', 'infiles.txt', errors='ignore')"),
            Ok(json!(null))
        );
        assert_eq!(
            found("lookup('first_found', 'intasks.yml')"),
            Ok(json!(format!("{r}/tasks/intasks.yml")))
        );
        assert_eq!(
            found("lookup('first_found', 'inrole.txt')"),
            Ok(json!(format!("{r}/inrole.txt")))
        );
        assert_eq!(
            found("lookup('first_found', 'sub/insub.yml')"),
            Ok(json!(format!("{r}/tasks/sub/insub.yml")))
        );
        assert_eq!(
            found("lookup('first_found', 'debian.yml', 'inplay.txt')"),
            Ok(json!(format!("{}/inplay.txt", p.display())))
        );
        // files and paths in a mapping, strings split as Ansible does, relative paths
        assert_eq!(
            found(
                "lookup('first_found', {'files': ['debian.yml', 'intasks.yml'], 'paths': ['tasks']})"
            ),
            Ok(json!(format!("{r}/tasks/intasks.yml")))
        );
        assert_eq!(
            found("lookup('first_found', {'files': 'x.txt,inplay.txt', 'paths': '/nonexist:.'})"),
            Ok(json!(format!("{}/inplay.txt", p.display())))
        );
        assert_eq!(
            found("q('first_found', 'a.txt,b:c;inplay.txt') | length"),
            Ok(json!(1))
        );
        assert_eq!(found("q('first_found', 'nope', skip=true)"), Ok(json!([])));
        assert_eq!(
            found("q('first_found', {'files': ['nope'], 'skip': true})"),
            Ok(json!([]))
        );
        let err = found("lookup('first_found', 'nope')").expect_err("nothing found");
        assert!(
            err.contains(
                "The lookup plugin 'first_found' failed: No file was found when using first_found."
            ),
            "{err}"
        );
    }

    #[test]
    fn with_first_found_searches_the_subdir_the_action_names() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        for sub in ["files", "vars", "templates"] {
            std::fs::create_dir_all(p.join(sub)).expect("mkdir");
            std::fs::write(p.join(sub).join("x"), sub).expect("write");
        }
        let Json::Object(map) = json!({"playbook_dir": p.display().to_string()}) else {
            unreachable!()
        };
        let vars = crate::template::Vars::new(crate::template::Templar::new(), map);
        let found = |action: &str| {
            super::super::loop_items("first_found", &json!(["x"]), &vars, action).expect("found")
        };
        let path = |sub: &str| vec![json!(format!("{}/{sub}/x", p.display()))];
        assert_eq!(found("include_vars"), path("vars"));
        assert_eq!(found("template"), path("templates"));
        assert_eq!(found("copy"), path("files"));
        assert_eq!(found("debug"), path("files"));
    }

    use serde_json::Value as Json;
}
