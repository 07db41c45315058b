"""The Ruby ERB gate: a rewrite is kept only where every template it leaves still renders.

Each template the pipeline changes or creates is rendered with Ruby's own ERB (the package's
``render.rb``), old and new, with spec defaults plus made-up values and again with every boolean
flipped. A script whose old version rendered and whose new version (or a template it creates) does
not is left byte-identical, without its new files and spec changes, with an error finding that
names the template and Ruby's error. Shapes come from real releases (issue 8); the job texts here
are our own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import codemods
from migrator.checks import ruby_render
from migrator.codemod import Codemod, CodemodResult, Edit, JobContext, NewFile, SpecChange
from migrator.discovery import discover
from migrator.document import Document
from migrator.engine import JobOutcome, Pipeline, build_context, migrate_job
from migrator.ruby_erb.contexts import manifest_properties
from migrator.ruby_erb.renderer import RenderRequest, RubyRenderer, default_renderer, ruby_available

ROOT = Path(__file__).resolve().parent.parent


def test_ruby_is_there_so_the_suite_runs_the_check() -> None:
    assert ruby_available(), "the test suite runs the Ruby ERB check: apt-get install ruby"


# -- a test-only codemod: exactly the breaking rewrite we want the gate to catch -------------------
class _Rewrite(Codemod):
    """Replaces given text in a script and asks for new templates (and their spec lines)."""

    id = "test-rewrite"
    summary = "a fixed rewrite, for tests"
    rationale = "test"

    def __init__(self, replacements: list[tuple[str, str]], new_files: dict[str, str] | None = None) -> None:
        self.replacements = replacements
        self.new_files = new_files or {}

    def transform(self, job: JobContext, doc: Document) -> CodemodResult:
        text = doc.source.decode("utf-8")
        if "source /var/vcap/jobs/" in text:
            return CodemodResult()  # done already
        edits = []
        for old, new in self.replacements:
            start = text.find(old)
            if start >= 0:
                a, b = len(text[:start].encode()), len(text[:start + len(old)].encode())
                edits.append(Edit(a, b, new))
        if not edits:
            return CodemodResult()
        # the script reads its new templates' values as erb-to-config does: it sources them
        after_shebang = text.index("\n") + 1
        edits += [Edit(after_shebang, after_shebang, f"source /var/vcap/jobs/{job.name}/config/"
                       f"{Path(path).name.removesuffix('.erb')}\n") for path in self.new_files]
        return CodemodResult(
            edits=edits,
            new_files=[NewFile(path, content) for path, content in self.new_files.items()],
            spec_changes=[SpecChange("add_template", path.removeprefix("templates/"),
                                     "config/" + Path(path).name.removesuffix(".erb"))
                          for path in self.new_files],
        )


def _job(tmp_path: Path, spec: str, scripts: dict[str, str], name: str = "creds"):
    job_dir = tmp_path / "rel" / "jobs" / name
    (job_dir / "templates").mkdir(parents=True)
    (job_dir / "spec").write_text(textwrap.dedent(spec))
    for file, text in scripts.items():
        (job_dir / "templates" / file).write_text(textwrap.dedent(text))
    [job] = discover([job_dir])
    return job


def _errors(outcome: JobOutcome) -> list[str]:
    return [f.message for f in outcome.errors]


def _render(job_dir: Path, rel: str, text: str, flip: bool = False, **overrides) -> tuple[bool, str]:
    """Render one template of the job as the gate does (or with ``overrides`` as manifest values)."""
    import yaml

    props = (yaml.safe_load((job_dir / "spec").read_text()) or {}).get("properties") or {}
    manifest = manifest_properties(props, flip_booleans=flip)
    for dotted, value in overrides.items():
        *path, last = dotted.split("__")
        node = manifest
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    result = default_renderer().render(RenderRequest(text, {"name": job_dir.name, "properties": props},
                                                     {"properties": manifest}))
    return result.ok, result.output if result.ok else result.summary


def _assert_renders_where_it_did(job, outcome: JobOutcome) -> None:
    """Every script the run rewrites, and every template it creates, renders in each context in
    which the job's original script rendered."""
    for change in outcome.changes:
        if change.path.name == "spec" or change.after is None:
            continue
        rel = change.path.relative_to(job.dir).as_posix()
        originals = [t for t in job.scripts if t.path == change.path] or job.scripts
        for flip in (False, True):
            before = [_render(job.dir, t.rel, t.path.read_text(), flip)[0] for t in originals]
            if all(before):
                ok, why = _render(job.dir, rel, change.after.decode(), flip)
                assert ok, f"{rel} (booleans flipped: {flip}) does not render: {why}"


