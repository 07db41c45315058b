"""The quoting of a moved value inside single quotes, made as simple as it can be (``erb-to-config``).

A variable cannot expand inside ``'...'``, so each value's reference closes the quote around it:
``'localhost:<%= port %>'`` became ``'localhost:'"$PORT"''``, an empty ``''`` pair and a quoted
piece glued to a double-quoted one, which a reviewer rewrites by hand. When the literal text of
the string holds nothing double quotes treat specially (``$``, a backtick, ``"``, ``\\``), the whole
string becomes one double-quoted string with the same characters: ``"localhost:$PORT"``. Otherwise
only the empty pairs at its ends go: ``'$HOME:'"$PORT"``.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from migrator.codemod import Edit
from migrator.document import Document

#: the reference a value got inside single quotes: close, the double-quoted expansion, reopen
_SQ_REFERENCE = re.compile(r"""'"([^"'\n]+)"'""")
_DQ_SPECIAL = re.compile(r"""[$`"\\]""")
_PLAIN_NAME = re.compile(r"\$([A-Za-z_]\w*)")


def simplify_single_quotes(doc: Document, edits: list[Edit]) -> list[Edit]:
    """``edits`` with every ``'"$X"'`` reference of a tag inside a one-line ``'...'`` string
    folded into that string: one double-quoted string, or the empty pairs at its ends dropped."""
    groups: dict[tuple[int, int], list[Edit]] = {}
    for e in edits:
        if not _SQ_REFERENCE.fullmatch(e.text) or not any(
                (t.start, t.end) == (e.start, e.end) for t in doc.tags_in(e.start, e.end)):
            continue
        raw = _raw_string(doc, e.start, e.end)
        if raw is not None and b"\n" not in doc.source[raw.start_byte:raw.end_byte]:
            groups.setdefault((raw.start_byte, raw.end_byte), []).append(e)
    if not groups:
        return edits
    replaced: dict[int, list[Edit]] = {}  # id of an old edit -> what takes its place
    for (lo, hi), group in groups.items():
        group.sort(key=lambda e: e.start)
        others = [e for e in edits if e.start < hi and e.end > lo and all(e is not g for g in group)]
        if others:
            continue
        tags = doc.tags_in(lo, hi)
        pieces: list[str] = []
        pos = lo + 1
        for e in group:
            pieces.append(doc.slice(pos, e.start))
            pos = e.end
        pieces.append(doc.slice(pos, hi - 1))
        if len(tags) == len(group) and not any(_DQ_SPECIAL.search(p) for p in pieces):
            out = ['"']
            for piece, e, after in zip(pieces, group, pieces[1:]):
                out += [piece, _expansion(_SQ_REFERENCE.fullmatch(e.text).group(1), after)]
            out += [pieces[-1], '"']
            replaced[id(group[0])] = [Edit(lo, hi, "".join(out), group[0].fix)]
            replaced.update({id(e): [] for e in group[1:]})
            continue
        for e in group:
            start, end, text = e.start, e.end, e.text
            if start == lo + 1:
                start, text = lo, text[1:]
            if end == hi - 1:
                end, text = hi, text[:-1]
            replaced[id(e)] = [Edit(start, end, text, e.fix)]
    return [n for e in edits for n in replaced.get(id(e), [e])]


def _expansion(expansion: str, after: str) -> str:
    """``$X``, or ``${X}`` when the text after it would join the name."""
    m = _PLAIN_NAME.fullmatch(expansion)
    if m is not None and re.match(r"[A-Za-z0-9_]", after):
        return f"${{{m.group(1)}}}"
    return expansion


def _raw_string(doc: Document, start: int, end: int) -> Node | None:
    node = doc.root.descendant_for_byte_range(start, end)
    while node is not None and node.type not in ("raw_string", "command", "program"):
        node = node.parent
    return node if node is not None and node.type == "raw_string" else None
