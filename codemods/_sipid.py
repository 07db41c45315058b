"""Shared pieces of the sipid codemods: the commands they write, pidfile and shell-text helpers,
and what the legacy pid helpers are known to do.

Both sipid codemods need the same facts (DESIGN.md §4): where the binary lives on the VM, that
the job must ship the ``sipid`` package, how a pidfile expression is spelled and compared, and
which helper functions are the legacy pidfile library that sipid replaces.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from tree_sitter import Node

from migrator import helpers
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext, SpecChange
from migrator.document import Document, command_name

#: Functions of the legacy pidfile libraries (cf-release utils.sh, diego/capi pid_utils.sh,
#: bosh-gen ctl_utils.sh). Their own definitions are never rewritten.
PID_FUNCTIONS = frozenset({
    "pid_guard", "kill_and_wait", "wait_pid", "wait_pidfile", "wait_pid_death", "pid_is_running",
})
#: Helpers whose ``source`` line the pidfile codemod may remove once nothing of them is used.
PID_HELPER_FILES = frozenset({"pid_utils.sh", "utils.sh", "ctl_utils.sh", "ctl_setup.sh"})
#: Helper files whose ``kill_and_wait`` ends the script with ``exit 0`` (diego, capi), when the
#: release does not carry the helper's text.
KILL_AND_WAIT_EXITS = frozenset({"pid_utils.sh"})
#: kill_and_wait's default wait before SIGKILL in the common helpers, in seconds.
KILL_AND_WAIT_DEFAULT = 25
SIPID_GRACE = 20

STATEMENTS = frozenset({
    "command", "redirected_statement", "list", "pipeline", "variable_assignment",
    "declaration_command", "if_statement", "while_statement", "for_statement",
    "c_style_for_statement", "case_statement", "compound_statement", "subshell",
    "function_definition", "negated_command", "test_command", "unset_command",
})
LOOPS = frozenset({"while_statement", "for_statement", "c_style_for_statement"})


def sipid(job: JobContext) -> str:
    return job.options.sipid_path


def package_changes(job: JobContext) -> list[SpecChange]:
    """The job must depend on the package that ships the binary: the one named in the sipid path
    (``/var/vcap/packages/<name>/...``). A path outside the packages (a sipid the stemcell or an
    add-on puts on the VM) is no package of this release: no dependency."""
    m = re.match(r"/var/vcap/packages/([^/]+)/", sipid(job))
    return [SpecChange("add_package", m.group(1))] if m else []


# -- shell text ---------------------------------------------------------------------------------
def path_key(text: str) -> str:
    """A pidfile expression in a comparable form: quotes off, ``${X}`` as ``$X``."""
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    text = text.replace('"', "")
    return re.sub(r"\$\{(\w+)\}", r"$\1", text)


def quoted(text: str) -> str:
    """A word as a double-quoted argument (kept as written when it already carries quotes)."""
    if '"' in text or "'" in text:
        return text
    return f'"{text}"'


_PID_WORD = re.compile(r'"?\$(?:\{([$!])\}|([$!]))"?')
#: printf formats that print one pid and nothing else (a trailing newline or not)
_PID_FORMATS = frozenset({"%d", "%s", "%i", "%u", "%d\\n", "%s\\n", "%i\\n", "%u\\n"})


def pid_word(text: str) -> str | None:
    """``$$`` or ``$!`` when a word is one of them in any spelling (``"${!}"``, ``${$}``)."""
    m = _PID_WORD.fullmatch(text)
    if m is None or text.count('"') not in (0, 2):
        return None
    return "$" + (m.group(1) or m.group(2))


def printed_word(doc: Document, command: Node) -> Node | None:
    """The one word an ``echo [-n] W`` or ``printf FMT W`` (FMT a pid format) prints, or None:
    the shapes that write a pid and nothing else into a file."""
    name = command_name(doc, command)
    args = args_of(doc, command)
    texts = [doc.masked_text(a) for a in args]
    if name == "echo":
        flags = 0
        while flags < len(texts) and texts[flags] in ("-n", "-e", "-ne", "-en"):
            flags += 1
        return args[flags] if len(args) == flags + 1 else None
    if name == "printf" and len(args) == 2 and texts[0].strip("'\"") in _PID_FORMATS and texts[0][:1] in "'\"%":
        return args[1]
    return None


def args_of(doc: Document, command: Node) -> list[Node]:
    return command.children_by_field_name("argument")


def arg_texts(doc: Document, command: Node) -> list[str]:
    return [doc.masked_text(a) for a in args_of(doc, command)]


def iterations(doc: Document, loop: Node) -> int | None:
    """How many times a counted loop runs (``seq``, ``{a..b}``, a number list, C-style, or a
    ``while`` on a counter compared with a number), or None when it cannot be told."""
    if loop.type == "for_statement":
        values = loop.children_by_field_name("value")
        texts = [doc.masked_text(v) for v in values]
        if len(texts) == 1:
            m = re.fullmatch(r"\$\(seq\s+(?:(\d+)\s+)?(\d+)\)", texts[0]) or re.fullmatch(r"\{(\d+)\.\.(\d+)\}", texts[0])
            if m:
                lo = int(m.group(1) or 1)
                return int(m.group(2)) - lo + 1
        if texts and all(re.fullmatch(r"\d+", t) for t in texts):
            return len(texts)
        return None
    if loop.type == "c_style_for_statement":
        init = loop.child_by_field_name("initializer")
        cond = loop.child_by_field_name("condition")
        if init is None or cond is None:
            return None
        m1 = re.search(r"=\s*(\d+)", doc.masked_text(init))
        m2 = re.fullmatch(r"\s*\w+\s*(<=?)\s*(\d+)\s*", doc.masked_text(cond))
        if m1 and m2:
            return int(m2.group(2)) - int(m1.group(1)) + (1 if m2.group(1) == "<=" else 0)
        return None
    cond = loop.child_by_field_name("condition")
    text = doc.masked_text(cond) if cond is not None else ""
    m = re.search(r"\$\{?\w+\}?\s+-(lt|le)\s+(\d+)", text) or re.search(r"(?:\bi|count\w*|tries|n)\s*(<|<=)\s*(\d+)", text)
    if m:
        return int(m.group(2)) + (1 if m.group(1) in ("le", "<=") else 0)
    return None


def start_stop_daemon_at(doc: Document) -> int | None:
    """Where a script first runs ``start-stop-daemon`` (any path to it, or a mention outside a
    comment, such as a variable holding its path), or None."""
    if b"start-stop-daemon" not in doc.masked:
        return None
    for cmd in doc.commands():
        name = command_name(doc, cmd) or ""
        if name.rsplit("/", 1)[-1] == "start-stop-daemon":
            return cmd.start_byte
    for m in re.finditer(rb"start-stop-daemon", doc.masked):
        line = doc.masked[doc.line_start(m.start()):m.start()]
        if b"#" not in line:
            return m.start()
    return None


def suppressed_lines(doc: Document, codemod: str) -> set[int]:
    """Lines whose suppression comment covers ``codemod`` (``# exemplar-migrate: ignore``, or with
    the codemod's id), read as the engine reads them."""
    from migrator.engine import suppressed_lines as read  # the engine owns the comment's syntax

    return {ln for ln, ids in read(doc).items() if ids is None or codemod in ids}


# -- tree ---------------------------------------------------------------------------------------
def block_statements(container: Node) -> list[Node]:
    """The statements directly in a block (program, do-group, braces, case arm, then-part)."""
    out = []
    for i, child in enumerate(container.children):  # by position: the field of each child is at hand
        if not child.is_named or child.type not in STATEMENTS:
            continue
        if container.field_name_for_child(i) in ("condition", "value", "name", "variable", "initializer", "update"):
            continue
        out.append(child)
    return out


def siblings_of(stmt: Node) -> tuple[list[Node], int] | None:
    """The statements of the block ``stmt`` is in, and its index among them (None when it is not
    one of them)."""
    if stmt.parent is None:
        return None
    siblings = block_statements(stmt.parent)
    index = next((i for i, s in enumerate(siblings) if s.id == stmt.id), None)
    return None if index is None else (siblings, index)


def _field(node: Node) -> str | None:
    parent = node.parent
    if parent is None:
        return None
    for i, child in enumerate(parent.children):
        if child.id == node.id:
            return parent.field_name_for_child(i)
    return None


def blocks(doc: Document) -> Iterator[Node]:
    """Every node that holds a sequence of statements, in document order (from the document's
    index: a program that is one statement still comes before it, as its type is asked first)."""
    yield from doc.find("program", "do_group", "compound_statement", "case_item", "if_statement",
                        "elif_clause", "else_clause", "subshell")


def inside_function(node: Node, doc: Document, names: Iterable[str]) -> bool:
    wanted = set(names)
    current = node.parent
    while current is not None:
        if current.type == "function_definition":
            name = current.child_by_field_name("name")
            if name is not None and doc.masked_text(name) in wanted:
                return True
        current = current.parent
    return False


def statement_span(doc: Document, node: Node) -> tuple[int, int] | None:
    """Whole lines of a statement, when nothing else shares them."""
    return doc.full_lines(node.start_byte, node.end_byte)


def removal_edit(doc: Document, span: tuple[int, int], fix: str) -> Edit:
    """Delete whole lines; when they sit between a blank line and another blank line (or the end
    of a block), take one blank line with them so no double gap is left."""
    start, end = span
    src = doc.source
    previous = src[doc.line_start(start - 1):start].strip() if start > 0 else b""
    # a blank line before, or the removed lines opened their block (`start)`, `then`, `do`, `{`)
    opens_block = previous == b"" or previous.endswith((b")", b"then", b"do", b"{", b"else"))
    if opens_block and end < len(src):
        nxt = doc.line_end(end)
        if not src[end:nxt].strip():
            end = nxt
    return Edit(start, end, "", fix)


#: bodies bash refuses to leave empty (``then fi``, ``do done``, ``{ }`` are syntax errors)
NEEDS_BODY = frozenset({"if_statement", "elif_clause", "else_clause", "do_group", "compound_statement", "subshell"})


def statement_removal(doc: Document, node: Node, span: tuple[int, int], fix: str, gone: set[int]) -> Edit:
    """Delete a statement's lines; when it is the last statement left in a body bash requires,
    put ``:`` there instead. ``gone`` collects the statements removed so far in this pass."""
    gone.add(node.id)
    parent = node.parent
    if parent is not None and parent.type in NEEDS_BODY and all(s.id in gone for s in block_statements(parent)):
        return Edit(span[0], span[1], f"{indent_of(doc, node)}:\n", fix)
    return removal_edit(doc, span, fix)


def indent_of(doc: Document, node: Node) -> str:
    start = doc.line_start(node.start_byte)
    return doc.slice(start, node.start_byte)


# -- helper libraries -----------------------------------------------------------------------------
def job_helper_source(job: JobContext, template_path: str) -> bool:
    """Is this template a library that other templates of the job source (a job-shipped helper)?
    Asked for every script on every pass: looked up once per job and script."""
    return helpers.per_job(job, ("job_helper_source", template_path), lambda: _job_helper_source(job, template_path))


def _job_helper_source(job: JobContext, template_path: str) -> bool:
    rendered = job.rendered_path(template_path)
    if not rendered:
        return False
    pattern = re.compile(r"(?m)^[^#\n]*(?:source|\.)\s+[\"']?[^\s\"']*/" + re.escape(rendered) + r"\b")
    return any(pattern.search(text) for key, text in job.files.items() if key != template_path)


def helper_text(job: JobContext, doc: Document, node: Node, path: str) -> str | None:
    """The text a ``source`` line reads (the release's own, else a known copy where allowed)."""
    return helpers.lookup(job, doc, node, path).text


def function_body(text: str, name: str) -> tuple[Document, Node] | None:
    doc = helpers.parse_helper(text)
    for fn in doc.find("function_definition"):
        n = fn.child_by_field_name("name")
        if n is not None and doc.masked_text(n) == name:
            return doc, fn
    return None


def helper_exits(job: JobContext, doc: Document, function: str) -> bool:
    """Does the sourced helper's ``function`` end the script with ``exit``?"""
    for node, path in helpers.source_commands(doc):
        found_at = helpers.lookup(job, doc, node, path)
        text = found_at.text
        if text is not None:
            found = function_body(text, function)
            if found is not None:
                hdoc, fn = found
                return any(command_name(hdoc, c) == "exit" for c in hdoc.commands(within=fn))
        elif (found_at.origin == "builtin" and path.rsplit("/", 1)[-1] in KILL_AND_WAIT_EXITS
              and function == "kill_and_wait"):
            return True
    return False


def helper_default_timeout(job: JobContext, doc: Document) -> int:
    """kill_and_wait's default timeout, read from the helper when the release carries it."""
    for node, path in helpers.source_commands(doc):
        text = helper_text(job, doc, node, path)
        if text is None:
            continue
        found = function_body(text, "kill_and_wait")
        if found is not None:
            m = re.search(r"\$\{2:-(\d+)\}", found[0].node_text(found[1]))
            if m:
                return int(m.group(1))
    return KILL_AND_WAIT_DEFAULT


def drop_unused_sources(cm: Codemod, job: JobContext, doc: Document, replaced: list[tuple[int, int]],
                        rewritten: set[str], result: CodemodResult, gone: set[int]) -> None:
    """Remove ``source`` lines of pid helpers when nothing they provide is used any more.

    ``rewritten`` holds the helper functions whose calls this pass replaced: a helper is only
    touched when the pass took calls away from it. A helper with top-level side effects (output
    redirection, directories, PATH) stays, with a note saying why.
    """
    if not rewritten:
        return
    for node, path in helpers.source_commands(doc):
        base = path.rsplit("/", 1)[-1]
        found = helpers.lookup(job, doc, node, path)
        info = helpers.describe_source(job, doc, node, path)
        if base not in PID_HELPER_FILES and not (info.functions & PID_FUNCTIONS):
            continue
        if info.known and info.functions and not (info.functions & rewritten):
            continue
        if any(s <= node.start_byte and node.end_byte <= e for s, e in replaced):
            continue
        if not info.known:
            result.findings.append(cm.finding(doc, node.start_byte,
                                              f"kept 'source {path}': its contents are unknown (not in the release)",
                                              "info", "remove it by hand if nothing of it is used any more"))
            continue
        still = sorted(info.used_by(doc, exclude=tuple(replaced)))
        if still:
            result.findings.append(cm.finding(doc, node.start_byte,
                                              f"kept 'source {path}': the script still uses {', '.join(still)}", "info"))
            continue
        if info.side_effects:
            result.findings.append(cm.finding(
                doc, node.start_byte,
                f"'source {path}' not removed: sourcing it also does more than define functions "
                f"({'; '.join(info.side_effects[:3])})", "info",
                "once those effects are carried over (log-pipelines does so for output fan-out), the "
                "source line can go"))
            continue
        span = doc.full_lines(node.start_byte, node.end_byte)
        if span is None:
            continue
        result.edits.append(statement_removal(doc, node, span, f"source@{node.start_byte}", gone))
        if found.origin == "builtin":
            result.findings.append(cm.finding(
                doc, node.start_byte,
                f"removed 'source {path}': the release does not carry it, so this relies on what the common "
                f"{base} is known to define", "info",
                "check that the script uses nothing else from it"))


# -- errexit ---------------------------------------------------------------------------------------
_SET_E = re.compile(rb"(?m)^[^#\n]*\bset[ \t]+(?:[^\n;&|#]*\s)?(?:-[a-zA-Z]*e[a-zA-Z]*\b|-o[ \t]+errexit\b)")


def errexit_possible(job: JobContext, doc: Document, offset: int) -> bool:
    """Could ``set -e`` be in force at ``offset``? For a rewrite that must not end the script
    early under errexit: when in doubt, it could. A ``set -e`` anywhere before (a later ``set +e``
    may not run on every path), ``#!/bin/bash -e``, or a sourced helper that sets it or that the
    tool cannot read."""
    first = doc.masked.split(b"\n", 1)[0]
    if first.startswith(b"#!") and re.search(rb"\s-[a-zA-Z]*e", first):
        return True
    if _SET_E.search(doc.masked[:offset]):
        return True
    for node, path in helpers.source_commands(doc):
        text = helper_text(job, doc, node, path)
        if text is None or _SET_E.search(text.encode("utf-8")):
            return True
    return False


# -- where a variable is set -----------------------------------------------------------------------
def _arm_of(node: Node) -> Node | None:
    current = node.parent
    while current is not None and current.type not in ("case_item", "function_definition"):
        current = current.parent
    return current


def _function_name(doc: Document, fn: Node) -> str:
    name = fn.child_by_field_name("name")
    return doc.masked_text(name) if name is not None else ""


def _arms_reaching(doc: Document, node: Node) -> set[int] | None:
    """The case arms from which ``node`` runs (through one level of function call), or None when
    it runs outside any arm (on every path)."""
    holder = _arm_of(node)
    if holder is None:
        return None
    if holder.type == "case_item":
        return {holder.id}
    arms: set[int] = set()
    for call in doc.commands(_function_name(doc, holder)):
        outer = _arm_of(call)
        if outer is None or outer.type != "case_item":
            return None
        arms.add(outer.id)
    return arms


def only_set_elsewhere(doc: Document, node: Node, name: str, helper_texts: Iterable[str | None]) -> list[str]:
    """The functions that alone set ``name`` in the script when none of them runs on the way to
    ``node`` (a stop reading ``$PID_FILE`` that only the start's set-up function assigns), else
    ``[]``."""
    assigned = [a for a in doc.find("variable_assignment")
                if (n := a.child_by_field_name("name")) is not None and doc.masked_text(n) == name]
    # a sourced file the tool cannot read counts as not setting it: the stop is then left alone,
    # the safe side (and the answer does not change once another codemod adds an env file)
    if not assigned or any(t is not None and re.search(rf"\b{re.escape(name)}=", t) for t in helper_texts):
        return []
    functions = []
    for a in assigned:
        holder = _arm_of(a)
        while holder is not None and holder.type == "case_item":
            holder = _arm_of(holder)
        if holder is None:
            return []  # set outside any function: on the way (the case arms are checked by the gate)
        functions.append(holder)
    reach = _arms_reaching(doc, node)
    if reach is None:
        return []
    for fn in functions:
        if inside(node, fn):
            return []
        for call in doc.commands(_function_name(doc, fn)):
            arm = _arm_of(call)
            if arm is None or arm.type != "case_item" or arm.id in reach:
                return []
    return sorted({_function_name(doc, fn) for fn in functions})


def inside(node: Node, outer: Node) -> bool:
    return outer.start_byte <= node.start_byte and node.end_byte <= outer.end_byte
