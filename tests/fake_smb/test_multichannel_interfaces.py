"""FSCTL_QUERY_NETWORK_INTERFACE_INFO: fake_smb names 127.0.0.1 alone, byte for byte what smbd
answers with ``interfaces = 127.0.0.1``, and refuses what smbd refuses."""

from __future__ import annotations

import socket

import pytest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.ioctl import (
    CtlCode,
    IOCTLFlags,
    SMB2IOCTLRequest,
    SMB2IOCTLResponse,
    SMB2NetworkInterfaceInfo,
)

from tests.fake_smb.conftest import PASSWORD, USER, Clients

STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_BUFFER_TOO_SMALL = 0xC0000023
NO_FILE = b"\xff" * 16


@pytest.fixture(params=["fake_smb", "samba"])
def tree(request, clients):
    if request.param == "fake_smb":
        return clients.login().tree
    samba_clients = Clients(request.getfixturevalue("samba_peer"))
    request.addfinalizer(samba_clients.close)
    return samba_clients.login(USER, PASSWORD).tree


def _query(tree, file_id: bytes = NO_FILE, max_output: int = 65536, data: bytes = b"") -> bytes:
    req = SMB2IOCTLRequest()
    req["ctl_code"] = CtlCode.FSCTL_QUERY_NETWORK_INTERFACE_INFO
    req["file_id"] = file_id
    req["max_output_response"] = max_output
    req["flags"] = IOCTLFlags.SMB2_0_IOCTL_IS_FSCTL
    req["buffer"] = data
    conn = tree.session.connection
    response = conn.receive(conn.send(req, sid=tree.session.session_id, tid=tree.tree_connect_id))
    resp = SMB2IOCTLResponse()
    resp.unpack(response["data"].get_value())
    return resp["buffer"].get_value()


def test_the_one_interface_is_loopback(tree):
    entries = SMB2NetworkInterfaceInfo.unpack_multiple(_query(tree))
    assert len(entries) == 1
    entry = entries[0]
    assert entry["sock_addr_storage"]["family"].get_value() == socket.AF_INET
    assert entry["sock_addr_storage"]["buffer"].get_value()["ipv4_address"].pack() == socket.inet_aton("127.0.0.1")
    assert entry["if_index"].get_value() == socket.if_nametoindex("lo")
    assert entry["link_speed"].get_value() == 1_000_000_000


@pytest.mark.parametrize(("change", "status"), [
    ({"file_id": b"\x01" * 16}, STATUS_INVALID_PARAMETER),  # names an open: this FSCTL takes none
    ({"data": b"\x00" * 4}, STATUS_INVALID_PARAMETER),  # it takes no input either
    ({"max_output": 100}, STATUS_BUFFER_TOO_SMALL),  # one entry is 152 bytes
])
def test_refused_as_smbd_refuses(tree, change, status):
    with pytest.raises(SMBResponseException) as refused:
        _query(tree, **change)
    assert refused.value.status == status
