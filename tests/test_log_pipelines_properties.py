"""Property tests for log-pipelines: any mix of the log fan-out shapes it knows (and code around
them) goes through the engine without a crash or a rejected rewrite, bash still accepts the result,
a second run changes nothing, and (run with real bash) every line that reached a log file before
still reaches that file after, and the same commands run apart from the log plumbing."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods.log_pipelines import LogPipelines
from tests.support.codemod_case import run_codemods
from tests.support.equivalence import compare_scripts
from tests.support.erb_render import ruby_available
from tests.support.sandbox import Sandbox

LOG = "/var/vcap/sys/log/job"
MAIN = "/var/vcap/packages/job/bin/job"
PLUMBING = {"logger", "tee", "awk", "perl", "sed"}
_PLUMBING_WORD = re.compile(r"\b(?:logger|tee|awk|perl|sed)\b")

# -- the shapes --------------------------------------------------------------------------------
# `@N@` is replaced by a running number, so each line a script prints is told apart.
PREFIXERS = [
    "",
    " | awk -W interactive '{ system(\"echo -n [$(date +%F)]\"); print \" \" $0 }'",
    ' | sed -u "s/^/[$(date +%F)] /"',
    " | perl -ne 'use POSIX \"strftime\"; $|=1; print strftime(\"[%F] \", localtime), $_'",
    " | stamp",
]
FILES = [f"{LOG}/a.log", '"$LOG_DIR/b.log"', "${LOG_DIR}/c.log"]


@st.composite
def fanout(draw) -> str:
    """The inside of ``>( ... )``: tee into a file (or a prefixer into it), maybe syslog too."""
    append = draw(st.booleans())
    # a file opened with truncation has a name of its own: two writers truncating one file race
    path = draw(st.sampled_from(FILES)) if append else f"{LOG}/t@N@.log"
    syslog = draw(st.booleans())
    prefixer = draw(st.sampled_from(PREFIXERS))
    if prefixer and draw(st.booleans()):
        # tee -a >(logger) | prefixer >> FILE
        return f"tee -a >(logger -t vcap.job){prefixer} {'>>' if append else '>'} {path}"
    tee = f"tee {'-a ' if append else ''}{path}"
    return tee + (" | logger -p user.info -t vcap.job" if syslog else "")


@st.composite
def exec_fanout(draw) -> str:
    fd = draw(st.sampled_from(["", "1", "2"]))
    inner = draw(fanout())
    if draw(st.booleans()):
        return f"exec {fd}> >({inner})\n"
    # the multi-line continued form
    return f"exec {fd}> \\\n  >(\n    {inner}\n  )\n"


@st.composite
def main_fanout(draw) -> str:
    out, err = draw(fanout()), draw(fanout())
    head = draw(st.sampled_from(["exec ", ""]))
    tail = draw(st.sampled_from(["", " &"])) if not head else ""
    if draw(st.booleans()):
        return f"{head}{MAIN} m@N@ 1> >({out}) 2> >({err}){tail}\n"
    return f"{head}{MAIN} m@N@ \\\n  -flag \\\n  1> >({out}) \\\n  2> >({err}){tail}\n"


SIMPLE = [
    f"{MAIN} m@N@ 2>&1 | tee -a $LOG_DIR/p.log | logger -t vcap.job\n",
    f"{MAIN} m@N@ | tee -a {LOG}/q.log | logger -t vcap.job\n",
    f"{MAIN} m@N@ |& tee -a {LOG}/r.log | logger\n",
    f"{MAIN} m@N@ | logger -t vcap.job\n",
    f"{MAIN} m@N@ 2>&1 | logger -t vcap.job\n",
    f"{MAIN} m@N@ | tee -a {LOG}/s.log\n",
    f"{MAIN} m@N@ 2>&1 | tee {LOG}/t@N@.log | stamp | logger\n",
    'tee_output_to_sys_log "$LOG_DIR" job\n',
    "echo MARK-OUT e@N@\n",
    f"exec >> {LOG}/ctl.log\n",
    "exec 2>&1\n",
    f"logf() {{ echo MARK-OUT f@N@; }} > >(tee -a {LOG}/f.log | logger)\nlogf\n",
    f"while /bin/echo MARK-OUT w@N@ > >(tee -a {LOG}/w.log | logger); do break; done\n",
    f"{MAIN} m@N@ > >(tee -a {LOG}/u.log | logger) extra\n",
    f"{MAIN} m@N@ 2> >(tee -a {LOG}/v.log)\n",
    "echo MARK-ERR e@N@ >&2\n",
    f"{MAIN} m@N@\n",
    f"{MAIN} m@N@ >> {LOG}/plain.log 2>&1\n",
    "# send output to syslog and a timestamped file\n",
    "# unrelated comment\n",
    "set -e\n",
    "set -o pipefail\n",
    "true\n",
    "\n",
]

STAMP = "stamp() {\n  awk -W interactive '{ system(\"echo -n [$(date +%F)]\"); print \" \" $0 }'\n}\n"
TEE_HELPER = """\
tee_output_to_sys_log() {
  declare log_dir="$1"
  declare log_name="$2"
  exec > >(tee -a >(logger -p user.info -t "vcap.${log_name}.stdout") | stamp >>"${log_dir}/${log_name}.stdout.log")
  exec 2> >(tee -a >(logger -p user.error -t "vcap.${log_name}.stderr") | stamp >>"${log_dir}/${log_name}.stderr.log")
}
"""


def statements() -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(SIMPLE), exec_fanout(), main_fanout()), min_size=1, max_size=4).map("".join)


@st.composite
def block(draw) -> str:
    body = draw(statements()) + "true\n"  # never an empty body
    wrap = draw(st.sampled_from(["none", "case", "function", "if"]))
    indented = "".join(f"  {line}" if line else line for line in body.splitlines(keepends=True))
    if wrap == "case":
        return f'case "start" in\n  start)\n{indented}  ;;\n  *) echo other ;;\nesac\n'
    if wrap == "function":
        return f"run_it() {{\n{indented}}}\nrun_it\n"
    if wrap == "if":
        return f'if [ -n "$LOG_DIR" ]; then\n{indented}fi\n'
    return body


@st.composite
def script(draw) -> str:
    text = "#!/bin/bash\n"
    if draw(st.booleans()):
        text += "set -e\n"
    text += f"LOG_DIR={LOG}\n"
    if draw(st.booleans()):
        text += "mkdir -p $LOG_DIR\n"
    text += STAMP + TEE_HELPER
    text += "".join(draw(st.lists(block(), min_size=1, max_size=3)))
    text += "echo MARK-OUT end\n"
    counter = iter(range(1, 1000))
    return re.sub("@N@", lambda _m: str(next(counter)), text)


def bash_accepts(text: str) -> bool:
    return subprocess.run(["bash", "-n"], input=text.encode(), capture_output=True).returncode == 0


def migrate(text: str):
    return run_codemods([LogPipelines()], text, dedent=False)


# -- 1. pure: no crash, no rejected rewrite, bash accepts the result, idempotent -----------------
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script())
def test_any_mix_is_rewritten_safely_and_idempotently(text: str) -> None:
    first = migrate(text)
    errors = [f for f in first.findings if f.severity == "error"]
    assert not errors, (text, errors)
    assert bash_accepts(text), text
    assert bash_accepts(first.text), (text, first.text)
    second = migrate(first.text)
    assert second.text == first.text, (text, first.text, second.text)


# -- 2. behaviour: the same lines reach the same log files ----------------------------------------
STANDIN = """#!/bin/bash
echo "MARK-OUT $1"
echo "MARK-ERR $1" >&2
"""


def _settle(box: Sandbox, quiet: float = 0.25, timeout: float = 8.0) -> None:
    """Wait until no file under the sandbox's log root (nor syslog) grows any more."""
    root = box.path("/var/vcap/sys/log")
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        sizes = tuple(sorted((str(p), p.stat().st_size) for p in root.rglob("*") if p.is_file()))
        sizes += ((str(box.syslog), box.syslog.stat().st_size),)
        if sizes != last:
            last, since = sizes, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.05)


