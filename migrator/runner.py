"""Running a pipeline over many jobs, optionally in parallel, and applying the planned changes."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from migrator import interrupts, journal, release_packages
from migrator.codemod import Options
from migrator.discovery import Job
from migrator.engine import FileChange, JobOutcome, Pipeline, migrate_job
from migrator.release_packages import AddedPackage
from migrator.writer import Write, WriteFailed, stale_files, write_job


@dataclass
class RunResult:
    outcomes: list[JobOutcome] = field(default_factory=list)  # the jobs, then release-level changes
    added_packages: list[AddedPackage] = field(default_factory=list)  # packages the run adds to a release
    shipped_packages: set[str] = field(default_factory=set)  # needed packages the release already has

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

    @property
    def unshipped_packages(self) -> list[str]:
        """Packages the jobs now need that the release neither has nor gets from this run."""
        added = {p.name for p in self.added_packages}
        return [p for p in self.required_packages if p not in added and p not in self.shipped_packages]


def _pipeline(codemod_ids: Sequence[str], options: Options) -> Pipeline:
    import codemods

    known = codemods.by_id()  # not codemods.select: an empty selection there means every codemod
    return Pipeline([known[cid]() for cid in codemod_ids], options)


_worker_pipeline: Pipeline | None = None  # a worker process's one pipeline (see _start_worker)


def _start_worker(ids: tuple[str, ...], options: Options) -> None:
    """A worker builds the pipeline once and plans every job it is given with it, as ``-j 1``
    plans them all with one (it used to build one per job)."""
    global _worker_pipeline
    interrupts.ignore_in_worker()
    _worker_pipeline = _pipeline(ids, options)


def _migrate_in_worker(jobs: list[Job]) -> list[JobOutcome]:
    assert _worker_pipeline is not None, "_start_worker runs first"
    return [migrate_job(job, _worker_pipeline) for job in jobs]


def _chunk_size(left: int, workers: int) -> int:
    """Jobs sent to a worker at once, of the ``left`` not yet handed out: fewer round trips, yet at
    most 8 (about 30 ms of work), and fewer as the two ends of the list meet, so that this process
    does not wait long for the chunks the workers still hold at the end."""
    return max(1, min(8, left // (workers * 4)))


def _plan_in_parallel(jobs: list[Job], pipeline: Pipeline, workers: int,
                      progress: Callable[[JobOutcome], None] | None) -> list[JobOutcome]:
    """Plan the jobs with ``workers - 1`` worker processes and this one: the pool takes chunks
    from the front of the list, this process single jobs from the back, until they meet.

    This process used to wait while ``workers`` others planned: on two cores ``-j 2`` ran three
    Pythons, two checking bashes and two Rubies, and pickled every job and outcome. The outcomes
    are returned in the jobs' order whoever planned them, so the output is the one of ``-j 1``."""
    # multiprocessing is 5 ms of imports, which a run of one job skips
    from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

    helpers = min(workers - 1, len(jobs) - 1)
    ids = tuple(c.id for c in pipeline.codemods)
    outcomes: list[JobOutcome | None] = [None] * len(jobs)
    pending: dict[Future, int] = {}  # a chunk in the pool -> the index of its first job
    front, back = 0, len(jobs)

    def planned(index: int, outcome: JobOutcome) -> None:
        outcomes[index] = outcome
        if progress:
            progress(outcome)

    def collect(done) -> None:
        for future in done:
            first = pending.pop(future)
            for k, outcome in enumerate(future.result()):
                planned(first + k, outcome)

    pool = ProcessPoolExecutor(max_workers=helpers, initializer=_start_worker, initargs=(ids, pipeline.options))
    try:
        while front < back or pending:
            while front < back and len(pending) < 2 * helpers:  # each worker has the next chunk queued
                end = min(back, front + _chunk_size(back - front, workers))
                pending[pool.submit(_migrate_in_worker, jobs[front:end])] = front
                front = end
            if front < back:
                back -= 1
                planned(back, migrate_job(jobs[back], pipeline))
                collect([f for f in pending if f.done()])
            else:
                collect(wait(pending, return_when=FIRST_COMPLETED).done)
    except BaseException:
        # an interrupt or a crash: the jobs not yet planned are dropped; the chunks the workers
        # already hold (a few jobs each) are waited for, since an executor left running races
        # its own exit hook ("Exception ignored ... Bad file descriptor" on stderr)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