# -- the orphan `<% else raise %>` around a credential check ---------------------------------------
CREDS_SPEC = """\
    name: creds
    templates:
      creds_ctl.erb: bin/creds_ctl
    packages: [creds]
    properties:
      creds.password:
        description: the admin password; the job refuses to start without one
      creds.user:
        default: admin
"""
CREDS_CTL = """\
    #!/bin/bash
    set -e
    case $1 in
      start)
    <% if p("creds.password") != "" %>
        export CREDS_PASSWORD=<%= p("creds.password") %>
    <% else raise "creds.password must be set" %>
    <% end %>
        exec /var/vcap/packages/creds/bin/creds --user <%= p("creds.user") %>
        ;;
    esac
"""


def _assert_still_refuses_empty(job, outcome: JobOutcome, script: str, prop: str) -> None:
    """The migrated job, rendered as BOSH would, renders with a value and refuses an empty one."""
    files = {c.path.relative_to(job.dir).as_posix(): c.after.decode() for c in outcome.changes if c.after}
    rels = [script] + [r for r in files if r.startswith("templates/") and r != script]
    texts = [files.get(rel) or (job.dir / rel).read_text() for rel in rels]
    assert all(_render(job.dir, rel, text, **{prop: "s3cret"})[0] for rel, text in zip(rels, texts))
    assert not all(_render(job.dir, rel, text, **{prop: ""})[0] for rel, text in zip(rels, texts)), \
        "an empty value renders: the check is gone"


def test_erb_to_config_never_loses_the_credential_check(tmp_path: Path) -> None:
    job = _job(tmp_path, CREDS_SPEC, {"creds_ctl.erb": CREDS_CTL})
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    _assert_renders_where_it_did(job, outcome)
    _assert_still_refuses_empty(job, outcome, "templates/creds_ctl.erb", "creds__password")


def test_the_token_guard_sample_keeps_its_check() -> None:
    [job] = discover([ROOT / "samples/legacy-release/jobs/token-guard"])
    outcome = migrate_job(job, Pipeline(codemods.select()))
    _assert_renders_where_it_did(job, outcome)
    _assert_still_refuses_empty(job, outcome, "templates/token-guard_ctl.erb", "token_guard__admin_token")


def test_the_gate_refuses_an_orphan_else_raise(tmp_path: Path) -> None:
    job = _job(tmp_path, CREDS_SPEC, {"creds_ctl.erb": CREDS_CTL})
    breaking = _Rewrite(
        [('<% if p("creds.password") != "" %>\n', 'if [ "$CREDS_PASSWORD_SET" = true ]; then\n'),
         ("<% end %>\n", "fi\n")],
        {"templates/creds_ctl.env.erb": 'CREDS_PASSWORD_SET=false\n<% if p("creds.password") != "" -%>\n'
                                        "CREDS_PASSWORD_SET=true\n<% end -%>\n"},
    )
    outcome = migrate_job(job, Pipeline([breaking]))
    assert outcome.changes == []  # script byte-identical, no env template, spec untouched
    [message] = _errors(outcome)
    assert message.startswith("left unchanged: Ruby ERB would not render templates/creds_ctl.erb after "
                              "test-rewrite (SyntaxError: line "), message
    assert "unexpected 'else'" in message and "\n" not in message


def test_the_same_move_done_right_is_kept(tmp_path: Path) -> None:
    job = _job(tmp_path, CREDS_SPEC, {"creds_ctl.erb": CREDS_CTL})
    right = _Rewrite(
        [('<% if p("creds.password") != "" %>\n', ""), ('<% else raise "creds.password must be set" %>\n', ""),
         ("<% end %>\n", "")],
        {"templates/creds_ctl.env.erb": '<% if p("creds.password") == "" then raise "creds.password must be set" '
                                        "end -%>\nok=1\n"},
    )
    outcome = migrate_job(job, Pipeline([right]))
    assert _errors(outcome) == []
    assert {c.rel for c in outcome.changes} == {"jobs/creds/spec", "jobs/creds/templates/creds_ctl.erb",
                                                "jobs/creds/templates/creds_ctl.env.erb"}


