"""Running a pipeline over many jobs, optionally in parallel, and applying the planned changes."""

from __future__ import annotations

import subprocess
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from migrator.codemod import Options
from migrator.discovery import Job
from migrator.engine import FileChange, JobOutcome, Pipeline, migrate_job
from migrator.writer import remove, write_atomic


@dataclass
class RunResult:
    outcomes: list[JobOutcome] = field(default_factory=list)

    @property
    def changes(self) -> list[FileChange]:
        return [c for o in self.outcomes for c in o.changes]

    @property
    def findings(self):
        return [f for o in self.outcomes for f in o.findings]

    @property
    def internal_errors(self) -> int:
        return sum(o.internal_errors for o in self.outcomes)

    @property
    def required_packages(self) -> list[str]:
        return sorted({p for o in self.outcomes for p in o.required_packages})


def _pipeline(codemod_ids: Sequence[str], options: Options) -> Pipeline:
    import codemods

    return Pipeline(codemods.select(list(codemod_ids)), options)


def _migrate_in_worker(args: tuple[Job, tuple[str, ...], Options]) -> JobOutcome:
    job, ids, options = args
    return migrate_job(job, _pipeline(ids, options))


def run_jobs(
    jobs: list[Job],
    pipeline: Pipeline,
    workers: int = 1,
    progress: Callable[[JobOutcome], None] | None = None,
) -> RunResult:
    """Plan every job; with ``workers > 1`` jobs are planned in separate processes."""
    result = RunResult()
    if workers > 1 and len(jobs) > 1:
        ids = tuple(c.id for c in pipeline.codemods)
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for outcome in pool.map(_migrate_in_worker, [(j, ids, pipeline.options) for j in jobs]):
                result.outcomes.append(outcome)
                if progress:
                    progress(outcome)
    else:
        for job in jobs:
            outcome = migrate_job(job, pipeline)
            result.outcomes.append(outcome)
            if progress:
                progress(outcome)
    return result


def apply_changes(changes: list[FileChange]) -> None:
    for change in changes:
        if change.after is None:
            remove(change.path)
        else:
            # new templates are data that BOSH renders, not programs: 0644 like the others
            write_atomic(change.path, change.after)


class DirtyTree(Exception):
    pass


def check_clean(changes: list[FileChange]) -> None:
    """Refuse to overwrite files with uncommitted changes in a git work tree (nothing is lost)."""
    by_root: dict[Path, list[Path]] = {}
    for change in changes:
        by_root.setdefault(change.path.parent, []).append(change.path)
    dirty: list[str] = []
    for folder, paths in by_root.items():
        try:
            top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=folder, capture_output=True,
                                 text=True, check=False)
        except FileNotFoundError:
            return
        if top.returncode != 0:
            continue
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--", *[str(p) for p in paths]],
            cwd=folder, capture_output=True, text=True, check=False,
        )
        dirty += [line[3:] for line in status.stdout.splitlines() if line.strip()]
    if dirty:
        raise DirtyTree(
            "these files have uncommitted changes and would be overwritten: "
            + ", ".join(sorted(set(dirty)))
            + " (commit or stash them first, or pass --allow-dirty)"
        )
