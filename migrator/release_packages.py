"""Release-level changes: the packages a run makes jobs depend on, added where the release lacks them.

A job that lists ``sipid`` under ``packages:`` only builds when the release ships a ``sipid``
package, and no release does, so ``bosh create-release`` would fail on the migrated release. This
is a change to the release, not to one job: it is planned once per release after every job, and
joins the run as one more unit of changes (shown in ``--dry-run``, written all or nothing).

Only the package named ``sipid`` is created (the default ``--sipid-path``). A ``--sipid-path`` into
another package (``/var/vcap/packages/tools/bin/sipid``) means the release ships sipid there: jobs
depend on that package and nothing is created; a path outside ``/var/vcap/packages`` adds no
dependency at all.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from migrator import release_go, sipid_package
from migrator.codemod import Finding
from migrator.discovery import Job
from migrator.engine import FileChange, JobOutcome

#: the codemods whose rewrites call sipid (and so make jobs depend on its package)
SIPID_CODEMODS = ("sipid-pidfiles", "sipid-healthcheck")


def package_of(binary: str) -> str | None:
    """The package a binary path lives in: ``/var/vcap/packages/<name>/...``, else None."""
    match = re.match(r"/var/vcap/packages/([^/]+)/", binary)
    return match.group(1) if match else None


@dataclass(frozen=True)
class AddedPackage:
    """A package this run adds to a release, and what the maintainer still has to do once."""

    name: str
    release_root: Path
    files: tuple[str, ...]  # relative to the release root
    go_package: str
    commands: tuple[str, ...]  # run once in the release, before ``bosh create-release``
    note: str | None = None  # why the release's own Go was not used

    def describe(self) -> str:
        return f"packages/{self.name} (builds {self.name} from source with {self.go_package})"


@dataclass
class ReleasePlan:
    outcomes: list[JobOutcome] = field(default_factory=list)
    added: list[AddedPackage] = field(default_factory=list)
    shipped: set[str] = field(default_factory=set)  # needed packages the releases already have


def _ships(release_root: Path, name: str) -> bool:
    folder = release_root / "packages" / name
    return (folder / "spec").is_file() or (folder / "spec.lock").is_file()


def _is_release(release_root: Path, jobs: Sequence[Job]) -> bool:
    """Only a real release gets packages: its jobs sit in its ``jobs/`` folder."""
    return any(job.dir.parent == release_root / "jobs" for job in jobs)


def _source_present(release_root: Path) -> bool:
    if (release_root / sipid_package.SUBMODULE_PATH).exists():
        return True
    try:
        gitmodules = (release_root / ".gitmodules").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return f"path = {sipid_package.SUBMODULE_PATH}" in gitmodules


def _sipid_outcome(release_root: Path, codemods: list[str]) -> tuple[JobOutcome, AddedPackage | None]:
    go, passed_over = release_go.choose(release_root)
    go_present = _ships(release_root, go.name)
    note = (f"the release's {passed_over.name} is older than Go {'.'.join(map(str, release_go.MIN_GO))}, "
            "which sipid needs" if passed_over is not None else None)
    label = f"packages/{sipid_package.NAME}"
    outcome = JobOutcome(job=label, release_root=release_root)
    for rel, text in sorted(sipid_package.files(go).items()):
        path = release_root / rel
        data = text.encode("utf-8")
        existing = path.read_bytes() if path.is_file() else None
        if existing == data:
            continue  # left by a run that was stopped before the spec: kept as it is
        if existing is not None or path.is_symlink() or path.is_dir():
            outcome.findings.append(Finding("engine", rel, None, f"{label} not added: {rel} already exists with other "
                                            "content (finish or remove the package by hand)", "error"))
            outcome.changes = []
            return outcome, None
        outcome.changes.append(FileChange(path, rel, None, data, list(codemods)))
    added = AddedPackage(sipid_package.NAME, release_root, tuple(sipid_package.files(go)), go.name,
                         tuple(sipid_package.commands(go, go_present, _source_present(release_root))), note)
    return outcome, added


def plan(jobs: Sequence[Job], outcomes: Iterable[JobOutcome], codemod_ids: Sequence[str],
         sipid_path: str) -> ReleasePlan:
    """Per release: the sipid package when its jobs need it and it has none."""
    result = ReleasePlan()
    sipid_ids = [c for c in codemod_ids if c in SIPID_CODEMODS]
    sipid_name = package_of(sipid_path)
    by_root: dict[Path, list[Job]] = {}
    for job in jobs:
        by_root.setdefault(job.release_root, []).append(job)
    needed: dict[Path, set[str]] = {root: set() for root in by_root}
    used: dict[Path, set[str]] = {}  # the sipid codemods that rewrote something, per release
    for outcome in outcomes:
        needed.setdefault(outcome.release_root, set()).update(outcome.required_packages)
        used.setdefault(outcome.release_root, set()).update(
            c for change in outcome.changes for c in change.codemods if c in sipid_ids)
    for root, root_jobs in by_root.items():
        if sipid_ids and sipid_name:
            # a job an earlier run migrated lists the package already: the release still needs it
            needed[root].update(sipid_name for job in root_jobs if job.spec and sipid_name in job.spec.packages)
    for root, names in sorted(needed.items()):
        for name in sorted(names):
            if _ships(root, name):
                result.shipped.add(name)
            elif name == sipid_package.NAME and sipid_ids and _is_release(root, by_root.get(root, [])):
                credited = [c for c in sipid_ids if c in used.get(root, ())] or sipid_ids
                outcome, added = _sipid_outcome(root, credited)
                if outcome.changes or outcome.findings:
                    result.outcomes.append(outcome)
                if added is not None:
                    result.added.append(added)
    return result
