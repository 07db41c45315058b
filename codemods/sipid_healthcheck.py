"""Codemod ``sipid-healthcheck``: bounded curl retry loops -> ``sipid wait-until-healthy``."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemods import _health_bounds as B
from codemods import _sipid as S
from codemods._health_probe import PROBERS, Probe, curl_blockers, read_probe
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext
from migrator.differences import DeclaredDifferences, shapes
from migrator.document import Document, command_name

#: probes of readiness loops sipid cannot take over (not an HTTP GET it can express)
OTHER_PROBES = {"nc", "ncat", "netcat", "pg_isready", "mysqladmin", "redis-cli"}
#: commands that read a response body a probe kept
BODY_READERS = {"grep", "egrep", "fgrep", "jq", "awk", "sed"}
#: what leaves a loop
LEAVERS = {"break", "exit", "return"}
#: statements that take no time worth counting between a deadline's start and its loop
QUICK_COMMANDS = {"echo", "printf", ":", "true"}


class Unsupported(Exception):
    """Why a curl loop is left as it is (the message goes into the finding)."""


@dataclass
class Plan:
    """What the tool read from one retry loop, and either its rewrite or what blocks it."""

    blockers: list[str] = field(default_factory=list)
    reading: str | None = None  # "30 tries, 2 s apart", "a 120 s deadline, 5 s apart"
    url: str | None = None
    timeout: float | None = None
    interval: float | None = None
    edits: list[Edit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def call(self, sipid: str) -> str | None:
        if self.url is None or self.timeout is None or self.interval is None:
            return None
        return (f"{sipid} wait-until-healthy --url {self.url} --timeout {_duration(self.timeout)} "
                f"--polling-frequency {_duration(self.interval)}")


class SipidHealthcheck(Codemod):
    """Replace bounded curl retry loops with ``sipid wait-until-healthy``.

    What it does: a loop that retries one curl probe (or ``wget --spider``, ``wget -O -``) until it
    succeeds and gives up at a bound the tool can read becomes ``sipid wait-until-healthy --url URL --timeout T --polling-frequency F``.
    Bounds: a counted ``for`` (``seq``, ``{1..N}``, C-style), a counter compared in the ``while``
    condition or in an ``if ...; then exit 1; fi`` in the body (also a loop on the probe itself,
    ``until curl ...``), a deadline (``date +%s`` arithmetic, ``$SECONDS`` reset right before the
    loop), a count in a variable or passed by the only callers of the function the loop is in.
    T is when the loop gave up (seconds slept, tries x interval), F its sleep. What the loop did on
    success and when it gave up stays, in an ``if`` around the call.

    Why it is bad: every release writes the loop a little differently (off-by-one bounds, loops
    that never give up, probes that ignore the status), and the guide recommends sipid for it.

    Fix safety: not exact, so every rewrite comes with a review finding: sipid counts only status
    200 after redirects (``curl -f`` accepted anything below 400; without ``-f`` any HTTP answer
    ended the wait, and the finding asks to check that the URL answers 200 when the job is ready),
    sends GET where ``-I`` sent HEAD (same status by HTTP's rules), verifies TLS certificates, and
    probes first after one interval (most loops probed at once). ``-k`` on a URL that is
    ``http://`` on every path did nothing and goes. wget counted any 2xx, and ``--spider`` sent HEAD:
    the finding says so. A probe sipid cannot express is left with a
    finding that names every blocker: ``-k`` on a URL that is or may be https, a header (``-H``), a
    per-try limit (``-m``), a body match (``grep``), a status other than 200, another method or
    credentials; so are loops without a readable bound or that do more between tries.
    Loops that are not retries of one probe (one request per file or item, periodic polling that
    never stops) are not health checks and get no finding.
    """

    id = "sipid-healthcheck"
    summary = "Replace bounded curl retry loops with sipid wait-until-healthy"
    rationale = (
        "The exemplar-release guide, 'Post-Start': health checks that wait for the job to become "
        "ready; sipid wait-until-healthy is the tool it points to."
    )
    triggers = (b"curl", b"nc ", b"ncat", b"netcat", b"wget", b"pg_isready", b"mysqladmin")
    differences: ClassVar[DeclaredDifferences] = DeclaredDifferences(
        "one sipid wait-until-healthy replaces the probe retry loop (its probes, sleeps and clock reads); "
        "its probe counts only a 200 after redirects (curl -f took any status below 400, wget any 2xx, curl without -f "
        "any HTTP answer), sends GET (curl -I and wget --spider sent HEAD), verifies TLS (a -k that stays "
        "blocks the rewrite), gives a try 30 s, and comes one interval after the start",
        may_vanish=(shapes("curl", "wget", "nc", "ncat", "netcat", "pg_isready", "mysqladmin", "sleep", "seq", "date"),),
        may_appear=(shapes("sipid", subcommand="wait-until-healthy"),),
        appear_limit=1,
    )

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        result = CodemodResult()
        loops = list(doc.find(*S.LOOPS))
        for loop in loops:
            names = {command_name(doc, c) for c in doc.commands(within=loop)}
            tools = sorted(names & set(PROBERS))
            if not tools:
                other = sorted(names & OTHER_PROBES)
                if other and "sleep" in names:
                    result.findings.append(self.finding(
                        doc, loop.start_byte,
                        f"left unchanged: retry loop probes with {other[0]}; sipid wait-until-healthy only "
                        "does an HTTP GET that must answer 200", "info",
                        "keep it, or probe an HTTP health endpoint with sipid wait-until-healthy"))
                continue
            if any(l.id != loop.id and l.start_byte <= loop.start_byte and loop.end_byte <= l.end_byte for l in loops):
                continue  # nested inside another loop: left to the outer loop's verdict
            reader = _Loop(job, doc, loop)
            if not reader.is_retry():
                continue  # one request per item, or polling that never stops: not a health check
            plan = reader.plan()
            budget = f" ({plan.reading})" if plan.reading else ""
            if plan.blockers:
                call = plan.call(S.sipid(job))
                suggestion = (f"rewrite it by hand if the probe can do without that: {call}; or keep it" if call else
                              "rewrite it by hand with sipid wait-until-healthy --url URL --timeout T "
                              "--polling-frequency F, or keep it")
                result.findings.append(self.finding(
                    doc, loop.start_byte, f"left unchanged: {'/'.join(tools)} retry loop{budget} " + "; ".join(plan.blockers),
                    suggestion=suggestion))
                continue
            result.edits += plan.edits
            notes = [f"{'/'.join(tools)} retry loop{budget} replaced by sipid wait-until-healthy with a "
                     f"{plan.timeout:g} s timeout", *plan.notes]
            result.findings.append(self.finding(doc, loop.start_byte, "; ".join(notes), "review",
                                                fix=plan.edits[0].fix))
        if result.edits:
            result.spec_changes += S.package_changes(job)
        return result


class _Loop:
    """One loop with a curl in it: is it a retry of one probe, when does it give up, its rewrite."""

    def __init__(self, job: JobContext, doc: Document, loop: Node):
        self.job, self.doc, self.loop = job, doc, loop
        self.body = loop.child_by_field_name("body")
        self.counter: str | None = None
        self.resolving: set[str] = set()
        self.assignments: dict[str, Node] = {}  # names whose value the bound was read through
        self.timed: set[str] = set()  # of those, the ones that hold a clock reading
        self.kept_reads: set[str] = set()  # names what the rewrite keeps (success, failure) reads
        self.count_from: str | None = None  # where a count passed to the function came from

    # -- is it a health check? --------------------------------------------------------------------
    def is_retry(self) -> bool:
        """A loop that waits (sleeps) and stops when its probe succeeds, retrying the same probe:
        not one request per file or item, not a poller that never stops."""
        doc, loop = self.doc, self.loop
        if self.body is None:
            return False
        names = {command_name(doc, c) for c in doc.commands(within=loop)}
        if "sleep" not in names:
            return False
        if loop.type == "for_statement":
            values = [doc.masked_text(v) for v in loop.children_by_field_name("value")]
            counted = values and (len(values) == 1 and re.fullmatch(r"\$\(seq\s[^)]*\)|\{\d+\.\.\d+\}", values[0])
                                  or all(re.fullmatch(r"\d+", v) for v in values))
            if not counted:
                return False  # `for f in *.tgz`, `for host in ...`: one request per item
        variable = self._loop_variable()
        if variable and any(self._reads(c, variable) for c in doc.commands(within=loop)
                            if command_name(doc, c) in PROBERS):
            return False  # the URL or the request changes with the loop variable
        if self._condition_has_curl():
            return True
        return any(command_name(doc, c) in LEAVERS for c in doc.commands(within=self.body))

    def _loop_variable(self) -> str | None:
        if self.loop.type == "for_statement":
            var = self.loop.child_by_field_name("variable")
            return self.doc.masked_text(var) if var is not None else None
        if self.loop.type == "c_style_for_statement":
            init = self.loop.child_by_field_name("initializer")
            m = re.match(r"\s*(\w+)", self.doc.masked_text(init)) if init is not None else None
            return m.group(1) if m else None
        return None

    def _reads(self, node: Node, name: str) -> bool:
        return any(n.type == "variable_name" and self.doc.masked_text(n) == name for n in self.doc.walk(node))

    def _condition_has_curl(self) -> bool:
        cond = self.loop.child_by_field_name("condition") if self.loop.type == "while_statement" else None
        return cond is not None and any(command_name(self.doc, c) in PROBERS for c in self.doc.commands(within=cond))

    # -- the plan -----------------------------------------------------------------------------------
    def plan(self) -> Plan:
        plan = Plan()
        try:
            self._read(plan)
        except (Unsupported, B.Unreadable) as why:
            plan.blockers.append(str(why))
        if any(not t.is_output for t in self.doc.tags_in(self.loop.start_byte, self.loop.end_byte)) \
                and not plan.blockers:
            # only when nothing else blocks: erb-to-config may turn those tags into a bash if in the
            # same run, and a finding should not give as the reason what the diff shows gone
            plan.blockers.append("has ERB control tags inside")
        return plan

    def _read(self, plan: Plan) -> None:
        """Read the loop part by part; each part either fills the plan or says what blocks it."""
        assert self.body is not None
        statements = S.block_statements(self.body)
        probe, probe_stmt, success = self._probe(plan, statements)
        steps, failure, tallies = self._tries(plan, statements, probe_stmt)
        run, deadline = self._give_up(plan, steps)
        self._dangling(success, failure, tallies)
        if plan.blockers:
            return
        if deadline is not None and abs(run.gives_up_after - deadline) > 1e-9:
            plan.notes.append(f"the loop checked its {deadline:g} s deadline only between tries, so it gave up "
                              f"after {run.gives_up_after:g} s; that is the timeout now")
        if probe.counted_by == "fail":
            plan.notes.append("only HTTP 200 counts now (curl -f accepted any status below 400)")
        elif probe.counted_by == "answer":
            plan.notes.append(f"only HTTP 200 counts now: the loop's curl had no -f, so any HTTP answer (a 404, "
                              f"a 503) ended the wait; check that {plan.url} answers 200 once the job is ready, "
                              f"or the wait now runs to its {run.gives_up_after:g} s timeout")
        elif probe.counted_by == "wget":
            plan.notes.append("only HTTP 200 counts now (wget accepted any 2xx); each try ends after 30 s and "
                              "wget's own retries of network errors inside a try are gone")
        elif not probe.follows_redirects:
            plan.notes.append("sipid follows redirects (the loop's curl did not)")
        if probe.head:
            how = "wget --spider" if probe.tool == "wget" else "curl -I"
            plan.notes.append(f"sipid sends GET where the loop's {how} sent HEAD (a server answers both with "
                              "the same status; the body now comes too)")
        plan.notes.append("TLS certificates are verified")
        if run.probes_at_once:
            plan.notes.append("the first probe comes one interval late (the loop probed at once)")
        self._edits(plan, success, failure)

    @property
    def _until(self) -> bool:
        return self.loop.type == "while_statement" and \
            self.doc.masked[self.loop.start_byte:self.loop.start_byte + 5] == b"until"

    @property
    def _condition(self) -> Node | None:
        return self.loop.child_by_field_name("condition") if self.loop.type == "while_statement" else None

    def _probe(self, plan: Plan, statements: list[Node]) -> tuple[Probe, Node | None, str | None]:
        """The probe (in the loop's condition, or in one ``if``/``&&`` of its body), the statement
        that holds it, and what the loop did when it succeeded (None: it only left the loop)."""
        doc = self.doc
        if self._condition_has_curl():
            assert self._condition is not None
            probe = read_probe(doc, self._condition, healthy_when_true=self._until)
            if any(self._has_curl(s) for s in statements):
                raise Unsupported("probes again inside the loop")
            probe_stmt, success = None, None
        else:
            probing = [s for s in statements if self._has_curl(s)]
            if len(probing) > 1:
                self._several_requests(plan)
            if not probing:
                raise Unsupported("probes outside the loop's body")
            probe_stmt = probing[0]
            if probe_stmt.type not in ("if_statement", "list"):
                raise Unsupported("probes outside an if")
            probe_cond, on_success = self._probe_parts(probe_stmt)
            probe = read_probe(doc, probe_cond)
            success = self._leaving_text(on_success, "on success")
        plan.blockers += probe.blockers
        if probe.url is not None:
            plan.url = doc.node_text(probe.url)
            self._check_scheme(doc.masked_text(probe.url), plan)
            self._insecure(probe, plan)
        return probe, probe_stmt, success

    def _insecure(self, probe: Probe, plan: Plan) -> None:
        """``-k`` does nothing on an ``http://`` URL: lift its blocker when every value the URL
        can have is one; otherwise name the assignment that makes it https."""
        blocker = probe.insecure_blocker
        if blocker is None or blocker not in plan.blockers or probe.url is None:
            return
        schemes = self._schemes(self.doc.masked_text(probe.url), set())
        if schemes is not None and all(scheme == "http" for scheme, _ in schemes):
            plan.blockers.remove(blocker)
            plan.notes.append(f"curl {probe.insecure} is gone: it did nothing, the URL is http:// on every path")
            return
        https = sorted({line for scheme, line in schemes or [] if scheme == "https" and line})
        if https:
            where = ", ".join(map(str, https))
            plan.blockers[plan.blockers.index(blocker)] = (
                f"{blocker[:-1]}; the URL is https:// on line{'s' if len(https) > 1 else ''} {where})")

    def _schemes(self, text: str, seen: set[str]) -> list[tuple[str, int | None]] | None:
        """Every scheme a URL text can have, with the line of the assignment that gives it (None:
        the script does not tell: a parameter, a name set nowhere here, in another way, or by a
        file sourced between its assignment and the loop)."""
        doc = self.doc
        text = text.strip().strip("\"'")
        for scheme in ("https", "http"):
            if text.startswith(f"{scheme}://"):
                return [(scheme, None)]
        m = re.match(r"\$\{?([A-Za-z_]\w*)\}?", text)
        if not m or m.group(1) in seen:
            return None
        name = m.group(1)
        assignments = [a for a in doc.find("variable_assignment")
                       if _assigned_name(doc, a) == name and not (self.loop.start_byte <= a.start_byte < self.loop.end_byte)]
        other_ways = any(doc.masked_text(v) == name for f in doc.find("for_statement")
                         if (v := f.child_by_field_name("variable")) is not None) or any(
            name in S.arg_texts(doc, c) for c in doc.commands("read"))
        if not assignments or other_ways:
            return None
        first = min(a.start_byte for a in assignments)
        if any(first < c.start_byte < self.loop.start_byte for c in doc.commands()
               if command_name(doc, c) in ("source", ".")):
            return None
        out: list[tuple[str, int | None]] = []
        for a in assignments:
            value = a.child_by_field_name("value")
            found = self._schemes(doc.masked_text(value), seen | {name}) if value is not None else None
            if found is None:
                return None
            out += [(scheme, line or doc.line_of(a.start_byte)) for scheme, line in found]
        return out

    def _several_requests(self, plan: Plan) -> None:
        """A try that runs several curl commands: name what their probes would need, then stop."""
        curls = [c for c in self.doc.commands(within=self.body) if command_name(self.doc, c) in PROBERS]
        requests = 0
        for curl in curls:
            found = curl_blockers(self.doc, curl)
            if any("not a plain GET" in b for b in found):
                requests += 1  # a request the loop makes besides probing: not a probe's blocker
                continue
            plan.blockers += [b for b in found if b not in plan.blockers]
            if self._keeps_response(curl):
                readers = sorted({command_name(self.doc, c) for c in self.doc.commands(within=self.body)}
                                 & BODY_READERS)
                blocker = f"matches the response body with {', '.join(readers)} (sipid only checks the status)"
                if readers and blocker not in plan.blockers:
                    plan.blockers.append(blocker)
        besides = f", {requests} of them not a GET" if requests else ""
        raise Unsupported(f"runs {len(curls)} curl commands per try{besides}, not one probe")

    def _keeps_response(self, curl: Node) -> bool:
        """The response body goes somewhere a later command can read it: a file, a pipe, a
        ``$(...)``."""
        child, node = curl, curl.parent
        while node is not None and self.body is not None and node.id != self.body.id:
            if node.type == "command_substitution":
                return True
            if node.type == "pipeline" and node.named_children and node.named_children[-1].id != child.id:
                return True  # curl feeds the next command of the pipeline
            if node.type == "redirected_statement":
                targets = [self.doc.masked_text(r).strip() for r in node.children_by_field_name("redirect")]
                if any(re.fullmatch(r"1?>{1,2}\s*(?!/dev/null\b)(?!&)\S.*", t) for t in targets):
                    return True
            child, node = node, node.parent
        return False

    def _tries(self, plan: Plan, statements: list[Node], probe_stmt: Node | None
               ) -> tuple[list[B.Step], str | None, set[str]]:
        """One try as steps (probe, sleep, counter, check), what the loop did when it gave up,
        and the variables that only counted tries for messages."""
        doc, loop = self.doc, self.loop
        sleeps = [s for s in statements if s.type == "command" and command_name(doc, s) == "sleep"]
        if len(sleeps) != 1:
            raise Unsupported("does not sleep a fixed interval once per try")
        updates = {s.id: B.counter_update(doc.masked_text(s)) for s in statements}
        counters = {u[0] for u in updates.values() if u}
        if len(counters) > 1:
            raise Unsupported(f"counts with several variables ({', '.join(sorted(counters))})")
        counted = loop.type in ("for_statement", "c_style_for_statement")
        tallies = counters if counted else set()  # a for loop's own counter bounds it; these only count for messages
        self.counter = None if counted else next(iter(counters), None)
        interval = self._interval(sleeps[0])
        plan.interval = interval

        steps = [B.Step(B.PROBE)] if probe_stmt is None else []
        failure: str | None = None
        for s in statements:
            update = updates[s.id]
            if probe_stmt is not None and s.id == probe_stmt.id:
                steps.append(B.Step(B.PROBE))
            elif s.id == sleeps[0].id:
                steps.append(B.Step(B.SLEEP, seconds=interval))
            elif update:
                if not counted:
                    steps.append(B.Step(B.UPDATE, delta=update[1]))
            elif self._is_message(s):
                continue
            elif (check := self._give_up_check(s)) is not None:
                comparison, on_failure = check
                steps.append(B.Step(B.CHECK, check=comparison))
                failure = self._leaving_text(on_failure, "when it gives up")
            else:
                raise Unsupported(f"does more between tries ('{_short(doc.masked_text(s))}')")
        if counted:
            steps.append(B.Step(B.UPDATE, delta=1))
        return steps, failure, tallies

    def _give_up(self, plan: Plan, steps: list[B.Step]) -> tuple[B.Run, float | None]:
        """When the loop gives up if no probe succeeds, and the deadline it checked (if any)."""
        start, while_holds = self._loop_bound()
        checks = [st.check for st in steps if st.check is not None]
        if while_holds is None and not checks:
            raise Unsupported("has no bound the tool can read (it retries until the probe succeeds)")
        if while_holds is not None and checks:
            raise Unsupported("gives up in more than one way")
        if len(checks) > 1:
            raise Unsupported("checks more than one bound")
        comparisons = checks + ([while_holds] if while_holds else [])
        if not all(c.readable for c in comparisons):
            raise Unsupported("has no bound the tool can read (its deadline counts from before the loop)")
        run = B.simulate(steps, start, while_holds)
        if run is None:
            raise Unsupported(f"has no bound the tool can read (it does not give up within {B.MAX_TRIES} tries)")
        if run.gives_up_after <= 0:
            raise Unsupported("never sleeps before it gives up")
        interval = plan.interval or 0
        deadline = next((_threshold(c) for c in comparisons if c.uses_time), None)
        plan.reading = (f"a {deadline:g} s deadline, {interval:g} s apart" if deadline is not None
                        else f"{run.probes} tries, {interval:g} s apart")
        if self.count_from:
            plan.reading += f"; the count comes from {self.count_from}"
        plan.timeout = run.gives_up_after
        return run, deadline

    def _dangling(self, success: str | None, failure: str | None, tallies: set[str]) -> None:
        """State that changed with the tries must not be read later: not after the loop, not in
        what the loop did as it left (that text stays, the state goes)."""
        state = [n for n in (self.counter, self._loop_variable(), *sorted(tallies), *sorted(self.timed))
                 if n and n != "SECONDS"]
        for name in state:
            if self._used_after(name):
                raise Unsupported(f"uses ${name} after the loop")
        self.kept_reads = set(re.findall(r"\$\{?(\w+)", (success or "") + (failure or "")))
        for name in state:
            if name in self.kept_reads:
                raise Unsupported(f"reads ${name} in what it does after the tries")

    # -- parts of the loop ------------------------------------------------------------------------
    def _has_curl(self, node: Node) -> bool:
        return any(command_name(self.doc, c) in PROBERS for c in self.doc.commands(within=node))

    def _is_message(self, stmt: Node) -> bool:
        cmd = stmt.child_by_field_name("body") if stmt.type == "redirected_statement" else stmt
        return cmd is not None and cmd.type == "command" and command_name(self.doc, cmd) in ("echo", "printf")

    def _check_scheme(self, url: str, plan: Plan) -> None:
        text = url.strip("\"'")
        if not text.startswith(("$", "_", "http://", "https://")):
            plan.blockers.append("probes a URL without http:// or https:// (curl assumed http://; sipid needs it written)")

    def _interval(self, sleep: Node) -> float:
        args = S.arg_texts(self.doc, sleep)
        if len(args) != 1:
            raise Unsupported("sleeps a computed interval")
        text = args[0].strip("\"'")
        if re.fullmatch(r"\d+(\.\d+)?s?", text):
            value = float(text.rstrip("s"))
        else:
            resolved = B.expression(text, self._resolve, at_start=True)
            if resolved is None or set(resolved) != {""}:
                raise Unsupported("sleeps a computed interval")
            value = resolved[""]
        if value <= 0:
            raise Unsupported("does not sleep between tries")
        return value

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

    def _give_up_check(self, stmt: Node) -> tuple[B.Comparison, list[Node]] | None:
        """``if [ $count -ge 30 ]; then ...; exit 1; fi`` (or a deadline): the test and its body."""
        if stmt.type != "if_statement" or any(c.type in ("elif_clause", "else_clause") for c in stmt.named_children):
            return None
        cond = stmt.child_by_field_name("condition")
        if cond is None:
            return None
        comparison = B.comparison(self.doc.masked_text(cond), self._resolve)
        if comparison is None:
            return None
        diff = B.add(comparison.left, comparison.right, -1.0)
        if not diff.get("c") and not diff.get("t"):
            return None
        return comparison, S.block_statements(stmt)

    def _leaving_text(self, body: list[Node], when: str) -> str | None:
        """The text of what the loop did as it left (None: only ``break``); it must end the loop."""
        doc = self.doc
        if not body:
            raise Unsupported(f"does nothing {when}")
        last = body[-1]
        ends_loop = doc.masked_text(last).strip() == "break" or (
            last.type == "command" and command_name(doc, last) in ("exit", "return"))
        if not ends_loop:
            raise Unsupported(f"does not leave the loop {when}")
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

    # -- bounds -------------------------------------------------------------------------------------
    def _loop_bound(self) -> tuple[float, B.Comparison | None]:
        """The counter's start and the condition that keeps the loop going (None: the loop
        condition is the probe or ``true``, a check in the body ends it)."""
        doc, loop, cond = self.doc, self.loop, self._condition
        if loop.type == "for_statement":
            count = S.iterations(doc, loop)
            if count is None or count <= 0:
                raise Unsupported("has no bound the tool can read")
            return 0, B.Comparison({"": 0.0, "c": 1.0}, "<", B.const(count))
        if loop.type == "c_style_for_statement":
            return self._c_style_bound()
        start = self._counter_start()
        if cond is None or self._condition_has_curl():
            return start, None
        text = doc.masked_text(cond).strip().rstrip(";").strip()
        if text in ("true", ":", "[ 1 ]"):
            return start, None
        comparison = B.comparison(text, self._resolve)
        if comparison is None:
            raise Unsupported("has no bound the tool can read (an endless loop, or a deadline in another shape)")
        if self._until:
            comparison = B.Comparison(comparison.left, _NEGATED[comparison.op], comparison.right)
        return start, comparison

    def _c_style_bound(self) -> tuple[float, B.Comparison]:
        doc, loop = self.doc, self.loop
        init = loop.child_by_field_name("initializer")
        cond = loop.child_by_field_name("condition")
        update = loop.child_by_field_name("update")
        m = re.fullmatch(r"\s*(\w+)\s*=\s*(\d+)\s*", doc.masked_text(init)) if init is not None else None
        step = B.counter_update(f"(({doc.masked_text(update)}))") if update is not None else None
        if not m or cond is None or not step or step != (m.group(1), 1):
            raise Unsupported("has no bound the tool can read")
        self.counter = m.group(1)
        comparison = B.comparison(f"(( {doc.masked_text(cond)} ))", self._resolve)
        if comparison is None:
            raise Unsupported("has no bound the tool can read")
        return float(m.group(2)), comparison

    def _counter_start(self) -> float:
        if self.counter is None:
            return 0
        stmt = self._assignment(self.counter)
        value = B.expression(_value(self.doc, stmt), self._resolve, at_start=True) if stmt is not None else None
        if value is None or set(value) != {""}:
            raise Unsupported(f"starts its counter ${self.counter} from a value the tool cannot read")
        self.assignments.setdefault(self.counter, stmt)  # type: ignore[arg-type]
        return value[""]

    def _resolve(self, name: str) -> B.Lin | None:
        """The value of ``name`` as the loop sees it: the counter, a literal set once before the
        loop, a deadline set right before it, a count the function's callers pass."""
        if name == self.counter:
            return {"": 0.0, "c": 1.0}
        if name in self.resolving:
            return None
        self.resolving.add(name)
        try:
            if re.fullmatch(r"\d+", name):
                return self._argument(int(name), None)
            stmt = self._assignment(name)
            if stmt is None:
                return None
            text = _value(self.doc, stmt)
            if name == "SECONDS":
                if text != "0" or not self._right_before(stmt):
                    return None
                self.assignments[name] = stmt
                return B.const(0)
            default = re.fullmatch(r"\"?\$\{(\d+):?-(\d+)\}\"?", text)
            value = (self._argument(int(default.group(1)), int(default.group(2))) if default
                     else B.expression(text, self._resolve, at_start=True))
            if value is None:
                return None
            if value.get("e0") or value.get("s0"):
                if not self._right_before(stmt):
                    return None  # a deadline set earlier, with other work before the loop
                self.timed.add(name)
            self.assignments[name] = stmt
            return value
        finally:
            self.resolving.discard(name)

    def _assignment(self, name: str) -> Node | None:
        """The one assignment of ``name`` outside the loop, found in a block that encloses the loop
        and before it (plain, ``local`` or ``export``)."""
        doc, loop = self.doc, self.loop
        outside = [a for a in doc.find("variable_assignment")
                   if _assigned_name(doc, a) == name and not (loop.start_byte <= a.start_byte < loop.end_byte)]
        if len(outside) != 1:
            return None
        node = loop
        while node.parent is not None:
            parent = node.parent
            for stmt in reversed([s for s in S.block_statements(parent) if s.end_byte <= node.start_byte]):
                if stmt.id == outside[0].id or (stmt.type == "declaration_command" and outside[0].parent is not None
                                                  and outside[0].parent.id == stmt.id):
                    return stmt
            node = parent
        return None

    def _right_before(self, stmt: Node) -> bool:
        """Only quick statements (assignments, messages) run between ``stmt`` and the loop."""
        parent = self.loop.parent
        if parent is None or stmt.parent is None or stmt.parent.id != parent.id:
            return False
        between = [s for s in S.block_statements(parent) if stmt.end_byte <= s.start_byte and s.end_byte <= self.loop.start_byte]
        for s in between:
            if s.type in ("variable_assignment", "declaration_command"):
                calls = [command_name(self.doc, c) for c in self.doc.commands(within=s)]
                if all(c == "date" for c in calls):
                    continue
                return False
            if not (self._is_message(s) or (s.type == "command" and command_name(self.doc, s) in QUICK_COMMANDS)):
                return False
        return True

    def _argument(self, position: int, default: int | None) -> B.Lin | None:
        """A count the function around the loop gets as ``$N``: the same literal from every call."""
        doc = self.doc
        function = self.loop.parent
        while function is not None and function.type != "function_definition":
            function = function.parent
        if function is None:
            return None
        fname_node = function.child_by_field_name("name")
        fname = doc.masked_text(fname_node) if fname_node is not None else ""
        calls = [c for c in doc.commands(fname)
                 if not (function.start_byte <= c.start_byte < function.end_byte)]
        if not calls:
            raise B.Unreadable(f"takes its count from the callers of {fname}, and this script has none")
        values = []
        for call in calls:
            args = S.arg_texts(doc, call)
            text = args[position - 1].strip("\"'") if len(args) >= position else (str(default) if default is not None else "")
            if not re.fullmatch(r"\d+", text):
                raise B.Unreadable(f"takes its count from the callers of {fname}, and one passes '{_short(text)}'")
            values.append(text)
        if len(set(values)) > 1:
            raise B.Unreadable(f"takes its count from the callers of {fname}, who pass different counts "
                               f"({', '.join(sorted(set(values), key=int))})")
        lines = sorted(doc.line_of(c.start_byte) for c in calls)
        self.count_from = (f"the call on line {lines[0]}" if len(lines) == 1
                           else f"the calls on lines {', '.join(map(str, lines))}")
        return B.const(int(values[0]))

    def _used_after(self, name: str) -> bool:
        for node in self.doc.find("variable_name"):
            if node.start_byte >= self.loop.end_byte and self.doc.masked_text(node) == name \
                    and node.parent is not None and node.parent.type not in ("variable_assignment", "for_statement"):
                return True  # a read (not a later assignment, not another loop's own variable)
        return False

    def _read_outside(self, name: str, stmt: Node) -> bool:
        """Is ``name`` read anywhere but in the loop and its own assignment?"""
        for node in self.doc.find("variable_name"):
            inside = (self.loop.start_byte <= node.start_byte < self.loop.end_byte
                      or stmt.start_byte <= node.start_byte < stmt.end_byte)
            if not inside and self.doc.masked_text(node) == name:
                return True
        return False

    # -- the rewrite --------------------------------------------------------------------------------
    def _edits(self, plan: Plan, success: str | None, failure: str | None) -> None:
        doc, loop = self.doc, self.loop
        call = plan.call(S.sipid(self.job))
        assert call is not None
        span = doc.full_lines(loop.start_byte, loop.end_byte)
        if span is None:
            plan.blockers.append("shares its lines with other code")
            return
        indent = S.indent_of(doc, loop)
        unit = "\t" if indent.startswith("\t") else "  "

        def block(text: str) -> str:
            return textwrap.indent(text, indent + unit)

        if success is not None and failure is not None:
            text = f"{indent}if {call}; then\n{block(success)}{indent}else\n{block(failure)}{indent}fi\n"
        elif success is not None:
            text = f"{indent}if {call}; then\n{block(success)}{indent}fi\n"
        elif failure is not None:
            text = f"{indent}if ! {call}; then\n{block(failure)}{indent}fi\n"
        else:
            # the loop went on to the next statement either way, with status 0
            text = f"{indent}{call} || true\n"
        fix = f"healthcheck@{loop.start_byte}"
        plan.edits.append(Edit(span[0], span[1], text, fix))
        gone: set[int] = set()
        for name, stmt in self.assignments.items():
            if not self._removable(name, stmt):
                continue
            stmt_span = doc.full_lines(stmt.start_byte, stmt.end_byte)
            if stmt_span is not None and not doc.tags_in(*stmt_span):
                plan.edits.append(S.statement_removal(doc, stmt, stmt_span, fix, gone))

    def _removable(self, name: str, stmt: Node) -> bool:
        """Set only for the loop: a plain or ``local`` assignment nothing else reads (never an
        ``export``: later commands would see the difference; never a global of a helper that
        other scripts source: they may read it)."""
        if name in self.kept_reads or self._read_outside(name, stmt):
            return False
        if stmt.type == "variable_assignment":
            return not S.job_helper_source(self.job, self.doc.path)
        if stmt.type == "declaration_command":
            keyword = self.doc.masked_text(stmt).split(None, 1)[0]
            assigned = [c for c in stmt.named_children if c.type == "variable_assignment"]
            return keyword == "local" and len(assigned) == 1 and len(stmt.named_children) == 1
        return False


_NEGATED = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def _assigned_name(doc: Document, assignment: Node) -> str | None:
    name = assignment.child_by_field_name("name")
    return doc.masked_text(name) if name is not None else None


def _value(doc: Document, stmt: Node) -> str:
    """The value text of a plain assignment or of a declaration's one assignment."""
    assignment = stmt if stmt.type == "variable_assignment" else next(
        (c for c in stmt.named_children if c.type == "variable_assignment"), None)
    value = assignment.child_by_field_name("value") if assignment is not None else None
    return doc.masked_text(value) if value is not None else ""


def _threshold(comparison: B.Comparison) -> float:
    """The seconds at which a time comparison flips (``t < 90`` -> 90)."""
    diff = B.add(comparison.left, comparison.right, -1.0)
    return -diff.get("", 0.0) / diff["t"]


def _duration(seconds: float) -> str:
    """A Go duration: whole seconds as ``60s``, fractions as milliseconds."""
    if float(seconds).is_integer():
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 50 else text[:47] + "..."
