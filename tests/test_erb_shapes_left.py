"""erb-to-config on shapes real releases showed it could move and did not (issue 10)."""

from __future__ import annotations

from tests.test_erb_to_config import check


def test_a_branch_with_a_background_command_is_whole_statements() -> None:
    check(
        """\
        #!/bin/bash -eu
        <% unless p("sd.disable") %>
        trap 'cleanup ${pid}' TERM
        /var/vcap/packages/sd/bin/adapter -c "${CONF_DIR}/config.json" &
        pid=$!
        echo "${pid}" > "${PIDFILE}"
        <% end %>
        wait
        """,
        """\
        #!/bin/bash -eu
        @SOURCE@
        if [ "$SD_ENABLED" = true ]; then
          trap 'cleanup ${pid}' TERM
          /var/vcap/packages/sd/bin/adapter -c "${CONF_DIR}/config.json" &
          pid=$!
          echo "${pid}" > "${PIDFILE}"
        fi
        wait
        """,
    )


def test_flags_between_continued_lines_before_redirections_become_an_array() -> None:
    check(
        """\
        #!/bin/bash
        exec /var/vcap/packages/populator/bin/populator \\
          -numRoutes 10 \\
          <% if_p("populator.publish_delay") do |delay| %> \\
            -publishDelay <%= delay.to_s %> \\
          <% end %> \\
          >> $LOG_DIR/populator.log \\
          2>> $LOG_DIR/populator.stderr.log
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /var/vcap/packages/populator/bin/populator \\
          -numRoutes 10 \\
          "${POPULATOR_PUBLISH_DELAY_ARGS[@]}" \\
          >> $LOG_DIR/populator.log \\
          2>> $LOG_DIR/populator.stderr.log
        """,
    )


def test_a_heredoc_whose_first_line_is_indented_becomes_its_own_template() -> None:
    outcome = check(
        """\
        #!/bin/bash
        cat >> config.json <<EOF
          "admin_password": "<%= p("cf.admin_password") %>"
        }
        EOF
        """,
        """\
        #!/bin/bash
        cat /var/vcap/jobs/job/config/config.json >> config.json
        """,
    )
    files = {f.path: f.content for f in outcome.result.result.new_files}
    assert files["templates/config.json.erb"] == '  "admin_password": "<%= p("cf.admin_password") %>"\n}\n'
