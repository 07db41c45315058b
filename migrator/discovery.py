"""Finding releases, jobs and script templates from the paths a user gives, and reading them safely.

A path may be a release root (has ``jobs/``), its ``jobs/`` folder, one job folder (has ``spec``) or
files inside a job's ``templates/``. Reading refuses anything that a rewrite could damage: symlinks,
binary or non-UTF-8 files, CRLF line endings, huge files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from migrator.spec import JobSpec, SpecError, parse_spec

MAX_SCRIPT_BYTES = 1024 * 1024

_SHELLS = {"bash", "sh", "dash", "ksh", "zsh", "ash", "mksh"}


class DiscoveryError(Exception):
    """The path is not something the tool can work on (usage error, exit 2)."""


@dataclass(frozen=True)
class Template:
    source: str  # key in the spec's templates map, relative to templates/
    path: Path
    rendered: str | None  # None when the spec does not list it
    kind: Literal["script", "config"]

    @property
    def rel(self) -> str:
        """Path relative to the job directory: what findings and diffs show."""
        return f"templates/{self.source}"


@dataclass
class Job:
    name: str
    dir: Path
    release_root: Path
    spec: JobSpec | None
    spec_error: str | None = None
    templates: list[Template] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # verbose-only messages
    only: set[Path] | None = None  # when the user named single files

    @property
    def spec_path(self) -> Path:
        return self.dir / "spec"

    def rel_to_release(self, path: Path) -> str:
        return os.path.relpath(path, self.release_root)

    @property
    def scripts(self) -> list[Template]:
        chosen = [t for t in self.templates if t.kind == "script"]
        if self.only is not None:
            chosen = [t for t in chosen if t.path in self.only]
        return chosen


def has_shell_shebang(head: bytes) -> bool:
    """Is the first line a shebang whose interpreter (directly or through ``env``) is a shell?"""
    if not head.startswith(b"#!"):
        return False
    words = head[2:].split(b"\n", 1)[0].decode("utf-8", "replace").split()
    if not words:
        return False
    program = words[0].rsplit("/", 1)[-1]
    if program == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        program = rest[0].rsplit("/", 1)[-1] if rest else ""
    return program in _SHELLS


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
        if path.is_dir() and not path.is_symlink():
            for job_dir in _job_dirs(path, raw):
                whole.add(job_dir)
                jobs.setdefault(job_dir, load_job(job_dir))
            continue
        job_dir = _job_dir_of_file(path)
        if job_dir is None:
            raise DiscoveryError(f"{raw}: not inside a BOSH job (no jobs/<job>/spec above it)")
        jobs.setdefault(job_dir, load_job(job_dir))
        files.setdefault(job_dir, set()).add(path)
    for job_dir, chosen in files.items():
        if job_dir in whole:
            continue
        job = jobs[job_dir]
        job.only = chosen
        known = {t.path for t in job.templates}
        for path in sorted(chosen - known):
            rel = path.relative_to(job_dir / "templates").as_posix() if _under(path, job_dir / "templates") else path.name
            job.templates.append(Template(rel, path, None, "script"))
    return [jobs[k] for k in sorted(jobs)]


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
    try:
        spec: JobSpec | None = parse_spec(
            (job_dir / "spec").read_text(encoding="utf-8")
        )
    except (SpecError, OSError, UnicodeDecodeError) as exc:
        spec, spec_error = None, str(exc)
    name = (spec.name if spec and spec.name else None) or job_dir.name
    job = Job(name=str(name), dir=job_dir, release_root=root, spec=spec, spec_error=spec_error)
    if spec is not None:
        job.templates = _classify_templates(job, spec)
    return job


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(256)
    except OSError:
        return b""


def _classify_templates(job: Job, spec: JobSpec) -> list[Template]:
    tdir = job.dir / "templates"
    templates: list[Template] = []
    listed: set[Path] = set()
    for source, rendered in spec.templates.items():
        path = tdir / source
        listed.add(path)
        head = _head(path) if path.is_file() else b""
        is_script = rendered.startswith("bin/") or has_shell_shebang(head)
        if head.startswith(b"#!") and not has_shell_shebang(head) and is_script:
            job.notes.append(f"templates/{source}: not a shell script ({head.splitlines()[0].decode('utf-8', 'replace')}), skipped")
            is_script = False
        templates.append(Template(source, path, rendered, "script" if is_script else "config"))
    if tdir.is_dir():
        for path in sorted(tdir.rglob("*")):
            if path in listed or not path.is_file() or path.is_symlink():
                continue
            if has_shell_shebang(_head(path)):
                rel = path.relative_to(tdir).as_posix()
                job.notes.append(
                    f"templates/{rel}: not listed in the spec (BOSH will not render it), treated as a script"
                )
                templates.append(Template(rel, path, None, "script"))
    return templates


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
