//! `authorized_key` (ansible.posix): SSH keys in a user's `authorized_keys`, parsed,
//! compared and written back the way Ansible's module does it.

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::textfile::{self, TextFile};
use super::typed::{arg_enum, module_args};
use super::{ModuleError, Outcome, Target, fileops};
use crate::connection::{Command, quote};

/// Adds or removes SSH authorized keys.
pub struct AuthorizedKey;

/// The key types OpenSSH accepts in `authorized_keys`.
const KEY_TYPES: &[&str] = &[
    "sk-ecdsa-sha2-nistp256@openssh.com",
    "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp256-cert-v01@openssh.com",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp384-cert-v01@openssh.com",
    "ecdsa-sha2-nistp521",
    "ecdsa-sha2-nistp521-cert-v01@openssh.com",
    "sk-ssh-ed25519@openssh.com",
    "sk-ssh-ed25519-cert-v01@openssh.com",
    "ssh-dss",
    "ssh-dss-cert-v01@openssh.com",
    "ssh-ed25519",
    "ssh-ed25519-cert-v01@openssh.com",
    "ssh-rsa",
    "ssh-rsa-cert-v01@openssh.com",
    "rsa-sha2-256",
    "rsa-sha2-512",
];

/// One line of an `authorized_keys` file.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Line {
    /// A key: options, type, base64 blob, comment.
    Key(Key),
    /// A comment, a blank or an unreadable line, kept as it is (newline included).
    Other(String),
}

/// A parsed key.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Key {
    options: Vec<(String, Option<String>)>,
    kind: String,
    blob: String,
    comment: String,
}

impl Key {
    /// The line as Ansible's module writes it (a trailing space when no comment).
    fn serialize(&self) -> String {
        let mut line = String::new();
        if !self.options.is_empty() {
            let options: Vec<String> = self
                .options
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                })
                .collect();
            line.push_str(&options.join(","));
            line.push(' ');
        }
        line.push_str(&format!("{} {} {}\n", self.kind, self.blob, self.comment));
        line
    }
}

/// Splits on whitespace, keeping double-quoted runs (`command="a b"`) together.
fn split_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            word.push(c);
            escaped = false;
        } else if c == '\\' {
            word.push(c);
            escaped = true;
        } else if c == '"' {
            word.push(c);
            quoted = !quoted;
        } else if c.is_whitespace() && !quoted {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Parses an options string (`no-pty,from="10.0.0.0/8"`) into ordered pairs.
fn parse_options(text: &str) -> Vec<(String, Option<String>)> {
    let mut parts = Vec::new();
    let mut part = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                part.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut part)),
            _ => part.push(c),
        }
    }
    parts.push(part);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (p, None),
        })
        .collect()
}

/// Parses one key line; `None` for comments and lines without a known key type.
fn parse_key(line: &str) -> Option<Key> {
    let line = line.replace(r"\#", "#");
    let words = split_words(&line);
    if words.first().is_some_and(|w| w.starts_with('#')) {
        return None;
    }
    let at = words.iter().position(|w| KEY_TYPES.contains(&w.as_str()))?;
    let blob = words.get(at + 1)?.clone();
    Some(Key {
        options: parse_options(&words[..at].join(" ")),
        kind: words[at].clone(),
        blob,
        comment: words[at + 2..].join(" "),
    })
}

/// Parses a whole file, line by line.
fn parse_file(text: &str) -> Vec<Line> {
    text.split_inclusive('\n')
        .map(|line| match parse_key(line) {
            Some(key) => Line::Key(key),
            None => Line::Other(line.to_string()),
        })
        .collect()
}

/// What the task asks for.
struct Wanted<'a> {
    keys: &'a [Key],
    present: bool,
    exclusive: bool,
}

/// The file's lines after applying `wanted`, as Ansible's `enforce_state` does: a key
/// whose options or comment differ is replaced and moves to the end, a new key is
/// appended, `absent` removes only exact matches, `exclusive` drops everything else.
fn enforce(lines: &[Line], wanted: &Wanted<'_>) -> Vec<Line> {
    let mut result: Vec<Line> = lines.to_vec();
    let position = |result: &[Line], blob: &str| {
        result
            .iter()
            .position(|l| matches!(l, Line::Key(k) if k.blob == blob))
    };
    for key in wanted.keys {
        let existing = position(&result, &key.blob);
        let matched = existing.is_some_and(|i| result[i] == Line::Key(key.clone()));
        match (wanted.present, existing) {
            (true, Some(i)) if !matched => {
                result.remove(i);
                result.push(Line::Key(key.clone()));
            }
            (true, None) => result.push(Line::Key(key.clone())),
            (false, Some(i)) if matched => {
                result.remove(i);
            }
            _ => {}
        }
    }
    if wanted.present && wanted.exclusive {
        result
            .retain(|l| matches!(l, Line::Key(k) if wanted.keys.iter().any(|w| w.blob == k.blob)));
    }
    result
}

/// The text of a file's lines.
fn render(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|line| match line {
            Line::Key(key) => key.serialize(),
            Line::Other(text) if text.ends_with('\n') => text.clone(),
            Line::Other(text) => format!("{text}\n"),
        })
        .collect()
}

