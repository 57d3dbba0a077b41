//! `deb822_repository`: an apt source in the deb822 format,
//! `/etc/apt/sources.list.d/<name>.sources`, with its fields in the order Ansible's
//! module writes them (sorted by parameter name), and a `signed_by` key fetched from a
//! URL saved as `/etc/apt/keyrings/<name>.asc` (armored) or `.gpg` (binary). One query
//! round trip (which also downloads the key), then only the writes needed.

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use sha2::{Digest as _, Sha256};

use super::{
    Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param, download, fileops, openpgp,
};
use crate::connection::{Command, quote};

/// Where downloaded keys go.
const KEYRINGS_DIR: &str = "/etc/apt/keyrings";

/// The parameters that become deb822 fields, in the order they are written.
const FIELDS: &[&str] = &[
    "allow_downgrade_to_insecure",
    "allow_insecure",
    "allow_weak",
    "architectures",
    "by_hash",
    "check_date",
    "check_valid_until",
    "components",
    "date_max_future",
    "enabled",
    "inrelease_path",
    "languages",
    "name",
    "pdiffs",
    "signed_by",
    "suites",
    "targets",
    "trusted",
    "types",
    "uris",
];

/// Manages a deb822 `.sources` file.
pub struct Deb822Repository;

/// A file's state on the target: mode and SHA-256.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Present {
    mode: u32,
    sha256: String,
}

/// What the query found.
#[derive(Debug, Default)]
struct Snapshot {
    /// Existing files, by path.
    files: Vec<(String, Present)>,
    /// Whether `signed_by` names a file on the target.
    signed_by_is_file: bool,
    /// Whether the keyrings directory exists.
    keyrings_dir: bool,
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

#[async_trait]
impl Module for Deb822Repository {
    fn name(&self) -> &'static str {
        "deb822_repository"
    }

    fn params(&self) -> &'static [Param] {
        const PARAMS: &[Param] = &[
            Param::new("allow_downgrade_to_insecure", Kind::Bool),
            Param::new("allow_insecure", Kind::Bool),
            Param::new("allow_weak", Kind::Bool),
            Param::new("architectures", Kind::List),
            Param::new("by_hash", Kind::Bool),
            Param::new("check_date", Kind::Bool),
            Param::new("check_valid_until", Kind::Bool),
            Param::new("components", Kind::List),
            Param::new("date_max_future", Kind::Int),
            Param::new("enabled", Kind::Bool),
            Param::new("inrelease_path", Kind::Str),
            Param::new("install_python_debian", Kind::Bool),
            Param::new("languages", Kind::List),
            Param::new("name", Kind::Str).required(),
            Param::new("pdiffs", Kind::Bool),
            Param::new("signed_by", Kind::Str),
            Param::new("suites", Kind::List),
            Param::new("targets", Kind::List),
            Param::new("trusted", Kind::Bool),
            Param::new("types", Kind::List),
            Param::new("uris", Kind::List),
            Param::new("mode", Kind::Raw),
            Param::new("state", Kind::Str).choices(&["present", "absent"]),
        ];
        PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let name = args.str("name").unwrap_or_default();
        let state = args.str("state").unwrap_or("present");
        let types = args.strings("types");
        if let Some(bad) = types
            .iter()
            .find(|t| !["deb", "deb-src"].contains(&t.as_str()))
        {
            return Ok(super::failed(format!(
                "value of types must be one or more of: deb, deb-src. Got no match for: {bad}"
            )));
        }
        let mode = match args.get("mode") {
            Some(mode) => super::fileops::parse_mode(mode, None, false),
            None => Ok(0o644),
        };
        let mode = match mode {
            Ok(mode) => mode,
            Err(msg) => return Ok(super::failed(msg)),
        };
        let legacy = legacy_slug(name);
        let modern = name.replace(' ', "-");
        let signed_by = args.str("signed_by");
        let url = signed_by.filter(|s| download::is_url(s));

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
        match (url, signed_by) {
            (Some(url), _) if state == "present" => {
                script.push_str(&download::script(url, true));
            }
            (None, Some(path)) if !path.contains('\n') => {
                script.push_str(&format!("[ -f {} ] && echo P:yes; ", quote(path)));
            }
            _ => {}
        }
        script.push_str("true");
        let out = ctx.conn.exec(&Command::new(script)).await?;
        let output = out.stdout_text();
        let snapshot = parse_snapshot(&output);
        let slug = if snapshot.file(&sources_path(&legacy)).is_some() {
            legacy
        } else {
            modern
        };
        let dest = sources_path(&slug);

