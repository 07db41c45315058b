"""When a health-check loop gives up, read from the script as a reviewer would.

Real post-start loops bound their retries in several ways: a counted ``for``, a counter compared
in the ``while`` condition or in an ``if ...; then exit 1; fi`` inside the body, a deadline from
``date +%s`` arithmetic or ``$SECONDS``, a count held in a variable or passed to the function the
loop lives in. Every bound here is a comparison of two linear expressions over the loop's counter
``c`` and the seconds slept since the loop began ``t``; :func:`simulate` then steps through one
try after another (probes fail, sleeps add up) until the loop gives up, which yields how many
probes it made and after how many seconds it stopped, whatever the order of the statements.

Two symbols stand for what the script cannot tell: ``e0``, the epoch second the loop began at, and
``s0``, bash's ``$SECONDS`` then. A comparison is readable only when they cancel out (a deadline
set right before the loop, ``SECONDS=0`` right before it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

Lin = dict[str, float]  # symbol -> coefficient; "" is the constant

_OPS = {"-lt": "<", "-le": "<=", "-gt": ">", "-ge": ">=", "-eq": "==", "-ne": "!=",
        "<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "=": "==", "!=": "!="}
_NOW = re.compile(r"\$\(\s*date \+%s\s*\)|`\s*date \+%s\s*`")
_TEST = re.compile(r"\s*(?:\[\[?|\(\()\s*(.+?)\s*(?:\]\]?|\)\))\s*;?\s*", re.DOTALL)
_BINARY = re.compile(r"(.+?)\s+(-lt|-le|-gt|-ge|-eq|-ne|==|!=|=|<=|>=|<|>)\s+(.+)", re.DOTALL)
_BINARY_ARITH = re.compile(r"(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+)", re.DOTALL)

#: how a name's value is found: a linear expression, or None when the script does not say
Resolver = Callable[[str], "Lin | None"]


class Unreadable(Exception):
    """The bound is there but its value cannot be told from the script (the message says why)."""


def const(value: float) -> Lin:
    return {"": float(value)}


def add(a: Lin, b: Lin, sign: float = 1.0) -> Lin:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0.0) + sign * v
    return {k: v for k, v in out.items() if v != 0 or k == ""}


def expression(text: str, resolve: Resolver, at_start: bool = False) -> Lin | None:
    """A shell expression as a linear form: a number, ``$x``, ``$(date +%s)``, ``$SECONDS``, or
    ``$(( a + b - c ))`` of those. ``at_start``: the expression is evaluated before the loop (an
    initial value), so the clock reads ``e0``/``s0`` and no time has passed yet."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    m = re.fullmatch(r"\$\(\((.*)\)\)|\$\[(.*)\]", text, re.DOTALL)
    if m:
        return _arithmetic(m.group(1) or m.group(2) or "", resolve, at_start)
    return _atom(text, resolve, at_start, bare_names=False)


def _arithmetic(text: str, resolve: Resolver, at_start: bool) -> Lin | None:
    text = _NOW.sub(" __NOW__ ", text)
    if re.search(r"[*/%()?]", text):
        return None  # products, quotients and nesting: not a plain sum
    total: Lin = const(0)
    for sign, atom in re.findall(r"([+-]?)\s*([^\s+-]+)", text):
        value = _atom(atom, resolve, at_start, bare_names=True)
        if value is None:
            return None
        total = add(total, value, -1.0 if sign == "-" else 1.0)
    return total


def _atom(text: str, resolve: Resolver, at_start: bool, *, bare_names: bool) -> Lin | None:
    if re.fullmatch(r"\d+", text):
        return const(int(text))
    if text == "__NOW__" or _NOW.fullmatch(text):
        return {"": 0.0, "e0": 1.0} if at_start else {"": 0.0, "e0": 1.0, "t": 1.0}
    m = re.fullmatch(r"\$\{?(\w+)\}?", text) or (re.fullmatch(r"([A-Za-z_]\w*)", text) if bare_names else None)
    if not m:
        return None
    name = m.group(1)
    if name == "SECONDS":
        # $SECONDS when the loop began: 0 after a reset right before it, else unknown (s0)
        start = resolve("SECONDS") or {"": 0.0, "s0": 1.0}
        return start if at_start else add({"": 0.0, "t": 1.0}, start)
    return resolve(name)


