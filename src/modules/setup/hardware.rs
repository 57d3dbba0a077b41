//! The `hardware` facts as Ansible's Linux collector builds them: processors from
//! `/proc/cpuinfo`, memory from `/proc/meminfo`, `mounts` (with `statvfs` sizes and
//! `lsblk` UUIDs), `devices` and `device_links` from `/sys/block` and `/dev/disk`,
//! DMI, uptime and load.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};

use super::probe::Sections;

type Facts = Map<String, Json>;

fn put(facts: &mut Facts, name: &str, value: impl Into<Json>) {
    facts.insert(format!("ansible_{name}"), value.into());
}

/// The `hardware` facts.
pub fn facts(s: &Sections) -> Facts {
    let mut facts = Facts::new();
    cpu(s, &mut facts);
    memory(s.lines("meminfo"), &mut facts);
    put(&mut facts, "mounts", mounts(s));
    let (devices, links) = devices(s);
    put(&mut facts, "devices", devices);
    put(&mut facts, "device_links", links);
    for line in s.lines("dmi") {
        let Some((key, value)) = line.split_once(' ') else {
            continue;
        };
        let name = match key {
            "product_family" | "chassis_type" => continue,
            "sys_vendor" => "system_vendor",
            other => other,
        };
        put(&mut facts, name, value.trim());
    }
    let form_factor = s
        .lines("dmi")
        .iter()
        .find_map(|l| l.strip_prefix("chassis_type "))
        .map(|t| form_factor(t.trim()))
        .unwrap_or("NA");
    put(&mut facts, "form_factor", form_factor);
    if let Some(uptime) = s.line("uptime", 0).split_whitespace().next()
        && let Ok(seconds) = uptime.parse::<f64>()
    {
        put(&mut facts, "uptime_seconds", seconds as i64);
    }
    let load: Vec<f64> = s
        .line("uptime", 1)
        .split_whitespace()
        .take(3)
        .filter_map(|w| w.parse().ok())
        .collect();
    if load.len() == 3 {
        put(
            &mut facts,
            "loadavg",
            json!({"1m": load[0], "5m": load[1], "15m": load[2]}),
        );
    }
    put(&mut facts, "lvm", "N/A");
    facts
}

/// The DMI chassis type number as Ansible names it.
fn form_factor(number: &str) -> &'static str {
    const NAMES: [&str; 37] = [
        "Unknown",
        "Other",
        "Unknown",
        "Desktop",
        "Low Profile Desktop",
        "Pizza Box",
        "Mini Tower",
        "Tower",
        "Portable",
        "Laptop",
        "Notebook",
        "Hand Held",
        "Docking Station",
        "All In One",
        "Sub Notebook",
        "Space-saving",
        "Lunch Box",
        "Main System Chassis",
        "Expansion Chassis",
        "Sub Chassis",
        "Bus Expansion Chassis",
        "Peripheral Chassis",
        "RAID Chassis",
        "Rack Mount Chassis",
        "Sealed-case PC",
        "Multi-system",
        "CompactPCI",
        "AdvancedTCA",
        "Blade",
        "Blade Enclosure",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoT Gateway",
        "Embedded PC",
        "Mini PC",
        "Stick PC",
    ];
    number
        .parse::<usize>()
        .ok()
        .and_then(|n| NAMES.get(n).copied())
        .unwrap_or("NA")
}

