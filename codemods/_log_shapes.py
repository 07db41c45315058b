"""Shapes of shell code that the log-pipelines codemod reads: pipeline stages, redirects, helper
top levels, log paths. Pure functions over the tree-sitter bash tree."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase

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
    text = re.sub(r"\$\{(\w+)(?::\?[^}]*)?\}", r"$\1", text)  # `${X:?unset}` is X, or the script stopped
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


def _is_exec_fanout(doc: Document, stmt: Node) -> bool:
    """``exec N> >(...)``: a bare ``exec`` with a redirect into a process substitution."""
    if stmt.type != "redirected_statement":
        return False
    cmd = stmt.child_by_field_name("body")
    if cmd is None or cmd.type != "command" or command_name(doc, cmd) != "exec" or cmd.children_by_field_name("argument"):
        return False
    dests = [r.child_by_field_name("destination") for r in stmt.children_by_field_name("redirect")]
    return any(d is not None and d.type == "process_substitution" for d in dests)


@dataclass(frozen=True)
class FanoutParts:
    """What a fan-out helper function is made of, apart from reading its parameters."""

    guards: tuple[Node, ...]  # leading ``if ...; then return; fi`` statements
    execs: tuple[Node, ...]  # its ``exec N> >(...)`` statements
    choice: Node | None  # an ``if``/``else`` whose branches are each only fan-out (a format picked by an argument)


def if_branches(node: Node) -> list[list[Node]] | None:
    """The statements of each branch of an if/elif/else, or None when it has no ``else``."""
    cond = node.child_by_field_name("condition")
    branches: list[list[Node]] = [[]]
    has_else = False
    for child in node.named_children:
        if child == cond or child.type == "comment":
            continue
        if child.type == "elif_clause":
            return None  # the conditions of several arms: not a plain two-way choice
        if child.type == "else_clause":
            has_else = True
            branches.append([c for c in child.named_children if c.type != "comment"])
        else:
            branches[0].append(child)
    return branches if has_else else None


def fanout_parts(doc: Document, fn: Node) -> FanoutParts | None:
    """A function whose work is ``exec N> >(...)`` fan-out, possibly after guard clauses, or
    chosen between by an ``if``/``else``; None for any other function."""
    body = fn.child_by_field_name("body")
    if body is None:
        return None
    guards: list[Node] = []
    execs: list[Node] = []
    choice = None
    for stmt in body.named_children:
        if stmt.type in ("comment", "declaration_command", "variable_assignment"):
            continue
        if _is_exec_fanout(doc, stmt):
            execs.append(stmt)
            continue
        if stmt.type == "command" and command_name(doc, stmt) == "mkdir":
            continue
        if stmt.type == "if_statement" and not execs and choice is None:
            branches = if_branches(stmt)
            if branches is None:
                guards.append(stmt)  # read as a guard by the caller (codemods._log_guards)
                continue
            if all(b and all(_is_exec_fanout(doc, s) for s in b) for b in branches):
                choice = stmt
                continue
        return None
    if not execs and choice is None:
        return None
    if choice is not None and execs:
        return None
    return FanoutParts(tuple(guards), tuple(execs), choice)


def is_fanout_function(doc: Document, fn: Node) -> bool:
    """A function whose work is ``exec N> >(...)`` fan-out (plus reading its parameters)."""
    return fanout_parts(doc, fn) is not None


def has_exec_fanout(doc: Document, fn: Node) -> bool:
    """Does a function perform ``exec N> >(...)`` fan-out anywhere in its body?"""
    return any(_is_exec_fanout(doc, stmt) for stmt in doc.find("redirected_statement", within=fn))


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


# -- whose output matters -------------------------------------------------------------------------
@dataclass(frozen=True)
class OutputReader:
    """Someone who reads a script's own stdout and stderr (monit, by contrast, discards them)."""

    who: str  # a noun phrase for findings: "... which {who} records"
    #: stdout is an answer, not a log: drain prints its wait in seconds, BBR metadata prints YAML;
    #: nothing that was not on it may be put there
    stdout_is_protocol: bool = False
    #: the agent saves the streams to /var/vcap/sys/log/<job>/<hook>.stdout.log and .stderr.log
    agent_log: bool = False


