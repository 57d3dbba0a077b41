//! `setup`: gathers facts about the target in one round trip, with the names and
//! shapes of Ansible's `setup` on Linux, from shell commands and `/proc`, `/sys` and
//! `/etc` files only (no Python on the target): [`probe`] reads, [`system`],
//! [`hardware`], [`network`] and [`virt`] turn what it read into facts.

mod addresses;
mod hardware;
mod ip;
mod local;
mod network;
mod probe;
mod system;
mod virt;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::typed::{TypedArgs, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

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
        // The interpreter Ansible would use, when the inventory names one.
        let python = ctx
            .vars
            .eval("ansible_python_interpreter")
            .ok()
            .flatten()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        let script = format!(
            "BOSUN_PYTHON={}\n{}\nset -- {}\n{}",
            crate::connection::quote(&python),
            probe::PROBE,
            crate::connection::quote(&args.fact_path),
            local::SCRIPT
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
        let mut facts = collect(&probe::Sections::parse(&stdout), &subsets);
        facts.insert("ansible_local".into(), Json::Object(local::facts(&stdout)));
        facts.insert("ansible_gather_subset".into(), json!(args.gather_subset));
        facts.insert("module_setup".into(), json!(true));
        if !args.filter.is_empty() {
            facts.retain(|name, _| args.filter.iter().any(|f| crate::glob::matches(f, name)));
        }
        let mut outcome = super::ok(false);
        outcome.insert("ansible_facts".into(), Json::Object(facts));
        // As Ansible's setup: the facts are never shown as the task's result, even at -v.
        outcome.insert("_ansible_verbose_override".into(), json!(true));
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
    /// Reads `gather_subset` as Ansible does (a single collector of the minimal
    /// set, `distribution` say, names facts bosun always gathers): `all` first, then each name added or,
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
                // Single collectors of the minimal set: always gathered here.
                name if MIN_COLLECTORS.contains(&name) => {}
                other => {
                    return Err(ModuleError::Failed(format!(
                        "Bad subset '{other}' given to Ansible. gather_subset options allowed: all, hardware, min, network, virtual"
                    )));
                }
            }
        }
        Ok(subsets)
    }
}

/// Ansible's collectors that make up its `min` subset, each also a valid
/// `gather_subset` name.
const MIN_COLLECTORS: &[&str] = &[
    "apparmor",
    "caps",
    "chroot",
    "cmdline",
    "date_time",
    "distribution",
    "dns",
    "env",
    "fips",
    "loadavg",
    "local",
    "lsb",
    "pkg_mgr",
    "platform",
    "python",
    "selinux",
    "service_mgr",
    "ssh_pub_keys",
    "user",
];

/// The facts of the asked-for groups; the minimal facts always come.
fn collect(sections: &probe::Sections, subsets: &Subsets) -> Map<String, Json> {
    let mut facts = system::minimal(sections);
    if subsets.hardware {
        facts.extend(hardware::facts(sections));
    }
    if subsets.network {
        facts.extend(network::facts(sections));
    }
    if subsets.virtual_ {
        facts.extend(virt::virtualization(sections));
    }
    facts
}

/// `text` as an integer, `null` when it is not one.
pub(super) fn number(text: &str) -> Json {
    text.trim().parse::<i64>().map_or(Json::Null, Json::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_choose_the_collectors_and_min_always_comes() {
        let collected = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            let subsets = Subsets::parse(&names).expect("valid subsets");
            collect(&probe::Sections::parse(SAMPLE), &subsets)
        };
        let min = collected(&["!all", "min"]);
        assert!(min.contains_key("ansible_distribution"));
        assert!(!min.contains_key("ansible_memtotal_mb"));
        assert!(!min.contains_key("ansible_default_ipv4"));
        let network = collected(&["!all", "network"]);
        assert!(network.contains_key("ansible_default_ipv4"));
        assert!(!network.contains_key("ansible_processor_vcpus"));
        assert!(collected(&["all"]).contains_key("ansible_processor_vcpus"));
        let names = vec!["everything".to_string()];
        assert!(Subsets::parse(&names).is_err());
    }

    const SAMPLE: &str = "@@uname\nLinux\n6.1.0-18-amd64\nx86_64\nweb1.example.com\n#1 SMP\n\
@@fqdn\n10.0.0.5 web1.example.com web1\n@@user\nroot\n0\n0\n0\n0\nroot:x:0:0:root:/root:/bin/bash\n@@nproc\n2\n@@cpuinfo\nprocessor\t: 0\nprocessor\t: 1\n\
@@os-release\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\nID=debian\n\
@@debian_version\n12.5\n@@meminfo\nMemTotal:       24576000 kB\nMemFree:  1024000 kB\n\
@@init\nsystemd\n@@pkg\napt-get\n@@python\n/usr/bin/python3\nPython 3.11.2\n\
@@net\ndev eth0\nmtu 1500\n\
@@ip\n8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0\n2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever preferred_lft forever\n\
@@date\n2026-11-24 11:00:00 1795514400 CET +0100 Tuesday November 328 2 47 123456789\n\
@@env\nHOME=/root\nMULTI=a\nb\nPATH=/usr/bin\n";

    #[test]
    fn debian_facts_as_ansible_names_them() {
        let facts = collect(
            &probe::Sections::parse(SAMPLE),
            &Subsets::parse(&["all".into()]).expect("all"),
        );
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
        assert_eq!(fact("ansible_processor_nproc"), json!(2));
        assert_eq!(fact("ansible_processor_count"), json!(2));
        assert_eq!(fact("ansible_python_version"), json!("3.11.2"));
        assert_eq!(fact("ansible_python")["version"]["minor"], json!(11));
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
        assert_eq!(fact("ansible_date_time")["hour"], json!("11"));
        assert_eq!(
            fact("ansible_date_time")["iso8601_micro"],
            json!("2026-11-24T10:00:00.123456Z")
        );
    }

    #[test]
    fn no_systemd_means_service() {
        let facts = system::minimal(&probe::Sections::parse(
            "@@uname\nLinux\n@@init\nbash\n@@pkg\n\n",
        ));
        assert_eq!(facts["ansible_service_mgr"], json!("service"));
        assert_eq!(facts["ansible_pkg_mgr"], json!("unknown"));
    }
}
