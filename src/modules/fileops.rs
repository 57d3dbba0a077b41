//! What file modules share: the state of a path on the target in one round trip,
//! modes (octal and symbolic), owner/group changes, and the atomic write (temp file in
//! the destination's directory, validated, attributes set, old file backed up, then
//! renamed) so a failure never leaves a half-written file.

use serde_json::{Map, Value as Json, json};

use crate::connection::{Command, ConnectionError, check_received, quote};

use super::typed::{TypedArgs, module_args};

/// The parameters every module that writes a path accepts, as Ansible's
/// `add_file_common_args`: derived from [`Attributes`].
pub const ATTRIBUTE_PARAMS: &[super::Param] = <Attributes as TypedArgs>::PARAMS;

/// What kind of thing a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (not followed).
    Link,
    /// Anything else (socket, device, fifo).
    Other,
}

impl FileKind {
    /// The `state` name Ansible uses for it.
    pub fn state(self) -> &'static str {
        match self {
            FileKind::File => "file",
            FileKind::Directory => "directory",
            FileKind::Link => "link",
            FileKind::Other => "file",
        }
    }
}

/// The state of an existing path on the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileStat {
    /// File, directory, link ...
    pub kind: FileKind,
    /// Permission bits (including setuid/setgid/sticky).
    pub mode: u32,
    /// Owner's uid.
    pub uid: u32,
    /// Group's gid.
    pub gid: u32,
    /// Owner's name.
    pub owner: String,
    /// Group's name.
    pub group: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time (seconds since the epoch).
    pub mtime: i64,
    /// Access time (seconds since the epoch).
    pub atime: i64,
    /// Target of a symbolic link.
    pub link_target: Option<String>,
    /// Checksum of a regular file's content (when asked for).
    pub checksum: Option<String>,
    /// Exact type, inode data, precise times, access rights.
    pub details: StatDetails,
}

/// What `stat` knows about a path beyond the basics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatDetails {
    /// The type as `stat` names it (`regular file`, `fifo`, `socket` ...).
    pub file_type: String,
    /// Inode number.
    pub inode: u64,
    /// Device the inode resides on.
    pub dev: u64,
    /// Number of hard links.
    pub nlink: u64,
    /// Modification time.
    pub mtime: Timestamp,
    /// Access time.
    pub atime: Timestamp,
    /// Status change time.
    pub ctime: Timestamp,
    /// What the connecting user may do with the path (when asked for).
    pub access: Option<Access>,
    /// Where a symbolic link finally leads, fully resolved.
    pub real_path: Option<String>,
    /// Its `lsattr` flags (`ie`), when asked for ([`Attributes::probe`]) and `chattr`
    /// is there to change them.
    pub attr_flags: Option<String>,
    /// Whether SELinux is enabled on the host, when asked for ([`Attributes::probe`]).
    pub selinux: bool,
}

/// A point in time with nanoseconds, as `stat` prints it (`1700000000.123456789`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timestamp {
    /// Whole seconds since the epoch.
    pub secs: i64,
    /// Nanoseconds past `secs`.
    pub nanos: u32,
}

impl Timestamp {
    /// Parses `secs[.fraction]`; digits past nanoseconds are dropped.
    pub fn parse(text: &str) -> Option<Timestamp> {
        let (secs, fraction) = text.split_once('.').unwrap_or((text, ""));
        if !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits: String = fraction
            .chars()
            .chain("000000000".chars())
            .take(9)
            .collect();
        Some(Timestamp {
            secs: secs.parse().ok()?,
            nanos: digits.parse().ok()?,
        })
    }

    /// Seconds as a float, as Python's `st_mtime` gives them.
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) * 1e-9
    }
}

/// What the connecting user may do with a path (`test -r/-w/-x`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// May read it.
    pub readable: bool,
    /// May write it.
    pub writeable: bool,
    /// May execute (or search) it.
    pub executable: bool,
}

/// The checksum algorithms Ansible offers; each has a `<name>sum` tool in coreutils.
pub const CHECKSUM_ALGORITHMS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// The SHA-1 of `data` as hex, as Ansible's `checksum`.
pub fn sha1_hex(data: &[u8]) -> String {
    use sha1::Digest as _;
    hex::encode(sha1::Sha1::digest(data))
}

/// The directory `path` is in, as `[ -d ... ]` should test it: `/` for top-level
/// paths, `.` for a bare name.
pub fn parent_dir(path: &str) -> &str {
    path.rsplit_once('/')
        .map_or(".", |(p, _)| if p.is_empty() { "/" } else { p })
}

