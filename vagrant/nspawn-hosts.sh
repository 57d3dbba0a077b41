#!/usr/bin/env bash
# Debian 12 containers for bosun's tests and for trying playbooks: each one is booted by
# `systemd-nspawn -b` with systemd as PID 1, runs the distribution's sshd on :22, and has
# its own root filesystem (an overlay on one cached base rootfs), so real `systemctl`
# and real `apt-get` work. The base holds no nginx, docker or gunicorn: playbooks
# install those.
#
# Usage: vagrant/nspawn-hosts.sh build | up N | down N | status
#   build  debootstraps the base rootfs into $CACHE/rootfs-bookworm, once (again only
#          when it is missing or BUILD_VERSION below changes); `up` runs it first.
#   up N   boots containers i = 1..N: c$((FIRST+i)) at 198.51.100.$((100+FIRST+i)),
#          veth vc$((FIRST+i)) on bridge br-bosun (198.51.100.1/24), a fresh overlay
#          each time; waits until every sshd answers; writes $BASE/inventory.ini and
#          $BASE/known_hosts.
#   down N powers them off, removes overlays, veths and namespaces, and the package
#          access rules once no container is left.
# Environment:
#   BASE       state directory (default /var/tmp/bosun-nspawn): client key, known_hosts,
#              inventory.ini, and c<k>/ with each container's overlay, host key,
#              console.log and nspawn.pid
#   CACHE      where the base rootfs is kept (default /var/cache/bosun)
#   MIRROR     Debian mirror for debootstrap (default: the one this machine uses)
#   KEY        client public key to authorize for root (default $BASE/id_ed25519.pub,
#              generated with its private key when absent)
#   FIRST      index offset (default 0): runs with disjoint ranges can coexist
#   OWNER_PID  the process that owns these containers (test harnesses set it)
#   NAT        1 (default): containers reach the Debian mirrors of their apt sources
#              through NAT, and nothing else; 0: no route out (offline)
#   NSPAWN_EXTRA  more systemd-nspawn flags
#   DOCKER     1: the containers can run Docker (the base still holds none): booted with
#              the unified cgroup hierarchy, every capability, the keyring and bpf system
#              calls, IPv4 forwarding in their network namespace, and their own empty
#              directory $BASE/c<k>/docker bound to /var/lib/docker (an overlayfs root
#              cannot hold Docker's overlay2 layers); `down` removes that directory
#
# Package access (NAT=1): the mirror host names in the base's apt sources are resolved
# here at `up`, written to each container's /etc/hosts (no DNS needed inside), and
# only TCP 80/443 to those addresses is forwarded and masqueraded, in the chains
# BOSUN-NSPAWN-FWD (filter) and BOSUN-NSPAWN-NAT (nat); net.ipv4.ip_forward is turned on
# and put back as it was when the last container goes down.
#
# No systemd as PID 1 on this machine: nspawn runs with --register=no --keep-unit.
# Containers are recorded in /run/bosun-hosts/c<k> (which BASE, which owner), beside
# vagrant/netns-hosts.sh's h<k>; both scripts share its lock and the bridge.
set -euo pipefail
# shellcheck source=vagrant/bridge.sh
. "$(dirname "$0")/bridge.sh"

BUILD_VERSION=3
MAX=154
RUN=/run/bosun-hosts
PACKAGES=systemd-sysv,dbus,openssh-server,sudo,ca-certificates,iproute2,procps

die() {
  echo "nspawn-hosts.sh: $*" >&2
  exit 1
}

usage() {
  die "usage: [BASE=dir] [KEY=id.pub] [FIRST=k] [NAT=0|1] [DOCKER=0|1] $0 build | up N | down N | status"
}

[ "$(id -u)" = 0 ] || die "must run as root (containers need CAP_SYS_ADMIN and CAP_NET_ADMIN)"

cmd=${1:-}
N=${2:-}
FIRST=${FIRST:-0}
BASE=$(realpath -m "${BASE:-/var/tmp/bosun-nspawn}")
CACHE=$(realpath -m "${CACHE:-/var/cache/bosun}")
ROOTFS=$CACHE/rootfs-bookworm
OWNER_PID=${OWNER_PID:-}
NAT=${NAT:-1}
DOCKER=${DOCKER:-0}

