"""sipid-pidfiles on the shapes the field releases still had left (issue 9): a stop under a
``set -e`` it may not see, kernel settings between a guard and the pid write, a library the
job ships in ``bin/``, guards of processes that write their own pidfile."""

from __future__ import annotations

from codemods.sipid_pidfiles import SipidPidfiles
from tests.support.codemod_case import assert_codemod, run_codemods

CM = SipidPidfiles()
SIPID = "/var/vcap/packages/sipid/bin/sipid"
STOP = 'kill $(cat "$PIDFILE")\n'
#: what follows sipid kill where set -e may be on: the test, and what its exit 1 means
ERREXIT = " || [ $? -eq 1 ]  # exit 1: no pid in the pidfile, nothing to stop"


def stop(tail: str) -> str:
    return (f'if [ -s "$PIDFILE" ]; then\n  {SIPID} kill --pid-file "$PIDFILE" --show-stacks{tail}\nfi\n'
            'rm -f "$PIDFILE"\n')


# -- the stop under set -e ---------------------------------------------------------------------------
def test_without_errexit_the_stop_needs_no_fallback() -> None:
    assert_codemod(CM, "#!/bin/bash\n" + STOP, "#!/bin/bash\n" + stop(""))


def test_under_set_e_sipid_kills_exit_1_does_not_end_the_stop_before_the_rm() -> None:
    assert_codemod(CM, "#!/bin/bash\nset -eu\n" + STOP, "#!/bin/bash\nset -eu\n" + stop(ERREXIT))


def test_the_exit_1_test_says_what_it_means_and_a_second_run_leaves_it() -> None:
    # reviewers stopped at the bare `|| [ $? -eq 1 ]`; the comment on that line answers them, and
    # the rewritten script read again (comment and all) is left exactly as it is
    once = run_codemods([CM], "#!/bin/bash\nset -e\n" + STOP)
    line = next(ln for ln in once.text.splitlines() if "sipid kill" in ln)
    assert line.endswith('--show-stacks || [ $? -eq 1 ]  # exit 1: no pid in the pidfile, nothing to stop'), line
    again = run_codemods([CM], once.text, dedent=False)
    assert again.text == once.text, again.text
    assert not again.findings, again.findings


def test_the_stop_to_write_by_hand_explains_its_exit_1_test_in_the_same_words() -> None:
    outcome = run_codemods([CM], "#!/bin/bash\nset -e\nkill -HUP $(cat $PIDFILE)\n")
    (suggestion,) = [f.suggestion for f in outcome.findings if f.suggestion and "sipid kill" in f.suggestion]
    assert suggestion.endswith('|| [ $? -eq 1 ]; fi; rm -f "$PIDFILE"  # sipid kill\'s exit 1: no pid in the pidfile, '
                               'nothing to stop'), suggestion


def test_a_set_e_switched_off_later_may_still_be_on_for_the_stop() -> None:
    # the +e may sit on another path (a function, a case arm): when in doubt, guard
    before = "#!/bin/bash\nset -e\nprep() {\n  set +e\n}\n" + STOP
    assert_codemod(CM, before, "#!/bin/bash\nset -e\nprep() {\n  set +e\n}\n" + stop(ERREXIT))


def test_a_dash_e_shebang_counts_for_the_stop() -> None:
    # run as monit runs it (./x_ctl stop), the shebang's -e is on
    assert_codemod(CM, "#!/bin/bash -e\n" + STOP, "#!/bin/bash -e\n" + stop(ERREXIT))


def test_errexit_from_a_sourced_helper_counts_for_the_stop() -> None:
    before = "#!/bin/bash\nsource /var/vcap/packages/x/env.sh\n" + STOP
    outcome = run_codemods([CM], before, helpers={"/var/vcap/packages/x/env.sh": "set -e\nFOO=1\n"})
    assert stop(ERREXIT) in outcome.text, outcome.text
    plain = run_codemods([CM], before, helpers={"/var/vcap/packages/x/env.sh": "FOO=1\n"})
    assert stop("") in plain.text, plain.text


# -- kernel settings between the guard and the pid write -------------------------------------------------
GUARDED_SYSCTL = """\
case $1 in
  start)
    pid_guard $PIDFILE search
    ulimit -n 65536
    sysctl -q -w vm.max_map_count=262144
    echo $$ > $PIDFILE
    exec /var/vcap/packages/search/bin/search
    ;;
esac
"""


def test_a_literal_kernel_setting_between_guard_and_pid_write_does_not_keep_the_guard() -> None:
    # a refused second start now sets the same kernel value the running one set: nothing changes
    outcome = assert_codemod(CM, GUARDED_SYSCTL, f"""\
case $1 in
  start)
    ulimit -n 65536
    sysctl -q -w vm.max_map_count=262144
    {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
    exec /var/vcap/packages/search/bin/search
    ;;
esac
""")
    assert not any("guard kept" in m for m in outcome.messages())


