"""Release layouts met in the field that the tool must handle without surprises: a CRLF spec, a
symlinked job folder, a folder with an empty spec, a helper folder emptied by a removed helper, and
a repo that is not a release in bulk mode. Each runs the real command on a copy of a sample job."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"


def tool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, cwd=cwd,
                          check=False)


def release_with(tmp: Path, *jobs: str) -> Path:
    root = tmp / "release"
    for job in jobs:
        shutil.copytree(SAMPLE / "jobs" / job, root / "jobs" / job)
    return root


def test_a_crlf_spec_keeps_its_line_endings(tmp_path: Path) -> None:
    root = release_with(tmp_path, "web")
    spec = root / "jobs" / "web" / "spec"
    original = spec.read_bytes().replace(b"\n", b"\r\n")
    spec.write_bytes(original)
    proc = tool("--allow-dirty", str(root))
    assert proc.returncode in (0, 1), proc.stderr
    after = spec.read_bytes()
    assert after != original, "the spec gains the env template and sipid"
    assert after.count(b"\n") == after.count(b"\r\n"), "every line still ends in CRLF"
    data = yaml.safe_load(after)
    assert "sipid" in data["packages"] and "web_ctl.env.erb" in data["templates"]
    # the lines it had are all still there, byte for byte
    assert set(original.split(b"\r\n")) <= set(after.split(b"\r\n"))
    assert tool("--check", str(root)).returncode in (0, 1)


def test_a_symlinked_job_folder_is_processed_once(tmp_path: Path) -> None:
    root = release_with(tmp_path, "web")
    (root / "jobs" / "web-alias").symlink_to("web")
    proc = tool("--dry-run", "-v", str(root))
    assert proc.returncode == 1, proc.stderr
    headers = [line for line in proc.stdout.splitlines() if line.startswith("+++ ")]
    assert "+++ b/jobs/web/templates/web_ctl.erb" in headers
    assert not any("web-alias" in line for line in headers), headers
    assert len(headers) == len(set(headers))
    assert "web-alias" in proc.stderr and "symlink" in proc.stderr  # -v says why it was not processed twice
    # naming both folders on the command line gives one job too
    proc = tool("--dry-run", str(root / "jobs" / "web"), str(root / "jobs" / "web-alias"))
    assert [line for line in proc.stdout.splitlines() if line.startswith("+++ ")] == headers


def test_a_folder_with_an_empty_spec_is_not_a_job(tmp_path: Path) -> None:
    root = release_with(tmp_path, "web")
    thing = root / "jobs" / "thing"
    (thing / "templates").mkdir(parents=True)
    (thing / "spec").write_text("")
    shutil.copy2(SAMPLE / "jobs" / "web" / "templates" / "web_ctl.erb", thing / "templates" / "thing_ctl.erb")
    (root / "jobs" / "comments-only").mkdir()
    (root / "jobs" / "comments-only" / "spec").write_text("# to do\n---\n")
    proc = tool("--dry-run", "-v", str(root))
    assert proc.returncode == 1, proc.stderr
    assert "jobs/thing" not in proc.stdout and "comments-only" not in proc.stdout
    assert "+++ b/jobs/web/spec" in proc.stdout
    assert "jobs/thing/spec is empty" in proc.stderr
    # the empty spec stays empty when changes are applied
    assert tool("--allow-dirty", str(root)).returncode in (0, 1)
    assert (thing / "spec").read_text() == ""
    assert (thing / "templates" / "thing_ctl.erb").read_bytes() == (SAMPLE / "jobs/web/templates/web_ctl.erb").read_bytes()
    # named on its own, the folder is not a job either: nothing to do
    proc = tool("--check", str(thing))
    assert proc.returncode == 0 and "nothing to change" in proc.stderr


def test_a_helper_folder_emptied_by_a_removed_helper_is_removed(tmp_path: Path) -> None:
    root = release_with(tmp_path, "archiver")
    helpers = root / "jobs" / "archiver" / "templates" / "helpers"
    assert sorted(p.name for p in helpers.iterdir()) == ["ctl_utils.sh"]
    proc = tool("--allow-dirty", str(root))
    assert proc.returncode in (0, 1), proc.stderr
    assert not helpers.exists(), "the only helper went, and so does its folder"
    assert (root / "jobs" / "archiver" / "templates").is_dir()


def test_a_helper_folder_that_keeps_other_files_stays(tmp_path: Path) -> None:
    root = release_with(tmp_path, "archiver")
    helpers = root / "jobs" / "archiver" / "templates" / "helpers"
    (helpers / "README").write_text("notes about the helpers\n")
    assert tool("--allow-dirty", str(root)).returncode in (0, 1)
    assert sorted(p.name for p in helpers.iterdir()) == ["README"]


def test_not_a_release_is_said_once_in_bulk_mode(tmp_path: Path) -> None:
    repo = tmp_path / "docs"
    repo.mkdir()
    (repo / "README.md").write_text("not a release\n")
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "M", "GIT_AUTHOR_EMAIL": "m@example.test", "GIT_COMMITTER_NAME": "M",
           "GIT_COMMITTER_EMAIL": "m@example.test"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "docs"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)
    proc = subprocess.run([sys.executable, "-m", "migrator", "bulk", str(repo), "--workdir", str(tmp_path / "work"),
                           "--dry-run"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 1
    said = proc.stdout + proc.stderr
    assert "not a BOSH release" in said
    assert "not a BOSH release: not a BOSH release" not in said
    assert all(line.count("not a BOSH release") <= 1 for line in said.splitlines())
