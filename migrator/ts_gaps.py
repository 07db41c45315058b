"""Known gaps of the tree-sitter bash grammar, bridged before parsing.

tree-sitter rejects a few things bash accepts: a ``$`` that starts no expansion (``sed /^$/d``,
`` `date +%s$` ``, ``${x/$/y}``), ``fi }`` / ``done }`` / ``esac }`` closing a brace group
without a ``;``, the read-write redirection ``9<>file``, an assignment with only a redirection
(``x=$v >&2``), and ``\\<`` / ``\\>`` comparisons inside ``[ ]``. A script with one of them used to
be skipped whole as unparseable although ``bash -n`` accepts it.

The tree is parsed from a copy of the masked text where each such spot is rewritten to a spelling
of the same length and the same structure that tree-sitter reads (``$`` -> ``_``, ``fi }`` ->
``fi;}``, ``9<>`` -> ``9< ``, ``x=$v >&2`` -> ``x=$v;>&2``, ``\\<`` -> ``==``). Offsets do not
move, the document's own text stays as it was (codemods read and quote that), and a rewrite is
only kept where it removes a parse error, so a file tree-sitter already reads is parsed as it is.

One gap gives no error at all: a ``[ a -eq b ]`` that ends its line without a ``;`` (``[ $? -eq 1 ]``
at the end of a line, or before ``|| exit 1``) is read, when a later line has a redirection and a
``]``, as one test running to that ``]``, with the lines between as its words. A ``[`` test never
spans an unescaped newline in bash, so such a node is a misreading: the numeric operators on its
first line are read as ``=`` (a comparison of the same shape), which tree-sitter reads right.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable

from tree_sitter import Node, Parser, Tree

_LITERAL_DOLLAR = re.compile(rb"(?<![\\$])\$(?=[/)`}\]:,.%^=+~]|$)", re.MULTILINE)
_CLOSE_AFTER_COMPOUND = re.compile(rb"\b(?:fi|done|esac)([ \t])\}")
_READ_WRITE = re.compile(rb"(?<=[0-9])<>(?=\S)")
_ASSIGNMENT_REDIRECT = re.compile(rb"(?m)^[ \t]*[A-Za-z_]\w*=[^\s;&|]*([ \t])(?=[0-9]*(?:>|<)[^<(])")
_TEST_COMPARISON = re.compile(rb"\\[<>]")


def _dollar(text: bytearray, m: re.Match) -> None:
    text[m.start()] = ord("_")


def _separator(text: bytearray, m: re.Match) -> None:
    text[m.start(1)] = ord(";")


def _read_write(text: bytearray, m: re.Match) -> None:
    text[m.start() + 1] = ord(" ")


def _comparison(text: bytearray, m: re.Match) -> None:
    text[m.start():m.end()] = b"=="  # a comparison of the same shape


_GAPS: list[tuple[re.Pattern[bytes], Callable[[bytearray, re.Match], None]]] = [
    (_LITERAL_DOLLAR, _dollar),
    (_CLOSE_AFTER_COMPOUND, _separator),
    (_READ_WRITE, _read_write),
    (_ASSIGNMENT_REDIRECT, _separator),
    (_TEST_COMPARISON, _comparison),
]
_MAX_TRIES = 200

#: a line with a ``[ ]`` test using a numeric or ``==`` operator: only then can the silent misreading occur
_NUMERIC_TEST_LINE = re.compile(rb"(?m)^[^\n]*\[ [^\n]*[ \t](?:-(?:eq|ne|lt|le|gt|ge|nt|ot|ef)|==)[ \t][^\n]*\]")
_NUMERIC_OPERATOR = re.compile(rb"(?<=[ \t])(?:-(?:eq|ne|lt|le|gt|ge|nt|ot|ef)|==)(?=[ \t])")


#: trees by (parser, masked text), most recently used last: a script's text is parsed again as a
#: sibling of another script, as a helper and after ERB masking of its masked form, and a text
#: tree-sitter misreads costs a parse per gap tried (a Tree is immutable, so it is shared)
_TREES: OrderedDict[tuple[Parser, bytes], Tree] = OrderedDict()
_TREES_MAX = 32


def parse(parser: Parser, masked: bytes) -> Tree:
    """The tree of ``masked``, read through the bridged copy when that has fewer errors."""
    key = (parser, masked)
    tree = _TREES.get(key)
    if tree is not None:
        _TREES.move_to_end(key)
        return tree
    tree = _parse(parser, masked)
    if _NUMERIC_TEST_LINE.search(masked):
        tree = _bridge_runaway_tests(parser, masked, tree)
    _TREES[key] = tree
    if len(_TREES) > _TREES_MAX:
        _TREES.popitem(last=False)
    return tree


def _parse(parser: Parser, masked: bytes) -> Tree:
    tree = parser.parse(masked)
    if not tree.root_node.has_error:
        return tree
    errors = _errors(tree)
    # every gap bridged at once (one error can hide behind another), then one by one
    everything = bytearray(masked)
    for pattern, fix in _GAPS:
        for m in list(pattern.finditer(masked)):
            fix(everything, m)
    whole = parser.parse(bytes(everything))
    if _errors(whole) == 0:
        return whole
    text = bytearray(masked)
    tries = 0
    for pattern, fix in _GAPS:
        for m in list(pattern.finditer(bytes(text))):
            if tries >= _MAX_TRIES or errors == 0:
                break
            tries += 1
            candidate = bytearray(text)
            fix(candidate, m)
            new_tree = parser.parse(bytes(candidate))
            new_errors = _errors(new_tree)
            if new_errors < errors:
                text, tree, errors = candidate, new_tree, new_errors
    return tree


def _bridge_runaway_tests(parser: Parser, masked: bytes, tree: Tree) -> Tree:
    """The tree read with the first line of each runaway ``[`` test's numeric operators as ``=``;
    ``tree`` itself when it has none or the bridged copy reads no better."""
    runaway = _runaway_tests(masked, tree)
    if not runaway:
        return tree
    text, done = bytearray(masked), set()
    while runaway and len(done) < _MAX_TRIES:
        for start in runaway:
            done.add(start)
            line_end = masked.find(b"\n", start)
            for m in _NUMERIC_OPERATOR.finditer(masked, start, len(masked) if line_end < 0 else line_end):
                text[m.start():m.end()] = b" = " if len(m.group()) == 3 else b"= "
        new_tree = parser.parse(bytes(text))
        if _errors(new_tree) > _errors(tree):
            break
        tree = new_tree
        runaway = [start for start in _runaway_tests(bytes(text), tree) if start not in done]
    return tree


def _runaway_tests(text: bytes, tree: Tree) -> list[int]:
    """Starts of ``[`` tests that span a newline no backslash continues (bash ends them at the line)."""
    found: list[int] = []
    stack: list[Node] = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type == "test_command" and text[node.start_byte:node.start_byte + 1] == b"[" \
                and text[node.start_byte:node.start_byte + 2] != b"[[":
            body = text[node.start_byte:node.end_byte]
            if b"\n" in body.replace(b"\\\n", b""):
                found.append(node.start_byte)
                continue
        if node.child_count:
            stack.extend(node.children)
    return found


def _errors(tree: Tree) -> int:
    if not tree.root_node.has_error:
        return 0
    count, stack = 0, [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
        elif node.has_error:
            stack.extend(node.children)
    return count
