"""A thin wrapper over the real ``git`` command.

Bulk mode drives git through its command line, not a library, so it behaves exactly like the git the
maintainer uses (their config, credentials, hooks and remotes) and every step can be replayed by hand.
Prompts are disabled so an unreachable remote fails instead of hanging a parallel run, and messages
are forced to English so errors can be reported verbatim.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

TRAILER_KEY = "Migrated-by"
TRAILER_VALUE = "exemplar-migrate"


class GitError(RuntimeError):
    """A git command failed; ``str()`` is a one-line reason fit for the report."""

    def __init__(self, args: list[str], returncode: int, stderr: str):
        self.args_ = args
        self.returncode = returncode
        self.stderr = stderr
        lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
        detail = "; ".join(ln for ln in lines if not ln.startswith("hint:"))[:400] or f"exit {returncode}"
        super().__init__(f"git {args[0] if args else ''}: {detail}")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "LANG": "C", "GIT_ASKPASS": env.get("GIT_ASKPASS", "true")})
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def run_git(args: list[str], cwd: Path | None = None, input: str | None = None, check: bool = True,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``git ARGS`` in ``cwd``; raise GitError on failure when ``check``."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=input, capture_output=True, text=True,
                              env=_env(), timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise GitError(args, 127, "git is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitError(args, 124, f"timed out after {timeout:.0f}s") from exc
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr or proc.stdout)
    return proc


@dataclass
class WorkTree:
    """A git work tree that bulk mode operates in (always its own clone in the work directory)."""

    path: Path

    def git(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_git(list(args), cwd=self.path, input=input, check=check)

    def out(self, *args: str) -> str:
        return self.git(*args).stdout.strip()

    # -- questions ------------------------------------------------------------------------------
    def is_toplevel(self) -> bool:
        proc = self.git("rev-parse", "--show-toplevel", check=False)
        return proc.returncode == 0 and Path(proc.stdout.strip()).resolve() == self.path.resolve()

    def remote_url(self, remote: str) -> str | None:
        proc = self.git("remote", "get-url", remote, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def rev(self, ref: str) -> str | None:
        """The commit a ref points at, or None when it does not exist."""
        proc = self.git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def tree(self, ref: str) -> str:
        return self.out("rev-parse", f"{ref}^{{tree}}")

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.git("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def dirty_paths(self) -> list[str]:
        """Uncommitted changes, untracked files included (ignored files are not the user's work)."""
        out = self.git("status", "--porcelain", "--untracked-files=all").stdout
        return [line[3:] for line in out.splitlines() if line.strip()]

    def current_branch(self) -> str | None:
        proc = self.git("symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def remote_default_branch(self, remote: str) -> str | None:
        """The branch the remote's HEAD points at (asked from the remote, so it is current)."""
        proc = self.git("ls-remote", "--symref", remote, "HEAD", check=False)
        for line in proc.stdout.splitlines():
            if line.startswith("ref: ") and line.endswith("\tHEAD"):
                return line[len("ref: "):-len("\tHEAD")].removeprefix("refs/heads/")
        ref = self.git("symbolic-ref", "--quiet", f"refs/remotes/{remote}/HEAD", check=False).stdout.strip()
        return ref.removeprefix(f"refs/remotes/{remote}/") or None

    def commits_without_trailer(self, base: str, *tips: str) -> list[tuple[str, str, str]]:
        """Commits on ``tips`` but not on ``base`` that exemplar-migrate did not make: (sha, author,
        subject), oldest first in topological order, so the same branch is always listed the same way."""
        fmt = f"%H%x1f%an <%ae>%x1f%s%x1f%(trailers:key={TRAILER_KEY},valueonly,separator=%x2C)%x1e"
        out = self.git("log", "--topo-order", "--reverse", f"--format={fmt}", *tips, "--not", base, "--").stdout
        foreign = []
        for record in out.split("\x1e"):
            fields = record.strip("\n").split("\x1f")
            if len(fields) < 4:
                continue
            sha, author, subject, trailer = fields
            if TRAILER_VALUE not in [v.strip() for v in trailer.split(",")]:
                foreign.append((sha, author, subject))
        return foreign

    def count(self, ref_range: str) -> int:
        return int(self.out("rev-list", "--count", ref_range) or 0)

    def is_tracked(self, rel: str) -> bool:
        return bool(self.out("ls-files", "--", rel))

    # -- actions --------------------------------------------------------------------------------
    def fetch(self, remote: str) -> None:
        self.git("fetch", "--prune", "--no-tags", remote)

    def checkout_detached(self, commit: str) -> None:
        self.git("checkout", "--quiet", "--detach", commit)

    def point_branch_here(self, branch: str) -> None:
        """Make ``branch`` point at HEAD and check it out (HEAD is a commit this run made or vetted)."""
        self.git("checkout", "--quiet", "-B", branch)

    def stage(self, rels: list[str]) -> list[str]:
        """Stage exactly these paths (new, changed or removed) and return what the index now holds."""
        self.git("add", "--all", "--", *rels)
        return self.out("diff", "--cached", "--name-only", "--no-renames").splitlines()

    def merge(self, commit: str, message: str) -> list[str]:
        """Merge ``commit`` into HEAD with a merge commit; on a conflict the merge is aborted (the
        work tree is as before) and the conflicting paths are returned."""
        proc = self.git("merge", "--no-ff", "--no-verify", "--quiet", "-m", message, commit, check=False)
        if proc.returncode == 0:
            return []
        conflicts = self.out("diff", "--name-only", "--diff-filter=U").splitlines()
        self.git("merge", "--abort", check=False)
        if not conflicts:
            raise GitError(["merge"], proc.returncode, proc.stderr or proc.stdout)
        return conflicts

    def commit(self, message: str) -> str:
        self.git("commit", "--quiet", "--no-verify", "-F", "-", input=message)
        return self.out("rev-parse", "HEAD")

    def push(self, remote: str, branch: str, expect: str | None, force: bool) -> None:
        """Push ``branch``; a forced push only when the remote still holds ``expect`` (a lease)."""
        args = ["push", "--porcelain", remote, f"refs/heads/{branch}:refs/heads/{branch}"]
        if force:
            args.insert(1, f"--force-with-lease=refs/heads/{branch}:{expect or ''}")
        self.git(*args)

    def exclude(self, pattern: str) -> None:
        """Keep a file bulk mode writes (PR.md) out of ``git status`` in its own clone."""
        info = Path(self.out("rev-parse", "--git-path", "info/exclude"))
        info = info if info.is_absolute() else self.path / info
        existing = info.read_text(encoding="utf-8") if info.is_file() else ""
        if pattern not in existing.splitlines():
            info.parent.mkdir(parents=True, exist_ok=True)
            info.write_text(existing + ("" if existing.endswith("\n") or not existing else "\n") + pattern + "\n",
                            encoding="utf-8")


def clone(source: str, dest: Path, remote: str) -> WorkTree:
    """Clone ``source`` into ``dest`` with the remote named ``remote``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    run_git(["clone", "--quiet", "--origin", remote, "--no-tags", source, str(dest)])
    return WorkTree(dest)
