"""The full dry-run output of the sample release, as one text: the golden file speed work is held to.

Every optimisation (issue 11) must leave what a user sees byte for byte as it was: the diffs on
stdout, the findings and summary on stderr, and the exit status, with one worker and with two. The
test (``tests/test_dry_run_output.py``) and ``scripts/update-expected`` both build the text here, so
the golden file is always made the way it is checked:

    python -m tests.support.dry_run_golden          # rewrite tests/data/dry_run_output.txt

The run is on the sample release in place (a dry run writes nothing), from ``samples/`` with a
relative path, so the diffs name files relative to the release. The only absolute path the tool
prints (where the release must add ``packages/sipid``) is replaced by ``<release>``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
RELEASE = "legacy-release"
GOLDEN = ROOT / "tests" / "data" / "dry_run_output.txt"


def dry_run_output(workers: int = 1) -> str:
    """Exit status, stdout and stderr of ``--dry-run -j WORKERS`` on the sample release."""
    # this checkout's code, not whichever one the venv's editable install points at
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": path}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "migrator", "--dry-run", "--color", "never", "-j", str(workers), RELEASE],
        cwd=SAMPLES, capture_output=True, text=True, env=env, check=False,
    )
    stderr = proc.stderr.replace(str((SAMPLES / RELEASE).resolve()), "<release>")
    return (f"== exit status: {proc.returncode}\n== stdout\n{proc.stdout}"
            f"== stderr\n{stderr}")


def main() -> None:
    GOLDEN.write_text(dry_run_output(1), encoding="utf-8")
    print(f"wrote {GOLDEN.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
