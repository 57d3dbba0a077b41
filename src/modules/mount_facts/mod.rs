//! `mount_facts` (ansible.builtin, new in 2.18): the mounts the target's sources list
//! (`/etc/mtab`, `/proc/mounts`, `/etc/fstab` ... or `mount`'s output), filtered by
//! device and type, with their sizes and UUIDs, as `ansible_facts.mount_points` (one per
//! mount point, the first source's) and `aggregate_mounts` (every one, on request).
//!
//! It only reads, so it has nothing to decide or apply: it implements [`Module`]
//! directly, like `setup`. Without Python on the target, it asks in one round trip for
//! the sources (and their real paths, so `/etc/mtab` and `/proc/mounts` count once, as
//! in Ansible), in a second for the devices of `UUID=` entries (only when there are
//! some), and in the last for each kept mount's `statvfs` (through `stat -f`) and its
//! partition's UUID; the parsing and filtering happen here, unit-tested.

mod facts;
mod parse;

use async_trait::async_trait;
use serde_json::{Map, Value as Json, json};

use super::typed::{TypedArgs, arg_enum, module_args};
use super::{Args, Module, ModuleContext, ModuleError, Outcome, Param};
use crate::connection::{Command, quote};
use crate::template::pyfmt::py_repr;
use facts::{Found, Measured};

arg_enum! {
    /// What a timeout does.
    pub enum OnTimeout {
        /// Fail the task.
        Error = "error",
        /// Warn and go on without the value.
        Warn = "warn",
        /// Go on without the value.
        Ignore = "ignore",
    }
}

module_args! {
    /// `mount_facts`'s arguments.
    pub struct MountFactsArgs {
        /// Shell patterns a mount's device must match (all when none).
        devices: Vec<String>,
        /// Shell patterns a mount's type must match (all when none).
        fstypes: Vec<String>,
        /// Files to read, `mount`, or the aliases `all`, `static` and `dynamic`.
        sources: Vec<String>,
        /// The `mount` binary read when the dynamic sources list nothing; null never.
        mount_binary: Json => .default_str("mount"),
        /// Seconds each size (and command) may take; none when null.
        timeout: Option<f64>,
        /// What a timeout does.
        on_timeout: OnTimeout => .default_str("error"),
        /// Whether `aggregate_mounts` lists every mount; when not set, repeated mount
        /// points are warned about.
        include_aggregate_mounts: Option<bool>,
    }
}

/// Files that list what should be mounted.
const STATIC_SOURCES: [&str; 3] = ["/etc/fstab", "/etc/vfstab", "/etc/filesystems"];
/// Files that list what is mounted now.
const DYNAMIC_SOURCES: [&str; 3] = ["/etc/mtab", "/proc/mounts", "/etc/mnttab"];

/// Gathers mount facts.
pub struct MountFacts;

#[async_trait]
impl Module for MountFacts {
    fn name(&self) -> &'static str {
        "mount_facts"
    }

    fn params(&self) -> &'static [Param] {
        MountFactsArgs::PARAMS
    }

    async fn run(&self, ctx: &ModuleContext<'_>, args: &Args) -> Result<Outcome, ModuleError> {
        let args = MountFactsArgs::from_args(args).map_err(ModuleError::Failed)?;
        if let Some(seconds) = args.timeout.filter(|s| *s <= 0.0) {
            return Err(ModuleError::Failed(format!(
                "argument 'timeout' must be a positive number or null, not {}",
                py_repr(&minijinja::Value::from(seconds))
            )));
        }
        let mount_binary = match &args.mount_binary {
            Json::Null => None,
            Json::String(binary) => Some(binary.clone()),
            other => {
                return Err(ModuleError::Failed(format!(
                    "argument 'mount_binary' must be a string or null, not {}",
                    crate::template::pyfmt::py_str(&minijinja::Value::from_serialize(other))
                )));
            }
        };
        let sources = sources(&args.sources).map_err(ModuleError::Failed)?;
        let mut warnings = Vec::new();
        if facts::has_duplicates(&sources) {
            warnings.push(format!(
                "mount_facts option 'sources' contains duplicate entries, repeat sources will be ignored: {}",
                py_repr(&minijinja::Value::from_serialize(&sources))
            ));
        }
        let read = read_sources(ctx, &sources, mount_binary.as_deref()).await?;
        let mut found =
            facts::gather(&sources, &read, mount_binary.is_some()).map_err(ModuleError::Failed)?;
        if let (true, Some(binary)) = (found.needs_mount_binary, mount_binary.as_deref()) {
            let stdout = run_mount(ctx, binary).await?;
            found.add_mount_output(&stdout);
        }
        let devices = resolve_uuids(ctx, &found).await?;
        let kept = found.filter(&devices, &args.devices, &args.fstypes);
        let measured = measure(ctx, &kept, args.timeout).await?;
        let (mounts, timeouts) =
            facts::finish(kept, measured, args.on_timeout).map_err(ModuleError::Failed)?;
        warnings.extend(timeouts);
        let (mount_points, aggregate, repeats) =
            facts::deduplicate(mounts, args.include_aggregate_mounts);
        if let Some(repeats) = repeats {
            warnings.push(repeats);
        }
        let mut outcome = super::ok(false);
        outcome.insert(
            "ansible_facts".into(),
            json!({"mount_points": Json::Object(mount_points), "aggregate_mounts": aggregate}),
        );
        if !warnings.is_empty() {
            outcome.insert("warnings".into(), json!(warnings));
        }
        Ok(outcome)
    }
}

