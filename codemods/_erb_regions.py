"""Runs of whole lines of assignments with ERB, and the ERB blocks around only them
(``erb-to-config``).

Such a run can move verbatim into the env template: it is shell the env file can hold as it is.
Lines are classed as ``A`` (an assignment statement with ERB), ``a`` (one without), ``T`` (only ERB
control or comment tags), ``B`` (blank), ``C`` (a comment) and ``X`` (anything else); a run of
``AaTBC`` lines is split until every ERB block in each piece lies wholly inside it, and a plain
assignment only stays in a piece when an ERB block of that piece wraps it.
"""

from __future__ import annotations

from tree_sitter import Node

from codemods._erb_blocks import Structure, role
from migrator.document import Document

_ASSIGNMENT_TYPES = {"variable_assignment", "variable_assignments"}


def is_assignment(doc: Document, node: Node) -> bool:
    """A plain assignment or ``export``/``readonly`` of assignments, without a heredoc."""
    if node.type in _ASSIGNMENT_TYPES:
        return not any(n.type in ("heredoc_redirect", "heredoc_body") for n in doc.walk(node))
    if node.type == "declaration_command" and node.children and node.children[0].type in ("export", "readonly"):
        return all(c.type in _ASSIGNMENT_TYPES | {"export", "readonly", "variable_name"} for c in node.children)
    return False


def values_only(doc: Document, node: Node, known: set[str]) -> bool:
    """Whether an env file may hold the assignment: it runs nothing (no ``$(...)``, backticks or
    process substitution) and reads only variables that lines moving with it set before it; a
    line that reads the script's own state (``cmd="$cmd --x"``, ``$1``) stays in the script,
    where its ERB can still become a value."""
    for n in doc.walk(node):
        if n.type in ("command_substitution", "process_substitution", "special_variable_name"):
            return False
        if n.type == "variable_name":
            parent = n.parent
            assigning = parent is not None and parent.type == "variable_assignment" and \
                parent.child_by_field_name("name") == n
            if not assigning and doc.masked_text(n) not in known:
                return False  # a read (`x="$x ..."` too), or `export X` of a variable the script set
    return True


def assigned_names(doc: Document, node: Node) -> set[str]:
    out = set()
    for n in doc.walk(node):
        if n.type == "variable_assignment":
            name = n.child_by_field_name("name")
            if name is not None:
                out.add(doc.masked_text(name))
    return out


def assignment_runs(doc: Document, structure: Structure) -> list[tuple[int, int]]:
    """Byte spans [start, end) of the pieces that may move verbatim, in file order."""
    return _Runs(doc, structure).spans()


class _Runs:
    def __init__(self, doc: Document, structure: Structure):
        self.doc = doc
        self.structure = structure
        starts = list(doc._line_starts)
        if starts and starts[-1] == len(doc.source):
            starts.pop()
        self.starts = starts
        self.classes = self._classes()

    def spans(self) -> list[tuple[int, int]]:
        runs: list[list[int]] = []
        current: list[int] = []
        for i, cls in enumerate(self.classes):
            if cls in "AaTBC":
                current.append(i)
            else:
                if current:
                    runs.append(current)
                current = []
        if current:
            runs.append(current)
        return [self._span(piece) for run in runs for piece in self._settle(run)]

    def _line_end(self, i: int) -> int:
        return self.starts[i + 1] if i + 1 < len(self.starts) else len(self.doc.source)

    def _span(self, lines: list[int]) -> tuple[int, int]:
        return self.starts[lines[0]], self._line_end(lines[-1])

    def _classes(self) -> list[str]:
        doc = self.doc
        classes = ["?"] * len(self.starts)

        def mark(start: int, end: int, cls: str) -> None:
            first, last = doc.line_of(start) - 1, doc.line_of(max(start, end - 1)) - 1
            for i in range(first, min(last, len(classes) - 1) + 1):
                classes[i] = cls if classes[i] in ("?", cls) else "X"

        known: set[str] = set()  # variables the lines that may move set, so far in this run
        for child in doc.root.named_children:
            span = doc.full_lines(child.start_byte, child.end_byte)
            if child.type == "comment":
                mark(child.start_byte, child.end_byte, "C" if span else "X")
            elif is_assignment(doc, child) and span and values_only(doc, child, known):
                tagged = bool(doc.tags_in(*span))
                mark(child.start_byte, child.end_byte, "A" if tagged else "a")
                if tagged or self.structure.chain_at(child.start_byte):
                    known |= assigned_names(doc, child)
            else:
                mark(child.start_byte, child.end_byte, "X")
                known = set()
        for i, cls in enumerate(classes):
            if cls == "?":
                end = self._line_end(i)
                if doc.masked[self.starts[i]:end].strip():
                    classes[i] = "X"
                else:
                    classes[i] = "T" if doc.tags_in(self.starts[i], end) else "B"
        return classes

    def _settle(self, run: list[int]) -> list[list[int]]:
        """Split a run of lines until every ERB block in each piece lies wholly inside it."""
        classes = self.classes
        queue, done = [run], []
        while queue:
            lines = queue.pop()
            while lines and classes[lines[0]] in "BC":
                lines = lines[1:]
            while lines and classes[lines[-1]] in "BC":
                lines = lines[:-1]
            if not lines:
                continue
            start, end = self._span(lines)
            bad = [i for i in lines if self._bad_line(i, start, end)]
            if not bad:
                if any(classes[i] in "Aa" for i in lines):
                    done.append(lines)
                continue
            piece: list[int] = []
            for i in lines:
                if i in bad:
                    if piece:
                        queue.append(piece)
                    piece = []
                else:
                    piece.append(i)
            if piece:
                queue.append(piece)
        return sorted(done)

    def _bad_line(self, i: int, start: int, end: int) -> bool:
        """A line that cannot be in the piece [start, end): Ruby statements, ERB blocks reaching
        outside the piece or not conditional, plain assignments no block of the piece wraps."""
        for tag in self.doc.tags_in(self.starts[i], self._line_end(i)):
            r = role(tag)
            if r == "statement":
                return True
            if r in ("open", "middle", "end"):
                group = self.structure.group_of(tag)
                if group is None or not group.conditional or group.start < start or group.stop > end:
                    return True
        if self.classes[i] == "a":
            owned = [g for g, _ in self.structure.chain_at(self.starts[i]) if g.start >= start and g.stop <= end]
            return not owned
        return False
