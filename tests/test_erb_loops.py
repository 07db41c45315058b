"""erb-to-config: ERB loops that write script lines per item become bash arrays and a ``for``.

Each test is one loop shape from real releases, in our own words. The equivalence of the moved
loops (render with Ruby, run both scripts) is proven on the ``db-seeder`` sample job.
"""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.support.erb_render import render, ruby_available
from tests.test_erb_to_config import check, env_of, migrate


def test_a_loop_over_a_list_of_addresses_becomes_a_for_over_an_array() -> None:
    """Printed unquoted, an address was shell source (bash split it): expanded unquoted; quoted,
    quoted. One array for the list either way."""
    check(
        """\
        #!/bin/bash
        <% (Array(p("fw.peers")) + [p("fw.backup")]).each do |ip| %>
          allow <%= ip %> "accept from <%= ip %>"
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for ip in "${FW_PEERS[@]}"; do
          allow $ip "accept from $ip"
        done
        """,
        """\
        FW_PEERS=(<%= (Array(p("fw.peers")) + [p("fw.backup")]).map { |ip| (ip).to_s.shellescape }.join(" ") %>)
        """,
    )


def test_a_loop_over_records_gets_one_array_per_field_and_a_per_item_condition() -> None:
    outcome = check(
        """\
        #!/bin/bash
        <% p("db.roles", []).each do |role| %>
          psql -c "CREATE ROLE \\"<%= role["name"] %>\\"" -p <%= p("db.port") %>
          <% if role["permissions"] %>
          psql -c "ALTER ROLE <%= role["name"] %> WITH <%= role["permissions"].join(' ') %>"
          <% end %>
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for i in "${!ROLE_NAME[@]}"; do
          psql -c "CREATE ROLE \\"${ROLE_NAME[$i]}\\"" -p "$DB_PORT"
          if [ "${ROLE_PERMISSIONS_SET[$i]}" = true ]; then
            psql -c "ALTER ROLE ${ROLE_NAME[$i]} WITH ${ROLE_PERMISSIONS[$i]}"
          fi
        done
        """,
    )
    env = env_of(outcome)
    # a value under the condition is computed only for the items that take it (nil.join raised)
    assert ('ROLE_PERMISSIONS=(<%= p("db.roles", []).map { |role| ((role["permissions"])) ? '
            "(role[\"permissions\"].join(' ')).to_s.shellescape : \"''\" }.join(\" \") %>)") in env, env
    assert 'ROLE_PERMISSIONS_SET=(<%= p("db.roles", []).map { |role| (role["permissions"]) ? "true" : "false" }' in env


def test_a_choice_per_item_holds_the_chosen_value() -> None:
    outcome = check(
        """\
        #!/bin/bash
        <% p("ks.entries").each do |entry| %>
        <% if entry['command'] == 'add' then %>
        keystore add <%= entry['name'] %>
        <% elsif entry['command'] == 'remove' %>
        keystore remove <%= entry['name'] %>
        <% end %>
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for i in "${!ENTRY_NAME[@]}"; do
          if [ "${ENTRY_COMMAND[$i]}" = add ]; then
            keystore add ${ENTRY_NAME[$i]}
          elif [ "${ENTRY_COMMAND[$i]}" = remove ]; then
            keystore remove ${ENTRY_NAME[$i]}
          fi
        done
        """,
    )
    assert ('(entry[\'command\'] == \'add\') ? "add" : (entry[\'command\'] == \'remove\') ? "remove" : ""'
            in env_of(outcome))


