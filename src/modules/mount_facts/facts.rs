//! From what the target's sources say to `mount_points` and `aggregate_mounts`: which
//! sources count (each real file once; `mount` only when the dynamic files list
//! nothing), which mounts the filters keep, their sizes and UUIDs, and the
//! de-duplication, each step as Ansible's module takes it.

use serde_json::{Map, Value as Json, json};

use super::parse::{Entry, file_entries, mount_output_entries};
use super::{DYNAMIC_SOURCES, OnTimeout, Read};
use crate::template::pyfmt::py_repr;

/// The mounts the sources list, and whether `mount` must be read too.
pub struct Found {
    /// Each mount with the source that listed it.
    entries: Vec<(String, Entry)>,
    /// The dynamic sources listed nothing and a mount binary is set.
    pub needs_mount_binary: bool,
}

/// Whether a source is named twice.
pub fn has_duplicates(sources: &[String]) -> bool {
    let mut seen = std::collections::HashSet::new();
    !sources.iter().all(|s| seen.insert(s))
}

/// The mounts of the sources read, each real file counted once (so `/proc/mounts`,
/// which is `/etc/mtab` on Linux, adds nothing after it).
pub fn gather(sources: &[String], read: &Read, mount_binary: bool) -> Result<Found, String> {
    let is_dynamic = |s: &str| DYNAMIC_SOURCES.contains(&s);
    let mut needs_mount_binary = mount_binary && sources.iter().any(|s| is_dynamic(s));
    let mut seen: Vec<&str> = Vec::new();
    let mut entries = Vec::new();
    let mut file = 0;
    for source in sources {
        let results = if source == "mount" {
            if seen.contains(&"mount") {
                continue;
            }
            seen.push("mount");
            let output = read.mount.as_deref().unwrap_or_default();
            mount_binary_output(output, "mount")?;
            mount_output_entries(output)
        } else {
            let index = file;
            file += 1;
            let real = read.real.get(index).map_or(source.as_str(), String::as_str);
            if seen.contains(&source.as_str()) || seen.contains(&real) {
                continue;
            }
            seen.push(real);
            file_entries(read.texts.get(index).map_or("", String::as_str))
        };
        if !results.is_empty() && (source == "mount" || is_dynamic(source)) {
            needs_mount_binary = false;
        }
        entries.extend(results.into_iter().map(|e| (source.clone(), e)));
    }
    Ok(Found {
        entries,
        needs_mount_binary,
    })
}

/// Refuses `mount`'s output when the binary was missing or failed.
fn mount_binary_output(output: &str, binary: &str) -> Result<(), String> {
    if output.lines().any(|l| l == "@@missing") {
        return Err(format!(
            "Failed to find required executable \"{binary}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        ));
    }
    if output.lines().any(|l| l == "@@failed") {
        return Err(format!("Failed to execute {binary}"));
    }
    Ok(())
}

/// One mount the filters kept, with what its measure needs.
#[derive(Debug)]
pub struct Kept {
    source: String,
    entry: Entry,
    /// Where it is mounted.
    pub mount: String,
    /// Its device (the one a `UUID=` names, when `blkid` found it).
    pub device: String,
    /// The UUID of a `UUID=` device.
    pub uuid: Option<String>,
    fstype: String,
}

impl Found {
    /// Adds what the mount binary listed, as the source `mount`.
    pub fn add_mount_output(&mut self, stdout: &str) {
        let entries = mount_output_entries(stdout);
        self.entries
            .extend(entries.into_iter().map(|e| ("mount".to_string(), e)));
    }

    /// The UUIDs that `UUID=` devices name, each once.
    pub fn uuids(&self) -> Vec<String> {
        let mut uuids: Vec<String> = Vec::new();
        for (_, entry) in &self.entries {
            if let Some(uuid) = field(&entry.fields, "device").strip_prefix("UUID=")
                && !uuids.iter().any(|u| u == uuid)
            {
                uuids.push(uuid.to_string());
            }
        }
        uuids
    }

    /// The mounts whose device and type match the patterns (all, when none are given).
    pub fn filter(
        self,
        by_uuid: &Map<String, Json>,
        devices: &[String],
        fstypes: &[String],
    ) -> Vec<Kept> {
        let any = |patterns: &[String], value: &str| {
            patterns.is_empty() || patterns.iter().any(|p| crate::glob::matches(p, value))
        };
        let mut kept = Vec::new();
        for (source, entry) in self.entries {
            let mut device = field(&entry.fields, "device").to_string();
            let fstype = field(&entry.fields, "fstype").to_string();
            let uuid = device.strip_prefix("UUID=").map(str::to_string);
            if let Some(found) = uuid
                .as_ref()
                .and_then(|u| by_uuid.get(u))
                .and_then(Json::as_str)
            {
                device = found.to_string();
            }
            if !any(devices, &device) || !any(fstypes, &fstype) {
                continue;
            }
            kept.push(Kept {
                source,
                mount: entry.mount.clone(),
                entry,
                device,
                uuid,
                fstype,
            });
        }
        kept
    }
}

/// A field of a parsed entry as text.
fn field<'a>(fields: &'a Map<String, Json>, key: &str) -> &'a str {
    fields.get(key).and_then(Json::as_str).unwrap_or_default()
}

