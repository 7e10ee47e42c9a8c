"""Encryption required / desired / off, checked on the wire through a relay."""

from __future__ import annotations

import pytest
from smbprotocol.connection import Ciphers
from smbprotocol.exceptions import AccessDenied, SMBException
from smbprotocol.tree import TreeConnect

from tests.fake_smb.relay import transforms, write_through_relay

SECRET = b"plain-text-marker-" * 64


def _write_through_relay(server, dialect="3.1.1", require_encryption=False, ciphers=None):
    r = write_through_relay(server, SECRET, dialect, require_encryption, ciphers)
    return r.session, r.conn, r.relay


@pytest.mark.parametrize(
    "dialect,ciphers,expected",
    [
        ("3.1.1", [Ciphers.AES_128_GCM], Ciphers.AES_128_GCM),
        ("3.1.1", [Ciphers.AES_128_CCM], Ciphers.AES_128_CCM),
        ("3.1.1", [Ciphers.AES_256_GCM], Ciphers.AES_256_GCM),
        ("3.1.1", [Ciphers.AES_256_CCM], Ciphers.AES_256_CCM),
        ("3.0.2", None, None),
        ("3.0", None, None),
    ],
)
def test_required_encrypts_everything_after_logon(server, share, dialect, ciphers, expected):
    server.encryption = "required"
    session, conn, relay = _write_through_relay(server, dialect, ciphers=ciphers)
    assert session.encrypt_data is True
    if expected is not None:
        assert conn.cipher_id == expected
    assert SECRET[:32] not in relay.to_server and SECRET[:32] not in relay.to_client
    assert transforms(relay.to_server) and transforms(relay.to_client)
    assert (share / "secret.txt").read_bytes() == SECRET


def test_required_refuses_a_client_that_cannot_encrypt(server, clients):
    server.encryption = "required"
    with pytest.raises(AccessDenied):
        clients.login(dialect="2.1")


def test_required_refuses_an_unencrypted_request_on_an_encrypted_session(server, clients):
    server.encryption = "required"
    client = clients.login(tree=False)
    assert client.session.encrypt_data
    client.session.encrypt_data = False  # misbehave: send the tree connect in clear
    with pytest.raises(AccessDenied):
        TreeConnect(client.session, server.unc).connect()


def test_desired_leaves_a_2x_client_plain(server):
    # Like smbd, "desired" encrypts every 3.x session (tests/fake_smb/test_encryption_desired.py);
    # a 2.x client cannot encrypt and is served in clear.
    server.encryption = "desired"
    session, _, relay = _write_through_relay(server, dialect="2.1", require_encryption=False)
    assert session.encrypt_data is False
    assert SECRET[:32] in relay.to_server
    assert not transforms(relay.to_server)


def test_desired_lets_a_client_encrypt(server):
    server.encryption = "desired"
    session, _, relay = _write_through_relay(server, require_encryption=True)
    assert session.encrypt_data is True
    assert SECRET[:32] not in relay.to_server and SECRET[:32] not in relay.to_client


def test_off_does_not_offer_encryption(server, clients):
    server.encryption = "off"
    _session, conn, relay = _write_through_relay(server, require_encryption=False)
    assert conn.supports_encryption is False
    assert not transforms(relay.to_server) and not transforms(relay.to_client)
    with pytest.raises(SMBException, match="encryption"):
        clients.login(require_encryption=True)


def test_bad_encryption_value(server):
    with pytest.raises(ValueError, match="encryption"):
        server.encryption = "maybe"
