//! `lineinfile`: ensures one line is in a text file (or replaces the line a regular
//! expression or literal string finds), or that matching lines are gone.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::textfile::{self, Codec, EditError, TextFile};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::pyre::{self, Anchor, Flags, Pattern, Replacement};

const PARAMS: &[Param] = &[
    Param::new("path", Kind::Str)
        .required()
        .aliases(&["dest", "destfile", "name"]),
    Param::new("state", Kind::Str).choices(&["absent", "present"]),
    Param::new("regexp", Kind::Str).aliases(&["regex"]),
    Param::new("search_string", Kind::Str),
    Param::new("line", Kind::Str).aliases(&["value"]),
    Param::new("encoding", Kind::Str),
    Param::new("insertafter", Kind::Str),
    Param::new("insertbefore", Kind::Str),
    Param::new("backrefs", Kind::Bool),
    Param::new("create", Kind::Bool),
    Param::new("backup", Kind::Bool),
    Param::new("firstmatch", Kind::Bool),
    Param::new("validate", Kind::Str),
    Param::new("mode", Kind::Raw),
    Param::new("owner", Kind::Str),
    Param::new("group", Kind::Str),
    Param::new("unsafe_writes", Kind::Bool),
];

/// `lineinfile`: manages single lines in text files.
pub struct LineInFile;

#[async_trait]
impl Module for LineInFile {
    fn name(&self) -> &'static str {
        "lineinfile"
    }
    fn params(&self) -> &'static [Param] {
        PARAMS
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        textfile::settle(run(ctx, args).await)
    }
}

