"""Assignments a sipid rewrite leaves dead: the grace, the kill flag, the pid variable.

``timeout=10; kill_and_wait $PIDFILE $timeout``, ``local pid`` before a stop loop, ``PIDNUM=$$;
echo $PIDNUM > $PIDFILE``: once the call or loop that read the variable is gone, its assignment is
noise a reviewer has to puzzle over. It goes only when nothing reads the name any more: not the
script (any mention of the word counts, as a command, in a string, in arithmetic), not a helper it
still sources, and, for an exported name, not the job's other scripts and not a program the script
starts after it (a process inherits its environment; that is a read the tool cannot see).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tree_sitter import Node

from codemods import _sipid as S
from migrator import helpers
from migrator.document import Document, command_name

#: commands that start no program: a name exported before them reaches nobody through them
_SHELL_ONLY = frozenset({"mkdir", "chown", "chmod", "echo", "printf", "export", "local", "declare", "true", ":",
                         "cd", "rm", "exit", "return", "set", "shopt", "ulimit", "umask", "[", "[[", "test",
                         "sleep", "break", "continue", "shift", "unset", "readonly"})
#: the values a stop or start of the legacy shapes set its own variables to: a number (a grace, a
#: kill flag, a counter), a pid (``$$``, ``$!``) or a pid read from the pidfile
_NUMBER = re.compile(r"""["']?-?\d+["']?""")


def read_in(doc: Document, spans: Iterable[tuple[int, int]]) -> set[str]:
    """Names the text in ``spans`` reads (``$X``, ``${X}``, ``${X:-..}``)."""
    names = set()
    for start, end in spans:
        for node in doc.find("variable_name"):
            if start <= node.start_byte and node.end_byte <= end and _is_read(node):
                names.add(doc.masked_text(node))
    return names


def _is_read(node: Node) -> bool:
    parent = node.parent
    return not (parent is not None and parent.type == "variable_assignment"
                and parent.child_by_field_name("name") == node)


def dead_statements(new: Document, names: set[str], sipid: str, others: Mapping[str, str],
                    helper_texts: list[str | None]) -> list[tuple[Node, str]]:
    """The statements of ``new`` (the script as the rewrite leaves it) that only assign one of
    ``names`` that nothing reads any more, each with the name.

    ``others``: the text of the job's other templates (they read exported names); ``helper_texts``:
    what each helper the script still sources holds (None when unknown: then nothing goes).
    """
    if not names or any(t is None for t in helper_texts) or re.search(rb"\beval\b|\bset\s+-a\b|\$\{!", new.masked):
        return []
    out = []
    text = new.masked.decode("utf-8", "replace")
    comments = [(c.start_byte, c.end_byte) for c in new.find("comment")]
    for name in sorted(names):
        assigns = [s for s in _statements(new) if _only_assigns(new, s, name)]
        if not assigns:
            continue
        # a read: $name, ${name...}, ${#name}, or the bare word as a token of its own (arithmetic,
        # [[ ]], read, unset, a string that mentions it); not part of a path, a flag or a longer
        # name, and not in a comment
        word = re.compile(rf"\$\{{?[#!]?{re.escape(name)}(?!\w)|(?<![\w./$-]){re.escape(name)}(?![\w./-])")
        own = {_assigned_name(new, s, name) for s in assigns}
        mentions = {m.start() for m in re.finditer(word.pattern.encode(), new.masked)
                    if not any(a <= m.start() < b for a, b in comments)}
        if mentions - own or any(word.search(t or "") for t in helper_texts):
            continue
        exported = any(_exports(new, s) for s in assigns) or re.search(rf"\bexport\s+([\w ]+\s)?{re.escape(name)}\b", text)
        if exported and (any(word.search(t) for t in others.values())
                         or _starts_a_program_after(new, min(s.start_byte for s in assigns), sipid)):
            continue
        out += [(s, name) for s in assigns]
    return out


def _assigned_name(doc: Document, stmt: Node, name: str) -> int:
    """Offset of the name a statement assigns (matched against the mentions of the name)."""
    node = stmt.child_by_field_name("name") if stmt.type == "variable_assignment" else _name_node(doc, stmt, name)
    return node.start_byte if node is not None else -1


def _statements(doc: Document) -> Iterable[Node]:
    for block in S.blocks(doc):
        for stmt in S.block_statements(block):
            if stmt.type in ("variable_assignment", "declaration_command"):
                yield stmt


def _name_node(doc: Document, stmt: Node, name: str) -> Node | None:
    for child in stmt.named_children:
        if child.type == "variable_name" and doc.masked_text(child) == name:
            return child
        if child.type == "variable_assignment":
            n = child.child_by_field_name("name")
            if n is not None and doc.masked_text(n) == name:
                return n
    return None


def _only_assigns(doc: Document, stmt: Node, name: str) -> bool:
    """Does the statement set ``name`` and nothing else, with a value that does nothing else?"""
    if stmt.type == "variable_assignment":
        target, value = stmt.child_by_field_name("name"), stmt.child_by_field_name("value")
        return target is not None and doc.masked_text(target) == name and _plain(doc, value)
    keyword = doc.masked_text(stmt.children[0]) if stmt.children else ""
    if keyword not in ("local", "export", "declare", "typeset", "readonly"):
        return False
    parts = [c for c in stmt.named_children if c.type not in ("comment",)]
    if len(parts) != 1:
        return False  # several names, or flags (declare -i, -r): leave them
    part = parts[0]
    if part.type == "variable_name":
        return doc.masked_text(part) == name
    if part.type == "variable_assignment":
        target = part.child_by_field_name("name")
        return target is not None and doc.masked_text(target) == name and _plain(doc, part.child_by_field_name("value"))
    return False


def _plain(doc: Document, value: Node | None) -> bool:
    """A value of the legacy shapes' own variables, whose assignment does nothing but set it."""
    if value is None:
        return True
    text = doc.masked_text(value)
    return _NUMBER.fullmatch(text) is not None or S.pid_word(text) is not None or _reads_pidfile(text)


def _reads_pidfile(text: str) -> bool:
    return re.fullmatch(r"""["']?(\$\((cat|head -1|head -n ?1) [^()`;|&]+\)|`cat [^`;|&]+`|\$\(<[^()`;|&]+\))["']?""",
                        text) is not None


def _exports(doc: Document, stmt: Node) -> bool:
    return stmt.type == "declaration_command" and doc.masked_text(stmt.children[0]) == "export"


def _starts_a_program_after(doc: Document, offset: int, sipid: str) -> bool:
    """Does anything after ``offset`` start a program (which inherits the environment)?"""
    for cmd in doc.commands():
        if cmd.start_byte > offset:
            name = command_name(doc, cmd) or ""
            if name not in _SHELL_ONLY and name != sipid:
                return True
    return False


def sourced_texts(job, doc: Document) -> list[str | None]:  # noqa: ANN001 - JobContext (no import cycle)
    """What each helper ``doc`` sources holds, as the tool finds it (None when unknown)."""
    return [helpers.lookup(job, doc, node, path).text for node, path in helpers.source_commands(doc)]
