"""A job's write journal: what to undo when a run is killed outright while writing that job.

Signals are handled (the job in flight finishes), but ``kill -9`` or a power loss can stop a run
between two renames of one job. Before the first rename the writer records, in a journal beside
the job's files, every target with the name of its backup and whether it is new; removing the
journal is the job's commit point. The next run that applies changes finds a journal, puts each
backup back and removes each new file, so the job is all old again.
"""

from __future__ import annotations

import os
from pathlib import Path

from migrator.tempnames import TEMP_NAME, TEMP_PREFIX


def begin(folder: Path, entries: list[tuple[Path, Path | None, bool]]) -> Path:
    """Write the journal (target, backup name or None, created?) durably; returns its path."""
    files = [{"path": os.path.relpath(target, folder),
              "backup": os.path.relpath(backup, folder) if backup else None,
              "created": created} for target, backup, created in entries]
    import json
    import tempfile  # imported when writing: a dry run does not pay for it

    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}job.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"version": 1, "files": files}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        final = Path(tmp[: -len(".tmp")] + ".journal")
        os.rename(tmp, final)  # complete or absent: never half a journal
    except BaseException:
        unlink_quietly(Path(tmp))
        raise
    sync_dir(folder)
    return final


def end(journal: Path) -> None:
    """The commit point: without its journal, the job is written."""
    os.unlink(journal)
    sync_dir(journal.parent)


def find(folder: Path) -> list[Path]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [folder / n for n in names if (m := TEMP_NAME.match(n)) and m["kind"] == "journal"]


def recover(journal: Path) -> int:
    """Undo the unfinished write the journal describes; returns how many files were put back or
    removed. Raises OSError or ValueError (the journal is then kept for another try)."""
    folder = journal.parent
    import json

    data = json.loads(journal.read_text(encoding="utf-8"))
    undone = 0
    for entry in reversed(data["files"]):
        target = _inside(folder, entry["path"])
        backup = _inside(folder, entry["backup"]) if entry.get("backup") else None
        if backup is not None and os.path.lexists(backup):
            os.replace(backup, target)
            undone += 1
        elif entry.get("created") and os.path.lexists(target):
            os.unlink(target)
            undone += 1
    os.unlink(journal)
    sync_dir(folder)
    return undone


def _inside(folder: Path, rel: str) -> Path:
    folder = Path(os.path.normpath(folder))
    path = Path(os.path.normpath(folder / rel))
    if os.path.commonpath([path, folder]) != str(folder):
        raise ValueError(f"the journal names {rel}, outside its job folder")
    return path


def sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
