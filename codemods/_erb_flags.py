r"""Flags wrapped in ERB conditionals inside one command (``erb-to-config``).

``cmd <% if p("tls") %>--tls --cert <%= p("cert") %><% end %> \`` and the same with ``-%>`` tags on
their own lines of a backslash-continued command: each branch is a handful of words, which the env
template can hold as a bash array, and the command then expands the array in the group's place.
Only plain words qualify: no ``$`` expansion, command substitution, operator or comment, since the
words are now read when the env file is sourced rather than when the command runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from tree_sitter import Node

from codemods import _erb_ruby as ruby
from codemods._erb_blocks import Group
from codemods._erb_context import Place, command_around, place_of
from codemods._erb_lines import alone_on_its_lines, tag_lines
from migrator.document import Document, bash_parser
from migrator.erb import ErbTag

_ARRAY_ITEM_TYPES = {"word", "string", "string_content", "raw_string", "concatenation", "number", '"', "(", ")",
                     "array", "variable_assignment", "variable_name", "=", "program"}


@dataclass(frozen=True)
class FlagShape:
    """A flag group that can become an array: each branch's words, and the bytes it replaces."""

    texts: list[str]
    start: int
    stop: int
    form: Literal["same", "own"]
    node: Node | None  # a node of the command, to find the statement it belongs to


def flag_shape(doc: Document, original_masked: bytes, group: Group,
               properties: Mapping[str, object]) -> FlagShape | None:
    """The group as flags of one command, or None. ``original_masked`` is the plain masking
    (``doc`` may see through ``-%>`` tag lines of continued commands)."""
    return _same_line(doc, group, properties) or _own_line(doc, original_masked, group, properties)


def inner_tags(doc: Document, group: Group) -> list[ErbTag]:
    """The tags inside a group that are not its own (output tags, nested blocks)."""
    own = {t.start for t in group.tags}
    return [t for t in doc.tags_in(group.start, group.stop) if t.start not in own]


def _same_line(doc: Document, group: Group, properties: Mapping[str, object]) -> FlagShape | None:
    """``cmd <% if c %>--a x<% end %> ...``: the group's whole span is arguments of one command."""
    start, stop = group.start, group.stop
    masked = doc.masked
    if start == 0 or masked[start - 1] not in b" \t" or (stop < len(masked) and masked[stop] not in b" \t\n\\"):
        return None
    inner = masked[start:stop]
    if not inner.strip():
        return None
    # the words themselves: a line continuation at either end belongs to no word (before a
    # redirection it lies past the end of the command node)
    lo = start + len(inner) - len(inner.lstrip(b" \t\n\\"))
    hi = stop - (len(inner) - len(inner.rstrip(b" \t\n\\")))
    node = command_around(doc, start, stop, probe=(lo, hi))
    if node is None:
        return None
    texts = _branch_texts(doc, group, True, properties)
    if texts is None:
        return None
    return FlagShape(texts, start, stop, "same", node)


def _own_line(doc: Document, original_masked: bytes, group: Group,
              properties: Mapping[str, object]) -> FlagShape | None:
    """``-%>`` tags alone on lines of a backslash-continued command, flags on the lines between."""
    for tag in group.tags:
        if not tag.trims_newline or not alone_on_its_lines(doc, tag, original_masked):
            return None
    first_line = doc.line_start(group.start)
    if first_line == 0:
        return None
    prev_start = doc.line_start(first_line - 1)
    if not doc.masked[prev_start:first_line].rstrip().endswith(b"\\"):
        return None
    last_end = tag_lines(doc, group.end)[1]  # type: ignore[arg-type]
    following = doc.source[last_end:doc.line_end(last_end)] if last_end < len(doc.source) else b""
    if not following.strip():
        return None
    texts = _branch_texts(doc, group, False, properties)
    if texts is None:
        return None
    first_word = prev_start + len(doc.masked[prev_start:first_line]) - len(doc.masked[prev_start:first_line].lstrip())
    node = doc.root.descendant_for_byte_range(first_word, first_word + 1)
    return FlagShape(texts, first_line, last_end, "own", node)


def _branch_texts(doc: Document, group: Group, continuation: bool,
                  properties: Mapping[str, object]) -> list[str] | None:
    """Each branch's words as env-template text for an array, or None when not plain words."""
    bounds = list(zip([group.opener, *group.middles], [*group.middles, group.end]))
    inner = inner_tags(doc, group)
    if any(t.kind == "control" for t in inner):
        return None
    out = []
    for before, after in bounds:
        lo, hi = before.end, after.start  # type: ignore[union-attr]
        if not continuation:
            lo, hi = doc.line_end(before.end - 1), doc.line_start(after.start)  # type: ignore[union-attr]
            lines = doc.masked[lo:hi].decode().splitlines()
            if any(l.strip() and not l.rstrip().endswith("\\") for l in lines):
                return None
        masked = re.sub(r"\\\n", "  ", doc.masked[lo:hi].decode())
        masked = re.sub(r"\\\s*$", " ", masked.rstrip()) if not continuation else masked
        if "$" in masked or "`" in masked or "\n" in masked.strip():
            return None
        if not _plain_words(masked):
            return None
        text = _env_words(doc, lo, hi, [t for t in inner if lo <= t.start < hi], properties)
        if text is None:
            return None
        out.append(" ".join(text.split()) if not any(q in text for q in "\"'") else text.strip())
    return out


def _env_words(doc: Document, lo: int, hi: int, tags: list[ErbTag], properties: Mapping[str, object]) -> str | None:
    """Source text of [lo, hi) with continuations removed and output tags made shell-safe."""
    parts, pos = [], lo
    for tag in tags:
        place = place_of(doc, tag)
        if not isinstance(place, Place) or tag.trims_newline:
            return None
        split = place.splits and ruby.splits_into_words(tag.code, properties)
        value = "<%= " + ruby.escaped(tag.code, split) + " %>"
        quote = {"dq": '"', "sq": "'", "bare": ""}[place.quote]
        before, after = tag.start, tag.end
        if quote and doc.source[before - 1:before] == quote.encode() and doc.source[after:after + 1] == quote.encode():
            before, after, quote = before - 1, after + 1, ""  # the tag fills the quotes: drop them
        parts.append(doc.slice(pos, before))
        parts.append(f"{quote}{value}{quote}")
        pos = after
    parts.append(doc.slice(pos, hi))
    text = "".join(parts)
    text = re.sub(r"[ \t]*\\\n[ \t]*", " ", text)
    return re.sub(r"\\\s*$", "", text.rstrip()).strip()


def _plain_words(masked: str) -> bool:
    """Whether text parses as plain words (no expansions, operators or comments) in an array."""
    if not masked.strip():
        return True
    tree = bash_parser().parse(f"X=({masked})\n".encode())
    if tree.root_node.has_error:
        return False
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type not in _ARRAY_ITEM_TYPES:
            return False
        stack.extend(node.children)
    return len(tree.root_node.named_children) == 1
