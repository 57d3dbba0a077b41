//! What an archive holds, compared as community.general's `archive` compares an
//! archive before and after it rewrites it: a tar archive by its members' headers
//! (the module's set of `(name, chksum)`: name, type, mode, owner, size, time and
//! link), a zip archive by `(name, CRC)`. The members an archive would have are
//! described from the walk of the sources in the same terms as the listing of an
//! existing archive (`tar -tv`, `unzip -v`), so the two compare as sets.

use std::collections::BTreeSet;

use time::OffsetDateTime;
use time::macros::format_description;

/// One path the walk of the sources found (`find -printf`).
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The path on the target.
    pub path: String,
    /// `find`'s `%y`: `f`, `d`, `l`, `c`, `b`, `p`, `s`.
    pub kind: char,
    /// `%Y`: the type a link leads to (the same as `kind` for other entries).
    pub leads_to: char,
    /// Permission bits.
    pub mode: u32,
    /// Owner and group ids.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, whole seconds.
    pub mtime: i64,
    /// Hard link count.
    pub nlink: u64,
    /// Device and inode, for hard links.
    pub inode: String,
    /// A symbolic link's target.
    pub link: String,
}

/// A member of a tar archive as `tar -tv --numeric-owner --full-time` lists it.
pub fn tar_line(
    kind: char,
    mode: u32,
    owner: &str,
    size: &str,
    mtime: &str,
    name: &str,
    link: Option<(&str, &str)>,
) -> String {
    let name = name.trim_end_matches('/');
    let link = link.map_or(String::new(), |(how, to)| format!(" {how} {to}"));
    format!(
        "{}{} {owner} {size} {mtime} {name}{link}",
        kind,
        perms(mode)
    )
}

/// `ls`-style permissions (`rwxr-sr-t`).
fn perms(mode: u32) -> String {
    let mut out = String::new();
    for (shift, special, set, unset) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (mode >> shift) & 7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(match (bits & 1 != 0, mode & special != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    out
}

/// `mtime` as `tar --full-time` prints it in UTC.
fn full_time(mtime: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp(mtime)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| mtime.to_string())
}

/// The listing lines of `members` (arcname, entry) as GNU tar writes them: a file
/// whose inode was written before is a hard link to its first name; sockets are left
/// out, as both tar and Python's tarfile leave them.
pub fn expected_tar(members: &[(String, &Entry)]) -> BTreeSet<String> {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    let mut lines = BTreeSet::new();
    for (name, entry) in members {
        let owner = format!("{}/{}", entry.uid, entry.gid);
        let time = full_time(entry.mtime);
        let line = match entry.kind {
            'f' if entry.nlink > 1 => match seen.iter().find(|(inode, _)| *inode == entry.inode) {
                Some((_, first)) => tar_line(
                    'h',
                    entry.mode,
                    &owner,
                    "0",
                    &time,
                    name,
                    Some(("link to", first)),
                ),
                None => {
                    seen.push((&entry.inode, name));
                    tar_line(
                        '-',
                        entry.mode,
                        &owner,
                        &entry.size.to_string(),
                        &time,
                        name,
                        None,
                    )
                }
            },
            'f' => tar_line(
                '-',
                entry.mode,
                &owner,
                &entry.size.to_string(),
                &time,
                name,
                None,
            ),
            'd' => tar_line('d', entry.mode, &owner, "0", &time, name, None),
            'l' => tar_line(
                'l',
                entry.mode,
                &owner,
                "0",
                &time,
                name,
                Some(("->", &entry.link)),
            ),
            'p' => tar_line('p', entry.mode, &owner, "0", &time, name, None),
            'c' | 'b' => tar_line(entry.kind, entry.mode, &owner, "*", &time, name, None),
            _ => continue,
        };
        lines.insert(line);
    }
    lines
}

/// The members `tar -tv --numeric-owner --full-time` lists, in the same form as
/// [`expected_tar`] (names without a trailing `/`, devices without their numbers).
pub fn listed_tar(listing: &str) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    for line in listing.lines() {
        let Some((fields, rest)) = split_fields(line, 5) else {
            continue;
        };
        let mut chars = fields[0].chars();
        let kind = chars.next().unwrap_or('?');
        let mode = chars.as_str();
        let size = if matches!(kind, 'c' | 'b') {
            "*"
        } else {
            fields[2]
        };
        let (name, link) = match kind {
            'l' => rest
                .split_once(" -> ")
                .map_or((rest, None), |(n, l)| (n, Some(("->", l)))),
            'h' => rest
                .split_once(" link to ")
                .map_or((rest, None), |(n, l)| (n, Some(("link to", l)))),
            _ => (rest, None),
        };
        let name = name.trim_end_matches('/');
        let link = link.map_or(String::new(), |(how, to)| format!(" {how} {to}"));
        lines.insert(format!(
            "{kind}{mode} {} {size} {} {} {name}{link}",
            fields[1], fields[3], fields[4]
        ));
    }
    lines
}

