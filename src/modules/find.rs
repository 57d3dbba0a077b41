//! `find`: the files under some directories that match criteria. One round trip lists
//! every entry with its stat; the filtering happens here, in the order Python's
//! `os.walk` would have visited the entries. A second round trip reads contents or
//! checksums, only when `contains` or `get_checksum` asks for them.

use std::collections::HashMap;

use async_trait::async_trait;
use base64::Engine;
use regex::Regex;
use serde_json::{Map, Value as Json, json};

use super::fileops::{self, CHECKSUM_ALGORITHMS, FileKind, FileStat, STAT_FORMAT};
use super::stat::{known_name, permission_bits, stat_info};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, ConnectionError, quote};
use crate::template::pyfmt::py_repr;
use crate::template::pyre::{self, Anchor};

/// `find`: returns a list of files based on specific criteria; never changes anything.
pub struct Find;

#[async_trait]
impl Module for Find {
    fn name(&self) -> &'static str {
        "find"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("paths", Kind::List)
                .required()
                .aliases(&["name", "path"]),
            Param::new("patterns", Kind::List).aliases(&["pattern"]),
            Param::new("excludes", Kind::List).aliases(&["exclude"]),
            Param::new("contains", Kind::Str),
            Param::new("read_whole_file", Kind::Bool),
            Param::new("file_type", Kind::Str).choices(&["any", "directory", "file", "link"]),
            Param::new("age", Kind::Str),
            Param::new("age_stamp", Kind::Str).choices(&["atime", "ctime", "mtime"]),
            Param::new("size", Kind::Str),
            Param::new("recurse", Kind::Bool),
            Param::new("hidden", Kind::Bool),
            Param::new("follow", Kind::Bool),
            Param::new("get_checksum", Kind::Bool),
            Param::new("checksum_algorithm", Kind::Str)
                .aliases(&["checksum", "checksum_algo"])
                .choices(CHECKSUM_ALGORITHMS),
            Param::new("use_regex", Kind::Bool),
            Param::new("depth", Kind::Int),
            Param::new("mode", Kind::Raw),
            Param::new("exact_mode", Kind::Bool),
            Param::new("encoding", Kind::Str),
            Param::new("limit", Kind::Int),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let criteria = match Criteria::from_args(args) {
            Ok(criteria) => criteria,
            Err(outcome) => return Ok(outcome),
        };
        let mut paths = Vec::new();
        for path in args.strings("paths") {
            paths.push(fileops::expand_user(ctx, &path).await?);
        }
        let mut command = Command::new(listing_script(&paths, &criteria));
        command.env = ctx.env.clone();
        let out = ctx.conn.exec(&command).await?;
        let listing = parse_listing(&out.stdout, paths.len());
        let mut report = Report::default();
        for (path, error, warn) in parse_errors(&out.stderr_text()) {
            if warn {
                report.warn(format!(
                    "Skipped entry {} due to access issue.",
                    py_repr(&path.as_str().into())
                ));
            }
            report.skipped.insert(path, Json::String(error));
        }

        let contents: HashMap<&str, Probe> = if criteria.contains.is_some() {
            let candidates = content_candidates(&listing, &criteria);
            let probed = probe(ctx, &candidates, criteria.checksum.as_deref(), true).await?;
            candidates.into_iter().zip(probed).collect()
        } else {
            HashMap::new()
        };
        let mut matched: Vec<&Entry> = Vec::new();
        for (index, top) in paths.iter().enumerate() {
            match listing.paths.get(index) {
                Some(Listed::Entries(entries)) => {
                    let walk = Walk {
                        top,
                        entries,
                        criteria: &criteria,
                        now: listing.now,
                        contents: &contents,
                    };
                    if let Err(error) = walk.select(&mut matched, &mut report) {
                        report.skip_path(top, error);
                    }
                }
                _ => report.skip_path(top, format!("'{top}' is not a directory")),
            }
        }

        let checksums: HashMap<&str, Probe> = match &criteria.checksum {
            Some(algorithm) => {
                let unprobed: Vec<&str> = matched
                    .iter()
                    .filter(|e| e.stat.kind == FileKind::File)
                    .map(|e| e.listed.as_str())
                    .filter(|path| !contents.contains_key(path))
                    .collect();
                let probed = probe(ctx, &unprobed, Some(algorithm), false).await?;
                unprobed.into_iter().zip(probed).collect()
            }
            None => HashMap::new(),
        };
        let files: Vec<Json> = matched
            .iter()
            .map(|entry| {
                let mut record = file_record(entry);
                if criteria.checksum.is_some() && entry.stat.kind == FileKind::File {
                    let probe = contents
                        .get(entry.listed.as_str())
                        .or_else(|| checksums.get(entry.listed.as_str()));
                    record.insert(
                        "checksum".into(),
                        json!(probe.and_then(|p| p.checksum.clone())),
                    );
                }
                Json::Object(record)
            })
            .collect();
        Ok(report.finish(files, matched.len()))
    }
}

