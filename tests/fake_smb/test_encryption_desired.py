"""Encryption "desired", held to Samba's: encrypt every session that can be encrypted.

With ``server smb encrypt = desired`` smbd sets SMB2_SESSION_FLAG_ENCRYPT_DATA on
every SMB 3.x session with a cipher in common, so the client seals everything
after logon; an SMB 2.x client gets a plain session.  Each case runs against
fake_smb and, held to the same expectations, against a real smbd.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from smbprotocol.connection import Connection
from smbprotocol.exceptions import AccessDenied
from smbprotocol.session import Session
from smbprotocol.tree import TreeConnect

from ibs.fake_smb import FakeSmbServer
from ibs.fake_smb.samba import SambaServer
from tests.fake_smb.conftest import DIALECT_CODES, PASSWORD, USER
from tests.fake_smb.relay import transforms, write_through_relay

SECRET = b"desired-but-secret-" * 64
REQUIRED = os.environ.get("IBS_REQUIRE_SAMBA") == "1"


@pytest.fixture(params=["fake_smb", "samba"])
def peer(request, tmp_path) -> Iterator[object]:
    share = tmp_path / "share"
    share.mkdir()
    if request.param == "samba":
        if not SambaServer.available():
            if REQUIRED:
                pytest.fail("smbd, smbpasswd or nss_wrapper missing, or not root")
            pytest.skip("smbd, smbpasswd or nss_wrapper missing, or not root")
        srv = SambaServer(share, users={USER: PASSWORD}, encryption="desired", min_protocol="SMB2_02")
    else:
        srv = FakeSmbServer(share, users={USER: PASSWORD}, encryption="desired")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def _write_through_relay(srv, dialect: str):
    """Log on (the client does not ask for encryption), write SECRET and read it back."""
    r = write_through_relay(srv, SECRET, dialect)
    return r.session, r.tree, r.relay


@pytest.mark.parametrize("dialect", ["3.1.1", "3.0.2", "3.0"])
def test_desired_encrypts_a_3x_session(peer, dialect):
    session, _, relay = _write_through_relay(peer, dialect)
    assert session.encrypt_data is True
    assert SECRET[:32] not in relay.to_server and SECRET[:32] not in relay.to_client
    assert transforms(relay.to_server) and transforms(relay.to_client)


def test_desired_leaves_a_2_1_session_plain(peer):
    session, tree, relay = _write_through_relay(peer, "2.1")
    assert session.encrypt_data is False and not tree.encrypt_data
    assert SECRET[:32] in relay.to_server and SECRET[:32] in relay.to_client
    assert not transforms(relay.to_server) and not transforms(relay.to_client)


def test_desired_session_refuses_unencrypted_requests(peer):
    # smbd turns "desired" into "required" for a session it encrypts.
    conn = Connection(uuid.uuid4(), "127.0.0.1", peer.port)
    conn.connect(dialect=DIALECT_CODES["3.1.1"], timeout=5)
    try:
        session = Session(conn, USER, PASSWORD, require_encryption=False, auth_protocol="ntlm")
        session.connect()
        assert session.encrypt_data is True
        session.encrypt_data = False  # misbehave: send the tree connect in clear
        with pytest.raises(AccessDenied):
            TreeConnect(session, peer.unc).connect()
    finally:
        conn.disconnect(close=False)