def test_under_set_u_an_empty_list_runs_nothing_in_old_bash_too() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        set -u
        <% p("x.hosts").each do |host| %>
        ping -c1 <%= host %>
        <% end %>
        <% p("x.users").each do |user| %>
        useradd <%= user["name"] %> -s <%= user["shell"] %>
        <% end %>
        <% p("x.groups").each do |group| %>
        groupadd "<%= group["name"] %>"
        <% end %>
        """
    )
    # a list of none is an empty array: bash before 4.4 calls it unbound
    assert 'for host in ${X_HOSTS[@]+"${X_HOSTS[@]}"}; do' in outcome.text, outcome.text
    assert 'ping -c1 $host\n' in outcome.text, outcome.text
    assert 'for i in ${USER_NAME[@]+"${!USER_NAME[@]}"}; do' in outcome.text, outcome.text
    assert 'useradd ${USER_NAME[$i]} -s ${USER_SHELL[$i]}\n' in outcome.text, outcome.text
    assert 'for i in ${GROUP_NAME[@]+"${!GROUP_NAME[@]}"}; do' in outcome.text, outcome.text


def _kept(before: str, reason: str) -> None:
    outcome = migrate(before)
    assert "<% end %>" in outcome.text and "for " not in outcome.text, outcome.text
    messages = [m for m in outcome.messages() if "ERB loop" in m]
    assert messages and reason in messages[0], messages


def test_a_list_held_by_each_item_becomes_one_flat_array_and_where_each_item_starts() -> None:
    outcome = check(
        """\
        #!/bin/bash
        set -u
        <% p("mq.queues", []).each do |queue| %>
          declare "<%= queue["name"] %>"
          <% if queue["keys"] %>
            <% queue["keys"].each do |key| %>
            bind "<%= queue["name"] %>" --key "<%= key %>"
            <% end %>
          <% end %>
        <% end %>
        """,
        """\
        #!/bin/bash
        set -u
        @SOURCE@
        for i in ${QUEUE_NAME[@]+"${!QUEUE_NAME[@]}"}; do
          declare "${QUEUE_NAME[$i]}"
          if [ "${QUEUE_KEYS_SET[$i]}" = true ]; then
            for ((j = ${QUEUE_KEYS_START[i]}; j < ${QUEUE_KEYS_START[i + 1]}; j++)); do
              bind "${QUEUE_NAME[$i]}" --key "${QUEUE_KEYS[$j]}"
            done
          fi
        done
        """,
    )
    env = env_of(outcome)
    # the entries of an item whose condition is false are none: the old template never read them
    assert ('QUEUE_KEYS=(<%= p("mq.queues", []).map { |queue| ((queue["keys"])) ? (queue["keys"]).map { |key| '
            '(key).to_s.shellescape } : [] }.flatten(1).join(" ") %>)') in env, env
    assert ('QUEUE_KEYS_START=(<%= p("mq.queues", []).map { |queue| ((queue["keys"])) ? (queue["keys"]).count : 0 }'
            '.inject([0]) { |at, n| at << at.last + n }.join(" ") %>)') in env, env


def test_a_loop_over_items_that_are_lists_stays_and_says_so() -> None:
    _kept("""\
        #!/bin/bash
        <% p("db.groups").each do |group| %>
        echo "group of <%= group.size %>"
        <% group.each do |member| %>
        ping <%= member %>
        <% end %>
        <% end %>
        """, "it holds another ERB loop (`each`) (line 4): a list per item")


def test_an_inner_loop_holding_erb_blocks_stays_and_says_so() -> None:
    _kept("""\
        #!/bin/bash
        <% p("db.databases").each do |db| %>
        createdb "<%= db["name"] %>"
        <% db["extensions"].each do |ext| %>
        <% if ext != "plpgsql" %>
        psql -d "<%= db["name"] %>" -c "CREATE EXTENSION <%= ext %>"
        <% end %>
        <% end %>
        <% end %>
        """, "the loop on line 4 holds ERB blocks of its own (a list per entry)")


def test_an_item_value_read_only_inside_the_inner_loop_stays_and_says_so() -> None:
    _kept("""\
        #!/bin/bash
        <% p("db.databases").each do |db| %>
        createdb "<%= db["name"] %>"
        <% db["extensions"].each do |ext| %>
        psql -U "<%= db["owner"].upcase %>" -c "CREATE EXTENSION <%= ext %>"
        <% end %>
        <% end %>
        """, "is computed there only for items with entries")


def test_a_loop_writing_a_file_per_item_stays_and_says_so() -> None:
    _kept("""\
        #!/bin/bash
        <% p("vpn.clients").each do |client| %>
        cat > <%= client["name"] %>.conf <<EOF
        <%= client["config"] %>
        EOF
        <% end %>
        """, "it writes a heredoc with ERB per item (line 4): one file per item")


def test_a_loop_whose_items_are_several_words_expands_each_item_unquoted() -> None:
    check(
        """\
        #!/bin/bash
        <% p("vpn.iptables").each do |rule| %>
        iptables <%= rule %>
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for rule in "${VPN_IPTABLES[@]}"; do
          iptables $rule
        done
        """,
    )


def test_a_loop_with_break_in_its_body_stays_and_says_so() -> None:
    _kept("""\
        #!/bin/bash
        <% p("x.hosts").each do |host| %>
        ping -c1 <%= host %> && break
        <% end %>
        """, "`break` or `continue`")


def test_a_loop_in_a_posix_sh_script_stays_and_says_so() -> None:
    outcome = migrate(
        """\
        #!/bin/sh
        <% p("x.hosts").each do |host| %>
        ping -c1 <%= host %>
        <% end %>
        """
    )
    assert "<% end %>" in outcome.text
    assert any("POSIX sh" in m and "no arrays" in m for m in outcome.messages()), outcome.messages()


def test_a_loop_with_an_if_else_per_item_and_an_option_list_set_once() -> None:
    outcome = check(
        """\
        #!/bin/bash
        <% opts = p("es.install_opts").join(' ') %>
        <% p("es.plugins").each do |plugin| name, path = plugin.first %>
          <% if path.start_with? '/var/vcap' %>
            es-plugin install <%= opts %> "file://<%= path %>"
          <% else %>
            es-plugin install <%= opts %> "<%= path %>"
          <% end %>
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for i in "${!PLUGIN_PATH[@]}"; do
          if [ "${PLUGIN_PATH_STARTS_WITH_VAR_VCAP[$i]}" = true ]; then
            es-plugin install "${ES_INSTALL_OPTS[@]}" "file://${PLUGIN_PATH[$i]}"
          else
            es-plugin install "${ES_INSTALL_OPTS[@]}" "${PLUGIN_PATH[$i]}"
          fi
        done
        """,
    )
    env = env_of(outcome)
    # the joined options were several words to bash: they stay several words
    assert 'ES_INSTALL_OPTS=(<%= opts.to_s.shellsplit.map(&:shellescape).join(" ") %>)' in env, env
    # a value used in both branches of the if/else is computed for every item, unguarded
    assert ('PLUGIN_PATH=(<%= p("es.plugins").map { |plugin| name, path = plugin.first; (path).to_s.shellescape }'
            in env), env


def test_a_comment_naming_the_item_names_it_with_the_array_element() -> None:
    check(
        """\
        #!/bin/bash
        <% p("x.users").each do |user| %>
        # user <%= user['name'] %>
        useradd "<%= user['name'] %>"
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for i in "${!USER_NAME[@]}"; do
          # user ${USER_NAME[$i]}
          useradd "${USER_NAME[$i]}"
        done
        """,
    )


# -- unquoted item values: the words the old script split them into --------------------------------
def test_an_unquoted_item_is_its_element_expanded_unquoted_also_in_an_inner_loop() -> None:
    """``/bin/show <%= user %>`` with a user ``a b`` ran ``/bin/show a b``: the element expanded
    unquoted splits the same; the loop variable is named after the item (``add-user`` names no
    variable ``user``); an inner loop's entry likewise, one element per entry."""
    outcome = check(
        """\
        #!/bin/bash
        set -e
        <% p("x.users").each do |user| %>
        /bin/show <%= user %>
        <% end %>
        <% p("x.users").each do |user| %>
        /bin/add-user <%= user["name"] %>
        <% user["tags"].each do |tag| %>
        /bin/add-tag "<%= user["name"] %>" <%= tag %>
        <% end %>
        <% end %>
        """,
        """\
        #!/bin/bash
        set -e
        @SOURCE@
        for user in "${X_USERS[@]}"; do
          /bin/show $user
        done
        for i in "${!USER_NAME[@]}"; do
          /bin/add-user ${USER_NAME[$i]}
          for ((j = ${USER_TAGS_START[i]}; j < ${USER_TAGS_START[i + 1]}; j++)); do
            /bin/add-tag "${USER_NAME[$i]}" ${USER_TAGS[$j]}
          done
        done
        """,
    )
    env = env_of(outcome)
    assert "_WORDS" not in env, env
    assert 'X_USERS=(<%= p("x.users").map { |user| (user).to_s.shellescape }.join(" ") %>)\n' in env, env
    # unquoted and inside double quotes: one array
    assert env.count("USER_NAME=") == 1, env
    assert 'USER_NAME=(<%= p("x.users").map { |user| (user["name"]).to_s.shellescape }.join(" ") %>)\n' in env, env
    assert ('USER_TAGS=(<%= p("x.users").map { |user| (user["tags"]).map { |tag| (tag).to_s.shellescape } }'
            '.flatten(1).join(" ") %>)\n') in env, env
    assert ("# item i's entries in USER_TAGS: from USER_TAGS_START[i] up to USER_TAGS_START[i + 1]\n"
            'USER_TAGS_START=(<%= p("x.users").map { |user| (user["tags"]).count }') in env, env


