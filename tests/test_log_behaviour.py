"""Run the sample scripts before and after log-pipelines with real bash (ERB rendered with real
Ruby) and check that every line reaches the same log files, and that the new scripts start no
logger, tee or awk."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.erb_render import render, ruby_available
from tests.support.sandbox import Sandbox, settle

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "samples" / "legacy-release"
PLUMBING = {"logger", "tee", "awk", "perl", "sed"}

# (job, template source, arguments): the sample scripts that carry log plumbing
CASES = [
    ("web", "web_ctl.erb", ["start"]),
    ("worker", "worker_ctl.erb", ["start"]),
    ("scheduler", "scheduler_ctl.erb", ["start"]),
    ("scheduler", "migrate.sh", []),
    ("scheduler", "post-start.sh.erb", []),
    ("reporter", "reporter_ctl.erb", ["start"]),
]

MAIN = """#!/bin/bash
# stand-in for a job's main process: one line on each stream, then exit
echo "MARK-OUT {name} $*"
echo "MARK-ERR {name} $*" >&2
"""

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby (scripts/test installs it)")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """The sample release after log-pipelines alone (the other codemods have their own tests)."""
    work = tmp_path_factory.mktemp("migrated") / "legacy-release"
    shutil.copytree(RELEASE, work)
    proc = subprocess.run([sys.executable, "-m", "migrator", "--select", "log-pipelines", "--allow-dirty", str(work)],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return work


def _rendered_path(release: Path, job: str, source: str) -> str:
    spec = (release / "jobs" / job / "spec").read_text()
    m = re.search(rf"^\s*{re.escape(source)}:\s*(\S+)", spec, re.M)
    assert m, f"{source} not in spec"
    return m.group(1)


def _run(release: Path, job: str, source: str, args: list[str], sandbox: Sandbox) -> dict[str, set[str]]:
    """Run one script; return, per marker line, the destinations (log file names, 'syslog')."""
    for pkg in ("web", "worker", "scheduler", "reporter"):
        sandbox.install(f"/var/vcap/packages/{pkg}/bin/{pkg}", MAIN.format(name=pkg))
    sandbox.install("/var/vcap/packages/common/syslog_utils.sh",
                    (release / "src/common/syslog_utils.sh").read_text())
    spec = release / "jobs" / job / "spec"
    text = render(spec, release / "jobs" / job / "templates" / source)
    script = sandbox.install(f"/var/vcap/jobs/{job}/{_rendered_path(release, job, source)}", text)
    proc = sandbox.run(script, *args)
    log_dir = sandbox.path(f"/var/vcap/sys/log/{job}")

    def destinations() -> dict[str, set[str]]:
        seen: dict[str, set[str]] = {}
        sources = dict(sandbox.log_files(job))
        sources["syslog"] = sandbox.syslog.read_text()
        sources["inherited stdout"] = proc.stdout
        sources["inherited stderr"] = proc.stderr
        for where, content in sources.items():
            for marker in re.findall(r"MARK-(?:OUT|ERR) \w+", content):
                seen.setdefault(marker, set()).add(where)
        return seen

    assert sandbox.wait_for(lambda: len(destinations()) >= 2), (proc.stdout, proc.stderr, destinations())
    settle(list(log_dir.glob("*")) + [sandbox.syslog])
    return destinations()


@pytest.mark.parametrize("job,source,args", CASES, ids=[f"{j}/{s}" for j, s, _ in CASES])
def test_lines_reach_the_same_log_files(tmp_path: Path, migrated: Path, job: str, source: str, args: list[str]) -> None:
    before_box, after_box = Sandbox(tmp_path / "before"), Sandbox(tmp_path / "after")
    before = _run(RELEASE, job, source, args, before_box)
    after = _run(migrated, job, source, args, after_box)

    assert set(before) == set(after), "a stream was lost"
    script = Path(_rendered_path(RELEASE, job, source)).name
    for marker, old_places in before.items():
        kept_files = old_places - {"syslog"}
        assert kept_files <= after[marker], f"{marker}: lost {kept_files - after[marker]}"
        assert "syslog" not in after[marker]
        if not kept_files:
            # went only to syslog: now in the script's own .stdout/.stderr log, or (hooks) on the
            # inherited stream that the BOSH agent records
            stream = "stdout" if "OUT" in marker else "stderr"
            assert after[marker] in ({f"{script}.{stream}.log"}, {f"inherited {stream}"}), after[marker]

    assert not PLUMBING & set(after_box.started()), after_box.started()
    assert PLUMBING & set(before_box.started()), "the legacy script should have used the plumbing"


def test_the_hook_output_stays_on_the_agent_recorded_stdout(tmp_path: Path, migrated: Path) -> None:
    box = Sandbox(tmp_path / "hook")
    for pkg in ("scheduler",):
        box.install(f"/var/vcap/packages/{pkg}/bin/{pkg}", MAIN.format(name=pkg))
    spec = migrated / "jobs/scheduler/spec"
    text = render(spec, migrated / "jobs/scheduler/templates/post-start.sh.erb")
    script = box.install("/var/vcap/jobs/scheduler/bin/post-start", text)
    proc = box.run(script)
    assert proc.returncode == 0
    assert "MARK-OUT scheduler status --interval 60" in proc.stdout
