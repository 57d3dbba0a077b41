#!/usr/bin/env python3
"""Real content on real hosts: bosun and ansible-playbook side by side on Debian 12
containers with systemd as PID 1 (vagrant/nspawn-hosts.sh), against the floor.

Workloads (see bench/README.md, "Real content"):
  site       playbooks/site.yml on a fresh web and docker container pair: first run,
             then converged; the first-run floor is apt-get's own time on a third pair
  apt, services, templates, users, docker
             one module family each on a converged container: 20 packages, 20
             systemd services, 20 templates, 20 users, 10 docker containers

Per run: wall time, the containers' CPU time (their cgroup's usage_usec), bosun's
round trips (BOSUN_ROUND_TRIPS=1), and checks on the targets. Per workload, the floor:
one SSH login per host, one round trip per task, and the target's own query commands
run back to back in one shell. Writes bench/REAL.md and bench/real-state.json.

Python standard library only; run by bench/real (which makes the venv and the build).
"""

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
LOCK_DIR = Path("/var/tmp/bosun-hosts.locks")  # shared with tests/common/ssh.rs
MAX_INDEX = 154
TOOLS = ["bosun", "ansible"]
# What Ansible needs on a target and bosun does not; installed on every container of
# both tools before anything is timed, so that both start from the same host.
ANSIBLE_PREREQS = ["python3", "python3-apt", "python3-requests"]
APT_PACKAGES = [
    "tree", "jq", "less", "file", "bc", "zip", "unzip", "rsync", "lsof", "strace",
    "psmisc", "tmux", "htop", "ncdu", "nano", "vim-tiny", "dos2unix", "pv", "socat",
    "netcat-openbsd",
]
N_SERVICES = 20
N_TEMPLATES = 20
N_USERS = 20
N_CONTAINERS = 10
FAMILIES = ["apt", "services", "templates", "users", "docker"]
WORKLOADS = ["site"] + FAMILIES


def log(msg: str):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


@dataclass
class Host:
    """One container: its name, address and state directory."""

    name: str
    ip: str
    base: Path

    def cgroup_usec(self) -> int:
        """CPU time everything in the container used so far (microseconds)."""
        stat = Path(f"/sys/fs/cgroup/unified/bosun-nspawn/{self.name}/payload/cpu.stat")
        if not stat.exists():
            stat = Path(f"/sys/fs/cgroup/bosun-nspawn/{self.name}/payload/cpu.stat")
        for line in stat.read_text().splitlines():
            key, value = line.split()
            if key == "usage_usec":
                return int(value)
        raise RuntimeError(f"no usage_usec in {stat}")


@dataclass
class Pair:
    """Containers booted together by one `nspawn-hosts.sh up` (one BASE, one FIRST)."""

    base: Path
    first: int
    hosts: list[Host] = field(default_factory=list)

    def script_env(self) -> dict:
        return dict(os.environ, BASE=str(self.base), FIRST=str(self.first), DOCKER="1",
                    OWNER_PID=str(os.getpid()),
                    NSPAWN_EXTRA="--bind=/var/cache/bosun/apt-archives:/var/cache/apt/archives")

    def up(self, n: int):
        self.down(quiet=True)
        subprocess.run(["bash", str(REPO / "vagrant/nspawn-hosts.sh"), "up", str(n)],
                       env=self.script_env(), check=True, stdout=subprocess.DEVNULL)
        self.n = n
        self.hosts = [Host(f"c{self.first + i}", f"198.51.100.{100 + self.first + i}", self.base)
                      for i in range(1, n + 1)]

    def down(self, quiet=False):
        n = getattr(self, "n", 0)
        if n:
            subprocess.run(["bash", str(REPO / "vagrant/nspawn-hosts.sh"), "down", str(n)],
                           env=self.script_env(), stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL if quiet else None)
            self.n = 0

    def ssh_argv(self, host: Host, *extra: str) -> list[str]:
        return ["ssh", "-i", str(self.base / "id_ed25519"), "-o",
                f"UserKnownHostsFile={self.base / 'known_hosts'}", "-o", "BatchMode=yes",
                "-o", "KexAlgorithms=curve25519-sha256", *extra, f"root@{host.ip}"]

    def sh(self, host: Host, script: str, check=True, timeout=900) -> str:
        out = subprocess.run(self.ssh_argv(host) + ["sh", "-s"], input=script, text=True,
                             capture_output=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"{host.name}: {script[:80]!r} exited {out.returncode}: {out.stderr[-2000:]}")
        return out.stdout

    def inventory(self, groups: dict[str, list[Host]]) -> Path:
        text = (self.base / "inventory.ini").read_text()
        for group, hosts in groups.items():
            text += f"\n[{group}]\n" + "".join(f"{h.name}\n" for h in hosts)
        path = self.base / "bench.ini"
        path.write_text(text)
        return path


