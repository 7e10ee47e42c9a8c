"""The fault hooks: stall, drop mid-write, slow writes (refuse_logons is in test_auth)."""

from __future__ import annotations

import time

import pytest
from smbprotocol.exceptions import SMBConnectionClosed, SMBException
from smbprotocol.open import CreateDisposition

from tests.fake_smb.test_files import _open

KiB = 1024


def _send_write(client, fh, data, offset=0):
    msg, _ = fh.write(data, offset, send=False)
    return client.connection.send(msg, client.session.session_id, client.tree.tree_connect_id)


def test_stall_after_bytes_stops_answering(server, clients, share):
    client = clients.login()
    fh = _open(client.tree, "s.bin", CreateDisposition.FILE_OVERWRITE_IF)
    fh.write(b"a" * KiB, 0)  # still answered
    server.faults.stall_after_bytes = 64 * KiB
    request = _send_write(client, fh, b"b" * 128 * KiB, KiB)
    started = time.monotonic()
    with pytest.raises(SMBException, match="[Tt]ime"):
        client.connection.receive(request, timeout=1)
    assert time.monotonic() - started >= 0.9
    assert (share / "s.bin").stat().st_size == KiB  # the stalled write was not carried out
    server.faults.stall_after_bytes = None
    # A new connection starts its own count, so it works again.
    assert clients.login().session.session_id


def test_drop_mid_write_cuts_the_connection_and_keeps_half(server, clients, share):
    client = clients.login()
    fh = _open(client.tree, "d.bin", CreateDisposition.FILE_OVERWRITE_IF)
    server.faults.drop_mid_write = True
    with pytest.raises((SMBConnectionClosed, SMBException, OSError)):
        fh.write(b"z" * 256 * KiB, 0)
    assert (share / "d.bin").read_bytes() == b"z" * 128 * KiB
    server.faults.drop_mid_write = False
    again = clients.login()
    fh2 = _open(again.tree, "d.bin", CreateDisposition.FILE_OVERWRITE_IF)
    assert fh2.write(b"ok", 0) == 2


def test_write_delay_slows_every_write(server, clients):
    client = clients.login()
    fh = _open(client.tree, "w.bin", CreateDisposition.FILE_OVERWRITE_IF)
    server.faults.write_delay = 0.1
    started = time.monotonic()
    for i in range(3):
        fh.write(b"x", i)
    assert time.monotonic() - started >= 0.3
    server.faults.write_delay = 0.0
    started = time.monotonic()
    fh.write(b"y", 3)
    assert time.monotonic() - started < 0.1
