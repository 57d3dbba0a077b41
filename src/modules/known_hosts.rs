//! `known_hosts`: adds, replaces or removes a host's key in an SSH `known_hosts` file,
//! as Ansible's module does: `ssh-keygen -F` finds the host (hashed entries too), a key
//! of the same type is replaced in place of the old line, a new one is appended, and
//! `state: absent` without a key removes every entry with `ssh-keygen -R`.

use async_trait::async_trait;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value as Json, json};
use sha1::Sha1;

use super::contract::{Decision, StateModule};
use super::fileops::Attributes;
use super::textfile::{self, Codec, SavePlan, TextFile};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

arg_enum! {
    /// Whether the key should be in the file.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// `known_hosts`' arguments.
    pub struct KnownHostsArgs {
        /// The host (lowercased, one name).
        name: String => .required().aliases(&["host"]),
        /// The line to add: `host keytype key`, optionally hashed or with a marker.
        key: Option<String>,
        /// The file.
        path: String => .default_str("~/.ssh/known_hosts"),
        /// Hash the host name in the added line.
        hash_host: bool => .default_bool(false),
        state: State => .default_str("present"),
    }
}

/// Manages `known_hosts` entries.
pub struct KnownHosts;

/// What the query found.
#[derive(Debug)]
pub struct Found {
    /// The file.
    file: TextFile,
    /// The key to add, hashed and ending in a newline, when one is given.
    key: Option<String>,
    /// `ssh-keygen -F host` on the file: status, output, errors.
    search: (i32, String, String),
    /// Whether `ssh-keygen -F host` finds the host in the key itself.
    key_names_host: bool,
}

/// What changes.
#[derive(Debug)]
pub enum Plan {
    /// The file's new text, and the file.
    Save(Box<SavePlan>, String),
    /// Every entry of the host removed with `ssh-keygen -R`.
    Remove(String),
}

/// The separator between the probe's parts.
const PART: &str = "\u{1}bosun-part\u{1}";

#[async_trait]
impl StateModule for KnownHosts {
    const NAME: &'static str = "known_hosts";
    type Args = KnownHostsArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &Self::Args) -> Result<Found, ModuleError> {
        let host = args.name.to_lowercase();
        if args.key.is_none() && args.state == State::Present {
            return Err(ModuleError::Failed(
                "No key specified when adding a host".into(),
            ));
        }
        let mut key = args.key.clone().filter(|k| !k.is_empty());
        if let (Some(line), true) = (&key, args.hash_host) {
            key = Some(hash_host_key(&host, line));
        }
        if let Some(line) = &mut key
            && !line.ends_with('\n')
        {
            line.push('\n');
        }
        let path = shell_path(&args.path);
        let h = quote(&host);
        let mut probe = format!(
            "if ! command -v ssh-keygen >/dev/null 2>&1; then printf nokeygen; \
             elif [ -e {path} ]; then e=$(mktemp); o=$(ssh-keygen -F {h} -f {path} 2>\"$e\"); rc=$?; printf '%s\\n%s%s' \"$rc\" \"$o\" {PART}; cat \"$e\"; rm -f \"$e\"; else printf '1\\n%s' {PART}; fi; printf %s {PART}\n",
            PART = quote(PART),
        );
        if let Some(line) = &key {
            probe.push_str(&format!(
                "t=$(mktemp); printf '%s' {} > \"$t\"; ssh-keygen -F {h} -f \"$t\" 2>/dev/null; rm -f \"$t\"\n",
                quote(line)
            ));
        }
        let (file, probed) = textfile::read_with(on, &args.path, Codec::Utf8, Some(&probe)).await?;
        let mut parts = probed.splitn(3, PART);
        let head = parts.next().unwrap_or_default();
        let Some(errors) = parts.next().filter(|_| !head.starts_with("nokeygen")) else {
            return Err(ModuleError::Failed(
                "Failed to find required executable \"ssh-keygen\" in paths".into(),
            ));
        };
        let sanity = parts.next().unwrap_or_default();
        let (rc, output) = head.split_once('\n').unwrap_or((head, ""));
        Ok(Found {
            file,
            key,
            search: (
                rc.trim().parse().unwrap_or(1),
                output.to_string(),
                errors.to_string(),
            ),
            key_names_host: !sanity.trim().is_empty(),
        })
    }

    fn decide(&self, args: &Self::Args, found: Found) -> Result<Decision<Plan>, String> {
        let host = args.name.to_lowercase();
        let present = args.state == State::Present;
        let key = found.key.as_deref();
        if key.is_some() {
            let comma = regex_lite_comma(&host);
            if comma {
                return Err("Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.".into());
            }
            if !found.key_names_host {
                return Err(
                    "Host parameter does not match hashed host field in supplied key".into(),
                );
            }
        }
        let (is_found, replace_or_add, found_line) = match &found.file.text {
            None => (false, false, None),
            Some(_) => search(&found.search, key)?,
        };
        let before = found.file.text.clone().unwrap_or_default();
        let mut lines: Vec<&str> = before.split_inclusive('\n').collect();
        if let Some(line) =
            found_line.filter(|n| (replace_or_add || !present) && *n >= 1 && *n <= lines.len())
        {
            lines.remove(line - 1);
        }
        let mut after = lines.concat();
        if present && (replace_or_add || found_line.is_none()) {
            after.push_str(key.unwrap_or_default());
        }
        let path = found.file.path.clone();
        let diff = json!({
            "before_header": if found.file.text.is_some() { path.as_str() } else { "/dev/null" },
            "after_header": path,
            "before": before,
            "after": after,
        });
        let result = |d: Decision<Plan>| {
            d.with_diff(diff.clone())
                .with("name", args.name.clone())
                .with("key", args.key.clone().map_or(Json::Null, Json::from))
                .with("path", path.clone())
                .with("hash_host", args.hash_host)
                .with("state", args.state.as_str())
        };
        if !present && found_line.is_none() && key.is_some() {
            return Ok(result(Decision::unchanged()));
        }
        if is_found && key.is_none() && !present {
            return Ok(result(Decision::change(Plan::Remove(path.clone()))));
        }
        if replace_or_add || is_found != present {
            let plan = textfile::plan_save(&found.file, &Attributes::default(), &after, true, "")?;
            return Ok(result(Decision::change(Plan::Save(
                Box::new(plan),
                path.clone(),
            ))));
        }
        let mut unchanged = result(Decision::unchanged());
        if let Some(stat) = &found.file.stat {
            described(&mut unchanged.result, &path, stat);
        }
        Ok(unchanged)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &Self::Args,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let path = match plan {
            Plan::Save(plan, path) => {
                textfile::apply_save(on, &plan, None, false).await?;
                path
            }
            Plan::Remove(path) => {
                let out = on
                    .conn
                    .exec(&Command::new(format!(
                        "ssh-keygen -R {} -f {}",
                        quote(&args.name.to_lowercase()),
                        quote(&path)
                    )))
                    .await?;
                if out.rc != 0 {
                    return Err(textfile::fail_rc(out.stderr_text().trim(), out.rc));
                }
                path
            }
        };
        // The file as it is now, as Ansible's module describes the path it returns.
        let mut outcome = Outcome::new();
        if let Some(stat) = super::fileops::stat(on, &path, true, false).await? {
            described(&mut outcome, "", &stat);
        }
        Ok(outcome)
    }
}