class Indices:
    """A range of container indices held through the lock files the tests use."""

    def __init__(self, n: int):
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        start = 0
        while start + n <= MAX_INDEX:
            files = []
            for k in range(start + 1, start + n + 1):
                f = open(LOCK_DIR / f"c{k}", "a")
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    f.close()
                    break
                if Path(f"/run/netns/c{k}").exists() and not self.ours(k):
                    f.close()
                    break
                files.append(f)
            if len(files) == n:
                self.first, self.files = start, files
                return
            for f in files:
                f.close()
            start = k
        raise RuntimeError(f"no {n} free container indices")

    @staticmethod
    def ours(k: int) -> bool:
        """A container left by a dead owner may be taken over."""
        try:
            owner = Path(f"/run/bosun-hosts/c{k}").read_text().splitlines()[1]
        except (OSError, IndexError):
            return True
        return not Path(f"/proc/{owner}").exists()


# ---------------------------------------------------------------------------------
# Workloads


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


TEMPLATE = """# {{ bench_name | upper }} configuration {{ item }}, managed by the bench
{% for key, value in bench_settings | dictsort %}
{{ key }} = {{ value }}
{% endfor %}
{% for upstream in bench_upstreams %}
server {{ upstream.host }}:{{ upstream.port }}{% if upstream.backup | default(false) %} backup{% endif %};
{% endfor %}
workers = {{ (item | int) * 2 }}
"""

TEMPLATE_VARS = {
    "bench_name": "real",
    "bench_settings": {f"key{i:02d}": f"value {i}" for i in range(20)},
    "bench_upstreams": [{"host": f"10.0.0.{i}", "port": 8000 + i, "backup": i % 3 == 0}
                        for i in range(10)],
}


def family_playbook(kind: str) -> str:
    """The timed playbook of a module family: one task looping over its items."""
    head = "- hosts: all\n  gather_facts: false\n  tasks:\n"
    if kind == "apt":
        return head + (f"    - name: packages\n      apt:\n        name: \"{{{{ item }}}}\"\n"
                       f"        state: present\n      loop: {json.dumps(APT_PACKAGES)}\n")
    if kind == "services":
        return head + ("    - name: services\n      systemd:\n"
                       "        name: \"bench-svc-{{ item }}\"\n        state: started\n"
                       f"        enabled: true\n      loop: \"{{{{ range(1, {N_SERVICES + 1}) | list }}}}\"\n")
    if kind == "templates":
        return head + ("    - name: templates\n      template:\n        src: bench.conf.j2\n"
                       "        dest: \"/etc/bench-{{ item }}.conf\"\n        mode: \"0644\"\n"
                       f"      loop: \"{{{{ range(1, {N_TEMPLATES + 1}) | list }}}}\"\n"
                       f"      vars: {json.dumps(TEMPLATE_VARS)}\n")
    if kind == "users":
        return head + ("    - name: users\n      user:\n        name: \"bench-user-{{ item }}\"\n"
                       "        shell: /bin/bash\n"
                       f"      loop: \"{{{{ range(1, {N_USERS + 1}) | list }}}}\"\n")
    if kind == "docker":
        return head + ("    - name: containers\n      docker_container:\n"
                       "        name: \"bench-c{{ item }}\"\n        image: \"bosun/busybox:1\"\n"
                       "        command: [/bin/busybox, sleep, \"86400\"]\n        state: started\n"
                       f"      loop: \"{{{{ range(1, {N_CONTAINERS + 1}) | list }}}}\"\n")
    raise ValueError(kind)


FIXTURE = """# What the module families act on, made once per container before anything is timed:
# the 20 unit files, and Docker with the image (the repo's docker role).
- hosts: all
  become: true
  tasks:
    - name: unit files
      copy:
        dest: "/etc/systemd/system/bench-svc-{{ item }}.service"
        content: |
          [Unit]
          Description=bench service {{ item }}
          [Service]
          ExecStart=/bin/sleep infinity
          [Install]
          WantedBy=multi-user.target
        mode: "0644"
      loop: "{{ range(1, %d) | list }}"
    - name: daemon-reload
      systemd:
        daemon_reload: true
  roles:
    - docker
""" % (N_SERVICES + 1)