# -- an env template reading a Ruby local that only the script assigns -----------------------------
BIND_SPEC = """\
    name: binder
    templates:
      bind_ctl.erb: bin/bind_ctl
    properties:
      binder.level:
        default: info
"""
BIND_CTL = """\
    #!/bin/bash
    <% my_ip = spec.ip %>
    case $1 in
      start)
        exec /var/vcap/packages/binder/bin/binder --bind <%= my_ip %> --level <%= p("binder.level") %>
        ;;
    esac
"""


def test_erb_to_config_keeps_ruby_locals_renderable(tmp_path: Path) -> None:
    job = _job(tmp_path, BIND_SPEC, {"bind_ctl.erb": BIND_CTL}, name="binder")
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    _assert_renders_where_it_did(job, outcome)


def test_the_gate_refuses_an_env_template_reading_a_script_local(tmp_path: Path) -> None:
    job = _job(tmp_path, BIND_SPEC, {"bind_ctl.erb": BIND_CTL}, name="binder")
    breaking = _Rewrite([("--bind <%= my_ip %>", '--bind "$MY_IP"')],
                        {"templates/bind_ctl.env.erb": "MY_IP=<%= my_ip.to_s.shellescape %>\n"})
    outcome = migrate_job(job, Pipeline([breaking]))
    assert outcome.changes == []
    assert _errors(outcome) == ["left unchanged: Ruby ERB would not render templates/bind_ctl.env.erb after "
                                "test-rewrite (NameError: undefined local variable or method 'my_ip')"]


# -- a multi-line output tag holding a heredoc ------------------------------------------------------
PS_SPEC = """\
    name: winrun
    templates:
      run_ctl.erb: bin/run_ctl
    properties:
      winrun.greeting:
        default: hello
"""
PS_CTL = """\
    #!/bin/bash
    case $1 in
      start)
        /var/vcap/packages/winrun/bin/run --script "<%= <<~POWERSHELL
          Write-Host #{p("winrun.greeting")}
        POWERSHELL
        %>"
        ;;
    esac
"""


def test_erb_to_config_never_writes_an_unparsable_heredoc(tmp_path: Path) -> None:
    job = _job(tmp_path, PS_SPEC, {"run_ctl.erb": PS_CTL}, name="winrun")
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    _assert_renders_where_it_did(job, outcome)


def test_the_gate_names_ruby_s_heredoc_error(tmp_path: Path) -> None:
    job = _job(tmp_path, PS_SPEC, {"run_ctl.erb": PS_CTL}, name="winrun")
    tag = PS_CTL[PS_CTL.index("<%="):PS_CTL.index("%>") + 2]
    tag = textwrap.dedent("    " + tag).strip()
    body = tag.removeprefix("<%=").removesuffix("%>").strip()
    breaking = _Rewrite([(tag, "$SCRIPT")], {"templates/run_ctl.env.erb": f"SCRIPT=<%= ({body}).to_s.shellescape %>\n"})
    outcome = migrate_job(job, Pipeline([breaking]))
    assert outcome.changes == []
    [message] = _errors(outcome)
    assert message.startswith("left unchanged: Ruby ERB would not render templates/run_ctl.env.erb after test-rewrite")
    assert "can't find string \"POWERSHELL\"" in message


# -- who is blamed ----------------------------------------------------------------------------------
FLAG_SPEC = """\
    name: flags
    templates:
      flags_ctl.erb: bin/flags_ctl
    properties:
      flags.debug:
        default: false
"""


def test_a_template_that_did_not_render_before_is_not_blamed(tmp_path: Path) -> None:
    job = _job(tmp_path, FLAG_SPEC, {"flags_ctl.erb": "#!/bin/bash\necho <%= p('flags.undeclared') %>\necho hi\n"},
               name="flags")
    rewrite = _Rewrite([("echo hi\n", "echo hello\n")])
    outcome = migrate_job(job, Pipeline([rewrite]))
    assert _errors(outcome) == []
    assert [c.rel for c in outcome.changes] == ["jobs/flags/templates/flags_ctl.erb"]


