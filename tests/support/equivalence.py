"""Do an original job and its migrated form run the same commands? Proof by running both.

For one job, original and migrated: every template is rendered with Ruby's ERB (the tool's own
renderer, in batches) in two contexts, the spec's defaults plus values made up from property names,
and the same with every boolean flipped (``ALL_CONTEXTS`` adds a third, ``spaced``: every string in
a list or a hash of two words, which the sample release is also proven in); the rendered job is installed in a sandbox (``/var/vcap``
moved to a temporary root) where every external command is a stub that logs its argv
(``tests/support/job_sandbox.py``, ``tests/support/stubs.py``); each changed script of both versions
runs with real bash (control scripts with ``start`` and then ``stop`` in the same sandbox, others
once), as ``nobody`` and without network when the harness runs as root, since field releases write
where they please; ``tests/support/call_diff.py`` compares the runs.

The two runs must start the same external commands with the same expanded arguments (sandbox paths
and pids normalised; package programs also with the same exported environment), end with the same
exit status and leave the same files outside ``jobs/`` and the logs. The only differences accepted
are those each codemod that changed the job declares (``differences`` on the codemod class); any
other is reported with the first call where the runs part.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Literal, Mapping, Sequence

import yaml

from migrator.differences import DeclaredDifferences
from migrator.discovery import load_job
from migrator.engine import find_helpers
from migrator.ruby_erb.contexts import manifest_properties
from migrator.ruby_erb.renderer import RenderRequest, default_renderer
from tests.support import stubs
from tests.support.call_diff import claimed_without_folder, first_difference, last_line, pidfiles_named
from tests.support.job_sandbox import TIMEOUT, Call, JobSandbox, Run, is_control_script, shell_options

__all__ = ["ALL_CONTEXTS", "CONTEXTS", "Call", "JobPair", "JobRun", "Run", "Verdict", "compare_jobs", "compare_scripts",
           "declared_for", "first_difference", "job_pairs", "migrate", "run_job"]

CONTEXTS: tuple[str, ...] = ("defaults", "flipped")
#: ``spaced``: the defaults with every string in a list or a hash of two words (an unquoted item
#: split into two arguments; only where a job has such strings, else its verdicts are the defaults')
ALL_CONTEXTS: tuple[str, ...] = (*CONTEXTS, "spaced")
_SOURCE_LINE = re.compile(r"^\s*(?:source|\.)\s+[\"']?([^\s\"';]+)", re.M)

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Status = Literal["equivalent", "differing", "unrunnable"]


class RenderFailure(Exception):
    """A template of the job did not render in a context."""


# -- rendering ------------------------------------------------------------------------------------
def context_properties(spec: Mapping, context: str) -> dict:
    """Manifest properties of a context: made-up values (``defaults``) or also flipped booleans."""
    if context not in ALL_CONTEXTS:
        raise ValueError(context)
    return manifest_properties(spec.get("properties") or {}, flip_booleans=context == "flipped",
                               spaced=context == "spaced")


def read_spec(job_dir: Path) -> dict:
    try:
        # libyaml, as the tool reads specs: it accepts what PyYAML's own scanner rejects (a tab)
        spec = yaml.load((job_dir / "spec").read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return {}
    return spec if isinstance(spec, dict) else {}


def render_jobs(items: Sequence[tuple[Path, Mapping]]) -> list[dict[str, str | RenderFailure]]:
    """Render every template of each (job folder, manifest properties), in one batch to Ruby:
    per job, rendered path -> text, or the failure."""
    requests: list[RenderRequest] = []
    slots: list[tuple[int, str]] = []
    out: list[dict[str, str | RenderFailure]] = []
    for i, (job_dir, props) in enumerate(items):
        spec = read_spec(job_dir)
        out.append({})
        for source, rendered in (spec.get("templates") or {}).items():
            path = job_dir / "templates" / str(source)
            try:
                text = path.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                out[i][str(rendered)] = RenderFailure(f"templates/{source}: unreadable ({exc})")
                continue
            context = {"properties": props, "spec": {}, "links": {}}
            requests.append(RenderRequest(text, context=context, spec_file=str((job_dir / "spec").resolve())))
            slots.append((i, f"{rendered}\0{source}"))
    results = default_renderer().render_many(requests) if requests else []
    for (i, key), result in zip(slots, results):
        rendered, source = key.split("\0", 1)
        out[i][rendered] = (result.output or "") if result.ok else RenderFailure(f"templates/{source}: {result.summary}")
    return out


# -- a job, old and new ---------------------------------------------------------------------------
@dataclass
class Verdict:
    """Whether one script behaves the same in one context."""

    job: str
    script: str  # rendered path, e.g. bin/web_ctl
    context: str
    status: Status
    detail: str = ""  # the first difference, or why it could not run
    runs: dict[str, tuple[Run, Run]] = field(default_factory=dict, repr=False)

    def __str__(self) -> str:
        return f"{self.job}/{self.script} [{self.context}]: {self.status}{': ' + self.detail if self.detail else ''}"


@dataclass
class JobPair:
    """One job as it was and as the tool left it, and the codemods that changed it."""

    name: str
    old_dir: Path
    new_dir: Path
    declared: tuple[DeclaredDifferences, ...]
    scripts: tuple[str, ...] = ()  # rendered paths to run; empty: every script whose template changed


def changed_scripts(old_dir: Path, new_dir: Path) -> list[str]:
    """Rendered paths of the scripts (as discovery classifies them) whose template changed."""
    if not (new_dir / "spec").is_file():
        return []
    out = []
    new_job = load_job(new_dir)
    for template in new_job.scripts:
        if template.rendered is None:
            continue
        before = old_dir / "templates" / template.source
        try:
            if not before.is_file() or before.read_bytes() != template.path.read_bytes():
                out.append(template.rendered)
        except OSError:
            continue
    return out


def compare_jobs(pairs: Sequence[JobPair], contexts: Sequence[str] = CONTEXTS, workers: int = 2,
                 work: Path | None = None, timeout: float = TIMEOUT) -> list[Verdict]:
    """Every (script, context) of every pair, in parallel threads; one Ruby batch renders all."""
    items: list[tuple[Path, Mapping]] = []
    runs: list[tuple[JobPair, str]] = []  # (pair, context) rendered and run
    same_as: dict[tuple[int, str], str] = {}  # (pair, context) -> the context whose verdicts it shares
    for n, pair in enumerate(pairs):
        spec = read_spec(pair.old_dir)
        for context in contexts:
            props = context_properties(spec, context)
            if context == "spaced" and "defaults" in contexts and props == context_properties(spec, "defaults"):
                same_as[(n, context)] = "defaults"  # no string in a list or hash: the same run
                continue
            items += [(pair.old_dir, props), (pair.new_dir, props)]
            runs.append((pair, context))
    rendered = render_jobs(items)
    units = []
    for k, (pair, context) in enumerate(runs):
        old_files, new_files = rendered[2 * k], rendered[2 * k + 1]
        for script in list(pair.scripts) or changed_scripts(pair.old_dir, pair.new_dir):
            units.append((pair, script, context, old_files, new_files))
    root = Path(tempfile.mkdtemp(prefix="equivalence-", dir=work))
    os.chmod(root, 0o755)
    try:
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            found = list(pool.map(lambda u: _compare_unit(root, *u, timeout=timeout), units))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out: list[Verdict] = []
    for n, pair in enumerate(pairs):
        for context in contexts:
            source = same_as.get((n, context), context)
            out += [v if source == context else dataclasses.replace(v, context=context)
                    for unit, v in zip(units, found) if unit[0] is pair and unit[2] == source]
    return out


def _compare_unit(root: Path, pair: JobPair, script: str, context: str,
                  old_files: Mapping[str, str | RenderFailure], new_files: Mapping[str, str | RenderFailure],
                  timeout: float = TIMEOUT) -> Verdict:
    verdict = Verdict(pair.name, script, context, "equivalent")
    if isinstance(old_files.get(script), RenderFailure):
        verdict.status, verdict.detail = "unrunnable", f"render failure: {old_files[script]}"
        return verdict
    # a template that did not render before either (made-up values a template rejects) is left
    # out of both sandboxes; one that rendered before and does not now is a difference
    old_errors = {_ruby_error(v) for v in old_files.values() if isinstance(v, RenderFailure)}
    newly = [v for k, v in new_files.items() if isinstance(v, RenderFailure)
             and not isinstance(old_files.get(k), RenderFailure) and _ruby_error(v) not in old_errors]
    if newly:
        verdict.status, verdict.detail = "differing", f"the migrated job does not render: {newly[0]}"
        return verdict
    old_failed = sorted(k for k, v in old_files.items() if isinstance(v, RenderFailure))
    new_failed = sorted(k for k, v in new_files.items() if isinstance(v, RenderFailure))
    if old_failed != new_failed:  # the same error, moved to another file: the two jobs would lack different files
        failure = old_files[old_failed[0]] if old_failed else new_files[new_failed[0]]
        verdict.status, verdict.detail = "unrunnable", f"render failure: {failure}"
        return verdict
    if script not in old_files or script not in new_files:
        verdict.status, verdict.detail = "unrunnable", f"{script} is not rendered by both versions"
        return verdict
    old_text, new_text = str(old_files[script]), str(new_files[script])
    if old_text == new_text and _same_rendered(old_files, new_files):
        return verdict
    dash_problem = _dash_rejects(old_text, new_text)
    if dash_problem:
        verdict.status, verdict.detail = "differing", dash_problem
        return verdict
    helpers_old = _helpers(pair.old_dir, old_files)
    helpers_new = _helpers(pair.new_dir, new_files)
    texts = [t for t in (*old_files.values(), *new_files.values(), *helpers_old.values(), *helpers_new.values())
             if isinstance(t, str) and _looks_like_shell(t)]
    names, _functions = stubs.command_names(texts)
    entry = _entry_point(pair.name, script, old_files)
    entry_text = str(old_files[entry])
    phases = [("start",), ("stop",)] if is_control_script(entry, entry_text) else [()]
    unit = root / hashlib.sha1(f"{pair.name}\0{pair.old_dir}\0{script}\0{context}".encode()).hexdigest()[:16]
    unit.mkdir()
    try:
        boxes = (JobSandbox(unit / "box", pair.name, _texts(old_files), helpers_old, names, parked=unit / "old"),
                 JobSandbox(unit / "box", pair.name, _texts(new_files), helpers_new, names, parked=unit / "new"))
        runs = {}
        for args in phases:
            if args == ("stop",):
                for box in boxes:
                    box.mark_running()
            old_run, new_run = (box.run(entry, *args, timeout=timeout) for box in boxes)
            runs[old_run.phase] = (old_run, new_run)
        verdict.runs = runs
        if entry != script:
            verdict.detail = f"run through {entry}"
        pidfiles = pidfiles_named(r for pair_runs in runs.values() for r in pair_runs)
        for old_run, new_run in runs.values():
            if old_run.timed_out and new_run.timed_out:
                last = f" (last call: `{old_run.calls[-1].show()}`)" if old_run.calls else ""
                verdict.status = "unrunnable"
                verdict.detail = f"{old_run.phase}: both versions run longer than {timeout:g} s{last}"
                break
            if claimed_without_folder(old_run, new_run, pair.declared):
                verdict.status = "unrunnable"
                verdict.detail = (f"{old_run.phase}: the original cannot write its pidfile here (its folder is "
                                  "missing; sipid claim creates it), so the runs part from there")
                break
            difference = first_difference(old_run, new_run, pair.declared, pidfiles)
            if difference:
                verdict.status, verdict.detail = "differing", difference
                break
        return verdict
    finally:
        shutil.rmtree(unit, ignore_errors=True)


def _ruby_error(failure: RenderFailure) -> str:
    """The error without the template's name: the same error moved to a new template is old."""
    return str(failure).split(": ", 1)[-1]


