"""All-or-nothing apply, per job: real write failures, real signals and leftovers of killed runs.

Every test runs the real CLI (``python -m migrator``) in a subprocess on a copy of the sample release
and compares each job folder, byte for byte, with the untouched sample ("all old") or with the
result of an uninterrupted run ("all new"). Faults are real filesystem conditions, never mocks.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
TEMP_NAME = re.compile(r"^\.exemplar-migrate-.+\.[a-z0-9_]{8}\.(tmp|bak|journal)$")


def tool(*args: str, preexec=None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})}, preexec_fn=preexec)


def job_digest(job_dir: Path) -> dict[str, str]:
    """Every entry of a job folder (hidden files too) with its content hash and mode."""
    out = {}
    for p in sorted(job_dir.rglob("*")):
        rel = p.relative_to(job_dir).as_posix()
        if p.is_file() and not p.is_symlink():
            out[rel] = f"{hashlib.sha256(p.read_bytes()).hexdigest()} {oct(p.stat().st_mode & 0o7777)}"
        else:
            out[rel] = "dir" if p.is_dir() else "other"
    return out


def jobs_of(release: Path) -> dict[str, dict[str, str]]:
    return {j.name: job_digest(j) for j in sorted((release / "jobs").iterdir())}


def copy_sample(dest: Path, copies: int = 1) -> Path:
    """The sample release; with ``copies > 1`` every job appears that many times (``web-1``, ...)."""
    if copies == 1:
        shutil.copytree(SAMPLE, dest)
        return dest
    (dest / "jobs").mkdir(parents=True)
    shutil.copytree(SAMPLE / "src", dest / "src")
    for i in range(1, copies + 1):
        for job in sorted((SAMPLE / "jobs").iterdir()):
            shutil.copytree(job, dest / "jobs" / f"{job.name}-{i}")
    return dest


def migrated_reference(tmp_path: Path, copies: int = 1) -> dict[str, dict[str, str]]:
    ref = copy_sample(tmp_path / "reference", copies)
    proc = tool("-q", str(ref))
    assert proc.returncode in (0, 1), proc.stderr
    return jobs_of(ref)


def temp_files(release: Path) -> list[str]:
    return [p.as_posix() for p in release.rglob("*") if TEMP_NAME.match(p.name) or p.name.endswith(".tmp")]


def limit_file_size(limit: int):
    def apply() -> None:
        # a write past the limit fails with EFBIG; Python ignores SIGXFSZ, so the process lives on
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_write_that_fails_in_the_middle_of_a_job_leaves_that_job_byte_identical(tmp_path: Path) -> None:
    """broker gets a new env template, two changed scripts and a changed spec; its spec (staged after
    the other files) is padded past RLIMIT_FSIZE, so writing it fails with EFBIG, a real OS error."""
    rel = copy_sample(tmp_path / "rel")
    spec = rel / "jobs/broker/spec"
    spec.write_text(spec.read_text() + "".join(f"# padding line {i:06d} {'x' * 60}\n" for i in range(3000)))
    before = jobs_of(rel)
    reference = migrated_reference(tmp_path)

    proc = tool(str(rel), preexec=limit_file_size(150_000))

    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    after = jobs_of(rel)
    assert after["broker"] == before["broker"], "the failed job must be left byte-identical, spec included"
    for name in after:
        if name != "broker":
            assert after[name] == reference[name], f"job {name} should have been migrated"
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: job broker")]
    assert "jobs/broker/spec" in line and "File too large" in line
    assert "not written: broker" in proc.stderr
    assert not temp_files(rel)


def _immutable(path: Path, on: bool) -> None:
    subprocess.run(["chattr", "+i" if on else "-i", str(path)], check=True, capture_output=True)


def _can_set_immutable(tmp_path: Path) -> bool:
    probe = tmp_path / "probe"
    probe.write_text("x")
    try:
        _immutable(probe, True)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    _immutable(probe, False)
    return True


def test_a_failure_after_files_were_replaced_restores_them(tmp_path: Path) -> None:
    """broker's post-start.erb carries the immutable attribute (chattr +i), which even root cannot
    link, rename over or delete. Staging succeeds (the folder is writable); the commit replaces
    broker_ctl.erb and creates post-start.env.erb first, then fails on post-start.erb with EPERM:
    what was replaced must come back from its backup and what was created must go."""
    if not _can_set_immutable(tmp_path):
        pytest.skip("chattr +i is not permitted on this filesystem")
    rel = copy_sample(tmp_path / "rel")
    locked = rel / "jobs/broker/templates/post-start.erb"
    before = jobs_of(rel)
    reference = migrated_reference(tmp_path)
    _immutable(locked, True)
    try:
        proc = tool(str(rel))
    finally:
        _immutable(locked, False)

    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    after = jobs_of(rel)
    assert after["broker"] == before["broker"]
    assert all(after[n] == reference[n] for n in after if n != "broker")
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: job broker")]
    assert "jobs/broker/templates/post-start.erb" in line and "Operation not permitted" in line
    assert not temp_files(rel)


def test_a_job_folder_nothing_can_be_created_in_fails_alone(tmp_path: Path) -> None:
    """archiver's templates/ folder is immutable: no temp file can be created there, not even by root."""
    if not _can_set_immutable(tmp_path):
        pytest.skip("chattr +i is not permitted on this filesystem")
    rel = copy_sample(tmp_path / "rel")
    folder = rel / "jobs/archiver/templates"
    before = jobs_of(rel)
    reference = migrated_reference(tmp_path)
    _immutable(folder, True)
    try:
        proc = tool(str(rel))
    finally:
        _immutable(folder, False)

    assert proc.returncode == 1, proc.stderr
    after = jobs_of(rel)
    assert after["archiver"] == before["archiver"]
    assert all(after[n] == reference[n] for n in after if n != "archiver")
    assert re.search(r"^error: job archiver not written: jobs/archiver/templates/\S+: .*Operation not permitted",
                     proc.stderr, re.M), proc.stderr
    summary = proc.stderr.strip().splitlines()[-1]
    assert "not written: archiver" in summary