/// Adds the file's owner, mode, size and type, as Ansible adds them for `path`.
fn described(result: &mut Outcome, path: &str, stat: &super::fileops::FileStat) {
    for (key, value) in super::fileops::describe(path, stat) {
        if key != "path" {
            result.insert(key, value);
        }
    }
}

/// `path` as a shell word, a leading `~/` left to the target's `$HOME`.
fn shell_path(path: &str) -> String {
    match path.strip_prefix("~/") {
        Some(rest) => format!("\"$HOME\"/{}", quote(rest)),
        None if path == "~" => "\"$HOME\"".into(),
        None => quote(path),
    }
}

/// Ansible's `\S+(\s+)?,(\s+)?` check for a list of names.
fn regex_lite_comma(host: &str) -> bool {
    host.find(',').is_some_and(|at| {
        host[..at]
            .trim_end()
            .chars()
            .last()
            .is_some_and(|c| !c.is_whitespace())
    })
}

/// `ssh-keygen -F`'s answer as Ansible's `search_for_host_key` reads it: whether the
/// host is there, whether the key must be replaced or added, and the line of the
/// entry of the same type.
fn search(
    (rc, stdout, stderr): &(i32, String, String),
    key: Option<&str>,
) -> Result<(bool, bool, Option<usize>), String> {
    if stdout.is_empty() && stderr.is_empty() && (*rc == 0 || *rc == 1) {
        return Ok((false, false, None));
    }
    if *rc != 0 {
        return Err(format!(
            "ssh-keygen failed (rc={rc}, stdout='{stdout}',stderr='{stderr}')"
        ));
    }
    let Some(key) = key else {
        return Ok((true, false, None));
    };
    let mut wanted = normalize(key);
    let mut found_line = None;
    for line in stdout.split('\n') {
        if line.is_empty() {
            continue;
        }
        if line.starts_with('#') {
            found_line = line
                .split("found: line ")
                .nth(1)
                .and_then(|n| n.split_whitespace().next())
                .and_then(|n| n.parse().ok());
            continue;
        }
        let existing = normalize(line);
        let marker = existing.options.as_deref().unwrap_or_default();
        if marker.starts_with("@cert-authority") || marker.starts_with("@revoke") {
            if wanted == existing {
                return Ok((true, false, found_line));
            }
            continue;
        }
        if wanted.host.starts_with("|1|") && existing.host.starts_with("|1|") {
            wanted.host.clone_from(&existing.host);
        }
        if wanted == existing {
            return Ok((true, false, found_line));
        }
        if wanted.kind == existing.kind {
            return Ok((true, true, found_line));
        }
    }
    Ok((true, true, None))
}

/// A known_hosts line's parts, as Ansible's `normalize_known_hosts_key` keeps them.
#[derive(Debug, PartialEq, Eq)]
struct Entry {
    options: Option<String>,
    host: String,
    kind: String,
    key: String,
}

