//! The shell script that reads everything the facts are made of in one round trip,
//! section by section (`@@name` lines), and the split of its output.

use std::collections::HashMap;

/// Prints the sections every fact collector reads. No Python is needed: only `/bin/sh`,
/// coreutils, `ip` (iproute2) and the files under `/proc`, `/sys` and `/etc`.
///
/// Starting a process is what costs on the target (~2 ms each in a container), so the
/// script reads files with the shell's own `read` (`uname`'s fields too, from
/// `/proc/sys/kernel`, and the CPUs it may run on from `/proc/self/status`), lists
/// directories with globs, and runs a command that can serve every interface or mount
/// once for all (one `ip -batch` for routes and addresses, `stat -f`, `readlink -f`):
/// about twenty processes, plus one per physical interface and per bridge.
///
/// The sections run as two groups at once, each on its own core where the target has
/// two: the second group (the slowest commands: `systemctl`, `lsblk`, `findmnt`,
/// Python) keeps its output until the first one's ends (`read` sees the pipe close),
/// so the two never interleave. Both finish in about half the time they take one after
/// the other. A command substitution drops NUL bytes, so `environ` (`grep -z`) stays
/// in the first group.
///
/// Its helpers: `_rd FILE` puts the first line in `$_v` (empty when unreadable);
/// `_pf FILE` prints the file as `cat` would, failing when it cannot be opened;
/// `_kv KEY FILE` prints `KEY <first line>` when the file is readable; `_ls DIR SEP`
/// puts the names in `DIR`, each followed by `SEP`, in `$_n`.
pub const PROBE: &str = r#"
_rd() { _v=; IFS= read -r _v < "$1"; } 2>/dev/null
_pf() { while IFS= read -r _l || [ -n "$_l" ]; do printf '%s\n' "$_l"; done < "$1"; } 2>/dev/null
_kv() { [ -r "$2" ] || return; _rd "$2"; echo "$1 $_v"; }
_ls() { _n=; for _x in "$1"/*; do { [ -e "$_x" ] || [ -L "$_x" ]; } && _n="$_n${_x##*/}$2"; done; }
{ {
echo '@@user'; u=${LOGNAME:-${USER:-$(id -un)}}; echo "$u"
  _ru= _c=; while read -r _k _a _b _z; do case $_k in Uid:) _ru=$_a _eu=$_b;; Gid:) _rg=$_a _eg=$_b;; Cpus_allowed_list:) _c=$_a; break;; esac; done 2>/dev/null < /proc/self/status
  [ -n "$_ru" ] || { _eu=$(id -u) _eg=$(id -g) _ru=$(id -ru) _rg=$(id -rg); }; printf '%s\n' "$_eu" "$_eg" "$_ru" "$_rg"; getent passwd "$u" 2>/dev/null
echo '@@nproc'; [ -n "$_c" ] && echo "cpus $_c" || nproc 2>/dev/null || getconf _NPROCESSORS_ONLN
echo '@@cpuinfo'; awk -F: '/^flags/ { if (seen++) next } { print }' /proc/cpuinfo 2>/dev/null
echo '@@os-release'; _pf /etc/os-release || _pf /usr/lib/os-release
echo '@@debian_version'; _pf /etc/debian_version
echo '@@lsb-release'; _pf /etc/lsb-release
echo '@@meminfo'; _pf /proc/meminfo
echo '@@init'; _rd /proc/1/comm; echo "$_v"; case $_v in ''|init|*sh) [ -L /sbin/init ] && echo "link $(readlink /sbin/init)";; esac; command -v systemctl >/dev/null 2>&1 && echo systemctl; for d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$d" ] && echo systemd-running; done; command -v initctl >/dev/null 2>&1 && [ -e /etc/init/ ] && echo upstart; [ -e /sbin/openrc ] && echo openrc; [ -e /etc/init.d/ ] && echo sysvinit; [ -e /etc/dinit.d/ ] && echo dinit
echo '@@pkg'; for p in apt-get dnf yum apk zypper pacman; do command -v $p >/dev/null 2>&1 && { echo $p; break; }; done
echo '@@ip'; _o=$(printf '%s\n' 'route get 8.8.8.8' 'route get 2404:6800:400a:800::1012' 'route show table local' addr | ip -o -force -batch - 2>/dev/null)
  [ -n "$_o" ] || _o=$({ ip -o -4 route get 8.8.8.8; ip -o -6 route get 2404:6800:400a:800::1012; ip -4 route show table local; ip -o addr; } 2>/dev/null); printf '%s\n' "$_o"; ip -6 route show table local 2>/dev/null
