//! `get_url`: downloads a file on the target (with its `curl`) into a temporary file
//! beside the destination, verifies its checksum, then renames it into place; nothing
//! is downloaded when the destination is already there (or matches `checksum`).

use async_trait::async_trait;
use serde_json::json;

use super::fileops::{self, Attributes, CHECKSUM_ALGORITHMS};
use super::http::{self, Request, Response};
use super::{Args, Kind, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};

/// Downloads files over HTTP(S).
pub struct GetUrl;

/// The module's own parameters, besides [`http::REQUEST_PARAMS`].
const OWN_PARAMS: &[Param] = &[
    Param::new("dest", Kind::Str).required(),
    Param::new("checksum", Kind::Str),
    Param::new("force", Kind::Bool),
    Param::new("tmp_dest", Kind::Str),
    Param::new("backup", Kind::Bool),
];

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
impl Module for GetUrl {
    fn name(&self) -> &'static str {
        "get_url"
    }

    fn params(&self) -> &'static [Param] {
        OWN_PARAMS
    }

    fn all_params(&self) -> std::borrow::Cow<'static, [Param]> {
        http::with_request_params(OWN_PARAMS)
    }

    fn takes_file_attributes(&self) -> bool {
        true
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let request = Request::from_args(args);
        let url = request.url.clone();
        let checksum = match args.str("checksum").filter(|c| !c.is_empty()) {
            Some(text) => Some(parse_checksum(text).map_err(ModuleError::Failed)?),
            None => None,
        };
        let algorithm = checksum.as_ref().map_or("sha1", |(a, _)| a.as_str());
        let given = fileops::expand_user(ctx, args.str("dest").unwrap_or_default()).await?;
        let query = format!(
            "[ -d {} ] && echo D:dir; {}",
            quote(&given),
            fileops::stat_script_with(&given, true, Some(algorithm))
        );
        let out = ctx.conn.exec(&Command::new(query)).await?;
        let text = out.stdout_text();
        let into_dir = text.lines().any(|l| l == "D:dir");
        let dest = if into_dir {
            format!("{}/{}", given.trim_end_matches('/'), url_file_name(&url))
        } else {
            given.clone()
        };
        let current = if into_dir {
            let script = fileops::stat_script_with(&dest, true, Some(algorithm));
            let out = ctx.conn.exec(&Command::new(script)).await?;
            fileops::parse_stat(&out.stdout_text())
        } else {
            fileops::parse_stat(&text)
        };
        let attributes = <Attributes as super::typed::TypedArgs>::from_args(args)
            .map_err(ModuleError::Failed)?;
        let matches = |stat: &fileops::FileStat| match &checksum {
            Some((_, digest)) => stat.checksum.as_deref() == Some(digest.as_str()),
            None => true,
        };
        let mut outcome = super::ok(false);
        outcome.insert("url".into(), json!(url));
        outcome.insert("dest".into(), json!(dest));
        let keep = current
            .as_ref()
            .filter(|stat| (!args.bool_or("force", false) || checksum.is_some()) && matches(stat));
        if let Some(stat) = keep.filter(|_| !into_dir || checksum.is_some()) {
            let changes = attributes
                .changes(&dest, stat)
                .map_err(ModuleError::Failed)?;
            if !changes.commands.is_empty() && !ctx.check_mode {
                let done = ctx
                    .conn
                    .exec(&Command::new(changes.commands.join(" && ")))
                    .await?;
                if done.rc != 0 {
                    return Ok(super::failed(done.stderr_text().trim().to_string()));
                }
            }
            outcome.insert("changed".into(), json!(!changes.commands.is_empty()));
            outcome.insert("msg".into(), json!("file already exists"));
            return Ok(outcome);
        }
        if ctx.check_mode {
            outcome.insert("changed".into(), json!(true));
            outcome.insert("msg".into(), json!("file would be downloaded (check mode)"));
            return Ok(outcome);
        }
        let staging = args
            .str("tmp_dest")
            .map(str::to_string)
            .unwrap_or_else(|| http::parent(&dest).to_string());
        let want = checksum.as_ref().map(|(_, digest)| digest.as_str());
        let backup = args.bool_or("backup", false).then(|| {
            format!(
                "{dest}.{}.{}~",
                std::process::id(),
                crate::clock::backup_stamp()
            )
        });
        let install = install_script(
            &dest,
            algorithm,
            want,
            &attributes,
            current.as_ref(),
            backup.as_deref(),
        )?;
        let mut command = request.command("\"$b\"", &install);
        command.script = format!(
            "b={} || exit 1; {}",
            http::temp_in(&staging),
            command.script
        );
        let done = ctx.conn.exec(&command).await?;
        let response = Response::parse(done.rc, &done.stdout, &done.stderr_text())
            .map_err(ModuleError::Failed)?;
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
            failed.extend(outcome);
            let detail = if response.status < 0 {
                response.failure_message()
            } else {
                format!("HTTP Error {}", response.status)
            };
            failed.insert("response".into(), json!(detail));
            return Ok(failed);
        }
        let downloaded = field("A:").unwrap_or_default();
        if let Some((_, digest)) = &checksum
            && &downloaded != digest
        {
            return Ok(super::failed(format!(
                "The checksum for {dest} did not match {digest}; it was {downloaded}."
            )));
        }
        if let Some(error) = field("E:") {
            return Ok(super::failed(error));
        }
        let installed = field("R:").as_deref() == Some("installed");
        if let Some(path) = field("B:") {
            outcome.insert("backup_file".into(), json!(path));
        }
        let after = fileops::stat(ctx, &dest, true, true).await?;
        let attribute_change = match &after {
            Some(stat) => !attributes
                .changes(&dest, stat)
                .map_err(ModuleError::Failed)?
                .commands
                .is_empty(),
            None => false,
        };
        if let Some(stat) = &after {
            outcome.extend(fileops::describe(&dest, stat));
            outcome.insert("checksum_dest".into(), json!(stat.checksum));
        }
        outcome.insert("dest".into(), json!(dest));
        outcome.insert("checksum_src".into(), json!(field("S:")));
        outcome.insert("size".into(), json!(response.size));
        outcome.insert("msg".into(), json!(response.ok_message()));
        outcome.insert("changed".into(), json!(installed || attribute_change));
        Ok(outcome)
    }
}