/// Checks the arguments, reads the file, edits its lines and saves them.
async fn run(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, EditError> {
    args.mutually_exclusive(&[
        &["insertbefore", "insertafter"],
        &["regexp", "search_string"],
        &["backrefs", "search_string"],
    ])
    .map_err(textfile::fail)?;
    let regexp = args.str("regexp");
    let search_string = args.str("search_string");
    let line = args.str("line");
    let present = args.str("state") != Some("absent");
    if present && args.bool_or("backrefs", false) && regexp.is_none() {
        return Err(textfile::fail("regexp is required with backrefs=true"));
    }
    if present && line.is_none() {
        return Err(textfile::fail("line is required with state=present"));
    }
    if !present && (regexp, search_string, line) == (None, None, None) {
        return Err(textfile::fail(
            "one of line, search_string, or regexp is required with state=absent",
        ));
    }
    let matcher = Matcher::new(regexp, search_string, line.unwrap_or(""))?;
    let codec = Codec::named(args.str("encoding")).map_err(textfile::fail)?;
    let path = args.str("path").unwrap_or_default();
    let file = textfile::read(ctx, path, codec).await?;
    let mut outcome = if present {
        let spec = Present::new(args, matcher)?;
        ensure_present(ctx, args, &file, &spec).await?
    } else {
        ensure_absent(ctx, args, &file, &matcher).await?
    };
    textfile::warn(&mut outcome, empty_pattern_warning(regexp, search_string));
    Ok(outcome)
}

/// Ansible's warning when `regexp` or `search_string` is empty.
fn empty_pattern_warning(regexp: Option<&str>, search_string: Option<&str>) -> Vec<String> {
    const MSG: &str = "is an empty string, which will match every line in the file. \
        This may have unintended consequences, such as replacing the last line in the file rather than appending.";
    if regexp == Some("") {
        vec![format!(
            "The regular expression {MSG} If this is desired, use '^' to match every line in the file and avoid this warning."
        )]
    } else if search_string == Some("") {
        vec![format!("The search string {MSG}")]
    } else {
        Vec::new()
    }
}

/// `state: present`: adds or replaces the line.
async fn ensure_present(
    ctx: &ModuleContext<'_>,
    args: &Args,
    file: &TextFile,
    spec: &Present<'_>,
) -> Result<Outcome, EditError> {
    if file.text.is_none() && !args.bool_or("create", false) {
        return Err(textfile::fail_rc(
            format!("Destination {} does not exist !", file.path),
            257,
        ));
    }
    let mut lines = split_lines(file.text.as_deref().unwrap_or(""));
    let msg = present(&mut lines, spec).map_err(textfile::fail)?;
    let after = lines.concat();
    let content_diff = textfile::content_diff(file, &after);
    let saved = textfile::save(ctx, args, file, &after, !msg.is_empty(), msg).await?;
    let mut outcome = textfile::outcome(saved.changed, &saved.msg);
    outcome.insert(
        "backup".into(),
        json!(saved.backup_file.unwrap_or_default()),
    );
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

/// `state: absent`: removes every matching line.
async fn ensure_absent(
    ctx: &ModuleContext<'_>,
    args: &Args,
    file: &TextFile,
    matcher: &Matcher<'_>,
) -> Result<Outcome, EditError> {
    let Some(text) = &file.text else {
        return Ok(textfile::outcome(false, "file not present"));
    };
    let (after, found) = absent(text, matcher).map_err(textfile::fail)?;
    let msg = if found > 0 {
        format!("{found} line(s) removed")
    } else {
        String::new()
    };
    let saved = textfile::save(ctx, args, file, &after, found > 0, &msg).await?;
    let mut outcome = textfile::outcome(saved.changed, &saved.msg);
    outcome.insert("found".into(), json!(found));
    outcome.insert(
        "backup".into(),
        json!(saved.backup_file.unwrap_or_default()),
    );
    if ctx.diff_mode {
        let content_diff = textfile::content_diff(file, &after);
        outcome.insert(
            "diff".into(),
            Json::Array(vec![content_diff, saved.attr_diff]),
        );
    }
    Ok(outcome)
}

/// How lines are found: by regular expression, by literal string, or (for removal
/// without either) by being exactly `line`.
enum Find<'a> {
    Regexp(Pattern),
    Literal(&'a str),
    Exact,
}

/// What identifies the line to replace or the lines to remove.
struct Matcher<'a> {
    find: Find<'a>,
    line: &'a str,
}

impl<'a> Matcher<'a> {
    fn new(
        regexp: Option<&str>,
        search_string: Option<&'a str>,
        line: &'a str,
    ) -> Result<Matcher<'a>, EditError> {
        let find = match (regexp, search_string) {
            (Some(pattern), _) => Find::Regexp(compile(pattern)?),
            (None, Some(literal)) => Find::Literal(literal),
            (None, None) => Find::Exact,
        };
        Ok(Matcher { find, line })
    }
}

/// Compiles a pattern that is searched in one line at a time.
fn compile(pattern: &str) -> Result<Pattern, EditError> {
    pyre::compile(pattern, Flags::default(), Anchor::Search).map_err(textfile::fail)
}

/// Everything `state: present` needs, with Ansible's defaults applied.
struct Present<'a> {
    matcher: Matcher<'a>,
    /// `insertafter`, `EOF` when neither it nor `insertbefore` is given.
    insertafter: Option<&'a str>,
    insertbefore: Option<&'a str>,
    /// The `insertafter`/`insertbefore` pattern, unless it is `BOF`/`EOF`.
    insert_re: Option<Pattern>,
    backrefs: bool,
    firstmatch: bool,
}

impl<'a> Present<'a> {
    fn new(args: &'a Args, matcher: Matcher<'a>) -> Result<Present<'a>, EditError> {
        let insertbefore = args.str("insertbefore");
        let insertafter = match (args.str("insertafter"), insertbefore) {
            (None, None) => Some("EOF"),
            (after, _) => after,
        };
        let insert_re = match (insertafter, insertbefore) {
            (Some(after), _) if after != "BOF" && after != "EOF" => Some(compile(after)?),
            (_, Some(before)) if before != "BOF" => Some(compile(before)?),
            _ => None,
        };
        Ok(Present {
            matcher,
            insertafter,
            insertbefore,
            insert_re,
            backrefs: args.bool_or("backrefs", false),
            firstmatch: args.bool_or("firstmatch", false),
        })
    }
}

