"""Made-up manifest properties: plausible enough that real templates render and their scripts run."""

from __future__ import annotations

import pytest

from migrator.ruby_erb.contexts import made_up_value, manifest_properties


@pytest.mark.parametrize("name,kind", [
    ("web.port", int), ("web.tls.enabled", bool), ("web.hosts", list), ("kafka.roles", list),
    ("x.services", list), ("x.machines", list), ("db.admin_password", str), ("x.timeout", int),
])
def test_a_value_has_the_kind_its_name_suggests(name: str, kind: type) -> None:
    assert isinstance(made_up_value(name), kind)


def test_an_example_in_the_spec_wins() -> None:
    assert made_up_value("x.anything", {"example": ["a", "b"]}) == ["a", "b"]


def test_an_example_written_as_the_manifest_fragment_around_the_property_is_unwrapped() -> None:
    """elasticsearch's secure_settings example is ``{elasticsearch: {secure_settings: [...]}}``:
    used as the value, ``setting['command']`` raised in every render of the job."""
    items = [{"command": "add", "name": "s3.key", "value": "aaaa"}]
    wrapped = {"example": {"elasticsearch": {"secure_settings": items}}}
    assert made_up_value("elasticsearch.secure_settings", wrapped) == items
    assert made_up_value("es.secure_settings", {"example": {"secure_settings": items}}) == items
    assert made_up_value("x.headers", {"example": {"Accept": "json"}}) == {"Accept": "json"}  # a hash value
    assert made_up_value("x.headers", {"example": {"headers": "a", "other": "b"}}) == {"headers": "a", "other": "b"}


def test_defaults_are_left_to_the_renderer_and_flipped_when_boolean() -> None:
    spec = {"a.on": {"default": False}, "a.level": {"default": "info"}, "a.port": {}}
    assert manifest_properties(spec) == {"a": {"port": 4242}}
    assert manifest_properties(spec, flip_booleans=True) == {"a": {"on": True, "port": 4242}}


def test_a_property_and_its_child_both_declared_do_not_crash() -> None:
    tree = manifest_properties({"a": {}, "a.b": {}})
    assert isinstance(tree["a"], dict) and "b" in tree["a"]


def test_spaced_gives_each_string_in_a_list_or_hash_a_second_word_defaults_included() -> None:
    spec = {"a.users": {"default": [{"name": "ops", "tags": ["admin"], "uid": 7}]}, "a.level": {"default": "info"},
            "a.hosts": {}, "a.map": {"default": {"k": "v"}}, "a.none": {"default": []}}
    assert manifest_properties(spec, spaced=True) == {"a": {
        "users": [{"name": "ops second-word", "tags": ["admin second-word"], "uid": 7}],
        "hosts": ["10.0.0.5 second-word", "10.0.0.6 second-word"], "map": {"k": "v second-word"}}}
