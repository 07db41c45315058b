"""Plan and verify: run codemods over a job's scripts and decide which results are safe to keep.

For each script the selected codemods run in registry order on the evolving document (re-parsed
after each one, so they never fight over overlapping edits). The result is accepted only when it
passes every check of ``migrator.checks`` and a second pass of the same codemods changes nothing;
otherwise the file is left exactly as it was and a finding says which check failed.
"""

from __future__ import annotations

import re
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Sequence

from migrator.checks import ruby_render, script_checks
from migrator.codemod import Codemod, CodemodResult, Edit, Finding, JobContext, NewFile, Options, SpecChange
from migrator.discovery import Job, Template, UnreadableScript, read_script
from migrator.document import Document
from migrator.edits import EditConflict, OffsetMap, apply
from migrator.helpers import expand_path, literal_assignments
from migrator.spec import SpecDraft, SpecError, apply_spec_changes


@dataclass
class FileChange:
    """One file the run creates, changes or removes (``after is None`` means removal)."""

    path: Path
    rel: str  # relative to the release root
    before: bytes | None
    after: bytes | None
    codemods: list[str] = field(default_factory=list)


@dataclass
class JobOutcome:
    job: str
    release_root: Path
    changes: list[FileChange] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # paths relative to the release root
    notes: list[str] = field(default_factory=list)
    internal_errors: int = 0
    required_packages: set[str] = field(default_factory=set)  # packages the release must ship
    skipped_checks: dict[str, str] = field(default_factory=dict)  # check (as in VERIFIED) -> why it did not run
    dir: Path | None = None  # the job folder (spec names can repeat across folders)
    crash_reports: list[str] = field(default_factory=list)  # tracebacks of internal errors, for the report file

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]


@dataclass
class ScriptResult:
    template: Template
    original: Document
    final: Document
    applied: list[str]
    result: CodemodResult  # new files, spec changes and findings (edits already applied)


_SUPPRESS = re.compile(r"#\s*exemplar-migrate:\s*ignore(?:\[([\w\s,-]+)\])?")


def suppressed_lines(doc: Document) -> dict[int, set[str] | None]:
    """Lines carrying a suppression comment: codemod ids, or None for every codemod."""
    out: dict[int, set[str] | None] = {}
    if b"exemplar-migrate:" not in doc.source:
        return out
    for lineno, line in enumerate(doc.text.splitlines(), start=1):
        m = _SUPPRESS.search(line)
        if m:
            out[lineno] = {s.strip() for s in m.group(1).split(",")} if m.group(1) else None
    return out


def _drop_suppressed(codemod: Codemod, doc: Document, result: CodemodResult) -> list[Finding]:
    """Remove edits on suppressed lines (and every edit with the same fix label)."""
    lines = suppressed_lines(doc)
    if not lines or not result.edits:
        return []
    blocked_fixes: set[str] = set()
    blocked: list[Edit] = []
    notes = []
    for edit in result.edits:
        first, last = doc.line_of(edit.start), doc.line_of(max(edit.start, edit.end - 1))
        for ln in range(first, last + 1):
            ids = lines.get(ln, set())
            if ln in lines and (ids is None or codemod.id in ids):
                blocked.append(edit)
                if edit.fix:
                    blocked_fixes.add(edit.fix)
                notes.append(Finding(codemod.id, doc.path, ln, "rewrite suppressed by comment", "info"))
                break
    result.edits = [e for e in result.edits if e not in blocked and not (e.fix and e.fix in blocked_fixes)]
    # what the suppressed edits would have changed did not happen: their findings go with them
    result.findings = [f for f in result.findings if not (f.fix and f.fix in blocked_fixes)]
    # one note per line
    seen, unique = set(), []
    for n in notes:
        if n.line not in seen:
            seen.add(n.line)
            unique.append(n)
    return unique


