//! YAML loading with a position on every node, resolving scalars the way Ansible's
//! PyYAML does (YAML 1.1): `yes`/`no`/`on`/`off` are booleans, `0644` is octal, and
//! `<<` merge keys work.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use regex::Regex;
use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::Value as Json;

use crate::source::{SourceError, SourceFile, Span};

/// One YAML node with where it was written.
#[derive(Clone, Debug)]
pub struct Node {
    /// The node's content.
    pub value: Value,
    /// Where the node starts.
    pub span: Span,
}

/// The content of a YAML node.
#[derive(Clone, Debug)]
pub enum Value {
    /// `~`, `null` or nothing.
    Null,
    /// `true`, `yes`, `on` ...
    Bool(bool),
    /// An integer, including YAML 1.1 octal (`0644`), hex and binary.
    Int(i64),
    /// A float.
    Float(f64),
    /// Any string; quoted scalars are always strings.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping in source order.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The node as a string if it is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The node's entries if it is a mapping.
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The node's items if it is a sequence.
    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// Looks up a string key in a mapping node.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_string() == key)
            .map(|(_, v)| v)
    }

    /// A short name for the node's type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The node rendered as a mapping key: scalars as their text.
    pub fn key_string(&self) -> String {
        match &self.value {
            Value::Str(s) => s.clone(),
            Value::Null => String::new(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Seq(_) | Value::Map(_) => self.to_json().to_string(),
        }
    }

    /// The node as a plain JSON value (positions dropped).
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_string(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Reads and parses a YAML file; an empty file gives a `Null` node.
pub fn load_file(path: &Path) -> Result<Node, SourceError> {
    let file = SourceFile::read(path).map_err(|err| {
        let placeholder = SourceFile::new(path, "");
        SourceError::new(
            &Span::file_start(&placeholder),
            format!("cannot read {}: {err}", path.display()),
        )
    })?;
    parse(&file)
}

/// Parses YAML text that did not come from a file (`-e '{...}'`, `from_yaml`).
pub fn parse_str(name: &str, text: &str) -> Result<Node, SourceError> {
    parse(&SourceFile::new(name, text))
}

/// How deeply collections may nest, aliases included. libyaml (behind Ansible) stops
/// at 1000 and Ansible's own recursion fails near 500; real files stay under 30.
pub const MAX_DEPTH: usize = 256;

/// How many nodes aliases may copy into one document, so a "billion laughs" bomb
/// (each anchor a list of aliases to the previous one) stops early with an error.
pub const MAX_ALIAS_NODES: usize = 100_000;

/// How many bytes of scalars aliases may copy into one document.
pub const MAX_ALIAS_BYTES: usize = 16 << 20;

/// A duplicate mapping key: Ansible warns and keeps the last value.
#[derive(Debug)]
pub struct DuplicateKey {
    /// The key as text.
    pub key: String,
    /// Where the later occurrence is.
    pub span: Span,
}

impl DuplicateKey {
    /// Ansible's warning: the place, the lines up to it with a caret, the outcome.
    pub fn warning(&self) -> String {
        let (line, col) = (self.span.line, self.span.col);
        let first = line.saturating_sub(2).max(1);
        let width = line.to_string().len();
        let mut snippet = String::new();
        for (number, text) in self.span.file.text.lines().enumerate().skip(first - 1) {
            if number + 1 > line {
                break;
            }
            snippet.push_str(&format!("{:<width$} {text}\n", number + 1));
        }
        format!(
            "Found duplicate mapping key '{}'.\nOrigin: {}\n\n{snippet}{:pad$}^ column {col}\n\n\
             Using last defined value only.",
            self.key,
            self.span,
            "",
            pad = width + col,
        )
    }
}

/// Parses the first document of `file`, printing a warning for each duplicate key.
pub fn parse(file: &Arc<SourceFile>) -> Result<Node, SourceError> {
    let (root, duplicates) = parse_document(file)?;
    for duplicate in duplicates {
        eprintln!("[WARNING]: {}", duplicate.warning());
    }
    Ok(root)
}

/// Parses the first document of `file` into its tree and the duplicate keys found.
pub fn parse_document(file: &Arc<SourceFile>) -> Result<(Node, Vec<DuplicateKey>), SourceError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(&file.text) {
        let (event, span) = event.map_err(|err| {
            let mark = err.marker();
            let at = Span::at(file, mark.line(), mark.col() + 1, 1);
            // The scanner itself stops flow collections (`[[[...`) at 255 levels.
            if err.info() == "recursion limit exceeded" {
                return too_deep(&at);
            }
            SourceError::new(&at, format!("YAML syntax error: {}", err.info()))
                .with_help("check the indentation and quoting around this line")
        })?;
        let at = Span::at(file, span.start.line(), span.start.col() + 1, 1);
        if builder.on_event(event, at)? {
            break;
        }
    }
    let root = builder.root.unwrap_or(Node {
        value: Value::Null,
        span: Span::file_start(file),
    });
    Ok((root, builder.duplicates))
}

/// Turns parser events into a node tree.
#[derive(Default)]
struct Builder {
    anchors: HashMap<usize, (Node, Weight)>,
    stack: Vec<Open>,
    root: Option<Node>,
    /// What aliases have copied so far, against [`MAX_ALIAS_NODES`] and [`MAX_ALIAS_BYTES`].
    copied: Weight,
    duplicates: Vec<DuplicateKey>,
}

/// A collection being built, with the anchor to register when it closes.
struct Open {
    node: Node,
    anchor: usize,
    pending_key: Option<Node>,
    /// Where each key of a mapping is in its entries, and whether a merge put it there.
    keys: HashMap<String, (usize, bool)>,
    /// Tagged `!unsafe`: every string inside is kept from templating.
    unsafe_tag: bool,
}

impl Open {
    /// A collection starting with `value` at `span`.
    fn new(value: Value, span: Span, anchor: usize) -> Open {
        Open {
            node: Node { value, span },
            anchor,
            pending_key: None,
            keys: HashMap::new(),
            unsafe_tag: false,
        }
    }
}

/// The size of a node tree: how much an alias to it copies, and how deep it goes.
#[derive(Clone, Copy, Debug, Default)]
struct Weight {
    nodes: usize,
    bytes: usize,
    depth: usize,
}

impl Weight {
    /// Measures `node` (its depth is bounded by [`MAX_DEPTH`], so this recursion is too).
    fn of(node: &Node) -> Weight {
        let children = |nodes: &mut dyn Iterator<Item = &Node>| {
            nodes.fold(Weight::default(), |total, child| {
                let weight = Weight::of(child);
                Weight {
                    nodes: total.nodes.saturating_add(weight.nodes),
                    bytes: total.bytes.saturating_add(weight.bytes),
                    depth: total.depth.max(weight.depth),
                }
            })
        };
        let (inner, depth) = match &node.value {
            Value::Str(s) => (
                Weight {
                    bytes: s.len(),
                    ..Weight::default()
                },
                0,
            ),
            Value::Seq(items) => (children(&mut items.iter()), 1),
            Value::Map(entries) => (children(&mut entries.iter().flat_map(|(k, v)| [k, v])), 1),
            _ => (Weight::default(), 0),
        };
        Weight {
            nodes: inner.nodes.saturating_add(1),
            bytes: inner.bytes,
            depth: inner.depth + depth,
        }
    }
}

impl Builder {
    /// Handles one event; returns true once the first document is complete.
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<bool, SourceError> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.map(|t| t.suffix.clone());
                let span = Span {
                    len: text.len().max(1),
                    ..span
                };
                let value = match tag.as_deref() {
                    Some("vault") => vault_value(&text, &span),
                    Some("unsafe") => unsafe_value(&text, &span),
                    _ => resolve_scalar(&text, style, tag.as_deref()),
                };
                let node = Node { value, span };
                self.remember(anchor, &node);
                self.push(node)?;
            }
            Event::Alias(id) => {
                let node = self.expand_alias(id, &span)?;
                self.push(Node { span, ..node })?;
            }
            Event::SequenceStart(anchor, tag) => {
                let mut open = Open::new(Value::Seq(Vec::new()), span, anchor);
                open.unsafe_tag = tag.is_some_and(|t| t.suffix == "unsafe");
                self.open(open)?;
            }
            Event::MappingStart(anchor, tag) => {
                let mut open = Open::new(Value::Map(Vec::new()), span, anchor);
                open.unsafe_tag = tag.is_some_and(|t| t.suffix == "unsafe");
                self.open(open)?;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(open) = self.stack.pop() {
                    let node = if open.unsafe_tag {
                        unsafe_node(open.node)
                    } else {
                        open.node
                    };
                    self.remember(open.anchor, &node);
                    self.push(node)?;
                }
            }
            Event::DocumentEnd => return Ok(self.root.is_some()),
            Event::StreamEnd => return Ok(true),
            Event::Nothing | Event::StreamStart | Event::DocumentStart(_) => {}
        }
        Ok(false)
    }

    /// Starts a collection, unless it would nest deeper than [`MAX_DEPTH`].
    fn open(&mut self, open: Open) -> Result<(), SourceError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(too_deep(&open.node.span));
        }
        self.stack.push(open);
        Ok(())
    }

    /// A copy of the node anchor `id` names, within the alias budget.
    fn expand_alias(&mut self, id: usize, span: &Span) -> Result<Node, SourceError> {
        let (node, weight) = self
            .anchors
            .get(&id)
            .ok_or_else(|| SourceError::new(span, "this alias refers to an unknown anchor"))?;
        if self.stack.len() + weight.depth > MAX_DEPTH {
            return Err(too_deep(span));
        }
        self.copied.nodes = self.copied.nodes.saturating_add(weight.nodes);
        self.copied.bytes = self.copied.bytes.saturating_add(weight.bytes);
        if self.copied.nodes > MAX_ALIAS_NODES || self.copied.bytes > MAX_ALIAS_BYTES {
            return Err(SourceError::new(
                span,
                format!(
                    "aliases in this file expand to more than {MAX_ALIAS_NODES} nodes or \
                     {} MiB (an alias bomb?)",
                    MAX_ALIAS_BYTES >> 20
                ),
            )
            .with_help("write the data out instead of nesting aliases of aliases"));
        }
        Ok(node.clone())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors
                .insert(anchor, (node.clone(), Weight::of(node)));
        }
    }

    /// Adds a finished node to the collection being built, or makes it the root.
    fn push(&mut self, node: Node) -> Result<(), SourceError> {
        let Some(open) = self.stack.last_mut() else {
            if self.root.is_none() {
                self.root = Some(node);
            }
            return Ok(());
        };
        match &mut open.node.value {
            Value::Seq(items) => items.push(node),
            Value::Map(entries) => match open.pending_key.take() {
                None => open.pending_key = Some(node),
                Some(key) if key.as_str() == Some("<<") => {
                    merge_into(entries, &mut open.keys, node)?;
                }
                Some(key) => {
                    if let Some(duplicate) = insert_entry(entries, &mut open.keys, key, node) {
                        self.duplicates.push(duplicate);
                    }
                }
            },
            _ => {}
        }
        Ok(())
    }
}

