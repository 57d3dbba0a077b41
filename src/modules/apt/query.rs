//! What `apt` asks the target in one round trip: the age of the package lists (and an
//! `apt-get update` when they are too old), then one `dpkg-query`, the automatic
//! marks (read from apt's `extended_states`, as `apt-mark showauto` does, without
//! its 0.2 s of loading the whole cache) and, when the decision needs candidates, one
//! `apt-cache policy` for every named package, and what `.deb` files hold. The
//! answer comes back in sections, each opened by a [`MARK`] line.

use std::collections::{HashMap, HashSet};

use crate::connection::quote;

/// Opens each section of the query's output.
const MARK: &str = "@@bosun-apt";

/// Prints the time of the last cache update as Ansible reads it: the stamp of apt's
/// periodic job, else the lists directory.
/// (One `stat` for both: the first that exists answers.)
const STAMP: &str = "stamp() { set -- $(stat -c %Y /var/lib/apt/periodic/update-success-stamp \
    /var/lib/apt/lists 2>/dev/null) 0; echo \"$1\"; }";

/// Prints, of the names on its standard input, those `extended_states` marks as
/// installed automatically, as `apt-mark showauto` names them (`:arch` only for a
/// foreign architecture).
/// dpkg knows foreign architectures only once one was added (`/var/lib/dpkg/arch`);
/// without, every mark is the native one and `dpkg --print-architecture` is not run.
const AUTO: &str = "awk -v native=\"$([ ! -e /var/lib/dpkg/arch ] || dpkg --print-architecture 2>/dev/null)\" \
    'NR == FNR { want[$0] = 1; next } /^Package:/ { p = $2; a = \"\" } /^Architecture:/ { a = $2 } \
    /^Auto-Installed: *1/ { n = (native == \"\" || a == native || a == \"all\" || a == \"\") ? p : p \":\" a; \
    if (n in want || (p \":\" a) in want) print n }' - /var/lib/apt/extended_states 2>/dev/null";

/// The `dpkg-query` format: both names (with and without `:arch`), status, version.
const DPKG_FORMAT: &str = r"${binary:Package}\t${Package}\t${Status}\t${Version}\n";

/// What to ask.
#[derive(Debug, Default)]
pub struct Query<'a> {
    /// Update the package lists when they are older than this many seconds (0: always).
    pub update_older_than: Option<i64>,
    /// How long `apt-get update` waits for another apt's lock.
    pub lock_timeout: i64,
    /// Packages to look up in dpkg's database.
    pub installed: &'a [String],
    /// Packages whose automatic-install marks to read.
    pub marks: &'a [String],
    /// Packages to look up in the cache (candidates, versions).
    pub available: &'a [String],
    /// `default_release`: the release the candidates come from.
    pub default_release: Option<&'a str>,
    /// List every package name (to expand wildcards).
    pub all_names: bool,
    /// `.deb` files on the target to read.
    pub debs: &'a [String],
}

impl Query<'_> {
    /// The shell script that answers the query.
    pub fn script(&self) -> String {
        let mut script = format!("{STAMP}\nstamp=$(stamp)\necho \"{MARK} cache $stamp\"\n");
        if let Some(valid) = self.update_older_than {
            script.push_str(&format!(
                "if [ {valid} -le 0 ] || [ $(( stamp + {valid} )) -lt $(date +%s) ]; then\n  \
                 out=$(apt-get update -q -o DPkg::Lock::Timeout={lock} 2>&1); rc=$?\n  \
                 echo \"{MARK} updated $rc $(stamp)\"; printf '%s\\n' \"$out\"\nfi\n",
                lock = self.lock_timeout
            ));
        }
        if !self.installed.is_empty() {
            script.push_str(&format!(
                "echo '{MARK} dpkg'; dpkg-query -W -f='{DPKG_FORMAT}' -- {} 2>/dev/null\n",
                words(self.installed)
            ));
        }
        if !self.available.is_empty() {
            let release = self
                .default_release
                .map(|r| format!(" -o APT::Default-Release={}", quote(r)))
                .unwrap_or_default();
            script.push_str(&format!(
                "echo '{MARK} policy'; apt-cache{release} policy -- {} 2>/dev/null\n",
                words(self.available)
            ));
        }
        if !self.marks.is_empty() {
            script.push_str(&format!(
                "echo '{MARK} auto'; printf '%s\\n' {} | {AUTO}\n",
                words(self.marks)
            ));
        }
        if self.all_names {
            script.push_str(&format!(
                "echo '{MARK} names'; apt-cache pkgnames 2>/dev/null\n"
            ));
        }
        for deb in self.debs {
            script.push_str(&format!(
                "f={}; echo '{MARK} deb'; printf '%s\\n' \"$f\"\n\
                 if [ -f \"$f\" ]; then p=$(dpkg-deb -f \"$f\" Package Version Architecture 2>&1); \
                 printf '%s\\n' \"$p\"; n=$(dpkg-deb -f \"$f\" Package 2>/dev/null)\n  \
                 echo '{MARK} deb-status'; [ -z \"$n\" ] || dpkg-query -W -f='{DPKG_FORMAT}' -- \"$n\" 2>/dev/null\n\
                 fi\n",
                quote(deb)
            ));
        }
        script
    }
}

