//! `find`'s criteria: the arguments read and checked, and the tests an entry must pass.

use crate::pyre::Pattern as Regex;
use serde_json::{Value as Json, json};

use super::FindArgs;
use super::listing::Entry;
use super::probe::Probe;
use crate::modules::fileops::{self, FileKind, FileStat};
use crate::modules::{Outcome, failed};
use crate::pyre::{self, Anchor};

/// The module's arguments, checked and converted.
pub(super) struct Criteria {
    patterns: Vec<Matcher>,
    excludes: Vec<Matcher>,
    pub(super) contains: Option<Regex>,
    read_whole_file: bool,
    encoding: Option<String>,
    file_type: String,
    age: Option<i64>,
    age_stamp: String,
    size: Option<i64>,
    pub(super) recurse: bool,
    pub(super) hidden: bool,
    pub(super) follow: bool,
    pub(super) checksum: Option<String>,
    pub(super) depth: Option<i64>,
    mode: Option<u32>,
    exact_mode: bool,
    pub(super) limit: Option<usize>,
}

impl Criteria {
    /// Reads the arguments; a failed outcome in Ansible's words when one is wrong.
    pub(super) fn from_args(args: &FindArgs) -> Result<Criteria, Outcome> {
        let use_regex = args.use_regex;
        let matchers = |patterns: &[String]| -> Result<Vec<Matcher>, Outcome> {
            patterns
                .iter()
                .map(|p| Matcher::new(p, use_regex).map_err(failed))
                .collect()
        };
        let default = [if use_regex { ".*" } else { "*" }.to_string()];
        let patterns = match args.patterns.as_slice() {
            [] => matchers(&default)?,
            given => matchers(given)?,
        };
        let excludes = matchers(&args.excludes)?;
        let anchor = if args.read_whole_file {
            Anchor::Search
        } else {
            Anchor::Start
        };
        let contains = match &args.contains {
            Some(pattern) => Some(compile(pattern, anchor).map_err(failed)?),
            None => None,
        };
        let age = match &args.age {
            Some(text) => Some(parse_age(text).ok_or_else(|| {
                let mut outcome = failed("failed to process age");
                outcome.insert("age".into(), json!(text));
                outcome
            })?),
            None => None,
        };
        let size = match &args.size {
            Some(text) => Some(parse_size(text).ok_or_else(|| {
                let mut outcome = failed("failed to process size");
                outcome.insert("size".into(), json!(text));
                outcome
            })?),
            None => None,
        };
        let mode = match &args.mode {
            Json::Null => None,
            value => parse_mode_filter(value).map_err(failed)?,
        };
        let limit = match args.limit {
            Some(limit) if limit <= 0 => {
                return Err(failed(format!(
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
            read_whole_file: args.read_whole_file,
            encoding: args.encoding.clone(),
            file_type: args.file_type.clone(),
            age,
            age_stamp: args.age_stamp.clone(),
            size,
            recurse: args.recurse,
            hidden: args.hidden,
            follow: args.follow,
            checksum: args.get_checksum.then(|| args.checksum_algorithm.clone()),
            depth: args.depth.filter(|d| *d != 0),
            mode,
            exact_mode: args.exact_mode,
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
    pub(super) fn mode_matches(&self, stat: &FileStat) -> bool {
        match self.mode {
            None => true,
            Some(mode) if self.exact_mode => stat.mode & 0o7777 == mode,
            Some(mode) => stat.mode & mode != 0,
        }
    }

    /// Whether an entry passes every test that needs no file content, and whether its
    /// content must be searched too.
    pub(super) fn selects(&self, entry: &Entry, now: f64) -> Selection {
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
    pub(super) fn content_matches(
        &self,
        entry: &Entry,
        probe: Option<&Probe>,
    ) -> Result<bool, String> {
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
            regex.is_match(&text).unwrap_or(false)
        } else {
            text.lines()
                .any(|line| regex.is_match(line).unwrap_or(false))
        })
    }
}

/// The verdict on one entry before its content is known.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Selection {
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
            Matcher::Regex(regex) => regex.is_match(name).unwrap_or(false),
        }
    }
}

/// Compiles a Python regex the way `re.match` (`Start`) or `re.search` uses it.
fn compile(pattern: &str, anchor: Anchor) -> Result<Regex, String> {
    pyre::compile(pattern, pyre::Flags::default(), anchor)
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
            crate::modules::args::json_type(value)
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

/// File content as text in `encoding` (UTF-8 when not given; other names as the
/// WHATWG labels `encoding_rs` knows: gbk, shift_jis, euc-kr, cp1252 ...): `Ok(None)`
/// when it does not decode, an error for an encoding bosun does not know.
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
        other => match encoding_rs::Encoding::for_label(other.as_bytes()) {
            Some(codec) => Ok(codec
                .decode_without_bom_handling_and_without_replacement(bytes)
                .map(|text| text.into_owned())),
            None => Err(format!(
                "unknown encoding: {}",
                encoding.unwrap_or_default()
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::find::test_support::{criteria, entry};

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
            let parsed: FindArgs =
                crate::modules::typed::from_json(args.clone()).expect("valid arguments");
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
                &b"\xc4\xe3\xba\xc3"[..],
                Some("gbk"),
                Ok(Some("你好".to_string())),
            ),
            (&b"\xc4\xe3\xba\xc3"[..], Some("utf-8"), Ok(None)),
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
}
