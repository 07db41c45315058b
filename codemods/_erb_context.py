"""Where an ERB output tag sits in the bash around it (``erb-to-config``).

The same value needs a different shell spelling depending on its place: inside double quotes a
plain ``${VAR}`` is right, inside single quotes the quote must be closed around it, a bare word
needs quotes (or an array, when the old script split it into several words), and some places
(heredoc bodies, ``${X:-...}`` defaults, ``[[ == ]]`` patterns, ``case`` patterns, comments) are
left alone because a variable there would not mean the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from tree_sitter import Node

from migrator.document import Document
from migrator.erb import ErbTag

Quote = Literal["bare", "dq", "sq", "arith"]
_ARITHMETIC = {"arithmetic_expansion", "arithmetic_expression"}

_BLOCKED = {
    "heredoc_body": "inside a heredoc body",
    "heredoc_redirect": "inside a heredoc",
    "heredoc_content": "inside a heredoc body",
    "comment": "inside a shell comment",
    "expansion": "inside a ${...} expansion",
    "regex": "inside a [[ =~ ]] pattern",
    "extglob_pattern": "inside a [[ == ]] pattern",
    "ansi_c_string": "inside a $'...' string",
    "translated_string": "inside a $\"...\" string",
    "subscript": "inside an array subscript",
    "brace_expression": "inside a brace expansion",
}
_ARGUMENT_PARENTS = {"command", "array", "for_statement"}
_WORD_END = set(b" \t\n;|&)")


@dataclass(frozen=True)
class Place:
    """An output tag's place: quoting, whether it is a whole word, whether argv splitting applies."""

    quote: Quote
    whole_word: bool
    splits: bool  # an unquoted word in a command's arguments, an array or a for list
    raw_string: Node | None = None  # the '...' around it, when it fills that string exactly
    command_name: bool = False  # the (start of the) word bash runs as the command


def place_of(doc: Document, tag: ErbTag, escaped: bool = False) -> Place | str:
    """The tag's place, or a reason (text) why no variable may take its place. An ``escaped``
    value (shell-escaped by its own Ruby) may fill a glob pattern: bash read its backslashes as
    literal characters, as it reads a quoted ``"$VAR"`` there (not in a ``=~`` regex, where the
    characters shellescape leaves alone, ``.`` for one, still match anything)."""
    node = doc.root.descendant_for_byte_range(tag.start, tag.end)
    if node is None:
        return "outside any shell statement"
    chain: list[Node] = []
    current: Node | None = node
    while current is not None:
        chain.append(current)
        current = current.parent
    for n in chain:
        if n.type in _BLOCKED:
            return _BLOCKED[n.type]
        if n.is_error or n.is_missing:
            return "in a part of the script bash cannot parse"
    if _is_case_pattern(chain) or _is_double_bracket_pattern(doc, chain):
        if not escaped or _is_regex(doc, chain):
            return "inside a pattern, where quoting would change what matches"
    if _in_brace_expansion(doc, chain, tag):
        return "inside a brace expansion (`{1..N}`, `{a,b}`), which bash made before it saw the value"
    quote: Quote = "bare"
    raw: Node | None = None
    if any(n.type in _ARITHMETIC or (n.type == "compound_statement" and n.children and n.children[0].type == "((")
           for n in chain):
        # bash expands a variable in $(( )) before it evaluates the text, as it read the rendered
        # value there: ${VAR} (unquoted) is the same arithmetic
        if any(n.type in ("string", "raw_string") for n in chain):
            return "inside a quoted string in arithmetic"
        return Place("arith", False, False)
    for n in chain:
        if n.type == "raw_string":
            quote = "sq"
            if n.start_byte == tag.start - 1 and n.end_byte == tag.end + 1:
                raw = n
            break
        if n.type == "string":
            quote = "dq"
            break
        if n.type in ("command", "program", "command_substitution", "process_substitution"):
            break
    masked = doc.masked
    before = masked[tag.start - 1] if tag.start > 0 else 0x20
    after = masked[tag.end] if tag.end < len(masked) else 0x0A
    whole = quote == "bare" and before in (0x20, 0x09, 0x0A, 0x28) and after in _WORD_END
    return Place(quote, whole, quote == "bare" and _in_argument_list(chain), raw,
                 quote == "bare" and _is_command_name(chain))


