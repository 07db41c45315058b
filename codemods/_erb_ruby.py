"""Reading the Ruby inside ERB tags just enough to move it safely (``erb-to-config``).

We never evaluate Ruby. We only need: which properties a tag reads (to name a shell variable after
them), whether a value was meant to become several words (a list joined with spaces, an "args"
property), which Ruby locals a tag depends on (a tag that reads a local assigned elsewhere in the
script cannot move alone), and the Ruby text that renders a value shell-safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from migrator.erb import strip_ruby_strings

_PROPERTY_CALL = re.compile(r"""\b(?:p|if_p)\(\s*\[?\s*["']([\w.\-]+)["']""")
_PROPERTIES_ACCESSOR = re.compile(r"\bproperties((?:\.\w+)+)")
_LINK_PROPERTY = re.compile(r"""\blink\(\s*["']([\w\-]+)["']\s*\)\s*\.\s*p\(\s*["']([\w.\-]+)["']""")
_LINK_ACCESSOR = re.compile(r"""\b(?:if_)?link\(\s*["']([\w\-]+)["']\s*\)\s*\.\s*(\w+)""")
_SPEC_ACCESSOR = re.compile(r"\bspec\.(\w+(?:\.\w+)*)")
_SPACE_JOIN = re.compile(r"""\.join\(\s*(["'])\s+\1\s*\)|\*\s*(["'])\s+\2""")
_LIST_WORDS = re.compile(r"(?:^|[._])(args|arguments|flags|opts|options|params|parameters)$")
_DEFAULT_EMPTY = re.compile(r""",\s*(?:""|''|nil)\s*\)\s*$""")

#: Names a generated variable must never take: the shell and the environment depend on them.
RESERVED = frozenset([
    "PATH", "HOME", "IFS", "PWD", "OLDPWD", "USER", "LOGNAME", "SHELL", "LANG", "TERM", "TMPDIR",
    "HOSTNAME", "UID", "EUID", "PPID", "PS1", "PS2", "PS4", "RANDOM", "SECONDS", "LINENO", "OPTARG",
    "OPTIND", "REPLY", "GROUPS", "FUNCNAME", "PIPESTATUS", "CDPATH", "ENV", "MAIL", "TZ",
    # commonly inherited or read by programs: a plain assignment would change what they see
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "LD_LIBRARY_PATH", "LD_PRELOAD", "PYTHONPATH",
    "GEM_HOME", "GEM_PATH", "JAVA_HOME", "JAVA_OPTS", "GOPATH", "GOROOT", "NODE_PATH", "SSL_CERT_FILE",
    "SSL_CERT_DIR", "EDITOR", "PAGER", "TERMINFO", "COLUMNS", "LINES",
])


def properties_read(code: str) -> list[str]:
    """Property names a tag reads, in order of appearance (``p``, ``if_p``, ``properties.a.b``)."""
    return list(_properties_read(code))


@lru_cache(maxsize=4096)
def _properties_read(code: str) -> tuple[str, ...]:  # a tag is read many times per script and pass
    found: list[tuple[int, str]] = []
    for m in _LINK_PROPERTY.finditer(code):
        found.append((m.start(), f"{m.group(1)}.{m.group(2)}"))
    for m in _PROPERTY_CALL.finditer(code):
        if not any(s <= m.start() < s + 200 and f.endswith(m.group(1)) for s, f in found):
            found.append((m.start(), m.group(1)))
    for m in _PROPERTIES_ACCESSOR.finditer(strip_ruby_strings(code)):
        found.append((m.start(), m.group(1).lstrip(".")))
    return tuple(name for _, name in sorted(found))


def variable_base(code: str) -> str:
    """A shell variable name derived from what the tag reads: ``p("a.b-c")`` -> ``A_B_C``."""
    props = properties_read(code)
    if props:
        base = props[0]
    else:
        bare = strip_ruby_strings(code).strip()
        spec = _SPEC_ACCESSOR.search(bare)
        link = _LINK_ACCESSOR.search(code)
        if link:
            base = f"{link.group(1)}.{link.group(2)}"
        elif spec:
            base = "spec." + spec.group(1)
        elif re.fullmatch(r"name", bare):
            base = "job.name"
        elif re.fullmatch(r"index", bare):
            base = "spec.index"
        else:
            base = "erb.value"
    name = re.sub(r"[^A-Za-z0-9]+", "_", base).strip("_").upper() or "ERB_VALUE"
    if name[0].isdigit():
        name = "P_" + name
    if name.upper() in RESERVED or name.startswith(("BASH", "LC_", "LANG")):
        name += "_VALUE"
    return name


def splits_into_words(code: str, properties: Mapping[str, object]) -> bool:
    """Whether an unquoted value was meant to become zero or several words in the old script.

    True for lists joined with spaces, for properties named like argument lists
    (``extra_args``, ``flags``, ``opts``), and for values that may be empty or hold spaces by
    default: in all of these, quoting the value would change the process's argv.
    """
    if _SPACE_JOIN.search(code) or _DEFAULT_EMPTY.search(code.strip()):
        return True
    if re.search(r"""\.join\(\s*(["'])[^\s"']+\1\s*\)\s*$""", code.strip()):
        return False  # joined with a comma (or any non-blank): one word, whatever the list held
    for name in properties_read(code):
        if _LIST_WORDS.search(name):
            return True
        if name not in properties and _LISTY.search(name.rsplit(".", 1)[-1]) and re.fullmatch(
                r"""p\(\s*""\s*\)""", strip_ruby_strings(code).strip()):
            return True  # most likely a list: printed bare, bash split it
        declared = properties.get(name)
        if isinstance(declared, dict) and "default" in declared:
            default = declared["default"]
            if isinstance(default, (list, tuple)) or default is None:
                return True
            if isinstance(default, str) and (not default.strip() or re.search(r"\s", default)):
                return True
    return False


#: property names that hold lists (what a template most likely gets when the spec gives no default)
_LISTY = re.compile(r"(?:hosts|ips|addresses|servers|nodes|peers|members|urls|list)$")
_PRINTS_QUOTES = re.compile(r"\.(?:to_json|inspect|to_yaml)\b|\bJSON\.(?:dump|generate|pretty_generate)\b")


def prints_quotes(code: str, properties: Mapping[str, object]) -> bool:
    """Whether the tag's text holds double quotes by construction: JSON, ``inspect``, or a list or
    hash property printed as it is (Ruby prints ``["a", "b"]``). Inside double quotes in the old
    script the shell removed those quotes; a variable would keep them."""
    if _PRINTS_QUOTES.search(code):
        return True
    bare = strip_ruby_strings(code).strip()
    if not re.fullmatch(r"""p\(\s*""\s*(?:,[^()]*)?\)""", bare):
        return False  # a method call after the property (.join, .to_s on a string) or something else
    name = properties_read(code)[0] if properties_read(code) else ""
    declared = properties.get(name)
    if isinstance(declared, dict) and "default" in declared:
        return isinstance(declared["default"], (list, dict))
    return bool(_LISTY.search(name.rsplit(".", 1)[-1]))


def escaped(code: str, split: bool) -> str:
    """Ruby that renders the tag's value as shell-safe text.

    A single value becomes one shell word (``shellescape``). A value meant to split was shell
    source in the old script: bash parsed it into words, honouring the quotes and backslashes in
    it (often put there on purpose, ``"-tag #{Shellwords.shellescape(t)}"``). ``shellsplit`` parses
    it the same way, and each word is escaped again, so the process gets the same words while
    ``$``, backticks, ``;`` and globs in a value are no longer run. An unmatched quote, which made
    the old script a bash syntax error, now fails the render instead.
    """
    if _SIMPLE_CALL.fullmatch(code):
        value = code
    elif "\n" in code or "#" in strip_ruby_strings(code):
        # a heredoc's terminator, or a comment, ends the tag's last line: close on a line of its own
        value = f"({code}\n)"
    else:
        value = f"({code})"
    # a value its own Ruby made text already (`prop.to_s`) is not made text twice
    text = value if value is code and code.endswith(".to_s") else f"{value}.to_s"
    if split:
        return f"{text}.shellsplit.map(&:shellescape).join(\" \")"
    return f"{text}.shellescape"


def constant_text(code: str) -> str | None:
    """The text a tag renders when its code is a constant (``"10.0.0.1"``, ``'x'``, ``42``): a
    plain string or integer literal, no interpolation, no escapes. Nothing about it is
    configuration, so it belongs in the script as that text, not in an env template."""
    m = _CONSTANT.fullmatch(code.strip())
    if m is None:
        return None
    text = m.group(1) if m.group(1) is not None else m.group(2) if m.group(2) is not None else m.group(3)
    return None if "<%" in text or "%>" in text else text


#: a double-quoted string without #{ or escapes, a single-quoted one without escapes, an integer
_CONSTANT = re.compile(r'"([^"\\#]*)"|\'([^\'\\]*)\'|(-?[0-9]+)')

_ARGS = r"""(?:\((?:"[^"]*"|'[^']*'|[^()"'])*\))?"""
#: a call chain (``p("a").join(" ")``, ``spec.index``) that needs no parentheses before ``.to_s``
_SIMPLE_CALL = re.compile(rf"[A-Za-z_]\w*[?!]?{_ARGS}(?:\.\w+[?!]?{_ARGS})*")
_LOCAL_ASSIGN = re.compile(
    r"(?:^|[;(]|&&|\|\||\b(?:if|unless|elsif|while|until|and|or)\s)\s*([a-z_]\w*)\s*(?:=(?![=~>])|\+=|\|\|=)",
    re.MULTILINE)
#: ``name, path = plugin.first`` (also right after a block's ``|x|``)
_MULTI_ASSIGN = re.compile(r"(?:^|[;({|]|\bdo\b|\bthen\b)\s*(\*?[a-z_]\w*(?:\s*,\s*\*?[a-z_]\w*)+)\s*=(?![=~>])",
                           re.MULTILINE)
_DEF = re.compile(r"\bdef\s+(?:self\.)?([a-z_]\w*[?!]?)")
_IDENT = re.compile(r"(?<![.:@$\w])([a-z_]\w*[?!]?)")
_BLOCK_PARAMS = re.compile(r"\|([^|]*)\|")
_INTERPOLATION = re.compile(r"#\{([^{}]*)\}")


def locals_defined(code: str) -> set[str]:
    """Ruby locals assigned and methods defined by a control tag."""
    return set(_locals_defined(code))


@lru_cache(maxsize=4096)
def _locals_defined(code: str) -> frozenset[str]:
    bare = strip_ruby_strings(code)
    multi = {n.strip().lstrip("*") for m in _MULTI_ASSIGN.findall(bare) for n in m.split(",")}
    return frozenset(set(_LOCAL_ASSIGN.findall(bare)) | set(_DEF.findall(bare)) | (multi - {"_"}))


def identifiers(code: str) -> set[str]:
    """Names the code reads, also inside string interpolations (``"#{host}:#{port}"``): a string's
    text is not code, but what it interpolates is."""
    return set(_identifiers(code))


@lru_cache(maxsize=4096)
def _identifiers(code: str) -> frozenset[str]:
    found = set(_IDENT.findall(strip_ruby_strings(code)))
    for inner in _INTERPOLATION.findall(code):
        found |= set(_IDENT.findall(strip_ruby_strings(inner)))
    return frozenset(found)


def block_params(code: str) -> set[str]:
    out: set[str] = set()
    for group in _BLOCK_PARAMS.findall(strip_ruby_strings(code)):
        out |= {p.strip().lstrip("*&") for p in group.split(",") if p.strip()}
    return out
