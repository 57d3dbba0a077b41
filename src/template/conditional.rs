//! Conditionals as Ansible 2.19 evaluates them (`when`, `changed_when`, `failed_when`,
//! `until`, `assert`'s `that`): an expression whose result must be a boolean. A
//! conditional wrapped whole in `{{ }}` is rendered first, and a string it gives is
//! evaluated only when it came from a trusted variable as written. The arguments
//! that hold expressions (`debug`'s `var`, `assert`'s `that`) are finalized as
//! Ansible's action plugins finalize them.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value as Json;

use super::engine::{Templar, TemplateError, truthy};
use super::trust::{UNTRUSTED, unsafe_text};
use super::vars::Vars;

/// How many variables naming variables a trusted conditional may pass through.
const MAX_INDIRECTION: usize = 20;

impl Templar {
    /// Lets conditionals give non-boolean results and be empty or non-strings, as
    /// `ALLOW_BROKEN_CONDITIONALS` does (Python truthiness then decides).
    pub fn set_allow_broken_conditionals(&self, allow: bool) {
        self.allow_broken_conditionals
            .store(allow, Ordering::Relaxed);
    }

    /// Evaluates one conditional as it was written; `origin` names where (for the
    /// message about a result that is not a boolean).
    pub fn evaluate_conditional(
        &self,
        conditional: &Json,
        vars: &Arc<Vars>,
        origin: &str,
    ) -> Result<bool, TemplateError> {
        let allow = self.allow_broken_conditionals.load(Ordering::Relaxed);
        let text = match conditional {
            Json::Bool(b) => return Ok(*b),
            Json::String(text) => text.trim(),
            Json::Null => "",
            _ if unsafe_text(conditional).is_some() => {
                return Err(TemplateError::new(UNTRUSTED));
            }
            _ if allow => return Ok(truthy(&self.render_value(conditional, vars)?)),
            _ => {
                return Err(TemplateError::new(
                    "Conditional expressions must be strings.",
                ));
            }
        };
        if text.is_empty() {
            return empty(allow);
        }
        if !possibly_all_template(text) {
            let value = self.eval(&self.with_embedded_rendered(text, vars), vars)?;
            return boolean(&value, origin, allow);
        }
        match self.render_value(&Json::String(text.to_string()), vars)? {
            Json::String(expression) if expression.trim().is_empty() => empty(allow),
            Json::String(expression) => {
                if !trusted_result(text, vars, 0) {
                    return Err(TemplateError::new(UNTRUSTED));
                }
                let value = self.eval(expression.trim(), vars)?;
                boolean(&value, origin, allow)
            }
            other => boolean(&other, origin, allow),
        }
    }

    /// A task argument that holds an expression, finalized as the action that reads
    /// it does (`None` for every other argument): `debug`'s `var` is rendered unless
    /// unsafe, which stays marked, as is an untrusted string it renders to; `assert`'s `that` is left as written unless it is
    /// one template giving a list (a variable's list as written, its items evaluated
    /// one by one as conditionals).
    pub fn finalize_expression_arg(
        &self,
        action: &str,
        key: &str,
        value: &Json,
        vars: &Arc<Vars>,
    ) -> Option<Result<Json, TemplateError>> {
        match (crate::fqcn::short_name(action), key) {
            ("debug", "var") => Some(self.finalize_debug_var(value, vars)),
            ("assert", "that") => Some(Ok(match value {
                Json::String(text) if possibly_all_template(text) => {
                    match written_template_value(text, vars) {
                        Some(list @ Json::Array(_)) => list.clone(),
                        Some(_) => value.clone(),
                        None => match self.render_value(value, vars) {
                            Ok(list @ Json::Array(_)) => list,
                            _ => value.clone(),
                        },
                    }
                }
                other => other.clone(),
            })),
            _ => None,
        }
    }
}