class Pipeline:
    """The selected codemods in their fixed order, and the run over one script or one job."""

    def __init__(self, codemods: Sequence[Codemod], options: Options | None = None):
        self.codemods = list(codemods)
        self.options = options or Options()
        self.checks = script_checks()

    # -- one script ---------------------------------------------------------------------------
    def run_chain(self, ctx: JobContext, doc: Document) -> tuple[Document, list[str], CodemodResult, list[OffsetMap]]:
        """Run every codemod once, in order; returns the final document and what they asked for."""
        current = doc
        applied: list[str] = []
        collected = CodemodResult()
        maps: list[OffsetMap] = []
        for codemod in self.codemods:
            if not codemod.applies_to(current):
                continue
            result = codemod.transform(ctx, current)
            collected.findings += _drop_suppressed(codemod, current, result)
            # findings carry lines of `current`; map them to the original now
            collected.findings += [_map_finding(f, current, maps, doc) for f in result.findings]
            collected.new_files += [replace(nf, codemod=codemod.id) for nf in result.new_files]
            collected.removed_files += result.removed_files
            collected.spec_changes += [replace(sc, codemod=codemod.id) for sc in result.spec_changes]
            collected.requires += result.requires if result.edits else []
            if result.edits:
                new_source = apply(current.source, result.edits)
                if new_source != current.source:
                    maps.append(OffsetMap.from_edits(result.edits))
                    current = Document.parse(doc.path, new_source)
                    applied.append(codemod.id)
        return current, applied, collected, maps

    def migrate_script(self, ctx: JobContext, template: Template, source: bytes) -> ScriptResult:
        """Run the chain on one script and verify it; findings carry lines of the original."""
        original = Document.parse(template.rel, source)
        problem = _unprocessable(original)
        if problem:
            line, message = problem
            return ScriptResult(template, original, original, [], CodemodResult(
                findings=[Finding("engine", template.rel, line, message, "review")]))
        try:
            final, applied, result, _ = self.run_chain(ctx, original)
        except EditConflict as exc:
            return _rejected(template, original, f"left unchanged: a codemod produced {exc}", "error")
        if not applied and not result.changes_anything:
            return ScriptResult(template, original, original, [], result)
        failure = self.verify(ctx, original, final, result)
        if failure:
            # findings that describe a rewrite (tied to its edits) would describe one not made
            result.findings = [f for f in result.findings if not f.fix]
            result.findings.append(Finding(
                "engine", template.rel, None,
                f"left unchanged: {failure} after {', '.join(applied) or 'the codemods'}; the rewrite was not made",
                "error",
            ))
            return ScriptResult(template, original, original, [], CodemodResult(findings=result.findings))
        return ScriptResult(template, original, final, applied, result)

    def verify(self, ctx: JobContext, original: Document, final: Document,
               created: CodemodResult | None = None) -> str | None:
        """The first reason the rewrite is unsafe (see ``migrator.checks``), or None.

        The checks see the job as the rewrite leaves it: the templates it creates (an env file
        the new script sources) are among the job's files."""
        checked = with_new_files(ctx, created) if created is not None else ctx
        for check in self.checks:
            problem = check(checked, original, final)
            if problem:
                return problem
        again, applied, _, _ = self.run_chain(ctx, final)
        if applied or again.source != final.source:
            return "a second pass would change the script again (not idempotent)"
        return None


def with_new_files(ctx: JobContext, created: CodemodResult) -> JobContext:
    """The job context plus the templates a script's rewrite creates (and their spec entries)."""
    added = {sc.key: sc.value for sc in created.spec_changes if sc.kind == "add_template" and sc.value}
    if not added and not created.new_files:
        return ctx
    return replace(ctx, templates={**ctx.templates, **added},
                   files={**ctx.files, **{nf.path: nf.content for nf in created.new_files}})


def _unprocessable(doc: Document) -> tuple[int | None, str] | None:
    if doc.erb_error:
        return None, "left unchanged: the ERB tags do not scan (an unclosed '<%'?)"
    if doc.error_count:
        line = doc.first_error_line()
        return line, (
            f"left unchanged: bash cannot parse this script near line {line} (after masking ERB); "
            "nothing in it was rewritten"
        )
    return None


