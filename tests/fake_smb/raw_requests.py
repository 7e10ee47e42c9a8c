"""Requests smbprotocol's high-level API does not send, for tests that drive them by hand.

One place for CREATE with chosen access and sharing, QUERY_INFO by class number and SET_INFO
of an information structure, so each test file states only what it checks.
"""

from __future__ import annotations

from smbprotocol.exceptions import SMBResponseException
from smbprotocol.open import (
    CreateDisposition,
    CreateOptions,
    FilePipePrinterAccessMask,
    ImpersonationLevel,
    Open,
    ShareAccess,
    SMB2QueryInfoRequest,
    SMB2QueryInfoResponse,
    SMB2SetInfoRequest,
)

SHARE_ALL = ShareAccess.FILE_SHARE_READ | ShareAccess.FILE_SHARE_WRITE | ShareAccess.FILE_SHARE_DELETE
STATUS_BUFFER_OVERFLOW = 0x80000005


def open_file(tree, name: str, access: int = FilePipePrinterAccessMask.GENERIC_ALL,
              disposition: int = CreateDisposition.FILE_OPEN_IF,
              options: int = CreateOptions.FILE_NON_DIRECTORY_FILE,
              share: int = SHARE_ALL, attributes: int = 0) -> Open:
    handle = Open(tree, name)
    handle.create(ImpersonationLevel.Impersonation, access, attributes, share, disposition,
                  options)
    return handle


def _exchange(handle: Open, request):
    tree = handle.tree_connect
    conn = tree.session.connection
    return conn.receive(conn.send(request, sid=tree.session.session_id,
                                  tid=tree.tree_connect_id))


def query_info(handle: Open, info_type: int, info_class: int,
               length: int = 65535) -> tuple[int, bytes]:
    """(status, output buffer) of a QUERY_INFO; BUFFER_OVERFLOW keeps what fitted."""
    req = SMB2QueryInfoRequest()
    req["info_type"] = info_type
    req["file_info_class"] = info_class
    req["file_id"] = handle.file_id
    req["output_buffer_length"] = length
    try:
        response = _exchange(handle, req)
    except SMBResponseException as exc:
        if exc.status != STATUS_BUFFER_OVERFLOW:
            return exc.status, b""
        response = exc.header
    resp = SMB2QueryInfoResponse()
    resp.unpack(response["data"].get_value())
    return response["status"].get_value(), resp["buffer"].get_value()


def set_info(handle: Open, info) -> None:
    """SET_INFO of an information structure (its class says its type and class number)."""
    req = SMB2SetInfoRequest()
    req["info_type"] = info.INFO_TYPE
    req["file_info_class"] = info.INFO_CLASS
    req["file_id"] = handle.file_id
    req["buffer"] = info
    _exchange(handle, req)
