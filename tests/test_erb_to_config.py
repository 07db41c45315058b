"""erb-to-config, shape by shape: each test reads as its own before/after example."""

from __future__ import annotations

import textwrap

from codemods.erb_to_config import ErbToConfig
from tests.support.codemod_case import Outcome, run_codemods

SOURCE = "source /var/vcap/jobs/job/config/job_ctl.env\n"


def migrate(before: str, **kwargs) -> Outcome:
    return run_codemods([ErbToConfig()], before, **kwargs)


def env_of(outcome: Outcome, header: bool = False) -> str:
    """The env template; without its leading comment unless ``header``."""
    files = {f.path: f.content for f in outcome.result.result.new_files}
    text = files.get("templates/job_ctl.env.erb", "")
    if header:
        return text
    lines = text.splitlines(keepends=True)
    while lines and lines[0].startswith("# "):
        lines.pop(0)
    return "".join(lines)


def check(before: str, after: str, env: str | None = None, **kwargs) -> Outcome:
    outcome = migrate(before, **kwargs)
    assert outcome.text == textwrap.dedent(after).replace("@SOURCE@\n", SOURCE), outcome.text
    if env is not None:
        assert env_of(outcome) == textwrap.dedent(env), env_of(outcome)
    return outcome


# -- assignments and exports ---------------------------------------------------------------------------
def test_assignment_block_moves_verbatim_and_the_source_line_takes_its_place() -> None:
    outcome = check(
        """\
        #!/bin/bash
        RUN_DIR=/var/vcap/sys/run/job
        export PORT=<%= p("job.port") %>
        <% if p("job.debug") -%>
        export DEBUG=1
        <% end -%>

        exec /bin/job --port "$PORT"
        """,
        """\
        #!/bin/bash
        RUN_DIR=/var/vcap/sys/run/job
        @SOURCE@

        exec /bin/job --port "$PORT"
        """,
        """\
        export PORT=<%= p("job.port").to_s.shellescape %>
        <% if p("job.debug") -%>
        export DEBUG=1
        <% end -%>
        """,
    )
    spec = outcome.result.result.spec_changes
    assert [(c.kind, c.key, c.value) for c in spec] == [("add_template", "job_ctl.env.erb", "config/job_ctl.env")]
    assert outcome.findings == []


def test_if_p_block_with_its_block_variable_moves_whole() -> None:
    check(
        """\
        #!/bin/bash
        <% if_p("job.proxy") do |url| -%>
        export HTTPS_PROXY="<%= url %>"
        <% end -%>
        exec /bin/job
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job
        """,
        """\
        <% if_p("job.proxy") do |url| -%>
        export HTTPS_PROXY=<%= url.to_s.shellescape %>
        <% end -%>
        """,
    )


def test_plain_assignments_around_erb_ones_stay_in_the_script() -> None:
    check(
        """\
        #!/bin/bash
        A=1
        B=<%= p("job.b") %>
        C=3
        D=<%= p("job.d") %>
        echo "$A$B$C$D"
        """,
        """\
        #!/bin/bash
        A=1
        @SOURCE@
        C=3
        echo "$A$B$C$D"
        """,
        """\
        B=<%= p("job.b").to_s.shellescape %>
        D=<%= p("job.d").to_s.shellescape %>
        """,
    )


def test_a_later_assignment_that_uses_a_variable_set_in_between_keeps_its_place() -> None:
    outcome = check(
        """\
        #!/bin/bash
        A=<%= p("job.a") %>
        PORT=8080
        URL=http://<%= p("job.host") %>:$PORT
        exec /bin/job "$A" "$URL"
        """,
        """\
        #!/bin/bash
        @SOURCE@
        PORT=8080
        URL=http://"$JOB_HOST":$PORT
        exec /bin/job "$A" "$URL"
        """,
        """\
        A=<%= p("job.a").to_s.shellescape %>
        JOB_HOST=<%= p("job.host").to_s.shellescape %>
        """,
    )
    assert outcome.findings == []  # its only ERB moved as a value


