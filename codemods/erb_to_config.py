"""Codemod ``erb-to-config``: move ERB out of control scripts into a rendered env file."""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node

from codemods import _erb_ruby as ruby
from codemods._erb_blocks import Group, Structure
from codemods._erb_branches import Branches, statement_branches
from codemods._erb_context import Place, command_around, place_of
from codemods._erb_escape import escaped_text
from codemods._erb_flags import FlagShape, flag_shape, inner_tags
from codemods._erb_guard import guard_edits
from codemods._erb_heredoc import heredoc_files
from codemods._erb_indent import Layout, fixed_lines
from codemods._erb_indent import layout as indent_layout
from codemods._erb_job import allocate, heredoc_file_shared, job_words, left_alone, sourced_by, sources_env
from codemods._erb_lines import alone_on_its_lines, tag_lines
from codemods._erb_locals import RubyDefs, escaped_value
from codemods._erb_loops import LoopContext, WordsPlan, plan_inline_loop, plan_loop
from codemods._erb_names import Namer, Unnamed, candidates, compound, hint_before
from codemods._erb_quotes import simplify_single_quotes
from codemods._erb_reasons import conditional_shape_reason, heredoc_reason
from codemods._erb_regions import assignment_runs, is_assignment
from codemods._erb_ruby_if import RubyIf, ruby_if
from migrator import ts_gaps
from migrator.codemod import (
    Codemod,
    CodemodResult,
    Edit,
    JobContext,
    NewFile,
    SpecChange,
)
from migrator.differences import DeclaredDifferences, shapes
from migrator.document import Document, bash_parser, command_name
from migrator.erb import ErbTag, strip_ruby_strings
from migrator.language import first_line_span

Chain = list[tuple[Group, int]]
_SIMPLE_LOCAL = re.compile(r"([a-z_]\w*)\s*=(?![=~>])\s*([^;\n]+)")
#: ``set -u`` / ``set -o nounset``, or ``-u`` among the shebang's options (on its own line only)
_NOUNSET = re.compile(r"^[ \t]*set[ \t]+(?:-[a-zA-Z]*u|-o[ \t]+nounset)|\A#![^\n]*?[ \t]-[a-zA-Z]*u", re.MULTILINE)
_DEF_NAME = re.compile(r"\bdef\s+(?:self\.)?([a-z_]\w*[?!]?)")
_SAFE_WORD = re.compile(r"[A-Za-z0-9_@%+=:,./-]+")
_TYPE_CHECK = re.compile(r"\.\s*(?:is_a|kind_of|instance_of|respond_to)\?")


class ErbToConfig(Codemod):
    """Move ERB out of a control script into ``config/<script>.env``, which the script sources.

    What it does: for a script template with ERB, writes a new template
    ``templates/<script>.env.erb`` (rendered by BOSH to ``config/<script>.env``), adds it to the
    spec's ``templates`` map and puts one ``source /var/vcap/jobs/<job>/config/<script>.env`` into
    the script at top level: after the script's opening settings, or where the first moved
    block was. Then:

    - blocks of assignments and exports with ERB (also inside ``<% if %>``/``if_p`` blocks that
      wrap only assignments) move into the env template, each ERB value in them shell-escaped in
      its place; an assignment that runs a command (``$(...)``, backticks) or reads a variable
      the script sets (``cmd="$cmd --x"``, ``$1``) stays, and only its ERB value moves;
    - an ERB value in a command's arguments, a test, a redirect or a function's assignment
      becomes a variable defined in the env template with a shell-escaped value
      (``shellescape``), referenced as ``"$VAR"`` (``"http://h:${VAR}/x"`` inside a word);
      a value the old script split into several words (``.join(" ")``, ``*_args`` properties,
      values that may be empty) becomes an array ``"${VAR[@]}"`` holding the same words (under
      ``set -u``, ``${VAR[@]+"${VAR[@]}"}``, which bash before 4.4 needs for an empty array);
    - flags wrapped in an ERB conditional inside a command (on one line, or ``-%>`` tags on
      their own lines of a continued command) become an array defined in the env template
      (empty when the condition is false) and the command keeps its shape; groups side by side
      share one array (``SERVER_FLAGS+=(...)``), expanded once;
    - an ERB ``if``/``unless``/``if_p`` (with ``else``/``elsif``) around whole statements
      becomes a variable rendered in the env template and a bash ``if`` on it (indented like the
      code around it), the statements unchanged; an ``elsif`` chain over one value holds the
      chosen value (``LOG_FORMAT=json``); one that runs to the end of the script (top level,
      nothing but blank lines, comments and an ``exit N`` after it) becomes a guard clause instead,
      ``[ "$X_ENABLED" = true ] || exit 0`` (the other branch's lines inside an ``if`` before the
      ``exit``), and the body's lines stay as they are (``codemods._erb_guard``);
    - ``cat > FILE <<EOF`` with ERB in the body becomes its own config template, and the script
      copies the rendered file to FILE;
    - an ERB loop around whole lines (``<% p("roles").each do |role| %> ... <% end %>``)
      becomes a bash ``for`` over arrays in the env template, one per value the body reads
      (``ROLE_NAME``, ``ROLE_PASSWORD``) or per condition inside it (``true``/``false``, or the
      chosen value of a choice); a loop that writes words into one command becomes one array of
      those words; a loop over records that each hold a list (``db["extensions"].each`` inside
      ``p("dbs").each``) keeps its inner loop too: all items' entries in one flat array, and an
      array of where each item's entries start (``for ((j = ${X_START[i]}; ...))``); a loop over
      lists of lists, an inner loop holding ERB, a loop writing a heredoc per item, or one whose
      items may be several words stays, with a finding that says which;
    - Ruby that moved values need travels with them (``codemods._erb_locals``): a top-level tag
      that sets locals or defines methods once (``zks = link("zk")``, then ``port = zks.p(...)``,
      a ``def``, a block filling several locals) is copied in front of the values and the
      conditions that read it, and leaves the script when nothing there reads it any more; a
      shell-escaping helper (``def esc(x) Shellwords.escape(x) end``, ``x.shellescape``) is
      called through rather than escaped twice. An ERB conditional whose own tags define helpers
      and set locals (``<% def esc(x) ... end; on = p("a") || p("b"); if !on %>``, an ``else``
      tag that works out the branch's values) is repeated word for word in the env template
      around its values (``codemods._erb_ruby_if``), with the Ruby statements inside its
      branches. An ERB conditional stays Ruby while ERB inside it stays in the script (a guard
      like ``is_a? Array`` around an ERB loop), and a type check (``is_a?``) stays Ruby always;
      the env template repeats it around the values it guards.

    In a POSIX sh script (``#!/bin/sh``: dash on the stemcell) the env file is read with
    ``. /var/vcap/jobs/...`` and nothing becomes an array: a value the script splits into several
    words and ERB-wrapped flags stay in the script, with a finding. The ``source`` line never goes
    above the shebang: when the shebang sits inside an ERB block around the whole script, the line
    goes right below it (or, when ERB after that block needs the env file too, nothing moves).

    Variable names say what the value means (``codemods._erb_names``): a value is named after
    the property it reads (``p("router.status.port")`` -> ``ROUTER_STATUS_PORT``), or after the
    option or variable it fills when it reads several things; a condition after the whole test
    (``!p("bpm.enabled")`` -> ``BPM_DISABLED``, ``p("x") == 0`` -> ``X_IS_0``, ``.empty?`` ->
    ``X_IS_EMPTY``). A condition no honest name fits stays ERB, with a finding. Names never take
    a name any script of the job uses, so one name means one thing in a job: a taken or one-word
    name gets the job's name in front (``KAFKA_HEAP_SIZE``, ``GATE_PORT``), never a generic
    suffix; a long property path keeps its tail (40 characters at most); env template names
    are allocated for the whole job in one pass (``config/ssl2/x.sh.env`` beside
    ``config/ssl3/x.sh.env``) and are the same on every run.

    Left alone (``codemods._erb_job``): a template that is configuration already (only
    assignments, or sourced by another script of the job), one the spec does not list, and one
    the job copies elsewhere (``cp``/``rsync`` of it or its folder into a chroot, a container,
    another host), where ``/var/vcap/jobs`` may not exist, and one another program runs as a user
    other than root or vcap (the job opens its path to others with ``chmod``/``chown``/``setfacl``,
    or a config names it as a hook of a daemon that drops to ``user nobody``), who may not read
    ``config/``; each with a finding. (A template the spec does not list no codemod touches.)

    Why it is bad: ERB makes start and stop depend on render-time Ruby; the script cannot be
    read, linted (shellcheck) or tested as plain bash, and an unescaped property value is
    interpreted as shell syntax.

    Fix safety: the rendered env file and the new script give the process the same argv and
    environment as the old script for every property value the old script handled correctly.
    Values with spaces, quotes, ``$`` or glob characters, in arguments and in moved assignments,
    are now passed literally (the old script split, interpreted or expanded them); a value
    bash read as several words (the command word, a joined list, an ``_args`` property) stays
    several words. Everything else stays with a finding that names the one reason that applies:
    Ruby the value needs that cannot travel, loops holding loops or writing files per item, ERB
    conditionals that cut across shell statements or leave a branch empty, tags that emit whole
    lines, ERB in heredocs the shell expands, values inside brace expansions or printed with
    their own double quotes inside double quotes, comments, ``${X:-...}`` defaults and patterns. Assignments never move above a
    command that runs before them (it could see exported or inherited variables).
    """

    id = "erb-to-config"
    summary = "Move ERB out of control scripts into a rendered env file the script sources"
    rationale = (
        "The exemplar-release guide, 'Template Advice / ERB': avoid ERB in control scripts; "
        "relegate it to configuration files so start and stop stay deterministic and simple."
    )
    triggers = (b"<%",)
    differences: ClassVar[DeclaredDifferences] = DeclaredDifferences(
        "none in argv: every call keeps its arguments and environment; a heredoc's cat becomes a cp of the "
        "rendered config file (the file written must be the same)",
        may_vanish=(shapes("cat", no_arguments=True),),
        may_appear=(shapes("cp", argument_under="/var/vcap/jobs/"),),
    )
    introduces = frozenset({"cp", "cat"})  # a heredoc that became its own config template

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        return _Move(self, job, doc).run()


@dataclass
class _Block:
    """One piece of the env template, and where it came from in the script."""

    order: int
    text: str
    chain: Chain
    verbatim: bool = False  # script text moved as it was (not escaped by the codemod)