def _destinations(box: Sandbox, text: str) -> dict[str, set[str]]:
    """Run a script; return, per printed line, the log files it reached (relative names)."""
    box.install(MAIN, STANDIN)
    target = box.install("/var/vcap/jobs/job/bin/job_ctl", text)
    box.run(target, "start", timeout=20)
    _settle(box)
    root = box.path("/var/vcap/sys/log")
    seen: dict[str, set[str]] = {}
    for p in root.rglob("*"):
        if p.is_file():
            for marker in re.findall(r"MARK-(?:OUT|ERR) \w+", p.read_text(errors="replace")):
                seen.setdefault(marker, set()).add(str(p.relative_to(root)))
    return seen


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(script())
def test_lines_reach_the_same_log_files(tmp_path_factory, text: str) -> None:
    after = migrate(text).text
    base = Path(tmp_path_factory.mktemp("lp"))
    before_box, after_box = Sandbox(base / "before"), Sandbox(base / "after")
    old = _destinations(before_box, text)
    new = _destinations(after_box, after)
    for marker, files in old.items():
        assert files <= new.get(marker, set()), (marker, files, new.get(marker), text, after)
    if after != text and not _PLUMBING_WORD.search(after):
        assert not PLUMBING & set(after_box.started()), (after_box.started(), after)


# -- 3. behaviour: the same commands run, apart from the log plumbing the codemod declares ---------
@pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script())
def test_the_same_commands_run_apart_from_the_log_plumbing(text: str) -> None:
    after = migrate(text).text
    if after == text:
        return
    (verdict,) = compare_scripts(text, after, ["log-pipelines"])
    assert verdict.status == "equivalent", (verdict.detail, text, after)
