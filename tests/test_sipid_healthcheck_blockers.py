"""Probes sipid wait-until-healthy cannot stand for: the loop stays, and its finding names what
blocks the rewrite (and the bounds the tool read, so a human can rewrite it by hand).

sipid sends a plain GET with no headers, verifies TLS, gives each try up to 30 s, and counts only
a 200 after redirects. A curl probe that needs anything else (``-k``, ``-H``, ``-m``, a body match,
another status) would check something else after a rewrite.
"""

from __future__ import annotations

import http.server
import textwrap
import threading
from pathlib import Path

import pytest

from codemods.sipid_healthcheck import SipidHealthcheck
from tests.support import sipid_standin
from tests.support.codemod_case import assert_unchanged, run_codemods
from tests.support.sandbox import Sandbox

CM = SipidHealthcheck()
HOOK = {"script": "bin/post-start", "source": "post-start.erb"}


def blocked(script: str) -> str:
    """The one review finding of a loop left alone (asserts there is exactly one)."""
    outcome = assert_unchanged(CM, script, **HOOK)
    [message] = outcome.messages("review")
    assert message.startswith("left unchanged"), message
    return message


# -- a Host header: today's rewrite dropped it ------------------------------------------------------
HOST_LOOP = """\
    #!/bin/bash
    for i in $(seq 1 5); do
      if curl -sf -H "Host: api.internal" http://127.0.0.1:{port}/health > /dev/null; then
        echo "healthy"
        exit 0
      fi
      sleep 0.2
    done
    exit 1
    """


class _VirtualHost(http.server.BaseHTTPRequestHandler):
    """Answers 200 only for the virtual host the probe names, 404 for any other Host."""

    def do_GET(self) -> None:
        self.send_response(200 if self.headers.get("Host") == "api.internal" else 404)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def virtual_host():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _VirtualHost)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def _run(tmp_path: Path, name: str, text: str) -> int:
    box = Sandbox(tmp_path / name)
    sipid_standin.install(box)
    script = box.install("/var/vcap/jobs/job/bin/post-start", text)
    return box.run(script, timeout=30).returncode


def test_a_host_header_probe_still_passes_after_the_tool_ran(tmp_path: Path, virtual_host) -> None:
    """The server answers only when the Host header names it: the original passes, and so must
    whatever the tool leaves (a rewrite that drops -H would probe the wrong virtual host)."""
    before = textwrap.dedent(HOST_LOOP.format(port=virtual_host.server_port))
    after = run_codemods([CM], before, **HOOK).text
    assert _run(tmp_path, "before", before) == 0
    assert _run(tmp_path, "after", after) == 0


def test_a_header_is_a_blocker_named_in_the_finding() -> None:
    message = blocked(HOST_LOOP.format(port=8080))
    assert "-H" in message and "header" in message
    assert "5 tries, 0.2 s apart" in message


def test_insecure_tls_is_named_with_the_bound_the_tool_read() -> None:
    outcome = assert_unchanged(CM, """\
        for i in $(seq 1 20); do
          if curl -sfk https://127.0.0.1:8443/health; then exit 0; fi
          sleep 3
        done
        exit 1
        """, **HOOK)
    [finding] = [f for f in outcome.findings if f.severity == "review"]
    assert "-k" in finding.message and "verifies TLS" in finding.message
    assert "20 tries, 3 s apart" in finding.message
    assert finding.suggestion is not None
    assert "--timeout 60s --polling-frequency 3s" in finding.suggestion


def test_a_per_try_time_limit_is_a_blocker() -> None:
    message = blocked("""\
        for i in {1..10}; do
          if curl -sf --max-time 2 http://127.0.0.1:8080/health; then break; fi
          sleep 5
        done
        """)
    assert "--max-time" in message and "per try" in message


def test_a_body_match_is_a_blocker() -> None:
    message = blocked("""\
        for i in {1..10}; do
          if curl -s http://127.0.0.1:9200/_cluster/health | grep -q '"status":"green"'; then exit 0; fi
          sleep 5
        done
        exit 1
        """)
    assert "body" in message


def test_a_status_other_than_200_is_a_blocker() -> None:
    message = blocked("""\
        for i in {1..10}; do
          if [ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/login)" == "302" ]; then exit 0; fi
          sleep 5
        done
        exit 1
        """)
    assert "302" in message and "200" in message


def test_every_blocker_is_named_not_only_the_first() -> None:
    message = blocked("""\
        for i in {1..10}; do
          if curl -sfk -H 'Accept: application/json' https://127.0.0.1:9200/ready; then exit 0; fi
          sleep 5
        done
        exit 1
        """)
    assert "-k" in message and "-H" in message


def test_an_endless_body_match_loop_names_both() -> None:
    message = blocked("""\
        while [[ -z $(curl -s http://127.0.0.1:8500/v1/status/leader | tr -d '"') ]]
        do sleep 1
        done
        """)
    assert "no bound" in message and "body" in message


