"""Before/after cases for the log-pipelines codemod, one shape each."""

from __future__ import annotations

from codemods.log_pipelines import KNOWN_SYSLOG_UTILS, LogPipelines
from tests.support.codemod_case import assert_codemod, assert_unchanged, run_codemods

CM = LogPipelines()


def test_whole_script_exec_fanout_one_line_each_stream() -> None:
    outcome = assert_codemod(
        CM,
        """\
        #!/bin/bash
        exec > >(tee -a >(logger -p user.info -t vcap.$(basename $0).stdout) | awk -W interactive '{ system("echo -n [$(date)]"); print " " $0 }' >> /var/vcap/sys/log/job/job.stdout.log)
        exec 2> >(tee -a >(logger -p user.error -t vcap.$(basename $0).stderr) | awk -W interactive '{ system("echo -n [$(date)]"); print " " $0 }' >> /var/vcap/sys/log/job/job.stderr.log)
        exec /var/vcap/packages/job/bin/job
        """,
        """\
        #!/bin/bash
        mkdir -p /var/vcap/sys/log/job
        exec >> /var/vcap/sys/log/job/job.stdout.log
        exec 2>> /var/vcap/sys/log/job/job.stderr.log
        exec /var/vcap/packages/job/bin/job
        """,
    )
    # syslog and the awk timestamps are gone from both streams: what the operator sees change (issue 9)
    review = outcome.messages("review")
    assert len(review) == 4 and all("no longer goes to syslog" in m or "lose the timestamp" in m for m in review), review


def test_backslash_continued_multi_line_fanout() -> None:
    assert_codemod(
        CM,
        """\
        exec > \\
          >(
            tee -a >(logger -p user.info -t vcap.$(basename $0).stdout) | \\
              awk -W interactive '{ gsub(/\\\\n/, ""); system("echo -n [$(date +\\"%Y\\")]"); print " " $0 }' \\
              >> $LOG_DIR/job.out.log
          )
        echo started
        """,
        """\
        mkdir -p $LOG_DIR
        exec >> $LOG_DIR/job.out.log
        echo started
        """,
    )


def test_fanout_on_the_main_process_keeps_continued_shape() -> None:
    assert_codemod(
        CM,
        """\
        mkdir -p $LOG_DIR
        exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
          -config /var/vcap/jobs/w/config/w.json \\
          1> >(tee -a ${LOG_DIR}/w.stdout.log | logger -p user.info -t vcap.w) \\
          2> >(tee -a ${LOG_DIR}/w.stderr.log | logger -p user.error -t vcap.w)
        """,
        """\
        mkdir -p $LOG_DIR
        exec chpst -u vcap:vcap /var/vcap/packages/w/bin/w \\
          -config /var/vcap/jobs/w/config/w.json \\
          1>> ${LOG_DIR}/w.stdout.log \\
          2>> ${LOG_DIR}/w.stderr.log
        """,
    )


def test_stdout_fanout_with_stderr_duplicated_into_it() -> None:
    assert_codemod(
        CM,
        'mkdir -p "$LOG_DIR"\nexec /bin/job > >(tee -a "$LOG_DIR/job.log" | logger -t job) 2>&1\n',
        'mkdir -p "$LOG_DIR"\nexec /bin/job >> "$LOG_DIR/job.log" 2>&1\n',
    )


def test_fanout_with_background_and_pid_capture_keeps_the_command_pid() -> None:
    assert_codemod(
        CM,
        "/bin/job 2> >(tee -a /var/vcap/sys/log/j/e.log | logger -t j) 1> >(tee -a /var/vcap/sys/log/j/o.log | logger -t j) &\necho $! > $PIDFILE\n",
        "mkdir -p /var/vcap/sys/log/j\n/bin/job 2>> /var/vcap/sys/log/j/e.log 1>> /var/vcap/sys/log/j/o.log &\necho $! > $PIDFILE\n",
    )


