"""Codemod ``sipid-pidfiles``: hand-written pidfile claiming and killing -> ``sipid claim``/``sipid kill``."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

from tree_sitter import Node

from codemods import _sipid as S
from codemods import _sipid_dead as D
from codemods import _sipid_pairs as P
from codemods import _sipid_start as F
from codemods._log_shapes import helper_constants
from migrator import helpers
from migrator.codemod import (
    Codemod,
    CodemodResult,
    Edit,
    Finding,
    JobContext,
    Requirement,
    SpecChange,
)
from migrator.differences import DeclaredDifferences, shapes
from migrator.document import Document, command_name
from migrator.edits import OffsetMap
from migrator.edits import apply as apply_edits
from migrator.shell import errexit_on_at, redirect_fd, redirect_operator

#: the longest grace sipid's fixed 20 s may replace: a stop that waited longer chose to
MAX_GRACE = 30
#: appended to ``sipid kill`` where ``set -e`` may be on: its exit 1 (a pidfile with no pid sipid
#: can read, so nothing to stop) is not the stop's failure; any other status still is
NOTHING_RAN = " || [ $? -eq 1 ]"
#: what that exit 1 means, said on the line that tests it (a reviewer stops there and asks)
NOTHING_RAN_NOTE = "no pid in the pidfile, nothing to stop"
NOTHING_RAN_COMMENT = f"  # exit 1: {NOTHING_RAN_NOTE}"
#: the stop to write by hand (what a rewritten stop becomes)
_HAND_STOP = ('if [ -s "$PIDFILE" ]; then sipid kill --pid-file "$PIDFILE" --show-stacks || [ $? -eq 1 ]; fi; '
              f'rm -f "$PIDFILE"  # sipid kill\'s exit 1: {NOTHING_RAN_NOTE}')
_KEEP_GRACE = ("keep this stop as it is, or, if the grace was not chosen on purpose, shorten it to at most "
               f"{MAX_GRACE} s with SIGKILL at the end and re-run")
_KEEP_SIGNAL = ("keep this stop as it is; if the process stops just as cleanly on SIGTERM, replace it by hand with: "
                + _HAND_STOP)

SIGNALS = {
    "": "TERM", "15": "TERM", "TERM": "TERM", "SIGTERM": "TERM",
    "9": "KILL", "KILL": "KILL", "SIGKILL": "KILL",
    "3": "QUIT", "QUIT": "QUIT", "SIGQUIT": "QUIT",
    "0": "PROBE",
}
#: commands a TERM-poll-KILL loop may contain besides kill (anything else: not a stop loop)
POLL_COMMANDS = {"sleep", "echo", "printf", "break", "continue", "true", ":", "[", "[[", "test", "let", "ps",
                 "cat", "head", "seq"}
#: commands that may run between a start guard and the pid write (set-up a refused start may do:
#: folders, ownership, messages, and settings of the script's own shell; ``exec`` only without a
#: command, as a redirection of the script's output)
SETUP_COMMANDS = {"mkdir", "chown", "chmod", "echo", "printf", "export", "local", "declare", "true", ":", "cd",
                  "ulimit", "umask", "shopt", "set", "exec"}
#: commands a hand-written start guard may contain
GUARD_COMMANDS = {"[", "[[", "test", "kill", "cat", "head", "echo", "printf", "exit", "rm", "ps", "grep",
                  "true", ":"}


class SipidPidfiles(Codemod):
    """Replace hand-written pidfile claiming and process killing with sipid.

    What it does: on the start side, ``pid_guard $PIDFILE name`` and a pid write (``echo $$ >
    $PIDFILE`` in any spelling: ``"${$}"``, ``printf '%d' $$``, a variable set to ``$$`` just before;
    any quoting, variable name or literal path), and hand-written guards (``if [ -f $PIDFILE ] &&
    kill -0 $(cat $PIDFILE); then ... exit 1; fi``) become one ``sipid claim --pid "$$" --pid-file
    "$PIDFILE"`` where the pid was written (after the run folder is made, before ``exec``). A
    two-stage start is one claim too: the guard of ``x_ctl`` goes when the ``x_as_vcap`` it execs
    claims the same pidfile. ``cmd & echo $! > $PIDFILE`` at the very end of a control script's
    start becomes the guide's start: claim ``$$``, then ``exec cmd``. On the stop side,
    ``kill_and_wait $PIDFILE``, ``kill [-9|-TERM] $(cat $PIDFILE)`` (backticks, ``$(<file)``, a pid
    read into a variable), TERM-poll-KILL loops and a following ``rm -f $PIDFILE`` become ``if [ -s
    "$PIDFILE" ]; then sipid kill --pid-file "$PIDFILE" --show-stacks; fi; rm -f "$PIDFILE"``; where
    ``set -e`` may be on (the script, its shebang, a helper it sources), the kill ends in ``|| [ $? -eq 1
    ]`` (with a comment saying so on that line): sipid's exit 1 means the pidfile holds no pid to stop,
    which must not end the stop before the ``rm``.
    Assignments only the replaced lines read (``timeout=10``, ``local pid``, ``PIDNUM=$$``) go. The
    job's spec gains the ``sipid`` package; a helper ``source`` line goes when nothing of the helper
    is used any more, and a helper the job ships as its own template goes with its spec entry when
    no script sources it.

    Why it is bad: hand-written pid handling races (check-then-write without a lock), leaves stale
    pidfiles, waits forever or kills without giving the process a chance to stop, and each release
    carries its own slightly different copy.

    Fix safety: the rewrite keeps what start and stop do for the operator: start still refuses
    while the process runs (with ``|| exit 1`` unless ``set -e`` is on), stop still succeeds when
    nothing runs and leaves no pidfile. A stop whose author chose its semantics is left alone with a
    finding: a grace over 30 s, an unbounded or unreadable wait, a disabled (or unreadable) SIGKILL
    flag, a stop by SIGQUIT or SIGINT. Every change an operator would notice is a review finding:
    the wait before SIGKILL becomes sipid's fixed 20 s, a SIGQUIT now comes 100 ms before the
    SIGKILL, a SIGKILL-only stop now sends SIGTERM first, a start that did not refuse a second copy
    now does, a background start now execs, a helper that ended the script with ``exit`` now
    returns. A background start with code after it is only claimed when a guard before it keeps
    start refusing; pidfiles with several pids, ``wait_pid``/``wait_pidfile``, pidfiles the process
    writes itself and anything not understood are left with a finding. Scripts using
    ``start-stop-daemon`` are left alone, with a note that nothing needs doing.
    """

    id = "sipid-pidfiles"
    summary = "Replace pid_guard/echo $$ and kill/kill_and_wait pidfile handling with sipid claim/kill"
    rationale = (
        "The exemplar-release guide, 'Monit Start' (write the pidfile with sipid claim) and "
        "'Monit Stop' (use sipid kill instead of writing TERM/KILL logic in bash)."
    )
    triggers = (b"$$", b"$!", b"${$}", b"${!}", b"kill", b"pid_guard", b"wait_pid", b"start-stop-daemon")
    introduces = frozenset({"rm"})  # a rewritten stop removes the pidfile sipid kill may leave
    differences: ClassVar[DeclaredDifferences] = DeclaredDifferences(
        "sipid claim/kill calls (and a removal of the stale pidfile) replace pidfile writes, reads, kills and "
        "removals, the TERM/poll/KILL loops "
        "and the pid_guard/kill_and_wait helpers; set-up of the run folder may move before the claim; where "
        "kill_and_wait ended the script, or the pid write failed on a missing folder (sipid creates it), what "
        "follows now runs; a stop that failed when nothing ran (kill with no pid) now succeeds",
        may_vanish=(shapes("kill", "sleep", "seq", "ps", "pgrep", "pidof"), shapes("cat", "rm", "head", names_pidfile=True)),
        may_appear=(shapes("sipid", subcommand="claim"), shapes("sipid", subcommand="kill"),
                    shapes("rm", names_pidfile=True)),
        may_move=(shapes("mkdir", "chown", "chmod"),),
        vanishing_functions=frozenset({"pid_guard", "kill_and_wait", "wait_pid", "wait_pid_death", "pid_is_running"}),
        ended_the_script=frozenset({"kill_and_wait"}),
        claim_creates_folder=True,
        failure_may_go=True,
    )

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        if S.job_helper_source(job, doc.path):
            return CodemodResult()
        daemon = S.start_stop_daemon_at(doc)
        if daemon is not None:
            return CodemodResult(findings=[self.finding(
                doc, daemon, "left unchanged: this script runs its process with start-stop-daemon, which keeps the "
                "pidfile itself (--start refuses a second copy, --stop signals the pid in it on its own --retry "
                "schedule); sipid would add nothing, so none of its pidfile lines are rewritten", "info",
                "nothing to do: start-stop-daemon is what the exemplar-release guide recommends today; for a new "
                "job, consider BPM")])
        return _settled(self, job, doc)

    def finish_job(self, job: JobContext, documents: Mapping[str, Document]) -> CodemodResult:
        return _remove_unsourced_helpers(self, job, documents)


def _settled(cm: SipidPidfiles, job: JobContext, doc: Document, rounds: int = 3) -> CodemodResult:
    """Run passes until nothing more changes, so one transform is idempotent.

    A removal (a helper ``source`` line, a guard) can join two halves of a stop sequence that the
    first pass saw apart; the next pass then finds it. When that happens, the passes' combined
    change is returned as one edit over the span that differs, and later findings are mapped back
    to lines of ``doc``.
    """
    first = _pass(cm, job, doc)
    current, result, maps = doc, first, []
    for _ in range(rounds):
        if not result.edits:
            break
        source = apply_edits(current.source, result.edits)
        maps.append(OffsetMap.from_edits(result.edits))
        current = Document.parse(doc.path, source)
        result = _pass(cm, job, current)
        if result.edits:
            for f in result.findings:
                offset = current._line_starts[min(f.line or 1, len(current._line_starts)) - 1]
                for m in reversed(maps):
                    offset = m.to_original(offset)
                line = doc.line_of(offset) if f.line is not None else None
                first.findings.append(Finding(f.codemod, f.path, line, f.message, f.severity, f.suggestion, f.fix))
    seen: set[tuple[int | None, str]] = set()
    first.findings = [f for f in first.findings if (f.line, f.message) not in seen and not seen.add((f.line, f.message))]
    if current is doc or current.source == apply_edits(doc.source, first.edits):
        return first
    final = current.source if not result.edits else apply_edits(current.source, result.edits)
    first.edits = [_one_edit(doc.source, final)]
    # the passes' edits are one now: what described any of them stands or falls with it
    first.findings = [replace(f, fix=first.edits[0].fix) if f.fix else f for f in first.findings]
    first.requires = [*first.requires, *(q for q in result.requires if q not in first.requires)]
    first.spec_changes = first.spec_changes or S.package_changes(job)
    return first


def _pass(cm: SipidPidfiles, job: JobContext, doc: Document) -> CodemodResult:
    """One pass over ``doc``, run once per job and text: the pass that finds a settled script
    settled is asked again by the engine's second pass (a copy each time: callers change it)."""
    done = helpers.per_job(job, ("sipid-pidfiles pass", doc.path, doc.source), lambda: _Pass(cm, job, doc).run())
    return CodemodResult(list(done.edits), list(done.new_files), list(done.removed_files), list(done.spec_changes),
                         list(done.findings), list(done.requires))


