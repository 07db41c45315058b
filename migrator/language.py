"""What language a job template is written in, and which shell dialect a shell script needs.

BOSH renders every template with ERB whatever its name, and real releases render PowerShell,
JSON and HTTP responses under ``bin/`` next to their shell scripts. The codemods write bash, so a
file is only rewritten once it is known to be shell. The evidence is read in the order an author
would trust it:

1. the shebang (the kernel runs the file with it): bash, sh or dash, also through ``env``; any
   other interpreter (python, ruby, perl, pwsh, node, escript, zsh, ...) is not ours;
2. the file name, with or without a trailing ``.erb``: ``.ps1``, ``.json``, ``.yml``, a
   certificate, ... are never shell; ``.sh`` and ``.bash`` are;
3. the content with its ERB masked: PowerShell markers and the shapes of JSON, YAML, XML, INI,
   PEM and HTTP messages against shell statements that parse.

A shell script's *dialect* decides what the tool may write into it: ``bash``, or ``sh`` for a POSIX
shell (``#!/bin/sh`` is dash on the stemcell: no ``source``, arrays, ``[[``, process
substitution). A script without a shebang has no dialect of its own: see :func:`dialect_of`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from migrator import erb

if TYPE_CHECKING:
    from migrator.document import Document

Dialect = Literal["bash", "sh"]
Kind = Literal["shell", "other", "unknown"]

_BASH = {"bash"}
_POSIX = {"sh", "dash", "ash", "posh"}

#: names (lower case, after any trailing ``.erb``) that are never shell, and what they are
_OTHER_SUFFIXES = {
    ".ps1": "PowerShell", ".psm1": "PowerShell", ".psd1": "PowerShell",
    ".bat": "Windows batch", ".cmd": "Windows batch",
    ".json": "JSON", ".yml": "YAML", ".yaml": "YAML", ".xml": "XML", ".toml": "TOML",
    ".conf": "configuration", ".cfg": "configuration", ".cnf": "configuration", ".ini": "INI",
    ".config": "configuration", ".properties": "Java properties", ".vmoptions": "JVM options",
    ".py": "Python", ".rb": "Ruby", ".pl": "Perl", ".pm": "Perl", ".js": "JavaScript",
    ".lua": "Lua", ".erl": "Erlang", ".escript": "Erlang", ".sql": "SQL", ".html": "HTML",
    ".txt": "text", ".md": "text", ".csv": "data", ".types": "configuration",
    ".pem": "certificate or key", ".crt": "certificate or key", ".cert": "certificate or key",
    ".cer": "certificate or key", ".key": "certificate or key", ".csr": "certificate or key",
    ".der": "certificate or key", ".p12": "certificate or key", ".pfx": "certificate or key",
    ".jks": "Java key store", ".pub": "public key",
}
_SHELL_SUFFIXES: dict[str, Dialect | None] = {".sh": None, ".bash": "bash"}

_POWERSHELL = re.compile(
    r"\$env:\w|^\s*param\s*\(|\[CmdletBinding|\$ErrorActionPreference|-ErrorAction\b|^\s*#Requires\b"
    r"|\b(?:Get|Set|New|Remove|Start|Stop|Write|Test|Invoke|Add|Copy|Move|Out|Import|Export|Wait|Restart"
    r"|Register|Unregister|Enable|Disable|Join|Split|Select|Where|ForEach|Convert|ConvertTo|ConvertFrom)"
    r"-[A-Z][A-Za-z]+\b|@\"\s*$|^\s*\"@",
    re.MULTILINE,
)
_PEM = re.compile(r"^-----BEGIN [A-Z0-9 ]+-----", re.MULTILINE)
_HTTP = re.compile(r"\AHTTP/\d(?:\.\d)? \d{3}\b")
_XML = re.compile(r"\A<(?:\?xml|!DOCTYPE|!--|[A-Za-z][\w:.-]*[\s/>])")
_JSON_START = re.compile(r"\A(?:\{\s*(?:\"|\}|\Z)|\[\s*(?:[\"{\[\]\d-]|true|false|null|\Z))")
_YAML_LINE = re.compile(r"^\s*(?:-\s+\S|-\s*$|[\"']?[\w.\-/ ]+[\"']?:(?:\s|$)|---\s*$|\.\.\.\s*$)")
_INI_SECTION = re.compile(r"^\s*\[[^\]\s=]+(?: [^\]=]+)?\]\s*$", re.MULTILINE)
_DOTTED_KEY = re.compile(r"^\s*[A-Za-z_][\w-]*(?:\.[\w-]+)+\s*[=:]", re.MULTILINE)

#: commands that mark a file as a shell script when no shebang or name decides
_SHELL_COMMANDS = {
    "echo", "printf", "exec", "export", "set", "cd", "source", ".", "exit", "test", "[", "[[", "mkdir",
    "chown", "chmod", "rm", "cp", "mv", "ln", "cat", "sleep", "kill", "trap", "shift", "return", "unset",
    "readonly", "local", "declare", "eval", "wait", "ulimit", "umask", "chpst", "grep", "sed", "awk",
    "curl", "touch", "true", "false", ":",
}
_SHELL_NODES = {"if_statement", "for_statement", "c_style_for_statement", "while_statement", "case_statement",
                "function_definition", "variable_assignment", "pipeline", "list", "redirected_statement",
                "declaration_command", "test_command", "subshell", "compound_statement"}


@dataclass(frozen=True)
class Language:
    """The verdict on one file: ``kind``, the ``dialect`` of a shell script, and the evidence."""

    kind: Kind
    dialect: Dialect | None
    why: str  # "shebang #!/bin/sh", "name .ps1 (PowerShell)", "its content looks like JSON", ...

    @property
    def is_shell(self) -> bool:
        return self.kind == "shell"


def shebang_program(first_line: str) -> str | None:
    """The interpreter a ``#!`` line runs (``env`` and its options looked through), or None."""
    if not first_line.startswith("#!"):
        return None
    words = first_line[2:].split()
    if not words:
        return ""
    program = words[0].rsplit("/", 1)[-1]
    if program == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        program = rest[0].rsplit("/", 1)[-1] if rest else ""
    if program == "busybox" and len(words) > 1:
        program = words[1]
    return program


