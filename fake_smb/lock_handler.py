"""SMB2 LOCK and CANCEL (MS-SMB2 3.3.5.14, 3.3.5.16): the wire side of locks.py.

impacket answers every LOCK with success and every CANCEL with a response of its own (a
CANCEL has none).  Here a LOCK is checked as Samba checks it, its ranges are taken from or
given back to the server's lock table, and a blocking lock that cannot be granted at once is
answered STATUS_PENDING with an AsyncId (an interim response), then, later and from whichever
thread frees its range, with its final status.  Both go out through the connection's
``PushMessage`` (connection.py), since no request is waiting for them.
"""

from __future__ import annotations

import os
import stat as stat_mod
import struct

from impacket.nt_errors import (
    STATUS_FILE_CLOSED,
    STATUS_INVALID_DEVICE_REQUEST,
    STATUS_INVALID_PARAMETER,
    STATUS_PENDING,
    STATUS_SUCCESS,
)

from ibs.fake_smb import locks, oplock_wire
from ibs.fake_smb.handler_util import RawBody, error, resolve_fid

SHARED = 0x01
EXCLUSIVE = 0x02
UNLOCK = 0x04
FAIL_IMMEDIATELY = 0x10
PUSH_KEY = "PushMessage"  # connData: send one whole SMB2 message on this connection

SMB2_LOCK = 0x000A
_FLAGS_SERVER_TO_REDIR = 0x00000001
_FLAGS_ASYNC_COMMAND = 0x00000002
_LOCK_REQ = struct.Struct("<HHI16s")  # StructureSize, LockCount, LockSequence, FileId (2.2.26)
_ELEMENT = struct.Struct("<QQI4x")  # Offset, Length, Flags, Reserved (2.2.26.1)
_ASYNC_HEADER = struct.Struct("<4sHHIHHIIQQQ16s")  # MS-SMB2 2.2.1.1
_LOCK_RESPONSE = struct.pack("<HH", 4, 0)  # 2.2.27
_ERROR_RESPONSE = struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"  # 2.2.2
_NO_RESPONSE = ([], None, STATUS_SUCCESS)  # impacket then sends nothing for this request

_LOCK_FLAGS = (SHARED, EXCLUSIVE, SHARED | FAIL_IMMEDIATELY, EXCLUSIVE | FAIL_IMMEDIATELY)


class Plan:
    """What a valid LOCK request asks: ranges to take (blocking or not), or to give back."""

    def __init__(self, unlock: bool, ranges: list, blocking: bool = False) -> None:
        self.unlock, self.ranges, self.blocking = unlock, ranges, blocking


def plan(elements: list[tuple[int, int, int]]) -> Plan | int:
    """Check the (offset, length, flags) elements as Samba does; a status for a bad request.

    The first element decides: UNLOCK makes an unlock request; SHARED or EXCLUSIVE alone a
    blocking lock, which must be the only element; with FAIL_IMMEDIATELY a lock that fails
    at once, and then every element must fail at once too.  In an unlock request a later
    element that is not UNLOCK fails only when the unlocking reaches it (locks.unlock)."""
    first = elements[0][2]
    unlock = first == UNLOCK
    if not unlock and first not in _LOCK_FLAGS:
        return STATUS_INVALID_PARAMETER
    blocking = first in (SHARED, EXCLUSIVE)
    if not unlock and len(elements) > 1 and any(not flags & FAIL_IMMEDIATELY for _, _, flags in elements):
        return STATUS_INVALID_PARAMETER
    ranges: list = []
    for offset, length, flags in elements:
        if unlock:
            ranges.append(locks.Range(offset, length) if flags == UNLOCK else None)
        elif flags not in _LOCK_FLAGS:
            return STATUS_INVALID_PARAMETER
        else:
            ranges.append(locks.Range(offset, length, exclusive=bool(flags & EXCLUSIVE)))
    return Plan(unlock, ranges, blocking)


