"""Names for the variables ``erb-to-config`` writes into an env template.

A reviewer reads ``if [ "$BPM_DISABLED" = true ]`` in the script and ``BPM_DISABLED=true`` in the
rendered env file without the ERB at hand, so a name must say what the value means: it is derived
from the whole condition (``!p("bpm.enabled")`` is ``BPM_DISABLED``, ``p("x") == 0`` is
``X_IS_0``, ``p("x").empty?`` is ``X_IS_EMPTY``), a choice between several values of one property
holds the chosen value (``LOG_FORMAT=json``), and a value is named after what it reads, or after
the option or variable it fills when it reads several things or none (``-backendHost <%= ... %>``
is ``BACKEND_HOST``). Nothing here is generic (``ERB_VALUE``, ``_BRANCH=2``): when no honest name
can be made, the caller leaves the ERB where it is.

Ruby is never evaluated; conditions are read with a small tokenizer and parser that understands
``!``/``not``, ``&&``/``and``, ``||``/``or``, comparisons, and the predicate methods templates use.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass

from codemods import _erb_ruby as ruby
from migrator.erb import strip_ruby_strings

#: the last word(s) of a property that already read as a yes/no setting
_BOOLEAN_WORDS = re.compile(
    r"(?:^|_)(?:ENABLED?|DISABLED?|DEBUG|VERBOSE|INSECURE|REQUIRED|ACTIVE|ONLY)$"
    r"|^(?:ENABLE|DISABLE|SKIP|NO|USE|ALLOW|IS|HAS|FORCE|ONLY|SHOULD|REQUIRE|ACCEPT|VERIFY|RUN)_")
#: methods that do not change which value a name describes
_TRANSPARENT = {"to_s", "to_i", "to_f", "to_sym", "strip", "downcase", "upcase", "chomp", "to_str", "to_a"}
_SIZE = {"length", "size", "count"}
_PRED_WORDS = {"include?": "INCLUDES", "start_with?": "STARTS_WITH", "end_with?": "ENDS_WITH",
               "key?": "HAS", "has_key?": "HAS", "member?": "INCLUDES"}
_CMP_WORDS = {">": "ABOVE", ">=": "AT_LEAST", "<": "BELOW", "<=": "AT_MOST"}
_NEGATE_CMP = {"==": "!=", "!=": "==", ">": "<=", "<=": ">", "<": ">=", ">=": "<"}
#: methods peeled off an operand: the rest is what the name describes
_PEELED = _TRANSPARENT | _SIZE | set(_PRED_WORDS) | {"nil?", "empty?", "blank?", "any?", "present?"}
_RUBY_WORDS = {"if", "unless", "elsif", "then", "do", "end", "and", "or", "not", "nil", "true", "false", "p",
               "if_p", "link", "if_link", "properties", "spec", "self", "else"}


class Unnamed(ValueError):
    """The condition or value cannot be given an honest name (the caller leaves its ERB)."""


# -- tokens and a small expression tree ------------------------------------------------------------
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<sym>:[A-Za-z_]\w*[?!]?)
  | (?P<op>\|\||&&|==|!=|>=|<=|=~|!~|<=>|[!<>().,\[\]{}|])
  | (?P<ident>[A-Za-z_@$][\w]*[?!]?)
  | (?P<other>.)
""", re.VERBOSE)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str


def _tokens(code: str) -> list[_Tok]:
    out = []
    for m in _TOKEN.finditer(code):
        kind = m.lastgroup or "other"
        if kind == "ws":
            continue
        if kind == "other":
            raise Unnamed(code)
        out.append(_Tok(kind, m.group(0)))
    return out


@dataclass(frozen=True)
class Operand:
    """A Ruby value: its source text, and trailing method calls peeled off (``.nil?``)."""

    text: str
    methods: tuple[tuple[str, str | None], ...] = ()  # (method, literal argument text or None)


Node = tuple  # ("or"|"and", [Node]) | ("not", Node) | ("cmp", op, Operand, Operand) | ("atom", Operand)