def shebang_dialect(first_line: str) -> Dialect | None:
    """``bash`` or ``sh`` for a shell shebang; None for none or another interpreter."""
    program = shebang_program(first_line)
    if program in _BASH:
        return "bash"
    if program in _POSIX:
        return "sh"
    return None


def _name_suffix(name: str) -> str:
    base = name.rsplit("/", 1)[-1].lower()
    while base.endswith(".erb"):
        base = base[:-4]
    dot = base.rfind(".")
    return base[dot:] if dot > 0 else ""


def classify(name: str, data: bytes, rendered: str | None = None) -> Language:
    """Decide the language of a template from its shebang, then its name, then its content.

    ``name`` is the template's source name (``ctl.sh.erb``); when it says nothing, the
    ``rendered`` path's name is asked (``ctl.erb`` rendered to ``bin/ctl.ps1``). ``data`` is the
    file's bytes (the first few KiB decide a shebang or a name; content needs the whole file).
    """
    text = data.decode("utf-8", "replace")
    first = effective_first_line(data)
    if first.startswith("#!"):
        program = shebang_program(first) or "(empty)"
        dialect = shebang_dialect(first)
        if dialect is not None:
            return Language("shell", dialect, f"its shebang is {first.strip()}")
        return Language("other", None, f"its shebang runs {program}, not bash or sh")
    suffix = _name_suffix(name) or _name_suffix(rendered or "")
    if suffix in _OTHER_SUFFIXES:
        return Language("other", None, f"its name ends in {suffix}: {_OTHER_SUFFIXES[suffix]}")
    if suffix in _SHELL_SUFFIXES:
        return Language("shell", _SHELL_SUFFIXES[suffix], f"its name ends in {suffix}")
    return _by_content(text, data)


def _masked_text(data: bytes) -> str:
    tags, _ = erb.scan_tags(data)
    return erb.mask(data, tags).decode("utf-8", "replace")


def _by_content(text: str, data: bytes) -> Language:
    masked = _masked_text(data)
    body = masked.strip()
    if not body.strip("_ \n\t"):
        return Language("unknown", None, "it has no shebang and no text besides ERB")
    if _PEM.search(body):
        return Language("other", None, "its content looks like a PEM certificate or key")
    if _HTTP.match(body):
        return Language("other", None, "its content looks like an HTTP message")
    if _XML.match(body):
        return Language("other", None, "its content looks like XML")
    if _POWERSHELL.search(masked):
        return Language("other", None, "its content looks like PowerShell")
    if _JSON_START.match(body) and body[-1] in "}]":
        return Language("other", None, "its content looks like JSON")
    lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if lines and _YAML_LINE.match(lines[0]) and sum(bool(_YAML_LINE.match(ln)) for ln in lines) * 5 >= len(lines) * 4:
        return Language("other", None, "its content looks like YAML")
    if _INI_SECTION.search(body) or (lines and sum(bool(_DOTTED_KEY.match(ln)) for ln in lines) * 2 > len(lines)):
        return Language("other", None, "its content looks like INI or properties settings")
    from migrator.document import Document

    doc = Document.parse("", data)
    if doc.error_count:
        return Language("unknown", None, f"it has no shebang and bash cannot parse it (line {doc.first_error_line()})")
    if not _looks_like_shell(doc):
        return Language("unknown", None, "it has no shebang and nothing in it is recognisably shell")
    return Language("shell", None, "its content parses as shell statements")