def test_a_probe_in_the_condition_with_a_blocker_gives_its_bound() -> None:
    message = blocked("""\
        count=1
        while [ "`curl -s -o /dev/null -k -I -w "%{http_code}" ${URL}`" != "200" ];do
          echo "[${count}/60] Waiting until ${URL} is ready ..."
          sleep 5
          if [ $count = 60 ];then
            echo "gave up" >&2
            exit 1
          fi
          count=$((count + 1))
        done
        """)
    assert "-k" in message and "verifies TLS" in message
    assert "-I" not in message, "HEAD is a declared difference, not a blocker"
    assert "60 tries, 5 s apart" in message


# -- loops that are not retries of one probe: no finding at all -------------------------------------
@pytest.mark.parametrize("script", [
    pytest.param("""\
        for f in /var/vcap/packages/app/blobs/*.tgz; do
          curl -fsS -T "$f" http://127.0.0.1:8080/upload/
        done
        """, id="upload-each-file"),
    pytest.param("""\
        for i in $(seq 1 5); do
          curl -fsS -X POST "http://127.0.0.1:8080/shards/$i"
          sleep 1
        done
        """, id="one-request-per-item"),
    pytest.param("""\
        while true; do
          curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:15672/api/overview
          curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:15672/api/nodes
          sleep 10
        done
        """, id="periodic-metrics"),
])
def test_a_loop_that_is_not_a_retry_of_one_probe_is_not_reported(script: str) -> None:
    outcome = assert_unchanged(CM, script, **HOOK)
    assert outcome.findings == []


def test_a_tangled_loop_that_greps_the_saved_response_names_the_body_match() -> None:
    """Several requests per try, one of them saving the response that a grep then reads: the
    finding names the body match too, not only the request count."""
    message = blocked("""\
        tries=0
        while [ $tries -lt 20 ]; do
          curl -s http://127.0.0.1:9200/_cluster/state > /tmp/state.json
          curl -s -X POST http://127.0.0.1:9200/_refresh
          if grep -q '"master_node"' /tmp/state.json; then exit 0; fi
          tries=$((tries + 1))
          sleep 3
        done
        exit 1
        """)
    assert "runs 2 curl commands per try" in message
    assert "matches the response body with grep" in message


def test_a_tangled_loop_that_throws_the_responses_away_names_no_body_match() -> None:
    message = blocked("""\
        for i in $(seq 1 20); do
          curl -s -X POST http://127.0.0.1:9200/_refresh > /dev/null
          if curl -sf http://127.0.0.1:9200/_health > /dev/null; then exit 0; fi
          grep -c ERROR /var/vcap/sys/log/search/search.log || true
          sleep 3
        done
        exit 1
        """)
    assert "runs 2 curl commands per try" in message and "body" not in message


def test_erb_inside_a_loop_blocks_it_before_and_after_erb_to_config_moves_the_erb() -> None:
    """sipid-healthcheck runs before erb-to-config, and the engine's second pass runs both again
    on the result: the loop must not become rewritable once its ERB is a bash ``if`` (that pass
    would then change the script, and the whole script would be refused as not idempotent)."""
    from codemods.erb_to_config import ErbToConfig

    before = """\
        #!/bin/bash
        for i in $(seq 1 10); do
        <% if p("job.verbose") %>
          echo "probe $i"
        <% end %>
          if curl -sf http://127.0.0.1:8080/health; then exit 0; fi
          sleep 1
        done
        exit 1
        """
    outcome = run_codemods([CM, ErbToConfig()], before, properties={"job.verbose": False}, **HOOK)
    assert "ERB control tags inside" in " ".join(outcome.messages("review"))
    assert not [f for f in outcome.findings if f.codemod == "engine"], outcome.findings
    assert "<%" not in outcome.text and "curl -sf" in outcome.text
    second = run_codemods([CM], outcome.text, **HOOK, dedent=False)
    assert second.text == outcome.text
    assert any("does more between tries" in m for m in second.messages("review"))


def test_erb_inside_a_loop_is_not_given_as_a_reason_when_other_blockers_say_why() -> None:
    """elasticsearch's post-start: the loop's ERB if/else is gone in the same run's diff (erb-to-config),
    so a finding naming it as a reason reads as stale; -k on https and the body match are the reasons."""
    message = " ".join(run_codemods([CM], """\
        #!/bin/bash
        for i in $(seq 1 10); do
        <% if p("job.verbose") %>
          echo "probe $i"
        <% end %>
          if curl -sfk https://127.0.0.1:8443/health | grep -q green; then exit 0; fi
          sleep 1
        done
        exit 1
        """, properties={"job.verbose": False}, **HOOK).messages("review"))
    assert "left unchanged" in message and "-k" in message, message
    assert "ERB control tags" not in message, message
