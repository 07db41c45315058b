"""ERB conditionals around whole script lines, turned into bash ``if`` (``erb-to-config``).

``<% if p("x") %> ... <% end %>`` around complete shell statements decides at render time which
statements the script has. The same decision can be rendered into the env file as a variable and
taken by bash at run time, with the statements unchanged. That is only the same script when every
branch holds complete statements of one statement list (a ``case`` arm's body, a function body,
the top level) and no branch is empty (``if ...; then fi`` is not bash).
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from codemods._erb_blocks import Group
from codemods._erb_lines import alone_on_its_lines, tag_lines
from migrator.document import Document

#: nodes whose named children are a list of statements
_LISTS = {"program", "compound_statement", "do_group", "case_item", "else_clause", "if_statement", "elif_clause",
          "subshell"}


@dataclass(frozen=True)
class Branches:
    """Where the group's tag lines are, and the indentation its ``if``/``fi`` lines take."""

    tag_lines: list[tuple[int, int]]  # [start, end) of each tag's line, in order
    indent: str
    container: Node


def statement_branches(doc: Document, group: Group) -> Branches | None:
    if group.end is None:
        return None
    lines = []
    for tag in group.tags:
        if not alone_on_its_lines(doc, tag):
            return None
        lines.append(tag_lines(doc, tag))
    ranges = [(lines[i][1], lines[i + 1][0]) for i in range(len(lines) - 1)]
    if any(not doc.masked[lo:hi].strip() for lo, hi in ranges):
        return None
    container = _container(doc, lines[0][0], lines[-1][1])
    if container is None or not _after_header(doc, container, lines[0][0]):
        return None
    for child in container.named_children:
        if child.end_byte <= lines[0][0] or child.start_byte >= lines[-1][1]:
            continue
        if child.type in ("elif_clause", "else_clause"):
            return None
        if not any(lo <= child.start_byte and child.end_byte <= hi for lo, hi in ranges):
            return None
    for lo, hi in ranges:
        covered = bytearray(doc.masked[lo:hi])
        for child in container.named_children:
            s, e = max(child.start_byte, lo), min(child.end_byte, hi)
            if s < e:
                covered[s - lo:e - lo] = b" " * (e - s)
        if bytes(covered).strip(b" \t\n;&"):  # a statement's own `&` or `;` is no node of its own
            return None
    first = doc.masked[ranges[0][0]:ranges[0][1]].decode("utf-8", "replace")
    first_line = next(line for line in first.splitlines() if line.strip())
    return Branches(lines, first_line[: len(first_line) - len(first_line.lstrip())], container)


def _container(doc: Document, start: int, end: int) -> Node | None:
    node = doc.root.descendant_for_byte_range(start, max(start, end - 1))
    while node is not None:
        if node.type in _LISTS and node.start_byte <= start and end <= node.end_byte + 1:
            return node
        node = node.parent
    return None


def _after_header(doc: Document, container: Node, start: int) -> bool:
    """The group lies in the statement part of its list: after ``)`` of a case arm, ``then``."""
    marker = {"case_item": ")", "if_statement": "then", "elif_clause": "then", "else_clause": "else",
              "compound_statement": "{", "do_group": "do", "subshell": "("}.get(container.type)
    if marker is None:
        return True
    token = next((c for c in container.children if c.type == marker), None)
    return token is not None and token.end_byte <= start
