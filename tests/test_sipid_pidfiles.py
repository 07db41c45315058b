"""Before/after cases for the sipid-pidfiles codemod, one shape each, and the shapes it leaves."""

from __future__ import annotations

import pytest

from codemods.sipid_pidfiles import SipidPidfiles
from migrator.codemod import Options, SpecChange
from tests.support.codemod_case import assert_codemod, assert_unchanged, run_codemods

CM = SipidPidfiles()
SIPID = "/var/vcap/packages/sipid/bin/sipid"


#: what follows sipid kill where set -e may be on (here, or in a helper whose text is unknown)
ERREXIT = " || [ $? -eq 1 ]  # exit 1: no pid in the pidfile, nothing to stop"


def kill_block(pidfile: str = '"$PIDFILE"', indent: str = "    ", tail: str = "") -> str:
    return (f"{indent}if [ -s {pidfile} ]; then\n"
            f"{indent}  {SIPID} kill --pid-file {pidfile} --show-stacks{tail}\n"
            f"{indent}fi\n"
            f"{indent}rm -f {pidfile}\n")


# -- start side ------------------------------------------------------------------------------------
def test_echo_pid_becomes_claim_that_exits_when_refused() -> None:
    outcome = assert_codemod(
        CM,
        """\
        mkdir -p $RUN_DIR
        chown -R vcap:vcap $RUN_DIR
        echo $$ > $PIDFILE
        exec chpst -u vcap:vcap /var/vcap/packages/job/bin/job
        """,
        f"""\
        mkdir -p $RUN_DIR
        chown -R vcap:vcap $RUN_DIR
        {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
        exec chpst -u vcap:vcap /var/vcap/packages/job/bin/job
        """,
    )
    assert outcome.result.result.spec_changes == [SpecChange("add_package", "sipid")]
    # a start that now refuses is a change an operator sees: review, not info (issue 9)
    assert any("refuses" in m for m in outcome.messages("review"))


def test_under_set_e_the_claim_needs_no_exit() -> None:
    assert_codemod(
        CM,
        "#!/bin/bash\nset -e\necho $$ > /var/vcap/sys/run/job/job.pid\nexec /bin/job\n",
        f'#!/bin/bash\nset -e\n{SIPID} claim --pid "$$" --pid-file "/var/vcap/sys/run/job/job.pid"\nexec /bin/job\n',
    )


def test_shebang_dash_e_does_not_count_as_set_e() -> None:
    # `bash router_ctl start` ignores the shebang's -e: the claim must stop the script itself
    assert_codemod(
        CM,
        '#!/bin/bash -e\necho "$$" > "${PIDFILE}"\n',
        f'#!/bin/bash -e\n{SIPID} claim --pid "$$" --pid-file "${{PIDFILE}}" || exit 1\n',
    )


def test_pid_guard_and_echo_become_one_claim_and_the_helper_source_goes() -> None:
    assert_codemod(
        CM,
        """\
        #!/bin/bash
        set -e
        source /var/vcap/packages/common/pid_utils.sh

        case $1 in
          start)
            pid_guard $PIDFILE "rep"
            mkdir -p $RUN_DIR
            chown -R vcap:vcap $RUN_DIR
            echo $$ > $PIDFILE
            exec chpst -u vcap:vcap /var/vcap/packages/rep/bin/rep
            ;;
          stop)
            kill_and_wait $PIDFILE
            ;;
        esac
        """,
        f"""\
        #!/bin/bash
        set -e

        case $1 in
          start)
            mkdir -p $RUN_DIR
            chown -R vcap:vcap $RUN_DIR
            {SIPID} claim --pid "$$" --pid-file "$PIDFILE"
            exec chpst -u vcap:vcap /var/vcap/packages/rep/bin/rep
            ;;
          stop)
            if [ -s "$PIDFILE" ]; then
              {SIPID} kill --pid-file "$PIDFILE" --show-stacks{ERREXIT}
            fi
            rm -f "$PIDFILE"
            ;;
        esac
        """,
    )


