"""``exemplar-migrate bulk``: the command line of bulk mode.

Only click is imported at start-up; git, the engine and the codemods load when a run starts, so
``--help`` stays instant. Exit codes follow the single-release command: 0 every repo succeeded or had
nothing to do, 1 any repo needs attention (failed, skipped, a PR not opened, a file the engine could
not process, or changes pending in a dry run), 2 a usage error.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import click

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE = 0, 1, 2


def _split_ids(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


class UsageError(Exception):
    pass


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("repos", nargs=-1, metavar="[REPO_LIST_FILE | REPO]...")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("exemplar-migrate-work"),
              show_default=True, help="Where the clones, PR texts and the last report live.")
@click.option("--branch", help="Branch to create (default: exemplar-migrate/<codemod ids>).")
@click.option("--base", help="Branch to start from (default: the remote's default branch).")
@click.option("--remote", default="origin", show_default=True, help="Remote to fetch from and push to.")
@click.option("--push", is_flag=True, help="Push the branch to the remote.")
@click.option("--open-pr", is_flag=True, help="Open or update the pull request with gh (needs --push).")
@click.option("--dry-run", is_flag=True, help="No branch, commit or push: print each repo's diffstat and PR text.")
@click.option("--conflict-strategy", type=click.Choice(["skip", "replace"]), default="skip", show_default=True,
              help="When the branch has commits the tool did not make: leave it (skip) or add the update "
                   "on top of them (replace). The tool's own commits are always recreated from the base.")
@click.option("--select", multiple=True, metavar="IDS", help="Only these codemods (comma separated).")
@click.option("--ignore", multiple=True, metavar="IDS", help="Skip these codemods (comma separated).")
@click.option("--sipid-path", help="Path of the sipid binary on the VM.")
@click.option("-j", "--jobs", "workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Work on this many repos in parallel.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--failed", is_flag=True, help="Only the repos that failed or need attention in the last report.")
@click.option("--only", multiple=True, metavar="REPO", help="Only this repo (name or source; repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
def bulk(repos, workdir, branch, base, remote, push, open_pr, dry_run, conflict_strategy, select, ignore,
         sipid_path, workers, output_format, failed, only, quiet) -> None:
    """Migrate many release repos: one branch, commit and PR text per repo.

    Give a file with one repo per line (a local path or a git URL; '#' starts a comment) and/or repos.
    """
    try:
        code = _bulk(list(repos), workdir, branch, base, remote, push, open_pr, dry_run, conflict_strategy,
                     _split_ids(select), _split_ids(ignore), sipid_path, workers, output_format, failed,
                     list(only), quiet)
    except UsageError as exc:
        click.echo(f"error: {exc}", err=True)
        code = EXIT_USAGE
    sys.exit(code)


def _default_branch(select: list[str], ignore: list[str]) -> str:
    import codemods

    try:
        chosen = codemods.select(select or None, ignore or None)
    except KeyError as exc:
        raise UsageError(f"unknown codemod id {exc} (see exemplar-migrate --list-codemods)") from exc
    if not chosen:
        raise UsageError("no codemod selected")
    return "exemplar-migrate/" + "+".join(c.id for c in chosen)


def _check_branch(name: str, what: str) -> None:
    from migrator.bulk.gitops import GitError, run_git

    try:
        run_git(["check-ref-format", "--branch", name])
    except GitError as exc:
        raise UsageError(f"{what} {name!r} is not a valid branch name") from exc


def _choose(args: list[str], workdir: Path, failed: bool, only: list[str]):
    """The repos to run: from the arguments, or (for --failed/--only) from the last report."""
    from migrator.bulk import report
    from migrator.bulk.repos import (
        RepoListError,
        make_repos,
        normalise_source,
        read_sources,
    )

    last = report.load_last(workdir)
    try:
        sources = read_sources(args)
        if not sources and (failed or only) and last:
            sources = [e["source"] for e in last]
        if not sources:
            raise UsageError("give a repo list file or repos (local paths or git URLs)")
        chosen = make_repos(sources)
    except RepoListError as exc:
        raise UsageError(str(exc)) from exc
    if failed:
        if last is None:
            raise UsageError(f"--failed: no last report in {workdir}")
        wanted = {e["name"] for e in last if report.wants_rerun(e)}
        chosen = [r for r in chosen if r.name in wanted]
    if only:
        def matches(o: str, r) -> bool:
            return o in (r.name, r.source) or normalise_source(o) == r.source

        unknown = [o for o in only if not any(matches(o, r) for r in chosen)]
        if unknown and not failed:
            raise UsageError(f"--only: unknown repo(s): {', '.join(unknown)}")
        chosen = [r for r in chosen if any(matches(o, r) for o in only)]
    return chosen, last


def _bulk(args, workdir, branch, base, remote, push, open_pr, dry_run, conflict_strategy, select, ignore,
          sipid_path, workers, output_format, failed, only, quiet) -> int:
    if open_pr and not push:
        raise UsageError("--open-pr needs --push (a pull request needs the branch on the remote)")
    if open_pr and dry_run:
        raise UsageError("--open-pr cannot be combined with --dry-run")
    branch = branch or _default_branch(select, ignore)
    _check_branch(branch, "--branch")
    if base:
        _check_branch(base, "--base")
    workdir = workdir.expanduser().resolve()
    chosen, last = _choose(args, workdir, failed, only)
    if not chosen:
        click.echo("nothing to re-run: no repo matches", err=True)
        return EXIT_OK

    from migrator.bulk import forge, progress, report
    from migrator.bulk.runner import Settings, process

    gh = forge.find_gh() if open_pr else None
    if open_pr and gh is None:
        click.echo("note: gh is not installed: pull requests are not opened; each repo's PR text is left in "
                   f"{workdir}/<repo>/PR.md", err=True)
    settings = Settings(workdir=workdir, branch=branch, base=base, remote=remote, push=push, open_pr=open_pr,
                        dry_run=dry_run, conflict_strategy=conflict_strategy, select=tuple(select),
                        ignore=tuple(ignore), sipid_path=sipid_path, gh=gh)
    workdir.mkdir(parents=True, exist_ok=True)
    display = progress.Display([r.name for r in chosen], quiet=quiet)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda r: process(r, settings, display), chosen))

    recorded: dict[str, Any] = {"branch": branch, "base": base, "remote": remote, "push": push,
                                "open_pr": open_pr, "dry_run": dry_run, "conflict_strategy": conflict_strategy,
                                "select": select, "ignore": ignore, "workdir": str(workdir)}
    report.save_last(workdir, results, recorded, last)
    if output_format == "json":
        click.echo(report.as_json(results, recorded), nl=False)
    else:
        for r in results:
            if r.preview:
                click.echo(f"=== {r.name} ({r.source}) ===\n{r.preview}")
        click.echo(report.table(results), nl=False)
        click.echo(report.summary(results), err=True)
    return EXIT_ATTENTION if any(r.needs_attention for r in results) else EXIT_OK