def test_pipeline_with_stderr_into_tee_and_logger() -> None:
    assert_codemod(
        CM,
        """\
        /bin/migrate 2>&1 | tee -a "$LOG_DIR/migrate.log" | logger -t migrate
        echo done
        """,
        """\
        mkdir -p "$LOG_DIR"
        /bin/migrate >> "$LOG_DIR/migrate.log" 2>&1
        echo done
        """,
    )


def test_pipe_and_ampersand_operator_carries_both_streams() -> None:
    assert_codemod(
        CM,
        "/bin/migrate |& tee -a /var/vcap/sys/log/j/m.log | logger -t m\necho ok\n",
        "mkdir -p /var/vcap/sys/log/j\n/bin/migrate >> /var/vcap/sys/log/j/m.log 2>&1\necho ok\n",
    )


def test_syslog_only_pipeline_in_a_ctl_script_goes_to_a_named_log_file() -> None:
    outcome = assert_codemod(
        CM,
        "/bin/report | logger -t vcap.report\necho ok\n",
        "mkdir -p /var/vcap/sys/log/job\n/bin/report >> /var/vcap/sys/log/job/job_ctl.stdout.log\necho ok\n",
    )
    assert any("went only to syslog" in m for m in outcome.messages("review"))


def test_syslog_only_stream_of_an_agent_hook_stays_on_its_stdout() -> None:
    outcome = assert_codemod(
        CM,
        "/bin/status | logger -t vcap.post-start\nexit 0\n",
        "/bin/status\nexit 0\n",
        script="bin/post-start",
        source="post-start.erb",
    )
    # a log destination an operator notices (syslog -> the agent's post-start log): review level
    assert any("BOSH agent" in m and "instead of syslog" in m for m in outcome.messages("review"))


def test_drain_stdout_to_syslog_is_left_alone() -> None:
    outcome = assert_unchanged(CM, "/bin/drain-it | logger -t drain\necho 0\n", script="bin/drain", source="drain")
    assert any("drain protocol" in m for m in outcome.messages("review"))


def test_prefixer_function_left_unused_is_removed() -> None:
    assert_codemod(
        CM,
        """\
        prepend_datetime() {
          awk -W interactive '{ system("echo -n [$(date +\\"%Y-%m-%d\\")]"); print " " $0 }'
        }

        exec > >(tee -a >(logger -t x) | prepend_datetime >> /var/vcap/sys/log/j/x.log)
        """,
        """\
        mkdir -p /var/vcap/sys/log/j
        exec >> /var/vcap/sys/log/j/x.log
        """,
    )


def test_prefixer_function_still_used_elsewhere_is_kept() -> None:
    before = """\
    prepend_datetime() {
      perl -ne 'use POSIX "strftime"; print strftime("[%Y] ", localtime), $_'
    }
    exec > >(tee -a >(logger -t x) | prepend_datetime >> /var/vcap/sys/log/j/x.log)
    /bin/other | prepend_datetime > /tmp/other.txt
    """
    outcome = run_codemods([CM], before)
    assert "prepend_datetime() {" in outcome.text
    assert "exec >> /var/vcap/sys/log/j/x.log" in outcome.text


def test_prefixer_whose_body_is_chosen_by_erb_is_removed_with_its_tags() -> None:
    assert_codemod(
        CM,
        """\
        stamp() {
        <% if p("fmt") == "perl" -%>
          perl -ne 'use POSIX "strftime"; print strftime("[%Y] ", localtime), $_'
        <% else -%>
          awk '{ print strftime("[%Y]") " " $0 }'
        <% end -%>
        }
        exec 2> >(stamp >> /var/vcap/sys/log/j/e.log)
        """,
        """\
        mkdir -p /var/vcap/sys/log/j
        exec 2>> /var/vcap/sys/log/j/e.log
        """,
    )


def test_sed_and_while_read_prefixers() -> None:
    assert_codemod(
        CM,
        """\
        exec > >(sed -u "s/^/[$(date +%F)] /" >> /var/vcap/sys/log/j/a.log)
        exec 2> >(while read -r line; do echo "$(date) $line"; done >> /var/vcap/sys/log/j/b.log)
        """,
        """\
        mkdir -p /var/vcap/sys/log/j
        exec >> /var/vcap/sys/log/j/a.log
        exec 2>> /var/vcap/sys/log/j/b.log
        """,
    )


