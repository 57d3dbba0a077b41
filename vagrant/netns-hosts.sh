#!/usr/bin/env bash
# Light SSH target "hosts" for bosun's tests and benchmarks. Each host is a network +
# UTS + mount namespace running its own sshd on <ip>:22, with private tmpfs /root,
# /tmp and /srv; /usr, /etc and /var are the machine's own (install nothing there).
#
# Usage: vagrant/netns-hosts.sh up N | down N | status
#   Host i (1..N) is h$((FIRST+i)), veth vh$((FIRST+i)) on bridge br-bosun. Host k up to
#   89 is at 198.51.100.(10+k) (the bridge is 198.51.100.1/24; .100 and up belong to
#   nspawn containers on the same bridge). Host k from 90 to 9999 is IPv6 only, at
#   2001:db8::b:<k> (k's decimal digits as the last group, e.g. h1000 at
#   2001:db8::b:1000; the bridge is 2001:db8::b:1/112, and 2001:db8::/32 is
#   unreachable beyond it). A bridge takes 1023 ports at most.
# Environment:
#   BASE       state directory (default /var/tmp/bosun-hosts): client key, known_hosts,
#              inventory.ini, and h<k>/ with each host's config, host key, pidfile, log
#   KEY        client public key to authorize (default $BASE/id_ed25519.pub, generated
#              with its private key when absent)
#   FIRST      index offset (default 0): runs with disjoint ranges can coexist
#   OWNER_PID  the process that owns these hosts (test harnesses set it): when that
#              process is gone, another BASE may take its indices over
#   MAXSTARTUPS  sshd's MaxStartups (default 100:30:200; OpenSSH's own is 10:30:100)
# `up` is idempotent: running hosts of this BASE are kept. `down` removes only what
# this BASE made (sshd and its sessions, veth, namespace), and the bridge once no host
# is left on it. Hosts are recorded in /run/bosun-hosts/h<k> (which BASE, which owner).
# Fleets past h89 add the bridge's IPv6 side (ensure_ipv6) and, when large, raise the
# kernel's neighbour table thresholds (raise_neigh_limits); `down` undoes both once no
# host past h89 is left (restore_machine).
set -euo pipefail
# shellcheck source=vagrant/bridge.sh
. "$(dirname "$0")/bridge.sh"

MAX=9999
V4_MAX=89
RUN=/run/bosun-hosts
SSHD=/usr/sbin/sshd

die() {
  echo "netns-hosts.sh: $*" >&2
  exit 1
}

usage() {
  die "usage: [BASE=dir] [KEY=id.pub] [FIRST=k] $0 up N | down N | status"
}

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN)"
for tool in ip unshare flock ssh-keygen; do
  command -v "$tool" >/dev/null || die "$tool not found: run 'bash .ci/setup' (installs iproute2, util-linux, openssh-client)"
done

cmd=${1:-}
N=${2:-}
FIRST=${FIRST:-0}
BASE=$(realpath -m "${BASE:-/var/tmp/bosun-hosts}")
OWNER_PID=${OWNER_PID:-}
MAXSTARTUPS=${MAXSTARTUPS:-100:30:200}

case "$cmd" in
  up | down)
    [[ "$N" =~ ^[0-9]+$ && "$N" -ge 1 ]] || usage
    [[ "$FIRST" =~ ^[0-9]+$ ]] || die "FIRST must be a number, not '$FIRST'"
    [ $((FIRST + N)) -le $MAX ] || die "FIRST+N = $((FIRST + N)) is above $MAX (the last address 2001:db8::b:$MAX)"
    [[ "$MAXSTARTUPS" =~ ^[0-9]+(:[0-9]+:[0-9]+)?$ ]] || die "MAXSTARTUPS must look like 10:30:100, not '$MAXSTARTUPS'"
    ;;
  status) ;;
  *) usage ;;
esac

# Serialises this script's runs: bridge creation and removal, markers.
mkdir -p "$RUN"
exec 9>"$RUN/lock"
flock 9

# The PID in $1's sshd pidfile, if that process still lives in netns $2.
sshd_pid() {
  local pid
  read -r pid 2>/dev/null <"$1/sshd.pid" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "/proc/$pid/ns/net" -ef "/run/netns/$2" ] || return 1
  echo "$pid"
}

