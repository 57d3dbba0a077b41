//! `apt_repository`: one-line apt sources (`deb [options] URL suite components`) in
//! `/etc/apt/sources.list` and `/etc/apt/sources.list.d/*.list`, read and rewritten as
//! Ansible's module does: a source already there (in any file) is enabled rather than
//! added again, a new one goes to its own file named after its URL, and the apt cache
//! is updated after a change (the change undone if that update fails).

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::fileops;
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
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
struct SourcesFile {
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
impl Module for AptRepository {
    fn name(&self) -> &'static str {
        "apt_repository"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("repo", Kind::Str).required(),
            Param::new("state", Kind::Str).choices(&["absent", "present"]),
            Param::new("mode", Kind::Raw),
            Param::new("update_cache", Kind::Bool).aliases(&["update-cache"]),
            Param::new("update_cache_retries", Kind::Int),
            Param::new("update_cache_retry_max_delay", Kind::Int),
            Param::new("validate_certs", Kind::Bool),
            Param::new("filename", Kind::Str),
            Param::new("codename", Kind::Str),
            Param::new("install_python_apt", Kind::Bool),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let repo = args.str("repo").unwrap_or_default();
        let state = args.str("state").unwrap_or("present");
        let Some((source, comment)) = parse_repo(repo) else {
            return Ok(super::failed(format!("Invalid repository string: {repo}")));
        };
        let script = format!(
            "for f in /etc/apt/sources.list {SOURCES_DIR}/*.list; do [ -f \"$f\" ] || continue; \
             printf '{FILE_MARK} %s %s\\n' \"$(stat -c %a \"$f\")\" \"$f\"; cat \"$f\"; printf '{}'; done",
            END_MARK.replace('\n', "\\n")
        );
        let out = ctx.conn.exec(&Command::new(script)).await?;
        let before = parse_files(&out.stdout_text());
        let mut after = before.clone();
        let file = suggest_filename(&source, args.str("filename"));
        if state == "present" {
            add(&mut after, &source, &comment, &file);
        } else {
            remove(&mut after, &source);
        }
        let changes: Vec<(Option<&SourcesFile>, &SourcesFile)> = after
            .iter()
            .map(|a| (before.iter().find(|b| b.path == a.path), a))
            .filter(|(b, a)| b.map(SourcesFile::dump) != Some(a.dump()))
            .collect();

        let mut outcome = super::ok(!changes.is_empty());
        outcome.insert("repo".into(), json!(repo));
        outcome.insert("state".into(), json!(state));
        let added: Vec<&str> = changes
            .iter()
            .filter(|(b, _)| b.is_none())
            .map(|(_, a)| a.path.as_str())
            .collect();
        let removed: Vec<&str> = changes
            .iter()
            .filter(|(b, a)| b.is_some() && a.lines.is_empty())
            .map(|(_, a)| a.path.as_str())
            .collect();
        outcome.insert("sources_added".into(), json!(added));
        outcome.insert("sources_removed".into(), json!(removed));
        if ctx.diff_mode {
            let diffs: Vec<Json> = changes
                .iter()
                .map(|(b, a)| {
                    let after_text = if a.lines.is_empty() {
                        String::new()
                    } else {
                        a.dump()
                    };
                    fileops::content_diff(
                        &a.path,
                        &b.map(SourcesFile::dump).unwrap_or_default(),
                        &after_text,
                    )
                })
                .collect();
            outcome.insert("diff".into(), Json::Array(diffs));
        }
        if changes.is_empty() || ctx.check_mode {
            return Ok(outcome);
        }
        let mode = args.get("mode").cloned();
        for (b, a) in &changes {
            if let Err(msg) = save(ctx, b.is_some(), a, mode.as_ref()).await? {
                return Ok(super::failed(msg));
            }
        }
        if args.bool_or("update_cache", true) {
            let retries = args.int("update_cache_retries").unwrap_or(5);
            let max_delay = args.int("update_cache_retry_max_delay").unwrap_or(12);
            if let Err(err) = update_cache(ctx, retries, max_delay).await? {
                for (b, a) in &changes {
                    let restored = match b {
                        Some(old) => save(ctx, true, old, None).await?,
                        None => save(ctx, false, &empty(&a.path), None).await?,
                    };
                    if let Err(msg) = restored {
                        return Ok(super::failed(format!(
                            "Failed to update apt cache: {err}; restoring {} failed too: {msg}",
                            a.path
                        )));
                    }
                }
                return Ok(super::failed(format!("Failed to update apt cache: {err}")));
            }
        }
        Ok(outcome)
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
    ctx: &ModuleContext<'_>,
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
    ctx: &ModuleContext<'_>,
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
}
