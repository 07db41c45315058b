"""Job-level effects of the sipid codemods through the real CLI: the spec gains the package, the
release gets it (or the report says it must ship it), and a job-shipped helper leaves only when
nobody sources it."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CTL = """\
#!/bin/bash
source /var/vcap/jobs/j/helpers/ctl_utils.sh
case $1 in
  start)
    pid_guard $PIDFILE j
    echo $$ > $PIDFILE
    exec /var/vcap/packages/j/bin/j
    ;;
  stop)
    kill_and_wait $PIDFILE
    ;;
esac
"""

HELPER = """\
# job helper
pid_guard() { :; }
kill_and_wait() { :; }
link_job_file() { :; }
"""


def make_job(root: Path, extra_templates: dict[str, str] | None = None) -> Path:
    job = root / "jobs" / "j"
    (job / "templates" / "helpers").mkdir(parents=True)
    templates = {"j_ctl.erb": "bin/j_ctl", "helpers/ctl_utils.sh": "helpers/ctl_utils.sh", **(extra_templates or {})}
    lines = "\n".join(f"  {k}: {v}" for k, v in templates.items())
    (job / "spec").write_text(f"---\nname: j\n\ntemplates:\n{lines}\n\n# what the job runs\npackages:\n- j\n")
    (job / "templates" / "j_ctl.erb").write_text(CTL)
    (job / "templates" / "helpers" / "ctl_utils.sh").write_text(HELPER)
    (job / "monit").write_text("check process j\n  with pidfile /var/vcap/sys/run/j/j.pid\n  group vcap\n")
    return job


def tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)


@pytest.mark.parametrize("shebang", ["", "#!/bin/bash\n"], ids=["config-template", "script-template"])
def test_unsourced_job_helper_leaves_with_its_spec_entry_and_sipid_joins(tmp_path: Path, shebang: str) -> None:
    job = make_job(tmp_path)
    helper = job / "templates" / "helpers" / "ctl_utils.sh"
    helper.write_text(shebang + helper.read_text())
    proc = tool(str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    assert not (job / "templates" / "helpers" / "ctl_utils.sh").exists()
    assert (job / "spec").read_text() == textwrap.dedent("""\
        ---
        name: j

        templates:
          j_ctl.erb: bin/j_ctl

        # what the job runs
        packages:
        - j
        - sipid
        """)
    ctl = (job / "templates" / "j_ctl.erb").read_text()
    assert "source" not in ctl and "pid_guard" not in ctl and "kill_and_wait" not in ctl
    # the release (tmp_path, with jobs/) has no sipid package: the run adds one and says so
    assert "Added packages/sipid (builds sipid from source with golang-1-linux)" in proc.stderr
    assert (tmp_path / "packages" / "sipid" / "spec").is_file()


def test_helper_still_sourced_by_another_script_stays(tmp_path: Path) -> None:
    job = make_job(tmp_path, {"drain.erb": "bin/drain"})
    (job / "templates" / "drain.erb").write_text(
        "#!/bin/bash\nsource /var/vcap/jobs/j/helpers/ctl_utils.sh\nlink_job_file x y\necho 0\n")
    proc = tool(str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    assert (job / "templates" / "helpers" / "ctl_utils.sh").exists()
    assert "helpers/ctl_utils.sh: helpers/ctl_utils.sh" in (job / "spec").read_text()


def test_json_report_names_the_package_the_release_must_ship(tmp_path: Path) -> None:
    make_job(tmp_path)
    proc = tool("--dry-run", "--output-format", "json", str(tmp_path))
    report = json.loads(proc.stdout)
    assert [r["package"] for r in report["release_requirements"]] == ["sipid"]
    assert any(f["codemod"] == "sipid-pidfiles" for f in report["findings"])


def test_a_spec_without_packages_gets_the_key_and_the_sipid_path_names_the_package(tmp_path: Path) -> None:
    job = tmp_path / "jobs" / "k"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text("---\nname: k\ntemplates:\n  k_ctl: bin/k_ctl\nproperties: {}\n")
    (job / "templates" / "k_ctl").write_text("#!/bin/bash\nset -e\necho $$ > /var/vcap/sys/run/k/k.pid\nexec /bin/k\n")
    proc = tool("--sipid-path", "/var/vcap/packages/tools/bin/sipid", str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    assert (job / "spec").read_text() == (
        "---\nname: k\ntemplates:\n  k_ctl: bin/k_ctl\npackages:\n- tools\nproperties: {}\n")
    assert "/var/vcap/packages/tools/bin/sipid claim --pid \"$$\"" in (job / "templates" / "k_ctl").read_text()


def _bin_library_job(root: Path, library: str) -> Path:
    """The job of make_job, with its pid library shipped as bin/ctl_utils.sh (and sourced from there)."""
    job = make_job(root)
    (job / "templates" / "helpers" / "ctl_utils.sh").unlink()
    (job / "templates" / "bin").mkdir()
    (job / "templates" / "bin" / "ctl_utils.sh").write_text(library)
    spec = job / "spec"
    spec.write_text(spec.read_text().replace("helpers/ctl_utils.sh: helpers/ctl_utils.sh",
                                             "bin/ctl_utils.sh: bin/ctl_utils.sh"))
    ctl = job / "templates" / "j_ctl.erb"
    ctl.write_text(ctl.read_text().replace("/var/vcap/jobs/j/helpers/ctl_utils.sh", "/var/vcap/jobs/j/bin/ctl_utils.sh"))
    return job


def test_a_pid_library_shipped_in_bin_leaves_when_nobody_sources_it(tmp_path: Path) -> None:
    # a file of function definitions only: rendered to bin/ or not, nothing runs it on its own
    job = _bin_library_job(tmp_path, "#!/bin/bash\n" + HELPER)
    proc = tool("-v", str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    assert not (job / "templates" / "bin" / "ctl_utils.sh").exists()
    assert "ctl_utils" not in (job / "spec").read_text()
    assert "bin/ctl_utils.sh is no longer sourced by any script of the job" in proc.stderr


def test_a_bin_script_that_also_runs_commands_stays(tmp_path: Path) -> None:
    # top-level commands: it may be a program someone runs (an operator, a cron line), not only a library
    job = _bin_library_job(tmp_path, "#!/bin/bash\n" + HELPER + 'echo "loaded"\n')
    proc = tool(str(tmp_path))
    assert proc.returncode in (0, 1), proc.stderr
    assert (job / "templates" / "bin" / "ctl_utils.sh").exists()
    assert "bin/ctl_utils.sh: bin/ctl_utils.sh" in (job / "spec").read_text()