/// The `stat` format behind [`parse_stat_line`]: type, mode, owner, size, times, inode data.
pub const STAT_FORMAT: &str = "%F|%a|%u|%g|%U|%G|%s|%Y|%X|%.9Y|%.9X|%.9Z|%i|%d|%h";

/// Queries `path` on the target: `None` when it does not exist. With `follow`, a
/// link is described by what it points to. With `checksum`, regular files get their
/// SHA-1. One round trip.
pub async fn stat(
    ctx: &super::Target<'_>,
    path: &str,
    follow: bool,
    checksum: bool,
) -> Result<Option<FileStat>, ConnectionError> {
    let out = ctx
        .conn
        .exec(&Command::new(stat_script(path, follow, checksum)))
        .await?;
    Ok(parse_stat(&out.stdout_text()))
}

/// The shell script behind [`stat`]; also usable inside a larger query.
pub fn stat_script(path: &str, follow: bool, checksum: bool) -> String {
    stat_script_with(path, follow, checksum.then_some("sha1"))
}

/// [`stat_script`] with the checksum algorithm chosen (one of [`CHECKSUM_ALGORITHMS`]).
/// Besides the stat line it prints what the user may do with the path (`P:`), and for
/// a link its target (`L:`) and fully resolved path (`R:`).
pub fn stat_script_with(path: &str, follow: bool, checksum: Option<&str>) -> String {
    let p = quote(path);
    let flag = if follow { "-L " } else { "" };
    let mut script = format!(
        "if [ -e {p} ] || [ -L {p} ]; then LC_ALL=C stat {flag}-c 'S:{STAT_FORMAT}' -- {p}; \
         printf P:; [ -r {p} ] && printf r; [ -w {p} ] && printf w; [ -x {p} ] && printf x; echo; \
         [ -L {p} ] && printf 'L:%s\\nR:%s\\n' \"$(readlink -- {p})\" \"$(readlink -m -- {p})\"; "
    );
    if let Some(algorithm) = checksum.filter(|a| CHECKSUM_ALGORITHMS.contains(a)) {
        let regular = if follow {
            format!("[ -f {p} ]")
        } else {
            format!("[ ! -L {p} ] && [ -f {p} ]")
        };
        script.push_str(&format!(
            "{regular} && [ -r {p} ] && {{ printf C:; {algorithm}sum < {p}; echo; }}; "
        ));
    }
    // Exit 0 whatever the last test said: callers read the lines, not the status.
    script.push_str(":; else echo 'S:missing'; fi");
    script
}

