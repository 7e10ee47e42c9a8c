"""The OpenAPI document and the server agree: every documented operation is served, and every
served route is documented."""

from __future__ import annotations

import base64
import re
import uuid

from ibs.engine.rp.api import ROUTES
from ibs.engine.rp.page import FILES
from tests.rp.conftest import Rp

METHODS = ("get", "put", "post", "patch", "delete")


def _concrete(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


def test_document_lists_exactly_the_served_routes(rp: Rp):
    doc = rp.anon.get("/openapi.json").json()
    documented = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops}
    served = {(r.template, r.method) for r in ROUTES}
    assert documented == served
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
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
                versions = [p for p in ops[method]["parameters"] if p["name"] == "api-version"]
                if versions:
                    params["api-version"] = versions[0]["schema"]["enum"][-1]
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
