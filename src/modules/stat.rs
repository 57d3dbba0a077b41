//! `stat`: everything about one path on the target, in one round trip.

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use std::convert::Infallible;

use super::contract::{Decision, StateModule};
use super::fileops::{self, CHECKSUM_ALGORITHMS, FileKind, FileStat};
use super::typed::module_args;
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// `lsattr` flag letters and the names Ansible gives them.
const FILE_ATTRIBUTES: &[(char, &str)] = &[
    ('A', "noatime"),
    ('a', "append"),
    ('c', "compressed"),
    ('C', "nocow"),
    ('d', "nodump"),
    ('D', "dirsync"),
    ('e', "extents"),
    ('E', "encrypted"),
    ('h', "blocksize"),
    ('i', "immutable"),
    ('I', "indexed"),
    ('j', "journalled"),
    ('N', "inline"),
    ('s', "zero"),
    ('S', "synchronous"),
    ('t', "notail"),
    ('T', "blockroot"),
    ('u', "undelete"),
    ('X', "compressedraw"),
    ('Z', "compresseddirty"),
];

/// `stat`: retrieves file or file system status; never changes anything.
pub struct Stat;

module_args! {
    /// `stat`'s arguments.
    pub struct StatArgs {
        /// The path to look at (`~` expanded on the target).
        path: String => .required().aliases(&["dest", "name"]),
        /// Describe what a symbolic link points to instead of the link.
        follow: bool => .default_bool(false),
        get_checksum: bool => .default_bool(true),
        get_mime: bool => .default_bool(true).aliases(&["mime", "mime_type", "mime-type"]),
        get_attributes: bool => .default_bool(true).aliases(&["attr", "attributes"]),
        get_selinux_context: bool => .default_bool(false),
        checksum_algorithm: String => .default_str("sha1")
            .aliases(&["checksum", "checksum_algo"])
            .choices(CHECKSUM_ALGORITHMS),
    }
}

impl StatArgs {
    /// What the query must print besides the plain stat.
    fn wanted(&self) -> Wanted<'_> {
        Wanted {
            follow: self.follow,
            checksum: self
                .get_checksum
                .then_some(self.checksum_algorithm.as_str()),
            mime: self.get_mime,
            attributes: self.get_attributes,
            selinux: self.get_selinux_context,
        }
    }
}

/// What the query printed about the path.
#[derive(Debug)]
pub struct Found {
    /// The path, `~` expanded.
    path: String,
    /// The script's output.
    output: String,
}

#[async_trait]
impl StateModule for Stat {
    const NAME: &'static str = "stat";
    type Args = StatArgs;
    type State = Found;
    type Plan = Infallible;

    async fn query(&self, on: &Target<'_>, args: &StatArgs) -> Result<Found, ModuleError> {
        let path = super::pathexpand::expand_path(on, &args.path).await?;
        let out = on
            .conn
            .exec(&Command::new(script(&path, &args.wanted())))
            .await?;
        Ok(Found {
            path,
            output: out.stdout_text(),
        })
    }

    fn decide(&self, args: &StatArgs, found: Found) -> Result<Decision<Infallible>, String> {
        let stat = match fileops::parse_stat(&found.output) {
            Some(stat) => describe(
                &found.path,
                &stat,
                &Extras::parse(&found.output),
                &args.wanted(),
            ),
            None => {
                let mut missing = Map::new();
                missing.insert("exists".into(), Json::Bool(false));
                missing
            }
        };
        Ok(Decision::unchanged().with("stat", Json::Object(stat)))
    }

    async fn apply(
        &self,
        _on: &Target<'_>,
        _args: &StatArgs,
        plan: Infallible,
    ) -> Result<Outcome, ModuleError> {
        match plan {}
    }
}

/// What the task asked for beyond the plain stat.
#[derive(Debug)]
struct Wanted<'a> {
    follow: bool,
    checksum: Option<&'a str>,
    mime: bool,
    attributes: bool,
    selinux: bool,
}