def test_a_conditional_assignment_block_that_cannot_move_becomes_a_bash_if() -> None:
    check(
        """\
        #!/bin/bash
        A=<%= p("job.a") %>
        PORT=8080
        <% if p("job.tls") -%>
        URL=https://localhost:$PORT
        <% end -%>
        exec /bin/job "$A" "$URL"
        """,
        """\
        #!/bin/bash
        @SOURCE@
        PORT=8080
        if [ "$JOB_TLS_ENABLED" = true ]; then
          URL=https://localhost:$PORT
        fi
        exec /bin/job "$A" "$URL"
        """,
    )


def test_exports_do_not_move_above_a_command_that_would_see_them() -> None:
    outcome = check(
        """\
        #!/bin/bash
        A=<%= p("job.a") %>
        /bin/prepare
        <% if p("job.tls") -%>
        export TLS=1
        <% else -%>
        <% end -%>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        /bin/prepare
        <% if p("job.tls") -%>
        export TLS=1
        <% else -%>
        <% end -%>
        """,
    )
    assert any("runs before them and could see them" in m for m in outcome.messages())


# -- values in arguments ------------------------------------------------------------------------------
def test_values_in_arguments_become_quoted_variables() -> None:
    check(
        """\
        #!/bin/bash
        case $1 in
          start)
            exec /bin/job --port <%= p("job.port") %> --name "<%= name %>-x" --id=<%= spec.index %> \\
              --mode '<%= p("job.mode") %>' --label 'a <%= p("job.label") %> b'
            ;;
        esac
        """,
        """\
        #!/bin/bash
        @SOURCE@
        case $1 in
          start)
            exec /bin/job --port "$JOB_PORT" --name "$JOB_NAME-x" "--id=${SPEC_INDEX}" \\
              --mode "$JOB_MODE" --label "a $JOB_LABEL b"
            ;;
        esac
        """,
        """\
        JOB_PORT=<%= p("job.port").to_s.shellescape %>
        JOB_NAME=<%= name.to_s.shellescape %>
        SPEC_INDEX=<%= spec.index.to_s.shellescape %>
        JOB_MODE=<%= p("job.mode").to_s.shellescape %>
        JOB_LABEL=<%= p("job.label").to_s.shellescape %>
        """,
    )


def test_the_same_value_used_twice_gets_one_variable() -> None:
    check(
        """\
        #!/bin/bash
        mkdir -p <%= p("job.dir") %>
        chown vcap <%= p("job.dir") %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        mkdir -p "$JOB_DIR"
        chown vcap "$JOB_DIR"
        """,
        'JOB_DIR=<%= p("job.dir").to_s.shellescape %>\n',
    )


def test_lists_and_argument_properties_become_arrays_with_the_same_words() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/job --hosts <%= p("job.hosts").join(" ") %> <%= p("job.extra_args") %> --x=<%= p("job.opt", "") %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job --hosts "${JOB_HOSTS[@]}" "${JOB_EXTRA_ARGS[@]}" --x="${JOB_OPT[@]}"
        """,
        """\
        JOB_HOSTS=(<%= p("job.hosts").join(" ").to_s.shellsplit.map(&:shellescape).join(" ") %>)
        JOB_EXTRA_ARGS=(<%= p("job.extra_args").to_s.shellsplit.map(&:shellescape).join(" ") %>)
        JOB_OPT=(<%= p("job.opt", "").to_s.shellsplit.map(&:shellescape).join(" ") %>)
        """,
    )


def test_a_property_whose_default_is_empty_keeps_dropping_out_of_argv() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/job <%= p("job.tuning") %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job "${JOB_TUNING[@]}"
        """,
        'JOB_TUNING=(<%= p("job.tuning").to_s.shellsplit.map(&:shellescape).join(" ") %>)\n',
        properties={"job.tuning": {"default": ""}},
    )


def test_names_never_collide_with_the_scripts_variables_or_the_environment() -> None:
    check(
        """\
        #!/bin/bash
        JOB_PORT=1
        echo "$JOB_PORT" <%= p("job.port") %> <%= p("path") %>
        """,
        """\
        #!/bin/bash
        JOB_PORT=1
        @SOURCE@
        echo "$JOB_PORT" "$CONFIGURED_JOB_PORT" "$JOB_PATH"
        """,
        'CONFIGURED_JOB_PORT=<%= p("job.port").to_s.shellescape %>\nJOB_PATH=<%= p("path").to_s.shellescape %>\n',
    )


