//! `assemble`: concatenates the fragments of a directory (on the target, or on the
//! control node with `remote_src: false`) into one file, as Ansible's module and
//! action plugin do: fragments in sorted name order, a newline added after one that
//! lacks it, an optional delimiter between them, filtered by `regexp` and
//! `ignore_hidden`. The file is then installed as `copy` installs given bytes
//! ([`install`]: checksum compared on the target, `validate`, `backup`, attributes,
//! atomic write).

use async_trait::async_trait;
use serde_json::Value as Json;

use super::contract::{Decision, StateModule};
use super::install::{self, Settings, Source};
use super::typed::{WithAttributes, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};
use crate::pyre;

/// Assembles a file from fragments.
pub struct Assemble;

module_args! {
    /// `assemble`'s arguments.
    pub struct AssembleArgs {
        /// The directory of fragments (on the target unless `remote_src` is false).
        src: String => .required(),
        /// The file to make.
        dest: String => .required(),
        /// Keep the old file beside the new one.
        backup: bool => .default_bool(false),
        /// Written between fragments, with escapes such as `\n` decoded.
        delimiter: Option<String>,
        /// `src` is on the target (otherwise on the control node, found in `files/`).
        remote_src: bool => .default_bool(true),
        /// Only fragments whose names this Python regular expression finds.
        regexp: Option<String>,
        /// Leave out fragments whose names start with `.`.
        ignore_hidden: bool => .default_bool(false),
        /// A command with `%s` the new file must pass before it replaces anything.
        validate: Option<String>,
        /// Decrypt vault-encrypted control-node fragments.
        decrypt: bool => .default_bool(true),
    }
}

/// The fragments read from the source directory, and the destination as found.
#[derive(Debug)]
pub struct Found {
    /// The destination and the assembled bytes.
    install: install::Found,
    /// The source directory, reported back for a remote `src` as Ansible's module does.
    src: Option<String>,
}

/// Exit statuses of the remote read.
const MISSING: i32 = 10;
const NOT_A_DIRECTORY: i32 = 11;

#[async_trait]
impl StateModule for Assemble {
    const NAME: &'static str = "assemble";
    type Args = WithAttributes<AssembleArgs>;
    type State = Found;
    type Plan = install::Plan;

    async fn query(&self, on: &Target<'_>, typed: &Self::Args) -> Result<Found, ModuleError> {
        let args = &typed.args;
        let regexp = match &args.regexp {
            Some(pattern) => Some(
                pyre::compile(pattern, pyre::Flags::default(), pyre::Anchor::Search).map_err(
                    |err| ModuleError::Failed(format!("Invalid Regexp ({err}) in \"{pattern}\"")),
                )?,
            ),
            None => None,
        };
        if let Some(validate) = &args.validate
            && !validate.contains("%s")
        {
            return Err(ModuleError::Failed(format!(
                "validate must contain %s: {validate}"
            )));
        }
        let keep = |name: &str| {
            let hidden = args.ignore_hidden && name.starts_with('.');
            let matches = regexp
                .as_ref()
                .is_none_or(|re| re.is_match(name).unwrap_or(false));
            matches && !hidden
        };
        let dest = super::pathexpand::expand_path(on, &args.dest).await?;
        let (fragments, src) = if args.remote_src {
            let src = super::pathexpand::expand_path(on, &args.src).await?;
            (remote_fragments(on, &src, &keep).await?, Some(src))
        } else {
            (local_fragments(on, args, &keep)?, None)
        };
        let data = assemble(&fragments, args.delimiter.as_deref(), !args.remote_src);
        let source = Source {
            data,
            src: None,
            vaulted: false,
            mode: None,
        };
        let install = install::query(on, &dest, source, args.remote_src, &typed.attributes).await?;
        Ok(Found { install, src })
    }

    fn decide(&self, typed: &Self::Args, found: Found) -> Result<Decision<install::Plan>, String> {
        let settings = settings(typed);
        let mut decision = install::decide(found.install, &settings, None)?;
        if let Some(src) = found.src {
            // Ansible's module: no diff, and `src` and `msg` in its result.
            decision.diff = None;
            decision.result.insert("src".into(), Json::String(src));
            decision.result.insert("msg".into(), Json::from("OK"));
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        typed: &Self::Args,
        plan: install::Plan,
    ) -> Result<Outcome, ModuleError> {
        install::apply(on, plan, &settings(typed)).await
    }
}

fn settings(typed: &WithAttributes<AssembleArgs>) -> Settings<'_> {
    Settings {
        force: true,
        backup: typed.args.backup,
        validate: typed.args.validate.as_deref(),
        attributes: &typed.attributes,
    }
}