def _looks_like_shell(doc: "Document") -> bool:
    for child in doc.root.named_children:
        if child.type in _SHELL_NODES:
            return True
        if child.type == "command":
            name = child.child_by_field_name("name")
            if name is not None and doc.masked_text(name) in _SHELL_COMMANDS:
                return True
    return False


def dialect_of(doc: "Document", callers: Dialect | None = None) -> Dialect:
    """The dialect the tool may write into a shell script.

    The shebang decides when there is one (a non-shell shebang also gives ``sh``: nothing
    rewrites such a file, and POSIX is the smaller promise). A script without a shebang is never
    run by the kernel itself (``execve`` fails with ENOEXEC; monit and the BOSH agent do not fall
    back to a shell): another script sources it, or runs it and the calling shell, on ENOEXEC,
    runs it in a copy of itself. Either way it runs in the dialect of its ``callers``, which the
    caller of this function finds in the job (``sh`` when a POSIX sh script of the job names it).
    Without such a caller it is ``bash``: the job's scripts that call it are bash (about nine in
    ten real release scripts are), and the POSIX sh ones have been asked.
    """
    first = effective_first_line(doc.source)
    if first.startswith("#!"):
        return shebang_dialect(first) or "sh"
    return callers or "bash"


# -- facts the gate and the codemods share -------------------------------------------------------
def bash_constructs(doc: "Document") -> Counter[str]:
    """How often each bash-only construct (one that dash rejects or runs differently) occurs.

    From the tree of the masked script: ``source``, arrays (``a=(...)``, ``a[i]=``, ``${a[@]}``),
    ``[[ ]]``, process substitution, the ``function`` keyword, ``&>``/``&>>``, ``|&`` and ``$'...'``.
    """
    found: Counter[str] = Counter()
    for node in doc.find("command"):
        name = node.child_by_field_name("name")
        if name is not None and doc.masked_text(name) == "source":
            found["source"] += 1
    found["arrays"] += sum(1 for _ in doc.find("array", "subscript"))
    found["[["] += sum(1 for n in doc.find("test_command") if doc.masked_text(n).startswith("[["))
    found["process substitution"] += sum(1 for _ in doc.find("process_substitution"))
    found["the function keyword"] += sum(1 for n in doc.find("function_definition")
                                         if n.children and n.children[0].type == "function")
    found["&>"] += sum(1 for n in doc.find("file_redirect")
                       if any(c.type in ("&>", "&>>") for c in n.children))
    found["|&"] += sum(1 for n in doc.find("pipeline") if any(c.type == "|&" for c in n.children))
    found["$'...'"] += sum(1 for _ in doc.find("ansi_c_string"))
    return +found


def first_line_span(source: bytes) -> tuple[int, int]:
    """Byte span of the file's first line as BOSH renders it, as far as the text alone tells.

    Leading ERB control and comment tags written with ``-%>`` render to nothing, newline included
    (``<%# generated -%>``, or ``<% if p("x") -%>`` around the whole script), so the line after
    them is the rendered first line: the one the kernel reads the shebang from.
    """
    pos = 0
    if source.startswith(b"<%"):
        tags, _ = erb.scan_tags(source[:4096])
        for tag in tags:
            if tag.start != pos or tag.is_output or not tag.trims_newline:
                break
            pos = tag.end
            if source[pos:pos + 1] == b"\n":
                pos += 1
    end = source.find(b"\n", pos)
    return pos, end if end != -1 else len(source)


def effective_first_line(source: bytes) -> str:
    """The text of :func:`first_line_span`."""
    start, end = first_line_span(source)
    return source[start:end].decode("utf-8", "replace")


def shebang_line(doc: "Document") -> tuple[int, str] | None:
    """(1-based line in the file, text) of the script's shebang as BOSH renders it, or None."""
    start, end = first_line_span(doc.source)
    text = doc.source[start:end].decode("utf-8", "replace")
    return (doc.line_of(start), text) if text.startswith("#!") else None
