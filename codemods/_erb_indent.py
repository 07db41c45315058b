"""Indentation of the bash ``if`` that ``erb-to-config`` makes from an ERB conditional.

ERB tags usually sit at column 0 (``<% if p("x") -%>``) while the statements they wrap carry the
indentation of the code around them; a bash ``if`` written with the body's indentation and a body
left where it was reads as if the ``if`` were not there. So the ``if``/``elif``/``else``/``fi``
lines take the surrounding indentation (the tag's own, when the author indented the tag less than
the body) and the body moves one level in, unless it is already deeper than the ``if``. Lines
whose leading whitespace is part of a value are never touched: heredoc bodies, multi-line strings,
and the continuation of a word split by a backslash-newline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from migrator.document import Document

_TEXT_NODES = {"string", "raw_string", "ansi_c_string", "translated_string"}
_HEREDOC_NODES = {"heredoc_body", "heredoc_end", "heredoc_content"}


@dataclass(frozen=True)
class Layout:
    """Where a converted conditional's lines go: the ``if`` line's indentation, whether its body
    needs one more level, and what one level is in this script."""

    indent: str
    indents_body: bool
    unit: str


def _leading(line: bytes) -> str:
    return line[: len(line) - len(line.lstrip(b" \t"))].decode("utf-8", "replace")


def layout(doc: Document, tag_lines: list[tuple[int, int]]) -> Layout:
    """The layout of a conditional whose tags fill ``tag_lines`` (each [start, end) of a line)."""
    opener_indent = _leading(doc.source[tag_lines[0][0]:tag_lines[0][1]])
    fixed = fixed_lines(doc)
    body: list[str] = []
    for (_, lo), (hi, _) in zip(tag_lines, tag_lines[1:]):
        for ls, le in _lines(doc, lo, hi):
            if doc.masked[ls:le].strip() and ls not in fixed:
                body.append(_leading(doc.masked[ls:le]))
    body_indent = min(body, key=len) if body else opener_indent
    unit = "\t" if body_indent.startswith("\t") or opener_indent.startswith("\t") else "  "
    if opener_indent and len(opener_indent) < len(body_indent):
        return Layout(opener_indent, False, unit)
    if not opener_indent:
        # column-0 tags say nothing: the code before and after the conditional gives its level
        # (a body indented deeper than that stays where its author put it)
        around = _level_around(doc, tag_lines, fixed)
        if around is not None and len(around) < len(body_indent):
            return Layout(around, False, unit)
    return Layout(body_indent, True, unit)


#: a line that opens a block (its next line is one level deeper) or closes one (one level less)
_OPENS = re.compile(rb"(?:\{|\bthen|\bdo|\belse|\bin|\(|^[^()]*\)|;;|\\)$")
_CLOSES = re.compile(rb"^(?:\}|fi\b|done\b|esac\b|;;|else\b|elif\b|\))")


def _level_around(doc: Document, tag_lines: list[tuple[int, int]], fixed: set[int]) -> str | None:
    """The indentation of the statements right before and after the conditional, when both are
    statements at one level (neither opens nor closes a block); None when that is unknown."""
    levels: list[str] = []
    pos = tag_lines[0][0]
    while pos > 0:
        ls = doc.line_start(pos - 1)
        line = doc.masked[ls:pos].rstrip()
        pos = ls
        if line.strip() and ls not in fixed:
            if _OPENS.search(line.strip()):
                return None
            levels.append(_leading(line))
            break
    pos = tag_lines[-1][1]
    while pos < len(doc.masked):
        le = max(doc.line_end(pos), pos + 1)
        line = doc.masked[pos:le].rstrip()
        ls, pos = pos, le
        if line.strip() and ls not in fixed:
            if _CLOSES.search(line.strip()):
                return None
            levels.append(_leading(line))
            break
    if not levels or len(set(levels)) != 1:
        return None
    return levels[0]


def _lines(doc: Document, start: int, end: int) -> list[tuple[int, int]]:
    out, pos = [], start
    while pos < end:
        le = doc.line_end(pos)
        out.append((pos, le))
        if le <= pos:
            break
        pos = le
    return out


def _in_heredoc(node: Node) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.type in _HEREDOC_NODES:
            return True
        parent = parent.parent
    return False


def fixed_lines(doc: Document) -> set[int]:
    """Starts of lines whose leading whitespace belongs to a value (see the module docstring)."""
    out: set[int] = set()
    # the heredoc and text nodes that are not inside a heredoc node (from the document's index)
    for node in doc.find(*_HEREDOC_NODES, *_TEXT_NODES):
        if _in_heredoc(node):
            continue
        if node.type in _HEREDOC_NODES:  # every line, the terminator's too
            out |= {ls for ls, _ in _lines(doc, doc.line_start(node.start_byte), max(node.end_byte, node.start_byte + 1))}
        elif node.start_point[0] != node.end_point[0]:
            out |= {ls for ls, _ in _lines(doc, doc.line_end(node.start_byte), node.end_byte)}
    for tag in doc.tags:  # the inner lines of a tag that spans several lines
        if b"\n" in doc.source[tag.start:tag.end]:
            for ls, _ in _lines(doc, doc.line_end(tag.start), tag.end):
                out.add(ls)
    src = doc.source
    pos = 0
    while True:
        i = src.find(b"\\\n", pos)
        if i < 0:
            break
        if i > 0 and src[i - 1:i] not in (b" ", b"\t"):
            out.add(i + 2)  # a word goes on after the backslash-newline: spaces would split it
        pos = i + 2
    return out
