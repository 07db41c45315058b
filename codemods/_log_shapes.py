"""Shapes of shell code that the log-pipelines codemod reads: pipeline stages, redirects, helper
top levels, log paths. Pure functions over the tree-sitter bash tree."""

from __future__ import annotations

import re

from tree_sitter import Node

from migrator.document import Document, command_name, enclosing
from migrator.shell import redirect_fd, redirect_operator


# -- helpers' top level -----------------------------------------------------------------------
def top_level_fanouts(hdoc: Document) -> tuple[list[Node], list[Node]]:
    """A helper's top-level ``exec N> >(...)`` statements, and its other top-level commands."""
    fanouts, others = [], []
    for stmt in hdoc.root.named_children:
        if stmt.type in ("comment", "function_definition", "variable_assignment", "declaration_command"):
            continue
        body = stmt.child_by_field_name("body") if stmt.type == "redirected_statement" else None
        if (body is not None and body.type == "command" and command_name(hdoc, body) == "exec"
                and not body.children_by_field_name("argument")
                and any((r.child_by_field_name("destination") or r).type == "process_substitution"
                        for r in stmt.children_by_field_name("redirect"))):
            fanouts.append(stmt)
        elif stmt.type == "command" and command_name(hdoc, stmt) == "mkdir":
            continue  # creating the log folder: the replacement creates it too
        else:
            others.append(stmt)
    return fanouts, others


def helper_constants(hdoc: Document) -> dict[str, str]:
    """Top-level literal assignments of a helper: they vanish with its ``source`` line, so their
    values are put into the paths that use them."""
    seen: dict[str, list[str]] = {}
    for stmt in hdoc.root.named_children:
        for assign in hdoc.find("variable_assignment", within=stmt):
            name, value = assign.child_by_field_name("name"), assign.child_by_field_name("value")
            if name is not None and value is not None:
                seen.setdefault(hdoc.masked_text(name), []).append(hdoc.node_text(value))
    return {k: v[0].strip("\"'") for k, v in seen.items()
            if len(v) == 1 and re.fullmatch(r"[\"']?[\w./${}-]+[\"']?", v[0])}


def put_constants(path: str, constants: dict[str, str]) -> str:
    if not constants:
        return path
    return re.sub(r"\$\{(\w+)\}|\$(\w+)",
                  lambda m: constants.get(m.group(1) or m.group(2), m.group(0)), path)


# -- paths -------------------------------------------------------------------------------------
def folder_of(path: str) -> str | None:
    """The folder part of a log path as shell text (``"$D/x.log"`` -> ``"$D"``)."""
    quote = path[0] if path[:1] in "\"'" and path[-1:] == path[:1] else ""
    inner = path[1:-1] if quote else path
    if "/" not in inner or inner.endswith("/"):
        return None
    folder = inner.rsplit("/", 1)[0]
    if not folder or folder.count("<%") != folder.count("%>"):
        return None  # no folder, or the last `/` is inside an ERB tag (`<%= p("dir") + "/x.log" %>`)
    return f"{quote}{folder}{quote}"


def normal_path(text: str, constants: dict[str, str] | None = None) -> str:
    text = text.strip().strip("\"'")
    text = re.sub(r"\$\{(\w+)\}", r"$\1", text)
    if constants:
        text = re.sub(r"\$(\w+)", lambda m: constants.get(m.group(1), m.group(0)), text)
    return text.rstrip("/")


_SCOPES = {"case_item", "function_definition", "if_statement", "elif_clause", "else_clause",
           "while_statement", "for_statement", "subshell", "c_style_for_statement"}


def runs_before(earlier: Node, later: Node) -> bool:
    """Does ``earlier`` surely run before ``later``? Every conditional scope around it must
    also enclose ``later``."""
    scope = earlier.parent
    while scope is not None:
        if scope.type in _SCOPES and not (scope.start_byte <= later.start_byte < scope.end_byte):
            return False
        scope = scope.parent
    return True


def top_statement(node: Node) -> Node:
    """The whole statement a node belongs to (through redirects, pipelines and lists)."""
    current = node
    while current.parent is not None and current.parent.type in {
        "redirected_statement", "pipeline", "list", "negated_command", "file_redirect", "command"}:
        current = current.parent
    return current


# -- tree helpers --------------------------------------------------------------------------------
def shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def substitution_body(subst: Node) -> Node | None:
    named = [c for c in subst.named_children if c.type != "comment"]
    if len(named) != 1:
        return None
    return named[0]


def pipeline_stages(node: Node) -> tuple[list[Node], list[Node]]:
    """Stages of a pipeline and the redirects attached to it as a whole (tree-sitter puts a
    trailing ``>> file`` after a pipeline on the pipeline, bash applies it to the last stage)."""
    if node.type == "redirected_statement":
        body = node.child_by_field_name("body")
        if body is not None and body.type == "pipeline":
            return [c for c in body.named_children if c.type != "comment"], node.children_by_field_name("redirect")
    if node.type == "pipeline":
        return [c for c in node.named_children if c.type != "comment"], []
    return [node], []


