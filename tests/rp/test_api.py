"""The REST API over HTTP on 127.0.0.1: every route, every error, long-running polling."""

from __future__ import annotations

import base64
import os
import re
import time
import uuid

import pytest

from ibs.engine.errors import BadInput
from ibs.engine.settings import check_frequency, check_retention
from tests.rp.conftest import BASE, LOC, SHARE_PASSWORD, TOKEN, Rp, V

Q = {"api-version": V}


def _error(r, status: int, code: str | None = None) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]["message"]


def _engine_message(fn, *args) -> str:
    with pytest.raises(BadInput) as info:
        fn(*args)
    return str(info.value)


# --- auth -------------------------------------------------------------------------------


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", "Bearer", TOKEN, f"Bearer {TOKEN}x"])
def test_every_api_call_needs_the_token(rp: Rp, header):
    headers = {"Authorization": header} if header else {}
    for method, path in (("GET", f"{BASE}/operations"), ("GET", LOC), ("PUT", LOC),
                         ("POST", f"{LOC}/createBackup"), ("GET", f"{LOC}/backups")):
        r = rp.anon.request(method, path, params=Q, headers=headers, json={})
        _error(r, 401, "AuthenticationFailed")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert rp.client.get(f"{LOC}/backups", params=Q).status_code == 200


def test_page_and_document_are_public_and_hold_no_data(rp: Rp):
    page = rp.anon.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert rp.anon.get("/static/app.js").status_code == 200
    assert rp.anon.get("/static/app.css").status_code == 200
    assert rp.anon.get("/openapi.json").json()["openapi"].startswith("3.")
    # only their GET is public: any other method is a request like any other
    for method in ("HEAD", "POST", "TRACE"):
        assert rp.anon.request(method, "/").status_code == 401
        r = rp.client.request(method, "/")
        assert r.status_code == 405 and r.headers["Allow"] == "GET"


# --- api-version, paths, methods ---------------------------------------------------------


def test_api_version_is_required_and_checked(rp: Rp):
    _error(rp.client.get(LOC), 400, "MissingApiVersionParameter")
    _error(rp.client.get(LOC, params={"api-version": "2016-05-01"}), 400, "InvalidApiVersionParameter")
    assert rp.client.get(LOC, params={"api-version": "2021-09-01"}).status_code == 200
    # PATCH exists from 2021-09-01 only
    _error(rp.client.patch(LOC, params=Q, json={}), 400, "InvalidApiVersionParameter")


def test_unknown_paths_and_locations_are_404(rp: Rp):
    _error(rp.client.get(f"{BASE}/nothingHere", params=Q), 404, "NotFound")
    _error(rp.client.get(f"{BASE}/backupLocations/other", params=Q), 404, "NotFound")
    _error(rp.client.get(f"{BASE}/backupLocations/other/backups", params=Q), 404)
    _error(rp.client.get(f"{LOC}/backups/{uuid.uuid4()}", params=Q), 404, "NotFound")
    _error(rp.client.get(f"{LOC}/backups/not-a-guid", params=Q), 404, "NotFound")
    _error(rp.client.get(f"{LOC}/operationStatuses/{uuid.uuid4()}", params=Q), 404)
    _error(rp.client.get(f"{LOC}/operationResults/{uuid.uuid4()}", params=Q), 404)
    _error(rp.client.post(f"{LOC}/backups/{uuid.uuid4()}/restore", params=Q, json={}), 404)
    _error(rp.client.get("/favicon.ico"), 404)
    _error(rp.anon.get("/favicon.ico"), 401)  # nothing is told without the token
    _error(rp.anon.delete(LOC, params=Q), 401)


def test_wrong_method_is_405_with_allow(rp: Rp):
    r = rp.client.delete(LOC, params=Q)
    _error(r, 405, "MethodNotAllowed")
    assert r.headers["Allow"] == "GET, PATCH, PUT"
    _error(rp.client.get(f"{LOC}/createBackup", params=Q), 405)
    _error(rp.client.put(f"{LOC}/backups", params=Q, json={}), 405)
    _error(rp.client.post(f"{BASE}/operations", params=Q), 405)