/// `processor`, `processor_count` (sockets), `_cores` (per socket),
/// `_threads_per_core`, `_vcpus`, `_nproc` and `flags`, as Ansible counts them.
fn cpu(s: &Sections, facts: &mut Facts) {
    let mut processor: Vec<Json> = Vec::new();
    let mut sockets: Vec<(String, i64)> = Vec::new();
    let mut cores: Vec<(String, i64)> = Vec::new();
    let (mut physid, mut coreid) = (String::new(), String::new());
    let (mut i, mut vendors, mut models, mut processors) = (0i64, 0, 0, 0i64);
    let set = |list: &mut Vec<(String, i64)>, key: &str, value: i64, only_new: bool| match list
        .iter_mut()
        .find(|(k, _)| k == key)
    {
        Some(entry) if !only_new => entry.1 = value,
        Some(_) => {}
        None => list.push((key.to_string(), value)),
    };
    for line in s.lines("cpuinfo") {
        let (key, value) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line.trim(), ""),
        };
        match key {
            "flags" | "Features" => {
                let flags: Vec<&str> = value.split_whitespace().collect();
                put(facts, "flags", json!(flags));
            }
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(json!(value));
                match key {
                    "vendor_id" => vendors += 1,
                    "model name" => models += 1,
                    "processor" => processors += 1,
                    _ => {}
                }
                i += 1;
            }
            "physical id" => {
                physid = value.to_string();
                set(&mut sockets, &physid, 1, true);
            }
            "core id" => {
                coreid = value.to_string();
                // Ansible checks `sockets` here, so a core id that is also a socket id
                // is not reset.
                if !sockets.iter().any(|(k, _)| *k == coreid) {
                    set(&mut cores, &coreid, 1, false);
                }
            }
            "cpu cores" => set(&mut sockets, &physid, value.parse().unwrap_or(0), false),
            "siblings" => set(&mut cores, &coreid, value.parse().unwrap_or(0), false),
            _ => {}
        }
    }
    if vendors > 0 && vendors == models {
        i = vendors;
    }
    let machine = s.line("uname", 2);
    if machine.starts_with("armv") || machine.starts_with("aarch") || machine.starts_with("ppc") {
        i = processors;
    }
    let count = if sockets.is_empty() {
        i
    } else {
        sockets.len() as i64
    };
    let per_socket = sockets
        .first()
        .map(|(_, v)| *v)
        .filter(|v| *v != 0)
        .unwrap_or(1);
    let threads = match cores.first() {
        Some((_, siblings)) => (*siblings as f64 / per_socket as f64).round() as i64,
        None => (1.0 / per_socket as f64).round() as i64,
    };
    put(facts, "processor", processor);
    put(facts, "processor_count", count);
    put(facts, "processor_cores", per_socket);
    put(facts, "processor_threads_per_core", threads);
    put(facts, "processor_vcpus", threads * count * per_socket);
    put(facts, "processor_nproc", nproc(s.line("nproc", 0)));
}

/// `processor_nproc`: how many CPUs the probe may run on, as Ansible counts
/// `os.sched_getaffinity(0)`; the probe gives the list of `/proc/self/status`
/// (`cpus 0-3,8`), or `nproc`'s count where that list is missing.
fn nproc(line: &str) -> Json {
    let Some(list) = line.strip_prefix("cpus ") else {
        return super::number(line);
    };
    let count = list.split(',').try_fold(0u64, |count, range| {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last): (u64, u64) = (first.trim().parse().ok()?, last.trim().parse().ok()?);
        Some(count + last.checked_sub(first)? + 1)
    });
    count.map_or(Json::Null, |n| json!(n))
}

