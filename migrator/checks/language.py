"""Language: a rewrite keeps the script in its shell's language and its shebang on line 1.

``#!/bin/sh`` is dash on the stemcell, and dash stops at ``source``, arrays, ``[[`` or process
substitution: ``bash -n`` accepts all of them, so the grammar check cannot see the break. This check
compares the bash-only constructs of the original and the rewrite (tree facts, counted per kind),
and, where dash is installed, asks ``dash -n`` too. The kernel reads the shebang only from the
first line: a line inserted above it makes the script run under whatever shell calls it.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from migrator.codemod import JobContext
from migrator.document import Document
from migrator.language import bash_constructs, shebang_line


def check(ctx: JobContext, original: Document, final: Document) -> str | None:
    before = shebang_line(original)
    if before is not None:
        after = shebang_line(final)
        if after is None or after[1] != before[1]:
            return f"the rewrite moved the shebang `{before[1]}` off the script's first line"
    if ctx.dialect(original) != "sh":
        return None
    added = bash_constructs(final) - bash_constructs(original)
    if added:
        what = ", ".join(f"`{kind}`" if not kind.startswith("the ") else kind for kind in sorted(added))
        return (f"the rewrite adds bash-only {what} to a POSIX sh script (#!/bin/sh runs under dash on the "
                "stemcell)")
    problem = dash_syntax_error(final.masked)
    if problem and not dash_syntax_error(original.masked):
        return f"dash -n rejects the rewritten POSIX sh script ({problem})"
    return None


def dash_syntax_error(masked: bytes) -> str | None:
    """dash's own verdict on a script with its ERB masked; None when it parses or dash is missing."""
    dash = _dash_path()
    if dash is None:
        return None
    proc = subprocess.run([dash, "-n"], input=masked, capture_output=True, check=False)
    if proc.returncode == 0:
        return None
    lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[0] if lines else "syntax error"


@lru_cache(maxsize=1)
def _dash_path() -> str | None:
    return shutil.which("dash")
