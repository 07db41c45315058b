"""The engine's own guarantees: masking keeps offsets, edits and spec changes are minimal, and a
rewrite that fails verification is not made."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from migrator import erb
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext, SpecChange
from migrator.discovery import discover
from migrator.document import Document
from migrator.edits import EditConflict, OffsetMap, apply
from migrator.engine import Pipeline, migrate_job
from migrator.spec import SpecError, apply_spec_changes, parse_spec
from tests.support.codemod_case import run_codemods


# -- ERB masking ------------------------------------------------------------------------------
def test_masking_keeps_length_lines_and_makes_output_tags_one_word() -> None:
    src = b'X=<%= p("a") %>\n<% if p("b") -%>\nY=1\n<% end -%>\n<%# note\nmore %>\n'
    doc = Document.parse("t", src)
    assert len(doc.masked) == len(src)
    assert doc.masked.count(b"\n") == src.count(b"\n")
    assert doc.masked.startswith(b"X=" + b"_" * len(b'<%= p("a") %>'))
    assert [t.kind for t in doc.tags] == ["output", "control", "control", "comment"]
    assert doc.error_count == 0


def test_erb_dash_open_tag_is_control_not_output() -> None:
    tags, _ = erb.scan_tags(b"<%- if x -%>\n<%== raw %>\n")
    assert [t.kind for t in tags] == ["control", "output"]
    assert tags[0].trims_newline


@pytest.mark.parametrize(
    "codes,balanced",
    [
        (["if p('a')", "end"], True),
        (["p('a').each do |x|", "end"], True),
        (["if_p('a') do |a|", "end.else do", "end"], True),
        (["x = 1 if y"], True),
        (["if a", "elsif b", "else", "end"], True),
        (["if a"], False),
        (["end"], False),
        (["def f(x)", "'end'", "end"], True),
    ],
)
def test_block_balance(codes: list[str], balanced: bool) -> None:
    tags = [erb.ErbTag("control", 0, 0, c, False) for c in codes]
    assert erb.blocks_balanced(tags) is balanced


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab <%=>#-\n\"'$x")), max_size=80))
def test_masking_never_changes_length_or_newlines(text: str) -> None:
    src = text.encode()
    tags, _ = erb.scan_tags(src)
    masked = erb.mask(src, tags)
    assert len(masked) == len(src)
    assert [i for i, c in enumerate(masked) if c == 10] == [i for i, c in enumerate(src) if c == 10]


# -- edits ------------------------------------------------------------------------------------
def test_overlapping_edits_are_refused() -> None:
    with pytest.raises(EditConflict):
        apply(b"abcdef", [Edit(0, 3, "x"), Edit(2, 4, "y")])


def test_insertions_and_replacements_apply_in_order() -> None:
    assert apply(b"abcdef", [Edit(3, 3, "+"), Edit(0, 1, "A"), Edit(4, 6, "")]) == b"Abc+d"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5), st.text("xyz\n", max_size=6)), max_size=5))
def test_offset_map_points_unchanged_text_back_to_its_origin(raw) -> None:
    src = b"0123456789abcdefghijklmnopqrstuvwxyz"
    edits, taken = [], []
    for start, length, text in raw:
        end = min(start + length, len(src))
        if any(not (end <= s or start >= e) or start == s for s, e in taken):
            continue
        taken.append((start, end))
        edits.append(Edit(start, end, text))
    new = apply(src, edits)
    m = OffsetMap.from_edits(edits)
    untouched = [i for i in range(len(src)) if not any(s <= i < e or i == s for s, e in taken)]
    for orig in untouched:
        delta = sum(len(e.text.encode()) - (e.end - e.start) for e in edits if e.end <= orig and e.start < orig)
        new_pos = orig + delta
        assert new[new_pos] == src[orig]
        assert m.to_original(new_pos) == orig


# -- spec edits -------------------------------------------------------------------------------
SPEC = """\
---
name: web   # the web job

templates:
  # control script
  web_ctl.erb: bin/web_ctl
  web.yml.erb: config/web.yml

packages:
  - web

properties:
  web.port: {default: 80}
