//! `mount` (ansible.posix): a mount point in fstab and in the running system, as
//! Ansible's module on Linux: the fstab line is rewritten in place (atomically, with an
//! optional backup), and `mount`, `umount` and `mount -o remount` of util-linux do the
//! rest. What is mounted is read from `/proc/self/mountinfo` and `stat` as Python's
//! `os.path.ismount` does, in the query's one round trip.

use async_trait::async_trait;
use serde_json::{Value as Json, json};

use super::contract::{Decision, StateModule};
use super::fileops::Attributes;
use super::textfile::{self, SavePlan, TextFile};
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};

/// Manages a mount point.
pub struct Mount;

arg_enum! {
    /// What to do with the mount point.
    pub enum State {
        Absent = "absent",
        AbsentFromFstab = "absent_from_fstab",
        Mounted = "mounted",
        Present = "present",
        Unmounted = "unmounted",
        Remounted = "remounted",
        Ephemeral = "ephemeral",
    }
}

module_args! {
    /// `mount`'s arguments.
    pub struct MountArgs {
        /// Whether the mount is mounted at boot (`noauto` added when not).
        boot: bool => .default_bool(true),
        /// fstab's dump field.
        dump: String => .default_str("0"),
        /// The fstab file (`/etc/fstab`).
        fstab: Option<String>,
        /// The file system type.
        fstype: Option<String>,
        /// The mount point.
        path: String => .required().aliases(&["name"]),
        /// The mount options (`defaults`).
        opts: Option<String>,
        /// Whether `opts` is kept out of the logs.
        opts_no_log: bool => .default_bool(false),
        /// fstab's pass number.
        passno: String => .default_str("0"),
        /// The device, or what is mounted.
        src: Option<String>,
        /// Whether to keep a copy of fstab before changing it.
        backup: bool => .default_bool(false),
        state: State => .required(),
    }
    rules: Rules {
        required_if: &[
            ("state", "mounted", &["src", "fstype"]),
            ("state", "present", &["src", "fstype"]),
            ("state", "ephemeral", &["src", "fstype"]),
        ],
        ..Rules::NONE
    };
}

/// The fstab line's fields as the module writes them, with the defaults filled in.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    src: String,
    name: String,
    fstype: String,
    opts: String,
    dump: String,
    passno: String,
}

impl MountArgs {
    /// The fstab file.
    fn fstab(&self) -> &str {
        self.fstab.as_deref().unwrap_or("/etc/fstab")
    }

    /// The options, with `noauto` appended when `boot` is off, and the warning
    /// Ansible gives when `noauto` overrides `boot`.
    fn opts(&self) -> (String, Option<&'static str>) {
        let opts = self.opts.clone().unwrap_or_else(|| "defaults".to_string());
        match (self.boot, opts.split(',').any(|o| o == "noauto")) {
            (true, true) => (
                opts,
                Some("Ignore the 'boot' due to 'opts' contains 'noauto'."),
            ),
            (true, false) => (opts, None),
            (false, _) => (format!("{opts},noauto"), None),
        }
    }

    /// The entry, its fields escaped as fstab needs them.
    fn entry(&self) -> Entry {
        Entry {
            src: escape(self.src.as_deref().unwrap_or("")),
            name: escape(&self.path),
            fstype: escape(self.fstype.as_deref().unwrap_or("")),
            opts: escape(&self.opts().0),
            dump: escape(&self.dump),
            passno: escape(&self.passno),
        }
    }
}

/// A value with the characters fstab cannot hold escaped (space, `&`, backslash).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

/// A mounted file system as Ansible's `get_linux_mounts` reads it.
#[derive(Debug, Clone, PartialEq)]
struct Mounted {
    dst: String,
    src: String,
}

/// What the query found: fstab, the mount table, and the mount point.
#[derive(Debug)]
pub struct Found {
    fstab: TextFile,
    mounts: Vec<Mounted>,
    /// `os.path.ismount(path)`.
    is_mount: bool,
    /// `os.path.exists(path)`.
    exists: bool,
    /// `(src, dst)` of every line `mount -v` prints (ephemeral mounts only).
    mount_v: Vec<(String, String)>,
}

