//! `setup`: gathers facts about the target in one round trip.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

/// Prints everything the facts are made of, section by section, in one shell run.
const PROBE: &str = r#"
echo '@@uname'; uname -s; uname -r; uname -m; uname -n; uname -v
echo '@@fqdn'; hostname -f 2>/dev/null || uname -n
echo '@@user'; id -un; id -u; id -g; echo "$HOME"; echo "$SHELL"
echo '@@nproc'; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN
echo '@@os-release'; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
echo '@@debian_version'; cat /etc/debian_version 2>/dev/null
echo '@@meminfo'; grep -E '^(MemTotal|MemFree|SwapTotal|SwapFree):' /proc/meminfo 2>/dev/null
echo '@@init'; cat /proc/1/comm 2>/dev/null; [ -d /run/systemd/system ] && echo systemd-running
echo '@@pkg'; for p in apt-get dnf yum apk zypper pacman; do command -v $p >/dev/null 2>&1 && { echo $p; break; }; done
echo '@@python'; command -v python3 2>/dev/null || command -v python 2>/dev/null
echo '@@route'; ip -4 route get 1.0.0.1 2>/dev/null | head -n1
echo '@@ipv4'; hostname -I 2>/dev/null
echo '@@date'; date '+%Y-%m-%d %H:%M:%S %s %Z %z %A %B %j %u'
echo '@@env'; env
"#;