def _rejected(template: Template, doc: Document, message: str, severity: str) -> ScriptResult:
    return ScriptResult(template, doc, doc, [], CodemodResult(
        findings=[Finding("engine", template.rel, None, message, severity)]))  # type: ignore[arg-type]


def _map_finding(finding: Finding, doc: Document, maps: list[OffsetMap], original: Document) -> Finding:
    """Re-express a finding's line (in ``doc``, after earlier codemods' edits) in the original."""
    if finding.line is None or not maps:
        return finding
    offset = doc.line_start_of(finding.line)
    for m in reversed(maps):
        offset = m.to_original(offset)
    return replace(finding, line=original.line_of(offset))


def _with_release_path(f: Finding, job: Job) -> Finding:
    rel = job.rel_to_release(job.dir / f.path) if not f.path.startswith("jobs/") else f.path
    return replace(f, path=rel)


# -- one job ------------------------------------------------------------------------------------
_SOURCE_LINE = re.compile(r"^\s*(?:source|\.)\s+[\"']?([^\s\"';]+)", re.M)


def _read_text(path: Path) -> str | None:
    try:
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= 1024 * 1024:
            return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return None


def find_helpers(job: Job, sourced: Iterable[str]) -> dict[str, str]:
    """Text of the shell helpers the scripts source, found in the release.

    ``/var/vcap/jobs/<job>/<rendered>`` maps through the spec to the job's own template;
    ``/var/vcap/packages/<pkg>/<path>`` is looked up by file name under the release's ``src/``.
    """
    helpers: dict[str, str] = {}
    rendered_to_source = {v: k for k, v in (job.spec.templates.items() if job.spec else [])}
    src_index: dict[str, list[Path]] | None = None
    for target in sourced:
        if target in helpers:
            continue
        text = None
        m = re.match(r"/var/vcap/jobs/([^/]+)/(.+)$", target)
        if m and m.group(1) in (job.name, job.dir.name) and m.group(2) in rendered_to_source:
            text = _read_text(job.dir / "templates" / rendered_to_source[m.group(2)])
        elif target.startswith("/var/vcap/packages/"):
            if src_index is None:
                src_index = _shell_sources(job)
            tail = target.split("/", 5)[-1]
            candidates = sorted(src_index.get(Path(target).name, []), key=lambda p: (not p.as_posix().endswith(tail), len(p.parts)))
            if candidates:
                text = _read_text(candidates[0])
        if text is not None:
            helpers[target] = text
    return helpers


def _shell_sources(job: Job) -> dict[str, list[Path]]:
    """The ``*.sh`` files under the release's ``src/`` by file name: walked once per release and
    run (``Job.release_files``), not once per job that sources a package's helper (a release with
    vendored sources under src/ and many jobs walked it many times)."""
    shared = job.release_files
    if shared is not None and shared.shell_sources is not None and shared.root == job.release_root:
        return shared.shell_sources
    index: dict[str, list[Path]] = {}
    src = job.release_root / "src"
    if src.is_dir():
        for p in src.rglob("*.sh"):
            index.setdefault(p.name, []).append(p)
    if shared is not None and shared.root == job.release_root:
        shared.shell_sources = index
    return index


def build_context(job: Job, options: Options, texts: dict[str, str]) -> JobContext:
    # keyed by the path with the script's literal variables put in (``${JOB_DIR}/bin/x.sh``), the
    # way migrator.helpers.lookup asks for it
    sourced: set[str] = set()
    for text in texts.values():
        assignments: dict[str, str] | None = None  # worked out once per text, and only when a path needs it
        for m in _SOURCE_LINE.finditer(text):
            path = m.group(1)
            if "$" in path:
                assignments = literal_assignments(text) if assignments is None else assignments
                path = expand_path(path, assignments)
            sourced.add(path)
    spec = job.spec
    return JobContext(
        dialects={t.rel: t.dialect for t in job.templates if t.dialect},
        name=job.name,
        templates=dict(spec.templates) if spec else {},
        packages=tuple(spec.packages) if spec else (),
        properties=dict(spec.properties) if spec else {},
        helpers=find_helpers(job, sourced),
        files=texts,
        options=options,
        monit=_read_text(job.dir / "monit") or "",
    )


