"""Only bash and POSIX sh scripts are rewritten, and a POSIX sh script gets only POSIX sh.

The language of a template comes from its shebang, then its name, then its content; a ``#!/bin/sh``
script runs under dash on the stemcell, so what the tool writes there must run under dash; and the
shebang stays on the rendered first line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codemods.erb_to_config import ErbToConfig
from migrator.checks import language as language_check
from migrator.codemod import JobContext
from migrator.discovery import discover
from migrator.document import Document
from migrator.engine import Pipeline, migrate_job
from migrator.language import bash_constructs, classify, effective_first_line
from tests.support.codemod_case import run_codemods


# -- the classifier ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,text,kind,dialect",
    [
        # the shebang decides first, whatever the name
        ("ctl.erb", "#!/bin/bash\necho hi\n", "shell", "bash"),
        ("ctl", "#!/usr/bin/env bash\necho hi\n", "shell", "bash"),
        ("ctl", "#!/var/vcap/packages/bash-4.3/bin/bash\necho hi\n", "shell", "bash"),
        ("ctl", "#!/bin/bash -e\necho hi\n", "shell", "bash"),
        ("ctl", "#!/bin/sh\necho hi\n", "shell", "sh"),
        ("ctl", "#!/bin/dash\necho hi\n", "shell", "sh"),
        ("ctl", "#!/usr/bin/env sh\necho hi\n", "shell", "sh"),
        ("ctl", "#!/usr/bin/env -S dash -e\necho hi\n", "shell", "sh"),
        ("config.json.erb", "#!/bin/bash\necho '{}'\n", "shell", "bash"),
        ("run.erb", "#!/usr/bin/env python3\nprint('hi')\n", "other", None),
        ("run", "#!/usr/bin/ruby\nputs 1\n", "other", None),
        ("run", "#!/usr/bin/perl -w\nprint 1;\n", "other", None),
        ("run", "#!/usr/bin/env pwsh\nWrite-Host hi\n", "other", None),
        ("run", "#!/usr/bin/env node\nconsole.log(1)\n", "other", None),
        ("run", "#!/usr/bin/env escript\nmain(_) -> ok.\n", "other", None),
        ("run", "#!/bin/zsh\necho hi\n", "other", None),
        # an ERB tag that renders to nothing before the shebang: the shebang is still line 1
        ("ctl.erb", '<% if p("a.enabled") -%>\n#!/bin/sh\necho hi\n<% end -%>\n', "shell", "sh"),
        ("ctl.erb", "<%# generated -%>\n#!/usr/bin/env bash\necho hi\n", "shell", "bash"),
        # then the name, with or without .erb
        ("start.ps1.erb", "$x = 1\n", "other", None),
        ("start.ps1", "echo hi\n", "other", None),
        ("mod.psm1", "echo hi\n", "other", None),
        ("install.bat", "echo hi\n", "other", None),
        ("install.cmd.erb", "echo hi\n", "other", None),
        ("config.json.erb", '<%= p("c").to_json %>\n', "other", None),
        ("app.yml", "a: 1\n", "other", None),
        ("app.yaml.erb", "a: 1\n", "other", None),
        ("log.xml", "<a/>\n", "other", None),
        ("nginx.conf.erb", "worker_processes 1;\n", "other", None),
        ("cfg.toml", "a = 1\n", "other", None),
        ("my.ini", "[a]\nb=1\n", "other", None),
        ("app.properties", "a.b=1\n", "other", None),
        ("tool.py", "print(1)\n", "other", None),
        ("tool.rb.erb", "puts 1\n", "other", None),
        ("tool.pl", "print 1;\n", "other", None),
        ("tool.js", "x()\n", "other", None),
        ("ca.crt.erb", '<%= p("ca") %>\n', "other", None),
        ("server.key", "x\n", "other", None),
        ("cert.pem.erb", "x\n", "other", None),
        ("utils.sh", "f() { echo hi; }\n", "shell", None),
        ("utils.sh.erb", "f() { [[ -n $1 ]]; }\n", "shell", None),
        ("lib.bash", "f() { echo; }\n", "shell", "bash"),
        # then the content, ERB masked (no shebang: the dialect is the callers', see discovery)
        ("start.erb", "$ErrorActionPreference = \"Stop\"\nWrite-Host 'start'\n", "other", None),
        ("start", "param([string]$Name)\nStart-Process -FilePath x\n", "other", None),
        ("start.erb", "$env:PATH += ';C:\\bin'\n& C:\\x.exe <%= p('a') %>\n", "other", None),
        ("config.erb", '{\n  "port": <%= p("a.port") %>,\n  "tls": true\n}\n', "other", None),
        ("config.erb", '[\n  "a",\n  "b"\n]\n', "other", None),
        ("config.erb", "---\nport: <%= p('a.port') %>\nname: x\n", "other", None),
        ("config.erb", "port: 1\nhosts:\n- a\n- b\n", "other", None),
        ("config.erb", '<?xml version="1.0"?>\n<a><b/></a>\n', "other", None),
        ("config.erb", "<configuration>\n  <x>1</x>\n</configuration>\n", "other", None),
        ("config.erb", "[server]\nport = 1\n", "other", None),
        ("config.erb", "server.port=1\nserver.host=<%= p('h') %>\n", "other", None),
        ("ca.erb", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "other", None),
        ("response.erb", "HTTP/1.1 200 OK\nContent-Length: 0\n\n", "other", None),
        ("ctl.erb", 'set -e\nexec /var/vcap/packages/x/bin/x --port <%= p("a.port") %>\n', "shell", None),
        ("ctl.erb", "PORT=1\nexport PORT\n", "shell", None),
        ("ctl.erb", 'case $1 in\n  start) x ;;\nesac\n', "shell", None),
        ("ctl.erb", 'ARGS=(a b)\nexec x "${ARGS[@]}"\n', "shell", None),
        ("ctl.erb", 'source /var/vcap/packages/x/utils.sh\nstart_x\n', "shell", None),
        # nothing to go on
        ("ctl.erb", '<%= p("a.script") %>\n', "unknown", None),
        ("ctl.erb", "", "unknown", None),
        ("ctl", "frobnicate the widgets\n", "unknown", None),
        ("ctl", "if then fi (\n", "unknown", None),
    ],
)
def test_classifier(name: str, text: str, kind: str, dialect: str | None) -> None:
    verdict = classify(name, text.encode())
    assert (verdict.kind, verdict.dialect) == (kind, dialect), verdict.why


def test_rendered_first_line_skips_erb_that_renders_to_nothing() -> None:
    assert effective_first_line(b'<% if p("x") -%>\n#!/bin/sh\n') == "#!/bin/sh"
    assert effective_first_line(b'<% if p("x") %>\n#!/bin/sh\n') == '<% if p("x") %>'  # renders "\n" first
    assert effective_first_line(b"#!/bin/bash\n") == "#!/bin/bash"


def test_bash_constructs_are_tree_facts() -> None:
    doc = Document.parse("t", textwrap.dedent("""\
        source /x
        . /y
        A=(1 2); B[1]=x; echo "${A[@]}"
        [[ -f x ]]; [ -f y ]
        diff <(ls) >(cat)
        function f { :; }
        g() { :; }
        echo &> /dev/null; echo |& cat; echo $'a'
        echo '[[ source ]]'
        """).encode())
    assert dict(bash_constructs(doc)) == {"source": 1, "arrays": 3, "[[": 1, "process substitution": 2,
                                          "the function keyword": 1, "&>": 1, "|&": 1, "$'...'": 1}


# -- discovery and the whole tool on a release -------------------------------------------------------
POWERSHELL = textwrap.dedent("""\
    $ErrorActionPreference = "Stop"
    $port = <%= p("win.port") %>
    Write-Host "starting on port $port"
    Start-Process -FilePath "C:\\var\\vcap\\packages\\win\\win.exe" -ArgumentList "--port", $port
    """)
JSON_CONFIG = '{\n  "port": <%= p("win.port") %>,\n  "name": "<%= spec.name %>"\n}\n'
WIN_SPEC = textwrap.dedent("""\
    ---
    name: win
    templates:
      start.ps1.erb: bin/start.ps1
      config.json.erb: bin/config.json
      {extra}
    packages: []
    properties:
      win.port:
        default: 8080
    """)


def tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True,
                          env={**os.environ})


def make_job(root: Path, spec: str, files: dict[str, str]) -> Path:
    job = root / "jobs" / "win"
    (job / "templates").mkdir(parents=True)
    (job / "spec").write_text(spec)
    (job / "monit").write_text("")
    for name, text in files.items():
        (job / "templates" / name).write_text(text)
    return job


def test_powershell_and_json_under_bin_are_left_alone_with_only_a_verbose_note(tmp_path: Path) -> None:
    job = make_job(tmp_path / "rel", WIN_SPEC.format(extra=""),
                   {"start.ps1.erb": POWERSHELL, "config.json.erb": JSON_CONFIG})
    quiet = tool("--dry-run", str(tmp_path / "rel"))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout == ""
    assert "start.ps1" not in quiet.stderr and "config.json" not in quiet.stderr
    loud = tool("--dry-run", "-v", str(tmp_path / "rel"))
    assert loud.returncode == 0 and loud.stdout == ""
    assert "templates/start.ps1.erb" in loud.stderr and "PowerShell" in loud.stderr
    assert "templates/config.json.erb" in loud.stderr and "JSON" in loud.stderr
    applied = tool("--allow-dirty", str(tmp_path / "rel"))
    assert applied.returncode == 0, applied.stderr
    assert (job / "templates/start.ps1.erb").read_text() == POWERSHELL
    assert (job / "templates/config.json.erb").read_text() == JSON_CONFIG


def _plan(root: Path):
    import codemods

    [job] = discover([root])
    return job, migrate_job(job, Pipeline(codemods.select()))


def test_discovery_keeps_non_shell_out_of_the_scripts_and_notes_why(tmp_path: Path) -> None:
    make_job(tmp_path / "rel", WIN_SPEC.format(extra="run.erb: bin/run"),
             {"start.ps1.erb": POWERSHELL, "config.json.erb": JSON_CONFIG, "run.erb": '<%= p("win.script") %>\n'})
    job, outcome = _plan(tmp_path / "rel")
    assert job.scripts == []
    assert [t.source for t in job.unclassified] == ["run.erb"]
    assert outcome.changes == []
    assert [f.path for f in outcome.findings] == ["jobs/win/templates/run.erb"]
    assert any("start.ps1.erb" in n and "PowerShell" in n for n in outcome.notes)
    assert any("config.json.erb" in n and "JSON" in n for n in outcome.notes)


def test_windows_line_endings_in_a_powershell_template_are_no_error(tmp_path: Path) -> None:
    """CRLF is an error for a shell script (bash reads the CR), but a .ps1 is never read as one."""
    make_job(tmp_path / "rel", WIN_SPEC.format(extra=""),
             {"start.ps1.erb": POWERSHELL.replace("\n", "\r\n"), "config.json.erb": JSON_CONFIG})
    job, outcome = _plan(tmp_path / "rel")
    assert job.scripts == [] and outcome.findings == [] and outcome.changes == []


def test_a_script_without_shebang_takes_the_dialect_of_the_scripts_that_call_it(tmp_path: Path) -> None:
    spec = ("---\nname: win\ntemplates:\n  ctl.erb: bin/ctl\n  helpers.sh: bin/helpers.sh\n"
            "  lib.erb: bin/lib\npackages: []\n")
    make_job(tmp_path / "rel", spec, {"ctl.erb": "#!/bin/sh\n. /var/vcap/jobs/win/bin/helpers.sh\n",
                                      "helpers.sh": "f() { echo; }\n", "lib.erb": "g() { echo; }\n"})
    [job] = discover([tmp_path / "rel"])
    assert {t.source: t.dialect for t in job.scripts} == {"ctl.erb": "sh", "helpers.sh": "sh", "lib.erb": "bash"}


def test_a_powershell_file_named_on_the_command_line_is_left_alone(tmp_path: Path) -> None:
    job = make_job(tmp_path / "rel", WIN_SPEC.format(extra=""),
                   {"start.ps1.erb": POWERSHELL, "config.json.erb": JSON_CONFIG})
    proc = tool("--dry-run", str(job / "templates/start.ps1.erb"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""


def test_an_unclassifiable_file_under_bin_gets_a_finding_that_says_add_a_shebang(tmp_path: Path) -> None:
    job = make_job(tmp_path / "rel", WIN_SPEC.format(extra="run.erb: bin/run"),
                   {"start.ps1.erb": POWERSHELL, "config.json.erb": JSON_CONFIG,
                    "run.erb": '<%= p("win.script") %>\n'})
    proc = tool("--dry-run", str(tmp_path / "rel"))
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout == ""
    line = next(ln for ln in proc.stderr.splitlines() if "templates/run.erb" in ln)
    assert "review" in line and "cannot tell" in line
    assert "shebang" in proc.stderr
    assert (job / "templates/run.erb").read_text() == '<%= p("win.script") %>\n'


# -- POSIX output for #!/bin/sh ------------------------------------------------------------------------
SH_SCRIPT = textwrap.dedent("""\
    #!/bin/sh
    set -e
    RUN_DIR=/var/vcap/sys/run/worker
    exec /var/vcap/packages/worker/bin/worker --port <%= p("worker.port") %> <%= p("worker.args").join(" ") %>
    """)


def _dash() -> str | None:
    found = shutil.which("dash")
    if found:
        return found
    sh = os.path.realpath("/bin/sh")
    return sh if os.path.basename(sh) == "dash" else None


def test_sh_script_sources_with_a_dot_and_gets_no_arrays() -> None:
    outcome = run_codemods([ErbToConfig()], SH_SCRIPT, properties={"worker.args": {"default": []}})
    assert outcome.text == textwrap.dedent("""\
        #!/bin/sh
        set -e
        RUN_DIR=/var/vcap/sys/run/worker
        . /var/vcap/jobs/job/config/job_ctl.env
        exec /var/vcap/packages/worker/bin/worker --port "$WORKER_PORT" <%= p("worker.args").join(" ") %>
        """)
    new = Document.parse("t", outcome.text.encode())
    assert not bash_constructs(new)
    posix = [f for f in outcome.findings if "POSIX" in f.message]
    assert posix and posix[0].line == 4 and posix[0].severity == "review", outcome.findings
    env = {f.path: f.content for f in outcome.result.result.new_files}["templates/job_ctl.env.erb"]
    assert "=(" not in env and "WORKER_PORT=<%=" in env


@pytest.mark.skipif(_dash() is None, reason="dash is not installed")
def test_the_rewritten_sh_script_passes_dash() -> None:
    outcome = run_codemods([ErbToConfig()], SH_SCRIPT, properties={"worker.args": {"default": []}})
    masked = Document.parse("t", outcome.text.encode()).masked
    proc = subprocess.run([_dash(), "-n"], input=masked, capture_output=True)
    assert proc.returncode == 0, proc.stderr
    # the same script written for bash is what dash rejects: the check is real
    bash_form = masked.replace(b". /var", b"source /var") + b'X=(a b)\necho "${X[@]}"\n'
    assert subprocess.run([_dash(), "-n"], input=bash_form, capture_output=True).returncode != 0


def test_sh_flags_in_an_erb_conditional_stay_with_a_finding() -> None:
    before = textwrap.dedent("""\
        #!/bin/sh
        exec /var/vcap/packages/w/bin/w \\
        <% if p("w.debug") -%>
          --debug \\
        <% end -%>
          --port 1
        """)
    outcome = run_codemods([ErbToConfig()], before)
    assert outcome.text == before
    assert not outcome.messages("error"), outcome.findings  # the codemod itself, not the gate, says no
    assert any("POSIX" in m for m in outcome.messages("review")), outcome.findings


def test_bash_script_still_gets_source_and_arrays() -> None:
    outcome = run_codemods([ErbToConfig()], SH_SCRIPT.replace("#!/bin/sh", "#!/bin/bash"),
                           properties={"worker.args": {"default": []}})
    assert "source /var/vcap/jobs/job/config/job_ctl.env\n" in outcome.text
    assert '"${WORKER_ARGS[@]}"' in outcome.text


# -- the shebang stays on the first line --------------------------------------------------------------
def test_source_line_goes_after_a_shebang_inside_an_erb_block_around_the_whole_script() -> None:
    before = textwrap.dedent("""\
        <% if p("job.enabled") -%>
        #!/bin/bash
        exec /var/vcap/packages/job/bin/job --port <%= p("job.port") %>
        <% end -%>
        """)
    outcome = run_codemods([ErbToConfig()], before)
    assert effective_first_line(outcome.text.encode()) == "#!/bin/bash", outcome.text
    assert outcome.text.splitlines()[:3] == [
        '<% if p("job.enabled") -%>', "#!/bin/bash", "source /var/vcap/jobs/job/config/job_ctl.env"]


# -- the gate check ------------------------------------------------------------------------------------
CTX = JobContext(name="job", templates={"job_ctl.erb": "bin/job_ctl"})


def _gate(before: str, after: str) -> str | None:
    return language_check.check(CTX, Document.parse("templates/job_ctl.erb", before.encode()),
                                Document.parse("templates/job_ctl.erb", after.encode()))


@pytest.mark.parametrize("added", [
    "source /x\n", "A=(1 2)\n", 'echo "${A[@]}"\n', "[[ -f x ]] && echo\n", "cat <(ls)\n",
    "function f { :; }\n", "ls &> /dev/null\n", "ls |& cat\n", "echo $'a'\n",
])
def test_gate_rejects_a_bash_only_construct_added_to_an_sh_script(added: str) -> None:
    before = "#!/bin/sh\necho start\n"
    problem = _gate(before, before + added)
    assert problem and "sh" in problem, problem
    assert _gate(before.replace("/bin/sh", "/bin/bash"), before.replace("/bin/sh", "/bin/bash") + added) is None


def test_gate_allows_what_the_sh_script_already_had_and_posix_additions() -> None:
    before = "#!/bin/sh\nsource /x\necho start\n"
    assert _gate(before, before.replace("echo start", "echo begin")) is None
    assert _gate("#!/bin/sh\necho a\n", "#!/bin/sh\n. /x\necho a\n") is None


def test_gate_rejects_a_moved_shebang() -> None:
    assert "shebang" in (_gate("#!/bin/bash\necho a\n", "source /x\n#!/bin/bash\necho a\n") or "")
    assert "shebang" in (_gate('<% if x -%>\n#!/bin/bash\necho a\n<% end -%>\n',
                                'source /x\n<% if x -%>\n#!/bin/bash\necho a\n<% end -%>\n') or "")
    assert _gate("echo a\n", "source /x\necho a\n") is None  # no shebang to keep; no sh caller: bash


# -- the sample release ------------------------------------------------------------------------------
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def _sample_scripts() -> list[tuple[Path, Path]]:
    before_root, after_root = SAMPLES / "legacy-release", SAMPLES / "expected" / "legacy-release"
    pairs = []
    for before in sorted(before_root.glob("jobs/*/templates/**/*")):
        after = after_root / before.relative_to(before_root)
        if before.is_file() and after.is_file() and before.read_bytes() != after.read_bytes():
            pairs.append((before, after))
    return pairs


def test_every_migrated_sample_script_keeps_its_shebang_on_the_rendered_first_line() -> None:
    pairs = _sample_scripts()
    assert pairs
    for before, after in pairs:
        first = effective_first_line(before.read_bytes())
        if first.startswith("#!"):
            assert effective_first_line(after.read_bytes()) == first, after


@pytest.mark.skipif(_dash() is None, reason="dash is not installed")
def test_every_migrated_posix_sample_script_passes_dash() -> None:
    checked = 0
    for _, after in _sample_scripts():
        doc = Document.parse("t", after.read_bytes())
        if effective_first_line(doc.source) in ("#!/bin/sh", "#!/bin/dash"):
            proc = subprocess.run([_dash(), "-n"], input=doc.masked, capture_output=True)
            assert proc.returncode == 0, (after, proc.stderr)
            assert not bash_constructs(doc), after
            checked += 1
    assert checked >= 1


def test_the_windows_sample_job_is_left_alone() -> None:
    before, after = SAMPLES / "legacy-release/jobs/windows-service", SAMPLES / "expected/legacy-release/jobs/windows-service"
    assert sorted(p.relative_to(before) for p in before.rglob("*")) == sorted(p.relative_to(after) for p in after.rglob("*"))
    assert all(p.read_bytes() == (after / p.relative_to(before)).read_bytes() for p in before.rglob("*") if p.is_file())


def test_codemods_write_posix_into_every_sample_script_turned_sh(tmp_path: Path) -> None:
    """The sample release with every bash shebang made ``#!/bin/sh``: the codemods themselves write
    POSIX (the language gate never has to refuse), and dash accepts each rewritten script whose
    original it accepted."""
    import codemods

    release = tmp_path / "rel"
    shutil.copytree(SAMPLES / "legacy-release", release)
    turned = 0
    for path in release.glob("jobs/*/templates/**/*"):
        if path.is_file() and path.read_bytes().startswith((b"#!/bin/bash", b"#!/usr/bin/env bash")):
            head, _, rest = path.read_bytes().partition(b"\n")
            path.write_bytes(b"#!/bin/sh\n" + rest)
            turned += 1
    assert turned >= 10
    pipeline = Pipeline(codemods.select())
    changed = 0
    for job in discover([release]):
        outcome = migrate_job(job, pipeline)
        assert not [f for f in outcome.findings if "to a POSIX sh script" in f.message], outcome.findings
        for change in outcome.changes:
            if not (change.before and change.after and change.after.startswith(b"#!/bin/sh")):
                continue
            before, after = Document.parse("a", change.before), Document.parse("b", change.after)
            assert not bash_constructs(after) - bash_constructs(before), change.rel
            if _dash() and not language_check.dash_syntax_error(before.masked):
                assert not language_check.dash_syntax_error(after.masked), change.rel
            changed += 1
    assert changed >= 5
