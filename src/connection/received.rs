//! Proof of receipt: before a file that arrived on a command's standard input is put in
//! place, the target checks it holds every byte that was sent. A control node killed
//! mid-upload, or a link that drops, ends the input early, and the command would go on
//! with what it got; this check makes it stop instead and remove the partial file.

use sha1::{Digest, Sha1};

/// The exit status of a script whose upload arrived incomplete.
pub const INCOMPLETE: i32 = 93;

/// Shell lines that stop the script with [`INCOMPLETE`], removing `path`, unless the
/// file `path` (a shell word, quoted by the caller) holds exactly `data`.
///
/// The target compares the file's SHA-1 (so its length too) with the one computed here,
/// with one `sha1sum` process; the expected sum travels in a here-document, so the
/// lines end the current shell line: the caller continues on a new one.
pub fn check_received(path: &str, data: &[u8]) -> String {
    let sum = hex::encode(Sha1::digest(data));
    format!(
        "sha1sum -c --status /dev/fd/3 3<<'__BOSUN_SUM__' < {path} || {{ rm -f -- {path}; echo 'the upload to the target arrived incomplete' >&2; exit {INCOMPLETE}; }}\n{sum}  -\n__BOSUN_SUM__\n"
    )
}

/// Shell lines that write the script's standard input (`data`) to `temp`, readable by
/// its owner only, and stop the script unless all of it arrived (see
/// [`check_received`]); the caller continues on a new line.
pub fn receive(temp: &str, data: &[u8]) -> String {
    format!(
        "(umask 077; cat > {temp}) || {{ rm -f -- {temp}; exit 1; }}\n{}",
        check_received(temp, data)
    )
}

/// Shell words that give `temp` the mode in `$m` and rename it over `dest` (both
/// quoted words), removing `temp` if either fails.
pub fn put_in_place(temp: &str, dest: &str) -> String {
    format!("chmod \"$m\" {temp} && mv -f -- {temp} {dest} || {{ rm -f -- {temp}; exit 1; }}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> (i32, String) {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), stderr)
    }

    #[test]
    fn a_complete_file_passes_and_the_script_goes_on() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("it's here");
        std::fs::write(&path, b"all of it\n").expect("write");
        let word = crate::connection::quote(&path.display().to_string());
        let script = check_received(&word, b"all of it\n") + "echo next >&2";
        assert_eq!(run(&script), (0, "next\n".to_string()));
        assert!(path.exists());
    }

    #[test]
    fn a_short_or_different_file_is_removed_and_stops_the_script() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("part");
        let word = path.display().to_string();
        for got in [&b"all of"[..], b"", b"all of IT\n"] {
            std::fs::write(&path, got).expect("write");
            let script = check_received(&word, b"all of it\n") + "echo next >&2";
            let (rc, stderr) = run(&script);
            assert_eq!(rc, INCOMPLETE, "{stderr}");
            assert!(stderr.contains("arrived incomplete"), "{stderr}");
            assert!(!stderr.contains("next"), "{stderr}");
            assert!(!path.exists(), "the partial file is removed");
        }
    }
}