class _Parser:
    def __init__(self, code: str):
        self.toks = _tokens(code)
        self.i = 0

    def peek(self, k: int = 0) -> _Tok | None:
        return self.toks[self.i + k] if self.i + k < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None and self.peek().text == "then":  # type: ignore[union-attr]
            self.take()
        if self.peek() is not None:
            raise Unnamed("trailing code")
        return node

    def _is(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.text in texts

    def or_(self) -> Node:
        parts = [self.and_()]
        while self._is("||", "or"):
            self.take()
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def and_(self) -> Node:
        parts = [self.not_()]
        while self._is("&&", "and"):
            self.take()
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def not_(self) -> Node:
        if self._is("!", "not"):
            self.take()
            return ("not", self.not_())
        return self.cmp()

    def cmp(self) -> Node:
        if self._is("(") and self._group_is_expression():
            self.take()
            inner = self.or_()
            if not self._is(")"):
                raise Unnamed("unbalanced")
            self.take()
            if self._is("."):  # (a || b).empty?: a value, not a grouping
                raise Unnamed("method on a parenthesised expression")
            left: Node | Operand = inner
        else:
            left = self.operand()
        if self._is("==", "!=", ">", ">=", "<", "<=", "=~", "!~"):
            op = self.take().text
            right = self.operand()
            if not isinstance(left, Operand):
                raise Unnamed("comparison of a condition")
            return ("cmp", op, left, right)
        return left if not isinstance(left, Operand) else ("atom", left)

    def _group_is_expression(self) -> bool:
        """``(`` opens a grouping (``(a && b)``) rather than starting a value like ``(x || [])``;
        both parse alike here, since a value in parentheses is named after what it reads."""
        return True

    def operand(self) -> Operand:
        start = self.i
        depth = 0
        methods: list[tuple[str, str | None]] = []
        while self.peek() is not None:
            tok = self.peek()
            assert tok is not None
            if depth == 0 and tok.text in ("||", "&&", "or", "and", "then", "==", "!=", ">", ">=", "<", "<=",
                                           "=~", "!~", ")", ",", "<=>"):
                break
            if tok.text in ("(", "[", "{"):
                depth += 1
            elif tok.text in (")", "]", "}"):
                depth -= 1
            self.take()
            # `x.start_with? '/a'`: a predicate method with an argument and no parentheses
            if (depth == 0 and tok.kind == "ident" and tok.text.endswith("?") and self.peek() is not None
                    and self.peek().kind in ("str", "num", "sym")):  # type: ignore[union-attr]
                self.take()
        toks = self.toks[start:self.i]
        if not toks:
            raise Unnamed("empty operand")
        # peel trailing `.method` / `.method(arg)` calls
        while len(toks) >= 2:
            if toks[-2].text == "." and toks[-1].text in _PEELED:
                methods.insert(0, (toks[-1].text, None))
                toks = toks[:-2]
            elif (len(toks) >= 3 and toks[-3].text == "." and toks[-2].kind == "ident"
                  and toks[-1].kind in ("str", "num", "sym") and toks[-2].text in _PEELED):
                methods.insert(0, (toks[-2].text, toks[-1].text))
                toks = toks[:-3]
            elif (len(toks) >= 5 and toks[-5].text == "." and toks[-4].kind == "ident" and toks[-3].text == "("
                  and toks[-2].kind in ("str", "num", "sym") and toks[-1].text == ")"
                  and toks[-4].text in _PEELED):
                methods.insert(0, (toks[-4].text, toks[-2].text))
                toks = toks[:-5]
            else:
                break
        return Operand(_join(toks), tuple(methods))


def _join(toks: list[_Tok]) -> str:
    out = ""
    for tok in toks:
        if out and tok.kind in ("ident", "str", "num", "sym") and (out[-1].isalnum() or out[-1] in "_'\"?"):
            out += " "
        out += tok.text
    return out


def parse_condition(code: str) -> Node:
    """The condition of an ``if``/``unless``/``elsif`` tag as a small tree (raises ``Unnamed``)."""
    code = code.strip()
    m = re.match(r"(if|unless|elsif)\b(.*)$", code, re.DOTALL)
    if not m:
        raise Unnamed(code)
    node = _Parser(m.group(2)).parse()
    return ("not", node) if m.group(1) == "unless" else node


# -- subjects: what a condition or value reads ------------------------------------------------------
@dataclass(frozen=True)
class Subject:
    name: str
    prop: str | None  # the property path, when the value is one property
    weak: bool = False  # named after Ruby locals or hash keys only (an option or variable it fills says more)


def literal_word(text: str) -> str:
    """A Ruby literal as a name part: ``'overlay-xfs'`` -> ``OVERLAY_XFS``, ``-1`` -> ``MINUS_1``."""
    value = literal_value(text)
    if value is None:
        raise Unnamed(text)
    if value == "":
        return "EMPTY"
    word = re.sub(r"[^A-Za-z0-9]+", "_", value.replace("-", "_") if re.fullmatch(r"-\d.*", value) is None
                  else "MINUS_" + value[1:]).strip("_").upper()
    if not word or len(word) > 32:
        raise Unnamed(text)
    return word


def literal_value(text: str) -> str | None:
    """The text a Ruby literal stands for (a string without interpolation, a number, a symbol)."""
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return text
    if text.startswith(":"):
        return text[1:]
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        inner = text[1:-1]
        if text[0] == '"' and ("#{" in inner or "\\" in inner):
            return None
        if text[0] == "'" and "\\" in inner:
            return None
        return inner
    return None


class Namer:
    """Names for one script: ``aliases`` maps a Ruby local or block variable to the Ruby it
    stands for (``heap_size`` -> ``p("heap_size")`` inside ``if_p("heap_size") do |heap_size|``)."""

    def __init__(self, properties: Mapping[str, object] | None = None, aliases: Mapping[str, str] | None = None):
        self.properties = properties or {}
        self.aliases = dict(aliases or {})
        self.shared = ""  # the property path prefix all parts of the condition being named share
        self.joining = 0  # inside an and/or: a negation made by a suffix would read as the whole's

    # -- what a piece of Ruby reads -------------------------------------------------------------
    def subject(self, text: str) -> Subject:
        """The name of what a Ruby value reads (a property, ``spec.x``, a link, a local)."""
        text = text.strip()
        head = re.match(r"([a-z_]\w*)\b(?!\s*\()", text)
        if head and head.group(1) in self.aliases:
            alias, rest = self.aliases[head.group(1)], text[head.end():]
            # a local named after itself, or what the alias says (a loop's local: after its item too),
            # and what is read through it
            if alias.startswith(":"):
                inner = ruby.properties_read(rest)
                keys = [literal_value(k) for k in re.findall(r"\[\s*(\"[^\"]*\"|'[^']*'|:\w+)\s*\]", rest)]
                extra = "_" + ruby.variable_base(f'p("{inner[0]}")') if len(inner) == 1 else \
                    "".join("_" + _upper(k) for k in keys if k)
                return Subject(_once(_upper(alias[1:])) + extra, None, weak=not inner)
            return self.subject(alias + rest)
        props = _without_guards_of(ruby.properties_read(text))
        if len(props) == 1:
            split = text.replace(props[0], _snake(props[0]))  # camelCase words: SSHUsername -> SSH_USERNAME
            base = ruby.variable_base(split) if len(ruby.properties_read(text)) == 1 else \
                ruby.variable_base(f'p("{_snake(props[0])}")')
            keep = 1 if re.match(r"""link\(\s*["'][\w\-]+["']\s*\)\s*\.\s*p\(""", text) else 0
            base = _capped(_once(_unreserved(base)), props[0], keep)
            return Subject(base + _keys_after(text) + _attribute_after(text), props[0])
        instances = _LINK_INSTANCES.match(text)
        if instances and not props:
            return Subject(_instances_name(instances.group(1), instances.group(2)), None)
        if len(props) > 1:
            raise Unnamed("several properties")
        base = ruby.variable_base(text)
        if base != "ERB_VALUE":
            return Subject(_unreserved(base), None)
        idents = [i for i in re.findall(r"(?<![.:@$\w])([a-z_]\w*)\b(?!\s*\()", strip_ruby_strings(text))
                  if i not in _RUBY_WORDS]
        keys = [literal_value(s) for s in re.findall(r"\[\s*(\"[^\"]*\"|'[^']*'|:\w+)\s*\]", text)]
        if idents:
            words = [idents[0]] + [k for k in keys if k]
            return Subject(_upper("_".join(words)), None, weak=True)
        raise Unnamed(text)

    def boolean(self, subject: Subject) -> bool:
        """Whether a truthiness test on the subject is a yes/no setting (else: "is it set")."""
        declared = self.properties.get(subject.prop) if subject.prop else None
        if isinstance(declared, dict) and "default" in declared:
            default = declared["default"]
            if isinstance(default, bool):
                return True
            if default is not None:
                return False
        if _BOOLEAN_WORDS.search(_last_part(subject)):
            return True
        # a property without a default is most often a flag; a local or a hash entry is "set or not"
        return subject.prop is not None

    # -- conditions -----------------------------------------------------------------------------
    def condition(self, code: str) -> str:
        """The name of a condition tag (``if``/``unless``/``elsif``/``if_p``/``if_link``/
        ``end.else_if_p``): true exactly when the tag's branch is taken."""
        code = code.strip()
        m = re.match(r"(?:end\s*\.\s*)?(?:if_p|else_if_p)\s*\((.*)\)\s*do\b", code, re.DOTALL)
        if m:
            props = [p for p in re.findall(r"""["']([\w.\-]+)["']""", m.group(1))]
            if not props:
                raise Unnamed(code)
            self.shared = _shared_prefix(props)
            names = [Subject(_capped(ruby.variable_base(f'p("{p}")'), p), p).name for p in props]
            if len(names) > 2:  # every path would make a name nobody reads to its end
                return f"{_joined(names[:1], '')}_AND_{len(names) - 1}_MORE_SET"
            return _joined(names, "_AND_", self.shared) + "_SET"
        m = re.match(r"(?:end\s*\.\s*)?(?:if_link|else_if_link)\s*\(\s*[\"']([\w\-]+)[\"']", code)
        if m:
            base = _upper(m.group(1))
            return base + ("_PRESENT" if base.endswith("_LINK") else "_LINK_PRESENT")
        self.shared = _shared_prefix(ruby.properties_read(code))
        return self.name_of(parse_condition(code))

    def name_of(self, node: Node, negated: bool = False) -> str:
        kind = node[0]
        if kind == "not":
            return self.name_of(node[1], not negated)
        if kind in ("and", "or"):
            # De Morgan: not (a and b) is (not a) or (not b), which names read more plainly
            joiner = {("and", False): "_AND_", ("or", False): "_OR_", ("and", True): "_OR_", ("or", True): "_AND_"}
            parts = _without_guards(node[1]) if kind == "and" and not negated else node[1]
            if len(parts) == 1:
                return self.name_of(parts[0], negated)
            subjects = {self._subject_of(n) for n in parts}
            shared = f"{subjects.pop()}_" if len(subjects) == 1 and None not in subjects else self.shared
            self.joining += 1
            try:
                names = [self.name_of(n, negated) for n in parts]
            finally:
                self.joining -= 1
            return _joined(names, joiner[(kind, negated)], shared)
        if kind == "cmp":
            return self._comparison(node[1], node[2], node[3], negated)
        return self._truthy(node[1], negated)

    def _subject_of(self, node: Node) -> str | None:
        """The subject's name of a test on one value (None for anything else)."""
        while node[0] == "not":
            node = node[1]
        if node[0] not in ("atom", "cmp"):
            return None
        try:
            return self.subject(node[1].text if node[0] == "atom" else node[2].text).name
        except Unnamed:
            return None

    def _truthy(self, operand: Operand, negated: bool) -> str:
        methods = [m for m in operand.methods if m[0] not in _TRANSPARENT]
        subject = self.subject(operand.text + "".join(f".{m}" for m, _ in operand.methods if m in _TRANSPARENT))
        if not methods:
            if subject.name == "SPEC_BOOTSTRAP":
                return "SPEC_NOT_BOOTSTRAP" if negated else "SPEC_BOOTSTRAP"
            if self.boolean(subject):
                if not negated:
                    return _flag(subject)
                name = _negated_flag(subject)
                # A_AND_B_DISABLED reads as "A and B, disabled": in a join, say NOT_B
                plain = _flag(subject) == subject.name  # ALLOW_MASTER: no suffix of its own to turn
                return "NOT_" + subject.name if self.joining and plain and name == subject.name + "_DISABLED" else name
            return subject.name + ("_UNSET" if negated else "_SET")
        if len(methods) > 1:
            raise Unnamed("several predicates")
        method, arg = methods[0]
        if method == "nil?":
            return subject.name + ("_SET" if negated else "_UNSET")
        if method in ("empty?", "blank?"):
            return subject.name + ("_NOT_EMPTY" if negated else "_IS_EMPTY")
        if method in ("any?", "present?"):
            return subject.name + ("_IS_EMPTY" if negated else "_NOT_EMPTY")
        if method in _PRED_WORDS and arg is not None:
            word = f"{_PRED_WORDS[method]}_{literal_word(arg)}"
            return subject.name + ("_NOT_" if negated else "_") + word
        raise Unnamed(method)

    def _comparison(self, op: str, left: Operand, right: Operand, negated: bool) -> str:
        if negated:
            if op not in _NEGATE_CMP:
                raise Unnamed(op)
            op = _NEGATE_CMP[op]
        if literal_value(left.text) is not None and not left.methods and literal_value(right.text) is None:
            left, right = right, left
            op = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op, op)
        size = [m for m, _ in left.methods if m not in _TRANSPARENT]
        if size and size[-1] in _SIZE and len(size) == 1 and right.text == "0" and op in ("==", "!=", ">", "<="):
            stripped = Operand(left.text, tuple(m for m in left.methods if m[0] in _TRANSPARENT))
            empty = op in ("==", "<=")
            return self._truthy(Operand(stripped.text, stripped.methods + (("empty?", None),)), not empty)
        subject = self._operand_name(left)
        if right.text == "nil":
            return subject + ("_UNSET" if op == "==" else "_SET" if op == "!=" else _raise(op))
        if right.text in ("true", "false") and op in ("==", "!="):
            positive = (right.text == "true") == (op == "==")
            return self._truthy(left, not positive)
        value = literal_value(right.text)
        if value is not None and not right.methods:
            if value == "" and op in ("==", "!="):
                return subject + ("_IS_EMPTY" if op == "==" else "_NOT_EMPTY")
            word = literal_word(right.text)
            if op == "==":
                return f"{subject}_IS_{word}"
            if op == "!=":
                return f"{subject}_IS_NOT_{word}"
            if op in _CMP_WORDS:
                return f"{subject}_{_CMP_WORDS[op]}_{word}"
            raise Unnamed(op)
        if op in ("==", "!="):
            other = self._operand_name(right)
            return _joined([subject, other], "_EQUALS_" if op == "==" else "_DIFFERS_FROM_", self.shared)
        raise Unnamed(op)

    def _operand_name(self, operand: Operand) -> str:
        extra = [m for m, _ in operand.methods if m not in _TRANSPARENT]
        name = self.subject(operand.text).name
        if extra == ["length"] or extra == ["size"] or extra == ["count"]:
            return name + "_COUNT"
        if extra:
            raise Unnamed(".".join(extra))
        return name

    # -- tests that may be evaluated on their own ------------------------------------------------------
    def independent(self, code: str) -> bool:
        """Whether a test can be evaluated where the template did not evaluate it (an ``elsif``
        after a test that held) without raising: it only reads properties that have a value
        (a default in the spec, or one given to ``p``), ``spec.*`` and literals, and calls no
        method that a missing value would break."""
        try:
            node = parse_condition(re.sub(r"^elsif\b", "if", code.strip()))
        except Unnamed:
            return False
        return self._safe(node)

    def _safe(self, node: Node) -> bool:
        if node[0] == "not":
            return self._safe(node[1])
        if node[0] in ("and", "or"):
            return all(self._safe(n) for n in node[1])
        if node[0] == "cmp":
            return self._safe_operand(node[2]) and self._safe_operand(node[3])
        return self._safe_operand(node[1])

    def _safe_operand(self, operand: Operand) -> bool:
        methods = {m for m, _ in operand.methods}
        text = operand.text
        head = re.match(r"([a-z_]\w*)\b(?!\s*\()", text)
        if head and head.group(1) in self.aliases and not self.aliases[head.group(1)].startswith(":"):
            text = self.aliases[head.group(1)] + text[head.end():]
        if literal_value(text) is not None or text in ("nil", "true", "false"):
            return methods <= {"to_s", "to_i"}
        if re.fullmatch(r"spec\.(?:index|id|name|address|ip|az|deployment|bootstrap)", text):
            return methods <= {"to_s", "to_i", "nil?"}
        m = re.fullmatch(r"""p\(\s*["']([\w.\-]+)["']\s*(,\s*[^()]+)?\)|properties\.([\w.]+)""", text)
        if not m:
            return False
        prop = m.group(1) or m.group(3)
        declared = self.properties.get(prop)
        has_value = bool(m.group(2)) and "nil" not in m.group(2)
        has_value = has_value or (isinstance(declared, dict) and declared.get("default") is not None)
        if not isinstance(declared, dict) and not m.group(2):
            return False  # p() raises for a property the spec does not declare
        return has_value or methods <= {"nil?", "to_s"}

    # -- a choice between several values of one property ------------------------------------------
    def selector(self, codes: list[str]) -> tuple[str, list[str]] | None:
        """``if x == "a"`` / ``elsif x == "b"`` ...: (the subject's name, each branch's value), when
        every test compares the same value with a different literal."""
        subject_code, values = None, []
        for code in codes:
            try:
                node = parse_condition(re.sub(r"^elsif\b", "if", code.strip()))
            except Unnamed:
                return None
            if node[0] != "cmp" or node[1] != "==":
                return None
            left, right = node[2], node[3]
            if literal_value(left.text) is not None and not left.methods:
                left, right = right, left
            value = literal_value(right.text)
            key = left.text + "".join(f".{m}" for m, _ in left.methods)
            if value is None or right.methods or (subject_code is not None and key != subject_code):
                return None
            subject_code = key
            values.append(value)
        if subject_code is None or len(set(values)) != len(values) or "" in values:
            return None
        try:
            name = self._operand_name(Operand(node[2].text if literal_value(node[2].text) is None else node[3].text,
                                              (node[2] if literal_value(node[2].text) is None else node[3]).methods))
        except Unnamed:
            return None
        return name, values

    # -- values -----------------------------------------------------------------------------------
    def value(self, code: str, hint: str | None = None, before: str = "") -> str:
        """The name of an output tag's value: the property it reads; for a value built from several
        things (or from none), the option or variable it fills (``hint``). ``before``: the text of
        the command before the tag (a request body is named after the path it goes to)."""
        try:
            subject = self.subject(code)
        except Unnamed:
            subject = None
        if subject is not None and not subject.weak and not compound(code):
            return subject.name
        if hint in _BODY_OPTIONS and _JSON.search(code):
            # what curl sends, not the option's name (DATA_RAW): after where it goes when it says
            word = _request_path_word(before)
            return f"{word}_BODY" if word else "REQUEST_BODY"
        if hint and re.search(r"""["'][a-z][a-z0-9+.-]*://""", code) and not _URL_WORDS.search(hint):
            return hint + "_URL"  # a URL built from parts
        path = _PATH_TAIL.search(code)
        if hint in ("URL", "URI", "ENDPOINT") and path:
            return f"{_upper(path.group(1))}_{hint}"  # "#{base}/services" -> SERVICES_URL
        if hint:
            return hint
        if subject is not None:
            return subject.name
        props = ruby.properties_read(code)
        if props:
            return ruby.variable_base(code)
        raise Unnamed(code)