/// The module's arguments, checked and converted.
struct Criteria {
    patterns: Vec<Matcher>,
    excludes: Vec<Matcher>,
    contains: Option<Regex>,
    read_whole_file: bool,
    encoding: Option<String>,
    file_type: String,
    age: Option<i64>,
    age_stamp: String,
    size: Option<i64>,
    recurse: bool,
    hidden: bool,
    follow: bool,
    checksum: Option<String>,
    depth: Option<i64>,
    mode: Option<u32>,
    exact_mode: bool,
    limit: Option<usize>,
}

impl Criteria {
    /// Reads the arguments; a failed outcome in Ansible's words when one is wrong.
    fn from_args(args: &Args) -> Result<Criteria, Outcome> {
        let use_regex = args.bool_or("use_regex", false);
        let matchers = |patterns: Vec<String>| -> Result<Vec<Matcher>, Outcome> {
            patterns
                .iter()
                .map(|p| Matcher::new(p, use_regex).map_err(super::failed))
                .collect()
        };
        let mut patterns = args.strings("patterns");
        if patterns.is_empty() {
            patterns.push(if use_regex { ".*" } else { "*" }.to_string());
        }
        let patterns = matchers(patterns)?;
        let excludes = matchers(args.strings("excludes"))?;
        let read_whole_file = args.bool_or("read_whole_file", false);
        let anchor = if read_whole_file {
            Anchor::Search
        } else {
            Anchor::Start
        };
        let contains = match args.str("contains") {
            Some(pattern) => Some(compile(pattern, anchor).map_err(super::failed)?),
            None => None,
        };
        let age = match args.str("age") {
            Some(text) => Some(parse_age(text).ok_or_else(|| {
                let mut outcome = super::failed("failed to process age");
                outcome.insert("age".into(), json!(text));
                outcome
            })?),
            None => None,
        };
        let size = match args.str("size") {
            Some(text) => Some(parse_size(text).ok_or_else(|| {
                let mut outcome = super::failed("failed to process size");
                outcome.insert("size".into(), json!(text));
                outcome
            })?),
            None => None,
        };
        let mode = match args.get("mode") {
            Some(value) => parse_mode_filter(value).map_err(super::failed)?,
            None => None,
        };
        let limit = match args.int("limit") {
            Some(limit) if limit <= 0 => {
                return Err(super::failed(format!(
                    "limit cannot be {limit} (use None for unlimited)"
                )));
            }
            Some(limit) => usize::try_from(limit).ok(),
            None => None,
        };
        Ok(Criteria {
            patterns,
            excludes,
            contains,
            read_whole_file,
            encoding: args.str("encoding").map(str::to_string),
            file_type: args.str("file_type").unwrap_or("file").to_string(),
            age,
            age_stamp: args.str("age_stamp").unwrap_or("mtime").to_string(),
            size,
            recurse: args.bool_or("recurse", false),
            hidden: args.bool_or("hidden", false),
            follow: args.bool_or("follow", false),
            checksum: args
                .bool_or("get_checksum", false)
                .then(|| args.str("checksum_algorithm").unwrap_or("sha1").to_string()),
            depth: args.int("depth").filter(|d| *d != 0),
            mode,
            exact_mode: args.bool_or("exact_mode", true),
            limit,
        })
    }

    /// Whether a basename passes `patterns` and `excludes`.
    fn name_matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(name))
            && !self.excludes.iter().any(|e| e.matches(name))
    }

    /// Whether the entry is old (or young) enough.
    fn age_matches(&self, stat: &FileStat, now: f64) -> bool {
        let Some(age) = self.age else {
            return true;
        };
        let stamp = match self.age_stamp.as_str() {
            "atime" => stat.details.atime,
            "ctime" => stat.details.ctime,
            _ => stat.details.mtime,
        };
        let elapsed = now - stamp.as_f64();
        if age >= 0 {
            elapsed >= age as f64
        } else {
            elapsed <= age.unsigned_abs() as f64
        }
    }

    /// Whether the entry is big (or small) enough.
    fn size_matches(&self, stat: &FileStat) -> bool {
        match self.size {
            None => true,
            Some(size) if size >= 0 => i128::from(stat.size) >= i128::from(size),
            Some(size) => i128::from(stat.size) <= i128::from(size.unsigned_abs()),
        }
    }

    /// Whether the permission bits match `mode` (exactly, or sharing a bit).
    fn mode_matches(&self, stat: &FileStat) -> bool {
        match self.mode {
            None => true,
            Some(mode) if self.exact_mode => stat.mode & 0o7777 == mode,
            Some(mode) => stat.mode & mode != 0,
        }
    }

    /// Whether an entry passes every test that needs no file content, and whether its
    /// content must be searched too.
    fn selects(&self, entry: &Entry, now: f64) -> Selection {
        let stat = &entry.stat;
        let common = |c: &Criteria| c.name_matches(&entry.name) && c.age_matches(stat, now);
        match (self.file_type.as_str(), stat.kind) {
            ("any", kind) => {
                let ok = common(self)
                    && self.mode_matches(stat)
                    && (kind != FileKind::File || self.size_matches(stat));
                Selection::from(ok)
            }
            ("directory", FileKind::Directory) | ("link", FileKind::Link) => {
                Selection::from(common(self) && self.mode_matches(stat))
            }
            ("file", FileKind::File) => {
                if !(common(self) && self.size_matches(stat)) {
                    Selection::No
                } else if self.contains.is_some() {
                    Selection::IfContent
                } else {
                    Selection::from(self.mode_matches(stat))
                }
            }
            _ => Selection::No,
        }
    }

    /// Whether `content` holds what `contains` looks for; an error (an undecodable
    /// file, an unknown encoding) stops the search of the whole path, as in Ansible.
    fn content_matches(&self, entry: &Entry, probe: Option<&Probe>) -> Result<bool, String> {
        let (Some(regex), Some(bytes)) = (&self.contains, probe.and_then(|p| p.content.as_ref()))
        else {
            return Ok(false);
        };
        let text = decode(bytes, self.encoding.as_deref())?.ok_or_else(|| {
            let encoding = self.encoding.clone().unwrap_or_else(|| {
                "None (default determined by the Python built-in function \"open\")".into()
            });
            format!(
                "Failed to read the file {} due to an encoding error. current encoding: {encoding}",
                entry.path
            )
        })?;
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        Ok(if self.read_whole_file {
            regex.is_match(&text)
        } else {
            text.lines().any(|line| regex.is_match(line))
        })
    }
}

