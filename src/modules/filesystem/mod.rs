//! `filesystem` (community.general): makes a file system on a device or an image file
//! when `blkid` finds none of that type there, grows it (`resizefs`), changes its UUID,
//! or wipes its signatures (`state: absent`), deciding step by step as the module's
//! `main` does. One query reads `blkid`, and for `resizefs` the device's size and the
//! file system's own (its tool's output, parsed as the module's classes parse it).

mod kinds;

use std::collections::HashMap;

use async_trait::async_trait;
use serde_json::json;

use super::contract::{Decision, StateModule};
use super::run;
use super::typed::{Rules, arg_enum, module_args};
use super::{ModuleError, Outcome, Target};
use crate::connection::{Command, quote};
use kinds::Kind;

/// `filesystem`: makes a file system.
pub struct Filesystem;

arg_enum! {
    /// Whether a file system should be there.
    pub enum State {
        Present = "present",
        Absent = "absent",
    }
}

module_args! {
    /// `filesystem`'s arguments.
    pub struct FilesystemArgs {
        state: State => .default_str("present"),
        /// The file system type to make.
        fstype: Option<String> => .aliases(&["type"]).choices(&[
            "bcachefs", "btrfs", "ext2", "ext3", "ext4", "ext4dev", "f2fs", "lvm", "ocfs2",
            "reiserfs", "xfs", "vfat", "swap", "ufs",
        ]),
        /// The block device or image file.
        dev: String => .required().aliases(&["device"]),
        /// Options given to mkfs (split on white space).
        opts: Option<String>,
        /// Make the file system even when another one is there.
        force: bool => .default_bool(false),
        /// Grow the file system into the device's free space.
        resizefs: bool => .default_bool(false),
        /// The file system's UUID to set (not idempotent).
        uuid: Option<String>,
    }
    rules: Rules {
        required_if: &[("state", "present", &["fstype"])],
        mutually_exclusive: &[&["resizefs", "uuid"]],
        ..Rules::NONE
    };
}

/// What the query found: tool paths and the probes' output, by section.
#[derive(Debug, Default)]
pub struct Found {
    /// Whether the device exists.
    exists: bool,
    /// Where each tool looked for is (absent: not found).
    tools: HashMap<String, String>,
    /// Each probe's output, by name (`fs`, `kind`, `devsize`, `mount`, `info`, `version`).
    sections: HashMap<String, String>,
}

impl Found {
    fn section(&self, name: &str) -> &str {
        self.sections.get(name).map_or("", String::as_str)
    }

    /// The tool's path, or `get_bin_path(required=True)`'s failure.
    fn tool(&self, name: &str) -> Result<String, String> {
        self.tools.get(name).cloned().ok_or_else(|| {
            format!(
                "Failed to find required executable \"{name}\" in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            )
        })
    }
}

/// The commands that change the device, run in order.
#[derive(Debug, PartialEq)]
pub struct Plan {
    commands: Vec<Vec<String>>,
    /// Whether the last command's output is the result's `msg` (grow, UUID change).
    output_is_msg: bool,
}

/// Every tool the decision may need for `fstype`.
fn tools_for(kind: Option<Kind>) -> Vec<&'static str> {
    let mut tools = vec!["blkid", "wipefs", "blockdev", "findmnt"];
    if let Some(kind) = kind {
        tools.push(kind.mkfs());
        tools.extend(kind.grow().map(|g| g.0));
        tools.extend(kind.info().map(|i| i.0));
        tools.extend(kind.change_uuid().map(|c| c.0));
    }
    tools
}

impl FilesystemArgs {
    fn kind(&self) -> Option<Kind> {
        self.fstype.as_deref().and_then(Kind::from_name)
    }
}

/// The query: the device, its `blkid` type, and what `resizefs` or the force flags
/// need, each printed as a `@@name` section.
fn query_script(args: &FilesystemArgs) -> String {
    let kind = args.kind().filter(|_| args.state == State::Present);
    let mut script = format!(
        "d={}; [ -e \"$d\" ] || {{ echo '@@missing'; exit 0; }}; ",
        quote(&args.dev)
    );
    for tool in tools_for(kind) {
        script.push_str(&format!(
            "t=$(command -v {tool}) && printf '@@tool\\n{tool} %s\\n' \"$t\"; "
        ));
    }
    script.push_str(
        "if b=$(command -v blkid); then printf '@@fs\\n'; \"$b\" -c /dev/null -o value -s TYPE \"$d\" 2>/dev/null; fi; ",
    );
    let Some(kind) = kind else {
        return script;
    };
    if let Some(probe) = kind.version_probe() {
        script.push_str(&format!(
            "printf '@@version\\n'; LANG=C LC_ALL=C {} {} 2>&1; ",
            kind.mkfs(),
            probe.join(" ")
        ));
    }
    if args.resizefs {
        script.push_str(
            "printf '@@kind\\n'; LC_ALL=C stat -L -c %F \"$d\"; \
             printf '@@devsize\\n'; if [ -b \"$d\" ]; then blockdev --getsize64 \"$d\"; else stat -L -c %s \"$d\"; fi; \
             m=$(findmnt --mtab --noheadings --output TARGET --source \"$d\" | head -n1); \
             printf '@@mount\\n%s\\n' \"$m\"; ",
        );
        if let Some((tool, flags)) = kind.info() {
            let target = match kind {
                Kind::Btrfs => "\"$m\"",
                Kind::Xfs => "\"${m:-$d}\"",
                _ => "\"$d\"",
            };
            script.push_str(&format!(
                "printf '@@info\\n'; LANG=C LC_ALL=C LC_MESSAGES=C {tool} {} {target} 2>&1; printf '@@inforc\\n%s\\n' $?; ",
                flags.join(" ")
            ));
        }
    }
    script
}

