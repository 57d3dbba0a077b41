//! `find`: the files under some directories that match criteria. One round trip lists
//! every entry with its stat; the filtering happens here, in the order Python's
//! `os.walk` would have visited the entries. A second round trip reads contents or
//! checksums, only when `contains` or `get_checksum` asks for them.

mod criteria;
mod listing;
mod probe;

use std::collections::HashMap;
use std::convert::Infallible;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::contract::{Decision, StateModule};
use super::fileops::{self, CHECKSUM_ALGORITHMS, FileKind};
use super::stat::{known_name, permission_bits, stat_info};
use super::typed::module_args;
use super::{ModuleError, Outcome, Target};
use crate::connection::Command;
use crate::template::pyfmt::py_repr;
use criteria::{Criteria, Selection};
use listing::{Entry, Listed, content_candidates, listing_script, parse_errors, parse_listing};
use probe::Probe;

/// `find`: returns a list of files based on specific criteria; never changes anything.
pub struct Find;

module_args! {
    /// `find`'s arguments, read into [`Criteria`].
    pub struct FindArgs {
        /// The directories to search (`~` expanded on the target).
        paths: Vec<String> => .required().aliases(&["name", "path"]),
        patterns: Vec<String> => .aliases(&["pattern"]),
        excludes: Vec<String> => .aliases(&["exclude"]),
        contains: Option<String>,
        read_whole_file: bool => .default_bool(false),
        file_type: String => .default_str("file").choices(&["any", "directory", "file", "link"]),
        age: Option<String>,
        age_stamp: String => .default_str("mtime").choices(&["atime", "ctime", "mtime"]),
        size: Option<String>,
        recurse: bool => .default_bool(false),
        hidden: bool => .default_bool(false),
        follow: bool => .default_bool(false),
        get_checksum: bool => .default_bool(false),
        checksum_algorithm: String => .default_str("sha1")
            .aliases(&["checksum", "checksum_algo"])
            .choices(CHECKSUM_ALGORITHMS),
        use_regex: bool => .default_bool(false),
        depth: Option<i64>,
        /// Permissions the entries must have (octal or symbolic).
        mode: Json,
        exact_mode: bool => .default_bool(true),
        /// The encoding `contains` reads files in.
        encoding: Option<String>,
        limit: Option<i64>,
    }
}

/// What the search found: the result keys (`files`, `matched`, `examined` ...).
#[derive(Debug)]
pub struct Found(Outcome);

#[async_trait]
impl StateModule for Find {
    const NAME: &'static str = "find";
    type Args = FindArgs;
    type State = Found;
    type Plan = Infallible;

    /// Lists the trees, reads the contents `contains` needs, selects, then reads the
    /// checksums of the selected files: the selection sits between the round trips,
    /// so it happens here.
    async fn query(&self, ctx: &Target<'_>, args: &FindArgs) -> Result<Found, ModuleError> {
        let criteria = Criteria::from_args(args).map_err(ModuleError::FailedWith)?;
        let mut paths = Vec::new();
        for path in &args.paths {
            paths.push(super::pathexpand::expand_path(ctx, path).await?);
        }
        let command = Command::new(listing_script(&paths, &criteria));
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
            let probed =
                probe::inspect(ctx, &candidates, criteria.checksum.as_deref(), true).await?;
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
                let probed = probe::inspect(ctx, &unprobed, Some(algorithm), false).await?;
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
        Ok(Found(report.finish(files, matched.len())))
    }

    fn decide(&self, _args: &FindArgs, found: Found) -> Result<Decision<Infallible>, String> {
        let mut decision = Decision::unchanged();
        decision.result = found.0;
        Ok(decision)
    }

    async fn apply(
        &self,
        _on: &Target<'_>,
        _args: &FindArgs,
        plan: Infallible,
    ) -> Result<Outcome, ModuleError> {
        match plan {}
    }
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
mod test_support {
    use super::*;

    pub(super) fn criteria(args: Json) -> Criteria {
        let args: FindArgs = crate::modules::typed::from_json(args).expect("valid arguments");
        match Criteria::from_args(&args) {
            Ok(criteria) => criteria,
            Err(outcome) => panic!("rejected: {outcome:?}"),
        }
    }

    /// An entry listed at `path`: `kind` is `f`, `d` or `l`; `size` bytes; `mtime`.
    pub(super) fn entry(path: &str, kind: char, mode: u32, size: u64, mtime: i64) -> Entry {
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
}

#[cfg(test)]
mod tests {
    use super::test_support::{criteria, entry};
    use super::*;

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
}
