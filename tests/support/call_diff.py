"""Are two runs of a script the same, apart from what the codemods declare?

The calls of both runs are aligned (``difflib``: calls with the same name, arguments and, for
package programs, environment match); every call only the original made must be one a codemod
says may vanish, every call only the migrated run made one it says may appear (or the same call at
another point, where a move is declared). Then the exit status and the files left behind must
agree. The first thing that does not is the answer, in words, with the argv where the runs part.
"""

from __future__ import annotations

import difflib
from typing import Iterable, Sequence

from migrator.differences import CallShape, DeclaredDifferences
from tests.support.job_sandbox import Call, Run


def pidfiles_named(runs: Iterable[Run]) -> frozenset[str]:
    """Pidfiles the sipid calls of a run name (``--pid-file X``)."""
    found = set()
    for run in runs:
        for call in run.calls:
            if call.name.rsplit("/", 1)[-1] == "sipid" and "--pid-file" in call.args:
                i = call.args.index("--pid-file")
                if i + 1 < len(call.args):
                    found.add(call.args[i + 1])
    return frozenset(found)


def _match(shape: CallShape, call: Call, pidfiles: frozenset[str]) -> bool:
    return shape.matches(call.name.lstrip("?"), call.args, fed="i" in call.pipes, feeding="o" in call.pipes,
                         pidfiles=pidfiles)


def _vanishes(call: Call, declared: Sequence[DeclaredDifferences], pidfiles: frozenset[str]) -> bool:
    for d in declared:
        if call.name.lstrip("?").rsplit("/", 1)[-1] in d.vanishing_functions:
            return True
        if any(f in d.vanishing_functions for f in call.functions):
            return True
        if any(_match(s, call, pidfiles) for s in d.may_vanish):
            return True
    return False


def _appears(call: Call, declared: Sequence[DeclaredDifferences], pidfiles: frozenset[str],
             used: dict[tuple[int, int], int]) -> bool:
    for i, d in enumerate(declared):
        for j, s in enumerate(d.may_appear):
            if _match(s, call, pidfiles):
                if d.appear_limit is not None and used.get((i, j), 0) >= d.appear_limit:
                    continue
                used[(i, j)] = used.get((i, j), 0) + 1
                return True
    return False


def first_difference(old: Run, new: Run, declared: Sequence[DeclaredDifferences],
                     pidfiles: frozenset[str] = frozenset()) -> str | None:
    """None when the runs are the same apart from the declared differences, else the first
    difference in words (with the argv where the runs part)."""
    if old.timed_out != new.timed_out:
        return f"{old.phase}: {'the original' if old.timed_out else 'the migrated script'} did not finish in time"
    a, b = [c.key() for c in old.calls], [c.key() for c in new.calls]
    blocks = _unmatched_blocks(old.calls, new.calls, declared, pidfiles)
    moved_old, moved_new = _moves(old.calls, new.calls, blocks, declared, pidfiles)
    used: dict[tuple[int, int], int] = {}
    ended = frozenset().union(*(d.ended_the_script for d in declared))
    for i1, i2, j1, j2 in blocks:
        gone = [c for i, c in enumerate(old.calls[i1:i2], i1)
                if i not in moved_old and not _vanishes(c, declared, pidfiles)]
        added = [c for j, c in enumerate(new.calls[j1:j2], j1)
                 if j not in moved_new and not _appears(c, declared, pidfiles, used)]
        if added and i2 == len(a) and j2 == len(b) and _went_on(old, new.calls[:j1 + 1], ended, declared, pidfiles):
            added = []  # the original ended inside a helper that a call before these replaced
        if gone or added:
            return _describe(old.phase, gone, added)
    failure_went = (new.rc == 0 and old.rc not in (0, None) and any(d.failure_may_go for d in declared)
                    and bool(old.calls) and _vanishes(old.calls[-1], declared, pidfiles))
    if old.rc != new.rc and not failure_went:
        return f"{old.phase}: exit status {old.rc} became {new.rc} ({last_line(new.stderr or old.stderr)})"
    created = ({p.rsplit("/", 1)[0] + "/" for p in pidfiles} if any(d.claim_creates_folder for d in declared)
               else set())
    for path in sorted(set(old.files) | set(new.files)):
        if path in pidfiles or path.endswith(".pid") or path in created:
            continue
        before, after = old.files.get(path), new.files.get(path)
        if before != after:
            if before is None:
                return f"{old.phase}: the migrated script leaves a file the original did not: {path}"
            if after is None:
                return f"{old.phase}: the migrated script does not leave {path}"
            return f"{old.phase}: {path} differs ({before[:60]!r} became {after[:60]!r})"
    return None


