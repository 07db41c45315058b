"""Run the sample control scripts before and after the sipid codemods with real bash (templates
rendered with real Ruby ERB, sipid played by the test stand-in) and check that start and stop do
the same for the operator: the pidfile names the running process, a second start is refused,
stop ends the process and removes the pidfile, stop with nothing running succeeds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.support import sipid_standin
from tests.support.erb_render import render, ruby_available
from tests.support.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "samples" / "legacy-release"

#: (job, control script, pidfile) of sample jobs whose legacy start refuses a second start
JOBS = [
    ("router", "router_ctl", "/var/vcap/sys/run/router/router.pid"),        # cf-release utils.sh
    ("cell", "cell_ctl", "/var/vcap/sys/run/cell/cell.pid"),                # diego pid_utils.sh, two stages
    ("blobstore", "blobstore_ctl", "/var/vcap/sys/run/blobstore/blobstore.pid"),  # bosh-gen ctl_setup.sh
    ("archiver", "archiver_ctl", "/var/vcap/sys/run/archiver/archiver.pid"),  # job-shipped ctl_utils.sh
    ("broker", "broker_ctl", "/var/vcap/sys/run/broker/broker.pid"),        # hand-written guard and loop
    # pid_guard in the root half, printf of $$ in the vcap half it execs: paired into one claim
    ("two-stage-start", "two-stage-start_ctl", "/var/vcap/sys/run/two-stage-start/two-stage-start.pid"),
]

MAIN = """#!/bin/bash
# stand-in for a job's main process: records its start, then runs until TERM (or KILL)
echo "$$" >> "{starts}"
if [ -n "$IGNORE_TERM" ]; then trap '' TERM; else trap 'exit 0' TERM; fi
while :; do sleep 0.05; done
"""

GRACE = "0.5"

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby (scripts/test installs it)")


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """The sample release after the sipid codemods alone (the others have their own tests)."""
    work = tmp_path_factory.mktemp("sipid") / "legacy-release"
    shutil.copytree(RELEASE, work)
    proc = subprocess.run([sys.executable, "-m", "migrator", "--select", "sipid-pidfiles,sipid-healthcheck",
                           "--allow-dirty", "-q", str(work)], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return work


@dataclass
class Job:
    """One job installed into a sandbox, with its control script ready to run."""

    box: Sandbox
    ctl: Path
    pidfile: Path
    starts: Path
    env: dict[str, str]

    def stop_everything(self, proc: subprocess.Popen) -> None:
        """Kill what a test left running: the process and its helpers (its own session)."""
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def start_in_background(self) -> subprocess.Popen:
        proc = self.box.run(self.ctl, "start", background=True, env=self.env)
        # reap the process as soon as it dies, so no zombie looks alive to kill -0 or /proc checks
        threading.Thread(target=proc.wait, daemon=True).start()
        return proc

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return self.box.run(self.ctl, *args, env=self.env, timeout=20)

    def started(self) -> list[str]:
        return self.starts.read_text().split() if self.starts.exists() else []

    def recorded_pid(self) -> str | None:
        return self.pidfile.read_text().strip() if self.pidfile.exists() else None


def install(base: Path, release: Path, job: str, script: str, pidfile: str, ignore_term: bool = False) -> Job:
    box = Sandbox(base)
    job_dir = release / "jobs" / job
    spec = yaml.safe_load((job_dir / "spec").read_text())
    for source, rendered in spec["templates"].items():
        text = render(job_dir / "spec", job_dir / "templates" / source)
        box.install(f"/var/vcap/jobs/{job}/{rendered}", text, 0o755 if rendered.startswith("bin/") else 0o644)
    for helper in (release / "src").rglob("*.sh"):
        box.install(f"/var/vcap/packages/{helper.parent.name}/{helper.name}", helper.read_text())
    starts = base / "starts"
    for package in spec.get("packages") or []:
        box.install(f"/var/vcap/packages/{package}/bin/{package}", MAIN.format(starts=starts))
    sipid_standin.install(box)  # after the packages: the migrated spec lists sipid as one
    env = {sipid_standin.GRACE_ENV: GRACE}
    if ignore_term:
        env["IGNORE_TERM"] = "1"
    return Job(box, box.path(f"/var/vcap/jobs/{job}/bin/{script}"), box.path(pidfile), starts, env)


def both(tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str):
    for label, release in (("before", RELEASE), ("after", migrated)):
        yield label, install(tmp_path / label, release, job, script, pidfile)


def start(job: Job) -> subprocess.Popen:
    proc = job.start_in_background()
    assert job.box.wait_for(lambda: job.started() and job.recorded_pid()), "the job did not start"
    return proc


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_start_records_the_running_process(tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str) -> None:
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        proc = start(j)
        try:
            assert j.recorded_pid() == str(proc.pid) == j.started()[0], label
        finally:
            j.stop_everything(proc)


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_second_start_is_refused_while_running(tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str) -> None:
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        proc = start(j)
        try:
            again = j.run("start")
            assert again.returncode != 0, (label, again.stdout, again.stderr)
            assert j.started() == [str(proc.pid)], f"{label}: a second process was started"
            assert j.recorded_pid() == str(proc.pid), label
            assert proc.poll() is None, label
        finally:
            j.stop_everything(proc)


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_stop_ends_the_process_and_removes_the_pidfile(tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str) -> None:
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        proc = start(j)
        try:
            stopped = j.run("stop")
            assert stopped.returncode == 0, (label, stopped.stderr)
            assert j.box.wait_for(lambda p=proc: p.poll() is not None), f"{label}: still running"
            assert not j.pidfile.exists(), label
        finally:
            j.stop_everything(proc)


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_stop_with_nothing_running_succeeds(tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str) -> None:
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        j.pidfile.parent.mkdir(parents=True, exist_ok=True)
        stopped = j.run("stop")
        assert stopped.returncode == 0, (label, stopped.stdout, stopped.stderr)


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_after_migration_a_process_that_ignores_term_is_killed(tmp_path: Path, migrated: Path, job: str, script: str,
                                                               pidfile: str) -> None:
    j = install(tmp_path, migrated, job, script, pidfile, ignore_term=True)
    proc = start(j)
    try:
        stopped = j.run("stop")
        assert stopped.returncode == 0, stopped.stderr
        assert j.box.wait_for(lambda: proc.poll() is not None, timeout=5)
        assert proc.returncode == -9
        assert not j.pidfile.exists()
    finally:
        j.stop_everything(proc)


def test_the_stand_in_was_what_the_migrated_scripts_ran(tmp_path: Path, migrated: Path) -> None:
    """Guard against a vacuous pass: the migrated script really calls sipid."""
    text = (migrated / "jobs/broker/templates/broker_ctl.erb").read_text()
    assert "/var/vcap/packages/sipid/bin/sipid claim" in text and "sipid kill" in text


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_stop_with_a_stale_pidfile_succeeds(tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        j.pidfile.parent.mkdir(parents=True, exist_ok=True)
        j.pidfile.write_text(f"{dead.pid}\n")
        stopped = j.run("stop")
        assert stopped.returncode == 0, (label, stopped.stdout, stopped.stderr)
        # real sipid leaves a dead process's pidfile behind; the stop must still remove it
        assert not j.pidfile.exists(), label


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_stop_with_an_empty_pidfile_succeeds_and_removes_it(tmp_path: Path, migrated: Path, job: str, script: str,
                                                            pidfile: str) -> None:
    """sipid kill exits 1 on an empty pidfile (checked against the real binary); the old stops
    treated it as nothing running (some only after waiting out their grace, so only the migrated
    script is run here)."""
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        if label != "after":
            continue
        j.pidfile.parent.mkdir(parents=True, exist_ok=True)
        j.box.path(f"/var/vcap/sys/log/{job}").mkdir(parents=True, exist_ok=True)
        j.pidfile.write_text("")
        stopped = j.run("stop")
        assert stopped.returncode == 0, (label, stopped.stdout, stopped.stderr)
        assert not j.pidfile.exists(), label


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_start_after_a_crash_replaces_the_stale_pidfile(tmp_path: Path, migrated: Path, job: str, script: str,
                                                        pidfile: str) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        j.pidfile.parent.mkdir(parents=True, exist_ok=True)
        j.pidfile.write_text(f"{dead.pid}\n")
        proc = j.start_in_background()
        try:
            assert j.box.wait_for(lambda j=j, p=proc: j.recorded_pid() == str(p.pid)), label
        finally:
            j.stop_everything(proc)


#: (job, script, pidfile, does the legacy start refuse a second start?) of sample jobs whose legacy
#: start runs the process in the background and records ``$!``; migrated, they claim and exec
BACKGROUND = [
    ("background-start", "background-start_ctl", "/var/vcap/sys/run/background-start/background-start.pid", False),
    ("guarded-subshell", "ctl", "/var/vcap/sys/run/guarded-subshell/guarded-subshell.pid", True),
    # a guard, then kernel settings, then the subshell; the pid helpers come from the job's bin/
    ("tuned-index", "tuned_ctl", "/var/vcap/sys/run/tuned-index/tuned-index.pid", True),
]


@pytest.mark.parametrize("job,script,pidfile,refused", BACKGROUND, ids=[b[0] for b in BACKGROUND])
def test_a_background_start_becomes_the_process_and_refuses_a_second_start(
        tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str, refused: bool) -> None:
    """Legacy: the start returns and the pidfile names the background job. Migrated: the start
    script execs the process (the pidfile names the start's own pid) and a second start is
    refused while it runs; stop ends it and removes the pidfile, in both."""
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        proc = j.start_in_background()
        try:
            assert j.box.wait_for(lambda j=j: j.started() and j.recorded_pid()), label
            first = j.recorded_pid()
            assert j.started() == [first], label
            if label == "after":
                assert first == str(proc.pid), "the start script did not become the process"
            again = j.run("start")
            if label == "before" and not refused:
                assert j.box.wait_for(lambda j=j: len(j.started()) == 2), "the legacy start ran a second copy"
                for pid in j.started():
                    os.kill(int(pid), signal.SIGKILL)
                continue
            assert again.returncode != 0 and j.started() == [first], (label, again.stderr)
            assert j.run("stop").returncode == 0, label
            assert j.box.wait_for(lambda pid=int(first): not _alive(pid)), f"{label}: still running"
            assert not j.pidfile.exists(), label
        finally:
            j.stop_everything(proc)
            for pid in j.started():
                if _alive(int(pid)):
                    os.kill(int(pid), signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.mark.parametrize("job,script,pidfile", JOBS, ids=[j for j, _, _ in JOBS])
def test_stop_with_a_pidfile_that_holds_no_pid_keeps_the_old_status_and_removes_it(
        tmp_path: Path, migrated: Path, job: str, script: str, pidfile: str) -> None:
    """sipid kill exits 1 on a pidfile that holds no number (checked against the real binary),
    also under ``set -e`` (cell_ctl): the stop still ends as the old one did, with nothing
    running: the same exit status, and no pidfile left."""
    status = {}
    for label, j in both(tmp_path, migrated, job, script, pidfile):
        j.pidfile.parent.mkdir(parents=True, exist_ok=True)
        j.box.path(f"/var/vcap/sys/log/{job}").mkdir(parents=True, exist_ok=True)
        j.pidfile.write_text("not-a-pid\n")
        stopped = j.run("stop")
        status[label] = stopped.returncode
        if label == "after":
            assert not j.pidfile.exists(), (label, stopped.stdout, stopped.stderr)
    assert status["after"] == status["before"], status
