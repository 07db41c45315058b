"""The log-pipelines pass over helpers: calls of fan-out functions (``tee_output_to_sys_log DIR``)
become the ``exec`` lines they performed, and a ``source`` line whose helper fans output out as a
side effect becomes its redirections.

A helper is inlined with its positional parameters and its own locals put in; its guard clauses
(``if [ "$log_dir" = "" ]; then return 1; fi``) vanish where their test is surely false at the
call and otherwise become the condition of the new lines; an ``if``/``else`` that only picks the
timestamp prefixer (by an argument, often a property) collapses to one branch, with a finding.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from tree_sitter import Node

from codemods._log_guards import decide, guard_of, negate, substitute
from codemods._log_shapes import (
    enclosing_function_name,
    fanout_parts,
    folder_of,
    has_exec_fanout,
    helper_constants,
    if_branches,
    normal_path,
    own_locals,
    positional_locals,
    properties_read,
    put_constants,
    shorten,
    substitute_arguments,
    substitution_body,
    top_level_fanouts,
)
from migrator import helpers
from migrator.document import Document, command_name
from migrator.shell import redirect_fd, redirect_operator

if TYPE_CHECKING:
    from codemods.log_pipelines import _Rewrite

#: one new line and the log file whose folder must exist before it (None: no file opened)
Line = tuple[str, "str | None"]


class HelperCalls:
    """Mixin of the log-pipelines pass (``codemods.log_pipelines._Rewrite``) for helpers."""

    # -- which functions fan out ---------------------------------------------------------------
    def _helper_functions(self: "_Rewrite") -> dict[str, tuple[Document, Node]]:
        """Fan-out functions the script can call: its own, and those of the helpers it sources."""
        if not hasattr(self, "_helper_fns"):
            self._helper_fns, self._near_fns = self._find_helper_functions()
        return self._helper_fns

    def _near_fanouts(self: "_Rewrite") -> dict[str, tuple[Document, Node]]:
        """Functions that fan output out among other work the tool does not inline."""
        self._helper_functions()
        return self._near_fns

    def _find_helper_functions(self: "_Rewrite") -> tuple[dict, dict]:
        found: dict[str, tuple[Document, Node]] = {}
        near: dict[str, tuple[Document, Node]] = {}
        candidates = [(name, self.doc, fn) for name, fn in self.functions.items()]
        for node, path in helpers.source_commands(self.doc):
            text = self._helper_text(node, path)
            if text is None:
                continue
            hdoc = helpers.parse_helper(text)
            for fn in hdoc.find("function_definition"):
                name = fn.child_by_field_name("name")
                if name is not None:
                    candidates.append((hdoc.masked_text(name), hdoc, fn))
        for name, doc, fn in candidates:
            parts = fanout_parts(doc, fn)
            if parts is not None and doc is self.doc and (parts.guards or parts.choice is not None):
                continue  # the script's own: rewritten where it stands, its checks untouched
            if parts is not None:
                found.setdefault(name, (doc, fn))
            elif doc is not self.doc and has_exec_fanout(doc, fn):
                near.setdefault(name, (doc, fn))  # (the script's own is rewritten where it stands)
        return found, near

    def _helper_text(self: "_Rewrite", node: Node, path: str) -> str | None:
        """A sourced helper's text: the release's own, else a known copy (``syslog_utils.sh``)
        where the path resolves to nothing in the release (``migrator.helpers.lookup``)."""
        return helpers.lookup(self.job, self.doc, node, path).text

    def _release_text(self: "_Rewrite", node: Node, path: str) -> str | None:
        """A sourced helper's text only when the release carries it (side effects of sourcing
        are never assumed from a known copy)."""
        found = helpers.lookup(self.job, self.doc, node, path)
        return found.text if found.origin == "release" else None

    @staticmethod
    def _sources_fanout(text: str) -> bool:
        return bool(top_level_fanouts(helpers.parse_helper(text))[0])

    # -- shape 5: calls of fan-out helpers -----------------------------------------------------
    def _fanout_helper_calls(self: "_Rewrite") -> None:
        fns = self._helper_functions()
        near = self._near_fanouts()
        if not fns and not near:
            return
        for cmd in self.doc.commands():
            name = command_name(self.doc, cmd)
            if name not in fns and name not in near:
                continue
            if enclosing_function_name(cmd, self.doc) == name or self._inside_replaced(cmd):
                continue
            if name not in fns:
                self._note_near_fanout(cmd, name, *near[name])
                continue
            hdoc, fn = fns[name]
            args = [self.doc.node_text(a) for a in cmd.children_by_field_name("argument")]
            fix = f"helper@{cmd.start_byte}"
            expansion = self._expand_fanout(hdoc, fn, args, cmd, fix)
            span = self.doc.full_lines(cmd.start_byte, cmd.end_byte)
            if expansion is not None and span is None:
                self.finding(cmd.start_byte, f"left unchanged: {name} shares its line with other code")
                expansion = None
            if expansion is None:
                self.abandon(fix)
                continue
            lines, conditions = expansion
            indent = self.doc.slice(span[0], cmd.start_byte)
            asserted = {normal_path(m.group(1), self._constants())
                        for c in conditions for m in re.finditer(r"-[ed] (\S+)", c)}
            body = self._with_folders(cmd, lines, skip=asserted)
            if conditions and body:
                text = (f"{indent}if {' && '.join(conditions)}; then\n"
                        + "".join(f"{indent}  {line}\n" for line in body) + f"{indent}fi\n")
                self.edit(span[0], span[1], text, fix)
            elif body:
                self.edit(span[0], span[1], "".join(f"{indent}{line}\n" for line in body), fix)
            else:
                self.remove_lines(span, fix)
            self.finding(cmd.start_byte, f"{name} replaced by the redirections it performed, without its "
                         "syslog and timestamp parts", "info", fix=fix)
        self._drop_unused_sources(fns)

    def _note_near_fanout(self: "_Rewrite", cmd: Node, name: str, hdoc: Document, fn: Node) -> None:
        body = fn.child_by_field_name("body")
        other = next((s for s in (body.named_children if body is not None else [])
                      if s.type not in ("comment", "declaration_command", "variable_assignment", "redirected_statement")
                      and not (s.type == "command" and command_name(hdoc, s) == "mkdir")), None)
        what = f"'{shorten(hdoc.node_text(other))}'" if other is not None else "more than its fan-out"
        self.finding(cmd.start_byte, f"left unchanged: {name} (from a sourced helper) fans output out, but also runs "
                     f"{what}, which the tool does not inline",
                     suggestion="replace the call by hand with plain 'exec >> FILE' / 'exec 2>> FILE' lines")

    def _with_folders(self: "_Rewrite", at: Node, lines: list[Line], skip: set[str] = frozenset()) -> list[str]:
        """The new lines, after a ``mkdir -p`` of each log folder the script does not make first."""
        consts = self._constants()
        folders = []
        for _, path in lines:
            folder = folder_of(path) if path else None
            if folder and folder not in folders and normal_path(folder, consts) not in skip:
                folders.append(folder)
        made = [d for d in sorted(folders) if not self._dir_made_before(at, d)]
        self.ensured += [(d, at) for d in made]
        return [f"mkdir -p {d}" for d in made] + [line for line, _ in lines]

    def _expand_fanout(self: "_Rewrite", hdoc: Document, fn: Node, args: list[str], call: Node,
                       fix: str) -> tuple[list[Line], list[str]] | None:
        """The lines a call of fan-out helper ``fn`` becomes, and the conditions (from its guard
        clauses) they run under; None (with a finding) when that cannot be plain."""
        parts = fanout_parts(hdoc, fn)
        assert parts is not None
        fname = hdoc.masked_text(fn.child_by_field_name("name"))
        # `$(basename "$0")` in the helper is the calling script's name: the name it runs under
        # when it is a job's own bin/ script, else the same expression
        rendered = self.rendered
        script = self.script if rendered and rendered.startswith("bin/") and not self._is_library() else '$(basename "$0")'
        params = positional_locals(hdoc, fn)
        own = own_locals(hdoc, fn, script)
        conditions = self._guard_conditions(hdoc, parts.guards, fname, params, args, own, call)
        if conditions is None:
            return None
        if parts.choice is not None:
            lines = self._choose(hdoc, parts.choice, fname, params, args, own, call, fix)
        else:
            redirects = [r for stmt in parts.execs for r in stmt.children_by_field_name("redirect")]
            lines = self._exec_lines(hdoc, redirects, params, {}, args, call, fix, own)
        return (lines, conditions) if lines is not None else None

    def _guard_conditions(self: "_Rewrite", hdoc: Document, guards: tuple[Node, ...], fname: str,
                          params: dict[str, int], args: list[str], own: dict[str, str | None],
                          call: Node) -> list[str] | None:
        conditions: list[str] = []
        for node in guards:
            guard = guard_of(hdoc, node)
            if guard is None:
                self.finding(call.start_byte, f"left unchanged: {fname} starts with a check the tool cannot "
                             f"read ('{shorten(hdoc.node_text(node))}')",
                             suggestion="replace the call by hand with plain 'exec >> FILE' / 'exec 2>> FILE' lines")
                return None
            test = substitute(guard.test, params, args, own)
            if test is None:
                self.finding(call.start_byte, f"left unchanged: cannot put this call's arguments into {fname}'s "
                             f"check '{guard.test}'")
                return None
            verdict = decide(test, self._literal, lambda word: self._dir_made_before(call, word))
            if verdict is False:
                continue  # never true here: the guard cannot stop the fan-out at this call
            if verdict is True:
                self.finding(call.start_byte, f"left unchanged: here {fname}'s check '{test}' holds, so it "
                             "returns before its fan-out", suggestion="check the call's arguments")
                return None
            if not guard.returns_success:
                why = self._status_matters(call, call.parent, pipe_status=False)
                if why:
                    self.finding(call.start_byte, f"left unchanged: {fname} returns {guard.status} when {test} "
                                 f"(its guard), and {why}; plain redirections under an 'if' would return 0",
                                 suggestion="make sure the check cannot hold here (create the folder first) "
                                 "or rewrite the call by hand")
                    return None
            conditions.append(negate(test))
        return conditions

    def _literal(self: "_Rewrite", word: str) -> str | None:
        """A word's value when the script fixes it: a literal, or variables set once to one."""
        if "<%" in word or "`" in word or "$(" in word:
            return None
        if len(word) >= 2 and word[0] == word[-1] and word[0] in "\"'":
            word = word[1:-1]
        value = put_constants(word, self._constants())
        return None if "$" in value else value

    def _choose(self: "_Rewrite", hdoc: Document, choice: Node, fname: str, params: dict[str, int],
                args: list[str], own: dict[str, str | None], call: Node, fix: str) -> list[Line] | None:
        """An ``if``/``else`` in the helper whose branches differ only in their prefixer: one set
        of lines when every branch comes to the same; the choice (often a property passed in as an
        argument) then has no effect, which a finding says."""
        branches = if_branches(choice) or []
        results: list[list[Line]] = []
        for i, branch in enumerate(branches):
            noted = len(self.result.findings)
            redirects = [r for stmt in branch for r in stmt.children_by_field_name("redirect")]
            lines = self._exec_lines(hdoc, redirects, params, {}, args, call, fix, own)
            if lines is None:
                return None
            if i:
                del self.result.findings[noted:]  # the first branch said it already
            results.append(lines)
        cond = choice.child_by_field_name("condition")
        test = hdoc.node_text(cond) if cond is not None else "?"
        if any(r != results[0] for r in results[1:]):
            self.finding(call.start_byte, f"left unchanged: {fname} picks between fan-outs that write different "
                         f"places ('{shorten(test)}')", suggestion="rewrite the call by hand")
            return None
        read = {int(m.group(1) or m.group(2)) for m in re.finditer(r"\$\{?(\d)\}?|\$\{?(\d)", test)}
        read |= {i for name, i in params.items() if re.search(rf"\${{?{name}\b", test)}
        nodes = call.children_by_field_name("argument")
        names = [n for i in sorted(read) if 0 < i <= len(nodes)
                 for n in properties_read(self.doc, nodes[i - 1].start_byte, nodes[i - 1].end_byte)]
        if names:
            self.note_lost_properties(call, names, f"picked between {fname}'s fan-outs ('{shorten(test)}'), which "
                                      "differ only in their timestamp prefixer", fix)
        else:
            self.finding(call.start_byte, f"{fname}'s choice '{shorten(test)}' only picked a timestamp prefixer; "
                         "with the prefixer gone it no longer matters", "info", fix=fix)
        return results[0]

    def _exec_lines(self: "_Rewrite", hdoc: Document, redirects: list[Node], params: dict[str, int],
                    constants: dict[str, str], args: list[str], call: Node, fix: str,
                    own: dict[str, str | None] | None = None) -> list[Line] | None:
        """The plain ``exec`` redirections equivalent to a helper's fan-out redirects, with the
        helper's parameters, its own locals (``own``) and its constants put in; None (with a
        finding) when that is not plain."""
        lines: list[Line] = []
        stdout_moved = False  # an earlier redirect of the helper's already moved stdout
        fanouts = 0
        for redirect in redirects:
            fd = redirect_fd(hdoc, redirect) or "1"
            dest = redirect.child_by_field_name("destination")
            if dest is None or dest.type != "process_substitution":
                line = self._plain_helper_redirect(hdoc, redirect, call)
                if line is False:
                    return None
                if line:
                    lines.append((line, None))
                continue
            fanouts += 1
            sub = type(self)(self.cm, self.job, hdoc)
            sub.fd_origins = sub._saved_fds(redirect)
            inner = substitution_body(dest)
            flow = sub.flow_of(inner) if inner is not None else None
            if flow is None:
                self.finding(call.start_byte, "left unchanged: the helper redirects into an empty >( )")
                return None
            if flow.inherited and flow.files and stdout_moved and not flow.problem:
                self.finding(call.start_byte, "left unchanged: the helper's tee also copies its output to the "
                             "stdout its earlier line sends to a log file; plain redirection would drop that copy",
                             suggestion="rewrite it by hand so each line still reaches every file it reached")
                return None
            stdout_moved |= fd == "1"
            paths = []
            for raw, append in flow.files:
                path = self._helper_path(raw, own, constants, params, args, call)
                if path is None:
                    return None
                paths.append((path, append))
            flow.files = paths
            target = self._target(call, flow, fd, fix)
            if target is None:
                return None
            lines += self._target_lines(target, fd)
        return lines if fanouts else None

    def _helper_path(self: "_Rewrite", raw: str, own: dict[str, str | None] | None, constants: dict[str, str],
                     params: dict[str, int], args: list[str], call: Node) -> str | None:
        """A log file path of the helper as it reads at the call."""
        if own:
            unknown = [n for n in re.findall(r"\$\{?(\w+)", raw) if n in own and own[n] is None]
            if unknown:
                self.finding(call.start_byte, f"left unchanged: the helper's log file name uses its own variable "
                             f"{unknown[0]}, whose value the tool cannot work out ({shorten(raw)})",
                             suggestion="rewrite the call by hand as 'exec >> FILE' with the file it wrote")
                return None
            raw = put_constants(raw, {k: v for k, v in own.items() if v is not None})
        path = substitute_arguments(put_constants(raw, constants), params, args)
        if path is None:
            self.finding(call.start_byte, "left unchanged: cannot work out which file the helper wrote "
                         f"from its arguments ({' '.join(args) or 'none'})")
        return path

    def _plain_helper_redirect(self: "_Rewrite", hdoc: Document, redirect: Node, call: Node) -> str | bool:
        """A helper's ``exec`` redirect that is not fan-out: ``2>&1`` stays as a line of its own,
        a descriptor saved for its plumbing (``3>&1``) goes; False (with a finding) otherwise."""
        fd = redirect_fd(hdoc, redirect)
        op = redirect_operator(hdoc, redirect)
        dest = redirect.child_by_field_name("destination")
        text = hdoc.masked_text(dest) if dest is not None else ""
        if op == ">&" and fd in ("2", None, "1") and text in ("1", "2") and text != (fd or "1"):
            return f"exec {'2' if fd == '2' else ''}>&{text}"
        if op == ">&" and fd is not None and fd not in ("0", "1", "2") and text in ("1", "2"):
            return ""
        self.finding(call.start_byte, f"left unchanged: the helper's fan-out also redirects "
                     f"'{shorten(hdoc.node_text(redirect))}'", suggestion="rewrite the call by hand")
        return False

    @staticmethod
    def _target_lines(target, fd: str) -> list[Line]:
        """``exec`` lines that send stream ``fd`` where ``target`` says."""
        prefix = "exec " if fd == "1" else "exec 2"
        if target.file is not None and target.fd is not None:
            path, append = target.file
            tee = f"tee {'-a ' if append else ''}{path}" + (" >&2" if target.fd == "2" else "")
            return [(f"{prefix}> >({tee})", None)]
        if target.file is not None:
            path, append = target.file
            return [(f"{prefix}{'>>' if append else '>'} {path}", path)]
        if target.fd == fd:
            return []
        return [(f"{prefix}>&{target.fd}", None)]

    def _drop_unused_sources(self: "_Rewrite", fns: dict[str, tuple[Document, Node]]) -> None:
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

    # -- older utils.sh: fan-out as a side effect of sourcing ----------------------------------
    def _sourcing_side_effects(self: "_Rewrite") -> None:
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
            fix = f"source@{node.start_byte}"
            lines = self._exec_lines(hdoc, redirects, {}, helper_constants(hdoc), args, node, fix)
            span = self.doc.full_lines(node.start_byte, node.end_byte)
            if lines is None or span is None:
                self.abandon(fix)
                continue
            indent = self.doc.slice(span[0], node.start_byte)
            body = self._with_folders(node, lines)
            if body:
                self.edit(span[0], span[1], "".join(f"{indent}{ln}\n" for ln in body), fix)
            else:
                self.remove_lines(span, fix)
            self.finding(node.start_byte, f"sourcing {where} only redirected output through syslog "
                         "fan-out; replaced by the plain redirections to the same places", "info", fix=fix)