def test_a_context_in_which_the_old_script_failed_does_not_count(tmp_path: Path) -> None:
    # renders with the default (debug off) only: the flipped context cannot blame the rewrite
    script = "#!/bin/bash\n<% if p('flags.debug') %>\necho <%= p('flags.undeclared') %>\n<% end %>\necho hi\n"
    job = _job(tmp_path, FLAG_SPEC, {"flags_ctl.erb": script}, name="flags")
    rewrite = _Rewrite([("echo hi\n", "echo hi <%= p('flags.debug') ? p('flags.undeclared') : '' %>\n")])
    outcome = migrate_job(job, Pipeline([rewrite]))
    assert _errors(outcome) == []
    assert [c.rel for c in outcome.changes] == ["jobs/flags/templates/flags_ctl.erb"]


def test_a_break_only_with_flipped_booleans_is_caught_and_says_so(tmp_path: Path) -> None:
    job = _job(tmp_path, FLAG_SPEC, {"flags_ctl.erb": "#!/bin/bash\necho hi\n"}, name="flags")
    rewrite = _Rewrite([("echo hi\n", "echo hi <%= p('flags.debug') ? p('flags.undeclared') : '' %>\n")])
    outcome = migrate_job(job, Pipeline([rewrite]))
    assert outcome.changes == []
    [message] = _errors(outcome)
    assert "with every boolean property flipped" in message
    assert "(UnknownProperty: property 'flags.undeclared' is not declared in the job spec)" in message


# -- the renderer ---------------------------------------------------------------------------------
def test_the_server_survives_broken_templates_and_keeps_renders_apart() -> None:
    renderer = RubyRenderer()
    try:
        results = renderer.render_many([
            RenderRequest("<% if true %>a<% end %><% else raise 'x' %>"),
            RenderRequest("<% exit 1 %>"),
            RenderRequest("<% def helper; 1; end %><% LIMIT = 2 %><% local = 3 %><% puts 'noise' %>"
                          "<% $stdin.read %>ok"),
            RenderRequest("<%= [respond_to?(:helper), defined?(LIMIT), defined?(local)].inspect %>"),
            RenderRequest("<%= raise ArgumentError, 'no' %>"),
            RenderRequest("<%= 'a b'.shellescape %> <%= {'k' => 1}.to_json %>"),
        ])
        assert [r.error for r in results] == ["SyntaxError", "SystemExit", None, None, "ArgumentError", None]
        assert results[2].output == "ok"
        assert results[3].output == "[false, nil, nil]"
        assert results[5].output == 'a\\ b {"k":1}'
        assert renderer.starts == 1
    finally:
        renderer.close()


def test_a_template_that_kills_ruby_is_blamed_and_the_rest_still_render() -> None:
    renderer = RubyRenderer()
    try:
        results = renderer.render_many([RenderRequest("<%= 1 %>"), RenderRequest("<% Process.kill(:KILL, Process.pid) %>"),
                                        RenderRequest("<%= 2 %>")])
        assert [r.output for r in results] == ["1", None, "2"]
        assert results[1].error == "RubyDied"
        assert renderer.starts == 2
    finally:
        renderer.close()


def test_link_stubs_and_bosh_context() -> None:
    spec = {"name": "web", "properties": {"web.port": {"default": 80}}}
    text = ('<%= link("db").p("port") %> <%= link("db").p("name", "x") %> <%= link("db").address %> '
            '<%= link("db").instances.size %> <%= spec.name %>/<%= spec.index %> <%= spec.bootstrap %> '
            '<%= spec.job.name %> <%= properties.web.port %> <%= name %>'
            '<% if_link("db") do |db| %>linked<% end %>')
    result = default_renderer().render(RenderRequest(text, spec))
    assert result.output == "4242 x db.link.test 1 web/0 true web 80 web", result
    # a network named by a property: any name answers with the instance's address
    networks = '<%= spec.networks.send(p("web.port").to_s).ip %> <%= spec.networks.default.ip %>'
    assert default_renderer().render(RenderRequest(networks, spec)).output == "10.0.0.10 10.0.0.10"