def _async_message(request, async_id: int, status: int, body: bytes) -> bytes:
    """A response to ``request`` in the async form (MS-SMB2 3.3.4.2): AsyncId instead of TreeId."""
    header = _ASYNC_HEADER.pack(
        b"\xfeSMB", 64, request["CreditCharge"], status, SMB2_LOCK,
        request["CreditRequestResponse"] if status == STATUS_PENDING else 0,
        _FLAGS_SERVER_TO_REDIR | _FLAGS_ASYNC_COMMAND, 0, request["MessageID"], async_id,
        request["SessionID"], b"\x00" * 16,
    )
    return header + body


def lock_handler(connId, smbServer, recvPacket):
    conn_data = smbServer.getConnectionData(connId)
    body = bytes(recvPacket["Data"])
    if len(body) < _LOCK_REQ.size + _ELEMENT.size:
        return error(STATUS_INVALID_PARAMETER)
    _, count, _sequence, raw_fid = _LOCK_REQ.unpack_from(body, 0)
    if count < 1 or len(body) < _LOCK_REQ.size + count * _ELEMENT.size:
        return error(STATUS_INVALID_PARAMETER)
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, raw_fid))
    table = smbServer.lock_table
    owner = locks.owner_of(table, entry) if entry is not None else None
    if owner is None:
        return error(STATUS_FILE_CLOSED)
    # LockSequence is only checked for durable opens or with multichannel (Samba 4.17,
    # MS-SMB2 3.3.5.14); fake_smb offers neither, so a replayed LOCK is carried out again.
    request = plan([_ELEMENT.unpack_from(body, _LOCK_REQ.size + i * _ELEMENT.size) for i in range(count)])
    if isinstance(request, int):
        return error(request)
    if stat_mod.S_ISDIR(os.fstat(entry["FileHandle"]).st_mode):
        return error(STATUS_INVALID_DEVICE_REQUEST)  # a directory has no bytes to lock (as Samba)
    if request.unlock:
        status = table.unlock(owner, request.ranges)
    else:
        oplock_wire.written(smbServer, entry)  # read caches of a file being locked are stale (smbd)
        push = conn_data.get(PUSH_KEY)
        wait = _waiter(connId, owner, request.ranges[0], recvPacket, push) if request.blocking and push else None
        status = table.lock(owner, request.ranges, wait)
        if status is None:
            return _NO_RESPONSE  # answered STATUS_PENDING already
    if status != STATUS_SUCCESS:
        return error(status)
    return [RawBody(_LOCK_RESPONSE)], None, STATUS_SUCCESS


def _waiter(conn_id: str, owner: locks.LockOwner, wanted: locks.Range, request, push):
    message_id = request["MessageID"]

    def wait(async_id: int) -> locks.Waiter:
        push(_async_message(request, async_id, STATUS_PENDING, _ERROR_RESPONSE))

        def answer(status: int) -> None:
            body = _LOCK_RESPONSE if status == STATUS_SUCCESS else _ERROR_RESPONSE
            push(_async_message(request, async_id, status, body))

        return locks.Waiter(owner, wanted, conn_id, message_id, async_id, answer)

    return wait


def cancel_handler(connId, smbServer, recvPacket):
    """Cancel this connection's waiting LOCK named by the CANCEL; no response to the CANCEL
    itself, the cancelled request is answered STATUS_CANCELLED (MS-SMB2 3.3.5.16)."""
    if recvPacket["Flags"] & _FLAGS_ASYNC_COMMAND:
        # In the async header the AsyncId takes the place of Reserved and TreeId.
        async_id = recvPacket["Reserved"] | recvPacket["TreeID"] << 32
        smbServer.lock_table.cancel(connId, async_id=async_id)
    else:
        smbServer.lock_table.cancel(connId, message_id=recvPacket["MessageID"])
    return _NO_RESPONSE
