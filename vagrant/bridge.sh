# Sourced by netns-hosts.sh and nspawn-hosts.sh (under their shared lock): the bridge
# every test host hangs on, with the machine's side at 198.51.100.1/24.
BR=br-bosun

# A fixed, locally administered MAC. Without one the bridge takes the lowest MAC of its
# ports and changes it whenever hosts come and go; a host that cached the old one then
# sends its packets for 198.51.100.1 nowhere until its ARP entry expires, and a TCP
# connection to it stalls for seconds (or times out).
BR_MAC=02:b0:53:00:00:01

# Creates the bridge if it is missing and pins its MAC (also on one made before the
# MAC was pinned).
ensure_bridge() {
  if ! ip link show "$BR" >/dev/null 2>&1; then
    ip link add "$BR" address "$BR_MAC" type bridge
    ip addr add 198.51.100.1/24 dev "$BR"
  fi
  ip link set "$BR" address "$BR_MAC" up
}

# Removes the bridge once no host is left on it. Prints what `down` removed, $1 being
# "N host(s)" or "N container(s)".
remove_bridge_if_empty() {
  if ip link show "$BR" >/dev/null 2>&1 && [ -z "$(ip link show master "$BR")" ]; then
    ip link del "$BR"
    echo "down: removed $1 and bridge $BR"
  else
    echo "down: removed $1"
  fi
}
