"""erb-to-config: what it writes into a script reads like code a maintainer would write.

A bash ``if`` made from an ERB conditional takes the indentation around it and indents its body
(nested ones stack; heredoc bodies and words split by a backslash-newline are never moved), and
optional flags side by side in one command become one array instead of one expansion per flag.
"""

from __future__ import annotations

import textwrap

from codemods.erb_to_config import ErbToConfig
from tests.support.codemod_case import Outcome, run_codemods


def migrate(before: str) -> Outcome:
    return run_codemods([ErbToConfig()], before)


def env_of(outcome: Outcome) -> str:
    files = {f.path: f.content for f in outcome.result.result.new_files}
    text = files.get("templates/job_ctl.env.erb", "")
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("# "))


def test_an_if_made_from_column_0_tags_takes_the_indentation_of_the_code_around_it() -> None:
    outcome = migrate("""\
        #!/bin/bash
        case $1 in
          start)
        <% if p("job.migrate") -%>
            /bin/job migrate
            /bin/job seed
        <% end -%>
            exec /bin/job
            ;;
        esac
        """)
    assert ("  start)\n"
            '    if [ "$JOB_MIGRATE_ENABLED" = true ]; then\n'
            "      /bin/job migrate\n"
            "      /bin/job seed\n"
            "    fi\n"
            "    exec /bin/job\n") in outcome.text, outcome.text


def test_nested_conditionals_written_with_indented_tags_keep_their_levels() -> None:
    outcome = migrate("""\
        #!/bin/bash
        range() {
          range="1:1:$((uid-1))"
          <% if_link("rootless") do |link| %>
            <% if link.p("rootless.wide") %>
              range="1:65536:$((uid-65536))"
            <% end %>
          <% end %>
          echo -n $range
        }
        range
        """)
    assert textwrap.dedent("""\
        range() {
          range="1:1:$((uid-1))"
          if [ "$ROOTLESS_LINK_PRESENT" = true ]; then
            if [ "$ROOTLESS_WIDE_ENABLED" = true ]; then
              range="1:65536:$((uid-65536))"
            fi
          fi
          echo -n $range
        }
        """) in outcome.text, outcome.text


def test_nested_conditionals_at_column_0_indent_one_level_each() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% if p("job.a") -%>
        echo a
        <% if p("job.b") -%>
        echo b
        <% end -%>
        <% end -%>
        echo done
        """)
    assert outcome.text.endswith(textwrap.dedent("""\
        if [ "$JOB_A_ENABLED" = true ]; then
          echo a
          if [ "$JOB_B_ENABLED" = true ]; then
            echo b
          fi
        fi
        echo done
        """)), outcome.text


def test_a_heredoc_and_a_split_word_in_the_body_keep_their_columns() -> None:
    outcome = migrate("""\
        #!/bin/bash
        <% if p("job.banner") -%>
        cat > /etc/motd <<EOF
        welcome
          indented line
        EOF
        echo /var/vcap/packages/job/\\
        bin
        <% end -%>
        echo done
        """)
    assert outcome.text.endswith(textwrap.dedent("""\
        if [ "$JOB_BANNER_ENABLED" = true ]; then
          cat > /etc/motd <<EOF
        welcome
          indented line
        EOF
          echo /var/vcap/packages/job/\\
        bin
        fi
        echo done
        """)), outcome.text


def test_optional_flags_side_by_side_become_one_array() -> None:
    outcome = migrate("""\
        #!/bin/bash
        set -u
        exec /var/vcap/packages/server/bin/server \\
          --port <%= p("s.port") %> \\
        <% if p("s.tls") -%>
          --tls \\
        <% end -%>
        <% if p("s.debug") -%>
          --debug \\
        <% end -%>
        <% if p("s.trace") -%>
          --trace \\
        <% else -%>
          --no-trace \\
        <% end -%>
          --last
        """)
    assert outcome.text.endswith(textwrap.dedent("""\
        exec /var/vcap/packages/server/bin/server \\
          --port "$S_PORT" \\
          ${SERVER_FLAGS[@]+"${SERVER_FLAGS[@]}"} \\
          --last
        """)), outcome.text
    assert outcome.text.count("[@]") == 2
    assert env_of(outcome) == textwrap.dedent("""\
        S_PORT=<%= p("s.port").to_s.shellescape %>
        SERVER_FLAGS=()
        <% if p("s.tls") -%>
        SERVER_FLAGS+=(--tls)
        <% end -%>
        <% if p("s.debug") -%>
        SERVER_FLAGS+=(--debug)
        <% end -%>
        <% if p("s.trace") -%>
        SERVER_FLAGS+=(--trace)
        <% else -%>
        SERVER_FLAGS+=(--no-trace)
        <% end -%>
        """)


def test_optional_flags_on_one_line_share_an_array_and_keep_their_order() -> None:
    outcome = migrate("""\
        #!/bin/bash
        exec /bin/job <% if p("a.x") %>--a<% end %> <% if p("a.y") %>--b "<%= p("a.z") %>"<% end %> --c
        """)
    assert outcome.text.endswith('exec /bin/job "${JOB_FLAGS[@]}" --c\n'), outcome.text
    assert env_of(outcome) == textwrap.dedent("""\
        JOB_FLAGS=()
        <% if p("a.x") -%>
        JOB_FLAGS+=(--a)
        <% end -%>
        <% if p("a.y") -%>
        JOB_FLAGS+=(--b <%= p("a.z").to_s.shellescape %>)
        <% end -%>
        """)


def test_flag_groups_with_a_fixed_argument_between_them_keep_their_own_arrays() -> None:
    outcome = migrate("""\
        #!/bin/bash
        exec /bin/job <% if p("a.x") %>--a<% end %> --fixed <% if p("a.y") %>--b<% end %>
        """)
    assert outcome.text.endswith('exec /bin/job "${A_X_ARGS[@]}" --fixed "${A_Y_ARGS[@]}"\n'), outcome.text


def test_an_if_inside_a_converted_if_sits_at_the_level_of_the_code_around_it() -> None:
    """Column-0 tags around a body its author indented deeper than the code around it: the ``if``
    takes the level of that code (the lines before and after), not the body's, and the body, deeper
    already, stays; inside an outer converted ``if`` both move in one level."""
    outcome = migrate("""\
        #!/bin/bash
        <% if p("job.register") %>
        CALL="register --now"
        <% if p("job.insecure") %>
            CALL="${CALL} --insecure"
        <% end %>
        ${CALL}
        <% end %>
        echo done
        """)
    assert textwrap.dedent("""\
        if [ "$JOB_REGISTER_ENABLED" = true ]; then
          CALL="register --now"
          if [ "$JOB_INSECURE" = true ]; then
              CALL="${CALL} --insecure"
          fi
          ${CALL}
        fi
        """) in outcome.text, outcome.text


def test_an_if_at_the_start_of_a_function_body_keeps_the_body_level() -> None:
    outcome = migrate("""\
        #!/bin/bash
        setup() {
        <% if p("job.insecure") %>
          CALL="${CALL} --insecure"
        <% end %>
        }
        """)
    assert textwrap.dedent("""\
        setup() {
          if [ "$JOB_INSECURE" = true ]; then
            CALL="${CALL} --insecure"
          fi
        }
        """) in outcome.text, outcome.text