def test_render_rb_is_shipped_in_the_package(tmp_path: Path) -> None:
    """A normal (non-editable) build puts render.rb next to renderer.py."""
    proc = subprocess.run([sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
                           "-d", str(tmp_path / "build")], cwd=ROOT, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "build/migrator/ruby_erb/render.rb").read_bytes() == (
        ROOT / "migrator/ruby_erb/render.rb").read_bytes()


# -- a whole run: one Ruby, a summary that says what was checked -----------------------------------
def _release(tmp_path: Path, jobs: int) -> Path:
    for i in range(jobs):
        _job(tmp_path, BIND_SPEC.replace("name: binder", f"name: binder{i}"),
             {"bind_ctl.erb": BIND_CTL.replace('<%= p("binder.level") %>', '<%= p("binder.level") %> --n ' + str(i))},
             name=f"binder{i}")
    return tmp_path / "rel"


def _run(args: list[str], path: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=path)
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, check=False)


@pytest.mark.parametrize("workers", [1, 2])
def test_one_ruby_process_for_a_whole_run(tmp_path: Path, workers: int) -> None:
    rel = _release(tmp_path, 6)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "ruby-starts.log"
    wrapper = bin_dir / "ruby"
    wrapper.write_text(f"#!/bin/sh\necho start >> {log}\nexec {shutil.which('ruby')} \"$@\"\n")
    wrapper.chmod(0o755)
    proc = _run(["--dry-run", "-j", str(workers), str(rel)], f"{bin_dir}:{os.environ['PATH']}")
    assert proc.returncode == 1, proc.stderr
    assert "Ruby ERB" in proc.stderr.splitlines()[-1]
    assert log.read_text().count("start") <= workers


def test_the_summary_says_what_was_verified(tmp_path: Path) -> None:
    rel = _release(tmp_path, 1)
    proc = _run(["--dry-run", str(rel)], os.environ["PATH"])
    assert proc.stderr.splitlines()[-1].endswith(
        "verified: bash grammar, bash -n, Ruby ERB, commands, variables, idempotence"), proc.stderr
    assert "skipped" not in proc.stderr


def test_without_ruby_the_run_goes_on_and_says_once_how_to_get_the_check(tmp_path: Path) -> None:
    rel = _release(tmp_path, 3)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "sh", "env", "git"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    proc = _run(["--dry-run", str(rel)], str(bin_dir))
    assert proc.returncode == 1, proc.stderr
    assert "+++ b/jobs/binder0/templates/bind_ctl.env.erb" in proc.stdout  # the run went on
    assert proc.stderr.count("Ruby ERB check was skipped") == 1, proc.stderr
    assert "apt-get install ruby" in proc.stderr
    assert "verified: bash grammar, bash -n, commands, variables, idempotence" in proc.stderr

    as_json = json.loads(_run(["--dry-run", "--output-format", "json", str(rel)], str(bin_dir)).stdout)
    assert "Ruby ERB" not in as_json["summary"]["verified"]
    [skipped] = as_json["summary"]["skipped_checks"]
    assert skipped["check"] == "Ruby ERB" and "apt-get install ruby" in skipped["reason"]


# -- what needs rendering -------------------------------------------------------------------------
@pytest.mark.parametrize("old,new,same", [
    ("echo <%= p('a') %>\nkill $(cat x)\n", "echo <%= p('a') %>\nsipid kill --pid-file x\n", True),
    ("<% if p('a') %>\necho a\n<% end %>\n", "if [ \"$A\" = true ]; then\necho a\n<% end %>\n", False),
    ("echo <%= p('a') %>\n", "echo <%= p('b') %>\n", False),
    ("echo <%= p('a') %>\n", "echo <%= p('a') %> <%-\n", False),  # a tag the scan may not close
])
def test_only_a_change_to_the_ruby_needs_rendering(old: str, new: str, same: bool) -> None:
    assert ruby_render.same_ruby(Document.parse("t", old.encode()), Document.parse("t", new.encode())) is same


