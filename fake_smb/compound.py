"""Compound requests (MS-SMB2 3.3.5.2.7), answered the way Samba's smbd answers them.

impacket walks a chain itself but ignores what makes a chain a chain: it hands every
request to its handler as if it stood alone, resolves an all-0xFF FileId only after a
CREATE, never checks a related request's session or tree, and pads the responses as
it likes.  So a chain (NextCommand set, or a request flagged RELATED) comes here
instead: each request is checked and rewritten into a plain standalone request with
the real SessionId, TreeId and FileId, handed to the ordinary dispatcher, and the
answers are joined into one compound response.

The rules follow smbd (source3/smbd/smb2_server.c), which smbtorture's smb2.compound
suite holds us to:

- A related request takes the SessionId and TreeId the previous request resolved.
  One that fails to resolve clears them, so every related request after it (and a
  related first request, which has nothing before it) fails INVALID_PARAMETER.
- The chain's open: every request that resolves a FileId (or a CREATE that opens one)
  makes that open the chain's; a related request then works on it whatever FileId it
  sends; an unrelated request forgets it.  Once closed, it answers FILE_CLOSED.
- A CREATE that fails: related requests after it that cannot resolve a FileId fail
  with the CREATE's status, not FILE_CLOSED.  Other failures do not propagate.
- Only the last request of a chain may go async (a CHANGE_NOTIFY, notify.py); one in
  the middle fails INTERNAL_ERROR.
- Every response of a compound is padded to 8 bytes, the last one too; a lone
  request's response is not.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from impacket.nt_errors import (
    STATUS_FILE_CLOSED,
    STATUS_INTERNAL_ERROR,
    STATUS_INVALID_PARAMETER,
    STATUS_NETWORK_NAME_DELETED,
    STATUS_SUCCESS,
    STATUS_USER_SESSION_DELETED,
)

from ibs.fake_smb.fast_path import response_header
from ibs.fake_smb.faults import DropConnection
from ibs.fake_smb.oplock_wire import IN_CHAIN_KEY

HEADER_SIZE = 64
RELATED_FID = b"\xff" * 16
ERROR_BODY = struct.pack("<HBBI", 9, 0, 0, 0) + b"\x00"  # SMB2 ERROR (MS-SMB2 2.2.2)

FLAGS_SERVER_TO_REDIR = 0x00000001
FLAGS_ASYNC = 0x00000002
FLAGS_RELATED = 0x00000004
FLAGS_SIGNED = 0x00000008
FLAGS_PRIORITY_MASK = 0x00000070
FLAGS_DFS = 0x10000000
FLAGS_REPLAY = 0x20000000

NEGOTIATE, SESSION_SETUP, LOGOFF, TREE_CONNECT, TREE_DISCONNECT = 0x0, 0x1, 0x2, 0x3, 0x4
CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, CANCEL, ECHO = 0x5, 0x6, 0x7, 0x8, 0x9, 0xA, 0xB, 0xC, 0xD
QUERY_DIRECTORY, CHANGE_NOTIFY, QUERY_INFO, SET_INFO, OPLOCK_BREAK = 0xE, 0xF, 0x10, 0x11, 0x12

# StructureSize of each request (MS-SMB2 2.2); OPLOCK_BREAK also has a 36-byte lease form.
_STRUCTURE_SIZE = {
    NEGOTIATE: (36,), SESSION_SETUP: (25,), LOGOFF: (4,), TREE_CONNECT: (9,), TREE_DISCONNECT: (4,),
    CREATE: (57,), CLOSE: (24,), FLUSH: (24,), READ: (49,), WRITE: (49,), LOCK: (48,), IOCTL: (57,),
    CANCEL: (4,), ECHO: (4,), QUERY_DIRECTORY: (33,), CHANGE_NOTIFY: (32,), QUERY_INFO: (41,),
    SET_INFO: (33,), OPLOCK_BREAK: (24, 36),
}
_NO_SESSION = {NEGOTIATE, SESSION_SETUP, CANCEL, ECHO}
_NEEDS_TREE = {TREE_DISCONNECT, CREATE, CLOSE, FLUSH, READ, WRITE, LOCK, IOCTL, QUERY_DIRECTORY,
               CHANGE_NOTIFY, QUERY_INFO, SET_INFO}
# Where the FileId sits in each request's body.
_FILEID_OFFSET = {CLOSE: 8, FLUSH: 8, READ: 16, WRITE: 16, LOCK: 8, IOCTL: 8, QUERY_DIRECTORY: 8,
                  CHANGE_NOTIFY: 8, QUERY_INFO: 24, SET_INFO: 16}
# FSCTLs that need no open, so an IOCTL may carry the all-0xFF FileId (MS-SMB2 2.2.31).
_FILELESS_FSCTLS = {0x00060194, 0x000601B0, 0x00110018, 0x00140204, 0x001401FC}


class MalformedChain(Exception):
    """The chain's framing cannot be followed; like smbd, the connection is dropped."""