#: Scripts whose inherited stdout and stderr are read, by the path the spec renders them to. The
#: BOSH agent records its hooks' output (``bosh logs``) and reads drain's stdout (the drain
#: protocol); ``bosh run-errand`` prints an errand's; BBR prints and logs its scripts' output and
#: reads metadata's stdout. A tee to the inherited stream stays in these; only syslog and the
#: timestamp prefixer go.
OUTPUT_READERS: tuple[tuple[str, OutputReader], ...] = (
    ("bin/run", OutputReader("`bosh run-errand` (the errand's output)")),
    ("bin/pre-start", OutputReader("the BOSH agent (pre-start.stdout.log/.stderr.log)", agent_log=True)),
    ("bin/post-start", OutputReader("the BOSH agent (post-start.stdout.log/.stderr.log)", agent_log=True)),
    ("bin/post-deploy", OutputReader("the BOSH agent (post-deploy.stdout.log/.stderr.log)", agent_log=True)),
    ("bin/pre-stop", OutputReader("the BOSH agent (pre-stop.stdout.log/.stderr.log)", agent_log=True)),
    ("bin/post-stop", OutputReader("the BOSH agent (post-stop.stdout.log/.stderr.log)", agent_log=True)),
    ("bin/drain", OutputReader("the BOSH agent (drain's stdout is the drain protocol)", stdout_is_protocol=True)),
    ("bin/bbr/metadata", OutputReader("BBR (metadata's stdout is its answer)", stdout_is_protocol=True)),
    ("bin/bbr/*", OutputReader("BBR (bbr backup/restore print and log it)")),
)


def output_reader(rendered: str | None) -> OutputReader | None:
    """Who reads the output of the script rendered to ``rendered``, if anyone but monit."""
    if rendered is None:
        return None
    for pattern, reader in OUTPUT_READERS:
        if fnmatchcase(rendered, pattern) and "/" not in rendered[len(pattern.rstrip("*")):]:
            return reader
    return None


def run_by_monit(monit: str, job: str, rendered: str | None) -> bool:
    """Does the job's monit file run this script itself (so that its own output is discarded)?"""
    if not rendered or not monit:
        return False
    return bool(re.search(rf"/var/vcap/jobs/[^/\s\"']+/{re.escape(rendered)}(?![\w./-])", monit))


# -- device paths in the plumbing ---------------------------------------------------------------
_DEV_FD = re.compile(r"/dev/(?:stdout|stderr|fd/(\d+))")


def device_target(path: str) -> str | None:
    """The fd a ``/dev/...`` path writes to (``/dev/stderr`` -> ``"2"``), ``""`` for
    ``/dev/null``; None for a path that is not a device. Such a path is never a log file: no
    ``mkdir -p /dev``, no ``exec >> /dev/stdout``."""
    path = path.strip("\"'")
    if path == "/dev/null":
        return ""
    if path == "/dev/stdout":
        return "1"
    if path == "/dev/stderr":
        return "2"
    m = _DEV_FD.fullmatch(path)
    if m and m.group(1):
        return m.group(1)
    if path.startswith("/dev/"):
        return "?"
    return None


def fd_uses(masked: bytes, fd: str, skip: list[tuple[int, int]]) -> bool:
    """Is file descriptor ``fd`` (3 and up) used anywhere outside ``skip``?"""
    pattern = rb"(?<![\w$])" + fd.encode() + rb"(?=[<>])|[<>]&\s*" + fd.encode() + rb"\b|/dev/fd/" + fd.encode() + rb"\b"
    return any(not any(s <= m.start() < e for s, e in skip) for m in re.finditer(pattern, masked))


# -- ERB that chooses ----------------------------------------------------------------------------
_PROPERTY = re.compile(r"""\b(?:if_)?p\(\s*\[?\s*["']([\w.\-]+)["']|\bproperties\.([\w.]+)""")


def properties_read(doc: Document, start: int, end: int, kinds: tuple[str, ...] = ("output", "control")) -> list[str]:
    """Names of the job properties the ERB tags (of ``kinds``) between ``start`` and ``end`` read."""
    names: list[str] = []
    for tag in doc.tags_in(start, end):
        if tag.kind not in kinds:
            continue
        for m in _PROPERTY.finditer(tag.code):
            name = m.group(1) or m.group(2)
            if name not in names:
                names.append(name)
    return names


_TESTED = re.compile(r"""\b(?:if_)?p\([^)]*\)|[=!]=\s*(?:"[^"]*"|'[^']*')""")


def ruby_strings(code: str) -> list[str]:
    """The words an output tag may produce: its string literals, apart from property names and
    the values they are compared with (``p("f") == "rfc3339" ? "a" : "b"`` -> a, b)."""
    code = _TESTED.sub(" ", code)
    pattern = r'"((?:[^"\\]|\\.)*)"|\'((?:[^\'\\]|\\.)*)\''
    return [m.group(1) if m.group(1) is not None else m.group(2) for m in re.finditer(pattern, code)]
