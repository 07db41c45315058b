"""erb-to-config: ERB loops that write script lines per item become bash arrays and a ``for``.

Each test is one loop shape from real releases, in our own words. The equivalence of the moved
loops (render with Ruby, run both scripts) is proven on the ``db-seeder`` sample job.
"""

from __future__ import annotations

from tests.test_erb_to_config import check, env_of, migrate


def test_a_loop_over_a_list_of_addresses_becomes_a_for_over_an_array() -> None:
    """Printed unquoted, an address was shell source: the item's words; quoted, its element."""
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
        for i in "${!FW_PEERS[@]}"; do
          ip=("${FW_PEERS_WORDS[@]:${FW_PEERS_WORDS_START[i]}:${FW_PEERS_WORDS_START[i + 1]} - ${FW_PEERS_WORDS_START[i]}}")
          allow "${ip[@]}" "accept from ${FW_PEERS[$i]}"
        done
        """,
        """\
        FW_PEERS_WORDS=(<%= (Array(p("fw.peers")) + [p("fw.backup")]).map { |ip| (ip).to_s.shellsplit.map(&:shellescape) }.flatten(1).join(" ") %>)
        # item i's words in FW_PEERS_WORDS: from FW_PEERS_WORDS_START[i] up to FW_PEERS_WORDS_START[i + 1]
        FW_PEERS_WORDS_START=(<%= (Array(p("fw.peers")) + [p("fw.backup")]).map { |ip| (ip).to_s.shellsplit.count }.inject([0]) { |at, n| at << at.last + n }.join(" ") %>)
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
        for i in "${!ENTRY_COMMAND[@]}"; do
          entry_name=("${ENTRY_NAME_WORDS[@]:${ENTRY_NAME_WORDS_START[i]}:${ENTRY_NAME_WORDS_START[i + 1]} - ${ENTRY_NAME_WORDS_START[i]}}")
          if [ "${ENTRY_COMMAND[$i]}" = add ]; then
            keystore add "${entry_name[@]}"
          elif [ "${ENTRY_COMMAND[$i]}" = remove ]; then
            keystore remove "${entry_name[@]}"
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
    # an item of no words, or a list of none, is an empty array: bash before 4.4 calls it unbound
    assert 'for ((i = 0; i + 1 < ${#X_HOSTS_WORDS_START[@]}; i++)); do' in outcome.text, outcome.text
    assert ('host=(${X_HOSTS_WORDS[@]+"${X_HOSTS_WORDS[@]:${X_HOSTS_WORDS_START[i]}:${X_HOSTS_WORDS_START[i + 1]} '
            '- ${X_HOSTS_WORDS_START[i]}}"})') in outcome.text, outcome.text
    assert 'ping -c1 ${host[@]+"${host[@]}"}' in outcome.text, outcome.text
    assert 'useradd ${user_name[@]+"${user_name[@]}"} -s ${user_shell[@]+"${user_shell[@]}"}' in outcome.text
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


def test_a_loop_whose_items_are_several_words_keeps_each_items_words() -> None:
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
        for ((i = 0; i + 1 < ${#VPN_IPTABLES_WORDS_START[@]}; i++)); do
          rule=("${VPN_IPTABLES_WORDS[@]:${VPN_IPTABLES_WORDS_START[i]}:${VPN_IPTABLES_WORDS_START[i + 1]} - ${VPN_IPTABLES_WORDS_START[i]}}")
          iptables "${rule[@]}"
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
def test_an_unquoted_item_keeps_its_words_a_slice_of_one_flat_array_per_item() -> None:
    """``/bin/show <%= user %>`` with a user ``a b`` ran ``/bin/show a b``: each item's words (as
    bash parsed its rendered text, Ruby's shellsplit here) are a slice of one flat array; the
    loop variable is named after the item (``add-user`` names no variable ``user``)."""
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
        for ((i = 0; i + 1 < ${#X_USERS_WORDS_START[@]}; i++)); do
          user=("${X_USERS_WORDS[@]:${X_USERS_WORDS_START[i]}:${X_USERS_WORDS_START[i + 1]} - ${X_USERS_WORDS_START[i]}}")
          /bin/show "${user[@]}"
        done
        for i in "${!USER_NAME[@]}"; do
          user_name=("${USER_NAME_WORDS[@]:${USER_NAME_WORDS_START[i]}:${USER_NAME_WORDS_START[i + 1]} - ${USER_NAME_WORDS_START[i]}}")
          /bin/add-user "${user_name[@]}"
          for ((j = ${USER_TAGS_START[i]}; j < ${USER_TAGS_START[i + 1]}; j++)); do
            tag=("${USER_TAGS_WORDS[@]:${USER_TAGS_WORDS_START[j]}:${USER_TAGS_WORDS_START[j + 1]} - ${USER_TAGS_WORDS_START[j]}}")
            /bin/add-tag "${USER_NAME[$i]}" "${tag[@]}"
          done
        done
        """,
    )
    env = env_of(outcome)
    assert ('X_USERS_WORDS=(<%= p("x.users").map { |user| (user).to_s.shellsplit.map(&:shellescape) }.flatten(1)'
            '.join(" ") %>)\n') in env, env
    assert ("# item i's words in X_USERS_WORDS: from X_USERS_WORDS_START[i] up to X_USERS_WORDS_START[i + 1]\n"
            'X_USERS_WORDS_START=(<%= p("x.users").map { |user| (user).to_s.shellsplit.count }'
            '.inject([0]) { |at, n| at << at.last + n }.join(" ") %>)\n') in env, env
    # inside double quotes the name is one word: the plain array, one element per item
    assert 'USER_NAME=(<%= p("x.users").map { |user| (user["name"]).to_s.shellescape }.join(" ") %>)\n' in env, env
    assert ('USER_TAGS_WORDS=(<%= p("x.users").map { |user| (user["tags"]).map { |tag| '
            '(tag).to_s.shellsplit.map(&:shellescape) }.flatten(1) }.flatten(1).join(" ") %>)\n') in env, env
    assert ("# entry j's words in USER_TAGS_WORDS: from USER_TAGS_WORDS_START[j] up to USER_TAGS_WORDS_START[j + 1]\n"
            'USER_TAGS_WORDS_START=(<%= p("x.users").map { |user| (user["tags"]).map { |tag| (tag).to_s.shellsplit'
            '.count } }.flatten(1).inject([0]) { |at, n| at << at.last + n }.join(" ") %>)\n') in env, env
    assert ("# item i's entries: j from USER_TAGS_START[i] up to USER_TAGS_START[i + 1]\n"
            'USER_TAGS_START=(<%= p("x.users").map { |user| (user["tags"]).count }') in env, env


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
