"""uvicorn glue: the provider's ASGI application on a socket, in a thread of its own.

One event loop serves every connection (an idle or half-sent one costs a little memory, not a
thread); the provider's blocking work runs in FastAPI's thread pool. A connection must send a
request head within ``HEAD_TIMEOUT`` seconds of opening or of its last answer, else it is
closed (uvicorn alone waits for a head forever); bodies are bounded by ``gate``. HTTPS when
given a certificate and key.
"""

from __future__ import annotations

import socket
import threading
import time

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from ibs.engine.rp.api import Api
from ibs.engine.rp.app import build

HEAD_TIMEOUT = 10.0
KEEP_ALIVE = 5
MAX_CONNECTIONS = 1000  # beyond this uvicorn answers 503 rather than queue without bound
MAX_HEAD = 64 * 1024  # bytes of request line and headers


def _timed(base: type) -> type:
    """uvicorn's HTTP protocol ``base`` with a deadline for each request head."""

    class Timed(base):
        head_timeout = HEAD_TIMEOUT

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def _arm(self) -> None:
            self._seen = self.cycle
            self._deadline = self.loop.call_later(self.head_timeout, self._expire)

        def _expire(self) -> None:
            if self.cycle is self._seen and not self.transport.is_closing():
                self.transport.close()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._seen:  # a whole head arrived: the request is on
                self._deadline.cancel()

        def on_response_complete(self) -> None:
            self._deadline.cancel()
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc) -> None:
            self._deadline.cancel()
            super().connection_lost(exc)

    return Timed


def _protocol() -> type:
    # httptools (uvicorn[standard]) parses in C; h11 is the pure-Python fallback.
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:
        return _timed(H11Protocol)
    return _timed(HttpToolsProtocol)


class RpServer:
    def __init__(self, api: Api, host: str, port: int, *, tls_cert: str | None = None,
                 tls_key: str | None = None, head_timeout: float = HEAD_TIMEOUT) -> None:
        self.api = api
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError:
            self.sock.close()
            raise
        self.sock.listen(512)
        self.scheme = "https" if tls_cert else "http"
        bound = self.sock.getsockname()
        shown = f"[{bound[0]}]" if family == socket.AF_INET6 else bound[0]
        self.url = f"{self.scheme}://{shown}:{bound[1]}"
        if not api.base_url:
            api.base_url = self.url  # unless one was configured (--base-url)
        protocol = type("TimedHttp", (_protocol(),), {"head_timeout": head_timeout})
        config = uvicorn.Config(build(api), http=protocol, lifespan="off", log_level="warning",
                                access_log=False, timeout_keep_alive=KEEP_ALIVE,
                                limit_concurrency=MAX_CONNECTIONS, server_header=False,
                                date_header=True, h11_max_incomplete_event_size=MAX_HEAD,
                                ssl_certfile=tls_cert, ssl_keyfile=tls_key,
                                timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self.sock]},
                                        name="rp-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the HTTP server did not start")
            time.sleep(0.01)
        return self._thread

    def stop(self, wait_for_jobs: float = 30.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(15)
        self.sock.close()
        self.api.operations.join(wait_for_jobs)


def make_server(api: Api, host: str = "127.0.0.1", port: int = 0, *,
                tls_cert: str | None = None, tls_key: str | None = None,
                head_timeout: float = HEAD_TIMEOUT) -> RpServer:
    """The server of ``api`` on ``host:port`` (0: a free port); it logs through ``api.log``."""
    return RpServer(api, host, port, tls_cert=tls_cert, tls_key=tls_key,
                    head_timeout=head_timeout)
