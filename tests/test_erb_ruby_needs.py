"""erb-to-config: Ruby that moved or kept ERB still needs travels with it, or the ERB stays.

An env template that reads a Ruby local only the script sets raises NameError (the job no longer
renders); a bash ``if`` made from an ERB condition whose body still holds ERB lets that ERB render
when the condition is false (``undefined method each for String``). Each test is one shape seen in
real releases, in our own words.
"""

from __future__ import annotations

import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.support.erb_render import render, ruby_available
from tests.test_erb_to_config import env_of, migrate


def _uses_before_sets(env: str) -> list[str]:
    """Ruby locals the env template reads before any line of it sets them (a NameError)."""
    set_so_far: set[str] = set()
    problems = []
    for line in env.splitlines():
        for code in re.findall(r"<%=?(.*?)-?%>", line):
            for name in re.findall(r"(?<![.\w\"'])([a-z_]\w*)\b(?!\s*\()", code):
                if name in {"p", "if", "end", "do", "else", "true", "false", "nil", "to_s", "shellescape",
                            "join", "map", "instances", "address", "link", "if_link", "if_p", "spec", "each",
                            "instance", "and", "or", "not", "unless", "elsif", "then", "x", "rlp"}:
                    continue
                if name not in set_so_far and not re.search(rf"\b{name}\s*=", code):
                    problems.append(name)
        set_so_far |= set(re.findall(r"([a-z_]\w*)\s*=(?!=)", line))
    return problems


def test_a_chain_of_locals_travels_in_order_with_the_value_that_reads_the_last() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% zks = link('zookeeper') %>
        <% zk_port = zks.p('client_port') %>
        <% list = zks.instances.map { |i| "#{i.address}:#{zk_port}" }.join(",") %>

        exec /bin/job --zookeeper <%= list %>
        """
    )
    assert "<%" not in outcome.text, outcome.text
    env = env_of(outcome)
    assert env.index("zks = link") < env.index("zk_port = zks") < env.index("list = zks") < env.index("list.to_s")
    assert outcome.findings == []


def test_a_condition_on_a_local_set_earlier_gets_the_local_copied_into_the_env_template() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% backup = p("job.backup.enabled") && p("job.backup.bucket") != "" %>
        <% if backup %>
        echo backing up
        <% end %>
        exec /bin/job
        """
    )
    assert "<%" not in outcome.text, outcome.text
    env = env_of(outcome)
    assert env.index("<% backup = ") < env.index("<% if backup")
    assert not _uses_before_sets(env)


def test_a_ruby_block_that_sets_several_locals_travels_whole() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <%
        drains = []
        addrs = []
        if_link("proxy") do |proxy|
          addrs = proxy.instances.map { |i| "#{i.address}:8082" }
        end
        %>
        <% if addrs && addrs.length > 0 %>
        export PROXY_ADDRS="<%= addrs.join(",") %>"
        <% end %>
        export DRAINS="<%= drains.join(",") %>"
        exec /bin/job
        """
    )
    assert "<%" not in outcome.text, outcome.text
    env = env_of(outcome)
    assert env.count("drains = []") == 1 and env.index("drains = []") < env.index("<% if addrs")


def test_a_local_that_another_tag_changes_in_place_stays_with_its_users() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% opts = [] %>
        <% opts << "--debug" if p("job.debug") %>
        exec /bin/job <%= opts.join(" ") %>
        """
    )
    assert '<%= opts.join(" ") %>' in outcome.text
    assert any("`opts`" in m for m in outcome.messages())


def test_a_method_the_script_defines_travels_with_the_value_that_calls_it() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <%
          def primary_ip
            spec.networks.marshal_dump.values.first.ip
          end
        %>
        <% self_ip = primary_ip %>
        exec /bin/job --listen <%= self_ip %>
        """
    )
    assert "<%" not in outcome.text, outcome.text
    env = env_of(outcome)
    assert env.index("def primary_ip") < env.index("self_ip = primary_ip") < env.index("self_ip.to_s")


def test_a_guard_around_an_erb_loop_that_stays_stays_ruby() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% if p("job.hosts").is_a? Array %>
        <% p("job.hosts").each do |h| %>
        <% h.each do |x| %>
        echo <%= x %>
        <% end %>
        <% end %>
        <% end %>
        exec /bin/job
        """
    )
    assert '<% if p("job.hosts").is_a? Array %>' in outcome.text, outcome.text
    assert "if [" not in outcome.text
    guard = [m for m in outcome.messages() if "lines 2-8" in m]
    assert guard and "stays in the script and may only render when the condition holds" in guard[0], guard


