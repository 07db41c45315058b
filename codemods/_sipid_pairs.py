"""Two-stage starts: a ``pid_guard`` in one script, the pid written by the script it runs.

diego-style jobs split the start: ``x_ctl`` (root) checks ``pid_guard $PIDFILE x``, sets up the
run folder and ``exec chpst -u vcap:vcap .../bin/x_as_vcap``; ``x_as_vcap`` writes ``echo $$ >
$PIDFILE`` and execs the process (same pid all along: every step is an ``exec``). That is one
claim: ``sipid claim`` goes where the pid is written (it refuses a second start there) and the
guard goes. This module finds the pair from either side; the codemod makes the edits, and the
control script's rewrite records that it relies on the claim, so the engine undoes it when the
other script's rewrite is not made (a suppression, a refused check).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from tree_sitter import Node

from codemods import _sipid as S
from codemods import _sipid_start as F
from migrator import helpers
from migrator.codemod import Codemod, JobContext, Requirement
from migrator.document import Document, command_name

#: commands the exec'd script may run before its pid write: a refused second start now runs them
#: (before, the guard had stopped it earlier); none of them starts anything
HARMLESS = frozenset({"mkdir", "chown", "chmod", "echo", "printf", "export", "local", "declare", "true", ":",
                      "cd", "set", "shopt", "ulimit", "umask", "source", ".", "exec"})


@dataclass(frozen=True)
class Claim:
    """A claim a pass of the codemod makes: pidfile key, pid word, the claim's text, its line."""

    key: str
    pid: str
    text: str
    line: int


#: runs the codemod (without pairing) over another script of the job: the claims it would make
ClaimsOf = Callable[[Document], list[Claim]]


@dataclass(frozen=True)
class Partner:
    """The script a guarded start runs, which writes the pid: it will claim it."""

    template: str  # templates/x_as_vcap.erb
    rendered: str  # bin/x_as_vcap
    runs_at: int  # offset of the statement of the control script that runs it
    write_line: int  # line of its pid write
    claim: str  # the claim its rewrite writes


def requirement(partner: Partner) -> Requirement:
    return Requirement(partner.template, partner.claim,
                       f"the pid_guard went because {partner.rendered} claims the pidfile")


def partner_of(cm: Codemod, job: JobContext, doc: Document, guard: Node, key: str,
               claims_of: ClaimsOf) -> Partner | str | None:
    """The script this guarded start runs that writes the guarded pidfile with ``$$``: a Partner
    when the guard may go, a reason when it may not, None when the start runs no such script."""
    stmt = _statement(guard)
    around = S.siblings_of(stmt)
    if around is None:
        return None
    siblings, index = around
    busy: Node | None = None
    for later in siblings[index + 1:]:
        target = _runs_script(job, doc, later)
        if target is None:
            cmd = _command(later)
            harmless = later.type in ("variable_assignment", "declaration_command") or cmd is not None and (
                (command_name(doc, cmd) or "") in HARMLESS - {"exec", "source", "."})
            busy = busy or (None if harmless else later)
            continue
        template, rendered = target
        text = job.files.get(template)
        if text is None:
            return None
        found = _claimed_by(cm, job, doc, key, later, template, rendered, text, claims_of)
        if not isinstance(found, Partner):
            return found  # it does not claim the pidfile: what runs before it is no reason
        if busy is not None:
            return (f"between it and running {rendered} the start runs '{_short(doc.masked_text(busy))}', which "
                    "a refused second start must not do")
        cmd = _command(later)
        if not (cmd is not None and command_name(doc, cmd) == "exec" or F.ends_start(doc, later)):
            return f"the start runs {rendered} and goes on after it"
        return found
    return None


def _claimed_by(cm: Codemod, job: JobContext, doc: Document, key: str, runs: Node, template: str, rendered: str,
                text: str, claims_of: ClaimsOf) -> Partner | str | None:
    pdoc = Document.parse(template, text.encode("utf-8"))
    if pdoc.error_count or pdoc.erb_error:
        return None
    wanted = _expanded(key, doc.text)
    claims = [c for c in claims_of(pdoc) if c.pid == "$$" and _same_file(wanted, c.key, pdoc.text, doc.text, job)]
    if len(claims) != 1:
        return None if not claims else f"{rendered} claims the pidfile more than once"
    claim = claims[0]
    from migrator.engine import suppressed_lines  # the engine's own reading of suppression comments

    ids = suppressed_lines(pdoc).get(claim.line, set())
    if claim.line in suppressed_lines(pdoc) and (ids is None or cm.id in ids):
        return f"the pid write of {rendered} is kept by a suppression comment"
    busy = _work_before(pdoc, claim.line)
    if busy is not None:
        return f"{rendered} runs '{busy}' before it writes the pid, which a refused second start must not do"
    return Partner(template, rendered, runs.start_byte, claim.line, claim.text)


