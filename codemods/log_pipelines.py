"""Codemod ``log-pipelines``: tee/logger/awk log fan-out -> plain ``>>``/``2>>`` redirection."""

from __future__ import annotations

import re
from typing import ClassVar

from tree_sitter import Node

from codemods._log_helper_calls import HelperCalls
from codemods._log_shapes import (
    device_target,
    enclosing_function_name,
    fd_uses,
    folder_of,
    helper_constants,
    inside,
    is_fanout_function,
    is_read_date_loop,
    mentioned_outside,
    misread_command,
    normal_path,
    output_reader,
    pipefail_before,
    pipeline_stages,
    properties_read,
    ruby_strings,
    runs_before,
    shorten,
    stage_command,
    substitution_body,
    tail_owner,
    top_statement,
    writes_elsewhere,
    writes_fd,
)
from codemods._log_targets import Flow, Target, Targets
from migrator import helpers
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext
from migrator.differences import DeclaredDifferences, shapes
from migrator.document import Document, command_name
from migrator.shell import errexit_may_be_on, redirect_fd, redirect_operator

PREFIX_TOOLS = {"awk", "gawk", "mawk", "nawk", "perl", "sed", "ts"}
#: nodes whose children are statements run in order (a `mkdir -p X; ` can go before one of them)
_STATEMENT_LISTS = {"program", "compound_statement", "do_group", "case_item", "if_statement", "elif_clause",
                    "else_clause", "subshell", "while_statement"}
_STALE_COMMENT = re.compile(r"syslog|logger|\btee\b|\bfan(?:s|ned)?\b|fan-out|timestamp", re.I)
TIME_HINTS = ("date", "strftime", "localtime", "systime", "%Y", "%H:%M", "time")


def stamps(tool: str | None, text: str) -> bool:
    """Does this prefixer tool's command put a time on each line? ``ts`` always does (its
    default format); awk/perl/sed only with a time format or a clock call in their program."""
    return tool == "ts" or any(h in text for h in TIME_HINTS)


class LogPipelines(Codemod):
    """Replace tee/logger/awk log fan-out with plain redirection into the job's log files.

    What it does: finds output redirected into a process substitution
    (``exec > >(tee -a >(logger ...) | awk ... >> FILE)``, the same on the main process's own
    command) and statements piped into log plumbing (``cmd 2>&1 | tee -a FILE | logger``), works out
    which files each stream reached, and rewrites the redirect to ``>> FILE`` / ``2>> FILE``.
    Calls of fan-out helpers such as ``tee_output_to_sys_log`` become the ``exec`` redirections the
    helper performed (a guard clause of the helper stays as the condition of those lines where the
    tool cannot tell it is false); timestamp prefixer functions left unused are removed.

    Whose output matters: monit discards a control script's own stdout, but errands (``bin/run``),
    the BOSH hooks (``pre-start``, ``post-start``, ``post-deploy``, ``drain``, ...) and BBR scripts
    (``bin/bbr/*``) are read by the BOSH agent, the operator or BBR. There a ``tee`` to the
    inherited stream stays (only the syslog and prefixer parts go), and output that went to syslog
    stays on the script's own stream instead, except drain's and BBR metadata's stdout, which are
    answers, not logs.

    Why it is bad: every log line starts several processes, output is lost or reordered when one
    of them dies, and forwarding to syslog is the operator's choice (syslog-release), not the job's.

    Fix safety: a stream is only rewritten when every destination is understood. The log files the
    old code wrote are kept, so operators collect the same files; a stream that went only to
    syslog goes to ``/var/vcap/sys/log/<job>/<script>.stdout.log`` (or ``.stderr.log``), with a
    finding. A fan-out that wrote two files, an unknown stage in the plumbing, a pipeline whose exit
    status would change, or a guard clause whose status matters is left alone with a finding.
    """

    id = "log-pipelines"
    summary = "Replace tee/logger/awk log fan-out with plain >>/2>> redirection"
    rationale = (
        "The exemplar-release guide, 'The Ol' tee and logger Approach': remove the fan-out and "
        "redirect stdout/stderr into /var/vcap/sys/log/<job>/ with plain redirection."
    )
    triggers = (b"logger", b"tee", b">(", b"source ", b". /")
    differences: ClassVar[DeclaredDifferences] = DeclaredDifferences(
        "calls of tee/logger/awk/perl/sed/ts/date (and basename naming a syslog tag) that fed a log pipeline "
        "may disappear (redirect targets are not argv); the log folder may be created where the fan-out "
        "helper created it",
        may_vanish=(shapes("tee", "logger", "awk", "perl", "sed", "ts", fed=True), shapes("date", "basename", feeding=True),
                    shapes("mkdir", argument_under="/var/vcap/sys/log/")),
        may_appear=(shapes("mkdir", argument_under="/var/vcap/sys/log/"),),
        vanishing_functions=frozenset({"tee_output_to_sys_log"}),
    )
    introduces = frozenset({"mkdir"})  # the folder of a log file a plain redirect now opens

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        return _Rewrite(self, job, doc).run()


