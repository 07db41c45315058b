"""Do an original job and its migrated form run the same commands? Proof by running both.

For one job, original and migrated: every template is rendered with Ruby's ERB (the tool's own
renderer, in batches) in two contexts, the spec's defaults plus values made up from property names,
and the same with every boolean flipped; the rendered job is installed in a sandbox (``/var/vcap``
moved to a temporary root) where every external command is a stub that logs its argv
(``tests/support/stubs.py``); each changed script of both versions runs with real bash (control
scripts with ``start`` and then ``stop`` in the same sandbox, others once), as ``nobody`` and
without network when the harness runs as root, since field releases write where they please.

The two runs must start the same external commands with the same expanded arguments (sandbox paths
and pids normalised; package programs also with the same exported environment), end with the same
exit status and leave the same files outside ``jobs/`` and the logs. The only differences accepted
are those each codemod that changed the job declares (``differences`` on the codemod class); any
other is reported with the first call where the runs part.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Iterator, Literal, Mapping, Sequence

import yaml

from migrator.differences import CallShape, DeclaredDifferences
from migrator.discovery import load_job
from migrator.engine import find_helpers
from migrator.ruby_erb.contexts import manifest_properties
from migrator.ruby_erb.renderer import RenderRequest, default_renderer
from tests.support import stubs
from tests.support.sandbox import Sandbox

CONTEXTS: tuple[str, ...] = ("defaults", "flipped")
TIMEOUT = 5.0  # seconds per script run: stubs return at once, so only a loop that never ends gets here
NOBODY = 65534
#: environment the harness itself sets, and what bash sets on its own: never compared
_VOLATILE_ENV = frozenset({"__SEQ", "__FN", "__EQ_DIR", "__EQ_POSIX", "BASH_ENV", "PWD", "OLDPWD", "SHLVL", "_"})
_SOURCE_LINE = re.compile(r"^\s*(?:source|\.)\s+[\"']?([^\s\"';]+)", re.M)
_CONTROL_CASE = re.compile(r"case\s+\"?\$\{?\w+\}?\"?\s+in")

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Status = Literal["equivalent", "differing", "unrunnable"]


class RenderFailure(Exception):
    """A template of the job did not render in a context."""


# -- rendering ------------------------------------------------------------------------------------
def context_properties(spec: Mapping, context: str) -> dict:
    """Manifest properties of a context: made-up values (``defaults``) or also flipped booleans."""
    if context not in CONTEXTS:
        raise ValueError(context)
    return manifest_properties(spec.get("properties") or {}, flip_booleans=context == "flipped")


def read_spec(job_dir: Path) -> dict:
    try:
        # libyaml, as the tool reads specs: it accepts what PyYAML's own scanner rejects (a tab)
        spec = yaml.load((job_dir / "spec").read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return spec if isinstance(spec, dict) else {}


def render_jobs(items: Sequence[tuple[Path, Mapping]]) -> list[dict[str, str | RenderFailure]]:
    """Render every template of each (job folder, manifest properties), in one batch to Ruby:
    per job, rendered path -> text, or the failure."""
    requests: list[RenderRequest] = []
    slots: list[tuple[int, str]] = []
    out: list[dict[str, str | RenderFailure]] = []
    for i, (job_dir, props) in enumerate(items):
        spec = read_spec(job_dir)
        out.append({})
        for source, rendered in (spec.get("templates") or {}).items():
            path = job_dir / "templates" / str(source)
            try:
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                out[i][str(rendered)] = RenderFailure(f"templates/{source}: unreadable ({exc})")
                continue
            context = {"properties": props, "spec": {}, "links": {}}
            requests.append(RenderRequest(text, context=context, spec_file=str((job_dir / "spec").resolve())))
            slots.append((i, f"{rendered}\0{source}"))
    results = default_renderer().render_many(requests) if requests else []
    for (i, key), result in zip(slots, results):
        rendered, source = key.split("\0", 1)
        out[i][rendered] = (result.output or "") if result.ok else RenderFailure(f"templates/{source}: {result.summary}")
    return out


# -- one run --------------------------------------------------------------------------------------
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


def _shell_options(text: str) -> tuple[list[str], bool]:
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
        options, posix = _shell_options(path.read_text(errors="replace"))
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


# -- comparing two runs ---------------------------------------------------------------------------
def pidfiles_named(runs: Iterable[Run]) -> frozenset[str]:
    """Pidfiles the sipid calls of a run name (``--pid-file X``)."""
    found = set()
    for run in runs:
        for call in run.calls:
            if call.name.rsplit("/", 1)[-1] == "sipid" and "--pid-file" in call.args:
                i = call.args.index("--pid-file")
                if i + 1 < len(call.args):
                    found.add(call.args[i + 1])
    return frozenset(found)


def _match(shape: CallShape, call: Call, pidfiles: frozenset[str]) -> bool:
    return shape.matches(call.name.lstrip("?"), call.args, fed="i" in call.pipes, feeding="o" in call.pipes,
                         pidfiles=pidfiles)


def _vanishes(call: Call, declared: Sequence[DeclaredDifferences], pidfiles: frozenset[str]) -> bool:
    for d in declared:
        if call.name.lstrip("?").rsplit("/", 1)[-1] in d.vanishing_functions:
            return True
        if any(f in d.vanishing_functions for f in call.functions):
            return True
        if any(_match(s, call, pidfiles) for s in d.may_vanish):
            return True
    return False


def _appears(call: Call, declared: Sequence[DeclaredDifferences], pidfiles: frozenset[str],
             used: dict[tuple[int, int], int]) -> bool:
    for i, d in enumerate(declared):
        for j, s in enumerate(d.may_appear):
            if _match(s, call, pidfiles):
                if d.appear_limit is not None and used.get((i, j), 0) >= d.appear_limit:
                    continue
                used[(i, j)] = used.get((i, j), 0) + 1
                return True
    return False


def first_difference(old: Run, new: Run, declared: Sequence[DeclaredDifferences],
                     pidfiles: frozenset[str] = frozenset()) -> str | None:
    """None when the runs are the same apart from the declared differences, else the first
    difference in words (with the argv where the runs part)."""
    if old.timed_out != new.timed_out:
        return f"{old.phase}: {'the original' if old.timed_out else 'the migrated script'} did not finish in time"
    a, b = [c.key() for c in old.calls], [c.key() for c in new.calls]
    blocks = [(i1, i2, j1, j2) for tag, i1, i2, j1, j2
              in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if tag != "equal"]
    moved_old, moved_new = _moves(old.calls, new.calls, blocks, declared, pidfiles)
    used: dict[tuple[int, int], int] = {}
    ended = frozenset().union(*(d.ended_the_script for d in declared))
    for i1, i2, j1, j2 in blocks:
        gone = [c for i, c in enumerate(old.calls[i1:i2], i1)
                if i not in moved_old and not _vanishes(c, declared, pidfiles)]
        added = [c for j, c in enumerate(new.calls[j1:j2], j1)
                 if j not in moved_new and not _appears(c, declared, pidfiles, used)]
        if added and i2 == len(a) and j2 == len(b) and _went_on(old, new.calls[:j1 + 1], ended, declared, pidfiles):
            added = []  # the original ended inside a helper that a call before these replaced
        if gone or added:
            return _describe(old.phase, gone, added)
    if _failed_on_missing_folder(old, declared, pidfiles):
        return None  # the original stopped where the migrated one went on: nothing more to compare
    failure_went = (new.rc == 0 and old.rc not in (0, None) and any(d.failure_may_go for d in declared)
                    and bool(old.calls) and _vanishes(old.calls[-1], declared, pidfiles))
    if old.rc != new.rc and not failure_went:
        return f"{old.phase}: exit status {old.rc} became {new.rc} ({_last_line(new.stderr or old.stderr)})"
    created = ({p.rsplit("/", 1)[0] + "/" for p in pidfiles} if any(d.claim_creates_folder for d in declared)
               else set())
    for path in sorted(set(old.files) | set(new.files)):
        if path in pidfiles or path.endswith(".pid") or path in created:
            continue
        before, after = old.files.get(path), new.files.get(path)
        if before != after:
            if before is None:
                return f"{old.phase}: the migrated script leaves a file the original did not: {path}"
            if after is None:
                return f"{old.phase}: the migrated script does not leave {path}"
            return f"{old.phase}: {path} differs ({before[:60]!r} became {after[:60]!r})"
    return None


def _went_on(old: Run, before: Sequence[Call], ended: frozenset[str], declared: Sequence[DeclaredDifferences],
             pidfiles: frozenset[str]) -> bool:
    """Did the original end inside a helper that ended the script (``exit`` in ``kill_and_wait``),
    or fail to write its pidfile into a missing folder (which ``sipid claim`` creates), while the
    migrated run called what replaced it, so that it went on?"""
    ended_in_helper = bool(ended and old.calls and ended & set(old.calls[-1].functions))
    if not ended_in_helper and not _failed_on_missing_folder(old, declared, pidfiles):
        return False
    shapes = [s for d in declared for s in d.may_appear]
    return any(_match(s, c, pidfiles) for c in before for s in shapes)


def _failed_on_missing_folder(old: Run, declared: Sequence[DeclaredDifferences], pidfiles: frozenset[str]) -> bool:
    if old.rc in (0, None) or not any(d.claim_creates_folder for d in declared):
        return False
    # the folder is missing after the run (stderr may have gone to a log file the script chose)
    return any(f"{p}: No such file or directory" in old.stderr or f"{p.rsplit('/', 1)[0]}/" not in old.files
               for p in pidfiles)


def _moves(old: Sequence[Call], new: Sequence[Call], blocks: Sequence[tuple[int, int, int, int]],
           declared: Sequence[DeclaredDifferences], pidfiles: frozenset[str]) -> tuple[set[int], set[int]]:
    """Indexes of unmatched calls that ran at another point with the same arguments, where a
    declaration allows that call to move."""
    movable = [s for d in declared for s in d.may_move]
    if not movable:
        return set(), set()
    free_new = [j for _i1, _i2, j1, j2 in blocks for j in range(j1, j2)]
    moved_old: set[int] = set()
    moved_new: set[int] = set()
    for i in (i for i1, i2, _j1, _j2 in blocks for i in range(i1, i2)):
        call = old[i]
        if not any(_match(s, call, pidfiles) for s in movable):
            continue
        for j in free_new:
            if j not in moved_new and new[j].key() == call.key():
                moved_old.add(i)
                moved_new.add(j)
                break
    return moved_old, moved_new


def _describe(phase: str, gone: list[Call], added: list[Call]) -> str:
    if gone and added:
        old, new = gone[0], added[0]
        detail = f"the original ran `{old.show()}` where the migrated script ran `{new.show()}`"
        if old.key()[:2] == new.key()[:2] and old.env != new.env:
            detail += f" (environment differs: {_env_delta(old.env, new.env)})"
        return f"{phase}: {detail}"
    if gone:
        return f"{phase}: the migrated script no longer runs `{gone[0].show()}`"
    return f"{phase}: the migrated script also runs `{added[0].show()}`"


def _env_delta(old: tuple | None, new: tuple | None) -> str:
    a, b = dict(old or ()), dict(new or ())
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(f"{k}={a.get(k)!r}->{b.get(k)!r}" for k in keys[:3])


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else "no message"


# -- a job, old and new ---------------------------------------------------------------------------
@dataclass
class Verdict:
    """Whether one script behaves the same in one context."""

    job: str
    script: str  # rendered path, e.g. bin/web_ctl
    context: str
    status: Status
    detail: str = ""  # the first difference, or why it could not run
    runs: dict[str, tuple[Run, Run]] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return f"{self.job}/{self.script} [{self.context}]: {self.status}{': ' + self.detail if self.detail else ''}"


@dataclass
class JobPair:
    """One job as it was and as the tool left it, and the codemods that changed it."""

    name: str
    old_dir: Path
    new_dir: Path
    declared: tuple[DeclaredDifferences, ...]
    scripts: tuple[str, ...] = ()  # rendered paths to run; empty: every script whose template changed


def changed_scripts(old_dir: Path, new_dir: Path) -> list[str]:
    """Rendered paths of the scripts (as discovery classifies them) whose template changed."""
    if not (new_dir / "spec").is_file():
        return []
    out = []
    new_job = load_job(new_dir)
    for template in new_job.scripts:
        if template.rendered is None:
            continue
        before = old_dir / "templates" / template.source
        try:
            if not before.is_file() or before.read_bytes() != template.path.read_bytes():
                out.append(template.rendered)
        except OSError:
            continue
    return out


def compare_jobs(pairs: Sequence[JobPair], contexts: Sequence[str] = CONTEXTS, workers: int = 2,
                 work: Path | None = None, timeout: float = TIMEOUT) -> list[Verdict]:
    """Every (script, context) of every pair, in parallel threads; one Ruby batch renders all."""
    items: list[tuple[Path, Mapping]] = []
    for pair in pairs:
        spec = read_spec(pair.old_dir)
        for context in contexts:
            props = context_properties(spec, context)
            items += [(pair.old_dir, props), (pair.new_dir, props)]
    rendered = render_jobs(items)
    units = []
    k = 0
    for pair in pairs:
        scripts = list(pair.scripts) or changed_scripts(pair.old_dir, pair.new_dir)
        for context in contexts:
            old_files, new_files = rendered[k], rendered[k + 1]
            k += 2
            for script in scripts:
                units.append((pair, script, context, old_files, new_files))
    root = Path(tempfile.mkdtemp(prefix="equivalence-", dir=work))
    os.chmod(root, 0o755)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(lambda u: _compare_unit(root, *u, timeout=timeout), units))
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _compare_unit(root: Path, pair: JobPair, script: str, context: str,
                  old_files: Mapping[str, str | RenderFailure], new_files: Mapping[str, str | RenderFailure],
                  timeout: float = TIMEOUT) -> Verdict:
    verdict = Verdict(pair.name, script, context, "equivalent")
    if isinstance(old_files.get(script), RenderFailure):
        verdict.status, verdict.detail = "unrunnable", f"render failure: {old_files[script]}"
        return verdict
    # a template that did not render before either (made-up values a template rejects) is left
    # out of both sandboxes; one that rendered before and does not now is a difference
    old_errors = {_ruby_error(v) for v in old_files.values() if isinstance(v, RenderFailure)}
    newly = [v for k, v in new_files.items() if isinstance(v, RenderFailure)
             and not isinstance(old_files.get(k), RenderFailure) and _ruby_error(v) not in old_errors]
    if newly:
        verdict.status, verdict.detail = "differing", f"the migrated job does not render: {newly[0]}"
        return verdict
    old_failed = sorted(k for k, v in old_files.items() if isinstance(v, RenderFailure))
    new_failed = sorted(k for k, v in new_files.items() if isinstance(v, RenderFailure))
    if old_failed != new_failed:  # the same error, moved to another file: the two jobs would lack different files
        failure = old_files[old_failed[0]] if old_failed else new_files[new_failed[0]]
        verdict.status, verdict.detail = "unrunnable", f"render failure: {failure}"
        return verdict
    if script not in old_files or script not in new_files:
        verdict.status, verdict.detail = "unrunnable", f"{script} is not rendered by both versions"
        return verdict
    old_text, new_text = str(old_files[script]), str(new_files[script])
    if old_text == new_text and _same_rendered(old_files, new_files):
        return verdict
    dash_problem = _dash_rejects(old_text, new_text)
    if dash_problem:
        verdict.status, verdict.detail = "differing", dash_problem
        return verdict
    helpers_old = _helpers(pair.old_dir, old_files)
    helpers_new = _helpers(pair.new_dir, new_files)
    texts = [t for t in (*old_files.values(), *new_files.values(), *helpers_old.values(), *helpers_new.values())
             if isinstance(t, str) and _looks_like_shell(t)]
    names, _functions = stubs.command_names(texts)
    entry = _entry_point(pair.name, script, old_files)
    entry_text = str(old_files[entry])
    phases = [("start",), ("stop",)] if is_control_script(entry, entry_text) else [()]
    unit = root / hashlib.sha1(f"{pair.name}\0{pair.old_dir}\0{script}\0{context}".encode()).hexdigest()[:16]
    unit.mkdir()
    try:
        boxes = (JobSandbox(unit / "box", pair.name, _texts(old_files), helpers_old, names, parked=unit / "old"),
                 JobSandbox(unit / "box", pair.name, _texts(new_files), helpers_new, names, parked=unit / "new"))
        runs = {}
        for args in phases:
            if args == ("stop",):
                for box in boxes:
                    box.mark_running()
            old_run, new_run = (box.run(entry, *args, timeout=timeout) for box in boxes)
            runs[old_run.phase] = (old_run, new_run)
        verdict.runs = runs
        if entry != script:
            verdict.detail = f"run through {entry}"
        pidfiles = pidfiles_named(r for pair_runs in runs.values() for r in pair_runs)
        for old_run, new_run in runs.values():
            if old_run.timed_out and new_run.timed_out:
                last = f" (last call: `{old_run.calls[-1].show()}`)" if old_run.calls else ""
                verdict.status = "unrunnable"
                verdict.detail = f"{old_run.phase}: both versions run longer than {timeout:g} s{last}"
                break
            difference = first_difference(old_run, new_run, pair.declared, pidfiles)
            if difference:
                verdict.status, verdict.detail = "differing", difference
                break
            if _failed_on_missing_folder(old_run, pair.declared, pidfiles):
                verdict.status = "unrunnable"
                verdict.detail = (f"{old_run.phase}: the original cannot write its pidfile here (its folder is "
                                  "missing; sipid claim creates it), so the runs part from there")
                break
        return verdict
    finally:
        shutil.rmtree(unit, ignore_errors=True)


def _ruby_error(failure: RenderFailure) -> str:
    """The error without the template's name: the same error moved to a new template is old."""
    return str(failure).split(": ", 1)[-1]