/// The packages that provide each virtual package, each with whether it is installed.
pub type Providers = HashMap<String, Vec<(String, bool)>>;

/// A second query, for the names the cache has no versions of: what provides them.
pub fn providers_script(names: &[String]) -> String {
    format!(
        "for n in {}; do echo \"{MARK} provides $n\"\n\
         apt-cache showpkg -- \"$n\" 2>/dev/null | sed '1,/^Reverse Provides:/d' |\n\
         while read -r p _; do s=$(dpkg-query -W -f='${{Status}}' -- \"$p\" 2>/dev/null); \
         echo \"$p ${{s##* }}\"; done\ndone\n",
        words(names)
    )
}

/// Parses the providers query: per name, `provider status` lines.
pub fn parse_providers(output: &str) -> Providers {
    sections(output)
        .into_iter()
        .filter_map(|(header, body)| {
            let name = header.strip_prefix("provides ")?;
            let list = body
                .iter()
                .filter_map(|line| {
                    let mut words = line.split_whitespace();
                    let provider = words.next()?;
                    Some((provider.to_string(), words.next() == Some("installed")))
                })
                .collect();
            Some((name.trim().to_string(), list))
        })
        .collect()
}

/// Shell words for `names`, each quoted.
fn words(names: &[String]) -> String {
    names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(" ")
}

/// A package as dpkg knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    /// dpkg's status word: `installed`, `config-files`, `half-installed` ...
    pub status: String,
    /// The version dpkg records.
    pub version: String,
}

impl Installed {
    /// Fully installed.
    pub fn is_installed(&self) -> bool {
        self.status == "installed"
    }

    /// Something of it is on disk (at least its configuration files).
    pub fn has_files(&self) -> bool {
        self.status != "not-installed"
    }
}

/// A package as the cache knows it (`apt-cache policy`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policy {
    /// The version apt would install.
    pub candidate: Option<String>,
    /// Every version the sources offer, as listed.
    pub versions: Vec<String>,
}

/// The result of `apt-get update`, when the query ran it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// Its exit status.
    pub rc: i32,
    /// The lists' time stamp after it.
    pub stamp: i64,
    /// What it printed (both streams).
    pub output: String,
}

impl Update {
    /// Why the update failed, if it did. `apt-get update` exits 0 when an index
    /// cannot be fetched, with a warning: that is a failure too.
    pub fn error(&self) -> Option<String> {
        let problems: Vec<&str> = self
            .output
            .lines()
            .filter(|l| {
                l.starts_with("E:")
                    || l.starts_with("W: Failed to fetch")
                    || l.starts_with("W: Some index files failed")
            })
            .collect();
        match (self.rc, problems.is_empty()) {
            (0, true) => None,
            (_, false) => Some(problems.join("\n")),
            (rc, true) => Some(format!("apt-get update exited with {rc}")),
        }
    }

    /// Whether it failed only because another apt held the lock.
    pub fn locked(&self) -> bool {
        super::cmd::is_locked(&self.output)
    }
}

/// A `.deb` file and the installed package of the same name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deb {
    /// Its path on the target.
    pub path: String,
    /// `Package`, `Version`, `Architecture`; `None` when the file is missing.
    pub fields: Option<HashMap<String, String>>,
    /// What dpkg says of the package it holds.
    pub installed: Option<Installed>,
    /// What `dpkg-deb` said, for errors.
    pub raw: String,
}

