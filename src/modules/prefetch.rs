//! Asking for many install destinations at once. Before a `copy` or `template` loop
//! the executor hands every item's `dest` to [`Prefetched::query`]: one round trip, one
//! `stat` and one `sha1sum` for all of them, instead of a round trip and two processes
//! per item. [`super::install`] then takes its answer from here.
//!
//! An answer stays true until an item changes something: [`Prefetched::forget`] drops
//! the changed path's answer and those of every other path that is the same file
//! (same inode, or same name in the same directory, as through a symlinked parent).

use std::collections::HashMap;
use std::sync::Mutex;

use super::fileops::{self, FileStat, STAT_FORMAT};
use crate::connection::{Command, Connection, ConnectionError, quote};

/// Paths asked for in one round trip at most: keeps the script and the argument lists
/// of `stat` and `sha1sum` far below the target's limits.
const MAX_PATH_BYTES: usize = 64 * 1024;

/// Separates the `sha1sum` lines, which come last, from the rest.
const SUMS: &str = "__BOSUN_SUMS__";

/// What [`super::install`]'s own query would have found for each path.
#[derive(Debug, Default)]
pub struct Prefetched {
    answers: Mutex<HashMap<String, Answer>>,
}

/// One path's state.
#[derive(Clone, Debug)]
struct Answer {
    /// The file (links followed, with access and SHA-1), `None` when missing.
    state: Option<FileStat>,
    /// Whether the parent directory exists.
    parent_exists: bool,
    /// The parent directory's `dev:inode` and the file's name: where the file lives.
    location: Option<String>,
}

impl Prefetched {
    /// Queries `paths` on the target in one round trip. Paths a shell or `sha1sum`
    /// would print ambiguously (newlines, backslashes, `~`), duplicates, and those
    /// beyond [`MAX_PATH_BYTES`] are left out: their items query for themselves.
    pub async fn query(
        conn: &dyn Connection,
        paths: &[String],
    ) -> Result<Prefetched, ConnectionError> {
        let mut chosen: Vec<&str> = Vec::new();
        let mut bytes = 0;
        for path in paths {
            let plain = !path.is_empty()
                && !path.starts_with('~')
                && !path.contains(['\n', '\\'])
                && !chosen.contains(&path.as_str());
            if plain && bytes + path.len() <= MAX_PATH_BYTES {
                bytes += path.len();
                chosen.push(path);
            }
        }
        if chosen.is_empty() {
            return Ok(Prefetched::default());
        }
        let out = conn.exec(&Command::new(script(&chosen))).await?;
        let text = out.stdout_text();
        // No answers from a script that did not get to its end (become refused, a
        // shell that choked): every file would look missing.
        if out.rc != 0 || !text.lines().any(|line| line == SUMS) {
            return Ok(Prefetched::default());
        }
        Ok(Prefetched {
            answers: Mutex::new(parse(&chosen, &text)),
        })
    }

    /// The state of `path` and whether its parent exists, if it was asked for and
    /// nothing changed it since.
    pub fn get(&self, path: &str) -> Option<(Option<FileStat>, bool)> {
        let answers = self.answers.lock().ok()?;
        answers
            .get(path)
            .map(|a| (a.state.clone(), a.parent_exists))
    }

    /// Drops what is known about `path` after something changed it, and about every
    /// other path that is the same file. A path never asked for may be any file:
    /// everything is dropped.
    pub fn forget(&self, path: &str) {
        let Ok(mut answers) = self.answers.lock() else {
            return;
        };
        let Some(changed) = answers.remove(path) else {
            answers.clear();
            return;
        };
        let inode = changed.state.as_ref().map(identity);
        answers.retain(|_, other| {
            let same_inode = inode.is_some() && other.state.as_ref().map(identity) == inode;
            let same_place = changed.location.is_some() && other.location == changed.location;
            !same_inode && !same_place
        });
    }

    /// Drops everything (after a change whose path is unknown).
    pub fn clear(&self) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.clear();
        }
    }
}

fn identity(stat: &FileStat) -> (u64, u64) {
    (stat.details.dev, stat.details.inode)
}

/// One `stat` for the paths and one for their parents, a loop of shell tests for access
/// rights and links, then one `sha1sum` for the readable regular files.
fn script(paths: &[&str]) -> String {
    let list: String = paths.iter().map(|p| format!(" {}", quote(p))).collect();
    let mut parents: Vec<&str> = paths.iter().map(|p| fileops::parent_dir(p)).collect();
    parents.sort_unstable();
    parents.dedup();
    let parent_list: String = parents.iter().map(|p| format!(" {}", quote(p))).collect();
    format!(
        "LC_ALL=C stat -L -c 'S:{STAT_FORMAT}|%n' --{list} 2>/dev/null; \
         LC_ALL=C stat -L -c 'D:%d:%i|%n' --{parent_list} 2>/dev/null; \
         i=0; for p in{list}; do i=$((i+1)); \
         if [ -e \"$p\" ] || [ -L \"$p\" ]; then \
         printf \"A:$i:\"; [ -r \"$p\" ] && printf r; [ -w \"$p\" ] && printf w; [ -x \"$p\" ] && printf x; echo; \
         [ -L \"$p\" ] && printf 'L:%s:%s\\nR:%s:%s\\n' $i \"$(readlink -- \"$p\")\" $i \"$(readlink -m -- \"$p\")\"; fi; \
         done; \
         set --; for p in{list}; do [ -f \"$p\" ] && [ -r \"$p\" ] && set -- \"$@\" \"$p\"; done; \
         echo {SUMS}; [ $# -eq 0 ] || sha1sum -- \"$@\" 2>/dev/null; true"
    )
}

