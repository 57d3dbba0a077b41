//! `get_url`: downloads a file on the target (with its `curl`) into a temporary file
//! beside the destination, verifies its checksum, then renames it into place; nothing
//! is downloaded when the destination is already there (or matches `checksum`).

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::fileops::{self, Attributes, CHECKSUM_ALGORITHMS, FileStat};
use super::http::{self, Request, Response};
use super::typed::{WithAttributes, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Downloads files over HTTP(S).
pub struct GetUrl;

module_args! {
    /// `get_url`'s arguments.
    pub struct GetUrlArgs {
        ..request: http::UrlArgs,
        /// The file, or a directory to put the URL's file name in.
        dest: String => .required(),
        /// `<algorithm>:<digest>` the download must have; a file that has it is kept.
        checksum: Option<String>,
        /// Download even when `dest` exists.
        force: bool => .default_bool(false),
        /// The directory the download goes to before it is moved into place.
        tmp_dest: Option<String>,
        backup: bool => .default_bool(false),
    }
}

impl GetUrlArgs {
    /// The algorithm and digest of `checksum`, when given.
    fn checksum(&self) -> Result<Option<(String, String)>, String> {
        match self.checksum.as_deref().filter(|c| !c.is_empty()) {
            Some(text) => parse_checksum(text).map(Some),
            None => Ok(None),
        }
    }

    /// The request the arguments describe.
    fn request(&self) -> Request {
        Request::new(&self.request)
    }
}

/// The destination as the target holds it.
#[derive(Debug)]
pub struct Found {
    /// The file to write: `dest`, or the URL's file name in it.
    dest: String,
    /// `dest` is a directory.
    into_dir: bool,
    /// The file's state with its digest, `None` when missing.
    current: Option<FileStat>,
}

/// What `get_url` does.
#[derive(Debug)]
pub enum Plan {
    /// The file is kept; these commands fix its mode and owners.
    Attributes(Vec<String>),
    /// Download to `dest`, replacing `current`.
    Download {
        /// The file written.
        dest: String,
        /// What it replaces, for its mode.
        current: Option<Box<FileStat>>,
    },
}

/// A `checksum:` value: algorithm and expected digest.
fn parse_checksum(text: &str) -> Result<(String, String), String> {
    let (algorithm, digest) = text
        .split_once(':')
        .ok_or("The checksum parameter has to be in format <algorithm>:<checksum>")?;
    let algorithm = algorithm.trim().to_ascii_lowercase();
    if !CHECKSUM_ALGORITHMS.contains(&algorithm.as_str()) {
        return Err(format!(
            "Unsupported hash algorithm: {algorithm}; use one of {}",
            CHECKSUM_ALGORITHMS.join(", ")
        ));
    }
    let digest = digest.trim().to_ascii_lowercase();
    if digest.contains("://") {
        return Err("a checksum given as the URL of a checksum file is not supported by bosun: give <algorithm>:<hex>".into());
    }
    if digest.is_empty() || !digest.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "The checksum format is invalid: '{digest}' is not hexadecimal"
        ));
    }
    Ok((algorithm, digest))
}

/// The file name a URL names (its path's last segment), `index.html` when none.
fn url_file_name(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let name = path
        .split_once('/')
        .map(|(_, p)| p.rsplit('/').next().unwrap_or_default())
        .unwrap_or_default();
    if name.is_empty() {
        "index.html".to_string()
    } else {
        name.to_string()
    }
}

