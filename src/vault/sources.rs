//! Where vault passwords come from, in Ansible's order: the `vault_identity_list` of
//! the config, then each `--vault-id`, then each `--vault-password-file` and the
//! `ANSIBLE_VAULT_PASSWORD_FILE`/`vault_password_file` default (as id `default`),
//! then a prompt for `--ask-vault-pass`. A source is `label@source` or `source`;
//! `prompt` asks on the terminal; an executable file is run and its standard output
//! is the password (a `*-client` script gets `--vault-id label`); any other file holds
//! the password.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::keyring::{DEFAULT_ID, Keyring, Secret};
use super::{VaultError, is_encrypted};

/// The password sources given on the command line and in the config.
#[derive(Debug, Clone, Default)]
pub struct PasswordSources {
    /// `vault_identity_list` from the config, then `--vault-id` values.
    pub vault_ids: Vec<String>,
    /// `--vault-password-file` values, then the configured default file.
    pub password_files: Vec<String>,
    /// `--ask-vault-pass`.
    pub ask: bool,
    /// Ask when nothing else is given (the `bosun vault` commands).
    pub auto_prompt: bool,
    /// Prompts ask for a new password, twice (`create`, `encrypt`, `rekey`).
    pub new_password: bool,
    /// `vault_id_match`: a vault is opened only with the password of its own id.
    pub ids_must_match: bool,
}

impl PasswordSources {
    /// The `label@source` list Ansible builds from these options.
    fn slugs(&self) -> Vec<String> {
        let mut slugs = self.vault_ids.clone();
        slugs.extend(
            self.password_files
                .iter()
                .map(|file| format!("{DEFAULT_ID}@{file}")),
        );
        if self.ask || (slugs.is_empty() && self.auto_prompt) {
            slugs.push(format!("{DEFAULT_ID}@{ASK}"));
        }
        slugs
    }

    /// Reads every password. A source that fails is reported as a warning and
    /// skipped, as Ansible does; the error is returned when no source worked.
    pub fn load(&self) -> Result<Keyring, VaultError> {
        let mut secrets: Vec<Secret> = Vec::new();
        let mut last_error = None;
        for slug in self.slugs() {
            let (label, source) = match slug.split_once('@') {
                Some((label, source)) => (label.to_string(), source.to_string()),
                None => (DEFAULT_ID.to_string(), slug.clone()),
            };
            let label = if label.is_empty() {
                DEFAULT_ID.to_string()
            } else {
                label
            };
            if source == "prompt" || source == ASK {
                let password = self.prompt(&label, source == ASK)?;
                secrets.push(Secret::new(label, password));
                continue;
            }
            match read_source(&source, &label, &secrets) {
                Ok(password) => secrets.push(Secret::new(label, password)),
                Err(err) => {
                    eprintln!("[WARNING]: Error getting vault password file ({label}): {err}");
                    last_error = Some(err);
                }
            }
        }
        match last_error {
            Some(err) if secrets.is_empty() => Err(err),
            _ => Ok(Keyring::new(secrets).matching_ids(self.ids_must_match)),
        }
    }

    /// Asks on the terminal, with Ansible's prompts.
    fn prompt(&self, label: &str, ask_vault_pass: bool) -> Result<Vec<u8>, VaultError> {
        let (first, confirm) = match (self.new_password, ask_vault_pass) {
            (true, true) => (
                "New Vault password: ".to_string(),
                Some("Confirm New Vault password: ".to_string()),
            ),
            (true, false) => (
                format!("New vault password ({label}): "),
                Some(format!("Confirm new vault password ({label}): ")),
            ),
            (false, true) => ("Vault password: ".to_string(), None),
            (false, false) => (format!("Vault password ({label}): "), None),
        };
        let ask = |prompt: &str| {
            crate::connection::prompt::secret(prompt).ok_or_else(|| {
                VaultError::Source(format!(
                    "cannot ask for the vault password ({label}) without a terminal; use --vault-password-file or --vault-id {label}@FILE"
                ))
            })
        };
        let password = ask(&first)?;
        if let Some(confirm) = confirm
            && ask(&confirm)? != password
        {
            return Err(VaultError::Source("Passwords do not match".into()));
        }
        if password.is_empty() {
            return Err(VaultError::Source(
                "Invalid vault password was provided from prompt".into(),
            ));
        }
        Ok(password.into_bytes())
    }
}

/// The pseudo-source `--ask-vault-pass` becomes.
const ASK: &str = "prompt_ask_vault_pass";