/// The error for nesting deeper than [`MAX_DEPTH`].
fn too_deep(span: &Span) -> SourceError {
    SourceError::new(
        span,
        format!("YAML nesting is deeper than {MAX_DEPTH} levels"),
    )
    .with_help("flatten the data; no playbook, inventory or vars file needs this depth")
}

/// Sets `key` in a mapping: a key given twice keeps its first place and its last value,
/// as in Python's dict; the second occurrence is reported unless a merge set the first.
fn insert_entry(
    entries: &mut Vec<(Node, Node)>,
    keys: &mut HashMap<String, (usize, bool)>,
    key: Node,
    value: Node,
) -> Option<DuplicateKey> {
    let name = key.key_string();
    match keys.get_mut(&name) {
        Some((index, merged)) => {
            let duplicate = (!*merged).then(|| DuplicateKey {
                key: name,
                span: key.span.clone(),
            });
            *merged = false;
            entries[*index] = (key, value);
            duplicate
        }
        None => {
            keys.insert(name, (entries.len(), false));
            entries.push((key, value));
            None
        }
    }
}

/// Applies a `<<` merge key: keys from the merged mapping(s) that are not set yet.
fn merge_into(
    entries: &mut Vec<(Node, Node)>,
    keys: &mut HashMap<String, (usize, bool)>,
    merged: Node,
) -> Result<(), SourceError> {
    let sources: Vec<Node> = match merged.value {
        Value::Map(_) => vec![merged],
        Value::Seq(items) => items,
        _ => {
            return Err(SourceError::new(
                &merged.span,
                "a `<<` merge key needs a mapping or a list of mappings",
            ));
        }
    };
    for source in sources {
        let Value::Map(source_entries) = source.value else {
            return Err(SourceError::new(
                &source.span,
                "a `<<` merge key needs a mapping or a list of mappings",
            ));
        };
        for (key, value) in source_entries {
            let name = key.key_string();
            if let std::collections::hash_map::Entry::Vacant(slot) = keys.entry(name) {
                slot.insert((entries.len(), true));
                entries.push((key, value));
            }
        }
    }
    Ok(())
}

