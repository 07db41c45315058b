"""-j in one process (issue 11): this process plans jobs beside its workers, and workers are forked
from it, so a run after another in the same process (bulk mode, tests) forks workers that inherit
the long-lived bash and Ruby this process already talks to. Each process must use its own: the
plans of -j 1, -j 2 and -j 3 are the same, in the same order, however many runs came before."""

from __future__ import annotations

import shutil
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
