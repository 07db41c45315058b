"""What a sourced shell helper provides: its functions, variables and top-level side effects.

A ``source .../utils.sh`` line may only be removed when nothing it provides is still used, so
codemods need to know what each helper defines and does when sourced. The helper is read from the
release when it is there; otherwise the known contents of the common helpers are used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from tree_sitter import Node

from migrator.document import Document, command_name


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
    out = []
    for node in doc.commands():
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