echo '@@net'; for d in $(ls -U /sys/class/net 2>/dev/null); do p=/sys/class/net/$d; [ -d "$p" ] || continue; echo "dev $d"
  _kv address "$p/address"; _kv mtu "$p/mtu"; _kv operstate "$p/operstate"
  _kv type "$p/type"
  [ -e "$p/bridge" ] && { echo bridge $(ls -U "$p/brif" 2>/dev/null); _kv bridge_id "$p/bridge/bridge_id"; _kv stp "$p/bridge/stp_state"; }
  [ -e "$p/device" ] && { [ -e "$p/device/driver/module" ] && { _t=$(readlink -f "$p/device/driver/module" "$p/device"); _w=${_t%%
*}; echo "module ${_w##*/}"; } || _t=$(readlink "$p/device"); echo "pciid ${_t##*/}"; }
  _v=; [ -e "$p/speed" ] && _rd "$p/speed"; [ -n "$_v" ] && echo "speed $_v"
  _kv flags "$p/flags"
done
echo '@@mounts'; _m=$(cat /proc/self/mounts 2>/dev/null) && printf '%s\n' "$_m"
echo '@@statvfs'; set -f; set --; IFS='
'; for _l in $_m; do m=${_l#* }; m=${m%% *}; case ${_l%% *} in /*|*:/*) ;; *) continue;; esac
  case $m in *\\*) m=$(printf '%b' "$(echo "$m" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')");; esac; set -- "$@" "$m"; done; unset IFS; set +f
  [ $# -gt 0 ] && stat -f --printf '%n\t%S %s %b %a %f %c %d\n' -- "$@" 2>/dev/null
echo '@@block'; for b in /sys/block/*; do [ -d "$b" ] || continue; d=${b##*/}; echo "dev $d"
  for f in removable queue/rotational size queue/logical_block_size queue/physical_block_size queue/discard_granularity queue/scheduler device/vendor device/model device/sas_address device/sas_device_handle; do _kv "$f" "$b/$f"; done
  [ ! -L "$b" ] && [ -e "$b/device" ] && echo "hasdevice"; _ls "$b/holders" ' '; echo "holders $_n"
  for p in "$b/$d"*; do [ -d "$p" ] || continue; _rd "$p/start"; _t=$_v; _rd "$p/size"; _ls "$p/holders" ,; echo "part ${p##*/} $_t $_v holders=$_n"; done
