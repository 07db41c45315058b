"""The semantic post-checks (migrator/checks/semantics.py) and the three real shapes that passed
the grammar gate and broke jobs:

- a pidfile used before it is claimed (``chown vcap:vcap $PIDFILE`` after ``echo $$ > $PIDFILE``
  ended up before ``sipid claim``: a fresh VM has no pidfile, so ``set -e`` stops the start);
- a call to a function whose definition was removed (a release's own ``syslog_utils.sh``, sourced
  as ``${JOB_DIR}/bin/syslog_utils.sh``, taken for the common one and its ``source`` line dropped);
- a variable that no longer exists (a helper inlined with its own local ``log_basename`` left in).

Each shape is tested twice: the fixed codemod makes the right rewrite, and a test-only codemod that
makes the old, bad rewrite is refused by the gate (so the gate stays proven after the fix).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

import codemods
from codemods.log_pipelines import LogPipelines
from codemods.sipid_pidfiles import SipidPidfiles
from migrator.checks import semantics
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext
from migrator.discovery import discover
from migrator.document import Document
from migrator.engine import Pipeline, migrate_job
from tests.support import sipid_standin
from tests.support.codemod_case import run_codemods
from tests.support.erb_render import render, ruby_available
from tests.support.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples" / "legacy-release" / "jobs"
SIPID = "/var/vcap/packages/sipid/bin/sipid"


class _Replace(Codemod):
    """Test-only: rewrites the script to a fixed text (the bad rewrite a buggy codemod made)."""

    id = "test-bad-rewrite"
    summary = "test only"
    rationale = "test only"

    def __init__(self, before: str, after: str):
        self.before, self.after = before, after

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        if doc.text != self.before:
            return CodemodResult()
        return CodemodResult(edits=[Edit(0, len(doc.source), self.after)])


def _refused(before: str, bad: str, **kwargs) -> str:
    """Run the bad rewrite through the pipeline: it must be refused; returns the reason."""
    before, bad = textwrap.dedent(before), textwrap.dedent(bad)
    outcome = run_codemods([_Replace(before, bad)], before, dedent=False, **kwargs)
    assert outcome.text == before, "the gate let the bad rewrite through"
    errors = outcome.messages("error")
    assert errors, outcome.findings
    return errors[0]


def _check(before: str, after: str, **ctx) -> str | None:
    job = JobContext(name=ctx.pop("name", "job"), templates=ctx.pop("templates", {"job_ctl.erb": "bin/job_ctl"}),
                     **ctx)
    return semantics.check(job, Document.parse("templates/job_ctl.erb", textwrap.dedent(before).encode()),
                           Document.parse("templates/job_ctl.erb", textwrap.dedent(after).encode()))


# -- shape 1: the pidfile used before it is claimed ------------------------------------------------
CHOWN_START = """\
#!/bin/bash
set -e

RUN_DIR=/var/vcap/sys/run/job
LOG_DIR=/var/vcap/sys/log/job
PIDFILE=$RUN_DIR/job.pid

case $1 in
  start)
    mkdir -p $RUN_DIR $LOG_DIR
    echo $$ > $PIDFILE
    chown vcap:vcap $PIDFILE
    chmod 0644 $PIDFILE
    chown -R vcap:vcap $RUN_DIR $LOG_DIR

    exec /var/vcap/packages/job/bin/job
    ;;
  stop)
    kill $(cat $PIDFILE)
    rm -f $PIDFILE
    ;;
esac
"""

#: what the start branch became before the fix: the claim after the whole set-up
CHOWN_BAD = CHOWN_START.replace("""\
    echo $$ > $PIDFILE
    chown vcap:vcap $PIDFILE
    chmod 0644 $PIDFILE
    chown -R vcap:vcap $RUN_DIR $LOG_DIR
""", f"""\
    chown vcap:vcap $PIDFILE
    chmod 0644 $PIDFILE
    chown -R vcap:vcap $RUN_DIR $LOG_DIR
    {SIPID} claim --pid "$$" --pid-file "$PIDFILE"