/// The verdict on one entry before its content is known.
#[derive(Debug, PartialEq, Eq)]
enum Selection {
    No,
    Yes,
    /// A regular file whose content decides.
    IfContent,
}

impl From<bool> for Selection {
    fn from(yes: bool) -> Selection {
        if yes { Selection::Yes } else { Selection::No }
    }
}

/// A basename test: a shell wildcard, or a Python regex matched at the start.
enum Matcher {
    Glob(String),
    Regex(Regex),
}

impl Matcher {
    fn new(pattern: &str, use_regex: bool) -> Result<Matcher, String> {
        if use_regex {
            compile(pattern, Anchor::Start).map(Matcher::Regex)
        } else {
            Ok(Matcher::Glob(pattern.to_string()))
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Matcher::Glob(pattern) => crate::glob::matches(pattern, name),
            Matcher::Regex(regex) => regex.is_match(name),
        }
    }
}

/// Compiles a Python regex the way `re.match` (`Start`) or `re.search` uses it.
fn compile(pattern: &str, anchor: Anchor) -> Result<Regex, String> {
    pyre::compile("find", pattern, false, false, anchor).map_err(|e| {
        e.detail()
            .unwrap_or("invalid regular expression")
            .to_string()
    })
}

/// `age` in seconds: `-?N[smhdw]`, as Ansible reads it.
fn parse_age(text: &str) -> Option<i64> {
    parse_scaled(
        text,
        &[
            ('s', 1),
            ('m', 60),
            ('h', 3600),
            ('d', 86_400),
            ('w', 604_800),
        ],
    )
}

/// `size` in bytes: `-?N[bkmgt]`, powers of 1024.
fn parse_size(text: &str) -> Option<i64> {
    parse_scaled(
        text,
        &[
            ('b', 1),
            ('k', 1 << 10),
            ('m', 1 << 20),
            ('g', 1 << 30),
            ('t', 1 << 40),
        ],
    )
}

/// A signed integer with an optional one-letter unit from `units`.
fn parse_scaled(text: &str, units: &[(char, i64)]) -> Option<i64> {
    let text = text.to_lowercase();
    let (number, factor) = match units.iter().find(|(unit, _)| text.ends_with(*unit)) {
        Some((_, factor)) => (&text[..text.len() - 1], *factor),
        None => (text.as_str(), 1),
    };
    let digits = number.strip_prefix('-').unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    number.parse::<i64>().ok()?.checked_mul(factor)
}

/// The `mode` filter: a string, octal (`0644`, `0o644`) or symbolic (`u=rw,g=r`).
fn parse_mode_filter(value: &Json) -> Result<Option<u32>, String> {
    let Json::String(text) = value else {
        return Err(format!(
            "argument 'mode' is not a string and conversion is not allowed, value is of type {}",
            super::args::json_type(value)
        ));
    };
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let digits = text
        .strip_prefix("0o")
        .or_else(|| text.strip_prefix("0O"))
        .unwrap_or(text);
    if let Ok(mode) = u32::from_str_radix(digits, 8) {
        return Ok(Some(mode & 0o7777));
    }
    fileops::parse_mode(&Json::String(text.to_string()), Some(0), false).map(Some)
}

/// File content as text in `encoding` (UTF-8 when not given): `Ok(None)` when it
/// does not decode, an error for an encoding bosun does not know.
fn decode(bytes: &[u8], encoding: Option<&str>) -> Result<Option<String>, String> {
    let name = encoding.unwrap_or("utf-8").to_lowercase().replace('_', "-");
    match name.as_str() {
        "utf-8" | "utf8" | "u8" => Ok(String::from_utf8(bytes.to_vec()).ok()),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "l1" => {
            Ok(Some(bytes.iter().map(|b| char::from(*b)).collect()))
        }
        "ascii" | "us-ascii" => Ok(bytes
            .is_ascii()
            .then(|| String::from_utf8_lossy(bytes).into_owned())),
        _ => Err(format!(
            "unknown encoding: {}",
            encoding.unwrap_or_default()
        )),
    }
}

