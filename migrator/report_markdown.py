"""``--output-format markdown``: the pull-request text bulk mode writes, for the release at hand.

A maintainer who migrates one release by hand opens the pull request by hand too; this gives them
the same title, per-codemod summary, findings checklist and "what the release must add" that bulk
mode puts in ``PR.md``, made by the same code (``migrator.bulk.prtext``) from the same run result.
A run over several releases gets one text per release, one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from migrator.bulk import prtext
from migrator.runner import RunResult


def migrations(result: RunResult, codemod_classes: Sequence[type]) -> list[prtext.Migration]:
    """One ``Migration`` per release root of the run, in the order the releases were planned."""
    infos = [prtext.CodemodInfo(c.id, c.summary) for c in codemod_classes]
    roots: list[Path] = list(dict.fromkeys(o.release_root for o in result.outcomes))
    out = []
    for root in roots:
        outcomes = [o for o in result.outcomes if o.release_root == root]
        required = sorted({p for o in outcomes for p in o.required_packages})
        out.append(prtext.Migration(
            repo=root.name,
            codemods=infos,
            changes=[c for o in outcomes for c in o.changes],
            findings=[f for o in outcomes for f in o.findings],
            required_packages=required,
            added_packages=[p for p in result.added_packages if p.release_root == root],
            shipped_packages=sorted(p for p in required if p in result.shipped_packages),
            made_by="",
        ))
    return out


def as_markdown(result: RunResult, codemod_classes: Sequence[type]) -> str:
    texts = [prtext.pr_markdown(m) for m in migrations(result, codemod_classes)]
    return "\n".join(texts)
