//! `deb822_repository`: an apt source in the deb822 format,
//! `/etc/apt/sources.list.d/<name>.sources`, with its fields in the order Ansible's
//! module writes them (sorted by parameter name), and a `signed_by` key fetched from a
//! URL saved as `/etc/apt/keyrings/<name>.asc` (armored) or `.gpg` (binary). One query
//! round trip (which also downloads the key), then only the writes needed.

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

use super::contract::{Decision, StateModule};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target, download, fileops, openpgp};
use crate::connection::{Command, quote};

/// Where downloaded keys go.
const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

arg_enum! {
    /// Whether the source should exist.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// `deb822_repository`'s arguments: the deb822 fields, `mode` and `state`.
    /// Ansible's `install_python_debian` only serves its Python module: not accepted.
    pub struct Deb822Args {
        allow_downgrade_to_insecure: Option<bool>,
        allow_insecure: Option<bool>,
        allow_weak: Option<bool>,
        architectures: Option<Vec<String>>,
        by_hash: Option<bool>,
        check_date: Option<bool>,
        check_valid_until: Option<bool>,
        components: Option<Vec<String>>,
        date_max_future: Option<i64>,
        enabled: Option<bool>,
        inrelease_path: Option<String>,
        languages: Option<Vec<String>>,
        /// The source's name: its file's and key's names come from it.
        name: String => .required(),
        pdiffs: Option<bool>,
        /// A key: a path on the target, a URL to download, or the key itself.
        signed_by: Option<String>,
        suites: Option<Vec<String>>,
        targets: Option<Vec<String>>,
        trusted: Option<bool>,
        /// `deb`, `deb-src`; `deb` when not given.
        types: Option<Vec<String>>,
        uris: Option<Vec<String>>,
        /// The permissions of the `.sources` file.
        mode: Json,
        state: State => .default_str("present"),
    }
}

impl Deb822Args {
    /// The parameters that become deb822 fields with their values, in the order they
    /// are written (sorted by parameter name, as Ansible's module writes them).
    fn fields(&self) -> Vec<(&'static str, Option<Json>)> {
        vec![
            (
                "allow_downgrade_to_insecure",
                given(&self.allow_downgrade_to_insecure),
            ),
            ("allow_insecure", given(&self.allow_insecure)),
            ("allow_weak", given(&self.allow_weak)),
            ("architectures", given(&self.architectures)),
            ("by_hash", given(&self.by_hash)),
            ("check_date", given(&self.check_date)),
            ("check_valid_until", given(&self.check_valid_until)),
            ("components", given(&self.components)),
            ("date_max_future", given(&self.date_max_future)),
            ("enabled", given(&self.enabled)),
            ("inrelease_path", given(&self.inrelease_path)),
            ("languages", given(&self.languages)),
            ("name", Some(json!(self.name))),
            ("pdiffs", given(&self.pdiffs)),
            ("signed_by", given(&self.signed_by)),
            ("suites", given(&self.suites)),
            ("targets", given(&self.targets)),
            ("trusted", given(&self.trusted)),
            (
                "types",
                Some(given(&self.types).unwrap_or_else(|| json!(["deb"]))),
            ),
            ("uris", given(&self.uris)),
        ]
    }

    /// The key URL `signed_by` gives, if it is one.
    fn key_url(&self) -> Option<&str> {
        self.signed_by.as_deref().filter(|s| download::is_url(s))
    }
}

/// An optional argument as the JSON value of its field; `None` when not given.
fn given<T: serde::Serialize>(value: &Option<T>) -> Option<Json> {
    value.as_ref().and_then(|v| serde_json::to_value(v).ok())
}

/// Manages a deb822 `.sources` file.
pub struct Deb822Repository;

/// A file's state on the target: mode and SHA-256.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Present {
    mode: u32,
    sha256: String,
}

/// What the query found.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Existing files, by path.
    files: Vec<(String, Present)>,
    /// Whether `signed_by` names a file on the target.
    signed_by_is_file: bool,
    /// Whether the keyrings directory exists.
    keyrings_dir: bool,
    /// The key `signed_by` downloaded, when it is a URL.
    key: Option<Result<Vec<u8>, String>>,
}

/// The changes: files to delete, the keyrings directory to make, files to write,
/// permissions to fix.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    remove: Vec<String>,
    make_keyrings_dir: bool,
    writes: Vec<(String, Vec<u8>, u32)>,
    chmods: Vec<(String, u32)>,
}

