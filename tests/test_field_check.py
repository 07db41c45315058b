"""scripts/field-check on a small folder of releases made from the sample release."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.erb_render import ruby_available

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
SCRIPT = ROOT / "scripts" / "field-check"

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")


def small_release(dest: Path, jobs: tuple[str, ...]) -> Path:
    """A release with a few sample jobs (and the sample's shell helpers)."""
    (dest / "jobs").mkdir(parents=True)
    for job in jobs:
        shutil.copytree(SAMPLE / "jobs" / job, dest / "jobs" / job)
    shutil.copytree(SAMPLE / "src", dest / "src")
    return dest


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two releases: web and gateway change (logs, pidfiles, ERB), metrics has nothing to change."""
    base = tmp_path_factory.mktemp("field")
    small_release(base / "alpha", ("web", "metrics"))
    small_release(base / "beta", ("gateway",))
    (base / "not-a-release").mkdir()
    return base


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)


def test_the_table_counts_scripts_changes_and_proofs(folder: Path) -> None:
    proc = run(str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line[:1].isalpha()}
    # release  scripts  changed  equiv  differ  unrun  render
    assert rows["alpha"][1:7] == ["2", "1", "1", "0", "0", "0"]
    assert rows["beta"][1:7] == ["1", "1", "1", "0", "0", "0"]
    assert rows["TOTAL"][1:7] == ["3", "2", "2", "0", "0", "0"]
    assert "not-a-release" not in rows
    assert "findings by reason:" in proc.stdout


def test_json_gives_the_same_counts_and_each_codemods_share(folder: Path) -> None:
    proc = run("--json", str(folder / "alpha"))
    data = json.loads(proc.stdout)
    (alpha,) = data["releases"]
    assert (alpha["name"], alpha["scripts"], alpha["changed"], alpha["equivalent"]) == ("alpha", 2, 1, 1)
    assert alpha["differing"] == [] and alpha["unrunnable"] == [] and alpha["render_failures"] == []
    assert alpha["shares"]["log-pipelines"] == {"changed": 1, "of": 1}
    assert alpha["lines"]["log-pipelines"]["before"] > alpha["lines"]["log-pipelines"]["after"]
    assert data["totals"]["changed"] == 1


def test_a_broken_migration_shows_up_as_differing_with_its_argv(folder: Path, monkeypatch) -> None:
    loader = importlib.machinery.SourceFileLoader("field_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("field_check", loader)
    field_check = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "field_check", field_check)  # dataclasses look their module up
    loader.exec_module(field_check)
    real_migrate = field_check.migrate

    def broken(release: Path, dest: Path, *extra: str) -> dict:
        report = real_migrate(release, dest, *extra)
        ctl = dest / "jobs" / "gateway" / "templates" / "gateway_ctl.erb"
        ctl.write_text(ctl.read_text().replace("--drain-timeout=", "--drain-timeuot="))
        return report

    monkeypatch.setattr(field_check, "migrate", broken)
    result = field_check.check_release(folder / "beta", ("defaults",), 2)
    assert result.equivalent == 0
    (item,) = result.differing
    assert item["file"] == "jobs/gateway/templates/gateway_ctl.erb"
    assert "--drain-timeuot=30s" in item["detail"] and "--drain-timeout=30s" in item["detail"]


def test_a_folder_without_releases_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(str(tmp_path))
    assert proc.returncode == 2 and "no release here" in proc.stderr