def test_a_script_that_sets_ifs_keeps_a_loop_printing_an_item_unquoted() -> None:
    """With another IFS an unquoted expansion splits elsewhere than bash's parser split the text."""
    _kept(
        """\
        #!/bin/bash
        IFS=,
        <% p("x.hosts").each do |host| %>
        ping -c1 <%= host %>
        <% end %>
        """, "is printed unquoted and the script sets IFS")


def test_values_that_cannot_split_keep_one_element_per_item() -> None:
    """A number from a range, an index, a value the template escapes itself (one word, which
    bash read back to the value): one element per item, as before."""
    outcome = check(
        """\
        #!/bin/bash
        <% (1..p("x.shards")).each do |n| %>
        mkdir -p /var/vcap/store/shard-<%= n %>
        <% end %>
        <% p("x.hosts").each_with_index do |host, k| %>
        register --slot <%= k %> <%= host.shellescape %>
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for n in "${X_SHARDS[@]}"; do
          mkdir -p /var/vcap/store/shard-"$n"
        done
        for i in "${!K[@]}"; do
          register --slot "${K[$i]}" "${JOB_HOST[$i]}"
        done
        """,
        properties={"x.shards": {"default": 2}, "x.hosts": {"default": ["a"]}},
    )
    env = env_of(outcome)
    # the escaped word is the array's element as it is: the array assignment reads it back
    assert 'JOB_HOST=(<%= p("x.hosts").each_with_index.map { |host, k| (host.shellescape) }.join(" ") %>)' in env, env


