"""Run curl retry loops before and after sipid-healthcheck with real bash and curl against a local
HTTP server (sipid played by the test stand-in): a healthy service passes both, a service that
never answers 200 fails both, and the new script gives up after the loop's own time budget."""

from __future__ import annotations

import http.server
import textwrap
import threading
import time
from pathlib import Path

import pytest

from codemods.sipid_healthcheck import SipidHealthcheck
from tests.support import sipid_standin
from tests.support.codemod_case import run_codemods
from tests.support.sandbox import Sandbox

LOOPS = {
    "exit-on-success": """\
        #!/bin/bash
        for i in $(seq 1 5); do
          if curl -sf http://127.0.0.1:{port}/health > /dev/null; then
            echo "healthy"
            exit 0
          fi
          sleep 0.2
        done
        echo "not healthy" >&2
        exit 1
        """,
    "status-code-counter": """\
        #!/bin/bash
        n=0
        while [ $n -lt 5 ]; do
          if [ "$(curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/health)" == "200" ]; then
            echo "healthy"
            exit 0
          fi
          n=$((n+1))
          sleep 0.2
        done
        exit 1
        """,
    "date-deadline": """\
        #!/bin/bash
        deadline=$(( $(date +%s) + 1 ))
        until curl -sf http://127.0.0.1:{port}/health > /dev/null; do
          if [ "$(date +%s)" -ge "$deadline" ]; then
            exit 1
          fi
          sleep 0.25
        done
        echo "healthy"
        """,
    "seconds-deadline": """\
        #!/bin/bash
        SECONDS=0
        while (( SECONDS < 1 )); do
          if curl -fsS http://127.0.0.1:{port}/health > /dev/null 2>&1; then
            echo "healthy"
            exit 0
          fi
          sleep 0.25
        done
        exit 1
        """,
    "function-count": """\
        #!/bin/bash
        wait_for() {{
          local url=$1
          local max_attempts=$2
          local attempt=0
          while [ "$attempt" -lt "$max_attempts" ]; do
            if curl -fs "$url" > /dev/null; then
              echo "healthy"
              return 0
            fi
            attempt=$((attempt + 1))
            sleep 0.2
          done
          return 1
        }}
        wait_for http://127.0.0.1:{port}/health 5 || exit 1
        """,
    "count-checked-in-the-body": """\
        #!/bin/bash
        count=1
        while [ "$(curl -s -o /dev/null -w '%{{http_code}}' http://127.0.0.1:{port}/health)" != "200" ]; do
          sleep 0.2
          if [ $count = 5 ]; then
            exit 1
          fi
          count=$((count + 1))
        done
        echo "healthy"
        """,
}


class _Handler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()


def scripts(shape: str, port: int) -> tuple[str, str]:
    before = LOOPS[shape].format(port=port)
    outcome = run_codemods([SipidHealthcheck()], before, script="bin/post-start", source="post-start")
    assert "wait-until-healthy" in outcome.text and "curl" not in outcome.text
    return outcome.result.original.source.decode(), outcome.text


def run(tmp_path: Path, name: str, text: str) -> tuple[int, float, str]:
    box = Sandbox(tmp_path / name)
    sipid_standin.install(box)
    script = box.install("/var/vcap/jobs/job/bin/post-start", text)
    started = time.monotonic()
    proc = box.run(script, timeout=30)
    return proc.returncode, time.monotonic() - started, proc.stdout


@pytest.mark.parametrize("shape", sorted(LOOPS))
def test_a_healthy_service_passes_before_and_after(tmp_path: Path, server, shape: str) -> None:
    _Handler.status = 200
    before, after = scripts(shape, server.server_port)
    assert run(tmp_path, "before", before)[::2] == (0, "healthy\n")
    assert run(tmp_path, "after", after)[::2] == (0, "healthy\n")


@pytest.mark.parametrize("shape", sorted(LOOPS))
def test_a_failing_service_fails_before_and_after_within_the_budget(tmp_path: Path, server, shape: str) -> None:
    _Handler.status = 503
    before, after = scripts(shape, server.server_port)
    old_rc, _, old_out = run(tmp_path, "before", before)
    new_rc, new_time, new_out = run(tmp_path, "after", after)
    assert old_rc == new_rc == 1
    assert "healthy\n" not in old_out + new_out
    assert 1.0 <= new_time < 5, "every loop here gave up after about 1 s: so does sipid"


BREAK_LOOP = """\
    #!/bin/bash
    for i in {{1..4}}; do
      if curl --fail --silent http://127.0.0.1:{port}/health; then
        break
      fi
      sleep 0.25
    done
    echo "deploy goes on"
    """


@pytest.mark.parametrize("status", [200, 503])
def test_a_loop_that_breaks_goes_on_either_way_before_and_after(tmp_path: Path, server, status: int) -> None:
    _Handler.status = status
    before = textwrap.dedent(BREAK_LOOP).format(port=server.server_port)
    after = run_codemods([SipidHealthcheck()], before, script="bin/post-start", source="post-start").text
    assert "wait-until-healthy" in after
    assert run(tmp_path, "before", before)[::2] == (0, "deploy goes on\n")
    assert run(tmp_path, "after", after)[::2] == (0, "deploy goes on\n")