""")

CHOWN_FIXED_START = f"""\
    mkdir -p $RUN_DIR $LOG_DIR
    chown -R vcap:vcap $RUN_DIR $LOG_DIR
    {SIPID} claim --pid "$$" --pid-file "$PIDFILE"
    chown vcap:vcap $PIDFILE
    chmod 0644 $PIDFILE

    exec /var/vcap/packages/job/bin/job
"""


def test_lines_that_used_the_pidfile_after_the_write_move_after_the_claim() -> None:
    outcome = run_codemods([SipidPidfiles()], CHOWN_START, dedent=False)
    assert CHOWN_FIXED_START in outcome.text, outcome.text
    assert not outcome.messages("error"), outcome.findings


def test_a_pidfile_line_that_shares_its_line_leaves_the_start_alone_with_a_finding() -> None:
    before = CHOWN_START.replace("    chown vcap:vcap $PIDFILE\n    chmod 0644 $PIDFILE\n",
                                 "    chown vcap:vcap $PIDFILE; chmod 0644 $PIDFILE\n")
    outcome = run_codemods([SipidPidfiles()], before, dedent=False)
    assert "    echo $$ > $PIDFILE\n" in outcome.text
    assert any("pidfile" in m and "claim" in m for m in outcome.messages("review")), outcome.findings


def test_gate_refuses_a_chown_of_the_pidfile_before_the_claim() -> None:
    reason = _refused(CHOWN_START, CHOWN_BAD)
    assert "chown vcap:vcap $PIDFILE" in reason and "before the 'sipid claim'" in reason


def test_gate_accepts_a_guard_that_tested_the_pidfile_before_the_write_too() -> None:
    before = """\
    case $1 in
      start)
        if [ -f $PIDFILE ]; then echo stale; fi
        echo $$ > $PIDFILE
        exec /bin/job
        ;;
    esac
    """
    after = before.replace("echo $$ > $PIDFILE", f'{SIPID} claim --pid "$$" --pid-file "$PIDFILE"')
    assert _check(before, after) is None


def test_gate_refuses_a_test_of_the_pidfile_moved_before_the_claim() -> None:
    before = """\
    case $1 in
      start)
        echo $$ > $PIDFILE
        [ -f $PIDFILE ] && echo written
        exec /bin/job
        ;;
    esac
    """
    after = f"""\
    case $1 in
      start)
        [ -f $PIDFILE ] && echo written
        {SIPID} claim --pid "$$" --pid-file "$PIDFILE"
        exec /bin/job
        ;;
    esac
    """
    assert "[ -f $PIDFILE ]" in (_check(before, after) or "")


def _run_start(tmp_path: Path, script: str) -> tuple[int, str, Sandbox]:
    """The start branch on a fresh VM: no run folder, no pidfile; ``chown`` fails on a missing
    file like the real one (the sandbox cannot switch owners, so its chown only checks and logs)."""
    box = Sandbox(tmp_path)
    box.stub("chown", '#!/bin/bash\necho "chown $*" >> "%s"\nfor f; do :; done\n'
             '[ -e "$f" ] || { echo "chown: cannot access \'$f\': No such file or directory" >&2; exit 1; }\n'
             % box.calls)
    box.install("/var/vcap/packages/job/bin/job", "#!/bin/bash\necho started >> /var/vcap/sys/run/job/main.log\n")
    sipid_standin.install(box)
    ctl = box.install("/var/vcap/jobs/job/bin/job_ctl", script)
    proc = box.run(ctl, "start")
    return proc.returncode, proc.stderr, box


def test_old_rewrite_exits_1_on_a_fresh_vm(tmp_path: Path) -> None:
    """The sandbox reproduces the breakage, so the next test proves something."""
    code, err, _ = _run_start(tmp_path, CHOWN_BAD)
    assert code == 1 and "cannot access" in err


def test_migrated_start_runs_under_set_e_on_a_fresh_vm(tmp_path: Path) -> None:
    migrated = run_codemods([SipidPidfiles()], CHOWN_START, dedent=False).text
    assert "set -e" in migrated
    code, err, box = _run_start(tmp_path, migrated)
    assert code == 0, err
    assert box.path("/var/vcap/sys/run/job/main.log").read_text() == "started\n"
    pid = box.path("/var/vcap/sys/run/job/job.pid").read_text().strip()
    assert pid.isdigit()
    assert [line for line in box.calls.read_text().splitlines() if line.startswith("chown")][-1].endswith("job.pid")


# -- shape 2: a function whose definition went away with its source line -----------------------------
OWN_SYSLOG_UTILS = """\
# The job's own syslog helpers (not the common tee_output_to_sys_log one).
syslog_status() {
  logger -t "vcap.job" -p user.notice -- "$*"
}
"""

OWN_SYSLOG_SCRIPT = """\
#!/bin/bash
JOB_DIR=/var/vcap/jobs/job
LOG_DIR=/var/vcap/sys/log/job
source ${JOB_DIR}/bin/syslog_utils.sh

