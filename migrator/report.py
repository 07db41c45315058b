"""Rendering a run for people (text) and for machines (JSON)."""

from __future__ import annotations

import json
from typing import Any, Collection

from migrator import __version__
from migrator.codemod import Finding
from migrator.diffing import diffstat, unified_diff
from migrator.release_packages import AddedPackage
from migrator.runner import ApplyResult, RunResult, job_label


def format_finding(f: Finding) -> str:
    where = f"{f.path}:{f.line}" if f.line else f.path
    text = f"{where}: [{f.codemod}] {f.severity}: {f.message}"
    if f.suggestion:
        text += f"\n    suggestion: {f.suggestion}"
    return text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def summary_line(result: RunResult, applied: bool, not_written: Collection[str] = ()) -> str:
    """``not_written``: jobs whose changes were not applied (a failed write, an interrupt)."""
    n = len([c for o in result.outcomes if job_label(o) not in not_written for c in o.changes])
    verb = "changed" if applied else "would be changed"
    parts = [f"{_plural(n, 'file')} {verb}" if n else "nothing to change"]
    review = sum(1 for f in result.findings if f.severity == "review")
    errors = sum(1 for f in result.findings if f.severity == "error")
    if review:
        parts.append(f"{_plural(review, 'finding')} need{'s' if review == 1 else ''} review")
    if errors:
        parts.append(f"{_plural(errors, 'file')} could not be processed" if errors else "")
    text = ", ".join(parts) + "."
    added = [p for p in result.added_packages if f"packages/{p.name}" not in not_written]
    for package in added:
        text += f" {'Added' if applied else 'Would add'} {package.describe()}."
    if result.unshipped_packages:
        text += " The release must ship package(s): " + ", ".join(result.unshipped_packages) + "."
    if not_written:
        text += f" {_plural(len(not_written), 'job')} not written (listed below)."
    text += " verified: " + ", ".join(verified(result))
    # a check that could not run is said once per run, before the summary, with how to get it
    notes = [f"note: the {check} check was skipped: {why}" for check, why in skipped_checks(result).items()]
    return "\n".join([*notes, text, *package_steps(added)])


def package_steps(added: Collection[AddedPackage]) -> list[str]:
    """What the maintainer runs once for each package the run adds (the tool cannot fetch)."""
    lines: list[str] = []
    for package in added:
        if package.note:
            lines.append(f"note: packages/{package.name} uses {package.go_package}: {package.note}")
        if package.commands:
            lines.append(f"packages/{package.name} needs, once, in {package.release_root} "
                         "(before bosh create-release):")
            lines += [f"    {command}" for command in package.commands]
    return lines


def skipped_checks(result: RunResult) -> dict[str, str]:
    """Checks that did not run in some job, with the first reason given."""
    skipped: dict[str, str] = {}
    for outcome in result.outcomes:
        for check, why in outcome.skipped_checks.items():
            skipped.setdefault(check, why)
    return skipped


def verified(result: RunResult) -> list[str]:
    """What every rewrite of the run was proven against, in the order of ``VERIFIED``."""
    from migrator.checks import VERIFIED

    skipped = skipped_checks(result)
    return [check for check in VERIFIED if check not in skipped]


def diffs(result: RunResult) -> str:
    return "".join(unified_diff(c) for c in result.changes)


def _requirement(result: RunResult, name: str) -> dict[str, Any]:
    """A package the jobs now need: already in the release, added by this run, or still missing."""
    for package in result.added_packages:
        if package.name == name:
            return {"package": name, "status": "added", "reason": f"jobs now use {name}; this run adds "
                    f"{package.describe()}", "files": list(package.files), "go_package": package.go_package,
                    "commands": list(package.commands), "note": package.note}
    if name in result.shipped_packages:
        return {"package": name, "status": "shipped", "reason": f"jobs now use {name}; the release has it"}
    return {"package": name, "status": "missing",
            "reason": f"jobs now use {name}; the release must ship a '{name}' package"}


def as_json(result: RunResult, mode: str, applied: ApplyResult | None = None) -> str:
    """``applied``: what apply wrote, when the report is made after it (``jobs`` in the payload)."""
    payload: dict[str, Any] = {
        "tool": "exemplar-migrate",
        "version": __version__,
        "mode": mode,
        "files": [
            {
                "path": c.rel,
                "action": "create" if c.before is None else "delete" if c.after is None else "modify",
                "codemods": c.codemods,
                "added": diffstat(c)[0],
                "removed": diffstat(c)[1],
                "diff": unified_diff(c),
            }
            for c in result.changes
        ],
        "findings": [
            {
                "path": f.path,
                "line": f.line,
                "codemod": f.codemod,
                "severity": f.severity,
                "message": f.message,
                "suggestion": f.suggestion,
            }
            for f in result.findings
        ],
        "release_requirements": [_requirement(result, p) for p in result.required_packages],
        "summary": {
            "files_changed": len(result.changes),
            "findings_review": sum(1 for f in result.findings if f.severity == "review"),
            "findings_error": sum(1 for f in result.findings if f.severity == "error"),
            "findings_info": sum(1 for f in result.findings if f.severity == "info"),
            "internal_errors": result.internal_errors,
            "verified": verified(result),
            "skipped_checks": [{"check": c, "reason": why} for c, why in skipped_checks(result).items()],
        },
    }
    if applied is not None:
        payload["jobs"] = {
            "written": applied.written,
            "not_written": [{"job": j, "reason": applied.failed.get(j, "stopped by a signal before it was written")}
                            for j in applied.not_written],
            "interrupted_by": applied.signal_name,
        }
    return json.dumps(payload, indent=2) + "\n"
