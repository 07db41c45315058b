"""Showing where each repo is while a bulk run goes on.

On a terminal every repo keeps one line that is redrawn in place (so 50 repos stay readable);
anywhere else (CI logs, pipes) each change of state is one plain ``repo: state`` line, which is what
log readers and grep want.
"""

from __future__ import annotations

import shutil
import sys
import threading
from typing import TextIO


class Display:
    def __init__(self, names: list[str], stream: TextIO | None = None, live: bool | None = None,
                 quiet: bool = False):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.quiet = quiet
        self.names = list(names)
        self.states = {n: "waiting" for n in names}
        self.width = max((len(n) for n in names), default=4)
        self._lock = threading.Lock()
        self._drawn = 0

    def __call__(self, name: str, state: str) -> None:
        """Record a repo's new state (called from worker threads)."""
        if self.quiet:
            return
        with self._lock:
            self.states[name] = " ".join(state.split())
            if self.live:
                self._redraw()
            else:
                self.stream.write(f"{name}: {state}\n")
                self.stream.flush()

    def _redraw(self) -> None:
        # a line longer than the terminal wraps and breaks the cursor arithmetic: cut it to fit
        columns = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        out = []
        if self._drawn:
            out.append(f"\x1b[{self._drawn}F")  # back to the first line of the block
        for name in self.names:
            line = f"{name:<{self.width}}  {self.states[name]}"
            out.append("\x1b[2K" + line[:columns] + "\n")
        self._drawn = len(self.names)
        self.stream.write("".join(out))
        self.stream.flush()
