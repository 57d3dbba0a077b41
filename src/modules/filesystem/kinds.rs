//! The file system types of community.general's `filesystem` module, as its classes
//! declare them: the `mkfs` program and its flags, how the size of an existing file
//! system is read (and from which tool's output), how it grows, how its UUID changes.

/// One file system class of the module (`Ext4`, `XFS`, `LVM` ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// bcachefs.
    Bcachefs,
    /// btrfs.
    Btrfs,
    /// ext2.
    Ext2,
    /// ext3.
    Ext3,
    /// ext4 (and ext4dev).
    Ext4,
    /// f2fs.
    F2fs,
    /// An LVM physical volume.
    Lvm,
    /// ocfs2.
    Ocfs2,
    /// reiserfs.
    Reiserfs,
    /// Swap space.
    Swap,
    /// FreeBSD's UFS.
    Ufs,
    /// FAT.
    Vfat,
    /// XFS.
    Xfs,
}

impl Kind {
    /// The class for a type name as the module's `FILESYSTEMS` maps it: the `fstype`
    /// choices (with `lvm` as `LVM2_member`) and what `blkid` prints.
    pub fn from_name(name: &str) -> Option<Kind> {
        Some(match name {
            "bcachefs" => Kind::Bcachefs,
            "btrfs" => Kind::Btrfs,
            "ext2" => Kind::Ext2,
            "ext3" => Kind::Ext3,
            "ext4" | "ext4dev" => Kind::Ext4,
            "f2fs" => Kind::F2fs,
            "lvm" | "LVM2_member" => Kind::Lvm,
            "ocfs2" => Kind::Ocfs2,
            "reiserfs" => Kind::Reiserfs,
            "swap" => Kind::Swap,
            "ufs" => Kind::Ufs,
            "vfat" => Kind::Vfat,
            "xfs" => Kind::Xfs,
            _ => return None,
        })
    }

