//! `blockinfile`: inserts, updates or removes a block of lines between marker lines.

use async_trait::async_trait;
use serde_json::json;

use super::textfile::{self, Codec, EditError};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::pyre::{self, Anchor, Flags, Pattern};

const PARAMS: &[Param] = &[
    Param::new("path", Kind::Str)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Param::new("state", Kind::Str).choices(&["absent", "present"]),
    Param::new("marker", Kind::Str),
    Param::new("block", Kind::Str).aliases(&["content"]),
    Param::new("insertafter", Kind::Str),
    Param::new("insertbefore", Kind::Str),
    Param::new("create", Kind::Bool),
    Param::new("backup", Kind::Bool),
    Param::new("validate", Kind::Str),
    Param::new("marker_begin", Kind::Str),
    Param::new("marker_end", Kind::Str),
    Param::new("append_newline", Kind::Bool),
    Param::new("prepend_newline", Kind::Bool),
    Param::new("encoding", Kind::Str),
    Param::new("mode", Kind::Raw),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("unsafe_writes", Kind::Bool),
];

/// `blockinfile`: manages a marked block of lines in a text file.
pub struct BlockInFile;

#[async_trait]
impl Module for BlockInFile {
    fn name(&self) -> &'static str {
        "blockinfile"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        textfile::settle(run(ctx, args).await)
    }
}

/// Checks the arguments, reads the file, places the block and saves the result.
async fn run(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, EditError> {
    args.mutually_exclusive(&[&["insertbefore", "insertafter"]])
        .map_err(textfile::fail)?;
    let spec = Block::new(args)?;
    let codec = Codec::named(args.str("encoding")).map_err(textfile::fail)?;
    let file = textfile::read(ctx, args.str("path").unwrap_or_default(), codec).await?;
    if file.text.is_none() {
        if !args.bool_or("create", false) {
            return Err(textfile::fail_rc(
                format!("Path {} does not exist !", file.path),
                257,
            ));
        }
        if !spec.present {
            return Ok(textfile::outcome(
                false,
                &format!("File {} not present", file.path),
            ));
        }
    }
    let after = apply(file.text.as_deref().unwrap_or(""), &spec).map_err(textfile::fail)?;
    let msg = match &file.text {
        Some(before) if *before == after => "",
        None => "File created",
        Some(_) if spec.lines.is_empty() => "Block removed",
        Some(_) => "Block inserted",
    };
    let content_diff = textfile::content_diff(&file, &after);
    let saved = textfile::save(ctx, args, &file, &after, !msg.is_empty(), msg).await?;
    let mut outcome = textfile::outcome(saved.changed, &saved.msg);
    if let Some(backup) = saved.backup_file {
        outcome.insert("backup_file".into(), json!(backup));
    }
    if ctx.diff_mode {
        let diff = if ctx.check_mode && file.text.is_none() {
            content_diff
        } else {
            json!([content_diff, saved.attr_diff])
        };
        outcome.insert("diff".into(), diff);
    }
    Ok(outcome)
}

/// Everything the edit needs, with Ansible's defaults applied.
struct Block {
    /// `state: present`.
    present: bool,
    /// The opening marker line, without its line ending.
    begin: String,
    /// The closing marker line, without its line ending.
    end: String,
    /// The lines to put in: markers and block, empty when removing.
    lines: Vec<String>,
    /// Where to insert when the markers are not found: after (`true`) or before
    /// a match of `insert_re`, or at `EOF`/`BOF` when there is none.
    after: bool,
    insert_re: Option<Pattern>,
    /// `insert_re` starts with `(?m)`: it is searched in the whole text.
    multiline: bool,
    prepend_newline: bool,
    append_newline: bool,
}

impl Block {
    fn new(args: &Args) -> Result<Block, EditError> {
        let present = args.str("state") != Some("absent");
        let marker = args
            .str("marker")
            .unwrap_or("# {mark} ANSIBLE MANAGED BLOCK");
        let begin = marker.replace("{mark}", args.str("marker_begin").unwrap_or("BEGIN"));
        let end = marker.replace("{mark}", args.str("marker_end").unwrap_or("END"));
        let block = args.str("block").unwrap_or("");
        let lines = if present && !block.is_empty() {
            let mut block = block.to_string();
            if !block.ends_with('\n') {
                block.push('\n');
            }
            let mut lines = vec![format!("{begin}\n")];
            lines.extend(split_lines(&block));
            lines.push(format!("{end}\n"));
            lines
        } else {
            Vec::new()
        };
        let insertbefore = args.str("insertbefore");
        let pattern = match (args.str("insertafter"), insertbefore) {
            (Some(after), _) if after != "EOF" => Some(after),
            (None, Some(before)) if before != "BOF" => Some(before),
            _ => None,
        };
        let insert_re = pattern
            .map(|p| pyre::compile(p, Flags::default(), Anchor::Search))
            .transpose()
            .map_err(textfile::fail)?;
        Ok(Block {
            present,
            begin,
            end,
            lines,
            after: insertbefore.is_none(),
            insert_re,
            multiline: pattern.is_some_and(pyre::has_multiline_flag),
            prepend_newline: args.bool_or("prepend_newline", false),
            append_newline: args.bool_or("append_newline", false),
        })
    }
}

/// Splits text into lines that keep their endings (`\n`, `\r\n` or `\r`), as
/// Python's `splitlines(True)` does for these.
fn split_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes[i] {
            b'\r' if bytes.get(i + 1) == Some(&b'\n') => i + 2,
            b'\r' | b'\n' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        lines.push(text[start..end].to_string());
        start = end;
        i = end;
    }
    if start < text.len() {
        lines.push(text[start..].to_string());
    }
    lines
}

