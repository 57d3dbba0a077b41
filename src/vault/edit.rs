//! Plaintext on the control node for `bosun vault create`/`edit`: a 0600 temporary
//! file opened in `$EDITOR`, overwritten and removed afterwards whatever happens.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::keyring::Secret;
use super::{encrypt, is_encrypted};
use crate::local_write::write_atomic;

/// Creates `file` from what the user types in the editor.
pub fn create(file: &Path, secret: &Secret) -> Result<(), String> {
    if file.is_file() {
        return Err(format!(
            "{} exists, please use 'edit' instead",
            file.display()
        ));
    }
    if let Some(dir) = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        eprintln!("[WARNING]: {} does not exist, creating...", dir.display());
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    edit_in_editor(file, b"", secret, true)
}

/// Edits the decrypted `plain` of `file`; saves (with `secret`) only when it changed.
pub fn edit(file: &Path, plain: &[u8], secret: &Secret) -> Result<(), String> {
    edit_in_editor(file, plain, secret, false)
}

fn edit_in_editor(file: &Path, plain: &[u8], secret: &Secret, force: bool) -> Result<(), String> {
    let temp = TempPlaintext::new(file, plain)?;
    let editor = std::env::var("EDITOR").unwrap_or_else(|_| "vi".into());
    let mut words =
        shell_words::split(&editor).map_err(|e| format!("cannot read $EDITOR ({editor}): {e}"))?;
    if words.is_empty() {
        words.push("vi".into());
    }
    let status = Command::new(&words[0])
        .args(&words[1..])
        .arg(&temp.path)
        .status()
        .map_err(|e| format!("Unable to execute the command \"{editor}\": {e}"))?;
    if !status.success() {
        return Err(format!(
            "the editor \"{editor}\" failed ({status}); nothing was saved"
        ));
    }
    let edited =
        std::fs::read(&temp.path).map_err(|e| format!("cannot read the edited text: {e}"))?;
    if !force && edited == plain {
        return Ok(());
    }
    if is_encrypted(&edited) {
        return Err("input is already encrypted".into());
    }
    let text = encrypt(&edited, secret).map_err(|e| e.to_string())?;
    write_atomic(file, text.as_bytes())
}

/// A temporary plaintext file, mode 0600, overwritten and removed when dropped.
struct TempPlaintext {
    path: PathBuf,
}

impl TempPlaintext {
    fn new(like: &Path, plain: &[u8]) -> Result<TempPlaintext, String> {
        let ext = like
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let dir = std::env::temp_dir();
        for attempt in 0..100u32 {
            let path = dir.join(format!("bosun-vault-{}-{attempt}{ext}", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
            {
                Ok(mut out) => {
                    let temp = TempPlaintext { path };
                    out.write_all(plain)
                        .map_err(|e| format!("cannot write {}: {e}", temp.path.display()))?;
                    return Ok(temp);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(format!("cannot create a file in {}: {e}", dir.display())),
            }
        }
        Err(format!("cannot create a file in {}", dir.display()))
    }
}

impl Drop for TempPlaintext {
    fn drop(&mut self) {
        if let Ok(meta) = std::fs::metadata(&self.path)
            && let Ok(mut out) = OpenOptions::new().write(true).open(&self.path)
        {
            let _ = out.write_all(&vec![0u8; meta.len() as usize]);
            let _ = out.sync_all();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_plaintext_file_is_private_and_removed() {
        let temp = TempPlaintext::new(Path::new("x.yml"), b"secret").expect("temp");
        let path = temp.path.clone();
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(path.to_string_lossy().ends_with(".yml"));
        drop(temp);
        assert!(!path.exists());
    }
}
