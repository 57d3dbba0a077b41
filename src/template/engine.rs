//! The templating engine: minijinja set up with Ansible's semantics. Undefined values
//! are errors when used, yet `x is defined`, `x.y is defined` and `x | default(..)`
//! work; a template that is one `{{ expression }}` keeps its native type.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use minijinja::value::Value;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior};
use serde_json::Value as Json;

use super::vars::Vars;

thread_local! {
    /// Why the last undefined value made by a lookup or `undef()` is undefined, told
    /// when that value is used and no undefined variable explains the failure.
    static UNDEFINED_HINT: std::cell::RefCell<Option<String>> =
        const { std::cell::RefCell::new(None) };
}

/// Records why an undefined value about to be returned is undefined.
pub(crate) fn set_undefined_hint(hint: String) {
    UNDEFINED_HINT.with(|slot| *slot.borrow_mut() = Some(hint));
}

/// Records why an undefined value about to be returned is undefined, unless the
/// value came with its own reason (`undef('hint')`).
pub(crate) fn set_undefined_hint_unless_given(hint: String) {
    UNDEFINED_HINT.with(|slot| {
        slot.borrow_mut().get_or_insert(hint);
    });
}

fn take_undefined_hint() -> Option<String> {
    UNDEFINED_HINT.with(|slot| slot.borrow_mut().take())
}

/// A templating failure, with the undefined variable named when that is the cause.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// What went wrong, in Ansible's words where possible.
    pub message: String,
    /// Whether a variable was undefined (Ansible's `AnsibleUndefinedVariable`, which
    /// some callers warn about instead of failing).
    pub undefined: bool,
}

impl TemplateError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> TemplateError {
        TemplateError {
            message: message.into(),
            undefined: false,
        }
    }

    /// An undefined variable, described by `message`.
    pub fn undefined(message: impl Into<String>) -> TemplateError {
        TemplateError {
            message: message.into(),
            undefined: true,
        }
    }
}

/// Whitespace and syntax options of the `template` module.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Remove the first newline after a block tag (default true).
    pub trim_blocks: bool,
    /// Strip spaces before a block tag on its line (default false).
    pub lstrip_blocks: bool,
    /// The tags' delimiters.
    pub delimiters: Delimiters,
}

impl Default for RenderOptions {
    fn default() -> RenderOptions {
        RenderOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            delimiters: Delimiters::default(),
        }
    }
}

/// The strings that open and close blocks, variables and comments (Jinja's
/// `block_start_string` ...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delimiters {
    /// `{%` and `%}`.
    pub block: (String, String),
    /// `{{` and `}}`.
    pub variable: (String, String),
    /// `{#` and `#}`.
    pub comment: (String, String),
}

impl Default for Delimiters {
    fn default() -> Delimiters {
        let pair = |open: &str, close: &str| (open.to_string(), close.to_string());
        Delimiters {
            block: pair("{%", "%}"),
            variable: pair("{{", "}}"),
            comment: pair("{#", "#}"),
        }
    }
}

impl Delimiters {
    /// minijinja's syntax for these delimiters.
    fn syntax(&self) -> Result<minijinja::syntax::SyntaxConfig, Error> {
        minijinja::syntax::SyntaxConfig::builder()
            .block_delimiters(self.block.0.clone(), self.block.1.clone())
            .variable_delimiters(self.variable.0.clone(), self.variable.1.clone())
            .comment_delimiters(self.comment.0.clone(), self.comment.1.clone())
            .build()
    }
}

/// Renders strings and evaluates expressions against a host's variables.
pub struct Templar {
    /// `ALLOW_BROKEN_CONDITIONALS`: conditionals may give non-boolean results.
    pub(super) allow_broken_conditionals: std::sync::atomic::AtomicBool,
    strict: Environment<'static>,
    chainable: Environment<'static>,
    /// Template texts seen so far, served to both environments by their loader so
    /// each text is compiled once per run, however many hosts and tasks render it.
    sources: Sources,
}

