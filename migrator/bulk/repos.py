"""Reading the list of repositories: a file with one repo per line and/or repo arguments.

A repo is a local path or any git URL. Each gets a short *name* that keys its work directory and
its row in the report, so names must be unique; two repos with the same last path component are told
apart by their parent component (``org-a-foo`` and ``org-b-foo``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


class RepoListError(ValueError):
    """The repo list cannot be used (a usage error)."""


@dataclass(frozen=True)
class Repo:
    name: str
    source: str  # as the user wrote it (URL) or an absolute path for local repos

    @property
    def is_local(self) -> bool:
        return is_local_source(self.source)


_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:")  # git@github.com:org/repo.git
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def is_local_source(source: str) -> bool:
    """A path on this machine (as opposed to an ssh/https/file URL)."""
    return not (_URL.match(source) or _SCP_LIKE.match(source))


def parse_repo_list(text: str, origin: str = "<list>") -> list[str]:
    """Repo sources from a list file: blank lines and ``#`` comments (whole-line or trailing) ignored."""
    sources: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"(?:^|\s)#", raw, maxsplit=1)[0].strip()
        if not line:
            continue
        if len(line.split()) > 1:
            raise RepoListError(f"{origin}:{lineno}: one repo per line, got {line!r}")
        sources.append(line)
    return sources


def _components(source: str) -> list[str]:
    """Path components of a source, without a trailing ``.git`` or ``/``."""
    rest = _URL.sub("", source)
    rest = _SCP_LIKE.sub("", rest) if _SCP_LIKE.match(rest) else rest
    parts = [p for p in re.split(r"[/:\\]", rest.rstrip("/")) if p]
    if parts and parts[-1].endswith(".git"):
        parts[-1] = parts[-1][: -len(".git")]
    if parts and parts[-1] == ".git":  # /path/repo/.git
        parts.pop()
    return [p for p in parts if p]


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip(".-") or "repo"


def repo_name(source: str, depth: int = 1) -> str:
    """The last ``depth`` components of the source joined by ``-``: ``org/foo.git`` -> ``foo``."""
    parts = _components(source)
    return _safe("-".join(parts[-depth:])) if parts else "repo"


def normalise_source(source: str, base: Path | None = None) -> str:
    """Local paths become absolute (relative to ``base``) so a report can be re-run from anywhere."""
    if is_local_source(source):
        path = Path(os.path.expanduser(source))
        if not path.is_absolute():
            path = (base or Path.cwd()) / path
        return os.path.normpath(str(path))
    return source


def make_repos(sources: list[str]) -> list[Repo]:
    """Unique repos in the given order, with unique names (usage error when names cannot be told apart)."""
    unique = list(dict.fromkeys(sources))
    names = {s: repo_name(s) for s in unique}
    depth = 1
    while len(set(names.values())) < len(names) and depth < 4:
        depth += 1
        clashing = {n for n in names.values() if list(names.values()).count(n) > 1}
        names = {s: (repo_name(s, depth) if n in clashing else n) for s, n in names.items()}
    if len(set(names.values())) < len(names):
        dup = sorted({n for n in names.values() if list(names.values()).count(n) > 1})
        raise RepoListError(f"repos cannot be given distinct names: {', '.join(dup)}")
    return [Repo(names[s], s) for s in unique]


def read_sources(args: list[str], cwd: Path | None = None) -> list[str]:
    """Sources from the command line: an existing regular file is a repo list, anything else a repo."""
    here = cwd or Path.cwd()
    sources: list[str] = []
    for arg in args:
        path = Path(arg) if Path(arg).is_absolute() else here / arg
        if is_local_source(arg) and path.is_file():
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise RepoListError(f"{arg}: cannot read the repo list: {exc}") from exc
            sources += [normalise_source(s, path.parent) for s in parse_repo_list(text, arg)]
        elif is_local_source(arg) and not path.exists():
            # a typo on the command line is a usage error; a stale entry in a list fails only its repo
            raise RepoListError(f"{arg}: no such repo list file or repository")
        else:
            sources.append(normalise_source(arg, here))
    return sources
