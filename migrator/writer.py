"""Atomic writes that keep a file's mode bits: a crash mid-write never leaves half a script."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes, mode: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, then rename it over ``path``.

    The mode of the existing file is kept (a control script must stay executable); a new file
    gets ``mode`` or 0644.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        keep = stat.S_IMODE(path.stat().st_mode)
    else:
        keep = 0o644 if mode is None else mode
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, keep)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def remove(path: Path) -> None:
    path.unlink()