def test_values_inside_functions_are_sourced_once_at_top_level() -> None:
    check(
        """\
        #!/bin/bash
        set -eu

        start() {
          local dir=<%= p("job.dir") %>
          exec /bin/job --dir "$dir"
        }

        start
        """,
        """\
        #!/bin/bash
        set -eu

        @SOURCE@

        start() {
          local dir="$JOB_DIR"
          exec /bin/job --dir "$dir"
        }

        start
        """,
    )


def test_a_value_under_an_erb_conditional_is_defined_under_the_same_conditional() -> None:
    outcome = check(
        """\
        #!/bin/bash
        <% if p("job.cluster") -%>
        /bin/job join --peer <%= p("job.peer") %>
        <% else -%>
        <% end -%>
        exec /bin/job
        """,
        """\
        #!/bin/bash
        @SOURCE@
        <% if p("job.cluster") -%>
        /bin/job join --peer "$JOB_PEER"
        <% else -%>
        <% end -%>
        exec /bin/job
        """,
        """\
        <% if p("job.cluster") -%>
        JOB_PEER=<%= p("job.peer").to_s.shellescape %>
        <% end -%>
        """,
    )
    assert any("ERB `if` block around script lines" in m for m in outcome.messages())


def test_an_erb_conditional_around_whole_statements_becomes_a_bash_if() -> None:
    check(
        """\
        #!/bin/bash
        case $1 in
          start)
        <% if p("job.mode") == "cluster" -%>
            /bin/job join --peer <%= p("job.peer") %>
        <% else -%>
            echo standalone
        <% end -%>
            exec /bin/job
            ;;
        esac
        """,
        """\
        #!/bin/bash
        @SOURCE@
        case $1 in
          start)
            if [ "$JOB_MODE_IS_CLUSTER" = true ]; then
              /bin/job join --peer "$JOB_PEER"
            else
              echo standalone
            fi
            exec /bin/job
            ;;
        esac
        """,
        """\
        JOB_MODE_IS_CLUSTER=false
        <% if p("job.mode") == "cluster" -%>
        JOB_MODE_IS_CLUSTER=true
        JOB_PEER=<%= p("job.peer").to_s.shellescape %>
        <% end -%>
        """,
    )


def test_an_elsif_chain_gets_a_variable_named_after_each_test() -> None:
    check(
        """\
        #!/bin/bash
        <% if p("job.a") -%>
        echo a
        <% elsif p("job.b") -%>
        echo b
        <% else -%>
        echo c
        <% end -%>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        if [ "$JOB_A_ENABLED" = true ]; then
          echo a
        elif [ "$JOB_B_ENABLED" = true ]; then
          echo b
        else
          echo c
        fi
        """,
        """\
        JOB_A_ENABLED=false
        JOB_B_ENABLED=false
        <% if p("job.a") -%>
        JOB_A_ENABLED=true
        <% elsif p("job.b") -%>
        JOB_B_ENABLED=true
        <% end -%>
        """,
    )


def test_a_conditional_that_splits_a_case_arm_stays() -> None:
    before = """\
        #!/bin/bash
        case $1 in
        <% if p("job.x") -%>
          start) echo x ;;
        <% end -%>
        esac
        """
    outcome = migrate(before)
    assert outcome.text == textwrap.dedent(before)
    assert any("ERB `if` block around script lines" in m for m in outcome.messages())


# -- flags in conditionals ----------------------------------------------------------------------------
def test_flags_in_a_same_line_conditional_become_an_array() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/job \\
          <% if p("job.tls") %>--tls --cert "<%= p("job.cert") %>"<% end %> \\
          --last
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job \\
          "${JOB_TLS_ARGS[@]}" \\
          --last
        """,
        """\
        JOB_TLS_ARGS=()
        <% if p("job.tls") -%>
        JOB_TLS_ARGS=(--tls --cert <%= p("job.cert").to_s.shellescape %>)
        <% end -%>
        """,
    )


def test_flags_on_their_own_lines_with_else_become_an_array_and_the_command_keeps_its_shape() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/job \\
          --first \\
        <% if p("job.verbose") -%>
          --verbose \\
          --trace \\
        <% else -%>
          --quiet \\
        <% end -%>
          --last
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job \\
          --first \\
          "${JOB_VERBOSE_ARGS[@]}" \\
          --last
        """,
        """\
        JOB_VERBOSE_ARGS=()
        <% if p("job.verbose") -%>
        JOB_VERBOSE_ARGS=(--verbose --trace)
        <% else -%>
        JOB_VERBOSE_ARGS=(--quiet)
        <% end -%>
        """,
    )


