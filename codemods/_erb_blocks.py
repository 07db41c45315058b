"""The block structure of a script's ERB control tags (``if``/``if_p``/``else``/``end``, loops).

``erb-to-config`` may copy a value out of an ERB conditional only together with that conditional,
and may never copy it out of a loop; so it needs, for any byte offset, the chain of ERB blocks
around it and which branch of each. This module builds that from the tags alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from migrator.erb import ErbTag, strip_ruby_strings

Role = Literal["open", "middle", "end", "statement", "comment", "output"]

_CONDITIONAL_OPEN = re.compile(r"^(?:if|unless)\b(?![?!])|^(?:if_p|if_link)\b.*\bdo\s*(?:\|[^|]*\|)?\s*$", re.DOTALL)
_MIDDLE = re.compile(
    r"^(?:else\b.*|elsif\b.*)$|^end\s*\.\s*(?:else|else_if_p|else_if_link)\b.*\bdo\s*(?:\|[^|]*\|)?\s*$", re.DOTALL
)
#: ``<% else raise "..." %>``: an else tag that also runs Ruby (a render-time check)
_ELSE_WITH_CODE = re.compile(r"^else\b\s*;?\s*\S", re.DOTALL)
_OPENER = re.compile(r"^(?:if|unless|while|until|case|begin|def|for|class|module)\b(?![?!])")
_DO = re.compile(r"\bdo\b")
_END = re.compile(r"\bend\b")


@dataclass
class Group:
    """One ERB block: its opening tag, ``else``-like tags and ``end`` tag."""

    opener: ErbTag
    conditional: bool
    middles: list[ErbTag] = field(default_factory=list)
    end: ErbTag | None = None
    else_runs_code: bool = False

    @property
    def tags(self) -> list[ErbTag]:
        return [self.opener, *self.middles, *([self.end] if self.end else [])]

    @property
    def start(self) -> int:
        return self.opener.start

    @property
    def stop(self) -> int:
        return self.end.end if self.end else self.opener.end

    def branch_at(self, offset: int) -> int:
        """Index of the branch holding ``offset`` (0 = after the opener)."""
        return sum(1 for m in self.middles if m.end <= offset)

    def describe(self) -> str:
        m = re.match(r"[A-Za-z_]\w*", self.opener.code)
        word = m.group(0) if m else "block"
        if self.conditional:
            return f"ERB `{word}` block"
        if self.else_runs_code:
            opener = word if word in ("if", "unless", "if_p", "if_link") else "if"  # Ruby may come before the `if`
            return f"ERB `{opener}` block whose `else` runs Ruby"
        if _DO.search(strip_ruby_strings(self.opener.code)):
            method = re.search(r"\.(\w+)\s*(?:\([^)]*\))?\s*do\b", strip_ruby_strings(self.opener.code))
            return f"ERB loop (`{method.group(1)}`)" if method else "ERB `do` block"
        return f"ERB `{word}` block"


def role(tag: ErbTag) -> Role:
    if tag.kind == "comment":
        return "comment"
    if tag.kind == "output":
        return "output"
    code = strip_ruby_strings(tag.code).strip()
    if _MIDDLE.match(code):
        return "middle"
    opens = sum(1 for s in re.split(r"[;\n]", code) if _OPENER.match(s.strip())) + len(_DO.findall(code))
    closes = len(_END.findall(code))
    if opens - closes == 1:
        return "open"
    if opens - closes == -1 and _without_comment(code) == "end":
        return "end"
    if opens == closes:
        return "statement"
    return "end" if opens - closes == -1 else "statement"


def _without_comment(code: str) -> str:
    """``end # has_admin_api`` is an ``end``: a Ruby comment after the code says nothing."""
    return re.sub(r"\s*#[^\n{]*$", "", code).strip()


class Structure:
    """All groups of a file, or ``broken`` when the tags do not nest in a way we understand."""

    def __init__(self, tags: list[ErbTag]):
        self.groups: list[Group] = []
        self.statements: list[ErbTag] = []
        self.broken = False
        stack: list[Group] = []
        for tag in tags:
            r = role(tag)
            if r == "open":
                code = strip_ruby_strings(tag.code).strip()
                group = Group(tag, bool(_CONDITIONAL_OPEN.match(code)))
                self.groups.append(group)
                stack.append(group)
            elif r == "middle":
                if not stack:
                    self.broken = True
                    return
                stack[-1].middles.append(tag)
                if _ELSE_WITH_CODE.match(strip_ruby_strings(tag.code).strip()):
                    # its branches are not a choice bash could make: the Ruby must render where it is
                    stack[-1].conditional = False
                    stack[-1].else_runs_code = True
            elif r == "end":
                if not stack or _without_comment(strip_ruby_strings(tag.code)) != "end":
                    self.broken = True
                    return
                stack.pop().end = tag
            elif r == "statement":
                self.statements.append(tag)
        if stack:
            self.broken = True

    def chain_at(self, offset: int) -> list[tuple[Group, int]]:
        """Groups around ``offset``, outermost first, with the branch index in each."""
        out = [(g, g.branch_at(offset)) for g in self.groups
               if g.end is not None and g.opener.end <= offset < g.end.start]
        return out

    def group_of(self, tag: ErbTag) -> Group | None:
        for g in self.groups:
            if tag in g.tags:
                return g
        return None
