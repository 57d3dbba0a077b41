//! `debconf`: a package's debconf answer, read with `debconf-show` (and, for a
//! password, `debconf-get-selections`) and set with `debconf-set-selections`, as
//! Ansible's module does, with its results (`current`, `previous`) and diff.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

arg_enum! {
    /// The debconf question types.
    pub enum Vtype {
        Boolean = "boolean",
        Error = "error",
        Multiselect = "multiselect",
        Note = "note",
        Password = "password",
        Seen = "seen",
        Select = "select",
        String = "string",
        Text = "text",
        Title = "title",
    }
}

module_args! {
    /// `debconf`'s arguments.
    pub struct DebconfArgs {
        /// The package the question belongs to.
        name: String => .required().aliases(&["pkg"]),
        /// The question (`tzdata/Areas`).
        question: Option<String> => .aliases(&["selection", "setting"]),
        vtype: Option<Vtype>,
        /// The answer; a list for `multiselect`.
        value: Json => .aliases(&["answer"]),
        /// Do not mark the question as seen.
        unseen: bool => .default_bool(false),
    }
    rules: Rules { required_together: &[&["question", "vtype", "value"]], ..Rules::NONE };
}

/// Sets debconf answers.
pub struct Debconf;

/// What the target holds for the package.
#[derive(Debug)]
pub struct Found {
    /// `debconf-show`'s questions and answers.
    selections: Map<String, Json>,
    /// The password's answer from `debconf-get-selections`, for a `password` question.
    password: Option<String>,
}

/// The line for `debconf-set-selections`.
#[derive(Debug)]
pub struct Plan(String);

#[async_trait]
impl StateModule for Debconf {
    const NAME: &'static str = "debconf";
    type Args = DebconfArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &Self::Args) -> Result<Found, ModuleError> {
        let mut script = format!(
            "command -v debconf-show >/dev/null 2>&1 || {{ echo 'Failed to find required executable \"debconf-show\" in paths' >&2; exit 127; }}\n\
             debconf-show {} || exit $?\n",
            quote(&args.name)
        );
        let password = args.vtype == Some(Vtype::Password) && args.question.is_some();
        if password {
            script.push_str(
                "printf '\\001\\n'; command -v debconf-get-selections >/dev/null 2>&1 || { echo 'Failed to find required executable \"debconf-get-selections\" in paths' >&2; exit 127; }\n\
                 debconf-get-selections || exit $?\n",
            );
        }
        let out = on.conn.exec(&Command::new(script)).await?;
        if out.rc != 0 {
            return Err(ModuleError::Failed(out.stderr_text().trim().to_string()));
        }
        let stdout = out.stdout_text();
        let (shown, selections) = stdout.split_once("\u{1}\n").unwrap_or((&stdout, ""));
        Ok(Found {
            selections: parse_show(shown),
            password: password.then(|| {
                password_value(
                    selections,
                    &args.name,
                    args.question.as_deref().unwrap_or_default(),
                )
            }),
        })
    }

    fn decide(&self, args: &Self::Args, found: Found) -> Result<Decision<Plan>, String> {
        let (Some(question), Some(vtype)) = (&args.question, args.vtype) else {
            return Ok(Decision::unchanged()
                .with("msg", "")
                .with("current", Json::Object(found.selections)));
        };
        if args.value.is_null() {
            return Err("when supplying a question you must supply a valid vtype and value".into());
        }
        let mut value = args.value.clone();
        if vtype == Vtype::Boolean {
            value = json!(python_text(&value).to_lowercase());
        }
        let changed = match found.selections.get(question) {
            None => true,
            Some(existing) => {
                let existing = existing.as_str().unwrap_or_default();
                match (vtype, &value) {
                    (Vtype::Boolean, _) => value != json!(existing.to_lowercase()),
                    (Vtype::Password, _) => {
                        value != json!(found.password.clone().unwrap_or_default())
                    }
                    (Vtype::Multiselect, Json::Array(items)) => {
                        let mut wanted: Vec<String> = items.iter().map(python_text).collect();
                        wanted.sort();
                        value = json!(wanted);
                        let mut have: Vec<String> =
                            existing.split(',').map(|i| i.trim().to_string()).collect();
                        have.sort();
                        wanted != have
                    }
                    _ => value != json!(existing),
                }
            }
        };
        if !changed {
            return Ok(Decision::unchanged()
                .with("msg", "")
                .with("current", Json::Object(found.selections)));
        }
        let text = match &value {
            Json::Array(items) => items.iter().map(python_text).collect::<Vec<_>>().join(", "),
            other => python_text(other),
        };
        let line = format!("{} {question} {} {text}", args.name, vtype.as_str());
        let mut previous = Map::new();
        previous.insert(
            question.clone(),
            found.selections.get(question).cloned().unwrap_or(json!("")),
        );
        let mut current = Map::new();
        current.insert(question.clone(), value);
        let mut after = previous.clone();
        after.extend(current.clone());
        Ok(Decision::change(Plan(line))
            .with_diff(json!({"before": previous, "after": after}))
            .with("msg", "")
            .with("current", Json::Object(current))
            .with("previous", Json::Object(previous)))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Self::Args,
        Plan(line): Plan,
    ) -> Result<Outcome, ModuleError> {
        let unseen = if args.unseen { " -u" } else { "" };
        let mut command = Command::new(format!("debconf-set-selections{unseen}"));
        command.stdin = Some(line.clone().into_bytes());
        if !on.conn.takes_stdin() {
            command = Command::new(format!(
                "printf '%s' {} | debconf-set-selections{unseen}",
                quote(&line)
            ));
        }
        let out = on.conn.exec(&command).await?;
        if out.rc != 0 {
            return Err(ModuleError::Failed(out.stderr_text()));
        }
        let mut outcome = Outcome::new();
        outcome.insert("msg".into(), json!(out.stdout_text()));
        Ok(outcome)
    }
}