/// The query: the shared stat script, plus MIME type, attributes and SELinux context
/// when asked for, all in one run.
fn script(path: &str, wanted: &Wanted<'_>) -> String {
    let p = quote(path);
    let mut extras = String::new();
    if wanted.mime {
        extras.push_str(&format!(
            "command -v file >/dev/null 2>&1 && printf 'M:%s\\n' \"$(file -b --mime-type --mime-encoding -- {p} 2>/dev/null)\"; "
        ));
    }
    if wanted.attributes {
        extras.push_str(&format!(
            "command -v lsattr >/dev/null 2>&1 && printf 'A:%s\\n' \"$(lsattr -vd -- {p} 2>/dev/null)\"; "
        ));
    }
    if wanted.selinux {
        extras.push_str(&format!(
            "printf 'Z:%s\\n' \"$(stat -c %C -- {p} 2>/dev/null)\"; "
        ));
    }
    let stat = fileops::stat_script_with(path, wanted.follow, wanted.checksum);
    if extras.is_empty() {
        stat
    } else {
        format!("{stat}; if [ -e {p} ] || [ -L {p} ]; then {extras}fi")
    }
}

/// The optional facts the script printed after the stat itself.
#[derive(Debug, Default, PartialEq)]
struct Extras {
    /// `file --mime-type --mime-encoding` output (`text/plain; charset=us-ascii`).
    mime: Option<String>,
    /// `lsattr -vd` output (`12345 --------e------- /path`).
    attributes: Option<String>,
    /// `stat -c %C` output (`user:role:type:range`).
    selinux: Option<String>,
}

impl Extras {
    fn parse(output: &str) -> Extras {
        let mut extras = Extras::default();
        for line in output.lines() {
            if let Some(rest) = line.strip_prefix("M:") {
                extras.mime = Some(rest.to_string());
            } else if let Some(rest) = line.strip_prefix("A:") {
                extras.attributes = Some(rest.to_string());
            } else if let Some(rest) = line.strip_prefix("Z:") {
                extras.selinux = Some(rest.to_string());
            }
        }
        extras
    }
}

/// The `stat` dictionary Ansible returns for an existing path, in its key order.
fn describe(
    path: &str,
    stat: &FileStat,
    extras: &Extras,
    wanted: &Wanted<'_>,
) -> Map<String, Json> {
    let mut out = Map::new();
    out.insert("exists".into(), Json::Bool(true));
    out.insert("path".into(), json!(path));
    out.extend(stat_info(stat));
    out.extend(permission_bits(stat.mode));
    let access = stat.details.access.unwrap_or_default();
    out.insert("readable".into(), Json::Bool(access.readable));
    out.insert("writeable".into(), Json::Bool(access.writeable));
    out.insert("executable".into(), Json::Bool(access.executable));
    if stat.kind == FileKind::Link {
        out.insert("lnk_source".into(), json!(stat.details.real_path));
        out.insert("lnk_target".into(), json!(stat.link_target));
    }
    if let Some(name) = known_name(&stat.owner, stat.uid) {
        out.insert("pw_name".into(), json!(name));
    }
    if let Some(name) = known_name(&stat.group, stat.gid) {
        out.insert("gr_name".into(), json!(name));
    }
    if let Some(checksum) = &stat.checksum {
        out.insert("checksum".into(), json!(checksum));
    }
    if wanted.mime {
        let (mimetype, charset) = extras
            .mime
            .as_deref()
            .and_then(parse_mime)
            .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
        out.insert("mimetype".into(), json!(mimetype));
        out.insert("charset".into(), json!(charset));
    }
    if wanted.attributes {
        let (version, flags) = extras
            .attributes
            .as_deref()
            .and_then(parse_lsattr)
            .map_or((None, String::new()), |(v, f)| (Some(v), f));
        out.insert("version".into(), json!(version));
        out.insert("attributes".into(), json!(attribute_names(&flags)));
        out.insert("attr_flags".into(), json!(flags));
    }
    if wanted.selinux {
        out.insert(
            "selinux_context".into(),
            json!(parse_selinux(extras.selinux.as_deref().unwrap_or(""))),
        );
    }
    out
}

