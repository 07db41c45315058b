"""Whose output matters: errands, BOSH hooks and BBR scripts keep their inherited copy.

monit discards a control script's own stdout, but ``bosh run-errand`` prints an errand's, the
BOSH agent records the hooks' (and reads drain's stdout as the drain protocol), and BBR reads its
scripts'. There the syslog and prefixer parts go while a tee to the inherited stream stays.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from codemods._log_shapes import output_reader
from codemods.log_pipelines import LogPipelines
from tests.support.codemod_case import assert_codemod, assert_unchanged, run_codemods
from tests.support.sandbox import Sandbox, settle

CM = LogPipelines()
LOG = "/var/vcap/sys/log/j"
PREFIX = "awk -W interactive '{ system(\"echo -n [$(date +%FT%T)]\"); print \" \" $0 }'"


@pytest.mark.parametrize("rendered,reads", [
    ("bin/run", True), ("bin/pre-start", True), ("bin/post-start", True), ("bin/post-deploy", True),
    ("bin/drain", True), ("bin/pre-stop", True), ("bin/bbr/backup", True), ("bin/bbr/restore", True),
    ("bin/bbr/pre-backup-lock", True), ("bin/bbr/metadata", True),
    ("bin/web_ctl", False), ("bin/runner", False), ("bin/bbr/lib/x/backup", False), ("config/run", False),
])
def test_readers_are_named_by_rendered_path(rendered: str, reads: bool) -> None:
    assert (output_reader(rendered) is not None) is reads


def test_errand_tee_and_logger_becomes_a_plain_tee_that_keeps_stdout() -> None:
    outcome = assert_codemod(
        CM,
        f"exec > >(tee -a {LOG}/run.log | logger -t vcap.run) 2>&1\n/bin/smoke\n",
        f"exec > >(tee -a {LOG}/run.log) 2>&1\n/bin/smoke\n",
        script="bin/run", source="run.erb",
    )
    messages = " ".join(m for m in outcome.messages())
    assert "monit" not in messages
    assert any("run-errand" in m and "instead of syslog" in m for m in outcome.messages("review")), outcome.findings


def test_errand_prefixed_copy_keeps_the_tee_and_loses_the_prefixer() -> None:
    outcome = assert_codemod(
        CM,
        f"exec > >(tee -a {LOG}/run.log | {PREFIX})\n/bin/smoke\n",
        f"exec > >(tee -a {LOG}/run.log)\n/bin/smoke\n",
        script="bin/run", source="run",
    )
    # the one thing the errand's reader sees change: the lines lost their timestamp (issue 9)
    assert [m for m in outcome.messages("review") if "lose the timestamp" not in m] == [], outcome.findings
    assert len(outcome.messages("review")) == 1, outcome.findings
    assert not any("discarded" in m or "dropped" in m for m in outcome.messages()), outcome.findings


@pytest.mark.parametrize("before", [
    f"exec > >(tee -a {LOG}/run.log)\n/bin/smoke\n",
    f"exec 2> >(tee -a {LOG}/run.err.log)\n/bin/smoke\n",
    f"/bin/smoke 2>&1 | tee -a {LOG}/run.log\n",
])
def test_errand_plain_tee_is_already_done(before: str) -> None:
    outcome = assert_unchanged(CM, before, script="bin/run", source="run")
    assert not outcome.findings


def test_errand_pipeline_keeps_tee_drops_logger() -> None:
    assert_codemod(
        CM,
        f"set -e\n/bin/smoke 2>&1 | tee -a {LOG}/smoke.log | logger -t smoke\necho done\n",
        f"set -e\n/bin/smoke 2>&1 | tee -a {LOG}/smoke.log\necho done\n",
        script="bin/run", source="run",
    )


def test_bbr_script_pipeline_keeps_tee_drops_logger() -> None:
    assert_codemod(
        CM,
        f"/bin/dump |& tee -a {LOG}/backup.log | logger -t bbr\n",
        f"/bin/dump 2>&1 | tee -a {LOG}/backup.log\n",
        script="bin/bbr/backup", source="backup.sh.erb",
    )


def test_drain_stderr_syslog_copy_moves_to_its_stderr() -> None:
    assert_codemod(
        CM,
        f"exec 2> >(tee -a {LOG}/drain.err.log | logger -p user.error -t drain)\n/bin/drain-it\necho 0\n",
        f"exec 2> >(tee -a {LOG}/drain.err.log >&2)\n/bin/drain-it\necho 0\n",
        script="bin/drain", source="drain",
    )


def test_drain_stdout_never_gets_syslog_lines() -> None:
    """drain's stdout is the drain protocol: lines that went to a file and syslog go to the file."""
    outcome = assert_codemod(
        CM,
        f"/bin/drain-it | tee -a {LOG}/drain.log | logger -t drain\necho 0\n",
        f"mkdir -p {LOG}\n/bin/drain-it >> {LOG}/drain.log\necho 0\n",
        script="bin/drain", source="drain",
    )
    assert any("drain protocol" in m and "syslog" in m for m in outcome.messages("review")), outcome.findings


