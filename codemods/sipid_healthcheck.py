"""Codemod ``sipid-healthcheck``: bounded curl retry loops -> ``sipid wait-until-healthy``."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import ClassVar

from tree_sitter import Node

from codemods import _sipid as S
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext
from migrator.differences import DeclaredDifferences, shapes
from migrator.document import Document, command_name

#: curl options that take a value and do not change what counts as healthy
VALUE_OPTIONS = {"-o", "--output", "-m", "--max-time", "--connect-timeout", "-w", "--write-out", "--retry",
                 "-H", "--header", "-A", "--user-agent"}
#: curl options that change the request in ways sipid cannot express
UNSUPPORTED = {"-k", "--insecure", "-X", "--request", "-d", "--data", "-u", "--user", "--cacert", "--cert",
               "--key", "-E", "--unix-socket", "-I", "--head", "--resolve", "-x", "--proxy"}
COUNTER_UPDATE = re.compile(r"(\w+)=\$\(\(\s*\$?(\w+)\s*\+\s*1\s*\)\)|\(\(\s*(\w+)\s*(?:\+\+|\+=\s*1)\s*\)\)|let\s+\"?(\w+)(?:\+\+|\+=1|=\$?\w+\+1)\"?")


#: probes of readiness loops sipid cannot take over (not an HTTP GET it can express)
OTHER_PROBES = {"nc", "ncat", "netcat", "wget", "pg_isready", "mysqladmin", "redis-cli"}


class Unsupported(Exception):
    """Why a curl loop is left as it is (the message goes into the finding)."""


@dataclass
class Bound:
    """When a retry loop gives up: after ``tries`` tries, or ``seconds`` after it began.
    ``counter`` is the variable that tracks it (its set-up before the loop goes with the loop)."""

    tries: int = 0
    seconds: float | None = None
    counter: str | None = None


@dataclass
class Probe:
    url: Node
    status_200_only: bool  # the loop itself compared the status with 200


class SipidHealthcheck(Codemod):
    """Replace bounded curl retry loops with ``sipid wait-until-healthy``.

    What it does: a loop that runs a fixed number of times (``for i in $(seq 1 N)``, ``{1..N}``,
    C-style, or ``while`` on a counter), whose body probes one URL with curl (``curl -f``/``--fail``,
    or ``-s -o /dev/null -w '%{http_code}'`` compared with 200), sleeps a fixed interval and counts,
    becomes ``sipid wait-until-healthy --url URL --timeout T --polling-frequency F`` with T = N x
    interval and F = the interval. What the loop did on success (``exit 0``, a message) stays, in
    an ``if`` around the call; the code after the loop still runs on failure.

    Why it is bad: every release writes the loop a little differently (off-by-one bounds, loops
    that never give up, probes that ignore the status), and the guide recommends sipid for it.

    Fix safety: not exact, so every rewrite comes with a finding: sipid counts only status 200
    (``curl -f`` accepted anything below 400), verifies TLS certificates, and probes first after one
    interval (the loop probed at once). Loops that do more (several probes, logic between tries,
    non-HTTP probes, ``curl -k``, no bound, a counter used after the loop) are left with a finding.
    """

    id = "sipid-healthcheck"
    summary = "Replace bounded curl retry loops with sipid wait-until-healthy"
    rationale = (
        "The exemplar-release guide, 'Post-Start': health checks that wait for the job to become "
        "ready; sipid wait-until-healthy is the tool it points to."
    )
    triggers = (b"curl", b"nc ", b"ncat", b"netcat", b"wget", b"pg_isready", b"mysqladmin")
    differences: ClassVar[DeclaredDifferences] = DeclaredDifferences(
        "one sipid wait-until-healthy replaces the probe retry loop (its probes, sleeps and clock reads)",
        may_vanish=(shapes("curl", "wget", "nc", "ncat", "netcat", "pg_isready", "mysqladmin", "sleep", "seq", "date"),),
        may_appear=(shapes("sipid", subcommand="wait-until-healthy"),),
        appear_limit=1,
    )

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        result = CodemodResult()
        for loop in doc.find(*S.LOOPS):
            names = {command_name(doc, c) for c in doc.commands(within=loop)}
            if "curl" not in names:
                other = sorted(names & OTHER_PROBES)
                if other and "sleep" in names:
                    result.findings.append(self.finding(
                        doc, loop.start_byte,
                        f"left unchanged: retry loop probes with {other[0]}; sipid wait-until-healthy only "
                        "does an HTTP GET that must answer 200", "info",
                        "keep it, or probe an HTTP health endpoint with sipid wait-until-healthy"))
                continue
            if any(l.id != loop.id and l.start_byte <= loop.start_byte and loop.end_byte <= l.end_byte
                   for l in doc.find(*S.LOOPS)):
                continue  # nested inside another loop: left to the outer loop's verdict
            try:
                edits, notes = _Loop(job, doc, loop).rewrite()
            except Unsupported as why:
                result.findings.append(self.finding(
                    doc, loop.start_byte, f"left unchanged: curl retry loop {why}",
                    suggestion="rewrite it by hand with sipid wait-until-healthy --url URL --timeout T "
                               "--polling-frequency F, or keep it"))
                continue
            result.edits += edits
            result.findings.append(self.finding(doc, loop.start_byte, notes, "review"))
        if result.edits:
            result.spec_changes.append(S.package_change(job))
        return result


class _Loop:
    """One curl retry loop and its rewrite."""

    def __init__(self, job: JobContext, doc: Document, loop: Node):
        self.job, self.doc, self.loop = job, doc, loop

    def rewrite(self) -> tuple[list[Edit], str]:
        doc, loop = self.doc, self.loop
        body = loop.child_by_field_name("body")
        if body is None:
            raise Unsupported("has no body")
        statements = S.block_statements(body)
        bound = self._bound()
        probes = [s for s in statements if self._has_curl(s) and s.type in ("if_statement", "list")]
        sleeps = [s for s in statements if s.type == "command" and command_name(doc, s) == "sleep"]
        if len(probes) != 1:
            raise Unsupported("does more than one probe per try" if probes else "probes outside an if")
        if len(sleeps) != 1:
            raise Unsupported("does not sleep a fixed interval once per try")
        known = {probes[0].id, sleeps[0].id}
        for s in statements:
            if s.id in known or self._is_counter_update(s, bound.counter) or self._is_message(s):
                continue
            raise Unsupported(f"does more between tries ('{_short(doc.masked_text(s))}')")
        interval = self._interval(sleeps[0])
        cond, on_success = self._probe_parts(probes[0])
        probe = self._probe(cond)
        success = self._success(on_success)
        if bound.counter and self._used_after(bound.counter):
            raise Unsupported(f"uses ${bound.counter} after the loop")
        timeout = bound.seconds if bound.seconds is not None else bound.tries * interval
        call = (f"{S.sipid(self.job)} wait-until-healthy --url {doc.node_text(probe.url)} "
                f"--timeout {_duration(timeout)} --polling-frequency {_duration(interval)}")
        span = doc.full_lines(loop.start_byte, loop.end_byte)
        if span is None:
            raise Unsupported("shares its lines with other code")
        if any(not t.is_output for t in doc.tags_in(*span)):
            raise Unsupported("has ERB control tags inside")
        indent = S.indent_of(doc, loop)
        unit = "\t" if indent.startswith("\t") else "  "
        if success is None:
            # the loop went on to the next statement either way, with status 0
            text = f"{indent}{call} || true\n"
        else:
            inner = textwrap.indent(success, indent + unit)
            text = f"{indent}if {call}; then\n{inner}{indent}fi\n"
        budget = f"{bound.tries} tries" if bound.seconds is None else f"a {bound.seconds:g} s deadline"
        notes = [f"curl retry loop ({budget}, {interval:g} s apart) replaced by sipid wait-until-healthy"]
        if not probe.status_200_only:
            notes.append("only HTTP 200 counts now (curl -f accepted any status below 400)")
        notes.append("TLS certificates are verified")
        notes.append("the first probe comes one interval late (the loop probed at once)")
        fix = f"healthcheck@{loop.start_byte}"
        edits = [Edit(span[0], span[1], text, fix)]
        init = self._init_statement(bound.counter) if bound.counter else None
        init_span = doc.full_lines(init.start_byte, init.end_byte) if init is not None else None
        if init_span is not None and not doc.tags_in(*init_span):
            edits.append(Edit(init_span[0], init_span[1], "", fix))
        return edits, "; ".join(notes)

    # -- parts of the loop ------------------------------------------------------------------------
    def _has_curl(self, node: Node) -> bool:
        return any(command_name(self.doc, c) == "curl" for c in self.doc.commands(within=node))

    def _is_message(self, stmt: Node) -> bool:
        cmd = stmt.child_by_field_name("body") if stmt.type == "redirected_statement" else stmt
        return cmd is not None and cmd.type == "command" and command_name(self.doc, cmd) in ("echo", "printf")

    def _interval(self, sleep: Node) -> float:
        args = S.arg_texts(self.doc, sleep)
        if len(args) != 1 or not re.fullmatch(r"\d+(\.\d+)?s?", args[0]):
            raise Unsupported("sleeps a computed interval")
        value = float(args[0].rstrip("s"))
        if value <= 0:
            raise Unsupported("does not sleep between tries")
        return value

    def _bound(self) -> Bound:
        """How the loop ends: a number of tries, or a deadline in seconds."""
        if self.loop.type != "while_statement":
            count = S.iterations(self.doc, self.loop)
            if count is None or count <= 0:
                raise Unsupported("has no bound the tool can read")
            return Bound(tries=count)
        cond = self.loop.child_by_field_name("condition")
        text = self.doc.masked_text(cond) if cond is not None else ""
        if self.doc.masked[self.loop.start_byte:self.loop.start_byte + 5] == b"until":
            raise Unsupported("has no bound the tool can read (an until loop)")
        m = re.fullmatch(r"\s*\[\[?\s+\"?\$\{?(\w+)\}?\"?\s+-(lt|le)\s+(\d+)\s+\]\]?\s*;?\s*", text) or \
            re.fullmatch(r"\s*\(\(\s*(\w+)\s*(<|<=)\s*(\d+)\s*\)\)\s*;?\s*", text)
        if m is not None and m.group(1) != "SECONDS":
            counter = m.group(1)
            return Bound(tries=self._tries(counter, int(m.group(3)), m.group(2) in ("le", "<=")), counter=counter)
        deadline = self._deadline(text)
        if deadline is not None:
            return deadline
        raise Unsupported("has no bound the tool can read (an endless loop, or a deadline in another shape)")

    def _deadline(self, cond: str) -> Bound | None:
        """``end=$((SECONDS + T))`` ... ``while [ $SECONDS -lt $end ]``, or
        ``start=$(date +%s)`` ... ``while [ $(( $(date +%s) - start )) -lt T ]``."""
        m = re.fullmatch(r"\s*\[\[?\s+\$SECONDS\s+-lt\s+\"?\$\{?(\w+)\}?\"?\s+\]\]?\s*;?\s*", cond) or \
            re.fullmatch(r"\s*\(\(\s*SECONDS\s*<\s*\$?(\w+)\s*\)\)\s*;?\s*", cond)
        if m:
            init = self._init_statement(m.group(1))
            value = self.doc.masked_text(init.child_by_field_name("value")) if init is not None else ""
            t = re.fullmatch(r"\$\(\(\s*\$?SECONDS\s*\+\s*(\d+)\s*\)\)", value)
            return Bound(seconds=float(t.group(1)), counter=m.group(1)) if t else None
        m = re.fullmatch(r"\s*\[\[?\s+\"?\$\(\(\s*\$\(date \+%s\)\s*-\s*\$?(\w+)\s*\)\)\"?\s+-lt\s+(\d+)\s+\]\]?\s*;?\s*",
                         cond)
        if m:
            init = self._init_statement(m.group(1))
            value = self.doc.masked_text(init.child_by_field_name("value")) if init is not None else ""
            if value == "$(date +%s)":
                return Bound(seconds=float(m.group(2)), counter=m.group(1))
        return None

    def _is_counter_update(self, stmt: Node, counter: str | None) -> bool:
        text = self.doc.masked_text(stmt).strip()
        m = COUNTER_UPDATE.fullmatch(text)
        if not m:
            return False
        names = {g for g in m.groups() if g}
        if counter is None:
            return True  # a for-loop counting tries for its messages
        return names == {counter}

    def _tries(self, counter: str, limit: int, inclusive: bool) -> int:
        start = self._initial(counter)
        if not any(self._is_counter_update(s, counter) for s in S.block_statements(self.loop.child_by_field_name("body"))):
            raise Unsupported(f"never changes its counter ${counter}")
        count = limit - start + (1 if inclusive else 0)
        if count <= 0:
            raise Unsupported("never runs")
        return count

    def _init_statement(self, counter: str) -> Node | None:
        """The assignment that sets the counter last before the loop, in the loop's block."""
        parent = self.loop.parent
        siblings = S.block_statements(parent) if parent is not None else []
        before = [s for s in siblings if s.end_byte <= self.loop.start_byte]
        for stmt in reversed(before):
            if stmt.type == "variable_assignment" and self.doc.masked_text(stmt.child_by_field_name("name")) == counter:
                return stmt
        return None

    def _initial(self, counter: str) -> int:
        """The literal value the counter gets right before the loop."""
        stmt = self._init_statement(counter)
        if stmt is not None:
            value = self.doc.masked_text(stmt.child_by_field_name("value"))
            if re.fullmatch(r"\d+", value):
                return int(value)
        raise Unsupported(f"starts its counter ${counter} from a value the tool cannot read")

    def _probe_parts(self, stmt: Node) -> tuple[Node, list[Node]]:
        """The probe and what runs on success: ``if PROBE; then ...; fi`` or ``PROBE && exit 0``."""
        if stmt.type == "list":
            parts = stmt.named_children
            ops = [self.doc.masked_text(c) for c in stmt.children if not c.is_named]
            if len(parts) != 2 or ops != ["&&"]:
                raise Unsupported("combines the probe with other commands")
            return parts[0], [parts[1]]
        cond = stmt.child_by_field_name("condition")
        if cond is None:
            raise Unsupported("has no probe condition")
        if any(c.type in ("elif_clause", "else_clause") for c in stmt.named_children):
            raise Unsupported("does something when a probe fails")
        return cond, S.block_statements(stmt)

    def _probe(self, cond: Node) -> Probe:
        doc = self.doc
        curls = [c for c in doc.commands(within=cond) if command_name(doc, c) == "curl"]
        if len(curls) != 1 or len(list(doc.commands(within=cond))) != 1:
            raise Unsupported("probes with more than one curl command")
        curl = curls[0]
        text = doc.masked_text(cond).strip().rstrip(";").strip()
        by_status = re.fullmatch(r"\[\[?\s+\"?\$\(curl .*\)\"?\s+(==|=|-eq)\s+\"?200\"?\s+\]\]?", text, re.DOTALL)
        url, flags = self._curl_parts(curl)
        if by_status:
            if "%{http_code}" not in doc.masked_text(curl):
                raise Unsupported("compares curl output with 200 without -w '%{http_code}'")
            return Probe(url, True)
        plain = cond.type == "command" or (cond.type == "redirected_statement" and all(
            doc.masked_text(r).replace(" ", "").endswith(("/dev/null", "2>&1", "&>/dev/null"))
            for r in cond.children_by_field_name("redirect")))
        if not plain or curl.parent is None:
            raise Unsupported("probes with a condition other than one curl call")
        if "f" not in flags:
            raise Unsupported("uses curl without -f, so any HTTP answer counted as healthy")
        return Probe(url, False)

    def _curl_parts(self, curl: Node) -> tuple[Node, set[str]]:
        doc = self.doc
        args = S.args_of(doc, curl)
        flags: set[str] = set()
        urls = []
        skip_next = False
        for arg in args:
            text = doc.masked_text(arg)
            if skip_next:
                skip_next = False
                continue
            if text in UNSUPPORTED or any(text.startswith(u + "=") for u in UNSUPPORTED if u.startswith("--")):
                raise Unsupported(f"uses curl {text}, which sipid cannot do" +
                                  (" (sipid always verifies TLS)" if text in ("-k", "--insecure") else ""))
            if text in VALUE_OPTIONS:
                skip_next = True
                continue
            if text in ("--fail", "--fail-with-body"):
                flags.add("f")
            elif re.fullmatch(r"-[a-zA-Z]+", text):
                if "k" in text:
                    raise Unsupported(f"uses curl {text} (insecure TLS); sipid always verifies TLS")
                flags |= set(text[1:])
                if text[-1] in "omwHA":
                    skip_next = True
            elif text.startswith("--"):
                if text not in ("--silent", "--show-error", "--location", "-L"):
                    raise Unsupported(f"uses curl {text}")
            else:
                urls.append(arg)
        if len(urls) != 1:
            raise Unsupported("probes several URLs" if urls else "has no URL the tool can read")
        return urls[0], flags

    def _success(self, body: list[Node]) -> str | None:
        """The text of what the loop did on success, without a final ``break`` (None: only break)."""
        doc = self.doc
        if not body:
            raise Unsupported("does nothing on success")
        last = body[-1]
        ends_loop = doc.masked_text(last).strip() == "break" or (
            last.type == "command" and command_name(doc, last) in ("exit", "return"))
        if not ends_loop:
            raise Unsupported("does not leave the loop on success")
        for stmt in body:
            for node in doc.walk(stmt):
                if node.type == "command" and command_name(doc, node) in ("break", "continue") and node.id != last.id:
                    raise Unsupported("leaves the loop in several places")
        kept = body[:-1] if doc.masked_text(last).strip() == "break" else body
        if not kept:
            return None
        span = doc.full_lines(kept[0].start_byte, kept[-1].end_byte)
        if span is None:  # `if curl ...; then exit 0; fi` on one line
            return doc.slice(kept[0].start_byte, kept[-1].end_byte) + "\n"
        return textwrap.dedent(doc.slice(span[0], span[1]))

    def _used_after(self, counter: str) -> bool:
        for node in self.doc.find("variable_name"):
            if node.start_byte >= self.loop.end_byte and self.doc.masked_text(node) == counter:
                return True
        return False


def _duration(seconds: float) -> str:
    """A Go duration: whole seconds as ``60s``, fractions as milliseconds."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 50 else text[:47] + "..."