def test_paths_are_case_insensitive_and_any_subscription_works(rp: Rp):
    r = rp.client.get("/subscriptions/x/resourcegroups/y/providers/microsoft.backup.admin/"
                      "backuplocations/LOCAL", params=Q)
    assert r.status_code == 200
    assert r.json()["id"] == "/subscriptions/x/resourceGroups/y/providers/Microsoft.Backup.Admin/backupLocations/local"


# --- operations and the backup location ------------------------------------------------


def test_operations_list(rp: Rp):
    names = [o["name"] for o in rp.client.get(f"{BASE}/operations", params=Q).json()["value"]]
    tenant = rp.client.get("/providers/Microsoft.Backup.Admin/operations", params=Q).json()
    assert [o["name"] for o in tenant["value"]] == names
    assert "Microsoft.Backup.Admin/backupLocations/read" in names
    assert "Microsoft.Backup.Admin/backupLocations/backups/restore/action" in names


def test_blank_put_is_long_running_and_returns_the_defaults(rp: Rp):
    first = rp.client.put(LOC, params=Q)
    assert first.status_code == 202
    status = rp.client.get(first.headers["Azure-AsyncOperation"]).json()
    assert status["status"] == "Succeeded" and status["endTime"]
    r = rp.wait(first)
    assert r.status_code == 200
    loc = r.json()
    assert first.json() == loc  # the 202 carries the resource, as the specification's examples
    assert loc["id"] == f"{BASE}/backupLocations/local" and loc["name"] == "local"
    assert loc["type"] == "Microsoft.Backup.Admin/backupLocations"
    store = loc["properties"]["externalStoreDefault"]
    assert store["backupFrequencyInHours"] == 12 and store["backupRetentionPeriodInDays"] == 7
    assert store["isBackupSchedulerEnabled"] is True
    assert store["path"] is None and store["availableCapacity"] is None
    assert store["nextBackupTime"] is None and store["lastBackupTime"] is None
    listed = rp.client.get(f"{BASE}/backupLocations", params=Q).json()["value"]
    assert [x["name"] for x in listed] == ["local"]


def test_enable_backup_reads_back_without_secrets(rp: Rp, cert_pair):
    loc = rp.enable(cert_pair, userName="backupadmin", password=SHARE_PASSWORD,
                    backupFrequencyInHours=6, backupRetentionPeriodInDays=3,
                    isBackupSchedulerEnabled=False)
    store = loc["properties"]["externalStoreDefault"]
    assert store["path"] == str(rp.share)
    assert store["userName"] == "backupadmin"
    assert store["password"] is None and store["encryptionCertBase64"] is None
    assert store["encryptionCertThumbprint"] == cert_pair.thumbprint
    assert store["backupFrequencyInHours"] == 6 and store["backupRetentionPeriodInDays"] == 3
    assert store["isBackupSchedulerEnabled"] is False and store["nextBackupTime"] is None
    assert store["sources"] == {k: str(v) for k, v in rp.sources.items()}
    assert re.fullmatch(r"\d+(\.\d)? (B|KB|MB|GB|TB)", store["availableCapacity"])
    # A GET, edited, PUT back keeps the write-only password (it reads back null)
    store["backupFrequencyInHours"] = 8
    r = rp.wait(rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": store}}))
    assert r.json()["properties"]["externalStoreDefault"]["backupFrequencyInHours"] == 8
    assert rp.api.controller().settings.has_password


def test_unreachable_share_has_no_capacity(rp: Rp, cert_pair):
    import socket

    with socket.socket() as s:  # a port nobody listens on: connection refused at once
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = rp.wait(rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": {
        "path": r"\\127.0.0.1\backups\stamp1", "smbPort": port, "smbTimeoutSeconds": 2,
        "userName": "svc", "password": SHARE_PASSWORD,
        "encryptionCertBase64": base64.b64encode(cert_pair.cer).decode()}}}))
    store = r.json()["properties"]["externalStoreDefault"]
    assert store["path"] == r"\\127.0.0.1\backups\stamp1" and store["smbPort"] == port
    assert store["availableCapacity"] is None


