"""erb-to-config: Ruby that moved or kept ERB still needs travels with it, or the ERB stays.

An env template that reads a Ruby local only the script sets raises NameError (the job no longer
renders); a bash ``if`` made from an ERB condition whose body still holds ERB lets that ERB render
when the condition is false (``undefined method each for String``). Each test is one shape seen in
real releases, in our own words.
"""

from __future__ import annotations

import re

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