/// The members of a zip archive as `unzip -v` lists them: `(name, CRC)`.
pub fn listed_zip(listing: &str) -> BTreeSet<String> {
    let mut lines = BTreeSet::new();
    let mut inside = false;
    for line in listing.lines() {
        if line.starts_with("--------") {
            if inside {
                break;
            }
            inside = true;
            continue;
        }
        if let (true, Some((fields, name))) = (inside, split_fields(line, 7)) {
            lines.insert(format!("{} {name}", fields[6].to_lowercase()));
        }
    }
    lines
}

/// The `(name, CRC)` pairs Python's zipfile writes for `members`: directories as
/// `name/` with CRC 0, everything else by the CRC of its content (`crc` of its path).
pub fn expected_zip(
    members: &[(String, &Entry)],
    crc: impl Fn(&str) -> Option<u32>,
) -> BTreeSet<String> {
    members
        .iter()
        .map(|(name, entry)| match entry.leads_to {
            'd' => format!("00000000 {name}/"),
            _ => format!("{:08x} {name}", crc(&entry.path).unwrap_or(0)),
        })
        .collect()
}

/// The first `n` white-space separated fields of `line` and the text after them.
fn split_fields(line: &str, n: usize) -> Option<(Vec<&str>, &str)> {
    let mut fields = Vec::with_capacity(n);
    let mut rest = line.trim_start();
    for _ in 0..n {
        let end = rest.find(char::is_whitespace)?;
        fields.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    Some((fields, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: char, mode: u32, size: u64) -> Entry {
        Entry {
            path: path.into(),
            kind,
            leads_to: kind,
            mode,
            uid: 0,
            gid: 0,
            size,
            mtime: 1_700_000_000,
            nlink: 1,
            inode: format!("1:{path}"),
            link: String::new(),
        }
    }

    #[test]
    fn expected_members_read_as_gnu_tar_lists_them() {
        let dir = entry("/s/app", 'd', 0o2755, 4096);
        let file = entry("/s/app/a b", 'f', 0o644, 5);
        let mut link = entry("/s/app/l", 'l', 0o777, 3);
        link.link = "a b".into();
        let mut first = entry("/s/app/h1", 'f', 0o600, 2);
        first.nlink = 2;
        first.inode = "9:9".into();
        let second = Entry {
            path: "/s/app/h2".into(),
            ..first.clone()
        };
        let members = vec![
            ("app".to_string(), &dir),
            ("app/a b".to_string(), &file),
            ("app/l".to_string(), &link),
            ("app/h1".to_string(), &first),
            ("app/h2".to_string(), &second),
        ];
        let listing = "drwxr-sr-x 0/0               0 2023-11-14 22:13:20 app/\n\
                       -rw-r--r-- 0/0               5 2023-11-14 22:13:20 app/a b\n\
                       lrwxrwxrwx 0/0               0 2023-11-14 22:13:20 app/l -> a b\n\
                       -rw------- 0/0               2 2023-11-14 22:13:20 app/h1\n\
                       hrw------- 0/0               0 2023-11-14 22:13:20 app/h2 link to app/h1\n";
        assert_eq!(expected_tar(&members), listed_tar(listing));
        let touched = listing.replace(
            "5 2023-11-14 22:13:20 app/a b",
            "5 2023-11-14 22:13:21 app/a b",
        );
        assert_ne!(expected_tar(&members), listed_tar(&touched));
    }

    #[test]
    fn zip_members_compare_by_name_and_crc() {
        let listing = " Length   Method    Size  Cmpr    Date    Time   CRC-32   Name\n\
                       --------  ------  ------- ---- ---------- ----- --------  ----\n\
                              0  Stored        0   0% 2024-01-01 00:00 00000000  app/\n\
                              6  Defl:N        8 -33% 2024-01-01 00:00 363A3020  app/x y\n\
                       --------          -------  ---                            -------\n\
                              6                8 -33%                            2 files\n";
        let dir = entry("/s/app", 'd', 0o755, 0);
        let file = entry("/s/app/x y", 'f', 0o644, 6);
        let members = vec![("app".to_string(), &dir), ("app/x y".to_string(), &file)];
        let expected = expected_zip(&members, |p| (p == "/s/app/x y").then_some(0x363a3020));
        assert_eq!(expected, listed_zip(listing));
    }

    #[test]
    fn permissions_read_as_ls_shows_them() {
        assert_eq!(perms(0o644), "rw-r--r--");
        assert_eq!(perms(0o4755), "rwsr-xr-x");
        assert_eq!(perms(0o1644), "rw-r--r-T");
    }
}
