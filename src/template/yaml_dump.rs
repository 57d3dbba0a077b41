//! A YAML emitter reproducing PyYAML's `yaml.dump` output as Ansible's
//! `to_yaml` and `to_nice_yaml` filters produce it.
//!
//! The data is first turned into a [`Node`] tree the way PyYAML's
//! representer does (scalar text, whether the plain form would read back as
//! the same type, flow or block style), then written by a port of PyYAML's
//! emitter so quoting, indentation and line folding come out identical.

mod emitter;
mod scalar;

use minijinja::value::ValueKind;
use minijinja::{Error, Value};

use super::args::fail;
use super::pyfmt::{map_pairs, py_float, type_name};

/// Options mirroring the `yaml.dump` keyword arguments Ansible exposes.
#[derive(Clone, Debug)]
pub struct YamlOptions {
    /// Spaces per nesting level (`indent=`); PyYAML accepts 2 to 9.
    pub indent: usize,
    /// Preferred line width before long scalars are folded (`width=`).
    pub width: usize,
    /// Sort mapping keys (`sort_keys=`, on by default in PyYAML).
    pub sort_keys: bool,
    /// `default_flow_style`: `None` writes collections of scalars in flow
    /// style and others in block style; `Some(b)` forces one style.
    pub flow_style: Option<bool>,
    /// Start the document with `---` (`explicit_start=`).
    pub explicit_start: bool,
    /// End the document with `...` (`explicit_end=`).
    pub explicit_end: bool,
}

impl Default for YamlOptions {
    fn default() -> Self {
        YamlOptions {
            indent: 2,
            width: 80,
            sort_keys: true,
            flow_style: None,
            explicit_start: false,
            explicit_end: false,
        }
    }
}

/// Serializes `value` as one YAML document, like PyYAML's `yaml.dump`.
pub fn dump(value: &Value, opts: &YamlOptions) -> Result<String, Error> {
    let node = Node::build(value, opts)?;
    Ok(emitter::Emitter::new(opts).document(&node, opts))
}

/// A represented YAML node.
enum Node {
    /// A scalar and whether its plain form resolves to its own type.
    Scalar { text: String, plain_ok: bool },
    /// A sequence and whether it is written in flow style.
    Seq { items: Vec<Node>, flow: bool },
    /// A mapping and whether it is written in flow style.
    Map {
        pairs: Vec<(Node, Node)>,
        flow: bool,
    },
}

impl Node {
    fn build(value: &Value, opts: &YamlOptions) -> Result<Node, Error> {
        let scalar = |text: &str| Node::Scalar {
            text: text.to_string(),
            plain_ok: true,
        };
        Ok(match value.kind() {
            ValueKind::None => scalar("null"),
            ValueKind::Bool => scalar(if value.is_true() { "true" } else { "false" }),
            ValueKind::Number if value.is_integer() => scalar(&value.to_string()),
            ValueKind::Number => scalar(&yaml_float(value)),
            ValueKind::String | ValueKind::Bytes => {
                let text = value.to_str().map(|s| s.to_string()).unwrap_or_default();
                let plain_ok = scalar::resolves_as_str(&text);
                Node::Scalar { text, plain_ok }
            }
            ValueKind::Seq | ValueKind::Iterable => {
                let items = value
                    .try_iter()?
                    .map(|item| Node::build(&item, opts))
                    .collect::<Result<Vec<_>, _>>()?;
                let flow = opts
                    .flow_style
                    .unwrap_or_else(|| items.iter().all(Node::is_scalar));
                Node::Seq { items, flow }
            }
            ValueKind::Map => {
                let mut pairs = map_pairs(value);
                let same_kind = pairs.windows(2).all(|w| w[0].0.kind() == w[1].0.kind());
                if opts.sort_keys && same_kind {
                    pairs.sort_by(|a, b| a.0.cmp(&b.0));
                }
                let pairs = pairs
                    .iter()
                    .map(|(k, v)| Ok((Node::build(k, opts)?, Node::build(v, opts)?)))
                    .collect::<Result<Vec<_>, Error>>()?;
                let flow = opts
                    .flow_style
                    .unwrap_or_else(|| pairs.iter().all(|(k, v)| k.is_scalar() && v.is_scalar()));
                Node::Map { pairs, flow }
            }
            _ => {
                return Err(fail(
                    "to_yaml",
                    format!("cannot represent an object of type {}", type_name(value)),
                ));
            }
        })
    }

