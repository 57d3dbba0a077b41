//! Python `os.path` (POSIX flavour) semantics on plain strings.

use std::path::{Path, PathBuf};

/// `os.path.basename`: the text after the last slash.
pub(crate) fn basename(p: &str) -> &str {
    p.rsplit_once('/').map_or(p, |(_, tail)| tail)
}

/// `os.path.dirname`: the text before the last slash, trailing slashes
/// removed unless it is only slashes.
pub(crate) fn dirname(p: &str) -> &str {
    let Some((head, _)) = p.rsplit_once('/') else {
        return "";
    };
    let head = &p[..head.len() + 1];
    if head.chars().all(|c| c == '/') {
        head
    } else {
        head.trim_end_matches('/')
    }
}

/// `os.path.splitext`: splits off the last extension, ignoring leading dots
/// of the file name.
pub(crate) fn splitext(p: &str) -> (&str, &str) {
    let name_start = p.rfind('/').map_or(0, |i| i + 1);
    let name = &p[name_start..];
    let Some(dot) = name.rfind('.') else {
        return (p, "");
    };
    if name[..dot].chars().all(|c| c == '.') {
        return (p, "");
    }
    let split = name_start + dot;
    (&p[..split], &p[split..])
}

/// `os.path.join`: an absolute component discards everything before it.
pub(crate) fn join<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for part in parts {
        if part.starts_with('/') {
            out = part.to_string();
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(part);
        } else {
            out.push('/');
            out.push_str(part);
        }
    }
    out
}

/// `os.path.normpath`: collapses slashes, `.` and `..` lexically.
pub(crate) fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        "//"
    } else if p.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for comp in p.split('/') {
        match comp {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            ".." if !initial.is_empty() => {}
            c => parts.push(c),
        }
    }
    let joined = format!("{initial}{}", parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// `os.path.expanduser`: replaces a leading `~` or `~user`.
pub(crate) fn expanduser(p: &str) -> String {
    let Some(rest) = p.strip_prefix('~') else {
        return p.to_string();
    };
    let (user, tail) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let home = if user.is_empty() {
        std::env::var("HOME").ok()
    } else {
        passwd_home(user)
    };
    match home {
        Some(home) => {
            let joined = format!("{}{tail}", home.trim_end_matches('/'));
            if joined.is_empty() {
                "/".into()
            } else {
                joined
            }
        }
        None => p.to_string(),
    }
}

/// Looks up a user's home directory in `/etc/passwd`.
fn passwd_home(user: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.len() >= 6 && fields[0] == user).then(|| fields[5].to_string())
    })
}

/// `os.path.expandvars`: replaces `$NAME` and `${NAME}` with environment
/// values, leaving unknown variables untouched.
pub(crate) fn expandvars(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut rest = p;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match std::env::var(name).ok().filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[i..i + 1 + consumed]),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    out
}

/// `os.path.realpath` (non-strict): makes the path absolute and resolves
/// symlinks of the components that exist.
pub(crate) fn realpath(p: &str) -> String {
    let absolute = if p.starts_with('/') {
        p.to_string()
    } else {
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        join([cwd.to_string_lossy().as_ref(), p])
    };
    let mut resolved = PathBuf::from("/");
    let mut pending: Vec<String> = absolute
        .split('/')
        .rev()
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect();
    let mut links_followed = 0;
    while let Some(comp) = pending.pop() {
        if comp == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&comp);
        match std::fs::read_link(&candidate) {
            Ok(target) if links_followed < 40 => {
                links_followed += 1;
                let target = target.to_string_lossy().into_owned();
                if target.starts_with('/') {
                    resolved = PathBuf::from("/");
                }
                pending.extend(
                    target
                        .split('/')
                        .rev()
                        .filter(|c| !c.is_empty() && *c != ".")
                        .map(str::to_string),
                );
            }
            _ => resolved = candidate,
        }
    }
    resolved.to_string_lossy().into_owned()
}

/// `os.path.ismount`: true for `/` and for directories on another device
/// than their parent.
pub(crate) fn ismount(p: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let path = Path::new(p);
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return false;
    };
    if meta.file_type().is_symlink() {
        return false;
    }
    let Ok(parent) = std::fs::metadata(path.join("..")) else {
        return false;
    };
    meta.dev() != parent.dev() || meta.ino() == parent.ino()
}

/// `os.path.samefile`: both paths name the same existing file.
pub(crate) fn samefile(a: &str, b: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basename_and_dirname_follow_posixpath() {
        assert_eq!(basename("/etc/hosts"), "hosts");
        assert_eq!(basename("/etc/"), "");
        assert_eq!(dirname("/etc/hosts"), "/etc");
        assert_eq!(dirname("/hosts"), "/");
        assert_eq!(dirname("a//b"), "a");
        assert_eq!(dirname("hosts"), "");
    }

    #[test]
    fn splitext_ignores_leading_dots() {
        assert_eq!(splitext("a/b.tar.gz"), ("a/b.tar", ".gz"));
        assert_eq!(splitext(".bashrc"), (".bashrc", ""));
        assert_eq!(splitext("a.d/file"), ("a.d/file", ""));
        assert_eq!(splitext("name."), ("name", "."));
    }

    #[test]
    fn join_and_normpath() {
        assert_eq!(join(["a", "b/", "c"]), "a/b/c");
        assert_eq!(join(["a", "/etc", "x"]), "/etc/x");
        assert_eq!(normpath("/a/./b/../c//"), "/a/c");
        assert_eq!(normpath("../x/.."), "..");
        assert_eq!(normpath("/.."), "/");
    }

    #[test]
    fn expandvars_leaves_unknown_names() {
        assert_eq!(expandvars("$BOSUN_SURELY_UNSET/x"), "$BOSUN_SURELY_UNSET/x");
        assert_eq!(expandvars("a$"), "a$");
    }

    #[test]
    fn realpath_resolves_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("link")).unwrap();
        let real = std::fs::canonicalize(&target).unwrap();
        let via = format!("{}/link/missing", dir.path().display());
        assert_eq!(realpath(&via), format!("{}/missing", real.display()));
    }
}
