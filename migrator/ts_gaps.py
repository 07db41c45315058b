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
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable

from tree_sitter import Parser, Tree

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
