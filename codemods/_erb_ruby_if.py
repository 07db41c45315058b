"""ERB conditionals whose tags also run Ruby (``erb-to-config``).

Real templates often open with one tag that defines helpers and locals and then tests them, and
set the locals each branch needs in the tag that starts the branch::

    <%
      def sh_esc(x) Shellwords.escape(x) end
      has_api = p("api.http") || p("api.tls")
      if !has_api
    %>
    # nothing to do on this node
    <% else
      port = p("api.tls") ? p("api.tls_port") : p("api.port")
    %>
    curl ... <%= sh_esc(port) %>
    <% end %>

Repeated word for word in the env template, the same tags run the same Ruby in the same order,
so each branch's values see the locals they saw in the script; bash then takes the branch from a
variable the env template sets inside it. This module splits such tags into the Ruby and the test
(the name of the bash variable comes from the test alone) and says which locals each branch has.
A branch that raises (``else raise "..."``) is a render-time check and is not handled here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from codemods import _erb_ruby as ruby
from codemods._erb_blocks import Group, role
from migrator.erb import ErbTag, strip_ruby_strings

_TEST_LINE = re.compile(r"(?P<kw>if|unless)\s+(?P<cond>[^\n;]+?)(?:\s+then)?\s*")
_ELSE = re.compile(r"else\b\s*;?(?P<rest>.*)", re.DOTALL)
_ELSIF = re.compile(r"elsif\s+(?P<cond>[^\n;]+?)(?:\s+then)?\s*(?:[;\n](?P<rest>.*))?", re.DOTALL)
_RAISES = re.compile(r"\b(?:raise|fail|abort|exit)\b")


@dataclass
class RubyIf:
    """A conditional whose opening or middle tags also run Ruby statements."""

    group: Group
    tests: dict[int, str]  # branch index -> its test as a plain `if COND`/`elsif COND` (for naming)
    ruby: dict[int, str]  # branch index -> the Ruby the tag starting that branch runs besides its test
    was: tuple[bool, bool] = (False, False)  # the group's (conditional, else_runs_code) as Structure saw it
    statements: dict[int, list[ErbTag]] = field(default_factory=dict)  # branch -> Ruby statement tags in it

    def locals_at(self, branch: int) -> set[str]:
        """Locals and methods set for the code of ``branch``: by the opening tag, the tag that
        starts the branch, and the Ruby statement tags inside the branch."""
        out = ruby.locals_defined(self.ruby.get(0, ""))
        if branch:
            out |= ruby.locals_defined(self.ruby.get(branch, ""))
        for tag in self.statements.get(branch, []):
            out |= ruby.locals_defined(tag.code)
        return out


def ruby_if(group: Group) -> RubyIf | None:
    """The group as a conditional whose tags also run Ruby, or None (an ordinary conditional, a
    loop, a render-time check, or Ruby that is not whole statements)."""
    if group.end is None or group.conditional:
        return None
    code = group.opener.code.strip()
    lines = code.split("\n")
    test = _TEST_LINE.fullmatch(lines[-1].strip())
    if test is None:
        return None
    pre = "\n".join(lines[:-1])
    if not _whole_statements(pre):
        return None
    tests = {0: f"{test.group('kw')} {test.group('cond').strip()}"}
    runs = {0: pre} if pre.strip() else {}
    for i, middle in enumerate(group.middles, start=1):
        text = middle.code.strip()
        found = _ELSIF.fullmatch(text) or _ELSE.fullmatch(text)
        if found is None:
            return None
        rest = found.group("rest") or ""
        if _RAISES.search(strip_ruby_strings(rest)) or not _whole_statements(rest):
            return None
        if "cond" in found.groupdict() and found.group("cond") is not None:
            tests[i] = f"elsif {found.group('cond').strip()}"
        if rest.strip():
            runs[i] = rest
    if not runs:
        return None
    return RubyIf(group, tests, runs, (group.conditional, group.else_runs_code))


def _whole_statements(code: str) -> bool:
    """Ruby that opens and closes its own blocks (a `def ... end`, an `if ... end`)."""
    if not code.strip():
        return True
    return role(ErbTag("control", 0, 0, code, False)) == "statement"
