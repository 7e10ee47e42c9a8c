"""Oplocks on the wire: the grant in CREATE, the break notification, the acknowledgment.

oplocks.py decides who holds what and which breaks an operation needs; this module carries
that out as smbd does (MS-SMB2 3.3.5.9, 3.3.4.6, 3.3.5.22.1):

- A CREATE that must wait for a break is answered STATUS_PENDING at once (an interim
  response with an AsyncId), and later, from whichever thread settles the break (the
  holder's acknowledgment, its CLOSE or lost connection, or the break timer), tried again
  from the start and answered in full.  A CREATE inside a compound chain cannot go async
  here: it waits in place instead (a holder on the same connection then answers only at
  the timeout).
- The break notification is smbd's: MessageId 0xFFFFFFFFFFFFFFFF, SessionId 0, unsigned,
  encrypted when the holder's session encrypts.  It goes out on the holder's connection
  through its ``PushMessage`` (connection.py), from any thread.
- An unanswered break ends after ``FakeSmbServer.oplock_break_timeout`` seconds (Samba's
  35 s by default): the holder's oplock is then none and the waiting opens go ahead.
"""

from __future__ import annotations

import itertools
import os
import stat as stat_mod
import struct
import threading

from impacket.nt_errors import (
    STATUS_FILE_CLOSED,
    STATUS_INVALID_OPLOCK_PROTOCOL,
    STATUS_INVALID_PARAMETER,
    STATUS_PENDING,
    STATUS_SUCCESS,
)

from ibs.fake_smb import delete_pending
from ibs.fake_smb.faults import DropConnection
from ibs.fake_smb.handler_util import RawBody, error, resolve_fid
from ibs.fake_smb.oplocks import LEVEL_II, LEVEL_NONE, OPLOCK_KEY, Break, Oplock, OplockTable
from ibs.fake_smb.release import close_open
from ibs.fake_smb.share_modes import file_key

PUSH_KEY = "PushMessage"  # connData: send one whole SMB2 message on this connection
IN_CHAIN_KEY = "InCompoundChain"  # connData: a compound chain is being answered (compound.py)
DEFAULT_BREAK_TIMEOUT = 35.0  # seconds, Samba's "oplock break wait"

SMB2_CREATE = 0x0005
SMB2_OPLOCK_BREAK = 0x0012
_FLAGS_SERVER_TO_REDIR = 0x00000001
_FLAGS_ASYNC_COMMAND = 0x00000002
_UNSOLICITED = 0xFFFFFFFFFFFFFFFF
_SYNC_HEADER = struct.Struct("<4sHHIHHIIQIIQ16s")  # MS-SMB2 2.2.1.2
_ASYNC_HEADER = struct.Struct("<4sHHIHHIIQQQ16s")  # MS-SMB2 2.2.1.1
_BREAK_BODY = struct.Struct("<HBBI16s")  # MS-SMB2 2.2.23.1, 2.2.24.1, 2.2.25.1
_ERROR_BODY = struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"  # MS-SMB2 2.2.2
_NO_RESPONSE = ([], None, STATUS_SUCCESS)
_RESPONSE_OPLOCK, _RESPONSE_FILE_ID = 2, 64  # offsets in the CREATE response body  # impacket then sends nothing for this request

# CreateDisposition values that replace the file's contents (MS-SMB2 2.2.13)
_OVERWRITING = (0, 4, 5)  # SUPERSEDE, OVERWRITE, OVERWRITE_IF
_FILE_CREATE = 2

_async_ids = itertools.count(1)


def break_notification(file_id: bytes, level: int) -> bytes:
    header = _SYNC_HEADER.pack(b"\xfeSMB", 64, 0, 0, SMB2_OPLOCK_BREAK, 0, _FLAGS_SERVER_TO_REDIR,
                               0, _UNSOLICITED, 0, 0, 0, b"\x00" * 16)
    return header + _BREAK_BODY.pack(24, level, 0, 0, file_id)