def stage_command(stage: Node) -> tuple[Node | None, list[Node]]:
    if stage.type == "redirected_statement":
        body = stage.child_by_field_name("body")
        redirects = stage.children_by_field_name("redirect")
        if body is not None and body.type == "command":
            return body, redirects
        return None, redirects
    if stage.type == "command":
        return stage, []
    return None, []


def inside(node: Node, *types: str) -> bool:
    return enclosing(node, *types) is not None


def enclosing_function_name(node: Node, doc: Document) -> str | None:
    current = node.parent
    while current is not None:
        if current.type == "function_definition":
            name = current.child_by_field_name("name")
            return doc.masked_text(name) if name is not None else None
        current = current.parent
    return None



def is_read_date_loop(doc: Document, loop: Node) -> bool:
    """``while read line; do echo "$(date) $line"; done``: a timestamp prefixer written in bash."""
    cond = loop.child_by_field_name("condition")
    if cond is None or "read" not in doc.masked_text(cond):
        return False
    text = doc.masked_text(loop)
    return "date" in text and ("echo" in text or "printf" in text)


def is_fanout_function(doc: Document, fn: Node) -> bool:
    """A function whose work is ``exec N> >(...)`` fan-out (plus reading its parameters)."""
    body = fn.child_by_field_name("body")
    if body is None:
        return False
    saw_exec = False
    for stmt in body.named_children:
        if stmt.type == "comment":
            continue
        if stmt.type in ("declaration_command", "variable_assignment"):
            continue
        if stmt.type == "redirected_statement":
            cmd = stmt.child_by_field_name("body")
            if cmd is not None and cmd.type == "command" and command_name(doc, cmd) == "exec" and not cmd.children_by_field_name("argument"):
                dests = [r.child_by_field_name("destination") for r in stmt.children_by_field_name("redirect")]
                if any(d is not None and d.type == "process_substitution" for d in dests):
                    saw_exec = True
                    continue
        if stmt.type == "command" and command_name(doc, stmt) == "mkdir":
            continue
        return False
    return saw_exec


def positional_locals(doc: Document, fn: Node) -> dict[str, int]:
    """Local names bound to positional parameters: ``declare log_dir="$1"`` -> {log_dir: 1}."""

    out: dict[str, int] = {}
    body = fn.child_by_field_name("body")
    for assign in doc.find("variable_assignment", within=body):
        name = assign.child_by_field_name("name")
        value = assign.child_by_field_name("value")
        if name is None or value is None:
            continue
        m = re.fullmatch(r'"?\$\{?(\d)\}?"?', doc.masked_text(value))
        if m:
            out[doc.masked_text(name)] = int(m.group(1))
    return out


_SCRIPT_NAME = re.compile(r'"?\$\(\s*basename\s+"?\$\{?0\}?"?\s*\)"?|"?\$\{0##\*/\}"?')
_LITERAL = re.compile(r'"[\w./:@+-]*"|\'[\w./:@+-]*\'|[\w./:@+-]+')


def own_locals(doc: Document, fn: Node, script_name: str) -> dict[str, str | None]:
    """A helper function's own variables (not bound to a positional parameter) and the text each
    stands for at the call: ``log_basename="$(basename "$0")"`` is the calling script's name (the
    helper runs in the caller's shell), a literal is itself; None when it cannot be told (computed
    otherwise, or set more than once). Inlining the helper must put these in too."""
    body = fn.child_by_field_name("body")
    positional = positional_locals(doc, fn)
    out: dict[str, str | None] = {}
    if body is None:
        return out
    for assign in doc.find("variable_assignment", within=body):
        name, value = assign.child_by_field_name("name"), assign.child_by_field_name("value")
        if name is None or doc.masked_text(name) in positional:
            continue
        key = doc.masked_text(name)
        text = doc.masked_text(value) if value is not None else ""
        if key in out:
            out[key] = None
        elif _SCRIPT_NAME.fullmatch(text):
            out[key] = script_name
        elif _LITERAL.fullmatch(text):
            out[key] = text.strip("\"'")
        else:
            out[key] = None
    for node in doc.find("variable_name", within=body):
        if node.parent is not None and node.parent.type == "declaration_command":
            out.setdefault(doc.masked_text(node), None)
    return out


def substitute_arguments(path: str, params: dict[str, int], args: list[str]) -> str | None:
    """Put the call's arguments into a helper's file path; None when that is not plainly possible."""

    def value(index: int) -> str | None:
        if index > len(args):
            return None
        arg = args[index - 1]
        if re.search(r"\$\{?[@*#]", arg):
            return None  # "$@" is every argument, not the one the helper read
        if arg.startswith('"') and arg.endswith('"') and len(arg) >= 2:
            return arg[1:-1]
        if arg.startswith("'") and arg.endswith("'") and not re.search(r"[\"$`\\]", arg):
            return arg[1:-1]
        if re.fullmatch(r"[\w./${}:-]+", arg):
            return arg
        return None

    unresolved = spaced = False

    def repl(m: re.Match) -> str:
        nonlocal unresolved, spaced
        name = m.group(1) or m.group(2)
        if name == "0":
            return m.group(0)  # the script's name: the same in the caller
        index = int(name) if name.isdigit() else params.get(name)
        if index is None:
            return m.group(0)
        v = value(index)
        if v is None:
            unresolved = True
            return m.group(0)
        spaced = spaced or bool(re.search(r"\s", v))
        return v

    out = re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, path)
    if unresolved or re.search(r"\$\{?[1-9]", out):
        return None
    if out.startswith('"'):
        return out
    if spaced:
        return None  # unquoted with a space: `exec >> a b` would run `b` (the helper's own was an error)
    return f'"{out}"' if "$" in out and " " not in out else out