def guard_of(cm: Codemod, job: JobContext, doc: Document, claims_of: ClaimsOf) -> str | None:
    """``bin/x_ctl (line N)`` when a control script of the job guards the pidfile this script
    writes and runs this script after the guard (its guard goes: this claim takes its place)."""
    rendered = job.rendered_path(doc.path)
    if not rendered:
        return None
    for template, text in job.files.items():
        if template == doc.path or f"/{rendered}" not in text or "pid_guard" not in text:
            continue
        other = Document.parse(template, text.encode("utf-8"))
        for cmd in other.commands("pid_guard"):
            args = S.args_of(other, cmd)
            if not args:
                continue
            partner = partner_of(cm, job, other, cmd, S.path_key(other.node_text(args[0])), claims_of)
            if isinstance(partner, Partner) and partner.template == doc.path:
                return f"{job.rendered_path(template) or template} (line {other.line_of(cmd.start_byte)})"
    return None


# -- helpers -----------------------------------------------------------------------------------------
def _statement(cmd: Node) -> Node:
    current = cmd
    while current.parent is not None and current.parent.type in ("redirected_statement", "list"):
        current = current.parent
    return current


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 50 else text[:47] + "..."


def _command(stmt: Node) -> Node | None:
    if stmt.type == "redirected_statement":
        body = stmt.child_by_field_name("body")
        return body if body is not None and body.type == "command" else None
    return stmt if stmt.type == "command" else None


def _runs_script(job: JobContext, doc: Document, stmt: Node) -> tuple[str, str] | None:
    """(template, rendered path) of another script of the job that ``stmt`` runs by path."""
    text = doc.masked_text(stmt)
    for source, rendered in job.templates.items():
        template = f"templates/{source}"
        if template == doc.path or not rendered.startswith("bin/"):
            continue
        if re.search(rf"/{re.escape(rendered)}(?![\w.-])", text):
            return template, rendered
    return None


_ASSIGN = re.compile(r"(?m)^[ \t]*(?:export[ \t]+|readonly[ \t]+)?(\w+)=([\"']?)([\w./@:+${}-]*)\2[ \t]*(?:#.*)?$")


def _expanded(key: str, text: str) -> str:
    """A pidfile key with the variables the script sets to one value put in (also values that
    are themselves built from variables: ``PIDFILE=${RUN_DIR}/x.pid``)."""
    values: dict[str, set[str]] = {}
    for m in _ASSIGN.finditer(text):
        values.setdefault(m.group(1), set()).add(m.group(3))
    return helpers.expand_path(key, {k: next(iter(v)) for k, v in values.items() if len(v) == 1})


def _same_file(wanted: str, key: str, partner_text: str, control_text: str, job: JobContext) -> bool:
    """Do the guard's key (expanded in the control script) and the claim's (expanded in the
    exec'd script, whose other variables come from the control script's exported environment)
    name the same file?"""
    found = _expanded(_expanded(key, partner_text), control_text)
    if found != wanted:
        return False
    exported = [control_text, *job.helpers.values()]
    for name in re.findall(r"\$\{?(\w+)", _expanded(key, partner_text)):
        if not any(re.search(rf"\bexport[ \t]+(\w+(=\S*)?[ \t]+)*{re.escape(name)}\b", t) for t in exported):
            return False  # the exec'd script would not see the control script's value
    return True


def _work_before(doc: Document, line: int) -> str | None:
    """The first command before ``line`` (outside function definitions) that a refused start
    should not run."""
    limit = doc.line_start_of(line)
    for cmd in doc.commands():
        if cmd.start_byte >= limit:
            break
        if S.inside_function(cmd, doc, _function_names(doc)):
            continue
        name = command_name(doc, cmd) or ""
        if name not in HARMLESS or name == "exec" and S.args_of(doc, cmd):
            return " ".join(doc.masked_text(cmd).split())[:50]
    return None


def _function_names(doc: Document) -> set[str]:
    return {doc.masked_text(n) for fn in doc.find("function_definition") if (n := fn.child_by_field_name("name"))}