@dataclass
class _Region:
    """Whole lines of assignments (and the ERB blocks around only them) that move verbatim."""

    start: int
    end: int
    chain: Chain
    tags: list[ErbTag]
    block: _Block | None = None
    text: str = ""  # the lines as the env template holds them (ERB values shell-escaped)


@dataclass
class _Plan:
    blocks: list[_Block] = field(default_factory=list)
    edits: list[Edit] = field(default_factory=list)
    anchors: list[int] = field(default_factory=list)
    consumed: set[int] = field(default_factory=set)  # tag start offsets


class _Move:
    """One transform call: state for a single script."""

    def __init__(self, codemod: ErbToConfig, job: JobContext, doc: Document):
        self.cm = codemod
        self.job = job
        self.original = doc
        self.doc = _continued(doc)
        self.result = CodemodResult()
        self.tags = list(doc.tags)
        self.structure = Structure(self.tags)
        self.ruby_ifs = self._find_ruby_ifs()
        self.locals = self._ruby_locals()
        self.copyable = self._copyable_locals()
        self.methods = {m.group(1) for t in self.tags if t.kind == "control" for m in _DEF_NAME.finditer(t.code)}
        self.copied: set[int] = set()  # copyable locals' tags copied into a new template
        self.taken = {w for w in re.findall(r"[A-Za-z_]\w*", doc.masked.decode("utf-8", "replace"))
                      if w.strip("_")} | job_words(job)
        self.names: dict[tuple[str, str], str] = {}
        self.plan = _Plan()
        self.script = job.script_name(doc.path)
        self.reasons: dict[int, str] = {}  # tag start -> why it stays
        self.group_reasons: dict[int, str] = {}  # ERB block start -> why it stays
        self.loop_reasons: dict[int, str] = {}  # ERB loop start -> why it stays
        self.defined: set[tuple[str, tuple]] = set()  # (variable, chain) already in the env
        self.conflicts: list[tuple[_Region, str]] = []  # regions that could not move, and why
        self.converted: list[tuple[Group, list[_Block], list[Edit]]] = []  # ERB ifs made bash ifs
        self.guard_gaps: list[tuple[Edit, int]] = []  # a guard's edit ending in a blank line, where its body starts
        self.layouts: dict[int, tuple] = {}  # converted group start -> (Layout, tag lines, texts)
        self.nounset = bool(_NOUNSET.search(doc.masked.decode("utf-8", "replace")))
        # a POSIX sh script (dash on the stemcell) is sourced with `.` and gets no arrays
        self.posix = job.dialect(doc) == "sh"
        self.posix_kept: set[int] = set()  # flag groups left alone because they would need an array
        self.loops_converted: set[int] = set()  # ERB loops now bash for loops (their start offsets)
        self.loop_vars: dict[str, str] = {}  # the bash loop variables made so far

    # -- entry -------------------------------------------------------------------------------
    def run(self) -> CodemodResult:
        alone = left_alone(self.job, self.doc)
        if alone is not None:
            self.result.findings.append(self.cm.finding(self.doc, self.tags[0].start, alone.message, alone.severity,
                                                        alone.suggestion))
            return self.result
        if self.structure.broken:
            self._finding(self.tags[0].start, "ERB blocks in this script do not nest in a way the codemod "
                          "understands; no ERB was moved", "Move the ERB into a config template by hand.")
            return self.result
        if self._sources_env_already():
            self._leftover_findings(already=True)
            return self.result
        env_name = self._env_name()
        if env_name is None:
            self._finding(self.tags[0].start, "no free name for the env template (config/<script>.env and "
                          "its variants are taken); no ERB was moved", "Move the ERB into a config template by hand.")
            return self.result
        self._heredocs()
        regions = self._regions()
        for region in regions:
            self._claim_region(region)
        self._flag_groups()
        self._loops()
        self._ruby_conditionals()
        self._statement_groups()
        self._values()
        self._keep_block_variables()
        if self.plan.blocks:
            if not self._write_env(env_name, regions):
                return self._shebang_in_block()
        else:
            self._drop_copied_locals()
        self._settle_guard_gaps()
        self._indent_conversions()
        self.plan.edits = simplify_single_quotes(self.doc, self.plan.edits)
        self.result.edits += self.plan.edits
        self._leftover_findings()
        return self.result

    def _write_env(self, env_name: tuple[str, str], regions: list[_Region]) -> bool:
        """Place the ``source`` line, move the regions that may move, and write the env template;
        False when the line has no place below the shebang."""
        anchor = self._below_shebang(self._hoist(min(self.plan.anchors)))
        if anchor is None:
            return False
        first = next((r for r in regions if r.start == anchor and not r.chain), None)
        header_end = self._header_end()
        at_header = first is None and header_end is not None and header_end < anchor
        if at_header:
            anchor = header_end  # type: ignore[assignment]
        moved = self._movable_regions(regions, anchor, first)
        # shell code besides ERB tags (`<% if p("x") %>export X=1<% end %>` is a line of shell code)
        if not any(re.sub(r"<%.*?%>", "", line).strip()
                   for block in self.plan.blocks for line in block.text.splitlines()):
            return True  # every value was in assignments that cannot move that far up after all: no env file
        source_line = f"{'.' if self.posix else 'source'} /var/vcap/jobs/{self.job.name}/config/{env_name[1]}\n"
        if first is not None:
            self.plan.edits.append(Edit(first.start, first.end, source_line, self.cm.id))
        elif not at_header:
            place = self._above_comments(anchor)
            gap = "\n" if place >= 2 and self.doc.source[place - 2:place] == b"\n\n" else ""
            self.plan.edits.append(Edit(place, place, source_line + gap, self.cm.id))
        for region in moved:
            if region is not first:
                self._delete_lines(region.start, region.end)
        env_text = self._env_text()
        self._drop_copied_locals()
        if at_header:
            # a blank line before the source line when one follows the header (past deleted lines)
            after = max([e.end for e in self.plan.edits if e.start == anchor and not e.text] + [anchor])
            gap = "\n" if self.doc.source[after:after + 1] == b"\n" else ""
            self.plan.edits.append(Edit(anchor, anchor, gap + source_line, self.cm.id))
        self.result.new_files.append(NewFile(f"templates/{env_name[0]}", env_text))
        self.result.spec_changes.append(SpecChange("add_template", env_name[0], f"config/{env_name[1]}"))
        return True

    def _above_comments(self, anchor: int) -> int:
        """Where the ``source`` line goes for a statement at ``anchor``: above the comment lines
        right above it (they describe that statement), never above the script's first line."""
        below_first = self.doc.line_end(first_line_span(self.doc.source)[0])
        comments = {self.doc.line_start(c.start_byte) for c in self.doc.root.named_children
                    if c.type == "comment" and self.doc.full_lines(c.start_byte, c.end_byte) is not None}
        while anchor > below_first and self.doc.line_start(anchor - 1) in comments:
            anchor = self.doc.line_start(anchor - 1)
        return anchor

    def _below_shebang(self, anchor: int) -> int | None:
        """The ``source`` line's place, never above the shebang (the kernel reads it only on the
        rendered first line). When the shebang sits inside an ERB block around the whole script
        (``<% if p("x") -%>`` on line 1), the hoist out of that block would go above it: the line
        goes right below the shebang instead, inside the block, which is right when every value
        the env file serves is used inside that block too; otherwise None."""
        start, end = first_line_span(self.doc.source)
        if anchor > start or not self.doc.source.startswith(b"#!", start):
            return anchor
        below = self.doc.line_end(start)
        chain = self.structure.chain_at(start)
        if not chain:
            return max(anchor, below)
        outer = chain[0][0]
        inside = outer.end is not None and all(outer.start <= a < outer.stop for a in self.plan.anchors)
        return below if inside else None

    def _shebang_in_block(self) -> CodemodResult:
        """Nothing moves: the env file would have to be sourced above the shebang."""
        self.result = CodemodResult()
        self._finding(first_line_span(self.doc.source)[0],
                      "the shebang is inside an ERB block, and ERB after that block would need the env file "
                      "sourced above the shebang (where the kernel would no longer see it); no ERB was moved",
                      "Put the shebang on the first line, outside any ERB block, then run the tool again.")
        return self.result

    def _movable_regions(self, regions: list[_Region], anchor: int, first: _Region | None) -> list[_Region]:
        """Regions that may move to the env file sourced at ``anchor``; the others give their ERB
        values back to the value pass."""
        moved: list[_Region] = []
        for region in regions:
            if region is first or not self._region_conflict(region, anchor, moved):
                moved.append(region)
            else:
                self._release_region(region)
        if len(moved) < len(regions):  # what stays can still become bash ifs and variables
            self._statement_groups()
            self._values()
            self._keep_block_variables()
        return moved

    # -- names ---------------------------------------------------------------------------------
    def _sources_env_already(self) -> bool:
        """Whether the script already sources an env file of ours (a second run: leave it)."""
        return sources_env(self.job, self.doc.masked.decode("utf-8", "replace"), self.script)

    def _env_name(self) -> tuple[str, str] | None:
        """(template source, rendered file name) of the env template, allocated job-wide
        (``codemods._erb_job``); None when all variants are taken."""
        return allocate(self.job, self.doc.path).get(self.doc.path)

    def _name(self, key: tuple[str, str], base: str) -> str:  # key: (Ruby code, kind and binding)
        """A variable name for a value: derived from its property, unused by the script, stable."""
        if key in self.names:
            return self.names[key]
        # never a name the shell or the programs it runs read (PATH, IFS, LANG, ...), nor a generic one
        name = next(c for c in candidates(base, self.job.name, set(self.names.values())) if c not in self.taken and c not in ruby.RESERVED
                    and not c.startswith(("BASH", "LC_")))
        self.taken.add(name)
        self.names[key] = name
        return name

    # -- Ruby locals -----------------------------------------------------------------------------
    def _ruby_locals(self) -> set[str]:
        """Locals (and methods) any control tag of the script sets: an output tag that reads one
        cannot move without it."""
        out: set[str] = set()
        for tag in self.tags:
            if tag.kind == "control":
                out |= ruby.locals_defined(tag.code)
        return out

    def _copyable_locals(self) -> dict[str, ErbTag]:
        """Ruby locals and methods whose setting tag can be copied into the new template in front
        of the values that use it (see ``codemods._erb_locals``)."""
        self.ruby_defs = RubyDefs(self.tags, self.structure)
        return self.ruby_defs.copyable

    def _needs_local(self, codes: list[str], chain: Chain, extra_params: set[str] = frozenset()) -> str | None:
        """The first Ruby local the codes use that cannot travel with them (None: all fine)."""
        params = set(extra_params)
        for group, branch in chain:
            for tag in group.tags:
                params |= ruby.block_params(tag.code)
            if group.start in self.ruby_ifs:  # the Ruby of its own tags, repeated in the env template
                params |= self.ruby_ifs[group.start].locals_at(branch)
        for code in codes:
            used = (ruby.identifiers(code) & self.locals) - params - set(self.copyable)
            if used:
                return min(used)
        return None

    def _prelude(self, text: str) -> str:
        """Copies of the locals that the ERB in ``text`` uses, to put in front of it."""
        used: set[str] = set()
        for code in re.findall(r"<%=?(.*?)-?%>", text, re.DOTALL):
            used |= ruby.identifiers(code)
        tags = self.ruby_defs.closure(used)
        self.copied |= {t.start for t in tags}
        return "".join(f"<% {t.code} -%>\n" for t in tags)

    def _drop_copied_locals(self) -> None:
        """Remove a copied tag from the script once no ERB left in the script reads what it sets
        (dropping one may free the tags it read in turn)."""
        copied = {t.start: t for t in self.copyable.values() if t.start in self.copied}
        dropped: set[int] = set()
        while True:
            left = [t for t in self.tags if t.start not in self.plan.consumed and t.start not in dropped]
            free = [t for start, t in copied.items() if start not in dropped
                    and not any(ruby.locals_defined(t.code) & ruby.identifiers(o.code) for o in left if o is not t)]
            if not free:
                break
            dropped |= {t.start for t in free}
        for start in sorted(dropped):
            tag = copied[start]
            self.plan.consumed.add(tag.start)
            ls, le = tag_lines(self.doc, tag)
            if alone_on_its_lines(self.doc, tag):
                self.plan.edits.append(Edit(ls, le, "", self.cm.id))
            else:
                self.plan.edits.append(Edit(tag.start, tag.end, "", self.cm.id))

    # -- heredocs that write config files --------------------------------------------------------------
    def _heredocs(self) -> None:
        """Each config-writing heredoc with ERB becomes its own template; the script copies it."""
        used_sources = set(self.job.templates) | {k.removeprefix("templates/") for k in self.job.files}
        used_rendered = set(self.job.templates.values())
        for found in heredoc_files(self.doc, self.structure):
            tags = self.doc.tags_in(found.body_start, found.body_end)
            chain = self.structure.chain_at(found.start)
            if self._needs_local([t.code for t in tags], chain):
                continue
            # a file name another script of the job also writes is never the plain name, so the
            # names do not depend on which script is seen first (job-wide, like the env files)
            own = self._env_name()
            prefix = re.sub(r"\.(?:env|erb\.env|env\d)$", "", own[1]) if own else self.script
            names = [] if heredoc_file_shared(self.job, self.doc.path, found.file_name) else [found.file_name]
            names += [f"{prefix}-{found.file_name}"] + [f"{prefix}-{n}-{found.file_name}" for n in range(2, 100)]
            rendered = next((f"config/{n}" for n in names
                             if f"config/{n}" not in used_rendered and f"{n}.erb" not in used_sources), None)
            if rendered is None:
                continue
            source = rendered.removeprefix("config/") + ".erb"
            used_rendered.add(rendered)
            used_sources.add(source)
            # under an ERB conditional the template renders only when the script would have
            # written the file (its values may not exist otherwise)
            body = self.doc.slice(found.body_start, found.body_end)
            content = self._prelude(body) + _open(chain) + body + _close(chain)
            self.result.new_files.append(NewFile(f"templates/{source}", content))
            self.result.spec_changes.append(SpecChange("add_template", source, rendered))
            path = f"/var/vcap/jobs/{self.job.name}/{rendered}"
            text = f"cat {path} >> {found.destination}" if found.append else f"cp {path} {found.destination}"
            self.plan.edits.append(Edit(found.start, found.end, text, self.cm.id))
            self.plan.consumed |= {t.start for t in tags}
            self.result.findings.append(self.cm.finding(
                self.doc, found.start,
                f"heredoc moved to templates/{source} (rendered to {path}); the script now copies that file, "
                "so its content also sits in the job's config directory, and a new file takes the rendered "
                "file's mode rather than the umask's", "info"))

    # -- regions of assignments ------------------------------------------------------------------
    def _regions(self) -> list[_Region]:
        regions = []
        for start, end in assignment_runs(self.doc, self.structure):
            region = self._region(start, end)
            if region is not None:
                regions.append(region)
        return regions

    def _region(self, start: int, end: int) -> _Region | None:
        """The run [start, end) as a region that may move, unless its ERB cannot travel."""
        tags = self.doc.tags_in(start, end)
        chain = self.structure.chain_at(start)
        if not tags and not chain:
            return None
        if any(not g.conditional for g, _ in chain):
            return None
        if any(t.kind == "output" and t.trims_newline for t in tags):
            return None
        own_params: set[str] = set()
        for t in tags:
            own_params |= ruby.block_params(t.code)
        if self._needs_local([t.code for t in tags], chain, own_params):
            return None
        text = escaped_text(self.doc, start, end, self.job.properties, self.ruby_defs.escapers)
        if text is None:
            return None
        return _Region(start, end, chain, tags, text=text)

    def _claim_region(self, region: _Region) -> None:
        """Plan the region's move (it may still be released if it cannot move that far up)."""
        region.block = _Block(region.start, region.text, region.chain, verbatim=True)
        self.plan.blocks.append(region.block)
        self.plan.anchors.append(region.start)
        self.plan.consumed |= {t.start for t in region.tags}

    def _release_region(self, region: _Region) -> None:
        self.plan.blocks = [b for b in self.plan.blocks if b is not region.block]
        self.plan.consumed -= {t.start for t in region.tags}

    def _region_conflict(self, region: _Region, anchor: int, moved: list[_Region]) -> bool:
        """Whether sourcing the region's assignments at ``anchor`` (earlier) could change them."""
        if region.start == anchor and not region.chain:
            return False
        between = bytearray(self.doc.masked[anchor:region.start])
        for other in moved:
            lo, hi = max(other.start, anchor), min(other.end, region.start)
            if lo < hi:
                between[lo - anchor:hi - anchor] = b" " * (hi - lo)
        text = between.decode("utf-8", "replace")
        code_between = "\n".join(l for l in text.splitlines() if l.strip() and not l.strip().startswith("#"))
        mine = self.doc.masked[region.start:region.end].decode("utf-8", "replace")
        names = set(re.findall(r"\$\{?([A-Za-z_]\w*)", mine)) | set(re.findall(r"([A-Za-z_]\w*)\+?=", mine))
        if any(re.search(rf"\b{re.escape(n)}\b", code_between) for n in names):
            self.conflicts.append((region, ("assignments with ERB stay: they use or set a variable that the script "
                                            "also touches before them, so they cannot move to the env file "
                                            "sourced earlier")))
            return True
        if ("$(" in mine or "`" in mine) and code_between.strip():
            self.conflicts.append((region, ("assignments with ERB stay: they run a command substitution, which "
                                            "would run earlier from the env file")))
            return True
        runs = self._command_between(anchor, region.start, moved)
        if runs is not None:
            self.conflicts.append((region, (f"assignments with ERB stay: the command on line {self.doc.line_of(runs)} "
                                            "runs before them and could see them (exported or inherited "
                                            "variables) if they moved to the env file sourced earlier")))
            return True
        return False

    def _command_between(self, start: int, end: int, moved: list[_Region]) -> int | None:
        """Offset of the first top-level statement in [start, end) that runs something (anything
        but plain assignments, function definitions and comments), ignoring moved regions."""
        for child in self.doc.root.named_children:
            if child.end_byte <= start or child.start_byte >= end:
                continue
            if any(r.start <= child.start_byte < r.end for r in moved):
                continue
            quiet = child.type in ("comment", "function_definition") or is_assignment(self.doc, child)
            if quiet and not re.search(r"\$\(|`", self.doc.masked_text(child)):
                continue
            return child.start_byte
        return None

    def _delete_lines(self, start: int, end: int) -> None:
        src = self.doc.source
        if start >= 2 and src[start - 2:start] == b"\n\n" and src[end:end + 1] == b"\n":
            end += 1
        self.plan.edits.append(Edit(start, end, "", self.cm.id))

    # -- flags in ERB conditionals -----------------------------------------------------------------
    # -- ERB loops around whole lines ------------------------------------------------------------
    def _loops(self) -> None:
        """``<% LIST.each do |x| %> lines <% end %>`` -> arrays in the env file and a bash ``for``
        (``codemods._erb_loops``); a loop that cannot move keeps its reason for the finding."""
        ctx = LoopContext(
            doc=self.doc, structure=self.structure, properties=dict(self.job.properties), codemod_id=self.cm.id,
            nounset=self.nounset, name=lambda key, base: self._name((key, "loop"), base),
            value_base=lambda code, aliases: self._loop_name(lambda n: _subject_or_value(n, code), aliases),
            condition_base=lambda code, aliases: self._loop_name(lambda n: n.condition(code), aliases),
            selector_base=lambda codes, aliases: self._loop_name(lambda n: n.selector(codes), aliases),
            shell_name=self._shell_name, travels=lambda code: self._needs_local([code], []),
            harmless=lambda code: code.strip() in self.copyable or self._renders_anyway(
                ErbTag("output", 0, 0, code, False)),
            escaped=lambda code: escaped_value(code, self.ruby_defs.escapers))
        for group in self.structure.groups:
            if group.conditional or group.end is None or group.else_runs_code or "def " in group.opener.code:
                continue
            if any(t.start in self.plan.consumed for t in group.tags):
                continue
            if self.posix:
                self.loop_reasons[group.start] = "POSIX sh (#!/bin/sh, dash on the stemcell) has no arrays to hold its items"
                continue
            if command_around(self.doc, group.start, group.stop) is not None:
                words = plan_inline_loop(ctx, group, self.original.masked)
                if isinstance(words, str):
                    self.loop_reasons[group.start] = words
                else:
                    self._claim_words(words)
                continue
            found = plan_loop(ctx, group)
            if isinstance(found, str):
                self.loop_reasons[group.start] = found
                continue
            chain = self.structure.chain_at(group.start)
            self.plan.blocks += [_Block(group.start, line, chain) for _, line in found.arrays]
            self.plan.edits += found.edits
            self.plan.consumed |= found.consumed
            self.loops_converted.add(group.start)
            self.loops_converted.update(found.inner)  # loops over each item's own list, now bash loops too
            if found.unquoted:
                self._unquoted_finding(group, found.unquoted)
            self.plan.anchors.append(self._hoist(self.doc.line_start(group.start)) if found.container_is_program
                                     else self._top_statement_start(self.doc.root.descendant_for_byte_range(
                                         found.container_start, found.container_start + 1)))

    def _unquoted_finding(self, group, unquoted: dict[str, str]) -> None:  # noqa: ANN001 - a Group
        """Item values the old script printed unquoted are expanded unquoted: the same words for any
        value without shell syntax; a value with it was shell code to the old script (said, as info:
        a manifest value of that kind could run commands there, and no longer does)."""
        shown = ", ".join(f"`<%= {_short(code)} %>` as `{ref}`" for code, ref in list(unquoted.items())[:3])
        more = f" and {len(unquoted) - 3} more" if len(unquoted) > 3 else ""
        first, last = self.doc.line_of(group.start), self.doc.line_of(group.stop - 1)
        self.result.findings.append(self.cm.finding(
            self.doc, group.start,
            f"ERB loop (lines {first}-{last}) moved: item values it printed unquoted are expanded unquoted "
            f"({shown}{more}), which bash splits at blanks and globs as it did the rendered text; only an item "
            "holding shell syntax (quotes, $, backquotes, backslashes, ; & | < > ( ) { } ~ # or a newline) differs: "
            "the old script ran it as shell code, the new one passes its words as they are", "info",
            "An item that relied on shell quoting (an argument with a space inside quotes) now splits at the space; "
            "such values let a manifest run commands in the old script.", fix=self.cm.id))

    def _claim_words(self, words: WordsPlan) -> None:
        """An inline loop's words: one array in the env file, expanded where the loop was."""
        group = words.group
        name = self._name((f"{group.start}#words", "loop"), words.base)
        self.plan.blocks.append(_Block(group.start, f"{name}=(<%= {words.ruby} %>)\n", self.structure.chain_at(group.start)))
        ref = self._array_ref(name)
        if words.form == "same":
            self.plan.edits.append(Edit(words.start, words.stop, ref, self.cm.id))
        else:
            body = [l for l in self.doc.slice(group.opener.end, group.end.start).splitlines()  # type: ignore[union-attr]
                    if l.strip() and "<%" not in l.split("%>")[0][:2]]
            sample = body[0] if body else ""
            indent = sample[: len(sample) - len(sample.lstrip())]
            self.plan.edits.append(Edit(words.start, words.stop, f"{indent}{ref} \\\n", self.cm.id))
        self.plan.consumed |= {t.start for t in self.doc.tags_in(group.start, group.stop)}
        self.loops_converted.add(group.start)
        self.plan.anchors.append(self._top_statement_start(self.doc.root.descendant_for_byte_range(
            words.node_start, words.node_start + 1)))

    def _loop_name(self, ask, aliases: dict[str, str]):  # noqa: ANN001, ANN202 - a Namer question
        namer = self._namer()
        try:
            return ask(Namer(self.job.properties, {**namer.aliases, **aliases}))
        except Unnamed:
            return None

    def _shell_name(self, base: str) -> str:
        """A lower-case bash variable for a loop, unused by the script (``ip``, ``ip_2``, ...); loops
        one after the other share it."""
        base = base.lower()
        if base in self.loop_vars:
            return self.loop_vars[base]
        # only this script's words matter: the variable lives in this script's shell alone; a word
        # right after -, / or . is part of a name or path (add-user, /home/user, x.user), no variable
        # (comments left out: "(i.e. ...)" in a comment made the loop variable i_2)
        code = bytearray(self.doc.masked)
        for comment in self.doc.find("comment"):
            code[comment.start_byte:comment.end_byte] = b" " * (comment.end_byte - comment.start_byte)
        words = set(re.findall(r"(?<![-/.\w])[A-Za-z_]\w*", code.decode("utf-8", "replace")))
        words |= set(self.loop_vars.values())
        candidates = itertools.chain([base], (f"{base}_{n}" for n in itertools.count(2)))
        name = next(c for c in candidates if c not in words)
        self.loop_vars[base] = name
        return name

    def _chain_at(self, offset: int) -> Chain:
        """The ERB blocks around ``offset`` that are still ERB (a loop made a bash loop is not)."""
        return [(g, b) for g, b in self.structure.chain_at(offset) if g.start not in self.loops_converted]

    def _flag_groups(self) -> None:
        claims: list[tuple[Group, Chain, FlagShape]] = []
        for group in self.structure.groups:
            if not group.conditional or group.end is None:
                continue
            if any(t.start in self.plan.consumed for t in group.tags):
                continue
            chain = self.structure.chain_at(group.start)
            if any(not g.conditional for g, _ in chain):
                continue
            inner = inner_tags(self.doc, group)
            if self._needs_local([t.code for t in group.tags + inner], chain + [(group, 0)]):
                continue
            if any(ruby.locals_defined(t.code) for t in group.tags + inner):
                continue  # Ruby that sets a local another tag may read
            shape = flag_shape(self.doc, self.original.masked, group, self.job.properties)
            if shape is not None and self.posix:
                self.posix_kept.add(group.start)
                self._finding(group.start, "flags in an ERB conditional stay in the script: the codemod makes "
                              "them an array in the env file, and POSIX sh (#!/bin/sh, dash on the stemcell) has "
                              "no arrays", _POSIX_SUGGESTION)
            elif shape is not None and any(shape.texts):
                claims.append((group, chain, shape))
        for run in self._flag_runs(claims):
            self._claim_flags(run)

    def _flag_runs(self, claims: list[tuple[Group, Chain, FlagShape]]) -> list[list[tuple[Group, Chain, FlagShape]]]:
        """Flag groups side by side in one command (nothing but blanks and line continuations
        between them, same ERB around them): one array holds all their flags, so the command
        reads ``"${SERVER_FLAGS[@]}"`` once instead of once per flag."""
        runs: list[list[tuple[Group, Chain, FlagShape]]] = []
        for claim in claims:
            if runs:
                prev = runs[-1][-1]
                between = self.doc.source[prev[2].stop:claim[2].start].replace(b"\\\n", b"")
                same_chain = [(id(g), b) for g, b in prev[1]] == [(id(g), b) for g, b in claim[1]]
                if (prev[2].form == claim[2].form and same_chain and not between.strip()
                        and prev[2].stop <= claim[2].start):
                    runs[-1].append(claim)
                    continue
            runs.append([claim])
        return runs

    # -- ERB conditionals around whole statements ------------------------------------------------
    def _statement_groups(self) -> None:
        """``<% if c %> stmts <% end %>`` -> a variable in the env file and a bash ``if``."""
        for group in self.structure.groups:
            if not group.conditional or group.end is None or any(t.start in self.plan.consumed for t in group.tags):
                continue
            if group.start in self.posix_kept:
                continue
            chain = self.structure.chain_at(group.start)
            if any(not g.conditional for g, _ in chain) or self._needs_local([t.code for t in group.tags], chain):
                continue
            if any(ruby.locals_defined(t.code) for t in group.tags):
                continue  # `if (x = ...)`: later ERB may read x, so the tag must stay
            branches = statement_branches(self.doc, group)
            if branches is not None:
                self._claim_statements(group, chain, branches)

    # -- ERB conditionals whose tags also run Ruby ----------------------------------------------------
    def _find_ruby_ifs(self) -> dict[int, RubyIf]:
        """Top-level conditionals whose tags also define helpers or set locals (``_erb_ruby_if``):
        seen as conditionals from here on, so the values inside can move under them."""
        found: dict[int, RubyIf] = {}
        for group in self.structure.groups:
            if self.structure.chain_at(group.start):
                continue
            shape = ruby_if(group)
            if shape is None:
                continue
            inside = [t for t in self.structure.statements if group.opener.end <= t.start < group.end.start]  # type: ignore[union-attr]
            for tag in inside:
                chain = self.structure.chain_at(tag.start)
                if len(chain) == 1 and ruby.locals_defined(tag.code):
                    shape.statements.setdefault(chain[0][1], []).append(tag)
            group.conditional, group.else_runs_code = True, False
            found[group.start] = shape
        return found

    def _ruby_conditionals(self) -> None:
        """A conditional whose tags run Ruby -> the same tags around its variables in the env
        template, and a bash ``if`` on them; the Ruby statements inside its branches (that only
        set locals) go with them. When that cannot be done the group is seen as before."""
        for start, shape in self.ruby_ifs.items():
            group = shape.group
            if any(t.start in self.plan.consumed for t in group.tags):
                continue
            why = self._claim_ruby_if(shape)
            if why:
                group.conditional, group.else_runs_code = shape.was
                self.group_reasons[start] = why
                # assignments already moved under it may read what its branches' Ruby sets: that
                # Ruby runs in the env template too (it only sets locals; the script keeps it)
                if any(g is group for block in self.plan.blocks for g, _ in block.chain):
                    self.plan.blocks += [_Block(t.start, f"<% {t.code.strip()} -%>\n", [(group, b)])
                                         for b, tags in shape.statements.items() for t in tags]

    def _claim_ruby_if(self, shape: RubyIf) -> str | None:
        group = shape.group
        branches = statement_branches(self.doc, group)
        if branches is None:
            return conditional_shape_reason(self.doc, group)
        listed = {t.start for tags in shape.statements.values() for t in tags}
        for tag in self.structure.statements:
            if group.opener.end <= tag.start < group.end.start and tag.start not in listed:  # type: ignore[union-attr]
                return f"it holds Ruby on line {self.doc.line_of(tag.start)} that is not a plain assignment in one branch"
        for branch, tags in shape.statements.items():
            for tag in tags:
                if not alone_on_its_lines(self.doc, tag):
                    return f"the Ruby on line {self.doc.line_of(tag.start)} shares its line with shell code"
                local = self._needs_local([tag.code], [(group, branch)])
                if local:
                    return f"the Ruby on line {self.doc.line_of(tag.start)} reads `{local}`, {self._local_why(local)}"
        opener_locals = shape.locals_at(0)
        namer = self._namer()
        namer = Namer(self.job.properties, {**namer.aliases, **{n: f":{n}" for n in opener_locals}})
        openers = [group.opener, *group.middles]
        names: dict[int, str] = {}
        before: list[str] = []
        for i, test in sorted(shape.tests.items()):
            try:
                base = namer.condition(test)
            except Unnamed:
                return f"its condition `{_short(test)}` is not one the codemod can name"
            context = "condition" + "".join(f" unless {b}" for b in before)
            names[i] = self._name((re.sub(r"^elsif\b", "if", test), context), base)
            before.append(test)
        blocks = [_Block(group.start, f"{name}=false\n", []) for name in names.values()]
        blocks += [_Block(openers[i].end, f"{name}=true\n", [(group, i)]) for i, name in names.items()]
        self.plan.blocks += blocks
        # the branch's Ruby statements run in the env template, in their place among its values
        self.plan.blocks += [_Block(t.start, f"<% {t.code.strip()} -%>\n", [(group, b)])
                             for b, tags in shape.statements.items() for t in tags]
        shape_layout = indent_layout(self.doc, branches.tag_lines)
        body_indent = shape_layout.indent + (shape_layout.unit if shape_layout.indents_body else "")
        texts = []
        for i in range(len(openers)):
            test = f'[ "${names[i]}" = true ]' if i in names else None
            texts.append(f"{'if' if i == 0 else 'elif'} {test}; then\n" if test else "else\n")
        texts.append("fi\n")
        ranges = [(branches.tag_lines[i][1], branches.tag_lines[i + 1][0]) for i in range(len(openers))]
        for i, (lo, hi) in enumerate(ranges):
            statements = [c for c in branches.container.named_children if lo <= c.start_byte and c.end_byte <= hi]
            if all(c.type == "comment" for c in statements):  # bash has no empty branch: `:` does nothing
                texts[i + 1] = f"{body_indent}:\n" + shape_layout.indent + texts[i + 1]
                texts[i + 1] = texts[i + 1][len(shape_layout.indent):]
        guarded = self._guard(group, [], branches, {i: (n, "true") for i, n in names.items()}, shape_layout)
        if guarded is not None:
            edits, shape_layout = guarded
        else:
            edits = [Edit(ls, le, shape_layout.indent + text, self.cm.id) for (ls, le), text in zip(branches.tag_lines, texts)]
        for tags in shape.statements.values():
            for tag in tags:
                ls, le = tag_lines(self.doc, tag)
                edits.append(Edit(ls, le, "", self.cm.id))
        self.plan.edits += edits
        self.plan.consumed |= {t.start for t in group.tags} | {t.start for tags in shape.statements.values() for t in tags}
        self.layouts[group.start] = (shape_layout, branches.tag_lines, texts)
        self.converted.append((group, blocks, edits))
        self.plan.anchors.append(self._hoist(self.doc.line_start(group.start)))
        return None

    def _claim_statements(self, group: Group, chain: Chain, branches: Branches) -> None:
        choice = self._choice(group, chain)
        if isinstance(choice, str):
            self.group_reasons[group.start] = choice
            return
        tests, defaults, alone = choice
        # each variable's default outside the block, the tested branches' values inside them
        # (where the branch's other values go too, so the env template reads like the choice);
        # an elsif test that can be evaluated on its own is, so its variable means just that test
        blocks = [_Block(group.start, f"{name}={value}", chain) for name, value in defaults.items()
                  if not any(tests[i][0] == name for i in alone)]
        openers = [group.opener, *group.middles]
        for i, (name, value) in tests.items():
            if i in alone:
                text = f"{name}=false\n<% {alone[i]} -%>\n{name}=true\n<% end -%>\n"
                blocks.append(_Block(group.start, text, chain))
            else:
                blocks.append(_Block(openers[i].end, f"{name}={value}", chain + [(group, i)]))
        self.plan.blocks += blocks
        self.plan.consumed |= {t.start for t in group.tags}
        shape = indent_layout(self.doc, branches.tag_lines)
        texts = []
        for i in range(len(openers)):
            if i in tests:
                name, value = tests[i]
                texts.append(f'{"if" if i == 0 else "elif"} [ "${name}" = {value} ]; then\n')
            else:
                texts.append("else\n")
        texts.append("fi\n")
        guarded = self._guard(group, chain, branches, {} if alone else tests, shape)
        if guarded is not None:
            edits, shape = guarded
        else:
            edits = [Edit(ls, le, shape.indent + text, self.cm.id) for (ls, le), text in zip(branches.tag_lines, texts)]
        self.plan.edits += edits
        self.layouts[group.start] = (shape, branches.tag_lines, texts)
        self.converted.append((group, blocks, edits))
        container = branches.container
        self.plan.anchors.append(self._hoist(self.doc.line_start(group.start)) if container.type == "program"
                                 else self._top_statement_start(container))

    def _guard(self, group: Group, chain: Chain, branches: Branches, tests: dict[int, tuple[str, str]],
               shape: Layout) -> tuple[list[Edit], Layout] | None:
        """The edits that make an ERB conditional around the rest of an executed script a guard
        clause, its body's lines left as they are (``codemods._erb_guard``), and its layout (the
        body one level in no more); None when it stays a bash ``if`` around its branches."""
        if chain or set(tests) != {0} or tests[0][1] != "true":
            return None
        rendered = self.job.rendered_path(self.doc.path)
        if rendered is not None and sourced_by(self.job, self.doc.path, rendered) is not None:
            return None  # `exit` would end the script that sources it (such a script is left alone anyway)
        found = guard_edits(self.doc, group, branches.tag_lines, branches.container, tests[0][0], shape.unit)
        if found is None:
            return None
        edits = [Edit(s, e, t, self.cm.id) for s, e, t in found.edits]
        if found.gap is not None:
            self.guard_gaps.append((edits[found.gap], found.body))
        return edits, Layout(shape.indent, False, shape.unit)

    def _settle_guard_gaps(self) -> None:
        """No blank line after a guard clause when the body's first lines moved to the env file
        and a blank line follows them (two blank lines in a row otherwise)."""
        for edit, body in self.guard_gaps:
            if not any(e is edit for e in self.plan.edits):
                continue
            pos = body
            while True:
                deleted = [e.end for e in self.plan.edits if not e.text and e.start <= pos < e.end]
                if not deleted:
                    break
                pos = max(deleted)
            if not self.doc.source[pos:self.doc.line_end(pos)].strip():
                i = next(i for i, e in enumerate(self.plan.edits) if e is edit)
                self.plan.edits[i] = Edit(edit.start, edit.end, edit.text[:-1], edit.fix)

    def _choice(self, group: Group, chain: Chain) -> _Choice | str:
        """The variables that carry an ERB conditional's choice to bash: for each branch that
        tests (by index), its variable and the value that selects it, each variable's default,
        and the ``elsif`` tests evaluated on their own (index -> ``if`` tag code); or why the
        choice cannot be named. ``if c``/``else``: one variable named after ``c``
        (``true``/``false``); ``if x == "a"``/``elsif x == "b"``: one variable holding the chosen
        value (``''`` for none); any other ``elsif`` chain: one variable per test, true exactly
        when its test holds where that test can be evaluated alone (``Namer.independent``), else
        when it holds and the tests before it did not (then it is named apart)."""
        tested = [0] + [i for i, m in enumerate(group.middles, start=1) if _is_elsif(m)]
        openers = [group.opener, *group.middles]
        namer = self._namer(chain)
        params = set().union(*(ruby.block_params(t.code) for g, _ in chain for t in g.tags)) if chain else set()
        binding = str([(g.start, b) for g, b in chain])
        if len(tested) > 1:
            selected = namer.selector([openers[i].code for i in tested])
            if selected is not None:
                subject, values = selected
                code = " ".join(openers[0].code.split()[1:])
                key = (code + (binding if ruby.identifiers(code) & params else ""), "selector:" + "|".join(values))
                name = self._name(key, subject)
                return {i: (name, shlex.quote(v)) for i, v in zip(tested, values)}, {name: "''"}, {}
        tests: dict[int, tuple[str, str]] = {}
        alone: dict[int, str] = {}
        before: list[str] = []
        for i in tested:
            code = " ".join(openers[i].code.split())
            try:
                base = namer.condition(code)
            except Unnamed:
                return (f"its condition `{_short(code)}` is not one the codemod can name (a variable named after "
                        "it would not say what it tests)")
            reads = binding if ruby.identifiers(code) & params else ""
            as_if = re.sub(r"^elsif\b", "if", code)
            if i and as_if.startswith("if") and namer.independent(code):
                alone[i] = as_if
                context = "condition"
            else:  # only counts when the tests before it failed: a meaning of its own
                context = "condition" + "".join(f" unless {b}" for b in before) if i else "condition"
            name = self._name((re.sub(r"^(?:elsif|end\s*\.\s*else_)", "if", code) + reads, context), base)
            tests[i] = (name, "true")
            before.append(code)
        return tests, {name: "false" for name, _ in tests.values()}, alone

    def _indent_conversions(self) -> None:
        """Final indentation of the bash ``if``s made from ERB conditionals (``_erb_indent``): the
        ``if`` takes the surrounding indentation, its body one level more, nested ones stack."""
        converted = [g for g, _, _ in self.converted if g.start in self.layouts]
        if not converted:
            return
        fixed = fixed_lines(self.doc)
        others = [e for e in self.plan.edits if not any(e is x for _, _, edits in self.converted for x in edits)]
        deeper: dict[int, str] = {}  # line start -> indentation added to it
        for group in converted:
            shape, tag_lines, _ = self.layouts[group.start]
            if not shape.indents_body:
                continue
            for (_, lo), (hi, _) in zip(tag_lines, tag_lines[1:]):
                pos = lo
                while pos < hi:
                    deeper[pos] = deeper.get(pos, "") + shape.unit
                    pos = max(self.doc.line_end(pos), pos + 1)
        for n, (group, blocks, edits) in enumerate(self.converted):
            if group.start not in self.layouts:
                continue
            shape, tag_lines, texts = self.layouts[group.start]
            extra = deeper.get(tag_lines[0][0], "")
            if not extra:
                continue
            new = [Edit(e.start, e.end, extra + e.text, e.fix) for e in edits]
            self.plan.edits = [e for e in self.plan.edits if not any(e is x for x in edits)] + new
            self.converted[n] = (group, blocks, new)
        tag_starts = {ls for group in converted for ls, _ in self.layouts[group.start][1]}
        for ls, extra in sorted(deeper.items()):
            le = self.doc.line_end(ls)
            if ls in tag_starts or ls in fixed:
                continue
            if any(e.start < ls < e.end for e in others):
                continue
            # a line the codemod rewrites whole (a heredoc that became a cp, the tag line of an ERB
            # loop that became a bash `for`/`done`): indent the new text
            whole = [e for e in others if e.start == ls and e.end >= le]
            if whole:
                for e in whole:
                    if e.text.strip():
                        self.plan.edits[self.plan.edits.index(e)] = Edit(e.start, e.end, extra + e.text, e.fix)
                continue
            if not self.doc.masked[ls:le].strip():
                continue
            self.plan.edits.append(Edit(ls, ls, extra, self.cm.id))

    def _keep_block_variables(self) -> None:
        """Undo a bash ``if`` made from an ERB conditional while ERB left inside it still needs
        the Ruby condition: a tag reading an ``if_p ... do |x|`` block variable (without the block
        it would not render), or any other ERB that stays (a loop, Ruby, a value that cannot move:
        with the choice made at run time it would render, and may raise, also when the condition
        is false, e.g. ``<% if p("x").is_a? Array %>`` guarding ``<% p("x").each do %>``).
        Undoing one may leave its enclosing conversion with ERB inside: repeat until none does."""
        undone = True
        while undone:
            undone = False
            for entry in list(self.converted):
                group, blocks, edits = entry
                params = set().union(*(ruby.block_params(t.code) for t in group.tags))
                own = {t.start for t in group.tags}
                shape = self.ruby_ifs.get(group.start)
                if shape is not None:  # its Ruby statements stay too (their copies in the env template are harmless)
                    own |= {t.start for tags in shape.statements.values() for t in tags}
                left = [t for t in self.doc.tags_in(group.start, group.stop)
                        if t.start not in own and t.start not in self.plan.consumed and t.kind != "comment"
                        and not (self._renders_anyway(t) and not ruby.identifiers(t.code) & params)]
                # a guard that protects Ruby (`is_a? Array` before `.each`) stays Ruby even when the
                # Ruby it guards moved: the env template repeats it around those values
                checks = [t for t in [group.opener, *group.middles] if _TYPE_CHECK.search(strip_ruby_strings(t.code))]
                if not left and not checks:
                    continue
                reads = [t for t in left if ruby.identifiers(t.code) & params]
                first = (reads or left or checks)[0]
                self.group_reasons[group.start] = (
                    f"ERB on line {self.doc.line_of(first.start)} reads its block variable" if reads else
                    f"ERB inside it (line {self.doc.line_of(first.start)}) stays in the script and may only "
                    "render when the condition holds" if left else
                    f"its condition `{_short(first.code)}` checks the type of a value: a guard for the Ruby "
                    "inside it (kept around the values in the env template too), not a setting to name")
                self.plan.blocks = [b for b in self.plan.blocks if not any(b is x for x in blocks)]
                self.plan.edits = [e for e in self.plan.edits if not any(e is x for x in edits)]
                self.plan.consumed -= own
                if shape is not None:
                    group.conditional, group.else_runs_code = shape.was
                self.converted.remove(entry)
                undone = True

    def _claim_flags(self, run: list[tuple[Group, Chain, FlagShape]]) -> None:
        """An array in the env file for a run of flag groups (empty unless a condition holds),
        expanded once in their place: one group's array is named after its condition
        (``JOB_TLS_ARGS``), a run's after the program it gives flags to (``SERVER_FLAGS``)."""
        group, chain, shape = run[0]
        if len(run) == 1:
            base = ruby.variable_base(group.opener.code)
            if base == "ERB_VALUE":
                try:
                    base = self._namer(chain).condition(group.opener.code)
                except Unnamed:
                    return
            name = self._name((f"{group.start}#flags", "flags"), base + "_ARGS")
        else:
            name = self._name((f"{group.start}#flags", "flags"), _program_base(self.doc, shape) + "_FLAGS")
        op = "=" if len(run) == 1 else "+="
        lines = [f"{name}=()\n"]
        for member, _, member_shape in run:
            lines.append(f"<% {member.opener.code} -%>\n")
            for i, text in enumerate(member_shape.texts):
                if i > 0:
                    lines.append(f"<% {member.middles[i - 1].code} -%>\n")
                if text:
                    lines.append(f"{name}{op}({text})\n")
            lines.append("<% end -%>\n")
            self.plan.consumed |= {t.start for t in member.tags + inner_tags(self.doc, member)}
        self.plan.blocks.append(_Block(group.start, "".join(lines), chain))
        self.plan.anchors.append(self._top_statement_start(shape.node))
        start, stop = shape.start, run[-1][2].stop
        ref = self._array_ref(name)
        if shape.form == "same":
            self.plan.edits.append(Edit(start, stop, ref, self.cm.id))
        else:
            following = self.doc.slice(stop, self.doc.line_end(stop))
            body = [l for l in self.doc.slice(start, stop).splitlines() if l.strip() and "<%" not in l]
            sample = body[0] if body else following
            indent = sample[: len(sample) - len(sample.lstrip())]
            self.plan.edits.append(Edit(start, stop, f"{indent}{ref} \\\n", self.cm.id))

    # -- single values -------------------------------------------------------------------------------
    def _values(self) -> None:
        """Every output tag not moved yet becomes a variable in the env file, where its place allows."""
        self.words: dict[tuple[int, int], list[tuple[ErbTag, str]]] = {}
        for tag in self.tags:
            if tag.kind != "output" or tag.start in self.plan.consumed or tag.start in self.reasons:
                continue
            reason = self._value(tag)
            if reason:
                self.reasons[tag.start] = reason
        self._quote_words()

    def _quote_words(self) -> None:
        """``http://h:<%= port %>/x`` -> ``"http://h:${PORT}/x"``: quote the whole word when that is
        the same word (no glob characters, no tilde), rather than a quoted piece in the middle."""
        for (start, end), refs in self.words.items():
            inside = [t for t in self.doc.tags_in(start, end)]
            if len(refs) == 1 and (refs[0][0].start, refs[0][0].end) == (start, end):
                self.plan.edits.append(Edit(start, end, f'"${refs[0][1]}"', self.cm.id))
            elif len(inside) == len(refs):
                parts, pos = ['"'], start
                for tag, name in refs:
                    parts += [self.doc.slice(pos, tag.start), f"${{{name}}}"]
                    pos = tag.end
                parts += [self.doc.slice(pos, end), '"']
                self.plan.edits.append(Edit(start, end, "".join(parts), self.cm.id))
            else:
                for tag, name in refs:
                    self.plan.edits.append(Edit(tag.start, tag.end, f'"${name}"', self.cm.id))

    def _value(self, tag: ErbTag) -> str | None:
        """Move one output tag; returns why it stays, or None when it moved."""
        chain = self._chain_at(tag.start)
        loop = next((g for g, _ in chain if not g.conditional), None)
        if loop is not None:
            return f"output tag inside an {loop.describe()} (line {self.doc.line_of(loop.start)})"
        if tag.trims_newline:
            return "output tag with -%> that joins it to the next line"
        local = self._needs_local([tag.code], chain)
        if local:
            if local in self.methods:
                return f"output tag calls the Ruby method `{local}` defined in the script"
            return f"output tag uses the Ruby local `{local}` assigned elsewhere in the script"
        place = place_of(self.doc, tag, escaped_value(tag.code, self.ruby_defs.escapers))
        if not isinstance(place, Place):
            if "heredoc" in place:
                return f"output tag {heredoc_reason(self.doc, tag.start, tag.end)}"
            return f"output tag {place}"
        if self._emits_lines(tag):
            return "output tag that emits whole script lines"
        constant = ruby.constant_text(tag.code)
        if constant is not None and not place.command_name:
            # the script renders the same bytes with the text in place of the tag (a command word
            # stays a value: the gate would take the text for a new command the script calls)
            self.plan.edits.append(Edit(tag.start, tag.end, constant, self.cm.id))
            self.plan.consumed.add(tag.start)
            return None
        # a value escaped by its own Ruby (`sh_esc(x)`, `x.shellescape`) was one word in a bare place,
        # which bash read back to x: the helper is called through, its output is the env value
        called = place.quote == "bare" and escaped_value(tag.code, self.ruby_defs.escapers)
        # inside double quotes bash took the backslashes of an escaped value off `$`, `\``, `"`, `\`
        dq_escaped = place.quote == "dq" and escaped_value(tag.code, self.ruby_defs.escapers)
        # the command word splits like an argument: a program and its flags stay several words
        resolved = self._resolved(tag.code)  # `opts` set by `opts = p("x").join(" ")`: a list joined
        # (a value inside a longer command word, `bin/<%= driver %>-setup`, is no program with flags:
        # it splits only when it reads as words, as an argument does)
        words = ruby.splits_into_words(resolved, self.job.properties)
        split = not called and ((place.splits and words) or (place.command_name and (place.whole_word or words)))
        if place.quote == "dq" and ruby.prints_quotes(resolved, self.job.properties):
            return ("output tag inside double quotes whose value holds double quotes of its own (a list, a hash "
                    "or JSON printed into the script), which the old script's shell removed")
        if split and self.posix:
            return ("output tag whose value the script splits into several words would need an array, and "
                    "POSIX sh (#!/bin/sh, dash on the stemcell) has none")
        kind = "called" if called else "dq-escaped" if dq_escaped else "list" if split else "scalar"
        params = set().union(*(ruby.block_params(t.code) for g, _ in chain for t in g.tags)) if chain else set()
        # a tag that reads an if_p block variable means a different value under each block
        binding = str([(g.start, b) for g, b in chain]) if ruby.identifiers(tag.code) & params else ""
        base = self._base(tag.code, chain, tag)
        if base is None:
            values = sorted(ruby.identifiers(tag.code) - set(self.ruby_defs.escapers))
            reads = (f"it reads no property by name, only Ruby values ({', '.join(values[:4])}"
                     f"{', ...' if len(values) > 4 else ''})" if values else "it reads no property")
            return f"output tag whose value no variable name would describe ({reads} and fills no option)"
        same = re.sub(r"\.to_s$", "", tag.code.strip())  # `x.to_s` renders what `x` renders: one name
        name = self._name((same, kind + binding), base)
        key = tuple((id(g), b) for g, b in chain)
        defined = (name, key)
        if not any((name, key[:i]) in self.defined for i in range(len(key) + 1)):
            self.defined.add(defined)
            value = ruby.escaped(tag.code, split)
            text = f"{name}=(<%= {value} %>)\n" if split else f"{name}=<%= {value} %>\n"
            inline = "\n" not in tag.code and "#" not in strip_ruby_strings(tag.code)
            code = tag.code.strip() if inline else f"({tag.code}\n)"
            if called:
                text = f"{name}=<%= {code} %>\n"
            elif dq_escaped:
                text = f"{name}=<%= ({code}).to_s.gsub(/\\\\([$`\"\\\\])/, '\\1').gsub(\"\\\\\\n\", '').shellescape %>\n"
            self.plan.blocks.append(_Block(tag.start, text, chain))
        self.plan.anchors.append(self._top_statement_start(self.doc.root.descendant_for_byte_range(tag.start, tag.end)))
        self.plan.consumed.add(tag.start)
        word = self.doc.root.descendant_for_byte_range(tag.start, tag.end)
        if (place.quote == "bare" and not split and not place.whole_word and word is not None
                and word.type == "word" and word.parent is not None and word.parent.type != "concatenation"
                and _SAFE_WORD.fullmatch(self.doc.masked_text(word))):
            self.words.setdefault((word.start_byte, word.end_byte), []).append((tag, name))
        else:
            self.plan.edits.append(self._reference(tag, place, name, split))
        return None

    def _array_ref(self, name: str) -> str:
        """``"${NAME[@]}"``; under ``set -u`` the form bash before 4.4 accepts for an empty array."""
        if self.nounset:
            return f'${{{name}[@]+"${{{name}[@]}}"}}'
        return f'"${{{name}[@]}}"'

    def _base(self, code: str, chain: Chain = (), tag: ErbTag | None = None) -> str | None:
        """Variable name base (``codemods._erb_names``): the property the value reads (also through
        an ``if_p`` block variable or a copied local), else the option or variable it fills; None
        when nothing says what it holds."""
        hint = hint_before(self.doc.slice(self.doc.line_start(tag.start), tag.start)) if tag is not None else None
        before = self.doc.slice(max(0, tag.start - 2000), tag.start) if tag is not None else ""
        try:
            return self._namer(chain).value(code, hint, before)
        except Unnamed:
            return None

    def _namer(self, chain: Chain = ()) -> Namer:
        """Names for code under ``chain``: block variables and copied locals stand for the Ruby
        they hold (a local that holds more than one property read is named after itself)."""
        aliases: dict[str, str] = {}
        for local, tag in self.copyable.items():
            m = _SIMPLE_LOCAL.fullmatch(tag.code.strip())
            rhs = m.group(2).strip() if m and m.group(1) == local else ""
            simple = len(ruby.properties_read(rhs)) == 1 and not compound(rhs)
            link = re.fullmatch(r"""link\(\s*["'][\w\-]+["']\s*\)""", rhs)
            aliases[local] = rhs if simple or link else f":{local}"
        for group, branch in chain:
            opener = [group.opener, *group.middles][branch] if branch else group.opener
            link = re.match(r"""(?:end\s*\.\s*)?(?:else_)?if_link\s*\(\s*["']([\w\-]+)""", opener.code.strip())
            if_p = re.match(r"(?:end\s*\.\s*)?(?:else_)?if_p\s*\((.*?)\)\s*do\b", opener.code.strip(), re.DOTALL)
            # if_p("a", "b") do |x, y|: every name it reads, in order (properties_read sees only the first)
            props = re.findall(r"""["']([\w.\-]+)["']""", if_p.group(1)) if if_p else ruby.properties_read(opener.code)
            for i, param in enumerate(_ordered_params(opener.code)):
                if link:
                    aliases[param] = f'link("{link.group(1)}")'
                else:
                    aliases[param] = f'p("{props[i]}")' if i < len(props) else f":{param}"
        return Namer(self.job.properties, aliases)

    def _resolved(self, code: str) -> str:
        """The code with a copied local standing alone replaced by what its tag assigns
        (``opts`` -> ``p("x").join(" ")``), so that word splitting is judged on the value itself."""
        name = code.strip()
        tag = self.copyable.get(name)
        m = _SIMPLE_LOCAL.fullmatch(tag.code.strip()) if tag is not None else None
        return m.group(2).strip() if m and m.group(1) == name else code

    def _renders_anyway(self, tag: ErbTag) -> bool:
        """An output tag that renders the same, without raising, whatever the conditions around
        it: only properties the spec gives a default (or read with one), ``spec.*``, ``name``,
        ``index``, made into text. Such a tag may stay inside a bash ``if`` made from its ERB
        conditional: rendering it when the condition is false changes nothing."""
        if tag.kind != "output":
            return False
        code = _SAFE_READ.sub(lambda m: "" if self._has_default(m) else "!", tag.code)
        return not code.strip(" .") or bool(_SAFE_REST.fullmatch(code.strip()))

    def _has_default(self, m: re.Match) -> bool:
        if m.group("default") or m.group("spec"):
            return True
        name = m.group("prop") or ".".join(m.group("path").split(".")[1:])
        declared = self.job.properties.get(name)
        return isinstance(declared, dict) and declared.get("default") is not None

    def _emits_lines(self, tag: ErbTag) -> bool:
        """A tag alone on its line that bash reads as a statement of its own (not an argument on
        a continuation line of a command: ``exec bin/x \\`` then ``<%= flag %> \\``)."""
        ls, le = tag_lines(self.doc, tag)
        if self.doc.masked[ls:le].strip() != self.doc.masked[tag.start:tag.end].strip():
            return False
        node = self.doc.root.descendant_for_byte_range(tag.start, tag.end)
        while node is not None and node.type not in ("command", "program"):
            node = node.parent
        name = node.child_by_field_name("name") if node is not None and node.type == "command" else None
        return name is None or name.start_byte <= tag.start < name.end_byte

    def _reference(self, tag: ErbTag, place: Place, name: str, split: bool) -> Edit:
        if split:
            return Edit(tag.start, tag.end, self._array_ref(name), self.cm.id)
        if place.quote == "arith":
            return Edit(tag.start, tag.end, f"${{{name}}}", self.cm.id)
        if place.quote == "dq":
            nxt = self.doc.source[tag.end:tag.end + 1]
            ref = f"${{{name}}}" if re.match(rb"[A-Za-z0-9_]", nxt) else f"${name}"
            return Edit(tag.start, tag.end, ref, self.cm.id)
        if place.quote == "sq":
            if place.raw_string is not None:
                return Edit(place.raw_string.start_byte, place.raw_string.end_byte, f'"${name}"', self.cm.id)
            return Edit(tag.start, tag.end, f"'\"${name}\"'", self.cm.id)
        return Edit(tag.start, tag.end, f'"${name}"', self.cm.id)

    # -- placement -------------------------------------------------------------------------------
    def _top_statement_start(self, node: Node | None) -> int:
        while node is not None and node.parent is not None and node.parent.type != "program":
            node = node.parent
        if node is None:
            return 0
        return self.doc.line_start(node.start_byte)

    def _header_end(self) -> int | None:
        """End of the script's opening block of plain assignments and ``set`` lines (no ERB).

        The env file is sourced there, next to the script's other settings, rather than in the
        middle of the script, when nothing moved into it needs a later place.
        """
        end, previous = None, 0
        for child in self.doc.root.named_children:
            if self.doc.tags_in(previous, child.end_byte) or self.doc.full_lines(child.start_byte, child.end_byte) is None:
                break
            previous = child.end_byte
            if child.type == "comment":
                continue
            if is_assignment(self.doc, child) or (child.type == "command" and command_name(self.doc, child) == "set"):
                end = self.doc.line_end(child.end_byte - 1)
            else:
                break
        return end

    def _hoist(self, offset: int) -> int:
        """Move a top-level offset out of every ERB block around it (the source must always run)."""
        chain = self.structure.chain_at(offset)
        if chain:
            return self.doc.line_start(chain[0][0].start)
        return offset

    # -- the env template ------------------------------------------------------------------------
    def _env_text(self) -> str:
        script = self.job.rendered_path(self.doc.path) or self.script
        # every value is escaped, also in assignments moved from the script (``_erb_escape``)
        header = (f"# Sourced by {script}: the values its ERB used to put into the script.\n"
                  "# Rendered by BOSH; values are shell-escaped, so any property value is safe here.\n")
        body: list[str] = []
        previous: Chain = []
        for block in _unique(sorted(self.plan.blocks, key=lambda b: b.order)):
            body.append(_transition(previous, block.chain))
            body.append(block.text if block.text.endswith("\n") else block.text + "\n")
            previous = block.chain
        body.append(_close(previous))
        # the prelude serves the conditions around the values too (`<% if backup %>`)
        return header + self._prelude("".join(body)) + "".join(body)

    # -- findings ------------------------------------------------------------------------------------
    def _finding(self, offset: int, message: str, suggestion: str | None = None) -> None:
        self.result.findings.append(self.cm.finding(self.doc, offset, message, "review", suggestion))

    def _group_why(self, group: Group) -> str:
        """The one reason that applies to an ERB block that stays (see ``codemods._erb_reasons``)."""
        if group.start in self.group_reasons:
            return self.group_reasons[group.start]
        chain = self.structure.chain_at(group.start)
        loop = next((g for g, _ in chain if not g.conditional), None)
        if loop is not None:
            return f"it is inside the {loop.describe()} on line {self.doc.line_of(loop.start)}, which stays"
        if not group.conditional:
            return self.loop_reasons.get(group.start, "")
        local = self._needs_local([t.code for t in group.tags], chain)
        if local:
            if local in self.methods:
                return f"its condition calls the Ruby method `{local}`, which the script defines in a way that cannot travel"
            return f"its condition reads the Ruby local `{local}`, {self._local_why(local)}"
        setters = sorted(set().union(*(ruby.locals_defined(t.code) for t in group.tags)))
        if setters:
            return f"its condition also sets the Ruby local `{setters[0]}`, which other ERB may read"
        return conditional_shape_reason(self.doc, group)

    def _statement_why(self, tag: ErbTag) -> str:
        """Why a Ruby statement tag (an assignment, a method, a check) stays in the script."""
        chain = self.structure.chain_at(tag.start)
        if chain:
            group = chain[-1][0]
            return f"it is inside the {group.describe()} on line {self.doc.line_of(group.start)}, which stays"
        own = ruby.locals_defined(tag.code)
        if not own:
            return "it sets no value (a check or a side effect at render time), so nothing of it can move"
        left = [t for t in self.tags if t is not tag and t.start not in self.plan.consumed
                and ruby.identifiers(t.code) & own]
        if left:
            first = left[0]
            name = min(ruby.identifiers(first.code) & own)
            return f"ERB left in the script (line {self.doc.line_of(first.start)}) reads `{name}`, which it sets"
        name = min(own)
        if name in self.copyable:
            return f"nothing the codemod moved reads `{name}`"
        return f"it sets `{name}`, {self._local_why(name)}"

    def _local_why(self, name: str) -> str:
        """Why a Ruby local cannot be copied into the env template."""
        tags = self.ruby_defs.defined_by.get(name, [])
        if len(tags) > 1:
            return f"which the script sets in {len(tags)} places"
        if tags and self.structure.chain_at(tags[0].start):
            return f"which the script sets inside an ERB block (line {self.doc.line_of(tags[0].start)})"
        if tags and tags[0] not in self.structure.statements:
            return f"which an ERB block's own tag sets (line {self.doc.line_of(tags[0].start)})"
        if tags and name not in self.copyable:
            return (f"which the tag on line {self.doc.line_of(tags[0].start)} sets from Ruby that cannot travel "
                    "(other ERB changes it in place, or it reads a local that cannot travel)")
        return "which is set elsewhere in the script"

    def _leftover_findings(self, already: bool = False) -> None:
        consumed = self.plan.consumed
        for region, why in self.conflicts:
            if any(t.start not in consumed for t in region.tags):
                self._finding(region.start, why, "Move these assignments into the env template by hand, above "
                              "the code that uses them.")
        prefix = "ERB left in the script (the env file is already sourced): " if already else ""
        reported: set[int] = set()
        for group in self.structure.groups:
            if all(t.start in consumed for t in group.tags) or group.start in self.posix_kept:
                continue
            reported |= {t.start for t in group.tags}
            self._finding(group.start, prefix + _group_message(group, self.doc, self._group_why(group)),
                          _group_suggestion(group))
        for tag in self.structure.statements:
            reported.add(tag.start)
            if tag.start not in consumed:
                method = _DEF_NAME.search(tag.code)
                why = self._statement_why(tag)
                if method:
                    self._finding(tag.start, prefix + f"Ruby method definition `{method.group(1)}` stays in the "
                                  f"script: {why}", "Move the helper into the template that uses its result, or "
                                  "inline it where it is called; the codemod can then move its callers.")
                else:
                    self._finding(tag.start, prefix + f"Ruby code `{_short(tag.code)}` stays in the script: {why}",
                                  "Compute the value in the env template (or the config file that needs it).")
        for tag in self.tags:
            if tag.kind != "output" or tag.start in consumed or tag.start in reported:
                continue
            if any(not g.conditional for g, _ in self._chain_at(tag.start)):
                continue  # the loop's own finding covers what it emits
            reason = self.reasons.get(tag.start) or "output tag not moved"
            self._finding(tag.start, prefix + f"{reason}: `<%= {_short(tag.code)} %>` stays in the script",
                          _output_suggestion(reason))