fn normalize(line: &str) -> Entry {
    let words: Vec<&str> = line.split_whitespace().collect();
    let word = |n: usize| words.get(n).copied().unwrap_or_default().to_string();
    match words.first().is_some_and(|w| w.starts_with('@')) {
        true => Entry {
            options: Some(word(0)),
            host: word(1),
            kind: word(2),
            key: word(3),
        },
        false => Entry {
            options: None,
            host: word(0),
            kind: word(1),
            key: word(2),
        },
    }
}

/// The key line with its host hashed as OpenSSH hashes it (`|1|salt|hmac`).
fn hash_host_key(host: &str, key: &str) -> String {
    let salt: [u8; 20] = std::array::from_fn(|_| rand_byte());
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(&salt).expect("any key length");
    mac.update(host.as_bytes());
    let digest = mac.finalize().into_bytes();
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut parts: Vec<String> = key.split_whitespace().map(str::to_string).collect();
    let at = usize::from(parts.first().is_some_and(|p| p.starts_with('@')));
    if let Some(part) = parts.get_mut(at) {
        *part = format!("|1|{}|{}", b64.encode(salt), b64.encode(digest));
    }
    parts.join(" ")
}

/// A random byte for the salt, from the OS.
fn rand_byte() -> u8 {
    use std::io::Read;
    let mut byte = [0u8; 1];
    if let Ok(mut random) = std::fs::File::open("/dev/urandom") {
        let _ = random.read_exact(&mut byte);
    }
    byte[0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    const KEY: &str = "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAA";
    const OTHER: &str = "example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBBBB";

    fn found(text: Option<&str>, search: (i32, &str), key: Option<&str>) -> Found {
        Found {
            file: TextFile::found("/root/.ssh/known_hosts", text),
            key: key.map(|k| format!("{k}\n")),
            search: (search.0, search.1.to_string(), String::new()),
            key_names_host: true,
        }
    }

    fn args(value: Json) -> KnownHostsArgs {
        from_json(value).expect("valid")
    }

    #[test]
    fn a_new_key_is_appended_and_a_known_one_left() {
        let add = args(json!({"name": "example.org", "key": KEY}));
        let decision = KnownHosts
            .decide(
                &add,
                found(Some("other ssh-rsa AAAA\n"), (1, ""), Some(KEY)),
            )
            .expect("decided");
        assert!(decision.plan.is_some());
        assert_eq!(
            decision.diff.expect("diff")["after"],
            format!("other ssh-rsa AAAA\n{KEY}\n")
        );
        let text = format!("other ssh-rsa AAAA\n{KEY}\n");
        let search = format!("# Host example.org found: line 2 \n{KEY}\n");
        let decision = KnownHosts
            .decide(&add, found(Some(&text), (0, &search), Some(KEY)))
            .expect("decided");
        assert!(decision.plan.is_none());
    }

    #[test]
    fn a_changed_key_replaces_its_line_and_absent_removes_it() {
        let text = format!("a ssh-rsa AAAA\n{OTHER}\nz ssh-rsa ZZZZ\n");
        let search = format!("# Host example.org found: line 2 \n{OTHER}\n");
        let replace = args(json!({"name": "example.org", "key": KEY}));
        let decision = KnownHosts
            .decide(&replace, found(Some(&text), (0, &search), Some(KEY)))
            .expect("decided");
        assert_eq!(
            decision.diff.expect("diff")["after"],
            format!("a ssh-rsa AAAA\nz ssh-rsa ZZZZ\n{KEY}\n")
        );
        let remove = args(json!({"name": "example.org", "key": OTHER, "state": "absent"}));
        let decision = KnownHosts
            .decide(&remove, found(Some(&text), (0, &search), Some(OTHER)))
            .expect("decided");
        assert_eq!(
            decision.diff.expect("diff")["after"],
            "a ssh-rsa AAAA\nz ssh-rsa ZZZZ\n"
        );
        let every = args(json!({"name": "example.org", "state": "absent"}));
        let decision = KnownHosts
            .decide(&every, found(Some(&text), (0, &search), None))
            .expect("decided");
        assert!(matches!(decision.plan, Some(Plan::Remove(_))));
        let decision = KnownHosts
            .decide(&every, found(Some("a ssh-rsa AAAA\n"), (1, ""), None))
            .expect("decided");
        assert!(decision.plan.is_none());
    }

    #[test]
    fn hashed_hosts_and_bad_names_as_ansible() {
        let hashed = hash_host_key("example.org", KEY);
        assert!(
            hashed.starts_with("|1|") && hashed.ends_with("AAAAIAAAA"),
            "{hashed}"
        );
        assert!(regex_lite_comma("a.example,b.example"));
        assert!(!regex_lite_comma("example.org"));
        let err = KnownHosts
            .decide(
                &args(json!({"name": "a,b", "key": KEY})),
                found(None, (1, ""), Some(KEY)),
            )
            .expect_err("two names");
        assert!(err.contains("Comma separated"), "{err}");
    }
}
