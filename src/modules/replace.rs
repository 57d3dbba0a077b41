//! `replace`: replaces every match of a regular expression in a file (Python `re`
//! semantics, MULTILINE), optionally only between `after` and `before`.

use async_trait::async_trait;
use serde_json::json;

use super::textfile::{self, Codec, EditError};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::pyre::{self, Anchor, Flags, Replacement};

const PARAMS: &[Param] = &[
    Param::new("path", Kind::Str)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Param::new("regexp", Kind::Str).required(),
    Param::new("replace", Kind::Str),
    Param::new("after", Kind::Str),
    Param::new("before", Kind::Str),
    Param::new("backup", Kind::Bool),
    Param::new("validate", Kind::Str),
    Param::new("encoding", Kind::Str),
    Param::new("mode", Kind::Raw),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("unsafe_writes", Kind::Bool),
];

/// `replace`: regular-expression replacement across a whole file.
pub struct Replace;

#[async_trait]
impl Module for Replace {
    fn name(&self) -> &'static str {
        "replace"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        textfile::settle(run(ctx, args).await)
    }
}

/// Reads the file, replaces, and saves when the text changed.
async fn run(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, EditError> {
    let codec = Codec::named(args.str("encoding")).map_err(textfile::fail)?;
    let file = textfile::read(ctx, args.str("path").unwrap_or_default(), codec).await?;
    let Some(contents) = &file.text else {
        return Err(textfile::fail_rc(
            format!("Path {} does not exist !", file.path),
            257,
        ));
    };
    let spec = Spec {
        regexp: args.str("regexp").unwrap_or_default(),
        replace: args.str("replace").unwrap_or_default(),
        after: args.str("after").filter(|a| !a.is_empty()),
        before: args.str("before").filter(|b| !b.is_empty()),
    };
    let (after, count) = match replace(contents, &spec).map_err(textfile::fail)? {
        Replaced::NoSection(pattern) => {
            let mut outcome = textfile::outcome(
                false,
                &format!("Pattern for before/after params did not match the given file: {pattern}"),
            );
            outcome.insert("rc".into(), json!(0));
            return Ok(outcome);
        }
        Replaced::Text(after, count) => (after, count),
    };
    let changed = after != *contents;
    let msg = if changed {
        format!("{count} replacements made")
    } else {
        String::new()
    };
    let saved = textfile::save(ctx, args, &file, &after, changed, &msg).await?;
    let mut outcome = textfile::outcome(saved.changed, &saved.msg);
    outcome.insert("rc".into(), json!(0));
    if let Some(backup) = saved.backup_file {
        outcome.insert("backup_file".into(), json!(backup));
    }
    if changed && ctx.diff_mode {
        outcome.insert(
            "diff".into(),
            super::fileops::content_diff(&file.path, contents, &after),
        );
    }
    Ok(outcome)
}

/// The replacement to make.
struct Spec<'a> {
    regexp: &'a str,
    replace: &'a str,
    after: Option<&'a str>,
    before: Option<&'a str>,
}

/// What the replacement found.
#[derive(Debug, PartialEq)]
enum Replaced {
    /// `after`/`before` did not match; carries the section pattern for the message.
    NoSection(String),
    /// The new text and how many replacements were made.
    Text(String, usize),
}

/// Replaces every match of `spec.regexp` (MULTILINE) in `contents`, or only in the
/// section between `after` and `before` (DOTALL), as Ansible's replace does.
fn replace(contents: &str, spec: &Spec<'_>) -> Result<Replaced, String> {
    let pattern = match (spec.after, spec.before) {
        (Some(after), Some(before)) => Some(format!("{after}(?P<subsection>.*?){before}")),
        (Some(after), None) => Some(format!("{after}(?P<subsection>.*)")),
        (None, Some(before)) => Some(format!("(?P<subsection>.*){before}")),
        (None, None) => None,
    };
    let range = match &pattern {
        None => 0..contents.len(),
        Some(pattern) => {
            let dotall = Flags {
                dotall: true,
                ..Flags::default()
            };
            let section = pyre::compile(pattern, dotall, Anchor::Search)?
                .search(contents)?
                .and_then(|caps| caps.name("subsection"))
                .map(|m| m.range());
            match section {
                Some(range) => range,
                None => return Ok(Replaced::NoSection(pattern.clone())),
            }
        }
    };
    let multiline = Flags {
        multiline: true,
        ..Flags::default()
    };
    let re = pyre::compile(spec.regexp, multiline, Anchor::Search)?;
    let replacement = Replacement::parse(spec.replace, &re)
        .map_err(|e| format!("Unable to process replace due to error: {e}"))?;
    let section = &contents[range.clone()];
    let (replaced, count) = pyre::subn(&re, section, &replacement, 0)?;
    if count == 0 || replaced == section {
        return Ok(Replaced::Text(contents.to_string(), count));
    }
    Ok(Replaced::Text(
        format!(
            "{}{replaced}{}",
            &contents[..range.start],
            &contents[range.end..]
        ),
        count,
    ))
}