/// Parses the output of [`stat_script`].
pub fn parse_stat(output: &str) -> Option<FileStat> {
    let mut stat: Option<FileStat> = None;
    let mut link = None;
    let mut real_path = None;
    let mut access = None;
    let mut checksum = None;
    let mut attr_flags = None;
    let mut selinux = false;
    for line in output.lines() {
        if let Some(rest) = line.strip_prefix("S:") {
            if rest == "missing" {
                return None;
            }
            stat = Some(parse_stat_line(rest)?);
        } else if let Some(rest) = line.strip_prefix("L:") {
            link = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("R:") {
            real_path = Some(rest.to_string());
        } else if let Some(rest) = line.strip_prefix("P:") {
            access = Some(Access {
                readable: rest.contains('r'),
                writeable: rest.contains('w'),
                executable: rest.contains('x'),
            });
        } else if let Some(rest) = line.strip_prefix("C:") {
            // `sha1sum` prints "HASH  -": the hash is the first word.
            checksum = rest.split_whitespace().next().map(str::to_string);
        } else if let Some(rest) = line.strip_prefix("A:") {
            attr_flags = Some(rest.trim().to_string());
        } else if line == "Z:1" {
            selinux = true;
        }
    }
    stat.map(|mut s| {
        s.link_target = link;
        s.checksum = checksum;
        s.details.real_path = real_path;
        s.details.access = access;
        s.details.attr_flags = attr_flags;
        s.details.selinux = selinux;
        s
    })
}

/// Parses one line printed with [`STAT_FORMAT`] (without its `S:` prefix). Lines from
/// a `stat` that lacks the later fields still give the basics.
pub fn parse_stat_line(line: &str) -> Option<FileStat> {
    let fields: Vec<&str> = line.split('|').collect();
    if fields.len() < 9 {
        return None;
    }
    let kind = match fields[0] {
        "regular file" | "regular empty file" => FileKind::File,
        "directory" => FileKind::Directory,
        "symbolic link" => FileKind::Link,
        _ => FileKind::Other,
    };
    let mtime: i64 = fields[7].parse().unwrap_or(0);
    let atime: i64 = fields[8].parse().unwrap_or(0);
    let field = |i: usize| fields.get(i).copied().unwrap_or("");
    let time =
        |i: usize, secs: i64| Timestamp::parse(field(i)).unwrap_or(Timestamp { secs, nanos: 0 });
    Some(FileStat {
        kind,
        mode: u32::from_str_radix(fields[1], 8).unwrap_or(0),
        uid: fields[2].parse().unwrap_or(0),
        gid: fields[3].parse().unwrap_or(0),
        owner: fields[4].to_string(),
        group: fields[5].to_string(),
        size: fields[6].parse().unwrap_or(0),
        mtime,
        atime,
        link_target: None,
        checksum: None,
        details: StatDetails {
            file_type: fields[0].to_string(),
            mtime: time(9, mtime),
            atime: time(10, atime),
            ctime: time(11, mtime),
            inode: field(12).parse().unwrap_or(0),
            dev: field(13).parse().unwrap_or(0),
            nlink: field(14).parse().unwrap_or(0),
            access: None,
            real_path: None,
            attr_flags: None,
            selinux: false,
        },
    })
}

/// Normalises a path as Python's `os.path.normpath` does: no `.`, no doubled slashes,
/// `..` folded where it can be.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else {
        usize::from(path.starts_with('/'))
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            ".." if slashes > 0 => {}
            _ => parts.push(part),
        }
    }
    let joined = "/".repeat(slashes) + &parts.join("/");
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// Parses a `mode:` value as Ansible does: an integer is taken as written (YAML's
/// `0644` is already octal), a string of digits is octal, and symbolic modes
/// (`u=rw,g=r,o=r`, `u+x`, `a-w`) apply to `current`.
pub fn parse_mode(value: &Json, current: Option<u32>, is_dir: bool) -> Result<u32, String> {
    match value {
        Json::Number(n) => n
            .as_u64()
            .map(|m| m as u32)
            .filter(|m| *m <= 0o7777)
            .ok_or_else(|| format!("mode must be in octal or symbolic form, got {n}")),
        Json::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
                return u32::from_str_radix(s, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or_else(|| format!("mode must be in octal or symbolic form, got '{s}'"));
            }
            symbolic_mode(s, current.unwrap_or(0), is_dir)
        }
        other => Err(format!(
            "mode must be in octal or symbolic form, got {other}"
        )),
    }
}

/// Applies a symbolic mode (`u=rw,g+x,o-rwx,a=r`) to `current`.
fn symbolic_mode(spec: &str, current: u32, is_dir: bool) -> Result<u32, String> {
    let bad = || format!("bad symbolic permission for mode: {spec}");
    let mut mode = current & 0o7777;
    for clause in spec.split(',') {
        let op_at = clause.find(['=', '+', '-']).ok_or_else(bad)?;
        let (who, rest) = clause.split_at(op_at);
        let mut chars = rest.chars();
        let op = chars.next().ok_or_else(bad)?;
        let perms: String = chars.collect();
        let who = if who.is_empty() { "a" } else { who };
        let mut mask = 0u32;
        for w in who.chars() {
            mask |= match w {
                'u' => 0o4700,
                'g' => 0o2070,
                'o' => 0o1007,
                'a' => 0o7777,
                _ => return Err(bad()),
            };
        }
        let mut bits = 0u32;
        for p in perms.chars() {
            bits |= match p {
                'r' => 0o444,
                'w' => 0o222,
                'x' => 0o111,
                'X' if is_dir || mode & 0o111 != 0 => 0o111,
                'X' => 0,
                's' => 0o6000,
                't' => 0o1000,
                _ => return Err(bad()),
            };
        }
        let bits = bits & mask;
        mode = match op {
            '=' => (mode & !(mask & 0o7777)) | bits,
            '+' => mode | bits,
            '-' => mode & !bits,
            _ => return Err(bad()),
        };
    }
    Ok(mode)
}

