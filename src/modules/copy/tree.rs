//! `copy` of a control-node directory: the tree listed as Ansible's `_walk_dirs` lists
//! it (symbolic links followed with `local_follow`, recreated as links otherwise or
//! where following would loop), the missing directories created, every file installed
//! through [`install`], and the links made with `ln -sfn`.

use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use super::super::contract::Decision;
use super::super::install::{self, Settings};
use super::super::{ModuleError, Outcome, Target, fileops};
use super::{file_name, read_source};
use crate::connection::{Command, quote};

/// The control-node directory to copy and how.
pub struct Source<'a> {
    /// The directory on the control node.
    pub local: &'a Path,
    /// `src` ended in `/`: its contents go into `dest`, not the directory itself.
    pub contents_only: bool,
    /// Follow symbolic links inside the tree.
    pub local_follow: bool,
    /// Decrypt vault-encrypted files.
    pub decrypt: bool,
    /// Write through destination files that are symbolic links.
    pub follow: bool,
    /// The attributes its files must have (their `chattr` flags are probed).
    pub attributes: &'a fileops::Attributes,
}

/// What the target holds for the tree.
#[derive(Debug)]
pub struct Found {
    /// `dest` as given.
    dest: String,
    /// The local directory, for the result.
    src: String,
    /// Directories of the tree missing on the target, parents first.
    missing: Vec<String>,
    /// Each file of the tree and its destination.
    files: Vec<install::Found>,
    /// Each symbolic link of the tree and what is at its place.
    links: Vec<Link>,
}

/// A link to make on the target.
#[derive(Debug)]
struct Link {
    /// Where the link goes.
    path: String,
    /// What it points to, as the local link says.
    target: String,
    /// What the link at `path` points to now, if there is one.
    current: Option<String>,
    /// A real directory is at `path`.
    directory: bool,
}

/// What must change for the tree.
#[derive(Debug)]
pub struct Plan {
    /// Directories to create, with `directory_mode` when given.
    mkdirs: Vec<String>,
    /// `directory_mode`, parsed.
    mode: Option<u32>,
    /// Files to write or fix.
    files: Vec<install::Plan>,
    /// Links to make: `(path, target)`.
    links: Vec<(String, String)>,
}

/// A local tree as Ansible lists it: directories, files, and links to recreate.
#[derive(Debug, Default)]
struct Listing {
    dirs: Vec<String>,
    files: Vec<(PathBuf, String)>,
    links: Vec<(String, String)>,
}

/// Lists the tree and asks the target which directories are missing and what is at
/// each link's place (one round trip), then about each file in a directory that
/// exists (one round trip each).
pub async fn query(on: &Target<'_>, source: Source<'_>, dest: &str) -> Result<Found, ModuleError> {
    let local = source.local;
    let root = if source.contents_only {
        dest.trim_end_matches('/').to_string()
    } else {
        format!("{}/{}", dest.trim_end_matches('/'), file_name(local))
    };
    let unreadable = |err: std::io::Error| {
        ModuleError::Failed(format!("could not read {}: {err}", local.display()))
    };
    let mut listing = Listing::default();
    if !source.contents_only && !source.local_follow && local.is_symlink() {
        let target = std::fs::read_link(local).map_err(unreadable)?;
        listing
            .links
            .push((target.to_string_lossy().into_owned(), root));
    } else {
        listing.dirs.push(root.clone());
        let ancestors = lineage(local).map_err(unreadable)?;
        walk(local, &root, source.local_follow, &ancestors, &mut listing).map_err(unreadable)?;
    }
    let mut probe: String = listing
        .dirs
        .iter()
        .map(|d| format!("[ -d {q} ] || echo {q}; ", q = quote(d)))
        .collect();
    for (i, (_, path)) in listing.links.iter().enumerate() {
        let q = quote(path);
        probe.push_str(&format!(
            "t=$(readlink -- {q}) && printf 'L:{i}:%s\\n' \"$t\"; \
             [ -d {q} ] && [ ! -L {q} ] && echo 'X:{i}'; "
        ));
    }
    probe.push(':');
    let out = on.conn.exec(&Command::new(probe)).await?;
    let text = out.stdout_text();
    let missing: Vec<String> = text
        .lines()
        .filter(|l| listing.dirs.iter().any(|d| d == l))
        .map(str::to_string)
        .collect();
    let links = listing
        .links
        .into_iter()
        .enumerate()
        .map(|(i, (target, path))| Link {
            current: text
                .lines()
                .find_map(|l| l.strip_prefix(&format!("L:{i}:")))
                .map(str::to_string),
            directory: text.lines().any(|l| l == format!("X:{i}")),
            path,
            target,
        })
        .collect();
    let mut files = Vec::new();
    for (file, target) in listing.files {
        let (data, vaulted) = read_source(&file, source.decrypt)?;
        let source_file = install::Source {
            data,
            src: Some(file.display().to_string()),
            vaulted,
            mode: Some(super::local_mode(&file)?),
        };
        let in_new_dir = missing.iter().any(|d| target.starts_with(&format!("{d}/")));
        files.push(if in_new_dir {
            install::Found::missing(target, source_file)
        } else {
            install::query(on, &target, source_file, source.follow, source.attributes).await?
        });
    }
    Ok(Found {
        dest: dest.to_string(),
        src: local.display().to_string(),
        missing,
        files,
        links,
    })
}

