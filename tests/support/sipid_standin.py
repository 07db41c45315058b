#!/usr/bin/env python3
"""A test-only stand-in for sipid (cloudfoundry/sipid) that behaves like the real binary.

sipid is not installed on the test machines, yet the behaviour tests must run the migrated scripts
for real. This script implements the three commands sipid has, and each rule below was checked
against the real binary built from its public source (tests/test_sipid_standin.py runs against
either: ``SIPID_BIN=/path/to/sipid``). A behaviour test that passes with it passes because of what
sipid does, including its rough edges:

- Arguments are parsed like Go's ``flag`` package: ``-name`` or ``--name``, ``=value`` or the next
  argument; parsing stops at the first non-flag (the rest is ignored); an unknown flag, a missing
  value or a bad number or duration exits 2 with Go's "Usage of" text; ``-h`` exits 0. A missing
  required flag, a missing or unknown command prints sipid's own usage and exits 1.
- Errors are one line on stderr in Go's ``log`` format: ``2006/01/02 15:04:05 kill failed: ...``.
  Nothing is ever written to stdout (drain scripts stay valid).
- A pidfile holds a pid when its trimmed text is a decimal integer with an optional sign (Go's
  ``strconv.Atoi``): ``+42`` is 42. Pid 0 and -1 are never running; other values are checked with
  signal 0 (a zombie runs; a process the caller may not signal does not).
- ``claim --pid PID --pid-file FILE``: create every missing folder of FILE with mode 0700, take a
  non-blocking lock, exit 1 when FILE holds a running pid (also when it is PID itself), else write
  PID without a newline. A new FILE is created 0600; an existing one keeps its mode.
- ``kill --pid-file FILE [--show-stacks]``: a missing or unparsable FILE exits 1 and FILE stays; a
  pid that is not running exits 0 and FILE stays; a running one gets SIGTERM and is polled every
  10 ms for the grace period, then (``--show-stacks``) SIGQUIT and 100 ms later SIGKILL, else
  SIGKILL; FILE is removed; exit 0 (1 when a signal could not be sent).
- ``wait-until-healthy --url URL [--timeout 1m] [--polling-frequency 5s]``: probes on a ticker (the
  first one interval after the start; a tick that falls during a slow probe fires right after it,
  later ones are dropped); HTTP GET, TLS verified, redirects followed, only 200 counts, each probe
  bounded by 30 s and by the deadline; exit 1 at the deadline (no probe at all when the timeout is
  shorter than the interval); a non-positive interval panics (exit 2).

The 20 s grace period of ``kill`` is read from ``SIPID_STANDIN_GRACE`` (seconds, a float) when set,
so tests do not wait 20 s for a process that ignores SIGTERM; the real binary has no such knob.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import re
import signal
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

GRACE_ENV = "SIPID_STANDIN_GRACE"
DEFAULT_GRACE = 20.0
POLL_INTERVAL = 0.01  # sipid's exit waiter polls every 10 ms
PROBE_TIMEOUT = 30.0  # sipid's http.Client timeout
USAGE = 1  # sipid's own usage(): exit 1
FLAG_ERROR = 2  # Go's flag package (ExitOnError) and a Go panic: exit 2
INT64 = 2**63

USAGE_TEXT = """usage: {0} claim --pid PID --pid-file PID_FILE
       {0} kill --pid-file PID_FILE [--show-stacks]
       {0} wait-until-healthy --url HEALTHCHECK_URL [--timeout DURATION (default 1m)] \
[--polling-frequency DURATION (default 5s)]

       DURATIONS must be specified with units (e.g. 10s, 4m, 500ms)