impl Templar {
    /// `debug`'s `var` rendered; a string it renders to stays an expression only when
    /// trusted (see [`trusted_result`]), else it is marked unsafe for `debug` to refuse.
    fn finalize_debug_var(&self, value: &Json, vars: &Arc<Vars>) -> Result<Json, TemplateError> {
        let Json::String(text) = value else {
            return match unsafe_text(value) {
                Some(_) => Ok(value.clone()),
                None => self.render_value(value, vars),
            };
        };
        match self.render_value(value, vars)? {
            Json::String(rendered)
                if super::is_template(text)
                    && !(possibly_all_template(text) && trusted_result(text, vars, 0)) =>
            {
                Ok(super::trust::mark_unsafe(Json::String(rendered)))
            }
            other => Ok(other),
        }
    }
}

fn empty(allow: bool) -> Result<bool, TemplateError> {
    if allow {
        Ok(true)
    } else {
        Err(TemplateError::new(
            "Empty conditional expressions are not allowed.",
        ))
    }
}

/// A conditional's result: a boolean, or (only with broken conditionals allowed) the
/// truth of another value.
fn boolean(value: &Json, origin: &str, allow: bool) -> Result<bool, TemplateError> {
    if let Json::Bool(b) = value {
        return Ok(*b);
    }
    if allow {
        return Ok(truthy(value));
    }
    let truth = if truthy(value) { "True" } else { "False" };
    Err(TemplateError::new(format!(
        "Conditional result ({truth}) was derived from value of type '{}' at '{origin}'. Conditionals must have a boolean result.",
        crate::pyjson::type_name(value)
    )))
}

/// Ansible's `is_possibly_all_template`: starts and ends with Jinja delimiters.
fn possibly_all_template(text: &str) -> bool {
    ["{{", "{%", "{#"].iter().any(|open| text.starts_with(open))
        && ["}}", "%}", "#}"].iter().any(|close| text.ends_with(close))
}

/// Whether the string a whole-template conditional rendered to is one Ansible trusts:
/// the template is one variable (a dotted or subscripted path) whose value, as
/// written, is a plain string (or another such template), not one tagged unsafe.
fn trusted_result(template: &str, vars: &Arc<Vars>, depth: usize) -> bool {
    match written_template_value(template, vars) {
        Some(Json::String(text)) if super::is_template(text) => {
            depth < MAX_INDIRECTION && trusted_result(text, vars, depth + 1)
        }
        Some(Json::String(_)) => true,
        _ => false,
    }
}

/// The value a template that is one variable path names, as written (unrendered).
fn written_template_value<'a>(template: &str, vars: &'a Arc<Vars>) -> Option<&'a Json> {
    template
        .trim()
        .strip_prefix("{{")
        .and_then(|t| t.strip_suffix("}}"))
        .and_then(|expression| written_value(expression, vars))
}