def _entry_point(job: str, script: str, files: Mapping[str, str | RenderFailure]) -> str:
    """The script to run for ``script``: a control script of the job that runs it (a two-stage
    start execs ``bin/x_as_vcap``), so that it runs after the set-up it relies on, else itself."""
    if is_control_script(script, str(files.get(script, ""))):
        return script
    for other, text in sorted(files.items()):
        if (other != script and other.startswith("bin/") and isinstance(text, str)
                and (f"/var/vcap/jobs/{job}/{script}" in text or f"/{script}" in text) and is_control_script(other, text)):
            return other
    return script


def _texts(files: Mapping[str, str | RenderFailure]) -> dict[str, str]:
    return {k: v for k, v in files.items() if isinstance(v, str)}


def _same_rendered(a: Mapping, b: Mapping) -> bool:
    return {k: v for k, v in a.items() if isinstance(v, str)} == {k: v for k, v in b.items() if isinstance(v, str)}


def _looks_like_shell(text: str) -> bool:
    first = text.split("\n", 1)[0]
    return not first.startswith("#!") or bool(re.search(r"\b(ba|da)?sh\b", first))


def _dash_rejects(old: str, new: str) -> str | None:
    """A ``#!/bin/sh`` script runs under dash on a stemcell: bash would accept what dash rejects."""
    _opts, posix = _shell_options(old)
    if not posix or not shutil.which("dash"):
        return None
    def ok(text: str) -> bool:
        return subprocess.run(["dash", "-n"], input=text.encode(), capture_output=True).returncode == 0
    if ok(old) and not ok(new):
        proc = subprocess.run(["dash", "-n"], input=new.encode(), capture_output=True)
        return f"dash (the stemcell's sh) rejects the migrated script: {_last_line(proc.stderr.decode(errors='replace'))}"
    return None


