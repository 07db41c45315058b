"""scripts/field-check on a small folder of releases made from the sample release."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.erb_render import ruby_available

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
SCRIPT = ROOT / "scripts" / "field-check"

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")


def small_release(dest: Path, jobs: tuple[str, ...]) -> Path:
    """A release with a few sample jobs (and the sample's shell helpers)."""
    (dest / "jobs").mkdir(parents=True)
    for job in jobs:
        shutil.copytree(SAMPLE / "jobs" / job, dest / "jobs" / job)
    shutil.copytree(SAMPLE / "src", dest / "src")
    return dest


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two releases: web and gateway change (logs, pidfiles, ERB), metrics has nothing to change."""
    base = tmp_path_factory.mktemp("field")
    small_release(base / "alpha", ("web", "metrics"))
    small_release(base / "beta", ("gateway",))
    (base / "not-a-release").mkdir()
    return base


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300, check=False)


def test_the_table_counts_scripts_changes_and_proofs(folder: Path) -> None:
    proc = run(str(folder))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines() if line[:1].isalpha()}
    # release  scripts  changed  equiv  differ  unrun  render
    assert rows["alpha"][1:7] == ["2", "1", "1", "0", "0", "0"]
    assert rows["beta"][1:7] == ["1", "1", "1", "0", "0", "0"]
    assert rows["TOTAL"][1:7] == ["3", "2", "2", "0", "0", "0"]
    assert "not-a-release" not in rows
    assert "findings by reason:" in proc.stdout


def test_json_gives_the_same_counts_and_each_codemods_share(folder: Path) -> None:
    proc = run("--json", str(folder / "alpha"))
    data = json.loads(proc.stdout)
    (alpha,) = data["releases"]
    assert (alpha["name"], alpha["scripts"], alpha["changed"], alpha["equivalent"]) == ("alpha", 2, 1, 1)
    assert alpha["differing"] == [] and alpha["unrunnable"] == [] and alpha["render_failures"] == []
    assert alpha["shares"]["log-pipelines"] == {"changed": 1, "of": 1}
    assert alpha["lines"]["log-pipelines"]["before"] > alpha["lines"]["log-pipelines"]["after"]
    assert data["totals"]["changed"] == 1


def test_a_broken_migration_shows_up_as_differing_with_its_argv(folder: Path, monkeypatch) -> None:
    loader = importlib.machinery.SourceFileLoader("field_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("field_check", loader)
    field_check = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "field_check", field_check)  # dataclasses look their module up
    loader.exec_module(field_check)
    real_migrate = field_check.migrate

    def broken(release: Path, dest: Path, *extra: str) -> dict:
        report = real_migrate(release, dest, *extra)
        ctl = dest / "jobs" / "gateway" / "templates" / "gateway_ctl.erb"
        ctl.write_text(ctl.read_text().replace("--drain-timeout=", "--drain-timeuot="))
        return report

    monkeypatch.setattr(field_check, "migrate", broken)
    result = field_check.check_release(folder / "beta", ("defaults",), 2)
    assert result.equivalent == 0
    (item,) = result.differing
    assert item["file"] == "jobs/gateway/templates/gateway_ctl.erb"
    assert "--drain-timeuot=30s" in item["detail"] and "--drain-timeout=30s" in item["detail"]


def test_a_folder_without_releases_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(str(tmp_path))
    assert proc.returncode == 2 and "no release here" in proc.stderr


def made_up_release(dest: Path) -> Path:
    """One job: a control script with ERB that moves, ERB that stays and an ERB comment, and a
    settings file of only assignments that the script sources (configuration already)."""
    job = dest / "jobs" / "beacon"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text(
        "---\nname: beacon\ntemplates:\n  beacon_ctl.erb: bin/beacon_ctl\n  settings.sh.erb: bin/settings.sh\n"
        "packages: []\nproperties:\n  beacon.port:\n    default: 4100\n  beacon.peers:\n    default: [a, b]\n")
    (job / "templates" / "settings.sh.erb").write_text(
        '#!/bin/bash\nBEACON_HOME=/var/vcap/store/beacon\nBEACON_PEERS="<%= p("beacon.peers").join(",") %>"\n')
    (job / "templates" / "beacon_ctl.erb").write_text(
        "#!/bin/bash\n"
        "<%# the peers are written one file per item %>\n"
        "source /var/vcap/jobs/beacon/bin/settings.sh\n"
        "<% p('beacon.peers').each do |peer| %>\n"
        "cat > /var/vcap/data/beacon/<%= peer %>.conf <<EOF\n"
        "peer=<%= peer %>\n"
        "EOF\n"
        "<% end %>\n"
        'exec /var/vcap/packages/beacon/bin/beacon --port <%= p("beacon.port") %>\n')
    return dest


def test_erb_tags_in_control_scripts_before_and_after_and_what_is_left_by_reason(tmp_path: Path) -> None:
    release = made_up_release(tmp_path / "made-up")
    proc = run("--json", str(release))
    (data,) = json.loads(proc.stdout)["releases"]
    # the loop's 4 tags stay, the port moves; the comment and the sourced settings file do not count
    assert data["erb"] == {"before": 5, "after": 4, "config_files": 1, "config_tags": 1}
    assert data["env_templates"] == 1 and data["env_commands"] == []
    ((reason, n),) = data["tags_left"].items()
    assert n == 4 and "heredoc" in reason and "per item" in reason
    table = run("-v", str(release)).stdout
    row = next(line for line in table.splitlines() if line.startswith("made-up"))
    assert "5->4 (20%)" in row and row.split()[-2] == "0/1"
    assert "ERB tags left in control scripts, by reason:" in table
    assert "not counted: 1 ERB tags in 1 templates" in table


def test_an_env_template_that_runs_a_command_or_reads_script_state_is_named(monkeypatch) -> None:
    loader = importlib.machinery.SourceFileLoader("field_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("field_check", loader)
    field_check = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "field_check", field_check)
    loader.exec_module(field_check)
    check = field_check.env_template_commands
    assert check(b'# Sourced by bin/x\nPORT=<%= p("port").to_s.shellescape %>\nURL="http://h:${PORT}"\n') is None
    assert check(b"A='$(not run)'\n") is None
    assert "runs" in check(b'TOKEN="$(curl -s http://h/<%= p("path") %>)"\n')
    assert "runs" in check(b"NOW=`date`\n")
    assert "reads `$cmd`" in check(b'cmd="$cmd --rootless"\n')
    assert "reads `$1`" in check(b"FIRST=$1\n")


def _field_check_module(monkeypatch):
    loader = importlib.machinery.SourceFileLoader("field_check", str(SCRIPT))
    spec = importlib.util.spec_from_loader("field_check", loader)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "field_check", module)
    loader.exec_module(module)
    return module


def test_pid_lines_count_the_jobs_pid_logic_not_messages_or_the_helpers_own_definitions(monkeypatch,
                                                                                       tmp_path: Path) -> None:
    count = _field_check_module(monkeypatch).pid_lines
    script = tmp_path / "ctl"
    script.write_text(
        "#!/bin/bash\n"
        "pid_guard() {\n"                                 # the library's own definition: not counted
        "  kill -0 $(cat $1) && exit 1\n"
        "}\n"
        "pid_guard $PIDFILE job\n"                        # 5: a call
        "echo $$ > $PIDFILE\n"                            # 6
        'echo "${!}" > $PIDFILE\n'                        # 7
        "kill `cat $PIDFILE`\n"                           # 8: backticks, like $(cat)
        "kill -QUIT $(<$PIDFILE)\n"                       # 9
        'kill "$(head -1 $PIDFILE)"\n'                    # 10
        'echo "gave up, sending kill -9 to the node"\n'   # a message: not counted
        "kill -9 $pid\n"                                  # 12
        "# kill -9 $(cat $PIDFILE)\n"                     # a comment: not counted
        'echo "${pid}" > "${PIDFILE}"\n'                  # 14: a pid kept in a variable first
        'echo "$PORT" > $RUN_DIR/port\n'                  # no pid
        "echo $child_pids > $RUN_DIR/children\n")        # a list of pids a debug run keeps: no pidfile
    assert count(script) == [5, 6, 7, 8, 9, 10, 12, 14]
