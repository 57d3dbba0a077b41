//! `archive` (community.general): packs files and trees into a tar (plain, gzip,
//! bzip2, xz) or zip archive, or compresses a single file, on the target, with the
//! target's `tar`, `gzip`, `bzip2`, `xz` and `zip`.
//!
//! The module rewrites the archive on every run and reports a change when the new
//! archive's members differ from the old one's (tar headers, or zip names and CRCs),
//! or a single compressed file's content differs. bosun decides the same thing
//! before writing anything: the query walks the sources (`find`) and lists the
//! existing archive (`tar -tv`, `unzip -v`, or the checksum of the decompressed file),
//! and `decide` compares the members the archive would have with those it has
//! ([`members`]). So check mode predicts what a run does; Ansible's check mode
//! instead reports a change for every archive of several paths without looking.

mod members;
mod query;

use std::collections::BTreeSet;

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::fileops;
use super::typed::{WithAttributes, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};
use members::Entry;
use query::Found;

/// `archive`: creates a compressed archive of files or trees.
pub struct Archive;

arg_enum! {
    /// The archive's format.
    pub enum Format {
        Bz2 = "bz2",
        Gz = "gz",
        Tar = "tar",
        Xz = "xz",
        Zip = "zip",
    }
}

module_args! {
    /// `archive`'s arguments.
    pub struct ArchiveArgs {
        /// Paths or globs to pack.
        path: Vec<String> => .required(),
        format: Format => .default_str("gz"),
        /// The archive (required for several files, a glob or a directory).
        dest: Option<String>,
        /// Paths or globs taken out of `path`'s expansion.
        exclude_path: Vec<String>,
        /// Wildcards matched against members, left out of the archive.
        exclusion_patterns: Option<Vec<String>>,
        /// Archive a single file instead of compressing it.
        force_archive: bool => .default_bool(false),
        /// Remove the sources once archived.
        remove: bool => .default_bool(false),
    }
}

impl ArchiveArgs {
    /// Whether a path of `path` is a glob for the module (`*` or `?` in it).
    fn globby(path: &str) -> bool {
        path.contains(['*', '?'])
    }

    /// The destination before the sources are known: `dest`, or `path.format` for a
    /// single plain path (the only case where the module makes one up).
    fn dest_guess(&self) -> Option<String> {
        match (&self.dest, self.path.as_slice()) {
            (Some(dest), _) => Some(dest.clone()),
            (None, [one]) if !Self::globby(one) => Some(format!("{one}.{}", self.format.as_str())),
            _ => None,
        }
    }
}

/// How the archive is written.
#[derive(Debug, PartialEq)]
enum Build {
    /// Members (names relative to the root) into a tar or zip archive.
    Archive { root: String, names: Vec<String> },
    /// One file compressed.
    Compress { source: String },
}

/// What a run changes.
#[derive(Debug, PartialEq)]
pub struct Plan {
    dest: String,
    /// The archive to write, when it differs from the one there.
    build: Option<Build>,
    /// Paths to remove afterwards: the archived ones, then the source directories.
    remove: Vec<String>,
}

/// `common_path`: the directory of the paths' longest common prefix, with a slash.
fn common_path(paths: &[String]) -> String {
    let dirs: Vec<String> = paths
        .iter()
        .map(|p| format!("{}/", crate::pypath::dirname(p)).replace("//", "/"))
        .collect();
    let mut prefix = dirs.first().cloned().unwrap_or_default();
    for dir in &dirs[1.min(dirs.len())..] {
        let common = prefix
            .char_indices()
            .zip(dir.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((at, c), _)| at + c.len_utf8());
        prefix.truncate(common);
    }
    let dir = crate::pypath::dirname(&prefix);
    if dir.ends_with('/') {
        dir.to_string()
    } else {
        format!("{dir}/")
    }
}

/// `is_archive`: whether the name says archive rather than compressed file.
fn is_archive(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_lowercase();
    [
        ".tar", ".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".zip",
    ]
    .iter()
    .any(|ext| name.ends_with(ext))
}