static INT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+)$").expect("valid regex")
});
static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^([-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$",
    )
    .expect("valid regex")
});

/// A `!vault` scalar: kept encrypted, as Ansible's JSON form
/// `{"__ansible_vault": "<vault text>"}`, and decrypted only when a template uses it.
fn vault_value(text: &str, span: &Span) -> Value {
    crate::vault::files::remember_origin(text, span.to_string());
    let key = Node {
        value: Value::Str(crate::vault::files::INLINE_KEY.to_string()),
        span: span.clone(),
    };
    let text = Node {
        value: Value::Str(text.to_string()),
        span: span.clone(),
    };
    Value::Map(vec![(key, text)])
}

/// A `!unsafe` scalar: a string in Ansible's JSON form `{"__ansible_unsafe": "<text>"}`,
/// which is never templated.
fn unsafe_value(text: &str, span: &Span) -> Value {
    let key = Node {
        value: Value::Str(crate::template::trust::UNSAFE_KEY.to_string()),
        span: span.clone(),
    };
    let text = Node {
        value: Value::Str(text.to_string()),
        span: span.clone(),
    };
    Value::Map(vec![(key, text)])
}

/// A collection tagged `!unsafe`: its strings (not its keys) in their unsafe form.
fn unsafe_node(node: Node) -> Node {
    let value = match node.value {
        Value::Str(text) => unsafe_value(&text, &node.span),
        Value::Seq(items) => Value::Seq(items.into_iter().map(unsafe_node).collect()),
        Value::Map(entries) if is_tagged_scalar(&entries) => Value::Map(entries),
        Value::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|(key, item)| (key, unsafe_node(item)))
                .collect(),
        ),
        other => other,
    };
    Node {
        value,
        span: node.span,
    }
}