def test_hand_written_guard_with_kill_0_is_replaced_by_the_claim() -> None:
    assert_codemod(
        CM,
        """\
        mkdir -p /var/vcap/sys/run/w
        if [ -f "$PIDFILE" ] && kill -0 $(cat "$PIDFILE") 2>/dev/null; then
          echo "already running"
          exit 1
        fi
        echo $$ > "$PIDFILE"
        exec /bin/w
        """,
        f"""\
        mkdir -p /var/vcap/sys/run/w
        {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
        exec /bin/w
        """,
    )


def test_hand_written_guard_with_proc_check_and_stale_removal() -> None:
    assert_codemod(
        CM,
        """\
        if [ -f $PIDFILE ]; then
          PID=$(head -1 $PIDFILE)
          if [ -n "$PID" ] && [ -e /proc/$PID ]; then
            echo "running"; exit 1
          fi
          rm -f $PIDFILE
        fi
        echo $$ > $PIDFILE
        """,
        f"""\
        {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
        """,
    )


def test_guard_that_does_more_than_check_is_kept() -> None:
    outcome = run_codemods([CM], """\
        if [ -f $PIDFILE ] && kill -0 $(cat $PIDFILE); then
          notify-ops "double start"
          exit 1
        fi
        echo $$ > $PIDFILE
        """)
    assert "notify-ops" in outcome.text
    assert f'{SIPID} claim --pid "$$"' in outcome.text


def test_background_start_without_a_guard_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, "/bin/w &\necho $! > $PIDFILE\n")
    assert any("started before its pid is recorded" in m for m in outcome.messages("review"))


def test_background_start_behind_pid_guard_claims_the_background_pid() -> None:
    outcome = assert_codemod(
        CM,
        "source /var/vcap/packages/common/pid_utils.sh\npid_guard $PIDFILE w\n/bin/w &\necho $! > $PIDFILE\n",
        f'source /var/vcap/packages/common/pid_utils.sh\npid_guard $PIDFILE w\n/bin/w &\n'
        f'{SIPID} claim --pid "$!" --pid-file "$PIDFILE"\n',
    )
    assert any("guard before the start is kept" in m for m in outcome.messages("info"))


def test_appending_pids_is_a_multi_pid_file_left_alone() -> None:
    outcome = assert_unchanged(CM, """\
        echo $$ >> $PIDFILE
        kill $(cat $PIDFILE)
        """)
    assert any("several pids" in m for m in outcome.messages("review"))


def test_pid_guard_without_a_pid_write_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, "pid_guard $PIDFILE w\nexec /bin/w\n")
    assert any(m.startswith("pid_guard kept: ") for m in outcome.messages("review"))


# -- stop side -------------------------------------------------------------------------------------
def test_kill_cat_and_rm_become_guarded_sipid_kill() -> None:
    outcome = assert_codemod(
        CM,
        """\
        stop() {
          kill $(cat $PIDFILE)
          rm -f $PIDFILE
        }
        """,
        f"""\
        stop() {{
          if [ -s "$PIDFILE" ]; then
            {SIPID} kill --pid-file "$PIDFILE" --show-stacks
          fi
          rm -f "$PIDFILE"
        }}
        """,
    )
    # the stop now waits and may send SIGQUIT and SIGKILL: review, not info (issue 9)
    assert any("returned at once" in m for m in outcome.messages("review"))


def test_sigkill_only_with_backticks_says_term_comes_first() -> None:
    outcome = assert_codemod(CM, "kill -9 `cat $PIDFILE`\n", kill_block(indent=""))
    assert any("SIGKILL only" in m for m in outcome.messages("review"))


def test_pidfile_read_with_redirect_and_literal_path() -> None:
    assert_codemod(
        CM,
        "kill -TERM $(</var/vcap/sys/run/j/j.pid)\n",
        kill_block('"/var/vcap/sys/run/j/j.pid"', indent=""),
    )


def test_kill_and_wait_with_a_short_custom_timeout_reports_the_change() -> None:
    outcome = assert_codemod(CM, "kill_and_wait ${PIDFILE} 10\n", kill_block('"${PIDFILE}"', indent=""))
    assert any("from 10 s to sipid's fixed 20 s" in m for m in outcome.messages("review"))


