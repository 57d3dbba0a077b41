//! `blockinfile`: inserts, updates or removes a block of lines between marker lines.

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::textfile::{self, SavePlan, TextFile};
use super::typed::{Rules, WithAttributes, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::pyre::{self, Anchor, Flags, Pattern};

/// `blockinfile`: manages a marked block of lines in a text file.
pub struct BlockInFile;

arg_enum! {
    /// Whether the block should be in the file.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `blockinfile`'s own arguments.
    pub struct BlockInFileArgs {
        /// The file to edit.
        path: String => .required().aliases(&["dest", "destfile", "name"]),
        state: State => .default_str("present"),
        /// The marker line template; `{mark}` becomes `marker_begin`/`marker_end`.
        marker: String => .default_str("# {mark} ANSIBLE MANAGED BLOCK"),
        /// The text between the markers.
        block: String => .aliases(&["content"]).default_str(""),
        /// Where a new block goes: after the last match of this pattern, or `EOF`.
        insertafter: Option<String>,
        /// Where a new block goes: before the last match of this pattern, or `BOF`.
        insertbefore: Option<String>,
        /// Whether a missing file is created.
        create: bool => .default_bool(false),
        /// Whether the old file is kept beside the new one.
        backup: bool => .default_bool(false),
        /// A command (with `%s`) that must accept the new file before it is put in place.
        validate: Option<String>,
        /// What `{mark}` becomes in the opening marker.
        marker_begin: String => .default_str("BEGIN"),
        /// What `{mark}` becomes in the closing marker.
        marker_end: String => .default_str("END"),
        /// Whether a blank line follows the block.
        append_newline: bool => .default_bool(false),
        /// Whether a blank line precedes the block.
        prepend_newline: bool => .default_bool(false),
        /// How the file is stored (utf-8 or latin-1).
        encoding: String => .default_str("utf-8"),
    }
    rules: Rules {
        mutually_exclusive: &[&["insertbefore", "insertafter"]],
        ..Rules::NONE
    };
}

/// The arguments with the file attributes.
type Args = WithAttributes<BlockInFileArgs>;

#[async_trait]
impl StateModule for BlockInFile {
    const NAME: &'static str = "blockinfile";
    type Args = Args;
    type State = TextFile;
    type Plan = SavePlan;

    /// Reads the file; a missing one fails here unless it may be created.
    async fn query(&self, on: &Target<'_>, args: &Args) -> Result<TextFile, ModuleError> {
        let own = &args.args;
        let missing = (!own.create).then_some("Path");
        textfile::read_edited(on, &own.path, &own.encoding, &args.attributes, missing).await
    }

    fn decide(&self, args: &Args, file: TextFile) -> Result<Decision<SavePlan>, String> {
        let spec = Block::new(&args.args)?;
        if file.text.is_none() && !spec.present {
            return Ok(Decision::unchanged().with("msg", format!("File {} not present", file.path)));
        }
        let after = apply(file.text.as_deref().unwrap_or(""), &spec)?;
        let msg = message(file.text.as_deref(), &after, &spec);
        let content_diff = textfile::content_diff(&file, &after);
        let plan = textfile::plan_save(&file, &args.attributes, &after, !msg.is_empty(), msg)?;
        let diff = json!([content_diff, plan.attr_diff]);
        let msg = plan.msg.clone();
        Ok(Decision::maybe(plan.changed.then_some(plan))
            .with_diff(diff)
            .with("msg", msg))
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

/// What the edit did, in Ansible's words; empty when nothing changed.
fn message(before: Option<&str>, after: &str, spec: &Block) -> &'static str {
    match before {
        Some(before) if before == after => "",
        None => "File created",
        Some(_) if spec.lines.is_empty() => "Block removed",
        Some(_) => "Block inserted",
    }
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
    fn new(args: &BlockInFileArgs) -> Result<Block, String> {
        let present = args.state == State::Present;
        let begin = args.marker.replace("{mark}", &args.marker_begin);
        let end = args.marker.replace("{mark}", &args.marker_end);
        let block = args.block.as_str();
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
        let insertbefore = args.insertbefore.as_deref();
        let pattern = match (args.insertafter.as_deref(), insertbefore) {
            (Some(after), _) if after != "EOF" => Some(after),
            (None, Some(before)) if before != "BOF" => Some(before),
            _ => None,
        };
        let insert_re = pattern
            .map(|p| pyre::compile(p, Flags::default(), Anchor::Search))
            .transpose()?;
        Ok(Block {
            present,
            begin,
            end,
            lines,
            after: insertbefore.is_none(),
            insert_re,
            multiline: pattern.is_some_and(pyre::has_multiline_flag),
            prepend_newline: args.prepend_newline,
            append_newline: args.append_newline,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::{Value as Json, json};

    /// Decides one task on `/f` holding `text` (`None`: missing).
    fn decide(params: Json, text: Option<&str>) -> Decision<SavePlan> {
        let mut params = params;
        params["path"] = json!("/f");
        let args: Args = from_json(params).expect("valid arguments");
        BlockInFile
            .decide(&args, TextFile::found("/f", text))
            .expect("decides")
    }

    #[test]
    fn decide_plans_the_block_and_nothing_when_it_is_there() {
        let decision = decide(json!({"block": "x"}), Some("a\n"));
        assert_eq!(decision.result["msg"], json!("Block inserted"));
        assert!(decision.plan.is_some());
        let diff = decision.diff.expect("a diff").to_string();
        assert!(diff.contains("# BEGIN ANSIBLE MANAGED BLOCK"), "{diff}");
        let text = "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n";
        let same = decide(json!({"block": "x"}), Some(text));
        assert!(same.plan.is_none());
        assert_eq!(same.result["msg"], json!(""));
    }

    #[test]
    fn decide_on_a_missing_file_creates_or_says_so() {
        let created = decide(json!({"block": "x", "create": true}), None);
        assert_eq!(created.result["msg"], json!("File created"));
        let absent = decide(json!({"state": "absent", "create": true}), None);
        assert!(absent.plan.is_none());
        assert_eq!(absent.result["msg"], json!("File /f not present"));
    }

    fn sha1(text: &str) -> String {
        crate::modules::fileops::sha1_hex(text.as_bytes())
    }

    /// Applies one task's parameters to `before` (`None`: a missing file created):
    /// the new text and the message.
    fn edit(before: Option<&str>, params: Json) -> (String, &'static str) {
        let mut params = params;
        params["path"] = json!("/f");
        let args: BlockInFileArgs = from_json(params).expect("valid arguments");
        let spec = Block::new(&args).expect("valid pattern");
        let after = apply(before.unwrap_or(""), &spec).expect("matches");
        let msg = message(before, &after, &spec);
        (after, msg)
    }

    /// Runs the steps in order from `start`; each gives the task's parameters, the
    /// expected message ("" = not changed) and the SHA-1 Ansible's test asserts.
    fn scenario(start: Option<&str>, steps: &[(Json, &str, Option<&str>)]) -> String {
        let mut text = start.map(str::to_string);
        for (number, (params, msg, checksum)) in steps.iter().enumerate() {
            let (after, got) = edit(text.as_deref(), params.clone());
            assert_eq!(got, *msg, "step {number}: {params}\n{after}");
            if let Some(checksum) = checksum {
                assert_eq!(sha1(&after), *checksum, "step {number}: {params}\n{after}");
            }
            text = Some(after);
        }
        text.unwrap_or_default()
    }

    #[test]
    fn add_block_to_existing_file_and_create_file() {
        // blockinfile/tasks/add_block_to_existing_file.yml (on the head of its
        // sshd_config) and create_file.yml.
        let block = json!({"block": "Match User ansible-agent\nPasswordAuthentication no\n"});
        let sshd = "# This is the sshd server system-wide configuration file.\n\nHostKey /etc/ssh/ssh_host_rsa_key\nUsePAM yes\n";
        let after = scenario(
            Some(sshd),
            &[(block.clone(), "Block inserted", None), (block, "", None)],
        );
        assert_eq!(
            after
                .lines()
                .filter(|l| l.contains("Match User ansible-agent")
                    || l.contains("PasswordAuthentication no"))
                .count(),
            2
        );
        let created = scenario(
            None,
            &[
                (json!({"block": "Hey\nthere\n"}), "File created", None),
                (
                    json!({"block": "Hey\nthere\n", "state": "absent"}),
                    "Block removed",
                    None,
                ),
            ],
        );
        assert_eq!(created, "");
    }

    #[test]
    fn preserve_line_endings() {
        // blockinfile/tasks/preserve_line_endings.yml: 6 lines match ^dos.$ after.
        let start = "unix\nunix\nunix\n\ndos\r\ndos\r\ndos\r\n\nunix\nunix\n# BEGIN ANSIBLE MANAGED BLOCK\ndos\r\n# END ANSIBLE MANAGED BLOCK\nunix\nunix\nunix\nunix\n";
        let after = scenario(
            Some(start),
            &[(
                json!({"block": "dos\r\ndos\r\ndos\r\n"}),
                "Block inserted",
                None,
            )],
        );
        assert_eq!(after.split('\n').filter(|l| *l == "dos\r").count(), 6);
    }

    #[test]
    fn trailing_newlines_missing_from_block_or_file() {
        // block_without_trailing_newline.yml and file_without_trailing_newline.yml.
        let chomped = json!({"content": "one\ntwo\nthree"});
        scenario(
            None,
            &[
                (chomped.clone(), "File created", None),
                (
                    chomped,
                    "",
                    Some("50d49f528a5f7147c7029ed6220c326b1ee2c4ae"),
                ),
            ],
        );
        let block = json!({"content": "one\ntwo\nthree\n"});
        scenario(
            Some("# File with no newline"),
            &[
                (block.clone(), "Block inserted", None),
                (block, "", Some("dab16f864025e59125e74d1498ffb2bb048224e6")),
            ],
        );
    }

    #[test]
    fn insertafter_and_insertbefore() {
        // insertafter.yml and insertbefore.yml.
        for (key, checksum) in [
            ("insertafter", "a8adeb971358230a28ce554f3b8fdd1ef65fdf1c"),
            ("insertbefore", "16681d1d7f29d173243bb951d6afb9c0824d7bf4"),
        ] {
            let params = json!({key: "line2", "block": "block1\nblock2\n"});
            scenario(
                Some("line1\nline2\nline3\n"),
                &[
                    (params.clone(), "Block inserted", None),
                    (params, "", Some(checksum)),
                ],
            );
        }
    }

    #[test]
    fn multiline_search() {
        // multiline_search.yml: with (?m) the pattern spans lines; without, it
        // matches no single line and the block goes to the end.
        let listener = "LISTENER=(DESCRIPTION=(ADDRESS_LIST=(ADDRESS=(PROTOCOL=IPC)(KEY=LISTENER)))) # line added by Agent\n\
            ENABLE_GLOBAL_DYNAMIC_ENDPOINT_LISTENER=ON                                   # line added by Agent\n\
            \n\
            SID_LIST_LISTENER_DG =\n    (SID_LIST =\n        (SID_DESC =\n            (GLOBAL_DBNAME = DB01_DG)\n            (ORACLE_HOME = /u01/app/oracle/product/12.1.0.1/db_1)\n            (SID_NAME = DB011)\n        )\n    )\n\
            \n\
            SID_LIST_LISTENER =\n    (SID_LIST =\n        (SID_DESC =\n            (GLOBAL_DBNAME = DB02)\n            (ORACLE_HOME = /u01/app/oracle/product/12.1.0.1/db_1)\n            (SID_NAME = DB021)\n        )\n    )\n";
        let block = "(SID_DESC =\n  (GLOBAL_DBNAME = DB03\n  (ORACLE_HOME = /u01/app/oracle/product/12.1.0.1/db_1)\n  (SID_NAME = DB031)\n)\n";
        let first = json!({"block": block, "insertafter": "(?m)SID_LIST_LISTENER_DG =\\n.*\\(SID_LIST =", "marker": "    <!-- {mark} ANSIBLE MANAGED BLOCK 1-->"});
        let second = json!({"block": block, "insertafter": "SID_LIST_LISTENER_DG =\\n.*\\(SID_LIST =", "marker": "    <!-- {mark} ANSIBLE MANAGED BLOCK 2-->"});
        scenario(
            Some(listener),
            &[
                (first.clone(), "Block inserted", None),
                (first, "", None),
                (
                    second,
                    "Block inserted",
                    Some("5a8010ac4a2fad7c822e6aeb276931657cee75c0"),
                ),
            ],
        );
    }

    #[test]
    fn append_newline() {
        // append_newline.yml, step by step.
        let first = json!({"append_newline": true, "insertafter": "line1", "block": "line1.5\n"});
        let unwrapped = json!({"marker": "#{mark} UNWRAPPED TEXT", "insertafter": "line2", "block": "line2.5\n"});
        let mut appended = unwrapped.clone();
        appended["append_newline"] = json!(true);
        scenario(
            Some("line1\nline2\nline3\n"),
            &[
                (first.clone(), "Block inserted", None),
                (first, "", Some("525ffd613a0b0eb6675e506226dc2adedf621f34")),
                (
                    unwrapped,
                    "Block inserted",
                    Some("d5f5ed1428af50b5484a5184dc7e1afda1736646"),
                ),
                (
                    appended,
                    "Block inserted",
                    Some("b09dd16be73a0077027d5a324294db8a75a7b0f9"),
                ),
                (
                    json!({"append_newline": true, "marker": "#{mark} END OF FILE TEXT", "insertafter": "line3", "block": "line3.5\n"}),
                    "Block inserted",
                    Some("9b90722b84d9bdda1be781cc4bd44d8979887691"),
                ),
                (
                    json!({"append_newline": true, "marker": "#{mark} UNWRAPPED TEXT", "state": "absent"}),
                    "Block removed",
                    Some("9a40d4c0969255cd6147537b38309d69a9b10049"),
                ),
            ],
        );
    }

    #[test]
    fn prepend_newline() {
        // prepend_newline.yml, step by step.
        let wrapped = json!({"prepend_newline": true, "marker": "#{mark} WRAPPED TEXT", "insertafter": "line1", "block": "line1.5\n"});
        let unwrapped = json!({"marker": "#{mark} UNWRAPPED TEXT", "insertafter": "line3", "block": "line3.5\n"});
        let mut prepended = unwrapped.clone();
        prepended["prepend_newline"] = json!(true);
        scenario(
            Some("line1\nline2\nline3\n"),
            &[
                (
                    json!({"prepend_newline": true, "insertbefore": "line1", "block": "line0.5\n"}),
                    "Block inserted",
                    Some("bfd32c880bbfadd1983c67836c46bf8ed9d50343"),
                ),
                (wrapped.clone(), "Block inserted", None),
                (
                    wrapped,
                    "",
                    Some("d5b8b42690f4a38b9a040adc3240a6f81ad5f8ee"),
                ),
                (
                    unwrapped,
                    "Block inserted",
                    Some("ad06200e7ee5b22b7eff4c57075b42d038eaffb6"),
                ),
                (
                    prepended,
                    "Block inserted",
                    Some("f2dd48160fb3c7c8e02d292666a1a3f08503f6bf"),
                ),
                (
                    json!({"prepend_newline": true, "marker": "#{mark} UNWRAPPED TEXT", "state": "absent"}),
                    "Block removed",
                    Some("c97c3da7d607acfd5d786fbb81f3d93d867c914a"),
                ),
            ],
        );
    }

    #[test]
    fn crlf_markers() {
        // crlf_markers.yml: markers ending in CRLF are found; the block is replaced
        // with LF lines and the lines around keep their CRLF.
        let original = "before\r\n# BEGIN ANSIBLE MANAGED BLOCK\r\nold\r\n# END ANSIBLE MANAGED BLOCK\r\nafter\r\n";
        let updated =
            "before\r\n# BEGIN ANSIBLE MANAGED BLOCK\nnew\n# END ANSIBLE MANAGED BLOCK\nafter\r\n";
        scenario(
            Some(original),
            &[
                (json!({"block": "new"}), "Block inserted", None),
                (json!({"block": "new"}), "", None),
            ],
        );
        assert_eq!(edit(Some(original), json!({"block": "new"})).0, updated);
        assert_eq!(
            edit(Some(original), json!({"state": "absent"})),
            ("before\r\nafter\r\n".into(), "Block removed")
        );
        assert_eq!(
            edit(Some("before\r\nafter\r\n"), json!({"state": "absent"})).1,
            ""
        );
    }

    #[test]
    fn markers_and_lines() {
        // Each row: start, parameters, result. Not from Ansible's tests: these pin
        // what its code does with custom marker words, BOF and reversed markers.
        for (start, params, after) in [
            (
                "a\n",
                json!({"block": "x", "marker_begin": "START", "marker_end": "STOP"}),
                "a\n# START ANSIBLE MANAGED BLOCK\nx\n# STOP ANSIBLE MANAGED BLOCK\n",
            ),
            (
                "a\n",
                json!({"block": "x", "insertbefore": "BOF", "marker": "<!-- {mark} -->"}),
                "<!-- BEGIN -->\nx\n<!-- END -->\na\n",
            ),
            (
                "# END ANSIBLE MANAGED BLOCK\ny\n# BEGIN ANSIBLE MANAGED BLOCK\nz\n",
                json!({"block": "x"}),
                "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nz\n",
            ),
            (
                "a\nb\n",
                json!({"block": "x", "insertafter": "nothing"}),
                "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n",
            ),
            ("a\r\nb", json!({"block": ""}), "a\r\nb\n"),
        ] {
            assert_eq!(edit(Some(start), params.clone()).0, after, "{params}");
        }
    }
}
