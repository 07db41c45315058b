"""Golden test: the tool turns samples/<release> into samples/expected/<release>, and leaves the
expected form alone (idempotence on a whole release)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
RELEASES = sorted(p.name for p in SAMPLES.iterdir() if p.is_dir() and p.name != "expected")


def _tool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, cwd=cwd)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("release", RELEASES)
def test_migrating_the_sample_gives_the_expected_tree(tmp_path: Path, release: str) -> None:
    work = tmp_path / release
    shutil.copytree(SAMPLES / release, work)
    proc = _tool("--allow-dirty", str(work))
    assert proc.returncode in (0, 1), proc.stderr
    got, want = _tree(work), _tree(SAMPLES / "expected" / release)
    assert sorted(got) == sorted(want)
    for name in want:
        assert got[name].decode() == want[name].decode(), f"{name} differs from the expected form"


@pytest.mark.parametrize("release", RELEASES)
def test_second_run_over_the_expected_tree_changes_nothing(tmp_path: Path, release: str) -> None:
    work = tmp_path / release
    shutil.copytree(SAMPLES / "expected" / release, work)
    before = _tree(work)
    proc = _tool("--check", str(work))
    assert "nothing to change" in proc.stderr, proc.stderr
    _tool("--allow-dirty", str(work))
    assert _tree(work) == before


@pytest.mark.parametrize("release", RELEASES)
def test_dry_run_leaves_the_tree_byte_identical(tmp_path: Path, release: str) -> None:
    work = tmp_path / release
    shutil.copytree(SAMPLES / release, work)
    before = _tree(work)
    modes = {p: p.stat().st_mode for p in work.rglob("*")}
    proc = _tool("--dry-run", str(work / "jobs"))
    assert proc.returncode == 1
    assert proc.stdout.startswith("--- a/jobs/")
    assert _tree(work) == before
    assert {p: p.stat().st_mode for p in work.rglob("*")} == modes