def test_kill_and_wait_with_a_long_grace_is_the_authors_choice() -> None:
    outcome = assert_unchanged(CM, "kill_and_wait ${PIDFILE} 60\n")
    assert any("waits 60 s before SIGKILL" in m and "left unchanged" in m for m in outcome.messages("review"))


def test_kill_and_wait_without_sigkill_is_left_alone() -> None:
    outcome = assert_unchanged(CM, "kill_and_wait $PIDFILE 25 0\n")
    assert any("never sends SIGKILL" in m for m in outcome.messages("review"))


def test_grace_and_kill_flag_are_read_through_variables() -> None:
    outcome = assert_unchanged(CM, """\
        timeout=1
        sigkill_on_timeout=0
        kill_and_wait $PIDFILE $timeout $sigkill_on_timeout
        """)
    assert any("waits 1 s and never sends SIGKILL" in m for m in outcome.messages("review"))
    outcome = assert_unchanged(CM, "GRACE=300\nkill_and_wait $PIDFILE \"${GRACE}\"\n")
    assert any("waits 300 s" in m for m in outcome.messages("review"))


def test_a_grace_the_tool_cannot_read_is_left_alone() -> None:
    outcome = assert_unchanged(CM, 'kill_and_wait $PIDFILE <%= p("job.grace") %>\n')
    assert any("cannot read" in m for m in outcome.messages("review"))


def test_kill_and_wait_default_timeout_is_read_from_the_helper_in_the_release() -> None:
    helper = 'kill_and_wait() {\n  pidfile=$1\n  timeout=${2:-15}\n  kill $(cat $pidfile)\n}\n'
    outcome = assert_codemod(
        CM, "source /var/vcap/packages/x/utils.sh\nkill_and_wait $PIDFILE\n", kill_block(indent=""),
        helpers={"/var/vcap/packages/x/utils.sh": helper},
    )
    assert any("default 15 s" in m for m in outcome.messages())
    long_default = helper.replace("15", "40")
    outcome = assert_unchanged(CM, "source /var/vcap/packages/x/utils.sh\nkill_and_wait $PIDFILE\n",
                               helpers={"/var/vcap/packages/x/utils.sh": long_default})
    assert any("waits 40 s before SIGKILL" in m for m in outcome.messages("review"))


def test_kill_and_wait_that_exited_warns_about_code_after_it() -> None:
    outcome = run_codemods([CM], """\
        source /var/vcap/packages/common/pid_utils.sh
        case $1 in
          stop)
            kill_and_wait $PIDFILE
            ;;
        esac
        echo "stopped"
        """)
    assert any("ended the script with 'exit'" in m and "line 7" in m for m in outcome.messages("review"))


@pytest.mark.parametrize("tail", ["exit 0\n", "\n# done\nexit\n", "", "  # the end\n\n"])
def test_kill_and_wait_that_exited_gives_no_warning_when_only_exit_0_follows(tail: str) -> None:
    # elasticsearch head bin/ctl: 'esac' then 'exit 0' (line 57) ran nothing the old stop skipped
    outcome = run_codemods([CM], """\
        source /var/vcap/packages/common/pid_utils.sh
        case $1 in
          stop)
            if [ -n "$PIDFILE" ]; then
              kill_and_wait $PIDFILE
            fi
            ;;
          *)
            echo "Usage: ctl {start|stop}" ;;
        esac
        """ + tail)
    assert "sipid kill" in outcome.text
    assert not any("ended the script" in m for m in outcome.messages()), outcome.messages()


def test_kill_and_wait_that_exited_still_warns_when_the_exit_status_differs() -> None:
    outcome = run_codemods([CM], """\
        source /var/vcap/packages/common/pid_utils.sh
        case $1 in
          stop)
            kill_and_wait $PIDFILE
            ;;
        esac
        # the end
        exit 1
        """)
    assert any("ended the script with 'exit'" in m and "line 8" in m for m in outcome.messages("review"))


