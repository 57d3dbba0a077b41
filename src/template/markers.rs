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

impl Templar {
    /// Evaluates each of `expressions` replacing undefined values by placeholders,
    /// numbered across them all; gives the values and the warnings.
    pub fn eval_all_replacing_undefined(
        &self,
        expressions: &[&str],
        vars: &Arc<Vars>,
    ) -> Result<(Vec<Json>, Vec<String>), TemplateError> {
        let outer = REPLACED.with(|slot| slot.borrow_mut().replace(Vec::new()));
        let values = expressions
            .iter()
            .map(|expression| self.eval_replacing(expression, vars))
            .collect::<Result<Vec<_>, _>>();
        let replaced = REPLACED.with(|slot| std::mem::replace(&mut *slot.borrow_mut(), outer));
        Ok((values?, warnings(replaced.unwrap_or_default())))
    }

    /// One expression's value, while replacing: evaluated as usual; on an undefined
    /// value, the variable it names rendered again string by string, or else the
    /// whole expression's placeholder.
    fn eval_replacing(&self, expression: &str, vars: &Arc<Vars>) -> Result<Json, TemplateError> {
        let held = REPLACED.with(|slot| slot.borrow_mut().take());
        let first = self.eval(expression, vars);
        REPLACED.with(|slot| *slot.borrow_mut() = held);
        let err = match first {
            Err(err) if err.undefined => err,
            other => return other,
        };
        match super::conditional::written_value(expression, vars) {
            Some(written) => self.render_value(written, vars),
            None => replacement(expression, err),
        }
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
            let (mut values, warnings) = v
                .templar()
                .eval_all_replacing_undefined(&[expression], &v)
                .expect("evaluates");
            (values.pop().expect("one value"), warnings)
        };
        assert_eq!(
            eval("missing"),
            (
                json!("<< error 1 - 'missing' is undefined >>"),
                vec!["Encountered 1 template error.\nerror 1 - 'missing' is undefined".to_string()]
            )
        );
        assert_eq!(
            eval("t").0,
            json!("<< error 1 - 'not_defined' is undefined >>")
        );
        let d = eval("d");
        assert_eq!(
            d.0,
            json!({"a": "<< error 1 - 'nope' is undefined >>",
                   "b": "<< error 2 - 'nope2' is undefined >>", "c": 1})
        );
        assert_eq!(d.1.len(), 2);
        assert!(
            v.templar()
                .eval_all_replacing_undefined(&["1 / 0"], &v)
                .is_err()
        );
        assert!(
            v.templar().eval("missing", &v).is_err(),
            "only while replacing"
        );
    }
}
