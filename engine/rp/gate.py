"""What every request passes before FastAPI sees it (a plain ASGI middleware).

In this order: the bearer token (every method, TRACE and OPTIONS too; only the page's files
and the OpenAPI document are public), the body (Content-Length required, bounded size, read
with a timeout), the route (404, 405 with Allow), the api-version, the one location, the
content type (415 unless JSON) and the JSON nesting depth (bounded before any parser recurses).
Then the request goes on with its path in the route table's spelling. Any exception still
escaping is answered 500 with an ARM error and logged by type only (a message may hold data).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from ibs.engine.rp import arm
from ibs.engine.rp.auth import TokenCheck
from ibs.engine.rp.routes import match

MAX_BODY = 8 * 1024 * 1024
MAX_DEPTH = 32  # the deepest real body (a BackupLocation) has 4 levels
BODY_TIMEOUT = 10.0  # seconds allowed between two parts of a body

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"cache-control", b"no-store"),
    (b"referrer-policy", b"no-referrer"),
]

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, strings skipped (a linear scan: no recursion,
    so 50,000 '[' cost a loop, not the stack)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _is_json(content_type: str) -> bool:
    kind = content_type.split(";")[0].strip().lower()
    return kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json"))


class Gate:
    def __init__(self, app: Callable[..., Awaitable[None]], token: TokenCheck,
                 public: frozenset[str], log: Callable[[str], None]) -> None:
        self.app = app
        self.token = token
        self.public = public
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        status = [0]

        async def send_secure(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), *SECURITY_HEADERS]}
            await send(message)

        try:
            scope, replay = await self._admit(scope, receive)
            await self.app(scope, replay, send_secure)
        except Refused as exc:
            if not status[0]:
                await _error(send_secure, exc.status, exc.code, str(exc), exc.headers)
        except Exception as exc:  # noqa: BLE001 (a bug: never a traceback to the client)
            self.log(f"ibs serve-rp: internal error {type(exc).__name__} on {method} {path}")
            if not status[0]:
                await _error(send_secure, 500, "InternalError",
                             f"internal error ({type(exc).__name__})", {})
        self.log(f"ibs serve-rp: {method} {path} {status[0]}")

    async def _admit(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        method, path = scope["method"], scope["path"]
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers[name.decode("latin-1").lower()] = value.decode("latin-1")
        if method == "GET" and path in self.public:
            return scope, receive
        # Without the token nothing is told, not even whether a path exists.
        if not self.token.accepts(headers.get("authorization")):
            raise Refused(401, "AuthenticationFailed",
                          "a valid 'Authorization: Bearer <token>' header is required",
                          {"WWW-Authenticate": 'Bearer realm="ibs"'})
        body = await _read_body(headers, receive)
        route, params, allowed = match(method, path)
        if path in self.public:
            allowed = ["GET"]
        if route is None:
            if allowed:
                raise Refused(405, "MethodNotAllowed",
                              f"{method} is not allowed here; use {', '.join(allowed)}",
                              {"Allow": ", ".join(allowed)})
            raise Refused(404, "NotFound", f"no resource at {path}")
        _check_version(route.method, route.versions, _query_value(scope, b"api-version"))
        if "location" in params:
            if params["location"].lower() != arm.LOCATION:
                raise Refused(404, "NotFound", f"no backup location {params['location']!r}; "
                              f"the one location is {arm.LOCATION!r}")
            params["location"] = arm.LOCATION
        if body.strip():
            if not _is_json(headers.get("content-type", "")):
                raise Refused(415, "UnsupportedMediaType",
                              "send the body as JSON with 'Content-Type: application/json'")
            if json_depth(body) > MAX_DEPTH:
                raise Refused(400, "InvalidRequestContent",
                              f"the request body is nested deeper than {MAX_DEPTH} levels")
        canonical = route.canonical(params)
        scope = {**scope, "path": canonical, "raw_path": canonical.encode("utf-8")}
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return scope, replay


async def _read_body(headers: dict[str, str], receive: Receive) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        raise Refused(411, "LengthRequired", "send the body with a Content-Length")
    try:
        length = int(headers.get("content-length") or 0)
    except ValueError:
        length = -1
    if length < 0 or length > MAX_BODY:
        raise Refused(413, "RequestTooLarge", f"the body must be 0 to {MAX_BODY} bytes")
    parts: list[bytes] = []
    size = 0
    more = length > 0
    while more:
        try:
            message = await asyncio.wait_for(receive(), BODY_TIMEOUT)
        except TimeoutError:
            raise Refused(408, "RequestTimeout",
                          f"the body did not arrive within {BODY_TIMEOUT:.0f} s") from None
        if message["type"] == "http.disconnect":
            raise Refused(400, "InvalidRequestContent", "the client went away mid-body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise Refused(413, "RequestTooLarge", f"the body must be 0 to {MAX_BODY} bytes")
        parts.append(chunk)
        more = message.get("more_body", False)
    return b"".join(parts)


def _query_value(scope: Scope, name: bytes) -> str | None:
    from urllib.parse import parse_qs

    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    found = values.get(name.decode())
    return found[-1] if found else None


def _check_version(method: str, versions: tuple[str, ...], version: str | None) -> None:
    if not version:
        raise Refused(400, "MissingApiVersionParameter",
                      "the api-version query parameter is required "
                      f"(supported: {', '.join(versions)})")
    if version not in versions:
        raise Refused(400, "InvalidApiVersionParameter",
                      f"api-version {version!r} is not supported for {method} here; "
                      f"use {', '.join(versions)}")


async def _error(send: Send, status: int, code: str, message: str,
                 headers: dict[str, str]) -> None:
    payload = json.dumps(arm.error_body(code, message)).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})