def test_two_loops_over_the_same_list_share_its_arrays() -> None:
    outcome = check(
        """\
        #!/bin/bash
        <% p("x.users").each do |user| %>
        useradd "<%= user["name"] %>"
        <% end %>
        <% p("x.users").each do |user| %>
        passwd -l "<%= user["name"] %>"
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for i in "${!USER_NAME[@]}"; do
          useradd "${USER_NAME[$i]}"
        done
        for i in "${!USER_NAME[@]}"; do
          passwd -l "${USER_NAME[$i]}"
        done
        """,
    )
    assert env_of(outcome).count("USER_NAME=") == 1, env_of(outcome)


def test_an_escaped_item_inside_double_quotes_keeps_the_backslashes_bash_kept_there() -> None:
    outcome = check(
        """\
        #!/bin/bash
        <% p("x.hosts").each do |host| %>
        echo "opening <%= host.shellescape %>"
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for host in "${X_HOSTS_ESCAPED[@]}"; do
          echo "opening $host"
        done
        """,
    )
    # inside double quotes bash took the backslash off \\ \" \$ \` only: `a\ b` stayed `a\ b`
    assert ("""X_HOSTS_ESCAPED=(<%= p("x.hosts").map { |host| (host.shellescape).to_s.gsub(/\\\\([$`"\\\\])/, '\\1')"""
            """.gsub("\\\\\\n", '').shellescape }.join(" ") %>)""") in env_of(outcome), env_of(outcome)


# -- unquoted item values: one array, expanded unquoted ---------------------------------------------
_SPLIT_SCRIPT = """\
    #!/bin/bash
    set -eu
    show() { printf '[%s]' "$@"; echo; }
    <% (Array(p("fw.peers")) + [p("fw.backup")]).each do |ip| %>
      show add <%= ip %> 8087 "-s <%= ip %> -j ACCEPT"
    <% end %>
    <% p("x.users").each do |user| %>
    show user <%= user["name"] %>
    <% if user["admin"] %>
    show admin --name=<%= user["name"] %>
    <% end %>
    <% user["tags"].each do |tag| %>
    show tag "<%= user["name"] %>" <%= tag %>
    <% end %>
    <% end %>
    """


