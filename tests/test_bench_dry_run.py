"""benchmarks/bench_dry_run.py runs end to end on a tiny corpus and prints every measure.

Not a timed test: it checks the benchmark works (each measure measured, or said to be skipped when
its tool is not installed), never how fast anything is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
SCRIPT = ROOT / "benchmarks" / "bench_dry_run.py"

ALWAYS = ("dry-run -j 1", "parse floor", "bash -n per file", "start-up")
OPTIONAL = {"shellcheck": "shellcheck: skipped", "ast-grep 1 rule": "ast-grep: skipped"}
NUMBER = r"\s+\d+\.\d{3}"
ROW = NUMBER * 4 + r"\s+\d+\.\d\s+\d+\.\d\d\s+\d+\.\d\d$"  # cpu min/med, wall min/med, MB, two ratios


def test_benchmark_prints_each_measure_for_both_corpora(tmp_path: Path) -> None:
    folder = tmp_path / "releases"
    release = folder / "tiny-release" / "jobs"
    release.mkdir(parents=True)
    for job in ("blobstore", "router"):
        shutil.copytree(SAMPLE / "jobs" / job, release / job)
    shutil.copytree(SAMPLE / "src", folder / "tiny-release" / "src")

    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--releases", "1", "--copies", "0", "--rounds", "1", "--no-j2", str(folder)],
        capture_output=True, text=True, timeout=600, cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    sections = run.stdout.split("\n== ")[1:]
    assert [s.split(":")[0] for s in sections] == ["synthetic (1 x sample release)", str(folder)]
    assert "1 releases, 2 jobs," in sections[1]
    for section in sections:
        for name in ALWAYS:
            assert re.search(rf"^{re.escape(name)}{ROW}", section, re.M), (name, section)
        for name, skipped in OPTIONAL.items():
            assert re.search(rf"^{re.escape(name)}{ROW}", section, re.M) or skipped in section, (name, section)
        assert "ratios (CPU min): dry-run = " in section
    # the run pre-commit and bulk mode make per release: one small job, start-up included
    assert re.search(rf"^one tiny job{ROW}", sections[0], re.M), sections[0]
    # the folder given was copied, never written into
    assert sorted(p.name for p in release.iterdir()) == ["blobstore", "router"]