# Sets IP to host $1's address: IPv4 up to index $V4_MAX, IPv6 beyond (one group of
# decimal digits, so the address reads as the index and is already in the canonical
# form ssh and known_hosts use).
host_ip() {
  if [ "$1" -le $V4_MAX ]; then
    IP=198.51.100.$((10 + $1))
  else
    IP=2001:db8::b:$1
  fi
}

# The hosts recorded in $RUN, in index order.
markers() {
  find "$RUN" -maxdepth 1 -name 'h[0-9]*' -printf '%f\n' | sort -V
}

# Field $2 (1: BASE, 2: owner PID) of host $1's marker.
marker() {
  local lines=()
  [ -f "$RUN/$1" ] && mapfile -t lines <"$RUN/$1"
  echo "${lines[$2 - 1]:-}"
}

# The PIDs of every process in the namespaces of hosts $@, in one pass over /proc.
host_pids() {
  local h inodes=""
  for h; do
    [ -e "/run/netns/$h" ] && inodes+=" $(stat -L -c %i "/run/netns/$h")"
  done
  [ -n "$inodes" ] || return 0
  # "/proc/PID/ns/net -> net:[INODE]" for every process, zombies excepted; processes
  # that end meanwhile make stat fail.
  { stat -c '%n %N' /proc/[0-9]*/ns/net 2>/dev/null || true; } |
    awk -v inodes="$inodes" '
      BEGIN { n = split(inodes, list, " "); for (i = 1; i <= n; i++) ours["net:[" list[i] "]"] = 1 }
      { link = $NF; gsub(/\047/, "", link); split($1, path, "/") }
      link in ours { print path[3] }'
}