/// Template sources by name (the name is the text itself).
type Sources = Arc<std::sync::RwLock<std::collections::HashMap<String, String>>>;

/// Whether `text` holds Jinja syntax and so needs rendering.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// Python's truthiness of a JSON value, as `when:` and `assert` use it.
pub fn truthy(value: &Json) -> bool {
    match value {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(items) => !items.is_empty(),
        Json::Object(map) => !map.is_empty(),
    }
}

impl Templar {
    /// An engine with Ansible's filters, tests and lookups.
    pub fn new() -> Arc<Templar> {
        let sources = Sources::default();
        let mut strict = environment(UndefinedBehavior::Strict);
        let mut chainable = environment(UndefinedBehavior::Chainable);
        for env in [&mut strict, &mut chainable] {
            let sources = sources.clone();
            env.set_loader(move |name| {
                Ok(sources.read().ok().and_then(|map| map.get(name).cloned()))
            });
        }
        Arc::new(Templar {
            allow_broken_conditionals: std::sync::atomic::AtomicBool::new(false),
            strict,
            chainable,
            sources,
        })
    }

    /// Renders `text` through `env`'s template cache.
    fn render_cached(
        &self,
        env: &Environment<'static>,
        text: &str,
        context: &Value,
    ) -> Result<String, Error> {
        let known = self.sources.read().is_ok_and(|map| map.contains_key(text));
        if !known && let Ok(mut map) = self.sources.write() {
            map.insert(text.to_string(), text.to_string());
        }
        shielded(|| env.get_template(text)?.render(context))
    }

    /// Renders `text`, a template written in YAML, to a string: the backslashes of
    /// its expressions' string constants are kept ([`super::backslashes`]).
    pub fn render_str(&self, text: &str, vars: &Arc<Vars>) -> Result<String, TemplateError> {
        self.render_source(text, &super::backslashes::escaped(text), vars)
    }

    /// Renders `source`, the template `text` as Jinja reads it (messages name `text`).
    fn render_source(
        &self,
        text: &str,
        source: &str,
        vars: &Arc<Vars>,
    ) -> Result<String, TemplateError> {
        if !is_template(source) {
            return Ok(text.to_string());
        }
        super::nesting::check_template(source)?;
        take_undefined_hint();
        let context = Value::from_dyn_object(vars.clone());
        let attempt = self.render_cached(&self.strict, source, &context);
        match attempt {
            Err(err) if err.kind() == ErrorKind::UndefinedError && guards_undefined(source) => self
                .render_cached(&self.chainable, source, &context)
                .map_err(|err| describe(err, text, vars)),
            other => other.map_err(|err| describe(err, text, vars)),
        }
    }

    /// Renders a whole template file with the `template` module's whitespace and
    /// syntax options.
    pub fn render_with(
        &self,
        text: &str,
        vars: &Arc<Vars>,
        options: &RenderOptions,
    ) -> Result<String, TemplateError> {
        let default_syntax = options.delimiters == Delimiters::default();
        if options.trim_blocks && !options.lstrip_blocks && default_syntax {
            return self.render_source(text, text, vars);
        }
        super::nesting::check_template_with(text, &options.delimiters)?;
        let mut env = environment(UndefinedBehavior::Strict);
        env.set_trim_blocks(options.trim_blocks);
        env.set_lstrip_blocks(options.lstrip_blocks);
        let syntax = options
            .delimiters
            .syntax()
            .map_err(|err| TemplateError::new(err.to_string()))?;
        env.set_syntax(syntax);
        let context = Value::from_dyn_object(vars.clone());
        shielded(|| env.render_str(text, &context)).map_err(|err| describe(err, text, vars))
    }