/// Reads a password file or runs a password script.
fn read_source(source: &str, label: &str, known: &[Secret]) -> Result<Vec<u8>, VaultError> {
    let expanded = match (source.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => Path::new(source).to_path_buf(),
    };
    let path = expanded.as_path();
    let meta = std::fs::metadata(path).map_err(|_| {
        VaultError::Source(format!("The vault password file {source} was not found"))
    })?;
    if meta.is_dir() {
        return Err(VaultError::Source(format!(
            "The vault password file provided '{source}' can not be a directory"
        )));
    }
    if meta.permissions().mode() & 0o111 != 0 {
        return run_script(path, label);
    }
    let data = std::fs::read(path).map_err(|e| {
        VaultError::Source(format!(
            "Could not read vault password file '{source}': {e}"
        ))
    })?;
    let mut password = data.trim_ascii().to_vec();
    if is_encrypted(&password) {
        let text = String::from_utf8_lossy(&password).into_owned();
        password = Keyring::new(known.to_vec()).decrypt(&text)?.0;
    }
    let password = strip_newlines(&password);
    if password.is_empty() {
        return Err(VaultError::Source(format!(
            "Invalid vault password was provided from file ({source})"
        )));
    }
    Ok(password)
}

/// Runs a password script; its standard output, without line ends, is the password.
fn run_script(path: &Path, label: &str) -> Result<Vec<u8>, VaultError> {
    let shown = path.display();
    let client = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s.ends_with("-client"));
    let mut command = Command::new(path);
    command.stdin(Stdio::inherit()).stdout(Stdio::piped());
    if client {
        command.args(["--vault-id", label]).stderr(Stdio::piped());
    }
    let output = command.output().map_err(|e| {
        VaultError::Source(format!(
            "Problem running vault password script {shown} ({e}). If this is not a script, remove the executable bit from the file."
        ))
    })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => {}
        Some(2) if client => {
            return Err(VaultError::Source(format!(
                "Vault password client script {shown} did not find a secret for vault-id={label}: {stderr}"
            )));
        }
        code => {
            return Err(VaultError::Source(format!(
                "Vault password script {shown} returned non-zero ({}): {stderr}",
                code.map_or_else(|| "signal".to_string(), |c| c.to_string())
            )));
        }
    }
    let password = strip_newlines(&output.stdout);
    if password.is_empty() {
        return Err(VaultError::Source(format!(
            "Invalid vault password was provided from script ({shown})"
        )));
    }
    Ok(password)
}

/// Python's `bytes.strip(b'\r\n')`.
fn strip_newlines(data: &[u8]) -> Vec<u8> {
    let start = data.iter().position(|b| !matches!(b, b'\r' | b'\n'));
    let end = data.iter().rposition(|b| !matches!(b, b'\r' | b'\n'));
    match (start, end) {
        (Some(start), Some(end)) => data[start..=end].to_vec(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(ids: &[String]) -> PasswordSources {
        PasswordSources {
            vault_ids: ids.to_vec(),
            ..PasswordSources::default()
        }
    }

    #[test]
    fn reads_files_and_runs_scripts_with_their_labels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "  file-pass \n").expect("write");
        let script = dir.path().join("pw.sh");
        std::fs::write(&script, "#!/bin/sh\necho script-pass\n").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let ring = PasswordSources {
            password_files: vec![file.display().to_string()],
            ..sources(&[format!("prod@{}", script.display())])
        }
        .load()
        .expect("loads");
        assert_eq!(ring.ids(), ["prod", "default"]);
        let text = super::super::encrypt(b"x", &Secret::new("prod", "script-pass")).expect("enc");
        assert_eq!(ring.decrypt(&text).expect("script password").1, "prod");
        let text = super::super::encrypt(b"x", &Secret::new("d", "file-pass")).expect("enc");
        assert_eq!(ring.decrypt(&text).expect("file password").1, "default");
    }

    #[test]
    fn a_missing_file_is_an_error_only_when_nothing_else_worked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("pw");
        std::fs::write(&file, "p").expect("write");
        let missing = dir.path().join("missing").display().to_string();
        let err = sources(std::slice::from_ref(&missing))
            .load()
            .expect_err("missing");
        assert!(err.to_string().contains("was not found"), "{err}");
        let ring = sources(&[missing, format!("a@{}", file.display())])
            .load()
            .expect("one worked");
        assert_eq!(ring.ids(), ["a"]);
    }

    #[test]
    fn a_failing_or_empty_script_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("pw.sh");
        std::fs::write(&script, "#!/bin/sh\nexit 3\n").expect("write");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        let err = sources(&[script.display().to_string()])
            .load()
            .expect_err("fails");
        assert!(err.to_string().contains("returned non-zero (3)"), "{err}");
        std::fs::write(&script, "#!/bin/sh\necho\n").expect("write");
        let err = sources(&[script.display().to_string()])
            .load()
            .expect_err("empty");
        assert!(err.to_string().contains("Invalid vault password"), "{err}");
    }
}