/// The members of the archive in the order the module adds them (`os.walk` of each
/// directory target: its subdirectories, then its files, then each subdirectory in
/// turn), with their names in the archive.
fn walk_order<'a>(found: &'a Found, target: &str, root: &str) -> Vec<(String, &'a Entry)> {
    let strip = |path: &str| path.strip_prefix(root).unwrap_or(path).to_string();
    let Some(entries) = found.walks.get(target) else {
        return found
            .tops
            .get(target)
            .and_then(|top| top.as_ref())
            .map(|entry| vec![(strip(target), entry)])
            .unwrap_or_default();
    };
    let mut out = Vec::new();
    let mut stack = vec![target.trim_end_matches('/').to_string()];
    while let Some(dir) = stack.pop() {
        let children: Vec<&Entry> = entries
            .iter()
            .filter(|e| crate::pypath::dirname(&e.path) == dir)
            .collect();
        let (dirs, files): (Vec<&Entry>, Vec<&Entry>) =
            children.into_iter().partition(|e| e.leads_to == 'd');
        out.extend(dirs.iter().map(|e| (strip(&e.path), *e)));
        out.extend(files.iter().map(|e| (strip(&e.path), *e)));
        stack.extend(
            dirs.iter()
                .rev()
                .filter(|e| e.kind == 'd')
                .map(|e| e.path.clone()),
        );
    }
    out
}

#[async_trait]
impl StateModule for Archive {
    const NAME: &'static str = "archive";
    type Args = WithAttributes<ArchiveArgs>;
    type State = Found;
    type Plan = Plan;

    async fn query(
        &self,
        on: &Target<'_>,
        args: &WithAttributes<ArchiveArgs>,
    ) -> Result<Found, ModuleError> {
        let out = on
            .conn
            .exec(&Command::new(query::script(&args.args, &args.attributes)))
            .await?;
        Ok(query::parse(&out.stdout))
    }

