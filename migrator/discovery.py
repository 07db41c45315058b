"""Finding releases, jobs and script templates from the paths a user gives, and reading them safely.

A path may be a release root (has ``jobs/``), its ``jobs/`` folder, one job folder (has ``spec``) or
files inside a job's ``templates/``. Reading refuses anything that a rewrite could damage: symlinks,
binary or non-UTF-8 files, CRLF line endings, huge files.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from migrator.language import Dialect, Language, classify, effective_first_line, shebang_dialect
from migrator.spec import JobSpec, SpecError, parse_spec
from migrator.writer import is_temp_name

MAX_SCRIPT_BYTES = 1024 * 1024


class DiscoveryError(Exception):
    """The path is not something the tool can work on (usage error, exit 2)."""


@dataclass(frozen=True)
class Template:
    source: str  # key in the spec's templates map, relative to templates/
    path: Path
    rendered: str | None  # None when the spec does not list it
    kind: Literal["script", "config", "unknown"]  # unknown: rendered as a script, language unclear
    dialect: Dialect | None = None  # of a script: what the tool may write into it
    why: str = ""  # the evidence for the language (for notes and findings)

    @property
    def rel(self) -> str:
        """Path relative to the job directory: what findings and diffs show."""
        return f"templates/{self.source}"


@dataclass(eq=False)
class ReleaseFiles:
    """What the engine reads once per release rather than once per job, shared by the jobs of a
    release that one ``discover`` call found (so a later run reads the release afresh)."""

    root: Path
    shell_sources: dict[str, list[Path]] | None = None  # file name -> the *.sh files under src/


@dataclass
class Job:
    name: str
    dir: Path
    release_root: Path
    spec: JobSpec | None
    spec_error: str | None = None
    spec_text: str | None = None  # the spec as read and parsed (the engine parses it only when changed)
    templates: list[Template] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # verbose-only messages
    only: set[Path] | None = None  # when the user named single files
    not_a_job: bool = False  # a folder with an empty spec: nothing in it is processed
    release_files: ReleaseFiles | None = field(default=None, repr=False, compare=False)

    @property
    def spec_path(self) -> Path:
        return self.dir / "spec"

    def rel_to_release(self, path: Path) -> str:
        return os.path.relpath(path, self.release_root)

    @property
    def scripts(self) -> list[Template]:
        return self._chosen("script")

    @property
    def unclassified(self) -> list[Template]:
        """Templates rendered as scripts whose language the tool cannot tell (each gets a finding)."""
        return self._chosen("unknown")

    def _chosen(self, kind: str) -> list[Template]:
        chosen = [t for t in self.templates if t.kind == kind]
        if self.only is not None:
            chosen = [t for t in chosen if t.path in self.only]
        return chosen


def has_shell_shebang(head: bytes) -> bool:
    """Is the rendered first line a shebang for bash or a POSIX sh (directly or through ``env``)?"""
    return shebang_dialect(effective_first_line(head)) is not None


def _is_job_dir(path: Path) -> bool:
    return (path / "spec").is_file() and not (path / "jobs").is_dir()


def discover(paths: list[Path]) -> list[Job]:
    """Jobs to process, in a stable order; raises DiscoveryError for paths that are not releases.

    A job named through a folder is processed whole; a job reached only through single files is
    restricted to those files.
    """
    jobs: dict[Path, Job] = {}
    whole: set[Path] = set()
    files: dict[Path, set[Path]] = {}
    for raw in paths:
        path = Path(os.path.abspath(raw))
        if not path.exists() and not path.is_symlink():
            raise DiscoveryError(f"{raw}: no such file or directory")
        if path.is_dir() and (not path.is_symlink() or _is_job_dir(path)):  # a symlinked job folder too
            for found in _job_dirs(path, raw):
                job_dir, alias = _through_symlink(found)
                whole.add(job_dir)
                _note_alias(jobs.setdefault(job_dir, load_job(job_dir)), alias)
            continue
        found = _job_dir_of_file(path)
        if found is None:
            raise DiscoveryError(f"{raw}: not inside a BOSH job (no jobs/<job>/spec above it)")
        job_dir, alias = _through_symlink(found)
        if alias is not None:
            path = job_dir / path.relative_to(found)
        _note_alias(jobs.setdefault(job_dir, load_job(job_dir)), alias)
        files.setdefault(job_dir, set()).add(path)
    for job_dir, chosen in files.items():
        if job_dir in whole or jobs[job_dir].not_a_job:
            continue
        job = jobs[job_dir]
        job.only = chosen
        known = {t.path for t in job.templates}
        for path in sorted(chosen - known):
            rel = path.relative_to(job_dir / "templates").as_posix() if _under(path, job_dir / "templates") else path.name
            job.templates.append(_as_script(job, rel, path, None))
        _callers_decide(job)
    shared: dict[Path, ReleaseFiles] = {}
    for job in jobs.values():
        job.release_files = shared.setdefault(job.release_root, ReleaseFiles(job.release_root))
    return [jobs[k] for k in sorted(jobs)]


def _through_symlink(job_dir: Path) -> tuple[Path, Path | None]:
    """A job folder that is a symlink to a sibling job folder (``jobs/web-alias -> web``) is that
    job: it is processed once, under the folder's own name. Returns the folder to use and the alias
    it was reached through (None when it was reached directly)."""
    if not job_dir.is_symlink():
        return job_dir, None
    target = Path(os.path.realpath(job_dir))
    if target.parent != Path(os.path.realpath(job_dir.parent)) or not (target / "spec").is_file():
        return job_dir, None  # a job kept elsewhere: only this path reaches it
    return job_dir.parent / target.name, job_dir


def _note_alias(job: Job, alias: Path | None) -> None:
    if alias is None:
        return
    note = f"{job.rel_to_release(alias)}: a symlink to {job.dir.name}; processed once, as {job.dir.name}"
    if note not in job.notes:
        job.notes.append(note)


def _under(path: Path, parent: Path) -> bool:
    try:
        path.relative_to(parent)
        return True
    except ValueError:
        return False


def _job_dirs(path: Path, raw: Path) -> list[Path]:
    if (path / "jobs").is_dir():
        return _jobs_in(path / "jobs")
    if _is_job_dir(path):
        return [path]
    found = _jobs_in(path)
    if found:
        return found
    raise DiscoveryError(
        f"{raw}: not a BOSH release: no jobs/ folder, and no job (a folder with a spec file) inside"
    )


def _jobs_in(jobs_dir: Path) -> list[Path]:
    return sorted(p for p in jobs_dir.iterdir() if p.is_dir() and (p / "spec").is_file())


def _job_dir_of_file(path: Path) -> Path | None:
    for parent in path.parents:
        if (parent / "spec").is_file() and (parent / "templates").is_dir():
            return parent
    return None


def release_root_of(job_dir: Path) -> Path:
    if job_dir.parent.name == "jobs":
        return job_dir.parent.parent
    return job_dir.parent


def load_job(job_dir: Path) -> Job:
    root = release_root_of(job_dir)
    spec_error = None
    text = ""
    try:
        # as bytes, line ends kept: the engine edits this text (YAML reads CRLF as LF)
        text = (job_dir / "spec").read_bytes().decode("utf-8")
        spec: JobSpec | None = parse_spec(text)
    except (SpecError, OSError, UnicodeDecodeError) as exc:
        spec, spec_error = None, str(exc)
    name = (spec.name if spec and spec.name else None) or job_dir.name
    job = Job(name=str(name), dir=job_dir, release_root=root, spec=spec, spec_error=spec_error,
              spec_text=text if spec is not None else None)
    if spec is not None and spec.empty:
        # nothing to build a job from; rewriting its scripts would give it a spec it never had
        job.not_a_job = True
        job.notes.append(f"{job.rel_to_release(job.spec_path)} is empty: not a BOSH job, skipped")
    elif spec is not None:
        job.templates = _classify_templates(job, spec)
        _callers_decide(job)
    return job


def _head(path: Path, size: int = 4096) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def _classify_templates(job: Job, spec: JobSpec) -> list[Template]:
    """Scripts are templates rendered under ``bin/`` or with a bash/sh shebang, once they are
    known to be shell (``migrator.language``); everything else is config the codemods only read."""
    tdir = job.dir / "templates"
    _check_templates_folder(tdir)
    templates: list[Template] = []
    listed: set[Path] = set()
    for source, rendered in spec.templates.items():
        path = tdir / source
        listed.add(path)
        if rendered.startswith("bin/"):
            templates.append(_as_script(job, source, path, rendered))
            continue
        dialect = shebang_dialect(effective_first_line(_head(path))) if path.is_file() else None
        templates.append(Template(source, path, rendered, "script" if dialect else "config", dialect, "shebang"))
    if tdir.is_dir():
        for path in _files_under(tdir):
            if path in listed or not path.is_file() or path.is_symlink():
                continue
            dialect = shebang_dialect(effective_first_line(_head(path)))
            if dialect:
                rel = path.relative_to(tdir).as_posix()
                job.notes.append(
                    f"templates/{rel}: not listed in the spec (BOSH will not render it), left unchanged"
                )
                templates.append(Template(rel, path, None, "script", dialect, "shebang"))
    return templates


def _shown(path: Path) -> str:
    rel = os.path.relpath(path)
    return str(path) if rel.startswith("..") else rel


def _check_templates_folder(tdir: Path) -> None:
    """A ``templates`` that exists but is no readable folder is a usage error (exit 2), named as
    such: otherwise every template would be reported missing, which names the wrong files."""
    try:
        st = os.stat(tdir)
    except FileNotFoundError:
        if tdir.is_symlink():
            raise DiscoveryError(f"{_shown(tdir)}: is a symlink to {os.readlink(tdir)}, which does not exist") from None
        return  # no templates folder: each listed template gets its own finding
    except OSError as exc:
        raise DiscoveryError(f"{_shown(tdir)}: cannot be read: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise DiscoveryError(f"{_shown(tdir)}: is not a folder; a job's templates live in a templates/ folder")


def _files_under(tdir: Path) -> list[Path]:
    """Everything under ``templates/`` except the writer's temporary files and backups (a killed
    run's half-written copy of a script must never be taken for a script)."""
    found: list[Path] = []

    def fail(exc: OSError) -> None:
        raise DiscoveryError(f"{_shown(Path(exc.filename or tdir))}: cannot be read: {exc.strerror or exc}")

    for dirpath, dirnames, filenames in os.walk(tdir, onerror=fail):
        dirnames.sort()
        found += [Path(dirpath, n) for n in filenames if not is_temp_name(n)]
    return sorted(found)