def test_tee_output_to_sys_log_helper_from_the_release() -> None:
    helper = "/var/vcap/packages/common/syslog_utils.sh"
    assert_codemod(
        CM,
        """\
        source /var/vcap/packages/common/syslog_utils.sh
        tee_output_to_sys_log "${LOG_DIR}" "rep"
        exec /bin/rep
        """,
        """\
        mkdir -p "${LOG_DIR}"
        exec >> "${LOG_DIR}/rep.stdout.log"
        exec 2>> "${LOG_DIR}/rep.stderr.log"
        exec /bin/rep
        """,
        helpers={helper: KNOWN_SYSLOG_UTILS},
    )


def test_tee_output_to_sys_log_without_the_helper_source_uses_known_helper() -> None:
    outcome = run_codemods([CM], 'source /var/vcap/packages/x/syslog_utils.sh\ntee_output_to_sys_log "$LOG_DIR" api\n')
    assert outcome.text == 'mkdir -p "$LOG_DIR"\nexec >> "$LOG_DIR/api.stdout.log"\nexec 2>> "$LOG_DIR/api.stderr.log"\n'


def test_helper_source_kept_when_another_of_its_functions_is_used() -> None:
    helper_text = KNOWN_SYSLOG_UTILS + "\nfunction other_helper() { echo hi; }\n"
    outcome = run_codemods(
        [CM],
        'source /x/syslog_utils.sh\ntee_output_to_sys_log "$D" n\nother_helper\n',
        helpers={"/x/syslog_utils.sh": helper_text},
    )
    assert outcome.text.startswith("source /x/syslog_utils.sh\n")
    assert 'exec >> "$D/n.stdout.log"' in outcome.text


def test_inline_fanout_function_is_expanded_at_its_call_and_removed() -> None:
    assert_codemod(
        CM,
        """\
        log_to_files() {
          exec > >(tee -a >(logger -t x) >> "$1/x.out.log")
          exec 2> >(tee -a >(logger -t x) >> "$1/x.err.log")
        }
        log_to_files /var/vcap/sys/log/x
        exec /bin/x
        """,
        """\
        mkdir -p "/var/vcap/sys/log/x"
        exec >> "/var/vcap/sys/log/x/x.out.log"
        exec 2>> "/var/vcap/sys/log/x/x.err.log"
        exec /bin/x
        """,
    )


# -- left alone, with a finding ---------------------------------------------------------------
def test_two_files_for_one_stream_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, "exec > >(tee -a /var/vcap/sys/log/j/a.log /var/vcap/sys/log/j/b.log | logger)\n")
    assert any("several files" in m for m in outcome.messages("review"))


def test_unknown_stage_is_left_with_a_finding_and_line() -> None:
    outcome = assert_unchanged(CM, "echo hi\nexec > >(tee -a >(logger) | gzip >> /var/vcap/sys/log/j/a.log.gz)\n")
    finding = outcome.findings[0]
    assert finding.line == 2 and "unknown" in finding.message and finding.severity == "review"


def test_errexit_without_pipefail_keeps_pipeline_status() -> None:
    outcome = assert_unchanged(CM, "set -e\n/bin/migrate 2>&1 | tee -a /var/vcap/sys/log/j/m.log | logger\necho ok\n")
    assert any("set -e" in m for m in outcome.messages("review"))


def test_pipeline_as_last_command_would_change_exit_status() -> None:
    outcome = assert_unchanged(CM, "/bin/migrate 2>&1 | tee -a /var/vcap/sys/log/j/m.log | logger\n")
    assert any("exit status" in m for m in outcome.messages("review"))


def test_pipefail_makes_the_status_the_commands_own_already() -> None:
    assert_codemod(
        CM,
        "set -eo pipefail\n/bin/migrate 2>&1 | tee -a /var/vcap/sys/log/j/m.log | logger\n",
        "set -eo pipefail\nmkdir -p /var/vcap/sys/log/j\n/bin/migrate >> /var/vcap/sys/log/j/m.log 2>&1\n",
    )


