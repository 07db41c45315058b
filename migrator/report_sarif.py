"""``--output-format sarif``: the run's findings as SARIF 2.1.0, the format code scanning reads.

One rule per codemod (its summary, and its ``--explain`` text as help) plus ``engine`` for what the
verification gate and discovery report; one result per finding with its file, line and level.
Paths stay relative to the release root, which is the repository root when a release repo runs the
tool on ``.``; ``%SRCROOT%`` names that root. A partial fingerprint that leaves out the line number
keeps an alert the same alert when lines above it move.

GitHub's reading of the format sets a few rules of its own, kept here: every result has a region
with a ``startLine`` (1 for a finding about a whole file), and ``uri`` is never empty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import codemods
from migrator import __version__
from migrator.codemod import Finding
from migrator.explain import explain_markdown, explain_text, plain
from migrator.runner import RunResult

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {"error": "error", "review": "warning", "info": "note"}
ENGINE_RULE = {
    "id": "engine",
    "name": "VerificationGate",
    "shortDescription": {"text": "A file the tool could not read or rewrite safely"},
    "fullDescription": {"text": (
        "The engine checks every rewrite (bash grammar, bash -n, Ruby ERB, commands, variables, "
        "idempotence) and leaves a file byte-identical when a check fails; it also reports files it "
        "cannot read (symlinks, binary, CRLF, not UTF-8, too large) and specs it cannot change.")},
    "help": {"text": "Read the message: it names the file, the check that refused the rewrite and what to do.",
             "markdown": "Read the message: it names the file, the check that refused the rewrite and what to do."},
    "defaultConfiguration": {"level": "error"},
}


def _camel(cid: str) -> str:
    return "".join(part.capitalize() for part in cid.replace("_", "-").split("-"))


def _rule(cls: type) -> dict[str, Any]:
    doc = plain(cls.explain()).split("\n\n")
    full = " ".join(doc[1].split()) if len(doc) > 1 else cls.summary
    return {
        "id": cls.id,
        "name": _camel(cls.id),
        "shortDescription": {"text": cls.summary},
        "fullDescription": {"text": full},
        "help": {"text": explain_text(cls), "markdown": explain_markdown(cls)},
        "defaultConfiguration": {"level": "warning"},
        "properties": {"tags": ["bosh", "maintainability"]},
    }


def _message(f: Finding) -> str:
    return f.message + (f" Suggestion: {f.suggestion}" if f.suggestion else "")


def _fingerprint(f: Finding) -> str:
    return hashlib.sha256(f"{f.codemod}\0{f.path}\0{f.message}".encode()).hexdigest()[:32]


def as_sarif(result: RunResult, codemod_classes: Sequence[type]) -> str:
    """The SARIF log of a run of ``codemod_classes`` (the selected codemods, in run order)."""
    rules = [_rule(cls) for cls in codemod_classes]
    known = {r["id"] for r in rules}
    registry = codemods.by_id()
    for f in result.findings:  # a finding of a codemod not selected (or of the engine) still has a rule
        if f.codemod not in known:
            rules.append(_rule(registry[f.codemod]) if f.codemod in registry else
                         ENGINE_RULE if f.codemod == "engine" else
                         {**ENGINE_RULE, "id": f.codemod, "name": _camel(f.codemod)})
            known.add(f.codemod)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = [{
        "ruleId": f.codemod,
        "ruleIndex": index[f.codemod],
        "level": LEVELS.get(f.severity, "warning"),
        "message": {"text": _message(f)},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": f.path or ".", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": f.line if f.line and f.line > 0 else 1},
        }}],
        "partialFingerprints": {"exemplarMigrateFinding/v1": _fingerprint(f)},
    } for f in result.findings]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "exemplar-migrate",
            "version": __version__,
            "semanticVersion": __version__,
            "rules": rules,
        }},
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    roots = sorted({str(o.release_root) for o in result.outcomes})
    if len(roots) == 1:
        run["originalUriBaseIds"] = {"%SRCROOT%": {"uri": Path(roots[0]).as_uri() + "/"}}
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"