module_args! {
    /// Wanted permissions, ownership, file attributes and SELinux context of a path:
    /// the parameters of Ansible's `add_file_common_args`.
    #[derive(Clone, Default)]
    pub struct Attributes {
        /// Wanted mode, as given (octal or symbolic).
        mode: Option<Json>,
        /// Wanted owner (name or uid).
        owner: Option<String>,
        /// Wanted group (name or gid).
        group: Option<String>,
        /// Whether a write may go in place when the atomic rename fails (a file
        /// bind-mounted in a container is busy).
        unsafe_writes: bool => .default_bool(false),
        /// `chattr` flags: `=flags` (or just `flags`), `+flags` or `-flags`.
        attributes: Option<String> => .aliases(&["attr"]),
        /// SELinux user, role, type and level: applied only where SELinux is enabled.
        seuser: Option<String>,
        /// SELinux role.
        serole: Option<String>,
        /// SELinux type.
        setype: Option<String>,
        /// SELinux level.
        selevel: Option<String>,
    }
}

impl Attributes {
    /// Whether the mode is `preserve`: the source's own mode (copy and template).
    pub fn wants_preserve(&self) -> bool {
        self.mode.as_ref().and_then(Json::as_str) == Some("preserve")
    }

    /// These attributes with a `preserve` mode made the source's `mode` (written
    /// `0%03o`, as Ansible's copy action passes it on); unchanged otherwise.
    pub fn preserving(&self, mode: Option<u32>) -> Attributes {
        let mut attributes = self.clone();
        if let Some(mode) = mode.filter(|_| self.wants_preserve()) {
            attributes.mode = Some(Json::String(format!("0{mode:03o}")));
        }
        attributes
    }

    /// Attributes with only a mode (for files a module creates itself).
    pub fn with_mode(mode: Json) -> Attributes {
        Attributes {
            mode: Some(mode),
            ..Attributes::default()
        }
    }

    /// Attributes for a file made for someone: mode, owner and group.
    pub fn owned(mode: Json, owner: &str, group: &str) -> Attributes {
        Attributes {
            mode: Some(mode),
            owner: Some(owner.to_string()),
            group: Some(group.to_string()),
            ..Attributes::default()
        }
    }

    /// The same attributes with `mode` instead.
    pub fn replacing_mode(&self, mode: Json) -> Attributes {
        Attributes {
            mode: Some(mode),
            ..self.clone()
        }
    }

    /// The wanted mode, as given.
    pub fn mode(&self) -> Option<&Json> {
        self.mode.as_ref()
    }

    /// The wanted owner.
    pub fn owner(&self) -> Option<&str> {
        self.owner.as_deref()
    }

    /// The wanted group.
    pub fn group(&self) -> Option<&str> {
        self.group.as_deref()
    }

    /// Whether any attribute is asked for: mode, owner, group, `chattr` flags or a
    /// SELinux context.
    pub fn asks_anything(&self) -> bool {
        self.mode.is_some()
            || self.owner.is_some()
            || self.group.is_some()
            || self.chattr().is_some()
            || self.wants_context()
    }

    /// Whether a SELinux context is asked for.
    fn wants_context(&self) -> bool {
        [&self.seuser, &self.serole, &self.setype, &self.selevel]
            .iter()
            .any(|part| part.is_some())
    }

    /// `chattr`'s operator and flags, as Ansible splits `attributes`: `=` unless it
    /// starts with `+` or `-`; `None` when there are no flags.
    fn chattr(&self) -> Option<(char, &str)> {
        let wanted = self.attributes.as_deref()?;
        let (op, flags) = match wanted.chars().next() {
            Some(op @ ('+' | '-')) => (op, &wanted[1..]),
            _ => ('=', wanted),
        };
        Some((op, flags)).filter(|(_, flags)| !flags.is_empty())
    }

    /// Lines to add to a query after [`stat_script`] of `path`, read by
    /// [`parse_stat`]: the `lsattr` flags when `attributes` is given and `chattr` is
    /// there (`A:`), and whether SELinux is enabled when a context is asked for
    /// (`Z:1`). Empty when neither is asked for.
    pub fn probe(&self, path: &str) -> String {
        let p = quote(path);
        let mut script = String::new();
        if self.chattr().is_some() {
            script.push_str(&format!(
                "command -v chattr >/dev/null 2>&1 && printf 'A:%s\\n' \"$(lsattr -d -- {p} 2>/dev/null | cut -d' ' -f1 | tr -d -)\"; "
            ));
        }
        if self.wants_context() {
            script.push_str("[ -e /sys/fs/selinux/enforce ] && echo Z:1; ");
        }
        if !script.is_empty() {
            script.push_str(":; ");
        }
        script
    }