def test_background_pipeline_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, "/bin/job 2>&1 | tee -a /var/vcap/sys/log/j/j.log | logger &\necho $! > /p\n")
    assert any("$!" in m for m in outcome.messages("review"))


def test_pipeline_in_a_condition_is_left_alone() -> None:
    outcome = assert_unchanged(CM, "if /bin/check | logger -t c; then echo ok; fi\n")
    assert outcome.messages("review")


def test_logger_dash_s_copies_to_stderr_so_is_unknown() -> None:
    assert_unchanged(CM, "exec > >(logger -s -t x)\n")


def test_hook_script_copy_to_inherited_output_is_kept() -> None:
    """A plain tee in a hook is already what the codemod aims at (the agent keeps its copy): no
    syslog or prefixer to take out, so nothing to say either."""
    outcome = assert_unchanged(CM, "exec > >(tee -a /var/vcap/sys/log/j/ps.log)\n", script="bin/pre-start", source="pre-start")
    assert not outcome.findings


def test_suppression_comment_keeps_the_line() -> None:
    outcome = assert_unchanged(CM, "exec > >(tee -a /var/vcap/sys/log/j/a.log | logger) # exemplar-migrate: ignore[log-pipelines]\n")
    assert any("suppressed" in m for m in outcome.messages("info"))


def test_suppression_for_another_codemod_does_not_apply() -> None:
    assert_codemod(
        CM,
        "exec > >(tee -a /var/vcap/sys/log/j/a.log | logger) # exemplar-migrate: ignore[sipid-pidfiles]\n",
        "mkdir -p /var/vcap/sys/log/j\nexec >> /var/vcap/sys/log/j/a.log # exemplar-migrate: ignore[sipid-pidfiles]\n",
    )


def test_erb_in_the_log_path_is_kept_verbatim() -> None:
    assert_codemod(
        CM,
        'exec > >(tee -a >(logger -t x) >> /var/vcap/sys/log/<%= name %>/x.log)\n',
        'mkdir -p /var/vcap/sys/log/<%= name %>\nexec >> /var/vcap/sys/log/<%= name %>/x.log\n',
    )


def test_no_plumbing_means_no_change_and_no_finding() -> None:
    outcome = assert_unchanged(CM, "exec /bin/job >> /var/vcap/sys/log/j/j.log 2>&1\n")
    assert outcome.findings == []


def test_second_run_is_a_no_op() -> None:
    once = run_codemods([CM], "exec > >(tee -a >(logger -t x) | awk '{print strftime() $0}' >> /l/x.log)\n")
    twice = run_codemods([CM], once.text, dedent=False)
    assert twice.text == once.text == "mkdir -p /l\nexec >> /l/x.log\n"


def test_log_folder_created_earlier_is_not_created_again() -> None:
    assert_codemod(
        CM,
        'mkdir -p "${LOG_DIR}" $RUN_DIR\nexec > >(tee -a $LOG_DIR/a.log | logger)\n',
        'mkdir -p "${LOG_DIR}" $RUN_DIR\nexec >> $LOG_DIR/a.log\n',
    )


def test_log_folder_made_only_in_another_case_arm_does_not_count() -> None:
    outcome = run_codemods(
        [CM],
        """\
        case $1 in
          start) mkdir -p $LOG_DIR ;;
        esac
        exec > >(tee -a $LOG_DIR/a.log | logger)
        """,
    )
    assert outcome.text.endswith("esac\nmkdir -p $LOG_DIR\nexec >> $LOG_DIR/a.log\n")


UTILS_WITH_SIDE_EFFECT = """\
LOG_DIR=/var/vcap/sys/log/legacy
mkdir -p $LOG_DIR
exec > >(tee -a >(logger -p user.info -t vcap.$(basename $0).stdout) | awk -W interactive '{ system("date"); print }' >> $LOG_DIR/$(basename $0).stdout.log)
exec 2> >(tee -a >(logger -p user.error -t vcap.$(basename $0).stderr) | awk -W interactive '{ system("date"); print }' >> $LOG_DIR/$(basename $0).stderr.log)

pid_guard() {
  echo guarding
}
"""


