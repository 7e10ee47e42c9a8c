"""The OpenAPI document lists Azure's Backup Admin operations (and our marked extensions), and the
server agrees: every documented operation is served, and every other method is refused."""

from __future__ import annotations

import base64
import re
import uuid

from ibs.engine.rp.page import FILES
from ibs.engine.rp.routes import ROUTES
from tests.rp.conftest import Rp

METHODS = ("get", "put", "post", "patch", "delete")


def _concrete(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


BASE = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Backup.Admin"
LOCATION = BASE + "/backupLocations/{location}"

# Written from Azure Stack Hub's Backup Admin API (docs/REFERENCE.md's REST resource model and
# ARM's asynchronous-operation pattern), not from engine/rp/routes.py, which the document is
# generated from: comparing the document with that table could not fail.
AZURE_OPERATIONS = {
    ("GET", BASE + "/operations"),
    ("GET", "/providers/Microsoft.Backup.Admin/operations"),
    ("GET", BASE + "/backupLocations"),
    ("GET", LOCATION),
    ("PUT", LOCATION),
    ("PATCH", LOCATION),  # api-version 2021-09-01
    ("POST", LOCATION + "/createBackup"),
    ("POST", LOCATION + "/pruneExternalStore"),
    ("GET", LOCATION + "/backups"),
    ("GET", LOCATION + "/backups/{backup}"),
    ("POST", LOCATION + "/backups/{backup}/restore"),
    ("GET", LOCATION + "/operationStatuses/{operationId}"),
    ("GET", LOCATION + "/operationResults/{operationId}"),
}
# Ours, beyond Azure's API; each is marked x-ibs-extension in the document.
EXTENSIONS = {("GET", LOCATION + "/alerts"), ("GET", "/openapi.json")}


def test_document_lists_azures_operations_and_marked_extensions(rp: Rp):
    doc = rp.anon.get("/openapi.json").json()
    documented = {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}
    assert documented == AZURE_OPERATIONS | EXTENSIONS
    marked = {(m.upper(), path) for path, ops in doc["paths"].items()
              for m, op in ops.items() if op.get("x-ibs-extension")}
    assert marked == EXTENSIONS
    for ops in doc["paths"].values():
        for op in ops.values():
            for ref in re.findall(r'"\$ref": "#/components/schemas/(\w+)"', str(op).replace("'", '"')):
                assert ref in doc["components"]["schemas"]


def test_every_documented_operation_answers_and_others_are_refused(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    backup = rp.backup()["name"].split("/")[1]
    op = rp.client.post(rp.url + "/subscriptions/s/resourceGroups/g/providers/"
                        "Microsoft.Backup.Admin/backupLocations/local/pruneExternalStore",
                        params={"api-version": "2018-09-01"}, json={"operationType": "DryRun"})
    assert op.status_code == 200
    op_id = rp.client.put(rp.url + "/subscriptions/s/resourceGroups/g/providers/"
                          "Microsoft.Backup.Admin/backupLocations/local",
                          params={"api-version": "2018-09-01"}).headers["Location"]
    op_id = op_id.split("/operationResults/")[1].split("?")[0]
    values = {"subscriptionId": "s", "resourceGroupName": "g", "location": "local",
              "backup": backup, "operationId": op_id}
    doc = rp.anon.get("/openapi.json").json()
    for template, ops in doc["paths"].items():
        url = _concrete(template, values)
        for method in METHODS:
            params = {}
            if method in ops:
                versions = [p["schema"] for p in ops[method].get("parameters", [])
                            if p["name"] == "api-version"]
                if versions:
                    params["api-version"] = versions[0].get("enum", [versions[0].get("const")])[-1]
            body = {"operationType": "DryRun"} if url.endswith("pruneExternalStore") else {}
            if url.endswith("/restore"):
                body = {"decryptionCertBase64": base64.b64encode(cert_pair.pfx).decode(),
                        "decryptionCertPassword": cert_pair.password}
            r = rp.client.request(method.upper(), url, params=params,
                                  json=body if method in ("put", "post", "patch") else None)
            if method in ops:
                assert r.status_code in (200, 202), (method, url, r.text)
                for code in (str(r.status_code),):
                    assert code in ops[method]["responses"], (method, template, code)
            else:
                assert r.status_code == 405, (method, url, r.status_code)
            if r.status_code == 202:
                rp.wait(r)
    # and nothing undocumented answers (besides the page's own files)
    assert rp.client.get(f"/subscriptions/s/resourceGroups/g/providers/Microsoft.Backup.Admin/"
                         f"backupLocations/local/backups/{uuid.uuid4()}/files",
                         params={"api-version": "2018-09-01"}).status_code == 404
    assert set(FILES) == {"/", "/static/app.css", "/static/app.js"}


def test_document_marks_extensions_and_long_running_operations(rp: Rp):
    doc = rp.anon.get("/openapi.json").json()
    store = doc["components"]["schemas"]["ExternalStore"]["properties"]
    marked = {name for name, schema in store.items() if schema.get("x-ibs-extension")}
    assert marked == {"sources", "smbPort", "smbTimeoutSeconds"}
    for route in ROUTES:
        op = doc["paths"][route.template][route.method.lower()]
        assert bool(op.get("x-ms-long-running-operation")) == route.long_running, route.handler
        assert bool(op.get("x-ibs-extension")) == route.extension, route.handler
        assert "422" not in op["responses"]  # validation errors are 400, as ARM's
        if route.long_running:
            assert set(op["responses"]["202"]["headers"]) == {
                "Azure-AsyncOperation", "Location", "Retry-After"}
    assert "HTTPValidationError" not in doc["components"]["schemas"]