def _as_script(job: Job, source: str, path: Path, rendered: str | None) -> Template:
    """A template that would run as a script: shell, another language (a verbose note), or unknown.

    A file the tool cannot read well enough to judge (a symlink, binary, not UTF-8, CRLF, huge)
    stays a script unless its shebang or name already rules shell out, so that reading it gives
    the precise reason it is skipped.
    """
    if path.is_symlink() or not path.is_file():
        return Template(source, path, rendered, "script")
    data = _head(path, MAX_SCRIPT_BYTES + 1)
    lang: Language = classify(source, data, rendered)
    if lang.kind == "shell":
        return Template(source, path, rendered, "script", lang.dialect, lang.why)
    if lang.kind == "other":
        where = f"rendered to {rendered}" if rendered else "named on the command line"
        job.notes.append(f"templates/{source}: {where} but not a shell script ({lang.why}), skipped")
        return Template(source, path, rendered, "config", None, lang.why)
    if _unreadable(data):
        return Template(source, path, rendered, "script")
    return Template(source, path, rendered, "unknown", None, lang.why)


def _callers_decide(job: Job) -> None:
    """Give each shell script without a shebang the dialect of the scripts that run it.

    It runs in its caller's shell (see ``migrator.language.dialect_of``): ``sh`` when a POSIX sh
    script of the job names it (by its rendered or its template file name), else ``bash``.
    """
    open_ = [t for t in job.templates if t.kind == "script" and t.dialect is None]
    if not open_:
        return
    posix_texts = [_head(t.path, MAX_SCRIPT_BYTES).decode("utf-8", "replace")
                   for t in job.templates if t.kind == "script" and t.dialect == "sh"]
    for i, t in enumerate(job.templates):
        if t not in open_:
            continue
        names = {n.rsplit("/", 1)[-1] for n in (t.rendered, t.source) if n}
        called_by_sh = any(re.search(rf"(?<![\w.-]){re.escape(n)}(?![\w.-])", text)
                           for n in names for text in posix_texts)
        job.templates[i] = replace(t, dialect="sh" if called_by_sh else "bash",
                                   why=t.why + ("; run or sourced by a POSIX sh script" if called_by_sh else ""))