/// The directories to create, the files to write and the links to make.
pub fn decide(
    found: Found,
    settings: &Settings<'_>,
    directory_mode: &Json,
) -> Result<Decision<Plan>, String> {
    let mode = match directory_mode {
        Json::Null => None,
        given => Some(fileops::parse_mode(given, None, true)?),
    };
    let mut files = Vec::new();
    for file in found.files {
        if let Some(plan) = install::decide(file, settings, None)?.plan {
            files.push(plan);
        }
    }
    let mut links = Vec::new();
    for link in found.links {
        if link.directory {
            return Err(format!(
                "refusing to convert from directory to symlink for {}",
                link.path
            ));
        }
        if link.current.as_deref() != Some(link.target.as_str()) {
            links.push((link.path, link.target));
        }
    }
    let changed = !found.missing.is_empty() || !files.is_empty() || !links.is_empty();
    let plan = Plan {
        mkdirs: found.missing,
        mode,
        files,
        links,
    };
    Ok(Decision::maybe(changed.then_some(plan))
        .with("dest", json!(found.dest))
        .with("src", json!(found.src)))
}

/// Creates the directories, installs the files, makes the links.
pub async fn apply(
    on: &Target<'_>,
    plan: Plan,
    settings: &Settings<'_>,
) -> Result<Outcome, ModuleError> {
    if !plan.mkdirs.is_empty() {
        let mode_flag = plan
            .mode
            .map(|m| format!("-m {m:04o} "))
            .unwrap_or_default();
        let script: String = plan
            .mkdirs
            .iter()
            .map(|d| format!("mkdir -p {mode_flag}-- {} && ", quote(d)))
            .collect::<String>()
            + "true";
        let made = on.conn.exec(&Command::new(script)).await?;
        if made.rc != 0 {
            return Err(ModuleError::Failed(made.stderr_text().trim().to_string()));
        }
    }
    for file in plan.files {
        install::apply(on, file, settings).await?;
    }
    if !plan.links.is_empty() {
        let script: String = plan
            .links
            .iter()
            .map(|(path, target)| format!("ln -sfn -- {} {} && ", quote(target), quote(path)))
            .collect::<String>()
            + "true";
        let made = on.conn.exec(&Command::new(script)).await?;
        if made.rc != 0 {
            return Err(ModuleError::Failed(made.stderr_text().trim().to_string()));
        }
    }
    Ok(Outcome::new())
}

/// Device and inode of `dir` and of every directory above it: a link to one of them
/// would make the walk loop.
fn lineage(dir: &Path) -> std::io::Result<Vec<(u64, u64)>> {
    let real = std::fs::canonicalize(dir)?;
    real.ancestors()
        .map(|a| std::fs::metadata(a).map(|m| (m.dev(), m.ino())))
        .collect()
}

