"""Writing one job's files as a transaction: all of them land, or none does.

A job's new scripts, new templates and new spec only make sense together (a script that sources an
env template the spec does not list, or a spec that lists one that was never written, breaks the
job). So every new content is first staged in a temporary file beside its target; only when all are
staged are they renamed into place, each replaced or removed file kept as a backup until the last
rename is done. Any failure on the way (a full disk, a read-only folder, an interrupt) puts back
what was replaced and removes what was created. Before the first rename a journal records what to
undo, for the case where the process is killed outright (``migrator.journal``).

Temporary files, backups and journals share one name pattern (``migrator.tempnames``), so discovery
can ignore them and the next run can clean them up.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from migrator import journal
from migrator.tempnames import RANDOM_CHARS, TEMP_NAME, TEMP_PREFIX, is_temp_name

__all__ = ["TEMP_NAME", "Write", "WriteFailed", "is_temp_name", "stale_files", "write_job"]

NEW_FILE_MODE = 0o644  # new templates are data that BOSH renders, not programs


def stale_files(folder: Path) -> list[Path]:
    """Leftover temporary files and backups under ``folder`` (symlinked folders are not entered)."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        found += [Path(dirpath, n) for n in filenames if is_temp_name(n)]
        dirnames.sort()
    return sorted(found)


class WriteFailed(OSError):
    """A job could not be written; everything it had already written was undone."""

    def __init__(self, path: Path, error: BaseException, undo_problems: list[str] | None = None):
        self.path = path
        self.error = error
        self.undo_problems = undo_problems or []
        super().__init__(getattr(error, "errno", None), self.reason)

    @property
    def reason(self) -> str:
        error = self.error
        text = error.strerror if isinstance(error, OSError) and error.strerror else str(error) or type(error).__name__
        if self.undo_problems:
            text += "; and undoing failed: " + "; ".join(self.undo_problems)
        return text

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Write:
    """One file of a job: its new content, or ``None`` to remove it."""

    path: Path
    data: bytes | None


@dataclass
class _Step:
    write: Write
    exists: bool = False
    mode: int = NEW_FILE_MODE
    owner: tuple[int, int] | None = None
    temp: Path | None = None
    backup_name: Path | None = None  # chosen before the journal is written
    backup: Path | None = None  # set once the backup exists
    done: bool = False


@dataclass
class Transaction:
    writes: list[Write]
    journal_dir: Path | None = None  # where the journal goes (the job folder); None: no journal
    steps: list[_Step] = field(default_factory=list)
    made_dirs: list[Path] = field(default_factory=list)
    journal: Path | None = None

    def run(self) -> None:
        current: Path | None = None
        try:
            self.steps = [_Step(w) for w in _commit_order(self.writes)]
            for step in self.steps:
                current = step.write.path
                self._stage(step)
            current = None
            for step in self.steps:
                if step.exists:
                    step.backup_name = _free_name(step.write.path, ".bak")
            if self.journal_dir is not None and self.journal_dir.is_dir():
                current = self.journal_dir
                self.journal = journal.begin(self.journal_dir, [
                    (s.write.path, s.backup_name, not s.exists) for s in self.steps
                    if s.exists or s.write.data is not None])
            for step in self.steps:
                current = step.write.path
                self._commit(step)
            current = None
            _sync_dirs({s.write.path.parent for s in self.steps})
            if self.journal is not None:
                journal.end(self.journal)  # the commit point
                self.journal = None
        except BaseException as exc:
            problems = self._undo()
            if self.journal is not None and not problems:
                journal.unlink_quietly(self.journal)  # kept when undoing failed: the next run tries again
            if isinstance(exc, OSError):
                raise WriteFailed(current or exc.filename or Path("."), exc, problems) from exc
            raise  # an interrupt, or a bug: undone all the same
        for step in self.steps:  # committed: the backups are no longer needed
            if step.backup is not None:
                journal.unlink_quietly(step.backup)
        _remove_emptied({s.write.path.parent for s in self.steps if s.write.data is None and s.exists})

    # -- stage: every new content in a temporary file beside its target --------------------------
    def _stage(self, step: _Step) -> None:
        path = step.write.path
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EEXIST, "is a folder" if stat.S_ISDIR(st.st_mode) else "is not a regular file")
            step.exists, step.mode, step.owner = True, stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
        if step.write.data is None:
            return  # a removal: nothing to stage (already gone when it does not exist)
        self._make_parents(path.parent)
        import tempfile  # imported when writing: a dry run does not pay for it

        fd, name = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=".tmp", dir=path.parent)
        step.temp = Path(name)
        with os.fdopen(fd, "wb") as fh:
            fh.write(step.write.data)
            fh.flush()
            os.fchmod(fh.fileno(), step.mode)
            if step.owner is not None:
                try:
                    os.fchown(fh.fileno(), *step.owner)
                except PermissionError:
                    pass
            os.fsync(fh.fileno())

    def _make_parents(self, folder: Path) -> None:
        missing = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for d in reversed(missing):
            d.mkdir()
            self.made_dirs.append(d)

    # -- commit: rename into place, keeping a backup of what is replaced or removed --------------
    def _commit(self, step: _Step) -> None:
        path = step.write.path
        if step.write.data is None:
            if step.exists:
                assert step.backup_name is not None
                os.rename(path, step.backup_name)
                step.backup = step.backup_name
                step.done = True
            return
        assert step.temp is not None
        if step.exists:
            assert step.backup_name is not None
            step.backup = step.backup_name  # before it exists: a half-made copy is removed on undo too
            _backup(path, step.backup_name)
            os.replace(step.temp, path)
        else:
            _create(step.temp, path)
        step.temp = None
        step.done = True

    # -- undo: back to the job as it was -----------------------------------------------------------
    def _undo(self) -> list[str]:
        problems: list[str] = []
        for step in reversed(self.steps):
            path = step.write.path
            try:
                if step.done and step.backup is not None:
                    os.replace(step.backup, path)
                    step.backup = None
                elif step.done and not step.exists:
                    os.unlink(path)
                if step.backup is not None:  # backed up, but the rename after it failed
                    journal.unlink_quietly(step.backup)
                    step.backup = None
            except OSError as exc:
                problems.append(f"{path}: {exc.strerror or exc} (the old file is kept as {step.backup})")
            if step.temp is not None:
                journal.unlink_quietly(step.temp)
        for d in reversed(self.made_dirs):
            try:
                d.rmdir()
            except OSError:
                pass
        return problems