/// The files (or `mount`) to read, in order, the aliases expanded as Ansible does.
fn sources(given: &[String]) -> Result<Vec<String>, String> {
    let all = ["all".to_string()];
    let given = if given.is_empty() { &all[..] } else { given };
    let mut sources = Vec::new();
    for source in given {
        if source.is_empty() {
            return Err("sources contains an empty string".into());
        }
        if source == "dynamic" || source == "all" {
            sources.extend(DYNAMIC_SOURCES.map(String::from));
        }
        if source == "static" || source == "all" {
            sources.extend(STATIC_SOURCES.map(String::from));
        } else if source != "dynamic" {
            sources.push(source.clone());
        }
    }
    Ok(sources)
}

/// What the first round trip brings back: each source's real path and text, and
/// `mount`'s output when a source asks for it.
pub struct Read {
    /// Each file source's real path (`realpath -m`), in one process so that
    /// `/proc/self` resolves the same way for all.
    real: Vec<String>,
    /// Each file source's text (empty when unreadable).
    texts: Vec<String>,
    /// `mount`'s output, when `mount` is one of the sources.
    mount: Option<String>,
}

/// Reads every source in one round trip.
async fn read_sources(
    ctx: &ModuleContext<'_>,
    sources: &[String],
    mount_binary: Option<&str>,
) -> Result<Read, ModuleError> {
    let files: Vec<&String> = sources.iter().filter(|s| *s != "mount").collect();
    let mut script = String::from("export LANG=C LC_ALL=C\n");
    if !files.is_empty() {
        let quoted: Vec<String> = files.iter().map(|f| quote(f)).collect();
        script.push_str(&format!(
            "echo @@real; realpath -m -- {}\n",
            quoted.join(" ")
        ));
        for file in &files {
            script.push_str(&format!(
                "echo @@file; [ -r {q} ] && [ -f {q} ] && base64 < {q} | tr -d '\\n'; echo\n",
                q = quote(file)
            ));
        }
    }
    if sources.iter().any(|s| s == "mount") {
        let binary = mount_binary.unwrap_or("mount");
        script.push_str(&format!("echo @@mount; {}\n", mount_command(binary)));
    }
    let out = exec(ctx, script).await?;
    let text = out.stdout_text();
    let mut real = Vec::new();
    let mut texts = Vec::new();
    let mut section = "";
    let mut mount_lines: Option<Vec<&str>> = None;
    for line in text.lines() {
        match line {
            "@@real" | "@@file" => section = line,
            "@@mount" => {
                section = line;
                mount_lines = Some(Vec::new());
            }
            _ if section == "@@real" => real.push(line.to_string()),
            _ if section == "@@file" => texts.push(decode(line)),
            _ => {
                if let Some(lines) = mount_lines.as_mut() {
                    lines.push(line);
                }
            }
        }
    }
    let mount = mount_lines.map(|lines| lines.join("\n"));
    Ok(Read { real, texts, mount })
}

/// `mount`'s output in the same shell, or `@@nomount` when it cannot be found or fails.
fn mount_command(binary: &str) -> String {
    format!(
        "b=$(command -v {q} 2>/dev/null); if [ -z \"$b\" ]; then echo @@missing; else \"$b\" || echo @@failed; fi",
        q = quote(binary)
    )
}