/// The fields `stat` and `find` share about a path: type flags, ids, size, inode
/// data and times (as floats, like Python's `os.stat`).
pub(super) fn stat_info(stat: &FileStat) -> Map<String, Json> {
    let file_type = stat.details.file_type.as_str();
    let times = &stat.details;
    let mut out = Map::new();
    out.insert("mode".into(), json!(format!("{:04o}", stat.mode & 0o7777)));
    out.insert("isdir".into(), json!(stat.kind == FileKind::Directory));
    out.insert("ischr".into(), json!(file_type == "character special file"));
    out.insert("isblk".into(), json!(file_type == "block special file"));
    out.insert("isreg".into(), json!(stat.kind == FileKind::File));
    out.insert("isfifo".into(), json!(file_type == "fifo"));
    out.insert("islnk".into(), json!(stat.kind == FileKind::Link));
    out.insert("issock".into(), json!(file_type == "socket"));
    out.insert("uid".into(), json!(stat.uid));
    out.insert("gid".into(), json!(stat.gid));
    out.insert("size".into(), json!(stat.size));
    out.insert("inode".into(), json!(stat.details.inode));
    out.insert("dev".into(), json!(stat.details.dev));
    out.insert("nlink".into(), json!(stat.details.nlink));
    out.insert("atime".into(), json!(times.atime.as_f64()));
    out.insert("mtime".into(), json!(times.mtime.as_f64()));
    out.insert("ctime".into(), json!(times.ctime.as_f64()));
    out
}

/// The `wusr` ... `isgid` flags of a mode.
pub(super) fn permission_bits(mode: u32) -> Map<String, Json> {
    const BITS: &[(&str, u32)] = &[
        ("wusr", 0o200),
        ("rusr", 0o400),
        ("xusr", 0o100),
        ("wgrp", 0o020),
        ("rgrp", 0o040),
        ("xgrp", 0o010),
        ("woth", 0o002),
        ("roth", 0o004),
        ("xoth", 0o001),
        ("isuid", 0o4000),
        ("isgid", 0o2000),
    ];
    BITS.iter()
        .map(|(name, bit)| (name.to_string(), Json::Bool(mode & bit != 0)))
        .collect()
}

/// A user or group name, unless the lookup failed (`stat` prints `UNKNOWN`, `find`
/// prints the number).
pub(super) fn known_name(name: &str, id: u32) -> Option<&str> {
    (name != "UNKNOWN" && name != id.to_string()).then_some(name)
}

/// Splits `text/plain; charset=us-ascii` into its MIME type and charset.
fn parse_mime(line: &str) -> Option<(String, String)> {
    let (mimetype, charset) = line.split_once(';')?;
    let (_, charset) = charset.split_once('=')?;
    Some((mimetype.trim().to_string(), charset.trim().to_string()))
}

/// Splits `lsattr -vd` output into the version and the set flags (dashes removed).
fn parse_lsattr(line: &str) -> Option<(String, String)> {
    let mut words = line.split_whitespace();
    let version = words.next()?.to_string();
    let flags = words.next()?.replace('-', "");
    Some((version, flags))
}

/// The names of the `lsattr` flags set, as Ansible lists them.
fn attribute_names(flags: &str) -> Vec<&'static str> {
    flags
        .chars()
        .filter_map(|flag| {
            FILE_ATTRIBUTES
                .iter()
                .find(|(letter, _)| *letter == flag)
                .map(|(_, name)| *name)
        })
        .collect()
}