def _unlisted_finding(job: Job, pipeline: Pipeline, ctx: JobContext, template: Template, source: bytes) -> Finding:
    """Why a template the spec does not list is left alone. BOSH never renders it: a rewrite would
    change nothing that runs, yet it could give the job a package or an env file only this file asks
    for. It needs a human (review) only when the codemods chosen would have rewritten it: an old
    file with legacy shapes is either dead (delete it) or should be listed; otherwise it is info."""
    rel = job.rel_to_release(template.path)
    listed = template.source.removesuffix(".erb")  # as if the spec rendered it next to its source
    try:
        would = pipeline.migrate_script(replace(ctx, templates={**ctx.templates, template.source: listed}),
                                        replace(template, rendered=listed), source)
        rewriters = would.applied if would.final.source != would.original.source else []
    except Exception:  # only a note is at stake: never let it take the job down
        rewriters = []
    if rewriters:
        return Finding("engine", rel, None,
                       "left unchanged: not listed in the spec's templates, so BOSH never renders it; "
                       f"{', '.join(rewriters)} would rewrite it if it were", "review",
                       "List it in the spec's templates if a script runs it, or delete it.")
    return Finding("engine", rel, None,
                   "left unchanged: not listed in the spec's templates, so BOSH never renders it", "info",
                   "List it in the spec's templates if a script runs it, or delete it.")


def migrate_job(job: Job, pipeline: Pipeline) -> JobOutcome:
    outcome = JobOutcome(job.name, job.release_root, notes=list(job.notes), dir=job.dir)
    if job.spec is None:
        outcome.findings.append(Finding("engine", job.rel_to_release(job.spec_path), None,
                                        f"job skipped: its spec cannot be read ({job.spec_error})", "error"))
        return outcome
    sources: dict[str, bytes] = {}
    for template in job.scripts:
        try:
            sources[template.rel] = read_script(template.path, job.release_root)
        except UnreadableScript as exc:
            outcome.findings.append(Finding("engine", job.rel_to_release(template.path), None,
                                            f"skipped: {exc}", "error"))
    texts = {rel: data.decode("utf-8") for rel, data in sources.items()}
    for template in job.unclassified:
        outcome.findings.append(Finding(
            "engine", job.rel_to_release(template.path), None,
            f"skipped: {'rendered to ' + template.rendered if template.rendered else 'named as a script'}, but the tool cannot tell whether it is a "
            f"shell script ({template.why})",
            "review", "If it is a shell script, make its first line a shebang (#!/bin/bash, or #!/bin/sh for "
            "POSIX sh) and run the tool again; if it is not, nothing needs doing."))
    for template in job.templates:
        if template.kind != "script" and template.rel not in texts:
            text = _read_text(template.path)
            if text is not None:
                texts[template.rel] = text
    ctx = build_context(job, pipeline.options, texts)

    results: list[ScriptResult] = []
    for template in job.scripts:
        if template.rel not in sources:
            continue
        if template.rendered is None:
            outcome.findings.append(_unlisted_finding(job, pipeline, ctx, template, sources[template.rel]))
            continue
        try:
            result = pipeline.migrate_script(ctx, template, sources[template.rel])
        except Exception as exc:  # a codemod bug must not take the other files down
            outcome.internal_errors += 1
            rel = job.rel_to_release(template.path)
            outcome.findings.append(Finding("engine", rel, None,
                                            f"internal error, file left unchanged: {_one_line(exc)}", "error"))
            outcome.crash_reports.append(f"{rel}:\n{traceback.format_exc()}")
            continue
        results.append(result)

    # one Ruby batch per job: a rewrite that leaves a template Ruby cannot render is undone here,
    # before the job-level passes see the scripts
    results, ruby_skipped = ruby_render.gate(ctx, results)
    if ruby_skipped:
        outcome.skipped_checks[ruby_render.CHECK] = ruby_skipped
    results = _keep_requirements(results)

    finals = {r.template.rel: r.final for r in results}
    removed_by: dict[str, str] = {}
    job_level = CodemodResult()
    for codemod in pipeline.codemods:
        try:
            part = codemod.finish_job(ctx, finals)
            part.new_files = [replace(nf, codemod=codemod.id) for nf in part.new_files]
            part.spec_changes = [replace(sc, codemod=codemod.id) for sc in part.spec_changes]
            part.removed_files = list(part.removed_files)
            removed_by.update({path: codemod.id for path in part.removed_files})
            job_level.merge(part)
        except Exception as exc:
            outcome.internal_errors += 1
            outcome.findings.append(Finding("engine", "spec", None,
                                            f"internal error in {codemod.id}: {_one_line(exc)}", "error"))
            outcome.crash_reports.append(f"{job.rel_to_release(job.dir)} ({codemod.id}):\n{traceback.format_exc()}")

    _collect(job, results, job_level, outcome, removed_by)
    return outcome