def break_timeout(smb_server) -> float:
    return float(getattr(smb_server.fake_config, "oplock_break_timeout", DEFAULT_BREAK_TIMEOUT))


def _notifier(push, file_id: bytes):
    if push is None:
        return None
    return lambda level: push(break_notification(file_id, level))


def _send(smb_server, breaks: list[Break]) -> None:
    """Tell each holder; a break that waits for an answer gets its timer."""
    table: OplockTable = smb_server.oplock_table
    for brk in breaks:
        held = brk.oplock
        if held.breaking_to is not None and held.timer is None:
            held.timer = threading.Timer(break_timeout(smb_server), table.time_out, (held,))
            held.timer.daemon = True
            held.timer.start()
        if held.notify is not None:
            held.notify(brk.level)


# -- CREATE ----------------------------------------------------------------------------
def create(conn_id, smb_server, request, req, path: str, access: int, share: int, open_now):
    """Answer a CREATE whose open is ``open_now()`` (impacket's triple, called under the
    share mode lock): first break what stands in its way, then open and grant an oplock."""
    conn_data = smb_server.getConnectionData(conn_id)
    push = conn_data.get(PUSH_KEY)
    table: OplockTable = smb_server.oplock_table

    def attempt(resume):
        """One try: (result, breaks), result None when the open now waits (on resume)."""
        with table.lock:
            breaks, waits = _breaks_for(smb_server, path, req, access, share)
            if waits:
                table.defer(waits, resume)
                return None, breaks
            return _grant(table, open_now(), req, conn_data, push), breaks

    chained = conn_data.get(IN_CHAIN_KEY)
    if chained or push is None:
        while True:
            settled = threading.Event()
            result, breaks = attempt(settled.set)
            _send(smb_server, breaks)
            if result is not None:
                return result
            stopping = smb_server.fake_config.stopping
            deadline = break_timeout(smb_server) + 1
            while not settled.wait(0.1) and deadline > 0:
                if stopping.is_set():  # stop() must not wait out a break
                    raise DropConnection("server stopping while a CREATE waited for an oplock break")
                deadline -= 0.1

    async_id = next(_async_ids)
    interim_sent = threading.Event()

    def resume() -> None:
        # Runs on the thread that settled the break (an ack, a CLOSE, the timer): a failure
        # here must not fail that request too.
        try:
            finish()
        except Exception as exc:  # noqa: BLE001
            smb_server.log(f"CREATE of {path} after an oplock break failed: {exc!r}")

    def finish() -> None:
        interim_sent.wait(5)  # the final answer never overtakes the interim one
        result, breaks = attempt(resume)
        _send(smb_server, breaks)
        if result is None:
            return
        commands, _, status = result
        if not _alive(smb_server, conn_id, conn_data):
            _abandon(smb_server, conn_data, commands, status)
            return
        body = commands[0].getData() if status == STATUS_SUCCESS else _ERROR_BODY
        push(_async_message(request, async_id, status, body))

    result, breaks = attempt(resume)
    if result is not None:
        _send(smb_server, breaks)
        return result
    push(_async_message(request, async_id, STATUS_PENDING, _ERROR_BODY))
    interim_sent.set()
    _send(smb_server, breaks)
    return _NO_RESPONSE


def _breaks_for(smb_server, path: str, req, access: int, share: int):
    if req["CreateDisposition"] == _FILE_CREATE:
        return [], set()  # an existing file fails the CREATE, a new one has no holders
    try:
        st = os.stat(path)
    except OSError:
        return [], set()
    key = file_key(st)
    if delete_pending.is_pending(smb_server.open_table, key):
        return [], set()  # the open is refused DELETE_PENDING and breaks nothing (smb2.oplock.doc)
    overwrite = req["CreateDisposition"] in _OVERWRITING and not stat_mod.S_ISDIR(st.st_mode)
    sharing_violation = smb_server.open_table.conflicting(key, access, share)
    return smb_server.oplock_table.breaks_for_open(key, req["DesiredAccess"], sharing_violation, overwrite)


