"""One repo from clone to pull request, with every failure turned into a reason instead of a crash.

The rules that keep people's work safe live here:
- the work directory is always bulk mode's own clone; a clone with uncommitted changes is left alone;
- a branch whose commits all carry the ``Migrated-by: exemplar-migrate`` trailer is the tool's own and
  may be recreated from the base (pushed with a lease on the commit we saw); a branch with anyone
  else's commits is never rewritten: it is skipped, or (``--conflict-strategy replace``) the update is
  added on top as a new commit, so a plain fast-forward push suffices;
- a run that produces the tree the branch already has makes no commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from migrator.bulk import forge, prtext
from migrator.bulk.gitops import TRAILER_KEY, TRAILER_VALUE, GitError, WorkTree, clone, run_git
from migrator.bulk.repos import Repo

if TYPE_CHECKING:
    from migrator.engine import FileChange

# tree-sitter parsers are shared per process and not thread-safe: one engine run at a time
# (git clone/fetch/push, the slow part, still runs in parallel)
_ENGINE_LOCK = threading.Lock()

COMMITTED, UPDATED, UP_TO_DATE, NOTHING, WOULD_CHANGE, SKIPPED, FAILED = (
    "committed", "updated", "up-to-date", "nothing-to-do", "would-change", "skipped", "failed")
OK_STATES = {COMMITTED, UPDATED, UP_TO_DATE, NOTHING}
SOURCE_KEY = "exemplar-migrate.source"


class RepoFailure(Exception):
    """This repo cannot go on; the message is the reason shown in the report."""


@dataclass(frozen=True)
class Settings:
    workdir: Path
    branch: str
    base: str | None = None
    remote: str = "origin"
    push: bool = False
    open_pr: bool = False
    dry_run: bool = False
    conflict_strategy: str = "skip"
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    sipid_path: str | None = None
    gh: str | None = None


@dataclass
class RepoResult:
    name: str
    source: str
    state: str = "pending"
    reason: str = ""
    branch: str = ""
    base: str = ""
    commit: str = ""
    files: list[str] = field(default_factory=list)
    findings_review: int = 0
    findings_error: int = 0
    required_packages: list[str] = field(default_factory=list)
    pushed: bool = False
    pr: str = ""
    pr_action: str = ""  # opened | updated | unchanged (its generated text was the same: not edited)
    pr_file: str = ""
    workdir: str = ""
    attention: list[str] = field(default_factory=list)
    preview: str = ""  # dry run: diffstat and PR text

    @property
    def needs_attention(self) -> bool:
        return self.state not in OK_STATES or bool(self.attention)

    def to_json(self) -> dict:
        data = asdict(self)
        data["files_changed"] = len(self.files)
        data["needs_attention"] = self.needs_attention
        return data


Progress = Callable[[str, str], None]


@dataclass
class Plan:
    """The engine's result for one checkout, in the shape the PR text and the commit need."""

    migration: prtext.Migration
    changes: list[FileChange]
    internal_errors: int


def run_engine(root: Path, settings: Settings, repo_name: str, apply: bool) -> Plan:
    """Migrate the release checked out at ``root`` exactly as the single-release command would.

    With ``apply`` the planned changes are written to the checkout (to be committed)."""
    import codemods
    from migrator.codemod import Options
    from migrator.config import ConfigError, load_config
    from migrator.discovery import DiscoveryError, discover
    from migrator.engine import Pipeline
    from migrator.runner import apply_changes, run_jobs

    with _ENGINE_LOCK:
        try:
            jobs = discover([root])
        except DiscoveryError as exc:
            why = str(exc).split(": ", 1)[-1]  # without the path: it is the clone in the work dir
            raise RepoFailure(why if why.startswith("not a BOSH release") else f"not a BOSH release: {why}") from exc
        try:
            config = load_config(root)
            chosen = codemods.select(list(settings.select) or config.select or None,
                                     list(settings.ignore) or config.ignore or None)
        except ConfigError as exc:
            raise RepoFailure(f"release config: {exc}") from exc
        except KeyError as exc:
            raise RepoFailure(f"release config names an unknown codemod {exc}") from exc
        options = Options(sipid_path=settings.sipid_path or config.sipid_path or Options().sipid_path)
        result = run_jobs(jobs, Pipeline(chosen, options), 1)
    if apply and result.changes:
        apply_changes(result.changes)
    migration = prtext.Migration(
        repo=repo_name,
        codemods=[prtext.CodemodInfo(c.id, c.summary) for c in chosen],
        changes=result.changes,
        findings=result.findings,
        required_packages=result.required_packages,
        added_packages=result.added_packages,
        shipped_packages=sorted(result.shipped_packages),
    )
    return Plan(migration, result.changes, result.internal_errors)


