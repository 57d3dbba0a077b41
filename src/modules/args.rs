//! Module parameters: the declared shape of each module's arguments (checked when the
//! playbook loads) and typed access to the rendered values (at run time).

use indexmap::IndexMap;
use serde_json::{Map, Value as Json};

/// The type a parameter takes, as Ansible's argument specs name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string; numbers and booleans are converted.
    Str,
    /// A boolean in Ansible's loose sense (`yes`, `on`, `1`, `true` ...).
    Bool,
    /// An integer (strings of digits are converted).
    Int,
    /// A number that may be fractional.
    Float,
    /// A list; a comma-separated string is split.
    List,
    /// A mapping.
    Dict,
    /// Anything, passed through as it is.
    Raw,
}

/// One declared module parameter.
#[derive(Clone, Copy, Debug)]
pub struct Param {
    /// The canonical name.
    pub name: &'static str,
    /// The expected type.
    pub kind: Kind,
    /// Whether the module refuses to run without it.
    pub required: bool,
    /// Other names accepted for it.
    pub aliases: &'static [&'static str],
    /// The values allowed, if restricted.
    pub choices: &'static [&'static str],
    /// The sub-options of a mapping, or of each mapping in a list (Ansible's `options`
    /// of a `dict`, or of a `list` with `elements: dict`); empty when free-form.
    pub options: &'static [Param],
    /// The value taken when the argument is not given, if the module has one.
    pub default: Option<DefaultValue>,
    /// Whether the value is secret (never shown in results).
    pub no_log: bool,
}

/// A parameter's default value, as the spec declares it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum DefaultValue {
    /// A string (or a choice).
    Str(&'static str),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A number that may be fractional.
    Float(f64),
}

impl DefaultValue {
    /// The default as the JSON value a given argument would have.
    pub fn to_json(self) -> Json {
        match self {
            DefaultValue::Str(s) => Json::String(s.to_string()),
            DefaultValue::Bool(b) => Json::Bool(b),
            DefaultValue::Int(i) => Json::from(i),
            DefaultValue::Float(f) => {
                serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
            }
        }
    }
}

impl Param {
    /// An optional parameter of `kind`.
    pub const fn new(name: &'static str, kind: Kind) -> Param {
        Param {
            name,
            kind,
            required: false,
            aliases: &[],
            choices: &[],
            options: &[],
            default: None,
            no_log: false,
        }
    }

    /// Declares the string (or choice) taken when the argument is not given.
    pub const fn default_str(mut self, value: &'static str) -> Param {
        self.default = Some(DefaultValue::Str(value));
        self
    }

    /// Declares the boolean taken when the argument is not given.
    pub const fn default_bool(mut self, value: bool) -> Param {
        self.default = Some(DefaultValue::Bool(value));
        self
    }

    /// Declares the integer taken when the argument is not given.
    pub const fn default_int(mut self, value: i64) -> Param {
        self.default = Some(DefaultValue::Int(value));
        self
    }

    /// Declares the number taken when the argument is not given.
    pub const fn default_float(mut self, value: f64) -> Param {
        self.default = Some(DefaultValue::Float(value));
        self
    }

    /// Marks the parameter required.
    pub const fn required(mut self) -> Param {
        self.required = true;
        self
    }

    /// Adds accepted aliases.
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Param {
        self.aliases = aliases;
        self
    }

    /// Restricts the accepted values.
    pub const fn choices(mut self, choices: &'static [&'static str]) -> Param {
        self.choices = choices;
        self
    }

    /// Declares the sub-options a mapping value (or each mapping in a list) takes.
    pub const fn options(mut self, options: &'static [Param]) -> Param {
        self.options = options;
        self
    }

    /// Marks the value secret: results never show it (Ansible's `no_log=True`).
    pub const fn no_log(mut self) -> Param {
        self.no_log = true;
        self
    }
}

/// What Ansible shows for a secret argument's value in `invocation`.
pub const NO_LOG_PLACEHOLDER: &str = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER";

