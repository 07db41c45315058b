"""Bulk mode end to end, with real git: release repos made from the samples, bare repos as their
remotes, and the command run through its click entry point (one test goes through ``python -m
migrator bulk`` as a subprocess). Expected changes are never hard-coded: they come from running the
single-release engine on the same content, so new codemods do not break these tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.bulk.cli import bulk

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
TRAILER = "Migrated-by: exemplar-migrate"


# -- helpers ------------------------------------------------------------------------------------
def git(cwd: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env={**os.environ, **(env or {})})
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed in {cwd}: {proc.stderr}")
    return proc.stdout.strip()


@pytest.fixture(autouse=True)
def git_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the user's git config: identity and config come from the environment."""
    cfg = tmp_path / "gitconfig"
    cfg.write_text("[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Release Maintainer")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "maintainer@example.test")


def make_release(tmp: Path, name: str, content: Path | None = SAMPLE) -> tuple[Path, Path]:
    """A release checkout at tmp/name with a bare ``origin`` at tmp/remotes/name.git (branch main)."""
    bare = tmp / "remotes" / f"{name}.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    work = tmp / name
    if content is not None:
        shutil.copytree(content, work)
    else:
        work.mkdir()
        (work / "README.md").write_text("not a release\n")
    git(work, "init", "-q", "-b", "main")
    git(work, "add", ".")
    git(work, "commit", "-qm", "Initial release")
    git(work, "remote", "add", "origin", str(bare))
    git(work, "push", "-q", "origin", "main")
    return work, bare


