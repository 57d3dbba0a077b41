//! `apt_repository`: one-line apt sources (`deb [options] URL suite components`) in
//! `/etc/apt/sources.list` and `/etc/apt/sources.list.d/*.list`, read and rewritten as
//! Ansible's module does: a source already there (in any file) is enabled rather than
//! added again, a new one goes to its own file named after its URL, and the apt cache
//! is updated after a change (the change undone if that update fails).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value as Json;

use super::contract::{Decision, StateModule};
use super::fileops;
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// The directory of separate source lists.
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
/// The source types a line may start with.
const VALID_SOURCE_TYPES: &[&str] = &["deb", "deb-src"];
/// Starts each file in the query's output: `<marker> <mode> <path>`.
const FILE_MARK: &str = "@@bosun-file";
/// Ends each file's content.
const END_MARK: &str = "\n@@bosun-end\n";

/// Adds and removes one-line apt sources.
pub struct AptRepository;

arg_enum! {
    /// Whether the source should be listed.
    pub enum State {
        Absent = "absent",
        Present = "present",
    }
}

module_args! {
    /// `apt_repository`'s arguments. Ansible's `codename` and `validate_certs` serve
    /// only PPAs, which bosun does not add, and `install_python_apt` only its Python
    /// module: they are not accepted.
    pub struct AptRepositoryArgs {
        /// The source line (`deb [options] URL suite components`).
        repo: String => .required(),
        state: State => .default_str("present"),
        /// The permissions of a new sources file.
        mode: Json,
        /// Whether to run `apt-get update` after a change.
        update_cache: bool => .default_bool(true).aliases(&["update-cache"]),
        update_cache_retries: i64 => .default_int(5),
        update_cache_retry_max_delay: i64 => .default_int(12),
        /// The new file's name in `sources.list.d`, without `.list`.
        filename: Option<String>,
    }
}

/// One sources file to save: as it was (to restore it when the update fails) and as
/// it must be.
#[derive(Debug)]
pub struct Change {
    before: Option<SourcesFile>,
    after: SourcesFile,
}

/// One line of a sources file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    /// A `deb`/`deb-src` line, possibly commented out (disabled).
    Source {
        enabled: bool,
        source: String,
        comment: String,
    },
    /// Anything else, kept as it is.
    Other(String),
}

/// A sources file as read from the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcesFile {
    path: String,
    /// Its permissions (`None` for a file this run creates).
    mode: Option<String>,
    lines: Vec<Line>,
}

impl SourcesFile {
    /// The file's text, valid source lines written in Ansible's canonical form.
    fn dump(&self) -> String {
        self.lines
            .iter()
            .map(|line| match line {
                Line::Other(text) => format!("{text}\n"),
                Line::Source {
                    enabled,
                    source,
                    comment,
                } => {
                    let mut text = String::new();
                    if !enabled {
                        text.push_str("# ");
                    }
                    text.push_str(source);
                    if !comment.is_empty() {
                        text.push_str(" # ");
                        text.push_str(comment);
                    }
                    text + "\n"
                }
            })
            .collect()
    }
}

/// Parses one line as Ansible's `SourcesList._parse` does.
fn parse_line(line: &str) -> Line {
    let mut text = line.trim();
    let mut enabled = true;
    if let Some(rest) = text.strip_prefix('#') {
        enabled = false;
        text = rest;
    }
    let mut comment = String::new();
    if let Some(i) = text.find('#').filter(|i| *i > 0) {
        comment = text[i + 1..].trim().to_string();
        text = &text[..i];
    }
    let chunks: Vec<&str> = text.split_whitespace().collect();
    match chunks.first() {
        Some(kind) if VALID_SOURCE_TYPES.contains(kind) => Line::Source {
            enabled,
            source: chunks.join(" "),
            comment,
        },
        _ => Line::Other(line.to_string()),
    }
}

/// The source a `repo` argument gives, normalized; `None` if it is not one.
fn parse_repo(repo: &str) -> Option<(String, String)> {
    match parse_line(repo) {
        Line::Source {
            enabled: true,
            source,
            comment,
        } => Some((source, comment)),
        _ => None,
    }
}

