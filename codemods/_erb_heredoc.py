"""Heredocs that write a config file with ERB inside (``erb-to-config``).

``cat > FILE <<EOF ... EOF`` with ERB in the body is a config template written at run time. BOSH can
render the body itself: it becomes ``templates/<name>.erb`` rendered to ``config/<name>``, and the
script copies the rendered file to where the heredoc wrote. That is only the same file when the
shell did nothing to the body: the delimiter is quoted, or the body has no ``$``, backtick or
backslash, and ``<<-`` did not strip tabs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tree_sitter import Node

from codemods._erb_blocks import Structure
from migrator.document import Document, command_name


@dataclass(frozen=True)
class HeredocFile:
    """One heredoc that can become a config template."""

    start: int  # the statement, ``cat`` to the terminator
    end: int
    body_start: int
    body_end: int
    destination: str  # shell text of the file it wrote
    append: bool
    file_name: str  # base name for the new template


def heredoc_files(doc: Document, structure: Structure) -> list[HeredocFile]:
    out = []
    for node in doc.find("redirected_statement"):
        found = _heredoc_file(doc, structure, node)
        if found is not None:
            out.append(found)
    return out


def _heredoc_file(doc: Document, structure: Structure, node: Node) -> HeredocFile | None:
    body = node.child_by_field_name("body")
    if body is None or body.type != "command" or command_name(doc, body) != "cat" or body.named_child_count != 1:
        return None
    if node.parent is None or node.parent.type not in ("program", "compound_statement", "do_group", "case_item",
                                                       "if_statement", "else_clause", "elif_clause"):
        return None
    heredocs = [n for n in doc.walk(node) if n.type == "heredoc_redirect"]
    redirects = [n for n in doc.walk(node) if n.type == "file_redirect"]
    if len(heredocs) != 1 or len(redirects) != 1:
        return None
    heredoc, redirect = heredocs[0], redirects[0]
    parts = {c.type: c for c in heredoc.children}
    start, hbody, end = parts.get("heredoc_start"), parts.get("heredoc_body"), parts.get("heredoc_end")
    if start is None or hbody is None or end is None or "<<-" in doc.masked_text(heredoc)[:3]:
        return None
    if not doc.tags_in(hbody.start_byte, hbody.end_byte):
        return None
    quoted = doc.masked_text(start)[:1] in ("'", '"')
    if not quoted and re.search(r"[$`\\]", doc.masked[hbody.start_byte:hbody.end_byte].decode("utf-8", "replace")):
        return None
    if doc.tags_in(node.start_byte, hbody.start_byte) or doc.tags_in(hbody.end_byte, node.end_byte):
        return None
    if any(not group.conditional for group, _ in structure.chain_at(node.start_byte)):
        return None  # a heredoc per loop item: one template cannot hold them all
    for group in structure.groups:
        inside = [hbody.start_byte <= t.start and t.end <= hbody.end_byte for t in group.tags]
        if any(inside) and not all(inside):
            return None
    if any(hbody.start_byte <= t.start < hbody.end_byte for t in structure.statements):
        return None  # Ruby run inside the body (a local set there may be read after it)
    op = redirect.children[0].type if redirect.children else ""
    dest = redirect.child_by_field_name("destination")
    if op not in (">", ">>") or dest is None or redirect.child_by_field_name("descriptor") is not None:
        return None
    if len([c for c in redirect.named_children if c.type != "file_descriptor"]) != 1:
        return None
    first_line_end = doc.line_end(node.start_byte)
    # tree-sitter starts the body after the first line's indentation: the body is the whole line
    if hbody.start_byte < first_line_end or doc.masked[first_line_end:hbody.start_byte].strip(b" \t"):
        return None  # something follows the redirect on the first line
    destination = doc.node_text(dest)
    name = re.sub(r"[^A-Za-z0-9._-]", "", destination.strip("\"'").rsplit("/", 1)[-1])
    if not name or name.startswith("."):
        return None
    return HeredocFile(node.start_byte, node.end_byte, first_line_end, hbody.end_byte, destination,
                       op == ">>", name)