    /// The shell commands that bring `path` (currently `current`) to these attributes;
    /// empty when nothing must change, with the before/after states for diffs.
    /// `chattr` flags are compared as Ansible compares them (the `lsattr` flags
    /// against the given ones, `-` always applied), and only where the query found
    /// `chattr`. A SELinux context is left alone where SELinux is disabled, as
    /// Ansible does; where it is enabled bosun refuses rather than ignore it.
    pub fn changes(&self, path: &str, current: &FileStat) -> Result<AttributeChanges, String> {
        let mut commands = Vec::new();
        let mut before = Map::new();
        let mut after = Map::new();
        let p = quote(path);
        if let Some(mode) = &self.mode {
            let wanted = parse_mode(
                mode,
                Some(current.mode),
                current.kind == FileKind::Directory,
            )?;
            if wanted != current.mode & 0o7777 {
                commands.push(format!("chmod {wanted:04o} -- {p}"));
                before.insert(
                    "mode".into(),
                    json!(format!("{:04o}", current.mode & 0o7777)),
                );
                after.insert("mode".into(), json!(format!("{wanted:04o}")));
            }
        }
        let differs =
            |wanted: &str, name: &str, id: u32| wanted != name && wanted != id.to_string();
        if let Some(owner) = self
            .owner
            .as_ref()
            .filter(|o| differs(o, &current.owner, current.uid))
        {
            commands.push(format!("chown -h {} -- {p}", quote(owner)));
            before.insert("owner".into(), json!(current.owner));
            after.insert("owner".into(), json!(owner));
        }
        if let Some(group) = self
            .group
            .as_ref()
            .filter(|g| differs(g, &current.group, current.gid))
        {
            commands.push(format!("chgrp -h {} -- {p}", quote(group)));
            before.insert("group".into(), json!(current.group));
            after.insert("group".into(), json!(group));
        }
        if let (Some((op, flags)), Some(existing)) = (self.chattr(), &current.details.attr_flags)
            && (existing != flags || op == '-')
        {
            commands.push(format!("chattr {} -- {p}", quote(&format!("{op}{flags}"))));
            before.insert("attributes".into(), json!(existing));
            after.insert("attributes".into(), json!(format!("{op}{flags}")));
        }
        if self.wants_context() && current.details.selinux {
            return Err(format!(
                "{path}: SELinux is enabled on this host and bosun does not set SELinux contexts (seuser, serole, setype, selevel)"
            ));
        }
        Ok(AttributeChanges {
            commands,
            before,
            after,
        })
    }

    /// The script lines a write runs after its rename: the `chattr` flags set on the
    /// new file where `chattr` is there (exit status 93 when that fails).
    pub fn after_write(&self, dest: &str) -> String {
        match self.chattr() {
            Some((op, flags)) => format!(
                "if command -v chattr >/dev/null 2>&1; then chattr {} -- {} || exit 93; fi; ",
                quote(&format!("{op}{flags}")),
                quote(dest)
            ),
            None => String::new(),
        }
    }
}

/// What must change on a path's attributes.
#[derive(Debug, Default)]
pub struct AttributeChanges {
    /// Shell commands to run (empty: nothing to change).
    pub commands: Vec<String>,
    /// The changed attributes as they are.
    pub before: Map<String, Json>,
    /// The changed attributes as they will be.
    pub after: Map<String, Json>,
}

/// What a finished write did.
#[derive(Debug, Default)]
pub struct Written {
    /// Path of the backup copy, when one was made.
    pub backup_file: Option<String>,
    /// The destination as it is after the write (read in the same round trip).
    pub stat: Option<FileStat>,
}

/// Why an atomic write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The transport failed.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The write itself failed (validation, permissions ...); the old file is intact.
    #[error("{0}")]
    Failed(String),
}

/// A fresh temporary name in `dest`'s directory (`.name.bosun.<pid>.<nonce>.tmp`):
/// written there, the file is renamed over `dest` on the same file system.
pub fn temp_beside(dest: &str) -> String {
    let (dir, name) = match dest.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((dir, name)) => (dir, name),
        None => (".", dest),
    };
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{}/.{name}.bosun.{}.{nonce}.tmp",
        dir.trim_end_matches('/'),
        std::process::id()
    )
}

