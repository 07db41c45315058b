"""One long-lived Ruby process that renders ERB templates for a whole run.

Starting Ruby costs about 60 ms; a run checks thousands of templates, so the process is started
on the first render and reused for every later one (one per Python process: a forked worker
starts its own rather than sharing the parent's pipes). Requests go out in batches on one line
each and answers come back in order; identical requests (same template, spec and context) are
answered from a cache, since a corpus repeats the same scripts across jobs and releases.

A template can do anything Ruby can, including killing its interpreter: when Ruby dies, the
request it was working on gets the error, Ruby is restarted once, and the rest of the batch is
sent again. A second death in the same batch leaves the remaining requests unanswered
(``RendererUnavailable``), so a caller can tell "the template is broken" from "could not check".
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import selectors
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

RENDER_RB = Path(__file__).with_name("render.rb")

#: a batch smaller than this is written at once (a Linux pipe holds 64 KiB); a larger one from a thread
_PIPE_SAFE = 48 * 1024

#: error class of an answer that Ruby never gave (it could not start, or died twice)
UNAVAILABLE = "RendererUnavailable"


def ruby_available() -> bool:
    """Whether a ``ruby`` is on PATH (the check is skipped, with a note, when there is none)."""
    return _which_ruby(os.environ.get("PATH")) is not None


@functools.lru_cache(maxsize=4)
def _which_ruby(path: str | None) -> str | None:
    """``shutil.which`` walks PATH on every call; a run asks once per job."""
    return shutil.which("ruby", path=path)


@dataclass(frozen=True)
class RenderRequest:
    """One template to render: its text, the job spec it reads defaults from, and the context.

    ``job_spec`` is the parsed spec (``name``, ``properties``); ``spec_file`` instead lets Ruby
    read a spec file itself. ``context`` holds ``properties`` (manifest values), ``spec``
    (instance facts) and ``links``. With ``output=False`` only success or the error comes back.
    """

    template: str
    job_spec: Mapping[str, Any] | None = None
    context: Mapping[str, Any] = field(default_factory=dict)
    spec_file: str | None = None
    output: bool = True

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"template": self.template, "context": dict(self.context), "output": self.output}
        if self.spec_file is not None:
            data["spec_file"] = self.spec_file
        else:
            data["job_spec"] = dict(self.job_spec or {})
        return data

    def cache_key(self, memo: dict[tuple[int, int], bytes] | None = None) -> str:
        """Identical requests render identically: the key covers everything Ruby reads.

        A batch shares its spec and context objects across many templates: ``memo`` keeps their
        JSON by identity for the length of one batch."""
        import hashlib
        import json  # both here and in _roundtrip: a run that renders nothing does not import them

        ident = (id(self.job_spec), id(self.context))
        around = memo.get(ident) if memo is not None else None
        if around is None:
            around = json.dumps([self.job_spec, self.context, self.spec_file], sort_keys=True, default=str).encode()
            if memo is not None:
                memo[ident] = around
        digest = hashlib.sha1(around)
        digest.update(b"\0%d\0" % self.output + self.template.encode("utf-8", "surrogatepass"))
        if self.spec_file is not None:
            try:
                digest.update(Path(self.spec_file).read_bytes())
            except OSError:
                digest.update(b"\0unreadable")
        return digest.hexdigest()


@dataclass(frozen=True)
class RenderResult:
    ok: bool
    output: str | None = None
    error: str | None = None  # Ruby's exception class
    message: str | None = None

    @property
    def summary(self) -> str:
        """Ruby's error as one short line: ``NameError: undefined local variable or method 'x'``."""
        if self.ok:
            return "rendered"
        return f"{self.error}: {one_line(self.message or '')}"


