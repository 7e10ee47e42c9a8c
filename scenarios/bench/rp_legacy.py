"""The Backup RP's former HTTP stack, kept only as the baseline of ``ibs bench rp``.

Until issue 14 the provider was served by the standard library's ``ThreadingHTTPServer`` (one
thread per connection) with a hand-written dispatcher. This is that stack for the one request
the benchmark sends (GET backups), doing the work it did per request: parse the query, match
the route table, check the token and api-version, build the list, ``json.dumps(indent=2)``.
Run as ``python -m ibs.scenarios.bench.rp_legacy STORE``; prints ``listening on <url>``.
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from ibs.engine.rp.api import Api
from ibs.engine.rp.auth import TokenCheck, digest
from ibs.engine.rp.routes import match


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api: Api

    def do_GET(self) -> None:
        path, _, qs = self.path.partition("?")
        query = {k: v[-1] for k, v in parse_qs(qs, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in self.headers.items()}
        route, params, _ = match("GET", path)
        if not self.api.token.accepts(headers.get("authorization")):
            status, body = 401, {"error": {"code": "AuthenticationFailed", "message": "token"}}
        elif route is None or route.handler != "list_backups":
            status, body = 404, {"error": {"code": "NotFound", "message": path}}
        elif query.get("api-version") not in route.versions:
            status, body = 400, {"error": {"code": "InvalidApiVersionParameter", "message": ""}}
        else:
            base = (f"/subscriptions/{params['subscriptionId']}/resourceGroups/"
                    f"{params['resourceGroupName']}/providers/Microsoft.Backup.Admin")
            status, body = 200, self.api.list_backups(base)
        payload = json.dumps(body, indent=2).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main(store: str) -> None:
    api = Api(store, TokenCheck(digest(os.environ["IBS_RP_TOKEN"])))
    handler = type("Handler", (_Handler,), {"api": api})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
