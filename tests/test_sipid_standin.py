"""Pin the sipid stand-in to DESIGN.md §4: the behaviour tests are only as good as this is exact."""

from __future__ import annotations

import http.server
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support import sipid_standin

STANDIN = Path(sipid_standin.__file__)


def sipid(*args: str, grace: float = 0.3, timeout: float = 30) -> subprocess.CompletedProcess:
    env = dict(os.environ, **{sipid_standin.GRACE_ENV: str(grace)})
    return subprocess.run([sys.executable, str(STANDIN), *args], capture_output=True, text=True, env=env,
                          timeout=timeout, check=False)


def spawn(trap_term: bool = False) -> subprocess.Popen:
    """A long-running process, reaped by a thread as soon as it dies (so no zombie looks alive)."""
    body = "trap '' TERM; " if trap_term else ""
    proc = subprocess.Popen(["bash", "-c", body + "while :; do sleep 0.05; done"])
    threading.Thread(target=proc.wait, daemon=True).start()
    time.sleep(0.1)  # let bash install its trap
    return proc


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


# -- claim -----------------------------------------------------------------------------------------
def test_claim_creates_the_folder_0700_and_writes_the_pid_without_newline_0600(tmp_path: Path) -> None:
    pid_file = tmp_path / "run" / "job" / "job.pid"
    assert sipid("claim", "--pid", "4242", "--pid-file", str(pid_file)).returncode == 0
    assert pid_file.read_text() == "4242"
    assert stat.S_IMODE(pid_file.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(pid_file.stat().st_mode) == 0o600


def test_claim_refuses_when_the_file_holds_a_live_pid(tmp_path: Path) -> None:
    proc = spawn()
    try:
        pid_file = tmp_path / "job.pid"
        pid_file.write_text(f"{proc.pid}\n")
        result = sipid("claim", "--pid", "4242", "--pid-file", str(pid_file))
        assert result.returncode == 1
        assert pid_file.read_text() == f"{proc.pid}\n"
    finally:
        proc.kill()


@pytest.mark.parametrize("content", ["", "garbage", "DEAD"])
def test_claim_overwrites_empty_garbage_or_stale_files(tmp_path: Path, content: str) -> None:
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(dead_pid()) if content == "DEAD" else content)
    assert sipid("claim", "--pid", "4242", "--pid-file", str(pid_file)).returncode == 0
    assert pid_file.read_text() == "4242"


def test_claim_fails_while_another_process_holds_the_lock(tmp_path: Path) -> None:
    pid_file = tmp_path / "job.pid"
    holder = subprocess.Popen(["flock", "-x", str(pid_file), "sleep", "5"])
    try:
        assert sipid_standin_waits_for(lambda: pid_file.exists())
        time.sleep(0.2)
        assert sipid("claim", "--pid", "4242", "--pid-file", str(pid_file)).returncode == 1
    finally:
        holder.kill()
        holder.wait()


def sipid_standin_waits_for(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.02)
    return predicate()


# -- kill ------------------------------------------------------------------------------------------
def test_kill_fails_on_a_missing_pidfile(tmp_path: Path) -> None:
    assert sipid("kill", "--pid-file", str(tmp_path / "none.pid")).returncode == 1


def test_kill_fails_on_an_unparsable_pidfile(tmp_path: Path) -> None:
    pid_file = tmp_path / "job.pid"
    pid_file.write_text("not a pid")
    assert sipid("kill", "--pid-file", str(pid_file)).returncode == 1


def test_kill_of_a_dead_pid_succeeds_and_leaves_the_stale_file(tmp_path: Path) -> None:
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(dead_pid()))
    assert sipid("kill", "--pid-file", str(pid_file)).returncode == 0
    assert pid_file.exists()


def test_kill_terms_a_live_process_and_removes_the_file(tmp_path: Path) -> None:
    proc = spawn()
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(proc.pid))
    started = time.monotonic()
    assert sipid("kill", "--pid-file", str(pid_file), "--show-stacks", grace=5).returncode == 0
    assert time.monotonic() - started < 4, "a process that obeys TERM must not wait out the grace period"
    assert sipid_standin_waits_for(lambda: proc.poll() is not None)
    assert proc.returncode == -signal.SIGTERM
    assert not pid_file.exists()


