"""The contract between the engine and the codemods.

A codemod is a pure function of a job and one parsed script: it returns byte-range edits, new files,
spec changes and findings, and never reads or writes anything itself. The engine owns all I/O, runs
codemods one after another on the evolving document and verifies the result. This is the shape of
libcst's codemod commands and ruff's rules: small, self-describing, testable from strings.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import ClassVar, Literal, Mapping

from migrator.document import Document

Severity = Literal["info", "review", "error"]


@dataclass(frozen=True)
class Edit:
    """Replace bytes [start, end) of the document's source with ``text``."""

    start: int
    end: int
    text: str
    fix: str = ""  # edits with the same label stand or fall together (e.g. under suppression)

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"edit with start {self.start} after end {self.end}")


@dataclass(frozen=True)
class Finding:
    """Something a human should know: a rewrite's side effect, or why something was left alone.

    ``line`` is 1-based in the file as the codemod saw it; the engine maps it back to the original.
    ``fix`` names the edits (their ``Edit.fix`` label) whose side effect the finding describes: when
    those edits are not made (a suppression comment, a rewrite the gate refuses), the engine drops
    the finding too, so no finding describes a rewrite that did not happen.
    """

    codemod: str
    path: str  # relative to the job directory
    line: int | None
    message: str
    severity: Severity = "review"
    suggestion: str | None = None
    fix: str = field(default="", compare=False)


@dataclass(frozen=True)
class NewFile:
    """A file the codemod wants created in the job (path relative to the job directory)."""

    path: str
    content: str
    codemod: str = ""  # set by the engine: which codemod asked for it (for reports and PR texts)


@dataclass(frozen=True)
class SpecChange:
    """A change to the job's ``spec``, applied by the engine as a minimal text edit.

    kinds: ``add_template`` (key=source, value=rendered path), ``remove_template`` (key=source),
    ``add_package`` (key=package name).
    """

    kind: Literal["add_template", "remove_template", "add_package"]
    key: str
    value: str | None = None
    codemod: str = field(default="", compare=False)  # set by the engine


@dataclass(frozen=True)
class Requirement:
    """A script's rewrite is only safe together with another script's: ``template``'s rewritten
    text must contain ``text`` (a two-stage start drops its guard because the script it runs now
    claims the pidfile). The engine undoes the script when that rewrite was not made."""

    template: str  # relative to the job directory, like a Finding's path
    text: str
    why: str


@dataclass
class CodemodResult:
    edits: list[Edit] = field(default_factory=list)
    new_files: list[NewFile] = field(default_factory=list)
    removed_files: list[str] = field(default_factory=list)
    spec_changes: list[SpecChange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    requires: list[Requirement] = field(default_factory=list)

    def merge(self, other: "CodemodResult") -> None:
        self.edits += other.edits
        self.new_files += other.new_files
        self.removed_files += other.removed_files
        self.spec_changes += other.spec_changes
        self.findings += other.findings
        self.requires += other.requires

    @property
    def changes_anything(self) -> bool:
        return bool(self.edits or self.new_files or self.removed_files or self.spec_changes)


@dataclass(frozen=True)
class Options:
    """Settings that codemods read (from the command line or the config file)."""

    sipid_path: str = "/var/vcap/packages/sipid/bin/sipid"


@dataclass(frozen=True)
class JobContext:
    """What a codemod may know about the job around the script it transforms.

    ``templates`` maps template source (relative to ``templates/``) to rendered path, as the spec
    says; ``helpers`` holds the text of shell helpers the job's scripts source, keyed by the path
    the script sources (``/var/vcap/packages/x/utils.sh``), read by the engine from the release.
    ``files`` holds the text of the job's other templates (for codemods that must look across
    scripts, e.g. to see whether a helper is still sourced). ``dialects`` maps a script's path
    (``templates/ctl.erb``) to the shell it is written for, as discovery decided it; read it
    through :meth:`dialect`.
    """

    name: str
    templates: Mapping[str, str]
    packages: tuple[str, ...] = ()
    properties: Mapping[str, object] = field(default_factory=dict)
    helpers: Mapping[str, str] = field(default_factory=dict)
    files: Mapping[str, str] = field(default_factory=dict)
    options: Options = field(default_factory=Options)
    dialects: Mapping[str, str] = field(default_factory=dict)
    #: the job's ``monit`` file: which scripts monit runs itself (their own output is discarded)
    monit: str = ""

    def dialect(self, doc: Document) -> str:
        """``bash`` or ``sh``: what a codemod may write into this script. A POSIX ``sh`` script
        (``#!/bin/sh`` is dash on the stemcell) gets ``.`` for ``source`` and no arrays, ``[[``
        or process substitution. Decided once per script, on the original (see
        ``migrator.language.dialect_of``), so an earlier codemod's edit cannot change it."""
        from migrator.language import dialect_of

        return self.dialects.get(doc.path) or dialect_of(doc)

    def rendered_path(self, template_path: str) -> str | None:
        """Rendered path (``bin/ctl``) of a template given as ``templates/ctl.erb``."""
        key = template_path.removeprefix("templates/")
        return self.templates.get(key)

    def script_name(self, template_path: str) -> str:
        """The name the script runs under on the VM (``bin/foo_ctl`` -> ``foo_ctl``)."""
        rendered = self.rendered_path(template_path)
        base = (rendered or template_path).rsplit("/", 1)[-1]
        return base.removesuffix(".erb") if rendered is None else base


class Codemod:
    """Base class: subclasses set ``id``, ``summary``, ``rationale`` and implement ``transform``.

    ``triggers`` are byte strings of which at least one must occur in a file for the codemod to
    look at it: a cheap pre-filter before any tree walk.
    """

    id: ClassVar[str]
    summary: ClassVar[str]
    rationale: ClassVar[str]
    triggers: ClassVar[tuple[bytes, ...]] = ()
    #: external commands the rewrite may add to a script (the configured sipid is always allowed);
    #: the semantic post-check refuses any other command the original never called
    introduces: ClassVar[frozenset[str]] = frozenset()

    def applies_to(self, doc: Document) -> bool:
        return not self.triggers or any(t in doc.source for t in self.triggers)

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        raise NotImplementedError

    def finish_job(self, job: JobContext, documents: Mapping[str, Document]) -> CodemodResult:
        """Job-wide changes after every script was transformed (e.g. drop an unused helper)."""
        return CodemodResult()

    @classmethod
    def explain(cls) -> str:
        """The long documentation shown by ``--explain ID``: the class docstring."""
        doc = inspect.getdoc(cls) or cls.summary
        return f"{cls.id}: {cls.summary}\n\n{doc}\n\nWhy: {cls.rationale}\n"

    def finding(
        self,
        doc: Document,
        offset: int | None,
        message: str,
        severity: Severity = "review",
        suggestion: str | None = None,
        fix: str = "",
    ) -> Finding:
        line = doc.line_of(offset) if offset is not None else None
        return Finding(self.id, doc.path, line, message, severity, suggestion, fix)