/// Reads the query's sections.
fn parse(out: &str) -> Found {
    let mut found = Found {
        exists: true,
        ..Found::default()
    };
    let mut current: Option<String> = None;
    for line in out.split_inclusive('\n') {
        if let Some(name) = line.trim_end().strip_prefix("@@") {
            if name == "missing" {
                found.exists = false;
            }
            current = Some(name.to_string());
            continue;
        }
        match current.as_deref() {
            Some("tool") => {
                if let Some((tool, path)) = line.trim_end().split_once(' ') {
                    found.tools.insert(tool.to_string(), path.to_string());
                }
            }
            Some(name) => found
                .sections
                .entry(name.to_string())
                .or_default()
                .push_str(line),
            None => {}
        }
    }
    found
}

#[async_trait]
impl StateModule for Filesystem {
    const NAME: &'static str = "filesystem";
    type Args = FilesystemArgs;
    type State = Found;
    type Plan = Plan;

    async fn query(&self, on: &Target<'_>, args: &FilesystemArgs) -> Result<Found, ModuleError> {
        let out = on.conn.exec(&Command::new(query_script(args))).await?;
        Ok(parse(&out.stdout_text()))
    }

    fn decide(&self, args: &FilesystemArgs, found: Found) -> Result<Decision<Plan>, String> {
        let dev = args.dev.as_str();
        if !found.exists {
            let msg = format!("Device {dev} not found.");
            return match args.state {
                State::Present => Err(msg),
                State::Absent => Ok(Decision::unchanged().with("msg", msg)),
            };
        }
        found.tool("blkid")?;
        let fs = found.section("fs").trim().to_string();
        if args.state == State::Absent {
            if fs.is_empty() {
                return Ok(Decision::unchanged());
            }
            let wipefs = found.tool("wipefs")?;
            return Ok(Decision::change(Plan {
                commands: vec![vec![wipefs, "--all".into(), dev.into()]],
                output_is_msg: false,
            }));
        }
        let fstype = args.fstype.as_deref().unwrap_or_default();
        let fstype = if fstype == "lvm" {
            "LVM2_member"
        } else {
            fstype
        };
        let kind = Kind::from_name(fstype)
            .ok_or_else(|| format!("module does not support this filesystem ({fstype}) yet."))?;
        if kind.version_probe().is_some() {
            found.tool(kind.mkfs())?;
        }
        let uuid = args.uuid.as_deref().filter(|u| !u.is_empty());
        if uuid.is_some() && kind.change_uuid().is_none() && kind.mkfs_uuid_options().is_none() {
            return Err(format!(
                "module does not support UUID option for this filesystem ({fstype}) yet."
            ));
        }
        let same_fs = !fs.is_empty() && Kind::from_name(&fs) == Some(kind);
        if same_fs && !args.resizefs && uuid.is_none() && !args.force {
            return Ok(Decision::unchanged());
        }
        if same_fs && args.resizefs {
            return grow(kind, fstype, dev, &found);
        }
        if same_fs && let Some(uuid) = uuid {
            return change_uuid(kind, dev, uuid, &found);
        }
        if !fs.is_empty() && !args.force {
            return Err(format!(
                "'{dev}' is already used as {fs}, use force=true to overwrite"
            ));
        }
        let mut opts: Vec<String> = args
            .opts
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if let (Some(uuid), Some((options, extra))) = (uuid, kind.mkfs_uuid_options())
            && !options.iter().any(|o| opts.iter().any(|given| given == o))
        {
            opts.extend([options[0].to_string(), uuid.to_string()]);
            opts.extend(extra.iter().map(|e| e.to_string()));
        }
        let mut mkfs = vec![found.tool(kind.mkfs())?];
        mkfs.extend(
            kind.force_flags(found.section("version"))
                .iter()
                .map(|f| f.to_string()),
        );
        mkfs.extend(opts);
        mkfs.push(dev.to_string());
        let mut commands = vec![mkfs];
        if let (Some(uuid), None, Some((tool, option, _))) =
            (uuid, kind.mkfs_uuid_options(), kind.change_uuid())
        {
            commands.push(vec![
                found.tool(tool)?,
                option.into(),
                uuid.into(),
                dev.into(),
            ]);
        }
        Ok(Decision::change(Plan {
            commands,
            output_is_msg: false,
        }))
    }