/// A result's `invocation` as Ansible's modules report it: every parameter of the
/// spec under its own name with the value given, its default, or null; secret ones
/// show [`NO_LOG_PLACEHOLDER`] where Ansible's `remove_values` hides them: a value, but
/// not an empty string, a boolean or null (`"login_password": ""` stays as it is).
pub fn invocation(params: &[Param], args: &Args) -> Json {
    let module_args: Map<String, Json> = params
        .iter()
        .map(|param| {
            let value = match (args.values.get(param.name), param.default) {
                (Some(value), _) if !value.is_null() => value.clone(),
                (_, Some(default)) => default.to_json(),
                _ => Json::Null,
            };
            let hidden = match &value {
                Json::Null | Json::Bool(_) => false,
                Json::String(text) => !text.is_empty(),
                _ => true,
            };
            let shown = match param.no_log && hidden {
                true => Json::String(NO_LOG_PLACEHOLDER.into()),
                false => value,
            };
            (param.name.to_string(), shown)
        })
        .collect();
    serde_json::json!({ "module_args": module_args })
}

/// Finds the declared parameter called `name` (or aliased so).
pub fn find_param<'a>(params: &'a [Param], name: &str) -> Option<&'a Param> {
    params
        .iter()
        .find(|p| p.name == name || p.aliases.contains(&name))
}

/// Parses a boolean the way Ansible's `boolean()` does; `None` if it is not one.
pub fn parse_bool(value: &Json) -> Option<bool> {
    match value {
        Json::Bool(b) => Some(*b),
        Json::Number(n) => match n.as_f64() {
            Some(1.0) => Some(true),
            Some(0.0) => Some(false),
            _ => None,
        },
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "yes" | "on" | "1" | "true" | "y" | "t" => Some(true),
            "no" | "off" | "0" | "false" | "n" | "f" | "" => Some(false),
            _ => None,
        },
        Json::Null => Some(false),
        _ => None,
    }
}

/// Checks one literal value against a parameter's kind and choices; returns a message
/// saying what is wrong. Values holding templates are not checked here.
pub fn check_literal(param: &Param, value: &Json) -> Result<(), String> {
    if value.as_str().is_some_and(crate::template::is_template) {
        return Ok(());
    }
    convert(param, value).map(|_| ())
}

/// Checks the names inside a literal value against the parameter's sub-options: a
/// typo of a sub-option is refused when the playbook loads; other unknown names,
/// kinds, choices and required ones are checked when the task runs, as Ansible checks
/// them.
pub fn check_names(param: &Param, value: &Json) -> Result<(), String> {
    if param.options.is_empty() {
        return Ok(());
    }
    let maps: Vec<&Map<String, Json>> = match value {
        Json::Object(map) => vec![map],
        Json::Array(items) => items.iter().filter_map(Json::as_object).collect(),
        _ => Vec::new(),
    };
    for (name, sub_value) in maps.into_iter().flatten() {
        let Some(sub) = find_param(param.options, name) else {
            if typo_of(param.options, name).is_some() {
                return Err(format!(
                    "{}: {}",
                    param.name,
                    unsupported(param.options, name)
                ));
            }
            continue;
        };
        check_names(sub, sub_value).map_err(|e| format!("{}: {e}", param.name))?;
    }
    Ok(())
}

/// Converts a rendered value to the parameter's kind, or says why it cannot.
fn convert(param: &Param, value: &Json) -> Result<Json, String> {
    let wrong = |what: &str| {
        format!(
            "argument '{}' is of type {} and we were unable to convert to {what}",
            param.name,
            json_type(value)
        )
    };
    let converted = match param.kind {
        Kind::Raw | Kind::Dict if value.is_null() => Json::Null,
        Kind::Raw => value.clone(),
        Kind::Str => match value {
            Json::String(_) => value.clone(),
            Json::Number(n) => Json::String(n.to_string()),
            Json::Bool(b) => Json::String(if *b { "True" } else { "False" }.into()),
            Json::Null => Json::Null,
            _ => return Err(wrong("str")),
        },
        Kind::Bool => Json::Bool(parse_bool(value).ok_or_else(|| wrong("bool"))?),
        Kind::Int => match value {
            Json::Number(n) if n.is_i64() => value.clone(),
            Json::Number(n) => match n.as_f64() {
                Some(f) if f.fract() == 0.0 => Json::from(f as i64),
                _ => return Err(wrong("int")),
            },
            Json::String(s) => Json::from(s.trim().parse::<i64>().map_err(|_| wrong("int"))?),
            _ => return Err(wrong("int")),
        },
        Kind::Float => match value {
            Json::Number(_) => value.clone(),
            Json::String(s) => {
                serde_json::Number::from_f64(s.trim().parse::<f64>().map_err(|_| wrong("float"))?)
                    .map_or(Json::Null, Json::Number)
            }
            _ => return Err(wrong("float")),
        },
        Kind::List => match value {
            Json::Array(_) => value.clone(),
            Json::String(s) => Json::Array(
                s.split(',')
                    .map(|item| Json::String(item.trim().to_string()))
                    .filter(|item| item.as_str() != Some(""))
                    .collect(),
            ),
            Json::Null => Json::Array(Vec::new()),
            other => Json::Array(vec![other.clone()]),
        },
        Kind::Dict => match value {
            Json::Object(_) => value.clone(),
            _ => return Err(wrong("dict")),
        },
    };
    if !param.options.is_empty() {
        check_options(param, &converted)?;
    }
    if !param.choices.is_empty() {
        let text = match &converted {
            Json::String(s) => s.clone(),
            Json::Null => return Ok(converted),
            other => other.to_string(),
        };
        if let Some(choice) = boolean_choice(param.choices, &text) {
            return Ok(Json::String(choice.to_string()));
        }
        if !param.choices.contains(&text.as_str()) {
            return Err(format!(
                "value of {} must be one of: {}, got: {text}",
                param.name,
                param.choices.join(", ")
            ));
        }
    }
    Ok(converted)
}

