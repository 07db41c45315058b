"""An ERB conditional around the whole rest of a script, made a guard clause (``erb-to-config``).

``<% unless p("x.disable") %>`` right after the shebang and ``<% end %>`` at the end, or
``<% if p("x") %>`` ... ``<% else %>`` a few echo lines ``<% end %>``, decide at render time whether
the script does anything. Made a bash ``if`` around the body, every line of the script moves one
level in: git blame is lost and the diff shows the whole script. When the conditional runs from
its place to the end of an executed script (nothing but blank lines, comments and at most a final
``exit N`` after its ``end``), the script stops early instead and the body's lines stay::

    [ "$X_ENABLED" = true ] || exit 0

or, when the other branch has lines (few, no ERB), ``if [ "$X_ENABLED" != true ]; then`` those
lines and the ``exit``, ``fi``; when that other branch is the first one (a note in comments, then
``<% else %>`` and the script), it stays where it is, in ``if [ "$X" = true ]; then ... exit 0; fi``.

The old script, rendered with the body left out, ended right there, so the guard must exit with
the status the old script ended with: an author's ``exit N`` after the block gives N; after the
other branch's commands a bare ``exit`` keeps the status of the last one (``exit 0`` where that is
surely 0: under ``set -e`` a simple command that failed would have ended the script already);
with no command in that branch, the status before the block, which must be surely 0 (nothing ran,
or ``set -e`` and a simple command), or there is no guard (a bash ``if`` ends with 0, like today).
Only at the script's top level: in a function or a ``case`` arm ``exit`` would end more than the
block did. A script another script sources never gets here (``_erb_job.left_alone``): an ``exit``
there would end the script that sources it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from codemods._erb_blocks import Group
from codemods._erb_indent import fixed_lines
from migrator.document import Document, command_name

Span = tuple[int, int]
#: statements that end with status 0 or, under ``set -e``, end the script (they are not exempt)
_SIMPLE = {"command", "declaration_command", "variable_assignment", "variable_assignments", "unset_command",
           "test_command", "pipeline", "redirected_statement"}
_SUBSTITUTION = re.compile(r"\$\(|`")


@dataclass(frozen=True)
class Guard:
    """The edits (start, end, text) that make a conditional a guard clause; the edit at index
    ``gap`` ends with a blank line that separates the guard from the body, which starts at
    ``body``: not wanted when the lines there go (assignments moved to the env file) and a blank
    line follows them."""

    edits: list[tuple[int, int, str]]
    gap: int | None
    body: int


def guard_edits(doc: Document, group: Group, tag_lines: list[Span], container: Node, name: str,
                unit: str) -> Guard | None:
    """The edits that make the conditional with tags on ``tag_lines`` (an ``if`` whose first
    branch runs when ``$name`` is ``true``, and maybe an ``else``) a guard clause; None when it is
    not the rest of the script or no exit status would be the same."""
    if container.type != "program" or len(tag_lines) not in (2, 3) or len(group.middles) != len(tag_lines) - 2:
        return None
    end_line_end = tag_lines[-1][1]
    if any(t.start >= end_line_end for t in doc.tags):
        return None
    after = [c for c in container.named_children if c.start_byte >= end_line_end and c.type != "comment"]
    final = None
    if after:
        final = _exit_status(doc, after[-1])
        if len(after) > 1 or final is None:
            return None
    ranges = [(tag_lines[i][1], tag_lines[i + 1][0]) for i in range(len(tag_lines) - 1)]
    # the body stays; the other branch (no ERB in it) goes into the guard: the shorter one, or the
    # one without ERB
    main, other = 0, None
    if len(ranges) == 2:
        free = [not doc.tags_in(*r) for r in ranges]
        if free[1] and (not free[0] or _lines(doc, *ranges[0]) >= _lines(doc, *ranges[1])):
            main, other = 0, ranges[1]
        elif free[0]:
            main, other = 1, ranges[0]
        else:
            return None
    children = container.named_children
    before = [c for c in children if c.end_byte <= tag_lines[0][0] and c.type != "comment"]
    inside = [c for c in children if other is not None and other[0] <= c.start_byte and c.end_byte <= other[1]
              and c.type != "comment"]
    if final:  # the author's `exit N` after the block
        status = f"exit {final}"
    elif inside:
        status = "exit 0" if _surely_zero(doc, inside[-1], _errexit(doc, before + inside)) else "exit"
    elif not before or _surely_zero(doc, before[-1], _errexit(doc, before)):
        status = "exit 0"
    else:
        return None
    edits: list[tuple[int, int, str]] = []
    gap = "" if _blank(doc, tag_lines[main][1]) else "\n"  # a blank line between the guard and the body
    if main == 0:
        lines = _indented(doc, other, unit) if other is not None else ""
        text = (f'[ "${name}" = true ] || {status}\n' if not lines else
                f'if [ "${name}" != true ]; then\n{lines}{unit}{status}\nfi\n')
        edits.append((*tag_lines[0], text + gap))
        edits.append(_delete(doc, tag_lines[1][0], end_line_end))
        return Guard(edits, 0 if gap else None, tag_lines[0][1])
    assert other is not None
    edits.append((*tag_lines[0], f'if [ "${name}" = true ]; then\n'))
    fixed = fixed_lines(doc)
    last = other[0]
    for ls, le in _line_spans(doc, *other):
        if doc.source[ls:le].strip():
            last = le
            if ls not in fixed:
                edits.append((ls, ls, unit))
    edits.append((last, tag_lines[1][1], f"{unit}{status}\nfi\n{gap}"))
    edits.append(_delete(doc, tag_lines[2][0], end_line_end))
    return Guard(edits, len(edits) - 2 if gap else None, tag_lines[1][1])


def _exit_status(doc: Document, node: Node) -> str | None:
    """``N`` of an ``exit N`` statement, ``""`` for a bare ``exit``, None for anything else."""
    if node.type != "command" or command_name(doc, node) != "exit":
        return None
    args = [doc.masked_text(a) for a in node.children_by_field_name("argument")]
    if not args:
        return ""
    return args[0] if len(args) == 1 and args[0].isdigit() else None


def _lines(doc: Document, start: int, end: int) -> int:
    return sum(1 for ls, le in _line_spans(doc, start, end) if doc.source[ls:le].strip())


def _line_spans(doc: Document, start: int, end: int) -> list[Span]:
    out, pos = [], start
    while pos < end:
        le = doc.line_end(pos)
        out.append((pos, le))
        pos = max(le, pos + 1)
    return out


def _blank(doc: Document, pos: int) -> bool:
    return not doc.source[pos:doc.line_end(pos)].strip()


def _indented(doc: Document, span: Span, unit: str) -> str:
    """The branch's lines one level in (blank lines around them left out; lines whose leading
    whitespace belongs to a value kept as they are)."""
    fixed = fixed_lines(doc)
    spans = [(ls, le) for ls, le in _line_spans(doc, *span)]
    while spans and _blank(doc, spans[0][0]):
        spans.pop(0)
    while spans and _blank(doc, spans[-1][0]):
        spans.pop()
    out = []
    for ls, le in spans:
        line = doc.slice(ls, le)
        if not line.endswith("\n"):
            line += "\n"
        out.append(line if ls in fixed or not line.strip() else unit + line)
    return "".join(out)


def _delete(doc: Document, start: int, end: int) -> tuple[int, int, str]:
    """Delete the lines [start, end): with the blank lines before them when nothing but blanks
    follows (no blank lines at the end of the script), else with one of the two blank lines they
    sat between."""
    if not doc.source[end:].strip():
        while start > 0 and not doc.source[doc.line_start(start - 1):start].strip():
            start = doc.line_start(start - 1)
    elif start >= 2 and doc.source[start - 2:start] == b"\n\n" and _blank(doc, end) and end < len(doc.source):
        end = doc.line_end(end)
    return (start, end, "")


def _errexit(doc: Document, statements: list[Node]) -> bool:
    """Whether ``set -e`` surely holds after the top-level ``statements`` (run in order): from a
    top-level ``set``; not known (False) after a ``set +e`` anywhere else, or a ``source``/``eval``
    (its code may turn it off). A shebang's ``-e`` does not count, as for every rewrite that relies
    on errexit (``migrator.shell.errexit_on_at``): ``bash script`` runs without it. Stricter than
    that function: a ``set -e`` nested in a block does not count either."""
    on = False
    for statement in statements:
        top = statement
        while top.type == "redirected_statement" and top.named_children:
            top = top.named_children[0]
        for command in doc.find("command", within=statement):
            name = command_name(doc, command)
            if name in ("source", ".", "eval"):
                return False
            if name != "set":
                continue
            effect = _set_effect([doc.masked_text(a) for a in command.children_by_field_name("argument")])
            if command.id == top.id:
                on = on if effect is None else effect
            elif effect is False:
                return False
    return on


def _set_effect(args: list[str]) -> bool | None:
    """What a ``set`` command does to errexit: True (on), False (off), None (nothing)."""
    effect = None
    for i, arg in enumerate(args):
        if re.fullmatch(r"[-+][a-zA-Z]*e[a-zA-Z]*", arg):
            effect = arg[0] == "-"
        elif arg in ("-o", "+o") and i + 1 < len(args) and args[i + 1] == "errexit":
            effect = arg == "-o"
        elif arg == "--":
            break
    return effect


def _surely_zero(doc: Document, statement: Node, errexit: bool) -> bool:
    """Whether the script, having run ``statement`` and gone on, surely has status 0: a function
    definition always; an assignment without a command substitution; under ``set -e`` any
    statement whose failure would have ended the script (not a ``&&``/``||`` list, not ``!``, not a
    compound command, whose status may be non-zero without ending it)."""
    if statement.type == "function_definition":
        return True
    text = doc.masked_text(statement)
    if statement.type in ("variable_assignment", "variable_assignments") and not _SUBSTITUTION.search(text):
        return True
    if not errexit or statement.type not in _SIMPLE:
        return False
    inner = statement
    while inner.type == "redirected_statement" and inner.named_children:
        inner = inner.named_children[0]
    return inner.type in _SIMPLE and inner.type != "redirected_statement"
