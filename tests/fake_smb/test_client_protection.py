"""Clients that insist on signing or sealing, and clients limited to AES-256.

Samba's smbclient is the strict client here: with ``--client-protection=sign``
it demands a valid SPNEGO mechListMIC (MS-SPNG 3.3.5.1), with ``=encrypt`` it
also demands NTLMSSP_NEGOTIATE_SEAL in the CHALLENGE (MS-NLMP 3.1.5.1.2) and
seals every request after logon.  Each case runs against fake_smb and, held to
the same expectations, against a real smbd.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ibs.fake_smb import FakeSmbServer
from ibs.fake_smb.samba import SambaServer

USER, PASSWORD = "alice", "s3cret-pw"
PAYLOAD = b"sealed and signed " * 4096

# In CI (IBS_REQUIRE_SAMBA=1) a missing smbclient or smbd is a failure, never a skip.
REQUIRED = os.environ.get("IBS_REQUIRE_SAMBA") == "1"


def _missing(what: str) -> None:
    if REQUIRED:
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(autouse=True)
def _smbclient() -> None:
    if shutil.which("smbclient") is None:
        _missing("smbclient (Debian package smbclient) is not installed")


@pytest.fixture(params=["fake_smb", "samba"])
def peer(request, tmp_path) -> Iterator[tuple[object, Path]]:
    """A running server and its share directory."""
    share = tmp_path / "share"
    share.mkdir()
    if request.param == "samba":
        if not SambaServer.available():
            _missing("smbd, smbpasswd or nss_wrapper missing, or not root")
        srv = SambaServer(share, users={USER: PASSWORD}, encryption="desired")
    else:
        srv = FakeSmbServer(share, users={USER: PASSWORD})
    srv.start()
    try:
        yield srv, share
    finally:
        srv.stop()


def _smbclient(port: int, workdir: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """put, ls and get one file with smbclient; a bounded run, output kept for the message."""
    return subprocess.run(
        ["smbclient", "//127.0.0.1/backup", "-p", str(port), "-U", f"{USER}%{PASSWORD}", "-m", "SMB3",
         *options, "-c", "put up.bin; ls; get up.bin down.bin"],
        check=False, cwd=workdir, capture_output=True, text=True, timeout=60,
    )


def _transfer(peer, tmp_path: Path, *options: str) -> None:
    srv, share = peer
    work = tmp_path / "client"
    work.mkdir()
    (work / "up.bin").write_bytes(PAYLOAD)
    proc = _smbclient(srv.port, work, *options)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "up.bin" in proc.stdout, out  # listed by ls
    assert (share / "up.bin").read_bytes() == PAYLOAD
    assert (work / "down.bin").read_bytes() == PAYLOAD


@pytest.mark.parametrize("protection", ["sign", "encrypt"])
def test_client_insisting_on_protection_transfers_a_file(peer, tmp_path, protection):
    _transfer(peer, tmp_path, f"--client-protection={protection}")


@pytest.mark.parametrize("cipher", ["AES-256-GCM", "AES-256-CCM"])
def test_client_limited_to_an_aes_256_cipher_transfers_a_file(peer, tmp_path, cipher):
    _transfer(peer, tmp_path, "--client-protection=encrypt",
              f"--option=client smb3 encryption algorithms = {cipher}")