/// Warnings for the task's result.
type Warnings = Vec<String>;

/// What the last round trip measured for one mount.
#[derive(Debug, PartialEq)]
pub struct Measured {
    /// `stat -f`: fundamental block size, blocks, blocks available, block size,
    /// inodes, inodes free; `None` when it failed.
    stat: Option<[i64; 6]>,
    /// `stat -f` ran out of time.
    timed_out: bool,
    /// The partition's UUID, when it was looked up (`Some(null)` when not found).
    partition_uuid: Option<Json>,
}

/// Reads the last round trip's output: per mount, `@@mount`, the `stat -f` line,
/// `@@rc N`, then `U<uuid>`, `N` (none) or `S` (not looked up).
pub fn parse_measures(stdout: &str, count: usize) -> Vec<Measured> {
    let mut measured: Vec<Measured> = Vec::new();
    for line in stdout.lines() {
        if line == "@@mount" {
            measured.push(Measured {
                stat: None,
                timed_out: false,
                partition_uuid: None,
            });
            continue;
        }
        let Some(current) = measured.last_mut() else {
            continue;
        };
        if let Some(rc) = line.strip_prefix("@@rc ") {
            current.timed_out = rc == "124";
            if rc != "0" {
                current.stat = None;
            }
        } else if line == "N" {
            current.partition_uuid = Some(Json::Null);
        } else if line == "S" {
        } else if let Some(uuid) = line.strip_prefix('U') {
            current.partition_uuid = Some(Json::String(uuid.to_string()));
        } else {
            let numbers: Vec<i64> = line
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            current.stat = <[i64; 6]>::try_from(numbers).ok();
        }
    }
    measured.resize_with(count, || Measured {
        stat: None,
        timed_out: false,
        partition_uuid: None,
    });
    measured
}

/// Each kept mount's facts: its fields, its sizes, where it was read and its UUID; a
/// size that timed out fails (`error`) or is left out, with a warning (`warn`).
pub fn finish(
    kept: Vec<Kept>,
    measured: Vec<Measured>,
    on_timeout: OnTimeout,
) -> Result<(Vec<Map<String, Json>>, Warnings), String> {
    let mut mounts = Vec::new();
    let mut warnings = Vec::new();
    for (mount, measure) in kept.into_iter().zip(measured) {
        let mut fields = mount.entry.fields;
        if measure.timed_out {
            let message = format!(
                "Timed out getting mount size for mount {} (type {})",
                mount.mount, mount.fstype
            );
            match on_timeout {
                OnTimeout::Error => return Err(message),
                OnTimeout::Warn => warnings.push(message),
                OnTimeout::Ignore => {}
            }
        }
        if let Some([frsize, blocks, bavail, bsize, files, ffree]) = measure.stat {
            for (key, value) in [
                ("size_total", frsize * blocks),
                ("size_available", frsize * bavail),
                ("block_size", bsize),
                ("block_total", blocks),
                ("block_available", bavail),
                ("block_used", blocks - bavail),
                ("inode_total", files),
                ("inode_available", ffree),
                ("inode_used", files - ffree),
            ] {
                fields.insert(key.into(), Json::from(value));
            }
        }
        let uuid = match (mount.uuid, measure.partition_uuid) {
            (Some(uuid), _) => Json::String(uuid),
            (None, Some(found)) => found,
            (None, None) => Json::Null,
        };
        fields.insert(
            "ansible_context".into(),
            json!({"source": mount.source, "source_data": mount.entry.line}),
        );
        fields.insert("uuid".into(), uuid);
        mounts.push(fields);
    }
    Ok((mounts, warnings))
}