/// An SELinux context as `[user, role, type, range]`; nulls when there is none.
fn parse_selinux(context: &str) -> Vec<Option<String>> {
    let parts: Vec<&str> = context.trim().splitn(4, ':').collect();
    if parts.len() == 4 {
        parts.into_iter().map(|p| Some(p.to_string())).collect()
    } else {
        vec![None; 4]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_parse_and_read_as_ansible_does() {
        let extras = Extras::parse(
            "S:regular file|644|0|0|root|root|1|1|1\nM:text/plain; charset=us-ascii\n\
             A:1234 ----i---------e------- /x\nZ:system_u:object_r:etc_t:s0\n",
        );
        let mime = extras.mime.as_deref().and_then(parse_mime);
        assert_eq!(mime, Some(("text/plain".into(), "us-ascii".into())));
        let (version, flags) = extras
            .attributes
            .as_deref()
            .and_then(parse_lsattr)
            .expect("lsattr output");
        assert_eq!((version.as_str(), flags.as_str()), ("1234", "ie"));
        assert_eq!(attribute_names(&flags), vec!["immutable", "extents"]);
        assert_eq!(
            parse_selinux(extras.selinux.as_deref().unwrap_or_default()),
            vec![
                Some("system_u".to_string()),
                Some("object_r".to_string()),
                Some("etc_t".to_string()),
                Some("s0".to_string())
            ]
        );
    }

    #[test]
    fn failed_lookups_give_defaults() {
        for (line, expected) in [
            ("", None),
            ("cannot open", None),
            (
                "application/pdf; charset=binary",
                Some(("application/pdf", "binary")),
            ),
        ] {
            let parsed = parse_mime(line);
            let parsed = parsed.as_ref().map(|(m, c)| (m.as_str(), c.as_str()));
            assert_eq!(parsed, expected, "{line}");
        }
        assert_eq!(parse_lsattr(""), None);
        assert_eq!(parse_selinux("?"), vec![None; 4]);
    }

    #[test]
    fn a_missing_path_and_a_file_are_described_as_ansible_does() {
        let args: StatArgs =
            crate::modules::typed::from_json(json!({"path": "/x", "get_mime": false}))
                .expect("valid");
        let missing = Found {
            path: "/x".into(),
            output: "S:missing\n".into(),
        };
        let decision = Stat.decide(&args, missing).expect("decides");
        assert!(decision.plan.is_none());
        assert_eq!(decision.result["stat"], json!({"exists": false}));
        let file = Found {
            path: "/x".into(),
            output: "S:regular file|640|0|0|root|root|3|1|1\nP:rw\nC:abc  -\nA:7 ----i-- /x\n"
                .into(),
        };
        let stat = &Stat.decide(&args, file).expect("decides").result["stat"];
        assert_eq!(stat["mode"], "0640");
        assert_eq!(stat["checksum"], "abc");
        assert_eq!(stat["attributes"], json!(["immutable"]));
        assert!(stat.get("mimetype").is_none(), "get_mime: false");
    }

    #[test]
    fn fields_follow_the_mode_and_type() {
        let stat =
            fileops::parse_stat("S:socket|4751|1000|1000|UNKNOWN|1000|0|5|6|5.5|6.0|7.25|9|8|1\n")
                .expect("exists");
        let info = stat_info(&stat);
        assert_eq!(info["mode"], "4751");
        assert_eq!(info["issock"], true);
        assert_eq!(info["isreg"], false);
        assert_eq!(info["mtime"], 5.5);
        assert_eq!(info["ctime"], 7.25);
        assert_eq!(info["inode"], 9);
        let bits = permission_bits(stat.mode);
        for (name, set) in [
            ("isuid", true),
            ("isgid", false),
            ("xoth", true),
            ("woth", false),
        ] {
            assert_eq!(bits[name], set, "{name}");
        }
        assert_eq!(known_name(&stat.owner, stat.uid), None);
        assert_eq!(known_name(&stat.group, stat.gid), None);
        assert_eq!(known_name("www-data", 33), Some("www-data"));
    }
}
