//! `synchronize` (ansible.posix): rsync between the control node and the target, run
//! on the control node as Ansible's action and module run it: over `ssh` with the
//! connection's own address, port, user and key (or, with `connection: local`, two
//! local paths), `--dry-run` in check mode, and `changed` read from rsync's itemized
//! output (`--out-format=<<CHANGED>>%i %n%L`).
//!
//! It stays a plain [`Module`]: rsync compares and copies in one go, and its dry run is
//! the only prediction there is, so there is no state to query apart from the action.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::typed::{TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, Connection, LocalConnection, quote};

/// Runs rsync.
pub struct Synchronize;

arg_enum! {
    /// Which way the files go.
    pub enum Mode {
        Pull = "pull",
        Push = "push",
    }
}

module_args! {
    /// `synchronize`'s arguments.
    pub struct SynchronizeArgs {
        /// Where the files come from.
        src: String => .required(),
        /// Where they go.
        dest: String => .required(),
        /// The target's SSH port (the inventory's `ansible_port` by default).
        dest_port: Option<i64>,
        /// Whether files missing from `src` are deleted from `dest`.
        delete: bool => .default_bool(false),
        /// The key for the target (the connection's by default).
        private_key: Option<String>,
        /// The rsync command on the target (`sudo rsync` under become).
        rsync_path: Option<String>,
        /// `--archive`.
        archive: bool => .default_bool(true),
        /// `--checksum`.
        checksum: bool => .default_bool(false),
        /// `--compress`.
        compress: bool => .default_bool(true),
        /// `--existing`.
        existing_only: bool => .default_bool(false),
        /// `--dirs`.
        dirs: bool => .default_bool(false),
        /// `--recursive` (or `--no-recursive` with archive).
        recursive: Option<bool>,
        /// `--links`.
        links: Option<bool>,
        /// `--copy-links`.
        copy_links: bool => .default_bool(false),
        /// `--perms`.
        perms: Option<bool>,
        /// `--times`.
        times: Option<bool>,
        /// `--owner`.
        owner: Option<bool>,
        /// `--group`.
        group: Option<bool>,
        /// Whether the connection's user is put before the host.
        set_remote_user: bool => .default_bool(true),
        /// `--timeout`.
        rsync_timeout: i64 => .default_int(0),
        /// More rsync options.
        rsync_opts: Vec<String>,
        /// Whether the connection's ssh arguments are passed to ssh.
        use_ssh_args: bool => .default_bool(false),
        /// Whether ssh may share a master connection.
        ssh_connection_multiplexing: bool => .default_bool(false),
        /// `--partial`.
        partial: bool => .default_bool(false),
        /// Whether ssh checks the host key.
        verify_host: bool => .default_bool(false),
        /// `--delay-updates`.
        delay_updates: bool => .default_bool(true),
        mode: Mode => .default_str("push"),
        /// `--link-dest` directories.
        link_dest: Vec<String>,
    }
}

/// What marks a changed file in rsync's output.
const CHANGED: &str = "<<CHANGED>>";

/// Ansible's default `ssh_args`.
const DEFAULT_SSH_ARGS: &str = "-C -o ControlMaster=auto -o ControlPersist=60s";

/// A command line: the words it runs and how Ansible shows it (`cmd`).
#[derive(Debug, Default)]
struct Line {
    words: Vec<String>,
    shown: Vec<String>,
}

impl Line {
    /// A word shown as it is.
    fn push(&mut self, word: impl Into<String>) {
        let word = word.into();
        self.shown.push(word.clone());
        self.words.push(word);
    }

    /// `prefix` and a value that Ansible quotes in `cmd` (`--rsh='ssh ...'`).
    fn push_quoted(&mut self, prefix: &str, value: &str) {
        self.shown.push(format!("{prefix}{}", quote(value)));
        self.words.push(format!("{prefix}{value}"));
    }
}

