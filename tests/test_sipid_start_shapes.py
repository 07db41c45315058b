"""sipid-pidfiles, start side: every spelling of a pid write, background starts that become the
guide's foreground start, start-stop-daemon scripts, and findings that match what was done."""

from __future__ import annotations

import pytest

from codemods.sipid_pidfiles import SipidPidfiles
from tests.support.codemod_case import assert_codemod, assert_unchanged, run_codemods

CM = SipidPidfiles()
SIPID = "/var/vcap/packages/sipid/bin/sipid"
GUARD = "source /var/vcap/packages/common/pid_utils.sh\npid_guard $PIDFILE w\n/bin/w &\n"


# -- spellings of the pid write ----------------------------------------------------------------------
@pytest.mark.parametrize("write", ['echo "${!}" > $PIDFILE', "echo ${!} > $PIDFILE", "echo -n $! > $PIDFILE",
                                   "printf '%d' $! > $PIDFILE", "printf '%d\\n' \"$!\" > $PIDFILE",
                                   'printf "%s" ${!} > $PIDFILE'])
def test_every_spelling_of_the_background_pid_is_the_same_shape(write: str) -> None:
    assert_codemod(CM, f"{GUARD}{write}\n", f'{GUARD}{SIPID} claim --pid "$!" --pid-file "$PIDFILE"\n')


@pytest.mark.parametrize("write", ['echo "${$}" > $PIDFILE', "printf '%d\\n' $$ > $PIDFILE",
                                   'echo -n "$$" > $PIDFILE'])
def test_every_spelling_of_the_script_pid_is_the_same_shape(write: str) -> None:
    assert_codemod(CM, f"{write}\nexec /bin/w\n", f'{SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1\nexec /bin/w\n')


@pytest.mark.parametrize("write", ["printf '%d %d' $$ $$ > $PIDFILE", 'echo "pid $$" > $PIDFILE',
                                   "echo $$ $! > $PIDFILE", "printf $$ > $PIDFILE"])
def test_writes_of_more_than_the_pid_are_not_pid_writes(write: str) -> None:
    assert_unchanged(CM, f"{write}\nexec /bin/w\n")


def test_a_pid_written_through_a_variable_is_claimed_and_the_variable_goes() -> None:
    outcome = assert_codemod(
        CM,
        """\
        case $1 in
        start)
          PIDNUM=$$
          mkdir -p $RUN_DIR
          echo "${PIDNUM}" > $PIDFILE
          exec /bin/w
          ;;
        esac
        """,
        f"""\
        case $1 in
        start)
          mkdir -p $RUN_DIR
          {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
          exec /bin/w
          ;;
        esac
        """,
    )
    assert any("removed 'PIDNUM=$$'" in m for m in outcome.messages("info"))


def test_a_pid_variable_read_elsewhere_stays() -> None:
    outcome = assert_codemod(
        CM,
        'pid=$$\necho $pid > $PIDFILE\necho "started $pid"\nexec /bin/w\n',
        f'pid=$$\n{SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1\necho "started $pid"\nexec /bin/w\n',
    )
    assert not any("removed" in m for m in outcome.messages())


def test_a_pid_variable_set_before_another_background_job_is_not_that_pid() -> None:
    assert_unchanged(CM, "/bin/a &\npid=$!\n/bin/b &\necho $pid > $PIDFILE\n")


# -- start-stop-daemon -------------------------------------------------------------------------------
@pytest.mark.parametrize("line", [
    "/sbin/start-stop-daemon --start --background --pidfile $PIDFILE --exec /bin/w",
    '/var/vcap/packages/start-stop-daemon*/start-stop-daemon --pidfile "$PIDFILE" --make-pidfile --start',
    "SSD=/sbin/start-stop-daemon",
])
def test_start_stop_daemon_in_any_spelling_leaves_the_script_with_one_finding(line: str) -> None:
    outcome = assert_unchanged(CM, f"echo $$ > $OTHER\n{line}\nkill $(cat $PIDFILE)\n")
    assert [(f.line, f.severity) for f in outcome.findings] == [(2, "info")]


def test_start_stop_daemon_in_a_comment_only_does_not_stop_the_rewrite() -> None:
    outcome = run_codemods([CM], "# was: start-stop-daemon --start\necho $$ > $PIDFILE\nexec /bin/w\n")
    assert f"{SIPID} claim" in outcome.text and "echo $$" not in outcome.text


