//! The facts of Ansible's `min` subset (platform, distribution, lsb, user, python,
//! date and time, environment, DNS, service manager, SELinux, AppArmor ...), from the
//! probe's sections.

use std::collections::HashMap;

use serde_json::{Map, Value as Json, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::probe::Sections;

type Facts = Map<String, Json>;

fn put(facts: &mut Facts, name: &str, value: impl Into<Json>) {
    facts.insert(format!("ansible_{name}"), value.into());
}

/// The `min` facts.
pub fn minimal(s: &Sections) -> Facts {
    let mut facts = Facts::new();
    platform(s, &mut facts);
    distribution(s, &mut facts);
    user(s, &mut facts);
    python(s, &mut facts);
    date_time(s, &mut facts);
    put(&mut facts, "env", Json::Object(environment(s.lines("env"))));
    put(&mut facts, "dns", dns(s.lines("resolv")));
    let manager = service_mgr(s.lines("init"), s.line("uname", 0));
    if manager == "systemd"
        && let Some(version) = s.line("systemd", 0).split_whitespace().nth(1)
    {
        let features = s.line("systemd", 1).trim();
        put(
            &mut facts,
            "systemd",
            json!({"version": super::number(version), "features": features}),
        );
    }
    put(&mut facts, "service_mgr", manager);
    let pkg_mgr = match s.line("pkg", 0) {
        "apt-get" => "apt",
        "" => "unknown",
        other => other,
    };
    put(&mut facts, "pkg_mgr", pkg_mgr);
    let machine_id = s.line("machine_id", 0).trim();
    if !machine_id.is_empty() {
        put(&mut facts, "machine_id", machine_id);
    }
    let cmdline = s.line("cmdline", 0);
    put(
        &mut facts,
        "cmdline",
        Json::Object(kernel_cmdline(cmdline, false)),
    );
    put(
        &mut facts,
        "proc_cmdline",
        Json::Object(kernel_cmdline(cmdline, true)),
    );
    let selinux = s.lines("selinux");
    let status = match selinux.first().map(String::as_str) {
        Some("Enforcing") => json!({"status": "enabled", "mode": "enforcing"}),
        Some("Permissive") => json!({"status": "enabled", "mode": "permissive"}),
        _ => json!({"status": "disabled"}),
    };
    put(&mut facts, "selinux", status);
    put(&mut facts, "selinux_python_present", true);
    let apparmor = match s.line("apparmor", 0) {
        "enabled" => "enabled",
        _ => "disabled",
    };
    put(&mut facts, "apparmor", json!({ "status": apparmor }));
    put(&mut facts, "fips", s.line("fips", 0).trim() == "1");
    let chroot = s.line("chroot", 0);
    put(&mut facts, "is_chroot", chroot == "yes");
    for line in s.lines("sshkeys") {
        let mut words = line.split_whitespace();
        let (Some(kind), Some(keytype), Some(key)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        put(&mut facts, &format!("ssh_host_key_{kind}_public"), key);
        put(
            &mut facts,
            &format!("ssh_host_key_{kind}_public_keytype"),
            keytype,
        );
    }
    facts
}

/// `system`, `kernel`, `machine`, `hostname`, `fqdn`, `domain` ... as Python's
/// `platform` and `socket.getfqdn` give them.
fn platform(s: &Sections, facts: &mut Facts) {
    let system = s.line("uname", 0);
    let machine = s.line("uname", 2);
    let nodename = s.line("uname", 3);
    put(facts, "system", system);
    put(facts, "kernel", s.line("uname", 1));
    put(facts, "kernel_version", s.line("uname", 4));
    put(facts, "machine", machine);
    put(facts, "architecture", machine);
    put(facts, "nodename", nodename);
    put(
        facts,
        "hostname",
        nodename.split('.').next().unwrap_or_default(),
    );
    let fqdn = getfqdn(nodename, s.line("fqdn", 0));
    let domain = fqdn.split_once('.').map(|(_, d)| d).unwrap_or_default();
    put(facts, "domain", domain);
    put(facts, "fqdn", fqdn.as_str());
    let bits = s.line("userspace", 0).trim();
    if !bits.is_empty() {
        put(facts, "userspace_bits", bits);
        let arch = match (machine, bits) {
            ("x86_64", "32") => "i386",
            _ => machine,
        };
        put(facts, "userspace_architecture", arch);
    }
}

/// Python's `socket.getfqdn(name)`: the reverse lookup of the name's first address
/// (`reverse`: `address primary alias...`), the first of its names with a dot, else
/// its primary name; the name itself when a lookup fails.
fn getfqdn(name: &str, reverse: &str) -> String {
    let names: Vec<&str> = reverse.split_whitespace().skip(1).collect();
    let Some(primary) = names.first() else {
        return name.to_string();
    };
    names
        .iter()
        .find(|n| n.contains('.'))
        .unwrap_or(primary)
        .to_string()
}

/// Parses `KEY=value` lines (os-release, lsb-release), quotes removed.
fn key_values(lines: &[String]) -> HashMap<String, String> {
    lines
        .iter()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches(['"', '\'']).to_string(),
            )
        })
        .collect()
}

