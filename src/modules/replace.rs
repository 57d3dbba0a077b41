//! `replace`: replaces every match of a regular expression in a file (Python `re`
//! semantics, MULTILINE), optionally only between `after` and `before`.

use async_trait::async_trait;

use super::contract::{Decision, StateModule};
use super::textfile::{self, SavePlan, TextFile};
use super::typed::{WithAttributes, module_args};
use super::{ModuleError, Outcome, Target, fileops};
use crate::pyre::{self, Anchor, Flags, Replacement};

/// `replace`: regular-expression replacement across a whole file.
pub struct Replace;

module_args! {
    /// `replace`'s own arguments.
    pub struct ReplaceArgs {
        /// The file to edit.
        path: String => .required().aliases(&["dest", "destfile", "name"]),
        /// The regular expression to replace (Python `re`, MULTILINE).
        regexp: String => .required(),
        /// What replaces each match; may refer to groups.
        replace: String => .default_str(""),
        /// Only replace after the first match of this pattern.
        after: Option<String>,
        /// Only replace before the last match of this pattern.
        before: Option<String>,
        /// Whether the old file is kept beside the new one.
        backup: bool => .default_bool(false),
        /// A command (with `%s`) that must accept the new file before it is put in place.
        validate: Option<String>,
        /// How the file is stored (utf-8 or latin-1).
        encoding: String => .default_str("utf-8"),
    }
}

/// The arguments with the file attributes.
type Args = WithAttributes<ReplaceArgs>;

#[async_trait]
impl StateModule for Replace {
    const NAME: &'static str = "replace";
    type Args = Args;
    type State = TextFile;
    type Plan = SavePlan;

    /// Reads the file; a missing one fails here.
    async fn query(&self, on: &Target<'_>, args: &Args) -> Result<TextFile, ModuleError> {
        let own = &args.args;
        let missing = Some("Path");
        textfile::read_edited(on, &own.path, &own.encoding, &args.attributes, missing).await
    }

    fn decide(&self, args: &Args, file: TextFile) -> Result<Decision<SavePlan>, String> {
        let own = &args.args;
        let contents = file.text.as_deref().unwrap_or("");
        let spec = Spec {
            regexp: &own.regexp,
            replace: &own.replace,
            after: own.after.as_deref().filter(|a| !a.is_empty()),
            before: own.before.as_deref().filter(|b| !b.is_empty()),
        };
        let (after, count) = match replace(contents, &spec)? {
            Replaced::NoSection(pattern) => {
                return Ok(Decision::unchanged()
                    .with(
                        "msg",
                        format!(
                            "Pattern for before/after params did not match the given file: {pattern}"
                        ),
                    )
                    .with("rc", 0));
            }
            Replaced::Text(after, count) => (after, count),
        };
        let changed = after != contents;
        let msg = if changed {
            format!("{count} replacements made")
        } else {
            String::new()
        };
        let plan = textfile::plan_save(&file, &args.attributes, &after, changed, &msg)?;
        let msg = plan.msg.clone();
        let decision = Decision::maybe(plan.changed.then_some(plan))
            .with("msg", msg)
            .with("rc", 0);
        Ok(match changed {
            true => decision.with_diff(fileops::content_diff(&file.path, contents, &after)),
            false => decision,
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Args,
        save: SavePlan,
    ) -> Result<Outcome, ModuleError> {
        let own = &args.args;
        textfile::apply_save_with_backup_file(on, &save, own.validate.as_deref(), own.backup).await
    }
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
    use crate::modules::typed::from_json;
    use serde_json::{Value as Json, json};

    /// Decides one replacement on `/f` holding `text`.
    fn decide(params: Json, text: &str) -> Decision<SavePlan> {
        let mut params = params;
        params["path"] = json!("/f");
        let args: Args = from_json(params).expect("valid arguments");
        Replace
            .decide(&args, TextFile::found("/f", Some(text)))
            .expect("decides")
    }

    #[test]
    fn decide_counts_replacements_and_diffs_only_changes() {
        let decision = decide(json!({"regexp": "a", "replace": "b"}), "a a\n");
        assert_eq!(decision.result["msg"], json!("2 replacements made"));
        assert_eq!(decision.result["rc"], json!(0));
        assert!(decision.plan.is_some());
        assert!(decision.diff.is_some());
        let same = decide(json!({"regexp": "z"}), "a\n");
        assert!(same.plan.is_none() && same.diff.is_none());
        let mode = decide(json!({"regexp": "z", "mode": "0600"}), "a\n");
        assert!(mode.plan.is_some() && mode.diff.is_none());
        let nowhere = decide(json!({"regexp": "a", "after": "q"}), "a\n");
        assert!(nowhere.plan.is_none());
        assert_eq!(
            nowhere.result["msg"],
            json!(
                "Pattern for before/after params did not match the given file: q(?P<subsection>.*)"
            )
        );
    }

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
