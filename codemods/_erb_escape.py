"""Assignments moved into an env template, with every ERB value in them shell-escaped.

The env template's header says that values are shell-escaped, so any property value is safe:
that must hold for the assignments moved there from the script too (``address="https://<%= x %>"``
used to be copied as it was, and a value with ``"`` or ``$(`` in it would still be read as shell).
Each output tag is made to render one shell-escaped word in the place it had: inside quotes the
quotes are closed around it (``address="https://"<%= x.to_s.shellescape %>``), bare it is the
escaped word, in an array (``HOSTS=(<%= list.join(" ") %>)``) the words the old script split it
into, each escaped. A value that rendered normally (no quotes, ``$``, backslashes or backticks in
it) gives the same assignment as before; one that the old script would have run or expanded is
now taken literally.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from tree_sitter import Node

from codemods import _erb_ruby as ruby
from codemods._erb_context import Place, place_of
from codemods._erb_locals import escaped_value
from migrator.document import Document
from migrator.erb import ErbTag, strip_ruby_strings

_QUOTED = {"string": '"', "raw_string": "'"}
_PRINTS_QUOTES = re.compile(r"\.(?:to_json|inspect|to_yaml)\b|\bJSON\.(?:dump|generate|pretty_generate)\b")


def escaped_text(doc: Document, start: int, end: int, properties: Mapping[str, object],
                 escapers: frozenset[str] | set[str] = frozenset()) -> str | None:
    """The script text [start, end) with each output tag in it escaped; None when a tag sits
    where no escaped word can take its place (``${X:-<%= ... %>}``, a tag that ends its line), or
    prints double quotes inside double quotes (JSON, a list), which the old script's shell took
    out: escaped, they would stay. A value its own Ruby escapes already (``x.shellescape``,
    ``esc(x)`` with ``esc`` one of ``escapers``) is kept as it is when bare (escaped twice, bash
    would read back the escaped text, backslashes and all), and keeps the lines in the script
    inside quotes (bash took only some of its backslashes off there)."""
    edits: list[tuple[int, int, str]] = []
    joined: set[int] = set()  # tags of a quoted string made one Ruby string
    for tag in doc.tags_in(start, end):
        if tag.kind == "output" and tag.start not in joined:
            found = _one_ruby_string(doc, tag, properties, escapers)
            if found is not None:
                lo, hi, text, tags = found
                edits.append((lo, hi, text))
                joined |= {t.start for t in tags}
    for tag in doc.tags_in(start, end):
        if tag.kind != "output" or tag.start in joined:
            continue
        place = place_of(doc, tag)
        if not isinstance(place, Place) or tag.trims_newline:
            return None
        node = doc.root.descendant_for_byte_range(tag.start, tag.end)
        quoted, in_array = None, False
        while node is not None and node.type not in ("variable_assignment", "program"):
            if node.type in _QUOTED and quoted is None:
                quoted = node
            if node.type == "array":
                in_array = True
            node = node.parent
        if quoted is not None and quoted.type == "string" and _prints_quotes(tag.code, properties):
            return None
        if escaped_value(tag.code, set(escapers)):
            if quoted is not None or in_array:
                return None
            code = tag.code.strip()
            inline = "\n" not in code and "#" not in strip_ruby_strings(code)
            edits.append((tag.start, tag.end, f"<%= {code} %>" if inline else f"<%= ({code}\n) %>"))
            continue
        value = f"<%= {ruby.escaped(tag.code, in_array and quoted is None)} %>"
        lo, hi = tag.start, tag.end
        if quoted is None:
            edits.append((lo, hi, value))
            continue
        q = _QUOTED[quoted.type]
        opens, closes = quoted.start_byte == lo - 1, quoted.end_byte == hi + 1
        if opens and closes:
            edits.append((lo - 1, hi + 1, value))
        elif opens:
            edits.append((lo - 1, hi, value + q))
        elif closes:
            edits.append((lo, hi + 1, q + value))
        else:
            edits.append((lo, hi, q + value + q))
    out, pos = [], start
    for lo, hi, text in sorted(edits):
        out += [doc.slice(pos, lo), text]
        pos = hi
    out.append(doc.slice(pos, end))
    return "".join(out)


def _one_ruby_string(doc: Document, tag: ErbTag, properties: Mapping[str, object],
                     escapers: frozenset[str] | set[str]) -> tuple[int, int, str, list[ErbTag]] | None:
    """``'<%= a %>://<%= b %>'`` (or the same in double quotes, its text holding nothing the shell
    expands): ``<%= "#{a}://#{b}".shellescape %>``, the word the old script made, escaped once,
    instead of each value escaped and glued to quoted pieces. None when the tag is alone in its
    quotes or anything in them needs the per-tag way (Ruby on several lines, an escaped value,
    quotes printed inside double quotes, a tag that trims its newline, a control tag)."""
    node = doc.root.descendant_for_byte_range(tag.start, tag.end)
    while node is not None and node.type not in _QUOTED and node.type not in ("variable_assignment", "program"):
        if node.parent is not None and node.parent.type == "variable_assignment" \
                and node.type in ("word", "concatenation"):
            return _one_bare_ruby_string(doc, node, tag, escapers)
        node = node.parent
    if node is None or node.type not in _QUOTED:
        return None
    lo, hi = node.start_byte, node.end_byte
    tags = doc.tags_in(lo, hi)
    if (lo + 1, hi - 1) == (tag.start, tag.end) or not _joinable(tags, escapers):
        return None
    if node.type == "string" and any(_prints_quotes(t.code, properties) for t in tags):
        return None
    parts, pos = ['"'], lo + 1
    for t in tags:
        literal = doc.slice(pos, t.start)
        if node.type == "string" and re.search(r"[$`\\\"]", literal):
            return None
        parts += [literal.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#"), f"#{{{t.code.strip()}}}"]
        pos = t.end
    literal = doc.slice(pos, hi - 1)
    if node.type == "string" and re.search(r"[$`\\\"]", literal):
        return None
    parts += [literal.replace("\\", "\\\\").replace('"', '\\"').replace("#", "\\#"), '"']
    return lo, hi, f"<%= {''.join(parts)}.shellescape %>", tags


def _joinable(tags: list[ErbTag], escapers: frozenset[str] | set[str]) -> bool:
    """Whether each tag's value can go into one Ruby string as ``#{...}``: output tags on one line,
    no Ruby comment, no newline trimmed, none escaped by its own Ruby (that one must stay bare)."""
    return all(t.kind == "output" and not t.trims_newline and "\n" not in t.code
               and "#" not in strip_ruby_strings(t.code) and not escaped_value(t.code, set(escapers)) for t in tags)


#: unquoted text the shell reads as itself (no quotes, expansions, globs, escapes or separators)
_PLAIN_TEXT = re.compile(r"[A-Za-z0-9_@%+=:,./-]*")


def _one_bare_ruby_string(doc: Document, node: Node, tag: ErbTag,
                          escapers: frozenset[str] | set[str]) -> tuple[int, int, str, list[ErbTag]] | None:
    """``url=<%= scheme %>://<%= host %>:<%= port %>`` (an unquoted assignment value made of
    several tags and plain text): ``url=<%= "#{scheme}://#{host}:#{port}".shellescape %>``, one
    word escaped once, as the quoted case; the text between the tags must be plain (the shell
    read it as itself), else None and each tag is escaped on its own."""
    lo, hi = node.start_byte, node.end_byte
    tags = doc.tags_in(lo, hi)
    if (lo, hi) == (tag.start, tag.end) or len(tags) < 2 or not _joinable(tags, escapers):
        return None
    parts, pos = ['"'], lo
    for t in [*tags, None]:
        literal = doc.slice(pos, t.start if t is not None else hi)
        if not _PLAIN_TEXT.fullmatch(literal):
            return None
        parts.append(literal)
        if t is not None:
            parts.append(f"#{{{t.code.strip()}}}")
            pos = t.end
    parts.append('"')
    return lo, hi, f"<%= {''.join(parts)}.shellescape %>", tags


def _prints_quotes(code: str, properties: Mapping[str, object]) -> bool:
    if _PRINTS_QUOTES.search(code):
        return True
    for name in ruby.properties_read(code):
        declared = properties.get(name)
        if isinstance(declared, dict) and isinstance(declared.get("default"), (list, dict)):
            return True
    return False
