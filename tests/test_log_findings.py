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
    assert len(found) == 2, outcome.findings  # one per stream: each is its own rewrite
    assert {("stdout" in m, "stderr" in m) for m in found} == {(True, False), (False, True)}
    assert all("stamp_lines" in m for m in found), found


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