#[async_trait]
impl StateModule for GetUrl {
    const NAME: &'static str = "get_url";
    type Args = WithAttributes<GetUrlArgs>;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, typed: &Self::Args) -> Result<Found, ModuleError> {
        let args = &typed.args;
        let checksum = args.checksum().map_err(ModuleError::Failed)?;
        let algorithm = checksum.as_ref().map_or("sha1", |(a, _)| a.as_str());
        let given = super::pathexpand::expand_path(on, &args.dest).await?;
        let look = |path: &str| {
            format!(
                "{}; {}:",
                fileops::stat_script_with(path, true, Some(algorithm)),
                typed.attributes.probe(path)
            )
        };
        let query = format!("[ -d {} ] && echo D:dir; {}", quote(&given), look(&given));
        let out = on.conn.exec(&Command::new(query)).await?;
        let text = out.stdout_text();
        let into_dir = text.lines().any(|l| l == "D:dir");
        if !into_dir {
            return Ok(Found {
                dest: given,
                into_dir,
                current: fileops::parse_stat(&text),
            });
        }
        let dest = format!(
            "{}/{}",
            given.trim_end_matches('/'),
            url_file_name(args.request.url())
        );
        let out = on.conn.exec(&Command::new(look(&dest))).await?;
        Ok(Found {
            dest,
            into_dir,
            current: fileops::parse_stat(&out.stdout_text()),
        })
    }

    fn decide(&self, typed: &Self::Args, found: Found) -> Result<Decision<Plan>, String> {
        let args = &typed.args;
        let checksum = args.checksum()?;
        let matches = |stat: &&FileStat| match &checksum {
            Some((_, digest)) => stat.checksum.as_deref() == Some(digest.as_str()),
            None => true,
        };
        let keep = found
            .current
            .as_ref()
            .filter(|_| !args.force || checksum.is_some())
            .filter(matches)
            .filter(|_| !found.into_dir || checksum.is_some());
        let decision = match keep {
            Some(stat) => {
                let changes = typed.attributes.changes(&found.dest, stat)?;
                let plan = Some(changes.commands).filter(|c| !c.is_empty());
                Decision::maybe(plan.map(Plan::Attributes)).with("msg", "file already exists")
            }
            None => Decision::change(Plan::Download {
                dest: found.dest.clone(),
                current: found.current.map(Box::new),
            })
            .with("msg", "file would be downloaded (check mode)"),
        };
        Ok(decision
            .with("url", json!(args.request.url()))
            .with("dest", json!(found.dest)))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        typed: &Self::Args,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        match plan {
            Plan::Attributes(commands) => {
                let done = on.conn.exec(&Command::new(commands.join(" && "))).await?;
                if done.rc != 0 {
                    return Err(ModuleError::Failed(done.stderr_text().trim().to_string()));
                }
                Ok(Outcome::new())
            }
            Plan::Download { dest, current } => {
                download(on, typed, &dest, current.as_deref()).await
            }
        }
    }
}

/// Downloads to a temporary file, checks it and moves it over `dest` when it differs;
/// the result describes the file afterwards. `changed` is false when the download
/// turned out the same as the file there.
async fn download(
    on: &Target<'_>,
    typed: &WithAttributes<GetUrlArgs>,
    dest: &str,
    current: Option<&FileStat>,
) -> Result<Outcome, ModuleError> {
    let args = &typed.args;
    let attributes = &typed.attributes;
    let request = args.request();
    let url = request.url.clone();
    let checksum = args.checksum().map_err(ModuleError::Failed)?;
    let algorithm = checksum.as_ref().map_or("sha1", |(a, _)| a.as_str());
    let staging = args
        .tmp_dest
        .clone()
        .unwrap_or_else(|| http::parent(dest).to_string());
    let want = checksum.as_ref().map(|(_, digest)| digest.as_str());
    let backup = args.backup.then(|| {
        format!(
            "{dest}.{}.{}~",
            std::process::id(),
            crate::clock::backup_stamp()
        )
    });
    let install = install_script(
        dest,
        algorithm,
        want,
        attributes,
        current,
        backup.as_deref(),
    )?;
    let mut command = request.command("\"$b\"", &install);
    command.script = format!(
        "b={} || exit 1; {}",
        http::temp_in(&staging),
        command.script
    );
    let done = on.conn.exec(&command).await?;
    let response =
        Response::parse(done.rc, &done.stdout, &done.stderr_text()).map_err(ModuleError::Failed)?;
    let mut outcome = Outcome::new();
    outcome.extend(response.common_fields("status_code"));
    outcome.insert("dest".into(), json!(dest));
    outcome.insert("url".into(), json!(url));
    let report = String::from_utf8_lossy(&response.rest).into_owned();
    let field = |key: &str| {
        report
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::to_string)
    };
    if response.status != 200 {
        let mut failed = super::failed("Request failed");
        failed.insert("changed".into(), json!(false));
        failed.extend(outcome);
        let detail = if response.status < 0 {
            response.failure_message()
        } else {
            format!("HTTP Error {}", response.status)
        };
        failed.insert("response".into(), json!(detail));
        return Err(ModuleError::FailedWith(failed));
    }
    let downloaded = field("A:").unwrap_or_default();
    if let Some((_, digest)) = &checksum
        && &downloaded != digest
    {
        return Err(ModuleError::Failed(format!(
            "The checksum for {dest} did not match {digest}; it was {downloaded}."
        )));
    }
    if let Some(error) = field("E:") {
        return Err(ModuleError::Failed(error));
    }
    let installed = field("R:").as_deref() == Some("installed");
    if let Some(path) = field("B:") {
        outcome.insert("backup_file".into(), json!(path));
    }
    let after = fileops::stat(on, dest, true, true).await?;
    let attribute_change = match &after {
        Some(stat) => !attributes
            .changes(dest, stat)
            .map_err(ModuleError::Failed)?
            .commands
            .is_empty(),
        None => false,
    };
    if let Some(stat) = &after {
        outcome.extend(fileops::describe(dest, stat));
        outcome.insert("checksum_dest".into(), json!(stat.checksum));
    }
    outcome.insert("dest".into(), json!(dest));
    outcome.insert("checksum_src".into(), json!(field("S:")));
    outcome.insert("size".into(), json!(response.size));
    outcome.insert("msg".into(), json!(response.ok_message()));
    outcome.insert("changed".into(), json!(installed || attribute_change));
    Ok(outcome)
}

