"""Unified diffs of planned changes, with ``a/``/``b/`` paths relative to the release root."""

from __future__ import annotations

import difflib

from migrator.engine import FileChange


def unified_diff(change: FileChange) -> str:
    before = (change.before or b"").decode("utf-8").splitlines(keepends=True)
    after = (change.after or b"").decode("utf-8").splitlines(keepends=True)
    old = "/dev/null" if change.before is None else f"a/{change.rel}"
    new = "/dev/null" if change.after is None else f"b/{change.rel}"
    lines = []
    for line in difflib.unified_diff(before, after, old, new, n=3):
        if not line.endswith("\n"):
            line += "\n\\ No newline at end of file\n"
        lines.append(line)
    return "".join(lines)


def diffstat(change: FileChange) -> tuple[int, int]:
    added = removed = 0
    for line in unified_diff(change).splitlines()[2:]:
        if line.startswith("+"):
            added += 1
        elif line.startswith("-"):
            removed += 1
    return added, removed