/// The script run after the download (the body in `$b`, the status in `$code`):
/// prints the digest with the task's algorithm (`A:`) and SHA-1 (`S:`); unless the
/// status is 200 and the digest is `want`, removes the download; else renames it over
/// `dest` when its content differs (`R:installed`), mode and owners set first, and
/// the file it replaces copied to `backup` first (`B:path`).
fn install_script(
    dest: &str,
    algorithm: &str,
    want: Option<&str>,
    attributes: &Attributes,
    current: Option<&fileops::FileStat>,
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
        "a=$({algorithm}sum < \"$b\" | cut -d' ' -f1); \
         printf 'A:%s\\nS:%s\\n' \"$a\" \"$(sha1sum < \"$b\" | cut -d' ' -f1)\"; \
         if [ \"$code\" != 200 ] || {{ [ -n {want} ] && [ \"$a\" != {want} ]; }}; then rm -f \"$b\"; \
         elif [ -f {d} ] && [ \"$(sha1sum < \"$b\")\" = \"$(sha1sum < {d})\" ]; then rm -f \"$b\"; echo R:same; \
         else f=\"$b\"; case \"$b\" in {dir}/*) ;; *) f=$(mktemp -p {dir} .bosun-http.XXXXXX) && cp \"$b\" \"$f\"; rm -f \"$b\";; esac; \
           if chmod {mode:04o} \"$f\" && {before_rename}mv -f \"$f\" {d}; then echo R:installed; \
           else rm -f \"$f\"; echo 'E:cannot install the download as {dest_text}'; fi; fi",
        dest_text = dest.replace('\'', "")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn file_names_come_from_the_url() {
        assert_eq!(url_file_name("http://h/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_file_name("http://h/"), "index.html");
        assert_eq!(url_file_name("http://h"), "index.html");
    }
}
