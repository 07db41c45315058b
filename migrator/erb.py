"""ERB segmentation and same-length masking.

BOSH renders every job template with ERB, so a control script is bash with Ruby tags in it. To parse
the bash we replace each tag with filler of exactly the same byte length: offsets in the masked text
are offsets in the original file, so an edit computed on the bash tree applies to the original bytes
without any mapping. Output tags (``<%= %>``) become a placeholder word, because in the rendered
script they produce a word; control and comment tags produce nothing, so they become blanks.
Newlines inside a tag are kept so line numbers agree too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

SegmentKind = Literal["output", "control", "comment"]

#: Filler byte for output tags. ``_`` keeps the placeholder a single valid bash word (and a valid
#: identifier in arithmetic contexts).
OUTPUT_FILL = b"_"


@dataclass(frozen=True)
class ErbTag:
    """One ``<% ... %>`` tag: its byte span in the file and the Ruby code inside it."""

    kind: SegmentKind
    start: int
    end: int
    code: str
    trims_newline: bool  # ``-%>``: the newline after the tag is swallowed at render time

    @property
    def is_output(self) -> bool:
        return self.kind == "output"


@lru_cache(maxsize=1)
def _parser():
    import tree_sitter_embedded_template as tse
    from tree_sitter import Language, Parser

    return Parser(Language(tse.language()))


_DIRECTIVES = {"output_directive", "directive", "comment_directive", "graphql_directive"}


def scan_tags(source: bytes) -> tuple[list[ErbTag], bool]:
    """Return the file's ERB tags in order and whether the template grammar found an error.

    The embedded-template grammar does the tokenising; we classify each tag ourselves because the
    grammar is shared with EJS, where ``<%-`` means output, while in ERB it is a control tag that
    trims leading whitespace.
    """
    if b"<%" not in source:
        return [], False
    tree = _parser().parse(source)
    tags: list[ErbTag] = []
    for node in tree.root_node.children:
        if node.type not in _DIRECTIVES:
            continue
        raw = source[node.start_byte : node.end_byte]
        tags.append(_classify(raw, node.start_byte, node.end_byte))
    return tags, tree.root_node.has_error


def _classify(raw: bytes, start: int, end: int) -> ErbTag:
    text = raw.decode("utf-8", "replace")
    if text.startswith("<%#"):
        kind: SegmentKind = "comment"
        code = text[3:]
    elif text.startswith("<%="):
        kind = "output"
        code = text[3:].lstrip("=")
    elif text.startswith("<%-"):
        kind = "control"
        code = text[3:]
    else:
        kind = "control"
        code = text[2:]
    trims = text.endswith("-%>")
    code = code[: -3 if trims else -2] if code.endswith("%>") else code
    return ErbTag(kind, start, end, code.strip(), trims)


def mask(source: bytes, tags: list[ErbTag]) -> bytes:
    """Replace every tag with same-length filler, keeping newlines."""
    if not tags:
        return source
    out = bytearray(source)
    for tag in tags:
        fill = OUTPUT_FILL if tag.is_output else b" "
        for i in range(tag.start, tag.end):
            if out[i] != 0x0A:
                out[i] = fill[0]
    return bytes(out)


_STATEMENT_OPENER = re.compile(r"^(?:if|unless|while|until|case|begin|def|for|class|module)\b(?![?!])")
_DO = re.compile(r"\bdo\b")
_END = re.compile(r"\bend\b")


def block_depth_changes(tags: list[ErbTag]) -> list[int]:
    """A rough count of Ruby blocks each control tag opens (+) or closes (-).

    Used only to check that a rewrite leaves ERB blocks balanced: a keyword opens a block when it
    starts a statement (so modifier ``x if y`` does not count), every ``do`` opens one and every
    ``end`` closes one.
    """
    changes = []
    for tag in tags:
        if tag.kind != "control":
            changes.append(0)
            continue
        code = strip_ruby_strings(tag.code)
        opens = sum(
            1 for stmt in re.split(r"[;\n]", code) if _STATEMENT_OPENER.match(stmt.strip())
        )
        opens += len(_DO.findall(code))
        changes.append(opens - len(_END.findall(code)))
    return changes


def strip_ruby_strings(code: str) -> str:
    """Ruby code with string literals emptied, so keywords inside strings do not count."""
    return re.sub(r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'", '""', code)


def blocks_balanced(tags: list[ErbTag]) -> bool:
    depth = 0
    for change in block_depth_changes(tags):
        depth += change
        if depth < 0:
            return False
    return depth == 0
