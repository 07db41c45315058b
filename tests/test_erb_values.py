"""The Ruby that erb-to-config writes into env templates, checked against real Ruby and bash.

A scalar must come back from ``source`` as exactly the property value, whatever it holds; a value
meant to split must give the same words bash gave the old unquoted tag, which was shell source in
the old script (parsed with its quotes and backslashes; with globbing off, because the old script
also expanded ``*``, which the new one deliberately does not).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods import _erb_ruby as ruby
from tests.support.erb_render import render, ruby_available

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")

# property values: any text bash can hold (no NUL; \x01 and \x02 separate the dump)
ANY = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x01\x02"), max_size=30)
# split values: words made of characters that are not shell syntax, with blanks between; quoting
# inside split values is checked by the examples below
WORDS = st.lists(st.text("abcXYZ019._:/=,+@%-", min_size=1, max_size=6), max_size=4).flatmap(
    lambda words: st.sampled_from([" ", "  ", "\t", " \n "]).map(lambda sep: sep.join(words)))


def _source_and_dump(tmp: Path, values: list[str], split: bool) -> tuple[list, list]:
    names = [f"v.s{i}" for i in range(len(values))]
    spec = tmp / "spec"
    spec.write_text(yaml.safe_dump({"name": "job", "properties": {n: {"description": "x"} for n in names}}))
    lines = []
    for i, name in enumerate(names):
        value = ruby.escaped(f'p("{name}")', split)
        lines.append(f"V{i}=(<%= {value} %>)" if split else f"V{i}=<%= {value} %>")
    props = {"v": {f"s{i}": v for i, v in enumerate(values)}}
    env = tmp / "job.env"
    env.write_text(render(spec, "\n".join(lines) + "\n", props))
    dump = "".join(f'printf "%s\\0" "${{V{i}[@]}}"; printf "\\1\\0"; ' for i in range(len(values)))
    old = "".join(f'printf "%s\\0" "${{O{i}[@]}}"; printf "\\1\\0"; ' for i in range(len(values)))
    # the old script: the value was text in the script, parsed by bash into words
    assigns = "".join(f"O{i}=( {v} ); " for i, v in enumerate(values)) if split else ""
    script = f"set -f; source {env}; {dump} printf '\\2\\0'; {assigns} {old if split else ''}"
    out = subprocess.run(["bash", "-c", script], capture_output=True, timeout=30, check=False).stdout.decode("utf-8")
    new_part, old_part = out.split("\x02\x00", 1)
    return _groups(new_part), _groups(old_part)


def _groups(dump: str) -> list[list[str]]:
    items = dump.split("\x00")
    groups, current = [], []
    for item in items:
        if item == "\x01":
            groups.append(current)
            current = []
        else:
            current.append(item)
    return [[w for w in g if w != ""] if g != [""] else [] for g in groups]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(ANY, min_size=1, max_size=12))
def test_a_scalar_comes_back_exactly(tmp_path: Path, values: list[str]) -> None:
    new, _ = _source_and_dump(tmp_path, values, split=False)
    assert [g[0] if g else "" for g in new] == values


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(WORDS, min_size=1, max_size=12))
def test_a_split_value_gives_the_words_the_old_unquoted_tag_gave(tmp_path: Path, values: list[str]) -> None:
    new, old = _source_and_dump(tmp_path, values, split=True)
    assert new == old


@pytest.mark.parametrize("value", ['--a "x y"', "a\\ b c", "'q r' s", "-tag x\\ y -tag z", '""', "a\\\\b"])
def test_quoting_inside_a_split_value_means_what_it_meant_to_bash(tmp_path: Path, value: str) -> None:
    new, old = _source_and_dump(tmp_path, [value], split=True)
    assert new == old


@pytest.mark.parametrize("value", ["", " ", "a b", "it's", 'say "hi"', "$(id)", "`id`", "a\nb", "*", "~", "\\"])
def test_awkward_scalars_come_back_exactly(tmp_path: Path, value: str) -> None:
    new, _ = _source_and_dump(tmp_path, [value], split=False)
    assert (new[0][0] if new[0] else "") == value