def test_flags_that_expand_shell_variables_are_left_alone() -> None:
    outcome = check(
        """\
        #!/bin/bash
        exec /bin/job <% if p("job.x") %>--dir $DIR<% end %> --last
        """,
        """\
        #!/bin/bash
        exec /bin/job <% if p("job.x") %>--dir $DIR<% end %> --last
        """,
    )
    assert any("ERB `if` block" in m for m in outcome.messages())


# -- heredocs -------------------------------------------------------------------------------------------
def test_a_heredoc_writing_config_becomes_its_own_template() -> None:
    outcome = check(
        """\
        #!/bin/bash
        write() {
          cat > $DIR/app.conf <<EOF
        port = <%= p("job.port") %>
        EOF
        }
        """,
        """\
        #!/bin/bash
        write() {
          cp /var/vcap/jobs/job/config/app.conf $DIR/app.conf
        }
        """,
    )
    files = {f.path: f.content for f in outcome.result.result.new_files}
    assert files == {"templates/app.conf.erb": 'port = <%= p("job.port") %>\n'}
    assert [f.severity for f in outcome.findings] == ["info"]
    assert [(c.key, c.value) for c in outcome.result.result.spec_changes] == [("app.conf.erb", "config/app.conf")]


def test_a_heredoc_the_shell_expands_stays_with_a_finding() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        cat > /tmp/app.conf <<EOF
        home = $HOME
        port = <%= p("job.port") %>
        EOF
        """
    )
    assert "<%= p(\"job.port\") %>" in outcome.text
    assert any("inside a heredoc body" in m for m in outcome.messages())


# -- Ruby locals ------------------------------------------------------------------------------------------
def test_a_simple_ruby_local_travels_with_the_value_and_leaves_the_script() -> None:
    check(
        """\
        #!/bin/bash
        <% shards = p("job.shards").join(",") -%>
        exec /bin/job --shards <%= shards %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job --shards "$JOB_SHARDS"
        """,
        """\
        <% shards = p("job.shards").join(",") -%>
        JOB_SHARDS=<%= shards.to_s.shellescape %>
        """,
    )


# -- what stays, with findings ---------------------------------------------------------------------------
def test_constructs_left_behind_are_each_named_in_a_finding() -> None:
    before = """\
        #!/bin/bash
        <% def flag(x) "--#{x}" end -%>
        <% p("job.dirs").each do |dir| -%>
        <% dir["files"].each do |path| -%>
        touch <%= path %>
        <% end -%>
        <% end -%>
        <%= p("job.script") %>
        # port: <%= p("job.port") %>
        echo ${X:-<%= p("job.x") %>}
        [[ $a == <%= p("job.pattern") %> ]]
        """
    outcome = migrate(before)
    assert outcome.text == textwrap.dedent(before)
    messages = "\n".join(outcome.messages())
    for expected in ("Ruby method definition `flag`", "ERB loop (`each`) that emits script lines (lines 3-7)",
                     "emits whole script lines", "inside a shell comment",
                     "inside a ${...} expansion", "inside a pattern"):
        assert expected in messages, messages
    lines = sorted(f.line for f in outcome.findings)
    assert lines == [2, 3, 4, 8, 9, 10, 11]  # the loops' output tag is covered by the loops' findings


def test_an_already_migrated_script_is_left_alone() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        source /var/vcap/jobs/job/config/job_ctl.env
        <% if p("job.x") -%>
        mkdir /tmp/x
        <% end -%>
        exec /bin/job --port <%= p("job.port") %>
        """
    )
    assert outcome.result.result.new_files == []
    assert "<%= p(\"job.port\") %>" in outcome.text
    assert any("already sourced" in m for m in outcome.messages())


