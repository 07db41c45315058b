"""A start that puts its process in the background and records ``$!``, turned into the guide's start.

``cmd & echo $! > F`` at the very end of a control script's ``start`` leaves monit a pidfile to
watch and returns. The exemplar-release start claims the pidfile with the script's own pid and then
``exec``s the process, so the pid in the file is the process's from the first instant and a second
start is refused before anything runs. The two are the same for monit (it never waits for the start
program; it watches the pidfile) only when nothing of the script runs after the pid write: no code
after it, no ``trap`` that would fire when the script exits, no ``wait``. This module finds those
starts; the codemod writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from codemods import _sipid as S
from codemods._log_shapes import shorten
from migrator.document import Document, command_name

#: statements that may follow the end of a start: the script ends there anyway
_ENDINGS = ("exit", "exit 0")
#: what holds the statements a start runs one after another
_BLOCKS = frozenset({"program", "compound_statement", "case_item", "if_statement", "elif_clause", "else_clause"})


@dataclass(frozen=True)
class Background:
    """``X &`` right before a ``$!`` pid write: the statement, the command that becomes the
    process, and the ``&`` token."""

    statement: Node
    command: Node
    amp: Node


def background_before(doc: Document, write: Node) -> Background | None:
    """The backgrounded statement whose pid ``write`` records, when it is the statement just
    before it in the same block and a single command (``( exec X ) &`` counts: one command)."""
    around = S.siblings_of(write)
    if around is None or not around[1]:
        return None
    siblings, index = around
    stmt = siblings[index - 1]
    amp = next((c for c in write.parent.children if c.type == "&" and stmt.end_byte <= c.start_byte < write.start_byte), None)
    if amp is None:
        return None
    command = _single_command(stmt)
    return Background(stmt, command, amp) if command is not None else None


def _single_command(stmt: Node) -> Node | None:
    if stmt.type == "subshell":
        inner = [c for c in stmt.named_children if c.type != "comment"]
        return _single_command(inner[0]) if len(inner) == 1 and inner[0].type != "subshell" else None
    if stmt.type == "redirected_statement":
        body = stmt.child_by_field_name("body")
        return stmt if body is not None and body.type == "command" else None
    return stmt if stmt.type == "command" else None


def blockers(doc: Document) -> str | None:
    """Why no start of this script may become an ``exec``: a ``trap`` (it would no longer run once
    the script is the process) or a ``wait`` (the script waited for a background job)."""
    trap = next(iter(doc.commands("trap")), None)
    if trap is not None:
        args = S.args_of(doc, trap)
        texts = [doc.node_text(a) for a in args]
        line = doc.line_of(trap.start_byte)
        if len(texts) >= 2 and not texts[0].startswith("-"):
            action = texts[0][1:-1] if texts[0][:1] in "'\"" and texts[0][-1:] == texts[0][:1] else texts[0]
            signals = " and ".join(t.upper().removeprefix("SIG") for t in texts[1:])
            return f"its trap on {signals} (line {line}) runs '{shorten(action)}', which an exec would drop"
        return f"it sets a trap (line {line}), which an exec would drop"
    wait = next(iter(doc.commands("wait")), None)
    if wait is not None:
        return f"it waits for background jobs (line {doc.line_of(wait.start_byte)})"
    return None


def in_start_arm(stmt: Node) -> bool | None:
    """Is ``stmt`` inside a ``start)`` case arm (None: in a function, where its callers decide)?"""
    current = stmt.parent
    while current is not None:
        if current.type == "function_definition":
            return None
        if current.type == "case_item" and any(
                v.text is not None and v.text.decode("utf-8", "replace").strip("\"'") == "start"
                for v in current.children_by_field_name("value")):
            return True
        current = current.parent
    return False


def ends_start(doc: Document, stmt: Node, depth: int = 0, ended: bool = False) -> bool:
    """Is ``stmt`` the last thing the ``start`` branch of a control script runs?

    Walks out from ``stmt``: each block it sits in must have nothing after it (an ``exit`` ends
    the script, and from there only the way out matters); a function's body counts only when every
    call of the function ends the start in turn; loops, subshells and lists never count. Somewhere
    on the way out there must be a ``start)`` case arm: a script that is not a control script's
    start may be called by another that waits for it to return.
    """
    current = stmt
    in_start = False
    while current.parent is not None:
        parent = current.parent
        if current.type in ("elif_clause", "else_clause", "case_item"):
            current = parent  # on to the if or case statement itself
            continue
        if parent.type == "function_definition":
            return in_start or depth < 3 and _calls_end_start(doc, parent, depth, ended)
        if not ended:
            if parent.type not in _BLOCKS or not any(s.id == current.id for s in S.block_statements(parent)):
                return False  # a loop, a subshell, a list, a condition: something may run after
            for later in _following(parent, current):
                if doc.masked_text(later).strip() not in _ENDINGS:
                    return False
                ended = True
                break
        if parent.type == "case_item":
            if not ended and _falls_through(parent):
                return False
            in_start = in_start or any(doc.masked_text(v).strip("\"'") == "start"
                                       for v in parent.children_by_field_name("value"))
        current = parent
    return in_start


def _following(block: Node, stmt: Node) -> list[Node]:
    statements = S.block_statements(block)
    index = next(i for i, s in enumerate(statements) if s.id == stmt.id)
    return [s for s in statements[index + 1:] if s.type != "function_definition"]


def _falls_through(item: Node) -> bool:
    return any(c.type in (";&", ";;&") for c in item.children)


def _calls_end_start(doc: Document, function: Node, depth: int, ended: bool) -> bool:
    name = function.child_by_field_name("name")
    calls = list(doc.commands(doc.masked_text(name))) if name is not None else []
    if not calls:
        return False
    for call in calls:
        stmt = call
        while stmt.parent is not None and stmt.parent.type == "redirected_statement":
            stmt = stmt.parent
        if not ends_start(doc, stmt, depth + 1, ended):
            return False
    return True


def exec_text(doc: Document, background: Background) -> str:
    """The backgrounded command as a foreground ``exec`` (as written, ``exec`` put in front
    unless it is there already)."""
    text = doc.node_text(background.command)
    first = background.command.child_by_field_name("body") if background.command.type == "redirected_statement" \
        else background.command
    return text if first is not None and command_name(doc, first) == "exec" else f"exec {text}"