def test_a_kernel_setting_read_from_elsewhere_keeps_the_guard() -> None:
    # sysctl -p FILE loads whatever the file holds now: a refused start must not run it
    before = GUARDED_SYSCTL.replace("-q -w vm.max_map_count=262144", "-p /var/vcap/jobs/search/config/sysctl.conf")
    outcome = run_codemods([CM], before)
    assert "pid_guard $PIDFILE search" in outcome.text
    assert any("guard kept" in m and "sysctl -p" in m for m in outcome.messages())


def test_the_guards_removal_says_the_kernel_setting_runs_again_on_a_refused_start() -> None:
    outcome = run_codemods([CM], GUARDED_SYSCTL)
    said = [m for m in outcome.messages("info") if m.startswith("pid_guard removed")]
    assert said and "sysctl -q -w vm.max_map_count=262144' (line 5)" in said[0], outcome.messages()


# -- guards of processes that write their own pidfile ----------------------------------------------------
def _guard_finding(before: str, **kwargs) -> str:
    outcome = run_codemods([CM], before, **kwargs)
    assert "pid_guard $PIDFILE" in outcome.text
    found = [f for f in outcome.findings if f.severity == "review" and f.message.startswith("pid_guard kept: ")]
    assert len(found) == 1, outcome.messages()
    # one short sentence (it was 90 words): the reason, then why sipid cannot take the guard's place
    assert len(found[0].message.split()) <= 30, found[0].message
    assert found[0].message.endswith("; sipid has no check-only command"), found[0].message
    assert "sipid claim" in found[0].suggestion and "keep" in found[0].suggestion, found[0].suggestion
    return found[0].message


def test_a_guard_of_a_daemon_told_where_to_write_its_pid_names_that_command() -> None:
    message = _guard_finding("""\
case $1 in
  start)
    pid_guard $PIDFILE app
    cd /var/vcap/packages/app
    bundle exec puma --daemon --pidfile $PIDFILE -p 8080
    ;;
esac
""")
    assert message.startswith("pid_guard kept: 'bundle exec puma --daemon --pidfile $PIDFILE -p 8080' (line 5) "
                              "writes $PIDFILE itself;"), message
    assert "probably" not in message


def test_a_guard_of_a_pid_copied_from_another_file_names_the_copy() -> None:
    message = _guard_finding("""\
case $1 in
  start)
    pid_guard $PIDFILE db
    su - vcap -c "pg_ctl -w start -D /var/vcap/store/db"
    head -n 1 /var/vcap/store/db/postmaster.pid > $PIDFILE
    ;;
esac
""")
    assert "'head -n 1 /var/vcap/store/db/postmaster.pid > $PIDFILE' (line 5) writes $PIDFILE" in message, message


def test_a_guard_whose_pidfile_nothing_here_writes_says_the_process_must_write_it() -> None:
    message = _guard_finding("""\
case $1 in
  start)
    pid_guard $PIDFILE broker
    bundle exec unicorn --daemonize -c /var/vcap/jobs/broker/config/unicorn.rb
    ;;
esac
""")
    assert message.startswith("pid_guard kept: nothing in this script writes $PIDFILE, so the process does itself"), \
        message


def test_work_before_a_script_that_does_not_claim_is_not_given_as_the_reason() -> None:
    # the started script lets the database write the pidfile: the set-up before it is no reason
    start = "#!/bin/bash\nset -e\nsu - vcap -c 'pg_ctl -w start -D /var/vcap/store/db'\n"
    message = _guard_finding("""\
case $1 in
  start)
    pid_guard $PIDFILE db
    if [ ! -d $LOG_DIR ]; then
      mkdir -p $LOG_DIR
    fi
    exec /var/vcap/jobs/job/bin/db_start.sh
    ;;
esac
""", templates={"db_start.sh.erb": "bin/db_start.sh"}, files={"templates/db_start.sh.erb": start})
    assert "a refused second start must not do" not in message, message
    assert "nothing in this script writes $PIDFILE" in message, message


def test_a_suppressed_claim_keeps_the_guard_and_says_nothing_of_its_removal() -> None:
    before = GUARDED_SYSCTL.replace("echo $$ > $PIDFILE", "echo $$ > $PIDFILE  # exemplar-migrate: ignore")
    outcome = run_codemods([CM], before)
    assert outcome.text == before
    assert not any("pid_guard removed" in m or "refuses" in m for m in outcome.messages()), outcome.messages()