/// One entry the listing returned.
#[derive(Debug)]
struct Entry {
    /// The path as `find` printed it (to ask the target about it again).
    listed: String,
    /// The path normalised, as Ansible reports it.
    path: String,
    /// The basename the patterns are matched against.
    name: String,
    /// Its `lstat`.
    stat: FileStat,
}

/// What the listing says about one of the `paths`.
#[derive(Debug)]
enum Listed {
    /// It is not a directory (or does not exist).
    NotDirectory,
    /// Everything under it, as `find` walked it.
    Entries(Vec<Entry>),
}

/// The parsed listing: the target's clock and each path's entries.
#[derive(Debug)]
struct Listing {
    now: f64,
    paths: Vec<Listed>,
}

/// The listing script: the target's time, then for each path a `D` (a directory,
/// entries follow) or `N` marker; each entry is its `stat` line and its path, all
/// NUL-terminated so any file name survives.
fn listing_script(paths: &[String], criteria: &Criteria) -> String {
    let mut script = String::from("printf 'T:%s\\0' \"$(date +%s.%N)\"; ");
    let follow = if criteria.follow { "-L" } else { "-H" };
    let max_depth = if criteria.recurse {
        criteria.depth.map(|d| d.saturating_add(1).max(1))
    } else {
        Some(1)
    };
    let max_depth = max_depth.map_or(String::new(), |d| format!(" -maxdepth {d}"));
    for path in paths {
        let start = if path.starts_with('-') {
            format!("./{path}")
        } else {
            path.clone()
        };
        let p = quote(&start);
        script.push_str(&format!(
            "if [ -d {p} ]; then printf 'D\\0'; LC_ALL=C find {follow} {p} -mindepth 1{max_depth} \
             -exec stat --printf 'S:{STAT_FORMAT}\\0%n\\0' {{}} +; else printf 'N\\0'; fi; "
        ));
    }
    script
}

/// Parses the output of [`listing_script`] for `count` paths.
fn parse_listing(output: &[u8], count: usize) -> Listing {
    let mut tokens = output
        .split(|b| *b == 0)
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .peekable();
    let now = tokens
        .next_if(|t| t.starts_with("T:"))
        .and_then(|t| {
            let text = &t[2..];
            fileops::Timestamp::parse(text)
                .map(|t| t.as_f64())
                .or_else(|| text.split('.').next()?.parse().ok())
        })
        .unwrap_or(0.0);
    let mut paths = Vec::new();
    while let Some(token) = tokens.next() {
        match token.as_str() {
            "N" => paths.push(Listed::NotDirectory),
            "D" => {
                let mut entries = Vec::new();
                while let Some(line) = tokens.next_if(|t| t.starts_with("S:")) {
                    let (Some(listed), Some(stat)) =
                        (tokens.next(), fileops::parse_stat_line(&line[2..]))
                    else {
                        continue;
                    };
                    let name = listed.rsplit('/').next().unwrap_or_default().to_string();
                    entries.push(Entry {
                        path: fileops::normpath(&listed),
                        listed,
                        name,
                        stat,
                    });
                }
                paths.push(Listed::Entries(entries));
            }
            _ => {}
        }
    }
    paths.truncate(count);
    Listing { now, paths }
}

/// Errors `find` and `stat` printed, as `(path, message in Python's words, warn)`:
/// unreadable directories are skipped quietly, entries that vanished with a warning.
fn parse_errors(stderr: &str) -> Vec<(String, String, bool)> {
    let mut errors = Vec::new();
    for line in stderr.lines() {
        let (rest, warn) = if let Some(rest) = line.strip_prefix("find: '") {
            (rest, false)
        } else if let Some(rest) = line
            .strip_prefix("stat: cannot statx '")
            .or_else(|| line.strip_prefix("stat: cannot stat '"))
        {
            (rest, true)
        } else {
            continue;
        };
        let Some((path, reason)) = rest.rsplit_once("': ") else {
            continue;
        };
        let errno = match reason {
            "Operation not permitted" => Some(1),
            "No such file or directory" => Some(2),
            "Permission denied" => Some(13),
            "Not a directory" => Some(20),
            _ => None,
        };
        let quoted = py_repr(&path.into());
        let message = match errno {
            Some(errno) => format!("[Errno {errno}] {reason}: {quoted}"),
            None => format!("{reason}: {quoted}"),
        };
        errors.push((path.to_string(), message, warn));
    }
    errors
}

