"""A throw-away BOSH-like file system for running job scripts with real bash.

Scripts are installed with ``/var/vcap`` rewritten to a temporary root. A ``bin/`` folder first on
PATH holds stand-ins for what a test machine lacks or must not do for real (``chpst``, ``chown``,
``sysctl``, ``logger``) and tracing wrappers around real tools (``tee``, ``awk``, ...) that record each start,
so a test can assert which processes a script launched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

_TRACE = """#!/bin/bash
echo "{name} $*" >> "{calls}"
exec {real} "$@"
"""

_CHPST = """#!/bin/bash
# stand-in for runit's chpst: drop the -u/-U user options, run the rest
while [[ $# -gt 0 ]]; do
  case "$1" in
    -u|-U) shift 2 ;;
    -*) shift ;;
    *) break ;;
  esac
done
exec "$@"
"""

_LOGGER = """#!/bin/bash
# stand-in for logger: records the call, then the message (arguments) or stdin lines to a file
echo "logger $*" >> "{calls}"
msg=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -t|-p|-f|-n|-P|-u|--id=*) [[ "$1" == --id=* ]] && shift || shift 2 ;;
    -*) shift ;;
    *) msg+=("$1"); shift ;;
  esac
done
if [[ ${{#msg[@]}} -gt 0 ]]; then
  echo "${{msg[*]}}" >> "{syslog}"
else
  cat >> "{syslog}"
fi
"""


class Sandbox:
    def __init__(self, base: Path):
        self.base = base
        self.root = base / "root"
        self.bin = base / "bin"
        self.calls = base / "calls.log"
        self.syslog = base / "syslog.log"
        for d in (self.root / "var/vcap/sys/log", self.root / "var/vcap/sys/run", self.bin):
            d.mkdir(parents=True, exist_ok=True)
        self.calls.touch()
        self.syslog.touch()
        self.stub("chpst", _CHPST)
        self.stub("chown", '#!/bin/bash\necho "chown $*" >> "%s"\n' % self.calls)
        self.stub("sysctl", '#!/bin/bash\necho "sysctl $*" >> "%s"\n' % self.calls)  # never the host's kernel
        self.stub("logger", _LOGGER.format(calls=self.calls, syslog=self.syslog))
        self.trace("tee", "awk", "perl", "sed", "date")

    def path(self, vcap_path: str) -> Path:
        """Where ``/var/vcap/...`` lives in the sandbox."""
        return self.root / vcap_path.lstrip("/")

    def stub(self, name: str, body: str) -> Path:
        target = self.bin / name
        target.write_text(body)
        target.chmod(0o755)
        return target

    def trace(self, *names: str) -> None:
        for name in names:
            real = shutil.which(name, path="/usr/local/bin:/usr/bin:/bin")
            if real:
                self.stub(name, _TRACE.format(name=name, calls=self.calls, real=real))

    def localize(self, text: str) -> str:
        return text.replace("/var/vcap", str(self.root / "var/vcap"))

    def install(self, vcap_path: str, text: str, mode: int = 0o755) -> Path:
        """Put a file at ``/var/vcap/...`` in the sandbox, with its own /var/vcap paths rewritten."""
        target = self.path(vcap_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.localize(text))
        target.chmod(mode)
        return target

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {
            "PATH": f"{self.bin}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.base),
            "LANG": "C.UTF-8",
        }
        env.update(extra or {})
        return env

    def run(self, script: Path, *args: str, timeout: float = 30, env: dict[str, str] | None = None,
            background: bool = False):
        cmd = ["bash", str(script), *args]
        if background:
            return subprocess.Popen(cmd, env=self.env(env), stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        return subprocess.run(cmd, env=self.env(env), capture_output=True, text=True, timeout=timeout)

    def started(self) -> list[str]:
        """Names of the traced tools the scripts started, in order."""
        return [line.split(" ", 1)[0] for line in self.calls.read_text().splitlines() if line]

    def wait_for(self, predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            time.sleep(interval)
        return predicate()

    def log_files(self, job: str) -> dict[str, str]:
        folder = self.path(f"/var/vcap/sys/log/{job}")
        if not folder.is_dir():
            return {}
        return {p.name: p.read_text() for p in sorted(folder.iterdir()) if p.is_file()}


def settle(paths: list[Path], quiet: float = 0.3, timeout: float = 10.0) -> None:
    """Wait until files stop growing: process substitutions finish writing after the script exits."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        sizes = tuple(p.stat().st_size if p.exists() else -1 for p in paths)
        if sizes != last:
            last, since = sizes, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)
    os.sync()
