"""A migrated release still builds: when its jobs now call sipid and it has no ``sipid`` package,
the run adds ``packages/sipid`` (a spec and a packaging script that compiles sipid from source with
the release's Go, or with a Go vendored from the BOSH golang release) and says which commands the
maintainer runs once. The package is one more unit of the run: shown in --dry-run, written all or
nothing, never added twice."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent

CTL = """\
#!/bin/bash
PIDFILE=/var/vcap/sys/run/j/j.pid
case $1 in
  start)
    echo $$ > $PIDFILE
    exec /var/vcap/packages/j/bin/j
    ;;
  stop)
    kill $(cat $PIDFILE)
    rm -f $PIDFILE
    ;;
esac
"""

SUBMODULE = "git submodule add https://github.com/cloudfoundry/sipid src/github.com/cloudfoundry/sipid"
VENDOR = "bosh vendor-package golang-1-linux ~/workspace/bosh-package-golang-release"
CLONE = "git clone https://github.com/cloudfoundry/bosh-package-golang-release ~/workspace/bosh-package-golang-release"


def make_release(root: Path, packages: dict[str, dict[str, str]] | None = None) -> Path:
    """A small release: one job whose control script sipid-pidfiles rewrites, and ``packages``
    (name -> file -> text) under packages/."""
    job = root / "jobs" / "j"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text("---\nname: j\ntemplates:\n  j_ctl.erb: bin/j_ctl\npackages:\n- j\n")
    (job / "templates" / "j_ctl.erb").write_text(CTL)
    (job / "monit").write_text("check process j\n  with pidfile /var/vcap/sys/run/j/j.pid\n  group vcap\n")
    for name, files in {"j": {"spec": "---\nname: j\nfiles: []\n", "packaging": "set -e\n"}, **(packages or {})}.items():
        (root / "packages" / name).mkdir(parents=True, exist_ok=True)
        for file, text in files.items():
            (root / "packages" / name / file).write_text(text)
    return root


def tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


VENDORED_GO = {"spec.lock": "name: golang-1.26-linux\nfingerprint: 0123abcd\n"}
TARBALL_GO = {"spec": "---\nname: golang\nfiles:\n  - golang/go1.9.4.linux-amd64.tar.gz\n",
              "packaging": "set -e\ntar xzf golang/go1.9.4.linux-amd64.tar.gz\ncp -R go/* ${BOSH_INSTALL_TARGET}\n"}


# -- what gets added -------------------------------------------------------------------------------
def test_a_release_without_sipid_gets_a_valid_bosh_package(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    proc = tool(str(release))
    assert proc.returncode in (0, 1), proc.stderr
    assert "- sipid" in (release / "jobs/j/spec").read_text()
    spec = yaml.safe_load((release / "packages/sipid/spec").read_text())
    assert spec == {"name": "sipid", "dependencies": ["golang-1-linux"],
                    "files": ["github.com/cloudfoundry/sipid/**/*.go"]}
    packaging = release / "packages/sipid/packaging"
    assert subprocess.run(["bash", "-n", str(packaging)], capture_output=True, check=False).returncode == 0
    assert 'source "${BOSH_PACKAGES_DIR:-/var/vcap/packages}/golang-1-linux/bosh/compile.env"' in packaging.read_text()
    for command in (SUBMODULE, CLONE, VENDOR):
        assert command in proc.stderr, proc.stderr
    assert "must ship" not in proc.stderr


def test_dry_run_shows_the_new_package_and_writes_nothing(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    before = tree(release)
    proc = tool("--dry-run", str(release))
    assert proc.returncode == 1
    assert "--- /dev/null\n+++ b/packages/sipid/spec\n" in proc.stdout
    assert "--- /dev/null\n+++ b/packages/sipid/packaging\n" in proc.stdout
    assert "+name: sipid\n" in proc.stdout
    assert tree(release) == before and not (release / "packages/sipid").exists()
    assert SUBMODULE in proc.stderr


def test_the_json_report_lists_the_new_files_and_the_commands(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    report = json.loads(tool("--dry-run", "--output-format", "json", str(release)).stdout)
    created = {f["path"] for f in report["files"] if f["action"] == "create"}
    assert {"packages/sipid/spec", "packages/sipid/packaging"} <= created
    [requirement] = report["release_requirements"]
    assert requirement["package"] == "sipid" and requirement["status"] == "added"
    assert requirement["files"] == ["packages/sipid/packaging", "packages/sipid/spec"]
    assert requirement["commands"] == [SUBMODULE, CLONE, VENDOR]


def test_the_release_own_vendored_go_is_used_and_nothing_is_vendored(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r", {"golang-1.26-linux": VENDORED_GO,
                                            "golang-1.26-windows": {"spec.lock": "name: golang-1.26-windows\n"}})
    proc = tool(str(release))
    assert yaml.safe_load((release / "packages/sipid/spec").read_text())["dependencies"] == ["golang-1.26-linux"]
    assert "/golang-1.26-linux/bosh/compile.env" in (release / "packages/sipid/packaging").read_text()
    assert SUBMODULE in proc.stderr
    assert "vendor-package" not in proc.stderr


def test_an_old_style_go_package_is_used_through_its_goroot(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r", {"golang": TARBALL_GO, "gogs": {"spec": "---\nname: gogs\nfiles: []\n"}})
    tool(str(release))
    assert yaml.safe_load((release / "packages/sipid/spec").read_text())["dependencies"] == ["golang"]
    packaging = (release / "packages/sipid/packaging").read_text()
    assert 'GOROOT="$(readlink -nf "${BOSH_PACKAGES_DIR:-/var/vcap/packages}/golang")"' in packaging
    assert "compile.env" not in packaging


def test_a_go_older_than_sipid_needs_is_passed_over_with_a_reason(tmp_path: Path) -> None:
    old = {"spec": "---\nname: golang-1.5\nfiles:\n  - golang/go1.5.1.linux-amd64.tar.gz\n", "packaging": "set -e\n"}
    release = make_release(tmp_path / "r", {"golang-1.5": old})
    proc = tool(str(release))
    assert yaml.safe_load((release / "packages/sipid/spec").read_text())["dependencies"] == ["golang-1-linux"]
    assert VENDOR in proc.stderr
    assert "golang-1.5 is older than Go 1.7" in proc.stderr


def test_an_existing_submodule_is_not_asked_for_again(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r", {"golang-1-linux": {"spec.lock": "name: golang-1-linux\n"}})
    (release / "src/github.com/cloudfoundry/sipid").mkdir(parents=True)
    proc = tool(str(release))
    assert (release / "packages/sipid/spec").is_file()
    assert "git submodule add" not in proc.stderr and "vendor-package" not in proc.stderr


# -- when nothing is added -------------------------------------------------------------------------
def test_a_release_with_a_sipid_package_gets_nothing(tmp_path: Path) -> None:
    own = {"spec": "---\nname: sipid\nfiles: [sipid/sipid-linux]\n", "packaging": "cp sipid/sipid-linux x\n"}
    release = make_release(tmp_path / "r", {"sipid": own})
    proc = tool(str(release))
    assert proc.returncode in (0, 1), proc.stderr
    assert (release / "packages/sipid/spec").read_text() == own["spec"]
    assert sorted(p.name for p in (release / "packages/sipid").iterdir()) == ["packaging", "spec"]
    assert "git submodule" not in proc.stderr and "must ship" not in proc.stderr


def test_a_vendored_sipid_package_counts_as_shipped(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r", {"sipid": {"spec.lock": "name: sipid\nfingerprint: ab\n"}})
    proc = tool(str(release))
    assert sorted(p.name for p in (release / "packages/sipid").iterdir()) == ["spec.lock"]
    assert "must ship" not in proc.stderr


def test_a_sipid_path_into_another_package_adds_no_package(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    proc = tool("--sipid-path", "/var/vcap/packages/tools/bin/sipid", str(release))
    assert proc.returncode in (0, 1), proc.stderr
    assert "- tools" in (release / "jobs/j/spec").read_text()
    assert not (release / "packages/sipid").exists() and not (release / "packages/tools").exists()
    assert "The release must ship package(s): tools." in proc.stderr
    assert "git submodule" not in proc.stderr


def test_a_sipid_path_into_a_package_the_release_has_needs_nothing_more(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r", {"tools": {"spec": "---\nname: tools\nfiles: []\n", "packaging": ""}})
    proc = tool("--sipid-path", "/var/vcap/packages/tools/bin/sipid", str(release))
    assert "- tools" in (release / "jobs/j/spec").read_text()
    assert "must ship" not in proc.stderr and not (release / "packages/sipid").exists()


def test_a_sipid_path_outside_the_packages_adds_no_dependency(tmp_path: Path) -> None:
    """A sipid the stemcell or an add-on puts on the VM is not a package of this release."""
    release = make_release(tmp_path / "r")
    proc = tool("--sipid-path", "/usr/local/bin/sipid", str(release))
    assert proc.returncode in (0, 1), proc.stderr
    assert "/usr/local/bin/sipid claim" in (release / "jobs/j/templates/j_ctl.erb").read_text()
    assert "sipid" not in (release / "jobs/j/spec").read_text()
    assert not (release / "packages/sipid").exists()
    assert "must ship" not in proc.stderr


def test_a_job_folder_outside_a_release_gets_no_package(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    loose = tmp_path / "loose"
    shutil.move(str(release / "jobs" / "j"), str(loose))
    proc = tool(str(loose))
    assert "- sipid" in (loose / "spec").read_text()
    assert not (tmp_path / "packages" / "sipid").exists()
    assert "The release must ship package(s): sipid." in proc.stderr


def test_without_the_sipid_codemods_no_package_is_added(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    tool("--select", "log-pipelines", str(release))
    assert not (release / "packages/sipid").exists()


# -- runs after the first ----------------------------------------------------------------------------
def test_a_second_run_changes_nothing(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    tool(str(release))
    before = tree(release)
    proc = tool("--check", str(release))
    assert proc.returncode == 0, proc.stderr
    assert "nothing to change" in proc.stderr
    assert tree(release) == before


def test_a_release_migrated_without_its_package_gets_it_on_the_next_run(tmp_path: Path) -> None:
    """Jobs an earlier run (or an older version of the tool) migrated already list sipid."""
    release = make_release(tmp_path / "r")
    tool(str(release))
    shutil.rmtree(release / "packages/sipid")
    proc = tool("--dry-run", str(release))
    assert "+++ b/packages/sipid/spec" in proc.stdout
    assert "jobs/j" not in proc.stdout


def test_a_half_written_package_is_finished_when_what_is_there_is_ours(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    tool(str(release))
    (release / "packages/sipid/spec").unlink()  # a run killed between the two files
    proc = tool(str(release))
    assert proc.returncode in (0, 1), proc.stderr
    assert yaml.safe_load((release / "packages/sipid/spec").read_text())["name"] == "sipid"


def test_a_foreign_file_in_the_package_folder_is_not_overwritten(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    (release / "packages/sipid").mkdir()
    (release / "packages/sipid/packaging").write_text("# mine\n")
    proc = tool(str(release))
    assert proc.returncode == 1
    assert (release / "packages/sipid/packaging").read_text() == "# mine\n"
    assert not (release / "packages/sipid/spec").exists()
    assert "packages/sipid not added: packages/sipid/packaging already exists" in proc.stderr


def test_a_package_that_cannot_be_written_leaves_nothing_behind_and_the_jobs_still_apply(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    (release / "packages/sipid").write_text("a file where the package folder goes\n")
    proc = tool(str(release))
    assert proc.returncode == 1
    assert "error: job packages/sipid not written: packages/sipid" in proc.stderr
    assert (release / "packages/sipid").read_text() == "a file where the package folder goes\n"
    assert sorted(p.name for p in (release / "packages").iterdir()) == ["j", "sipid"]
    assert "- sipid" in (release / "jobs/j/spec").read_text(), "the job is its own unit and is written"
    assert "Added packages/sipid" not in proc.stderr


# -- the packaging script, run -----------------------------------------------------------------------
STUB_GO = """#!/bin/bash
# records how the packaging script calls go, then makes the file -o names
{ printf '%s\\n' "$@"; echo "GOPATH=$GOPATH"; echo "GO111MODULE=$GO111MODULE"; echo "CGO_ENABLED=$CGO_ENABLED"; } \\
  > "$GO_LOG"
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; fi
  shift