    fn decide(
        &self,
        typed: &WithAttributes<ArchiveArgs>,
        found: Found,
    ) -> Result<Decision<Plan>, String> {
        let args = &typed.args;
        let excluded: BTreeSet<&String> = found.excluded.iter().collect();
        let paths: Vec<String> = found
            .expanded
            .iter()
            .filter(|p| !excluded.contains(p))
            .cloned()
            .collect::<BTreeSet<String>>()
            .into_iter()
            .collect();
        if paths.is_empty() {
            return Err("Error, no source paths were found".into());
        }
        let root = common_path(&paths);
        let first_is_dir = found.walks.contains_key(&paths[0]);
        let must_archive = args.force_archive
            || args.path.iter().any(|p| ArchiveArgs::globby(p))
            || first_is_dir
            || paths.len() > 1;
        let dest = match (&args.dest, must_archive) {
            (Some(dest), _) => dest.clone(),
            (None, false) => format!("{}.{}", paths[0], args.format.as_str()),
            (None, true) => {
                return Err(
                    "Error, must specify \"dest\" when archiving multiple files or trees".into(),
                );
            }
        };
        if args.remove
            && paths.iter().any(|p| {
                found.walks.contains_key(p)
                    && dest.starts_with(&format!("{}/", p.trim_end_matches('/')))
            })
        {
            return Err(
                "Error, created archive can not be contained in source paths when remove=true"
                    .into(),
            );
        }
        let (targets, missing): (Vec<&String>, Vec<&String>) = paths.iter().partition(|p| {
            found.tops.get(*p).is_some_and(|top| top.is_some()) || found.walks.contains_key(*p)
        });
        let patterns = args.exclusion_patterns.clone().unwrap_or_default();
        let zip = args.format == Format::Zip;
        let mut archived = Vec::new();
        let (build, differs, dest_state) = if targets.is_empty() {
            let state = match (&found.dest, is_archive(&dest)) {
                (None, _) => "absent",
                (Some(_), true) => "archive",
                (Some(_), false) => "compress",
            };
            (None, false, state)
        } else if must_archive || matches!(args.format, Format::Zip | Format::Tar) {
            let mut members = Vec::new();
            for target in &targets {
                for (name, entry) in walk_order(&found, target, &root) {
                    let tested = if zip {
                        entry.path.as_str()
                    } else {
                        name.as_str()
                    };
                    if patterns.iter().any(|p| crate::glob::matches(p, tested)) {
                        continue;
                    }
                    archived.push(entry.path.clone());
                    members.push((name, entry));
                }
            }
            let wanted = if zip {
                members::expected_zip(&members, |path| found.crcs.get(path).copied())
            } else {
                members::expected_tar(&members)
            };
            if zip && found.dest.is_some() && !found.unzip {
                return Err(format!(
                    "{dest} exists and the zip format needs unzip on the target to read it (Debian: apt-get install unzip)"
                ));
            }
            let listed = match zip {
                true => members::listed_zip(&found.listing),
                false => members::listed_tar(&found.listing),
            };
            let differs = found.dest.is_none() || !found.listing_ok || listed != wanted;
            let names = members.into_iter().map(|(name, _)| name).collect();
            let state = if missing.is_empty() {
                "archive"
            } else {
                "incomplete"
            };
            (
                Some(Build::Archive {
                    root: root.clone(),
                    names,
                }),
                differs,
                state,
            )
        } else {
            let source = paths[0].clone();
            archived.push(source.clone());
            let differs = found.dest.is_none()
                || found.content_sum.is_none()
                || found.content_sum != found.source_sum;
            (Some(Build::Compress { source }), differs, "compress")
        };
        let mut remove = Vec::new();
        if args.remove && !targets.is_empty() {
            remove.extend(archived.iter().cloned());
            remove.extend(
                paths
                    .iter()
                    .filter(|p| found.walks.contains_key(*p))
                    .cloned(),
            );
        }
        let build = build.filter(|_| differs);
        let attribute_change = match (&found.dest, &build) {
            (Some(stat), None) => !typed.attributes.changes(&dest, stat)?.commands.is_empty(),
            _ => false,
        };
        let changes = build.is_some() || !remove.is_empty() || attribute_change;
        let mut decision = Decision::maybe(changes.then(|| Plan {
            dest: dest.clone(),
            build,
            remove,
        }));
        if let Some(stat) = &found.dest {
            for (key, value) in fileops::describe(&dest, stat) {
                if key != "path" {
                    decision = decision.with(&key, value);
                }
            }
        } else {
            decision = decision.with("state", "absent");
        }
        Ok(decision
            .with("archived", json!(archived))
            .with("dest", dest.as_str())
            .with("dest_state", dest_state)
            .with("arcroot", root.as_str())
            .with("missing", json!(missing))
            .with("expanded_paths", json!(found.expanded))
            .with("expanded_exclude_paths", json!(found.excluded)))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        typed: &WithAttributes<ArchiveArgs>,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let args = &typed.args;
        let dest = plan.dest.as_str();
        if let Some(build) = &plan.build {
            write(on, args.format, dest, build).await?;
        }
        let stat = fileops::stat(on, dest, false, false).await?;
        let mut outcome = Outcome::new();
        if let Some(stat) = stat {
            let changes = typed
                .attributes
                .changes(dest, &stat)
                .map_err(ModuleError::Failed)?;
            if !changes.commands.is_empty() {
                fileops::run_checked(on, changes.commands.join(" && "))
                    .await?
                    .map_err(ModuleError::Failed)?;
            }
            if let Some(stat) = fileops::stat(on, dest, false, false).await? {
                outcome.extend(fileops::describe(dest, &stat));
            }
        }
        if !plan.remove.is_empty() {
            let words: Vec<String> = plan.remove.iter().map(|p| quote(p)).collect();
            let out = on
                .conn
                .exec(&Command::new(format!("rm -rf -- {}", words.join(" "))))
                .await?;
            if out.rc != 0 {
                let mut failed = super::failed("Error deleting some source files: ");
                failed.insert("dest".into(), json!(dest));
                failed.insert(
                    "files".into(),
                    json!(out.stderr_text().lines().collect::<Vec<_>>()),
                );
                return Err(ModuleError::FailedWith(failed));
            }
        }
        outcome.remove("path");
        Ok(outcome)
    }
}