def run_bulk(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(bulk, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def engine_result(root: Path):
    """What the single-release command would change in ``root`` (planned only, nothing written)."""
    import codemods
    from migrator.discovery import discover
    from migrator.engine import Pipeline
    from migrator.runner import run_jobs

    return run_jobs(discover([root]), Pipeline(codemods.select()), 1)


def branch_name() -> str:
    import codemods

    return "exemplar-migrate/" + "+".join(c.id for c in codemods.select())


def changed_files(repo: Path, old: str, new: str) -> set[str]:
    return set(git(repo, "diff", "--name-only", "--no-renames", old, new).splitlines())


def last_report(workdir: Path) -> dict[str, dict]:
    data = json.loads((workdir / "last-report.json").read_text())
    return {r["name"]: r for r in data["repos"]}


class Releases(dict):
    """alpha, beta and gamma, each made on first use (most tests need only one or two)."""

    NAMES = ("alpha", "beta", "gamma")

    def __init__(self, tmp: Path):
        super().__init__()
        self.tmp = tmp

    def __missing__(self, name: str) -> tuple[Path, Path]:
        self[name] = make_release(self.tmp, name)
        return self[name]

    def all(self) -> list[tuple[str, tuple[Path, Path]]]:
        return [(n, self[n]) for n in self.NAMES]


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    return Releases(tmp_path)


# -- the main path ------------------------------------------------------------------------------
def test_each_repo_gets_a_branch_with_exactly_the_engine_changes(tmp_path, releases) -> None:
    made = releases.all()
    repo_list = tmp_path / "repos.txt"
    repo_list.write_text("# our releases\nalpha   # relative to the list file\n"
                         f"{tmp_path / 'beta'}\n\n{tmp_path / 'gamma'}  \n")
    work = tmp_path / "work"
    code, out, err = run_bulk(str(repo_list), "--workdir", str(work), "--push", "-j", "3")
    assert code == 0, out + err
    branch = branch_name()
    for name, (checkout, bare) in made:
        expected = engine_result(checkout)
        assert expected.changes, "the sample must need migrating"
        main = git(bare, "rev-parse", "main")
        tip = git(bare, "rev-parse", f"refs/heads/{branch}")
        assert git(bare, "rev-parse", f"{tip}^") == main, "one commit on top of the base"
        assert changed_files(bare, main, tip) == {c.rel for c in expected.changes}
        for change in expected.changes:
            shown = subprocess.run(["git", "show", f"{tip}:{change.rel}"], cwd=bare, capture_output=True,
                                   check=False)
            if change.after is None:  # the engine removes this file
                assert shown.returncode != 0, change.rel
            else:
                assert shown.stdout == change.after, change.rel
        message = git(bare, "log", "-1", "--format=%B", tip)
        assert TRAILER in message
        for change in expected.changes:
            assert change.rel in message
        assert git(bare, "log", "-1", "--format=%an", tip) == "Release Maintainer"
        # the clone in the work dir is on the branch, clean, PR.md kept out of git status
        clone = work / name
        assert git(clone, "symbolic-ref", "--short", "HEAD") == branch
        assert git(clone, "status", "--porcelain") == ""
        pr = (clone / "PR.md").read_text()
        assert pr.startswith("# ") and "exemplar-migrate" in pr.splitlines()[0]
        assert "| Codemod | Job |" in pr
        for f in expected.findings:
            if f.severity in ("review", "error"):
                assert f"`{f.path}:{f.line}`" in pr if f.line else f.path in pr
        for package in expected.required_packages:
            assert f"`{package}`" in pr.split("## What the release must add", 1)[1]
        # the maintainer's own checkout is untouched
        assert git(checkout, "branch", "--list", branch) == ""
    assert [ln.split()[:2] for ln in out.splitlines()[1:4]] == [[n, "committed"] for n in ("alpha", "beta", "gamma")]
    report = last_report(work)
    assert {r["state"] for r in report.values()} == {"committed"}


def test_rerun_makes_no_new_commit_and_a_moved_base_recreates_the_branch(tmp_path, releases) -> None:
    work = tmp_path / "work"
    checkout, bare = releases["alpha"]
    branch = branch_name()
    assert run_bulk(str(checkout), "--workdir", str(work), "--push")[0] == 0
    first = git(bare, "rev-parse", branch)

    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push")
    assert code == 0 and "up-to-date" in out
    assert git(bare, "rev-parse", branch) == first
    assert git(work / "alpha", "rev-parse", branch) == first

    # the base moves on: the tool's own branch is recreated on top of it (one tool commit, no duplicates)
    (checkout / "NOTES.md").write_text("unrelated change\n")
    git(checkout, "add", "NOTES.md")
    git(checkout, "commit", "-qm", "Notes")
    git(checkout, "push", "-q", "origin", "main")
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push")
    assert code == 0 and "updated" in out
    tip = git(bare, "rev-parse", branch)
    assert tip != first
    assert git(bare, "rev-parse", f"{tip}^") == git(bare, "rev-parse", "main")
    assert git(bare, "rev-list", "--count", f"main..{branch}") == "1"
    assert changed_files(bare, "main", branch) == {c.rel for c in engine_result(checkout).changes}


def _human_commit(tmp: Path, bare: Path, branch: str, edit) -> str:
    """Someone else adds a commit to the PR branch and pushes it (``edit`` may commit itself)."""
    human = tmp / "human"
    if human.exists():
        shutil.rmtree(human)
    git(tmp, "clone", "-q", "-b", branch, str(bare), str(human))
    reviewer = {f"GIT_{who}_{key}": value for who in ("AUTHOR", "COMMITTER")
                for key, value in (("NAME", "Reviewer"), ("EMAIL", "reviewer@example.test"))}
    if edit is None:  # the reviewer reverts the whole migration
        tool_commit = git(human, "log", "-1", "--format=%H", f"--grep={TRAILER}")
        git(human, "revert", "--no-edit", tool_commit, env=reviewer)
    else:
        edit(human)
        git(human, "add", "-A")
        git(human, "commit", "-qm", "Hand fix from review", env=reviewer)
    git(human, "push", "-q", "origin", branch)
    return git(human, "rev-parse", "HEAD")


def test_a_branch_with_other_peoples_commits_is_never_rewritten(tmp_path, releases) -> None:
    work = tmp_path / "work"
    checkout, bare = releases["alpha"]
    branch = branch_name()
    assert run_bulk(str(checkout), "--workdir", str(work), "--push")[0] == 0

    # 1. a reviewer adds a commit that needs nothing new: the branch is up to date, their commit kept
    human1 = _human_commit(tmp_path, bare, branch, lambda d: (d / "REVIEW.md").write_text("ok\n"))
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push")
    assert code == 0 and "up-to-date" in out
    assert git(bare, "rev-parse", branch) == human1

    # 2. a reviewer's commit brings the legacy code back: skip leaves the branch alone (exit 1)...
    human2 = _human_commit(tmp_path, bare, branch, None)
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push")
    assert code == 1 and "skipped" in out and "Reviewer" in out, out
    assert git(bare, "rev-parse", branch) == human2
    assert git(work / "alpha", "status", "--porcelain") == ""

    # ...and the base moving on does not make the tool force-push over them either
    (checkout / "NOTES.md").write_text("x\n")
    git(checkout, "add", "NOTES.md")
    git(checkout, "commit", "-qm", "Notes")
    git(checkout, "push", "-q", "origin", "main")
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push")
    assert code == 1 and git(bare, "rev-parse", branch) == human2

    # 3. replace adds the update on top, as a fast-forward: every earlier commit is still there. The base
    # moved, so it is merged in first (a commit of ours), then the migration comes on top of the merge
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push", "--conflict-strategy", "replace")
    assert code == 0 and "updated" in out
    tip = git(bare, "rev-parse", branch)
    merge = git(bare, "rev-parse", f"{tip}^")
    assert git(bare, "rev-list", "--parents", "-n", "1", merge).split()[1:] == [human2, git(bare, "rev-parse", "main")]
    for kept in (human1, human2):
        assert git(bare, "merge-base", "--is-ancestor", kept, tip, check=False) == ""
    assert changed_files(bare, merge, tip) == {c.rel for c in engine_result(checkout).changes}
    assert TRAILER in git(bare, "log", "-1", "--format=%B", tip)
    assert TRAILER in git(bare, "log", "-1", "--format=%B", merge)


def _new_legacy_job_on_main(checkout: Path, name: str = "web2") -> None:
    """The base moves on with a job that still needs migrating (a copy of the web job)."""
    shutil.copytree(SAMPLE / "jobs" / "web", checkout / "jobs" / name)
    spec = checkout / "jobs" / name / "spec"
    spec.write_text(spec.read_text().replace("name: web", f"name: {name}", 1))
    git(checkout, "add", "-A")
    git(checkout, "commit", "-qm", f"Add {name}")
    git(checkout, "push", "-q", "origin", "main")


def _migrated(tmp: Path, bare: Path, branch: str) -> bool:
    """Does the branch on the remote need nothing more from the engine?"""
    look = tmp / "look"
    if look.exists():
        shutil.rmtree(look)
    git(tmp, "clone", "-q", "-b", branch, str(bare), str(look))
    return not engine_result(look).changes


def test_a_moved_base_under_other_peoples_commits_needs_attention_and_replace_brings_it_in(tmp_path, releases):
    work = tmp_path / "work"
    checkout, bare = releases["alpha"]
    branch = branch_name()
    assert run_bulk(str(checkout), "--workdir", str(work), "--push")[0] == 0
    human = _human_commit(tmp_path, bare, branch, lambda d: (d / "REVIEW.md").write_text("ok\n"))
    _new_legacy_job_on_main(checkout)

    # skip: not "up-to-date": the new job on the base is not on the branch, let alone migrated
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push")
    assert code == 1, out
    entry = last_report(work)["alpha"]
    assert entry["state"] == "skipped" and entry["needs_attention"]
    assert "'main' moved on (1 commit(s)" in entry["reason"] and "Reviewer" in entry["reason"]
    assert "--conflict-strategy replace" in entry["reason"]
    assert git(bare, "rev-parse", branch) == human

    # replace: the base is merged in and its new job migrated on top; nobody's commit is rewritten
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push", "--conflict-strategy", "replace")
    assert code == 0, out
    entry = last_report(work)["alpha"]
    assert entry["state"] == "updated" and "'main' merged in" in entry["reason"]
    tip = git(bare, "rev-parse", branch)
    for kept in (human, git(bare, "rev-parse", "main")):
        assert git(bare, "merge-base", "--is-ancestor", kept, tip, check=False) == ""
    assert git(bare, "rev-list", "--count", f"{human}..{tip}") == "3"  # main's commit, our merge, our migration
    assert _migrated(tmp_path, bare, branch)
    assert {f"jobs/web2/{rel}" for rel in ("spec", "templates/web_ctl.erb")} <= changed_files(bare, f"{tip}^", tip)
    # the PR text names the reviewer's commit it kept
    pr = (work / "alpha" / "PR.md").read_text()
    assert f"`{human[:8]}` Hand fix from review (Reviewer <reviewer@example.test>)" in pr

    # and a re-run after that has nothing new
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push", "--conflict-strategy", "replace")
    assert code == 0 and last_report(work)["alpha"]["state"] == "up-to-date"
    assert git(bare, "rev-parse", branch) == tip


def test_a_base_merge_that_conflicts_fails_that_repo_and_leaves_the_branch(tmp_path, releases) -> None:
    work = tmp_path / "work"
    checkout, bare = releases["alpha"]
    branch = branch_name()
    assert run_bulk(str(checkout), "--workdir", str(work), "--push")[0] == 0
    human = _human_commit(tmp_path, bare, branch, lambda d: (d / "NOTES.md").write_text("theirs\n"))
    (checkout / "NOTES.md").write_text("ours\n")
    git(checkout, "add", "NOTES.md")
    git(checkout, "commit", "-qm", "Notes on main")
    git(checkout, "push", "-q", "origin", "main")
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push", "--conflict-strategy", "replace")
    assert code == 1
    entry = last_report(work)["alpha"]
    assert entry["state"] == "failed" and "conflicts in NOTES.md" in entry["reason"]
    assert git(bare, "rev-parse", branch) == human
    assert git(work / "alpha", "status", "--porcelain") == ""


# -- failures are isolated and lose nothing -------------------------------------------------------
def test_failures_are_reported_per_repo_and_the_others_go_on(tmp_path, releases) -> None:
    work = tmp_path / "work"
    branch = branch_name()
    dirty_checkout, _ = releases["beta"]
    # beta: a first run, then a hand edit and a new file in its work-dir clone
    assert run_bulk(str(dirty_checkout), "--workdir", str(work))[0] == 0
    clone = work / "beta"
    edited = next(p for p in sorted((clone / "jobs").rglob("*.erb")))
    edited.write_text(edited.read_text() + "# my hand edit\n")
    (clone / "todo.txt").write_text("mine\n")
    head_before = git(clone, "rev-parse", "HEAD")
    # gamma: its remote has gone away
    gamma, gamma_bare = releases["gamma"]
    shutil.rmtree(gamma_bare)
    # delta: not a release; epsilon: a URL nobody serves
    notrelease, _ = make_release(tmp_path, "delta", content=None)
    missing_url = f"file://{tmp_path}/remotes/nowhere.git"
    # the maintainer's alpha checkout has local work of its own
    alpha, alpha_bare = releases["alpha"]
    (alpha / "README.md").write_text("local, uncommitted\n")
    (alpha / "scratch.txt").write_text("untracked\n")
    alpha_status = git(alpha, "status", "--porcelain")

    # vanished: a stale entry in a repo list
    (tmp_path / "more.txt").write_text("vanished-release  # moved to another org\n")
    code, out, _err = run_bulk(str(alpha), str(dirty_checkout), str(gamma), str(notrelease), missing_url,
                              str(tmp_path / "more.txt"), "--workdir", str(work), "--push", "-j", "2")
    assert code == 1
    rows = {ln.split()[0]: ln.split()[1] for ln in out.splitlines()[1:7]}
    assert rows == {"alpha": "committed", "beta": "failed", "gamma": "failed", "delta": "failed",
                    "nowhere": "failed", "vanished-release": "failed"}
    report = last_report(work)
    assert "uncommitted changes" in report["beta"]["reason"] and "todo.txt" in report["beta"]["reason"]
    assert "unreachable" in report["gamma"]["reason"]
    assert "not a BOSH release" in report["delta"]["reason"]
    assert "cannot clone" in report["nowhere"]["reason"]
    assert "no such repository" in report["vanished-release"]["reason"]
    # alpha went through; the maintainer's checkout still has its own changes, untouched
    assert git(alpha_bare, "rev-parse", "--verify", branch)
    assert git(alpha, "status", "--porcelain") == alpha_status
    assert (alpha / "README.md").read_text() == "local, uncommitted\n"
    # the dirty clone is exactly as the user left it
    assert edited.read_text().endswith("# my hand edit\n") and (clone / "todo.txt").read_text() == "mine\n"
    assert git(clone, "rev-parse", "HEAD") == head_before


def test_missing_base_and_rejected_push_fail_that_repo_only(tmp_path, releases) -> None:
    work = tmp_path / "work"
    branch = branch_name()
    code, out, _ = run_bulk(str(releases["alpha"][0]), "--workdir", str(work), "--base", "release-1.x")
    assert code == 1
    assert "'release-1.x' does not exist on remote 'origin'" in last_report(work)["alpha"]["reason"]

    hook = releases["beta"][1] / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected: pushes need review' >&2\nexit 1\n")
    hook.chmod(0o755)
    code, out, _ = run_bulk(str(releases["beta"][0]), str(releases["gamma"][0]), "--workdir", str(work), "--push")
    assert code == 1
    report = last_report(work)
    assert report["beta"]["state"] == "failed" and "rejected" in report["beta"]["reason"]
    assert report["gamma"]["state"] == "committed"
    # the rejected commit is kept locally, and a later run pushes it once the remote accepts it
    kept = git(work / "beta", "rev-parse", branch)
    assert TRAILER in git(work / "beta", "log", "-1", "--format=%B", kept)
    hook.unlink()
    code, out, _ = run_bulk("--failed", "--workdir", str(work), "--push")
    assert code == 0
    rerun = {ln.split()[0]: ln.split()[1] for ln in out.splitlines()[1:] if ln and ":" not in ln}
    assert rerun == {"alpha": "committed", "beta": "up-to-date"}  # the two that failed, not gamma
    assert git(releases["beta"][1], "rev-parse", branch) == kept


def test_dry_run_creates_no_branch_and_prints_diffstat_and_pr_text(tmp_path, releases) -> None:
    work = tmp_path / "work"
    checkout, bare = releases["alpha"]
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--dry-run")
    assert code == 1  # changes pending, like the single-release --dry-run
    expected = engine_result(checkout)
    for change in expected.changes:
        assert change.rel in out
    assert "# Migrate job scripts with exemplar-migrate" in out and "would-change" in out
    branch = branch_name()
    assert git(bare, "branch", "--list", branch) == ""
    assert git(work / "alpha", "branch", "--list", branch) == ""
    assert git(work / "alpha", "status", "--porcelain") == ""
    assert not (work / "alpha" / "PR.md").exists()


def test_a_migrated_release_has_nothing_to_do(tmp_path) -> None:
    migrated = tmp_path / "migrated-content"
    shutil.copytree(SAMPLE, migrated)
    from migrator.runner import apply_changes

    apply_changes(engine_result(migrated).changes)
    checkout, bare = make_release(tmp_path, "done", content=migrated)
    code, out, _ = run_bulk(str(checkout), "--workdir", str(tmp_path / "work"), "--push")
    assert code == 0 and "nothing-to-do" in out
    assert git(bare, "branch", "--list", branch_name()) == ""


# -- pull requests through gh ---------------------------------------------------------------------
FAKE_GH = r'''#!{python}
"""Stand-in for gh: records argv and answers pr list/create/edit from a JSON state file."""
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_GH_LOG"], "a") as fh:
    fh.write(json.dumps({{"argv": args, "cwd": os.getcwd()}}) + "\n")
path = os.environ["FAKE_GH_STATE"]
state = json.load(open(path)) if os.path.exists(path) else {{"prs": []}}
opt = lambda name: args[args.index(name) + 1] if name in args else None
repo = os.path.basename(os.getcwd())
if args[:2] == ["pr", "list"]:
    fields = (opt("--json") or "number,url").split(",")
    print(json.dumps([{{f: p[f] for f in fields}} for p in state["prs"]
                      if p["repo"] == repo and p["head"] == opt("--head") and p["state"] == "open"]))
elif args[:2] == ["pr", "create"]:
    n = len(state["prs"]) + 1
    url = "https://forge.example.test/%s/pull/%d" % (repo, n)
    state["prs"].append({{"number": n, "url": url, "repo": repo, "head": opt("--head"), "base": opt("--base"),
                          "title": opt("--title"), "body": open(opt("--body-file")).read(), "state": "open"}})
    print(url)
elif args[:2] == ["pr", "edit"]:
    pr = next(p for p in state["prs"] if str(p["number"]) == args[2])
    pr["title"], pr["body"] = opt("--title"), open(opt("--body-file")).read()
    print(pr["url"])
else:
    sys.exit("fake gh: unsupported " + " ".join(args))
json.dump(state, open(path, "w"))
'''


@pytest.fixture
def fake_gh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    gh = bindir / "gh"
    gh.write_text(FAKE_GH.format(python=sys.executable))
    gh.chmod(0o755)
    log, state = tmp_path / "gh-log.jsonl", tmp_path / "gh-state.json"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_GH_LOG", str(log))
    monkeypatch.setenv("FAKE_GH_STATE", str(state))
    return log, state


def test_open_pr_creates_once_and_a_rerun_with_nothing_new_does_not_edit(tmp_path, releases, fake_gh) -> None:
    log, state = fake_gh
    work = tmp_path / "work"
    repos = [str(releases[n][0]) for n in ("alpha", "beta")]
    code, out, _ = run_bulk(*repos, "--workdir", str(work), "--push", "--open-pr")
    assert code == 0, out
    assert "https://forge.example.test/alpha/pull/1" in out
    prs = json.loads(state.read_text())["prs"]
    assert sorted(p["repo"] for p in prs) == ["alpha", "beta"]
    alpha_pr = next(p for p in prs if p["repo"] == "alpha")
    assert alpha_pr["head"] == branch_name() and alpha_pr["base"] == "main"
    assert alpha_pr["title"] == (work / "alpha" / "PR.md").read_text().splitlines()[0].removeprefix("# ")
    assert "## Needs a human" in alpha_pr["body"]

    # nothing new: the PRs are not edited (an edit would reset what reviewers ticked or wrote)
    bodies = {p["repo"]: p["body"] for p in json.loads(state.read_text())["prs"]}
    code, out, _ = run_bulk(*repos, "--workdir", str(work), "--push", "--open-pr")
    assert code == 0
    calls = [json.loads(line)["argv"][:2] for line in log.read_text().splitlines()]
    assert calls.count(["pr", "create"]) == 2 and calls.count(["pr", "edit"]) == 0
    assert {p["repo"]: p["body"] for p in json.loads(state.read_text())["prs"]} == bodies
    assert {r["pr_action"] for r in last_report(work).values()} == {"unchanged"}
    assert "https://forge.example.test/alpha/pull/1" in out


def test_an_updated_pr_keeps_the_reviewers_ticks(tmp_path, releases, fake_gh) -> None:
    log, state = fake_gh
    work = tmp_path / "work"
    checkout, _bare = releases["alpha"]
    assert run_bulk(str(checkout), "--workdir", str(work), "--push", "--open-pr")[0] == 0
    # a reviewer ticks two items and writes a note under the text
    data = json.loads(state.read_text())
    pr = data["prs"][0]
    boxes = [line for line in pr["body"].splitlines() if line.startswith("- [ ] ")]
    assert len(boxes) > 3
    ticked = [boxes[0], boxes[2]]
    for line in ticked:
        pr["body"] = pr["body"].replace(line, "- [x] " + line[len("- [ ] "):], 1)
    pr["body"] += "\nChecked the stop timings with the operators.\n"
    state.write_text(json.dumps(data))
    reviewed = pr["body"]

    assert run_bulk(str(checkout), "--workdir", str(work), "--push", "--open-pr")[0] == 0
    assert json.loads(state.read_text())["prs"][0]["body"] == reviewed  # nothing new: not edited

    # the base gains a legacy job: the generated text changes, so the PR is edited, and the items the
    # reviewer ticked are still ticked; the new job's items are not
    _new_legacy_job_on_main(checkout)
    assert run_bulk(str(checkout), "--workdir", str(work), "--push", "--open-pr")[0] == 0
    calls = [json.loads(line)["argv"][:2] for line in log.read_text().splitlines()]
    assert calls.count(["pr", "edit"]) == 1 and calls.count(["pr", "create"]) == 1
    body = json.loads(state.read_text())["prs"][0]["body"]
    assert body != reviewed and "jobs/web2/" in body
    for line in ticked:
        assert "- [x] " + line[len("- [ ] "):] in body
    assert "- [ ] `jobs/web2/templates/web_ctl.erb:" in body
    assert last_report(work)["alpha"]["pr_action"] == "updated"


def test_open_pr_without_gh_says_so_and_leaves_the_text(tmp_path, releases, monkeypatch) -> None:
    bindir = tmp_path / "onlygit"
    bindir.mkdir()
    (bindir / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(bindir))
    work = tmp_path / "work"
    code, out, err = run_bulk(str(releases["alpha"][0]), "--workdir", str(work), "--push", "--open-pr")
    assert code == 1
    assert "gh is not installed" in err and "gh is not installed" in out
    assert (work / "alpha" / "PR.md").is_file()
    assert git(releases["alpha"][1], "rev-parse", "--verify", branch_name())


# -- subsets, reports, usage ------------------------------------------------------------------------
def test_only_and_json_report(tmp_path, releases) -> None:
    work = tmp_path / "work"
    repos = [str(releases[n][0]) for n in ("alpha", "beta", "gamma")]
    assert run_bulk(*repos, "--workdir", str(work), "--dry-run")[0] == 1
    code, out, _ = run_bulk("--only", "beta", "--workdir", str(work), "--output-format", "json")
    assert code == 0
    data = json.loads(out)
    assert [r["name"] for r in data["repos"]] == ["beta"]
    beta = data["repos"][0]
    assert beta["state"] == "committed" and beta["files_changed"] == len(engine_result(releases["beta"][0]).changes)
    assert beta["commit"] == git(work / "beta", "rev-parse", branch_name())
    # the last report keeps the repos that were not re-run
    assert {n: r["state"] for n, r in last_report(work).items()} == {
        "alpha": "would-change", "beta": "committed", "gamma": "would-change"}


@pytest.mark.parametrize("args, message", [
    ([], "give a repo list file or repos"),
    (["x", "--open-pr"], "--open-pr needs --push"),
    (["x", "--select", "no-such-codemod"], "unknown codemod"),
    (["x", "--branch", "bad..name"], "not a valid branch name"),
    (["no-such-list.txt"], "no such repo list file or repository"),
    (["--failed"], "give a repo list file or repos"),
])
def test_usage_errors_exit_2(tmp_path, args, message) -> None:
    code, _out, err = run_bulk(*args, "--workdir", str(tmp_path / "work"))
    assert code == 2 and message in err


def test_real_entry_point_dispatches_bulk(tmp_path, releases) -> None:
    proc = subprocess.run([sys.executable, "-m", "migrator", "bulk", str(releases["alpha"][0]),
                           "--workdir", str(tmp_path / "work"), "--dry-run"],
                          capture_output=True, text=True, cwd=tmp_path, check=False)
    assert proc.returncode == 1, proc.stderr
    assert "alpha: planning" in proc.stderr and "would-change" in proc.stdout


# -- nothing is ever lost ---------------------------------------------------------------------------
def test_a_hand_commit_in_the_work_clone_is_kept_and_pushed(tmp_path, releases) -> None:
    work = tmp_path / "work"
    checkout, bare = releases["alpha"]
    branch = branch_name()
    assert run_bulk(str(checkout), "--workdir", str(work), "--push")[0] == 0
    clone = work / "alpha"
    (clone / "FOLLOW-UP.md").write_text("checked the reporter log file with operators\n")
    git(clone, "add", "FOLLOW-UP.md")
    git(clone, "commit", "-qm", "Follow-up note")
    mine = git(clone, "rev-parse", "HEAD")
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work), "--push")
    assert code == 0 and "up-to-date" in out and "1 commit(s) not made by exemplar-migrate" in out
    assert git(bare, "rev-parse", branch) == mine  # a fast-forward push of the user's commit
    assert git(clone, "rev-parse", branch) == mine