def _word_of(chain: list[Node]) -> tuple[Node, Node | None]:
    """The argument-level node holding the tag, and its parent."""
    for i, n in enumerate(chain):
        if n.type in ("word", "concatenation", "string", "raw_string", "simple_expansion", "number"):
            parent = chain[i + 1] if i + 1 < len(chain) else None
            if parent is not None and parent.type == "concatenation":
                continue
            return n, parent
    return chain[0], chain[0].parent


def _in_argument_list(chain: list[Node]) -> bool:
    word, parent = _word_of(chain)
    if parent is None:
        return False
    if parent.type in _ARGUMENT_PARENTS:
        if parent.type == "command":
            name = parent.child_by_field_name("name")
            return name is None or not (name.start_byte <= word.start_byte < name.end_byte)
        return True
    if parent.type == "file_redirect":
        dest = parent.child_by_field_name("destination")
        return dest is not None and dest.start_byte != word.start_byte
    return False


def _in_brace_expansion(doc: Document, chain: list[Node], tag: ErbTag) -> bool:
    """Whether the tag sits between an unquoted ``{`` and ``}`` of one word with a ``,`` or ``..``
    between them: the old script's bash expanded the braces around the rendered value
    (``worker_{1..<%= n %>}`` ran ``worker_1 worker_2``); a variable there stops the expansion."""
    if any(n.type in ("string", "raw_string") for n in chain):
        return False
    word, _ = _word_of(chain)
    text = doc.masked[word.start_byte:word.end_byte].decode("utf-8", "replace")
    lo, hi = tag.start - word.start_byte, tag.end - word.start_byte
    opening = text.rfind("{", 0, lo)
    closing = text.find("}", hi)
    if opening < 0 or closing < 0 or "}" in text[opening:lo] or "{" in text[hi:closing]:
        return False
    inner = text[opening + 1:closing]
    return "," in inner or ".." in inner


def _is_command_name(chain: list[Node]) -> bool:
    """Whether the tag is in the word a command runs (``<%= p("cmd") %> --flag``): bash splits
    that word too, so a value holding a program and its flags ran the program with the flags."""
    word, parent = _word_of(chain)
    while parent is not None and parent.type == "command_name":
        word, parent = parent, parent.parent
    if parent is None or parent.type != "command":
        return False
    name = parent.child_by_field_name("name")
    return name is not None and name.start_byte <= word.start_byte < name.end_byte


def _is_case_pattern(chain: list[Node]) -> bool:
    """Whether the tag is in a ``case`` item's pattern (before its ``)``)."""
    for n in chain:
        if n.type == "case_item":
            close = next((c for c in n.children if c.type == ")"), None)
            return close is None or chain[0].start_byte < close.start_byte
    return False


def _is_double_bracket_pattern(doc: Document, chain: list[Node]) -> bool:
    for i, n in enumerate(chain):
        if n.type == "binary_expression":
            test = next((a for a in chain[i:] if a.type == "test_command"), None)
            if test is None or not doc.masked_text(test).startswith("[["):
                return False
            op = n.child_by_field_name("operator")
            right = n.child_by_field_name("right")
            child = chain[i - 1] if i > 0 else None
            if op is None or right is None or child is None:
                return True
            return doc.masked_text(op) in ("==", "=", "!=", "=~") and child.start_byte >= right.start_byte
    return False


def _is_regex(doc: Document, chain: list[Node]) -> bool:
    """Whether the pattern around the tag is the right side of ``[[ =~ ]]``."""
    for n in chain:
        if n.type == "regex":
            return True
        if n.type == "binary_expression":
            op = n.child_by_field_name("operator")
            return op is not None and doc.masked_text(op) == "=~"
    return False


def command_around(doc: Document, start: int, stop: int, probe: tuple[int, int] | None = None) -> Node | None:
    """The command whose arguments [start, stop) lies in, each argument wholly in or out of it.

    ``probe`` is the byte range to look the command up by, when [start, stop) has edges that
    belong to no word (a line continuation before a redirection lies past the command node)."""
    lo, hi = probe or (start, max(start, stop - 1))
    node = doc.root.descendant_for_byte_range(lo, hi)
    while node is not None and node.type != "command":
        if node.type in ("program", "compound_statement", "do_group", "case_item", "if_statement",
                         "function_definition", "list", "pipeline"):
            return None
        node = node.parent
    if node is None:
        return None
    name = node.child_by_field_name("name")
    if name is None or name.end_byte > start:
        return None
    for arg in node.named_children:
        inside = start <= arg.start_byte and arg.end_byte <= stop
        outside = arg.end_byte <= start or arg.start_byte >= stop
        if not (inside or outside):
            return None
    return node
