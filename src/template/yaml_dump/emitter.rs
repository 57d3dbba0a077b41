//! The structural half of the PyYAML emitter port: documents, block and
//! flow collections, indentation and indicators.

use super::{Node, YamlOptions};

/// Where a node appears, as PyYAML's emitter tracks it.
#[derive(Clone, Copy, Default)]
pub(super) struct Context {
    pub(super) root: bool,
    pub(super) mapping: bool,
    pub(super) simple_key: bool,
}

/// Emitter state: output, position and indentation stack.
pub(super) struct Emitter {
    pub(super) out: String,
    pub(super) best_indent: usize,
    pub(super) best_width: usize,
    pub(super) indent: Option<usize>,
    indents: Vec<Option<usize>>,
    pub(super) flow_level: usize,
    pub(super) column: usize,
    pub(super) whitespace: bool,
    pub(super) indention: bool,
    pub(super) open_ended: bool,
}

impl Emitter {
    /// Creates an emitter with PyYAML's clamping of indent and width.
    pub(super) fn new(opts: &YamlOptions) -> Self {
        let best_indent = if (2..10).contains(&opts.indent) {
            opts.indent
        } else {
            2
        };
        let best_width = if opts.width > best_indent * 2 {
            opts.width
        } else {
            80
        };
        Emitter {
            out: String::new(),
            best_indent,
            best_width,
            indent: None,
            indents: Vec::new(),
            flow_level: 0,
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
        }
    }

    /// Writes one complete document and returns the text.
    pub(super) fn document(mut self, node: &Node, opts: &YamlOptions) -> String {
        if opts.explicit_start {
            self.write_indent();
            self.write_indicator("---", true, false, false);
        }
        let root = Context {
            root: true,
            ..Context::default()
        };
        self.node(node, root);
        self.write_indent();
        if opts.explicit_end {
            self.write_indicator("...", true, false, false);
            self.write_indent();
        }
        if self.open_ended {
            self.write_indicator("...", true, false, false);
            self.write_indent();
        }
        self.out
    }

    fn node(&mut self, node: &Node, ctx: Context) {
        match node {
            Node::Scalar { text, plain_ok } => {
                self.increase_indent(true, false);
                self.scalar(text, *plain_ok, ctx);
                self.pop_indent();
            }
            Node::Seq { items, flow } => {
                if self.flow_level > 0 || *flow || items.is_empty() {
                    self.flow_sequence(items);
                } else {
                    self.block_sequence(items, ctx);
                }
            }
            Node::Map { pairs, flow } => {
                if self.flow_level > 0 || *flow || pairs.is_empty() {
                    self.flow_mapping(pairs);
                } else {
                    self.block_mapping(pairs);
                }
            }
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(self.best_indent),
            None => Some(0),
            Some(i) if !indentless => Some(i + self.best_indent),
            Some(i) => Some(i),
        };
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().flatten();
    }

    fn flow_sequence(&mut self, items: &[Node]) {
        self.write_indicator("[", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            self.node(item, Context::default());
        }
        self.pop_indent();
        self.flow_level -= 1;
        self.write_indicator("]", false, false, false);
    }

    fn flow_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.write_indicator("{", true, true, false);
        self.flow_level += 1;
        self.increase_indent(true, false);
        let in_map = Context {
            mapping: true,
            ..Context::default()
        };
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                self.write_indicator(",", false, false, false);
            }
            if self.column > self.best_width {
                self.write_indent();
            }
            if is_simple_key(key) {
                self.node(
                    key,
                    Context {
                        simple_key: true,
                        ..in_map
                    },
                );
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, false);
                self.node(key, in_map);
                if self.column > self.best_width {
                    self.write_indent();
                }
                self.write_indicator(":", true, false, false);
            }
            self.node(value, in_map);
        }
        self.pop_indent();
        self.flow_level -= 1;
        self.write_indicator("}", false, false, false);
    }

    fn block_sequence(&mut self, items: &[Node], ctx: Context) {
        let indentless = ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::default());
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, pairs: &[(Node, Node)]) {
        self.increase_indent(false, false);
        let in_map = Context {
            mapping: true,
            ..Context::default()
        };
        for (key, value) in pairs {
            self.write_indent();
            if is_simple_key(key) {
                self.node(
                    key,
                    Context {
                        simple_key: true,
                        ..in_map
                    },
                );
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.node(key, in_map);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, in_map);
        }
        self.pop_indent();
    }

    /// Writes an indicator such as `-`, `:` or `[`, with a separating space
    /// when needed.
    pub(super) fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    /// Moves to the current indentation, breaking the line when needed.
    pub(super) fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break(None);
        }
        if self.column < indent {
            self.whitespace = true;
            self.out.push_str(&" ".repeat(indent - self.column));
            self.column = indent;
        }
    }

    /// Writes a line break (`\n` unless a specific break character is given).
    pub(super) fn write_line_break(&mut self, brk: Option<char>) {
        self.out.push(brk.unwrap_or('\n'));
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
    }

    /// Writes a run of text, advancing the column.
    pub(super) fn write_text(&mut self, text: &[char]) {
        self.out.extend(text);
        self.column += text.len();
    }
}

/// PyYAML's `check_simple_key`: short single-line scalars and empty collections.
fn is_simple_key(node: &Node) -> bool {
    match node {
        Node::Scalar { text, .. } => {
            let len = text.chars().count();
            len > 0 && len < 128 && !text.chars().any(super::scalar::is_break)
        }
        Node::Seq { items, .. } => items.is_empty(),
        Node::Map { pairs, .. } => pairs.is_empty(),
    }
}
