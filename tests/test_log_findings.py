"""What log-pipelines tells the operator about a rewrite: every change an operator would notice in
the log lines themselves (their timestamp is gone, syslog no longer gets them) is a review finding,
whatever shape the plumbing had (issue 9, Findings; the maintainer's review S1 and S5)."""

from __future__ import annotations

import textwrap

import pytest

from codemods.log_pipelines import KNOWN_SYSLOG_UTILS, LogPipelines
from tests.support.codemod_case import run_codemods

CM = LogPipelines()
LOG = "/var/vcap/sys/log/web"

#: timestamp prefixers in the shapes the codemod takes out, each as one pipeline stage
STAGES = {
    "awk-strftime": "awk '{ print strftime(\"%Y-%m-%d %H:%M:%S\"), $0; fflush() }'",
    "awk-date": "awk -W interactive '{ system(\"echo -n [$(date +%FT%T%z)]\"); print \" \" $0 }'",
    "perl": "perl -MPOSIX -pe 'print strftime(\"[%F %T] \", localtime)'",
    "sed": "sed -u \"s/^/$(date +%H:%M) /\"",
    "while-read": 'while read -r row; do echo "$(date -u +%FT%TZ) $row"; done',
    "ts": "ts '[%Y-%m-%d %H:%M:%S]'",
    "ts-bare": "ts",  # moreutils' ts prepends its default timestamp with no format given
}


def stamp_findings(outcome) -> list[str]:
    return [m for m in outcome.messages("review") if "timestamp" in m and "log forwarder" in m]


@pytest.mark.parametrize("stage", list(STAGES), ids=list(STAGES))
def test_a_prefixer_stage_dropped_with_the_file_kept_is_a_review_finding(stage: str) -> None:
    outcome = run_codemods([CM], f"mkdir -p {LOG}\nexec > >({STAGES[stage]} >> {LOG}/web.log)\nexec /bin/web\n")
    assert outcome.text == f"mkdir -p {LOG}\nexec >> {LOG}/web.log\nexec /bin/web\n", outcome.text
    found = stamp_findings(outcome)
    assert len(found) == 1, outcome.findings
    assert "stdout" in found[0]
    assert STAGES[stage].split()[0] in found[0]  # names what did the prepending
    assert "the prefixer goes with the fan-out, and neither bpm nor monit adds one" in found[0], found


def test_a_prefixer_function_between_saved_streams_is_named_in_the_finding() -> None:
    """The bpm-run shape: the function stamps each line and hands it back to the saved stream."""
    outcome = run_codemods([CM], textwrap.dedent("""\
        #!/usr/bin/env bash
        set -eo pipefail

        stamp_lines() {
            awk -W interactive '{ system("echo -n [$(date +%FT%T%z)]"); print " " $0 }'
        }

        exec 3>&1 4>&2 1> >(stamp_lines >&3) 2> >(stamp_lines >&4)

        exec /var/vcap/packages/web/bin/web
        """), script="bin/web", source="bin/web")
    assert "stamp_lines" not in outcome.text and "exec 3>&1" not in outcome.text, outcome.text
    found = stamp_findings(outcome)
    # one finding for the statement, naming both streams (was one per redirect: 14 on gk-kong)
    assert len(found) == 1 and found[0].startswith("stdout and stderr lines lose"), outcome.findings
    assert "stamp_lines" in found[0] and "neither bpm nor monit adds one" in found[0], found
    assert "fan-out" not in found[0]  # there is none here: the prefixer hands lines back to the saved streams


def test_a_hook_whose_output_the_agent_reads_still_hears_about_the_lost_timestamp() -> None:
    outcome = run_codemods([CM], f"exec > >({STAGES['awk-strftime']})\necho seeded\n",
                           script="bin/pre-start", source="pre-start.erb")
    assert outcome.text == "echo seeded\n", outcome.text
    assert len(stamp_findings(outcome)) == 1, outcome.findings


def test_a_statement_piped_through_a_prefixer_into_a_file() -> None:
    outcome = run_codemods([CM], f"mkdir -p {LOG}\n/bin/migrate 2>&1 | {STAGES['perl']} | tee -a {LOG}/migrate.log\necho done\n",
                           script="bin/migrate", source="migrate.erb")
    assert "perl" not in outcome.text, outcome.text
    assert len(stamp_findings(outcome)) == 1, outcome.findings


def test_the_syslog_helper_call_names_its_lost_timestamps() -> None:
    """The known syslog_utils.sh stamps both files through its own perl function."""
    outcome = run_codemods([CM], 'source /var/vcap/packages/x/syslog_utils.sh\ntee_output_to_sys_log "$LOG_DIR" web\n',
                           helpers={"/var/vcap/packages/x/syslog_utils.sh": KNOWN_SYSLOG_UTILS})
    assert "tee_output_to_sys_log" not in outcome.text, outcome.text
    found = stamp_findings(outcome)
    assert len(found) == 1, outcome.findings  # one call, one rewrite: both streams in one finding
    assert "stdout and stderr lines" in found[0] and "prepend_datetime" in found[0], found


def test_no_timestamp_finding_where_nothing_was_prepended() -> None:
    outcome = run_codemods([CM], f"mkdir -p {LOG}\nexec > >(tee -a {LOG}/web.log | logger -t web)\n")
    assert outcome.text == f"mkdir -p {LOG}\nexec >> {LOG}/web.log\n", outcome.text
    assert not [m for m in outcome.messages() if "timestamp" in m], outcome.findings


# -- a stream that reached syslog and no longer does ------------------------------------------

