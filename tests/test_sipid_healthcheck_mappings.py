"""Probes that differ from sipid's in ways the rewrite can state, not in what they check.

- curl without ``-f`` ended the wait on any HTTP answer; sipid waits for a 200. The loop's author
  picked that URL to tell when the job is ready, so the rewrite is made, and the review finding
  names the URL and says what now happens when it answers something else (the wait runs to its
  timeout). The behaviour tests below pin exactly that difference, and nothing more.
- ``curl -I`` sent HEAD; sipid sends GET. HTTP gives both the same status, so the check is the
  same; the finding says the body is now sent too.
- ``wget --spider`` (HEAD, any 2xx after redirects) and ``wget -O -`` (GET) are the same kind of
  probe as ``curl -f``; ``--no-check-certificate``, headers, per-try limits and wget's own retries
  are blockers, as their curl counterparts are.
- ``curl -k`` on a URL that is ``http://`` on every path of the script changes nothing (there is no
  certificate to skip): it is dropped without a difference. On an ``https://`` URL, or one the
  tool cannot tell, it stays a blocker, named with the assignment that makes it https.
"""

from __future__ import annotations

import http.server
import textwrap
import threading
import time
from pathlib import Path

import pytest

from codemods.sipid_healthcheck import SipidHealthcheck
from tests.support import sipid_standin
from tests.support.codemod_case import assert_codemod, assert_unchanged, run_codemods
from tests.support.sandbox import Sandbox

CM = SipidHealthcheck()
SIPID = "/var/vcap/packages/sipid/bin/sipid"
HOOK = {"script": "bin/post-start", "source": "post-start.erb"}


