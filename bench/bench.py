#!/usr/bin/env python3
"""bosun, ansible-playbook and pyinfra side by side: generate the workloads, run them
on the same targets (tools alternating), check on the targets that every run did its
work, and write RESULTS.md, results.csv and results.svg beside this file.

Started by bench/run, which builds bosun, makes the venv and brings the targets up
and down. Python standard library only.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOOLS = ["bosun", "ansible", "pyinfra"]
N_TASKS = 50
N_RENDERS = 200
# Marker written by the last of the 50 command tasks: proof that the run got there.
MARKER_NS = "/root/bosun-bench-marker"  # namespace hosts: /root is private to each
CLK_TCK = os.sysconf("SC_CLK_TCK")  # the unit of /proc/stat and /proc/<pid>/stat times
# The fan-out goals (RESULTS.md, "Targets"): bosun's control CPU per host and task at
# least this many times below pyinfra's, and its wall time within this factor of the
# machine's floor (the targets' own work spread over every core).
FANOUT_CPU_GOAL = 20
FANOUT_FLOOR_GOAL = 1.3


# ---------------------------------------------------------------------------- targets


@dataclass
class Target:
    name: str
    addr: str
    port: int
    fs_root: str  # where the target's files are seen from here
    sshd_log: Path | None = None  # LogLevel VERBOSE: one line per session (channel)
    sshd_pid: int | None = None  # the listening sshd (its sessions are forked from it)

    def path(self, remote: str) -> Path:
        """A path on the target, as seen from the control node."""
        return Path(self.fs_root + remote) if self.fs_root != "/" else Path(remote)


@dataclass
class Ctx:
    args: argparse.Namespace
    scratch: Path
    home: Path
    key: Path
    known_hosts: Path
    loopback: Target
    fleet: list[Target]
    venv: Path
    bosun: str
    work: Path = field(init=False)
    logs: Path = field(init=False)

    def __post_init__(self):
        self.work = self.scratch / "work"
        self.logs = self.scratch / "logs"
        self.work.mkdir(exist_ok=True)
        self.logs.mkdir(exist_ok=True)

    def env(self, tool: str, extra: dict | None = None) -> dict:
        env = {
            "HOME": str(self.home),
            "PATH": f"{self.venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
        }
        if tool == "ansible":
            env["ANSIBLE_CONFIG"] = str(self.scratch / "ansible.cfg")
            env["ANSIBLE_NOCOLOR"] = "1"
        if tool == "pyinfra":
            env["PYINFRA_PROGRESS"] = "off"
        env.update(extra or {})
        return env


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def fleet_targets(base: Path, first: int, n: int) -> list[Target]:
    out = []
    for k in range(first + 1, first + n + 1):
        pid = (base / f"h{k}" / "sshd.pid").read_text().strip()
        out.append(Target(f"h{k}", f"198.51.100.{10 + k}", 22, f"/proc/{pid}/root",
                          base / f"h{k}" / "sshd.log", int(pid)))
    return out


# ------------------------------------------------------------------------ inventories


def ini_inventory(ctx: Ctx, targets: list[Target], path: Path) -> Path:
    """One INI inventory, read by bosun and by ansible alike."""
    lines = [
        f"{t.name} ansible_host={t.addr} ansible_port={t.port}" for t in targets
    ]
    lines += [
        "",
        "[all:vars]",
        "ansible_user=root",
        f"ansible_ssh_private_key_file={ctx.key}",
        f"ansible_ssh_common_args='-o UserKnownHostsFile={ctx.known_hosts} -o StrictHostKeyChecking=yes'",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def py_inventory(ctx: Ctx, targets: list[Target], path: Path) -> Path:
    """The same hosts as a pyinfra inventory."""
    hosts = [
        (
            t.name,
            {
                "ssh_hostname": t.addr,
                "ssh_port": t.port,
                "ssh_user": "root",
                "ssh_key": str(ctx.key),
                "ssh_known_hosts_file": str(ctx.known_hosts),
                "ssh_strict_host_key_checking": "yes",
                "ssh_allow_agent": False,
                "ssh_look_for_keys": False,
            },
        )
        for t in targets
    ]
    path.write_text("hosts = [\n" + "".join(f"    {h!r},\n" for h in hosts) + "]\n")
    return path


def ansible_cfg(ctx: Ctx):
    (ctx.scratch / "ansible.cfg").write_text(
        "# Ansible's fastest stock configuration: pipelining, forks = hosts (given with -f),\n"
        "# a fixed interpreter (no discovery round trip), no retry files.\n"
        "[defaults]\n"
        "interpreter_python = /usr/bin/python3\n"
        "host_key_checking = True\n"
        "retry_files_enabled = False\n"
        f"local_tmp = {ctx.scratch}/ansible-local-tmp\n"
        "[ssh_connection]\n"
        "pipelining = True\n"
    )


# -------------------------------------------------------------------------- workloads

TEMPLATE = r"""# {{ app_name | upper }} configuration, render {{ item }} of {{ renders }}
# servers: {{ servers | length }}, options: {{ options | length }}
{% for s in servers %}
server {{ s.name | lower }} {{ s.addr }}:{{ s.port }} weight={{ s.weight | default(1) }}{% if s.backup %} backup{% endif %}

{% endfor %}
{% for k, v in options | dictsort %}
option {{ k | replace('_', '-') }} = {{ v | string | trim }}
{% endfor %}
{% for i in range(lines) %}
line {{ i }}: {{ (app_name ~ '-' ~ item ~ '-' ~ i) | title }} {{ [i, item, i * item] | join(',') }} {{ servers[i % (servers | length)].name | upper }}{% if i is divisibleby 3 %} fizz{% endif %}