/// Checks the sub-options of a mapping (or of each mapping in a list) against
/// `param.options`: known names, their kinds and choices, the required ones present.
/// Template strings are left for the run, as at the top level.
fn check_options(param: &Param, value: &Json) -> Result<(), String> {
    let maps: Vec<&Map<String, Json>> = match value {
        Json::Object(map) => vec![map],
        Json::Array(items) => items.iter().filter_map(Json::as_object).collect(),
        _ => Vec::new(),
    };
    for map in maps {
        for (name, sub_value) in map {
            let sub = find_param(param.options, name)
                .ok_or_else(|| format!("{}: {}", param.name, unsupported(param.options, name)))?;
            check_literal(sub, sub_value).map_err(|e| format!("{}: {e}", param.name))?;
        }
        if let Some(missing) = param.options.iter().find(|p| {
            p.required
                && !map.contains_key(p.name)
                && !p.aliases.iter().any(|a| map.contains_key(*a))
        }) {
            return Err(format!(
                "{}: missing required arguments: {}",
                param.name, missing.name
            ));
        }
    }
    Ok(())
}

/// YAML reads `upgrade: yes` as a boolean, which a string parameter sees as `True`: like
/// Ansible, take it back to the one choice that means the same (`yes`), if exactly one
/// does.
fn boolean_choice(choices: &'static [&'static str], text: &str) -> Option<&'static str> {
    let words: &[&str] = match text {
        "True" => &["y", "yes", "on", "1", "true", "t"],
        "False" => &["n", "no", "off", "0", "false", "f"],
        _ => return None,
    };
    let mut same = choices.iter().copied().filter(|c| words.contains(c));
    match (same.next(), same.next()) {
        (Some(choice), None) => Some(choice),
        _ => None,
    }
}

/// The Python type name of a JSON value, for messages in Ansible's words.
pub fn json_type(value: &Json) -> &'static str {
    match value {
        Json::Null => "NoneType",
        Json::Bool(_) => "bool",
        Json::Number(n) if n.is_f64() => "float",
        Json::Number(_) => "int",
        Json::String(_) => "str",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// A module's arguments after templating: canonical names, converted types.
#[derive(Clone, Debug, Default)]
pub struct Args {
    values: IndexMap<String, Json>,
}

impl Args {
    /// Validates rendered `raw` arguments against `params`: aliases resolved, types
    /// converted, required ones present, unknown ones refused.
    pub fn parse(params: &[Param], raw: &IndexMap<String, Json>) -> Result<Args, String> {
        let mut values = IndexMap::new();
        for (name, value) in raw {
            let param = find_param(params, name).ok_or_else(|| unsupported(params, name))?;
            values.insert(param.name.to_string(), convert(param, value)?);
        }
        if let Some(missing) = params
            .iter()
            .find(|p| p.required && values.get(p.name).is_none_or(Json::is_null))
        {
            return Err(format!("missing required arguments: {}", missing.name));
        }
        Ok(Args { values })
    }

    /// The value of `name`, if given and not null.
    pub fn get(&self, name: &str) -> Option<&Json> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    /// Whether `name` was given as null (`msg: "{{ none }}"`), which [`Args::get`]
    /// takes for not given, as Ansible's modules do; a few actions tell them apart.
    pub fn given_null(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(Json::is_null)
    }

    /// A string parameter.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Json::as_str)
    }

    /// A boolean parameter, or `default` when not given.
    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        self.get(name).and_then(Json::as_bool).unwrap_or(default)
    }

    /// An integer parameter.
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Json::as_i64)
    }

    /// A number parameter as a float.
    pub fn float(&self, name: &str) -> Option<f64> {
        self.get(name).and_then(Json::as_f64)
    }

    /// Fails, in Ansible's words, when more than one parameter of a group was given.
    pub fn mutually_exclusive(&self, groups: &[&[&str]]) -> Result<(), String> {
        for group in groups {
            if group.iter().filter(|name| self.get(name).is_some()).count() > 1 {
                return Err(format!(
                    "parameters are mutually exclusive: {}",
                    group.join("|")
                ));
            }
        }
        Ok(())
    }

    /// These arguments without `name`: what a module passes on to another.
    pub fn without(&self, name: &str) -> Args {
        let mut values = self.values.clone();
        values.shift_remove(name);
        Args { values }
    }

    /// A list parameter (empty when not given).
    pub fn list(&self, name: &str) -> Vec<Json> {
        self.get(name)
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    }

    /// A list parameter's items as strings (other scalars written out).
    pub fn strings(&self, name: &str) -> Vec<String> {
        self.list(name)
            .into_iter()
            .map(|item| match item {
                Json::String(s) => s,
                other => other.to_string(),
            })
            .collect()
    }
}

