//! The mount sources `mount_facts` reads, parsed as Ansible's module parses them: a
//! file is tried as `vfstab` (7 columns), `mnttab` (a UNIX time in the 5th column),
//! then `fstab`, and the first reading that holds for every line wins; the output of
//! `mount` is read when every line has Linux's `dev on /dir type fs (opts)` shape.

use serde_json::{Map, Value as Json};

/// One mount as a source lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Where it is mounted.
    pub mount: String,
    /// The line (or lines) it was read from.
    pub line: String,
    /// Its fields, in Ansible's order (`device`, `mount`, `fstype`, `options` ...).
    pub fields: Map<String, Json>,
}

/// Why a reading of a file does not hold (Python's `IndexError`/`ValueError`).
struct Mismatch;

/// The entries of a mount file's text, from the first reading that holds.
pub fn file_entries(text: &str) -> Vec<Entry> {
    let text = text.trim();
    if text.is_empty() {
        return Vec::new();
    }
    let lines: Vec<&str> = text.lines().collect();
    vfstab(&lines)
        .or_else(|_| mnttab(&lines))
        .or_else(|_| fstab(&lines))
        .unwrap_or_default()
}

/// `/etc/fstab`: device, mount, type, options, and the optional dump and pass numbers.
fn fstab(lines: &[&str]) -> Result<Vec<Entry>, Mismatch> {
    let mut entries = Vec::new();
    for line in lines {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<String> = line.split_whitespace().map(octal_unescape).collect();
        if fields.len() < 4 {
            return Err(Mismatch);
        }
        let mut map = Map::new();
        for (i, key) in ["device", "mount", "fstype", "options"].iter().enumerate() {
            map.insert(key.to_string(), Json::String(fields[i].clone()));
        }
        for (i, key) in [(4, "dump"), (5, "passno")] {
            let Some(field) = fields.get(i) else {
                break;
            };
            map.insert(key.into(), Json::from(python_int(field).ok_or(Mismatch)?));
        }
        entries.push(Entry {
            mount: fields[1].clone(),
            line: line.to_string(),
            fields: map,
        });
    }
    Ok(entries)
}

/// Solaris' `/etc/vfstab`: seven columns.
fn vfstab(lines: &[&str]) -> Result<Vec<Entry>, Mismatch> {
    let mut entries = Vec::new();
    for line in lines {
        if line.trim().is_empty() || line.trim().starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 7 {
            return Err(Mismatch);
        }
        let passno = python_int(fields[4]).map_or_else(|| Json::from(fields[4]), Json::from);
        let mut map = Map::new();
        map.insert("device".into(), fields[0].into());
        map.insert("device_to_fsck".into(), fields[1].into());
        map.insert("mount".into(), fields[2].into());
        map.insert("fstype".into(), fields[3].into());
        map.insert("passno".into(), passno);
        map.insert("mount_at_boot".into(), fields[5].into());
        map.insert("options".into(), fields[6].into());
        entries.push(Entry {
            mount: fields[2].to_string(),
            line: line.to_string(),
            fields: map,
        });
    }
    Ok(entries)
}

/// Solaris' `/etc/mnttab`: five columns, the last a UNIX time of 10 digits.
fn mnttab(lines: &[&str]) -> Result<Vec<Entry>, Mismatch> {
    let split: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let mut any_time = false;
    for fields in &split {
        match fields.get(4) {
            Some(time) if time.chars().count() == 10 => {
                any_time = true;
                break;
            }
            Some(_) => {}
            None => return Err(Mismatch),
        }
    }
    if !any_time {
        return Err(Mismatch);
    }
    let mut entries = Vec::new();
    for (line, fields) in lines.iter().zip(&split) {
        let time = fields.get(4).and_then(|t| python_int(t)).ok_or(Mismatch)?;
        let mut map = Map::new();
        for (i, key) in ["device", "mount", "fstype", "options"].iter().enumerate() {
            map.insert(key.to_string(), fields[i].into());
        }
        map.insert("time".into(), Json::from(time));
        entries.push(Entry {
            mount: fields[1].to_string(),
            line: line.to_string(),
            fields: map,
        });
    }
    Ok(entries)
}

