"""Semantics: the rewritten script still calls what exists, reads what is set, and claims its
pidfile before anything touches it.

Grammar checks passed rewrites that broke jobs: a ``source`` line removed while the script still
called a function only that file defined ("command not found" at start), a helper inlined with one
of its own locals left in a log path (never set, so the log went to ``<dir>/.log``), and a
``chown $PIDFILE`` that ended up before ``sipid claim`` (a missing file on a fresh VM: the start
script exits 1 under ``set -e``). These are facts on the syntax trees the engine already parsed
(no execution, no second parse of the script); sourced files are read through
``migrator.helpers.lookup``, the same lookup the codemods use, and parsed once per text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from tree_sitter import Node

from migrator import helpers
from migrator.codemod import JobContext
from migrator.document import Document, command_name

#: bash builtins and keywords: always resolvable
BUILTINS = frozenset("""
. : [ [[ alias bg bind break builtin caller case cd command compgen complete compopt continue declare
dirs disown echo enable eval exec exit export false fc fg getopts hash help history jobs kill let local
logout mapfile popd printf pushd pwd read readarray readonly return set shift shopt source suspend test
times trap true type typeset ulimit umask unalias unset wait
""".split())

#: variables a job script may read without setting them: the environment monit, BOSH and bash
#: provide
WELL_KNOWN = frozenset("""
HOME PATH USER LOGNAME SHELL PWD OLDPWD HOSTNAME HOSTTYPE OSTYPE LANG LC_ALL TERM TMPDIR IFS UID EUID
PPID RANDOM SECONDS LINENO BASH BASH_SOURCE BASH_VERSION BASH_REMATCH BASH_LINENO FUNCNAME PIPESTATUS
REPLY OPTARG OPTIND SHLVL GROUPS MONIT_PROCESS_PID MONIT_EVENT MONIT_SERVICE
""".split())

#: test operators and commands that read or change a file named in their arguments
_FILE_COMMANDS = frozenset({"chown", "chmod", "chgrp", "cat", "rm", "head", "tail", "stat", "touch", "cp", "mv",
                            "ls", "test", "[", "[[", "read", "grep", "sed", "awk", "truncate"})


def introduced_commands(ctx: JobContext) -> frozenset[str]:
    """External commands a rewrite may add: what the codemods declare, and the configured sipid."""
    return _declared() | {ctx.options.sipid_path}


@lru_cache(maxsize=1)
def _declared() -> frozenset[str]:
    from codemods import REGISTRY

    out: set[str] = set()
    for cls in REGISTRY:
        out |= set(getattr(cls, "introduces", ()))
    return frozenset(out)


def check(ctx: JobContext, original: Document, final: Document) -> str | None:
    before, after = _Facts.of(ctx, original), _Facts.of(ctx, final)
    return (_commands(ctx, before, after) or _variables(before, after, original, final)
            or _pidfile_before_claim(ctx, original, final))


# -- facts about one script ------------------------------------------------------------------------
@dataclass
class _Facts:
    doc: Document
    calls: dict[str, Node] = field(default_factory=dict)  # command name -> first call
    own_functions: set[str] = field(default_factory=set)
    #: function name -> the sourced path that defines it (release text or a known description)
    sourced_functions: dict[str, str] = field(default_factory=dict)
    #: variables sourced files set, with the offset of the source line (or -1: anywhere)
    sourced_variables: dict[str, int] = field(default_factory=dict)
    opaque_from: int | None = None  # offset of the first source line whose contents are unknown
    #: commands the sourced files run (at source time or in their functions): inlining a helper
    #: moves them into the script
    helper_calls: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, ctx: JobContext, doc: Document) -> "_Facts":
        facts = cls(doc)
        for fn in doc.find("function_definition"):
            name = fn.child_by_field_name("name")
            if name is not None:
                facts.own_functions.add(doc.masked_text(name))
        for cmd in doc.find("command"):
            node = cmd.child_by_field_name("name")
            if node is None or (doc.tags and doc.source[node.start_byte:node.end_byte]
                                != doc.masked[node.start_byte:node.end_byte]):
                continue  # a name ERB writes: not known before rendering
            name = doc.masked_text(node)
            if re.fullmatch(r"[\w./+:@\[-]+", name):  # not `$CMD` or a quoted word
                facts.calls.setdefault(name, cmd)
        for node, path in helpers.source_commands(doc):
            found = helpers.lookup(ctx, doc, node, path)
            if found.text is not None:
                facts.helper_calls |= _helper_calls(found.text)
            if found.origin == "missing":
                continue  # nothing is there to define anything
            info = helpers.info_of(found)
            if not info.known:
                if facts.opaque_from is None:
                    facts.opaque_from = node.start_byte
                continue
            for fname in info.functions:
                facts.sourced_functions.setdefault(fname, path)
            for var in info.variables:
                facts.sourced_variables.setdefault(var, node.start_byte)
        return facts

    def defines(self, name: str) -> bool:
        return name in self.own_functions or name in self.sourced_functions


@lru_cache(maxsize=256)
def _helper_calls(text: str) -> frozenset[str]:
    hdoc = helpers.parse_helper(text)
    return frozenset(name for cmd in hdoc.find("command") if (name := command_name(hdoc, cmd)))


# -- commands ----------------------------------------------------------------------------------------
def _commands(ctx: JobContext, before: _Facts, after: _Facts) -> str | None:
    introduced = None
    for name, cmd in after.calls.items():
        if name in BUILTINS or after.defines(name):
            continue
        line = after.doc.line_of(cmd.start_byte)
        if before.defines(name):
            where = before.sourced_functions.get(name)
            gone = f"'source {where}' is gone" if where else "its definition is gone"
            return f"line {line} calls {name}, a function the script no longer defines ({gone})"
        if name in before.calls or name in before.helper_calls:
            continue  # an external command the original (or a helper it sourced) called too
        if introduced is None:
            introduced = introduced_commands(ctx)
        if name not in introduced and _opaque_before(after, cmd) is None:
            return f"line {line} calls {name}, which the original script never called and nothing defines"
    return None


def _opaque_before(facts: _Facts, node: Node) -> int | None:
    if facts.opaque_from is not None and facts.opaque_from < node.start_byte:
        return facts.opaque_from
    return None


# -- variables ---------------------------------------------------------------------------------------
_DEFAULTED = re.compile(r"^\$\{#?\w+(?:\[[^]]*\])?(?::?[-=?+])")


def _variables(before: _Facts, after: _Facts, original: Document, final: Document) -> str | None:
    changed = _changed_lines(original, final)
    if not changed:
        return None
    read_before: set[str] | None = None
    assigned = None
    for node in final.find("variable_name"):
        if final.line_of(node.start_byte) not in changed:
            continue
        parent = node.parent
        if parent is None or parent.type not in ("simple_expansion", "expansion"):
            continue
        name = final.masked_text(node)
        if name.isdigit() or name in WELL_KNOWN:
            continue
        if read_before is None:
            read_before = _reads(original)
        if name in read_before:
            continue
        if parent.type == "expansion" and _DEFAULTED.match(final.masked_text(parent)):
            continue  # ${X:-default}: reading an unset X is meant
        if assigned is None:
            assigned = _assignments(final)
        if _assigned_before(final, assigned.get(name, []), node):
            continue
        src = after.sourced_variables.get(name)
        if src is not None and src < node.start_byte:
            continue
        if _opaque_before(after, node) is not None:
            continue  # a sourced file the tool cannot read may set it
        return (f"line {final.line_of(node.start_byte)} reads ${name}, which nothing sets before it "
                "(and the original script never read it)")
    return None


def _changed_lines(original: Document, final: Document) -> set[int]:
    """1-based lines of ``final`` that the rewrite changed or added."""
    a, b = original.source.split(b"\n"), final.source.split(b"\n")
    out: set[int] = set()
    for tag, _i1, _i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            out.update(range(j1 + 1, j2 + 1))
    return out


def _reads(doc: Document) -> set[str]:
    return {doc.masked_text(n) for n in doc.find("variable_name")
            if n.parent is not None and n.parent.type in ("simple_expansion", "expansion")}


def _assignments(doc: Document) -> dict[str, list[Node]]:
    """Where each variable is set: assignments (also ``local``/``export``), ``for`` variables,
    names given to ``read``, and names a declaration lists without a value."""
    out: dict[str, list[Node]] = {}
    for assign in doc.find("variable_assignment"):
        name = assign.child_by_field_name("name")
        if name is not None:
            out.setdefault(doc.masked_text(name), []).append(assign)
    for node in doc.find("variable_name"):
        parent = node.parent
        if parent is not None and parent.type in ("for_statement", "declaration_command"):
            out.setdefault(doc.masked_text(node), []).append(node)
    for cmd in doc.commands("read"):
        for arg in cmd.children_by_field_name("argument"):
            text = doc.masked_text(arg)
            if re.fullmatch(r"[A-Za-z_]\w*", text):
                out.setdefault(text, []).append(cmd)
    return out


def _assigned_before(doc: Document, sites: list[Node], read: Node) -> bool:
    """Is one of the assignments on the way to ``read``? Earlier in the text, or anywhere when the
    read sits in a function (which runs when called, after the top level set it up)."""
    if not sites:
        return False
    if _in_function(read):
        return True
    return any(site.start_byte < read.start_byte for site in sites)


def _in_function(node: Node) -> bool:
    current = node.parent
    while current is not None:
        if current.type == "function_definition":
            return True
        current = current.parent
    return False


# -- the pidfile before the claim ----------------------------------------------------------------------
def _pidfile_before_claim(ctx: JobContext, original: Document, final: Document) -> str | None:
    sipid = ctx.options.sipid_path
    if sipid.encode() not in final.masked:
        return None
    claimed_at: dict[str, list[int]] = {}  # pidfile -> where its claims so far start
    for claim in final.commands(sipid):
        args = [final.masked_text(a) for a in claim.children_by_field_name("argument")]
        if not args or args[0] != "claim" or "--pid-file" not in args[:-1]:
            continue
        key = _path_key(args[args.index("--pid-file") + 1])
        write = _old_write(original, key)
        branch = _branch_start(claim)
        earlier = claimed_at.setdefault(key, [])
        earlier.append(claim.start_byte)
        if write is None or any(branch <= start < claim.start_byte for start in earlier):
            continue  # the first claim in the branch is the one that creates the file
        for node in final.find("command", "test_command"):
            if not (branch <= node.start_byte and node.end_byte <= claim.start_byte):
                continue
            if not _touches(final, node, key):
                continue
            text = _normal(final.masked_text(node))
            if _came_after(original, write, text):
                return (f"line {final.line_of(node.start_byte)} ('{text}') uses {key} before the "
                        f"'sipid claim' on line {final.line_of(claim.start_byte)} creates it; in the original "
                        "it came after the pid was written")
    return None


def _path_key(text: str) -> str:
    text = text.strip().replace('"', "").replace("'", "")
    return re.sub(r"\$\{(\w+)\}", r"$\1", text)


def _normal(text: str) -> str:
    return " ".join(text.split())


def _old_write(original: Document, key: str) -> Node | None:
    """The original's ``echo $$ > KEY`` (or ``$!``)."""
    for stmt in original.find("redirected_statement"):
        body = stmt.child_by_field_name("body")
        if body is None or body.type != "command" or command_name(original, body) != "echo":
            continue
        if not re.search(r"\$[$!]", original.masked_text(body)):
            continue
        for redirect in stmt.children_by_field_name("redirect"):
            dest = redirect.child_by_field_name("destination")
            if dest is not None and _path_key(original.masked_text(dest)) == key:
                return stmt
    return None


def _branch_start(node: Node) -> int:
    """Where the start branch (the ``case`` arm) around ``node`` begins, else the function or
    the script."""
    current = node.parent
    while current is not None:
        if current.type in ("case_item", "function_definition"):
            return current.start_byte
        current = current.parent
    return 0


def _touches(doc: Document, node: Node, key: str) -> bool:
    """Does this command or test name the pidfile itself as one of its words?"""
    if node.type == "command":
        name = command_name(doc, node)
        if name is None or name.rsplit("/", 1)[-1] not in _FILE_COMMANDS:
            return False
        words = node.children_by_field_name("argument")
    else:
        words = [n for n in doc.walk(node) if n.type in ("word", "string", "simple_expansion", "expansion",
                                                         "concatenation")]
    return any(_path_key(doc.masked_text(w)) == key for w in words)


def _came_after(original: Document, write: Node, text: str) -> bool:
    """Did the same command come after the pid write in the original, and never before it?"""
    after = False
    for node in original.find("command", "test_command"):
        if _normal(original.masked_text(node)) != text:
            continue
        if node.start_byte < write.start_byte:
            return False
        after = True
    return after
