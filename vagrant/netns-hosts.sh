#!/usr/bin/env bash
# Light SSH target "hosts" for bosun's tests and benchmarks. Each host is a network +
# UTS + mount namespace running its own sshd on <ip>:22, with private tmpfs /root,
# /tmp and /srv; /usr, /etc and /var are the machine's own (install nothing there).
#
# Usage: vagrant/netns-hosts.sh up N | down N | status
#   Host i (1..N) is h$((FIRST+i)) at 198.51.100.$((10+FIRST+i)), veth vh$((FIRST+i))
#   on bridge br-bosun (198.51.100.1/24). Indices stop at 89: .100 and up belong to
#   nspawn containers on the same bridge.
# Environment:
#   BASE       state directory (default /var/tmp/bosun-hosts): client key, known_hosts,
#              inventory.ini, and h<k>/ with each host's config, host key, pidfile, log
#   KEY        client public key to authorize (default $BASE/id_ed25519.pub, generated
#              with its private key when absent)
#   FIRST      index offset (default 0): runs with disjoint ranges can coexist
#   OWNER_PID  the process that owns these hosts (test harnesses set it): when that
#              process is gone, another BASE may take its indices over
# `up` is idempotent: running hosts of this BASE are kept. `down` removes only what
# this BASE made (sshd and its sessions, veth, namespace), and the bridge once no host
# is left on it. Hosts are recorded in /run/bosun-hosts/h<k> (which BASE, which owner).
set -euo pipefail

BR=br-bosun
MAX=89
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

case "$cmd" in
  up | down)
    [[ "$N" =~ ^[0-9]+$ && "$N" -ge 1 ]] || usage
    [[ "$FIRST" =~ ^[0-9]+$ ]] || die "FIRST must be a number, not '$FIRST'"
    [ $((FIRST + N)) -le $MAX ] || die "FIRST+N = $((FIRST + N)) is above $MAX (198.51.100.100 and up belong to nspawn containers)"
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
  pid=$(cat "$1/sshd.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(ip netns identify "$pid" 2>/dev/null)" = "$2" ] || return 1
  echo "$pid"
}

# The hosts recorded in $RUN, in index order.
markers() {
  find "$RUN" -maxdepth 1 -name 'h[0-9]*' -printf '%f\n' | sort -V
}

# Field $2 (1: BASE, 2: owner PID) of host $1's marker.
marker() {
  sed -n "${2}p" "$RUN/$1" 2>/dev/null || true
}

