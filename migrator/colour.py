"""Colour for diffs and findings on a terminal, and only there.

``--color auto`` (the default) colours a stream only when it is a terminal, and never when
``NO_COLOR`` is set (https://no-color.org) or ``TERM=dumb``; ``always`` colours a pipe too (for
``less -R``), ``never`` never does. A report written with ``-o FILE`` is never coloured: a file is
read by tools, not by a terminal. Plain SGR codes only, so any terminal that shows colour shows these.
"""

from __future__ import annotations

import os
import re
from typing import TextIO

CHOICES = ("auto", "always", "never")

RESET = "\x1b[0m"
BOLD, RED, GREEN, YELLOW, BLUE, MAGENTA, CYAN = "\x1b[1m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[34m", \
    "\x1b[35m", "\x1b[36m"
_SEVERITY = {"error": RED + BOLD, "review": YELLOW + BOLD, "info": BLUE}
_FINDING = re.compile(r"^(?P<where>\S+?: )(?P<codemod>\[[^\]]+\] )(?P<severity>error|review|info)(?P<rest>:.*)$")


def enabled(choice: str, stream: TextIO) -> bool:
    """Should text written to ``stream`` be coloured?"""
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or replaced stream
        return False


def _paint(code: str, text: str) -> str:
    return f"{code}{text}{RESET}" if text else text


def diff(text: str) -> str:
    """A unified diff with file headers bold, hunk headers cyan, removals red, additions green."""
    out = []
    for line in text.splitlines(keepends=True):
        body, end = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if body.startswith(("--- ", "+++ ")):
            out.append(_paint(BOLD, body) + end)
        elif body.startswith("@@"):
            out.append(_paint(CYAN, body) + end)
        elif body.startswith("-"):
            out.append(_paint(RED, body) + end)
        elif body.startswith("+"):
            out.append(_paint(GREEN, body) + end)
        else:
            out.append(line)
    return "".join(out)


def finding(text: str) -> str:
    """``file:line: [codemod] severity: message`` with the place bold and the severity coloured."""
    first, _, more = text.partition("\n")
    m = _FINDING.match(first)
    if m is None:
        return text
    head = (_paint(BOLD, m["where"]) + _paint(MAGENTA, m["codemod"].rstrip()) + " "
            + _paint(_SEVERITY[m["severity"]], m["severity"]) + m["rest"])
    if more:  # the suggestion line
        head += "\n" + re.sub(r"^(\s*suggestion:)", lambda s: _paint(GREEN, s.group(1)), more)
    return head
