"""erb-to-config, tested for real: old and new templates rendered with Ruby, both run with bash.

For every sample script the codemod changes, and several property sets, we render the original
script (as BOSH would: every template of the job, with the job's spec defaults) and the migrated
job (script, env file, new config templates), run both in the equivalence harness's sandbox
(``tests/support/equivalence.py``: every command a logging stub, the job's programs recorded with
their exported environment), and compare: the programs started, and every call apart from what
erb-to-config declares. Where the old script
was itself unsafe for a value (spaces, quotes), a separate test pins the new, safe behaviour.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import equivalence
from tests.support.equivalence import JobRun, declared_for, first_difference
from tests.support.erb_render import RenderError, render, ruby_available

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")

@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample release after erb-to-config alone (other codemods are not under test here)."""
    work = tmp_path_factory.mktemp("erb") / "legacy-release"
    shutil.copytree(SAMPLE, work)
    proc = subprocess.run([sys.executable, "-m", "migrator", "--allow-dirty", "-q", "--select", "erb-to-config",
                           str(work)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return work


def run_job(base: Path, release: Path, job: str, script: str, props: dict, *args: str,
            watch: tuple[str, ...] = ()) -> JobRun:
    """Render every template of ``job`` in ``release`` and run ``bin/<script>`` with real bash
    (``base`` is kept for the callers' sake: the harness picks a folder the script's user can use)."""
    return equivalence.run_job(release, job, script, props, *args, watch=watch)


def changed_scripts(migrated: Path) -> list[tuple[str, str]]:
    """(job, script) of every sample script that erb-to-config changed."""
    out = []
    for job_dir in sorted((SAMPLE / "jobs").iterdir()):
        if not (job_dir / "spec").is_file() or not (migrated / "jobs" / job_dir.name / "spec").is_file():
            continue
        spec = yaml.safe_load((job_dir / "spec").read_text())
        for source, rendered in (spec.get("templates") or {}).items():
            old, new = job_dir / "templates" / source, migrated / "jobs" / job_dir.name / "templates" / source
            if rendered.startswith("bin/") and old.is_file() and new.is_file() and new.read_bytes() != old.read_bytes():
                out.append((job_dir.name, rendered.removeprefix("bin/")))
    return out


#: (job, script, argv of the script, files to compare, property sets)
CASES: list[tuple[str, str, tuple[str, ...], tuple[str, ...], dict[str, dict]]] = [
    ("gateway", "gateway_ctl", ("start",), (), {
        "defaults": {},
        "all-set": {"gateway": {"port": 9443, "max_procs": 4, "log_level": "debug",
                                "backends": ["10.0.0.1:80", "10.0.0.2:80"], "proxy_url": "http://proxy:3128",
                                "debug": True, "tls": {"enabled": True, "cert_path": "/var/vcap/jobs/gateway/config/tls.pem"},
                                "drain_timeout": 5, "extra_args": "--trace --buffer=64k", "admin_port": 9000}},
        "tls-only": {"gateway": {"tls": {"enabled": True}, "debug": False}},
        "debug-only": {"gateway": {"debug": True, "tls": {"enabled": False}}},
        "admin-only": {"gateway": {"admin_port": 9001}},
        "one-backend-no-extras": {"gateway": {"backends": ["a:1"], "extra_args": ""}},
        "proxy-with-spaces-and-quotes": {"gateway": {"proxy_url": "http://user:p a'ss@proxy:3128"}},
        "extra-args-spacing": {"gateway": {"extra_args": "  --a   --b=1  "}},
        "extra-args-with-quotes": {"gateway": {"extra_args": "--label 'blue green' --x=\"a b\""}},
        "tags-escaped-by-the-template": {"gateway": {"tags": ["zone a", "it's", "$HOME", "plain"]}},
    }),
    ("gateway", "gateway_ctl", ("stop",), (), {"defaults": {}}),
    ("relay", "relay_ctl", ("start",), (), {
        "defaults": {},
        "set": {"relay": {"upstream": "relay.example:7000", "workers": 8}},
        "disabled": {"relay": {"enabled": False}},
    }),
    ("web", "web_ctl", ("start",), (), {
        "defaults": {},
        "set": {"web": {"log_level": "warn", "port": 9000}},
    }),
    ("scheduler", "scheduler_ctl", ("start",), (), {"defaults": {}, "set": {"scheduler": {"interval": 15}}}),
    ("scheduler", "post-start", (), (), {"defaults": {}, "set": {"scheduler": {"interval": 5}}}),
    ("indexer", "indexer_ctl", ("start",), ("/var/vcap/data/indexer/indexer.conf",
                                            "/var/vcap/data/indexer/license.txt"), {
        "defaults": {},
        "all-set": {"indexer": {"workers": 8, "data_dir": "/var/vcap/store/idx", "shards": ["a", "b"],
                                "mode": "cluster", "warm_paths": ["/var/vcap/sys/run/indexer/warm"]}},
        "cluster-only": {"indexer": {"mode": "cluster"}},
        "license": {"indexer": {"license": "Licensed to: ACME $HOME `x` 'q'\nline two"}},
        "data-dir-with-space": {"indexer": {"data_dir": "/var/vcap/store/my index"}},
    }),
    ("mq-provisioner", "post-start", (), (), {
        "defaults": {},
        "no-lists": {"mq": {"queues": [], "users": []}},
        "mirrored-and-odd-keys": {"mq": {"mirror": True, "queues": [
            {"name": "a b", "bindings": ["k 1", "it's", "*"]}, {"name": "no-keys", "bindings": []},
            {"name": "nil-keys", "durable": True}, {"name": "last", "bindings": ["z"]}]}},
        "users-with-and-without-tags": {"mq": {"users": [{"name": "x", "tags": []}, {"name": "y", "tags": ["t"]},
                                                         {"name": "z", "tags": ["u", "v", "w"]}]}},
    }),
    ("api-registrar", "post-start", (), (), {
        "defaults": {},
        "tls": {"registrar": {"api": {"http": False, "tls": True, "tls_port": 9443}}},
        "api-off": {"registrar": {"api": {"http": False, "tls": False}}},
        "dry-run": {"registrar": {"dry_run": True}},
        "odd-name": {"registrar": {"service_name": "it's $HOME * [x]"}},
        "same-name-as-before": {"registrar": {"service_name": "registry-default"}},
    }),
    # a value its own helper escapes, moved with its assignment: escaped once, as the script had it
    ("host-watcher", "refresh", (), (), {
        "defaults": {},
        "odd-hostname": {"host_watcher": {"hostname": "db one's $HOME"}},
    }),
]


def _params():
    for job, script, args, watch, sets in CASES:
        for label, props in sets.items():
            yield pytest.param(job, script, args, watch, props, id=f"{job}-{script}-{'-'.join(args) or 'run'}-{label}")


@pytest.mark.parametrize("job,script,args,watch,props", list(_params()))
def test_old_and_new_scripts_do_the_same(tmp_path: Path, migrated: Path, job: str, script: str,
                                         args: tuple[str, ...], watch: tuple[str, ...], props: dict) -> None:
    old = run_job(tmp_path / "old", SAMPLE, job, script, props, *args, watch=watch)
    new = run_job(tmp_path / "new", migrated, job, script, props, *args, watch=watch)
    assert new.rc == old.rc, (old.stderr, new.stderr)
    if args == ("start",):
        assert "No such file" not in old.stderr + new.stderr
    assert new.calls == old.calls
    assert new.files == old.files
    assert first_difference(old.run, new.run, declared_for(["erb-to-config"])) is None
    switched_off = any(isinstance(v, dict) and v.get("enabled") is False for v in props.values())
    if args == ("start",) and not switched_off:
        assert old.calls, f"the stand-in for {job} was never started: {old.stderr}"


def test_every_other_changed_sample_script_does_the_same_with_defaults(tmp_path: Path, migrated: Path) -> None:
    """Sample scripts without a hand-written case above still get a defaults-only comparison."""
    covered = {(job, script) for job, script, *_ in CASES}
    compared = []
    for job, script in changed_scripts(migrated):
        if (job, script) in covered:
            continue
        args = ("start",) if script.endswith("_ctl") else ()
        base = tmp_path / f"{job}-{script}"
        try:
            old = run_job(base / "old", SAMPLE, job, script, {}, *args)
        except RenderError:
            continue  # a property without default: the old template cannot render without a manifest
        new = run_job(base / "new", migrated, job, script, {}, *args)
        assert (new.rc, new.calls, new.files) == (old.rc, old.calls, old.files), (job, script, old.stderr, new.stderr)
        compared.append((job, script))
    assert not (set(changed_scripts(migrated)) - covered) or compared


def test_the_migrated_scripts_hold_no_erb_where_it_moved(migrated: Path) -> None:
    gateway = (migrated / "jobs/gateway/templates/gateway_ctl.erb").read_text()
    assert "<%" not in gateway
    assert "source /var/vcap/jobs/gateway/config/gateway_ctl.env" in gateway


# -- where the old script was unsafe, the new one passes the value literally -------------------------
def test_a_value_with_a_space_is_now_one_argument(tmp_path: Path, migrated: Path) -> None:
    props = {"gateway": {"log_level": "debug verbose"}}
    old = run_job(tmp_path / "old", SAMPLE, "gateway", "gateway_ctl", props, "start")
    new = run_job(tmp_path / "new", migrated, "gateway", "gateway_ctl", props, "start")
    old_argv, new_argv = old.calls[0]["argv"], new.calls[0]["argv"]
    i = old_argv.index("--log-level")
    assert old_argv[i + 1 : i + 3] == ["debug", "verbose"]  # the old script split the value
    assert new_argv[i + 1] == "debug verbose"
    assert new_argv[i + 2] == old_argv[i + 3]


def test_a_value_with_a_quote_no_longer_breaks_the_script(tmp_path: Path, migrated: Path) -> None:
    props = {"gateway": {"log_level": "it's"}}
    old = run_job(tmp_path / "old", SAMPLE, "gateway", "gateway_ctl", props, "start")
    new = run_job(tmp_path / "new", migrated, "gateway", "gateway_ctl", props, "start")
    assert old.rc != 0 and not old.calls  # unbalanced quote: bash refused the old script
    assert new.rc == 0
    argv = new.calls[0]["argv"]
    assert argv[argv.index("--log-level") + 1] == "it's"


def test_shell_syntax_in_a_value_is_not_run(tmp_path: Path, migrated: Path) -> None:
    props = {"gateway": {"log_level": "info;touch /tmp/pwned-$$", "backends": ["$(id)", "b"]}}
    new = run_job(tmp_path / "new", migrated, "gateway", "gateway_ctl", props, "start")
    argv = new.calls[0]["argv"]
    assert argv[argv.index("--log-level") + 1] == "info;touch /tmp/pwned-$$"
    assert argv[argv.index("--backends") + 1 : argv.index("--backends") + 3] == ["$(id)", "b"]


def test_an_unset_property_without_default_still_fails_rendering_only_where_it_did(tmp_path: Path,
                                                                                   migrated: Path) -> None:
    # gateway.max_procs has no default: both old and new render fine because it is read under if_p
    run_job(tmp_path / "new", migrated, "gateway", "gateway_ctl", {}, "stop")
    with pytest.raises(RenderError):
        render(migrated / "jobs/gateway/spec", "<%= p('gateway.max_procs') %>", {})
