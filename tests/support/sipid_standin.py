#!/usr/bin/env python3
"""A test-only stand-in for sipid (cloudfoundry/sipid), behaving as DESIGN.md §4 describes.

sipid cannot be installed on the test machines, yet the behaviour tests must run the migrated
scripts for real. This script implements exactly the three commands the codemods emit and nothing
else, so a behaviour test that passes with it passes because of sipid's documented semantics:

- ``claim --pid PID --pid-file FILE``: create FILE's folder (0700) when missing, take a
  non-blocking lock (exit 1 when held), exit 1 when FILE holds the pid of a live process, else
  write PID (no newline, mode 0600).
- ``kill --pid-file FILE [--show-stacks]``: missing or unparsable FILE -> exit 1; dead pid -> exit 0
  and the stale FILE stays; live pid -> SIGTERM, poll for the grace period, then (with
  ``--show-stacks``) SIGQUIT and 100 ms later SIGKILL; FILE removed; exit 0.
- ``wait-until-healthy --url URL [--timeout 1m] [--polling-frequency 5s]``: sleep one interval
  before each probe; HTTP GET with TLS verification; only 200 counts; exit 1 on timeout.

The 20 s grace period of ``kill`` is read from ``SIPID_STANDIN_GRACE`` (seconds, a float) when
set, so tests do not wait 20 s for a process that ignores SIGTERM.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.request

GRACE_ENV = "SIPID_STANDIN_GRACE"
DEFAULT_GRACE = 20.0
POLL_INTERVAL = 0.05
USAGE = 1  # sipid prints its usage to stderr and exits 1


def alive(pid: int) -> bool:
    """What signal 0 says: a process with that pid exists (zombies included, as in sipid)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_pid(text: str) -> int | None:
    text = text.strip()
    return int(text) if re.fullmatch(r"[0-9]+", text) and int(text) > 0 else None


def claim(pid: int, pid_file: str) -> int:
    folder = os.path.dirname(pid_file) or "."
    os.makedirs(folder, mode=0o700, exist_ok=True)
    fd = os.open(pid_file, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                print(f"sipid: {pid_file} is locked by another process", file=sys.stderr)
                return 1
            raise
        current = parse_pid(os.read(fd, 64).decode("ascii", "replace"))
        if current is not None and alive(current):
            print(f"sipid: process {current} from {pid_file} is still running", file=sys.stderr)
            return 1
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(pid).encode("ascii"))
        os.fchmod(fd, 0o600)
        return 0
    finally:
        os.close(fd)


def kill(pid_file: str, show_stacks: bool) -> int:
    try:
        with open(pid_file, encoding="ascii", errors="replace") as fh:
            pid = parse_pid(fh.read())
    except OSError as exc:
        print(f"sipid: cannot read {pid_file}: {exc.strerror}", file=sys.stderr)
        return 1
    if pid is None:
        print(f"sipid: {pid_file} does not hold a pid", file=sys.stderr)
        return 1
    if not alive(pid):
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + float(os.environ.get(GRACE_ENV, DEFAULT_GRACE))
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL)
    if alive(pid):
        if show_stacks:
            _signal(pid, signal.SIGQUIT)
            time.sleep(0.1)
        _signal(pid, signal.SIGKILL)
    try:
        os.remove(pid_file)
    except FileNotFoundError:
        pass
    return 0


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def duration(text: str) -> float:
    """A Go duration (``1m``, ``5s``, ``500ms``, ``1m30s``) in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"([0-9.]+)(ms|h|m|s)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * units[u] for n, u in parts)


def probe(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=max(timeout, 0.1)) as response:  # verifies TLS
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_healthy(url: str, timeout: float, every: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        time.sleep(every)
        if probe(url, every):
            return 0
        if time.monotonic() >= deadline:
            print(f"sipid: {url} did not become healthy within {timeout:g}s", file=sys.stderr)
            return 1


def _options(args: list[str], flags: set[str], valued: set[str]) -> dict[str, str | bool]:
    out: dict[str, str | bool] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if name in valued:
            if not eq:
                i += 1
                if i >= len(args):
                    print(f"sipid: {name} needs a value", file=sys.stderr)
                    raise SystemExit(USAGE)
                value = args[i]
            out[name] = value
        elif arg in flags:
            out[arg] = True
        else:
            print(f"sipid: unknown argument {arg}", file=sys.stderr)
            raise SystemExit(USAGE)
        i += 1
    return out


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: sipid claim|kill|wait-until-healthy ...", file=sys.stderr)
        return USAGE
    command, rest = argv[0], argv[1:]
    if command == "claim":
        opts = _options(rest, set(), {"--pid", "--pid-file"})
        if "--pid" not in opts or "--pid-file" not in opts:
            print("sipid: claim needs --pid and --pid-file", file=sys.stderr)
            return USAGE
        pid = parse_pid(str(opts["--pid"]))
        if pid is None:
            print(f"sipid: invalid pid {opts['--pid']!r}", file=sys.stderr)
            return USAGE
        return claim(pid, str(opts["--pid-file"]))
    if command == "kill":
        opts = _options(rest, {"--show-stacks"}, {"--pid-file"})
        if "--pid-file" not in opts:
            print("sipid: kill needs --pid-file", file=sys.stderr)
            return USAGE
        return kill(str(opts["--pid-file"]), bool(opts.get("--show-stacks")))
    if command == "wait-until-healthy":
        opts = _options(rest, set(), {"--url", "--timeout", "--polling-frequency"})
        if "--url" not in opts:
            print("sipid: wait-until-healthy needs --url", file=sys.stderr)
            return USAGE
        return wait_until_healthy(str(opts["--url"]), duration(str(opts.get("--timeout", "1m"))),
                                  duration(str(opts.get("--polling-frequency", "5s"))))
    print(f"sipid: unknown command {command}", file=sys.stderr)
    return USAGE


def install(sandbox, vcap_path: str = "/var/vcap/packages/sipid/bin/sipid"):
    """Put the stand-in where a job's sipid package would put the binary (inside a Sandbox)."""
    wrapper = f'#!/bin/sh\nexec "{sys.executable}" "{os.path.abspath(__file__)}" "$@"\n'
    target = sandbox.path(vcap_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(wrapper)
    target.chmod(0o755)
    return target


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
