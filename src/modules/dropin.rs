//! Drop-in modules: executables found in `modules/` or `library/` beside the
//! playbook, in a role, or in the configured module path. bosun copies one to the
//! target once (cached by checksum), then runs it with the path of a JSON file holding
//! its arguments; it prints one JSON object (`changed`, `failed`, `msg`, ...). The
//! protocol is described in modules/README.md.

use std::path::Path;

use serde_json::{Map, Value as Json};

use super::{ModuleContext, ModuleError, Outcome};
use crate::connection::Command;

/// The exit status the runner script uses when the cached executable is missing.
const MISSING: i32 = 97;

/// Runs the drop-in module at `local` (on the control node) with `args`.
pub async fn run(
    ctx: &ModuleContext<'_>,
    name: &str,
    local: &Path,
    args: &Map<String, Json>,
) -> Result<Outcome, ModuleError> {
    let code = std::fs::read(local).map_err(|err| {
        ModuleError::Failed(format!("cannot read the module {}: {err}", local.display()))
    })?;
    let digest = super::fileops::sha1_hex(&code);
    let dir = "${TMPDIR:-/tmp}/.bosun-modules-$(id -u)";
    let cached = format!("{dir}/{}-{}", &digest[..16], sanitize(name));

    let mut payload = args.clone();
    payload.insert("_ansible_check_mode".into(), Json::Bool(ctx.check_mode));
    payload.insert("_ansible_diff".into(), Json::Bool(ctx.diff_mode));
    payload.insert("_ansible_verbosity".into(), Json::from(ctx.verbosity));
    payload.insert(
        "_ansible_module_name".into(),
        Json::String(name.to_string()),
    );
    let payload = serde_json::to_vec(&Json::Object(payload)).unwrap_or_default();

    let script = format!(
        "m=\"{cached}\"; [ -x \"$m\" ] || exit {MISSING}; f=$(mktemp) || exit 1; cat > \"$f\"; \"$m\" \"$f\"; rc=$?; rm -f -- \"$f\"; exit $rc"
    );
    let mut command = Command::new(script.clone());
    command.stdin = Some(payload);
    let mut out = ctx.conn.exec(&command).await?;
    if out.rc == MISSING {
        let prepare =
            format!("mkdir -p \"{dir}\" && chmod 700 \"{dir}\" && printf '%s' \"{cached}\"");
        let made = ctx.conn.exec(&Command::new(prepare)).await?;
        if made.rc != 0 {
            return Ok(super::failed(format!(
                "cannot prepare the module cache on the target: {}",
                made.stderr_text().trim()
            )));
        }
        ctx.conn
            .put(&code, made.stdout_text().trim(), Some(0o700))
            .await?;
        out = ctx.conn.exec(&command).await?;
    }
    let stdout = out.stdout_text();
    match serde_json::from_str::<Json>(stdout.trim()) {
        Ok(Json::Object(mut result)) => {
            if out.rc != 0 && !result.contains_key("failed") {
                result.insert("failed".into(), Json::Bool(true));
            }
            result.entry("changed").or_insert(Json::Bool(false));
            Ok(result)
        }
        _ => {
            let mut result = super::failed("MODULE FAILURE\nSee stdout/stderr for the exact error");
            result.insert("module_stdout".into(), Json::String(stdout));
            result.insert("module_stderr".into(), Json::String(out.stderr_text()));
            result.insert("rc".into(), Json::from(out.rc));
            Ok(result)
        }
    }
}

/// Keeps a module name safe inside a file name.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Where drop-in modules are looked for, in order: the role's `library/` and
/// `modules/`, the playbook's `library/` and `modules/`, then `module_path`.
pub fn find(
    name: &str,
    role: Option<&Path>,
    playbook_dir: &Path,
    module_path: &[std::path::PathBuf],
) -> Option<std::path::PathBuf> {
    let short = crate::fqcn::short_name(name);
    if short.contains('/') || short.starts_with('.') {
        return None;
    }
    let mut dirs = Vec::new();
    if let Some(role) = role {
        dirs.push(role.join("library"));
        dirs.push(role.join("modules"));
    }
    dirs.push(playbook_dir.join("library"));
    dirs.push(playbook_dir.join("modules"));
    dirs.extend(module_path.iter().cloned());
    dirs.into_iter()
        .map(|d| d.join(short))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_modules_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let play = dir.path().join("play");
        std::fs::create_dir_all(play.join("modules")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("role/library")).expect("mkdir");
        std::fs::write(play.join("modules/check"), "#!/bin/sh\n").expect("write");
        std::fs::write(dir.path().join("role/library/check"), "#!/bin/sh\n").expect("write");
        assert_eq!(
            find("check", None, &play, &[]),
            Some(play.join("modules/check"))
        );
        assert_eq!(
            find("check", Some(&dir.path().join("role")), &play, &[]),
            Some(dir.path().join("role/library/check")),
            "the role's own module wins"
        );
        assert_eq!(find("nothere", None, &play, &[]), None);
        assert_eq!(find("../etc/passwd", None, &play, &[]), None);
    }
}
