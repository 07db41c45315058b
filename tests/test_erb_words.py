"""erb-to-config: the words a value gave the old script stay the same words.

A rendered value is shell source in the old script: bash split it, removed its quotes and
expanded braces around it. A move is right only when the process gets the same argv; otherwise
the tag stays with a finding that says why. Each test is one shape from real releases.
"""

from __future__ import annotations

from tests.test_erb_to_config import check, env_of, migrate

PROGRAM_WITH_FLAGS = {"smoke.command": {"default": "bin/test-smoke --noColor"}}


def test_a_value_in_the_command_word_stays_several_words() -> None:
    outcome = check(
        """\
        #!/bin/bash
        cd /var/vcap/packages/smoke
        <%= p("smoke.command") %> --report /tmp/report.xml
        """,
        """\
        #!/bin/bash
        cd /var/vcap/packages/smoke
        @SOURCE@
        "${SMOKE_COMMAND[@]}" --report /tmp/report.xml
        """,
        properties=PROGRAM_WITH_FLAGS,
    )
    assert env_of(outcome) == 'SMOKE_COMMAND=(<%= p("smoke.command").to_s.shellsplit.map(&:shellescape).join(" ") %>)\n'


def test_a_list_printed_inside_double_quotes_stays_with_the_reason() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        exec /bin/proxy -s "<%= p("proxy.ips") %>" --port <%= p("proxy.port") %>
        """,
        properties={"proxy.ips": {"default": ["10.0.0.1", "10.0.0.2"]}, "proxy.port": {"default": 80}},
    )
    assert '-s "<%= p("proxy.ips") %>" --port "$PROXY_PORT"' in outcome.text, outcome.text
    message = next(m for m in outcome.messages() if "proxy.ips" in m)
    assert "double quotes of its own" in message and "shell removed" in message


def test_json_inside_double_quotes_stays_but_inside_single_quotes_moves() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        curl -d "<%= p("es.settings").to_json %>" http://localhost:9200/a
        curl -d '<%= p("es.mappings").to_json %>' http://localhost:9200/b
        """
    )
    assert 'curl -d "<%= p("es.settings").to_json %>"' in outcome.text
    assert "curl -d \"$ES_MAPPINGS\" http://localhost:9200/b" in outcome.text, outcome.text


def test_a_value_inside_a_brace_expansion_stays_with_the_reason() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        drainer -p worker_{1..<%= p("drain.workers") %>}
        """
    )
    assert "worker_{1..<%= p(\"drain.workers\") %>}" in outcome.text
    assert any("brace expansion" in m for m in outcome.messages()), outcome.messages()


def test_a_loop_writing_words_into_a_command_becomes_one_array_of_those_words() -> None:
    outcome = check(
        """\
        #!/bin/bash
        drainer <% (1..p("drain.workers")).each do |i| %> -p worker_<%= i %><% end %> --wait
        """,
        """\
        #!/bin/bash
        @SOURCE@
        drainer "${DRAIN_WORKERS_ARGS[@]}" --wait
        """,
    )
    assert env_of(outcome) == (
        'DRAIN_WORKERS_ARGS=(<%= (1..p("drain.workers")).map { |i| " -p worker_" + (i).to_s }'
        '.join.shellsplit.map(&:shellescape).join(" ") %>)\n')


def test_a_loop_writing_flag_lines_into_a_continued_command_becomes_one_array() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/agent \\
          --name x \\
        <% p("agent.peers").each do |peer| -%>
          --peer <%= peer %> \\
        <% end -%>
          --verbose
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/agent \\
          --name x \\
          "${AGENT_PEERS_ARGS[@]}" \\
          --verbose
        """,
        """\
        AGENT_PEERS_ARGS=(<%= p("agent.peers").map { |peer| "  --peer " + (peer).to_s + "  " }.join.shellsplit.map(&:shellescape).join(" ") %>)
        """,
    )


def test_a_value_in_arithmetic_is_expanded_where_bash_read_the_rendered_text() -> None:
    check(
        """\
        #!/bin/bash
        sleep $(( <%= p("job.interval") %> * 2 ))
        (( tries = <%= p("job.tries") %> + 1 ))
        """,
        """\
        #!/bin/bash
        @SOURCE@
        sleep $(( ${JOB_INTERVAL} * 2 ))
        (( tries = ${JOB_TRIES} + 1 ))
        """,
    )
