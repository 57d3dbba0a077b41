//! `ini_file` (community.general): one setting (or a whole section) of an INI-style
//! file, edited as Ansible's module edits it (`ini_file/edit.rs`), saved atomically
//! with the file attributes, the result describing the path as Ansible's does.

mod edit;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::contract::{Decision, StateModule};
use super::fileops::{self, FileKind, FileStat};
use super::textfile::{self, Codec, SavePlan, TextFile};
use super::typed::{Rules, WithAttributes, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use edit::{Condition, Edit};

/// `ini_file`: manages settings in INI files.
pub struct IniFile;

arg_enum! {
    /// Whether the setting (or section) should be in the file.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `ini_file`'s own arguments.
    pub struct IniFileArgs {
        /// The INI file; created when needed.
        path: String => .required().aliases(&["dest"]),
        /// The section; without it, options go before the first section.
        section: Option<String>,
        /// Options (and values) that pick one of several sections of the same name.
        section_has_values: Option<Vec<Json>>,
        /// The option; without it, the whole section is meant.
        option: Option<String>,
        /// The option's value.
        value: Option<String>,
        /// The option's values, one line each.
        values: Option<Vec<String>>,
        /// Whether the old file is kept beside the new one.
        backup: bool => .default_bool(false),
        state: State => .default_str("present"),
        /// Whether other lines of the option go too.
        exclusive: bool => .default_bool(true),
        /// `key=value` rather than `key = value`.
        no_extra_spaces: bool => .default_bool(false),
        /// Whether a line differing only by spaces around `=` stays.
        ignore_spaces: bool => .default_bool(false),
        /// Whether a missing file is created.
        create: bool => .default_bool(true),
        /// Whether an option may stand without `=` and value.
        allow_no_value: bool => .default_bool(false),
        /// Whether a commented-out line of the option is replaced.
        modify_inactive_option: bool => .default_bool(true),
        /// Whether a symbolic link `path` is written through rather than replaced.
        follow: bool => .default_bool(false),
    }
    rules: Rules {
        mutually_exclusive: &[&["value", "values"]],
        ..Rules::NONE
    };
}

/// The arguments with the file attributes.
type Args = WithAttributes<IniFileArgs>;

impl IniFileArgs {
    /// `value` or `values` without duplicates; fails as Ansible does when a present
    /// option has neither.
    fn values(&self) -> Result<Vec<String>, String> {
        let given = match (&self.value, &self.values) {
            (Some(value), _) => vec![value.clone()],
            (None, Some(values)) => values.clone(),
            (None, None) => Vec::new(),
        };
        if self.state == State::Present && !self.allow_no_value && given.is_empty() {
            return Err(
                "Parameter 'value(s)' must be defined if state=present and allow_no_value=False."
                    .into(),
            );
        }
        let mut unique: Vec<String> = Vec::new();
        for value in given {
            if !unique.contains(&value) {
                unique.push(value);
            }
        }
        Ok(unique)
    }

    /// `section_has_values` checked as Ansible checks its suboptions.
    fn conditions(&self) -> Result<Vec<Condition>, String> {
        let Some(items) = &self.section_has_values else {
            return Ok(Vec::new());
        };
        items.iter().map(condition).collect()
    }
}

/// One `section_has_values` item: `option` required, `value` or `values`.
fn condition(item: &Json) -> Result<Condition, String> {
    const WHERE: &str = "found in section_has_values";
    let Json::Object(item) = item else {
        return Err(format!(
            "Elements value for option 'section_has_values' is of type {} and we were unable to convert to dict",
            json_type(item)
        ));
    };
    if let Some(unknown) = item
        .keys()
        .find(|k| !["option", "value", "values"].contains(&k.as_str()))
    {
        return Err(format!(
            "Unsupported parameters for (ini_file) module: {unknown} {WHERE}. Supported parameters include: option, value, values."
        ));
    }
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => other.to_string(),
    };
    let option = match item.get("option") {
        Some(Json::Null) | None => {
            return Err(format!("missing required arguments: option {WHERE}"));
        }
        Some(option) => text(option),
    };
    let given = |key: &str| item.get(key).filter(|v| !v.is_null());
    let values = match (given("value"), given("values")) {
        (Some(_), Some(_)) => {
            return Err(format!(
                "parameters are mutually exclusive: value|values {WHERE}"
            ));
        }
        (Some(value), None) => vec![text(value)],
        (None, Some(Json::Array(values))) => values.iter().map(text).collect(),
        (None, Some(value)) => text(value)
            .split(',')
            .map(|v| v.trim().to_string())
            .collect(),
        (None, None) => Vec::new(),
    };
    Ok(Condition { option, values })
}

/// Python's name of a JSON value's type, for messages.
fn json_type(value: &Json) -> &'static str {
    match value {
        Json::String(_) => "str",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::Bool(_) => "bool",
        Json::Array(_) => "list",
        Json::Null => "NoneType",
        Json::Object(_) => "dict",
    }
}

