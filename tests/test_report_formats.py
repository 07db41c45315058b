"""The reports other tools read: SARIF for code scanning, Markdown for a pull request, and the
plain-text help a terminal shows. Each runs the real command on a copy of the sample release."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

import codemods

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "legacy-release"
SCHEMA = json.loads((ROOT / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())


def tool(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, check=False)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample release plus one script the engine must refuse (CRLF), so the engine has a finding."""
    root = tmp_path_factory.mktemp("formats") / "release"
    shutil.copytree(SAMPLE, root)
    crlf = root / "jobs" / "web" / "templates" / "web_crlf.erb"
    crlf.write_bytes(b"#!/bin/bash\r\nexec > >(tee -a /var/vcap/sys/log/web/x.log | logger)\r\n")
    spec = root / "jobs" / "web" / "spec"
    spec.write_text(spec.read_text().replace("templates:\n", "templates:\n  web_crlf.erb: bin/web_crlf\n", 1))
    return root


@pytest.fixture(scope="module")
def json_report(release: Path) -> dict:
    proc = tool("--check", "--output-format", "json", str(release))
    assert proc.returncode == 1, proc.stderr
    return json.loads(proc.stdout)


# -- SARIF --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sarif(release: Path) -> dict:
    proc = tool("--check", "--output-format", "sarif", str(release))
    assert proc.returncode == 1, proc.stderr  # the exit code does not depend on the format
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def test_sarif_is_valid_against_the_sarif_2_1_0_schema(sarif: dict) -> None:
    jsonschema.Draft4Validator.check_schema(SCHEMA)
    errors = sorted(jsonschema.Draft4Validator(SCHEMA).iter_errors(sarif), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert sarif["version"] == "2.1.0" and len(sarif["runs"]) == 1


def test_sarif_rules_are_the_codemods_with_their_summary_and_explain_text(sarif: dict) -> None:
    from migrator.explain import explain_text

    rules = {r["id"]: r for r in sarif["runs"][0]["tool"]["driver"]["rules"]}
    for cls in codemods.REGISTRY:
        rule = rules[cls.id]
        assert rule["shortDescription"]["text"] == cls.summary
        assert rule["help"]["text"] == explain_text(cls)
        assert "``" not in rule["help"]["text"] and "``" not in rule["help"]["markdown"]
    assert "engine" in rules  # the verification gate's findings have a rule too
    assert sarif["runs"][0]["tool"]["driver"]["name"] == "exemplar-migrate"


def test_sarif_has_one_result_per_finding_with_file_line_and_level(sarif: dict, json_report: dict) -> None:
    run = sarif["runs"][0]
    results = run["results"]
    findings = json_report["findings"]
    assert len(results) == len(findings) > 0
    levels = {"error": "error", "review": "warning", "info": "note"}
    rules = run["tool"]["driver"]["rules"]
    for result, finding in zip(results, findings):
        assert result["ruleId"] == finding["codemod"] == rules[result["ruleIndex"]]["id"]
        assert result["level"] == levels[finding["severity"]]
        assert result["message"]["text"].startswith(finding["message"])
        where = result["locations"][0]["physicalLocation"]
        assert where["artifactLocation"]["uri"] == finding["path"]
        # code scanning needs a start line: a finding about a whole file points at its first line
        assert where["region"]["startLine"] == (finding["line"] or 1)
    engine = [r for r in results if r["ruleId"] == "engine"]
    assert any("web_crlf.erb" in r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               and r["level"] == "error" for r in engine)
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
    # the fingerprint leaves out the line, so an alert stays the same alert when lines above it move
    fingerprints = [r["partialFingerprints"]["exemplarMigrateFinding/v1"] for r in results]
    assert all(re.fullmatch(r"[0-9a-f]{32}", f) for f in fingerprints)


def test_sarif_to_a_file_and_from_a_clean_release(release: Path, tmp_path: Path) -> None:
    report = tmp_path / "out.sarif"
    proc = tool("--check", "--output-format", "sarif", "-o", str(report), str(release / "jobs" / "web"))
    assert proc.returncode == 1 and proc.stdout == ""
    data = json.loads(report.read_text())
    jsonschema.Draft4Validator(SCHEMA).validate(data)
    clean = tmp_path / "clean"
    job = clean / "jobs" / "j"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text("---\nname: j\ntemplates:\n  j_ctl.erb: bin/j_ctl\npackages: []\n")
    (job / "templates" / "j_ctl.erb").write_text("#!/bin/bash\nexec >> /var/vcap/sys/log/j/j.log\nexec /bin/j\n")
    proc = tool("--check", "--output-format", "sarif", str(clean))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    jsonschema.Draft4Validator(SCHEMA).validate(data)
    assert data["runs"][0]["results"] == []


# -- Markdown -------------------------------------------------------------------------------------------
def test_markdown_is_the_pr_text_of_the_release(release: Path, json_report: dict) -> None:
    proc = tool("--dry-run", "--output-format", "markdown", str(release))
    assert proc.returncode == 1, proc.stderr
    text = proc.stdout
    assert text.startswith("# Migrate job scripts with exemplar-migrate (")
    assert text.count("\n# ") == 0, "one release, one text"
    assert "in bulk mode" not in text and "Re-running `exemplar-migrate bulk`" not in text
    assert "| Codemod | Job | Files changed | Findings to review |" in text
    for f in json_report["files"]:
        assert f"`{f['path']}`" in text
    for f in json_report["findings"]:
        if f["severity"] in ("review", "error"):
            assert f"- [ ] `{f['path']}:{f['line']}`" in text if f["line"] else f"`{f['path']}`" in text
    assert "## What the release must add" in text and "packages/sipid" in text
    # the markdown says the same as bulk mode's PR.md: made by the same code from the same result
    assert "## Behaviour changes operators will notice" in text


def test_markdown_for_several_releases_has_one_text_each(tmp_path: Path) -> None:
    for name in ("one", "two"):
        shutil.copytree(SAMPLE / "jobs" / "web", tmp_path / name / "jobs" / "web")
    proc = tool("--check", "--output-format", "markdown", str(tmp_path / "one"), str(tmp_path / "two"))
    assert proc.returncode == 1, proc.stderr
    titles = [ln for ln in proc.stdout.splitlines() if ln.startswith("# ")]
    assert len(titles) == 2


# -- help and explain ---------------------------------------------------------------------------------
def test_help_mentions_bulk_mode() -> None:
    proc = tool("--help")
    assert proc.returncode == 0
    assert "exemplar-migrate bulk" in proc.stdout
    assert "sarif" in proc.stdout and "markdown" in proc.stdout and "--color" in proc.stdout


@pytest.mark.parametrize("cid", [cls.id for cls in codemods.REGISTRY])
def test_explain_is_plain_terminal_text(cid: str) -> None:
    proc = tool("--explain", cid)
    assert proc.returncode == 0
    assert "``" not in proc.stdout and not re.search(r":[a-z]+:`", proc.stdout)
    assert proc.stdout.startswith(f"{cid}: ")
    assert max(len(line) for line in proc.stdout.splitlines()) <= 100
    assert "Why:" in proc.stdout