def _entry_point(job: str, script: str, files: Mapping[str, str | RenderFailure]) -> str:
    """The script to run for ``script``: a control script of the job that runs it (a two-stage
    start execs ``bin/x_as_vcap``), so that it runs after the set-up it relies on, else itself."""
    if is_control_script(script, str(files.get(script, ""))):
        return script
    for other, text in sorted(files.items()):
        if (other != script and other.startswith("bin/") and isinstance(text, str)
                and (f"/var/vcap/jobs/{job}/{script}" in text or f"/{script}" in text) and is_control_script(other, text)):
            return other
    return script


def _texts(files: Mapping[str, str | RenderFailure]) -> dict[str, str]:
    return {k: v for k, v in files.items() if isinstance(v, str)}


def _same_rendered(a: Mapping, b: Mapping) -> bool:
    return {k: v for k, v in a.items() if isinstance(v, str)} == {k: v for k, v in b.items() if isinstance(v, str)}


def _looks_like_shell(text: str) -> bool:
    first = text.split("\n", 1)[0]
    return not first.startswith("#!") or bool(re.search(r"\b(ba|da)?sh\b", first))


def _dash_rejects(old: str, new: str) -> str | None:
    """A ``#!/bin/sh`` script runs under dash on a stemcell: bash would accept what dash rejects."""
    _opts, posix = shell_options(old)
    if not posix or not shutil.which("dash"):
        return None
    def ok(text: str) -> bool:
        return subprocess.run(["dash", "-n"], input=text.encode(), capture_output=True).returncode == 0
    if ok(old) and not ok(new):
        proc = subprocess.run(["dash", "-n"], input=new.encode(), capture_output=True)
        return f"dash (the stemcell's sh) rejects the migrated script: {last_line(proc.stderr.decode(errors='replace'))}"
    return None