/// A line without its line ending.
fn content(line: &str) -> &str {
    line.strip_suffix("\r\n")
        .or_else(|| line.strip_suffix('\n'))
        .or_else(|| line.strip_suffix('\r'))
        .unwrap_or(line)
}

/// Places (or removes) the block in `original`, following Ansible's blockinfile.
fn apply(original: &str, spec: &Block) -> Result<String, String> {
    let mut lines = split_lines(original);
    let last = |marker: &str| lines.iter().rposition(|l| content(l) == marker);
    let mut at = match (last(&spec.begin), last(&spec.end)) {
        (Some(begin), Some(end)) => {
            let (first, last) = (begin.min(end), begin.max(end));
            lines.drain(first..=last);
            first
        }
        _ => insertion_point(original, &lines, spec)?,
    };
    if at > 0 && !lines[at - 1].ends_with('\n') {
        lines[at - 1].push('\n');
    }
    if spec.prepend_newline && spec.present && at != 0 && lines[at - 1] != "\n" {
        lines.insert(at, "\n".to_string());
        at += 1;
    }
    let after_block = at + spec.lines.len();
    lines.splice(at..at, spec.lines.iter().cloned());
    if spec.append_newline
        && spec.present
        && after_block < lines.len()
        && lines[after_block] != "\n"
    {
        lines.insert(after_block, "\n".to_string());
    }
    Ok(lines.concat())
}

/// Where the block goes when its markers are not in the file.
fn insertion_point(original: &str, lines: &[String], spec: &Block) -> Result<usize, String> {
    let Some(re) = &spec.insert_re else {
        return Ok(if spec.after { lines.len() } else { 0 });
    };
    let hit = if spec.multiline {
        re.search(original)?.and_then(|caps| caps.get(0)).map(|m| {
            let until = if spec.after { m.end() } else { m.start() };
            original[..until].matches('\n').count()
        })
    } else {
        let mut last = None;
        for (number, line) in lines.iter().enumerate() {
            if re.is_match(line)? {
                last = Some(number);
            }
        }
        last
    };
    Ok(match hit {
        None => lines.len(),
        Some(n) if spec.after => n + 1,
        Some(n) => n,
    })
}