impl Snapshot {
    fn file(&self, path: &str) -> Option<&Present> {
        self.files.iter().find(|(p, _)| p == path).map(|(_, f)| f)
    }
}

/// Parses the query's `F:<mode>|<sha256>|<path>`, `P:` and `D:` lines.
fn parse_snapshot(output: &str) -> Snapshot {
    let mut snapshot = Snapshot::default();
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("F:") {
            let mut parts = rest.splitn(3, '|');
            if let (Some(mode), Some(sum), Some(path)) = (parts.next(), parts.next(), parts.next())
            {
                snapshot.files.push((
                    path.to_string(),
                    Present {
                        mode: u32::from_str_radix(mode, 8).unwrap_or(0),
                        sha256: sum.to_string(),
                    },
                ));
            }
        } else if line == "P:yes" {
            snapshot.signed_by_is_file = true;
        } else if line == "D:yes" {
            snapshot.keyrings_dir = true;
        }
    }
    snapshot
}

/// The slug Ansible's older releases made of a name (still used when its file exists).
fn legacy_slug(name: &str) -> String {
    let spaced = regex::Regex::new(r"[_\s]+").expect("a valid regex");
    let other = regex::Regex::new(r"[^a-z0-9-]+").expect("a valid regex");
    other
        .replace_all(&spaced.replace_all(&name.to_lowercase(), "-"), "")
        .into_owned()
}

fn sources_path(slug: &str) -> String {
    format!("/etc/apt/sources.list.d/{slug}.sources")
}

fn key_path(slug: &str, ext: &str) -> String {
    format!("{KEYRINGS_DIR}/{slug}.{ext}")
}