# The target's own queries of each workload, back to back in one shell: what any tool
# must at least ask the host when nothing is to change.
FLOOR_QUERIES = {
    "apt": "".join(f"dpkg-query -W -f='${{Status}} ${{Version}}' {p} >/dev/null\n" for p in APT_PACKAGES),
    "services": "".join(
        f"systemctl show -p ActiveState,UnitFileState,LoadState bench-svc-{i} >/dev/null\n"
        for i in range(1, N_SERVICES + 1)),
    "templates": "".join(f"stat -c '%a %U %G %s' /etc/bench-{i}.conf >/dev/null; sha1sum /etc/bench-{i}.conf >/dev/null\n"
                         for i in range(1, N_TEMPLATES + 1)),
    "users": "".join(f"getent passwd bench-user-{i} >/dev/null; getent group bench-user-{i} >/dev/null\n"
                     for i in range(1, N_USERS + 1)),
    "docker": "".join(f"docker inspect bench-c{i} >/dev/null\n" for i in range(1, N_CONTAINERS + 1))
    + "docker image inspect bosun/busybox:1 >/dev/null\n",
}

# site.yml's queries per host when converged (facts: the files and commands a fact
# gatherer needs at least).
FACTS_FLOOR = ("cat /etc/os-release /proc/meminfo /proc/cpuinfo /proc/mounts /etc/resolv.conf >/dev/null; "
               "ip -o addr >/dev/null; uname -a >/dev/null; df -P >/dev/null\n")
SITE_FLOOR = {
    "web": FACTS_FLOOR
    + "stat -c %Y /var/lib/apt/lists >/dev/null\n"
    + "dpkg-query -W ca-certificates curl >/dev/null\ndpkg-query -W gunicorn >/dev/null\n"
    + "getent passwd hello >/dev/null\nstat /opt/hello >/dev/null\n"
    + "sha1sum /opt/hello/app.py /etc/systemd/system/hello.service >/dev/null\n"
    + "systemctl daemon-reload\nsystemctl show hello >/dev/null\n"
    + "dpkg-query -W nginx >/dev/null\nsha1sum /etc/nginx/nginx.conf >/dev/null\n"
    + "systemctl show nginx >/dev/null\ncurl -s http://127.0.0.1/ >/dev/null\n",
    "docker": FACTS_FLOOR
    + "stat -c %Y /var/lib/apt/lists >/dev/null\n"
    + "dpkg-query -W ca-certificates curl >/dev/null\ndpkg-query -W docker.io busybox-static >/dev/null\n"
    + "stat /etc/docker >/dev/null\nsha1sum /etc/docker/daemon.json >/dev/null\n"
    + "systemctl show docker >/dev/null\nstat /opt/docker-hello /srv/hello-web /opt/docker-hello/busybox-rootfs.tar >/dev/null\n"
    + "docker image inspect bosun/busybox:1 >/dev/null\nsha1sum /srv/hello-web/index.html >/dev/null\n"
    + "docker inspect hello-web >/dev/null\ncurl -s http://127.0.0.1:8080/ >/dev/null\n",
}
# Tasks site.yml runs per host when converged (gathering facts counts as one).
SITE_TASKS = {"web": 14, "docker": 14}
SITE_PACKAGES = {"web": ["ca-certificates", "curl", "gunicorn", "nginx"],
                 "docker": ["ca-certificates", "curl", "docker.io", "busybox-static"]}


# ---------------------------------------------------------------------------------
# Running


@dataclass
class Run:
    workload: str
    phase: str
    tool: str
    wall: float
    target_cpu: float
    round_trips: int | None
    ok: bool
    note: str = ""


