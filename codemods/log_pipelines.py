"""Codemod ``log-pipelines``: tee/logger/awk log fan-out -> plain ``>>``/``2>>`` redirection."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemods._log_shapes import (
    enclosing_function_name,
    folder_of,
    helper_constants,
    inside,
    is_fanout_function,
    is_read_date_loop,
    mentioned_outside,
    misread_command,
    normal_path,
    own_locals,
    pipefail_before,
    pipeline_stages,
    positional_locals,
    put_constants,
    runs_before,
    shorten,
    stage_command,
    substitute_arguments,
    substitution_body,
    tail_owner,
    top_level_fanouts,
    top_statement,
    writes_elsewhere,
    writes_fd,
)
from migrator import helpers
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext
from migrator.differences import DeclaredDifferences, shapes
from migrator.document import Document, command_name
from migrator.shell import errexit_may_be_on, redirect_fd, redirect_operator

LOG_ROOT = "/var/vcap/sys/log"
#: Scripts whose inherited stdout/stderr the BOSH agent itself records (or, for drain, reads):
#: output that still reaches them must keep doing so.
AGENT_CAPTURED = {"pre-start", "post-start", "post-deploy", "drain", "pre-stop"}
PREFIX_TOOLS = {"awk", "gawk", "mawk", "nawk", "perl", "sed", "ts"}
#: nodes whose children are statements run in order (a `mkdir -p X; ` can go before one of them)
_STATEMENT_LISTS = {"program", "compound_statement", "do_group", "case_item", "if_statement", "elif_clause",
                    "else_clause", "subshell", "while_statement"}
#: _target's answer when a stream should simply stay on the inherited fd
INHERIT = ("", True)
_STALE_COMMENT = re.compile(r"syslog|logger|\btee\b|\bfan(?:s|ned)?\b|fan-out|timestamp", re.I)
TIME_HINTS = ("date", "strftime", "localtime", "systime", "%Y", "%H:%M", "time")


@dataclass
class Flow:
    """Where one output stream ends up after the plumbing: files, syslog, or the inherited fd."""

    files: list[tuple[str, bool]] = field(default_factory=list)  # (text of the path, append?)
    syslog: bool = False
    inherited: bool = False
    prefixed: bool = False
    problem: str | None = None  # set when the plumbing has a shape we do not understand


class LogPipelines(Codemod):
    """Replace tee/logger/awk log fan-out with plain redirection into the job's log files.

    What it does: finds output redirected into a process substitution
    (``exec > >(tee -a >(logger ...) | awk ... >> FILE)``, the same on the main process's own
    command) and statements piped into log plumbing (``cmd 2>&1 | tee -a FILE | logger``), works out
    which files each stream reached, and rewrites the redirect to ``>> FILE`` / ``2>> FILE``.
    Calls of fan-out helpers such as ``tee_output_to_sys_log`` become the ``exec`` redirections the
    helper performed; timestamp prefixer functions left unused are removed.

    Why it is bad: every log line starts several processes, output is lost or reordered when one
    of them dies, and forwarding to syslog is the operator's choice (syslog-release), not the job's.

    Fix safety: a stream is only rewritten when every destination is understood. The log files the
    old code wrote are kept, so operators collect the same files; a stream that went only to
    syslog goes to ``/var/vcap/sys/log/<job>/<script>.stdout.log`` (or ``.stderr.log``), with a
    finding. A fan-out that wrote two files, an unknown stage in the plumbing, a pipeline whose exit
    status would change, or output the BOSH agent records is left alone with a finding.
    """

    id = "log-pipelines"
    summary = "Replace tee/logger/awk log fan-out with plain >>/2>> redirection"
    rationale = (
        "The exemplar-release guide, 'The Ol' tee and logger Approach': remove the fan-out and "
        "redirect stdout/stderr into /var/vcap/sys/log/<job>/ with plain redirection."
    )
    triggers = (b"logger", b"tee", b">(", b"source ", b". /")
    differences: ClassVar[DeclaredDifferences] = DeclaredDifferences(
        "calls of tee/logger/awk/perl/sed/date (and basename naming a syslog tag) that fed a log pipeline "
        "may disappear (redirect targets are not argv); the log folder may be created where the fan-out "
        "helper created it",
        may_vanish=(shapes("tee", "logger", "awk", "perl", "sed", fed=True), shapes("date", "basename", feeding=True),
                    shapes("mkdir", argument_under="/var/vcap/sys/log/")),
        may_appear=(shapes("mkdir", argument_under="/var/vcap/sys/log/"),),
        vanishing_functions=frozenset({"tee_output_to_sys_log"}),
    )
    introduces = frozenset({"mkdir"})  # the folder of a log file a plain redirect now opens

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        return _Rewrite(self, job, doc).run()


class _Rewrite:
    """One pass of the codemod over one document (state for a single transform call)."""

    def __init__(self, codemod: LogPipelines, job: JobContext, doc: Document):
        self.cm = codemod
        self.job = job
        self.doc = doc
        self.result = CodemodResult()
        self.replaced: list[tuple[int, int]] = []  # byte ranges whose old text goes away
        self.script = job.script_name(doc.path)
        self.functions = self._functions()
        self.ensured: list[tuple[str, Node]] = []  # log folders this pass creates, before which statement
        self.dropped_comments: set[int] = set()

    # -- entry -------------------------------------------------------------------------------
    def run(self) -> CodemodResult:
        bad = misread_command(self.doc)
        if bad is not None:
            # one wrong statement means the tree cannot be trusted anywhere: rewriting the rest
            # would act on a misread script (and a second pass on the new parse would differ)
            self.finding(bad.start_byte, "left unchanged: the bash parser reads a command here as running on "
                         f"past the end of its line ('{shorten(self.doc.masked_text(bad))}'), so no "
                         "log plumbing in this script is rewritten",
                         suggestion="put each pipeline and continued redirect on lines of its own, or "
                         "rewrite by hand")
            return self.result
        for node in self.doc.find("file_redirect"):
            self._redirect_into_substitution(node)
        for node in self.doc.find("pipeline"):
            self._statement_pipeline(node)
        self._fanout_helper_calls()
        self._sourcing_side_effects()
        self._remove_unused_prefixers()
        return self.result

    # -- findings and edits --------------------------------------------------------------------
    def finding(self, offset: int, message: str, severity="review", suggestion=None) -> None:
        self.result.findings.append(self.cm.finding(self.doc, offset, message, severity, suggestion))

    def edit(self, start: int, end: int, text: str, fix: str) -> None:
        self.result.edits.append(Edit(start, end, text, fix))
        self.replaced.append((start, end))

    def remove_lines(self, span: tuple[int, int], fix: str) -> None:
        """Delete whole lines; also one blank line after them when a blank line precedes them,
        so removing a block does not leave a double gap."""
        start, end = span
        src = self.doc.source
        before_blank = start == 0 or src[max(0, start - 2) : start] == b"\n\n"
        after = self.doc.line_end(end) if end < len(src) else end
        if before_blank and end < len(src) and not src[end:after].strip():
            end = after
        self.edit(start, end, "", fix)

    def ensure_log_dir(self, at: Node, path: str, fix: str) -> None:
        """Create the log file's folder first unless the script visibly does so already.

        The old fan-out opened its file inside a process substitution: when the folder was
        missing, only that background pipeline failed. A plain ``>> FILE`` fails the command
        itself (and a bare ``exec >> FILE`` stops the script), so the folder must exist.
        """
        folder = folder_of(path)
        if not folder and "<%" in path:
            self.finding(at.start_byte, f"the folder of {path} is computed by ERB, so it is not created here; "
                         "a plain redirect fails (and stops a 'set -e' script) when it is missing",
                         suggestion="make sure the script creates it before this line")
        if not folder or self._dir_made_before(at, folder):
            return
        stmt = top_statement(at)
        if stmt.parent is not None and stmt.parent.type == "function_definition":
            stmt = stmt.parent  # `f() { ... } > >(...)`: create the folder before the definition
        self.ensured.append((folder, stmt))
        start = self.doc.line_start(stmt.start_byte)
        indent = self.doc.slice(start, stmt.start_byte)
        if self.doc.masked[start : stmt.start_byte].strip():
            if stmt.parent is None or stmt.parent.type not in _STATEMENT_LISTS:
                self.finding(at.start_byte, f"the folder {folder} is not created here; a plain redirect fails "
                             "when it is missing", suggestion="make sure the script creates it first")
                return
            # shares its line with other code (`start) exec ... ;;`, `then exec ...; fi`): create
            # the folder on that line, right before the statement
            self.result.edits.append(Edit(stmt.start_byte, stmt.start_byte, f"mkdir -p {folder}; ", fix))
            return
        self.result.edits.append(Edit(start, start, f"{indent}mkdir -p {folder}\n", fix))

    def _dir_made_before(self, at: Node, folder: str) -> bool:
        consts = self._constants()
        want = normal_path(folder, consts)
        for made, before in self.ensured:  # by this pass: only where that mkdir surely runs first
            if normal_path(made, consts) == want and before.start_byte <= at.start_byte and runs_before(before, at):
                return True
        for mkdir in self.doc.commands("mkdir"):
            if mkdir.start_byte >= at.start_byte or not runs_before(mkdir, at):
                continue
            for arg in mkdir.children_by_field_name("argument"):
                if normal_path(self.doc.node_text(arg), consts) == want:
                    return True
        return False

    def _constants(self) -> dict[str, str]:
        """Top-level variables assigned once to a literal (``LOG_DIR=/var/vcap/sys/log/x``)."""
        if not hasattr(self, "_consts"):
            seen: dict[str, list[str]] = {}
            for assign in self.doc.find("variable_assignment"):
                name, value = assign.child_by_field_name("name"), assign.child_by_field_name("value")
                if name is not None:
                    seen.setdefault(self.doc.masked_text(name), []).append(
                        self.doc.node_text(value) if value is not None else "")
            self._consts = {
                k: v[0].strip("\"'") for k, v in seen.items()
                if len(v) == 1 and re.fullmatch(r"[\"']?[\w./-]+[\"']?", v[0])
            }
        return self._consts

    def drop_stale_comment(self, at: Node, fix: str) -> None:
        """Remove the comment lines right above a rewritten statement when they describe the
        fan-out (syslog, logger, tee): left behind they would describe code that is gone."""
        stmt = top_statement(at)
        comments = []
        prev = stmt.prev_sibling
        line = self.doc.line_of(stmt.start_byte)
        while prev is not None and prev.type == "comment" and self.doc.line_of(prev.end_byte) == line - 1:
            if self.doc.full_lines(prev.start_byte, prev.end_byte) is None:
                return
            comments.append(prev)
            line -= 1
            prev = prev.prev_sibling
        if not comments:
            return
        text = " ".join(self.doc.node_text(c) for c in comments)
        if not _STALE_COMMENT.search(text):
            return
        for c in comments:
            if c.start_byte in self.dropped_comments:
                return
        self.dropped_comments |= {c.start_byte for c in comments}
        start = self.doc.line_start(comments[-1].start_byte)
        end = self.doc.line_end(comments[0].start_byte)
        self.edit(start, end, "", fix)

    def _inside_replaced(self, node: Node) -> bool:
        return any(s <= node.start_byte and node.end_byte <= e for s, e in self.replaced)

    # -- the script's own functions ------------------------------------------------------------
    def _functions(self) -> dict[str, Node]:
        out = {}
        for fn in self.doc.find("function_definition"):
            name = fn.child_by_field_name("name")
            if name is not None:
                out[self.doc.masked_text(name)] = fn
        return out

    def _is_prefixer_command(self, cmd: Node) -> bool:
        name = command_name(self.doc, cmd)
        if name in PREFIX_TOOLS:
            text = self.doc.masked_text(cmd)
            return any(h in text for h in TIME_HINTS) and not writes_elsewhere(name, text)
        fn = self.functions.get(name or "")
        return fn is not None and self._is_prefixer_function(fn)

    def _is_prefixer_function(self, fn: Node) -> bool:
        body = fn.child_by_field_name("body")
        if body is None:
            return False
        stmts = [c for c in body.named_children if c.type != "comment"]
        if not stmts:
            return False
        for stmt in stmts:
            if stmt.type == "command" and command_name(self.doc, stmt) in PREFIX_TOOLS:
                text = self.doc.masked_text(stmt)
                if not any(h in text for h in TIME_HINTS) or writes_elsewhere(command_name(self.doc, stmt), text):
                    return False
            elif stmt.type == "while_statement" and is_read_date_loop(self.doc, stmt):
                continue
            else:
                return False
        return True

    # -- flow analysis -------------------------------------------------------------------------
    def flow_of(self, node: Node) -> Flow:
        """Follow one stream through a chain of plumbing (the inside of ``>( ... )``)."""
        stages, trailing = pipeline_stages(node)
        flow = Flow()
        self._follow(stages, trailing, flow)
        return flow

    def _follow(self, stages: list[Node], trailing: list[Node], flow: Flow) -> None:
        for i, stage in enumerate(stages):
            cmd, redirects = stage_command(stage)
            if i == len(stages) - 1:
                redirects = redirects + trailing
            if cmd is None:
                body = stage.child_by_field_name("body") if stage.type == "redirected_statement" else stage
                if body is not None and body.type == "while_statement" and is_read_date_loop(self.doc, body):
                    flow.prefixed = True
                    if self._stdout_redirect(redirects, flow):
                        return
                    continue
                flow.problem = f"unknown stage '{shorten(self.doc.masked_text(stage))}'"
                return
            name = command_name(self.doc, cmd)
            if name == "tee":
                if not self._tee(cmd, flow):
                    return
            elif name == "logger":
                if any(self.doc.masked_text(a) in ("-s", "--stderr") for a in cmd.children_by_field_name("argument")):
                    flow.problem = "logger -s also copies to stderr"
                    return
                flow.syslog = True
                return
            elif self._is_prefixer_command(cmd) or name == "cat":
                flow.prefixed = flow.prefixed or name != "cat"
            else:
                flow.problem = f"unknown stage '{shorten(self.doc.masked_text(cmd))}'"
                return
            if self._stdout_redirect(redirects, flow):
                return
        flow.inherited = True

    def _stdout_redirect(self, redirects: list[Node], flow: Flow) -> bool:
        """Record a stage's ``>> FILE``; True when the stream ends there."""
        for r in redirects:
            fd = redirect_fd(self.doc, r)
            op = redirect_operator(self.doc, r)
            dest = r.child_by_field_name("destination")
            if fd in (None, "1") and op in (">", ">>", ">|") and dest is not None:
                if dest.type == "process_substitution":
                    flow.problem = "nested process substitution on a stage's output"
                    return True
                flow.files.append((self.doc.node_text(dest), op == ">>"))
                return True
            if fd == "2" or (fd is None and op in ("<", "<<<")):
                continue
            flow.problem = f"redirect '{self.doc.masked_text(r)}' inside the plumbing"
            return True
        return False

    def _tee(self, cmd: Node, flow: Flow) -> bool:
        append = False
        for arg in cmd.children_by_field_name("argument"):
            text = self.doc.masked_text(arg)
            if arg.type == "process_substitution":
                inner = substitution_body(arg)
                sub = self.flow_of(inner) if inner is not None else Flow(problem="empty >( )")
                if sub.problem:
                    flow.problem = sub.problem
                    return False
                flow.files += sub.files
                flow.syslog |= sub.syslog
                flow.prefixed |= sub.prefixed
                if sub.inherited:
                    flow.problem = "a tee branch writes to the inherited output"
                    return False
            elif text in ("-a", "--append"):
                append = True
            elif text in ("-i", "--ignore-interrupts", "-p"):
                continue
            elif text.startswith("-"):
                flow.problem = f"tee option {text}"
                return False
            else:
                flow.files.append((self.doc.node_text(arg), append))
        return True

    # -- shape 1 and 2: N> >( ... ) ------------------------------------------------------------
    def _redirect_into_substitution(self, redirect: Node) -> None:
        dest = redirect.child_by_field_name("destination")
        if dest is None or dest.type != "process_substitution" or not self.doc.masked_text(dest).startswith(">("):
            return
        if self._inside_replaced(redirect) or enclosing_function_name(redirect, self.doc) in self._helper_functions():
            return
        if inside(redirect, "process_substitution", "command_substitution"):
            return
        fd = redirect_fd(self.doc, redirect) or "1"
        if fd not in ("1", "2") or redirect_operator(self.doc, redirect) not in (">", ">>"):
            self.finding(redirect.start_byte, f"left unchanged: redirect of fd {fd} into a process substitution")
            return
        inner = substitution_body(dest)
        flow = self.flow_of(inner) if inner is not None else Flow(problem="empty >( )")
        target = self._target(redirect, flow, fd)
        if target is None:
            return
        fix = f"redirect@{redirect.start_byte}"
        if target is INHERIT:
            self._drop_redirect(redirect, fix)
            return
        op = ">>" if target[1] else ">"
        explicit = redirect_fd(self.doc, redirect) or ""  # keep a written `1>` as `1>>`: minimal diff
        # only the operator and its destination: words after them are the command's arguments
        self.edit(redirect.start_byte, dest.end_byte, f"{explicit}{op} {target[0]}", fix)
        self.ensure_log_dir(redirect, target[0], fix)
        self.drop_stale_comment(redirect, fix)

    def _earlier_output(self, at: Node, fd: str) -> int | None:
        """The line of an earlier redirect that may have sent the script's ``fd`` somewhere other
        than what it inherited (an ``exec`` redirect, a fan-out helper call, one on an enclosing
        statement or on the same command), if any."""
        helpers_called = set(self._helper_functions())
        called_before = {command_name(self.doc, c) for c in self.doc.commands() if c.start_byte < at.start_byte}
        for node in self.doc.find("file_redirect"):
            if node.start_byte >= at.start_byte or at.start_byte < node.end_byte <= at.end_byte:
                continue
            if not writes_fd(self.doc, node, fd):
                continue
            owner = enclosing_function_name(node, self.doc)
            if owner is not None and owner != enclosing_function_name(at, self.doc) and owner not in called_before:
                continue  # a function not called before this point
            stmt = node.parent
            body = stmt.child_by_field_name("body") if stmt is not None and stmt.type == "redirected_statement" else None
            permanent = (body is not None and body.type == "command" and command_name(self.doc, body) == "exec"
                         and not body.children_by_field_name("argument"))
            encloses = stmt is not None and stmt.start_byte <= at.start_byte < stmt.end_byte
            if permanent or encloses:
                return self.doc.line_of(node.start_byte)
        for cmd in self.doc.commands():
            if (cmd.start_byte < at.start_byte and command_name(self.doc, cmd) in helpers_called
                    and enclosing_function_name(cmd, self.doc) not in helpers_called):
                return self.doc.line_of(cmd.start_byte)
        for node, path in helpers.source_commands(self.doc):
            text = self._release_text(node, path)
            if node.start_byte < at.start_byte and text is not None and top_level_fanouts(helpers.parse_helper(text))[0]:
                return self.doc.line_of(node.start_byte)
        return None

    def _drop_redirect(self, redirect: Node, fix: str) -> None:
        """Remove a redirect so the stream stays on the inherited fd; a bare ``exec`` left with
        nothing to do goes too."""
        stmt = redirect.parent
        body = stmt.child_by_field_name("body") if stmt is not None else None
        others = [r for r in stmt.children_by_field_name("redirect") if r != redirect] if stmt is not None else []
        if (body is not None and body.type == "command" and command_name(self.doc, body) == "exec"
                and not body.children_by_field_name("argument") and not others):
            span = self.doc.full_lines(stmt.start_byte, stmt.end_byte)
            if span is not None:
                self.remove_lines(span, fix)
                return
        src = self.doc.source
        start = redirect.start_byte
        line = self.doc.line_start(start)
        if not src[line:start].strip() and src[max(0, line - 2) : line] == b"\\\n":
            start = line - 2  # alone on a continued line: take the continuation before it too
        while start > 0 and src[start - 1 : start] in (b" ", b"\t"):
            start -= 1
        dest = redirect.child_by_field_name("destination")
        self.edit(start, dest.end_byte if dest is not None else redirect.end_byte, "", fix)

    def _target(self, at: Node, flow: Flow, fd: str) -> tuple[str, bool] | None:
        """The single file a stream should now go to, or None (with a finding) when unsafe."""
        stream = "stdout" if fd == "1" else "stderr"
        if flow.problem:
            self.finding(at.start_byte, f"left unchanged: unknown log fan-out shape ({flow.problem})",
                         suggestion="rewrite it by hand to plain >>/2>> redirection into /var/vcap/sys/log/<job>/")
            return None
        if len(flow.files) > 1:
            files = ", ".join(f for f, _ in flow.files)
            self.finding(at.start_byte, f"left unchanged: {stream} goes to several files ({files}); plain "
                         "redirection can write only one", suggestion="pick the file operators collect")
            return None
        if flow.inherited and self.script in AGENT_CAPTURED:
            self.finding(at.start_byte, f"left unchanged: {stream} also reaches the BOSH agent's own log of "
                         f"{self.script}; a plain redirect would take it away")
            return None
        if flow.inherited and flow.files:
            # tee's own output is the shell's stdout, also inside `2> >(tee ...)`
            earlier = self._earlier_output(at, "1")
            if earlier is not None:
                self.finding(at.start_byte, f"left unchanged: {stream} is also copied to the script's stdout, "
                             f"which line {earlier} may send to a log file; plain redirection would drop that copy",
                             suggestion="rewrite it by hand so each line still reaches every file it reached")
                return None
        if flow.inherited:
            self.finding(at.start_byte, f"{stream} was also copied to the script's inherited stdout "
                         "(discarded when monit runs it); that copy is dropped", "info")
        if flow.files:
            path, append = flow.files[0]
            if not path.strip("\"'").endswith(".log"):
                self.finding(at.start_byte, f"kept log file {path} does not end in .log; BOSH's log "
                             "rotation only covers *.log files", "info")
            if flow.syslog:
                self.finding(at.start_byte, f"{stream} no longer goes to syslog; operators forward "
                             f"{path} with their log forwarder (e.g. syslog-release)", "info")
            return path, append
        if flow.syslog and self.script in AGENT_CAPTURED and self.script != "drain":
            self.finding(at.start_byte, f"{stream} went only to syslog; it now stays on the script's "
                         f"{stream}, which the BOSH agent records in {LOG_ROOT}/{self.job.name}/"
                         f"{self.script}.{stream}.log", "info")
            return INHERIT
        if flow.syslog and self.script == "drain" and stream == "stdout":
            self.finding(at.start_byte, "left unchanged: drain's stdout is read by BOSH (the drain "
                         "protocol); choose a log file for this output by hand")
            return None
        if flow.syslog:
            path = f"{LOG_ROOT}/{self.job.name}/{self.script}.{stream}.log"
            self.finding(at.start_byte, f"{stream} went only to syslog; it now goes to {path}",
                         suggestion="make sure operators collect this file")
            return path, True
        self.finding(at.start_byte, f"left unchanged: {stream} reaches no file and no syslog")
        return None

    # -- shape 3: cmd 2>&1 | tee -a FILE | logger ---------------------------------------------
    def _statement_pipeline(self, pipe: Node) -> None:
        if self._inside_replaced(pipe) or inside(pipe, "process_substitution", "command_substitution"):
            return
        stages = [c for c in pipe.named_children if c.type != "comment"]
        if len(stages) < 2:
            return
        names = [command_name(self.doc, c) if c is not None else None for c in (stage_command(s)[0] for s in stages[1:])]
        if not any(n in ("logger", "tee") for n in names):
            return
        first_cmd, first_redirects = stage_command(stages[0])
        stderr_too = "|&" in [self.doc.masked_text(c) for c in pipe.children if not c.is_named]
        kept_redirects = []
        for r in first_redirects:
            dest = r.child_by_field_name("destination")
            if dest is not None and dest.end_byte < r.end_byte and self.doc.masked[dest.end_byte : r.end_byte].strip():
                self.finding(pipe.start_byte, "left unchanged: the piped command has arguments after a redirect")
                return
            if redirect_fd(self.doc, r) == "2" and redirect_operator(self.doc, r) == ">&" and self.doc.masked_text(r.child_by_field_name("destination")) == "1":
                stderr_too = True
            elif redirect_fd(self.doc, r) in (None, "1") and redirect_operator(self.doc, r) not in ("<", "<<<", "<<"):
                self.finding(pipe.start_byte, "left unchanged: the piped command redirects its own stdout")
                return
            else:
                kept_redirects.append(r)
        if first_cmd is None or command_name(self.doc, first_cmd) == "exec":
            self.finding(pipe.start_byte, "left unchanged: unusual command before the log pipeline")
            return
        parent = pipe.parent
        status_problem = self._status_matters(pipe, parent)
        if status_problem:
            self.finding(pipe.start_byte, f"left unchanged: {status_problem}",
                         suggestion="rewrite it by hand as 'cmd >> FILE 2>&1' if the exit status does not matter")
            return
        flow = Flow()
        self._follow(stages[1:], [], flow)
        if stderr_too and not flow.files and flow.syslog and not flow.problem:
            out = self._target(pipe, flow, "1")
            err = self._target(pipe, flow, "2")
            if out is None or err is None:
                return
            redirect = "" if out is INHERIT else f">> {out[0]} 2>> {err[0]}"
        else:
            target = self._target(pipe, flow, "1")
            if target is None:
                return
            if target is INHERIT:
                redirect = ""
            else:
                redirect = f"{'>>' if target[1] else '>'} {target[0]}" + (" 2>&1" if stderr_too else "")
        head = self.doc.node_text(first_cmd)
        rest = "".join(" " + self.doc.node_text(r) for r in kept_redirects)
        if stderr_too and not redirect:
            rest += " 2>&1"
        text = f"{head}{rest} {redirect}".rstrip()
        self.edit(pipe.start_byte, pipe.end_byte, text, f"pipeline@{pipe.start_byte}")
        for path in re.findall(r">> (\S+)", redirect):
            self.ensure_log_dir(pipe, path, f"pipeline@{pipe.start_byte}")
        self.drop_stale_comment(pipe, f"pipeline@{pipe.start_byte}")

    def _status_matters(self, pipe: Node, parent: Node | None) -> str | None:
        """Why the pipeline's exit status (that of its last stage) must not change, if it must not."""
        nxt = pipe.next_sibling
        if nxt is not None and self.doc.masked_text(nxt) == "&":
            return "the pipeline runs in the background, so $! would change from the last stage to the command"
        if parent is None or parent.type not in ("program", "compound_statement", "do_group", "case_item",
                                                  "if_statement", "elif_clause", "else_clause"):
            return "the pipeline's exit status is tested; without the pipe it would be the command's own"
        if parent.type in ("if_statement", "elif_clause"):
            cond = parent.child_by_field_name("condition")
            if cond is not None and cond.start_byte <= pipe.start_byte < cond.end_byte:
                return "the pipeline is a condition; without the pipe its status would be the command's own"
        masked = self.doc.masked
        if pipefail_before(masked, pipe.start_byte):
            return None
        if errexit_may_be_on(masked):
            return "'set -e' is on without pipefail: a failing command would now stop the script"
        owner = tail_owner(pipe, self.doc)
        if owner == "":
            return "it is the script's last command, so the script's exit status would change"
        if owner:
            return f"it is the last command of function {owner}, so the function's return status would change"
        after = masked[pipe.end_byte : pipe.end_byte + 200].split(b"\n\n")[0]
        if b"$?" in after or b"PIPESTATUS" in after:
            return "the next lines read $? or PIPESTATUS"
        nxt = pipe.next_named_sibling
        while nxt is not None and nxt.type == "comment":
            nxt = nxt.next_named_sibling
        if (nxt is not None and nxt.type == "command" and command_name(self.doc, nxt) in ("exit", "return")
                and not nxt.children_by_field_name("argument")):
            return f"the next command, a bare '{command_name(self.doc, nxt)}', passes on the pipeline's status"
        return None

    # -- shape 5: tee_output_to_sys_log-style helper calls -------------------------------------
    def _helper_functions(self) -> dict[str, tuple[Document, Node]]:
        """Fan-out functions the script can call: its own, and those of the helpers it sources."""
        if hasattr(self, "_helper_fns"):
            return self._helper_fns
        found: dict[str, tuple[Document, Node]] = {}
        for name, fn in self.functions.items():
            if is_fanout_function(self.doc, fn):
                found[name] = (self.doc, fn)
        for node, path in helpers.source_commands(self.doc):
            text = self._helper_text(node, path)
            if text is None:
                continue
            hdoc = helpers.parse_helper(text)
            for fn in hdoc.find("function_definition"):
                name = fn.child_by_field_name("name")
                if name is not None and is_fanout_function(hdoc, fn):
                    found.setdefault(hdoc.masked_text(name), (hdoc, fn))
        self._helper_fns = found
        return found

    def _helper_text(self, node: Node, path: str) -> str | None:
        """A sourced helper's text: the release's own, else a known copy (``syslog_utils.sh``)
        where the path resolves to nothing in the release (``migrator.helpers.lookup``)."""
        return helpers.lookup(self.job, self.doc, node, path).text

    def _release_text(self, node: Node, path: str) -> str | None:
        """A sourced helper's text only when the release carries it (side effects of sourcing
        are never assumed from a known copy)."""
        found = helpers.lookup(self.job, self.doc, node, path)
        return found.text if found.origin == "release" else None

    def _fanout_helper_calls(self) -> None:
        fns = self._helper_functions()
        if not fns:
            return
        for cmd in self.doc.commands():
            name = command_name(self.doc, cmd)
            if name not in fns or enclosing_function_name(cmd, self.doc) == name:
                continue
            if self._inside_replaced(cmd):
                continue
            hdoc, fn = fns[name]
            args = [self.doc.node_text(a) for a in cmd.children_by_field_name("argument")]
            lines = self._expand_fanout(hdoc, fn, args, cmd)
            if lines is None:
                continue
            span = self.doc.full_lines(cmd.start_byte, cmd.end_byte)
            if span is None:
                self.finding(cmd.start_byte, f"left unchanged: {name} shares its line with other code")
                continue
            indent = self.doc.slice(span[0], cmd.start_byte)
            dirs = {folder_of(line.split(" ", 2)[2]) for line in lines}
            made = [d for d in sorted(x for x in dirs if x) if not self._dir_made_before(cmd, d)]
            self.ensured += [(d, cmd) for d in made]
            lines = [f"mkdir -p {d}" for d in made] + lines
            text = "".join(f"{indent}{line}\n" for line in lines)
            self.edit(span[0], span[1], text, f"helper@{cmd.start_byte}")
            self.finding(cmd.start_byte, f"{name} replaced by the plain redirections it performed "
                         "(syslog copies dropped)", "info")
        self._drop_unused_sources(fns)

    def _sourcing_side_effects(self) -> None:
        """A helper that fans output out as a side effect of being sourced (older ``utils.sh``).

        The ``source`` line is replaced by the redirections it performed only when nothing else
        the helper provides is used; otherwise the line stays, with a finding.
        """
        for node, path in helpers.source_commands(self.doc):
            text = self._release_text(node, path)
            if text is None or self._inside_replaced(node):
                continue
            hdoc = helpers.parse_helper(text)
            fanouts, others = top_level_fanouts(hdoc)
            if not fanouts:
                continue
            info = helpers.describe(path, text)
            used = info.used_by(self.doc, exclude=tuple(self.replaced))
            where = f"{path} (line {hdoc.line_of(fanouts[0].start_byte)})"
            if used or others:
                needed = ", ".join(sorted(used)) or "its other top-level commands"
                self.finding(node.start_byte, f"sourcing {where} fans stdout/stderr out to syslog as a side "
                             f"effect; the line stays because the script still needs {needed}",
                             suggestion="migrate the helper itself, or copy what the script needs from it")
                continue
            redirects = [r for stmt in fanouts for r in stmt.children_by_field_name("redirect")]
            args = [self.doc.node_text(a) for a in node.children_by_field_name("argument")[1:]]
            lines = self._exec_lines(hdoc, redirects, {}, helper_constants(hdoc), args, node)
            span = self.doc.full_lines(node.start_byte, node.end_byte)
            if lines is None or span is None:
                continue
            indent = self.doc.slice(span[0], node.start_byte)
            dirs = [d for d in sorted({folder_of(ln.split(" ", 2)[2]) for ln in lines} - {None})
                    if not self._dir_made_before(node, d)]
            self.ensured += [(d, node) for d in dirs]
            text = "".join(f"{indent}{ln}\n" for ln in [f"mkdir -p {d}" for d in dirs] + lines)
            self.edit(span[0], span[1], text, f"source@{node.start_byte}")
            self.finding(node.start_byte, f"sourcing {where} only redirected output through syslog "
                         "fan-out; replaced by the plain redirections to the same files", "info")

    def _expand_fanout(self, hdoc: Document, fn: Node, args: list[str], call: Node) -> list[str] | None:
        redirects = [r for r in hdoc.find("file_redirect", within=fn)]
        # `$(basename "$0")` in the helper is the calling script's name: the name it runs under
        # when it is a job's own bin/ script, else the same expression
        rendered = self.job.rendered_path(self.doc.path)
        name = self.script if rendered and rendered.startswith("bin/") and not self._is_library() else '$(basename "$0")'
        return self._exec_lines(hdoc, redirects, positional_locals(hdoc, fn), {}, args, call,
                                own=own_locals(hdoc, fn, name))

    def _exec_lines(self, hdoc: Document, redirects: list[Node], params: dict[str, int],
                    constants: dict[str, str], args: list[str], call: Node,
                    own: dict[str, str | None] | None = None) -> list[str] | None:
        """The plain ``exec`` redirections equivalent to a helper's fan-out redirects, with the
        helper's parameters, its own locals (``own``) and its constants put in; None (with a
        finding) when that is not plain."""
        lines = []
        noted = len(self.result.findings)
        stdout_moved = False  # an earlier redirect of the helper's already moved stdout
        for redirect in redirects:
            dest = redirect.child_by_field_name("destination")
            if dest is None or dest.type != "process_substitution":
                continue
            fd = redirect_fd(hdoc, redirect) or "1"
            sub = _Rewrite(self.cm, self.job, hdoc)
            inner = substitution_body(dest)
            flow = sub.flow_of(inner) if inner is not None else Flow(problem="empty")
            if flow.inherited and flow.files and stdout_moved and not flow.problem:
                self.finding(call.start_byte, "left unchanged: the helper's tee also copies its output to the "
                             "stdout its earlier line sends to a log file; plain redirection would drop that copy",
                             suggestion="rewrite it by hand so each line still reaches every file it reached")
                return None
            stdout_moved |= fd == "1"
            target = self._target(call, flow, fd)
            if target is None:
                return None
            raw = target[0]
            if own:
                unknown = [n for n in re.findall(r"\$\{?(\w+)", raw) if n in own and own[n] is None]
                if unknown:
                    self.result.findings[noted:] = [f for f in self.result.findings[noted:] if f.severity != "info"]
                    self.finding(call.start_byte, f"left unchanged: the helper's log file name uses its own variable "
                                 f"{unknown[0]}, whose value the tool cannot work out ({shorten(raw)})",
                                 suggestion="rewrite the call by hand as 'exec >> FILE' with the file it wrote")
                    return None
                raw = put_constants(raw, {k: v for k, v in own.items() if v is not None})
            path = substitute_arguments(put_constants(raw, constants), params, args)
            if path is None:
                # the notes about the rewrite (syslog dropped, ...) describe a rewrite not made
                self.result.findings[noted:] = [f for f in self.result.findings[noted:] if f.severity != "info"]
                self.finding(call.start_byte, "left unchanged: cannot work out which file the helper wrote "
                             f"from its arguments ({' '.join(args) or 'none'})")
                return None
            op = ">>" if target[1] else ">"
            lines.append(f"exec {op} {path}" if fd == "1" else f"exec 2{op} {path}")
        return lines or None

    def _drop_unused_sources(self, fns: dict[str, tuple[Document, Node]]) -> None:
        for node, path in helpers.source_commands(self.doc):
            text = self._helper_text(node, path)
            if text is None:
                continue
            info = helpers.describe(path, text)
            if not info.functions or not info.functions & set(fns) or info.side_effects:
                continue
            if info.used_by(self.doc, exclude=tuple(self.replaced)):
                continue
            span = self.doc.full_lines(node.start_byte, node.end_byte)
            if span is not None and not self._inside_replaced(node):
                self.remove_lines(span, f"source@{node.start_byte}")

    # -- shape 4: prefixer functions left unused -----------------------------------------------
    def _remove_unused_prefixers(self) -> None:
        if not self.replaced or self._is_library():
            return
        for name, fn in self.functions.items():
            if not (self._is_prefixer_function(fn) or is_fanout_function(self.doc, fn)):
                continue
            if self._inside_replaced(fn) or self._still_called(name, fn):
                continue
            span = self.doc.full_lines(fn.start_byte, fn.end_byte)
            if span is None:
                continue
            self.remove_lines(span, f"function@{fn.start_byte}")
        # function removal may make another removable (a fan-out helper using a prefixer)
        for name, fn in self.functions.items():
            if self._inside_replaced(fn) or not self._is_prefixer_function(fn) or self._still_called(name, fn):
                continue
            span = self.doc.full_lines(fn.start_byte, fn.end_byte)
            if span is not None:
                self.remove_lines(span, f"function@{fn.start_byte}")

    def _is_library(self) -> bool:
        """Is this file sourced by other scripts (a helper library)? Its functions are used from
        elsewhere, so none is removed as unused: a job's helper outside ``bin/``, or one that a
        script of the job sources."""
        rendered = self.job.rendered_path(self.doc.path)
        if rendered is None:
            return False
        if not rendered.startswith("bin/"):
            return True
        target = f"/var/vcap/jobs/{self.job.name}/{rendered}"
        return target in self.job.helpers or any(target in text for text in self.job.files.values())

    def _still_called(self, name: str, fn: Node) -> bool:
        return mentioned_outside(self.doc, name, fn, self.replaced)


#: The widely copied ``syslog_utils.sh``, as migrator.helpers knows it (kept under this name for
#: the tests that feed it in as a release's own helper).
KNOWN_SYSLOG_UTILS = helpers.KNOWN_TEXTS["syslog_utils.sh"]