/// Whether mapping entries are the form of one `!unsafe` or `!vault` scalar.
fn is_tagged_scalar(entries: &[(Node, Node)]) -> bool {
    matches!(entries, [(key, _)] if key.as_str().is_some_and(|k| {
        k == crate::template::trust::UNSAFE_KEY || k == crate::vault::files::INLINE_KEY
    }))
}

/// Resolves a scalar to its YAML 1.1 type, as PyYAML (and so Ansible) does.
fn resolve_scalar(text: &str, style: ScalarStyle, tag: Option<&str>) -> Value {
    if let Some(tag) = tag {
        match tag {
            "str" | "unsafe" | "binary" => return Value::Str(text.to_string()),
            "int" => return parse_int(text).map_or(Value::Str(text.to_string()), Value::Int),
            "float" => {
                return text
                    .parse()
                    .map_or(Value::Str(text.to_string()), Value::Float);
            }
            "bool" => return resolve_plain(text),
            _ => {}
        }
    }
    if style != ScalarStyle::Plain {
        return Value::Str(text.to_string());
    }
    resolve_plain(text)
}

fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Value::Bool(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        _ if INT.is_match(text) => parse_int(text).map_or(Value::Str(text.to_string()), Value::Int),
        _ if FLOAT.is_match(text)
            && text
                .chars()
                .any(|c| c.is_ascii_digit() || c == 'n' || c == 'N') =>
        {
            parse_float(text).map_or(Value::Str(text.to_string()), Value::Float)
        }
        _ => Value::Str(text.to_string()),
    }
}