def test_put_resets_absent_schedule_settings_patch_keeps_them(rp: Rp, cert_pair):
    rp.enable(cert_pair, backupFrequencyInHours=6, backupRetentionPeriodInDays=10)
    patch = {"api-version": "2021-09-01"}
    r = rp.wait(rp.client.patch(LOC, params=patch, json={
        "properties": {"externalStoreDefault": {"backupFrequencyInHours": 4}}}))
    store = r.json()["properties"]["externalStoreDefault"]
    assert (store["backupFrequencyInHours"], store["backupRetentionPeriodInDays"]) == (4, 10)
    assert store["path"] == str(rp.share)
    r = rp.wait(rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": {}}}))
    store = r.json()["properties"]["externalStoreDefault"]
    assert (store["backupFrequencyInHours"], store["backupRetentionPeriodInDays"]) == (12, 7)
    assert store["encryptionCertThumbprint"] == cert_pair.thumbprint  # kept
    assert store["nextBackupTime"] is not None


@pytest.mark.parametrize("field,value,expected", [
    ("backupFrequencyInHours", 3, lambda: _engine_message(check_frequency, 3)),
    ("backupFrequencyInHours", "6", lambda: "backupFrequencyInHours must be an integer"),
    ("backupRetentionPeriodInDays", 15, lambda: _engine_message(check_retention, 15)),
    ("path", "relative/folder", lambda: "neither a UNC path"),
    ("path", "/no/such/folder/anywhere", lambda: "does not exist"),
    ("encryptionCertBase64", "%%%", lambda: "not valid base64"),
    ("encryptionCertBase64", base64.b64encode(b"not a cert").decode(), lambda: "not an X.509"),
    ("isBackupSchedulerEnabled", "yes", lambda: "true or false"),
    ("sources", {"CA": "/no/such/dir"}, lambda: "does not exist"),
    ("sources", {"9bad": "/tmp"}, lambda: "must start with a letter"),
])
def test_bad_settings_are_400_with_the_engines_message(rp: Rp, field, value, expected):
    before = rp.client.get(LOC, params=Q).json()
    r = rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": {field: value}}})
    message = _error(r, 400)
    assert expected() in message
    assert rp.client.get(LOC, params=Q).json() == before  # all or nothing


def test_oversized_and_chunked_bodies_are_refused(rp: Rp):
    _error(rp.client.put(LOC, params=Q, content=b" " * (8 * 1024 * 1024 + 1)), 413)

    def chunks():
        yield b"{}"

    _error(rp.client.put(LOC, params=Q, content=chunks()), 411)


def test_bad_bodies_are_400(rp: Rp):
    json_type = {"Content-Type": "application/json"}
    _error(rp.client.put(LOC, params=Q, content=b"{not json", headers=json_type), 400,
           "InvalidRequestContent")
    _error(rp.client.put(LOC, params=Q, json=[1, 2]), 400, "InvalidRequestContent")
    _error(rp.client.put(LOC, params=Q, json={"properties": 5}), 400, "BadRequest")


def test_cli_and_api_give_the_same_message(rp: Rp, tmp_path):
    from ibs.engine.cli.app import main

    store = tmp_path / "cli-store"
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["--store", str(store), "config", "set", "--retention-days", "1"]) == 2
    r = rp.client.put(LOC, params=Q, json={"properties": {"externalStoreDefault": {
        "backupRetentionPeriodInDays": 1}}})
    assert err.getvalue().strip() == f"ibs: {_error(r, 400)}"


# --- backups ---------------------------------------------------------------------------


def test_create_backup_before_enabling_is_400(rp: Rp):
    message = _error(rp.client.post(f"{LOC}/createBackup", params=Q), 400, "BadRequest")
    assert "not configured" in message


