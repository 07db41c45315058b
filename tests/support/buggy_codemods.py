"""The real CLI with codemods that have bugs, for the internal-error tests only.

``python -m tests.support.buggy_codemods ARGS`` adds them to the registry of this process and runs
``migrator.cli.main``: the product has no hook for this, and its registry is untouched elsewhere.
"""

from __future__ import annotations

from typing import Mapping

from migrator.codemod import Codemod, CodemodResult, JobContext, NewFile
from migrator.document import Document


class RaisesInTransform(Codemod):
    """A codemod that raises on every script (the engine catches it per file)."""

    id = "test-raises"
    summary = "raises ValueError on every script"
    rationale = "tests the internal-error path"

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        raise ValueError("boom in transform\nwith a second line that must not reach the terminal")


class ReturnsBrokenFile(Codemod):
    """A codemod whose job-level result is malformed (no content): it fails outside the per-file
    guard, in the engine's collection step, so only the CLI's last line of defence catches it."""

    id = "test-broken-result"
    summary = "returns a new file without content"
    rationale = "tests the CLI's last line of defence"

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        return CodemodResult()

    def finish_job(self, job: JobContext, documents: Mapping[str, Document]) -> CodemodResult:
        return CodemodResult(new_files=[NewFile("templates/broken.env.erb", None)])  # type: ignore[arg-type]


class FailsToStart(Codemod):
    """A codemod that cannot even be created: bulk mode creates the chosen codemods before it
    processes any repo, outside the per-repo guard."""

    id = "test-fails-to-start"
    summary = "raises in its constructor"
    rationale = "tests the last line of defence of bulk mode"

    def __init__(self) -> None:
        raise RuntimeError("cannot start")


def main() -> None:
    import codemods
    from migrator.cli import main as cli_main

    codemods.REGISTRY = (*codemods.REGISTRY, RaisesInTransform, ReturnsBrokenFile, FailsToStart)
    cli_main()


if __name__ == "__main__":
    main()