/// The keys a task names: one per non-empty, non-comment line of `key`, with
/// `key_options` and `comment` overriding what the lines say.
fn wanted_keys(args: &AuthorizedKeyArgs) -> Result<Vec<Key>, String> {
    let options = args.key_options.as_deref().map(parse_options);
    args.key
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut key =
                parse_key(line).ok_or_else(|| format!("invalid key specified: {line}"))?;
            if let Some(options) = &options {
                key.options = options.clone();
            }
            if let Some(comment) = &args.comment {
                key.comment = comment.clone();
            }
            Ok(key)
        })
        .collect()
}

arg_enum! {
    /// Whether the keys should be there.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// `authorized_key`'s arguments.
    pub struct AuthorizedKeyArgs {
        /// Whose keys.
        user: String => .required(),
        /// The keys, one per line.
        key: String => .required(),
        /// The file; `~user/.ssh/authorized_keys` when not given.
        path: Option<String>,
        /// Whether the key file's directory is created and owned by the user, mode 0700.
        manage_dir: bool => .default_bool(true),
        state: State => .default_str("present"),
        /// Options put in front of every key.
        key_options: Option<String>,
        /// Whether every other key is removed.
        exclusive: bool => .default_bool(false),
        /// A comment replacing the keys' own.
        comment: Option<String>,
        /// Whether a key file that is a symbolic link is followed rather than replaced.
        follow: bool => .default_bool(false),
    }
}

/// The user and the key file as found.
#[derive(Debug)]
pub struct Found {
    /// The user's uid and gid.
    uid: String,
    gid: String,
    /// The key file.
    file: TextFile,
}

/// The new key file.
#[derive(Debug)]
pub struct Write {
    /// Where it goes (the link resolved with `follow`).
    path: String,
    /// Its content.
    text: String,
    /// The file as it was, when it existed.
    stat: Option<fileops::FileStat>,
    /// The owner a new file (and a managed directory) gets: `uid:gid`.
    uid: String,
    gid: String,
}

#[async_trait]
impl StateModule for AuthorizedKey {
    const NAME: &'static str = "authorized_key";
    type Args = AuthorizedKeyArgs;
    type State = Found;
    type Plan = Write;

    /// Looks the user up, then reads the key file.
    async fn query(&self, on: &Target<'_>, args: &AuthorizedKeyArgs) -> Result<Found, ModuleError> {
        let user = &args.user;
        let passwd = on
            .conn
            .exec(&Command::new(format!("getent passwd {}", quote(user))))
            .await?;
        let fields: Vec<String> = passwd
            .stdout_text()
            .trim_end()
            .split(':')
            .map(str::to_string)
            .collect();
        let [_, _, uid, gid, _, home, ..] = fields.as_slice() else {
            return Err(ModuleError::Failed(format!(
                "Failed to lookup user {user}: no such user"
            )));
        };
        let path = match &args.path {
            Some(path) => super::pathexpand::expand_path(on, path).await?,
            None => format!("{}/.ssh/authorized_keys", home.trim_end_matches('/')),
        };
        let file = textfile::read(on, &path, textfile::Codec::Utf8).await?;
        Ok(Found {
            uid: uid.clone(),
            gid: gid.clone(),
            file,
        })
    }