/// `debconf-show` output (`* question: answer`) as a mapping.
fn parse_show(text: &str) -> Map<String, Json> {
    let mut selections = Map::new();
    for line in text.lines() {
        if let Some((key, value)) = line.split_once(':') {
            let key = key.trim().trim_matches('*').trim();
            selections.insert(key.to_string(), json!(value.trim()));
        }
    }
    selections
}

/// The answer of `question` in `debconf-get-selections` output, as Ansible's
/// `get_password_value` finds it.
fn password_value(selections: &str, package: &str, question: &str) -> String {
    for line in selections.lines() {
        if !line.starts_with(package) {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() <= 3 {
            return String::new();
        }
        if fields[1] == question && fields[2] == "password" {
            return fields[3].to_string();
        }
    }
    String::new()
}

/// A value as Python's `str()` writes it (`True`, `5`, `text`).
fn python_text(value: &Json) -> String {
    match value {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "True".into(),
        Json::Bool(false) => "False".into(),
        Json::Null => "None".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    const SHOWN: &str = "* tzdata/Areas: Europe\n  tzdata/Zones/Europe: Paris\n  locales/locales_to_be_generated: en_US.UTF-8 UTF-8, fr_FR.UTF-8 UTF-8\n  pkg/enabled: true\n";

    fn decide(args: Json, password: Option<&str>) -> Decision<Plan> {
        let args: DebconfArgs = from_json(args).expect("valid");
        let found = Found {
            selections: parse_show(SHOWN),
            password: password.map(str::to_string),
        };
        Debconf.decide(&args, found).expect("decided")
    }

    #[test]
    fn a_new_or_different_answer_is_set() {
        let d = decide(
            json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": "Etc"}),
            None,
        );
        assert_eq!(d.plan.expect("plan").0, "tzdata tzdata/Areas select Etc");
        assert_eq!(d.result["previous"], json!({"tzdata/Areas": "Europe"}));
        assert_eq!(d.result["current"], json!({"tzdata/Areas": "Etc"}));
        let d = decide(
            json!({"name": "tzdata", "question": "tzdata/Areas", "vtype": "select", "value": "Europe"}),
            None,
        );
        assert!(d.plan.is_none());
        assert_eq!(d.result["current"]["tzdata/Zones/Europe"], "Paris");
    }

    #[test]
    fn booleans_lists_and_passwords_compare_as_ansible() {
        let d = decide(
            json!({"name": "pkg", "question": "pkg/enabled", "vtype": "boolean", "value": true}),
            None,
        );
        assert!(d.plan.is_none(), "True is true");
        let d = decide(
            json!({"name": "locales", "question": "locales/locales_to_be_generated", "vtype": "multiselect",
                   "value": ["fr_FR.UTF-8 UTF-8", "en_US.UTF-8 UTF-8"]}),
            None,
        );
        assert!(d.plan.is_none(), "order does not matter");
        let d = decide(
            json!({"name": "pkg", "question": "pkg/enabled", "vtype": "password", "value": "s3cret"}),
            Some("s3cret"),
        );
        assert!(d.plan.is_none());
        assert_eq!(
            password_value(
                "pkg\tpkg/pw\tpassword\tx\nother\tq\tstring\ty\n",
                "pkg",
                "pkg/pw"
            ),
            "x"
        );
    }

    #[test]
    fn question_vtype_and_value_come_together() {
        let err =
            from_json::<DebconfArgs>(json!({"name": "x", "question": "q"})).expect_err("alone");
        assert!(err.contains("question"), "{err}");
    }
}