def _wait_for_first_commit(proc: subprocess.Popen, spec: Path, timeout: float = 120) -> None:
    """Block until the first job's spec has been replaced (a new inode): apply has begun."""
    inode = spec.stat().st_ino
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the run ended before apply began: {proc.stderr.read()}")
        try:
            if spec.stat().st_ino != inode:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.0005)
    pytest.fail("apply never began")


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_during_apply_leaves_every_job_all_old_or_all_new(tmp_path: Path, signum: int, code: int) -> None:
    """Every sample job 8 times (about 180 jobs); the signal is sent as soon as the first job is committed, while the
    others are still being written (a real signal to the real process, no test hook)."""
    copies = 8
    rel = copy_sample(tmp_path / "rel", copies)
    before = jobs_of(rel)
    reference = migrated_reference(tmp_path, copies)
    first = sorted((rel / "jobs").iterdir())[0]

    proc = subprocess.Popen([sys.executable, "-m", "migrator", "-q", "-j", "1", str(rel)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    _wait_for_first_commit(proc, first / "spec")
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=120)

    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr
    after = jobs_of(rel)
    written = {n for n in after if after[n] == reference[n] and after[n] != before[n]}
    untouched = {n for n in after if after[n] == before[n]}
    assert written | untouched == set(after), f"half-migrated: {sorted(set(after) - written - untouched)}"
    assert first.name in written and untouched, "the signal should land while apply is in progress"
    assert not temp_files(rel)
    signame = signal.Signals(signum).name
    assert re.search(rf"^interrupted \({signame}\): \d+ jobs? written, \d+ not written", stderr, re.M), stderr
    listed_not_written = re.search(r"^not written: (.+)$", stderr, re.M)
    assert listed_not_written, stderr
    changed_before = {n for n in after if reference[n] != before[n]}
    listed = set(listed_not_written.group(1).split(", ")) & set(after)  # jobs (not release-level changes)
    assert listed == changed_before - written


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_interrupt_while_planning_stops_with_nothing_written(tmp_path: Path) -> None:
    copies = 30
    rel = copy_sample(tmp_path / "rel", copies)
    before = jobs_of(rel)
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "-j", "1", str(rel)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    # past start-up (about 0.1 s of CPU) and well before the end of planning (seconds of CPU for 450
    # jobs): measured in the process's own CPU time, so a loaded machine does not shift it
    while _cpu_seconds(proc.pid) < 0.4 and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == "interrupted (SIGINT) while planning: nothing was written"
    assert jobs_of(rel) == before


STALE_SCRIPT = "#!/bin/bash\n# a half-written copy of web_ctl.erb left by a killed run\nexec > >(tee -a >(logger -t web) >> /var/vcap/sys/log/web/x.log)\n"


def test_stale_temp_files_are_never_scripts_and_are_removed_with_a_note(tmp_path: Path) -> None:
    rel = copy_sample(tmp_path / "rel")
    templates = rel / "jobs/web/templates"
    stale = [templates / ".exemplar-migrate-web_ctl.erb.k2x9_q7a.tmp", templates / ".exemplar-migrate-web_ctl.erb.0abc12de.bak",
             rel / "jobs/web/.exemplar-migrate-spec.zz11yy22.tmp"]
    for p in stale:
        p.write_text(STALE_SCRIPT)
    keep = [templates / ".exemplar-migrate-notes.tmp", templates / "exemplar-migrate-web_ctl.erb.k2x9_q7a.tmp",
            rel / "src/.exemplar-migrate-x.sh.abcdefgh.tmp"]  # not the pattern, or outside a job folder
    for p in keep:
        p.write_text("#!/bin/bash\necho keep\n")
    reference = migrated_reference(tmp_path)

    dry = tool("--dry-run", str(rel))
    assert all(p.exists() for p in stale), "a dry run writes nothing, not even a clean-up"
    assert ".exemplar-migrate-web_ctl" not in dry.stdout and ".env.erb.env.erb" not in dry.stdout
    assert "note: jobs/web/templates/.exemplar-migrate-web_ctl.erb.k2x9_q7a.tmp: left by an interrupted run" \
        in dry.stderr

    proc = tool(str(rel))
    assert proc.returncode in (0, 1), proc.stderr
    for p in stale:
        assert not p.exists()
        assert f"note: removed {p.relative_to(rel).as_posix()}: left by an interrupted run" in proc.stderr
    assert all(p.exists() for p in keep)
    after = jobs_of(rel)
    for p in keep[:2]:
        del after["web"][p.relative_to(rel / "jobs/web").as_posix()]
    assert after == reference
    assert not list(rel.rglob("*.env.erb.env.erb"))


def test_modes_are_kept_and_new_files_are_0644_whatever_the_umask(tmp_path: Path) -> None:
    rel = copy_sample(tmp_path / "rel")
    script = rel / "jobs/broker/templates/broker_ctl.erb"
    script.chmod(0o750)
    spec = rel / "jobs/broker/spec"
    spec_mode = spec.stat().st_mode & 0o7777
    proc = tool("-q", str(rel), preexec=lambda: os.umask(0o077) and None)
    assert proc.returncode in (0, 1), proc.stderr
    assert script.stat().st_mode & 0o7777 == 0o750
    assert (rel / "jobs/broker/templates/post-start.env.erb").stat().st_mode & 0o7777 == 0o644
    assert spec.stat().st_mode & 0o7777 == spec_mode


def _all_codemod_ids() -> str:
    return ",".join(line.split()[0] for line in tool("--list-codemods").stdout.splitlines() if line.strip())


def _kill_while_renaming(rel: Path, watched: Path) -> bool:
    """Run the tool and SIGKILL it once the journal of ``watched`` exists and one of its files has
    been replaced; True when it died there, before the job's commit point."""
    proc = subprocess.Popen([sys.executable, "-m", "migrator", "-q", "-j", "1", str(rel)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    inodes = {p: p.stat().st_ino for p in watched.rglob("*") if p.is_file()}
    seen = False
    while not seen and proc.poll() is None:
        seen = any(n.endswith(".journal") for n in os.listdir(watched))
    while seen and proc.poll() is None and all(p.stat().st_ino == i for p, i in inodes.items()):
        pass  # until the first of its files has been replaced
    proc.kill()
    proc.wait()
    assert seen, "the writer keeps a journal while it renames a job's files"
    return any(p.name.endswith(".journal") for p in watched.iterdir())


def test_a_run_killed_outright_while_writing_a_job_is_undone_by_the_next_run(tmp_path: Path) -> None:
    """SIGKILL cannot be caught: it is sent while job broker-1's files are being renamed into place
    (its journal exists, one file is already replaced). The next run that applies changes must put
    broker-1 back as it was (here with every codemod ignored, so that recovery is all it does), then a
    normal run finishes the migration. A busy machine can let the job reach its commit point before
    the kill lands; then the attempt is repeated on a fresh copy (the invariants hold either way)."""
    copies = 2
    reference = migrated_reference(tmp_path, copies)
    for attempt in range(5):
        rel = copy_sample(tmp_path / f"rel{attempt}", copies)
        before = jobs_of(rel)
        watched = rel / "jobs" / "broker-1"
        mid_commit = _kill_while_renaming(rel, watched)
        if mid_commit:
            half = {k: v for k, v in job_digest(watched).items() if not TEMP_NAME.match(Path(k).name)}
            assert half != before["broker-1"], "killed with some of the job's files already replaced"

        recover = tool(str(rel), "--ignore", _all_codemod_ids())
        assert recover.returncode == 0, recover.stderr
        after = jobs_of(rel)
        for name in after:
            assert after[name] in (before[name], reference[name]), f"{name} is half-migrated"
        assert not temp_files(rel)
        if mid_commit:
            break
    else:
        pytest.fail("the kill never landed while a job was being renamed into place")
    assert re.search(r"^note: jobs/broker-1: put back as it was before a killed run's unfinished write "
                     r"\([1-9]\d* files? restored or removed\)$", recover.stderr, re.M), recover.stderr
    assert after["broker-1"] == before["broker-1"]

    finish = tool("-q", str(rel))
    assert finish.returncode in (0, 1), finish.stderr
    assert jobs_of(rel) == reference


def test_the_json_report_of_an_apply_says_which_jobs_were_written(tmp_path: Path) -> None:
    """As above, archiver's templates/ folder is immutable; the JSON report is made after apply."""
    if not _can_set_immutable(tmp_path):
        pytest.skip("chattr +i is not permitted on this filesystem")
    rel = copy_sample(tmp_path / "rel")
    folder = rel / "jobs/archiver/templates"
    out = tmp_path / "report.json"
    _immutable(folder, True)
    try:
        proc = tool("--output-format", "json", "-o", str(out), str(rel))
    finally:
        _immutable(folder, False)
    assert proc.returncode == 1, proc.stderr
    jobs = json.loads(out.read_text())["jobs"]
    [failed] = jobs["not_written"]
    assert failed["job"] == "archiver" and "Operation not permitted" in failed["reason"]
    assert "web" in jobs["written"] and "archiver" not in jobs["written"]
    assert jobs["interrupted_by"] is None
