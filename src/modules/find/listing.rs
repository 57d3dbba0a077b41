//! `find`'s listing: one script walks every path with `find` and prints each entry's
//! `stat`; its output and error messages are read back here.

use super::criteria::{Criteria, Selection};
use crate::connection::quote;
use crate::modules::fileops::{self, FileStat, STAT_FORMAT};
use crate::template::pyfmt::py_repr;

/// One entry the listing returned.
#[derive(Debug)]
pub(super) struct Entry {
    /// The path as `find` printed it (to ask the target about it again).
    pub(super) listed: String,
    /// The path normalised, as Ansible reports it.
    pub(super) path: String,
    /// The basename the patterns are matched against.
    pub(super) name: String,
    /// Its `lstat`.
    pub(super) stat: FileStat,
}

/// What the listing says about one of the `paths`.
#[derive(Debug)]
pub(super) enum Listed {
    /// It is not a directory (or does not exist).
    NotDirectory,
    /// Everything under it, as `find` walked it.
    Entries(Vec<Entry>),
}

/// The parsed listing: the target's clock and each path's entries.
#[derive(Debug)]
pub(super) struct Listing {
    pub(super) now: f64,
    pub(super) paths: Vec<Listed>,
}

/// The listing script: the target's time, then for each path a `D` (a directory,
/// entries follow) or `N` marker; each entry is its `stat` line and its path, all
/// NUL-terminated so any file name survives.
pub(super) fn listing_script(paths: &[String], criteria: &Criteria) -> String {
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
pub(super) fn parse_listing(output: &[u8], count: usize) -> Listing {
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
pub(super) fn parse_errors(stderr: &str) -> Vec<(String, String, bool)> {
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
pub(super) fn content_candidates<'a>(listing: &'a Listing, criteria: &Criteria) -> Vec<&'a str> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::fileops::FileKind;

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
}