def _commit_order(writes: list[Write]) -> list[Write]:
    """New files first, then changed ones (the spec last), removals at the end: if the process is
    killed outright part-way, the scripts never source a file that does not exist yet."""
    def key(w: Write) -> tuple[int, str]:
        if w.data is None:
            return 3, str(w.path)
        if not os.path.lexists(w.path):
            return 0, str(w.path)
        return (2 if w.path.name == "spec" else 1), str(w.path)
    return sorted(writes, key=key)


def _free_name(path: Path, suffix: str) -> Path:
    import secrets  # imported when writing (hashlib, hmac): a dry run does not pay for it

    for _ in range(100):
        token = "".join(secrets.choice(RANDOM_CHARS) for _ in range(8))
        candidate = path.with_name(f"{TEMP_PREFIX}{path.name}.{token}{suffix}")
        if not os.path.lexists(candidate):
            return candidate
    raise FileExistsError(errno.EEXIST, "no free name for a backup", str(path))


def _backup(path: Path, backup: Path) -> None:
    """A second name for the current file (a hard link, or a copy where links are refused)."""
    try:
        os.link(path, backup)
    except OSError:
        shutil.copy2(path, backup)


def _create(temp: Path, path: Path) -> None:
    """Move ``temp`` to ``path`` without ever overwriting a file that appeared there meanwhile."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path)) from None
        os.rename(temp, path)
        return
    os.unlink(temp)


def _remove_emptied(folders: set[Path]) -> None:
    """Remove the folders a removed file leaves empty (``templates/helpers/`` once its only helper
    went): each held the file, so nothing else is lost. A job's ``templates`` folder always stays."""
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        while folder.name != "templates" and folder != folder.parent:
            try:
                folder.rmdir()  # refused unless the folder is empty
            except OSError:
                break
            folder = folder.parent


def _sync_dirs(folders: set[Path]) -> None:
    for folder in folders:
        journal.sync_dir(folder)


def write_job(writes: list[Write], job_dir: Path | None = None) -> None:
    """Write all of ``writes`` or none of them; raises WriteFailed naming the file that failed.

    With ``job_dir`` a journal there lets the next run undo the write if this process is killed."""
    Transaction(writes, job_dir).run()


def write_atomic(path: Path, data: bytes) -> None:
    """One file, atomically (temp file + rename), keeping its mode bits (new files: 0644)."""
    write_job([Write(path, data)])


def remove(path: Path) -> None:
    write_job([Write(path, None)])
