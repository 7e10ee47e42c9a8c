"""The OpenAPI 3 document, generated from ``api.ROUTES`` so it cannot drift from what is served."""

from __future__ import annotations

import re
from typing import Any

from ibs.engine.rp import arm
from ibs.engine.rp.api import ROUTES, Route
from ibs.engine.settings import FREQUENCY_HOURS, RETENTION_DAYS

EXT = {"x-ibs-extension": True}


def _s(kind: str, desc: str | None = None, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": kind, **kw}
    if desc:
        out["description"] = desc
    return out


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


SCHEMAS: dict[str, Any] = {
    "Error": _s("object", properties={"error": _s("object", properties={
        "code": _s("string"), "message": _s("string")}, required=["code", "message"])}),
    "ExternalStoreDefault": _s("object", properties={
        "path": _nullable(_s("string", "UNC path \\\\host\\share\\folder, or an absolute local folder")),
        "userName": _nullable(_s("string")),
        "password": _nullable(_s("string", "write-only: always read back as null", writeOnly=True)),
        "encryptionCertBase64": _nullable(_s("string", "write-only: the .cer (DER or PEM), base64",
                                             writeOnly=True)),
        "encryptionCertThumbprint": _nullable(_s("string", readOnly=True)),
        "backupFrequencyInHours": _s("integer", minimum=FREQUENCY_HOURS[0],
                                     maximum=FREQUENCY_HOURS[1], default=12),
        "backupRetentionPeriodInDays": _s("integer", minimum=RETENTION_DAYS[0],
                                          maximum=RETENTION_DAYS[1], default=7),
        "isBackupSchedulerEnabled": _s("boolean", default=True),
        "availableCapacity": _nullable(_s("string", "free space on the share, e.g. \"29.6 TB\"; "
                                          "null when the share cannot be reached", readOnly=True)),
        "nextBackupTime": _nullable(_s("string", format="date-time", readOnly=True)),
        "lastBackupTime": _nullable(_s("string", format="date-time", readOnly=True)),
        "sources": _s("object", "extension: role name -> folder holding its data",
                      additionalProperties=_s("string"), **EXT),
        "smbPort": _s("integer", "extension", minimum=1, maximum=65535, **EXT),
        "smbTimeoutSeconds": _s("integer", "extension", minimum=1, maximum=300, **EXT),
    }),
    "BackupLocation": _s("object", properties={
        "id": _s("string", readOnly=True), "name": _s("string", readOnly=True),
        "type": _s("string", readOnly=True), "location": _s("string", readOnly=True),
        "tags": _s("object", additionalProperties=_s("string")),
        "properties": _s("object", properties={
            "externalStoreDefault": _ref("ExternalStoreDefault"),
            "prunedPaths": _s("array", "extension: deleted because retention was lowered",
                              items=_s("string"), readOnly=True, **EXT)})}),
    "BackupLocationList": _s("object", properties={"value": _s("array", items=_ref("BackupLocation"))}),
    "BackupInfo": _s("object", properties={
        "backupDataVersion": _s("string"),
        "roleStatus": _s("array", items=_s("object", properties={
            "roleName": _s("string"), "status": _s("string")})),
        "status": _s("string", enum=["Creating", "Queued", "Running", "Deleted", "Failed",
                                      "PartialSucceeded", "Succeeded", "Skipped"]),
        "createdDateTime": _s("string", format="date-time"),
        "timeTakenToCreate": _nullable(_s("string", "ISO 8601 duration")),
        "deploymentID": _nullable(_s("string")), "stampVersion": _nullable(_s("string")),
        "oemVersion": _nullable(_s("string")), "isCloudRecoveryReady": _s("boolean"),
        "encryptionCertThumbprint": _nullable(_s("string")),
        "trigger": _s("string", "extension: OnDemand or Scheduled", **EXT),
        "completedDateTime": _nullable(_s("string", "extension", format="date-time", **EXT)),
        "deletedDateTime": _nullable(_s("string", "extension", format="date-time", **EXT)),
        "transferEncrypted": _nullable(_s("boolean", "extension: SMB encryption was used", **EXT)),
        "sizeBytes": _s("integer", "extension: bytes stored on the share", **EXT),
        "dataBytes": _s("integer", "extension: file bytes of the roles", **EXT),
        "storageLocation": _nullable(_s("string", "extension: where it was written", **EXT)),
        "error": _nullable(_s("object", "extension", properties={
            "category": _s("string"), "message": _s("string")}, **EXT)),
        "warnings": _s("array", "extension", items=_s("string"), **EXT),
        "progress": _nullable(_s("object", "extension: while Running in this provider", properties={
            "role": _s("string"), "doneBytes": _s("integer"), "totalBytes": _s("integer"),
            "percent": _nullable(_s("number"))}, **EXT)),
    }),
    "Backup": _s("object", properties={
        "id": _s("string"), "name": _s("string", "local/<guid>"), "type": _s("string"),
        "location": _s("string"),
        "properties": _s("object", properties={"backupInfo": _ref("BackupInfo")})}),
    "BackupList": _s("object", properties={"value": _s("array", items=_ref("Backup"))}),
    "PruneRequest": _s("object", properties={"operationType": _s("string", enum=["Default", "DryRun"],
                                                                  default="Default")}),
    "PruneResult": _s("object", properties={"pathsToDelete": _s("array", items=_s("string"))}),
    "RestoreRequest": _s("object", properties={
        "roleName": _s("string", "one role, or \"\" for all", default=""),
        "decryptionCertBase64": _s("string", "the .pfx, base64; used in memory only", writeOnly=True),
        "decryptionCertPassword": _s("string", "used in memory only", writeOnly=True)},
        required=["decryptionCertBase64"]),
    "RestoreResult": _s("object", "extension: where the roles were restored", properties={
        "id": _s("string"), "backupId": _s("string"), "roleName": _s("string"),
        "target": _s("string"), "restored": _s("array", items=_s("string"))}, **EXT),
    "OperationList": _s("object", properties={"value": _s("array", items=_s("object", properties={
        "name": _s("string"), "display": _s("object"), "origin": _s("string")}))}),
    "OperationStatus": _s("object", properties={
        "id": _s("string"), "name": _s("string"),
        "status": _s("string", enum=["InProgress", "Succeeded", "Failed"]),
        "startTime": _s("string", format="date-time"),
        "endTime": _nullable(_s("string", format="date-time")),
        "operationType": _s("string"), "error": _ref("Error")}),
    "AlertList": _s("object", properties={"value": _s("array", items=_s("object", properties={
        k: _s("string") for k in ("category", "title", "message", "remediation",
                                  "raisedDateTime", "clearedDateTime", "backupId")}))}),
}

_ERRORS = {"400": "bad input (the engine's BadInput message)", "401": "no valid bearer token",
           "404": "unknown location, backup or operation", "405": "method not allowed",
           "409": "the one job slot is taken, or maintenance is running",
           "503": "the share failed (code: the alert category)"}


def _operation(route: Route) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.handler, "summary": route.summary}
    params = [{"name": n, "in": "path", "required": True, "schema": _s("string")}
              for n in re.findall(r"\{(\w+)\}", route.template)]
    if route.versions:
        params.append({"name": "api-version", "in": "query", "required": True,
                       "schema": _s("string", enum=list(route.versions))})
    op["parameters"] = params
    if route.request:
        op["requestBody"] = {"required": False, "content": {
            "application/json": {"schema": _ref(route.request)}}}
    responses: dict[str, Any] = {}
    if route.long_running:
        op["x-ms-long-running-operation"] = True
        responses["202"] = {"description": "accepted: poll Azure-AsyncOperation or Location",
                            "headers": {h: {"schema": _s("string")} for h in
                                        ("Azure-AsyncOperation", "Location", "Retry-After")}}
        if route.response:
            op["x-ibs-final-response"] = _ref(route.response)
    else:
        ok: dict[str, Any] = {"description": "OK"}
        if route.response:
            ok["content"] = {"application/json": {"schema": _ref(route.response)}}
        responses["200"] = ok
        if route.handler == "operation_result":
            responses["202"] = {"description": "still running"}
    for code, text in _ERRORS.items():
        if code == "401" and not route.auth:
            continue
        responses[code] = {"description": text, "content": {
            "application/json": {"schema": _ref("Error")}}}
    op["responses"] = responses
    if route.auth:
        op["security"] = [{"bearer": []}]
    else:
        op["security"] = []
    if route.extension:
        op.update(EXT)
    return op


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.template, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.0.3",
        "info": {"title": "Backup Resource Provider (Microsoft.Backup.Admin), ibs",
                 "version": arm.API_VERSIONS[0],
                 "description": "Azure Stack Hub's Infrastructure Backup admin API as the ibs "
                                "engine serves it. Fields and routes marked x-ibs-extension are "
                                "this project's additions. Long-running operations answer 202 "
                                "with Azure-AsyncOperation and Location headers."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "IBS_RP_TOKEN, or the token serve-rp printed on its first start"}}},
    }
