"""Grammar: the rewrite still parses as bash (tree-sitter and ``bash -n``) and its ERB still scans.

tree-sitter's grammar is more forgiving than bash in places (it accepts ``then fi`` with an empty
body), so a rewrite must also pass the real shell; the ERB check catches a codemod that cut a tag.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import lru_cache

from migrator import erb
from migrator.codemod import JobContext
from migrator.document import Document


def check(ctx: JobContext, original: Document, final: Document) -> str | None:
    if final.error_count > original.error_count:
        return f"the rewritten script does not parse as bash (line {final.first_error_line()})"
    problem = bash_syntax_error(final.masked)
    if problem and not bash_syntax_error(original.masked):
        return f"bash -n rejects the rewritten script ({problem})"
    if final.erb_error and not original.erb_error:
        return "the rewritten script has a broken ERB tag"
    if erb.blocks_balanced(list(original.tags)) and not erb.blocks_balanced(list(final.tags)):
        return "the rewritten script's ERB blocks no longer balance"
    return None


def bash_syntax_error(masked: bytes) -> str | None:
    """bash's own verdict (``bash -n``) on a script with its ERB masked; None when it parses.

    Asked of one long-lived bash per process (see ``BashChecker``) rather than a ``bash -n`` per
    file: the verdicts are the same and a fork is far cheaper than an exec. Skipped where bash is
    missing.
    """
    checker = _checker()
    if checker is None:
        return None
    if masked in _VERDICTS:
        return _VERDICTS[masked]
    verdict = _VERDICTS[masked] = checker.check(masked)
    if len(_VERDICTS) > _VERDICTS_MAX:
        del _VERDICTS[next(iter(_VERDICTS))]
    return verdict


#: bash's verdicts by masked text, oldest first: the same text gets the same verdict (a script the
#: job copies keep, an original asked again when its rewrite fails), without another fork
_VERDICTS: dict[bytes, str | None] = {}
_VERDICTS_MAX = 1024


class BashChecker:
    """A bash that reads scripts from a pipe and checks each in a subshell under ``set -n``.

    ``( eval "set -n<newline>$src" )`` parses like ``bash -n`` and executes nothing; an error stays
    in the subshell. Wrapping the sources in functions instead would not be sound (a stray ``}``
    escapes the wrapper). Messages are reworded to what ``bash -n`` prints (``eval``'s line numbers
    mapped back), so findings do not depend on how the check ran.
    """

    _LOOP = (
        "export LC_ALL=C\n"
        "while IFS= read -r n; do\n"
        "  src=; [ \"$n\" -gt 0 ] && IFS= read -r -d '' -N \"$n\" src\n"
        "  ( eval \"set -n\n$src\" ) 2>&1 </dev/null\n"
        "  printf '\\n%s%d\\n' \"$1\" \"$?\"\n"
        "done\n"
    )
    _EVAL_PREFIX = re.compile(r"^bash: eval: line (\d+): ", re.M)

    def __init__(self, bash: str):
        self.bash = bash
        self.sentinel = f"\x01exemplar-migrate-{os.getpid()}\x01"
        self.proc: subprocess.Popen[bytes] | None = None
        self.line_offset = 0  # eval numbers lines from where the loop calls it

    def _calibrate(self) -> None:
        probe = self._ask(b"if then fi\n")
        m = self._EVAL_PREFIX.search(probe.decode("utf-8", "replace"))
        self.line_offset = int(m.group(1)) - 1 if m else 0

    def _start(self) -> subprocess.Popen[bytes]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([self.bash, "-c", self._LOOP, "bash", self.sentinel],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"})
            self._calibrate()
        return self.proc

    def check(self, masked: bytes) -> str | None:
        if b"\x00" in masked:
            return _one_shot(self.bash, masked)
        try:
            out = self._ask(masked)
        except (OSError, ValueError):
            self.proc = None
            return _one_shot(self.bash, masked)
        text, _, status = out.rpartition(self.sentinel.encode())
        if status.strip() == b"0":
            return None
        message = self._EVAL_PREFIX.sub(
            lambda m: f"{self.bash}: line {int(m.group(1)) - self.line_offset}: ", text.decode("utf-8", "replace")
        ).strip()
        return message.splitlines()[0] if message else "syntax error"

    def _ask(self, masked: bytes) -> bytes:
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(b"%d\n" % len(masked) + masked)
        proc.stdin.flush()
        marker = self.sentinel.encode()
        out = bytearray()
        while True:
            line = proc.stdout.readline()
            if not line:
                raise ValueError("the checking bash exited")
            out += line
            if line.startswith(marker):
                return bytes(out).rstrip(b"\n")


def _one_shot(bash: str, masked: bytes) -> str | None:
    proc = subprocess.run([bash, "-n"], input=masked, capture_output=True, check=False)
    if proc.returncode == 0:
        return None
    return proc.stderr.decode("utf-8", "replace").strip().splitlines()[0] if proc.stderr.strip() else "syntax error"


@lru_cache(maxsize=1)
def _checker() -> BashChecker | None:
    bash = shutil.which("bash")
    return BashChecker(bash) if bash else None
