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