done
echo '@@disklinks'; set --; for s in by-id by-uuid by-label; do for l in /dev/disk/$s/*; do [ -L "$l" ] && set -- "$@" "$l"; done; done
  [ $# -gt 0 ] && readlink -f -- "$@" 2>/dev/null | for l; do IFS= read -r t; case $l in */by-id/*) k=ids;; */by-uuid/*) k=uuids;; *) k=labels;; esac; echo "$k ${l##*/} ${t##*/}"; done
echo '@@machine_id'; _pf /etc/machine-id || _pf /var/lib/dbus/machine-id
echo '@@resolv'; _pf /etc/resolv.conf
echo '@@uptime'; _pf /proc/uptime; _pf /proc/loadavg
echo '@@cmdline'; _pf /proc/cmdline
echo '@@selinux'; command -v getenforce >/dev/null 2>&1 && getenforce 2>/dev/null; [ -d /sys/fs/selinux ] && echo present
echo '@@apparmor'; [ -e /sys/kernel/security/apparmor ] && echo enabled
echo '@@fips'; _pf /proc/sys/crypto/fips_enabled
echo '@@chroot'; [ / -ef /proc/1/root/. ] && echo no || { [ -r /proc/1/root/. ] && echo yes || echo unknown; }
echo '@@dmi'; for f in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version chassis_type product_name product_serial product_uuid product_version product_family sys_vendor; do _v=NA; { IFS= read -r _v < /sys/devices/virtual/dmi/id/$f; } 2>/dev/null; echo "$f $_v"; done
echo '@@cgroup'; _pf /proc/1/cgroup
echo '@@environ'; grep -a -z '^container=' /proc/1/environ 2>/dev/null; echo
echo '@@virt'; [ -e /proc/vz ] && [ ! -e /proc/lve ] && echo openvz; _rd /run/systemd/container; echo "systemd_container $_v"; { [ -e /.dockerenv ] || [ -e /.dockerinit ]; } && echo dockerenv; [ -e /proc/xen ] && echo xen; for _x in kvm vboxdrv virtio; do [ -e /sys/module/$_x/initstate ] && echo "module $_x"; done; [ -e /dev/kvm ] && echo devkvm
echo '@@sshkeys'; for k in dsa rsa ecdsa ed25519; do for f in /etc/ssh/ssh_host_${k}_key.pub /etc/ssh_host_${k}_key.pub /etc/openssh/ssh_host_${k}_key.pub; do [ -r "$f" ] && { _rd "$f"; echo "$k $_v"; break; }; done; done
echo '@@iscsi'; { while IFS= read -r _l || [ -n "$_l" ]; do case $_l in InitiatorName=*) printf '%s\n' "${_l#InitiatorName=}";; esac; done < /etc/iscsi/initiatorname.iscsi; } 2>/dev/null
echo '@@nvme'; _pf /etc/nvme/hostnqn
} >&3 | { _b=$( {
echo '@@uname'; _k=/proc/sys/kernel; _rd /proc/self/personality; _p=$_v; _rd $_k/ostype; _s=$_v; _rd $_k/osrelease; _r=$_v; _rd $_k/arch; _m=$_v; _rd $_k/hostname; _h=$_v; _rd $_k/version
  [ "$_p" = 00000000 ] && [ -n "$_s" ] && [ -n "$_m" ] && [ -n "$_h" ] || { _u=$(uname -snrvm); _s=${_u%% *}; _u=${_u#* }; _h=${_u%% *}; _u=${_u#* }; _r=${_u%% *}; _u=${_u#* }; _m=${_u##* } _v=${_u% *}; }; printf '%s\n' "$_s" "$_r" "$_m" "$_h" "$_v"
echo '@@fqdn'; _a=$(getent ahosts "$_h" 2>/dev/null); _a=${_a%% *}; [ -n "$_a" ] && getent hosts "$_a" 2>/dev/null
echo '@@lsb_release'; command -v lsb_release >/dev/null 2>&1 && lsb_release -a 2>/dev/null
echo '@@systemd'; systemctl --version 2>/dev/null
echo '@@python'; for p in "$BOSUN_PYTHON" /usr/bin/python3 python3 python; do [ -n "$p" ] && q=$(command -v "$p" 2>/dev/null) && { echo "$q"; "$q" -V 2>&1; break; }; done
echo '@@lsblk'; lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null
echo '@@bind'; findmnt --list --noheadings --notruncate 2>/dev/null
echo '@@date'; date '+%Y-%m-%d %H:%M:%S %s %Z %z %A %B %j %w %W %N'
echo '@@userspace'; getconf LONG_BIT 2>/dev/null
echo '@@env'; env
} </dev/null); read -r _x; printf '%s\n' "$_b"; }; } 3>&1
"#;

/// The probe's output split into its sections, each a list of lines.
pub struct Sections(HashMap<String, Vec<String>>);

impl Sections {
    /// Splits `output` at its `@@name` lines.
    pub fn parse(output: &str) -> Sections {
        let mut sections: HashMap<String, Vec<String>> = HashMap::new();
        let mut current: Option<String> = None;
        for line in output.lines() {
            if line.starts_with("@@local ") {
                current = None;
                continue;
            }
            if let Some(name) = line.strip_prefix("@@")
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
            {
                current = Some(name.to_string());
                sections.entry(name.to_string()).or_default();
                continue;
            }
            if let Some(name) = &current {
                sections
                    .entry(name.clone())
                    .or_default()
                    .push(line.to_string());
            }
        }
        Sections(sections)
    }

    /// The lines of section `name` (none when it is missing).
    pub fn lines(&self, name: &str) -> &[String] {
        self.0.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// Line `n` of section `name`, or an empty string.
    pub fn line(&self, name: &str, n: usize) -> &str {
        self.lines(name)
            .get(n)
            .map(String::as_str)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The probe on this machine: nothing on stderr, and the sections filled.
    #[test]
    fn the_probe_runs_silently_here_and_fills_its_sections() {
        let run = |script: &str| {
            std::process::Command::new("sh")
                .arg("-c")
                .arg(script)
                .output()
                .expect("sh")
        };
        let out = run(PROBE);
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
        let s = Sections::parse(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(s.line("uname", 0), "Linux");
        assert_eq!(s.lines("uname").len(), 5);
        let uname = String::from_utf8_lossy(&run("uname -snrvm").stdout)
            .trim()
            .to_string();
        let lines = s.lines("uname");
        let probed = [&lines[0], &lines[3], &lines[1], &lines[4], &lines[2]];
        assert_eq!(probed.map(String::as_str).join(" "), uname);
        let uid = String::from_utf8_lossy(&run("id -u").stdout)
            .trim()
            .to_string();
        assert_eq!(s.line("user", 1), uid);
        assert!(s.lines("net").iter().any(|l| l == "dev lo"), "no lo");
        let ip = super::super::ip::IpLines::split(s.lines("ip"));
        assert!(ip.addresses.iter().any(|l| l.contains(" lo ")));
        assert!(
            ip.local_routes
                .iter()
                .any(|l| l.starts_with("local 127.0.0.1 "))
        );
        assert_eq!(s.lines("dmi").len(), 19);
        assert!(["no", "yes", "unknown"].contains(&s.line("chroot", 0)));
        assert_eq!(s.line("date", 0).split_whitespace().count(), 11);
        assert!(s.line("meminfo", 0).starts_with("MemTotal:"));
    }
}
