"""CHANGE_NOTIFY and CANCEL: the request fake_smb answers asynchronously (MS-SMB2 3.3.4.2,
3.3.5.19, 3.3.5.16).

fake_smb does not watch directories, so a change notification never fires: the request
stays pending until the client cancels it (STATUS_CANCELLED) or the directory's open goes
away (STATUS_NOTIFY_CLEANUP), as on a server whose directory nobody touches.  Like smbd, the
interim STATUS_PENDING response (with the AsyncId a CANCEL may then name) goes out only if the
request is still pending INTERIM_DELAY seconds later: a CANCEL sent at once names the request
by MessageId and gets a plain (synchronous) final answer; smbtorture's compound.interim1
depends on that.  impacket answered NOTIFY NOT_SUPPORTED and CANCEL with a response of its
own, which no server sends.
"""

from __future__ import annotations

import itertools
import os
import stat as stat_mod
import struct
import time
from dataclasses import dataclass

from impacket.nt_errors import (
    STATUS_ACCESS_DENIED,
    STATUS_CANCELLED,
    STATUS_FILE_CLOSED,
    STATUS_INVALID_PARAMETER,
    STATUS_NETWORK_NAME_DELETED,
    STATUS_NOTIFY_CLEANUP,
    STATUS_PENDING,
)

from ibs.fake_smb.fast_path import response_header

CHANGE_NOTIFY = 0x000F
CANCEL = 0x000C
FLAGS_SERVER_TO_REDIR = 0x00000001
FLAGS_ASYNC = 0x00000002
_ERROR_BODY = struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"  # SMB2 ERROR (MS-SMB2 2.2.2)
_KEY = "FakeSmbPendingNotify"  # in impacket's connection data: {MessageId: Pending}
_async_ids = itertools.count(1)
INTERIM_DELAY = 0.5  # seconds, smbd's default before it sends an interim response


@dataclass
class Pending:
    header: bytes  # the NOTIFY request's header, to answer it later
    async_id: int
    fid: bytes
    interim_due: float  # time.monotonic() deadline of the interim response
    interim_sent: bool = False


def _pending(conn_data: dict) -> dict[int, Pending]:
    return conn_data.setdefault(_KEY, {})


def change_notify(conn_data: dict, message: bytes) -> bytes | None:
    """None for a CHANGE_NOTIFY that now waits (interim_responses() answers it later), or its error."""
    session_id = conn_data.get("Uid", 0)

    def fail(status: int) -> bytes:
        return response_header(message, status, session_id) + _ERROR_BODY

    if not conn_data.get("Authenticated"):
        return fail(STATUS_ACCESS_DENIED)
    if struct.unpack_from("<I", message, 36)[0] not in conn_data.get("ConnectedShares", {}):
        return fail(STATUS_NETWORK_NAME_DELETED)
    if len(message) < 64 + 32 or struct.unpack_from("<H", message, 64)[0] != 32:
        return fail(STATUS_INVALID_PARAMETER)
    fid = bytes(message[64 + 8:64 + 24])
    entry = conn_data.get("OpenedFiles", {}).get(fid)
    if entry is None:
        return fail(STATUS_FILE_CLOSED)
    try:
        is_dir = stat_mod.S_ISDIR(os.fstat(entry["FileHandle"]).st_mode)
    except (OSError, KeyError, TypeError):
        is_dir = False
    if not is_dir:  # only a directory can be watched (MS-SMB2 3.3.5.19)
        return fail(STATUS_INVALID_PARAMETER)
    pending = Pending(bytes(message[:64]), next(_async_ids), fid, time.monotonic() + INTERIM_DELAY)
    _pending(conn_data)[struct.unpack_from("<Q", message, 24)[0]] = pending
    return None


def next_interim(conn_data: dict) -> float | None:
    """When the next interim response is due (time.monotonic()), or None."""
    dues = [p.interim_due for p in conn_data.get(_KEY, {}).values() if not p.interim_sent]
    return min(dues, default=None)


def interim_responses(conn_data: dict, now: float) -> list[bytes]:
    """The interim STATUS_PENDING responses due by ``now`` (MS-SMB2 3.3.4.2)."""
    out = []
    for pending in conn_data.get(_KEY, {}).values():
        if not pending.interim_sent and pending.interim_due <= now:
            pending.interim_sent = True
            out.append(_final(pending, STATUS_PENDING, conn_data.get("Uid", 0)))
    return out


def cancel(conn_data: dict, message: bytes) -> bytes | None:
    """The final response of the request a CANCEL names; CANCEL itself is never answered."""
    table = _pending(conn_data)
    flags, = struct.unpack_from("<I", message, 16)
    if flags & FLAGS_ASYNC:
        async_id, = struct.unpack_from("<Q", message, 32)
        key = next((mid for mid, p in table.items() if p.async_id == async_id), None)
    else:
        key = struct.unpack_from("<Q", message, 24)[0]
    pending = table.pop(key, None)
    if pending is None:
        return None
    return _final(pending, STATUS_CANCELLED, conn_data.get("Uid", 0))


def orphaned(conn_data: dict) -> list[bytes]:
    """Final NOTIFY_CLEANUP responses for the pending requests whose open is gone (a CLOSE,
    TREE_DISCONNECT or LOGOFF took it)."""
    table = conn_data.get(_KEY)
    if not table:
        return []
    opens = conn_data.get("OpenedFiles", {})
    gone = [mid for mid, p in table.items() if p.fid not in opens]
    return [_final(table.pop(mid), STATUS_NOTIFY_CLEANUP, conn_data.get("Uid", 0)) for mid in gone]


def _final(pending: Pending, status: int, session_id: int) -> bytes:
    """A response to the pending request: async (AsyncId in place of TreeId) once its interim
    response has gone out or is this one, else a plain one."""
    header = bytearray(response_header(pending.header, status, session_id))
    if pending.interim_sent:
        struct.pack_into("<I", header, 16, FLAGS_SERVER_TO_REDIR | FLAGS_ASYNC)
        struct.pack_into("<Q", header, 32, pending.async_id)
    return bytes(header) + _ERROR_BODY