    async fn apply(
        &self,
        on: &Target<'_>,
        _: &FilesystemArgs,
        plan: Plan,
    ) -> Result<Outcome, ModuleError> {
        let mut outcome = Outcome::new();
        for argv in &plan.commands {
            let out = run::checked(on, argv, false).await?;
            if plan.output_is_msg {
                outcome.insert("msg".into(), json!(out));
            }
        }
        Ok(outcome)
    }
}

/// `Filesystem.grow`: compares the device's size with the file system's and grows it
/// when they differ by more than the class's slack.
fn grow(kind: Kind, fstype: &str, dev: &str, found: &Found) -> Result<Decision<Plan>, String> {
    let name = kind.class_name();
    let Some((tool, flags)) = kind.grow() else {
        return Err(format!(
            "module does not support resizing {fstype} filesystem yet."
        ));
    };
    let devsize: u64 = match found.section("kind").trim() {
        "block special file" | "regular file" | "regular empty file" => found
            .section("devsize")
            .trim()
            .parse()
            .map_err(|_| format!("Target device not supported: {dev}"))?,
        _ => return Err(format!("Target device not supported: {dev}")),
    };
    let Some((info, _)) = kind.info() else {
        return Err(format!(
            "module does not support resizing {name} filesystem yet"
        ));
    };
    let mount = found.section("mount").trim().to_string();
    if kind.info_needs_mount() && mount.is_empty() {
        return Err(format!("{dev} needs to be mounted for {name} operations"));
    }
    found.tool(info)?;
    let output = found.section("info");
    if found.section("inforc").trim() != "0" {
        return Err(output.trim_end().to_string());
    }
    let fssize = kind
        .parse_size(output)
        .ok_or_else(|| format!("unable to process {info} output for {dev}"))?;
    if fssize + kind.grow_slack() >= devsize {
        return Ok(Decision::unchanged().with(
            "msg",
            format!("{name} filesystem is using the whole device {dev}"),
        ));
    }
    let target = if kind.grows_mounted() {
        if mount.is_empty() {
            return Err(format!("{dev} needs to be mounted for {name} operations"));
        }
        mount
    } else {
        dev.to_string()
    };
    let mut argv = vec![found.tool(tool)?];
    argv.extend(flags.iter().map(|f| f.to_string()));
    argv.push(target);
    Ok(Decision::change(Plan {
        commands: vec![argv],
        output_is_msg: true,
    })
    .with("msg", format!("resizing filesystem {name} on device {dev}")))
}