def test_a_shell_only_rewrite_costs_no_render(tmp_path: Path) -> None:
    job = _job(tmp_path, FLAG_SPEC, {"flags_ctl.erb": "#!/bin/bash\necho <%= p('flags.debug') %>\necho hi\n"},
               name="flags")
    renderer = RubyRenderer()
    pipeline = Pipeline([_Rewrite([("echo hi\n", "echo hello\n")])])
    ctx = build_context(job, pipeline.options, {t.rel: t.path.read_text() for t in job.scripts})
    results = [pipeline.migrate_script(ctx, t, t.path.read_bytes()) for t in job.scripts]
    assert results[0].final.source != results[0].original.source
    kept, skipped = ruby_render.gate(ctx, results, renderer)
    assert skipped is None and kept == results and renderer.starts == 0


def test_a_spec_with_odd_yaml_is_still_checked(tmp_path: Path) -> None:
    spec = BIND_SPEC + "      binder.since:\n        default: 2016-01-02\n      42:\n        default: x\n"
    job = _job(tmp_path, spec, {"bind_ctl.erb": BIND_CTL}, name="binder")
    breaking = _Rewrite([("--bind <%= my_ip %>", '--bind "$MY_IP"')],
                        {"templates/bind_ctl.env.erb": "MY_IP=<%= my_ip.to_s.shellescape %>\n"})
    outcome = migrate_job(job, Pipeline([breaking]))
    assert outcome.changes == [] and outcome.internal_errors == 0
    assert "NameError" in _errors(outcome)[0]


def test_a_batch_larger_than_a_pipe_comes_back_whole() -> None:
    renderer = RubyRenderer(cache=False)
    try:
        big = "x" * 300_000
        results = renderer.render_many([RenderRequest(f"<%= {i} %>{big}") for i in range(4)])
        assert [r.output for r in results] == [f"{i}{big}" for i in range(4)]
    finally:
        renderer.close()


def test_a_template_that_never_ends_times_out_and_the_next_one_renders() -> None:
    renderer = RubyRenderer(timeout=1)
    try:
        stuck, after = renderer.render_many([RenderRequest("<% loop { } %>"), RenderRequest("<%= 2 %>")])
        assert stuck.error == "Timeout::Error" and after.output == "2"
        assert renderer.starts == 1
    finally:
        renderer.close()


def test_erb_to_config_keeps_an_else_that_raises_with_its_if(tmp_path: Path) -> None:
    job = _job(tmp_path, CREDS_SPEC, {"creds_ctl.erb": CREDS_CTL})
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    assert _errors(outcome) == []
    [script] = [c.after.decode() for c in outcome.changes if c.path.name == "creds_ctl.erb"]
    assert '<% if p("creds.password") != "" %>\n' in script and "<% end %>\n" in script
    assert '"$CREDS_USER"' in script  # the rest of the script still moved
    assert any("whose `else` runs Ruby" in f.message for f in outcome.findings)


def test_erb_to_config_moves_a_heredoc_value_so_that_it_renders(tmp_path: Path) -> None:
    job = _job(tmp_path, PS_SPEC, {"run_ctl.erb": PS_CTL}, name="winrun")
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    assert _errors(outcome) == []
    [env] = [c.after.decode() for c in outcome.changes if c.path.name == "run_ctl.env.erb"]
    ok, rendered = _render(job.dir, "templates/run_ctl.env.erb", env)
    assert ok, rendered
    value = subprocess.run(["bash", "-c", rendered + '\nprintf %s "$SCRIPT"'], capture_output=True,
                           text=True, check=True).stdout
    assert value == "Write-Host hello\n"


# -- a Ruby local read inside a block's string interpolation (erb-to-config used to move it) ----------
MESH_SPEC = """\
    name: mesh
    templates:
      mesh_ctl.erb: bin/mesh_ctl
    consumes:
    - name: peers
      type: mesh-peer
    properties:
      mesh.log_level:
        default: info
"""
MESH_CTL = """\
    #!/bin/bash
    set -e
    <% peers = link('peers') %>
    <% peer_port = peers.p('port') %>
    export PEER_LIST=<%= peers.instances.map { |node| "#{node.address}:#{peer_port}" }.join(",") %>
    exec /var/vcap/packages/mesh/bin/mesh --log-level <%= p("mesh.log_level") %>
"""


def test_erb_to_config_on_a_local_read_in_an_interpolation_renders_where_it_did(tmp_path: Path) -> None:
    job = _job(tmp_path, MESH_SPEC, {"mesh_ctl.erb": MESH_CTL}, name="mesh")
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    _assert_renders_where_it_did(job, outcome)