# -- the work directory -------------------------------------------------------------------------
def _source_remote_url(source: str, remote: str) -> str | None:
    """For a local checkout: the URL of its ``remote``, so pushes go where the maintainer's go.

    None when the checkout has no remotes at all (then the checkout itself is the remote); a failure
    when it has remotes but not this one, rather than silently pushing into the checkout.
    """
    path = Path(source)
    proc = run_git(["remote", "get-url", remote], cwd=path, check=False)
    url = proc.stdout.strip() if proc.returncode == 0 else ""
    if not url:
        others = run_git(["remote"], cwd=path, check=False).stdout.split()
        if others:
            raise RepoFailure(f"{source} has no remote '{remote}' (it has: {', '.join(others)}); "
                              "pass --remote")
        return None
    if "://" not in url and ":" not in url.split("/")[0] and not Path(url).is_absolute():
        url = str((path / url).resolve())  # a relative path remote is relative to the checkout
    return url


def prepare_clone(repo: Repo, settings: Settings, progress: Progress) -> WorkTree:
    """Clone the repo into the work dir, or reuse the clone made by an earlier run (if clean)."""
    dest = settings.workdir / repo.name
    if dest.exists() or dest.is_symlink():
        work = WorkTree(dest)
        if not dest.is_dir() or not work.is_toplevel():
            raise RepoFailure(f"{dest} exists and is not a git clone; move it away or use another --workdir")
        owner = work.git("config", "--get", SOURCE_KEY, check=False).stdout.strip()
        if not owner:
            raise RepoFailure(f"{dest} is a git repo that exemplar-migrate did not clone; move it away or "
                              "use another --workdir")
        if owner != repo.source:
            raise RepoFailure(f"{dest} is the clone of another repo ({owner}); use another --workdir")
        dirty = work.dirty_paths()
        if dirty:
            shown = ", ".join(dirty[:5]) + (" ..." if len(dirty) > 5 else "")
            raise RepoFailure(f"work tree {dest} has uncommitted changes ({shown}); commit or remove them "
                              "and re-run (nothing was touched)")
        if work.remote_url(settings.remote) is None:
            raise RepoFailure(f"{dest} has no remote '{settings.remote}'")
        progress(repo.name, "fetching")
    else:
        if repo.is_local and not Path(repo.source).exists():
            raise RepoFailure(f"no such repository: {repo.source}")
        upstream = _source_remote_url(repo.source, settings.remote) if repo.is_local else None
        progress(repo.name, "cloning")
        try:
            work = clone(repo.source, dest, settings.remote)
        except GitError as exc:
            raise RepoFailure(f"cannot clone {repo.source}: {exc}") from exc
        work.git("config", SOURCE_KEY, repo.source)
        if upstream:
            work.git("remote", "set-url", settings.remote, upstream)
    try:
        work.fetch(settings.remote)
    except GitError as exc:
        raise RepoFailure(f"remote '{settings.remote}' ({work.remote_url(settings.remote)}) is unreachable: "
                          f"{exc}") from exc
    return work