# Stops everything running in hosts $@ (the sshd by its pidfile, then the sessions it
# forked), then removes their veths, namespaces and markers.
remove_hosts() {
  local h pid pids batch=""
  [ $# -gt 0 ] || return 0
  for h; do
    if pid=$(sshd_pid "$(marker "$h" 1)/$h" "$h"); then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  pids=$(host_pids "$@")
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -TERM $pids 2>/dev/null || true
  for _ in $(seq 100); do
    pids=$(host_pids "$@")
    [ -z "$pids" ] && break
    sleep 0.02
  done
  # shellcheck disable=SC2086
  [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  for h; do
    rm -f "$(marker "$h" 1)/$h/sshd.pid" "$RUN/$h"
    batch+="netns del $h"$'\n'
  done
  # Without processes or a name, a namespace goes, and its veth with it: the kernel
  # removes them together, much faster than one `ip link del` each.
  ip -force -batch - <<<"$batch" >/dev/null 2>&1 || true
  for _ in $(seq 250); do
    [ -z "$(veths_of "$@")" ] && return
    sleep 0.02
  done
  for h in $(veths_of "$@"); do ip link del "$h" 2>/dev/null || true; done
}

# The root-namespace veths of hosts $@ that still exist.
veths_of() {
  ip -o link show | awk -F': ' -v hosts=" $* " '
    { name = $2; sub(/@.*/, "", name) }
    name ~ /^vh[0-9]+$/ && index(hosts, " " substr(name, 2) " ") { print name }'
}

# Rewrites $BASE/known_hosts and $BASE/inventory.ini from the hosts this BASE owns.
write_lists() {
  local h k type key known="" inv=""
  for h in $(markers); do
    [ "$(marker "$h" 1)" = "$BASE" ] || continue
    k=${h#h}
    host_ip "$k"
    read -r type key _ <"$BASE/$h/hostkey.pub"
    known+="$IP $type $key"$'\n'
    inv+="$h ansible_host=$IP ansible_user=root ansible_ssh_private_key_file=$PRIV"$'\n'
  done
  printf '%s' "$known" >"$BASE/known_hosts"
  {
    echo "# Written by vagrant/netns-hosts.sh: the hosts of BASE=$BASE"
    printf '%s' "$inv"
    echo
    echo "[all:vars]"
    echo "ansible_ssh_common_args='-o UserKnownHostsFile=$BASE/known_hosts -o StrictHostKeyChecking=yes'"
  } >"$BASE/inventory.ini"
}

client_key() {
  if [ -z "${KEY:-}" ]; then
    KEY=$BASE/id_ed25519.pub
    [ -f "$BASE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C bosun-test -f "$BASE/id_ed25519"
  fi
  PUB=$(realpath -m "${KEY%.pub}.pub")
  PRIV=${PUB%.pub}
  [ -f "$PUB" ] || die "KEY: no public key at $PUB (ssh-keygen -t ed25519 -N '' -f ${PUB%.pub})"
}

# sshd_config for every host, with @IP@ standing for the host's address.
config_template() {
  cat <<EOF
# Written by vagrant/netns-hosts.sh. Inside the host, this directory is /srv/sshd.
Port 22
ListenAddress @IP@
HostKey /srv/sshd/hostkey
PidFile /srv/sshd/sshd.pid
AuthorizedKeysFile /srv/sshd/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 50
MaxStartups $MAXSTARTUPS
Subsystem sftp internal-sftp
LogLevel VERBOSE
PrintMotd no
PrintLastLog no
X11Forwarding no
UseDNS no
EOF
}

# Starts hosts $@ (indices) of this BASE: namespaces and veths in one batch, then
# every sshd at once.
start_hosts() {
  local k h d batch="" config pubkey cidr nodad v6=()
  config=$(config_template)
  pubkey=$(<"$PUB")
  # Per host, only builtins (and ssh-keygen for a new host key, in parallel).
  for k; do
    h=h$k
    d=$BASE/$h
    host_ip "$k"
    [ "$k" -le $V4_MAX ] || v6+=("$k")
    [ -d "$d" ] || mkdir -p "$d"
    [ -f "$d/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$d/hostkey" &
    printf '%s\n' "$pubkey" >"$d/authorized_keys"
    printf '%s\n' "${config//@IP@/$IP}" >"$d/sshd_config"
    : >"$d/sshd.pid"
    printf '%s\n%s\n' "$BASE" "$OWNER_PID" >"$RUN/$h"
    batch+="netns add $h"$'\n'"link add v$h type veth peer name eth0 netns $h"$'\n'
  done
  wait
  ip -batch - <<<"$batch" || die "creating namespaces and veths failed (see above); '$0 down $N' cleans up"
  # An IPv6 host's bridge port carries no IPv6 of its own: no link-local address, no
  # route, no neighbour discovery and multicast joins on 1000 ports of the machine.
  for k in ${v6[@]+"${v6[@]}"}; do
    echo 1 >"/proc/sys/net/ipv6/conf/vh$k/disable_ipv6"
  done
  batch=""
  for k; do
    batch+="link set vh$k master $BR up"$'\n'
  done
  ip -batch - <<<"$batch" || die "attaching veths to $BR failed (see above); '$0 down $N' cleans up"
  # The previous host at each address had another MAC: a stale neighbour entry would
  # keep the new one unreachable for up to a minute.
  batch=""
  for k; do
    host_ip "$k"
    batch+="neigh flush to $IP dev $BR"$'\n'
  done
  ip -force -batch - <<<"$batch" >/dev/null 2>&1 || true
  for k; do
    h=h$k
    d=$BASE/$h
    host_ip "$k"
    cidr=$IP/24 nodad=""
    [ "$k" -le $V4_MAX ] || cidr=$IP/112 nodad=" nodad"
    # Inside the host: address, hostname, private mounts, then sshd, which
    # daemonises: the namespaces live on in it. fd 9 (the lock) must not leak. An
    # IPv6 host asks for no router and checks no address for duplicates (the
    # script hands each out once): its address works at once, and 1000 hosts send
    # no burst of solicitations the bridge would copy to every port.
    # shellcheck disable=SC2016
    ip netns exec "$h" unshare --mount --uts --propagation private sh -c '
      set -e
      if [ -n "$5" ]; then
        for f in accept_ra router_solicitations dad_transmits; do
          echo 0 >/proc/sys/net/ipv6/conf/eth0/$f
        done
      fi
      printf "addr add %s dev eth0%s\nlink set lo up\nlink set eth0 up\n" "$4" "$5" | ip -batch -
      hostname "$1"
      mount -t tmpfs -o mode=755 tmpfs /srv
      mkdir /srv/sshd
      mount --bind "$2" /srv/sshd
      mount -t tmpfs -o mode=700 tmpfs /root
      mount -t tmpfs -o mode=1777 tmpfs /tmp
      exec "$3" -f /srv/sshd/sshd_config -E /srv/sshd/sshd.log' \
      sh "$h" "$d" "$SSHD" "$cidr" "$nodad" </dev/null >"$d/start.log" 2>&1 9>&- &
  done
  wait
}

# The bridge's IPv6 side, for hosts past index $V4_MAX: 2001:db8::b:1/112 on the bridge
# (no duplicate check: the address is ours), and the rest of 2001:db8::/32 unreachable,
# so no packet for a documentation address ever leaves by the machine's default route.
ensure_ipv6() {
  echo 0 >"/proc/sys/net/ipv6/conf/$BR/disable_ipv6"
  ip -6 addr replace 2001:db8::b:1/112 dev "$BR" nodad
  ip -6 route replace unreachable 2001:db8::/32
}

# The kernel's ARP and NDP tables are shared by every namespace and hold gc_thresh3
# entries (1024 by default) at most; past that, new neighbours are refused ("neighbour
# table overflow") and connections to them stall. A host costs about two entries (the
# bridge's for the host, the host's for the bridge). Raises gc_thresh2 and gc_thresh3
# for $1 hosts on the bridge where they are lower (never for a fleet of tens); the
# values they had are kept in $RUN/neigh.saved until restore_machine.
raise_neigh_limits() {
  local fam t want cur path
  for fam in ipv4 ipv6; do
    for t in 2 3; do
      path=/proc/sys/net/$fam/neigh/default/gc_thresh$t
      want=$((t == 3 ? 3 * $1 + 256 : 2 * $1 + 128))
      read -r cur <"$path"
      [ "$cur" -lt "$want" ] || continue
      grep -qs "^$path " "$RUN/neigh.saved" || echo "$path $cur" >>"$RUN/neigh.saved"
      echo "$want" >"$path"
    done
  done
}

# Once no host past index $V4_MAX is left (only those need either): the machine's
# neighbour limits as they were, and no IPv6 address or route of ensure_ipv6.
restore_machine() {
  local h path value
  for h in $(markers); do
    [ "${h#h}" -le $V4_MAX ] || return 0
  done
  ip -6 route del unreachable 2001:db8::/32 2>/dev/null || true
  ip -6 addr del 2001:db8::b:1/112 dev "$BR" 2>/dev/null || true
  if [ -f "$RUN/neigh.saved" ]; then
    while read -r path value; do
      echo "$value" >"$path"
    done <"$RUN/neigh.saved"
    rm -f "$RUN/neigh.saved"
  fi
}

# "h1..hN at ..." for the hosts FIRST+1..FIRST+N.
describe_range() {
  local lo=$((FIRST + 1)) hi=$((FIRST + N)) text
  text="h$lo..h$hi at"
  [ "$lo" -gt $V4_MAX ] || text+=" 198.51.100.$((10 + lo))-$((10 + (hi < V4_MAX ? hi : V4_MAX)))"
  [ "$lo" -gt $V4_MAX ] || [ "$hi" -le $V4_MAX ] || text+=" and"
  [ "$hi" -le $V4_MAX ] || text+=" 2001:db8::b:$((lo > V4_MAX ? lo : V4_MAX + 1))-$hi"
  echo "$text"
}

up() {
  [ -x "$SSHD" ] || die "$SSHD not found: run 'bash .ci/setup' (or apt-get install openssh-server)"
  local start=$EPOCHREALTIME i j k h d owner opid new=() stale=() failed=0 secs ports link
  local -A links=()
  mkdir -p "$BASE" /run/sshd
  client_key
  ensure_bridge
  [ $((FIRST + N)) -le $V4_MAX ] || ensure_ipv6
  while read -r link; do
    links[$link]=1
  done < <(ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }')
  for i in $(seq 1 "$N"); do
    k=$((FIRST + i))
    h=h$k
    if [ -e "/run/netns/$h" ] || [ -e "$RUN/$h" ] || [ -n "${links[v$h]:-}" ]; then
      owner=$(marker "$h" 1)
      opid=$(marker "$h" 2)
      if [ "$owner" = "$BASE" ] && sshd_pid "$BASE/$h" "$h" >/dev/null; then
        cp "$PUB" "$BASE/$h/authorized_keys"
        continue
      elif [ "$owner" = "$BASE" ] || { [ -n "$opid" ] && ! kill -0 "$opid" 2>/dev/null; }; then
        stale+=("$h")
      elif [ -n "$owner" ]; then
        host_ip "$k"
        die "$h ($IP) belongs to BASE=$owner${opid:+ (process $opid)}: choose another FIRST, or remove it with: BASE=$owner FIRST=$((k - 1)) $0 down 1"
      else
        die "$h exists (netns or veth v$h) but was not made by this script: remove it (ip netns del $h; ip link del v$h) or choose another FIRST"
      fi
    fi
    new+=("$k")
  done
  remove_hosts "${stale[@]}"
  ports=$(ip -o link show master "$BR" | wc -l)
  [ $((ports + ${#new[@]})) -le 1023 ] || die "$BR has $ports ports and takes 1023 at most: no room for ${#new[@]} more hosts"
  raise_neigh_limits $((ports + ${#new[@]}))
  [ ${#new[@]} -eq 0 ] || start_hosts "${new[@]}"
  # sshd writes its pidfile once it listens.
  for k in "${new[@]}"; do
    d=$BASE/h$k
    for ((j = 0; j < 200; j++)); do
      [ -s "$d/sshd.pid" ] && break
      sleep 0.02
    done
    if ! sshd_pid "$d" "h$k" >/dev/null; then
      echo "netns-hosts.sh: h$k: sshd is not running; $d/start.log and sshd.log say:" >&2
      tail -n 5 "$d/start.log" "$d/sshd.log" >&2 2>/dev/null || true
      failed=1
    fi
  done
  write_lists
  [ "$failed" = 0 ] || die "some hosts did not start; '$0 down $N' removes them"
  secs=$(echo "$EPOCHREALTIME $start" | awk '{printf "%.2f", $1 - $2}')
  cat <<EOF
up: $(describe_range) (${#new[@]} started, $((N - ${#new[@]})) already running) in ${secs}s
client key:  $PRIV (authorized: $PUB)
known_hosts: $BASE/known_hosts
inventory:   $BASE/inventory.ini
logs:        $BASE/h<k>/sshd.log
try:         ssh -i $PRIV -o UserKnownHostsFile=$BASE/known_hosts root@$(host_ip $((FIRST + 1)) && echo "$IP") hostname
EOF
}

down() {
  local i h owner mine=()
  for i in $(seq 1 "$N"); do
    h=h$((FIRST + i))
    owner=$(marker "$h" 1)
    if [ "$owner" = "$BASE" ]; then
      mine+=("$h")
    elif [ -n "$owner" ]; then
      echo "netns-hosts.sh: $h belongs to BASE=$owner: left alone" >&2
    fi
  done
  remove_hosts "${mine[@]}"
  if [ -d "$BASE" ]; then
    PRIV=$BASE/id_ed25519
    [ -z "${KEY:-}" ] || PRIV=$(realpath -m "${KEY%.pub}")
    write_lists
  fi
  restore_machine
  remove_bridge_if_empty "${#mine[@]} host(s)"
}

status() {
  local h k owner opid pid state d
  if ip link show "$BR" >/dev/null 2>&1; then
    echo "bridge $BR: $(ip -br addr show "$BR" | awk '{print $2, $3}')"
  else
    echo "bridge $BR: absent"
  fi
  for h in $(markers); do
    k=${h#h}
    owner=$(marker "$h" 1)
    opid=$(marker "$h" 2)
    d=$owner/$h
    if pid=$(sshd_pid "$d" "$h"); then
      state="sshd $pid"
    else
      state="sshd NOT RUNNING"
    fi
    [ -z "$opid" ] || kill -0 "$opid" 2>/dev/null || state+=", owner $opid gone"
    [ "$owner" = "$BASE" ] || state+=", BASE=$owner"
    host_ip "$k"
    printf '%-4s %-14s %s\n' "$h" "$IP" "$state"
  done
  echo "this BASE: $BASE (known_hosts, inventory.ini, h<k>/sshd.log)"
}

"$cmd"
