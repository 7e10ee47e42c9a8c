"""The provider under load, over real connections: 400 concurrent PATCHes and 50 concurrent
createBackup requests (issue 14: these gave 500s and a corrupt settings.json)."""

from __future__ import annotations

import asyncio
import json
import os

import httpx

from tests.rp.conftest import BASE, LOC, TOKEN, Rp, V

PATCH_V = {"api-version": "2021-09-01"}


def _run(coro):
    return asyncio.run(coro)


def _client(rp: Rp) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=rp.url, timeout=120,
                             headers={"Authorization": f"Bearer {TOKEN}"},
                             limits=httpx.Limits(max_connections=500, max_keepalive_connections=500))


def _settings(i: int) -> dict:
    """The i-th submitted whole: every field differs from every other submission's."""
    return {"userName": f"user-{i}", "backupFrequencyInHours": 4 + i % 9,
            "backupRetentionPeriodInDays": 2 + i % 13, "smbTimeoutSeconds": 1 + i % 300,
            "isBackupSchedulerEnabled": i % 2 == 0}


def _store_intact(rp: Rp) -> None:
    for root, _, files in os.walk(rp.api.store.root):
        for name in files:
            if name.endswith(".json"):
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    json.load(f)  # every file whole JSON
            assert not name.endswith(".tmp"), name  # no write left half-done


def test_400_concurrent_patches_lose_nothing_and_answer_no_5xx(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    n = 400

    async def go():
        async with _client(rp) as client:
            patches = [client.patch(LOC, params=PATCH_V, json={
                "properties": {"externalStoreDefault": _settings(i)}}) for i in range(n)]
            reads = [client.get(f"{LOC}/backups", params={"api-version": V}) for _ in range(50)]
            reads += [client.get(LOC, params={"api-version": V}) for _ in range(50)]
            return await asyncio.gather(*patches, *reads)

    answers = _run(go())
    statuses = [r.status_code for r in answers]
    assert all(s < 500 for s in statuses), sorted(set(statuses))
    assert statuses[:n] == [202] * n and set(statuses[n:]) == {200}
    store = rp.client.get(LOC, params={"api-version": V}).json()["properties"]["externalStoreDefault"]
    got = {k: store[k] for k in _settings(0)}
    assert got in [_settings(i) for i in range(n)]  # one submission, whole: none mixed
    assert store["path"] == str(rp.share)  # PATCH kept what it was not given
    # each PATCH's own 202 body is the whole it wrote (or a later one), never a mixture
    for r in answers[:n]:
        written = {k: r.json()["properties"]["externalStoreDefault"][k] for k in _settings(0)}
        assert written in [_settings(i) for i in range(n)]
    _store_intact(rp)


def test_50_concurrent_create_backups_start_exactly_one_job(rp: Rp, cert_pair):
    rp.enable(cert_pair)
    rp.gate.close()  # the one job holds the slot while the others arrive

    async def go():
        async with _client(rp) as client:
            return await asyncio.gather(*[client.post(f"{LOC}/createBackup",
                                                      params={"api-version": V})
                                          for _ in range(50)])

    answers = _run(go())
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [202] + [409] * 49, statuses
    assert all(r.json()["error"]["code"] == "JobSlotTaken" for r in answers if r.status_code == 409)
    rp.gate.open()
    started = next(r for r in answers if r.status_code == 202)
    final = rp.wait(httpx.Response(202, headers=started.headers, request=started.request))
    assert final.json()["properties"]["backupInfo"]["status"] == "Succeeded"
    listed = rp.client.get(f"{LOC}/backups", params={"api-version": V}).json()["value"]
    assert len(listed) == 1 and listed[0]["id"] == final.json()["id"]
    assert rp.client.get(f"{BASE}/backupLocations", params={"api-version": V}).status_code == 200
    _store_intact(rp)
