"""Start-up (issue 11): a run imports only what it uses. Pre-commit and bulk mode start one process
per release, so every module a run of one small job imports is paid again each time: bulk mode,
the SARIF and Markdown reports, multiprocessing (only -j > 1), the writer's random names (only
when writing) and Hypothesis (tests only) stay out of a dry run; --version reads the version from
the package, not from the installed metadata."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import migrator

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, runpy, sys
sys.argv = ["exemplar-migrate", *sys.argv[1:]]
try:
    runpy.run_module("migrator", run_name="__main__")
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.__stderr__)
"""


def _modules(tmp_path: Path, *args: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}, check=False)
    return set(json.loads(run.stderr.strip().splitlines()[-1]))


def test_a_dry_run_of_one_job_imports_only_what_it_uses(tmp_path: Path) -> None:
    release = tmp_path / "rel"
    shutil.copytree(ROOT / "samples" / "legacy-release" / "jobs" / "api", release / "jobs" / "api")
    loaded = _modules(tmp_path, "--dry-run", str(release))
    assert "codemods" in loaded and "migrator.engine" in loaded  # it did run
    unused = {"migrator.bulk", "migrator.report_sarif", "migrator.report_markdown", "migrator.explain",
              "multiprocessing", "concurrent.futures", "secrets", "hypothesis", "importlib.metadata"}
    assert loaded & unused == set()


def test_version_needs_neither_the_codemods_nor_the_installed_metadata(tmp_path: Path) -> None:
    loaded = _modules(tmp_path, "--version")
    assert {"codemods", "migrator.engine", "yaml", "importlib.metadata"} & loaded == set()


def test_the_package_version_is_the_installed_one() -> None:
    assert migrator.__version__ == version("exemplar-migrate")