def _helpers(job_dir: Path, files: Mapping[str, str | RenderFailure]) -> dict[str, str]:
    """Package files the rendered scripts source, found in the release as the tool finds them."""
    sourced = set()
    for text in files.values():
        if isinstance(text, str):
            sourced |= {m.group(1) for m in _SOURCE_LINE.finditer(text) if m.group(1).startswith("/var/vcap/packages/")}
    if not sourced:
        return {}
    try:
        return find_helpers(load_job(job_dir), sorted(sourced))
    except Exception:  # noqa: BLE001 - a release the tool cannot read has no helpers to offer
        return {}


# -- a whole release ------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]


def copy_release(release: Path, dest: Path) -> Path:
    """What the tool and the harness read of a release: ``jobs/``, the shell files under ``src/``
    (helpers that scripts source) and the tool's configuration; blobs and sources stay behind."""
    dest.mkdir(parents=True)
    shutil.copytree(release / "jobs", dest / "jobs", symlinks=True)
    for name in (".exemplar-migrate.toml", "pyproject.toml"):
        if (release / name).is_file():
            shutil.copy2(release / name, dest / name)
    src = release / "src"
    if src.is_dir():
        for path in src.rglob("*.sh"):
            if path.is_file() and not path.is_symlink():
                target = dest / path.relative_to(release)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    return dest


