"""Scripts that bash accepts but the tree-sitter grammar misreads are no longer skipped whole.

Each shape is one seen in real release scripts; the document keeps its own text (codemods quote
it), only the tree is read through the bridged copy.
"""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from codemods.erb_to_config import ErbToConfig
from migrator.document import Document, bash_parser
from tests.support.codemod_case import run_codemods

SHAPES = {
    "a $ that starts no expansion in a sed address": "sed -i /^$/d /etc/hosts\n",
    "a $ before a closing backtick": "started=`date +%s$`\n",
    "a $ inside a ${x/pattern/}": "echo ${line/$/.}\n",
    "fi } closing a one-line function": "log1() { if [[ $FIRST == 1 ]]; then log $* ; fi }\n",
    "done } closing a brace group": "{ for f in a b; do echo $f; done }\n",
    "a read-write redirection": "exec 9<>/var/vcap/sys/run/job/lock\n",
    "an assignment with only a redirection": "status=$? >&2\n",
    "a string comparison in [ ]": '[ "$a" \\< "$b" ] && echo lower\n',
}


@pytest.mark.parametrize("text", list(SHAPES.values()), ids=list(SHAPES))
def test_the_shape_parses_clean_and_keeps_its_text(text: str) -> None:
    assert subprocess.run(["bash", "-n"], input=text.encode(), check=False).returncode == 0
    assert bash_parser().parse(text.encode()).root_node.has_error  # the gap itself
    doc = Document.parse("x", text.encode())
    assert doc.error_count == 0
    assert doc.masked == text.encode() and doc.text == text


def test_a_script_tree_sitter_reads_is_parsed_as_it_is() -> None:
    text = b'echo "$HOME" ${x/a/b} `date` $\n'
    assert str(Document.parse("x", text).root) == str(bash_parser().parse(text).root_node)


def test_erb_in_a_script_with_those_shapes_moves() -> None:
    outcome = run_codemods([ErbToConfig()], textwrap.dedent("""\
        #!/bin/bash
        exec 9<>/var/vcap/sys/run/job/lock
        log1() { if [[ $FIRST == 1 ]]; then echo $* ; fi }
        sed -i /^$/d /var/vcap/jobs/job/config/hosts
        exec /bin/job --port <%= p("job.port") %>
        """))
    assert outcome.text.endswith('exec /bin/job --port "$JOB_PORT"\n'), outcome.text
    assert not [f for f in outcome.findings if f.codemod == "engine"], outcome.findings


RUNAWAY_TESTS = {
    "a kill's status accepted at the end of a line": (
        "sipid kill --pid-file $P || [ $? -eq 1 ]\necho $$ >> $LOG\nif [ -s $P ]; then rm $P; fi\n"),
    "a guard before || exit": "[ $# -ge 1 ] || exit 1\necho start >> $LOG\n[ -d /x ] && echo ok\n",
    "an == test ending its line": '[ "$a" == b ] && echo same\nprintf x > $F\n[ -n "$F" ]\n',
}


@pytest.mark.parametrize("text", list(RUNAWAY_TESTS.values()), ids=list(RUNAWAY_TESTS))
def test_a_numeric_test_ending_its_line_is_not_read_as_running_to_a_later_bracket(text: str) -> None:
    """tree-sitter reads ``[ a -eq b ]`` at a line's end, with a redirection and a ``]`` on later
    lines, as one test whose words are the lines between (no parse error flags it): the commands on
    those lines then vanish from the tree, and the semantic check saw ``then`` as a new command."""
    raw = str(bash_parser().parse(text.encode()).root_node)
    assert "(test_command (redirected_statement" in raw or "(test_command (list" in raw  # the gap itself
    doc = Document.parse("x", text.encode())
    tests = [n for n in doc.walk(doc.root) if n.type == "test_command"]
    assert [doc.masked[n.start_byte:n.end_byte].count(b"\n") for n in tests] == [0] * len(tests)
    assert len(tests) == 2, str(doc.root)
    assert doc.masked == text.encode() and doc.text == text