def _unreadable(data: bytes) -> bool:
    if len(data) > MAX_SCRIPT_BYTES or b"\x00" in data[:8192] or b"\r\n" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


class UnreadableScript(Exception):
    """Why a script cannot be processed; the file is left as it is."""


def read_script(path: Path, release_root: Path) -> bytes:
    """Read a script for rewriting, refusing anything a rewrite could damage."""
    if path.is_symlink():
        target = Path(os.path.realpath(path))
        where = "outside the release" if not _under(target, Path(os.path.realpath(release_root))) else "inside the release"
        raise UnreadableScript(
            f"is a symlink to {target} ({where}); symlinks are not followed, migrate the target file itself"
        )
    if not path.exists():
        raise UnreadableScript("is listed in the spec but does not exist")
    if not path.is_file():
        raise UnreadableScript("is not a regular file")
    try:
        size = path.stat().st_size
        if size > MAX_SCRIPT_BYTES:
            raise UnreadableScript(f"is {size} bytes, larger than the {MAX_SCRIPT_BYTES}-byte limit for scripts")
        data = path.read_bytes()
    except PermissionError as exc:
        raise UnreadableScript(f"cannot be read: {exc.strerror}") from exc
    except OSError as exc:
        raise UnreadableScript(f"cannot be read: {exc.strerror or exc}") from exc
    if b"\x00" in data[:8192]:
        raise UnreadableScript("is a binary file (it contains NUL bytes)")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UnreadableScript(f"is not valid UTF-8 (byte 0x{data[exc.start]:02x} on line {line})") from exc
    if b"\r\n" in data:
        line = data[: data.index(b"\r\n")].count(b"\n") + 1
        raise UnreadableScript(
            f"has CRLF line endings (first on line {line}); bash on the VM reads the CR as part of each "
            "word, so convert the file to LF (e.g. dos2unix) before migrating"
        )
    return data