def test_a_failed_commit_leaves_the_clone_clean(tmp_path, releases, monkeypatch) -> None:
    work = tmp_path / "work"
    checkout, _bare = releases["alpha"]
    monkeypatch.setenv("GIT_AUTHOR_NAME", "")  # git refuses an empty identity
    code, out, _ = run_bulk(str(checkout), "--workdir", str(work))
    assert code == 1
    assert "cannot commit" in last_report(work)["alpha"]["reason"]
    assert git(work / "alpha", "status", "--porcelain") == ""
    assert git(work / "alpha", "branch", "--list", branch_name()) == ""
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Release Maintainer")
    code, out, _ = run_bulk("--failed", "--workdir", str(work))
    assert code == 0 and "committed" in out


def test_remotes_of_local_checkouts(tmp_path, releases) -> None:
    work = tmp_path / "work"
    branch = branch_name()
    # a checkout whose remote has another name is not pushed into by accident
    renamed, renamed_bare = releases["alpha"]
    git(renamed, "remote", "rename", "origin", "upstream")
    code, _out, _ = run_bulk(str(renamed), "--workdir", str(work), "--push")
    assert code == 1
    assert "no remote 'origin' (it has: upstream)" in last_report(work)["alpha"]["reason"]
    assert git(renamed, "branch", "--list", branch) == ""
    code, _out, _ = run_bulk(str(renamed), "--workdir", str(tmp_path / "work2"), "--push", "--remote", "upstream")
    assert code == 0 and git(renamed_bare, "rev-parse", "--verify", branch)
    # a checkout with no remote at all is its own remote: the branch is pushed into it, nothing else
    lonely, _ = releases["gamma"]
    git(lonely, "remote", "remove", "origin")
    status, head = git(lonely, "status", "--porcelain"), git(lonely, "rev-parse", "HEAD")
    code, _out, _ = run_bulk(str(lonely), "--workdir", str(work), "--push")
    assert code == 0 and git(lonely, "rev-parse", "--verify", branch)
    assert git(lonely, "symbolic-ref", "--short", "HEAD") == "main" and git(lonely, "rev-parse", "HEAD") == head
    assert git(lonely, "status", "--porcelain") == status
    # a bare repo given as a file:// URL is cloned and pushed to directly
    beta_bare = releases["beta"][1]
    code, _out, _ = run_bulk(f"file://{beta_bare}", "--workdir", str(work), "--push")
    assert code == 0 and git(beta_bare, "rev-parse", "--verify", branch)