syslog_status "starting"
exec /var/vcap/packages/job/bin/job >> $LOG_DIR/job.log 2>&1
"""

OWN_SYSLOG_CTX = {
    "templates": {"syslog_utils.sh": "bin/syslog_utils.sh"},
    "files": {"templates/syslog_utils.sh": OWN_SYSLOG_UTILS},
}


def test_release_own_helper_wins_over_the_known_copy() -> None:
    outcome = run_codemods([LogPipelines()], OWN_SYSLOG_SCRIPT, dedent=False, **OWN_SYSLOG_CTX)
    assert "source ${JOB_DIR}/bin/syslog_utils.sh\n" in outcome.text
    assert not outcome.messages("error"), outcome.findings


def test_known_copy_never_stands_in_for_a_path_the_tool_cannot_resolve() -> None:
    script = 'source ${HELPERS}/syslog_utils.sh\ntee_output_to_sys_log "$LOG_DIR" api\nsyslog_status hi\n'
    outcome = run_codemods([LogPipelines()], script, dedent=False)
    assert outcome.text == script


def test_known_copy_still_used_where_the_path_resolves_to_nothing_in_the_release() -> None:
    script = 'PKG=/var/vcap/packages/x\nsource $PKG/syslog_utils.sh\ntee_output_to_sys_log "$LOG_DIR" api\n'
    outcome = run_codemods([LogPipelines()], script, dedent=False)
    assert 'exec >> "$LOG_DIR/api.stdout.log"' in outcome.text
    assert "source" not in outcome.text


def test_gate_refuses_a_call_to_a_function_whose_source_line_went() -> None:
    bad = OWN_SYSLOG_SCRIPT.replace("source ${JOB_DIR}/bin/syslog_utils.sh\n", "")
    reason = _refused(OWN_SYSLOG_SCRIPT, bad, **OWN_SYSLOG_CTX)
    assert "syslog_status" in reason and "no longer defines" in reason


def test_sample_job_with_its_own_syslog_utils_keeps_the_source_line(tmp_path: Path) -> None:
    """Through discovery and the engine: the spec maps the helper, the script reaches it through
    ``${JOB_DIR}``."""
    release = tmp_path / "release"
    shutil.copytree(SAMPLES / "own-syslog-utils", release / "jobs" / "own-syslog-utils")
    jobs = discover([release])
    outcome = migrate_job(jobs[0], Pipeline([SipidPidfiles(), LogPipelines()]))
    assert not outcome.errors, outcome.errors
    script = next(c.after for c in outcome.changes if c.rel.endswith("own-syslog-utils_ctl.erb"))
    assert b"source ${JOB_DIR}/bin/syslog_utils.sh\n" in script
    assert b"syslog_status" in script


# -- shape 3: a helper inlined with its own local left in ---------------------------------------------
BASENAME_HELPER = """\
function tee_output_to_sys_log() {
  declare log_dir="$1"
  local log_basename
  log_basename="$(basename "$0")"
  exec > >(tee -a >(logger -p user.info -t "vcap.${log_basename}.stdout") | prepend_datetime >>"${log_dir}/${log_basename}.log")
  exec 2> >(tee -a >(logger -p user.error -t "vcap.${log_basename}.stderr") | prepend_datetime >>"${log_dir}/${log_basename}.err.log")
}