def _base(work: WorkTree, settings: Settings) -> tuple[str, str]:
    name = settings.base or work.remote_default_branch(settings.remote)
    if not name:
        raise RepoFailure(f"cannot tell the default branch of remote '{settings.remote}'; pass --base")
    commit = work.rev(f"refs/remotes/{settings.remote}/{name}")
    if commit is None:
        raise RepoFailure(f"branch '{name}' does not exist on remote '{settings.remote}'")
    return name, commit


@dataclass
class Existing:
    """The branch as it already exists locally and/or on the remote."""

    tip: str | None  # the newest of the two when one contains the other
    foreign: list[tuple[str, str, str]]
    diverged: bool = False


def _existing(work: WorkTree, settings: Settings, base: str) -> Existing:
    local = work.rev(f"refs/heads/{settings.branch}")
    remote = work.rev(f"refs/remotes/{settings.remote}/{settings.branch}")
    tips = [t for t in (local, remote) if t]
    if not tips:
        return Existing(None, [])
    foreign = work.commits_without_trailer(base, *dict.fromkeys(tips))
    if local and remote and local != remote:
        if work.is_ancestor(local, remote):
            return Existing(remote, foreign)
        if work.is_ancestor(remote, local):
            return Existing(local, foreign)
        return Existing(remote, foreign, diverged=True)
    return Existing(tips[0], foreign)


def _describe(foreign: list[tuple[str, str, str]]) -> str:
    shown = "; ".join(f"{sha[:8]} {subject!r} by {author}" for sha, author, subject in foreign[:3])
    more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
    return f"{len(foreign)} commit(s) not made by exemplar-migrate ({shown}{more})"


def _commit(work: WorkTree, plan: Plan) -> str:
    """Commit exactly the engine's changes; if that fails, take them back out so the clone stays clean."""
    rels = [c.rel for c in plan.changes]
    try:
        staged = set(work.stage(rels))
        if staged != set(rels):
            raise RepoFailure(f"staged files differ from the engine's changes: {sorted(staged ^ set(rels))}")
        return work.commit(prtext.commit_message(plan.migration))
    except (GitError, RepoFailure) as exc:
        _undo(work, plan.changes)
        raise RepoFailure(f"cannot commit: {exc}") from exc


def _undo(work: WorkTree, changes: list[FileChange]) -> None:
    """Put back the files this run wrote, but only where they still hold what this run wrote."""
    work.git("reset", "--quiet", "--", *[c.rel for c in changes], check=False)  # index only
    for change in changes:
        path = work.path / change.rel
        current = path.read_bytes() if path.is_file() else None
        if current != change.after:
            continue
        if change.before is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)  # a removed helper's folder goes with it
            path.write_bytes(change.before)


def _record(result: RepoResult, plan: Plan) -> None:
    m = plan.migration
    result.files = [c.rel for c in plan.changes]
    result.findings_review = sum(1 for f in m.findings if f.severity == "review")
    result.findings_error = sum(1 for f in m.findings if f.severity == "error")
    result.required_packages = list(m.required_packages)
    if result.findings_error:
        result.attention.append(f"{result.findings_error} file(s) could not be processed (see PR text)")
    if plan.internal_errors:
        result.attention.append(f"{plan.internal_errors} internal error(s) in the engine")


# -- one repo -------------------------------------------------------------------------------------
def process(repo: Repo, settings: Settings, progress: Progress) -> RepoResult:
    """Run one repo; never raises: a failure becomes the result's state and reason."""
    result = RepoResult(repo.name, repo.source, branch=settings.branch,
                        workdir=str(settings.workdir / repo.name))
    try:
        _process(repo, settings, progress, result)
    except RepoFailure as exc:
        result.state, result.reason = FAILED, str(exc)
    except GitError as exc:
        result.state, result.reason = FAILED, str(exc)
    except Exception as exc:  # noqa: BLE001 - a bug here must not take the other repos down
        result.state, result.reason = FAILED, f"internal error: {type(exc).__name__}: {exc}"
    progress(repo.name, result.state + (f": {result.reason}" if result.reason else ""))
    return result


