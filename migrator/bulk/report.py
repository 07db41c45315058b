"""The end of a bulk run: a table for people, JSON for machines, and the last report on disk.

The last report (``last-report.json`` in the work directory) is what ``--failed`` and ``--only``
read to re-run a subset; entries of repos not re-run are carried over so that a second ``--failed``
still sees the repos that remain broken.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from migrator import __version__
from migrator.bulk.runner import FAILED, RepoResult

LAST_REPORT = "last-report.json"


def _findings(r: RepoResult) -> str:
    parts = []
    if r.findings_review:
        parts.append(f"{r.findings_review} review")
    if r.findings_error:
        parts.append(f"{r.findings_error} error")
    return ", ".join(parts) or "-"


def table(results: Sequence[RepoResult]) -> str:
    """Fixed-width table: repo, state, files changed, findings, PR; reasons listed underneath."""
    header = ("REPO", "STATE", "FILES", "FINDINGS", "PR")
    rows = [(r.name, r.state, str(len(r.files)) if r.files else "-", _findings(r), r.pr or "-") for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    notes = []
    for r in results:
        for text in ([r.reason] if r.reason else []) + r.attention:
            notes.append(f"{r.name}: {text}")
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def summary(results: Sequence[RepoResult]) -> str:
    counts: dict[str, int] = {}
    for r in results:
        counts[r.state] = counts.get(r.state, 0) + 1
    attention = sum(1 for r in results if r.needs_attention)
    text = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    return f"{len(results)} repo(s): {text}; {attention} need{'s' if attention == 1 else ''} attention."


def as_dict(results: Sequence[RepoResult], settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "tool": "exemplar-migrate",
        "version": __version__,
        "mode": "bulk",
        "settings": settings,
        "repos": [r.to_json() for r in results],
        "summary": {
            "repos": len(results),
            "needs_attention": sum(1 for r in results if r.needs_attention),
            "failed": sum(1 for r in results if r.state == FAILED),
        },
    }


def as_json(results: Sequence[RepoResult], settings: dict[str, Any]) -> str:
    return json.dumps(as_dict(results, settings), indent=2) + "\n"


def load_last(workdir: Path) -> list[dict[str, Any]] | None:
    """Repo entries of the last report, or None when there is none (or it cannot be read)."""
    path = workdir / LAST_REPORT
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    repos = data.get("repos") if isinstance(data, dict) else None
    return [r for r in repos if isinstance(r, dict) and "name" in r and "source" in r] if isinstance(repos, list) else None


def save_last(workdir: Path, results: Sequence[RepoResult], settings: dict[str, Any],
              previous: list[dict[str, Any]] | None) -> Path:
    """Write the report, keeping earlier entries of repos this run did not touch."""
    fresh = {r.name: r.to_json() for r in results}
    merged = [fresh.pop(e["name"], e) for e in (previous or [])]
    merged += list(fresh.values())
    payload = as_dict([], settings)
    payload["repos"] = merged
    payload["summary"] = {"repos": len(merged),
                          "needs_attention": sum(1 for e in merged if e.get("needs_attention")),
                          "failed": sum(1 for e in merged if e.get("state") == FAILED)}
    path = workdir / LAST_REPORT
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def wants_rerun(entry: dict[str, Any]) -> bool:
    """``--failed``: a repo that failed, or succeeded with something left to do (e.g. a PR not opened)."""
    return entry.get("state") == FAILED or bool(entry.get("attention"))
