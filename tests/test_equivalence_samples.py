"""Every sample job, migrated by the tool, runs the same commands as before.

The sample release is copied and migrated as a user would (``python -m migrator`` on the copy);
every changed script of every changed job is then rendered with Ruby ERB and run with real bash,
original and migrated, in three contexts (spec defaults with made-up values, every boolean
flipped, and every string in a list or a hash of two words: an item the old script printed
unquoted was two arguments to it), and the calls must match apart from what the codemods that
changed the job declare (``tests/support/equivalence.py``). A job that is not equivalent because of a codemod bug is listed
in ``KNOWN`` with the bug (an expected failure that must start passing once it is fixed); the
harness itself is never loosened for it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.equivalence import ALL_CONTEXTS, Verdict, compare_jobs, job_pairs, migrate
from tests.support.erb_render import ruby_available

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
EXPECTED = ROOT / "samples" / "expected" / "legacy-release"
JOBS = sorted(p.name for p in (SAMPLE / "jobs").iterdir() if (p / "spec").is_file())

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")

#: (job, context) -> the codemod bug that makes it differ (file, shape, first differing argv)
KNOWN: dict[tuple[str, str], str] = {
    ("indexer", "spaced"): "erb-to-config: a list joined with a comma and printed unquoted (`--shards <%= shards %>`, "
                           "shards = p(x).join(\",\")) becomes one quoted word: items with a space were several words",
}


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], list[Verdict]]:
    """One migration of a copy of the sample release and one comparison run for all jobs."""
    work = tmp_path_factory.mktemp("equivalence")
    original, migrated = work / "original", work / "migrated"
    shutil.copytree(SAMPLE, original)
    report = migrate(SAMPLE, migrated)
    pairs = job_pairs(original, migrated, report)
    assert pairs, "the tool changed no sample job"
    out: dict[tuple[str, str], list[Verdict]] = {(job, c): [] for job in JOBS for c in ALL_CONTEXTS}
    for verdict in compare_jobs(pairs, contexts=ALL_CONTEXTS):
        out.setdefault((verdict.job, verdict.context), []).append(verdict)
    return out


def _params():
    for job in JOBS:
        for context in ALL_CONTEXTS:
            marks = [pytest.mark.xfail(strict=True, reason=KNOWN[(job, context)])] if (job, context) in KNOWN else []
            yield pytest.param(job, context, marks=marks, id=f"{job}-{context}")


@pytest.mark.parametrize("job,context", list(_params()))
def test_sample_job_runs_the_same_commands(verdicts: dict, job: str, context: str) -> None:
    if _changed_scripts(job):  # a job the migration changed must really have been run
        assert verdicts[(job, context)], f"no script of {job} was compared"
    problems = [str(v) for v in verdicts[(job, context)] if v.status != "equivalent"]
    assert not problems, "\n".join(problems)


def _changed_scripts(job: str) -> list[str]:
    """Templates of ``job`` whose migrated form (samples/expected) differs from the sample."""
    before, after = SAMPLE / "jobs" / job / "templates", EXPECTED / "jobs" / job / "templates"
    return [p.name for p in before.rglob("*") if p.is_file()
            and (after / p.relative_to(before)).is_file()
            and (after / p.relative_to(before)).read_bytes() != p.read_bytes()]


def test_the_comparison_covers_every_changed_script(verdicts: dict) -> None:
    """Each kind of script the codemods change is actually run: control scripts (start and stop),
    a post-start, a script run through the control script that execs it."""
    ran = {(v.job, v.script) for vs in verdicts.values() for v in vs}
    assert {("web", "bin/web_ctl"), ("api", "bin/post-start"), ("cell", "bin/cell_as_vcap"),
            ("gateway", "bin/gateway_ctl"), ("scheduler", "bin/migrate")} <= ran
    # each way a health-check probe maps: -f, a 200 status, no -f, HEAD with a -k that did nothing, wget
    assert {("healthwait", f"bin/{s}") for s in ("post-start", "wait-for-ui", "wait-for-keystore",
                                                  "wait-for-console", "wait-for-search")} <= ran
    gateway = next(v for v in verdicts[("gateway", "defaults")] if v.script == "bin/gateway_ctl")
    assert set(gateway.runs) == {"start", "stop"}
    old, new = gateway.runs["start"]
    programs = [c for c in new.program_calls() if c["prog"] != "sipid"]
    assert old.program_calls() and programs == old.program_calls()