def _unmatched_blocks(old: Sequence[Call], new: Sequence[Call], declared: Sequence[DeclaredDifferences],
                      pidfiles: frozenset[str]) -> list[tuple[int, int, int, int]]:
    """The stretches of the two runs that do not line up, as (i1, i2, j1, j2).

    The calls no declaration lets vanish or appear (the script's real work) are aligned first, so
    a kept ``tee`` cannot pair with an earlier one the rewrite removed and push the real commands
    between them out of line; the calls between two aligned ones are then aligned on their own.
    """
    real_old = [i for i, c in enumerate(old) if not _vanishes(c, declared, pidfiles)]
    real_new = [j for j, c in enumerate(new) if not _appears(c, declared, pidfiles, {})]
    matcher = difflib.SequenceMatcher(None, [old[i].key() for i in real_old], [new[j].key() for j in real_new],
                                      autojunk=False)
    anchors = [(real_old[m.a + k], real_new[m.b + k]) for m in matcher.get_matching_blocks() for k in range(m.size)]
    blocks: list[tuple[int, int, int, int]] = []
    prev_i = prev_j = 0
    for next_i, next_j in [*anchors, (len(old), len(new))]:
        a = [c.key() for c in old[prev_i:next_i]]
        b = [c.key() for c in new[prev_j:next_j]]
        blocks += [(prev_i + i1, prev_i + i2, prev_j + j1, prev_j + j2) for tag, i1, i2, j1, j2
                   in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if tag != "equal"]
        prev_i, prev_j = next_i + 1, next_j + 1
    return blocks


def _went_on(old: Run, before: Sequence[Call], ended: frozenset[str], declared: Sequence[DeclaredDifferences],
             pidfiles: frozenset[str]) -> bool:
    """Did the original end inside a helper that ended the script (``exit`` in ``kill_and_wait``)
    while the migrated run called what replaced it, so that it went on?"""
    if not ended or not old.calls or not ended & set(old.calls[-1].functions):
        return False
    shapes = [s for d in declared for s in d.may_appear]
    return any(_match(s, c, pidfiles) for c in before for s in shapes)


def claimed_without_folder(old: Run, new: Run, declared: Sequence[DeclaredDifferences]) -> str | None:
    """A pidfile the migrated run claims whose folder the original never had: the original could not
    write its pid there (a sandbox lacks what set-up outside the script would make), ``sipid claim``
    creates the folder, and from there the two runs part for a reason the codemod declares."""
    if not any(d.claim_creates_folder for d in declared):
        return None
    for call in new.calls:
        if call.name.rsplit("/", 1)[-1] == "sipid" and call.args[:1] == ("claim",) and "--pid-file" in call.args:
            i = call.args.index("--pid-file")
            path = call.args[i + 1] if i + 1 < len(call.args) else ""
            if path and f"{path.rsplit('/', 1)[0]}/" not in old.files:
                return path
    return None


def _moves(old: Sequence[Call], new: Sequence[Call], blocks: Sequence[tuple[int, int, int, int]],
           declared: Sequence[DeclaredDifferences], pidfiles: frozenset[str]) -> tuple[set[int], set[int]]:
    """Indexes of unmatched calls that ran at another point with the same arguments, where a
    declaration allows that call to move."""
    movable = [s for d in declared for s in d.may_move]
    if not movable:
        return set(), set()
    free_new = [j for _i1, _i2, j1, j2 in blocks for j in range(j1, j2)]
    moved_old: set[int] = set()
    moved_new: set[int] = set()
    for i in (i for i1, i2, _j1, _j2 in blocks for i in range(i1, i2)):
        call = old[i]
        if not any(_match(s, call, pidfiles) for s in movable):
            continue
        for j in free_new:
            if j not in moved_new and new[j].key() == call.key():
                moved_old.add(i)
                moved_new.add(j)
                break
    return moved_old, moved_new


def _describe(phase: str, gone: list[Call], added: list[Call]) -> str:
    if gone and added:
        old, new = gone[0], added[0]
        detail = f"the original ran `{old.show()}` where the migrated script ran `{new.show()}`"
        if old.key()[:2] == new.key()[:2] and old.env != new.env:
            detail += f" (environment differs: {_env_delta(old.env, new.env)})"
        return f"{phase}: {detail}"
    if gone:
        return f"{phase}: the migrated script no longer runs `{gone[0].show()}`"
    return f"{phase}: the migrated script also runs `{added[0].show()}`"


def _env_delta(old: tuple | None, new: tuple | None) -> str:
    a, b = dict(old or ()), dict(new or ())
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return ", ".join(f"{k}={a.get(k)!r}->{b.get(k)!r}" for k in keys[:3])


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else "no message"