/// The names in `raw` that no parameter in `params` takes (by name or alias).
pub fn unknown_names<'a>(params: &[Param], raw: &'a IndexMap<String, Json>) -> Vec<&'a str> {
    raw.keys()
        .map(String::as_str)
        .filter(|name| find_param(params, name).is_none())
        .collect()
}

/// The suggestion for `name` when it is a near miss of a parameter `params` take:
/// a typo, which the loader refuses before anything runs. Names that are no near miss
/// (an option of a newer Ansible, an internal one) fail when the task runs, as in Ansible.
pub fn typo_of<'a>(params: &'a [Param], name: &str) -> Option<&'a str> {
    let names = params
        .iter()
        .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
        .filter(|n| !n.starts_with('_'));
    crate::suggest::closest(name, names)
}

/// Ansible's failure for arguments module `module` does not take: the names sorted,
/// then every parameter and (in parentheses) every alias it takes.
pub fn unsupported_by(module: &str, params: &[Param], names: &[&str]) -> String {
    let mut names = names.to_vec();
    names.sort_unstable();
    let mut supported: Vec<&str> = params.iter().map(|p| p.name).collect();
    supported.sort_unstable();
    let mut aliases: Vec<&str> = params
        .iter()
        .flat_map(|p| p.aliases.iter().copied())
        .collect();
    aliases.sort_unstable();
    let mut message = format!(
        "Unsupported parameters for ({module}) module: {}. Supported parameters include: {}",
        names.join(", "),
        supported.join(", ")
    );
    if !aliases.is_empty() {
        message.push_str(&format!(" ({})", aliases.join(", ")));
    }
    message.push('.');
    message
}

