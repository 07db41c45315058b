"""sipid-pidfiles, two-stage starts: ``x_ctl`` guards with pid_guard and execs ``x_as_vcap``, which
writes ``echo $$ > $PIDFILE``. One claim where the pid is written; the guard goes (and only then)."""

from __future__ import annotations

from codemods.sipid_pidfiles import SipidPidfiles
from migrator.codemod import CodemodResult, Finding, Requirement
from migrator.discovery import Template
from migrator.document import Document
from migrator.engine import ScriptResult, _keep_requirements
from tests.support.codemod_case import run_codemods

CM = SipidPidfiles()
SIPID = "/var/vcap/packages/sipid/bin/sipid"

CTL = """\
#!/bin/bash
set -e
export RUN_DIR=/var/vcap/sys/run/job
export PIDFILE=${RUN_DIR}/job.pid
source /var/vcap/packages/common/pid_utils.sh

case $1 in
  start)
    pid_guard $PIDFILE "job"
    mkdir -p $RUN_DIR
    chown -R vcap:vcap $RUN_DIR
    exec chpst -u vcap:vcap bash -c "/var/vcap/jobs/job/bin/job_as_vcap"
    ;;
  stop)
    kill_and_wait $PIDFILE
    ;;
esac
"""

AS_VCAP = """\
#!/bin/bash
set -e
echo $$ > $PIDFILE
exec /var/vcap/packages/job/bin/job
"""


def ctl(text: str = CTL, partner: str = AS_VCAP):
    return run_codemods([CM], text, dedent=False, templates={"job_as_vcap.erb": "bin/job_as_vcap"},
                        files={"templates/job_as_vcap.erb": partner, "templates/job_ctl.erb": text})


def as_vcap(text: str = AS_VCAP, control: str = CTL):
    return run_codemods([CM], text, dedent=False, source="job_as_vcap.erb", script="bin/job_as_vcap",
                        templates={"job_ctl.erb": "bin/job_ctl"},
                        files={"templates/job_ctl.erb": control, "templates/job_as_vcap.erb": text})


def test_the_guard_goes_when_the_script_it_execs_claims_the_pidfile() -> None:
    outcome = ctl()
    assert "pid_guard" not in outcome.text and "pid_utils.sh" not in outcome.text
    assert "    mkdir -p $RUN_DIR\n    chown -R vcap:vcap $RUN_DIR\n    exec chpst" in outcome.text
    notes = [f for f in outcome.findings if "pid_guard removed" in f.message]
    assert notes and notes[0].severity == "info" and notes[0].line == 9
    assert "bin/job_as_vcap" in notes[0].message and "its line 3" in notes[0].message
    assert outcome.result.result.requires == [Requirement(
        "templates/job_as_vcap.erb", f'{SIPID} claim --pid "$$" --pid-file "$PIDFILE"',
        "the pid_guard went because bin/job_as_vcap claims the pidfile")]


def test_the_exec_d_script_claims_and_names_the_guard_it_replaces() -> None:
    outcome = as_vcap()
    assert f'{SIPID} claim --pid "$$" --pid-file "$PIDFILE"\n' in outcome.text
    assert not any("start now refuses" in m for m in outcome.messages())
    assert any("as the pid_guard of bin/job_ctl (line 9) did" in m for m in outcome.messages("info"))


def test_a_literal_path_in_the_exec_d_script_is_the_same_pidfile() -> None:
    partner = AS_VCAP.replace("$PIDFILE", "/var/vcap/sys/run/job/job.pid")
    assert "pid_guard" not in ctl(partner=partner).text


def test_another_pidfile_is_no_pair() -> None:
    partner = AS_VCAP.replace("$PIDFILE", "/var/vcap/sys/run/job/other.pid")
    outcome = ctl(partner=partner)
    assert "pid_guard $PIDFILE" in outcome.text
    assert any(m.startswith("pid_guard kept: ") for m in outcome.messages("review"))
    assert any("start now refuses" in m for m in as_vcap(partner).messages("review"))