def one_line(message: str) -> str:
    """The first line of a Ruby error, without the receiver dump and with plain quotes."""
    lines = [ln for ln in message.splitlines() if ln.strip() and not ln.lstrip().startswith("...")]
    line = lines[0].strip() if lines else message.strip()
    line = re.sub(r"^\(erb\):(\d+):\s*", r"line \1: ", line)
    line = re.sub(r" for (#<[^>]*>|an instance of \w+|\w+:\w+)$", "", line)
    return re.sub(r"`([^'`]*)'", r"'\1'", line)


class _LineReader:
    """Lines from a pipe, with a deadline (a template stuck in a loop must not hang the run)."""

    def __init__(self, stream) -> None:
        self.fd = stream.fileno()
        self.buffer = bytearray()
        self.eof = False
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)

    def readline(self, timeout: float) -> bytes | None:
        deadline = time.monotonic() + timeout
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[:end + 1]
                return line
            left = deadline - time.monotonic()
            if left <= 0 or not self.selector.select(left):
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
                return None
            self.buffer += chunk

    def close(self) -> None:
        self.selector.close()


class RubyRenderer:
    """Renders through one ``ruby render.rb --server`` process, started on first use."""

    def __init__(self, timeout: float = 20.0, cache: bool = True) -> None:
        self.timeout = timeout  # per template, enforced by Ruby; Python waits a little longer
        self.starts = 0  # processes started by this object (tests count them)
        self._cache: dict[str, RenderResult] | None = {} if cache else None
        self._proc: subprocess.Popen | None = None
        self._reader: _LineReader | None = None
        self._stderr = None
        self._owner = os.getpid()
        self._next_id = 0
        self._lock = threading.Lock()

    # -- public ---------------------------------------------------------------------------------
    def render(self, request: RenderRequest) -> RenderResult:
        return self.render_many([request])[0]

    def render_many(self, requests: Sequence[RenderRequest]) -> list[RenderResult]:
        """Render a batch in one exchange with Ruby; answers in the order of ``requests``."""
        with self._lock:
            memo: dict[tuple[int, int], bytes] = {}
            keys = [r.cache_key(memo) for r in requests]
            cache = self._cache if self._cache is not None else {}
            todo: dict[str, RenderRequest] = {}
            for key, request in zip(keys, requests):
                if key not in cache and key not in todo:
                    todo[key] = request
            answers = self._exchange(list(todo.items())) if todo else {}
            if self._cache is not None:
                # an unanswered request is not a fact about the template: ask again next time
                self._cache.update({k: v for k, v in answers.items() if v.error != UNAVAILABLE})
            return [answers[k] if k in answers else cache[k] for k in keys]

    def close(self) -> None:
        """Stop Ruby (it also stops by itself when this process exits: its stdin closes)."""
        proc, self._proc = self._proc, None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if proc is None or self._owner != os.getpid():
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=2)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._owner == os.getpid() else None

    # -- the process ----------------------------------------------------------------------------
    def _process(self) -> subprocess.Popen | None:
        if self._owner != os.getpid():  # forked: the parent's Ruby is not ours to use
            self._proc, self._reader, self._owner = None, None, os.getpid()
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        self._discard()
        ruby = _which_ruby(os.environ.get("PATH"))
        if ruby is None:
            return None
        import tempfile  # only when Ruby starts

        self._stderr = tempfile.TemporaryFile()
        env = dict(os.environ, RENDER_TIMEOUT=str(self.timeout))
        try:
            self._proc = subprocess.Popen([ruby, str(RENDER_RB), "--server"], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, stderr=self._stderr, env=env)
        except OSError:
            self._proc = None
            return None
        self.starts += 1
        self._reader = _LineReader(self._proc.stdout)
        return self._proc

    def _discard(self) -> None:
        """Forget a dead or stuck process (killing it if it still runs)."""
        proc, self._proc = self._proc, None
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass

    def _why_dead(self) -> str:
        rc = self._proc.poll() if self._proc is not None else None
        tail = ""
        if self._stderr is not None:
            try:
                self._stderr.seek(0)
                tail = self._stderr.read().decode("utf-8", "replace").strip().splitlines()[-1:]
                tail = f": {tail[0]}" if tail else ""
            except OSError:
                tail = ""
        return f"ruby exited ({rc if rc is not None else 'no answer'}){tail}"

    def _exchange(self, items: list[tuple[str, RenderRequest]]) -> dict[str, RenderResult]:
        answers: dict[str, RenderResult] = {}
        queue = list(items)
        deaths = 0
        while queue:
            proc = self._process()
            if proc is None:
                reason = "ruby is not on PATH" if not ruby_available() else self._why_dead()
                answers.update({k: RenderResult(False, error=UNAVAILABLE, message=reason) for k, _ in queue})
                break
            done, stuck = self._roundtrip(proc, queue)
            answers.update(done)
            queue = [(k, r) for k, r in queue if k not in done]
            if not queue:
                break
            # Ruby died (or hung) on the first unanswered request: that template gets the blame
            why = "did not finish in time" if stuck else self._why_dead()
            key, _ = queue.pop(0)
            answers[key] = RenderResult(False, error="RubyDied", message=f"rendering stopped Ruby: {why}")
            self._discard()
            deaths += 1
            if deaths > 1:
                answers.update({k: RenderResult(False, error=UNAVAILABLE, message=why) for k, _ in queue})
                break
        return answers

    def _roundtrip(self, proc: subprocess.Popen, items: list[tuple[str, RenderRequest]]
                   ) -> tuple[dict[str, RenderResult], bool]:
        """Send every request (from a thread, so a full pipe cannot deadlock) and read answers
        until all came back or Ruby stops answering; returns the answers and whether it hung."""
        import json

        ids: dict[int, str] = {}
        lines = []
        for key, request in items:
            self._next_id += 1
            ids[self._next_id] = key
            lines.append(json.dumps({"id": self._next_id, **request.payload()}, default=str).encode("utf-8") + b"\n")

        def send() -> None:
            try:
                for line in lines:
                    proc.stdin.write(line)
                proc.stdin.flush()
            except (OSError, ValueError):
                pass  # Ruby died: the reader sees it

        writer = None
        if sum(map(len, lines)) < _PIPE_SAFE:
            send()  # fits in the pipe: the write cannot block however slowly Ruby answers
        else:
            writer = threading.Thread(target=send, daemon=True)
            writer.start()
        done: dict[str, RenderResult] = {}
        stuck = False
        assert self._reader is not None
        while len(done) < len(lines):
            raw = self._reader.readline(self.timeout + 10)
            if raw is None:
                # end of output: Ruby is exiting; no answer in time (or no exit): Ruby is stuck
                try:
                    if not self._reader.eof:
                        raise subprocess.TimeoutExpired("ruby", self.timeout)
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    stuck = True
                break
            try:
                answer = json.loads(raw)
            except ValueError:
                continue  # not an answer (a template wrote to the protocol stream): skip it
            key = ids.get(answer.get("id")) if isinstance(answer, dict) else None
            if key is not None:
                done[key] = _result(answer)
        if stuck:
            self._discard()  # kill it: the writer thread may be blocked on its full stdin
        if writer is not None:
            writer.join(timeout=5)
        return done, stuck


def _result(answer: Mapping[str, Any]) -> RenderResult:
    if answer.get("ok"):
        output = answer.get("output")
        if output is None and "output_base64" in answer:
            import base64

            output = base64.b64decode(answer["output_base64"]).decode("utf-8", "surrogateescape")
        return RenderResult(True, output=output)
    return RenderResult(False, error=answer.get("error") or "Error", message=answer.get("message") or "")


_default: RubyRenderer | None = None


def default_renderer() -> RubyRenderer:
    """The renderer of this process: every check of a run goes through the same Ruby."""
    global _default
    if _default is None:
        _default = RubyRenderer()
        atexit.register(_default.close)
    return _default