# -- curl without -f ----------------------------------------------------------------------------------
def test_a_probe_without_fail_is_rewritten_and_the_finding_names_the_url() -> None:
    outcome = assert_codemod(
        CM,
        """\
        left=10
        echo "waiting for the key store"
        while [[ $left -ne 0 ]]; do
          if curl -sL http://127.0.0.1:9300/v2/ping > /dev/null; then
            break
          fi
          left=$(( left - 1 ))
          sleep 2
        done
        echo "key store check done"
        """,
        f"""\
        echo "waiting for the key store"
        {SIPID} wait-until-healthy --url http://127.0.0.1:9300/v2/ping --timeout 20s --polling-frequency 2s || true
        echo "key store check done"
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert "10 tries, 2 s apart" in note
    assert "curl had no -f" in note and "any HTTP answer" in note
    assert "http://127.0.0.1:9300/v2/ping" in note and "answers 200" in note
    assert "20 s timeout" in note


def test_a_probe_without_fail_joined_by_and_is_rewritten() -> None:
    outcome = assert_codemod(
        CM,
        """\
        for attempt in $(seq 1 6); do
          curl -s http://127.0.0.1:7000/alive && exit 0
          sleep 5
        done
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:7000/alive --timeout 30s --polling-frequency 5s; then
          exit 0
        fi
        exit 1
        """,
        **HOOK,
    )
    assert "any HTTP answer" in outcome.messages("review")[0]


def test_without_fail_the_other_blockers_are_still_named() -> None:
    outcome = assert_unchanged(CM, """\
        for i in {1..5}; do
          if curl -s -H 'Accept: text/plain' http://127.0.0.1:7000/alive; then exit 0; fi
          sleep 1
        done
        """, **HOOK)
    [message] = outcome.messages("review")
    assert "-H" in message and "without -f" not in message


# -- curl -I -------------------------------------------------------------------------------------------
def test_a_head_probe_compared_with_200_is_rewritten_as_a_get() -> None:
    outcome = assert_codemod(
        CM,
        """\
        n=1
        until [ "$(curl -sI -o /dev/null -w '%{http_code}' http://127.0.0.1:8088/)" = "200" ]; do
          sleep 3
          if [ $n -ge 20 ]; then
            echo "console never came up" >&2
            exit 1
          fi
          n=$((n + 1))
        done
        """,
        f"""\
        if ! {SIPID} wait-until-healthy --url http://127.0.0.1:8088/ --timeout 60s --polling-frequency 3s; then
          echo "console never came up" >&2
          exit 1
        fi
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert "GET" in note and "HEAD" in note and "-I" in note


# -- curl -k -------------------------------------------------------------------------------------------
def test_insecure_on_a_plain_http_url_changes_nothing_so_is_dropped() -> None:
    outcome = assert_codemod(
        CM,
        """\
        for i in $(seq 1 8); do
          if curl -fsk http://127.0.0.1:8080/health; then exit 0; fi
          sleep 2
        done
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:8080/health --timeout 16s --polling-frequency 2s; then
          exit 0
        fi
        exit 1
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert "-k" in note and "http://" in note


def test_insecure_on_a_variable_that_is_http_on_every_path_is_dropped() -> None:
    after = run_codemods([CM], """\
        PROBE_URL="http://127.0.0.1:<%= p("admin.port") %>/ready"
        for i in $(seq 1 8); do
          if curl -fsk "$PROBE_URL"; then exit 0; fi
          sleep 2
        done
        exit 1
        """, **HOOK).text
    assert f'{SIPID} wait-until-healthy --url "$PROBE_URL" --timeout 16s' in after


def test_insecure_on_a_url_that_may_be_https_stays_a_blocker_naming_the_assignment() -> None:
    outcome = assert_unchanged(CM, """\
        PROBE_URL=http://127.0.0.1:8080/ready
        <% if p("tls.enabled") %>
        PROBE_URL=https://127.0.0.1:8443/ready
        <% end %>
        for i in $(seq 1 8); do
          if curl -fsk "$PROBE_URL"; then exit 0; fi
          sleep 2
        done
        exit 1
        """, **HOOK)
    [message] = outcome.messages("review")
    assert "-k" in message and "verifies TLS" in message
    assert "https:// on line 3" in message


def test_insecure_on_a_url_from_a_function_argument_stays_a_blocker() -> None:
    outcome = assert_unchanged(CM, """\
        wait_up() {
          for i in $(seq 1 8); do
            if curl -fsk "$1"; then return 0; fi
            sleep 2
          done
          return 1
        }
        wait_up http://127.0.0.1:8080/ready
        """, **HOOK)
    assert "-k" in outcome.messages("review")[0]


# -- behaviour: real bash and curl against a local server, sipid played by the stand-in -------------
class _Server(http.server.BaseHTTPRequestHandler):
    status = 200
    methods: list[str] = []

    def _answer(self) -> None:
        type(self).methods.append(self.command)
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    _Server.methods = []
    yield httpd
    httpd.shutdown()


NO_FAIL = """\
    #!/bin/bash
    set -e
    left=4
    while [[ $left -ne 0 ]]; do
      if curl -sL http://127.0.0.1:{port}/v2/ping > /dev/null; then
        break
      fi
      left=$(( left - 1 ))
      sleep 0.25
    done
    echo "goes on"
    """

HEAD = """\
    #!/bin/bash
    n=1
    until [ "$(curl -sI -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/)" = "200" ]; do
      sleep 0.25
      if [ $n -ge 4 ]; then
        echo "gave up"
        exit 1
      fi
      n=$((n + 1))
    done
    echo "up"
    """


def _pair(shape: str, port: int) -> tuple[str, str]:
    before = textwrap.dedent(shape).format(port=port)
    after = run_codemods([CM], before, **HOOK).text
    assert "wait-until-healthy" in after and "curl" not in after
    return before, after


def _run(tmp_path: Path, name: str, text: str) -> tuple[int, str, float]:
    box = Sandbox(tmp_path / name)
    sipid_standin.install(box)
    script = box.install("/var/vcap/jobs/job/bin/post-start", text)
    started = time.monotonic()
    proc = box.run(script, timeout=30)
    return proc.returncode, proc.stdout, time.monotonic() - started


def test_without_fail_a_healthy_endpoint_passes_before_and_after(tmp_path: Path, server) -> None:
    _Server.status = 200
    before, after = _pair(NO_FAIL, server.server_port)
    assert _run(tmp_path, "before", before)[:2] == (0, "goes on\n")
    assert _run(tmp_path, "after", after)[:2] == (0, "goes on\n")


def test_without_fail_a_non_200_answer_now_waits_out_the_budget(tmp_path: Path, server) -> None:
    """The declared difference, and only it: a 404 ended the old wait at once; the new one runs to
    the loop's own 1 s budget, then does what the loop did when it gave up (here: goes on)."""
    _Server.status = 404
    before, after = _pair(NO_FAIL, server.server_port)
    old_rc, old_out, old_time = _run(tmp_path, "before", before)
    new_rc, new_out, new_time = _run(tmp_path, "after", after)
    assert (old_rc, old_out) == (new_rc, new_out) == (0, "goes on\n")
    assert old_time < 0.9 <= new_time < 5


@pytest.mark.parametrize("status,rc,out", [(200, 0, "up\n"), (503, 1, "gave up\n")])
def test_a_head_probe_and_its_get_rewrite_agree(tmp_path: Path, server, status: int, rc: int, out: str) -> None:
    _Server.status = status
    before, after = _pair(HEAD, server.server_port)
    assert _run(tmp_path, "before", before)[:2] == (rc, out)
    assert "HEAD" in _Server.methods and "GET" not in _Server.methods
    _Server.methods.clear()
    assert _run(tmp_path, "after", after)[:2] == (rc, out)
    assert set(_Server.methods) == {"GET"}


# -- wget ------------------------------------------------------------------------------------------------
def test_a_wget_spider_loop_is_rewritten_and_the_finding_says_what_wget_did() -> None:
    outcome = assert_codemod(
        CM,
        """\
        for try in $(seq 1 15); do
          if wget -q --spider http://127.0.0.1:5601/api/status; then
            echo "dashboard up"
            exit 0
          fi
          sleep 4
        done
        echo "dashboard never came up" >&2
        exit 1
        """,
        f"""\
        if {SIPID} wait-until-healthy --url http://127.0.0.1:5601/api/status --timeout 60s --polling-frequency 4s; then
          echo "dashboard up"
          exit 0
        fi
        echo "dashboard never came up" >&2
        exit 1
        """,
        **HOOK,
    )
    [note] = outcome.messages("review")
    assert note.startswith("wget retry loop (15 tries, 4 s apart) replaced")
    assert "wget accepted any 2xx" in note and "HEAD" in note


def test_a_wget_writing_the_body_to_stdout_is_a_get_and_is_rewritten() -> None:
    after = run_codemods([CM], """\
        n=0
        until wget -qO- http://127.0.0.1:5601/ready > /dev/null 2>&1; do
          n=$((n + 1))
          if [ $n -ge 10 ]; then exit 1; fi
          sleep 3
        done
        """, **HOOK).text
    assert f"{SIPID} wait-until-healthy --url http://127.0.0.1:5601/ready --timeout 27s --polling-frequency 3s" in after


@pytest.mark.parametrize("probe,named", [
    ("wget -q --spider --no-check-certificate https://127.0.0.1:5601/", "--no-check-certificate"),
    ("wget -q --spider --header='Host: kb' http://127.0.0.1:5601/", "--header"),
    ("wget -q --spider -T 2 http://127.0.0.1:5601/", "-T"),
    ("wget -q --spider --tries=3 http://127.0.0.1:5601/", "--tries"),
    ("wget -q --spider --http-user=admin http://127.0.0.1:5601/", "--http-user"),
    ("wget -q http://127.0.0.1:5601/", "saves the response body"),
    ("wget -q -O /tmp/page http://127.0.0.1:5601/", "-O /tmp/page"),
])
def test_what_sipid_cannot_do_of_a_wget_probe_is_named(probe: str, named: str) -> None:
    outcome = assert_unchanged(CM, f"""\
        for try in $(seq 1 15); do
          if {probe}; then exit 0; fi
          sleep 4
        done
        exit 1
        """, **HOOK)
    [message] = outcome.messages("review")
    assert message.startswith("left unchanged: wget retry loop (15 tries, 4 s apart)") and named in message


WGET = """\
    #!/bin/bash
    for try in $(seq 1 4); do
      if wget -q --spider http://127.0.0.1:{port}/; then
        echo "up"
        exit 0
      fi
      sleep 0.25
    done
    echo "gave up"
    exit 1
    """


@pytest.mark.parametrize("status,rc,out", [(200, 0, "up\n"), (503, 1, "gave up\n")])
def test_a_wget_spider_probe_and_its_rewrite_agree(tmp_path: Path, server, status: int, rc: int, out: str) -> None:
    _Server.status = status
    before = textwrap.dedent(WGET).format(port=server.server_port)
    after = run_codemods([CM], before, **HOOK).text
    assert "wait-until-healthy" in after and "wget" not in after
    assert _run(tmp_path, "before", before)[:2] == (rc, out)
    assert _Server.methods and set(_Server.methods) == {"HEAD"}
    _Server.methods.clear()
    assert _run(tmp_path, "after", after)[:2] == (rc, out)
    assert set(_Server.methods) == {"GET"}
