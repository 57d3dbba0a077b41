//! What the crypto modules run on the target: the query lines they print (each
//! `label:value`, beside `fileops`'s stat lines), passphrases handed to `openssl`
//! through its environment (never on a command line), and the install of a file that
//! `openssl` writes: a private temporary file beside the destination, its mode and
//! owners, the backup, then the rename, as `fileops::write_atomic` does for bytes.

use base64::Engine;

use crate::connection::{Command, quote};
use crate::modules::fileops::{self, Attributes, FileStat};
use crate::modules::{ModuleError, Target};

/// The environment variable a passphrase reaches `openssl` in.
const PASS_VAR: &str = "BOSUN_OPENSSL_PASS";

/// `openssl`'s option reading the key's passphrase (`-passin` or `-passout`), and the
/// assignment to put before the command: an empty passphrase when there is none, so
/// that `openssl` never prompts.
pub fn pass_option(option: &str, passphrase: Option<&str>) -> (String, String) {
    match passphrase {
        Some(pass) => (
            format!("{PASS_VAR}={} ", quote(pass)),
            format!("{option} env:{PASS_VAR}"),
        ),
        None => (String::new(), format!("{option} pass:")),
    }
}

/// Prints `label:` and the base64 of what `command` writes on its standard output
/// (empty when it fails).
pub fn print_base64(label: &str, command: &str) -> String {
    format!("printf '{label}:%s\\n' \"$({command} 2>/dev/null | base64 -w0)\"; ")
}

/// Prints the file's content (for `return_content`) when `wanted`.
pub fn content_probe(path: &str, wanted: bool) -> String {
    match wanted {
        true => print_base64("content", &format!("cat -- {}", quote(path))),
        false => String::new(),
    }
}

/// The content [`content_probe`] printed, as text.
pub fn content_of(output: &str) -> Option<String> {
    base64_line(output, "content").map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
}

/// Prints `dir:missing` when the destination's directory is not a directory.
pub fn directory_probe(path: &str) -> String {
    format!(
        "[ -d {} ] || echo dir:missing; ",
        quote(fileops::parent_dir(path))
    )
}

/// The value printed after `label:`, if the line is there.
pub fn line<'a>(output: &'a str, label: &str) -> Option<&'a str> {
    let prefix = format!("{label}:");
    output.lines().find_map(|l| l.strip_prefix(prefix.as_str()))
}

/// The bytes printed in base64 after `label:`; `None` when absent or empty.
pub fn base64_line(output: &str, label: &str) -> Option<Vec<u8>> {
    let text = line(output, label)?.trim();
    (!text.is_empty())
        .then(|| base64::engine::general_purpose::STANDARD.decode(text).ok())
        .flatten()
}

/// Ansible's message when the destination's directory is missing.
pub fn missing_directory(path: &str) -> String {
    let dir = match fileops::parent_dir(path) {
        "" => ".",
        dir => dir,
    };
    format!("The directory {dir} does not exist or the file is not a directory")
}

/// A file that an `openssl` command writes, to be installed at `dest`.
pub struct Install<'a> {
    /// The destination.
    pub dest: &'a str,
    /// Commands that write the new file to `"$t"` (the temporary file).
    pub produce: String,
    /// Bytes for their standard input (a key given as content).
    pub stdin: Option<Vec<u8>>,
    /// The wanted mode, owners and flags.
    pub attributes: &'a Attributes,
    /// The destination as the query found it.
    pub current: Option<&'a FileStat>,
    /// Whether to keep the old file as a backup first.
    pub backup: bool,
    /// The result key the new file's content is returned under (`return_content`).
    pub content_key: Option<&'static str>,
}

