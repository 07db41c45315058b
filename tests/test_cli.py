"""The command line end to end: modes, exit codes, reports, bad input, git safety, config."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

FANOUT = "#!/bin/bash\nmkdir -p /var/vcap/sys/log/j\nexec > >(tee -a >(logger -t j) >> /var/vcap/sys/log/j/j.log)\nexec /bin/j\n"
MIGRATED = "#!/bin/bash\nmkdir -p /var/vcap/sys/log/j\nexec >> /var/vcap/sys/log/j/j.log\nexec /bin/j\n"
SPEC = "---\nname: j\ntemplates:\n  j_ctl.erb: bin/j_ctl\npackages: []\n"
#: the one finding FANOUT's rewrite gives: a human must check the log forwarder (so exit 1 after applying)
SYSLOG_REVIEW = "[log-pipelines] review: stdout no longer goes to syslog"


def tool(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})})


def make_release(root: Path, scripts: dict[str, bytes | str] | None = None, spec: str = SPEC) -> Path:
    job = root / "jobs" / "j"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text(spec)
    (job / "monit").write_text("check process j\n  group vcap\n")
    for name, content in (scripts or {"j_ctl.erb": FANOUT}).items():
        path = job / "templates" / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        path.chmod(0o755)
    return root


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


def test_apply_rewrites_and_keeps_the_mode(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    script = rel / "jobs/j/templates/j_ctl.erb"
    script.chmod(0o750)
    proc = tool(str(rel))
    assert proc.returncode == 1, proc.stderr  # applied, and a finding needs a human
    assert SYSLOG_REVIEW in proc.stderr and "1 file changed, 1 finding needs review." in proc.stderr
    assert script.read_text() == MIGRATED
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert not list(script.parent.glob(".*.tmp")), "temporary file left behind"


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    before = digest(rel)
    proc = tool("--dry-run", str(rel / "jobs"))
    assert proc.returncode == 1
    assert proc.stdout.startswith("--- a/jobs/j/templates/j_ctl.erb\n+++ b/jobs/j/templates/j_ctl.erb\n")
    assert "+exec >> /var/vcap/sys/log/j/j.log" in proc.stdout
    assert "1 file would be changed" in proc.stderr
    assert digest(rel) == before


def test_check_exits_1_when_changes_are_pending_and_0_when_clean(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    proc = tool("--check", str(rel))
    assert proc.returncode == 1 and proc.stdout == ""
    assert "would change jobs/j/templates/j_ctl.erb" in proc.stderr
    clean = make_release(tmp_path / "clean", {"j_ctl.erb": MIGRATED})
    assert tool("--check", str(clean)).returncode == 0


def test_single_file_and_job_folder_paths(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel", {"j_ctl.erb": FANOUT, "other": FANOUT})
    proc = tool("--dry-run", str(rel / "jobs/j/templates/j_ctl.erb"))
    assert "a/jobs/j/templates/j_ctl.erb" in proc.stdout and "templates/other" not in proc.stdout
    proc = tool("--dry-run", "-v", str(rel / "jobs/j"))
    # BOSH never renders a template the spec does not list: no codemod rewrites it, a finding says so
    assert "a/jobs/j/templates/j_ctl.erb" in proc.stdout and "templates/other" not in proc.stdout
    assert "jobs/j/templates/other: [engine] review: left unchanged: not listed in the spec" in proc.stderr


def test_json_report(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    out = tmp_path / "report.json"
    proc = tool("--dry-run", "--output-format", "json", "-o", str(out), str(rel))
    assert proc.returncode == 1
    report = json.loads(out.read_text())
    assert report["mode"] == "dry-run"
    [entry] = report["files"]
    assert entry["path"] == "jobs/j/templates/j_ctl.erb" and entry["action"] == "modify"
    assert entry["codemods"] == ["log-pipelines"]
    assert report["summary"]["files_changed"] == 1


def test_list_and_explain(tmp_path: Path) -> None:
    proc = tool("--list-codemods")
    assert proc.returncode == 0 and "log-pipelines" in proc.stdout
    proc = tool("--explain", "log-pipelines")
    assert proc.returncode == 0 and "Fix safety" in proc.stdout and "Why:" in proc.stdout
    assert tool("--explain", "nope").returncode == 2


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    assert tool("--select", "no-such-codemod", str(rel)).returncode == 2
    assert tool().returncode == 2
    proc = tool(str(tmp_path / "missing"))
    assert proc.returncode == 2 and "no such file" in proc.stderr


def test_release_without_jobs_is_a_clear_usage_error(tmp_path: Path) -> None:
    (tmp_path / "notarelease" / "src").mkdir(parents=True)
    proc = tool("--dry-run", str(tmp_path / "notarelease"))
    assert proc.returncode == 2
    assert "not a BOSH release" in proc.stderr


def test_ignore_leaves_everything(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    proc = tool("--check", "--ignore", "log-pipelines", str(rel))
    assert proc.returncode == 0 and "nothing to change" in proc.stderr


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("binary", b"#!/bin/bash\n\x00\x01\x02exec > >(tee -a x.log | logger)\n", "binary file"),
        ("latin1", "#!/bin/bash\n# caf\xe9\nexec > >(tee -a /l/x.log | logger)\n".encode("latin-1"), "not valid UTF-8"),
        ("crlf", b"#!/bin/bash\r\nexec > >(tee -a /l/x.log | logger)\r\n", "CRLF line endings"),
        ("broken", b"#!/bin/bash\nexec > >(tee -a /l/x.log | logger)\nif [ -f x ]; then\n  echo (\n", "cannot parse"),
        ("huge", b"#!/bin/bash\nexec > >(tee -a /l/x.log | logger)\n" + b"# pad\n" * 200_000, "larger than"),
        ("badtag", b"#!/bin/bash\nexec > >(tee -a /l/x.log | logger)\necho <%= p('x') \n", "ERB"),
    ],
)
def test_bad_input_is_reported_and_left_byte_identical(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    rel = make_release(tmp_path / "rel", {"j_ctl.erb": content})
    before = digest(rel)
    proc = tool(str(rel))
    assert proc.returncode == 1, proc.stderr
    assert message in proc.stderr
    assert "jobs/j/templates/j_ctl.erb" in proc.stderr
    assert digest(rel) == before


def test_symlink_pointing_outside_the_release_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.sh"
    outside.write_text(FANOUT)
    rel = make_release(tmp_path / "rel", {"other": MIGRATED})
    (rel / "jobs/j/templates/j_ctl.erb").symlink_to(outside)
    proc = tool(str(rel))
    assert proc.returncode == 1
    assert "symlink" in proc.stderr and "outside the release" in proc.stderr
    assert outside.read_text() == FANOUT
    assert (rel / "jobs/j/templates/j_ctl.erb").is_symlink()


def test_a_template_that_is_not_a_regular_file_is_reported(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel", {"other": MIGRATED})
    (rel / "jobs/j/templates/j_ctl.erb").mkdir()
    proc = tool(str(rel))
    assert proc.returncode == 1 and "not a regular file" in proc.stderr


def test_broken_spec_is_reported(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel", spec="name: j\ntemplates: [oops\n")
    proc = tool(str(rel))
    assert proc.returncode == 1 and "spec cannot be read" in proc.stderr


def _git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout


def test_dirty_git_tree_is_refused_and_nothing_is_lost(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    _git(rel, "init", "-q")
    _git(rel, "add", "-A")
    _git(rel, "commit", "-qm", "init")
    script = rel / "jobs/j/templates/j_ctl.erb"
    script.write_text(FANOUT + "# local edit\n")
    proc = tool(str(rel))
    assert proc.returncode == 2
    assert "uncommitted changes" in proc.stderr
    assert script.read_text() == FANOUT + "# local edit\n"
    proc = tool("--allow-dirty", str(rel))
    assert proc.returncode == 1 and SYSLOG_REVIEW in proc.stderr, proc.stderr
    assert script.read_text() == MIGRATED + "# local edit\n"


def test_clean_git_tree_is_applied(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    _git(rel, "init", "-q")
    _git(rel, "add", "-A")
    _git(rel, "commit", "-qm", "init")
    proc = tool(str(rel))
    assert proc.returncode == 1 and SYSLOG_REVIEW in proc.stderr, proc.stderr
    assert "j_ctl.erb" in _git(rel, "status", "--porcelain")


def test_an_apply_whose_findings_need_no_human_exits_0(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel", {"j_ctl.erb": '#!/bin/bash\nexec /bin/j --port <%= p("j.port") %>\n'},
                       spec=SPEC + "properties:\n  j.port: {default: 80}\n")
    proc = tool(str(rel))
    assert proc.returncode == 0, proc.stderr
    assert "3 files changed." in proc.stderr and "review" not in proc.stderr
    assert tool("--check", str(rel)).returncode == 0


def test_config_file_selects_codemods(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    (rel / ".exemplar-migrate.toml").write_text('ignore = ["log-pipelines"]\n')
    assert tool("--check", str(rel)).returncode == 0
    (rel / ".exemplar-migrate.toml").write_text('bogus = 1\n')
    proc = tool("--check", str(rel))
    assert proc.returncode == 2 and "unknown setting" in proc.stderr


def test_pyproject_table_is_read(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    (rel / "pyproject.toml").write_text('[tool.exemplar-migrate]\nselect = ["log-pipelines"]\n')
    assert tool("--check", str(rel)).returncode == 1


def test_parallel_jobs_give_the_same_diff(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    second = rel / "jobs" / "k"
    (second / "templates").mkdir(parents=True)
    (second / "spec").write_text(SPEC.replace("name: j", "name: k"))
    (second / "templates" / "j_ctl.erb").write_text(FANOUT)
    one = tool("--dry-run", str(rel))
    two = tool("--dry-run", "-j", "2", str(rel))
    assert one.stdout == two.stdout and one.stdout.count("--- a/") == 2


def test_module_and_console_script_agree(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("exemplar-migrate")
    if not exe.exists():
        pytest.skip("console script not installed in this environment")
    rel = make_release(tmp_path / "rel")
    a = subprocess.run([str(exe), "--dry-run", str(rel)], capture_output=True, text=True)
    assert a.stdout == tool("--dry-run", str(rel)).stdout


def test_default_parallel_plan_on_many_jobs_matches_one_process(tmp_path: Path) -> None:
    rel = make_release(tmp_path / "rel")
    for i in range(40):  # more than AUTO_PARALLEL_MIN_JOBS: the default fans out to processes
        job = rel / "jobs" / f"k{i:02d}"
        (job / "templates").mkdir(parents=True)
        (job / "spec").write_text(SPEC.replace("name: j", f"name: k{i:02d}"))
        (job / "templates" / "j_ctl.erb").write_text(FANOUT.replace("/j", f"/k{i:02d}"))
    auto = tool("--dry-run", str(rel))
    single = tool("--dry-run", "-j", "1", str(rel))
    assert auto.returncode == single.returncode == 1
    assert auto.stdout == single.stdout and auto.stdout.count("--- a/") == 41
