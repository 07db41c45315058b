"""What a sourced shell helper provides: its functions, variables and top-level side effects.

A ``source .../utils.sh`` line may only be removed when nothing it provides is still used, so
codemods need to know what each helper defines and does when sourced. This module owns that lookup
for every codemod and check (``lookup``/``describe_source``): a ``source`` path resolves through the
job (``${JOB_DIR}/bin/x.sh`` where the script sets ``JOB_DIR=/var/vcap/jobs/<job>`` is the template
the spec renders to ``bin/x.sh``), the release's own text always wins, and a built-in description
of a common helper is used only where the path resolves to nothing in the release: never for a path
the tool cannot work out, nor for one of the job's own paths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Literal, Mapping, TypeVar

from tree_sitter import Node

from migrator.document import Document, command_name

if TYPE_CHECKING:
    from migrator.codemod import JobContext

T = TypeVar("T")


@dataclass(frozen=True)
class HelperInfo:
    """What sourcing a helper gives a script."""

    functions: frozenset[str]
    variables: frozenset[str] = frozenset()
    #: top-level statements other than definitions and plain assignments, as text
    side_effects: tuple[str, ...] = ()
    known: bool = True  # False when neither the file nor a known description was available

    def used_by(self, doc: Document, exclude: tuple[tuple[int, int], ...] = ()) -> set[str]:
        """Names from this helper that the script still uses outside the excluded byte ranges."""
        used = set()
        for node in doc.walk():
            if any(s <= node.start_byte and node.end_byte <= e for s, e in exclude):
                continue
            if node.type == "command":
                name = command_name(doc, node)
                if name in self.functions:
                    used.add(name)
            elif node.type == "variable_name":
                name = doc.masked_text(node)
                if name in self.variables:
                    used.add(name)
        return used


#: Known helpers, by file name, when the release does not carry their source (descriptions
#: written from the public cf-release, diego-release and capi-release helpers).
KNOWN: dict[str, HelperInfo] = {
    "pid_utils.sh": HelperInfo(
        frozenset({"pid_guard", "wait_pid_death", "kill_and_wait", "running_in_container", "pid_is_running"}),
    ),
    "syslog_utils.sh": HelperInfo(frozenset({"tee_output_to_sys_log"})),
    "utils.sh": HelperInfo(
        frozenset({"pid_guard", "wait_pid", "wait_pidfile", "kill_and_wait", "check_mount", "running_in_container"}),
        side_effects=("exec > >(tee -a >(logger ...)) (output fan-out to syslog)",),
    ),
    # bosh-gen's job helpers, shipped by community releases as job templates (helpers/*.sh)
    "ctl_utils.sh": HelperInfo(
        frozenset({"link_job_file_to_package", "link_job_file", "redirect_output", "pid_guard", "wait_pid",
                   "kill_and_wait", "check_nfs_mount", "running_in_container"}),
    ),
    "ctl_setup.sh": HelperInfo(
        frozenset({"link_job_file_to_package", "link_job_file", "redirect_output", "pid_guard", "wait_pid",
                   "kill_and_wait", "check_nfs_mount", "running_in_container"}),
        frozenset({"JOB_NAME", "JOB_DIR", "RUN_DIR", "LOG_DIR", "TMP_DIR", "STORE_DIR", "PIDFILE", "TMPDIR"}),
        side_effects=(
            "sources ctl_utils.sh and redirects output with redirect_output",
            "adds every package's bin folder to PATH",
            "creates and chowns the run, log, tmp and store folders",
        ),
    ),
}


def sourced_path(doc: Document, node: Node) -> str | None:
    """The path a ``source X``/``. X`` command reads (masked text, quotes removed)."""
    if node.type != "command" or command_name(doc, node) not in ("source", "."):
        return None
    args = node.children_by_field_name("argument")
    if not args:
        return None
    return doc.masked_text(args[0]).strip("\"'")


def source_commands(doc: Document) -> list[tuple[Node, str]]:
    """The ``source``/``.`` commands of ``doc`` and the paths they read, in document order (two
    commands never start at the same byte: a nested one starts inside the outer one's words)."""
    out = []
    for node in sorted([*doc.commands("source"), *doc.commands(".")], key=lambda n: n.start_byte):
        path = sourced_path(doc, node)
        if path:
            out.append((node, path))
    return out


def describe(path: str, text: str | None) -> HelperInfo:
    if text is not None:
        return _analyse(text)
    base = path.rsplit("/", 1)[-1]
    return KNOWN.get(base, HelperInfo(frozenset(), known=False))


@lru_cache(maxsize=256)
def parse_helper(text: str) -> Document:
    """A helper's parsed form, shared by every script (and codemod) that sources it."""
    return Document.parse("helper", text.encode("utf-8"))


@lru_cache(maxsize=256)
def _analyse(text: str) -> HelperInfo:
    doc = parse_helper(text)
    functions, variables, effects = set(), set(), []
    for stmt in doc.root.named_children:
        if stmt.type == "comment":
            continue
        if stmt.type == "function_definition":
            name = stmt.child_by_field_name("name")
            if name is not None:
                functions.add(doc.masked_text(name))
            continue
        if stmt.type in ("variable_assignment", "declaration_command"):
            for assign in doc.find("variable_assignment", within=stmt):
                var = assign.child_by_field_name("name")
                if var is not None:
                    variables.add(doc.masked_text(var))
            if "$(" not in doc.node_text(stmt) and "`" not in doc.node_text(stmt):
                continue
        effects.append(re.sub(r"\s+", " ", doc.node_text(stmt))[:120])
    return HelperInfo(frozenset(functions), frozenset(variables), tuple(effects))


# -- where a ``source`` line leads --------------------------------------------------------------
#: The full text of common helpers that codemods inline (not just describe), used only where the
#: path resolves to nothing in the release. ``syslog_utils.sh`` is the widely copied one (diego,
#: capi, routing releases): ``tee_output_to_sys_log DIR NAME`` fans stdout and stderr out to syslog
#: and to ``DIR/NAME.stdout.log`` / ``DIR/NAME.stderr.log``.
KNOWN_TEXTS: dict[str, str] = {
    "syslog_utils.sh": """
function tee_output_to_sys_log() {
  declare log_dir="$1"
  declare log_name="$2"
  exec > >(tee -a >(logger -p user.info -t "vcap.${log_name}.stdout") | prepend_datetime >>"${log_dir}/${log_name}.stdout.log")
  exec 2> >(tee -a >(logger -p user.error -t "vcap.${log_name}.stderr") | prepend_datetime >>"${log_dir}/${log_name}.stderr.log")
}
function prepend_datetime() {
  perl -ne 'BEGIN { use Time::HiRes "time"; use POSIX "strftime"; STDOUT->autoflush(1) }; my $t = time; my $fsec = sprintf ".%06d", ($t-int($t))*1000000; my $time = strftime("[%Y-%m-%dT%H:%M:%S".$fsec."Z]", gmtime $t); print("$time $_")'
}
""",
}

Origin = Literal["release", "builtin", "missing", "unknown"]


@dataclass(frozen=True)
class Lookup:
    """What a ``source`` line reads: ``text`` is the release's own file (origin ``release``), a
    built-in copy of a common helper (``builtin``), or None: ``missing`` for a path of the job's
    own folder that its spec does not render (nothing is there on the VM), ``unknown`` when the
    release does not carry it and no copy may stand in."""

    path: str  # as written in the script
    resolved: str  # with the script's literal variables put in
    text: str | None
    origin: Origin


_ASSIGN = re.compile(r"(?m)^[ \t]*(?:export[ \t]+|readonly[ \t]+)?(\w+)=([\"']?)([\w./@:+-]*)\2[ \t]*(?:#.*)?$")
_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def literal_assignments(text: str) -> dict[str, str]:
    """Variables a script sets to one literal (``JOB_DIR=/var/vcap/jobs/web``); a name set to two
    different values is left out, since which one holds depends on the path taken."""
    values: dict[str, set[str]] = {}
    for m in _ASSIGN.finditer(text):
        values.setdefault(m.group(1), set()).add(m.group(3))
    return {k: next(iter(v)) for k, v in values.items() if len(v) == 1}


def expand_path(path: str, assignments: Mapping[str, str]) -> str:
    """A sourced path with the script's literal variables put in (repeatedly: ``$JOB_DIR`` may be
    ``/var/vcap/jobs/$JOB``); names it does not know stay as written."""
    for _ in range(4):
        expanded = _VAR.sub(lambda m: assignments.get(m.group(1) or m.group(2), m.group(0)), path)
        if expanded == path:
            break
        path = expanded
    return path


def resolve_path(doc: Document, node: Node, path: str) -> str:
    """The path a ``source`` command reads, with variables the script set before it put in."""
    if "$" not in path:
        return path
    return expand_path(path, literal_assignments(doc.masked[: node.start_byte].decode("utf-8", "replace")))


def lookup(job: "JobContext", doc: Document, node: Node, path: str) -> Lookup:
    """The text a ``source`` line of ``doc`` reads, as the release (or, failing it, a known copy)
    tells. See the module docstring for the order."""
    resolved = resolve_path(doc, node, path)
    text = job.helpers.get(resolved)
    if text is None and resolved != path:
        text = job.helpers.get(path)
    own = re.match(r"/var/vcap/jobs/([^/]+)/(.+)$", resolved)
    if text is None and own and own.group(1) == job.name:
        for source, rendered in job.templates.items():
            if rendered == own.group(2):
                text = job.files.get(f"templates/{source}")
                break
    if text is not None:
        return Lookup(path, resolved, text, "release")
    if own and own.group(1) == job.name and job.templates and "$" not in resolved:
        return Lookup(path, resolved, None, "missing")
    if _builtin_allowed(job, resolved):
        known = KNOWN_TEXTS.get(resolved.rsplit("/", 1)[-1])
        if known is not None:
            return Lookup(path, resolved, known, "builtin")
        return Lookup(path, resolved, None, "builtin" if resolved.rsplit("/", 1)[-1] in KNOWN else "unknown")
    return Lookup(path, resolved, None, "unknown")


def _builtin_allowed(job: "JobContext", resolved: str) -> bool:
    """May a built-in copy stand in for this path? Only for a literal path outside the job's own
    folder: a path with a variable the tool could not read may be the release's own file (the
    bug this guards against), and the job's own files are all in its spec."""
    if not resolved.startswith("/") or re.search(r"[$`]", resolved) or not re.fullmatch(r"[\w./@:+-]+", resolved):
        return False
    own = re.match(r"/var/vcap/jobs/([^/]+)/", resolved)
    return not (own and own.group(1) == job.name)


def describe_source(job: "JobContext", doc: Document, node: Node, path: str) -> HelperInfo:
    """What sourcing ``path`` at ``node`` gives the script (see ``lookup``)."""
    return info_of(lookup(job, doc, node, path))


def info_of(found: Lookup) -> HelperInfo:
    """What a looked-up source gives: its text analysed, a known description, or unknown."""
    if found.text is not None:
        return _analyse(found.text)
    if found.origin == "builtin":
        return KNOWN[found.resolved.rsplit("/", 1)[-1]]
    return HelperInfo(frozenset(), known=False)


# -- facts about the whole job, worked out once per job ----------------------------------------------
#: per job (by identity, the job kept alive with its entry): fact key -> value; the last few jobs only
_JOB_FACTS: dict[int, tuple[object, dict[object, object]]] = {}
_JOB_FACTS_MAX = 4


def per_job(job: JobContext, key: object, compute: Callable[[], T]) -> T:
    """``compute()``, once per job and ``key``: for a fact about all of the job's files that every
    script (and the engine's second pass) asks again, such as which templates the others source.

    A JobContext is immutable and the engine builds one per job (and a new one when the checks see
    the files a rewrite creates), so its identity stands for its content while it is alive; the
    entry holds the job, so the identity cannot be reused by another one meanwhile."""
    entry = _JOB_FACTS.get(id(job))
    if entry is None or entry[0] is not job:
        if len(_JOB_FACTS) >= _JOB_FACTS_MAX:
            del _JOB_FACTS[next(iter(_JOB_FACTS))]
        entry = _JOB_FACTS[id(job)] = (job, {})
    facts = entry[1]
    if key not in facts:
        facts[key] = compute()
    return facts[key]  # type: ignore[return-value]