def _helpers(job_dir: Path, files: Mapping[str, str | RenderFailure]) -> dict[str, str]:
    """Package files the rendered scripts source, found in the release as the tool finds them."""
    sourced = set()
    for text in files.values():
        if isinstance(text, str):
            sourced |= {m.group(1) for m in _SOURCE_LINE.finditer(text) if m.group(1).startswith("/var/vcap/packages/")}
    if not sourced:
        return {}
    try:
        return find_helpers(load_job(job_dir), sorted(sourced))
    except Exception:  # noqa: BLE001 - a release the tool cannot read has no helpers to offer
        return {}


# -- a whole release ------------------------------------------------------------------------------
REPO = Path(__file__).resolve().parents[2]


def copy_release(release: Path, dest: Path) -> Path:
    """What the tool and the harness read of a release: ``jobs/``, the shell files under ``src/``
    (helpers that scripts source) and the tool's configuration; blobs and sources stay behind."""
    dest.mkdir(parents=True)
    shutil.copytree(release / "jobs", dest / "jobs", symlinks=True)
    for name in (".exemplar-migrate.toml", "pyproject.toml"):
        if (release / name).is_file():
            shutil.copy2(release / name, dest / name)
    src = release / "src"
    if src.is_dir():
        for path in src.rglob("*.sh"):
            if path.is_file() and not path.is_symlink():
                target = dest / path.relative_to(release)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
    return dest


