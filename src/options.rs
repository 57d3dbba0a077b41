//! A run's options: the command line over the configuration (which already has the
//! `ANSIBLE_*` variables over the files), as ansible-playbook resolves them.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::app::AppError;
use crate::cli::{Common, OutputFormat, RunArgs};
use crate::config::{Config, StdoutCallback};
use crate::executor::RunOptions;
use crate::output::{
    Human, JsonReport, Minimal, Oneline, Palette, ProfileOptions, Reporter, Timed,
};

/// The options of a run or an ad hoc call; `run` has `bosun run`'s own flags.
pub fn run_options(
    common: &Common,
    run: Option<&RunArgs>,
    config: &Config,
) -> Result<RunOptions, AppError> {
    let ssh_password = match &common.connection_password_file {
        Some(file) => Some(password_from_file(file)?),
        None => ask(common.ask_pass || config.ask_pass(), "SSH password: ")?,
    };
    let become_password = match &common.become_password_file {
        Some(file) => Some(password_from_file(file)?),
        None => ask(
            common.ask_become_pass || config.become_ask_pass(),
            "BECOME password: ",
        )?,
    };
    let [ssh_args, common_args, extra_args] = config.ssh_args();
    let step = run.is_some_and(|r| r.step);
    Ok(RunOptions {
        check: common.check,
        diff: common.diff,
        forks: common.forks.unwrap_or(config.forks()),
        verbosity: config.verbosity().saturating_add(common.verbose),
        extra_vars: crate::app::parse_extra_vars(&common.extra_vars)?,
        limit: common.limit.as_deref().map(expand_limit).transpose()?,
        tags: Default::default(),
        start_at_task: None,
        connection: common.connection.clone().or_else(|| config.transport()),
        remote_user: common.user.clone().or_else(|| config.remote_user()),
        become_: common.become_ || config.become_(),
        become_user: common.become_user.clone().or_else(|| config.become_user()),
        private_key_file: common
            .private_key
            .clone()
            .or_else(|| config.private_key_file()),
        timeout: Some(common.timeout.unwrap_or(config.timeout())),
        host_key_checking: Some(config.host_key_checking()),
        accept_new_host_keys: common.accept_new_host_keys,
        ssh_password,
        become_password,
        become_method: common
            .become_method
            .clone()
            .or_else(|| config.become_method()),
        remote_port: config.remote_port(),
        ssh_args: [
            ssh_args,
            common.ssh_common_args.clone().or(common_args),
            common.ssh_extra_args.clone().or(extra_args),
        ],
        gathering: config.gathering(),
        force_handlers: run.is_some_and(|r| r.force_handlers) || config.force_handlers(),
        any_errors_fatal: config.any_errors_fatal(),
        allow_broken_conditionals: config.allow_broken_conditionals(),
        step: step.then(|| Arc::new(crate::output::Step::new(columns()))),
        fact_cache: config.fact_cache().map_err(AppError::Message)?,
        flush_cache: run.is_some_and(|r| r.flush_cache),
        error_on_missing_handler: config.error_on_missing_handler(),
    })
}

/// Where drop-in modules are looked for besides the playbook and roles: `-M` first,
/// then the config's `library`, then `BOSUN_MODULE_PATH`.
pub fn module_path(common: &Common, config: &Config) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = common
        .module_path
        .iter()
        .flat_map(|value| std::env::split_paths(value).collect::<Vec<_>>())
        .collect();
    paths.extend(config.module_path());
    if let Some(value) = std::env::var_os("BOSUN_MODULE_PATH") {
        paths.extend(std::env::split_paths(&value));
    }
    paths
}

/// The reporter for a playbook run: `--output`, else `stdout_callback`; wrapped in
/// the timing callbacks `callbacks_enabled` names.
pub fn reporter(common: &Common, config: &Config) -> Result<Arc<dyn Reporter>, AppError> {
    let callback = match common.output {
        Some(OutputFormat::Json) => StdoutCallback::Json,
        Some(OutputFormat::Human) => StdoutCallback::Default,
        None => config.stdout_callback().map_err(AppError::Message)?,
    };
    let verbosity = config.verbosity().saturating_add(common.verbose);
    let inner: Arc<dyn Reporter> = match callback {
        StdoutCallback::Json => Arc::new(JsonReport::new(config.show_custom_stats())),
        StdoutCallback::Minimal => Arc::new(Minimal::new(verbosity)),
        StdoutCallback::Oneline => Arc::new(Oneline::new(verbosity)),
        StdoutCallback::Default => {
            let tty = std::io::stdout().is_terminal();
            Arc::new(
                Human::new(
                    verbosity,
                    color(config, tty),
                    common.diff,
                    columns(),
                    tty && std::io::stderr().is_terminal(),
                )
                .showing(config.display_ok_hosts(), config.display_skipped_hosts())
                .painting(Palette::named(&|key| config.color(key)))
                .showing_custom_stats(config.show_custom_stats()),
            )
        }
    };
    let enabled = config.callbacks_enabled();
    let profile = enabled
        .iter()
        .any(|c| c == "profile_tasks")
        .then(|| ProfileOptions {
            descending: config.profile_tasks_descending(),
            limit: config.profile_tasks_limit(),
        });
    let timer = enabled.iter().any(|c| c == "timer");
    for unknown in enabled
        .iter()
        .filter(|c| !matches!(c.as_str(), "profile_tasks" | "timer"))
    {
        eprintln!("[WARNING]: Skipping callback plugin '{unknown}', unable to load");
    }
    if profile.is_none() && !timer {
        return Ok(inner);
    }
    Ok(Arc::new(Timed::new(inner, profile, timer, columns())))
}