def _keep_requirements(results: list[ScriptResult]) -> list[ScriptResult]:
    """Undo each rewrite that relies on another script's rewrite which was not made (refused by a
    check, kept by a suppression): alone it would be unsafe (a guard gone with no claim to replace
    it). Repeated, since undoing one may leave another without what it relied on."""
    results = list(results)
    undone = True
    while undone:
        undone = False
        finals = {r.template.rel: r.final.text for r in results}
        for i, r in enumerate(results):
            unmet = next((q for q in r.result.requires if q.text not in finals.get(q.template, "")), None)
            if unmet is None or r.final.source == r.original.source:
                continue
            kept = [f for f in r.result.findings if not f.fix]
            results[i] = replace(r, final=r.original, applied=[], result=CodemodResult(findings=[*kept, Finding(
                "engine", r.template.rel, None,
                f"left unchanged: {unmet.why}, but that rewrite of {unmet.template} was not made", "error")]))
            undone = True
    return results


def _one_line(exc: BaseException) -> str:
    """An exception as one line for a finding (the full traceback goes to the crash report)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _unwritable_new_file(job: Job, files: list[NewFile], claimed: dict[str, tuple[NewFile, str]]) -> str | None:
    """The first new file a script asks for that cannot be written as asked: it exists with other
    content (or is a symlink or not a regular file), or another script of the job asked for it
    with other content."""
    for nf in files:
        if nf.path in claimed and claimed[nf.path][0].content != nf.content:
            return nf.path
        target = job.dir / nf.path
        if target.is_symlink() or (target.exists() and (not target.is_file()
                                                        or target.read_bytes() != nf.content.encode("utf-8"))):
            return nf.path
    return None


class _ProvenSpec:
    """A spec text every change of which is proven at once by parsing before and after it (the
    exact way, twice the YAML parses of one change): what ``_collect`` falls back to when the
    job's one proof of its ``SpecDraft`` fails, so the script refused is the same one."""

    def __init__(self, text: str):
        self.text = text

    def with_changes(self, changes: list[SpecChange]) -> _ProvenSpec:
        return _ProvenSpec(apply_spec_changes(self.text, changes))

    def proved(self) -> str:
        return self.text