/// The entries of `mount`'s output, when every line has Linux's shape; none otherwise.
pub fn mount_output_entries(stdout: &str) -> Vec<Entry> {
    let parsed: Option<Vec<Entry>> = stdout.lines().map(linux_mount_line).collect();
    parsed.unwrap_or_default()
}

/// `^(\S+) on (\S+) type (\S+) \((.+)\)$`.
fn linux_mount_line(line: &str) -> Option<Entry> {
    let (device, rest) = line.split_once(" on ")?;
    let (mount, rest) = rest.split_once(" type ")?;
    let (fstype, rest) = rest.split_once(" (")?;
    let options = rest.strip_suffix(')')?;
    let plain = |s: &str| !s.is_empty() && !s.contains(char::is_whitespace);
    if !plain(device) || !plain(mount) || !plain(fstype) || options.is_empty() {
        return None;
    }
    let mut map = Map::new();
    map.insert("device".into(), device.into());
    map.insert("mount".into(), mount.into());
    map.insert("fstype".into(), fstype.into());
    map.insert("options".into(), options.into());
    Some(Entry {
        mount: mount.to_string(),
        line: line.to_string(),
        fields: map,
    })
}

/// `\040` and the other three-digit octal escapes of mount files, decoded.
fn octal_unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < bytes.len() {
        let escape = bytes
            .get(i..i + 4)
            .filter(|b| b[0] == b'\\' && b[1..].iter().all(|d| (b'0'..=b'7').contains(d)));
        match escape {
            Some(digits) => {
                let code = digits[1..]
                    .iter()
                    .fold(0u32, |n, d| n * 8 + u32::from(d - b'0'));
                out.extend(char::from_u32(code));
                i += 4;
            }
            None => {
                let ch = field[i..].chars().next().unwrap_or_default();
                out.push(ch);
                i += ch.len_utf8().max(1);
            }
        }
    }
    out
}

/// Python's `int()` of a text: optional sign, digits, surrounding blanks.
fn python_int(text: &str) -> Option<i64> {
    text.trim().replace('_', "").parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proc_mounts_read_as_fstab_with_escapes_decoded() {
        let entries =
            file_entries("/dev/vda / ext4 rw,relatime 0 0\nmy\\040disk /mnt/a\\040b vfat ro 0 2\n");
        assert_eq!(entries.len(), 2);
        assert_eq!(
            Json::Object(entries[1].fields.clone()),
            json!({"device": "my disk", "mount": "/mnt/a b", "fstype": "vfat",
                   "options": "ro", "dump": 0, "passno": 2})
        );
        assert_eq!(entries[1].line, "my\\040disk /mnt/a\\040b vfat ro 0 2");
    }

    #[test]
    fn fstab_comments_are_skipped_and_the_numbers_are_optional() {
        let entries =
            file_entries("# static\n\nUUID=abc /data ext4 defaults\nproc /proc proc defaults 0\n");
        assert_eq!(entries[0].fields.get("dump"), None);
        assert_eq!(entries[1].fields.get("dump"), Some(&json!(0)));
        assert_eq!(entries[1].fields.get("passno"), None);
        assert!(file_entries("# UNCONFIGURED FSTAB\n").is_empty());
        assert!(file_entries("ext4\nvfat\n").is_empty(), "not a mount table");
    }

    #[test]
    fn a_bad_number_makes_the_fstab_reading_fail_whole() {
        assert!(file_entries("/dev/a /a ext4 rw x 0\n/dev/b /b ext4 rw 0 0\n").is_empty());
    }

    #[test]
    fn mnttab_needs_a_unix_time() {
        let entries = file_entries("/dev/dsk/c0 / ufs rw,intr 1700000000\n");
        assert_eq!(entries[0].fields.get("time"), Some(&json!(1700000000)));
    }

    #[test]
    fn mount_output_is_read_only_when_every_line_is_linux_shaped() {
        let entries = mount_output_entries(
            "proc on /proc type proc (rw,nosuid)\n/dev/vda on / type ext4 (rw,relatime)\n",
        );
        assert_eq!(entries.len(), 2);
        assert_eq!(
            entries[1].fields.get("options"),
            Some(&json!("rw,relatime"))
        );
        assert!(mount_output_entries("proc on /proc type proc (rw)\nweird line\n").is_empty());
    }
}