/// Whether to colour: `force_color` always, `nocolor` (or `NO_COLOR`) never, else on
/// a terminal.
pub fn color(config: &Config, tty: bool) -> bool {
    if config.force_color() {
        true
    } else if config.nocolor() {
        false
    } else {
        tty
    }
}

/// `--limit` with each `@file` part replaced by the file's hosts (one per line, as a
/// retry file writes them).
pub fn expand_limit(limit: &str) -> Result<String, AppError> {
    let mut parts = Vec::new();
    for part in limit.split(',') {
        let Some(file) = part.strip_prefix('@') else {
            parts.push(part.to_string());
            continue;
        };
        let path = Path::new(file);
        if !path.exists() {
            return Err(AppError::Message(format!(
                "Unable to find limit file b'{file}'"
            )));
        }
        if path.is_dir() {
            return Err(AppError::Message(
                "Limit starting with \"@\" must be a file, not a directory".into(),
            ));
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| AppError::Message(format!("{file}: {e}")))?;
        parts.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    Ok(parts.join(","))
}

/// A password from `file` (`-`: standard input), or from its output when it is
/// executable, as Ansible's `--connection-password-file` and `--become-password-file`
/// read it, with Ansible's errors.
fn password_from_file(file: &Path) -> Result<String, AppError> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let shown = file.display();
    let secret = if file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            AppError::Message(format!(
                "Could not read the password from standard input: {e}"
            ))
        })?;
        text
    } else {
        let metadata = std::fs::metadata(file)
            .map_err(|_| AppError::Message(format!("The password file {shown} was not found")))?;
        if metadata.permissions().mode() & 0o111 != 0 {
            let output = std::process::Command::new(file).output().map_err(|e| {
                AppError::Message(format!(
                    "Problem occurred when trying to run the password script {shown} ({e}). If this is not a script, remove the executable bit from the file."
                ))
            })?;
            if !output.status.success() {
                return Err(AppError::Message(format!(
                    "The password script {shown} returned an error (rc={}): {}",
                    output.status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&output.stderr)
                )));
            }
            String::from_utf8_lossy(&output.stdout).into_owned()
        } else {
            std::fs::read_to_string(file)
                .map_err(|_| AppError::Message(format!("Could not read password file '{shown}'.")))?
                .trim()
                .to_string()
        }
    };
    let secret = secret.trim_matches(['\r', '\n']).to_string();
    if secret.is_empty() {
        return Err(AppError::Message(format!(
            "Empty password was provided from file ({shown})"
        )));
    }
    Ok(secret)
}

/// Asks for a secret when `wanted`; an error when there is no terminal to ask on.
fn ask(wanted: bool, prompt: &str) -> Result<Option<String>, AppError> {
    if !wanted {
        return Ok(None);
    }
    crate::connection::prompt::secret(prompt).map(Some).ok_or_else(|| {
        AppError::Message(format!(
            "{} needs a terminal to ask on; set ansible_password / ansible_become_password in the inventory instead",
            prompt.trim_end_matches([':', ' '])
        ))
    })
}

/// The terminal's width, from `COLUMNS` or the terminal itself; 80 when standard
/// output is not a terminal.
pub fn columns() -> usize {
    if !std::io::stdout().is_terminal() {
        return 80;
    }
    if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return columns;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct we own; fd 1 is stdout.
    let ok = unsafe { libc::ioctl(1, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        size.ws_col as usize
    } else {
        80
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_files_are_read_as_retry_files() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("site.retry");
        std::fs::write(&file, "web1\n\nweb2\n").expect("write");
        let limit = format!("db,@{}", file.display());
        assert_eq!(expand_limit(&limit).expect("reads"), "db,web1,web2");
        assert!(
            expand_limit("@/nonexistent/x.retry").is_err_and(
                |e| e.to_string() == "Unable to find limit file b'/nonexistent/x.retry'"
            )
        );
    }
}
