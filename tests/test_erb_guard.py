"""erb-to-config: an ERB conditional around the whole rest of a script becomes a guard clause.

``<% unless p("x.disable") %>`` after the shebang and ``<% end %>`` at the end (or ``<% if %>``
... ``<% else %>`` a few echo lines ``<% end %>``) used to become a bash ``if`` around the whole
script, every line of it indented one level more: git blame lost, the diff unreadable. When the
conditional runs to the end of an executed script, the script now stops early instead
(``[ "$X" = true ] || exit 0``; with an ``else``, its lines before the ``exit`` in an ``if``) and the
body's lines stay as they were. The old script, rendered with the condition false, ended right
there: the guard exits with the status the old script ended with (``exit 0`` only where that is
surely 0, a bare ``exit`` after the other branch's commands otherwise). Checked with real Ruby
ERB and real bash for both values of the condition.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml

from codemods.erb_to_config import ErbToConfig
from migrator.spec import apply_spec_changes
from tests.support.codemod_case import Outcome, run_codemods
from tests.support.equivalence import declared_for, first_difference, run_job
from tests.support.erb_render import ruby_available

PROPERTIES = {
    "job.disable": {"description": "turn the job off", "default": False},
    "job.enabled": {"description": "turn the job on", "default": True},
    "job.port": {"description": "a port", "default": 8080},
    "api.http": {"description": "plain API", "default": False},
    "api.tls": {"description": "TLS API", "default": False},
    "api.port": {"description": "API port", "default": 80},
    "api.tls_port": {"description": "API TLS port", "default": 443},
}

WHOLE_UNLESS = """\
#!/bin/bash -eu

<% unless p("job.disable") %>
source /var/vcap/packages/job/ctl_util.sh

export PORT=<%= p("job.port") %>

case $1 in
  start)
    /var/vcap/packages/job/bin/job --port "$PORT"
    ;;
esac
<% end %>
"""

WHOLE_IF_ELSE = """\
#!/bin/bash
set -e

<% if p("job.enabled") %>

/var/vcap/packages/job/bin/job --port <%= p("job.port") %>
/var/vcap/packages/job/bin/job --check

<% else %>
echo "The job is disabled"
/var/vcap/packages/job/bin/job --skipped
<% end %>
"""

# the short branch first, the script in the else branch, then an `exit 0` of the author's
COMMENT_THEN_ELSE = """\
#!/bin/bash
<% if !p("job.enabled") %>
# Note: this script does something only when the job is enabled.
<% else %>

set -e -o pipefail

/var/vcap/packages/job/bin/job --port <%= p("job.port") %>

<% end %>

exit 0
"""

# the tags run Ruby too (gk-kong post-start): a note when there is nothing to do, else the script
RUBY_IF = """\
#!/bin/bash
<%
  def q(x) Shellwords.escape(x) end
  api_enabled = p("api.http") || p("api.tls")
  if !api_enabled
%>
# nothing to do without the API
<%
  else
    listen_port = p("api.tls") ? p("api.tls_port") : p("api.port")
-%>
set -e
/var/vcap/packages/job/bin/job --listen-port <%= q(listen_port) %>
<% end -%>
"""

# no errexit, and the else branch ends in a command that fails (the pgrep stub exits 1)
NO_ERREXIT_ELSE = """\
#!/bin/bash

