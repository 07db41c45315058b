"""erb-to-config: ERB conditionals whose own tags define helpers and set locals.

A template that opens with one tag holding helpers, locals and the test, and sets in the tag
that starts a branch the locals that branch reads, keeps those tags word for word in the env
template around the values; bash takes the branch from a variable set inside it. The sample job
``api-registrar`` proves the shape equivalent (render with Ruby, run both scripts).
"""

from __future__ import annotations

from tests.test_erb_to_config import check, env_of, migrate


def test_a_conditional_whose_tags_set_locals_becomes_a_bash_if_with_its_ruby_in_the_env_template() -> None:
    outcome = check(
        """\
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
        register --listen-port <%= q(listen_port) %>
        <% end -%>
        register --done
        """,
        """\
        #!/bin/bash
        @SOURCE@
        if [ "$API_DISABLED" = true ]; then
          # nothing to do without the API
          :
        else
          set -e
          register --listen-port "$LISTEN_PORT"
        fi
        register --done
        """,
        """\
        API_DISABLED=false
        <% def q(x) Shellwords.escape(x) end
          api_enabled = p("api.http") || p("api.tls")
          if !api_enabled -%>
        API_DISABLED=true
        <% else
            listen_port = p("api.tls") ? p("api.tls_port") : p("api.port") -%>
        LISTEN_PORT=<%= q(listen_port) %>
        <% end -%>
        """,
    )
    assert outcome.findings == []


def test_ruby_that_sets_a_local_inside_a_branch_moves_with_the_values_that_read_it() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% base = p("api.url")
           if base.nil?
        %>
        echo "no API"
        <% else %>
        <%
          body = { "url" => base }.to_json
        -%>
        curl -X PUT --data-raw <%= body.shellescape %>
        <% end %>
        """
    )
    assert "<%" not in outcome.text, outcome.text
    env = env_of(outcome)
    assert env.index('<% body = { "url" => base }.to_json -%>') < env.index("DATA_RAW=<%= body.shellescape %>"), env


def test_when_a_value_inside_cannot_move_the_conditional_and_its_ruby_stay_in_the_script() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% hosts = p("peers")
           if hosts.empty?
        %>
        echo "alone"
        <% else %>
        <% first = hosts.first -%>
        ping <%= first %><% if p("x.v6") %>6<% end %>
        <% end %>
        """
    )
    assert "<% first = hosts.first -%>" in outcome.text, outcome.text
    assert 'if [ "' not in outcome.text, outcome.text


def test_an_else_that_raises_stays_a_render_time_check() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% if p("x.mode") == "a" %>
        run-a
        <% else raise "unknown mode" %>
        <% end %>
        """
    )
    assert '<% else raise "unknown mode" %>' in outcome.text, outcome.text
    assert any("whose `else` runs Ruby (a render-time check" in m for m in outcome.messages()), outcome.messages()


def test_a_shell_escaped_value_in_a_glob_pattern_moves_and_one_in_a_regex_stays() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        if [[ $1 != <%= p("x.name").shellescape %> ]]; then exit 1; fi
        if [[ $2 =~ <%= p("x.re").shellescape %> ]]; then exit 2; fi
        """
    )
    assert 'if [[ $1 != "$X_NAME" ]]; then exit 1; fi' in outcome.text, outcome.text
    assert '<%= p("x.re").shellescape %>' in outcome.text, outcome.text


def test_assignments_moved_under_a_conditional_that_stays_take_the_ruby_of_its_branch_along() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% if p("x.on") %>
        # off
        <% else
          body = { "a" => p("x.a") }
        %>
        <% payload = body.to_json -%>
        export PAYLOAD=<%= payload.shellescape %>
        <% p("x.b").to_s.empty? and raise "x.b is needed" -%>
        exec /bin/job
        <% end %>
        """
    )
    env = env_of(outcome)
    # the env template reads `payload`: the tag that sets it renders there too, in its branch
    assert env.index("<% payload = body.to_json -%>") < env.index("export PAYLOAD=<%= payload.shellescape %>"), env
    assert "<% payload = body.to_json -%>" in outcome.text, outcome.text


def test_no_env_file_is_sourced_when_nothing_could_move_into_it() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% if p("x.on") %>
        echo off
        <% else
          body = { "a" => p("x.a") }
        %>
        <% payload = body.to_json -%>
        <% p("x.b").to_s.empty? and raise "x.b is needed" -%>
        export PAYLOAD=<%= payload.shellescape %>
        exec /bin/job
        <% end %>
        """
    )
    assert "source " not in outcome.text, outcome.text
    assert outcome.result.result.new_files == []


def test_a_moved_assignment_whose_value_its_ruby_escapes_is_not_escaped_twice() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% def esc(x) Shellwords.escape(x) end -%>
        export A=<%= p("x.a").shellescape %>
        export B=<%= esc(p("x.b")) %>
        exec /bin/job
        """
    )
    env = env_of(outcome)
    assert 'export A=<%= p("x.a").shellescape %>\n' in env, env
    assert 'export B=<%= esc(p("x.b")) %>\n' in env, env