fn distribution(s: &Sections, facts: &mut Facts) {
    let os = key_values(s.lines("os-release"));
    let system = s.line("uname", 0);
    let id = os
        .get("ID")
        .cloned()
        .unwrap_or_else(|| system.to_lowercase());
    let mut version = os.get("VERSION_ID").cloned().unwrap_or_default();
    let debian_version = s.line("debian_version", 0).trim();
    let debian_like = id == "debian"
        && debian_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit());
    if debian_like {
        version = debian_version.to_string();
    }
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or_default().to_string();
    let release = os
        .get("VERSION_CODENAME")
        .cloned()
        .unwrap_or_else(|| os.get("ID").cloned().unwrap_or_default());
    let family = os_family(&id, os.get("ID_LIKE"));
    put(facts, "os_family", family.as_str());
    put(
        facts,
        "distribution",
        distribution_name(&id, os.get("NAME")),
    );
    put(facts, "distribution_version", version.as_str());
    put(facts, "distribution_major_version", major.as_str());
    if let Some(minor) = parts.next() {
        put(facts, "distribution_minor_version", minor);
    }
    put(facts, "distribution_release", release.as_str());
    if !os.is_empty() {
        put(facts, "distribution_file_path", "/etc/os-release");
        put(facts, "distribution_file_variety", family.as_str());
        put(facts, "distribution_file_parsed", true);
    }
    let lsb = lsb(s.lines("lsb_release"), s.lines("lsb-release"));
    put(facts, "lsb", Json::Object(lsb));
}

/// The `lsb` fact: from `lsb_release -a`, else `/etc/lsb-release`.
fn lsb(release: &[String], file: &[String]) -> Facts {
    let mut lsb = Facts::new();
    for line in release {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let key = match key.trim() {
            "LSB Version" => "release_lsb",
            "Distributor ID" => "id",
            "Description" => "description",
            "Release" => "release",
            "Codename" => "codename",
            _ => continue,
        };
        lsb.insert(key.into(), json!(value));
    }
    if lsb.is_empty() {
        let values = key_values(file);
        for (from, to) in [
            ("DISTRIB_ID", "id"),
            ("DISTRIB_RELEASE", "release"),
            ("DISTRIB_DESCRIPTION", "description"),
            ("DISTRIB_CODENAME", "codename"),
        ] {
            if let Some(value) = values.get(from) {
                lsb.insert(to.into(), json!(value));
            }
        }
    }
    if let Some(release) = lsb.get("release").and_then(Json::as_str) {
        let major = release.split('.').next().unwrap_or_default().to_string();
        lsb.insert("major_release".into(), json!(major));
    }
    lsb
}