/// Writes the archive to a temporary file beside `dest` (keeping an existing
/// archive's mode and owner) and renames it over `dest`.
async fn write(
    on: &Target<'_>,
    format: Format,
    dest: &str,
    build: &Build,
) -> Result<(), ModuleError> {
    let tmp = format!("{}.{}", fileops::temp_beside(dest), format.as_str());
    let (t, d) = (quote(&tmp), quote(dest));
    let (script, stdin, what) = match build {
        Build::Archive { root, names } if format == Format::Zip => (
            format!(
                "command -v zip >/dev/null || {{ echo 'the zip format needs the zip program on the target' >&2; exit 1; }}; cd {} && zip -q -X {t} -@",
                quote(root)
            ),
            names.iter().map(|n| format!("{n}\n")).collect::<String>(),
            "zip".to_string(),
        ),
        Build::Archive { root, names } => {
            let flag = match format {
                Format::Gz => "z",
                Format::Bz2 => "j",
                Format::Xz => "J",
                _ => "",
            };
            (
                format!(
                    "tar --null --verbatim-files-from --no-recursion -C {} -c{flag}f {t} -T -",
                    quote(root)
                ),
                names.iter().map(|n| format!("{n}\0")).collect(),
                match format {
                    Format::Tar => "tar".to_string(),
                    other => format!("tar.{}", other.as_str()),
                },
            )
        }
        Build::Compress { source } => {
            let tool = match format {
                Format::Bz2 => "bzip2",
                Format::Xz => "xz",
                _ => "gzip",
            };
            (
                format!("{tool} -c < {} > {t}", quote(source)),
                String::new(),
                format.as_str().to_string(),
            )
        }
    };
    let script = format!(
        "if {{ {script}; }}; then [ -e {d} ] && {{ chmod --reference={d} {t}; chown --reference={d} {t} 2>/dev/null; }}; mv -f -- {t} {d}; \
         else rc=$?; rm -f -- {t}; exit $rc; fi"
    );
    let mut command = Command::new(script);
    command.stdin = Some(stdin.into_bytes());
    let out = on.conn.exec(&command).await?;
    if out.rc != 0 {
        return Err(ModuleError::Failed(format!(
            "Error when writing {what} archive at {dest}: {}",
            out.stderr_text().trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    #[test]
    fn the_root_is_the_common_directory_as_the_module_computes_it() {
        let p = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(common_path(&p(&["/a/b/c", "/a/b/d"])), "/a/b/");
        assert_eq!(common_path(&p(&["/data/app"])), "/data/");
        assert_eq!(common_path(&p(&["/a/bx/1", "/a/by/2"])), "/a/");
        assert_eq!(common_path(&p(&["/x"])), "/");
        assert!(is_archive("/t/x.TAR.GZ"));
        assert!(!is_archive("/t/x.gz"));
    }

    /// Query output written with `~` for its NUL separators.
    fn found(text: &str) -> Found {
        query::parse(text.replace('~', "\0").as_bytes())
    }

    fn decide(args: Json, text: &str) -> Result<Decision<Plan>, String> {
        let typed: WithAttributes<ArchiveArgs> = crate::modules::typed::from_json(args)?;
        Archive.decide(&typed, found(text))
    }

    const TREE: &str = "\x01records\n\
        P~/s/app~D~/s/app~\
        W~/s/app/a~f~f~644~0~0~5~1700000000~1~1:1~~\
        W~/s/app/sub~d~d~755~0~0~4096~1700000000~2~1:2~~\
        W~/s/app/sub/b.log~f~f~600~0~0~3~1700000000~1~1:3~~";

    #[test]
    fn a_tree_is_archived_unless_the_archive_has_the_same_members() {
        let args = json!({"path": "/s/app", "dest": "/t/app.tgz"});
        let d = decide(args.clone(), TREE).expect("decision");
        let plan = d.plan.expect("a new archive");
        assert_eq!(
            plan.build,
            Some(Build::Archive {
                root: "/s/".into(),
                names: vec!["app/sub".into(), "app/a".into(), "app/sub/b.log".into()]
            })
        );
        assert_eq!(
            d.result["archived"],
            json!(["/s/app/sub", "/s/app/a", "/s/app/sub/b.log"])
        );
        assert_eq!(d.result["dest_state"], "archive");
        assert_eq!(d.result["arcroot"], "/s/");
        let listing = "-rw-r--r-- 0/0 5 2023-11-14 22:13:20 app/a\n\
                       drwxr-xr-x 0/0 0 2023-11-14 22:13:20 app/sub/\n\
                       -rw------- 0/0 3 2023-11-14 22:13:20 app/sub/b.log\n";
        let same = format!(
            "@@dest\nS:regular file|644|0|0|root|root|10|1700000000|1700000000\n@@list\n{listing}@@listrc\n0\n{TREE}"
        );
        assert!(
            decide(args.clone(), &same)
                .expect("decision")
                .plan
                .is_none()
        );
        let excluded = decide(
            json!({"path": "/s/app", "dest": "/t/app.tgz", "exclusion_patterns": ["*.log"]}),
            &same,
        )
        .expect("decision");
        assert!(excluded.plan.is_some(), "one member fewer");
        assert_eq!(
            excluded.result["archived"],
            json!(["/s/app/sub", "/s/app/a"])
        );
    }

    #[test]
    fn a_single_file_is_compressed_unless_its_content_is_there() {
        let records = "@@srcsum\nabc\n\x01records\nP~/s/f~T~/s/f~f~f~644~0~0~5~1700000000~1~1:1~~";
        let d = decide(json!({"path": "/s/f"}), records).expect("decision");
        assert_eq!(d.result["dest"], "/s/f.gz");
        assert_eq!(
            d.plan.expect("plan").build,
            Some(Build::Compress {
                source: "/s/f".into()
            })
        );
        let same = format!(
            "@@dest\nS:regular file|644|0|0|root|root|10|1700000000|1700000000\n@@sum\nabc\n{records}"
        );
        let d = decide(json!({"path": "/s/f"}), &same).expect("decision");
        assert!(d.plan.is_none());
        assert_eq!(d.result["dest_state"], "compress");
    }

    #[test]
    fn refusals_are_the_module_s() {
        let none = decide(json!({"path": "/s/*"}), "\x01records\n").err();
        assert_eq!(none.as_deref(), Some("Error, no source paths were found"));
        let no_dest = decide(json!({"path": ["/s/app"]}), TREE).err();
        assert_eq!(
            no_dest.as_deref(),
            Some("Error, must specify \"dest\" when archiving multiple files or trees")
        );
        let inside = decide(
            json!({"path": "/s/app", "dest": "/s/app/x.tgz", "remove": true}),
            TREE,
        )
        .err();
        assert_eq!(
            inside.as_deref(),
            Some("Error, created archive can not be contained in source paths when remove=true")
        );
        let missing = "\x01records\nP~/s/gone~P~/s/f~T~/s/f~f~f~644~0~0~5~1700000000~1~1:1~~";
        let d = decide(
            json!({"path": ["/s/gone", "/s/f"], "dest": "/t/x.tar", "format": "tar"}),
            missing,
        )
        .expect("decision");
        assert_eq!(d.result["missing"], json!(["/s/gone"]));
        assert_eq!(d.result["dest_state"], "incomplete");
    }
}
