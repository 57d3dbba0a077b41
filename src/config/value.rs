//! A setting's text turned into a typed value as Ansible's `ensure_type` does.

use std::path::Path;

use super::setting::Kind;
use crate::pypath;

/// A typed setting value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// Not set and without a default.
    None,
    /// A boolean.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number.
    Float(f64),
    /// Text or one path.
    Str(String),
    /// Items or paths.
    List(Vec<String>),
}

impl Value {
    /// Types `text` as `kind`; relative paths are taken from `base`. `from_ini` unquotes
    /// text values, as Ansible does for an ansible.cfg. The error is Ansible's wording.
    pub fn parse(kind: Kind, text: &str, base: &Path, from_ini: bool) -> Result<Value, String> {
        let invalid =
            |type_name: &str| format!("Invalid value provided for '{type_name}': '{text}'");
        Ok(match kind {
            Kind::Bool => Value::Bool(loose_bool(text)),
            Kind::Int => Value::Int(integer(text).ok_or_else(|| invalid("integer"))?),
            Kind::Float => Value::Float(text.trim().parse().map_err(|_| invalid("float"))?),
            Kind::List => Value::List(text.split(',').map(|i| unquote(i.trim())).collect()),
            Kind::Path => Value::Str(resolve_path(text, base)),
            Kind::PathSpec => Value::List(text.split(':').map(|p| resolve_path(p, base)).collect()),
            Kind::PathList => Value::List(
                text.split(',')
                    .map(|p| resolve_path(p.trim(), base))
                    .collect(),
            ),
            Kind::Str if from_ini => Value::Str(unquote(text)),
            Kind::Str => Value::Str(text.to_string()),
        })
    }

    /// The value as JSON (`lookup('config')`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::None => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Value::from(*f),
            Value::Str(s) => serde_json::Value::from(s.clone()),
            Value::List(items) => serde_json::Value::from(items.clone()),
        }
    }

    /// The value as Python's `repr` shows it (`ansible-config dump`).
    pub fn python_repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}"),
            Value::Str(s) => s.clone(),
            Value::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| format!("'{}'", i.replace('\\', "\\\\").replace('\'', "\\'")))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Ansible's `boolean(value, strict=False)` on text.
pub fn loose_bool(text: &str) -> bool {
    matches!(
        text.trim().to_ascii_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    )
}

/// Python's `int(Decimal(text))` when the fraction is zero.
fn integer(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(i);
    }
    let number: f64 = text.parse().ok()?;
    (number.fract() == 0.0 && number.is_finite()).then_some(number as i64)
}

/// Removes one pair of matching surrounding quotes, as Ansible's `unquote`.
fn unquote(text: &str) -> String {
    let quoted = text.len() >= 2
        && ((text.starts_with('"') && text.ends_with('"'))
            || (text.starts_with('\'') && text.ends_with('\'')));
    if quoted {
        text[1..text.len() - 1].to_string()
    } else {
        text.to_string()
    }
}

/// Ansible's `resolve_path`: `{{CWD}}`, `~` and `$VARS` expanded, made absolute from
/// `base`, and normalised without following links.
pub fn resolve_path(text: &str, base: &Path) -> String {
    let text = if text.contains("{{CWD}}") {
        let cwd = std::env::current_dir().unwrap_or_default();
        text.replace("{{CWD}}", &cwd.to_string_lossy())
    } else {
        text.to_string()
    };
    let expanded = pypath::expandvars(&pypath::expanduser(&text));
    let path = Path::new(&expanded);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    pypath::normpath(&joined.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_as_ansible_does() {
        let base = Path::new("/proj");
        let parse = |kind, text| Value::parse(kind, text, base, true);
        assert_eq!(parse(Kind::Bool, "Yes"), Ok(Value::Bool(true)));
        assert_eq!(parse(Kind::Bool, "nope"), Ok(Value::Bool(false)));
        assert_eq!(parse(Kind::Int, "5.0"), Ok(Value::Int(5)));
        assert!(parse(Kind::Int, "many").is_err());
        assert_eq!(
            parse(Kind::List, "a, 'b' ,c"),
            Ok(Value::List(vec!["a".into(), "b".into(), "c".into()]))
        );
        assert_eq!(
            parse(Kind::PathSpec, "rel:/abs/x/../y"),
            Ok(Value::List(vec!["/proj/rel".into(), "/abs/y".into()]))
        );
        assert_eq!(
            parse(Kind::PathList, "localhost,"),
            Ok(Value::List(vec!["/proj/localhost".into(), "/proj".into()]))
        );
        assert_eq!(
            parse(Kind::Str, "'quoted'"),
            Ok(Value::Str("quoted".into()))
        );
    }
}