impl Install<'_> {
    /// Runs the install, then `after` (which may print lines for the caller) in the
    /// same round trip: the script's output. The backup made and the content asked for
    /// go into `result`.
    pub async fn run(
        &self,
        on: &Target<'_>,
        after: &str,
        result: &mut crate::modules::Outcome,
    ) -> Result<String, ModuleError> {
        let (script, backup_file) = self.script()?;
        let mut after = after.to_string();
        if self.content_key.is_some() {
            after.push_str(&print_base64(
                "content",
                &format!("cat -- {}", quote(self.dest)),
            ));
        }
        let mut command = Command::new(script + &after);
        command.stdin = self.stdin.clone();
        let out = on.conn.exec(&command).await?;
        if out.rc != 0 {
            let stderr = out.stderr_text();
            return Err(ModuleError::Failed(if stderr.trim().is_empty() {
                format!("cannot write {} (rc={})", self.dest, out.rc)
            } else {
                stderr.trim().to_string()
            }));
        }
        let stdout = out.stdout_text();
        if let (Some(key), Some(content)) = (self.content_key, content_of(&stdout)) {
            result.insert(key.into(), serde_json::Value::String(content));
        }
        if let Some(backup) = backup_file {
            result.insert("backup_file".into(), serde_json::Value::String(backup));
        }
        Ok(stdout)
    }

    /// The install's script and the backup's path.
    fn script(&self) -> Result<(String, Option<String>), ModuleError> {
        let temp = fileops::temp_beside(self.dest);
        let d = quote(self.dest);
        let mut script = format!(
            "t={}; ( umask 077; {} ) || {{ rm -f -- \"$t\"; exit 93; }}; ",
            quote(&temp),
            self.produce
        );
        let mode = match (self.attributes.mode(), self.current) {
            (Some(mode), current) => Some(
                fileops::parse_mode(mode, current.map(|c| c.mode), false)
                    .map_err(ModuleError::Failed)?,
            ),
            (None, Some(existing)) => Some(existing.mode & 0o7777),
            (None, None) => None,
        };
        match mode {
            Some(mode) => script.push_str(&format!("chmod {mode:04o} -- \"$t\"; ")),
            None => script.push_str("chmod $(printf '%o' $(( 0666 & ~$(umask) ))) -- \"$t\"; "),
        }
        let owner = self
            .attributes
            .owner()
            .map(str::to_string)
            .or_else(|| self.current.map(|c| c.uid.to_string()));
        let group = self
            .attributes
            .group()
            .map(str::to_string)
            .or_else(|| self.current.map(|c| c.gid.to_string()));
        for (tool, id) in [("chown", owner), ("chgrp", group)] {
            if let Some(id) = id {
                script.push_str(&format!(
                    "{tool} {} -- \"$t\" || {{ rm -f -- \"$t\"; exit 98; }}; ",
                    quote(&id)
                ));
            }
        }
        let backup_file = (self.backup && self.current.is_some()).then(|| {
            let path = format!(
                "{}.{}.{}~",
                self.dest,
                std::process::id(),
                crate::clock::backup_stamp()
            );
            let (b, part) = (quote(&path), quote(&format!("{path}.part")));
            script.push_str(&format!(
                "{{ cp -p -- {d} {part} && mv -f -- {part} {b}; }} || {{ rm -f -- \"$t\" {part}; exit 96; }}; "
            ));
            path
        });
        script.push_str(&format!(
            "mv -f -- \"$t\" {d} || {{ rm -f -- \"$t\"; exit 95; }}; "
        ));
        script.push_str(&self.attributes.after_write(self.dest));
        Ok((script, backup_file))
    }
}

/// What a crypto module must change on its file.
#[derive(Debug)]
pub enum FilePlan<W> {
    /// Write the file anew, as `W` says.
    Write(Box<W>),
    /// Only mode, owners or flags: these commands.
    Attributes(Vec<String>),
    /// Remove the file.
    Remove,
}

impl<W> FilePlan<W> {
    /// Carries out a removal (reporting its backup in `result`) or an attribute
    /// change; what to write is given back for the module to do.
    pub async fn settle(
        self,
        on: &Target<'_>,
        path: &str,
        backup: bool,
        result: &mut crate::modules::Outcome,
    ) -> Result<Option<Box<W>>, ModuleError> {
        match self {
            FilePlan::Remove => {
                if let Some(backup) = remove(on, path, backup).await? {
                    result.insert("backup_file".into(), serde_json::json!(backup));
                }
                Ok(None)
            }
            FilePlan::Attributes(commands) => {
                fileops::run_checked(on, commands.join(" && "))
                    .await?
                    .map_err(ModuleError::Failed)?;
                Ok(None)
            }
            FilePlan::Write(write) => Ok(Some(write)),
        }
    }
}

/// Removes `path`, keeping a backup first when asked: the backup's path.
async fn remove(on: &Target<'_>, path: &str, backup: bool) -> Result<Option<String>, ModuleError> {
    let p = quote(path);
    let mut script = String::new();
    let backup_file = backup.then(|| {
        let copy = format!(
            "{path}.{}.{}~",
            std::process::id(),
            crate::clock::backup_stamp()
        );
        script.push_str(&format!("cp -p -- {p} {} || exit 96; ", quote(&copy)));
        copy
    });
    script.push_str(&format!("rm -f -- {p}"));
    fileops::run_checked(on, script)
        .await?
        .map_err(ModuleError::Failed)?;
    Ok(backup_file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrases_travel_in_the_environment() {
        let (env, option) = pass_option("-passin", Some("it's"));
        assert_eq!(env, "BOSUN_OPENSSL_PASS='it'\"'\"'s' ");
        assert_eq!(option, "-passin env:BOSUN_OPENSSL_PASS");
        assert_eq!(
            pass_option("-passout", None),
            (String::new(), "-passout pass:".to_string())
        );
    }

    #[test]
    fn lines_are_found_by_label() {
        let out = "S:regular file|600|0|0|root|root|1|1|1\npub:AAEC\npem:-----BEGIN PRIVATE KEY-----\nempty:\n";
        assert_eq!(line(out, "pem"), Some("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(base64_line(out, "pub"), Some(vec![0, 1, 2]));
        assert_eq!(base64_line(out, "empty"), None);
        assert_eq!(line(out, "dir"), None);
    }

    #[test]
    fn the_install_writes_privately_then_renames() {
        let attributes = Attributes::with_mode(serde_json::json!("0600"));
        let install = Install {
            dest: "/etc/ssl/k.pem",
            produce: "openssl genpkey -out \"$t\"".into(),
            stdin: None,
            attributes: &attributes,
            current: None,
            backup: true,
            content_key: None,
        };
        let (script, backup) = install.script().expect("a script");
        assert!(backup.is_none(), "nothing to back up");
        assert!(
            script.contains("( umask 077; openssl genpkey -out \"$t\" )"),
            "{script}"
        );
        assert!(script.contains("chmod 0600 -- \"$t\""), "{script}");
        assert!(
            script.contains("mv -f -- \"$t\" /etc/ssl/k.pem"),
            "{script}"
        );
        assert!(script.starts_with("t=/etc/ssl/.k.pem.bosun."), "{script}");
    }
}