/// `memtotal_mb` and friends, and `memory_mb`.
fn memory(lines: &[String], facts: &mut Facts) {
    let mut mb: HashMap<&str, i64> = HashMap::new();
    for line in lines {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let kb: i64 = rest
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let key = match key {
            "MemTotal" => "memtotal",
            "MemFree" => "memfree",
            "SwapTotal" => "swaptotal",
            "SwapFree" => "swapfree",
            "Buffers" => "buffers",
            "Cached" => "cached",
            "SwapCached" => "swapcached",
            _ => continue,
        };
        mb.insert(key, kb / 1024);
    }
    for key in ["memtotal", "memfree", "swaptotal", "swapfree"] {
        if let Some(value) = mb.get(key) {
            put(facts, &format!("{key}_mb"), *value);
        }
    }
    let get = |k: &str| mb.get(k).copied();
    let sub = |a: Option<i64>, b: Option<i64>| a.zip(b).map(|(a, b)| a - b);
    let nocache_free = get("cached")
        .zip(get("memfree"))
        .zip(get("buffers"))
        .map(|((c, f), b)| c + f + b);
    put(
        facts,
        "memory_mb",
        json!({
            "real": {"total": get("memtotal"), "used": sub(get("memtotal"), get("memfree")), "free": get("memfree")},
            "nocache": {"free": nocache_free, "used": sub(get("memtotal"), nocache_free)},
            "swap": {"total": get("swaptotal"), "free": get("swapfree"),
                     "used": sub(get("swaptotal"), get("swapfree")), "cached": get("swapcached")},
        }),
    );
}

/// A mount table field with its octal escapes (`\040`) decoded.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some(digits) = field.get(i + 1..i + 4)
            && let Ok(value) = u8::from_str_radix(digits, 8)
        {
            out.push(value);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `mounts`: the mount table's real devices, with sizes, options and UUIDs.
fn mounts(s: &Sections) -> Json {
    let uuids: HashMap<&str, &str> = s
        .lines("lsblk")
        .iter()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            Some((words.next()?, words.next()?))
        })
        .collect();
    let sizes: HashMap<&str, Vec<i64>> = s
        .lines("statvfs")
        .iter()
        .filter_map(|l| {
            let (mount, numbers) = l.split_once('\t')?;
            let numbers: Vec<i64> = numbers
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (numbers.len() == 7).then_some((mount, numbers))
        })
        .collect();
    // findmnt shows a bind mount's source as `device[/path]`.
    let binds: Vec<&str> = s
        .lines("bind")
        .iter()
        .filter_map(|l| {
            let mut fields = l.split_whitespace();
            let target = fields.next()?;
            fields.next()?.ends_with(']').then_some(target)
        })
        .collect();
    // One entry per mount point, where it first appears, as the last mount there
    // describes it (Ansible keeps its results in a dict by mount point).
    let mut mounts: Vec<(String, Json)> = Vec::new();
    for line in s.lines("mounts") {
        let fields: Vec<String> = line.split_whitespace().map(unescape).collect();
        if fields.len() < 6 {
            continue;
        }
        let (device, mount, fstype) = (&fields[0], &fields[1], &fields[2]);
        if (!device.starts_with(['/', '\\']) && !device.contains(":/")) || fstype == "none" {
            continue;
        }
        let mut options = fields[3].clone();
        if binds.contains(&mount.as_str()) && !options.split(',').any(|o| o == "bind") {
            options.push_str(",bind");
        }
        let mut entry = json!({
            "mount": mount, "device": device, "fstype": fstype, "options": options,
            "dump": super::number(&fields[4]), "passno": super::number(&fields[5]),
            "uuid": uuids.get(device.as_str()).copied().unwrap_or("N/A"),
        });
        if let Some(n) = sizes.get(mount.as_str()) {
            // frsize bsize blocks bavail bfree files ffree; "used" is what is not
            // available, as Ansible counts it
            let sizes = json!({
                "size_total": n[0] * n[2], "size_available": n[0] * n[3],
                "block_size": n[1], "block_total": n[2], "block_available": n[3],
                "block_used": n[2] - n[3], "inode_total": n[5], "inode_available": n[6],
                "inode_used": n[5] - n[6],
            });
            if let (Json::Object(entry), Json::Object(sizes)) = (&mut entry, sizes) {
                entry.extend(sizes);
            }
        }
        match mounts.iter_mut().find(|(m, _)| m == mount) {
            Some((_, existing)) => *existing = entry,
            None => mounts.push((mount.clone(), entry)),
        }
    }
    Json::Array(mounts.into_iter().map(|(_, entry)| entry).collect())
}

