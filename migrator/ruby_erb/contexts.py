"""Manifest properties for rendering a job without a deployment manifest.

A template renders only when every property it reads has a value, so a render for checking needs
values for the properties the spec declares without a default. They are invented from the
property's ``example`` when the spec gives one, else from its name (``*.port`` is a number,
``*.enabled`` a boolean, ``*.hosts`` a list), so that the rendered script is plausible enough
for a shell to run. A second context flips every boolean, so both sides of an ERB ``if`` render.
A third (``spaced``, used by the equivalence tests) gives every string inside a list or a hash
(an item of a list, a field of an item) a second word: made-up and default items are single words,
so a script that printed an item unquoted and one that quotes it ran the same commands on them,
while a manifest's ``"a b"`` makes two words of the first and one of the second.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

_BOOL = re.compile(r"(^|[._])(enabled?|disabled?|skip|use|allow|insecure|debug|verbose|require|force|"
                   r"ssl|tls|bootstrap)([._]|$)|(^|[._])(is|use|allow|enable|disable|skip)_", re.I)
_NUMBER = re.compile(r"(port|timeout|interval|seconds|secs|count|max|min|size|limit|workers|threads|retries|"
                     r"attempts|instances|index|ttl|delay|period|percent|memory|mb|gb)$", re.I)
_SECRET = re.compile(r"(password|passwd|secret|token|key|credentials?)$", re.I)
_ADDRESS = re.compile(r"(host|address|ip|addr|domain|hostname|server|endpoint)$", re.I)
_URL = re.compile(r"(url|uri)$", re.I)
_LIST = re.compile(r"(hosts|ips|addresses|servers|nodes|peers|members|seeds|urls|domains|list|args|flags|"
                   r"options|opts|roles|services|machines|users|plugins|zones|brokers|clusters|networks|"
                   r"endpoints|targets|routes|groups|tags|extensions|modules|databases|queues|topics|"
                   r"instances_list|items|entries|rules|names)$", re.I)


def made_up_value(name: str, declared: Mapping[str, Any] | None = None) -> Any:
    """A plausible value for property ``name`` (dotted), from its spec ``example`` or its name."""
    declared = declared or {}
    if declared.get("example") is not None:
        return _unwrapped(name, declared["example"])
    last = name.rsplit(".", 1)[-1]
    if _LIST.search(last):
        return ["10.0.0.5", "10.0.0.6"]
    if _URL.search(last):
        return "https://example.test:8443/path"
    if _NUMBER.search(last):
        return 4242 if last.lower().endswith("port") else 7
    if _SECRET.search(last):
        return "s3cret-value"
    if _ADDRESS.search(last):
        return "10.0.0.5"
    if _BOOL.search(last):
        return True
    return f"made-up-{last.replace('_', '-')}"


def _unwrapped(name: str, example: Any) -> Any:
    """The value an ``example`` gives the property itself: some specs write the example as the
    manifest fragment around it (``example: {elasticsearch: {secure_settings: [...]}}`` for
    ``elasticsearch.secure_settings``), which rendered as the value makes every template that
    reads its items fail. The fragment is unwrapped along the property's name (or a tail of it)."""
    parts = name.split(".")
    for start in range(len(parts)):
        value = example
        for part in parts[start:]:
            if not isinstance(value, Mapping) or set(value) != {part}:
                break
            value = value[part]
        else:
            return value
    return example


#: what ``spaced`` adds to each string held by a list or a hash
SECOND_WORD = " second-word"


def spaced_value(value: Any, inside: bool = False) -> Any:
    """``value`` with every string inside a list or a hash given ``SECOND_WORD`` (keys and
    other scalars unchanged); a string that is the whole value stays as it is."""
    if isinstance(value, str):
        return value + SECOND_WORD if inside else value
    if isinstance(value, list):
        return [spaced_value(v, True) for v in value]
    if isinstance(value, Mapping):
        return {k: spaced_value(v, True) for k, v in value.items()}
    return value


def manifest_properties(spec_properties: Mapping[str, Any], flip_booleans: bool = False,
                        spaced: bool = False) -> dict:
    """Nested manifest properties: invented values for properties without a default; with
    ``flip_booleans``, every boolean (default or invented) negated; with ``spaced``, every string
    in a list or a hash (default or invented) of two words (``spaced_value``)."""
    tree: dict = {}
    for name, declared in sorted((spec_properties or {}).items()):
        declared = declared if isinstance(declared, Mapping) else {}
        default = declared.get("default")
        value = made_up_value(name, declared) if default is None else default
        if flip_booleans and isinstance(value, bool):
            value = not value
        elif spaced and spaced_value(value) != value:
            value = spaced_value(value)
        elif default is not None:
            continue  # the renderer takes spec defaults itself
        *path, last = name.split(".")
        node = tree
        for key in path:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):  # "a" and "a.b" both declared: the longer one wins
                child = node[key] = {}
            node = child
        if not isinstance(node.get(last), dict):
            node[last] = value
    return tree