/// Everything the query returned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// The lists' time stamp before any update (0 when there are none).
    pub stamp: i64,
    /// The update, when one ran.
    pub update: Option<Update>,
    /// dpkg's records, by package name (with and without `:arch`).
    pub installed: HashMap<String, Installed>,
    /// The cache's records, by the name asked.
    pub policy: HashMap<String, Policy>,
    /// The names asked for that apt marks as installed automatically.
    pub auto: HashSet<String>,
    /// Every package name, when asked.
    pub names: Vec<String>,
    /// The `.deb` files, in order.
    pub debs: Vec<Deb>,
}

impl Snapshot {
    /// Parses the query's output.
    pub fn parse(output: &str) -> Snapshot {
        let mut snapshot = Snapshot::default();
        for (header, body) in sections(output) {
            let mut words = header.split_whitespace();
            match words.next().unwrap_or_default() {
                "cache" => {
                    snapshot.stamp = number(words.next());
                }
                "updated" => {
                    snapshot.update = Some(Update {
                        rc: number(words.next()) as i32,
                        stamp: number(words.next()),
                        output: body.join("\n"),
                    });
                }
                "dpkg" => snapshot.installed.extend(parse_dpkg(&body)),
                "policy" => snapshot.policy = parse_policy(&body),
                "auto" => snapshot.auto = body.iter().map(|l| l.trim().to_string()).collect(),
                "names" => snapshot.names = body.iter().map(|l| l.trim().to_string()).collect(),
                "deb" => snapshot.debs.push(parse_deb(&body)),
                "deb-status" => {
                    if let Some(deb) = snapshot.debs.last_mut() {
                        deb.installed = parse_dpkg(&body).into_iter().next().map(|(_, i)| i);
                    }
                }
                _ => {}
            }
        }
        snapshot
    }

    /// The lists' time stamp after the query: after the update when one ran.
    pub fn stamp_after(&self) -> i64 {
        self.update.as_ref().map_or(self.stamp, |u| u.stamp)
    }

    /// dpkg's record of `name`.
    pub fn installed(&self, name: &str) -> Option<&Installed> {
        self.installed.get(name)
    }
}