<% if p("job.enabled") %>
/var/vcap/packages/job/bin/job --port <%= p("job.port") %>
<% else %>
echo "The job is disabled"
pgrep job
<% end %>
"""


def migrate(before: str) -> Outcome:
    return run_codemods([ErbToConfig()], before, dedent=False, properties=PROPERTIES)


def body_lines(text: str, first: str, last: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index(first):lines.index(last) + 1]


def test_a_conditional_around_the_rest_of_the_script_becomes_a_guard_and_the_body_stays() -> None:
    outcome = migrate(WHOLE_UNLESS)
    assert outcome.text == textwrap.dedent("""\
        #!/bin/bash -eu

        source /var/vcap/jobs/job/config/job_ctl.env

        [ "$JOB_ENABLED" = true ] || exit 0

        source /var/vcap/packages/job/ctl_util.sh

        export PORT="$JOB_PORT"

        case $1 in
          start)
            /var/vcap/packages/job/bin/job --port "$PORT"
            ;;
        esac
        """), outcome.text


def test_the_else_branchs_lines_go_before_the_exit_and_the_if_branch_stays_where_it_was() -> None:
    outcome = migrate(WHOLE_IF_ELSE)
    assert outcome.text == textwrap.dedent("""\
        #!/bin/bash
        set -e

        source /var/vcap/jobs/job/config/job_ctl.env

        if [ "$JOB_ENABLED" != true ]; then
          echo "The job is disabled"
          /var/vcap/packages/job/bin/job --skipped
          exit 0
        fi

        /var/vcap/packages/job/bin/job --port "$JOB_PORT"
        /var/vcap/packages/job/bin/job --check
        """), outcome.text


def test_a_short_first_branch_is_the_guard_and_the_else_branch_stays_in_place() -> None:
    outcome = migrate(COMMENT_THEN_ELSE)
    assert outcome.text == textwrap.dedent("""\
        #!/bin/bash
        source /var/vcap/jobs/job/config/job_ctl.env
        if [ "$JOB_DISABLED" = true ]; then
          # Note: this script does something only when the job is enabled.
          exit 0
        fi

        set -e -o pipefail

        /var/vcap/packages/job/bin/job --port "$JOB_PORT"

        exit 0
        """), outcome.text


def test_assignments_that_move_to_the_env_file_leave_one_blank_line_after_the_guard() -> None:
    outcome = migrate("""\
#!/bin/bash
CDIR=/var/vcap/jobs/job/config
<% if p("job.enabled") %>
PORT=<%= p("job.port") %>