def test_a_variable_the_control_script_does_not_export_is_not_seen_by_the_exec_d_script() -> None:
    text = CTL.replace("export PIDFILE=", "PIDFILE=")
    assert "pid_guard $PIDFILE" in ctl(text).text


def test_work_before_the_exec_keeps_the_guard_and_says_why() -> None:
    text = CTL.replace("    mkdir -p $RUN_DIR\n", "    sysctl -w net.core.somaxconn=1024\n    mkdir -p $RUN_DIR\n")
    outcome = ctl(text)
    assert "pid_guard $PIDFILE" in outcome.text
    assert any("'sysctl -w net.core.somaxconn=1024'" in m for m in outcome.messages("review"))


def test_work_in_the_exec_d_script_before_its_pid_write_keeps_the_guard() -> None:
    partner = AS_VCAP.replace("echo $$", "/var/vcap/packages/job/bin/migrate-db\necho $$")
    outcome = ctl(partner=partner)
    assert "pid_guard $PIDFILE" in outcome.text
    assert any("runs '/var/vcap/packages/job/bin/migrate-db' before it writes the pid" in m
               for m in outcome.messages("review"))


def test_a_suppressed_pid_write_in_the_exec_d_script_keeps_the_guard() -> None:
    partner = AS_VCAP.replace("$PIDFILE\n", "$PIDFILE  # exemplar-migrate: ignore[sipid-pidfiles]\n")
    outcome = ctl(partner=partner)
    assert "pid_guard $PIDFILE" in outcome.text
    assert any("suppression comment" in m for m in outcome.messages("review"))


def test_a_start_that_goes_on_after_running_the_script_is_no_pair() -> None:
    text = CTL.replace('    exec chpst -u vcap:vcap bash -c "/var/vcap/jobs/job/bin/job_as_vcap"\n',
                       '    chpst -u vcap:vcap /var/vcap/jobs/job/bin/job_as_vcap &\n    sleep 5\n')
    assert "pid_guard $PIDFILE" in ctl(text).text


def _result(rel: str, before: str, after: str, requires: list[Requirement]) -> ScriptResult:
    template = Template(rel.removeprefix("templates/"), None, "bin/x", "script")  # type: ignore[arg-type]
    findings = [Finding("sipid-pidfiles", rel, 1, "pid_guard removed", "info", fix="pair@1"),
                Finding("sipid-pidfiles", rel, 2, "left unchanged: something else", "review")]
    return ScriptResult(template, Document.parse(rel, before.encode()), Document.parse(rel, after.encode()),
                        ["sipid-pidfiles"], CodemodResult(findings=findings, requires=requires))


def test_engine_undoes_a_rewrite_whose_partner_rewrite_was_not_made() -> None:
    need = Requirement("templates/b.erb", "sipid claim", "the pid_guard went because bin/b claims the pidfile")
    guarded = _result("templates/a.erb", "pid_guard $P a\nexec b\n", "exec b\n", [need])
    partner_refused = _result("templates/b.erb", "echo $$ > $P\n", "echo $$ > $P\n", [])
    kept = _keep_requirements([guarded, partner_refused])
    assert kept[0].final.source == kept[0].original.source and kept[0].applied == []
    messages = [f.message for f in kept[0].result.findings]
    assert "pid_guard removed" not in messages and "left unchanged: something else" in messages
    assert any(m.startswith("left unchanged: the pid_guard went because bin/b claims the pidfile, but that rewrite "
                            "of templates/b.erb was not made") for m in messages)


def test_engine_keeps_a_rewrite_whose_partner_rewrite_was_made() -> None:
    need = Requirement("templates/b.erb", "sipid claim", "why")
    guarded = _result("templates/a.erb", "pid_guard $P a\nexec b\n", "exec b\n", [need])
    partner = _result("templates/b.erb", "echo $$ > $P\n", "sipid claim --pid $$\n", [])
    assert _keep_requirements([guarded, partner])[0] is guarded


def test_second_run_of_the_pair_changes_nothing() -> None:
    first_ctl, first_partner = ctl(), as_vcap()
    assert ctl(first_ctl.text, first_partner.text).text == first_ctl.text
    assert as_vcap(first_partner.text, first_ctl.text).text == first_partner.text