/// Python's `shlex.split` (POSIX mode), for the `rsync_opts` Ansible adds to its
/// command string unquoted.
fn shlex_split(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => words.extend(word.take()),
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                w.extend(chars.by_ref().take_while(|&c| c != '\''));
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => w.extend(chars.next()),
                        c => w.push(c),
                    }
                }
            }
            '\\' => word.get_or_insert_with(String::new).extend(chars.next()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

/// Where the other end is: `user@host:path`, the host in brackets when it is an
/// IPv6 address.
fn remote(user: Option<&str>, host: &str, path: &str) -> String {
    if path.starts_with("rsync://") {
        return path.to_string();
    }
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    match host.contains(':') {
        true => format!("[{user}{host}]:{path}"),
        false => format!("{user}{host}:{path}"),
    }
}

/// What the action settled before rsync runs.
struct Plan {
    src: String,
    dest: String,
    /// The ssh command for `--rsh`, when one end is remote.
    ssh: Option<String>,
    rsync_path: Option<String>,
}

/// The rsync command line the module builds.
fn rsync_line(
    rsync: &str,
    args: &SynchronizeArgs,
    plan: &Plan,
    check: bool,
) -> Result<Line, String> {
    let mut line = Line::default();
    line.push(rsync);
    if args.delay_updates {
        line.push("--delay-updates");
        line.push("-F");
    }
    if args.compress {
        line.push("--compress");
    }
    if args.rsync_timeout != 0 {
        line.push(format!("--timeout={}", args.rsync_timeout));
    }
    if check {
        line.push("--dry-run");
    }
    let flags = [
        (args.delete, "--delete-after"),
        (args.existing_only, "--existing"),
        (args.checksum, "--checksum"),
        (args.copy_links, "--copy-links"),
    ];
    for (on, flag) in flags {
        if on {
            line.push(flag);
        }
    }
    let toggles = [
        (args.recursive, "recursive"),
        (args.links, "links"),
        (args.perms, "perms"),
        (args.times, "times"),
        (args.owner, "owner"),
        (args.group, "group"),
    ];
    if args.archive {
        line.push("--archive");
        for (value, name) in toggles {
            if value == Some(false) {
                line.push(format!("--no-{name}"));
            }
        }
    } else {
        for (value, name) in toggles {
            if value == Some(true) {
                line.push(format!("--{name}"));
            }
        }
    }
    if args.dirs {
        line.push("--dirs");
    }
    if plan.src.starts_with("rsync://") && plan.dest.starts_with("rsync://") {
        return Err("either src or dest must be a localhost".into());
    }
    let has_rsh = args.rsync_opts.iter().any(|o| o.contains("--rsh"));
    if let (Some(ssh), false) = (&plan.ssh, has_rsh) {
        line.push_quoted("--rsh=", ssh);
    }
    if let Some(path) = &plan.rsync_path {
        line.push_quoted("--rsync-path=", path);
    }
    for opt in &args.rsync_opts {
        line.shown.push(opt.clone());
        line.words.extend(shlex_split(opt));
    }
    if args.partial {
        line.push("--partial");
    }
    if !args.link_dest.is_empty() {
        line.push("-H");
        line.push("-vv");
        let dest_dir = crate::modules::fileops::parent_dir(&plan.dest).to_string();
        for link in &args.link_dest {
            if dest_dir.starts_with(link.as_str()) {
                return Err(format!(
                    "Hardlinking into a subdirectory of the source would cause recursion. {dest_dir} and {}",
                    plan.dest
                ));
            }
            line.push(format!("--link-dest={link}"));
        }
    }
    line.push_quoted("--out-format=", &format!("{CHANGED}%i %n%L"));
    line.push_quoted("", &plan.src);
    line.push_quoted("", &plan.dest);
    Ok(line)
}

/// A control-node path as Ansible's `_get_absolute_path` finds it: relative paths in
/// the role's or playbook's `files/`, a trailing `/` kept.
fn local_path(ctx: &ModuleContext<'_>, path: &str) -> String {
    if path.contains(':') || path.starts_with('/') {
        return path.to_string();
    }
    // Not found, it is the playbook's directory's (`path_dwim`), and rsync says so.
    let mut found = match ctx.vars.find_file("files", path) {
        Some(found) => found.to_string_lossy().into_owned(),
        None => format!(
            "{}/{path}",
            var(ctx, "playbook_dir").unwrap_or_else(|| ".".into())
        ),
    };
    if path.ends_with('/') && !found.ends_with('/') {
        found.push('/');
    }
    found
}

/// A task variable as text, when it is set.
fn var(ctx: &ModuleContext<'_>, name: &str) -> Option<String> {
    match ctx.vars.eval(name).ok().flatten()? {
        Json::Null => None,
        Json::String(s) => Some(s),
        other => Some(other.to_string()),
    }
}

/// Settles both ends and the ssh command as Ansible's action plugin does.
fn plan(ctx: &ModuleContext<'_>, args: &SynchronizeArgs) -> Result<Plan, String> {
    let Some(ssh) = ctx.conn.ssh_target() else {
        // `connection: local`: both ends are paths here.
        return Ok(Plan {
            src: local_path(ctx, &args.src),
            dest: local_path(ctx, &args.dest),
            ssh: None,
            rsync_path: args.rsync_path.clone(),
        });
    };
    if ssh.password.is_some() {
        return Err("synchronize over a password login needs sshpass, which bosun does not drive: use a key for this host".into());
    }
    let user = args.set_remote_user.then_some(ssh.user.as_str());
    let (src, dest) = match args.mode {
        Mode::Push => (
            local_path(ctx, &args.src),
            remote(user, &ssh.host, &args.dest),
        ),
        Mode::Pull => (
            remote(user, &ssh.host, &args.src),
            local_path(ctx, &args.dest),
        ),
    };
    let private_key = args.private_key.clone().or_else(|| {
        ssh.explicit_key
            .then(|| ssh.key_files.first())
            .flatten()
            .map(|k| k.to_string_lossy().into_owned())
    });
    let dest_port = args
        .dest_port
        .map(|p| p.to_string())
        .or_else(|| var(ctx, "ansible_port"));
    let ssh_bin = which("ssh").ok_or_else(|| missing("ssh"))?;
    let mut command = vec![ssh_bin];
    if !args.ssh_connection_multiplexing {
        command.extend(["-S".to_string(), "none".to_string()]);
    }
    if let Some(key) = private_key {
        command.extend(["-i".to_string(), key]);
    }
    if let Some(port) = dest_port {
        command.extend(["-o".to_string(), format!("Port={port}")]);
    }
    if !args.verify_host {
        command.extend(
            [
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
            ]
            .map(String::from),
        );
    }
    let mut ssh_command: String = command
        .iter()
        .map(|w| quote(w))
        .collect::<Vec<_>>()
        .join(" ");
    if args.use_ssh_args {
        let ssh_args = [
            var(ctx, "ansible_ssh_args").or(Some(DEFAULT_SSH_ARGS.to_string())),
            var(ctx, "ansible_ssh_common_args"),
            var(ctx, "ansible_ssh_extra_args"),
        ];
        let joined: Vec<String> = ssh_args
            .into_iter()
            .flatten()
            .filter(|a| !a.is_empty())
            .collect();
        if !joined.is_empty() {
            ssh_command.push(' ');
            ssh_command.push_str(&joined.join(" "));
        }
    }
    let rsync_path = args.rsync_path.clone().or_else(|| {
        let spec = ctx.conn.become_spec()?;
        (spec.method == "sudo").then(|| format!("sudo -u {} rsync", spec.user))
    });
    Ok(Plan {
        src,
        dest,
        ssh: Some(ssh_command),
        rsync_path,
    })
}

/// `get_bin_path`'s failure.
fn missing(program: &str) -> String {
    format!(
        "Failed to find required executable \"{program}\" in paths: {}",
        std::env::var("PATH").unwrap_or_default()
    )
}

/// Where `program` is on the control node's `PATH`.
fn which(program: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

#[async_trait]
impl Module for Synchronize {
    fn name(&self) -> &'static str {
        "synchronize"
    }

    fn params(&self) -> &'static [Param] {
        SynchronizeArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = SynchronizeArgs::from_args(args).map_err(ModuleError::Failed)?;
        let plan = plan(ctx, &args).map_err(ModuleError::Failed)?;
        let rsync = var(ctx, "ansible_rsync_path").unwrap_or_else(|| "rsync".to_string());
        let rsync = match rsync.contains('/') {
            true => rsync,
            false => which(&rsync).ok_or_else(|| ModuleError::Failed(missing(&rsync)))?,
        };
        let line = rsync_line(&rsync, &args, &plan, ctx.check_mode).map_err(ModuleError::Failed)?;
        let cmd = line.shown.join(" ");
        let script: Vec<String> = line.words.iter().map(|w| quote(w)).collect();
        let out = LocalConnection
            .exec(&Command::new(format!("{} </dev/null", script.join(" "))))
            .await?;
        if out.rc != 0 {
            let mut failed = super::failed(out.stderr_text());
            failed.insert("rc".into(), json!(out.rc));
            failed.insert("cmd".into(), json!(cmd));
            return Err(ModuleError::FailedWith(failed));
        }
        let stdout = out.stdout_text();
        let changed = match args.link_dest.is_empty() {
            true => stdout.contains(CHANGED),
            false => !stdout.contains(&format!("{CHANGED}.")),
        };
        let clean = stdout.replace(CHANGED, "");
        let lines: Vec<&str> = clean.split('\n').filter(|l| !l.is_empty()).collect();
        let mut outcome = Outcome::new();
        outcome.insert("changed".into(), json!(changed));
        outcome.insert("msg".into(), json!(clean));
        outcome.insert("rc".into(), json!(out.rc));
        outcome.insert("cmd".into(), json!(cmd));
        outcome.insert("stdout_lines".into(), json!(lines));
        if ctx.diff_mode {
            outcome.insert("diff".into(), json!({"prepared": clean}));
        }
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    fn args(value: Json) -> SynchronizeArgs {
        from_json(value).expect("valid arguments")
    }

    #[test]
    fn the_command_line_is_the_modules() {
        let a = args(
            json!({"src": "site/", "dest": "/srv/www", "delete": true, "rsync_opts": ["--exclude=.git", "--chmod 'u=rwX'"], "times": false}),
        );
        let plan = Plan {
            src: "/play/files/site/".into(),
            dest: "root@198.51.100.2:/srv/www".into(),
            ssh: Some("/usr/bin/ssh -S none -o Port=22".into()),
            rsync_path: Some("sudo -u root rsync".into()),
        };
        let line = rsync_line("/usr/bin/rsync", &a, &plan, true).expect("a line");
        assert_eq!(
            line.shown.join(" "),
            "/usr/bin/rsync --delay-updates -F --compress --dry-run --delete-after --archive --no-times --rsh='/usr/bin/ssh -S none -o Port=22' --rsync-path='sudo -u root rsync' --exclude=.git --chmod 'u=rwX' --out-format='<<CHANGED>>%i %n%L' /play/files/site/ root@198.51.100.2:/srv/www"
        );
        assert!(
            line.words
                .contains(&"--rsh=/usr/bin/ssh -S none -o Port=22".to_string())
        );
        assert!(
            line.words.windows(2).any(|w| w == ["--chmod", "u=rwX"]),
            "{:?}",
            line.words
        );
    }

    #[test]
    fn remote_ends_and_shell_words() {
        assert_eq!(remote(Some("deploy"), "web1", "/srv"), "deploy@web1:/srv");
        assert_eq!(remote(None, "fe80::1", "/srv"), "[fe80::1]:/srv");
        assert_eq!(
            shlex_split(r#"-e "ssh -p 2" a\ b 'c d'"#),
            ["-e", "ssh -p 2", "a b", "c d"]
        );
    }
}
