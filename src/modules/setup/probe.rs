//! The shell script that reads everything the facts are made of in one round trip,
//! section by section (`@@name` lines), and the split of its output.

use std::collections::HashMap;

/// Prints the sections every fact collector reads. No Python is needed: only `/bin/sh`,
/// coreutils, `ip` (iproute2) and the files under `/proc`, `/sys` and `/etc`.
pub const PROBE: &str = r#"
echo '@@uname'; uname -s; uname -r; uname -m; uname -n; uname -v
echo '@@fqdn'; h=$(uname -n); a=$(getent ahosts "$h" 2>/dev/null | awk 'NR==1{print $1}'); [ -n "$a" ] && getent hosts "$a" 2>/dev/null | head -n1
echo '@@user'; u=${LOGNAME:-${USER:-$(id -un)}}; echo "$u"; id -u; id -g; id -ru; id -rg; getent passwd "$u" 2>/dev/null | head -n1
echo '@@nproc'; nproc 2>/dev/null || getconf _NPROCESSORS_ONLN
echo '@@cpuinfo'; awk -F: '/^flags/ { if (seen++) next } { print }' /proc/cpuinfo 2>/dev/null
echo '@@os-release'; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
echo '@@debian_version'; cat /etc/debian_version 2>/dev/null
echo '@@lsb_release'; command -v lsb_release >/dev/null 2>&1 && lsb_release -a 2>/dev/null
echo '@@lsb-release'; cat /etc/lsb-release 2>/dev/null
echo '@@meminfo'; cat /proc/meminfo 2>/dev/null
echo '@@init'; cat /proc/1/comm 2>/dev/null; [ -L /sbin/init ] && echo "link $(readlink /sbin/init)"; command -v systemctl >/dev/null 2>&1 && echo systemctl; for d in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e "$d" ] && echo systemd-running; done; command -v initctl >/dev/null 2>&1 && [ -e /etc/init/ ] && echo upstart; [ -e /sbin/openrc ] && echo openrc; [ -e /etc/init.d/ ] && echo sysvinit; [ -e /etc/dinit.d/ ] && echo dinit
echo '@@systemd'; systemctl --version 2>/dev/null | head -n2
echo '@@pkg'; for p in apt-get dnf yum apk zypper pacman; do command -v $p >/dev/null 2>&1 && { echo $p; break; }; done
echo '@@python'; for p in "$BOSUN_PYTHON" /usr/bin/python3 python3 python; do [ -n "$p" ] && q=$(command -v "$p" 2>/dev/null) && { echo "$q"; "$q" -V 2>&1; break; }; done
echo '@@route4'; ip -4 route get 8.8.8.8 2>/dev/null | head -n1
echo '@@local_routes'; ip -4 route show table local 2>/dev/null; ip -6 route show table local 2>/dev/null
echo '@@route6'; ip -6 route get 2404:6800:400a:800::1012 2>/dev/null | head -n1
echo '@@net'; for d in $(ls -U /sys/class/net 2>/dev/null); do p=/sys/class/net/$d; [ -d "$p" ] || continue; echo "dev $d"
  [ -e "$p/address" ] && echo "address $(cat "$p/address" 2>/dev/null)"
  [ -e "$p/mtu" ] && echo "mtu $(cat "$p/mtu" 2>/dev/null)"
  [ -e "$p/operstate" ] && echo "operstate $(cat "$p/operstate" 2>/dev/null)"
  [ -e "$p/device/driver/module" ] && echo "module $(basename "$(readlink -f "$p/device/driver/module")")"
  [ -e "$p/type" ] && echo "type $(cat "$p/type" 2>/dev/null)"
  [ -e "$p/bridge" ] && echo "bridge $(ls -U "$p/brif" 2>/dev/null | tr '\n' ' ')" && echo "bridge_id $(cat "$p/bridge/bridge_id" 2>/dev/null)" && echo "stp $(cat "$p/bridge/stp_state" 2>/dev/null)"
  [ -e "$p/device" ] && echo "pciid $(basename "$(readlink "$p/device")")"
  [ -e "$p/speed" ] && s=$(cat "$p/speed" 2>/dev/null) && [ -n "$s" ] && echo "speed $s"
  [ -e "$p/flags" ] && echo "flags $(cat "$p/flags" 2>/dev/null)"
  ip addr show primary dev "$d" 2>/dev/null | sed -n 's/^ *\(inet6\{0,1\} \)/primary \1/p'
  ip addr show secondary dev "$d" 2>/dev/null | sed -n 's/^ *\(inet6\{0,1\} \)/secondary \1/p'
