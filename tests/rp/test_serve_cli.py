"""``ibs serve-rp`` as an operator runs it: a subprocess, its token, its stderr."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.rp.conftest import LOC, SHARE_PASSWORD, V

PY = sys.executable


def _start(store: Path, env_token: str | None = None, *extra: str):
    env = {k: v for k, v in os.environ.items() if k != "IBS_RP_TOKEN"}
    if env_token:
        env["IBS_RP_TOKEN"] = env_token
    proc = subprocess.Popen([PY, "-m", "ibs.engine.cli", "serve-rp", "--store", str(store),
                             "--port", "0", *extra], stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        assert line, f"serve-rp ended: {lines}"
        lines.append(line)
        m = re.search(r"listening on (http://127\.0\.0\.1:\d+)/", line)
        if m:
            return proc, m.group(1), lines
    raise AssertionError(lines)


def _stop(proc) -> str:
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(30) == 0
    return rest


def test_token_is_made_once_printed_once_and_stored_hashed(tmp_path):
    store = tmp_path / "store"
    proc, url, lines = _start(store)
    try:
        token = re.search(r"new API token .*: (\S+)$", "".join(lines), re.M).group(1)
        saved = json.loads((store / "rp-token.json").read_text())
        assert saved == {"sha256": hashlib.sha256(token.encode()).hexdigest()}
        assert token not in (store / "rp-token.json").read_text()
        r = httpx.get(url + LOC, params={"api-version": V}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        assert httpx.get(url + LOC, params={"api-version": V}).status_code == 401
        log = "".join(lines) + _stop(proc)
    finally:
        proc.kill() if proc.poll() is None else None
    assert log.count(token) == 1 and "stopped" in log
    proc, url, lines = _start(store)  # the second start reuses it and prints no token
    try:
        assert token not in "".join(lines) and "earlier start" in "".join(lines)
        r = httpx.get(url + LOC, params={"api-version": V}, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200
        _stop(proc)
    finally:
        proc.kill() if proc.poll() is None else None


def test_env_token_and_no_secret_in_stderr(tmp_path):
    store = tmp_path / "store"
    share = tmp_path / "share"
    share.mkdir()
    proc, url, lines = _start(store, "env-token-81", "--restore-root", str(tmp_path / "r"))
    try:
        assert "new API token" not in "".join(lines) and "earlier" not in "".join(lines)
        h = {"Authorization": "Bearer env-token-81"}
        r = httpx.put(url + LOC, params={"api-version": V}, headers=h, json={"properties": {
            "externalStoreDefault": {"path": str(share), "userName": "u", "password": SHARE_PASSWORD}}})
        assert r.status_code == 202
        final = httpx.get(r.headers["Location"], headers=h).json()
        assert final["properties"]["externalStoreDefault"]["password"] is None
        log = "".join(lines) + _stop(proc)
    finally:
        proc.kill() if proc.poll() is None else None
    assert SHARE_PASSWORD not in log and "env-token-81" not in log
    assert "PUT /subscriptions" in log
    assert not (store / "rp-token.json").exists()
    for path in store.rglob("*"):
        if path.is_file():
            assert SHARE_PASSWORD.encode() not in path.read_bytes()


def test_global_store_option_is_kept_and_scheduler_starts_and_stops(tmp_path):
    store = tmp_path / "store"
    env = {**os.environ, "IBS_RP_TOKEN": "t"}
    proc = subprocess.Popen([PY, "-m", "ibs.engine.cli", "--store", str(store), "serve-rp", "--port", "0",
                             "--with-scheduler"],
                            stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = ""
        while "listening" not in line:
            line = proc.stderr.readline()
            assert line
        assert f"store {store}" in line
        rest = _stop(proc)
        assert "scheduler on" in rest and "stopped" in rest
    finally:
        proc.kill() if proc.poll() is None else None