/// Runs the mount binary after the dynamic sources listed nothing.
async fn run_mount(ctx: &ModuleContext<'_>, binary: &str) -> Result<String, ModuleError> {
    let out = exec(ctx, mount_command(binary)).await?;
    let text = out.stdout_text();
    if text.lines().any(|l| l == "@@missing") {
        return Err(ModuleError::Failed(format!(
            "Failed to find required executable \"{binary}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        )));
    }
    if text.lines().any(|l| l == "@@failed") {
        return Err(ModuleError::Failed(format!("Failed to execute {binary}")));
    }
    Ok(text)
}

/// The devices that `UUID=` entries name, from `blkid --uuid` (its output as it is,
/// newline included, as Ansible keeps it); a second round trip, only when needed.
async fn resolve_uuids(
    ctx: &ModuleContext<'_>,
    found: &Found,
) -> Result<Map<String, Json>, ModuleError> {
    let uuids = found.uuids();
    if uuids.is_empty() {
        return Ok(Map::new());
    }
    let mut script = String::from("b=$(command -v blkid 2>/dev/null)\n");
    for uuid in &uuids {
        script.push_str(&format!(
            "echo @@uuid; [ -n \"$b\" ] && \"$b\" --uuid {} | base64 | tr -d '\\n'; echo\n",
            quote(uuid)
        ));
    }
    let out = exec(ctx, script).await?;
    let mut devices = Map::new();
    let mut lines = out
        .stdout_text()
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>()
        .into_iter();
    for uuid in uuids {
        for line in lines.by_ref() {
            if line == "@@uuid" {
                break;
            }
        }
        let device = lines.next().map(|l| decode(&l)).unwrap_or_default();
        if !device.is_empty() {
            devices.insert(uuid, Json::String(device));
        }
    }
    Ok(devices)
}

/// Each kept mount's `statvfs` and its partition's UUID, in one round trip.
async fn measure(
    ctx: &ModuleContext<'_>,
    kept: &[facts::Kept],
    timeout: Option<f64>,
) -> Result<Vec<Measured>, ModuleError> {
    if kept.is_empty() {
        return Ok(Vec::new());
    }
    let limit = timeout.map_or(String::new(), |s| format!("timeout {s} "));
    let mut script = String::from(
        "export LANG=C LC_ALL=C\nl=$(command -v lsblk 2>/dev/null); u=$(command -v udevadm 2>/dev/null)\n\
         if [ -n \"$l\" ]; then blk=$(\"$l\" --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null); blkrc=$?; else blk=; blkrc=0; fi\n\
         partuuid() {\n\
           for f in /dev/disk/by-uuid/*; do [ -e \"$f\" ] || [ -L \"$f\" ] || continue\n\
             [ \"$(realpath -m -- \"$f\")\" = \"$1\" ] && { echo \"U${f##*/}\"; return; }; done\n\
           [ \"$blkrc\" = 0 ] || { echo N; return; }\n\
           x=$(printf '%s\\n' \"$blk\" | awk -v d=\"$1\" 'NF == 2 && $1 == d { print $2; exit }')\n\
           [ -n \"$x\" ] && { echo \"U$x\"; return; }\n\
           [ -n \"$u\" ] || { echo N; return; }\n\
           p=$(\"$u\" info --query property --name \"$1\" 2>/dev/null) || { echo N; return; }\n\
           x=$(printf '%s\\n' \"$p\" | sed -n 's/^ID_FS_UUID=//p' | head -n 1)\n\
           if printf '%s\\n' \"$p\" | grep -q '^ID_FS_UUID='; then echo \"U$x\"; else echo N; fi\n\
         }\n",
    );
    for mount in kept {
        script.push_str(&format!(
            "echo @@mount; {limit}stat -f -c '%S %b %a %s %c %d' -- {m} 2>/dev/null; echo \"@@rc $?\"\n",
            m = quote(&mount.mount)
        ));
        match &mount.uuid {
            Some(_) => script.push_str("echo S\n"),
            None => script.push_str(&format!("partuuid {}\n", quote(&mount.device))),
        }
    }
    let out = exec(ctx, script).await?;
    Ok(facts::parse_measures(&out.stdout_text(), kept.len()))
}

/// Runs a script with the task's environment.
async fn exec(
    ctx: &ModuleContext<'_>,
    script: String,
) -> Result<crate::connection::CommandOutput, ModuleError> {
    Ok(ctx.conn.exec(&Command::new(script)).await?)
}

/// Base64 text from the target, decoded (lossy) to text.
fn decode(line: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aliases_expand_in_ansibles_order() {
        let expanded = sources(&[]).expect("valid");
        assert_eq!(
            expanded,
            [
                "/etc/mtab",
                "/proc/mounts",
                "/etc/mnttab",
                "/etc/fstab",
                "/etc/vfstab",
                "/etc/filesystems"
            ]
        );
        assert_eq!(
            sources(&["dynamic".into(), "mount".into()]).expect("valid"),
            ["/etc/mtab", "/proc/mounts", "/etc/mnttab", "mount"]
        );
        assert_eq!(
            sources(&["static".into(), "".into()]),
            Err("sources contains an empty string".to_string())
        );
    }
}
