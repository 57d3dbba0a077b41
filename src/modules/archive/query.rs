//! `archive`'s query, one round trip: the destination (its stat and its listing:
//! `tar -tv`, `unzip -v`, or the checksum of its decompressed content), the source
//! paths expanded as the module's `glob` does, and a walk of each (`find -printf`,
//! with each file's CRC-32 for zip, read from `gzip`'s trailer).

use std::collections::HashMap;

use super::members::Entry;
use super::{ArchiveArgs, Format};
use crate::connection::quote;
use crate::modules::fileops::{self, Attributes, FileStat};

/// Where the line sections end and the NUL-separated records begin.
const RECORDS: &[u8] = b"\x01records\n";

/// What `find -printf` prints of an entry, NUL-separated (see [`Entry`]).
const ENTRY_FORMAT: &str = r"%p\0%y\0%Y\0%m\0%U\0%G\0%s\0%T@\0%n\0%D:%i\0%l\0";

/// What the query found.
#[derive(Debug, Default)]
pub struct Found {
    /// `path` expanded, in order.
    pub expanded: Vec<String>,
    /// `exclude_path` expanded.
    pub excluded: Vec<String>,
    /// Each directory among the expanded paths, with the entries below it.
    pub walks: HashMap<String, Vec<Entry>>,
    /// Each other expanded path: the entry, or `None` when nothing is there.
    pub tops: HashMap<String, Option<Entry>>,
    /// CRC-32 of regular files' content (zip).
    pub crcs: HashMap<String, u32>,
    /// The destination, when it exists.
    pub dest: Option<FileStat>,
    /// The destination's member listing.
    pub listing: String,
    /// Whether listing the destination worked.
    pub listing_ok: bool,
    /// Whether `unzip` is there (to list a zip destination).
    pub unzip: bool,
    /// SHA-1 of the destination's decompressed content.
    pub content_sum: Option<String>,
    /// SHA-1 of the single source file.
    pub source_sum: Option<String>,
}

/// A path for the shell: quoted, but for `*` and `?` where the module globs.
fn glob_word(path: &str) -> String {
    if !ArchiveArgs::globby(path) {
        return quote(path);
    }
    let mut out = String::new();
    let mut literal = String::new();
    for c in path.chars() {
        if c == '*' || c == '?' {
            if !literal.is_empty() {
                out.push_str(&quote(&std::mem::take(&mut literal)));
            }
            out.push(c);
        } else {
            literal.push(c);
        }
    }
    if !literal.is_empty() {
        out.push_str(&quote(&literal));
    }
    out
}

/// The query script.
pub fn script(args: &ArchiveArgs, attributes: &Attributes) -> String {
    let mut s = String::from("LC_ALL=C; export LC_ALL; ");
    if let Some(dest) = args.dest_guess() {
        let d = quote(&dest);
        s.push_str("printf '@@dest\\n'; ");
        s.push_str(&fileops::stat_script(&dest, false, false));
        s.push_str("; ");
        s.push_str(&attributes.probe(&dest));
        s.push_str(&format!("if [ -f {d} ]; then "));
        match args.format {
            Format::Zip => s.push_str(&format!(
                "if command -v unzip >/dev/null; then printf '@@unzip\\n@@list\\n'; unzip -v {d} 2>/dev/null; printf '@@listrc\\n%s\\n' $?; fi; "
            )),
            format => {
                s.push_str(&format!(
                    "printf '@@list\\n'; l=$(TZ=UTC0 tar -tv --numeric-owner --full-time --quoting-style=literal -f {d} 2>/dev/null); r=$?; \
                     [ -n \"$l\" ] && printf '%s\\n' \"$l\"; printf '@@listrc\\n%s\\n' $r; "
                ));
                let tool = match format {
                    Format::Bz2 => Some("bzip2"),
                    Format::Xz => Some("xz"),
                    Format::Gz => Some("gzip"),
                    _ => None,
                };
                if let Some(tool) = tool {
                    s.push_str(&format!(
                        "if [ $r -ne 0 ] || [ -z \"$l\" ]; then printf '@@sum\\n'; {{ {tool} -dc < {d} 2>/dev/null || echo failed; }} | sha1sum; fi; "
                    ));
                }
            }
        }
        s.push_str("fi; ");
    }
    if let [one] = args.path.as_slice()
        && !ArchiveArgs::globby(one)
    {
        let p = quote(one);
        s.push_str(&format!(
            "[ -f {p} ] && {{ printf '@@srcsum\\n'; sha1sum < {p}; }}; "
        ));
    }
    let crc = match args.format {
        Format::Zip => {
            "find -H \"$1\" \\( -type f -o -xtype f \\) -exec sh -c 'for f; do printf \"C\\0%s\\0\" \"$f\"; gzip -c < \"$f\" 2>/dev/null | tail -c 8 | od -An -tu1 -N4 | tr -s \" \\n\" \"  \"; printf \"\\0\"; done' sh {} + 2>/dev/null; "
        }
        _ => "",
    };
    s.push_str(&format!(
        "printf '\\001records\\n'; emit() {{ printf 'P\\0%s\\0' \"$1\"; \
         if [ -d \"$1\" ]; then printf 'D\\0%s\\0' \"$1\"; find -H \"$1\" -mindepth 1 -printf 'W\\0{ENTRY_FORMAT}' 2>/dev/null; \
         elif [ -e \"$1\" ] || [ -L \"$1\" ]; then find \"$1\" -maxdepth 0 -printf 'T\\0{ENTRY_FORMAT}'; \
         else printf 'M\\0%s\\0' \"$1\"; fi; {crc}}}; "
    ));
    for path in &args.path {
        s.push_str(&expand(path, "emit \"$f\""));
    }
    for path in &args.exclude_path {
        s.push_str(&expand(path, "printf 'Q\\0%s\\0' \"$f\""));
    }
    s
}