/// Text as Python reads it with `utf-8-sig` and universal newlines: no byte order
/// mark, every line ending a `\n`.
fn as_python_reads(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// The INI file as read, and `path` itself (a link is not followed).
pub struct Found {
    file: TextFile,
    path: Option<FileStat>,
}

/// The save of the file (content, attributes or both), and the path to describe.
#[derive(Debug)]
pub struct Save {
    save: SavePlan,
    path: String,
    /// Whether the content changes (only then is a backup asked for).
    rewrite: bool,
}

#[async_trait]
impl StateModule for IniFile {
    const NAME: &'static str = "ini_file";
    type Args = Args;
    type State = Found;
    type Plan = Save;

    /// Reads the file through links and `path` itself; a missing file fails here
    /// when it may not be created.
    async fn query(&self, on: &Target<'_>, args: &Args) -> Result<Found, ModuleError> {
        let own = &args.args;
        own.values().map_err(ModuleError::Failed)?;
        let path = super::pathexpand::expand_path(on, &own.path).await?;
        let probe = fileops::stat_script(&path, false, false);
        let (file, probed) =
            textfile::read_for_with(on, &path, Codec::Utf8, &args.attributes, &probe).await?;
        let link = fileops::parse_stat(&probed);
        if file.text.is_none() && !own.create {
            let is_link = link.as_ref().is_some_and(|l| l.kind == FileKind::Link);
            let target = if own.follow && is_link {
                file.real_path()
            } else {
                &file.path
            };
            return Err(textfile::fail_rc(
                format!("Destination {target} does not exist!"),
                257,
            ));
        }
        Ok(Found { file, path: link })
    }

    fn decide(&self, args: &Args, found: Found) -> Result<Decision<Save>, String> {
        let own = &args.args;
        let conditions = own.conditions()?;
        let before = as_python_reads(found.file.text.as_deref().unwrap_or(""));
        let edited = edit::apply(
            &before,
            &Edit {
                section: own.section.as_deref(),
                section_has_values: &conditions,
                option: own.option.as_deref(),
                values: own.values()?,
                present: own.state == State::Present,
                exclusive: own.exclusive,
                no_extra_spaces: own.no_extra_spaces,
                ignore_spaces: own.ignore_spaces,
                allow_no_value: own.allow_no_value,
                modify_inactive_option: own.modify_inactive_option,
            },
        )?;
        let path = found.file.path.clone();
        let is_link = found
            .path
            .as_ref()
            .is_some_and(|l| l.kind == FileKind::Link);
        let file = match !own.follow && is_link {
            true => found.file.replacing_link(),
            false => found.file,
        };
        let save = textfile::plan_save(&file, &args.attributes, &edited.text, edited.changed, "")?;
        let header = format!("{path} (content)");
        let diff = json!({
            "before": before,
            "after": edited.text,
            "before_header": header,
            "after_header": header,
        });
        let plan = save.changed.then(|| Save {
            save,
            path: path.clone(),
            rewrite: edited.changed,
        });
        let mut decision = Decision::maybe(plan)
            .with_diff(diff)
            .with("msg", edited.msg)
            .with("path", path.as_str());
        if let Some(stat) = &found.path {
            decision.result.extend(fileops::describe(&path, stat));
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Args,
        plan: Save,
    ) -> Result<Outcome, ModuleError> {
        let backup = textfile::apply_save(on, &plan.save, None, args.args.backup).await?;
        let mut outcome = Outcome::new();
        if let Some(stat) = fileops::stat(on, &plan.path, false, false).await? {
            outcome.extend(fileops::describe(&plan.path, &stat));
        }
        // Ansible's `backup_local` names no file when there was none to copy.
        if args.args.backup && plan.rewrite {
            outcome.insert("backup_file".into(), json!(backup.unwrap_or_default()));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(args: Json, text: Option<&str>) -> Result<Decision<Save>, String> {
        let args: Args = crate::modules::typed::from_json(args)?;
        let found = Found {
            file: TextFile::found("/etc/app.ini", text),
            path: None,
        };
        IniFile.decide(&args, found)
    }

    #[test]
    fn a_setting_already_there_changes_nothing() {
        let args = json!({"path": "/etc/app.ini", "section": "a", "option": "x", "value": "1"});
        let decision = decide(args, Some("[a]\nx = 1\n")).expect("a decision");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["msg"], "OK");
        assert_eq!(decision.result["path"], "/etc/app.ini");
    }

    #[test]
    fn a_new_setting_plans_the_save_and_shows_the_content_diff() {
        let args = json!({"path": "/etc/app.ini", "section": "a", "option": "x", "values": ["1", "2", "1"]});
        let decision = decide(args, Some("[a]\nx = 1\n")).expect("a decision");
        assert!(decision.plan.is_some());
        assert_eq!(decision.result["msg"], "option added");
        let diff = decision.diff.expect("a diff");
        assert_eq!(diff["after"], "[a]\nx = 1\nx = 2\n");
        assert_eq!(diff["before_header"], "/etc/app.ini (content)");
    }

    #[test]
    fn only_a_mode_to_change_is_a_change() {
        let args = json!({"path": "/etc/app.ini", "option": "x", "value": "1", "mode": "0600"});
        let decision = decide(args, Some("x = 1\n")).expect("a decision");
        assert!(decision.plan.is_some());
        assert_eq!(decision.result["msg"], "OK");
    }

    #[test]
    fn arguments_fail_as_ansible_says() {
        let err = decide(json!({"path": "/x", "option": "x"}), None).err();
        assert_eq!(
            err.as_deref(),
            Some("Parameter 'value(s)' must be defined if state=present and allow_no_value=False.")
        );
        let err = decide(json!({"path": "/x", "value": "1", "values": ["2"]}), None).err();
        assert_eq!(
            err.as_deref(),
            Some("parameters are mutually exclusive: value|values")
        );
        let args = json!({"path": "/x", "state": "absent", "section_has_values": [{"value": "1"}]});
        assert_eq!(
            decide(args, None).err().as_deref(),
            Some("missing required arguments: option found in section_has_values")
        );
    }

    #[test]
    fn python_reading_drops_the_bom_and_carriage_returns() {
        assert_eq!(as_python_reads("\u{feff}[a]\r\nx=1\r"), "[a]\nx=1\n");
    }
}
