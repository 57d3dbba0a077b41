//! Ansible's `ReplacingMarkerBehavior`, which `debug`'s `var` evaluates with: an
//! undefined value does not fail the evaluation but is replaced by a numbered
//! placeholder, `<< error N - message >>`, and each placeholder is warned about.
//! bosun replaces the whole expression, or, when it names a variable, each string
//! of the variable's value that fails to render.

use std::cell::RefCell;
use std::sync::Arc;

use serde_json::Value as Json;

use super::engine::{Templar, TemplateError};
use super::vars::Vars;

thread_local! {
    /// The undefined values replaced so far on this thread, while replacing: the
    /// template each was met in and its message.
    static REPLACED: RefCell<Option<Vec<(String, String)>>> = const { RefCell::new(None) };
}

/// A value whose undefined parts were replaced, with the warnings Ansible gives.
#[derive(Debug, PartialEq)]
pub struct Replaced {
    /// The value, placeholders in it.
    pub value: Json,
    /// One warning per template that had undefined values replaced.
    pub warnings: Vec<String>,
}

impl Templar {
    /// Evaluates `expression` replacing undefined values by placeholders; errors of
    /// any other kind fail it.
    pub fn eval_replacing_undefined(
        &self,
        expression: &str,
        vars: &Arc<Vars>,
    ) -> Result<Replaced, TemplateError> {
        let err = match self.eval(expression, vars) {
            Ok(value) => {
                return Ok(Replaced {
                    value,
                    warnings: Vec::new(),
                });
            }
            Err(err) if !err.undefined => return Err(err),
            Err(err) => err,
        };
        let outer = REPLACED.with(|slot| slot.borrow_mut().replace(Vec::new()));
        let value = match super::conditional::written_value(expression, vars) {
            Some(written) => self.render_value(written, vars),
            None => replacement(expression, err),
        };
        let replaced = REPLACED.with(|slot| std::mem::replace(&mut *slot.borrow_mut(), outer));
        Ok(Replaced {
            value: value?,
            warnings: warnings(replaced.unwrap_or_default()),
        })
    }
}

/// While replacing, the placeholder for `err` met rendering `template` (numbered in
/// order); otherwise, or for an error that is no undefined value, `err` itself.
pub(super) fn replacement(template: &str, err: TemplateError) -> Result<Json, TemplateError> {
    if !err.undefined {
        return Err(err);
    }
    REPLACED.with(|slot| match slot.borrow_mut().as_mut() {
        Some(replaced) => {
            replaced.push((template.to_string(), err.message.clone()));
            Ok(Json::String(format!(
                "<< error {} - {} >>",
                replaced.len(),
                err.message
            )))
        }
        None => Err(err),
    })
}

/// Ansible's warnings for replaced values: one per run of the same template.
fn warnings(replaced: Vec<(String, String)>) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (number, (template, message)) in replaced.into_iter().enumerate() {
        let line = format!("error {} - {message}", number + 1);
        match groups.last_mut() {
            Some((last, lines)) if *last == template => lines.push(line),
            _ => groups.push((template, vec![line])),
        }
    }
    groups
        .into_iter()
        .map(|(_, lines)| {
            let plural = if lines.len() > 1 { "s" } else { "" };
            format!(
                "Encountered {} template error{plural}.\n{}",
                lines.len(),
                lines.join("\n")
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(value: Json) -> Arc<Vars> {
        let Json::Object(map) = value else {
            panic!("a mapping")
        };
        Vars::new(Templar::new(), map)
    }

    #[test]
    fn undefined_values_become_numbered_placeholders() {
        let v = vars(json!({
            "t": "{{ not_defined }}",
            "d": {"a": "{{ nope }}", "b": "{{ nope2 }}", "c": 1},
        }));
        let eval = |expression: &str| {
            v.templar()
                .eval_replacing_undefined(expression, &v)
                .expect("evaluates")
        };
        assert_eq!(
            eval("missing"),
            Replaced {
                value: json!("<< error 1 - 'missing' is undefined >>"),
                warnings: vec![
                    "Encountered 1 template error.\nerror 1 - 'missing' is undefined".into()
                ],
            }
        );
        assert_eq!(
            eval("t").value,
            json!("<< error 1 - 'not_defined' is undefined >>")
        );
        let d = eval("d");
        assert_eq!(
            d.value,
            json!({"a": "<< error 1 - 'nope' is undefined >>",
                   "b": "<< error 2 - 'nope2' is undefined >>", "c": 1})
        );
        assert_eq!(d.warnings.len(), 2);
        assert!(v.templar().eval_replacing_undefined("1 / 0", &v).is_err());
        assert!(
            v.templar().eval("missing", &v).is_err(),
            "only while replacing"
        );
    }
}
