"""The Ruby render harness behaves like the BOSH director's template rendering where our tests
rely on it: spec defaults, unknown properties, if_p chains, the v1 accessors, links, trim mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.erb_render import RenderError, render, ruby_available

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "spec"
    path.write_text(yaml.safe_dump({"name": "job", "properties": {
        "a.port": {"default": 8080},
        "a.host": {"description": "no default"},
        "a.list": {"default": ["x", "y"]},
        "a.flag": {"default": False},
    }}))
    return path


def test_p_uses_the_manifest_then_the_spec_default_then_the_given_default(spec: Path) -> None:
    assert render(spec, '<%= p("a.port") %>') == "8080"
    assert render(spec, '<%= p("a.port") %>', {"a": {"port": 1}}) == "1"
    assert render(spec, '<%= p("a.host", "h") %>') == "h"
    assert render(spec, '<%= p(["a.host", "a.port"]) %>') == "8080"


def test_an_unset_property_without_default_or_an_undeclared_one_fails(spec: Path) -> None:
    with pytest.raises(RenderError):
        render(spec, '<%= p("a.host") %>')
    with pytest.raises(RenderError):
        render(spec, '<%= p("a.nope", 1) %>')


def test_if_p_with_else_and_else_if_p(spec: Path) -> None:
    template = ('<% if_p("a.host") do |h| %>host=<%= h %><% end.else_if_p("a.port") do |p| %>'
                'port=<%= p %><% end.else do %>none<% end %>')
    assert render(spec, template) == "port=8080"
    assert render(spec, template, {"a": {"host": "h"}}) == "host=h"


def test_v1_accessors_spec_and_trim_mode(spec: Path) -> None:
    assert render(spec, "<%= properties.a.port %> <%= name %> <%= index %> <%= spec.az %>") == "8080 job 0 z1"
    assert render(spec, "a\n<% if p('a.flag') -%>\nflag\n<% end -%>\nb\n") == "a\nb\n"


def test_links_from_the_context(spec: Path) -> None:
    links = {"db": {"properties": {"port": 5432}, "address": "db.internal", "instances": [{"address": "10.0.0.1"}]}}
    text = '<%= link("db").p("port") %> <%= link("db").address %> <%= link("db").instances.map(&:address).join(",") %>'
    assert render(spec, text, links=links) == "5432 db.internal 10.0.0.1"
    assert render(spec, '<% if_link("db") do |db| %>yes<% end %><% if_link("x") do |x| %>no<% end %>', links=links) == "yes"


def test_rendered_bytes_are_kept(spec: Path) -> None:
    assert render(spec, '<%= "a\\rb" %>') == "a\rb"


def test_a_made_up_value_read_as_an_object_answers_made_up_values(spec: Path) -> None:
    """Real templates read a hash-valued property without a default as an object
    (``p("x.ldap").login``); a made-up string must let them render, the same for old and new."""
    made_up = {"a": {"host": "made-up-host"}}
    assert render(spec, '<%= p("a.host").login %>', made_up) == "made-up-login"
    assert render(spec, '<%= p("a.host").enabled? ? 1 : 0 %>', made_up) == "0"
    assert render(spec, '<% p("a.host").each do |h| %>[<%= h %>]<% end %>', made_up) == "[made-up-host]"
    assert render(spec, '<%= p("a.host").upcase %>', made_up) == "MADE-UP-HOST"
    assert render(spec, '<%= p("a.host") %>', {"a": {"host": "real"}}) == "real"
    with pytest.raises(RenderError):
        render(spec, '<%= p("a.host").login %>', {"a": {"host": "real"}})


def test_a_template_that_walks_the_networks_finds_the_default_one(spec: Path) -> None:
    """A one-network deployment, as real templates expect (riak-cs finds its ip this way)."""
    walk = ('<% _, net = spec.networks.marshal_dump.find { |_n, s| s.default } %><%= net.ip %>')
    assert render(spec, walk) == "10.0.0.10"
    assert render(spec, walk, spec={"ip": "10.1.2.3"}) == "10.1.2.3"
    assert render(spec, "<%= spec.networks.send('any').ip %>") == "10.0.0.10"