def _partner_claims(cm: SipidPidfiles, job: JobContext, other: Document) -> list[P.Claim]:
    partner = _Pass(cm, job, other, pairing=False)
    partner.run()
    return partner.claims


def _one_edit(before: bytes, after: bytes) -> Edit:
    """One edit turning ``before`` into ``after``: the span between their common ends."""
    start = 0
    while start < min(len(before), len(after)) and before[start] == after[start]:
        start += 1
    end_b, end_a = len(before), len(after)
    while end_b > start and end_a > start and before[end_b - 1] == after[end_a - 1]:
        end_b, end_a = end_b - 1, end_a - 1
    return Edit(start, end_b, after[start:end_a].decode("utf-8"), "sipid-settle")


@dataclass
class Kill:
    """What a stop run does: the signals it sends, whether it waits, how long, and with what."""

    signals: set[str] = field(default_factory=set)
    probes: bool = False
    loops: int = 0
    wait: float | None = 0.0  # seconds waited before KILL (None: unknown)
    unbounded: bool = False


class _Pass:
    """One transform of one document."""

    def __init__(self, cm: SipidPidfiles, job: JobContext, doc: Document, pairing: bool = True):
        self.cm, self.job, self.doc = cm, job, doc
        self.pairing = pairing  # look across the job's scripts for the other half of a two-stage start
        self.result = CodemodResult()
        self.replaced: list[tuple[int, int]] = []
        self.rewritten: set[str] = set()  # helper functions whose calls went away
        self.gone: set[int] = set()  # statements removed outright (to keep bodies non-empty)
        self.sipid = S.sipid(job)
        self.multi = self._multi_pid_files()
        self.constants = helper_constants(doc)  # NAME=literal set once: a grace read through a variable
        self.pid_vars: dict[int, tuple[str, Node]] = {}  # pid write -> (variable it printed, its assignment)
        self.claims: list[P.Claim] = []  # the claims this pass writes (what a two-stage start pairs with)
        self.requires: list[tuple[Requirement, str]] = []  # what the pass's rewrites rely on, by fix label

    # -- output ---------------------------------------------------------------------------------
    def finding(self, node: Node | int, message: str, severity: str = "review", suggestion: str | None = None,
                fix: str = "") -> None:
        """``fix``: the label of the edits the finding describes (it goes when they are not made)."""
        offset = node if isinstance(node, int) else node.start_byte
        self.result.findings.append(self.cm.finding(self.doc, offset, message, severity, suggestion,  # type: ignore[arg-type]
                                                    fix=fix))

    def edit(self, start: int, end: int, text: str, fix: str) -> None:
        self.result.edits.append(Edit(start, end, text, fix))
        self.replaced.append((start, end))

    def remove(self, node: Node, fix: str) -> bool:
        span = S.statement_span(self.doc, node)
        if span is None or any(not t.is_output for t in self.doc.tags_in(*span)):
            return False
        e = S.statement_removal(self.doc, node, span, fix, self.gone)
        self.result.edits.append(e)
        self.replaced.append((e.start, e.end))
        return True

    def taken(self, node: Node) -> bool:
        return any(s <= node.start_byte < e or s < node.end_byte <= e for s, e in self.replaced)

    def skip(self, node: Node) -> bool:
        """Inside a legacy helper's own definition (a helper inlined into the script)."""
        return S.inside_function(node, self.doc, S.PID_FUNCTIONS)

    # -- entry ----------------------------------------------------------------------------------
    def run(self) -> CodemodResult:
        self._start_side()
        self._kill_and_wait_calls()
        self._stop_runs()
        self._leftover_calls()
        self._keep_suppressed()
        if self.result.edits:
            S.drop_unused_sources(self.cm, self.job, self.doc, self.replaced, self.rewritten, self.result, self.gone)
            self._dead_assignments()
            self.result.spec_changes += S.package_changes(self.job)
        return self.result

    def _keep_suppressed(self) -> None:
        """Take back every rewrite that touches a line with a suppression comment, before what
        depends on the rewrites is worked out: a helper's ``source`` line stays while a suppressed
        stop still calls it, a guard stays while its claim is suppressed, a grace variable stays
        while a suppressed kill_and_wait reads it (the engine would only drop the edits)."""
        lines = S.suppressed_lines(self.doc, self.cm.id)
        if not lines or not self.result.edits:
            return
        touched: dict[str, set[int]] = {}
        for e in self.result.edits:
            span = set(range(self.doc.line_of(e.start), self.doc.line_of(max(e.start, e.end - 1)) + 1))
            if span & lines:
                touched.setdefault(e.fix, set()).update(span & lines)
        if not touched:
            return
        self.result.edits = [e for e in self.result.edits if e.fix not in touched]
        self.result.findings = [f for f in self.result.findings if f.fix not in touched]
        self.result.requires = [q for q, fix in self.requires if fix not in touched]
        self.replaced = [(e.start, e.end) for e in self.result.edits]
        for ln in sorted(set().union(*touched.values())):
            self.result.findings.append(self.cm.finding(self.doc, self.doc.line_start_of(ln),
                                                        "rewrite suppressed by comment", "info"))

    def _dead_assignments(self) -> None:
        """Remove assignments only the replaced lines read (``timeout=10``, ``local pid``,
        ``PIDNUM=$$``), tied to the rewrite that read them: suppress it and they stay."""
        labels: dict[str, set[str]] = {}
        for e in self.result.edits:
            if e.fix.startswith(("claim@", "kill@", "pair@")):
                for name in D.read_in(self.doc, [(e.start, e.end)]):
                    labels.setdefault(name, set()).add(e.fix)
        names = {n for n, found in labels.items() if len(found) == 1}
        if not names:
            return
        new = Document.parse(self.doc.path, apply_edits(self.doc.source, self.result.edits))
        others = {k: v for k, v in self.job.files.items() if k != self.doc.path}
        back = OffsetMap.from_edits(self.result.edits)
        for stmt, name in D.dead_statements(new, names, self.sipid, others, D.sourced_texts(self.job, new)):
            start = back.to_original(stmt.start_byte)
            original = next((n for n in self.doc.find(stmt.type) if n.start_byte == start), None)
            if original is None or self.taken(original) or self.doc.node_text(original) != new.node_text(stmt):
                continue
            (fix,) = labels[name]
            if self.remove(original, fix):
                self.finding(original, f"removed '{_short(self.doc.node_text(original))}': nothing reads {name} "
                             "once the lines the sipid call replaced are gone", "info", fix=fix)

    # -- pidfile expressions --------------------------------------------------------------------
    def pid_source(self, node: Node) -> str | None:
        """The pidfile key when ``node`` reads a pid from a file: ``$(cat F)``, `` `cat F` ``,
        ``$(<F)``, ``$(head -1 F)``, optionally inside double quotes."""
        if node.type == "string":
            inner = [c for c in node.named_children]
            if len(inner) != 1:
                return None
            node = inner[0]
        if node.type != "command_substitution":
            return None
        inner = [c for c in node.named_children if c.type != "comment"]
        if len(inner) != 1:
            return None
        stmt = inner[0]
        if stmt.type == "file_redirect" and redirect_operator(self.doc, stmt) == "<":
            dest = stmt.child_by_field_name("destination")
            return S.path_key(self.doc.node_text(dest)) if dest is not None else None
        cmd = self._plain_command(stmt)
        if cmd is None:
            return None
        name, args = command_name(self.doc, cmd), S.arg_texts(self.doc, cmd)
        if name == "cat" and len(args) == 1:
            return S.path_key(self.doc.node_text(S.args_of(self.doc, cmd)[0]))
        if name == "head" and args[:-1] in (["-1"], ["-n", "1"], ["-n1"]) and len(args) >= 2:
            return S.path_key(self.doc.node_text(S.args_of(self.doc, cmd)[-1]))
        return None

    def _plain_command(self, stmt: Node) -> Node | None:
        """The command of a statement whose only redirects go to /dev/null (or 2>&1)."""
        if stmt.type == "command":
            return stmt
        if stmt.type == "redirected_statement":
            body = stmt.child_by_field_name("body")
            for r in stmt.children_by_field_name("redirect"):
                text = self.doc.masked_text(r).replace(" ", "")
                if not (text.endswith("/dev/null") or text in ("2>&1", ">&2", "1>&2")):
                    return None
            return body if body is not None and body.type == "command" else None
        return None

    def var_ref(self, node: Node) -> str | None:
        """``$X``, ``${X}`` or ``"$X"`` -> X."""
        if node.type == "string":
            inner = node.named_children
            if len(inner) != 1:
                return None
            node = inner[0]
        if node.type in ("simple_expansion", "expansion"):
            names = [c for c in node.named_children]
            if len(names) == 1 and names[0].type == "variable_name":
                return self.doc.masked_text(names[0])
        return None

    def _multi_pid_files(self) -> set[str]:
        """Pidfiles this script fills with several pids (append, pgrep, a loop over the file)."""
        multi = set()
        masked = self.doc.masked
        for stmt in self.doc.find("redirected_statement"):
            body = stmt.child_by_field_name("body")
            name = command_name(self.doc, body) if body is not None and body.type == "command" else None
            pids = None  # whether the statement writes $! or $$ (read once, when an append asks)
            for r in stmt.children_by_field_name("redirect"):
                dest = r.child_by_field_name("destination")
                if dest is None:
                    continue
                op = redirect_operator(self.doc, r)
                if op == ">>" and pids is None:
                    text = masked[stmt.start_byte:stmt.end_byte]
                    pids = b"$!" in text or b"$$" in text
                if (op == ">>" and pids) or (name in ("pgrep", "pidof", "jobs") and op in (">", ">>")
                                             and S.path_key(self.doc.node_text(dest)).endswith(".pid")):
                    multi.add(S.path_key(self.doc.node_text(dest)))
        for loop in self.doc.find("for_statement"):
            for value in loop.children_by_field_name("value"):
                key = self.pid_source(value)
                if key:
                    multi.add(key)
        for pipe in self.doc.find("pipeline"):
            text = self.doc.masked_text(pipe)
            if "xargs" in text and "kill" in text:
                m = re.match(r"\s*cat\s+(\S+)", text)
                if m:
                    multi.add(S.path_key(m.group(1)))
        return multi

    # -- start side -----------------------------------------------------------------------------
    def _pid_writes(self) -> list[tuple[Node, str, str]]:
        """Statements that write the script's or the last background job's pid, and nothing else,
        into a file: ``echo $$ > F``, ``echo "${!}" > F``, ``printf '%d' $! > F``, or a variable
        set to one of them just before (``pid=$!; echo "$pid" > F``): (statement, pid, key)."""
        out = []
        for stmt in self.doc.find("redirected_statement"):
            body = stmt.child_by_field_name("body")
            redirects = stmt.children_by_field_name("redirect")
            if body is None or body.type != "command" or len(redirects) != 1:
                continue
            word = S.printed_word(self.doc, body)
            pid = self._pid_of(stmt, word) if word is not None else None
            if pid is None:
                continue
            r = redirects[0]
            dest = r.child_by_field_name("destination")
            if dest is None or redirect_fd(self.doc, r) not in (None, "1") or redirect_operator(self.doc, r) not in (">", ">|", ">>"):
                continue
            if self.skip(stmt):
                continue
            out.append((stmt, pid, S.path_key(self.doc.node_text(dest))))
        return out

    def _pid_of(self, stmt: Node, word: Node) -> str | None:
        """``$$``/``$!`` for a printed word that is one, or a variable set to one by an assignment
        earlier in the same block with nothing but set-up between (so it still holds that pid)."""
        pid = S.pid_word(self.doc.masked_text(word))
        if pid is not None:
            return pid
        var = self.var_ref(word)
        if var is None or not _is_block_statement(stmt):
            return None
        around = S.siblings_of(stmt)
        if around is None:
            return None
        siblings, index = around
        for before in reversed(siblings[:index]):
            assigned = _assignments_in(self.doc, before)
            if var in assigned:
                value = assigned[var]
                found = S.pid_word(self.doc.masked_text(value)) if value is not None else None
                if found is not None and not _backgrounds_between(before, stmt):
                    self.pid_vars[stmt.id] = (var, before)
                    return found
                return None
            if before.type in ("variable_assignment", "declaration_command"):
                continue
            cmd = self._plain_command(before)
            if cmd is None or command_name(self.doc, cmd) not in SETUP_COMMANDS:
                return None
        return None

    def _start_side(self) -> None:
        guards: dict[str, list[Node]] = {}  # key -> pid_guard statements
        for cmd in self.doc.commands("pid_guard"):
            if self.skip(cmd):
                continue
            args = S.args_of(self.doc, cmd)
            if args:
                guards.setdefault(S.path_key(self.doc.node_text(args[0])), []).append(cmd)
        claimed: dict[str, tuple[Node, str]] = {}  # key -> (where the claim now is, its fix label)
        writes = self._pid_writes()
        written = Counter(key for _, pid, key in writes)
        for stmt, pid, key in writes:
            redirect = stmt.children_by_field_name("redirect")[0]
            dest = redirect.child_by_field_name("destination")
            if written[key] > 1 and any(p != pid for _, p, k in writes if k == key):
                # a background pid and the script's own pid in one file: which one a claim stands
                # for depends on the path taken, and what used the file between them would move
                self.finding(stmt, f"left unchanged: {key} is written with both $$ and $! in this script",
                             suggestion="write one pid into it, then re-run")
                continue
            if key in self.multi or redirect_operator(self.doc, redirect) == ">>":
                self.finding(stmt, f"left unchanged: {key} collects several pids; sipid claims one pid per pidfile",
                             suggestion="give each process its own pidfile, or keep this by hand")
                continue
            if not _is_block_statement(stmt):
                self.finding(stmt, "left unchanged: the pid write is part of a larger command line",
                             suggestion="write it as its own line, then re-run; or use sipid claim by hand")
                continue
            earlier = claimed[key][0] if key in claimed else self._existing_claim(key, stmt)
            user = self._used_since_claim(earlier, stmt, key)
            if earlier is not None and user is not None:
                self.finding(stmt, f"left unchanged: {key} is claimed on line {self.doc.line_of(earlier.start_byte)} "
                             f"and used after that (line {self.doc.line_of(user.start_byte)}); a second claim here "
                             "would follow that use", suggestion="write the pid once, then re-run")
                continue
            hand_guard = self._hand_guard(stmt, key)
            guarded = bool(guards.get(key)) or hand_guard is not None
            fix = f"claim@{stmt.start_byte}"
            at: Node = stmt
            if pid == "$!":
                background = self._foreground(stmt)
                if background is None:
                    if guarded:
                        self._claim(stmt, pid, dest, key)
                        self.finding(stmt, "sipid claim records the background pid; the guard before the start is "
                                     "kept, because the process starts before the claim", "info", fix=fix)
                    else:
                        why, advice = self._why_background(stmt)
                        self.finding(stmt, "left unchanged: the process is started before its pid is recorded, and "
                                     "nothing refuses a second start first: a 'sipid claim' here that refused would "
                                     "leave the process just started running, in no pidfile; claiming first and "
                                     f"exec'ing it is not safe either: {why}", suggestion=advice)
                    continue
                at = background.statement
                if not self._claim_foreground(stmt, background, dest, fix, guarded):
                    continue
            elif not self._claim(stmt, pid, dest, key):
                continue
            else:
                self._note_unguarded(stmt, guarded, fix)
            claimed[key] = (at, fix)
            if hand_guard is not None and not self.taken(hand_guard):
                busy = self._work_between(hand_guard, at)
                if busy is None:
                    self.remove(hand_guard, fix)
                else:
                    self._guard_kept(hand_guard, busy, fix)
        for key, cmds in guards.items():
            for cmd in cmds:
                if key in claimed:
                    at, fix = claimed[key]
                    stmt = _statement(cmd)
                    busy = self._work_between(stmt, at)
                    if busy is not None:
                        self._guard_kept(cmd, busy, fix)
                        continue
                    own_line = stmt is cmd or _is_guard_list(self.doc, stmt, cmd)
                    if own_line and self.remove(stmt, fix):
                        self.rewritten.add("pid_guard")
                        self._note_rerun(stmt, at, fix)
                        continue
                    self.finding(cmd, "pid_guard left: it shares its line with other code", fix=fix)
                elif not any(k == key for _, _p, k in writes):
                    self._unpaired_guard(cmd, key)

    def _existing_claim(self, key: str, write: Node) -> Node | None:
        """A ``sipid claim`` of ``key`` already in the script before ``write`` (an earlier pass's)."""
        for cmd in self.doc.commands():
            if cmd.start_byte >= write.start_byte:
                break
            args = S.arg_texts(self.doc, cmd)
            if (command_name(self.doc, cmd) or "").endswith("sipid") and args[:1] == ["claim"] and "--pid-file" in args:
                i = args.index("--pid-file")
                if i + 1 < len(args) and S.path_key(args[i + 1]) == key:
                    return cmd
        return None

    def _used_since_claim(self, claim: Node | None, write: Node, key: str) -> Node | None:
        """A command between an earlier claim of ``key`` and this pid write that uses the pidfile."""
        if claim is None:
            return None
        for cmd in self.doc.commands():
            if claim.end_byte <= cmd.start_byte and cmd.end_byte <= write.start_byte and any(
                    S.path_key(self.doc.node_text(a)) == key or self.pid_source(a) == key
                    for a in S.args_of(self.doc, cmd)):
                return cmd
        return None

    def _claims_of(self, other: Document) -> list[P.Claim]:
        """The claims this codemod would write into another script of the job (no pairing there)."""
        if S.job_helper_source(self.job, other.path) or S.start_stop_daemon_at(other) is not None:
            return []
        if not self.cm.applies_to(other):
            return []
        return list(helpers.per_job(self.job, ("sipid-pidfiles claims", other.path, other.source),
                                    lambda: _partner_claims(self.cm, self.job, other)))

    def _note_unguarded(self, stmt: Node, guarded: bool, fix: str) -> None:
        """What the claim of ``$$`` changes for a second start: nothing when a guard refused it
        already (here, or in the control script that runs this one), else the start now refuses."""
        if guarded:
            return
        guard = P.guard_of(self.cm, self.job, self.doc, self._claims_of) if self.pairing else None
        if guard is not None:
            self.finding(stmt, f"sipid claim refuses a second start here, as the pid_guard of {guard} did "
                         "before it ran this script", "info", fix=fix)
            return
        self.finding(stmt, "start now refuses when the pidfile names a running process (the old script "
                     "overwrote it and started a second copy)", "review", fix=fix)

    def _unpaired_guard(self, cmd: Node, key: str) -> None:
        """A pid_guard whose pid is written elsewhere: in the script this start execs (one claim
        there, the guard goes), or by the process itself (the guard stays)."""
        partner = P.partner_of(self.cm, self.job, self.doc, cmd, key, self._claims_of) if self.pairing else None
        if isinstance(partner, P.Partner):
            stmt = _statement(cmd)
            fix = f"pair@{cmd.start_byte}"
            own_line = stmt is cmd or _is_guard_list(self.doc, stmt, cmd)
            if own_line and self.remove(stmt, fix):
                self.rewritten.add("pid_guard")
                self.result.requires.append(P.requirement(partner))
                self.requires.append((P.requirement(partner), fix))
                self.finding(cmd, f"pid_guard removed: {partner.rendered}, which this start runs (line "
                             f"{self.doc.line_of(partner.runs_at)}), now claims the pidfile with sipid claim "
                             f"(its line {partner.write_line}), which refuses a second start as the guard did",
                             "info", fix=fix)
                return
            self.finding(cmd, "pid_guard left: it shares its line with other code")
            return
        if isinstance(partner, str):
            self.finding(cmd, f"pid_guard kept: {partner}",
                         suggestion="fix that, then re-run: the guard goes when the script the start runs claims "
                                    f"{key} with sipid claim")
            return
        writer = self._pidfile_writer(cmd, key)
        if writer is None:
            who = f"nothing in this script writes {key}, so the process does itself (from its options or config)"
        else:  # a redirect copies a pid into it; a command named it (the process writes it itself)
            redirected = any(S.path_key(self.doc.node_text(d)) == key for r in writer.children_by_field_name("redirect")
                             if (d := r.child_by_field_name("destination")) is not None)
            who = (f"'{_short(self.doc.masked_text(writer), 80)}' (line {self.doc.line_of(writer.start_byte)}) writes "
                   f"{key}{'' if redirected else ' itself'}")
        self.finding(cmd, f"pid_guard kept: {who}; sipid has no check-only command",
                     suggestion=f"keep the guard (and its helper): a 'sipid claim' here would write this start's "
                                f"own pid into {key}, which is then overwritten; if instead a script the "
                                "start runs writes the pid, make it use sipid claim and drop the guard")

    def _pidfile_writer(self, guard: Node, key: str) -> Node | None:
        """The statement after a guard that writes the pidfile other than with ``echo $$``: a
        command given it as an argument (``--pidfile F``, ``-pidfile=F``, ``PIDFILE=F``) or
        output redirected into it (``head -n 1 other.pid > F``)."""
        readers = {"chown", "chmod", "chgrp", "rm", "cat", "head", "test", "[", "[[", "kill", "ls", "pid_guard",
                   "kill_and_wait", "wait_pid", "wait_pidfile", "echo", "printf"}
        arm = guard.parent
        while arm is not None and arm.type not in ("case_item", "function_definition"):
            arm = arm.parent
        for node in self.doc.walk(arm):
            if node.start_byte < guard.end_byte:
                continue
            if node.type == "redirected_statement":
                body = node.child_by_field_name("body")
                if body is not None and body.type == "command" and command_name(self.doc, body) in (
                        "echo", "printf", ":", "true") and "$" not in self.doc.masked_text(body):
                    continue  # empties the file or writes a constant: no pid
                for r in node.children_by_field_name("redirect"):
                    dest = r.child_by_field_name("destination")
                    if dest is not None and redirect_operator(self.doc, r) in (">", ">|", ">>") and \
                            S.path_key(self.doc.node_text(dest)) == key:
                        return node
            elif node.type == "command" and command_name(self.doc, node) not in readers:
                for a in S.arg_texts(self.doc, node):
                    value = a.split("=", 1)[1] if "=" in a and not a.startswith(("'", '"')) else a
                    if S.path_key(value) == key:
                        return _statement(node)
        return None

    def _work_between(self, guard: Node, write: Node) -> Node | None:
        """A command between the guard and the pid write that a refused second start must not
        run (anything but making folders, ownership, modes, messages and assignments)."""
        if guard.start_byte > write.start_byte:
            return guard
        for cmd in self.doc.commands():
            between = guard.end_byte <= cmd.start_byte and cmd.end_byte <= write.start_byte
            if between and not self._setup(cmd):
                return cmd
        return None

    def _note_rerun(self, guard: Node, claim: Node, fix: str) -> None:
        """Say which kernel settings a refused second start now makes again before the claim
        refuses it (the guard used to stop it first); folders and the shell's own limits go unsaid."""
        again = [c for c in self.doc.commands() if guard.end_byte <= c.start_byte and c.end_byte <= claim.start_byte
                 and command_name(self.doc, c) == "sysctl"]
        if again:
            said = ", ".join(f"'{_short(self.doc.masked_text(c))}' (line {self.doc.line_of(c.start_byte)})"
                             for c in again)
            self.finding(guard, f"pid_guard removed: sipid claim refuses a second start instead, after that start "
                         f"has run {said} again, which sets the kernel values the running start set", "info",
                         fix=fix)

    def _setup(self, cmd: Node) -> bool:
        """May a refused second start run this? Set-up (folders, ownership, messages, the shell's
        own settings), and ``sysctl`` setting literal kernel values: the running process's start
        set the same ones, so running it again changes nothing (``sysctl -p FILE`` loads whatever
        the file holds now: not set-up)."""
        name = command_name(self.doc, cmd)
        args = S.arg_texts(self.doc, cmd)
        if name == "sysctl":
            settings = [a for a in args if not a.startswith("-")]
            flags = [a for a in args if a.startswith("-")]
            return bool(settings) and all(f in ("-q", "-w", "-qw", "-wq", "-e") for f in flags) and all(
                re.fullmatch(r"[\"']?[\w.\-/]+=[\w.\-/ ]*[\"']?", a) for a in settings)
        return name in SETUP_COMMANDS and not (name == "exec" and args)

    def _guard_kept(self, guard: Node, busy: Node, fix: str) -> None:
        self.finding(guard, f"guard kept: between it and the pid write the script runs "
                     f"'{_short(self.doc.masked_text(busy))}' (line {self.doc.line_of(busy.start_byte)}), which a "
                     "refused second start must not do", "info",
                     "move that work after the sipid claim, then drop the guard", fix=fix)

    def _foreground(self, write: Node) -> F.Background | None:
        """The backgrounded start whose ``$!`` ``write`` records, when it may become an ``exec``
        after a claim of ``$$``: it is the last thing the control script's start does."""
        background = F.background_before(self.doc, write)
        if background is None or F.blockers(self.doc) or not F.ends_start(self.doc, write):
            return None
        span = self.doc.full_lines(background.statement.start_byte, write.end_byte)
        if span is None or any(not t.is_output for t in self.doc.tags_in(*span)):
            return None
        return background

    def _why_background(self, write: Node) -> tuple[str, str]:
        """Why a background start cannot become the guide's foreground start, and what to do."""
        exec_it = "exec the process in the foreground after 'sipid claim --pid \"$$\"'"
        blocker = F.blockers(self.doc)
        if blocker:
            if "trap" in blocker:
                return blocker, ("the trap is why: if the job's stop (sipid kill on this pidfile) does what the trap "
                                 f"does, remove the trap, then {exec_it}; otherwise keep this start as it is")
            return blocker, f"if nothing needs the wait, drop it, then {exec_it}"
        if not F.ends_start(self.doc, write):
            if F.in_start_arm(write) is False:
                return ("it is not in a control script's start) branch, so the tool cannot tell that nothing waits "
                        "for it to return"), f"if this is the start monit runs, {exec_it}"
            return "the script goes on after the pid write", f"move that code before the start, then {exec_it}"
        if F.background_before(self.doc, write) is None:
            var = self.pid_vars.get(write.id)
            if var is not None:
                return (f"the pid goes through '{_short(self.doc.masked_text(var[1]))}' (line "
                        f"{self.doc.line_of(var[1].start_byte)}), and the tool rewrites only a pid write right after "
                        "the '&' line"), f"write 'echo $! > ...' right after the '&' line and re-run, or {exec_it}"
            return "the pid write does not come right after the backgrounded command", exec_it
        return "ERB control tags run through it", exec_it

    def _claim_foreground(self, write: Node, background: F.Background, dest: Node, fix: str, guarded: bool) -> bool:
        """``X &`` + ``echo $! > F`` -> ``sipid claim --pid "$$" ...`` + ``exec X``."""
        stmt = background.statement
        tail = "" if errexit_on_at(self.doc.masked, stmt.start_byte) else " || exit 1"
        claim = f'{self.sipid} claim --pid "$$" --pid-file {S.quoted(self.doc.node_text(dest))}{tail}'
        indent = S.indent_of(self.doc, stmt)
        start = self.doc.line_start(stmt.start_byte)
        end = self.doc.line_end(background.amp.end_byte - 1)
        if self.doc.slice(background.amp.end_byte, end).strip() or self.doc.slice(start, stmt.start_byte).strip():
            return False  # the line goes on after the '&', or begins before the statement
        write_span = self.doc.full_lines(write.start_byte, write.end_byte)
        if write_span is None:
            return False
        text = f"{indent}{claim}\n{indent}{F.exec_text(self.doc, background)}\n"
        if not self.doc.slice(end, write_span[0]).strip():  # only blank lines between: they go too
            self.edit(start, write_span[1], text, fix)
        else:
            self.edit(start, end, text, fix)
            self.result.edits.append(S.removal_edit(self.doc, write_span, fix))
            self.replaced.append(write_span)
        self._record(S.path_key(self.doc.node_text(dest)), "$$", claim, write)
        self.gone.add(write.id)
        notes = ["the process now starts in the foreground: the start claims the pidfile with its own pid and "
                 "execs the process (the exemplar-release start), so the start program no longer returns while "
                 "the process runs (monit does not wait for it; it watches the pidfile)"]
        if not guarded:
            notes.append("start now refuses when the pidfile names a running process (the old script started a "
                         "second copy)")
        self.finding(write, "; ".join(notes), "review", fix=fix)
        return True

    def _claim(self, stmt: Node, pid: str, dest: Node, key: str) -> bool:
        """Replace the pid write with ``sipid claim``; False (with a finding) when it is left."""
        # after a background start the process already runs: exiting would not undo it
        tail = "" if pid == "$!" or errexit_on_at(self.doc.masked, stmt.start_byte) else " || exit 1"
        text = f'{self.sipid} claim --pid "{pid}" --pid-file {S.quoted(self.doc.node_text(dest))}{tail}'
        fix = f"claim@{stmt.start_byte}"
        setup, users = self._setup_after(stmt, key) if pid == "$$" else (None, [])
        span = self.doc.full_lines(stmt.start_byte, stmt.end_byte) if setup is not None else None
        if setup is not None and span is not None:
            # sipid creates a missing folder 0700 as root: claim after the folder set-up; what
            # used the pidfile in between (chown, chmod) needs the file, so it follows the claim
            user_spans = [S.statement_span(self.doc, u) for u in users]
            if any(sp is None for sp in user_spans):
                shared = users[user_spans.index(None)]
                self.finding(stmt, f"left unchanged: '{_short(self.doc.masked_text(shared))}' (line "
                             f"{self.doc.line_of(shared.start_byte)}) uses the pidfile, which would only exist "
                             "after the sipid claim that goes after the folder set-up, and it shares its line "
                             "with other code", suggestion="put it on a line of its own, then re-run")
                return False
            indent = S.indent_of(self.doc, stmt)
            after = self.doc.line_end(setup.end_byte - 1)
            moved = "".join(self.doc.slice(*sp) for sp in user_spans if sp is not None)
            self.edit(span[0], span[1], "", fix)
            for sp in user_spans:
                if sp is not None:
                    self.edit(sp[0], sp[1], "", fix)
            self.edit(after, after, f"{indent}{text}\n{moved}", fix)
            note = ("the claim goes after the folder set-up that followed the pid write "
                    f"(line {self.doc.line_of(setup.start_byte)}), so sipid finds the run folder made and owned")
            if users:
                lines = ", ".join(str(self.doc.line_of(u.start_byte)) for u in users)
                note += f"; what used the pidfile there (line {lines}) now follows the claim, which creates it"
            self.finding(stmt, note, "info", fix=fix)
            self._record(key, pid, text, stmt)
            return True
        self.edit(stmt.start_byte, stmt.end_byte, text, fix)
        self._record(key, pid, text, stmt)
        return True

    def _record(self, key: str, pid: str, text: str, at: Node) -> None:
        self.claims.append(P.Claim(key, pid, text.removesuffix(" || exit 1"), self.doc.line_of(at.start_byte)))

    def _setup_after(self, stmt: Node, key: str) -> tuple[Node | None, list[Node]]:
        """The last of the folder set-up statements (mkdir/chown/chmod) right after the pid write,
        and the statements before it that use the pidfile itself (``chown vcap $PIDFILE``)."""
        last = None
        users: list[Node] = []
        following = _next_statement(stmt)
        while following is not None:
            cmd = self._plain_command(following)
            if cmd is None or command_name(self.doc, cmd) not in ("mkdir", "chown", "chmod"):
                break
            if any(not t.is_output for t in self.doc.tags_in(stmt.end_byte, following.end_byte + 1)):
                break  # set-up under an ERB condition: the claim must not move into it
            if any(S.path_key(self.doc.node_text(a)) == key for a in S.args_of(self.doc, cmd)):
                users.append(following)
            else:
                last = following
            following = _next_statement(following)
        return last, [u for u in users if last is not None and u.start_byte < last.start_byte]

    def _hand_guard(self, write: Node, key: str) -> Node | None:
        """An ``if`` before the pid write that exits when the pidfile names a live process."""
        around = S.siblings_of(write)
        if around is None:
            return None
        siblings, index = around
        for stmt in reversed(siblings[:index]):
            if stmt.type != "if_statement":
                continue
            if self._is_guard(stmt, key):
                return stmt
        return None

    def _is_guard(self, stmt: Node, key: str) -> bool:
        text = self.doc.masked_text(stmt)
        mentions = any(S.path_key(self.doc.node_text(n)) == key
                       for n in self.doc.walk(stmt) if n.type in ("word", "string", "simple_expansion", "expansion", "concatenation"))
        live = "kill -0" in text or "/proc/" in text or re.search(r"\bps\s+-p\b", text)
        if not (mentions and live):
            return False
        exits = False
        for cmd in self.doc.commands(within=stmt):
            name = command_name(self.doc, cmd)
            if name not in GUARD_COMMANDS:
                return False
            args = S.arg_texts(self.doc, cmd)
            if name == "kill" and (not args or args[0] != "-0"):
                return False
            if name == "exit":
                exits = bool(args) and args[0] not in ("0",)
            if name == "rm" and any(S.path_key(a) != key for a in args if not a.startswith("-")):
                return False
        return exits and not any(n.type in ("elif_clause", "else_clause") for n in stmt.named_children)

    # -- stop side: kill_and_wait -----------------------------------------------------------------
    def _kill_and_wait_calls(self) -> None:
        default = S.helper_default_timeout(self.job, self.doc)
        exits = S.helper_exits(self.job, self.doc, "kill_and_wait")
        for cmd in list(self.doc.commands("kill_and_wait")):
            if self.skip(cmd) or self.taken(cmd):
                continue
            args = S.args_of(self.doc, cmd)
            if not args or len(args) > 3:
                self.finding(cmd, "left unchanged: kill_and_wait with unexpected arguments")
                continue
            pidfile = self.doc.node_text(args[0])
            key = S.path_key(pidfile)
            if key in self.multi:
                self.finding(cmd, f"left unchanged: {key} holds several pids; sipid kill stops one process")
                continue
            stmt = _statement(cmd)
            if stmt is not cmd and not _is_guard_list(self.doc, stmt, cmd):
                self.finding(cmd, "left unchanged: kill_and_wait is part of a larger command")
                continue
            if not _is_block_statement(stmt):
                self.finding(cmd, "left unchanged: kill_and_wait is part of a larger command")
                continue
            texts = S.arg_texts(self.doc, cmd)
            timeout = self._number(texts[1]) if len(texts) > 1 else default
            flag = self._number(texts[2]) if len(texts) > 2 else 1
            blocker = self._grace_blocker(timeout, sigkill=flag != 0, said=texts[1] if len(texts) > 1 else None)
            if flag is None:  # a flag the tool cannot read may be the 0 that keeps SIGKILL off
                blocker = (f"this stop passes kill_and_wait a SIGKILL flag ('{texts[2]}') the tool cannot read, so "
                           f"it may never send SIGKILL; sipid kill would send SIGTERM, wait {S.SIPID_GRACE} s, then "
                           "SIGQUIT and SIGKILL")
            if blocker:
                self.finding(cmd, f"left unchanged: {blocker}", suggestion=_KEEP_GRACE)
                continue
            last = self._following_rm(stmt, key) or stmt
            fix = self._replace_stop(stmt, last, pidfile, key, wrapper=None)
            if fix is None:
                continue
            self.rewritten.add("kill_and_wait")
            notes = []
            if timeout != S.SIPID_GRACE:
                origin = "" if len(texts) > 1 else "kill_and_wait's default "
                notes.append(f"the wait before SIGKILL changes from {origin}{timeout} s to sipid's fixed "
                             f"{S.SIPID_GRACE} s")
            if exits:
                after = _code_after(self.doc, stmt)
                if after is not None:
                    notes.append(f"kill_and_wait ended the script with 'exit'; the code after it "
                                 f"(line {self.doc.line_of(after.start_byte)}) now runs")
            notes.append("a SIGQUIT now comes 100 ms before the SIGKILL (stack dump in Go and Java)")
            # every one of these is something an operator sees (a stack dump in the logs at least)
            self.finding(cmd, "kill_and_wait replaced by sipid kill: " + "; ".join(notes), "review", fix=fix)

    def _following_rm(self, stmt: Node, key: str) -> Node | None:
        nxt = _next_statement(stmt)
        if nxt is not None and self._rm_key(nxt) == key:
            return nxt
        return None

    def _rm_key(self, stmt: Node) -> str | None:
        cmd = self._plain_command(stmt)
        if cmd is None or command_name(self.doc, cmd) != "rm":
            return None
        args = S.args_of(self.doc, cmd)
        files = [a for a in args if not self.doc.masked_text(a).startswith("-")]
        flags = [self.doc.masked_text(a) for a in args if self.doc.masked_text(a).startswith("-")]
        if len(files) != 1 or any(f not in ("-f", "-rf", "-fr") for f in flags):
            return None
        return S.path_key(self.doc.node_text(files[0]))

    # -- stop side: inline kill sequences -------------------------------------------------------------
    def _stop_runs(self) -> None:
        for block in S.blocks(self.doc):
            if self.skip(block):
                continue
            statements = S.block_statements(block)
            i = 0
            while i < len(statements):
                consumed = self._try_run(statements, i)
                i += max(consumed, 1)

    def _try_run(self, statements: list[Node], start: int) -> int:
        """Try a stop run starting at ``statements[start]``; returns how many statements it took."""
        first = statements[start]
        if self.taken(first):
            return 1
        pidvars: dict[str, str] = {}
        kill = Kill()
        key: str | None = None
        end = start
        inits: set[str] = set()
        anchored = False
        for j in range(start, len(statements)):
            stmt = statements[j]
            kind = self._classify(stmt, pidvars, kill, inits)
            if kind is None:
                break
            if kind[0] == "key":
                if key is not None and kind[1] != key:
                    break
                key = kind[1]
                anchored = anchored or kind[2]
            elif kind[0] == "init" and not anchored:
                pass
            end = j
        if not anchored or key is None:
            return 1
        run = statements[start:end + 1]
        # drop trailing statements that do nothing for the stop (counters, messages)
        while run and self._classify_tail_only(run[-1], pidvars):
            run.pop()
        if not run or not any(self._sends_signal(s, pidvars) for s in run):
            return 1
        if key in self.multi:
            self.finding(run[0], f"left unchanged: {key} holds several pids; sipid kill stops one process",
                         suggestion="give each process its own pidfile, or keep this stop logic by hand")
            return len(run)
        assigned = self._assigned(run)
        later = self._used_after(run[-1], assigned)
        if later:
            self.finding(run[0], f"left unchanged: {', '.join(sorted(later))} from the stop logic is used later")
            return len(run)
        blocker = self._inline_grace_blocker(kill)
        if blocker:
            graceful = "QUIT" in kill.signals and "TERM" not in kill.signals
            self.finding(run[0], f"left unchanged: {blocker}",
                         suggestion=_KEEP_SIGNAL if graceful else _KEEP_GRACE)
            return len(run)
        pidfile = self._pidfile_text(run, key)
        wrapper = self._wrapping_test(run)
        lead = S.block_statements(wrapper)[:-len(run)] if wrapper is not None else []
        messages = [self.doc.node_text(s) for s in lead + run if self._is_message(s)]
        fix = self._replace_stop(run[0], run[-1], pidfile, key, wrapper, messages)
        if fix is None:
            return len(run)
        # a new wait, a new SIGTERM or SIGQUIT, a new SIGKILL: each shows in how the process stops
        self.finding(run[0], "stop logic replaced by sipid kill: " + "; ".join(self._kill_notes(kill)), "review",
                     fix=fix)
        return len(run)

    def _classify(self, stmt: Node, pidvars: dict[str, str], kill: Kill, inits: set[str]):
        """What a statement is within a stop run, or None when it does not belong to one.

        Returns ("key", pidfile key, anchors?) for statements tied to the pidfile,
        ("init", name) for counter set-up, ("other",) for messages and waits."""
        doc = self.doc
        if stmt.type == "variable_assignment":
            name = doc.masked_text(stmt.child_by_field_name("name"))
            value = stmt.child_by_field_name("value")
            if value is not None and (src := self.pid_source(value)):
                pidvars[name] = src
                return ("key", src, True)
            if value is not None and re.fullmatch(r"-?\d+", doc.masked_text(value)):
                inits.add(name)
                return ("init", name)
            return None
        if stmt.type == "declaration_command":
            # ``local pid=$(cat F)``: the pid read of a stop function
            parts = stmt.named_children
            keyword = doc.masked_text(stmt.children[0]) if stmt.children else ""
            if keyword in ("local", "declare") and len(parts) == 1 and parts[0].type == "variable_assignment":
                return self._classify(parts[0], pidvars, kill, inits)
            return None
        rm = self._rm_key(stmt)
        if rm is not None:
            return ("key", rm, False) if pidvars or kill.signals else None
        cmd = self._plain_command(_unwrap_or_true(doc, stmt))
        if cmd is not None and command_name(doc, cmd) == "kill":
            parsed = self._kill(cmd, pidvars)
            if parsed is None or parsed[0] == "PROBE":
                return None
            kill.signals.add(parsed[0])
            return ("key", parsed[1], True)
        if cmd is not None and command_name(doc, cmd) in ("echo", "printf"):
            if any(v in doc.masked_text(cmd) for v in pidvars) or not (pidvars or kill.signals):
                return None
            return ("other",)
        if stmt.type in S.LOOPS or stmt.type == "if_statement":
            if not (pidvars or kill.signals):
                return None
            key = self._poll(stmt, pidvars, kill, inits)
            return ("key", key, False) if key else None
        return None

    def _classify_tail_only(self, stmt: Node, pidvars: dict[str, str]) -> bool:
        """Statements at the end of a run that do nothing for the stop: they stay as they are."""
        if self._is_message(stmt):
            return True
        if stmt.type == "variable_assignment":
            value = stmt.child_by_field_name("value")
            return value is not None and self.pid_source(value) is None
        return False

    def _is_message(self, stmt: Node) -> bool:
        cmd = self._plain_command(stmt)
        return cmd is not None and command_name(self.doc, cmd) in ("echo", "printf")

    def _sends_signal(self, stmt: Node, pidvars: dict[str, str]) -> bool:
        for cmd in self.doc.commands(within=stmt):
            if command_name(self.doc, cmd) == "kill":
                parsed = self._kill(cmd, pidvars)
                if parsed and parsed[0] != "PROBE":
                    return True
        return False

    def _kill(self, cmd: Node, pidvars: dict[str, str]) -> tuple[str, str] | None:
        """``kill [-SIG|-s SIG] TARGET`` -> (signal, pidfile key)."""
        args = S.args_of(self.doc, cmd)
        texts = [self.doc.masked_text(a) for a in args]
        sig = ""
        if texts[:1] == ["-s"] and len(texts) >= 2:
            sig, args, texts = texts[1], args[2:], texts[2:]
        elif texts and texts[0].startswith("-"):
            sig, args, texts = texts[0][1:], args[1:], texts[1:]
        if sig not in SIGNALS or len(args) != 1:
            return None
        target = args[0]
        key = self.pid_source(target)
        if key is None:
            var = self.var_ref(target)
            key = pidvars.get(var or "")
        return (SIGNALS[sig], key) if key else None

    def _poll(self, stmt: Node, pidvars: dict[str, str], kill: Kill, inits: set[str]) -> str | None:
        """A loop or ``if`` made only of waiting for the pid to die (and killing it): its key."""
        doc = self.doc
        keys = set(pidvars.values())
        if len(keys) != 1:
            return None
        key = next(iter(keys))
        for node in doc.walk(stmt):
            if node.type in ("function_definition", "case_statement", "subshell", "process_substitution"):
                return None
            if node.type == "command":
                name = command_name(doc, node)
                if name == "kill":
                    parsed = self._kill(node, pidvars)
                    if parsed is None:
                        return None
                    if parsed[0] == "PROBE":
                        kill.probes = True
                    else:
                        kill.signals.add(parsed[0])
                elif name not in POLL_COMMANDS or name == "ps" and "-p" not in S.arg_texts(doc, node):
                    return None
            elif node.type == "variable_assignment":
                name = doc.masked_text(node.child_by_field_name("name"))
                if name in pidvars:
                    return None
        text = doc.masked_text(stmt)
        if "/proc/" in text or re.search(r"\bps\s+-p\b", text):
            kill.probes = True
        if stmt.type in S.LOOPS:
            kill.loops += 1
            bound = _loop_seconds(doc, stmt)
            if bound is None:
                kill.wait = None
                if "KILL" not in kill.signals and not re.search(r"-(ge|gt|le|lt|eq)\b|[<>]", text):
                    kill.unbounded = True
            elif kill.wait is not None:
                kill.wait += bound
        return key

    def _pidfile_text(self, run: list[Node], key: str) -> str:
        for stmt in run:
            for node in self.doc.walk(stmt):
                if node.type in ("word", "string", "simple_expansion", "expansion", "concatenation", "raw_string") \
                        and S.path_key(self.doc.node_text(node)) == key and node.parent is not None \
                        and node.parent.type in ("command", "file_redirect"):
                    return self.doc.node_text(node)
        return key

    def _wrapping_test(self, run: list[Node]) -> Node | None:
        """The ``if [ -f F ]`` whose whole then-part is this run (no else): replaced as a whole."""
        parent = run[0].parent
        if parent is None or parent.type != "if_statement":
            return None
        body = S.block_statements(parent)
        lead = len(body) - len(run)
        if [s.id for s in body[lead:]] != [s.id for s in run] or not all(self._is_message(s) for s in body[:lead]):
            return None  # only messages may come before the run in the then-part
        if any(c.type in ("elif_clause", "else_clause") for c in parent.named_children):
            return None
        cond = parent.child_by_field_name("condition")
        if cond is None or not re.fullmatch(r"\[\[?\s+-[fes]\s+\S+\s+\]\]?", self.doc.masked_text(cond).strip()):
            return None
        return parent if _is_block_statement(parent) else None

    def _replace_stop(self, first: Node, last: Node, pidfile: str, key: str, wrapper: Node | None,
                      messages: list[str] = ()) -> str | None:
        """Put the guarded sipid kill in place of a stop run; messages the run printed stay first."""
        outer_first, outer_last = (wrapper, wrapper) if wrapper is not None else (first, last)
        unset = self._pidfile_never_set(first, pidfile)
        if unset:
            name, functions = unset
            self.finding(first, f"left unchanged: {name} is set only in {', '.join(functions)}, which the stop does "
                         "not run, so this stop has no pidfile to read (as it is, it fails)",
                         suggestion=f"set {name} where the stop sees it (at the top of the script), then re-run")
            return None
        span = self.doc.full_lines(outer_first.start_byte, outer_last.end_byte)
        note = ""
        if span is None:  # a comment after the stop's last line is kept, on a line of its own
            end = self.doc.line_end(outer_last.end_byte - 1)
            tail = self.doc.slice(outer_last.end_byte, end).strip()
            span = self.doc.full_lines(outer_first.start_byte, outer_last.end_byte + len(
                self.doc.slice(outer_last.end_byte, end).rstrip("\n").encode())) if tail.startswith("#") else None
            note = f"{S.indent_of(self.doc, outer_first)}{tail}\n" if span is not None else ""
        if span is None:
            self.finding(first, "left unchanged: the stop logic shares its lines with other code")
            return None
        if any(not t.is_output for t in self.doc.tags_in(*span)):
            self.finding(first, "left unchanged: ERB control tags run through the stop logic",
                         suggestion="move the condition into a config template, then re-run")
            return None
        indent = S.indent_of(self.doc, outer_first)
        unit = "\t" if indent.startswith("\t") else "  "
        quoted = S.quoted(pidfile)
        line = f"{self.sipid} kill --pid-file {quoted} --show-stacks"
        if S.errexit_possible(self.job, self.doc, outer_first.start_byte):
            # sipid kill exits 1 when the pidfile holds no pid it can read (nothing runs): under
            # set -e that would end the stop before the rm, where the old stop went on (0 status)
            line += NOTHING_RAN + NOTHING_RAN_COMMENT
        inner = indent + unit if wrapper is not None and messages else indent
        said = "".join(f"{inner}{m}\n" for m in messages)
        # sipid kill exits 1 on an empty pidfile and leaves a dead process's pidfile behind; the old
        # stops succeeded there and removed it (a stale pid could block the next start)
        stop = f"{inner}if [ -s {quoted} ]; then\n{inner}{unit}{line}\n{inner}fi\n{inner}rm -f {quoted}\n"
        if wrapper is not None and messages:  # they only printed when the file was there
            text = f"{indent}if [ -f {quoted} ]; then\n{said}{stop}{indent}fi\n"
        else:
            text = said + stop
        text = note + text
        fix = f"kill@{outer_first.start_byte}"
        self.edit(span[0], span[1], text, fix)
        return fix

    def _pidfile_never_set(self, stop: Node, pidfile: str) -> tuple[str, list[str]] | None:
        """The pidfile's variable and the functions that alone set it, when none of them runs on
        the way to this stop (the stop then never had a pidfile; a rewrite would fail differently)."""
        m = re.match(r'"?\$\{?(\w+)', pidfile)
        if m is None:
            return None
        texts = [S.helper_text(self.job, self.doc, node, path) for node, path in helpers.source_commands(self.doc)]
        functions = S.only_set_elsewhere(self.doc, stop, m.group(1), texts)
        return (m.group(1), functions) if functions else None

    def _assigned(self, run: list[Node]) -> set[str]:
        names = set()
        for stmt in run:
            for node in self.doc.find("variable_assignment", within=stmt):
                name = node.child_by_field_name("name")
                if name is not None:
                    names.add(self.doc.masked_text(name))
        return names

    def _used_after(self, last: Node, names: set[str]) -> set[str]:
        if not names:
            return set()
        scope = last.parent
        while scope is not None and scope.type not in ("case_item", "function_definition", "program"):
            scope = scope.parent
        used = set()
        for node in self.doc.find("variable_name", within=scope):
            if node.start_byte >= last.end_byte and self.doc.masked_text(node) in names:
                parent = node.parent
                if parent is not None and parent.type == "variable_assignment" and parent.child_by_field_name("name") == node:
                    continue
                used.add(self.doc.masked_text(node))
        return used

    def _kill_notes(self, kill: Kill) -> list[str]:
        notes = []
        if kill.signals == {"KILL"}:
            notes.append(f"the old stop sent SIGKILL only; sipid sends SIGTERM first and waits up to "
                         f"{S.SIPID_GRACE} s before SIGQUIT and SIGKILL")
        elif kill.unbounded:
            notes.append(f"the old stop waited for the process without limit; sipid gives up after "
                         f"{S.SIPID_GRACE} s and sends SIGQUIT and SIGKILL")
        elif not kill.loops and "KILL" in kill.signals:
            notes.append(f"the old stop sent SIGTERM and SIGKILL without waiting in between; sipid waits up to "
                         f"{S.SIPID_GRACE} s after SIGTERM for the process to exit, then sends SIGQUIT and SIGKILL")
        elif not kill.loops:
            notes.append(f"the old stop sent SIGTERM and returned at once; stop now waits up to "
                         f"{S.SIPID_GRACE} s for the process to exit, then sends SIGQUIT and SIGKILL")
        else:
            if kill.wait is None:
                notes.append(f"the wait before SIGKILL becomes sipid's fixed {S.SIPID_GRACE} s")
            elif round(kill.wait) != S.SIPID_GRACE:
                notes.append(f"the wait before SIGKILL changes from about {kill.wait:g} s to sipid's fixed "
                             f"{S.SIPID_GRACE} s")
            if "KILL" not in kill.signals:
                notes.append("the old stop never sent SIGKILL; sipid does after the wait")
            notes.append("a SIGQUIT now comes 100 ms before the SIGKILL (stack dump in Go and Java)")
        notes.append("the pidfile is removed once the process is gone")
        return notes

    # -- the author's stop semantics -----------------------------------------------------------------
    def _number(self, text: str) -> int | None:
        """An integer argument, read through a variable the script sets once to a literal."""
        value = text.strip("\"'")
        m = re.fullmatch(r"\$\{?(\w+)\}?", value)
        if m:
            value = self.constants.get(m.group(1), "")
        return int(value) if re.fullmatch(r"\d+", value) else None

    def _grace_blocker(self, grace: float | None, sigkill: bool, said: str | None = None) -> str | None:
        """Why sipid kill (SIGTERM, a fixed 20 s, SIGKILL) would not do what this stop chose, or None.

        A longer grace (a database flushing to disk) or a disabled SIGKILL is a decision, not
        plumbing: changing it silently could corrupt data, so such stops are left as they are.
        """
        sipid = f"sipid kill would send SIGTERM, wait {S.SIPID_GRACE} s, then SIGQUIT and SIGKILL"
        if not sigkill:
            wait = f"waits {grace:g} s" if grace is not None else "waits"
            return f"this stop {wait} and never sends SIGKILL; {sipid}"
        if grace is None:
            what = f"'{said}'" if said else "an unknown time"
            return f"this stop waits {what} before SIGKILL, which the tool cannot read; {sipid}"
        if grace > MAX_GRACE:
            return f"this stop waits {grace:g} s before SIGKILL (more than {MAX_GRACE} s); {sipid}"
        return None

    def _inline_grace_blocker(self, kill: Kill) -> str | None:
        if "QUIT" in kill.signals and "TERM" not in kill.signals:
            # the author's stop signal: a graceful shutdown for unicorn, nginx, ... (where SIGTERM,
            # which sipid sends first, is the quick one that drops requests in flight)
            return (f"this stop asks the process to stop with SIGQUIT, not SIGTERM; sipid kill would send SIGTERM, "
                    f"wait {S.SIPID_GRACE} s, then SIGQUIT and SIGKILL (for unicorn and nginx, SIGTERM is the quick "
                    "shutdown that drops requests in flight)")
        if kill.signals == {"KILL"} or not kill.loops:
            return None  # SIGKILL only, or SIGTERM without waiting: no grace was chosen
        if kill.unbounded:
            return ("this stop waits for the process without limit and never sends SIGKILL; sipid kill would "
                    f"send SIGTERM, wait {S.SIPID_GRACE} s, then SIGQUIT and SIGKILL")
        return self._grace_blocker(kill.wait, sigkill="KILL" in kill.signals)

    # -- what is left ------------------------------------------------------------------------------
    def _leftover_calls(self) -> None:
        noted = {f.line for f in self.result.findings}
        for cmd in self.doc.commands("kill"):
            if self.skip(cmd) or self.taken(cmd) or self.doc.line_of(cmd.start_byte) in noted:
                continue
            target = next((a for a in S.args_of(self.doc, cmd) if self.pid_source(a)), None)
            if target is None or self._kill(cmd, {}) == ("PROBE", self.pid_source(target)):
                continue
            signal = _signal_name(S.arg_texts(self.doc, cmd))
            if signal is not None:
                self.finding(cmd, f"left unchanged: this kill sends SIG{signal} to the pid in "
                             f"{self.pid_source(target)}, which sipid kill never sends (it sends SIGTERM, waits "
                             f"{S.SIPID_GRACE} s, then SIGQUIT and SIGKILL)",
                             suggestion="if the process also stops cleanly on SIGTERM, replace the stop by hand with: "
                                        + _HAND_STOP)
                continue
            self.finding(cmd, f"left unchanged: the kill of the pid in {self.pid_source(target)} is in a "
                         "shape the tool does not rewrite safely",
                         suggestion="replace the stop logic by hand with: " + _HAND_STOP)
        for loop in self.doc.find("for_statement"):
            keys = [k for v in loop.children_by_field_name("value") if (k := self.pid_source(v))]
            if keys and not self.skip(loop):
                self.finding(loop, f"left unchanged: a loop over the pids in {keys[0]}; sipid kill stops "
                             "one process per pidfile",
                             suggestion="give each process its own pidfile and sipid kill each")
        from_files = {self.doc.masked_text(a.child_by_field_name("name")) for a in self.doc.find("variable_assignment")
                      if a.child_by_field_name("value") is not None and self.pid_source(a.child_by_field_name("value"))}
        for loop in self.doc.find(*S.LOOPS):
            text = self.doc.masked_text(loop)
            if self.skip(loop) or self.taken(loop) or not re.search(r"\bkill\s+-0\b|/proc/\$", text):
                continue
            if any(re.search(r"\$\{?" + re.escape(v) + r"\b", text) for v in from_files):
                continue  # waits on a pid from a pidfile: the stop logic around it was reported already
            if self.doc.line_of(loop.start_byte) not in noted:
                self.finding(loop, "left unchanged: a loop that waits on a pid not read from a pidfile here; "
                             "sipid has no equivalent", "info",
                             "if it waits for the job's own process, stop it with sipid kill --pid-file")
        for name in ("wait_pid", "wait_pidfile", "wait_pid_death"):
            for cmd in self.doc.commands(name):
                if not self.skip(cmd):
                    self.finding(cmd, f"left unchanged: {name} has no sipid equivalent",
                                 suggestion="wait for the process in the drain script, or drop the wait")


