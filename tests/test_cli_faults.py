"""Faults a user can meet, each answered by one clear line and the right exit code, never a traceback:
internal errors (123, the traceback saved to a report file), a bad ``-o``, an unreadable
``templates/`` folder and a malformed config file (2). All through the real CLI in a subprocess."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"


def run(module: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **(env or {})})


def tool(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run("migrator", *args, env=env)


def digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture
def rel(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SAMPLE, tmp_path / "rel"))


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# -- internal errors ----------------------------------------------------------------------------
def test_a_codemod_crash_is_one_line_and_the_traceback_goes_to_a_report(rel: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = run("tests.support.buggy_codemods", "--select", "test-raises", str(rel / "jobs/web"),
               env={"XDG_CACHE_HOME": str(cache)})
    assert proc.returncode == 123, proc.stderr
    assert "Traceback" not in proc.stderr and "second line" not in proc.stderr
    assert ("jobs/web/templates/web_ctl.erb: [engine] error: internal error, file left unchanged: "
            "ValueError: boom in transform\n") in proc.stderr
    [report] = list((cache / "exemplar-migrate").glob("crash-*.txt"))
    [line] = [ln for ln in proc.stderr.splitlines() if ln.startswith("internal error:")]
    assert line.endswith(f"full report saved to {report}")
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "buggy_codemods.py" in text
    assert "with a second line that must not reach the terminal" in text
    assert "jobs/web/templates/web_ctl.erb" in text


def test_the_last_line_of_defence_saves_the_report_too(rel: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    before = digest(rel)
    proc = run("tests.support.buggy_codemods", "--select", "test-broken-result", str(rel),
               env={"XDG_CACHE_HOME": str(cache)})
    assert proc.returncode == 123, proc.stderr
    line = one_line(proc.stderr)
    assert line.startswith("internal error: AttributeError: ")
    [report] = list((cache / "exemplar-migrate").glob("crash-*.txt"))
    assert line.endswith(f"; full report saved to {report}")
    assert "Traceback (most recent call last)" in report.read_text()
    assert digest(rel) == before


def test_without_a_writable_cache_the_report_goes_to_the_temp_folder(rel: Path, tmp_path: Path) -> None:
    """XDG_CACHE_HOME names a plain file, so no folder can be made under it."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = run("tests.support.buggy_codemods", "--select", "test-broken-result", str(rel),
               env={"XDG_CACHE_HOME": str(blocker), "TMPDIR": str(tmp)})
    assert proc.returncode == 123
    [report] = list((tmp / "exemplar-migrate").glob("crash-*.txt"))
    assert one_line(proc.stderr).endswith(f"full report saved to {report}")


# -- -o -----------------------------------------------------------------------------------------
def test_output_into_a_missing_folder(rel: Path, tmp_path: Path) -> None:
    before = digest(rel)
    target = tmp_path / "missing" / "report.json"
    proc = tool("--output-format", "json", "-o", str(target), str(rel))
    assert proc.returncode == 2
    assert one_line(proc.stderr) == f"error: -o {target}: the folder {target.parent} does not exist"
    assert digest(rel) == before, "nothing is applied when the report cannot be written"


def test_output_onto_a_folder(rel: Path, tmp_path: Path) -> None:
    proc = tool("--dry-run", "-o", str(tmp_path), str(rel))
    assert proc.returncode == 2
    assert one_line(proc.stderr) == f"error: -o {tmp_path}: is a folder; give the name of a file for the report"


def test_output_under_a_plain_file(rel: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    proc = tool("--dry-run", "-o", str(tmp_path / "file" / "r.txt"), str(rel))
    assert proc.returncode == 2
    assert one_line(proc.stderr) == f"error: -o {tmp_path / 'file' / 'r.txt'}: {tmp_path / 'file'} is not a folder"


# -- an unreadable templates/ folder ----------------------------------------------------------------
# The tests run as root, and chmod does not stop root from reading a folder. These are conditions
# that stop root too: a plain file where the folder should be, a symlink to nothing, and a symlink
# to itself (stat fails with ELOOP, a real OSError from the kernel).
@pytest.mark.parametrize("make, message", [
    (lambda t: t.write_text("not a folder\n"), "is not a folder; a job's templates live in a templates/ folder"),
    (lambda t: t.symlink_to("/nonexistent/templates"), "is a symlink to /nonexistent/templates, which does not exist"),
    (lambda t: t.symlink_to("templates"), "cannot be read: Too many levels of symbolic links"),
], ids=["plain-file", "dangling-symlink", "symlink-loop"])
def test_an_unreadable_templates_folder_is_named(rel: Path, make, message: str) -> None:
    templates = rel / "jobs/web/templates"
    shutil.rmtree(templates)
    make(templates)
    for args in (["--dry-run"], []):
        proc = tool(*args, str(rel))
        assert proc.returncode == 2, proc.stderr
        assert one_line(proc.stderr) == f"error: {templates}: {message}"


# -- malformed config -----------------------------------------------------------------------------
def test_a_malformed_pyproject_names_itself_and_the_line(rel: Path) -> None:
    (rel / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.exemplar-migrate]\nselect = ["log-pipelines"\n')
    proc = tool("--dry-run", str(rel))
    assert proc.returncode == 2
    line = one_line(proc.stderr)
    assert line.startswith(f"error: {rel / 'pyproject.toml'}:5: not valid TOML: "), line
    assert ".exemplar-migrate.toml" not in line


def test_a_malformed_dedicated_config_names_itself_and_the_line(rel: Path) -> None:
    (rel / ".exemplar-migrate.toml").write_text('ignore = []\nsipid-path = /var/vcap\n')
    proc = tool("--dry-run", str(rel))
    assert proc.returncode == 2
    assert one_line(proc.stderr).startswith(f"error: {rel / '.exemplar-migrate.toml'}:2: not valid TOML: ")


def test_a_config_that_is_not_utf8_is_named(rel: Path) -> None:
    (rel / "pyproject.toml").write_bytes(b'[tool.exemplar-migrate]\nselect = ["\xff"]\n')
    proc = tool("--dry-run", str(rel))
    assert proc.returncode == 2
    assert one_line(proc.stderr).startswith(f"error: {rel / 'pyproject.toml'}:2: not UTF-8")


def test_ignoring_every_codemod_is_honoured_by_parallel_workers(rel: Path) -> None:
    """Workers rebuild the pipeline from codemod ids; an empty list once meant "all of them"."""
    ids = ",".join(line.split()[0] for line in tool("--list-codemods").stdout.splitlines() if line.strip())
    proc = tool("--dry-run", "-j", "2", "--ignore", ids, str(rel))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("nothing to change.")


def test_bulk_mode_has_the_same_last_line_of_defence(rel: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    proc = run("tests.support.buggy_codemods", "bulk", str(rel), "--select", "test-fails-to-start", "--dry-run",
               "--workdir", str(tmp_path / "work"), env={"XDG_CACHE_HOME": str(cache)})
    assert proc.returncode == 123, proc.stderr
    [report] = list((cache / "exemplar-migrate").glob("crash-*.txt"))
    assert one_line(proc.stderr) == f"internal error: RuntimeError: cannot start; full report saved to {report}"