/// Runs `action` on each path `path` expands to: the matches of a glob, or the path.
fn expand(path: &str, action: &str) -> String {
    match ArchiveArgs::globby(path) {
        true => format!(
            "for f in {}; do if [ -e \"$f\" ] || [ -L \"$f\" ]; then {action}; fi; done; ",
            glob_word(path)
        ),
        false => format!("f={}; {action}; ", quote(path)),
    }
}

/// Reads an entry from its fields.
fn entry(fields: &[&str]) -> Option<Entry> {
    let char_of = |s: &str| s.chars().next().unwrap_or('?');
    Some(Entry {
        path: fields.first()?.to_string(),
        kind: char_of(fields.get(1)?),
        leads_to: char_of(fields.get(2)?),
        mode: u32::from_str_radix(fields.get(3)?, 8).ok()?,
        uid: fields.get(4)?.parse().ok()?,
        gid: fields.get(5)?.parse().ok()?,
        size: fields.get(6)?.parse().ok()?,
        mtime: fields.get(7)?.split('.').next()?.parse().ok()?,
        nlink: fields.get(8)?.parse().ok()?,
        inode: fields.get(9)?.to_string(),
        link: fields.get(10)?.to_string(),
    })
}

/// Reads the query's output.
pub fn parse(out: &[u8]) -> Found {
    let at = out
        .windows(RECORDS.len())
        .position(|w| w == RECORDS)
        .unwrap_or(out.len());
    let head = String::from_utf8_lossy(&out[..at]);
    let records = String::from_utf8_lossy(out.get(at + RECORDS.len()..).unwrap_or_default());
    let mut found = Found::default();
    let mut sections: HashMap<&str, String> = HashMap::new();
    let mut current = "";
    for line in head.split_inclusive('\n') {
        match line.trim_end().strip_prefix("@@") {
            Some(name) => current = name,
            None => sections.entry(current).or_default().push_str(line),
        }
        if current == "unzip" {
            found.unzip = true;
        }
    }
    found.dest = sections.get("dest").and_then(|s| fileops::parse_stat(s));
    found.listing = sections.remove("list").unwrap_or_default();
    found.listing_ok = sections.get("listrc").is_some_and(|rc| rc.trim() == "0");
    let sum = |name: &str| {
        sections
            .get(name)
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_string)
    };
    found.content_sum = sum("sum");
    found.source_sum = sum("srcsum");
    let fields: Vec<&str> = records.split('\0').collect();
    let mut i = 0;
    let mut walk: Option<String> = None;
    while i < fields.len() {
        let rest = &fields[i + 1..];
        match fields[i] {
            "P" => {
                found.expanded.extend(rest.first().map(|p| p.to_string()));
                i += 2;
            }
            "Q" => {
                found.excluded.extend(rest.first().map(|p| p.to_string()));
                i += 2;
            }
            "D" => {
                let top = rest.first().map(|p| p.to_string()).unwrap_or_default();
                found.walks.entry(top.clone()).or_default();
                walk = Some(top);
                i += 2;
            }
            "M" => {
                found
                    .tops
                    .extend(rest.first().map(|p| (p.to_string(), None)));
                i += 2;
            }
            "T" => {
                if let Some(entry) = entry(rest) {
                    found.tops.insert(entry.path.clone(), Some(entry));
                }
                i += 12;
            }
            "W" => {
                if let (Some(entry), Some(top)) = (entry(rest), &walk) {
                    found.walks.entry(top.clone()).or_default().push(entry);
                }
                i += 12;
            }
            "C" => {
                let bytes: Vec<u32> = rest
                    .get(1)
                    .map(|b| {
                        b.split_whitespace()
                            .filter_map(|x| x.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                if let (Some(path), [a, b, c, d]) = (rest.first(), bytes.as_slice()) {
                    found
                        .crcs
                        .insert(path.to_string(), a | b << 8 | c << 16 | d << 24);
                }
                i += 3;
            }
            _ => i += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_keep_only_their_wildcards_bare() {
        assert_eq!(glob_word("/s/my dir/*.log"), "'/s/my dir/'*.log");
        assert_eq!(glob_word("/s/[x]"), "'/s/[x]'");
    }

    #[test]
    fn records_and_sections_are_read_apart() {
        let out = "@@dest\nS:missing\n@@srcsum\nabc  -\n\x01records\nP~/s~D~/s~W~/s/a~f~f~644~0~0~1~1.5~1~1:2~~C~/s/a~ 32 48 58 54 ~M~/gone~".replace('~', "\0");
        let found = parse(out.as_bytes());
        assert!(found.dest.is_none());
        assert_eq!(found.source_sum.as_deref(), Some("abc"));
        assert_eq!(found.expanded, ["/s"]);
        assert_eq!(found.walks["/s"][0].path, "/s/a");
        assert_eq!(found.walks["/s"][0].mtime, 1);
        assert_eq!(found.crcs["/s/a"], 0x363a3020);
        assert_eq!(found.tops["/gone"], None);
    }
}