/// The regular files whose content `contains` must search: those passing every other
/// test, under any path (a superset of what the walk will ask about).
fn content_candidates<'a>(listing: &'a Listing, criteria: &Criteria) -> Vec<&'a str> {
    listing
        .paths
        .iter()
        .filter_map(|listed| match listed {
            Listed::Entries(entries) => Some(entries),
            Listed::NotDirectory => None,
        })
        .flatten()
        .filter(|e| criteria.selects(e, listing.now) == Selection::IfContent)
        .map(|e| e.listed.as_str())
        .collect()
}

/// One path's entries, walked as `os.walk` would.
struct Walk<'a> {
    top: &'a str,
    entries: &'a [Entry],
    criteria: &'a Criteria,
    now: f64,
    contents: &'a HashMap<&'a str, Probe>,
}

impl<'a> Walk<'a> {
    /// Adds the matching entries to `matched` in walk order, counting what was looked
    /// at; stops at `limit`. An error means the rest of this path was abandoned.
    fn select(&self, matched: &mut Vec<&'a Entry>, report: &mut Report) -> Result<(), String> {
        let criteria = self.criteria;
        let top_slashes = format!("{}/", self.top.trim_end_matches('/'))
            .matches('/')
            .count();
        for group in walk_groups(self.top, self.entries) {
            report.examined += group.len();
            let mut limited = false;
            for entry in group.iter().map(|i| &self.entries[*i]) {
                if let Some(max) = criteria.depth {
                    let depth = entry.path.matches('/').count() as i64 - top_slashes as i64 + 1;
                    if depth > max {
                        continue;
                    }
                }
                if entry.name.starts_with('.') && !criteria.hidden {
                    continue;
                }
                let selected = match criteria.selects(entry, self.now) {
                    Selection::Yes => true,
                    Selection::No => false,
                    Selection::IfContent => {
                        criteria.content_matches(entry, self.contents.get(entry.listed.as_str()))?
                            && criteria.mode_matches(&entry.stat)
                    }
                };
                if selected {
                    matched.push(entry);
                }
                if criteria.limit == Some(matched.len()) {
                    report.msg = "Limit of matches reached".into();
                    limited = true;
                    break;
                }
            }
            if !criteria.recurse || limited {
                break;
            }
        }
        Ok(())
    }
}

/// The entries grouped by directory in `os.walk` order (top-down, depth first): each
/// directory's files, then its subdirectories, then the walk into each of those.
fn walk_groups(top: &str, entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut children: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, entry) in entries.iter().enumerate() {
        children.entry(parent(&entry.path)).or_default().push(index);
    }
    let top = fileops::normpath(top);
    let mut groups = Vec::new();
    let mut stack = vec![top.as_str()];
    while let Some(root) = stack.pop() {
        let Some(kids) = children.get(root) else {
            continue;
        };
        let (dirs, files): (Vec<usize>, Vec<usize>) = kids.iter().partition(|i| {
            let entry = &entries[**i];
            entry.stat.kind == FileKind::Directory || children.contains_key(entry.path.as_str())
        });
        stack.extend(dirs.iter().rev().map(|i| entries[*i].path.as_str()));
        groups.push(files.into_iter().chain(dirs).collect());
    }
    groups
}

/// The directory part of a normalised path.
fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) => "/",
        Some(end) => &path[..end],
        None => ".",
    }
}

/// What the target said about one file: its checksum and content, when asked for.
#[derive(Debug, Default)]
struct Probe {
    checksum: Option<String>,
    content: Option<Vec<u8>>,
}

/// Reads checksums (with `algorithm`) and, with `content`, the bytes of `paths` in
/// one round trip; the paths travel on standard input, NUL-separated.
async fn probe(
    ctx: &ModuleContext<'_>,
    paths: &[&str],
    algorithm: Option<&str>,
    content: bool,
) -> Result<Vec<Probe>, ConnectionError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let checksum = match algorithm.filter(|a| CHECKSUM_ALGORITHMS.contains(a)) {
        Some(a) => format!("printf \"%s\\0\" \"$({a}sum < \"$f\" | cut -d\" \" -f1)\"; "),
        None => "printf \"%s\\0\" -; ".into(),
    };
    let body = if content { "base64 -w0 < \"$f\"; " } else { "" };
    let inner = format!(
        "for f; do if [ -f \"$f\" ] && [ -r \"$f\" ]; then {checksum}{body}printf \"\\0\"; \
         else printf \"!\\0!\\0\"; fi; done"
    );
    let mut command = Command::new(format!("xargs -0 sh -c {} sh", quote(&inner)));
    let mut input = Vec::new();
    for path in paths {
        input.extend_from_slice(path.as_bytes());
        input.push(0);
    }
    command.stdin = Some(input);
    let out = ctx.conn.exec(&command).await?;
    Ok(parse_probe(&out.stdout, paths.len(), content))
}

/// Parses [`probe`]'s output: a checksum and a base64 content field per file.
fn parse_probe(output: &[u8], count: usize, content: bool) -> Vec<Probe> {
    let fields: Vec<&[u8]> = output.split(|b| *b == 0).collect();
    let mut probes: Vec<Probe> = fields
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| {
            if pair[0] == b"!" {
                return Probe::default();
            }
            let checksum = String::from_utf8_lossy(pair[0]).into_owned();
            Probe {
                checksum: (checksum != "-" && !checksum.is_empty()).then_some(checksum),
                content: content
                    .then(|| {
                        base64::engine::general_purpose::STANDARD
                            .decode(pair[1])
                            .ok()
                    })
                    .flatten(),
            }
        })
        .collect();
    probes.resize_with(count, Probe::default);
    probes
}