/// Python's `bytes_to_human`: `250.00 GB`.
fn bytes_to_human(size: f64) -> String {
    let units = ["Bytes", "KB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = size;
    let mut unit = 0;
    while size >= 1024.0 && unit < units.len() - 1 {
        size /= 1024.0;
        unit += 1;
    }
    format!("{size:.2} {}", units[unit])
}

/// A block device being read: its name, its facts so far and its `/sys` files.
type Block = (String, Map<String, Json>, HashMap<String, String>);

/// `devices` and `device_links` from `/sys/block` and `/dev/disk/by-*`.
fn devices(s: &Sections) -> (Json, Json) {
    let mut links: Map<String, Json> = ["ids", "uuids", "labels", "masters"]
        .iter()
        .map(|k| (k.to_string(), json!({})))
        .collect();
    for line in s.lines("disklinks") {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let [kind, name, target] = words[..]
            && let Some(Json::Object(by)) = links.get_mut(kind)
            && let Json::Array(list) = by.entry(target).or_insert_with(|| json!([]))
        {
            list.push(json!(name));
        }
    }
    let links_of = |name: &str| -> Json {
        let mut out = Map::new();
        for (kind, by) in &links {
            out.insert(kind.clone(), by.get(name).cloned().unwrap_or(json!([])));
        }
        Json::Object(out)
    };
    let uuid_of = |name: &str| -> Json {
        links
            .get("uuids")
            .and_then(|u| u.get(name))
            .and_then(|l| l.get(0))
            .cloned()
            .unwrap_or(Json::Null)
    };
    let mut devices = Map::new();
    let mut current: Option<Block> = None;
    let finish = |current: Option<Block>, devices: &mut Map<String, Json>| {
        let Some((name, mut d, files)) = current else {
            return;
        };
        let file = |k: &str| files.get(k).cloned();
        for key in ["vendor", "model", "sas_address", "sas_device_handle"] {
            d.insert(
                key.into(),
                file(&format!("device/{key}")).map_or(Json::Null, Json::from),
            );
        }
        d.insert("removable".into(), json!(file("removable")));
        d.insert(
            "support_discard".into(),
            json!(file("queue/discard_granularity")),
        );
        d.insert("rotational".into(), json!(file("queue/rotational")));
        let scheduler = file("queue/scheduler").unwrap_or_default();
        let mode = scheduler
            .split_once('[')
            .and_then(|(_, r)| r.split_once(']'))
            .map(|(m, _)| m.to_string())
            .unwrap_or_default();
        d.insert("scheduler_mode".into(), json!(mode));
        let sectorsize = file("queue/logical_block_size").unwrap_or_else(|| "512".into());
        let size: i64 = file("size").and_then(|v| v.parse().ok()).unwrap_or(0);
        let per: i64 = sectorsize.parse().unwrap_or(512).max(1);
        let sectors = size * 512 / per;
        d.insert("sectorsize".into(), json!(sectorsize));
        d.insert("sectors".into(), json!(sectors));
        d.insert("size".into(), json!(bytes_to_human((sectors * per) as f64)));
        d.insert("host".into(), json!(""));
        d.insert("links".into(), links_of(&name));
        devices.insert(name, Json::Object(d));
    };
    for line in s.lines("block") {
        let (key, value) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        match key {
            "dev" => {
                finish(current.take(), &mut devices);
                let mut d = Map::new();
                d.insert("virtual".into(), json!(1));
                d.insert("partitions".into(), json!({}));
                current = Some((value.to_string(), d, HashMap::new()));
            }
            "hasdevice" => {
                if let Some((_, d, _)) = &mut current {
                    d.insert("virtual".into(), json!(0));
                }
            }
            "holders" => {
                if let Some((_, d, _)) = &mut current {
                    d.insert(
                        "holders".into(),
                        json!(value.split_whitespace().collect::<Vec<_>>()),
                    );
                }
            }
            "part" => {
                let Some((_, d, files)) = &mut current else {
                    continue;
                };
                let words: Vec<&str> = value.split_whitespace().collect();
                let [name, start, size, holders] = words[..] else {
                    continue;
                };
                let per: i64 = files
                    .get("queue/logical_block_size")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(512);
                let sectors = size.parse::<i64>().unwrap_or(0) * 512 / per.max(1);
                let holders: Vec<&str> = holders
                    .trim_start_matches("holders=")
                    .split(',')
                    .filter(|h| !h.is_empty())
                    .collect();
                if let Some(Json::Object(parts)) = d.get_mut("partitions") {
                    parts.insert(
                        name.to_string(),
                        json!({
                            "links": links_of(name), "start": start, "sectors": sectors,
                            "sectorsize": per, "size": bytes_to_human((sectors * per) as f64),
                            "uuid": uuid_of(name), "holders": holders,
                        }),
                    );
                }
            }
            file => {
                if let Some((_, _, files)) = &mut current {
                    files.insert(file.to_string(), value.trim().to_string());
                }
            }
        }
    }
    finish(current.take(), &mut devices);
    (Json::Object(devices), Json::Object(links))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The affinity list counts its CPUs; `nproc`'s own count is taken as it is.
    #[test]
    fn nproc_counts_the_cpus_the_probe_may_run_on() {
        assert_eq!(nproc("cpus 0-1"), json!(2));
        assert_eq!(nproc("cpus 0-3,8,10-11"), json!(7));
        assert_eq!(nproc("cpus 3"), json!(1));
        assert_eq!(nproc("4"), json!(4));
        assert_eq!(nproc("cpus 3-1"), Json::Null);
    }

    #[test]
    fn processor_count_is_sockets_as_ansible_counts_them() {
        let cpuinfo = "@@uname\nLinux\n6.1\nx86_64\n@@nproc\n2\n@@cpuinfo\n\
processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 0\ncpu cores\t: 2\nflags\t\t: fpu vme\n\n\
processor\t: 1\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\nphysical id\t: 0\nsiblings\t: 2\ncore id\t\t: 1\ncpu cores\t: 2\n";
        let mut facts = Facts::new();
        cpu(&Sections::parse(cpuinfo), &mut facts);
        assert_eq!(
            facts["ansible_processor"],
            json!([
                "0",
                "AuthenticAMD",
                "AMD EPYC",
                "1",
                "AuthenticAMD",
                "AMD EPYC"
            ])
        );
        assert_eq!(facts["ansible_processor_count"], json!(1));
        assert_eq!(facts["ansible_processor_cores"], json!(2));
        assert_eq!(facts["ansible_processor_threads_per_core"], json!(1));
        assert_eq!(facts["ansible_processor_vcpus"], json!(2));
        assert_eq!(facts["ansible_flags"], json!(["fpu", "vme"]));
    }

    #[test]
    fn memory_and_sizes_as_ansible_writes_them() {
        let lines: Vec<String> = [
            "MemTotal: 24683568 kB",
            "MemFree: 10944320 kB",
            "Buffers: 28992 kB",
            "Cached: 12293716 kB",
            "SwapCached: 0 kB",
            "SwapTotal: 0 kB",
            "SwapFree: 0 kB",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut facts = Facts::new();
        memory(&lines, &mut facts);
        assert_eq!(
            facts["ansible_memory_mb"],
            json!({"nocache": {"free": 22720, "used": 1385}, "real": {"free": 10687, "total": 24105, "used": 13418},
                   "swap": {"cached": 0, "free": 0, "total": 0, "used": 0}})
        );
        assert_eq!(bytes_to_human(0.0), "0.00 Bytes");
        assert_eq!(bytes_to_human(270553174016.0), "251.97 GB");
        assert_eq!(unescape("/mnt/a\\040b"), "/mnt/a b");
    }
}