# -- small tree helpers -----------------------------------------------------------------------------
def _statement(cmd: Node) -> Node:
    """The statement a command is (through redirects and ``|| true``-style lists)."""
    current = cmd
    while current.parent is not None and current.parent.type in ("redirected_statement", "list"):
        current = current.parent
    return current


def _assignments_in(doc: Document, stmt: Node) -> dict[str, Node | None]:
    """Names a statement assigns (``V=x``, ``export V=x``, ``local V``) with their values."""
    nodes = [stmt] if stmt.type == "variable_assignment" else []
    if stmt.type == "declaration_command":
        nodes = [c for c in stmt.named_children if c.type in ("variable_assignment", "variable_name")]
    out: dict[str, Node | None] = {}
    for node in nodes:
        if node.type == "variable_name":
            out[doc.masked_text(node)] = None
            continue
        name = node.child_by_field_name("name")
        if name is not None:
            out[doc.masked_text(name)] = node.child_by_field_name("value")
    return out


def _backgrounds_between(first: Node, last: Node) -> bool:
    """Is a job put in the background (``&``) between two statements of one block?"""
    parent = first.parent
    return parent is not None and any(c.type == "&" and first.end_byte <= c.start_byte < last.start_byte
                                      for c in parent.children)


def _signal_name(args: list[str]) -> str | None:
    """The signal a kill sends when it is one sipid does not send (``-INT``, ``-s HUP``, ``-2``)."""
    sig = args[1] if args[:1] == ["-s"] and len(args) > 1 else args[0][1:] if args and args[0].startswith("-") else ""
    if not sig or sig in SIGNALS:
        return None
    names = {"1": "HUP", "2": "INT", "10": "USR1", "12": "USR2"}
    return names.get(sig, sig.removeprefix("SIG")) if re.fullmatch(r"\w+", sig) else None