    /// Renders a template file for the `template` lookup: `extra` variables over `vars`,
    /// and `{% include %}`/`{% import %}` names looked up in `searchpath`, in order.
    pub fn render_file(
        &self,
        text: &str,
        vars: &Arc<Vars>,
        extra: serde_json::Map<String, Json>,
        options: &RenderOptions,
        searchpath: &[std::path::PathBuf],
    ) -> Result<String, TemplateError> {
        super::nesting::check_template_with(text, &options.delimiters)?;
        let scope = vars.with_extra(extra);
        let mut env = environment(UndefinedBehavior::Strict);
        env.set_trim_blocks(options.trim_blocks);
        env.set_lstrip_blocks(options.lstrip_blocks);
        let syntax = options
            .delimiters
            .syntax()
            .map_err(|err| TemplateError::new(err.to_string()))?;
        env.set_syntax(syntax);
        let dirs = searchpath.to_vec();
        env.set_loader(move |name| {
            for dir in &dirs {
                let path = dir.join(name);
                if path.is_file() {
                    return std::fs::read_to_string(&path).map(Some).map_err(|err| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("could not read {}: {err}", path.display()),
                        )
                    });
                }
            }
            Ok(None)
        });
        // As Jinja without keep_trailing_newline, included files lose their last
        // newline; the file's own trailing newlines are kept, as Ansible adds them back.
        env.set_keep_trailing_newline(false);
        let context = Value::from_dyn_object(scope.clone());
        let mut rendered = shielded(|| env.render_str(text, &context))
            .map_err(|err| describe(err, text, &scope))?;
        let wanted = text.len() - text.trim_end_matches('\n').len();
        let have = rendered.len() - rendered.trim_end_matches('\n').len();
        if wanted > have {
            rendered.push_str(&"\n".repeat(wanted - have));
        }
        Ok(rendered)
    }

    /// Renders a value: every string in it is templated; a string that is exactly one
    /// `{{ expression }}` becomes the expression's value with its own type. An unsafe
    /// string gives its text, untemplated.
    pub fn render_value(&self, value: &Json, vars: &Arc<Vars>) -> Result<Json, TemplateError> {
        match value {
            Json::String(text) => self
                .render_string(text, vars)
                .or_else(|err| super::markers::replacement(text, err)),
            Json::Array(items) => items
                .iter()
                .map(|item| self.render_value(item, vars))
                .collect::<Result<_, _>>()
                .map(Json::Array),
            Json::Object(_) if let Some(text) = super::trust::unsafe_text(value) => {
                Ok(Json::String(text.to_string()))
            }
            Json::Object(_) if let Some(text) = crate::vault::files::inline_text(value) => {
                crate::vault::files::decrypt_inline(text)
                    .map(Json::String)
                    .map_err(TemplateError::new)
            }
            Json::Object(map) => {
                let mut rendered = serde_json::Map::new();
                for (key, item) in map {
                    rendered.insert(self.render_str(key, vars)?, self.render_value(item, vars)?);
                }
                Ok(Json::Object(rendered))
            }
            other => Ok(other.clone()),
        }
    }

    /// Renders one string; one `{{ expression }}` keeps the expression's type.
    fn render_string(&self, text: &str, vars: &Arc<Vars>) -> Result<Json, TemplateError> {
        if let Some(expression) = native_expression(text) {
            let expression = super::backslashes::in_expression(expression);
            return Ok(match self.eval(&expression, vars)? {
                Json::String(result) => Json::String(with_trailing_newlines(text, result)),
                other => other,
            });
        }
        self.render_str(text, vars).map(Json::String)
    }

    /// Evaluates a bare expression (`when:`, `var=`); undefined is an error.
    pub fn eval(&self, expression: &str, vars: &Arc<Vars>) -> Result<Json, TemplateError> {
        let value = self.eval_value(expression, vars)?;
        if holds_undefined(&value) {
            return Err(undefined_error(expression, vars));
        }
        Ok(to_json(&value))
    }

    /// Evaluates a bare expression to a minijinja value (undefined allowed).
    pub fn eval_value(&self, expression: &str, vars: &Arc<Vars>) -> Result<Value, TemplateError> {
        let expression = strip_braces(expression);
        super::nesting::check_expression(expression)?;
        take_undefined_hint();
        let context = Value::from_dyn_object(vars.clone());
        let run = |env: &Environment<'static>| {
            shielded(|| {
                env.compile_expression(expression)
                    .and_then(|compiled| compiled.eval(&context))
            })
        };
        match run(&self.strict) {
            Err(err) if err.kind() == ErrorKind::UndefinedError && guards_undefined(expression) => {
                run(&self.chainable).map_err(|err| describe(err, expression, vars))
            }
            other => other.map_err(|err| describe(err, expression, vars)),
        }
    }

    /// Evaluates a condition as `when:` does: Python truthiness of the expression.
    pub fn condition(&self, expression: &str, vars: &Arc<Vars>) -> Result<bool, TemplateError> {
        let value = self.eval(expression, vars)?;
        Ok(match &value {
            Json::String(s) => !matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "" | "false" | "no" | "off" | "0" | "none"
            ),
            other => truthy(other),
        })
    }
}