def recap(text: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for m in re.finditer(r"^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$", text, re.M):
        hosts[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return hosts


class Bench:
    def __init__(self, args):
        self.args = args
        self.scratch = Path(args.scratch)
        self.venv = Path(args.venv)
        self.runs: list[Run] = []
        self.floors: dict = {}
        self.indices = Indices(2 * 3 + 2)
        k = self.indices.first
        # site pairs: bosun, ansible, apt floor; family containers: bosun, ansible
        self.site = {t: Pair(self.scratch / f"site-{t}", k + 2 * i)
                     for i, t in enumerate(TOOLS + ["floor"])}
        self.family = {t: Pair(self.scratch / f"family-{t}", k + 6 + i) for i, t in enumerate(TOOLS)}

    def all_pairs(self):
        return list(self.site.values()) + list(self.family.values())

    def cleanup(self):
        for pair in self.all_pairs():
            pair.down(quiet=True)

    def ansible_cfg(self, path: Path, forks: int):
        write(path / "ansible.cfg", f"""[defaults]
forks = {forks}
interpreter_python = /usr/bin/python3
roles_path = {REPO}/roles
library = {REPO}/modules
host_key_checking = True
retry_files_enabled = False
[ssh_connection]
pipelining = True
control_path_dir = {path}/cp
""")

    def command(self, tool: str, playbook: Path, inventory: Path, cwd: Path):
        if tool == "bosun":
            return ([self.args.bosun, "run", str(playbook), "-i", str(inventory), "-f", "10"],
                    dict(os.environ, BOSUN_ROUND_TRIPS="1", ANSIBLE_ROLES_PATH=str(REPO / "roles"),
                         ANSIBLE_LIBRARY=str(REPO / "modules")))
        self.ansible_cfg(cwd, 10)
        env = dict(os.environ, ANSIBLE_CONFIG=str(cwd / "ansible.cfg"),
                   PATH=f"{self.venv}/bin:{os.environ['PATH']}")
        return [str(self.venv / "bin/ansible-playbook"), str(playbook), "-i", str(inventory)], env

    @staticmethod
    def settle(hosts, quiet_usec=20_000, limit=60.0):
        """Waits until the containers are idle (under 4% of a core for half a second):
        what a first run set going (apt triggers, daemons starting) does not land on the
        next timed run."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = sum(h.cgroup_usec() for h in hosts)
            time.sleep(0.5)
            if sum(h.cgroup_usec() for h in hosts) - before < quiet_usec:
                return
        log(f"containers still busy after {limit:.0f} s")

    def play(self, tool, playbook, inventory, cwd, hosts, extra=()):
        argv, env = self.command(tool, playbook, inventory, cwd)
        self.settle(hosts)
        before = sum(h.cgroup_usec() for h in hosts)
        start = time.perf_counter()
        out = subprocess.run(argv + list(extra), env=env, cwd=cwd, capture_output=True, text=True,
                             timeout=1800)
        wall = time.perf_counter() - start
        cpu = (sum(h.cgroup_usec() for h in hosts) - before) / 1e6
        if tool == "ansible":
            cp = cwd / "cp"
            for sock in cp.glob("*") if cp.exists() else []:
                subprocess.run(["ssh", "-O", "exit", "-o", f"ControlPath={sock}", "x"],
                               capture_output=True)
        text = out.stdout + out.stderr
        log_path = cwd / f"{tool}-{int(time.time() * 1000)}.log"
        log_path.write_text(text)
        trips = re.search(r"bosun: (\d+) round trips", text)
        return out.returncode, text, wall, cpu, int(trips.group(1)) if trips else None

    def prepare(self, pair: Pair):
        """The packages Ansible needs on every target, before anything is timed."""
        for host in pair.hosts:
            pair.sh(host, "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                    "--no-install-recommends "
                    + " ".join(ANSIBLE_PREREQS) + " >/dev/null")

    def judge(self, workload, phase, tool, code, text, hosts, checks) -> tuple[bool, str]:
        counts = recap(text)
        if code != 0:
            return False, f"exit {code}"
        for h in hosts:
            c = counts.get(h.name)
            if c is None or c.get("failed", 0) or c.get("unreachable", 0):
                return False, f"{h.name}: recap {c}"
            if phase == "converged" and c.get("changed", 0):
                return False, f"{h.name}: changed={c['changed']} on a converged run"
        problem = checks()
        return (problem is None), problem or ""

    # site.yml -----------------------------------------------------------------

    def site_round(self, r: int):
        for tool in TOOLS:
            pair = self.site[tool]
            pair.up(2)
            self.prepare(pair)
            web, docker = pair.hosts
            inv = pair.inventory({"web": [web], "docker": [docker]})
            cwd = pair.base / "work"
            cwd.mkdir(exist_ok=True)
            for phase in ["first", "converged"]:
                code, text, wall, cpu, trips = self.play(tool, REPO / "playbooks/site.yml", inv, cwd,
                                                         pair.hosts)
                ok, note = self.judge("site", phase, tool, code, text, pair.hosts,
                                      lambda: self.check_site(pair))
                self.record(Run("site", phase, tool, wall, cpu, trips, ok, note))
        pair = self.site["floor"]
        pair.up(2)
        self.prepare(pair)
        for host, role in zip(pair.hosts, ["web", "docker"]):
            out = pair.sh(host, "s=$(date +%s%N); apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                          "apt-get install -y -qq " + " ".join(SITE_PACKAGES[role])
                          + " >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000 ))")
            self.floors.setdefault("site_apt", {}).setdefault(role, []).append(int(out.split()[-1]) / 1e6)
        pair.down()

    def check_site(self, pair: Pair) -> str | None:
        web, docker = pair.hosts
        for host, port, want in [(web, 80, "Hello from bosun"), (docker, 8080, "Hello from a container")]:
            out = subprocess.run(["curl", "-s", "--max-time", "5", f"http://{host.ip}:{port}/"],
                                 capture_output=True, text=True)
            if want not in out.stdout:
                return f"{host.name}:{port} answered {out.stdout[:80]!r}"
        active = pair.sh(web, "systemctl is-active hello nginx", check=False).split()
        if active != ["active", "active"]:
            return f"web units: {active}"
        return None

    # module families ---------------------------------------------------------

    def family_setup(self):
        for tool, pair in self.family.items():
            pair.up(1)
            self.prepare(pair)
            cwd = pair.base / "work"
            write(cwd / "bench.conf.j2", TEMPLATE)
            inv = pair.inventory({"docker": pair.hosts})
            fixture = write(cwd / "fixture.yml", FIXTURE)
            code, text, *_ = self.play(tool, fixture, inv, cwd, pair.hosts)
            if code != 0:
                raise RuntimeError(f"{tool}: fixture failed:\n{text[-3000:]}")
            for kind in FAMILIES:
                book = write(cwd / f"{kind}.yml", family_playbook(kind))
                code, text, wall, cpu, trips = self.play(tool, book, inv, cwd, pair.hosts)
                ok, note = self.judge(kind, "first", tool, code, text, pair.hosts,
                                      lambda: self.check_family(kind, pair))
                self.record(Run(kind, "first", tool, wall, cpu, trips, ok, note))

    def family_round(self, r: int):
        for kind in FAMILIES:
            for tool in TOOLS:
                pair = self.family[tool]
                cwd = pair.base / "work"
                code, text, wall, cpu, trips = self.play(tool, cwd / f"{kind}.yml",
                                                         pair.base / "bench.ini", cwd, pair.hosts)
                ok, note = self.judge(kind, "converged", tool, code, text, pair.hosts,
                                      lambda: self.check_family(kind, pair))
                self.record(Run(kind, "converged", tool, wall, cpu, trips, ok, note))

    def check_family(self, kind: str, pair: Pair) -> str | None:
        host = pair.hosts[0]
        if kind == "apt":
            out = pair.sh(host, "dpkg-query -W -f='${db:Status-Status}\\n' " + " ".join(APT_PACKAGES))
            good = out.split().count("installed")
            return None if good == len(APT_PACKAGES) else f"{good} packages installed"
        if kind == "services":
            out = pair.sh(host, "systemctl is-active " + " ".join(
                f"bench-svc-{i}" for i in range(1, N_SERVICES + 1)), check=False)
            good = out.split().count("active")
            return None if good == N_SERVICES else f"{good} services active"
        if kind == "templates":
            out = pair.sh(host, "sha1sum /etc/bench-*.conf | awk '{print $1}' | sort | uniq | wc -l; "
                          "ls /etc/bench-*.conf | wc -l")
            distinct, files = out.split()
            self.floors.setdefault("template_sums", {})[pair.base.name] = pair.sh(
                host, "cat /etc/bench-*.conf | sha1sum").split()[0]
            return None if files == str(N_TEMPLATES) else f"{files} files"
        if kind == "users":
            out = pair.sh(host, "getent passwd | grep -c '^bench-user-'")
            return None if out.strip() == str(N_USERS) else f"{out.strip()} users"
        if kind == "docker":
            out = pair.sh(host, "docker ps --filter name=bench-c --format '{{.Names}}' | wc -l")
            return None if out.strip() == str(N_CONTAINERS) else f"{out.strip()} containers running"
        raise ValueError(kind)

    # floors -------------------------------------------------------------------

    def measure_floors(self, only: set):
        """Login, round trip and query times on the bosun containers (converged) of
        the workloads that ran (`only`)."""
        pairs = [p for kind, p in [("site", self.site["bosun"]), ("families", self.family["bosun"])]
                 if kind in only]
        login, rtt = [], []
        for pair in pairs:
            for host in pair.hosts:
                for _ in range(5):
                    start = time.perf_counter()
                    subprocess.run(pair.ssh_argv(host) + ["true"], check=True)
                    login.append(time.perf_counter() - start)
                rtt.append(self.round_trip(pair, host))
        bosun_login = []
        for pair in pairs:
            for host in pair.hosts:
                inv = pair.base / "bench.ini"
                for _ in range(5):
                    start = time.perf_counter()
                    subprocess.run([self.args.bosun, "-m", "raw", "-a", "true", host.name, "-i", str(inv)],
                                   check=True, capture_output=True)
                    bosun_login.append(time.perf_counter() - start)
        self.floors["login_openssh"] = statistics.median(login)
        self.floors["login_bosun"] = statistics.median(bosun_login)
        self.floors["rtt"] = statistics.median(rtt)
        queries = {}
        if "families" in only:
            fam = self.family["bosun"]
            for kind in FAMILIES:
                queries[kind] = self.timed_script(fam, fam.hosts[0], FLOOR_QUERIES[kind])
        if "site" in only:
            site = self.site["bosun"]
            for host, role in zip(site.hosts, ["web", "docker"]):
                queries[f"site-{role}"] = self.timed_script(site, host, SITE_FLOOR[role])
        self.floors["queries"] = queries

    def timed_script(self, pair: Pair, host: Host, script: str, runs=5) -> float:
        times = []
        for _ in range(runs):
            out = pair.sh(host, "s=$(date +%s%N)\n" + script + "e=$(date +%s%N); echo $(( (e - s) / 1000 ))")
            times.append(int(out.split()[-1]) / 1e6)
        return statistics.median(times)

    def round_trip(self, pair: Pair, host: Host, n=200) -> float:
        proc = subprocess.Popen(pair.ssh_argv(host) + ["sh", "-c", "'while read -r l; do echo \"$l\"; done'"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        proc.stdin.write("warm\n")
        proc.stdin.flush()
        proc.stdout.readline()
        start = time.perf_counter()
        for i in range(n):
            proc.stdin.write(f"{i}\n")
            proc.stdin.flush()
            proc.stdout.readline()
        took = (time.perf_counter() - start) / n
        proc.stdin.close()
        proc.wait()
        return took

    # ---------------------------------------------------------------------------

    def record(self, run: Run):
        self.runs.append(run)
        status = "ok" if run.ok else f"FAILED ({run.note})"
        trips = f", {run.round_trips} round trips" if run.round_trips is not None else ""
        log(f"{run.workload:9} {run.phase:9} {run.tool:7} {run.wall:8.2f} s, target CPU {run.target_cpu:.2f} s{trips}: {status}")
        self.save()

    def save(self):
        state = {"runs": [r.__dict__ for r in self.runs], "floors": self.floors,
                 "info": self.info()}
        write(Path(self.args.out) / "real-state.json", json.dumps(state, indent=1) + "\n")

    def info(self) -> dict:
        def out(*argv):
            try:
                return subprocess.run(argv, capture_output=True, text=True).stdout.strip()
            except OSError:
                return "?"
        return {
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "bosun": f"{out(self.args.bosun, '--version')}, git {out('git', '-C', str(REPO), 'rev-parse', '--short', 'HEAD')}",
            "ansible": out(str(self.venv / "bin/ansible"), "--version").splitlines()[0:1],
            "runs": self.args.runs,
        }


def report(state: dict, out: Path):
    """Writes REAL.md from a state."""
    runs = [Run(**r) for r in state["runs"]]
    floors = state["floors"]
    lines = ["# Real content: bosun and ansible-playbook on Debian 12 containers", "",
             f"Made by `bench/real` on {state['info']['date']} ({state['info']['bosun']}; "
             f"{' '.join(state['info']['ansible'])}); {state['info']['runs']} run(s) per tool, medians. "
             "Targets: Debian 12 nspawn containers with systemd as PID 1, sshd with PAM and logind, "
             "on this 2-core machine. See bench/README.md, \"Real content\", for the workloads and the floor.", "",
             "| workload | phase | bosun | ansible | ansible / bosun | floor | bosun / floor | bosun round trips | target CPU bosun / ansible |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]

    def med(workload, phase, tool, attr="wall"):
        values = [getattr(r, attr) for r in runs if (r.workload, r.phase, r.tool) == (workload, phase, tool) and r.ok]
        return statistics.median(values) if values else None

    def fmt(v):
        if v is None:
            return "-"
        return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"

    for workload in WORKLOADS:
        for phase in ["first", "converged"]:
            b, a = med(workload, phase, "bosun"), med(workload, phase, "ansible")
            if b is None and a is None:
                continue
            floor = floor_value(floors, workload, phase)
            trips = med(workload, phase, "bosun", "round_trips")
            cb, ca = med(workload, phase, "bosun", "target_cpu"), med(workload, phase, "ansible", "target_cpu")
            lines.append(
                f"| {workload} | {phase} | {fmt(b)} | {fmt(a)} | "
                f"{f'{a / b:.1f}x' if a and b else '-'} | {fmt(floor)} | "
                f"{f'{b / floor:.2f}x' if b and floor else '-'} | {'-' if trips is None else int(trips)} | "
                f"{fmt(cb)} / {fmt(ca)} |")
    failed = [r for r in runs if not r.ok]
    lines += ["", f"Runs that failed a check (not timed): {len(failed)}."]
    for r in failed:
        lines.append(f"- {r.workload} {r.phase} {r.tool}: {r.note}")
    if floors.get("queries"):
        lines += ["", "## The floor", "",
                  f"- SSH login (one `raw true` by bosun, process start included): {fmt(floors['login_bosun'])}; "
                  f"OpenSSH `ssh host true` (curve25519): {fmt(floors['login_openssh'])}",
                  f"- one round trip on an open session (200 echoes through a shell): {floors['rtt'] * 1000:.2f} ms",
                  "- the target's own queries, back to back in one shell: "
                  + ", ".join(f"{k} {fmt(v)}" for k, v in floors["queries"].items())]
        if floors.get("site_apt"):
            lines.append("- site first run: `apt-get update` + `apt-get install` of the roles' packages on a fresh "
                         "container (archives cached): " + ", ".join(
                             f"{k} {fmt(statistics.median(v))}" for k, v in floors["site_apt"].items()))
        sums = floors.get("template_sums", {})
        if sums:
            same = len(set(sums.values())) == 1
            lines.append(f"- templates: the 20 rendered files are {'byte for byte the same' if same else 'DIFFERENT'} "
                         f"under both tools ({', '.join(f'{k} {v[:12]}' for k, v in sums.items())})")
    analysis = HERE / "REAL-ANALYSIS.md"
    if analysis.exists():
        lines += ["", analysis.read_text().rstrip()]
    write(out / "REAL.md", "\n".join(lines) + "\n")


def floor_value(floors: dict, workload: str, phase: str) -> float | None:
    q = floors.get("queries")
    if not q:
        return None
    login, rtt = floors["login_bosun"], floors["rtt"]
    if workload == "site":
        converged = 2 * login + sum(SITE_TASKS.values()) * rtt + q["site-web"] + q["site-docker"]
        if phase == "converged":
            return converged
        apt = floors.get("site_apt")
        return converged + sum(statistics.median(v) for v in apt.values()) if apt else None
    return login + rtt + q[workload] if phase == "converged" else None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default=",".join(["site", "families"]))
    ap.add_argument("--bosun")
    ap.add_argument("--venv")
    ap.add_argument("--scratch")
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--report-from", help="write REAL.md again from a real-state.json")
    args = ap.parse_args()
    if args.report_from:
        report(json.loads(Path(args.report_from).read_text()), Path(args.out))
        return
    Path("/var/cache/bosun/apt-archives/partial").mkdir(parents=True, exist_ok=True)
    only = set(args.only.split(","))
    bench = Bench(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        if "families" in only:
            log("module families: containers and fixtures")
            bench.family_setup()
        for r in range(args.runs):
            if "site" in only:
                bench.site_round(r)
            if "families" in only:
                bench.family_round(r)
        bench.measure_floors(only)
        bench.save()
    finally:
        bench.cleanup()
    report(json.loads((Path(args.out) / "real-state.json").read_text()), Path(args.out))
    log(f"wrote {args.out}/REAL.md")


if __name__ == "__main__":
    main()