def _once(name: str) -> str:
    """``ROOTLESS_ROOTLESS_WIDE`` -> ``ROOTLESS_WIDE`` (a link named like its property's prefix)."""
    words = name.split("_")
    for k in range(1, len(words) // 2 + 1):
        if words[:k] == words[k:2 * k]:
            return "_".join(words[k:])
    return name


def _without_guards_of(props: list[str]) -> list[str]:
    """``properties.a && properties.a.b``: ``a`` is only read to guard ``a.b``."""
    unique = list(dict.fromkeys(props))
    return [p for p in unique if not any(o != p and o.startswith(p + ".") for o in unique)]


def _keys_after(text: str) -> str:
    """Hash keys read from a property's value (``p("x").first["name"]`` -> ``_NAME``)."""
    m = re.search(r"""\bp\(\s*["'][\w.\-]+["'][^()]*\)""", text)
    if not m:
        return ""
    keys = re.findall(r"""\[\s*["'](\w+)["']\s*\]""", text[m.end():])
    return "".join("_" + _upper(k) for k in keys)


def hint_before(line_prefix: str) -> str | None:
    """A name from what the value fills, read from the line before the tag: an option
    (``--backend-host ``, ``-backendHost=``) or an assignment (``export ADDR="``)."""
    m = re.search(r"(?:^|[\s'\"])(--?[A-Za-z][\w.-]*)[= ]\s*[\"']?$", line_prefix)
    if m:
        return _upper(_snake(m.group(1).lstrip("-")))
    # an assignment, or a URL query parameter (``--data 'a=1&zkHosts=<%= list %>'``)
    m = re.search(r"(?:^|[\s;&?'\"])(?:export\s+|readonly\s+|local\s+)?([A-Za-z_]\w*)=[\"']?[^\s\"'=$`&]*$", line_prefix)
    if m:
        return _upper(_snake(m.group(1)))
    return None


def compound(code: str) -> bool:
    """Whether a value is built from several parts (concatenation, interpolation, a ternary)."""
    bare = strip_ruby_strings(code)
    return bool(re.search(r"[+?]|\|\||&&|\bif\b|=>", bare)) or "#{" in code  # => : a hash built from parts


def _snake(word: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", word)


def _upper(word: str) -> str:
    name = re.sub(r"[^A-Za-z0-9]+", "_", word).strip("_").upper()
    if not name:
        raise Unnamed(word)
    if name[0].isdigit():
        name = "P_" + name
    return name


def _raise(op: str) -> str:
    raise Unnamed(op)


def _last_part(subject: Subject) -> str:
    """The property's last path element as a name (``a.tls_enabled`` -> ``TLS_ENABLED``)."""
    if subject.prop:
        return _upper(subject.prop.rsplit(".", 1)[-1])
    return subject.name


def _prefix(subject: Subject) -> str:
    last = _last_part(subject)
    return subject.name[: len(subject.name) - len(last)] if subject.name.endswith(last) else ""


def _flag(subject: Subject) -> str:
    """A yes/no setting that is on: its own name when that already reads as yes/no."""
    return subject.name if _BOOLEAN_WORDS.search(_last_part(subject)) else subject.name + "_ENABLED"


def _negated_flag(subject: Subject) -> str:
    """A yes/no setting that is off: ``bpm.enabled`` -> ``BPM_DISABLED``, ``x.disable_y`` ->
    ``X_Y_ENABLED``, ``x.skip_tls`` -> ``X_TLS_ENABLED``, anything else -> ``..._DISABLED``."""
    last, prefix = _last_part(subject), _prefix(subject)
    for word, opposite in (("ENABLED", "DISABLED"), ("ENABLE", "DISABLED"), ("DISABLED", "ENABLED"),
                           ("DISABLE", "ENABLED")):
        if last == word:
            return prefix + opposite
        if last.endswith("_" + word):
            return prefix + last[: -len(word)] + opposite
    if last.startswith("HAS_") and len(last) > 4:  # has_admin_api: NO_ADMIN_API
        return f"{prefix}NO_{last[4:]}"
    m = re.match(r"(ENABLE|DISABLE|SKIP|NO)_(.+)$", last)
    if m:
        return f"{prefix}{m.group(2)}_{'DISABLED' if m.group(1) == 'ENABLE' else 'ENABLED'}"
    return subject.name + "_DISABLED"


def _joined(names: list[str], joiner: str, shared: str = "") -> str:
    """Names joined, each later one without the property path all of them share (``a.b.x`` and
    ``a.b.y`` -> ``A_B_X_AND_Y``)."""
    first = names[0]
    if shared and first.startswith("NOT_" + shared):  # NOT_A_B_X -> A_B_NOT_X: the shared path said first
        first = shared + "NOT_" + first[4 + len(shared):]
    out = [first]
    for name in names[1:]:
        neg, bare = ("NOT_", name[4:]) if name.startswith("NOT_") else ("", name)
        out.append(neg + (bare[len(shared):] if shared and bare.startswith(shared) and len(bare) > len(shared) else bare))
    return joiner.join(out)


def _shared_prefix(props: list[str]) -> str:
    """``["a.b.x", "a.b.y"]`` -> ``A_B_``: the dotted path every property starts with."""
    if len(props) < 2:
        return ""
    parts = [p.split(".")[:-1] for p in props]
    common: list[str] = []
    for words in zip(*parts):
        if len(set(words)) != 1:
            break
        common.append(words[0])
    return _upper("_".join(common)) + "_" if common else ""


def _without_guards(parts: list[Node]) -> list[Node]:
    """``x && x.length > 0``: the plain truthiness test is only there so the next test does not
    raise on nil; the name describes the test that matters."""
    out = []
    for i, part in enumerate(parts):
        if part[0] == "atom" and not part[1].methods:
            text = part[1].text
            if any(_reads_first(later, text) for later in parts[i + 1:]):
                continue
        out.append(part)
    return out


def _reads_first(node: Node, text: str) -> bool:
    if node[0] == "not":
        return _reads_first(node[1], text)
    if node[0] == "cmp":
        return node[2].text == text
    if node[0] == "atom":
        return node[1].text == text and bool(node[1].methods)
    return False


#: the longest name made from a property path; a longer one keeps the path's meaningful tail
NAME_CAP = 40
#: one-word names that say nothing without the job they belong to
GENERIC = frozenset({
    "NAME", "PORT", "PORTS", "ADDRESS", "ADDR", "HOST", "HOSTS", "USERNAME", "PASSWORD", "PASS", "URL", "URI",
    "IP", "IPS", "PATH", "DIR", "FILE", "KEY", "TOKEN", "SECRET", "VALUE", "VALUES", "DATA", "BODY", "ID", "INDEX",
    "LIST", "ITEMS", "CONFIG", "OPTS", "OPTIONS", "ARGS", "FLAGS", "LEVEL", "MODE", "TYPE", "TIMEOUT", "SIZE",
    "COUNT", "DEBUG", "VERSION", "PROTOCOL", "CERT", "CA", "SERVER", "SERVERS", "ENDPOINT", "PREFIX", "DOMAIN",
    "USER", "OPTION", "SETTING", "SETTINGS", "PARAMS", "PAYLOAD", "JSON", "TEXT", "INPUT", "OUTPUT", "RESULT",
})
_BODY_OPTIONS = {"DATA", "DATA_RAW", "DATA_BINARY", "DATA_ASCII", "D", "JSON"}
_JSON = re.compile(r"\bto_json\b|\bjs_esc\b|\bJSON\.|=>")
_URL_WORDS = re.compile(r"(?:^|_)(?:URL|URI|URLS|URIS|ENDPOINT|ADDR|ADDRS|ADDRESS)(?:_|$)")
_ATTRIBUTES = {"ip": "IP", "address": "ADDRESS", "addresses": "ADDRESSES", "hostname": "HOSTNAME",
               "dns_record_name": "DNS_NAME"}
#: the literal last segment of a URL path built in Ruby (``"#{base}/services/registry-default"``)
_PATH_TAIL = re.compile(r"""/([A-Za-z][\w.-]*)["']\s*\)?\s*$""")
_LINK_INSTANCES = re.compile(r"""link\(\s*["']([\w\-]+)["']\s*\)\s*\.\s*instances\b(.*)""", re.DOTALL)


def candidates(base: str, job: str, ours: Collection[str] = ()) -> Iterator[str]:
    """Names to try for a value, best first, never with a generic suffix (``PORT_VALUE``): the
    base, unless it is one word that says nothing alone (``PORT``); the job's name in front
    (``KAFKA_HEAP_SIZE`` when the script has its own ``HEAP_SIZE``); ``CONFIGURED_`` in front
    when the base starts with the job's name already or that would read as BOSH's job name
    (``JOB_NAME``); then numbered. When the base is a name made for another value already
    (``ours``: two flag groups of one command, ``D_ARGS``), the next is numbered (``D_ARGS_2``):
    a prefix would suggest the two differ in kind."""
    prefix = _upper(job) + "_" if job and re.search(r"[A-Za-z0-9]", job) else ""
    qualified = prefix + base if prefix and not base.startswith(prefix) else ""
    if qualified in ("JOB_NAME", "JOB_INDEX") or len(qualified) > NAME_CAP:
        qualified = ""
    primary = qualified if base in GENERIC and qualified else base
    if base in ours or primary in ours:
        yield from (f"{primary}_{n}" for n in itertools.count(2))
        return
    first = ([] if base in GENERIC else [base]) + ([qualified] if qualified else []) + [f"CONFIGURED_{base}"]
    yield from first
    for n in itertools.count(2):
        yield f"{qualified or base}_{n}"


#: a URL, or a quoted or bare path after the command's first word; file paths are not requests
_REQUEST_PATH = re.compile(r"""(?:[a-z]+://[^/\s"']*|(?<=["'\s]))(/[^\s"']*)""")
_FILE_ROOTS = ("/var/", "/etc/", "/tmp/", "/usr/", "/opt/", "/bin/", "/sbin/", "/dev/", "/proc/", "/home/", "/root/")


def _request_path_word(before: str) -> str | None:
    """The last literal segment of the request path in the command ``before`` ends in (its
    backslash-continued lines: ``request PUT "/consumers/${ID}/basic-auth/${NAME}" --data-raw``:
    ``BASIC_AUTH``), or None."""
    lines = before.split("\n")
    k = len(lines) - 1
    while k > 0 and lines[k - 1].rstrip().endswith("\\"):  # the command's continued lines
        k -= 1
    words = "\n".join(lines[k:]).split(None, 1)
    rest = " " + (words[1] if len(words) > 1 else "")
    paths = [m.group(1) for m in _REQUEST_PATH.finditer(rest) if not m.group(1).startswith(_FILE_ROOTS)]
    if not paths:
        return None
    segments = [s for s in paths[-1].split("/") if s and not re.search(r"[$`{}]", s)]
    if not segments:
        return None
    try:
        return _upper(_snake(segments[-1]))
    except Unnamed:
        return None


def _capped(name: str, prop: str, keep: int = 0) -> str:
    """A name made from a long property path keeps the path's tail: the last parts that fit in
    ``NAME_CAP`` characters (at least the last two; ``a.cluster.routing.allocation.enable_x`` ->
    ``ROUTING_ALLOCATION_ENABLE_X``); what the name says before the path, and its first ``keep``
    parts (a link's name: ``link("x").p("a.b.c")`` reads ``x.a.b.c``), stay."""
    full = _upper(_snake(prop).replace(".", "_"))
    if len(name) <= NAME_CAP or not name.endswith(full):
        return name
    lead = name[: len(name) - len(full)]
    parts = _snake(prop).split(".")
    for k in range(keep + 1, len(parts) - 1):
        tail = lead + _upper("_".join(parts[:keep] + parts[k:]))
        if len(tail) <= NAME_CAP or k == len(parts) - 2:
            return tail
    return name


def _attribute_after(text: str) -> str:
    """What is read from the thing a property names (``spec.networks.send(p("x.network")).ip``:
    the network's ``_IP``)."""
    m = re.search(r"""\bp\(\s*["'][\w.\-]+["'][^()]*\)\s*\)((?:\s*\.\s*\w+)+)\s*$""", text)
    if not m:
        return ""
    words = [w for w in re.findall(r"\w+", m.group(1)) if w not in _TRANSPARENT]
    return "_" + _ATTRIBUTES[words[0]] if len(words) == 1 and words[0] in _ATTRIBUTES else ""


def _instances_name(link: str, rest: str) -> str:
    """``link("peers").instances.first.address`` -> ``PEERS_ADDRESS``; their addresses, all of them,
    ``PEERS_ADDRESSES`` (a link named for addresses already, ``PEER_ADDRS``, is enough)."""
    base = _upper(link)
    if not re.search(r"\baddress\b", rest):
        return base + "_INSTANCES"
    one = re.match(r"\s*(?:\.\s*first\b|\[\s*0\s*\])", rest) is not None
    if re.search(r"(?:^|_)(?:ADDRS|ADDRESSES|HOSTS|IPS)$", base):
        return base
    return base + ("_ADDRESS" if one else "_ADDRESSES")


def _unreserved(base: str) -> str:
    """``PATH_VALUE`` -> ``PATH``: a name the shell reads is never taken (``candidates`` puts the
    job's name in front: ``SHOP_PATH``), so it needs no generic suffix here."""
    bare = base.removesuffix("_VALUE")
    return bare if bare != base and (bare in ruby.RESERVED or bare.startswith(("BASH", "LC_", "LANG"))) else base