impl Found {
    /// Ansible's `is_bind_mounted`: `dest` in the mount table, with `src` when given.
    fn bind_mounted(&self, dest: &str, src: Option<&str>) -> bool {
        self.mounts
            .iter()
            .rev()
            .find(|m| m.dst == dest)
            .is_some_and(|m| src.is_none_or(|src| m.src == src))
    }

    /// Whether anything is mounted at `dest`.
    fn mounted(&self, dest: &str) -> bool {
        self.is_mount || self.bind_mounted(dest, None)
    }

    /// Ansible's `_is_same_mount_src`.
    fn same_source(&self, src: &str, dest: &str) -> bool {
        self.mounted(dest)
            && (self.bind_mounted(dest, Some(src))
                || self.mount_v.iter().any(|(s, d)| s == src && d == dest))
    }
}

/// What to run after fstab is saved.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    /// Nothing beyond fstab.
    Nothing,
    /// `mount` it (creating the mount point first).
    Mount,
    /// Remount it (creating the mount point first when it is missing).
    Remount,
    /// `umount` it.
    Unmount,
    /// `umount` it when mounted, then remove the mount point.
    UnmountAndRemove,
}

/// The changes: fstab's new text (and its old one, put back when mounting fails),
/// then the action.
#[derive(Debug)]
pub struct Changes {
    fstab: Option<SavePlan>,
    restore: Option<SavePlan>,
    action: Action,
    /// Whether the mount point must be created before mounting.
    make_dir: bool,
    /// Whether something is mounted at the path (for `absent`).
    mounted: bool,
}

/// Separates the sections of the query's probe.
const SECTION: char = '\u{3}';

#[async_trait]
impl StateModule for Mount {
    const NAME: &'static str = "mount";
    type Args = MountArgs;
    type State = Found;
    type Plan = Changes;

    async fn query(&self, on: &Target<'_>, args: &MountArgs) -> Result<Found, ModuleError> {
        read_state(on, args, false).await
    }

    /// Ansible creates a missing fstab (and its directory) before it looks.
    async fn prepare_and_query(
        &self,
        on: &Target<'_>,
        args: &MountArgs,
    ) -> Result<Found, ModuleError> {
        read_state(on, args, args.state != State::Ephemeral).await
    }