/// The message for an argument a module does not know, listing what it accepts.
pub fn unsupported(params: &[Param], name: &str) -> String {
    let mut supported: Vec<&str> = params
        .iter()
        .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()))
        .filter(|n| !n.starts_with('_'))
        .collect();
    supported.sort_unstable();
    let mut message = format!("Unsupported parameters: {name}.");
    if let Some(close) = crate::suggest::closest(name, supported.iter().copied()) {
        message.push_str(&format!(" Did you mean '{close}'?"));
    }
    message.push_str(&format!(
        " Supported parameters include: {}.",
        supported.join(", ")
    ));
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_arguments_fail_with_ansibles_message() {
        let params = [
            Param::new("path", Kind::Str).aliases(&["dest", "name"]),
            Param::new("force", Kind::Bool),
            Param::new("_diff_peek", Kind::Str),
        ];
        let raw: IndexMap<String, Json> =
            [("path", json!("/x")), ("zz", json!(1)), ("bogus", json!(1))]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        let unknown = unknown_names(&params, &raw);
        assert_eq!(unknown, ["zz", "bogus"]);
        assert_eq!(
            unsupported_by("file", &params, &unknown),
            "Unsupported parameters for (file) module: bogus, zz. Supported parameters include: _diff_peek, force, path (dest, name)."
        );
        assert_eq!(typo_of(&params, "forse"), Some("force"));
        assert_eq!(typo_of(&params, "bogus"), None);
        assert_eq!(
            typo_of(&params, "_diff_peak"),
            None,
            "internal names are no suggestion"
        );
    }

    #[test]
    fn invocation_hides_secret_values_as_remove_values_does() {
        let params = [
            Param::new("password", Kind::Str).no_log(),
            Param::new("login_password", Kind::Str)
                .default_str("")
                .no_log(),
            Param::new("unsafe", Kind::Bool)
                .default_bool(false)
                .no_log(),
            Param::new("token", Kind::Str).no_log(),
        ];
        let raw: IndexMap<String, Json> = [("password".to_string(), json!("s3cret"))]
            .into_iter()
            .collect();
        let args = Args::parse(&params, &raw).expect("valid");
        assert_eq!(
            invocation(&params, &args)["module_args"],
            json!({"password": NO_LOG_PLACEHOLDER, "login_password": "", "unsafe": false, "token": null})
        );
    }

    const PARAMS: &[Param] = &[
        Param::new("path", Kind::Str)
            .required()
            .aliases(&["dest", "name"]),
        Param::new("force", Kind::Bool),
        Param::new("state", Kind::Str).choices(&["file", "absent"]),
        Param::new("retries", Kind::Int),
        Param::new("names", Kind::List),
    ];

    fn args(value: Json) -> IndexMap<String, Json> {
        serde_json::from_value(value).expect("a mapping")
    }

    #[test]
    fn aliases_resolve_and_types_convert() {
        let parsed = Args::parse(
            PARAMS,
            &args(json!({"dest": "/x", "force": "yes", "retries": "3", "names": "a, b"})),
        )
        .expect("valid");
        assert_eq!(parsed.str("path"), Some("/x"));
        assert!(parsed.bool_or("force", false));
        assert_eq!(parsed.int("retries"), Some(3));
        assert_eq!(parsed.list("names"), vec![json!("a"), json!("b")]);
    }

    #[test]
    fn unknown_argument_is_named_with_a_suggestion() {
        let err =
            Args::parse(PARAMS, &args(json!({"path": "/x", "forse": true}))).expect_err("bad");
        assert!(err.starts_with("Unsupported parameters: forse."), "{err}");
        assert!(err.contains("Did you mean 'force'?"), "{err}");
    }

    #[test]
    fn missing_required_and_bad_choice() {
        let err = Args::parse(PARAMS, &args(json!({"force": true}))).expect_err("bad");
        assert_eq!(err, "missing required arguments: path");
        let err =
            Args::parse(PARAMS, &args(json!({"path": "/x", "state": "dir"}))).expect_err("bad");
        assert_eq!(err, "value of state must be one of: file, absent, got: dir");
    }

    #[test]
    fn mutually_exclusive_names_the_group() {
        let parsed = Args::parse(
            PARAMS,
            &args(json!({"path": "/x", "force": false, "retries": 1})),
        )
        .expect("valid");
        assert_eq!(parsed.mutually_exclusive(&[&["path", "names"]]), Ok(()));
        assert_eq!(
            parsed.mutually_exclusive(&[&["names", "state"], &["force", "retries"]]),
            Err("parameters are mutually exclusive: force|retries".to_string())
        );
    }

    #[test]
    fn a_yaml_boolean_takes_the_one_choice_that_means_it() {
        const UPGRADE: &[Param] =
            &[Param::new("upgrade", Kind::Str).choices(&["dist", "full", "no", "safe", "yes"])];
        let parsed = Args::parse(UPGRADE, &args(json!({"upgrade": true}))).expect("valid");
        assert_eq!(parsed.str("upgrade"), Some("yes"));
        let parsed = Args::parse(UPGRADE, &args(json!({"upgrade": false}))).expect("valid");
        assert_eq!(parsed.str("upgrade"), Some("no"));
        let err =
            Args::parse(PARAMS, &args(json!({"path": "/x", "state": true}))).expect_err("bad");
        assert_eq!(
            err,
            "value of state must be one of: file, absent, got: True"
        );
    }

    #[test]
    fn bool_conversion_follows_ansible() {
        for (value, expected) in [
            (json!("yes"), Some(true)),
            (json!("On"), Some(true)),
            (json!(1), Some(true)),
            (json!("0"), Some(false)),
            (json!("off"), Some(false)),
            (json!("maybe"), None),
        ] {
            assert_eq!(parse_bool(&value), expected, "{value}");
        }
        let err =
            Args::parse(PARAMS, &args(json!({"path": "/x", "force": "maybe"}))).expect_err("bad");
        assert_eq!(
            err,
            "argument 'force' is of type str and we were unable to convert to bool"
        );
    }
}