/// Parses a YAML 1.1 integer: decimal, `0x` hex, `0b` binary, leading-zero octal.
fn parse_int(text: &str) -> Option<i64> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    let (negative, digits) = match cleaned.as_bytes().first() {
        Some(b'-') => (true, &cleaned[1..]),
        Some(b'+') => (false, &cleaned[1..]),
        _ => (false, cleaned.as_str()),
    };
    let magnitude = if let Some(hex) = digits.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()?
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i64::from_str_radix(bin, 2).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i64::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse().ok()?
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn parse_float(text: &str) -> Option<f64> {
    let cleaned: String = text.chars().filter(|c| *c != '_').collect();
    match cleaned.trim_start_matches(['+', '-']) {
        ".inf" | ".Inf" | ".INF" => Some(if cleaned.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        }),
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        _ => cleaned.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(text: &str) -> Json {
        parse_str("t.yml", text).expect("parses").to_json()
    }

    #[test]
    fn yaml_1_1_booleans_as_ansible_reads_them() {
        assert_eq!(
            json_of("a: yes\nb: No\nc: on\nd: OFF\ne: 'yes'\nf: y\n"),
            json!({"a": true, "b": false, "c": true, "d": false, "e": "yes", "f": "y"})
        );
    }

    #[test]
    fn flow_collections_ignore_indentation_as_pyyaml_does() {
        let pasted_json = "a: 1\nexample: {\n    \"x\": [\n        {\n            \"k\": \"v\"\n        }\n    ]\n}\n";
        assert_eq!(
            json_of(pasted_json),
            json!({"a": 1, "example": {"x": [{"k": "v"}]}})
        );
    }

    #[test]
    fn leading_zero_is_octal_like_pyyaml() {
        assert_eq!(
            json_of("mode: 0644\nport: 2222\nhex: 0x1F\nzero: 0\nq: '0644'\n"),
            json!({"mode": 420, "port": 2222, "hex": 31, "zero": 0, "q": "0644"})
        );
    }

    #[test]
    fn floats_need_a_dot_as_in_pyyaml() {
        assert_eq!(
            json_of("a: 1.5\nb: 1.10\nc: 3.\nd: 1e3\ne: 1.2.3\n"),
            json!({"a": 1.5, "b": 1.1, "c": 3.0, "d": "1e3", "e": "1.2.3"})
        );
    }

    #[test]
    fn nulls_and_tags() {
        assert_eq!(
            json_of("a:\nb: ~\nc: !!str 12\nd: null\n"),
            json!({"a": null, "b": null, "c": "12", "d": null})
        );
    }

    #[test]
    fn merge_keys_and_aliases() {
        let text = "base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nlist: [*b]\n";
        assert_eq!(
            json_of(text),
            json!({"base": {"x": 1, "y": 2}, "other": {"y": 3, "x": 1}, "list": [{"x": 1, "y": 2}]})
        );
    }

    #[test]
    fn positions_are_one_based() {
        let node = parse_str("p.yml", "- hosts: all\n  tasks:\n    - ping:\n").expect("parses");
        let play = &node.as_seq().expect("a list")[0];
        let tasks = play.get("tasks").expect("tasks");
        let task = &tasks.as_seq().expect("a list")[0];
        assert_eq!((task.span.line, task.span.col), (3, 7));
        let (key, _) = &task.as_map().expect("a map")[0];
        assert_eq!((key.span.line, key.span.col), (3, 7));
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse_str("bad.yml", "a: 1\nb: [1, 2\nc: 3\n").expect_err("fails");
        assert!(err.to_string().starts_with("bad.yml:"), "{err}");
        assert!(err.to_string().contains("YAML syntax error"), "{err}");
    }

    #[test]
    fn empty_document_is_null() {
        assert_eq!(json_of(""), Json::Null);
        assert_eq!(json_of("# only a comment\n"), Json::Null);
    }

    #[test]
    fn unsafe_tags_mark_every_string_inside() {
        assert_eq!(
            json_of("a: !unsafe b{{x}}\nl: !unsafe ['c', 1]\nd: !unsafe {k: v}\n"),
            serde_json::json!({
                "a": {"__ansible_unsafe": "b{{x}}"},
                "l": [{"__ansible_unsafe": "c"}, 1],
                "d": {"k": {"__ansible_unsafe": "v"}},
            })
        );
    }

    #[test]
    fn vault_tags_keep_the_vault_text_in_ansibles_json_form() {
        assert_eq!(
            json_of("pw: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  6162\n"),
            json!({"pw": {"__ansible_vault": "$ANSIBLE_VAULT;1.1;AES256\n6162\n"}})
        );
    }

    #[test]
    fn block_scalars_keep_newlines() {
        assert_eq!(json_of("a: |\n  x\n  y\n"), json!({"a": "x\ny\n"}));
    }

    /// A "billion laughs": nine levels of nine aliases each, under 1 KB of text.
    fn alias_bomb() -> String {
        let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for level in 1..10 {
            let previous = format!("*a{}", level - 1);
            let items = [previous.as_str(); 9].join(", ");
            text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
        }
        text
    }

    #[test]
    fn alias_bombs_stop_at_the_alias_that_exceeds_the_budget() {
        let text = alias_bomb();
        assert!(text.len() < 1024);
        let err = parse_str("bomb.yml", &text).expect_err("refused");
        assert!(err.to_string().starts_with("bomb.yml:6:"), "{err}");
        assert!(err.message.contains("aliases"), "{err}");
    }

    #[test]
    fn aliases_of_long_strings_count_their_bytes() {
        let text = format!(
            "big: &big '{}'\ncopies: [{}]\n",
            "x".repeat(1 << 20),
            vec!["*big"; 20].join(", ")
        );
        let err = parse_str("big.yml", &text).expect_err("refused");
        assert!(err.message.contains("MiB"), "{err}");
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_an_error() {
        let deep = format!("x: {}1\n", "[".repeat(20_000));
        let err = parse_str("deep.yml", &deep).expect_err("refused");
        assert!(err.to_string().starts_with("deep.yml:1:"), "{err}");
        assert!(err.message.contains("deeper than 256"), "{err}");
        let block = format!("x:\n  {}x\n", "- ".repeat(20_000));
        let err = parse_str("block.yml", &block).expect_err("refused");
        assert!(err.message.contains("deeper than 256"), "{err}");
        let fits = format!("{}x\n", "- ".repeat(MAX_DEPTH));
        assert!(parse_str("fits.yml", &fits).is_ok());
    }

    #[test]
    fn aliases_count_towards_the_depth() {
        let nest = |inner: &str| format!("{}{inner}{}", "[".repeat(200), "]".repeat(200));
        let text = format!("a: &a {}\nb: {}\n", nest("1"), nest("*a"));
        let err = parse_str("alias.yml", &text).expect_err("refused");
        assert!(err.to_string().starts_with("alias.yml:2:"), "{err}");
        assert!(err.message.contains("deeper than 256"), "{err}");
    }

    #[test]
    fn duplicate_keys_keep_the_last_value_and_are_reported() {
        let file = SourceFile::new("dup.yml", "a: 1\nb: 2\na: 3\nc:\n  <<: {d: 4}\n  d: 5\n");
        let (root, duplicates) = parse_document(&file).expect("parses");
        assert_eq!(
            root.to_json(),
            serde_json::json!({"a": 3, "b": 2, "c": {"d": 5}})
        );
        let keys: Vec<(&str, usize, usize)> = duplicates
            .iter()
            .map(|d| (d.key.as_str(), d.span.line, d.span.col))
            .collect();
        assert_eq!(keys, [("a", 3, 1)]);
        assert_eq!(
            duplicates[0].warning(),
            "Found duplicate mapping key 'a'.\nOrigin: dup.yml:3:1\n\n\
             1 a: 1\n2 b: 2\n3 a: 3\n  ^ column 1\n\nUsing last defined value only."
        );
    }

    #[test]
    fn long_lines_are_parsed_in_linear_time() {
        let text = format!("x: [é, {}]\n", vec!["1"; 100_000].join(", "));
        let started = std::time::Instant::now();
        let root = parse_str("wide.yml", &text).expect("parses");
        assert_eq!(
            root.get("x").and_then(Node::as_seq).map(<[Node]>::len),
            Some(100_001)
        );
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    }
}