    fn decide(&self, args: &MountArgs, found: Found) -> Result<Decision<Changes>, String> {
        let entry = args.entry();
        let old = found.fstab.text.clone().unwrap_or_default();
        let name = args.path.as_str();
        let (fstab_text, action, make_dir) = match args.state {
            State::AbsentFromFstab => (
                unset(&old, &entry, args.src.is_some()),
                Action::Nothing,
                false,
            ),
            State::Absent => {
                let text = unset(&old, &entry, args.src.is_some());
                let action = match text {
                    Some(_) => Action::UnmountAndRemove,
                    None => Action::Nothing,
                };
                (text, action, false)
            }
            State::Unmounted => {
                let action = match found.mounted(name) {
                    true => Action::Unmount,
                    false => Action::Nothing,
                };
                (None, action, false)
            }
            State::Present => (set(&old, &entry), Action::Nothing, false),
            State::Remounted => (None, Action::Remount, false),
            State::Mounted => {
                let text = set(&old, &entry);
                let mounted = found.is_mount || found.bind_mounted(name, args.src.as_deref());
                let action = match (mounted, text.is_some()) {
                    (true, true) => Action::Remount,
                    (true, false) => Action::Nothing,
                    (false, _) => Action::Mount,
                };
                (text, action, !found.exists)
            }
            State::Ephemeral => {
                let src = args.src.as_deref().unwrap_or("");
                let mounted = found.is_mount || found.bind_mounted(name, Some(src));
                let action = match (mounted, found.same_source(src, name)) {
                    (false, _) => Action::Mount,
                    (true, true) => Action::Remount,
                    (true, false) => return Err(EPHEMERAL_BUSY.to_string()),
                };
                (None, action, !found.exists)
            }
        };
        let save =
            |text: &str| textfile::plan_save(&found.fstab, &Attributes::default(), text, true, "");
        let fstab = fstab_text.as_deref().map(save).transpose()?;
        let restore = match (&fstab, args.state) {
            (Some(_), State::Mounted) => Some(save(&old)?),
            _ => None,
        };
        let changed = fstab.is_some() || action != Action::Nothing;
        let changes = Changes {
            fstab,
            restore,
            action,
            make_dir,
            mounted: found.mounted(name),
        };
        let mut decision = Decision::maybe(changed.then_some(changes));
        for (key, value) in result_keys(args) {
            decision = decision.with(&key, value);
        }
        Ok(decision)
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        args: &MountArgs,
        changes: Changes,
    ) -> Result<Outcome, ModuleError> {
        let name = args.path.as_str();
        let mut outcome = Outcome::new();
        let created = match changes.make_dir {
            true => make_dirs(on, name).await?,
            false => Vec::new(),
        };
        if let Some(save) = &changes.fstab {
            let backup = textfile::apply_save(on, save, None, args.backup).await?;
            if let Some(path) = backup {
                outcome.insert("backup_file".into(), json!(path));
            }
        }
        let failed = match changes.action {
            Action::Nothing => None,
            Action::Mount => run(on, &mount_command(args)).await?,
            Action::Remount => remount(on, args).await?,
            Action::Unmount | Action::UnmountAndRemove => {
                if changes.action == Action::Unmount || changes.mounted {
                    let umount = format!("umount {}", quote(name));
                    if let Some(msg) = run(on, &umount).await? {
                        return Err(ModuleError::Failed(format!(
                            "Error unmounting {name}: {msg}"
                        )));
                    }
                }
                if changes.action == Action::UnmountAndRemove {
                    let p = quote(name);
                    let rmdir = format!("[ ! -e {p} ] || rmdir -- {p}");
                    if let Some(msg) = run(on, &rmdir).await? {
                        return Err(ModuleError::Failed(format!("Error rmdir {name}: {msg}")));
                    }
                }
                None
            }
        };
        let Some(msg) = failed else {
            return Ok(outcome);
        };
        if args.state == State::Remounted {
            return Err(ModuleError::Failed(format!(
                "Error remounting {name}: {msg}"
            )));
        }
        if let Some(restore) = &changes.restore {
            textfile::apply_save(on, restore, None, false).await?;
        }
        if !created.is_empty() {
            let dirs: Vec<String> = created.iter().rev().map(|d| quote(d)).collect();
            on.conn
                .exec(&Command::new(format!(
                    "rmdir -- {} 2>/dev/null",
                    dirs.join(" ")
                )))
                .await?;
        }
        Err(ModuleError::Failed(format!("Error mounting {name}: {msg}")))
    }
}

/// The message when an ephemeral mount point holds something else.
const EPHEMERAL_BUSY: &str = "Ephemeral mount point is already mounted with a different source than the specified one. Failing in order to prevent an unwanted unmount or override operation. Try replacing this command with a \"state: unmounted\" followed by a \"state: ephemeral\", or use a different destination path.";

/// The message when a remount with options fails.
const REMOUNT_WITH_OPTS: &str = "Options were specified with remounted, but the remount command failed. Failing in order to prevent an unexpected mount result. Try replacing this command with a \"state: unmounted\" followed by a \"state: mounted\" using the full desired mount options instead.";

