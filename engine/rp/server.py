"""http.server glue: feed each request to ``Api.handle`` or the page, write the answer.

The standard library's ThreadingHTTPServer is enough for an operator's API on loopback; no
dependency is added. Log lines carry method, path and status only: never a body or header.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ibs.engine.rp import page
from ibs.engine.rp.api import MAX_BODY, Api, Response

_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}


class RpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api,
                 log: Callable[[str], None] | None = None) -> None:
        self.api = api
        self.log_line = log or (lambda line: print(line, file=sys.stderr, flush=True))
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                  name="rp-server", daemon=True)
        thread.start()
        return thread

    def stop(self, wait_for_jobs: float = 30.0) -> None:
        self.shutdown()
        self.server_close()
        self.api.operations.join(wait_for_jobs)


class _Handler(BaseHTTPRequestHandler):
    server: RpServer
    protocol_version = "HTTP/1.1"
    server_version = "ibs-rp"
    sys_version = ""

    def _dispatch(self) -> None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self._send(Response(411, {"error": {"code": "LengthRequired",
                                                "message": "send the body with a Content-Length"}},
                                {"Connection": "close"}))
            self.close_connection = True
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._send(Response(413, {"error": {"code": "RequestTooLarge", "message":
                                                f"the body must be 0 to {MAX_BODY} bytes"}},
                                {"Connection": "close"}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        path = self.path.partition("?")[0]
        if self.command == "GET" and path in page.FILES:
            content_type, data = page.FILES[path]()
            response = Response(200, data, content_type=content_type)
            response.headers["Content-Security-Policy"] = page.CSP
        else:
            response = self.server.api.handle(self.command, self.path, dict(self.headers.items()), body)
        self._send(response)

    do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def _send(self, response: Response) -> None:
        payload = response.payload()
        self.send_response(response.status)
        if payload:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in {**_SECURITY_HEADERS, **response.headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass  # the default echoes the raw request line; log_request writes a safer one

    def log_request(self, code: object = "-", size: object = "-") -> None:
        path = self.path.partition("?")[0]
        self.server.log_line(f"ibs serve-rp: {self.command} {path} {code}")


def make_server(api: Api, host: str = "127.0.0.1", port: int = 0,
                log: Callable[[str], None] | None = None) -> RpServer:
    return RpServer((host, port), api, log)