{% endfor %}
# end of render {{ item }}
"""


def template_vars() -> dict:
    servers = [
        {"name": f"App{i:02d}", "addr": f"10.1.{i // 10}.{i % 10 + 1}", "port": 8000 + i,
         "weight": i % 5 + 1, "backup": i % 4 == 0}
        for i in range(20)
    ]
    options = {f"opt_key_{i:02d}": f"  value {i * 7}  " for i in range(20)}
    # 2 header lines + 20 servers + 20 options + lines + 1 footer = 200 lines
    return {"app_name": "bench", "renders": N_RENDERS, "servers": servers,
            "options": options, "lines": 200 - 43}


def playbook_commands(path: Path, marker: str, hosts: str = "all", n: int | None = None):
    n = n or N_TASKS
    tasks = "".join(
        f"    - name: task {i}\n      command: /bin/true\n" for i in range(1, n)
    )
    tasks += f"    - name: task {n}\n      command: touch {marker}\n"
    path.write_text(f"- hosts: {hosts}\n  gather_facts: false\n  tasks:\n{tasks}")


def deploy_commands(path: Path, marker: str, n: int | None = None):
    n = n or N_TASKS
    ops = "".join(
        f'server.shell(name="task {i}", commands=["/bin/true"])\n' for i in range(1, n)
    )
    ops += f'server.shell(name="task {n}", commands=["touch {marker}"])\n'
    path.write_text("from pyinfra.operations import server\n\n" + ops)


def files_names(n=None):
    n = n or N_TASKS
    half = n // 2
    touch = [f"touch-{i:02d}" for i in range(1, half + 1)]
    copy = [(f"copy-{i:02d}", f"content of file {i}\n") for i in range(1, n - half + 1)]
    return touch, copy


def playbook_files(path: Path, d: str):
    touch, copy = files_names()
    tasks = ""
    for name in touch:
        tasks += (f"    - name: touch {name}\n      file:\n        path: {d}/{name}\n"
                  "        state: touch\n        modification_time: preserve\n"
                  "        access_time: preserve\n")
    for name, content in copy:
        tasks += (f"    - name: copy {name}\n      copy:\n        dest: {d}/{name}\n"
                  f"        content: {json.dumps(content)}\n        mode: '0644'\n")
    path.write_text(f"- hosts: all\n  gather_facts: false\n  tasks:\n{tasks}")


def deploy_files(path: Path, d: str):
    touch, copy = files_names()
    ops = ""
    for name in touch:
        ops += (f'files.file(name="touch {name}", path="{d}/{name}", present=True,'
                " create_remote_dir=False)\n")
    for name, content in copy:
        ops += (f'files.put(name="copy {name}", src=StringIO({content!r}),'
                f' dest="{d}/{name}", mode="644", create_remote_dir=False)\n')
    path.write_text("from io import StringIO\n\nfrom pyinfra.operations import files\n\n" + ops)


def playbook_template(path: Path, d: str):
    v = template_vars()
    varlines = "".join(f"    {k}: {json.dumps(val)}\n" for k, val in v.items())
    path.write_text(
        "- hosts: all\n  gather_facts: false\n  vars:\n" + varlines +
        "  tasks:\n    - name: render\n      template:\n        src: big.conf.j2\n"
        f"        dest: {d}/out-{{{{ item }}}}.conf\n        mode: '0644'\n"
        f"      loop: \"{{{{ range({N_RENDERS}) | list }}}}\"\n"
    )


def deploy_template(path: Path, d: str):
    v = template_vars()
    path.write_text(
        "from pathlib import Path\n\nfrom pyinfra.operations import files\n\n"
        f"VARS = {v!r}\n"
        "SRC = str(Path(__file__).parent / 'big.conf.j2')\n"
        "# Ansible's template settings: trim_blocks, keep the trailing newline.\n"
        "# (pyinfra keeps the trailing newline already.)\n"
        "JINJA = {'trim_blocks': True}\n\n"
        f"for i in range({N_RENDERS}):\n"
        f"    files.template(name=f'render {{i}}', src=SRC, dest=f'{d}/out-{{i}}.conf',\n"
        "                   mode='644', create_remote_dir=False, jinja_env_kwargs=JINJA,\n"
        "                   item=i, **VARS)\n"
    )


def playbook_facts(path: Path):
    path.write_text(
        "- hosts: all\n  gather_facts: true\n  tasks:\n"
        "    - name: show a few facts\n      debug:\n"
        "        msg: \"facts {{ ansible_hostname }} {{ ansible_distribution }}"
        " {{ ansible_kernel }}\"\n"
    )


# Roughly what Ansible's default fact gathering covers (platform, distribution,
# kernel, hardware, mounts, network), one pyinfra fact each.
PYINFRA_FACTS = [
    "server.Hostname", "server.Os", "server.OsVersion", "server.Arch", "server.Kernel",
    "server.KernelVersion", "server.LinuxDistribution", "server.Mounts", "server.Date",
    "server.Selinux", "hardware.Cpus", "hardware.Memory", "hardware.NetworkDevices",
]


# ------------------------------------------------------------------------------ runs


@dataclass
class RunResult:
    rc: int
    wall: float
    maxrss_kb: int
    log: Path
    timed_out: bool = False
    cpu: float = 0.0  # user + sys of the tool and the children it waited for (wait4)
    cpu_sys: float = 0.0  # the sys part of it
    busy: float = 0.0  # the whole machine's busy CPU-seconds over the run (/proc/stat)
    steal: float = 0.0  # CPU-seconds the hypervisor gave to others while we wanted them


def machine_cpu() -> tuple[float, float]:
    """CPU-seconds since boot, summed over all cores (/proc/stat's first line): busy
    (user, nice, system, irq, softirq; guest time is inside user) and steal."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    v += [0] * (8 - len(v))
    user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


def children(pid: int) -> list[int]:
    """The live children of every thread of pid."""
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                out += [int(c) for c in open(f"/proc/{pid}/task/{task}/children").read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


class TargetCgroup:
    """A cgroup holding the namespace hosts' sshds, so every process of their sessions
    (forked from them, orphans included) is counted: the targets' own CPU, apart from
    the control node's and from anything else running on the machine. cgroup v2 (or
    v2 beside v1) `cpu.stat`, else v1 `cpuacct.usage`; None where neither works."""

    CHOICES = (("/sys/fs/cgroup", "cpu.stat"), ("/sys/fs/cgroup/unified", "cpu.stat"),
               ("/sys/fs/cgroup/cpuacct", "cpuacct.usage"))

    def __init__(self, base: Path, stat: str, pids: list[int]):
        self.base, self.stat, self.pids = base, stat, pids
        self.dir = base / f"bosun-bench-{os.getpid()}"

    @classmethod
    def make(cls, targets: list) -> "TargetCgroup | None":
        pids = [t.sshd_pid for t in targets if t.sshd_pid]
        if not pids or len(pids) != len(targets):
            return None
        for base, stat in cls.CHOICES:
            base = Path(base)
            if not (base / "cgroup.procs").exists():
                continue
            cg = cls(base, stat, pids)
            try:
                cg.dir.mkdir()
            except OSError:
                continue
            try:
                if not (cg.dir / stat).exists():
                    raise OSError("no " + stat)
                for pid in pids:
                    (cg.dir / "cgroup.procs").write_text(f"{pid}\n")
                cg.usage()
                return cg
            except OSError:
                cg.remove()
        return None

    def usage(self) -> float:
        """CPU-seconds the processes in the cgroup have used so far."""
        text = (self.dir / self.stat).read_text()
        if self.stat == "cpu.stat":
            return int(re.search(r"^usage_usec (\d+)", text, re.M).group(1)) / 1e6
        return int(text) / 1e9

    def settled(self, timeout: float = 10.0) -> float:
        """usage(), once the last run's sessions have ended (only the listening sshds
        left in the cgroup) or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                left = len((self.dir / "cgroup.procs").read_text().split())
            except OSError:
                break
            if left <= len(self.pids):
                break
            time.sleep(0.02)
        return self.usage()

    def remove(self):
        """Every process back to the hierarchy's root cgroup, then the cgroup away."""
        for _ in range(50):
            try:
                left = (self.dir / "cgroup.procs").read_text().split()
            except OSError:
                break
            for pid in left:
                try:
                    (self.base / "cgroup.procs").write_text(pid + "\n")
                except OSError:
                    pass
            try:
                self.dir.rmdir()
                return
            except OSError:
                time.sleep(0.1)
        try:
            self.dir.rmdir()
        except OSError as e:
            if self.dir.exists():
                print(f"  could not remove {self.dir}: {e}", flush=True)


def become_subreaper():
    """Orphans among our descendants come to us rather than to init: ansible's OpenSSH
    ControlPersist masters daemonise, and only so can their CPU time be counted."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def reap_orphans(settle: float = 5.0) -> float:
    """Waits for the orphans a run left with us (ansible's SSH masters, once told to
    exit), killing any still alive after `settle` seconds; returns their CPU-seconds
    (user + sys, with their own waited-for children)."""
    cpu = 0.0
    deadline = time.monotonic() + settle
    pending = set(children(os.getpid()))
    while pending:
        for pid in list(pending):
            try:
                done, _, usage = os.wait4(pid, os.WNOHANG)
            except ChildProcessError:
                pending.discard(pid)
                continue
            if done:
                cpu += usage.ru_utime + usage.ru_stime
                pending.discard(pid)
        if pending and time.monotonic() > deadline:
            for pid in pending:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = float("inf")
        if pending:
            time.sleep(0.02)
    return cpu


CURRENT: list[int] = []  # process group of the tool running now


def on_signal(signum, _frame):
    """bench/run stops us (^C, TERM): end the tool that runs now, by its group, and go."""
    for pgid in CURRENT:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    sys.exit(128 + signum)


def run_measured(argv, env, cwd, log: Path, timeout: float) -> RunResult:
    """Runs argv once; wall time around fork+exec+wait; peak RSS and CPU time from
    wait4 (the largest resident set of the process and the children it waited for, like
    /usr/bin/time's %M; user + sys of the same processes, like %U + %S); the whole
    machine's busy CPU over the same span from /proc/stat."""
    with open(log, "wb") as out:
        out.write(("$ " + " ".join(map(str, argv)) + "\n").encode())
        out.flush()
        busy0, steal0 = machine_cpu()
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
        CURRENT[:] = [proc.pid]
        timed_out = threading.Event()

        def kill():
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.daemon = True  # never keeps the process alive on exit
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        busy1, steal1 = machine_cpu()
        timer.cancel()
        CURRENT.clear()
        proc.returncode = os.waitstatus_to_exitcode(status)
    return RunResult(proc.returncode, wall, usage.ru_maxrss, log, timed_out.is_set(),
                     usage.ru_utime + usage.ru_stime, usage.ru_stime, busy1 - busy0, steal1 - steal0)


def close_ssh_masters(cp_dir: Path):
    """Ends the OpenSSH ControlPersist masters one ansible run left in cp_dir, so the
    next run starts cold like the other tools."""
    if not cp_dir.is_dir():
        return
    for sock in cp_dir.iterdir():
        subprocess.run(["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "x"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=10)


@dataclass
class Workload:
    key: str  # e.g. fanout-20
    kind: str  # tasks, files, fanout, adhoc, local, facts, template
    hosts: list[Target]
    what: str
    phases: list[str] = field(default_factory=lambda: [""])
    dir: Path | None = None


class Bench:
    def __init__(self, ctx: Ctx):
        self.ctx = ctx
        self.rows: list[dict] = []
        self.notes: dict[str, list[str]] = {}  # workload key -> observations
        self.checks: dict[tuple, str] = {}  # (workload, tool) -> content digest
        self.cgroup: TargetCgroup | None = None  # the namespace hosts' sshds (fan-out)

    # -- generation

    def prepare(self, w: Workload):
        ctx = self.ctx
        d = ctx.work / w.key
        d.mkdir(parents=True, exist_ok=True)
        w.dir = d
        if w.kind == "local":
            playbook_commands(d / "site.yml", self.marker_path(w), hosts="localhost")
            deploy_commands(d / "deploy.py", self.marker_path(w))
            return
        ini_inventory(ctx, w.hosts, d / "hosts.ini")
        py_inventory(ctx, w.hosts, d / "inventory.py")
        if w.kind in ("tasks", "fanout"):
            playbook_commands(d / "site.yml", self.marker_path(w))
            deploy_commands(d / "deploy.py", self.marker_path(w))
        elif w.kind == "files":
            for tool in TOOLS:
                playbook_files(d / f"site-{tool}.yml", self.remote_dir(w, tool))
                deploy_files(d / f"deploy-{tool}.py", self.remote_dir(w, tool))
        elif w.kind == "template":
            (d / "big.conf.j2").write_text(TEMPLATE)
            (d / "templates").mkdir(exist_ok=True)
            (d / "templates" / "big.conf.j2").write_text(TEMPLATE)
            for tool in TOOLS:
                playbook_template(d / f"site-{tool}.yml", self.remote_dir(w, tool))
                deploy_template(d / f"deploy-{tool}.py", self.remote_dir(w, tool))
        elif w.kind == "facts":
            playbook_facts(d / "site.yml")

    def marker_path(self, w: Workload) -> str:
        if w.kind == "local" or (w.hosts and w.hosts[0].fs_root == "/"):
            return str(self.ctx.scratch / "target" / f"marker-{w.key}")
        return MARKER_NS

    def remote_dir(self, w: Workload, tool: str) -> str:
        """Where a tool's files go on the target (its own directory per tool)."""
        if w.hosts[0].fs_root == "/":  # the loopback sshd: this machine
            return str(self.ctx.scratch / "target" / w.key / tool)
        return f"/root/bench/{w.key}/{tool}"

    def local_dir(self, w: Workload, tool: str) -> Path:
        """remote_dir as seen from here."""
        return w.hosts[0].path(self.remote_dir(w, tool))

    def command(self, w: Workload, tool: str, cp_dir: Path) -> tuple[list, dict]:
        ctx, d, n = self.ctx, w.dir, str(max(1, len(w.hosts)))
        v = ctx.venv / "bin"
        env = ctx.env(tool, {"ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp_dir)} if tool == "ansible" else None)
        suffix = f"-{tool}" if w.kind in ("files", "template") else ""
        pb, dep = str(d / f"site{suffix}.yml"), str(d / f"deploy{suffix}.py")
        inv, pyinv = str(d / "hosts.ini"), str(d / "inventory.py")
        if w.kind == "local":
            return {
                "bosun": [ctx.bosun, "run", pb, "-i", "localhost,", "-c", "local"],
                "ansible": [v / "ansible-playbook", "-i", "localhost,", "-c", "local", pb],
                "pyinfra": [v / "pyinfra", "-y", "@local", dep],
            }[tool], env
        if w.kind == "adhoc":
            return {
                "bosun": [ctx.bosun, "-m", "ping", "all", "-i", inv, "-f", n],
                "ansible": [v / "ansible", "all", "-i", inv, "-m", "ping", "-f", n],
                "pyinfra": [v / "pyinfra", "-y", "--parallel", n, pyinv, "exec", "--", "/bin/true"],
            }[tool], env
        if w.kind == "facts":
            return {
                "bosun": [ctx.bosun, "run", pb, "-i", inv, "-f", n],
                "ansible": [v / "ansible-playbook", "-i", inv, "-f", n, pb],
                "pyinfra": [v / "pyinfra", "-y", "--parallel", n, pyinv, "fact", *PYINFRA_FACTS],
            }[tool], env
        return {
            "bosun": [ctx.bosun, "run", pb, "-i", inv, "-f", n],
            "ansible": [v / "ansible-playbook", "-i", inv, "-f", n, pb],
            "pyinfra": [v / "pyinfra", "-y", "--parallel", n, pyinv, dep],
        }[tool], env

    # -- state on the targets

    def reset(self, w: Workload, tool: str):
        targets = w.hosts or [Target("localhost", "", 0, "/")]
        if w.kind in ("tasks", "fanout", "local"):
            for t in targets:
                t.path(self.marker_path(w)).unlink(missing_ok=True)
        elif w.kind in ("files", "template"):
            rd = self.local_dir(w, tool)
            subprocess.run(["rm", "-rf", str(rd)], check=True)
            rd.mkdir(parents=True)

    def verify(self, w: Workload, tool: str, phase: str, log: Path) -> str | None:
        """None when the run did its work on every target, else what is wrong."""
        text = log.read_text(errors="replace")
        targets = w.hosts or [Target("localhost", "", 0, "/")]
        if w.kind in ("tasks", "fanout", "local"):
            missing = [t.name for t in targets if not t.path(self.marker_path(w)).exists()]
            if missing:
                return f"marker of task {N_TASKS} missing on {len(missing)} host(s): {', '.join(missing[:5])}"
        elif w.kind == "files":
            rd = self.local_dir(w, tool)
            touch, copy = files_names()
            bad = [n for n in touch if not (rd / n).is_file()]
            bad += [n for n, c in copy if not (rd / n).is_file() or (rd / n).read_text() != c]
            if bad:
                return f"{len(bad)} file(s) missing or wrong: {', '.join(bad[:5])}"
            if phase == "second" and self._mtimes.get((w.key, tool)) != self.mtimes(rd):
                return "the converged run rewrote files (mtimes changed)"
            self._mtimes[(w.key, tool)] = self.mtimes(rd)
        elif w.kind == "template":
            rd = self.local_dir(w, tool)
            files = sorted(rd.glob("out-*.conf"))
            if len(files) != N_RENDERS:
                return f"{len(files)} of {N_RENDERS} rendered files"
            short = [f.name for f in files if len(f.read_text().splitlines()) != 200]
            if short:
                return f"{len(short)} rendered file(s) without 200 lines: {', '.join(short[:3])}"
            self.checks[(w.key, tool)] = hashlib.sha256((rd / "out-7.conf").read_bytes()).hexdigest()[:12]
            if phase == "second" and self._mtimes.get((w.key, tool)) != self.mtimes(rd):
                return "the converged run rewrote files (mtimes changed)"
            self._mtimes[(w.key, tool)] = self.mtimes(rd)
        elif w.kind == "adhoc":
            if tool == "pyinfra":
                ok = set(re.findall(r"^\s*\[(\S+)\]\s+Success\s*$", text, re.M))
                bad = [t.name for t in targets if t.name not in ok]
                if bad:
                    return f"no success for {len(bad)} host(s): {', '.join(bad[:5])}"
            else:
                pongs = len(re.findall(r"\"ping\": \"pong\"", text))
                if pongs != len(targets):
                    return f"{pongs} pong(s) for {len(targets)} hosts"
        elif w.kind == "facts":
            if tool == "pyinfra":
                # "--> Fact data for: server.Hostname" then {"h1": "h1", ...}
                m = re.search(r"Fact data for: server\.Hostname\s*(\{.*?\n\})", text, re.S)
                found = set(json.loads(m.group(1)).values()) if m else set()
            else:
                found = set(re.findall(r'"msg": "facts (\S+) ', text))
            missing = [t.name for t in targets if t.name not in found]
            if missing:
                return f"no facts for {len(missing)} host(s): {', '.join(missing[:5])}"
        if tool in ("bosun", "ansible") and w.kind != "adhoc":
            recap = self.recap(text)
            if len(recap) != len(targets):
                return f"PLAY RECAP names {len(recap)} host(s), expected {len(targets)}"
            failed = [h for h, r in recap.items() if r.get("failed") or r.get("unreachable")]
            if failed:
                return f"failed or unreachable: {', '.join(failed[:5])}"
        return None

    _mtimes: dict = {}

    @staticmethod
    def mtimes(d: Path) -> dict:
        return {p.name: p.stat().st_mtime_ns for p in sorted(d.iterdir())}

    @staticmethod
    def recap(text: str) -> dict:
        out = {}
        tail = text.split("PLAY RECAP", 1)[-1] if "PLAY RECAP" in text else ""
        for m in re.finditer(r"^(\S+)\s*:\s*((?:\w+=\d+\s*)+)$", tail, re.M):
            out[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
        return out

    @staticmethod
    def changed(tool: str, text: str) -> int | None:
        """How many changes the tool reported (for the record; None if unknown)."""
        if tool in ("bosun", "ansible"):
            r = Bench.recap(text)
            return sum(v.get("changed", 0) for v in r.values()) if r else None
        # pyinfra's summary: "Grand total  OPS  SUCCESS  ERROR  NO-CHANGE" ("-" for 0);
        # "Success" counts the operations that changed something.
        m = re.search(r"^\s*Grand total\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
        if m:
            return 0 if m.group(2) == "-" else int(m.group(2))
        return None

    # -- the loop

    def run(self, workloads: list[Workload], tools: list[str]):
        args = self.ctx.args
        timeout = 900 if args.mode == "quick" else 1800
        for w in workloads:
            self.prepare(w)
        self.warm_up(tools)
        for w in workloads:
            for r in range(1, args.runs + 1):
                for tool in tools:  # A B C A B C ...
                    self.reset(w, tool)
                    for phase in w.phases:
                        label = w.key + (f" ({phase})" if phase else "")
                        tag = f"{w.key}{'-' + phase if phase else ''}-{tool}-{r}"
                        cp_dir = self.ctx.scratch / "cp" / tag
                        cp_dir.mkdir(parents=True, exist_ok=True)
                        argv, env = self.command(w, tool, cp_dir)
                        log_sizes = [(t.sshd_log, t.sshd_log.stat().st_size) for t in w.hosts if t.sshd_log]
                        cg = self.cgroup if w.kind == "fanout" else None
                        targets0 = cg.settled() if cg else None
                        res = run_measured([str(a) for a in argv], env, w.dir,
                                           self.ctx.logs / f"{tag}.log", timeout)
                        close_ssh_masters(cp_dir)
                        res.cpu += reap_orphans()  # ansible's SSH masters
                        targets1 = cg.settled() if cg else None
                        sessions = self.count_sessions(log_sizes)
                        problem = None
                        if res.timed_out:
                            problem = f"timed out after {timeout}s"
                        elif res.rc != 0:
                            problem = f"exit code {res.rc}"
                        if problem is None:
                            problem = self.verify(w, tool, phase, res.log)
                        elif w.kind in ("files", "template"):
                            self.verify(w, tool, phase, res.log)  # keep mtimes in step
                        text = res.log.read_text(errors="replace")
                        row = {
                            "mode": args.mode, "workload": w.key, "phase": phase or "-",
                            "hosts": len(w.hosts) or 1, "tool": tool, "run": r,
                            "wall_s": f"{res.wall:.4f}", "peak_rss_mb": f"{res.maxrss_kb / 1024:.1f}",
                            "status": "ok" if problem is None else "failed",
                            "changed": self.changed(tool, text) if problem is None else "",
                            "ssh_sessions": sessions if w.hosts else "",
                            "note": problem or "",
                            "cpu_s": f"{res.cpu:.3f}",
                            "cpu_sys_s": f"{res.cpu_sys:.3f}",
                            "machine_busy_s": f"{res.busy:.2f}",
                            "steal_s": f"{res.steal:.2f}",
                            "targets_cpu_s": (f"{targets1 - targets0:.3f}"
                                              if targets0 is not None and targets1 is not None else ""),
                        }
                        self.rows.append(row)
                        self.save()
                        print(f"  {label:<28} {tool:<8} run {r}: {res.wall:8.3f} s "
                              f"{res.maxrss_kb / 1024:7.1f} MB  cpu {res.cpu:6.2f} s  "
                              f"machine {res.busy:6.2f} s  "
                              f"{'ok' if problem is None else 'FAILED: ' + problem}"
                              f"  (log {res.log.name})", flush=True)
                        if problem and phase == "first" and w.phases[1:]:
                            break  # a second run on top of a failed first run means nothing

    @staticmethod
    def count_sessions(log_sizes) -> int:
        """SSH sessions (exec, shell, sftp channels) the targets' sshd logged since."""
        n = 0
        for path, size in log_sizes:
            with open(path, "rb") as f:
                f.seek(size)
                n += f.read().count(b"Starting session:")
        return n

    def save(self, **extra):
        """Everything measured so far, so that `bench.py --report-from` can write the
        reports again without running anything."""
        state = {"rows": self.rows, "checks": [[k[0], k[1], v] for k, v in self.checks.items()]}
        state.update(extra)
        path = self.ctx.scratch / "state.json"
        old = json.loads(path.read_text()) if path.exists() else {}
        old.update(state)
        path.write_text(json.dumps(old, indent=1, default=str))

    def warm_up(self, tools):
        """One untimed local run per tool: Python byte code compiled, files cached."""
        w = Workload("warmup", "local", [], "warm-up")
        w.dir = self.ctx.work / "warmup"
        w.dir.mkdir(exist_ok=True)
        playbook_commands(w.dir / "site.yml", self.marker_path(w), hosts="localhost", n=1)
        deploy_commands(w.dir / "deploy.py", self.marker_path(w), n=1)
        for tool in tools:
            argv, env = self.command(w, tool, self.ctx.scratch / "cp" / "warmup")
            run_measured([str(a) for a in argv], env, w.dir, self.ctx.logs / f"warmup-{tool}.log", 300)


# ---------------------------------------------------------------------- probes


def probe_ssh_exec(ctx: Ctx, target: Target, n=7) -> float:
    """Median time of `ssh host true` with OpenSSH, no multiplexing: connect, auth, one
    exec through the account's login shell."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                        "-o", f"UserKnownHostsFile={ctx.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                        "-i", str(ctx.key), "-p", str(target.port), f"root@{target.addr}", "true"],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def probe_bosun_tasks(ctx: Ctx, target: Target, tag: str, counts=(1, 50), runs=5) -> dict:
    """bosun with 1 and 50 command tasks on one target: fixed cost against cost per
    task; and a play whose only task is `meta: noop` (no connection is opened)."""
    d = ctx.work / f"probe-{tag}"
    d.mkdir(exist_ok=True)
    ini_inventory(ctx, [target], d / "hosts.ini")
    out = {}
    for c in (0, *counts):
        pb = d / f"tasks-{c}.yml"
        tasks = "".join("    - command: /bin/true\n" for _ in range(c))
        pb.write_text("- hosts: all\n  gather_facts: false\n  tasks:\n" + (tasks or "    - meta: noop\n"))
        times = []
        for r in range(runs):
            res = run_measured([ctx.bosun, "run", str(pb), "-i", str(d / "hosts.ini")], ctx.env("bosun"),
                               d, ctx.logs / f"probe-{tag}-{c}-{r}.log", 120)
            if res.rc == 0:
                times.append(res.wall)
        out[c] = statistics.median(times) if times else None
    times = []
    for r in range(runs):
        res = run_measured([ctx.bosun, "--version"], ctx.env("bosun"), d, ctx.logs / "probe-version.log", 30)
        times.append(res.wall)
    out["startup"] = statistics.median(times)
    return out


# The module families whose round trips per task the report lists: a name and one task
# (`{d}` a scratch directory, `{i}` the task's number). Each runs 10 times on localhost.
ROUND_TRIP_FAMILIES = [
    ("command", "    - command: /bin/true\n"),
    ("shell", "    - shell: 'true'\n"),
    ("file: state=touch (times kept)",
     "    - file: path={d}/t{i} state=touch modification_time=preserve access_time=preserve\n"),
    ("file: state=directory", "    - file: path={d}/dir{i} state=directory mode=0755\n"),
    ("copy: content=", "    - copy: content='line {i}' dest={d}/c{i} mode=0644\n"),
    ("template", "    - template: src=probe.j2 dest={d}/tpl{i} mode=0644\n"),
    ("lineinfile", "    - lineinfile: path={d}/lines line='line {i}' create=true\n"),
    ("stat", "    - stat: path={d}/c{i}\n"),
    ("ping", "    - ping:\n"),
    ("debug (no round trip expected)", "    - debug: msg=x\n"),
]
ROUND_TRIP_TASKS = 10


def count_round_trips(bosun: str, playbook: Path, cwd: Path, env: dict) -> int | None:
    """The round trips one local run of `playbook` made (BOSUN_ROUND_TRIPS=1)."""
    res = subprocess.run([bosun, "run", str(playbook), "-c", "local"], cwd=cwd,
                         env={**env, "BOSUN_ROUND_TRIPS": "1"}, capture_output=True, text=True)
    m = re.search(r"bosun: (\d+) round trips to targets", res.stderr)
    return int(m.group(1)) if res.returncode == 0 and m else None


def probe_round_trips(bosun: str, work: Path, env: dict) -> dict:
    """Round trips per task for each module family, first run and converged second run,
    counted by bosun itself. Local mode: the modules make the same round trips through
    the SSH connection (exec, upload and download each count one there too)."""
    d = work / "round-trips"
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "probe.j2").write_text("{% for n in range(3) %}line {{ n }} of {{ inventory_hostname }}\n{% endfor %}")
    out = {}
    facts = d / "facts.yml"
    facts.write_text("- hosts: localhost\n  gather_facts: true\n  tasks:\n    - meta: noop\n")
    n = count_round_trips(bosun, facts, d, env)
    out["setup (fact gathering, per host)"] = {"first": n, "second": n}
    for name, task in ROUND_TRIP_FAMILIES:
        target = d / f"t-{len(out)}"
        target.mkdir()
        tasks = "".join(task.format(d=target, i=i) for i in range(ROUND_TRIP_TASKS))
        pb = d / f"pb-{len(out)}.yml"
        pb.write_text("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + tasks)
        runs = [count_round_trips(bosun, pb, d, env) for _ in ("first", "second")]
        out[name] = {phase: (c / ROUND_TRIP_TASKS if c is not None else None)
                     for phase, c in zip(("first", "second"), runs)}
    return out


def round_trips_section(rt: dict) -> list[str]:
    """The table of round trips per task by module family."""
    def cell(v):
        return "-" if v is None else (f"{v:.0f}" if float(v).is_integer() else f"{v:.1f}")
    md = ["## Round trips per task", "",
          "Counted by bosun itself (`BOSUN_ROUND_TRIPS=1` prints how many commands, uploads and "
          "downloads waited for a target's answer), 10 tasks of each family on one host, first run "
          "and converged second run. Through SSH each is one message exchange on the host's one "
          "persistent shell (uploads above 256 KiB: one exec channel).", "",
          "| module family | first run | converged run |", "| --- | ---: | ---: |"]
    for name, v in rt.items():
        md.append(f"| {name} | {cell(v.get('first'))} | {cell(v.get('second'))} |")
    return md + [""]


def add_round_trips(ap):
    """--round-trips-into STATE: measure the round trips with a built bosun, add them to
    a run's state.json and write the reports again."""
    ap.add_argument("--bosun", required=True)
    ap.add_argument("--out", default=str(HERE))
    a, _ = ap.parse_known_args()
    path = Path(a.round_trips_into)
    bosun = str(Path(a.bosun).resolve())
    state = json.loads(path.read_text())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "dumb"}
    with tempfile.TemporaryDirectory(prefix="bosun-round-trips-") as tmp:
        state["probes"]["round_trips"] = probe_round_trips(bosun, Path(tmp), env)
    path.write_text(json.dumps(state, indent=1))
    sys.argv = [sys.argv[0], "--report-from", str(path), "--out", a.out]
    again = argparse.ArgumentParser()
    again.add_argument("--report-from")
    return report_from(again)


# ---------------------------------------------------------------------- reports


def machine_info(ctx: Ctx) -> dict:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kb = int(open("/proc/meminfo").readline().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    distro = "?"
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass

    def out(*argv):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
            return (r.stdout + r.stderr).strip().splitlines()[0]
        except Exception:  # noqa: BLE001 - a report line, never fatal
            return "?"

    py = str(ctx.venv / "bin" / "python")
    ver = lambda pkg: out(py, "-c", f"import importlib.metadata as m; print(m.version('{pkg}'))")  # noqa: E731
    return {
        "date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem} RAM; {distro}, Linux {platform.release()}",
        "bosun": f"{out(ctx.bosun, '--version')} (git {out('git', '-C', str(ctx.args.repo), 'describe', '--always', '--dirty')}, release build)",
        "ansible-core": ver("ansible-core"),
        "pyinfra": ver("pyinfra"),
        "python": out(py, "--version"),
        "openssh": out("ssh", "-V"),
    }


def summarize(rows: list[dict]) -> list[dict]:
    """One line per workload and phase: medians per tool."""
    order, groups = [], {}
    for row in rows:
        k = (row["workload"], row["phase"])
        if k not in groups:
            order.append(k)
            groups[k] = {"hosts": row["hosts"], "tools": {}}
        groups[k]["tools"].setdefault(row["tool"], []).append(row)
    out = []
    for k in order:
        g = groups[k]
        line = {"workload": k[0], "phase": k[1], "hosts": g["hosts"], "tools": {}}
        for tool, rs in g["tools"].items():
            ok = [r for r in rs if r["status"] == "ok"]
            line["tools"][tool] = {
                "runs": len(rs), "ok": len(ok),
                "median": statistics.median(float(r["wall_s"]) for r in ok) if ok else None,
                "min": min(float(r["wall_s"]) for r in ok) if ok else None,
                "max": max(float(r["wall_s"]) for r in ok) if ok else None,
                "rss": statistics.median(float(r["peak_rss_mb"]) for r in ok) if ok else None,
                "notes": sorted({r["note"] for r in rs if r["note"]}),
            }
        out.append(line)
    return out


def fmt_t(s):
    if s is None:
        return "failed"
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.2f} s"


def label(line):
    return line["workload"] + (f" ({line['phase']})" if line["phase"] != "-" else "")


def what(kind: str) -> str:
    n, (touch, copy) = N_TASKS, files_names()
    return {
    "tasks": f"{n} `command: /bin/true` tasks (the last one touches a marker) on the loopback sshd "
             "(pyinfra: `server.shell`)",
    "files": f"{len(touch)} `file: state=touch` (times preserved; pyinfra `files.file`) + {len(copy)} "
             "`copy: content=` (pyinfra `files.put` of a StringIO) on the loopback sshd; first run into "
             "an empty directory, then the converged second run",
    "fanout": f"the {n} command tasks on every namespace host, forks = hosts",
    "adhoc": "ad hoc `-m ping all` (pyinfra: `exec -- /bin/true`)",
    "local": f"the {n} command tasks with `-c local` (pyinfra: `@local`)",
    "facts": "fact gathering (Ansible's default set) + one `debug` of three facts; pyinfra: "
             f"`fact` with {len(PYINFRA_FACTS)} facts",
    "template": f"{N_RENDERS} renders of a 200-line template (loops, filters, conditionals) in a loop "
                "on a namespace host; first run, then the unchanged second run",
}[kind]


def us(seconds) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def cores_of(info: dict) -> int | None:
    """The cores the run's machine had (older state.json: from the machine line)."""
    if info.get("cores"):
        return int(info["cores"])
    m = re.search(r"(\d+) cores", info.get("machine", ""))
    return int(m.group(1)) if m else None


def fanout_measures(rows: list[dict], info: dict) -> dict:
    """Per fan-out workload and tool, from the runs that passed their checks (medians):
    the control CPU per host and task (user + sys from wait4, over hosts x tasks); the
    whole machine's busy CPU; the targets' work = machine busy - control CPU; the floor
    = the targets' work over the cores (the least wall time any tool could take on this
    machine, were its own CPU free); wall / floor, per run. Tools or runs without the
    numbers (a state.json from before they were measured) are left out."""
    cores = cores_of(info)

    def num(r, k):
        v = r.get(k)
        return float(v) if v not in (None, "") else None

    out = {}
    for r in rows:
        if not r["workload"].startswith("fanout-") or r["status"] != "ok" or num(r, "cpu_s") is None:
            continue
        out.setdefault(r["workload"], {}).setdefault(r["tool"], []).append(r)
    res = {}
    for w, per_tool in out.items():
        for tool, rs in per_tool.items():
            units = int(rs[0]["hosts"]) * N_TASKS
            m = {"runs": len(rs),
                 "cpu": statistics.median(num(r, "cpu_s") for r in rs),
                 "per_task": statistics.median(num(r, "cpu_s") / units for r in rs),
                 "wall": statistics.median(num(r, "wall_s") for r in rs)}
            busy = [r for r in rs if num(r, "machine_busy_s") is not None]
            if busy and cores:
                floors = [(num(r, "machine_busy_s") - num(r, "cpu_s")) / cores for r in busy]
                m["busy"] = statistics.median(num(r, "machine_busy_s") for r in busy)
                m["targets"] = statistics.median(num(r, "machine_busy_s") - num(r, "cpu_s") for r in busy)
                m["floor"] = statistics.median(floors)
                m["floor_ratio"] = statistics.median(num(r, "wall_s") / f for r, f in zip(busy, floors) if f > 0)
                m["steal"] = statistics.median(num(r, "steal_s") or 0 for r in busy)
            own = [num(r, "targets_cpu_s") for r in rs if num(r, "targets_cpu_s") is not None]
            if own:
                m["own"] = statistics.median(own)
            sys_ = [num(r, "cpu_sys_s") for r in rs if num(r, "cpu_sys_s") is not None]
            if sys_:
                m["sys"] = statistics.median(sys_)
            res.setdefault(w, {})[tool] = m
    return res


def fanout_section(summary, fan: dict, info: dict) -> list[str]:
    """The fan-out workloads' CPU: each tool's own, the machine's, the floor."""
    fan_lines = [l for l in summary if l["workload"].startswith("fanout-")]
    if not fan_lines:
        return []
    md = ["## Fan-out: control CPU and the machine's floor", "",
          "Every tool and its targets share this machine's cores, and on the fan-out the targets' own "
          "work (sshd, a shell, a `/bin/true` per task) takes most of them: no tool's wall time can go "
          "below that work spread over every core. So the fan-out goals are measured on what a tool "
          "controls: its **control CPU** (user + sys of the tool's process and the children it waited "
          "for, from `wait4`, as `/usr/bin/time`'s %U + %S; for ansible also its OpenSSH ControlPersist "
          "masters, which `bench.py` reaps as their subreaper) per host and task; and its wall time "
          "against the **floor**: the whole machine's busy CPU over the run (`/proc/stat`: user, nice, "
          "system, irq, softirq) minus the tool's control CPU, that is the targets' work, divided by "
          f"the number of cores ({cores_of(info) or '?'}). Medians of the runs; wall / floor is the "
          "median of each run's ratio. \"targets' cgroup\" is the targets' CPU counted on the targets "
          "alone: the namespace hosts' sshds are put in a cgroup of their own, whose every session "
          "process is counted there, read before and after the run. It leaves out what the kernel does "
          "for the network between control node and targets unless it ran on a target's time, and "
          "everything else on the machine: when it is well below machine - control, other work "
          "shared the machine during the run, and the floor (which counts it) is too generous.", ""]
    if not fan:
        return md + ["Not measured in this run (its `state.json` predates these numbers).", ""]
    md += ["| workload | tool | wall | control CPU | per host-task | machine busy | targets (machine - control) "
           "| targets' cgroup | floor | wall / floor |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for line in fan_lines:
        w = line["workload"]
        per = fan.get(w, {})
        if not per:
            md.append(f"| {w} | - | not measured in this run | | | | | | | |")
            continue
        for tool in TOOLS:
            m = per.get(tool)
            if not m:
                continue
            cell = lambda k, f: f(m[k]) if m.get(k) is not None else "-"  # noqa: E731
            sys_ = f" ({m['sys']:.2f} sys)" if m.get("sys") is not None else ""
            md.append(f"| {w} | {tool} | {fmt_t(m['wall'])} | {m['cpu']:.2f} s{sys_} | {us(m['per_task'])} | "
                      f"{cell('busy', lambda v: f'{v:.2f} s')} | {cell('targets', lambda v: f'{v:.2f} s')} | "
                      f"{cell('own', lambda v: f'{v:.2f} s')} | {cell('floor', fmt_t)} | "
                      f"{cell('floor_ratio', lambda v: f'{v:.2f}x')} |")
    md.append("")
    for line in fan_lines:
        per = fan.get(line["workload"], {})
        b = per.get("bosun")
        if not b:
            continue
        ratios = [f"{peer} / bosun {per[peer]['per_task'] / b['per_task']:.1f}x"
                  for peer in ("pyinfra", "ansible") if per.get(peer)]
        if ratios:
            md.append(f"- {line['workload']}: control CPU per host-task, " + ", ".join(ratios) + ".")
    steal = max((m.get("steal", 0) for per in fan.values() for m in per.values()), default=0)
    if steal >= 0.05:
        md.append(f"- The hypervisor took up to {steal:.2f} CPU-s from this machine during a run (steal, "
                  "not counted as busy).")
    return md + [""]


def targets_section(summary, probes, mode, fan=None, info=None) -> list[str]:
    def med(workload_prefix, tool, phase="-"):
        for line in summary:
            if line["workload"].startswith(workload_prefix) and line["phase"] == phase:
                t = line["tools"].get(tool)
                if t and t["median"] is not None:
                    return t["median"], line
        return None, None

    def rss(workload, tool="bosun"):
        for line in summary:
            if line["workload"] == workload:
                t = line["tools"].get(tool)
                if t and t["rss"] is not None:
                    return t["rss"]
        return None

    out = ["| target | measured | verdict |", "| --- | --- | --- |"]

    def verdict(ok):
        return "**met**" if ok else "**missed**"

    def wall_ratio(w, peer, goal, info_only=False):
        b, _ = med(w, "bosun")
        p, _ = med(w, peer)
        what = (f"(information, no longer a goal: bosun's wall time against {peer}'s on {w}; "
                f"the old goal was {goal}x)" if info_only else f"bosun >= {goal}x faster than {peer} on {w}")
        if b and p:
            v = "-" if info_only else verdict(p / b >= goal)
            out.append(f"| {what} | {p / b:.1f}x ({fmt_t(p)} vs {fmt_t(b)}) | {v} |")
        elif not info_only:
            ran = all(any(l["workload"].startswith(w) and t in l["tools"] for l in summary)
                      for t in ("bosun", peer))
            out.append(f"| {what} | {'a run failed' if ran else 'not run'} | **not measured** |")

    fan_lines = [l for l in summary if l["workload"].startswith("fanout-")]
    wall_ratio("tasks-1host", "ansible", 50)
    wall_ratio("tasks-1host", "pyinfra", 10)
    for line in fan_lines:
        w = line["workload"]
        wall_ratio(w, "ansible", 50)
        # On one machine the targets' own work takes most of the CPU (RESULTS.md, "Where
        # the time goes"): the goals are bosun's own CPU and the machine's floor.
        wall_ratio(w, "pyinfra", 10, info_only=True)
        m = (fan or {}).get(w, {})
        b, p = m.get("bosun") or {}, m.get("pyinfra") or {}
        absent = "not run" if not {"bosun", "pyinfra"} <= set(line["tools"]) else "not measured in this run"
        what = f"bosun's control CPU per host-task >= {FANOUT_CPU_GOAL}x below pyinfra's on {w}"
        if b.get("per_task") and p.get("per_task"):
            r = p["per_task"] / b["per_task"]
            out.append(f"| {what} | {r:.1f}x ({us(p['per_task'])} vs {us(b['per_task'])} per host-task) | "
                       f"{verdict(r >= FANOUT_CPU_GOAL)} |")
        else:
            out.append(f"| {what} | {absent} | **not measured** |")
        what = f"bosun's wall time on {w} within {FANOUT_FLOOR_GOAL}x of the machine's floor"
        if b.get("floor_ratio"):
            out.append(f"| {what} | {b['floor_ratio']:.2f}x ({fmt_t(b['wall'])} vs floor {fmt_t(b['floor'])}) | "
                       f"{verdict(b['floor_ratio'] <= FANOUT_FLOOR_GOAL)} |")
        else:
            out.append(f"| {what} | {'not run' if 'bosun' not in line['tools'] else 'not measured in this run'} | "
                       "**not measured** |")
        cores = cores_of(info or {})
        if b.get("own") and cores:
            # Other work on the machine fills the cores too and counts as the targets'
            # work above; the targets' cgroup counts only theirs.
            own = b["own"] / cores
            out.append(f"| (the same, against a floor of the targets' cgroup alone: {b['own']:.2f} CPU-s "
                       f"over {cores} cores = {fmt_t(own)}) | {b['wall'] / own:.2f}x | "
                       f"{verdict(b['wall'] / own <= FANOUT_FLOOR_GOAL)} |")
    b, _ = med("tasks-1host", "bosun")
    floor = 0.035 + N_TASKS * 0.001
    if b:
        out.append(f"| tasks-1host within 3x of the SSH floor (35 ms + {N_TASKS} x 1 ms = {floor * 1000:.0f} ms, "
                   f"so <= {3 * floor * 1000:.0f} ms) | {fmt_t(b)} = {b / floor:.1f}x the floor | "
                   f"{verdict(b <= 3 * floor)} |")
        # tasks-1host logs in to an account whose ~/.bashrc is slow (pyenv): SSH-FLOOR.md
        # measured that account's own floor too (196 ms to the first exec, 0.96 ms a task).
        own = 0.196 + N_TASKS * 0.00096
        out.append(f"| (the same, against the floor SSH-FLOOR.md measured for that account, whose "
                   f"`~/.bashrc` runs pyenv: 196 ms + {N_TASKS} x 0.96 ms = {own * 1000:.0f} ms) | "
                   f"{fmt_t(b)} = {b / own:.1f}x | {verdict(b <= 3 * own)} |")
    netns = (probes or {}).get("bosun_netns") or {}
    if netns.get(N_TASKS):
        n = netns[N_TASKS]
        out.append(f"| {N_TASKS} command tasks on a namespace host (empty rc; probe, median of 5) within 3x "
                   f"of the floor ({floor * 1000:.0f} ms) | {fmt_t(n)} = {n / floor:.1f}x the floor | "
                   f"{verdict(n <= 3 * floor)} |")
    for w in ("files-1host", "template"):
        f1, _ = med(w, "bosun", "first")
        f2, _ = med(w, "bosun", "second")
        if f1 and f2:
            out.append(f"| converged second run at least as fast as the first ({w}) | "
                       f"{fmt_t(f2)} vs {fmt_t(f1)} | {verdict(f2 <= f1)} |")
    # Memory: the fan-out runs at N hosts, against the 1-host run.
    one = rss("tasks-1host")
    fans = sorted(((l["hosts"], l["tools"]["bosun"]["rss"]) for l in fan_lines
                   if l["tools"].get("bosun") and l["tools"]["bosun"]["rss"] is not None))
    for hosts, r in fans:
        if hosts >= 20:
            out.append(f"| peak RSS < 60 MB at {hosts} hosts (fanout) | {r:.1f} MB | {verdict(r < 60)} |")
        else:
            out.append(f"| peak RSS < 60 MB at 20 hosts | {r:.1f} MB at {hosts} hosts ({mode} mode) | "
                       "**not measured at 20** |")
    pts = ([(1, one)] if one else []) + fans
    if len(pts) >= 2:
        (h0, r0), (h1, r1) = pts[0], pts[-1]
        if len(fans) >= 2:
            (h0, r0), (h1, r1) = fans[0], fans[-1]
        slope = (r1 - r0) / (h1 - h0)
        out.append(f"| peak RSS grows <= ~1 MB per extra host | {slope:.2f} MB/host "
                   f"({r0:.1f} MB at {h0} -> {r1:.1f} MB at {h1}) | {verdict(slope <= 1.05)} |")
    return out


def write_reports(ctx: Ctx, rows: list[dict], bench: Bench, probes: dict, info: dict):
    args = ctx.args
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "results.csv", "w", newline="") as f:
        fields = list(dict.fromkeys(k for r in rows for k in r))
        w = csv.DictWriter(f, fieldnames=fields, restval="")
        w.writeheader()
        w.writerows(rows)
    summary = summarize(rows)
    write_svg(out_dir / "results.svg", summary, info, args.mode)

    md = ["# Benchmark results", ""]
    md.append(f"Made by `bench/run{' --quick' if args.mode == 'quick' else ''}` on {info['date']} "
              f"({args.mode} mode: {args.runs} run(s) of each tool per workload, alternating "
              "bosun, ansible, pyinfra; medians).")
    md += ["", "![time per workload](results.svg)", ""]
    md += ["| | |", "| --- | --- |"]
    for k in ("machine", "load", "bosun", "ansible-core", "pyinfra", "python", "openssh"):
        md.append(f"| {k} | {info[k]} |")
    md += ["", "Ansible: `pipelining = True`, forks = number of hosts, `interpreter_python = "
           "/usr/bin/python3` (no discovery), stock SSH multiplexing (ControlPersist), masters closed "
           "after each run. pyinfra: `-y` (no change detection pass), `--parallel` = number of hosts. "
           "bosun: `-f` = number of hosts. Wall time is the whole command, start-up included; peak RSS "
           "is the control process's largest resident set (from `wait4`, as `/usr/bin/time -f %M`); control "
           "CPU is its user + sys time from the same `wait4` (fan-out workloads, below).", ""]
    md += ["## Results", ""]
    md.append("| workload | hosts | bosun | ansible | pyinfra | ansible / bosun | pyinfra / bosun "
              "| RSS bosun | RSS ansible | RSS pyinfra |")
    md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for line in summary:
        t = line["tools"]
        med = {k: t.get(k, {}).get("median") for k in TOOLS}
        cells = [fmt_t(med[k]) if k in t else "-" for k in TOOLS]
        ratios = []
        for peer in ("ansible", "pyinfra"):
            if med["bosun"] and med[peer]:
                ratios.append(f"{med[peer] / med['bosun']:.1f}x")
            else:
                ratios.append("-")
        rss = [f"{t[k]['rss']:.0f} MB" if k in t and t[k]["rss"] is not None else "-" for k in TOOLS]
        md.append(f"| {label(line)} | {line['hosts']} | " + " | ".join(cells + ratios + rss) + " |")
    if any(r.get("ssh_sessions") not in (None, "") for r in rows):
        md += ["", "SSH sessions (exec, shell and sftp channels) the targets' sshd logged per run (median; "
               "summed over the hosts): round trips that each start a process on the target.", "",
               "| workload | hosts | bosun | ansible | pyinfra | per host and task: bosun / ansible / pyinfra |",
               "| --- | ---: | ---: | ---: | ---: | --- |"]
        for line in summary:
            per = {}
            for tool in TOOLS:
                vals = [int(r["ssh_sessions"]) for r in rows if r["workload"] == line["workload"]
                        and r["phase"] == line["phase"] and r["tool"] == tool
                        and r["status"] == "ok" and r.get("ssh_sessions") not in (None, "")]
                per[tool] = statistics.median(vals) if vals else None
            if all(v is None for v in per.values()):
                continue
            kind = re.sub(r"-\d+$", "", line["workload"]).replace("-1host", "")
            units = {"tasks": N_TASKS, "files": N_TASKS, "fanout": N_TASKS, "template": N_RENDERS}.get(kind)
            ratio = " / ".join(f"{v / (units * line['hosts']):.2f}" if v is not None and units else "-"
                               for v in per.values())
            cells = [f"{v:.0f}" if v is not None else "-" for v in per.values()]
            md.append(f"| {label(line)} | {line['hosts']} | " + " | ".join(cells) + f" | {ratio if units else '-'} |")
    fan = fanout_measures(rows, info)
    md += [""] + fanout_section(summary, fan, info)[:-1]
    failures = [(label(l), k, n) for l in summary for k, v in l["tools"].items() for n in v["notes"]]
    if failures:
        md += ["", "Failed runs (not timed; logs in the scratch directory with `--keep`):", ""]
        for lab, tool, note in failures:
            md.append(f"- {lab}, {tool}: {note}")
    digests = {}
    for (wk, tool), dg in bench.checks.items():
        digests.setdefault(wk, {})[tool] = dg
    for wk, per_tool in digests.items():
        same = len(set(per_tool.values())) == 1
        md += ["", f"{wk}: the rendered files are {'byte for byte the same' if same else 'NOT the same'} "
               f"for {'the three tools' if len(per_tool) == 3 else 'the tools'} ({', '.join(f'{k} {v}' for k, v in per_tool.items())})."]
    md += ["", "Every timed run was checked on the targets: the marker of the last command task on every "
           f"host, the {N_TASKS} files with their content, the {N_RENDERS} rendered files of 200 lines, a pong or the "
           "facts of every host, and that converged second runs left every file's mtime alone. A run "
           "that exits non-zero or fails a check is reported as failed and not timed.", ""]
    md += ["## Targets", ""]
    if args.mode == "quick":
        md += [f"Quick mode: the targets are meant for the full workloads (50 tasks, 20 hosts); with "
               f"{N_TASKS} tasks and {args.hosts} hosts the fixed costs (start-up, connection) weigh more in "
               "every ratio, so read these verdicts as a smoke check and the full mode's as the measure.", ""]
    md += targets_section(summary, probes, args.mode, fan, info) + [""]
    if probes.get("round_trips"):
        md += round_trips_section(probes["round_trips"])
    md += ["## Where the time goes", ""]
    p = probes
    if p:
        lines = []
        for key, where in (("bosun", "the loopback sshd"), ("bosun_netns", "a namespace host")):
            b = p.get(key) or {}
            if b.get(1) and b.get(50):
                lines.append(
                    f"- bosun on {where}, medians of 5: 1 command task {b[1] * 1000:.0f} ms, 50 command "
                    f"tasks {b[50] * 1000:.0f} ms, so **{(b[50] - b[1]) / 49 * 1000:.1f} ms per task** once "
                    f"connected and a fixed cost (start, connect, authenticate, open the shell, exit) of "
                    f"about {(b[1] - (b[50] - b[1]) / 49) * 1000:.0f} ms. For scale: process start-up "
                    f"(`--version`) {b['startup'] * 1000:.1f} ms; a playbook whose only task is "
                    f"`meta: noop` (loaded, no connection) {b[0] * 1000:.0f} ms.")
        if p.get("ssh_loopback") and p.get("ssh_netns"):
            lines.append(
                f"- One OpenSSH `ssh host true` (new connection, one exec): {p['ssh_loopback'] * 1000:.0f} ms "
                f"on the loopback sshd, {p['ssh_netns'] * 1000:.0f} ms on a namespace host. The loopback sshd "
                "logs in to this machine's real root account, whose `~/.bashrc` runs `pyenv init`: every exec "
                "channel pays for it (SSH-FLOOR.md: ~110 ms). ansible (an exec per task even with pipelining) "
                "and pyinfra (an exec per command and per fact) pay it on the 1-host workloads; bosun's "
                "persistent shell pays it once. The namespace hosts have an empty /root.")
        md += lines + [""]
    notes = HERE / "ANALYSIS.md"
    if notes.exists():
        md += [notes.read_text().strip(), ""]
    md += real_content_section()
    md += ["## The workloads", "",
           "Generated by `bench/bench.py` at run time into the scratch directory (`bench/run --keep` keeps "
           "them, with the log of every run); the same operations for the three tools, in the same order:", ""]
    seen = set()
    for line in summary:
        kind = re.sub(r"-\d+$", "", line["workload"]).replace("-1host", "")
        if line["workload"] in seen:
            continue
        seen.add(line["workload"])
        md.append(f"- **{line['workload']}** ({line['hosts']} host(s)): {what(kind)}")
    md.append("")
    (out_dir / "RESULTS.md").write_text("\n".join(md))


def real_content_section() -> list[str]:
    """bench/real's last results (REAL.md), one heading level down, or nothing."""
    real = HERE / "REAL.md"
    if not real.exists():
        return []
    text = re.sub(r"^(#+) ", r"\1# ", real.read_text().strip(), flags=re.M)
    return ["_The real-content workloads below come from `bench/real` (REAL.md), run separately:_", "",
            text, ""]


def write_svg(path: Path, summary, info, mode):
    """Horizontal bars, one group per workload, log-scale seconds."""
    import math

    colors = {"bosun": "#1f77b4", "ansible": "#d62728", "pyinfra": "#2ca02c"}
    rows = []
    for line in summary:
        for tool in TOOLS:
            t = line["tools"].get(tool)
            if t is not None:
                rows.append((label(line), tool, t["median"]))
    vals = [v for _, _, v in rows if v]
    lo = 10 ** math.floor(math.log10(min(vals) / 2)) if vals else 0.01
    hi = 10 ** math.ceil(math.log10(max(vals))) if vals else 100
    left, right, top, bar, gap = 200, 110, 56, 13, 12
    width = 900
    plot_w = width - left - right
    groups = [label(l) for l in summary]
    height = top + len(groups) * (3 * bar + gap) + 40

    def x(v):
        return left + plot_w * (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))

    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
         f'font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{left}" y="20" font-size="15" font-weight="bold">Wall time per workload '
         f'(median, log scale; shorter is better)</text>',
         f'<text x="{left}" y="38" fill="#555">{esc(info["date"])}, {mode} mode; '
         f'{esc(info["bosun"].split(" (")[0])}, ansible-core {esc(info["ansible-core"])}, '
         f'pyinfra {esc(info["pyinfra"])}</text>']
    dec = lo
    while dec <= hi * 1.0001:
        xx = x(dec)
        s.append(f'<line x1="{xx:.1f}" y1="{top - 6}" x2="{xx:.1f}" y2="{height - 34}" stroke="#ddd"/>')
        s.append(f'<text x="{xx:.1f}" y="{height - 20}" text-anchor="middle" fill="#555">'
                 f'{(f"{dec * 1000:g} ms" if dec < 1 else f"{dec:g} s").replace(" ", "&#160;")}</text>')
        dec *= 10
    y = top
    for g in groups:
        s.append(f'<text x="{left - 8}" y="{y + 1.5 * bar + 4}" text-anchor="end">{esc(g)}</text>')
        for tool in TOOLS:
            v = next((v for lab, t, v in rows if lab == g and t == tool), "absent")
            if v == "absent":
                y += bar
                continue
            if v is None:
                s.append(f'<text x="{left + 4}" y="{y + bar - 3}" fill="{colors[tool]}">{tool}: failed</text>')
            else:
                s.append(f'<rect x="{left}" y="{y}" width="{max(1.0, x(v) - left):.1f}" height="{bar - 2}" '
                         f'fill="{colors[tool]}"/>')
                s.append(f'<text x="{x(v) + 4:.1f}" y="{y + bar - 3}" font-size="11">{fmt_t(v)}</text>')
            y += bar
        y += gap
    lx = width - right + 10
    for i, tool in enumerate(TOOLS):
        s.append(f'<rect x="{lx}" y="{top + i * 18}" width="12" height="12" fill="{colors[tool]}"/>')
        s.append(f'<text x="{lx + 16}" y="{top + i * 18 + 11}">{tool}</text>')
    s.append("</svg>")
    path.write_text("\n".join(s) + "\n")


# ------------------------------------------------------------------------------ main


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report-from", metavar="STATE_JSON",
                    help="write the reports again from a run's state.json (kept with --keep)")
    ap.add_argument("--round-trips-into", metavar="STATE_JSON",
                    help="count bosun's round trips per task by module family (--bosun BINARY), add "
                         "them to a run's state.json and write the reports again")
    if "--report-from" in sys.argv:
        return report_from(ap)
    if "--round-trips-into" in sys.argv:
        return add_round_trips(ap)
    ap.add_argument("--mode", choices=["quick", "full"], required=True)
    ap.add_argument("--runs", type=int, required=True)
    ap.add_argument("--hosts", type=int, required=True, help="namespace hosts for fanout, adhoc, facts")
    ap.add_argument("--big-hosts", type=int, default=0, help="a second fanout on this many hosts (0: none)")
    ap.add_argument("--scratch", required=True)
    ap.add_argument("--bosun", required=True)
    ap.add_argument("--venv", required=True)
    ap.add_argument("--repo", required=True)
    ap.add_argument("--loopback-port", type=int, required=True)
    ap.add_argument("--loopback-dir", required=True)
    ap.add_argument("--hosts-base", required=True)
    ap.add_argument("--first", type=int, required=True)
    ap.add_argument("--home", required=True)
    ap.add_argument("--only", default="", help="comma list of workload kinds: tasks,files,fanout,adhoc,local,facts,template")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--out", default=str(HERE))
    ap.add_argument("--tasks", type=int, default=50, help="tasks per workload")
    ap.add_argument("--renders", type=int, default=200, help="template renders")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    become_subreaper()
    global N_TASKS, N_RENDERS
    N_TASKS, N_RENDERS = args.tasks, args.renders

    scratch = Path(args.scratch)
    (scratch / "target").mkdir(exist_ok=True)
    home = Path(args.home)
    nfleet = max(args.hosts, args.big_hosts)
    ctx = Ctx(args=args, scratch=scratch, home=home, key=home / ".ssh/id_ed25519",
              known_hosts=home / ".ssh/known_hosts",
              loopback=Target("loopback", "127.0.0.1", args.loopback_port, "/",
                              Path(args.loopback_dir) / "sshd.log",
                              read_pid(Path(args.loopback_dir) / "sshd.pid")),
              fleet=fleet_targets(Path(args.hosts_base), args.first, nfleet),
              venv=Path(args.venv), bosun=args.bosun)
    ansible_cfg(ctx)
    H = args.hosts
    fleet = ctx.fleet[:H]
    workloads = [
        Workload("tasks-1host", "tasks", [ctx.loopback], what("tasks")),
        Workload("files-1host", "files", [ctx.loopback], what("files"), ["first", "second"]),
        Workload(f"fanout-{H}", "fanout", fleet, what("fanout")),
    ]
    if args.big_hosts and args.big_hosts != H:
        workloads.append(Workload(f"fanout-{args.big_hosts}", "fanout", ctx.fleet[:args.big_hosts], what("fanout")))
    workloads += [
        Workload(f"adhoc-{H}", "adhoc", fleet, what("adhoc")),
        Workload("local", "local", [], what("local")),
        Workload(f"facts-{H}", "facts", fleet, what("facts")),
        Workload("template", "template", ctx.fleet[:1], what("template"), ["first", "second"]),
    ]
    if args.only:
        kinds = set(args.only.split(","))
        workloads = [w for w in workloads if w.kind in kinds or w.key in kinds]
    tools = [t for t in args.tools.split(",") if t]

    info = machine_info(ctx)
    info["cores"] = os.cpu_count()
    info["load"] = "load average before: " + " ".join(open("/proc/loadavg").read().split()[:3])
    print(f"bosun: {info['bosun']}; ansible-core {info['ansible-core']}; pyinfra {info['pyinfra']}", flush=True)
    bench = Bench(ctx)
    t0 = time.time()
    if any(w.kind == "fanout" for w in workloads):
        bench.cgroup = TargetCgroup.make(ctx.fleet)
        print(f"  targets' CPU: {'cgroup ' + str(bench.cgroup.dir) if bench.cgroup else 'no cgroup, not measured'}",
              flush=True)
    try:
        bench.run(workloads, tools)
    finally:
        if bench.cgroup:
            bench.cgroup.remove()
    probes = {}
    if "bosun" in tools:
        print("  probes: bosun fixed cost and cost per task; ssh exec on loopback and on a namespace host",
              flush=True)
        probes["bosun"] = probe_bosun_tasks(ctx, ctx.loopback, "loopback")
        probes["bosun_netns"] = probe_bosun_tasks(ctx, ctx.fleet[0], "netns")
        probes["round_trips"] = probe_round_trips(ctx.bosun, ctx.work, ctx.env("bosun"))
        try:
            probes["ssh_loopback"] = probe_ssh_exec(ctx, ctx.loopback)
            probes["ssh_netns"] = probe_ssh_exec(ctx, ctx.fleet[0])
        except subprocess.CalledProcessError as e:
            print(f"  ssh probe failed: {e}", flush=True)
    info["load"] += ", after: " + " ".join(open("/proc/loadavg").read().split()[:3])
    bench.save(probes=probes, info=info, args=vars(args))
    write_reports(ctx, bench.rows, bench, probes, info)
    (Path(args.out) / "state.json").write_text((scratch / "state.json").read_text())
    print(f"done in {time.time() - t0:.0f} s: {args.out}/RESULTS.md, results.csv, results.svg, state.json",
          flush=True)
    failed = [r for r in bench.rows if r["status"] != "ok"]
    if failed:
        print(f"{len(failed)} run(s) failed; see RESULTS.md", flush=True)


def report_from(ap):
    ap.add_argument("--out", default=str(HERE))
    a = ap.parse_args()
    state = json.loads(Path(a.report_from).read_text())
    args = argparse.Namespace(**state["args"])
    args.out = a.out
    global N_TASKS, N_RENDERS
    N_TASKS, N_RENDERS = args.tasks, args.renders

    class Stub:
        checks = {(w, t): v for w, t, v in state["checks"]}

    ctx = argparse.Namespace(args=args)
    probes = {k: ({int(n) if n.isdigit() else n: v for n, v in p.items()} if isinstance(p, dict) else p)
              for k, p in state["probes"].items()}
    write_reports(ctx, state["rows"], Stub, probes, state["info"])
    print(f"wrote {a.out}/RESULTS.md, results.csv, results.svg")


if __name__ == "__main__":
    main()
