"""Why an ERB conditional stays in the script, in words a release maintainer can act on
(``erb-to-config``).

``erb-to-config`` turns an ERB conditional into a bash ``if`` (statements) or an array (flags of
one command) only in the shapes it can prove the same; for any other it leaves a finding. A
finding that says "not whole statements, a branch is empty, or depends on Ruby" for every case
leaves the reader to work out which: this module names the one that applies, from the same facts
the conversion checks, and never quotes masked text.
"""

from __future__ import annotations

from tree_sitter import Node

from codemods._erb_blocks import Group
from codemods._erb_branches import _after_header, _container
from codemods._erb_lines import alone_on_its_lines, tag_lines
from migrator.document import Document

_COMPOUND_WORDS = {"if_statement": "a shell `if`", "elif_clause": "an `elif`", "while_statement": "a `while` loop",
                   "for_statement": "a `for` loop", "c_style_for_statement": "a `for` loop",
                   "do_group": "a loop's body", "case_statement": "`case`", "function_definition": "a function",
                   "compound_statement": "`{ ... }`", "subshell": "`( ... )`", "pipeline": "a pipeline",
                   "list": "a `&&`/`||` list", "redirected_statement": "a redirected statement",
                   "command": "one command", "heredoc_body": "a heredoc", "heredoc_redirect": "a heredoc"}


def conditional_shape_reason(doc: Document, group: Group) -> str:
    """Why the group's branches are neither whole statements nor plain flags of one command."""
    return _shape_reason(doc, group, loop=False)


def loop_shape_reason(doc: Document, group: Group) -> str:
    """Why an ERB loop's body is not whole statements of one statement list (the one check of
    ``statement_branches`` that fails, with its line)."""
    return _shape_reason(doc, group, loop=True)


def _shape_reason(doc: Document, group: Group, loop: bool) -> str:
    """The checks of ``codemods._erb_branches.statement_branches`` in its order, naming the first
    that fails."""
    if group.end is None:
        return "it has no `end` the codemod could find"
    if not all(alone_on_its_lines(doc, t) for t in group.tags):
        if loop:
            tag = next(t for t in group.tags if not alone_on_its_lines(doc, t))
            return f"its tag on line {doc.line_of(tag.start)} shares the line with shell code"
        return _inline_reason(doc, group)
    lines = [tag_lines(doc, t) for t in group.tags]
    ranges = [(lines[i][1], lines[i + 1][0]) for i in range(len(lines) - 1)]
    empty = [i for i, (lo, hi) in enumerate(ranges) if not doc.masked[lo:hi].strip()]
    if empty:
        if loop:
            return "its body holds no shell code"
        which = "its first branch" if empty[0] == 0 else "its `else` branch" if empty[0] == len(ranges) - 1 \
            else "one of its branches"
        return f"{which} holds no shell code (bash has no empty branch)"
    start, stop = lines[0][0], lines[-1][1]
    container = _container(doc, start, stop)
    if container is None or not _after_header(doc, container, start):
        crossing = _crossing(doc, start, stop, ranges)
        if crossing:
            return crossing
        if container is None:
            if doc.masked[lines[0][1]:].lstrip().startswith(b"#!"):
                return "it wraps the whole script, shebang included (the file renders empty when it is false)"
            return "its lines do not lie within one list of shell statements"
        what = _COMPOUND_WORDS.get(container.type, "a shell statement")
        return f"it starts inside the head of {what} (line {doc.line_of(container.start_byte)}), before its body"
    for child in container.named_children:
        if child.end_byte <= start or child.start_byte >= stop:
            continue
        if child.type in ("elif_clause", "else_clause"):
            word = "`elif`" if child.type == "elif_clause" else "`else`"
            return (f"it cuts across a shell `if`: the {word} on line {doc.line_of(child.start_byte)} of the shell "
                    f"`if` on line {doc.line_of(container.start_byte)} is inside the ERB block, the `if` is not")
        if not any(lo <= child.start_byte and child.end_byte <= hi for lo, hi in ranges):
            return _across(doc, child, start, stop)
    for lo, hi in ranges:
        covered = bytearray(doc.masked[lo:hi])
        for child in container.named_children:
            s, e = max(child.start_byte, lo), min(child.end_byte, hi)
            if s < e:
                covered[s - lo:e - lo] = b" " * (e - s)
        left = bytes(covered).strip(b" \t\n;&")
        if left:
            at = lo + bytes(covered).index(left[:1])
            line = doc.line_of(at)
            if left == b"\\":
                return (f"the backslash on line {line} continues the line into an ERB tag (`\\<% ... %>`), so "
                        "bash reads the next line as part of the command only when the tag renders nothing")
            text = doc.source[at:at + len(left)].decode("utf-8", "replace")
            return f"`{' '.join(text.split())[:40]}` on line {line} belongs to no whole shell statement"
    part = "its body is" if loop else "its branches are"
    return f"{part} not whole shell statements of one block (a case arm, a function body, the top level)"