/// Writes `data` to `dest` atomically. `current` is dest's state before (to keep its
/// owner and mode when no new ones are given); `validate` (a command with `%s`) runs
/// on the new content before it replaces anything; `backup` keeps the old file as
/// `dest.<pid>.<timestamp>~`.
pub async fn write_atomic(
    ctx: &super::Target<'_>,
    dest: &str,
    data: &[u8],
    current: Option<&FileStat>,
    attributes: &Attributes,
    validate: Option<&str>,
    backup: bool,
) -> Result<Written, WriteError> {
    let temp = temp_beside(dest);
    if let Some(command) = validate
        && !command.contains("%s")
    {
        return Err(WriteError::Failed(
            "validate must contain %s: ".to_string() + command,
        ));
    }
    let t = quote(&temp);
    let d = quote(dest);
    let mut script = String::new();
    // The content travels as the script's stdin where the connection can take it: the
    // write, its checks and the rename are then one round trip.
    let inline = ctx.conn.takes_stdin();
    // The mode the file must end with; `None`: a new file with no mode asked for, which
    // gets what the umask gives, as Ansible's does.
    let mode = match (&attributes.mode, current) {
        (Some(mode), _) => {
            Some(parse_mode(mode, current.map(|c| c.mode), false).map_err(WriteError::Failed)?)
        }
        (None, Some(existing)) => Some(existing.mode & 0o7777),
        (None, None) => None,
    };
    let failed_to_write = format!("|| {{ rm -f -- {t}; exit 94; }}; ");
    match (inline, mode) {
        // The bytes are written private (0600) from the first byte on, then given their
        // mode. `cat` reads the inherited stdin: reopening /dev/stdin (as `install`
        // would) fails for a become user that does not own the pipe.
        (true, Some(mode)) => {
            script.push_str(&format!(
                "( umask 077; cat > {t} ) {failed_to_write}chmod {mode:04o} -- {t} {failed_to_write}"
            ));
        }
        (true, None) => script.push_str(&format!("cat > {t} {failed_to_write}")),
        (false, _) => {
            ctx.conn.put(data, &temp, Some(0o600)).await?;
            match mode {
                Some(mode) => script.push_str(&format!("chmod {mode:04o} -- {t}; ")),
                None => script.push_str(&format!(
                    "chmod $(printf '%o' $(( 0666 & ~$(umask) ))) -- {t}; "
                )),
            }
        }
    }
    if inline {
        script.push_str(&check_received(&t, data));
    }
    if let Some(command) = validate {
        script.push_str(&format!(
            "out=$({} 2>&1) || {{ rc=$?; rm -f -- {t}; printf 'failed to validate: rc:%s error:%s' \"$rc\" \"$out\" >&2; exit 97; }}; ",
            command.replace("%s", &t)
        ));
    }
    let owner = attributes
        .owner
        .clone()
        .or_else(|| current.map(|c| c.uid.to_string()));
    let group = attributes
        .group
        .clone()
        .or_else(|| current.map(|c| c.gid.to_string()));
    if let Some(owner) = owner {
        script.push_str(&format!(
            "chown {} -- {t} || {{ rm -f -- {t}; exit 98; }}; ",
            quote(&owner)
        ));
    }
    if let Some(group) = group {
        script.push_str(&format!(
            "chgrp {} -- {t} || {{ rm -f -- {t}; exit 98; }}; ",
            quote(&group)
        ));
    }
    let backup_file = if backup && current.is_some() {
        let stamp = crate::clock::backup_stamp();
        let path = format!("{dest}.{}.{stamp}~", std::process::id());
        // Copied beside it first: a backup under its final name is always whole.
        let (b, part) = (quote(&path), quote(&format!("{path}.part")));
        script.push_str(&format!(
            "{{ cp -p -- {d} {part} && mv -f -- {part} {b}; }} || {{ rm -f -- {t} {part}; exit 96; }}; "
        ));
        Some(path)
    } else {
        None
    };
    if attributes.unsafe_writes {
        // As Ansible's `_unsafe_writes`: when the rename fails (a busy bind mount), the
        // bytes go in place and the file takes the temporary file's mode and owners.
        script.push_str(&format!(
            "mv -f -- {t} {d} 2>/dev/null || {{ cat -- {t} > {d} && chmod --reference={t} -- {d} && chown --reference={t} -- {d}; rc=$?; rm -f -- {t}; [ $rc = 0 ] || exit 95; }}; "
        ));
    } else {
        script.push_str(&format!(
            "mv -f -- {t} {d} || {{ rm -f -- {t}; exit 95; }}; "
        ));
    }
    script.push_str(&attributes.after_write(dest));
    // The content's checksum is known here: the target need not compute it.
    script.push_str(&stat_script(dest, false, false));
    let mut command = Command::new(script);
    if inline {
        command.stdin = Some(data.to_vec());
    }
    let out = ctx.conn.exec(&command).await?;
    if out.rc != 0 {
        let stderr = out.stderr_text();
        return Err(WriteError::Failed(if stderr.trim().is_empty() {
            format!("cannot write {dest} (rc={})", out.rc)
        } else {
            stderr.trim().to_string()
        }));
    }
    let mut stat = parse_stat(&out.stdout_text());
    if let Some(stat) = stat.as_mut().filter(|s| s.kind == FileKind::File) {
        stat.checksum = Some(sha1_hex(data));
    }
    Ok(Written { backup_file, stat })
}

