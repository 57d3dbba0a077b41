//! Source files and positions in them, so every load error can name `file:line:col`
//! and quote the offending line.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A text file read from disk (a playbook, an inventory, a vars file), kept whole so
/// errors can show a snippet of it.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as the user gave it or as it was resolved.
    pub path: PathBuf,
    /// The full text of the file.
    pub text: String,
    /// Where each line starts, so a position is found without scanning the file:
    /// hostile files have many nodes, and each needs its position.
    lines: Vec<LineStart>,
    /// Whether the text was decrypted from a vault file (then errors show no snippet).
    pub vaulted: bool,
}

/// How many characters apart the checkpoints of a non-ASCII line are.
const CHECKPOINT_CHARS: usize = 64;

/// The start of one line of a source file.
#[derive(Debug)]
struct LineStart {
    /// Byte offset of the line's first character.
    offset: usize,
    /// For a line that is not all ASCII, the byte offset (within the line) of every
    /// [`CHECKPOINT_CHARS`]th character; an ASCII line's columns are byte counts.
    checkpoints: Option<Vec<usize>>,
}

/// The start of every line of `text`.
fn line_starts(text: &str) -> Vec<LineStart> {
    let mut offset = 0;
    text.split_inclusive('\n')
        .map(|line| {
            let checkpoints = (!line.is_ascii()).then(|| {
                line.char_indices()
                    .step_by(CHECKPOINT_CHARS)
                    .map(|(byte, _)| byte)
                    .collect()
            });
            let start = LineStart {
                offset,
                checkpoints,
            };
            offset += line.len();
            start
        })
        .collect()
}

impl SourceFile {
    /// Wraps text that came from `path`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        let text = text.into();
        Arc::new(SourceFile {
            path: path.into(),
            lines: line_starts(&text),
            text,
            vaulted: false,
        })
    }

    /// Reads `path` from disk, decrypting it with the run's vault passwords when it
    /// is a vault file.
    pub fn read(path: &Path) -> std::io::Result<Arc<SourceFile>> {
        let (data, vaulted) =
            crate::vault::files::open(std::fs::read(path)?).map_err(std::io::Error::other)?;
        let text = String::from_utf8(data)
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))?;
        Ok(Arc::new(SourceFile {
            path: path.to_path_buf(),
            lines: line_starts(&text),
            text,
            vaulted,
        }))
    }

    /// Byte offset of a 1-based line and 1-based column counted in characters.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let Some(start) = line.checked_sub(1).and_then(|index| self.lines.get(index)) else {
            return self.text.len();
        };
        let end = self
            .lines
            .get(line)
            .map_or(self.text.len(), |next| next.offset);
        let text_line = &self.text[start.offset..end];
        let skip = col.saturating_sub(1);
        let within = match &start.checkpoints {
            None => skip.min(text_line.len()),
            Some(checkpoints) => {
                let Some(&from) = checkpoints.get(skip / CHECKPOINT_CHARS) else {
                    return end;
                };
                text_line[from..]
                    .char_indices()
                    .nth(skip % CHECKPOINT_CHARS)
                    .map_or(text_line.len(), |(byte, _)| from + byte)
            }
        };
        start.offset + within
    }
}

/// A position in a source file: where a YAML node, an INI line or a template starts.
#[derive(Clone, Debug)]
pub struct Span {
    /// The file the position is in.
    pub file: Arc<SourceFile>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub col: usize,
    /// Byte offset of the start.
    pub offset: usize,
    /// Length in bytes of the spanned text (at least 1 for display).
    pub len: usize,
}

impl Span {
    /// A span starting at `line:col` in `file`, `len` bytes long.
    pub fn at(file: &Arc<SourceFile>, line: usize, col: usize, len: usize) -> Span {
        Span {
            offset: file.offset_of(line, col),
            file: file.clone(),
            line,
            col,
            len,
        }
    }

    /// A span for a whole file (used when no finer position is known).
    pub fn file_start(file: &Arc<SourceFile>) -> Span {
        Span::at(file, 1, 1, 0)
    }

    /// The directory holding the file this span is in.
    pub fn dir(&self) -> PathBuf {
        self.file
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default()
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.path.display(), self.line, self.col)
    }
}

/// An error tied to a place in a source file; rendered by the binary with a snippet.
#[derive(Debug, thiserror::Error)]
#[error("{span}: {message}")]
pub struct SourceError {
    /// What is wrong, in one sentence.
    pub message: String,
    /// Where it is wrong.
    pub span: Span,
    /// What the user can do about it, when we know.
    pub help: Option<String>,
    /// Ansible raises it as a general error (exit 1), not a parser error (exit 4).
    pub general: bool,
}

impl SourceError {
    /// An error at `span`.
    pub fn new(span: &Span, message: impl Into<String>) -> SourceError {
        SourceError {
            message: message.into(),
            span: span.clone(),
            help: None,
            general: false,
        }
    }

    /// Adds a hint on how to fix the problem.
    pub fn with_help(mut self, help: impl Into<String>) -> SourceError {
        self.help = Some(help.into());
        self
    }

    /// Marks it one Ansible raises as a general error (exit 1).
    pub fn general(mut self) -> SourceError {
        self.general = true;
        self
    }
}

impl miette::Diagnostic for SourceError {
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        (!self.span.file.vaulted).then_some(&self.span.file.text as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let len = self
            .span
            .len
            .max(1)
            .min(self.span.file.text.len().saturating_sub(self.span.offset));
        Some(Box::new(std::iter::once(miette::LabeledSpan::new(
            Some("here".to_string()),
            self.span.offset,
            len,
        ))))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }
}

/// A [`SourceError`] shown as a warning: what Ansible would only fail if the task ran.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceWarning(pub SourceError);

impl miette::Diagnostic for SourceWarning {
    fn severity(&self) -> Option<miette::Severity> {
        Some(miette::Severity::Warning)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.0.source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.0.labels()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.0.help()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_characters_not_bytes() {
        let file = SourceFile::new("x.yml", "a: é\nb: 1\n");
        assert_eq!(file.offset_of(1, 1), 0);
        assert_eq!(file.offset_of(2, 1), 6);
        assert_eq!(file.offset_of(2, 4), 9);
        assert_eq!(file.offset_of(9, 1), file.text.len());
        let long = format!("é{}\nz", "x".repeat(200));
        let file = SourceFile::new("y.yml", long.as_str());
        assert_eq!(file.offset_of(1, 2), 2);
        assert_eq!(file.offset_of(1, 131), 131);
        assert_eq!(file.offset_of(1, 500), 203);
        assert_eq!(file.offset_of(2, 1), 203);
    }

    #[test]
    fn display_is_path_line_col() {
        let file = SourceFile::new("play.yml", "- hosts: all\n");
        let span = Span::at(&file, 1, 3, 5);
        assert_eq!(span.to_string(), "play.yml:1:3");
    }
}