def test_term_poll_kill_loop_in_a_pidfile_guard_becomes_one_block() -> None:
    outcome = assert_codemod(
        CM,
        """\
        if [ -f "$PIDFILE" ]; then
          PID=$(<"$PIDFILE")
          kill -TERM $PID
          for i in $(seq 1 30); do
            if ! kill -0 $PID 2>/dev/null; then
              break
            fi
            sleep 1
          done
          kill -9 $PID 2>/dev/null || true
          rm -f "$PIDFILE"
        fi
        """,
        kill_block(indent=""),
    )
    assert any("from about 30 s" in m for m in outcome.messages("review"))


def test_proc_poll_loop_that_never_gives_up_is_the_authors_choice() -> None:
    """A stop that waits without limit never SIGKILLs: sipid would, after 20 s, so it stays."""
    outcome = assert_unchanged(
        CM,
        """\
        PID=`cat $PIDFILE`
        kill $PID
        while [ -e /proc/$PID ]; do
          sleep 0.5
        done
        echo "stopped"
        """,
    )
    assert any("without limit" in m and "left unchanged" in m for m in outcome.messages("review"))


def test_countdown_loop_with_kill_inside() -> None:
    """TRIES=20 counted down with a 1 s sleep is a 20 s grace ending in SIGKILL: sipid's own."""
    outcome = assert_codemod(
        CM,
        """\
        PID=$(cat $PIDFILE)
        kill $PID
        TRIES=20
        while kill -0 $PID 2>/dev/null; do
          TRIES=$((TRIES-1))
          if [ $TRIES -le 0 ]; then
            kill -9 $PID
            break
          fi
          sleep 1
        done
        """,
        kill_block(indent=""),
    )
    assert not any("changes from" in m for m in outcome.messages())
    longer = assert_unchanged(CM, "PID=$(cat $PIDFILE)\nkill $PID\nTRIES=90\nwhile kill -0 $PID; do\n"
                                  "  TRIES=$((TRIES-1))\n  if [ $TRIES -le 0 ]; then kill -9 $PID; break; fi\n"
                                  "  sleep 1\ndone\n")
    assert any("waits 90 s before SIGKILL" in m for m in longer.messages("review"))


def test_pid_variable_used_after_the_stop_keeps_the_code() -> None:
    outcome = assert_unchanged(CM, """\
        PID=$(cat $PIDFILE)
        kill $PID
        echo "stopped $PID"
        """)
    assert outcome.findings == [] or all("sipid" not in m for m in outcome.messages())


def test_loop_over_the_pids_of_a_file_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, """\
        for pid in $(cat $PIDFILE); do
          kill $pid
        done
        """)
    assert any("loop over the pids" in m for m in outcome.messages("review"))


def test_wait_pidfile_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, "wait_pidfile $PIDFILE\n")
    assert any("wait_pidfile has no sipid equivalent" in m for m in outcome.messages("review"))


def test_start_stop_daemon_scripts_are_left_alone_and_say_so() -> None:
    # issue 9: they used to be left silently; the finding says why and that nothing needs doing
    outcome = assert_unchanged(CM, """\
        start-stop-daemon --start --pidfile $PIDFILE --exec /bin/w
        kill $(cat $PIDFILE)
        """)
    assert [(f.line, f.severity) for f in outcome.findings] == [(1, "info")]
    assert "start-stop-daemon, which keeps the pidfile itself" in outcome.findings[0].message
    assert "nothing to do" in (outcome.findings[0].suggestion or "")


def test_kill_of_another_signal_is_not_a_stop() -> None:
    assert_unchanged(CM, "kill -HUP $(cat $PIDFILE)\n")


def test_a_stop_by_sigint_names_the_signal_sipid_cannot_send() -> None:
    outcome = assert_unchanged(CM, "case $1 in\n  stop)\n    kill -INT $(cat $PIDFILE)\n    ;;\nesac\n")
    assert any("sends SIGINT to the pid in $PIDFILE, which sipid kill never sends" in m
               for m in outcome.messages("review"))


