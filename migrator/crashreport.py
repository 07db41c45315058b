"""Internal errors: a user sees one line and where the full report is; the traceback goes to a file.

A traceback on the terminal is noise to a release author and gets lost in CI logs; a file can be
attached to a bug report. Reports go to ``$XDG_CACHE_HOME/exemplar-migrate/`` (``~/.cache`` when
unset), or to the system temp folder when that cannot be written.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def report_dir() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "exemplar-migrate"


def save(sections: list[str]) -> Path | None:
    """Write the sections (each a traceback with what it belongs to) to a new report file; its
    path, or None when no folder could take it."""
    import platform
    import tempfile  # both only when there is a crash to report

    from migrator import __version__

    header = (f"exemplar-migrate {__version__} internal error report\n"
              f"time: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n"
              f"python: {sys.version.split()[0]} on {platform.platform()}\n"
              f"command: {' '.join(sys.argv)}\ncwd: {os.getcwd()}\n")
    text = header + "".join(f"\n{s.rstrip()}\n" for s in sections)
    name = f"crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
    for folder in (report_dir(), Path(tempfile.gettempdir()) / "exemplar-migrate"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def where(path: Path | None) -> str:
    return f"full report saved to {path}" if path else "the full report could not be saved"