/var/vcap/packages/job/bin/job --port "$PORT" --config "$CDIR"
<% end %>
""")
    assert outcome.text == textwrap.dedent("""\
        #!/bin/bash
        CDIR=/var/vcap/jobs/job/config
        source /var/vcap/jobs/job/config/job_ctl.env
        [ "$JOB_ENABLED" = true ] || exit 0

        /var/vcap/packages/job/bin/job --port "$PORT" --config "$CDIR"
        """), outcome.text


def test_a_conditional_whose_tags_run_ruby_becomes_a_guard_too() -> None:
    outcome = migrate(RUBY_IF)
    assert outcome.text == textwrap.dedent("""\
        #!/bin/bash
        source /var/vcap/jobs/job/config/job_ctl.env
        if [ "$API_DISABLED" = true ]; then
          # nothing to do without the API
          exit 0
        fi

        set -e
        /var/vcap/packages/job/bin/job --listen-port "$LISTEN_PORT"
        """), outcome.text


def test_without_errexit_the_guard_exits_with_the_status_of_the_last_command_it_runs() -> None:
    outcome = migrate(NO_ERREXIT_ELSE)
    assert ('if [ "$JOB_ENABLED" != true ]; then\n'
            '  echo "The job is disabled"\n'
            "  pgrep job\n"
            "  exit\n"
            "fi\n") in outcome.text, outcome.text
    assert '\n/var/vcap/packages/job/bin/job --port "$JOB_PORT"\n' in outcome.text, outcome.text


@pytest.mark.parametrize("before", [
    # something runs after the conditional
    '#!/bin/bash\n<% if p("job.enabled") %>\n/var/vcap/packages/job/bin/job a\n<% end %>\n/var/vcap/packages/job/bin/job b\n',
    # in a case arm, not at top level (exit would end more than the arm)
    '#!/bin/bash\ncase $1 in\n  start)\n<% if p("job.enabled") %>\n    /var/vcap/packages/job/bin/job a\n<% end %>\n'
    '    ;;\nesac\n',
    # in a function
    '#!/bin/bash\nf() {\n<% if p("job.enabled") %>\n  /var/vcap/packages/job/bin/job a\n<% end %>\n}\nf\n',
    # the status the old script ended with when the condition was false is not surely 0 (no set -e, a
    # test before it), and no command of an else branch gives it back: exit 0 would not be the same
    '#!/bin/bash\n[ -f /var/vcap/data/job/x ]\n<% if p("job.enabled") %>\n/var/vcap/packages/job/bin/job a\n<% end %>\n',
    # errexit only from the shebang: `bash job_ctl` runs without it, so the command before may have failed
    # and gone on (migrator.shell.errexit_on_at: a shebang's -e does not count)
    '#!/bin/bash -e\n/var/vcap/packages/job/bin/prepare\n<% if p("job.enabled") %>\n/var/vcap/packages/job/bin/job a\n'
    '<% end %>\n',
])
def test_a_conditional_that_is_not_the_rest_of_the_script_stays_a_bash_if(before: str) -> None:
    outcome = migrate(before)
    assert 'if [ "$JOB_ENABLED" = true ]; then\n' in outcome.text, outcome.text
    assert "exit" not in outcome.text, outcome.text


def test_a_sourced_script_keeps_its_erb_and_gets_no_exit() -> None:
    outcome = run_codemods([ErbToConfig()], WHOLE_UNLESS, dedent=False, properties=PROPERTIES,
                           templates={"other_ctl.erb": "bin/other_ctl"},
                           files={"templates/other_ctl.erb": "#!/bin/bash\nsource /var/vcap/jobs/job/bin/job_ctl\n"})
    assert outcome.text == WHOLE_UNLESS, outcome.text


# -- the same runs, with real Ruby ERB and real bash -------------------------------------------------
def _run_both(tmp_path: Path, before: str, manifest: dict, *args: str) -> None:
    outcome = migrate(before)
    assert "exit" in outcome.text and "<%" not in outcome.text, outcome.text
    spec = {"name": "job", "templates": {"job_ctl.erb": "bin/job_ctl"}, "packages": ["job"],
            "properties": PROPERTIES}
    spec_text = yaml.safe_dump(spec, sort_keys=False)
    old_release, new_release = tmp_path / "old", tmp_path / "new"
    for release, script in ((old_release, before), (new_release, outcome.text)):
        if release.exists():
            shutil.rmtree(release)
        (release / "jobs/job/templates").mkdir(parents=True)
        (release / "jobs/job/templates/job_ctl.erb").write_text(script)
    (old_release / "jobs/job/spec").write_text(spec_text)
    result = outcome.result.result
    (new_release / "jobs/job/spec").write_text(apply_spec_changes(spec_text, result.spec_changes))
    for new_file in result.new_files:
        (new_release / "jobs/job" / new_file.path).write_text(new_file.content)
    old = run_job(old_release, "job", "job_ctl", manifest, *args)
    new = run_job(new_release, "job", "job_ctl", manifest, *args)
    assert (new.rc, new.calls) == (old.rc, old.calls), (outcome.text, old.stderr, new.stderr)
    difference = first_difference(old.run, new.run, declared_for(["erb-to-config"]))
    assert difference is None, (difference, outcome.text)


@pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")
@pytest.mark.parametrize(("before", "manifests"), [
    (WHOLE_UNLESS, [{"job": {"disable": True}}, {"job": {"disable": False, "port": 9}}]),
    (WHOLE_IF_ELSE, [{"job": {"enabled": False}}, {"job": {"enabled": True, "port": 9}}]),
    (COMMENT_THEN_ELSE, [{"job": {"enabled": False}}, {"job": {"enabled": True, "port": 9}}]),
    (RUBY_IF, [{}, {"api": {"tls": True, "tls_port": 9443}}]),
    (NO_ERREXIT_ELSE, [{"job": {"enabled": False}}, {"job": {"enabled": True}}]),
], ids=["unless", "if-else", "comment-then-else", "ruby-if", "no-errexit"])
def test_old_and_new_scripts_do_the_same_whichever_way_the_condition_goes(
        tmp_path: Path, before: str, manifests: list[dict]) -> None:
    for n, manifest in enumerate(manifests):
        _run_both(tmp_path / str(n), before, manifest, "start")