/// What `find` reports besides the files.
#[derive(Default)]
struct Report {
    examined: usize,
    msg: String,
    skipped: Map<String, Json>,
    warnings: Vec<String>,
}

impl Report {
    fn warn(&mut self, message: String) {
        self.warnings.push(message);
    }

    /// A whole path could not be searched (or not to its end).
    fn skip_path(&mut self, path: &str, error: String) {
        self.warn(format!(
            "Skipped '{path}' path due to this access issue: {error}\n"
        ));
        self.skipped.insert(path.to_string(), Json::String(error));
    }

    fn finish(self, files: Vec<Json>, matched: usize) -> Outcome {
        let msg = if !self.warnings.is_empty() {
            "Not all paths examined, check warnings for details".to_string()
        } else if self.msg.is_empty() {
            "All paths examined".to_string()
        } else {
            self.msg
        };
        let mut outcome = Outcome::new();
        outcome.insert("files".into(), Json::Array(files));
        outcome.insert("changed".into(), Json::Bool(false));
        outcome.insert("msg".into(), Json::String(msg));
        outcome.insert("matched".into(), json!(matched));
        outcome.insert("examined".into(), json!(self.examined));
        outcome.insert("skipped_paths".into(), Json::Object(self.skipped));
        if !self.warnings.is_empty() {
            outcome.insert("warnings".into(), json!(self.warnings));
        }
        outcome
    }
}

