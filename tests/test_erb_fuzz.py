"""erb-to-config on generated scripts: any mix of the movable shapes is moved whole, and the old
and new templates, rendered with Ruby and run with bash, give the process the same argv and env.

Property values here are plain words (the old scripts are only correct for those); values with
spaces and quotes are covered in test_erb_equivalence and test_erb_values.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemods.erb_to_config import ErbToConfig
from migrator.codemod import SpecChange
from migrator.spec import apply_spec_changes
from tests.support.codemod_case import run_codemods
from tests.support.equivalence import declared_for, first_difference
from tests.support.erb_render import ruby_available
from tests.test_erb_equivalence import run_job

pytestmark = pytest.mark.skipif(not ruby_available(), reason="needs Debian's ruby")

SPEC = {
    "name": "fz",
    "templates": {"fz_ctl.erb": "bin/fz_ctl"},
    "packages": ["fz"],
    "properties": {
        **{f"fz.p{i}": {"description": "a value", "default": f"d{i}"} for i in range(3)},
        "fz.flag": {"description": "a switch", "default": False},
        "fz.opt": {"description": "optional, no default"},
        "fz.list": {"description": "a list", "default": []},
        "fz.extra_args": {"description": "extra flags", "default": ""},
    },
}

P = st.integers(0, 2)
ARGS = st.one_of(
    st.just("--plain"),
    P.map(lambda i: f'--a <%= p("fz.p{i}") %>'),
    P.map(lambda i: f'--b="<%= p("fz.p{i}") %>"'),
    P.map(lambda i: f"--c '<%= p(\"fz.p{i}\") %>'"),
    P.map(lambda i: f'--d=<%= p("fz.p{i}") %>x'),
    P.map(lambda i: f'<% if p("fz.flag") %>--e <%= p("fz.p{i}") %><% end %>'),
    st.just('<% if p("fz.flag") -%>\n  --f \\\n<% else -%>\n  --g \\\n<% end -%>'),
    st.just('--h <%= p("fz.list").join(" ") %>'),
    st.just('<%= p("fz.extra_args") %>'),
    st.just('<% if_p("fz.opt") do |o| -%>\n  --i <%= o %> \\\n<% end -%>'),
)
REGIONS = st.one_of(
    P.map(lambda i: f'export R{i}=<%= p("fz.p{i}") %>'),
    st.just('<% if p("fz.flag") -%>\nexport RF=1\n<% end -%>'),
    st.just('<% if_p("fz.opt") do |o| -%>\nexport RO="<%= o %>"\n<% end -%>'),
    # ERB conditionals around whole statements (they become bash ifs)
    P.map(lambda i: '<% if p("fz.flag") -%>\n/var/vcap/packages/fz/bin/fz pre <%= p("fz.p' + str(i) + '") %>\n'
                    '<% else -%>\n/var/vcap/packages/fz/bin/fz nopre\n<% end -%>'),
    st.just('<% if_p("fz.opt") do |o| -%>\n/var/vcap/packages/fz/bin/fz opt "<%= o %>"\n<% end -%>'),
    # heredocs that write config (they become config templates the script copies)
    P.map(lambda i: 'cat > /var/vcap/sys/run/fz.conf <<EOF\na = <%= p("fz.p' + str(i) + '") %>\nEOF\n'
                    '/var/vcap/packages/fz/bin/fz conf "$(cat /var/vcap/sys/run/fz.conf)"'),
    st.just('<% if_p("fz.opt") do |o| -%>\ncat > /var/vcap/sys/run/fz.opt <<\'EOF\'\nopt: <%= o %>\nEOF\n'
            '/var/vcap/packages/fz/bin/fz optconf "$(cat /var/vcap/sys/run/fz.opt)"\n<% end -%>'),
)
#: shapes that must (partly) stay ERB: the rewrite around them must still render and run the same
STAYING = st.one_of(
    st.just('<% if_p("fz.opt") do |o| -%>\n<% [o, o].each do |v| -%>\n/var/vcap/packages/fz/bin/fz loop <%= v %>\n'
            '<% end -%>\n<% end -%>'),
    st.just('<% picked = p("fz.p1") -%>\n/var/vcap/packages/fz/bin/fz local <%= picked %> <%= p("fz.p2") %>'),
    st.just('<% if (m = p("fz.p2")) == "zz" -%>\n/var/vcap/packages/fz/bin/fz m\n<% end -%>\n'
            '/var/vcap/packages/fz/bin/fz mm <%= m %>'),
    st.just('<%= "/var/vcap/packages/fz/bin/fz whole" %>'),
    st.just('<% def twice(x) "#{x}#{x}" end -%>\n/var/vcap/packages/fz/bin/fz twice <%= twice(p("fz.p0")) %>'),
    st.just('<%# a note for template readers %>'),
    st.just('/var/vcap/packages/fz/bin/fz trim <%= p("fz.p0") -%>\n --joined'),
    st.just('<% if p("fz.flag") %>/var/vcap/packages/fz/bin/fz inline<% end %>'),
    st.just('<% if p("fz.flag") -%>\n<% if_p("fz.opt") do |o| -%>\n/var/vcap/packages/fz/bin/fz nested <%= o %>\n'
            '<% end -%>\n<% end -%>'),
    st.just('<% p("fz.list").each do |item| -%>\n/var/vcap/packages/fz/bin/fz item <%= item %> <%= p("fz.p1") %>\n'
            '<% end -%>'),
)
WORD = st.text("abcxyz019._:/-", min_size=1, max_size=8)
PROPS = st.fixed_dictionaries({}, optional={
    "p0": WORD, "p1": WORD, "p2": WORD, "flag": st.booleans(), "opt": WORD,
    "list": st.lists(WORD, max_size=3), "extra_args": st.lists(WORD, max_size=3).map(" ".join),
})


def _arg_lines(arg: str) -> list[str]:
    return arg.split("\n") if arg.startswith("<% if_p") or "-%>\n" in arg else [f"  {arg} \\"]


def build(regions: list[str], args: list[str], wrapper: str, nounset: bool, inside: list[str] = ()) -> str:
    """A ctl script: ``regions`` at top level, then the main command (with ``args``) at top level, in a
    function or in a case arm, with ``inside`` before it there (unindented: heredocs need that)."""
    lines = ["#!/bin/bash"] + (["set -eu"] if nounset else []) + ["", "RUN_DIR=/var/vcap/sys/run/fz"]
    lines += regions + [""]
    command = [line for block in inside for line in block.split("\n")] + ["exec /var/vcap/packages/fz/bin/fz \\"]
    for arg in args:
        command += _arg_lines(arg)
    command.append("  --end")
    if wrapper == "function":
        lines += ["start_fz() {"] + [_indent(line, "  ") for line in command]
        lines += ["}", "", "start_fz"]
    elif wrapper == "case":
        lines += ["case $1 in", "  start)"] + [_indent(line, "    ") for line in command] + ["    ;;", "esac"]
    else:
        lines += command
    return "\n".join(lines) + "\n"


def _indent(line: str, indent: str) -> str:
    return indent + line if line.startswith(("exec ", "  ")) else line


def _migrate_and_compare(tmp_path: Path, before: str, props: dict, must_move_all: bool) -> None:
    outcome = run_codemods([ErbToConfig()], before, dedent=False, job="fz", source="fz_ctl.erb",
                           script="bin/fz_ctl", properties=SPEC["properties"])
    assert not [f for f in outcome.findings if f.codemod == "engine"], (before, outcome.findings)
    if must_move_all:
        assert [f for f in outcome.findings if f.severity != "info"] == [], (before, outcome.findings)
        assert "<%" not in outcome.text, outcome.text

    if tmp_path.exists():
        shutil.rmtree(tmp_path)
    old_release, new_release = tmp_path / "old-release", tmp_path / "new-release"
    spec_text = yaml.safe_dump(SPEC, sort_keys=False)
    for release, script in ((old_release, before), (new_release, outcome.text)):
        (release / "jobs/fz/templates").mkdir(parents=True)
        (release / "jobs/fz/templates/fz_ctl.erb").write_text(script)
    (old_release / "jobs/fz/spec").write_text(spec_text)
    result = outcome.result.result
    changes: list[SpecChange] = result.spec_changes
    (new_release / "jobs/fz/spec").write_text(apply_spec_changes(spec_text, changes))
    for new_file in result.new_files:
        (new_release / "jobs/fz" / new_file.path).write_text(new_file.content)

    manifest = {"fz": props}
    old = run_job(tmp_path / "run-old", old_release, "fz", "fz_ctl", manifest, "start")
    new = run_job(tmp_path / "run-new", new_release, "fz", "fz_ctl", manifest, "start")
    assert old.rc == 0 and old.calls, (before, old.stderr)
    assert (new.rc, new.calls) == (old.rc, old.calls), (before, outcome.text, new.stderr)
    # every other call too (mkdir, cp of a moved heredoc, ...), apart from what erb-to-config declares
    difference = first_difference(old.run, new.run, declared_for(["erb-to-config"]))
    assert difference is None, (difference, before, outcome.text)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(regions=st.lists(REGIONS, max_size=3), args=st.lists(ARGS, min_size=1, max_size=6),
       wrapper=st.sampled_from(["none", "function", "case"]), nounset=st.booleans(), props=PROPS)
def test_any_mix_moves_whole_and_does_the_same(tmp_path: Path, regions: list[str], args: list[str],
                                               wrapper: str, nounset: bool, props: dict) -> None:
    _migrate_and_compare(tmp_path, build(regions, args, wrapper, nounset), props, must_move_all=True)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(regions=st.lists(st.one_of(REGIONS, STAYING), min_size=1, max_size=4),
       args=st.lists(ARGS, min_size=1, max_size=4), wrapper=st.sampled_from(["none", "function", "case"]),
       props=PROPS)
def test_with_erb_that_must_stay_the_rest_moves_and_all_still_renders_and_runs_the_same(
        tmp_path: Path, regions: list[str], args: list[str], wrapper: str, props: dict) -> None:
    _migrate_and_compare(tmp_path, build(regions, args, wrapper, False), props, must_move_all=False)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(inside=st.lists(st.one_of(REGIONS, STAYING), min_size=1, max_size=3),
       args=st.lists(ARGS, min_size=1, max_size=3), wrapper=st.sampled_from(["function", "case"]),
       nounset=st.booleans(), props=PROPS)
def test_erb_inside_a_function_or_case_arm_still_renders_and_runs_the_same(
        tmp_path: Path, inside: list[str], args: list[str], wrapper: str, nounset: bool, props: dict) -> None:
    _migrate_and_compare(tmp_path, build([], args, wrapper, nounset, inside), props, must_move_all=False)