#: reads that cannot raise when their property has a default (checked against the spec)
_SAFE_READ = re.compile(r"""\bp\(\s*(["'])(?P<prop>[\w.\-]+)\1\s*(?P<default>,[^()]*)?\)|(?P<path>\bproperties(?:\.\w+)+)"""
                        r"""|(?P<spec>\bspec\.(?:index|id|name|address|ip|az|deployment|bootstrap)\b|^\s*(?:name|index)\s*$)""")
_SAFE_REST = re.compile(r"(?:\.(?:to_s|to_i|strip|downcase|upcase|join(?:\(\s*(?:\"[^\"]*\"|'[^']*')\s*\))?))*")


def _subject_or_value(namer: Namer, code: str) -> str:
    """A per-item value is named after what it reads (``role["name"]`` -> ``ROLE_NAME``)."""
    try:
        return namer.subject(code).name
    except Unnamed:
        return namer.value(code)


def _continued(doc: Document) -> Document:
    """The document as bash sees it once rendered, for analysis: an ERB tag alone on a line with
    ``-%>`` inside a backslash-continued command renders to nothing, so the command goes on; the
    plain masking would end the command at that blank line."""
    masked = bytearray(doc.masked)
    changed = False
    for tag in doc.tags:
        if tag.kind == "output" or not tag.trims_newline:
            continue
        ls, le = tag_lines(doc, tag)
        if ls == 0 or le > len(masked) or masked[le - 1:le] != b"\n" or bytes(masked[ls:le]).strip():
            continue
        newlines = [i for i in range(ls, le) if masked[i] == 0x0A]  # every line of a multi-line tag
        if any(masked[i - 1] == 0x0A for i in newlines):
            continue  # an empty line inside the tag: no byte to put the continuation on
        if bytes(masked[doc.line_start(ls - 1):ls]).rstrip().endswith(b"\\"):
            for nl in newlines:
                masked[nl - 1] = ord("\\")
            changed = True
    if not changed:
        return doc
    masked_bytes = bytes(masked)
    return Document(doc.path, doc.source, doc.tags, doc.erb_error, masked_bytes, ts_gaps.parse(bash_parser(), masked_bytes))


