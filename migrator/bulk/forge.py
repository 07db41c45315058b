"""Opening or updating pull requests through the ``gh`` command line.

``gh`` is used when it is installed (it already knows the user's GitHub host and token); bulk mode
never talks to an API itself. An open PR for the branch is edited rather than opened again, so
re-runs never create duplicates, and only when the text the tool generates changed, keeping the
reviewers' ticked checkboxes (``migrator.bulk.prsync``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from migrator.bulk import prsync


class ForgeError(RuntimeError):
    """gh failed; the message is one line for the report."""


@dataclass(frozen=True)
class PullRequest:
    url: str
    action: str  # "opened" | "updated" | "unchanged"


def find_gh() -> str | None:
    return shutil.which("gh")


def _gh(gh: str, args: list[str], cwd: Path) -> str:
    try:
        proc = subprocess.run([gh, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ForgeError(f"gh {args[0]} {args[1]}: {exc}") from exc
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split())[:300] or f"exit {proc.returncode}"
        raise ForgeError(f"gh {args[0]} {args[1]} failed: {detail}")
    return proc.stdout


def open_or_update(gh: str, cwd: Path, branch: str, base: str, title: str, body_file: Path) -> PullRequest:
    """Edit the open PR whose head is ``branch`` (when its generated text changed), or open one.

    ``body_file`` holds the generated text; what is posted (with the stamp, and the reviewers'
    ticks on an edit) is written beside it."""
    listed = _gh(gh, ["pr", "list", "--head", branch, "--state", "open", "--json", "number,url,body"], cwd)
    try:
        prs = json.loads(listed or "[]")
    except json.JSONDecodeError as exc:
        raise ForgeError(f"gh pr list: unexpected output: {listed[:200]!r}") from exc
    generated = body_file.read_text(encoding="utf-8")
    posted = body_file.with_name(body_file.stem + ".posted.md")
    if prs:
        number, url = str(prs[0]["number"]), str(prs[0].get("url", ""))
        current = str(prs[0].get("body") or "")
        if prsync.unchanged(title, generated, current):
            return PullRequest(url or f"#{number}", "unchanged")
        posted.write_text(prsync.stamped(title, generated, prsync.keep_ticks(generated, current)), encoding="utf-8")
        _gh(gh, ["pr", "edit", number, "--title", title, "--body-file", str(posted)], cwd)
        return PullRequest(url or f"#{number}", "updated")
    posted.write_text(prsync.stamped(title, generated), encoding="utf-8")
    out = _gh(gh, ["pr", "create", "--head", branch, "--base", base, "--title", title,
                   "--body-file", str(posted)], cwd)
    urls = [w for w in out.split() if w.startswith(("http://", "https://"))]
    return PullRequest(urls[-1] if urls else out.strip().splitlines()[-1] if out.strip() else "", "opened")