@dataclass(frozen=True)
class Comparison:
    """``left OP right`` where OP is one of < <= > >= == !=."""

    left: Lin
    op: str
    right: Lin

    def holds(self, c: float, t: float) -> bool:
        diff = add(self.left, self.right, -1.0)
        value = diff.get("", 0.0) + diff.get("c", 0.0) * c + diff.get("t", 0.0) * t
        return {"<": value < 0, "<=": value <= 0, ">": value > 0, ">=": value >= 0,
                "==": value == 0, "!=": value != 0}[self.op]

    @property
    def uses_time(self) -> bool:
        return bool(add(self.left, self.right, -1.0).get("t"))

    @property
    def readable(self) -> bool:
        """The unknown clock readings cancel out: the bound counts from the loop's start."""
        diff = add(self.left, self.right, -1.0)
        return not diff.get("e0") and not diff.get("s0")


def comparison(text: str, resolve: Resolver) -> Comparison | None:
    """``[ $n -lt 30 ]``, ``[[ "$(date +%s)" -ge "$deadline" ]]``, ``(( SECONDS < 90 ))``."""
    m = _TEST.fullmatch(text)
    if not m:
        return None
    arith = text.lstrip().startswith("((")
    inner = m.group(1)
    b = (_BINARY_ARITH if arith else _BINARY).fullmatch(inner)
    if not b:
        return None
    left, op, right = b.group(1), b.group(2), b.group(3)
    if arith:
        lv, rv = _arithmetic(left, resolve, False), _arithmetic(right, resolve, False)
    else:
        lv, rv = expression(left, resolve), expression(right, resolve)
    if lv is None or rv is None or op not in _OPS:
        return None
    return Comparison(lv, _OPS[op], rv)


#: ``n=$((n+1))``, ``n=$(( $n - 1 ))``, ``((n++))``, ``((n += 1))``, ``let n++``, ``let "n=n+1"``
_UPDATES = (
    re.compile(r"(?P<v>\w+)=\$\(\(\s*\$?\{?(?P<w>\w+)\}?\s*(?P<s>[+-])\s*(?P<d>\d+)\s*\)\)"),
    re.compile(r"\(\(\s*(?P<v>\w+)\s*(?P<s>\+\+|--)\s*\)\)"),
    re.compile(r"\(\(\s*(?P<s>\+\+|--)\s*(?P<v>\w+)\s*\)\)"),
    re.compile(r"\(\(\s*(?P<v>\w+)\s*(?P<s>[+-])=\s*(?P<d>\d+)\s*\)\)"),
    re.compile(r"let\s+\"?(?P<v>\w+)(?P<s>\+\+|--)\"?"),
    re.compile(r"let\s+\"?(?P<v>\w+)\s*=\s*\$?(?P<w>\w+)\s*(?P<s>[+-])\s*(?P<d>\d+)\"?"),
    re.compile(r"let\s+\"?(?P<v>\w+)\s*(?P<s>[+-])=\s*(?P<d>\d+)\"?"),
)


def counter_update(text: str) -> tuple[str, int] | None:
    """A statement that adds a constant to a variable: the variable and the step."""
    text = text.strip()
    for pattern in _UPDATES:
        m = pattern.fullmatch(text)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("w") and groups["w"] != groups["v"]:
            return None
        sign = -1 if groups["s"].startswith("-") else 1
        step = int(groups.get("d") or 1)
        return groups["v"], sign * step
    return None


# -- one try after another --------------------------------------------------------------------------
PROBE, SLEEP, UPDATE, CHECK = "probe", "sleep", "update", "check"


@dataclass(frozen=True)
class Step:
    """One statement of a try, as far as timing goes: a probe, a sleep of ``seconds``, a counter
    step of ``delta``, or a ``check`` that leaves the loop when its comparison holds."""

    kind: str
    seconds: float = 0.0
    delta: int = 0
    check: Comparison | None = None


@dataclass(frozen=True)
class Run:
    """What a loop whose probes all fail does: how many probes, when it gives up (seconds slept),
    and whether its first probe came before any sleep."""

    probes: int
    gives_up_after: float
    probes_at_once: bool


MAX_TRIES = 100_000


def simulate(steps: list[Step], start: float = 0, while_holds: Comparison | None = None) -> Run | None:
    """Step through the tries (``while_holds``: the loop's own condition, tested before each try)
    until the loop gives up; None when it never does."""
    c, t, probes = float(start), 0.0, 0
    at_once: bool | None = None
    for _ in range(MAX_TRIES):
        if while_holds is not None and not while_holds.holds(c, t):
            return Run(probes, t, bool(at_once))
        for step in steps:
            if step.kind == PROBE:
                probes += 1
                if at_once is None:
                    at_once = t == 0
            elif step.kind == SLEEP:
                t += step.seconds
            elif step.kind == UPDATE:
                c += step.delta
            elif step.kind == CHECK and step.check is not None and step.check.holds(c, t):
                return Run(probes, t, bool(at_once))
    return None