/// `mount_points` (the first mount listed at each mount point), `aggregate_mounts`
/// (every mount when asked for, else none) and, when a source lists a mount point
/// twice and `include_aggregate_mounts` is not set, Ansible's warning.
pub fn deduplicate(
    mounts: Vec<Map<String, Json>>,
    include: Option<bool>,
) -> (Map<String, Json>, Vec<Json>, Option<String>) {
    let mut mount_points = Map::new();
    let mut by_source: Vec<(String, Vec<String>)> = Vec::new();
    for mount in &mounts {
        let point = field(mount, "mount").to_string();
        let source = mount
            .get("ansible_context")
            .and_then(|c| c.get("source"))
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        if !mount_points.contains_key(&point) {
            mount_points.insert(point.clone(), Json::Object(mount.clone()));
        }
        match by_source.iter_mut().find(|(s, _)| *s == source) {
            Some((_, points)) => points.push(point),
            None => by_source.push((source, vec![point])),
        }
    }
    let repeated: Vec<String> = by_source
        .iter()
        .filter(|(_, points)| has_duplicates(points))
        .map(|(source, points)| {
            format!(
                "{source} ({})",
                py_repr(&minijinja::Value::from_serialize(points))
            )
        })
        .collect();
    let warning = (!repeated.is_empty() && include.is_none()).then(|| {
        format!(
            "mount_facts: ignoring repeat mounts in the following sources: {}. You can disable this warning by configuring the 'include_aggregate_mounts' option as True or False.",
            repeated.join(", ")
        )
    });
    let aggregate = match include {
        Some(true) => mounts.into_iter().map(Json::Object).collect(),
        _ => Vec::new(),
    };
    (mount_points, aggregate, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(real: &[&str], texts: &[&str]) -> Read {
        Read {
            real: real.iter().map(|s| s.to_string()).collect(),
            texts: texts.iter().map(|s| s.to_string()).collect(),
            mount: None,
        }
    }

    fn sources(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_file_behind_two_names_is_read_once_and_the_binary_is_not_needed() {
        let proc = "/dev/vda / ext4 rw 0 0\nproc /proc proc rw 0 0";
        let found = gather(
            &sources(&["/etc/mtab", "/proc/mounts", "/etc/fstab"]),
            &read(
                &["/proc/7/mounts", "/proc/7/mounts", "/etc/fstab"],
                &[proc, proc, "UUID=ab /data ext4 defaults 0 2"],
            ),
            true,
        )
        .expect("read");
        assert!(!found.needs_mount_binary);
        let sources: Vec<&str> = found.entries.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(sources, ["/etc/mtab", "/etc/mtab", "/etc/fstab"]);
        assert_eq!(found.uuids(), ["ab"]);
    }

    #[test]
    fn empty_dynamic_sources_call_for_the_mount_binary() {
        let found =
            gather(&sources(&["/etc/mtab"]), &read(&["/etc/mtab"], &[""]), true).expect("read");
        assert!(found.needs_mount_binary);
        let found = gather(
            &sources(&["/etc/mtab"]),
            &read(&["/etc/mtab"], &[""]),
            false,
        )
        .expect("read");
        assert!(
            !found.needs_mount_binary,
            "mount_binary: null never runs it"
        );
    }

    #[test]
    fn filters_sizes_and_uuids_make_the_facts() {
        let found = gather(
            &sources(&["/etc/mtab", "/etc/fstab"]),
            &read(
                &["/proc/1/mounts", "/etc/fstab"],
                &[
                    "/dev/vda / ext4 rw 0 0\nproc /proc proc rw 0 0",
                    "UUID=ab /data ext4 defaults 0 2",
                ],
            ),
            true,
        )
        .expect("read");
        let by_uuid: Map<String, Json> = [("ab".to_string(), json!("/dev/vdb\n"))]
            .into_iter()
            .collect();
        let kept = found.filter(&by_uuid, &["/dev/*".to_string()], &[]);
        assert_eq!(
            kept.len(),
            2,
            "proc is filtered out; the UUID device is /dev/vdb"
        );
        let measured = parse_measures(
            "@@mount\n4096 100 40 4096 50 20\n@@rc 0\nUdead-beef\n@@mount\n@@rc 124\nS\n",
            2,
        );
        let err = finish(kept, measured, OnTimeout::Error).expect_err("a timeout");
        assert_eq!(
            err,
            "Timed out getting mount size for mount /data (type ext4)"
        );
    }

    #[test]
    fn the_first_mount_at_a_point_wins_and_repeats_are_warned_about() {
        let found = gather(
            &sources(&["/etc/mtab"]),
            &read(
                &["/proc/1/mounts"],
                &["a /x tmpfs rw 0 0\nb /x tmpfs ro 0 0"],
            ),
            true,
        )
        .expect("read");
        let kept = found.filter(&Map::new(), &[], &[]);
        let measured = parse_measures(
            "@@mount\n4096 10 5 4096 8 2\n@@rc 0\nN\n@@mount\n@@rc 1\nN\n",
            2,
        );
        let (mounts, warnings) = finish(kept, measured, OnTimeout::Warn).expect("no timeout");
        assert!(warnings.is_empty());
        assert_eq!(
            Json::Object(mounts[0].clone()),
            json!({"device": "a", "mount": "/x", "fstype": "tmpfs", "options": "rw", "dump": 0,
                   "passno": 0, "size_total": 40960, "size_available": 20480, "block_size": 4096,
                   "block_total": 10, "block_available": 5, "block_used": 5, "inode_total": 8,
                   "inode_available": 2, "inode_used": 6,
                   "ansible_context": {"source": "/etc/mtab", "source_data": "a /x tmpfs rw 0 0"},
                   "uuid": null})
        );
        let (points, aggregate, warning) = deduplicate(mounts.clone(), None);
        assert_eq!(points["/x"]["device"], json!("a"));
        assert!(aggregate.is_empty());
        assert_eq!(
            warning.as_deref(),
            Some(
                "mount_facts: ignoring repeat mounts in the following sources: /etc/mtab (['/x', '/x']). You can disable this warning by configuring the 'include_aggregate_mounts' option as True or False."
            )
        );
        let (_, aggregate, warning) = deduplicate(mounts, Some(true));
        assert_eq!(aggregate.len(), 2);
        assert_eq!(warning, None);
    }
}