RECORDER = """
import signal, sys, time
log = open(sys.argv[1], "a", buffering=1)
for sig in (signal.SIGTERM, signal.SIGQUIT):
    signal.signal(sig, lambda n, f: log.write(signal.Signals(n).name + "\\n"))
log.write("ready\\n")
while True:
    time.sleep(0.05)
"""


def test_kill_sends_term_then_quit_then_kill_to_a_process_that_ignores_term(tmp_path: Path) -> None:
    received = tmp_path / "signals"
    proc = subprocess.Popen([sys.executable, "-c", RECORDER, str(received)])
    threading.Thread(target=proc.wait, daemon=True).start()
    assert sipid_standin_waits_for(lambda: received.exists() and "ready" in received.read_text())
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(proc.pid))
    started = time.monotonic()
    assert sipid("kill", "--pid-file", str(pid_file), "--show-stacks", grace=0.5).returncode == 0
    assert time.monotonic() - started >= 0.5
    assert sipid_standin_waits_for(lambda: proc.poll() is not None)
    assert proc.returncode == -signal.SIGKILL
    assert received.read_text().split() == ["ready", "SIGTERM", "SIGQUIT"]
    assert not pid_file.exists()


def test_kill_without_show_stacks_goes_straight_to_sigkill(tmp_path: Path) -> None:
    proc = spawn(trap_term=True)
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(proc.pid))
    assert sipid("kill", "--pid-file", str(pid_file), grace=0.3).returncode == 0
    assert sipid_standin_waits_for(lambda: proc.poll() is not None)
    assert proc.returncode == -signal.SIGKILL


def test_the_grace_period_defaults_to_twenty_seconds() -> None:
    assert sipid_standin.DEFAULT_GRACE == 20.0


# -- wait-until-healthy ----------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    statuses: ClassVar[list[int]] = []
    hits: ClassVar[list[float]] = []

    def do_GET(self) -> None:
        type(self).hits.append(time.monotonic())
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    _Handler.statuses, _Handler.hits = [], []
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def test_wait_until_healthy_succeeds_on_200_after_one_interval(server) -> None:
    url = f"http://127.0.0.1:{server.server_port}/health"
    started = time.monotonic()
    assert sipid("wait-until-healthy", "--url", url, "--timeout", "3s", "--polling-frequency", "300ms").returncode == 0
    assert _Handler.hits and _Handler.hits[0] - started >= 0.3, "the first probe comes one interval late"


def test_wait_until_healthy_counts_only_200(server) -> None:
    _Handler.statuses = [204, 204, 204, 204, 204, 204, 204, 204, 204, 204]
    url = f"http://127.0.0.1:{server.server_port}/health"
    assert sipid("wait-until-healthy", "--url", url, "--timeout", "1s", "--polling-frequency", "200ms").returncode == 1


def test_wait_until_healthy_retries_until_200(server) -> None:
    _Handler.statuses = [503, 503]
    url = f"http://127.0.0.1:{server.server_port}/health"
    assert sipid("wait-until-healthy", "--url", url, "--timeout", "3s", "--polling-frequency", "100ms").returncode == 0
    assert len(_Handler.hits) == 3


def test_wait_until_healthy_times_out_when_nothing_listens() -> None:
    result = sipid("wait-until-healthy", "--url", "http://127.0.0.1:9/", "--timeout", "500ms",
                   "--polling-frequency", "100ms")
    assert result.returncode == 1


@pytest.mark.parametrize("text,seconds", [("1m", 60), ("5s", 5), ("500ms", 0.5), ("1m30s", 90)])
def test_go_durations(text: str, seconds: float) -> None:
    assert sipid_standin.duration(text) == seconds


def test_usage_errors_exit_1_and_print_nothing_on_stdout(tmp_path: Path) -> None:
    for args in (["claim", "--pid", "1"], ["kill"], ["frobnicate"], ["kill", "--pid-file"]):
        result = sipid(*args)
        assert result.returncode == 1, args
        assert result.stdout == ""


def test_kill_prints_nothing_on_stdout_so_drain_scripts_stay_valid(tmp_path: Path) -> None:
    proc = spawn()
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(proc.pid))
    result = sipid("kill", "--pid-file", str(pid_file), "--show-stacks")
    assert result.returncode == 0 and result.stdout == ""