/// The script run after the download (the body in `$b`, the status in `$code`):
/// prints the digest with the task's algorithm (`A:`) and SHA-1 (`S:`); unless the
/// status is 200 and the digest is `want`, removes the download; else renames it over
/// `dest` when its content differs (`R:installed`), mode and owners set first, and
/// the file it replaces copied to `backup` first (`B:path`); the `chattr` flags are
/// set on the file kept or installed.
fn install_script(
    dest: &str,
    algorithm: &str,
    want: Option<&str>,
    attributes: &Attributes,
    current: Option<&FileStat>,
    backup: Option<&str>,
) -> Result<String, ModuleError> {
    let d = quote(dest);
    let dir = quote(http::parent(dest));
    let want = quote(want.unwrap_or_default());
    let mode = match (attributes.mode(), current) {
        (Some(mode), _) => fileops::parse_mode(mode, current.map(|c| c.mode), false)
            .map_err(ModuleError::Failed)?,
        (None, Some(stat)) => stat.mode & 0o7777,
        (None, None) => 0o644,
    };
    let mut before_rename = String::new();
    if let Some(owner) = attributes.owner() {
        before_rename.push_str(&format!("chown {} \"$f\" && ", quote(owner)));
    }
    if let Some(group) = attributes.group() {
        before_rename.push_str(&format!("chgrp {} \"$f\" && ", quote(group)));
    }
    if let Some(path) = backup {
        let p = quote(path);
        before_rename.push_str(&format!(
            "{{ [ ! -f {d} ] || {{ cp -p -- {d} {p} && echo B:{p}; }}; }} && "
        ));
    }
    Ok(format!(
        "k=; a=$({algorithm}sum < \"$b\" | cut -d' ' -f1); \
         printf 'A:%s\\nS:%s\\n' \"$a\" \"$(sha1sum < \"$b\" | cut -d' ' -f1)\"; \
         if [ \"$code\" != 200 ] || {{ [ -n {want} ] && [ \"$a\" != {want} ]; }}; then rm -f \"$b\"; \
         elif [ -f {d} ] && [ \"$(sha1sum < \"$b\")\" = \"$(sha1sum < {d})\" ]; then rm -f \"$b\"; echo R:same; k=1; \
         else f=\"$b\"; case \"$b\" in {dir}/*) ;; *) f=$(mktemp -p {dir} .bosun-http.XXXXXX) && cp \"$b\" \"$f\"; rm -f \"$b\";; esac; \
           if chmod {mode:04o} \"$f\" && {before_rename}mv -f \"$f\" {d}; then echo R:installed; k=1; \
           else rm -f \"$f\"; echo 'E:cannot install the download as {dest_text}'; fi; fi{chattr}",
        dest_text = dest.replace('\'', ""),
        chattr = match attributes.after_write(dest) {
            flags if flags.is_empty() => flags,
            flags => format!(
                "; [ -z \"$k\" ] || ( {flags}) || echo 'E:cannot set the attributes of {}'",
                dest.replace('\'', "")
            ),
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    #[test]
    fn checksums_parse() {
        assert_eq!(
            parse_checksum("SHA256:ABcd01"),
            Ok(("sha256".into(), "abcd01".into()))
        );
        assert!(parse_checksum("crc32:00").is_err());
        assert!(parse_checksum("nocolon").is_err());
        assert!(parse_checksum("sha1:http://x/sums").is_err());
        assert!(parse_checksum("sha1:xyz").is_err());
    }

    fn typed(value: Json) -> WithAttributes<GetUrlArgs> {
        crate::modules::typed::from_json(value).expect("valid")
    }

    fn found(current: Option<&str>, into_dir: bool) -> Found {
        Found {
            dest: "/d/f".into(),
            into_dir,
            current: current.map(|sum| {
                let mut stat = fileops::parse_stat_line("regular file|644|0|0|root|root|1|1|1")
                    .expect("a stat line");
                stat.checksum = Some(sum.into());
                stat
            }),
        }
    }

    #[test]
    fn an_existing_file_is_kept_unless_forced_or_its_checksum_differs() {
        let plain = typed(json!({"url": "http://h/f", "dest": "/d/f"}));
        let kept = GetUrl
            .decide(&plain, found(Some("ab"), false))
            .expect("decides");
        assert!(kept.plan.is_none());
        assert_eq!(kept.result["msg"], "file already exists");
        let missing = GetUrl.decide(&plain, found(None, false)).expect("decides");
        assert!(matches!(missing.plan, Some(Plan::Download { .. })));
        let forced = typed(json!({"url": "http://h/f", "dest": "/d/f", "force": true}));
        let again = GetUrl
            .decide(&forced, found(Some("ab"), false))
            .expect("decides");
        assert!(again.plan.is_some());
        let sum = typed(json!({"url": "http://h/f", "dest": "/d", "checksum": "sha1:AB"}));
        let same = GetUrl
            .decide(&sum, found(Some("ab"), true))
            .expect("decides");
        assert!(same.plan.is_none(), "a matching checksum keeps it");
        let other = GetUrl
            .decide(&sum, found(Some("cd"), true))
            .expect("decides");
        assert!(other.plan.is_some());
        let dir = GetUrl
            .decide(&plain, found(Some("ab"), true))
            .expect("decides");
        assert!(dir.plan.is_some(), "into a directory without checksum");
    }

    #[test]
    fn file_names_come_from_the_url() {
        assert_eq!(url_file_name("http://h/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_file_name("http://h/"), "index.html");
        assert_eq!(url_file_name("http://h"), "index.html");
    }

    #[test]
    fn a_kept_or_installed_download_gets_its_chattr_flags() {
        let with_flags = typed(json!({"url": "http://h/f", "dest": "/d/f", "attributes": "de"}));
        let script = install_script("/d/f", "sha1", None, &with_flags.attributes, None, None)
            .expect("a script");
        assert!(
            script.ends_with(
                "; [ -z \"$k\" ] || ( if command -v chattr >/dev/null 2>&1; then chattr =de -- /d/f || exit 93; fi; ) || echo 'E:cannot set the attributes of /d/f'"
            ),
            "{script}"
        );
        assert_eq!(script.matches("k=1").count(), 2, "{script}");
        let plain = typed(json!({"url": "http://h/f", "dest": "/d/f"}));
        let script =
            install_script("/d/f", "sha1", None, &plain.attributes, None, None).expect("a script");
        assert!(!script.contains("chattr"), "{script}");
    }
}