def test_sourcing_a_helper_only_for_its_fanout_becomes_plain_redirection() -> None:
    outcome = assert_codemod(
        CM,
        """\
        #!/bin/bash
        source /var/vcap/packages/common/utils.sh
        exec /bin/legacy
        """,
        """\
        #!/bin/bash
        mkdir -p /var/vcap/sys/log/legacy
        exec >> /var/vcap/sys/log/legacy/$(basename $0).stdout.log
        exec 2>> /var/vcap/sys/log/legacy/$(basename $0).stderr.log
        exec /bin/legacy
        """,
        helpers={"/var/vcap/packages/common/utils.sh": UTILS_WITH_SIDE_EFFECT},
    )
    assert any("only redirected output" in m for m in outcome.messages("info"))


def test_sourcing_a_helper_still_needed_keeps_the_line_with_a_finding() -> None:
    outcome = assert_unchanged(
        CM,
        """\
        #!/bin/bash
        source /var/vcap/packages/common/utils.sh
        pid_guard $PIDFILE legacy
        exec /bin/legacy
        """,
        helpers={"/var/vcap/packages/common/utils.sh": UTILS_WITH_SIDE_EFFECT},
    )
    [finding] = outcome.findings
    assert finding.line == 2 and "side effect" in finding.message and "pid_guard" in finding.message


def test_comment_describing_the_fanout_goes_with_it() -> None:
    assert_codemod(
        CM,
        """\
        mkdir -p $LOG_DIR
        # Fan stdout out to syslog and to a stamped file.
        exec > >(tee -a >(logger -t x) >> $LOG_DIR/x.log)
        # start the server
        exec /bin/x
        """,
        """\
        mkdir -p $LOG_DIR
        exec >> $LOG_DIR/x.log
        # start the server
        exec /bin/x
        """,
    )


def test_unrelated_comment_above_a_rewritten_statement_stays() -> None:
    assert_codemod(
        CM,
        "mkdir -p $D\n# keep the server's output\nexec > >(tee -a $D/x.log | logger)\n",
        "mkdir -p $D\n# keep the server's output\nexec >> $D/x.log\n",
    )


def test_a_misread_line_leaves_the_whole_script_alone_and_stays_idempotent() -> None:
    # found by the property test: tree-sitter reads the m3 line as arguments of `logger`; rewriting
    # the other statements (and dropping the unused fan-out function) changed the next parse, so a
    # second pass rewrote more and the engine refused the file as not idempotent
    before = (
        "#!/bin/bash\nLOG_DIR=/var/vcap/sys/log/job\nstamp() {\n"
        "  awk -W interactive '{ system(\"echo -n [$(date +%F)]\"); print \" \" $0 }'\n}\n"
        "tee_output_to_sys_log() {\n  declare log_dir=\"$1\"\n  declare log_name=\"$2\"\n"
        "  exec > >(tee -a >(logger -p user.info -t \"vcap.${log_name}.stdout\") | stamp "
        ">>\"${log_dir}/${log_name}.stdout.log\")\n"
        "  exec 2> >(tee -a >(logger -p user.error -t \"vcap.${log_name}.stderr\") | stamp "
        ">>\"${log_dir}/${log_name}.stderr.log\")\n}\n"
        "/var/vcap/packages/job/bin/job m1 2>&1 | tee /var/vcap/sys/log/job/t2.log | stamp | logger\n"
        "/var/vcap/packages/job/bin/job m3 > >(tee -a /var/vcap/sys/log/job/u.log | logger) extra\n"
        "# send output to syslog and a timestamped file\n"
        "/var/vcap/packages/job/bin/job m4 2>&1 | tee -a $LOG_DIR/p.log | logger -t vcap.job\n"
        "true\necho MARK-OUT end\n"
    )
    outcome = assert_unchanged(CM, before, dedent=False)
    assert not outcome.messages("error")
    assert any("past the end of its line" in m for m in outcome.messages("review"))