_Choice = tuple[dict[int, tuple[str, str]], dict[str, str], dict[int, str]]


def _program_base(doc: Document, shape: FlagShape) -> str:
    """The program a command runs, as a name: its first path-like word (``exec chpst -u vcap
    /var/vcap/packages/x/bin/server ...`` -> ``SERVER``), else its command name."""
    node = shape.node
    while node is not None and node.type != "command":
        node = node.parent
    if node is None:
        return "OPTIONAL"
    words = [doc.masked_text(c) for c in node.named_children if c.end_byte <= shape.start]
    path = next((w.strip("\"'") for w in words if "/" in w and not w.startswith("-") and "=" not in w), None)
    name = path.rsplit("/", 1)[-1] if path else next((w for w in words if w not in ("exec", "nohup", "env")), "")
    name = re.sub(r"\.(?:sh|rb|py)$", "", name)
    base = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    return base if base and not base[0].isdigit() else "OPTIONAL"


def _unique(blocks: list[_Block]) -> list[_Block]:
    """Blocks without repeats: a condition tested twice in the script is defined once (its name
    means one thing, so a second definition under the same ERB conditions says nothing new)."""
    seen: set[tuple[str, tuple]] = set()
    out = []
    for block in blocks:
        key = (block.text, tuple((g.opener.code, b) for g, b in block.chain))
        if key not in seen:
            seen.add(key)
            out.append(block)
    return out


