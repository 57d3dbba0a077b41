#!/usr/bin/env bash
# Deploys the example stack in one command: installs what the targets need (.ci/setup),
# builds bosun, boots two Debian 12 containers with systemd as PID 1
# (vagrant/nspawn-hosts.sh, Docker-capable, on the cached base rootfs: built once, about
# 90 s), runs playbooks/site.yml against them (nginx + the gunicorn app on the web host,
# Docker and a container on the docker host), and prints how to reach them. Run it again
# and it converges the same containers: the second run reports changed=0. Needs root.
#
# Usage: vagrant/deploy-stack.sh [up] | down
# Environment: BASE (default /var/tmp/bosun-stack), FIRST (default 50: c51 and c52,
# 198.51.100.151-152), CARGO_TARGET_DIR (honoured).
set -euo pipefail

cd "$(dirname "$0")/.."
export BASE=${BASE:-/var/tmp/bosun-stack} FIRST=${FIRST:-50} DOCKER=1
web=c$((FIRST + 1)) docker=c$((FIRST + 2))
web_ip=198.51.100.$((101 + FIRST)) docker_ip=198.51.100.$((102 + FIRST))

if [ "${1:-up}" = down ]; then
  exec vagrant/nspawn-hosts.sh down 2
fi
[ "${1:-up}" = up ] || { echo "usage: $0 [up] | down" >&2; exit 1; }

# Both containers of an earlier `up` still running: converge them again.
running() {
  local k pid
  for k in $((FIRST + 1)) $((FIRST + 2)); do
    read -r pid 2>/dev/null <"$BASE/c$k/nspawn.pid" || return 1
    kill -0 "$pid" 2>/dev/null || return 1
  done
  [ -s "$BASE/stack.ini" ]
}

bash .ci/setup
cargo build --quiet
bosun=${CARGO_TARGET_DIR:-target}/debug/bosun
if running; then
  echo "reusing $web and $docker (BASE=$BASE); '$0 down' removes them"
else
  vagrant/nspawn-hosts.sh up 2
fi
{
  cat "$BASE/inventory.ini"
  printf '\n[web]\n%s\n\n[docker]\n%s\n' "$web" "$docker"
} >"$BASE/stack.ini"
start=$EPOCHREALTIME
"$bosun" run playbooks/site.yml -i "$BASE/stack.ini"
echo "site.yml converged in $(echo "$EPOCHREALTIME $start" | awk '{printf "%.1f", $1 - $2}')s"
cat <<EOF2

The stack:
  curl http://$web_ip/            # nginx -> gunicorn -> app on $web
  curl http://$docker_ip:8080/       # busybox httpd in the hello-web container on $docker
  ssh -i $BASE/id_ed25519 -o UserKnownHostsFile=$BASE/known_hosts root@$docker_ip docker ps
Run it again (changed=0):
  $bosun run playbooks/site.yml -i $BASE/stack.ini
Tear down:
  sudo $0 down
EOF2