"""


class Exit(Exception):
    """Leave with a status after the message was printed (sipid's os.Exit)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def program() -> str:
    return sys.argv[0] if sys.argv and sys.argv[0] else "sipid"


def log(message: str) -> None:
    """Go's log.Printf: local date and time, a space, the message."""
    print(time.strftime("%Y/%m/%d %H:%M:%S ") + message, file=sys.stderr, flush=True)


def usage() -> Exit:
    sys.stderr.write(USAGE_TEXT.format(program()))
    return Exit(USAGE)


def go_error(exc: OSError, op: str, path: str) -> str:
    """Go's *PathError text: "open FILE: no such file or directory" (lower-case strerror)."""
    text = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"{op} {path}: {text[:1].lower() + text[1:]}"


# -- pids ------------------------------------------------------------------------------------------
def parse_pid(text: str) -> int | None:
    """strconv.Atoi(strings.TrimSpace(text)): an optional sign and decimal digits, within int64."""
    text = text.strip()
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if -INT64 <= value < INT64 else None


def _kernel_pid(pid: int) -> int:
    """The pid_t the kernel sees: Go passes its int through the syscall, the kernel reads 32 bits."""
    return (pid + 2**31) % 2**32 - 2**31


def _signal(pid: int, sig: int) -> str | None:
    """os.Process.Signal: the error text, or None when the signal was sent."""
    if pid == -1:
        return "os: process already released"
    if pid == 0:
        return "os: process not initialized"
    try:
        os.kill(_kernel_pid(pid), sig)
    except ProcessLookupError:
        return "os: process already finished"
    except OSError as exc:
        return os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return None


def alive(pid: int) -> bool:
    """sipid's running(): signal 0 succeeds. A zombie runs; EPERM (another user's) does not."""
    return _signal(pid, 0) is None


# -- claim -----------------------------------------------------------------------------------------
def _mkdir_all(folder: str, mode: int) -> None:
    """os.MkdirAll: every missing component gets ``mode`` (Python's makedirs gives only the leaf)."""
    if os.path.isdir(folder):
        return
    parent = os.path.dirname(folder.rstrip("/"))
    if parent and parent != folder:
        _mkdir_all(parent, mode)
    try:
        os.mkdir(folder, mode)
    except FileExistsError:
        if not os.path.isdir(folder):
            raise


def claim(pid: int, pid_file: str) -> int:
    folder = os.path.dirname(pid_file) or "."
    try:
        _mkdir_all(folder, 0o700)
    except OSError as exc:
        log(f"claim failed: {go_error(exc, 'mkdir', exc.filename or folder)}")
        return 1
    try:
        lock = os.open(pid_file, os.O_RDONLY | os.O_CREAT, 0o600)
    except OSError as exc:
        log(f"claim failed: {go_error(exc, 'open', pid_file)}")
        return 1
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            log("claim failed: another process is locking")
            return 1
        try:
            with open(pid_file, "rb") as fh:
                current = parse_pid(fh.read().decode("utf-8", "replace"))
        except OSError:
            current = None
        if current is not None and alive(current):
            if current == pid:
                log(f"claim failed: process {current} ({pid_file}) is already in the pidfile")
            else:
                log(f"claim failed: process {current} ({pid_file}) already exists")
            return 1
        try:
            fd = os.open(pid_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            log(f"claim failed: {go_error(exc, 'open', pid_file)}")
            return 1
        try:
            os.write(fd, str(pid).encode("ascii"))
        finally:
            os.close(fd)
        return 0
    finally:
        os.close(lock)


# -- kill ------------------------------------------------------------------------------------------
def kill(pid_file: str, show_stacks: bool, grace: float | None = None) -> int:
    deadline = time.monotonic() + (grace if grace is not None else _grace())
    try:
        with open(pid_file, "rb") as fh:
            pid = parse_pid(fh.read().decode("utf-8", "replace"))
    except OSError as exc:
        op = "read" if exc.errno == errno.EISDIR else "open"
        log(f"kill failed: {go_error(exc, op, pid_file)}")
        return 1
    if pid is None:
        log("kill failed: pidfile (%!s(MISSING)) does not contain a valid pid")  # sipid's own text
        return 1
    if not alive(pid):
        return 0
    try:
        error = _signal(pid, signal.SIGTERM)
        if error is not None:
            log(f"kill failed: {error}")
            return 1
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(POLL_INTERVAL)
        if not alive(pid):
            return 0
        if show_stacks:
            error = _signal(pid, signal.SIGQUIT)
            if error is not None:
                log(f"kill failed: {error}")
                return 1
            time.sleep(0.1)
            _signal(pid, signal.SIGKILL)  # SIGQUIT may have ended it: sipid ignores this error
            return 0
        error = _signal(pid, signal.SIGKILL)
        if error is not None:
            log(f"kill failed: {error}")
            return 1
        return 0
    finally:
        try:
            os.remove(pid_file)
        except OSError:
            pass


def _grace() -> float:
    return float(os.environ.get(GRACE_ENV, DEFAULT_GRACE))


# -- wait-until-healthy ----------------------------------------------------------------------------
_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
          "h": 3600.0}


def duration(text: str) -> float:
    """time.ParseDuration in seconds: ``1m30s``, ``1.5s``, ``500ms``, ``-1s``, bare ``0``."""
    rest, sign = text, 1.0
    if rest[:1] in ("+", "-"):
        sign = -1.0 if rest[0] == "-" else 1.0
        rest = rest[1:]
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    total = 0.0
    while rest:
        match = re.match(r"([0-9]*)(\.([0-9]*))?([^0-9.]*)", rest)
        if match is None or not (match.group(1) or match.group(3)) or match.end() == 0:
            raise ValueError(f"invalid duration {text!r}")
        unit = match.group(4)
        if unit not in _UNITS:
            raise ValueError(f"{'missing' if not unit else 'unknown'} unit in duration {text!r}")
        number = float((match.group(1) or "0") + "." + (match.group(3) or "0"))
        total += number * _UNITS[unit]
        rest = rest[match.end():]
    return sign * total


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def probe(url: str, timeout: float) -> bool:
    """One GET as sipid's client does it: TLS verified, redirects followed, proxies from the
    environment except for loopback hosts (as Go's ProxyFromEnvironment), only 200 counts."""
    if timeout <= 0:
        return False
    handlers: list[urllib.request.BaseHandler] = []
    if _is_loopback(urllib.parse.urlsplit(url).hostname):
        handlers.append(urllib.request.ProxyHandler({}))
    try:
        with urllib.request.build_opener(*handlers).open(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def wait_until_healthy(url: str, timeout: float, every: float) -> int:
    try:
        urllib.parse.urlsplit(url)
    except ValueError as exc:
        log(f'poll failed: parse "{url}": {exc}')
        return 1
    if every <= 0:
        sys.stderr.write("panic: non-positive interval for NewTicker\n")
        return FLAG_ERROR
    start = time.monotonic()
    deadline = start + timeout
    attempts, tick = 0, 1
    while True:
        due = start + tick * every
        if deadline <= due:
            time.sleep(max(deadline - time.monotonic(), 0))
            log(f"poll failed: healthcheck unhealthy (url '{url}' was not healthy after {attempts} attempts)")
            return 1
        time.sleep(max(due - time.monotonic(), 0))
        if probe(url, min(PROBE_TIMEOUT, deadline - time.monotonic())):
            return 0
        attempts += 1
        # Go's ticker keeps one missed tick and drops the rest: fire now if a tick passed meanwhile.
        passed = int((time.monotonic() - start) // every)
        tick = passed if passed > tick else tick + 1


# -- Go's flag package -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Flag:
    kind: str  # "int", "string", "bool" or "duration"
    help: str
    default: str = ""  # shown as "(default ...)" when set


_BOOLS = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
          "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


def _go_int(text: str) -> int:
    """strconv.ParseInt(text, 0, 64): sign, then decimal, 0x, 0o, 0b or a leading-0 octal."""
    match = re.fullmatch(r"([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)", text)
    if match is None:
        raise ValueError("parse error")
    body = match.group(2)
    if len(body) > 1 and body[0] == "0" and body[1] in "0123456789":
        value = int(body, 8)
    else:
        value = int(body, 0)
    value = -value if match.group(1) == "-" else value
    if not -INT64 <= value < INT64:
        raise ValueError("value out of range")
    return value


def _flag_usage(flags: dict[str, Flag]) -> str:
    lines = [f"Usage of {program()}:"]
    for name in sorted(flags):
        flag = flags[name]
        kind = "" if flag.kind == "bool" else f" {flag.kind}"
        default = f" (default {flag.default})" if flag.default else ""
        lines.append(f"  -{name}{kind}\n    \t{flag.help}{default}")
    return "\n".join(lines) + "\n"


def parse_flags(args: list[str], flags: dict[str, Flag]) -> dict[str, object]:
    """flag.FlagSet.Parse with ExitOnError, for the kinds sipid uses."""

    def fail(message: str) -> Exit:
        sys.stderr.write(message + "\n" + _flag_usage(flags))
        return Exit(FLAG_ERROR)

    values: dict[str, object] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if len(arg) < 2 or arg[0] != "-":
            break
        dashes = 2 if arg[1] == "-" else 1
        if arg == "--":
            break
        name = arg[dashes:]
        if not name or name[0] in "-=":
            raise fail(f"bad flag syntax: {arg}")
        i += 1
        value, has_value = "", False
        if "=" in name[1:]:
            cut = name.index("=", 1)
            name, value, has_value = name[:cut], name[cut + 1:], True
        flag = flags.get(name)
        if flag is None:
            if name in ("h", "help"):
                sys.stderr.write(_flag_usage(flags))
                raise Exit(0)
            raise fail(f"flag provided but not defined: -{name}")
        if flag.kind == "bool":
            if has_value and value not in _BOOLS:
                raise fail(f'invalid boolean value "{value}" for -{name}: parse error')
            values[name] = _BOOLS[value] if has_value else True
            continue
        if not has_value and i < len(args):
            value, has_value = args[i], True
            i += 1
        if not has_value:
            raise fail(f"flag needs an argument: -{name}")
        try:
            values[name] = {"int": _go_int, "duration": _duration_flag, "string": str}[flag.kind](value)
        except ValueError as exc:
            raise fail(f'invalid value "{value}" for flag -{name}: {exc}') from None
    return values


def _duration_flag(text: str) -> float:
    try:
        return duration(text)
    except ValueError:
        raise ValueError("parse error") from None


CLAIM_FLAGS = {"pid": Flag("int", "process ID to write to pid-file", "-1"),
               "pid-file": Flag("string", "pid-file to write process ID to")}
KILL_FLAGS = {"pid-file": Flag("string", "pid-file containing process id to kill"),
              "show-stacks": Flag("bool", "when true, try to dump the stack")}
WAIT_FLAGS = {"url": Flag("string", "URL to poll for system health"),
              "timeout": Flag("duration", "timeout for system to become healthy", "1m0s"),
              "polling-frequency": Flag("duration", "frequency to poll healthcheck endpoint", "5s")}


def run(argv: list[str]) -> int:
    if not argv:
        raise usage()
    command, rest = argv[0], argv[1:]
    if command == "claim":
        opts = parse_flags(rest, CLAIM_FLAGS)
        pid = opts.get("pid", -1)
        pid_file = str(opts.get("pid-file", ""))
        if pid == -1 or not pid_file:
            raise usage()
        return claim(int(pid), pid_file)  # type: ignore[call-overload]
    if command == "kill":
        opts = parse_flags(rest, KILL_FLAGS)
        pid_file = str(opts.get("pid-file", ""))
        if not pid_file:
            raise usage()
        return kill(pid_file, bool(opts.get("show-stacks", False)))
    if command == "wait-until-healthy":
        opts = parse_flags(rest, WAIT_FLAGS)
        url = str(opts.get("url", ""))
        if not url:
            raise usage()
        return wait_until_healthy(url, float(opts.get("timeout", 60.0)),  # type: ignore[arg-type]
                                  float(opts.get("polling-frequency", 5.0)))  # type: ignore[arg-type]
    raise usage()


def main(argv: list[str]) -> int:
    try:
        return run(argv)
    except Exit as done:
        return done.status


def install(sandbox, vcap_path: str = "/var/vcap/packages/sipid/bin/sipid"):
    """Put the stand-in where a job's sipid package would put the binary (inside a Sandbox).

    With ``SIPID_BIN`` set (a real sipid built outside the project), that binary is installed
    instead, so the behaviour tests can be run against it too (its grace is a fixed 20 s).
    """
    real = os.environ.get("SIPID_BIN")
    command = f'"{real}"' if real else f'"{sys.executable}" "{os.path.abspath(__file__)}"'
    wrapper = f'#!/bin/sh\nexec {command} "$@"\n'
    target = sandbox.path(vcap_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(wrapper)
    target.chmod(0o755)
    return target


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
