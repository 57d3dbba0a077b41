//! The variables a template sees: one host's merged variables, resolved lazily so a
//! variable holding a template (`url: "http://{{ host }}:{{ port }}"`) is rendered
//! when it is used, as Ansible does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use minijinja::value::{Enumerator, Object, ObjectRepr, Value};
use serde_json::{Map, Value as Json};

use super::engine::{Templar, TemplateError, is_template};

thread_local! {
    /// Names being resolved on this thread, to catch `a: "{{ b }}"`, `b: "{{ a }}"`.
    static RESOLVING: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// The first error met while resolving a nested variable, reported by the caller.
    static NESTED_ERROR: RefCell<Option<TemplateError>> = const { RefCell::new(None) };
}

/// A host's variables for one task, as a template context: a map of raw values and
/// computed objects, optionally layered over other variables (a loop item's over its
/// task's), so a derived scope shares what is below it instead of copying it.
pub struct Vars {
    templar: Arc<Templar>,
    map: Arc<Map<String, Json>>,
    objects: HashMap<String, Value>,
    /// Whether the computed objects are left out of the listed names.
    objects_unlisted: bool,
    /// The variables under these ones, looked up when a name is not here.
    under: Option<Arc<Vars>>,
    /// Made by [`Vars::with_extra`]: a layer of names only, which the next such layer
    /// takes along rather than stacks on.
    extra: bool,
    cache: Mutex<HashMap<String, Value>>,
}

/// What a layer holds under a name.
enum Found<'a> {
    Object(Value),
    Raw(&'a Json),
}

impl std::fmt::Debug for Vars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars")
            .field("keys", &self.map.len())
            .finish()
    }
}

impl Vars {
    /// Variables from a plain map.
    pub fn new(templar: Arc<Templar>, map: Map<String, Json>) -> Arc<Vars> {
        Vars::with_objects(templar, map, HashMap::new())
    }

    /// Variables from a map plus computed objects (`hostvars`).
    pub fn with_objects(
        templar: Arc<Templar>,
        map: Map<String, Json>,
        objects: HashMap<String, Value>,
    ) -> Arc<Vars> {
        Vars::over(templar, map, objects, None)
    }

    /// Variables from a map plus computed objects, over `under` (a host's facts,
    /// shared with every task's variables rather than copied into them): a name not
    /// here is looked up there, and rendered here.
    pub fn over(
        templar: Arc<Templar>,
        map: Map<String, Json>,
        objects: HashMap<String, Value>,
        under: Option<Arc<Vars>>,
    ) -> Arc<Vars> {
        Arc::new(Vars::layer(templar, Arc::new(map), objects, under))
    }

    /// Shared variables, with nothing computed: a layer to put other variables over.
    pub fn shared(templar: Arc<Templar>, map: Arc<Map<String, Json>>) -> Arc<Vars> {
        Arc::new(Vars::layer(templar, map, HashMap::new(), None))
    }

    /// Variables from a map plus computed objects that templates can use but that
    /// are not listed among the variables (another host's, under `hostvars`, which
    /// may name `hostvars` but do not hold it).
    pub fn with_unlisted_objects(
        templar: Arc<Templar>,
        map: Map<String, Json>,
        objects: HashMap<String, Value>,
    ) -> Arc<Vars> {
        Arc::new(Vars {
            objects_unlisted: true,
            ..Vars::layer(templar, Arc::new(map), objects, None)
        })
    }

    /// These variables with `extra` ones set on top: a layer over them (computed
    /// objects kept), nothing below copied. Such a layer over another takes that
    /// one's own names along instead, so a loop that sets facts item after item never
    /// makes a deep chain to walk.
    pub fn with_extra(self: &Arc<Self>, extra: Map<String, Json>) -> Arc<Vars> {
        let (map, under) = match (&self.under, self.extra) {
            (Some(under), true) => {
                let mut map = (*self.map).clone();
                map.extend(extra);
                (map, under.clone())
            }
            _ => (extra, self.clone()),
        };
        let templar = self.templar.clone();
        Arc::new(Vars {
            extra: true,
            ..Vars::layer(templar, Arc::new(map), HashMap::new(), Some(under))
        })
    }