/// The distribution name Ansible reports for an os-release `ID`.
fn distribution_name(id: &str, name: Option<&String>) -> String {
    match id {
        "debian" => "Debian".into(),
        "ubuntu" => "Ubuntu".into(),
        "centos" => "CentOS".into(),
        "rhel" => "RedHat".into(),
        "fedora" => "Fedora".into(),
        "rocky" => "Rocky".into(),
        "almalinux" => "AlmaLinux".into(),
        "alpine" => "Alpine".into(),
        "arch" => "Archlinux".into(),
        "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" => "openSUSE Leap".into(),
        "sles" => "SLES".into(),
        "linuxmint" => "Linux Mint".into(),
        _ => name.cloned().unwrap_or_else(|| id.to_string()),
    }
}

/// The OS family Ansible groups a distribution into.
fn os_family(id: &str, like: Option<&String>) -> String {
    let known = |id: &str| match id {
        "debian" | "ubuntu" | "linuxmint" | "raspbian" | "kali" => Some("Debian"),
        "rhel" | "centos" | "fedora" | "rocky" | "almalinux" | "ol" | "amzn" => Some("RedHat"),
        "alpine" => Some("Alpine"),
        "arch" | "manjaro" => Some("Archlinux"),
        "sles" | "opensuse-leap" | "opensuse-tumbleweed" | "opensuse" | "suse" => Some("Suse"),
        _ => None,
    };
    known(id)
        .or_else(|| like.and_then(|l| l.split_whitespace().find_map(known)))
        .map_or_else(|| id.to_string(), str::to_string)
}

/// `user_id`, `user_uid` ... as Ansible's user collector reads them (`getpass` and
/// the password database).
fn user(s: &Sections, facts: &mut Facts) {
    let line = |n| s.line("user", n);
    let number = |n| super::number(line(n));
    put(facts, "user_id", line(0));
    let passwd: Vec<&str> = line(5).split(':').collect();
    let field = |n: usize| passwd.get(n).copied().unwrap_or_default();
    put(facts, "user_uid", number(1));
    put(facts, "user_gid", number(2));
    put(facts, "user_gecos", field(4));
    put(facts, "user_dir", field(5));
    put(facts, "user_shell", field(6));
    put(facts, "real_user_id", number(3));
    put(facts, "effective_user_id", number(1));
    put(facts, "real_group_id", number(4));
    put(facts, "effective_group_id", number(2));
}

/// `python` and `python_version` from the interpreter's path and `-V`.
fn python(s: &Sections, facts: &mut Facts) {
    let executable = s.line("python", 0);
    let version = s
        .line("python", 1)
        .trim()
        .trim_start_matches("Python ")
        .trim();
    if executable.is_empty() || version.is_empty() {
        return;
    }
    let (numbers, level, serial) = python_release(version);
    let mut parts = numbers.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    let (major, minor, micro) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    put(
        facts,
        "python",
        json!({
            "executable": executable,
            "has_sslcontext": true,
            "type": "cpython",
            "version": {
                "major": major, "minor": minor, "micro": micro,
                "releaselevel": level, "serial": serial,
            },
            "version_info": [major, minor, micro, level, serial],
        }),
    );
    put(facts, "python_version", format!("{major}.{minor}.{micro}"));
}

/// `3.12.0rc1` -> (`3.12.0`, `candidate`, 1), as `sys.version_info` tells them.
fn python_release(version: &str) -> (&str, &'static str, i64) {
    let split = version
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(version.len());
    let (numbers, rest) = version.split_at(split);
    let level = match rest.trim_end_matches(|c: char| c.is_ascii_digit() || c == '+') {
        "a" => "alpha",
        "b" => "beta",
        "rc" => "candidate",
        _ => "final",
    };
    let serial = rest
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim_end_matches('+')
        .parse()
        .unwrap_or(0);
    (numbers, level, serial)
}