def migrate(release: Path, dest: Path, *extra: str) -> dict:
    """Apply the tool to a copy of ``release`` at ``dest``; its JSON report."""
    import json
    import sys

    copy_release(release, dest)
    proc = subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", "-q", "--output-format", "json",
                           *extra, str(dest)], capture_output=True, text=True, cwd=REPO, check=False)
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        raise RuntimeError(f"the tool gave no report (exit {proc.returncode}): {proc.stderr.strip()[-300:]}") from exc


def declared_for(codemod_ids: Iterable[str]) -> tuple[DeclaredDifferences, ...]:
    from codemods import by_id
    from migrator.differences import IDENTICAL

    known = by_id()
    return tuple(getattr(known[c], "differences", IDENTICAL) for c in sorted(set(codemod_ids)) if c in known)


def codemods_by_job(report: Mapping) -> dict[str, set[str]]:
    """Which codemods changed something in each job folder (any file: script, new template, spec)."""
    out: dict[str, set[str]] = {}
    for entry in report.get("files", []):
        parts = str(entry.get("path", "")).split("/")
        if len(parts) > 2 and parts[0] == "jobs":
            out.setdefault(parts[1], set()).update(entry.get("codemods") or [])
    return out


def job_pairs(original: Path, migrated: Path, report: Mapping) -> list[JobPair]:
    """A pair for every job the tool changed, with the declarations of the codemods that did."""
    return [JobPair(job, original / "jobs" / job, migrated / "jobs" / job, declared_for(ids))
            for job, ids in sorted(codemods_by_job(report).items())]