# -- helpers ---------------------------------------------------------------------------------------
def test_utils_sh_with_output_side_effect_is_kept_with_a_note() -> None:
    outcome = assert_codemod(
        CM,
        "source /var/vcap/packages/common/utils.sh\nkill_and_wait $PIDFILE\n",
        "source /var/vcap/packages/common/utils.sh\n" + kill_block(indent="", tail=ERREXIT),
    )
    assert any("does more than define functions" in m for m in outcome.messages("info"))


def test_helper_source_kept_while_another_function_is_used() -> None:
    outcome = run_codemods([CM], """\
        source /var/vcap/packages/common/pid_utils.sh
        if running_in_container; then exit 0; fi
        kill_and_wait $PIDFILE
        """)
    assert outcome.text.startswith("source /var/vcap/packages/common/pid_utils.sh\n")
    assert any("still uses running_in_container" in m for m in outcome.messages("info"))


def test_helper_read_from_the_release_decides() -> None:
    helper = "pid_guard() { :; }\nkill_and_wait() { :; }\nlog_it() { :; }\n"
    outcome = run_codemods([CM], "source /var/vcap/packages/c/pid_utils.sh\nlog_it hi\nkill_and_wait $P\n",
                           helpers={"/var/vcap/packages/c/pid_utils.sh": helper})
    assert "source /var/vcap/packages/c/pid_utils.sh" in outcome.text


def test_ctl_setup_is_kept_for_its_side_effects() -> None:
    outcome = run_codemods([CM], """\
        source /var/vcap/jobs/j/helpers/ctl_setup.sh 'j'
        case $1 in
          start)
            pid_guard $PIDFILE $JOB_NAME
            echo $$ > $PIDFILE
            exec /bin/j
            ;;
          stop)
            kill_and_wait $PIDFILE
            ;;
        esac
        """)
    assert "source /var/vcap/jobs/j/helpers/ctl_setup.sh 'j'" in outcome.text
    assert "pid_guard" not in outcome.text and "kill_and_wait" not in outcome.text


def test_a_helper_inlined_in_the_script_is_not_rewritten_from_inside() -> None:
    outcome = run_codemods([CM], """\
        kill_and_wait() {
          kill $(cat $1)
          rm -f $1
        }
        kill_and_wait $PIDFILE
        """)
    assert "kill $(cat $1)" in outcome.text


def test_a_job_helper_template_sourced_by_other_scripts_is_not_rewritten() -> None:
    assert_unchanged(
        CM, "kill_and_wait() {\n  kill $(cat $1)\n}\nstop() {\n  kill $(cat $PIDFILE)\n}\n",
        source="helpers/ctl_utils.sh", script="helpers/ctl_utils.sh",
        files={"templates/ctl.erb": "source /var/vcap/jobs/job/helpers/ctl_utils.sh\n"},
    )


def test_the_sipid_path_is_configurable() -> None:
    assert_codemod(
        CM, "set -e\necho $$ > $P\n", 'set -e\n/opt/sipid claim --pid "$$" --pid-file "$P"\n',
        options=Options(sipid_path="/opt/sipid"),
    )


def test_second_run_changes_nothing() -> None:
    first = run_codemods([CM], "echo $$ > $P\nkill $(cat $P)\nrm -f $P\n")
    assert_unchanged(CM, first.text, dedent=False)


def test_suppression_comment_keeps_the_line() -> None:
    assert_unchanged(CM, "kill $(cat $P)  # exemplar-migrate: ignore[sipid-pidfiles]\n")


def test_messages_inside_the_stop_logic_are_kept_before_the_kill() -> None:
    assert_codemod(
        CM,
        """\
        if [ -f $PIDFILE ]; then
          echo "Stopping"
          kill $(cat $PIDFILE)
          rm -f $PIDFILE
        fi
        """,
        f"""\
        if [ -f "$PIDFILE" ]; then
          echo "Stopping"
          if [ -s "$PIDFILE" ]; then
            {SIPID} kill --pid-file "$PIDFILE" --show-stacks
          fi
          rm -f "$PIDFILE"
        fi
        """,
    )


def test_a_kill_in_a_shape_not_rewritten_gets_a_finding() -> None:
    outcome = assert_unchanged(CM, "kill $(cat $PIDFILE) && rm -f $PIDFILE\n")
    assert any("does not rewrite safely" in m for m in outcome.messages("review"))