def migrate(release: Path, dest: Path, *extra: str) -> dict:
    """Apply the tool to a copy of ``release`` at ``dest``; its JSON report."""
    import json
    import sys

    copy_release(release, dest)
    proc = subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", "-q", "--output-format", "json",
                           *extra, str(dest)], capture_output=True, text=True, cwd=REPO, check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        raise RuntimeError(f"the tool gave no report (exit {proc.returncode}): {proc.stderr.strip()[-300:]}") from exc


def declared_for(codemod_ids: Iterable[str]) -> tuple[DeclaredDifferences, ...]:
    from codemods import by_id
    from migrator.differences import IDENTICAL

    known = by_id()
    return tuple(getattr(known[c], "differences", IDENTICAL) for c in sorted(set(codemod_ids)) if c in known)


def codemods_by_job(report: Mapping) -> dict[str, set[str]]:
    """Which codemods changed something in each job folder (any file: script, new template, spec)."""
    out: dict[str, set[str]] = {}
    for entry in report.get("files", []):
        parts = str(entry.get("path", "")).split("/")
        if len(parts) > 2 and parts[0] == "jobs":
            out.setdefault(parts[1], set()).update(entry.get("codemods") or [])
    return out


def job_pairs(original: Path, migrated: Path, report: Mapping) -> list[JobPair]:
    """A pair for every job the tool changed, with the declarations of the codemods that did."""
    return [JobPair(job, original / "jobs" / job, migrated / "jobs" / job, declared_for(ids))
            for job, ids in sorted(codemods_by_job(report).items())]


