"""Fixtures for the provider's tests: a server on 127.0.0.1:0 in this process, an httpx client.

The certificates and sample trees are the engine tests' own (tests/engine/conftest.py).
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from ibs.engine.clock import SystemClock
from ibs.engine.controller import Controller
from ibs.engine.rp.api import Api
from ibs.engine.rp.auth import TokenCheck, digest
from ibs.engine.rp.server import RpServer, make_server
from ibs.engine.source import DirectorySource
from tests.engine.conftest import CertPair, cert_pair, make_tree, other_cert_pair  # noqa: F401

TOKEN = "rp-test-token-5Yw2"
V = "2018-09-01"
BASE = "/subscriptions/sub-1/resourceGroups/system.local/providers/Microsoft.Backup.Admin"
LOC = f"{BASE}/backupLocations/local"
SHARE_PASSWORD = "share-Pw-9913-secret"


class Gate:
    """Holds a backup job in the middle of its first role until ``open()``."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.event.set()

    def close(self) -> None:
        self.event.clear()

    def open(self) -> None:
        self.event.set()


class GatedSource:
    def __init__(self, folder: str, gate: Gate) -> None:
        self._inner = DirectorySource(folder)
        self._gate = gate

    def total_bytes(self) -> int:
        return self._inner.total_bytes()

    def items(self):
        for n, item in enumerate(self._inner.items()):
            if n == 2:
                assert self._gate.event.wait(60), "the test never opened the gate"
            yield item


@dataclass
class Rp:
    server: RpServer
    api: Api
    client: httpx.Client
    anon: httpx.Client
    tmp: Path
    share: Path
    sources: dict[str, Path]
    gate: Gate
    logs: list[str] = field(default_factory=list)
    responses: list[bytes] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def wait(self, response: httpx.Response, timeout: float = 60) -> httpx.Response:
        """Follow a 202's Location until the operation has its answer."""
        assert response.status_code == 202, response.text
        location = response.headers["Location"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r = self.client.get(location)
            if r.status_code != 202:
                return r
            time.sleep(0.05)
        raise AssertionError("the operation did not finish")

    def enable(self, cert: CertPair, **extra) -> dict:
        store = {"path": str(self.share), "encryptionCertBase64": _b64(cert.cer),
                 "sources": {k: str(v) for k, v in self.sources.items()}, **extra}
        r = self.wait(self.client.put(LOC, params={"api-version": V},
                                      json={"properties": {"externalStoreDefault": store}}))
        assert r.status_code == 200, r.text
        return r.json()

    def backup(self) -> dict:
        r = self.wait(self.client.post(f"{LOC}/createBackup", params={"api-version": V}))
        assert r.status_code == 200, r.text
        return r.json()


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def rp(tmp_path: Path) -> Iterator[Rp]:
    share = tmp_path / "share"
    share.mkdir()
    sources = {
        "CA": make_tree(tmp_path / "src" / "CA", {"ca.db": b"certificate authority\n" * 500,
                                                 "sub/x.txt": b"x" * 3000}),
        "ECE": make_tree(tmp_path / "src" / "ECE", {"cfg/ece.json": b'{"x": 1}',
                                                   "blob": os.urandom(20000)}),
    }
    gate = Gate()
    logs: list[str] = []
    responses: list[bytes] = []

    def factory(store, clock):
        return Controller(store, clock, chunk_size=4096, threads=False,
                          source_factory=lambda role, folder: GatedSource(folder, gate))

    store_dir = tmp_path / "store"
    api = Api(str(store_dir), TokenCheck(digest(TOKEN)), clock=SystemClock(),
              restore_root=str(tmp_path / "restores"), controller_factory=factory,
              log=logs.append)
    server = make_server(api, "127.0.0.1", 0)
    server.start()

    def keep(response: httpx.Response) -> None:
        response.read()
        responses.append(response.content + str(response.headers).encode())

    hooks = {"response": [keep]}
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"},
                          timeout=30, event_hooks=hooks)
    anon = httpx.Client(base_url=server.url, timeout=30, event_hooks=hooks)
    try:
        yield Rp(server, api, client, anon, tmp_path, share, sources, gate, logs, responses)
    finally:
        gate.open()
        client.close()
        anon.close()
        server.stop(wait_for_jobs=30)


# Two ids that share their first four characters, and one that shares nothing with them.
PREFIX_IDS = [uuid.UUID("0a1b2c3d-0000-4000-8000-000000000001"),
              uuid.UUID("0a1bffff-0000-4000-8000-000000000002"),
              uuid.UUID("7f000000-0000-4000-8000-000000000003")]


@pytest.fixture
def three_backups(rp: Rp, cert_pair: CertPair) -> list[str]:  # noqa: F811  (the fixture)
    """Three backups made with PREFIX_IDS, oldest first (their starts are what is typed)."""
    ids = itertools.chain(PREFIX_IDS, iter(uuid.uuid4, None))
    rp.api._make_controller = lambda store, clock: Controller(
        store, clock, chunk_size=4096, threads=False, new_id=lambda: next(ids),
        source_factory=lambda role, folder: GatedSource(folder, rp.gate))
    rp.enable(cert_pair)
    made = [rp.backup()["name"].split("/")[1] for _ in PREFIX_IDS]
    assert made == [str(i) for i in PREFIX_IDS]
    return made
