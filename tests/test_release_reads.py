"""What the engine reads once per release (issue 11): the ``*.sh`` files under ``src/`` that jobs'
scripts source through ``/var/vcap/packages/...`` are found by one walk per release and run, shared
by the release's jobs; a later run (a new ``discover``) walks again and sees what changed."""

from __future__ import annotations

from pathlib import Path

from migrator.codemod import Options
from migrator.discovery import discover
from migrator.engine import build_context

SCRIPT = "#!/bin/bash\nsource /var/vcap/packages/utils/{name}\necho hi\n"


def _release(root: Path) -> Path:
    for job in ("a", "b"):
        (root / "jobs" / job / "templates").mkdir(parents=True)
        (root / "jobs" / job / "spec").write_text(f"name: {job}\ntemplates:\n  ctl: bin/ctl\n")
        (root / "jobs" / job / "templates" / "ctl").write_text(SCRIPT.format(name="helpers.sh"))
    (root / "src" / "utils").mkdir(parents=True)
    (root / "src" / "utils" / "helpers.sh").write_text("say() { echo \"$1\"; }\n")
    return root


def _helpers(job) -> dict[str, str]:
    texts = {t.rel: t.path.read_text() for t in job.scripts}
    return build_context(job, Options(), texts).helpers


def test_the_jobs_of_a_release_share_one_walk_of_its_sources(tmp_path: Path) -> None:
    a, b = discover([_release(tmp_path / "rel")])
    assert a.release_files is b.release_files
    assert _helpers(a) == {"/var/vcap/packages/utils/helpers.sh": "say() { echo \"$1\"; }\n"}
    walked = a.release_files.shell_sources
    assert walked is not None and list(walked) == ["helpers.sh"]
    assert _helpers(b) == _helpers(a)
    assert b.release_files.shell_sources is walked  # not walked again


def test_a_new_run_walks_the_sources_again(tmp_path: Path) -> None:
    root = _release(tmp_path / "rel")
    a, _ = discover([root])
    _helpers(a)
    (root / "src" / "utils" / "more.sh").write_text("more() { :; }\n")
    (root / "jobs" / "a" / "templates" / "ctl").write_text(SCRIPT.format(name="more.sh"))
    a2, _ = discover([root])
    assert a2.release_files is not a.release_files
    assert _helpers(a2) == {"/var/vcap/packages/utils/more.sh": "more() { :; }\n"}