# -- background start at the end of a control script's start ----------------------------------------
CTL = """\
#!/bin/bash
RUN_DIR=/var/vcap/sys/run/w
PIDFILE=$RUN_DIR/w.pid
case $1 in
  start)
    mkdir -p $RUN_DIR
    chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
      --port 8080 &

    echo $! > $PIDFILE

    ;;
  stop)
    kill -9 `cat $PIDFILE`
    rm -f $PIDFILE
    ;;
esac
exit 0
"""


def test_background_start_ending_the_start_becomes_claim_and_exec() -> None:
    outcome = run_codemods([CM], CTL)
    assert outcome.text.split("  stop)")[0] == f"""\
#!/bin/bash
RUN_DIR=/var/vcap/sys/run/w
PIDFILE=$RUN_DIR/w.pid
case $1 in
  start)
    mkdir -p $RUN_DIR
    {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
    exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
      --port 8080

    ;;
"""
    review = [m for m in outcome.messages("review") if "foreground" in m]
    assert review and "start now refuses" in review[0]


def test_background_start_in_a_function_the_start_calls_last() -> None:
    before = """\
        #!/bin/bash
        set -e
        function start_w() {
          mkdir -p /var/vcap/sys/run/w
          exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
            1>>/var/vcap/sys/log/w/w.log &

          echo $! > $PID_FILE
        }
        case $1 in
          start)
            start_w
            ;;
        esac
        exit 0
        """
    after = f"""\
        #!/bin/bash
        set -e
        function start_w() {{
          mkdir -p /var/vcap/sys/run/w
          {SIPID} claim --pid "$$" --pid-file "$PID_FILE"
          exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
            1>>/var/vcap/sys/log/w/w.log
        }}
        case $1 in
          start)
            start_w
            ;;
        esac
        exit 0
        """
    assert_codemod(CM, before, after)


def test_a_subshell_that_execs_in_the_background_becomes_the_exec() -> None:
    before = """\
        case $1 in
          start)
            pid_guard $PIDFILE w
            ulimit -n 65536
            (
            exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
              >>$LOG_DIR/w.log
            ) &
            echo $! > $PIDFILE
            ;;
        esac
        """
    after = f"""\
        case $1 in
          start)
            ulimit -n 65536
            {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
            exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
              >>$LOG_DIR/w.log
            ;;
        esac
        """
    outcome = assert_codemod(CM, before, after)
    review = [m for m in outcome.messages("review") if "foreground" in m]
    assert review and "refuses" not in review[0]  # the guard refused a second start already


@pytest.mark.parametrize("why,script", [
    ("code after it", "case $1 in\n  start)\n    /bin/w &\n    echo $! > $PIDFILE\n    wait_for_port 80\n    ;;\nesac\n"),
    ("not a start", "case $1 in\n  run)\n    /bin/w &\n    echo $! > $PIDFILE\n    ;;\nesac\n"),
    ("a trap", "trap 'rm -f $PIDFILE' EXIT\ncase $1 in\n  start)\n    /bin/w &\n    echo $! > $PIDFILE\n    ;;\nesac\n"),
    ("in a loop", "case $1 in\n  start)\n    for i in 1 2; do\n      /bin/w &\n      echo $! > $PIDFILE\n    done\n    ;;\nesac\n"),
    ("a function also called elsewhere",
     "go() {\n  /bin/w &\n  echo $! > $PIDFILE\n}\ncase $1 in\n  start)\n    go\n    ;;\n  restart)\n    go\n    echo again\n    ;;\nesac\n"),
])
def test_background_starts_that_cannot_become_an_exec_are_left_with_a_finding(why: str, script: str) -> None:
    outcome = assert_unchanged(CM, script)
    assert any("started before its pid is recorded" in m for m in outcome.messages("review")), why


#: cf-app-sd-release head bosh-dns-adapter_as_vcap.erb: exec'd by the control script's start, it
#: backgrounds the process, records it through a variable, and traps TERM to kill that pid
AS_VCAP_TRAP = """\
#!/bin/bash -eu
source /var/vcap/packages/sd-ctl-utils/ctl_util.sh
trap 'handle_orphaned_server bosh-dns-adapter ${pid}' TERM
/var/vcap/packages/bosh-dns-adapter/bin/bosh-dns-adapter -c "${CONF_DIR}"/config.json &
pid=$!
echo "${pid}" > "${PIDFILE}"
"""


def _left_background(script: str):
    outcome = assert_unchanged(CM, script)
    (found,) = [f for f in outcome.findings if "started before its pid is recorded" in f.message]
    return found


