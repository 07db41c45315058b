"""Why an ERB conditional stays in the script, in words a release maintainer can act on
(``erb-to-config``).

``erb-to-config`` turns an ERB conditional into a bash ``if`` (statements) or an array (flags of
one command) only in the shapes it can prove the same; for any other it leaves a finding. A
finding that says "not whole statements, a branch is empty, or depends on Ruby" for every case
leaves the reader to work out which: this module names the one that applies, from the same facts
the conversion checks, and never quotes masked text.
"""

from __future__ import annotations

from codemods._erb_blocks import Group
from codemods._erb_lines import alone_on_its_lines, tag_lines
from migrator.document import Document

_COMPOUND_WORDS = {"if_statement": "`if ...; then`", "elif_clause": "`elif ...; then`", "while_statement": "`while`",
                   "for_statement": "`for`", "case_statement": "`case`", "function_definition": "a function",
                   "compound_statement": "`{ ... }`", "subshell": "`( ... )`", "pipeline": "a pipeline",
                   "list": "a `&&`/`||` list", "redirected_statement": "a redirected statement",
                   "command": "one command", "heredoc_body": "a heredoc", "heredoc_redirect": "a heredoc"}


def conditional_shape_reason(doc: Document, group: Group) -> str:
    """Why the group's branches are neither whole statements nor plain flags of one command."""
    if group.end is None:
        return "it has no `end` the codemod could find"
    if not all(alone_on_its_lines(doc, t) for t in group.tags):
        return _inline_reason(doc, group)
    lines = [tag_lines(doc, t) for t in group.tags]
    ranges = [(lines[i][1], lines[i + 1][0]) for i in range(len(lines) - 1)]
    empty = [i for i, (lo, hi) in enumerate(ranges) if not doc.masked[lo:hi].strip()]
    if empty:
        which = "its first branch" if empty[0] == 0 else "its `else` branch" if empty[0] == len(ranges) - 1 \
            else "one of its branches"
        return f"{which} holds no shell code (bash has no empty branch)"
    for lo, hi in ranges:
        node = doc.root.descendant_for_byte_range(lo, max(lo, hi - 1))
        while node is not None and node.parent is not None:
            if node.start_byte < lines[0][0] and node.end_byte > lines[-1][1] - 1:
                break
            if node.start_byte < lo or node.end_byte > hi:
                what = _COMPOUND_WORDS.get(node.type, "one shell statement")
                if node.start_byte < lines[0][0] or node.end_byte > lines[-1][1]:
                    return f"it cuts across shell code: {what} starts on one side of an ERB tag and ends on the other"
            node = node.parent
    return "its branches are not whole shell statements of one block (a case arm, a function body, the top level)"


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