/// The file Ansible names for a source when `filename` is not given: the URL's host
/// and path without scheme, options and credentials, non-alphanumerics as `_`.
fn suggest_filename(source: &str, filename: Option<&str>) -> String {
    let name = match filename {
        Some(name) => name.to_string(),
        None => {
            let options = regex::Regex::new(r"\[[^\]]+\]").expect("a valid regex");
            let scheme = regex::Regex::new(r"\w+://").expect("a valid regex");
            let line = options.replace_all(source, "");
            let line = scheme.replace_all(&line, "");
            let first = line
                .split_whitespace()
                .find(|part| !VALID_SOURCE_TYPES.contains(part))
                .unwrap_or_default();
            let first = first.split_once('@').map_or(first, |(_, host)| host);
            first
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("_")
        }
    };
    let file = format!("{name}.list");
    if file.contains('/') {
        file
    } else {
        format!("{SOURCES_DIR}/{file}")
    }
}

/// Parses the query's output into the sources files.
fn parse_files(output: &str) -> Vec<SourcesFile> {
    let mut files = Vec::new();
    let mut rest = output;
    while let Some(start) = rest.find(FILE_MARK) {
        let after = &rest[start + FILE_MARK.len()..];
        let (header, body) = after.split_once('\n').unwrap_or((after, ""));
        let (content, next) = body.split_once(END_MARK).unwrap_or((body, ""));
        let (mode, path) = header.trim().split_once(' ').unwrap_or(("644", header));
        files.push(SourcesFile {
            path: path.to_string(),
            mode: Some(mode.to_string()),
            lines: content.lines().map(parse_line).collect(),
        });
        rest = next;
    }
    files
}

/// The files after adding `source` (to `file` when it is nowhere yet).
fn add(files: &mut Vec<SourcesFile>, source: &str, comment: &str, file: &str) {
    let mut found = false;
    for f in files.iter_mut() {
        for line in &mut f.lines {
            if let Line::Source {
                enabled, source: s, ..
            } = line
                && s == source
            {
                *enabled = true;
                found = true;
            }
        }
    }
    if found {
        return;
    }
    let line = Line::Source {
        enabled: true,
        source: source.to_string(),
        comment: comment.to_string(),
    };
    match files.iter_mut().find(|f| f.path == file) {
        Some(f) => f.lines.push(line),
        None => files.push(SourcesFile {
            path: file.to_string(),
            mode: None,
            lines: vec![line],
        }),
    }
}

/// The files after removing every enabled line of `source`.
fn remove(files: &mut [SourcesFile], source: &str) {
    for f in files {
        f.lines.retain(
            |line| !matches!(line, Line::Source { enabled: true, source: s, .. } if s == source),
        );
    }
}

#[async_trait]
impl StateModule for AptRepository {
    const NAME: &'static str = "apt_repository";
    type Args = AptRepositoryArgs;
    type State = Vec<SourcesFile>;
    type Plan = Vec<Change>;

    async fn query(
        &self,
        on: &Target<'_>,
        args: &AptRepositoryArgs,
    ) -> Result<Vec<SourcesFile>, ModuleError> {
        if parse_repo(&args.repo).is_none() {
            return Err(ModuleError::Failed(format!(
                "Invalid repository string: {}",
                args.repo
            )));
        }
        let script = format!(
            "for f in /etc/apt/sources.list {SOURCES_DIR}/*.list; do [ -f \"$f\" ] || continue; \
             printf '{FILE_MARK} %s %s\\n' \"$(stat -c %a \"$f\")\" \"$f\"; cat \"$f\"; printf '{}'; done",
            END_MARK.replace('\n', "\\n")
        );
        let out = on.conn.exec(&Command::new(script)).await?;
        Ok(parse_files(&out.stdout_text()))
    }