/// Runs one call into minijinja, turning a panic inside it into an error: a bug of
/// the engine must fail one task, not the run. (One is known: past column 65,535 of
/// a line, a syntax error overflows its 16-bit column in debug builds.)
pub fn shielded<T>(call: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    std::panic::catch_unwind(AssertUnwindSafe(call)).unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::InvalidOperation,
            "the template engine failed on this text",
        ))
    })
}

/// Builds one environment with everything Ansible templates expect.
fn environment(behavior: UndefinedBehavior) -> Environment<'static> {
    let mut env = Environment::new();
    minijinja::set_string_rem_hook(super::percent::rem);
    env.set_undefined_behavior(behavior);
    env.set_keep_trailing_newline(true);
    env.set_trim_blocks(true);
    super::register(&mut env);
    super::lookups::register(&mut env);
    env.set_formatter(|out, _state, value| {
        if holds_undefined(value) {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        // Ansible 2.19 writes none as nothing (`a{{ none }}b` is `ab`).
        if value.is_none() {
            return Ok(());
        }
        out.write_str(&super::pyfmt::py_str(value))
            .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write template output"))
    });
    env
}

/// Whether the text tests for undefined values, so a chainable retry is right.
fn guards_undefined(text: &str) -> bool {
    text.contains("defined") || text.contains("default") || text.contains("d(")
}

/// `{{ x }}` as a whole string: the expression inside, if there is exactly one.
fn single_expression(text: &str) -> Option<&str> {
    let inner = text.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

/// The expression of a template that is one `{{ }}` and nothing else (one trailing
/// newline aside, which Jinja's lexer drops): its value keeps its type, as with
/// Ansible's native rendering. Text around it (`" {{ x }}"`) makes it a string.
fn native_expression(text: &str) -> Option<&str> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let inner = body.strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then(|| inner.trim())
}

/// `result` with the trailing newlines of `template` it lacks, as Ansible's
/// `preserve_trailing_newlines` adds them back to a string result.
fn with_trailing_newlines(template: &str, mut result: String) -> String {
    let count = |text: &str| text.len() - text.trim_end_matches('\n').len();
    let missing = count(template).saturating_sub(count(&result));
    result.push_str(&"\n".repeat(missing));
    result
}

/// Accepts `when: "{{ x }}"` as Ansible does, by unwrapping the braces.
fn strip_braces(expression: &str) -> &str {
    single_expression(expression).unwrap_or(expression.trim())
}

/// Whether `value` is undefined or holds an undefined value in a list or dict the
/// template built (`map(attribute=...)` over an item without it, `[missing]`): Ansible
/// refuses both when it finalizes a template's result. Objects of bosun's own, such as
/// `hostvars`, are not looked into.
fn holds_undefined(value: &Value) -> bool {
    if value.is_undefined() {
        return true;
    }
    if let Some(items) = value.downcast_object_ref::<Vec<Value>>() {
        return items.iter().any(holds_undefined);
    }
    value
        .downcast_object_ref::<indexmap::IndexMap<Value, Value>>()
        .is_some_and(|map| map.values().any(holds_undefined))
}

/// Converts a template value into JSON (undefined becomes null).
pub fn to_json(value: &Value) -> Json {
    if value.is_undefined() || value.is_none() {
        return Json::Null;
    }
    serde_json::to_value(value).unwrap_or(Json::Null)
}