def run_jobs(
    jobs: list[Job],
    pipeline: Pipeline,
    workers: int = 1,
    progress: Callable[[JobOutcome], None] | None = None,
) -> RunResult:
    """Plan every job; with ``workers > 1``, ``workers`` jobs at a time (this process and
    ``workers - 1`` others)."""
    result = RunResult()
    if workers > 1 and len(jobs) > 1:
        result.outcomes = _plan_in_parallel(jobs, pipeline, workers, progress)
    else:
        for job in jobs:
            outcome = migrate_job(job, pipeline)
            result.outcomes.append(outcome)
            if progress:
                progress(outcome)
    # release-level changes come after every job is planned: they follow from what the jobs need
    release = release_packages.plan(jobs, result.outcomes, [c.id for c in pipeline.codemods],
                                    pipeline.options.sipid_path)
    result.outcomes += release.outcomes
    result.added_packages, result.shipped_packages = release.added, release.shipped
    return result


def apply_changes(changes: list[FileChange]) -> None:
    """Write ``changes`` as one transaction (all or nothing); raises WriteFailed."""
    write_job([Write(c.path, c.after) for c in changes])


def job_label(outcome: JobOutcome) -> str:
    """How messages name a job: its folder (spec names can repeat across folders)."""
    return outcome.dir.name if outcome.dir is not None else outcome.job


@dataclass
class ApplyResult:
    """Which jobs were written; a failed job or one not reached was left exactly as it was."""

    written: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # job -> "<file>: <OS error>; <state of the job>"
    not_reached: list[str] = field(default_factory=list)
    signal_name: str | None = None
    exit_code: int | None = None  # 128 + signal number when a signal stopped the run

    @property
    def not_written(self) -> list[str]:
        return sorted([*self.failed, *self.not_reached])


def apply_jobs(outcomes: list[JobOutcome], pending: interrupts.Pending | None = None) -> ApplyResult:
    """Write each job's changes as its own transaction; a job that fails is undone and the others
    still apply. SIGINT/SIGTERM finish the job in flight (a second one rolls it back), then stop.

    ``pending`` is the caller's ``interrupts.deferred()`` state when it already defers signals."""
    if pending is None:
        with interrupts.deferred() as own:
            return apply_jobs(outcomes, own)
    result = ApplyResult()
    todo = [o for o in outcomes if o.changes]
    for i, outcome in enumerate(todo):
        label = job_label(outcome)
        if pending.signum is not None:
            result.not_reached += [job_label(o) for o in todo[i:]]
            break
        try:
            write_job([Write(c.path, c.after) for c in outcome.changes], outcome.dir)
        except WriteFailed as exc:
            state = ("its files may be half-written now: restore them from version control" if exc.undo_problems
                     else "its files were left as they were")
            result.failed[label] = f"{os.path.relpath(exc.path, outcome.release_root)}: {exc.reason}; {state}"
        except interrupts.Interrupted:  # a second signal: the writer rolled this job back
            result.not_reached += [job_label(o) for o in todo[i:]]
            break
        else:
            result.written.append(label)
    if pending.signum is not None:
        result.signal_name, result.exit_code = pending.name, 128 + pending.signum
    return result


def clean_stale(jobs: list[Job], remove: bool) -> list[str]:
    """What a killed run left in the jobs' folders, cleaned up when this run applies changes (a dry
    run only names it): a job it was writing is put back as it was (its journal says how), then
    temporary files and backups are removed. Only exact matches of the writer's name pattern, only
    inside these job folders."""
    notes: list[str] = []
    for job in jobs:
        job_rel = job.rel_to_release(job.dir)
        stuck = False
        for path in journal.find(job.dir):
            if not remove:
                notes.append(f"{job_rel}: a killed run left this job half-written; the next run that applies "
                             "changes puts it back as it was")
                continue
            try:
                count = journal.recover(path)
                notes.append(f"{job_rel}: put back as it was before a killed run's unfinished write "
                             f"({count} file{'' if count == 1 else 's'} restored or removed)")
            except (OSError, ValueError, KeyError) as exc:
                stuck = True
                notes.append(f"{job_rel}: a killed run left this job half-written and it cannot be put back "
                             f"({getattr(exc, 'strerror', None) or exc}); its backups are kept "
                             f"({job.rel_to_release(path)} lists them)")
        for path in stale_files(job.dir):
            rel = job.rel_to_release(path)
            if not remove:
                notes.append(f"{rel}: left by an interrupted run (removed by the next run that applies changes)")
            elif not stuck and path.exists():
                try:
                    path.unlink()
                    notes.append(f"removed {rel}: left by an interrupted run")
                except OSError as exc:
                    notes.append(f"{rel}: left by an interrupted run, cannot be removed: {exc.strerror or exc}")
    return notes


class DirtyTree(Exception):
    pass


def check_clean(changes: list[FileChange]) -> None:
    """Refuse to overwrite files with uncommitted changes in a git work tree (nothing is lost)."""
    by_root: dict[Path, list[Path]] = {}
    for change in changes:
        folder = change.path.parent
        while not folder.is_dir() and folder != folder.parent:  # a new package's folder: ask its parent
            folder = folder.parent
        by_root.setdefault(folder, []).append(change.path)
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
