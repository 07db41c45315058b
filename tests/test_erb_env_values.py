"""erb-to-config: an env template holds values only.

An assignment that runs a command (``$(curl ...)``) or reads a variable the script sets
(``cmd="$cmd --rootless"``, ``$1``, ``$HOME``) would run or read at a different time from the env
file: it stays in the script, and only the value it needs from ERB moves. And every line of an env
template is shell-escaped, as its header says.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest

from codemods.erb_to_config import ErbToConfig
from tests.support.codemod_case import Outcome, run_codemods
from tests.support.erb_render import render, ruby_available


def migrate(before: str) -> Outcome:
    return run_codemods([ErbToConfig()], before)


def env_of(outcome: Outcome) -> str:
    files = {f.path: f.content for f in outcome.result.result.new_files}
    return files.get("templates/job_ctl.env.erb", "")


def assert_values_only(env: str) -> None:
    body = "".join(line for line in env.splitlines(keepends=True) if not line.startswith("#"))
    outside = re.sub(r"<%.*?%>", "", body, flags=re.DOTALL)
    assert "$(" not in outside and "`" not in outside, env
    assert not re.search(r"\$\{?[A-Za-z_0-9@*#?$!]", outside), env


def test_an_assignment_that_runs_a_command_stays_and_its_value_moves() -> None:
    outcome = migrate("""\
        #!/bin/bash
        TOKEN="$(curl -s -X POST -u admin:<%= p("job.admin_password") %> https://uaa/token)"
        exec /bin/job --token "$TOKEN"
        """)
    assert 'TOKEN="$(curl -s -X POST -u "admin:${JOB_ADMIN_PASSWORD}" https://uaa/token)"' in outcome.text, outcome.text
    assert_values_only(env_of(outcome))
    assert "JOB_ADMIN_PASSWORD=<%= p(\"job.admin_password\").to_s.shellescape %>" in env_of(outcome)


def test_an_assignment_that_reads_the_scripts_own_variable_stays() -> None:
    outcome = migrate("""\
        #!/bin/bash
        cmd="/var/vcap/packages/job/bin/job"
        <% if p("job.rootless") -%>
        cmd="$cmd --rootless --uid <%= p("job.uid") %>"
        <% end -%>
        exec $cmd
        """)
    assert textwrap.dedent("""\
        if [ "$JOB_ROOTLESS_ENABLED" = true ]; then
          cmd="$cmd --rootless --uid $JOB_UID"
        fi
        """) in outcome.text, outcome.text
    assert_values_only(env_of(outcome))


def test_an_assignment_that_reads_the_environment_or_arguments_stays() -> None:
    outcome = migrate("""\
        #!/bin/bash
        export DATA=$HOME/<%= p("job.dir") %>
        MODE=$1-<%= p("job.mode") %>
        exec /bin/job "$DATA" "$MODE"
        """)
    assert 'export DATA=$HOME/"$JOB_DIR"' in outcome.text, outcome.text
    assert 'MODE=$1-"$JOB_MODE"' in outcome.text, outcome.text
    assert_values_only(env_of(outcome))


def test_assignments_that_read_only_what_moves_with_them_move_together() -> None:
    outcome = migrate("""\
        #!/bin/bash
        export NAME='<%= name %>'
        export FULL="$NAME/<%= spec.index %>"
        exec /bin/job "$FULL"
        """)
    assert outcome.text == "#!/bin/bash\nsource /var/vcap/jobs/job/config/job_ctl.env\nexec /bin/job \"$FULL\"\n"
    env = env_of(outcome)
    assert "export FULL=\"$NAME\"/" in env or "export FULL=\"$NAME/\"" in env, env


def test_a_moved_assignment_keeps_a_hostile_value_literal(tmp_path: Path) -> None:
    """Rendered with Ruby and sourced by bash: the value is the property's text, nothing runs."""
    if not ruby_available():
        pytest.skip("needs Debian's ruby")
    outcome = migrate("""\
        #!/bin/bash
        export ADDRESS="https://<%= p("job.host") %>:8443"
        export LABEL='<%= p("job.label") %>'
        exec /bin/job "$ADDRESS" "$LABEL"
        """)
    spec = tmp_path / "spec"
    spec.write_text("name: job\nproperties:\n  job.host: {}\n  job.label: {}\n")
    hostile = {"job": {"host": 'h"$(touch ran)`touch ran`', "label": "it's $HOME"}}
    env = render(spec, env_of(outcome), properties=hostile)
    out = subprocess.run(["bash", "-c", env + '\nprintf "%s|%s" "$ADDRESS" "$LABEL"'], cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout
    assert out == 'https://h"$(touch ran)`touch ran`:8443|it\'s $HOME'
    assert not (tmp_path / "ran").exists()
    # with a plain value the assignment is what the old script made
    env = render(spec, env_of(outcome), properties={"job": {"host": "db.example", "label": "blue"}})
    out = subprocess.run(["bash", "-c", env + '\nprintf "%s|%s" "$ADDRESS" "$LABEL"'], capture_output=True,
                         text=True, check=True).stdout
    assert out == "https://db.example:8443|blue"


def test_json_printed_inside_double_quotes_is_not_moved_as_an_assignment() -> None:
    """The old shell took the JSON's own quotes out (``"{"a":1}"``); escaped, they would stay."""
    outcome = migrate("""\
        #!/bin/bash
        export CONF="<%= p("job.conf").to_json %>"
        exec /bin/job
        """)
    assert "export CONF=" in outcome.text
    assert "export CONF=" not in env_of(outcome)
