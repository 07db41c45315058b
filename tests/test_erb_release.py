"""erb-to-config through the command line on small releases: what is written, and what is refused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SPEC = """---
name: app

templates:
  app_ctl.erb: bin/app_ctl

packages:
- app

properties:
  app.port:
    default: 8080
"""
SCRIPT = """#!/bin/bash
exec /var/vcap/packages/app/bin/app --port <%= p("app.port") %>
"""


def _release(tmp_path: Path) -> Path:
    job = tmp_path / "release" / "jobs" / "app"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text(SPEC)
    (job / "templates" / "app_ctl.erb").write_text(SCRIPT)
    return tmp_path / "release"


def _tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", "--select", "erb-to-config", *args],
                          capture_output=True, text=True, cwd=ROOT, check=False)


def test_the_script_the_env_template_and_the_spec_line_are_written(tmp_path: Path) -> None:
    release = _release(tmp_path)
    proc = _tool("--allow-dirty", str(release))
    assert proc.returncode in (0, 1), proc.stderr
    job = release / "jobs" / "app"
    assert "source /var/vcap/jobs/app/config/app_ctl.env" in (job / "templates/app_ctl.erb").read_text()
    assert (job / "templates/app_ctl.env.erb").read_text().endswith(
        'APP_PORT=<%= p("app.port").to_s.shellescape %>\n')
    assert "  app_ctl.env.erb: config/app_ctl.env\n" in (job / "spec").read_text()
    again = _tool("--check", str(release))
    assert "nothing to change" in again.stderr, again.stderr


def test_the_dry_run_shows_the_script_the_new_template_and_the_spec_line(tmp_path: Path) -> None:
    proc = _tool("--dry-run", str(_release(tmp_path)))
    assert proc.returncode == 1
    assert "+++ b/jobs/app/templates/app_ctl.env.erb" in proc.stdout
    assert "+  app_ctl.env.erb: config/app_ctl.env" in proc.stdout
    assert '+exec /var/vcap/packages/app/bin/app --port "$APP_PORT"' in proc.stdout


def test_an_unlisted_file_in_the_way_leaves_the_script_unchanged(tmp_path: Path) -> None:
    release = _release(tmp_path)
    job = release / "jobs" / "app"
    (job / "templates/app_ctl.env.erb").write_text("# someone else's file\n")
    proc = _tool("--allow-dirty", str(release))
    assert (job / "templates/app_ctl.erb").read_text() == SCRIPT
    assert (job / "spec").read_text() == SPEC
    assert "already exists" in proc.stdout + proc.stderr
