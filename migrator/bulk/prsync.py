"""Updating an open pull request's text without undoing the reviewers' work on it.

Reviewers tick the *Needs a human* checkboxes and sometimes edit the text. A re-run must not
reset that for nothing, so the body bulk mode posts ends with a hidden stamp: a digest of the title
and the text the tool generated. A re-run whose generated text has the same digest leaves the PR
alone. When the generated text did change (new findings, a moved base), the PR gets the new text,
and every checkbox item that is still there keeps the state the reviewers gave it.
"""

from __future__ import annotations

import hashlib
import re

_STAMP = re.compile(r"<!-- exemplar-migrate: generated ([0-9a-f]{16,64}) -->")
_CHECKBOX = re.compile(r"^(?P<lead>\s*[-*+] )\[(?P<mark>[ xX])\] (?P<item>.*)$")
_LINE_IN_CODE_SPAN = re.compile(r"^`([^`]*?):\d+`")


def digest(title: str, body: str) -> str:
    return hashlib.sha256(f"{title}\0{body}".encode()).hexdigest()[:32]


def stamped(title: str, generated: str, body: str | None = None) -> str:
    """``body`` (the generated text, or it with the reviewers' ticks) with the stamp of ``generated``."""
    text = generated if body is None else body
    return text.rstrip("\n") + f"\n\n<!-- exemplar-migrate: generated {digest(title, generated)} -->\n"


def stamp_of(body: str) -> str | None:
    found = _STAMP.findall(body or "")
    return found[-1] if found else None


def unchanged(title: str, generated: str, current_body: str) -> bool:
    """Is ``current_body`` the PR text this tool posted for exactly this title and generated text?"""
    return stamp_of(current_body) == digest(title, generated)


def _loose(item: str) -> str:
    """An item without its line number (``file:12`` -> ``file``): lines move when the base does."""
    return _LINE_IN_CODE_SPAN.sub(r"`\1`", item)


def ticked_items(body: str) -> tuple[set[str], set[str]]:
    """The checked items of a PR body, as written and without line numbers."""
    items = [m["item"].strip() for m in map(_CHECKBOX.match, (body or "").replace("\r\n", "\n").splitlines())
             if m and m["mark"] in "xX"]
    return set(items), {_loose(i) for i in items}


def keep_ticks(generated: str, current_body: str) -> str:
    """``generated`` with each checkbox ticked that the reviewers ticked in ``current_body``.

    An item matches when its text is the same, or (for an item that is unique in both texts) when it
    is the same apart from the line number of its place, since lines move as the base moves."""
    exact, loose = ticked_items(current_body)
    new_items = [m["item"].strip() for m in map(_CHECKBOX.match, generated.splitlines()) if m]
    unique_new = {k for k in (_loose(i) for i in new_items) if [_loose(i) for i in new_items].count(k) == 1}
    old_items = [m["item"].strip() for m in map(_CHECKBOX.match, (current_body or "").replace("\r\n", "\n")
                                                 .splitlines()) if m]
    unique_old = {k for k in (_loose(i) for i in old_items) if [_loose(i) for i in old_items].count(k) == 1}
    out = []
    for line in generated.splitlines(keepends=True):
        m = _CHECKBOX.match(line.rstrip("\n"))
        if m and m["mark"] == " ":
            item = m["item"].strip()
            key = _loose(item)
            if item in exact or (key in loose and key in unique_new and key in unique_old):
                line = f"{m['lead']}[x] {m['item']}" + ("\n" if line.endswith("\n") else "")
        out.append(line)
    return "".join(out)