    /// The class's name, which the module's messages show (`type(self).__name__`).
    pub fn class_name(self) -> &'static str {
        match self {
            Kind::Bcachefs => "Bcachefs",
            Kind::Btrfs => "Btrfs",
            Kind::Ext2 => "Ext2",
            Kind::Ext3 => "Ext3",
            Kind::Ext4 => "Ext4",
            Kind::F2fs => "F2fs",
            Kind::Lvm => "LVM",
            Kind::Ocfs2 => "Ocfs2",
            Kind::Reiserfs => "Reiserfs",
            Kind::Swap => "Swap",
            Kind::Ufs => "UFS",
            Kind::Vfat => "VFAT",
            Kind::Xfs => "XFS",
        }
    }

    /// The program that makes the file system.
    pub fn mkfs(self) -> &'static str {
        match self {
            Kind::Bcachefs => "mkfs.bcachefs",
            Kind::Btrfs => "mkfs.btrfs",
            Kind::Ext2 => "mkfs.ext2",
            Kind::Ext3 => "mkfs.ext3",
            Kind::Ext4 => "mkfs.ext4",
            Kind::F2fs => "mkfs.f2fs",
            Kind::Lvm => "pvcreate",
            Kind::Ocfs2 => "mkfs.ocfs2",
            Kind::Reiserfs => "mkfs.reiserfs",
            Kind::Swap => "mkswap",
            Kind::Ufs => "newfs",
            Kind::Vfat => "mkfs.vfat",
            Kind::Xfs => "mkfs.xfs",
        }
    }

    /// The program whose version decides the force flag (btrfs and f2fs ask theirs
    /// when the class is made), with its arguments.
    pub fn version_probe(self) -> Option<&'static [&'static str]> {
        match self {
            Kind::Btrfs => Some(&["--version"]),
            Kind::F2fs => Some(&["/dev/null"]),
            _ => None,
        }
    }

    /// `MKFS_FORCE_FLAGS`: given to every `mkfs` run. `version` is what
    /// [`Kind::version_probe`] printed (standard output, then error).
    pub fn force_flags(self, version: &str) -> Vec<&'static str> {
        match self {
            Kind::Bcachefs => vec!["--force"],
            Kind::Btrfs => match version_after(version, " v") {
                Some(v) if !at_least(&v, &[3, 12]) => vec![],
                _ => vec!["-f"],
            },
            Kind::F2fs => match version_after(version, "F2FS-tools: mkfs.f2fs Ver: ") {
                Some(v) if at_least(&v, &[1, 9, 0]) => vec!["-f"],
                _ => vec![],
            },
            Kind::Ext2 | Kind::Ext3 | Kind::Ext4 => vec!["-F"],
            Kind::Lvm => vec!["-f"],
            Kind::Ocfs2 => vec!["-Fx"],
            Kind::Reiserfs => vec!["-q"],
            Kind::Swap => vec!["-f"],
            Kind::Xfs => vec!["-f"],
            Kind::Ufs | Kind::Vfat => vec![],
        }
    }

    /// `MKFS_SET_UUID_OPTIONS` and `MKFS_SET_UUID_EXTRA_OPTIONS`.
    pub fn mkfs_uuid_options(self) -> Option<(&'static [&'static str], &'static [&'static str])> {
        match self {
            Kind::Ext2 | Kind::Ext3 | Kind::Ext4 => Some((&["-U"], &[])),
            Kind::Bcachefs => Some((&["-U", "--uuid"], &[])),
            Kind::Lvm => Some((&["-u", "--uuid"], &["--norestorefile"])),
            _ => None,
        }
    }

    /// `CHANGE_UUID`: the program and option, and whether the option takes the UUID.
    pub fn change_uuid(self) -> Option<(&'static str, &'static str, bool)> {
        match self {
            Kind::Ext2 | Kind::Ext3 | Kind::Ext4 => Some(("tune2fs", "-U", true)),
            Kind::Xfs => Some(("xfs_admin", "-U", true)),
            Kind::Lvm => Some(("pvchange", "-u", false)),
            _ => None,
        }
    }

    /// `GROW` and `GROW_MAX_SPACE_FLAGS`: the program that grows the file system.
    pub fn grow(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Kind::Bcachefs => Some(("bcachefs", &["device", "resize"])),
            Kind::Btrfs => Some(("btrfs", &["filesystem", "resize", "max"])),
            Kind::Ext2 | Kind::Ext3 | Kind::Ext4 => Some(("resize2fs", &[])),
            Kind::F2fs => Some(("resize.f2fs", &[])),
            Kind::Lvm => Some(("pvresize", &[])),
            Kind::Ufs => Some(("growfs", &["-y"])),
            Kind::Vfat => Some(("fatresize", &["-s", "max"])),
            Kind::Xfs => Some(("xfs_growfs", &[])),
            Kind::Ocfs2 | Kind::Reiserfs | Kind::Swap => None,
        }
    }

    /// `GROW_SLACK`: XFS needs 64 free 4 KiB blocks to add an allocation group.
    pub fn grow_slack(self) -> u64 {
        match self {
            Kind::Xfs => 64 * 4096 - 1,
            _ => 0,
        }
    }

    /// `GROW_MOUNTPOINT_ONLY`: grown through its mount point.
    pub fn grows_mounted(self) -> bool {
        matches!(self, Kind::Xfs | Kind::Btrfs)
    }

    /// `INFO` and its arguments before the target: the tool whose output gives the
    /// file system's size (`None`: the module cannot read it).
    pub fn info(self) -> Option<(&'static str, &'static [&'static str])> {
        match self {
            Kind::Bcachefs => Some(("bcachefs", &["show-super"])),
            Kind::Btrfs => Some(("btrfs", &["filesystem", "usage", "-b"])),
            Kind::Ext2 | Kind::Ext3 | Kind::Ext4 => Some(("tune2fs", &["-l"])),
            Kind::F2fs => Some(("dump.f2fs", &[])),
            Kind::Lvm => Some((
                "pvs",
                &[
                    "--noheadings",
                    "-o",
                    "pv_size",
                    "--units",
                    "b",
                    "--nosuffix",
                ],
            )),
            Kind::Ufs => Some(("dumpfs", &[])),
            Kind::Vfat => Some(("fatresize", &["--info"])),
            Kind::Xfs => Some(("xfs_info", &[])),
            Kind::Ocfs2 | Kind::Reiserfs | Kind::Swap => None,
        }
    }

    /// Whether [`Kind::info`] reads the mount point rather than the device: btrfs
    /// always, XFS when mounted.
    pub fn info_needs_mount(self) -> bool {
        self == Kind::Btrfs
    }

    /// The file system's size in bytes from [`Kind::info`]'s output, parsed as the
    /// class's `get_fs_size` does; `None` where it raises `ValueError`.
    pub fn parse_size(self, out: &str) -> Option<u64> {
        match self {
            Kind::Ext2 | Kind::Ext3 | Kind::Ext4 => {
                let count = field_after(out, "Block count:")?;
                let size = field_after(out, "Block size:")?;
                Some(count * size)
            }
            Kind::Xfs => xfs_size(out),
            Kind::Btrfs => out
                .lines()
                .find(|l| l.contains("Device size"))?
                .split_whitespace()
                .last()?
                .parse()
                .ok(),
            Kind::F2fs => {
                let word = |key: &str, at: usize| {
                    out.lines()
                        .find(|l| l.contains(key))?
                        .split_whitespace()
                        .nth(at)?
                        .parse::<u64>()
                        .ok()
                };
                Some(word("Info: sector size = ", 4)? * word("Info: total FS sectors = ", 5)?)
            }
            Kind::Vfat => out.lines().skip(1).find_map(|line| {
                let (param, value) = line.split_once(':')?;
                matches!(param.trim(), "Size" | "Cur size").then(|| value.trim().parse().ok())?
            }),
            Kind::Lvm => out.trim().parse().ok(),
            Kind::Bcachefs => bcachefs_size(out),
            Kind::Ufs => {
                let fragment = out
                    .lines()
                    .find(|l| l.starts_with("fsize"))?
                    .split_whitespace()
                    .nth(1)?
                    .parse::<u64>()
                    .ok()?;
                let provider = out
                    .lines()
                    .find(|l| l.contains("providersize"))?
                    .split_whitespace()
                    .last()?
                    .parse::<u64>()
                    .ok()?;
                Some(fragment * provider)
            }
            Kind::Ocfs2 | Kind::Reiserfs | Kind::Swap => None,
        }
    }
}

