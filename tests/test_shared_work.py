"""Work shared within a run (issue 11): a text is parsed once while it is in use, and a fact about
the whole job is worked out once per job, not once per script and pass."""

from __future__ import annotations

from migrator.codemod import JobContext
from migrator.document import Document
from migrator.helpers import per_job

SCRIPT = b"#!/bin/bash\nPIDFILE=/var/vcap/sys/run/x/x.pid\necho $$ > $PIDFILE\nexec x\n"


def test_the_same_text_at_the_same_path_is_one_parse() -> None:
    first = Document.parse("templates/ctl.erb", SCRIPT)
    again = Document.parse("templates/ctl.erb", bytes(SCRIPT))
    assert again is first
    assert [n.type for n in again.find("command")] == [n.type for n in first.find("command")]


def test_another_path_or_text_is_its_own_document() -> None:
    first = Document.parse("templates/ctl.erb", SCRIPT)
    other_path = Document.parse("templates/other.erb", SCRIPT)
    other_text = Document.parse("templates/ctl.erb", SCRIPT + b"echo done\n")
    assert other_path is not first and other_path.path == "templates/other.erb"
    assert other_text is not first and len(list(other_text.commands("echo"))) == 2


def test_a_job_fact_is_worked_out_once_per_job() -> None:
    calls: list[str] = []

    def fact(job: JobContext) -> str:
        def compute() -> str:
            calls.append(job.name)
            return f"words of {job.name}"
        return per_job(job, "fact", compute)

    a = JobContext(name="a", templates={})
    b = JobContext(name="b", templates={})
    assert [fact(a), fact(a), fact(b), fact(a)] == ["words of a", "words of a", "words of b", "words of a"]
    assert calls == ["a", "b"]
    # an equal but separate context (as the checks build one with a rewrite's new files) asks again
    assert fact(JobContext(name="a", templates={})) == "words of a" and calls == ["a", "b", "a"]


def test_a_masked_text_is_parsed_once_even_when_tree_sitter_misreads_it() -> None:
    from migrator import ts_gaps
    from migrator.document import bash_parser

    misread = b"#!/bin/bash\nsed -e '/^$/d' x\nif true; then echo a; fi }\n"  # gaps tried one by one
    first = ts_gaps.parse(bash_parser(), misread)
    assert ts_gaps.parse(bash_parser(), bytes(misread)) is first
    # the script under another name (a sibling, a helper) shares the tree
    assert Document.parse("helper", misread).tree is Document.parse("templates/x.sh", misread).tree
