"""The verification gate: checks a rewritten script must pass before the engine keeps it.

Each check is a small module with one job. A script check is a pure function of the job context,
the original document and the rewritten one; it returns None when the rewrite is safe, or one
sentence saying what would break (the engine turns that into an error finding and leaves the file
byte-identical). Grammar comes first because the later checks read the new syntax tree.

``VERIFIED`` names what a run proves, in the order the summary line lists it.
"""

from __future__ import annotations

from typing import Callable, Optional

from migrator.codemod import JobContext
from migrator.document import Document

ScriptCheck = Callable[[JobContext, Document, Document], Optional[str]]


def script_checks() -> list[ScriptCheck]:
    """The per-script checks, in the order they run (cheap and decisive first)."""
    from migrator.checks import grammar, language, semantics

    return [grammar.check, language.check, semantics.check]


#: what the summary line says was verified (Ruby ERB only when ruby ran)
VERIFIED = ("bash grammar", "bash -n", "Ruby ERB", "commands", "variables", "idempotence")