def _run_rendered(tmp_path: Path, script: str, env: str | None, props: dict) -> str:
    """Render the script (and its env template) with real Ruby ERB and run it with bash."""
    spec = tmp_path / "spec"
    spec.write_text("name: job\nproperties:\n  fw.peers: {}\n  fw.backup: {}\n  x.users: {}\n")
    text = render(spec, script, properties=props)
    if env is not None:
        (tmp_path / "job_ctl.env").write_text(render(spec, env, properties=props))
        text = text.replace("/var/vcap/jobs/job/config/job_ctl.env", str(tmp_path / "job_ctl.env"))
    run = subprocess.run(["bash", "-c", text], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_an_unquoted_item_is_one_array_element_expanded_unquoted(tmp_path: Path) -> None:
    """``add <%= ip %> 8087`` with an item ``a b`` ran ``add a b 8087``: bash splits the rendered
    text at whitespace, and splits an unquoted expansion of the element at the same places. So one
    array per list, one element per item, read unquoted: no flat word array, no per-item slices."""
    outcome = check(
        _SPLIT_SCRIPT,
        """\
        #!/bin/bash
        set -eu
        @SOURCE@
        show() { printf '[%s]' "$@"; echo; }
        for ip in ${FW_PEERS[@]+"${FW_PEERS[@]}"}; do
          show add $ip 8087 "-s $ip -j ACCEPT"
        done
        for i in ${USER_NAME[@]+"${!USER_NAME[@]}"}; do
          show user ${USER_NAME[$i]}
          if [ "${USER_ADMIN_SET[$i]}" = true ]; then
            show admin --name=${USER_NAME[$i]}
          fi
          for ((j = ${USER_TAGS_START[i]}; j < ${USER_TAGS_START[i + 1]}; j++)); do
            show tag "${USER_NAME[$i]}" ${USER_TAGS[$j]}
          done
        done
        """,
    )
    env = env_of(outcome)
    assert "_WORDS" not in env and "_WORDS" not in outcome.text, env
    assert 'FW_PEERS=(<%= (Array(p("fw.peers")) + [p("fw.backup")]).map { |ip| (ip).to_s.shellescape }.join(" ") %>)\n' \
        in env, env
    assert env.count("USER_NAME=") == 1, env
    # the old script ran a value holding shell syntax as shell code: said, at info level
    said = [f for f in outcome.findings if "unquoted" in f.message]
    assert [f.severity for f in said] == ["info", "info"], outcome.findings
    assert "shell syntax" in said[0].message and "`$ip`" in said[0].message, said[0].message
    if not ruby_available():
        pytest.skip("needs Debian's ruby")
    old = textwrap.dedent(_SPLIT_SCRIPT)
    for props in (
        {"fw": {"peers": ["10.0.0.1", "10.0.0.2"], "backup": "10.0.0.3"},
         "x": {"users": [{"name": "ann", "admin": True, "tags": ["a", "b"]}, {"name": "bob", "tags": []}]}},
        # the spaced render context's shape: a second word, more blanks, a tab, an empty value
        {"fw": {"peers": ["10.0.0.1 extra", "  a \t b  "], "backup": ""},
         "x": {"users": [{"name": "ann lee", "admin": True, "tags": ["t one", "", "x"]},
                         {"name": "", "tags": ["z  y"]}, {"name": "c d e", "admin": True, "tags": []}]}},
        {"fw": {"peers": [], "backup": "*"}, "x": {"users": []}},
    ):
        before = _run_rendered(tmp_path, old, None, props)
        after = _run_rendered(tmp_path, outcome.text, env, props)
        assert after == before, (props, before, after)
    # a value with shell syntax: the old script ran it, the new one passes its words
    hostile = {"fw": {"peers": ["$(touch ran)"], "backup": "b"}, "x": {"users": []}}
    assert "[add][$(touch][ran)][8087]" in _run_rendered(tmp_path, outcome.text, env, hostile)
    assert not (tmp_path / "ran").exists()


def test_a_word_in_a_comment_does_not_take_the_loop_variable_name() -> None:
    """gogs: the only other ``i`` in the script was a comment's "(i.e. ...)"; the loop got ``i_2``."""
    outcome = migrate("""\
        #!/bin/bash
        # create each role (i.e. one per entry of db.roles)
        <% p("db.roles", []).each do |role| %>
          psql -c "CREATE ROLE \\"<%= role["name"] %>\\""
        <% end %>
        """)
    assert 'for i in "${!ROLE_NAME[@]}"; do' in outcome.text, outcome.text
    assert "i_2" not in outcome.text


def test_an_item_printed_unquoted_and_escaped_by_the_template_is_one_array() -> None:
    """``<%= vhost %>`` (split by bash) and ``<%= vhost.shellescape %>`` (one word bash read back to
    the value) in one body: one array of the values, one unquoted and one quoted reference."""
    check(
        """\
        #!/bin/bash
        <% p("mq.vhosts").each do |vhost| %>
        mqctl add-vhost <%= vhost %>
        mqctl limit-vhost <%= vhost.shellescape %> --max 5
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for i in "${!MQ_VHOSTS[@]}"; do
          mqctl add-vhost ${MQ_VHOSTS[$i]}
          mqctl limit-vhost "${MQ_VHOSTS[$i]}" --max 5
        done
        """,
        """\
        MQ_VHOSTS=(<%= p("mq.vhosts").map { |vhost| (vhost).to_s.shellescape }.join(" ") %>)
        """,
    )
