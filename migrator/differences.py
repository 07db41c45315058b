"""What a codemod's rewrite may change in what a script runs: its declared differences.

A migrated script must start the same external commands with the same arguments as the original,
except where the rewrite is meant to change them (a log pipeline's ``tee`` and ``logger`` go, a
``sipid kill`` stands for a TERM/poll/KILL loop). Each codemod says which calls those are, as data,
so that a test that runs both scripts can accept exactly those differences and nothing else. A
codemod that declares nothing promises identical calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class CallShape:
    """Calls of one kind: the command's name and what else must hold for a call to be of this kind.

    ``commands`` are base names (``tee``, ``sipid``). A call matches when every condition set holds:
    ``subcommand`` is its first argument; ``fed`` says its stdin was a pipe (it read a stream, as
    log plumbing reads the script's output); ``feeding`` says its stdout was a pipe (its output was
    captured, as ``$(date)`` in a timestamp or ``$(basename $0)`` in a syslog tag); ``names_pidfile`` says one of its arguments is a pidfile; ``argument_under`` says one argument
    lies under that folder; ``no_arguments`` says it had none (``cat`` writing a heredoc).
    """

    commands: frozenset[str]
    subcommand: str | None = None
    fed: bool = False
    feeding: bool = False
    names_pidfile: bool = False
    argument_under: str | None = None
    no_arguments: bool = False

    def matches(self, name: str, args: Sequence[str], *, fed: bool = False, feeding: bool = False,
                pidfiles: frozenset[str] = frozenset()) -> bool:
        if name.rsplit("/", 1)[-1] not in self.commands:
            return False
        if self.subcommand is not None and (not args or args[0] != self.subcommand):
            return False
        if (self.fed and not fed) or (self.feeding and not feeding):
            return False
        if self.names_pidfile and not any(_is_pidfile(a, pidfiles) for a in args):
            return False
        if self.argument_under is not None and not any(a.startswith(self.argument_under) for a in args):
            return False
        return not (self.no_arguments and args)


def _is_pidfile(arg: str, pidfiles: frozenset[str]) -> bool:
    return arg in pidfiles or arg.endswith(".pid")


@dataclass(frozen=True)
class DeclaredDifferences:
    """Calls that a codemod's rewrite may take out of a run (``may_vanish``), add to it
    (``may_appear``, each shape at most ``appear_limit`` times per run when set) or run at another
    point with the same arguments (``may_move``), and helper functions whose calls, and every call
    made inside them, may vanish."""

    summary: str
    may_vanish: tuple[CallShape, ...] = ()
    may_appear: tuple[CallShape, ...] = ()
    may_move: tuple[CallShape, ...] = ()
    vanishing_functions: frozenset[str] = frozenset()
    appear_limit: int | None = None
    #: helpers that ended the script (``exit`` inside): when the original's run ended inside one,
    #: the migrated run may go on after the call that replaced it (the codemod says so in a finding)
    ended_the_script: frozenset[str] = frozenset()
    #: the claim creates the pidfile's folder: where the original failed to write its pidfile into
    #: a missing folder, the migrated run goes on after the claim (and may succeed)
    claim_creates_folder: bool = False
    #: where the original failed on its last call and that call is one the rewrite takes out (a
    #: ``kill`` with no pid when nothing runs), the migrated run may succeed instead
    failure_may_go: bool = False


#: what a codemod that declares nothing promises
IDENTICAL = DeclaredDifferences("nothing: every call and its arguments stay the same")


def shapes(*names: str, **conditions: object) -> CallShape:
    """Shorthand for a declaration: ``shapes("tee", "logger", fed=True)``."""
    return CallShape(frozenset(names), **conditions)  # type: ignore[arg-type]