def syslog_findings(outcome, severity: str) -> list[str]:
    return [m for m in outcome.messages(severity) if "syslog" in m]


def test_a_control_script_stream_kept_in_its_file_but_no_longer_in_syslog_is_review() -> None:
    outcome = run_codemods([CM], textwrap.dedent(f"""\
        mkdir -p {LOG}
        exec /bin/web \\
          1> >(tee -a {LOG}/web.out.log | logger -p user.info -t web) \\
          2> >(tee -a {LOG}/web.err.log | logger -p user.error -t web)
        """), script="bin/web_as_vcap", source="web_as_vcap.erb")
    assert "logger" not in outcome.text, outcome.text
    assert len(syslog_findings(outcome, "review")) == 2, outcome.findings
    assert not syslog_findings(outcome, "info"), outcome.findings


def test_the_syslog_helper_call_says_at_review_level_that_syslog_is_gone() -> None:
    outcome = run_codemods([CM], 'source /var/vcap/packages/x/syslog_utils.sh\ntee_output_to_sys_log "$LOG_DIR" web\n',
                           helpers={"/var/vcap/packages/x/syslog_utils.sh": KNOWN_SYSLOG_UTILS})
    assert len([m for m in syslog_findings(outcome, "review") if "no longer goes to syslog" in m]) == 2, outcome.findings


def test_an_errand_that_keeps_its_stdout_but_loses_syslog_is_review() -> None:
    outcome = run_codemods([CM], "exec > >(tee >(logger -t seed))\necho seeded\n",
                           script="bin/run", source="run.erb")
    assert outcome.text == "echo seeded\n", outcome.text
    assert len(syslog_findings(outcome, "review")) == 1, outcome.findings


# -- the log folder made by a helper the script sources (review S4) ---------------------------

def run_with_helper(script: str, helper: str, name: str = "prepare_logs"):
    return run_codemods([CM], textwrap.dedent(script), script="bin/web_ctl", source="web_ctl.erb",
                        templates={name: f"bin/{name}"}, files={f"templates/{name}": textwrap.dedent(helper)})


def test_no_mkdir_after_a_helper_sourced_by_bare_name_that_makes_the_folder() -> None:
    outcome = run_with_helper("""\
        set -e
        . prepare_logs
        exec 1> >(tee -a "${WEB_LOGS:?not set}/start.log") 2>&1
        exec /bin/web
        """, """\
        set -e
        mkdir -p "${WEB_LOGS:?not set}"
        chown vcap "$WEB_LOGS"
        """)
    assert outcome.text == textwrap.dedent("""\
        set -e
        . prepare_logs
        exec 1>> "${WEB_LOGS:?not set}/start.log" 2>&1
        exec /bin/web
        """), outcome.text


def test_no_mkdir_after_a_helper_whose_own_variables_name_the_folder() -> None:
    outcome = run_with_helper("""\
        source /var/vcap/jobs/job/bin/prepare_logs
        exec > >(tee -a /var/vcap/sys/log/web/web.log | logger -t web)
        exec /bin/web
        """, """\
        ROOT=/var/vcap/sys/log
        mkdir -p $ROOT/web
        """)
    assert outcome.text == "source /var/vcap/jobs/job/bin/prepare_logs\nexec >> /var/vcap/sys/log/web/web.log\nexec /bin/web\n", \
        outcome.text


@pytest.mark.parametrize("helper", [
    'if [ -n "$FRESH" ]; then\n  mkdir -p /var/vcap/sys/log/web\nfi\n',  # only sometimes
    "make_logs() {\n  mkdir -p /var/vcap/sys/log/web\n}\n",  # a function the script never calls
    "mkdir -p /var/vcap/sys/log/other\n",  # another folder
    "[ -d /var/vcap/sys/log ] || exit 0\nmkdir -p /var/vcap/sys/log/web\n",  # may stop before it
], ids=["conditional", "uncalled-function", "other-folder", "early-exit"])
def test_the_mkdir_stays_when_the_helper_may_not_make_the_folder(helper: str) -> None:
    outcome = run_with_helper("""\
        . prepare_logs
        exec > >(tee -a /var/vcap/sys/log/web/web.log | logger -t web)
        exec /bin/web
        """, helper)
    assert outcome.text == ". prepare_logs\nmkdir -p /var/vcap/sys/log/web\nexec >> /var/vcap/sys/log/web/web.log\nexec /bin/web\n", \
        outcome.text


def test_the_mkdir_stays_when_the_helper_is_sourced_after_the_redirect() -> None:
    outcome = run_with_helper("""\
        exec > >(tee -a /var/vcap/sys/log/web/web.log | logger -t web)
        . prepare_logs
        exec /bin/web
        """, "mkdir -p /var/vcap/sys/log/web\n")
    assert outcome.text.startswith("mkdir -p /var/vcap/sys/log/web\nexec >> "), outcome.text


def test_no_mkdir_when_the_helper_sets_the_variable_the_script_writes_under() -> None:
    outcome = run_with_helper("""\
        . /var/vcap/jobs/job/bin/prepare_logs
        exec 2> >(tee -a "$WEB_LOG_DIR/err.log" | logger -t web)
        exec /bin/web
        """, """\
        WEB_LOG_DIR=/var/vcap/sys/log/web
        mkdir -p "$WEB_LOG_DIR"
        """)
    assert outcome.text == '. /var/vcap/jobs/job/bin/prepare_logs\nexec 2>> "$WEB_LOG_DIR/err.log"\nexec /bin/web\n', outcome.text