def test_metadata_stdout_is_an_answer_too() -> None:
    assert_unchanged(CM, "/bin/meta | logger -t bbr\n", script="bin/bbr/metadata", source="metadata")


@pytest.mark.parametrize("script,source", [("bin/run", "run"), ("bin/web_ctl", "web_ctl.erb")])
def test_no_mkdir_of_dev_and_no_redirect_into_dev_stdout(script: str, source: str) -> None:
    outcome = run_codemods([CM], f"/bin/x | tee /dev/stderr | logger -t x\nexec > >(tee -a /dev/stdout | {PREFIX})\necho hi\n",
                           script=script, source=source)
    assert "mkdir -p /dev" not in outcome.text
    assert ">> /dev/stdout" not in outcome.text and ">> /dev/stderr" not in outcome.text


def test_monit_script_copy_is_dropped_and_said_so_at_info() -> None:
    outcome = run_codemods([CM], f"exec > >(tee -a {LOG}/web.log | {PREFIX})\n", script="bin/web_ctl",
                           source="web_ctl.erb")
    assert outcome.text == f"mkdir -p {LOG}\nexec >> {LOG}/web.log\n"
    assert any("monit" in m for m in outcome.messages("info")), outcome.findings


def test_copy_dropped_from_a_script_monit_does_not_run_is_a_review_finding() -> None:
    """A bpm executable's stdout goes into bpm's own log: that copy going is a visible change."""
    from migrator.codemod import JobContext, Options
    from migrator.discovery import Template
    from migrator.engine import Pipeline

    ctx = JobContext(name="j", templates={"server": "bin/server"}, options=Options(),
                     monit='check process j\n  start program "/var/vcap/jobs/bpm/bin/bpm start j"\n')
    template = Template("server", Path("/nonexistent/server"), "bin/server", "script")
    text = f"exec > >(tee -a {LOG}/server.log | {PREFIX})\nexec /bin/server\n"
    result = Pipeline([CM], ctx.options).migrate_script(ctx, template, text.encode())
    assert result.final.source.decode() == f"mkdir -p {LOG}\nexec >> {LOG}/server.log\nexec /bin/server\n"
    review = [f.message for f in result.result.findings if f.severity == "review"]
    assert any("no longer gets these lines" in m for m in review), result.result.findings


def test_saved_descriptors_prefixer_shape_goes_whole() -> None:
    """`exec 3>&1 4>&2 1> >(stamp >&3) 2> >(stamp >&4)`: only a prefixer between each stream and
    where it went; the descriptors were saved for it alone."""
    before = textwrap.dedent("""\
        #!/usr/bin/env bash
        set -eo pipefail

        function stamp() {
          awk -W interactive '{ system("echo -n [$(date +%FT%T%z)]"); print " " $0 }'
        }

        exec \\
            3>&1 \\
            4>&2 \\
            1> >(stamp >&3) \\
            2> >(stamp >&4)

        /bin/setup
        """)
    for script in ("bin/post-start", "bin/server"):
        outcome = run_codemods([CM], before, script=script, source=script.split("/")[-1])
        assert outcome.text == "#!/usr/bin/env bash\nset -eo pipefail\n\n/bin/setup\n", outcome.text
        # both streams lose their timestamp, said once for the statement (issue 9); nothing else is worth a review
        review = outcome.messages("review")
        assert len(review) == 1 and review[0].startswith("stdout and stderr lines lose the timestamp"), review
        assert "function stamp" in review[0], review


def test_saved_descriptor_still_used_elsewhere_stays() -> None:
    outcome = run_codemods(
        [CM], f"exec 3>&1 1> >({PREFIX} >&3) 2>&1\necho progress >&3\n", script="bin/run", source="run")
    assert outcome.text == "exec 3>&1 2>&1\necho progress >&3\n", outcome.text