# Stops everything running in host $1 (state dir $2), then removes its veth,
# namespace and marker.
remove_host() {
  local h=$1 d=$2 pid pids
  if pid=$(sshd_pid "$d" "$h"); then
    kill -TERM "$pid" 2>/dev/null || true
  fi
  # Sessions forked by sshd live on in the namespace: stop them by PID too.
  pids=$(ip netns pids "$h" 2>/dev/null || true)
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    for _ in $(seq 40); do
      pids=$(ip netns pids "$h" 2>/dev/null || true)
      [ -z "$pids" ] && break
      sleep 0.05
    done
    # shellcheck disable=SC2086
    [ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
  fi
  rm -f "$d/sshd.pid"
  ip link del "v$h" 2>/dev/null || true
  ip netns del "$h" 2>/dev/null || true
  rm -f "$RUN/$h"
}

# Rewrites $BASE/known_hosts and $BASE/inventory.ini from the hosts this BASE owns.
write_lists() {
  local h k known="" inv=""
  for h in $(markers); do
    [ "$(marker "$h" 1)" = "$BASE" ] || continue
    k=${h#h}
    known+="198.51.100.$((10 + k)) $(cut -d' ' -f1-2 "$BASE/$h/hostkey.pub")"$'\n'
    inv+="$h ansible_host=198.51.100.$((10 + k)) ansible_user=root ansible_ssh_private_key_file=$PRIV"$'\n'
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

write_config() {
  local d=$1 ip=$2
  cat >"$d/sshd_config" <<EOF
# Written by vagrant/netns-hosts.sh. Inside the host, $d is mounted at /srv/sshd.
Port 22
ListenAddress $ip
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
MaxStartups 100:30:200
Subsystem sftp internal-sftp
LogLevel VERBOSE
PrintMotd no
PrintLastLog no
X11Forwarding no
UseDNS no
EOF
}

up() {
  [ -x "$SSHD" ] || die "$SSHD not found: run 'bash .ci/setup' (or apt-get install openssh-server)"
  local start=$EPOCHREALTIME i k h ip d owner opid started=() failed=0
  mkdir -p "$BASE" /run/sshd
  client_key
  if ! ip link show "$BR" >/dev/null 2>&1; then
    ip link add "$BR" type bridge
    ip addr add 198.51.100.1/24 dev "$BR"
    ip link set "$BR" up
  fi
  for i in $(seq 1 "$N"); do
    k=$((FIRST + i))
    h=h$k
    ip=198.51.100.$((10 + k))
    d=$BASE/$h
    mkdir -p "$d"
    if [ -e "/run/netns/$h" ] || [ -e "$RUN/$h" ] || ip link show "v$h" >/dev/null 2>&1; then
      owner=$(marker "$h" 1)
      opid=$(marker "$h" 2)
      if [ "$owner" = "$BASE" ] && sshd_pid "$d" "$h" >/dev/null; then
        cp "$PUB" "$d/authorized_keys"
        continue
      elif [ "$owner" = "$BASE" ] || { [ -n "$opid" ] && ! kill -0 "$opid" 2>/dev/null; }; then
        remove_host "$h" "$owner/$h"
      elif [ -n "$owner" ]; then
        die "$h ($ip) belongs to BASE=$owner${opid:+ (process $opid)}: choose another FIRST, or remove it with: BASE=$owner FIRST=$((k - 1)) $0 down 1"
      else
        die "$h exists (netns or veth v$h) but was not made by this script: remove it (ip netns del $h; ip link del v$h) or choose another FIRST"
      fi
    fi
    [ -f "$d/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C "$h" -f "$d/hostkey"
    cp "$PUB" "$d/authorized_keys"
    write_config "$d" "$ip"
    rm -f "$d/sshd.pid"
    printf '%s\n%s\n' "$BASE" "$OWNER_PID" >"$RUN/$h"
    ip netns add "$h"
    ip link add "v$h" type veth peer name eth0 netns "$h"
    ip link set "v$h" master "$BR" up
    ip -n "$h" addr add "$ip/24" dev eth0
    ip -n "$h" link set lo up
    ip -n "$h" link set eth0 up
    # sshd daemonises: the namespaces live on in it. fd 9 (the lock) must not leak.
    # shellcheck disable=SC2016
    ip netns exec "$h" unshare --mount --uts --propagation private sh -c '
      set -e
      hostname "$1"
      mount -t tmpfs -o mode=755 tmpfs /srv
      mkdir /srv/sshd
      mount --bind "$2" /srv/sshd
      mount -t tmpfs -o mode=700 tmpfs /root
      mount -t tmpfs -o mode=1777 tmpfs /tmp
      exec "$3" -f /srv/sshd/sshd_config -E /srv/sshd/sshd.log' sh "$h" "$d" "$SSHD" \
      </dev/null >"$d/start.log" 2>&1 9>&- || {
      echo "netns-hosts.sh: $h: starting sshd failed: $(cat "$d/start.log")" >&2
      failed=1
    }
    started+=("$h")
  done
  # sshd writes its pidfile once it listens.
  for h in "${started[@]}"; do
    for _ in $(seq 200); do
      [ -s "$BASE/$h/sshd.pid" ] && break
      sleep 0.05
    done
    if ! sshd_pid "$BASE/$h" "$h" >/dev/null; then
      echo "netns-hosts.sh: $h: sshd is not running; its log $BASE/$h/sshd.log says:" >&2
      tail -n 5 "$BASE/$h/sshd.log" >&2 2>/dev/null || true
      failed=1
    fi
  done
  write_lists
  [ "$failed" = 0 ] || die "some hosts did not start; '$0 down $N' removes them"
  local secs
  secs=$(echo "$EPOCHREALTIME $start" | awk '{printf "%.2f", $1 - $2}')
  cat <<EOF
up: h$((FIRST + 1))..h$((FIRST + N)) at 198.51.100.$((11 + FIRST))-$((10 + FIRST + N)) (${#started[@]} started, $((N - ${#started[@]})) already running) in ${secs}s
client key:  $PRIV (authorized: $PUB)
known_hosts: $BASE/known_hosts
inventory:   $BASE/inventory.ini
logs:        $BASE/h<k>/sshd.log
try:         ssh -i $PRIV -o UserKnownHostsFile=$BASE/known_hosts root@198.51.100.$((11 + FIRST)) hostname
EOF
}

down() {
  local i k h owner removed=0
  for i in $(seq 1 "$N"); do
    k=$((FIRST + i))
    h=h$k
    owner=$(marker "$h" 1)
    if [ "$owner" = "$BASE" ]; then
      remove_host "$h" "$BASE/$h"
      removed=$((removed + 1))
    elif [ -n "$owner" ]; then
      echo "netns-hosts.sh: $h belongs to BASE=$owner: left alone" >&2
    fi
  done
  if [ -d "$BASE" ]; then
    PRIV=$BASE/id_ed25519
    [ -z "${KEY:-}" ] || PRIV=$(realpath -m "${KEY%.pub}")
    write_lists
  fi
  if ip link show "$BR" >/dev/null 2>&1 && [ -z "$(ip link show master "$BR")" ]; then
    ip link del "$BR"
    echo "down: removed $removed host(s) and bridge $BR"
  else
    echo "down: removed $removed host(s)"
  fi
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
    printf '%-4s 198.51.100.%-3s %s\n' "$h" $((10 + k)) "$state"
  done
  echo "this BASE: $BASE (known_hosts, inventory.ini, h<k>/sshd.log)"
}

"$cmd"
