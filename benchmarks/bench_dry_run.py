"""Benchmark: a whole-corpus dry-run compared with parsing alone (DESIGN.md §6).

Builds a synthetic corpus of releases from the sample jobs (by default about 1,000 scripts, the size
of the surveyed real-release corpus), then measures, best of N rounds:
  - parse: ERB segmentation + masking + bash parse of every script, once;
  - plan: the full dry-run engine (discovery, reading, every codemod, verification);
  - cli: the same through ``python -m migrator --dry-run`` (start-up included), with -j 1 and -j 2.
Prints one line per measure and the plan/parse ratio. Not a test: numbers depend on the machine.

usage: python benchmarks/bench_dry_run.py [--releases 40] [--rounds 3]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_corpus(dest: Path, releases: int) -> list[Path]:
    sample = ROOT / "samples" / "legacy-release"
    roots = []
    for i in range(releases):
        target = dest / f"release-{i:03d}"
        shutil.copytree(sample, target)
        # more jobs per release: copies of the sample jobs under new names
        for job in list((target / "jobs").iterdir()):
            for k in range(3):
                shutil.copytree(job, job.with_name(f"{job.name}-{k}"))
        roots.append(target)
    return roots


def count_scripts(roots: list[Path]) -> int:
    from migrator.discovery import discover

    return sum(len(job.scripts) for job in discover(roots))


def best(rounds: int, fn) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--releases", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import codemods
    from migrator.discovery import discover
    from migrator.document import Document
    from migrator.engine import Pipeline
    from migrator.runner import run_jobs

    with tempfile.TemporaryDirectory() as tmp:
        roots = build_corpus(Path(tmp), args.releases)
        jobs = discover(roots)
        scripts = [t.path for job in jobs for t in job.scripts]
        data = [p.read_bytes() for p in scripts]
        total = sum(map(len, data))
        print(f"corpus: {len(roots)} releases, {len(jobs)} jobs, {len(scripts)} scripts, {total / 1e6:.2f} MB")

        parse = best(args.rounds, lambda: [Document.parse("x", d) for d in data])
        print(f"parse only      : {parse:6.3f} s  ({len(data) / parse:7.0f} files/s)")

        pipeline = Pipeline(codemods.select(), None)
        plan = best(args.rounds, lambda: run_jobs(discover(roots), pipeline))
        print(f"plan (in-proc)  : {plan:6.3f} s  ({len(data) / plan:7.0f} files/s)  = {plan / parse:.1f} x parse")

        for workers in (1, 2):
            cmd = [sys.executable, "-m", "migrator", "--dry-run", "-q", "-j", str(workers), *map(str, roots)]
            wall = best(args.rounds, lambda cmd=cmd: subprocess.run(cmd, capture_output=True, check=False))
            print(f"cli -j {workers}        : {wall:6.3f} s  ({len(data) / wall:7.0f} files/s)")

        startup = best(args.rounds, lambda: subprocess.run([sys.executable, "-m", "migrator", "--version"],
                                                           capture_output=True, check=False))
        print(f"cli start-up    : {startup:6.3f} s")


if __name__ == "__main__":
    main()
