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
