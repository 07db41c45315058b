"""Keeping a pull request's reviewed state: the stamp that says whether the generated text changed,
and the ticks carried over when it did."""

from __future__ import annotations

from migrator.bulk import prsync

GENERATED = """## Needs a human

- [ ] `jobs/web/templates/web_ctl.erb:28` (sipid-pidfiles, review): start now refuses
- [ ] `jobs/web/templates/web_ctl.erb:36` (sipid-pidfiles, review): stop waits 20 s
- [ ] `jobs/api/templates/post-start.erb:5` (sipid-healthcheck, review): probe timing
"""


def test_the_stamp_says_whether_title_or_text_changed() -> None:
    posted = prsync.stamped("Title", GENERATED)
    assert posted.startswith(GENERATED.rstrip("\n")) and "<!-- exemplar-migrate: generated " in posted
    assert prsync.unchanged("Title", GENERATED, posted)
    assert prsync.unchanged("Title", GENERATED, posted + "\nA reviewer's note under it.\n")
    assert not prsync.unchanged("Other title", GENERATED, posted)
    assert not prsync.unchanged("Title", GENERATED + "- [ ] `x:1` (c, review): new\n", posted)
    assert not prsync.unchanged("Title", GENERATED, GENERATED)  # no stamp: a PR from an older version


def test_ticks_are_kept_for_items_still_there() -> None:
    reviewed = prsync.stamped("T", GENERATED).replace("- [ ] `jobs/web/templates/web_ctl.erb:36`",
                                                      "- [x] `jobs/web/templates/web_ctl.erb:36`")
    new = GENERATED.replace("- [ ] `jobs/api/templates/post-start.erb:5` (sipid-healthcheck, review): probe timing\n",
                            "- [ ] `jobs/db/templates/db_ctl.erb:9` (sipid-pidfiles, review): new one\n")
    merged = prsync.keep_ticks(new, reviewed)
    assert "- [x] `jobs/web/templates/web_ctl.erb:36` (sipid-pidfiles, review): stop waits 20 s" in merged
    assert "- [ ] `jobs/web/templates/web_ctl.erb:28`" in merged
    assert "- [ ] `jobs/db/templates/db_ctl.erb:9`" in merged


def test_a_tick_follows_its_item_when_only_the_line_number_moved() -> None:
    reviewed = GENERATED.replace("- [ ] `jobs/api/templates/post-start.erb:5`", "- [X] `jobs/api/templates/post-start.erb:5`")
    moved = GENERATED.replace("post-start.erb:5`", "post-start.erb:8`")
    assert "- [x] `jobs/api/templates/post-start.erb:8` (sipid-healthcheck, review): probe timing" in \
        prsync.keep_ticks(moved, reviewed)


def test_an_ambiguous_item_without_its_line_is_not_guessed() -> None:
    two = ("- [ ] `a.erb:1` (c, review): same text\n- [ ] `a.erb:9` (c, review): same text\n")
    reviewed = two.replace("- [ ] `a.erb:1`", "- [x] `a.erb:1`")
    moved = two.replace("a.erb:1`", "a.erb:2`").replace("a.erb:9`", "a.erb:10`")
    assert "[x]" not in prsync.keep_ticks(moved, reviewed)
    assert prsync.keep_ticks(two, reviewed).count("[x]") == 1  # the exact item still matches
