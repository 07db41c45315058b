"""Golden output (issue 11): the whole dry-run of the sample release, byte for byte, with -j 1, 2
and 3 (this process alone, or with one or two workers). Speed work must not change a byte of it; a
change to a codemod that changes the sample's output regenerates it (``scripts/update-expected``,
or ``python -m tests.support.dry_run_golden``) in the same commit."""

from __future__ import annotations

import shutil

import pytest

from tests.support.dry_run_golden import GOLDEN, dry_run_output

pytestmark = pytest.mark.skipif(shutil.which("ruby") is None,
                                reason="the golden output was made with Ruby checking the ERB")


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_dry_run_output_of_the_sample_release_is_the_golden_one(workers: int) -> None:
    got = dry_run_output(workers)
    want = GOLDEN.read_text(encoding="utf-8")
    if got != want:
        import difflib

        diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                            "golden", f"-j {workers}", n=1))
        pytest.fail(f"the dry-run output changed (regenerate with scripts/update-expected if meant):\n{diff[:6000]}")
