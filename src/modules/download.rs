//! Fetching a URL on the target, as Ansible's `fetch_url` does there: with `curl` or
//! `wget` when installed, else with apt's own `apt-helper` (every Debian system has
//! it), so nothing extra is needed on a fresh host. The bytes come back base64-encoded
//! between markers, inside a larger query script.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::connection::quote;

/// Starts the downloaded data in the output of [`script`].
const BEGIN: &str = "@@bosun-download-begin";
/// Ends it, followed by the download's exit status.
const END: &str = "@@bosun-download-end";

/// A shell snippet printing the body of `url` (base64, between markers) and the
/// download's exit status; `verify` false skips TLS certificate checks.
pub fn script(url: &str, verify: bool) -> String {
    let u = quote(url);
    let (curl, wget, helper) = if verify {
        ("", "", "")
    } else {
        (
            " -k",
            " --no-check-certificate",
            " -o Acquire::https::Verify-Peer=false -o Acquire::https::Verify-Host=false",
        )
    };
    format!(
        "bosun_t=$(mktemp) || exit 1; \
         if command -v curl >/dev/null 2>&1; then curl -fsSL{curl} -o \"$bosun_t\" {u} 2>&1; \
         elif command -v wget >/dev/null 2>&1; then wget -q{wget} -O \"$bosun_t\" {u} 2>&1; \
         else chmod 0644 \"$bosun_t\"; /usr/lib/apt/apt-helper{helper} download-file {u} \"$bosun_t\" 2>&1 >/dev/null; fi; \
         bosun_rc=$?; echo {BEGIN}; base64 -w0 < \"$bosun_t\"; echo; echo \"{END} $bosun_rc\"; rm -f \"$bosun_t\"; "
    )
}

/// The downloaded bytes in `output` (of a script containing [`script`]), or the
/// error the downloader printed.
pub fn parse(output: &str, url: &str) -> Result<Vec<u8>, String> {
    let (before, rest) = output
        .split_once(&format!("{BEGIN}\n"))
        .ok_or_else(|| format!("failed to download {url}: no output"))?;
    let (body, tail) = rest.split_once(&format!("\n{END} ")).unwrap_or((rest, "1"));
    let rc = tail.lines().next().unwrap_or("1").trim();
    if rc != "0" {
        let said = before
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("download failed");
        return Err(format!("failed to download {url}: {}", said.trim()));
    }
    STANDARD
        .decode(body.trim())
        .map_err(|err| format!("failed to download {url}: {err}"))
}

/// Whether `value` looks like a URL (`scheme://`), as Ansible's `urlparse` decides.
pub fn is_url(value: &str) -> bool {
    value.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty()
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_parses_into_bytes_or_the_error() {
        let ok = format!("noise\n{BEGIN}\naGVsbG8=\n{END} 0\nmore\n");
        assert_eq!(parse(&ok, "u"), Ok(b"hello".to_vec()));
        let failed = format!("curl: (7) Failed to connect\n{BEGIN}\n\n{END} 7\n");
        assert_eq!(
            parse(&failed, "http://x/k"),
            Err("failed to download http://x/k: curl: (7) Failed to connect".into())
        );
        assert!(parse("", "u").is_err());
    }

    #[test]
    fn urls_are_told_from_paths_and_key_text() {
        assert!(is_url("https://download.docker.com/linux/debian/gpg"));
        assert!(is_url("http://198.51.100.1:8080/key.asc"));
        assert!(!is_url("/etc/apt/keyrings/x.gpg"));
        assert!(!is_url("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    }
}