def test_create_backup_runs_in_background_with_progress(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    rp.gate.close()
    first = rp.client.post(f"{LOC}/createBackup", params=Q)
    assert first.status_code == 202
    status_url = first.headers["Azure-AsyncOperation"]
    deadline = time.monotonic() + 30
    while True:
        listed = rp.client.get(f"{LOC}/backups", params=Q).json()["value"]
        info = listed[0]["properties"]["backupInfo"] if listed else {}
        if info.get("status") == "Running" and info.get("progress"):
            break
        assert time.monotonic() < deadline, listed
        time.sleep(0.02)
    assert 0 <= info["progress"]["percent"] < 100 and info["progress"]["doneBytes"] > 0
    op = rp.client.get(status_url).json()
    assert op["status"] == "InProgress" and op["endTime"] is None
    assert rp.client.get(first.headers["Location"]).status_code == 202
    # the one job slot: a second backup is refused while this one runs
    _error(rp.client.post(f"{LOC}/createBackup", params=Q), 409, "JobSlotTaken")
    _error(rp.client.post(f"{LOC}/pruneExternalStore", params=Q, json={}), 409, "JobSlotTaken")
    rp.gate.open()
    backup = rp.wait(first).json()
    guid = backup["name"].split("/")[1]
    assert uuid.UUID(guid)
    assert backup["id"] == f"{LOC}/backups/{guid}" and backup["name"] == f"local/{guid}"
    assert backup["type"] == "Microsoft.Backup.Admin/backupLocations/backups"
    assert backup["location"] == "local"
    info = backup["properties"]["backupInfo"]
    assert info["status"] == "Succeeded" and info["isCloudRecoveryReady"] is True
    assert {r["roleName"]: r["status"] for r in info["roleStatus"]} == {"CA": "Succeeded", "ECE": "Succeeded"}
    assert re.fullmatch(r"PT[\d.HMS]+", info["timeTakenToCreate"])
    assert info["encryptionCertThumbprint"] == cert_pair.thumbprint
    assert info["backupDataVersion"] and info["createdDateTime"]
    for key in ("deploymentID", "stampVersion", "oemVersion"):
        assert key in info
    assert info["sizeBytes"] > 0 and info["progress"] is None and info["error"] is None
    assert rp.client.get(status_url).json()["status"] == "Succeeded"
    assert rp.client.get(f"{LOC}/backups/{guid}", params=Q).json() == backup
    store = rp.client.get(LOC, params=Q).json()["properties"]["externalStoreDefault"]
    assert store["lastBackupTime"] == info["createdDateTime"]
    assert (rp.share / "MASBackup" / guid / "manifest.json").exists()


def test_failed_backup_reports_through_the_operation_and_raises_an_alert(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    rp.share.rmdir()  # the storage location vanished
    r = rp.client.post(f"{LOC}/createBackup", params=Q)
    final = rp.wait(r)
    info = final.json()["properties"]["backupInfo"]
    assert final.status_code == 200 and info["status"] == "Failed"
    assert info["error"]["category"] == "PathFault"
    op = rp.client.get(r.headers["Azure-AsyncOperation"]).json()
    assert op["status"] == "Failed" and op["error"]["code"] == "PathFault"
    alerts = rp.client.get(f"{LOC}/alerts", params=Q).json()["value"]
    assert [a["category"] for a in alerts] == ["PathFault"]
    assert alerts[0]["remediation"]
    store = rp.client.get(LOC, params=Q).json()["properties"]["externalStoreDefault"]
    assert store["availableCapacity"] is None or rp.share.exists()
    rp.share.mkdir()
    assert rp.backup()["properties"]["backupInfo"]["status"] == "Succeeded"
    assert rp.client.get(f"{LOC}/alerts", params=Q).json()["value"] == []
    assert len(rp.client.get(f"{LOC}/alerts", params={**Q, "all": "true"}).json()["value"]) == 1


def test_prune_external_store(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    rp.backup()
    leftover = rp.share / "MASBackup" / f".partial-{uuid.uuid4()}"
    leftover.mkdir()
    url = f"{LOC}/pruneExternalStore"
    dry = rp.client.post(url, params=Q, json={"operationType": "DryRun"})
    assert dry.status_code == 200
    assert dry.json() == {"properties": {"pathsToDelete": [str(leftover)]}}
    assert leftover.exists()
    done = rp.client.post(url, params=Q, json={"operationType": "Default"})
    assert done.json() == {"properties": {"pathsToDelete": [str(leftover)]}}
    assert not leftover.exists()
    # Default, nothing left
    assert rp.client.post(url, params=Q).json() == {"properties": {"pathsToDelete": []}}
    _error(rp.client.post(url, params=Q, json={"operationType": "Everything"}), 400)


# --- restore ---------------------------------------------------------------------------


def _restore_body(cert_pair, role: str = "", password: str | None = None) -> dict:
    return {"roleName": role, "decryptionCertBase64": base64.b64encode(cert_pair.pfx).decode(),
            "decryptionCertPassword": cert_pair.password if password is None else password}


def test_restore_all_roles_then_one(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    guid = rp.backup()["name"].split("/")[1]
    url = f"{LOC}/backups/{guid}/restore"
    r = rp.wait(rp.client.post(url, params=Q, json=_restore_body(cert_pair)))
    assert r.status_code == 200, r.text
    target = rp.tmp / "restores" / f"{guid}-1"
    assert r.json()["target"] == str(target)
    for role, folder in rp.sources.items():
        for path in folder.rglob("*"):
            if path.is_file():
                rel = path.relative_to(folder)
                assert (target / role / rel).read_bytes() == path.read_bytes()
    r = rp.wait(rp.client.post(url, params=Q, json=_restore_body(cert_pair, "ECE")))
    assert r.status_code == 200, r.text
    target2 = rp.tmp / "restores" / f"{guid}-2"
    assert r.json()["target"] == str(target2)
    assert sorted(os.listdir(target2)) == ["ECE"]


def test_restore_errors(rp: Rp, cert_pair, other_cert_pair):
    rp.enable(cert_pair)
    guid = rp.backup()["name"].split("/")[1]
    url = f"{LOC}/backups/{guid}/restore"
    assert "wrong password" in _error(
        rp.client.post(url, params=Q, json=_restore_body(cert_pair, password="nope")), 400,
        "InvalidCertificate")
    _error(rp.client.post(url, params=Q, json={"roleName": ""}), 400)
    _error(rp.client.post(url, params=Q, json={"decryptionCertBase64": "@@"}), 400)
    # the wrong key, or a role the backup lacks: the operation fails, nothing is left behind
    for body in (_restore_body(other_cert_pair), _restore_body(cert_pair, "NoSuchRole")):
        r = rp.client.post(url, params=Q, json=body)
        final = rp.wait(r)
        assert final.status_code >= 400
        assert rp.client.get(r.headers["Azure-AsyncOperation"]).json()["status"] == "Failed"
    assert not any((rp.tmp / "restores").iterdir())


# --- secrets ---------------------------------------------------------------------------


def test_secrets_never_come_back_nor_land_in_store_or_logs(rp: Rp, cert_pair):
    rp.enable(cert_pair, userName="svc", password=SHARE_PASSWORD)
    guid = rp.backup()["name"].split("/")[1]
    rp.wait(rp.client.post(f"{LOC}/backups/{guid}/restore", params=Q, json=_restore_body(cert_pair)))
    rp.client.post(f"{LOC}/backups/{guid}/restore", params=Q,
                   json=_restore_body(cert_pair, password="pfx-wrong-Secret-4417"))
    for path in (BASE + "/backupLocations", LOC, f"{LOC}/backups", f"{LOC}/alerts"):
        rp.client.get(path, params=Q)
    pfx_b64 = base64.b64encode(cert_pair.pfx).decode()
    secrets = [SHARE_PASSWORD, cert_pair.password, "pfx-wrong-Secret-4417", pfx_b64, TOKEN]
    blobs = list(rp.responses) + [line.encode() for line in rp.logs]
    for root, _, files in os.walk(rp.api.store.root):
        for name in files:
            with open(os.path.join(root, name), "rb") as f:
                blobs.append(f.read())
    assert rp.logs and len(blobs) > 20
    for blob in blobs:
        for secret in secrets:
            assert secret.encode() not in blob
        assert cert_pair.pfx[:64] not in blob
    cer_b64 = base64.b64encode(cert_pair.cer)
    assert not any(cer_b64 in r for r in rp.responses)  # write-only: never read back