def _is_elsif(tag: ErbTag) -> bool:
    """A middle tag that tests again (``elsif``, ``end.else_if_p``) rather than a plain ``else``."""
    return bool(re.match(r"elsif\b|end\s*\.\s*else_if", tag.code))


def _ordered_params(code: str) -> list[str]:
    m = re.search(r"\|([^|]*)\|", code)
    return [p.strip().lstrip("*&") for p in m.group(1).split(",")] if m else []


def _open(chain: Chain) -> str:
    out = []
    for group, branch in chain:
        out.append(f"<% {group.opener.code} -%>\n")
        out += [f"<% {m.code} -%>\n" for m in group.middles[:branch]]
    return "".join(out)


def _close(chain: Chain) -> str:
    return "<% end -%>\n" * len(chain)


def _transition(previous: Chain, chain: Chain) -> str:
    """ERB tags that lead from inside the blocks of ``previous`` to inside those of ``chain``:
    close what differs and open what is new, or step to a later branch of the same block."""
    i = 0
    while i < min(len(previous), len(chain)) and previous[i][0] is chain[i][0] and previous[i][1] == chain[i][1]:
        i += 1
    if i < len(previous) and i < len(chain) and previous[i][0] is chain[i][0] and chain[i][1] > previous[i][1]:
        group = chain[i][0]
        middles = "".join(f"<% {m.code} -%>\n" for m in group.middles[previous[i][1]:chain[i][1]])
        return _close(previous[i + 1:]) + middles + _open(chain[i + 1:])
    return _close(previous[i:]) + _open(chain[i:])