/// Writes `data` to `path` atomically with `mode`, owned by the connecting user; a
/// failed write is the inner error.
pub async fn write_with_mode(
    ctx: &super::Target<'_>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> Result<Result<(), String>, ConnectionError> {
    let attributes = Attributes::with_mode(Json::String(format!("{mode:04o}")));
    match write_atomic(ctx, path, data, None, &attributes, None, false).await {
        Ok(_) => Ok(Ok(())),
        Err(WriteError::Connection(err)) => Err(err),
        Err(WriteError::Failed(msg)) => Ok(Err(msg)),
    }
}

/// Runs `script` on the target; its trimmed standard error is the inner error when it
/// fails.
pub async fn run_checked(
    ctx: &super::Target<'_>,
    script: String,
) -> Result<Result<(), String>, ConnectionError> {
    let out = ctx.conn.exec(&Command::new(script)).await?;
    Ok(if out.rc == 0 {
        Ok(())
    } else {
        Err(out.stderr_text().trim().to_string())
    })
}

/// A `diff` entry in Ansible's shape for a content change.
pub fn content_diff(path: &str, before: &str, after: &str) -> Json {
    json!({
        "before": before,
        "after": after,
        "before_header": path,
        "after_header": path,
    })
}

/// The result fields Ansible returns about a path (`mode`, `owner`, `uid` ...).
pub fn describe(path: &str, stat: &FileStat) -> Map<String, Json> {
    let mut fields = Map::new();
    fields.insert("path".into(), json!(path));
    fields.insert("mode".into(), json!(format!("{:04o}", stat.mode & 0o7777)));
    fields.insert("owner".into(), json!(stat.owner));
    fields.insert("group".into(), json!(stat.group));
    fields.insert("uid".into(), json!(stat.uid));
    fields.insert("gid".into(), json!(stat.gid));
    fields.insert("size".into(), json!(stat.size));
    fields.insert("state".into(), json!(stat.kind.state()));
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_as_ansible_reads_them() {
        assert_eq!(
            parse_mode(&json!(420), None, false),
            Ok(0o644),
            "YAML 0644 arrives as 420"
        );
        assert_eq!(parse_mode(&json!("0644"), None, false), Ok(0o644));
        assert_eq!(parse_mode(&json!("755"), None, false), Ok(0o755));
        assert_eq!(
            parse_mode(&json!("u=rw,g=r,o=r"), Some(0o777), false),
            Ok(0o644)
        );
        assert_eq!(parse_mode(&json!("u+x"), Some(0o644), false), Ok(0o744));
        assert_eq!(parse_mode(&json!("a-w"), Some(0o664), false), Ok(0o444));
        assert_eq!(parse_mode(&json!("go-rwx"), Some(0o755), false), Ok(0o700));
        assert_eq!(parse_mode(&json!("a+X"), Some(0o644), true), Ok(0o755));
        assert_eq!(parse_mode(&json!("a+X"), Some(0o644), false), Ok(0o644));
        assert!(parse_mode(&json!("u=rq"), None, false).is_err());
        assert!(parse_mode(&json!("0999"), None, false).is_err());
    }

    fn attributes(value: Json) -> Attributes {
        crate::modules::typed::from_json(value).expect("valid attributes")
    }

    #[test]
    fn attribute_params_come_from_the_struct() {
        let names: Vec<&str> = ATTRIBUTE_PARAMS.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "mode",
                "owner",
                "group",
                "unsafe_writes",
                "attributes",
                "seuser",
                "serole",
                "setype",
                "selevel"
            ]
        );
        assert_eq!(ATTRIBUTE_PARAMS[4].aliases, ["attr"]);
        let given = attributes(json!({"attr": "+i", "unsafe_writes": "yes"}));
        assert!(given.unsafe_writes);
        assert_eq!(given.chattr(), Some(('+', "i")));
    }

    #[test]
    fn chattr_flags_change_as_in_ansible() {
        let mut stat = parse_stat("S:regular file|644|0|0|root|root|1|1|1\nA:e\n").expect("exists");
        assert_eq!(stat.details.attr_flags.as_deref(), Some("e"));
        let same = attributes(json!({"attributes": "e"}))
            .changes("/f", &stat)
            .expect("plans");
        assert!(same.commands.is_empty());
        let add = attributes(json!({"attributes": "+i"}))
            .changes("/f", &stat)
            .expect("plans");
        assert_eq!(add.commands, ["chattr +i -- /f"]);
        assert_eq!(add.after["attributes"], json!("+i"));
        let remove = attributes(json!({"attributes": "-e"}))
            .changes("/f", &stat)
            .expect("plans");
        assert_eq!(remove.commands.len(), 1, "a removal is always applied");
        stat.details.attr_flags = None;
        let no_chattr = attributes(json!({"attributes": "i"}))
            .changes("/f", &stat)
            .expect("plans");
        assert!(
            no_chattr.commands.is_empty(),
            "without chattr nothing changes"
        );
    }

    #[test]
    fn selinux_contexts_apply_only_where_selinux_is_enabled() {
        let wanted = attributes(json!({"setype": "etc_t"}));
        assert!(wanted.probe("/f").contains("/sys/fs/selinux/enforce"));
        assert!(attributes(json!({})).probe("/f").is_empty());
        let mut stat = parse_stat("S:regular file|644|0|0|root|root|1|1|1\n").expect("exists");
        assert!(
            wanted
                .changes("/f", &stat)
                .expect("disabled")
                .commands
                .is_empty()
        );
        stat = parse_stat("S:regular file|644|0|0|root|root|1|1|1\nZ:1\n").expect("exists");
        assert!(wanted.changes("/f", &stat).is_err());
    }

    #[test]
    fn stat_output_parses() {
        let stat =
            parse_stat("S:regular file|644|0|0|root|root|12|1700000000|1700000001\nC:abc  -\n\n")
                .expect("exists");
        assert_eq!(stat.kind, FileKind::File);
        assert_eq!(stat.mode, 0o644);
        assert_eq!(stat.size, 12);
        assert_eq!(stat.checksum.as_deref(), Some("abc"));
        assert!(parse_stat("S:missing\n").is_none());
        let unreadable =
            parse_stat("S:regular file|600|0|0|root|root|1|1|1\nC:\n").expect("exists");
        assert_eq!(unreadable.checksum, None);
        let link =
            parse_stat("S:symbolic link|777|0|0|root|root|3|1|1\nL:/target\n").expect("exists");
        assert_eq!(link.link_target.as_deref(), Some("/target"));
    }

    #[test]
    fn extended_stat_output_parses() {
        let out = "S:fifo|4755|1000|100|alice|users|0|1700000000|1700000001|\
                   1700000000.250000000|1700000001.000000000|1700000002.5|42|2049|3\n\
                   P:rx\nL:../t\nR:/abs/t\nC:\n";
        let stat = parse_stat(out).expect("exists");
        assert_eq!(stat.kind, FileKind::Other);
        assert_eq!(stat.mode, 0o4755);
        assert_eq!(stat.checksum, None, "an empty checksum is none");
        let details = &stat.details;
        assert_eq!(details.file_type, "fifo");
        assert_eq!((details.inode, details.dev, details.nlink), (42, 2049, 3));
        assert_eq!(details.mtime.as_f64(), 1_700_000_000.25);
        assert_eq!(
            details.ctime,
            Timestamp {
                secs: 1_700_000_002,
                nanos: 500_000_000
            }
        );
        assert_eq!(details.real_path.as_deref(), Some("/abs/t"));
        assert_eq!(stat.link_target.as_deref(), Some("../t"));
        let access = details.access.expect("asked");
        assert!(access.readable && !access.writeable && access.executable);
    }

    #[test]
    fn timestamps_parse() {
        for (text, expected) in [
            ("12", Some((12, 0))),
            ("12.5", Some((12, 500_000_000))),
            ("12.1234567890", Some((12, 123_456_789))),
            ("-3.0", Some((-3, 0))),
            ("?", None),
            ("1.x", None),
        ] {
            let parsed = Timestamp::parse(text).map(|t| (t.secs, t.nanos));
            assert_eq!(parsed, expected, "{text}");
        }
    }

    #[test]
    fn normpath_matches_python() {
        for (path, expected) in [
            ("", "."),
            ("/", "/"),
            ("//x", "//x"),
            ("///x//y/", "/x/y"),
            ("a/./b/../c", "a/c"),
            ("../a/..", ".."),
            ("/../a", "/a"),
            ("dest/host//etc/x", "dest/host/etc/x"),
            ("./", "."),
        ] {
            assert_eq!(normpath(path), expected, "{path}");
        }
    }
}