    fn decide(
        &self,
        args: &AptRepositoryArgs,
        before: Vec<SourcesFile>,
    ) -> Result<Decision<Vec<Change>>, String> {
        let Some((source, comment)) = parse_repo(&args.repo) else {
            return Err(format!("Invalid repository string: {}", args.repo));
        };
        let mut after = before.clone();
        let file = suggest_filename(&source, args.filename.as_deref());
        match args.state {
            State::Present => add(&mut after, &source, &comment, &file),
            State::Absent => remove(&mut after, &source),
        }
        let changes: Vec<Change> = after
            .into_iter()
            .map(|a| Change {
                before: before.iter().find(|b| b.path == a.path).cloned(),
                after: a,
            })
            .filter(|c| c.before.as_ref().map(SourcesFile::dump) != Some(c.after.dump()))
            .collect();
        let paths = |keep: fn(&Change) -> bool| -> Vec<String> {
            changes
                .iter()
                .filter(|c| keep(c))
                .map(|c| c.after.path.clone())
                .collect()
        };
        let added = paths(|c| c.before.is_none());
        let removed = paths(|c| c.before.is_some() && c.after.lines.is_empty());
        let diffs: Vec<Json> = changes
            .iter()
            .map(|c| {
                let after_text = match c.after.lines.is_empty() {
                    true => String::new(),
                    false => c.after.dump(),
                };
                let before_text = c.before.as_ref().map(SourcesFile::dump);
                fileops::content_diff(&c.after.path, &before_text.unwrap_or_default(), &after_text)
            })
            .collect();
        Ok(Decision::maybe(Some(changes).filter(|c| !c.is_empty()))
            .with("repo", args.repo.clone())
            .with("state", args.state.as_str())
            .with("sources_added", added)
            .with("sources_removed", removed)
            .with_diff(Json::Array(diffs)))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &AptRepositoryArgs,
        changes: Vec<Change>,
    ) -> Result<Outcome, ModuleError> {
        let mode = Some(&args.mode).filter(|m| !m.is_null());
        for change in &changes {
            save(on, change.before.is_some(), &change.after, mode)
                .await?
                .map_err(ModuleError::Failed)?;
        }
        if !args.update_cache {
            return Ok(Outcome::new());
        }
        let updated = update_cache(
            on,
            args.update_cache_retries,
            args.update_cache_retry_max_delay,
        );
        let Err(err) = updated.await? else {
            return Ok(Outcome::new());
        };
        for change in &changes {
            let restored = match &change.before {
                Some(old) => save(on, true, old, None).await?,
                None => save(on, false, &empty(&change.after.path), None).await?,
            };
            if let Err(msg) = restored {
                return Err(ModuleError::Failed(format!(
                    "Failed to update apt cache: {err}; restoring {} failed too: {msg}",
                    change.after.path
                )));
            }
        }
        Err(ModuleError::Failed(format!(
            "Failed to update apt cache: {err}"
        )))
    }
}

/// A file with no lines: saving it deletes it.
fn empty(path: &str) -> SourcesFile {
    SourcesFile {
        path: path.to_string(),
        mode: None,
        lines: Vec::new(),
    }
}

/// Writes a sources file atomically (mode as it was; `mode` or 0644 for a new one), or
/// deletes it when no line is left.
async fn save(
    ctx: &Target<'_>,
    existed: bool,
    file: &SourcesFile,
    mode: Option<&Json>,
) -> Result<Result<(), String>, ModuleError> {
    if file.lines.is_empty() {
        return Ok(fileops::run_checked(ctx, format!("rm -f -- {}", quote(&file.path))).await?);
    }
    let mode = match (existed, mode) {
        (true, _) => u32::from_str_radix(file.mode.as_deref().unwrap_or("644"), 8)
            .map_err(|err| err.to_string()),
        (false, Some(mode)) => fileops::parse_mode(mode, None, false),
        (false, None) => Ok(0o644),
    };
    let mode = match mode {
        Ok(mode) => mode,
        Err(msg) => return Ok(Err(msg)),
    };
    Ok(fileops::write_with_mode(ctx, &file.path, file.dump().as_bytes(), mode).await?)
}