def mentioned_outside(doc: Document, name: str, fn: Node, replaced: list[tuple[int, int]]) -> bool:
    """Is the function's name used as a word outside its definition (e.g. passed to another
    command, or exported)? Conservative: any mention keeps the function."""

    for m in re.finditer(rb"\b" + re.escape(name.encode()) + rb"\b", doc.masked):
        pos = m.start()
        if fn.start_byte <= pos < fn.end_byte:
            continue
        if any(s <= pos < e for s, e in replaced):
            continue
        return True
    return False


def misread_command(doc: Document) -> Node | None:
    """A command the parser ran on past an unescaped newline, if the document has one.

    tree-sitter-bash sometimes reads ``a | tee f | logger`` followed by a line with a process
    substitution as one command, the next line's words becoming ``logger``'s arguments. bash ends
    the command at the newline, so the tree disagrees with bash about the whole region, and what
    the codemod would conclude from it (which statement runs, which function is unused) cannot be
    trusted.
    """
    for command in doc.find("command"):
        kids = command.children
        for prev, nxt in zip(kids, kids[1:]):
            if re.search(rb"(?<!\\)\n", doc.masked[prev.end_byte : nxt.start_byte]):
                return command
    return None


def pipefail_before(masked: bytes, offset: int) -> bool:
    """Is ``set -o pipefail`` (also ``set -eo pipefail``) written before ``offset``? A mere
    mention of the word, in a comment or ``set +o pipefail``, does not count."""
    return bool(re.search(rb"(?m)^[ \t]*set\b[^\n#]*\s-[a-zA-Z]*o\s+pipefail\b", masked[:offset]))


#: statements that pass the status of their last command on as their own
_PASS_STATUS = {"compound_statement", "do_group", "case_item", "case_statement", "if_statement", "elif_clause",
                "else_clause", "while_statement", "for_statement", "c_style_for_statement", "subshell"}
#: siblings that are not run after a branch (other arms and branches)
_NOT_AFTER = {"comment", "elif_clause", "else_clause", "case_item"}


def tail_owner(node: Node, doc: Document) -> str | None:
    """Whose exit status is ``node``'s own because nothing runs after it: ``""`` for the script,
    a function's name for that function's return status, None when something runs after it."""
    current = node
    while True:
        parent = current.parent
        if parent is None:
            return None
        later = current.next_named_sibling
        while later is not None and later.type in _NOT_AFTER:
            later = later.next_named_sibling
        if later is not None:
            return None
        if parent.type == "program":
            return ""
        if parent.type == "function_definition":
            name = parent.child_by_field_name("name")
            return doc.masked_text(name) if name is not None else "?"
        if parent.type not in _PASS_STATUS:
            return None
        current = parent


def writes_fd(doc: Document, redirect: Node, fd: str) -> bool:
    """Does a redirect point ``fd`` (``"1"`` or ``"2"``) somewhere new?"""
    given = redirect_fd(doc, redirect)
    op = redirect_operator(doc, redirect)
    if op.startswith("<"):
        return False
    if given is not None:
        return given == fd
    if op in ("&>", "&>>"):
        return True
    if op == ">&":
        dest = redirect.child_by_field_name("destination")
        both = dest is not None and dest.type != "number" and doc.masked_text(dest) != "-"
        return fd == "1" or both
    return fd == "1"


_WRITES_ELSEWHERE = {
    "awk": re.compile(r"\bprintf?\b[^;}]*[>|]|/dev/(?:stderr|fd|tty)"),
    "perl": re.compile(r"\bSTDERR\b|\bopen\b|\bwarn\b|\bsystem\b|/dev/(?:stderr|fd|tty)"),
    "sed": re.compile(r"(?:^|[/;{}\s'\"])w\s*[/\w$\"']|/dev/(?:stderr|fd|tty)"),
}


def writes_elsewhere(tool: str | None, text: str) -> bool:
    """Does a timestamp prefixer's program also write somewhere other than its stdout (awk's
    ``print > "file"``, perl's ``print STDERR``, sed's ``w file``)? Then it is not just a
    prefixer: dropping it would lose those lines."""
    kind = "awk" if tool in ("awk", "gawk", "mawk", "nawk") else tool
    pattern = _WRITES_ELSEWHERE.get(kind or "")
    return bool(pattern and pattern.search(text))