def test_the_env_template_name_avoids_existing_templates() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        exec /bin/job --port <%= p("job.port") %>
        """,
        templates={"job_ctl.env.erb": "config/other"},
    )
    assert "source /var/vcap/jobs/job/config/job_ctl.erb.env\n" in outcome.text
    assert [f.path for f in outcome.result.result.new_files] == ["templates/job_ctl.erb.env.erb"]


def test_second_run_changes_nothing() -> None:
    first = migrate(
        """\
        #!/bin/bash
        export A=<%= p("job.a") %>
        exec /bin/job <% if p("job.b") %>--b<% end %> --c <%= p("job.c") %>
        """
    )
    second = migrate(first.text, dedent=False)
    assert second.text == first.text
    assert second.result.result.new_files == []
    assert second.findings == []


def test_groups_under_the_same_condition_get_their_own_arrays_even_after_an_own_line_group() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/x <% if p("d") %>--a<% end %> \\
        <% if p("d") -%>
          --b "<%= p("e.name") %>" \\
          --c=<%= p("e.c") %> \\
        <% end -%>
          <% if p("d") %>--z<% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/x "${D_ARGS[@]}" \\
          "${D_ARGS_2[@]}" \\
          "${D_ARGS_3[@]}"
        """,
        """\
        D_ARGS=()
        <% if p("d") -%>
        D_ARGS=(--a)
        <% end -%>
        D_ARGS_2=()
        <% if p("d") -%>
        D_ARGS_2=(--b <%= p("e.name").to_s.shellescape %> --c=<%= p("e.c").to_s.shellescape %>)
        <% end -%>
        D_ARGS_3=()
        <% if p("d") -%>
        D_ARGS_3=(--z)
        <% end -%>
        """,
    )


def test_if_p_block_variables_of_different_blocks_get_different_names() -> None:
    check(
        """\
        #!/bin/bash
        <% if_p("a.url") do |v| -%>
        curl <%= v %>
        <% end -%>
        <% if_p("b.url") do |v| -%>
        curl <%= v %>
        <% end -%>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        if [ "$A_URL_SET" = true ]; then
          curl "$A_URL"
        fi
        if [ "$B_URL_SET" = true ]; then
          curl "$B_URL"
        fi
        """,
        """\
        A_URL_SET=false
        <% if_p("a.url") do |v| -%>
        A_URL_SET=true
        A_URL=<%= v.to_s.shellescape %>
        <% end -%>
        B_URL_SET=false
        <% if_p("b.url") do |v| -%>
        B_URL_SET=true
        B_URL=<%= v.to_s.shellescape %>
        <% end -%>
        """,
    )


def test_a_value_in_a_url_quotes_the_whole_word() -> None:
    check(
        """\
        #!/bin/bash
        curl -sf http://127.0.0.1:<%= p("job.port") %>/healthz
        """,
        """\
        #!/bin/bash
        @SOURCE@
        curl -sf "http://127.0.0.1:${JOB_PORT}/healthz"
        """,
    )


def test_under_set_u_arrays_use_the_form_old_bash_accepts_when_empty() -> None:
    check(
        """\
        #!/bin/bash
        set -eu
        exec /bin/x <% if p("d") %>--a<% end %> <%= p("e.list").join(" ") %>
        """,
        """\
        #!/bin/bash
        set -eu
        @SOURCE@
        exec /bin/x ${D_ARGS[@]+"${D_ARGS[@]}"} ${E_LIST[@]+"${E_LIST[@]}"}
        """,
    )


def test_the_source_line_joins_the_scripts_opening_settings_when_nothing_needs_it_later() -> None:
    check(
        """\
        #!/bin/bash
        set -e
        RUN_DIR=/var/vcap/sys/run/job

        mkdir -p $RUN_DIR
        exec /bin/job --port <%= p("job.port") %>
        """,
        """\
        #!/bin/bash
        set -e
        RUN_DIR=/var/vcap/sys/run/job

        @SOURCE@

        mkdir -p $RUN_DIR
        exec /bin/job --port "$JOB_PORT"
        """,
    )


