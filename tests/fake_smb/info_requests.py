"""QUERY_INFO and SET_INFO by hand, with AdditionalInformation and error data, and CREATE with
an EA buffer: what the security-descriptor and EA tests send to fake_smb and to Samba alike.

``Peer`` is one server (fake_smb, or the module's real smbd) seen through smbprotocol, each
test in a folder of its own so that tests sharing one smbd do not meet.
"""

from __future__ import annotations

import struct

import pytest
from smbprotocol.create_contexts import CreateContextName, SMB2CreateContextRequest
from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    ImpersonationLevel,
    Open,
    SMB2QueryInfoRequest,
    SMB2QueryInfoResponse,
    SMB2SetInfoRequest,
)
from smbprotocol.tree import TreeConnect

from tests.fake_smb.peers import Peer, peers  # noqa: F401 (the info tests' peers)
from tests.fake_smb.raw_requests import SHARE_ALL, _exchange

INFO_FILE, INFO_SECURITY = 1, 3
STATUS_SUCCESS = 0
STATUS_BUFFER_OVERFLOW = 0x80000005
STATUS_BUFFER_TOO_SMALL = 0xC0000023
STATUS_ACCESS_DENIED = 0xC0000022
STATUS_INVALID_PARAMETER = 0xC000000D
STATUS_INVALID_OWNER = 0xC000005A
STATUS_NO_EAS_ON_FILE = 0xC0000052
STATUS_INVALID_EA_NAME = 0x80000013
MAXIMUM_ALLOWED = 0x02000000
SYNCHRONIZE = 0x00100000


PEERS = ["fake", pytest.param("samba", marks=pytest.mark.samba)]


def open_path(tree: TreeConnect, name: str, access: int = MAXIMUM_ALLOWED,
              disposition: int = CreateDisposition.FILE_OPEN_IF, directory: bool = False,
              contexts: list | None = None) -> Open:
    handle = Open(tree, name)
    options = CreateOptions.FILE_DIRECTORY_FILE if directory else CreateOptions.FILE_NON_DIRECTORY_FILE
    handle.create(ImpersonationLevel.Impersonation, access, 0, SHARE_ALL, disposition, options,
                  create_contexts=contexts)
    return handle


def create_status(tree: TreeConnect, name: str, **kw) -> int:
    try:
        open_path(tree, name, **kw).close()
    except SMBResponseException as exc:
        return exc.status
    return STATUS_SUCCESS


def ea_context(buf: bytes) -> SMB2CreateContextRequest:
    ctx = SMB2CreateContextRequest()
    ctx["buffer_name"] = CreateContextName.SMB2_CREATE_EA_BUFFER
    ctx["buffer_data"] = buf
    return ctx


def query(handle: Open, info_type: int, info_class: int, length: int = 65535,
          additional: int = 0) -> tuple[int, bytes]:
    """(status, output buffer) of a QUERY_INFO; for an error, the error response's ErrorData
    (BUFFER_TOO_SMALL carries the size needed there)."""
    req = SMB2QueryInfoRequest()
    req["info_type"] = info_type
    req["file_info_class"] = info_class
    req["file_id"] = handle.file_id
    req["output_buffer_length"] = length
    req["additional_information"] = additional
    try:
        response = _exchange(handle, req)
    except SMBResponseException as exc:
        data = exc.header["data"].get_value()
        if exc.status != STATUS_BUFFER_OVERFLOW:
            (count,) = struct.unpack_from("<I", data, 4)
            return exc.status, data[8 : 8 + count]
        response = exc.header
    resp = SMB2QueryInfoResponse()
    resp.unpack(response["data"].get_value())
    return response["status"].get_value(), resp["buffer"].get_value()


def set_raw(handle: Open, info_type: int, info_class: int, buf: bytes, additional: int = 0) -> int:
    """The status of a SET_INFO of ``buf``."""
    req = SMB2SetInfoRequest()
    req["info_type"] = info_type
    req["file_info_class"] = info_class
    req["file_id"] = handle.file_id
    req["buffer"] = buf
    req["additional_information"] = additional
    try:
        _exchange(handle, req)
    except SMBResponseException as exc:
        return exc.status
    return STATUS_SUCCESS