def test_an_if_p_stays_erb_while_a_loop_inside_reads_its_block_variable() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% if_p("job.peers") do |peers| %>
        echo "peers configured"
        <% peers.each do |peer| %>
        <% peer.each do |x| %>
        ping <%= x %>
        <% end %>
        <% end %>
        <% end %>
        exec /bin/job
        """
    )
    assert '<% if_p("job.peers") do |peers| %>' in outcome.text
    assert "if [" not in outcome.text


def test_an_end_tag_with_a_comment_still_closes_its_block() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% if spec.bootstrap %>
        /var/vcap/packages/db/bin/migrate
        <% end # spec.bootstrap %>
        """
    )
    assert "<%" not in outcome.text, outcome.text
    assert not any("do not nest" in m for m in outcome.messages())


def test_ruby_left_in_the_script_says_why_it_stays() -> None:
    outcome = migrate(
        """\
        #!/bin/bash
        <% raise "set a password" if p("db.password").empty? %>
        <% hosts = [] %>
        <% hosts << p("db.host") %>
        exec /bin/db --hosts <%= hosts.join(",") %>
        """
    )
    messages = "\n".join(outcome.messages())
    assert "stays in the script: it sets no value (a check or a side effect at render time)" in messages, messages
    assert "reads `hosts`, which it sets" in messages, messages


HELPER_SCRIPT = """\
    #!/bin/bash
    <%
      require "shellwords"
      def sh_esc(x)
        Shellwords.shellescape(x)
      end
    %>
    exec /bin/job --name <%= sh_esc(p("job.name")) %> --motd "<%= sh_esc(p("job.motd")) %>"
    """


def test_a_shell_escaping_helper_is_called_through() -> None:
    outcome = migrate(HELPER_SCRIPT)
    assert outcome.text.endswith('exec /bin/job --name "$JOB_NAME" --motd "$JOB_MOTD"\n'), outcome.text
    env = env_of(outcome)
    assert "def sh_esc(x)" in env
    assert 'JOB_NAME=<%= sh_esc(p("job.name")) %>' in env  # escaped once, by the helper
    # inside double quotes bash took the backslashes of the escaped text off `$`, `"`, `\`: so does the env
    assert 'JOB_MOTD=<%= (sh_esc(p("job.motd"))).to_s.gsub(' in env


@pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")
@pytest.mark.parametrize("name", ["plain", "two words", "it's", "$(id)", "*", ""])
def test_a_called_through_helper_gives_the_words_the_old_script_gave(tmp_path: Path, name: str) -> None:
    spec = tmp_path / "spec"
    spec.write_text(yaml.safe_dump({"name": "job", "properties": {"job.name": {}, "job.motd": {}}}))
    props = {"job": {"name": name, "motd": name}}
    outcome = migrate(HELPER_SCRIPT)
    files = {f.path: f.content for f in outcome.result.result.new_files}
    env = tmp_path / "job.env"
    env.write_text(render(spec, files["templates/job_ctl.env.erb"], props))
    old_line = render(spec, textwrap.dedent(HELPER_SCRIPT), props).splitlines()[-1]
    dump = 'printf "%s\\0" "$@"'
    old = subprocess.run(["bash", "-c", f"set -f; job() {{ {dump}; }}; {old_line.replace('exec /bin/job', 'job')}"],
                         capture_output=True, check=True).stdout
    new = subprocess.run(["bash", "-c", f'set -f; source {env}; {dump} --name "$JOB_NAME" --motd "$JOB_MOTD"',
                          "x"], capture_output=True, check=True).stdout
    assert new == old