/// Reads fstab (after creating it when `prepare`), the mount table and the mount point
/// in one round trip.
async fn read_state(
    on: &Target<'_>,
    args: &MountArgs,
    prepare: bool,
) -> Result<Found, ModuleError> {
    let p = quote(&args.path);
    let mut probe = String::new();
    if prepare {
        let f = quote(args.fstab());
        let dir = quote(super::fileops::parent_dir(args.fstab()));
        // When fstab cannot be made, the probe stops before its first section.
        probe.push_str(&format!(
            "[ -e {f} ] || {{ mkdir -p -- {dir} && : >> {f}; }} || exit 3; "
        ));
    }
    probe.push_str(&format!(
        "printf '\\003mountinfo\\n'; cat /proc/self/mountinfo 2>/dev/null; \
         printf '\\003ismount\\n'; stat -c '%d %i %F' -- {p} {p}/.. 2>/dev/null; \
         printf '\\003exists\\n'; [ -e {p} ] && echo yes; "
    ));
    if args.state == State::Ephemeral {
        probe.push_str("printf '\\003mountv\\n'; mount -v 2>/dev/null; ");
    }
    let (fstab, probed) =
        textfile::read_with(on, args.fstab(), textfile::Codec::Utf8, Some(&probe)).await?;
    if prepare && !probed.contains(SECTION) {
        return Err(ModuleError::Failed(format!(
            "Failed to open {} due to permission issue",
            args.fstab()
        )));
    }
    Ok(parse_probe(fstab, &probed))
}

/// The query's probe output, read into a [`Found`].
fn parse_probe(fstab: TextFile, probed: &str) -> Found {
    let section = |name: &str| -> &str {
        probed
            .split(SECTION)
            .find_map(|s| s.strip_prefix(name).and_then(|s| s.strip_prefix('\n')))
            .unwrap_or("")
    };
    let mount_v = section("mountv")
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some((fields.first()?.to_string(), fields.get(2)?.to_string()))
        })
        .collect();
    Found {
        fstab,
        mounts: linux_mounts(section("mountinfo")),
        is_mount: is_mount(section("ismount")),
        exists: section("exists").trim() == "yes",
        mount_v,
    }
}

/// `os.path.ismount` from `stat -c '%d %i %F'` of the path and of `path/..`: not a
/// link, and another device than its parent or the same inode.
fn is_mount(stats: &str) -> bool {
    let lines: Vec<Vec<&str>> = stats.lines().map(|l| l.splitn(3, ' ').collect()).collect();
    match lines.as_slice() {
        [path, parent] if path.len() == 3 && parent.len() == 3 => {
            path[2] != "symbolic link" && (path[0] != parent[0] || path[1] == parent[1])
        }
        _ => false,
    }
}

/// One line of `/proc/self/mountinfo`.
struct MountInfo {
    id: i64,
    parent: i64,
    root: String,
    dst: String,
    src: String,
}

/// The mount table as Ansible's `get_linux_mounts` reads mountinfo: a mount whose
/// parent is listed gets as source its root (within the parent's), prefixed with the
/// parent's mount point; the others their device.
fn linux_mounts(mountinfo: &str) -> Vec<Mounted> {
    let infos: Vec<MountInfo> = mountinfo
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some(MountInfo {
                id: fields.first()?.parse().ok()?,
                parent: fields.get(1)?.parse().ok()?,
                root: fields.get(3)?.to_string(),
                dst: fields.get(4)?.to_string(),
                src: fields.get(fields.len().checked_sub(2)?)?.to_string(),
            })
        })
        .collect();
    // Python keys the records by id: a later line with the same id wins.
    let by_id = |id: i64| infos.iter().rev().find(|m| m.id == id);
    infos
        .iter()
        .map(|mnt| {
            let src = match by_id(mnt.parent).filter(|_| mnt.parent != 1) {
                Some(parent) => {
                    let mut root = mnt.root.clone();
                    if parent.root.len() > 1
                        && let Some(rest) = root.strip_prefix(&format!("{}/", parent.root))
                    {
                        root = format!("/{rest}");
                    }
                    match parent.dst.as_str() {
                        "/" => root,
                        dst => format!("{dst}{root}"),
                    }
                }
                None => mnt.src.clone(),
            };
            Mounted {
                dst: mnt.dst.clone(),
                src,
            }
        })
        .collect()
}