def test_a_background_start_left_for_its_trap_says_so_and_what_a_late_claim_would_do() -> None:
    found = _left_background(AS_VCAP_TRAP)
    # the pid write does follow the start (through pid=$!): the finding must not say otherwise
    assert "does not follow" not in found.message, found.message
    assert "trap on TERM (line 3) runs 'handle_orphaned_server bosh-dns-adapter ${pid}'" in found.message, found.message
    assert "would leave the process just started running" in found.message, found.message
    # the advice deals with the trap before proposing claim-then-exec
    assert found.suggestion.startswith("the trap is why"), found.suggestion
    assert "exec" in found.suggestion


def test_a_background_start_recorded_through_a_variable_says_that_is_why() -> None:
    found = _left_background("case $1 in\n  start)\n    /bin/w &\n    pid=$!\n    echo $pid > $PIDFILE\n    ;;\nesac\n")
    assert "does not follow" not in found.message, found.message
    assert "through 'pid=$!' (line 4)" in found.message, found.message


def test_a_background_start_outside_a_start_branch_says_so() -> None:
    found = _left_background("case $1 in\n  run)\n    /bin/w &\n    echo $! > $PIDFILE\n    ;;\nesac\n")
    assert "not in a control script's start) branch" in found.message, found.message


# -- findings match what happened ---------------------------------------------------------------------
def test_a_suppressed_pid_write_says_nothing_about_a_claim() -> None:
    outcome = assert_unchanged(CM, "echo $$ > $PIDFILE  # exemplar-migrate: ignore[sipid-pidfiles]\nexec /bin/w\n")
    assert [f.message for f in outcome.findings] == ["rewrite suppressed by comment"]


def test_a_suppressed_stop_says_nothing_about_sipid_kill() -> None:
    outcome = assert_unchanged(CM, "kill_and_wait $PIDFILE 25  # exemplar-migrate: ignore\n")
    assert not any("sipid kill" in m for m in outcome.messages())


def test_a_suppressed_claim_keeps_the_guard_too() -> None:
    before = """\
        source /var/vcap/packages/common/pid_utils.sh
        pid_guard $PIDFILE w
        echo $$ > $PIDFILE  # exemplar-migrate: ignore[sipid-pidfiles]
        exec /bin/w
        """
    assert_unchanged(CM, before)


def test_every_stop_rewrite_is_a_review_finding() -> None:
    outcome = run_codemods([CM], "source /var/vcap/packages/common/pid_utils.sh\nkill_and_wait $PIDFILE 20\n")
    assert f"{SIPID} kill" in outcome.text
    assert [m for m in outcome.messages("review") if "SIGQUIT" in m]
    assert not [m for m in outcome.messages("info") if "sipid kill" in m]


def test_a_second_pid_write_after_a_use_of_the_claimed_pidfile_is_left() -> None:
    # found by the property test: claiming again after 'rm -f' would put the rm before a claim
    outcome = run_codemods([CM], "echo $$ > $P\ncase $1 in\n  stop)\n    rm -f $P\n    echo $$ > $P\n    ;;\nesac\n",
                           dedent=False)
    assert outcome.text.count("sipid claim") == 1 and "    echo $$ > $P\n" in outcome.text
    assert any("is claimed on line 1 and used after that (line 4)" in m for m in outcome.messages("review"))
    assert not [f for f in outcome.findings if f.codemod == "engine"]


def test_a_suppressed_stop_keeps_the_helper_it_calls_and_the_start_is_still_rewritten() -> None:
    outcome = run_codemods([CM], """\
        source /var/vcap/packages/common/pid_utils.sh
        case $1 in
          start)
            pid_guard $P w
            echo $$ > $P
            exec /bin/w
            ;;
          stop)
            kill_and_wait $P  # exemplar-migrate: ignore
            ;;
        esac
        """)
    assert outcome.text.startswith("source /var/vcap/packages/common/pid_utils.sh\n")
    assert f'{SIPID} claim --pid "$$"' in outcome.text and "kill_and_wait $P  # exemplar-migrate: ignore" in outcome.text
    assert not [f for f in outcome.findings if f.codemod == "engine"]
    assert [f.line for f in outcome.findings if f.message == "rewrite suppressed by comment"] == [9]


def test_a_comment_after_a_stop_stays_on_a_line_of_its_own() -> None:
    outcome = run_codemods([CM], "case $1 in\n  stop)\n    kill_and_wait $P  # let it drain\n    ;;\nesac\n",
                           dedent=False)
    assert outcome.text.startswith("case $1 in\n  stop)\n    # let it drain\n    if [ -s \"$P\" ]; then\n")