/// The integer after `key` on the first line containing it (`tune2fs -l`).
fn field_after(out: &str, key: &str) -> Option<u64> {
    let line = out.lines().find(|l| l.contains(key))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

/// XFS's `data = bsize=4096 blocks=N, ...` line.
fn xfs_size(out: &str) -> Option<u64> {
    let mut block_size = None;
    let mut block_count = None;
    for line in out.lines() {
        let cols: Vec<&str> = line.split('=').collect();
        if cols.len() < 4 || cols[0].trim() != "data" {
            continue;
        }
        if cols[1].trim() == "bsize" {
            block_size = cols[2].split_whitespace().next()?.parse::<u64>().ok();
        }
        if cols[2].split_whitespace().nth(1) == Some("blocks") {
            block_count = cols[3].split(',').next()?.trim().parse::<u64>().ok();
        }
        if let (Some(size), Some(count)) = (block_size, block_count) {
            return Some(size * count);
        }
    }
    None
}

/// bcachefs' `Size: 1.00 GiB` line, in binary or decimal units.
fn bcachefs_size(out: &str) -> Option<u64> {
    let line = out.lines().find(|l| l.contains("Size: "))?;
    let parts: Vec<&str> = line.split_whitespace().collect();
    let unit = *parts.get(2)?;
    let binary = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    let decimal = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let (base, exp) = match binary.iter().position(|u| *u == unit) {
        Some(exp) => (1024f64, exp),
        None => (1000f64, decimal.iter().position(|u| *u == unit)?),
    };
    if exp == 0 {
        return parts[1].parse().ok();
    }
    let value: f64 = parts[1].parse().ok()?;
    Some((value * base.powi(i32::try_from(exp).ok()?)) as u64)
}

/// The dotted version number right after `marker` (`re.search(marker + "([0-9.]+)")`).
fn version_after(text: &str, marker: &str) -> Option<Vec<u64>> {
    let at = text.find(marker)? + marker.len();
    let digits: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    if digits.is_empty() {
        return None;
    }
    Some(
        digits
            .split('.')
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(0))
            .collect(),
    )
}