/// Whether an fstab line carries a mount (not blank, not a comment).
fn is_entry(line: &str) -> bool {
    let trimmed = line.trim();
    !trimmed.is_empty() && !trimmed.starts_with('#')
}

/// Ansible's `_set_mount_save_old`: fstab with `entry`'s line changed in place or
/// appended; `None` when nothing changes. A line whose dump or pass number is missing
/// always changes (Ansible compares the number 0 with the string "0").
fn set(text: &str, entry: &Entry) -> Option<String> {
    let mut out = String::new();
    let (mut exists, mut changed) = (false, false);
    for line in text.split_inclusive('\n') {
        let mut line = line.to_string();
        if !line.ends_with('\n') {
            line.push('\n');
        }
        let fields: Vec<&str> = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        if !is_entry(&line) || !(4..=6).contains(&fields.len()) {
            out.push_str(&line);
            continue;
        }
        let is_other_swap = !entry.src.is_empty()
            && fields[1] == "none"
            && fields[2] == "swap"
            && fields[0] != entry.src;
        if fields[1] != entry.name || is_other_swap {
            out.push_str(&line);
            continue;
        }
        exists = true;
        let same = fields[0] == entry.src
            && fields[2] == entry.fstype
            && fields[3] == entry.opts
            && fields.get(4) == Some(&entry.dump.as_str())
            && fields.get(5) == Some(&entry.passno.as_str());
        // Once a line changed, later lines for the same path are rewritten too.
        if same && !changed {
            out.push_str(&line);
        } else {
            changed = true;
            out.push_str(&entry.line());
        }
    }
    if !exists {
        out.push_str(&entry.line());
        changed = true;
    }
    changed.then_some(out)
}

impl Entry {
    /// The line the module writes.
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {} {}\n",
            self.src, self.name, self.fstype, self.opts, self.dump, self.passno
        )
    }
}

/// Ansible's `unset_mount`: fstab without the six-field lines for `entry`'s path;
/// `None` when there were none.
fn unset(text: &str, entry: &Entry, src_given: bool) -> Option<String> {
    let mut out = String::new();
    let mut changed = false;
    for line in text.split_inclusive('\n') {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if !is_entry(line) || fields.len() != 6 {
            out.push_str(line);
            continue;
        }
        let is_other_swap =
            src_given && fields[1] == "none" && fields[2] == "swap" && fields[0] != entry.src;
        if fields[1] != entry.name || is_other_swap {
            out.push_str(line);
            continue;
        }
        changed = true;
    }
    changed.then_some(out)
}

/// The keys Ansible's module returns, whether or not anything changes.
fn result_keys(args: &MountArgs) -> Vec<(String, Json)> {
    let (mut opts, warning) = args.opts();
    if let (true, Some(given)) = (
        args.opts_no_log,
        args.opts.as_deref().filter(|o| !o.is_empty()),
    ) {
        opts = opts.replace(given, "********");
    }
    let mut keys = vec![
        ("name".to_string(), json!(args.path)),
        ("opts".to_string(), json!(opts)),
        ("dump".to_string(), json!(args.dump)),
        ("passno".to_string(), json!(args.passno)),
        ("fstab".to_string(), json!(args.fstab())),
        (
            "boot".to_string(),
            json!(if args.boot { "yes" } else { "no" }),
        ),
        ("backup_file".to_string(), json!("")),
    ];
    // Ansible drops an empty list of warnings.
    if let Some(warning) = warning {
        keys.push(("warnings".to_string(), json!([warning])));
    }
    if let Some(src) = &args.src {
        keys.push(("src".to_string(), json!(src)));
    }
    if let Some(fstype) = &args.fstype {
        keys.push(("fstype".to_string(), json!(fstype)));
    }
    keys
}

/// `-T fstab` when the fstab is not the system's.
fn fstab_flag(args: &MountArgs) -> String {
    match args.fstab() {
        "/etc/fstab" => String::new(),
        other => format!(" -T {}", quote(other)),
    }
}

