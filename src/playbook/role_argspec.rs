//! Roles' argument specs (`meta/argument_specs.yml`, or `argument_specs` in
//! `meta/main.yml`): as Ansible's `Role._prepend_validation_task` does, a role whose
//! entry point has a spec starts with a `validate_argument_spec` task, "Validating
//! arguments against arg spec '<entry point>'", tagged `always`. The spec's defaults
//! are not set as variables (Ansible 2.19 does not either).

use std::path::Path;

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

use super::ast::{Action, ModuleRef, Task, VarMap};
use crate::source::{SourceError, Span};
use crate::yaml;

/// What the validation task of a role's entry point checks.
#[derive(Debug, PartialEq)]
pub struct Validation {
    /// The task's name, with the spec's `short_description` when it has one.
    pub name: String,
    /// The task's arguments for `validate_argument_spec`.
    pub args: IndexMap<String, Json>,
}

/// The validation of the role at `path` called `name` for entry point `tasks_from`
/// (`main` when none) with `params`; `None` when that entry point has no spec.
pub fn validation(
    path: &Path,
    name: &str,
    tasks_from: Option<&str>,
    params: &VarMap,
) -> Result<Option<Validation>, SourceError> {
    let specs = role_specs(path)?;
    let entry_point = tasks_from.unwrap_or("main");
    let Some(Json::Object(spec)) = specs.get(entry_point).filter(|s| is_true(s)) else {
        return Ok(None);
    };
    let mut task_name = format!("Validating arguments against arg spec '{entry_point}'");
    if let Some(description) = spec.get("short_description") {
        let description = match description {
            Json::String(text) => text.clone(),
            other => crate::template::pyfmt::py_str(&minijinja::Value::from_serialize(other)),
        };
        task_name.push_str(&format!(" - {description}"));
    }
    let mut context = Map::new();
    context.insert("type".into(), "role".into());
    context.insert("name".into(), name.into());
    context.insert("argument_spec_name".into(), entry_point.into());
    context.insert("path".into(), path.display().to_string().into());
    let mut args = IndexMap::new();
    args.insert(
        "argument_spec".into(),
        spec.get("options")
            .cloned()
            .unwrap_or_else(|| Json::Object(Map::new())),
    );
    args.insert("provided_arguments".into(), Json::Object(params.clone()));
    args.insert("validate_args_context".into(), Json::Object(context));
    Ok(Some(Validation {
        name: task_name,
        args,
    }))
}

impl Validation {
    /// The task that runs this validation, at `span`, tagged `always` besides `tags`.
    pub fn task(self, span: &Span, tags: &[String]) -> Option<Task> {
        let module = crate::modules::lookup("validate_argument_spec")?;
        let mut task = Task::new(
            Action::Module {
                module: ModuleRef(module),
                args: self.args,
            },
            span.clone(),
        );
        task.name = Some(self.name);
        task.tags = tags.to_vec();
        if !task.tags.iter().any(|t| t == "always") {
            task.tags.push("always".into());
        }
        Some(task)
    }
}

/// The role's specs by entry point: `meta/argument_specs.{yml,yaml,json}` first, else
/// `argument_specs` in `meta/main`; the two are never combined.
fn role_specs(path: &Path) -> Result<Map<String, Json>, SourceError> {
    let meta = path.join("meta");
    let specs_of = |file: &Path| -> Result<Map<String, Json>, SourceError> {
        let root = yaml::load_file(file)?.to_json();
        Ok(match root.get("argument_specs") {
            Some(Json::Object(specs)) => specs.clone(),
            _ => Map::new(),
        })
    };
    let found = |stem: &str| {
        ["yml", "yaml", "json"]
            .iter()
            .map(|ext| meta.join(format!("{stem}.{ext}")))
            .find(|file| file.is_file())
    };
    if let Some(file) = found("argument_specs") {
        return specs_of(&file);
    }
    match found("main").or_else(|| Some(meta.join("main")).filter(|f| f.is_file())) {
        Some(file) => specs_of(&file),
        None => Ok(Map::new()),
    }
}

/// Python's truth of a spec entry.
fn is_true(value: &Json) -> bool {
    match value {
        Json::Object(map) => !map.is_empty(),
        Json::Null => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (name, text) in files {
            let file = dir.path().join(name);
            std::fs::create_dir_all(file.parent().expect("a parent")).expect("a directory");
            std::fs::write(file, text).expect("a file");
        }
        dir
    }

    #[test]
    fn the_entry_points_spec_becomes_the_validation_task() {
        let dir = role(&[(
            "meta/argument_specs.yml",
            "argument_specs:\n  main:\n    short_description: Main entry point.\n    options:\n      a: {type: int, required: true}\n  other:\n    options: {}\n",
        )]);
        let params: VarMap = [("a".to_string(), json!("1"))].into_iter().collect();
        let found = validation(dir.path(), "r", None, &params)
            .expect("readable")
            .expect("a spec for main");
        assert_eq!(
            found.name,
            "Validating arguments against arg spec 'main' - Main entry point."
        );
        assert_eq!(
            found.args["argument_spec"],
            json!({"a": {"type": "int", "required": true}})
        );
        assert_eq!(found.args["provided_arguments"], json!({"a": "1"}));
        assert_eq!(
            found.args["validate_args_context"],
            json!({"type": "role", "name": "r", "argument_spec_name": "main",
                   "path": dir.path().display().to_string()})
        );
        let other = validation(dir.path(), "r", Some("other"), &VarMap::new()).expect("readable");
        assert_eq!(
            other.map(|v| v.args["argument_spec"].clone()),
            Some(json!({}))
        );
        assert_eq!(
            validation(dir.path(), "r", Some("none"), &VarMap::new()).expect("readable"),
            None
        );
    }

    #[test]
    fn meta_main_is_read_only_without_an_argument_specs_file() {
        let dir = role(&[(
            "meta/main.yml",
            "argument_specs:\n  main:\n    options:\n      b: {}\n",
        )]);
        let found = validation(dir.path(), "r", None, &VarMap::new()).expect("readable");
        assert_eq!(
            found.map(|v| v.name),
            Some("Validating arguments against arg spec 'main'".to_string())
        );
        let empty = role(&[
            (
                "meta/main.yml",
                "argument_specs:\n  main:\n    options:\n      b: {}\n",
            ),
            ("meta/argument_specs.yml", "---\n"),
        ]);
        assert_eq!(
            validation(empty.path(), "r", None, &VarMap::new()).expect("readable"),
            None
        );
    }
}
