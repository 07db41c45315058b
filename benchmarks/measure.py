"""Measuring child processes: CPU (user + system), wall time and peak memory.

The tool keeps a long-lived bash and a ruby per process; if it exits without waiting for them they
are re-parented, and their CPU would be lost. The benchmark therefore makes itself a child
sub-reaper (Linux prctl PR_SET_CHILD_SUBREAPER), so those orphans become its children, and waits for
every one of them after each command so their time is counted with the command that started them.

Peak memory is measured in a separate, untimed round: Linux starts a forked child's ru_maxrss at
its parent's RSS (about 25 MB for this Python), which would hide the real peak of a small program
such as ``bash -n``; GNU ``/usr/bin/time`` (a small process) forks the command and reports its own
child's peak. Wrapping every timed command would add an exec per file to the timings.
"""

from __future__ import annotations

import ctypes
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
GNU_TIME = Path("/usr/bin/time")


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process (False where prctl is unavailable)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@dataclass(frozen=True)
class Sample:
    """One round of one measure."""

    cpu: float  # seconds, user + system, of the processes run and all their descendants
    wall: float  # seconds
    rss_kb: int  # the largest ru_maxrss of any one process waited for
    orphans: int = 0  # helper processes left behind and reaped here
    orphan_rss_kb: int = 0


@dataclass(frozen=True)
class Summary:
    name: str
    cpu_min: float
    cpu_median: float
    wall_min: float
    wall_median: float
    rss_kb: int

    @classmethod
    def of(cls, name: str, samples: list[Sample], rss_kb: int) -> Summary:
        cpus = [s.cpu for s in samples]
        walls = [s.wall for s in samples]
        return cls(name, min(cpus), statistics.median(cpus), min(walls), statistics.median(walls), rss_kb)


def _account(usage, totals: list[float]) -> None:
    totals[0] += usage.ru_utime + usage.ru_stime
    totals[1] = max(totals[1], usage.ru_maxrss)


def _reap_orphans(totals: list[float]) -> None:
    """Wait for every remaining child (orphans re-parented to us) and add their usage."""
    while True:
        try:
            _pid, _status, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return
        _account(usage, totals)
        totals[2] += 1
        totals[3] = max(totals[3], usage.ru_maxrss)


def run_commands(commands: list[list[str]], cwd: Path | None = None, stdout: Path | None = None) -> Sample:
    """Run the commands one after another; CPU and memory come from wait4 of each one and of the
    orphans it left. ``stdout`` (appended to) keeps the output when the caller needs it."""
    totals: list[float] = [0.0, 0, 0, 0]  # cpu, maxrss, orphans, their maxrss
    start = time.perf_counter()
    for cmd in commands:
        out = open(stdout, "ab") if stdout else subprocess.DEVNULL  # noqa: SIM115
        try:
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL)
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)  # Popen must not wait again
        finally:
            if stdout:
                out.close()
        _account(usage, totals)
        _reap_orphans(totals)
    return Sample(totals[0], time.perf_counter() - start, int(totals[1]), int(totals[2]), int(totals[3]))


def rounds(n: int, once: Callable[[], Sample]) -> list[Sample]:
    return [once() for _ in range(n)]


def peak_rss_kb(commands: list[list[str]], cwd: Path | None = None) -> int:
    """The largest peak RSS (KB) of the commands, each run once under GNU time (0 without it)."""
    if not GNU_TIME.exists():
        return 0
    peak = 0
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "rss"
        for cmd in commands:
            run = run_commands([[str(GNU_TIME), "-f", "%M", "-o", str(report), *cmd]], cwd=cwd)
            peak = max(peak, int(report.read_text().split()[-1]), run.orphan_rss_kb)
    return peak