/// The value an expression that is one variable path names, as written (unrendered).
pub(super) fn written_value<'a>(expression: &str, vars: &'a Arc<Vars>) -> Option<&'a Json> {
    let path = variable_path(expression)?;
    let mut steps = path.into_iter();
    let root = vars.raw(&steps.next()?)?;
    steps.try_fold(root, |node, step| match node {
        Json::Object(map) => map.get(&step),
        Json::Array(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// The steps of `name.attr['key'][0]`, or `None` for any other expression.
fn variable_path(expression: &str) -> Option<Vec<String>> {
    let mut rest = expression.trim();
    let mut steps = Vec::new();
    let identifier = |text: &str| -> Option<usize> {
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        (end > 0 && !text.starts_with(|c: char| c.is_ascii_digit())).then_some(end)
    };
    let end = identifier(rest)?;
    steps.push(rest[..end].to_string());
    rest = &rest[end..];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = identifier(after)?;
            steps.push(after[..end].to_string());
            rest = &after[end..];
        } else {
            let inner = rest.strip_prefix('[')?;
            let close = inner.find(']')?;
            let key = inner[..close].trim();
            let unquoted = ['\'', '"']
                .iter()
                .find_map(|q| key.strip_prefix(*q).and_then(|k| k.strip_suffix(*q)));
            match unquoted {
                Some(text) => steps.push(text.to_string()),
                None if key.bytes().all(|b| b.is_ascii_digit()) && !key.is_empty() => {
                    steps.push(key.to_string());
                }
                None => return None,
            }
            rest = &inner[close + 1..];
        }
    }
    Some(steps)
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

    fn evaluate(conditional: Json, v: &Arc<Vars>) -> Result<bool, String> {
        v.templar()
            .evaluate_conditional(&conditional, v, "here")
            .map_err(|e| e.message)
    }

    #[test]
    fn results_must_be_booleans_unless_broken_conditionals_are_allowed() {
        let v = vars(json!({"s": "text", "n": 1}));
        assert_eq!(evaluate(json!("n == 1"), &v), Ok(true));
        assert_eq!(evaluate(json!(false), &v), Ok(false));
        assert_eq!(
            evaluate(json!("s"), &v),
            Err("Conditional result (True) was derived from value of type 'str' at 'here'. Conditionals must have a boolean result.".into())
        );
        assert_eq!(
            evaluate(json!(" "), &v),
            Err("Empty conditional expressions are not allowed.".into())
        );
        assert_eq!(
            evaluate(json!([1]), &v),
            Err("Conditional expressions must be strings.".into())
        );
        v.templar().set_allow_broken_conditionals(true);
        assert_eq!(evaluate(json!("s"), &v), Ok(true));
        assert_eq!(evaluate(json!(""), &v), Ok(true));
    }

    #[test]
    fn a_whole_template_must_give_a_trusted_expression() {
        let v = vars(json!({
            "c1": "1 == 1", "c2": "{{ c1 }}", "d": {"k": ["2 == 3"]},
            "u": {"__ansible_unsafe": "1 == 1"}, "b": true,
        }));
        assert_eq!(evaluate(json!("{{ c1 }}"), &v), Ok(true));
        assert_eq!(evaluate(json!("{{ c2 }}"), &v), Ok(true));
        assert_eq!(evaluate(json!("{{ d.k[0] }}"), &v), Ok(false));
        assert_eq!(evaluate(json!("{{ b }}"), &v), Ok(true));
        assert_eq!(evaluate(json!("{{ '1 == 1' }}"), &v), Err(UNTRUSTED.into()));
        assert_eq!(evaluate(json!("{{ u }}"), &v), Err(UNTRUSTED.into()));
        assert_eq!(
            evaluate(json!({"__ansible_unsafe": "true"}), &v),
            Err(UNTRUSTED.into())
        );
    }

    #[test]
    fn asserts_that_keeps_a_variables_list_as_written() {
        let v = vars(json!({"l": [true, {"__ansible_unsafe": "1 == 0"}], "n": 1}));
        let finalize = |value: Json| {
            v.templar()
                .finalize_expression_arg("ansible.builtin.assert", "that", &value, &v)
                .map(|r| r.map_err(|e| e.message))
        };
        assert_eq!(
            finalize(json!("{{ l }}")),
            Some(Ok(json!([true, {"__ansible_unsafe": "1 == 0"}])))
        );
        assert_eq!(
            finalize(json!("{{ n == 1 }}")),
            Some(Ok(json!("{{ n == 1 }}")))
        );
        assert_eq!(finalize(json!("{{ [n] }}")), Some(Ok(json!([1]))));
        assert!(
            v.templar()
                .finalize_expression_arg("debug", "msg", &json!("x"), &v)
                .is_none()
        );
    }

    #[test]
    fn debug_var_templates_must_give_trusted_names() {
        let v = vars(json!({"item": "k1", "k1": "v1"}));
        let finalize = |value: Json| {
            v.templar()
                .finalize_expression_arg("debug", "var", &value, &v)
                .map(|r| r.map_err(|e| e.message))
        };
        assert_eq!(finalize(json!("k1")), Some(Ok(json!("k1"))));
        assert_eq!(finalize(json!("{{ item }}")), Some(Ok(json!("k1"))));
        let untrusted = Some(Ok(json!({"__ansible_unsafe": "k1"})));
        assert_eq!(finalize(json!("{{ 'k1' }}")), untrusted);
        assert_eq!(finalize(json!("k{{ 1 }}")), untrusted);
    }

    #[test]
    fn variable_paths_are_split_into_their_steps() {
        assert_eq!(
            variable_path(" a.b['c'][0] "),
            Some(vec!["a".into(), "b".into(), "c".into(), "0".into()])
        );
        assert_eq!(variable_path("'x'"), None);
        assert_eq!(variable_path("a + b"), None);
        assert_eq!(variable_path("a[b]"), None);
    }
}
