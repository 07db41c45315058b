"""Before/after cases for the sipid-healthcheck codemod, and the loops it leaves alone."""

from __future__ import annotations

from codemods.sipid_healthcheck import SipidHealthcheck
from migrator.codemod import SpecChange
from tests.support.codemod_case import assert_codemod, assert_unchanged

CM = SipidHealthcheck()
SIPID = "/var/vcap/packages/sipid/bin/sipid"
HOOK = {"script": "bin/post-start", "source": "post-start.erb"}


def test_seq_loop_with_exit_on_success_keeps_the_success_and_failure_paths() -> None:
    outcome = assert_codemod(
        CM,
        """\
        #!/bin/bash
        set -e
        for i in $(seq 1 30); do
          if curl -sf http://127.0.0.1:<%= p("web.port") %>/health > /dev/null; then
            echo "web is healthy"
            exit 0
          fi
          echo "waiting for web ($i)"
          sleep 2
        done
        echo "web did not become healthy" >&2
        exit 1
        """,
        f"""\
        #!/bin/bash
        set -e
        if {SIPID} wait-until-healthy --url http://127.0.0.1:<%= p("web.port") %>/health --timeout 60s --polling-frequency 2s; then
          echo "web is healthy"
          exit 0
        fi
        echo "web did not become healthy" >&2
        exit 1
        """,
        **HOOK,
    )
    assert outcome.result.result.spec_changes == [SpecChange("add_package", "sipid")]
    [note] = outcome.messages("review")
    assert "only HTTP 200 counts" in note and "TLS certificates are verified" in note
    assert "one interval late" in note


def test_while_counter_with_status_code_and_break() -> None:
    outcome = assert_codemod(
        CM,
        """\
        tries=0
        while [ $tries -lt 10 ]; do
          if [ "$(curl -s -o /dev/null -w '%{http_code}' https://localhost:8443/ready)" == "200" ]; then
            break
          fi
          tries=$((tries+1))
          sleep 0.5
        done
        echo done
        """,
        f"""\
        {SIPID} wait-until-healthy --url https://localhost:8443/ready --timeout 5s --polling-frequency 500ms || true
        echo done
        """,
        **HOOK,
    )
    assert "only HTTP 200 counts" not in outcome.messages("review")[0]


def test_break_goes_on_either_way_so_failure_is_ignored() -> None:
    assert_codemod(
        CM,
        """\
        set -e
        for i in {1..5}; do
          if curl --fail --silent http://localhost/ok; then break; fi
          sleep 3
        done
        """,
        f"""\
        set -e
        {SIPID} wait-until-healthy --url http://localhost/ok --timeout 15s --polling-frequency 3s || true
        """,
        **HOOK,
    )


def test_c_style_loop_inside_a_function_with_return() -> None:
    assert_codemod(
        CM,
        """\
        wait_for_api() {
          for ((i = 0; i < 12; i++)); do
            if curl -fsS "http://$HOST:8080/v1/info" >/dev/null 2>&1; then
              return 0
            fi
            sleep 5
          done
          return 1
        }
        """,
        f"""\
        wait_for_api() {{
          if {SIPID} wait-until-healthy --url "http://$HOST:8080/v1/info" --timeout 60s --polling-frequency 5s; then
            return 0
          fi
          return 1
        }}
        """,
        **HOOK,
    )


def test_unbounded_until_loop_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, "until curl -sf http://localhost/health; do sleep 1; done\n", **HOOK)
    assert any("no bound" in m for m in outcome.messages("review"))


def test_insecure_curl_is_left_because_sipid_verifies_tls() -> None:
    outcome = assert_unchanged(CM, """\
        for i in {1..5}; do
          if curl -sfk https://localhost/x; then exit 0; fi
          sleep 1
        done
        """, **HOOK)
    assert any("verifies TLS" in m for m in outcome.messages("review"))


def test_two_probes_are_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, """\
        for i in {1..5}; do
          if curl -sf http://a/x && curl -sf http://b/y; then exit 0; fi
          sleep 1
        done
        """, **HOOK)
    assert any("more than one curl" in m for m in outcome.messages("review"))


