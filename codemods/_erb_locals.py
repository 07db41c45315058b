"""Ruby that the values moved out of a script still need (``erb-to-config``).

A value that reads a Ruby local (``<%= list %>``) or calls a method the script defines
(``<%= sh_esc(x) %>``) can only move into the env template together with the Ruby that sets it:
otherwise the env template raises NameError and the job no longer renders. That Ruby can travel
(be copied in front of the values, as a prelude) when it is a statement tag at the top of the
script's ERB (no block around it), the only tag that assigns the names it sets, no other tag
changes those values in place (``list << x``), and whatever other locals it reads can travel too
(``zks = link("zk")``, then ``port = zks.p("port")``, then ``list = zks.instances.map ...``).
"""

from __future__ import annotations

import re

from codemods import _erb_ruby as ruby
from codemods._erb_blocks import Structure
from migrator.erb import ErbTag, strip_ruby_strings

#: ``def esc(x) Shellwords.escape(x) end``: shell escaping under another name
_ESCAPER = re.compile(r"""\bdef\s+([a-z_]\w*)\s*(?:\(\s*([a-z_]\w*)\s*\)|\s([a-z_]\w*))\s*[;\n]?\s*"""
                      r"""(?:Shellwords\s*\.\s*(?:shell)?escape\s*\(\s*(\w+)(?:\.to_s)?\s*\)|(\w+)(?:\.to_s)?\.shellescape)"""
                      r"""\s*[;\n]?\s*end\b""")
_MUTATORS = (r"(?:<<|\.(?:push|append|prepend|concat|insert|unshift|update|store|delete|clear|replace|"
             r"merge!|map!|select!|reject!|compact!|flatten!|sort!|uniq!|gsub!|sub!|strip!|chomp!|upcase!|"
             r"downcase!)\b|\[[^\]]*\]\s*(?:=(?![=~])|<<|\+=|\|\|=))")


class RubyDefs:
    """Which control tags set which Ruby locals and methods, and which of them may travel."""

    def __init__(self, tags: list[ErbTag], structure: Structure):
        self.defined_by: dict[str, list[ErbTag]] = {}
        for tag in tags:
            if tag.kind == "control":
                for name in ruby.locals_defined(tag.code):
                    self.defined_by.setdefault(name, []).append(tag)
        self.names = set(self.defined_by)
        self.escapers: set[str] = set()  # methods that only shell-escape their argument
        for tag in tags:
            if tag.kind == "control":
                for m in _ESCAPER.finditer(tag.code):
                    param = m.group(2) or m.group(3)
                    if param in (m.group(4), m.group(5)):
                        self.escapers.add(m.group(1))
        self.copyable: dict[str, ErbTag] = {}
        self._reads: dict[int, set[str]] = {}
        controls = [t for t in tags if t.kind == "control"]
        for tag in structure.statements:
            if structure.chain_at(tag.start):
                continue
            own = ruby.locals_defined(tag.code)
            if not own or any(self.defined_by.get(n) != [tag] for n in own):
                continue
            if any(_mutates(other.code, own) for other in controls if other is not tag):
                continue
            reads = (ruby.identifiers(tag.code) & self.names) - own
            if any(n not in self.copyable or self.copyable[n].start > tag.start for n in reads):
                continue
            self._reads[tag.start] = reads
            for name in own:
                self.copyable[name] = tag

    def closure(self, names: set[str]) -> list[ErbTag]:
        """The copyable tags that set ``names``, with the ones they need, in file order."""
        found: dict[int, ErbTag] = {}
        todo = [n for n in names if n in self.copyable]
        while todo:
            tag = self.copyable[todo.pop()]
            if tag.start in found:
                continue
            found[tag.start] = tag
            todo += list(self._reads.get(tag.start, ()))
        return [found[k] for k in sorted(found)]

    def reads(self, tag: ErbTag) -> set[str]:
        """The locals and methods of the script a copyable tag reads."""
        return self._reads.get(tag.start, set())


def escaped_value(code: str, escapers: set[str]) -> bool:
    """Whether an output tag's whole value is shell-escaped already: ``x.shellescape``,
    ``Shellwords.escape(x)`` or a helper of the script that does only that (``sh_esc(x)``). In a
    bare word the old script's bash read it back to exactly ``x.to_s``."""
    text = code.strip()
    names = "|".join(re.escape(n) for n in sorted(escapers | {"Shellwords.escape", "Shellwords.shellescape"}))
    m = re.fullmatch(rf"(?:{names})\s*\((.*)\)", text, re.DOTALL) if names else None
    if m and _balanced(m.group(1)):
        return True
    m = re.fullmatch(r"(.*?)(?:\.to_s)?\.shellescape", text, re.DOTALL)
    return bool(m) and _balanced(m.group(1))


def _balanced(code: str) -> bool:
    bare = strip_ruby_strings(code)
    depth = 0
    for ch in bare:
        depth += {"(": 1, "[": 1, "{": 1, ")": -1, "]": -1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


def _mutates(code: str, names: set[str]) -> bool:
    bare = strip_ruby_strings(code)
    return any(re.search(rf"(?<![.\w@$]){re.escape(n)}\s*{_MUTATORS}", bare) for n in names)