/// Reads [`script`]'s output into one answer per path.
fn parse(paths: &[&str], output: &str) -> HashMap<String, Answer> {
    let (head, sums) = match output.split_once(&format!("{SUMS}\n")) {
        Some((head, sums)) => (head, sums),
        None => (output, ""),
    };
    let mut stats: HashMap<&str, &str> = HashMap::new();
    let mut dirs: HashMap<&str, &str> = HashMap::new();
    let mut extras: HashMap<usize, Vec<String>> = HashMap::new();
    for line in head.lines() {
        if let Some(rest) = line.strip_prefix("S:") {
            // 15 fields, then the name (which may hold '|').
            if let Some((at, _)) = rest.match_indices('|').nth(14) {
                stats.insert(&rest[at + 1..], &rest[..at]);
            }
        } else if let Some(rest) = line.strip_prefix("D:") {
            if let Some((id, name)) = rest.split_once('|') {
                dirs.insert(name, id);
            }
        } else if let Some((kind, rest)) = line.split_once(':') {
            let Some((index, value)) = rest.split_once(':') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            let prefix = match kind {
                "A" => "P",
                "L" | "R" => kind,
                _ => continue,
            };
            extras
                .entry(index)
                .or_default()
                .push(format!("{prefix}:{value}"));
        }
    }
    let checksums: HashMap<&str, &str> = sums
        .lines()
        .filter_map(|line| line.split_once("  ").map(|(sum, name)| (name, sum)))
        .collect();
    paths
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let mut text = String::new();
            if let Some(line) = stats.get(path) {
                text.push_str(&format!("S:{line}\n"));
                for extra in extras.get(&(i + 1)).into_iter().flatten() {
                    text.push_str(&format!("{extra}\n"));
                }
                if let Some(sum) = checksums.get(path) {
                    text.push_str(&format!("C:{sum}\n"));
                }
            }
            let parent = fileops::parent_dir(path);
            let name = path.rsplit_once('/').map_or(*path, |(_, n)| n);
            let answer = Answer {
                state: fileops::parse_stat(&text),
                parent_exists: dirs.contains_key(parent),
                location: dirs.get(parent).map(|id| format!("{id}/{name}")),
            };
            (path.to_string(), answer)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "regular file|644|0|0|root|root|6|1700000000|1700000001|1700000000.5|1700000001.5|1700000000.5|42|2049|1";

    #[test]
    fn output_becomes_one_answer_per_path() {
        let out =
            format!("S:{FILE}|/srv/a|b\nD:2049:7|/srv\nA:1:rw\nA:2:rw\n{SUMS}\nabc123  /srv/a|b\n");
        let got = parse(&["/srv/a|b", "/srv/missing", "/nodir/x"], &out);
        let a = got["/srv/a|b"].state.clone().expect("exists");
        assert_eq!(a.size, 6);
        assert_eq!(a.checksum.as_deref(), Some("abc123"));
        assert!(a.details.access.is_some_and(|x| x.readable && x.writeable));
        assert!(got["/srv/a|b"].parent_exists);
        assert_eq!(got["/srv/a|b"].location.as_deref(), Some("2049:7/a|b"));
        assert!(got["/srv/missing"].state.is_none());
        assert!(got["/srv/missing"].parent_exists);
        assert!(!got["/nodir/x"].parent_exists);
    }

    #[test]
    fn forgetting_a_path_forgets_the_same_file_under_other_names() {
        let other_inode = FILE.replace("|42|2049|", "|43|2049|");
        let out = format!(
            "S:{FILE}|/a/f\nS:{FILE}|/b/hard\nS:{other_inode}|/c/f\n\
             D:1:10|/a\nD:1:10|/d\nD:1:11|/b\nD:1:12|/c\n{SUMS}\n"
        );
        let prefetched = Prefetched {
            answers: Mutex::new(parse(&["/a/f", "/b/hard", "/c/f", "/d/f"], &out)),
        };
        prefetched.forget("/a/f");
        assert!(prefetched.get("/a/f").is_none());
        assert!(prefetched.get("/b/hard").is_none(), "a hard link to it");
        assert!(
            prefetched.get("/d/f").is_none(),
            "the same name in the same directory"
        );
        assert!(prefetched.get("/c/f").is_some());
        prefetched.forget("/never/asked");
        assert!(prefetched.get("/c/f").is_none());
    }

    #[test]
    fn the_script_names_every_path_once_per_list() {
        let s = script(&["/etc/a b", "/etc/c"]);
        assert_eq!(s.matches("'/etc/a b'").count(), 3);
        assert_eq!(s.matches(" /etc 2>/dev/null").count(), 1, "parents once");
    }
}
