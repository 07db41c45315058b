"""Spec changes tracked through the text edits (issue 11): a job's spec is parsed once when it is
discovered and once more to prove the job's final text, whatever number of its scripts ask for
changes; the result is the text the change-by-change way gave, and when the one proof fails the
job is collected again that way, so the same script is refused with the same finding."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator import spec as spec_module
from migrator.codemod import Codemod, CodemodResult, Edit, SpecChange
from migrator.discovery import discover
from migrator.engine import Pipeline, migrate_job
from migrator.spec import SpecDraft, SpecError, apply_spec_changes

SPECS = [
    "name: j\ntemplates:\n  a: bin/a\npackages:\n- x\nproperties: {}\n",
    "name: j\r\ntemplates:\r\n  a: bin/a\r\npackages:\r\n  - x\r\n",
    "name: j\ntemplates:\n  a: bin/a\npackages: [x]",  # no newline at the end
    "name: j\ntemplates:\n  a: bin/a\r\n  b: bin/b\npackages: []\n",  # mixed line ends
    "name: j\n# a comment\ntemplates:\n    a: bin/a   # trailing\n\n# next\nproperties:\n  p: {default: 1}\n",
    "name: j\ntemplates: {}\n",
]
STEPS = [
    [SpecChange("add_template", "a.env.erb", "config/a.env")],
    [SpecChange("add_package", "sipid"), SpecChange("add_template", "a.env.erb", "config/a.env")],
    [SpecChange("add_template", "b b.erb", "config/b b"), SpecChange("add_package", "sipid")],
    [SpecChange("remove_template", "a")],
]


@pytest.mark.parametrize("text", SPECS)
def test_a_draft_through_many_scripts_gives_the_text_of_change_by_change(text: str) -> None:
    exact, draft = text, SpecDraft.of(text)
    for changes in STEPS:
        exact = apply_spec_changes(exact, changes)
        draft = draft.with_changes(changes)
        assert draft.text == exact
    assert draft.proved() == exact


def test_a_change_that_cannot_be_placed_is_refused_at_once() -> None:
    draft = SpecDraft.of("name: j\ntemplates: {a: bin/a}\n")
    with pytest.raises(SpecError, match="flow style"):
        draft.with_changes([SpecChange("add_template", "n", "config/n")])


class _NeedsSpec(Codemod):
    """Rewrites each script named in ``needs`` and asks for a template for it."""

    id = "needs"
    summary = "rewrites and needs a spec change"
    rationale = "test"

    def transform(self, job, doc):
        if b"source" in doc.source:
            return CodemodResult()
        name = Path(doc.path).name
        changes = [SpecChange("add_template", f"{name}.env.erb", f"config/{name}.env")] if name != "c" else []
        at = doc.source.index(b"\n") + 1  # after the shebang
        return CodemodResult(edits=[Edit(at, at, "source /x\n")], spec_changes=changes)


def _job(tmp_path: Path, spec: str, names: list[str]):
    job_dir = tmp_path / "rel/jobs/j"
    (job_dir / "templates").mkdir(parents=True)
    (job_dir / "spec").write_text(spec)
    for name in names:
        (job_dir / "templates" / name).write_text(f"#!/bin/bash\necho {name}\n")
    [job] = discover([tmp_path / "rel"])
    return job


def _counting_parses(monkeypatch) -> list[str]:
    calls: list[str] = []
    real = spec_module.parse_spec

    def counted(text: str):
        calls.append(text)
        return real(text)

    monkeypatch.setattr(spec_module, "parse_spec", counted)
    return calls


def test_a_job_whose_scripts_all_change_the_spec_parses_it_once_more(tmp_path: Path, monkeypatch) -> None:
    spec = "name: j\ntemplates:\n  a: bin/a\n  b: bin/b\n  c: bin/c\n"
    job = _job(tmp_path, spec, ["a", "b", "c"])
    parses = _counting_parses(monkeypatch)
    outcome = migrate_job(job, Pipeline([_NeedsSpec()]))
    assert len(parses) == 1
    [spec_change] = [c for c in outcome.changes if c.rel == "jobs/j/spec"]
    assert spec_change.after == (spec + "  a.env.erb: config/a.env\n  b.env.erb: config/b.env\n").encode()
    assert len(outcome.changes) == 4 and outcome.errors == []


def test_when_the_one_proof_fails_the_job_is_collected_change_by_change(tmp_path: Path) -> None:
    # YAML keeps the second templates block; entries are placed in the first, so no parse confirms them
    spec = "name: j\ntemplates:\n  a: bin/a\n  b: bin/b\n  c: bin/c\ntemplates:\n  a: bin/a\n  b: bin/b\n  c: bin/c\n"
    job = _job(tmp_path, spec, ["a", "b", "c"])
    outcome = migrate_job(job, Pipeline([_NeedsSpec()]))
    assert [c.rel for c in outcome.changes] == ["jobs/j/templates/c"]  # needs no spec change: kept
    refused = sorted(f.path for f in outcome.errors)
    assert refused == ["jobs/j/templates/a", "jobs/j/templates/b"]
    assert all("spec change cannot be made (editing the spec text did not give the expected spec"
               in f.message for f in outcome.errors)
