//! Where lookups find control-node files: Ansible's `find_file_in_search_path` over the
//! task's `ansible_search_path`, searched in `path_dwim_relative_stack`'s order.

use std::path::Path;

use serde_json::Value as Json;

use super::Ctx;
use crate::pypath;

/// `ansible_search_path` of a task: the directories of its role and of the roles that
/// pulled that role in (innermost first), the directory of the file the task is written
/// in, then the playbook's directory; each once.
pub fn search_path(role_dirs: &[&Path], task_file: Option<&Path>, basedir: &Path) -> Json {
    let mut paths: Vec<String> = Vec::new();
    let mut push = |dir: &Path| {
        let dir = unfrack(&dir.to_string_lossy());
        if !paths.contains(&dir) {
            paths.push(dir);
        }
    };
    for dir in role_dirs {
        push(dir);
    }
    if let Some(file) = task_file {
        push(file.parent().unwrap_or(Path::new("")));
    }
    push(basedir);
    Json::from(paths)
}

/// Ansible's `unfrackpath(path, follow=False)`: variables and `~` expanded, made
/// absolute against the working directory, normalized; symlinks kept.
pub(super) fn unfrack(path: &str) -> String {
    let expanded = pypath::expandvars(&pypath::expanduser(path));
    if expanded.starts_with('/') {
        return pypath::normpath(&expanded);
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    pypath::normpath(&pypath::join([
        cwd.to_string_lossy().as_ref(),
        expanded.as_str(),
    ]))
}

/// Ansible's `find_file_in_search_path`: `needle` in the task's search path, under
/// `subdir` first where one is given; `None` when it is nowhere.
pub(super) fn find_file(ctx: &Ctx, subdir: Option<&str>, needle: &str) -> Option<String> {
    find_needle(|name| ctx.var(name), subdir, needle).ok()
}

/// Ansible's `path_dwim_relative_stack` over the search path of a task whose
/// variables `var` reads (`ansible_search_path`, `role_path`, `playbook_dir`): where
/// `needle` is, under `subdir` first where one is given, or every place tried.
pub fn find_needle(
    var: impl Fn(&str) -> Option<Json>,
    subdir: Option<&str>,
    needle: &str,
) -> Result<String, Vec<String>> {
    let basedir = match var("playbook_dir") {
        Some(Json::String(dir)) => dir,
        _ => std::env::current_dir()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned(),
    };
    let paths = match var("ansible_search_path") {
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|p| p.as_str().map(str::to_string))
            .collect(),
        _ => vec![basedir.clone()],
    };
    let is_role = var("role_path").is_some();
    let tried = candidates(&paths, subdir, needle, is_role, &basedir);
    match tried.iter().find(|candidate| Path::new(candidate).exists()) {
        Some(found) => Ok(found.clone()),
        None => Err(tried),
    }
}

/// The places `path_dwim_relative_stack` tries, in order. (Without a subdir, Ansible
/// joins the word `None` as one; those places are left out here.)
fn candidates(
    paths: &[String],
    subdir: Option<&str>,
    source: &str,
    is_role: bool,
    basedir: &str,
) -> Vec<String> {
    if source.starts_with('~') || source.starts_with('/') {
        return vec![unfrack(source)];
    }
    let join = |parts: &[&str]| pypath::join(parts.iter().copied());
    let first = source.split('/').next().unwrap_or_default();
    let sub = subdir.filter(|dir| *dir != first);
    let mut search = Vec::new();
    for path in paths {
        let upath = unfrack(path);
        let pb_base = pypath::dirname(&upath);
        if (is_role || looks_like_role(path)) && pb_base.ends_with("/tasks") {
            if let Some(dir) = subdir {
                search.push(join(&[pypath::dirname(pb_base), dir, source]));
            }
            search.push(join(&[pb_base, source]));
        }
        if let Some(dir) = sub {
            search.push(join(&[&upath, dir, source]));
        }
        search.push(join(&[&upath, source]));
    }
    if let Some(dir) = sub {
        search.push(join(&[basedir, dir, source]));
    }
    search.push(join(&[basedir, source]));
    search
}

/// Ansible's imperfect role detection (`DataLoader._is_role`).
fn looks_like_role(path: &str) -> bool {
    let upath = unfrack(path);
    let parent = pypath::dirname(path);
    let exists = |base: &str, rest: &str| Path::new(&pypath::join([base, rest])).exists();
    let mains = ["main.yml", "main.yaml", "main"];
    let tasks_dir = path.trim_end_matches('/').rsplit('/').next() == Some("tasks");
    let untasked = mains.iter().any(|m| exists(path, m));
    let tasked = ["tasks", "meta"].iter().any(|dir| {
        mains.iter().any(|m| {
            let rest = format!("{dir}/{m}");
            exists(&upath, &rest) || exists(parent, &rest)
        })
    });
    (tasks_dir && untasked) || tasked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_path_lists_roles_task_dir_and_basedir_once() {
        let paths = search_path(
            &[Path::new("/p/roles/inner"), Path::new("/p/roles/outer")],
            Some(Path::new("/p/roles/inner/tasks/main.yml")),
            Path::new("/p"),
        );
        assert_eq!(
            paths,
            serde_json::json!([
                "/p/roles/inner",
                "/p/roles/outer",
                "/p/roles/inner/tasks",
                "/p"
            ])
        );
        let paths = search_path(&[], Some(Path::new("/p/site.yml")), Path::new("/p/"));
        assert_eq!(paths, serde_json::json!(["/p"]));
    }

    #[test]
    fn candidates_follow_path_dwim_relative_stack() {
        let paths = [
            "/r/role".to_string(),
            "/r/role/tasks".to_string(),
            "/p".to_string(),
        ];
        assert_eq!(
            candidates(&paths, Some("files"), "f.txt", true, "/p"),
            [
                "/r/role/files/f.txt",
                "/r/role/f.txt",
                "/r/role/tasks/files/f.txt",
                "/r/role/tasks/f.txt",
                "/p/files/f.txt",
                "/p/f.txt",
                "/p/files/f.txt",
                "/p/f.txt",
            ]
        );
        // a source already under the subdir does not get it twice
        assert_eq!(
            candidates(&["/p".to_string()], Some("files"), "files/f", false, "/p"),
            ["/p/files/f", "/p/files/f"]
        );
        assert_eq!(
            candidates(&["/p".to_string()], None, "f", false, "/p"),
            ["/p/f", "/p/f"]
        );
        assert_eq!(candidates(&[], None, "/abs/./x", false, "/p"), ["/abs/x"]);
    }
}