/// The output split at [`MARK`] lines: each header (what follows the mark) with the
/// lines up to the next one.
fn sections(output: &str) -> Vec<(&str, Vec<&str>)> {
    let mut sections: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in output.lines() {
        if let Some(header) = line.strip_prefix(MARK) {
            sections.push((header.trim(), Vec::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push(line);
        }
    }
    sections
}

fn number(word: Option<&str>) -> i64 {
    word.and_then(|w| w.parse().ok()).unwrap_or(0)
}

/// `binary:Package<TAB>Package<TAB>Status<TAB>Version` lines, keyed by both names.
pub fn parse_dpkg(lines: &[&str]) -> HashMap<String, Installed> {
    let mut packages = HashMap::new();
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        let [binary, name, status, version] = fields[..] else {
            continue;
        };
        let installed = Installed {
            status: status
                .split_whitespace()
                .last()
                .unwrap_or_default()
                .to_string(),
            version: version.to_string(),
        };
        packages.insert(name.to_string(), installed.clone());
        packages.insert(binary.to_string(), installed);
    }
    packages
}

/// `apt-cache policy` output: per package, the candidate and the version table.
pub fn parse_policy(lines: &[&str]) -> HashMap<String, Policy> {
    let mut policies: HashMap<String, Policy> = HashMap::new();
    let mut current: Option<String> = None;
    for line in lines {
        if !line.starts_with(' ') {
            if let Some(name) = line.trim_end().strip_suffix(':') {
                policies.insert(name.to_string(), Policy::default());
                current = Some(name.to_string());
            }
            continue;
        }
        let Some(policy) = current.as_ref().and_then(|n| policies.get_mut(n)) else {
            continue;
        };
        let trimmed = line.trim();
        if let Some(candidate) = trimmed.strip_prefix("Candidate:") {
            let candidate = candidate.trim();
            policy.candidate = (candidate != "(none)").then(|| candidate.to_string());
            continue;
        }
        // Version rows are indented five columns (` *** ` marks the installed one);
        // their sources, eight.
        let indent = line.len() - line.trim_start().len();
        let row = trimmed.strip_prefix("*** ").unwrap_or(trimmed);
        let words: Vec<&str> = row.split_whitespace().collect();
        if indent <= 5
            && let [version, priority] = words[..]
            && priority.parse::<i64>().is_ok()
        {
            policy.versions.push(version.to_string());
        }
    }
    policies
}

fn parse_deb(lines: &[&str]) -> Deb {
    let path = lines.first().copied().unwrap_or_default().to_string();
    let rest = lines.get(1..).unwrap_or_default();
    let fields: HashMap<String, String> = rest
        .iter()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Deb {
        path,
        fields: fields.contains_key("Package").then_some(fields),
        installed: None,
        raw: rest.join("\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = "\
tree:
  Installed: (none)
  Candidate: 2.1.0-1
  Version table:
     2.1.0-1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
openssh-server:
  Installed: 1:9.2p1-2+deb12u5
  Candidate: 1:9.2p1-2+deb12u6
  Version table:
     1:9.2p1-2+deb12u6 500
        500 http://deb.debian.org/debian bookworm-updates/main amd64 Packages
 *** 1:9.2p1-2+deb12u5 100
        100 /var/lib/dpkg/status
awk:
  Installed: (none)
  Candidate: (none)
  Version table:
";

    #[test]
    fn policy_gives_candidates_and_versions() {
        let lines: Vec<&str> = POLICY.lines().collect();
        let policy = parse_policy(&lines);
        assert_eq!(
            policy["tree"],
            Policy {
                candidate: Some("2.1.0-1".into()),
                versions: vec!["2.1.0-1".into()],
            }
        );
        assert_eq!(
            policy["openssh-server"].versions,
            vec!["1:9.2p1-2+deb12u6", "1:9.2p1-2+deb12u5"]
        );
        assert_eq!(policy["awk"], Policy::default());
        assert!(!policy.contains_key("nosuchpackage"));
    }

    #[test]
    fn dpkg_records_are_keyed_by_both_names() {
        let lines = [
            "tree\ttree\tinstall ok installed\t2.1.0-1",
            "libc6:amd64\tlibc6\tinstall ok installed\t2.36-9+deb12u10",
            "hello\thello\tdeinstall ok config-files\t2.10-3",
            "garbage line",
        ];
        let dpkg = parse_dpkg(&lines);
        assert!(dpkg["tree"].is_installed());
        assert_eq!(dpkg["libc6"].version, "2.36-9+deb12u10");
        assert_eq!(dpkg["libc6:amd64"], dpkg["libc6"]);
        assert!(!dpkg["hello"].is_installed());
        assert!(dpkg["hello"].has_files());
        assert_eq!(dpkg.len(), 4);
    }

    #[test]
    fn the_whole_answer_parses_into_a_snapshot() {
        let output = format!(
            "{MARK} cache 1700000000\n\
             {MARK} updated 0 1700000090\n\
             Hit:1 http://deb.debian.org/debian bookworm InRelease\n\
             Reading package lists...\n\
             {MARK} dpkg\n\
             tree\ttree\tinstall ok installed\t2.1.0-1\n\
             {MARK} policy\n{POLICY}\
             {MARK} auto\n\
             tree\n\
             {MARK} deb\n\
             /tmp/x.deb\n\
             Package: x\n\
             Version: 1.0\n\
             Architecture: all\n\
             {MARK} deb-status\n\
             x\tx\tinstall ok installed\t0.9\n\
             {MARK} deb\n\
             /tmp/missing.deb\n"
        );
        let snapshot = Snapshot::parse(&output);
        assert_eq!(snapshot.stamp, 1700000000);
        let update = snapshot.update.as_ref().expect("an update ran");
        assert_eq!(update.error(), None);
        assert_eq!(snapshot.stamp_after(), 1700000090);
        assert!(
            snapshot
                .installed("tree")
                .is_some_and(Installed::is_installed)
        );
        assert_eq!(
            snapshot.policy["tree"].candidate.as_deref(),
            Some("2.1.0-1")
        );
        assert!(snapshot.auto.contains("tree"));
        assert_eq!(snapshot.debs.len(), 2);
        let deb = &snapshot.debs[0];
        assert_eq!(deb.path, "/tmp/x.deb");
        assert_eq!(
            deb.fields.as_ref().map(|f| f["Version"].as_str()),
            Some("1.0")
        );
        assert_eq!(
            deb.installed.as_ref().map(|i| i.version.as_str()),
            Some("0.9")
        );
        assert_eq!(snapshot.debs[1].fields, None);
    }

    #[test]
    fn an_update_that_only_warns_has_failed() {
        let update = Update {
            rc: 0,
            stamp: 0,
            output: "Err:1 http://deb.debian.org/debian bookworm InRelease\n  \
                     Temporary failure resolving 'deb.debian.org'\n\
                     W: Failed to fetch http://deb.debian.org/debian/dists/bookworm/InRelease\n\
                     W: Some index files failed to download. They have been ignored."
                .into(),
        };
        let error = update.error().expect("a failure");
        assert!(error.starts_with("W: Failed to fetch"), "{error}");
        let locked = Update {
            rc: 100,
            stamp: 0,
            output:
                "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 7 (apt-get)"
                    .into(),
        };
        assert!(locked.locked());
        assert!(locked.error().is_some());
    }

    #[test]
    fn providers_say_who_is_installed() {
        let output = format!(
            "{MARK} provides awk\nmawk installed\ngawk \n\
             {MARK} provides nosuch\n"
        );
        let providers = parse_providers(&output);
        assert_eq!(
            providers["awk"],
            vec![("mawk".to_string(), true), ("gawk".to_string(), false)]
        );
        assert!(providers["nosuch"].is_empty());
        let script = providers_script(&["awk".into()]);
        assert!(script.contains("apt-cache showpkg -- \"$n\""), "{script}");
    }

    #[test]
    fn automatic_marks_are_read_as_apt_mark_showauto_prints_them() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let states = dir.path().join("extended_states");
        std::fs::write(
            &states,
            "Package: libfoo1\nArchitecture: amd64\nAuto-Installed: 1\n\n\
             Package: tree\nArchitecture: amd64\nAuto-Installed: 0\n\n\
             Package: libbar\nArchitecture: i386\nAuto-Installed: 1\n\n\
             Package: fonts\nArchitecture: all\nAuto-Installed: 1\n",
        )
        .expect("extended_states written");
        let names: Vec<String> = ["libfoo1", "tree", "libbar:i386", "fonts", "nosuch"]
            .map(String::from)
            .to_vec();
        let query = Query {
            marks: &names,
            ..Query::default()
        };
        let script = query.script().replace(
            "/var/lib/apt/extended_states",
            &states.display().to_string(),
        );
        let script = script.replace(
            "$([ ! -e /var/lib/dpkg/arch ] || dpkg --print-architecture 2>/dev/null)",
            "amd64",
        );
        let out = std::process::Command::new("sh")
            .args(["-c", &script])
            .output()
            .expect("sh runs");
        let snapshot = Snapshot::parse(&String::from_utf8_lossy(&out.stdout));
        let mut auto: Vec<&str> = snapshot.auto.iter().map(String::as_str).collect();
        auto.sort();
        assert_eq!(auto, ["fonts", "libbar:i386", "libfoo1"]);
        assert!(!script.contains("apt-mark"), "{script}");
    }

    #[test]
    fn the_script_asks_only_what_is_needed() {
        let names = vec!["tree".to_string(), "it's".to_string()];
        let query = Query {
            installed: &names,
            ..Query::default()
        };
        let script = query.script();
        assert!(script.contains("dpkg-query -W"), "{script}");
        assert!(script.contains(r#"'it'"'"'s'"#), "{script}");
        assert!(!script.contains("apt-get update"), "{script}");
        assert!(!script.contains("apt-cache policy"), "{script}");
        let query = Query {
            update_older_than: Some(3600),
            lock_timeout: 60,
            available: &names,
            default_release: Some("bookworm-backports"),
            ..Query::default()
        };
        let script = query.script();
        assert!(script.contains("[ 3600 -le 0 ]"), "{script}");
        assert!(script.contains("DPkg::Lock::Timeout=60"), "{script}");
        assert!(
            script.contains("-o APT::Default-Release=bookworm-backports policy"),
            "{script}"
        );
    }
}
