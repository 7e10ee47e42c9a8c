"""The route table and its handlers: (method, path, query, headers, body) -> Response.

No sockets here (``server`` feeds it), so tests and the OpenAPI generator read the same table
the server dispatches on. Every handler calls the controller exactly as the CLI does; engine
errors become ARM errors: ``BadInput`` 400, unknown backup 404, ``JobSlotTaken`` and
``MaintenanceInProgress`` 409, a share fault 503 (code = the alert category).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from ibs.engine.certs import load_pfx
from ibs.engine.units import human_bytes
from ibs.engine.clock import Clock, SystemClock
from ibs.engine.controller import Controller
from ibs.engine.job import Job
from ibs.engine.errors import (
    BadInput,
    CertificateError,
    IbsError,
    JobSlotTaken,
    MaintenanceInProgress,
    ShareError,
)
from ibs.engine.settings import parse_source
from ibs.engine.store import Store
from ibs.engine.rp import arm
from ibs.engine.rp.auth import TokenCheck
from ibs.engine.rp.operations import Operation, Operations, Outcome

MAX_BODY = 8 * 1024 * 1024
CAPACITY_TTL = 15.0  # seconds a share's free space is reused before it is asked again
BASE = ("/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
        f"/providers/{arm.NAMESPACE}")
ALL_VERSIONS = arm.API_VERSIONS
PATCH_ONLY = (arm.PATCH_API_VERSION,)


@dataclass
class Response:
    status: int
    body: Any = None  # JSON value, or bytes with content_type set
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        return json.dumps(self.body, indent=2).encode("utf-8")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.headers = status, code, headers or {}


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # relative to BASE ("" for the document itself, absolute when starting "/")
    handler: str
    summary: str
    versions: tuple[str, ...] = ALL_VERSIONS
    long_running: bool = False
    request: str | None = None  # schema name in the OpenAPI document
    response: str | None = None
    status: int = 200
    extension: bool = False  # not in the real service's specification
    auth: bool = True

    @property
    def template(self) -> str:
        return self.path if self.path.startswith("/") else f"{BASE}/{self.path}"

    @property
    def regex(self) -> re.Pattern[str]:
        parts = re.split(r"(\{\w+\})", self.template)
        pattern = "".join(f"(?P<{p[1:-1]}>[^/]+)" if p.startswith("{") else re.escape(p)
                          for p in parts)
        return re.compile(f"^{pattern}$", re.IGNORECASE)  # ARM paths are case-insensitive


LOC = "backupLocations/{location}"
ROUTES: tuple[Route, ...] = (
    Route("GET", "operations", "list_operations", "List the provider's operations",
          response="OperationList"),
    Route("GET", f"/providers/{arm.NAMESPACE}/operations", "list_operations",
          "List the provider's operations (ARM's tenant-level path)", response="OperationList"),
    Route("GET", "backupLocations", "list_locations", "List backup locations (there is one: local)",
          response="BackupLocationList"),
    Route("GET", LOC, "get_location", "Get the backup location", response="BackupLocation"),
    Route("PUT", LOC, "put_location", "Set the backup location (absent settings get defaults)",
          long_running=True, request="BackupLocation", response="BackupLocation"),
    Route("PATCH", LOC, "patch_location", "Change only the given settings (api-version 2021-09-01)",
          versions=PATCH_ONLY, long_running=True, request="BackupLocation",
          response="BackupLocation"),
    Route("POST", f"{LOC}/createBackup", "create_backup", "Start an on-demand backup",
          long_running=True, response="Backup"),
    Route("POST", f"{LOC}/pruneExternalStore", "prune", "Delete or list backups past retention",
          request="PruneRequest", response="PruneResult"),
    Route("GET", f"{LOC}/backups", "list_backups", "List backups", response="BackupList"),
    Route("GET", f"{LOC}/backups/{{backup}}", "get_backup", "Get one backup", response="Backup"),
    Route("POST", f"{LOC}/backups/{{backup}}/restore", "restore", "Restore roles of a backup",
          long_running=True, request="RestoreRequest", response="RestoreResult"),
    Route("GET", f"{LOC}/operationStatuses/{{operationId}}", "operation_status",
          "Status of a long-running operation (Azure-AsyncOperation)",
          response="OperationStatus"),
    Route("GET", f"{LOC}/operationResults/{{operationId}}", "operation_result",
          "Result of a long-running operation (Location): 202 while running, then its answer"),
    Route("GET", f"{LOC}/alerts", "list_alerts", "Active alerts with their remediation",
          response="AlertList", extension=True),
    Route("GET", "/openapi.json", "openapi", "This document", versions=(), auth=False,
          extension=True),
)


@dataclass
class Request:
    method: str
    params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    route: Route

    @property
    def base(self) -> str:
        return arm.base_path(self.params["subscriptionId"], self.params["resourceGroupName"])

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except ValueError:
            raise ApiError(400, "InvalidRequestContent", "the request body is not valid JSON") from None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ApiError(400, "InvalidRequestContent", "the request body must be a JSON object")
        return value


def _obj(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BadInput(f"{name} must be an object")
    return value


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise BadInput(f"{name} must be a string, got {value!r}")
    return value


class Api:
    """One provider over one store. Thread-safe: each request gets its own Controller, so the
    job slot (a flock per open file) keeps two jobs apart here just as between processes."""

    def __init__(self, store_dir: str, token: TokenCheck, *, restore_root: str | None = None,
                 clock: Clock | None = None,
                 controller_factory: Callable[[Store, Clock], Controller] | None = None,
                 log: Callable[[str], None] = lambda line: None) -> None:
        self.store = Store(store_dir)
        self.token = token
        self.clock = clock or SystemClock()
        self.restore_root = os.path.abspath(restore_root or self.store.path("restores"))
        self._make_controller = controller_factory or (lambda store, clock: Controller(store, clock))
        self.log = log
        self.operations = Operations(self.clock, self._crash_outcome)
        self._jobs: dict[str, Job] = {}  # backups running in this process, for their progress
        self._lock = threading.Lock()
        self._capacity: tuple[tuple[Any, ...], float, str | None] | None = None

    def controller(self) -> Controller:
        return self._make_controller(self.store, self.clock)

    # --- dispatch ------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        path, _, qs = target.partition("?")
        query = {k: v[-1] for k, v in parse_qs(qs, keep_blank_values=True).items()}
        headers = {k.lower(): v for k, v in headers.items()}
        try:
            route, params, allowed = self._match(method, path)
            # Without the token nothing is told, not even whether a path exists.
            if (route is None or route.auth) and not self.token.accepts(headers.get("authorization")):
                raise ApiError(401, "AuthenticationFailed",
                               "a valid 'Authorization: Bearer <token>' header is required",
                               {"WWW-Authenticate": 'Bearer realm="ibs"'})
            if route is None:
                if allowed:
                    raise ApiError(405, "MethodNotAllowed",
                                   f"{method} is not allowed here; use {', '.join(allowed)}",
                                   {"Allow": ", ".join(allowed)})
                raise ApiError(404, "NotFound", f"no resource at {path}")
            if route.versions:
                self._check_version(route, query.get("api-version"))
            if "location" in params and params["location"].lower() != arm.LOCATION:
                raise ApiError(404, "NotFound", f"no backup location {params['location']!r}; "
                               f"the one location is {arm.LOCATION!r}")
            if len(body) > MAX_BODY:
                raise ApiError(413, "RequestTooLarge", f"the body is over {MAX_BODY} bytes")
            request = Request(method, params, query, headers, body, route)
            return getattr(self, route.handler)(request)
        except ApiError as exc:
            return Response(exc.status, arm.error_body(exc.code, str(exc)), exc.headers)
        except IbsError as exc:
            status, code = self.status_of(exc)
            return Response(status, arm.error_body(code, str(exc)))
        except Exception as exc:  # a bug: answer 500, log only its type (a message may hold data)
            self.log(f"ibs serve-rp: internal error {type(exc).__name__} on {method} {path}")
            return Response(500, arm.error_body("InternalError",
                                                f"internal error ({type(exc).__name__})"))

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        allowed = []
        for route in ROUTES:
            m = route.regex.match(path)
            if m:
                if route.method == method:
                    return route, m.groupdict(), []
                allowed.append(route.method)
        return None, {}, sorted(set(allowed))

    @staticmethod
    def _check_version(route: Route, version: str | None) -> None:
        if not version:
            raise ApiError(400, "MissingApiVersionParameter",
                           "the api-version query parameter is required "
                           f"(supported: {', '.join(route.versions)})")
        if version not in route.versions:
            raise ApiError(400, "InvalidApiVersionParameter",
                           f"api-version {version!r} is not supported for {route.method} here; "
                           f"use {', '.join(route.versions)}")

    @staticmethod
    def status_of(exc: IbsError) -> tuple[int, str]:
        if isinstance(exc, CertificateError):
            return 400, "InvalidCertificate"
        if isinstance(exc, BadInput):
            return 400, "BadRequest"
        if isinstance(exc, JobSlotTaken):
            return 409, "JobSlotTaken"
        if isinstance(exc, MaintenanceInProgress):
            return 409, "MaintenanceInProgress"
        if isinstance(exc, ShareError):
            return 503, exc.category.value
        return 500, type(exc).__name__

    def _crash_outcome(self, exc: Exception) -> Outcome:
        if isinstance(exc, IbsError):
            status, code = self.status_of(exc)
            message = str(exc)
        else:
            status, code, message = 500, "InternalError", f"internal error: {type(exc).__name__}"
            self.log(f"ibs serve-rp: {message} in a long-running operation")
        error = {"code": code, "message": message}
        return Outcome(status, {"error": error}, error)

    def _accepted(self, request: Request, op: Operation) -> Response:
        version = request.query.get("api-version", arm.API_VERSIONS[0])
        host = request.headers.get("host", "127.0.0.1")
        prefix = f"http://{host}{request.base}/backupLocations/{arm.LOCATION}"
        return Response(202, None, {
            "Azure-AsyncOperation": f"{prefix}/operationStatuses/{op.id}?api-version={version}",
            "Location": f"{prefix}/operationResults/{op.id}?api-version={version}",
            "Retry-After": "1",
        })

    # --- handlers ------------------------------------------------------------------------

    def openapi(self, request: Request) -> Response:
        from ibs.engine.rp.openapi import document

        return Response(200, document())

    def list_operations(self, request: Request) -> Response:
        return Response(200, arm.operations_list())

    def _location(self, ctl: Controller, base: str) -> dict[str, Any]:
        return arm.location_resource(ctl, base, self.capacity(ctl))

    def capacity(self, ctl: Controller) -> str | None:
        """The share's free space ("29.6 TB"), or None when it cannot be reached now."""
        s = ctl.settings
        if s.path is None:
            return None
        key = (s.path, s.username, s.smb_port)
        now = time.monotonic()
        cached = self._capacity
        if cached is not None and cached[0] == key and now - cached[1] < CAPACITY_TTL:
            return cached[2]
        try:
            with ctl.share() as share:
                value: str | None = human_bytes(share.free_space())
        except (IbsError, OSError):
            value = None
        self._capacity = (key, now, value)
        return value

    def list_locations(self, request: Request) -> Response:
        return Response(200, {"value": [self._location(self.controller(), request.base)]})

    def get_location(self, request: Request) -> Response:
        return Response(200, self._location(self.controller(), request.base))

    def put_location(self, request: Request) -> Response:
        return self._configure(request, replace=True)

    def patch_location(self, request: Request) -> Response:
        return self._configure(request, replace=False)

    def _configure(self, request: Request, *, replace: bool) -> Response:
        body = request.json()
        props = _obj(body.get("properties"), "properties")
        changes = settings_changes(_obj(props.get("externalStoreDefault"),
                                        "properties.externalStoreDefault"), replace=replace)
        ctl = self.controller()
        result = ctl.configure(**changes)  # validation errors answer 400 right away
        self._capacity = None
        for warning in result.warnings:
            self.log(f"ibs serve-rp: warning: {warning}")
        resource = self._location(ctl, request.base)
        if result.pruned:
            resource["properties"]["prunedPaths"] = result.pruned
        op = self.operations.done("UpdateBackupLocation", Outcome(200, resource))
        return self._accepted(request, op)

    def create_backup(self, request: Request) -> Response:
        ctl = self.controller()
        job = ctl.start_backup("OnDemand")  # 400 / 409 right away; the slot is now held
        backup_id = job.record.id
        with self._lock:
            self._jobs[backup_id] = job
        base = request.base

        def work() -> Outcome:
            try:
                record = job.run()
            finally:
                with self._lock:
                    self._jobs.pop(backup_id, None)
                self._capacity = None
            self.log(f"ibs serve-rp: backup {record.id} {record.status}"
                     + (f": {record.error['message']}" if record.error else ""))
            error = None
            if record.status not in ("Succeeded", "PartialSucceeded"):
                err = record.error or {"category": "GeneralFault", "message": record.status}
                error = {"code": err["category"], "message": err["message"]}
            return Outcome(200, arm.backup_resource(record, base), error)

        op = self.operations.start("CreateBackup", work)
        return self._accepted(request, op)

    def prune(self, request: Request) -> Response:
        kind = request.json().get("operationType", "Default")
        if kind not in ("Default", "DryRun"):
            raise BadInput(f"operationType must be Default or DryRun, got {kind!r}")
        paths = self.controller().prune(dry_run=kind == "DryRun")
        return Response(200, {"pathsToDelete": paths})

    def progress(self, backup_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(backup_id)
        p = job.progress if job is not None else None
        if p is not None:
            role, done, total = p.role, p.done_bytes, p.total_bytes
        else:
            # A job another process runs (the CLI, the daemon) saves its progress as it goes.
            record = self.controller().history.get(backup_id)
            if record is None or not record.progress:
                return None
            role, done, total = (record.progress["role"], record.progress["doneBytes"],
                                 record.progress["totalBytes"])
        percent = min(99.0, 100.0 * done / total) if total else None
        return {"role": role, "doneBytes": done, "totalBytes": total,
                "percent": None if percent is None else round(percent, 1)}

    def list_backups(self, request: Request) -> Response:
        records = self.controller().backups()
        return Response(200, {"value": [arm.backup_resource(r, request.base, self.progress(r.id))
                                        for r in reversed(records)]})

    def _record(self, ctl: Controller, name: str):
        try:
            return ctl.backup(name)
        except BadInput as exc:
            raise ApiError(404, "NotFound", str(exc)) from None

    def get_backup(self, request: Request) -> Response:
        record = self._record(self.controller(), request.params["backup"])
        return Response(200, arm.backup_resource(record, request.base, self.progress(record.id)))

    def restore(self, request: Request) -> Response:
        ctl = self.controller()
        record = self._record(ctl, request.params["backup"])
        body = request.json()
        role = body.get("roleName") or None
        if role is not None:
            role = _str(role, "roleName")
        pfx_b64 = body.get("decryptionCertBase64")
        if not pfx_b64:
            raise BadInput("decryptionCertBase64 is required: the .pfx that decrypts this backup")
        try:
            pfx = base64.b64decode(_str(pfx_b64, "decryptionCertBase64"), validate=True)
        except binascii.Error:
            raise BadInput("decryptionCertBase64 is not valid base64") from None
        password = body.get("decryptionCertPassword")
        if password is not None:
            password = _str(password, "decryptionCertPassword")
        key = load_pfx(pfx, password, "decryptionCertBase64")  # in memory only
        del pfx, password, body
        target = self._restore_target(record.id)
        base = request.base

        def work() -> Outcome:
            try:
                restored = ctl.restore(record.id, key, target, role)
            except BaseException:
                try:
                    os.rmdir(target)  # leave no empty folder behind a refused restore
                except OSError:
                    pass
                raise
            self.log(f"ibs serve-rp: restored backup {record.id} into {target}")
            return Outcome(200, {"id": f"{base}/backupLocations/{arm.LOCATION}/backups/{record.id}",
                                 "backupId": record.id, "roleName": role or "",
                                 "target": target, "restored": restored})

        op = self.operations.start("RestoreBackup", work)
        return self._accepted(request, op)

    def _restore_target(self, backup_id: str) -> str:
        os.makedirs(self.restore_root, mode=0o700, exist_ok=True)
        n = 1
        while True:
            target = os.path.join(self.restore_root, f"{backup_id}-{n}")
            try:
                os.mkdir(target, 0o700)  # reserves the number, even against a parallel restore
                return target
            except FileExistsError:
                n += 1

    def _operation(self, request: Request) -> Operation:
        op = self.operations.get(request.params["operationId"])
        if op is None:
            raise ApiError(404, "NotFound", f"no operation {request.params['operationId']!r} "
                           "(operations are kept in memory until the provider restarts)")
        return op

    def operation_status(self, request: Request) -> Response:
        op = self._operation(request)
        rid = f"{request.base}/backupLocations/{arm.LOCATION}/operationStatuses/{op.id}"
        return Response(200, op.status_json(rid))

    def operation_result(self, request: Request) -> Response:
        op = self._operation(request)
        if op.outcome is None:
            return Response(202, None, {"Location": f"http://{request.headers.get('host', '')}"
                                        f"{request.base}/backupLocations/{arm.LOCATION}"
                                        f"/operationResults/{op.id}"
                                        f"?api-version={request.query['api-version']}",
                                        "Retry-After": "1"})
        return Response(op.outcome.status, op.outcome.body)

    def list_alerts(self, request: Request) -> Response:
        book = self.controller().alert_book()
        alerts = book.alerts if request.query.get("all") == "true" else book.active()
        return Response(200, {"value": [a.to_json() for a in alerts]})


def settings_changes(esd: dict[str, Any], *, replace: bool) -> dict[str, Any]:
    """``externalStoreDefault`` -> keyword arguments of ``Controller.configure``.

    Read-only fields and nulls are ignored (so a GET, edited, can be PUT back: the write-only
    password reads back null and stays as it is). With ``replace`` (PUT) an absent frequency,
    retention or scheduler switch gets its default; path, credentials, certificate and
    sources are kept when absent, as the engine cannot unset them.
    """
    from ibs.engine.settings import DEFAULT_FREQUENCY_HOURS, DEFAULT_RETENTION_DAYS

    out: dict[str, Any] = {}
    if esd.get("path") is not None:
        out["path"] = _str(esd["path"], "path")
    if esd.get("userName") is not None:
        out["username"] = _str(esd["userName"], "userName")
    if esd.get("password") is not None:
        out["password"] = _str(esd["password"], "password")
    if esd.get("encryptionCertBase64") is not None:
        try:
            out["cert"] = base64.b64decode(_str(esd["encryptionCertBase64"], "encryptionCertBase64"),
                                           validate=True)
        except binascii.Error:
            raise BadInput("encryptionCertBase64 is not valid base64 (give the .cer's bytes, "
                           "base64-encoded)") from None
    for field_name, kwarg, default in (
            ("backupFrequencyInHours", "frequency_hours", DEFAULT_FREQUENCY_HOURS),
            ("backupRetentionPeriodInDays", "retention_days", DEFAULT_RETENTION_DAYS),
            ("isBackupSchedulerEnabled", "scheduler", True),
            ("smbPort", "smb_port", None), ("smbTimeoutSeconds", "smb_timeout", None)):
        if esd.get(field_name) is not None:
            out[kwarg] = esd[field_name]
        elif replace and default is not None:
            out[kwarg] = default
    if "scheduler" in out and not isinstance(out["scheduler"], bool):
        raise BadInput(f"isBackupSchedulerEnabled must be true or false, got {out['scheduler']!r}")
    if esd.get("sources") is not None:
        sources = _obj(esd["sources"], "sources")
        out["sources"] = dict(_source(role, folder) for role, folder in sources.items())
    return out


def _source(role: Any, folder: Any) -> tuple[str, str]:
    role, folder = _str(role, "role name"), _str(folder, "source folder")
    if "=" in role:
        raise BadInput(f"role name {role!r} must not contain '='")
    return parse_source(f"{role}={folder}")
