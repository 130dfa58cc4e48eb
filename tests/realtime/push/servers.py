"""Local stand-ins for push providers: real HTTP/1.1 and HTTP/2 servers on free loopback ports.

``HTTPReceiver`` (a threading ``http.server``) plays a Web Push service, an
FCM endpoint with its OAuth token endpoint, or a webhook consumer;
``H2Receiver`` (the ``h2`` library over plain TCP, HTTP/2 with prior
knowledge) plays APNs. Each records every request and answers through a
``handler`` the test supplies; ``replies`` queues canned answers that are
used first (e.g. ``[Reply(500), Reply(200)]``). Requests may be delayed to
keep a worker busy (``delay``). ``HTTPReceiver`` may listen on another
loopback address (``host="127.0.0.2"`` or ``"::1"``, ``port``) and speak
HTTPS (``tls``: a ``trustme`` certificate, e.g. for ``localhost``).
"""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import h2.config
import h2.connection
import h2.events

from tests.servers import free_port


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Received], Reply]


class _Recorder:
    """Shared bookkeeping: the requests seen, canned replies, the default handler, an optional delay."""

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        delay: float = 0.0,
        host: str = "127.0.0.1",
        port: int | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.handler: Handler = handler or (lambda request: Reply(200))
        self.replies: deque[Reply] = deque()
        self.delay = delay
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self.host = host
        self.port = port or free_port()
        self.tls = tls

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def answer(self, request: Received) -> Reply:
        with self._lock:
            self.received.append(request)
            canned = self.replies.popleft() if self.replies else None
        if self.delay:
            time.sleep(self.delay)
        return canned or self.handler(request)

    def count(self, key: Callable[[Received], Any]) -> Counter:
        with self._lock:
            return Counter(key(request) for request in self.received)

    def __enter__(self) -> _Recorder:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError


class _Server(ThreadingHTTPServer):
    request_queue_size = 512  # the default backlog of 5 drops a worker's concurrent connections


class _Server6(_Server):
    address_family = socket.AF_INET6


class HTTPReceiver(_Recorder):
    def start(self) -> HTTPReceiver:
        recorder = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {key.lower(): value for key, value in self.headers.items()}
                reply = recorder.answer(Received("POST", self.path, headers, body))
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = (_Server6 if ":" in self.host else _Server)((self.host, self.port), RequestHandler)
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class H2Receiver(_Recorder):
    """An HTTP/2-only server (h2c prior knowledge, as ``PUSH_APNS_ENDPOINT=http://...`` speaks it)."""

    def start(self) -> H2Receiver:
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.listener.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.running = False
        self.thread.join(timeout=5)
        self.listener.close()

    def _accept(self) -> None:
        while self.running:
            try:
                sock, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    def _serve(self, sock: socket.socket) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
        conn.initiate_connection()
        sock.sendall(conn.data_to_send())
        streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        sock.settimeout(0.5)
        with sock:
            while self.running:
                try:
                    data = sock.recv(65535)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not data:
                    return
                for event in conn.receive_data(data):
                    if isinstance(event, h2.events.RequestReceived):
                        streams[event.stream_id] = (dict(event.headers), bytearray())
                    elif isinstance(event, h2.events.DataReceived):
                        streams[event.stream_id][1].extend(event.data)
                        conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                    elif isinstance(event, h2.events.StreamEnded):
                        headers, body = streams.pop(event.stream_id)
                        request = Received(headers[":method"], headers[":path"], headers, bytes(body))
                        reply = self.answer(request)
                        response_headers = [(":status", str(reply.status)), *reply.headers.items()]
                        conn.send_headers(event.stream_id, response_headers, end_stream=not reply.body)
                        if reply.body:
                            conn.send_data(event.stream_id, reply.body, end_stream=True)
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        sock.sendall(conn.data_to_send())
                        return
                sock.sendall(conn.data_to_send())
