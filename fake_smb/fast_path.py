"""A direct route for single requests around impacket's dispatcher.

impacket's dispatcher parses every request with its generic Structure class,
first as SMB1, then as SMB2; on a 4 MiB WRITE that costs ~50 ms of slicing,
capping uploads near 40 MB/s, and listing a folder one entry at a time pays it
per entry.  READ, WRITE, CREATE, CLOSE, QUERY_DIRECTORY and the FSCTLs of fsctl.py
are handled by our code anyway, so a lone (non-compound) one on an
authenticated connection goes straight to it; everything else still goes
through impacket.
"""

from __future__ import annotations

import struct

from ibs.fake_smb import file_io, fsctl, open_close, query_directory

SMB2_CREATE = 0x0005
SMB2_CLOSE = 0x0006
SMB2_READ = 0x0008
SMB2_WRITE = 0x0009
SMB2_IOCTL = 0x000B
SMB2_QUERY_DIRECTORY = 0x000E
# A handler may answer None: that request goes to impacket's dispatcher after all.
_HANDLERS = {SMB2_READ: file_io.read_handler, SMB2_WRITE: file_io.write_handler,
             SMB2_QUERY_DIRECTORY: query_directory.query_directory_handler,
             SMB2_IOCTL: fsctl.direct_ioctl_handler,
             SMB2_CREATE: open_close.direct_create_handler, SMB2_CLOSE: open_close.close_handler}
_FLAGS_SERVER_TO_REDIR = 0x00000001
_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")


def response_header(request: bytes | memoryview, status: int, session_id: int) -> bytes:
    """The SMB2 header (MS-SMB2 2.2.1.2) answering one request, unsigned."""
    credit_charge, command, credits = struct.unpack_from("<HxxxxHH", request, 6)
    message_id, tree_id = struct.unpack_from("<Q4xI", request, 24)
    return _HEADER.pack(
        b"\xfeSMB", 64, credit_charge, status, command, max(1, credits),
        _FLAGS_SERVER_TO_REDIR, 0, message_id, 0, tree_id, session_id, b"\x00" * 16,
    )


_HEADER_FIELDS = {"CreditCharge": ("<H", 6), "Command": ("<H", 12), "CreditRequestResponse": ("<H", 14),
                  "Flags": ("<I", 16), "NextCommand": ("<I", 20), "MessageID": ("<Q", 24),
                  "SessionID": ("<Q", 40)}


class _Request:
    """Just the parts of impacket's SMB2Packet that our handlers read."""

    def __init__(self, message: bytes) -> None:
        self._message = message

    def __getitem__(self, key: str):
        if key == "Data":
            return memoryview(self._message)[64:]
        if key == "TreeID":
            return struct.unpack_from("<I", self._message, 36)[0]
        if key in _HEADER_FIELDS:  # what an async answer repeats (oplock_wire.py)
            fmt, offset = _HEADER_FIELDS[key]
            return struct.unpack_from(fmt, self._message, offset)[0]
        raise KeyError(key)


def try_fast(server, conn_id: str, message: bytes) -> bytes | None:
    """The response to a lone request we handle, or None to use impacket's dispatcher."""
    command, next_command = struct.unpack_from("<H", message, 12)[0], struct.unpack_from("<I", message, 20)[0]
    handler = _HANDLERS.get(command)
    if handler is None or next_command:
        return None
    conn_data = server.getConnectionData(conn_id, checkStatus=False)
    if not conn_data.get("Authenticated"):
        return None  # impacket answers STATUS_ACCESS_DENIED
    answer = handler(conn_id, server, _Request(message))
    if answer is None:
        return None
    commands, _, status = answer
    if not commands:
        return b""  # answered already, through PushMessage (a CREATE waiting for an oplock break)
    return response_header(message, status, conn_data["Uid"]) + commands[0].getData()