case "$cmd" in
  up | down)
    [[ "$N" =~ ^[0-9]+$ && "$N" -ge 1 ]] || usage
    [[ "$FIRST" =~ ^[0-9]+$ ]] || die "FIRST must be a number, not '$FIRST'"
    [ $((FIRST + N)) -le $MAX ] || die "FIRST+N = $((FIRST + N)) is above $MAX (198.51.100.254 is the last address)"
    ;;
  build | status) ;;
  *) usage ;;
esac

need() {
  local tool
  for tool; do
    command -v "$tool" >/dev/null || die "$tool not found: run 'bash .ci/setup' (installs debootstrap, systemd-container, iptables, iproute2, openssh-client)"
  done
}

secs_since() {
  echo "$EPOCHREALTIME $1" | awk '{printf "%.1f", $1 - $2}'
}

# ---- build ---------------------------------------------------------------------------

default_mirror() {
  local uri
  uri=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $0 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build() {
  need debootstrap flock
  mkdir -p "$CACHE"
  exec 8>"$CACHE/build.lock"
  flock 8
  if [ -x "$ROOTFS/usr/sbin/sshd" ] && [ "$(cat "$ROOTFS.version" 2>/dev/null)" = "$BUILD_VERSION" ]; then
    return 0
  fi
  if grep -q "lowerdir=${ROOTFS}[,:]" /proc/mounts; then
    die "$ROOTFS must be rebuilt (version $BUILD_VERSION) but containers still run on it: '$0 down N' first"
  fi
  local start=$EPOCHREALTIME mirror tmp=$ROOTFS.new
  mirror=${MIRROR:-$(default_mirror)}
  rm -rf "$tmp"
  echo "build: debootstrap bookworm from $mirror into $ROOTFS (a few minutes, once)" >&2
  debootstrap --variant=minbase --include="$PACKAGES" bookworm "$tmp" "$mirror" \
    >"$CACHE/build.log" 2>&1 || die "debootstrap failed; see $CACHE/build.log"
  configure_rootfs "$tmp" "$mirror"
  rm -rf "$ROOTFS"
  mv "$tmp" "$ROOTFS"
  echo "$BUILD_VERSION" >"$ROOTFS.version"
  echo "build: $ROOTFS ready in $(secs_since "$start")s ($(du -sh "$ROOTFS" | cut -f1))" >&2
}

# Settings every container shares, written into the base rootfs $1 (mirror $2).
configure_rootfs() {
  local r=$1 mirror=$2 unit
  # The mirror this machine uses, with the same suites and apt settings.
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$r/etc/apt/sources.list.d/debian.sources"
    rm -f "$r/etc/apt/sources.list"
  else
    echo "deb $mirror bookworm main" >"$r/etc/apt/sources.list"
  fi
  if grep -rqs 'Check-Valid-Until' /etc/apt/apt.conf.d/; then
    printf 'Acquire::Check-Valid-Until "false";\nAcquire::Check-Date "false";\n' \
      >"$r/etc/apt/apt.conf.d/99bosun-snapshot"
  fi
  # Test hosts: keys only, room for many channels and connection bursts.
  cat >"$r/etc/ssh/sshd_config.d/bosun.conf" <<'EOF'
# Written by vagrant/nspawn-hosts.sh
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
MaxSessions 50
MaxStartups 100:30:200
UseDNS no
PrintMotd no
EOF
  # Every container gets its own host key at `up`.
  rm -f "$r"/etc/ssh/ssh_host_*
  # Nothing configures the network inside (mgmt0 is set up from outside), and apt's
  # timers must not take the dpkg lock in the middle of a test.
  for unit in systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service; do
    ln -sf /dev/null "$r/etc/systemd/system/$unit"
  done
  rm -f "$r/etc/resolv.conf" "$r/etc/hostname"
  : >"$r/etc/machine-id"
  rm -f "$r/var/lib/dbus/machine-id"
  # No package lists, as after debootstrap, and dated so that they read as never
  # updated: `cache_valid_time` then updates them, as on a fresh system.
  rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"*_* 2>/dev/null || true
  touch -d @0 "$r/var/lib/apt/lists"
}

# ---- markers and locking -------------------------------------------------------------

lock() {
  mkdir -p "$RUN"
  exec 9>"$RUN/lock"
  flock 9
}

unlock() {
  exec 9>&-
}

markers() {
  find "$RUN" -maxdepth 1 -name 'c[0-9]*' -printf '%f\n' 2>/dev/null | sort -V
}

# Field $2 (1: BASE, 2: owner PID) of container $1's marker.
marker() {
  local lines=()
  [ -f "$RUN/$1" ] && mapfile -t lines <"$RUN/$1"
  echo "${lines[$2 - 1]:-}"
}

# The PID of the systemd-nspawn that runs container dir $1, if it still runs.
nspawn_pid() {
  local pid
  read -r pid 2>/dev/null <"$1/nspawn.pid" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "-D $1/merged " || return 1
  echo "$pid"
}

# ---- package access ------------------------------------------------------------------

uplink() {
  ip route show default | awk '{ for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit } }'
}

# The host names of the mirrors in the base's apt sources.
mirror_hosts() {
  cat "$ROOTFS/etc/apt/sources.list" "$ROOTFS"/etc/apt/sources.list.d/*.sources \
    "$ROOTFS"/etc/apt/sources.list.d/*.list 2>/dev/null |
    grep -v '^[[:space:]]*#' | grep -oE 'https?://[^/ ]+' | sed -E 's#https?://##; s#:.*##' | sort -u
}

# "ADDRESS NAME" for every mirror host name, resolved here.
mirror_addresses() {
  local name
  for name in $(mirror_hosts); do
    { getent ahostsv4 "$name" || true; } | awk -v n="$name" '$2 == "STREAM" { print $1, n }'
  done | sort -u
}

nat_on() {
  local out=$1 addresses=$2 ip
  need iptables
  [ -f "$RUN/ip_forward.saved" ] || sysctl -n net.ipv4.ip_forward >"$RUN/ip_forward.saved"
  sysctl -qw net.ipv4.ip_forward=1
  iptables -N BOSUN-NSPAWN-FWD 2>/dev/null || iptables -F BOSUN-NSPAWN-FWD
  iptables -t nat -N BOSUN-NSPAWN-NAT 2>/dev/null || iptables -t nat -F BOSUN-NSPAWN-NAT
  iptables -C FORWARD -j BOSUN-NSPAWN-FWD 2>/dev/null || iptables -I FORWARD -j BOSUN-NSPAWN-FWD
  iptables -t nat -C POSTROUTING -j BOSUN-NSPAWN-NAT 2>/dev/null ||
    iptables -t nat -I POSTROUTING -j BOSUN-NSPAWN-NAT
  iptables -A BOSUN-NSPAWN-FWD -o "$BR" -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
  while read -r ip; do
    iptables -A BOSUN-NSPAWN-FWD -i "$BR" -o "$out" -s 198.51.100.0/24 -d "$ip" -p tcp \
      -m multiport --dports 80,443 -j ACCEPT
    iptables -t nat -A BOSUN-NSPAWN-NAT -s 198.51.100.0/24 -d "$ip" -o "$out" -p tcp \
      -m multiport --dports 80,443 -j MASQUERADE
  done < <(awk '{ print $1 }' <<<"$addresses" | sort -u)
  iptables -A BOSUN-NSPAWN-FWD -i "$BR" -o "$out" -j REJECT
}

nat_off() {
  command -v iptables >/dev/null || return 0
  while iptables -D FORWARD -j BOSUN-NSPAWN-FWD 2>/dev/null; do :; done
  while iptables -t nat -D POSTROUTING -j BOSUN-NSPAWN-NAT 2>/dev/null; do :; done
  iptables -F BOSUN-NSPAWN-FWD 2>/dev/null && iptables -X BOSUN-NSPAWN-FWD
  iptables -t nat -F BOSUN-NSPAWN-NAT 2>/dev/null && iptables -t nat -X BOSUN-NSPAWN-NAT
  if [ -f "$RUN/ip_forward.saved" ]; then
    sysctl -qw net.ipv4.ip_forward="$(cat "$RUN/ip_forward.saved")"
    rm -f "$RUN/ip_forward.saved"
  fi
}

# ---- containers ----------------------------------------------------------------------

client_key() {
  if [ -z "${KEY:-}" ]; then
    KEY=$BASE/id_ed25519.pub
    [ -f "$BASE/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C bosun-test -f "$BASE/id_ed25519"
  fi
  PUB=$(realpath -m "${KEY%.pub}.pub")
  PRIV=${PUB%.pub}
  [ -f "$PUB" ] || die "KEY: no public key at $PUB (ssh-keygen -t ed25519 -N '' -f ${PUB%.pub})"
}

# Prepares container index $1: overlay mounted, identity written, namespace and veth
# made. $2 holds the "ADDRESS NAME" lines of the mirrors (empty when offline).
prepare() {
  local k=$1 addresses=$2 c=c$1 ip=198.51.100.$((100 + $1)) d=$BASE/c$1 m
  m=$d/merged
  mkdir -p "$d/upper" "$d/work" "$m"
  mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$d/upper,workdir=$d/work" "$m"
  echo "$c" >"$m/etc/hostname"
  {
    printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' "$c"
    [ -z "$addresses" ] || awk '{ printf "%s\t%s\n", $1, $2 }' <<<"$addresses"
  } >"$m/etc/hosts"
  cp /etc/resolv.conf "$m/etc/resolv.conf"
  [ -f "$d/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C "$c" -f "$d/hostkey"
  install -m 600 "$d/hostkey" "$m/etc/ssh/ssh_host_ed25519_key"
  install -m 644 "$d/hostkey.pub" "$m/etc/ssh/ssh_host_ed25519_key.pub"
  install -d -m 700 "$m/root/.ssh"
  install -m 600 "$PUB" "$m/root/.ssh/authorized_keys"
  printf '%s\n%s\n' "$BASE" "$OWNER_PID" >"$RUN/$c"
  ip netns add "$c"
  # Inside, the veth is mgmt0: no .network file matches it, so networkd leaves it alone.
  ip link add "vc$k" type veth peer name mgmt0 netns "$c"
  ip link set "vc$k" master "$BR" up
  ip -n "$c" addr add "$ip/24" dev mgmt0
  ip -n "$c" link set mgmt0 up
  ip -n "$c" link set lo up
  # The previous container at this address had another MAC: forget it now, or the
  # stale entry keeps the new one unreachable for up to a minute.
  ip neigh del "$ip" dev "$BR" 2>/dev/null || true
  [ -z "$addresses" ] || ip -n "$c" route add default via 198.51.100.1
  if [ "$DOCKER" = 1 ]; then
    # Docker's published ports and its containers' traffic are forwarded in this netns.
    ip netns exec "$c" sysctl -qw net.ipv4.ip_forward=1
    mkdir -p "$d/docker"
  fi
}

# The systemd-nspawn flags that let container dir $1 run Docker (DOCKER=1), else none.
docker_flags() {
  [ "$DOCKER" = 1 ] || return 0
  echo "--capability=all --system-call-filter=@keyring --system-call-filter=bpf --bind=$1/docker:/var/lib/docker"
}

# The cgroups container $1 runs in, one per hierarchy that systemd uses: without them,
# nspawn (--keep-unit, no systemd here) would put every container's systemd in the
# same /payload cgroup, where they fight over each other's units.
cgroups() {
  if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    echo "/sys/fs/cgroup/bosun-nspawn/$1"
  else
    [ "$(stat -fc %T /sys/fs/cgroup/unified 2>/dev/null)" != cgroup2fs ] ||
      echo "/sys/fs/cgroup/unified/bosun-nspawn/$1"
    [ ! -d /sys/fs/cgroup/systemd ] || echo "/sys/fs/cgroup/systemd/bosun-nspawn/$1"
  fi
}

boot() {
  local c=c$1 d=$BASE/c$1 cg groups docker
  groups=$(cgroups "$c")
  docker=$(docker_flags "$d")
  for cg in $groups; do mkdir -p "$cg"; done
  rm -f "$d/nspawn.pid"
  # shellcheck disable=SC2086
  (
    for cg in $groups; do echo "$BASHPID" >"$cg/cgroup.procs"; done
    [ -z "$docker" ] || export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
    # A reboot inside ends nspawn with status 133: boot again, as the
    # systemd-nspawn@.service unit does (RestartForceExitStatus=133).
    while :; do
      setsid systemd-nspawn -b -D "$d/merged" -M "$c" --register=no --keep-unit \
        --network-namespace-path="/run/netns/$c" --console=read-only $docker ${NSPAWN_EXTRA:-} &
      echo $! >"$d/nspawn.pid"
      rc=0
      wait $! || rc=$?
      [ "$rc" = 133 ] || break
    done
  ) </dev/null >"$d/console.log" 2>&1 9>&- 8>&- &
  for _ in $(seq 100); do
    [ -s "$d/nspawn.pid" ] && break
    sleep 0.05
  done
}

# The PIDs of every process left in the cgroups of container $1.
cgroup_pids() {
  local cg
  for cg in $(cgroups "$1"); do
    [ ! -d "$cg" ] || find "$cg" -name cgroup.procs -exec cat {} +
  done | sort -u
}

# Whether the sshd of container index $1 sends its banner.
ssh_answers() {
  local banner
  # shellcheck disable=SC2016 # $0 is expanded by the inner bash
  banner=$(timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/22" && head -c 7 <&3' \
    "198.51.100.$((100 + $1))" 2>/dev/null) || return 1
  [ "$banner" = "SSH-2.0" ]
}

# Powers off containers (indices $@) of this BASE all at once, then removes their
# overlays, veths and namespaces.
remove() {
  local k pid pids=() deadline cg left
  for k; do
    # nspawn forwards SIGTERM to systemd as a clean poweroff request.
    if pid=$(nspawn_pid "$BASE/c$k"); then
      kill -TERM "$pid" 2>/dev/null || true
      pids+=("$pid")
    fi
  done
  deadline=$((SECONDS + 10))
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  done
  # What did not halt is killed: nspawn and every process in the container's cgroups
  # (killing nspawn alone would leave the container's processes running).
  for k; do
    left=$(cgroup_pids "c$k")
    [ -z "$left" ] || echo "nspawn-hosts.sh: c$k did not halt in 10 s: killing its processes" >&2
    for _ in $(seq 50); do
      [ -n "$left" ] || break
      # shellcheck disable=SC2086
      kill -KILL $left 2>/dev/null || true
      sleep 0.1
      left=$(cgroup_pids "c$k")
    done
  done
  for k; do
    local d=$BASE/c$k
    rm -f "$d/nspawn.pid"
    if mountpoint -q "$d/merged"; then
      umount "$d/merged" 2>/dev/null || umount -l "$d/merged"
    fi
    rm -rf "$d/upper" "$d/work" "$d/merged" "$d/docker"
    ip link del "vc$k" 2>/dev/null || true
    ip netns del "c$k" 2>/dev/null || true
    ip neigh del "198.51.100.$((100 + k))" dev "$BR" 2>/dev/null || true
    for cg in $(cgroups "c$k"); do
      [ ! -d "$cg" ] || find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      rmdir "${cg%/*}" 2>/dev/null || true
    done
    # nspawn leaves this behind when /run is not a tmpfs.
    rm -rf "/run/systemd/nspawn/propagate/c$k"
    rm -f "$RUN/c$k"
  done
}

# Rewrites $BASE/known_hosts and $BASE/inventory.ini from the containers this BASE owns.
write_lists() {
  local c k known="" inv=""
  for c in $(markers); do
    [ "$(marker "$c" 1)" = "$BASE" ] || continue
    k=${c#c}
    known+="198.51.100.$((100 + k)) $(cut -d' ' -f1-2 "$BASE/$c/hostkey.pub")"$'\n'
    inv+="$c ansible_host=198.51.100.$((100 + k)) ansible_user=root ansible_ssh_private_key_file=$PRIV"$'\n'
  done
  printf '%s' "$known" >"$BASE/known_hosts"
  {
    echo "# Written by vagrant/nspawn-hosts.sh: the containers of BASE=$BASE"
    printf '%s' "$inv"
    echo
    echo "[all:vars]"
    echo "ansible_ssh_common_args='-o UserKnownHostsFile=$BASE/known_hosts -o StrictHostKeyChecking=yes'"
  } >"$BASE/inventory.ini"
}

up() {
  need systemd-nspawn ip ssh-keygen flock setsid timeout
  build
  local start=$EPOCHREALTIME i k c owner opid addresses="" out new=() failed=0 ready pid
  mkdir -p "$BASE"
  client_key
  if [ "$NAT" = 1 ]; then
    out=$(uplink)
    [ -n "$out" ] || die "NAT=1 but this machine has no default route; use NAT=0"
    addresses=$(mirror_addresses)
    [ -n "$addresses" ] || die "NAT=1 but the mirrors ($(mirror_hosts | xargs)) do not resolve here; use NAT=0"
  fi
  lock
  ensure_bridge
  [ "$NAT" != 1 ] || nat_on "$out" "$addresses"
  for i in $(seq 1 "$N"); do
    k=$((FIRST + i))
    c=c$k
    if [ -e "$RUN/$c" ] || [ -e "/run/netns/$c" ] || ip link show "vc$k" >/dev/null 2>&1; then
      owner=$(marker "$c" 1)
      opid=$(marker "$c" 2)
      if [ "$owner" = "$BASE" ] || { [ -n "$opid" ] && ! kill -0 "$opid" 2>/dev/null; }; then
        BASE=${owner:-$BASE} remove "$k"
      elif [ -n "$owner" ]; then
        die "$c (198.51.100.$((100 + k))) belongs to BASE=$owner${opid:+ (process $opid)}: choose another FIRST, or remove it with: BASE=$owner FIRST=$((k - 1)) $0 down 1"
      else
        die "$c exists (netns or veth vc$k) but was not made by this script: remove it (ip netns del $c; ip link del vc$k) or choose another FIRST"
      fi
    fi
    prepare "$k" "$addresses"
    new+=("$k")
  done
  unlock
  for k in "${new[@]}"; do boot "$k"; done
  for k in "${new[@]}"; do
    ready=0
    read -r pid <"$BASE/c$k/nspawn.pid"
    for _ in $(seq 300); do
      if ssh_answers "$k"; then
        ready=1
        break
      fi
      # (Not nspawn_pid: for a moment the PID is still the shell that runs nspawn.)
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if [ "$ready" = 0 ]; then
      echo "nspawn-hosts.sh: c$k: sshd does not answer; the end of $BASE/c$k/console.log:" >&2
      tail -n 15 "$BASE/c$k/console.log" >&2 || true
      failed=1
    fi
  done
  lock
  write_lists
  unlock
  [ "$failed" = 0 ] || die "some containers did not come up; '$0 down $N' removes them"
  cat <<EOF
up: c$((FIRST + 1))..c$((FIRST + N)) at 198.51.100.$((101 + FIRST))-$((100 + FIRST + N))$([ "$DOCKER" != 1 ] || echo " (Docker-capable)") in $(secs_since "$start")s (packages: $([ "$NAT" = 1 ] && echo "NAT to $(awk '{print $2}' <<<"$addresses" | sort -u | xargs)" || echo offline))
client key:  $PRIV (authorized: $PUB)
known_hosts: $BASE/known_hosts
inventory:   $BASE/inventory.ini
consoles:    $BASE/c<k>/console.log
try:         ssh -i $PRIV -o UserKnownHostsFile=$BASE/known_hosts root@198.51.100.$((101 + FIRST)) systemctl is-system-running
EOF
}

down() {
  local i c owner mine=()
  for i in $(seq 1 "$N"); do
    c=c$((FIRST + i))
    owner=$(marker "$c" 1)
    if [ "$owner" = "$BASE" ] || { [ -z "$owner" ] && [ -d "$BASE/$c" ]; }; then
      mine+=($((FIRST + i)))
    elif [ -n "$owner" ]; then
      echo "nspawn-hosts.sh: $c belongs to BASE=$owner: left alone" >&2
    fi
  done
  remove "${mine[@]}"
  lock
  if [ -z "$(markers)" ]; then
    nat_off
  fi
  if [ -d "$BASE" ]; then
    PRIV=$BASE/id_ed25519
    [ -z "${KEY:-}" ] || PRIV=$(realpath -m "${KEY%.pub}")
    write_lists
  fi
  remove_bridge_if_empty "${#mine[@]} container(s)"
  unlock
}

status() {
  local c k owner opid state
  if [ -x "$ROOTFS/usr/sbin/sshd" ]; then
    echo "base rootfs: $ROOTFS (version $(cat "$ROOTFS.version" 2>/dev/null || echo '?'), wanted $BUILD_VERSION)"
  else
    echo "base rootfs: $ROOTFS absent ('$0 build' makes it)"
  fi
  if ip link show "$BR" >/dev/null 2>&1; then
    echo "bridge $BR: $(ip -br addr show "$BR" | awk '{print $2, $3}')"
  else
    echo "bridge $BR: absent"
  fi
  if iptables -S BOSUN-NSPAWN-FWD >/dev/null 2>&1; then
    echo "package access: NAT on (ip_forward=$(sysctl -n net.ipv4.ip_forward))"
  else
    echo "package access: no NAT rules"
  fi
  for c in $(markers); do
    k=${c#c}
    owner=$(marker "$c" 1)
    opid=$(marker "$c" 2)
    if nspawn_pid "$owner/$c" >/dev/null; then
      state="running (nspawn $(nspawn_pid "$owner/$c"))"
    else
      state="NOT RUNNING"
    fi
    [ -z "$opid" ] || kill -0 "$opid" 2>/dev/null || state+=", owner $opid gone"
    [ "$owner" = "$BASE" ] || state+=", BASE=$owner"
    printf '%-5s 198.51.100.%-3s %s\n' "$c" $((100 + k)) "$state"
  done
  echo "this BASE: $BASE (known_hosts, inventory.ini, c<k>/console.log)"
}

"$cmd"