/// The `mount` command: the path alone (fstab says the rest), or everything for an
/// ephemeral mount.
fn mount_command(args: &MountArgs) -> String {
    match args.state {
        State::Ephemeral => format!("mount{} {}", ephemeral_flags(args), quote(&args.path)),
        _ => format!("mount{} {}", fstab_flag(args), quote(&args.path)),
    }
}

/// `-t fstype [-o opts] src` of an ephemeral mount.
fn ephemeral_flags(args: &MountArgs) -> String {
    let opts = args.opts().0;
    let opts = match opts.as_str() {
        "defaults" => String::new(),
        _ => format!(" -o {}", quote(&opts)),
    };
    format!(
        " -t {}{opts} {}",
        quote(args.fstype.as_deref().unwrap_or("")),
        quote(args.src.as_deref().unwrap_or(""))
    )
}

/// Ansible's `remount`: `mount -o remount`, and when that fails `umount` then `mount`
/// (except with `remounted` and options, which fails). `Some(message)` on failure.
async fn remount(on: &Target<'_>, args: &MountArgs) -> Result<Option<String>, ModuleError> {
    let opts = args.opts().0;
    let with_opts = args.state == State::Remounted && opts != "defaults";
    let remount_opts = match with_opts {
        true => format!("remount,{opts}"),
        false => "remount".to_string(),
    };
    let flags = match args.state {
        State::Ephemeral => ephemeral_flags(args),
        _ => fstab_flag(args),
    };
    let command = format!(
        "mount -o {}{flags} {}",
        quote(&remount_opts),
        quote(&args.path)
    );
    if run(on, &command).await?.is_none() {
        return Ok(None);
    }
    if with_opts {
        return Err(ModuleError::Failed(REMOUNT_WITH_OPTS.to_string()));
    }
    if let Some(msg) = run(on, &format!("umount {}", quote(&args.path))).await? {
        return Ok(Some(msg));
    }
    run(on, &mount_command(args)).await
}

/// Runs `script`; `Some(stdout + stderr)` when it fails, as `run_command` reports.
async fn run(on: &Target<'_>, script: &str) -> Result<Option<String>, ModuleError> {
    let out = on.conn.exec(&Command::new(script)).await?;
    Ok((out.rc != 0).then(|| format!("{}{}", out.stdout_text(), out.stderr_text())))
}

