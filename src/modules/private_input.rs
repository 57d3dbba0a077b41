//! Private input for a target's own client tools (`psql`, `mariadb`): credentials and
//! SQL reach the target on a command's standard input and land in files of a
//! directory only the user the task runs as can read, removed when the command ends.
//! Nothing of them is on a command line (which `ps` shows to every user, and which
//! `become` puts in sudo's arguments) or in bosun's `-vvv` log, which shows only how
//! many bytes went on standard input.
//!
//! The input is one line of base64 per part, then a line `.`: a part's text never
//! contains the terminator, and input cut short (a broken link, a killed control
//! node) stops the command before any tool reads a partial script.

use base64::Engine;

use super::{ModuleError, Target};
use crate::connection::{Command, CommandOutput, INCOMPLETE};

/// Exit status of a script whose tool is missing ([`require_tool`]).
pub const NO_TOOL: i32 = 101;

/// The shell word naming part `index` of the input in the script's private directory.
pub fn part(index: usize) -> String {
    format!("\"$d/{index}\"")
}

/// Shell text that finds `program` into the shell variable `var`, stopping the script
/// with [`NO_TOOL`] and Ansible's `get_bin_path(..., required=True)` message when the
/// target has none.
pub fn require_tool(var: &str, program: &str) -> String {
    format!(
        "{var}=$(command -v {program}) || {{ printf 'Failed to find required executable \"%s\" in paths: %s' {program} \"$PATH\" >&2; exit {NO_TOOL}; }}\n"
    )
}

/// The standard input that carries `parts`.
fn framed(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut input = String::new();
    for part in parts {
        base64::engine::general_purpose::STANDARD.encode_string(part, &mut input);
        input.push('\n');
    }
    input.push_str(".\n");
    input.into_bytes()
}

/// The script that unpacks the input into `"$d/0"`, `"$d/1"` ... (mode 0600 in a
/// 0700 directory) and runs `body` there: in the directory the task runs in when the
/// user can read it, else in its home, as Ansible's modules start.
fn script(body: &str) -> String {
    format!(
        "m=$(umask); umask 077; d=$(mktemp -d) || exit 1\n\
         trap 'rm -rf \"$d\"' EXIT; trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM\n\
         i=0; ok=\n\
         while IFS= read -r l; do\n\
         [ \"$l\" = . ] && {{ ok=1; break; }}\n\
         printf '%s\\n' \"$l\" | base64 -d > \"$d/$i\" || exit 1; i=$((i+1))\n\
         done\n\
         [ -n \"$ok\" ] || {{ echo 'the upload to the target arrived incomplete' >&2; exit {INCOMPLETE}; }}\n\
         umask \"$m\"\n\
         {{ [ -r . ] && [ -x . ]; }} 2>/dev/null || cd ~ 2>/dev/null || cd /tmp\n\
         {body}"
    )
}

/// Runs `body` on the target with `parts` in private files ([`part`]). A connection
/// that cannot feed standard input (a `become` password holds it) is refused: the
/// only other ways up are a file others could read while it is staged, or a command
/// line `ps` shows.
pub async fn run(
    on: &Target<'_>,
    parts: &[Vec<u8>],
    body: &str,
) -> Result<CommandOutput, ModuleError> {
    if !on.conn.takes_stdin() {
        return Err(ModuleError::Failed(
            "this module sends its SQL and credentials on standard input, which the become password holds: allow the become user without a password (sudo NOPASSWD), or log in as that user".into(),
        ));
    }
    let command = Command {
        stdin: Some(framed(parts)),
        ..Command::new(script(body))
    };
    let out = on.conn.exec(&command).await?;
    if out.rc == NO_TOOL || out.rc == INCOMPLETE {
        return Err(ModuleError::Failed(out.stderr_text().trim().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, stdin: &[u8]) -> (i32, String, String) {
        use std::io::Write;
        let mut child = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        let mut input = child.stdin.take().expect("stdin");
        input.write_all(stdin).expect("written");
        drop(input);
        let out = child.wait_with_output().expect("sh ends");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn parts_arrive_whole_in_private_files_that_go_away() {
        let parts = vec![
            b"[client]\npassword=\"s3cr'et\"\n".to_vec(),
            Vec::new(),
            b"SELECT 1;\n\x00\xff".to_vec(),
        ];
        let body = format!(
            "stat -c %a \"$d\" {0}; cat {0} {1} {2}; echo \"$d\" > /dev/fd/2",
            part(0),
            part(1),
            part(2)
        );
        let (rc, out, dir) = sh(&script(&body), &framed(&parts));
        assert_eq!(rc, 0, "{dir}");
        let mut expected = "700\n600\n".as_bytes().to_vec();
        expected.extend_from_slice(b"[client]\npassword=\"s3cr'et\"\nSELECT 1;\n\x00");
        assert_eq!(out.as_bytes()[..expected.len()], expected[..]);
        assert!(!std::path::Path::new(dir.trim()).exists(), "removed");
    }

    #[test]
    fn input_cut_short_stops_before_the_body() {
        let mut input = framed(&[b"DROP DATABASE a_long_name;".to_vec()]);
        input.truncate(input.len() - 2);
        let (rc, out, err) = sh(&script("echo ran"), &input);
        assert_eq!(rc, INCOMPLETE);
        assert_eq!(out, "");
        assert!(err.contains("arrived incomplete"), "{err}");
    }

    #[test]
    fn a_missing_tool_is_named_as_ansible_names_it() {
        let (rc, _, err) = sh(
            &script(&require_tool("p", "no-such-tool-here")),
            &framed(&[]),
        );
        assert_eq!(rc, NO_TOOL);
        assert!(
            err.starts_with("Failed to find required executable \"no-such-tool-here\" in paths: "),
            "{err}"
        );
    }
}