def is_compound(message: bytes) -> bool:
    """A chain of several requests, or a lone request flagged RELATED (which has nothing to relate to)."""
    flags, next_command = struct.unpack_from("<II", message, 16)
    return bool(next_command or flags & FLAGS_RELATED)


def split(message: bytes) -> list[bytes]:
    """The requests of a chain, each cut at its NextCommand (MS-SMB2 2.2.1.2)."""
    requests = []
    offset = 0
    while True:
        if len(message) - offset < HEADER_SIZE + 2 or message[offset:offset + 4] != b"\xfeSMB":
            raise MalformedChain(f"no SMB2 header at offset {offset}")
        next_command = struct.unpack_from("<I", message, offset + 20)[0]
        end = offset + next_command if next_command else len(message)
        if next_command and (next_command < HEADER_SIZE + 2 or end > len(message)):
            raise MalformedChain(f"NextCommand {next_command} at offset {offset} leaves the frame")
        body_size = struct.unpack_from("<H", message, offset + HEADER_SIZE)[0] & 0xFFFE
        if body_size > end - offset - HEADER_SIZE:
            raise MalformedChain(f"body of {body_size} bytes at offset {offset} overruns its request")
        requests.append(bytes(message[offset:end]))
        if not next_command:
            return requests
        offset = end


def join(responses: list[bytes]) -> bytes:
    """One compound response: each padded to 8 bytes and chained by NextCommand (3.3.4.1.3)."""
    if len(responses) == 1:
        return responses[0]
    out = bytearray()
    for index, response in enumerate(responses):
        padded = bytearray(response) + b"\x00" * (-len(response) % 8)
        if index + 1 < len(responses):
            struct.pack_into("<I", padded, 20, len(padded))
        out += padded
    return bytes(out)


@dataclass
class Chain:
    """What one request of a chain leaves to the next (smbd's per-request state)."""

    last_session_id: int = 0
    last_tree_id: int = 0
    open_fid: bytes | None = None  # smbd's compat_chain_fsp
    create_error: int = STATUS_SUCCESS


# dispatch(standalone request) -> its response, or None when none goes out now (a CANCEL,
# a CHANGE_NOTIFY left pending).
Dispatch = Callable[[bytes], "bytes | None"]


def run(message: bytes, conn_data: dict, dispatch: Dispatch, log: Callable[[str], None]) -> list[bytes]:
    """The compound response to a chain (none if nothing in it is answered now: a CANCEL, or
    a CHANGE_NOTIFY left pending, which notify.py answers later, on its own, as smbd does).
    Raises MalformedChain when the chain cannot be split."""
    chain = Chain()
    requests = split(message)
    responses = []
    conn_data[IN_CHAIN_KEY] = True  # a CREATE waiting for an oplock break waits in place
    try:
        for index, request in enumerate(requests):
            response = _answer(chain, request, conn_data, dispatch, log, last=index + 1 == len(requests))
            if response is not None:
                responses.append(response)
    finally:
        conn_data[IN_CHAIN_KEY] = False
    return [join(responses)] if responses else []