        if state == "absent" {
            let doomed: Vec<String> = std::iter::once(dest.clone())
                .chain(["asc", "gpg"].map(|ext| key_path(&slug, ext)))
                .filter(|p| snapshot.file(p).is_some())
                .collect();
            let mut outcome = super::ok(!doomed.is_empty());
            outcome.insert("repo".into(), Json::Null);
            outcome.insert("dest".into(), json!(dest));
            outcome.insert("key_filename".into(), json!(key_path(&slug, "gpg")));
            if !doomed.is_empty() && !ctx.check_mode {
                let quoted: Vec<String> = doomed.iter().map(|p| quote(p)).collect();
                let removed = fileops::run_checked(ctx, format!("rm -f -- {}", quoted.join(" ")));
                if let Err(msg) = removed.await? {
                    return Ok(super::failed(msg));
                }
            }
            return Ok(outcome);
        }

        let mut key_filename = None;
        let mut writes: Vec<(String, Vec<u8>, u32)> = Vec::new();
        let mut chmods: Vec<(String, u32)> = Vec::new();
        let mut fields = Vec::new();
        for param in FIELDS {
            let value = match (*param, args.get(param)) {
                ("types", None) => json!(["deb"]),
                (_, None) => continue,
                (_, Some(value)) => value.clone(),
            };
            let mut text = field_value(&value);
            if *param == "signed_by" {
                if let Some(url) = url {
                    let data = match download::parse(&output, url) {
                        Ok(data) => data,
                        Err(msg) => {
                            return Ok(super::failed(format!(
                                "Could not fetch signed_by key: {msg}"
                            )));
                        }
                    };
                    if !data.is_empty() {
                        let ext = if openpgp::is_armored(&data) {
                            "asc"
                        } else {
                            "gpg"
                        };
                        let path = key_path(&slug, ext);
                        match snapshot.file(&path) {
                            Some(f) if f.sha256 == sha256_hex(&data) => {
                                if f.mode & 0o7777 != 0o644 {
                                    chmods.push((path.clone(), 0o644));
                                }
                            }
                            _ => writes.push((path.clone(), data, 0o644)),
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
                    chmods.push((dest.clone(), mode));
                }
            }
            _ => writes.push((dest.clone(), repo.clone().into_bytes(), mode)),
        }
        let needs_dir = writes.iter().any(|(p, _, _)| p.starts_with(KEYRINGS_DIR));
        let changed = !writes.is_empty() || !chmods.is_empty();
        let mut outcome = super::ok(changed);
        outcome.insert("repo".into(), json!(repo));
        outcome.insert("dest".into(), json!(dest));
        outcome.insert("key_filename".into(), json!(key_filename));
        if ctx.check_mode {
            return Ok(outcome);
        }
        if needs_dir && !snapshot.keyrings_dir {
            let made = fileops::run_checked(ctx, format!("mkdir -p -m 0755 {KEYRINGS_DIR}"));
            if let Err(msg) = made.await? {
                return Ok(super::failed(msg));
            }
        }
        for (path, data, mode) in &writes {
            if let Err(msg) = fileops::write_with_mode(ctx, path, data, *mode).await? {
                return Ok(super::failed(msg));
            }
        }
        for (path, mode) in &chmods {
            let script = format!("chmod {mode:04o} -- {}", quote(path));
            if let Err(msg) = fileops::run_checked(ctx, script).await? {
                return Ok(super::failed(msg));
            }
        }
        Ok(outcome)
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
        let mut sorted = FIELDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, FIELDS, "Ansible writes fields sorted by parameter");
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
}