/// Turns a minijinja error into an Ansible-like message naming the undefined variable.
fn describe(err: Error, source: &str, vars: &Arc<Vars>) -> TemplateError {
    if err.kind() == ErrorKind::UndefinedError {
        return undefined_error(source, vars);
    }
    if let Some(inner) =
        std::error::Error::source(&err).and_then(|source| source.downcast_ref::<TemplateError>())
    {
        return TemplateError::new(inner.message.clone());
    }
    let detail = err
        .detail()
        .map(str::to_string)
        .unwrap_or_else(|| err.to_string());
    TemplateError::new(format!(
        "template error while templating '{source}': {detail}"
    ))
}

/// Functions every template can call: names in an expression that are no variables.
const GLOBAL_FUNCTIONS: &[&str] = &[
    "lookup",
    "query",
    "q",
    "undef",
    "range",
    "dict",
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "now",
    "zip",
];

/// Names the first variable of `source` that does not resolve.
fn undefined_error(source: &str, vars: &Arc<Vars>) -> TemplateError {
    if let Some(nested) = Vars::take_nested_error() {
        return nested;
    }
    let env = Environment::new();
    let names = if is_template(source) && single_expression(source).is_none() {
        env.template_from_str(source)
            .map(|t| t.undeclared_variables(true))
            .unwrap_or_default()
    } else {
        env.compile_expression(strip_braces(source))
            .map(|e| e.undeclared_variables(true))
            .unwrap_or_default()
    };
    let mut names: Vec<String> = names.into_iter().collect();
    // The first name written is the first Jinja evaluates: name that one.
    names.sort_by_key(|name| {
        let root = name.split('.').next().unwrap_or_default();
        (source.find(root).unwrap_or(usize::MAX), name.clone())
    });
    for name in names {
        let mut parts = name.split('.');
        let root = parts.next().unwrap_or_default();
        if GLOBAL_FUNCTIONS.contains(&root) && vars.lookup(root).is_none() {
            continue;
        }
        let Some(mut value) = vars.lookup(root) else {
            return TemplateError::undefined(format!("'{root}' is undefined"));
        };
        let mut path = root.to_string();
        for attribute in parts {
            match value.get_attr(attribute) {
                Ok(next) if !next.is_undefined() => value = next,
                _ => {
                    return TemplateError::undefined(format!(
                        "'{path}' has no attribute '{attribute}'"
                    ));
                }
            }
            path.push('.');
            path.push_str(attribute);
        }
    }
    if let Some(hint) = take_undefined_hint() {
        return TemplateError::undefined(hint);
    }
    TemplateError::undefined(format!("an undefined variable is used in '{source}'"))
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

    /// Ansible finalizes a template's result: an undefined value inside a list or a
    /// dict fails with its reason, whether the result keeps its type or is text.
    #[test]
    fn an_undefined_value_inside_the_result_fails_with_its_reason() {
        let v = vars(json!({"things": [{"name": "one"}, {"other": 3}]}));
        let t = v.templar();
        for text in [
            "{{ things | map(attribute='name') }}",
            "names: {{ things | map(attribute='name') | list }}",
        ] {
            let err = t.render_value(&json!(text), &v).expect_err(text);
            assert_eq!(err.message, "object of type 'dict' has no attribute 'name'");
        }
        let err = t
            .render_value(&json!("{{ {'k': [1, missing]} }}"), &v)
            .expect_err("nested");
        assert_eq!(err.message, "'missing' is undefined");
        let kept = t
            .render_value(
                &json!("{{ things | map(attribute='name') | select('defined') }}"),
                &v,
            )
            .expect("the undefined item is dropped");
        assert_eq!(kept, json!(["one"]));
    }

    #[test]
    fn undefined_in_output_names_the_variable() {
        let v = vars(json!({"a": 1}));
        let err = v
            .templar()
            .render_str("x {{ missing }} y", &v)
            .expect_err("undefined");
        assert_eq!(err.message, "'missing' is undefined");
        let err = v
            .templar()
            .render_str("{{ a.b }}", &vars(json!({"a": {"c": 1}})))
            .expect_err("undefined");
        assert_eq!(err.message, "'a' has no attribute 'b'");
    }

    #[test]
    fn defined_tests_and_default_tolerate_undefined() {
        let v = vars(json!({"a": {"c": 1}}));
        let t = v.templar();
        assert!(!t.condition("missing is defined", &v).expect("evaluates"));
        assert!(
            !t.condition("missing.deeper is defined", &v)
                .expect("evaluates")
        );
        assert!(t.condition("a.c is defined", &v).expect("evaluates"));
        assert_eq!(
            t.render_str("{{ missing | default('d') }}", &v)
                .expect("renders"),
            "d"
        );
        assert_eq!(
            t.render_str("{{ missing.x | default('d') }}", &v)
                .expect("renders"),
            "d"
        );
    }

    #[test]
    fn bare_undefined_condition_is_an_error() {
        let v = vars(json!({}));
        let err = v.templar().condition("missing", &v).expect_err("undefined");
        assert_eq!(err.message, "'missing' is undefined");
    }

    #[test]
    fn single_expression_keeps_native_type() {
        let v = vars(json!({"port": 8000, "names": ["a", "b"]}));
        let t = v.templar();
        assert_eq!(
            t.render_value(&json!("{{ port + 1 }}"), &v).expect("ok"),
            json!(8001)
        );
        assert_eq!(
            t.render_value(&json!("{{ names }}"), &v).expect("ok"),
            json!(["a", "b"])
        );
        assert_eq!(
            t.render_value(&json!("p{{ port }}"), &v).expect("ok"),
            json!("p8000")
        );
        assert_eq!(
            t.render_value(&json!("{{ names }}\n"), &v).expect("ok"),
            json!(["a", "b"]),
            "Jinja drops one trailing newline"
        );
        assert_eq!(
            t.render_value(&json!(" {{ port }}"), &v).expect("ok"),
            json!(" 8000")
        );
        assert_eq!(
            t.render_value(&json!("{{ 'x' }}\n"), &v).expect("ok"),
            json!("x\n"),
            "a string keeps the template's trailing newlines"
        );
    }

    #[test]
    fn division_by_zero_fails_as_in_python() {
        let v = vars(json!({"zero": 0}));
        let message =
            |expression: &str| v.templar().eval(expression, &v).expect_err("fails").message;
        assert!(message("5 / zero").ends_with(": division by zero"));
        assert!(message("5.0 / 0").ends_with(": float division by zero"));
        assert!(message("5 // 0").ends_with(": integer division or modulo by zero"));
        assert!(message("5 % 0").ends_with(": integer modulo by zero"));
        assert_eq!(v.templar().eval("5 / 2", &v).expect("divides"), json!(2.5));
    }

    #[test]
    fn output_uses_python_forms() {
        let v = vars(json!({"flag": true, "list": [1, "a"], "none": null}));
        let out = v
            .templar()
            .render_str("{{ flag }} {{ list }} {{ none }}", &v)
            .expect("renders");
        // Ansible 2.19 writes a none in text as nothing (it was `None` before).
        assert_eq!(out, "True [1, 'a'] ");
    }

    #[test]
    fn a_panic_inside_minijinja_fails_the_template_only() {
        let v = vars(json!({}));
        let late_error = format!("{}{{{{ 'unclosed }}}}", "x".repeat(70_000));
        let err = v
            .templar()
            .render_str(&late_error, &v)
            .expect_err("an error, not a panic");
        assert!(err.message.contains("template error"), "{err}");
    }

    #[test]
    fn when_accepts_braces_and_truthy_strings() {
        let v = vars(json!({"x": "yes", "empty": ""}));
        let t = v.templar();
        assert!(t.condition("{{ x }}", &v).expect("evaluates"));
        assert!(!t.condition("empty", &v).expect("evaluates"));
    }
}