    fn decide(&self, args: &AuthorizedKeyArgs, found: Found) -> Result<Decision<Write>, String> {
        if args.key.starts_with("http://") || args.key.starts_with("https://") {
            return Err("a key given as a URL is not supported by bosun: fetch it first (uri with return_content) and pass the text".into());
        }
        let keys = wanted_keys(args)?;
        let file = found.file;
        let path = file.path.clone();
        let before = file.text.clone().unwrap_or_default();
        let lines = parse_file(&before);
        let after_lines = enforce(
            &lines,
            &Wanted {
                keys: &keys,
                present: args.state == State::Present,
                exclusive: args.exclusive,
            },
        );
        let changed = after_lines != lines;
        let after = render(&after_lines);
        let write = Write {
            path: match args.follow {
                true => file.real_path().to_string(),
                false => path.clone(),
            },
            text: after.clone(),
            stat: file.stat.clone(),
            uid: found.uid,
            gid: found.gid,
        };
        let decision = Decision::maybe(changed.then_some(write))
            .with("key", args.key.as_str())
            .with("key_options", args.key_options.clone())
            .with("comment", args.comment.clone())
            .with("path", args.path.clone())
            .with("user", args.user.as_str())
            .with("state", args.state.as_str())
            .with("keyfile", path.as_str())
            .with("manage_dir", args.manage_dir)
            .with("exclusive", args.exclusive)
            .with("follow", args.follow);
        Ok(match changed {
            true => decision.with_diff(fileops::content_diff(&path, &before, &after)),
            false => decision,
        })
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &AuthorizedKeyArgs,
        write: Write,
    ) -> Result<Outcome, ModuleError> {
        let dir = write.path.rsplit_once('/').map(|(d, _)| d).unwrap_or(".");
        let d = quote(dir);
        let owner = format!("{}:{}", write.uid, write.gid);
        let prepare = if args.manage_dir {
            format!(
                "mkdir -p -- {d} && chown {} -- {d} && chmod 0700 -- {d}",
                quote(&owner)
            )
        } else {
            format!("mkdir -p -- {d}")
        };
        let made = on.conn.exec(&Command::new(prepare)).await?;
        if made.rc != 0 {
            return Err(ModuleError::Failed(format!(
                "cannot prepare {dir}: {}",
                made.stderr_text().trim()
            )));
        }
        let attributes = match &write.stat {
            Some(_) => fileops::Attributes::default(),
            None => fileops::Attributes::owned(json!("0600"), &write.uid, &write.gid),
        };
        fileops::write_atomic(
            on,
            &write.path,
            write.text.as_bytes(),
            write.stat.as_ref(),
            &attributes,
            None,
            false,
        )
        .await
        .map_err(|err| ModuleError::Failed(err.to_string()))?;
        Ok(Outcome::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const A: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@laptop";
    const B: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ bob";

    fn decide(args: serde_json::Value, text: Option<&str>) -> Result<Decision<Write>, String> {
        let args: AuthorizedKeyArgs =
            crate::modules::typed::from_json(args).expect("valid arguments");
        let found = Found {
            uid: "1000".into(),
            gid: "1000".into(),
            file: TextFile::found("/home/a/.ssh/authorized_keys", text),
        };
        AuthorizedKey.decide(&args, found)
    }

    #[test]
    fn decide_writes_only_a_missing_key() {
        let decision =
            decide(json!({"user": "a", "key": B}), Some(&format!("{A}\n"))).expect("decides");
        let write = decision.plan.expect("a write");
        assert_eq!(write.text, format!("{A}\n{B}\n"));
        assert_eq!(write.path, "/home/a/.ssh/authorized_keys");
        assert!(write.stat.is_some());
        assert_eq!(
            decision.result["keyfile"],
            json!("/home/a/.ssh/authorized_keys")
        );
        assert!(decision.diff.is_some());
        let same =
            decide(json!({"user": "a", "key": A}), Some(&format!("{A}\n"))).expect("decides");
        assert!(same.plan.is_none() && same.diff.is_none());
        let new = decide(json!({"user": "a", "key": A}), None).expect("decides");
        assert_eq!(new.plan.expect("a write").uid, "1000");
    }

    #[test]
    fn decide_refuses_urls_and_bad_keys() {
        let url = decide(json!({"user": "a", "key": "https://x/keys"}), None);
        assert!(
            url.err()
                .is_some_and(|e| e.contains("not supported by bosun"))
        );
        let bad = decide(json!({"user": "a", "key": "garbage"}), None);
        assert_eq!(bad.err().as_deref(), Some("invalid key specified: garbage"));
    }

    fn key(line: &str) -> Key {
        parse_key(line).expect("a key")
    }

    #[test]
    fn keys_parse_with_options_and_comments() {
        let k = key(r#"no-pty,command="echo hi there" ssh-ed25519 AAAA the comment"#);
        assert_eq!(
            k.options,
            vec![
                ("no-pty".to_string(), None),
                ("command".to_string(), Some("\"echo hi there\"".to_string()))
            ]
        );
        assert_eq!((k.kind.as_str(), k.blob.as_str()), ("ssh-ed25519", "AAAA"));
        assert_eq!(k.comment, "the comment");
        assert_eq!(parse_key("# ssh-rsa AAAA"), None);
        assert_eq!(parse_key("garbage"), None);
        assert_eq!(
            key("ssh-rsa AAAA").serialize(),
            "ssh-rsa AAAA \n",
            "Ansible writes a trailing space when there is no comment"
        );
    }

    #[test]
    fn present_appends_replaces_and_keeps_matches() {
        let lines = parse_file(&format!("# mine\n{A}\n"));
        let keys = [key(B)];
        let wanted = Wanted {
            keys: &keys,
            present: true,
            exclusive: false,
        };
        let after = enforce(&lines, &wanted);
        assert_eq!(render(&after), format!("# mine\n{A}\n{B}\n"));
        assert_eq!(enforce(&after, &wanted), after, "idempotent");

        let renamed = [key(&A.replace("alice@laptop", "alice@desk"))];
        let after = enforce(
            &after,
            &Wanted {
                keys: &renamed,
                present: true,
                exclusive: false,
            },
        );
        assert_eq!(
            render(&after),
            format!("# mine\n{B}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA alice@desk\n"),
            "a changed comment replaces the key at the end"
        );
    }

    #[test]
    fn absent_and_exclusive() {
        let lines = parse_file(&format!("# mine\n{A}\n{B}\n"));
        let a = [key(A)];
        let removed = enforce(
            &lines,
            &Wanted {
                keys: &a,
                present: false,
                exclusive: false,
            },
        );
        assert_eq!(render(&removed), format!("# mine\n{B}\n"));
        let only = enforce(
            &lines,
            &Wanted {
                keys: &a,
                present: true,
                exclusive: true,
            },
        );
        assert_eq!(
            render(&only),
            format!("{A}\n"),
            "comments go too, as in Ansible"
        );
    }
}
