"""The parsed form of one script template that codemods read.

A Document is immutable: codemods return edits, the engine applies them and parses a new Document.
Node offsets are byte offsets into both ``source`` (with ERB) and ``masked`` (ERB blanked out).
"""

from __future__ import annotations

import bisect
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Iterator

from tree_sitter import Node, Tree

from migrator import erb, ts_gaps


@lru_cache(maxsize=1)
def bash_parser():
    import tree_sitter_bash as tsb
    from tree_sitter import Language, Parser

    return Parser(Language(tsb.language()))


#: documents by (path, source), most recently used last (see Document.parse)
_PARSED: OrderedDict[tuple[str, bytes], "Document"] = OrderedDict()
_PARSED_MAX = 32  # the documents of a job and its copies next to it; more only adds memory


@dataclass(frozen=True)
class Document:
    """A script template: original bytes, its ERB tags, the masked bash and its syntax tree."""

    path: str  # path relative to the job directory, e.g. ``templates/ctl.erb``
    source: bytes
    tags: tuple[erb.ErbTag, ...]
    erb_error: bool
    masked: bytes
    tree: Tree = field(compare=False)

    @classmethod
    def parse(cls, path: str, source: bytes) -> "Document":
        """The document of ``source``; the same object for the same path and bytes while it is
        among the last ``_PARSED_MAX`` parsed (a Document is immutable, so sharing is safe): the
        engine parses a script's final text again for the second pass, a codemod parses its
        siblings and helpers once per script, and job copies hold the same scripts."""
        key = (path, source)
        doc = _PARSED.get(key)
        if doc is not None:
            _PARSED.move_to_end(key)
            return doc
        tags, erb_error = erb.scan_tags(source)
        masked = erb.mask(source, tags)
        tree = ts_gaps.parse(bash_parser(), masked)  # known tree-sitter gaps bridged (migrator.ts_gaps)
        doc = cls(path, source, tuple(tags), erb_error, masked, tree)
        _PARSED[key] = doc
        if len(_PARSED) > _PARSED_MAX:
            _PARSED.popitem(last=False)
        return doc

    # -- text -----------------------------------------------------------------------------------
    @property
    def root(self) -> Node:
        return self.tree.root_node

    @cached_property
    def text(self) -> str:
        return self.source.decode("utf-8")

    def slice(self, start: int, end: int) -> str:
        """Original text (ERB included) of a byte range."""
        return self.source[start:end].decode("utf-8")

    def node_text(self, node: Node) -> str:
        return self.slice(node.start_byte, node.end_byte)

    def masked_text(self, node: Node) -> str:
        return self.masked[node.start_byte : node.end_byte].decode("utf-8")

    # -- lines ----------------------------------------------------------------------------------
    @cached_property
    def _line_starts(self) -> list[int]:
        starts = [0]
        find = self.source.find
        i = find(b"\n")
        while i != -1:
            starts.append(i + 1)
            i = find(b"\n", i + 1)
        return starts

    def line_of(self, offset: int) -> int:
        """1-based line number of a byte offset."""
        return bisect.bisect_right(self._line_starts, offset)

    def line_start_of(self, line: int) -> int:
        """Offset of the first byte of a 1-based line (clamped to the last line)."""
        return self._line_starts[max(1, min(line, len(self._line_starts))) - 1]

    def line_start(self, offset: int) -> int:
        return self._line_starts[self.line_of(offset) - 1]

    def line_end(self, offset: int) -> int:
        """Offset just past the newline that ends the line holding ``offset`` (or EOF)."""
        nl = self.source.find(b"\n", offset)
        return len(self.source) if nl == -1 else nl + 1

    def full_lines(self, start: int, end: int) -> tuple[int, int] | None:
        """The span of whole lines covering [start, end) if nothing else shares those lines."""
        ls = self.line_start(start)
        le = self.line_end(max(end - 1, start)) if end > start else self.line_end(start)
        if self.masked[ls:start].strip() or self.masked[end:le].strip():
            return None
        return ls, le

    # -- ERB ------------------------------------------------------------------------------------
    def tags_in(self, start: int, end: int) -> list[erb.ErbTag]:
        return [t for t in self.tags if t.start < end and t.end > start]

    # -- tree -----------------------------------------------------------------------------------
    def walk(self, node: Node | None = None) -> Iterator[Node]:
        """All nodes below ``node`` (default: root) in document order, ``node`` first.

        With a tree cursor (tree-sitter moves it in C; no list of children per node)."""
        cursor = (node or self.root).walk()
        depth = 0
        while True:
            yield cursor.node
            if cursor.goto_first_child():
                depth += 1
                continue
            while not cursor.goto_next_sibling():
                if depth == 0 or not cursor.goto_parent():
                    return
                depth -= 1
                if depth == 0:
                    return

    @cached_property
    def _index(self) -> dict[str, list[Node]]:
        """Every node by type, in document order: one tree walk per document, whatever the
        number of queries the codemods make."""
        index: dict[str, list[Node]] = {}
        cursor = self.root.walk()
        while True:
            node = cursor.node
            index.setdefault(node.type, []).append(node)
            if cursor.goto_first_child() or cursor.goto_next_sibling():
                continue
            while cursor.goto_parent():
                if cursor.goto_next_sibling():
                    break
            else:
                return index

    def find(self, *types: str, within: Node | None = None) -> Iterator[Node]:
        """Nodes of the given types in document order, optionally only inside ``within``."""
        if len(types) == 1:
            nodes = self._index.get(types[0], [])
        else:
            nodes = sorted((n for t in types for n in self._index.get(t, [])), key=lambda n: (n.start_byte, -n.end_byte))
        if within is None:
            return iter(nodes)
        lo, hi = within.start_byte, within.end_byte
        return (n for n in nodes if lo <= n.start_byte and n.end_byte <= hi)

    def commands(self, name: str | None = None, within: Node | None = None) -> Iterator[Node]:
        """``command`` nodes, optionally only those whose command name is ``name``."""
        if name is None:
            return self.find("command", within=within)
        nodes = self._commands_by_name.get(name, [])
        if within is None:
            return iter(nodes)
        lo, hi = within.start_byte, within.end_byte
        return (n for n in nodes if lo <= n.start_byte and n.end_byte <= hi)

    @cached_property
    def _commands_by_name(self) -> dict[str, list[Node]]:
        """``command`` nodes by command name, in document order (codemods ask for one name at a
        time, many times per script)."""
        by_name: dict[str, list[Node]] = {}
        for node in self.find("command"):
            name = command_name(self, node)
            if name is not None:
                by_name.setdefault(name, []).append(node)
        return by_name

    @cached_property
    def error_count(self) -> int:
        """How many ERROR or MISSING nodes the bash parse has (0 for a clean parse)."""
        if not self.root.has_error:
            return 0
        return sum(1 for n in self.walk() if n.is_error or n.is_missing)

    def first_error_line(self) -> int | None:
        for n in self.walk():
            if n.is_error or n.is_missing:
                return self.line_of(n.start_byte)
        return None


def command_name(doc: Document, command: Node) -> str | None:
    name = command.child_by_field_name("name")
    return doc.masked_text(name) if name is not None else None


def enclosing(node: Node, *types: str) -> Node | None:
    current = node.parent
    while current is not None:
        if current.type in types:
            return current
        current = current.parent
    return None