def _collect(job: Job, results: list[ScriptResult], job_level: CodemodResult, outcome: JobOutcome,
             removed_by: dict[str, str], exact: bool = False) -> None:
    """The job's changes: each script's rewrite, when its spec changes and new files can be made
    with those of the scripts before it, then the job-level ones.

    Spec changes are placed in a ``SpecDraft`` (parsed once, by discovery; tracked through the
    edits) and the job's final spec is proven by one parse; only when that proof fails is the job
    collected again the ``exact`` way, each change proven as it is made."""
    saved = (list(outcome.findings), list(outcome.changes), set(outcome.required_packages), job_level)
    spec_text = job.spec_path.read_bytes().decode("utf-8")
    spec_now: SpecDraft | _ProvenSpec  # the spec with every accepted change so far
    try:
        spec_now = _ProvenSpec(spec_text) if exact else SpecDraft.of(
            spec_text, job.spec if job.spec_text == spec_text else None)
    except SpecError:
        spec_now = _ProvenSpec(spec_text)
    spec_changes: list[SpecChange] = []
    new_files: dict[str, tuple[NewFile, str]] = {}
    for r in results:
        findings = [_with_release_path(f, job) for f in r.result.findings]
        # when the script is left unchanged below, findings that describe its rewrite do not hold
        outcome.findings += [f for f in findings if not f.fix]
        kept = [f for f in findings if f.fix]
        candidate = spec_now
        # a package goes into the spec (and the release) only for a script that ends up running
        # something from it: a rewrite undone or never made asks for nothing
        asked = [c for c in r.result.spec_changes
                 if c.kind != "add_package" or f"/var/vcap/packages/{c.key}/" in r.final.text]
        if asked:
            # a script that needs a spec change (a new template, a package) is only rewritten when
            # the spec can be changed with it: otherwise it would source a file BOSH never renders
            try:
                candidate = spec_now.with_changes(asked)
            except SpecError as exc:
                outcome.findings.append(Finding("engine", job.rel_to_release(r.template.path), None,
                                                f"left unchanged: its spec change cannot be made ({exc})", "error"))
                continue
        blocked = _unwritable_new_file(job, r.result.new_files, new_files)
        if blocked:
            # the script would read a file with other content than the codemod wrote for it
            outcome.findings.append(Finding("engine", job.rel_to_release(r.template.path), None,
                                            f"left unchanged: its new file {blocked} already exists (or is made "
                                            "by another script) with other content", "error"))
            continue
        outcome.findings += kept
        spec_now = candidate
        spec_changes += asked
        if r.final.source != r.original.source:
            outcome.changes.append(FileChange(r.template.path, job.rel_to_release(r.template.path),
                                              r.original.source, r.final.source, r.applied))
        for nf in r.result.new_files:
            new_files[nf.path] = (nf, r.template.rel)
    outcome.findings += [_with_release_path(f, job) for f in job_level.findings]
    for nf in job_level.new_files:
        new_files[nf.path] = (nf, "spec")
    try:
        if job_level.spec_changes:
            spec_now = spec_now.with_changes(job_level.spec_changes)
        spec_changes += job_level.spec_changes
    except SpecError as exc:
        outcome.findings.append(Finding("engine", job.rel_to_release(job.spec_path), None,
                                        f"spec not changed: {exc}", "review"))
        job_level = CodemodResult(findings=job_level.findings)

    for path, (nf, origin) in sorted(new_files.items()):
        target = job.dir / path
        data = nf.content.encode("utf-8")
        existing = target.read_bytes() if target.is_file() else None
        if existing == data:
            continue
        if existing is not None or target.is_symlink():
            outcome.findings.append(Finding("engine", job.rel_to_release(target), None,
                                            f"not written: {path} already exists with other content", "error"))
            continue
        outcome.changes.append(FileChange(target, job.rel_to_release(target), None, data, [nf.codemod or origin]))
    for path in sorted(set(job_level.removed_files)):
        target = job.dir / path
        if target.is_file() and not target.is_symlink():
            outcome.changes.append(FileChange(target, job.rel_to_release(target), target.read_bytes(), None,
                                              [removed_by.get(path, "")] if removed_by.get(path) else []))

    try:
        spec_final = spec_now.proved()
    except SpecError:
        outcome.findings, outcome.changes, outcome.required_packages, job_level = saved
        _collect(job, results, job_level, outcome, removed_by, exact=True)
        return
    outcome.required_packages |= {c.key for c in spec_changes if c.kind == "add_package"}
    if spec_final != spec_text:
        by = sorted({c.codemod for c in spec_changes if c.codemod})
        outcome.changes.append(FileChange(job.spec_path, job.rel_to_release(job.spec_path),
                                          spec_text.encode("utf-8"), spec_final.encode("utf-8"), by))
    outcome.changes.sort(key=lambda c: c.rel)
