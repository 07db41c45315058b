"""The whole lines an ERB tag covers (``erb-to-config``).

A tag may span several lines (``<%\n  if p("x")\n-%>``). Any edit that replaces or deletes "the
tag's line" must cover all of them: taking only the first leaves Ruby behind as script text.
"""

from __future__ import annotations

from migrator.document import Document
from migrator.erb import ErbTag


def tag_lines(doc: Document, tag: ErbTag) -> tuple[int, int]:
    """[start, end) of the lines from the tag's first to its last byte, newline included."""
    return doc.line_start(tag.start), doc.line_end(max(tag.start, tag.end - 1))


def alone_on_its_lines(doc: Document, tag: ErbTag, masked: bytes | None = None) -> bool:
    """Whether nothing but this tag (and blanks) is on the lines it covers."""
    ls, le = tag_lines(doc, tag)
    text = doc.masked if masked is None else masked
    return not text[ls:le].strip() and len(doc.tags_in(ls, le)) == 1
