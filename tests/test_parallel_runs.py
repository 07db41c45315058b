"""-j in one process (issue 11): this process plans jobs beside its workers, and workers are forked
from it, so a run after another in the same process (bulk mode, tests) forks workers that inherit
the long-lived bash and Ruby this process already talks to. Each process must use its own: the
plans of -j 1, -j 2 and -j 3 are the same, in the same order, however many runs came before."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import codemods
from migrator.codemod import Options
from migrator.discovery import discover
from migrator.engine import Pipeline
from migrator.runner import run_jobs

ROOT = Path(__file__).resolve().parent.parent
JOBS = ["api", "archiver", "blobstore", "broker", "cell", "db-seeder", "healthwait", "worker"]


def _plan(release: Path, workers: int) -> list[tuple]:
    jobs = discover([release])
    result = run_jobs(jobs, Pipeline(codemods.select(None, None), Options()), workers)
    return [(o.job, [(c.rel, c.before, c.after) for c in o.changes], o.findings, o.skipped_checks)
            for o in result.outcomes]


def test_parallel_plans_after_a_run_in_the_same_process_are_the_sequential_ones(tmp_path: Path) -> None:
    release = tmp_path / "rel"
    for job in JOBS:
        shutil.copytree(ROOT / "samples" / "legacy-release" / "jobs" / job, release / "jobs" / job)
    shutil.copytree(ROOT / "samples" / "legacy-release" / "src", release / "src")
    sequential = _plan(release, 1)  # starts this process's bash and Ruby
    assert any(changes for _, changes, _, _ in sequential)
    assert _plan(release, 2) == sequential
    assert _plan(release, 3) == sequential
    assert _plan(release, 1) == sequential


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_ctrl_c_while_jobs_are_planned_in_parallel_stops_with_nothing_written(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group: this process (planning its own jobs), the worker,
    and the bash and Ruby they talk to. The run stops with the one line and exit 130."""
    release = tmp_path / "rel"
    (release / "jobs").mkdir(parents=True)
    shutil.copytree(ROOT / "samples" / "legacy-release" / "src", release / "src")
    for i in range(12):
        for job in sorted((ROOT / "samples" / "legacy-release" / "jobs").iterdir()):
            shutil.copytree(job, release / "jobs" / f"{job.name}-{i}")
    before = _tree(release)
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "-j", "2", str(release)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    # past start-up and discovery, well before the end of planning (measured in the process's own CPU)
    while _cpu_seconds(proc.pid) < 0.5 and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted (SIGINT) while planning: nothing was written"
    assert _tree(release) == before
