"""Grammar: the rewrite still parses as bash (tree-sitter and ``bash -n``) and its ERB still scans.

tree-sitter's grammar is more forgiving than bash in places (it accepts ``then fi`` with an empty
body), so a rewrite must also pass the real shell; the ERB check catches a codemod that cut a tag.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import lru_cache

from migrator import erb
from migrator.codemod import JobContext
from migrator.document import Document


def check(ctx: JobContext, original: Document, final: Document) -> str | None:
    if final.error_count > original.error_count:
        return f"the rewritten script does not parse as bash (line {final.first_error_line()})"
    problem = bash_syntax_error(final.masked)
    if problem and not bash_syntax_error(original.masked):
        return f"bash -n rejects the rewritten script ({problem})"
    if final.erb_error and not original.erb_error:
        return "the rewritten script has a broken ERB tag"
    if erb.blocks_balanced(list(original.tags)) and not erb.blocks_balanced(list(final.tags)):
        return "the rewritten script's ERB blocks no longer balance"
    return None


def bash_syntax_error(masked: bytes) -> str | None:
    """bash's own verdict (``bash -n``) on a script with its ERB masked; None when it parses.

    Skipped where bash is missing.
    """
    bash = _bash_path()
    if bash is None:
        return None
    proc = subprocess.run([bash, "-n"], input=masked, capture_output=True, check=False)
    if proc.returncode == 0:
        return None
    return proc.stderr.decode("utf-8", "replace").strip().splitlines()[0] if proc.stderr.strip() else "syntax error"


@lru_cache(maxsize=1)
def _bash_path() -> str | None:
    return shutil.which("bash")
