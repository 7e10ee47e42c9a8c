"""The provider as an ASGI application: FastAPI endpoints over ``api.Api``, behind ``gate``.

Request bodies are the pydantic models of ``models`` (validation and the OpenAPI document from
one declaration); answers are built by the provider and sent as they are, their schemas
documented from the same models (tests and schemathesis hold answers to them). ``call`` runs
one request through the whole stack without a socket.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Body, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ibs.engine.errors import IbsError
from ibs.engine.rp import arm, models, page
from ibs.engine.rp.api import Accepted, Api, ApiError
from ibs.engine.rp.gate import Gate
from ibs.engine.rp.routes import ROUTES, Route

AnyVersion = Annotated[Literal["2018-09-01", "2021-09-01"], Query(alias="api-version")]
PatchVersion = Annotated[Literal["2021-09-01"], Query(alias="api-version")]
Top = Annotated[int | None, Query(alias="$top", ge=0, description="OData $top: at most this many")]
Skip = Annotated[int | None, Query(alias="$skip", ge=0, description="OData $skip: skip this many")]
OPENAPI = "/openapi.json"

_ERRORS = {400: "bad input (the engine's message)", 401: "no valid bearer token",
           404: "unknown location, backup or operation", 405: "method not allowed",
           409: "the one job slot is taken, or maintenance is running",
           413: "body too large", 415: "body not JSON",
           503: "the share failed (code: the alert category)"}
_POLL_HEADERS = {h: {"schema": {"type": "string"}, "description": d} for h, d in (
    ("Azure-AsyncOperation", "poll for the status (InProgress, Succeeded, Failed)"),
    ("Location", "poll for the answer: 202 while running, then the final status and body"),
    ("Retry-After", "seconds to wait before polling"))}


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(body, status_code=status, headers=headers)


def _describe(error: dict[str, Any]) -> str:
    where = ".".join(str(p) for p in error["loc"] if p != "body") or "the body"
    kind = error["type"]
    expected = {"int_type": "an integer", "int_parsing": "an integer", "bool_type": "true or false",
                "bool_parsing": "true or false", "string_type": "a string",
                "model_type": "an object", "model_attributes_type": "an object",
                "dict_type": "an object"}.get(kind)
    if expected:
        return f"{where} must be {expected}, got {json.dumps(error.get('input'), default=str)[:60]}"
    return f"{where}: {error['msg']}"


def build(api: Api) -> Any:
    """The ASGI application of one provider: the gate, then FastAPI."""
    app = FastAPI(title="Backup Resource Provider (Microsoft.Backup.Admin), ibs",
                  version=arm.API_VERSIONS[0], docs_url=None, redoc_url=None,
                  openapi_url=OPENAPI,
                  description="Azure Stack Hub's Infrastructure Backup admin API as the ibs "
                              "engine serves it. Fields and routes marked x-ibs-extension are "
                              "this project's additions. Long-running operations answer 202 "
                              "with Azure-AsyncOperation and Location headers.")

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _json(exc.status, arm.error_body(exc.code, str(exc)), exc.headers)

    @app.exception_handler(IbsError)
    async def engine_error(request: Request, exc: IbsError) -> Response:
        status, code = api.status_of(exc)
        return _json(status, arm.error_body(code, str(exc)))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "type": "", "msg": "invalid"}
        whole_body = [p for p in first["loc"] if p != "body"] == []
        if first["type"] == "json_invalid":
            return _json(400, arm.error_body("InvalidRequestContent",
                                             "the request body is not valid JSON"))
        if whole_body and first["loc"][:1] == ("body",):
            return _json(400, arm.error_body("InvalidRequestContent",
                                             "the request body must be a JSON object"))
        return _json(400, arm.error_body("BadRequest", _describe(jsonable_encoder(first))))

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> Response:
        # A bug: an ARM error naming the exception's type only (its message may hold data);
        # the gate logs it.
        return _json(500, arm.error_body("InternalError", f"internal error ({type(exc).__name__})"))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "BadRequest")
        return _json(exc.status_code, arm.error_body(code, str(exc.detail)))

    def accepted(base: str, version: str, result: Accepted) -> Response:
        return _json(202, result.body, api.poll_urls(base, result.operation, version))

    def base_of(subscriptionId: str, resourceGroupName: str) -> str:
        return arm.base_path(subscriptionId, resourceGroupName)

    endpoints: dict[str, Any] = {}

    def endpoint(fn):
        endpoints[fn.__name__] = fn
        return fn

    @endpoint
    def list_operations(subscriptionId: str, resourceGroupName: str,
                        api_version: AnyVersion) -> Response:
        return _json(200, api.list_operations())

    @endpoint
    def list_operations_tenant(api_version: AnyVersion) -> Response:
        return _json(200, api.list_operations())

    @endpoint
    def list_locations(subscriptionId: str, resourceGroupName: str, api_version: AnyVersion,
                       top: Top = None, skip: Skip = None) -> Response:
        return _json(200, api.list_locations(base_of(subscriptionId, resourceGroupName),
                                             top, skip or 0))

    @endpoint
    def get_location(subscriptionId: str, resourceGroupName: str, location: str,
                     api_version: AnyVersion) -> Response:
        return _json(200, api.location(base_of(subscriptionId, resourceGroupName)))

    @endpoint
    def put_location(subscriptionId: str, resourceGroupName: str, location: str,
                     api_version: AnyVersion,
                     backup: Annotated[models.BackupLocation | None, Body()] = None) -> Response:
        base = base_of(subscriptionId, resourceGroupName)
        store = backup.properties.externalStoreDefault if backup and backup.properties else None
        return accepted(base, api_version, api.configure(base, store, replace=True))

    @endpoint
    def patch_location(subscriptionId: str, resourceGroupName: str, location: str,
                       api_version: PatchVersion,
                       backup: Annotated[models.BackupLocation | None, Body()] = None) -> Response:
        base = base_of(subscriptionId, resourceGroupName)
        store = backup.properties.externalStoreDefault if backup and backup.properties else None
        return accepted(base, api_version, api.configure(base, store, replace=False))

    @endpoint
    def create_backup(subscriptionId: str, resourceGroupName: str, location: str,
                      api_version: AnyVersion) -> Response:
        base = base_of(subscriptionId, resourceGroupName)
        return accepted(base, api_version, api.create_backup(base))

    @endpoint
    def prune(subscriptionId: str, resourceGroupName: str, location: str,
              api_version: AnyVersion,
              option: Annotated[models.PruneOption | None, Body()] = None) -> Response:
        kind = (option.operationType if option else None) or "Default"
        return _json(200, api.prune(kind))

    # The two reads an operator's tools poll run on the event loop, not in a worker thread:
    # they read the store's small local files only (the job history, kept loaded), and the
    # hand-off to a thread cost more than the work (ibs bench rp).
    @endpoint
    async def list_backups(subscriptionId: str, resourceGroupName: str, location: str,
                     api_version: AnyVersion, top: Top = None, skip: Skip = None) -> Response:
        return _json(200, api.list_backups(base_of(subscriptionId, resourceGroupName),
                                           top, skip or 0))

    @endpoint
    async def get_backup(subscriptionId: str, resourceGroupName: str, location: str, backup: str,
                   api_version: AnyVersion) -> Response:
        return _json(200, api.get_backup(base_of(subscriptionId, resourceGroupName), backup))

    @endpoint
    def restore(subscriptionId: str, resourceGroupName: str, location: str, backup: str,
                api_version: AnyVersion,
                restoreOptions: Annotated[models.RestoreOptions | None, Body()] = None) -> Response:
        base = base_of(subscriptionId, resourceGroupName)
        return accepted(base, api_version, api.restore(base, backup, restoreOptions))

    @endpoint
    def operation_status(subscriptionId: str, resourceGroupName: str, location: str,
                         operationId: str, api_version: AnyVersion) -> Response:
        op = api.operation(operationId)
        rid = (f"{base_of(subscriptionId, resourceGroupName)}/backupLocations/{arm.LOCATION}"
               f"/operationStatuses/{op.id}")
        return _json(200, op.status_json(rid))

    @endpoint
    def operation_result(subscriptionId: str, resourceGroupName: str, location: str,
                         operationId: str, api_version: AnyVersion) -> Response:
        op = api.operation(operationId)
        if op.outcome is None:
            base = base_of(subscriptionId, resourceGroupName)
            urls = api.poll_urls(base, op, api_version)
            return _json(202, None, {"Location": urls["Location"], "Retry-After": "1"})
        return _json(op.outcome.status, op.outcome.body)

    @endpoint
    def list_alerts(subscriptionId: str, resourceGroupName: str, location: str,
                    api_version: AnyVersion,
                    all: Annotated[bool, Query(description="cleared ones too")] = False) -> Response:
        return _json(200, api.list_alerts(all))

    for route in ROUTES:
        _register(app, route, endpoints[route.handler])

    for path, make in page.FILES.items():
        app.add_api_route(path, _page_file(make), methods=["GET"], include_in_schema=False)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version, description=app.description,
                              routes=app.routes)
            # FastAPI documents a 422 for validation errors; this provider answers them 400.
            for ops in doc["paths"].values():
                for op in ops.values():
                    op.get("responses", {}).pop("422", None)
            for name in ("HTTPValidationError", "ValidationError"):
                doc.get("components", {}).get("schemas", {}).pop(name, None)
            doc.setdefault("components", {})["securitySchemes"] = {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "IBS_RP_TOKEN, or the token serve-rp printed on its first start"}}
            doc["security"] = [{"bearer": []}]
            doc["paths"][OPENAPI] = {"get": {"summary": "This document", "security": [],
                                             "operationId": "openapi", "x-ibs-extension": True,
                                             "responses": {"200": {"description": "OK"}}}}
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    public = frozenset([*page.FILES, OPENAPI])
    return Gate(app, api.token, public, api.log)


_SCHEMAS = {
    "list_operations": models.OperationList, "list_operations_tenant": models.OperationList,
    "list_locations": models.BackupLocationList, "get_location": models.BackupLocation,
    "put_location": models.BackupLocation, "patch_location": models.BackupLocation,
    "create_backup": models.Backup, "prune": models.PruneList, "list_backups": models.BackupList,
    "get_backup": models.Backup, "restore": models.RestoreResult,
    "operation_status": models.OperationStatus, "list_alerts": models.AlertList,
}


def _register(app: FastAPI, route: Route, fn: Any) -> None:
    schema = _SCHEMAS.get(route.handler)
    responses: dict[int | str, Any] = {
        code: {"model": models.ErrorResponse, "description": text} for code, text in _ERRORS.items()}
    responses[200] = {"model": schema, "description": "OK"} if schema else {"description": "OK"}
    extra: dict[str, Any] = {}
    if route.long_running:
        extra["x-ms-long-running-operation"] = True
        extra["x-ms-long-running-operation-options"] = {"final-state-via": "location"}
        accepted: dict[str, Any] = {"description": "accepted: poll Azure-AsyncOperation or "
                                    "Location", "headers": _POLL_HEADERS}
        if route.handler != "restore":  # the specification's restore 202 has no body
            accepted["model"] = schema
        responses[202] = accepted
    if route.handler == "operation_result":
        responses[202] = {"description": "still running", "headers": {
            h: _POLL_HEADERS[h] for h in ("Location", "Retry-After")}}
        responses[200] = {"description": "the operation's answer (its own status code and "
                                         "body: a resource, or an error)",
                          "content": {"application/json": {"schema": {}}}}
    if route.extension:
        extra["x-ibs-extension"] = True
    app.add_api_route(route.template, fn, methods=[route.method], operation_id=route.handler,
                      summary=route.summary, responses=responses, response_model=None,
                      openapi_extra=extra or None)


def _page_file(make):
    def serve() -> Response:
        content_type, data = make()
        return Response(data, headers={"Content-Security-Policy": page.CSP,
                                 "Content-Type": content_type})

    return serve


@dataclass
class Answer:
    """One request's answer, from :func:`call` (no socket involved)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes = b""

    @property
    def body(self) -> Any:
        return json.loads(self.content) if self.content else None


async def call(app: Any, method: str, target: str, headers: dict[str, str],
               body: bytes = b"") -> Answer:
    path, _, query = target.partition("?")
    from urllib.parse import unquote

    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    if body and "content-length" not in {k.lower() for k in headers}:
        raw.append((b"content-length", str(len(body)).encode()))
    if body and "content-type" not in {k.lower() for k in headers}:
        raw.append((b"content-type", b"application/json"))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": unquote(path), "raw_path": path.encode(), "root_path": "",
             "query_string": query.encode(), "headers": raw, "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 1)}
    answer = Answer(0)
    chunks: list[bytes] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                              for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    answer.content = b"".join(chunks)
    return answer


_BUILT: weakref.WeakKeyDictionary[Api, Any] = weakref.WeakKeyDictionary()


def handle(api: Api, method: str, target: str, headers: dict[str, str], body: bytes = b""):
    """One request through the whole HTTP stack (gate, FastAPI) to ``api``, without a socket;
    the app is built once per provider."""
    app = _BUILT.get(api)
    if app is None:
        app = _BUILT[api] = build(api)
    return asyncio.run(call(app, method, target, headers, body))