/// Splits text into lines that keep their `\n`, as Python's `readlines()`.
fn split_lines(text: &str) -> Vec<String> {
    text.split_inclusive('\n').map(str::to_string).collect()
}

/// A line without its trailing `\r`/`\n` characters (Python's `rstrip('\r\n')`).
fn chomp(line: &str) -> &str {
    line.trim_end_matches(['\r', '\n'])
}

/// Applies `state: present` to `lines`: the message (`line added`, `line replaced`)
/// when they changed, empty when not. Follows Ansible's lineinfile step by step.
fn present(lines: &mut Vec<String>, spec: &Present<'_>) -> Result<&'static str, String> {
    let line = spec.matcher.line;
    // 1 and 2: the last (or first) line the regexp or search string finds.
    let mut found: Option<usize> = None;
    let mut captures = None;
    for (number, current) in lines.iter().enumerate() {
        let hit = match &spec.matcher.find {
            Find::Regexp(re) => re.search(current)?.map(|caps| captures = Some(caps)),
            Find::Literal(literal) => current.contains(literal).then_some(()),
            Find::Exact => None,
        };
        if hit.is_some() {
            found = Some(number);
            if spec.firstmatch {
                break;
            }
        }
    }
    // 3: without a match, the exact line or the insertafter/insertbefore spot.
    let mut spot: Option<usize> = None;
    if found.is_none() {
        for (number, current) in lines.iter().enumerate() {
            if chomp(current) == line {
                found = Some(number);
            } else if let Some(re) = &spec.insert_re
                && re.is_match(current)?
            {
                if spec.insertafter.is_some() {
                    spot = Some(number + 1);
                } else {
                    spot = Some(number);
                }
                if spec.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(number) = found {
        let mut new_line = match (&spec.matcher.find, &captures) {
            (Find::Regexp(re), Some(caps)) if spec.backrefs => {
                Replacement::parse(line, re)?.expand(caps)
            }
            _ => line.to_string(),
        };
        if !new_line.ends_with('\n') {
            new_line.push('\n');
        }
        if lines[number] == new_line {
            return Ok("");
        }
        lines[number] = new_line;
        return Ok("line replaced");
    }
    if spec.backrefs {
        return Ok("");
    }
    let new_line = format!("{line}\n");
    if spec.insertbefore == Some("BOF") || spec.insertafter == Some("BOF") {
        lines.insert(0, new_line);
        return Ok("line added");
    }
    let Some(at) = spot.filter(|_| spec.insertafter != Some("EOF")) else {
        end_last_line(lines);
        lines.push(new_line);
        return Ok("line added");
    };
    if spec.insertafter.is_some() {
        let neighbour = if at == lines.len() { at - 1 } else { at };
        if chomp(&lines[neighbour]) == line {
            return Ok("");
        }
        if at == lines.len() {
            end_last_line(lines);
        }
    }
    lines.insert(at, new_line);
    Ok("line added")
}

/// Ends the last line with a newline so a line can follow it.
fn end_last_line(lines: &mut [String]) {
    if let Some(last) = lines.last_mut()
        && !last.ends_with(['\n', '\r'])
    {
        last.push('\n');
    }
}

/// Applies `state: absent`: the remaining text and how many lines were removed.
fn absent(text: &str, matcher: &Matcher<'_>) -> Result<(String, usize), String> {
    let mut found = 0;
    let mut kept = String::with_capacity(text.len());
    for current in text.split_inclusive('\n') {
        let hit = match &matcher.find {
            Find::Regexp(re) => re.is_match(current)?,
            Find::Literal(literal) => current.contains(literal),
            Find::Exact => chomp(current) == matcher.line,
        };
        if hit {
            found += 1;
        } else {
            kept.push_str(current);
        }
    }
    Ok((kept, found))
}
