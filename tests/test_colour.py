"""Colour on a terminal only: the real command runs with its stdout and stderr on real
pseudo-terminals (as in a shell) or on pipes (as in CI or ``| less``), and what it wrote is read back."""

from __future__ import annotations

import os
import pty
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from migrator import colour

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
SGR = re.compile(r"\x1b\[[0-9;]*m")
CONTROL = re.compile(r"\r|\x1b\[[0-9;]*[A-Za-z]")  # colour and the progress line's erase


def _drain(fd: int, sink: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the other side is closed
            return
        if not chunk:
            return
        sink.append(chunk)


def run_on_terminal(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """Run the command with stdout and stderr each on its own pseudo-terminal."""
    (out_master, out_slave), (err_master, err_slave) = pty.openpty(), pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "TERM")}
    environ.update({"TERM": "xterm-256color", "COLUMNS": "200", **(env or {})})
    proc = subprocess.Popen([sys.executable, "-m", "migrator", *args], stdin=subprocess.DEVNULL,
                            stdout=out_slave, stderr=err_slave, env=environ)
    os.close(out_slave)
    os.close(err_slave)
    out: list[bytes] = []
    err: list[bytes] = []
    readers = [threading.Thread(target=_drain, args=(fd, sink)) for fd, sink in ((out_master, out), (err_master, err))]
    for reader in readers:
        reader.start()
    code = proc.wait(timeout=300)
    for reader in readers:
        reader.join(timeout=30)
    os.close(out_master)
    os.close(err_master)
    return code, b"".join(out).decode().replace("\r\n", "\n"), b"".join(err).decode().replace("\r\n", "\n")


def run_on_pipes(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    environ = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    environ.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, env=environ,
                          check=False)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("colour") / "release"
    for job in ("web", "worker"):
        shutil.copytree(SAMPLE / "jobs" / job, root / "jobs" / job)
    return root


def test_a_terminal_gets_coloured_diffs_and_findings(release: Path) -> None:
    code, out, err = run_on_terminal("--dry-run", str(release))
    assert code == 1
    assert f"{colour.RED}-" in out and f"{colour.GREEN}+" in out and f"{colour.CYAN}@@" in out
    assert f"{colour.BOLD}--- a/jobs/web/templates/web_ctl.erb" in out
    finding = next(line for line in err.splitlines() if "[sipid-pidfiles]" in line)
    assert f"{colour.YELLOW}{colour.BOLD}review{colour.RESET}" in finding
    # without the colour codes the text is exactly what a pipe gets
    _, plain_out, plain_err = run_on_pipes("--dry-run", str(release))
    assert SGR.sub("", out) == plain_out
    assert [CONTROL.sub("", line) for line in err.splitlines() if "[sipid-pidfiles]" in line] == \
        [line for line in plain_err.splitlines() if "[sipid-pidfiles]" in line]


def test_the_progress_line_stays_on_a_terminal(release: Path) -> None:
    _, _, err = run_on_terminal("--check", str(release))
    assert "[1/2] " in err and "\r\x1b[K" in err


@pytest.mark.parametrize("how", ["NO_COLOR", "--color never", "TERM=dumb"])
def test_no_colour_when_asked_on_a_terminal(release: Path, how: str) -> None:
    args, env = ["--dry-run", str(release)], {}
    if how == "NO_COLOR":
        env["NO_COLOR"] = "1"
    elif how == "TERM=dumb":
        env["TERM"] = "dumb"
    else:
        args.insert(0, "--color=never")
    code, out, err = run_on_terminal(*args, env=env)
    assert code == 1 and "+++ b/jobs/web" in out
    assert not SGR.search(out) and not SGR.search(err)


def test_pipes_get_no_colour_unless_always(release: Path, tmp_path: Path) -> None:
    code, out, err = run_on_pipes("--dry-run", str(release))
    assert code == 1 and "+++ b/jobs/web" in out
    assert not SGR.search(out) and not SGR.search(err)
    # --color always wins over a pipe and over NO_COLOR (an explicit option beats the environment)
    code, out, err = run_on_pipes("--dry-run", "--color", "always", str(release), env={"NO_COLOR": "1"})
    assert f"{colour.GREEN}+" in out and SGR.search(err)
    # a report file is never coloured
    report = tmp_path / "diff.txt"
    code, out, _ = run_on_pipes("--dry-run", "--color", "always", "-o", str(report), str(release))
    assert out == "" and "+++ b/jobs/web" in report.read_text() and not SGR.search(report.read_text())


def test_machine_formats_are_never_coloured(release: Path) -> None:
    for fmt in ("json", "sarif", "markdown"):
        code, out, _ = run_on_terminal("--check", "--output-format", fmt, str(release))
        assert code == 1 and out and not SGR.search(out), fmt