/// The regular files of the control-node directory `src` (found in `files/`) that
/// `keep` keeps, in sorted name order, decrypted unless `decrypt` is off.
fn local_fragments(
    on: &Target<'_>,
    args: &AssembleArgs,
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<Vec<u8>>, ModuleError> {
    let Some(dir) = on.vars.find_file("files", &args.src) else {
        return Err(ModuleError::Failed(format!(
            "Could not find or access '{}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option",
            args.src
        )));
    };
    if !dir.is_dir() {
        return Err(ModuleError::Failed(format!(
            "Source ({}) is not a directory",
            dir.display()
        )));
    }
    let read_dir = std::fs::read_dir(&dir)
        .map_err(|err| ModuleError::Failed(format!("{}: {err}", dir.display())))?;
    let mut names: Vec<String> = read_dir
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut fragments = Vec::new();
    for name in names {
        let path = dir.join(&name);
        if !keep(&name) || !path.is_file() {
            continue;
        }
        let data = std::fs::read(&path)
            .map_err(|err| ModuleError::Failed(format!("{}: {err}", path.display())))?;
        let data = match args.decrypt {
            true => crate::vault::files::open(data)
                .map(|(data, _)| data)
                .map_err(|err| ModuleError::Failed(format!("{err} ({})", path.display())))?,
            false => data,
        };
        fragments.push(data);
    }
    Ok(fragments)
}

/// Reads the regular files of the target directory `src` in one round trip: for each,
/// its name, its size and its bytes; kept by `keep` and sorted by name.
async fn remote_fragments(
    on: &Target<'_>,
    src: &str,
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<Vec<u8>>, ModuleError> {
    let out = on.conn.exec(&Command::new(fragments_script(src))).await?;
    match out.rc {
        0 => {}
        MISSING => {
            return Err(ModuleError::Failed(format!(
                "Source ({src}) does not exist"
            )));
        }
        NOT_A_DIRECTORY => {
            return Err(ModuleError::Failed(format!(
                "Source ({src}) is not a directory"
            )));
        }
        rc => {
            return Err(ModuleError::Failed(format!(
                "could not read the fragments in {src} (rc {rc}): {}",
                out.stderr_text().trim()
            )));
        }
    }
    let mut files = parse_fragments(&out.stdout)
        .ok_or_else(|| ModuleError::Failed(format!("could not read the fragments in {src}")))?;
    files.retain(|(name, _)| keep(name));
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(files.into_iter().map(|(_, data)| data).collect())
}

/// The shell script that prints, for each regular file of `src` (links followed, as
/// Python's `os.path.isfile`), `name NUL size NUL bytes`.
fn fragments_script(src: &str) -> String {
    let dir = quote(src);
    format!(
        "[ -e {dir} ] || exit {MISSING}; [ -d {dir} ] || exit {NOT_A_DIRECTORY}; cd {dir} || exit 1; \
         for f in * .[!.]* ..?*; do [ -f \"$f\" ] || continue; \
         printf '%s\\0%s\\0' \"$f\" \"$(wc -c < \"$f\")\"; cat -- \"$f\"; done"
    )
}

/// Splits what [`fragments_script`] printed into names and bytes.
fn parse_fragments(mut out: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    while !out.is_empty() {
        let end = out.iter().position(|b| *b == 0)?;
        let name = String::from_utf8_lossy(&out[..end]).into_owned();
        out = &out[end + 1..];
        let end = out.iter().position(|b| *b == 0)?;
        let size: usize = std::str::from_utf8(&out[..end]).ok()?.trim().parse().ok()?;
        out = &out[end + 1..];
        let data = out.get(..size)?.to_vec();
        out = &out[size..];
        files.push((name, data));
    }
    Some(files)
}

/// The fragments joined as Ansible joins them: a newline after a fragment that lacks
/// one, and the delimiter (escapes decoded, a newline after it unless it ends in one)
/// between fragments. Ansible's action plugin, which assembles control-node fragments,
/// compares a byte with `b'\n'` and so always adds the newline: `always_newline` does
/// the same.
fn assemble(fragments: &[Vec<u8>], delimiter: Option<&str>, always_newline: bool) -> Vec<u8> {
    let delimiter = delimiter.filter(|d| !d.is_empty()).map(escape_decode);
    let mut out = Vec::new();
    for (i, fragment) in fragments.iter().enumerate() {
        if i > 0 {
            if !fragments[i - 1].ends_with(b"\n") {
                out.push(b'\n');
            }
            if let Some(delimiter) = &delimiter {
                out.extend_from_slice(delimiter);
                if always_newline || delimiter.last() != Some(&b'\n') {
                    out.push(b'\n');
                }
            }
        }
        out.extend_from_slice(fragment);
    }
    out
}

/// Python's `codecs.escape_decode`: backslash escapes of a bytes literal decoded
/// (`\n`, `\t`, `\\`, `\x41`, octal ...), unknown ones kept as written.
fn escape_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' || i + 1 == bytes.len() {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let c = bytes[i + 1];
        i += 2;
        match c {
            b'\n' => {}
            b'\\' | b'\'' | b'"' => out.push(c),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((value & 0xff) as u8);
            }
            b'x' => {
                let hex = bytes
                    .get(i..i + 2)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(value) => {
                        out.push(value);
                        i += 2;
                    }
                    None => out.extend_from_slice(b"\\x"),
                }
            }
            other => out.extend_from_slice(&[b'\\', other]),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;
    use serde_json::json;

    fn fragments(texts: &[&str]) -> Vec<Vec<u8>> {
        texts.iter().map(|t| t.as_bytes().to_vec()).collect()
    }

    #[test]
    fn fragments_are_joined_as_ansible_joins_them() {
        let five = fragments(&[
            "this is fragment 1\n",
            "this is fragment 2\n",
            "this is fragment 3\n",
            "this is fragment 4\n",
            "this is fragment 5\n",
        ]);
        // The checksums the conformance target expects for its fragments.
        assert_eq!(
            super::super::fileops::sha1_hex(&assemble(&five, None, true)),
            "048a1bd1951aa5ccc427eeb4ca19aee45e9c68b3"
        );
        assert_eq!(
            super::super::fileops::sha1_hex(&assemble(&five, Some("#--- delimiter ---#"), true)),
            "505359f48c65b3904127cf62b912991d4da7ed6d"
        );
        assert_eq!(
            assemble(&fragments(&["a", "b", "c\n"]), Some("--\\t--\\n"), false),
            b"a\n--\t--\nb\n--\t--\nc\n"
        );
        assert_eq!(
            assemble(&fragments(&["a", "b"]), Some("--\\n"), true),
            b"a\n--\n\nb"
        );
        assert_eq!(assemble(&fragments(&["a", "b"]), Some(""), false), b"a\nb");
        assert!(assemble(&[], Some("x"), false).is_empty());
    }

    #[test]
    fn escapes_decode_as_pythons_escape_decode() {
        assert_eq!(
            escape_decode(r"a\nb\\c\x41\101\7\q\"),
            b"a\nb\\cAA\x07\\q\\"
        );
        assert_eq!(escape_decode(r"\xZ1"), b"\\xZ1");
    }

    #[test]
    fn the_remote_listing_is_read_back_whole() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("b"), "two\n").expect("write");
        std::fs::write(dir.path().join(".hidden"), "h").expect("write");
        std::fs::write(dir.path().join("a\nline"), "one\0\n").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("dir");
        std::os::unix::fs::symlink("b", dir.path().join("c")).expect("link");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(fragments_script(&dir.path().display().to_string()))
            .output()
            .expect("sh");
        let mut files = parse_fragments(&out.stdout).expect("parsed");
        files.sort();
        assert_eq!(
            files,
            [
                (".hidden".to_string(), b"h".to_vec()),
                ("a\nline".to_string(), b"one\0\n".to_vec()),
                ("b".to_string(), b"two\n".to_vec()),
                ("c".to_string(), b"two\n".to_vec()),
            ]
        );
        let missing = std::process::Command::new("sh")
            .arg("-c")
            .arg(fragments_script("/nonexistent-bosun"))
            .status()
            .expect("sh");
        assert_eq!(missing.code(), Some(MISSING));
    }

    #[test]
    fn src_and_dest_are_required() {
        let err = from_json::<WithAttributes<AssembleArgs>>(json!({"src": "/x"}))
            .expect_err("dest missing");
        assert!(err.contains("dest"), "{err}");
        let typed: WithAttributes<AssembleArgs> =
            from_json(json!({"src": "/x", "dest": "/y"})).expect("valid");
        assert!(typed.args.remote_src && typed.args.decrypt && !typed.args.ignore_hidden);
    }
}
