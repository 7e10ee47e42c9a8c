"""Samba's smbclient, insisting on signing without sealing, against each signing algorithm.

smbclient checks every response's signature and refuses the session at the first bad one,
so a transfer that completes is an independent check of fake_smb's AES-GMAC, AES-CMAC and
HMAC-SHA256 signing (the other tests of fake_smb's signing use smbprotocol).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ibs.fake_smb import FakeSmbServer

USER, PASSWORD = "alice", "s3cret-pw"
PAYLOAD = b"signed, in the clear " * 5000


@pytest.fixture(autouse=True)
def _smbclient() -> None:
    if shutil.which("smbclient") is None:
        if os.environ.get("IBS_REQUIRE_SAMBA") == "1":
            pytest.fail("smbclient (Debian package smbclient) is not installed")
        pytest.skip("smbclient (Debian package smbclient) is not installed")


@pytest.mark.parametrize(("max_protocol", "algorithm"), [
    ("SMB3_11", "AES-128-GMAC"),
    ("SMB3_11", "AES-128-CMAC"),
    ("SMB3_11", "HMAC-SHA256"),
    ("SMB3_02", "AES-128-CMAC"),  # 3.0.2 has no signing context: CMAC by the dialect
    ("SMB2_10", "HMAC-SHA256"),
])
def test_signing_client_transfers_a_file_over_an_unsealed_session(tmp_path: Path, max_protocol, algorithm):
    share, work = tmp_path / "share", tmp_path / "client"
    share.mkdir()
    work.mkdir()
    (work / "up.bin").write_bytes(PAYLOAD)
    with FakeSmbServer(share, users={USER: PASSWORD}, encryption="off") as srv:
        proc = subprocess.run(
            ["smbclient", "//127.0.0.1/backup", "-p", str(srv.port), "-U", f"{USER}%{PASSWORD}",
             "-m", max_protocol, "--client-protection=sign",
             f"--option=client smb3 signing algorithms = {algorithm}",
             "-c", "put up.bin; ls; get up.bin down.bin"],
            check=False, cwd=work, capture_output=True, text=True, timeout=60,
        )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "up.bin" in proc.stdout, out
    assert (share / "up.bin").read_bytes() == PAYLOAD
    assert (work / "down.bin").read_bytes() == PAYLOAD
