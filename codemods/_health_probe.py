"""What a health-check loop's curl (or wget) probe counts as healthy, and whether sipid can count the same.

``sipid wait-until-healthy`` sends a plain GET with no headers and no credentials, follows
redirects, verifies TLS, gives each try up to 30 s, and counts a try healthy only when the final
status is 200. A probe that relies on anything else (``-k``, a header, a per-try limit, a body
match, another status) would check something different once rewritten, so each such need is a
*blocker*, named in words an author recognises. All blockers are collected, not only the first,
so the finding says everything that stands between the loop and a rewrite.

Two differences are not blockers, because the check stays the one the author wrote and the
rewrite's finding can say what changes: ``-I`` (HEAD gets the status GET gets, by HTTP's rules; the
body now comes too) and a probe without ``-f`` (any HTTP answer ended the wait; the author chose
that URL to tell readiness, so it should answer 200 then, and the finding asks the reviewer to
check it). ``-k`` is a blocker here; the codemod lifts it when the URL is ``http://`` on every
path (it then does nothing), which only the script around the probe can tell. ``wget --spider``
(HEAD) and ``wget -O -`` (GET) count any 2xx after redirects, as ``curl -fL`` does; their options
are read the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tree_sitter import Node

from migrator.document import Document, command_name

#: flags that change nothing sipid cares about (output, progress, redirects, IP family)
HARMLESS_FLAGS = {"--silent", "--show-error", "--location", "--verbose", "--compressed", "--no-progress-meter",
                  "--globoff", "--fail", "--fail-with-body", "-4", "-6", "--ipv4", "--ipv6", "--no-buffer"}
HARMLESS_SHORT = set("sSfLvq46gN")
#: options whose value only shapes curl's own output
OUTPUT_VALUED = {"-w", "--write-out", "-o", "--output"}

_TLS = "insecure TLS; sipid always verifies TLS"
_HEADER = "a request header; sipid sends none"
_PER_TRY = "a time limit per try; sipid gives each try up to 30 s"
_RETRY = "curl's own retries inside each try"
_METHOD = "not a plain GET; sipid only sends GET"
_CREDENTIALS = "credentials or certificates; sipid has no option for them"
_CONNECTION = "connection settings sipid has no option for"

#: option -> (takes a value, why sipid cannot do what it asks)
BLOCKING: dict[str, tuple[bool, str]] = {
    "-k": (False, _TLS), "--insecure": (False, _TLS),
    "-H": (True, _HEADER), "--header": (True, _HEADER), "-A": (True, _HEADER), "--user-agent": (True, _HEADER),
    "-e": (True, _HEADER), "--referer": (True, _HEADER), "-b": (True, _HEADER), "--cookie": (True, _HEADER),
    "-m": (True, _PER_TRY), "--max-time": (True, _PER_TRY), "--connect-timeout": (True, _PER_TRY),
    "--retry": (True, _RETRY), "--retry-delay": (True, _RETRY), "--retry-max-time": (True, _RETRY),
    "--retry-connrefused": (False, _RETRY), "--retry-all-errors": (False, _RETRY),
    "-X": (True, _METHOD), "--request": (True, _METHOD), "-d": (True, _METHOD), "--data": (True, _METHOD),
    "--data-binary": (True, _METHOD), "--data-raw": (True, _METHOD), "--data-urlencode": (True, _METHOD),
    "-F": (True, _METHOD), "--form": (True, _METHOD), "-T": (True, _METHOD), "--upload-file": (True, _METHOD),
    "-u": (True, _CREDENTIALS), "--user": (True, _CREDENTIALS), "-n": (False, _CREDENTIALS),
    "--netrc": (False, _CREDENTIALS), "--cacert": (True, _CREDENTIALS), "--capath": (True, _CREDENTIALS),
    "--cert": (True, _CREDENTIALS), "-E": (True, _CREDENTIALS), "--key": (True, _CREDENTIALS),
    "--resolve": (True, _CONNECTION), "-x": (True, _CONNECTION), "--proxy": (True, _CONNECTION),
    "--unix-socket": (True, _CONNECTION), "--interface": (True, _CONNECTION), "--noproxy": (True, _CONNECTION),
}
#: commands a probe can be made with
PROBERS = ("curl", "wget")

#: wget options that change nothing sipid cares about (messages, IP family)
WGET_HARMLESS = {"--quiet", "--no-verbose", "--server-response", "--inet4-only", "--inet6-only", "-q", "-nv", "-S",
                 "-4", "-6"}
#: wget option -> (takes a value, why sipid cannot do what it asks)
WGET_BLOCKING: dict[str, tuple[bool, str]] = {
    "--no-check-certificate": (False, _TLS),
    "--header": (True, _HEADER), "-U": (True, _HEADER), "--user-agent": (True, _HEADER), "--referer": (True, _HEADER),
    "-T": (True, _PER_TRY), "--timeout": (True, _PER_TRY), "--read-timeout": (True, _PER_TRY),
    "--connect-timeout": (True, _PER_TRY), "--dns-timeout": (True, _PER_TRY),
    "-t": (True, "wget's own retries inside each try"), "--tries": (True, "wget's own retries inside each try"),
    "--retry-connrefused": (False, "wget's own retries inside each try"),
    "--waitretry": (True, "wget's own retries inside each try"),
    "--retry-on-http-error": (True, "wget's own retries inside each try"),
    "--post-data": (True, _METHOD), "--post-file": (True, _METHOD), "--method": (True, _METHOD),
    "--body-data": (True, _METHOD), "--body-file": (True, _METHOD),
    "--user": (True, _CREDENTIALS), "--password": (True, _CREDENTIALS), "--http-user": (True, _CREDENTIALS),
    "--http-password": (True, _CREDENTIALS), "--ca-certificate": (True, _CREDENTIALS),
    "--ca-directory": (True, _CREDENTIALS), "--certificate": (True, _CREDENTIALS),
    "--private-key": (True, _CREDENTIALS),
}
_EQUAL = {"=", "==", "-eq"}
_NOT_EQUAL = {"!=", "-ne"}
_HARMLESS_REDIRECT = re.compile(r"\d?>{1,2}\s*/dev/null|\d?>&\d|&>{1,2}\s*/dev/null")


@dataclass
class Probe:
    """One curl or wget probe: its URL (None when unreadable), what makes it differ from sipid's,
    and how it told healthy from unhealthy (``fail``: curl -f's exit status; ``status``: -w
    '%{http_code}' compared with 200; ``answer``: curl's exit status without -f, so any HTTP
    answer; ``wget``: wget's exit status, any 2xx after redirects).
    ``head``: it sent HEAD (-I); ``insecure``: the -k option as spelled, when it has one (its
    blocker is in ``blockers``, for the caller to lift when the URL cannot be https)."""

    curl: Node | None = None  # the probe command: curl, or wget
    url: Node | None = None
    blockers: list[str] = field(default_factory=list)
    counted_by: str = "fail"
    follows_redirects: bool = False
    head: bool = False
    insecure: str | None = None
    tool: str = "curl"

    @property
    def insecure_blocker(self) -> str | None:
        return f"uses {self.tool} {self.insecure} ({_TLS})" if self.insecure else None


def read_probe(doc: Document, expr: Node, healthy_when_true: bool = True) -> Probe:
    """The probe in ``expr``, a condition that holds when the service is healthy (or, with
    ``healthy_when_true=False``, when it is not: ``while [ "$(curl ...)" != 200 ]``)."""
    if expr.type == "negated_command":
        inner = [c for c in expr.named_children]
        if len(inner) == 1:
            return read_probe(doc, inner[0], not healthy_when_true)
    curls = [c for c in doc.commands(within=expr) if command_name(doc, c) in PROBERS]
    probe = Probe()
    if len(curls) != 1:
        probe.blockers.append("probes with more than one curl command" if curls else "has no curl probe the tool can read")
        return probe
    probe.curl = curls[0]
    probe.tool = command_name(doc, probe.curl) or "curl"
    if probe.tool == "wget":
        _wget_options(doc, probe)
    else:
        _options(doc, probe)
    others = [c for c in doc.commands(within=expr) if c.id != probe.curl.id]
    if _is_plain_call(doc, expr):
        if not healthy_when_true:
            probe.blockers.append(f"waits while {probe.tool} succeeds, not until it does")
        elif probe.tool == "wget":
            probe.counted_by = "wget"
        elif "fail" not in _flags(doc, probe.curl):
            probe.counted_by = "answer"
        return probe
    status = _status_test(doc, expr)
    if status is not None and not others:
        op, code = status
        equal_is_healthy = (op in _EQUAL) == healthy_when_true
        if "%{http_code}" not in doc.masked_text(probe.curl):
            probe.blockers.append("compares the response body, not the status (sipid only checks the status)")
        elif not equal_is_healthy:
            probe.blockers.append(f"counts any status but {code} as healthy (sipid needs 200)")
        elif code != "200":
            probe.blockers.append(f"counts status {code} as healthy (sipid needs 200)")
        else:
            probe.counted_by = "status"
        return probe
    names = sorted({command_name(doc, c) or "?" for c in others})
    what = f" with {', '.join(names)}" if names else ""
    probe.blockers.append(f"matches the response body{what} (sipid only checks the status)")
    return probe


def curl_blockers(doc: Document, curl: Node) -> list[str]:
    """What in one curl command's options sipid cannot do (for loops too tangled to read a probe
    from, so their finding still names these)."""
    probe = Probe(curl=curl, tool=command_name(doc, curl) or "curl")
    (_wget_options if probe.tool == "wget" else _options)(doc, probe)
    return [b for b in probe.blockers if b.startswith(f"uses {probe.tool}")]


def _is_plain_call(doc: Document, expr: Node) -> bool:
    """``curl ...`` alone, maybe with its output thrown away (``> /dev/null 2>&1``)."""
    if expr.type == "command":
        return True
    if expr.type != "redirected_statement":
        return False
    body = expr.child_by_field_name("body")
    redirects = expr.children_by_field_name("redirect")
    return body is not None and body.type == "command" and all(
        _HARMLESS_REDIRECT.fullmatch(doc.masked_text(r).strip()) for r in redirects)


def _status_test(doc: Document, expr: Node) -> tuple[str, str] | None:
    """``[ "$(curl ...)" == "200" ]`` (either side, ``[[``, backticks): the operator and code."""
    if expr.type != "test_command":
        return None
    inner = [c for c in expr.named_children]
    if len(inner) != 1 or inner[0].type != "binary_expression":
        return None
    sides = [c for c in inner[0].named_children if c.type != "test_operator"]
    ops = [doc.masked_text(c) for c in inner[0].children if c.type == "test_operator" or not c.is_named]
    ops = [o for o in ops if o.strip()]
    if len(sides) != 2 or len(ops) != 1 or ops[0] not in _EQUAL | _NOT_EQUAL:
        return None
    texts = [doc.masked_text(s).strip("\"'") for s in sides]
    codes = [t for t in texts if re.fullmatch(r"\d{3}", t)]
    subs = [s for s in sides if any(n.type == "command_substitution" for n in doc.walk(s))]
    if len(codes) != 1 or len(subs) != 1:
        return None
    return ops[0], codes[0]


def _flags(doc: Document, curl: Node) -> set[str]:
    out = set()
    for arg in curl.children_by_field_name("argument"):
        text = doc.masked_text(arg)
        if text in ("--fail", "--fail-with-body") or (re.fullmatch(r"-[a-zA-Z0-9]+", text) and "f" in _short_flags(text)):
            out.add("fail")
    return out


def _short_flags(group: str) -> str:
    """The flag letters of a short-option group, stopping at the first one that takes a value."""
    letters = ""
    for ch in group[1:]:
        letters += ch
        if ("-" + ch) in OUTPUT_VALUED or BLOCKING.get("-" + ch, (False, ""))[0]:
            break
    return letters


def _options(doc: Document, probe: Probe) -> None:
    """Walk curl's arguments: collect blockers, find the one URL."""
    assert probe.curl is not None
    args = probe.curl.children_by_field_name("argument")
    urls: list[Node] = []
    pending: str | None = None  # the option whose value the next argument is
    seen: set[str] = set()

    def block(option: str, why: str) -> None:
        if option not in seen:
            seen.add(option)
            probe.blockers.append(f"uses curl {option} ({why})")
            if why == _TLS:
                probe.insecure = option

    def output(option: str, value: str) -> None:
        if option in ("-o", "--output") and value != "/dev/null":
            block(f"{option} {value}", "the response body goes to a file")

    for arg in args:
        text = doc.masked_text(arg)
        if pending is not None:
            output(pending, text)
            pending = None
            continue
        if text.startswith("--"):
            name, eq, value = text.partition("=")
            if name == "--location":
                probe.follows_redirects = True
            if name == "--head":
                probe.head = True
                continue
            if name in HARMLESS_FLAGS:
                continue
            if name in OUTPUT_VALUED:
                if eq:
                    output(name, value)
                else:
                    pending = name
                continue
            if name in BLOCKING:
                takes, why = BLOCKING[name]
                block(name, why)
                pending = name if takes and not eq else None
                continue
            block(name, "an option the tool does not know")
            continue
        if re.fullmatch(r"-[a-zA-Z0-9]+", text):
            for j, ch in enumerate(text[1:], 1):
                option, rest = "-" + ch, text[j + 1:]
                if ch == "L":
                    probe.follows_redirects = True
                if ch == "I":
                    probe.head = True
                    continue
                if ch in HARMLESS_SHORT:
                    continue
                if option in OUTPUT_VALUED:
                    if rest:
                        output(option, rest)
                    else:
                        pending = option
                    break
                if option in BLOCKING:
                    takes, why = BLOCKING[option]
                    block(option, why)
                    if takes:
                        pending = None if rest else option
                        break
                    continue
                block(option, "an option the tool does not know")
            continue
        urls.append(arg)
    if len(urls) == 1:
        probe.url = urls[0]
    else:
        probe.blockers.append("probes several URLs" if urls else "has no URL the tool can read")


def _wget_options(doc: Document, probe: Probe) -> None:
    """wget's arguments: ``--spider`` (HEAD) or ``-O -``/``-O /dev/null`` (GET) keep the body out of
    files; anything else wget would do that sipid does not is a blocker; one URL."""
    assert probe.curl is not None
    probe.follows_redirects = True
    urls: list[Node] = []
    pending: str | None = None
    seen: set[str] = set()
    body_kept = False  # the body goes nowhere a later try or command would find it

    def block(option: str, why: str) -> None:
        if option not in seen:
            seen.add(option)
            probe.blockers.append(f"uses wget {option} ({why})")
            if why == _TLS:
                probe.insecure = option

    def output(option: str, value: str) -> None:
        nonlocal body_kept
        if value in ("-", "/dev/null"):
            body_kept = True
        else:
            block(f"{option} {value}", "the response body goes to a file")

    for arg in probe.curl.children_by_field_name("argument"):
        text = doc.masked_text(arg)
        if pending is not None:
            if pending != "skip":  # "skip": the value of a blocking option, already named
                output(pending, text)
            pending = None
            continue
        if text in WGET_HARMLESS:
            continue
        if text == "--spider":
            probe.head = body_kept = True
            continue
        if text.startswith("--"):
            name, eq, value = text.partition("=")
            if name == "--output-document":
                if eq:
                    output(name, value)
                else:
                    pending = name
            elif name in WGET_BLOCKING:
                block(name, WGET_BLOCKING[name][1])
                if WGET_BLOCKING[name][0] and not eq:
                    pending = "skip"
            else:
                block(name, "an option the tool does not know")
            continue
        if re.match(r"-[a-zA-Z0-9]", text):  # a group of short options, the last maybe with its value (-qO-)
            for j, ch in enumerate(text[1:], 1):
                option, rest = "-" + ch, text[j + 1:]
                if option in WGET_HARMLESS:
                    continue
                if option == "-O":
                    if rest:
                        output(option, rest)
                    else:
                        pending = option
                    break
                if option in WGET_BLOCKING:
                    block(option, WGET_BLOCKING[option][1])
                    if WGET_BLOCKING[option][0]:
                        pending = None if rest else "skip"
                        break
                    continue
                block(option, "an option the tool does not know")
                break
            continue
        if text == "-":
            block("-", "an option the tool does not know")
            continue
        urls.append(arg)
    if not body_kept and not any("response body goes to a file" in b for b in probe.blockers):
        probe.blockers.append("uses wget without --spider or -O (it saves the response body to a file in the "
                              "current folder each try)")
    if len(urls) == 1:
        probe.url = urls[0]
    else:
        probe.blockers.append("probes several URLs" if urls else "has no URL the tool can read")