def test_logic_between_tries_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, """\
        for i in {1..5}; do
          if curl -sf http://a/x; then exit 0; fi
          /var/vcap/jobs/x/bin/restart-helper
          sleep 1
        done
        """, **HOOK)
    assert any("does more between tries" in m for m in outcome.messages("review"))


def test_curl_without_fail_is_rewritten_and_the_finding_says_any_answer_counted() -> None:
    """Any HTTP answer ended the old wait; sipid waits for a 200: a declared difference, stated
    at review level (tests/test_sipid_healthcheck_mappings.py runs both against a server)."""
    outcome = assert_codemod(CM, """\
        for i in {1..5}; do
          if curl -s http://a/x; then exit 0; fi
          sleep 1
        done
        """, f"""\
        if {SIPID} wait-until-healthy --url http://a/x --timeout 5s --polling-frequency 1s; then
          exit 0
        fi
        """, **HOOK)
    [note] = outcome.messages("review")
    assert "no -f" in note and "any HTTP answer" in note and "http://a/x answers 200" in note


def test_counter_used_after_the_loop_is_left() -> None:
    outcome = assert_unchanged(CM, """\
        n=0
        while [ $n -lt 5 ]; do
          if curl -sf http://a/x; then break; fi
          n=$((n+1))
          sleep 1
        done
        if [ $n -eq 5 ]; then exit 1; fi
        """, **HOOK)
    assert any("after the loop" in m for m in outcome.messages("review"))


def test_nc_probe_is_not_http_so_is_left_with_a_finding() -> None:
    outcome = assert_unchanged(CM, """\
        for i in {1..5}; do
          if nc -z localhost 80; then exit 0; fi
          sleep 1
        done
        """, **HOOK)
    assert any("probes with nc" in m for m in outcome.messages("info"))


def test_a_loop_without_a_probe_is_not_reported() -> None:
    outcome = assert_unchanged(CM, "for f in a b; do\n  wc -l $f\ndone\n", **HOOK)
    assert outcome.findings == []


def test_second_run_changes_nothing() -> None:
    assert_unchanged(CM, f"{SIPID} wait-until-healthy --url http://a/x --timeout 10s --polling-frequency 1s\n", **HOOK)


def test_seconds_deadline_loop_gives_its_deadline_as_timeout() -> None:
    outcome = assert_codemod(
        CM,
        """\
        end=$((SECONDS + 90))
        while [ $SECONDS -lt $end ]; do
          curl -sf http://localhost:8080/ready > /dev/null && exit 0
          sleep 5
        done
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://localhost:8080/ready --timeout 90s --polling-frequency 5s; then
          exit 0
        fi
        exit 1
        """,
        **HOOK,
    )
    assert "a 90 s deadline" in outcome.messages("review")[0]


def test_date_deadline_loop() -> None:
    assert_codemod(
        CM,
        """\
        start=$(date +%s)
        while [ $(( $(date +%s) - start )) -lt 120 ]; do
          if curl --fail -s http://localhost/ok; then
            break
          fi
          sleep 10
        done
        """,
        f"""\
        {SIPID} wait-until-healthy --url http://localhost/ok --timeout 120s --polling-frequency 10s || true
        """,
        **HOOK,
    )


def test_deadline_variable_used_later_is_left() -> None:
    outcome = assert_unchanged(CM, """\
        end=$((SECONDS + 30))
        while [ $SECONDS -lt $end ]; do
          curl -sf http://a/x && exit 0
          sleep 1
        done
        echo "gave up at $end"
        """, **HOOK)
    assert any("after the loop" in m for m in outcome.messages("review"))


def test_erb_control_tags_inside_the_loop_leave_it() -> None:
    outcome = assert_unchanged(CM, """\
        for i in $(seq 1 5); do
          if curl -sf http://a/x; then exit 0; fi
        <% if p("verbose") -%>
          echo "try $i"
        <% end -%>
          sleep 1
        done
        """, **HOOK)
    assert any("ERB control tags" in m for m in outcome.messages("review"))
