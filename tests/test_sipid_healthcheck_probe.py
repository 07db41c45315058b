"""Reading one curl probe: its URL, how it tells healthy from not, and what sipid cannot do of it
(options as real scripts spell them: grouped short flags, attached values, ``--opt=value``)."""

from __future__ import annotations

import pytest

from codemods._health_probe import read_probe
from migrator.document import Document


def probe_of(condition: str, healthy_when_true: bool = True):
    doc = Document.parse("x", f"if {condition}; then :; fi\n".encode())
    cond = next(doc.find("if_statement")).child_by_field_name("condition")
    probe = read_probe(doc, cond, healthy_when_true)
    return probe, (doc.masked_text(probe.url) if probe.url is not None else None)


@pytest.mark.parametrize("condition,url", [
    ("curl -sf http://a/x", "http://a/x"),
    ("curl -sfL http://a/x > /dev/null 2>&1", "http://a/x"),
    ("curl -sSfo /dev/null http://a/x", "http://a/x"),
    ("curl --fail --silent --show-error --output=/dev/null http://a/x", "http://a/x"),
    ("curl -f -w '%{http_code}' \"$URL\"", '"$URL"'),
    ("[ \"$(curl -s -o /dev/null -w '%{http_code}' http://a/x)\" == \"200\" ]", "http://a/x"),
    ("[[ $(curl -s -o /dev/null -w '%{http_code}' http://a/x) -eq 200 ]]", "http://a/x"),
])
def test_probes_sipid_can_make(condition: str, url: str) -> None:
    probe, got = probe_of(condition)
    assert probe.blockers == [] and got == url


@pytest.mark.parametrize("condition,named", [
    ("curl -sfk http://a/x", "-k"),
    ("curl -sf --insecure http://a/x", "--insecure"),
    ("curl -sfm5 http://a/x", "-m"),
    ("curl -sf --max-time=3 http://a/x", "--max-time"),
    ("curl -sf --connect-timeout 2 http://a/x", "--connect-timeout"),
    ("curl -sf --header 'Host: a' http://a/x", "--header"),
    ("curl -sfH 'Host: a' http://a/x", "-H"),
    ("curl -sf -u admin:secret http://a/x", "-u"),
    ("curl -sf -X POST http://a/x", "-X"),
    ("curl -sf --retry 3 http://a/x", "--retry"),
    ("curl -sf -o /tmp/body http://a/x", "-o /tmp/body"),
    ("curl -sf --frobnicate http://a/x", "--frobnicate"),
])
def test_options_sipid_cannot_honour_are_named(condition: str, named: str) -> None:
    probe, url = probe_of(condition)
    assert url == "http://a/x"
    assert [b for b in probe.blockers if f"curl {named} " in b], probe.blockers


@pytest.mark.parametrize("condition", ["curl -sfI http://a/x", "curl -f --head http://a/x",
                                       "[ \"$(curl -sI -o /dev/null -w '%{http_code}' http://a/x)\" = 200 ]"])
def test_a_head_request_is_read_not_blocked(condition: str) -> None:
    """HEAD gets the status GET gets: a difference the rewrite states, not a blocker."""
    probe, url = probe_of(condition)
    assert probe.blockers == [] and probe.head and url == "http://a/x"


def test_without_fail_any_answer_counts() -> None:
    probe, _ = probe_of("curl -sL http://a/x > /dev/null")
    assert probe.blockers == [] and probe.counted_by == "answer"


def test_insecure_is_a_blocker_the_caller_can_lift() -> None:
    probe, _ = probe_of("curl -fsk http://a/x")
    assert probe.insecure == "-k" and probe.blockers == [probe.insecure_blocker]


def test_a_value_of_a_blocking_option_is_not_taken_for_the_url() -> None:
    probe, url = probe_of("curl -sf -H 'Host: a' -m 3 http://a/x")
    assert url == "http://a/x" and len(probe.blockers) == 2


def test_several_urls_are_named() -> None:
    probe, url = probe_of("curl -sf http://a/x http://b/y")
    assert url is None and any("several URLs" in b for b in probe.blockers)


def test_a_body_match_names_the_matcher() -> None:
    probe, _ = probe_of("curl -s http://a/x | grep -q '\"status\":\"UP\"'")
    assert any("response body with grep" in b for b in probe.blockers)


def test_a_status_compared_without_http_code_is_a_body_comparison() -> None:
    probe, _ = probe_of("[ \"$(curl -s http://a/x)\" == \"200\" ]")
    assert any("compares the response body" in b for b in probe.blockers)


def test_a_loop_on_a_status_that_is_not_200_reads_the_right_way_round() -> None:
    """``while [ "$(curl ...)" != "200" ]``: healthy when the comparison fails."""
    probe, _ = probe_of("[ \"$(curl -s -o /dev/null -w '%{http_code}' http://a/x)\" != \"200\" ]", False)
    assert probe.blockers == [] and probe.counted_by == "status"
    probe, _ = probe_of("[ \"$(curl -s -o /dev/null -w '%{http_code}' http://a/x)\" != \"200\" ]", True)
    assert any("any status but 200" in b for b in probe.blockers)


def test_a_negated_curl_flips_the_reading() -> None:
    probe, _ = probe_of("! curl -sf http://a/x", False)
    assert probe.blockers == []
    probe, _ = probe_of("! curl -sf http://a/x", True)
    assert any("waits while curl succeeds" in b for b in probe.blockers)
