"""Dialect negotiation and the min/max switches, through smbprotocol."""

from __future__ import annotations

import pytest
from smbprotocol.connection import Ciphers
from smbprotocol.exceptions import NotSupported

from ibs.fake_smb import FakeSmbServer
from tests.fake_smb.conftest import DIALECT_CODES

ALL = list(DIALECT_CODES)


@pytest.mark.parametrize("dialect", ALL)
def test_each_dialect_negotiates_and_serves_the_share(clients, dialect):
    client = clients.login(dialect=dialect)
    assert client.connection.dialect == DIALECT_CODES[dialect]
    assert client.tree.tree_connect_id


def test_default_is_the_highest_dialect_with_gcm(clients):
    client = clients.login()
    assert client.connection.dialect == DIALECT_CODES["3.1.1"]
    assert client.connection.cipher_id == Ciphers.AES_128_GCM


def test_large_io_sizes_are_advertised(clients):
    conn = clients.connect()
    assert min(conn.max_read_size, conn.max_write_size, conn.max_transact_size) >= 8 * 1024 * 1024


@pytest.mark.parametrize("dialect", ["3.0", "3.0.2", "3.1.1"])
def test_client_asking_only_for_3x_fails_against_a_2x_server(server, clients, dialect):
    server.max_dialect = "2.1"
    with pytest.raises(NotSupported):  # STATUS_NOT_SUPPORTED, as Samba answers
        clients.connect(dialect=dialect)


def test_max_dialect_caps_a_client_offering_everything(server, clients):
    server.max_dialect = "2.1"
    assert clients.connect().dialect == DIALECT_CODES["2.1"]
    server.max_dialect = "3.0.2"
    assert clients.connect().dialect == DIALECT_CODES["3.0.2"]


def test_min_dialect_refuses_an_older_client(server, clients):
    server.min_dialect = "3.0"
    with pytest.raises(NotSupported):  # STATUS_NOT_SUPPORTED, as Samba answers
        clients.connect(dialect="2.1")
    assert clients.login(dialect="3.0").connection.dialect == DIALECT_CODES["3.0"]


@pytest.mark.parametrize("bad", ["3.1", "2", "", "SMB3", None])
def test_bad_dialect_values_raise_value_error(share, bad):
    with pytest.raises(ValueError, match="dialect"):
        FakeSmbServer(share, max_dialect=bad)


def test_inverted_window_raises_value_error(share, server):
    with pytest.raises(ValueError, match="above"):
        FakeSmbServer(share, min_dialect="3.1.1", max_dialect="3.0")
    with pytest.raises(ValueError):
        server.max_dialect = "nope"
    server.min_dialect = "3.0"
    with pytest.raises(ValueError):
        server.max_dialect = "2.1"