/// A deb822 field name for a parameter, as Ansible's `format_field_name`.
fn field_name(param: &str) -> String {
    match param {
        "name" => "X-Repolib-Name".into(),
        "uris" => "URIs".into(),
        _ => param
            .split('_')
            .map(|word| {
                let mut chars = word.chars();
                chars.next().map_or(String::new(), |first| {
                    first.to_uppercase().collect::<String>() + &chars.as_str().to_lowercase()
                })
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// A field value as text: booleans `yes`/`no`, lists joined by spaces.
fn field_value(value: &Json) -> String {
    match value {
        Json::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Json::Array(items) => items
            .iter()
            .map(|item| match item {
                Json::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" "),
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A multi-line value as deb822 continuation lines (empty lines as `.`).
fn multiline(value: &str) -> String {
    let lines: Vec<String> = value
        .trim()
        .lines()
        .map(|line| {
            let line = line.trim();
            format!("    {}", if line.is_empty() { "." } else { line })
        })
        .collect();
    format!("\n{}", lines.join("\n"))
}

/// The `.sources` text for `fields` (name, value), as python-debian's `dump`.
fn render(fields: &[(String, String)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            let value = if value.contains('\n') {
                multiline(value)
            } else {
                value.clone()
            };
            if value.is_empty() || value.starts_with('\n') {
                format!("{name}:{value}\n")
            } else {
                format!("{name}: {value}\n")
            }
        })
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The `.sources` file's slug: the legacy one when its file exists.
fn slug(name: &str, snapshot: &Snapshot) -> String {
    let legacy = legacy_slug(name);
    match snapshot.file(&sources_path(&legacy)) {
        Some(_) => legacy,
        None => name.replace(' ', "-"),
    }
}

#[async_trait]
impl StateModule for Deb822Repository {
    const NAME: &'static str = "deb822_repository";
    type Args = Deb822Args;
    type State = Snapshot;
    type Plan = Changes;

    async fn query(&self, on: &Target<'_>, args: &Deb822Args) -> Result<Snapshot, ModuleError> {
        let legacy = legacy_slug(&args.name);
        let modern = args.name.replace(' ', "-");
        let mut script = String::new();
        let mut paths = vec![sources_path(&legacy), sources_path(&modern)];
        for slug in [&legacy, &modern] {
            paths.extend(["asc", "gpg"].map(|ext| key_path(slug, ext)));
        }
        paths.sort();
        paths.dedup();
        for path in &paths {
            let p = quote(path);
            script.push_str(&format!(
                "[ -f {p} ] && printf 'F:%s|%s|%s\\n' \"$(stat -c %a {p})\" \"$(sha256sum < {p} | cut -d' ' -f1)\" {p}; "
            ));
        }
        script.push_str(&format!("[ -d {KEYRINGS_DIR} ] && echo D:yes; "));
        let url = args.key_url().filter(|_| args.state == State::Present);
        match (url, args.signed_by.as_deref()) {
            (Some(url), _) => script.push_str(&download::script(url, true)),
            (None, Some(path)) if !path.contains('\n') => {
                script.push_str(&format!("[ -f {} ] && echo P:yes; ", quote(path)));
            }
            _ => {}
        }
        script.push_str("true");
        let out = on.conn.exec(&Command::new(script)).await?;
        let output = out.stdout_text();
        let mut snapshot = parse_snapshot(&output);
        snapshot.key = url.map(|url| download::parse(&output, url));
        Ok(snapshot)
    }

    fn decide(&self, args: &Deb822Args, snapshot: Snapshot) -> Result<Decision<Changes>, String> {
        if let Some(bad) = args
            .types
            .iter()
            .flatten()
            .find(|t| !["deb", "deb-src"].contains(&t.as_str()))
        {
            return Err(format!(
                "value of types must be one or more of: deb, deb-src. Got no match for: {bad}"
            ));
        }
        let mode = match &args.mode {
            Json::Null => 0o644,
            mode => fileops::parse_mode(mode, None, false)?,
        };
        let slug = slug(&args.name, &snapshot);
        let dest = sources_path(&slug);
        if args.state == State::Absent {
            let remove: Vec<String> = std::iter::once(dest.clone())
                .chain(["asc", "gpg"].map(|ext| key_path(&slug, ext)))
                .filter(|p| snapshot.file(p).is_some())
                .collect();
            let changes = Some(Changes {
                remove,
                ..Changes::default()
            });
            return Ok(Decision::maybe(changes.filter(|c| !c.remove.is_empty()))
                .with("repo", Json::Null)
                .with("dest", dest)
                .with("key_filename", key_path(&slug, "gpg")));
        }
        let mut key_filename = None;
        let mut changes = Changes::default();
        let mut fields = Vec::new();
        for (param, value) in args.fields() {
            let Some(value) = value else {
                continue;
            };
            let mut text = field_value(&value);
            if param == "signed_by" {
                if let Some(key) = &snapshot.key {
                    let data = key
                        .as_ref()
                        .map_err(|msg| format!("Could not fetch signed_by key: {msg}"))?;
                    if !data.is_empty() {
                        let ext = if openpgp::is_armored(data) {
                            "asc"
                        } else {
                            "gpg"
                        };
                        let path = key_path(&slug, ext);
                        match snapshot.file(&path) {
                            Some(f) if f.sha256 == sha256_hex(data) => {
                                if f.mode & 0o7777 != 0o644 {
                                    changes.chmods.push((path.clone(), 0o644));
                                }
                            }
                            _ => changes.writes.push((path.clone(), data.clone(), 0o644)),
                        }
                        text = path.clone();
                        key_filename = Some(path);
                    }
                } else if snapshot.signed_by_is_file {
                    key_filename = Some(text.clone());
                }
            }
            fields.push((field_name(param), text));
        }
        let repo = render(&fields);
        match snapshot.file(&dest) {
            Some(f) if f.sha256 == sha256_hex(repo.as_bytes()) => {
                if f.mode & 0o7777 != mode {
                    changes.chmods.push((dest.clone(), mode));
                }
            }
            _ => changes
                .writes
                .push((dest.clone(), repo.clone().into_bytes(), mode)),
        }
        changes.make_keyrings_dir = !snapshot.keyrings_dir
            && changes
                .writes
                .iter()
                .any(|(p, _, _)| p.starts_with(KEYRINGS_DIR));
        let changed = !changes.writes.is_empty() || !changes.chmods.is_empty();
        Ok(Decision::maybe(changed.then_some(changes))
            .with("repo", repo)
            .with("dest", dest)
            .with("key_filename", key_filename))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        _args: &Deb822Args,
        changes: Changes,
    ) -> Result<Outcome, ModuleError> {
        let failed = ModuleError::Failed;
        if !changes.remove.is_empty() {
            let quoted: Vec<String> = changes.remove.iter().map(|p| quote(p)).collect();
            let removed = fileops::run_checked(on, format!("rm -f -- {}", quoted.join(" ")));
            removed.await?.map_err(failed)?;
        }
        if changes.make_keyrings_dir {
            let made = fileops::run_checked(on, format!("mkdir -p -m 0755 {KEYRINGS_DIR}"));
            made.await?.map_err(failed)?;
        }
        for (path, data, mode) in &changes.writes {
            fileops::write_with_mode(on, path, data, *mode)
                .await?
                .map_err(failed)?;
        }
        for (path, mode) in &changes.chmods {
            let script = format!("chmod {mode:04o} -- {}", quote(path));
            fileops::run_checked(on, script).await?.map_err(failed)?;
        }
        Ok(Outcome::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_sources_are_written_in_ansible_order() {
        let fields: Vec<(String, String)> = [
            ("components", "stable"),
            ("name", "docker"),
            ("signed_by", "/etc/apt/keyrings/docker.asc"),
            ("suites", "bookworm"),
            ("types", "deb"),
            ("uris", "https://download.docker.com/linux/debian"),
        ]
        .iter()
        .map(|(p, v)| (field_name(p), v.to_string()))
        .collect();
        assert_eq!(
            render(&fields),
            "Components: stable\nX-Repolib-Name: docker\nSigned-By: /etc/apt/keyrings/docker.asc\n\
             Suites: bookworm\nTypes: deb\nURIs: https://download.docker.com/linux/debian\n"
        );
        assert_eq!(field_name("check_valid_until"), "Check-Valid-Until");
        assert_eq!(field_name("by_hash"), "By-Hash");
        assert_eq!(field_value(&json!(false)), "no");
        assert_eq!(field_value(&json!(["amd64", "arm64"])), "amd64 arm64");
        let args: Deb822Args =
            crate::modules::typed::from_json(json!({"name": "x"})).expect("valid arguments");
        let names: Vec<&str> = args.fields().iter().map(|(p, _)| *p).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, names, "Ansible writes fields sorted by parameter");
    }

    #[test]
    fn inline_keys_become_continuation_lines() {
        let fields = vec![(
            "Signed-By".to_string(),
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n-----END PGP PUBLIC KEY BLOCK-----\n"
                .to_string(),
        )];
        assert_eq!(
            render(&fields),
            "Signed-By:\n    -----BEGIN PGP PUBLIC KEY BLOCK-----\n    .\n    mDMEZ\n    -----END PGP PUBLIC KEY BLOCK-----\n"
        );
    }

    #[test]
    fn slugs_and_snapshot() {
        assert_eq!(legacy_slug("My_Repo 2!"), "my-repo-2");
        let snapshot =
            parse_snapshot("F:644|abc|/etc/apt/sources.list.d/x.sources\nD:yes\nnoise\nP:yes\n");
        assert_eq!(
            snapshot.file("/etc/apt/sources.list.d/x.sources"),
            Some(&Present {
                mode: 0o644,
                sha256: "abc".into()
            })
        );
        assert!(snapshot.keyrings_dir && snapshot.signed_by_is_file);
    }

    fn decide(args: Json, snapshot: Snapshot) -> Result<Decision<Changes>, String> {
        let args = crate::modules::typed::from_json(args).expect("valid arguments");
        Deb822Repository.decide(&args, snapshot)
    }

    #[test]
    fn a_new_source_is_written_and_a_written_one_kept() {
        let args = json!({"name": "bosun", "uris": "http://x/", "suites": "./"});
        let decision = decide(args.clone(), Snapshot::default()).expect("a decision");
        let changes = decision.plan.expect("a write");
        let (path, text, mode) = &changes.writes[0];
        assert_eq!(path, "/etc/apt/sources.list.d/bosun.sources");
        let text = String::from_utf8_lossy(text).into_owned();
        assert_eq!(
            text,
            "X-Repolib-Name: bosun\nSuites: ./\nTypes: deb\nURIs: http://x/\n"
        );
        assert_eq!(*mode, 0o644);
        let sum = sha256_hex(text.as_bytes());
        let snapshot = parse_snapshot(&format!("F:644|{sum}|{path}\n"));
        assert!(decide(args, snapshot).expect("a decision").plan.is_none());
        let bad = json!({"name": "b", "types": ["rpm"]});
        assert!(decide(bad, Snapshot::default()).is_err());
    }

    #[test]
    fn absent_removes_the_source_and_its_key() {
        let snapshot = parse_snapshot(
            "F:644|a|/etc/apt/sources.list.d/b.sources\nF:644|b|/etc/apt/keyrings/b.asc\n",
        );
        let decision = decide(json!({"name": "b", "state": "absent"}), snapshot).expect("ok");
        let changes = decision.plan.expect("a removal");
        assert_eq!(
            changes.remove,
            [
                "/etc/apt/sources.list.d/b.sources",
                "/etc/apt/keyrings/b.asc"
            ]
        );
    }
}