"""


def test_spec_template_added_after_the_last_entry_with_its_indent() -> None:
    out = apply_spec_changes(SPEC, [SpecChange("add_template", "web_ctl.env.erb", "config/web_ctl.env")])
    assert out == SPEC.replace("  web.yml.erb: config/web.yml\n",
                               "  web.yml.erb: config/web.yml\n  web_ctl.env.erb: config/web_ctl.env\n")


def test_spec_package_added_in_the_lists_style() -> None:
    out = apply_spec_changes(SPEC, [SpecChange("add_package", "sipid")])
    assert out == SPEC.replace("  - web\n", "  - web\n  - sipid\n")
    assert apply_spec_changes(out, [SpecChange("add_package", "sipid")]) == out


def test_spec_packages_created_when_absent_and_flow_lists_extended() -> None:
    out = apply_spec_changes("name: x\ntemplates:\n  a: bin/a\n", [SpecChange("add_package", "sipid")])
    assert parse_spec(out).packages == ("sipid",)
    assert out.startswith("name: x\ntemplates:\n  a: bin/a\npackages:\n- sipid\n")
    out = apply_spec_changes("name: x\npackages: [a]\n", [SpecChange("add_package", "sipid")])
    assert out == "name: x\npackages: [a, sipid]\n"
    out = apply_spec_changes("name: x\npackages: []\n", [SpecChange("add_package", "sipid")])
    assert out == "name: x\npackages: [sipid]\n"


def test_spec_template_removed_by_its_line_only() -> None:
    out = apply_spec_changes(SPEC, [SpecChange("remove_template", "web.yml.erb")])
    assert out == SPEC.replace("  web.yml.erb: config/web.yml\n", "")


def test_spec_flow_style_templates_are_refused() -> None:
    with pytest.raises(SpecError):
        apply_spec_changes("templates: {a: bin/a}\n", [SpecChange("add_template", "b", "config/b")])


def test_spec_conflicting_template_is_refused() -> None:
    with pytest.raises(SpecError):
        apply_spec_changes(SPEC, [SpecChange("add_template", "web.yml.erb", "config/other")])


# -- verification -----------------------------------------------------------------------------
class _Breaks(Codemod):
    id = "breaks"
    summary = "appends an unclosed if"
    rationale = "test"

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        if b"if [" in doc.source:
            return CodemodResult()
        return CodemodResult(edits=[Edit(len(doc.source), len(doc.source), "if [ -f x ]; then\n")])


class _NotIdempotent(Codemod):
    id = "grows"
    summary = "appends a line every time"
    rationale = "test"

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        return CodemodResult(edits=[Edit(len(doc.source), len(doc.source), "echo again\n")])


class _UnbalancesErb(Codemod):
    id = "unbalance"
    summary = "drops an ERB end"
    rationale = "test"

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        i = doc.source.find(b"<% end %>")
        return CodemodResult(edits=[Edit(i, i + 9, "")]) if i >= 0 else CodemodResult()


class _Crashes(Codemod):
    id = "crashes"
    summary = "raises"
    rationale = "test"

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        raise RuntimeError("boom")


@pytest.mark.parametrize(
    "codemod,source,why",
    [
        (_Breaks(), "echo hi\n", "does not parse"),
        (_NotIdempotent(), "echo hi\n", "not idempotent"),
        (_UnbalancesErb(), "<% if p('a') %>\necho a\n<% end %>\n", "no longer balance"),
    ],
)
def test_a_rewrite_that_fails_verification_is_not_made(codemod: Codemod, source: str, why: str) -> None:
    outcome = run_codemods([codemod], source)
    assert outcome.text == source
    [finding] = [f for f in outcome.findings if f.severity == "error"]
    assert why in finding.message and "left unchanged" in finding.message


def _job(tmp_path: Path, spec: str, scripts: dict[str, str]):
    """A one-job release on disk, discovered as the CLI would."""
    job_dir = tmp_path / "rel/jobs/j"
    (job_dir / "templates").mkdir(parents=True)
    (job_dir / "spec").write_text(spec)
    for name, text in scripts.items():
        (job_dir / "templates" / name).write_text(text)
    [job] = discover([tmp_path / "rel"])
    return job


def test_a_crashing_codemod_is_an_internal_error_and_other_files_go_on(tmp_path: Path) -> None:
    job = _job(tmp_path, "name: j\ntemplates:\n  a: bin/a\n  b: bin/b\n", {"a": "echo a\n", "b": "echo b\n"})
    outcome = migrate_job(job, Pipeline([_Crashes()]))
    assert outcome.internal_errors == 2
    assert all("internal error" in f.message for f in outcome.errors)
    assert outcome.changes == []


def test_spec_change_that_cannot_be_made_keeps_the_script_unchanged(tmp_path: Path) -> None:
    class _NeedsTemplate(Codemod):
        id = "needs"
        summary = "rewrites and needs a new template"
        rationale = "test"

        def transform(self, job, doc):
            if b"source" in doc.source:
                return CodemodResult()
            return CodemodResult(edits=[Edit(0, 0, "source /x\n")],
                                 spec_changes=[SpecChange("add_template", "n.erb", "config/n")])

    job = _job(tmp_path, "name: j\ntemplates: {a: bin/a}\n", {"a": "echo a\n"})
    outcome = migrate_job(job, Pipeline([_NeedsTemplate()]))
    assert outcome.changes == []
    assert any("spec change cannot be made" in f.message for f in outcome.errors)


@pytest.mark.parametrize(
    "line,shell",
    [
        (b"#!/bin/bash", True),
        (b"#!/usr/bin/env bash", True),
        (b"#!/bin/bash -e", True),
        (b"#! /bin/sh", True),
        (b"#!/usr/bin/env -S bash -eu", True),
        (b"#!/usr/bin/env ruby", False),
        (b"#!/var/vcap/packages/sh-tools/bin/ruby", False),
        (b"echo no shebang", False),
    ],
)
def test_shell_shebang_detection(line: bytes, shell: bool) -> None:
    from migrator.discovery import has_shell_shebang

    assert has_shell_shebang(line + b"\necho\n") is shell


def test_new_files_and_spec_edits_are_credited_to_their_codemod(tmp_path: Path) -> None:
    from migrator.codemod import NewFile

    class _AddsTemplate(Codemod):
        id = "adds"
        summary = "sources a new env template"
        rationale = "test"

        def transform(self, job, doc):
            if b"source" in doc.source:
                return CodemodResult()
            return CodemodResult(edits=[Edit(0, 0, "source /var/vcap/jobs/j/config/a.env\n")],
                                 new_files=[NewFile("templates/a.env.erb", "X=1\n")],
                                 spec_changes=[SpecChange("add_template", "a.env.erb", "config/a.env")])

    job = _job(tmp_path, "name: j\ntemplates:\n  a: bin/a\n", {"a": "echo a\n"})
    outcome = migrate_job(job, Pipeline([_AddsTemplate()]))
    credited = {c.rel: c.codemods for c in outcome.changes}
    assert credited == {"jobs/j/spec": ["adds"], "jobs/j/templates/a": ["adds"], "jobs/j/templates/a.env.erb": ["adds"]}
    spec_change = next(c for c in outcome.changes if c.rel == "jobs/j/spec")
    assert spec_change.after.decode() == "name: j\ntemplates:\n  a: bin/a\n  a.env.erb: config/a.env\n"


class _EmptiesABody(Codemod):
    """Leaves ``then fi``: tree-sitter accepts it, bash does not."""

    id = "empties"
    summary = "removes the only command of an if body"
    rationale = "test"

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        i = doc.source.find(b"  echo inside\n")
        return CodemodResult(edits=[Edit(i, i + 14, "")]) if i >= 0 else CodemodResult()


def test_a_rewrite_that_bash_itself_rejects_is_not_made() -> None:
    source = "if [ -f x ]; then\n  echo inside\nfi\n"
    outcome = run_codemods([_EmptiesABody()], source)
    assert outcome.text == source
    assert any("bash -n rejects" in f.message for f in outcome.findings if f.severity == "error")
