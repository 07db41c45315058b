"""erb-to-config: the rewritten line reads as a person would write it.

A moved value takes the simplest quoting that gives the same word: a single-quoted string around a
tag becomes one double-quoted string (no empty ``''`` pairs, no quoted pieces glued together), a
value already turned into text by its own Ruby is not turned into text twice, and a constant (a
Ruby literal, no property read) stays in the script as the text it rendered.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.erb_render import render, ruby_available
from tests.test_erb_to_config import check, env_of, migrate


def test_a_single_quoted_string_around_a_value_becomes_one_double_quoted_string() -> None:
    check(
        """\
        #!/bin/bash
        nc -z 'localhost:<%= p("probe.port") %>'
        probe '<%= p("probe.host") %>-<%= p("probe.port") %>x'
        """,
        """\
        #!/bin/bash
        @SOURCE@
        nc -z "localhost:$PROBE_PORT"
        probe "$PROBE_HOST-${PROBE_PORT}x"
        """,
    )


def test_a_single_quoted_string_with_shell_characters_keeps_its_quotes_but_no_empty_pair() -> None:
    check(
        """\
        #!/bin/bash
        echo '$HOME:<%= p("probe.port") %>'
        echo '<%= p("probe.port") %>:$HOME'
        """,
        """\
        #!/bin/bash
        @SOURCE@
        echo '$HOME:'"$PROBE_PORT"
        echo "$PROBE_PORT"':$HOME'
        """,
    )


def test_a_loop_item_in_single_quotes_is_one_double_quoted_word() -> None:
    check(
        """\
        #!/bin/bash
        set -e
        <% p("shelf.books").each do |book| %>
          shelve --text '<%= book %>' 'B<%= book %>'
        <% end %>
        """,
        """\
        #!/bin/bash
        set -e
        @SOURCE@
        for book in "${SHELF_BOOKS[@]}"; do
          shelve --text "$book" "B$book"
        done
        """,
    )


def test_a_value_made_text_by_its_own_ruby_is_not_made_text_twice() -> None:
    outcome = check(
        """\
        #!/bin/bash
        exec /bin/x --port <%= p("a.port").to_s %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/x --port "$A_PORT"
        """,
    )
    assert env_of(outcome) == 'A_PORT=<%= p("a.port").to_s.shellescape %>\n'


def test_a_constant_stays_in_the_script_as_the_text_it_rendered() -> None:
    outcome = check(
        """\
        #!/bin/bash
        exec /bin/x --host <%= "10.1.2.3" %> --n <%= 42 %> -m "<%= 'x y' %>" --port <%= p("a.port") %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        exec /bin/x --host 10.1.2.3 --n 42 -m "x y" --port "$A_PORT"
        """,
    )
    assert env_of(outcome) == 'A_PORT=<%= p("a.port").to_s.shellescape %>\n'


def test_a_script_whose_only_tags_are_constants_gets_no_env_template() -> None:
    outcome = check(
        """\
        #!/bin/bash
        exec /bin/x --host <%= "10.1.2.3" %>
        """,
        """\
        #!/bin/bash
        exec /bin/x --host 10.1.2.3
        """,
    )
    assert env_of(outcome) == ""


def test_a_value_and_the_same_value_made_text_share_one_variable() -> None:
    outcome = check(
        """\
        #!/bin/bash
        probe --port <%= p("a.port") %>
        exec /bin/x --port <%= p("a.port").to_s %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        probe --port "$A_PORT"
        exec /bin/x --port "$A_PORT"
        """,
    )
    assert env_of(outcome) == 'A_PORT=<%= p("a.port").to_s.shellescape %>\n'


def test_a_one_word_value_inside_the_command_word_is_a_plain_variable() -> None:
    """Only a value that is the whole command word may be a program and its flags (an array);
    one inside a longer word (a driver's name in a path) is one word, like such a value in the
    arguments: its default is one word and nothing about it reads as a list."""
    outcome = check(
        """\
        #!/bin/bash
        /var/vcap/packages/fs/bin/<%= p("fs.driver") %>-setup --store /var/vcap/data/fs
        ${FS_BIN}/<%= p("fs.driver") %>-check
        """,
        """\
        #!/bin/bash
        @SOURCE@
        "/var/vcap/packages/fs/bin/${FS_DRIVER}-setup" --store /var/vcap/data/fs
        ${FS_BIN}/"$FS_DRIVER"-check
        """,
        properties={"fs.driver": {"default": "btrfs"}},
    )
    assert env_of(outcome) == 'FS_DRIVER=<%= p("fs.driver").to_s.shellescape %>\n'


def test_a_value_inside_the_command_word_that_reads_as_words_stays_words() -> None:
    outcome = check(
        """\
        #!/bin/bash
        /opt/bin/<%= p("fs.extra_args") %>-tool
        """,
        """\
        #!/bin/bash
        @SOURCE@
        /opt/bin/"${FS_EXTRA_ARGS[@]}"-tool
        """,
        properties={"fs.extra_args": {"default": ""}},
    )
    assert "shellsplit" in env_of(outcome)


def test_a_condition_inside_a_loop_that_reads_no_item_is_one_flag_tested_the_same_way() -> None:
    """``<% if p("x.verbose") %>`` inside a loop over a list gives the same answer for every item:
    one flag (set only when the list has items, as the old template read it only then), not one
    array element per item."""
    outcome = check(
        """\
        #!/bin/bash
        <% p("x.hosts").each do |host| %>
        ping -c 1 "<%= host %>"
        <% if p("x.verbose") %>
        echo "pinged <%= host %>"
        <% end %>
        <% end %>
        """,
        """\
        #!/bin/bash
        @SOURCE@
        for i in "${!X_HOSTS[@]}"; do
          ping -c 1 "${X_HOSTS[$i]}"
          if [ "$X_VERBOSE" = true ]; then
            echo "pinged ${X_HOSTS[$i]}"
          fi
        done
        """,
        properties={"x.hosts": {"default": ["a", "b"]}, "x.verbose": {"default": False}},
    )
    env = env_of(outcome)
    assert 'X_VERBOSE=<%= (p("x.hosts")).to_a.empty? ? "false" : (p("x.verbose")) ? "true" : "false" %>\n' in env, env


def test_a_moved_assignment_built_from_several_values_is_one_escaped_ruby_string(tmp_path: Path) -> None:
    """``URL='<%= a %>://<%= b %>:<%= c %>'`` moved into the env template: one Ruby string,
    escaped once (was each value escaped and glued to quoted pieces: ``<%= a %>'://'<%= b %>``)."""
    outcome = migrate("""\
        #!/bin/bash
        DESK_URL='<%= p("desk.scheme") %>://<%= p("desk.host") %>:<%= p("desk.port") %>'
        export NOTE="desk at <%= p("desk.host") %>"
        exec /bin/desk --url "$DESK_URL"
        """)
    env = env_of(outcome)
    assert env == ('DESK_URL=<%= "#{p("desk.scheme")}://#{p("desk.host")}:#{p("desk.port")}".shellescape %>\n'
                   'export NOTE=<%= "desk at #{p("desk.host")}".shellescape %>\n'), env
    if not ruby_available():
        pytest.skip("needs Debian's ruby")
    spec = tmp_path / "spec"
    spec.write_text("name: job\nproperties:\n  desk.scheme: {}\n  desk.host: {}\n  desk.port: {}\n")
    props = {"desk": {"scheme": "https", "host": "h'$(touch ran) x", "port": 8443}}
    out = subprocess.run(["bash", "-c", render(spec, env, properties=props) + '\nprintf "%s|%s" "$DESK_URL" "$NOTE"'],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out == "https://h'$(touch ran) x:8443|desk at h'$(touch ran) x"
    assert not (tmp_path / "ran").exists()


def test_an_unquoted_assignment_built_from_several_values_is_one_escaped_ruby_string(tmp_path: Path) -> None:
    """``export url=<%= a %>://<%= b %>`` (elasticsearch's drain, gogs' sanity test) read as
    ``<%= a.shellescape %>://<%= b.shellescape %>``: one Ruby string now, escaped once. Text between
    the tags that the shell would not read as itself keeps the per-tag form."""
    outcome = migrate("""\
        #!/bin/bash
        export url=<%= p("desk.scheme") %>://<%= p("desk.host") %>:<%= p("desk.port") %>
        home=~<%= p("desk.host") %>/<%= p("desk.port") %>
        exec /bin/desk --url "$url" --home "$home"
        """)
    env = env_of(outcome)
    assert 'export url=<%= "#{p("desk.scheme")}://#{p("desk.host")}:#{p("desk.port")}".shellescape %>\n' in env, env
    assert "home=~<%=" in env, env  # a tilde expands: not plain text
    if not ruby_available():
        pytest.skip("needs Debian's ruby")
    spec = tmp_path / "spec"
    spec.write_text("name: job\nproperties:\n  desk.scheme: {}\n  desk.host: {}\n  desk.port: {}\n")
    props = {"desk": {"scheme": "https", "host": "h'$(touch ran) x", "port": 8443}}
    first = env.splitlines()[0]
    out = subprocess.run(["bash", "-c", render(spec, first, properties=props) + '\nprintf "%s" "$url"'],
                         cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out == "https://h'$(touch ran) x:8443"
    assert not (tmp_path / "ran").exists()