function prepend_datetime() {
  awk -W interactive '{ system("echo -n [$(date +\\"%Y-%m-%d %H:%M:%S%z\\")]"); print " " $0 }'
}
"""

BASENAME_SCRIPT = """\
#!/bin/bash
LOG_DIR=/var/vcap/sys/log/job
source /var/vcap/packages/common/syslog_utils.sh
tee_output_to_sys_log "$LOG_DIR"
exec /var/vcap/packages/job/bin/job
"""


def test_inlined_helper_gets_its_own_locals_put_in() -> None:
    outcome = run_codemods([LogPipelines()], BASENAME_SCRIPT, dedent=False,
                           helpers={"/var/vcap/packages/common/syslog_utils.sh": BASENAME_HELPER})
    assert outcome.text == """\
#!/bin/bash
LOG_DIR=/var/vcap/sys/log/job
mkdir -p "$LOG_DIR"
exec >> "$LOG_DIR/job_ctl.log"
exec 2>> "$LOG_DIR/job_ctl.err.log"
exec /var/vcap/packages/job/bin/job
""", outcome.text


def test_helper_local_that_cannot_be_put_in_leaves_the_call_with_a_finding() -> None:
    helper = BASENAME_HELPER.replace('log_basename="$(basename "$0")"', 'log_basename="$(hostname)-$RANDOM"')
    outcome = run_codemods([LogPipelines()], BASENAME_SCRIPT, dedent=False,
                           helpers={"/var/vcap/packages/common/syslog_utils.sh": helper})
    assert 'tee_output_to_sys_log "$LOG_DIR"' in outcome.text
    assert "log_basename" not in outcome.text.replace("tee_output_to_sys_log", "")
    assert any("log_basename" in m for m in outcome.messages("review")), outcome.findings


def test_gate_refuses_a_read_of_a_variable_nothing_sets() -> None:
    bad = BASENAME_SCRIPT.replace(
        "source /var/vcap/packages/common/syslog_utils.sh\ntee_output_to_sys_log \"$LOG_DIR\"\n",
        'exec >>"$LOG_DIR/${log_basename}.log"\nexec 2>>"$LOG_DIR/${log_basename}.err.log"\n')
    reason = _refused(BASENAME_SCRIPT, bad, helpers={"/var/vcap/packages/common/syslog_utils.sh": BASENAME_HELPER})
    assert "$log_basename" in reason and "nothing sets" in reason


# -- the check on crafted pairs ---------------------------------------------------------------------------
@pytest.mark.parametrize("after, verdict", [
    ("mkdir -p /x\nrun_it\n", None),  # mkdir: declared by log-pipelines
    (f'{SIPID} claim --pid "$$" --pid-file /p\nrun_it\n', None),  # the configured sipid
    ("curl -s http://x\nrun_it\n", "calls curl"),  # never called before
    ("echo hi\nrun_it\n", None),  # a builtin
])
def test_new_commands(after: str, verdict: str | None) -> None:
    got = _check("run_it\n", after)
    assert (got is None) if verdict is None else (verdict in (got or "")), got


def test_a_function_the_script_still_defines_resolves() -> None:
    before = "f() { echo x; }\nf\nprepend() { awk '{print}'; }\n"
    after = "f() { echo x; }\nf\n"
    assert _check(before, after) is None


def test_a_function_whose_definition_was_removed_does_not_resolve() -> None:
    assert "calls f" in (_check("f() { echo x; }\nf\n", "f\n") or "")


def test_a_sipid_path_from_the_options_is_allowed() -> None:
    from migrator.codemod import Options

    after = '/opt/sipid claim --pid "$$" --pid-file /p\n'
    assert _check("echo\n", after, options=Options(sipid_path="/opt/sipid")) is None
    assert "calls /opt/sipid" in (_check("echo\n", after) or "")


@pytest.mark.parametrize("after, verdict", [
    ('X=1\nexec >> "$X/a.log"\n', None),  # set earlier in the script
    ('exec >> "${Y:-/tmp}/a.log"\n', None),  # a default is given
    ('exec >> "$HOME/a.log"\n', None),  # well known
    ('exec >> "$LOG_DIR/a.log"\n', None),  # read by the original too
    ('exec >> "$NEW/a.log"\nNEW=1\n', "reads $NEW"),  # set only after the read
    ('f() { echo "$LATE"; }\nLATE=1\nf\n', None),  # a function body runs when called
])
def test_variables_on_changed_lines(after: str, verdict: str | None) -> None:
    got = _check('echo "$LOG_DIR"\n', 'echo "$LOG_DIR"\n' + after)
    assert (got is None) if verdict is None else (verdict in (got or "")), got


def test_a_variable_from_an_env_template_the_rewrite_creates() -> None:
    before = 'exec /bin/job --level <%= p("job.level") %>\n'
    after = 'source /var/vcap/jobs/job/config/job_ctl.env\nexec /bin/job --level "$JOB_LEVEL"\n'
    assert "reads $JOB_LEVEL" in (_check(before, after) or "")
    created = {
        "templates": {"job_ctl.erb": "bin/job_ctl", "job_ctl.env.erb": "config/job_ctl.env"},
        "files": {"templates/job_ctl.env.erb": 'JOB_LEVEL=<%= p("job.level").to_s.shellescape %>\n'},
    }
    assert _check(before, after, **created) is None


def test_engine_checks_see_the_env_template_erb_to_config_creates() -> None:
    from codemods.erb_to_config import ErbToConfig

    outcome = run_codemods([ErbToConfig()], '#!/bin/bash\nexec /bin/job --level <%= p("job.level") %>\n',
                           properties={"job.level": {"default": "info"}})
    assert "$JOB_LEVEL" in outcome.text, outcome.findings


def test_every_external_command_a_codemod_writes_is_declared() -> None:
    """A stop rewritten by sipid-pidfiles ends with ``rm -f F`` even where the original never
    ran rm (``kill -9 $(cat F)`` alone): the gate must let the codemods' own output through."""
    before = """\
    #!/bin/bash
    PIDFILE=/var/vcap/sys/run/job/job.pid
    case $1 in
      start)
        echo $$ > $PIDFILE
        exec /var/vcap/packages/job/bin/job
        ;;
      stop)
        kill -9 $(cat $PIDFILE)
        ;;
    esac
    """
    outcome = run_codemods([SipidPidfiles()], before)
    assert "sipid kill" in outcome.text and not outcome.messages("error"), outcome.findings


