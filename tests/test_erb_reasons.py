"""erb-to-config findings say which reason applies to an ERB block that stays (issue 10: 190
findings shared "not whole statements, a branch is empty, or depends on Ruby"), in the script's
own words: never the masked text the codemod reads (``____``)."""

from __future__ import annotations

import re

from codemods.erb_to_config import ErbToConfig
from tests.support.codemod_case import Outcome, run_codemods


def migrate(before: str) -> Outcome:
    return run_codemods([ErbToConfig()], before, properties={"box.users": {"default": []}, "box.tls": {"default": False}})


def messages(outcome: Outcome) -> list[str]:
    found = [f.message for f in outcome.findings if f.codemod == "erb-to-config"]
    for message in found:
        assert "____" not in message and not re.search(r"_{3,}", message), message
    return found


def only(outcome: Outcome, opening: str) -> str:
    (message,) = [m for m in messages(outcome) if m.startswith(opening)]
    return message


def test_a_backslash_that_continues_a_line_into_an_erb_tag_is_named() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% p("box.users").each do |user| %>
        provision '<%= user["name"] %>' <% if user["keys"] %> \\<% end %>
          --shell /bin/bash
        <% end %>
        """)
    message = only(outcome, "ERB loop")
    assert "backslash on line 3" in message and "continues the line into an ERB tag" in message, message


def test_a_conditional_that_cuts_across_a_shell_if_names_it_and_its_lines() -> None:
    outcome = migrate("""\
        #!/bin/bash
        if [ -f /var/vcap/store/box/ready ]; then
          echo ready
        <% if p("box.tls") %>
        else
          echo not ready
        <% end %>
        fi
        """)
    message = only(outcome, "ERB `if` block")
    assert "the `else` on line 5 of the shell `if` on line 2" in message, message


def test_a_conditional_around_part_of_a_shell_statement_names_the_statement() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% if p("box.tls") %>
        while true; do
        <% end %>
          sleep 1
        done
        """)
    message = only(outcome, "ERB `if` block")
    assert "a `while` loop (lines 3-6) starts inside the ERB block and ends after it" in message, message


def test_a_loop_whose_body_is_empty_says_so() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% p("box.users").each do |user| %>
        <% end %>
        echo done
        """)
    message = only(outcome, "ERB loop")
    assert "its body holds no shell code" in message, message


def test_an_assignment_inside_a_one_line_conditional_moves() -> None:
    """``<% if p("x") %>export X=1<% end %>`` on a line of its own: the line starts with ERB but
    holds shell code; it was neither moved nor reported (blacksmith's BLACKSMITH_DEBUG)."""
    outcome = migrate("""\
        #!/bin/bash
        set -eu
        exec >>/var/vcap/sys/log/box/box.log 2>&1
        <% if p("box.tls") %>export BOX_TLS=1<% end %>
        exec /var/vcap/packages/box/bin/box
        """)
    files = {f.path: f.content for f in outcome.result.result.new_files}
    moved = '<% if p("box.tls") %>export BOX_TLS=1<% end %>' in files.get("templates/job_ctl.env.erb", "")
    assert moved and "<%" not in outcome.text, (outcome.text, messages(outcome))
    assert "source /var/vcap/jobs/job/config/job_ctl.env\nexec /var/vcap/packages/box/bin/box" in outcome.text


def test_a_conditional_around_the_whole_script_says_so() -> None:
    outcome = migrate("""\
        <% if p("box.tls") -%>
        #!/bin/bash
        echo on
        <% end -%>
        """)
    assert "it wraps the whole script, shebang included" in only(outcome, "ERB `if` block")


def test_a_copy_command_with_erb_is_quoted_as_the_script_has_it(tmp_path) -> None:
    from tests.test_erb_job import _job, _run

    job = _job(tmp_path, """\
        name: box
        templates:
          box_ctl.erb: bin/box_ctl
          rotate.erb: bin/rotate
        properties:
          box.cron_dir: {default: /etc/cron.hourly}
          box.keep: {default: 3}
        """, {"box_ctl.erb": """\
        #!/bin/bash
        cp /var/vcap/jobs/box/bin/rotate <%= p("box.cron_dir") %>/box-rotate
        exec /var/vcap/packages/box/bin/box
        """, "rotate.erb": """\
        #!/bin/bash
        exec /var/vcap/packages/box/bin/rotate --keep <%= p("box.keep") %>
        """})
    proc = _run(job)
    assert 'line 2: `cp /var/vcap/jobs/box/bin/rotate <%= p("box.cron_dir") %>/box-rotate`' in proc.stderr, proc.stderr
    assert "___" not in proc.stderr


def test_a_value_built_from_ruby_locals_names_them_instead_of_saying_it_reads_no_property() -> None:
    """gk-kong's smoke test: the locals come from a link's properties; "it reads no property" was untrue."""
    outcome = migrate("""\
        #!/bin/bash
        <%
          def esc(x)
            x.to_s.shellescape
          end
          user = link("admin").p("auth.user")
        -%>
        echo <%= esc("login #{user} at #{spec.address}") %> > "$HOME/.netrc"
        """)
    message = only(outcome, "output tag whose value no variable name would describe")
    assert "only Ruby values (spec, user)" in message, message
    assert "esc," not in message and "(esc" not in message
