"""A real HTTP receiver on 127.0.0.1 for webhook tests: records every request, answers as scripted."""

import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status, headers, and how long to wait before answering."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    answered_at: float


class Receiver:
    """Answers each path with its script of replies, in order; the last reply of a script repeats."""

    def __init__(self) -> None:
        self._scripts: dict[str, list[Reply]] = defaultdict(lambda: [Reply()])
        self._served: dict[str, int] = defaultdict(int)
        self._received: list[Received] = []
        self._arrivals: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.monotonic()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver._arrivals.append(self.headers.get("webhook-id", ""))
                reply = receiver._next_reply(self.path)
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                    self.wfile.flush()
                except OSError:  # the client gave up waiting: this request was never answered
                    return
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    receiver._received.append(Received(self.path, headers, body, arrived, time.monotonic()))

            def log_message(self, *_: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def url(self, path: str = "/hook") -> str:
        """The URL of one of its paths."""
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        """Answer `path` with these replies in turn, the last one from then on."""
        with self._lock:
            self._scripts[path] = list(replies)
            self._served[path] = 0

    def _next_reply(self, path: str) -> Reply:
        with self._lock:
            script = self._scripts[path]
            reply = script[min(self._served[path], len(script) - 1)]
            self._served[path] += 1
            return reply

    def received(self, path: str | None = None) -> list[Received]:
        """Requests answered so far (to `path` only, if given), in the order they were answered."""
        with self._lock:
            return [item for item in self._received if path is None or item.path == path]

    def arrivals(self) -> list[str]:
        """The webhook-id of every request that arrived, answered or not, in arrival order."""
        with self._lock:
            return list(self._arrivals)

    def wait_for(self, count: int, path: str | None = None, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` requests were answered; return them."""
        deadline = time.monotonic() + timeout
        while len(self.received(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received(path))} of {count} requests arrived in {timeout} s")
            time.sleep(0.02)
        return self.received(path)

    def start(self) -> None:
        """Start serving."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver serving for the duration of the block."""
    receiver = Receiver()
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
