"""One rendered job in a sandbox, run with real bash, and what the run did.

The rendered job is installed with ``/var/vcap`` moved to a temporary root and every external
command replaced by a logging stub (``tests/support/stubs.py``). When the harness runs as root, each
run is confined: its own pid namespace (small pids that are the same in two runs of the same
script; a ``stop`` never sees a ``start``'s pid alive), mount namespace (its own ``/proc``) and
network namespace (no network), and the script runs as ``nobody``: field releases write where they
please. What a run did comes back normalised: sandbox paths back to ``/var/vcap/...``, pids named
in order of first use, package programs with their exported environment.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import signal
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Mapping

from tests.support import stubs
from tests.support.sandbox import Sandbox

TIMEOUT = 5.0  # seconds per script run: stubs return at once, so only a loop that never ends gets here
NOBODY = 65534
#: environment the harness itself sets, and what bash sets on its own: never compared
_VOLATILE_ENV = frozenset({"__SEQ", "__FN", "__EQ_DIR", "__EQ_POSIX", "BASH_ENV", "PWD", "OLDPWD", "SHLVL", "_"})
_CONTROL_CASE = re.compile(r"case\s+\"?\$\{?\w+\}?\"?\s+in")


@dataclass(frozen=True)
class Call:
    """One external command a run started, with sandbox paths and pids normalised."""

    name: str  # base name for a tool on PATH, /var/vcap/... path for a package's program, ?x: not found
    args: tuple[str, ...]
    functions: tuple[str, ...] = ()  # the shell functions it was called from, innermost first
    pipes: str = ""  # "i": its stdin was a pipe, "o": its stdout was
    env: tuple[tuple[str, str], ...] | None = None  # exported environment (package programs only)

    def key(self) -> tuple:
        return (self.name, self.args, self.env)

    def show(self) -> str:
        return shlex.join([self.name, *self.args])


@dataclass
class Run:
    """What one phase (``start``, ``stop`` or one plain run) of a script did."""

    phase: str
    rc: int | None  # None: it did not finish in time
    calls: list[Call]
    files: dict[str, str]
    stderr: str

    @property
    def timed_out(self) -> bool:
        return self.rc is None

    def program_calls(self) -> list[dict]:
        """Calls of the job's package programs as ``{"prog", "argv", "env"}``: what a process
        supervisor would have started."""
        return [{"prog": c.name.split("/")[4] if c.name.count("/") > 4 else c.name, "argv": list(c.args),
                 "env": dict(c.env or ())} for c in self.calls if c.name.startswith("/var/vcap/packages/")]


#: the first process of a run's own pid namespace: sets where its pids start, runs the script,
#: then lets leftover processes (a background job, a process substitution) log their start before
#: the namespace, and they, end with it: until none is left or the call log has been quiet for
#: 0.15 s (a process substitution may wait for ever on a pipe another one holds), at most 2 s
_INIT = """\
[ "$1" -gt 1 ] && echo "$1" > /proc/sys/kernel/ns_last_pid
shift
"$@"; rc=$?
last=-1; quiet=0; n=0
while [ $n -lt 40 ] && [ $quiet -lt 3 ]; do
  set -- /proc/[0-9]*; [ $# -le 1 ] && break
  size=$(/usr/bin/stat -c %s "$__EQ_DIR/calls")
  if [ "$size" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; last=$size; fi
  /bin/sleep 0.05; n=$((n + 1))
done
exit $rc
"""
#: where a run's pids start: high enough not to look like a number a script writes (a pid is
#: named ``<pidN>`` wherever it appears whole), and apart for ``stop``, so that a pid a ``start``
#: wrote is never a live process of the ``stop`` and ``[ -e /proc/$PID ]`` says what it would on a VM
START_PIDS, STOP_PIDS = 11000, 23000


@dataclass(frozen=True)
class Confinement:
    """How a script runs when the harness is root: in its own pid, mount and network namespaces
    (``namespaces``; pids are small and the same in both runs) and as nobody (``drop``)."""

    namespaces: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()


@lru_cache(maxsize=1)
def _confinement() -> Confinement:
    if os.geteuid() != 0:
        return Confinement()
    drop = ("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups")
    for namespaces in (("unshare", "-n", "-p", "-f", "-m", "--mount-proc", "/bin/sh", "-c", _INIT, "init"), ()):
        try:
            if subprocess.run([*namespaces, *(("1",) if namespaces else ()), *drop, "true"], capture_output=True,
                              timeout=10).returncode == 0:
                return Confinement(namespaces, drop)
        except (OSError, subprocess.TimeoutExpired):
            continue
    raise RuntimeError("cannot drop privileges to run job scripts (setpriv failed)")


def _command(first_pid: int, *command: str) -> list[str]:
    c = _confinement()
    return [*c.namespaces, *((str(first_pid),) if c.namespaces else ()), *c.drop, *command]


def shell_options(text: str) -> tuple[list[str], bool]:
    """Options on a bash/sh shebang (``#!/bin/bash -e``) and whether the script is for sh."""
    first = text.split("\n", 1)[0]
    if not first.startswith("#!"):
        return [], False
    words = first[2:].split()
    if words and words[0].endswith("/env"):
        words = [w for w in words[1:] if "=" not in w]
    program = words[0].rsplit("/", 1)[-1] if words else ""
    options = [w for w in words[1:] if re.fullmatch(r"-[a-zA-Z]+|[+-]o", w)]
    return options, program in ("sh", "dash")


def is_control_script(name: str, text: str) -> bool:
    """Scripts monit drives with ``start`` and ``stop``."""
    base = name.rsplit("/", 1)[-1]
    if re.search(r"_ctl(\.sh)?$", base):
        return True
    match = _CONTROL_CASE.search(text)
    return bool(match and re.search(r"^\s*\(?\s*\"?start\b", text[match.end():], re.M)
                and re.search(r"\bstop\b", text[match.end():]))


class JobSandbox:
    """One rendered job installed in a fresh sandbox, ready to run its scripts."""

    def __init__(self, base: Path, job: str, files: Mapping[str, str], helpers: Mapping[str, str],
                 command_names: Iterable[str], parked: Path | None = None):
        self.box = Sandbox(base)
        self.base = base
        self.parked = parked
        self.job = job
        self._names = _PidNames()
        self.log_dir = base / "eq"
        self.log_dir.mkdir()
        (base / "cwd").mkdir()
        for folder in ("store", "data", "sys/run", "sys/log", f"sys/log/{job}", "packages", "jobs"):
            self.box.path(f"/var/vcap/{folder}").mkdir(parents=True, exist_ok=True)
        for rendered, text in files.items():
            executable = rendered.startswith("bin/") or text.startswith("#!")
            self.box.install(f"/var/vcap/jobs/{job}/{rendered}", text, 0o755 if executable else 0o644)
        for path, text in helpers.items():
            if not self.box.path(path).exists():
                self.box.install(path, text, 0o755)
        for stale in self.box.bin.iterdir():  # the plain Sandbox's own stand-ins log elsewhere
            stale.unlink()
        stubs.install_stubs(self.box.bin, self.log_dir, command_names, self.box.path)
        (self.log_dir / "bash_env").write_text(stubs.BASH_ENV)
        for name in ("calls", "pids"):
            (self.log_dir / name).touch()
        if _confinement().drop:
            for root, dirs, names in os.walk(base):
                for entry in (*dirs, *names):
                    os.lchown(os.path.join(root, entry), NOBODY, NOBODY)
            os.chown(base, NOBODY, NOBODY)
        if parked is not None:
            os.rename(base, parked)

    @contextmanager
    def _mounted(self) -> Iterator[None]:
        """A parked sandbox moves back to its own path while it runs: two sandboxes that take
        turns at one path see the same paths, also where a script escapes them (``\\/var\\/vcap``)."""
        if self.parked is None:
            yield
            return
        os.rename(self.parked, self.base)
        try:
            yield
        finally:
            os.rename(self.base, self.parked)

    def run(self, script: str, *args: str, timeout: float = TIMEOUT) -> Run:
        """Run ``bin/<script>`` (a rendered path under the job) with real bash and collect its calls."""
        with self._mounted():
            return self._run(script, *args, timeout=timeout)

    def _run(self, script: str, *args: str, timeout: float = TIMEOUT) -> Run:
        path = self.box.path(f"/var/vcap/jobs/{self.job}/{script}")
        options, posix = shell_options(path.read_text(errors="replace"))
        env = self.box.env({"BASH_ENV": str(self.log_dir / "bash_env"), "__EQ_DIR": str(self.log_dir)})
        if posix:
            env["__EQ_POSIX"] = "1"
        start = self._calls_size()
        out, err = self.log_dir / "stdout", self.log_dir / "stderr"
        with open(out, "wb") as so, open(err, "wb") as se:
            first_pid = STOP_PIDS if args[:1] == ("stop",) else START_PIDS
            proc = subprocess.Popen(_command(first_pid, "/bin/bash", *options, str(path), *args), env=env,
                                    cwd=self.base / "cwd", stdin=subprocess.DEVNULL, stdout=so, stderr=se,
                                    start_new_session=True)
            try:
                rc: int | None = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                rc = None
            _reap(proc.pid, 0.0 if rc is None else 1.0, self.log_dir / "calls")
            if rc is None:
                proc.wait()
        return Run(args[0] if args else "run", rc, self._read_calls(start), self._files(),
                   err.read_text(errors="replace").replace(str(self.box.root), "").replace(str(self.base), "<sandbox>"))

    def mark_running(self, checks: int = 3) -> None:
        """Every pid a pidfile holds now is a running process for the process stubs (``kill -0``,
        ``ps -p``): for ``checks`` more looks, or until it is signalled."""
        with self._mounted():
            self._mark_running(checks)

    def _mark_running(self, checks: int) -> None:
        for folder, _dirs, names in os.walk(self.box.path("/var/vcap")):
            for name in names:
                if not name.endswith(".pid"):
                    continue
                try:
                    content = (Path(folder) / name).read_text().strip()
                except (OSError, UnicodeDecodeError):
                    continue
                if content.isdigit():
                    marker = self.log_dir / f"alive.{content}"
                    marker.write_text(f"{checks}\n")
                    if _confinement().drop:
                        os.chown(marker, NOBODY, NOBODY)

    # -- reading what happened ------------------------------------------------------------------
    def _calls_size(self) -> int:
        return (self.log_dir / "calls").stat().st_size

    def _pid_names(self) -> "_PidNames":
        """Pids of processes the runs started, named in the order they show up in what is compared
        (calls, then files): two runs that start different helper processes still agree on them."""
        self._names.known = set((self.log_dir / "pids").read_text().split())
        return self._names

    def normalise(self, text: str, pids: Mapping[str, str] | None = None) -> str:
        text = text.replace(str(self.box.root), "").replace(str(self.base), "<sandbox>")
        if pids is not None:
            if text.strip() in pids:
                return text.replace(text.strip(), pids[text.strip()])
            text = _PROC_PID.sub(lambda m: "/proc/" + pids.get(m.group(1), m.group(1)), text)
        return text

    def _read_calls(self, start: int) -> list[Call]:
        raw = (self.log_dir / "calls").read_bytes()[start:].decode("utf-8", "replace")
        pids = self._pid_names()
        records = []
        for n, record in enumerate(raw.split(stubs.GS + "\n")):
            if not record:
                continue
            fields = record.split(stubs.US)
            if len(fields) < 6:
                continue
            seq, pid, fns, pipes, kind, name, *args = fields
            order = tuple(int(x) for x in seq.split(".") if x.isdigit())
            records.append((order, n, pid, fns, pipes, kind, name, args))
        records.sort(key=lambda r: (r[0], r[1]))
        calls = []
        for _order, _n, pid, fns, pipes, kind, name, args in records:
            if kind == "notfound":
                name = "?" + name
            elif name.startswith(str(self.box.bin) + "/"):
                name = name.rsplit("/", 1)[-1]
            else:
                name = self.normalise(name)
            env = None
            env_file = self.log_dir / f"env.{pid}"
            if name.startswith("/var/vcap/packages/") and env_file.exists():
                env = self._env(env_file, pids)
            functions = tuple(f for f in fns.split() if f not in ("main", "source", "__eq_trap"))
            calls.append(Call(name, tuple(self.normalise(a, pids) for a in args), functions, pipes, env))
        return calls

    def _env(self, path: Path, pids: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        pairs = []
        for entry in path.read_bytes().decode("utf-8", "replace").split("\0"):
            key, sep, value = entry.partition("=")
            if sep and key not in _VOLATILE_ENV:
                pairs.append((key, self.normalise(value, pids)))
        return tuple(sorted(pairs))

    def _files(self) -> dict[str, str]:
        """Files the scripts left under /var/vcap, outside the job's own folder, packages and logs."""
        root = self.box.path("/var/vcap")
        found: dict[str, str] = {}
        pids = self._pid_names()
        for folder, dirs, names in os.walk(root):
            rel_folder = "/" + os.path.relpath(folder, self.box.root)
            if rel_folder.startswith(("/var/vcap/jobs", "/var/vcap/packages", "/var/vcap/sys/log")):
                dirs[:] = []
                continue
            for name in names:
                path = Path(folder) / name
                key = f"{rel_folder}/{name}"
                if path.is_symlink():
                    found[key] = "-> " + self.normalise(os.readlink(path), pids)
                    continue
                try:
                    data = path.read_bytes()
                except OSError:
                    continue
                try:
                    found[key] = self.normalise(data.decode("utf-8"), pids)
                except UnicodeDecodeError:
                    found[key] = "sha1:" + hashlib.sha1(data).hexdigest()
            for name in dirs:
                found[f"{rel_folder}/{name}/"] = "<dir>"
        return found


_PROC_PID = re.compile(r"/proc/(\d+)")


class _PidNames(dict):
    """``<pidN>`` for each pid of a started process, numbered on first use."""

    def __init__(self) -> None:
        super().__init__()
        self.known: set[str] = set()

    def __contains__(self, pid: object) -> bool:
        return pid in self.known or dict.__contains__(self, pid)

    def get(self, pid, default=None):  # type: ignore[override]
        return self[pid] if pid in self else default

    def __missing__(self, pid: str) -> str:
        name = self[pid] = f"<pid{len(self) + 1}>"
        return name


def _reap(pgid: int, grace: float, log: Path) -> None:
    """Let the script's leftover processes (process substitutions, background jobs) log their
    start, then kill the whole group: waiting for them to end could take for ever, since a
    process substitution may hold the pipe another one drains."""
    deadline = time.monotonic() + grace
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        size = log.stat().st_size
        if size != last:
            last, quiet_since = size, time.monotonic()
        elif time.monotonic() - quiet_since >= 0.08:
            break
        time.sleep(0.01)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