class _Rewrite(HelperCalls, Targets):
    """One pass of the codemod over one document (state for a single transform call)."""

    def __init__(self, codemod: LogPipelines, job: JobContext, doc: Document):
        self.cm = codemod
        self.job = job
        self.doc = doc
        self.result = CodemodResult()
        self.replaced: list[tuple[int, int]] = []  # byte ranges whose old text goes away
        self.script = job.script_name(doc.path)
        self.rendered = job.rendered_path(doc.path)
        self.reader = output_reader(self.rendered)
        self.functions = self._functions()
        self.ensured: list[tuple[str, Node]] = []  # log folders this pass creates, before which statement
        self.dropped_comments: set[int] = set()
        self.fd_origins: dict[str, str] = {}  # fds saved from the script's streams (`3>&1`), while following one
        self.noted_properties: dict[str, str] = {}  # property -> the fix whose finding named it
        #: (fix, kind) -> the streams a per-stream finding of one rewrite already names (a helper
        #: call rewrites both streams under one fix: one finding says "stdout and stderr")
        self.stream_notes: dict[tuple[str, str, int], list[str]] = {}  # (fix, template, statement)

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
        drops: dict[int, tuple[Node, list[tuple[Node, str]]]] = {}
        for node in self.doc.find("file_redirect"):
            self._redirect_into_substitution(node, drops)
        for stmt, dropped in drops.values():
            self._drop_redirects(stmt, dropped)
        for node in self.doc.find("pipeline"):
            self._statement_pipeline(node)
        self._fanout_helper_calls()
        self._sourcing_side_effects()
        self._remove_unused_prefixers()
        self._close_gaps()
        return self.result

    def _close_gaps(self) -> None:
        """Removals next to each other (a prefixer function, the comment and the ``exec`` that
        used it) must not leave two blank lines where the original had one."""
        src = self.doc.source
        removed = sorted((e.start, e.end) for e in self.result.edits if not e.text and e.start < e.end)

        def gone(start: int, end: int) -> bool:
            return any(s <= start and end <= e for s, e in removed)

        for edit in [e for e in self.result.edits if not e.text and e.start < e.end]:
            if edit.start != self.doc.line_start(edit.start) or (edit.end < len(src) and src[edit.end - 1 : edit.end] != b"\n"):
                continue
            back = edit.start  # the nearest kept line before the removal
            while back > 0:
                line = self.doc.line_start(back - 1)
                if not gone(line, back):
                    break
                back = line
            if back > 0 and src[self.doc.line_start(back - 1) : back].strip():
                continue
            ahead = edit.end  # the nearest kept line after it
            while ahead < len(src) and gone(ahead, self.doc.line_end(ahead)):
                ahead = self.doc.line_end(ahead)
            if ahead >= len(src) or back == 0:
                continue
            end = self.doc.line_end(ahead)
            if not src[ahead:end].strip() and not any(s < end and ahead < e for s, e in
                                                      ((x.start, x.end) for x in self.result.edits)):
                self.result.edits.append(Edit(ahead, end, "", edit.fix))
                removed.append((ahead, end))

    # -- findings and edits --------------------------------------------------------------------
    def finding(self, offset: int, message: str, severity="review", suggestion=None, fix: str = "") -> None:
        self.result.findings.append(self.cm.finding(self.doc, offset, message, severity, suggestion, fix))

    def abandon(self, fix: str) -> None:
        """A rewrite is not made after all: the findings that describe it go."""
        self.result.findings = [f for f in self.result.findings if f.fix != fix]
        self.noted_properties = {k: v for k, v in self.noted_properties.items() if v != fix}
        self.stream_notes = {k: v for k, v in self.stream_notes.items() if k[0] != fix}

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
                         suggestion="make sure the script creates it before this line", fix=fix)
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
                             "when it is missing", suggestion="make sure the script creates it first", fix=fix)
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
        return self._dir_made_by_helper(at, folder)

    def _dir_made_by_helper(self, at: Node, folder: str) -> bool:
        """Does a helper the script sources before ``at`` surely create ``folder``? Only a ``mkdir`` at the helper's top level, outside any condition or function and
        after no ``exit``/``return``, counts; its path may use the helper's own literal variables."""
        for node, path in helpers.source_commands(self.doc):
            if node.start_byte >= at.start_byte or not runs_before(node, at):
                continue
            text = self._sourced_text(node, path)
            if text is None:
                continue
            hdoc = helpers.parse_helper(text)
            consts = {**self._constants(), **helper_constants(hdoc)}
            want = normal_path(folder, consts)
            for stmt in hdoc.root.named_children:
                if stmt.type == "comment":
                    continue
                if any(command_name(hdoc, c) in ("exit", "return", "exec") for c in hdoc.find("command", within=stmt)):
                    break  # the helper may stop (or replace the shell) here
                cmd = stmt.child_by_field_name("body") if stmt.type == "redirected_statement" else stmt
                if cmd is None or cmd.type != "command" or command_name(hdoc, cmd) != "mkdir":
                    continue
                if any(normal_path(hdoc.node_text(arg), consts) == want for arg in cmd.children_by_field_name("argument")):
                    return True
        return False

    def _sourced_text(self, node: Node, path: str) -> str | None:
        """The release's own text of a sourced helper; a bare name (``. setup_logs``, found on
        PATH) is the job's template rendered next to this script under that name."""
        text = self._release_text(node, path)
        if text is not None or "/" in path or not self.rendered:
            return text
        folder = self.rendered.rsplit("/", 1)[0] if "/" in self.rendered else ""
        for source, rendered in self.job.templates.items():
            if rendered == (f"{folder}/{path}" if folder else path):
                return self.job.files.get(f"templates/{source}")
        return None

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
        control = [t for t in self.doc.tags_in(cmd.start_byte, cmd.end_byte) if t.kind == "control"]
        if any(re.match(r"(else|elsif|when)\b", t.code) for t in control):
            # `<% if p("fmt") == "x" %>perl ...<% else %>awk ...<% end %>`: each alternative ERB
            # may leave must be a prefixer by itself (masked, they read as one command)
            cuts = [cmd.start_byte] + [b for t in control for b in (t.start, t.end)] + [cmd.end_byte]
            texts = [self.doc.slice(a, b).strip() for a, b in zip(cuts[::2], cuts[1::2])]
            return all(self._is_prefixer_text(t) for t in texts if t) and any(texts)
        if name in PREFIX_TOOLS:
            text = self.doc.masked_text(cmd)
            return stamps(name, text) and not writes_elsewhere(name, text)
        fn = self.functions.get(name or "")
        if fn is not None:
            return self._is_prefixer_function(fn)
        return self._erb_chosen_prefixer(cmd)

    def _erb_chosen_prefixer(self, cmd: Node) -> bool:
        """``| <%= p("logging.format.timestamp") == "rfc3339" ? "stamp_rfc3339" : "stamp" %>``: a
        stage whose command ERB picks, by a property, among the script's prefixers."""
        name = cmd.child_by_field_name("name")
        if name is None or cmd.children_by_field_name("argument"):
            return False
        tags = self.doc.tags_in(name.start_byte, name.end_byte)
        if len(tags) != 1 or not tags[0].is_output or (tags[0].start, tags[0].end) != (name.start_byte, name.end_byte):
            return False
        words = ruby_strings(tags[0].code)
        if not words or not properties_read(self.doc, name.start_byte, name.end_byte):
            return False
        return all(self._is_prefixer_text(word) for word in words)

    def _is_prefixer_text(self, text: str) -> bool:
        """One command as text (an alternative ERB may leave): a prefixer function's name, or a
        prefixer tool with a time format that writes nowhere else."""
        fn = self.functions.get(text.strip())
        if fn is not None:
            return self._is_prefixer_function(fn)
        tool = text.split(None, 1)[0] if text.strip() else ""
        return tool in PREFIX_TOOLS and stamps(tool, text) and not writes_elsewhere(tool, text)

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
                if not stamps(command_name(self.doc, stmt), text) or writes_elsewhere(command_name(self.doc, stmt), text):
                    return False
            elif stmt.type == "while_statement" and is_read_date_loop(self.doc, stmt):
                continue
            else:
                return False
        return True

    def _prefixer_source(self, cmd: Node) -> Node:
        """Where a prefixer stage is written: its function's definition, or the stage itself."""
        fn = self.functions.get(command_name(self.doc, cmd) or "")
        return fn if fn is not None else cmd

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
                    flow.prefixers.append((self.doc, body))
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
            elif name == "cat":
                pass
            elif self._is_prefixer_command(cmd):
                flow.prefixed = True
                flow.prefixers.append((self.doc, self._prefixer_source(cmd)))
            else:
                flow.problem = f"unknown stage '{shorten(self.doc.masked_text(cmd))}'"
                return
            if self._stdout_redirect(redirects, flow):
                return
        flow.inherited_fds.add("1")

    def _origin(self, fd: str) -> str | None:
        """Which of the script's own streams fd ``fd`` is, inside the plumbing being followed."""
        if fd in ("1", "2"):
            return fd
        return self.fd_origins.get(fd)

    def _stdout_redirect(self, redirects: list[Node], flow: Flow) -> bool:
        """Record where a stage's stdout goes (a file, or ``>&3`` back to a saved stream); True
        when the stream ends there."""
        for r in redirects:
            fd = redirect_fd(self.doc, r)
            op = redirect_operator(self.doc, r)
            dest = r.child_by_field_name("destination")
            if fd in (None, "1") and op == ">&" and dest is not None and dest.type == "number":
                origin = self._origin(self.doc.masked_text(dest))
                if origin is None:
                    flow.problem = f"redirect '{self.doc.masked_text(r)}' to a descriptor the tool cannot follow"
                    return True
                flow.inherited_fds.add(origin)
                flow.via.setdefault(origin, self.doc.masked_text(dest))
                return True
            if fd in (None, "1") and op in (">", ">>", ">|") and dest is not None:
                if dest.type == "process_substitution":
                    flow.problem = "nested process substitution on a stage's output"
                    return True
                device = device_target(self.doc.node_text(dest))
                if device is not None:
                    return self._device(device, flow)
                flow.files.append((self.doc.node_text(dest), op == ">>"))
                return True
            if fd == "2" or (fd is None and op in ("<", "<<<")):
                continue
            flow.problem = f"redirect '{self.doc.masked_text(r)}' inside the plumbing"
            return True
        return False

    def _device(self, device: str, flow: Flow) -> bool:
        """Output into ``/dev/stdout``, ``/dev/stderr``, ``/dev/fd/N`` or ``/dev/null``."""
        if device == "":
            return True  # /dev/null: this copy was thrown away
        origin = self._origin(device) if device.isdigit() else None
        if origin is None:
            flow.problem = "output into a device the tool cannot follow"
        else:
            flow.inherited_fds.add(origin)
            flow.via.setdefault(origin, device)
        return True

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
                flow.prefixers += sub.prefixers
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
            elif (device := device_target(self.doc.node_text(arg))) is not None:
                self._device(device, flow)
                if flow.problem:
                    return False
            else:
                flow.files.append((self.doc.node_text(arg), append))
        return True

    def _saved_fds(self, at: Node) -> dict[str, str]:
        """Descriptors that hold one of the script's own streams at ``at``: ``exec 3>&1`` on an
        earlier line, or ``3>&1`` earlier on the same statement (``exec 3>&1 1> >(... >&3)``)."""
        saved: dict[str, str] = {}
        stmt = at.parent
        for node in self.doc.find("file_redirect"):
            if node.start_byte >= at.start_byte:
                break
            parent = node.parent
            same = parent == stmt
            body = parent.child_by_field_name("body") if parent is not None and parent.type == "redirected_statement" else None
            bare_exec = (body is not None and body.type == "command" and command_name(self.doc, body) == "exec"
                         and not body.children_by_field_name("argument"))
            if not same and not (bare_exec and runs_before(parent, at)):
                continue
            fd = redirect_fd(self.doc, node)
            dest = node.child_by_field_name("destination")
            if fd is None or fd in ("0", "1", "2") or dest is None:
                continue
            if redirect_operator(self.doc, node) == ">&" and dest.type == "number":
                origin = saved.get(self.doc.masked_text(dest), self.doc.masked_text(dest))
                if origin in ("1", "2"):
                    saved[fd] = origin
                    continue
            saved.pop(fd, None)
        return saved

    # -- shape 1 and 2: N> >( ... ) ------------------------------------------------------------
    def _redirect_into_substitution(self, redirect: Node, drops: dict[int, tuple[Node, list[tuple[Node, str]]]]) -> None:
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
        self.fd_origins = self._saved_fds(redirect)
        flow = self.flow_of(inner) if inner is not None else Flow(problem="empty >( )")
        self.fd_origins = {}
        fix = f"redirect@{redirect.start_byte}"
        target = self._target(redirect, flow, fd, fix)
        if target is None:
            return
        if target.via is not None and (target.via == target.fd or self._earlier_output(redirect, target.fd) is None):
            target = Target(target.file, target.fd)  # the stream still is what the saved descriptor holds
        if target.file is None and target.fd == fd and target.via is None:
            stmt = redirect.parent
            drops.setdefault(stmt.id, (stmt, []))[1].append((redirect, fix))
            self.replaced.append((redirect.start_byte, redirect.end_byte))
            self.drop_stale_comment(redirect, fix)
            return
        explicit = redirect_fd(self.doc, redirect) or ""  # keep a written `1>` as `1>>`: minimal diff
        if target.file is None:
            text = f"{fd if fd != '1' else explicit}>&{target.via or target.fd}"
        elif target.fd is not None:
            text = f"{explicit}> >({self._tee_text(target)})"
        else:
            text = f"{explicit}{'>>' if target.file[1] else '>'} {target.file[0]}"
        # only the operator and its destination: words after them are the command's arguments
        self.edit(redirect.start_byte, dest.end_byte, text, fix)
        if target.file is not None and target.fd is None:
            self.ensure_log_dir(redirect, target.file[0], fix)
        self.drop_stale_comment(redirect, fix)

    @staticmethod
    def _tee_text(target: Target) -> str:
        assert target.file is not None
        path, append = target.file
        out = target.via or target.fd
        return f"tee {'-a ' if append else ''}{path}" + ("" if out == "1" else f" >&{out}")

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
            if node.start_byte < at.start_byte and text is not None and self._sources_fanout(text):
                return self.doc.line_of(node.start_byte)
        return None

    def _drop_redirects(self, stmt: Node, dropped: list[tuple[Node, str]]) -> None:
        """Remove redirects so their streams stay on the inherited fds. Descriptors saved only for
        them (``3>&1``) go too, and a bare ``exec`` left with nothing to do goes whole."""
        fix = dropped[0][1]
        gone = [r for r, _ in dropped]
        spans = [(r.start_byte, r.end_byte) for r in gone]
        for r in stmt.children_by_field_name("redirect"):
            fd = redirect_fd(self.doc, r)
            dest = r.child_by_field_name("destination")
            if (r in gone or fd is None or fd in ("0", "1", "2") or redirect_operator(self.doc, r) != ">&"
                    or dest is None or dest.type != "number"):
                continue
            if not fd_uses(self.doc.masked, fd, spans + [(r.start_byte, r.end_byte)]):
                gone.append(r)
                dropped.append((r, fix))
                spans.append((r.start_byte, r.end_byte))
        body = stmt.child_by_field_name("body")
        bare_exec = (body is not None and body.type == "command" and command_name(self.doc, body) == "exec"
                     and not body.children_by_field_name("argument"))
        if bare_exec and all(r in gone for r in stmt.children_by_field_name("redirect")):
            span = self.doc.full_lines(stmt.start_byte, stmt.end_byte)
            if span is not None:
                self.remove_lines(span, fix)
                return
        for redirect, label in sorted(dropped, key=lambda d: d[0].start_byte):
            self._drop_redirect(redirect, label)

    def _drop_redirect(self, redirect: Node, fix: str) -> None:
        """Remove one redirect (with the continuation before it when it is alone on its line)."""
        src = self.doc.source
        start = redirect.start_byte
        line = self.doc.line_start(start)
        if not src[line:start].strip() and src[max(0, line - 2) : line] == b"\\\n":
            start = line - 2  # alone on a continued line: take the continuation before it too
        while start > 0 and src[start - 1 : start] in (b" ", b"\t"):
            start -= 1
        dest = redirect.child_by_field_name("destination")
        self.edit(start, dest.end_byte if dest is not None else redirect.end_byte, "", fix)

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
        flow = Flow()
        self.fd_origins = self._saved_fds(pipe)
        self._follow(stages[1:], [], flow)
        self.fd_origins = {}
        fix = f"pipeline@{pipe.start_byte}"
        if self.reader and not flow.syslog and not flow.prefixed:
            return  # a plain tee already: its copy is what the reader sees
        both = stderr_too and not flow.files and flow.syslog and not flow.problem and not flow.inherited
        target = self._target(pipe, flow, "1", fix)
        if target is None:
            return
        if target.via is not None and (target.via == target.fd or self._earlier_output(pipe, target.fd) is None):
            target = Target(target.file, target.fd)
        if both and target.file is not None:
            err = self._target(pipe, flow, "2", fix)
            if err is None or err.file is None:
                self.abandon(fix)
                return
            redirect = f">> {target.file[0]} 2>> {err.file[0]}"
        elif target.file is not None and target.fd is None:
            redirect = f"{'>>' if target.file[1] else '>'} {target.file[0]}" + (" 2>&1" if stderr_too else "")
        elif target.file is not None:
            redirect = f"| {self._tee_text(target)}"  # the pipeline still ends in tee: its status is tee's
        else:
            out = target.via or target.fd
            redirect = "" if out == "1" else f">&{out}"
        if not (target.file is not None and target.fd is not None):
            status_problem = self._status_matters(pipe, pipe.parent)
            if status_problem:
                self.abandon(fix)
                self.finding(pipe.start_byte, f"left unchanged: {status_problem}",
                             suggestion="rewrite it by hand as 'cmd >> FILE 2>&1' if the exit status does not matter")
                return
        head = self.doc.node_text(first_cmd)
        rest = "".join(" " + self.doc.node_text(r) for r in kept_redirects)
        if stderr_too and (not redirect or redirect.startswith("|")):
            rest += " 2>&1"
        text = f"{head}{rest} {redirect}".rstrip()
        self.edit(pipe.start_byte, pipe.end_byte, text, fix)
        if not redirect.startswith("|"):
            for path in re.findall(r">> (\S+)", redirect):
                self.ensure_log_dir(pipe, path, fix)
        self.drop_stale_comment(pipe, fix)

    def _status_matters(self, pipe: Node, parent: Node | None, pipe_status: bool = True) -> str | None:
        """Why the statement's exit status must not change, if it must not (a pipeline's is that
        of its last stage; ``pipe_status`` False for a helper call, whose guard may return non-zero)."""
        what = "pipeline" if pipe_status else "call"
        nxt = pipe.next_sibling
        if nxt is not None and self.doc.masked_text(nxt) == "&":
            return ("the pipeline runs in the background, so $! would change from the last stage to the command"
                    if pipe_status else "the call runs in the background")
        if parent is None or parent.type not in ("program", "compound_statement", "do_group", "case_item",
                                                  "if_statement", "elif_clause", "else_clause"):
            return f"the {what}'s exit status is tested"
        if parent.type in ("if_statement", "elif_clause"):
            cond = parent.child_by_field_name("condition")
            if cond is not None and cond.start_byte <= pipe.start_byte < cond.end_byte:
                return f"the {what} is a condition"
        masked = self.doc.masked
        if pipe_status and pipefail_before(masked, pipe.start_byte):
            return None
        if errexit_may_be_on(masked):
            return ("'set -e' is on without pipefail: a failing command would now stop the script" if pipe_status
                    else "'set -e' is on, so that status stops the script")
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
            return f"the next command, a bare '{command_name(self.doc, nxt)}', passes on the {what}'s status"
        return None

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
        rendered = self.rendered
        if rendered is None:
            return False
        if not rendered.startswith("bin/"):
            return True
        target = f"/var/vcap/jobs/{self.job.name}/{rendered}"
        if target in self.job.helpers:
            return True
        # a `source`/`.` line naming it (a bpm.yml or monit file naming it runs it instead)
        sourced = re.compile(r"(?m)^[^#\n]*(?:\bsource|(?<![\w./-])\.)\s+[\"']?[^\s\"';]*/" + re.escape(rendered)
                             + r"(?![\w.-])")
        return any(sourced.search(text) for key, text in self.job.files.items() if key != self.doc.path)

    def _still_called(self, name: str, fn: Node) -> bool:
        return mentioned_outside(self.doc, name, fn, self.replaced)


#: The widely copied ``syslog_utils.sh``, as migrator.helpers knows it (kept under this name for
#: the tests that feed it in as a release's own helper).
KNOWN_SYSLOG_UTILS = helpers.KNOWN_TEXTS["syslog_utils.sh"]
