#!/usr/bin/env bash
# One sshd on 127.0.0.1, on a free port, for bosun's tests and benchmarks. Everything
# it uses lives in DIR: host key, authorized key, config, pidfile, log.
#
# Usage: vagrant/loopback-sshd.sh start DIR | stop DIR
#   start prints the port on stdout (and where things are on stderr); starting a DIR
#   whose sshd runs prints its port again. stop kills the sshd by its pidfile's PID,
#   and the sessions it forked with their commands.
# Environment:
#   KEY            client public key to authorize (default DIR/id_ed25519.pub, generated
#                  with its private key when absent)
#   MAX_STARTUPS   sshd's MaxStartups (default 100:30:200)
#   PASSWORD_AUTH  sshd's PasswordAuthentication (default no); with yes, root still
#                  logs in by key only, but sshd logs every password it is offered
# DIR/known_hosts holds the host key as "[127.0.0.1]:PORT ssh-ed25519 ...".
# Logins are as root into the machine's real /root (its rc files run on every exec).
set -euo pipefail

SSHD=/usr/sbin/sshd

die() {
  echo "loopback-sshd.sh: $*" >&2
  exit 1
}

cmd=${1:-}
[ -n "${2:-}" ] || die "usage: [KEY=id.pub] $0 start DIR | stop DIR"
DIR=$(realpath -m "$2")

# The PID in DIR's pidfile if that process is a live sshd (not a zombie).
running_pid() {
  local pid state
  pid=$(cat "$DIR/sshd.pid" 2>/dev/null) || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sshd ] || return 1
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "$state" != Z ] || return 1
  echo "$pid"
}

start() {
  [ -x "$SSHD" ] || die "$SSHD not found: run 'bash .ci/setup' (or apt-get install openssh-server)"
  command -v ssh-keygen >/dev/null || die "ssh-keygen not found: run 'bash .ci/setup' (installs openssh-client)"
  [ "$(id -u)" = 0 ] || die "must run as root (sshd logs in as root and needs /run/sshd)"
  mkdir -p "$DIR" /run/sshd
  if running_pid >/dev/null; then
    cat "$DIR/port"
    return
  fi
  local pub=${KEY:-$DIR/id_ed25519.pub} port pid
  pub=${pub%.pub}.pub
  if [ -z "${KEY:-}" ] && [ ! -f "$DIR/id_ed25519" ]; then
    ssh-keygen -q -t ed25519 -N '' -C bosun-test -f "$DIR/id_ed25519"
  fi
  [ -f "$pub" ] || die "KEY: no public key at $pub (ssh-keygen -t ed25519 -N '' -f ${pub%.pub})"
  [ -f "$DIR/hostkey" ] || ssh-keygen -q -t ed25519 -N '' -C loopback -f "$DIR/hostkey"
  cp "$pub" "$DIR/authorized_keys"
  for _ in $(seq 20); do
    # Below the ephemeral range (32768-60999), so no outgoing connection holds it.
    port=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    ss -Htln "sport = :$port" | grep -q . && continue
    cat >"$DIR/sshd_config" <<EOF
# Written by vagrant/loopback-sshd.sh
Port $port
ListenAddress 127.0.0.1
HostKey $DIR/hostkey
PidFile $DIR/sshd.pid
AuthorizedKeysFile $DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication ${PASSWORD_AUTH:-no}
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
MaxSessions 50
MaxStartups ${MAX_STARTUPS:-100:30:200}
Subsystem sftp internal-sftp
LogLevel VERBOSE
PrintMotd no
PrintLastLog no
X11Forwarding no
UseDNS no
EOF
    rm -f "$DIR/sshd.pid"
    : >"$DIR/sshd.log"
    # sshd daemonises, then listens, then writes its pidfile; a lost race for the
    # port ends it with "Cannot bind any address".
    "$SSHD" -f "$DIR/sshd_config" -E "$DIR/sshd.log" </dev/null >/dev/null 2>&1 ||
      die "sshd refused to start; $DIR/sshd.log says: $(tail -n 3 "$DIR/sshd.log")"
    for _ in $(seq 200); do
      [ -s "$DIR/sshd.pid" ] && break
      grep -q 'Cannot bind' "$DIR/sshd.log" && break
      sleep 0.02
    done
    if pid=$(running_pid); then
      echo "$port" >"$DIR/port"
      echo "[127.0.0.1]:$port $(cut -d' ' -f1-2 "$DIR/hostkey.pub")" >"$DIR/known_hosts"
      echo "$port"
      cat >&2 <<EOF
sshd $pid on 127.0.0.1:$port
client key:  ${pub%.pub} (authorized: $pub)
known_hosts: $DIR/known_hosts
log:         $DIR/sshd.log
try:         ssh -i ${pub%.pub} -o UserKnownHostsFile=$DIR/known_hosts -p $port root@127.0.0.1 true
EOF
      return
    fi
    grep -q 'Cannot bind' "$DIR/sshd.log" ||
      die "sshd did not start; $DIR/sshd.log says: $(tail -n 3 "$DIR/sshd.log")"
  done
  die "no free port found in 20 attempts"
}

# The PIDs of $1's descendants: the sessions sshd forked and the commands they run.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      for (p in parent) {
        for (q = parent[p]; q > 1; q = parent[q]) if (q == root) { print p; break }
      }
    }'
}

stop() {
  local pid tree
  if pid=$(running_pid); then
    tree=$(descendants "$pid")
    # shellcheck disable=SC2086
    [ -z "$tree" ] || kill -TERM $tree 2>/dev/null || true
    kill -TERM "$pid"
    for _ in $(seq 100); do
      running_pid >/dev/null || break
      sleep 0.02
    done
    ! running_pid >/dev/null || kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$DIR/sshd.pid"
}

case "$cmd" in
  start | stop) "$cmd" ;;
  *) die "usage: [KEY=id.pub] $0 start DIR | stop DIR" ;;
esac
