"""Findings say what happened: a rewrite that was not made (suppressed by a comment, or refused by
the verification gate) leaves no finding that describes it as made."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from codemods.sipid_healthcheck import SipidHealthcheck
from migrator.codemod import JobContext, Options
from migrator.discovery import Template
from migrator.engine import Pipeline
from tests.support.codemod_case import run_codemods

ROOT = Path(__file__).resolve().parent.parent
CM = SipidHealthcheck()
HOOK = {"script": "bin/post-start", "source": "post-start.erb"}
LOOP = """\
    for i in $(seq 1 5); do{comment}
      if curl -sf http://127.0.0.1:8080/health; then exit 0; fi
      sleep 1
    done
    exit 1
    """


def test_a_suppressed_rewrite_has_no_finding_that_says_it_was_made() -> None:
    before = LOOP.format(comment="  # exemplar-migrate: ignore[sipid-healthcheck]")
    outcome = run_codemods([CM], before, **HOOK)
    assert outcome.text == textwrap.dedent(before)
    assert [(f.severity, f.message) for f in outcome.findings] == [("info", "rewrite suppressed by comment")]


def test_a_rewrite_the_gate_refuses_has_no_finding_that_says_it_was_made() -> None:
    ctx = JobContext(name="job", templates={"post-start.erb": "bin/post-start"}, options=Options())
    pipeline = Pipeline([CM], ctx.options)
    pipeline.checks = [*pipeline.checks, lambda _ctx, _old, _new: "refused by this test's extra check"]
    template = Template("post-start.erb", Path("/nonexistent/post-start.erb"), "bin/post-start", "script")
    source = textwrap.dedent(LOOP.format(comment="")).encode()
    result = pipeline.migrate_script(ctx, template, source)
    assert result.final.source == source
    messages = [f.message for f in result.result.findings]
    assert not any("replaced by sipid" in m for m in messages), messages
    assert any("the rewrite was not made" in m for m in messages)


def test_a_made_rewrite_keeps_its_review_finding() -> None:
    outcome = run_codemods([CM], LOOP.format(comment=""), **HOOK)
    assert "wait-until-healthy" in outcome.text
    [note] = outcome.messages("review")
    assert "replaced by sipid wait-until-healthy" in note


def test_a_rewrite_whose_spec_change_cannot_be_made_has_no_finding_that_says_it_was_made(tmp_path: Path) -> None:
    """``packages: ~`` is a spec the tool cannot add sipid to: the script stays, and only the
    error says so."""
    job = tmp_path / "release" / "jobs" / "web"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text("---\nname: web\ntemplates:\n  post-start.erb: bin/post-start\npackages: ~\n")
    (job / "monit").write_text("")
    script = "#!/bin/bash\n" + textwrap.dedent(LOOP.format(comment=""))
    (job / "templates" / "post-start.erb").write_text(script)
    proc = subprocess.run([sys.executable, "-m", "migrator", "--dry-run", "--select", "sipid-healthcheck",
                           "--output-format", "json", str(tmp_path / "release")],
                          capture_output=True, text=True, cwd=ROOT)
    messages = [f["message"] for f in json.loads(proc.stdout)["findings"]]
    assert any("its spec change cannot be made" in m for m in messages), messages
    assert not any("replaced by sipid" in m for m in messages), messages
    assert (job / "templates" / "post-start.erb").read_text() == script
