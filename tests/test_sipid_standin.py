"""Pin the sipid stand-in to the real sipid: the behaviour tests are only as good as this is exact.

Every test runs the binary named by ``SIPID_BIN`` (default: the stand-in), so the same file checks the
stand-in in CI and the real sipid built from its public source on a machine that has Go
(``SIPID_BIN=/path/to/sipid pytest tests/test_sipid_standin.py``). The real binary's grace period is
a fixed 20 s; the stand-in's is shortened through its environment knob.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support import sipid_standin

STANDIN = Path(sipid_standin.__file__)
SIPID_BIN = os.environ.get("SIPID_BIN", "")
REAL = bool(SIPID_BIN)
REAL_GRACE = 20.0
GO_LOG = r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d "  # Go's log prefix: date and time


def command() -> list[str]:
    return [SIPID_BIN] if REAL else [sys.executable, str(STANDIN)]


def grace_of(requested: float) -> float:
    """How long kill really waits: the real binary ignores the stand-in's knob."""
    return REAL_GRACE if REAL else requested


def sipid(*args: str, grace: float = 0.3, timeout: float = 30, env: dict[str, str] | None = None,
          user: int | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ, **{sipid_standin.GRACE_ENV: str(grace)}, **(env or {}))
    argv = [*command(), *args]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, env=full_env, timeout=timeout + grace_of(grace),
                          check=False, preexec_fn=lambda: os.umask(0o022))


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
    assert time.monotonic() - started >= grace_of(0.5)
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


# -- claim and kill: where the stand-in once differed from the real sipid -------------------------------
def test_claim_creates_every_missing_folder_0700(tmp_path: Path) -> None:
    """Go's MkdirAll gives each new folder the mode, not only the last one."""
    pid_file = tmp_path / "a" / "b" / "job.pid"
    assert sipid("claim", "--pid", "4242", "--pid-file", str(pid_file)).returncode == 0
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700


def test_claim_keeps_the_mode_of_an_existing_pidfile(tmp_path: Path) -> None:
    """Only a new pidfile is created 0600: writing over an existing one keeps its mode."""
    pid_file = tmp_path / "job.pid"
    pid_file.write_text("")
    pid_file.chmod(0o644)
    assert sipid("claim", "--pid", "4242", "--pid-file", str(pid_file)).returncode == 0
    assert pid_file.read_text() == "4242"
    assert stat.S_IMODE(pid_file.stat().st_mode) == 0o644


def test_claim_refuses_a_live_pid_even_its_own_and_says_which(tmp_path: Path) -> None:
    proc = spawn()
    try:
        pid_file = tmp_path / "job.pid"
        pid_file.write_text(str(proc.pid))
        own = sipid("claim", "--pid", str(proc.pid), "--pid-file", str(pid_file))
        other = sipid("claim", "--pid", "4242", "--pid-file", str(pid_file))
    finally:
        proc.kill()
    assert (own.returncode, own.stdout) == (1, "")
    assert re.fullmatch(GO_LOG + rf"claim failed: process {proc.pid} \({re.escape(str(pid_file))}\) "
                        r"is already in the pidfile\n", own.stderr)
    assert (other.returncode, other.stdout) == (1, "")
    assert re.fullmatch(GO_LOG + rf"claim failed: process {proc.pid} \({re.escape(str(pid_file))}\) already exists\n",
                        other.stderr)
    assert pid_file.read_text() == str(proc.pid)


def test_claim_says_another_process_is_locking(tmp_path: Path) -> None:
    pid_file = tmp_path / "job.pid"
    holder = subprocess.Popen(["flock", "-x", str(pid_file), "sleep", "5"])
    try:
        assert sipid_standin_waits_for(lambda: pid_file.exists())
        time.sleep(0.2)
        result = sipid("claim", "--pid", "4242", "--pid-file", str(pid_file))
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1
    assert re.fullmatch(GO_LOG + r"claim failed: another process is locking\n", result.stderr)


@pytest.mark.parametrize("pid", ["0", "-5", "+7"])
def test_claim_writes_any_integer_pid_it_is_given(tmp_path: Path, pid: str) -> None:
    """--pid is a Go int flag: only -1 (its default) is refused; the text written is the number."""
    pid_file = tmp_path / "job.pid"
    assert sipid("claim", "--pid", pid, "--pid-file", str(pid_file)).returncode == 0
    assert pid_file.read_text() == str(int(pid))


