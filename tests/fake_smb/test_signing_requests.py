"""Signed requests are checked (MS-SMB2 3.3.5.2.4): a signature that does not verify is
refused with ACCESS_DENIED, a right one or none at all is served."""

from __future__ import annotations

import hashlib
import hmac
import struct

import pytest

from tests.fake_smb.test_session import CREATE, STATUS_SUCCESS, RawClient

STATUS_ACCESS_DENIED = 0xC0000022


def _hmac_sha256(key: bytes):
    # SMB 2.1 signs with HMAC-SHA256 keyed by the session key (MS-SMB2 3.1.4.1).
    return lambda message: hmac.new(key, message, hashlib.sha256).digest()[:16]


def _create_body(name: str) -> bytes:
    encoded = name.encode("utf-16le")
    return struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x0012019F, 0, 7, 3, 0x40,
                       120, len(encoded), 0, 0) + encoded


@pytest.fixture
def client(server):
    raw = RawClient(server.port)
    try:
        assert raw.negotiate_2_1() == STATUS_SUCCESS
        assert raw.logon() == STATUS_SUCCESS
        raw.tree_connect(server.unc)
        yield raw
    finally:
        raw.close()


def test_rightly_signed_and_unsigned_requests_are_served(client, share):
    assert client.call(CREATE, _create_body("signed.txt"), sign=_hmac_sha256(client.session_key))[0] == STATUS_SUCCESS
    assert client.call(CREATE, _create_body("plain.txt"))[0] == STATUS_SUCCESS
    assert {p.name for p in share.iterdir()} == {"signed.txt", "plain.txt"}


@pytest.mark.parametrize("forgery", ["wrong key", "altered after signing"])
def test_a_request_whose_signature_does_not_verify_is_access_denied(client, share, forgery):
    if forgery == "wrong key":
        sign = _hmac_sha256(bytes(16))
    else:
        # Signed for "forged.txt", sent naming "forgex.txt": the body changed after signing.
        good = _hmac_sha256(client.session_key)
        sign = lambda message: good(message.replace("forgex".encode("utf-16le"), "forged".encode("utf-16le")))
    status = client.call(CREATE, _create_body("forgex.txt"), sign=sign)[0]
    assert status == STATUS_ACCESS_DENIED
    assert list(share.iterdir()) == []  # nothing was created
    assert client.call(CREATE, _create_body("after.txt"))[0] == STATUS_SUCCESS  # the session goes on
