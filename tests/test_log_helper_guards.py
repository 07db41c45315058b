"""Fan-out helpers with guard clauses (loggregator's and ouroboros' ``syslog_utils.sh``):

    tee_output_to_sys_log() {
      declare log_dir="$1"
      if [ "$log_dir" = "" ] ; then return 1; fi
      if [ ! -e "$log_dir" ] ; then return 2; fi
      local log_basename
      log_basename="$(basename "$0")"
      exec > >(tee -a >(logger ...) | prepend_datetime >>"${log_dir}/${log_basename}.log")
      ...

At a call where the guards surely do not hold they vanish; otherwise their tests stay as the
condition of the new lines, or, when the helper's non-zero status matters, the call is left alone.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codemods._log_guards import decide, negate, substitute
from codemods.log_pipelines import LogPipelines
from tests.support.codemod_case import assert_codemod, assert_unchanged, run_codemods
from tests.support.sandbox import Sandbox, settle

CM = LogPipelines()
HELPER_PATH = "/var/vcap/packages/common/syslog_utils.sh"
GUARDED = textwrap.dedent("""\
    # sends stdout and stderr to /var/vcap/sys/log
    function tee_output_to_sys_log() {
      declare log_dir="$1"

      if [ "$log_dir" = "" ] ; then
        return 1
      fi

      if [ ! -e "$log_dir" ] ; then
        return 2
      fi

      local log_basename
      log_basename="$(basename "$0")"

      exec > >(tee -a >(logger -p user.info -t "vcap.${log_basename}.stdout") | prepend_datetime >>"${log_dir}/${log_basename}.log")
      exec 2> >(tee -a >(logger -p user.error -t "vcap.${log_basename}.stderr") | prepend_datetime >>"${log_dir}/${log_basename}.err.log")
    }

    function prepend_datetime() {
      awk -W interactive '{ system("echo -n [$(date +\\"%Y-%m-%d %H:%M:%S%z\\")]"); print " " $0 }'
    }
    """)


def run(before: str, **kwargs):
    return run_codemods([CM], before, helpers={HELPER_PATH: GUARDED}, script="bin/agent_ctl",
                        source="agent_ctl.erb", **kwargs)


def test_guards_that_cannot_hold_at_the_call_vanish() -> None:
    outcome = run("""\
        LOG_DIR=/var/vcap/sys/log/agent
        mkdir -p $LOG_DIR
        source /var/vcap/packages/common/syslog_utils.sh
        tee_output_to_sys_log "$LOG_DIR"
        exec /bin/agent
        """)
    assert outcome.text == textwrap.dedent("""\
        LOG_DIR=/var/vcap/sys/log/agent
        mkdir -p $LOG_DIR
        exec >> "$LOG_DIR/agent_ctl.log"
        exec 2>> "$LOG_DIR/agent_ctl.err.log"
        exec /bin/agent
        """), outcome.text
    # only what operators see change in the lines: syslog gone, the helper's timestamps gone (issue 9)
    review = outcome.messages("review")
    assert len(review) == 3 and all("no longer goes to syslog" in m or "lose the timestamp" in m for m in review), review


def test_guards_that_may_hold_become_the_condition() -> None:
    """No folder made first: the `-e` check may stop the helper, so it stays (and no mkdir is
    added, which would make the files appear where the old script wrote none)."""
    outcome = run("""\
        source /var/vcap/packages/common/syslog_utils.sh
        tee_output_to_sys_log "$AGENT_LOGS"
        exec /bin/agent
        """)
    assert outcome.text == textwrap.dedent("""\
        if [ "$AGENT_LOGS" != "" ] && [ -e "$AGENT_LOGS" ]; then
          exec >> "$AGENT_LOGS/agent_ctl.log"
          exec 2>> "$AGENT_LOGS/agent_ctl.err.log"
        fi
        exec /bin/agent
        """), outcome.text


def test_guard_whose_status_stops_a_set_e_script_is_left_alone() -> None:
    outcome = run("""\
        set -e
        source /var/vcap/packages/common/syslog_utils.sh
        tee_output_to_sys_log "$AGENT_LOGS"
        exec /bin/agent
        """)
    assert "tee_output_to_sys_log \"$AGENT_LOGS\"" in outcome.text
    assert any("returns 1 when" in m and "set -e" in m for m in outcome.messages("review")), outcome.findings
    assert not outcome.messages("info"), outcome.findings


def test_guard_that_holds_at_the_call_is_left_alone() -> None:
    outcome = run('source /var/vcap/packages/common/syslog_utils.sh\ntee_output_to_sys_log ""\n')
    assert "tee_output_to_sys_log" in outcome.text
    assert any("holds" in m for m in outcome.messages("review")), outcome.findings


def test_argument_count_guard_is_decided_from_the_call() -> None:
    helper = ('log_to() {\n  if [ $# -lt 1 ]; then return 1; fi\n'
              '  exec > >(tee -a >(logger -t x) >> "$1/x.log")\n}\n')
    assert_codemod(CM, "set -e\nsource /var/vcap/packages/x/log.sh\nmkdir -p /var/vcap/sys/log/x\nlog_to /var/vcap/sys/log/x\n"
                   "echo hi\n", "set -e\nmkdir -p /var/vcap/sys/log/x\nexec >> \"/var/vcap/sys/log/x/x.log\"\necho hi\n",
                   helpers={"/var/vcap/packages/x/log.sh": helper})


def test_a_helper_that_does_more_than_fan_out_gets_a_finding() -> None:
    """Was: silently left alone (the sourced helper did not look like fan-out). A function of the
    script itself is rewritten where it stands instead."""
    helper = ('log_to() {\n  log_dir="$1"\n  shift\n'
              '  exec > >(tee -a >(logger -t x) >> "$log_dir/x.log")\n}\n')
    outcome = assert_unchanged(CM, "source /var/vcap/packages/x/log.sh\nlog_to /var/vcap/sys/log/x\necho hi\n",
                               helpers={"/var/vcap/packages/x/log.sh": helper})
    assert any("also runs 'shift'" in m for m in outcome.messages("review")), outcome.findings


@pytest.mark.parametrize("test,args,expected", [
    ('[ "$log_dir" = "" ]', ['"$LOG_DIR"'], '[ "$LOG_DIR" = "" ]'),
    ('[ -z $1 ]', ['"$D"'], '[ -z "$D" ]'),
    ('[ ! -e "${log_dir}" ]', ["/var/log/x"], '[ ! -e "/var/log/x" ]'),
    ('[ "$#" -lt 2 ]', ["a"], '[ "1" -lt 2 ]'),
    ('[ "$log_dir" = "" ]', ['"$@"'], None),
])
def test_substitute(test: str, args: list[str], expected: str | None) -> None:
    assert substitute(test, {"log_dir": 1}, args, {}) == expected


@pytest.mark.parametrize("test,verdict", [
    ('[ "/var/x" = "" ]', False), ('[ "" = "" ]', True), ('[ -z "$X" ]', None), ('[ -n "/a" ]', True),
    ('[ ! -e "/made" ]', False), ('[ -d /made ]', True), ('[ ! -e "/other" ]', None), ('[ 1 -lt 2 ]', True),
    ('[[ "a" == "b" ]]', False), ("test -e /made", None),
])
def test_decide(test: str, verdict: bool | None) -> None:
    def literal(word: str) -> str | None:
        word = word.strip('"')
        return None if "$" in word else word

    assert decide(test, literal, lambda w: w.strip('"') == "/made") is verdict


@pytest.mark.parametrize("test,negated", [
    ('[ "$D" = "" ]', '[ "$D" != "" ]'), ('[ ! -e "$D" ]', '[ -e "$D" ]'), ('[ -z "$D" ]', '[ -n "$D" ]'),
    ('[ -e "$D" ]', '[ ! -e "$D" ]'), ("[[ $x -gt 2 ]]", "! [[ $x -gt 2 ]]"),
])
def test_negate(test: str, negated: str) -> None:
    assert negate(test) == negated


def test_kept_guard_runs_like_the_helper(tmp_path: Path) -> None:
    """Real bash, old and new: with the folder missing neither writes a log file; with it there
    both write the same lines."""
    before = textwrap.dedent("""\
        source /var/vcap/packages/common/syslog_utils.sh
        tee_output_to_sys_log "$AGENT_LOGS"
        echo started
        """)
    after = run(before).text
    for made in (False, True):
        seen = []
        for text in (before, after):
            box = Sandbox(tmp_path / f"{made}-{len(seen)}")
            box.install(HELPER_PATH, GUARDED)
            logs = box.path("/var/vcap/sys/log/agent")
            if made:
                logs.mkdir(parents=True)
            proc = box.run(box.install("/var/vcap/jobs/agent/bin/agent_ctl", text), env={"AGENT_LOGS": str(logs)})
            settle(list(logs.glob("*")) if made else [])
            files = {p.name: [line.split("] ", 1)[-1] for line in p.read_text().splitlines()] for p in logs.glob("*")} \
                if made else {}
            seen.append((proc.returncode, files))
        assert seen[0] == seen[1], seen


def test_the_scripts_own_guarded_function_is_rewritten_where_it_stands() -> None:
    """A function of the script itself keeps its guard as it is: only its exec lines change (no
    call to inline, so no status question even under set -e)."""
    before = ('set -e\nlog_to() {\n  if [ ! -d "$1" ]; then return 1; fi\n'
              '  exec > >(tee -a >(logger -t x) >> "$1/x.log")\n}\nlog_to "$LOGS"\necho hi\n')
    assert_codemod(CM, before, before.replace('exec > >(tee -a >(logger -t x) >> "$1/x.log")', 'exec >> "$1/x.log"')
                   .replace("  exec >>", '  mkdir -p "$1"\n  exec >>'))
