"""sipid-pidfiles removes what its rewrite leaves dead (the grace, the kill flag, the pid variable),
and only that: a name anything else still reads stays."""

from __future__ import annotations

from codemods.sipid_pidfiles import SipidPidfiles
from tests.support.codemod_case import assert_codemod, run_codemods

CM = SipidPidfiles()
SIPID = "/var/vcap/packages/sipid/bin/sipid"
KILL = (f'    if [ -s "$PIDFILE" ]; then\n      {SIPID} kill --pid-file "$PIDFILE" --show-stacks\n    fi\n'
        '    rm -f "$PIDFILE"\n')

STOP = """\
case $1 in
  stop)
    grace=15
    sigkill_on_timeout=1
    kill_and_wait $PIDFILE $grace $sigkill_on_timeout
    ;;
esac
"""


def test_grace_and_kill_flag_go_with_the_kill_and_wait_that_read_them() -> None:
    outcome = assert_codemod(CM, STOP, f"case $1 in\n  stop)\n{KILL}    ;;\nesac\n")
    removed = [f for f in outcome.findings if f.message.startswith("removed")]
    assert [f.line for f in removed] == [3, 4] and {f.severity for f in removed} == {"info"}


def test_a_local_pid_declared_before_a_stop_loop_goes() -> None:
    assert_codemod(
        CM,
        """\
        stop_w() {
          local pid
          pid=$(cat $PIDFILE)
          kill $pid
          rm -f $PIDFILE
        }
        """,
        f"""\
        stop_w() {{
          if [ -s "$PIDFILE" ]; then
            {SIPID} kill --pid-file "$PIDFILE" --show-stacks
          fi
          rm -f "$PIDFILE"
        }}
        """,
    )


def test_a_name_read_elsewhere_in_the_script_stays() -> None:
    outcome = run_codemods([CM], STOP.replace("    ;;\nesac", '    echo "waited up to $grace s"\n    ;;\nesac'))
    assert "grace=15" in outcome.text and "sigkill_on_timeout=1" not in outcome.text


def test_a_name_that_is_also_a_command_stays() -> None:
    text = STOP.replace("grace", "timeout").replace("  stop)\n", "  start)\n    timeout 5 true\n    ;;\n  stop)\n")
    assert "timeout=15" in run_codemods([CM], text).text


def test_an_exported_name_another_script_of_the_job_reads_stays() -> None:
    text = STOP.replace("    grace=15", "    export grace=15")
    kept = run_codemods([CM], text, files={"templates/drain.erb": 'sleep "$grace"\n'})
    assert "export grace=15" in kept.text
    gone = run_codemods([CM], text, files={"templates/drain.erb": "sleep 1\n"})
    assert "grace" not in gone.text


def test_an_exported_pid_a_program_started_after_it_inherits_stays() -> None:
    outcome = run_codemods([CM], "export PIDNUM=$$\necho $PIDNUM > $PIDFILE\nexec /var/vcap/packages/w/bin/w\n")
    assert outcome.text.startswith("export PIDNUM=$$\n") and f'{SIPID} claim --pid "$$"' in outcome.text


def test_a_name_a_helper_still_sourced_reads_stays() -> None:
    helper = "wait_a_bit() { sleep $grace; }\n"
    text = "source /var/vcap/jobs/job/helpers/h.sh\n" + STOP.replace("    ;;\nesac", "    wait_a_bit\n    ;;\nesac")
    outcome = run_codemods([CM], text, templates={"h.sh": "helpers/h.sh"},
                           files={"templates/h.sh": helper})
    assert "grace=15" in outcome.text and "sigkill_on_timeout=1" not in outcome.text


def test_a_suppressed_stop_keeps_its_grace() -> None:
    text = STOP.replace("$sigkill_on_timeout\n", "$sigkill_on_timeout  # exemplar-migrate: ignore\n")
    assert run_codemods([CM], text).text == text


def test_a_kill_flag_the_tool_cannot_read_keeps_the_stop() -> None:
    # it may be the 0 that keeps SIGKILL off (a database that must not be killed)
    text = STOP.replace("sigkill_on_timeout=1", "sigkill_on_timeout=$(cat /var/vcap/jobs/job/config/kill)")
    outcome = run_codemods([CM], text)
    assert outcome.text == text
    assert any("SIGKILL flag ('$sigkill_on_timeout') the tool cannot read" in m for m in outcome.messages("review"))


def test_a_stop_function_reading_the_pid_into_a_local_is_one_stop() -> None:
    # storm-style: local pid=`cat $pidfile`; kill $pid
    outcome = run_codemods([CM], "stop_w() {\n  local pid=`cat $PIDFILE`\n  kill $pid\n}\n")
    assert "local pid" not in outcome.text and f"{SIPID} kill" in outcome.text


def test_values_that_do_more_than_set_the_name_stay() -> None:
    outcome = run_codemods([CM], "stop_w() {\n  local pid=$(pgrep w)\n  kill $(cat $PIDFILE)\n}\n")
    assert "local pid=$(pgrep w)" in outcome.text and f"{SIPID} kill" in outcome.text


def test_a_comment_that_mentions_the_name_is_no_read() -> None:
    outcome = run_codemods([CM], "stop_w() {\n  # read the pid, then stop it\n  local pid\n  pid=$(cat $PIDFILE)\n"
                                 "  kill $pid\n}\n")
    assert "local pid" not in outcome.text and "# read the pid, then stop it" in outcome.text
