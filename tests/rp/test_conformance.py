"""Conformance with the published Microsoft.Backup.Admin specification (Azure/azure-rest-api-specs,
specification/azsadmin/resource-manager/backup: stable 2018-09-01, preview 2021-09-01).

The facts below are the specification's, restated (its files are not copied here): property
names and types, status codes, long-running operations with final-state-via location, and the
bodies its x-ms-examples show. Each test names the finding of issue 14 it holds.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid

import httpx
import pytest

from ibs.engine.rp.api import Api
from ibs.engine.rp.app import handle
from ibs.engine.rp.auth import TokenCheck, digest
from tests.rp.conftest import BASE, LOC, TOKEN, Rp, V

V2021 = "2021-09-01"
Q = {"api-version": V}

# ExternalStore (BackupLocations.json, 2018-09-01): name -> JSON type.
EXTERNAL_STORE = {"path": str, "userName": str, "password": str, "encryptionCertBase64": str,
                  "encryptionCertThumbprint": str, "backupFrequencyInHours": int,
                  "availableCapacity": str, "isBackupSchedulerEnabled": bool,
                  "nextBackupTime": str, "lastBackupTime": str,
                  "backupRetentionPeriodInDays": int}
# BackupInfo (Backups.json, 2018-09-01).
BACKUP_INFO = {"backupDataVersion": str, "roleStatus": list, "status": str,
               "createdDateTime": str, "timeTakenToCreate": str, "deploymentID": str,
               "stampVersion": str, "oemVersion": str, "isCloudRecoveryReady": bool,
               "encryptionCertThumbprint": str}
BACKUP_STATUS = {"Creating", "Queued", "Running", "Deleted", "Failed", "PartialSucceeded",
                 "Succeeded"}
RESOURCE = ("id", "name", "type", "location")


def _typed(obj: dict, spec: dict[str, type]) -> None:
    """Every property the specification names is present, null or of its type."""
    for name, kind in spec.items():
        assert name in obj, name
        value = obj[name]
        assert value is None or (isinstance(value, kind) and not (kind is int and isinstance(value, bool))), (name, value)


def _location_ok(body: dict) -> dict:
    for key in RESOURCE:
        assert isinstance(body[key], str)
    assert body["type"] == "Microsoft.Backup.Admin/backupLocations"
    store = body["properties"]["externalStoreDefault"]
    _typed(store, EXTERNAL_STORE)
    assert store["password"] is None and store["encryptionCertBase64"] is None
    return store


def _backup_ok(body: dict) -> dict:
    for key in RESOURCE:
        assert isinstance(body[key], str)
    assert body["type"] == "Microsoft.Backup.Admin/backupLocations/backups"
    info = body["properties"]["backupInfo"]
    _typed(info, BACKUP_INFO)
    assert info["status"] in BACKUP_STATUS
    for role in info["roleStatus"]:
        assert isinstance(role["roleName"], str) and role["status"] in BACKUP_STATUS
    return info


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _lro_headers(rp: Rp, r: httpx.Response, version: str = V) -> None:
    assert r.status_code == 202
    for name in ("Azure-AsyncOperation", "Location"):
        url = r.headers[name]
        assert url.startswith(rp.url + BASE + "/backupLocations/local/"), url
        assert url.endswith(f"?api-version={version}")
    assert int(r.headers["Retry-After"]) >= 1


# --- long-running operations -------------------------------------------------------------


def test_put_is_long_running_with_the_resource_in_its_202_and_final_state_via_location(rp: Rp, cert_pair):
    body = {"location": "local", "properties": {"externalStoreDefault": {
        "path": str(rp.share), "encryptionCertBase64": _b64(cert_pair.cer),
        "backupFrequencyInHours": 10, "backupRetentionPeriodInDays": 5}}}
    first = rp.client.put(LOC, params=Q, json=body)
    _lro_headers(rp, first)
    accepted = _location_ok(first.json())
    assert accepted["backupFrequencyInHours"] == 10 and accepted["path"] == str(rp.share)
    status = rp.client.get(first.headers["Azure-AsyncOperation"])
    assert status.status_code == 200 and status.json()["status"] == "Succeeded"
    final = rp.wait(first)
    assert final.status_code == 200
    assert _location_ok(final.json())["encryptionCertThumbprint"] == cert_pair.thumbprint
    assert rp.client.get(LOC, params=Q).json() == final.json()


def test_create_backup_202_is_the_backup_and_polling_ends_in_it(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    first = rp.client.post(f"{LOC}/createBackup", params=Q)
    _lro_headers(rp, first)
    queued = first.json()
    assert _backup_ok(queued)["status"] in ("Queued", "Running")
    final = rp.wait(first)
    assert final.status_code == 200 and final.json()["id"] == queued["id"]
    assert _backup_ok(final.json())["status"] == "Succeeded"
    assert rp.client.get(first.headers["Azure-AsyncOperation"]).json()["status"] == "Succeeded"


def test_restore_is_long_running_and_its_202_has_no_body(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    guid = rp.backup()["name"].split("/")[1]
    r = rp.client.post(f"{LOC}/backups/{guid}/restore", params=Q, json={
        "roleName": "", "decryptionCertBase64": _b64(cert_pair.pfx),
        "decryptionCertPassword": cert_pair.password})
    _lro_headers(rp, r)
    assert r.content == b""
    assert rp.wait(r).status_code == 200


# --- finding: prune answered in the wrong shape ------------------------------------------


def test_prune_answers_a_prune_list(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    r = rp.client.post(f"{LOC}/pruneExternalStore", params=Q, json={"operationType": "DryRun"})
    assert r.status_code == 200
    assert r.json() == {"properties": {"pathsToDelete": []}}


# --- finding: BlankPut -------------------------------------------------------------------


def test_blank_put_clears_the_location(rp: Rp, cert_pair):
    rp.enable(cert_pair, userName="svc", password="pw-1", backupFrequencyInHours=6)
    blank = {"location": "local", "tags": {}, "properties": {"externalStoreDefault": {
        "path": "", "userName": "", "password": "", "blobStorageUrl": "", "blobStorageKey": "",
        "encryptionCertBase64": "", "backupFrequencyInHours": None,
        "isBackupSchedulerEnabled": None, "backupRetentionPeriodInDays": None}}}
    r = rp.client.put(LOC, params={"api-version": V2021}, json=blank)
    _lro_headers(rp, r, V2021)
    store = _location_ok(rp.wait(r).json())
    assert store["path"] is None and store["userName"] is None
    assert store["encryptionCertThumbprint"] is None and store["nextBackupTime"] is None
    assert (store["backupFrequencyInHours"], store["backupRetentionPeriodInDays"]) == (12, 7)
    assert not rp.api.controller().settings.has_password


def test_minimal_put_resets_the_schedule_and_keeps_the_store(rp: Rp, cert_pair):
    rp.enable(cert_pair, userName="svc", backupFrequencyInHours=6,
              backupRetentionPeriodInDays=3, isBackupSchedulerEnabled=False)
    store = _location_ok(rp.wait(rp.client.put(LOC, params=Q, json={"location": "local"})).json())
    assert (store["backupFrequencyInHours"], store["backupRetentionPeriodInDays"]) == (12, 7)
    assert store["isBackupSchedulerEnabled"] is True
    assert store["path"] == str(rp.share) and store["userName"] == "svc"
    assert store["encryptionCertThumbprint"] == cert_pair.thumbprint


# --- finding: createBackup with the specification's fields only ---------------------------


def test_spec_fields_only_enable_and_start_a_backup(rp: Rp, cert_pair):
    rp.api.sources = {k: str(v) for k, v in rp.sources.items()}  # as 'serve-rp --source'
    r = rp.wait(rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": {
        "path": str(rp.share), "encryptionCertBase64": _b64(cert_pair.cer)}}}))
    assert r.status_code == 200
    info = _backup_ok(rp.backup())
    assert info["status"] == "Succeeded"
    assert {s["roleName"] for s in info["roleStatus"]} == set(rp.sources)


# --- finding: $top and $skip ignored -----------------------------------------------------


def test_top_and_skip_page_the_lists(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    ids = [rp.backup()["id"] for _ in range(3)][::-1]  # newest first
    url = f"{LOC}/backups"

    def listed(**params):
        r = rp.client.get(url, params={**Q, **params})
        assert r.status_code == 200, r.text
        return [b["id"] for b in r.json()["value"]]

    assert listed() == ids
    assert listed(**{"$top": "2"}) == ids[:2]
    assert listed(**{"$skip": "1"}) == ids[1:]
    assert listed(**{"$skip": "1", "$top": "1"}) == ids[1:2]
    assert listed(**{"$top": "0"}) == []
    locs = rp.client.get(f"{BASE}/backupLocations", params={**Q, "$skip": "1"}).json()["value"]
    assert locs == []
    for bad in ("-1", "two"):
        assert rp.client.get(url, params={**Q, "$top": bad}).status_code == 400


# --- finding: 500s --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["é" * 8, "QUJD\u00a0", "\u2603"])
def test_non_ascii_base64_is_400(rp: Rp, cert_pair, text):
    r = rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": {
        "encryptionCertBase64": text}}})
    assert r.status_code == 400 and "not valid base64" in r.json()["error"]["message"]
    rp.enable(cert_pair)
    guid = rp.backup()["name"].split("/")[1]
    r = rp.client.post(f"{LOC}/backups/{guid}/restore", params=Q,
                       json={"decryptionCertBase64": text})
    assert r.status_code == 400 and "not valid base64" in r.json()["error"]["message"]


@pytest.mark.parametrize("body", [b"[" * 50_000, b'{"a":' * 50_000, b"[" * 33 + b"]" * 33])
def test_deep_nesting_is_400(rp: Rp, body):
    r = rp.client.put(LOC, params=Q, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "InvalidRequestContent"
    ok = json.dumps({"properties": {"externalStoreDefault": {"sources": {}}}}).encode()
    assert rp.client.put(LOC, params=Q, content=b"  " + ok,
                         headers={"Content-Type": "application/json"}).status_code == 202


# --- finding: the Host header echoed --------------------------------------------------------


def test_polling_urls_come_from_the_base_url_never_from_host(rp: Rp):
    r = rp.client.put(LOC, params=Q, headers={"Host": "evil.example:1"})
    assert r.status_code == 202
    for name in ("Azure-AsyncOperation", "Location"):
        assert "evil" not in r.headers[name] and r.headers[name].startswith(rp.url + "/")
    rp.api.base_url = "https://hub.example:13379"
    r = rp.client.put(LOC, params=Q, headers={"Host": "evil.example:1"})
    assert r.headers["Location"].startswith("https://hub.example:13379/subscriptions/")


# --- finding: TRACE unauthenticated; every method authenticated; 415 --------------------------


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "HEAD", "DELETE", "CONNECT"])
def test_every_method_needs_the_token(rp: Rp, method):
    r = rp.anon.request(method, LOC, params=Q)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    if method != "HEAD":
        assert r.json()["error"]["code"] == "AuthenticationFailed"
    r = rp.client.request(method, LOC, params=Q)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, PATCH, PUT"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(rp: Rp, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    r = rp.client.put(LOC, params=Q, content=b'{"location": "local"}', headers=headers)
    assert r.status_code == 415 and r.json()["error"]["code"] == "UnsupportedMediaType"
    r = rp.client.put(LOC, params=Q, content=b'{"location": "local"}',
                      headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 202


# --- finding: operations lived in memory --------------------------------------------------


def test_operations_are_answered_after_a_restart(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    first = rp.client.post(f"{LOC}/createBackup", params=Q)
    final = rp.wait(first)
    op_id = first.headers["Location"].split("/operationResults/")[1].split("?")[0]
    restarted = Api(rp.api.store.root, TokenCheck(digest(TOKEN)))  # another provider, same store
    auth = {"Authorization": f"Bearer {TOKEN}"}
    r = handle(restarted, "GET", f"{LOC}/operationResults/{op_id}?api-version={V}", auth)
    assert r.status == 200 and r.body == final.json()
    r = handle(restarted, "GET", f"{LOC}/operationStatuses/{op_id}?api-version={V}", auth)
    assert r.status == 200 and r.body["status"] == "Succeeded"


def test_an_operation_a_dead_provider_left_running_fails_when_polled(rp: Rp):
    first = rp.client.put(LOC, params=Q)
    op_id = first.headers["Location"].split("/operationResults/")[1].split("?")[0]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    path = os.path.join(rp.api.store.root, "rp-operations", f"{op_id}.json")
    with open(path) as f:
        saved = json.load(f)
    saved.update(status="InProgress", endTime=None, outcome=None, pid=int(dead.stdout))
    with open(path, "w") as f:
        json.dump(saved, f)
    status = rp.client.get(first.headers["Azure-AsyncOperation"]).json()
    assert status["status"] == "Failed" and status["error"]["code"] == "Interrupted"
    assert rp.client.get(first.headers["Location"]).status_code == 500


def test_unknown_or_malformed_operation_ids_are_404(rp: Rp):
    for op_id in (str(uuid.uuid4()), "..%2F..%2Fsettings", "x" * 36):
        r = rp.client.get(f"{LOC}/operationStatuses/{op_id}", params=Q)
        assert r.status_code == 404, (op_id, r.text)


def test_spec_fields_only_reach_a_share_on_the_providers_port(rp: Rp, cert_pair):
    """smbPort is an extension: a spec client cannot give it, the provider (--smb-port) can."""
    rp.api.smb_port = 4455
    r = rp.wait(rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": {
        "path": r"\\127.0.0.1\backups\stamp1", "userName": "svc", "password": "pw",
        "encryptionCertBase64": _b64(cert_pair.cer)}}}))
    assert r.json()["properties"]["externalStoreDefault"]["smbPort"] == 4455
    r = rp.wait(rp.client.patch(LOC, params={"api-version": V2021}, json={"properties": {
        "externalStoreDefault": {"smbPort": 4456}}}))
    assert r.json()["properties"]["externalStoreDefault"]["smbPort"] == 4456  # a client's wins
    r = rp.wait(rp.client.put(LOC, params=Q, json={"location": "local"}))
    assert r.json()["properties"]["externalStoreDefault"]["smbPort"] == 4456
