"""A codemod's documentation as people read it: plain text in a terminal, Markdown on a forge.

The docstrings are written in reStructuredText (``code`` in double backticks) because that is what
Python's tooling shows; a terminal has no renderer, so ``--explain`` would print the backticks
literally. Both forms come from the one docstring, so ``--explain``, SARIF help and PR texts agree.
"""

from __future__ import annotations

import re
import textwrap

_RST_LITERAL = re.compile(r"``(.+?)``", re.S)
_RST_ROLE = re.compile(r":[a-z]+:`([^`]+)`")

#: the width the paragraphs are wrapped to (removing markup leaves ragged lines otherwise)
WIDTH = 100


def plain(text: str) -> str:
    """reStructuredText inline markup removed: ``x`` and :role:`x` become x."""
    return _RST_ROLE.sub(r"\1", _RST_LITERAL.sub(r"\1", text))


def markdown(text: str) -> str:
    """reStructuredText inline literals as Markdown code spans."""
    return _RST_ROLE.sub(r"`\1`", _RST_LITERAL.sub(r"`\1`", text))


def _rewrap(text: str, width: int) -> str:
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width=width, break_long_words=False,
                                     break_on_hyphens=False) for p in paragraphs)


def explain_text(cls: type, width: int = WIDTH) -> str:
    """What ``--explain ID`` prints: the codemod's own ``explain()`` as plain, rewrapped text."""
    return _rewrap(plain(cls.explain()), width) + "\n"


def explain_markdown(cls: type) -> str:
    """The same documentation for a renderer that reads Markdown (SARIF ``help.markdown``)."""
    paragraphs = re.split(r"\n\s*\n", markdown(cls.explain()).strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs) + "\n"