def test_a_clone_of_another_repo_in_the_work_dir_is_not_reused(tmp_path, releases) -> None:
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(releases["beta"][1]), str(work / "alpha"))
    head = git(work / "alpha", "rev-parse", "HEAD")
    code, _out, _ = run_bulk(str(releases["alpha"][0]), "--workdir", str(work))
    assert code == 1 and "did not clone" in last_report(work)["alpha"]["reason"]
    assert git(work / "alpha", "rev-parse", "HEAD") == head
    assert git(work / "alpha", "branch", "--list", branch_name()) == ""
    # a plain directory in the way is not a clone either
    (work / "beta").mkdir()
    (work / "beta" / "notes.txt").write_text("keep\n")
    code, _out, _ = run_bulk(str(releases["beta"][0]), "--workdir", str(work))
    assert code == 1 and "not a git clone" in last_report(work)["beta"]["reason"]
    assert (work / "beta" / "notes.txt").read_text() == "keep\n"


def test_diverged_tool_only_branches_are_recreated_from_the_base(tmp_path, releases) -> None:
    checkout, bare = releases["alpha"]
    branch = branch_name()
    # run 1 commits locally only; the base moves; run 2 (another work dir) pushes its own tool commit
    assert run_bulk(str(checkout), "--workdir", str(tmp_path / "w1"))[0] == 0
    (checkout / "NOTES.md").write_text("x\n")
    git(checkout, "add", "NOTES.md")
    git(checkout, "commit", "-qm", "Notes")
    git(checkout, "push", "-q", "origin", "main")
    assert run_bulk(str(checkout), "--workdir", str(tmp_path / "w2"), "--push")[0] == 0
    # run 3 from the first work dir: both sides are the tool's own, so it recreates and pushes
    code, out, _ = run_bulk(str(checkout), "--workdir", str(tmp_path / "w1"), "--push")
    assert code == 0, out
    tip = git(bare, "rev-parse", branch)
    assert git(bare, "rev-list", "--count", f"main..{branch}") == "1"
    assert git(bare, "rev-parse", f"{tip}^") == git(bare, "rev-parse", "main")


