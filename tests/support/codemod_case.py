"""libcst-style helpers: a codemod test reads as its own before/after example."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path

from migrator.codemod import Codemod, Finding, JobContext, Options
from migrator.discovery import Template
from migrator.engine import Pipeline, ScriptResult


@dataclass
class Outcome:
    text: str
    findings: list[Finding]
    result: ScriptResult

    def messages(self, severity: str | None = None) -> list[str]:
        return [f.message for f in self.findings if severity is None or f.severity == severity]


def run_codemods(codemods: list[Codemod], before: str, *, script: str = "bin/job_ctl",
                 source: str = "job_ctl.erb", job: str = "job", templates: dict[str, str] | None = None,
                 helpers: dict[str, str] | None = None, files: dict[str, str] | None = None,
                 packages: tuple[str, ...] = (), options: Options | None = None,
                 properties: dict[str, object] | None = None,
                 dedent: bool = True) -> Outcome:
    """Run codemods through the engine's pipeline (with its verification) on one script."""
    text = textwrap.dedent(before) if dedent else before
    ctx = JobContext(
        name=job,
        templates={source: script, **(templates or {})},
        packages=packages,
        properties=properties or {},
        helpers=helpers or {},
        files=files or {},
        options=options or Options(),
    )
    template = Template(source, Path("/nonexistent") / source, script, "script")
    pipeline = Pipeline(codemods, ctx.options)
    result = pipeline.migrate_script(ctx, template, text.encode("utf-8"))
    return Outcome(result.final.source.decode("utf-8"), result.result.findings, result)


def assert_codemod(codemod: Codemod, before: str, after: str, **kwargs) -> Outcome:
    outcome = run_codemods([codemod], before, **kwargs)
    expected = textwrap.dedent(after)
    assert outcome.text == expected, f"--- got ---\n{outcome.text}\n--- expected ---\n{expected}\n--- findings ---\n{outcome.findings}"
    return outcome


def assert_unchanged(codemod: Codemod, before: str, **kwargs) -> Outcome:
    outcome = run_codemods([codemod], before, **kwargs)
    assert outcome.text == textwrap.dedent(before), outcome.text
    return outcome