def _answer(chain: Chain, request: bytes, conn_data: dict, dispatch: Dispatch,
            log: Callable[[str], None], last: bool) -> bytes | None:
    flags, = struct.unpack_from("<I", request, 16)
    command, = struct.unpack_from("<H", request, 12)
    session_id, = struct.unpack_from("<Q", request, 40)
    tree_id, = struct.unpack_from("<I", request, 36)
    related = bool(flags & FLAGS_RELATED)

    def fail(status: int) -> bytes:
        return _error(request, status, session_id, tree_id, related)

    # smbd_smb2_request_check_session: a related request uses the previous one's session.
    if related:
        session_id = chain.last_session_id
    chain.last_session_id = 0
    session_ok = bool(conn_data.get("Authenticated")) and session_id != 0 and session_id == conn_data.get("Uid")
    if session_ok:
        chain.last_session_id = session_id

    if command not in _STRUCTURE_SIZE:
        return fail(STATUS_INVALID_PARAMETER)
    if flags & ~_allowed_flags(command):
        return fail(STATUS_INVALID_PARAMETER)
    if related:
        if not session_ok:
            return fail(STATUS_INVALID_PARAMETER)
    else:
        chain.open_fid = None
    if command not in _NO_SESSION and not session_ok:
        return fail(STATUS_USER_SESSION_DELETED)
    if struct.unpack_from("<H", request, HEADER_SIZE)[0] not in _STRUCTURE_SIZE[command]:
        return fail(STATUS_INVALID_PARAMETER)

    if command in _NEEDS_TREE:
        if related:
            tree_id = chain.last_tree_id
        chain.last_tree_id = 0
        if tree_id not in conn_data.get("ConnectedShares", {}):
            return fail(STATUS_NETWORK_NAME_DELETED)
        chain.last_tree_id = tree_id

    standalone = bytearray(request)
    struct.pack_into("<I", standalone, 16, flags & ~FLAGS_RELATED)
    struct.pack_into("<I", standalone, 20, 0)
    struct.pack_into("<I", standalone, 36, tree_id)
    struct.pack_into("<Q", standalone, 40, session_id)

    offset = _FILEID_OFFSET.get(command)
    if offset is not None:
        at = HEADER_SIZE + offset
        if len(request) < at + 16:
            return fail(STATUS_INVALID_PARAMETER)
        fid = _resolve(chain, request[at:at + 16], conn_data)
        if fid is not None:
            standalone[at:at + 16] = fid
        elif related and chain.create_error != STATUS_SUCCESS:
            return fail(chain.create_error)
        elif not _fileless_ioctl(command, request):
            return fail(STATUS_FILE_CLOSED)
    if command == CHANGE_NOTIFY and not last:
        # Only the last request of a chain may go async (MS-SMB2 3.3.5.2.7, note <206>); smbd
        # fails one in the middle INTERNAL_ERROR.
        return fail(STATUS_INTERNAL_ERROR)

    try:
        response = dispatch(bytes(standalone))
    except DropConnection:
        raise
    except Exception as exc:  # noqa: BLE001 - a request impacket cannot parse must not end the chain
        log(f"compound: command 0x{command:x} failed: {exc!r}")
        return fail(STATUS_INVALID_PARAMETER)
    if response is None:
        return None
    response = bytearray(response)
    if related:
        struct.pack_into("<I", response, 16, struct.unpack_from("<I", response, 16)[0] | FLAGS_RELATED)
    if command == CREATE:
        status, = struct.unpack_from("<I", response, 8)
        if status == STATUS_SUCCESS and len(response) >= HEADER_SIZE + 80:
            chain.open_fid = bytes(response[HEADER_SIZE + 64:HEADER_SIZE + 80])
            chain.create_error = STATUS_SUCCESS
        else:
            chain.create_error = status
    return bytes(response)


def _resolve(chain: Chain, sent_fid: bytes, conn_data: dict) -> bytes | None:
    """The open a request works on (smbd's file_fsp_smb2), or None when there is none."""
    opens = conn_data.get("OpenedFiles", {})
    if chain.open_fid is not None:
        return chain.open_fid if chain.open_fid in opens else None
    if sent_fid in opens:
        chain.open_fid = sent_fid
        return sent_fid
    return None


def _fileless_ioctl(command: int, request: bytes) -> bool:
    if command != IOCTL or request[HEADER_SIZE + 8:HEADER_SIZE + 24] != RELATED_FID:
        return False
    return struct.unpack_from("<I", request, HEADER_SIZE + 4)[0] in _FILELESS_FSCTLS


def _allowed_flags(command: int) -> int:
    allowed = FLAGS_RELATED | FLAGS_SIGNED | FLAGS_DFS | FLAGS_PRIORITY_MASK | FLAGS_REPLAY
    if command == CANCEL:
        allowed |= FLAGS_ASYNC
    return allowed


def _error(request: bytes, status: int, session_id: int, tree_id: int, related: bool) -> bytes:
    header = bytearray(response_header(request, status, session_id))
    struct.pack_into("<I", header, 36, tree_id)
    if related:
        struct.pack_into("<I", header, 16, FLAGS_SERVER_TO_REDIR | FLAGS_RELATED)
    return bytes(header) + ERROR_BODY