def _short(code: str, limit: int = 60) -> str:
    code = " ".join(code.split())
    return code if len(code) <= limit else code[: limit - 3] + "..."


def _group_message(group: Group, doc: Document, why: str) -> str:
    lines = f"lines {doc.line_of(group.start)}-{doc.line_of(group.stop - 1)}"
    if group.else_runs_code:
        other = next((m for m in group.middles if re.match(r"else\b", m.code)), group.middles[-1])
        ruby_code = _short(re.sub(r"^else\b\s*;?", "", other.code.strip()), 40)
        if re.search(r"\braise\b|\bfail\b", other.code):
            return (f"ERB conditional ({lines}) whose `else` runs Ruby (a render-time check: `{ruby_code}`) stays "
                    "in the script, with the values it wraps: split, the check would no longer compile")
        return (f"ERB conditional ({lines}) whose `else` runs Ruby (`{ruby_code}`) stays in the script, with the "
                "values it wraps: split, that Ruby would no longer run before the values that need it")
    if group.conditional:
        return f"{group.describe()} around script lines ({lines}) stays in the script: {why}"
    if "def " in group.opener.code:
        return f"Ruby method definition ({lines}) stays in the script"
    return f"{group.describe()} that emits script lines ({lines}) stays in the script" + (f": {why}" if why else "")