/// `Filesystem.change_uuid`: the class's UUID command, always a change.
fn change_uuid(kind: Kind, dev: &str, uuid: &str, found: &Found) -> Result<Decision<Plan>, String> {
    let Some((tool, option, takes_value)) = kind.change_uuid() else {
        return Err(format!(
            "module does not support UUID option for this filesystem ({}) yet.",
            kind.class_name()
        ));
    };
    let mut argv = vec![found.tool(tool)?, option.to_string()];
    if takes_value {
        argv.push(uuid.to_string());
    }
    argv.push(dev.to_string());
    Ok(Decision::change(Plan {
        commands: vec![argv],
        output_is_msg: true,
    })
    .with(
        "msg",
        format!(
            "Changing {} filesystem UUID on device {dev}",
            kind.class_name()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value as Json;

    fn found(fs: &str, extra: &[(&str, &str)]) -> Found {
        let mut out = String::from("@@tool\n");
        for tool in [
            "blkid",
            "wipefs",
            "mkfs.ext4",
            "resize2fs",
            "tune2fs",
            "mkswap",
        ] {
            out.push_str(&format!("{tool} /sbin/{tool}\n"));
        }
        out.push_str(&format!("@@fs\n{fs}\n"));
        for (name, text) in extra {
            out.push_str(&format!("@@{name}\n{text}\n"));
        }
        parse(&out)
    }

    fn decide(args: Json, found: Found) -> Result<Decision<Plan>, String> {
        let args: FilesystemArgs = crate::modules::typed::from_json(args)?;
        Filesystem.decide(&args, found)
    }

    fn commands(decision: &Decision<Plan>) -> Vec<String> {
        decision
            .plan
            .as_ref()
            .map(|p| p.commands.iter().map(|c| c.join(" ")).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_device_without_a_file_system_gets_one_with_the_force_flag() {
        let d = decide(
            json!({"fstype": "ext4", "dev": "/img", "opts": "-L data  -m 1"}),
            found("", &[]),
        )
        .expect("decision");
        assert_eq!(commands(&d), ["/sbin/mkfs.ext4 -F -L data -m 1 /img"]);
        let same = decide(
            json!({"fstype": "ext4dev", "dev": "/img"}),
            found("ext4", &[]),
        )
        .expect("decision");
        assert!(same.plan.is_none(), "ext4dev is ext4's class");
    }

    #[test]
    fn another_file_system_needs_force() {
        let err = decide(json!({"fstype": "swap", "dev": "/img"}), found("ext4", &[])).err();
        assert_eq!(
            err.as_deref(),
            Some("'/img' is already used as ext4, use force=true to overwrite")
        );
        let d = decide(
            json!({"fstype": "swap", "dev": "/img", "force": true}),
            found("ext4", &[]),
        )
        .expect("decision");
        assert_eq!(commands(&d), ["/sbin/mkswap -f /img"]);
        let again = decide(
            json!({"fstype": "ext4", "dev": "/img", "force": true}),
            found("ext4", &[]),
        )
        .expect("decision");
        assert_eq!(
            commands(&again),
            ["/sbin/mkfs.ext4 -F /img"],
            "force remakes the same type"
        );
    }

    #[test]
    fn absent_wipes_only_a_known_signature_and_a_missing_device_is_fine() {
        let d = decide(
            json!({"dev": "/img", "state": "absent"}),
            found("swap", &[]),
        )
        .expect("decision");
        assert_eq!(commands(&d), ["/sbin/wipefs --all /img"]);
        let none =
            decide(json!({"dev": "/img", "state": "absent"}), found("", &[])).expect("decision");
        assert!(none.plan.is_none());
        let missing = Found::default();
        let d = decide(json!({"dev": "/nope", "state": "absent"}), missing).expect("decision");
        assert_eq!(d.result["msg"], "Device /nope not found.");
        let err = decide(json!({"dev": "/nope", "fstype": "ext4"}), Found::default()).err();
        assert_eq!(err.as_deref(), Some("Device /nope not found."));
    }

    #[test]
    fn resizefs_grows_only_when_the_device_is_larger() {
        let info = "Block count:              8192\nBlock size:               1024";
        let sections = |devsize: &str| {
            found(
                "ext4",
                &[
                    ("kind", "regular file"),
                    ("devsize", devsize),
                    ("mount", ""),
                    ("info", info),
                    ("inforc", "0"),
                ],
            )
        };
        let args = json!({"fstype": "ext4", "dev": "/img", "resizefs": true});
        let whole = decide(args.clone(), sections("8388608")).expect("decision");
        assert!(whole.plan.is_none());
        assert_eq!(
            whole.result["msg"],
            "Ext4 filesystem is using the whole device /img"
        );
        let grows = decide(args, sections("16777216")).expect("decision");
        assert_eq!(commands(&grows), ["/sbin/resize2fs /img"]);
        let swap = decide(
            json!({"fstype": "swap", "dev": "/img", "resizefs": true}),
            found("swap", &[]),
        )
        .err();
        assert_eq!(
            swap.as_deref(),
            Some("module does not support resizing swap filesystem yet.")
        );
    }

    #[test]
    fn a_uuid_goes_to_mkfs_or_to_the_change_tool() {
        let d = decide(
            json!({"fstype": "ext4", "dev": "/img", "uuid": "random"}),
            found("", &[]),
        )
        .expect("decision");
        assert_eq!(commands(&d), ["/sbin/mkfs.ext4 -F -U random /img"]);
        let change = decide(
            json!({"fstype": "ext4", "dev": "/img", "uuid": "random"}),
            found("ext4", &[]),
        )
        .expect("decision");
        assert_eq!(commands(&change), ["/sbin/tune2fs -U random /img"]);
        let err = decide(
            json!({"fstype": "swap", "dev": "/img", "uuid": "x"}),
            found("", &[]),
        )
        .err();
        assert_eq!(
            err.as_deref(),
            Some("module does not support UUID option for this filesystem (swap) yet.")
        );
        let both = decide(
            json!({"fstype": "ext4", "dev": "/img", "uuid": "x", "resizefs": true}),
            found("", &[]),
        )
        .err();
        assert_eq!(
            both.as_deref(),
            Some("parameters are mutually exclusive: resizefs|uuid")
        );
        let no_type = decide(json!({"dev": "/img"}), found("", &[])).err();
        assert_eq!(
            no_type.as_deref(),
            Some("state is present but all of the following are missing: fstype")
        );
    }
}