def test_package_helper_reached_through_a_variable_is_read_from_the_release(tmp_path: Path) -> None:
    """``${COMMON}/syslog_utils.sh`` with ``COMMON=/var/vcap/packages/common``: the engine finds
    the release's ``src/common/syslog_utils.sh`` (not the known copy of that name)."""
    release = tmp_path / "release"
    job = release / "jobs" / "job"
    (job / "templates").mkdir(parents=True)
    (release / "src" / "common").mkdir(parents=True)
    (release / "src" / "common" / "syslog_utils.sh").write_text(OWN_SYSLOG_UTILS)
    (job / "spec").write_text("---\nname: job\ntemplates:\n  job_ctl.erb: bin/job_ctl\npackages:\n- common\n")
    (job / "monit").write_text("")
    script = OWN_SYSLOG_SCRIPT.replace("JOB_DIR=/var/vcap/jobs/job", "COMMON=/var/vcap/packages/common").replace(
        "${JOB_DIR}/bin/syslog_utils.sh", "${COMMON}/syslog_utils.sh")
    (job / "templates" / "job_ctl.erb").write_text(script)
    outcome = migrate_job(discover([release])[0], Pipeline([LogPipelines()]))
    assert not outcome.changes and not outcome.errors, (outcome.changes, outcome.findings)