def _group_suggestion(group: Group) -> str:
    if group.else_runs_code:
        return ("Keep the check where it is, or move the whole conditional (the check with the values it "
                "guards) into the env template by hand.")
    if group.conditional and _TYPE_CHECK.search(strip_ruby_strings(group.opener.code)):
        return ("Nothing to change for the check itself; if the property's type is fixed by its spec, drop the "
                "check and run the tool again.")
    if group.conditional:
        return ("Render the decision into the env template (for example `FEATURE_ENABLED=<%= ... %>`) and "
                "branch on it in bash with `if [ \"$FEATURE_ENABLED\" = true ]`.")
    if "def " in group.opener.code:
        return ("Move the helper into the template that uses its result, or inline it where it is called; "
                "the codemod can then move its callers.")
    return ("Render the list into the env template as a bash array (`ITEMS=(...)`, values shellescaped) "
            "and loop over it in bash.")


_POSIX_SUGGESTION = ("If the script may use bash, make its shebang #!/bin/bash and run the tool again; otherwise "
                     "render the words into the env file as one string and expand it unquoted ($NAME) by hand.")


def _output_suggestion(reason: str) -> str:
    if "POSIX sh" in reason:
        return _POSIX_SUGGESTION
    if "heredoc" in reason:
        return ("Move the heredoc's content into its own config template (listed in the spec's templates) "
                "and copy or use the rendered file from /var/vcap/jobs/<job>/config/.")
    if "whole script lines" in reason:
        return "Render the lines into a config file, or render only the data and keep the commands in bash."
    if "Ruby local" in reason:
        return "Move the Ruby that computes the value into the env template together with the value."
    if "Ruby method" in reason:
        return ("Inline the method's Ruby in the tag (or move the method into the env template with the "
                "value); the codemod can then move the value.")
    if "brace expansion" in reason:
        return ("Render every word into an array in the env template (`WORKERS=(<%= (1..n).map { |i| "
                "\"worker_#{i}\" }.join(\" \") %>)`) and pass \"${WORKERS[@]}\".")
    if "double quotes of its own" in reason:
        return ("Render the text the program is meant to get (for example `.join(\",\")` for a list) and move "
                "that value; what the program gets today has the quotes removed.")
    return "Define a variable for it in the env template and reference it from the script by hand."
