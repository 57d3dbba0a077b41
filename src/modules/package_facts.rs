//! `package_facts`: the installed packages as `ansible_facts.packages`, in the shape of
//! Ansible's `apt` manager (name, version, arch, category, origin, source), read with
//! `dpkg-query` and the apt lists' `Release` files in one round trip: no python3-apt
//! on the target.
//!
//! It only reads, so it has nothing to decide or apply: it implements [`Module`]
//! directly, like `setup`.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::typed::{TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::Command;

arg_enum! {
    /// Whether to stop at the first manager that finds packages.
    pub enum Strategy {
        First = "first",
        All = "all",
    }
}

module_args! {
    /// `package_facts`' arguments.
    pub struct PackageFactsArgs {
        /// The package managers to ask (`auto`, `apt`, `rpm` ...).
        manager: Vec<String> => .default_str("auto"),
        strategy: Strategy => .default_str("first"),
    }
}

/// The managers Ansible's module knows.
const KNOWN: &[&str] = &[
    "apk", "apt", "pacman", "pkg", "pkg_info", "pkgng", "portage", "rpm",
];

/// Lists the installed packages (`dpkg-query`), then the origin and section of each
/// installed version: the `Origin` and `Section` of the first apt list that has that
/// version, as python3-apt's `origins[0]` and `section` give them, or no origin and
/// dpkg's section for a version only dpkg knows.
const SCRIPT: &str = r#"export LANG=C LC_ALL=C
command -v dpkg-query >/dev/null 2>&1 || exit 3
l=$(mktemp) || exit 1
dpkg-query -W -f='${db:Status-Status}\t${binary:Package}\t${Version}\t${Architecture}\t${Section}\n' 2>/dev/null | awk -F'\t' '$1 == "installed"' > "$l"
echo "@@native $(dpkg --print-architecture 2>/dev/null)"
echo '@@packages'; cat "$l"
echo '@@origins'
for r in /var/lib/apt/lists/*_InRelease /var/lib/apt/lists/*_Release; do
  [ -f "$r" ] || continue
  o=$(sed -n 's/^Origin: //p' "$r" | head -n1); p=${r%_InRelease}; p=${p%_Release}
  for f in "$p"_*_Packages; do [ -f "$f" ] && printf '%s\t%s\n' "$o" "$f"; done
done | while IFS="$(printf '\t')" read -r o f; do
  awk -F'\t' -v o="$o" 'NR == FNR { split($2, n, ":"); want[n[1] "\t" $3] = 1; next }
    /^Package: / { p = substr($0, 10) } /^Version: / { v = substr($0, 10) } /^Section: / { s = substr($0, 10) }
    /^$/ { if ((p "\t" v) in want) print p "\t" v "\t" o "\t" s; p = v = s = "" }
    END { if ((p "\t" v) in want) print p "\t" v "\t" o "\t" s }' "$l" "$f"
done
rm -f "$l"
"#;

/// Gathers package facts.
pub struct PackageFacts;

#[async_trait]
impl Module for PackageFacts {
    fn name(&self) -> &'static str {
        "package_facts"
    }

    fn params(&self) -> &'static [Param] {
        PackageFactsArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = PackageFactsArgs::from_args(args).map_err(ModuleError::Failed)?;
        let mut managers: Vec<String> = args.manager.iter().map(|m| m.to_lowercase()).collect();
        if let Some(at) = managers.iter().position(|m| m == "auto") {
            managers.remove(at);
            managers.extend(KNOWN.iter().map(|m| m.to_string()));
        }
        let unsupported: Vec<&str> = managers
            .iter()
            .map(String::as_str)
            .filter(|m| !KNOWN.contains(m))
            .collect();
        if !unsupported.is_empty() {
            return Err(ModuleError::Failed(format!(
                "Unsupported package managers requested: {}",
                unsupported.join(", ")
            )));
        }
        // Only apt can find packages on Debian, so stopping at the first manager that
        // finds some (`first`) and asking them all (`all`) give the same packages.
        let (Strategy::First | Strategy::All) = args.strategy;
        let mut packages = Map::new();
        if managers.iter().any(|m| m == "apt") {
            let command = Command::new(SCRIPT);
            let out = ctx.conn.exec(&command).await?;
            if out.rc == 0 {
                packages = parse(&out.stdout_text());
            }
        }
        if packages.is_empty() {
            let list = managers
                .iter()
                .map(|m| format!("'{m}'"))
                .collect::<Vec<_>>()
                .join(", ");
            return Err(ModuleError::Failed(format!(
                "Could not detect a supported package manager from the following list: [{list}], or the required Python library is not installed. Check warnings for details."
            )));
        }
        let mut outcome = super::ok(false);
        outcome.insert(
            "ansible_facts".into(),
            json!({ "packages": Json::Object(packages) }),
        );
        Ok(outcome)
    }
}

/// The packages in the script's output, keyed by name, each a list of versions.
fn parse(stdout: &str) -> Map<String, Json> {
    let mut section = "";
    let mut listed: Vec<(String, String, String, String)> = Vec::new();
    let mut origins: std::collections::HashMap<(String, String), (String, String)> =
        Default::default();
    let mut native = String::new();
    for line in stdout.lines() {
        if let Some(arch) = line.strip_prefix("@@native ") {
            native = format!(":{}", arch.trim());
            continue;
        }
        if let Some(name) = line.strip_prefix("@@") {
            section = if name == "packages" {
                "packages"
            } else {
                "origins"
            };
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        match (section, fields.as_slice()) {
            // python3-apt names native packages without their architecture.
            ("packages", [_, name, version, arch, category]) => listed.push((
                name.strip_suffix(native.as_str())
                    .unwrap_or(name)
                    .to_string(),
                version.to_string(),
                arch.to_string(),
                category.to_string(),
            )),
            ("origins", [name, version, origin, section]) => {
                origins
                    .entry((name.to_string(), version.to_string()))
                    .or_insert_with(|| (origin.to_string(), section.to_string()));
            }
            _ => {}
        }
    }
    let mut packages = Map::new();
    for (name, version, arch, category) in listed {
        let bare = name.split(':').next().unwrap_or_default().to_string();
        let (origin, category) = match origins.get(&(bare, version.clone())) {
            Some((origin, section)) if !section.is_empty() => (origin.clone(), section.clone()),
            Some((origin, _)) => (origin.clone(), category),
            None => (String::new(), category),
        };
        let entry = json!({
            "name": name, "version": version, "arch": arch,
            "category": category, "origin": origin, "source": "apt",
        });
        if let Json::Array(list) = packages.entry(name).or_insert_with(|| json!([])) {
            list.push(entry);
        }
    }
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_read_as_the_apt_manager_gives_them() {
        let out = "@@native amd64\n@@packages\ninstalled\ttree:amd64\t2.1.0-1\tamd64\tutils\n\
installed\tlibc6:i386\t2.36-9\ti386\tlibs\ninstalled\tlocal-only\t1.0\tall\tmisc\n\
@@origins\ntree\t2.1.0-1\tDebian\tmisc\nlibc6\t2.36-9\tDebian\tlibs\n";
        let packages = parse(out);
        assert_eq!(
            packages["tree"],
            json!([{"name": "tree", "version": "2.1.0-1", "arch": "amd64", "category": "misc",
                    "origin": "Debian", "source": "apt"}])
        );
        assert_eq!(packages["libc6:i386"][0]["origin"], "Debian");
        assert_eq!(packages["local-only"][0]["origin"], "");
    }
}