/// Lists the local facts of `$1` (`*.fact` files): each file's name, then its
/// output when executable or its text, between markers.
const LOCAL_FACTS: &str = r#"
for f in "$1"/*.fact; do [ -f "$f" ] || continue
  printf '@@local %s\n' "$(basename "$f" .fact)"
  if [ -x "$f" ]; then "$f" 2>/dev/null; else cat "$f"; fi
  printf '\n'
done
"#;

module_args! {
    /// `setup`'s arguments.
    pub struct SetupArgs {
        /// Which groups of facts: `all`, `min`, `hardware`, `network`, `virtual`, each
        /// negated with `!`.
        gather_subset: Vec<String> => .default_str("all"),
        /// Seconds the gathering may take.
        gather_timeout: u64 => .default_int(10),
        /// Glob patterns of the fact names to keep.
        filter: Vec<String>,
        /// Where local facts (`*.fact`) are read from, as `ansible_local`.
        fact_path: String => .default_str("/etc/ansible/facts.d"),
    }
}

/// Collects `ansible_*` facts: OS, distribution, kernel, CPU, memory, user, network.
/// It only reads, so it has nothing to decide or apply: it implements [`Module`]
/// directly.
pub struct Setup;

#[async_trait]
impl Module for Setup {
    fn name(&self) -> &'static str {
        "setup"
    }

    fn params(&self) -> &'static [Param] {
        SetupArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = SetupArgs::from_args(args).map_err(ModuleError::Failed)?;
        let subsets = Subsets::parse(&args.gather_subset)?;
        let script = format!(
            "{PROBE}\nset -- {}\n{LOCAL_FACTS}",
            crate::connection::quote(&args.fact_path)
        );
        let command = Command::new(script);
        let probe = ctx.conn.exec(&command);
        let limit = std::time::Duration::from_secs(args.gather_timeout.max(1));
        let out = tokio::time::timeout(limit, probe).await.map_err(|_| {
            ModuleError::Failed(format!(
                "Timer expired after {} seconds (gather_timeout)",
                args.gather_timeout
            ))
        })??;
        let stdout = out.stdout_text();
        let mut facts = parse_probe(&stdout);
        facts.retain(|name, _| subsets.keeps(name));
        facts.insert("ansible_local".into(), Json::Object(local_facts(&stdout)));
        facts.insert("ansible_gather_subset".into(), json!(args.gather_subset));
        if !args.filter.is_empty() {
            facts.retain(|name, _| args.filter.iter().any(|f| crate::glob::matches(f, name)));
        }
        let mut outcome = super::ok(false);
        outcome.insert("ansible_facts".into(), Json::Object(facts));
        Ok(outcome)
    }
}

/// The groups of facts `gather_subset` asks for; the minimal facts always come.
struct Subsets {
    hardware: bool,
    network: bool,
    virtual_: bool,
}

impl Subsets {
    /// Reads `gather_subset` as Ansible does: `all` first, then each name added or,
    /// with `!`, taken away; `min` adds nothing (the minimal facts always come).
    fn parse(names: &[String]) -> Result<Subsets, ModuleError> {
        let mut subsets = Subsets {
            hardware: false,
            network: false,
            virtual_: false,
        };
        for name in names {
            let (wanted, bare) = match name.strip_prefix('!') {
                Some(bare) => (false, bare),
                None => (true, name.as_str()),
            };
            match bare {
                "all" => {
                    subsets.hardware = wanted;
                    subsets.network = wanted;
                    subsets.virtual_ = wanted;
                }
                "hardware" | "devices" | "mounts" => subsets.hardware = wanted,
                "network" | "interfaces" => subsets.network = wanted,
                "virtual" => subsets.virtual_ = wanted,
                "min" | "facter" | "ohai" => {}
                other => {
                    return Err(ModuleError::Failed(format!(
                        "Bad subset '{other}' given to Ansible. gather_subset options allowed: all, hardware, min, network, virtual"
                    )));
                }
            }
        }
        Ok(subsets)
    }

    /// Whether the fact called `name` is in the asked-for groups.
    fn keeps(&self, name: &str) -> bool {
        let short = name.trim_start_matches("ansible_");
        let hardware =
            short.starts_with("processor") || short.starts_with("mem") || short.starts_with("swap");
        let network = matches!(
            short,
            "default_ipv4" | "default_ipv6" | "all_ipv4_addresses" | "all_ipv6_addresses"
        );
        let virtual_ = short.starts_with("virtualization");
        (!hardware || self.hardware) && (!network || self.network) && (!virtual_ || self.virtual_)
    }
}

/// The local facts the probe printed: each file's JSON, or its INI sections as
/// mappings; a file that is neither gives the error Ansible gives.
fn local_facts(stdout: &str) -> Map<String, Json> {
    let mut facts = Map::new();
    let mut sections = stdout.split("\n@@local ").skip(1);
    for section in sections.by_ref() {
        let (name, body) = section.split_once('\n').unwrap_or((section, ""));
        let body = body.split("\n@@").next().unwrap_or_default().trim();
        let value = serde_json::from_str::<Json>(body)
            .ok()
            .or_else(|| ini_fact(body))
            .unwrap_or_else(|| {
                json!(format!(
                    "error loading facts as JSON or ini - please check content: {name}"
                ))
            });
        facts.insert(name.to_string(), value);
    }
    facts
}

/// An INI fact file as Ansible reads it: sections of `key=value` (or `key: value`).
fn ini_fact(text: &str) -> Option<Json> {
    let mut sections = Map::new();
    let mut current: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.insert(name.to_string(), Json::Object(Map::new()));
            current = Some(name.to_string());
            continue;
        }
        let (key, value) = line.split_once(['=', ':'])?;
        let section = sections.get_mut(current.as_deref()?)?.as_object_mut()?;
        section.insert(key.trim().to_lowercase(), json!(value.trim()));
    }
    Some(Json::Object(sections))
}

/// Turns the probe's output into facts named as Ansible names them.
pub fn parse_probe(output: &str) -> Map<String, Json> {
    let mut sections: Map<String, Json> = Map::new();
    let mut current = String::new();
    let mut body: Vec<&str> = Vec::new();
    let mut flush = |name: &str, body: &mut Vec<&str>| {
        if !name.is_empty() {
            sections.insert(name.to_string(), Json::String(body.join("\n")));
        }
        body.clear();
    };
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@") {
            flush(&current, &mut body);
            current = name.to_string();
        } else {
            body.push(line);
        }
    }
    flush(&current, &mut body);
    let section = |name: &str| -> Vec<String> {
        sections
            .get(name)
            .and_then(Json::as_str)
            .map(|s| s.lines().map(str::to_string).collect())
            .unwrap_or_default()
    };
    let nth = |lines: &[String], n: usize| lines.get(n).cloned().unwrap_or_default();

    let mut facts = Map::new();
    let uname = section("uname");
    let system = nth(&uname, 0);
    let machine = nth(&uname, 2);
    let nodename = nth(&uname, 3);
    let hostname = nodename.split('.').next().unwrap_or_default().to_string();
    let fqdn = nth(&section("fqdn"), 0);
    facts.insert("ansible_system".into(), json!(system));
    facts.insert("ansible_kernel".into(), json!(nth(&uname, 1)));
    facts.insert("ansible_kernel_version".into(), json!(nth(&uname, 4)));
    facts.insert("ansible_architecture".into(), json!(machine));
    facts.insert("ansible_machine".into(), json!(machine));
    facts.insert("ansible_nodename".into(), json!(nodename));
    facts.insert("ansible_hostname".into(), json!(hostname));
    facts.insert("ansible_fqdn".into(), json!(fqdn));
    let domain = fqdn.split_once('.').map(|(_, d)| d).unwrap_or_default();
    facts.insert("ansible_domain".into(), json!(domain));

    let user = section("user");
    facts.insert("ansible_user_id".into(), json!(nth(&user, 0)));
    facts.insert("ansible_user_uid".into(), number(&nth(&user, 1)));
    facts.insert("ansible_user_gid".into(), number(&nth(&user, 2)));
    facts.insert("ansible_user_dir".into(), json!(nth(&user, 3)));
    facts.insert("ansible_user_shell".into(), json!(nth(&user, 4)));

    let vcpus = number(&nth(&section("nproc"), 0));
    facts.insert("ansible_processor_vcpus".into(), vcpus.clone());
    facts.insert("ansible_processor_nproc".into(), vcpus.clone());
    facts.insert("ansible_processor_count".into(), vcpus);

    let os = os_release(&section("os-release"));
    let id = os
        .get("ID")
        .cloned()
        .unwrap_or_else(|| system.to_lowercase());
    let distribution = distribution_name(&id, os.get("NAME"));
    let mut version = os.get("VERSION_ID").cloned().unwrap_or_default();
    let debian_version = nth(&section("debian_version"), 0);
    if id == "debian"
        && debian_version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    {
        version = debian_version;
    }
    let major = version.split('.').next().unwrap_or_default().to_string();
    let release = os
        .get("VERSION_CODENAME")
        .cloned()
        .unwrap_or_else(|| os.get("ID").cloned().unwrap_or_default());
    facts.insert(
        "ansible_os_family".into(),
        json!(os_family(&id, os.get("ID_LIKE"))),
    );
    facts.insert("ansible_distribution".into(), json!(distribution));
    facts.insert("ansible_distribution_version".into(), json!(version));
    facts.insert("ansible_distribution_major_version".into(), json!(major));
    facts.insert("ansible_distribution_release".into(), json!(release));

    let mut memory = Map::new();
    for line in section("meminfo") {
        if let Some((key, rest)) = line.split_once(':') {
            let kb: i64 = rest
                .trim()
                .trim_end_matches(" kB")
                .trim()
                .parse()
                .unwrap_or(0);
            memory.insert(key.to_string(), json!(kb / 1024));
        }
    }
    let mem = |key: &str| memory.get(key).cloned().unwrap_or(json!(0));
    facts.insert("ansible_memtotal_mb".into(), mem("MemTotal"));
    facts.insert("ansible_memfree_mb".into(), mem("MemFree"));
    facts.insert("ansible_swaptotal_mb".into(), mem("SwapTotal"));
    facts.insert("ansible_swapfree_mb".into(), mem("SwapFree"));

    let init = section("init");
    let service_mgr = if init
        .iter()
        .any(|l| l == "systemd" || l == "systemd-running")
    {
        "systemd"
    } else if init.iter().any(|l| l == "openrc-init") {
        "openrc"
    } else {
        "service"
    };
    facts.insert("ansible_service_mgr".into(), json!(service_mgr));
    let pkg_mgr = match nth(&section("pkg"), 0).as_str() {
        "apt-get" => "apt",
        "" => "unknown",
        other => other,
    }
    .to_string();
    facts.insert("ansible_pkg_mgr".into(), json!(pkg_mgr));

    let python = nth(&section("python"), 0);
    if !python.is_empty() {
        facts.insert("ansible_python".into(), json!({ "executable": python }));
    }

    let route = nth(&section("route"), 0);
    let words: Vec<&str> = route.split_whitespace().collect();
    let after = |key: &str| {
        words
            .iter()
            .position(|w| *w == key)
            .and_then(|i| words.get(i + 1))
            .map(|w| w.to_string())
    };
    let mut default_ipv4 = Map::new();
    if let Some(address) = after("src") {
        default_ipv4.insert("address".into(), json!(address));
    }
    if let Some(interface) = after("dev") {
        default_ipv4.insert("interface".into(), json!(interface));
        default_ipv4.insert("alias".into(), json!(interface));
    }
    if let Some(gateway) = after("via") {
        default_ipv4.insert("gateway".into(), json!(gateway));
    }
    facts.insert("ansible_default_ipv4".into(), Json::Object(default_ipv4));
    let addresses: Vec<Json> = nth(&section("ipv4"), 0)
        .split_whitespace()
        .filter(|a| !a.contains(':'))
        .map(|a| json!(a))
        .collect();
    facts.insert("ansible_all_ipv4_addresses".into(), Json::Array(addresses));

    let date = nth(&section("date"), 0);
    let parts: Vec<&str> = date.split_whitespace().collect();
    if parts.len() >= 9 {
        let (day, time) = (parts[0], parts[1]);
        let mut ymd = day.split('-');
        let mut hms = time.split(':');
        facts.insert(
            "ansible_date_time".into(),
            json!({
                "date": day,
                "time": time,
                "year": ymd.next().unwrap_or_default(),
                "month": ymd.next().unwrap_or_default(),
                "day": ymd.next().unwrap_or_default(),
                "hour": hms.next().unwrap_or_default(),
                "minute": hms.next().unwrap_or_default(),
                "second": hms.next().unwrap_or_default(),
                "epoch": parts[2],
                "tz": parts[3],
                "tz_offset": parts[4],
                "weekday": parts[5],
                "month_name": parts[6],
                "julian_day": parts[7],
                "weekday_number": parts[8],
                "iso8601": format!("{day}T{time}Z"),
            }),
        );
    }

    facts.insert(
        "ansible_env".into(),
        Json::Object(environment(&section("env"))),
    );
    facts
}

/// Parses `/etc/os-release` lines into a map, quotes removed.
fn os_release(lines: &[String]) -> std::collections::HashMap<String, String> {
    lines
        .iter()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches(['"', '\'']).to_string()))
        .collect()
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

/// Parses `env` output, joining continuation lines of multi-line values.
fn environment(lines: &[String]) -> Map<String, Json> {
    let mut env = Map::new();
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
    env
}

fn number(text: &str) -> Json {
    text.trim().parse::<i64>().map_or(Json::Null, Json::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_facts_are_json_or_ini() {
        let stdout = "@@env\nA=1\n@@local app\n{\"port\": 80}\n\n@@local site\n[main]\nName = web\n\n@@local bad\nnot a fact\n";
        let facts = local_facts(&format!("\n{stdout}"));
        assert_eq!(facts["app"], json!({"port": 80}));
        assert_eq!(facts["site"], json!({"main": {"name": "web"}}));
        assert_eq!(
            facts["bad"],
            json!("error loading facts as JSON or ini - please check content: bad")
        );
    }

    #[test]
    fn subsets_keep_their_groups_and_min_always() {
        let subsets = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            Subsets::parse(&names).expect("valid subsets")
        };
        let min = subsets(&["!all", "min"]);
        assert!(min.keeps("ansible_distribution"));
        assert!(!min.keeps("ansible_memtotal_mb"));
        assert!(!min.keeps("ansible_default_ipv4"));
        let network = subsets(&["!all", "network"]);
        assert!(network.keeps("ansible_default_ipv4"));
        assert!(!network.keeps("ansible_processor_vcpus"));
        assert!(subsets(&["all"]).keeps("ansible_processor_vcpus"));
        let names = vec!["everything".to_string()];
        assert!(Subsets::parse(&names).is_err());
    }

    const SAMPLE: &str = "@@uname\nLinux\n6.1.0-18-amd64\nx86_64\nweb1.example.com\n#1 SMP\n\
@@fqdn\nweb1.example.com\n@@user\nroot\n0\n0\n/root\n/bin/bash\n@@nproc\n2\n\
@@os-release\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n\
@@debian_version\n12.5\n@@meminfo\nMemTotal:       24576000 kB\nMemFree:  1024000 kB\n\
@@init\nsystemd\n@@pkg\napt-get\n@@python\n/usr/bin/python3\n\
@@route\n1.0.0.1 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0\n@@ipv4\n10.0.0.5 fe80::1\n\
@@date\n2026-11-24 10:00:00 1795514400 UTC +0000 Tuesday November 328 2\n\
@@env\nHOME=/root\nMULTI=a\nb\nPATH=/usr/bin\n";

    #[test]
    fn debian_facts_as_ansible_names_them() {
        let facts = parse_probe(SAMPLE);
        let fact = |k: &str| facts.get(k).cloned().unwrap_or(Json::Null);
        assert_eq!(fact("ansible_os_family"), json!("Debian"));
        assert_eq!(fact("ansible_distribution"), json!("Debian"));
        assert_eq!(fact("ansible_distribution_version"), json!("12.5"));
        assert_eq!(fact("ansible_distribution_major_version"), json!("12"));
        assert_eq!(fact("ansible_distribution_release"), json!("bookworm"));
        assert_eq!(fact("ansible_hostname"), json!("web1"));
        assert_eq!(fact("ansible_fqdn"), json!("web1.example.com"));
        assert_eq!(fact("ansible_domain"), json!("example.com"));
        assert_eq!(fact("ansible_architecture"), json!("x86_64"));
        assert_eq!(fact("ansible_service_mgr"), json!("systemd"));
        assert_eq!(fact("ansible_pkg_mgr"), json!("apt"));
        assert_eq!(fact("ansible_processor_vcpus"), json!(2));
        assert_eq!(fact("ansible_memtotal_mb"), json!(24000));
        assert_eq!(fact("ansible_user_id"), json!("root"));
        assert_eq!(fact("ansible_default_ipv4")["address"], json!("10.0.0.5"));
        assert_eq!(fact("ansible_default_ipv4")["gateway"], json!("10.0.0.1"));
        assert_eq!(fact("ansible_all_ipv4_addresses"), json!(["10.0.0.5"]));
        assert_eq!(fact("ansible_env")["MULTI"], json!("a\nb"));
        assert_eq!(
            fact("ansible_python")["executable"],
            json!("/usr/bin/python3")
        );
        assert_eq!(fact("ansible_date_time")["epoch"], json!("1795514400"));
    }

    #[test]
    fn no_systemd_means_service() {
        let facts = parse_probe("@@init\nbash\n@@pkg\n\n");
        assert_eq!(facts["ansible_service_mgr"], json!("service"));
        assert_eq!(facts["ansible_pkg_mgr"], json!("unknown"));
    }
}