def _is_guard_list(doc: Document, stmt: Node, cmd: Node) -> bool:
    """``cmd || exit 1`` / ``cmd || true`` / ``cmd 2>/dev/null``: only the command and a fallback."""
    if stmt.type == "redirected_statement":
        return stmt.child_by_field_name("body") == cmd
    if stmt.type != "list":
        return False
    parts = stmt.named_children
    ops = [doc.masked_text(c) for c in stmt.children if not c.is_named]
    if len(parts) != 2 or ops != ["||"] or parts[0].start_byte != cmd.start_byte:
        return False
    return re.fullmatch(r"exit(\s+\d+)?|true|:", doc.masked_text(parts[1]).strip()) is not None


def _unwrap_or_true(doc: Document, stmt: Node) -> Node:
    """``X || true`` / ``X || :`` / ``X || echo ...`` -> X."""
    if stmt.type == "list":
        parts = stmt.named_children
        ops = [doc.masked_text(c) for c in stmt.children if not c.is_named]
        if len(parts) == 2 and ops == ["||"]:
            right = parts[1]
            if right.type == "command" and command_name(doc, right) in ("true", ":", "echo"):
                return parts[0]
    return stmt


def _is_block_statement(stmt: Node) -> bool:
    parent = stmt.parent
    return parent is not None and any(s.id == stmt.id for s in S.block_statements(parent))