def test_bulk_mode_runs_the_check(tmp_path: Path) -> None:
    _job(tmp_path, MESH_SPEC, {"mesh_ctl.erb": MESH_CTL}, name="mesh")
    repo = tmp_path / "rel"
    env = dict(os.environ, GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"), GIT_CONFIG_NOSYSTEM="1",
               GIT_AUTHOR_NAME="Release Maintainer", GIT_AUTHOR_EMAIL="maintainer@example.test",
               GIT_COMMITTER_NAME="Release Maintainer", GIT_COMMITTER_EMAIL="maintainer@example.test")
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "release"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, env=env)
    bin_dir, log = tmp_path / "bin", tmp_path / "ruby-starts.log"
    bin_dir.mkdir()
    (bin_dir / "ruby").write_text(f"#!/bin/sh\necho start >> {log}\nexec {shutil.which('ruby')} \"$@\"\n")
    (bin_dir / "ruby").chmod(0o755)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    proc = subprocess.run([sys.executable, "-m", "migrator", "bulk", str(repo), "--workdir", str(tmp_path / "work"),
                           "--dry-run"], capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr  # changes pending
    assert log.read_text().count("start") == 1  # the new env template was rendered, by one Ruby


def test_erb_to_config_sees_a_local_read_in_an_interpolation(tmp_path: Path) -> None:
    """A local that cannot travel (the script changes it again) keeps the tag that reads it inside
    an interpolation in the script."""
    ctl = MESH_CTL.replace("<% peer_port = peers.p('port') %>\n",
                           "<% peer_port = peers.p('port') %>\n    <% peer_port += 1 if p('mesh.shifted') %>\n")
    spec = MESH_SPEC + "      mesh.shifted:\n        default: false\n"
    job = _job(tmp_path, spec, {"mesh_ctl.erb": ctl}, name="mesh")
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    assert _errors(outcome) == []
    [script] = [c.after.decode() for c in outcome.changes if c.path.name == "mesh_ctl.erb"]
    assert '"#{node.address}:#{peer_port}"' in script and '"$MESH_LOG_LEVEL"' in script
    assert any("the Ruby local `peer_port`" in f.message for f in outcome.findings)


def test_erb_to_config_moves_the_locals_an_interpolation_reads_with_it(tmp_path: Path) -> None:
    """Locals set once at the top (issue 10: Ruby the moved code needs travels with it)."""
    job = _job(tmp_path, MESH_SPEC, {"mesh_ctl.erb": MESH_CTL}, name="mesh")
    outcome = migrate_job(job, Pipeline(codemods.select(["erb-to-config"])))
    assert _errors(outcome) == []
    [script] = [c.after.decode() for c in outcome.changes if c.path.name == "mesh_ctl.erb"]
    assert "<%" not in script
    _assert_renders_where_it_did(job, outcome)


@pytest.mark.parametrize("breaks", [False, True])
def test_the_old_script_is_rendered_only_where_the_new_one_fails(tmp_path: Path, breaks: bool) -> None:
    """Only a regression blocks, so the old version matters only in a context where a new
    template fails: where every new template renders, Ruby is not asked about the old one."""
    mark = tmp_path / "old-was-rendered"
    marker = f'<% File.write("{mark}", "yes") %>'
    job = _job(tmp_path, FLAG_SPEC, {"flags_ctl.erb": f"#!/bin/bash\n{marker}echo <%= p('flags.debug') %>\n"},
               name="flags")
    replacements = [(marker, "")] + ([("<%= p('flags.debug') %>", "<%= not_a_local %>")] if breaks else [])
    pipeline = Pipeline([_Rewrite(replacements)])
    ctx = build_context(job, pipeline.options, {t.rel: t.path.read_text() for t in job.scripts})
    results = [pipeline.migrate_script(ctx, t, t.path.read_bytes()) for t in job.scripts]
    renderer = RubyRenderer()
    try:
        kept, skipped = ruby_render.gate(ctx, results, renderer)
    finally:
        renderer.close()
    assert skipped is None
    assert mark.exists() is breaks
    if breaks:
        assert kept[0].final is kept[0].original and "NameError" in kept[0].result.findings[-1].message
    else:
        assert kept == results and b"File.write" not in kept[0].final.source