/// Lists `local` (whose copy is `remote`) into `listing`, entries in name order,
/// parents before their contents. `ancestors` are the directories above, which a
/// followed link must not lead back to.
fn walk(
    local: &Path,
    remote: &str,
    local_follow: bool,
    ancestors: &[(u64, u64)],
    listing: &mut Listing,
) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(local)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let target = format!("{remote}/{}", entry.file_name().to_string_lossy());
        if !entry.file_type()?.is_symlink() {
            if path.is_dir() {
                listing.dirs.push(target.clone());
                let mut below = ancestors.to_vec();
                below.extend(lineage(&path)?.first().copied());
                walk(&path, &target, local_follow, &below, listing)?;
            } else {
                listing.files.push((path, target));
            }
            continue;
        }
        let followed = std::fs::metadata(&path).ok().filter(|_| local_follow);
        match followed {
            Some(meta) if meta.is_file() => listing.files.push((path, target)),
            Some(meta) if meta.is_dir() && !ancestors.contains(&(meta.dev(), meta.ino())) => {
                listing.dirs.push(target.clone());
                let mut below = ancestors.to_vec();
                below.extend(lineage(&path)?);
                walk(&path, &target, local_follow, &below, listing)?;
            }
            _ => {
                let points_to = std::fs::read_link(&path)?;
                listing
                    .links
                    .push((points_to.to_string_lossy().into_owned(), target));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed(root: &Path, local_follow: bool) -> Listing {
        let mut listing = Listing::default();
        let ancestors = lineage(root).expect("lineage");
        walk(root, "/dst", local_follow, &ancestors, &mut listing).expect("walk");
        listing
    }

    #[test]
    fn links_are_followed_or_recreated_as_ansible_walks_them() {
        let dir = std::env::temp_dir().join(format!("bosun-copy-tree-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        std::fs::write(dir.join("sub/f"), "x").expect("write");
        std::os::unix::fs::symlink("sub/f", dir.join("to_file")).expect("link");
        std::os::unix::fs::symlink(".", dir.join("sub/loop")).expect("link");
        std::os::unix::fs::symlink("sub", dir.join("to_dir")).expect("link");

        let followed = listed(&dir, true);
        let targets: Vec<&str> = followed.files.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(targets, ["/dst/sub/f", "/dst/to_dir/f", "/dst/to_file"]);
        assert_eq!(followed.dirs, ["/dst/sub", "/dst/to_dir"]);
        assert_eq!(
            followed.links,
            [
                (".".to_string(), "/dst/sub/loop".to_string()),
                (".".to_string(), "/dst/to_dir/loop".to_string())
            ],
            "a link back up is kept as a link"
        );

        let kept = listed(&dir, false);
        let targets: Vec<&str> = kept.files.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(targets, ["/dst/sub/f"]);
        assert_eq!(kept.links.len(), 3);
        assert!(
            kept.links
                .contains(&("sub/f".to_string(), "/dst/to_file".to_string()))
        );
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn only_what_differs_is_planned() {
        let plain = fileops::Attributes::default();
        let settings = Settings {
            force: true,
            backup: false,
            validate: None,
            attributes: &plain,
        };
        let found = Found {
            dest: "/dst".into(),
            src: "/src".into(),
            missing: vec!["/dst/new".into()],
            files: vec![install::Found::missing(
                "/dst/new/f".into(),
                install::Source {
                    data: b"x".to_vec(),
                    src: None,
                    vaulted: false,
                    mode: None,
                },
            )],
            links: vec![
                Link {
                    path: "/dst/same".into(),
                    target: "a".into(),
                    current: Some("a".into()),
                    directory: false,
                },
                Link {
                    path: "/dst/other".into(),
                    target: "b".into(),
                    current: Some("a".into()),
                    directory: false,
                },
            ],
        };
        let decision = decide(found, &settings, &json!("0750")).expect("decides");
        let plan = decision.plan.expect("changes");
        assert_eq!(plan.mkdirs, ["/dst/new"]);
        assert_eq!(plan.mode, Some(0o750));
        assert_eq!(plan.files.len(), 1);
        assert_eq!(plan.links, [("/dst/other".to_string(), "b".to_string())]);
        assert_eq!(decision.result["src"], "/src");
    }
}