done
printf 'built\\n' > "$out"
"""


def compile_sandbox(base: Path, go_setup: str) -> tuple[Path, dict[str, str]]:
    """A compile folder with the sipid source where BOSH puts it, a packages folder with the Go
    package (a stub ``go``), and the environment BOSH gives a packaging script."""
    compile_dir, packages, install = base / "compile", base / "packages", base / "install"
    (compile_dir / "github.com/cloudfoundry/sipid").mkdir(parents=True)
    (compile_dir / "github.com/cloudfoundry/sipid/main.go").write_text("package main\n\nfunc main() {}\n")
    install.mkdir()
    if go_setup == "compile.env":
        goroot = packages / "golang-1-linux" / "goroot"
        (packages / "golang-1-linux" / "bosh").mkdir(parents=True)
        (packages / "golang-1-linux/bosh/compile.env").write_text(
            f'export GOROOT="{goroot}"\nexport GOPATH="$PWD"\nexport PATH="$GOROOT/bin:$PATH"\n')
    else:
        goroot = packages / "golang"
    (goroot / "bin").mkdir(parents=True)
    (goroot / "bin/go").write_text(STUB_GO)
    (goroot / "bin/go").chmod(0o755)
    env = {"PATH": "/usr/bin:/bin", "BOSH_INSTALL_TARGET": str(install), "BOSH_COMPILE_TARGET": str(compile_dir),
           "BOSH_PACKAGES_DIR": str(packages), "GO_LOG": str(base / "go.log")}
    return compile_dir, env


@pytest.mark.parametrize("packages,go_setup", [({}, "compile.env"), ({"golang": TARBALL_GO}, "goroot")],
                         ids=["vendored-golang", "tarball-golang"])
def test_the_packaging_script_builds_into_the_install_target(tmp_path: Path, packages, go_setup: str) -> None:
    release = make_release(tmp_path / "r", packages)
    tool(str(release))
    compile_dir, env = compile_sandbox(tmp_path / "box", go_setup)
    proc = subprocess.run(["bash", str(release / "packages/sipid/packaging")], cwd=compile_dir, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    install = Path(env["BOSH_INSTALL_TARGET"])
    assert (install / "bin/sipid").read_text() == "built\n"
    log = (tmp_path / "box/go.log").read_text().splitlines()
    assert log[:4] == ["build", "-o", f"{install}/bin/sipid", "github.com/cloudfoundry/sipid"]
    assert f"GOPATH={compile_dir}/gopath" in log and "GO111MODULE=off" in log and "CGO_ENABLED=0" in log
    assert (compile_dir / "gopath/src/github.com/cloudfoundry/sipid/main.go").is_file()


def test_the_packaging_script_says_how_to_add_missing_source(tmp_path: Path) -> None:
    release = make_release(tmp_path / "r")
    tool(str(release))
    compile_dir, env = compile_sandbox(tmp_path / "box", "compile.env")
    shutil.rmtree(compile_dir / "github.com")
    proc = subprocess.run(["bash", str(release / "packages/sipid/packaging")], cwd=compile_dir, env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert SUBMODULE.split(" ", 2)[2] in proc.stderr
    assert not (Path(env["BOSH_INSTALL_TARGET"]) / "bin/sipid").exists()


@pytest.mark.skipif(not (os.environ.get("SIPID_SRC") and shutil.which("go")),
                    reason="set SIPID_SRC to a checkout of github.com/cloudfoundry/sipid and put Go on PATH")
def test_the_packaging_script_compiles_the_real_source_with_real_go(tmp_path: Path) -> None:
    """Opt-in (the project ships neither Go nor sipid's source): a real compile, as on a BOSH VM."""
    release = make_release(tmp_path / "r")
    tool(str(release))
    compile_dir, env = compile_sandbox(tmp_path / "box", "compile.env")
    shutil.rmtree(compile_dir / "github.com/cloudfoundry/sipid")
    shutil.copytree(os.environ["SIPID_SRC"], compile_dir / "github.com/cloudfoundry/sipid")
    goroot = subprocess.run(["go", "env", "GOROOT"], capture_output=True, text=True, check=True).stdout.strip()
    (Path(env["BOSH_PACKAGES_DIR"]) / "golang-1-linux/bosh/compile.env").write_text(
        f'export GOROOT="{goroot}"\nexport GOPATH="$PWD"\nexport PATH="$GOROOT/bin:$PATH"\n')
    proc = subprocess.run(["bash", str(release / "packages/sipid/packaging")], cwd=compile_dir, env=env,
                          capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stderr
    binary = Path(env["BOSH_INSTALL_TARGET"]) / "bin/sipid"
    usage = subprocess.run([str(binary)], capture_output=True, text=True, check=False)
    assert usage.returncode == 1 and "claim --pid PID --pid-file PID_FILE" in usage.stderr


# -- the texts ---------------------------------------------------------------------------------------
def test_the_pr_text_says_what_the_maintainer_runs_once(tmp_path: Path) -> None:
    from migrator.bulk import prtext
    from migrator.bulk.runner import Settings, run_engine

    release = make_release(tmp_path / "r")
    plan = run_engine(release, Settings(workdir=tmp_path / "work", branch="b"), "r", apply=False)
    body = prtext.body(plan.migration)
    adds = body.split("## What the release must add", 1)[1]
    assert "`packages/sipid`" in adds and "`golang-1-linux`" in adds
    for command in (SUBMODULE, CLONE, VENDOR):
        assert command in adds
    assert "No public release publishes" not in adds
    files = body.split("## Files", 1)[1].split("##", 1)[0]
    assert "`packages/sipid/spec` (new; sipid-pidfiles)" in files
    message = prtext.commit_message(plan.migration)
    assert "packages/sipid/spec" in message and SUBMODULE in message

