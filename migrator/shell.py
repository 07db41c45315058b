"""Facts about shell code that several codemods need: redirect parts and ``set -e``.

Kept in one place so that every codemod reads a redirect, or decides whether errexit is on, the
same way.
"""

from __future__ import annotations

import re

from tree_sitter import Node

from migrator.document import Document


def redirect_fd(doc: Document, redirect: Node) -> str | None:
    """The file descriptor written before a redirect operator (``2`` in ``2>>``), if any."""
    fd = redirect.child_by_field_name("descriptor")
    return doc.masked_text(fd) if fd is not None else None


def redirect_operator(doc: Document, redirect: Node) -> str:
    """The operator of a redirect (``>``, ``>>``, ``>&``, ``&>``, ``<``, ...)."""
    for child in redirect.children:
        if not child.is_named:
            return doc.masked_text(child)
    return ""


_SET_E = re.compile(rb"(?m)^\s*set\s+(-[a-zA-Z]*e[a-zA-Z]*\b|-o\s+errexit)")
_SHEBANG_E = re.compile(rb"#![^\n]*\s-[a-zA-Z]*e")


def errexit_may_be_on(masked: bytes) -> bool:
    """Could ``set -e`` be in force anywhere in the script? (``set -e``/``-o errexit`` anywhere,
    or ``bash -e`` in the shebang, which applies when monit runs the file directly).

    For a rewrite that would be wrong under errexit: when in doubt, errexit is on.
    """
    return bool(_SET_E.search(masked) or _SHEBANG_E.match(masked))


def errexit_on_at(masked: bytes, offset: int) -> bool:
    """Is ``set -e`` surely in force at ``offset``? (the last top-level ``set`` before it)

    For a rewrite that relies on errexit: when in doubt, errexit is off. ``#!/bin/bash -e`` does
    not count, because it is lost when the script is run as ``bash script``.
    """
    state = False
    for m in re.finditer(rb"(?m)^[ \t]*set[ \t]+([^\n;&|]*)", masked[:offset]):
        args = m.group(1)
        if re.search(rb"(^|\s)-[a-zA-Z]*e", args) or re.search(rb"-o\s+errexit", args):
            state = True
        elif re.search(rb"(^|\s)\+[a-zA-Z]*e", args) or re.search(rb"\+o\s+errexit", args):
            state = False
    return state
