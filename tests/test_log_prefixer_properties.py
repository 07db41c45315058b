"""A timestamp prefixer chosen by a property (``logging.format.timestamp``: awk or perl, picked by
ERB at render time) goes with the fan-out like any prefixer; the finding says the property loses
its effect (it used to be left alone as an "unknown stage", or removed without a word)."""

from __future__ import annotations

import textwrap

import pytest

from codemods.log_pipelines import LogPipelines
from tests.support.codemod_case import run_codemods

CM = LogPipelines()
LOG = "/var/vcap/sys/log/j"
PERL = "perl -ne 'use POSIX \"strftime\"; print strftime(\"[%Y-%m-%dT%H:%M:%SZ] \", gmtime), $_'"
AWK = "awk -W interactive '{ system(\"echo -n [$(date +%FT%T)]\"); print \" \" $0 }'"


def lost(outcome) -> list[str]:
    return [m for m in outcome.messages("review") if "logging.format.timestamp" in m and "no longer has any effect" in m]


def test_function_body_chosen_by_erb() -> None:
    outcome = run_codemods([CM], textwrap.dedent(f"""\
        stamp() {{
        <% if p("logging.format.timestamp") == "rfc3339" -%>
          {PERL}
        <% else -%>
          {AWK}
        <% end -%>
        }}
        exec > >(tee -a >(logger -t j) | stamp >> {LOG}/j.log)
        """))
    assert outcome.text == f"mkdir -p {LOG}\nexec >> {LOG}/j.log\n"
    assert len(lost(outcome)) == 1, outcome.findings


def test_output_tag_naming_the_prefixer_function() -> None:
    """Was: left unchanged as 'unknown stage' (the tag masks to a word the tool cannot read)."""
    outcome = run_codemods([CM], textwrap.dedent(f"""\
        stamp_rfc3339() {{
          {PERL}
        }}
        stamp() {{
          {AWK}
        }}
        exec > >(tee -a >(logger -t j) | <%= p("logging.format.timestamp") == "rfc3339" ? "stamp_rfc3339" : "stamp" %> >> {LOG}/j.log)
        exec 2> >(tee -a >(logger -t j) | <%= p("logging.format.timestamp") == "rfc3339" ? "stamp_rfc3339" : "stamp" %> >> {LOG}/j.err.log)
        """))
    assert outcome.text == f"mkdir -p {LOG}\nexec >> {LOG}/j.log\nexec 2>> {LOG}/j.err.log\n", outcome.text
    assert len(lost(outcome)) == 1, outcome.findings  # said once per script
    assert not any("unknown stage" in m for m in outcome.messages()), outcome.findings


def test_erb_if_around_the_stage() -> None:
    outcome = run_codemods([CM], f"exec > >(tee -a >(logger -t j) | <% if p('logging.format.timestamp') == 'rfc3339' %>{PERL}<% else %>{AWK}<% end %> >> {LOG}/j.log)\n")
    assert outcome.text == f"mkdir -p {LOG}\nexec >> {LOG}/j.log\n", outcome.text
    assert lost(outcome), outcome.findings


def test_output_tag_naming_something_else_stays_unknown() -> None:
    outcome = run_codemods([CM], f"exec > >(tee -a >(logger -t j) | <%= p('filter') %> >> {LOG}/j.log)\n")
    assert "<%= p('filter') %>" in outcome.text
    assert any("unknown stage" in m for m in outcome.messages("review"))


HELPER = textwrap.dedent(f"""\
    function tee_output_to_sys_log() {{
      declare log_dir="$1"
      declare log_name="$2"
      if [ "$3" == "deprecated" ]; then
        exec > >(tee -a >(logger -p user.info -t "vcap.${{log_name}}.stdout") | prepend_datetime >>"${{log_dir}}/${{log_name}}.log")
        exec 2> >(tee -a >(logger -p user.error -t "vcap.${{log_name}}.stderr") | prepend_datetime >>"${{log_dir}}/${{log_name}}.err.log")
      else
        exec > >(tee -a >(logger -p user.info -t "vcap.${{log_name}}.stdout") | prepend_rfc3339_datetime >>"${{log_dir}}/${{log_name}}.log")
        exec 2> >(tee -a >(logger -p user.error -t "vcap.${{log_name}}.stderr") | prepend_rfc3339_datetime >>"${{log_dir}}/${{log_name}}.err.log")
      fi
    }}
    function prepend_datetime() {{
      {AWK}
    }}
    function prepend_rfc3339_datetime() {{
      {PERL}
    }}
    """)


def test_helper_choosing_its_prefixer_by_an_argument_that_is_the_property() -> None:
    outcome = run_codemods(
        [CM],
        'source /var/vcap/packages/common/syslog_utils.sh\n'
        'tee_output_to_sys_log "$LOG_DIR" "api" "<%= p("logging.format.timestamp") %>"\nexec /bin/api\n',
        helpers={"/var/vcap/packages/common/syslog_utils.sh": HELPER})
    assert outcome.text == ('mkdir -p "$LOG_DIR"\nexec >> "$LOG_DIR/api.log"\nexec 2>> "$LOG_DIR/api.err.log"\n'
                            "exec /bin/api\n"), outcome.text
    assert len(lost(outcome)) == 1, outcome.findings


def test_helper_branches_that_write_different_files_are_left_alone() -> None:
    helper = HELPER.replace('"${log_dir}/${log_name}.err.log")\n  else', '"${log_dir}/old.err.log")\n  else')
    outcome = run_codemods(
        [CM], 'source /x/syslog_utils.sh\ntee_output_to_sys_log "$LOG_DIR" api "<%= p("f") %>"\n',
        helpers={"/x/syslog_utils.sh": helper})
    assert "tee_output_to_sys_log" in outcome.text
    assert any("different places" in m for m in outcome.messages("review")), outcome.findings
    assert not outcome.messages("info"), outcome.findings


@pytest.mark.parametrize("comment", ["# exemplar-migrate: ignore[log-pipelines]", "# exemplar-migrate: ignore"])
def test_no_finding_about_a_rewrite_that_was_not_made(comment: str) -> None:
    outcome = run_codemods([CM], textwrap.dedent(f"""\
        stamp() {{
        <% if p("logging.format.timestamp") == "rfc3339" -%>
          {PERL}
        <% else -%>
          {AWK}
        <% end -%>
        }}
        exec > >(tee -a >(logger -t j) | stamp >> {LOG}/j.log) {comment}
        """))
    assert "exec > >(tee" in outcome.text
    assert not lost(outcome), outcome.findings
    assert not [m for m in outcome.messages() if "syslog" in m], outcome.findings