def _process(repo: Repo, settings: Settings, progress: Progress, result: RepoResult) -> None:
    work = prepare_clone(repo, settings, progress)
    base_name, base = _base(work, settings)
    result.base = base_name
    if settings.dry_run:
        _dry_run(work, repo, settings, progress, result, base)
        return
    existing = _existing(work, settings, base)
    if existing.diverged and existing.foreign:
        raise RepoFailure(f"local and remote branch '{settings.branch}' have diverged and hold "
                          f"{_describe(existing.foreign)}; reconcile them by hand")

    progress(repo.name, "migrating")
    work.checkout_detached(base)
    plan = run_engine(work.path, settings, repo.name, apply=True)
    plan.migration.base, plan.migration.branch = base_name, settings.branch
    _record(result, plan)
    if not plan.changes:
        result.state = NOTHING
        if existing.tip:
            result.reason = f"the base needs no change; branch '{settings.branch}' left as it is"
        return
    fresh = _commit(work, plan)

    if existing.tip is None:
        work.point_branch_here(settings.branch)
        result.state = COMMITTED
    elif not existing.foreign:
        if work.tree(existing.tip) == work.tree(fresh):
            work.checkout_detached(existing.tip)
            result.state, result.reason = UP_TO_DATE, "the branch already holds this migration"
        else:
            result.state, result.reason = UPDATED, f"branch recreated from '{base_name}'"
        work.point_branch_here(settings.branch)
    else:
        _on_top_of_others(work, repo, settings, result, existing, progress, base_name, base)
        if result.state == SKIPPED:
            return
        plan.migration.kept_commits = existing.foreign
    result.commit = work.out("rev-parse", "HEAD")
    _write_pr(work, repo, settings, result, plan)
    if settings.push:
        _push(work, settings, result, existing, progress)
    if settings.open_pr and result.pushed:
        _open_pr(work, settings, result, plan, progress)


def _merge_message(base_name: str, behind: int) -> str:
    return (f"exemplar-migrate: merge '{base_name}' into the migration branch\n\n"
            f"'{base_name}' has {behind} commit(s) this branch lacks, and the branch holds commits "
            "exemplar-migrate did not make, so it is not recreated from the base: the base is merged in "
            "and its new work migrated on top.\n\n"
            f"{TRAILER_KEY}: {TRAILER_VALUE}\n")


def _on_top_of_others(work: WorkTree, repo: Repo, settings: Settings, result: RepoResult,
                      existing: Existing, progress: Progress, base_name: str, base: str) -> None:
    """The branch holds other people's commits: never rewrite them; add the update on top or skip.

    When the base moved on, the branch lacks the base's new work (new legacy jobs among it), so
    "nothing new" on the branch's own tree would be wrong: that needs attention, and ``replace``
    merges the base in (a commit of ours) before migrating on top."""
    assert existing.tip is not None
    work.checkout_detached(existing.tip)
    kept = _describe(existing.foreign)
    behind = work.count(f"{existing.tip}..{base}")
    if behind and settings.conflict_strategy != "replace":
        result.state = SKIPPED
        result.reason = (f"'{base_name}' moved on ({behind} commit(s) branch '{settings.branch}' lacks, whose "
                         f"jobs are not migrated) and the branch has {kept}; left alone "
                         "(--conflict-strategy replace merges the base in and migrates on top)")
        return
    merged = False
    if behind:
        progress(repo.name, f"merging '{base_name}'")
        conflicts = work.merge(base, _merge_message(base_name, behind))
        if conflicts:
            raise RepoFailure(f"merging '{base_name}' into branch '{settings.branch}' conflicts in "
                              f"{', '.join(conflicts[:5])}{' ...' if len(conflicts) > 5 else ''}; the branch "
                              f"has {kept}: merge by hand and re-run")
        merged = True
    extra = run_engine(work.path, settings, repo.name, apply=False)
    if not extra.changes:
        if merged:
            result.state, result.reason = UPDATED, f"'{base_name}' merged in, nothing new to migrate; the branch keeps {kept}"
        else:
            result.state, result.reason = UP_TO_DATE, f"nothing new; the branch keeps {kept}"
        work.point_branch_here(settings.branch)
        return
    if settings.conflict_strategy != "replace":
        result.state = SKIPPED
        result.reason = (f"branch '{settings.branch}' has {kept}; left alone "
                         "(--conflict-strategy replace adds the update on top of them)")
        return
    from migrator.runner import apply_changes

    progress(repo.name, "migrating on top")
    apply_changes(extra.changes)
    _commit(work, extra)
    work.point_branch_here(settings.branch)
    result.state, result.reason = UPDATED, ((f"'{base_name}' merged in and " if merged else "")
                                            + f"update added on top; the branch keeps {kept}")


