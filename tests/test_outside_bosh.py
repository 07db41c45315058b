"""Templates that BOSH does not run the usual way: no codemod may move anything out of them.

- a template the spec does not list is never rendered by BOSH, so no codemod touches it (and the
  job gains no package for it);
- a script another program runs as another user (a daemon's hook after it drops privileges, a path
  the job opens to other users with chmod/chown/setfacl) may not be able to read the job's config/,
  so erb-to-config leaves its ERB where it is.

Each test builds a small made-up release on disk and runs the tool as a maintainer would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _release(tmp_path: Path, job: str, spec: str, files: dict[str, str]) -> Path:
    rel = tmp_path / "rel"
    job_dir = rel / "jobs" / job
    (job_dir / "templates").mkdir(parents=True)
    (job_dir / "spec").write_text(textwrap.dedent(spec))
    (job_dir / "monit").write_text(f"check process {job}\n  group vcap\n")
    for name, text in files.items():
        path = job_dir / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return rel


def _run(path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", *args, str(path)],
                          capture_output=True, text=True, cwd=ROOT)


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


# -- a template the spec does not list ------------------------------------------------------------
LEFTOVER_CTL = """\
    #!/bin/bash
    RUN_DIR=/var/vcap/sys/run/lantern
    PIDFILE=$RUN_DIR/lantern.pid
    case $1 in
      start)
        mkdir -p $RUN_DIR
        exec > >(tee -a >(logger -t lantern) >> /var/vcap/sys/log/lantern/lantern.log)
        echo $$ > $PIDFILE
        exec /var/vcap/packages/lantern/bin/lantern --beam <%= p("lantern.beam") %>
        ;;
      stop)
        kill $(cat $PIDFILE)
        rm -f $PIDFILE
        ;;
    esac
    """


def test_a_template_the_spec_does_not_list_is_left_by_every_codemod_with_one_finding(tmp_path: Path) -> None:
    rel = _release(tmp_path, "lantern", """\
        name: lantern
        templates:
          bpm.yml.erb: config/bpm.yml
        packages:
        - lantern
        properties:
          lantern.beam: {default: wide}
        """, {"bpm.yml.erb": "processes:\n- name: lantern\n  executable: /var/vcap/packages/lantern/bin/lantern\n",
              "lantern_ctl.erb": LEFTOVER_CTL})
    before = _tree(rel)
    proc = _run(rel)
    assert _tree(rel) == before, "an unlisted template was rewritten, or the job or release gained a file"
    said = [line for line in proc.stderr.splitlines() if "lantern_ctl.erb" in line]
    assert len(said) == 1, proc.stderr
    assert "not listed in the spec" in said[0] and "BOSH never renders it" in said[0]


def test_a_package_is_added_only_for_a_script_whose_rewrite_runs_something_from_it(tmp_path: Path) -> None:
    from migrator.codemod import Codemod, CodemodResult, Edit, Options, SpecChange
    from migrator.discovery import discover
    from migrator.engine import Pipeline, migrate_job

    class _AsksForAPackage(Codemod):
        """Asks for the ``beacon`` package with every rewrite, whether the rewrite runs it or not."""
        id = "asks"
        summary = "appends a line and asks for a package"
        rationale = "test"

        def transform(self, job, doc):
            if b"# done" in doc.source:
                return CodemodResult()
            line = "/var/vcap/packages/beacon/bin/beacon ping  # done\n" if b"ping" in doc.source else "# done\n"
            return CodemodResult(edits=[Edit(len(doc.source), len(doc.source), line)],
                                 spec_changes=[SpecChange("add_package", "beacon")])

    rel = _release(tmp_path, "lamp", """\
        name: lamp
        templates:
          quiet: bin/quiet
        packages:
        - lamp
        """, {"quiet": "#!/bin/bash\necho quiet\n"})
    # the checks let a rewrite run the configured sipid binary, wherever it is
    pipeline = Pipeline([_AsksForAPackage()], Options(sipid_path="/var/vcap/packages/beacon/bin/beacon"))
    [job] = discover([rel])
    outcome = migrate_job(job, pipeline)
    assert [c.rel for c in outcome.changes] == ["jobs/lamp/templates/quiet"]
    assert outcome.required_packages == set()

    (rel / "jobs/lamp/spec").write_text("name: lamp\ntemplates:\n  quiet: bin/quiet\n  loud: bin/loud\n")
    (rel / "jobs/lamp/templates/loud").write_text("#!/bin/bash\necho ping\n")
    [job] = discover([rel])
    outcome = migrate_job(job, pipeline)
    assert outcome.required_packages == {"beacon"}, outcome.findings
    [spec] = [c for c in outcome.changes if c.rel == "jobs/lamp/spec"]
    assert b"- beacon" in spec.after


# -- a script another program runs as another user --------------------------------------------------
ADMIT_HOOK = """\
    #!/bin/bash
    set -eu
    ticket="$1"
    echo "quota <%= p("gatekeeper.quota") %>" >> "$ticket"
    """


def test_a_hook_a_daemon_runs_after_dropping_to_another_user_keeps_its_erb(tmp_path: Path) -> None:
    rel = _release(tmp_path, "gatekeeper", """\
        name: gatekeeper
        templates:
          bin/gatekeeper_ctl: bin/gatekeeper_ctl
          bin/on-admit.erb: bin/on-admit
          etc/gatekeeper.conf.erb: etc/gatekeeper.conf
        packages:
        - gatekeeper
        properties:
          gatekeeper.quota: {default: 10}
          gatekeeper.port: {default: 4000}
        """, {
        "bin/gatekeeper_ctl": """\
            #!/bin/bash
            exec /var/vcap/packages/gatekeeper/bin/gatekeeperd --config /var/vcap/jobs/gatekeeper/etc/gatekeeper.conf
            """,
        "bin/on-admit.erb": ADMIT_HOOK,
        "etc/gatekeeper.conf.erb": """\
            listen <%= p("gatekeeper.port") %>
            on-admit /var/vcap/jobs/gatekeeper/bin/on-admit
            user nobody
            """})
    before = _tree(rel)
    proc = _run(rel, "--select", "erb-to-config")
    assert _tree(rel) == before
    [said] = [line for line in proc.stderr.splitlines() if "on-admit.erb" in line]
    assert "[erb-to-config] review:" in said
    assert "etc/gatekeeper.conf names it and runs it as user nobody" in said
    assert "may not be able to read /var/vcap/jobs/gatekeeper/config" in said


@pytest.mark.parametrize("opening,shown", [
    ("chmod o+rx $JOB/bin $JOB/bin/on-admit", "chmod o+rx … $JOB/bin/on-admit"),
    ("chmod -R a+rX $JOB/bin", "chmod a+rX $JOB/bin"),
    ("chown nobody $JOB/bin/on-admit", "chown nobody $JOB/bin/on-admit"),
    ("setfacl -m u:nobody:rx $JOB/bin/on-admit", "setfacl $JOB/bin/on-admit"),
])
def test_a_script_whose_path_the_job_opens_to_other_users_keeps_its_erb(tmp_path: Path, opening: str,
                                                                         shown: str) -> None:
    rel = _release(tmp_path, "gatekeeper", """\
        name: gatekeeper
        templates:
          bin/gatekeeper_ctl: bin/gatekeeper_ctl
          bin/on-admit.erb: bin/on-admit
        properties:
          gatekeeper.quota: {default: 10}
        """, {
        "bin/gatekeeper_ctl": """\
            #!/bin/bash
            JOB=/var/vcap/jobs/gatekeeper
            {opening}
            exec /var/vcap/packages/gatekeeper/bin/gatekeeperd --hook $JOB/bin/on-admit
            """.format(opening=opening),
        "bin/on-admit.erb": ADMIT_HOOK})
    before = _tree(rel)
    proc = _run(rel, "--select", "erb-to-config")
    assert _tree(rel) == before
    [said] = [line for line in proc.stderr.splitlines() if "on-admit.erb" in line]
    assert f"bin/gatekeeper_ctl line 3: `{shown}` opens it to other users" in said


def test_a_script_only_made_executable_or_kept_for_vcap_still_moves_its_erb(tmp_path: Path) -> None:
    rel = _release(tmp_path, "gatekeeper", """\
        name: gatekeeper
        templates:
          bin/gatekeeper_ctl: bin/gatekeeper_ctl
          bin/on-admit.erb: bin/on-admit
          etc/gatekeeper.conf.erb: etc/gatekeeper.conf
        properties:
          gatekeeper.quota: {default: 10}
        """, {
        "bin/gatekeeper_ctl": """\
            #!/bin/bash
            chmod +x /var/vcap/jobs/gatekeeper/bin/on-admit
            chmod 750 /var/vcap/jobs/gatekeeper/bin/on-admit
            chown vcap:vcap /var/vcap/jobs/gatekeeper/bin/on-admit
            chmod 755 /var/vcap/jobs/gatekeeper
            chmod a+rx /var/vcap/jobs/gatekeeper/bin
            exec /var/vcap/packages/gatekeeper/bin/gatekeeperd --config /var/vcap/jobs/gatekeeper/etc/gatekeeper.conf
            """,
        "bin/on-admit.erb": ADMIT_HOOK,
        "etc/gatekeeper.conf.erb": """\
            on-admit /var/vcap/jobs/gatekeeper/bin/on-admit
            user vcap
            """})
    proc = _run(rel, "--select", "erb-to-config")
    hook = (rel / "jobs/gatekeeper/templates/bin/on-admit.erb").read_text()
    assert "<%" not in hook and "source /var/vcap/jobs/gatekeeper/config/on-admit.env" in hook, proc.stderr