def test_a_liveness_probe_alone_is_not_reported() -> None:
    outcome = assert_unchanged(CM, "if kill -0 $(cat $PIDFILE); then echo up; fi\n")
    assert outcome.findings == []


def test_pid_guard_stays_when_real_work_happens_before_the_pid_write() -> None:
    outcome = assert_codemod(
        CM,
        """\
        pid_guard $PIDFILE job
        rm -rf /var/vcap/data/job/cache
        mkdir -p $RUN_DIR
        echo $$ > $PIDFILE
        """,
        f"""\
        pid_guard $PIDFILE job
        rm -rf /var/vcap/data/job/cache
        mkdir -p $RUN_DIR
        {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
        """,
    )
    assert any("guard kept" in m and "rm -rf" in m for m in outcome.messages("info"))


def test_removing_the_only_statement_of_a_body_leaves_a_colon() -> None:
    assert_codemod(
        CM,
        "if [ -f $PIDFILE ]; then\n  pid_guard $PIDFILE job\nfi\necho $$ > $PIDFILE\n",
        f'if [ -f $PIDFILE ]; then\n  :\nfi\n{SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1\n',
    )


def test_a_stop_sequence_joined_by_a_removal_is_found_in_the_same_run() -> None:
    outcome = assert_codemod(
        CM,
        "PID=$(<$PIDFILE)\nsource /var/vcap/packages/common/pid_utils.sh\nkill -TERM $PID\nkill_and_wait $PIDFILE\n",
        # the first stop is found once the helper's source line went: no helper can set -e for it
        kill_block(indent="") + kill_block(indent="", tail=ERREXIT),
    )
    assert {f.line for f in outcome.findings} == {1, 2, 4}  # 2: the helper source line went


def test_the_claim_moves_after_folder_set_up_that_followed_the_pid_write() -> None:
    outcome = assert_codemod(
        CM,
        """\
        case $1 in
          start)
            pid_guard $PIDFILE job
            echo $$ > $PIDFILE
            mkdir -p $RUN_DIR $LOG_DIR
            chown -R vcap:vcap $RUN_DIR $LOG_DIR
            exec /bin/job
            ;;
        esac
        """,
        f"""\
        case $1 in
          start)
            mkdir -p $RUN_DIR $LOG_DIR
            chown -R vcap:vcap $RUN_DIR $LOG_DIR
            {SIPID} claim --pid "$$" --pid-file "$PIDFILE" || exit 1
            exec /bin/job
            ;;
        esac
        """,
    )
    assert any("after the folder set-up" in m for m in outcome.messages("info"))


def test_stop_logic_with_erb_control_tags_inside_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, """\
        PID=$(cat $PIDFILE)
        kill $PID
        <% if p("job.force") %>
        kill -9 $PID
        <% end %>
        """)
    assert any("ERB control tags" in m for m in outcome.messages("review"))


def test_erb_output_in_the_pidfile_path_is_kept_verbatim() -> None:
    assert_codemod(
        CM,
        'set -e\necho $$ > <%= p("job.pidfile") %>\nkill `cat <%= p("job.pidfile") %>`\n',
        f'set -e\n{SIPID} claim --pid "$$" --pid-file <%= p("job.pidfile") %>\n'
        f'if [ -s <%= p("job.pidfile") %> ]; then\n'
        f'  {SIPID} kill --pid-file <%= p("job.pidfile") %> --show-stacks{ERREXIT}\nfi\nrm -f <%= p("job.pidfile") %>\n',
    )


def test_the_claim_does_not_move_into_an_erb_conditional() -> None:
    outcome = run_codemods([CM], """\
        set -e
        echo $$ > $PIDFILE
        <% if p("job.extra_dir") -%>
        mkdir -p /var/vcap/store/job/extra
        <% end -%>
        exec /bin/job
        """)
    assert outcome.text.splitlines()[1] == f'{SIPID} claim --pid "$$" --pid-file "$PIDFILE"'


