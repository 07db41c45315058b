"""Where a stream goes after the log-pipelines rewrite, and what the operator is told about it.

A stream's plumbing (``Flow``: the files, syslog and inherited streams it reached) becomes a
``Target``: a log file, the script's own stream, or both through a plain ``tee``. Who reads the
script's own output decides: monit discards it, while errands, BOSH hooks and BBR scripts have it
read (``codemods._log_shapes.OUTPUT_READERS``), so there a copy on it stays and syslog's copy moves
onto it, except onto a stdout that is an answer (drain, BBR metadata).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from tree_sitter import Node

from codemods._log_shapes import normal_path, properties_read, run_by_monit, shorten, top_statement
from migrator.document import Document

if TYPE_CHECKING:
    from codemods.log_pipelines import _Rewrite

LOG_ROOT = "/var/vcap/sys/log"
STREAM = {"1": "stdout", "2": "stderr"}
_CONTROL_CASE = re.compile(r"\bcase\s+\"?\$\{?1\b")


@dataclass
class Flow:
    """Where one output stream ends up after the plumbing: files, syslog, or inherited streams."""

    files: list[tuple[str, bool]] = field(default_factory=list)  # (text of the path, append?)
    syslog: bool = False
    #: the script's own streams the plumbing writes to ("1", "2"): tee's stdout, `>&3` after `3>&1`
    inherited_fds: set[str] = field(default_factory=set)
    #: the descriptor each of them was reached through, where that is not the stream itself
    #: (``>&3`` after ``3>&1``): it may escape a redirect of the stream made in between
    via: dict[str, str] = field(default_factory=dict)
    prefixed: bool = False
    #: where each timestamp prefixer is written (a function, or the stage itself), to read its ERB
    prefixers: list[tuple[Document, Node]] = field(default_factory=list)
    problem: str | None = None  # set when the plumbing has a shape we do not understand

    @property
    def inherited(self) -> bool:
        return bool(self.inherited_fds)


@dataclass(frozen=True)
class Target:
    """Where a stream goes after the rewrite: a log file, one of the script's inherited streams,
    or both (a plain ``tee`` into the file that keeps the inherited copy)."""

    file: tuple[str, bool] | None = None  # (path as shell text, append?)
    fd: str | None = None  # "1" or "2"
    via: str | None = None  # a saved descriptor that holds ``fd`` (``3`` after ``3>&1``), to write to instead


class Targets:
    """Mixin of the log-pipelines pass (``codemods.log_pipelines._Rewrite``): stream -> target."""

    def _target(self: "_Rewrite", at: Node, flow: Flow, fd: str, fix: str) -> Target | None:
        """Where a stream should now go, or None (with a finding, unless nothing needs doing)."""
        stream = STREAM[fd]
        if flow.problem:
            self.finding(at.start_byte, f"left unchanged: unknown log fan-out shape ({flow.problem})",
                         suggestion="rewrite it by hand to plain >>/2>> redirection into /var/vcap/sys/log/<job>/")
            return None
        if len(flow.files) > 1:
            files = ", ".join(f for f, _ in flow.files)
            self.finding(at.start_byte, f"left unchanged: {stream} goes to several files ({files}); plain "
                         "redirection can write only one", suggestion="pick the file operators collect")
            return None
        if not flow.files and not flow.syslog and not flow.prefixed:
            return None  # copies between the script's own streams (`| tee /dev/stderr`): no log plumbing
        if len(flow.inherited_fds) > 1:
            self.finding(at.start_byte, f"left unchanged: {stream} is copied to both the script's stdout and "
                         "its stderr", suggestion="rewrite it by hand")
            return None
        target = self._read_target(at, flow, fd, fix) if self.reader else self._monit_target(at, flow, fd, fix)
        if target is None:
            self.abandon(fix)
            return None
        if target.file is not None and not target.file[0].strip("\"'").endswith(".log"):
            self.finding(at.start_byte, f"kept log file {target.file[0]} does not end in .log; BOSH's log "
                         "rotation only covers *.log files", "info", fix=fix)
        if flow.prefixed:
            self._note_lost_timestamps(at, flow, fd, fix)
        self._note_prefixer_properties(at, flow, fix)
        return target

    def _note_lost_timestamps(self: "_Rewrite", at: Node, flow: Flow, fd: str, fix: str) -> None:
        """Every rewrite that drops a timestamp prefixer says so at review level: operators see
        log lines without the timestamp they had, whatever the plumbing's shape was."""
        what: list[str] = []
        for doc, node in flow.prefixers:
            said = describe_prefixer(doc, node)
            if said not in what:
                what.append(said)
        plumbing = "; the prefixer goes with the fan-out" if flow.files or flow.syslog else ""
        self.stream_finding(at, fd, "{streams} lose the timestamp that " + " and ".join(what).replace("{", "{{")
                            .replace("}", "}}") + f" prepended to each line{plumbing}, and neither bpm nor monit "
                            "adds one: a log forwarder or the process's own timestamps must supply it",
                            "check that operators still get timestamps (the log forwarder adds them, or have the "
                            "program write them)", fix)

    def stream_finding(self: "_Rewrite", at: Node, fd: str, template: str, suggestion: str, fix: str) -> None:
        """A review finding about stream ``fd``'s lines (``{streams}`` in ``template``); another
        stream of the same rewrite or of the same statement (``exec 1> >(p) 2> >(p)``, each
        redirect its own rewrite) joins the first one's finding instead of repeating it."""
        statement = top_statement(at).start_byte
        key = next((k for k in self.stream_notes if k[1:] == (template, statement)), (fix, template, statement))
        streams = self.stream_notes.get(key, [])
        if STREAM[fd] in streams:
            return
        before = template.format(streams=" and ".join(streams) + " lines")
        streams = [*streams, STREAM[fd]]
        self.stream_notes[key] = streams
        message = template.format(streams=" and ".join(streams) + " lines")
        for i, f in enumerate(self.result.findings):
            if len(streams) > 1 and f.fix == key[0] and f.message == before:
                self.result.findings[i] = replace(f, message=message)  # at the first stream's line
                return
        self.result.findings.append(self.cm.finding(self.doc, at.start_byte, message, "review", suggestion, key[0]))

    def _read_target(self: "_Rewrite", at: Node, flow: Flow, fd: str, fix: str) -> Target | None:
        """In a script whose own output is read (errand, hook, BBR): a copy on the inherited
        stream stays, and syslog's copy moves there (never onto a stdout that is an answer)."""
        assert self.reader is not None
        stream = STREAM[fd]
        if not flow.syslog and not flow.prefixed:
            return None  # a plain tee (or redirect) already: nothing to take out
        keep = next(iter(flow.inherited_fds), None)
        file = flow.files[0] if flow.files else None
        also = f" and {file[0]}" if file else ""
        if flow.syslog and keep is None:
            if fd == "1" and self.reader.stdout_is_protocol:
                if file is None:
                    self.finding(at.start_byte, f"left unchanged: {self.script}'s stdout is read by "
                                 f"{self.reader.who}; choose a log file for this output by hand")
                    return None
                self.finding(at.start_byte, f"stdout no longer goes to syslog, only to {file[0]} "
                             f"({self.script}'s stdout is read by {self.reader.who}, so syslog's copy cannot "
                             "move there)", fix=fix)
                return Target(file=file)
            keep = fd
            self.finding(at.start_byte, f"{stream} went to syslog{also}; it now {'also ' if file else ''}stays on "
                         f"the script's {stream} instead of syslog, which {self.reader.who} records",
                         suggestion="check that operators find it there", fix=fix)
        elif flow.syslog:
            self.finding(at.start_byte, f"{stream} no longer goes to syslog; it still reaches the script's "
                         f"{STREAM[keep]} (read by {self.reader.who}){also}",
                         suggestion="check that operators find it there", fix=fix)
        if file is None and keep is None:
            self.finding(at.start_byte, f"left unchanged: {stream} reaches no file and no stream")
            return None
        if file is not None and keep is not None and self._agent_log_of(file[0], keep):
            self.finding(at.start_byte, f"{file[0]} is the BOSH agent's own log of {self.script}'s {STREAM[keep]}: "
                         "the tee into it goes (the agent keeps writing it, each line once)", "info", fix=fix)
            file = None
        return Target(file=file, fd=keep, via=flow.via.get(keep) if keep else None)

    def _agent_log_of(self: "_Rewrite", path: str, fd: str) -> bool:
        """Is ``path`` the file the BOSH agent saves this hook's stream ``fd`` to?"""
        if self.reader is None or not self.reader.agent_log:
            return False
        own = f"{LOG_ROOT}/{self.job.name}/{self.script}.{STREAM[fd]}.log"
        return normal_path(path, self._constants()) == own

    def _monit_target(self: "_Rewrite", at: Node, flow: Flow, fd: str, fix: str) -> Target | None:
        """In a script whose own output is not read as such (monit's, or another script's)."""
        stream = STREAM[fd]
        keep = next(iter(flow.inherited_fds), None)
        if keep is not None and (flow.files or flow.syslog):
            if flow.files:
                # tee's own output is the shell's stdout, also inside `2> >(tee ...)`
                earlier = self._earlier_output(at, "1")
                if earlier is not None:
                    self.finding(at.start_byte, f"left unchanged: {stream} is also copied to the script's stdout, "
                                 f"which line {earlier} may send to a log file; plain redirection would drop that copy",
                                 suggestion="rewrite it by hand so each line still reaches every file it reached")
                    return None
            copy = f"{stream} was also copied to the script's inherited {STREAM[keep]}"
            if self._monit_runs():
                self.finding(at.start_byte, f"{copy} (discarded: monit runs {self.script}); that copy is dropped",
                             "info", fix=fix)
            else:
                self.finding(at.start_byte, f"{copy}; that copy is dropped, so whatever runs {self.script} (bpm, "
                             "another script) no longer gets these lines there", fix=fix)
            keep = None
        if flow.files:
            path, append = flow.files[0]
            if flow.syslog:
                self.finding(at.start_byte, f"{stream} no longer goes to syslog; operators forward "
                             f"{path} with their log forwarder (e.g. syslog-release)",
                             suggestion="make sure operators collect this file", fix=fix)
            return Target(file=(path, append))
        if flow.syslog:
            path = f"{LOG_ROOT}/{self.job.name}/{self.script}.{stream}.log"
            self.finding(at.start_byte, f"{stream} went only to syslog; it now goes to {path}",
                         suggestion="make sure operators collect this file", fix=fix)
            return Target(file=(path, True))
        if keep is not None:
            return Target(fd=keep, via=flow.via.get(keep))  # only a timestamp prefixer stood in between
        self.finding(at.start_byte, f"left unchanged: {stream} reaches no file and no syslog")
        return None

    def _monit_runs(self: "_Rewrite") -> bool:
        """Does monit run this script itself? From the job's monit file; without one, a script
        shaped like a control script (``*_ctl``, ``case $1 in start) ... stop)``) is taken as monit's."""
        monit = self.job.monit
        if monit:
            return run_by_monit(monit, self.job.name, self.rendered)
        return bool(re.search(r"(^|[_-])ctl(\.sh)?$|^control$", self.script)
                    or _CONTROL_CASE.search(self.doc.masked.decode("utf-8", "replace")))

    def _note_prefixer_properties(self: "_Rewrite", at: Node, flow: Flow, fix: str) -> None:
        """A timestamp prefixer whose form a property chose at render time (awk or perl by
        ``logging.format.timestamp``): with the prefixer gone, the property has no effect here."""
        names: list[str] = []
        for doc, node in flow.prefixers:
            found = properties_read(doc, node.start_byte, node.end_byte)
            if node.type != "function_definition":
                # `| <% if p("fmt") == "x" %>perl ...<% else %>awk ...<% end %> >> f`: the tags
                # that choose sit around the stage, between its pipes
                stage = node
                while stage.parent is not None and stage.parent.type not in ("pipeline", "process_substitution"):
                    stage = stage.parent
                lo = stage.prev_sibling.end_byte if stage.prev_sibling is not None else stage.start_byte
                hi = stage.next_sibling.start_byte if stage.next_sibling is not None else stage.end_byte
                found += properties_read(doc, lo, hi, kinds=("control",))
            names += [n for n in found if n not in names]
        self.note_lost_properties(at, names, "chose the timestamp prefixer of these lines at render time", fix)

    def note_lost_properties(self: "_Rewrite", at: Node, names: list[str], what: str, fix: str) -> None:
        new = [n for n in names if n not in self.noted_properties]
        if not new:
            return
        self.noted_properties.update(dict.fromkeys(new, fix))
        said = ", ".join(new)
        self.finding(at.start_byte, f"property {said} {what}; the prefixer goes with the fan-out, so {said} no "
                     "longer has any effect on these log lines", suggestion="if operators need timestamps, have the "
                     "program write them; drop the property from the spec when nothing else reads it", fix=fix)


def describe_prefixer(doc: Document, node: Node) -> str:
    """A prefixer as the finding names it: its function (``stamp (awk ...)``), a ``while read``
    loop, or the stage's own text."""
    if node.type == "function_definition":
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        first = next((c for c in (body.named_children if body is not None else []) if c.type != "comment"), None)
        inner = f" ({shorten(doc.node_text(first))})" if first is not None else ""
        return f"function {doc.node_text(name) if name is not None else '?'}{inner}"
    if node.type == "while_statement":
        return f"the loop '{shorten(doc.node_text(node))}'"
    return f"'{shorten(doc.node_text(node))}'"
