"""The pre-commit hook (``.pre-commit-hooks.yaml``), run by the real ``pre-commit`` in a temporary
release repository.

The hook repository is a snapshot of this project's working tree committed to a temporary git repo
(pre-commit clones a ``repo:`` at a ``rev``, so uncommitted work would not be seen otherwise).
``language: python``: pre-commit builds its own virtualenv and installs the snapshot into it with
pip, which fetches the dependencies from the package index like ``pip install -e .`` does. The
second test is the offline recipe the README gives: a ``repo: local`` hook with ``language: system``
that runs the already installed command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
PRE_COMMIT = [sys.executable, "-m", "pre_commit"]
#: what ``pip install .`` needs of the project
PROJECT_FILES = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "migrator", "codemods")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    cfg = tmp_path / "gitconfig"
    cfg.write_text("[init]\n\tdefaultBranch = main\n")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    environ.update({"GIT_CONFIG_GLOBAL": str(cfg), "GIT_CONFIG_NOSYSTEM": "1", "PRE_COMMIT_HOME": str(tmp_path / "cache"),
                    "NO_COLOR": "1"})
    for who in ("AUTHOR", "COMMITTER"):
        environ[f"GIT_{who}_NAME"], environ[f"GIT_{who}_EMAIL"] = "Release Maintainer", "maintainer@example.test"
    return environ


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600)


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    proc = run(["git", *args], cwd, env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def make_release(tmp: Path, env: dict[str, str], config: str) -> Path:
    """A release repo with one legacy job and the given .pre-commit-config.yaml, committed."""
    repo = tmp / "release"
    shutil.copytree(SAMPLE / "jobs" / "web", repo / "jobs" / "web")
    (repo / ".pre-commit-config.yaml").write_text(config)
    git(repo.parent, env, "init", "-q", str(repo))
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-qm", "Legacy release")
    return repo


def migrate_and_commit(repo: Path, env: dict[str, str]) -> None:
    proc = run([sys.executable, "-m", "migrator", "."], repo, env)
    assert proc.returncode in (0, 1), proc.stderr  # 1: findings for a human, the files are written
    git(repo, env, "add", "-A")
    proc = run(["git", "commit", "-qm", "Migrate", "--no-verify"], repo, env)
    assert proc.returncode == 0, proc.stderr


def add_legacy_job(repo: Path) -> None:
    shutil.copytree(SAMPLE / "jobs" / "worker", repo / "jobs" / "worker")


def test_the_shipped_hook_runs_the_check_in_a_release_repo(tmp_path: Path, env: dict[str, str]) -> None:
    hook_repo = tmp_path / "exemplar-migrate"
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, hook_repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif source.exists():
            hook_repo.mkdir(exist_ok=True)
            shutil.copy2(source, hook_repo / name)
    git(tmp_path, env, "init", "-q", str(hook_repo))
    git(hook_repo, env, "add", "-A")
    git(hook_repo, env, "commit", "-qm", "Snapshot of the working tree")
    rev = git(hook_repo, env, "rev-parse", "HEAD")
    repo = make_release(tmp_path, env, f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n  - id: exemplar-migrate\n")

    proc = run([*PRE_COMMIT, "run", "--all-files"], repo, env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "exemplar-migrate --check" in proc.stdout and "Failed" in proc.stdout
    assert "would change jobs/web/templates/web_ctl.erb" in proc.stdout

    migrate_and_commit(repo, env)
    proc = run([*PRE_COMMIT, "run", "--all-files"], repo, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout

    # installed as a git hook: a commit that brings legacy scripts back is refused
    assert run([*PRE_COMMIT, "install"], repo, env).returncode == 0
    add_legacy_job(repo)
    git(repo, env, "add", "-A")
    proc = run(["git", "commit", "-qm", "Add worker"], repo, env)
    assert proc.returncode != 0
    assert "would change jobs/worker/templates/worker_ctl.erb" in proc.stdout + proc.stderr
    assert git(repo, env, "log", "-1", "--format=%s") == "Migrate"


def test_offline_recipe_a_local_hook_runs_the_installed_command(tmp_path: Path, env: dict[str, str]) -> None:
    command = shutil.which("exemplar-migrate", path=str(Path(sys.executable).parent))
    assert command, "the project is installed in the test environment (pip install -e '.[test]')"
    config = ("repos:\n- repo: local\n  hooks:\n  - id: exemplar-migrate\n    name: exemplar-migrate --check\n"
              f"    entry: {command} --check .\n    language: system\n    pass_filenames: false\n"
              "    files: (^|/)(jobs|packages)/\n")
    repo = make_release(tmp_path, env, config)
    proc = run([*PRE_COMMIT, "run", "--all-files"], repo, env)
    assert proc.returncode == 1 and "would change jobs/web/templates/web_ctl.erb" in proc.stdout
    migrate_and_commit(repo, env)
    proc = run([*PRE_COMMIT, "run", "--all-files"], repo, env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
