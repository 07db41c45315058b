"""Guard clauses of fan-out helpers: ``if [ "$log_dir" = "" ]; then return 1; fi`` before the
``exec`` lines (loggregator's and ouroboros' ``syslog_utils.sh``).

Inlining such a helper at its call must keep what the guard did: at a call where the guard's test
is surely false (a literal folder the script made before the call) it vanishes; otherwise its test
stays, turned into the condition under which the plain redirections run. Pure text and tree
functions; the codemod decides what to do with the answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from tree_sitter import Node

from migrator.document import Document, command_name


@dataclass(frozen=True)
class Guard:
    """``if TEST; then return [STATUS]; fi`` at the top of a helper function."""

    node: Node
    test: str  # the test as written (``[ "$log_dir" = "" ]``)
    status: str | None  # the return's argument; None for a bare ``return`` (the test's 0)

    @property
    def returns_success(self) -> bool:
        return self.status is None or self.status.strip("\"'") == "0"


def guard_of(doc: Document, stmt: Node) -> Guard | None:
    """The guard clause ``stmt`` is, if it is one: one ``[ ]``/``[[ ]]`` test, no elif or else,
    and a body that only returns."""
    if stmt.type != "if_statement":
        return None
    if any(c.type in ("elif_clause", "else_clause") for c in stmt.named_children):
        return None
    cond = stmt.child_by_field_name("condition")
    if cond is None or cond.type != "test_command":
        return None
    body = [c for c in stmt.named_children if c != cond and c.type != "comment"]
    if len(body) != 1 or body[0].type != "command" or command_name(doc, body[0]) != "return":
        return None
    args = body[0].children_by_field_name("argument")
    if len(args) > 1:
        return None
    if doc.tags_in(stmt.start_byte, stmt.end_byte):
        return None
    return Guard(stmt, doc.node_text(cond), doc.node_text(args[0]) if args else None)


# -- putting the call's values in --------------------------------------------------------------
_EXPANSION = re.compile(r"\$\{(\w+|#)\}|\$(\w+|#)")


def _inside_double_quotes(text: str, offset: int) -> bool:
    quoted = False
    i = 0
    while i < offset:
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "'" and not quoted:
            end = text.find("'", i + 1)
            i = (end if end >= 0 else len(text)) + 1
            continue
        if ch == '"':
            quoted = not quoted
        i += 1
    return quoted


def _unquoted(arg: str) -> str | None:
    """An argument's value as it reads inside double quotes; None when that is not plain."""
    if len(arg) >= 2 and arg[0] == arg[-1] == '"':
        return arg[1:-1]
    if len(arg) >= 2 and arg[0] == arg[-1] == "'" and not re.search(r"[\"$`\\]", arg):
        return arg[1:-1]
    if re.fullmatch(r"[\w./:@+${}-]*", arg):
        return arg
    return None


def substitute(test: str, params: dict[str, int], args: list[str], own: dict[str, str | None]) -> str | None:
    """The guard's test as it reads at the call: positional parameters, the locals bound to them
    and the helper's own known locals put in; None when one of them cannot be put in plainly."""
    if any(re.search(r"\$\{?[@*]", a) for a in args):
        return None  # "$@" is every argument: which one the helper reads is unknown

    failed = False

    def repl(m: re.Match) -> str:
        nonlocal failed
        name = m.group(1) or m.group(2)
        if name == "#":
            return str(len(args))
        index = int(name) if name.isdigit() else params.get(name)
        if index is not None:
            if name == "0":
                return m.group(0)
            value = _unquoted(args[index - 1]) if index <= len(args) else ""
            if value is None:
                failed = True
                return m.group(0)
            if _inside_double_quotes(test, m.start()):
                return value
            return args[index - 1] if index <= len(args) else '""'
        if name in own:
            if own[name] is None:
                failed = True
                return m.group(0)
            return own[name]
        return m.group(0)

    out = _EXPANSION.sub(repl, test)
    return None if failed else out


# -- deciding a test -----------------------------------------------------------------------------
_WORD = r'"[^"]*"|\'[^\']*\'|[^\s"\']+'
_EXISTS = re.compile(rf"(!\s+)?-([ed])\s+({_WORD})")
_EMPTY = re.compile(rf"-([zn])\s+({_WORD})")
_COMPARE = re.compile(rf"({_WORD})\s*(==|=|!=)\s*({_WORD})")
_COUNT = re.compile(r'"?(\d+)"?\s+-(eq|ne|lt|le|gt|ge)\s+"?(\d+)"?')


def _inner(test: str) -> str | None:
    test = test.strip()
    for opening, closing in (("[[", "]]"), ("[", "]")):
        if test.startswith(opening + " ") and test.endswith(" " + closing):
            return test[len(opening) : -len(closing)].strip()
    return None


def decide(test: str, literal: Callable[[str], str | None], made_dir: Callable[[str], bool]) -> bool | None:
    """True or False when the test's outcome at the call is certain, else None.

    ``literal(word)`` is a word's value when the script fixes it (a literal, or a variable set
    once to a literal), ``made_dir(word)`` whether a ``mkdir -p`` of it surely ran before.
    """
    inner = _inner(test)
    if inner is None:
        return None
    if m := _EXISTS.fullmatch(inner):
        if not made_dir(m.group(3)):
            return None
        return not m.group(1)  # the folder exists: `-e` true, `! -e` false
    if m := _EMPTY.fullmatch(inner):
        value = literal(m.group(2))
        if value is None:
            return None
        return (value == "") == (m.group(1) == "z")
    if m := _COMPARE.fullmatch(inner):
        left, right = literal(m.group(1)), literal(m.group(3))
        if left is None or right is None:
            return None
        return (left == right) == (m.group(2) != "!=")
    if m := _COUNT.fullmatch(inner):
        a, op, b = int(m.group(1)), m.group(2), int(m.group(3))
        return {"eq": a == b, "ne": a != b, "lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    return None


def negate(test: str) -> str:
    """The test that holds when ``test`` does not, written plainly where that is easy."""
    inner = _inner(test)
    if inner is not None:
        opening, closing = ("[[", "]]") if test.strip().startswith("[[") else ("[", "]")
        if m := _EXISTS.fullmatch(inner):
            return f"{opening} -{m.group(2)} {m.group(3)} {closing}" if m.group(1) else f"{opening} ! {inner} {closing}"
        if m := _EMPTY.fullmatch(inner):
            return f"{opening} -{'n' if m.group(1) == 'z' else 'z'} {m.group(2)} {closing}"
        if m := _COMPARE.fullmatch(inner):
            op = "=" if m.group(2) == "!=" else "!="
            return f"{opening} {m.group(1)} {op} {m.group(3)} {closing}"
    return f"! {test.strip()}"
