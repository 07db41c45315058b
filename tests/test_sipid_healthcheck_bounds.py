"""How real post-start loops bound their retries, and the timeout the rewrite reads from them: a
deadline (``date +%s`` arithmetic, ``$SECONDS``), a count in a variable or a function argument,
a count checked inside the body of a loop whose condition is the probe."""

from __future__ import annotations

from codemods.sipid_healthcheck import SipidHealthcheck
from tests.support.codemod_case import assert_codemod, assert_unchanged

CM = SipidHealthcheck()
SIPID = "/var/vcap/packages/sipid/bin/sipid"
HOOK = {"script": "bin/post-start", "source": "post-start.erb"}


def test_date_deadline_checked_inside_a_loop_on_the_probe() -> None:
    outcome = assert_codemod(
        CM,
        """\
        deadline=$(( $(date +%s) + 120 ))
        until curl -sf http://127.0.0.1:8080/health > /dev/null; do
          if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "web did not answer within 120 s" >&2
            exit 1
          fi
          echo "waiting for web"
          sleep 5
        done
        echo "web is up"
        """,
        f"""\
        if ! {SIPID} wait-until-healthy --url http://127.0.0.1:8080/health --timeout 120s --polling-frequency 5s; then
          echo "web did not answer within 120 s" >&2
          exit 1
        fi
        echo "web is up"
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert "a 120 s deadline" in note and "one interval late" in note


def test_date_deadline_in_the_loop_condition() -> None:
    assert_codemod(
        CM,
        """\
        deadline=$(( $(date +%s) + 60 ))
        while [ "$(date +%s)" -lt "$deadline" ]; do
          if curl -fsS http://127.0.0.1:8080/health; then
            exit 0
          fi
          sleep 2
        done
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:8080/health --timeout 60s --polling-frequency 2s; then
          exit 0
        fi
        exit 1
        """,
        **HOOK,
    )


def test_seconds_reset_before_the_loop() -> None:
    outcome = assert_codemod(
        CM,
        """\
        SECONDS=0
        while (( SECONDS < 90 )); do
          if curl -fsS http://127.0.0.1:9090/-/ready > /dev/null 2>&1; then
            echo "ready"
            exit 0
          fi
          sleep 3
        done
        echo "not ready after 90 s" >&2
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:9090/-/ready --timeout 90s --polling-frequency 3s; then
          echo "ready"
          exit 0
        fi
        echo "not ready after 90 s" >&2
        exit 1
        """,
        **HOOK,
    )
    assert "a 90 s deadline" in outcome.messages("review")[0]


def test_seconds_without_a_reset_counts_from_the_script_start_so_is_left() -> None:
    outcome = assert_unchanged(CM, """\
        /var/vcap/jobs/web/bin/prepare
        while [ $SECONDS -lt 90 ]; do
          if curl -fs http://127.0.0.1:9090/ready; then exit 0; fi
          sleep 3
        done
        exit 1
        """, **HOOK)
    assert any("no bound" in m for m in outcome.messages("review"))


def test_a_deadline_that_is_not_a_whole_number_of_intervals_is_rounded_up_with_a_finding() -> None:
    outcome = assert_codemod(
        CM,
        """\
        SECONDS=0
        while [ $SECONDS -lt 100 ]; do
          curl -sf http://127.0.0.1:8080/ok && exit 0
          sleep 30
        done
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:8080/ok --timeout 120s --polling-frequency 30s; then
          exit 0
        fi
        exit 1
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert "120 s" in note and "100 s" in note


def test_a_count_given_by_the_only_call_of_the_function() -> None:
    outcome = assert_codemod(
        CM,
        """\
        wait_for_service() {
          local url=$1
          local max_attempts=$2
          local attempt=1
          while [ "$attempt" -le "$max_attempts" ]; do
            if curl -fs "$url" > /dev/null; then
              return 0
            fi
            echo "attempt ${attempt}/${max_attempts}: ${url} not ready"
            attempt=$((attempt + 1))
            sleep 2
          done
          return 1
        }

        wait_for_service "http://127.0.0.1:8080/health" 30 || exit 1
        """,
        f"""\
        wait_for_service() {{
          local url=$1
          if {SIPID} wait-until-healthy --url "$url" --timeout 60s --polling-frequency 2s; then
            return 0
          fi
          return 1
        }}

        wait_for_service "http://127.0.0.1:8080/health" 30 || exit 1
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert "30 tries, 2 s apart" in note and "line 16" in note


def test_a_count_in_a_variable_set_before_the_loop() -> None:
    """30 probes, the last at 290 s, then the check gives up before sleeping again: the timeout
    is when the loop gave up, not tries x interval; the count and counter, now unread, go."""
    outcome = assert_codemod(
        CM,
        """\
        max_attempts=30
        attempts=0
        until curl -fs http://127.0.0.1:8080/health; do
          attempts=$((attempts + 1))
          if [ "$attempts" -ge "$max_attempts" ]; then
            echo "giving up" >&2
            exit 1
          fi
          sleep 10
        done
        """,
        f"""\
        if ! {SIPID} wait-until-healthy --url http://127.0.0.1:8080/health --timeout 290s --polling-frequency 10s; then
          echo "giving up" >&2
          exit 1
        fi
        """,
        **HOOK,
    )
    assert "30 tries, 10 s apart" in outcome.messages("review")[0]


def test_callers_that_pass_different_counts_leave_the_loop() -> None:
    outcome = assert_unchanged(CM, """\
        wait_for() {
          local max_attempts=$2
          local attempt=0
          while [ $attempt -lt $max_attempts ]; do
            if curl -fs "$1"; then return 0; fi
            attempt=$((attempt + 1))
            sleep 1
          done
          return 1
        }
        wait_for http://127.0.0.1:8080/a 30
        wait_for http://127.0.0.1:8080/b 10
        """, **HOOK)
    [message] = outcome.messages("review")
    assert "different counts" in message and "30" in message and "10" in message


def test_a_count_checked_after_the_sleep_in_a_loop_on_the_status() -> None:
    assert_codemod(
        CM,
        """\
        count=1
        while [ "$(curl -s -o /dev/null -w "%{http_code}" ${URL})" != "200" ]; do
          echo "[${count}/60] Waiting until ${URL} is ready ..."
          sleep 5
          if [ $count = 60 ]; then
            echo "the service did not start" >&2
            exit 1
          fi
          count=$((count + 1))
        done
        echo "ready"
        """,
        f"""\
        if ! {SIPID} wait-until-healthy --url ${{URL}} --timeout 300s --polling-frequency 5s; then
          echo "the service did not start" >&2
          exit 1
        fi
        echo "ready"
        """,
        **HOOK,
    )


def test_a_loop_that_sleeps_before_probing_keeps_the_same_first_probe() -> None:
    outcome = assert_codemod(
        CM,
        """\
        for i in $(seq 1 10); do
          sleep 3
          if curl -sf http://127.0.0.1:8080/health; then exit 0; fi
        done
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:8080/health --timeout 30s --polling-frequency 3s; then
          exit 0
        fi
        exit 1
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert "late" not in note



def test_two_loops_with_the_same_variable_are_both_rewritten() -> None:
    """The second loop's ``for i`` sets ``i`` again: it is not a read of the first loop's ``$i``."""
    outcome = assert_codemod(
        CM,
        """\
        for i in {1..3}; do
          if curl -sf http://127.0.0.1:8080/a; then echo "a up"; break; fi
          sleep 1
        done
        for i in {1..3}; do
          if curl -sf http://127.0.0.1:8080/b; then echo "b up"; break; fi
          sleep 1
        done
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:8080/a --timeout 3s --polling-frequency 1s; then
          echo "a up"
        fi
        if {SIPID} wait-until-healthy --url http://127.0.0.1:8080/b --timeout 3s --polling-frequency 1s; then
          echo "b up"
        fi
        """,
        **HOOK,
    )
    assert len(outcome.messages("review")) == 2


def test_a_loop_variable_read_after_the_loop_leaves_it() -> None:
    outcome = assert_unchanged(CM, """\
        for i in {1..3}; do
          if curl -sf http://127.0.0.1:8080/a; then break; fi
          sleep 1
        done
        echo "stopped at try $i"
        """, **HOOK)
    assert any("uses $i after the loop" in m for m in outcome.messages("review"))


def test_an_endless_loop_with_a_count_checked_in_its_body_keeps_both_paths() -> None:
    assert_codemod(
        CM,
        """\
        n=0
        while true; do
          if curl -sf http://127.0.0.1:8080/health; then
            echo "up"
            exit 0
          fi
          n=$((n + 1))
          if [ $n -ge 10 ]; then
            echo "down" >&2
            exit 1
          fi
          sleep 2
        done
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:8080/health --timeout 18s --polling-frequency 2s; then
          echo "up"
          exit 0
        else
          echo "down" >&2
          exit 1
        fi
        """,
        **HOOK,
    )


def test_a_bound_the_counter_never_reaches_is_no_bound() -> None:
    outcome = assert_unchanged(CM, """\
        n=0
        while [ $n -ne 5 ]; do
          if curl -sf http://127.0.0.1:8080/health; then exit 0; fi
          n=$((n + 2))
          sleep 1
        done
        """, **HOOK)
    assert any("no bound" in m for m in outcome.messages("review"))