/// `date_time` as Ansible's collector builds it.
fn date_time(s: &Sections, facts: &mut Facts) {
    let parts: Vec<&str> = s.line("date", 0).split_whitespace().collect();
    if parts.len() < 11 {
        return;
    }
    let Some((utc_day, utc_time)) = utc(parts[2]) else {
        return;
    };
    let (day, time) = (parts[0], parts[1]);
    let ymd: Vec<&str> = day.split('-').collect();
    let hms: Vec<&str> = time.split(':').collect();
    let micro = parts[10].get(..6).unwrap_or("000000");
    let (ymd_compact, hms_compact) = (day.replace('-', ""), time.replace(':', ""));
    put(
        facts,
        "date_time",
        json!({
            "year": ymd[0], "month": ymd.get(1), "day": ymd.get(2),
            "hour": hms[0], "minute": hms.get(1), "second": hms.get(2),
            "epoch": parts[2], "epoch_int": parts[2],
            "date": day, "time": time,
            "iso8601_micro": format!("{utc_day}T{utc_time}.{micro}Z"),
            "iso8601": format!("{utc_day}T{utc_time}Z"),
            "iso8601_basic": format!("{ymd_compact}T{hms_compact}{micro}"),
            "iso8601_basic_short": format!("{ymd_compact}T{hms_compact}"),
            "tz": parts[3], "tz_dst": parts[3], "tz_offset": parts[4],
            "weekday": parts[5], "weekday_number": parts[8],
            "weeknumber": parts[9],
        }),
    );
}

/// The UTC day and time of `epoch` (seconds), `2026-11-24` and `10:00:00`: the same
/// moment as the local fields, as Ansible takes both from one timestamp.
fn utc(epoch: &str) -> Option<(String, String)> {
    let moment = OffsetDateTime::from_unix_timestamp(epoch.parse().ok()?).ok()?;
    let day = moment.format(format_description!("[year]-[month]-[day]"));
    let time = moment.format(format_description!("[hour]:[minute]:[second]"));
    Some((day.ok()?, time.ok()?))
}