def test_lookup_origins() -> None:
    from migrator import helpers

    ctx = JobContext(name="job", templates={"job_ctl.erb": "bin/job_ctl", **OWN_SYSLOG_CTX["templates"]},
                     files=OWN_SYSLOG_CTX["files"])

    def origin(script: str) -> tuple[str, str]:
        doc = Document.parse("templates/job_ctl.erb", script.encode())
        node, path = helpers.source_commands(doc)[0]
        found = helpers.lookup(ctx, doc, node, path)
        return found.origin, found.resolved

    assert origin("J=/var/vcap/jobs/job\nsource $J/bin/syslog_utils.sh\n") == (
        "release", "/var/vcap/jobs/job/bin/syslog_utils.sh")
    assert origin("source /var/vcap/jobs/job/bin/nothing.sh\n")[0] == "missing"
    assert origin("source /var/vcap/packages/p/syslog_utils.sh\n")[0] == "builtin"
    assert origin("source /var/vcap/packages/p/utils.sh\n")[0] == "builtin"  # described, not inlined
    assert origin("source $UNSET/syslog_utils.sh\n")[0] == "unknown"
    assert origin("source /var/vcap/jobs/job/bin/syslog_utils.sh\nJ=x\n")[0] == "release"
    # a variable set twice to different values is not read
    assert origin("J=/a\nJ=/b\nsource $J/syslog_utils.sh\n") == ("unknown", "$J/syslog_utils.sh")


def test_a_pidfile_line_after_an_earlier_claim_of_the_same_file_is_fine() -> None:
    before = "echo $$ > $PIDFILE\nrm -f $PIDFILE\necho $$ > $PIDFILE\n"
    claim = f'{SIPID} claim --pid "$$" --pid-file "$PIDFILE"\n'
    assert _check(before, f"{claim}rm -f $PIDFILE\n{claim}") is None
    assert "rm -f $PIDFILE" in (_check(before, f"rm -f $PIDFILE\n{claim}{claim}") or "")


@pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby (scripts/test installs it)")
def test_sample_chowned_pidfile_job_starts_on_a_fresh_vm(tmp_path: Path) -> None:
    """The sample job as the tool migrates it, rendered with Ruby ERB like BOSH does (script and
    the env template it now sources), started on a fresh VM with a chown that fails on a missing
    file: it must start, with the pidfile claimed and then handed to vcap."""
    release = tmp_path / "release"
    shutil.copytree(SAMPLES / "chowned-pidfile", release / "jobs" / "chowned-pidfile")
    outcome = migrate_job(discover([release])[0], Pipeline(codemods.select()))
    assert not outcome.errors, outcome.errors
    job = tmp_path / "migrated"
    shutil.copytree(release / "jobs" / "chowned-pidfile", job)
    for change in outcome.changes:
        target = job / Path(change.rel).relative_to("jobs/chowned-pidfile")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(change.after or b"")
    spec = job / "spec"
    script = render(spec, job / "templates" / "chowned-pidfile_ctl.erb")
    assert "sipid claim" in script and "set -e" in script
    box = Sandbox(tmp_path / "box")
    box.stub("chown", '#!/bin/bash\necho "chown $*" >> "%s"\nfor f; do :; done\n'
             '[ -e "$f" ] || { echo "chown: cannot access \'$f\'" >&2; exit 1; }\n' % box.calls)
    box.install("/var/vcap/jobs/chowned-pidfile/config/chowned-pidfile_ctl.env",
                render(spec, job / "templates" / "chowned-pidfile_ctl.env.erb"))
    box.install("/var/vcap/packages/ledgerd/bin/ledgerd", '#!/bin/bash\necho "ledgerd $*"\n')
    sipid_standin.install(box)
    ctl = box.install("/var/vcap/jobs/chowned-pidfile/bin/chowned-pidfile_ctl", script)
    proc = box.run(ctl, "start")
    assert proc.returncode == 0, proc.stderr
    assert box.path("/var/vcap/sys/log/chowned-pidfile/ledgerd.log").read_text().startswith("ledgerd --port 7300")
    chowns = [line for line in box.calls.read_text().splitlines() if line.startswith("chown")]
    assert chowns[-1].endswith("ledgerd.pid"), chowns
    assert box.path("/var/vcap/sys/run/chowned-pidfile/ledgerd.pid").read_text().strip().isdigit()