def _next_statement(stmt: Node) -> Node | None:
    around = S.siblings_of(stmt)
    if around is None:
        return None
    siblings, index = around
    return siblings[index + 1] if index + 1 < len(siblings) else None


def _code_after(doc: Document, stmt: Node) -> Node | None:
    """The first statement that runs after ``stmt`` in its block or an enclosing one, unless it is
    an ``exit``/``exit 0`` (ending the script with 0 as the helper's ``exit`` did: nothing runs
    differently; ``;;``, ``esac``, ``fi`` and comments before it are no statements)."""
    current = stmt
    while current is not None and current.type != "program":
        nxt = _next_statement(current) if _is_block_statement(current) else None
        if nxt is not None and nxt.type != "function_definition":
            if nxt.type == "command" and command_name(doc, nxt) == "exit" and S.arg_texts(doc, nxt) in ([], ["0"]):
                return None
            return nxt
        current = current.parent
        if current is not None and current.type in ("case_item",):
            current = current.parent  # the case statement: what follows esac
        if current is not None and current.type == "function_definition":
            return None
    return None


def _loop_seconds(doc: Document, loop: Node) -> float | None:
    """Iterations x sleep of a counted loop, or None when it cannot be told."""
    sleeps = 0.0
    for cmd in doc.commands("sleep", within=loop):
        args = S.arg_texts(doc, cmd)
        if len(args) != 1 or not re.fullmatch(r"\d+(\.\d+)?", args[0]):
            return None
        sleeps += float(args[0])
    count = S.iterations(doc, loop)
    if count is None:
        count = _countdown(doc, loop)
    return None if count is None or not sleeps else count * sleeps