    fn is_scalar(&self) -> bool {
        matches!(self, Node::Scalar { .. })
    }
}

/// Formats a float like PyYAML's `represent_float`.
fn yaml_float(value: &Value) -> String {
    let Ok(f) = f64::try_from(value.clone()) else {
        return value.to_string();
    };
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let repr = py_float(f).to_lowercase();
    if !repr.contains('.') && repr.contains('e') {
        repr.replacen('e', ".0e", 1)
    } else {
        repr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn nice(v: serde_json::Value) -> String {
        let opts = YamlOptions {
            indent: 4,
            flow_style: Some(false),
            ..YamlOptions::default()
        };
        dump(&Value::from_serialize(v), &opts).unwrap()
    }

    fn terse(v: serde_json::Value) -> String {
        dump(&Value::from_serialize(v), &YamlOptions::default()).unwrap()
    }

    #[test]
    fn nice_yaml_matches_pyyaml_layout() {
        // PyYAML: sorted keys, indentless lists under keys, `-   ` before
        // nested mappings with indent=4.
        let text = nice(json!({
            "b": [1, {"x": "y", "k": [true, null]}],
            "a": {"c": 1.5, "d": "two words"},
        }));
        let expected = "\
a:
    c: 1.5
    d: two words
b:
- 1
-   k:
    - true
    - null
    x: y
";
        assert_eq!(text, expected);
    }

    #[test]
    fn strings_that_read_as_other_types_are_quoted() {
        let text = nice(json!({
            "a": "yes", "b": "", "c": "123", "d": "1.5", "e": "null", "f": "a: b",
            "g": "x #y", "h": "- x", "i": "plain", "j": "y", "k": "2001-12-14", "l": "1e3",
        }));
        let expected = "\
a: 'yes'
b: ''
c: '123'
d: '1.5'
e: 'null'
f: 'a: b'
g: 'x #y'
h: '- x'
i: plain
j: y
k: '2001-12-14'
l: 1e3
";
        assert_eq!(text, expected);
    }

    #[test]
    fn special_characters_force_double_quotes() {
        assert_eq!(
            nice(json!({"t": "a\tb", "q": "it's"})),
            "q: it's\nt: \"a\\tb\"\n"
        );
    }

    #[test]
    fn multiline_strings_are_single_quoted_like_pyyaml() {
        // PyYAML folds line breaks inside single quotes: one blank line per '\n'.
        assert_eq!(nice(json!({"m": "one\ntwo"})), "m: 'one\n\n    two'\n");
    }

    #[test]
    fn long_plain_scalars_are_folded_at_width() {
        let long = "word ".repeat(20).trim_end().to_string();
        let text = nice(json!({ "k": long }));
        let expected = "k: word word word word word word word word word word word word word word word word\n    word word word word\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn terse_yaml_uses_flow_for_scalar_collections() {
        // default_flow_style=None: collections of scalars are written inline.
        assert_eq!(terse(json!({"a": 1, "b": "x"})), "{a: 1, b: x}\n");
        assert_eq!(terse(json!({"a": [1, 2], "b": {}})), "a: [1, 2]\nb: {}\n");
    }

    #[test]
    fn long_flow_sequences_wrap_after_width() {
        // PyYAML breaks a flow sequence once the column passes 80.
        let v: Vec<i32> = (0..40).collect();
        let expected = "[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22,\n  23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39]\n";
        assert_eq!(terse(json!(v)), expected);
    }

    #[test]
    fn root_scalars_end_the_document() {
        // PyYAML marks an open-ended plain root scalar with '...'.
        assert_eq!(terse(json!("abc")), "abc\n...\n");
        assert_eq!(terse(json!(null)), "null\n...\n");
        assert_eq!(terse(json!("yes")), "'yes'\n");
    }

    #[test]
    fn floats_follow_pyyaml() {
        assert_eq!(terse(json!([1.0, 1e17, 0.5])), "[1.0, 1.0e+17, 0.5]\n");
    }

    #[test]
    fn unsorted_keys_keep_insertion_order() {
        let opts = YamlOptions {
            sort_keys: false,
            flow_style: Some(false),
            ..YamlOptions::default()
        };
        let v = Value::from_serialize(json!({"b": 1, "a": [1]}));
        assert_eq!(dump(&v, &opts).unwrap(), "b: 1\na:\n- 1\n");
    }
}