def _crossing(doc: Document, start: int, stop: int, ranges: list[tuple[int, int]]) -> str | None:
    """The shell statement that starts on one side of the block's tags and ends on the other."""
    for lo, hi in ranges:
        node = doc.root.descendant_for_byte_range(lo, max(lo, hi - 1))
        while node is not None and node.parent is not None:
            if node.start_byte < start and node.end_byte > stop - 1:
                break
            if (node.start_byte < lo or node.end_byte > hi) and (node.start_byte < start or node.end_byte > stop):
                return _across(doc, node, start, stop)
            node = node.parent
    return None


def _across(doc: Document, node: Node, start: int, stop: int) -> str:
    what = _COMPOUND_WORDS.get(node.type, "a shell statement")
    where = f"lines {doc.line_of(node.start_byte)}-{doc.line_of(max(node.start_byte, node.end_byte - 1))}"
    if node.start_byte < start:
        side = "starts before the ERB block and ends inside it"
    elif node.end_byte > stop:
        side = "starts inside the ERB block and ends after it"
    else:
        side = "starts in one branch and ends in another"
    return f"it cuts across shell code: {what} ({where}) {side}"


def _inline_reason(doc: Document, group: Group) -> str:
    first, last = doc.line_of(group.start), doc.line_of(group.stop - 1)
    if first == last:
        return ("it shares its line with shell code, and what it wraps is not plain words of one command "
                "(a `$` expansion, a command substitution, an operator or quotes around ERB) that an array "
                "in the env template could hold")
    return ("some of its tags share a line with shell code, so its branches are neither whole lines nor flags "
            "on lines of their own in a continued command")


def heredoc_reason(doc: Document, tag_start: int, tag_end: int) -> str:
    """Why a heredoc with ERB in its body did not become its own config template."""
    node = doc.root.descendant_for_byte_range(tag_start, tag_end)
    while node is not None and node.type not in ("heredoc_redirect", "redirected_statement"):
        node = node.parent
    if node is None:
        return "inside a heredoc body"
    statement = node if node.type == "redirected_statement" else node.parent
    heredoc = next((n for n in doc.walk(statement) if n.type == "heredoc_redirect"), None)
    if heredoc is None:
        return "inside a heredoc body"
    parts = {c.type: c for c in heredoc.children}
    start, body = parts.get("heredoc_start"), parts.get("heredoc_body")
    quoted = start is not None and doc.masked_text(start)[:1] in ("'", '"')
    if "<<-" in doc.masked_text(heredoc)[:3]:
        return "inside a <<- heredoc (bash strips its tabs)"
    if body is not None and not quoted and any(c in doc.masked[body.start_byte:body.end_byte] for c in b"$`\\"):
        return "inside a heredoc body the shell expands (`$`, backticks or backslashes, delimiter not quoted)"
    target = statement.child_by_field_name("body") if statement is not None else None
    if target is None or not doc.masked_text(target).startswith("cat"):
        return "inside a heredoc that feeds a command (not `cat > FILE`)"
    return "inside a heredoc body"
