//! Encrypted files and values met while loading and running: whole files opened with
//! the run's passwords, and inline `!vault` values, kept encrypted as Ansible's JSON
//! form `{"__ansible_vault": "<vault text>"}` until a template uses them.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use serde_json::Value as Json;

use super::{is_encrypted, keyring};

/// The key of an inline vault value in its JSON form (as Ansible's JSON encoder).
pub const INLINE_KEY: &str = "__ansible_vault";

/// Where each inline vault text was written (`file:line`), for error messages.
static ORIGINS: LazyLock<Mutex<HashMap<String, String>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// Why a vault file could not be opened (the caller names the file).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Undecryptable(pub String);

/// A file's bytes, decrypted with the run's passwords when they are vault text;
/// the flag says whether they were.
pub fn open(data: Vec<u8>) -> Result<(Vec<u8>, bool), Undecryptable> {
    if !is_encrypted(&data) {
        return Ok((data, false));
    }
    let text = String::from_utf8_lossy(&data);
    match keyring().decrypt(&text) {
        Ok((plain, _)) => Ok((plain, true)),
        Err(err) => Err(Undecryptable(err.to_string())),
    }
}

/// Remembers that the inline vault `text` was written at `origin` (`file:line:col`).
pub fn remember_origin(text: &str, origin: String) {
    if let Ok(mut origins) = ORIGINS.lock() {
        origins.insert(text.to_string(), origin);
    }
}

/// The vault text of an inline value's JSON form.
pub fn inline_text(value: &Json) -> Option<&str> {
    match value {
        Json::Object(map) if map.len() == 1 => map.get(INLINE_KEY)?.as_str(),
        _ => None,
    }
}

/// Decrypts an inline value; the error names where it was written.
pub fn decrypt_inline(text: &str) -> Result<String, String> {
    keyring().decrypt_str(text).map_err(|err| {
        let origin = ORIGINS
            .lock()
            .ok()
            .and_then(|origins| origins.get(text).cloned());
        match origin {
            Some(origin) => format!("{err} (the !vault value at {origin})"),
            None => format!("{err} (a !vault value)"),
        }
    })
}