# -- one script of one job, with given properties (the hand-written cases of the ERB tests) -------
@dataclass
class JobRun:
    """One run of a rendered job script: exit status, the package programs it started (as a
    process supervisor would see them), the files asked for, stderr, and the whole run."""

    rc: int | None
    calls: list[dict]
    files: dict[str, str]
    stderr: str
    run: Run


@lru_cache(maxsize=1)
def _scratch() -> Path:
    import atexit

    root = Path(tempfile.mkdtemp(prefix="equivalence-"))
    os.chmod(root, 0o755)
    atexit.register(shutil.rmtree, root, True)
    return root


def run_job(release: Path, job: str, script: str, props: Mapping, *args: str, watch: tuple[str, ...] = (),
            timeout: float = 20.0) -> JobRun:
    """Render every template of ``job`` in ``release`` with manifest ``props`` and run
    ``bin/<script>`` in a fresh sandbox; raises ``RenderError`` when a template does not render."""
    from tests.support.erb_render import RenderError

    job_dir = release / "jobs" / job
    files = render_jobs([(job_dir, props)])[0]
    failed = [v for v in files.values() if isinstance(v, RenderFailure)]
    if failed:
        raise RenderError(f"render error: {failed[0]}")
    texts = _texts(files)
    helpers = _helpers(job_dir, files)
    names, _functions = stubs.command_names([t for t in (*texts.values(), *helpers.values()) if _looks_like_shell(t)])
    base = Path(tempfile.mkdtemp(dir=_scratch()))
    os.chmod(base, 0o755)  # the script runs as nobody
    try:
        box = JobSandbox(base / "box", job, texts, helpers, names)
        result = box.run(f"bin/{script}", *args, timeout=timeout)
        seen = {}
        for path in watch:
            target = box.box.path(path)
            seen[path] = box.normalise(target.read_text()) if target.exists() else "<missing>"
        return JobRun(result.rc, result.program_calls(), seen, result.stderr, result)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def compare_scripts(old: str, new: str, codemods: Iterable[str], *, script: str = "bin/job_ctl",
                    properties: Mapping | None = None, contexts: Sequence[str] = ("defaults",),
                    timeout: float = TIMEOUT) -> list[Verdict]:
    """Compare two versions of one script (a property test's generated input and the codemods'
    output) as the only template of a job ``job`` whose spec declares ``properties``."""
    base = Path(tempfile.mkdtemp(dir=_scratch()))
    try:
        dirs = []
        for side, text in (("old", old), ("new", new)):
            job_dir = base / side / "jobs" / "job"
            (job_dir / "templates").mkdir(parents=True)
            (job_dir / "templates" / "script.erb").write_text(text)
            (job_dir / "spec").write_text(yaml.safe_dump({"name": "job", "templates": {"script.erb": script},
                                                          "packages": ["job"], "properties": dict(properties or {})}))
            dirs.append(job_dir)
        pair = JobPair("job", dirs[0], dirs[1], declared_for(codemods), (script,))
        return compare_jobs([pair], contexts=contexts, workers=1, timeout=timeout)
    finally:
        shutil.rmtree(base, ignore_errors=True)