/// Parses `env` output, joining continuation lines of multi-line values; bosun's own
/// variables are left out.
pub fn environment(lines: &[String]) -> Facts {
    let mut env = Facts::new();
    let mut last: Option<String> = None;
    for line in lines {
        let is_start = line.split_once('=').is_some_and(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if is_start {
            let (key, value) = line.split_once('=').unwrap_or_default();
            env.insert(key.to_string(), json!(value));
            last = Some(key.to_string());
        } else if let Some(Json::String(value)) = last.as_ref().and_then(|k| env.get_mut(k)) {
            value.push('\n');
            value.push_str(line);
        }
    }
    env.retain(|key, _| !key.starts_with("BOSUN_"));
    env
}

/// `dns` from `/etc/resolv.conf` as Ansible's collector reads it.
fn dns(lines: &[String]) -> Json {
    let mut dns = Facts::new();
    for line in lines {
        let line = line.trim();
        if line.starts_with(['#', ';']) || line.is_empty() {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        let rest = || Json::from(words[1..].to_vec());
        match words[0] {
            "nameserver" if words.len() > 1 => {
                let list = dns.entry("nameservers").or_insert_with(|| json!([]));
                if let Some(list) = list.as_array_mut() {
                    list.push(json!(words[1]));
                }
            }
            "domain" if words.len() > 1 => {
                dns.insert("domain".into(), json!(words[1]));
            }
            "search" => {
                dns.insert("search".into(), rest());
            }
            "sortlist" => {
                dns.insert("sortlist".into(), rest());
            }
            "options" => {
                let mut options = Facts::new();
                for option in &words[1..] {
                    match option.split_once(':') {
                        Some((k, v)) => options.insert(k.into(), json!(v)),
                        None => options.insert((*option).into(), json!(true)),
                    };
                }
                dns.insert("options".into(), Json::Object(options));
            }
            _ => {}
        }
    }
    Json::Object(dns)
}

/// The service manager as Ansible decides it: PID 1's name, else what is installed.
fn service_mgr(init: &[String], system: &str) -> String {
    let has = |word: &str| init.iter().any(|l| l == word);
    let mut proc_1 = init
        .first()
        .filter(|l| !l.starts_with("link ") && !l.is_empty() && *l != "systemctl")
        .cloned();
    if proc_1.is_none() {
        proc_1 = init
            .iter()
            .find_map(|l| l.strip_prefix("link "))
            .map(|l| l.rsplit('/').next().unwrap_or(l).to_string());
    }
    let proc_1 = proc_1.filter(|p| p != "init" && !p.ends_with("sh"));
    if let Some(name) = proc_1 {
        return match name.as_str() {
            "procd" => "openwrt_init",
            "runit-init" => "runit",
            "svscan" => "svc",
            "openrc-init" => "openrc",
            other => other,
        }
        .to_string();
    }
    if system != "Linux" {
        return "service".into();
    }
    let offline = init.iter().any(|l| {
        l.strip_prefix("link ")
            .is_some_and(|t| t.ends_with("systemd"))
    });
    if has("systemctl") && has("systemd-running") {
        "systemd"
    } else if has("upstart") {
        "upstart"
    } else if has("openrc") {
        "openrc"
    } else if has("systemctl") && offline {
        "systemd"
    } else if has("sysvinit") {
        "sysvinit"
    } else if has("dinit") {
        "dinit"
    } else {
        "service"
    }
    .to_string()
}

/// The kernel command line as `cmdline` (last value of a key wins) or `proc_cmdline`
/// (a key given twice keeps a list).
fn kernel_cmdline(line: &str, lists: bool) -> Facts {
    let mut out = Facts::new();
    for word in shell_words::split(line).unwrap_or_default() {
        let (key, value) = match word.split_once('=') {
            Some((k, v)) => (k.to_string(), json!(v)),
            None => (word.clone(), json!(true)),
        };
        match out.get_mut(&key) {
            Some(existing) if lists => match existing {
                Json::Array(items) => items.push(value),
                other => *other = json!([other.clone(), value]),
            },
            _ => {
                out.insert(key, value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getfqdn_prefers_a_dotted_name() {
        assert_eq!(getfqdn("vm", "127.0.0.1 localhost vm"), "localhost");
        assert_eq!(
            getfqdn("web1", "10.0.0.5 web1 web1.example.com"),
            "web1.example.com"
        );
        assert_eq!(getfqdn("web1", ""), "web1");
    }

    #[test]
    fn python_versions_read_as_version_info() {
        assert_eq!(python_release("3.11.2"), ("3.11.2", "final", 0));
        assert_eq!(python_release("3.13.0rc1"), ("3.13.0", "candidate", 1));
    }

    #[test]
    fn service_mgr_is_pid_1_or_what_is_installed() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            service_mgr(&lines(&["systemd", "systemctl"]), "Linux"),
            "systemd"
        );
        assert_eq!(
            service_mgr(&lines(&["process_api"]), "Linux"),
            "process_api"
        );
        assert_eq!(
            service_mgr(&lines(&["bash", "systemctl", "systemd-running"]), "Linux"),
            "systemd"
        );
        assert_eq!(
            service_mgr(&lines(&["sh", "sysvinit"]), "Linux"),
            "sysvinit"
        );
    }

    #[test]
    fn dns_and_lsb_read_their_files() {
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            dns(&lines(&[
                "# x",
                "nameserver 1.1.1.1",
                "nameserver 9.9.9.9",
                "search a b",
                "options ndots:2 rotate"
            ])),
            json!({"nameservers": ["1.1.1.1", "9.9.9.9"], "search": ["a", "b"],
                   "options": {"ndots": "2", "rotate": true}})
        );
        let lsb = lsb(
            &lines(&[
                "Distributor ID:\tDebian",
                "Description:\tDebian GNU/Linux 12 (bookworm)",
                "Release:\t12",
                "Codename:\tbookworm",
            ]),
            &[],
        );
        assert_eq!(
            Json::Object(lsb),
            json!({"id": "Debian", "description": "Debian GNU/Linux 12 (bookworm)",
                   "release": "12", "codename": "bookworm", "major_release": "12"})
        );
    }
}