def test_removing_a_helper_judged_by_its_known_contents_says_so() -> None:
    outcome = run_codemods([CM], "source /var/vcap/packages/x/pid_utils.sh\nkill_and_wait $P\n")
    assert "source" not in outcome.text
    assert any("known to define" in m for m in outcome.messages("info"))


def test_a_kill_0_loop_without_a_pidfile_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, "PID=$(pgrep -f worker)\nwhile kill -0 $PID; do sleep 1; done\n")
    assert any("waits on a pid not read from a pidfile" in m for m in outcome.messages("info"))


def test_a_stop_whose_pidfile_variable_only_the_start_sets_is_left() -> None:
    # mesos-style: setup_env() sets PID_FILE and only start calls it; the stop never had a pidfile
    outcome = assert_unchanged(CM, """\
        set -u
        setup_env() {
          PID_FILE=/var/vcap/sys/run/w/w.pid
        }
        stop_w() {
          kill `cat $PID_FILE`
        }
        case $1 in
          start)
            setup_env
            exec /bin/w
            ;;
          stop)
            stop_w
            ;;
        esac
        """)
    assert any("PID_FILE is set only in setup_env, which the stop does not run" in m
               for m in outcome.messages("review"))


def test_a_stop_that_runs_the_function_setting_the_pidfile_is_rewritten() -> None:
    outcome = run_codemods([CM], """\
        setup_env() {
          PID_FILE=/var/vcap/sys/run/w/w.pid
        }
        case $1 in
          stop)
            setup_env
            kill `cat $PID_FILE`
            ;;
        esac
        """)
    assert f"{SIPID} kill" in outcome.text


def test_a_stop_by_sigquit_is_the_authors_graceful_stop() -> None:
    # unicorn: QUIT is the graceful shutdown, TERM (what sipid sends first) the quick one
    outcome = assert_unchanged(CM, "case $1 in\n  stop)\n    kill -QUIT `cat $PIDFILE`\n    ;;\nesac\n")
    assert any("stop with SIGQUIT, not SIGTERM" in m for m in outcome.messages("review"))
    assert not any("sent SIGTERM" in m for m in outcome.messages())


def test_term_then_kill_without_a_wait_is_said_as_it_was() -> None:
    outcome = run_codemods([CM], "PID=$(cat $PIDFILE)\nkill $PID\nkill -9 $PID\nrm -f $PIDFILE\n")
    assert f"{SIPID} kill" in outcome.text
    notes = [m for m in outcome.messages("review") if "replaced by sipid kill" in m]
    assert notes and "SIGTERM and SIGKILL without waiting in between" in notes[0]
    assert "returned at once" not in notes[0]


def test_an_env_file_another_codemod_adds_does_not_change_that_answer() -> None:
    # erb-to-config adds 'source .../config/job_ctl.env' (a file the tool cannot read yet): the
    # second pass must decide as the first did, or the engine refuses the rewrite as not idempotent
    from codemods import REGISTRY

    outcome = run_codemods([c() for c in REGISTRY], """\
        #!/bin/bash
        setup_env() {
          PID_FILE=/var/vcap/sys/run/w/w.pid
        }
        start_w() {
          exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w --port <%= p("w.port") %> &
          echo $! > $PID_FILE
        }
        case $1 in
          start)
            setup_env
            start_w
            ;;
          stop)
            kill `cat $PID_FILE`
            ;;
        esac
        """, properties={"w.port": {"default": 80}})
    assert not [f for f in outcome.findings if f.codemod == "engine"], outcome.findings
    assert f'{SIPID} claim --pid "$$"' in outcome.text and "kill `cat $PID_FILE`" in outcome.text


def test_a_pidfile_written_with_both_the_background_and_the_own_pid_is_left_alone() -> None:
    """Found by the property test: which pid a claim would stand for depends on the path taken, and
    the ``rm`` between the writes would end up before the claim (the gate refused the rewrite)."""
    outcome = assert_unchanged(CM, "echo $! > $PIDFILE\nrm -f $PIDFILE\necho $$ > $PIDFILE\n")
    assert any("both $$ and $!" in m for m in outcome.messages("review"))
    assert not [f for f in outcome.findings if f.codemod == "engine"]