def _grant(table: OplockTable, result, req, conn_data: dict, push):
    commands, _, status = result
    if status != STATUS_SUCCESS:
        return result
    body = commands[0].data  # a packed CREATE response (open_close.py, MS-SMB2 2.2.14)
    file_id = bytes(body[_RESPONSE_FILE_ID:_RESPONSE_FILE_ID + 16])
    entry = conn_data["OpenedFiles"][file_id]
    st = os.fstat(entry["FileHandle"])
    oplock = table.grant(file_key(st), req["RequestedOplockLevel"], req["DesiredAccess"],
                         stat_mod.S_ISDIR(st.st_mode), _notifier(push, file_id))
    entry[OPLOCK_KEY] = oplock
    commands[0].data = body[:_RESPONSE_OPLOCK] + bytes([oplock.level]) + body[_RESPONSE_OPLOCK + 1:]
    return result


def _alive(smb_server, conn_id, conn_data) -> bool:
    try:
        return smb_server.getConnectionData(conn_id, checkStatus=False) is conn_data
    except KeyError:
        return False


def _abandon(smb_server, conn_data, commands, status) -> None:
    """The client left while its open waited: undo the open it can no longer close."""
    if status != STATUS_SUCCESS:
        return
    file_id = bytes(commands[0].data[_RESPONSE_FILE_ID:_RESPONSE_FILE_ID + 16])
    entry = conn_data["OpenedFiles"].pop(file_id, None)
    if entry is not None:
        close_open(entry, smb_server.log)


def _async_message(request, async_id: int, status: int, body: bytes) -> bytes:
    """A response to ``request`` in the async form (MS-SMB2 3.3.4.2): AsyncId for TreeId."""
    header = _ASYNC_HEADER.pack(
        b"\xfeSMB", 64, request["CreditCharge"], status, request["Command"],
        request["CreditRequestResponse"] if status == STATUS_PENDING else 0,
        _FLAGS_SERVER_TO_REDIR | _FLAGS_ASYNC_COMMAND, 0, request["MessageID"], async_id,
        request["SessionID"], b"\x00" * 16,
    )
    return header + body


# -- writes ------------------------------------------------------------------------------
def written(smb_server, entry: dict) -> None:
    """A write or truncation through ``entry``: LEVEL_II caches of the file are stale."""
    held: Oplock | None = entry.get(OPLOCK_KEY)
    if held is None:
        return
    _send(smb_server, smb_server.oplock_table.breaks_for_write(held.key))


# -- OPLOCK_BREAK acknowledgment --------------------------------------------------------
def oplock_break_handler(connId, smbServer, recvPacket):
    """The holder acknowledges a break (MS-SMB2 3.3.5.22.1), checked in smbd's order."""
    conn_data = smbServer.getConnectionData(connId)
    body = bytes(recvPacket["Data"])
    if len(body) < _BREAK_BODY.size or struct.unpack_from("<H", body)[0] != _BREAK_BODY.size:
        return error(STATUS_INVALID_PARAMETER)  # a lease acknowledgment too: no leases here
    _, level, _, _, raw_fid = _BREAK_BODY.unpack_from(body)
    if level not in (LEVEL_NONE, LEVEL_II):
        return error(STATUS_INVALID_PARAMETER)
    entry = conn_data["OpenedFiles"].get(resolve_fid(conn_data, raw_fid))
    held: Oplock | None = entry.get(OPLOCK_KEY) if entry is not None else None
    if held is None:
        return error(STATUS_FILE_CLOSED)
    new = smbServer.oplock_table.acknowledge(held, level)
    if new is None:
        return error(STATUS_INVALID_OPLOCK_PROTOCOL)  # no break outstanding
    return [RawBody(_BREAK_BODY.pack(24, new, 0, 0, raw_fid))], None, STATUS_SUCCESS