/// `LooseVersion(version) >= LooseVersion(minimum)` for dotted numbers.
fn at_least(version: &[u64], minimum: &[u64]) -> bool {
    version >= minimum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_read_from_each_tool_as_the_module_reads_them() {
        let tune2fs = "Block count:              8192\nReserved block count:     409\nBlock size:               4096\n";
        assert_eq!(Kind::Ext4.parse_size(tune2fs), Some(8192 * 4096));
        let xfs = "meta-data=/dev/loop0 isize=512    agcount=4, agsize=4096 blks\n\
                   data     =                       bsize=4096   blocks=16384, imaxpct=25\n";
        assert_eq!(Kind::Xfs.parse_size(xfs), Some(4096 * 16384));
        assert_eq!(
            Kind::Btrfs.parse_size("Overall:\n    Device size:\t\t 1073741824\n"),
            Some(1073741824)
        );
        assert_eq!(Kind::Lvm.parse_size("  4194304\n"), Some(4194304));
        assert_eq!(
            Kind::Vfat.parse_size("fatresize 1.1.0\nFAT: fat16\nSize: 33554432\nMin size: 1\n"),
            Some(33554432)
        );
        assert_eq!(
            Kind::F2fs
                .parse_size("Info: sector size = 512\nInfo: total FS sectors = 102400 (50 MB)\n"),
            Some(512 * 102400)
        );
        assert_eq!(
            Kind::Bcachefs.parse_size("Size:  1.00 GiB\n"),
            Some(1 << 30)
        );
        assert_eq!(Kind::Ext4.parse_size("nothing"), None);
        assert_eq!(Kind::Swap.parse_size("anything"), None);
    }

    #[test]
    fn force_flags_follow_the_tool_versions() {
        assert_eq!(
            Kind::Btrfs.force_flags("mkfs.btrfs, part of btrfs-progs v6.2\n"),
            ["-f"]
        );
        assert!(
            Kind::Btrfs
                .force_flags("mkfs.btrfs, part of btrfs-progs v0.20-rc1")
                .is_empty()
        );
        assert_eq!(Kind::Btrfs.force_flags("unknown"), ["-f"], "assumed recent");
        assert_eq!(
            Kind::F2fs.force_flags("\n\tF2FS-tools: mkfs.f2fs Ver: 1.15.0 (2022-05-13)\n"),
            ["-f"]
        );
        assert!(
            Kind::F2fs
                .force_flags("F2FS-tools: mkfs.f2fs Ver: 1.8.0 (2017)")
                .is_empty()
        );
        assert_eq!(Kind::Ext4.force_flags(""), ["-F"]);
    }

    #[test]
    fn names_map_to_classes_as_the_module_maps_them() {
        assert_eq!(Kind::from_name("ext4dev"), Some(Kind::Ext4));
        assert_eq!(Kind::from_name("LVM2_member"), Some(Kind::Lvm));
        assert_eq!(Kind::from_name("lvm"), Some(Kind::Lvm));
        assert_eq!(Kind::from_name("ntfs"), None);
    }
}