def test_other_peoples_commits_are_listed_in_a_stable_order(tmp_path) -> None:
    """Oldest first, in topological order, whatever the commit dates and however many tips name them."""
    from migrator.bulk.gitops import WorkTree

    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", "-b", "main", str(repo))
    (repo / "f").write_text("0\n")
    git(repo, "add", "f")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    made = []
    # dates run backwards, so date order and parent order disagree
    for i, (who, date) in enumerate([("Tool", "2030-01-03"), ("Ann", "2030-01-02"), ("Bob", "2030-01-01")]):
        (repo / "f").write_text(f"{i + 1}\n")
        git(repo, "add", "f")
        trailer = f"\n\n{TRAILER}" if who == "Tool" else ""
        git(repo, "commit", "-qm", f"step {i}{trailer}",
            env={"GIT_AUTHOR_NAME": who, "GIT_AUTHOR_DATE": f"{date}T00:00:00", "GIT_COMMITTER_DATE": f"{date}T00:00:00"})
        made.append(git(repo, "rev-parse", "HEAD"))
    work = WorkTree(repo)
    expected = [(made[1], "Ann <maintainer@example.test>", "step 1"), (made[2], "Bob <maintainer@example.test>", "step 2")]
    assert work.commits_without_trailer(base, made[2]) == expected
    assert work.commits_without_trailer(base, made[1], made[2]) == expected  # a local and a remote tip


def test_a_forced_push_only_replaces_the_commit_it_saw(tmp_path, releases) -> None:
    """The lease: if the remote branch moved after our fetch, a non-fast-forward push is refused."""
    from migrator.bulk.gitops import GitError, WorkTree

    checkout, bare = releases["alpha"]
    git(checkout, "push", "-q", "origin", "main:topic")
    seen = git(bare, "rev-parse", "topic")
    ours = tmp_path / "ours"
    git(tmp_path, "clone", "-q", str(bare), str(ours))
    # someone else pushes to topic after our clone fetched it
    (checkout / "theirs.txt").write_text("theirs\n")
    git(checkout, "add", "theirs.txt")
    git(checkout, "commit", "-qm", "Theirs")
    git(checkout, "push", "-q", "origin", "HEAD:topic")
    theirs = git(bare, "rev-parse", "topic")
    git(ours, "checkout", "-q", "-b", "topic", "origin/topic")
    git(ours, "commit", "-q", "--amend", "-m", "Rewritten")
    with pytest.raises(GitError):
        WorkTree(ours).push("origin", "topic", seen, force=True)
    assert git(bare, "rev-parse", "topic") == theirs