def _countdown(doc: Document, loop: Node) -> int | None:
    """Iterations of a loop that counts a variable down to zero (``TRIES=$((TRIES-1))`` with a
    ``-le 0``/``-eq 0`` test), starting from the last literal it was set to before the loop."""
    body = doc.masked_text(loop)
    for name in dict.fromkeys(re.findall(r"\b(\w+)=\$\(\(\s*\$?\1\s*-\s*1\s*\)\)|\(\(\s*(\w+)--\s*\)\)", body)):
        var = name[0] or name[1]
        if not re.search(rf"\$\{{?{var}\}}?\"?\s+-(le|eq)\s+0\b|\$\{{?{var}\}}?\"?\s+-lt\s+1\b", body):
            continue
        before = doc.masked[:loop.start_byte].decode("utf-8", "replace")
        inits = re.findall(rf"(?:^|[\s;]){var}=(\d+)\s*$", before, re.M)
        if inits:
            return int(inits[-1])
    return None


def _remove_unsourced_helpers(cm: SipidPidfiles, job: JobContext, documents: Mapping[str, Document]) -> CodemodResult:
    """A pid helper the job ships as its own template, no longer sourced by any script, goes
    (file and spec entry), so the diff shows the legacy library leaving the job."""
    result = CodemodResult()
    texts = dict(job.files)
    changed = False
    for key, doc in documents.items():
        text = doc.source.decode("utf-8")
        if texts.get(key) is not None and texts[key] != text:
            changed = True
        texts[key] = text
    if not changed:
        return result
    for source, rendered in job.templates.items():
        key = f"templates/{source}"
        if key not in job.files:
            continue
        original = job.files[key]
        if not any(name in original for name in S.PID_FUNCTIONS):
            continue  # defines none of them (checked before parsing it: most templates are config)
        if rendered.startswith("bin/") and not _only_definitions(original):
            continue  # a program in bin/ (someone may run it), not only a library
        if key in documents and documents[key].source.decode("utf-8") != original:
            continue  # another codemod changed it: leave it to the author
        info = helpers.describe(rendered, original)
        if not info.functions & S.PID_FUNCTIONS:
            continue
        pattern = re.compile(r"(?m)^[^#\n]*(?:source|\.)\s+[\"']?[^\s\"']*/" + re.escape(rendered) + r"\b")
        mention = re.compile(re.escape(rendered) + r"\b")
        was_sourced = any(pattern.search(t) for k, t in job.files.items() if k != key)
        still = [k for k, t in texts.items() if k != key and mention.search(t)]
        if was_sourced and not still:
            result.removed_files.append(key)
            result.spec_changes.append(SpecChange("remove_template", source))
            result.findings.append(Finding(cm.id, key, None, f"{rendered} is no longer sourced by any script "
                                           "of the job: removed, with its spec entry", "info"))
    return result


def _only_definitions(text: str) -> bool:
    """Is this shell text a library and nothing else: functions and plain assignments (no command
    runs when it is run or sourced)? Such a file in ``bin/`` is no program anyone runs."""
    doc = helpers.parse_helper(text)
    if doc.error_count or doc.erb_error:
        return False
    for stmt in S.block_statements(doc.tree.root_node):
        if stmt.type == "function_definition":
            continue
        if stmt.type == "variable_assignment" and "$(" not in doc.masked_text(stmt) and "`" not in doc.masked_text(stmt):
            continue
        return False
    return True


def _short(text: str, limit: int = 50) -> str:
    text = " ".join(text.replace("\\\n", " ").split())
    return text if len(text) <= limit else text[:limit - 3] + "..."
