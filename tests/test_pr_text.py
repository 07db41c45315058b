"""What a reviewer reads first in bulk mode's PR text (and ``--output-format markdown``): the
behaviour changes in the visible part, only codemods in the summary table, code spans GitHub shows
as written, and other people's commits on the branch in a stable order."""

from __future__ import annotations

from pathlib import Path

from migrator.bulk import prtext
from migrator.codemod import Finding
from migrator.engine import FileChange

STOP = ("stop logic replaced by sipid kill: the old stop sent SIGTERM and returned at once; stop now waits up "
        "to 20 s for the process to exit, then sends SIGQUIT and SIGKILL")
PROBE = ("curl retry loop (30 tries, 2 s apart) replaced by sipid wait-until-healthy with a 60 s timeout; "
         "the first probe comes one interval late")
SYSLOG = "stdout no longer goes to syslog; operators forward $LOG_DIR/web.log with their log forwarder"


def migration(**extra) -> prtext.Migration:
    changes = [FileChange(Path("/r/jobs/web/templates/web_ctl.erb"), "jobs/web/templates/web_ctl.erb", b"o\n",
                          b"n\n", ["sipid-pidfiles", "log-pipelines"])]
    findings = [
        Finding("sipid-pidfiles", "jobs/web/templates/web_ctl.erb", 30, STOP, "review"),
        Finding("sipid-pidfiles", "jobs/api/templates/api_ctl.erb", 12, STOP, "review"),
        Finding("sipid-healthcheck", "jobs/web/templates/post-start.erb", 4, PROBE, "review"),
        Finding("log-pipelines", "jobs/web/templates/web_ctl.erb", 9, SYSLOG, "info"),
        Finding("log-pipelines", "jobs/web/templates/web_ctl.erb", 2, "a helper function went unused", "info"),
        Finding("engine", "jobs/web/templates/x.erb", None, "is not valid UTF-8 (`a | b`)", "error"),
    ]
    infos = [prtext.CodemodInfo(i, i.upper()) for i in ("sipid-pidfiles", "sipid-healthcheck", "log-pipelines")]
    return prtext.Migration("r", infos, changes, findings, [], base="main", branch="b", **extra)


def visible(text: str) -> str:
    return text.split("<details>", 1)[0]


def test_behaviour_changes_that_matter_most_are_in_the_visible_part() -> None:
    text = prtext.body(migration())
    section = visible(text).split("## Behaviour changes operators will notice", 1)[1].split("\n## ", 1)[0]
    kinds = [line for line in section.splitlines() if line.startswith("- **")]
    assert kinds == ["- **Stop grace**", "- **Health-check timing**", "- **Log destinations**"]
    # one line per distinct change, with every place it applies to
    assert (f"  - {STOP} (`jobs/web/templates/web_ctl.erb:30`, `jobs/api/templates/api_ctl.erb:12`)"
            in section)
    assert PROBE in section and SYSLOG in section
    # the log destination is no longer only in the collapsed notes; other notes stay there
    notes = text.split("<details>", 1)[1]
    assert SYSLOG not in notes and "a helper function went unused" in notes
    # review findings keep their checkbox under Needs a human
    assert f"- [ ] `jobs/web/templates/web_ctl.erb:30` (sipid-pidfiles, review): {STOP}" in text


def test_the_engine_is_not_a_codemod_row_in_the_summary_table() -> None:
    text = prtext.body(migration())
    table = [line for line in text.splitlines() if line.startswith("| `")]
    assert table and not any("`engine`" in line for line in table)
    assert "`jobs/web/templates/x.erb` (engine, error)" in text  # still listed for a human


def test_code_spans_in_list_items_are_not_escaped() -> None:
    text = prtext.body(migration())
    assert "(`a | b`)" in text and "\\|" not in text


def test_other_peoples_commits_are_listed_oldest_first() -> None:
    kept = [("a" * 40, "Reviewer <r@example.test>", "Hand fix"), ("b" * 40, "Ops <o@example.test>", "Follow-up")]
    text = prtext.body(migration(kept_commits=kept))
    section = text.split("## Commits on this branch not made by exemplar-migrate", 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("- ")]
    assert lines == ["- `aaaaaaaa` Hand fix (Reviewer <r@example.test>)", "- `bbbbbbbb` Follow-up (Ops <o@example.test>)"]
    assert "## Commits on this branch" not in prtext.body(migration())


def test_bulk_and_single_release_texts_say_how_they_were_made() -> None:
    bulk = prtext.body(migration())
    assert "in bulk mode on top of `main`" in bulk and "Re-running `exemplar-migrate bulk`" in bulk
    single = prtext.body(migration(made_by=""))
    assert "in bulk mode" not in single and "Re-running" not in single