/// One entry of `files`: its path and what `stat` would say, in Ansible's key order.
fn file_record(entry: &Entry) -> Map<String, Json> {
    let stat = &entry.stat;
    let mut record = Map::new();
    record.insert("path".into(), json!(entry.path));
    record.extend(stat_info(stat));
    let name = |name: &str, id: u32| json!(known_name(name, id).unwrap_or_default());
    record.insert("gr_name".into(), name(&stat.group, stat.gid));
    record.insert("pw_name".into(), name(&stat.owner, stat.uid));
    record.extend(permission_bits(stat.mode));
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria(args: Json) -> Criteria {
        let raw = serde_json::from_value(args).expect("a mapping");
        let args = Args::parse(Find.params(), &raw).expect("valid arguments");
        match Criteria::from_args(&args) {
            Ok(criteria) => criteria,
            Err(outcome) => panic!("rejected: {outcome:?}"),
        }
    }

    /// An entry listed at `path`: `kind` is `f`, `d` or `l`; `size` bytes; `mtime`.
    fn entry(path: &str, kind: char, mode: u32, size: u64, mtime: i64) -> Entry {
        let file_type = match kind {
            'd' => "directory",
            'l' => "symbolic link",
            _ => "regular file",
        };
        let line = format!(
            "{file_type}|{mode:o}|0|0|root|root|{size}|{mtime}|{mtime}|{mtime}.0|{mtime}.0|{mtime}.0|1|2|1"
        );
        Entry {
            listed: path.to_string(),
            path: fileops::normpath(path),
            name: path.rsplit('/').next().unwrap_or_default().to_string(),
            stat: fileops::parse_stat_line(&line).expect("a stat line"),
        }
    }

    #[test]
    fn ages_and_sizes_parse_as_ansible_reads_them() {
        for (text, expected) in [
            ("2d", Some(172_800)),
            ("-1w", Some(-604_800)),
            ("3600", Some(3600)),
            ("10S", Some(10)),
            ("5m", Some(300)),
            ("-0", Some(0)),
            ("1y", None),
            ("1.5d", None),
            ("+1d", None),
            ("", None),
            ("-", None),
        ] {
            assert_eq!(parse_age(text), expected, "age {text:?}");
        }
        for (text, expected) in [
            ("10k", Some(10_240)),
            ("-1m", Some(-1_048_576)),
            ("2g", Some(2_147_483_648)),
            ("1t", Some(1_099_511_627_776)),
            ("5b", Some(5)),
            ("7", Some(7)),
            ("1kb", None),
            ("k", None),
        ] {
            assert_eq!(parse_size(text), expected, "size {text:?}");
        }
    }

    #[test]
    fn mode_filters_parse() {
        for (value, expected) in [
            (json!("0644"), Ok(Some(0o644))),
            (json!("0o755"), Ok(Some(0o755))),
            (json!("u=rw,g=r,o=r"), Ok(Some(0o644))),
            (json!(""), Ok(None)),
            (
                json!(420),
                Err("argument 'mode' is not a string and conversion is not allowed, value is of type int".to_string()),
            ),
        ] {
            assert_eq!(parse_mode_filter(&value), expected, "{value}");
        }
        assert!(parse_mode_filter(&json!("u=rq")).is_err());
    }

    #[test]
    fn listing_parses_paths_entries_and_the_clock() {
        let output = b"T:1700000100.500000000\0D\0\
            S:regular file|644|0|0|root|root|3|1700000000|1700000000|1700000000.0|1700000000.0|1700000000.0|7|2|1\0/t//a b\0\
            S:directory|755|0|0|root|root|4096|1|1|1.0|1.0|1.0|8|2|2\0/t/sub\0\
            N\0";
        let listing = parse_listing(output, 2);
        assert_eq!(listing.now, 1_700_000_100.5);
        let Listed::Entries(entries) = &listing.paths[0] else {
            panic!("the first path is a directory: {listing:?}");
        };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].path, "/t/a b");
        assert_eq!(entries[0].listed, "/t//a b");
        assert_eq!(entries[0].name, "a b");
        assert_eq!(entries[0].stat.details.inode, 7);
        assert_eq!(entries[1].stat.kind, FileKind::Directory);
        assert!(matches!(listing.paths[1], Listed::NotDirectory));
    }

    #[test]
    fn errors_read_as_python_words() {
        let errors = parse_errors(
            "find: '/t/locked': Permission denied\n\
             stat: cannot statx '/t/gone': No such file or directory\n\
             find: File system loop detected; '/t/l' is part of the same file system loop as '/t'.\n\
             find: '/t/odd': Something else\n",
        );
        assert_eq!(
            errors,
            vec![
                (
                    "/t/locked".to_string(),
                    "[Errno 13] Permission denied: '/t/locked'".to_string(),
                    false
                ),
                (
                    "/t/gone".to_string(),
                    "[Errno 2] No such file or directory: '/t/gone'".to_string(),
                    true
                ),
                (
                    "/t/odd".to_string(),
                    "Something else: '/t/odd'".to_string(),
                    false
                ),
            ]
        );
    }

    #[test]
    fn walk_groups_follow_os_walk() {
        let entries = vec![
            entry("/t/sub", 'd', 0o755, 0, 0),
            entry("/t/sub/x", 'f', 0o644, 0, 0),
            entry("/t/a", 'f', 0o644, 0, 0),
            entry("/t/linked", 'l', 0o777, 0, 0),
            entry("/t/linked/y", 'f', 0o644, 0, 0),
            entry("/t/sub/deeper", 'd', 0o755, 0, 0),
            entry("/t/sub/deeper/z", 'f', 0o644, 0, 0),
        ];
        let names = |group: &Vec<usize>| -> Vec<&str> {
            group.iter().map(|i| entries[*i].name.as_str()).collect()
        };
        let groups: Vec<Vec<&str>> = walk_groups("/t/", &entries).iter().map(names).collect();
        assert_eq!(
            groups,
            vec![
                vec!["a", "sub", "linked"],
                vec!["x", "deeper"],
                vec!["z"],
                vec!["y"],
            ],
            "files first, then directories (a followed link counts as one), depth first"
        );
    }

    fn select(args: Json, entries: &[Entry], now: f64) -> (Vec<String>, Report) {
        let criteria = criteria(args);
        let contents = HashMap::new();
        let walk = Walk {
            top: "/t",
            entries,
            criteria: &criteria,
            now,
            contents: &contents,
        };
        let mut matched = Vec::new();
        let mut report = Report::default();
        walk.select(&mut matched, &mut report)
            .expect("no content errors");
        (matched.iter().map(|e| e.name.clone()).collect(), report)
    }

    #[test]
    fn selection_applies_every_criterion() {
        let now = 1_000_000.0;
        let entries = vec![
            entry("/t/new.log", 'f', 0o644, 100, 999_000),
            entry("/t/old.log", 'f', 0o600, 5000, 800_000),
            entry("/t/.hidden.log", 'f', 0o644, 1, 800_000),
            entry("/t/notes.txt", 'f', 0o644, 20_000, 900_000),
            entry("/t/logs", 'd', 0o755, 4096, 999_999),
            entry("/t/link.log", 'l', 0o777, 7, 999_999),
            entry("/t/logs/inner.log", 'f', 0o644, 1, 999_999),
            entry("/t/logs/deep", 'd', 0o755, 4096, 999_999),
            entry("/t/logs/deep/bottom.log", 'f', 0o644, 1, 999_999),
        ];
        let cases: &[(Json, &[&str], usize)] = &[
            (
                json!({"paths": "/t"}),
                &["new.log", "old.log", "notes.txt"],
                6,
            ),
            (
                json!({"paths": "/t", "patterns": "*.log"}),
                &["new.log", "old.log"],
                6,
            ),
            (
                json!({"paths": "/t", "patterns": ["*.log"], "hidden": true}),
                &["new.log", "old.log", ".hidden.log"],
                6,
            ),
            (
                json!({"paths": "/t", "patterns": "*.log", "excludes": "new*"}),
                &["old.log"],
                6,
            ),
            (
                json!({"paths": "/t", "patterns": "^.*\\.txt$", "use_regex": true}),
                &["notes.txt"],
                6,
            ),
            (
                json!({"paths": "/t", "age": "1d"}),
                &["old.log", "notes.txt"],
                6,
            ),
            (json!({"paths": "/t", "age": "-2h"}), &["new.log"], 6),
            (
                json!({"paths": "/t", "size": "4k"}),
                &["old.log", "notes.txt"],
                6,
            ),
            (json!({"paths": "/t", "size": "-1k"}), &["new.log"], 6),
            (json!({"paths": "/t", "mode": "0600"}), &["old.log"], 6),
            (
                json!({"paths": "/t", "mode": "o=r", "exact_mode": false}),
                &["new.log", "notes.txt"],
                6,
            ),
            (
                json!({"paths": "/t", "file_type": "directory"}),
                &["logs"],
                6,
            ),
            (
                json!({"paths": "/t", "file_type": "link"}),
                &["link.log"],
                6,
            ),
            (
                json!({"paths": "/t", "file_type": "any", "patterns": "*.log", "size": "-1k"}),
                &["new.log", "link.log"],
                6,
            ),
            (
                json!({"paths": "/t", "recurse": true, "patterns": "*.log"}),
                &["new.log", "old.log", "inner.log", "bottom.log"],
                9,
            ),
            (
                json!({"paths": "/t", "recurse": true, "depth": 1, "patterns": "*.log"}),
                &["new.log", "old.log"],
                9,
            ),
            (
                json!({"paths": "/t", "recurse": true, "limit": 1}),
                &["new.log"],
                6,
            ),
        ];
        for (args, expected, examined) in cases {
            let (names, report) = select(args.clone(), &entries, now);
            assert_eq!(names, *expected, "{args}");
            assert_eq!(report.examined, *examined, "examined with {args}");
        }
        let (_, report) = select(json!({"paths": "/t", "limit": 1}), &entries, now);
        assert_eq!(report.msg, "Limit of matches reached");
    }

    #[test]
    fn bad_arguments_fail_with_ansibles_message() {
        for (args, msg) in [
            (json!({"paths": "/t", "age": "2y"}), "failed to process age"),
            (
                json!({"paths": "/t", "size": "1q"}),
                "failed to process size",
            ),
            (
                json!({"paths": "/t", "limit": 0}),
                "limit cannot be 0 (use None for unlimited)",
            ),
        ] {
            let raw = serde_json::from_value(args.clone()).expect("a mapping");
            let parsed = Args::parse(Find.params(), &raw).expect("valid arguments");
            let outcome = Criteria::from_args(&parsed).err().expect("rejected");
            assert_eq!(outcome["msg"], msg, "{args}");
            assert_eq!(outcome["failed"], true);
        }
    }

    #[test]
    fn content_decodes_and_matches() {
        for (bytes, encoding, expected) in [
            (&b"caf\xc3\xa9"[..], None, Ok(Some("café".to_string()))),
            (&b"caf\xe9"[..], None, Ok(None)),
            (
                &b"caf\xe9"[..],
                Some("latin-1"),
                Ok(Some("café".to_string())),
            ),
            (&b"caf\xe9"[..], Some("ascii"), Ok(None)),
            (
                &b"x"[..],
                Some("klingon"),
                Err("unknown encoding: klingon".to_string()),
            ),
        ] {
            assert_eq!(decode(bytes, encoding), expected, "{encoding:?}");
        }
        let file = entry("/t/f", 'f', 0o644, 1, 1);
        let probe = Probe {
            checksum: None,
            content: Some(b"first line\r\nsecond=2\n".to_vec()),
        };
        for (args, expected) in [
            (json!({"paths": "/t", "contains": "second=\\d$"}), true),
            (json!({"paths": "/t", "contains": "line"}), false),
            (
                json!({"paths": "/t", "contains": "line", "read_whole_file": true}),
                true,
            ),
            (json!({"paths": "/t", "contains": "^first"}), true),
        ] {
            let found = criteria(args.clone()).content_matches(&file, Some(&probe));
            assert_eq!(found, Ok(expected), "{args}");
        }
        let binary = Probe {
            checksum: None,
            content: Some(b"\xff\xfe".to_vec()),
        };
        let error = criteria(json!({"paths": "/t", "contains": "x"}))
            .content_matches(&file, Some(&binary))
            .expect_err("undecodable");
        assert!(
            error.starts_with(
                "Failed to read the file /t/f due to an encoding error. current encoding: None"
            ),
            "{error}"
        );
    }

    #[test]
    fn probe_output_parses() {
        let encoded = base64::engine::general_purpose::STANDARD.encode(b"hi\0there");
        let output = format!("abc\0{encoded}\0!\0!\0");
        let probes = parse_probe(output.as_bytes(), 3, true);
        assert_eq!(probes[0].checksum.as_deref(), Some("abc"));
        assert_eq!(probes[0].content.as_deref(), Some(&b"hi\0there"[..]));
        assert_eq!(probes[1].checksum, None, "unreadable");
        assert_eq!(probes[1].content, None);
        assert_eq!(probes[2].checksum, None, "missing output");
        let checksums = parse_probe(b"-\0\0", 1, false);
        assert_eq!(checksums[0].checksum, None);
    }
}