    /// One layer of variables: listed objects, not an extra layer, nothing cached.
    fn layer(
        templar: Arc<Templar>,
        map: Arc<Map<String, Json>>,
        objects: HashMap<String, Value>,
        under: Option<Arc<Vars>>,
    ) -> Vars {
        Vars {
            templar,
            map,
            objects,
            objects_unlisted: false,
            under,
            extra: false,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The engine these variables render with.
    pub fn templar(&self) -> &Arc<Templar> {
        &self.templar
    }

    /// The raw (unrendered) value of `name`, from the top layer down.
    pub fn raw(&self, name: &str) -> Option<&Json> {
        self.layers().find_map(|vars| vars.map.get(name))
    }

    /// These variables' layers, the top one first.
    fn layers(&self) -> impl Iterator<Item = &Vars> {
        std::iter::successors(Some(self), |vars| vars.under.as_deref())
    }

    /// The value of `name`, its templates rendered; `None` when undefined or when
    /// rendering it failed (the failure is kept for [`Vars::take_nested_error`]).
    pub fn lookup(self: &Arc<Self>, name: &str) -> Option<Value> {
        if name == "vars" {
            return Some(Value::from_dyn_object(self.clone()));
        }
        if let Ok(cache) = self.cache.lock()
            && let Some(value) = cache.get(name)
        {
            return Some(value.clone());
        }
        let found = self.layers().find_map(|vars| {
            let object = vars.objects.get(name).cloned().map(Found::Object);
            object.or_else(|| vars.map.get(name).map(Found::Raw))
        })?;
        let raw = match found {
            Found::Object(object) => return Some(object),
            Found::Raw(raw) => raw,
        };
        match self.resolve(name, raw) {
            Ok(json) => {
                let value = super::tags::variable_value(raw, &json);
                if let Ok(mut cache) = self.cache.lock() {
                    cache.insert(name.to_string(), value.clone());
                }
                Some(value)
            }
            Err(err) => {
                NESTED_ERROR.with(|slot| {
                    slot.borrow_mut().get_or_insert(err);
                });
                None
            }
        }
    }

    /// The rendered value of `name` as JSON.
    pub fn resolved(self: &Arc<Self>, name: &str) -> Result<Option<Json>, TemplateError> {
        match self.lookup(name) {
            Some(value) => Ok(Some(super::engine::to_json(&value))),
            None => match Vars::take_nested_error() {
                Some(err) => Err(err),
                None => Ok(None),
            },
        }
    }

    /// Takes the error met while resolving a nested variable, if any.
    pub fn take_nested_error() -> Option<TemplateError> {
        NESTED_ERROR.with(|slot| slot.borrow_mut().take())
    }

    fn resolve(self: &Arc<Self>, name: &str, raw: &Json) -> Result<Json, TemplateError> {
        if !contains_template(raw) {
            return Ok(raw.clone());
        }
        let looping = RESOLVING.with(|stack| stack.borrow().iter().any(|n| n == name));
        if looping {
            return Err(TemplateError::new(format!(
                "recursive loop detected in template string: the value of '{name}' refers to itself"
            )));
        }
        RESOLVING.with(|stack| stack.borrow_mut().push(name.to_string()));
        let result = self.templar.render_value(raw, self);
        RESOLVING.with(|stack| stack.borrow_mut().pop());
        result
    }
}

/// Whether any string inside `value` is a template (or an inline vault value, which
/// rendering decrypts, or an unsafe string, which rendering gives as plain text).
pub fn contains_template(value: &Json) -> bool {
    if crate::vault::files::inline_text(value).is_some()
        || super::trust::unsafe_text(value).is_some()
    {
        return true;
    }
    match value {
        Json::String(s) => is_template(s),
        Json::Array(items) => items.iter().any(contains_template),
        Json::Object(map) => map
            .iter()
            .any(|(k, v)| is_template(k) || contains_template(v)),
        _ => false,
    }
}

impl Object for Vars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.lookup(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let mut names: Vec<&str> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for vars in self.layers() {
            let objects = vars.objects.keys().filter(|_| !vars.objects_unlisted);
            for name in vars.map.keys().chain(objects) {
                if seen.insert(name.as_str()) {
                    names.push(name);
                }
            }
        }
        Enumerator::Values(names.into_iter().map(Value::from).collect())
    }
}

/// Whether `name` can name a variable, as Ansible's `validate_variable_name` decides:
/// an ASCII identifier that Jinja does not reserve (`true`, `None`, `not`, ...).
pub fn is_variable_name(name: &str) -> bool {
    const RESERVED: &[&str] = &["true", "false", "none", "True", "False", "None", "not"];
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name)
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
    fn variables_referring_to_variables_resolve_lazily() {
        let v = vars(
            json!({"host": "web", "port": 80, "url": "http://{{ host }}:{{ port }}",
            "nested": {"u": "{{ url }}/x"}, "broken": "{{ nope }}"}),
        );
        assert_eq!(
            v.templar().render_str("{{ nested.u }}", &v).expect("ok"),
            "http://web:80/x"
        );
    }

    #[test]
    fn a_broken_variable_only_fails_when_used() {
        let v = vars(json!({"ok": 1, "broken": "{{ nope }}"}));
        assert_eq!(v.templar().render_str("{{ ok }}", &v).expect("ok"), "1");
        let err = v
            .templar()
            .render_str("{{ broken }}", &v)
            .expect_err("fails");
        assert_eq!(err.message, "'nope' is undefined");
    }

    #[test]
    fn self_reference_is_reported() {
        let v = vars(json!({"a": "{{ b }}", "b": "{{ a }}"}));
        let err = v.templar().render_str("{{ a }}", &v).expect_err("loops");
        assert!(err.message.contains("recursive loop"), "{}", err.message);
    }
}
