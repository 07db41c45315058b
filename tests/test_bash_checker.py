"""The long-lived bash that stands in for ``bash -n`` must give bash -n's exact verdicts and
messages, execute nothing, and recover when its process dies."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from migrator.checks.grammar import BashChecker

ROOT = Path(__file__).resolve().parent.parent
BASH = shutil.which("bash")

ADVERSARIAL = [
    b"", b"echo ok\n", b"touch x\n\nif then fi\n", b"x\ncat <<EOF\nabc\n", b"x\ncase a in\n",
    b"echo 'unterminated\n", b"}\n", b"f() {\n", b"a=$(\n", b"echo \\\n", b"exit 3\nif\n",
    "caf\u00e9\nif then\n".encode(), b"f() { echo; }\n}\nif\n", b"cat <<'X'\n}\nX\nif then\n",
    b"exec 9<>/tmp/lock\n", b"set -e\nfalse\nif true; then\nfi\n", b"read -r n\n\n\n(\n",
]


def _bash_n(source: bytes) -> str | None:
    proc = subprocess.run([BASH, "-n"], input=source, capture_output=True, check=False)
    if proc.returncode == 0:
        return None
    return proc.stderr.decode("utf-8", "replace").strip().splitlines()[0] if proc.stderr.strip() else "syntax error"


def _corpus() -> list[bytes]:
    files = [p for p in sorted((ROOT / "samples").rglob("*")) if p.is_file() and "templates" in p.parts]
    return ADVERSARIAL + [p.read_bytes() for p in files]


def test_verdicts_and_messages_equal_bash_n() -> None:
    checker = BashChecker(BASH)
    mismatches = [(src[:40], got, want) for src in _corpus()
                  if (got := checker.check(src)) != (want := _bash_n(src))]
    assert mismatches == []
    assert any(_bash_n(src) for src in ADVERSARIAL)  # the corpus does hold syntax errors


def test_nothing_is_executed(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    checker = BashChecker(BASH)
    assert checker.check(f"touch {marker}\necho $(touch {marker}.2)\n".encode()) is None
    assert checker.check(f"touch {marker}\nif then fi\n".encode()) is not None
    assert not marker.exists() and not Path(f"{marker}.2").exists()


def test_a_dead_checker_is_restarted() -> None:
    checker = BashChecker(BASH)
    assert checker.check(b"if then fi\n") is not None
    assert checker.proc is not None
    checker.proc.kill()
    checker.proc.wait()
    assert checker.check(b"echo fine\n") is None
    assert checker.check(b"if then fi\n") == _bash_n(b"if then fi\n")


@pytest.mark.parametrize("source", [b"a\x00b\nif then fi\n"])
def test_input_bash_cannot_read_from_a_pipe_falls_back_to_bash_n(source: bytes) -> None:
    assert BashChecker(BASH).check(source) == _bash_n(source)


def test_a_text_bash_judged_before_is_not_sent_again() -> None:
    """The verdict on the same masked text is remembered: with the checking bash gone, a text it
    judged gets the same verdict (and message) without a new bash; a new text starts one."""
    from migrator.checks.grammar import _checker, bash_syntax_error

    bad = b"#!/bin/bash\n# judged once\nif true; then\nfi\n"
    first = bash_syntax_error(bad)
    assert first is not None and "syntax error" in first
    checker = _checker()
    assert checker is not None and checker.proc is not None
    dead = checker.proc
    dead.kill()
    dead.wait()
    assert bash_syntax_error(bytes(bad)) == first
    assert checker.proc is dead  # nothing was asked of a bash
    assert bash_syntax_error(b"echo another text\n") is None
    assert checker.proc is not dead
