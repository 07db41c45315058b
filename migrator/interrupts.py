"""SIGINT and SIGTERM: stop cleanly, and never in the middle of writing a job.

While planning nothing is written, so a signal stops the run at once (``Interrupted``). While
applying, the first signal is only noted: the job being written is finished, then no other job is
started. A second signal rolls the job in flight back (the writer undoes it) and stops. Exit codes
follow the shell's convention, 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A signal asked the run to stop (a BaseException, like KeyboardInterrupt)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, _frame) -> None:
    raise Interrupted(signum)


def stop_on_signals() -> None:
    """From now on SIGINT and SIGTERM raise ``Interrupted`` (planning: nothing to protect)."""
    for s in SIGNALS:
        signal.signal(s, _raise)


def ignore_in_worker() -> None:
    """For worker processes: a Ctrl-C reaches the whole process group; only the parent decides."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@dataclass
class Pending:
    signum: int | None = None
    count: int = 0

    @property
    def name(self) -> str | None:
        return signal.Signals(self.signum).name if self.signum else None


@contextmanager
def deferred() -> Iterator[Pending]:
    """Note signals instead of acting on them; the second one raises ``Interrupted``."""
    pending = Pending()

    def note(signum: int, _frame) -> None:
        pending.count += 1
        if pending.signum is None:
            pending.signum = signum
        if pending.count == 2:
            raise Interrupted(pending.signum)

    if threading.current_thread() is not threading.main_thread():
        yield pending  # only the main thread receives signals (bulk mode applies in threads)
        return
    previous = {s: signal.signal(s, note) for s in SIGNALS}
    try:
        yield pending
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