@pytest.mark.parametrize("content", ["", "  \n", "not a pid", "12abc", "4.2", "99999999999999999999"])
def test_kill_fails_on_an_empty_or_non_numeric_pidfile_and_leaves_it(tmp_path: Path, content: str) -> None:
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(content)
    result = sipid("kill", "--pid-file", str(pid_file), "--show-stacks")
    assert (result.returncode, result.stdout) == (1, "")
    assert re.fullmatch(GO_LOG + r"kill failed: pidfile \(%!s\(MISSING\)\) does not contain a valid pid\n",
                        result.stderr), "sipid's message names no file (a format bug in sipid)"
    assert pid_file.read_text() == content


def test_kill_of_a_missing_pidfile_says_open_failed(tmp_path: Path) -> None:
    pid_file = tmp_path / "none.pid"
    result = sipid("kill", "--pid-file", str(pid_file))
    assert (result.returncode, result.stdout) == (1, "")
    assert re.fullmatch(GO_LOG + rf"kill failed: open {re.escape(str(pid_file))}: no such file or directory\n",
                        result.stderr)


@pytest.mark.parametrize("content", ["0", "-1", "0\n"])
def test_kill_of_pid_zero_or_minus_one_is_nothing_running(tmp_path: Path, content: str) -> None:
    """Go refuses to signal pid 0 and -1, so sipid takes them for a dead process: exit 0, file stays."""
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(content)
    result = sipid("kill", "--pid-file", str(pid_file))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert pid_file.read_text() == content


@pytest.mark.parametrize("template", ["+{}", " {}\n", "\t{} "])
def test_kill_reads_the_pid_as_a_signed_trimmed_integer(tmp_path: Path, template: str) -> None:
    proc = spawn()
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(template.format(proc.pid))
    result = sipid("kill", "--pid-file", str(pid_file))
    assert result.returncode == 0, result.stderr
    assert sipid_standin_waits_for(lambda: proc.poll() is not None)
    assert proc.returncode == -signal.SIGTERM
    assert not pid_file.exists()


def test_a_dead_pids_pidfile_stays_so_the_next_claim_of_a_reused_pid_fails(tmp_path: Path) -> None:
    """Why migrated stops must remove the pidfile themselves: kill leaves it, claim then refuses."""
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(dead_pid()))
    assert sipid("kill", "--pid-file", str(pid_file), "--show-stacks").returncode == 0
    assert pid_file.exists()
    squatter = spawn()  # a later process that got the old pid would look the same to claim
    try:
        pid_file.write_text(str(squatter.pid))
        assert sipid("claim", "--pid", "4242", "--pid-file", str(pid_file)).returncode == 1
    finally:
        squatter.kill()


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A folder another user can reach (pytest's tmp_path is private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="sipid-eperm-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


NOBODY = 65534
needs_root = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                                reason="needs root and setpriv to run sipid as another user")


@needs_root
def test_kill_as_another_user_takes_a_process_it_may_not_signal_for_dead(shared_tmp: Path) -> None:
    """Signal 0 fails with EPERM, and sipid reads any failure as "not running": exit 0, nothing sent."""
    proc = spawn()
    try:
        pid_file = shared_tmp / "job.pid"
        pid_file.write_text(str(proc.pid))
        result = sipid("kill", "--pid-file", str(pid_file), "--show-stacks", user=NOBODY)
        time.sleep(0.2)
        assert (result.returncode, result.stderr) == (0, "")
        assert proc.poll() is None
        assert pid_file.exists()
    finally:
        proc.kill()


@needs_root
def test_claim_as_another_user_overwrites_a_process_it_may_not_signal(shared_tmp: Path) -> None:
    proc = spawn()
    try:
        run_dir = shared_tmp / "run"
        run_dir.mkdir()
        os.chown(run_dir, NOBODY, NOBODY)
        pid_file = run_dir / "job.pid"
        pid_file.write_text(str(proc.pid))
        os.chown(pid_file, NOBODY, NOBODY)
        result = sipid("claim", "--pid", "4242", "--pid-file", str(pid_file), user=NOBODY)
        assert (result.returncode, result.stderr) == (0, "")
        assert pid_file.read_text() == "4242"
    finally:
        proc.kill()