done
echo '@@mounts'; cat /proc/self/mounts 2>/dev/null
echo '@@statvfs'; awk '$1 ~ /^\// || $1 ~ /:\// { print $2 }' /proc/self/mounts 2>/dev/null | while read -r m; do m=$(printf '%b' "$(echo "$m" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')"); printf '%s\t' "$m"; stat -f -c '%S %s %b %a %f %c %d' "$m" 2>/dev/null || echo; done
echo '@@lsblk'; lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null
echo '@@bind'; findmnt --list --noheadings --notruncate 2>/dev/null
echo '@@block'; for b in /sys/block/*; do [ -d "$b" ] || continue; d=${b##*/}; echo "dev $d"
  for f in removable queue/rotational size queue/logical_block_size queue/physical_block_size queue/discard_granularity queue/scheduler device/vendor device/model device/sas_address device/sas_device_handle; do [ -r "$b/$f" ] && echo "$f $(cat "$b/$f" 2>/dev/null)"; done
  [ ! -L "$b" ] && [ -e "$b/device" ] && echo "hasdevice"; echo "holders $(ls "$b/holders" 2>/dev/null | tr '\n' ' ')"
  for p in "$b/$d"*; do [ -d "$p" ] || continue; echo "part ${p##*/} $(cat "$p/start" 2>/dev/null) $(cat "$p/size" 2>/dev/null) holders=$(ls "$p/holders" 2>/dev/null | tr '\n' ',')"; done
done
echo '@@disklinks'; for k in ids uuids labels; do case $k in ids) s=by-id;; uuids) s=by-uuid;; labels) s=by-label;; esac; for l in /dev/disk/$s/*; do [ -L "$l" ] && echo "$k ${l##*/} $(basename "$(readlink -f "$l")")"; done; done
echo '@@machine_id'; cat /etc/machine-id 2>/dev/null || cat /var/lib/dbus/machine-id 2>/dev/null
echo '@@resolv'; cat /etc/resolv.conf 2>/dev/null
echo '@@date'; date '+%Y-%m-%d %H:%M:%S %s %Z %z %A %B %j %w %W %N'; TZ= date '+%Y-%m-%d %H:%M:%S'
echo '@@uptime'; cat /proc/uptime 2>/dev/null; cat /proc/loadavg 2>/dev/null
echo '@@cmdline'; cat /proc/cmdline 2>/dev/null
echo '@@selinux'; command -v getenforce >/dev/null 2>&1 && getenforce 2>/dev/null; [ -d /sys/fs/selinux ] && echo present
echo '@@apparmor'; [ -e /sys/kernel/security/apparmor ] && echo enabled
echo '@@fips'; cat /proc/sys/crypto/fips_enabled 2>/dev/null
echo '@@chroot'; [ "$(stat -c %d:%i / 2>/dev/null)" = "$(stat -c %d:%i /proc/1/root/. 2>/dev/null)" ] && echo no || { [ -r /proc/1/root/. ] && echo yes || echo unknown; }
echo '@@dmi'; for f in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version chassis_type product_name product_serial product_uuid product_version product_family sys_vendor; do echo "$f $(cat /sys/devices/virtual/dmi/id/$f 2>/dev/null || echo NA)"; done
echo '@@virt'; grep -E '/docker(/|-[0-9a-f]+\.scope)|/lxc/|/machine.slice/machine-lxc|/system.slice/containerd.service' /proc/1/cgroup 2>/dev/null | sed 's/^/cgroup /'; tr '\0' '\n' < /proc/1/environ 2>/dev/null | grep '^container=' | sed 's/^/environ /'; [ -e /proc/vz ] && [ ! -e /proc/lve ] && echo openvz; echo "systemd_container $(cat /run/systemd/container 2>/dev/null)"; { [ -e /.dockerenv ] || [ -e /.dockerinit ]; } && echo dockerenv; [ -e /proc/xen ] && echo xen; grep -q '^model name.*QEMU Virtual CPU' /proc/cpuinfo 2>/dev/null && echo qemu; awk '{print "module " $1}' /proc/modules 2>/dev/null | grep -E '^module (kvm|vboxdrv|virtio)$'; [ -e /dev/kvm ] && echo devkvm
echo '@@sshkeys'; for k in dsa rsa ecdsa ed25519; do for f in /etc/ssh/ssh_host_${k}_key.pub /etc/ssh_host_${k}_key.pub /etc/openssh/ssh_host_${k}_key.pub; do [ -r "$f" ] && { echo "$k $(cat "$f")"; break; }; done; done
echo '@@userspace'; getconf LONG_BIT 2>/dev/null
echo '@@iscsi'; sed -n 's/^InitiatorName=//p' /etc/iscsi/initiatorname.iscsi 2>/dev/null
echo '@@nvme'; cat /etc/nvme/hostnqn 2>/dev/null
echo '@@env'; env
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