/// Runs `apt-get update`, retrying with Ansible's backoff; the last error if it never
/// succeeds.
pub async fn update_cache(
    ctx: &Target<'_>,
    retries: i64,
    max_delay: i64,
) -> Result<Result<(), String>, ModuleError> {
    let mut last = String::new();
    for attempt in 0..retries.max(1) {
        if attempt > 0 {
            let delay = 2u64
                .saturating_pow(attempt as u32)
                .min(max_delay.max(0) as u64);
            tokio::time::sleep(Duration::from_secs(delay)).await;
        }
        let mut command = Command::new("apt-get update");
        command.env = vec![
            ("LC_ALL".into(), "C".into()),
            ("DEBIAN_FRONTEND".into(), "noninteractive".into()),
        ];
        let out = ctx.conn.exec(&command).await?;
        let stderr = out.stderr_text();
        // apt-get only warns about sources it cannot fetch; Ansible's cache update
        // fails on them.
        let failed = stderr
            .lines()
            .any(|l| l.starts_with("E:") || l.starts_with("W: Failed to fetch"));
        if out.rc == 0 && !failed {
            return Ok(Ok(()));
        }
        last = stderr.trim().to_string();
    }
    Ok(Err(if last.is_empty() {
        "unknown reason".into()
    } else {
        last
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_as_ansible_reads_them() {
        assert_eq!(
            parse_line("  deb   [signed-by=/k.gpg]  http://x/debian  stable main # mine"),
            Line::Source {
                enabled: true,
                source: "deb [signed-by=/k.gpg] http://x/debian stable main".into(),
                comment: "mine".into()
            }
        );
        assert_eq!(
            parse_line("#deb-src http://x y"),
            Line::Source {
                enabled: false,
                source: "deb-src http://x y".into(),
                comment: String::new()
            }
        );
        assert_eq!(parse_line("# a note"), Line::Other("# a note".into()));
        assert_eq!(parse_repo("ppa:foo/bar"), None);
    }

    #[test]
    fn filenames_follow_ansible() {
        assert_eq!(
            suggest_filename(
                "deb [arch=amd64 signed-by=/k] https://user:pw@download.docker.com/linux/debian bookworm stable",
                None
            ),
            "/etc/apt/sources.list.d/download_docker_com_linux_debian.list"
        );
        assert_eq!(
            suggest_filename("deb http://198.51.100.1:8080/repo ./", None),
            "/etc/apt/sources.list.d/198_51_100_1_8080_repo.list"
        );
        assert_eq!(
            suggest_filename("deb http://x/ y", Some("mine")),
            "/etc/apt/sources.list.d/mine.list"
        );
    }

    #[test]
    fn adding_enables_or_appends_and_removing_drops() {
        let output = format!(
            "{FILE_MARK} 644 /etc/apt/sources.list\n# base\ndeb http://deb.debian.org/debian bookworm main\n# deb http://x/r ./\n@@bosun-end\n"
        );
        let files = parse_files(&output);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].lines.len(), 3);

        let mut same = files.clone();
        add(
            &mut same,
            "deb http://deb.debian.org/debian bookworm main",
            "",
            "/new.list",
        );
        assert_eq!(same, files, "a source already in sources.list is kept");

        let mut enabled = files.clone();
        add(&mut enabled, "deb http://x/r ./", "", "/new.list");
        assert_eq!(enabled.len(), 1);
        assert!(enabled[0].dump().contains("\ndeb http://x/r ./\n"));

        let mut added = files.clone();
        add(&mut added, "deb http://y/r ./", "c", "/new.list");
        assert_eq!(added[1].dump(), "deb http://y/r ./ # c\n");

        remove(&mut added, "deb http://y/r ./");
        assert!(added[1].lines.is_empty(), "an emptied file is deleted");
        remove(&mut added, "deb http://x/r ./");
        assert_eq!(added[0], files[0], "disabled lines are not removed");
    }

    fn decide(args: serde_json::Value, files: Vec<SourcesFile>) -> Decision<Vec<Change>> {
        let args = crate::modules::typed::from_json(args).expect("valid arguments");
        AptRepository.decide(&args, files).expect("a decision")
    }

    #[test]
    fn a_new_source_gets_its_own_file_and_a_listed_one_changes_nothing() {
        let output = format!(
            "{FILE_MARK} 644 /etc/apt/sources.list\ndeb http://deb.debian.org/debian bookworm main\n@@bosun-end\n"
        );
        let files = parse_files(&output);
        let listed = serde_json::json!({"repo": "deb http://deb.debian.org/debian bookworm main"});
        assert!(decide(listed, files.clone()).plan.is_none());
        let new = serde_json::json!({"repo": "deb http://y/r ./", "filename": "mine"});
        let decision = decide(new, files.clone());
        let changes = decision.plan.expect("a change");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].after.path, "/etc/apt/sources.list.d/mine.list");
        assert!(changes[0].before.is_none());
        assert_eq!(
            decision.result["sources_added"],
            serde_json::json!(["/etc/apt/sources.list.d/mine.list"])
        );
        let gone = serde_json::json!({
            "repo": "deb http://deb.debian.org/debian bookworm main",
            "state": "absent",
        });
        let decision = decide(gone, files);
        assert_eq!(decision.plan.expect("a removal")[0].after.lines, Vec::new());
    }
}