# -- wait-until-healthy ----------------------------------------------------------------------------
class _Handler(http.server.BaseHTTPRequestHandler):
    statuses: ClassVar[list[int]] = []
    hits: ClassVar[list[float]] = []
    delay: ClassVar[float] = 0.0

    def do_GET(self) -> None:
        type(self).hits.append(time.monotonic())
        if self.path == "/moved":
            self.send_response(302)
            self.send_header("Location", "/health")
            self.end_headers()
            return
        time.sleep(type(self).delay)
        status = type(self).statuses.pop(0) if type(self).statuses else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    _Handler.statuses, _Handler.hits, _Handler.delay = [], [], 0.0
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
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


def test_wait_until_healthy_never_probes_when_the_timeout_is_shorter_than_the_interval(server) -> None:
    url = f"http://127.0.0.1:{server.server_port}/health"
    started = time.monotonic()
    result = sipid("wait-until-healthy", "--url", url, "--timeout", "500ms", "--polling-frequency", "2s")
    assert result.returncode == 1
    assert time.monotonic() - started < 1.8
    assert _Handler.hits == []
    assert re.fullmatch(GO_LOG + rf"poll failed: healthcheck unhealthy \(url '{re.escape(url)}' was not healthy "
                        r"after 0 attempts\)\n", result.stderr)


def test_wait_until_healthy_waits_for_a_probe_slower_than_the_interval(server) -> None:
    """Each probe may take up to 30 s (bounded by the deadline), not one interval."""
    _Handler.delay = 0.8
    url = f"http://127.0.0.1:{server.server_port}/health"
    result = sipid("wait-until-healthy", "--url", url, "--timeout", "5s", "--polling-frequency", "200ms")
    assert result.returncode == 0, result.stderr
    assert len(_Handler.hits) == 1


def test_wait_until_healthy_gives_up_at_the_deadline_even_during_a_probe(server) -> None:
    _Handler.delay = 3.0
    url = f"http://127.0.0.1:{server.server_port}/health"
    started = time.monotonic()
    result = sipid("wait-until-healthy", "--url", url, "--timeout", "1s", "--polling-frequency", "200ms")
    assert result.returncode == 1
    assert time.monotonic() - started < 2.2


def test_wait_until_healthy_counts_its_attempts_and_stops_at_the_deadline() -> None:
    started = time.monotonic()
    result = sipid("wait-until-healthy", "--url", "http://127.0.0.1:9/", "--timeout", "1s",
                   "--polling-frequency", "300ms")
    elapsed = time.monotonic() - started
    assert result.returncode == 1 and result.stdout == ""
    assert re.fullmatch(GO_LOG + r"poll failed: healthcheck unhealthy \(url 'http://127.0.0.1:9/' was not healthy "
                        r"after 3 attempts\)\n", result.stderr)
    assert elapsed < 1.25 + 0.5  # the old stand-in probed once more past the deadline


def test_wait_until_healthy_follows_redirects(server) -> None:
    url = f"http://127.0.0.1:{server.server_port}/moved"
    assert sipid("wait-until-healthy", "--url", url, "--timeout", "2s", "--polling-frequency", "100ms").returncode == 0