/// Creates the mount point and the directories above it that are missing, one by
/// one as Ansible does; returns those it created.
async fn make_dirs(on: &Target<'_>, path: &str) -> Result<Vec<String>, ModuleError> {
    let mut dirs = Vec::new();
    let mut current = String::new();
    for part in path.trim_matches('/').split('/') {
        current = match (current.is_empty(), path.starts_with('/')) {
            (true, false) => part.to_string(),
            _ => format!("{current}/{part}"),
        };
        dirs.push(current.clone());
    }
    let script: String = dirs
        .iter()
        .map(|d| {
            let q = quote(d);
            format!("if [ ! -e {q} ]; then mkdir -- {q} || exit 1; printf '%s\\0' {q}; fi; ")
        })
        .collect();
    let out = on.conn.exec(&Command::new(script)).await?;
    if out.rc != 0 {
        return Err(ModuleError::Failed(format!(
            "Error making dir {path}: {}",
            out.stderr_text().trim()
        )));
    }
    Ok(out
        .stdout_text()
        .split('\0')
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modules::typed::from_json;

    const FSTAB: &str =
        "# /etc/fstab\nUUID=1 / ext4 errors=remount-ro 0 1\n\ntmpfs /mnt/a tmpfs size=1m 0 0\n";

    /// A mountinfo of a container: its root, a tmpfs at /mnt/t and a bind mount of
    /// /srv/data at /mnt/b.
    const MOUNTINFO: &str = "\
500 400 0:50 / / rw,relatime - overlay overlay rw
510 500 0:60 / /mnt/t rw,relatime - tmpfs tmpfs rw,size=1024k
520 500 0:50 /srv/data /mnt/b rw,relatime - overlay overlay rw
";

    fn args(value: Json) -> MountArgs {
        from_json(value).expect("valid arguments")
    }

    fn found(fstab: Option<&str>, is_mount: bool, exists: bool) -> Found {
        Found {
            fstab: TextFile::found("/etc/fstab", fstab),
            mounts: linux_mounts(MOUNTINFO),
            is_mount,
            exists,
            mount_v: Vec::new(),
        }
    }

    fn decide(value: Json, found: Found) -> Result<Decision<Changes>, String> {
        Mount.decide(&args(value), found)
    }

    #[test]
    fn the_mount_table_is_read_as_ansible_reads_it() {
        let mounts = linux_mounts(MOUNTINFO);
        assert_eq!(
            mounts,
            [
                Mounted {
                    dst: "/".into(),
                    src: "overlay".into()
                },
                Mounted {
                    dst: "/mnt/t".into(),
                    src: "/".into()
                },
                Mounted {
                    dst: "/mnt/b".into(),
                    src: "/srv/data".into()
                },
            ]
        );
    }

    #[test]
    fn ismount_compares_devices_and_inodes() {
        assert!(is_mount("60 1 directory\n50 7 directory\n"));
        assert!(!is_mount("50 9 directory\n50 7 directory\n"));
        assert!(is_mount("50 2 directory\n50 2 directory\n"), "the root");
        assert!(!is_mount("60 1 symbolic link\n50 7 directory\n"));
        assert!(!is_mount(""), "missing");
    }

    #[test]
    fn set_appends_replaces_or_keeps() {
        let entry = args(json!({"path": "/mnt/a", "src": "tmpfs", "fstype": "tmpfs", "opts": "size=1m", "state": "present"})).entry();
        assert_eq!(set(FSTAB, &entry), None, "already there");
        let bigger = Entry {
            opts: "size=2m".into(),
            ..entry.clone()
        };
        let text = set(FSTAB, &bigger).expect("changed");
        assert!(
            text.ends_with("\ntmpfs /mnt/a tmpfs size=2m 0 0\n"),
            "{text}"
        );
        let other = Entry {
            name: "/mnt/new\\040dir".into(),
            ..entry.clone()
        };
        let text = set("tmpfs /x tmpfs defaults", &other).expect("appended");
        assert_eq!(
            text,
            "tmpfs /x tmpfs defaults\ntmpfs /mnt/new\\040dir tmpfs size=1m 0 0\n"
        );
        let short = "tmpfs /mnt/a tmpfs size=1m\n";
        assert_eq!(
            set(short, &entry).as_deref(),
            Some("tmpfs /mnt/a tmpfs size=1m 0 0\n"),
            "missing dump and passno differ, as in Ansible"
        );
    }

    #[test]
    fn unset_removes_only_six_field_lines_of_the_path() {
        let entry = args(json!({"path": "/mnt/a", "state": "absent"})).entry();
        assert_eq!(
            unset(FSTAB, &entry, false).as_deref(),
            Some("# /etc/fstab\nUUID=1 / ext4 errors=remount-ro 0 1\n\n")
        );
        assert_eq!(unset("tmpfs /mnt/a tmpfs defaults\n", &entry, false), None);
    }

    #[test]
    fn values_are_escaped_and_boot_adds_noauto() {
        let a = args(
            json!({"path": "/mnt/a b", "src": "x&y", "fstype": "t", "boot": false, "state": "present"}),
        );
        let entry = a.entry();
        assert_eq!(entry.line(), "x\\046y /mnt/a\\040b t defaults,noauto 0 0\n");
        let a = args(
            json!({"path": "/m", "src": "s", "fstype": "t", "opts": "noauto", "state": "present"}),
        );
        assert!(a.opts().1.is_some(), "the warning");
    }

    #[test]
    fn mounted_mounts_what_is_not_mounted_and_writes_fstab() {
        let value = json!({"path": "/mnt/a", "src": "tmpfs", "fstype": "tmpfs", "opts": "size=1m", "state": "mounted"});
        let d = decide(value.clone(), found(Some(FSTAB), false, false)).expect("decides");
        let plan = d.plan.expect("a change");
        assert_eq!(plan.action, Action::Mount);
        assert!(plan.fstab.is_none(), "fstab already right");
        assert!(plan.make_dir);
        assert_eq!(d.result["backup_file"], "");
        assert_eq!(d.result["boot"], "yes");
        let d = decide(value.clone(), found(Some(FSTAB), true, true)).expect("decides");
        assert!(d.plan.is_none(), "mounted and in fstab");
        let changed = json!({"path": "/mnt/a", "src": "tmpfs", "fstype": "tmpfs", "opts": "size=2m", "state": "mounted"});
        let plan = decide(changed, found(Some(FSTAB), true, true))
            .expect("decides")
            .plan
            .expect("a change");
        assert_eq!(plan.action, Action::Remount);
        assert!(plan.fstab.is_some() && plan.restore.is_some());
    }

    #[test]
    fn a_bind_mount_is_found_in_the_mount_table() {
        let value = json!({"path": "/mnt/b", "src": "/srv/data", "fstype": "none", "opts": "bind", "state": "mounted"});
        let fstab = "/srv/data /mnt/b none bind 0 0\n";
        let d = decide(value, found(Some(fstab), false, true)).expect("decides");
        assert!(
            d.plan.is_none(),
            "bind mounted although not a mount point to ismount"
        );
        let value = json!({"path": "/mnt/b", "state": "unmounted"});
        let plan = decide(value, found(None, false, true))
            .expect("decides")
            .plan
            .expect("a change");
        assert_eq!(plan.action, Action::Unmount);
        let value = json!({"path": "/mnt/none", "state": "unmounted"});
        assert!(
            decide(value, found(None, false, true))
                .expect("decides")
                .plan
                .is_none()
        );
    }

    #[test]
    fn absent_unmounts_only_what_was_in_fstab() {
        let value = json!({"path": "/mnt/a", "state": "absent"});
        let plan = decide(value.clone(), found(Some(FSTAB), true, true))
            .expect("decides")
            .plan
            .expect("a change");
        assert_eq!(plan.action, Action::UnmountAndRemove);
        assert!(plan.mounted);
        let d = decide(value, found(Some("# empty\n"), true, true)).expect("decides");
        assert!(
            d.plan.is_none(),
            "not in fstab: Ansible leaves the mount alone"
        );
        let value = json!({"path": "/mnt/a", "state": "absent_from_fstab"});
        let plan = decide(value, found(Some(FSTAB), true, true))
            .expect("decides")
            .plan
            .expect("a change");
        assert_eq!(plan.action, Action::Nothing);
    }

    #[test]
    fn ephemeral_refuses_another_source_and_remounted_always_changes() {
        let value = json!({"path": "/mnt/t", "src": "/srv/other", "fstype": "none", "opts": "bind", "state": "ephemeral"});
        let err = decide(value, found(None, true, true)).expect_err("busy");
        assert_eq!(err, EPHEMERAL_BUSY);
        let value = json!({"path": "/mnt/b", "src": "/srv/data", "fstype": "none", "opts": "bind", "state": "ephemeral"});
        let plan = decide(value, found(None, false, true))
            .expect("decides")
            .plan
            .expect("a change");
        assert_eq!(plan.action, Action::Remount);
        assert!(plan.fstab.is_none());
        let value = json!({"path": "/mnt/b", "state": "remounted"});
        let plan = decide(value, found(None, false, true))
            .expect("decides")
            .plan
            .expect("a change");
        assert_eq!(plan.action, Action::Remount);
    }

    #[test]
    fn mounted_needs_src_and_fstype() {
        let err =
            from_json::<MountArgs>(json!({"path": "/m", "state": "mounted"})).expect_err("bad");
        assert_eq!(
            err,
            "state is mounted but all of the following are missing: src, fstype"
        );
    }
}