def _write_pr(work: WorkTree, repo: Repo, settings: Settings, result: RepoResult, plan: Plan) -> None:
    text = prtext.pr_markdown(plan.migration)
    target = work.path / "PR.md"
    if work.is_tracked("PR.md"):
        target = settings.workdir / f"{repo.name}.PR.md"
    else:
        work.exclude("/PR.md")
    target.write_text(text, encoding="utf-8")
    result.pr_file = str(target)
    body = Path(work.out("rev-parse", "--absolute-git-dir")) / "exemplar-migrate-pr-body.md"
    body.write_text(prtext.body(plan.migration), encoding="utf-8")


def _push(work: WorkTree, settings: Settings, result: RepoResult, existing: Existing, progress: Progress) -> None:
    local = work.rev(f"refs/heads/{settings.branch}")
    remote = work.rev(f"refs/remotes/{settings.remote}/{settings.branch}")
    if local is None or local == remote:
        result.pushed = local is not None
        return
    # a non-fast-forward push only ever replaces the tool's own commits (checked in _existing),
    # and only if the remote still holds the commit we saw
    force = remote is not None and not work.is_ancestor(remote, local)
    if force and existing.foreign:
        raise RepoFailure("refusing to force-push over commits exemplar-migrate did not make")
    progress(result.name, "pushing")
    try:
        work.push(settings.remote, settings.branch, remote, force)
    except GitError as exc:
        raise RepoFailure(f"push to '{settings.remote}' rejected: {exc}; the commit is kept on branch "
                          f"'{settings.branch}' in {work.path}") from exc
    result.pushed = True
    work.git("fetch", "--quiet", "--no-tags", settings.remote, check=False)


def _open_pr(work: WorkTree, settings: Settings, result: RepoResult, plan: Plan, progress: Progress) -> None:
    if settings.gh is None:
        result.pr = "not opened: gh is not installed"
        result.attention.append(f"PR not opened (gh is not installed); the text is in {result.pr_file}")
        return
    progress(result.name, "pull request")
    body = Path(work.out("rev-parse", "--absolute-git-dir")) / "exemplar-migrate-pr-body.md"
    try:
        pr = forge.open_or_update(settings.gh, work.path, settings.branch, result.base,
                                  prtext.title(plan.migration), body)
    except forge.ForgeError as exc:
        result.pr = "error"
        result.attention.append(f"PR not opened: {exc}")
        return
    result.pr, result.pr_action = pr.url, pr.action


def _dry_run(work: WorkTree, repo: Repo, settings: Settings, progress: Progress, result: RepoResult,
             base: str) -> None:
    """Plan against the base without touching any branch; the clone's HEAD is put back afterwards."""
    before = work.current_branch() or work.rev("HEAD")
    progress(repo.name, "planning")
    work.checkout_detached(base)
    try:
        plan = run_engine(work.path, settings, repo.name, apply=False)
    finally:
        if before:
            work.git("checkout", "--quiet", before, "--")
    plan.migration.base, plan.migration.branch = result.base, settings.branch
    _record(result, plan)
    result.state = WOULD_CHANGE if plan.changes else NOTHING
    if plan.changes:
        result.preview = prtext.diffstat_text(plan.changes) + "\n" + prtext.pr_markdown(plan.migration)
