"""erb-to-config on ERB tags that span several lines.

An edit that replaces or deletes a tag's line must take every line of the tag: deleting only the
first one leaves Ruby in the script, bash rejects the file, and the whole rewrite (with the other
codemods' changes to that file) is lost.
"""

from __future__ import annotations

from tests.test_erb_to_config import check


def test_a_conditional_written_over_several_lines_becomes_a_bash_if() -> None:
    check(
        """\
        #!/bin/bash
        <%
          if p("job.tls")
        -%>
        echo tls on
        <%
          else
        -%>
        echo tls off
        <%
          end
        -%>
        exec /bin/job
        """,
        """\
        #!/bin/bash
        @SOURCE@
        if [ "$JOB_TLS_ENABLED" = true ]; then
          echo tls on
        else
          echo tls off
        fi
        exec /bin/job
        """,
        """\
        JOB_TLS_ENABLED=false
        <% if p("job.tls") -%>
        JOB_TLS_ENABLED=true
        <% end -%>
        """,
    )


def test_a_ruby_local_set_over_two_lines_leaves_the_script_with_its_value() -> None:
    check(
        """\
        #!/bin/bash
        <% port =
             p("job.port") %>
        exec /bin/job --port <%= port %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job --port "$JOB_PORT"
        """,
        """\
        <% port =
             p("job.port") -%>
        JOB_PORT=<%= port.to_s.shellescape %>
        """,
    )


def test_flags_between_multi_line_tags_of_a_continued_command_become_an_array() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/job \\
          --port 80 \\
        <%
          if p("job.tls")
        -%>
          --tls \\
        <% end -%>
          --verbose
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job \\
          --port 80 \\
          "${JOB_TLS_ARGS[@]}" \\
          --verbose
        """,
        """\
        JOB_TLS_ARGS=()
        <% if p("job.tls") -%>
        JOB_TLS_ARGS=(--tls)
        <% end -%>
        """,
    )