def test_a_local_set_in_a_multi_line_ruby_block_travels_with_its_users() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <%
          host = p("es.host")
          url = "http://" + host
        %>
        curl "<%= url %>/health" --max-time <%= p("es.timeout") %>
        """
    )
    # a one-word name goes after the job's (here the test job, "job")
    assert outcome.text.endswith('curl "$JOB_URL/health" --max-time "$ES_TIMEOUT"\n'), outcome.text
    assert "<%" not in outcome.text
    assert env_of(outcome).startswith('<% host = p("es.host")\n  url = "http://" + host -%>\nJOB_URL=<%= url'), env_of(outcome)
    assert outcome.findings == []


def test_flags_between_tag_lines_that_keep_their_continuation() -> None:
    check(
        """\
        #!/bin/bash
        /opt/agent link \\
            <% if_p('agent.proxy_host') do |proxy_host| %> \\
            --proxy-host="<%= proxy_host %>" \\
            <% end %> \\
            --last
        """,
        """\
        #!/bin/bash
        @SOURCE@
        /opt/agent link \\
            "${AGENT_PROXY_HOST_ARGS[@]}" \\
            --last
        """,
        """\
        AGENT_PROXY_HOST_ARGS=()
        <% if_p('agent.proxy_host') do |proxy_host| -%>
        AGENT_PROXY_HOST_ARGS=(--proxy-host=<%= proxy_host.to_s.shellescape %>)
        <% end -%>
        """,
    )


def test_a_heredoc_under_an_if_p_renders_only_when_the_script_wrote_it() -> None:
    outcome = check(
        """\
        #!/bin/bash
        <% if_p("job.key") do |key| -%>
        cat > /etc/app.key <<EOF
        <%= key %>
        EOF
        chmod 600 /etc/app.key
        <% end -%>
        exec /var/vcap/packages/job/bin/job
        """,
        """\
        #!/bin/bash
        @SOURCE@
        if [ "$JOB_KEY_SET" = true ]; then
          cp /var/vcap/jobs/job/config/app.key /etc/app.key
          chmod 600 /etc/app.key
        fi
        exec /var/vcap/packages/job/bin/job
        """,
    )
    files = {f.path: f.content for f in outcome.result.result.new_files}
    assert files["templates/app.key.erb"] == '<% if_p("job.key") do |key| -%>\n<%= key %>\n<% end -%>\n'


def test_the_env_header_says_which_values_are_escaped() -> None:
    values_only = migrate("#!/bin/bash\nexec /bin/job <%= p('job.a') %>\n", dedent=False)
    assert env_of(values_only, header=True).startswith(
        "# Sourced by bin/job_ctl: the values its ERB used to put into the script.\n"
        "# Rendered by BOSH; values are shell-escaped, so any property value is safe here.\n")
    # assignments moved from the script are escaped too: the header's promise holds for every line
    with_moves = migrate("#!/bin/bash\nA=\"https://<%= p('job.a') %>\"\nexec /bin/job <%= p('job.b') %>\n",
                         dedent=False)
    assert env_of(with_moves, header=True) == (
        "# Sourced by bin/job_ctl: the values its ERB used to put into the script.\n"
        "# Rendered by BOSH; values are shell-escaped, so any property value is safe here.\n"
        "A=<%= \"https://#{p('job.a')}\".shellescape %>\n"
        "JOB_B=<%= p('job.b').to_s.shellescape %>\n")


def test_link_values_are_named_after_the_link() -> None:
    check(
        """\
        #!/bin/bash
        exec /bin/job --db <%= link("db").address %>:<%= link("db").p("port") %> \\
          --peers <%= link("peers").instances.map(&:address).join(",") %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/job --db "${DB_ADDRESS}:${DB_PORT}" \\
          --peers "$PEERS_ADDRESSES"
        """,
    )


def test_an_if_p_stays_erb_while_erb_left_inside_it_reads_its_block_variable() -> None:
    before = """\
        #!/bin/bash
        <% if_p("job.settings") do |settings| -%>
        echo configuring
        <% settings.each do |s| -%>
        <% s["keys"].each do |k| -%>
        keystore add <%= k %>
        <% end -%>
        <% end -%>
        <% end -%>
        """
    outcome = migrate(before)
    assert outcome.text == textwrap.dedent(before)
    assert outcome.result.result.new_files == []
    assert any("ERB `if_p` block around script lines" in m for m in outcome.messages())


def test_erb_that_sets_a_ruby_local_is_not_taken_out_of_the_script() -> None:
    before = """\
        #!/bin/bash
        <% if (mode = p("job.mode")) == "cluster" -%>
        echo cluster
        <% end -%>
        cat > /tmp/x.conf <<EOF
        <% port = p("job.port") -%>
        port = <%= port %>
        EOF
        echo "<%= mode %> <%= port %>"
        """
    outcome = migrate(before)
    assert '<% if (mode = p("job.mode")) == "cluster" -%>' in outcome.text
    assert '<% port = p("job.port") -%>' in outcome.text
