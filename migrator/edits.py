"""Applying byte-range edits, and mapping positions of the new text back to the old."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from migrator.codemod import Edit


class EditConflict(ValueError):
    """Two edits of one codemod overlap: the codemod has a bug, the file is left alone."""


def normalise(edits: list[Edit]) -> list[Edit]:
    """Sort edits, drop exact duplicates and refuse overlaps (insertions at one point may stack)."""
    ordered = sorted(set(edits), key=lambda e: (e.start, e.end))
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise EditConflict(f"overlapping edits at bytes {before.start}-{before.end} and {after.start}-{after.end}")
    return ordered


def apply(source: bytes, edits: list[Edit]) -> bytes:
    out = bytearray()
    pos = 0
    for edit in normalise(edits):
        out += source[pos : edit.start]
        out += edit.text.encode("utf-8")
        pos = edit.end
    out += source[pos:]
    return bytes(out)


@dataclass(frozen=True)
class OffsetMap:
    """Maps an offset in the edited text to the offset of the same place in the original."""

    new_starts: tuple[int, ...]
    deltas: tuple[int, ...]  # original offset = new offset - delta, for new offsets past new_starts[i]

    @classmethod
    def from_edits(cls, edits: list[Edit]) -> "OffsetMap":
        starts, deltas, delta = [], [], 0
        for edit in normalise(edits):
            new_start = edit.start + delta
            delta += len(edit.text.encode("utf-8")) - (edit.end - edit.start)
            starts.append(new_start)
            deltas.append(delta)
        return cls(tuple(starts), tuple(deltas))

    def to_original(self, offset: int) -> int:
        i = bisect.bisect_right(self.new_starts, offset) - 1
        if i < 0:
            return offset
        return max(self.new_starts[i] - (self.deltas[i - 1] if i else 0), offset - self.deltas[i])