def test_errand_stdout_still_reaches_the_operator_and_the_file(tmp_path: Path) -> None:
    """Run the migrated errand with real bash: its stdout still carries the lines (what
    ``bosh run-errand`` prints), and the log file still gets them."""
    before = f"mkdir -p {LOG}\nexec > >(tee -a {LOG}/run.log | logger -t vcap.run) 2>&1\necho smoke ok\necho oops >&2\n"
    outcome = run_codemods([CM], before, script="bin/run", source="run")
    box = Sandbox(tmp_path)
    proc = box.run(box.install("/var/vcap/jobs/j/bin/run", outcome.text))
    settle([box.path(f"{LOG}/run.log")])
    assert proc.stdout.splitlines() == ["smoke ok", "oops"]
    assert box.log_files("j") == {"run.log": "smoke ok\noops\n"}
    assert "logger" not in box.started()


@pytest.mark.parametrize("script,source", [("bin/run", "run"), ("bin/web_ctl", "web_ctl.erb")])
def test_a_message_shown_on_both_streams_is_not_log_plumbing(script: str, source: str) -> None:
    """`echo "... STARTING ..." | tee /dev/stderr` (a real ctl helper's banner) has no syslog, no
    prefixer and no file: nothing to migrate, so nothing to say either."""
    before = 'echo "------------ STARTING $(basename "$0") at $(date) --------------" | tee /dev/stderr\n'
    outcome = assert_unchanged(CM, before, script=script, source=source)
    assert not outcome.findings


def test_a_script_another_file_only_names_still_loses_its_unused_prefixer() -> None:
    """bpm.yml names bin/server as its executable: that runs the script, it does not source it,
    so the prefixer left unused goes (it stayed, as if the script were a helper library)."""
    outcome = run_codemods(
        [CM], f"stamp() {{\n  {PREFIX}\n}}\nexec > >(stamp)\nexec /bin/server\n", script="bin/server", source="server",
        templates={"bpm.yml.erb": "config/bpm.yml"},
        files={"templates/bpm.yml.erb": "processes:\n- name: j\n  executable: /var/vcap/jobs/job/bin/server\n"})
    assert outcome.text == "exec /bin/server\n", outcome.text


def test_a_script_another_script_sources_keeps_its_functions() -> None:
    outcome = run_codemods(
        [CM], f"stamp() {{\n  {PREFIX}\n}}\nexec > >(stamp)\n", script="bin/lib.sh", source="lib.sh",
        templates={"ctl": "bin/ctl"}, files={"templates/ctl": "source /var/vcap/jobs/job/bin/lib.sh\nstamp\n"})
    assert "stamp() {" in outcome.text


def test_a_hook_file_that_is_the_agents_own_log_is_not_written_twice() -> None:
    """`tee_output_to_sys_log /var/vcap/sys/log/job pre-start` wrote the very files the BOSH agent
    saves a pre-start's streams to: kept as a tee, every line would land there twice."""
    outcome = run_codemods(
        [CM], 'source /var/vcap/packages/x/syslog_utils.sh\ntee_output_to_sys_log /var/vcap/sys/log/job pre-start\n'
        "/bin/setup\n", script="bin/pre-start", source="pre-start.erb")
    assert outcome.text == "/bin/setup\n", outcome.text
    assert any("agent's own log" in m for m in outcome.messages()), outcome.findings


@pytest.mark.parametrize("script,source", [("bin/post-start", "post-start"), ("bin/web_ctl", "web_ctl.erb")])
def test_a_saved_descriptor_that_escapes_an_earlier_redirect_is_kept(tmp_path: Path, script: str, source: str) -> None:
    """`exec 3>&1; exec >> out.log; exec 2> >(stamp >&3)`: stderr went to the stdout the script
    started with, not to out.log. Dropping the redirect (or writing `2>&1`) would send it to
    stderr (or out.log); `2>&3` keeps it where it went."""
    before = f"mkdir -p {LOG}\nexec 3>&1\nexec >> {LOG}/out.log\nexec 2> >({PREFIX} >&3)\necho oops >&2\necho fine\n"
    outcome = run_codemods([CM], before, script=script, source=source)
    assert outcome.text == f"mkdir -p {LOG}\nexec 3>&1\nexec >> {LOG}/out.log\nexec 2>&3\necho oops >&2\necho fine\n", outcome.text
    box = Sandbox(tmp_path)
    proc = box.run(box.install(f"/var/vcap/jobs/j/{script}", outcome.text))
    assert proc.stdout == "oops\n" and box.log_files("j") == {"out.log": "fine\n"}