def test_wait_until_healthy_does_not_send_loopback_probes_through_a_proxy(server) -> None:
    """Go's ProxyFromEnvironment never proxies localhost or a loopback address."""
    url = f"http://127.0.0.1:{server.server_port}/health"
    env = {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "no_proxy": "", "NO_PROXY": ""}
    result = sipid("wait-until-healthy", "--url", url, "--timeout", "2s", "--polling-frequency", "100ms", env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("timeout", ["0", "0s", "-1s"])
def test_wait_until_healthy_with_no_time_left_fails_at_once(server, timeout: str) -> None:
    url = f"http://127.0.0.1:{server.server_port}/health"
    result = sipid("wait-until-healthy", "--url", url, "--timeout", timeout, "--polling-frequency", "100ms")
    assert result.returncode == 1
    assert _Handler.hits == []


def test_wait_until_healthy_takes_go_durations(server) -> None:
    url = f"http://127.0.0.1:{server.server_port}/health"
    result = sipid("wait-until-healthy", "--url", url, "--timeout", "1.5s", "--polling-frequency", "100000us")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("interval", ["0s", "-1s"])
def test_wait_until_healthy_with_a_non_positive_interval_panics(interval: str) -> None:
    result = sipid("wait-until-healthy", "--url", "http://127.0.0.1:9/", "--polling-frequency", interval)
    assert result.returncode == 2
    assert result.stderr.startswith("panic: non-positive interval for NewTicker")


@pytest.mark.parametrize("text,seconds", [("1m", 60), ("5s", 5), ("500ms", 0.5), ("1m30s", 90), ("0", 0),
                                          ("1.5s", 1.5), (".5s", 0.5), ("-2m", -120), ("1h", 3600), ("250us", 0.00025)])
def test_go_durations(text: str, seconds: float) -> None:
    assert sipid_standin.duration(text) == seconds


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["-h"], ["claim", "--pid", "1"], ["claim", "--pid-file", "F"],
                                  ["claim", "--pid", "-1", "--pid-file", "F"], ["kill"], ["kill", "--pid-file="],
                                  ["wait-until-healthy"], ["wait-until-healthy", "--timeout", "1s"]])
def test_usage_errors_exit_1_with_sipids_usage_and_print_nothing_on_stdout(args: list[str]) -> None:
    result = sipid(*args)
    assert result.returncode == 1, args
    assert result.stdout == ""
    assert result.stderr.startswith("usage: ") and "claim --pid PID --pid-file PID_FILE" in result.stderr


@pytest.mark.parametrize("args,first_line", [
    (["kill", "--pid-file"], "flag needs an argument: -pid-file"),
    (["kill", "--bogus"], "flag provided but not defined: -bogus"),
    (["claim", "--pid", "abc", "--pid-file", "F"], 'invalid value "abc" for flag -pid: parse error'),
    (["claim", "--pid", "99999999999999999999", "--pid-file", "F"],
     'invalid value "99999999999999999999" for flag -pid: value out of range'),
    (["kill", "--show-stacks=maybe", "--pid-file", "F"], 'invalid boolean value "maybe" for -show-stacks: parse error'),
    (["wait-until-healthy", "--url", "http://127.0.0.1:9/", "--timeout", "10"],
     'invalid value "10" for flag -timeout: parse error'),
    (["wait-until-healthy", "--url", "http://127.0.0.1:9/", "--polling-frequency", "5 s"],
     'invalid value "5 s" for flag -polling-frequency: parse error'),
])
def test_bad_flags_exit_2_like_gos_flag_package(args: list[str], first_line: str) -> None:
    """sipid parses with Go's flag package (ExitOnError): exit 2, not sipid's own usage exit 1."""
    result = sipid(*args)
    assert (result.returncode, result.stdout) == (2, ""), args
    lines = result.stderr.splitlines()
    assert lines[0] == first_line
    assert re.fullmatch(r"Usage of .*sipid\S*:", lines[1])


def test_help_of_a_subcommand_exits_0_with_its_flags() -> None:
    result = sipid("kill", "-h")
    assert (result.returncode, result.stdout) == (0, "")
    assert "-pid-file string" in result.stderr and "-show-stacks" in result.stderr


def test_flags_take_one_or_two_dashes_and_parsing_stops_at_the_first_other_argument(tmp_path: Path) -> None:
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(dead_pid()))
    for args in (["-pid-file", str(pid_file)], [f"--pid-file={pid_file}"], ["--pid-file", str(pid_file), "extra"],
                 ["--pid-file", str(pid_file), "--show-stacks=false"]):
        result = sipid("kill", *args)
        assert result.returncode == 0, (args, result.stderr)
    result = sipid("kill", "extra", "--pid-file", str(pid_file))
    assert result.returncode == 1 and result.stderr.startswith("usage: "), "flags after a plain argument are ignored"


def test_kill_prints_nothing_on_stdout_so_drain_scripts_stay_valid(tmp_path: Path) -> None:
    proc = spawn()
    pid_file = tmp_path / "job.pid"
    pid_file.write_text(str(proc.pid))
    result = sipid("kill", "--pid-file", str(pid_file), "--show-stacks")
    assert result.returncode == 0 and result.stdout == ""
