"""Property tests: any mix of the shapes the sipid codemods know (and code around them) goes
through the engine without a crash or a rejected rewrite, bash still accepts the result, a
second run changes nothing, and run for real it starts the same commands apart from the sipid calls."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from codemods.sipid_healthcheck import SipidHealthcheck
from codemods.sipid_pidfiles import SipidPidfiles
from tests.support.codemod_case import run_codemods
from tests.support.equivalence import compare_scripts
from tests.support.erb_render import ruby_available

PIECES = [
    "echo $$ > $PIDFILE\n",
    'echo "$$" > "${PIDFILE}"\n',
    "echo $$ >> $PIDFILE\n",
    "pid_guard $PIDFILE job\n",
    "kill_and_wait $PIDFILE\n",
    "kill_and_wait $PIDFILE 60\n",
    "kill $(cat $PIDFILE)\n",
    "kill -9 `cat $PIDFILE`\n",
    "rm -f $PIDFILE\n",
    "PID=$(<$PIDFILE)\n",
    "kill -TERM $PID\n",
    "while kill -0 $PID 2>/dev/null; do sleep 1; done\n",
    "for i in $(seq 1 5); do kill -0 $PID || break; sleep 1; done\n",
    "kill -9 $PID 2>/dev/null || true\n",
    "/bin/job &\n",
    "echo $! > $PIDFILE\n",
    "mkdir -p $RUN_DIR\n",
    "chown -R vcap:vcap $RUN_DIR\n",
    "exec /bin/job\n",
    "echo stopping\n",
    'echo "pid $PID"\n',
    "source /var/vcap/packages/common/pid_utils.sh\n",
    "source /var/vcap/packages/common/utils.sh\n",
    "wait_pidfile $PIDFILE\n",
    "if [ -f $PIDFILE ] && kill -0 $(cat $PIDFILE); then exit 1; fi\n",
    "for i in {1..3}; do\n  if curl -sf http://a/h; then exit 0; fi\n  sleep 1\ndone\n",
    "until curl -sf http://a/h; do sleep 1; done\n",
    "set -e\n",
    "# a comment\n",
    'echo $$ > <%= p("job.pidfile") %>\n',
    'kill $(cat <%= p("job.pidfile") %>)\n',
    "\n",
]


#: the properties the ERB pieces read
PROPERTIES = {"job.pidfile": {"default": "/var/vcap/sys/run/job/job.pid"}, "job.flag": {"default": True}}

CLOSERS = {
    "if [ -f $PIDFILE ]; then\n": "fi\n",
    "stop() {\n": "}\n",
    "case $1 in\n  stop)\n": "  ;;\nesac\n",
    '<% if p("job.flag") -%>\n': "<% end -%>\n",
}


def blocks(pieces: list[str]) -> st.SearchStrategy[str]:
    flat = st.lists(st.sampled_from(pieces), max_size=8).map("".join)
    wrapped = st.tuples(st.sampled_from(sorted(CLOSERS)), flat).map(lambda t: t[0] + t[1] + CLOSERS[t[0]])
    return st.lists(st.one_of(flat, wrapped), min_size=1, max_size=3).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks(PIECES))
@example(  # the rewritten stop's `|| [ $? -eq 1 ]` once read by tree-sitter as running to a later `]`
    'kill $(cat <%= p("job.pidfile") %>)\necho $$ > $PIDFILE\necho $$ >> $PIDFILE\n'
    'source /var/vcap/packages/common/pid_utils.sh\nkill $(cat <%= p("job.pidfile") %>)\n')
def test_any_mix_is_rewritten_safely_and_idempotently(script: str) -> None:
    codemods = [SipidPidfiles(), SipidHealthcheck()]
    first = run_codemods(codemods, script, dedent=False)
    errors = [f for f in first.findings if f.codemod == "engine"]
    assert not errors, (script, errors)
    second = run_codemods(codemods, first.text, dedent=False)
    assert second.text == first.text, script
    if bash_accepts(script):
        assert bash_accepts(first.text), (script, first.text)


def bash_accepts(text: str) -> bool:
    """``bash -n``: the real shell's own syntax check."""
    return subprocess.run(["bash", "-n"], input=text, text=True, capture_output=True, check=False).returncode == 0


@pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks(PIECES), st.sampled_from(["start", "stop"]))
def test_the_same_commands_run_apart_from_the_sipid_calls(body: str, arm: str) -> None:
    """Run as a control script (start, then stop), the rewrite starts the same commands as the
    original, apart from what the sipid codemods declare."""
    script = f'#!/bin/bash\nRUN_DIR=/var/vcap/sys/run/job\nPIDFILE=$RUN_DIR/job.pid\nPID=4242\ncase $1 in\n  {arm})\n'
    script += "".join(f"    {line}\n" if line else "\n" for line in body.splitlines()) + "    ;;\nesac\n"
    if not bash_accepts(script):
        return
    first = run_codemods([SipidPidfiles(), SipidHealthcheck()], script, dedent=False)
    if first.text == script:
        return
    (verdict,) = compare_scripts(script, first.text, ["sipid-pidfiles", "sipid-healthcheck"], properties=PROPERTIES)
    assert verdict.status != "differing", (verdict.detail, script, first.text)
