//! `lineinfile`: ensures one line is in a text file (or replaces the line a regular
//! expression or literal string finds), or that matching lines are gone.

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::textfile::{self, SavePlan, TextFile};
use super::typed::{Rules, WithAttributes, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::pyre::{self, Anchor, Flags, Pattern, Replacement};

/// `lineinfile`: manages single lines in text files.
pub struct LineInFile;

arg_enum! {
    /// Whether the line should be in the file.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `lineinfile`'s own arguments.
    pub struct LineInFileArgs {
        /// The file to edit.
        path: String => .required().aliases(&["dest", "destfile", "name"]),
        state: State => .default_str("present"),
        /// The regular expression finding the line to replace or remove.
        regexp: Option<String> => .aliases(&["regex"]),
        /// A literal string finding the line to replace or remove.
        search_string: Option<String>,
        /// The line to put in.
        line: Option<String> => .aliases(&["value"]),
        /// How the file is stored (utf-8 or latin-1).
        encoding: String => .default_str("utf-8"),
        /// Where a new line goes: after the last match of this pattern, or `EOF`/`BOF`.
        insertafter: Option<String>,
        /// Where a new line goes: before the last match of this pattern, or `BOF`.
        insertbefore: Option<String>,
        /// Whether `line` takes back-references to `regexp`'s groups.
        backrefs: bool => .default_bool(false),
        /// Whether a missing file is created.
        create: bool => .default_bool(false),
        /// Whether the old file is kept beside the new one.
        backup: bool => .default_bool(false),
        /// Whether the first match of `insertafter`/`insertbefore` counts, not the last.
        firstmatch: bool => .default_bool(false),
        /// A command (with `%s`) that must accept the new file before it is put in place.
        validate: Option<String>,
    }
    rules: Rules {
        mutually_exclusive: &[
            &["insertbefore", "insertafter"],
            &["regexp", "search_string"],
            &["backrefs", "search_string"],
        ],
        ..Rules::NONE
    };
}

/// The arguments with the file attributes.
type Args = WithAttributes<LineInFileArgs>;

#[async_trait]
impl StateModule for LineInFile {
    const NAME: &'static str = "lineinfile";
    type Args = Args;
    type State = TextFile;
    type Plan = SavePlan;

    /// Reads the file; a missing one fails here unless it may be created or lines
    /// are being removed.
    async fn query(&self, on: &Target<'_>, args: &Args) -> Result<TextFile, ModuleError> {
        let own = &args.args;
        let missing = (own.state == State::Present && !own.create).then_some("Destination");
        textfile::read_edited(on, &own.path, &own.encoding, &args.attributes, missing).await
    }

    fn decide(&self, args: &Args, file: TextFile) -> Result<Decision<SavePlan>, String> {
        let own = &args.args;
        let regexp = own.regexp.as_deref();
        let search_string = own.search_string.as_deref();
        let line = own.line.as_deref();
        let present = own.state == State::Present;
        if present && own.backrefs && regexp.is_none() {
            return Err("regexp is required with backrefs=true".into());
        }
        if present && line.is_none() {
            return Err("line is required with state=present".into());
        }
        if !present && (regexp, search_string, line) == (None, None, None) {
            return Err(
                "one of line, search_string, or regexp is required with state=absent".into(),
            );
        }
        let matcher = Matcher::new(regexp, search_string, line.unwrap_or(""))?;
        let decision = if present {
            let spec = Present::new(own, matcher)?;
            ensure_present(args, &file, &spec)?
        } else {
            ensure_absent(args, &file, &matcher)?
        };
        let warnings = empty_pattern_warning(regexp, search_string);
        Ok(match warnings.is_empty() {
            true => decision,
            false => decision.with("warnings", warnings),
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Args,
        save: SavePlan,
    ) -> Result<Outcome, ModuleError> {
        let own = &args.args;
        let backup = textfile::apply_save(on, &save, own.validate.as_deref(), own.backup).await?;
        let mut outcome = Outcome::new();
        outcome.insert("backup".into(), json!(backup.unwrap_or_default()));
        Ok(outcome)
    }
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
fn ensure_present(
    args: &Args,
    file: &TextFile,
    spec: &Present<'_>,
) -> Result<Decision<SavePlan>, String> {
    let mut lines = split_lines(file.text.as_deref().unwrap_or(""));
    let msg = present(&mut lines, spec)?;
    let after = lines.concat();
    Ok(save(args, file, &after, msg)?.with("backup", ""))
}

/// `state: absent`: removes every matching line.
fn ensure_absent(
    args: &Args,
    file: &TextFile,
    matcher: &Matcher<'_>,
) -> Result<Decision<SavePlan>, String> {
    let Some(text) = &file.text else {
        return Ok(Decision::unchanged().with("msg", "file not present"));
    };
    let (after, found) = absent(text, matcher)?;
    let msg = if found > 0 {
        format!("{found} line(s) removed")
    } else {
        String::new()
    };
    Ok(save(args, file, &after, &msg)?
        .with("found", found)
        .with("backup", ""))
}

/// Plans saving `after` (a change when `msg` says what the edit did) and the
/// attributes, with the diff of both.
fn save(
    args: &Args,
    file: &TextFile,
    after: &str,
    msg: &str,
) -> Result<Decision<SavePlan>, String> {
    let content_diff = textfile::content_diff(file, after);
    let plan = textfile::plan_save(file, &args.attributes, after, !msg.is_empty(), msg)?;
    let diff = json!([content_diff, plan.attr_diff]);
    let msg = plan.msg.clone();
    Ok(Decision::maybe(plan.changed.then_some(plan))
        .with_diff(diff)
        .with("msg", msg))
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
    ) -> Result<Matcher<'a>, String> {
        let find = match (regexp, search_string) {
            (Some(pattern), _) => Find::Regexp(compile(pattern)?),
            (None, Some(literal)) => Find::Literal(literal),
            (None, None) => Find::Exact,
        };
        Ok(Matcher { find, line })
    }
}

/// Compiles a pattern that is searched in one line at a time.
fn compile(pattern: &str) -> Result<Pattern, String> {
    pyre::compile(pattern, Flags::default(), Anchor::Search)
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
    fn new(args: &'a LineInFileArgs, matcher: Matcher<'a>) -> Result<Present<'a>, String> {
        let insertbefore = args.insertbefore.as_deref();
        let insertafter = match (args.insertafter.as_deref(), insertbefore) {
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
            backrefs: args.backrefs,
            firstmatch: args.firstmatch,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::Value as Json;

    /// Decides one task on `/f` holding `text` (`None`: missing).
    fn decide(params: Json, text: Option<&str>) -> Result<Decision<SavePlan>, String> {
        let mut params = params;
        params["path"] = json!("/f");
        let args: Args = from_json(params).expect("valid arguments");
        LineInFile.decide(&args, TextFile::found("/f", text))
    }

    #[test]
    fn decide_plans_a_save_only_when_the_line_changes() {
        let decision = decide(json!({"line": "b"}), Some("a\n")).expect("decides");
        assert_eq!(decision.result["msg"], json!("line added"));
        assert_eq!(decision.result["backup"], json!(""));
        assert!(decision.plan.expect("a save").changed);
        let diff = decision.diff.expect("a diff").to_string();
        assert!(diff.contains("/f (content)"), "{diff}");
        let same = decide(json!({"line": "a"}), Some("a\n")).expect("decides");
        assert!(same.plan.is_none());
        assert_eq!(same.result["msg"], json!(""));
    }

    #[test]
    fn decide_reports_removals_and_mode_changes() {
        let removed =
            decide(json!({"line": "a", "state": "absent"}), Some("a\nb\na\n")).expect("decides");
        assert_eq!(removed.result["found"], json!(2));
        assert_eq!(removed.result["msg"], json!("2 line(s) removed"));
        let missing = decide(json!({"line": "a", "state": "absent"}), None).expect("decides");
        assert!(missing.plan.is_none());
        assert_eq!(missing.result["msg"], json!("file not present"));
        let mode = decide(json!({"line": "a", "mode": "0600"}), Some("a\n")).expect("decides");
        assert_eq!(
            mode.result["msg"],
            json!("ownership, perms or SE linux context changed")
        );
        assert!(mode.plan.is_some());
    }

    #[test]
    fn decide_refuses_what_ansible_refuses() {
        for (params, msg) in [
            (
                json!({"backrefs": true, "line": "x"}),
                "regexp is required with backrefs=true",
            ),
            (
                json!({"regexp": "x"}),
                "line is required with state=present",
            ),
            (
                json!({"state": "absent"}),
                "one of line, search_string, or regexp is required with state=absent",
            ),
        ] {
            assert_eq!(decide(params, Some("")).err().as_deref(), Some(msg));
        }
        let warned = decide(json!({"regexp": "", "line": "x"}), Some("a\n")).expect("decides");
        assert!(warned.result.contains_key("warnings"));
    }

    /// `test.txt` from Ansible's lineinfile integration target.
    const TEST_TXT: &str = "This is line 1\nThis is line 2\nREF this is a line for backrefs REF\nThis is line 4\nThis is line 5\n";
    /// `teststring.txt` from the same target.
    const TESTSTRING_TXT: &str = "This is line 1\nThis is line 2\n(\\\\w)(\\\\s+)([\\\\.,])\nThis is line 4\n<FilesMatch \".py[45]?$\">\n";
    /// `testmultiple.txt`.
    const TESTMULTIPLE_TXT: &str =
        "This is line 1\n\nThis is line 2\n\nThis is line 3\n\nThis is line 4\n";
    /// `test.conf` (and `teststring.conf`).
    const TEST_CONF: &str = "[section_one]\n\n[section_two]\n\n[section_three]\n";
    /// `test_58923.txt`.
    const TEST_58923_TXT: &str =
        "#!/bin/sh\n\ncase \"`uname`\" in\n  Darwin*) if [ -z \"$JAVA_HOME\" ] ; then\n";
    /// `firstmatch.txt`.
    const FIRSTMATCH_TXT: &str = "line1\nline1\nline1\nline2\nline3\n";
    const FISHEYE: &str = "export FISHEYE_OPTS=\"-Xmx4096m -Xms2048m\"";

    fn sha1(text: &str) -> String {
        crate::modules::fileops::sha1_hex(text.as_bytes())
    }

    /// Applies one task's parameters to `text`: the new text and the message.
    fn edit(text: &str, params: Json) -> (String, String) {
        let mut params = params;
        params["path"] = json!("/f");
        let args: LineInFileArgs = from_json(params).expect("valid arguments");
        let matcher = Matcher::new(
            args.regexp.as_deref(),
            args.search_string.as_deref(),
            args.line.as_deref().unwrap_or(""),
        )
        .expect("valid pattern");
        if args.state == State::Absent {
            let (after, found) = absent(text, &matcher).expect("matches");
            let msg = if found > 0 {
                format!("{found} line(s) removed")
            } else {
                String::new()
            };
            return (after, msg);
        }
        let spec = Present::new(&args, matcher).expect("valid pattern");
        let mut lines = split_lines(text);
        let msg = present(&mut lines, &spec).expect("valid template");
        (lines.concat(), msg.to_string())
    }

    /// Runs the steps in order from `start`; each step gives the task's parameters,
    /// the expected message ("" = not changed) and the SHA-1 Ansible's test asserts
    /// afterwards (when it asserts one).
    fn scenario(start: &str, steps: &[(Json, &str, Option<&str>)]) -> String {
        let mut text = start.to_string();
        for (number, (params, msg, checksum)) in steps.iter().enumerate() {
            let (after, got) = edit(&text, params.clone());
            assert_eq!(got, *msg, "step {number}: {params}\n{after}");
            if let Some(checksum) = checksum {
                assert_eq!(sha1(&after), *checksum, "step {number}: {params}\n{after}");
            }
            text = after;
        }
        text
    }

    #[test]
    fn main_yml_edits_of_test_txt() {
        // lineinfile/tasks/main.yml: the tasks on test.txt, in order.
        assert_eq!(sha1(TEST_TXT), "5feac65e442c91f557fc90069ce6efc4d346ab51");
        let backref =
            json!({"line": "This is line 3", "backrefs": true, "regexp": "^(REF) .* \\1$"});
        scenario(
            TEST_TXT,
            &[
                (
                    json!({"line": "New line at the beginning", "insertbefore": "BOF"}),
                    "line added",
                    Some("7eade4042b23b800958fe807b5bfc29f8541ec09"),
                ),
                (
                    json!({"line": "New line at the beginning", "insertbefore": "BOF"}),
                    "",
                    None,
                ),
                (
                    json!({"line": "New line at the end", "insertafter": "EOF"}),
                    "line added",
                    Some("fb57af7dc10a1006061b000f1f04c38e4bef50a9"),
                ),
                (
                    json!({"line": "New line after line 1", "insertafter": "^This is line 1$"}),
                    "line added",
                    Some("5348da605b1bc93dbadf3a16474cdf22ef975bec"),
                ),
                (
                    json!({"line": "New line before line 5", "insertbefore": "^This is line 5$"}),
                    "line added",
                    Some("2e9e460ff68929e4453eb765761fd99814f6e286"),
                ),
                (
                    backref.clone(),
                    "line replaced",
                    Some("72f60239a735ae06e769d823f5c2b4232c634d9c"),
                ),
                (backref, "", None),
                (
                    json!({"state": "absent", "regexp": "^This is line 3$"}),
                    "1 line(s) removed",
                    Some("d4eeb07bdebab2d1cdb3ec4a3635afa2618ad4ea"),
                ),
                (
                    json!({"state": "absent", "regexp": "^This is line 3$"}),
                    "",
                    Some("d4eeb07bdebab2d1cdb3ec4a3635afa2618ad4ea"),
                ),
                (
                    json!({"state": "absent", "regexp": "^This is line 5$"}),
                    "1 line(s) removed",
                    Some("ab56c210ea82839a54487464800fed4878cb2608"),
                ),
                (
                    json!({"line": "This is a line\nwith \\n character", "insertafter": "EOF"}),
                    "line added",
                    Some("fde683229429a4f05d670e6c10afc875e1d5c489"),
                ),
                (
                    json!({"line": "New \\1 created with the backref", "backrefs": true, "regexp": "^This is (line 4)$"}),
                    "line replaced",
                    Some("981ad35c4b30b03bc3a1beedce0d1e72c491898e"),
                ),
            ],
        );
    }

    #[test]
    fn main_yml_new_empty_and_quoting_files() {
        // "use create=yes", "testempty", "issue 8535" (quoting) and issue 63684
        // ("Insert a line at the end of the file") from lineinfile/tasks/main.yml.
        scenario(
            "",
            &[(
                json!({"line": "This is a new file", "insertbefore": "BOF"}),
                "line added",
                Some("038f10f9e31202451b093163e81e06fbac0c6f3a"),
            )],
        );
        scenario(
            "",
            &[(
                json!({"line": "New line at the end", "insertafter": "EOF"}),
                "line added",
                Some("f440dc65ea9cec3fd496c1479ddf937e1b949412"),
            )],
        );
        scenario(
            "",
            &[
                (
                    json!({"line": "'foo'", "insertbefore": "BOF"}),
                    "line added",
                    None,
                ),
                (
                    json!({"line": "dotenv.load();", "insertbefore": "BOF"}),
                    "line added",
                    None,
                ),
                (
                    json!({"line": "var dotenv = require('dotenv');", "insertbefore": "BOF"}),
                    "line added",
                    Some("7dc3cb033c3971e73af0eaed6623d4e71e5743f1"),
                ),
                (
                    json!({"line": "import g'"}),
                    "line added",
                    Some("73b271c2cc1cef5663713bc0f00444b4bf9f4543"),
                ),
                (
                    json!({"line": "\"quote\" and \"unquote\""}),
                    "line added",
                    Some("b10ab2a3c3b6492680c8d0b1d6f35aa6b8f9e731"),
                ),
            ],
        );
        let at_end = json!({"insertafter": "testline", "regexp": "line at the end", "line": "line at the end"});
        scenario(
            "",
            &[
                (json!({"line": "testline"}), "line added", None),
                (
                    at_end,
                    "line added",
                    Some("ef36116966836ce04f6b249fd1837706acae4e19"),
                ),
            ],
        );
        let literal = json!({"insertafter": "testline", "search_string": "line at the end", "line": "line at the end"});
        scenario(
            "",
            &[
                (json!({"line": "testline"}), "line added", None),
                (
                    literal,
                    "line added",
                    Some("ef36116966836ce04f6b249fd1837706acae4e19"),
                ),
            ],
        );
        let top = json!({"line": "top", "insertbefore": "^not in the file$"});
        scenario(
            "",
            &[
                (top.clone(), "line added", None),
                (top, "", Some("4dca56d05a21f0d018cd311f43e134e4501cf6d9")),
            ],
        );
    }

    #[test]
    fn issue_28721_the_same_line_after_or_before_different_lines() {
        // lineinfile/tasks/main.yml "Issue 28721": the line is added once only.
        assert_eq!(
            sha1(TESTMULTIPLE_TXT),
            "3e0090a34fb641f3c01e9011546ff586260ea0ea"
        );
        for (key, checksum) in [
            ("insertafter", "c6733b6c53ddd0e11e6ba39daa556ef8f4840761"),
            ("insertbefore", "5d298651fbc377b45257da10308a9dc2fe1f8be5"),
        ] {
            let steps: Vec<_> = (1..=8)
                .map(|n| {
                    let regex = ((n - 1) % 4 + 1).to_string();
                    let msg = if n == 1 { "line added" } else { "" };
                    (
                        json!({key: regex, "line": "bar"}),
                        msg,
                        (n == 8).then_some(checksum),
                    )
                })
                .collect();
            scenario(TESTMULTIPLE_TXT, &steps);
        }
    }

    #[test]
    fn issue_36156_insertafter_and_insertbefore_with_regexp_or_string() {
        // lineinfile/tasks/main.yml "Issue 36156" and test_string02.yml: three
        // options placed after section_one (or before section_three), then the same
        // again and without regexp: nothing changes.
        for (key, place, checksum) in [
            (
                "insertafter",
                "section_one",
                "06e2c456e5028dd7bcd0b117b5927a1139458c82",
            ),
            (
                "insertbefore",
                "section_three",
                "c3be9438a07c44d4c256cebfcdbca15a15b1db91",
            ),
        ] {
            for find in ["regexp", "search_string"] {
                let mut steps = Vec::new();
                for round in 0..3 {
                    for (index, option) in ["one", "two", "three"].into_iter().enumerate() {
                        let line = format!("option_{option}={}", index + 1);
                        let mut params = json!({key: place, "line": line});
                        if round < 2 {
                            params[find] = json!(format!("option_{option}="));
                        }
                        let msg = if round == 0 { "line added" } else { "" };
                        steps.push((params, msg, (option == "three").then_some(checksum)));
                    }
                }
                assert_eq!(sha1(TEST_CONF), "6037f13e419b132eb3fd20a89e60c6c87a6add38");
                scenario(TEST_CONF, &steps);
            }
        }
    }

    #[test]
    fn issue_58923_firstmatch_inserts_once() {
        // lineinfile/tasks/main.yml "Issue #58923" and the tests after it.
        let insert = json!({"line": "INSERT", "insertafter": "line1", "firstmatch": true});
        scenario(
            FIRSTMATCH_TXT,
            &[
                (
                    insert.clone(),
                    "line added",
                    Some("114aae024073a3ee8ec8db0ada03c5483326dd86"),
                ),
                (insert, "", None),
            ],
        );
        assert_eq!(
            sha1(TEST_58923_TXT),
            "b6379ba43261c451a62102acb2c7f438a177c66e"
        );
        for (key, checksum) in [
            ("insertafter", "9232aed6fe88714964d9e29d13e42cd782070b08"),
            ("insertbefore", "3c6630b9d44f561ea9ad999be56a7504cadc12f7"),
        ] {
            for find in [Some("regexp"), Some("search_string"), None] {
                let mut params = json!({key: "^#!/bin/sh", "firstmatch": true, "line": FISHEYE});
                if let Some(find) = find {
                    let needle = if find == "regexp" {
                        "^export FISHEYE_OPTS"
                    } else {
                        "export FISHEYE_OPTS"
                    };
                    params[find] = json!(needle);
                }
                scenario(
                    TEST_58923_TXT,
                    &[
                        (params.clone(), "line added", Some(checksum)),
                        (params, "", Some(checksum)),
                    ],
                );
            }
        }
        let elsewhere = json!({"insertbefore": "   Darwin\\*\\) if \\[ -z \\\"\\$JAVA_HOME\\\" \\] ; then", "firstmatch": true, "line": FISHEYE});
        let before = json!({"insertbefore": "^#!/bin/sh", "firstmatch": true, "line": FISHEYE});
        scenario(
            TEST_58923_TXT,
            &[
                (before, "line added", None),
                (
                    elsewhere,
                    "",
                    Some("3c6630b9d44f561ea9ad999be56a7504cadc12f7"),
                ),
            ],
        );
    }

    #[test]
    fn test_string01_literal_search_strings() {
        // lineinfile/tasks/test_string01.yml on teststring.txt.
        assert_eq!(
            sha1(TESTSTRING_TXT),
            "481c2b73fe062390afdd294063a4f8285d69ac85"
        );
        let replace =
            json!({"line": "Thi$ i^ [ine 3", "search_string": "(\\\\w)(\\\\s+)([\\\\.,])"});
        scenario(
            TESTSTRING_TXT,
            &[
                (
                    json!({"line": "New line at the beginning", "insertbefore": "BOF"}),
                    "line added",
                    None,
                ),
                (
                    json!({"line": "New line at the beginning", "insertbefore": "BOF"}),
                    "",
                    None,
                ),
                (
                    replace.clone(),
                    "line replaced",
                    Some("8084519b53e268920a46592a112297715951f167"),
                ),
                (replace, "", None),
                (
                    json!({"state": "absent", "search_string": "Thi$ i^ [ine 3"}),
                    "1 line(s) removed",
                    Some("89919ef2ef91e48ad02e0ca2bcb76dfc2a86d516"),
                ),
                (
                    json!({"state": "absent", "search_string": "<FilesMatch \".py[45]?$\">"}),
                    "1 line(s) removed",
                    Some("ba9600b34febbc88bfb3ca99cd6b57f1010c19a4"),
                ),
            ],
        );
    }

    #[test]
    fn issue_29443_empty_regexp_or_string_replaces_the_last_line() {
        // lineinfile/tasks/main.yml "Issue 29443" and its search_string twin.
        scenario(
            TEST_TXT,
            &[(
                json!({"regexp": "", "line": "This is line 6"}),
                "line replaced",
                Some("23555a98ceaa88756b4c7c7bba49d9f86eed868f"),
            )],
        );
        scenario(
            TESTSTRING_TXT,
            &[(
                json!({"search_string": "", "line": "This is line 6"}),
                "line replaced",
                Some("eaa79f878557d4bd8d96787a850526a0facab342"),
            )],
        );
        let warnings = empty_pattern_warning(Some(""), None);
        assert!(
            warnings[0]
                .ends_with("use '^' to match every line in the file and avoid this warning.")
        );
        assert!(
            empty_pattern_warning(None, Some(""))[0]
                .starts_with("The search string is an empty string")
        );
        assert!(empty_pattern_warning(Some("^"), None).is_empty());
    }

    #[test]
    fn line_endings_and_odd_cases() {
        // Each row: start, parameters, result, message. Not from Ansible's tests:
        // these pin the behaviour its code has for them, except `insertafter` on a
        // last line without newline, where Ansible writes "a\nbc\n" and bosun ends
        // that line first.
        for (start, params, after, msg) in [
            ("a", json!({"line": "b"}), "a\nb\n", "line added"),
            (
                "a\r\nb\r\n",
                json!({"line": "b"}),
                "a\r\nb\n",
                "line replaced",
            ),
            ("a\r\nb\n", json!({"line": "b"}), "a\r\nb\n", ""),
            (
                "a\r\nb\r\n",
                json!({"line": "b", "regexp": "^b"}),
                "a\r\nb\n",
                "line replaced",
            ),
            (
                "a=1\n",
                json!({"line": "a=2", "regexp": "^a="}),
                "a=2\n",
                "line replaced",
            ),
            (
                "x\n",
                json!({"line": "\\1", "regexp": "^y", "backrefs": true}),
                "x\n",
                "",
            ),
            (
                "a\nb",
                json!({"line": "c", "insertafter": "^b"}),
                "a\nb\nc\n",
                "line added",
            ),
            (
                "k=1\n",
                json!({"line": "k=\\g<v>", "regexp": "^k=(?P<v>\\d)", "backrefs": true}),
                "k=1\n",
                "",
            ),
            (
                "a\nb\na\n",
                json!({"state": "absent", "line": "a"}),
                "b\n",
                "2 line(s) removed",
            ),
        ] {
            assert_eq!(
                edit(start, params.clone()),
                (after.to_string(), msg.to_string()),
                "{params}"
            );
        }
    }
}
