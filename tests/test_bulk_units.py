"""Bulk mode's pure parts: the repo list, names, PR text, progress display and report table."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from migrator.bulk import prtext, report
from migrator.bulk.progress import Display
from migrator.bulk.repos import (
    RepoListError,
    make_repos,
    parse_repo_list,
    read_sources,
    repo_name,
)
from migrator.bulk.runner import RepoResult
from migrator.codemod import Finding
from migrator.engine import FileChange


def test_repo_list_skips_blank_lines_and_comments() -> None:
    text = "# releases\n\nhttps://github.com/org/foo-release.git  # main one\n  ../bar   \n#gone\n"
    assert parse_repo_list(text) == ["https://github.com/org/foo-release.git", "../bar"]


def test_repo_list_rejects_two_words_on_a_line() -> None:
    with pytest.raises(RepoListError, match="list:2"):
        parse_repo_list("a\nb c\n", "list")


@pytest.mark.parametrize("source, name", [
    ("https://github.com/org/foo-release.git", "foo-release"),
    ("git@github.com:org/foo-release.git", "foo-release"),
    ("ssh://git@host:22/org/foo-release", "foo-release"),
    ("/srv/releases/bar-release/", "bar-release"),
    ("/srv/releases/bar-release/.git", "bar-release"),
    ("file:///srv/remotes/baz.git", "baz"),
])
def test_repo_names(source: str, name: str) -> None:
    assert repo_name(source) == name


def test_same_last_component_is_told_apart_by_the_parent() -> None:
    repos = make_repos(["https://h/a/foo.git", "https://h/b/foo.git", "https://h/a/foo.git", "/x/bar"])
    assert [r.name for r in repos] == ["a-foo", "b-foo", "bar"]


def test_a_list_file_is_read_relative_to_itself(tmp_path: Path) -> None:
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "repos.txt").write_text("../alpha\ngit@h:o/beta.git\n")
    (tmp_path / "gamma").mkdir()
    got = read_sources(["lists/repos.txt", "gamma"], cwd=tmp_path)
    assert got == [str(tmp_path / "alpha"), "git@h:o/beta.git", str(tmp_path / "gamma")]


def _migration() -> prtext.Migration:
    changes = [
        FileChange(Path("/r/jobs/web/spec"), "jobs/web/spec", b"a\n", b"a\nb\n", []),
        FileChange(Path("/r/jobs/web/templates/ctl.env.erb"), "jobs/web/templates/ctl.env.erb", None, b"X=1\n",
                   ["templates/ctl.erb"]),
        FileChange(Path("/r/jobs/web/templates/ctl.erb"), "jobs/web/templates/ctl.erb", b"old\nx\n", b"new\nx\n",
                   ["one", "two"]),
        FileChange(Path("/r/jobs/db/templates/db_ctl.erb"), "jobs/db/templates/db_ctl.erb", b"o\n", b"n\n", ["two"]),
    ]
    findings = [
        Finding("two", "jobs/db/templates/db_ctl.erb", 7, "timeout | changes", "review", "check it"),
        Finding("engine", "jobs/db/templates/other.erb", None, "skipped: not UTF-8", "error"),
        Finding("one", "jobs/web/templates/ctl.erb", 3, "just so you know", "info"),
    ]
    return prtext.Migration("r", [prtext.CodemodInfo("one", "First"), prtext.CodemodInfo("two", "Second"),
                                  prtext.CodemodInfo("three", "Unused")],
                            changes, findings, ["sipid", "other"], base="main", branch="b")


def test_pr_text_has_title_summary_findings_and_requirements() -> None:
    text = prtext.pr_markdown(_migration())
    lines = text.splitlines()
    assert lines[0] == "# Migrate job scripts with exemplar-migrate (one, two)"
    assert "| `one` | web | 1 | 0 |" in text and "| `two` | db | 1 | 1 |" in text and "| `two` | web | 1 | 0 |" in text
    needs = text.split("## Needs a human", 1)[1].split("##", 1)[0]
    # no "\\|" escapes outside table cells: GitHub shows them literally in a list item's code span
    assert "`jobs/db/templates/db_ctl.erb:7` (two, review): timeout | changes *Suggestion:* check it" in needs
    assert "`jobs/db/templates/other.erb` (engine, error)" in needs
    assert "just so you know" not in needs and "just so you know" in text  # info goes to the notes
    adds = text.split("## What the release must add", 1)[1]
    assert "`sipid` package" in adds and "`other` package" in adds
    assert "(new; made for `jobs/web/templates/ctl.erb`)" in text and "`jobs/web/spec` (+1 -0; spec)" in text


def test_commit_message_lists_changes_and_ends_with_our_trailers() -> None:
    message = prtext.commit_message(_migration())
    assert message.splitlines()[0] == "exemplar-migrate: one, two"
    assert "- jobs/db/templates/db_ctl.erb" in message and "sipid" in message
    assert message.rstrip().splitlines()[-2:] == ["Migrated-by: exemplar-migrate", "Exemplar-migrate-codemods: one,two"]


def test_plain_progress_is_one_line_per_state_change() -> None:
    out = io.StringIO()
    show = Display(["a", "bb"], stream=out, live=False)
    show("a", "cloning")
    show("bb", "failed: boom")
    assert out.getvalue() == "a: cloning\nbb: failed: boom\n"


def test_live_progress_redraws_one_line_per_repo() -> None:
    out = io.StringIO()
    show = Display(["a", "bb"], stream=out, live=True)
    show("a", "cloning")
    show("a", "committed")
    frames = out.getvalue()
    assert "\x1b[2F" in frames  # second frame moves back over the two lines
    last = frames.rsplit("\x1b[2F", 1)[1]
    assert last == "\x1b[2Ka   committed\n\x1b[2Kbb  waiting\n"


def test_report_table_and_rerun_choice() -> None:
    ok = RepoResult("alpha", "/a", state="committed", files=["x", "y"], findings_review=1, pr="https://pr/1")
    bad = RepoResult("beta", "/b", state="failed", reason="remote 'origin' is unreachable")
    note = RepoResult("gamma", "/c", state="committed", attention=["PR not opened (gh is not installed)"])
    text = report.table([ok, bad, note])
    assert text.splitlines()[0].split() == ["REPO", "STATE", "FILES", "FINDINGS", "PR"]
    assert text.splitlines()[1].split() == ["alpha", "committed", "2", "1", "review", "https://pr/1"]
    assert "beta: remote 'origin' is unreachable" in text and "gamma: PR not opened" in text
    assert [report.wants_rerun(r.to_json()) for r in (ok, bad, note)] == [False, True, True]
    assert report.summary([ok, bad, note]) == "3 repo(s): 2 committed, 1 failed; 2 need attention."