# -- one script of one job, with given properties (the hand-written cases of the ERB tests) -------
@dataclass
class JobRun:
    """One run of a rendered job script: exit status, the package programs it started (as a
    process supervisor would see them), the files asked for, stderr, and the whole run."""

    rc: int | None
    calls: list[dict]
    files: dict[str, str]
    stderr: str
    run: Run


@lru_cache(maxsize=1)
def _scratch() -> Path:
    import atexit

    root = Path(tempfile.mkdtemp(prefix="equivalence-"))
    os.chmod(root, 0o755)
    atexit.register(shutil.rmtree, root, True)
    return root


def run_job(release: Path, job: str, script: str, props: Mapping, *args: str, watch: tuple[str, ...] = (),
            timeout: float = 20.0) -> JobRun:
    """Render every template of ``job`` in ``release`` with manifest ``props`` and run
    ``bin/<script>`` in a fresh sandbox; raises ``RenderError`` when a template does not render."""
    from tests.support.erb_render import RenderError

    job_dir = release / "jobs" / job
    files = render_jobs([(job_dir, props)])[0]
    failed = [v for v in files.values() if isinstance(v, RenderFailure)]
    if failed:
        raise RenderError(f"render error: {failed[0]}")
    texts = _texts(files)
    helpers = _helpers(job_dir, files)
    names, _functions = stubs.command_names([t for t in (*texts.values(), *helpers.values()) if _looks_like_shell(t)])
    base = Path(tempfile.mkdtemp(dir=_scratch()))
    os.chmod(base, 0o755)  # the script runs as nobody
    try:
        box = JobSandbox(base / "box", job, texts, helpers, names)
        result = box.run(f"bin/{script}", *args, timeout=timeout)
        seen = {}
        for path in watch:
            target = box.box.path(path)
            seen[path] = box.normalise(target.read_text()) if target.exists() else "<missing>"
        return JobRun(result.rc, result.program_calls(), seen, result.stderr, result)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def compare_scripts(old: str, new: str, codemods: Iterable[str], *, script: str = "bin/job_ctl",
                    properties: Mapping | None = None, contexts: Sequence[str] = ("defaults",),
                    timeout: float = TIMEOUT) -> list[Verdict]:
    """Compare two versions of one script (a property test's generated input and the codemods'
    output) as the only template of a job ``job`` whose spec declares ``properties``."""
    base = Path(tempfile.mkdtemp(dir=_scratch()))
    try:
        dirs = []
        for side, text in (("old", old), ("new", new)):
            job_dir = base / side / "jobs" / "job"
            (job_dir / "templates").mkdir(parents=True)
            (job_dir / "templates" / "script.erb").write_text(text)
            (job_dir / "spec").write_text(yaml.safe_dump({"name": "job", "templates": {"script.erb": script},
                                                          "packages": ["job"], "properties": dict(properties or {})}))
            dirs.append(job_dir)
        pair = JobPair("job", dirs[0], dirs[1], declared_for(codemods), (script,))
        return compare_jobs([pair], contexts=contexts, workers=1, timeout=timeout)
    finally:
        shutil.rmtree(base, ignore_errors=True)
