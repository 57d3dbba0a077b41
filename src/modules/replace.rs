//! `replace`: replaces every match of a regular expression in a file (Python `re`
//! semantics, MULTILINE), optionally only between `after` and `before`.

use async_trait::async_trait;
use serde_json::json;

use super::textfile::{self, Codec};
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
    fn takes_file_attributes(&self) -> bool {
        true
    }
    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        run(ctx, args).await
    }
}

/// Reads the file, replaces, and saves when the text changed.
async fn run(ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The file every case of Ansible's replace integration target starts from.
    const PANGRAMS: &str = "The quick brown fox jumps over the lazy dog.\n\
        We promptly judged antique ivory buckles for the next prize.\n\
        Jinxed wizards pluck ivy from the big quilt.\n\
        Jaded zombies acted quaintly but kept driving their oxen forward.";

    fn run(
        contents: &str,
        regexp: &str,
        replace_with: &str,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<Replaced, String> {
        replace(
            contents,
            &Spec {
                regexp,
                replace: replace_with,
                after,
                before,
            },
        )
    }

    /// The lines of the text a replacement produced.
    fn lines(result: Result<Replaced, String>) -> Vec<String> {
        match result {
            Ok(Replaced::Text(text, _)) => text.lines().map(str::to_string).collect(),
            other => panic!("no text: {other:?}"),
        }
    }

    #[test]
    fn before_after_and_both() {
        // replace/tasks/main.yml: "test `before` option", "test `after` option" and
        // "test combined `before` and `after` options".
        let before = lines(run(PANGRAMS, " ", "", None, Some("quilt")));
        assert_eq!(before[0], "Thequickbrownfoxjumpsoverthelazydog.");
        assert_eq!(
            before[3],
            "Jaded zombies acted quaintly but kept driving their oxen forward."
        );
        let after = lines(run(PANGRAMS, " ", "", Some("promptly"), None));
        assert_eq!(after[0], "The quick brown fox jumps over the lazy dog.");
        assert_eq!(
            after[3],
            "Jadedzombiesactedquaintlybutkeptdrivingtheiroxenforward."
        );
        assert_eq!(
            run(PANGRAMS, "e", "3", Some("quilt"), Some("promptly")),
            Ok(Replaced::NoSection(
                "quilt(?P<subsection>.*?)promptly".into()
            ))
        );
        let both = lines(run(PANGRAMS, "e", "3", Some("promptly"), Some("quilt")));
        assert_eq!(
            both[1],
            "We promptly judg3d antiqu3 ivory buckl3s for th3 n3xt priz3."
        );
    }

    #[test]
    fn multiline_anchors_and_dot() {
        // replace/tasks/main.yml: "test ^$ behavior in MULTILINE, and . behavior in
        // absense of DOTALL".
        let whole = run(PANGRAMS, r"^([\S\s]+)$", r#""\1""#, None, None);
        let Ok(Replaced::Text(whole, 1)) = whole else {
            panic!("one replacement: {whole:?}");
        };
        let each = lines(run(&whole, r"^(.+)$", r#""\1""#, None, None));
        assert_eq!(
            whole.lines().next(),
            Some("\"The quick brown fox jumps over the lazy dog.")
        );
        assert_eq!(
            each[0],
            "\"\"The quick brown fox jumps over the lazy dog.\""
        );
        assert_eq!(
            each[3],
            "\"Jaded zombies acted quaintly but kept driving their oxen forward.\"\""
        );
    }

    #[test]
    fn word_boundaries() {
        // replace/tasks/main.yml: "test \b escaping in short and long form" (the
        // long form; the short form's escapes are the k=v parser's business).
        let once = lines(run(PANGRAMS, r"\b(.+)\b", r#""\1""#, None, None));
        assert_eq!(once[0], "\"The quick brown fox jumps over the lazy dog\".");
        assert_eq!(
            once[3],
            "\"Jaded zombies acted quaintly but kept driving their oxen forward\"."
        );
        let text = once.join("\n");
        assert_eq!(
            run(&text, r"\\b(.+)\\b", r#""\1""#, None, None),
            Ok(Replaced::Text(text.clone(), 0))
        );
    }

    #[test]
    fn subsection_when_before_and_after_match_more_than_once() {
        // replace/tasks/main.yml: "test subsection replacement when before/after
        // potentially match more than once".
        let group = "# start of group\n0.0.0.0\n127.0.0.1\n127.0.1.1\n# end of group\n";
        let text = format!("{group}\n{group}\n{}", group.trim_end());
        let result = lines(run(
            &text,
            "0",
            "9",
            Some("# start of group"),
            Some("# end of group"),
        ));
        assert_eq!(
            (result[1].as_str(), result[7].as_str(), result[13].as_str()),
            ("9.9.9.9", "0.0.0.0", "0.0.0.0")
        );
    }

    #[test]
    fn bad_escape_in_the_replacement_fails() {
        // replace/tasks/main.yml: issue 79364, "Handle bad escape character".
        let err = run("", r"\.", r"\D", Some("^"), Some("$")).expect_err("bad escape");
        assert_eq!(
            err,
            r"Unable to process replace due to error: bad escape \D at position 0"
        );
    }

    #[test]
    fn counts_and_python_replacement_syntax() {
        // Each row: text, regexp, replacement, result, count. Not from Ansible's
        // tests: Python's `\g<name>`, `\n` and literal `$` in replacements.
        for (text, regexp, with, after, count) in [
            (
                "a=1\nb=2\n",
                r"^(?P<k>\w+)=(?P<v>\d)$",
                r"\g<v>=\g<k>",
                "1=a\n2=b\n",
                2,
            ),
            ("x\n", "^x$", r"y\nz", "y\nz\n", 1),
            ("cost 5\n", r"(\d)", r"$\1", "cost $5\n", 1),
            ("aaa", "a", "a", "aaa", 3),
        ] {
            assert_eq!(
                run(text, regexp, with, None, None),
                Ok(Replaced::Text(after.into(), count)),
                "{regexp}"
            );
        }
    }
}
